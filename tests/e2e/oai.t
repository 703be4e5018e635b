#!/bin/bash
# An OAI-PMH source across runs, through the real cybil-fetch and
# cybil-parse: a full list of two pages, then an incremental one (from =
# the first page's response date), then a full list again that lacks a
# record. Only a complete, full list marks records gone, however fast
# its pages come; an incremental list never does.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/www"
DB=$T/var/cybil.db
unset CYBIL_CONFIG CYBIL_LOCK_FD

# page FILE DATE TOKEN ID:TITLE...: one ListRecords page.
page() {
	local file=$1 date=$2 token=$3 rec
	shift 3
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
		echo "<responseDate>$date</responseDate>"
		echo '<request verb="ListRecords">http://repo.example.org/oai</request>'
		echo '<ListRecords>'
		for rec in "$@"; do
			echo "<record><header><identifier>oai:x:${rec%%:*}</identifier>"
			echo "<datestamp>2026-11-01</datestamp></header><metadata>"
			echo '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
			echo "<dc:title>${rec#*:}</dc:title></oai_dc:dc></metadata></record>"
		done
		echo "<resumptionToken>$token</resumptionToken>"
		echo '</ListRecords></OAI-PMH>'
	} >"$T/www/$file"
}

FIRST=2026-11-27T03:00:00Z
NEXT=2026-11-28T03:00:00Z
httpd_start "$T/www" \
	--route "/oai?verb=ListRecords&metadataPrefix=oai_dc=full1.xml" \
	--route "/oai?verb=ListRecords&resumptionToken=t1=full2.xml" \
	--route "/oai?verb=ListRecords&metadataPrefix=oai_dc&from=$FIRST=inc1.xml" \
	--route "/oai?verb=ListRecords&resumptionToken=t2=inc2.xml"
cat >"$T/cybil.conf" <<EOF
[store]
path = var/cybil.db
blobs = var/blobs
[fetch]
allow_private = yes
timeout = 5s
[source "repo"]
kind = oai-pmh
url = $HTTPD_URL/oai
robots = no
EOF

# harvest: fetch the source, then fetch and parse until no page is left
# queued (the source itself is not due again meanwhile).
harvest() {
	local round force=--force
	: >"$T/parse.err"
	: >"$HTTPD_LOG"
	for round in 1 2 3 4; do
		"$BIN/cybil-fetch" -q -c "$T/cybil.conf" $force || return 1
		force=
		"$BIN/cybil-parse" -c "$T/cybil.conf" 2>>"$T/parse.err" ||
			return 1
		[ "$(q "SELECT count(*) FROM queue WHERE done_at IS NULL")" = 0 ] &&
			return 0
	done
	return 1
}
q() { sqlite3 "$DB" "$1"; }
states() { q "SELECT group_concat(external_id || '=' || state, ' ') FROM (SELECT * FROM record ORDER BY external_id)"; }

# --- a full list of two pages -------------------------------------------
page full1.xml "$FIRST" t1 1:One 2:Two
page full2.xml 2026-11-27T03:00:05Z "" 3:Three 4:Four
ok "a full list of two pages is harvested" harvest
is "$(states)" "oai:x:1=active oai:x:2=active oai:x:3=active oai:x:4=active" \
	"every record of both pages is active"
is "$(q "SELECT harvest_from FROM source WHERE name = 'repo'")" "$FIRST" \
	"the next harvest starts from the first page's response date"
is "$(q "SELECT count(*) FROM capture WHERE source = 'repo' AND parsed_at IS NOT NULL")" 2 \
	"both pages were fetched and parsed"

# --- an incremental list of two pages without record 4: nothing is gone --
page inc1.xml "$NEXT" t2 "1:One again" 2:Two
page inc2.xml 2026-11-28T03:00:09Z "" 3:Three 5:Five
ok "an incremental list of two pages is harvested" harvest
is "$(grep -o 'GET /oai?[^ ]*' "$HTTPD_LOG" | tr '\n' ' ')" \
	"GET /oai?verb=ListRecords&metadataPrefix=oai_dc&from=2026-11-27T03%3a00%3a00Z GET /oai?verb=ListRecords&resumptionToken=t2 " \
	"it asked only for what changed since the first page's date, then the next page"
is "$(states)" \
	"oai:x:1=active oai:x:2=active oai:x:3=active oai:x:4=active oai:x:5=active" \
	"records it does not list are not gone"
is "$(q "SELECT title FROM record WHERE external_id = 'oai:x:1'")" "One again" \
	"a changed record is updated"
is "$(q "SELECT harvest_from FROM source WHERE name = 'repo'")" "$NEXT" \
	"harvest_from moves to its first page's date"

# --- a full list again, one record missing, pages in the same second ------
q "UPDATE source SET harvest_from = NULL WHERE name = 'repo'"
page full1.xml 2026-11-29T03:00:00Z t1 "1:One again" 2:Two
page full2.xml 2026-11-29T03:00:01Z "" 3:Three 5:Five
ok "a full list is harvested again" harvest
is "$(states)" \
	"oai:x:1=active oai:x:2=active oai:x:3=active oai:x:4=gone oai:x:5=active" \
	"only the record no page listed is gone"
like "$(cat "$T/parse.err")" "1 gone" "the summary counts it"

# --- --reparse rebuilds records only ----------------------------------------
from=$(q "SELECT harvest_from FROM source WHERE name = 'repo'")
q "UPDATE queue SET done_at = '2026-11-29T00:00:00Z' WHERE done_at IS NULL"
ok "--reparse" "$BIN/cybil-parse" -q -c "$T/cybil.conf" --reparse
is "$(q "SELECT count(*) FROM queue WHERE done_at IS NULL")" 0 \
	"queues no old resumption page again"
is "$(q "SELECT harvest_from FROM source WHERE name = 'repo'")" "$from" \
	"and does not move where the next harvest starts"

done_testing
