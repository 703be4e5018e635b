#!/bin/bash
# cybil-parse against the store: identity, change, consent defaults,
# re-pending, sticky withdrawals, gone with its share guard, reappearance,
# malformed documents, --reparse and --dump. Feeds are served on loopback
# and fetched by the real cybil-fetch.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/www"
DB=$T/var/cybil.db
EVENT="/usr/bin/python3 $TOP/tests/e2e/consent_event.py $DB"
unset CYBIL_CONFIG CYBIL_LOCK_FD

# feed FILE GUID:TITLE ... writes an RSS 2.0 feed with those items.
feed() {
	local file=$1 item
	shift
	{
		echo '<?xml version="1.0" encoding="utf-8"?>'
		echo '<rss version="2.0"><channel><title>News</title>'
		echo '<link>https://example.org/</link>'
		for item in "$@"; do
			echo "<item><guid isPermaLink=\"false\">${item%%:*}</guid>"
			echo "<title>${item#*:}</title>"
			echo "<link>https://example.org/${item%%:*}.html</link>"
			echo "<pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate></item>"
		done
		echo '</channel></rss>'
	} >"$T/www/$file"
}

httpd_start "$T/www"
cat >"$T/cybil.conf" <<EOF
[store]
path = var/cybil.db
blobs = var/blobs
[fetch]
allow_private = yes
timeout = 5s
[source "news"]
kind = rss
url = $HTTPD_URL/news.xml
consent = public
[source "other"]
kind = rss
url = $HTTPD_URL/other.xml
EOF

harvest() {
	"$BIN/cybil-fetch" -q -c "$T/cybil.conf" --force &&
		"$BIN/cybil-parse" -c "$T/cybil.conf" "$@" 2>"$T/parse.err"
}
q() { sqlite3 "$DB" "$1"; }
id_of() { q "SELECT record_id FROM record_key WHERE source = 'news' AND external_id = '$1'"; }

# --- new records and the source's default consent -----------------------
feed news.xml g1:One g2:Two g3:Three g4:Four g5:Five
feed other.xml o1:Alpha o2:Beta
ok "first harvest" harvest
like "$(cat "$T/parse.err")" "parsed 2 captures \(0 failed\): 7 records added" \
	"the summary counts what was added"
is "$(q "SELECT count(*) FROM record WHERE source = 'news' AND state = 'active' AND consent = 'public'")" 5 \
	"a public source's new records are public"
is "$(q "SELECT count(*) FROM consent_event WHERE basis = 'public-source' AND by = 'cybil-parse'")" 5 \
	"each with a public-source event"
is "$(q "SELECT count(*) FROM record WHERE source = 'other' AND consent = 'pending'")" 2 \
	"a pending source's new records are pending"
is "$(q "SELECT count(*) FROM publishable")" 5 "only the public ones are publishable"
like "$(q "SELECT id FROM record LIMIT 1")" '^[0-9a-f]{32}$' "ids are random 128-bit hex"
is "$(q "SELECT kind || ' ' || title || ' ' || url || ' ' || parser FROM record WHERE external_id = 'g1'")" \
	"news One https://example.org/g1.html rss" "kind, title, url and parser are stored"
is "$(q "SELECT json_extract(fields, '\$.published') FROM record WHERE external_id = 'g1'")" \
	"2026-11-20T10:00:00Z" "dates are normalised to RFC 3339 UTC"
G1=$(id_of g1)

# --- unchanged: only last_seen moves ------------------------------------
before=$(q "SELECT content_sha256 || changed_at FROM record WHERE id = '$G1'")
sleep 1
feed news.xml g1:One g2:Two g3:Three g4:Four g5:Five
echo "<!-- new bytes, same content -->" >>"$T/www/news.xml"
ok "an unchanged harvest" harvest
like "$(cat "$T/parse.err")" "0 changed, 5 unchanged" "finds nothing changed"
is "$(q "SELECT content_sha256 || changed_at FROM record WHERE id = '$G1'")" "$before" \
	"content hash and change time stay"
[ "$(q "SELECT last_seen > first_seen FROM record WHERE id = '$G1'")" = 1 ]
is $? 0 "last_seen moves"
is "$(id_of g1)" "$G1" "the record keeps its id"

# --- consent decisions and what harvests do to them ----------------------
G3=$(id_of g3) G4=$(id_of g4)
$EVENT "$G3" granted owner-consent sha256:0000
$EVENT "$G4" withdrawn withdrawn
like "$("$BIN/cybil" -c "$T/cybil.conf" status)" "chain intact" \
	"events appended by another implementation verify (same canonical JSON)"
feed news.xml g1:One g2:Two-changed g3:Three-changed g4:Four-changed g5:Five
ok "a harvest with changes" harvest
like "$(cat "$T/parse.err")" "3 changed, 2 unchanged, 0 deleted, 0 gone, 1 re-pended" \
	"counts the changes and the re-pended grant"
is "$(q "SELECT title FROM record WHERE external_id = 'g2'")" "Two-changed" "a change updates the record"
is "$(q "SELECT consent FROM record WHERE id = '$G3'")" pending \
	"a changed granted record goes back to pending"
is "$(q "SELECT basis || ' ' || old || '>' || new FROM consent_event ORDER BY id DESC LIMIT 1")" \
	"content-changed granted>pending" "through a consent event"
is "$(q "SELECT consent FROM record WHERE id = '$G4'")" withdrawn "a withdrawal is sticky"
is "$(q "SELECT count(*) FROM publishable WHERE id IN ('$G3', '$G4')")" 0 \
	"neither is publishable"
like "$("$BIN/cybil" -c "$T/cybil.conf" status)" "chain intact" "the chain is still intact"

# --- gone, and the share guard --------------------------------------------
feed news.xml g1:One g2:Two-changed g3:Three-changed g4:Four-changed
ok "a harvest where one of five vanished" harvest
is "$(q "SELECT state FROM record WHERE external_id = 'g5'")" gone \
	"a record missing from the complete feed is gone (20% <= gone_max_share)"
feed news.xml g4:Four-changed
harvest; rc=$?
is "$rc" 0 "a harvest where most vanished"
like "$(cat "$T/parse.err")" "3 of 4 records vanished at once, more than gone_max_share" \
	"is held back with a warning"
is "$(q "SELECT count(*) FROM record WHERE source = 'news' AND state = 'gone'")" 1 \
	"and nothing more is marked gone"
feed news.xml g1:One g2:Two-changed g3:Three-changed g4:Four-changed g5:Five
ok "the vanished record comes back" harvest
is "$(q "SELECT state FROM record WHERE external_id = 'g5'")" active "it is active again"
is "$(q "SELECT count(*) FROM record_key WHERE source = 'news'")" 5 "with the same identity"

# --- malformed documents ----------------------------------------------------
titles=$(q "SELECT group_concat(title) FROM record ORDER BY id")
printf '<rss><channel><item><title>broken</title></channel>' >"$T/www/news.xml"
harvest; rc=$?
is "$rc" 1 "a malformed feed makes parse exit 1"
like "$(q "SELECT parse_error FROM capture WHERE source = 'news' ORDER BY id DESC LIMIT 1")" \
	"line [0-9]+: " "its capture records the parse error with a line"
is "$(q "SELECT group_concat(title) FROM record ORDER BY id")" "$titles" \
	"records already stored are untouched"
is "$(q "SELECT count(*) FROM record WHERE state = 'gone'")" 0 "and none is marked gone"

# --- --reparse, --dump, options ---------------------------------------------
feed news.xml g1:One g2:Two-changed g3:Three-changed g4:Four-changed g5:Five
ok "a good feed again" harvest
ok "--reparse rebuilds from stored bodies" "$BIN/cybil-parse" -q -c "$T/cybil.conf" --reparse
"$BIN/cybil-parse" -c "$T/cybil.conf" --reparse --source other 2>"$T/parse.err"
like "$(cat "$T/parse.err")" "parsed 1 captures .*0 changed, 2 unchanged" \
	"--reparse --source parses that source's last capture: nothing changes"
exits 2 "--source with an unknown name" "$BIN/cybil-parse" -c "$T/cybil.conf" --source nope
out=$(cd "$T" && env -u CYBIL_CONFIG "$BIN/cybil-parse" --dump --kind rss www/other.xml)
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 3 "--dump prints one line per record and a summary"
like "$(printf '%s\n' "$out" | head -n1)" '"external_id":"o1".*"title":"Alpha"' "as JSON"
like "$(printf '%s\n' "$out" | tail -n1)" '"complete":true.*"records":2' "the summary says a feed is complete"
exits 2 "--dump needs --kind" "$BIN/cybil-parse" --dump "$T/www/other.xml"
exits 2 "--dump with an unknown kind" "$BIN/cybil-parse" --dump --kind gopher "$T/www/other.xml"
exits 1 "--dump of a malformed file" "$BIN/cybil-parse" --dump --kind rss "$T/www/news.xml.missing"
ok "nothing is left to parse: a run changes nothing" "$BIN/cybil-parse" -q -c "$T/cybil.conf"

# --- a feed cut at max_records says nothing about what is gone --------------
gone_before=$(q "SELECT count(*) FROM record WHERE source = 'news' AND state = 'gone'")
sed 's/^\[fetch\]$/[parse]\nmax_records = 5\n[fetch]/' "$T/cybil.conf" >"$T/max.conf"
feed news.xml g6:Six g1:One g2:Two-changed g3:Three-changed g4:Four-changed g5:Five
"$BIN/cybil-fetch" -q -c "$T/max.conf" --force
"$BIN/cybil-parse" -c "$T/max.conf" 2>"$T/parse.err"
like "$(cat "$T/parse.err")" "1 records skipped" "a record over max_records is skipped with a warning"
is "$(q "SELECT count(*) FROM record WHERE source = 'news' AND state = 'gone'")" "$gone_before" \
	"and the records past the cut are not marked gone"

done_testing
