#!/usr/bin/env bash
# test_crash.sh - resumes that are exact. For each training command (ae with K-FAC and with
# SGD, mlp with Adam, dmf, repro, dwe) a run of N steps straight; then the same run with
# --checkpoint-every, killed with SIGKILL at pseudo-random moments (seeded), during startup,
# between checkpoints and while a checkpoint is being written, and resumed each time until it
# ends: its final
# checkpoint arrays, --out files and log (timing columns aside) must equal the straight
# run's byte for byte (one thread, so the same sums in the same order).
# Then the failures that must leave the previous checkpoint intact: Ctrl-C during a
# checkpoint write, a file-size limit, a full disk and a read-only directory (a small tmpfs
# in a private mount namespace, when unshare allows it), and a diverging run (the step, the
# quantity, the last checkpoint untouched).
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup crash
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
EXEC=
RANDOM=${NG_CRASH_SEED:-4242} # the kill moments; another seed: NG_CRASH_SEED=N
if [ "${NG_SANITIZE:-OFF}" = ON ]; then KILLS=3 STEPS=30; else KILLS=10 STEPS=120; fi

# --- data: 8x8 images of 4 classes (96 train, 32 test), synthetic ratings ---------------
D=$T/data
mkdir -p "$D"
mkidx "$D/train-images-idx3-ubyte" "$D/train-labels-idx1-ubyte" 96 0
mkidx "$D/t10k-images-idx3-ubyte" "$D/t10k-labels-idx1-ubyte" 32 1
R=$T/ratings.csv
"$BIN" dmf synth --out "$R" --users 30 --items 40 --ratings 3000 --seed 3 >/dev/null 2>&1 ||
    bad "dmf synth"
C=$T/corpus
"$BIN" dwe synth --out "$C" --words 50 --topics 3 --slices 6 --sentences 300 --small-every 0 --rank-lo 5 \
    --rank-hi 40 --tau-lo 2 --tau-hi 5 --abrupt 2 --gradual 2 --broadening 1 --frequency 1 --gradual-steps 2 \
    --text none >/dev/null 2>&1 || bad "dwe synth"

# run_cmd NAME ARGS...: the training command NAME with its fixed settings, then ARGS. With
# EXEC=exec (in the background: "EXEC=exec run_cmd ... &") natgrad replaces the subshell, so
# that $! is natgrad's own process, the one the signals must reach.
run_cmd() {
    local name=$1
    shift
    case $name in
    ae-kfac) $EXEC "$BIN" ae train --data "$D" --arch 64-12-4-12-64 --act logistic,linear,logistic \
        --optimizer kfac --batch 32 --T2 4 --T3 4 --polyak-start 5 --seed 7 --eval-every 3 --threads 1 "$@" ;;
    ae-sgd) $EXEC "$BIN" ae train --data "$D" --arch 64-12-4-12-64 --act logistic,linear,logistic \
        --optimizer sgd-nesterov --batch 32 --seed 7 --eval-every 3 --threads 1 "$@" ;;
    mlp) $EXEC "$BIN" mlp train --data "$D" --arch 64-16-4 --optimizer adam --batch 16 --seed 5 --eval-every 4 \
        --threads 1 "$@" ;;
    dmf) $EXEC "$BIN" dmf train --ratings "$R" --bins 4 --dim 3 --k1 5 --seed 2 --eval-every 2 --threads 1 "$@" ;;
    repro) $EXEC "$BIN" repro goldstone-toy --symmetry sync+goldstone --k1 5 --eval-every 3 --threads 1 "$@" ;;
    dwe) $EXEC "$BIN" dwe train --corpus "$C/counts" --dim 3 --batch-words 20 --batch-contexts 25 --test-slices 2 \
        --symmetry sync+goldstone --k1 4 --seed 3 --eval-every 5 --threads 1 "$@" ;;
    esac
}
has_out() { [ "$1" != repro ]; }

# untimed LOG: the log without its clock columns (seconds, symmetry_seconds).
untimed() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) drop[i] = ($i == "seconds" || $i == "symmetry_seconds") }
             { out = ""; for (i = 1; i <= NF; i++) if (!drop[i]) out = out (out == "" ? "" : ",") $i; print out }' "$1"
}

# same_state REF GOT: the checkpoints hold the same arrays, byte for byte but the clocks.
same_state() {
    local f n=0
    [ "$(cd "$1" && ls)" = "$(cd "$2" && ls)" ] || return 1
    for f in "$1"/*.npy; do
        case ${f##*/} in train_seconds.npy | symmetry_seconds.npy) continue ;; esac
        cmp -s "$f" "$2/${f##*/}" || return 1
        n=$((n + 1))
    done
    [ $n -gt 0 ]
}

# same_files REF GOT: every file of REF byte for byte in GOT, and no other file in GOT than
# a temp file a writer killed mid-write leaves (NAME.tmp.PID).
same_files() {
    local f
    for f in "$1"/*; do cmp -s "$f" "$2/${f##*/}" || return 1; done
    for f in "$2"/*; do [ -e "$1/${f##*/}" ] || [[ ${f##*/} == *.tmp.[0-9]* ]] || return 1; done
}

ms_now() { echo $(($(date +%s%N) / 1000000)); }
ckpt_step() { # the step of the checkpoint in $1 (or of $1.old between a save's renames)
    local m=$1/MANIFEST
    [ -f "$m" ] || m=$1.old/MANIFEST
    sed -n 's/^step //p' "$m" 2>/dev/null
}

# ck_step_now CK: CKSTEP = the step of the checkpoint in CK, -1 when there is none (builtins
# only: it is polled).
ck_step_now() {
    local a b c
    CKSTEP=-1
    { read -r a && read -r b && read -r c; } 2>/dev/null <"$1/MANIFEST" && [[ $c == "step "* ]] && CKSTEP=${c#step }
}

# wait_ckpt PID CK STEP: until the run PID has checkpointed step STEP or later (or ended).
wait_ckpt() {
    local n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt 400000 ]; do
        ck_step_now "$2"
        [ "$CKSTEP" -ge "$3" ] && return
        n=$((n + 1))
    done
}

# kill_in_save PID CK: SIGKILL as soon as a save is seen under way (CK.tmp appears, after a
# stale one from an earlier kill went), up to a few hundred microseconds later: into its files,
# its MANIFEST or its renames.
kill_in_save() {
    local pid=$1 ck=$2 n=0 j spin=$((RANDOM % 300))
    while [ -e "$ck.tmp" ] && kill -0 "$pid" 2>/dev/null && [ $n -lt 200000 ]; do n=$((n + 1)); done
    while [ ! -e "$ck.tmp" ] && kill -0 "$pid" 2>/dev/null && [ $n -lt 400000 ]; do n=$((n + 1)); done
    for ((j = 0; j < spin; j++)); do :; done
    kill -9 "$pid" 2>/dev/null
}

TOTAL_KILLS=0 TOTAL_IN_SAVE=0 TOTAL_RUNS=0
for name in ae-kfac ae-sgd mlp dmf repro dwe; do
    W=$T/$name
    mkdir -p "$W"
    outs=()
    # the straight run, then the same with checkpoints every few steps (it must not matter,
    # and it times a run for the kill moments)
    has_out $name && outs=(--out "$W/ref-out")
    run_cmd $name --steps $STEPS --log "$W/ref.csv" --checkpoint "$W/ref-ck" "${outs[@]}" >/dev/null 2>"$W/ref.err" ||
        bad_show "$name: straight run" "$W/ref.err"
    ce=$((2 + RANDOM % 3))
    t0=$(ms_now)
    run_cmd $name --steps $STEPS --log "$W/cal.csv" --checkpoint "$W/cal-ck" --checkpoint-every $ce >/dev/null 2>&1
    dur=$(($(ms_now) - t0 + 1))
    check "$name: checkpoints change nothing" same_state "$W/ref-ck" "$W/cal-ck"
    TOTAL_RUNS=$((TOTAL_RUNS + 2))

    # the killed runs: --checkpoint-every $ce, every run a --resume; rounds from scratch
    # until $KILLS kills (on a loaded machine a run may get to its end before a kill)
    CK=$W/ck
    kills=0 in_save=0 renames=0 torn=0 after=0 rounds=0 finished=0 same=0 same_out=0 same_log=0
    has_out $name && outs=(--out "$W/out")
    while [ $kills -lt $KILLS ] && [ $rounds -lt 3 ]; do
        rounds=$((rounds + 1))
        rm -rf "$CK" "$CK.tmp" "$CK.old" "$W/out" "$W/crash.csv"
        rc=1
        for ((i = 0; kills < KILLS; i++)); do
            EXEC=exec run_cmd $name --steps $STEPS --log "$W/crash.csv" --checkpoint "$CK" --checkpoint-every $ce \
                --resume "${outs[@]}" >/dev/null 2>"$W/run.err" &
            pid=$!
            # the moments go by the run's progress, not the clock: a checkpoint at a random
            # step in the first half of what is left, then at once (in the steps after it)
            # or in the next save; every third kill instead within 30 ms of the start
            # (loading, the resume, the log's cut)
            ck_step_now "$CK"
            target=$((CKSTEP + 1 + RANDOM % ((STEPS - CKSTEP) / 2 + 1)))
            case $((i % 3)) in
            0) sleep "$(awk -v ms=$((RANDOM % 30)) 'BEGIN { printf "%.3f", ms / 1000 }')"
               kill -9 $pid 2>/dev/null ;;
            1) wait_ckpt $pid "$CK" $target
               kill_in_save $pid "$CK" ;;
            2) wait_ckpt $pid "$CK" $target
               for ((j = RANDOM % 3000; j > 0; j--)); do :; done
               kill -9 $pid 2>/dev/null ;;
            esac
            { wait $pid; } 2>/dev/null # (without the shell's "Killed" line)
            rc=$?
            TOTAL_RUNS=$((TOTAL_RUNS + 1))
            [ $rc -eq 0 ] && break # it got to the end first
            if [ $rc -ne 137 ]; then
                bad_show "$name: run $i ended with $rc, not by the kill" "$W/run.err"
                break
            fi
            kills=$((kills + 1))
            # what the kill interrupted
            { [ -e "$CK.tmp" ] || { [ ! -e "$CK" ] && [ -e "$CK.old" ]; }; } && in_save=$((in_save + 1))
            [ ! -e "$CK" ] && [ -e "$CK.old" ] && renames=$((renames + 1))
            if [ -s "$W/crash.csv" ]; then
                [ "$(tail -c 1 "$W/crash.csv" | od -An -tx1 | tr -d ' ')" != 0a ] && torn=$((torn + 1))
                last=$(tail -n 1 "$W/crash.csv" | cut -d, -f1)
                s=$(ckpt_step "$CK")
                [ -n "$s" ] && [ -n "$last" ] && [ "${last%%[!0-9]*}" -gt "$s" ] 2>/dev/null && after=$((after + 1))
            fi
        done
        if [ $rc -ne 0 ]; then # the last run goes to the end
            # from what a kill between a save's two renames leaves (only DIR.old; rarely hit
            # by the kills themselves, the window is microseconds)
            [ -d "$CK" ] && rm -rf "$CK.old" && mv "$CK" "$CK.old"
            run_cmd $name --steps $STEPS --log "$W/crash.csv" --checkpoint "$CK" --checkpoint-every $ce --resume \
                "${outs[@]}" >/dev/null 2>"$W/run.err"
            rc=$?
            TOTAL_RUNS=$((TOTAL_RUNS + 1))
        fi
        [ $rc -eq 0 ] && finished=$((finished + 1))
        same_state "$W/ref-ck" "$CK" && same=$((same + 1))
        { ! has_out $name || same_files "$W/ref-out" "$W/out"; } && same_out=$((same_out + 1))
        if cmp -s <(untimed "$W/ref.csv") <(untimed "$W/crash.csv"); then same_log=$((same_log + 1)); else
            diff <(untimed "$W/ref.csv") <(untimed "$W/crash.csv") | head -5
        fi
    done
    TOTAL_KILLS=$((TOTAL_KILLS + kills))
    TOTAL_IN_SAVE=$((TOTAL_IN_SAVE + in_save))
    echo "# $name: $kills kills in $rounds round(s) ($in_save in a save, $renames between its renames," \
        "$torn in a log row, $after after rows past the checkpoint), checkpoint every $ce of $STEPS" \
        "steps, a run ~${dur} ms"
    check "$name: the killed and resumed runs finish ($finished of $rounds)" test $finished -eq $rounds
    check "$name: final state equals the straight run's ($same of $rounds)" test $same -eq $rounds
    check "$name: --out files equal the straight run's ($same_out of $rounds)" test $same_out -eq $rounds
    check "$name: the log equals the straight run's ($same_log of $rounds)" test $same_log -eq $rounds
done
echo "# $TOTAL_RUNS runs, $TOTAL_KILLS kills, $TOTAL_IN_SAVE of them inside a checkpoint save"
check "kills: $TOTAL_KILLS (at least $((6 * KILLS / 2)))" test $TOTAL_KILLS -ge $((6 * KILLS / 2))
check "some kills landed inside a save" test $TOTAL_IN_SAVE -gt 0

# --- Ctrl-C while a checkpoint is being written: the save finishes, one more step, its
# checkpoint, exit 130; the checkpoint loads ----------------------------------------------
W=$T/sigint
mkdir -p "$W"
EXEC=exec run_cmd ae-kfac --steps 1000000 --checkpoint "$W/ck" --checkpoint-every 1 --log "$W/l.csv" \
    >/dev/null 2>"$W/err" &
pid=$!
n=0 # past the first save (the handler is in place), then into one
while [ ! -e "$W/ck/MANIFEST" ] && kill -0 $pid 2>/dev/null && [ $n -lt 400000 ]; do n=$((n + 1)); done
while [ ! -e "$W/ck.tmp" ] && kill -0 $pid 2>/dev/null && [ $n -lt 800000 ]; do n=$((n + 1)); done
kill -INT $pid
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -9 $pid 2>/dev/null # (only if the stop request was lost: the checks below then fail)
wait $pid
rc=$?
step=$(sed -n 's/.*interrupted at step \([0-9]*\);.*/\1/p' "$W/err")
check "Ctrl-C in a save: exit 130" test $rc -eq 130
check "Ctrl-C in a save: the checkpoint is the stop's (step ${step:-?})" test -n "$step" -a "$(ckpt_step "$W/ck")" = "$step"
check "Ctrl-C in a save: nothing left over" test ! -e "$W/ck.tmp" -a ! -e "$W/ck.old"
run_cmd ae-kfac --steps "${step:-1}" --checkpoint "$W/ck" --resume --log "$W/l.csv" >/dev/null 2>"$W/err2"
check "Ctrl-C in a save: the checkpoint loads" bash -c "[ $? -eq 0 ] && grep -q 'resumed from .* at step ${step:-x}' '$W/err2'"

# --- failed saves leave the previous checkpoint as it was --------------------------------
# expect_failed_save NAME CK STEP ERR WORD: exit 1 ($RC), one line naming WORD and the
# checkpoint kept (after the "resumed from" line), the checkpoint at STEP still, nothing left
# over, and it loads.
expect_failed_save() {
    local name=$1 ck=$2 step=$3 err=$4 word=$5
    local last
    last=$(tail -n 1 "$err")
    if [ "$RC" -eq 1 ] && [[ $last == *"$word"* && $last == *"the last checkpoint (step $step in"* ]] &&
        [ "$(grep -c "natgrad ae train: " "$err")" -eq 2 ]; then ok "$name: exit 1 with a one-line message"; else
        bad_show "$name: exit 1 with a one-line message (rc $RC)" "$err"; fi
    check "$name: the checkpoint is still at step $step" test "$(ckpt_step "$ck")" = "$step"
    check "$name: no partial checkpoint left" test ! -e "$ck.tmp" -a ! -e "$ck.old"
    run_cmd ae-kfac --steps "$step" --checkpoint "$ck" --resume >/dev/null 2>"$err.load"
    check "$name: the checkpoint loads" bash -c "[ $? -eq 0 ] && grep -q 'resumed from .* at step $step' '$err.load'"
}

W=$T/full
mkdir -p "$W"
run_cmd ae-kfac --steps 4 --checkpoint "$W/ck" >/dev/null 2>&1
# a file-size limit (16 KiB: the log fits, K-FAC's 65 x 65 factors do not): EFBIG
(ulimit -f 16 && run_cmd ae-kfac --steps 8 --checkpoint "$W/ck" --resume --log "$W/l.csv" >/dev/null 2>"$W/err")
RC=$?
expect_failed_save "file-size limit" "$W/ck" 4 "$W/err" "File too large"

# a full disk and a read-only directory: a tmpfs in a private mount namespace
NS=$T/ns.sh
cat >"$NS" <<'EOF'
# runs in its own mount namespace: $1 a directory to mount a tmpfs of $2 KiB on, $3 a
# checkpoint to copy in; then "ro" remounts it read-only
mount -t tmpfs -o size=${2}k tmpfs "$1" || exit 99
cp -r "$3" "$1/ck" || exit 98
[ "$4" = ro ] && { mount -o remount,ro "$1" || exit 97; }
shift 4
"$@"
EOF
M=$T/mnt
mkdir -p "$M"
if unshare -m --propagation private mount -t tmpfs -o size=64k tmpfs "$M" 2>/dev/null; then
    kib=$(du -sk "$W/ck" | cut -f1)
    # room for the checkpoint and half another: the next save runs out of space
    unshare -m --propagation private bash "$NS" "$M" $((kib * 3 / 2)) "$W/ck" rw bash -c \
        "$(declare -f run_cmd); BIN='$BIN' D='$D'; run_cmd ae-kfac --steps 8 --checkpoint '$M/ck' --resume --log '$W/l2.csv' >/dev/null 2>'$W/err2';
         rc=\$?; cp -r '$M/ck' '$W/after-full'; [ -e '$M/ck.tmp' ] && cp -r '$M/ck.tmp' '$W/after-full.tmp'; exit \$rc"
    RC=$?
    expect_failed_save "full disk" "$W/after-full" 4 "$W/err2" "No space left on device"
    unshare -m --propagation private bash "$NS" "$M" 4096 "$W/ck" ro bash -c \
        "$(declare -f run_cmd); BIN='$BIN' D='$D'; run_cmd ae-kfac --steps 8 --checkpoint '$M/ck' --resume --log '$W/l3.csv' >/dev/null 2>'$W/err3';
         rc=\$?; cp -r '$M/ck' '$W/after-ro'; exit \$rc"
    RC=$?
    expect_failed_save "read-only directory" "$W/after-ro" 4 "$W/err3" "Read-only file system"
elif [ "$(id -u)" -ne 0 ]; then
    echo "# no private mount namespace here: the read-only directory by permissions; no full-disk test"
    cp -r "$W/ck" "$W/rock"
    chmod a-w "$W"
    run_cmd ae-kfac --steps 8 --checkpoint "$W/rock" --resume --log "$T/l3.csv" >/dev/null 2>"$T/err3"
    RC=$?
    chmod u+w "$W"
    expect_failed_save "read-only directory" "$W/rock" 4 "$T/err3" "Permission denied"
else
    echo "# root without a private mount namespace: a read-only directory and a full disk cannot be made here"
    ok "read-only directory and full disk (skipped: root without unshare -m)"
fi

# --- divergence: the step, the quantity, the last checkpoint untouched --------------------
W=$T/diverge
mkdir -p "$W"
"$BIN" ae train --data "$D" --arch 64-12-64 --act linear --loss gaussian --optimizer sgd-nesterov --lr 0.003 \
    --steps 300 --checkpoint "$W/ae" --checkpoint-every 2 --threads 1 >/dev/null 2>"$W/ae.err"
RC=$?
k=$(sed -n 's/.*stopped after \([0-9]*\) steps: net_optim.c: .*objective or gradient is NaN\/Inf.*/\1/p' "$W/ae.err")
check "ae diverging: exit 1 naming the step and the quantity" test $RC -eq 1 -a -n "$k"
last=$(( ${k:-1} / 2 * 2 ))
check "ae diverging: the last checkpoint (step $last) untouched" bash -c \
    "grep -q 'the last checkpoint (step $last in' '$W/ae.err' && [ '$(ckpt_step "$W/ae")' = $last ]"
"$BIN" dmf train --ratings "$R" --bins 4 --dim 3 --optimizer gd --lr 1e4 --grad-clip 0 --lr-sbar 0 --steps 200 \
    --checkpoint "$W/dmf" --checkpoint-every 5 --threads 1 >/dev/null 2>"$W/dmf.err"
RC=$?
k=$(sed -n 's/.*stopped after \([0-9]*\) steps: ng_goldstone_step: diverged .*(\(non-finite\|loss\).*/\1/p' "$W/dmf.err")
check "dmf diverging: exit 1 naming the step and the quantity" test $RC -eq 1 -a -n "$k"
last=$(( ${k:-1} / 5 * 5 ))
check "dmf diverging: the last checkpoint (step $last) untouched" bash -c \
    "grep -q 'the last checkpoint (step $last in' '$W/dmf.err' && [ '$(ckpt_step "$W/dmf")' = $last ]"
"$BIN" repro goldstone-toy --symmetry none --optimizer gd --lr 5 --grad-clip 0 --lr-sbar 0 --steps 200 \
    --checkpoint "$W/toy" --checkpoint-every 1 --threads 1 >/dev/null 2>"$W/toy.err"
RC=$?
k=$(sed -n 's/.*stopped after \([0-9]*\) steps: ng_goldstone_step: diverged .*/\1/p' "$W/toy.err")
check "repro diverging: exit 1 naming the step" test $RC -eq 1 -a -n "$k"
check "repro diverging: the last checkpoint (step ${k:-?}) untouched" bash -c \
    "grep -q 'the last checkpoint (step ${k:-x} in' '$W/toy.err' && [ '$(ckpt_step "$W/toy")' = '${k:-x}' ]"

finish
