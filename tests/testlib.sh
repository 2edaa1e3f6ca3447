# testlib.sh - what every tests/test_*.sh shares: the binary under test, a scratch
# directory, "ok"/"not ok" lines with their counts, and the closing "N passed, N failed"
# line with a non-zero exit status when anything failed. A test starts with
#
#     . "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
#     test_setup NAME
#
# and ends with `finish`. It is found next to the script, so a test always uses the
# library of its own checkout (NG_SOURCE_DIR may name another tree).
# Env (set by CTest): NG_BIN, the natgrad binary (required); NG_TEST_TMP, where the
# scratch directory goes (default /tmp).
set -u

NG_PASSED=0
NG_FAILED=0

# test_setup NAME: BIN = $NG_BIN; T = a fresh scratch directory, removed when the test exits.
test_setup() {
    BIN=${NG_BIN:?NG_BIN must name the natgrad binary}
    T=${NG_TEST_TMP:-/tmp}/$1.$$
    rm -rf "$T"
    mkdir -p "$T" || exit 1
    trap 'rm -rf "$T"' EXIT
}

# ok NAME: counts a pass.
ok() {
    NG_PASSED=$((NG_PASSED + 1))
    echo "ok - $1"
}

# bad NAME [WHY]: counts a failure; WHY (a short reason) follows the name.
bad() {
    NG_FAILED=$((NG_FAILED + 1))
    echo "not ok - $1${2:+: $2}"
}

# bad_show NAME FILE: counts a failure and shows the first lines of FILE (a captured stderr).
bad_show() {
    NG_FAILED=$((NG_FAILED + 1))
    echo "not ok - $1"
    if [ -s "${2:-}" ]; then head -n 15 "$2" | sed 's/^/    | /'; fi
}

# check NAME CMD...: a pass when CMD succeeds, a failure otherwise.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# finish: the closing line; exits 0 only when nothing failed.
finish() {
    echo "$NG_PASSED passed, $NG_FAILED failed"
    [ "$NG_FAILED" -eq 0 ]
    exit
}
