#!/bin/bash
# The html parser through the store: the pages of tests/e2e/html served on
# loopback with the sources of tests/e2e/html/sources.conf, fetched and
# parsed by the real programs. Records by XPath mapping (several a page),
# a page record without one, follow-ups only on follow_hosts and only
# http(s), a page's charset from its <meta>.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
DB=$T/var/cybil.db
unset CYBIL_CONFIG CYBIL_LOCK_FD

httpd_start "$TOP/tests/e2e/html"
{
	cat <<EOF2
[store]
path = var/cybil.db
blobs = var/blobs
[fetch]
allow_private = yes
timeout = 5s
EOF2
	sed "s|@BASE@|$HTTPD_URL|" "$TOP/tests/e2e/html/sources.conf"
} >"$T/cybil.conf"
q() { sqlite3 "$DB" "$1"; }

ok "the pages are fetched" "$BIN/cybil-fetch" -q -c "$T/cybil.conf"
ok "and parsed" "$BIN/cybil-parse" -q -c "$T/cybil.conf"
is "$(q "SELECT count(*) FROM capture WHERE parse_error IS NOT NULL")" 0 \
	"no page failed"

# --- a mapping: several records a page ---------------------------------
is "$(q "SELECT count(*) FROM record WHERE source = 'actors' AND kind = 'actor'")" \
	"$(grep -c "<article class=\"actor\"" "$TOP/tests/e2e/html/actors.html")" \
	"one record of kind actor per matching article"
is "$(q "SELECT json_extract(fields, '\$.name') FROM record WHERE source = 'actors' AND external_id LIKE '%#actor-pica'")" \
	"Pacific Island CERT Alliance (PICA)" "fields come from the XPath mapping"
like "$(q "SELECT group_concat(url, ' ') FROM queue WHERE source = 'actors'")" \
	"^$HTTPD_URL/events/" "follow queues the event pages on the source's host"
is "$(q "SELECT count(*) FROM queue WHERE source = 'actors' AND url LIKE '%other.example.net%'")" 0 \
	"but not a page on a host outside follow_hosts"

# --- no mapping: one page record ---------------------------------------
is "$(q "SELECT count(*) || ' ' || kind FROM record WHERE source = 'page'")" "1 page" \
	"a page without a mapping is one page record"
like "$(q "SELECT title FROM record WHERE source = 'page'")" "." "with its title"

# --- charset from <meta> ------------------------------------------------
like "$(q "SELECT title FROM record WHERE source = 'latin1'")" "é" \
	"ISO-8859-1 declared by <meta> is read as such"

# --- hostile: no file: or javascript: follow-ups -------------------------
is "$(q "SELECT count(*) FROM queue WHERE url NOT LIKE 'http://%' AND url NOT LIKE 'https://%'")" 0 \
	"only http(s) URLs are ever queued"

# --- the follow-ups are fetched and parsed in turn ----------------------
# (the event pages do not exist: a partial run, exit 1)
exits 1 "follow-ups are fetched" "$BIN/cybil-fetch" -q -c "$T/cybil.conf"
is "$(q "SELECT count(*) FROM capture WHERE source = 'actors' AND url LIKE '%/events/%' AND status = 404")" \
	"$(q "SELECT count(*) FROM queue WHERE source = 'actors'")" \
	"each queued page got its capture (here a 404)"
is "$(q "SELECT count(*) FROM queue WHERE source = 'actors' AND done_at IS NULL")" 0 \
	"the queue is drained"

done_testing
