#!/bin/bash
# The cybil front door: options, config errors, status, and `cybil run`
# with stand-in stage programs that record how they were called, so the
# order of stages, the lock, its inheritance and exit codes can be checked.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/bin" "$T/empty"
cp "$BIN/cybil" "$T/bin/cybil"
CYBIL=$T/bin/cybil
LOG=$T/stages.log
unset CYBIL_CONFIG CYBIL_LOCK_FD

cat >"$T/cybil.conf" <<'EOF'
[store]
path = var/cybil.db

[source "news"]
kind = rss
url = http://127.0.0.1:9/news.rss

[source "pages"]
kind = html
url = http://127.0.0.1:9/index.html
EOF

# A stand-in stage: logs its name, arguments and inherited lock, then does
# what the environment asks (sleep, exit code, queue a follow-up ...).
stage() {
	cat >"$T/bin/cybil-$1" <<EOF
#!/bin/sh
echo "$1 \$* lock=\${CYBIL_LOCK_FD:-none}" >>"$LOG"
$2
EOF
	chmod +x "$T/bin/cybil-$1"
}
# A sleeping stage execs sleep, so a signal to the stage reaches it.
slow_fetch='[ -z "$FETCH_SLEEP" ] || exec sleep "$FETCH_SLEEP"; exit "${FETCH_EXIT:-0}"'
stage fetch "$slow_fetch"
stage parse 'exit "${PARSE_EXIT:-0}"'
stage review 'exit 0'
stage publish 'exit "${PUBLISH_EXIT:-0}"'

run() { "$CYBIL" -c "$T/cybil.conf" "$@"; }
# In the background, as its own process group, so that $! is cybil itself
# and the whole run can be killed at once.
run_in_background() { setsid "$CYBIL" -c "$T/cybil.conf" "$@" 2>/dev/null & }

# --- options and configuration -------------------------------------------
like "$("$CYBIL" --version)" '^cybil [0-9]+\.[0-9]+\.[0-9]+ ' "--version"
exits 0 "-h exits 0" "$CYBIL" -h
exits 2 "no command is a usage error" "$CYBIL"
exits 2 "unknown option" "$CYBIL" --bogus status
exits 2 "unknown command" "$CYBIL" -c "$T/cybil.conf" frobnicate
exits 2 "a command name cannot be a path" "$CYBIL" ../../bin/sh

printf '[store]\npath = var/x.db\n\n[fetch]\nparallel = 4\nspeed = 9\n' \
	>"$T/bad.conf"
err=$("$CYBIL" status -c "$T/bad.conf" 2>&1); rc=$?
is "$rc" 2 "an unknown key exits 2"
like "$err" "bad\.conf:6: speed: unknown key" "the error names file, line and key"
[ ! -e "$T/var/x.db" ]; is $? 0 "a bad config changes nothing (no store)"

err=$("$CYBIL" -c "$T/missing.conf" status 2>&1); rc=$?
is "$rc" 2 "a named config that does not exist exits 2"
like "$err" "missing\.conf: cannot open" "and says so"
err=$(cd "$T/empty" && "$CYBIL" status 2>&1); rc=$?
is "$rc" 2 "no config anywhere exits 2"
like "$err" "no configuration file" "and explains where it looked"
out=$(cd "$T/empty" && CYBIL_CONFIG=$T/cybil.conf "$CYBIL" status); rc=$?
is "$rc" 0 "\$CYBIL_CONFIG is used"
out=$(cd "$T" && "$CYBIL" status 2>&1); rc=$?
is "$rc" 0 "./cybil.conf is used"

# Regression: run as the very first command once failed to create the lock
# because the store's folder did not exist yet.
mkdir -p "$T/fresh"
printf '[store]\npath = deep/er/cybil.db\n' >"$T/fresh/cybil.conf"
exits 0 "run on a new config creates the store's folder" \
	"$CYBIL" -q -c "$T/fresh/cybil.conf" run
[ -f "$T/fresh/deep/er/cybil.db" ] && [ -f "$T/fresh/deep/er/cybil.db.lock" ]
is $? 0 "the store and its lock file are there"

# --- status ------------------------------------------------------------------
out=$(run status); rc=$?
is "$rc" 0 "status on a new store"
like "$out" "schema [0-9]+" "status shows the schema version"
like "$out" "news +rss +never +0 +due" "status lists a source never fetched as due"
like "$out" "release +none yet" "status shows no release yet"
like "$out" "review +0 records await a decision" "status shows reviews"
[ -f "$T/var/cybil.db" ]; is $? 0 "the store is created beside the config"
json=$(run status --json)
is "$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["schema"] > 0, [s["name"] for s in r["sources"]], r["review"]["pending"], r["release"], len(r["audit"]["head"]))')" \
	"True ['news', 'pages'] 0 None 64" "status --json reports the same as JSON"
exits 2 "--json goes with status only" run run --json

# A record awaiting review and a release, as later stages will write them.
sqlite3 "$T/var/cybil.db" "
INSERT INTO record_key VALUES ('news', 'g1', '0123456789abcdef0123456789abcdef');
INSERT INTO record (id, source, kind, external_id, title, content_sha256,
  first_seen, last_seen, changed_at, parser, parser_version)
  VALUES ('0123456789abcdef0123456789abcdef', 'news', 'news', 'g1', 'A',
  printf('%064d', 1), 'now', 'now', 'now', 'rss', '1');
INSERT INTO release (serial, state, created, records)
  VALUES (1, 'done', '2026-11-28T10:00:00Z', 0);"
out=$(run status)
like "$out" "records +active 1" "status counts records by state"
like "$out" "consent +pending 1" "and by consent"
like "$out" "review +1 record awaits|review +1 record await a decision" "and what awaits review"
like "$out" "release +000001 \(done\) 2026-11-28T10:00:00Z, 0 records" "and the latest release"
out=$(run -q status 2>&1)
like "$out" "^store" "-q keeps status output (it is what was asked for)"

# --- run: order of stages, arguments, lock -------------------------------
: >"$LOG"
exits 0 "run with every stage succeeding" run run
is "$(cut -d' ' -f1 "$LOG" | tr '\n' ' ')" "fetch parse review publish " \
	"stages run in order"
like "$(grep '^review' "$LOG")" "review -c $T/cybil.conf expire" \
	"review runs expire with the same config"
like "$(head -n1 "$LOG")" "lock=[0-9]+" "stages inherit the lock descriptor"
is "$(sqlite3 "$T/var/cybil.db" "SELECT group_concat(name) FROM source ORDER BY name")" \
	"news,pages" "run records the configured sources"

: >"$LOG"
run -q run >"$T/out" 2>&1
is "$(cat "$T/out")" "" "-q: a successful run prints nothing"
like "$(head -n1 "$LOG")" "-q" "-q is passed to the stages"

# --- exit codes ------------------------------------------------------------
: >"$LOG"
FETCH_EXIT=1 exits 1 "a partly failed stage makes the run exit 1" run run
is "$(wc -l <"$LOG" | tr -d ' ')" 4 "and the later stages still run"
: >"$LOG"
FETCH_EXIT=2 exits 2 "a stage's usage error stops the run with 2" run run
is "$(cut -d' ' -f1 "$LOG" | tr '\n' ' ')" "fetch " "nothing runs after it"
: >"$LOG"
PUBLISH_EXIT=3 exits 3 "publish refusing a release exits 3" run run
rm "$T/bin/cybil-review"
: >"$LOG"
run run 2>"$T/err"; rc=$?
is "$rc" 0 "a stage that is not installed is skipped"
like "$(cat "$T/err")" "cybil-review is not installed" "with a notice"
stage review 'exit 0'

# --- fetch <-> parse while follow-ups are queued --------------------------
DB=$T/var/cybil.db
stage parse "sqlite3 '$DB' \"INSERT OR IGNORE INTO queue (source, url, reason, queued_at) VALUES ('news', 'http://127.0.0.1:9/p2', 'resume', 'now')\""
stage fetch "sqlite3 '$DB' \"UPDATE queue SET done_at = 'now' WHERE done_at IS NULL\""
sqlite3 "$DB" "DELETE FROM queue"
: >"$LOG"
exits 0 "run with a follow-up queued by parse" run run
is "$(cut -d' ' -f1 "$LOG" | tr '\n' ' ')" "fetch parse fetch parse review publish " \
	"fetch and parse take another turn for the follow-up"
stage fetch 'exit 0'	# never drains the queue
sqlite3 "$DB" "UPDATE queue SET done_at = NULL"
: >"$LOG"
run run 2>"$T/err"; rc=$?
is "$rc" 0 "a queue that never drains ends the run normally"
is "$(grep -c '^fetch' "$LOG")" 20 "after 20 rounds"
like "$(cat "$T/err")" "follow-ups still queued after 20 rounds" "with a warning"
sqlite3 "$DB" "UPDATE queue SET done_at = 'now'"
stage fetch "$slow_fetch"
stage parse 'exit "${PARSE_EXIT:-0}"'

# --- two overlapping runs -------------------------------------------------
wait_for_fetch() {
	for _ in $(seq 100); do
		grep -q '^fetch' "$LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
: >"$LOG"
FETCH_SLEEP=5 run_in_background run
first=$!
wait_for_fetch
start=$(date +%s)
err=$(run run 2>&1); rc=$?
is "$rc" 75 "a second, overlapping run exits 75"
like "$err" "locked by another run \(pid $first\)" "naming the holder"
[ $(( $(date +%s) - start )) -lt 3 ]; is $? 0 "at once, without waiting"
wait "$first"; is $? 0 "the first run finishes normally"
exits 0 "after it, the lock is free" run run

# The lock is the kernel's: it goes with the last process of the run.
: >"$LOG"
FETCH_SLEEP=30 run_in_background run
first=$!
wait_for_fetch
kill -KILL -- "-$first"
wait "$first" 2>/dev/null
exits 0 "a SIGKILLed holder leaves no stale lock" run run

# --- signals ------------------------------------------------------------------
: >"$LOG"
FETCH_SLEEP=30 run_in_background run
first=$!
wait_for_fetch
start=$(date +%s)
kill -TERM "$first"
wait "$first"; rc=$?
[ "$rc" -ne 0 ]; is $? 0 "SIGTERM stops the run with a failure status"
[ $(( $(date +%s) - start )) -lt 10 ]; is $? 0 "at once: the running stage got the signal"
is "$(cut -d' ' -f1 "$LOG" | tr '\n' ' ')" "fetch " "and no later stage ran"

# --- cybil CMD ----------------------------------------------------------------
: >"$LOG"
exits 0 "cybil fetch runs cybil-fetch" "$CYBIL" -q -c "$T/cybil.conf" fetch --force x
like "$(cat "$LOG")" "^fetch -c $T/cybil.conf -q --force x lock=none" \
	"with the front door's options first, then its own"

# --- removed sources ------------------------------------------------------
sed -i '/^\[source "pages"\]/,$d' "$T/cybil.conf"
run -q run
like "$(run status)" "pages +removed from the config" \
	"a source removed from the config is shown as such"
is "$(sqlite3 "$DB" "SELECT configured FROM source WHERE name = 'pages'")" 0 \
	"and marked unconfigured in the store"

done_testing
