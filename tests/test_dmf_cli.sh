#!/bin/bash
# test_dmf_cli.sh - 'natgrad dmf train|synth' end to end: --help, usage errors (exit 2),
# bad and degenerate ratings files (exit 1, one message line naming the file), a short
# training run that writes the CSV log and the --out arrays, SIGINT -> checkpoint -> exit
# 130 -> --resume, and synth determinism.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup dmf_cli

# expect_rc NAME RC CMD...: exit status RC
expect_rc() {
    local name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne "$want" ]; then bad "$name" "exit $rc, expected $want: $(head -c 600 "$T/err")"; return 1; fi
    ok "$name"
}

# expect_train_fail NAME FILE SUBSTRING [extra train options]: exit 1, exactly one
# 'natgrad dmf train:' line on stderr naming FILE and SUBSTRING, no --out files
expect_train_fail() {
    local name=$1 file=$2 sub=$3
    shift 3
    rm -rf "$T/badout"
    "$BIN" dmf train --ratings "$file" --steps 2 --out "$T/badout" "$@" >"$T/out" 2>"$T/err"
    local rc=$? lines
    lines=$(grep -c '^natgrad dmf train:' "$T/err")
    if [ $rc -ne 1 ]; then bad "$name" "exit $rc: $(head -c 600 "$T/err")"; return; fi
    if [ "$lines" -ne 1 ]; then bad "$name" "$lines message lines: $(cat "$T/err")"; return; fi
    if ! grep '^natgrad dmf train:' "$T/err" | grep -qF -- "$file"; then bad "$name" "does not name $file: $(cat "$T/err")"; return; fi
    if ! grep -qF -- "$sub" "$T/err"; then bad "$name" "no '$sub' in: $(cat "$T/err")"; return; fi
    if [ -e "$T/badout" ]; then bad "$name" "output directory written on failure"; return; fi
    ok "$name"
}

# --- help ---------------------------------------------------------------------------
if "$BIN" dmf train --help >"$T/help" 2>"$T/err"; then
    miss=""
    for o in --ratings --bins --binning --dim --lambda --gamma --optimizer --lr --symmetry \
        --k1 --k2 --steps --seed --log --out --threads --eval-every --checkpoint --resume --init-std; do
        grep -qF -- "$o " "$T/help" || miss="$miss $o"
    done
    # the defaults are the library's (ng_dmf_prep_default_params, ng_dmf_default_params,
    # ng_goldstone_default_params, ng_train_default_params)
    grep -q -- "--bins T .*\[100\]" "$T/help" || miss="$miss default-bins"
    grep -q -- "--dim D .*\[30\]" "$T/help" || miss="$miss default-dim"
    grep -q "lambda \[10\]" "$T/help" || miss="$miss default-lambda"
    grep -q -- "--init-std S .*\[0.1\]" "$T/help" || miss="$miss default-init-std"
    grep -q -- "--k1 N .*\[50\]" "$T/help" || miss="$miss default-k1"
    grep -q -- "--steps N .*\[1000\]" "$T/help" || miss="$miss default-steps"
    grep -q "\[adagrad\]" "$T/help" || miss="$miss default-optimizer"
    grep -q "When Goldstone-GD pays off" "$T/help" || miss="$miss the-rule"
    for o in --paper --gauge-clip --apply-fraction --rotation --lr-sbar --grad-clip --eps --time-limit; do
        grep -qF -- "$o " "$T/help" || miss="$miss $o"
    done
    if [ -z "$miss" ]; then ok "train --help"; else bad "train --help" "missing:$miss"; fi
else
    bad "train --help" "non-zero exit"
fi
if "$BIN" dmf synth --help >"$T/help" 2>/dev/null && grep -qF -- "--drift" "$T/help" &&
    grep -qF -- "--users" "$T/help"; then ok "synth --help"; else bad "synth --help" "$(cat "$T/help")"; fi
# the regime options with the library's defaults (ng_synth_ratings_default_params)
miss=""
tr '\n' ' ' <"$T/help" >"$T/help1" # help may take more lines; the default ends it
for o in "activity-sigma S [^[]*\[1\]" "item-zipf A [^[]*\[1\]" "user-span F [^[]*\[1\]" "gaps K [^[]*\[0\]" \
    "gap-fraction F [^[]*\[0.2\]" "bins T [^[]*\[100\]"; do
    grep -q -- "--$o" "$T/help1" || miss="$miss '$o'"
done
if [ -z "$miss" ]; then ok "synth --help regimes"; else bad "synth --help regimes" "missing:$miss"; fi
expect_rc "dmf --help" 0 "$BIN" dmf --help
expect_rc "dmf without subcommand" 2 "$BIN" dmf
expect_rc "dmf unknown subcommand" 2 "$BIN" dmf frobnicate

# --- usage errors: exit 2 naming the option ------------------------------------------
usage_err() { # NAME OPTION-NAME ARGS...
    local name=$1 opt=$2
    shift 2
    "$BIN" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne 2 ]; then
        bad "$name" "exit $rc, expected 2: $(head -c 600 "$T/err")"
    elif ! grep -qF -- "$opt" "$T/err"; then
        bad "$name" "message does not name $opt: $(cat "$T/err")"
    else
        ok "$name"
    fi
}
usage_err "bins 0" --bins dmf train --ratings x.csv --bins 0
usage_err "bins abc" --bins dmf train --ratings x.csv --bins abc
# one limit with the library's graph (NG_DMF_MAX_BINS = NG_GRAPH_MAX_NODES), checked before the file is read
usage_err "bins beyond the graph limit" "--bins" dmf train --ratings x.csv --bins 20001
grep -q "20000" "$T/err" && ok "bins limit named" || bad "bins limit named" "$(cat "$T/err")"
usage_err "dim 2.5" --dim dmf train --ratings x.csv --dim 2.5
usage_err "lambda -1" --lambda dmf train --ratings x.csv --lambda -1
usage_err "optimizer bad" --optimizer dmf train --ratings x.csv --optimizer sgd
usage_err "symmetry bad" --symmetry dmf train --ratings x.csv --symmetry twist
usage_err "binning bad" --binning dmf train --ratings x.csv --binning weekly
usage_err "gauge solver bad" --gauge-solver dmf train --ratings x.csv --gauge-solver bogus
usage_err "rho-scale 0" --rho-scale dmf train --ratings x.csv --rho-scale 0
usage_err "lr nan" --lr dmf train --ratings x.csv --lr nan
usage_err "unknown option" --frob dmf train --ratings x.csv --frob
usage_err "old --paper-gauge" --paper-gauge dmf train --ratings x.csv --paper-gauge
usage_err "gauge-clip -1" --gauge-clip dmf train --ratings x.csv --gauge-clip -1
usage_err "missing ratings" --ratings dmf train --steps 3
usage_err "resume without checkpoint" --checkpoint dmf train --ratings x.csv --resume
usage_err "synth users -5" --users dmf synth --out x.csv --users -5
usage_err "synth missing out" --out dmf synth --users 10
usage_err "synth drift x" --drift dmf synth --out x.csv --drift x
# regime options: out of range in the table, or refused by ng_synth_ratings_params_check
usage_err "synth activity-sigma 6" --activity-sigma dmf synth --out "$T/bad.csv" --activity-sigma 6
usage_err "synth item-zipf -1" --item-zipf dmf synth --out "$T/bad.csv" --item-zipf -1
usage_err "synth user-span 0" user_span dmf synth --out "$T/bad.csv" --user-span 0
usage_err "synth user-span 1.5" --user-span dmf synth --out "$T/bad.csv" --user-span 1.5
usage_err "synth gap-fraction 0" gap_fraction dmf synth --out "$T/bad.csv" --gaps 3 --gap-fraction 0
usage_err "synth gap-fraction 0.95" --gap-fraction dmf synth --out "$T/bad.csv" --gaps 3 --gap-fraction 0.95
usage_err "synth gaps too short" "100 gaps need at least 100 s" dmf synth --out "$T/bad.csv" --days 0.001 --gaps 100
usage_err "synth bins 0" --bins dmf synth --out "$T/bad.csv" --bins 0
if [ -e "$T/bad.csv" ]; then bad "synth bad options write nothing" "$T/bad.csv exists"; else ok "synth bad options write nothing"; fi

# --- synth ---------------------------------------------------------------------------
S="$T/synth.csv"
if expect_rc "synth small" 0 "$BIN" dmf synth --out "$S" --users 120 --items 60 --ratings 6000 --days 50 --dim 3 --seed 5; then
    h=$(head -n 1 "$S")
    n=$(wc -l <"$S")
    if [ "$h" = "userId,movieId,rating,timestamp" ] && [ "$n" -eq 6001 ]; then ok "synth format"; else bad "synth format" "header '$h', $n lines"; fi
fi
"$BIN" dmf synth --out "$T/synth2.csv" --users 120 --items 60 --ratings 6000 --days 50 --dim 3 --seed 5 2>/dev/null
if cmp -s "$S" "$T/synth2.csv"; then ok "synth deterministic"; else bad "synth deterministic" "files differ"; fi
"$BIN" dmf synth --out "$T/synth3.csv" --users 120 --items 60 --ratings 6000 --days 50 --dim 3 --seed 6 2>/dev/null
if ! cmp -s "$S" "$T/synth3.csv"; then ok "synth seed matters"; else bad "synth seed matters" "same files"; fi
ls "$T" | grep -q '\.tmp' && bad "synth no temp files" "$(ls "$T")" || ok "synth no temp files"
# the defaults give the files of the generator before the regime options (cksum pinned)
"$BIN" dmf synth --out "$T/pin_a.csv" --users 300 --items 200 --ratings 70000 --days 100 --dim 4 --seed 7 >/dev/null 2>&1
"$BIN" dmf synth --out "$T/pin_b.csv" --users 120 --items 60 --ratings 6000 --days 50 --dim 3 --seed 5 --whole-stars >/dev/null 2>&1
ca=$(cksum <"$T/pin_a.csv") cb=$(cksum <"$T/pin_b.csv")
if [ "$ca" = "1401080631 1474840" ] && [ "$cb" = "796202101 119883" ]; then ok "synth defaults pinned"; else bad "synth defaults pinned" "cksum '$ca', '$cb'"; fi
# the summary: counts, and the bins of the default (no empty bin) and with gaps
"$BIN" dmf synth --out "$S" --users 120 --items 60 --ratings 6000 --days 50 --dim 3 --seed 5 --bins 10 >"$T/out" 2>/dev/null
if grep -q "^ratings 6000, users with ratings 120, items with ratings 60$" "$T/out" &&
    grep -q "(10 equal-duration bins of .* days): min [1-9][0-9]*, median [0-9.]*, max [0-9]*; empty bins 0$" "$T/out"; then
    ok "synth summary"
else
    bad "synth summary" "$(cat "$T/out")"
fi
# with gaps and short user windows, the same bits for 1 and 2 threads; gaps of 30 bins
# leave empty bins
R="--users 300 --items 200 --ratings 150000 --days 200 --dim 3 --activity-sigma 2 --item-zipf 1.5 --user-span 0.05 --gaps 2 --gap-fraction 0.3"
"$BIN" dmf synth --out "$T/reg1.csv" $R --threads 1 >"$T/out" 2>/dev/null
"$BIN" dmf synth --out "$T/reg2.csv" $R --threads 2 >/dev/null 2>&1
if [ -s "$T/reg1.csv" ] && cmp -s "$T/reg1.csv" "$T/reg2.csv"; then ok "synth regimes: 1 and 2 threads"; else bad "synth regimes: 1 and 2 threads" "files differ"; fi
e=$(sed -n 's/.*empty bins \([0-9]*\)$/\1/p' "$T/out")
if [ -n "$e" ] && [ "$e" -ge 20 ] && [ "$e" -le 32 ]; then ok "synth gaps: empty bins"; else bad "synth gaps: empty bins" "$(cat "$T/out")"; fi

# --- the banner shows the step limit the run obeys ------------------------------------
# --time-limit without --steps: the default --steps does not apply (ng_train_step_limit)
"$BIN" dmf train --ratings "$S" --bins 5 --dim 3 --time-limit 0.2 --eval-every 1000 --threads 1 >/dev/null 2>"$T/err"
head -n 1 "$T/err" | grep -qF "| steps no limit (time limit) |" && ! head -n 1 "$T/err" | grep -qF "| steps 1000 |" \
    && ok "banner: no step limit under --time-limit alone" || bad "banner under --time-limit" "$(head -n 1 "$T/err")"
"$BIN" dmf train --ratings "$S" --bins 5 --dim 3 --time-limit 5 --steps 2 --threads 1 >/dev/null 2>"$T/err"
head -n 1 "$T/err" | grep -qF "| steps 2 |" && ok "banner: --steps beside --time-limit shown" \
    || bad "banner with --steps and --time-limit" "$(head -n 1 "$T/err")"
# and the rows it gets (ng_train_eval_seconds): every 1/20 of a time limit alone
head -n 1 "$T/err" | grep -qF "| eval-every 0.25 s (time limit / 20) |" && ok "banner: rows by time under --time-limit" \
    || bad "banner: rows under --time-limit" "$(head -n 1 "$T/err")"
"$BIN" dmf train --ratings "$S" --bins 5 --dim 3 --time-limit 5 --steps 2 --eval-every 3 --threads 1 >/dev/null 2>"$T/err"
head -n 1 "$T/err" | grep -qF "| eval-every 3 |" && ok "banner: --eval-every beside --time-limit shown" \
    || bad "banner with --eval-every and --time-limit" "$(head -n 1 "$T/err")"

# --- bad and degenerate ratings ------------------------------------------------------
printf 'userId,movieId,rating,timestamp\n1,2,3.5,100\n1,3,abc,200\n' >"$T/malformed.csv"
expect_train_fail "malformed ratings" "$T/malformed.csv" ":3"
expect_train_fail "missing file" "$T/nope.csv" "nope.csv"
{ echo "userId,movieId,rating,timestamp"; for i in $(seq 1 40); do echo "$((i % 5 + 1)),$((i % 7 + 1)),$((i % 5 + 1)).0,1000"; done; } >"$T/onebin.csv"
expect_train_fail "single bin of data" "$T/onebin.csv" "single time bin"
{ echo "userId,movieId,rating,timestamp"; for i in $(seq 1 40); do echo "7,$((i % 7 + 1)),$((i % 5 + 1)).0,$((1000 + i * 100))"; done; } >"$T/oneuser.csv"
expect_train_fail "single user" "$T/oneuser.csv" "only 1 user"
{ echo "userId,movieId,rating,timestamp"; for i in $(seq 1 40); do echo "$((i % 5 + 1)),$((i % 7 + 1)),4.0,$((1000 + i * 100))"; done; } >"$T/allmedian.csv"
expect_train_fail "all ratings at the median" "$T/allmedian.csv" "equal the median"
{ echo "userId,movieId,rating,timestamp"; for i in $(seq 1 40); do echo "$((i % 5 + 1)),$((i % 7 + 1)),$((i % 4 + 1)).0,$((1000 + i * 100))"; done; } >"$T/spread.csv"
expect_train_fail "bins beyond the span" "$T/spread.csv" "span" --bins 20000
{ echo "userId,movieId,rating,timestamp"; for i in $(seq 1 40); do echo "$((i % 5 + 1)),$((i % 7 + 1)),$((i % 5 + 1)).0,$((1000 + i))"; done; } >"$T/short.csv"
expect_train_fail "bins beyond the span (seconds)" "$T/short.csv" "span" --bins 100

# --- a short training run: CSV columns and --out arrays ------------------------------
L="$T/log.csv"
O="$T/arrays"
if expect_rc "train short" 0 "$BIN" dmf train --ratings "$S" --bins 5 --dim 4 --steps 6 --eval-every 2 \
    --k1 3 --log "$L" --out "$O" --threads 2; then
    hdr=$(head -n 1 "$L")
    miss=""
    for col in step seconds loss ell psi train_ll valid_ll test_ll test_acc symmetry_seconds; do
        echo ",$hdr," | grep -q ",$col," || miss="$miss $col"
    done
    rows=$(($(wc -l <"$L") - 1))
    last=$(tail -n 1 "$L" | cut -d, -f1)
    if [ -z "$miss" ] && [ "$rows" -eq 4 ] && [ "$last" = "6" ]; then ok "train log columns"; else bad "train log columns" "missing:$miss rows $rows last $last: $hdr"; fi
    nu=$(($(wc -l <"$O/users.csv") - 1))
    ni=$(($(wc -l <"$O/items.csv") - 1))
    if head -c 200 "$O/U.npy" | grep -q "'shape': (5, $nu, 4)" &&
        head -c 200 "$O/V.npy" | grep -q "'shape': (5, $ni, 4)" &&
        head -c 200 "$O/U.npy" | grep -q "'descr': '<f4'" &&
        [ "$(head -n 1 "$O/users.csv")" = "index,original_id" ] && [ "$nu" -gt 100 ] && [ "$ni" -gt 50 ] &&
        [ "$(wc -l <"$O/bins.csv")" -eq 6 ]; then
        ok "train --out arrays"
    else
        bad "train --out arrays" "$(ls -la "$O"; head -c 120 "$O/U.npy")"
    fi
    grep -q "symmetry overhead:" "$T/err" && ok "train prints symmetry overhead" || bad "train prints symmetry overhead" "$(cat "$T/err")"
    grep -q "dmf train | seed 1" "$T/err" && ok "train banner" || bad "train banner" "$(head -n 2 "$T/err")"
    ls "$O" | grep -q '\.tmp' && bad "train no temp files" "$(ls "$O")" || ok "train no temp files"
fi
for opt in "--optimizer adam" "--optimizer gd" "--symmetry none" "--symmetry sync" "--symmetry sync+goldstone" \
    "--binning count" "--paper" "--symmetry goldstone --gauge-clip 0.5 --rotation exp" \
    "--optimizer adam --lr 0.01 --lr-sbar 10 --grad-clip 1"; do
    # shellcheck disable=SC2086
    expect_rc "train $opt" 0 "$BIN" dmf train --ratings "$S" --bins 5 --dim 3 --steps 4 --k1 2 $opt
done

# --- --paper selects the paper's variant (k1 100, its ratings setting), its symmetry mode included; only an explicit
# option overrides a part of it (the logs compared in every column but the timings)
paper_log() {
    local name=$1
    shift
    "$BIN" dmf train --ratings "$S" --bins 5 --dim 3 --steps 210 --eval-every 10 --threads 1 \
        --log "$T/p_$name.csv" "$@" >/dev/null 2>"$T/err" || bad "train $name" "$(tail -n 2 "$T/err")"
    cut -d, -f1,3-11,13 "$T/p_$name.csv" >"$T/p_$name.cols"
}
paper_log paper --paper
paper_log explicit --symmetry goldstone --gauge-solver quadratic --gauge-reset no --rotation first-order \
    --rho-scale 1 --gauge-clip 0 --apply-fraction 1 --k1 100 --k2 10 --max-overhead 0 --min-gain 0
paper_log sync --symmetry sync
paper_log paper_sg --paper --symmetry sync+goldstone
paper_log explicit_sg --symmetry sync+goldstone --gauge-solver quadratic --gauge-reset no --rotation first-order \
    --rho-scale 1 --k1 100 --k2 10 --max-overhead 0 --min-gain 0
if cmp -s "$T/p_paper.cols" "$T/p_explicit.cols" && ! cmp -s "$T/p_paper.cols" "$T/p_sync.cols"; then
    ok "--paper runs the paper's gauge phase"
else
    bad "--paper runs the paper's gauge phase" "$(diff "$T/p_paper.cols" "$T/p_explicit.cols" | head -n 4)"
fi
if cmp -s "$T/p_paper_sg.cols" "$T/p_explicit_sg.cols" && ! cmp -s "$T/p_paper_sg.cols" "$T/p_paper.cols"; then
    ok "--paper --symmetry sync+goldstone keeps the explicit mode"
else
    bad "--paper --symmetry sync+goldstone keeps the explicit mode" "$(head -n 3 "$T/p_paper_sg.cols")"
fi

# --- SIGINT: finish the step, checkpoint, exit 130; --resume continues ---------------
C="$T/ckpt"
L2="$T/log2.csv"
"$BIN" dmf train --ratings "$S" --bins 5 --dim 4 --steps 100000000 --eval-every 1 --k1 5 \
    --log "$L2" --checkpoint "$C" --threads 1 >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 1 100); do # wait until a few steps are logged
    [ -f "$L2" ] && [ "$(wc -l <"$L2")" -ge 4 ] && break
    sleep 0.2
done
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 130 ] && [ -d "$C" ] && grep -q "interrupted at step" "$T/err"; then ok "SIGINT checkpoint exit 130"; else bad "SIGINT checkpoint exit 130" "exit $rc: $(tail -n 3 "$T/err")"; fi
s_int=$(tail -n 1 "$L2" | cut -d, -f1)
target=$((s_int + 3))
if expect_rc "resume" 0 "$BIN" dmf train --ratings "$S" --bins 5 --dim 4 --steps $target --eval-every 1 --k1 5 \
    --log "$L2" --checkpoint "$C" --resume --threads 1; then
    last=$(tail -n 1 "$L2" | cut -d, -f1)
    hdrs=$(grep -c '^step,' "$L2")
    prev=$(tail -n 4 "$L2" | head -n 1 | cut -d, -f1)
    if grep -q "resumed from" "$T/err" && [ "$last" = "$target" ] && [ "$prev" = "$s_int" ] && [ "$hdrs" -eq 1 ]; then
        ok "resume continues the log"
    else
        bad "resume continues the log" "interrupted at $s_int, last $last, prev $prev, headers $hdrs"
    fi
fi
# a checkpoint made with other settings is refused
expect_rc "resume with other settings" 1 "$BIN" dmf train --ratings "$S" --bins 5 --dim 4 --lambda 3 --steps 5 \
    --checkpoint "$C" --resume

# --- the symmetry phase's interval (--max-overhead) ------------------------------------
"$BIN" dmf train --help >"$T/help" 2>/dev/null
has "help: --max-overhead and its default" "$T/help" "--max-overhead X"
has "help: max-overhead default 0.02" "$T/help" "steps between phases; 0 = a phase every k1 steps exactly [0.02]"
expect_exit "max-overhead 1 refused" 2 "$BIN" dmf train --ratings "$S" --max-overhead 1
has "max-overhead 1: names the option" "$T/err" "--max-overhead"
expect_exit "max-overhead -0.1 refused" 2 "$BIN" dmf train --ratings "$S" --max-overhead -0.1
# a large d on few vectors: the gauge phase costs many steps, the interval is raised and said
if expect_exit "large d raises the interval" 0 "$BIN" dmf train --ratings "$S" --bins 5 --dim 40 --steps 2 \
    --symmetry sync+goldstone --threads 1; then
    has "the start line names the interval" "$T/err" "k1 50 raised to keep its predicted cost <= 2% (--max-overhead 0.02)"
fi
for off in "--max-overhead 0" "--paper"; do
    # shellcheck disable=SC2086
    if expect_exit "$off keeps k1" 0 "$BIN" dmf train --ratings "$S" --bins 5 --dim 40 --steps 2 --threads 1 $off; then
        if grep -q "symmetry phase every" "$T/err"; then bad_show "$off: an interval note" "$T/err"; else ok "$off: no note"; fi
    fi
done

# --- phases that gain too little are undone (--min-gain) -------------------------------
has "help: --min-gain and its default" "$T/help" "0 = keep every phase [2]"
expect_exit "min-gain -1 refused" 2 "$BIN" dmf train --ratings "$S" --min-gain -1
has "min-gain -1: names the option" "$T/err" "--min-gain"
gain_run() {
    local name=$1
    shift
    "$BIN" dmf train --ratings "$S" --bins 5 --dim 4 --steps 30 --eval-every 5 --threads 1 --k1 5 \
        --max-overhead 0 --log "$T/g_$name.csv" "$@" >/dev/null 2>"$T/g_$name.err" ||
        bad "train $name" "$(tail -n 2 "$T/g_$name.err")"
}
gain_run none --symmetry none
gain_run undo --symmetry sync --min-gain 1e300
gain_run keep --symmetry sync --min-gain 0
if cmp -s <(cut -d, -f1,3-11 "$T/g_none.csv") <(cut -d, -f1,3-11 "$T/g_undo.csv"); then
    ok "every phase undone: the run without phases, bit for bit"
else
    bad "every phase undone: the run without phases, bit for bit" "$(diff <(cut -d, -f3 "$T/g_none.csv") <(cut -d, -f3 "$T/g_undo.csv") | head -n 4)"
fi
has "undone phases: the last row counts 6 run, 0 kept" <(tail -n 1 "$T/g_undo.csv" | cut -d, -f14,15) "6,0"
has "undone phases: the summary says so" "$T/g_undo.err" "symmetry phases: 6 run, 0 kept; 6 undone"
has "min-gain 0: every phase kept" "$T/g_keep.err" "symmetry phases: 6 run, all kept"
if cmp -s <(cut -d, -f3 "$T/g_none.csv") <(cut -d, -f3 "$T/g_keep.csv"); then
    bad "kept phases change the run" "$T/g_keep.csv"
else
    ok "kept phases change the run"
fi

finish
