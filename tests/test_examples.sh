#!/usr/bin/env bash
# test_examples.sh - the programs in examples/ built against an installed copy of the
# library through pkg-config (strict C11 warnings as errors) and run on small settings:
# they train and print decreasing errors, and write their CSV logs.
# Env: NG_BIN (its directory is the build directory), NG_SOURCE_DIR, NG_TEST_TMP, CC,
# NG_SANITIZE=ON in a sanitizer build.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup examples
BUILD=$(cd "$(dirname "$BIN")" && pwd)
SRC=${NG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CC=${CC:-cc}
SAN=()
case "${NG_SANITIZE:-OFF}" in
ON | on | 1 | TRUE | true | YES | yes) SAN=(-fsanitize=address,undefined) ;;
esac
command -v pkg-config >/dev/null 2>&1 || { bad "pkg-config is not installed"; finish; }
if ! cmake --install "$BUILD" --prefix "$T/prefix" >"$T/install.log" 2>&1; then
    bad_show "cmake --install" "$T/install.log"
    finish
fi
PC=$(find "$T/prefix" -name natgrad.pc -path '*/pkgconfig/*' | head -1)
export PKG_CONFIG_PATH=$(dirname "$PC")
LIBDIR=$(dirname "$(dirname "$PC")")
FLAGS=$(pkg-config --cflags --libs natgrad)

# build EXAMPLE: compiles examples/EXAMPLE.c into $T/EXAMPLE
build() {
    # shellcheck disable=SC2086
    if "$CC" -std=c11 -Wall -Wextra -Werror "${SAN[@]}" "$SRC/examples/$1.c" -o "$T/$1" $FLAGS >"$T/$1.cc" 2>&1; then
        ok "$1.c builds against the installed library with pkg-config"
        return 0
    fi
    bad_show "$1.c does not build: $CC $1.c \$(pkg-config --cflags --libs natgrad)" "$T/$1.cc"
    return 1
}

# errors_fall FILE: the "... error X ..." figures of the first and last printed line fall
errors_fall() {
    awk '/error/ { for (i = 1; i < NF; i++) if ($i == "error") { v = $(i + 1); break }
                   if (n++ == 0) first = v; last = v }
         END { exit !(n >= 2 && last + 0 < first + 0) }' "$1"
}

for ex in train_autoencoder train_ratings; do
    [ -f "$SRC/examples/$ex.c" ] || { bad "examples/$ex.c is missing"; continue; }
    build "$ex" || continue
    case $ex in
    train_autoencoder) ARGS=(curves 4) ;; # the generated CURVES-like set, 4 K-FAC steps
    train_ratings) ARGS=(40) ;;
    esac
    if (cd "$T" && OMP_NUM_THREADS=2 LD_LIBRARY_PATH="$LIBDIR" "./$ex" "${ARGS[@]}" >"$ex.out" 2>"$ex.err"); then
        ok "$ex ${ARGS[*]} runs"
        errors_fall "$T/$ex.out" && ok "$ex: the error falls ($(head -1 "$T/$ex.out" | tr -s ' ') ... $(tail -1 "$T/$ex.out" | tr -s ' '))" ||
            bad_show "$ex: the printed error does not fall" "$T/$ex.out"
        [ -s "$T/$ex.csv" ] && ok "$ex wrote $ex.csv" || bad "$ex: no $ex.csv"
    else
        bad_show "$ex ${ARGS[*]} failed" "$T/$ex.err"
    fi
done
finish
