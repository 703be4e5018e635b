#!/bin/bash
# A hostile web (issue 7): `cybil run` over HOSTILE_SOURCES sources (300 by
# default; tests/torture/hostile.sh runs 10,000) on several loopback hosts
# of tests/httpd.py, of which every tenth misbehaves, cycling through the
# misbehaviours of tests/e2e/hostile.py: connection resets, hang-ups,
# stalls, slow headers, trickling bodies, 500s, 404s, endless bodies,
# redirect loops, redirects to ftp, answers that are no HTTP, huge headers,
# truncated bodies, garbage bytes, HTML where a feed belongs, entity bombs,
# malformed XML, empty bodies, invalid UTF-8, wrong content types and
# redirect chains.  The run must end within its deadline with exit 1,
# every good source harvested, every bad one recorded with an error that
# says what went wrong, the store intact, the release and the audit log
# valid, and a second run must work the same without duplicating anything.
# Then a deadline shorter than the work: fetch stops in time and the next
# run takes what was left.
#
# Environment: HOSTILE_SOURCES (300), HOSTILE_HOSTS (4 loopback ports),
# HOSTILE_TIMEOUT (2s), HOSTILE_DEADLINE (seconds; from the size),
# HOSTILE_PARALLEL (16), HOSTILE_PER_HOST (4).
. "$(dirname "$0")/../lib.sh"

for p in cybil cybil-fetch cybil-parse cybil-publish cybil-review cybil-verify; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p is not built (run make)"
done
for cmd in sqlite3 timeout; do
	command -v "$cmd" >/dev/null || skip_all "needs $cmd"
done
PY=/usr/bin/python3	# as tests/lib.sh: the system one starts fast
[ -x "$PY" ] || PY=$(command -v python3) || skip_all "needs python3"
unset CYBIL_CONFIG CYBIL_LOCK_FD

N=${HOSTILE_SOURCES:-300}
HOSTS=${HOSTILE_HOSTS:-4}
TIMEOUT=${HOSTILE_TIMEOUT:-2}
PARALLEL=${HOSTILE_PARALLEL:-16}
PER_HOST=${HOSTILE_PER_HOST:-4}
# Generous: the bound is a promise kept, not a benchmark.
DEADLINE=${HOSTILE_DEADLINE:-$((60 + N / 10))}
# What may come after fetch's deadline: parse, expire and publish.
MARGIN=$((30 + N / 50))

tmpdir
T=$TMPDIR_TEST
WWW=$T/www D=$T/run
mkdir -p "$WWW" "$D"
HTTPD_MAX_SECONDS=$((3 * DEADLINE + 600)) httpd_start "$WWW" \
	--more-ports $((HOSTS - 1)) --more-ports-file "$T/ports"
PORTS=("$HTTPD_PORT")
mapfile -t -O 1 PORTS <"$T/ports"
note "$N sources on ${#PORTS[@]} hosts: 127.0.0.1:${PORTS[*]}"

CONF=$D/cybil.conf DB=$D/var/cybil.db EXPECT=$D/expect.tsv
cat >"$CONF" <<EOF
[store]
path = var/cybil.db
blobs = var/blobs

[fetch]
allow_private = yes
timeout = ${TIMEOUT}s
deadline = ${DEADLINE}s
retries = 1
redirects = 3
max_bytes = 256K
parallel = $PARALLEL
per_host = $PER_HOST

[publish]
dir = var/public
key = var/keys/cybil.key
max_drop = 100%
EOF
"$PY" "$TOP/tests/e2e/hostile.py" make "$N" "$WWW" "$CONF" "$EXPECT" \
	"${PORTS[@]}" || { echo "Bail out! cannot make the sources"; exit 255; }

q() { sqlite3 -batch -bail "$DB" "$@"; }
# run_cybil: `cybil run`, bounded; sets RC and ELAPSED (whole seconds).
run_cybil() {
	local t0
	t0=$(date +%s)
	timeout -k 10 $((DEADLINE + MARGIN + 120)) "$BIN/cybil" -c "$CONF" run \
		>"$D/out" 2>"$D/err" </dev/null
	RC=$?
	ELAPSED=$(($(date +%s) - t0))
	cat "$D/err" >>"$T/stderr.all"
}
# mine ID: the captures after ID of the source's own URL (not robots.txt)
mine() { echo "c.id > $1 AND c.url NOT GLOB '*/robots.txt'"; }
# summary ID: one line per source: name, active records, captures, distinct
# fetch errors, distinct parse errors, source.last_error, titles with
# U+FFFD, distinct content types, distinct statuses (captures after ID).
summary() {
	q -separator "$(printf '\t')" "
	SELECT s.name,
	  (SELECT count(*) FROM record r WHERE r.source = s.name
	    AND r.state = 'active'),
	  (SELECT count(*) FROM capture c WHERE c.source = s.name
	    AND $(mine "$1")),
	  coalesce((SELECT group_concat(e, ' | ') FROM (SELECT DISTINCT
	    replace(c.error, char(9), ' ') AS e FROM capture c
	    WHERE c.source = s.name AND $(mine "$1") AND c.error IS NOT NULL)), ''),
	  coalesce((SELECT group_concat(e, ' | ') FROM (SELECT DISTINCT
	    c.parse_error AS e FROM capture c WHERE c.source = s.name
	    AND $(mine "$1") AND c.parse_error IS NOT NULL)), ''),
	  coalesce(s.last_error, ''),
	  (SELECT count(*) FROM record r WHERE r.source = s.name
	    AND instr(r.title, char(65533)) > 0),
	  coalesce((SELECT group_concat(t) FROM (SELECT DISTINCT
	    c.content_type AS t FROM capture c WHERE c.source = s.name
	    AND $(mine "$1") AND c.content_type IS NOT NULL)), ''),
	  coalesce((SELECT group_concat(t) FROM (SELECT DISTINCT
	    c.status AS t FROM capture c WHERE c.source = s.name
	    AND $(mine "$1") AND c.status IS NOT NULL)), '')
	FROM source s ORDER BY s.name" >"$D/summary.tsv"
}
# check_sources ROUND: one test per misbehaviour, and one for the good.
check_sources() {
	local name n bad first
	"$PY" "$TOP/tests/e2e/hostile.py" check "$1" "$EXPECT" "$D/summary.tsv" \
		>"$D/check.tsv"
	while IFS=$(printf '\t') read -r name n bad first; do
		is "$bad" 0 "run $1: $name ($n sources)" ||
			diag "  e.g. $first"
	done <"$D/check.tsv"
}

# --- the first run ---------------------------------------------------------
ok "a signing key" "$BIN/cybil-publish" -q -c "$CONF" --keygen
run_cybil
note "first run: exit $RC in ${ELAPSED}s (deadline ${DEADLINE}s)"
is "$RC" 1 "the run exits 1: some sources failed" ||
	diag "$(tail -n 20 "$D/err")"
[ "$ELAPSED" -le $((DEADLINE + MARGIN)) ]
is $? 0 "it ends within the deadline (${ELAPSED}s <= ${DEADLINE}s + ${MARGIN}s)"
nfetch=$(awk -F'\t' '$2 == "fetch"' "$EXPECT" | wc -l | tr -d ' ')
like "$(grep 'cybil-fetch: fetched' "$D/err")" "failed $nfetch," \
	"fetch counts the $nfetch sources that failed"
is "$(grep -c 'left for the next run' "$D/err")" 0 \
	"nothing was left for the next run"
is "$(q "SELECT count(*) FROM source")" "$N" "every source is in the store"
summary 0
check_sources 1
kinds=$("$PY" "$TOP/tests/e2e/hostile.py" kinds)
if [ "$N" -ge $((10 * kinds)) ]; then
	is "$(($(wc -l <"$D/check.tsv")))" $((kinds + 1)) \
		"all $kinds misbehaviours were tried"
else
	skip "all $kinds misbehaviours need $((10 * kinds)) sources"
fi
is "$(q "SELECT count(*) FROM capture c WHERE error IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM source s WHERE s.name = c.source
	AND s.last_error IS NOT NULL)")" 0 \
	"no source with a failed capture lost its error in the end"
# per_host: on every host, the good sources got through beside the bad.
q -separator "$(printf '\t')" "SELECT name, substr(url, 1, 7 +
	instr(substr(url, 8), '/') - 1), (SELECT count(*) FROM record r
	WHERE r.source = s.name) > 0 FROM source s ORDER BY name" |
	sort >"$D/hosts.tsv"
sort "$EXPECT" | join -t "$(printf '\t')" - "$D/hosts.tsv" | awk -F'\t' '
	{ good = $2 == "good" || $2 == "odd"; g[$6] += good; b[$6] += !good
	  h[$6] += good && $7 }
	END { for (k in g) print k, g[k], h[k], b[k] }' | sort >"$D/hosts.sum"
while read -r host g h b; do
	is "$h" "$g" "$host: all $g good sources harvested beside $b bad ones"
done <"$D/hosts.sum"
is "$(($(wc -l <"$D/hosts.sum")))" "${#PORTS[@]}" "on each of the ${#PORTS[@]} hosts"
is "$(q "SELECT count(*) || ' ' || count(error) FROM capture
	WHERE url GLOB '*/robots.txt'")" "${#PORTS[@]} 0" \
	"robots.txt is asked for once per host; its absence is no error"
is "$(q "PRAGMA integrity_check")" ok "the store passes integrity_check"
is "$(q "PRAGMA foreign_key_check" | wc -l | tr -d ' ')" 0 \
	"and foreign_key_check"
ok "the audit log verifies" "$BIN/cybil-review" -q -c "$CONF" verify-log
ok "the release verifies" "$BIN/cybil-verify" -q \
	--pubkey "$D/var/keys/cybil.key.pub" "$D/var/public"
good=$(awk -F'\t' '$2 != "fetch" && $2 != "parse" { n += $4 } END { print n + 0 }' "$EXPECT")
is "$(q "SELECT records FROM release ORDER BY serial DESC LIMIT 1")" "$good" \
	"the release holds every good record ($good)"
is "$(find "$D/var/blobs/.tmp" -mindepth 1 2>/dev/null | wc -l | tr -d ' ')" 0 \
	"no temporary blob is left"

# --- a second run: the same again, nothing duplicated ------------------------
ids_before=$(q "SELECT id || ' ' || content_sha256 FROM record ORDER BY id" | sha256sum)
last_capture=$(q "SELECT max(id) FROM capture")
serial=$(q "SELECT max(serial) FROM release")
run_cybil
note "second run: exit $RC in ${ELAPSED}s"
is "$RC" 1 "a second run exits 1 again" || diag "$(tail -n 20 "$D/err")"
[ "$ELAPSED" -le $((DEADLINE + MARGIN)) ]
is $? 0 "and ends within the deadline (${ELAPSED}s)"
is "$(q "SELECT id || ' ' || content_sha256 FROM record ORDER BY id" | sha256sum)" \
	"$ids_before" "no record was added, lost or changed"
is "$(q "SELECT count(*) FROM (SELECT 1 FROM record GROUP BY source,
	external_id HAVING count(*) > 1)")" 0 "no record is duplicated"
is "$(q "SELECT max(serial) FROM release")" "$serial" \
	"nothing changed, so no new release"
summary "$last_capture"
check_sources 2
is "$(q "PRAGMA integrity_check")" ok "the store still passes integrity_check"
ok "the audit log still verifies" "$BIN/cybil-review" -q -c "$CONF" verify-log

# --- a deadline shorter than the work ---------------------------------------
# Forty sources that stall, four at a time, with a timeout longer than the
# deadline: fetch must give up at the deadline, record what was cut short
# and leave the rest, untouched, to the next run.
E=$T/deadline
mkdir -p "$E"
{
	printf '[store]\npath = var/cybil.db\n\n[fetch]\nallow_private = yes\n'
	printf 'timeout = 60s\ndeadline = 3s\nretries = 3\nparallel = 4\n'
	for i in $(seq 40); do
		printf '\n[source "st%d"]\nkind = rss\nurl = %s/_/stall?s=%d\n' \
			"$i" "$HTTPD_URL" "$i"
	done
} >"$E/cybil.conf"
t0=$(date +%s)
timeout -k 5 60 "$BIN/cybil-fetch" -c "$E/cybil.conf" >"$E/out" 2>"$E/err"
rc=$?
elapsed=$(($(date +%s) - t0))
note "a 3s deadline: exit $rc in ${elapsed}s"
is "$rc" 1 "a fetch cut short by its deadline exits 1"
[ "$elapsed" -le 8 ]
is $? 0 "it stops at the deadline (${elapsed}s for 3s)"
DB=$E/var/cybil.db
is "$(q "SELECT count(*) FROM capture")" 4 \
	"the four transfers in flight are recorded"
like "$(q "SELECT DISTINCT error FROM capture")" "timed out" "as timed out"
like "$(cat "$E/err")" "36 left for the next run" "the rest is left, and said so"
is "$(q "SELECT count(*) FROM source WHERE last_attempt IS NULL")" 36 \
	"the sources left were not touched"

# With `make SANITIZE=1` the binaries abort on the first report; this makes
# sure none went by unnoticed.
is "$(cat "$T/stderr.all" "$E/err" | grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' | head -n 3)" "" \
	"no sanitizer report on any run's stderr"

done_testing
