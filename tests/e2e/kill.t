#!/bin/bash
# Each stage SIGKILLed at a random moment (issue 7, "Kill at any moment"):
# cybil-fetch, cybil-parse, cybil-review decisions, cybil-publish and
# cybil-pull. After every kill the store passes PRAGMA integrity_check, the
# audit chain verifies, every blob is whole and every capture's blob is
# there, the published tree and the mirror are whole, and finishing the
# chain gives exactly the release (or mirror) an undisturbed chain gives.
#
# KILLS (default 3) kills per stage; `make torture` makes 50. KILL_SEED
# replays a run: the seed is printed first.
. "$(dirname "$0")/../lib.sh"

KILLS=${KILLS:-3}
KILL_SEED=${KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$KILL_SEED
diag "KILLS=$KILLS KILL_SEED=$KILL_SEED"

tmpdir
T=$TMPDIR_TEST
unset CYBIL_CONFIG CYBIL_LOCK_FD
export CYBIL_REVIEWER=tester
# Every publish is at the same moment, so equal content is equal bytes.
export SOURCE_DATE_EPOCH=$(date +%s)

# 24 feeds of 120 items; six sources await consent.
mkdir -p "$T/www"
awk -v dir="$T/www" 'BEGIN {
	for (f = 1; f <= 24; f++) {
		out = dir "/f" f ".xml"
		printf "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>\n" >out
		printf "<title>Feed %d</title><link>https://example.org/%d/</link>\n", f, f >out
		for (i = 1; i <= 120; i++) {
			words = ""
			for (w = 0; w < i % 30; w++)
				words = words "word "
			printf "<item><guid>f%d-%d</guid><title>Item %d of feed %d</title>\n", f, i, i, f >out
			printf "<link>https://example.org/%d/%d</link>\n", f, i >out
			printf "<pubDate>Mon, 02 Nov 2026 10:%02d:00 GMT</pubDate>\n", i % 60 >out
			printf "<description>&lt;p&gt;Body %d, feed %d: %s&lt;/p&gt;</description></item>\n", i, f, words >out
		}
		printf "</channel></rss>\n" >out
		close(out)
	}
}'
httpd_start "$T/www"

S=$T/stage
mkdir -p "$S/0"
{
	printf '[store]\npath = var/cybil.db\n[fetch]\nallow_private = yes\n'
	printf '[publish]\nmax_drop = 100%%\n'
	for f in $(seq 1 24); do
		consent=public
		[ $((f % 4)) -eq 0 ] && consent=pending
		printf '[source "s%d"]\nkind = rss\nurl = %s/f%d.xml\nconsent = %s\n' \
			"$f" "$HTTPD_URL" "$f" "$consent"
	done
} >"$S/0/cybil.conf"

# run_in DIR PROG ARG...: PROG with DIR's config, quietly.
run_in() {
	local dir=$1 prog=$2
	shift 2
	"$BIN/$prog" -q -c "$dir/cybil.conf" "$@"
}

# The decisions of the review stage: bulk ones, each one transaction.
decide() {
	local dir=$1 id
	run_in "$dir" cybil-review grant --source s4 --all --yes \
		--evidence https://consent.example/s4 &&
	run_in "$dir" cybil-review withdraw --source s1 --all --yes &&
	run_in "$dir" cybil-review refuse --source s8 --all --yes &&
	id=$(/usr/bin/sqlite3 "$dir/var/cybil.db" \
		"SELECT id FROM record WHERE external_id = 'f2-7'") &&
	run_in "$dir" cybil-review correct "$id" title "Corrected title"
}

pull_in() {  # pull_in TREE MIRROR
	"$BIN/cybil-pull" -q --pubkey "$S/0/var/keys/cybil.key.pub" "$1" --into "$2"
}

# The undisturbed chain, each stage's result kept as the next one's start:
# 1 fetched, 2 parsed, 3 release 1, 4 decided, 5 release 2; mirrors m1, m2.
snap() { rm -rf "$S/$2"; cp -a "$S/$1" "$S/$2"; }
run_in "$S/0" cybil-publish --keygen >/dev/null || fail "keygen"
# ms CMD...: runs CMD, sets $ms to its wall time in milliseconds.
ms() {
	local t0=$(date +%s%N) rc
	"$@"; rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	return $rc
}
snap 0 1
ms run_in "$S/1" cybil-fetch || fail "fetch"; fetch_ms=$ms
snap 1 2
ms run_in "$S/2" cybil-parse || fail "parse"; parse_ms=$ms
snap 2 3
run_in "$S/3" cybil-publish || fail "publish 1"
snap 3 4
ms decide "$S/4" || fail "decide"; decide_ms=$ms
snap 4 5
ms run_in "$S/5" cybil-publish || fail "publish 2"; publish_ms=$ms
pull_in "$S/3/var/public" "$S/m1.db" || fail "pull 1"
cp "$S/m1.db" "$S/m2.db"
ms pull_in "$S/5/var/public" "$S/m2.db" || fail "pull 2"; pull_ms=$ms
diag "undisturbed: fetch ${fetch_ms} ms, parse ${parse_ms} ms," \
	"decide ${decide_ms} ms, publish ${publish_ms} ms, pull ${pull_ms} ms"
is "$(/usr/bin/sqlite3 "$S/5/var/cybil.db" "SELECT max(serial) FROM release")" 2 \
	"the undisturbed chain makes two releases"

# release_of DIR SERIAL: the records of a release, one line each, without
# their capture time (a re-run fetch captures at another second) or their
# id (random, given when a record is first parsed).
release_of() {
	tar --zstd -xOf "$1/var/public/releases/$(printf %06d "$2")/cybil-$(printf %06d "$2").tar.zst" \
		records.jsonl |
		sed 's/"captured_at":"[^"]*",//; s/"id":"[0-9a-f]*",//' | sort
}
sums_of() { cat "$1/var/public/releases/$(printf %06d "$2")/SHA256SUMS"; }
# mirror_of DB: the mirror's content in a stable order, without the time
# each release was applied.
mirror_of() {
	/usr/bin/sqlite3 "$1" <<-EOF | sort
	SELECT serial, sha256 FROM applied;
	.dump record
	EOF
}

# whole DIR WHAT: the invariants that must hold after any kill.
whole() {
	local dir=$1 what=$2 db=$1/var/cybil.db out f name
	out=$(/usr/bin/sqlite3 "$db" "PRAGMA integrity_check" 2>&1)
	[ "$out" = ok ] || { diag "$what: integrity_check: $out"; return 1; }
	out=$(/usr/bin/sqlite3 "$db" "PRAGMA foreign_key_check" 2>&1)
	[ -z "$out" ] || { diag "$what: foreign_key_check: $out"; return 1; }
	out=$(run_in "$dir" cybil-review verify-log 2>&1) ||
		{ diag "$what: the audit chain: $out"; return 1; }
	# Each blob is whole (its name is its sha256) and each capture's
	# blob is there.
	if [ -d "$dir/var/blobs" ]; then
		while read -r f; do
			name=${f#"$dir/var/blobs/"}
			name=${name//\//}
			[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$name" ] ||
				{ diag "$what: blob $f is not whole"; return 1; }
		done < <(find "$dir/var/blobs" -path '*/.tmp' -prune -o -type f -print)
		while read -r name; do
			[ -f "$dir/var/blobs/${name:0:2}/${name:2}" ] ||
				{ diag "$what: capture blob $name is missing"; return 1; }
		done < <(/usr/bin/sqlite3 "$db" \
			"SELECT DISTINCT sha256 FROM capture WHERE sha256 IS NOT NULL")
	fi
	if [ -e "$dir/var/public/latest.json" ]; then
		out=$(run_in "$dir" cybil-verify "$dir/var/public" 2>&1) ||
			{ diag "$what: the tree does not verify: $out"; return 1; }
	fi
	return 0
}

# kill_at MS CMD...: starts CMD in its own process group, SIGKILLs the
# group after a random wait of up to MS * 1.2 milliseconds; $killed says
# whether it died of it.
kill_at() {
	local span=$(($1 * 12 / 10 + 1)) wait_ms pid rc
	shift
	wait_ms=$(((RANDOM * 32768 + RANDOM) % span))
	set -m
	"$@" >/dev/null 2>&1 &
	pid=$!
	set +m
	sleep "$((wait_ms / 1000)).$(printf %03d $((wait_ms % 1000)))"
	kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	# The group's other processes may die a moment after its leader.
	for _ in $(seq 200); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.01
	done
	killed=0
	[ "$rc" -eq 137 ] && killed=1
	at=$wait_ms
}

# torture STAGE FROM MS CMD FINISH CHECK [WHOLE]: until CMD (a function of
# the work dir) has been killed KILLS times (at most 3 * KILLS tries: a
# try whose random wait outlasts CMD does not count), copies stage FROM to
# a work dir, kills CMD after a random wait, checks WHOLE (default: the
# invariants above), then runs FINISH and CHECK.
torture() {
	local stage=$1 from=$2 span=$3 cmd=$4 finish=$5 check=$6 ok=${7:-whole}
	local tries=0 hits=0 bad=0 W=$T/w
	while [ "$hits" -lt "$KILLS" ] && [ "$tries" -lt $((3 * KILLS)) ]; do
		tries=$((tries + 1))
		rm -rf "$W"
		cp -a "$S/$from" "$W"
		kill_at "$span" "$cmd" "$W"
		hits=$((hits + killed))
		# It ended within AT ms: aim the next tries inside that.
		[ "$killed" -eq 1 ] || [ "$at" -ge "$span" ] || span=$((at + 1))
		if ! "$ok" "$W" "$stage killed after $at ms"; then
			bad=$((bad + 1))
			continue
		fi
		if ! "$finish" "$W" >/dev/null 2>&1 || ! "$check" "$W"; then
			diag "$stage killed after $at ms (died: $killed): no convergence"
			bad=$((bad + 1))
		fi
	done
	diag "$stage: killed $hits times in $tries tries"
	is "$bad" 0 "$stage killed at random moments: whole, and converges"
	is "$hits" "$KILLS" "$stage: killed $KILLS times while it ran"
}

# --- fetch: then parse and publish give release 1's records --------------
want1=$(release_of "$S/3" 1)
kill_fetch() { run_in "$1" cybil-fetch; }
finish_fetch() {
	run_in "$1" cybil-fetch && run_in "$1" cybil-parse &&
		run_in "$1" cybil-publish
}
check_release1() {
	[ "$(release_of "$1" 1)" = "$want1" ] ||
		{ diag "release 1 differs from the undisturbed one"; return 1; }
}
torture fetch 0 "$fetch_ms" kill_fetch finish_fetch check_release1

# --- parse: then publish gives release 1's records --------------------------
kill_parse() { run_in "$1" cybil-parse; }
finish_parse() { run_in "$1" cybil-parse && run_in "$1" cybil-publish; }
torture parse 1 "$parse_ms" kill_parse finish_parse check_release1

# From here on the records have their ids: a release is the undisturbed
# one byte for byte, except that decisions made again carry other times
# into the audit chain's head.
check_sums2() {
	[ "$(sums_of "$1" 2)" = "$(sums_of "$S/5" 2)" ] ||
		{ diag "release 2 is not byte for byte the undisturbed one"; return 1; }
}
content_of() {
	tar --zstd -xOf "$1/var/public/releases/000002/cybil-000002.tar.zst" |
		sed 's/"audit_head":"[0-9a-f]*"//'
}
want2=$(content_of "$S/5" | sha256sum)
check_content2() {
	[ "$(content_of "$1" | sha256sum)" = "$want2" ] ||
		{ diag "release 2 differs from the undisturbed one"; return 1; }
}

# --- decisions: each is all or nothing; deciding again and publishing
# gives release 2 ------------------------------------------------------------
finish_decide() { decide "$1" && run_in "$1" cybil-publish; }
# A bulk decision is one transaction: all of a source's records or none.
all_or_none() {
	local source consent n
	whole "$@" || return 1
	for source in s4:granted s1:withdrawn s8:refused; do
		consent=${source#*:} source=${source%:*}
		n=$(/usr/bin/sqlite3 "$1/var/cybil.db" "SELECT count(*) FROM record
			WHERE source = '$source' AND consent = '$consent'")
		[ "$n" -eq 0 ] || [ "$n" -eq 120 ] || {
			diag "decisions: $n of 120 records of $source are $consent"
			return 1
		}
	done
}
torture decisions 3 "$decide_ms" decide finish_decide check_content2 all_or_none

# --- publish: the tree verifies at every moment; publishing again gives
# release 2 --------------------------------------------------------------------
kill_publish() { run_in "$1" cybil-publish; }
finish_publish() { run_in "$1" cybil-publish; }
torture publish 4 "$publish_ms" kill_publish finish_publish check_sums2

# --- pull: the mirror holds release 1 or 2, never a mix; pulling again
# gives the undisturbed mirror ------------------------------------------------
m1=$(mirror_of "$S/m1.db")
m2=$(mirror_of "$S/m2.db")
pull_whole() {  # pull_whole DIR WHAT
	local db=$1/mirror.db out now
	out=$(/usr/bin/sqlite3 "$db" "PRAGMA integrity_check" 2>&1)
	[ "$out" = ok ] || { diag "pull: integrity_check: $out"; return 1; }
	now=$(mirror_of "$db")
	[ "$now" = "$m1" ] || [ "$now" = "$m2" ] ||
		{ diag "pull: the mirror is neither release 1 nor 2"; return 1; }
}
mkdir -p "$S/pull"
cp "$S/m1.db" "$S/pull/mirror.db"
kill_pull() { pull_in "$S/5/var/public" "$1/mirror.db"; }
check_mirror2() {
	[ "$(mirror_of "$1/mirror.db")" = "$m2" ] ||
		{ diag "pull: the mirror is not the undisturbed one"; return 1; }
	[ -z "$(ls -A "$1" | grep -v '^mirror\.db$')" ] ||
		{ diag "pull left: $(ls -A "$1")"; return 1; }
}
torture pull pull "$pull_ms" kill_pull kill_pull check_mirror2 pull_whole

done_testing
