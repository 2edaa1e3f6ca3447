#!/usr/bin/env bash
# test_install.sh - 'cmake --install' into a fresh prefix, then build a small C program
# against the installed copy through pkg-config: shared (run with LD_LIBRARY_PATH) and
# static; the installed natgrad runs; the shared library exports only ng_ symbols.
# Env: NG_BIN (its directory is the build directory), NG_TEST_TMP, CC (CTest passes the
# build's compiler), NG_SANITIZE=ON in a sanitizer build.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup install
BUILD=$(cd "$(dirname "$BIN")" && pwd)
CC=${CC:-cc}
PREFIX=$T/prefix

SAN=()
case "${NG_SANITIZE:-OFF}" in
ON | on | 1 | TRUE | true | YES | yes) SAN=(-fsanitize=address,undefined) ;;
esac

if ! command -v pkg-config >/dev/null 2>&1; then
    bad "pkg-config is not installed (apt-get install pkg-config)"
    finish
fi

# --- install -------------------------------------------------------------------------
if cmake --install "$BUILD" --prefix "$PREFIX" >"$T/install.log" 2>&1; then
    ok "cmake --install $BUILD --prefix $PREFIX"
else
    bad_show "cmake --install failed" "$T/install.log"
    finish
fi
PC=$(find "$PREFIX" -name natgrad.pc -path '*/pkgconfig/*' | head -1)
if [ -z "$PC" ]; then
    bad_show "no natgrad.pc installed" "$T/install.log"
    finish
fi
PCDIR=$(dirname "$PC")
LIBDIR=$(dirname "$PCDIR") # lib, lib64 or lib/<multiarch>
ok "natgrad.pc installed in ${PCDIR#"$PREFIX"/}"
for f in include/natgrad.h bin/natgrad; do
    [ -f "$PREFIX/$f" ] && ok "installed $f" || bad "missing $f"
done
for f in libnatgrad.a libnatgrad.so; do
    [ -e "$LIBDIR/$f" ] && ok "installed ${LIBDIR#"$PREFIX"/}/$f" || bad "missing $LIBDIR/$f"
done
ls "$LIBDIR"/libnatgrad.so.[0-9]* >/dev/null 2>&1 && ok "versioned shared library (soname)" ||
    bad "no versioned libnatgrad.so.N"

export PKG_CONFIG_PATH=$PCDIR
# The .pc must describe where it was installed, not the configure-time default prefix.
PCPREFIX=$(pkg-config --variable=prefix natgrad)
PKGCONF=(pkg-config)
if [ "$PCPREFIX" = "$PREFIX" ] || [ "$(cd "$PCPREFIX" 2>/dev/null && pwd)" = "$(cd "$PREFIX" && pwd)" ]; then
    ok "natgrad.pc prefix is the install prefix"
else
    bad "natgrad.pc says prefix=$PCPREFIX but it was installed under $PREFIX: the .pc is not relocatable (make it prefix=\${pcfiledir}/<relative path> or generate it at install time)"
    PKGCONF=(pkg-config --define-prefix) # go on, to check the rest
fi
VERSION=$("$BIN" version | awk '{print $2}')
PCVERSION=$(pkg-config --modversion natgrad)
[ "$PCVERSION" = "$VERSION" ] && ok "pkg-config --modversion = $VERSION" ||
    bad "pkg-config --modversion '$PCVERSION', natgrad version '$VERSION'"

# --- a program against the installed copy ---------------------------------------------
cat >"$T/prog.c" <<'EOF'
#include <natgrad.h>
#include <stdio.h>
int main(void)
{
    printf("natgrad %s %s\n", ng_version(), ng_status_name(NG_EMISMATCH));
    return 0;
}
EOF
WANT="natgrad $VERSION mismatch"

# shared
CFLAGS_LIBS=$("${PKGCONF[@]}" --cflags --libs natgrad)
# shellcheck disable=SC2086
if "$CC" "${SAN[@]}" "$T/prog.c" -o "$T/prog_shared" $CFLAGS_LIBS >"$T/cc.log" 2>&1; then
    ok "compile + link shared: $CC prog.c \$(pkg-config --cflags --libs natgrad)"
    OUT=$(LD_LIBRARY_PATH="$LIBDIR" "$T/prog_shared" 2>"$T/run.log")
    [ "$OUT" = "$WANT" ] && ok "shared program runs: $OUT" || bad_show "shared program printed '$OUT'" "$T/run.log"
    if command -v ldd >/dev/null 2>&1; then
        LD_LIBRARY_PATH="$LIBDIR" ldd "$T/prog_shared" | grep -q "$LIBDIR/libnatgrad.so" &&
            ok "shared program uses the installed libnatgrad.so" ||
            bad "shared program does not load $LIBDIR/libnatgrad.so"
    fi
else
    bad_show "compile + link shared failed: $CC prog.c $CFLAGS_LIBS" "$T/cc.log"
fi

# static: --static adds the private dependencies (OpenBLAS, LAPACKE, zlib, OpenMP); the
# archive is named explicitly, as -lnatgrad would pick the shared library beside it.
CFLAGS_LIBS=$("${PKGCONF[@]}" --static --cflags --libs natgrad)
CFLAGS_LIBS_A=${CFLAGS_LIBS//-lnatgrad/-l:libnatgrad.a}
# shellcheck disable=SC2086
if "$CC" "${SAN[@]}" "$T/prog.c" -o "$T/prog_static" $CFLAGS_LIBS_A >"$T/cc.log" 2>&1; then
    ok "compile + link static: pkg-config --static, -l:libnatgrad.a"
    OUT=$(env -u LD_LIBRARY_PATH "$T/prog_static" 2>"$T/run.log")
    [ "$OUT" = "$WANT" ] && ok "static program runs: $OUT" || bad_show "static program printed '$OUT'" "$T/run.log"
    if command -v ldd >/dev/null 2>&1; then
        ldd "$T/prog_static" | grep -q libnatgrad && bad "static program still loads libnatgrad.so" ||
            ok "static program does not need libnatgrad.so"
    fi
else
    bad_show "compile + link static failed: $CC prog.c $CFLAGS_LIBS_A" "$T/cc.log"
fi

# --- the shared library's interface: ng_ symbols only, internals hidden --------------
if command -v nm >/dev/null 2>&1; then
    nm -D --defined-only "$LIBDIR/libnatgrad.so" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' |
        grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' | sort >"$T/syms"
    # compiler-generated names are not C identifiers (clang's OpenMP reduction locks
    # ".gomp_critical_user_*") or belong to the sanitizer runtime
    FOREIGN=$(grep -v '^ng_' "$T/syms" | grep -Ev '^\.|^__(asan|ubsan|sanitizer|lsan)|^_?_?odr_asan' | head -10)
    [ -z "$FOREIGN" ] && ok "libnatgrad.so exports $(wc -l <"$T/syms") symbols, all ng_*" ||
        bad "libnatgrad.so exports non-ng_ symbols: $(echo $FOREIGN)"
    for s in ng_version ng_csv_open ng_ckpt_save ng_ckpt_load; do
        grep -qx "$s" "$T/syms" && ok "exported: $s" || bad "not exported: $s"
    done
    for s in ng_atomic_open ng_read_file ng_dtype_name; do
        grep -qx "$s" "$T/syms" && ok "exported: $s" || bad "not exported: $s"
    done
    # every exported function is declared NG_API in the installed header, and every global
    # symbol of the static library named ng_ is public (internal ones use another prefix)
    grep -o 'NG_API[^(]*(' "$PREFIX/include/natgrad.h" | grep -o 'ng_[a-z0-9_]*($' | tr -d '(' | sort -u >"$T/api"
    UNDECL=$(comm -23 "$T/syms" "$T/api" | grep '^ng_' | head -10)
    [ -z "$UNDECL" ] && ok "every exported ng_ symbol is declared in natgrad.h" ||
        bad "exported but not in natgrad.h: $(echo $UNDECL)"
    nm --defined-only "$LIBDIR/libnatgrad.a" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort -u >"$T/static_syms"
    PRIV=$(comm -23 "$T/static_syms" "$T/api" | grep '^ng_' | head -10)
    [ -z "$PRIV" ] && ok "internal symbols of libnatgrad.a do not use the public ng_ prefix" ||
        bad "libnatgrad.a defines ng_ symbols that natgrad.h does not declare: $(echo $PRIV)"
    for s in ngi_fail ngi_asprintf ngi_xmalloc; do
        grep -qx "$s" "$T/syms" && bad "internal symbol exported: $s" || ok "hidden: $s"
    done
fi

# --- the installed tool ----------------------------------------------------------------
if LD_LIBRARY_PATH="$LIBDIR" "$PREFIX/bin/natgrad" --help >"$T/help.out" 2>"$T/help.err" && [ -s "$T/help.out" ]; then
    ok "installed natgrad --help"
else
    bad_show "installed natgrad --help failed" "$T/help.err"
fi
OUT=$("$PREFIX/bin/natgrad" version 2>/dev/null)
[ "$OUT" = "natgrad $VERSION" ] && ok "installed natgrad version: $OUT" || bad "installed natgrad version: '$OUT'"

finish
