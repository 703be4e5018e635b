#!/usr/bin/env bash
# tests/bench/parse.sh - benchmark of cybil-parse (issue 4) beside its peers.
#
# Not a test: it prints numbers and never fails because of them. It exits
# non-zero only when it cannot measure.
#
# In one temporary folder (removed at the end; KEEP_TMP=1 keeps it):
#   1. generates DOCS (default 1000) RSS 2.0 feeds of 20-80 KB
#      (tests/bench/feeds.awk);
#   2. stores them as captures with cybil-fetch from file:// URLs
#      (allow_file = yes per source), untimed, and keeps a copy of that store;
#   3. runs RUNS rounds (default 3) of, each on the same files:
#        cybil     cybil-parse -q on a fresh copy of the fetched store:
#                  every item becomes a normalised record (NFC, dates,
#                  plain text beside HTML, content hash, consent event
#                  for a public source), one transaction per feed;
#        unchanged cybil-parse -q --reparse on the store the cold run
#                  filled: every record is found unchanged;
#        sfeed     sfeed < FEED > FEED.tsv for each feed (sfeed 1.x, C,
#                  what sfeed_update runs per feed): TSV, no store;
#        feedparser  /usr/bin/python3 with feedparser: parse every feed
#                  and insert its entries into SQLite (title, link, id,
#                  published, summary as JSON), one transaction per feed;
#   4. prints the median wall time of each, items per second, the ratios
#      cybil / peer (below 1: cybil is faster) and peak RSS.
#
# Usage: tests/bench/parse.sh   (after make; make bench runs it)
#   RUNS=N  DOCS=N  KEEP_TMP=1  CYBIL_PARSE=PATH  CYBIL_FETCH=PATH
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNS=${RUNS:-3}
DOCS=${DOCS:-1000}
CYBIL_PARSE=${CYBIL_PARSE:-$TOP/bin/cybil-parse}
CYBIL_FETCH=${CYBIL_FETCH:-$TOP/bin/cybil-fetch}
PY=/usr/bin/python3

say() { printf '%s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive number" ;; esac
case $DOCS in ''|*[!0-9]*|0) die "DOCS must be a positive number" ;; esac
[ -x "$CYBIL_PARSE" ] && [ -x "$CYBIL_FETCH" ] || die "run make first"
command -v sfeed >/dev/null || die "sfeed not found: install the Debian package sfeed"
"$PY" -c 'import feedparser' 2>/dev/null ||
	die "feedparser not found: install the Debian package python3-feedparser"
[ -x /usr/bin/time ] || die "GNU time not found: install the Debian package time"

work=$(mktemp -d "${TMPDIR:-/tmp}/cybil-bench.XXXXXX") || die "no temporary folder"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT
	if [ "${KEEP_TMP:-0}" = 1 ]; then say "bench: kept $work" >&2
	else rm -rf "$work"; fi
	exit "$rc"
}
trap cleanup EXIT

docs=$work/docs
mkdir -p "$docs" "$work/sfeed" "$work/var"
awk -v n="$DOCS" -v dir="$docs" -v min=20000 -v span=60000 \
	-f "$TOP/tests/bench/feeds.awk" || die "generating the feeds failed"
items=$(cat "$docs"/*.xml | grep -c '<item>')
mb=$(du -sm "$docs" | cut -f1)

{
	printf '[store]\npath = %s/var/cybil.db\nblobs = %s/var/blobs\n' \
		"$work" "$work"
	printf '[fetch]\nparallel = 16\n'
	for ((i = 1; i <= DOCS; i++)); do
		printf '[source "d%d"]\nkind = rss\nurl = file://%s/d%d.xml\n' \
			"$i" "$docs" "$i"
		printf 'allow_file = yes\nrobots = no\nconsent = public\n'
	done
} >"$work/cybil.conf"
"$CYBIL_FETCH" -q -c "$work/cybil.conf" || die "cybil-fetch failed"
cp "$work/var/cybil.db" "$work/fetched.db"

cat >"$work/peer.py" <<'EOF'
import json, sqlite3, sys, feedparser
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE IF NOT EXISTS entry (feed TEXT, id TEXT, title TEXT,"
           " link TEXT, published TEXT, fields TEXT, PRIMARY KEY (feed, id))")
for path in sys.argv[2:]:
    d = feedparser.parse(path)
    with db:
        for e in d.entries:
            db.execute("INSERT OR REPLACE INTO entry VALUES (?,?,?,?,?,?)",
                       (path, e.get("id"), e.get("title"), e.get("link"),
                        e.get("published"),
                        json.dumps({"summary": e.get("summary"),
                                    "author": e.get("author")})))
EOF

# timed NAME CMD...: runs CMD under GNU time; appends "SECONDS KB" to
# $work/NAME.times.
timed() {
	local name=$1
	shift
	sync
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null ||
		die "$name failed: $*"
	tail -n 1 "$work/time" >>"$work/$name.times"
}
run_sfeed() {
	for f in "$docs"/*.xml; do
		sfeed <"$f" >"$work/sfeed/${f##*/}.tsv"
	done
}
export -f run_sfeed
export docs work

for ((r = 1; r <= RUNS; r++)); do
	cp "$work/fetched.db" "$work/var/cybil.db"
	rm -f "$work/var/cybil.db-wal" "$work/var/cybil.db-shm" "$work/peer.db"
	timed cybil "$CYBIL_PARSE" -q -c "$work/cybil.conf"
	timed unchanged "$CYBIL_PARSE" -q -c "$work/cybil.conf" --reparse
	timed sfeed bash -c run_sfeed
	timed feedparser "$PY" "$work/peer.py" "$work/peer.db" "$docs"/*.xml
done

records=$(sqlite3 "$work/var/cybil.db" "SELECT count(*) FROM record")
sfeed_rows=$(cat "$work/sfeed"/*.tsv | wc -l)
peer_rows=$(sqlite3 "$work/peer.db" "SELECT count(*) FROM entry")

median() {	# FILE: the median of its first column, and the KB beside it
	sort -n "$1" | awk '{ t[NR] = $1; k[NR] = $2 }
		END { m = int((NR + 1) / 2); print t[m], k[m] }'
}
read -r t_cybil kb_cybil < <(median "$work/cybil.times")
read -r t_unch kb_unch < <(median "$work/unchanged.times")
read -r t_sfeed kb_sfeed < <(median "$work/sfeed.times")
read -r t_fp kb_fp < <(median "$work/feedparser.times")

say "parse benchmark: $DOCS feeds, $items items, $mb MB; median of $RUNS runs"
say "  $(nproc) cores, $(uname -r), sfeed $(dpkg-query -W -f='${Version}' sfeed 2>/dev/null), feedparser $("$PY" -c 'import feedparser; print(feedparser.__version__)')"
row() {	# NAME SECONDS KB ROWS
	awk -v n="$1" -v t="$2" -v k="$3" -v r="$4" 'BEGIN {
		printf "  %-12s %7.2f s %9.0f items/s %7.1f MB peak RSS %8d rows\n",
			n, t, (t > 0 ? r / t : 0), k / 1024, r }'
}
row cybil "$t_cybil" "$kb_cybil" "$records"
row unchanged "$t_unch" "$kb_unch" "$records"
row sfeed "$t_sfeed" "$kb_sfeed" "$sfeed_rows"
row feedparser "$t_fp" "$kb_fp" "$peer_rows"
awk -v c="$t_cybil" -v s="$t_sfeed" -v f="$t_fp" 'BEGIN {
	printf "  ratios: cybil/sfeed %.2f, cybil/feedparser+sqlite3 %.3f\n",
		(s > 0 ? c / s : 0), (f > 0 ? c / f : 0) }'
