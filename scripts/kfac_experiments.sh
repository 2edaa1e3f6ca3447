#!/bin/sh
# Two K-FAC measurements of docs/kfac.md that count iterations, not seconds, so they may
# share the machine with other work:
#   iters   block-tridiagonal against block-diagonal K-FAC (the paper's constants), the
#           training error against the iteration, Fashion-MNIST (mnist) and CURVES-like
#           (curves), seeds 1-3 ("Fewer iterations with the tridiagonal inverse");
#   gap     K-FAC on the CURVES-like data with 20,000 and with 200,000 generated training
#           cases (the same 10,000 test cases), the minibatch capped at 20,000 so that an
#           iteration costs the same: does the train/test gap close with more data ("The
#           train/test gap on the CURVES-like data")?
#
#   scripts/kfac_experiments.sh [iters|gap|all|summary] [OUTDIR]
#
# summary prints every log's last row, then for iters the error block-diagonal K-FAC
# reaches at steps 100, 200, ... (median over seeds) beside the step and the second at which
# block-tridiagonal first reaches it, and for gap both sizes' training and test errors
# every 200 steps and their lowest test error.
#
# Run from the repository root after a Release build (build/natgrad). Everything goes into
# OUTDIR (default kfac-runs): data, one log (*.csv), output (*.out) and checkpoint (*.ckpt)
# per run; a run whose log is complete is skipped and a stopped run resumes from its
# checkpoint (every 25 iterations), so the script resumes where it stopped. Runs are one
# thread each, JOBS at a time (default 2). Environment: NATGRAD (default build/natgrad),
# JOBS, SEEDS ("1 2 3"), ITERS (iterations of the iters runs, 400), GAP_ITERS (1000).
set -eu

what=${1:-all}
out=${2:-kfac-runs}
ng=${NATGRAD:-build/natgrad}
jobs=${JOBS:-2}
seeds=${SEEDS:-1 2 3}
iters=${ITERS:-400}
gap_iters=${GAP_ITERS:-1000}

case $what in iters|gap|all|summary) ;; *) echo "usage: $0 [iters|gap|all|summary] [OUTDIR]" >&2; exit 2 ;; esac
[ -x "$ng" ] || { echo "$0: no $ng: build first (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2; exit 1; }
mkdir -p "$out"
. "$(dirname "$0")/runlib.sh"

# run NAME STEPS ARGS...: ae train into NAME.csv (under a temporary name until done),
# resuming from NAME.ckpt where an earlier start stopped
run() {
    name=$1; n=$2; shift 2
    if [ -f "$out/$name.csv" ]; then say "have $name"; return; fi
    say "start $name (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    "$ng" ae train "$@" --steps "$n" --threads 1 --log "$out/$name.csv.tmp" \
        --checkpoint "$out/$name.ckpt" --checkpoint-every 25 --resume >> "$out/$name.out" 2>&1 &&
        mv "$out/$name.csv.tmp" "$out/$name.csv" && say "done $name"
}

if [ "$what" = iters ] || [ "$what" = all ]; then
    for data in fashion-mnist:mnist curves:curves; do
        d=${data%%:*}; a=${data##*:}
        for s in $seeds; do
            for c in blockdiag tridiag; do
                pool_wait
                run "iters-$a-$c-$s" "$iters" --data "$d" --arch "$a" --optimizer kfac --curvature "$c" \
                    --seed "$s" --eval-every 25 --eval-subset 10000 &
            done
        done
    done
    wait
fi

if [ "$what" = gap ] || [ "$what" = all ]; then
    [ -f "$out/curves200k/train-images-idx3-ubyte.gz" ] ||
        "$ng" data curves --out "$out/curves200k" --n 200000 --n-test 10000 > "$out/curves200k.out" 2>&1
    [ -f "$out/curves20k/train-images-idx3-ubyte.gz" ] ||
        "$ng" data curves --out "$out/curves20k" --n 20000 --n-test 10000 > "$out/curves20k.out" 2>&1
    for s in $seeds; do
        for n in 20k 200k; do
            pool_wait
            run "gap-$n-$s" "$gap_iters" --data "$out/curves$n" --arch curves --optimizer kfac --max-batch 20000 \
                --seed "$s" --eval-every 50 --eval-subset 20000 &
        done
    done
    wait
fi

# med "a b c": "median [min, max]" of the numbers given (any count)
med() { echo "$1" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
    if (!NR) { print "-"; exit } m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.4g [%.4g, %.4g]", m, v[1], v[NR] }'; }

# column $3 (6: training error, 2: seconds) of log $1 at step $2 (its row there), or empty
col_at() { awk -F, -v k="$2" -v c="$3" 'NR > 1 && $1 == k { print $c }' < "$1"; }
# where log $1 first reaches training error $2, in steps ($3 = 1) or seconds ($3 = 2),
# interpolated between the two evaluations around it (linear in the log of the error)
first_below() { awk -F, -v e="$2" -v c="$3" 'NR > 1 && $6 != "" {
    if ($6 + 0 <= e + 0) {
        f = (pe > 0 && pe > $6) ? (log(pe) - log(e)) / (log(pe) - log($6)) : 1
        x = (pe > 0) ? px + f * ($c - px) : $c
        printf "%.1f\n", x; exit
    }
    pe = $6; px = $c }' < "$1"; }

if [ "$what" = summary ] || [ "$what" = all ]; then
    # last row of every log: step, train_error, test_error
    for f in "$out"/*.csv; do
        [ -f "$f" ] || continue
        tail -n 1 "$f" | awk -F, -v f="$(basename "$f" .csv)" '{ printf "%-28s step %6s  train %-10s test %s\n", f, $1, $6, $7 }'
    done
    # iters: the error block-diagonal K-FAC reaches at step k (median over seeds), and where
    # block-tridiagonal first reaches that error, in steps and in seconds (median [min, max];
    # seconds compare when the runs shared the machine alike, one thread each, JOBS at a time)
    for a in mnist curves; do
        ls "$out"/iters-$a-blockdiag-*.csv >/dev/null 2>&1 || continue
        echo
        echo "iters, $a: training error (first 10,000 cases), median [min, max] over seeds;"
        echo "block-tridiagonal's steps and seconds to block-diagonal's median error at step k"
        printf '%-5s %-26s %-26s %-26s %-26s %s\n' k "blockdiag error" "tridiag error" \
            "tridiag steps to it" "blockdiag seconds at k" "tridiag seconds to it"
        k=100
        while [ "$k" -le "$iters" ]; do
            eb=""; et=""; sb=""; ft=""; st=""
            for s in $seeds; do
                b=$out/iters-$a-blockdiag-$s.csv; t=$out/iters-$a-tridiag-$s.csv
                [ -f "$b" ] && eb="$eb $(col_at "$b" "$k" 6)" && sb="$sb $(col_at "$b" "$k" 2)"
                [ -f "$t" ] && et="$et $(col_at "$t" "$k" 6)"
            done
            m=$(med "$eb" | cut -d' ' -f1)
            for s in $seeds; do
                t=$out/iters-$a-tridiag-$s.csv
                [ -f "$t" ] && [ "$m" != "-" ] && ft="$ft $(first_below "$t" "$m" 1)" && st="$st $(first_below "$t" "$m" 2)"
            done
            printf '%-5s %-26s %-26s %-26s %-26s %s\n' "$k" "$(med "$eb")" "$(med "$et")" "$(med "$ft")" "$(med "$sb")" "$(med "$st")"
            k=$((k + 100))
        done
    done
    # gap: training and test error at steps 200, 400, ... with 20,000 and with 200,000 cases,
    # and each run's lowest test error with the step where it was reached
    if ls "$out"/gap-*.csv >/dev/null 2>&1; then
        echo
        echo "gap: K-FAC on the CURVES-like data, median [min, max] over seeds"
        printf '%-5s %-5s %-26s %s\n' n k "train error" "test error"
        for n in 20k 200k; do
            k=200
            while [ "$k" -le "$gap_iters" ]; do
                tr=""; te=""
                for s in $seeds; do
                    f=$out/gap-$n-$s.csv
                    [ -f "$f" ] || continue
                    tr="$tr $(col_at "$f" "$k" 6)"; te="$te $(col_at "$f" "$k" 7)"
                done
                printf '%-5s %-5s %-26s %s\n' "$n" "$k" "$(med "$tr")" "$(med "$te")"
                k=$((k + 200))
            done
            lo=""; at=""
            for s in $seeds; do
                f=$out/gap-$n-$s.csv
                [ -f "$f" ] || continue
                r=$(awk -F, 'NR > 1 && $7 != "" && (m == "" || $7 + 0 < m + 0) { m = $7; k = $1 } END { print m, k }' < "$f")
                lo="$lo ${r% *}"; at="$at ${r#* }"
            done
            printf '%-5s lowest test error %s at step %s\n' "$n" "$(med "$lo")" "$(med "$at")"
        done
    fi
fi
