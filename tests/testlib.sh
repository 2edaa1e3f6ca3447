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

# expect_exit NAME STATUS CMD...: runs CMD (stdout in $T/out, stderr in $T/err); a pass when
# it exits with STATUS, else a failure showing its stderr. Returns 0 on a pass.
expect_exit() {
    local name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local st=$?
    if [ "$st" -eq "$want" ]; then ok "$name (exit $st)"; return 0; fi
    bad_show "$name: exit $st, expected $want" "$T/err"
    return 1
}

# has NAME FILE PATTERN: a pass when FILE holds PATTERN (a fixed string).
has() {
    if grep -qF -- "$3" "$2"; then ok "$1"; else bad_show "$1: '$3' not in $(basename "$2")" "$2"; fi
}

# npy_f32 FILE D0 D1 D2 VALUES...: a little-endian float32 .npy of shape (D0, D1, D2)
npy_f32() {
    local f=$1 a=$2 b=$3 c=$4
    shift 4
    perl -e '
        my ($a, $b, $c, @v) = @ARGV;
        my $h = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: ($a, $b, $c), }";
        $h .= " " x ((64 - (10 + length($h) + 1) % 64) % 64) . "\n";
        print "\x93NUMPY\x01\x00", pack("v", length($h)), $h, pack("f<*", @v);' "$a" "$b" "$c" "$@" >"$f"
}

# be32 N: N as 4 big-endian bytes. mkidx IMAGES LABELS N SALT: a tiny IDX data set of N
# 8x8 images of 4 classes (the class and the pixels from the index and SALT).
be32() { printf "\\$(printf %03o $(( ($1>>24)&255 )))\\$(printf %03o $(( ($1>>16)&255 )))\\$(printf %03o $(( ($1>>8)&255 )))\\$(printf %03o $(( $1&255 )))"; }
mkidx() { # mkidx IMAGES LABELS N SALT
    local img=$1 lab=$2 n=$3 salt=$4 i j v o out=""
    { printf '\000\000\010\003'; be32 "$n"; be32 8; be32 8
      for ((i = 0; i < n; i++)); do
          out=""
          for ((j = 0; j < 64; j++)); do
              v=$(( ((i * 37 + salt) % 4) * 40 + ((j * (i % 4 + 3) + i) % 7) * 12 ))
              printf -v o '\\%03o' $((v % 256))
              out+=$o
          done
          printf "$out"
      done; } > "$img"
    { printf '\000\000\010\001'; be32 "$n"
      for ((i = 0; i < n; i++)); do printf "\\$(printf %03o $(( (i * 37 + salt) % 4 )))"; done; } > "$lab"
}

# finish: the closing line; exits 0 only when nothing failed.
finish() {
    echo "$NG_PASSED passed, $NG_FAILED failed"
    [ "$NG_FAILED" -eq 0 ]
    exit
}
