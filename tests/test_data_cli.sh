#!/bin/bash
# test_data_cli.sh - 'natgrad data info' on good and bad inputs of every kind: a bad input
# exits non-zero (no crash: status < 128) with exactly one stderr line naming the file
# (and the line, for ratings); a good one exits 0 and describes the data.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup data_cli

# expect_fail NAME FILE [SUBSTRING...]: non-zero, < 128, one stderr line with FILE and substrings
expect_fail() {
    local name=$1 file=$2
    shift 2
    "$BIN" data info "$file" >"$T/out" 2>"$T/err"
    local rc=$? lines
    lines=$(wc -l <"$T/err")
    if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then bad "$name" "exit status $rc"; return; fi
    if [ "$lines" -ne 1 ]; then bad "$name" "$lines stderr lines: $(head -c 600 "$T/err")"; return; fi
    if ! grep -qF -- "$file" "$T/err"; then bad "$name" "message does not name $file: $(cat "$T/err")"; return; fi
    for s in "$@"; do
        if ! grep -qF -- "$s" "$T/err"; then bad "$name" "no '$s' in: $(cat "$T/err")"; return; fi
    done
    ok "$name"
}

# expect_ok NAME PATH [SUBSTRING...]: exit 0, stdout contains the substrings
expect_ok() {
    local name=$1 file=$2
    shift 2
    "$BIN" data info "$file" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne 0 ]; then bad "$name" "exit status $rc: $(head -c 600 "$T/err")"; return; fi
    for s in "$@"; do
        if ! grep -qF -- "$s" "$T/out"; then bad "$name" "no '$s' in: $(cat "$T/out")"; return; fi
    done
    ok "$name"
}

# --- IDX: 2 x 3 u8 images; header 00 00 08 03, dims 2 x 1 x 3
idx_hdr='\000\000\010\003\000\000\000\002\000\000\000\001\000\000\000\003'
printf "$idx_hdr"'\000\001\002\003\004\377' >"$T/good-idx3-ubyte"
expect_ok idx_good "$T/good-idx3-ubyte" "dtype u8" "shape 2 x 1 x 3" "max 255"
gzip -c "$T/good-idx3-ubyte" >"$T/good-idx3-ubyte.gz"
expect_ok idx_good_gz "$T/good-idx3-ubyte.gz" "dtype u8" "min 0"
printf '\000\000\015\001\000\000\000\002\077\200\000\000\300\000\000\000' >"$T/f32.idx"
expect_ok idx_good_f32 "$T/f32.idx" "dtype f32" "min -2" "max 1"
expect_fail idx_missing "$T/no-such-idx3-ubyte" "cannot open"
printf '\022\064\010\003\000\000\000\002' >"$T/magic.idx"
expect_fail idx_wrong_magic "$T/magic.idx" "magic"
printf '\000\000\010\002\000\000\000\002\000\000\000\000' >"$T/zerodim.idx"
expect_fail idx_wrong_dims "$T/zerodim.idx" "dimension 1 is 0"
printf '\000\000\010\000' >"$T/nodims.idx"
expect_fail idx_no_dims "$T/nodims.idx" "0 dimensions"
printf "$idx_hdr"'\000\001\002' >"$T/trunc-idx3-ubyte"
expect_fail idx_truncated "$T/trunc-idx3-ubyte" "truncated" "3 bytes" "need 6"
printf "$idx_hdr"'\000\001\002\003\004\005\006' >"$T/long-idx3-ubyte"
expect_fail idx_too_long "$T/long-idx3-ubyte" "too long"
gzip -c "$T/trunc-idx3-ubyte" >"$T/trunc-idx3-ubyte.gz"
expect_fail idx_truncated_gz "$T/trunc-idx3-ubyte.gz" "truncated"

# --- ratings
printf '1\t10\t4\t881250949\n2\t10\t3\t881250950\n1\t20\t5\t881250951\n' >"$T/u.data"
expect_ok ratings_tab "$T/u.data" "3 ratings by 2 users on 2 items" "mean 4"
printf '1::10::4::881250949\n2::10::3::881250950\n\n' >"$T/ratings.dat"
expect_ok ratings_dat "$T/ratings.dat" "2 ratings by 2 users on 1 items"
printf 'userId,movieId,rating,timestamp\n1,10,4.5,881250949\n' >"$T/ratings.csv"
expect_ok ratings_csv "$T/ratings.csv" "1 ratings" "max 4.5"
gzip -c "$T/ratings.csv" >"$T/ratings.csv.gz"
expect_ok ratings_csv_gz "$T/ratings.csv.gz" "1 ratings"
printf 'userId,movieId,rating,timestamp\n1,10,4.5,881250949\n1,10,4.5\n' >"$T/few.csv"
expect_fail ratings_too_few_fields "$T/few.csv" "$T/few.csv:3:" "too few fields"
printf '1::10::4::881250949\n1::10::4::881250949::7\n' >"$T/many.dat"
expect_fail ratings_too_many_fields "$T/many.dat" "$T/many.dat:2:" "too many fields"
printf '1\t10\t4\t881250949\n1\t10\tfour\t881250949\n' >"$T/nonnum.data"
expect_fail ratings_non_numeric "$T/nonnum.data" "$T/nonnum.data:2:" "'four'"
printf '1;10;4;881250949\n' >"$T/semi.csv"
expect_fail ratings_unknown_separator "$T/semi.csv" "$T/semi.csv:1:" "u.data"
: >"$T/empty.csv"
expect_fail ratings_empty "$T/empty.csv" "$T/empty.csv:1:"

# --- .npy: v1.0, header padded to 128 bytes
npy() { # npy FILE DICT DATA(printf escapes)
    { printf '\223NUMPY\001\000\166\000'; printf '%-117s\n' "$2"; printf "$3"; } >"$1"
}
npy "$T/good.npy" "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" '\000\000\200\077\000\000\000\300'
expect_ok npy_good "$T/good.npy" "dtype f32" "shape 2" "min -2" "max 1" "mean -0.5"
npy "$T/good2.npy" "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }" '\001\002\003\004'
expect_ok npy_good_u1 "$T/good2.npy" "dtype u8" "shape 2 x 2" "mean 2.5"
npy "$T/c8.npy" "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }" '\000\000\000\000\000\000\000\000'
expect_fail npy_unsupported_dtype "$T/c8.npy" "unsupported" "<c8"
npy "$T/fortran.npy" "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }" '\000\000\200\077\000\000\000\300'
expect_fail npy_fortran_order "$T/fortran.npy" "Fortran"
npy "$T/trunc.npy" "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" '\000\000\200\077\000\000\000\300'
expect_fail npy_truncated "$T/trunc.npy" "truncated"
npy "$T/be.npy" "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }" '\077\200\000\000'
expect_fail npy_big_endian "$T/be.npy" "big-endian"
expect_fail npy_missing "$T/nothing.npy" "cannot open"

# --- IDX dataset directory
D="$T/ds"
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
"$BIN" data --help >"$T/out" 2>&1 && grep -q "info" "$T/out" && grep -q "curves" "$T/out" \
    && ok data_help || bad data_help "natgrad data --help"
"$BIN" data info --help >"$T/out" 2>&1 && grep -q -- "--format" "$T/out" && ok info_help || bad info_help "no --format"
"$BIN" data info --bogus x >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q -- "--bogus" "$T/err" && ok info_bad_option || bad info_bad_option "status $rc"
"$BIN" data info --format xml x >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "xml" "$T/err" && ok info_bad_format || bad info_bad_format "status $rc"
"$BIN" data info >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok info_no_path || bad info_no_path "status $rc"
"$BIN" data frobnicate >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok data_unknown_sub || bad data_unknown_sub "status $rc"
# options anywhere among the paths, in both forms; every path is read
cp "$T/u.data" "$T/v.data"
"$BIN" data info "$T/u.data" --format=ratings "$T/v.data" --verbose >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && [ "$(grep -c "ratings, " "$T/out")" -eq 2 ] && grep -q "| format ratings | verbose on | 2 path(s)" "$T/err" \
    && ok info_options_among_paths || bad info_options_among_paths "status $rc: $(head -c 300 "$T/err")"
"$BIN" data info --help | grep -q -- "--format F .*\[auto\]\|ratings \[auto\]" && ok info_help_default || bad info_help_default
"$BIN" data info --format >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "option '--format' needs a value" "$T/err" && ok info_missing_value || bad info_missing_value "status $rc"
# --format overrides detection: a ratings file read as IDX fails, with the file named
"$BIN" data info --format idx "$T/u.data" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "magic" "$T/err" && ok info_format_override || bad info_format_override "status $rc"

finish
