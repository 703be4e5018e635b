#!/bin/bash
# cybil-fetch against the loopback test server (tests/httpd.py): conditional
# requests, retries, timeouts, limits, redirects, address checks, the
# scheduler's concurrency limits, the blob store, robots.txt, follow-ups,
# crash safety, quiet mode and the lock.  Every assertion looks at what the
# program left behind: capture/source/queue rows, blob files, exit codes and
# what the server saw.  Each part works in its own folder $T/NAME with its
# own config and store.
. "$(dirname "$0")/../lib.sh"

[ -x "$BIN/cybil-fetch" ] || skip_all "bin/cybil-fetch is not built (run make)"
for cmd in sqlite3 sha256sum curl timeout; do
	command -v "$cmd" >/dev/null || skip_all "needs $cmd"
done
PY=/usr/bin/python3	# as tests/lib.sh: the system one starts fast
[ -x "$PY" ] || PY=$(command -v python3) || skip_all "needs python3"
unset CYBIL_CONFIG CYBIL_LOCK_FD
export no_proxy='*' NO_PROXY='*'	# curl below talks to loopback only

tmpdir
T=$TMPDIR_TEST
WWW=$T/www
mkdir -p "$WWW"

# --- fixtures ----------------------------------------------------------------
# A feed large and repetitive enough that the server gzips it on the wire.
{
	echo '<?xml version="1.0" encoding="utf-8"?>'
	echo '<rss version="2.0"><channel><title>cybil test feed</title>'
	for i in $(seq 40); do
		echo "<item><title>Item $i</title><link>http://example.org/$i</link><description>Capacity building news number $i</description></item>"
	done
	echo '</channel></rss>'
} >"$WWW/feed.xml"
sed 's/cybil test feed/the other feed/' "$WWW/feed.xml" >"$WWW/other.xml"
sed 's/cybil test feed/the next page/' "$WWW/feed.xml" >"$WWW/next.xml"
sed 's/cybil test feed/identical twins/' "$WWW/feed.xml" >"$WWW/same1.xml"
cp "$WWW/same1.xml" "$WWW/same2.xml"
# 2M of text that gzips to a few K (a small "bomb"), and 2M that does not
# compress, so its Content-Length already says it is too big.
yes 'all work and no play makes a big body' | head -c 2097152 >"$WWW/bomb.txt"
head -c 2097152 /dev/urandom >"$WWW/random.bin"
mkdir -p "$WWW/many"
for i in $(seq 100); do
	printf 'static body number %d of the crash test\n' "$i" >"$WWW/many/s$i.txt"
done

sha_of() { sha256sum "$1" | cut -c1-64; }
FEED_SHA=$(sha_of "$WWW/feed.xml")
FEED_SIZE=$(wc -c <"$WWW/feed.xml" | tr -d ' ')

httpd_start "$WWW"

# --- helpers -------------------------------------------------------------------
# setup NAME [LINE...]: a new folder $T/NAME with a cybil.conf whose [fetch]
# section holds LINE...; allow_private = yes, timeout = 3s and retries = 0
# are added unless given.  Sets D, CONF, DB and BLOBS.
setup() {
	D=$T/$1
	shift
	mkdir -p "$D"
	CONF=$D/cybil.conf DB=$D/var/cybil.db BLOBS=$D/var/blobs
	local lines
	lines=$(printf '%s\n' "$@")
	{
		printf '[store]\npath = var/cybil.db\nblobs = var/blobs\n\n[fetch]\n'
		[[ $lines == *allow_private* ]] || echo 'allow_private = yes'
		[[ $lines == *timeout* ]] || echo 'timeout = 3s'
		[[ $lines == *retries\ =* ]] || echo 'retries = 0'
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$CONF"
}
# src NAME URL [LINE...]: appends a source (kind rss unless a line says).
src() {
	local name=$1 url=$2
	shift 2
	{
		printf '\n[source "%s"]\n' "$name"
		[[ " $* " == *"kind = "* ]] || echo "kind = rss"
		echo "url = $url"
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >>"$CONF"
}
# fetch ARGS...: runs cybil-fetch on $CONF (bounded); sets RC, OUT, ERR and
# ELAPSED (seconds, 2 decimals).
fetch() {
	local t0=$EPOCHREALTIME
	timeout -k 5 60 "$BIN/cybil-fetch" -c "$CONF" "$@" \
		>"$D/out" 2>"$D/err" </dev/null
	RC=$?
	ELAPSED=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	OUT=$(cat "$D/out")
	ERR=$(cat "$D/err")
	cat "$D/err" >>"$T/stderr.all"
}
q() { sqlite3 -batch -nullvalue NULL "$DB" "$@"; }
blob_of() { printf '%s/%s/%s' "$BLOBS" "${1:0:2}" "${1:2}"; }
nblobs() { find "$BLOBS" -path "$BLOBS/.tmp" -prune -o -type f -print 2>/dev/null | wc -l | tr -d ' '; }
ntmp() { find "$BLOBS/.tmp" -mindepth 1 2>/dev/null | wc -l | tr -d ' '; }
# ge A B / lt A B: decimal comparisons
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
stats_reset() { curl -sf -m 5 "$HTTPD_URL/_/stats/reset" >/dev/null; }
# stat EXPR: a Python expression over the server's /_/stats JSON `s`
stat() {
	curl -sf -m 5 "$HTTPD_URL/_/stats" |
		"$PY" -c 'import json, sys; s = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
# requests PATH: how many requests for PATH the server log shows
requests() { grep -c "^GET $1 " "$HTTPD_LOG"; }
# every_blob_present: each capture naming a sha256 has that blob, intact
every_blob_present() {
	"$PY" - "$DB" "$BLOBS" <<'EOF'
import hashlib, os, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
bad = 0
for (sha,) in db.execute("SELECT DISTINCT sha256 FROM capture WHERE sha256 IS NOT NULL"):
    path = os.path.join(sys.argv[2], sha[:2], sha[2:])
    try:
        with open(path, "rb") as f:
            ok = hashlib.sha256(f.read()).hexdigest() == sha
    except OSError:
        print("# missing blob", sha, file=sys.stderr); bad = 1; continue
    if not ok:
        print("# blob", sha, "has other contents", file=sys.stderr); bad = 1
sys.exit(bad)
EOF
}

# === 1. 200, then 304 on a forced second run; gzip stored decoded =============
setup basic
src a "$HTTPD_URL/feed.xml"
fetch
is "$RC" 0 "200: exit 0"
is "$(q "SELECT count(*) || ' ' || status || ' ' || sha256 || ' ' || bytes FROM capture WHERE source = 'a'")" \
	"1 200 $FEED_SHA $FEED_SIZE" "200: one capture with the sha256 and size of the decoded body"
cmp -s "$(blob_of "$FEED_SHA")" "$WWW/feed.xml"
is $? 0 "200: the blob at blobs/ab/cdef... is the file as served, decoded"
is "$(nblobs)" 1 "200: exactly one blob"
wire=$(awk '$2 == "/feed.xml" && $3 == 200 { print $4 }' "$HTTPD_LOG" | tail -n 1)
lt "${wire:-999999}" "$FEED_SIZE"
is $? 0 "gzip: the body was compressed on the wire ($wire of $FEED_SIZE bytes)"
is "$(q "SELECT url = final_url, content_type, etag IS NOT NULL, last_modified IS NOT NULL, error, queue_id FROM capture WHERE source = 'a'")" \
	"1|application/xml|1|1|NULL|NULL" "200: provenance recorded (final URL, type, validators, no error)"
like "$(q "SELECT fetched_at FROM capture WHERE source = 'a'")" '^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T' \
	"200: fetched_at is a date-time"
is "$(q "SELECT last_success IS NOT NULL, failures, last_error, etag = (SELECT etag FROM capture WHERE source = 'a') FROM source WHERE name = 'a'")" \
	"1|0|NULL|1" "200: source state: last_success set, 0 failures, validators kept"
like "$ERR" "fetched 1, not modified 0, failed 0, skipped 0" \
	"without -q the summary line is on stderr"
is "$OUT" "" "nothing on stdout"
is "$(requests /robots.txt)" 0 "an rss source does not ask for robots.txt"
is "$(ntmp)" 0 "no temp files left in blobs/.tmp"

# === 3. the interval; 17. -q ==================================================
fetch -q
is "$RC" 0 "a second run within the interval exits 0"
is "$(q "SELECT count(*) FROM capture")" 1 "and fetches nothing (the source is not due)"
is "$OUT$ERR" "" "-q: a successful run prints nothing"

# === 1. (cont.) forced second run: conditional request, 304 ===================
q "UPDATE source SET last_success = '2000-01-01T00:00:00Z' WHERE name = 'a'"
fetch --force
is "$RC" 0 "304: exit 0"
is "$(q "SELECT status || ' ' || ifnull(sha256, 'NULL') || ' ' || ifnull(bytes, 'NULL') FROM capture WHERE source = 'a' ORDER BY id DESC LIMIT 1")" \
	"304 NULL NULL" "304: a capture with status 304 and no body"
is "$(q "SELECT count(*) FROM capture")" 2 "304: one new capture row"
is "$(awk '$2 == "/feed.xml" { print $3 }' "$HTTPD_LOG" | tail -n 1)" 304 \
	"304: the server answered the conditional request with 304"
is "$(nblobs)" 1 "304: no new blob"
is "$(q "SELECT last_success > '2001', failures FROM source WHERE name = 'a'")" "1|0" \
	"304: counts as a success for the source"
like "$ERR" "fetched 0, not modified 1, failed 0, skipped 0" "304: summary counts it as not modified"
# One local 304 is a few milliseconds of work: the run must not then sit
# idle (for example in a poll for the next batch flush) before it exits.
lt "$ELAPSED" 0.8
is $? 0 "a run ends once its last transfer is done (this one took $ELAPSED s)"

# === 2. ETag alone, Last-Modified alone ========================================
setup validators
src e "$HTTPD_URL/_/etag-only/feed.xml"
src l "$HTTPD_URL/_/lm-only/feed.xml"
fetch
is "$RC" 0 "etag-only and lm-only: first run exits 0"
is "$(q "SELECT source, status, etag IS NOT NULL, last_modified IS NOT NULL FROM capture ORDER BY source")" \
	"e|200|1|0
l|200|0|1" "the first captures keep just the one validator each"
fetch --force
is "$(q "SELECT source, status FROM capture WHERE id > 2 ORDER BY source")" "e|304
l|304" "ETag alone and Last-Modified alone each give 304 on the second run"
is "$RC" 0 "and exit 0"

# === 4. --source ===========================================================
setup select
src a "$HTTPD_URL/feed.xml"
src b "$HTTPD_URL/other.xml"
fetch --source b
is "$RC" 0 "--source b exits 0"
is "$(q "SELECT group_concat(source) FROM capture")" b "--source b fetches only b"
fetch --source nosuch
is "$RC" 2 "an unknown --source exits 2"
like "$ERR" "nosuch" "and names it"
is "$(q "SELECT count(*) FROM capture")" 1 "and changes nothing"
fetch --source a --source b
is "$(q "SELECT group_concat(source) FROM (SELECT source FROM capture ORDER BY id)")" "b,a" \
	"--source is repeatable (a is fetched, b is not due)"

# === 5. 404 and 500 are recorded, the good source still fetched ============
setup errors 'retries = 1'
src nf "$HTTPD_URL/_/status/404"
src err "$HTTPD_URL/_/status/500"
src good "$HTTPD_URL/feed.xml"
fetch -q
is "$RC" 1 "404 and 500: exit 1 (partial failure)"
is "$(q "SELECT status || '|' || error || '|' || ifnull(sha256, 'NULL') FROM capture WHERE source = 'nf'")" \
	"404|HTTP 404|NULL" "404 recorded with error 'HTTP 404' and no body"
is "$(q "SELECT group_concat(status || ' ' || error, ', ') FROM capture WHERE source = 'err'")" \
	"500 HTTP 500, 500 HTTP 500" "500 is transient: tried again (retries = 1), both exchanges recorded"
is "$(q "SELECT status, sha256 = '$FEED_SHA' FROM capture WHERE source = 'good'")" "200|1" \
	"the good source in the same run is fetched"
is "$(q "SELECT name, failures, last_error, next_due > strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM source ORDER BY name")" \
	"err|1|HTTP 500|1
good|0|NULL|1
nf|1|HTTP 404|1" "source state: failures counted, errors kept, next try in the future"
like "$ERR" "source=nf" "-q still reports failures on stderr"
fetch -q
is "$(q "SELECT count(*) FROM capture")" 4 "a failed source backs off: not due in the next run"

# === 6. retries, Retry-After and retry_after_max ===========================
# Retry-After: 2 rather than 1, because an ordinary first retry already
# waits 0.5 to 1 s: only a wait of 2 s shows the header was honoured.
setup retry 'retries = 2' 'retry_after_max = 5s'
K=k$$.$RANDOM
src r503 "$HTTPD_URL/_/fail-then-ok?key=$K-503&fail=1&code=503"
src r429 "$HTTPD_URL/_/fail-then-ok?key=$K-429&fail=1&code=429"
src ra "$HTTPD_URL/_/fail-then-ok?key=$K-ra&fail=1&code=503&retry_after=2"
src ramax "$HTTPD_URL/_/fail-then-ok?key=$K-max&fail=1&code=503&retry_after=30"
src gone "$HTTPD_URL/_/fail-then-ok?key=$K-403&fail=1&code=403"
fetch --source r503 --source r429
is "$RC" 0 "503 then 200, 429 then 200: exit 0"
is "$(q "SELECT source, group_concat(ifnull(status, 'NULL'), ' ') FROM (SELECT * FROM capture ORDER BY id) GROUP BY source ORDER BY source")" \
	"r429|429 200
r503|503 200" "each retried once to success; both exchanges are capture rows"
is "$(q "SELECT count(*) FROM capture WHERE status = 200 AND sha256 IS NOT NULL AND error IS NULL")" 2 \
	"the successful tries have bodies and no error"
is "$(q "SELECT group_concat(failures) FROM source WHERE name IN ('r503', 'r429')")" "0,0" \
	"a failure retried to success leaves the source without failures"
fetch --source ra
is "$RC" 0 "Retry-After: 2 within retry_after_max: exit 0"
is "$(q "SELECT group_concat(status, ' ') FROM capture WHERE source = 'ra'")" "503 200" \
	"Retry-After: tried again within the run"
ge "$ELAPSED" 2
is $? 0 "Retry-After: 2 was waited for (run took $ELAPSED s)"
fetch --source ramax
is "$RC" 1 "Retry-After above retry_after_max: exit 1"
is "$(q "SELECT group_concat(status || ' ' || error) FROM capture WHERE source = 'ramax'")" "503 HTTP 503" \
	"Retry-After above retry_after_max: not retried in this run (one capture)"
lt "$ELAPSED" 5
is $? 0 "and not waited for (run took $ELAPSED s)"
fetch --source gone
is "$(q "SELECT group_concat(status) FROM capture WHERE source = 'gone'")" 403 \
	"a 403 is not transient: not retried"

# === 7. a stalled server: timeout ==========================================
setup stall 'timeout = 1s' 'retries = 1'
src s "$HTTPD_URL/_/stall"
fetch -q
is "$RC" 1 "stalled server: exit 1"
is "$(q "SELECT count(*), count(status), count(sha256) FROM capture")" "2|0|0" \
	"stalled server: two tries (a timeout is transient), no status, no body"
like "$(q "SELECT error FROM capture LIMIT 1")" "[Tt]ime(d)? ?out" "the error says it timed out"
lt "$ELAPSED" 8
is $? 0 "and the run ends within seconds ($ELAPSED s)"

# === 8. max_bytes ===========================================================
setup maxbytes 'max_bytes = 1M' 'timeout = 20s'
src endless "$HTTPD_URL/_/endless"
src bomb "$HTTPD_URL/bomb.txt"
src random "$HTTPD_URL/random.bin"
src small "$HTTPD_URL/feed.xml"
fetch -q
is "$RC" 1 "max_bytes: exit 1"
like "$(q "SELECT error FROM capture WHERE source = 'endless'")" "max_bytes" \
	"an endless body is aborted, the error mentions max_bytes"
lt "$ELAPSED" 10
is $? 0 "at once, not at the timeout ($ELAPSED s)"
like "$(q "SELECT error FROM capture WHERE source = 'bomb'")" "max_bytes" \
	"2M that gzip to a few K: aborted when the decoded body passes max_bytes"
like "$(q "SELECT ifnull(error, 'NULL') FROM capture WHERE source = 'random'")" "max_bytes|[Mm]aximum file size" \
	"2M announced by Content-Length: refused"
is "$(q "SELECT count(*) FROM capture WHERE source IN ('endless', 'bomb', 'random') AND sha256 IS NULL")" 3 \
	"no sha256 for any of them"
is "$(nblobs)" 1 "no blob stored for them (only the small feed's)"
is "$(ntmp)" 0 "and no temp file left"

# === 8b. huge response headers =============================================
# Regression: one header line over libcurl's limit was recorded as "Out of
# memory", which sends an operator after the wrong problem.
setup hugeheader
src one "$HTTPD_URL/_/huge-header"
src many "$HTTPD_URL/_/huge-header?size=1048576&lines=4096"
src small "$HTTPD_URL/feed.xml"
fetch -q
is "$RC" 1 "huge headers: exit 1"
like "$(q "SELECT error FROM capture WHERE source = 'one'")" \
	"response header larger than libcurl accepts" \
	"a 1 MB header line: the error names the header"
like "$(q "SELECT error FROM capture WHERE source = 'many'")" "[Hh]eader" \
	"1 MB of headers in 4096 lines: the error names the headers"
is "$(q "SELECT status FROM capture WHERE source = 'small'")" 200 \
	"the good source beside them is fetched"

# === 9. redirects ===========================================================
setup redirects
src chain "$HTTPD_URL/_/redirect/3?to=/feed.xml"
fetch
is "$RC" 0 "a chain of 3 redirects: exit 0"
is "$(q "SELECT status, sha256 = '$FEED_SHA', url LIKE '%/_/redirect/3?%' FROM capture")" "200|1|1" \
	"followed to a 200 with the target's body; url stays the configured one"
like "$(q "SELECT final_url FROM capture")" "^$HTTPD_URL/feed\.xml$" "final_url is where the chain ended"
setup redirects2 'redirects = 2'
src two "$HTTPD_URL/_/redirect/2?to=/feed.xml"
src three "$HTTPD_URL/_/redirect/3?to=/feed.xml"
src loop "$HTTPD_URL/_/redirect-loop"
fetch -q
is "$RC" 1 "redirects = 2 with longer chains: exit 1"
is "$(q "SELECT status FROM capture WHERE source = 'two'")" 200 "redirects = 2: a chain of 2 is followed"
is "$(q "SELECT error IS NOT NULL, sha256 FROM capture WHERE source = 'three'")" "1|NULL" \
	"redirects = 2: a chain of 3 fails"
is "$(q "SELECT error IS NOT NULL, sha256 FROM capture WHERE source = 'loop'")" "1|NULL" \
	"a redirect loop fails"
lt "$(requests '/_/redirect-loop')" 10
is $? 0 "and is not followed for long"

# === 10. redirects to file: and private addresses ===========================
setup tofile
src f1 "$HTTPD_URL/_/redirect-to?url=file:///etc/passwd"
src f2 "$HTTPD_URL/_/redirect-to?url=file:///etc/passwd&code=301" 'allow_file = yes'
fetch -q
is "$RC" 1 "redirect to file:///etc/passwd: exit 1"
is "$(q "SELECT count(*) FROM capture WHERE error IS NOT NULL AND sha256 IS NULL")" 2 \
	"refused, also for a source with allow_file = yes"
like "$(q "SELECT error FROM capture WHERE source = 'f1'")" "[Pp]rotocol|file|[Rr]edirect" \
	"the error says why ($(q "SELECT error FROM capture WHERE source = 'f1'"))"
is "$(nblobs)" 0 "no blob stored"
grep -rqs 'root:' "$D/var"
is $? 1 "nothing from /etc/passwd anywhere in the store or blobs"

setup private 'allow_private = no'
src p1 "$HTTPD_URL/feed.xml"
src p2 "http://localhost:$HTTPD_PORT/other.xml"
src p3 "http://[::1]:$HTTPD_PORT/next.xml"
src p4 "http://0x7f000001:$HTTPD_PORT/same1.xml"
stats_reset
fetch -q
is "$RC" 1 "allow_private = no on loopback: exit 1"
is "$(q "SELECT error FROM capture WHERE source = 'p1'")" \
	"refused to connect to private address 127.0.0.1 (allow_private = no)" \
	"127.0.0.1 is refused with a clear error"
# (curl resolves "localhost" itself, to ::1 and 127.0.0.1)
like "$(q "SELECT error FROM capture WHERE source = 'p2'")" "refused to connect to private address (127\.0\.0\.1|::1)" \
	"a name (localhost) is checked after resolution"
like "$(q "SELECT error FROM capture WHERE source = 'p3'")" "refused to connect to private address ::1" \
	"IPv6 loopback is refused"
like "$(q "SELECT ifnull(error, 'NULL') FROM capture WHERE source = 'p4'")" "refused to connect to private address 127\.0\.0\.1" \
	"a numeric alias of 127.0.0.1 is refused"
is "$(q "SELECT count(*) FROM capture WHERE status IS NULL AND sha256 IS NULL")" 4 "no status, no body"
is "$(stat 's["total"]')" 0 "the server saw no request at all"

# A redirect from a public address to a private one can only be staged
# where no packet can leave the machine: in a network namespace of our own,
# with only a loopback interface that also carries 203.0.113.5 (TEST-NET-3,
# which cybil counts as public).  A tiny server there answers /ok and
# redirects /to-10 and /to-lo; a listener on 127.0.0.1 counts connections.
if unshare -rn true 2>/dev/null && command -v ip >/dev/null; then
	setup netns 'allow_private = no'
	cat >"$D/server.py" <<'EOF'
import socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        loc = {"/to-10": "http://10.0.0.1:9/x",
               "/to-lo": "http://127.0.0.1:%d/x" % lo_port}.get(self.path)
        if loc:
            self.send_response(302); self.send_header("Location", loc)
            self.send_header("Content-Length", "0"); self.end_headers()
        else:
            body = b"hello from a public address\n"
            self.send_response(200); self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
lo = socket.socket(); lo.bind(("127.0.0.1", 0)); lo.listen(8)
lo_port = lo.getsockname()[1]
def count():
    while True:
        c, _ = lo.accept()
        with open(sys.argv[2], "a") as f: f.write("connection\n")
        c.close()
threading.Thread(target=count, daemon=True).start()
srv = ThreadingHTTPServer(("203.0.113.5", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f: f.write("%d\n" % srv.server_address[1])
import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
srv.timeout = 0.2
import time; end = time.monotonic() + 30
while time.monotonic() < end and not os.path.exists(sys.argv[3]):
    srv.handle_request()
EOF
	cat >"$D/inside.sh" <<'EOF'
ip link set lo up && ip addr add 203.0.113.5/32 dev lo || exit 99
"$PY" "$D/server.py" "$D/port" "$D/lo.log" "$D/stop" &
for _ in $(seq 50); do [ -s "$D/port" ] && break; sleep 0.1; done
[ -s "$D/port" ] || exit 98
P=$(cat "$D/port")
printf '\n[source "pub"]\nkind = rss\nurl = http://203.0.113.5:%s/ok\n' "$P" >>"$CONF"
printf '\n[source "to10"]\nkind = rss\nurl = http://203.0.113.5:%s/to-10\n' "$P" >>"$CONF"
printf '\n[source "tolo"]\nkind = rss\nurl = http://203.0.113.5:%s/to-lo\n' "$P" >>"$CONF"
printf '\n[source "direct"]\nkind = rss\nurl = http://10.0.0.1:9/\n' >>"$CONF"
timeout -k 5 30 "$BIN/cybil-fetch" -q -c "$CONF" >"$D/out" 2>"$D/err"
rc=$?
touch "$D/stop"; wait
exit $rc
EOF
	: >"$D/lo.log"
	env D="$D" CONF="$CONF" BIN="$BIN" PY="$PY" timeout -k 5 60 unshare -rn bash "$D/inside.sh"
	RC=$?
	cat "$D/err" >>"$T/stderr.all" 2>/dev/null
	if [ "$RC" -ge 98 ] && [ "$RC" -le 99 ] || [ "$RC" -eq 124 ]; then
		skip "redirect to a private address (namespace setup failed: $RC)"
	else
		is "$RC" 1 "in a private network namespace: exit 1"
		is "$(q "SELECT status, sha256 IS NOT NULL FROM capture WHERE source = 'pub'")" "200|1" \
			"a public address is fetched with allow_private = no"
		like "$(q "SELECT ifnull(error, 'NULL') FROM capture WHERE source = 'to10'")" \
			"refused to connect to private address 10\.0\.0\.1" \
			"a redirect to http://10.0.0.1/ is refused"
		like "$(q "SELECT ifnull(error, 'NULL') FROM capture WHERE source = 'tolo'")" \
			"refused to connect to private address 127\.0\.0\.1" \
			"a redirect to 127.0.0.1 is refused"
		is "$(wc -l <"$D/lo.log" | tr -d ' ')" 0 "before connecting: the loopback listener saw no connection"
		like "$(q "SELECT ifnull(error, 'NULL') FROM capture WHERE source = 'direct'")" \
			"refused to connect to private address 10\.0\.0\.1" \
			"a source at http://10.0.0.1/ is refused"
		is "$(q "SELECT count(*) FROM capture WHERE sha256 IS NOT NULL AND source <> 'pub'")" 0 \
			"no body stored for the refused ones"
	fi
else
	skip "redirect to a private address (no unshare -rn or ip here)"
fi

# === 12. concurrency: parallel and per_host ================================
setup many 'parallel = 5' 'per_host = 3' 'timeout = 20s'
for i in $(seq 200); do
	if [ $((i % 2)) -eq 0 ]; then host=127.0.0.1; else host=localhost; fi
	src "s$i" "http://$host:$HTTPD_PORT/_/slow?delay=0.05&n=$i"
done
stats_reset
fetch -q
is "$RC" 0 "200 sources on two hosts: exit 0"
is "$(q "SELECT count(*) FROM capture WHERE status = 200 AND sha256 IS NOT NULL")" 200 \
	"200 captures with status 200"
is "$(stat 's["total"]')" 200 "the server saw 200 requests"
max_active=$(stat 's["max_active"]')
ge 5 "$max_active"
is $? 0 "parallel = 5: at most 5 requests at once (max $max_active)"
ge "$max_active" 4
is $? 0 "and the limit is used (not one at a time)"
ph=$(stat '" ".join("%s=%d" % kv for kv in sorted(s["per_host_max"].items()))')
is "$(stat 'max(s["per_host_max"].get(h, 0) for h in ("127.0.0.1:'"$HTTPD_PORT"'", "localhost:'"$HTTPD_PORT"'")) <= 3 and len(s["per_host_max"]) == 2')" \
	True "per_host = 3 for each Host ($ph)"
# Not asserted: the server notices a connection curl closed a little
# late, so its count of open connections can overshoot by one.
note "at most $(stat 's["max_connections_active"]') connections open at once"
conns=$(stat 's["connections"]')
lt "$conns" 100
is $? 0 "connections are reused ($conns for 200 requests)"
lt "$ELAPSED" 15
is $? 0 "the run took $ELAPSED s (200 x 0.05 s / 5 = 2 s ideal)"

# A queued transfer does not burn its timeout: one at a time, each takes
# 0.7 s of a 1 s timeout, 2.1 s in all.
setup queued 'parallel = 1' 'timeout = 1s'
for i in 1 2 3; do src "q$i" "$HTTPD_URL/_/slow?delay=0.7&n=q$i"; done
fetch -q
is "$RC" 0 "parallel = 1, 3 x 0.7 s with timeout = 1s: exit 0"
is "$(q "SELECT count(*) FROM capture WHERE status = 200 AND error IS NULL")" 3 \
	"the timeout counts from a transfer's start, not from being queued"

# === 13. identical bodies stored once ======================================
setup dedup
src x "$HTTPD_URL/same1.xml"
src y "$HTTPD_URL/same2.xml"
fetch -q
is "$RC" 0 "two sources with identical bodies: exit 0"
is "$(q "SELECT count(*), count(DISTINCT sha256) FROM capture WHERE sha256 = '$(sha_of "$WWW/same1.xml")'")" \
	"2|1" "two captures with the same sha256"
is "$(nblobs)" 1 "exactly one blob file"

# === 15. follow-ups =========================================================
setup follow
src a "$HTTPD_URL/feed.xml"
fetch -q
is "$RC" 0 "follow-ups: first run"
qid=$(q "INSERT INTO queue (source, url, reason, queued_at) VALUES ('a', '$HTTPD_URL/next.xml', 'follow', 'now'); SELECT last_insert_rowid();")
qid2=$(q "INSERT INTO queue (source, url, reason, queued_at) VALUES ('a', 'http://localhost:$HTTPD_PORT/x', 'follow', 'now'); SELECT last_insert_rowid();")
fetch -q
is "$RC" 0 "a run with follow-ups queued exits 0"
is "$(q "SELECT status, sha256 = '$(sha_of "$WWW/next.xml")', url FROM capture WHERE queue_id = $qid")" \
	"200|1|$HTTPD_URL/next.xml" "the follow-up is fetched, its capture names the queue row"
is "$(q "SELECT count(*) FROM capture WHERE source = 'a' AND queue_id IS NULL")" 1 \
	"the source itself is not fetched again (not due)"
is "$(q "SELECT done_at IS NOT NULL FROM queue WHERE id = $qid")" 1 "the queue row is done"
is "$(q "SELECT count(*) FROM capture WHERE url LIKE 'http://localhost:%'")" 0 \
	"a follow-up on a host not in follow_hosts is not fetched"
is "$(requests /x)" 0 "the server never saw it"
is "$(q "SELECT done_at FROM queue WHERE id = $qid2")" NULL "and it stays queued (not marked done)"
fetch -q
is "$(q "SELECT count(*) FROM capture WHERE queue_id = $qid")" 1 "a done follow-up is not fetched again"

# === 18. the lock ==========================================================
setup lock 'timeout = 10s'
src slow "$HTTPD_URL/_/slow?delay=1.5&n=lock"
stats_reset
timeout -k 5 30 "$BIN/cybil-fetch" -q -c "$CONF" >/dev/null 2>&1 &
first=$!
for _ in $(seq 50); do
	[ "$(stat 's["active"]')" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
fetch
is "$RC" 75 "a second cybil-fetch while one runs exits 75"
like "$ERR" "locked" "and says the store is locked"
lt "$ELAPSED" 1.5
is $? 0 "at once ($ELAPSED s)"
wait "$first"
is $? 0 "the first run finishes normally"
is "$(q "SELECT count(*) FROM capture")" 1 "and only it fetched"

# === 16. SIGKILL in the middle =============================================
setup crash 'parallel = 6' 'per_host = 6' 'timeout = 10s'
for i in $(seq 50); do
	src "slow$i" "$HTTPD_URL/_/slow?delay=0.3&n=$i"
	src "st$((2 * i - 1))" "$HTTPD_URL/many/s$((2 * i - 1)).txt"
	src "st$((2 * i))" "$HTTPD_URL/many/s$((2 * i)).txt"
done
# timeout sends the SIGKILL (--foreground: to cybil-fetch only, not itself).
timeout --foreground -s KILL 1.5 "$BIN/cybil-fetch" -q -c "$CONF" >/dev/null 2>&1
is $? 137 "cybil-fetch was killed with SIGKILL mid-run"
n=$(q "SELECT count(*) FROM capture")
note "$n captures were committed before SIGKILL, $(ntmp) temp files left"
lt 0 "$n" && lt "$n" 150
is $? 0 "killed mid-run, with part of the work committed ($n of 150 captures)"
every_blob_present
is $? 0 "after SIGKILL every capture with a sha256 has its blob, intact"
is "$(q "PRAGMA integrity_check")" ok "the store passes integrity_check"
fetch -q
is "$RC" 0 "the next normal run succeeds"
is "$(q "SELECT count(DISTINCT source) FROM capture WHERE status = 200 AND sha256 IS NOT NULL")" 150 \
	"and fetches what was left: every source has its capture"
every_blob_present
is $? 0 "every blob is there"
is "$(ntmp)" 0 "blobs/.tmp is empty"
is "$(nblobs)" 101 "101 distinct bodies, one blob each"

# === 14. robots.txt (last: it needs a server of its own) =====================
R=$T/robots-www
mkdir -p "$R/private" "$R/public"
printf 'User-agent: *\nDisallow: /private/\n' >"$R/robots.txt"
echo '<html><body><p>a private page</p></body></html>' >"$R/private/page.html"
echo '<html><body><p>a public page</p></body></html>' >"$R/public/page.html"
httpd_start "$R"
setup robots
src priv "$HTTPD_URL/private/page.html" 'kind = html'
src pub "$HTTPD_URL/public/page.html" 'kind = html'
fetch --source priv
is "$RC" 0 "a run in which a disallowed page is only skipped exits 0"
like "$ERR" "fetched 0, not modified 0, failed 0, skipped 1" "the summary counts it as skipped"
is "$(q "SELECT ifnull(status, 'NULL') || '|' || error || '|' || ifnull(sha256, 'NULL') FROM capture WHERE source = 'priv' AND url LIKE '%/private/%'")" \
	"NULL|disallowed by robots.txt|NULL" "the disallowed URL gets a capture: error 'disallowed by robots.txt'"
is "$(requests '/private/page.html')" 0 "and is never requested"
is "$(q "SELECT count(*), status FROM capture WHERE url = '$HTTPD_URL/robots.txt'")" "1|200" \
	"robots.txt is recorded as a capture"
: >"$HTTPD_LOG"
fetch --force
is "$RC" 0 "both sources: exit 0"
is "$(q "SELECT status FROM capture WHERE source = 'pub' AND url LIKE '%/public/page.html'")" 200 \
	"a URL outside /private/ is fetched"
is "$(q "SELECT count(*) FROM capture WHERE source = 'priv' AND url LIKE '%/private/%' AND error = 'disallowed by robots.txt'")" 2 \
	"the disallowed one is skipped again"
is "$(requests /robots.txt)" 1 "robots.txt is asked for once per host per run"
is "$(grep -c '/private/' "$HTTPD_LOG")" 0 "/private/ is never requested"
is "$(q "SELECT failures FROM source WHERE name = 'priv'")" 0 \
	"skipping is not a failure of the source"
# Regression: a missing robots.txt (404: everything allowed) was recorded
# with the error "HTTP 404", among the source's failures.
rm "$R/robots.txt"
fetch --force --source pub
is "$RC" 0 "no robots.txt: the page is fetched, exit 0"
is "$(q "SELECT status || '|' || ifnull(error, 'NULL') FROM capture WHERE url = '$HTTPD_URL/robots.txt' ORDER BY id DESC LIMIT 1")" \
	"404|NULL" "a missing robots.txt is recorded as 404 with no error"

# With `make SANITIZE=1` the binaries abort on the first report; this makes
# sure none went by unnoticed in a run whose exit status was not checked.
is "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/stderr.all" | head -n 3)" "" \
	"no sanitizer report on any run's stderr"

done_testing
