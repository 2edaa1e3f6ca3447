#!/usr/bin/env bash
# test_dwe_query_cli.sh - 'natgrad dwe export', 'dwe query' and 'dwe overlap' on crafted
# MODEL directories: the outputs and their contents, unknown words and times (one line,
# the closest times named, exit 1), usage errors (exit 2), figures when gnuplot is there
# and a clear message when it is not or when it fails, a missing or corrupt MODEL (one
# line, exit 1), and no partial output after any failure. The word2vec files are read
# back with gensim's KeyedVectors.load_word2vec_format when /usr/bin/python3 has gensim
# (Debian: apt-get install python3-gensim); without it that check is skipped.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup dwe_query_cli

# one_line NAME CMD PATTERN: stderr holds the banner and exactly one line, "natgrad CMD: ..."
# holding PATTERN
one_line() {
    local n
    n=$(grep -vc '^natgrad 0' "$T/err")
    if [ "$n" -eq 1 ] && grep -v '^natgrad 0' "$T/err" | grep -q "^natgrad $2: " &&
        grep -qF -- "$3" "$T/err"; then
        ok "$1"
    else
        bad_show "$1: expected one line 'natgrad $2: ...$3...'" "$T/err"
    fi
}
# nothing_left NAME PATH...: none of the paths exists and $T/o holds no temp file
nothing_left() {
    local name=$1 p
    shift
    for p in "$@"; do
        if [ -e "$p" ]; then bad "$name" "$p was written"; return; fi
    done
    if ls "$T/o" | grep -q 'tmp'; then bad "$name" "temp files left: $(ls "$T/o")"; return; fi
    ok "$name"
}

# model DIR T W d TIMES(slice,time,train lines) WORDS(word<TAB>count lines) U-VALUES...
model() {
    local dir=$1 T=$2 W=$3 d=$4 times=$5 words=$6
    shift 6
    mkdir -p "$dir"
    printf 'natgrad-dwe-model 1\nmethod smoothing\ndim %s\nW %s\nT %s\nsigma0 1\ndiffusion 0.001\nsymmetry goldstone\nsteps 100\n' \
        "$d" "$W" "$T" >"$dir/model.txt"
    printf '%b' "$words" >"$dir/vocab.tsv"
    printf 'slice,time,train\n%b' "$times" >"$dir/times.csv"
    npy_f32 "$dir/U.npy" "$T" "$W" "$d" "$@"
    npy_f32 "$dir/V.npy" "$T" "$W" "$d" "$@"
}

# The tiny model of test_dwe_query.c: 1850, 1855 (held out), 1860; five words in d = 2.
M=$T/tiny
model "$M" 3 5 2 '0,1850,1\n1,1855,0\n2,1860,1\n' 'car\t10\nboat\t8\ncart\t5\nsky\t3\nsea\t1\n' \
    1 0 0.8 0.6 0 1 -1 0 0 0 \
    1 1 1 0 0 2 0 -1 3 4 \
    0.6 0.8 0 1 1 0 -2 0 0 0
# A model whose last slice is its first rotated by 90 degrees: every raw overlap is 0,
# every aligned one 1.
R=$T/rot
model "$R" 2 5 2 '0,2000,1\n1,2010,1\n' 'a\t5\nb\t4\nc\t3\nd\t2\ne\t1\n' \
    1 0 0.6 0.8 0 1 -0.8 0.6 1 1 \
    0 1 -0.8 0.6 -1 0 -0.6 -0.8 -1 1
mkdir -p "$T/o"
HAVE_GNUPLOT=0
command -v gnuplot >/dev/null 2>&1 && HAVE_GNUPLOT=1

# --- dwe export ----------------------------------------------------------------------
expect_exit "export" 0 "$BIN" dwe export "$M" --out "$T/o/w2v" --context
has "export summary" "$T/out" "wrote $T/o/w2v: 3 slices x 4 files"
for f in 1850.txt 1850.bin 1855.txt 1855.bin 1860.txt 1860.bin 1860.context.txt 1860.context.bin word2vec.csv; do
    [ -s "$T/o/w2v/$f" ] || { bad "export files" "no $f"; break; }
done && ok "export files"
[ "$(cat "$T/o/w2v/1855.txt")" = "$(printf '5 2\ncar 1 1\nboat 1 0\ncart 0 2\nsky 0 -1\nsea 3 4')" ] &&
    ok "export text layout" || bad_show "export text layout" "$T/o/w2v/1855.txt"
# header 4 bytes, then per word: the word, a space, 8 bytes of floats, a newline
[ "$(wc -c <"$T/o/w2v/1850.bin")" -eq $((4 + 3 + 4 + 4 + 3 + 3 + 5 * (1 + 8 + 1))) ] &&
    [ "$(head -c 16 "$T/o/w2v/1850.bin" | od -An -tx1 | tr -d ' \n')" = "3520320a636172200000803f00000000" ] &&
    ok "export binary layout" || bad "export binary layout" "$(od -An -tx1 "$T/o/w2v/1850.bin" | head -2)"
grep -qx "1,1855,0,u,binary,1855.bin" "$T/o/w2v/word2vec.csv" && ok "export index" ||
    bad_show "export index" "$T/o/w2v/word2vec.csv"
[ ! -e "$T/o/w2v.tmp" ] && ok "export leaves no temp directory" || bad "export leaves no temp directory"
expect_exit "export replaces an export" 0 "$BIN" dwe export "$M" --out "$T/o/w2v" --format text
[ -e "$T/o/w2v/1850.txt" ] && [ ! -e "$T/o/w2v/1850.bin" ] && ok "export --format text" || bad "export --format text"
mkdir -p "$T/o/mine" && echo keep >"$T/o/mine/notes.txt"
expect_exit "export refuses another directory" 1 "$BIN" dwe export "$M" --out "$T/o/mine"
one_line "export refusal message" "dwe export" "$T/o/mine exists and is not empty"
[ "$(ls "$T/o/mine")" = notes.txt ] && ok "the other directory is untouched" || bad "the other directory is untouched"
expect_exit "export without --out" 2 "$BIN" dwe export "$M"

if /usr/bin/python3 -c 'import gensim' >/dev/null 2>&1; then
    cat >"$T/kv.py" <<'EOF'
import sys
from gensim.models import KeyedVectors
d = sys.argv[1]
want = {"car": (1, 1), "boat": (1, 0), "cart": (0, 2), "sky": (0, -1), "sea": (3, 4)}
for name, binary in (("1855.txt", False), ("1855.bin", True)):
    kv = KeyedVectors.load_word2vec_format(d + "/" + name, binary=binary)
    assert kv.index_to_key == ["car", "boat", "cart", "sky", "sea"], kv.index_to_key
    assert kv.vector_size == 2
    for w, v in want.items():
        assert tuple(float(x) for x in kv[w]) == v, (name, w, kv[w])
kv = KeyedVectors.load_word2vec_format(d + "/1850.bin", binary=True)
assert abs(kv.similarity("car", "boat") - 0.8) < 1e-6
print("gensim ok")
EOF
    "$BIN" dwe export "$M" --out "$T/o/w2v" >/dev/null 2>&1
    if /usr/bin/python3 "$T/kv.py" "$T/o/w2v" >"$T/out" 2>&1; then ok "gensim reads the text and binary files"
    else bad_show "gensim reads the text and binary files" "$T/out"; fi
else
    ok "gensim reads the text and binary files # skip: /usr/bin/python3 has no gensim (apt-get install python3-gensim)"
fi

# --- dwe query: the four questions -----------------------------------------------------
expect_exit "neighbours" 0 "$BIN" dwe query "$M" --neighbours car --at 1850 --csv "$T/o/nb.csv"
has "neighbours heading" "$T/out" "nearest neighbours of 'car' at 1850 (slice 1 of 3)"
sed -n 2p "$T/o/nb.csv" | awk -F, '$1 == 1 && $2 == "boat" && $3 - 0.8 < 1e-6 && 0.8 - $3 < 1e-6 { f = 1 } END { exit !f }' && [ "$(sed -n 3p "$T/o/nb.csv")" = "2,cart,0" ] &&
    [ "$(sed -n 5p "$T/o/nb.csv")" = "4,sky,-1" ] && [ "$(head -n 1 "$T/o/nb.csv")" = "rank,word,cos" ] &&
    ok "neighbours csv" || bad_show "neighbours csv" "$T/o/nb.csv"
expect_exit "neighbours default slice" 0 "$BIN" dwe query "$M" --neighbours car --top 1
has "neighbours at the last slice" "$T/out" "at 1860 (slice 3 of 3)"
[ "$(grep -c '^ *[0-9]  ' "$T/out")" -eq 1 ] && grep -q "1  boat  0.800000" "$T/out" && ok "neighbours --top 1" ||
    bad_show "neighbours --top 1" "$T/out"
expect_exit "neighbours at a held-out slice" 0 "$BIN" dwe query "$M" --neighbours car --at 1855
has "held-out slice named" "$T/out" "(slice 2 of 3, held out)"

expect_exit "age" 0 "$BIN" dwe query "$M" --age car --from 1850 --to 1860 --csv "$T/o/age.csv"
has "age heading" "$T/out" "the words of 1850 closest to 'car' of 1860"
has "age itself" "$T/out" "('car' itself at 1850: cos 0.600000, rank 3 of 5)"
[ "$(cut -d, -f1,2 "$T/o/age.csv" | tr '\n' ' ')" = "rank,word 1,boat 2,cart 3,sea 4,sky " ] && ok "age csv" ||
    bad_show "age csv" "$T/o/age.csv"

expect_exit "changed" 0 "$BIN" dwe query "$M" --changed --top 3 --csv "$T/o/ch.csv"
has "changed floor (median)" "$T/out" "the 3 words seen at least 5 times (the median count)"
[ "$(head -n 1 "$T/o/ch.csv")" = "list,rank,word,count,change" ] &&
    [ "$(cut -d, -f1-4 "$T/o/ch.csv" | tail -n +2 | tr '\n' ' ')" = "all,1,cart,5 all,2,sea,1 all,3,car,10 count>=5,1,cart,5 count>=5,2,car,10 count>=5,3,boat,8 " ] &&
    ok "changed csv: with and without the floor" || bad_show "changed csv" "$T/o/ch.csv"
expect_exit "changed --min-count" 0 "$BIN" dwe query "$M" --changed --min-count 9 --from 1850 --to 1855
has "changed explicit floor" "$T/out" "the 1 words seen at least 9 times (--min-count)"

expect_exit "trajectory" 0 "$BIN" dwe query "$M" --trajectory car,boat --csv "$T/o/tr.csv"
[ "$(cut -d, -f1-3 "$T/o/tr.csv" | tr '\n' ' ')" = "slice,time,train 0,1850,1 1,1855,0 2,1860,1 " ] &&
    [ "$(sed -n 3p "$T/o/tr.csv" | cut -c1-16)" = "1,1855,0,0.70710" ] && ok "trajectory csv" ||
    bad_show "trajectory csv" "$T/o/tr.csv"

# --- unknown words and times: exit 1, one line, nothing written -------------------------
expect_exit "unknown word" 1 "$BIN" dwe query "$M" --neighbours plane --csv "$T/o/x.csv"
one_line "unknown word message" "dwe query" "--neighbours: no word 'plane' in the vocabulary of 5 words"
expect_exit "word in another case" 1 "$BIN" dwe query "$M" --age Car
one_line "case suggestion" "dwe query" "did you mean 'car'?"
expect_exit "unknown time" 1 "$BIN" dwe query "$M" --neighbours car --at 1853 --csv "$T/o/x.csv"
one_line "unknown time message" "dwe query" "--at: no slice at 1853; the closest are 1850 and 1855"
expect_exit "time after the last" 1 "$BIN" dwe query "$M" --changed --to 1900
one_line "time after the last message" "dwe query" "--to: no slice at 1900; the closest is 1860 (the last"
expect_exit "unknown trajectory word" 1 "$BIN" dwe query "$M" --trajectory car,plane --csv "$T/o/x.csv" --out "$T/o/x.png"
one_line "unknown trajectory word message" "dwe query" "no word 'plane'"
nothing_left "no output after unknown words and times" "$T/o/x.csv" "$T/o/x.png"

# --- usage errors: exit 2 ---------------------------------------------------------------
expect_exit "two questions" 2 "$BIN" dwe query "$M" --changed --neighbours car
has "two questions message" "$T/err" "expected exactly one of --neighbours, --age, --changed, --trajectory"
expect_exit "no question" 2 "$BIN" dwe query "$M"
expect_exit "no model" 2 "$BIN" dwe query --changed
expect_exit "malformed time" 2 "$BIN" dwe query "$M" --neighbours car --at 18x0
has "malformed time named" "$T/err" "invalid value '18x0' for --at"
expect_exit "trajectory of one word" 2 "$BIN" dwe query "$M" --trajectory car
expect_exit "--out without --trajectory" 2 "$BIN" dwe query "$M" --changed --out "$T/o/x.png"
expect_exit "figure extension" 2 "$BIN" dwe query "$M" --trajectory car,boat --out "$T/o/x.jpg"
expect_exit "--top 0" 2 "$BIN" dwe query "$M" --changed --top 0
expect_exit "query --help" 0 "$BIN" dwe query --help
has "help lists the questions" "$T/out" "--trajectory W1,W2"
expect_exit "dwe lists the new subcommands" 0 "$BIN" dwe --help
has "dwe help names overlap" "$T/out" "overlap"

# --- a missing or corrupt MODEL: exit 1, one line naming the file -----------------------
expect_exit "missing model" 1 "$BIN" dwe query "$T/nosuch" --changed --csv "$T/o/x.csv"
one_line "missing model message" "dwe query" "cannot read the model: $T/nosuch/model.txt"
cp -r "$M" "$T/corrupt"
printf 'slice,time,train\n0,1850,1\n1,1850,0\n2,1860,1\n' >"$T/corrupt/times.csv"
expect_exit "corrupt model" 1 "$BIN" dwe query "$T/corrupt" --changed --csv "$T/o/x.csv"
one_line "corrupt model message" "dwe query" "$T/corrupt/times.csv:3: slice 1: time 1850 after 1850"
cp "$M/times.csv" "$T/corrupt/times.csv"
head -c 150 "$M/U.npy" >"$T/corrupt/U.npy"
expect_exit "truncated U.npy" 1 "$BIN" dwe export "$T/corrupt" --out "$T/o/xe"
one_line "truncated U.npy message" "dwe export" "$T/corrupt/U.npy: truncated .npy data"
expect_exit "corrupt model in overlap" 1 "$BIN" dwe overlap "$M" "$T/corrupt" --out "$T/o/x.png" --csv "$T/o/x.csv"
one_line "corrupt model in overlap message" "dwe overlap" "$T/corrupt/U.npy"
nothing_left "no output from a bad model" "$T/o/x.csv" "$T/o/xe" "$T/o/xe.tmp" "$T/o/x.png"

# --- overlap ----------------------------------------------------------------------------
expect_exit "overlap labels mismatch" 2 "$BIN" dwe overlap "$M" "$R" --labels one --out "$T/o/x.png"
expect_exit "overlap figure extension" 2 "$BIN" dwe overlap "$M" --out "$T/o/x.gif"
expect_exit "overlap unknown time" 1 env PATH=/nonexistent "$BIN" dwe overlap "$M" --from 1851 --out "$T/o/x.png"
one_line "overlap unknown time message" "dwe overlap" "--from ($M): no slice at 1851; the closest are 1850 and 1855"
expect_exit "overlap without gnuplot" 1 env PATH=/nonexistent "$BIN" dwe overlap "$M" "$R" --out "$T/o/ov.png" --csv "$T/o/ov.csv"
one_line "gnuplot missing message" "dwe overlap" "gnuplot not found: install it with: apt-get install gnuplot-nox"
expect_exit "trajectory without gnuplot" 1 env PATH=/nonexistent "$BIN" dwe query "$M" --trajectory car,boat --out "$T/o/tr.png" --csv "$T/o/tr2.csv"
one_line "trajectory gnuplot missing message" "dwe query" "gnuplot not found"
# a gnuplot that fails: its last line is shown, nothing is written
mkdir -p "$T/fake"
printf '#!/bin/sh\necho "line 3: no such terminal" >&2\nexit 1\n' >"$T/fake/gnuplot"
chmod +x "$T/fake/gnuplot"
mkdir -p "$T/td"
expect_exit "failing gnuplot" 1 env PATH="$T/fake:$PATH" TMPDIR="$T/td" "$BIN" dwe overlap "$M" --out "$T/o/ov.png" --csv "$T/o/ov.csv"
one_line "failing gnuplot message" "dwe overlap" "gnuplot drew no figure (status 1): line 3: no such terminal"
nothing_left "no output without a figure" "$T/o/ov.png" "$T/o/ov.csv" "$T/o/tr.png" "$T/o/tr2.csv"
[ -z "$(ls "$T/td")" ] && ok "the temp directory is removed" || bad "the temp directory is removed" "$(ls "$T/td")"
# without --out: the table only, no gnuplot needed, no figure
expect_exit "overlap without --out" 0 env PATH=/nonexistent "$BIN" dwe overlap "$M" "$R" --labels "tiny,rotated"
has "overlap without --out: the table" "$T/out" "raw      mean 0.4400"
grep -q "wrote\|gnuplot" "$T/err" && bad_show "overlap without --out: no figure" "$T/err" || ok "overlap without --out: no figure"

if [ "$HAVE_GNUPLOT" -eq 0 ]; then
    ok "figures # skip: gnuplot is not installed (apt-get install gnuplot-nox)"
    finish
fi
expect_exit "overlap" 0 "$BIN" dwe overlap "$M" "$R" --labels "tiny,rotated" --out "$T/o/ov.png" --csv "$T/o/ov.csv"
[ "$(head -c 8 "$T/o/ov.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] && ok "overlap png" ||
    bad "overlap png" "$(ls -l "$T/o")"
has "overlap raw of the tiny model" "$T/out" "raw      mean 0.4400"
grep -A2 "rotated: 2000 -> 2010, 5 words" "$T/out" | grep -q "raw      mean 0.0000" &&
    grep -A2 "rotated: 2000 -> 2010, 5 words" "$T/out" | grep -q "aligned  mean 1.0000" &&
    ok "a rotation: raw overlap 0, aligned 1" || bad_show "a rotation: raw overlap 0, aligned 1" "$T/out"
[ "$(wc -l <"$T/o/ov.csv")" -eq 11 ] && grep -q '^rotated,c,3,' "$T/o/ov.csv" && [ "$(head -n 1 "$T/o/ov.csv")" = "model,word,count,raw,aligned" ] &&
    ok "overlap csv" || bad_show "overlap csv" "$T/o/ov.csv"
expect_exit "overlap svg" 0 "$BIN" dwe overlap "$R/" --out "$T/o/ov.svg" --bins 4
grep -q "rot (2000 -" "$T/o/ov.svg" && ok "label from the directory" ||
    bad "label from the directory"
expect_exit "trajectory figure" 0 env TMPDIR="$T/td" "$BIN" dwe query "$M" --trajectory car,boat --out "$T/o/tr.png"
[ "$(head -c 4 "$T/o/tr.png" | od -An -tx1 | tr -d ' \n')" = "89504e47" ] && ok "trajectory png" || bad "trajectory png"
nothing_left "no temp files after figures"
[ -z "$(ls "$T/td")" ] && ok "no temp directory after a figure" || bad "no temp directory after a figure"
finish
