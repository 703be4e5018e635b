#!/bin/bash
# A publish killed at any moment leaves a tree that verifies, and the next
# publish finishes or rebuilds what was left (SPEC §6 "Crash safety").
# strace's fault injection delivers SIGKILL at the Nth call of each system
# call that changes files (rename, fsync, symlink, mkdir, unlink, write),
# for every N the publish reaches.
. "$(dirname "$0")/../lib.sh"

command -v strace >/dev/null || skip_all "strace is not installed"
tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/www"
unset CYBIL_CONFIG CYBIL_LOCK_FD SOURCE_DATE_EPOCH
export CYBIL_REVIEWER=tester

{
	echo '<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>'
	echo '<link>https://example.org/</link>'
	for i in $(seq 1 40); do
		echo "<item><guid>g$i</guid><title>Item $i</title>"
		echo "<link>https://example.org/$i</link><description>text $i</description></item>"
	done
	echo '</channel></rss>'
} >"$T/www/news.xml"
httpd_start "$T/www"
mkdir -p "$T/base"
cat >"$T/base/cybil.conf" <<EOF
[store]
path = var/cybil.db
[fetch]
allow_private = yes
[publish]
max_drop = 100%
[source "news"]
kind = rss
url = $HTTPD_URL/news.xml
consent = public
EOF
B="-q -c $T/base/cybil.conf"
"$BIN/cybil-fetch" $B && "$BIN/cybil-parse" $B &&
	"$BIN/cybil-publish" $B --keygen >/dev/null &&
	"$BIN/cybil-publish" $B || fail "setting up release 1"
# Release 2 will drop one record and change another.
gone=$(/usr/bin/sqlite3 "$T/base/var/cybil.db" \
	"SELECT id FROM record WHERE external_id = 'g1'")
changed=$(/usr/bin/sqlite3 "$T/base/var/cybil.db" \
	"SELECT id FROM record WHERE external_id = 'g2'")
"$BIN/cybil-review" $B withdraw "$gone"
"$BIN/cybil-review" $B correct "$changed" title "Corrected"

runs=0 killed=0 bad=0 points=
for call in rename renameat renameat2 fsync symlink symlinkat mkdir unlink \
    unlinkat rmdir write pwrite64; do
	for n in $(seq 1 60); do
		rm -rf "$T/w"
		cp -a "$T/base" "$T/w"
		C="-q -c $T/w/cybil.conf"
		# strace dies of the signal its tracee got; the group keeps
		# bash's "Killed" notice off stderr.
		{
			strace -f -qq -o /dev/null -e trace="$call" \
				-e inject="$call":signal=KILL:when="$n" \
				"$BIN/cybil-publish" $C
			rc=$?
		} 2>/dev/null
		runs=$((runs + 1))
		[ "$rc" -eq 137 ] || break	# the publish ran past call N
		killed=$((killed + 1))
		points="$points $call#$n"
		if ! out=$("$BIN/cybil-verify" $C "$T/w/var/public" 2>&1); then
			bad=$((bad + 1))
			diag "killed at $call #$n: the tree does not verify: $out"
			continue
		fi
		if ! out=$("$BIN/cybil-publish" $C 2>&1) ||
		    ! "$BIN/cybil-verify" $C "$T/w/var/public" >/dev/null 2>&1 ||
		    ! grep -q '"serial":2,' "$T/w/var/public/latest.json" ||
		    [ "$(/usr/bin/sqlite3 "$T/w/var/cybil.db" \
		    "SELECT group_concat(serial || state) FROM release")" != \
		    "1done,2done" ] || [ -n "$(ls -A "$T/w/var/public/releases" |
		    grep tmp)" ]; then
			bad=$((bad + 1))
			diag "killed at $call #$n: the next publish did not finish release 2: $out"
		fi
	done
done
note "$runs publishes run, $killed killed:$points"
[ "$killed" -ge 30 ]
_tap_result $? "publishes were killed at $killed points"
is "$bad" 0 "after every kill the tree verifies and the next publish finishes release 2"
done_testing
