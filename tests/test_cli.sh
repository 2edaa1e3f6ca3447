#!/usr/bin/env bash
# test_cli.sh - the command-line contract every natgrad subcommand must meet:
#   natgrad --help               exit 0, lists the subcommands (stdout)
#   natgrad CMD --help           exit 0, usage on stdout
#   natgrad CMD --no-such-option exit 2, the option named on stderr
#   natgrad no-such-command      exit 2
# and the same for the sub-subcommands of bench, data, dmf, repro (parsed from the help
# texts). Env: NG_BIN. Ends with "N passed, N failed"; non-zero exit on any failure.
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh" || exit 1
test_setup cli
# Nothing here should run for long: a command that ignores a bad option and starts working
# is cut off (and fails) after this many seconds.
LIMIT=${NG_CLI_TEST_LIMIT:-60}

# run ARGS... : runs natgrad with stdout in $T/out, stderr in $T/err; status in $ST
run() {
    timeout "$LIMIT" "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
    ST=$?
}

# check_help WORDS... : 'natgrad WORDS --help' exits 0 and prints its usage to stdout
check_help() {
    local name="natgrad $* --help"
    run "$@" --help
    if [ "$ST" -ne 0 ]; then bad_show "$name: exit $ST, expected 0" "$T/err"; return; fi
    if [ ! -s "$T/out" ]; then bad_show "$name: nothing on stdout" "$T/err"; return; fi
    ok "$name"
}

# check_bad_option WORDS... : 'natgrad WORDS --no-such-option' exits 2 and names it
check_bad_option() {
    local name="natgrad $* --no-such-option"
    run "$@" --no-such-option
    if [ "$ST" -ne 2 ]; then bad_show "$name: exit $ST, expected 2" "$T/err"; return; fi
    if ! grep -q -- "no-such-option" "$T/err"; then
        bad_show "$name: stderr does not name the option" "$T/err"
        return
    fi
    ok "$name"
}

# The subcommand list: the indented lines after "Commands:" in 'natgrad --help'.
# commands_in FILE : first words of the indented lines of a "Commands:"-like section
commands_in() {
    awk '/^[A-Za-z -]*[Cc]ommands:[[:space:]]*$/ { on = 1; next }
         on && /^[[:space:]]*$/ { on = 0; next }
         on && /^[[:space:]]+[a-z][a-z0-9-]*([[:space:]]|$)/ { print $1 }' "$1"
}

run --help
if [ "$ST" -eq 0 ] && [ -s "$T/out" ]; then ok "natgrad --help"; else bad_show "natgrad --help: exit $ST" "$T/err"; fi
cp "$T/out" "$T/top_help"
CMDS=$(commands_in "$T/top_help")
if [ -n "$CMDS" ]; then
    ok "subcommands listed: $(echo $CMDS)"
else
    bad_show "no subcommands found in 'natgrad --help'" "$T/top_help"
fi
for want in demo plot bench version; do
    if echo "$CMDS" | grep -qx "$want"; then ok "'$want' is listed"; else bad "'$want' is not listed in natgrad --help"; fi
done

run
[ "$ST" -eq 2 ] && ok "natgrad (no command): exit 2" || bad_show "natgrad (no command): exit $ST, expected 2" "$T/err"
run no-such-command
if [ "$ST" -eq 2 ] && grep -q "no-such-command" "$T/err"; then
    ok "natgrad no-such-command: exit 2, named"
else
    bad_show "natgrad no-such-command: exit $ST, expected 2 naming it" "$T/err"
fi

# version
run version
if [ "$ST" -eq 0 ] && grep -Eqx "natgrad [0-9]+\.[0-9]+\.[0-9]+" "$T/out"; then
    ok "natgrad version: $(cat "$T/out")"
else
    bad_show "natgrad version: exit $ST, output '$(cat "$T/out")'" "$T/err"
fi
"$BIN" version --blas >"$T/out2" 2>&1
grep -Eq "^OpenBLAS kernels: [A-Za-z0-9]+" "$T/out2" && [ "$(head -n 1 "$T/out2")" = "$(cat "$T/out")" ] &&
    ok "natgrad version --blas names OpenBLAS's kernels" || bad_show "natgrad version --blas names OpenBLAS's kernels" "$T/out2"
OPENBLAS_CORETYPE=Prescott "$BIN" version --blas >"$T/out2" 2>&1
grep -Eq "^OpenBLAS kernels: [A-Za-z0-9]+$" "$T/out2" && ok "kernels named by OPENBLAS_CORETYPE: no hint" ||
    bad_show "kernels named by OPENBLAS_CORETYPE: no hint" "$T/out2"
VERSION_LINE=$(cat "$T/out")
run --version
[ "$ST" -eq 0 ] && [ "$(cat "$T/out")" = "$VERSION_LINE" ] && ok "natgrad --version" ||
    bad_show "natgrad --version: exit $ST, '$(cat "$T/out")'" "$T/err"

# The sub-subcommands of CMD: the "Commands:" section of 'natgrad CMD --help', and the
# list in CMD's summary line of 'natgrad --help' ("benchmarks: gemm, ae, dmf",
# "(train, synth)"); each candidate must answer --help, which the checks then require.
subs_of() {
    local cmd=$1
    {
        run "$cmd" --help
        commands_in "$T/out"
        awk -v c="$cmd" '$1 == c { $1 = ""; print }' "$T/top_help" |
            sed -n -e 's/.*(\([^)]*\)).*/\1/p' -e 's/.*: *\([a-z0-9, -]*\)$/\1/p' |
            tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -E '^[a-z][a-z0-9-]*$'
    } | awk '!seen[$0]++'
}

for cmd in $CMDS; do
    check_help "$cmd"
    check_bad_option "$cmd"
    case "$cmd" in
    bench | data | dmf | repro)
        SUBS=$(subs_of "$cmd")
        if [ -z "$SUBS" ]; then
            bad "natgrad $cmd: no sub-commands found in its help or summary"
            continue
        fi
        for sub in $SUBS; do
            check_help "$cmd" "$sub"
            check_bad_option "$cmd" "$sub"
        done
        run "$cmd" no-such-sub
        [ "$ST" -eq 2 ] && ok "natgrad $cmd no-such-sub: exit 2" ||
            bad_show "natgrad $cmd no-such-sub: exit $ST, expected 2" "$T/err"
        ;;
    esac
done

# Malformed numbers are usage errors that name the option.
bad_number() { # bad_number WORDS... --opt VALUE
    local name="natgrad $*"
    run "$@"
    local opt=${*: -2:1}
    if [ "$ST" -eq 2 ] && grep -q -- "$opt" "$T/err"; then ok "$name: exit 2"; else bad_show "$name: exit $ST, expected 2 naming $opt" "$T/err"; fi
}
bad_number bench gemm --threads abc
bad_number bench gemm --threads 5x
bad_number bench gemm --threads ""
bad_number plot x.csv --y loss --out x.png --width 1e
bad_number bench gemm --threads=abc
bad_number data curves --out x --size=3

# The option tables: both value forms, a missing value, a flag given a value, -h, the
# defaults in --help read from the fields, a required option.
expect_err() { # expect_err STATUS TEXT WORDS... : exit STATUS and TEXT on stderr
    local want=$1 text=$2
    shift 2
    run "$@"
    if [ "$ST" -eq "$want" ] && grep -qF -- "$text" "$T/err"; then
        ok "natgrad $*: exit $want, '$text'"
    else
        bad_show "natgrad $*: exit $ST, expected $want and '$text'" "$T/err"
    fi
}
expect_err 2 "option '--min-seconds' needs a value" bench gemm --min-seconds
expect_err 2 "option '--no-plots' takes no value" demo --no-plots=1
expect_err 2 "unknown option '--bogus'" bench dmf --bogus=3
expect_err 2 "Try 'natgrad bench dmf --help'." bench dmf --bogus=3
expect_err 2 "--out DIR is required" data curves --n 5
expect_err 2 "unexpected argument 'extra'" bench gemm extra
expect_err 2 "invalid value '0' for --sizes" bench gemm --sizes=0 --min-seconds 0
run plot -h
[ "$ST" -eq 0 ] && grep -q "^usage: natgrad plot" "$T/out" && ok "natgrad plot -h" || bad_show "natgrad plot -h: exit $ST" "$T/err"
run bench dmf --help
grep -q -- "--users N .*\[138000\]" "$T/out" && grep -q -- "--seed S .*\[1\]" "$T/out" &&
    ok "bench dmf --help shows the defaults" || bad_show "bench dmf --help: no defaults" "$T/out"
run bench gemm --sizes=8 --min-seconds=0 --threads 1
if [ "$ST" -eq 0 ] && grep -q "^ *8 " "$T/out" &&
    grep -q "| bench gemm | BLAS threads 1 (.*) | OpenMP threads 1 | sizes 8 | threads 1 | min-seconds 0$" "$T/err"; then
    ok "bench gemm with --name=value options: the table and the banner"
else
    bad_show "bench gemm --sizes=8: exit $ST" "$T/err"
fi

finish
