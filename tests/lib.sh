# shellcheck shell=bash
# tests/lib.sh - tiny TAP library for cybil's end-to-end tests (tests/e2e/*.t).
#
#   . "$(dirname "$0")/../lib.sh"
#   plan 3                          # or call done_testing without a plan
#   ok   "binary runs"   "$BIN/cybil" --version
#   is   "$got" "expected"  "description"
#   like "$got" '^regex$'   "description"     # bash ERE, unanchored
#   exits 2 "bad usage fails" "$BIN/cybil" --bogus
#   done_testing
#
# Also: skip_all REASON, skip DESC, pass DESC, fail DESC, diag MSG, note MSG,
# tmpdir, httpd_start ROOT, httpd_stop, at_exit CMD.
# Helpers return the test's result (0/1), so don't run tests under `set -e`,
# and call them in the main shell (not in a pipeline or $(...)) so the test
# counter is kept.  An EXIT trap stops the server, runs at_exit commands and
# removes $TMPDIR_TEST (set KEEP_TMP=1 to keep it).  Needs bash.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 1
BIN=$TOP/bin
export TOP BIN

_tap_n=0        # tests run
_tap_failed=0   # tests failed
_tap_plan=''    # planned count, if plan was called
_tap_exit_cmds=()

# --------------------------------------------------------------- TAP core
plan() {
    _tap_plan=$1
    echo "1..$1"
}

diag() {  # to stderr, every line prefixed with "# "
    local line
    printf '%s\n' "$@" | while IFS= read -r line; do echo "# $line"; done >&2
}

note() {  # like diag, but on stdout (shown by prove -v only)
    local line
    printf '%s\n' "$@" | while IFS= read -r line; do echo "# $line"; done
}

_tap_result() {  # _tap_result STATUS DESC
    _tap_n=$((_tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $_tap_n - $2"
        return 0
    fi
    _tap_failed=$((_tap_failed + 1))
    echo "not ok $_tap_n - $2"
    diag "  Failed test '$2'" "  at ${BASH_SOURCE[2]:-?} line ${BASH_LINENO[1]:-?}."
    return 1
}

pass() { _tap_result 0 "$1"; }
fail() { _tap_result 1 "$1"; }

skip() {  # skip DESC: record a skipped (passing) test
    _tap_n=$((_tap_n + 1))
    echo "ok $_tap_n # skip $1"
}

# ok DESC CMD...: passes if CMD exits 0 (its output is shown only on failure)
ok() {
    local desc=$1 out rc
    shift
    if [ $# -eq 0 ]; then
        _tap_result 1 "$desc"; diag "  ok: no command given"; return 1
    fi
    out=$("$@" 2>&1); rc=$?
    _tap_result "$rc" "$desc" && return 0
    diag "  command: $*" "  exit status: $rc"
    [ -n "$out" ] && diag "$(printf '%s\n' "$out" | head -n 20)"
    return 1
}

# exits CODE DESC CMD...: passes if CMD exits with exactly CODE
exits() {
    local want=$1 desc=$2 out rc
    shift 2
    out=$("$@" 2>&1); rc=$?
    [ "$rc" -eq "$want" ]
    _tap_result $? "$desc" && return 0
    diag "  command: $*" "  exit status: $rc" "     expected: $want"
    [ -n "$out" ] && diag "$(printf '%s\n' "$out" | head -n 20)"
    return 1
}

is() {
    [ "$1" = "$2" ]
    _tap_result $? "$3" && return 0
    diag "         got: '$1'" "    expected: '$2'"
    return 1
}

like() {
    [[ $1 =~ $2 ]]
    _tap_result $? "$3" && return 0
    diag "                  '$1'" "    doesn't match '$2'"
    return 1
}

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

done_testing() {
    local rc=0
    if [ -z "$_tap_plan" ]; then
        echo "1..$_tap_n"
    elif [ "$_tap_plan" -ne "$_tap_n" ]; then
        diag "Looks like you planned $_tap_plan tests but ran $_tap_n."
        rc=255
    fi
    if [ "$_tap_failed" -gt 0 ]; then
        diag "Looks like you failed $_tap_failed test(s) of $_tap_n."
        [ "$rc" -eq 0 ] && rc=$((_tap_failed > 254 ? 254 : _tap_failed))
    fi
    exit "$rc"
}

# --------------------------------------------------------------- fixtures
tmpdir() {  # creates (once) and exports $TMPDIR_TEST
    if [ -z "${TMPDIR_TEST:-}" ] || [ ! -d "$TMPDIR_TEST" ]; then
        TMPDIR_TEST=$(mktemp -d "${TMPDIR:-/tmp}/cybil-test.XXXXXX") || {
            echo "Bail out! mktemp -d failed"; exit 255; }
        _tap_own_tmp=1
        export TMPDIR_TEST
    fi
}

# httpd_start ROOT [ARG...]: start tests/httpd.py serving ROOT (ARGs go
# to httpd.py, e.g. --route 'PATH?QUERY=FILE'); exports HTTPD_PORT,
# HTTPD_URL, HTTPD_PID and HTTPD_LOG (one "METHOD PATH STATUS BYTES" a line).
# Bails out of the whole test script if the server does not come up in 10 s.
httpd_start() {
    local root=$1 pf i
    shift
    [ -d "$root" ] || { echo "Bail out! httpd_start: no such directory: $root"; exit 255; }
    httpd_stop
    tmpdir
    pf=$TMPDIR_TEST/httpd.port
    HTTPD_LOG=$TMPDIR_TEST/httpd.log
    rm -f "$pf"
    # --parent-pid: the server also goes away if this script is killed hard.
    /usr/bin/python3 "$TOP/tests/httpd.py" --root "$root" --port-file "$pf" \
        --log "$HTTPD_LOG" --max-seconds "${HTTPD_MAX_SECONDS:-900}" \
        --parent-pid $$ "$@" 2>"$TMPDIR_TEST/httpd.err" </dev/null &
    HTTPD_PID=$!
    for i in $(seq 100); do
        if [ -s "$pf" ]; then
            HTTPD_PORT=$(cat "$pf")
            HTTPD_URL=http://127.0.0.1:$HTTPD_PORT
            export HTTPD_PORT HTTPD_URL HTTPD_PID HTTPD_LOG
            return 0
        fi
        kill -0 "$HTTPD_PID" 2>/dev/null || break
        sleep 0.1
    done
    diag "httpd did not start; its stderr:" "$(cat "$TMPDIR_TEST/httpd.err" 2>/dev/null)"
    httpd_stop
    echo "Bail out! test httpd did not start"
    exit 255
}

httpd_stop() {
    [ -n "${HTTPD_PID:-}" ] || return 0
    local i
    kill -TERM "$HTTPD_PID" 2>/dev/null
    for i in $(seq 50); do   # up to 5 s for a clean exit, then force it
        kill -0 "$HTTPD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$HTTPD_PID" 2>/dev/null
    wait "$HTTPD_PID" 2>/dev/null
    unset HTTPD_PID HTTPD_PORT HTTPD_URL
    return 0
}

free_port() {  # prints a loopback port free a moment ago (bound, let go)
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

at_exit() {  # at_exit CMD...: run CMD (eval'd) from the EXIT trap
    _tap_exit_cmds+=("$*")
}

_tap_cleanup() {
    local c
    for c in "${_tap_exit_cmds[@]}"; do eval "$c"; done
    httpd_stop
    if [ -n "${_tap_own_tmp:-}" ] && [ -n "${TMPDIR_TEST:-}" ]; then
        if [ -n "${KEEP_TMP:-}" ]; then
            diag "keeping $TMPDIR_TEST"
        else
            rm -rf "$TMPDIR_TEST"
        fi
    fi
}
trap _tap_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
