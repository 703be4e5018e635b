#!/bin/sh
# The hostile web at torture size (issue 7): tests/e2e/hostile.t with
# 10,000 sources, a thousand of them misbehaving.  Prints the TAP summary
# of tests/run ("N passed, N failed, N skipped") and exits 1 if anything
# failed.  HOSTILE_SOURCES, HOSTILE_DEADLINE and the other HOSTILE_*
# settings of hostile.t may be given to override these.
# Usage: bash tests/torture/hostile.sh   (from anywhere; needs `make` first)
cd "$(dirname "$0")/../.." || exit 1
# Thousands of blobs, connections and server threads: room for descriptors.
hard=$(ulimit -Hn)
want=65536
[ "$hard" != unlimited ] && [ "$hard" -lt "$want" ] && want=$hard
ulimit -n "$want" 2>/dev/null || true
HOSTILE_SOURCES=${HOSTILE_SOURCES:-10000}
HOSTILE_HOSTS=${HOSTILE_HOSTS:-8}
HOSTILE_TIMEOUT=${HOSTILE_TIMEOUT:-3}
HOSTILE_DEADLINE=${HOSTILE_DEADLINE:-900}
export HOSTILE_SOURCES HOSTILE_HOSTS HOSTILE_TIMEOUT HOSTILE_DEADLINE
exec sh tests/run tests/e2e/hostile.t
