#!/usr/bin/env bash
# test_dwe_eval_cli.sh - 'natgrad dwe evaluate' on a crafted MODEL and truth.csv: the
# table and the CSV (the AUC of test_dwe_eval.c's hand computation, ties included), a bad
# truth file (one line naming the file and line, exit 1, no CSV), a missing model
# (exit 1) and usage errors (exit 2).
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup dwe_eval_cli

# The model of test_dwe_eval.c's test_auc: 2 slices, 6 words, d = 2. Scores
# 1 - cos(first, last): a0 1, g0 0.29, b0 0 (drifting); s0 0, s1 0.4, f0 0 => AUC 6/9,
# against f0 alone 2.5/3.
M=$T/model
mkdir -p "$M"
printf 'natgrad-dwe-model 1\nmethod smoothing\ndim 2\nW 6\nT 2\nsigma0 1\ndiffusion 0.001\nsymmetry none\nsteps 1\n' >"$M/model.txt"
printf 'a0\t6\ng0\t5\nb0\t4\ns0\t3\ns1\t2\nf0\t1\n' >"$M/vocab.tsv"
printf 'slice,time,train\n0,1,1\n1,2,1\n' >"$M/times.csv"
npy_f32 "$M/U.npy" 2 6 2 1 0 1 0 1 0 0 1 1 0 1 0 0 1 1 1 1 0 0 1 0.6 0.8 1 0
cp "$M/U.npy" "$M/V.npy"
printf 'word,kind,tau,home_topic,new_topic\na0,abrupt,2,0,1\ng0,gradual,2,0,1\nb0,broadening,2,1,0\ns0,stable,-1,0,-1\ns1,stable,-1,1,-1\nf0,frequency,2,0,-1\nzz,stable,-1,0,-1\n' >"$T/truth.csv"
mkdir -p "$T/o"

expect_exit "evaluate" 0 "$BIN" dwe evaluate "$M" --truth "$T/truth.csv" --csv "$T/o/eval.csv"
has "table: words" "$T/out" "6 truth words in the model, 1 not"
has "table: AUC" "$T/out" "0.666667"
has "table: AUC vs frequency" "$T/out" "0.833333"
has "table: change times" "$T/out" "(1 of 1)"
has "csv: header" "$T/o/eval.csv" "metric,value"
has "csv: AUC" "$T/o/eval.csv" "auc,0.66666666666666663"
has "csv: AUC vs frequency" "$T/o/eval.csv" "auc_freq,0.83333333333333337"
has "csv: no precision queries" "$T/o/eval.csv" "prec10_median,nan"
[ "$(ls "$T/o")" = eval.csv ] && ok "no temp files" || bad "no temp files" "$(ls "$T/o")"

# a bad truth file: one line with the file and line, exit 1, no CSV
printf 'word,kind,tau,home_topic,new_topic\na0,abrupt,2,0,1\ng0,gradual,2,0\n' >"$T/bad.csv"
expect_exit "bad truth" 1 "$BIN" dwe evaluate "$M" --truth "$T/bad.csv" --csv "$T/o/bad-eval.csv"
n=$(grep -vc '^natgrad 0' "$T/err")
if [ "$n" -eq 1 ] && grep -q "^natgrad dwe evaluate: .*$T/bad.csv:3: 4 fields" "$T/err"; then
    ok "bad truth: one line naming file and line"
else
    bad_show "bad truth: one line naming file and line" "$T/err"
fi
[ ! -e "$T/o/bad-eval.csv" ] && ok "bad truth: no CSV" || bad "bad truth: no CSV"
expect_exit "missing truth file" 1 "$BIN" dwe evaluate "$M" --truth "$T/none.csv"
expect_exit "missing model" 1 "$BIN" dwe evaluate "$T/nomodel" --truth "$T/truth.csv"
expect_exit "no --truth" 2 "$BIN" dwe evaluate "$M"
expect_exit "no MODEL" 2 "$BIN" dwe evaluate --truth "$T/truth.csv"
expect_exit "help" 0 "$BIN" dwe evaluate --help
has "help names the measures" "$T/out" "precision@10"
finish
