#!/usr/bin/env bash
# tests/bench/publish.sh - benchmark of cybil-publish (issue 6) beside a
# shell pipeline doing the same job with standard tools.
#
# Not a test: it prints numbers and never fails because of them. It exits
# non-zero only when it cannot measure.
#
# In one temporary folder (removed at the end; KEEP_TMP=1 keeps it):
#   1. makes a store of RECORDS (default 1,000,000) publishable news
#      records with the sqlite3 CLI: a summary, an HTML summary with a
#      link, a date, a language and two categories each, about 600 bytes
#      of fields, ids random as cybil's are. The store's trigger that makes
#      every new record start pending is dropped in this copy, so the rows
#      can be written public at once (cybil-parse at 4,000 records/s
#      would take minutes); untimed;
#   2. runs RUNS rounds (default 3) of, each from a fresh copy of that
#      store, at zstd level 3 with 2 threads (the [publish] defaults):
#        cybil     cybil-publish -q: the first release, from one read of
#                  the publishable view: records.jsonl (canonical JSON,
#                  corrections applied, the HTML summary parsed and
#                  allow-list sanitised by libxml2), records.csv (RFC 4180,
#                  formula cells neutralised), changes.jsonl,
#                  tombstones.jsonl, datapackage.json with each member's
#                  sha256, the deterministic tar.zst, SHA256SUMS and two
#                  minisign signatures, and the store's record of what
#                  the release holds;
#        pipeline  the sqlite3 CLI writing the same records.jsonl (with
#                  json_object, no sanitising), records.csv and
#                  changes.jsonl from the same view in id order, then
#                  tar --sort=name --format=pax (owner 0, fixed mtime) |
#                  zstd -3 -T2, then sha256sum: the same content made by
#                  standard tools, none of the checks;
#   3. prints the median wall time of each, records per second, peak RSS,
#      the archive sizes and the time ratio cybil / pipeline (the issue's
#      target: <= 1.2).
#
# One round takes about a minute on 2 cores. RUNS=1 for a quicker look.
#
# Usage: tests/bench/publish.sh   (after make; make bench runs it)
#   RECORDS=N  RUNS=N  KEEP_TMP=1  TMPDIR=DIR
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$TOP/tests/bench/common.sh"	# median, result
PUBLISH=$TOP/bin/cybil-publish
RECORDS=${RECORDS:-1000000}
RUNS=${RUNS:-3}
SQLITE=/usr/bin/sqlite3
GTIME=/usr/bin/time
for tool in "$PUBLISH" "$SQLITE" "$GTIME"; do
	[ -x "$tool" ] || { echo "publish bench: $tool is missing" >&2; exit 1; }
done
for tool in zstd tar sha256sum; do
	command -v "$tool" >/dev/null ||
		{ echo "publish bench: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/cybil-bench-publish.XXXXXX")
[ -n "${KEEP_TMP:-}" ] || trap 'rm -rf "$work"' EXIT
started=$(date +%s)
export SOURCE_DATE_EPOCH=$started
unset CYBIL_CONFIG CYBIL_LOCK_FD

# --- 1. the store ----------------------------------------------------------
mkdir -p "$work/base"
cat >"$work/base/cybil.conf" <<EOF
[store]
path = cybil.db
[publish]
dir = public
key = keys/cybil.key
[source "bench"]
kind = rss
url = https://example.org/feed.xml
consent = public
EOF
"$PUBLISH" -q -c "$work/base/cybil.conf" --keygen >/dev/null
"$PUBLISH" -q -c "$work/base/cybil.conf" --dry-run >/dev/null
echo "publish bench: making a store of $RECORDS publishable records"
"$SQLITE" "$work/base/cybil.db" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
DROP TRIGGER record_starts_pending;
BEGIN;
INSERT INTO capture (id, source, url, fetched_at, status, sha256, bytes)
 VALUES (1, 'bench', 'https://example.org/feed.xml', '2026-11-28T00:00:00Z',
 200, printf('%064d', 0), 1);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $RECORDS)
INSERT INTO record_key (source, external_id, record_id)
 SELECT 'bench', 'item-' || i, lower(hex(randomblob(16))) FROM n;
INSERT INTO record (id, source, kind, external_id, title, url, fields,
 content_sha256, first_seen, last_seen, changed_at, capture_id, parser,
 parser_version, consent, consent_basis)
 SELECT record_id, 'bench', 'news', external_id,
  'Workshop ' || external_id || ' on cyber capacity building in the region',
  'https://example.org/news/' || external_id || '.html',
  json_object(
   'summary', 'Officials and experts met to discuss ' || external_id ||
    ': national strategies, incident response teams and the next steps of'
    || ' the programme, with partners from the region.',
   'summary_html', '<p>Officials and experts met to discuss <b>' ||
    external_id || '</b>: national strategies, incident response teams and'
    || ' the <a href="https://example.org/programme">programme</a>.</p>',
   'published', '2026-11-20T10:00:00Z', 'published_precision', 'time',
   'language', 'en', 'categories', json_array('cyber', 'capacity')),
  lower(hex(randomblob(32))), '2026-11-28T00:00:00Z', '2026-11-28T00:00:00Z',
  '2026-11-28T00:00:00Z', 1, 'rss', '1', 'public', 'public-source'
 FROM record_key;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
echo "publish bench: store ready ($(du -m "$work/base/cybil.db" | cut -f1) MB)"

# --- 2. the rounds -----------------------------------------------------------
fresh() {  # fresh DIR: a copy of the base store, nothing published
	rm -rf "$1"
	mkdir -p "$1"
	cp -a "$work/base/cybil.conf" "$work/base/cybil.db" "$work/base/keys" "$1/"
}

pipeline() {  # pipeline DIR
	local d=$1 db=$1/cybil.db out=$1/out
	mkdir -p "$out"
	"$SQLITE" "$db" "SELECT json_object('basis', p.consent_basis,
		'captured_at', c.fetched_at, 'content_sha256', p.content_sha256,
		'fields', json(p.fields), 'id', p.id, 'kind', p.kind,
		'source', p.source, 'source_url', c.url, 'title', p.title,
		'url', p.url) FROM publishable p LEFT JOIN capture c
		ON c.id = p.capture_id ORDER BY p.id" >"$out/records.jsonl"
	"$SQLITE" -csv -header "$db" "SELECT p.id, p.kind, p.source, p.title,
		p.url, p.fields ->> 'published' AS published,
		p.fields ->> 'updated' AS updated,
		p.fields ->> 'language' AS language, p.consent_basis AS basis,
		c.url AS source_url, c.fetched_at AS captured_at,
		p.content_sha256, p.fields AS fields_json FROM publishable p
		LEFT JOIN capture c ON c.id = p.capture_id
		ORDER BY p.id" >"$out/records.csv"
	"$SQLITE" "$db" "SELECT json_object('change', 'added', 'id', id)
		FROM publishable ORDER BY id" >"$out/changes.jsonl"
	: >"$out/tombstones.jsonl"
	echo '{"profile":"data-package"}' >"$out/datapackage.json"
	tar -C "$out" --sort=name --format=pax --owner=0 --group=0 \
		--numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -cf - \
		changes.jsonl datapackage.json records.csv records.jsonl \
		tombstones.jsonl | zstd -q -3 -T2 >"$d/release.tar.zst"
	(cd "$d" && sha256sum release.tar.zst >SHA256SUMS)
}

measure() {  # measure NAME CMD...: wall seconds and peak RSS (KB)
	local name=$1
	shift
	"$GTIME" -f "%e %M" -o "$work/$name.time" "$@"
	cat "$work/$name.time"
}

: >"$work/cybil.runs"
: >"$work/pipeline.runs"
for round in $(seq 1 "$RUNS"); do
	fresh "$work/c"
	sync
	measure cybil "$PUBLISH" -q -c "$work/c/cybil.conf" >>"$work/cybil.runs"
	csize=$(du -b "$work/c/public/releases/000001/cybil-000001.tar.zst" | cut -f1)
	fresh "$work/p"
	sync
	measure pipeline bash -c "$(declare -f pipeline); SQLITE=$SQLITE \
		SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH pipeline $work/p" \
		>>"$work/pipeline.runs"
	psize=$(du -b "$work/p/release.tar.zst" | cut -f1)
	echo "publish bench: round $round: cybil $(tail -n 1 "$work/cybil.runs" | cut -d' ' -f1) s, pipeline $(tail -n 1 "$work/pipeline.runs" | cut -d' ' -f1) s"
done

# --- 3. the report ------------------------------------------------------------
ct=$(cut -d' ' -f1 "$work/cybil.runs" | median -)
pt=$(cut -d' ' -f1 "$work/pipeline.runs" | median -)
cm=$(cut -d' ' -f2 "$work/cybil.runs" | sort -n | tail -n 1)
pm=$(cut -d' ' -f2 "$work/pipeline.runs" | sort -n | tail -n 1)
echo
echo "publish bench: $RECORDS records, median of $RUNS rounds, zstd -3 with 2 threads"
printf '%-10s %9s %12s %12s %14s\n' run seconds records/s "peak RSS MB" "archive bytes"
printf '%-10s %9s %12.0f %12.1f %14s\n' cybil "$ct" \
	"$(echo "$RECORDS / $ct" | bc -l)" "$(echo "$cm / 1024" | bc -l)" "$csize"
printf '%-10s %9s %12.0f %12.1f %14s\n' pipeline "$pt" \
	"$(echo "$RECORDS / $pt" | bc -l)" "$(echo "$pm / 1024" | bc -l)" "$psize"
printf 'time ratio cybil / pipeline: %.2f (target <= 1.2)\n' \
	"$(echo "$ct / $pt" | bc -l)"
result publish "row=cybil median_s=$ct rss_kb=$cm bytes=$csize" \
	"runs=$RUNS records=$RECORDS"
result publish "row=pipeline median_s=$pt rss_kb=$pm bytes=$psize" \
	"runs=$RUNS records=$RECORDS"
result publish "ratio=cybil/pipeline value=$(printf '%.2f' "$(echo "$ct / $pt" | bc -l)")"
echo "publish bench: done in $(($(date +%s) - started)) s"
