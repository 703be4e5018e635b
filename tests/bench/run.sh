#!/usr/bin/env bash
# tests/bench/run.sh - benchmark of the whole `cybil run` (issue 7) beside
# the chain of standard tools a user would script instead.
#
# Not a test: it prints numbers and never fails because of them. It exits
# non-zero only when it cannot measure (a missing tool, nginx not
# starting, a stage failing, a count that does not add up).
#
# In one temporary folder (removed at the end; KEEP_TMP=1 keeps it):
#   1. generates SOURCES (default 10,000) RSS 2.0 feeds of exactly ITEMS
#      (default 100) items each, SOURCES x ITEMS records in all (default
#      1,000,000; about 90 KB a feed, 0.9 GB), with tests/bench/feeds.awk;
#   2. serves them with a private nginx on 127.0.0.1 (the one of fetch.sh,
#      tests/bench/common.sh: keepalive, ETag, gzip);
#   3. writes a cybil config with one [source "dN"] per feed (kind = rss,
#      consent = public, interval = 0 so that every run fetches every
#      source), [fetch] allow_private = yes, parallel = per_host = 16, a
#      [publish] tree and a signing key made once with
#      cybil-publish --keygen;
#   4. runs RUNS rounds (default 3), each one, in this order, with an
#      untimed `sync` before each:
#        peer       the chain, timed as one command (bash peer.sh):
#                   (a) fetch: xargs -d '\n' -P16 -n150 curl -sS
#                       --compressed -o FILE URL ... (50 URLs a curl, as
#                       in fetch.sh) into a folder of files;
#                   (b) parse: /usr/bin/python3 with feedparser inserting
#                       every entry into SQLite, one transaction a feed
#                       (tests/bench/feedparser-sqlite.py, as in
#                       parse.sh);
#                   (c) publish: the sqlite3 CLI exporting records.jsonl
#                       (json_object) and records.csv, then
#                       tar --sort=name --format=pax | zstd -3 -T2 and
#                       sha256sum (as in publish.sh);
#                   the time of each step is printed too;
#        cold       cybil -q -c CONF run on a fresh store, blob folder and
#                   publish tree: fetch, parse, expire, publish; every
#                   item becomes a public record, release 1 is written
#                   and signed;
#        unchanged  cybil -q -c CONF run again on the store the cold run
#                   filled: every source is fetched again (interval = 0),
#                   every answer is a 304, parse has nothing new, publish
#                   finds nothing changed and writes no release.
#      The peer has no change detection: a script like it does all its
#      work again on an unchanged run, so its one time stands beside both
#      cybil rows;
#   5. prints the median wall time of each, the ratios cybil / peer and
#      unchanged / cold, peak RSS (GNU time: the largest single process;
#      for `cybil run`, its largest stage) and CPU time, and checks the
#      counts (records, 304s, releases, the peer's rows); appends the
#      figures to build/bench/results.txt (tests/bench/report.sh).
#
# At the default size one round should take 10 to 15 minutes on 2 cores
# (the peer's feedparser step alone about 6; estimated from smaller sizes),
# generating the feeds about 2; the folder grows by about 8 GB a round (the
# outputs of earlier rounds are kept until the end, see discard in
# common.sh), about 25 GB for 3. SOURCES=200 ITEMS=20 RUNS=1 for a quick
# look.
#
# Needs: bash, nginx (Debian nginx-light), curl, sqlite3, GNU xargs, awk,
# tar, zstd, sha256sum, GNU time (Debian time), /usr/bin/python3 with
# feedparser (Debian python3-feedparser); .ci/deps --bench installs them.
#
# Usage: tests/bench/run.sh        (after make; make bench runs it)
#   RUNS=N  SOURCES=N  ITEMS=N  NGINX=PATH  CYBIL=PATH (default bin/cybil;
#   it runs the cybil-* programs beside it)  KEEP_TMP=1  TMPDIR=DIR (a real
#   disk, not tmpfs)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$TOP/tests/bench/common.sh"
RUNS=${RUNS:-3}
SOURCES=${SOURCES:-10000}
ITEMS=${ITEMS:-100}
NGINX=${NGINX:-/usr/sbin/nginx}
CYBIL=${CYBIL:-$TOP/bin/cybil}
PY=/usr/bin/python3
GTIME=/usr/bin/time
PARALLEL=16
PER_CURL=50		# URLs per curl process of the peer
SOURCES_WANTED=10000	# issue 7's scale
RECORDS_WANTED=1000000

for v in RUNS SOURCES ITEMS; do
	case ${!v} in ''|*[!0-9]*|0) die "$v must be a positive number" ;; esac
done
[ -x "$NGINX" ] || die "nginx not found at $NGINX: install the Debian package nginx-light (or set NGINX=/path/to/nginx)"
for tool in curl sqlite3 tar zstd sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found: run .ci/deps --bench"
done
xargs --version 2>/dev/null | grep GNU >/dev/null || die "GNU xargs is needed (Debian package findutils)"
[ -x "$GTIME" ] || die "GNU time not found: install the Debian package time"
"$PY" -c 'import feedparser' 2>/dev/null ||
	die "feedparser not found: install the Debian package python3-feedparser"
for p in "$CYBIL" "$(dirname "$CYBIL")"/cybil-{fetch,parse,review,publish}; do
	[ -x "$p" ] || die "$p not found: run make first"
done
unset CYBIL_CONFIG CYBIL_LOCK_FD

started=$EPOCHREALTIME
bench_workdir cybil-bench-run

# ------------------------------------------------------------- the feeds
docs=$work/docs
mkdir -p "$docs" "$work/nginx/tmp"
gen_start=$EPOCHREALTIME
awk -v n="$SOURCES" -v dir="$docs" -v items="$ITEMS" \
	-f "$TOP/tests/bench/feeds.awk" || die "generating the feeds failed"
gen_secs=$(awk -v a="$gen_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
total=$((SOURCES * ITEMS))
doc_mb=$(du -sm "$docs" | cut -f1)

PORT=
start_nginx
base=http://127.0.0.1:$PORT
probe_enc=$(curl -s -o /dev/null -D - --compressed "$base/d1.xml" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "content-encoding" { print $2 }')

# ------------------------------------------------------------ cybil config
conf=$work/cybil.conf
{
	feeds_conf "$SOURCES" "$base" "consent = public" "interval = 0"
	printf '\n[publish]\ndir = %s/public\nkey = %s/keys/cybil.key\n' \
		"$work" "$work"
} >"$conf"
# The key pair, once; --keygen also makes the store, which goes.
"$(dirname "$CYBIL")/cybil-publish" -q -c "$conf" --keygen >/dev/null ||
	die "cybil-publish --keygen failed"

# ---------------------------------------------------------------- the peer
peer_args "$SOURCES" "$base" "$work/peer/files" >"$work/peer.args"

cat >"$work/peer.sh" <<'EOF'
# The chain a user would script instead of `cybil run`; written by
# tests/bench/run.sh. Usage: bash peer.sh WORK TOP PARALLEL PER_CURL
set -euo pipefail
work=$1 top=$2 parallel=$3 per=$4
out=$work/peer
mkdir -p "$out/files" "$out/release"
t0=$EPOCHREALTIME
xargs -d '\n' -P "$parallel" -n $((3 * per)) curl -sS --compressed \
	<"$work/peer.args"
t1=$EPOCHREALTIME
/usr/bin/python3 "$top/tests/bench/feedparser-sqlite.py" "$out/peer.db" \
	--dir "$out/files"
t2=$EPOCHREALTIME
sqlite3 "$out/peer.db" "SELECT json_object('feed', feed, 'id', id,
	'title', title, 'link', link, 'published', published,
	'fields', json(fields)) FROM entry ORDER BY feed, id" \
	>"$out/release/records.jsonl"
sqlite3 -csv -header "$out/peer.db" "SELECT feed, id, title, link,
	published, fields FROM entry ORDER BY feed, id" \
	>"$out/release/records.csv"
tar -C "$out/release" --sort=name --format=pax --owner=0 --group=0 \
	--numeric-owner --mtime=@0 -cf - records.csv records.jsonl |
	zstd -q -3 -T2 >"$out/release.tar.zst"
(cd "$out" && sha256sum release.tar.zst >SHA256SUMS)
t3=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
	'BEGIN { printf "%.3f %.3f %.3f\n", b - a, c - b, d - c }' \
	>>"$work/peer.stages"
EOF

# --------------------------------------------------------------- measuring
last_rc=0
TIME=$GTIME	# for timed (common.sh)

q() {	# SQL: one number from the store, or -1 when it cannot answer
	local n
	if n=$(sqlite3 "$work/store/cybil.db" "$1" 2>>"$work/sqlite.err") &&
	    [[ $n =~ ^[0-9]+$ ]]; then
		echo "$n"
	else
		echo -1
	fi
}

errors=0
check() {	# WHAT GOT WANTED
	if [ "$2" != "$3" ]; then
		say "bench: round $run: $1: $2, expected $3" >&2
		errors=$((errors + 1))
	fi
}

cybil_run() {	# NAME: times `cybil -q -c CONF run`; its errors in NAME.err
	if ! timed "$1" "$CYBIL" -q -c "$conf" run 2>"$work/$1.err"; then
		say "bench: round $run: cybil run ($1) failed (exit $last_rc):" >&2
		head -n 20 "$work/$1.err" >&2
		errors=$((errors + 1))
	fi
}

# Untimed warm-up: the feeds into the page cache, nginx's workers up.
mkdir -p "$work/peer/files"
xargs -d '\n' -P "$PARALLEL" -n $((3 * PER_CURL)) curl -sS --compressed \
	<"$work/peer.args" >/dev/null 2>&1 || true
discard "$work/peer"
rm -rf "$work/store" "$work/blobs" "$work/evidence" "$work/public"

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')
for run in $(seq "$RUNS"); do
	# (a) the peer
	discard "$work/peer"
	if ! timed peer bash "$work/peer.sh" "$work" "$TOP" "$PARALLEL" \
	    "$PER_CURL" 2>"$work/peer.err"; then
		say "bench: round $run: the peer failed (exit $last_rc):" >&2
		tail -n 5 "$work/peer.err" >&2
		errors=$((errors + 1))
	fi
	check "peer files" "$(find "$work/peer/files" -type f | wc -l)" "$SOURCES"
	check "peer rows" "$(sqlite3 "$work/peer/peer.db" 'SELECT count(*) FROM entry' 2>/dev/null || echo -1)" "$total"
	peer_bytes=$(stat -c %s "$work/peer/release.tar.zst" 2>/dev/null || echo 0)

	# (b) cold: a fresh store, blob folder and publish tree
	discard "$work/store" "$work/blobs" "$work/evidence" "$work/public"
	cybil_run cold
	check "cold: 200 captures" "$(q "SELECT count(*) FROM capture WHERE status = 200")" "$SOURCES"
	records=$(q "SELECT count(*) FROM record")
	check "cold: records" "$records" "$total"
	check "cold: public records" "$(q "SELECT count(*) FROM record WHERE consent = 'public'")" "$total"
	check "cold: releases" "$(q "SELECT count(*) FROM release")" 1
	cybil_bytes=$(find "$work/public" -name 'cybil-*.tar.zst' -printf '%s\n' 2>/dev/null | tail -n 1)

	# (c) unchanged: the same store again
	b304=$(q "SELECT count(*) FROM capture WHERE status = 304")
	b200=$(q "SELECT count(*) FROM capture WHERE status = 200")
	cybil_run unchanged
	n304=$(( $(q "SELECT count(*) FROM capture WHERE status = 304") - b304 ))
	n200=$(( $(q "SELECT count(*) FROM capture WHERE status = 200") - b200 ))
	echo "$n304" >>"$work/unchanged.304"
	check "unchanged: 304 captures" "$n304" "$SOURCES"
	check "unchanged: new 200 captures" "$n200" 0
	check "unchanged: records" "$(q "SELECT count(*) FROM record")" "$total"
	check "unchanged: releases" "$(q "SELECT count(*) FROM release")" 1
done
total_secs=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# ------------------------------------------------------------------ report
max_rss() { sort -n "$work/$1.rss" | tail -n 1; }
list() { tr '\n' ' ' <"$work/$1.secs" | sed 's/ $//'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

m_peer=$(median "$work/peer.secs")
m_cold=$(median "$work/cold.secs")
m_unch=$(median "$work/unchanged.secs")
m_pf=$(cut -d ' ' -f 1 "$work/peer.stages" | median -)
m_pp=$(cut -d ' ' -f 2 "$work/peer.stages" | median -)
m_pr=$(cut -d ' ' -f 3 "$work/peer.stages" | median -)
r_cold=$(ratio "$m_cold" "$m_peer")
r_unch=$(ratio "$m_unch" "$m_peer")
r_uc=$(ratio "$m_unch" "$m_cold")

short() {	# HAVE WANTED: a note when HAVE is below issue 7's WANTED
	[ "$1" -ge "$2" ] || printf ' (below the %d of issue 7)' "$2"
}
say "cybil run benchmark (tests/bench/run.sh)"
say "machine:   $(nproc) cores, $(uname -srm), load $load_before (at start), temp folder on $(df --output=fstype "$work" 2>/dev/null | tail -n 1)"
say "versions:  $(curl --version | sed -n '1s/ (.*//p'), $("$NGINX" -v 2>&1 | sed -n 's/^nginx version: //p'), feedparser $("$PY" -c 'import feedparser; print(feedparser.__version__)'), sqlite3 $(sqlite3 -version | cut -d ' ' -f 1), $(zstd --version | sed 's/^\*\*\* //; s/ 64-bits//; s/, by.*//')"
say "feeds:     $SOURCES sources$(short "$SOURCES" "$SOURCES_WANTED") x $ITEMS items = $total records$(short "$total" "$RECORDS_WANTED"), $doc_mb MB (made in ${gen_secs}s), served by nginx at $base, gzip ${probe_enc:-off}"
say "peer:      the whole chain as one command: xargs -P$PARALLEL curl ($PER_CURL URLs a curl) to files;"
say "           feedparser + sqlite3 (tests/bench/feedparser-sqlite.py); sqlite3 -> records.jsonl,"
say "           records.csv; tar | zstd -3 -T2; sha256sum. It has no change detection, so an"
say "           unchanged run costs it the same: its one time stands beside both cybil rows"
say "runs:      $RUNS rounds of peer, cold, unchanged (${total_secs}s in all); sync before each"
say ""
printf '%-36s %9s  %-26s %8s %10s\n' "" "median s" "runs (s)" "CPU s" "peak RSS"
row() {	# NAME LABEL
	local rss cpu
	rss=$(max_rss "$1")
	cpu=$(median "$work/$1.cpu")
	printf '%-36s %9s  %-26s %8.2f %7.1f MB\n' "$2" "$(median "$work/$1.secs")" \
		"$(list "$1")" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
	result run "row=$1 median_s=$(median "$work/$1.secs") rss_kb=$rss" \
		"cpu_s=$cpu runs=$RUNS sources=$SOURCES records=$total peer=chain"
}
row peer "peer: the whole chain"
printf '%-36s %9s\n' "  of which fetch: xargs -P$PARALLEL curl" "$m_pf" \
	"           parse: feedparser+sqlite3" "$m_pp" \
	"           publish: sqlite3, tar|zstd" "$m_pr"
row cold "cybil run, cold"
row unchanged "cybil run, unchanged"
result run "row=peer-fetch median_s=$m_pf runs=$RUNS"
result run "row=peer-parse median_s=$m_pp runs=$RUNS"
result run "row=peer-publish median_s=$m_pr runs=$RUNS"
say ""
say "ratio cold / peer:        $r_cold"
say "ratio unchanged / peer:   $r_unch"
say "ratio unchanged / cold:   $r_uc"
result run "ratio=cold/peer value=$r_cold"
result run "ratio=unchanged/peer value=$r_unch"
result run "ratio=unchanged/cold value=$r_uc"
say "records: $records in the store after the last cold run; unchanged runs, 304 captures: $(tr '\n' ' ' <"$work/unchanged.304")(of $SOURCES)"
say "archives, last round: cybil ${cybil_bytes:-?} bytes (jsonl, csv, changes, data package), peer $peer_bytes bytes (jsonl, csv)"
say "(CPU s = user + system of the whole command and its children; peak RSS = the largest single process)"
if [ "$errors" -gt 0 ]; then
	say "bench: $errors errors while measuring; the numbers above are not comparable" >&2
	result run "errors=$errors"
	exit 1
fi
exit 0
