#!/bin/bash
# Faults of the machine, not of the sources (issue 7):
#  (a) a full disk (a small tmpfs) and a file size limit (ulimit -f, with
#      SIGXFSZ ignored so writes fail with EFBIG) hit by cybil-fetch (the
#      blob), cybil-parse (the store), cybil-publish (the release) and
#      cybil-pull (the mirror): each exits 1 naming what failed, loses
#      nothing committed, leaves no half-written blob or release in view,
#      and the next run after space is freed succeeds;
#  (b) a read-only store: writers refuse clearly, readers still work;
#  (c) the manager deciding while a harvest holds the run lock.
# Exit status 1 for a full or read-only disk: SPEC §2 has no code of its
# own for it; it is not a usage error (2), an integrity refusal (3) or a
# lock (75), and what could be committed was.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
M=$T/mnt
mkdir -p "$T/www" "$T/keys" "$M"
unset CYBIL_CONFIG CYBIL_LOCK_FD SOURCE_DATE_EPOCH
export CYBIL_REVIEWER=tester
SQ=/usr/bin/sqlite3

mounted=0
if mount -t tmpfs -o size=32M,mode=0755 cybil-faults "$M" 2>/dev/null; then
	mounted=1
	at_exit "umount -l '$M' 2>/dev/null"
else
	note "cannot mount a tmpfs (not root, or a container without" \
		"CAP_SYS_ADMIN): disk-full and read-only cases are skipped"
fi

# feed FILE N PREFIX: an RSS feed of N items of about 400 bytes each.
feed() {
	awk -v n="$2" -v p="$3" 'BEGIN {
		print "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>"
		print "<title>N</title><link>https://example.org/</link>"
		pad = sprintf("%0300d", 0)
		for (i = 1; i <= n; i++)
			printf "<item><guid>%s%d</guid><title>Item %s %d</title>" \
				"<link>https://example.org/%s/%d</link>" \
				"<description>%s %d</description></item>\n", \
				p, i, p, i, p, i, pad, i
		print "</channel></rss>"
	}' >"$1"
}
feed "$T/www/news.xml" 50 a
httpd_start "$T/www"

C=$T/cybil.conf
cat >"$C" <<EOF
[store]
path = $M/store/cybil.db
blobs = $M/blobs
evidence = $M/evidence
[fetch]
allow_private = yes
timeout = 5s
retries = 0
[publish]
dir = $M/public
key = $T/keys/cybil.key
max_drop = 100%
[source "news"]
kind = rss
url = $HTTPD_URL/news.xml
consent = public
gone_max_share = 100%
EOF
DB=$M/store/cybil.db
PUB=$M/public
MIRROR=$M/mirror.db
q() { "$SQ" "$DB" "$1"; }
run() { "$BIN/$1" -q -c "$C" "${@:2}"; }
pull() { "$BIN/cybil-pull" -q --pubkey "$T/keys/cybil.key.pub" "$PUB" \
	--into "$MIRROR"; }
# limited KB PROG ARG...: PROG with a file size limit of KB kilobytes,
# SIGXFSZ ignored so that a write past it fails with EFBIG.
limited() {
	(trap '' XFSZ; ulimit -f "$1" && exec "${@:2}")
}
# fill KB: fill the tmpfs, then free KB kilobytes of it.
fill() {
	dd if=/dev/zero of="$M/fill" bs=64k 2>/dev/null
	truncate -s "-$1K" "$M/fill"
}
unfill() { rm -f "$M/fill"; }

# Every blob's name is the sha256 of its bytes, no temp file is left, and
# every capture that names a body has it.
blobs_ok() {
	local f want got bad=
	for f in "$M"/blobs/??/*; do
		[ -e "$f" ] || continue
		want=$(basename "$(dirname "$f")")$(basename "$f")
		got=$(sha256sum <"$f" | cut -d' ' -f1)
		[ "$want" = "$got" ] || bad="$bad $f"
	done
	[ -z "$(ls -A "$M/blobs/.tmp")" ] || bad="$bad .tmp:$(ls -A "$M/blobs/.tmp")"
	for h in $(q "SELECT sha256 FROM capture WHERE sha256 IS NOT NULL"); do
		[ -f "$M/blobs/${h:0:2}/${h:2}" ] || bad="$bad missing:$h"
	done
	echo "${bad:-ok}"
}
# intact WHAT SERIAL: what was committed before the fault is all there.
intact() {
	is "$(q 'PRAGMA integrity_check')" ok "$1: the store passes integrity_check"
	ok "$1: the audit log verifies" run cybil-review verify-log
	ok "$1: the published tree verifies" "$BIN/cybil-verify" -q -c "$C" "$PUB"
	is "$(sha256sum <"$PUB/latest.json")" "$latest_sum" \
		"$1: latest.json is untouched (release $2)"
	is "$(ls -A "$PUB/releases" | tr '\n' ' ')" "$releases" \
		"$1: no release, half-written or whole, appeared"
	is "$(q "SELECT count(*) FROM record")" "$records" \
		"$1: no record was lost"
	is "$(blobs_ok)" ok "$1: every blob is whole, none is half-written"
}
snapshot() {
	latest_sum=$(sha256sum <"$PUB/latest.json")
	releases=$(ls -A "$PUB/releases" | tr '\n' ' ')
	records=$(q "SELECT count(*) FROM record")
}

run cybil-publish --keygen >/dev/null || fail "making the key"
ok "a first run publishes release 1" run cybil run
ok "and a mirror pulls it" pull
is "$(q "SELECT count(*) FROM publishable")" 50 "50 records published"

# --- (a) a full disk ------------------------------------------------------
if [ "$mounted" = 1 ]; then
	feed "$T/www/news.xml" 2000 b	# 1.2 MB
	snapshot
	fill 300
	err=$(run cybil-fetch --force 2>&1); rc=$?
	is "$rc" 1 "ENOSPC: cybil-fetch exits 1"
	like "$err" "storing the body in $M/blobs: No space left on device" \
		"ENOSPC: fetch names the blob store and the reason"
	intact "ENOSPC fetch" 1
	unfill
	ok "space freed: fetch stores the body" run cybil-fetch --force
	is "$(blobs_ok)" ok "and the blob is whole"

	fill 100
	err=$(run cybil-parse 2>&1); rc=$?
	is "$rc" 1 "ENOSPC: cybil-parse exits 1"
	like "$err" "cybil\.db: database or disk is full" \
		"ENOSPC: parse names the store and the reason"
	intact "ENOSPC parse" 1
	unfill
	ok "space freed: parse adds the records" run cybil-parse
	is "$(q "SELECT count(*) FROM record WHERE external_id LIKE 'b%'")" 2000 \
		"all 2000 of them"
	records=$(q "SELECT count(*) FROM record")

	fill 100
	err=$(run cybil-publish 2>&1); rc=$?
	is "$rc" 1 "ENOSPC: cybil-publish exits 1"
	like "$err" "releases/\.000002\.tmp/[a-z]+\.[a-z]+: No space left on device" \
		"ENOSPC: publish names the file and the reason"
	intact "ENOSPC publish" 1
	unfill
	ok "space freed: publish writes release 2" run cybil-publish
	like "$(cat "$PUB/latest.json")" '"serial":2,' "latest.json points to it"
	ok "and the tree verifies" "$BIN/cybil-verify" -q -c "$C" "$PUB"

	fill 50
	err=$(pull 2>&1); rc=$?
	is "$rc" 1 "ENOSPC: cybil-pull exits 1"
	like "$err" "mirror\.db: .*(database or disk is full|No space left on device)" \
		"ENOSPC: pull names the mirror and the reason"
	is "$("$SQ" "$MIRROR" "PRAGMA integrity_check")" ok \
		"ENOSPC pull: the mirror passes integrity_check"
	is "$("$SQ" "$MIRROR" "SELECT group_concat(serial) FROM applied;
		SELECT count(*) FROM record")" "$(printf '1\n50')" \
		"ENOSPC pull: the mirror still holds release 1 whole"
	unfill
	ok "space freed: pull applies release 2" pull
	is "$("$SQ" "$MIRROR" "SELECT max(serial) FROM applied")" 2 \
		"the mirror is at release 2"
else
	skip "disk full (ENOSPC): no tmpfs"
fi

# --- (a) a file size limit (EFBIG) --------------------------------------------
feed "$T/www/news.xml" 2000 c
snapshot
err=$(limited 256 "$BIN/cybil-fetch" -q -c "$C" --force 2>&1); rc=$?
is "$rc" 1 "EFBIG: cybil-fetch exits 1"
like "$err" "storing the body in $M/blobs: File too large" \
	"EFBIG: fetch names the blob store and the reason"
intact "EFBIG fetch" "$(q 'SELECT max(serial) FROM release')"
ok "limit lifted: fetch stores the body" run cybil-fetch --force

err=$(limited 256 "$BIN/cybil-parse" -q -c "$C" 2>&1); rc=$?
is "$rc" 1 "EFBIG: cybil-parse exits 1"
like "$err" "capture [0-9]+: $DB: .*File too large" \
	"EFBIG: parse names the store and the reason"
intact "EFBIG parse" "$(q 'SELECT max(serial) FROM release')"
ok "limit lifted: parse adds the records" run cybil-parse
records=$(q "SELECT count(*) FROM record")

err=$(limited 256 "$BIN/cybil-publish" -q -c "$C" 2>&1); rc=$?
is "$rc" 1 "EFBIG: cybil-publish exits 1"
like "$err" "releases/\.[0-9]{6}\.tmp/[a-z]+\.[a-z]+: File too large" \
	"EFBIG: publish names the file and the reason"
intact "EFBIG publish" "$(q 'SELECT max(serial) FROM release')"
serial=$(q "SELECT max(serial) FROM release WHERE state = 'done'")
mirrored=$("$SQ" "$MIRROR" "SELECT max(serial) FROM applied")
ok "limit lifted: publish writes the next release" run cybil-publish
like "$(cat "$PUB/latest.json")" "\"serial\":$((serial + 1))," \
	"latest.json points to it"

err=$(limited 256 "$BIN/cybil-pull" -q --pubkey "$T/keys/cybil.key.pub" \
	"$PUB" --into "$MIRROR" 2>&1); rc=$?
is "$rc" 1 "EFBIG: cybil-pull exits 1"
like "$err" "mirror\.db: .*File too large" \
	"EFBIG: pull names the mirror and the reason"
is "$("$SQ" "$MIRROR" "PRAGMA integrity_check; SELECT max(serial) FROM applied")" \
	"$(printf 'ok\n%s' "$mirrored")" "EFBIG pull: the mirror is whole and unchanged"
ok "limit lifted: pull applies the release" pull

# A store failure in the middle of a capture (here a trigger that refuses
# one record) is not the capture's fault: it stays unparsed, and once the
# store works again its records come in.
feed "$T/www/news.xml" 30 f
ok "a feed with a new record" run cybil-fetch --force
q "CREATE TRIGGER fault BEFORE INSERT ON record WHEN NEW.external_id = 'f3'
	BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
err=$(run cybil-parse 2>&1); rc=$?
is "$rc" 1 "a store failure mid-capture: parse exits 1"
like "$err" "capture [0-9]+: $DB: adding a record: injected fault" "naming it"
[[ $err != *"not an error"* ]]; is $? 0 "with no misleading second message"
is "$(q "SELECT count(*) FROM capture WHERE parse_error IS NOT NULL")" 0 \
	"the capture is not marked as failed to parse"
q "DROP TRIGGER fault"
ok "the store works again: parse succeeds" run cybil-parse
is "$(q "SELECT count(*) FROM record WHERE external_id LIKE 'f%'")" 30 \
	"and the capture's records are all there"
ok "and a whole run succeeds" run cybil run

# --- (b) a read-only store -----------------------------------------------------
if [ "$mounted" = 1 ]; then
	id=$(q "SELECT id FROM record WHERE external_id = 'c1'")
	id2=$(q "SELECT id FROM record WHERE external_id = 'c2'")
	snapshot
	# SQLite reads a WAL store on a read-only file system only with its
	# -wal and -shm files there: cybil keeps them, the sqlite3 shell used
	# by this test removes them when it closes last. A cybil program is
	# the last to close the store in real life.
	run cybil status >/dev/null
	mount -o remount,ro "$M" || fail "remounting read-only"
	out=$(run cybil status 2>&1); rc=$?
	is "$rc" 0 "read-only: cybil status works"
	like "$out" "release +0000[0-9]+ \(done\)" "and shows the release"
	ok "read-only: review list works" run cybil-review list --consent all
	ok "read-only: review show works" run cybil-review show "$id"
	ok "read-only: review log works" run cybil-review log "$id"
	ok "read-only: review verify-log works" run cybil-review verify-log
	ok "read-only: cybil-verify works" "$BIN/cybil-verify" -q -c "$C" "$PUB"
	for stage in "cybil run" "cybil-fetch --force" cybil-parse cybil-publish; do
		# shellcheck disable=SC2086
		err=$(run $stage 2>&1); rc=$?
		is "$rc" 1 "read-only: $stage exits 1"
		like "$err" "cybil\.db\.lock: Read-only file system" \
			"read-only: $stage says the lock file's file system is read-only"
	done
	for decision in "withdraw $id" "correct $id title X" \
	    "grant $id --evidence https://example.org/consent" expire; do
		# shellcheck disable=SC2086
		err=$(run cybil-review $decision 2>&1); rc=$?
		is "$rc" 1 "read-only: review ${decision%% *} exits 1"
		like "$err" "cybil\.db: the store is read-only" \
			"read-only: review ${decision%% *} says the store is read-only"
	done
	err=$(pull 2>&1); rc=$?
	is "$rc" 1 "read-only: cybil-pull into a read-only mirror exits 1"
	like "$err" "mirror\.db: .*Read-only file system" "and says why"
	mount -o remount,rw "$M" || fail "remounting read-write"
	intact "read-only" "$(q 'SELECT max(serial) FROM release')"
	ok "writable again: withdraw works" run cybil-review withdraw "$id"
	feed "$T/www/news.xml" 2000 d
	ok "writable again: a run succeeds" run cybil run
	like "$(cat "$PUB/latest.json")" "\"serial\":$(q 'SELECT max(serial) FROM release')," \
		"and publishes"
else
	skip "read-only store: no tmpfs to remount read-only"
fi

# --- (c) the manager decides during a harvest ---------------------------------
# Its own store, off the tmpfs: a feed and 12 slow sources (4 at a time
# per host, 2 s each) keep the run, and its lock, busy for about 6 s.
mkdir -p "$T/c"
feed "$T/www/c.xml" 20 e
CC=$T/c/cybil.conf
cat >"$CC" <<EOF
[store]
path = var/cybil.db
[fetch]
allow_private = yes
timeout = 10s
[publish]
key = $T/keys/cybil.key
[source "news"]
kind = rss
url = $HTTPD_URL/c.xml
EOF
"$BIN/cybil" -q -c "$CC" run || fail "a first run of the harvest store"
cq() { "$SQ" "$T/c/var/cybil.db" "$1"; }
e1=$(cq "SELECT id FROM record WHERE external_id = 'e1'")
e2=$(cq "SELECT id FROM record WHERE external_id = 'e2'")
e3=$(cq "SELECT id FROM record WHERE external_id = 'e3'")
for i in $(seq 1 12); do
	printf '[source "slow%d"]\nkind = html\nrobots = no\nurl = %s\nrecord = //article\nfield.title = .//h1\n' \
		"$i" "$HTTPD_URL/_/slow?delay=2&n=$i" >>"$CC"
done
echo evidence >"$T/consent.txt"
setsid "$BIN/cybil" -q -c "$CC" run >"$T/c/run.out" 2>&1 &
harvest=$!
for _ in $(seq 100); do
	grep -q '/_/slow' "$HTTPD_LOG" 2>/dev/null && break
	sleep 0.1
done
grep -q '/_/slow' "$HTTPD_LOG"; is $? 0 "the harvest is fetching"
rv() { "$BIN/cybil-review" -q -c "$CC" --by manager "$@"; }
decide() {  # decide DESC REVIEW-ARGS...: at once, while the harvest runs
	local start=$SECONDS
	ok "during the harvest: $1" "$BIN/cybil-review" -q -c "$CC" "${@:2}"
	[ $((SECONDS - start)) -le 2 ]; is $? 0 "$1: promptly"
}
decide "grant" grant "$e1" --evidence "$T/consent.txt" --by manager
decide "withdraw" withdraw "$e2" --by manager
decide "correct" correct "$e3" title "Corrected title" --by manager
kill -0 "$harvest" 2>/dev/null; is $? 0 "the harvest was still running"
wait "$harvest"; rc=$?
is "$rc" 0 "the harvest completes fine"
[ "$rc" -eq 0 ] || diag "$(cat "$T/c/run.out")"
is "$(cq "SELECT consent FROM record WHERE id IN ('$e1', '$e2') ORDER BY external_id")" \
	"$(printf 'granted\nwithdrawn')" "the decisions are in the store"
is "$(cq "SELECT value FROM correction WHERE record_id = '$e3' AND field = 'title'")" \
	"Corrected title" "and the correction"
is "$(cq "SELECT group_concat(new, ' ') FROM (SELECT new FROM consent_event
	WHERE by = 'manager' ORDER BY rowid)")" "granted withdrawn" \
	"the audit log has both decisions"
ok "and verifies" "$BIN/cybil-review" -q -c "$CC" verify-log
is "$(cq "SELECT count(*) FROM capture WHERE url LIKE '%/_/slow%'")" 12 \
	"every slow source was captured"

done_testing
