#!/bin/sh
# The gauge-phase variants of docs/goldstone.md ("Gauge-phase variants"): the toy's 20
# seeds with --symmetry goldstone under each solver, rotation, reset and step-size setting.
#
#   scripts/goldstone_toy_variants.sh [OUT.md]
#
# Run from the repository root after a Release build (build/natgrad); prints one table row
# per variant (and writes them to OUT.md, default toy-variants.md, atomically).
# Environment: NATGRAD (default build/natgrad).
set -eu
ng=${NATGRAD:-build/natgrad}
out=${1:-toy-variants.md}
[ -x "$ng" ] || { echo "$0: no $ng: build first" >&2; exit 1; }
base="repro goldstone-toy --seeds 1..20 --steps 30000 --threads 1 --symmetry goldstone"
q="--gauge-solver quadratic"
{
    echo "| variant | options | gap<1 | median step | stalled | diverged | walls |"
    echo "|---|---|---|---|---|---|---|"
    while IFS='|' read -r name opts; do
        # shellcheck disable=SC2086
        row=$("$ng" $base $opts 2>/dev/null | awk '$1 == "goldstone" { print $2 " | " $3 " | " $6 " | " $7 " | " $8 }')
        echo "| $name | \`$opts\` | $row |"
    done <<VARIANTS
paper (warm, first-order, rho-scale 1)|--paper
quadratic, warm, Cayley|$q --rho-scale 1 --gauge-reset no --rotation cayley
the authors' code (rho'/4, clip 0.5/d, 10% applied, warm)|$q --rho-scale 0.25 --gauge-clip 0.5 --apply-fraction 0.1 --gauge-reset no --rotation first-order
quadratic, reset, first-order|$q --rho-scale 1 --gauge-reset yes --rotation first-order
quadratic, reset, exp|$q --rho-scale 1 --gauge-reset yes --rotation exp
quadratic, reset, Cayley|$q --rho-scale 1 --gauge-reset yes --rotation cayley
quadratic, reset, Cayley, rho-scale 4|$q --rho-scale 4 --gauge-reset yes --rotation cayley
retract, rho-scale 1|--gauge-solver retract --rho-scale 1
retract, rho-scale 2|--gauge-solver retract --rho-scale 2
retract, rho-scale 4 (default)|--gauge-solver retract --rho-scale 4
retract, rho-scale 8|--gauge-solver retract --rho-scale 8
retract, rho-scale 16|--gauge-solver retract --rho-scale 16
VARIANTS
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
