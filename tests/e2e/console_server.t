#!/bin/bash
# cybil-review serve over HTTP with curl (the browser test is console.t):
# accounts, login limits, sessions, decisions made during a harvest, body
# and rate limits, TLS with Secure cookies, and a clean stop.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
unset CYBIL_CONFIG CYBIL_LOCK_FD
SQ=/usr/bin/sqlite3
mkdir -p "$T/www"
{
	echo '<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>'
	for i in 1 2 3 4; do
		echo "<item><guid>e$i</guid><title>Item $i</title>"
		echo "<link>https://example.org/$i</link></item>"
	done
	echo '</channel></rss>'
} >"$T/www/news.xml"
httpd_start "$T/www"

PORT=$(free_port)
C=$T/cybil.conf
cat >"$C" <<EOF
[store]
path = var/cybil.db
[fetch]
allow_private = yes
timeout = 10s
[publish]
key = var/keys/cybil.key
[review]
listen = 127.0.0.1:$PORT
[source "news"]
kind = rss
url = $HTTPD_URL/news.xml
EOF
RV="$BIN/cybil-review -q -c $C"
"$BIN/cybil-publish" -q -c "$C" --keygen >/dev/null &&
	"$BIN/cybil" -q -c "$C" run || fail "the first run"
id_of() { $SQ "$T/var/cybil.db" "SELECT id FROM record WHERE external_id = '$1'"; }
e1=$(id_of e1) e2=$(id_of e2)

# --- accounts -------------------------------------------------------------
echo short | $RV passwd manager 2>"$T/err"
is $? 2 "a password of fewer than 8 bytes is refused"
printf 'long enough\n' | $RV passwd 'bad name' 2>"$T/err"
is $? 2 "so is a name with a space"
like "$(cat "$T/err")" "an account name is" "saying what a name may hold"
is "$($SQ "$T/var/cybil.db" "SELECT count(*) FROM account")" 0 \
	"neither made an account"

# serve [CONF]: starts the console in the background ($SERVER), waits for
# it to answer.
serve() {
	local conf=${1:-$C} url=${2:-http://127.0.0.1:$PORT}
	"$BIN/cybil-review" -c "$conf" serve >/dev/null 2>"$T/serve.err" &
	SERVER=$!
	at_exit "kill $SERVER 2>/dev/null"
	for _ in $(seq 100); do
		curl -sk -o /dev/null "$url/login" && return 0
		sleep 0.1
	done
	return 1
}
U=http://127.0.0.1:$PORT
serve; is $? 0 "the console starts before any account exists"
like "$(curl -s "$U/login")" 'id="no-accounts".*cybil-review passwd NAME' \
	"and its login page says how to make one"
like "$(cat "$T/serve.err")" "console at http://127.0.0.1:$PORT/" \
	"it says where it listens"
printf 'secret-pass-1\n' | $RV passwd manager
is $? 0 "passwd makes an account"
hash=$($SQ "$T/var/cybil.db" "SELECT hash FROM account WHERE name = 'manager'")
like "$hash" '^\$argon2id\$' "kept as an Argon2id hash"
case "$hash" in *secret-pass-1*) fail "the hash holds the password" ;;
*) pass "not the password itself" ;; esac

# --- login and session ----------------------------------------------------
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
is "$(status "$U/")" 303 "no session: the queue sends to the login page"
is "$(status -d 'csrf=x' "$U/record/$e1/withdraw")" 403 \
	"and a decision is refused"
# login JAR PASSWORD [CURL-ARG...]: the login page's form sent back with
# its token (field and cookie); prints the answer's headers.
login() {
	local jar=$1 pw=$2 token
	shift 2
	token=$(curl -s "$@" -c "$jar" "${LOGIN_URL:-$U}/login" |
		grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//; s/"$//')
	curl -s "$@" -D - -o /dev/null -b "$jar" -c "$jar" -d "csrf=$token" \
		-d name=manager --data-urlencode "password=$pw" "${LOGIN_URL:-$U}/login"
}
hdr=$(curl -s -D - -o /dev/null -c "$T/nojar" \
	-d 'name=manager&password=secret-pass-1' "$U/login")
like "$hdr" "HTTP/1.1 403" "a login without the login page's token is refused"
hdr=$(login "$T/jar" secret-pass-1)
like "$hdr" "HTTP/1.1 303" "the right password logs in"
like "$hdr" "Set-Cookie: cybil_session=[A-Za-z0-9_-]{43}; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict" \
	"with an HttpOnly, SameSite=Strict session cookie of session_ttl"
case "$hdr" in *Secure*) fail "Secure without TLS" ;; *) pass "not Secure without TLS" ;; esac
page=$(curl -s -b "$T/jar" "$U/record/$e1")
csrf=$(printf '%s' "$page" | grep -o 'name="csrf" value="[^"]*"' | head -1 |
	sed 's/.*value="//; s/"$//')
[ ${#csrf} -eq 43 ]; is $? 0 "each form carries the session's CSRF token"
hdr=$(curl -s -D - -o /dev/null -b "$T/jar" "$U/")
like "$hdr" "Content-Security-Policy: default-src 'none'; style-src 'self'" \
	"pages have a strict Content-Security-Policy"
like "$hdr" "X-Frame-Options: DENY" "and cannot be framed"
like "$hdr" "Referrer-Policy: same-origin" \
	"and send their Origin, never a referrer to other sites"
is "$(status -b "$T/jar" -d "csrf=$csrf" -H 'Origin: http://evil.example' \
	"$U/record/$e1/withdraw")" 403 "a POST from another origin is refused"
is "$(status -b "$T/jar" -d "csrf=$csrf" -H "Origin: $U" \
	"$U/record/$e1/reset")" 303 "one from this origin is not"

# --- deciding while a harvest runs ------------------------------------------
for i in $(seq 1 8); do
	printf '[source "slow%d"]\nkind = html\nrobots = no\nurl = %s\nrecord = //article\nfield.title = .//h1\n' \
		"$i" "$HTTPD_URL/_/slow?delay=2&n=$i" >>"$C"
done
echo "a signed letter" >"$T/letter.txt"
setsid "$BIN/cybil" -q -c "$C" run >"$T/run.out" 2>&1 &
harvest=$!
for _ in $(seq 100); do
	grep -q '/_/slow' "$HTTPD_LOG" 2>/dev/null && break
	sleep 0.1
done
start=$SECONDS
is "$(status -b "$T/jar" -F "csrf=$csrf" -F "evidence_file=@$T/letter.txt" \
	"$U/record/$e1/grant")" 303 "during the harvest: a grant with an evidence file"
is "$(status -b "$T/jar" -d "csrf=$csrf" "$U/record/$e2/withdraw")" 303 \
	"a withdrawal"
is "$(status -b "$T/jar" -d "csrf=$csrf" -d field=title -d 'value=Better title' \
	"$U/record/$e2/correct")" 303 "a correction"
[ $((SECONDS - start)) -le 3 ]; is $? 0 "each at once"
kill -0 "$harvest" 2>/dev/null; is $? 0 "while the harvest still ran"
wait "$harvest"; is $? 0 "which then finished normally"
q() { $SQ "$T/var/cybil.db" "$1"; }
sum=$(sha256sum <"$T/letter.txt" | cut -d' ' -f1)
is "$(q "SELECT new || ' ' || by || ' ' || evidence FROM consent_event
	WHERE record_id = '$e1' ORDER BY id DESC LIMIT 1")" "granted manager $sum" \
	"the grant is by the account, with the file's sha256 as evidence"
[ -f "$T/var/evidence/${sum:0:2}/${sum:2}" ]; is $? 0 "the file is in the evidence store"
is "$(q "SELECT consent FROM record WHERE id = '$e2'")" withdrawn "the withdrawal is stored"
is "$(q "SELECT value || ' ' || by FROM correction WHERE record_id = '$e2'")" \
	"Better title manager" "the correction too"
ok "the audit chain verifies" $RV verify-log
like "$(curl -s -b "$T/jar" "$U/log")" 'id="chain">The chain is verified' \
	"and the console's log page says so"

# --- limits -------------------------------------------------------------------
head -c $((17 << 20)) /dev/zero >"$T/big"
is "$(status -b "$T/jar" -F "csrf=$csrf" -F "evidence_file=@$T/big" \
	"$U/record/$e1/grant")" 413 "a body over 16 MB is refused"
events=$(q "SELECT count(*) FROM consent_event")
is "$(status -b "$T/jar" -F "csrf=$csrf" -F "evidence_uri=not a uri" \
	"$U/record/$e1/grant")" 400 "evidence that is neither a file nor a URI is refused"
is "$(q "SELECT count(*) FROM consent_event")" "$events" "and changes nothing"
# 1000 requests on one connection: far faster than the 20 a second that
# refill the burst of 120.
codes=$(curl -s -o /dev/null -w '%{http_code}\n' \
	$(for _ in $(seq 1000); do printf '%s ' "$U/style.css"; done) |
	sort | uniq -c)
like "$codes" " 429" "a burst of requests from one address is slowed down"
sleep 2
for i in 1 2 3 4 5; do
	login "$T/jar3" wrong-password >/dev/null
done
like "$(login "$T/jar3" secret-pass-1)" "HTTP/1.1 429" \
	"after five failed logins, even the right password waits"
is "$(status -b "$T/jar" "$U/")" 200 "sessions already open go on"
is "$(status -b "$T/jar" -d "csrf=$csrf" "$U/logout")" 303 "logging out"
is "$(status -b "$T/jar" "$U/")" 303 "ends the session"
kill -TERM "$SERVER"
wait "$SERVER"; is $? 0 "SIGTERM stops the console with exit 0"

# --- TLS, Secure cookies and session expiry ----------------------------------
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1; then
	PORT2=$(free_port)
	awk -v port="$PORT2" -v cert="$T/cert.pem" -v key="$T/key.pem" '
		/^listen = / { next }
		{ print }
		/^\[review\]/ {
			print "listen = 127.0.0.1:" port
			print "tls_cert = " cert
			print "tls_key = " key
			print "session_ttl = 1m"
		}' "$C" >"$T/tls.conf"
	S=https://127.0.0.1:$PORT2
	serve "$T/tls.conf" "$S"
	is $? 0 "the console serves HTTPS with tls_cert and tls_key"
	hdr=$(LOGIN_URL=$S login "$T/jar2" secret-pass-1 --cacert "$T/cert.pem")
	like "$hdr" "Set-Cookie: cybil_session=[^;]*; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure" \
		"its cookie is Secure, and lasts session_ttl"
	is "$(status --cacert "$T/cert.pem" -b "$T/jar2" "$S/")" 200 "the session works"
	is "$(status --cacert "$T/cert.pem" -b "$T/jar" "$S/")" 303 \
		"one of another console does not"
	is "$(status "http://127.0.0.1:$PORT2/login")" 000 "no plain HTTP beside it"
	kill -TERM "$SERVER"
	wait "$SERVER"
else
	skip "TLS: openssl could not make a certificate"
fi

done_testing
