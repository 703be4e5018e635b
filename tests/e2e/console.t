#!/bin/bash
# The review console (cybil-review serve) end to end: feeds and an HTML page
# served on loopback, fetched and parsed by the real programs, two records
# made public and published; then tests/browser/console.js drives headless
# Chromium (Debian's, through the pinned playwright-core) to log in, open the
# queue, grant a record with an evidence file, withdraw a published one and
# correct another, with hostile titles shown as text, no dialog, and the
# stored HTML capture only ever downloaded. Afterwards the store, the audit
# chain and the next release must reflect each decision. curl checks what a
# browser would not send: no session, no CSRF token, another Origin, and the
# download's headers. Screenshots go to build/test-output/console/.
. "$(dirname "$0")/../lib.sh"

NODE=$(command -v node) || skip_all "needs node (Debian's nodejs) for the browser test"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip_all "needs Debian's chromium at $CHROMIUM (.ci/deps installs it)"
PW=$TOP/build/browser/node_modules/playwright-core
[ -d "$PW" ] || skip_all "needs playwright-core in build/browser (.ci/deps installs it from tests/browser/package-lock.json)"
[ -x "$BIN/cybil-review" ] || skip_all "needs bin/cybil-review (make)"
"$BIN/cybil-review" --help 2>&1 | grep -q serve ||
	skip_all "this cybil-review has no web console"

tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/www"
DB=$T/var/cybil.db
OUT=$TOP/build/test-output/console
unset CYBIL_CONFIG CYBIL_LOCK_FD CYBIL_REVIEWER
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip_all "needs python3"
SQL=/usr/bin/sqlite3
[ -x "$SQL" ] || SQL=sqlite3
q() { "$SQL" "$DB" "$1"; }
id_of() { q "SELECT id FROM record WHERE external_id = '$1'"; }
consent() { q "SELECT consent FROM record WHERE id = '$1'"; }
snapshot() {
	q "SELECT (SELECT count(*) FROM consent_event) || ' ' || (SELECT count(*) FROM correction) || ' ' ||
		(SELECT group_concat(consent, ',') FROM (SELECT consent FROM record ORDER BY id))"
}

# --- the sources -------------------------------------------------------------
# Titles are XML-escaped in the feed, so they arrive as text: the console must
# show them as such.
cat >"$T/www/news.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News</title><link>https://example.org/</link>
<item><guid isPermaLink="false">g1</guid><title>Grant me</title>
<link>https://example.org/g1.html</link><description>About the grant</description></item>
<item><guid isPermaLink="false">w1</guid><title>Withdraw me</title>
<link>https://example.org/w1.html</link><description>About the withdrawal</description></item>
<item><guid isPermaLink="false">c1</guid><title>Correct me</title>
<link>https://example.org/c1.html</link><description>About the correction</description></item>
<item><guid isPermaLink="false">x1</guid><title>&lt;script&gt;alert(1)&lt;/script&gt;</title>
<link>https://example.org/x1.html</link><description>A script title</description></item>
<item><guid isPermaLink="false">x2</guid><title>&lt;img src=x onerror=alert(2)&gt;</title>
<link>https://example.org/x2.html</link><description>An image title</description></item>
</channel></rss>
EOF
# An HTML page with scripts: its stored capture must never render in the
# console's origin.
cat >"$T/www/page.html" <<'EOF'
<!DOCTYPE html>
<html><head><title>Page with a script</title>
<script>alert(3)</script></head>
<body><h1>Hello</h1><p>Some text.</p>
<img src="x" onerror="alert(4)">
<script>document.title = 'pwned'; alert(5)</script></body></html>
EOF
httpd_start "$T/www"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
C=$T/cybil.conf
cat >"$C" <<EOF
[store]
path = var/cybil.db
blobs = var/blobs
evidence = var/evidence
[fetch]
allow_private = yes
timeout = 5s
[publish]
dir = $T/public
key = $T/keys/cybil.key
title = Console test portal
name = console-test
licence = CC-BY-4.0
# the withdrawal takes one of the two published records out
max_drop = 100%
[review]
listen = 127.0.0.1:$PORT
[source "news"]
kind = rss
url = $HTTPD_URL/news.xml
consent = pending
[source "page"]
kind = html
url = $HTTPD_URL/page.html
robots = no
consent = pending
EOF
review() { "$BIN/cybil-review" -q -c "$C" "$@"; }

ok "the sources are fetched" "$BIN/cybil-fetch" -q -c "$C"
ok "and parsed" "$BIN/cybil-parse" -q -c "$C"
G1=$(id_of g1) W1=$(id_of w1) C1=$(id_of c1) X1=$(id_of x1) X2=$(id_of x2)
P1=$(q "SELECT id FROM record WHERE source = 'page'")
is "$(q "SELECT count(*) FROM record WHERE consent = 'pending'")" 6 "six pending records"
is "$(q "SELECT title FROM record WHERE id = '$X1'")" '<script>alert(1)</script>' \
	"a title is <script>alert(1)</script> as text"
is "$(q "SELECT title FROM record WHERE id = '$X2'")" '<img src=x onerror=alert(2)>' \
	"another is <img src=x onerror=alert(2)>"
like "$(q "SELECT content_type FROM capture WHERE id = (SELECT capture_id FROM record WHERE id = '$P1')")" \
	'^text/html' "the page's capture is HTML"

# Two records are public and published before the console is used, so that
# its withdrawal must take one out of the next release and its correction
# change the other.
ok "publish --keygen" "$BIN/cybil-publish" -q -c "$C" --keygen
ok "two records made public by the command line" \
	review public "$W1" "$C1" --url https://example.org/ --by cli
ok "the first release" "$BIN/cybil-publish" -q -c "$C"
rel() {  # rel SERIAL MEMBER: a member of that release
	local s
	s=$(printf '%06d' "$1")
	tar --zstd -xOf "$T/public/releases/$s/cybil-$s.tar.zst" "$2"
}
is "$(rel 1 records.jsonl | grep -c -e "$W1" -e "$C1")" 2 "it holds both"

# --- the console ---------------------------------------------------------
out=$(printf 'secret-pass-1\n' | review passwd manager 2>&1)
is $? 0 "an account: passwd manager, the password on stdin"
is "$(q "SELECT count(*) FROM account WHERE name = 'manager'")" 1 "it is in the store"

"$BIN/cybil-review" -c "$C" serve >"$T/serve.log" 2>&1 </dev/null &
SERVE_PID=$!
at_exit 'kill -TERM $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null'
for i in $(seq 100); do
	grep -q "console at" "$T/serve.log" && break
	kill -0 "$SERVE_PID" 2>/dev/null || break
	sleep 0.1
done
if ! like "$(cat "$T/serve.log")" "INFO cybil-review: console at $URL/" \
	"serve says where it listens"; then
	echo "Bail out! cybil-review serve did not start"
	exit 255
fi

# --- what a browser would not send: curl ----------------------------------------
H=$T/headers
code() { curl -s -o /dev/null -D "$H" -w '%{http_code}' "$@"; }
header() { tr -d '\r' <"$H" | grep -i "^$1:" | head -n1 | cut -d' ' -f2-; }

is "$(code "$URL/")" 303 "GET / without a session: 303"
is "$(header Location)" /login "... to /login"
s0=$(snapshot)
is "$(code -d note=x "$URL/record/$W1/withdraw")" 403 \
	"POST /record/ID/withdraw without a session: 403"
is "$(code -F note=x "$URL/record/$W1/withdraw")" 403 "... multipart too"
is "$(code -X POST "$URL/record/$W1/withdraw")" 403 \
	"... and without a body: 403"
is "$(snapshot)" "$s0" "... and nothing changed"

# A session of curl's own.
JAR=$T/jar
# login PASSWORD: the login form sent back with its token (field and
# cookie), as a browser would.
login() {
	local token
	token=$(curl -s -c "$JAR" "$URL/login" |
		grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//; s/"$//')
	code -b "$JAR" -c "$JAR" -d "csrf=$token" --data-urlencode name=manager \
		--data-urlencode "password=$1" "$URL/login"
}
is "$(code -c "$JAR" --data-urlencode name=manager --data-urlencode password=secret-pass-1 "$URL/login")" 403 \
	"logging in without the login form's token: 403"
is "$(login wrong-pass-1)" 401 "a wrong password: 401"
is "$(login secret-pass-1)" 303 "logging in: 303"
like "$(header Set-Cookie)" '^cybil_session=[^;]+; Path=/;.* HttpOnly; SameSite=Strict' \
	"... with an HttpOnly SameSite=Strict session cookie"
page=$(curl -s -b "$JAR" "$URL/record/$W1")
CSRF=$(printf '%s' "$page" | grep -o 'name="csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
like "$CSRF" '^[A-Za-z0-9_-]{16,}$' "the record page carries a csrf token"
is "$(code -b "$JAR" -d note=x "$URL/record/$W1/withdraw")" 403 \
	"a POST with a session but without the csrf token: 403"
is "$(code -b "$JAR" -X POST "$URL/record/$W1/withdraw")" 403 \
	"... and without a body: 403"
is "$(code -b "$JAR" -d csrf=forged -d note=x "$URL/record/$W1/withdraw")" 403 \
	"... with a wrong token: 403"
is "$(code -b "$JAR" -d "csrf=$CSRF" -H 'Origin: http://evil.example' "$URL/record/$W1/withdraw")" 403 \
	"... with the right token but another site's Origin: 403"
is "$(snapshot)" "$s0" "... and nothing changed"
is "$(code -b "$JAR" "$URL/record/$P1/capture")" 200 "the capture downloads"
like "$(header Content-Disposition)" '^attachment; filename=' "... as an attachment"
is "$(header X-Content-Type-Options)" nosniff "... nosniff"
is "$(header Content-Security-Policy)" sandbox "... in a CSP sandbox"
is "$(header Content-Type)" application/octet-stream "... as application/octet-stream"
is "$(code "$URL/record/$P1/capture")" 303 "... but not without a session"
is "$(code -b "$JAR" "$URL/")" 200 "the queue, with the session"
like "$(header Content-Security-Policy)" "^default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" \
	"... under the strict CSP"
is "$(header Referrer-Policy) $(header Cache-Control)" "same-origin no-store" \
	"... no referrer to other sites, no store"

# --- the browser --------------------------------------------------------------
mkdir -p "$OUT"
rm -f "$OUT"/*.png
EVIDENCE=$T/consent-form.txt
printf 'I, the owner of "Grant me", consent to its publication.\n' >"$EVIDENCE"
SHA=$(sha256sum "$EVIDENCE" | cut -d' ' -f1)
CORRECTION='Correct me, corrected'
diag "screenshots of the console go to $OUT"
CONSOLE_USER=manager CONSOLE_PASSWORD=secret-pass-1 CONSOLE_EVIDENCE=$EVIDENCE \
	CONSOLE_CORRECTION=$CORRECTION CHROMIUM=$CHROMIUM PLAYWRIGHT_CORE=$PW \
	"$NODE" "$TOP/tests/browser/console.js" "$URL/" "$DB" "$C" "$OUT" >"$T/browser.tap" 2>"$T/browser.err"
brc=$?
# Its checks, renumbered into this script's stream.
bn=0 bfailed=0 bplan=
while IFS= read -r line; do
	case "$line" in
	"ok "*) bn=$((bn + 1)); pass "browser: $(printf '%s' "$line" | sed -E 's/^ok [0-9]+ - //')" ;;
	"not ok "*)
		bn=$((bn + 1)) bfailed=$((bfailed + 1))
		fail "browser: $(printf '%s' "$line" | sed -E 's/^not ok [0-9]+ - //')" ;;
	"1.."*) bplan=${line#1..} ;;
	*) note "$line" ;;
	esac
done <"$T/browser.tap"
[ -s "$T/browser.err" ] && diag "console.js stderr:" "$(head -n 40 "$T/browser.err")"
is "$brc $bplan" "$((bfailed > 0)) $bn" \
	"console.js ran its plan and ends with the status of its checks"
ok "the queue's screenshot is saved" test -s "$OUT/queue.png"
ok "a record page's screenshot is saved" test -s "$OUT/record-script-title.png"

# --- the store and the next release ------------------------------------------
is "$(consent "$G1")" granted "the store: the record is granted"
is "$(q "SELECT basis || ' ' || evidence || ' ' || by FROM consent_event WHERE record_id = '$G1' ORDER BY id DESC LIMIT 1")" \
	"owner-consent $SHA manager" "... with the uploaded file's sha256 as evidence, by the account"
ok "the file is in the evidence store by its sha256" \
	cmp "$EVIDENCE" "$T/var/evidence/${SHA:0:2}/${SHA:2}"
is "$(consent "$W1")" withdrawn "the store: the other is withdrawn"
is "$(q "SELECT by FROM consent_event WHERE record_id = '$W1' ORDER BY id DESC LIMIT 1")" manager \
	"... by the account"
is "$(q "SELECT field || '|' || value || '|' || by FROM correction WHERE record_id = '$C1'")" \
	"title|$CORRECTION|manager" "the correction is in table correction, by the account"
is "$(q "SELECT field || '|' || value FROM correction WHERE record_id = '$X2'")" \
	"summary|<img src=x onerror=alert(7)><script>alert(8)</script>" \
	"so is the one with markup, as it was typed"
is "$(consent "$X1") $(consent "$X2") $(consent "$P1")" "pending pending pending" \
	"the records the refused requests aimed at are still pending"
out=$(review verify-log 2>&1)
is $? 0 "the audit chain verifies (verify-log)"
ok "the next release" "$BIN/cybil-publish" -q -c "$C"
recs=$(rel 2 records.jsonl)
like "$recs" "\"id\":\"$G1\"" "it has the granted record"
[[ $recs != *"$W1"* ]]
is $? 0 "not the withdrawn one"
like "$(rel 2 tombstones.jsonl)" "\"id\":\"$W1\",\"reason\":\"withdrawn\"" "which is a tombstone"
like "$(printf '%s\n' "$recs" | grep "$C1")" "\"title\":\"$CORRECTION\"" \
	"and the corrected title"
[[ $recs != *"$X1"* && $recs != *"$X2"* && $recs != *"$P1"* ]]
is $? 0 "and none of the pending ones"

kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
is $? 0 "serve stops on SIGTERM with exit 0"
ok "its log has no sanitizer report or error" \
	sh -c "! grep -e 'Sanitizer' -e 'runtime error' -e '^ERROR' '$T/serve.log'"
done_testing
