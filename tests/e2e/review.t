#!/bin/bash
# cybil-review end to end: feeds served on loopback, fetched and parsed by
# the real cybil-fetch and cybil-parse, then every command of the
# manager's tool: list, show, the five decisions (by id and by --source
# --all), invalid requests changing nothing, stickiness over re-harvests,
# corrections and their conflicts, suggestions, expiry, the log and its
# verification, and a tampered log.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/www"
DB=$T/var/cybil.db
unset CYBIL_CONFIG CYBIL_LOCK_FD
export CYBIL_REVIEWER=tester
PY=/usr/bin/python3

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
			echo "<description>About ${item#*:}</description>"
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
[source "other"]
kind = rss
url = $HTTPD_URL/other.xml
consent = public
[source "quiet"]
kind = rss
url = $HTTPD_URL/quiet.xml
EOF

harvest() {
	"$BIN/cybil-fetch" -q -c "$T/cybil.conf" --force &&
		"$BIN/cybil-parse" -q -c "$T/cybil.conf"
}
q() { sqlite3 "$DB" "$1"; }
review() { "$BIN/cybil-review" -c "$T/cybil.conf" "$@"; }
id_of() { q "SELECT record_id FROM record_key WHERE external_id = '$1'"; }
consent() { q "SELECT consent FROM record WHERE id = '$1'"; }
events() { q "SELECT count(*) FROM consent_event"; }
snapshot() { q "SELECT group_concat(id || consent, ',') FROM (SELECT id, consent FROM record ORDER BY id)"; }
# json EXPR: evaluates the Python expression EXPR over the JSON on stdin (v)
json() { "$PY" -c "import json, sys; v = json.load(sys.stdin); print($1)"; }

feed news.xml g1:One g2:Two g3:Three g4:Four g5:Five
feed other.xml o1:Alpha o2:Beta
feed quiet.xml
ok "harvest a pending and a public source (and one with no items)" harvest
G1=$(id_of g1) G2=$(id_of g2) G3=$(id_of g3) G4=$(id_of g4) G5=$(id_of g5)
O1=$(id_of o1) O2=$(id_of o2)
is "$(q "SELECT count(*) FROM record WHERE source = 'news' AND consent = 'pending'")" 5 \
	"the pending source's records are pending"

# --- list -----------------------------------------------------------------
out=$(review list)
is $? 0 "list exits 0"
is "$(printf '%s\n' "$out" | head -n1 | tr -s ' ')" "ID CONSENT STATE SOURCE CHANGED TITLE" \
	"list prints a table with a header"
is "$(printf '%s\n' "$out" | tail -n1)" "5 records" "and a count: the pending records by default"
like "$out" "$G1  pending    active   news  " "a row has id, consent, state and source"
[[ $out != *Alpha* ]]
is $? 0 "public records are not listed by default"
out=$(review list --tsv)
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 5 "--tsv: one line a record, no header"
is "$(printf '%s\n' "$out" | grep "^$G3" | cut -f1-5,7 | tr '\t' '|')" "$G3|pending|active|news|news|Three" \
	"--tsv columns: id consent state source kind changed title"
like "$(printf '%s\n' "$out" | grep "^$G3" | cut -f6)" '^2[0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
	"the change time is RFC 3339"
out=$(review list --json)
is "$(printf '%s' "$out" | json 'len(v)')" 5 "--json is an array of the records"
is "$(printf '%s' "$out" | json "sorted(r['title'] for r in v)")" "['Five', 'Four', 'One', 'Three', 'Two']" \
	"with their titles"
is "$(printf '%s' "$out" | json "sorted(v[0].keys())")" \
	"['changed_at', 'consent', 'id', 'kind', 'source', 'state', 'title']" "and these keys"
is "$(review list --consent all --json | json 'len(v)')" 7 "--consent all lists every record"
is "$(review list --consent public --tsv | cut -f1 | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$O1" "$O2" | sort | tr '\n' ' ')" "--consent public"
is "$(review list --consent all --source other --json | json 'len(v)')" 2 "--source"
is "$(review list --limit 2 --tsv | wc -l | tr -d ' ')" 2 "--limit"
exits 2 "list --limit 0 is a usage error" review list --limit 0
exits 2 "list with an argument is a usage error" review list extra
exits 2 "list --consent with an unknown state" review list --consent approved
exits 2 "list --state with an unknown state" review list --state removed

# --- show ---------------------------------------------------------------
out=$(review show "$G1")
is $? 0 "show exits 0"
like "$out" "^record     $G1" "show names the record"
like "$out" "source     news \(news, external id g1\)" "its source and external id"
like "$out" "state      active; consent pending" "its state and consent"
like "$out" "
  title +One
" "and its fields"
like "$out" "
  summary +About One
" "fields from the feed too"
out=$(review show "$G1" --json)
is "$(printf '%s' "$out" | json "v['record']['id'], v['record']['consent'], v['record']['external_id']")" \
	"$G1 pending g1" "show --json: the record"
is "$(printf '%s' "$out" | json "sorted(v.keys())")" "['fields', 'history', 'record', 'suggestions']" \
	"its parts"
is "$(printf '%s' "$out" | json "[f['harvested'] for f in v['fields'] if f['field'] == 'title']")" \
	"['One']" "the fields with their harvested values"
exits 2 "show of an unknown id" review show 0123456789abcdef0123456789abcdef
exits 2 "show needs one id" review show

# --- grant with an evidence file --------------------------------------------
printf 'I consent to the publication.\nThe owner\n' >"$T/form.txt"
SHA=$(sha256sum "$T/form.txt" | cut -d' ' -f1)
ok "grant with an evidence file" review grant "$G1" --evidence "$T/form.txt" --note "signed form"
is "$(consent "$G1")" granted "the record is granted"
ok "the file is in the evidence store by its sha256" \
	cmp "$T/form.txt" "$T/var/evidence/${SHA:0:2}/${SHA:2}"
is "$(q "SELECT old || ' ' || new || ' ' || basis || ' ' || evidence || ' ' || by || ' ' || note FROM consent_event ORDER BY id DESC LIMIT 1")" \
	"pending granted owner-consent $SHA tester signed form" \
	"the event's evidence is that sha256 (and by comes from CYBIL_REVIEWER)"
ok "grant with a URI" review grant "$G2" --evidence "https://owner.example/consent.pdf" --by alice
is "$(q "SELECT new || ' ' || evidence || ' ' || by FROM consent_event ORDER BY id DESC LIMIT 1")" \
	"granted https://owner.example/consent.pdf alice" "the event keeps the URI and --by"
is "$(q "SELECT count(*) FROM publishable WHERE id IN ('$G1', '$G2')")" 2 "both are publishable"

# --- public, refuse, withdraw, reset --------------------------------------
ok "public --url" review public "$G3" --url https://example.org/g3.html
is "$(q "SELECT consent || ' ' || consent_basis FROM record WHERE id = '$G3'")" "public public-source" \
	"public with basis public-source"
is "$(q "SELECT evidence FROM consent_event ORDER BY id DESC LIMIT 1")" "https://example.org/g3.html" \
	"the URL is the evidence"
ok "refuse" review refuse "$G4"
is "$(consent "$G4")" refused "refused"
n=$(events)
ok "refuse again" review refuse "$G4"
is "$(events)" "$n" "writes no second event"
ok "withdraw" review withdraw "$G1"
is "$(consent "$G1")" withdrawn "withdrawn"
ok "reset" review reset "$G4"
is "$(consent "$G4")" pending "reset is pending"
is "$(q "SELECT old || '>' || new || ' ' || basis FROM consent_event ORDER BY id DESC LIMIT 1")" \
	"refused>pending reset" "with basis reset"
ok "a decision on several ids" review refuse "$G4" "$G5"
is "$(consent "$G4") $(consent "$G5")" "refused refused" "changes each of them"

# --- invalid requests change nothing ---------------------------------------
n=$(events) snap=$(snapshot)
ls -R "$T/var/evidence" >"$T/evidence.before"
exits 2 "grant without evidence" review grant "$G5"
: >"$T/empty.txt"
exits 2 "grant with an empty evidence file" review grant "$G5" --evidence "$T/empty.txt"
exits 2 "a decision with an empty --by" review refuse "$G2" --by ''
exits 2 "a note that is not UTF-8" review refuse "$G2" --note $'bad \xff'
exits 2 "a correction that is not UTF-8" review correct "$G2" title $'bad \xc3'
exits 2 "grant with evidence that is neither a file nor a URI" review grant "$G5" --evidence no-such-file
exits 2 "grant with an expiry in the past" review grant "$G5" --evidence https://x.example/ --expires 2001-01-01
exits 2 "public without --url" review public "$G5"
exits 2 "public with a non-http URL" review public "$G5" --url ftp://example.org/g5
exits 2 "public with --evidence" review public "$G5" --evidence https://x.example/
exits 2 "refuse with evidence" review refuse "$G2" --evidence https://x.example/
exits 2 "withdraw with --expires" review withdraw "$G2" --expires 2099-01-01
exits 2 "a decision without ids" review withdraw
exits 2 "ids and --source --all" review withdraw "$G2" --source news --all --yes
exits 2 "--source without --all" review withdraw --source news --yes
exits 2 "an unknown id" review withdraw 0123456789abcdef0123456789abcdef
exits 2 "an unknown id among known ones" review withdraw "$G2" "$G3" 0123456789abcdef0123456789abcdef "$O1"
exits 2 "a grant for an unknown id among known ones" \
	review grant "$G5" nope --evidence https://owner.example/x
exits 2 "--source NAME --all without --yes on a non-tty stdin" \
	review withdraw --source news --all </dev/null
exits 2 "an unknown command" review approve "$G2"
is "$(events)" "$n" "no event was written by any of them"
is "$(snapshot)" "$snap" "and no record's consent changed"
ls -R "$T/var/evidence" >"$T/evidence.after"
ok "nor the evidence store" cmp -s "$T/evidence.before" "$T/evidence.after"
printf 'evidence for nobody\n' >"$T/stray.txt"
STRAY=$(sha256sum "$T/stray.txt" | cut -d' ' -f1)
exits 2 "a grant with an evidence file for an unknown id" \
	review grant 0123456789abcdef0123456789abcdef --evidence "$T/stray.txt"
is "$(events)" "$n" "writes no event"
ok "and leaves no file in the evidence store" \
	test ! -e "$T/var/evidence/${STRAY:0:2}/${STRAY:2}"
is "$(snapshot)" "$snap" "nor changes any record"
like "$(review withdraw --source news --all </dev/null 2>&1)" "confirm with --yes" \
	"without --yes it asks for confirmation"
exits 2 "grant with --url is a usage error" \
	review grant "$G5" --evidence https://owner.example/5 --url https://example.org/g5.html
ok "the chain is intact" review verify-log

# --- --source NAME --all ---------------------------------------------------
ok "--source other --all --yes" review withdraw --source other --all --yes
is "$(q "SELECT group_concat(DISTINCT consent) FROM record WHERE source = 'other'")" withdrawn \
	"withdraws every record of that source"
is "$(q "SELECT count(*) FROM record WHERE source = 'news' AND consent = 'withdrawn'")" 1 \
	"and none of another source"
is "$(q "SELECT count(*) FROM consent_event WHERE new = 'withdrawn' AND record_id IN ('$O1', '$O2')")" 2 \
	"one event for each"
n=$(events)
ok "--all with a source that has no records" review reset --source quiet --all --yes
exits 2 "--all with an unknown source is a usage error" review reset --source nosuch --all --yes
is "$(events)" "$n" "neither writes an event"

# --- sticky over a re-harvest, repend of a changed grant --------------------
ok "grant g2 again" review grant "$G2" --evidence https://owner.example/2
ok "make g5 public" review public "$G5" --url https://example.org/g5.html
feed news.xml g1:One-changed g2:Two-changed g3:Three g4:Four-changed g5:Five-changed g6:Six
feed other.xml o1:Alpha-changed o2:Beta o3:Gamma
sleep 1	# list --changed compares times to the second
ok "re-harvest a changed feed" harvest
is "$(consent "$G1")" withdrawn "withdrawn stays withdrawn after its content changed"
is "$(consent "$G4")" refused "refused stays refused"
is "$(consent "$O1")" withdrawn "so does a withdrawn record of a public source"
is "$(consent "$G2")" pending "a changed granted record is pending again"
is "$(q "SELECT basis FROM consent_event WHERE record_id = '$G2' ORDER BY id DESC LIMIT 1")" \
	content-changed "through a content-changed event"
is "$(consent "$G5")" public "a changed public record stays public"
is "$(consent "$(id_of g6)") $(consent "$(id_of o3)")" "pending public" \
	"new records take their source's default"
is "$(q "SELECT group_concat(id) FROM (SELECT id FROM publishable ORDER BY id)")" \
	"$(printf '%s\n' "$G3" "$G5" "$(id_of o3)" | sort | paste -sd,)" \
	"publishable: only public and granted active records"
ok "the chain is intact after the harvest" review verify-log
is "$(review list --changed --consent withdrawn --tsv | cut -f1 | sort | paste -sd,)" \
	"$(printf '%s\n' "$G1" "$O1" | sort | paste -sd,)" \
	"list --changed: the withdrawn records whose content changed since"
is "$(review list --changed --consent refused --tsv | cut -f1)" "$G4" "the refused one"
is "$(review list --changed --tsv | cut -f1)" "$G2" \
	"list --changed lists the re-pended grant"

# --- corrections -----------------------------------------------------------
ok "correct a title" review correct "$G3" title "Three (corrected)" --note "typo"
ok "correct a field" review correct "$G3" summary "A better summary"
exits 2 "correct with a bad field name" review correct "$G3" "Bad-Field" x
exits 2 "correct an unknown record" review correct 0123456789abcdef0123456789abcdef title x
exits 2 "correct without a value" review correct "$G3" title
is "$(q "SELECT field || '=' || value || ' by ' || by FROM correction WHERE record_id = '$G3' ORDER BY field" | paste -sd';')" \
	"summary=A better summary by tester;title=Three (corrected) by tester" "the corrections are stored"
out=$(review show "$G3")
like "$out" '
  title +Three
 +corrected to "Three \(corrected\)" by tester at [0-9TZ:-]+
' "show has the correction under the harvested value"
[[ $out != *CONFLICT* ]]
is $? 0 "no conflict while the source has not changed"
feed news.xml g1:One-changed g2:Two-changed g3:Three-renamed g4:Four-changed g5:Five-changed g6:Six
ok "re-harvest with g3's title changed at the source" harvest
is "$(q "SELECT title FROM record WHERE id = '$G3'")" "Three-renamed" "the harvested title changes"
is "$(q "SELECT value FROM correction WHERE record_id = '$G3' AND field = 'title'")" \
	"Three (corrected)" "the correction survives the re-harvest"
like "$(review show "$G3")" '
  title +Three-renamed
 +corrected to "Three \(corrected\)" by tester at [0-9TZ:-]+  CONFLICT: changed at the source since' \
	"show flags the CONFLICT"
out=$(review show "$G3" --json)
is "$(printf '%s' "$out" | json "[(f['field'], f['correction']['conflict']) for f in v['fields'] if 'correction' in f]")" \
	"[('title', True), ('summary', True)]" \
	'--json has "conflict": true (the summary changed with the title)'
is "$(printf '%s' "$out" | json "[f['correction']['value'] for f in v['fields'] if f['field'] == 'title']")" \
	"['Three (corrected)']" "and the corrected value"
ok "correct again" review correct "$G3" title "Three (corrected again)"
is "$(review show "$G3" --json | json "[f['correction']['conflict'] for f in v['fields'] if f['field'] == 'title']")" \
	"[False]" "a new correction is made against the current value: no conflict"
ok "uncorrect" review uncorrect "$G3" summary
is "$(q "SELECT count(*) FROM correction WHERE record_id = '$G3' AND field = 'summary'")" 0 "removes it"
exits 2 "uncorrect what is not corrected" review uncorrect "$G3" summary

# --- suggestions -----------------------------------------------------------
out=$(review suggest "$G5" title "Five, spelt out" --from reader@example.net --note "please")
is $? 0 "suggest exits 0"
like "$out" '^[0-9]+$' "and prints the suggestion's number"
S1=$out
is "$(q "SELECT state FROM suggestion WHERE id = $S1")" pending "the suggestion is pending"
is "$(q "SELECT count(*) FROM correction WHERE record_id = '$G5'")" 0 "and corrects nothing yet"
exits 2 "suggest without a contact" review suggest "$G5" title x
exits 2 "suggest for an unknown record" review suggest nope title x --from r@example.net
S2=$(review suggest "$G5" url https://spam.example/ --from other-reader@example.net)
like "$S2" '^[0-9]+$' "a second suggestion"
[ "$S2" -gt "$S1" ]
is $? 0 "gets a higher number"
out=$(review show "$G5")
like "$out" "pending suggestions
  #$S1 [0-9TZ:-]+ title = \"Five, spelt out\" from reader@example.net
  #$S2 " "show lists the pending suggestions with their contacts"
is "$(review show "$G5" --json | json "[s['contact'] for s in v['suggestions']]")" \
	"['reader@example.net', 'other-reader@example.net']" "show --json too"
[[ "$(review list --consent all; review list --consent all --json; review log; review log --json)" != *reader@example.net* ]]
is $? 0 "contacts appear in show only (not in list or log)"
ok "accept" review accept "$S1" --by editor
is "$(q "SELECT state || ' ' || decided_by FROM suggestion WHERE id = $S1")" "accepted editor" \
	"the suggestion is accepted"
is "$(q "SELECT value || ' by ' || by FROM correction WHERE record_id = '$G5' AND field = 'title'")" \
	"Five, spelt out by editor" "and is now a correction"
exits 2 "accepting twice" review accept "$S1"
ok "reject" review reject "$S2"
is "$(q "SELECT state FROM suggestion WHERE id = $S2")" rejected "the suggestion is rejected"
is "$(q "SELECT count(*) FROM correction WHERE record_id = '$G5' AND field = 'url'")" 0 \
	"and corrects nothing"
exits 2 "accepting a rejected suggestion" review accept "$S2"
exits 2 "an unknown suggestion" review reject 999
exits 2 "a suggestion that is not a number" review accept "$G5"
[[ "$(review show "$G5")" != *other-reader* ]]
is $? 0 "decided suggestions leave show's pending list"

# --- expire ---------------------------------------------------------------
G6=$(id_of g6)
soon=$(date -u -d "@$(($(date +%s) + 2))" +%Y-%m-%dT%H:%M:%SZ)
ok "grant with an expiry 2 s ahead" review grant "$G6" --evidence https://owner.example/6 --expires "$soon"
is "$(q "SELECT consent_expires FROM record WHERE id = '$G6'")" "$soon" "the record carries the expiry"
ok "grant with an expiry next year" review grant "$G2" --evidence https://owner.example/2b --expires "$(($(date -u +%Y) + 1))-06-01"
ok "expire before the expiry" review expire
is "$(consent "$G6")" granted "changes nothing yet"
sleep 3
ok "expire after it" review expire
is "$(consent "$G6")" pending "the expired grant is pending"
is "$(q "SELECT old || '>' || new || ' ' || basis || ' ' || by FROM consent_event ORDER BY id DESC LIMIT 1")" \
	"granted>pending expired cybil-review expire" "through an expired event"
is "$(consent "$G2")" granted "a grant expiring later stays"
n=$(events)
ok "expire again" review expire
is "$(events)" "$n" "writes nothing"
exits 2 "expire takes no arguments" review expire "$G2"

# --- log --------------------------------------------------------------------
out=$(review log)
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "$(events)" "log: one line an event"
like "$(printf '%s\n' "$out" | head -n1)" "^#1 [0-9TZ:-]+ cybil-parse [0-9a-f]{32}: pending -> public \(public-source\) evidence https://example.org/o1.html" \
	"the first event: the public source's first record"
like "$out" "#[0-9]+ [0-9TZ:-]+ tester $G1: pending -> granted \(owner-consent\) evidence $SHA - signed form" \
	"each with time, by, record, states, basis, evidence and note"
out=$(review log "$G2")
like "$(printf '%s\n' "$out" | head -n1)" "^#[0-9]+ [0-9TZ:-]+ alice: pending -> granted \(owner-consent\) evidence https://owner.example/consent.pdf$" \
	"log ID: that record's events, without the id"
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "$(q "SELECT count(*) FROM consent_event WHERE record_id = '$G2'")" \
	"all of them"
like "$(printf '%s\n' "$out" | tail -n1)" "until $(($(date -u +%Y) + 1))-06-01T00:00:00Z" \
	"a grant's expiry is shown"
out=$(review log --json)
is "$(printf '%s' "$out" | json 'len(v)')" "$(events)" "log --json: every event"
is "$(printf '%s' "$out" | json "[e['id'] for e in v] == list(range(1, len(v) + 1)) and all(len(e['hash']) == 64 for e in v)")" \
	True "in order, with their hashes"
exits 2 "log takes at most one id" review log "$G1" "$G2"

# --- verify-log, and a tampered copy -----------------------------------------
out=$(review verify-log)
is $? 0 "verify-log exits 0"
like "$out" "^audit log intact, head $(q "SELECT hash FROM consent_event ORDER BY id DESC LIMIT 1")$" \
	"and says intact, with the head hash"
mkdir -p "$T/copy/var"
sed 's/^path = .*/path = var\/cybil.db/' "$T/cybil.conf" >"$T/copy/cybil.conf"
sqlite3 "$DB" ".backup '$T/copy/var/cybil.db'"
ok "the copy verifies too" "$BIN/cybil-review" -c "$T/copy/cybil.conf" verify-log
sqlite3 "$T/copy/var/cybil.db" "DROP TRIGGER consent_event_no_update; UPDATE consent_event SET note='x' WHERE id=2;"
out=$("$BIN/cybil-review" -c "$T/copy/cybil.conf" verify-log 2>&1)
is $? 3 "a tampered log: verify-log exits 3"
like "$out" "BROKEN at event 2: hash does not match" "naming event 2"
ok "the original is untouched" review verify-log

done_testing
