#!/bin/sh
# The map of docs/goldstone.md ("When Goldstone-GD pays off"): synthetic rating files from
# a few hundred to about a hundred thousand training ratings per time bin (heavy-tailed
# user activity and item popularity, users active in a third of the span, empty bins),
# trained with every symmetry mode for d in {10, 30} and lambda in {10, 100}, seeds 1-3;
# per (regime, d, lambda, seed) 'natgrad dmf converge' over the modes' logs gives the
# steps to the lowest objective any mode reached and to psi there.
#
#   scripts/dmf_regimes.sh [data|train|summary|all] [OUTDIR]
#
# Run from the repository root after a Release build (build/natgrad). Everything goes
# into OUTDIR (default dmf-regimes): the rating files, one log (*.csv) and output (*.out)
# per run, and map.md, the table. A run whose log exists is skipped (logs are written
# under a temporary name and renamed at the end), so the script resumes where it stopped.
# Environment: NATGRAD (default build/natgrad), JOBS (runs at a time, each 1 thread;
# default 2), SEEDS ("1 2 3"), REGIMES, DIMS ("10 30"), LAMBDAS ("10 100"), STEPS (all runs; default
# 600 for r300 and r3k, 400 for r30k, 300 for r100k), EVERY (log a row every N steps, 20),
# MODES (the symmetry modes, "none sync goldstone sync+goldstone"; the summary needs all).
set -eu

what=${1:-all}
out=${2:-dmf-regimes}
ng=${NATGRAD:-build/natgrad}
jobs=${JOBS:-2}
seeds=${SEEDS:-1 2 3}
regimes=${REGIMES:-r300 r3k r30k r100k}
dims=${DIMS:-10 30}
lambdas=${LAMBDAS:-10 100}
steps=${STEPS:-}
every=${EVERY:-20}
modes=${MODES:-none sync goldstone sync+goldstone}
bins=20

case $what in data|train|summary|all) ;; *) echo "usage: $0 [data|train|summary|all] [OUTDIR]" >&2; exit 2 ;; esac
[ -x "$ng" ] || { echo "$0: no $ng: build first (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2; exit 1; }
mkdir -p "$out"
. "$(dirname "$0")/runlib.sh"

# ratings before binarisation: about 40% of them end up as training ratings (ties at the
# median dropped, then the 50% training split), over 20 bins
ratings_of() {
    case $1 in
        r300) echo 15000 ;; r3k) echo 150000 ;; r30k) echo 1500000 ;; r100k) echo 5000000 ;;
        *) echo "$0: unknown regime $1" >&2; exit 2 ;;
    esac
}

if [ "$what" = data ] || [ "$what" = all ]; then
    for r in $regimes; do
        for s in $seeds; do
            f=$out/$r-$s.csv
            [ -f "$f" ] && continue
            say "synth $f"
            "$ng" dmf synth --out "$f" --users 1000 --items 500 --ratings "$(ratings_of $r)" --days 1000 \
                --activity-sigma 1.5 --item-zipf 1.1 --user-span 0.3 --gaps 2 --gap-fraction 0.2 \
                --bins $bins --seed "$s" --threads 2 > "$f.out" 2>&1
        done
    done
fi

# steps per run: cheap regimes run longer, so that phases every 100-300 steps (the default
# interval at d = 30 where steps are cheap) get a few turns
steps_of() {
    if [ -n "$steps" ]; then echo "$steps"; return; fi
    case $1 in r300|r3k) echo 600 ;; r30k) echo 400 ;; *) echo 300 ;; esac
}

# one line per run still to do: LOG ARGS...
todo() {
    for r in $regimes; do for d in $dims; do for l in $lambdas; do for s in $seeds; do for m in $modes; do
        log=$out/$r-d$d-l$l-s$s-$m.csv
        [ -f "$log" ] && continue
        echo "$log --ratings $out/$r-$s.csv --bins $bins --dim $d --lambda $l --seed $s --symmetry $m --steps $(steps_of $r) --eval-every $every --threads 1"
    done; done; done; done; done
}

if [ "$what" = train ] || [ "$what" = all ]; then
    n=$(todo | wc -l)
    say "$n runs to do, $jobs at a time (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    # each job: train into LOG.tmp, rename when the run ended well
    todo | NG=$ng xargs -P "$jobs" -L 1 sh -c 'log=$0; "$NG" dmf train "$@" --log "$log.tmp" > "${log%.csv}.out" 2>&1 && mv "$log.tmp" "$log" && echo "[$(date -u +%H:%M:%S)] done $log"' 2>&1 ||
        { say "some runs failed: see the *.out files"; exit 1; }
fi

# median [min, max] of the numbers on stdin ("never" sorts after every number)
stats() {
    sed 's/^never$/1e300/' | sort -g | awk '
        function show(x) { return x == 1e300 ? "never" : x }
        { v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
        printf "%s [%s, %s]", show(v[int((NR + 1) / 2)]), show(v[1]), show(v[NR]) }'
}

# vs_none COL FMT EXPR: per seed, EXPR of a (column COL of mode $m's last row) and b (the
# same of none's), printed with FMT; median [min, max] (uses $out $r $d $l $m $seeds)
vs_none() {
    for s in $seeds; do
        a=$(tail -n 1 "$out/$r-d$d-l$l-s$s-$m.csv" | cut -d, -f"$1")
        b=$(tail -n 1 "$out/$r-d$d-l$l-s$s-none.csv" | cut -d, -f"$1")
        awk -v a="$a" -v b="$b" "BEGIN { printf \"$2\\n\", $3 }"
    done | stats
}

# first_below REF LOG: the first logged step whose objective is at most REF, or "never"
first_below() {
    awk -F, -v ref="$1" 'NR > 1 && $3 <= ref { print $1; f = 1; exit } END { if (!f) print "never" }' "$2"
}

if [ "$what" = summary ] || [ "$what" = all ]; then
    md=$out/map.md
    {
        echo "| ratings/bin | d | lambda | mode | steps to L* | speed-up (L*) | steps to psi* | speed-up (psi*) | steps to none's last L | speed-up (to none's last L) | last L vs none's | test ll − none's | symmetry overhead | phases kept/run per seed |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        for r in $regimes; do for d in $dims; do for l in $lambdas; do
            [ -f "$out/$r-d$d-l$l-s${seeds%% *}-none.csv" ] || continue # not run (e.g. LAMBDAS=10 there)
            tab=$out/$r-d$d-l$l.converge
            : > "$tab"
            for s in $seeds; do
                logs=
                for m in $modes; do logs="$logs $out/$r-d$d-l$l-s$s-$m.csv"; done
                # shellcheck disable=SC2086
                "$ng" dmf converge --csv $logs | tail -n +2 | sed "s/^/$s,/" >> "$tab" || exit 1
            done
            for m in $modes; do
                # per seed: steps to L*, to psi* ("never" when the run did not stay there) and
                # the speed-ups none/mode, a "never" counting as the last step + one row
                row=$(awk -F, -v m="-$m.csv" -v none="-none.csv" -v ev="$every" '
                    function ends(f, x) { return substr(f, length(f) - length(x) + 1) == x }
                    function st(x, last) { return x == "" ? last + ev : x }
                    ends($2, m) { so[$1] = $3; sp[$1] = $4; lo[$1] = st($3, $5); lp[$1] = st($4, $5) }
                    ends($2, none) { no[$1] = st($3, $5); np[$1] = st($4, $5) }
                    END { for (k in so) printf "%s %s %.2f %.2f\n", so[k] == "" ? "never" : so[k],
                          sp[k] == "" ? "never" : sp[k], no[k] / lo[k], np[k] / lp[k] }' "$tab")
                so=$(echo "$row" | awk '{ print $1 }' | stats)
                sp=$(echo "$row" | awk '{ print $2 }' | stats)
                xo=$(echo "$row" | awk '{ print $3 }' | stats)
                xp=$(echo "$row" | awk '{ print $4 }' | stats)
                dll=$(vs_none 8 "%.5f" "a - b")
                ovh=$(for s in $seeds; do
                    tail -n 1 "$out/$r-d$d-l$l-s$s-$m.csv" | awk -F, '{ printf "%.2f\n", ($2 > 0 ? 100 * $12 / $2 : 0) }'
                done | stats)
                # steps to reach none's last objective (within the same relative 1e-4), and
                # none's steps to it over the mode's
                rn=$(for s in $seeds; do
                    ref=$(tail -n 1 "$out/$r-d$d-l$l-s$s-none.csv" | awk -F, '{ printf "%.10g", $3 + 1e-4 * ($3 < 0 ? -$3 : $3) }')
                    a=$(first_below "$ref" "$out/$r-d$d-l$l-s$s-$m.csv")
                    b=$(first_below "$ref" "$out/$r-d$d-l$l-s$s-none.csv")
                    echo "$a $(awk -v a="$a" -v b="$b" 'BEGIN { print (a == "never" ? 0 : b / (a > 0 ? a : 1)) }')"
                done)
                sn=$(echo "$rn" | awk '{ print $1 }' | stats)
                xn=$(echo "$rn" | awk '{ printf "%.2f\n", $2 }' | stats)
                # the objective at the last step against none's (relative; negative: lower)
                dl=$(vs_none 3 "%.1e" "(a - b) / (b < 0 ? -b : b)")
                # phases kept and run by the end (--min-gain undoes the ones that gain too little)
                kept=$(for s in $seeds; do
                    tail -n 1 "$out/$r-d$d-l$l-s$s-$m.csv" | awk -F, '{ printf "%s ", (NF >= 15 && $14 > 0) ? ($15 "/" $14) : "-" }'
                done)
                echo "| $r | $d | $l | $m | $so | ${xo}x | $sp | ${xp}x | $sn | ${xn}x | $dl | $dll | $ovh % | ${kept% } |"
            done
        done; done; done
    } > "$md.tmp" && mv "$md.tmp" "$md"
    say "wrote $md"
    cat "$md"
fi
