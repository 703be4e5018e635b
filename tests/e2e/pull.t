#!/bin/bash
# cybil-verify and cybil-pull against bad releases served on loopback:
# tampered, truncated, signed by another key, rolled back, equivocating,
# expired, oversized, unreachable, and archives with unsafe members made
# by Python's tarfile and signed by minisign itself. Each is refused with
# its exit status, and a refused pull leaves the mirror as it was.
. "$(dirname "$0")/../lib.sh"

command -v minisign >/dev/null || skip_all "minisign is not installed"
command -v zstd >/dev/null || skip_all "zstd is not installed"
tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/www"
unset CYBIL_CONFIG CYBIL_LOCK_FD SOURCE_DATE_EPOCH
export CYBIL_REVIEWER=tester
PY=/usr/bin/python3
CRAFT=$(dirname "$0")/release/craft.py

{
	echo '<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>'
	echo '<link>https://example.org/</link>'
	for i in 1 2 3 4 5 6; do
		echo "<item><guid>g$i</guid><title>Item $i</title>"
		echo "<link>https://example.org/$i</link></item>"
	done
	echo '</channel></rss>'
} >"$T/www/news.xml"
httpd_start "$T/www"
conf() {  # conf DIR: a configuration publishing DIR/public
	mkdir -p "$1"
	cat >"$1/cybil.conf" <<EOF
[store]
path = var/cybil.db
[fetch]
allow_private = yes
[publish]
dir = public
key = $T/keys/cybil.key
max_drop = 100%
[source "news"]
kind = rss
url = $HTTPD_URL/news.xml
consent = public
EOF
}
conf "$T/a"
A="-q -c $T/a/cybil.conf"
KEY=$T/keys/cybil.key.pub
"$BIN/cybil-fetch" $A && "$BIN/cybil-parse" $A &&
	"$BIN/cybil-publish" $A --keygen >/dev/null &&
	"$BIN/cybil-publish" $A || fail "release 1"
# b: the same store and key, kept at release 1 for the rollback and
# equivocation cases.
cp -a "$T/a" "$T/b"
conf "$T/b"
cp -a "$T/a/public" "$T/www/v1"
"$BIN/cybil-review" $A withdraw "$(/usr/bin/sqlite3 "$T/a/var/cybil.db" \
	"SELECT id FROM record WHERE external_id = 'g1'")"
"$BIN/cybil-publish" $A || fail "release 2"
cp -a "$T/a/public" "$T/www/good"

M=$T/mirror.db
mirror() { /usr/bin/sqlite3 "$M" "SELECT group_concat(id) FROM (SELECT id FROM record ORDER BY id); SELECT group_concat(serial) FROM applied"; }
pull() { "$BIN/cybil-pull" -q --pubkey "$KEY" "$@" --into "$M"; }

ok "the good tree verifies" "$BIN/cybil-verify" -q --pubkey "$KEY" "$T/a/public"
ok "a pull of release 1 over HTTP" pull "$HTTPD_URL/v1/"
is "$(/usr/bin/sqlite3 "$M" "SELECT count(*) FROM record")" 6 "the mirror holds release 1"
# Each bad release below is a serial 2 the mirror has not applied.
state=$(mirror)

# A copy of the good tree, changed by a command run in it.
bad() {  # bad NAME CMD...
	rm -rf "$T/www/$1"
	cp -a "$T/a/public/." "$T/www/$1"
	(cd "$T/www/$1/releases/000002" && eval "$2")
}
refused() {  # refused NAME WHY: verify and pull both exit 3
	exits 3 "$2: cybil-verify refuses it" \
		"$BIN/cybil-verify" -q --pubkey "$KEY" "$T/www/$1"
	exits 3 "$2: cybil-pull refuses it" pull "$HTTPD_URL/$1"
	is "$(mirror)" "$state" "$2: the mirror is unchanged"
}

bad tampered '$PY -c "
import sys; p = \"cybil-000002.tar.zst\"; b = bytearray(open(p, \"rb\").read())
b[len(b) // 2] ^= 1; open(p, \"wb\").write(b)"'
refused tampered "a flipped bit in the archive"
bad truncated 'truncate -s 100 cybil-000002.tar.zst'
refused truncated "a truncated archive"
bad sums 'echo "$(printf "%064d" 0)  extra" >>SHA256SUMS'
refused sums "SHA256SUMS changed after signing"
bad nosig 'rm SHA256SUMS.minisig'
exits 3 "a missing signature: cybil-verify refuses the tree" \
	"$BIN/cybil-verify" -q --pubkey "$KEY" "$T/www/nosig"
# Over HTTP a missing file may be a mirror still filling: try again later.
exits 1 "a missing signature: cybil-pull fails as for the network" \
	pull "$HTTPD_URL/nosig"
is "$(mirror)" "$state" "a missing signature: the mirror is unchanged"

# Another key.
mkdir -p "$T/other"
cat >"$T/other/cybil.conf" <<EOF
[publish]
key = $T/other/cybil.key
EOF
"$BIN/cybil-publish" -q -c "$T/other/cybil.conf" --keygen >/dev/null
exits 3 "a tree signed by another key: cybil-verify refuses it" \
	"$BIN/cybil-verify" -q --pubkey "$T/other/cybil.key.pub" "$T/a/public"
exits 3 "...and cybil-pull" "$BIN/cybil-pull" -q --pubkey "$T/other/cybil.key.pub" \
	"$HTTPD_URL/good" --into "$M"
is "$(mirror)" "$state" "...leaving the mirror unchanged"
ok "with both keys (a rotation) the tree verifies" "$BIN/cybil-verify" -q \
	--pubkey "$T/other/cybil.key.pub" --pubkey "$KEY" "$T/a/public"

# Rollback and equivocation.
ok "the good release 2 is applied" pull "$HTTPD_URL/good"
is "$(/usr/bin/sqlite3 "$M" "SELECT count(*) FROM record")" 5 \
	"the mirror holds release 2, without the withdrawn record"
state=$(mirror)
exits 3 "an older serial is a rollback" pull "$HTTPD_URL/v1"
is "$(mirror)" "$state" "...leaving the mirror unchanged"
"$BIN/cybil-review" -q -c "$T/b/cybil.conf" withdraw "$(/usr/bin/sqlite3 \
	"$T/b/var/cybil.db" "SELECT id FROM record WHERE external_id = 'g2'")"
"$BIN/cybil-publish" -q -c "$T/b/cybil.conf"
cp -a "$T/b/public" "$T/www/fork"
ok "a fork's release 2 verifies on its own" "$BIN/cybil-verify" -q --pubkey "$KEY" "$T/b/public"
out=$(pull "$HTTPD_URL/fork" 2>&1); rc=$?
is "$rc" 3 "the same serial with other content is refused"
like "$out" "equivocation" "...as an equivocation"
is "$(mirror)" "$state" "...leaving the mirror unchanged"

# Expired.
cp -a "$T/b" "$T/c"
conf "$T/c"
rm -rf "$T/c/public"
SOURCE_DATE_EPOCH=$(($(date +%s) - 30 * 86400)) \
	"$BIN/cybil-publish" -q -c "$T/c/cybil.conf" --force
cp -a "$T/c/public" "$T/www/expired"
out=$("$BIN/cybil-verify" --pubkey "$KEY" "$T/c/public" 2>&1); rc=$?
is "$rc" 3 "an expired latest.json: cybil-verify refuses it"
like "$out" "expired" "...saying so"
exits 3 "...and cybil-pull" "$BIN/cybil-pull" -q --pubkey "$KEY" \
	"$HTTPD_URL/expired" --into "$T/fresh.db"

# Caps and the network.
exits 3 "an archive over --max-bytes is refused" "$BIN/cybil-pull" -q \
	--pubkey "$KEY" --max-bytes 100 "$HTTPD_URL/good" --into "$T/fresh.db"
mkdir -p "$T/www/huge"
head -c 100000 /dev/zero | tr '\0' ' ' >"$T/www/huge/latest.json"
exits 3 "a latest.json over its cap is refused" "$BIN/cybil-pull" -q \
	--pubkey "$KEY" "$HTTPD_URL/huge" --into "$T/fresh.db"
exits 1 "an unreachable server is a network failure" "$BIN/cybil-pull" -q \
	--pubkey "$KEY" "http://127.0.0.1:1/" --into "$T/fresh.db"
exits 3 "a missing latest.json in a folder is refused" "$BIN/cybil-pull" -q \
	--pubkey "$KEY" "$T/www" --into "$T/fresh.db"
ok "no staging folder is left beside the mirror" \
	sh -c "! ls '$T' | grep -q 'pull-'"

# Archives with unsafe or unexpected members, correctly signed.
for kind in traversal absolute nonascii symlink extra missing badline unsorted; do
	rm -rf "$T/www/$kind"
	$PY "$CRAFT" "$T/keys/cybil.key" "$T/www/$kind" 7 "$kind" ||
		fail "crafting $kind"
	out=$("$BIN/cybil-verify" --pubkey "$KEY" "$T/www/$kind" 2>&1); rc=$?
	is "$rc" 3 "crafted release ($kind): cybil-verify refuses it"
	exits 3 "crafted release ($kind): cybil-pull refuses it" \
		pull "$HTTPD_URL/$kind"
	is "$(mirror)" "$state" "crafted release ($kind): the mirror is unchanged"
done
rm -rf "$T/www/control"
$PY "$CRAFT" "$T/keys/cybil.key" "$T/www/control" 7 none
ok "the same crafting with nothing wrong verifies (the cases above fail for their fault)" \
	"$BIN/cybil-verify" -q --pubkey "$KEY" "$T/www/control"
done_testing
