#!/usr/bin/env bash
# tests/bench/parse.sh - benchmark of cybil-parse (issue 4) beside its peers.
#
# Not a test: it prints numbers and never fails because of them. It exits
# non-zero only when it cannot measure.
#
# Issue 4 asks for a generated corpus of >= 200,000 feed entries and
# >= 20,000 IATI activities parsed into the store, in the same run as its
# peers (sfeed; Python feedparser inserting into sqlite3), their throughput
# ratios, and a peak memory <= 64 MB on a single 1 GB feed. So:
#
# In one temporary folder (removed at the end; KEEP_TMP=1 keeps it):
#   1. generates DOCS (default 3800, about 203,000 items, 187 MB) RSS 2.0
#      feeds of 20-80 KB (tests/bench/feeds.awk), and IATI_FILES (default
#      200) IATI 2.03 activity files of IATI_PER (default 100) activities
#      each, about 430 KB a file (tests/bench/iati.awk);
#   2. stores them as captures with cybil-fetch from file:// URLs
#      (allow_file = yes per source; kind = rss, kind = iati), untimed,
#      and keeps a copy of each store;
#   3. runs RUNS rounds (default 3) of, each on the same files:
#        cybil     cybil-parse -q on a fresh copy of the fetched store,
#                  every source consent = public: every item becomes a
#                  normalised record (NFC, dates, plain text beside HTML,
#                  content hash) with one consent event, one transaction
#                  per feed;
#        unchanged cybil-parse -q --reparse on the store the cold run
#                  filled: every record is found unchanged;
#        cybil pending  the same as cybil on another fresh copy, every
#                  source consent = pending: the records, no consent
#                  events;
#        sfeed     sfeed < FEED > FEED.tsv for each feed (sfeed 1.x, C,
#                  what sfeed_update runs per feed): TSV, no store;
#        feedparser  /usr/bin/python3 with feedparser: parse every feed
#                  and insert its entries into SQLite (title, link, id,
#                  published, summary as JSON), one transaction per feed;
#        iati      cybil-parse -q on a fresh copy of the fetched IATI store
#                  (its own store; consent = public): one record per
#                  activity. No peer parses IATI into a store, so it has
#                  no ratio;
#   4. prints the median wall time of each, items per second, peak RSS,
#      and the throughput ratios of both cybil rows against sfeed and
#      feedparser (items/s of cybil / items/s of the peer; above 1: cybil
#      is faster);
#   5. if at least 3 GB are free where the temporary folder is, streams one
#      RSS feed of BIG_MB (default 1024) MiB to it with awk, runs
#      cybil-parse --dump --kind rss FILE >/dev/null under GNU time, prints
#      its wall time, items/s and peak RSS against the 64 MB target, and
#      deletes the file at once.
#
# On 2 cores one round takes about 3.5 minutes (feedparser alone 75 s),
# the corpus and the 1 GB feed about 1 more: the default 3 rounds take
# about 12 minutes in all (the time is printed at the end). RUNS=1 for a
# quicker look.
#
# Usage: tests/bench/parse.sh   (after make; make bench runs it)
#   RUNS=N  DOCS=N  IATI_FILES=N  IATI_PER=N  BIG_MB=N (0: skip the big
#   feed)  KEEP_TMP=1  CYBIL_PARSE=PATH  CYBIL_FETCH=PATH  TMPDIR=DIR
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$TOP/tests/bench/common.sh"	# result (its median is redefined below)
RUNS=${RUNS:-3}
DOCS=${DOCS:-3800}
IATI_FILES=${IATI_FILES:-200}
IATI_PER=${IATI_PER:-100}
BIG_MB=${BIG_MB:-1024}
CYBIL_PARSE=${CYBIL_PARSE:-$TOP/bin/cybil-parse}
CYBIL_FETCH=${CYBIL_FETCH:-$TOP/bin/cybil-fetch}
PY=/usr/bin/python3
FEEDS_WANTED=200000	# issue 4's corpus
ACTIVITIES_WANTED=20000
BIG_FREE_KB=$((3 * 1024 * 1024))	# free space needed for the big feed
BIG_RSS_KB=$((64 * 1024))		# issue 4's peak memory target


for v in RUNS DOCS IATI_FILES IATI_PER; do
	case ${!v} in ''|*[!0-9]*|0) die "$v must be a positive number" ;; esac
done
case $BIG_MB in ''|*[!0-9]*) die "BIG_MB must be a number (0: skip)" ;; esac
[ -x "$CYBIL_PARSE" ] && [ -x "$CYBIL_FETCH" ] || die "run make first"
command -v sfeed >/dev/null || die "sfeed not found: install the Debian package sfeed"
"$PY" -c 'import feedparser' 2>/dev/null ||
	die "feedparser not found: install the Debian package python3-feedparser"
[ -x /usr/bin/time ] || die "GNU time not found: install the Debian package time"
command -v sqlite3 >/dev/null || die "sqlite3 not found: install the Debian package sqlite3"

start=$EPOCHREALTIME
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

# ------------------------------------------------------------- the corpus
docs=$work/docs
iati=$work/iati
mkdir -p "$docs" "$iati" "$work/sfeed" "$work/var" "$work/pvar" "$work/ivar"
awk -v n="$DOCS" -v dir="$docs" -v min=20000 -v span=60000 \
	-f "$TOP/tests/bench/feeds.awk" || die "generating the feeds failed"
awk -v n="$IATI_FILES" -v per="$IATI_PER" -v dir="$iati" \
	-f "$TOP/tests/bench/iati.awk" || die "generating the IATI files failed"
items=$(cat "$docs"/*.xml | grep -c '<item>')
activities=$(cat "$iati"/*.xml | grep -c '<iati-activity ')
mb=$(du -sm "$docs" | cut -f1)
iati_mb=$(du -sm "$iati" | cut -f1)

# conf STORE-DIR KIND DIR PREFIX COUNT CONSENT: a configuration with one
# file:// source per document.
conf() {
	local i
	printf '[store]\npath = %s/cybil.db\nblobs = %s/blobs\n' "$1" "$1"
	printf '[fetch]\nparallel = 16\n'
	for ((i = 1; i <= $5; i++)); do
		printf '[source "%s%d"]\nkind = %s\nurl = file://%s/%s%d.xml\n' \
			"$4" "$i" "$2" "$3" "$4" "$i"
		printf 'allow_file = yes\nrobots = no\nconsent = %s\n' "$6"
	done
}
conf "$work/var" rss "$docs" d "$DOCS" public >"$work/cybil.conf"
# The same sources, pending, on a copy of the same store; the blobs of
# the first are read.
conf "$work/var" rss "$docs" d "$DOCS" pending |
	sed "s|^path = .*|path = $work/pvar/cybil.db|" >"$work/pending.conf"
conf "$work/ivar" iati "$iati" a "$IATI_FILES" public >"$work/iati.conf"

"$CYBIL_FETCH" -q -c "$work/cybil.conf" || die "cybil-fetch failed"
cp "$work/var/cybil.db" "$work/fetched.db"
"$CYBIL_FETCH" -q -c "$work/iati.conf" || die "cybil-fetch (IATI) failed"
cp "$work/ivar/cybil.db" "$work/iati-fetched.db"

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

# fresh DIR COPY: DIR/cybil.db is COPY again, without a WAL.
fresh() {
	cp "$2" "$1/cybil.db"
	rm -f "$1/cybil.db-wal" "$1/cybil.db-shm"
}

for ((r = 1; r <= RUNS; r++)); do
	fresh "$work/var" "$work/fetched.db"
	fresh "$work/pvar" "$work/fetched.db"
	fresh "$work/ivar" "$work/iati-fetched.db"
	rm -f "$work/peer.db"
	timed cybil "$CYBIL_PARSE" -q -c "$work/cybil.conf"
	timed unchanged "$CYBIL_PARSE" -q -c "$work/cybil.conf" --reparse
	timed pending "$CYBIL_PARSE" -q -c "$work/pending.conf"
	timed sfeed bash -c run_sfeed
	timed feedparser "$PY" "$TOP/tests/bench/feedparser-sqlite.py" \
		"$work/peer.db" "$docs"/*.xml
	timed iati "$CYBIL_PARSE" -q -c "$work/iati.conf"
done

q() { sqlite3 "$1/cybil.db" "$2"; }
records=$(q "$work/var" "SELECT count(*) FROM record")
events=$(q "$work/var" "SELECT count(*) FROM consent_event")
consents=$(q "$work/var" "SELECT group_concat(c, ', ') FROM (SELECT consent || ' ' || count(*) AS c FROM record GROUP BY consent)")
p_records=$(q "$work/pvar" "SELECT count(*) FROM record")
p_events=$(q "$work/pvar" "SELECT count(*) FROM consent_event")
p_consents=$(q "$work/pvar" "SELECT group_concat(c, ', ') FROM (SELECT consent || ' ' || count(*) AS c FROM record GROUP BY consent)")
i_records=$(q "$work/ivar" "SELECT count(*) FROM record")
sfeed_rows=$(cat "$work/sfeed"/*.tsv | wc -l)
peer_rows=$(sqlite3 "$work/peer.db" "SELECT count(*) FROM entry")

median() {	# FILE: the median of its first column, and the KB beside it
	sort -n "$1" | awk '{ t[NR] = $1; k[NR] = $2 }
		END { m = int((NR + 1) / 2); print t[m], k[m] }'
}
read -r t_cybil kb_cybil < <(median "$work/cybil.times")
read -r t_unch kb_unch < <(median "$work/unchanged.times")
read -r t_pend kb_pend < <(median "$work/pending.times")
read -r t_sfeed kb_sfeed < <(median "$work/sfeed.times")
read -r t_fp kb_fp < <(median "$work/feedparser.times")
read -r t_iati kb_iati < <(median "$work/iati.times")

short() {	# HAVE WANTED: a note when HAVE is below issue 4's WANTED
	[ "$1" -ge "$2" ] || printf ' (below the %d of issue 4)' "$2"
}
say "parse benchmark: $DOCS feeds, $items items$(short "$items" "$FEEDS_WANTED"), $mb MB; $IATI_FILES IATI files, $activities activities$(short "$activities" "$ACTIVITIES_WANTED"), $iati_mb MB; median of $RUNS runs"
say "  $(nproc) cores, $(uname -r), sfeed $(dpkg-query -W -f='${Version}' sfeed 2>/dev/null), feedparser $("$PY" -c 'import feedparser; print(feedparser.__version__)')"
row() {	# NAME SECONDS KB ROWS [UNIT]
	awk -v n="$1" -v t="$2" -v k="$3" -v r="$4" -v u="${5:-items}" 'BEGIN {
		printf "  %-14s %7.2f s %9.0f %s/s %7.1f MB peak RSS %8d rows\n",
			n, t, (t > 0 ? r / t : 0), u, k / 1024, r }'
	result parse "row=${1// /-} median_s=$2 rss_kb=$3 rows=$4" \
		"per_s=$(awk -v t="$2" -v r="$4" 'BEGIN { printf "%.0f", (t > 0 ? r / t : 0) }')" \
		"runs=$RUNS $([ "${5:-items}" = items ] && echo "sources=$DOCS" || echo "files=$IATI_FILES")"
}
row cybil "$t_cybil" "$kb_cybil" "$records"
row "cybil pending" "$t_pend" "$kb_pend" "$p_records"
row unchanged "$t_unch" "$kb_unch" "$records"
row sfeed "$t_sfeed" "$kb_sfeed" "$sfeed_rows"
row feedparser "$t_fp" "$kb_fp" "$peer_rows"
row "iati" "$t_iati" "$kb_iati" "$i_records" activities
say "  records by consent: cybil: $consents, $events consent events; cybil pending: $p_consents, $p_events consent events"
say "  iati: no peer parses IATI activities into a store, so no ratio"
# ratio NAME SECONDS ROWS: throughput of NAME against sfeed and feedparser.
ratio() {
	awk -v n="$1" -v t="$2" -v r="$3" -v ts="$t_sfeed" -v rs="$sfeed_rows" \
		-v tf="$t_fp" -v rf="$peer_rows" 'BEGIN {
		c = (t > 0 ? r / t : 0)
		s = (ts > 0 ? rs / ts : 0); f = (tf > 0 ? rf / tf : 0)
		printf "    %-14s vs sfeed %5.2f   vs feedparser+sqlite3 %5.2f\n",
			n, (s > 0 ? c / s : 0), (f > 0 ? c / f : 0)
		m = n; gsub(/ /, "-", m)
		printf "%s/sfeed %.2f %s/feedparser %.2f\n", m, (s > 0 ? c / s : 0),
			m, (f > 0 ? c / f : 0) >"/dev/stderr" }' 2>"$work/ratios"
	read -r n1 v1 n2 v2 <"$work/ratios"
	result parse "ratio=$n1 value=$v1 kind=throughput"
	result parse "ratio=$n2 value=$v2 kind=throughput"
}
say "  throughput ratios (items/s of cybil / items/s of the peer; above 1: cybil is faster):"
ratio cybil "$t_cybil" "$records"
ratio "cybil pending" "$t_pend" "$p_records"

# ---------------------------------------------------------- the 1 GB feed
if [ "$BIG_MB" -eq 0 ]; then
	say "big feed: skipped (BIG_MB=0)"
else
	free_kb=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
	if [ "${free_kb:-0}" -lt "$BIG_FREE_KB" ]; then
		say "big feed: skipped: $((free_kb / 1024)) MB free in $work, 3 GB needed (set TMPDIR elsewhere)"
	else
		big=$work/big.xml
		# Streamed: each item printed as it is made; texts from a pool
		# of 1000 titles and descriptions, every guid and link distinct.
		awk -v bytes=$((BIG_MB * 1048576)) -v count="$work/big.items" '
		function word() { return w[int(rand() * nw) + 1] }
		function words(k,   s, i) {
			s = word()
			for (i = 1; i < k; i++)
				s = s " " word()
			return s
		}
		function cap(s) { return toupper(substr(s, 1, 1)) substr(s, 2) }
		function d2(x) { return sprintf("%02d", x) }
		BEGIN {
			srand(20240603)
			nw = split("consent record archive harvest network " \
				"project community research partner open data " \
				"portal actor event publication report culture " \
				"heritage library museum volunteer funding policy " \
				"workshop meeting summary annual regional national " \
				"council study survey climate water energy health " \
				"education training digital platform", w)
			split("Mon Tue Wed Thu Fri Sat Sun", dow)
			split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon)
			for (k = 1; k <= 1000; k++) {
				title[k] = cap(words(4 + int(rand() * 6)))
				desc[k] = "&lt;p&gt;" cap(words(20 + int(rand() * 40))) \
					".&lt;/p&gt;&lt;p&gt;" \
					cap(words(10 + int(rand() * 30))) ".&lt;/p&gt;"
			}
			s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
				"<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n" \
				"<channel>\n  <title>One big feed</title>\n" \
				"  <link>https://big.example.org/</link>\n" \
				"  <description>" cap(words(12)) ".</description>\n" \
				"  <language>en</language>\n"
			for (i = 0; total < bytes; i++) {
				printf "%s", s
				total += length(s)
				j = i + 1
				s = "  <item>\n    <title>" title[int(rand() * 1000) + 1] \
					" " j "</title>\n" \
					"    <link>https://big.example.org/news/" j "</link>\n" \
					"    <guid isPermaLink=\"false\">big-item" j "</guid>\n" \
					"    <pubDate>" dow[int(rand() * 7) + 1] ", " \
					d2(1 + int(rand() * 28)) " " mon[int(rand() * 12) + 1] \
					" 2024 " d2(int(rand() * 24)) ":" d2(int(rand() * 60)) \
					":" d2(int(rand() * 60)) " +0000</pubDate>\n" \
					"    <dc:creator>" cap(word()) " " cap(word()) "</dc:creator>\n" \
					"    <description>" desc[int(rand() * 1000) + 1] "</description>\n" \
					"  </item>\n"
			}
			printf "</channel>\n</rss>\n"
			print i - 1 >count
		}' >"$big" || { rm -f "$big"; die "generating the big feed failed"; }
		big_bytes=$(stat -c %s "$big")
		big_items=$(cat "$work/big.items")
		sync
		rc=0
		/usr/bin/time -f '%e %M' -o "$work/time" \
			"$CYBIL_PARSE" --dump --kind rss "$big" >/dev/null || rc=$?
		rm -f "$big"
		[ "$rc" -eq 0 ] || die "cybil-parse --dump failed on the big feed (exit $rc)"
		read -r t_big kb_big < <(tail -n 1 "$work/time")
		awk -v b="$big_bytes" -v n="$big_items" -v t="$t_big" -v k="$kb_big" \
			-v lim="$BIG_RSS_KB" 'BEGIN {
			printf "big feed: one RSS file of %d bytes (%.2f GB), %d items: " \
				"cybil-parse --dump --kind rss FILE >/dev/null\n", b, b / 1e9, n
			printf "  %.2f s %9.0f items/s %7.1f MB peak RSS: %s (target <= 64 MB)\n",
				t, (t > 0 ? n / t : 0), k / 1024, (k <= lim ? "met" : "MISSED") }'
		result parse "row=big-feed median_s=$t_big rss_kb=$kb_big" \
			"rows=$big_items bytes=$big_bytes runs=1"
	fi
fi
awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {
	printf "(whole benchmark: %.0f s)\n", b - a }'
