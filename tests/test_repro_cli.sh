#!/usr/bin/env bash
# test_repro_cli.sh - 'natgrad repro goldstone-toy': CSV log, --help, bad values (exit 2),
# SIGINT -> loadable checkpoint and --resume to the requested step count, a checkpoint of
# another model rejected with a one-line error, --seeds table, --figure.
set -u
BIN=${NG_BIN:?NG_BIN is not set}
TMP=${NG_TEST_TMP:-/tmp}/repro_cli.$$
rm -rf "$TMP"
mkdir -p "$TMP"
PASS=0
FAIL=0
ok() { echo "ok - $1"; PASS=$((PASS + 1)); }
bad() { echo "not ok - $1"; FAIL=$((FAIL + 1)); }
check() { # check NAME CONDITION...
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# --- a short run writes the CSV with every column -------------------------------------
"$BIN" repro goldstone-toy --method sync --steps 200 --log "$TMP/a.csv" >"$TMP/a.out" 2>"$TMP/a.err"
rc=$?
check "short run exits 0" test $rc -eq 0
check "csv header" test "$(head -1 "$TMP/a.csv")" = "step,seconds,loss,ell,psi,gap,walls,symmetry_seconds"
rows=$(($(wc -l <"$TMP/a.csv") - 1))
check "csv rows (21 = every 10th step + the last)" test "$rows" -eq 21
check "csv last step 199" test "$(tail -1 "$TMP/a.csv" | cut -d, -f1)" = "199"
check "csv has no nan/inf" bash -c "! grep -qiE 'nan|inf' '$TMP/a.csv'"
check "csv walls column filled" bash -c "tail -1 '$TMP/a.csv' | cut -d, -f7 | grep -qE '^[0-9]+$'"
check "banner printed" grep -q "goldstone-toy | method sync" "$TMP/a.err"
check "final line" grep -q "^method sync: 200 steps" "$TMP/a.out"
# the gap falls during the run
g0=$(sed -n 2p "$TMP/a.csv" | cut -d, -f6)
g1=$(tail -1 "$TMP/a.csv" | cut -d, -f6)
check "gap decreases" awk -v a="$g0" -v b="$g1" 'BEGIN { exit !(b < a) }'

# --- --help ------------------------------------------------------------------------
"$BIN" repro --help >"$TMP/h.out" 2>"$TMP/h.err"
rc=$?
check "--help exits 0" test $rc -eq 0
for opt in --method --seed --data-seed --steps --log --seeds --figure --checkpoint --checkpoint-every \
    --resume --k1 --k2 --rho-scale --gauge-reset --rotation --clip --optimizer --paper --lr; do
    grep -q -- "$opt" "$TMP/h.out" || { bad "--help documents $opt"; continue; }
done
check "--help shows defaults" grep -q "default 50" "$TMP/h.out"
check "--help on stdout only" test ! -s "$TMP/h.err"

# --- bad values exit 2 with a message naming the option ------------------------------
expect2() { # expect2 WORD ARGS...: exit status 2 and WORD in stderr
    local word=$1; shift
    "$BIN" repro "$@" >"$TMP/e.out" 2>"$TMP/e.err"
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$word" "$TMP/e.err"; then ok "exit 2: $*"; else
        bad "exit 2: $* (rc $rc: $(head -2 "$TMP/e.err"))"; fi
}
expect2 --steps goldstone-toy --steps abc
expect2 --steps goldstone-toy --steps -5
expect2 --method goldstone-toy --method newton
expect2 --rotation goldstone-toy --rotation quaternion
expect2 --k1 goldstone-toy --k1 0
expect2 --seeds goldstone-toy --seeds 5..2
expect2 --apply-fraction goldstone-toy --apply-fraction 1.5
expect2 bogus goldstone-toy --bogus
expect2 experiment
expect2 "unknown experiment" mnist-toy
expect2 --checkpoint goldstone-toy --resume

# --- SIGINT: checkpoint, exit 130, resume to the requested step count ------------------
CK="$TMP/ck"
"$BIN" repro goldstone-toy --method goldstone --steps 2000000 --checkpoint "$CK" --checkpoint-every 1000000 \
    --log "$TMP/i.csv" --log-every 50 >"$TMP/i.out" 2>"$TMP/i.err" &
pid=$!
for _ in $(seq 1 600); do # wait until the loop runs (rows are being logged)
    [ -f "$TMP/i.csv" ] && [ "$(wc -l <"$TMP/i.csv")" -ge 3 ] && break
    sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
check "SIGINT exits 130" test $rc -eq 130
check "checkpoint written" test -f "$CK/MANIFEST"
check "interrupt message" grep -q "interrupted after step" "$TMP/i.err"
saved=$(sed -n 's/^step \([0-9]*\)$/\1/p' "$CK/MANIFEST")
check "checkpoint step recorded" test -n "$saved"
saved=${saved:-0}
target=$((saved + 120))
"$BIN" repro goldstone-toy --method goldstone --steps $target --checkpoint "$CK" --resume --log "$TMP/i.csv" \
    --log-every 50 >"$TMP/r.out" 2>"$TMP/r.err"
rc=$?
check "resume exits 0" test $rc -eq 0
check "resumed from the checkpoint" grep -q "resumed from .* at step $saved" "$TMP/r.err"
check "resume reaches the requested steps" grep -q "^method goldstone: $target steps" "$TMP/r.out"
check "csv continues to the last step" test "$(tail -1 "$TMP/i.csv" | cut -d, -f1)" = "$((target - 1))"
check "csv has one header" test "$(grep -c '^step,' "$TMP/i.csv")" -eq 1
check "checkpoint at the end" grep -q "^step $target$" "$CK/MANIFEST"

# --- a resumed run ends exactly where an uninterrupted one does -----------------------
"$BIN" repro goldstone-toy --method sync+goldstone --steps 300 --seed 3 >"$TMP/u.out" 2>/dev/null
"$BIN" repro goldstone-toy --method sync+goldstone --steps 170 --seed 3 --checkpoint "$TMP/ck2" >/dev/null 2>&1
"$BIN" repro goldstone-toy --method sync+goldstone --steps 300 --seed 3 --checkpoint "$TMP/ck2" --resume \
    >"$TMP/u2.out" 2>/dev/null
lu=$(sed -n 's/.* L = \([^ ]*\) .*/\1/p' "$TMP/u.out")
lr=$(sed -n 's/.* L = \([^ ]*\) .*/\1/p' "$TMP/u2.out")
check "resume reproduces the uninterrupted run ($lu vs $lr)" test -n "$lu" -a "$lu" = "$lr"

# --- a checkpoint of another model is rejected ---------------------------------------
cp -r "$CK" "$TMP/other"
sed -i 's/^model .*/model dmf-ratings/' "$TMP/other/MANIFEST"
"$BIN" repro goldstone-toy --steps 10 --checkpoint "$TMP/other" --resume >"$TMP/o.out" 2>"$TMP/o.err"
rc=$?
check "other model: exit 1" test $rc -eq 1
check "other model: one-line error naming the model" bash -c "[ \$(wc -l <'$TMP/o.err') -le 2 ] && grep -q 'dmf-ratings' '$TMP/o.err'"
"$BIN" repro goldstone-toy --steps 10 --checkpoint "$TMP/none" --resume >"$TMP/n.out" 2>"$TMP/n.err"
check "missing checkpoint: exit 1" test $? -eq 1

# --- --seeds table --------------------------------------------------------------------
"$BIN" repro goldstone-toy --seeds 1..2 --steps 300 >"$TMP/s.out" 2>"$TMP/s.err"
rc=$?
check "seeds exits 0" test $rc -eq 0
for m in gd goldstone sync sync+goldstone goldstone-paper floor; do
    grep -q "^$m " "$TMP/s.out" || bad "seeds table has $m"
done
check "seeds table header" grep -q "median step" "$TMP/s.out"

# --- --figure (skipped without gnuplot) ------------------------------------------------
if command -v gnuplot >/dev/null 2>&1; then
    "$BIN" repro goldstone-toy --figure "$TMP/f.png" --steps 120 --figure-step 60 >"$TMP/f.out" 2>"$TMP/f.err"
    rc=$?
    check "figure exits 0" test $rc -eq 0
    check "figure is a PNG" bash -c "head -c 4 '$TMP/f.png' | od -c | grep -q 'P   N   G'"
    check "no temp figure left" bash -c "! ls '$TMP' | grep -q 'f.png.tmp'"
else
    echo "ok - figure skipped (no gnuplot)"
fi
expect2 --figure goldstone-toy --figure out.pdf

rm -rf "$TMP"
echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
