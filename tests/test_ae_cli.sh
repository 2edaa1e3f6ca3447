#!/usr/bin/env bash
# test_ae_cli.sh - 'natgrad ae train' / 'natgrad mlp train' / 'natgrad bench ae' CLI:
# --help documents the options, bad values exit 2, short runs write the CSV columns and
# weights, checkpoint + resume continues bit-identically, SIGINT exits 130 with a checkpoint.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup ae_cli
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# --- tiny IDX data set: 8x8 images, 4 classes (96 train, 32 test) -------------------
D=$T/data; mkdir -p "$D"
mkidx "$D/train-images-idx3-ubyte" "$D/train-labels-idx1-ubyte" 96 0
mkidx "$D/t10k-images-idx3-ubyte" "$D/t10k-labels-idx1-ubyte" 32 1

# --- help and usage errors -------------------------------------------------------------
out=$("$BIN" ae train --help); rc=$?
check "ae train --help exits 0" test $rc -eq 0
miss=""
for o in --data --arch --act --loss --init --init-k --optimizer --curvature --steps --time-limit \
         --batch --lr --mu-max --seed --eval-every --eval-seconds --eval-subset --threads --log --out \
         --checkpoint --checkpoint-every --resume --tau1 --tau2 --eps-max --T1 --T2 --T3 --refresh-first \
         --lambda0 --omega1 --omega2 --gamma0 --eta --full-batch-iter --polyak-xi --polyak-start \
         --momentum --fisher --damping --adapt-lambda --adapt-gamma --max-batch --beta1 --beta2 --eps; do
    grep -q -- "$o" <<<"$out" || miss+=" $o"
done
check "ae --help documents every option${miss:+ (missing$miss)}" test -z "$miss"
check "--help shows defaults" grep -q "\[150\]" <<<"$out"
check "--help: the old names are gone" bash -c '! grep -q -- "--iters\|--adam-eps\|--m1 " <<<"$0"' "$out"
# each optimiser's defaults for the preset, and where they come from, whatever the order
h=$("$BIN" ae train --optimizer sgd-nesterov --help)
check "sgd help: mnist's tuned lr, batch, averaging" bash -c 'grep -q -- "--lr X .*\[0.01\]" <<<"$0" && grep -q -- "--batch M .*\[100\]" <<<"$0" && grep -q -- "report the better iterate.*\[on\]" <<<"$0"' "$h"
check "sgd help names the source" bash -c 'grep -q "The defaults in \[\] for --arch mnist come from" <<<"$0" && grep -q "^SGD-Nesterov: our tuning on Fashion-MNIST" <<<"$0"' "$h"
h=$("$BIN" ae train --help --optimizer sgd-nesterov --arch curves)
check "sgd help, --arch curves: its lr and batch" bash -c 'grep -q -- "--lr X .*\[0.005\]" <<<"$0" && grep -q -- "--batch M .*\[200\]" <<<"$0" && grep -q "^SGD-Nesterov: our tuning on the CURVES-like" <<<"$0"' "$h"
h=$("$BIN" ae train --arch faces --help)
check "kfac help, --arch faces: the paper's eta and source" bash -c 'grep -q "\[5e-06\]" <<<"$0" && grep -q "for --arch faces come from" <<<"$0" && grep -q "^K-FAC: the paper.s constants" <<<"$0"' "$h"
h=$("$BIN" ae train --optimizer adam --arch 64-12-64 --help)
check "adam help, no preset: not tuned" bash -c 'grep -q "^The defaults in \[\] come from" <<<"$0" && grep -q "^Adam: Kingma & Ba.s constants.*not tuned here" <<<"$0" && grep -q -- "--lr X .*\[0.001\]" <<<"$0"' "$h"
b=$("$BIN" ae train --data "$D" --arch 64-12-4-12-64 --lr 0.02 --optimizer sgd-nesterov --steps 1 2>&1 | head -1)
check "a given --lr beats the defaults, given before --optimizer" bash -c 'grep -q "| lr 0.02 |" <<<"$0" && grep -q "| batch 100 |" <<<"$0" && grep -q "| average on |" <<<"$0"' "$b"
"$BIN" mlp train --help >/dev/null; check "mlp train --help exits 0" test $? -eq 0
"$BIN" bench ae --help >/dev/null; check "bench ae --help exits 0" test $? -eq 0
for args in "--steps abc" "--iters 3" "--adam-eps 1e-8" "--m1 10" "--curvature diagonal" "--bogus" "--lr 0" "--tau1 2" "--tau2 0" "--optimizer sgd" \
            "--seed -3" "--T3 0" "extra" "--resume"; do
    err=$("$BIN" ae train --data "$D" $args 2>&1 >/dev/null); rc=$?
    opt=${args%% *}
    [ "$opt" = "extra" ] && opt="extra"
    check "ae train $args exits 2 naming it" bash -c "[ $rc -eq 2 ] && grep -q -- '${opt#--}' <<<\"\$0\"" "$err"
done
"$BIN" bench ae --batch 0 2>/dev/null; check "bench ae --batch 0 exits 2" test $? -eq 2
# bench ae on a tiny net: the table, the flop parts, and SGD's flops against a hand count
# for 32-8-32 at m = 64: 4 n m (forward, weight gradients; n = 8*33 + 32*9 = 552) plus the
# output layer's data gradient 2 m 8 32 (none for the input layer): 174080 flops
"$BIN" bench ae --arch 32-8-32 --batch 64 --iters 10 --threads 1 --sgemm-n 64 >"$T/bench.txt" 2>/dev/null
check "bench ae on a tiny net exits 0" test $? -eq 0
for row in sgd-nesterov "kfac blockdiag" "kfac tridiag" "refresh amortised"; do
    check "bench ae prints '$row'" grep -q "^$row\|^  + $row" "$T/bench.txt"
done
check "bench ae counts SGD's flops exactly" grep -q "units of SGD's 0.0001741 GFLOP" "$T/bench.txt"
check "bench ae: fwd+bwd part is 1 SGD" grep -q "^kfac tridiag  *1.00 " "$T/bench.txt"

# --- short runs ------------------------------------------------------------------------
COLS="step,seconds,batch,objective,train_loss,train_error,test_error,lambda,gamma,alpha,mu,rho,polyak"
for opt in kfac sgd-nesterov adam; do
    for curv in blockdiag tridiag; do
        [ "$opt" != kfac ] && [ "$curv" = tridiag ] && continue
        log=$T/$opt-$curv.csv
        "$BIN" ae train --data "$D" --arch 64-12-4-12-64 --act logistic,linear,logistic \
            --optimizer $opt --curvature $curv --steps 12 --batch 32 --eval-every 4 --polyak-start 6 \
            --log "$log" --out "$T/w-$opt-$curv" 2>"$T/err.txt"; rc=$?
        check "ae train $opt $curv exits 0" test $rc -eq 0
        [ $rc -eq 0 ] || cat "$T/err.txt"
        check "$opt $curv: CSV header" test "$(head -1 "$log" 2>/dev/null)" = "$COLS"
        check "$opt $curv: 4 CSV rows (0, 4, 8, 12)" test "$(tail -n +2 "$log" | cut -d, -f1 | tr '\n' ' ')" = "0 4 8 12 "
        check "$opt $curv: banner printed" grep -q "optimizer" "$T/err.txt"
        last=$(tail -1 "$log")
        first=$(sed -n 2p "$log")
        e0=$(cut -d, -f6 <<<"$first"); e1=$(cut -d, -f6 <<<"$last")
        check "$opt $curv: training error decreased ($e0 -> $e1)" awk -v a="$e0" -v b="$e1" 'BEGIN{exit !(b < a)}'
        check "$opt $curv: weights W0..W3.npy" test -s "$T/w-$opt-$curv/W0.npy" -a -s "$T/w-$opt-$curv/W3.npy"
    done
done
check "kfac writes the Polyak average" test -s "$T/w-kfac-tridiag/Wavg0.npy"
"$BIN" mlp train --data "$D" --arch 64-16-4 --steps 10 --batch 32 --eval-every 5 --log "$T/mlp.csv" 2>"$T/err.txt"
rc=$?; check "mlp train exits 0" test $rc -eq 0; [ $rc -eq 0 ] || cat "$T/err.txt"
check "mlp error is a rate in [0, 1]" awk -F, 'NR > 1 { if ($6 < 0 || $6 > 1 || $7 < 0 || $7 > 1) bad = 1 } END { exit bad || NR != 4 }' "$T/mlp.csv"
"$BIN" ae train --data "$D" --arch 60-10-60 --steps 2 2>/dev/null; check "arch/data mismatch exits 1" test $? -eq 1
"$BIN" ae train --data "$T/nonexistent" --arch 64-10-64 --steps 2 2>/dev/null; check "missing data exits 1" test $? -eq 1

# --- checkpoint / resume: 6 + 6 steps equal 12 straight ---------------------------
for opt in kfac sgd-nesterov; do
    common=(--data "$D" --arch 64-12-4-12-64 --act logistic,linear,logistic --optimizer $opt
            --batch 32 --eval-every 3 --T2 4 --T3 4 --polyak-start 5 --seed 7)
    "$BIN" ae train "${common[@]}" --steps 12 --out "$T/straight-$opt" 2>/dev/null
    "$BIN" ae train "${common[@]}" --steps 6 --checkpoint "$T/ck-$opt" --log "$T/res-$opt.csv" 2>/dev/null
    check "$opt: checkpoint written" test -f "$T/ck-$opt/MANIFEST"
    "$BIN" ae train "${common[@]}" --steps 12 --checkpoint "$T/ck-$opt" --resume --log "$T/res-$opt.csv" \
        --out "$T/resumed-$opt" 2>"$T/err.txt"
    check "$opt: resume exits 0" test $? -eq 0
    check "$opt: resume says so" grep -q "resumed" "$T/err.txt"
    check "$opt: resumed weights equal the straight run" cmp -s "$T/straight-$opt/W1.npy" "$T/resumed-$opt/W1.npy"
    check "$opt: resumed log continues (0 3 6 9 12)" test "$(tail -n +2 "$T/res-$opt.csv" | cut -d, -f1 | tr '\n' ' ')" = "0 3 6 9 12 "
done
"$BIN" ae train --data "$D" --arch 64-12-64 --steps 3 --checkpoint "$T/ck-kfac" --resume 2>/dev/null
check "resume into a different model exits 1" test $? -eq 1
"$BIN" ae train "${common[@]}" --steps 14 --lambda0 20 --checkpoint "$T/ck-sgd-nesterov" --resume 2>"$T/err.txt"
check "resume with another setting exits 1" test $? -eq 1
check "resume with another setting names it" grep -q "lambda0" "$T/err.txt"

# --- --data fashion-mnist is the CLI's name for Debian's directory --------------------
"$BIN" ae train --data fashion-mnist --arch 60-10-60 --steps 1 2>"$T/err.txt"
check "--data fashion-mnist with a wrong --arch exits 1" test $? -eq 1
if [ -d /usr/share/datasets/fashion-mnist ]; then
    check "--data fashion-mnist loads the installed set" grep -q "784 features" "$T/err.txt"
else
    check "--data fashion-mnist names the package" grep -q "dataset-fashion-mnist" "$T/err.txt"
fi

# --- SIGINT: finish the step, checkpoint, exit 130 --------------------------------
"$BIN" ae train --data "$D" --arch 64-12-4-12-64 --steps 0 --time-limit 120 --batch 32 \
    --checkpoint "$T/ck-int" --log "$T/int.csv" 2>"$T/int.txt" &
pid=$!
for _ in $(seq 1 100); do [ -s "$T/int.csv" ] && break; sleep 0.1; done
sleep 0.5
kill -INT $pid
wait $pid; rc=$?
check "SIGINT exits 130" test $rc -eq 130
check "SIGINT leaves a checkpoint" test -f "$T/ck-int/MANIFEST"
check "SIGINT message" grep -q "interrupted" "$T/int.txt"

finish
