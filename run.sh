#!/usr/bin/env bash
# run.sh - set up, build and run natgrad on a fresh Debian 12 machine.
#   ./run.sh demo     install dependencies, build, run 'natgrad demo'
#   ./run.sh test     install dependencies, build (gcc, clang, ASan+UBSan), run every test,
#                     then fuzz every file reader for FUZZ_SECONDS (default 30) each
#   ./run.sh fuzz     only the fuzzing (docs/reliability.md); FUZZ_SECONDS as above
#   ./run.sh build    install dependencies and build into ./build
# As root the Debian packages are installed with apt-get; otherwise the exact
# apt-get line is printed and the script stops.
set -euo pipefail
cd "$(dirname "$0")"

BUILD_PKGS="build-essential cmake pkg-config libopenblas-dev liblapacke-dev zlib1g-dev libomp-dev clang libclang-rt-dev gnuplot-nox"
DEMO_PKGS="dataset-fashion-mnist"
JOBS=$(nproc 2>/dev/null || echo 2)

need() { # need PKG... : installs what is missing, or says how
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "run.sh: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
        echo "run.sh: missing Debian packages. Install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
}

build() { # build DIR [cmake args...]
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS" >/dev/null || cmake --build "$dir" -j1
}

PASSED=0
FAILED=0
suite() { # suite NAME DIR : runs ctest in DIR and adds its counts
    local name=$1 dir=$2 log
    log=$(mktemp)
    echo "== tests: $name" >&2
    set +e
    OPENBLAS_NUM_THREADS=1 ctest --test-dir "$dir" --output-on-failure -j"$JOBS" 2>&1 | tee "$log"
    set -e
    local total failed
    total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
    failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
    [ -n "$total" ] || { total=1; failed=1; echo "run.sh: $name: ctest did not report" >&2; }
    PASSED=$((PASSED + total - failed))
    FAILED=$((FAILED + failed))
    rm -f "$log"
}

fuzz_stage() { # a bounded libFuzzer run of every harness in fuzz/; a crash fails it and
    # stays in fuzz/regressions/ (replayed by test_fuzz_regressions). FUZZ_SECONDS=0 skips.
    local secs=${FUZZ_SECONDS:-30}
    if [ "$secs" -le 0 ]; then
        echo "== fuzz: skipped (FUZZ_SECONDS=$secs)" >&2
        return 0
    fi
    echo "== fuzz: every reader, $secs s each" >&2
    cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DNG_FUZZ=ON -DNG_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-fuzz -j"$JOBS" --target fuzz >/dev/null || cmake --build build-fuzz -j1 --target fuzz
    fuzz/run_fuzz.sh build-fuzz "$secs" "$JOBS"
}

case "${1:-}" in
demo)
    need $BUILD_PKGS $DEMO_PKGS
    build build
    shift
    # an OpenBLAS older than the CPU runs generic kernels: name the ones that fit it
    core=$(./build/natgrad version --blas | sed -n 's/.*OPENBLAS_CORETYPE=\([A-Za-z0-9]*\).*/\1/p')
    if [ -n "$core" ]; then
        echo "run.sh: OpenBLAS does not know this CPU; running with OPENBLAS_CORETYPE=$core" >&2
        export OPENBLAS_CORETYPE=$core
    fi
    exec ./build/natgrad demo "$@"
    ;;
build)
    need $BUILD_PKGS
    build build
    echo "built: ./build/natgrad" >&2
    ;;
test)
    need $BUILD_PKGS
    build build
    suite "gcc release" build
    build build-clang -DCMAKE_C_COMPILER=clang
    suite "clang release" build-clang
    build build-asan -DNG_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 suite "gcc asan+ubsan" build-asan
    FUZZ_OK=1
    fuzz_stage || FUZZ_OK=0
    echo "test executables over three builds (gcc, clang, gcc asan+ubsan):"
    echo "total: $PASSED passed, $FAILED failed"
    [ "$FUZZ_OK" -eq 1 ] || echo "fuzzing FAILED: the inputs are in fuzz/regressions/ (docs/reliability.md)"
    [ "$FAILED" -eq 0 ] && [ "$FUZZ_OK" -eq 1 ]
    ;;
fuzz)
    need $BUILD_PKGS
    fuzz_stage
    ;;
*)
    echo "usage: ./run.sh demo|test|fuzz|build" >&2
    exit 2
    ;;
esac
