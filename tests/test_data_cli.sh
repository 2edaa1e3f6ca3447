#!/bin/bash
# test_data_cli.sh - 'natgrad data info' on good and bad inputs of every kind: a bad input
# exits non-zero (no crash: status < 128) with exactly one stderr line naming the file
# (and the line, for ratings); a good one exits 0 and describes the data.
set -u
BIN=${NG_BIN:?NG_BIN must name the natgrad binary}
TMP=${NG_TEST_TMP:-/tmp}/data_cli.$$
rm -rf "$TMP"
mkdir -p "$TMP"
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1: $2"; }

# expect_fail NAME FILE [SUBSTRING...]: non-zero, < 128, one stderr line with FILE and substrings
expect_fail() {
    local name=$1 file=$2
    shift 2
    "$BIN" data info "$file" >"$TMP/out" 2>"$TMP/err"
    local rc=$? lines
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then bad "$name" "exit status $rc"; return; fi
    if [ "$lines" -ne 1 ]; then bad "$name" "$lines stderr lines: $(head -c 600 "$TMP/err")"; return; fi
    if ! grep -qF -- "$file" "$TMP/err"; then bad "$name" "message does not name $file: $(cat "$TMP/err")"; return; fi
    for s in "$@"; do
        if ! grep -qF -- "$s" "$TMP/err"; then bad "$name" "no '$s' in: $(cat "$TMP/err")"; return; fi
    done
    ok "$name"
}

# expect_ok NAME PATH [SUBSTRING...]: exit 0, stdout contains the substrings
expect_ok() {
    local name=$1 file=$2
    shift 2
    "$BIN" data info "$file" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ $rc -ne 0 ]; then bad "$name" "exit status $rc: $(head -c 600 "$TMP/err")"; return; fi
    for s in "$@"; do
        if ! grep -qF -- "$s" "$TMP/out"; then bad "$name" "no '$s' in: $(cat "$TMP/out")"; return; fi
    done
    ok "$name"
}

# --- IDX: 2 x 3 u8 images; header 00 00 08 03, dims 2 x 1 x 3
idx_hdr='\000\000\010\003\000\000\000\002\000\000\000\001\000\000\000\003'
printf "$idx_hdr"'\000\001\002\003\004\377' >"$TMP/good-idx3-ubyte"
expect_ok idx_good "$TMP/good-idx3-ubyte" "dtype u8" "shape 2 x 1 x 3" "max 255"
gzip -c "$TMP/good-idx3-ubyte" >"$TMP/good-idx3-ubyte.gz"
expect_ok idx_good_gz "$TMP/good-idx3-ubyte.gz" "dtype u8" "min 0"
printf '\000\000\015\001\000\000\000\002\077\200\000\000\300\000\000\000' >"$TMP/f32.idx"
expect_ok idx_good_f32 "$TMP/f32.idx" "dtype f32" "min -2" "max 1"
expect_fail idx_missing "$TMP/no-such-idx3-ubyte" "cannot open"
printf '\022\064\010\003\000\000\000\002' >"$TMP/magic.idx"
expect_fail idx_wrong_magic "$TMP/magic.idx" "magic"
printf '\000\000\010\002\000\000\000\002\000\000\000\000' >"$TMP/zerodim.idx"
expect_fail idx_wrong_dims "$TMP/zerodim.idx" "dimension 1 is 0"
printf '\000\000\010\000' >"$TMP/nodims.idx"
expect_fail idx_no_dims "$TMP/nodims.idx" "0 dimensions"
printf "$idx_hdr"'\000\001\002' >"$TMP/trunc-idx3-ubyte"
expect_fail idx_truncated "$TMP/trunc-idx3-ubyte" "truncated" "3 bytes" "need 6"
printf "$idx_hdr"'\000\001\002\003\004\005\006' >"$TMP/long-idx3-ubyte"
expect_fail idx_too_long "$TMP/long-idx3-ubyte" "too long"
gzip -c "$TMP/trunc-idx3-ubyte" >"$TMP/trunc-idx3-ubyte.gz"
expect_fail idx_truncated_gz "$TMP/trunc-idx3-ubyte.gz" "truncated"

# --- ratings
printf '1\t10\t4\t881250949\n2\t10\t3\t881250950\n1\t20\t5\t881250951\n' >"$TMP/u.data"
expect_ok ratings_tab "$TMP/u.data" "3 ratings by 2 users on 2 items" "mean 4"
printf '1::10::4::881250949\n2::10::3::881250950\n\n' >"$TMP/ratings.dat"
expect_ok ratings_dat "$TMP/ratings.dat" "2 ratings by 2 users on 1 items"
printf 'userId,movieId,rating,timestamp\n1,10,4.5,881250949\n' >"$TMP/ratings.csv"
expect_ok ratings_csv "$TMP/ratings.csv" "1 ratings" "max 4.5"
gzip -c "$TMP/ratings.csv" >"$TMP/ratings.csv.gz"
expect_ok ratings_csv_gz "$TMP/ratings.csv.gz" "1 ratings"
printf 'userId,movieId,rating,timestamp\n1,10,4.5,881250949\n1,10,4.5\n' >"$TMP/few.csv"
expect_fail ratings_too_few_fields "$TMP/few.csv" "$TMP/few.csv:3:" "too few fields"
printf '1::10::4::881250949\n1::10::4::881250949::7\n' >"$TMP/many.dat"
expect_fail ratings_too_many_fields "$TMP/many.dat" "$TMP/many.dat:2:" "too many fields"
printf '1\t10\t4\t881250949\n1\t10\tfour\t881250949\n' >"$TMP/nonnum.data"
expect_fail ratings_non_numeric "$TMP/nonnum.data" "$TMP/nonnum.data:2:" "'four'"
printf '1;10;4;881250949\n' >"$TMP/semi.csv"
expect_fail ratings_unknown_separator "$TMP/semi.csv" "$TMP/semi.csv:1:" "u.data"
: >"$TMP/empty.csv"
expect_fail ratings_empty "$TMP/empty.csv" "$TMP/empty.csv:1:"

# --- .npy: v1.0, header padded to 128 bytes
npy() { # npy FILE DICT DATA(printf escapes)
    { printf '\223NUMPY\001\000\166\000'; printf '%-117s\n' "$2"; printf "$3"; } >"$1"
}
npy "$TMP/good.npy" "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" '\000\000\200\077\000\000\000\300'
expect_ok npy_good "$TMP/good.npy" "dtype f32" "shape 2" "min -2" "max 1" "mean -0.5"
npy "$TMP/good2.npy" "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }" '\001\002\003\004'
expect_ok npy_good_u1 "$TMP/good2.npy" "dtype u8" "shape 2 x 2" "mean 2.5"
npy "$TMP/c8.npy" "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }" '\000\000\000\000\000\000\000\000'
expect_fail npy_unsupported_dtype "$TMP/c8.npy" "unsupported" "<c8"
npy "$TMP/fortran.npy" "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }" '\000\000\200\077\000\000\000\300'
expect_fail npy_fortran_order "$TMP/fortran.npy" "Fortran"
npy "$TMP/trunc.npy" "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" '\000\000\200\077\000\000\000\300'
expect_fail npy_truncated "$TMP/trunc.npy" "truncated"
npy "$TMP/be.npy" "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }" '\077\200\000\000'
expect_fail npy_big_endian "$TMP/be.npy" "big-endian"
expect_fail npy_missing "$TMP/nothing.npy" "cannot open"

# --- IDX dataset directory
D="$TMP/ds"
mkdir -p "$D"
printf '\000\000\010\003\000\000\000\003\000\000\000\001\000\000\000\002\000\377\063\063\000\000' | gzip -c >"$D/train-images-idx3-ubyte.gz"
printf '\000\000\010\001\000\000\000\003\001\002\003' >"$D/train-labels-idx1-ubyte"
printf '\000\000\010\003\000\000\000\001\000\000\000\001\000\000\000\002\377\377' >"$D/t10k-images-idx3-ubyte"
expect_ok dataset_dir "$D" "2 features per case" "train: 3 cases" "min 0  max 1" "train labels: 3, values 1 .. 3" \
    "test labels: none"
printf '\000\000\010\001\000\000\000\002\001\002' >"$D/t10k-labels-idx1-ubyte"
expect_fail dataset_label_count "$D" "$D/t10k-labels-idx1-ubyte" "2 labels"
rm "$D/t10k-labels-idx1-ubyte" "$D/t10k-images-idx3-ubyte"
expect_fail dataset_missing_images "$D" "t10k-images-idx3-ubyte"

# --- usage
"$BIN" data --help >"$TMP/out" 2>&1 && grep -q "info" "$TMP/out" && grep -q "curves" "$TMP/out" \
    && ok data_help || bad data_help "natgrad data --help"
"$BIN" data info --help >"$TMP/out" 2>&1 && grep -q -- "--format" "$TMP/out" && ok info_help || bad info_help "no --format"
"$BIN" data info --bogus x >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 2 ] && grep -q -- "--bogus" "$TMP/err" && ok info_bad_option || bad info_bad_option "status $rc"
"$BIN" data info --format xml x >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 2 ] && grep -q "xml" "$TMP/err" && ok info_bad_format || bad info_bad_format "status $rc"
"$BIN" data info >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok info_no_path || bad info_no_path "status $rc"
"$BIN" data frobnicate >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok data_unknown_sub || bad data_unknown_sub "status $rc"
# --format overrides detection: a ratings file read as IDX fails, with the file named
"$BIN" data info --format idx "$TMP/u.data" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && grep -q "magic" "$TMP/err" && ok info_format_override || bad info_format_override "status $rc"

rm -rf "$TMP"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
