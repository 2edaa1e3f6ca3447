#!/usr/bin/env bash
# test_repro_cli.sh - 'natgrad repro goldstone-toy': CSV log (row k = the state after k
# steps), --help, bad values (exit 2), SIGINT -> loadable checkpoint and --resume to the
# requested step count, a resume with other settings or of another model rejected with a
# one-line error, --seeds table, --figure.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup repro_cli

# --- a short run writes the CSV with every column -------------------------------------
"$BIN" repro goldstone-toy --symmetry sync --steps 200 --log "$T/a.csv" >"$T/a.out" 2>"$T/a.err"
rc=$?
check "short run exits 0" test $rc -eq 0
check "csv header" test "$(head -1 "$T/a.csv")" = "step,seconds,loss,ell,psi,gap,symmetry_seconds,walls,phases,phases_kept"
rows=$(($(wc -l <"$T/a.csv") - 1))
check "csv rows (21 = steps 0, 10, ..., 200)" test "$rows" -eq 21
check "csv first step 0" test "$(sed -n 2p "$T/a.csv" | cut -d, -f1)" = "0"
check "csv last step 200" test "$(tail -1 "$T/a.csv" | cut -d, -f1)" = "200"
check "csv has no nan/inf" bash -c "! grep -qiE 'nan|inf' '$T/a.csv'"
check "csv walls column filled" bash -c "tail -1 '$T/a.csv' | cut -d, -f8 | grep -qE '^[0-9]+$'"
check "banner printed" grep -q "repro | seed 1 | .*symmetry sync" "$T/a.err"
check "final line" grep -q "^method sync: 200 steps" "$T/a.out"
# the last row is the final state the closing line reports
lg=$(tail -1 "$T/a.csv" | cut -d, -f6)
fg=$(sed -n 's/.* gap = \([^,]*\),.*/\1/p' "$T/a.out")
check "last row is the final state ($lg vs $fg)" awk -v a="$lg" -v b="$fg" 'BEGIN { exit !(a - b < 1e-3 * b && b - a < 1e-3 * b) }'
# --symmetry none is the inner optimiser alone, named gd in the closing line
"$BIN" repro goldstone-toy --symmetry none --steps 20 >"$T/g.out" 2>/dev/null
check "--symmetry none" grep -q "^method gd: 20 steps" "$T/g.out"
# the gap falls during the run
g0=$(sed -n 2p "$T/a.csv" | cut -d, -f6)
g1=$(tail -1 "$T/a.csv" | cut -d, -f6)
check "gap decreases" awk -v a="$g0" -v b="$g1" 'BEGIN { exit !(b < a) }'

# --- --help ------------------------------------------------------------------------
"$BIN" repro --help >"$T/h.out" 2>"$T/h.err"
rc=$?
check "--help exits 0" test $rc -eq 0
for opt in --symmetry --seed --data-seed --steps --log --eval-every --seeds --figure --checkpoint \
    --checkpoint-every --resume --k1 --k2 --rho-scale --gauge-solver --gauge-reset --rotation --gauge-clip \
    --apply-fraction --optimizer --paper --lr --lr-sbar --grad-clip --init-equal; do
    grep -q -- "$opt" "$T/h.out" || { bad "--help documents $opt"; continue; }
done
check "--help shows the library's defaults" bash -c "grep -q -- '--k1 N .*\[50\]' '$T/h.out' &&
    grep -q -- '--steps N .*\[20000\]' '$T/h.out' && grep -q -- '--T N .*\[30\]' '$T/h.out' &&
    grep -q -- '--eval-every K .*\[10\]' '$T/h.out'"
check "--help on stdout only" test ! -s "$T/h.err"

# --- bad values exit 2 with a message naming the option ------------------------------
expect2() { # expect2 WORD ARGS...: exit status 2 and WORD in stderr
    local word=$1; shift
    "$BIN" repro "$@" >"$T/e.out" 2>"$T/e.err"
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$word" "$T/e.err"; then ok "exit 2: $*"; else
        bad "exit 2: $* (rc $rc: $(head -2 "$T/e.err"))"; fi
}
expect2 --steps goldstone-toy --steps abc
expect2 --steps goldstone-toy --steps -5
expect2 --symmetry goldstone-toy --symmetry newton
expect2 --method goldstone-toy --method gd
expect2 --log-every goldstone-toy --log-every 10
expect2 --clip goldstone-toy --clip 0.1
expect2 "no limit" goldstone-toy --seeds 1..2 --steps 0
expect2 --rotation goldstone-toy --rotation quaternion
expect2 --gauge-solver goldstone-toy --gauge-solver newton
expect2 --k1 goldstone-toy --k1 0
expect2 --seeds goldstone-toy --seeds 5..2
expect2 --apply-fraction goldstone-toy --apply-fraction 1.5
expect2 bogus goldstone-toy --bogus
expect2 experiment
expect2 "unknown experiment" mnist-toy
expect2 --checkpoint goldstone-toy --resume

# --- SIGINT: checkpoint, exit 130, resume to the requested step count ------------------
CK="$T/ck"
"$BIN" repro goldstone-toy --symmetry goldstone --steps 2000000 --checkpoint "$CK" --checkpoint-every 1000000 \
    --log "$T/i.csv" --eval-every 50 >"$T/i.out" 2>"$T/i.err" &
pid=$!
for _ in $(seq 1 600); do # wait until the loop runs (rows are being logged)
    [ -f "$T/i.csv" ] && [ "$(wc -l <"$T/i.csv")" -ge 3 ] && break
    sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT exits 130" test $rc -eq 130
check "checkpoint written" test -f "$CK/MANIFEST"
check "interrupt message" grep -q "interrupted at step" "$T/i.err"
saved=$(sed -n 's/^step \([0-9]*\)$/\1/p' "$CK/MANIFEST")
check "checkpoint step recorded" test -n "$saved"
saved=${saved:-0}
target=$((saved + 120))
"$BIN" repro goldstone-toy --symmetry goldstone --steps $target --checkpoint "$CK" --resume --log "$T/i.csv" \
    --eval-every 50 >"$T/r.out" 2>"$T/r.err"
rc=$?
check "resume exits 0" test $rc -eq 0
check "resumed from the checkpoint" grep -q "resumed from .* at step $saved" "$T/r.err"
check "resume reaches the requested steps" grep -q "^method goldstone: $target steps" "$T/r.out"
check "csv continues to the last step" test "$(tail -1 "$T/i.csv" | cut -d, -f1)" = "$target"
check "csv has one header" test "$(grep -c '^step,' "$T/i.csv")" -eq 1
check "checkpoint at the end" grep -q "^step $target$" "$CK/MANIFEST"

# --- a resumed run ends exactly where an uninterrupted one does -----------------------
"$BIN" repro goldstone-toy --symmetry sync+goldstone --steps 300 --seed 3 --log "$T/u.csv" --eval-every 10 \
    >"$T/u.out" 2>/dev/null
"$BIN" repro goldstone-toy --symmetry sync+goldstone --steps 170 --seed 3 --checkpoint "$T/ck2" \
    --log "$T/u2.csv" --eval-every 10 >/dev/null 2>&1
"$BIN" repro goldstone-toy --symmetry sync+goldstone --steps 300 --seed 3 --checkpoint "$T/ck2" --resume \
    --log "$T/u2.csv" --eval-every 10 >"$T/u2.out" 2>/dev/null
lu=$(sed -n 's/.* L = \([^ ]*\) .*/\1/p' "$T/u.out")
lr=$(sed -n 's/.* L = \([^ ]*\) .*/\1/p' "$T/u2.out")
check "resume reproduces the uninterrupted run ($lu vs $lr)" test -n "$lu" -a "$lu" = "$lr"
# the logs agree in every column but the timings (seconds, symmetry_seconds)
check "resumed log equals the uninterrupted one" cmp <(cut -d, -f1,3-6,8 "$T/u.csv") <(cut -d, -f1,3-6,8 "$T/u2.csv")
"$BIN" repro goldstone-toy --symmetry sync+goldstone --steps 320 --seed 3 --k1 20 --checkpoint "$T/ck2" --resume \
    >"$T/o.out" 2>"$T/o.err"
rc=$?
check "resume with other settings: exit 1" test $rc -eq 1
check "resume with other settings: names the setting" grep -q "k1 50 (checkpoint) vs 20 (now)" "$T/o.err"

# --- a checkpoint of another model is rejected ---------------------------------------
cp -r "$CK" "$T/other"
sed -i 's/^model .*/model dmf-ratings/; /^manifest-crc32 /d' "$T/other/MANIFEST"
# the MANIFEST's own CRC-32 (gzip's trailer holds it, little-endian) makes the edit well formed
echo "manifest-crc32 $(gzip -c "$T/other/MANIFEST" | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')" >>"$T/other/MANIFEST"
"$BIN" repro goldstone-toy --symmetry goldstone --steps 10 --checkpoint "$T/other" --resume >"$T/o.out" 2>"$T/o.err"
rc=$?
check "other model: exit 1" test $rc -eq 1
check "other model: one-line error naming the model" bash -c "[ \$(wc -l <'$T/o.err') -le 2 ] && grep -q 'dmf-ratings' '$T/o.err'"
"$BIN" repro goldstone-toy --steps 10 --checkpoint "$T/none" --resume >"$T/n.out" 2>"$T/n.err"
rc=$?
check "missing checkpoint: starts from step 0" bash -c "[ $rc -eq 0 ] && grep -q 'starting from step 0' '$T/n.err'"

# --- --paper: the paper's variant, its symmetry mode included (only --symmetry overrides it)
plog() {
    local name=$1
    shift
    "$BIN" repro goldstone-toy --steps 120 --seed 2 --log "$T/pp_$name.csv" --eval-every 10 "$@" >/dev/null 2>&1
    cut -d, -f1,3-6,8 "$T/pp_$name.csv" >"$T/pp_$name.cols"
}
plog paper --paper
plog explicit --symmetry goldstone --gauge-solver quadratic --gauge-reset no --rotation first-order --rho-scale 1 \
    --gauge-clip 0 --apply-fraction 1 --k1 50 --k2 10
plog sync --symmetry sync
plog paper_sync --paper --symmetry sync
check "--paper runs the paper's gauge phase" bash -c "cmp -s '$T/pp_paper.cols' '$T/pp_explicit.cols' && ! cmp -s '$T/pp_paper.cols' '$T/pp_sync.cols'"
check "--paper --symmetry sync runs sync" cmp -s "$T/pp_paper_sync.cols" "$T/pp_sync.cols"

# --- --seeds table --------------------------------------------------------------------
"$BIN" repro goldstone-toy --seeds 1..2 --steps 300 >"$T/s.out" 2>"$T/s.err"
rc=$?
check "seeds exits 0" test $rc -eq 0
for m in gd goldstone sync sync+goldstone goldstone-paper floor; do
    grep -q "^$m " "$T/s.out" || bad "seeds table has $m"
done
check "seeds table header" grep -q "median step" "$T/s.out"

# --- --figure (skipped without gnuplot) ------------------------------------------------
if command -v gnuplot >/dev/null 2>&1; then
    "$BIN" repro goldstone-toy --figure "$T/f.png" --steps 120 --figure-step 60 >"$T/f.out" 2>"$T/f.err"
    rc=$?
    check "figure exits 0" test $rc -eq 0
    check "figure is a PNG" bash -c "head -c 4 '$T/f.png' | od -c | grep -q 'P   N   G'"
    check "no temp figure left" bash -c "! ls '$T' | grep -q 'f.png.tmp'"
else
    echo "ok - figure skipped (no gnuplot)"
fi
expect2 --figure goldstone-toy --figure out.pdf

finish
