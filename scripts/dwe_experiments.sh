#!/bin/sh
# The measurements of docs/dwe.md ("A first measurement" and its models, "Results on the
# State of the Union"): synthetic corpora with planted drift and their
# null variants, seeds 1-3, trained with --symmetry none and sync+goldstone, evaluated
# against the truth; the State of the Union, seeds 1-3, both modes, with the overlap
# figure and the neighbour and aging tables.
#
#   scripts/dwe_experiments.sh [synth|sotu|all|summary] [OUTDIR]
#
# Run from the repository root after a Release build (build/natgrad). Everything goes
# into OUTDIR (default dwe-runs): corpora, models, training logs (*.csv), the output of
# every command (*.out) and the evaluation CSVs. A step whose result already exists is
# skipped, so the script resumes where it stopped. JOBS training runs go at a time
# (default 1), each with --threads $THREADS (default 2); results do not depend on either.
# Environment: NATGRAD (the binary, default build/natgrad), JOBS, THREADS, SEEDS (default
# "1 2 3"), SYMS (default "none sync+goldstone"; State of the Union only), SYNTH_SETTINGS
# and SOTU_SETTINGS (the dwe train options of each part; defaults below).
set -eu

what=${1:-all}
out=${2:-dwe-runs}
ng=${NATGRAD:-build/natgrad}
threads=${THREADS:-2}
jobs=${JOBS:-1}
seeds=${SEEDS:-1 2 3}
syms=${SYMS:-none sync+goldstone}

case $what in synth|sotu|all|summary) ;; *) echo "usage: $0 [synth|sotu|all|summary] [OUTDIR]" >&2; exit 2 ;; esac
[ -x "$ng" ] || { echo "$0: no $ng: build first (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2; exit 1; }
mkdir -p "$out"

. "$(dirname "$0")/runlib.sh"

# models MODEL...: every model written, else name the failed runs and stop
models() {
    bad=0
    for m in "$@"; do
        [ -f "$m/model.txt" ] || { say "FAILED $m (see $m.out)"; bad=1; }
    done
    [ $bad -eq 0 ] || exit 1
}

# train LOG MODEL ARGS...: dwe train unless MODEL/model.txt exists; the log is rewritten
train() {
    log=$1; model=$2; shift 2
    if [ -f "$model/model.txt" ] && [ -f "$log" ]; then say "have $model"; return; fi
    say "train $model (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    rm -f "$log"
    "$ng" dwe train "$@" --threads "$threads" --log "$log" --out "$model" > "$model.out" 2>&1
    say "done $model: $(tail -n 1 "$log")"
}

# ---- synthetic corpora (docs/dwe.md, "A first measurement") ----
# seed s: dwe synth --seed s and dwe train --seed s; the held-out slices are drawn with
# --split-seed 1 in every run.
synth_settings=${SYNTH_SETTINGS:---test-slices 4 --split-seed 1 --steps 2000 --eval-every 200 --dim 20 --batch-words 300 --batch-contexts 300}
if [ "$what" = synth ] || [ "$what" = all ]; then
    for s in $seeds; do
        for kind in planted null; do
            c=$out/synth-$kind-$s
            flag=; [ $kind = null ] && flag=--null
            if [ ! -f "$c/truth.csv" ]; then
                say "synth $c"
                "$ng" dwe synth --out "$c" --text none --seed "$s" $flag --threads "$threads" > "$c.out" 2>&1
            fi
        done
    done
    for s in $seeds; do
        for kind in planted null; do
            for sym in none sync+goldstone; do
                m=$out/m-$kind-$sym-$s
                pool_wait
                {
                    # shellcheck disable=SC2086
                    train "$m.csv" "$m" --corpus "$out/synth-$kind-$s/counts" $synth_settings \
                        --seed "$s" --symmetry "$sym"
                    [ -f "$m.eval.csv" ] || "$ng" dwe evaluate "$m" --truth "$out/synth-$kind-$s/truth.csv" \
                        --csv "$m.eval.csv" > "$m.eval.out"
                } &
            done
        done
    done
    wait
    models $(for s in $seeds; do for kind in planted null; do for sym in none sync+goldstone; do
        echo "$out/m-$kind-$sym-$s"; done; done; done)
    for s in $seeds; do
        for kind in planted null; do
            o=$out/overlap-$kind-$s
            [ -f "$o.csv" ] || [ ! -f "$out/m-$kind-none-$s/model.txt" ] || [ ! -f "$out/m-$kind-sync+goldstone-$s/model.txt" ] ||
            "$ng" dwe overlap "$out/m-$kind-none-$s" "$out/m-$kind-sync+goldstone-$s" \
                --labels none,sync+goldstone --out "$o.png" --csv "$o.csv" > "$o.out"
        done
    done
fi

# ---- State of the Union ----
sotu_vocab=${SOTU_VOCAB:-1000}
sotu_years=${SOTU_YEARS:-5}
sotu_settings=${SOTU_SETTINGS:---test-slices 5 --split-seed 1 --dim 20 --batch-words 300 --batch-contexts 300 --steps 800 --eval-every 200 --elbo minibatch}
if [ "$what" = sotu ] || [ "$what" = all ]; then
    [ -d "$out/sotu" ] || { say "data sotu"; "$ng" data sotu --out "$out/sotu" > "$out/sotu.out" 2>&1; }
    c=$out/sotu-corpus
    [ -f "$c/corpus.txt" ] || { say "corpus $c"; "$ng" dwe corpus --out "$c" --vocab "$sotu_vocab" --slice-years "$sotu_years" --threads "$threads" "$out/sotu" > "$c.out" 2>&1; }
    for s in $seeds; do
        for sym in $syms; do
            m=$out/sotu-$sym-$s
            pool_wait
            # shellcheck disable=SC2086
            train "$m.csv" "$m" --corpus "$c" $sotu_settings --seed "$s" --symmetry "$sym" &
        done
    done
    wait
    models $(for s in $seeds; do for sym in $syms; do echo "$out/sotu-$sym-$s"; done; done)
    for s in $seeds; do
        o=$out/sotu-overlap-$s
        [ -f "$o.csv" ] || [ ! -f "$out/sotu-none-$s/model.txt" ] || [ ! -f "$out/sotu-sync+goldstone-$s/model.txt" ] ||
            "$ng" dwe overlap "$out/sotu-none-$s" "$out/sotu-sync+goldstone-$s" \
            --labels none,sync+goldstone --out "$o.png" --csv "$o.csv" > "$o.out"
    done
    s1=$(echo "$seeds" | cut -d' ' -f1)
    m=$out/sotu-sync+goldstone-$s1
    q=$out/sotu-queries.out
    if [ ! -f "$q" ] && [ -f "$m/model.txt" ]; then
        {
            for w in union states war government economy energy; do
                for t in 1800 1900 2000; do
                    echo "## dwe query --neighbours $w --at $t"
                    "$ng" dwe query "$m" --neighbours "$w" --at "$t"
                done
            done
            for w in union war government economy; do
                echo "## dwe query --age $w --from 1800 --to 2000"
                "$ng" dwe query "$m" --age "$w" --from 1800 --to 2000
            done
            echo "## dwe query --changed --top 10"
            "$ng" dwe query "$m" --changed --top 10
        } > "$q.tmp" 2>&1 && mv "$q.tmp" "$q"
    fi
fi

# ---- summary: median [min, max] over the seeds of every measure ----
# stat FILE...: lines "group metric value" -> "group metric median [min, max] (n)"
stat() {
    sort -k1,1 -k2,2 -k3,3g "$@" | awk '
        function flush() { if (n == 0) return
            med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "%-28s %-24s %.6g [%.6g, %.6g] (%d)\n", g, k, med, v[1], v[n], n; n = 0 }
        { if ($1 != g || $2 != k) { flush(); g = $1; k = $2 } v[++n] = $3 }
        END { flush() }'
}
# lastrow LOG GROUP: the final row of a training log as "group metric value" lines
lastrow() {
    awk -F, -v g="$2" 'NR > 1 && $1 % 100 == 0 && $1 > 0 { printf "%s overlap@%05d %s\n", g, $1, $7 }' "$1"
    tail -n 1 "$1" | awk -F, -v g="$2" '{ printf "%s test_ll %s\n%s elbo %s\n%s overlap_log %s\n%s seconds %s\n%s symmetry_share %s\n",
        g, $6, g, $3, g, $7, g, $2, g, ($2 > 0 ? $8 / $2 : 0) }'
}
if [ "$what" = summary ] || [ "$what" = all ]; then
    tmp=$(mktemp)
    for s in $seeds; do
        for kind in planted null; do
            for sym in none sync+goldstone; do
                m=$out/m-$kind-$sym-$s
                [ -f "$m.eval.csv" ] || continue
                lastrow "$m.csv" "synth-$kind/$sym" >> "$tmp"
                awk -F, -v g="synth-$kind/$sym" 'NR > 1 && $1 ~ /^(auc|auc_freq|change_share|prec10_min|prec10_median|overlap_median|overlap_aligned_median)$/ { print g, $1, $2 }' "$m.eval.csv" >> "$tmp"
            done
        done
        for sym in none sync+goldstone; do
            m=$out/sotu-$sym-$s
            [ -f "$m/model.txt" ] && lastrow "$m.csv" "sotu/$sym" >> "$tmp"
            o=$out/sotu-overlap-$s.csv
            [ -f "$o" ] && awk -F, -v lab="$sym" 'NR > 1 && $1 == lab { print $4 }' "$o" | sort -g | awk -v g="sotu/$sym" '{ v[++n] = $1 } END { if (n) print g, "overlap_raw", (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }' >> "$tmp"
            [ -f "$o" ] && awk -F, -v lab="$sym" 'NR > 1 && $1 == lab { print $5 }' "$o" | sort -g | awk -v g="sotu/$sym" '{ v[++n] = $1 } END { if (n) print g, "overlap_aligned", (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }' >> "$tmp"
        done
    done
    stat "$tmp"
    rm -f "$tmp"
fi
say "finished $what"
