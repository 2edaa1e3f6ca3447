# Shared by the experiment scripts (sourced, not run): a timestamped message and a job pool.
# The sourcing script sets $out (its output directory) and $jobs (runs at a time).

say() { echo "[$(date -u +%H:%M:%S)] $*"; }

# pool_wait: return once fewer than $jobs background runs are left (plain 'jobs' first: it
# forgets the finished ones, which 'jobs -p' still lists; into a file: dash forgets its
# jobs in a pipeline or a command substitution)
pool_wait() {
    while :; do
        jobs > /dev/null
        jobs -p > "$out/.jobs"
        [ "$(wc -l < "$out/.jobs")" -lt "$jobs" ] && break
        sleep 5
    done
}
