#!/usr/bin/env bash
# run_fuzz.sh - a bounded libFuzzer run of every harness (docs/reliability.md).
#   fuzz/run_fuzz.sh BUILD_DIR [SECONDS [JOBS [HARNESS...]]]
# BUILD_DIR holds the harnesses (cmake -DNG_FUZZ=ON ... --target fuzz) in BUILD_DIR/fuzz.
# Each harness starts from its seeds (fuzz/corpus/NAME), the saved regressions
# (fuzz/regressions/NAME, replayed first) and what earlier runs on this machine found
# (BUILD_DIR/fuzz-corpus/NAME, which also receives the new inputs), runs SECONDS
# (default 30), JOBS at a time. A crash, leak, sanitizer report, broken promise or timeout
# fails the run and libFuzzer leaves the input in fuzz/regressions/NAME/ (crash-*, leak-*,
# timeout-*, oom-*), where tests/test_fuzz_regressions replays it. Prints a line per
# harness: executions, coverage (cov: edges, ft: features), corpus size, result.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${1:?usage: fuzz/run_fuzz.sh BUILD_DIR [SECONDS [JOBS [HARNESS...]]]}
SECONDS_EACH=${2:-30}
JOBS=${3:-$(nproc 2>/dev/null || echo 2)}
shift $(( $# < 3 ? $# : 3 ))
if [ $# -gt 0 ]; then
    NAMES=("$@")
else
    NAMES=()
    for f in fuzz/fuzz_*.c; do n=${f#fuzz/fuzz_}; NAMES+=("${n%.c}"); done
fi
LOGS=$B/fuzz-logs
mkdir -p "$LOGS"

run_one() { # run_one NAME : one bounded run; its exit status is libFuzzer's
    local h=$1 exe=$B/fuzz/fuzz_$1
    [ -x "$exe" ] || { echo "run_fuzz.sh: $exe is missing (build the 'fuzz' target)" > "$LOGS/$h.log"; return 1; }
    mkdir -p "$B/fuzz-corpus/$h" "fuzz/regressions/$h"
    local dict=()
    [ -f "fuzz/dict/$h.dict" ] && dict=(-dict="fuzz/dict/$h.dict")
    # -timeout: one input over 10 s is a hang; -malloc_limit_mb: one allocation over
    # 256 MB (a hostile header believed); the harnesses bound the total themselves.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    timeout $((SECONDS_EACH + 120)) "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=256 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="fuzz/regressions/$h/" "${dict[@]}" \
        "$B/fuzz-corpus/$h" "fuzz/corpus/$h" "fuzz/regressions/$h" > "$LOGS/$h.log" 2>&1
}

summary() { # summary NAME STATUS : one line from the log
    local h=$1 rc=$2 log=$LOGS/$1.log execs cov ft corp
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    printf '%-14s %10s execs  cov %5s  ft %6s  corpus %5s  %s\n' "$h" "${execs:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc, log $log)")"
}

echo "fuzzing: ${#NAMES[@]} harnesses, ${SECONDS_EACH} s each, $JOBS at a time" >&2
declare -A PID
FAILED=0
running=0
for h in "${NAMES[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    run_one "$h" &
    PID[$h]=$!
    running=$((running + 1))
done
for h in "${NAMES[@]}"; do
    wait "${PID[$h]}"
    rc=$?
    summary "$h" "$rc"
    if [ "$rc" -ne 0 ]; then
        FAILED=$((FAILED + 1))
        grep -E 'ERROR|ngfuzz:|SUMMARY|Test unit written' "$LOGS/$h.log" | head -5 | sed 's/^/    /'
    fi
done
echo "fuzz: ${#NAMES[@]} harnesses, $FAILED failed"
[ "$FAILED" -eq 0 ]
