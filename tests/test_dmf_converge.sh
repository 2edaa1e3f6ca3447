#!/usr/bin/env bash
# natgrad dmf converge: steps to the shared reference (lowest objective of all logs, psi
# at that row), counted from the first row after which every row stays within tolerance,
# so a run that overshoots and comes back is counted when it is back; bad input refused.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup test_dmf_converge

# a: reaches 100 at step 30 and stays; psi settles at 5 from step 20
cat > "$T/a.csv" <<'CSV'
step,seconds,loss,psi
0,0,200,50
10,1,120,20
20,2,100.5,5
30,3,100,5
40,4,100,5
CSV
# b: within tolerance at step 10, leaves it at 20 (overshoot), back from step 30 on
cat > "$T/b.csv" <<'CSV'
step,seconds,loss,psi
0,0,200,50
10,1,100.001,5
20,2,103,9
30,3,100.002,5.02
40,4,100.001,5.01
CSV
# c: never within 1e-4 of 100
cat > "$T/c.csv" <<'CSV'
step,seconds,loss,psi
0,0,200,50
40,4,101,5
CSV

"$BIN" dmf converge --csv "$T/a.csv" "$T/b.csv" "$T/c.csv" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && ok "three logs read" || bad_show "three logs read (exit $rc)" "$T/err"
row() { grep "/$1.csv," "$T/out" | cut -d, -f2-4; }
[ "$(row a)" = "30,20,40" ] && ok "a: steps to L* 30, to psi* 20" || bad "a" "got '$(row a)'"
[ "$(row b)" = "30,30,40" ] && ok "b: the overshoot at step 20 counts, back from 30" || bad "b" "got '$(row b)'"
[ "$(row c)" = ",40,40" ] && ok "c: never within the objective's tolerance; psi 5 is" || bad "c" "got '$(row c)'"

# a looser tolerance: b is within 3.5% of 100 everywhere from step 10 on
"$BIN" dmf converge --csv --rtol 0.035 --psi-rtol 1 "$T/b.csv" "$T/a.csv" > "$T/out2"
[ "$(grep /b.csv, "$T/out2" | cut -d, -f2)" = "10" ] && ok "--rtol 0.035: b from step 10" \
    || bad "--rtol" "$(cat "$T/out2")"

# psi* about 0 (a model with nothing to align): differences in psi below the objective's
# tolerance (1e-4 x 1000 = 0.1) count as converged
printf 'step,loss,psi\n0,2000,900\n10,1000,0.05\n20,1000,0.0003\n' > "$T/z1.csv"
printf 'step,loss,psi\n0,2000,900\n10,1000.05,0.2\n20,1000,0.0004\n' > "$T/z2.csv"
"$BIN" dmf converge --csv "$T/z1.csv" "$T/z2.csv" > "$T/outz"
[ "$(grep /z1.csv, "$T/outz" | cut -d, -f3)" = "10" ] && [ "$(grep /z2.csv, "$T/outz" | cut -d, -f3)" = "20" ] \
    && ok "psi* near 0: the objective's tolerance as a floor" || bad "psi floor" "$(cat "$T/outz")"

# --psi-ref: a given value, or each log's own final psi (here b's 5.01 against a's 5)
"$BIN" dmf converge --csv --rtol 0 --psi-rtol 0.001 --psi-ref 5 "$T/a.csv" "$T/b.csv" > "$T/outr"
[ "$(grep /b.csv, "$T/outr" | cut -d, -f3)" = "" ] && [ "$(grep /a.csv, "$T/outr" | cut -d, -f3)" = "20" ] \
    && ok "--psi-ref 5: b (5.01 at the end) never within 0.1%" || bad "--psi-ref 5" "$(cat "$T/outr")"
"$BIN" dmf converge --csv --rtol 0 --psi-rtol 0.001 --psi-ref final "$T/a.csv" "$T/b.csv" > "$T/outf"
[ "$(grep /b.csv, "$T/outf" | cut -d, -f3)" = "40" ] && ok "--psi-ref final: b within 0.1% of its own 5.01 from step 40" \
    || bad "--psi-ref final" "$(cat "$T/outf")"
expect_exit "--psi-ref not a number" 2 "$BIN" dmf converge --psi-ref abc "$T/a.csv"

# the human table names the reference
"$BIN" dmf converge "$T/a.csv" "$T/c.csv" > "$T/table"
grep -q "lowest loss 100" "$T/table" && grep -q "never" "$T/table" && ok "table: reference and never" \
    || bad "table" "$(cat "$T/table")"

# bad input: a missing column, a bad number, no logs, a missing file
printf 'step,loss\n0,1\n' > "$T/nopsi.csv"
expect_exit "a log without psi" 1 "$BIN" dmf converge "$T/nopsi.csv"
printf 'step,loss,psi\n0,1,2\n10,x,2\n' > "$T/badnum.csv"
"$BIN" dmf converge "$T/badnum.csv" > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "badnum.csv:3" "$T/err" && ok "a bad number: file and line named" \
    || bad_show "a bad number (exit $rc)" "$T/err"
expect_exit "no logs" 2 "$BIN" dmf converge
expect_exit "a missing file" 1 "$BIN" dmf converge "$T/nothere.csv"
expect_exit "--rtol out of range" 2 "$BIN" dmf converge --rtol 2 "$T/a.csv"
finish
