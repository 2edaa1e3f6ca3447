#!/bin/bash
# test_bench_dwe.sh - 'natgrad bench dwe' at a tiny size: exit 0, every row of the table
# present with a number, the targets printed with a verdict, the ingestion table, its
# temporary directory removed; usage errors exit 2. (Speed itself is never asserted.)
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup bench_dwe

mkdir -p "$T/tmp"
if TMPDIR="$T/tmp" "$BIN" bench dwe --words 300 --slices 4 --dim 8 --batch-words 70 \
    --batch-contexts 90 --steps 2 --warmup 1 --density 0.05 --ingest-slices 2 \
    --ingest-sentences 200 --min-seconds 0.01 --threads 1 >"$T/out" 2>"$T/err"; then
    ok "bench dwe runs"
else
    bad_show "bench dwe runs" "$T/err"
fi

# row NAME PATTERN: a line starting with PATTERN followed by a number
row() {
    if grep -E "^$2 +[0-9]+(\.[0-9]+)?%? " "$T/out" >/dev/null ||
        grep -E "^$2 +[0-9]+(\.[0-9]+)?%?$" "$T/out" >/dev/null; then
        ok "row: $1"
    else
        bad_show "row: $1" "$T/out"
    fi
}
row "draw" "draw the minibatch"
row "likelihood part" "likelihood \(3 sgemm per tile \+ sigmoids\)"
row "prior part" "prior and entropy \(sample, gradients\)"
row "optimiser part" "optimiser \(finite check \+ lazy Adam\)"
row "step total" "step \(total\)"
row "likelihood GFLOP/s" "likelihood GFLOP/s"
row "sgemm tile shapes" "sgemm GFLOP/s, the tile shapes"
row "sgemm square" "sgemm GFLOP/s, n = 1024 square"
row "likelihood share" "likelihood / sgemm \(tile shapes\)"
row "sync phase" "symmetry phase sync, s"
row "goldstone phase" "symmetry phase goldstone, s"
row "overhead" "  overhead at k1 = 10 \(phase / k1 steps\)"
row "projection" "  10\^4 steps \+ phases, hours"
row "model bytes" "model bytes \(ng_dwe_bytes\), GiB"
row "bytes per parameter" "  per variational parameter, bytes"
row "peak RSS" "peak RSS, GiB"
row "ingestion" "ingestion \(both passes\)"
n=$(grep -cE "(>= 60%|<= 4%|<= 3 h|<= 24 GiB) +(met|NOT met) *$" "$T/out")
if [ "$n" -eq 8 ]; then ok "targets with verdicts"; else bad_show "targets with verdicts ($n of 8)" "$T/out"; fi
# the parts' shares add up to at most the total
if awk '/^(draw the|likelihood \(|prior and|optimiser \()/ { s += $(NF) + 0 } END { exit !(s > 0 && s <= 100.2) }' "$T/out"; then
    ok "parts within the step"
else
    bad_show "parts within the step" "$T/out"
fi
if [ -z "$(ls -A "$T/tmp")" ]; then ok "temporary directory removed"; else bad "temporary directory removed" "$(ls "$T/tmp")"; fi

"$BIN" bench dwe --words 10 --batch-words 20 >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "batch-words" "$T/err"; then ok "batch larger than W: exit 2"; else bad_show "batch larger than W: exit 2 (got $rc)" "$T/err"; fi
"$BIN" bench dwe --nosuch >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 2 ]; then ok "unknown option: exit 2"; else bad "unknown option: exit 2 (got $rc)"; fi
if "$BIN" bench dwe --help >"$T/out" 2>"$T/err"; then
    miss=""
    for o in --words --slices --dim --batch-words --batch-contexts --density --method --steps \
        --warmup --k1 --ingest-slices --ingest-sentences --min-seconds --seed --threads; do
        grep -q -- "$o" "$T/out" || miss="$miss $o"
    done
    if [ -z "$miss" ]; then ok "--help lists the options"; else bad "--help lists the options" "missing$miss"; fi
else
    bad "--help exits 0"
fi
if "$BIN" bench --help | grep -q "^  dwe "; then ok "bench --help names dwe"; else bad "bench --help names dwe"; fi
finish
