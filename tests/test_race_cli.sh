#!/usr/bin/env bash
# test_race_cli.sh - 'natgrad race ae' at toy size (8x8 CURVES-like images, budgets of 1
# and 2 s, 2 seeds, a 2-point SGD grid, 2 runs at a time): usage errors, --max-runs stops
# part-way and a re-run skips the complete runs, the table's rows, SGD's entry is the grid
# point with the lowest error in the grid's logs at each budget, the value at a budget is
# the log's first evaluation at or after it, a grid winner on the edge adds a point, a
# finished race re-run starts nothing and writes the same table, another plan is refused,
# Ctrl-C stops the runs with checkpoints from which a re-run resumes. The grid's lr 1e6
# diverges (NaN within 30 steps): a result, not a failure.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup race_cli
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

"$BIN" data curves --out "$T/c" --n 200 --n-test 50 --size 8 >/dev/null 2>&1
check "tiny CURVES-like data" test -s "$T/c/train-images-idx3-ubyte.gz"
ARGS=(--data "$T/c" --arch 64-16-4-16-64 --budget 1,2 --seeds 2 --jobs 2 --sgd-lr 0.1,1000000 --sgd-batch 20 --sgd-mu 0.9)

# --- usage ------------------------------------------------------------------------------
"$BIN" race >/dev/null 2>&1; check "race without a subcommand exits 2" test $? -eq 2
out=$("$BIN" race ae --help); rc=$?
check "race ae --help exits 0" test $rc -eq 0
miss=""
for o in --data --arch --budget --seeds --jobs --out --eval-seconds --sgd-lr --sgd-batch --sgd-mu \
         --kfac-rows --max-runs --no-plots; do
    grep -q -- "$o" <<<"$out" || miss+=" $o"
done
check "--help documents every option${miss:+ (missing$miss)}" test -z "$miss"
check "--help shows the default grid" bash -c 'grep -q "0.01,0.005,0.001" <<<"$0" && grep -q "0.9,0.99,0.999" <<<"$0"' "$out"
for bad in "--budget 0" "--budget abc" "--budget 1,1" "--sgd-batch 1.5" "--sgd-mu 1" "--sgd-lr 0.1,x" \
           "--kfac-rows seed=3" "--kfac-rows lambda0" "--eval-seconds 0.3" "--seeds 0" "--bogus"; do
    err=$("$BIN" race ae "${ARGS[@]}" $bad --out "$T/bad" 2>&1 >/dev/null); rc=$?
    opt=${bad%% *}
    check "race ae $bad exits 2 naming ${opt#--}" bash -c "[ $rc -eq 2 ] && grep -q -- '${opt#--}' <<<\"\$0\"" "$err"
done
check "a usage error leaves no directory" test ! -e "$T/bad"
# an option 'ae train' refuses stops the race before any run (one step of each row first)
"$BIN" race ae "${ARGS[@]}" --kfac-rows "bogus-option=1" --out "$T/pf" >/dev/null 2>"$T/pf.err"; rc=$?
check "a row 'ae train' refuses: exit 2 before any run" bash -c '[ $0 -eq 2 ] && ! ls "$1"/runs/*.csv >/dev/null 2>&1' $rc "$T/pf"
check "a row 'ae train' refuses: the child's message" grep -q "K-FAC bogus-option=1' cannot run: .*bogus-option" "$T/pf.err"

# --- a race stopped by --max-runs, then finished ------------------------------------------
R=$T/r
"$BIN" race ae "${ARGS[@]}" --out "$R" --max-runs 3 >"$T/1.out" 2>"$T/1.err"; rc=$?
check "--max-runs 3 exits 0" test $rc -eq 0
check "--max-runs says how to go on" grep -q "stopped after starting 3 runs" "$T/1.err"
check "--max-runs: three complete logs" test "$(ls "$R"/runs/*.csv | wc -l)" -eq 3
check "--max-runs: no table yet" test ! -e "$R/race.md"
check "the plan is written" grep -q "^sgd-lr = 0.1,1000000$" "$R/plan.txt"
check "the grid is printed" grep -q "lr {0.1, 1000000} x batch {20} x mu-max {0.9} = 2 points" "$T/1.out"
check "the machine's sgemm rate is noted" grep -q "sgemm [0-9.]* GFLOP/s" "$R/machine.txt"
first=$(ls "$R"/runs/*.csv | head -1)
sum1=$(cksum <"$first")
"$BIN" race ae "${ARGS[@]}" --out "$R" >"$T/2.out" 2>"$T/2.err"; rc=$?
check "the re-run finishes (exit 0)" test $rc -eq 0
check "the re-run skips the 3 complete runs" grep -q "phase 1 (.*): 4 runs, 3 of them complete" "$T/2.err"
check "a complete run is not run again" test "$(cksum <"$first")" = "$sum1"
check "each child is 'ae train' with 1 thread, full sets, the longest budget, its checkpoint" \
    grep -q -- "^\$ natgrad ae train .*--time-limit 2 .*--eval-subset 0 --threads 1 .*--checkpoint .*--resume" "$T/1.err"
check "SGD runs average their iterate" grep -q -- "--optimizer sgd-nesterov .*--average on" "$T/1.err"
check "K-FAC runs with the paper's constants" grep -q -- "--optimizer kfac .*--lambda0 150 --max-batch 0" "$T/1.err"
for b in "1 s" "2 s"; do
    check "table row: $b SGD tuned" grep -q "^| $b | SGD-Nesterov, tuned | lr [0-9.]*, batch 20, mu-max 0.9 | [0-9.]* \[" "$R/race.md"
    check "table row: $b K-FAC" grep -q "^| $b | K-FAC, the paper's constants | .* | [0-9.]* \[.* | [0-9.]* s (budget/\|not reached" "$R/race.md"
done
check "the table records J and the sgemm rate" bash -c 'grep -q "J = 2 at a time" "$0" && grep -q "sgemm [0-9.]* GFLOP/s" "$0"' "$R/race.md"
check "a 2-point grid always has a winner on its edge: an extension" grep -q "(extension)" "$R/race.md"
check "the diverged grid point is marked" test -s "$R/runs/sgd_lr=1000000_batch=20_mu-max=0.9_s1.diverged"
check "the diverged grid point's row" grep -q "^| lr 1000000, batch 20, mu-max 0.9 | diverged | diverged |" "$R/race.md"
check "the diverged point is not SGD's entry" bash -c '! grep -q "SGD-Nesterov, tuned | lr 1000000" "$0"' "$R/race.md"
check "the winner's second seed ran" bash -c 'ls "$0"/runs/sgd_*_s2.csv >/dev/null' "$R"
check "figure data" test -s "$R/race-curves.csv"
if command -v gnuplot >/dev/null; then check "figure" test -s "$R/race.png"; fi
# SGD's entry at each budget: the grid point (seed 1) with the lowest training error there
check "SGD's entry is the grid's best point at each budget" awk -F, '
    $1 == "grid" && $2 == "sgd" && $6 != "" { s = $3; sub(/ \(extension\)$/, "", s)
                                  if (!($5 in m) || $6 < m[$5]) { m[$5] = $6; w[$5] = s } }
    $1 == "run" && $2 == "sgd" && $4 == 1 { r[$5] = $6; rs[$5] = $3 }
    END { n = 0; for (b in m) { n++; if (r[b] != m[b] || rs[b] != w[b]) exit 1 } exit n != 2 }' "$R/race.csv"
# the value at a budget: the first evaluation at or after it, in the run's own log
k1=$(awk -F, 'NR > 1 && $2 >= 1 { print $6; exit }' "$R/runs/kfac-paper_s1.csv")
t1=$(awk -F, '$1 == "run" && $2 == "kfac-paper" && $4 == 1 && $5 == 1 { print $6 }' "$R/race.csv")
check "K-FAC seed 1 at 1 s is its log's first row at or after 1 s ($k1 vs $t1)" \
    awk -v a="$k1" -v b="$t1" 'BEGIN { exit !(a != "" && (a - b) ^ 2 <= 1e-14 * a * a) }'
# the same table again, nothing run
cp "$R/race.md" "$T/race1.md"
"$BIN" race ae "${ARGS[@]}" --out "$R" >"$T/3.out" 2>"$T/3.err"; rc=$?
check "a finished race re-run exits 0" test $rc -eq 0
check "a finished race re-run starts nothing" bash -c '! grep -q "natgrad race: starting\|natgrad race: resuming" "$0"' "$T/3.err"
check "a finished race re-run writes the same table" cmp -s "$R/race.md" "$T/race1.md"
# another plan is refused with the difference
"$BIN" race ae "${ARGS[@]}" --seeds 3 --out "$R" >/dev/null 2>"$T/4.err"; rc=$?
check "another plan is refused (exit 2)" test $rc -eq 2
check "the refusal names the difference" grep -q "seeds = 2 | seeds = 3" "$T/4.err"
check "the refusal runs nothing" bash -c '! ls "$0"/runs/*_s3.csv >/dev/null 2>&1' "$R"

# --- Ctrl-C: the runs checkpoint, a re-run resumes them -----------------------------------
Q=$T/q
A2=(--data "$T/c" --arch 64-16-4-16-64 --budget 3 --seeds 2 --jobs 2 --sgd-lr 0.1 --sgd-batch 20 --sgd-mu 0.9
    --kfac-rows "curvature=blockdiag" --no-plots --out "$Q")
"$BIN" race ae "${A2[@]}" >"$T/5.out" 2>"$T/5.err" &
pid=$!
for _ in $(seq 100); do ls "$Q"/runs/*.csv >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
kill -INT "$pid"
wait "$pid"; rc=$?
check "Ctrl-C: exit 130" test $rc -eq 130
check "Ctrl-C: says how to resume" grep -q "interrupted; run the same command again" "$T/5.err"
check "Ctrl-C: the runs wrote checkpoints" bash -c 'ls -d "$0"/runs/*.ckpt >/dev/null' "$Q"
"$BIN" race ae "${A2[@]}" >"$T/6.out" 2>"$T/6.err"; rc=$?
check "after Ctrl-C the re-run finishes" test $rc -eq 0
check "after Ctrl-C the re-run resumes from the checkpoints" grep -q "natgrad race: resuming " "$T/6.err"
check "the child resumed at its checkpoint's step" bash -c 'grep -q "resumed from .* at step [1-9]" "$0"/runs/*.out' "$Q"
check "the other K-FAC row has its own line" grep -q "^| 3 s | K-FAC curvature=blockdiag | curvature blockdiag | " "$Q/race.md"
check "its runs are their own" test -s "$Q/runs/kfac_curvature=blockdiag_s2.csv"
finish
