#!/bin/bash
# Self-test of the end-to-end test server tests/httpd.py, driven with curl.
. "$(dirname "$0")/../lib.sh"

command -v curl >/dev/null || skip_all "curl not installed"
[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 not installed"

plan 35

tmpdir
root=$TMPDIR_TEST/root
mkdir -p "$root/sub"
for i in $(seq 1 40); do echo "  <item><title>Item $i</title></item>"; done \
    | { echo '<rss version="2.0"><channel>'; cat; echo '</channel></rss>'; } >"$root/feed.xml"
touch -d '2020-01-02 03:04:05 UTC' "$root/feed.xml"
echo 'User-agent: *' >"$root/robots.txt"
echo 'outside the root' >"$TMPDIR_TEST/secret.txt"
ln -s ../secret.txt "$root/escape.txt"

httpd_start "$root"
U=$HTTPD_URL
like "$HTTPD_PORT" '^[0-9]+$' "httpd_start exports a numeric HTTPD_PORT"

H=$TMPDIR_TEST/headers B=$TMPDIR_TEST/body
# fetch [CURL ARGS...]: body to $B, headers to $H (CRs stripped), prints the status
fetch() {
    local code
    rm -f "$H" "$B"  # curl leaves -o untouched when there is no body
    code=$(curl -sS -D "$H" -o "$B" -w '%{http_code}' "$@")
    sed -i 's/\r$//' "$H"
    echo "$code"
}
header() {  # header NAME: value of the last such header in $H
    sed -n "s/^$1: *//Ip" "$H" | tail -n 1
}

# --- plain 200 with validators ------------------------------------------
is "$(fetch "$U/feed.xml")" 200 "static file: 200"
ok "static file: body is the file" cmp "$B" "$root/feed.xml"
etag=\"$(sha256sum <"$root/feed.xml" | cut -c1-16)\"
is "$(header ETag)" "$etag" "ETag is the quoted sha256 prefix of the body"
lm=$(header Last-Modified)
is "$lm" "Thu, 02 Jan 2020 03:04:05 GMT" "Last-Modified is the file mtime (RFC 7231)"
is "$(header Content-Type)" "application/xml" "Content-Type by extension"
is "$(header Content-Length)" "$(wc -c <"$root/feed.xml")" "Content-Length set"
is "$(fetch "$U/robots.txt")" 200 "robots.txt is a plain static file"
is "$(header Content-Type)" "text/plain; charset=utf-8" "text/plain for .txt"

# --- conditional requests -----------------------------------------------
is "$(fetch -H "If-None-Match: $etag" "$U/feed.xml")" 304 "If-None-Match: 304"
ok "304 has no body" test ! -s "$B"
is "$(fetch -H "If-None-Match: \"nope\", W/$etag" "$U/feed.xml")" 304 \
    "If-None-Match list with weak tag: 304 (weak comparison)"
is "$(fetch -H 'If-None-Match: "nope"' -H "If-Modified-Since: $lm" "$U/feed.xml")" 200 \
    "non-matching If-None-Match wins over If-Modified-Since: 200"
is "$(fetch -H "If-Modified-Since: $lm" "$U/feed.xml")" 304 "If-Modified-Since = mtime: 304"
is "$(fetch -H 'If-Modified-Since: Wed, 01 Jan 2020 00:00:00 GMT' "$U/feed.xml")" 200 \
    "If-Modified-Since before mtime: 200"
is "$(fetch -H "If-None-Match: $etag" "$U/_/lm-only/feed.xml")" 200 \
    "lm-only ignores If-None-Match"
is "$(header ETag)" "" "lm-only sends no ETag"

# --- compression --------------------------------------------------------
is "$(fetch --compressed "$U/feed.xml")" 200 "curl --compressed: 200"
is "$(header Content-Encoding)" gzip "Content-Encoding: gzip when asked"
ok "curl --compressed body is the original" cmp "$B" "$root/feed.xml"
fetch -H 'Accept-Encoding: gzip' "$U/feed.xml" >/dev/null
ok "raw body is real gzip of the file" \
    sh -c 'gzip -dc <"$1" | cmp - "$2"' sh "$B" "$root/feed.xml"
fetch "$U/feed.xml" >/dev/null
is "$(header Content-Encoding)" "" "no Content-Encoding when not asked"

# --- traversal and directories ------------------------------------------
is "$(fetch --path-as-is "$U/../secret.txt")" 404 "../ traversal: 404"
is "$(fetch --path-as-is "$U/sub/../../secret.txt")" 404 "sub/../../ traversal: 404"
is "$(fetch "$U/%2e%2e/secret.txt")" 404 "%2e%2e traversal: 404"
is "$(fetch "$U/escape.txt")" 404 "symlink leading out of the root: 404"
is "$(fetch "$U/sub/")" 404 "directory: 404, no listing"

# --- redirects and failures ---------------------------------------------
is "$(curl -sS -L -o /dev/null -w '%{http_code} %{num_redirects}' "$U/_/redirect/3")" \
    "200 3" "redirect chain of 3 ends at 200"
is "$(fetch "$U/_/fail-then-ok?key=t1&fail=1&retry_after=7")" 503 "fail-then-ok: first is 503"
is "$(header Retry-After)" 7 "fail-then-ok: Retry-After sent"
is "$(fetch "$U/_/fail-then-ok?key=t1&fail=1&retry_after=7")" 200 "fail-then-ok: then 200"
is "$(cat "$B")" "ok t1" "fail-then-ok: body 'ok KEY'"

# --- stats --------------------------------------------------------------
fetch "$U/_/stats/reset" >/dev/null
for i in 1 2 3; do fetch "$U/robots.txt" >/dev/null; done
fetch "$U/_/status/418" >/dev/null
fetch "$U/_/stats" >/dev/null
is "$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["requests"].get("/robots.txt"), d["total"], d["active"], d["connections"])' "$B")" \
    "3 4 0 4" "/_/stats counts requests per path, total, active and connections"

# --- log and shutdown ---------------------------------------------------
ok "request log has METHOD PATH STATUS BYTES lines" \
    grep -qx 'GET /_/status/418 418 [0-9]*' "$HTTPD_LOG"
httpd_stop
exits 7 "server is gone after httpd_stop (curl: connection refused)" \
    curl -sS -o /dev/null "$U/robots.txt"

done_testing
