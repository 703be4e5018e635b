#!/usr/bin/env bash
# tests/bench/fetch.sh - benchmark of cybil-fetch (issue 3, "Benchmark").
#
# Not a test: it prints numbers and never fails because of them. It exits
# non-zero only when it cannot measure (a missing tool, nginx not starting,
# cybil-fetch crashing).
#
# What it does, all inside one temporary folder (removed at the end; set
# KEEP_TMP=1 to keep it):
#   1. generates DOCS (default 10000) different RSS 2.0 documents of 2-8 KB;
#   2. serves them with a private nginx on 127.0.0.1 at a free port
#      (worker_processes 2, keepalive, etag on, if_modified_since exact, gzip
#      on for text types, access_log off), stopped by a trap on exit;
#   3. writes a cybil config with one [source "dN"] per document
#      (kind = rss), [fetch] allow_private = yes, parallel = 16,
#      per_host = 16, store and blobs in the temporary folder;
#   4. runs RUNS rounds (default 3), each one, in this order:
#        peer       xargs -d '\n' -P16 -n150 curl -sS --compressed
#                     -o FILE URL -o FILE URL ...      (50 URLs per curl)
#                   i.e. at most 16 curl processes at a time, each fetching
#                   its 50 URLs one after the other over one kept-alive
#                   connection, asking for gzip and writing the decoded
#                   bodies to files (no fsync);
#        cold       cybil-fetch -q -c CONF on a fresh store and blob folder;
#        unchanged  cybil-fetch -q -c CONF --force on the store the cold run
#                   just filled: every answer should be a 304;
#      with `sync` (untimed) before each timed command, so that no run pays
#      for the dirty pages of the one before (cybil's group commit uses
#      syncfs(2), which flushes the whole file system);
#   5. prints the median wall time of each, the ratios against the targets
#      of issue 3, peak RSS and CPU time (GNU /usr/bin/time, if installed),
#      the 304 count of each unchanged run (from the store, with sqlite3),
#      and the captures and blobs stored.
#
# Needs: bash, nginx (/usr/sbin/nginx; Debian nginx-light or nginx), curl,
# sqlite3, GNU xargs, awk; python3 only to pick a free port; optionally
# GNU time (Debian package time) for peak RSS.
#
# Usage: tests/bench/fetch.sh          (after make; make bench runs it)
#   RUNS=N      rounds (default 3); the median of N is printed
#   DOCS=N      documents (default 10000)
#   NGINX=PATH  nginx binary (default /usr/sbin/nginx)
#   CYBIL_FETCH=PATH  the binary measured (default bin/cybil-fetch)
#   KEEP_TMP=1  keep the temporary folder (its path is printed)
#   TMPDIR      where the temporary folder is made; put it on a real disk
#               (on tmpfs, syncfs costs nothing and cold looks faster)
set -euo pipefail
# (No "| head" or "| grep -q" below: with pipefail, the writer's SIGPIPE
# would end the script.)

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$TOP/tests/bench/common.sh"
RUNS=${RUNS:-3}
DOCS=${DOCS:-10000}
NGINX=${NGINX:-/usr/sbin/nginx}
CYBIL_FETCH=${CYBIL_FETCH:-$TOP/bin/cybil-fetch}
PARALLEL=16
PER_CURL=50		# URLs per curl process of the peer


# ------------------------------------------------------------ prerequisites
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive number" ;; esac
case $DOCS in ''|*[!0-9]*|0) die "DOCS must be a positive number" ;; esac
[ -x "$NGINX" ] || die "nginx not found at $NGINX: install the Debian package nginx-light (or nginx), e.g. as root: apt-get install -y --no-install-recommends nginx-light (or set NGINX=/path/to/nginx)"
command -v curl >/dev/null || die "curl not found: install the Debian package curl"
command -v sqlite3 >/dev/null || die "sqlite3 not found: install the Debian package sqlite3"
xargs --version 2>/dev/null | grep GNU >/dev/null || die "GNU xargs is needed (Debian package findutils)"
[ -x "$CYBIL_FETCH" ] || die "$CYBIL_FETCH not found: run make first"
TIME=
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
	TIME=/usr/bin/time
fi

# -------------------------------------------------------- temporary folder
bench_workdir cybil-bench

docs=$work/docs
mkdir -p "$docs" "$work/nginx/tmp" "$work/peer"

# ------------------------------------------------------------- documents
# RSS 2.0 feeds of 2-8 KB: a channel and as many items as fit a size drawn
# at random for each document; every item's text is different.
gen_start=$EPOCHREALTIME
awk -v n="$DOCS" -v dir="$docs" -v min=2900 -v span=5292 \
	-f "$TOP/tests/bench/feeds.awk" || die "generating the documents failed"
doc_bytes=$(bytes_in "$docs")
doc_range=$(find "$docs" -name 'd*.xml' -printf '%s\n' |
	awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 }
		END { print lo "-" hi }')
gen_secs=$(awk -v a="$gen_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# ------------------------------------------------------------------ nginx



PORT=
start_nginx
base=http://127.0.0.1:$PORT

# Gzip and validators as cybil will see them.
probe=$(curl -s -o /dev/null -D - --compressed "$base/d1.xml" | tr -d '\r')
probe_etag=$(printf '%s\n' "$probe" | awk -F': ' 'tolower($1) == "etag" { print $2 }')
probe_lm=$(printf '%s\n' "$probe" | awk -F': ' 'tolower($1) == "last-modified" { print $2 }')
probe_enc=$(printf '%s\n' "$probe" | awk -F': ' 'tolower($1) == "content-encoding" { print $2 }')
probe_304=$(curl -s -o /dev/null -w '%{http_code}' --compressed \
	-H "If-None-Match: $probe_etag" -H "If-Modified-Since: $probe_lm" \
	"$base/d1.xml")

# ------------------------------------------------------------ cybil config
conf=$work/cybil.conf
feeds_conf "$DOCS" "$base" >"$conf"
# The peer's arguments: "-o FILE URL" per document, one word a line.
peer_args "$DOCS" "$base" "$work/peer" >"$work/peer.args"

# --------------------------------------------------------------- measuring
last_rc=0

# The peer's command; it reads $work/peer.args on its standard input.
peer_cmd=(xargs -d '\n' -P "$PARALLEL" -n $((3 * PER_CURL))
	curl -sS --compressed)

# count_sql SELECT: its one number, or 0 (and a note) if the store cannot
# answer, e.g. after cybil-fetch failed.
count_sql() {
	local n

	if [ -f "$work/store/cybil.db" ] &&
	    n=$(sqlite3 "$work/store/cybil.db" "$1" 2>>"$work/sqlite.err") &&
	    [[ $n =~ ^[0-9]+$ ]]; then
		echo "$n"
	else
		say "bench: the store did not answer: $1" >&2
		echo 0
	fi
}

blob_count() {
	[ -d "$work/blobs" ] || { echo 0; return; }
	find "$work/blobs" -path "$work/blobs/.tmp" -prune -o -type f -print |
		wc -l
}

# Untimed warm-up: the documents into the page cache, nginx's workers up.
"${peer_cmd[@]}" <"$work/peer.args" >/dev/null 2>&1 || true

discard "$work/peer"

errors=0
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')
total_start=$EPOCHREALTIME
for run in $(seq "$RUNS"); do
	# (a) the peer
	discard "$work/peer"
	mkdir -p "$work/peer"
	if ! timed peer "${peer_cmd[@]}" <"$work/peer.args" \
	    2>>"$work/peer.err"; then
		say "bench: round $run: the curl peer reported errors (exit $last_rc):" >&2
		tail -n 5 "$work/peer.err" >&2
		errors=$((errors + 1))
	fi
	got=$(find "$work/peer" -type f | wc -l)
	[ "$got" -eq "$DOCS" ] || {
		say "bench: round $run: the peer stored $got of $DOCS files" >&2
		errors=$((errors + 1))
	}
	peer_bytes=$(bytes_in "$work/peer")

	# (b) cold: a fresh store and blob folder
	discard "$work/store" "$work/blobs" "$work/evidence"
	if ! timed cold "$CYBIL_FETCH" -q -c "$conf" 2>"$work/cold.err"; then
		say "bench: round $run: cybil-fetch (cold) failed (exit $last_rc):" >&2
		head -n 20 "$work/cold.err" >&2
		errors=$((errors + 1))
	fi
	ok200=$(count_sql "SELECT count(*) FROM capture WHERE status = 200")
	echo "$ok200" >>"$work/cold.200"
	[ "$ok200" -eq "$DOCS" ] || {
		say "bench: round $run: cold stored $ok200 of $DOCS documents" >&2
		errors=$((errors + 1))
	}
	cold_bytes=$(count_sql "SELECT coalesce(sum(bytes), 0) FROM capture WHERE status = 200")

	# (c) unchanged: the same store again, --force
	before304=$(count_sql "SELECT count(*) FROM capture WHERE status = 304")
	before200=$ok200
	if ! timed warm "$CYBIL_FETCH" -q -c "$conf" --force \
	    2>"$work/warm.err"; then
		say "bench: round $run: cybil-fetch --force (unchanged) failed (exit $last_rc):" >&2
		head -n 20 "$work/warm.err" >&2
		errors=$((errors + 1))
	fi
	after304=$(count_sql "SELECT count(*) FROM capture WHERE status = 304")
	after200=$(count_sql "SELECT count(*) FROM capture WHERE status = 200")
	echo $((after304 - before304)) >>"$work/warm.304"
	echo $((after200 - before200)) >>"$work/warm.200"
	if [ $((after304 - before304)) -ne "$DOCS" ] ||
	    [ "$after200" -ne "$before200" ]; then
		say "bench: round $run: unchanged got $((after304 - before304)) 304s and $((after200 - before200)) new 200s for $DOCS documents" >&2
		errors=$((errors + 1))
	fi
done
total_secs=$(awk -v a="$total_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
captures=$(count_sql "SELECT count(*) FROM capture")
failed=$(count_sql "SELECT count(*) FROM capture WHERE error IS NOT NULL")
blobs=$(blob_count)

# ------------------------------------------------------------------ report
max_of() { [ -s "$1" ] && sort -n "$1" | tail -n 1 || echo "-"; }
list() { tr '\n' ' ' <"$1" | sed 's/ $//'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "MISSED") }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

m_peer=$(median "$work/peer.secs")
m_cold=$(median "$work/cold.secs")
m_warm=$(median "$work/warm.secs")
r_cold=$(ratio "$m_cold" "$m_peer")
r_warm=$(ratio "$m_warm" "$m_cold")

say "cybil-fetch benchmark (tests/bench/fetch.sh)"
say "machine:   $(nproc) cores, $(uname -srm), load $load_before (at start), temp folder on $(df --output=fstype "$work" 2>/dev/null | tail -n 1)"
say "curl:      $(curl --version | sed -n 1p)"
say "nginx:     $("$NGINX" -v 2>&1 | sed -n 1p)"
say "documents: $DOCS RSS files, $doc_range bytes, $(mib "$doc_bytes") in all (made in ${gen_secs}s)"
say "server:    $base, gzip ${probe_enc:-off}, ETag $probe_etag, conditional GET -> $probe_304"
say "peer:      ${peer_cmd[*]} <ARGS, ARGS = \"-o FILE URL\" per document: $PER_CURL URLs per curl, one kept-alive connection each"
say "runs:      $RUNS rounds of peer, cold, unchanged (${total_secs}s); sync before each"
say ""
printf '%-34s %8s  %-24s %7s %9s\n' "" "median s" "runs (s)" "CPU s" "peak RSS"
row() {	# NAME LABEL
	local rss=- cpu=-
	if [ -s "$work/$1.rss" ]; then
		rss="$(max_of "$work/$1.rss") KiB"
		cpu=$(median "$work/$1.cpu")
		cpu=$(awk -v c="$cpu" 'BEGIN { printf "%.2f", c }')
	fi
	printf '%-34s %8s  %-24s %7s %9s\n' "$2" "$(median "$work/$1.secs")" \
		"$(list "$work/$1.secs")" "$cpu" "$rss"
	result fetch "row=${1/warm/unchanged} median_s=$(median "$work/$1.secs")" \
		"rss_kb=${rss% KiB} cpu_s=$cpu runs=$RUNS sources=$DOCS"
}
row peer "peer: xargs -P$PARALLEL curl ($PER_CURL/proc)"
row cold "cybil-fetch cold"
row warm "cybil-fetch --force, unchanged"
say ""
say "ratio cold / peer:       $r_cold  (target <= 1.2: $(verdict "$r_cold" 1.2))"
say "ratio unchanged / cold:  $r_warm  (target <= 0.5: $(verdict "$r_warm" 0.5))"
result fetch "ratio=cold/peer value=$r_cold"
result fetch "ratio=unchanged/cold value=$r_warm"
say "cold runs, status 200 captures:     $(list "$work/cold.200") (of $DOCS); body bytes, last run: $cold_bytes (peer: $peer_bytes)"
say "unchanged runs, 304 captures:       $(list "$work/warm.304") (of $DOCS); new 200 captures: $(list "$work/warm.200")"
say "store after the last round:         $captures captures ($failed with an error), $blobs blobs"
if [ -z "$TIME" ]; then
	say "(peak RSS and CPU: install GNU time, Debian package time)"
else
	say "(CPU s = user + system of the whole command, curl processes included; peak RSS = largest single process)"
fi
if [ "$errors" -gt 0 ]; then
	say "bench: $errors errors while measuring; the numbers above are not comparable" >&2
	result fetch "errors=$errors"
	exit 1
fi
exit 0
