#!/usr/bin/env bash
# test_plot.sh - 'natgrad plot': png and svg output, column errors, usage errors, the
# message when gnuplot is missing. Env: NG_BIN, NG_TEST_TMP.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup plot

# Two logs as ng_csv writes them: an empty 'gap' field is an unknown value.
{
    echo "step,method,loss,gap"
    for i in $(seq 1 30); do
        echo "$i,kfac,$(awk "BEGIN{print 1/($i*$i)}"),$([ $((i % 3)) -eq 0 ] && echo "" || echo 0.$i)"
        echo "$i,sgd,$(awk "BEGIN{print 1/$i}"),"
    done
} >"$T/a.csv"
{
    echo "step,method,loss,gap"
    for i in $(seq 1 20); do echo "$i,adam,$(awk "BEGIN{print 2/$i}"),0.5"; done
} >"$T/b.csv"

# --- usage errors: exit 2, nothing written ------------------------------------------
expect_exit "--help exits 0" 0 "$BIN" plot --help
has "--help goes to stdout and lists --by" "$T/out" "--by COL"
has "--help gives defaults" "$T/out" "[step]"
expect_exit "unknown option" 2 "$BIN" plot "$T/a.csv" --y loss --out "$T/x.png" --no-such-option
has "unknown option is named" "$T/err" "no-such-option"
expect_exit "missing --out" 2 "$BIN" plot "$T/a.csv" --y loss
has "missing --out is named" "$T/err" "--out"
expect_exit "missing --y" 2 "$BIN" plot "$T/a.csv" --out "$T/x.png"
expect_exit "no log file" 2 "$BIN" plot --y loss --out "$T/x.png"
expect_exit "bad extension" 2 "$BIN" plot "$T/a.csv" --y loss --out "$T/x.pdf"
expect_exit "malformed --width" 2 "$BIN" plot "$T/a.csv" --y loss --out "$T/x.png" --width 12x
has "malformed --width is named" "$T/err" "--width"
[ ! -e "$T/x.png" ] && ok "no figure after usage errors" || bad "a figure was written after a usage error"

# --- gnuplot missing: exit 1, one line with the install hint ------------------------
expect_exit "gnuplot missing" 1 env PATH=/nonexistent "$BIN" plot "$T/a.csv" --y loss --out "$T/x.png"
has "install hint" "$T/err" "gnuplot not found: install it with: apt-get install gnuplot-nox"
[ ! -e "$T/x.png" ] && ok "no figure without gnuplot" || bad "a figure was written without gnuplot"

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "SKIP: gnuplot is not installed; the drawing checks did not run (apt-get install gnuplot-nox)"
    finish
fi

# --- missing columns: exit 1, the column named and the available ones listed ---------
expect_exit "missing --y column" 1 "$BIN" plot "$T/a.csv" --y nosuch --out "$T/x.png"
has "missing column named" "$T/err" "no column 'nosuch'"
has "available columns listed" "$T/err" "available: step,method,loss,gap"
expect_exit "missing --x column" 1 "$BIN" plot "$T/a.csv" --x time_s --y loss --out "$T/x.png"
has "missing --x named" "$T/err" "'time_s'"
expect_exit "missing --by column" 1 "$BIN" plot "$T/a.csv" --y loss --by seed --out "$T/x.png"
expect_exit "missing log file" 1 "$BIN" plot "$T/nope.csv" --y loss --out "$T/x.png"
has "missing log named" "$T/err" "nope.csv"
printf 'step,loss\n1,0.5\n2,abc\n' >"$T/badnum.csv"
expect_exit "non-number" 1 "$BIN" plot "$T/badnum.csv" --y loss --out "$T/x.png"
has "file:line of a non-number" "$T/err" "badnum.csv:3:"
printf 'step,loss\n1,0.5\n2,0.1,7\n3,0.2\n' >"$T/badrow.csv"
expect_exit "ragged row" 1 "$BIN" plot "$T/badrow.csv" --y loss --out "$T/x.png"
has "file:line of a ragged row" "$T/err" "badrow.csv:3:"
[ ! -e "$T/x.png" ] && ok "no figure after data errors" || bad "a figure was written after a data error"

# --- drawing -----------------------------------------------------------------------
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

expect_exit "png --by method --logy" 0 "$BIN" plot "$T/a.csv" --x step --y loss --by method --logy \
    --title "K-FAC vs SGD's" --out "$T/fig.png"
if [ -s "$T/fig.png" ] && is_png "$T/fig.png"; then ok "png written with PNG magic"; else bad "png missing or not a PNG"; fi
has "banner printed" "$T/err" "natgrad $("$BIN" version | awk '{print $2}') | plot |"
has "curve count reported" "$T/err" "(2 curves, 60 points)"
ls "$T"/fig.png.tmp.* >/dev/null 2>&1 && bad "temp figure left behind" || ok "no temp figure left"

expect_exit "svg two files two columns" 0 "$BIN" plot "$T/a.csv" "$T/b.csv" --y loss,gap --out "$T/fig.svg"
if [ -s "$T/fig.svg" ] && grep -q "<svg" "$T/fig.svg"; then ok "svg written"; else bad "svg missing or not SVG"; fi
has "svg labels curves by file name" "$T/fig.svg" "b.csv gap"
# a.csv gap: 20 known values (every third is empty), loss 60, b.csv 20 + 20
has "empty values skipped" "$T/err" "(4 curves, 120 points)"

# an existing figure is replaced only by a complete one
echo "old" >"$T/keep.png"
expect_exit "failing plot keeps the old figure" 1 "$BIN" plot "$T/a.csv" --y nosuch --out "$T/keep.png"
[ "$(cat "$T/keep.png")" = "old" ] && ok "old figure untouched" || bad "old figure changed"

# all values unusable: a clear error, no figure
printf 'step,loss\n1,\n2,-1\n' >"$T/empty.csv"
expect_exit "no positive values with --logy" 1 "$BIN" plot "$T/empty.csv" --y loss --logy --out "$T/e.png"
has "no data message" "$T/err" "no finite positive data points"

finish
