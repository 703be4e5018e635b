#!/bin/bash
# cybil-publish end to end: feeds served on loopback, fetched and parsed by
# the real programs, then releases: keys, the tree and what real clients
# (minisign, sha256sum, tar, Python's csv) make of it, that nothing
# pending, refused or withdrawn leaves, sanitised HTML and neutralised CSV
# formulas, no serial without a change, --dry-run, byte-identical
# releases from copies of one store, withdrawal reaching the mirror,
# max_drop, --purge and keep.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
mkdir -p "$T/www"
unset CYBIL_CONFIG CYBIL_LOCK_FD SOURCE_DATE_EPOCH
export CYBIL_REVIEWER=tester
PY=/usr/bin/python3
C=$T/cybil.conf
PUB=$T/www/public

cat >"$T/www/news.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News</title><link>https://example.org/</link>
<item><guid>n1</guid><title>Meeting of the network</title><link>https://example.org/n1</link>
<description>Plain news one</description></item>
<item><guid>n2</guid><title>=HYPERLINK("http://evil.example/","click")</title><link>https://example.org/n2</link>
<description>Formula, quote "and" comma, here</description></item>
<item><guid>n3</guid><title>Markup</title><link>https://example.org/n3</link>
<description><![CDATA[<p onclick="steal()">Hi <script>steal()</script><b>bold</b> <a href="javascript:x()">l</a> <a href="https://ok.example/">ok</a></p>]]></description></item>
<item><guid>n4</guid><title>Fourth</title><link>https://example.org/n4</link><description>four</description></item>
<item><guid>n5</guid><title>Fifth</title><link>https://example.org/n5</link><description>five</description></item>
</channel></rss>
EOF
cat >"$T/www/secret.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Secret</title><link>https://secret.example/</link>
<item><guid>s1</guid><title>SECRET-PENDING-TITLE</title><link>https://secret.example/s1</link>
<description>SECRET-PENDING-BODY</description></item>
</channel></rss>
EOF

httpd_start "$T/www"
conf() {  # conf FILE STORE PUBLISH_DIR KEY
	cat >"$1" <<EOF
[store]
path = $2
blobs = $T/var/blobs
[fetch]
allow_private = yes
timeout = 5s
[publish]
dir = $3
key = $4
keep = 3
max_drop = 50%
title = Test portal
name = test-portal
licence = CC-BY-4.0
[source "news"]
kind = rss
url = $HTTPD_URL/news.xml
consent = public
licence = CC0-1.0
attribution = Example News
[source "secret"]
kind = rss
url = $HTTPD_URL/secret.xml
EOF
}
conf "$C" "$T/var/cybil.db" "$PUB" "$T/keys/cybil.key"
"$BIN/cybil-fetch" -q -c "$C" && "$BIN/cybil-parse" -q -c "$C" ||
	fail "harvest"
/usr/bin/sqlite3 "$T/var/cybil.db" ".backup $T/snapshot.db"
q() { /usr/bin/sqlite3 "$T/var/cybil.db" "$1"; }
id_of() { q "SELECT id FROM record WHERE external_id = '$1'"; }

# --- keys ----------------------------------------------------------------
exits 2 "publish without a key refuses, naming --keygen" \
	"$BIN/cybil-publish" -q -c "$C"
out=$("$BIN/cybil-publish" -q -c "$C" 2>&1)
like "$out" "--keygen" "the message says how to make a key"
ok "--keygen writes a key pair" "$BIN/cybil-publish" -q -c "$C" --keygen
is "$(stat -c %a "$T/keys/cybil.key")" 600 "the secret key is 0600"
like "$(cat "$T/keys/cybil.key.pub")" "^untrusted comment: .*" \
	"the public key is in minisign's format"
before=$(sha256sum <"$T/keys/cybil.key")
exits 2 "--keygen never overwrites a key" \
	"$BIN/cybil-publish" -q -c "$C" --keygen
is "$(sha256sum <"$T/keys/cybil.key")" "$before" "the key is unchanged"

# --- the first release -----------------------------------------------------
ok "publish writes release 1" "$BIN/cybil-publish" -q -c "$C"
R1=$PUB/releases/000001
ok "the tree verifies (key from the configuration)" \
	"$BIN/cybil-verify" -q -c "$C" "$PUB"
ok "the tree verifies (--pubkey)" \
	"$BIN/cybil-verify" -q --pubkey "$T/keys/cybil.key.pub" "$PUB"
ok "a release folder verifies" \
	"$BIN/cybil-verify" -q -c "$C" "$R1"
ok "an archive with its sums beside it verifies" \
	"$BIN/cybil-verify" -q -c "$C" "$R1/cybil-000001.tar.zst"
like "$(cat "$PUB/latest.json")" '"serial":1,' "latest.json names serial 1"
is "$(q "SELECT serial || ' ' || state FROM release")" "1 done" \
	"the store records release 1 as done"
if command -v minisign >/dev/null; then
	ok "minisign verifies latest.json" minisign -q -V \
		-p "$T/keys/cybil.key.pub" -m "$PUB/latest.json"
	ok "minisign verifies SHA256SUMS" minisign -q -V \
		-p "$T/keys/cybil.key.pub" -m "$R1/SHA256SUMS"
	out=$(minisign -V -p "$T/keys/cybil.key.pub" -m "$R1/SHA256SUMS")
	like "$out" $'Trusted comment: timestamp:[0-9]+\tfile:SHA256SUMS\tserial:000001' \
		"the trusted comment names the file and serial"
else
	skip "minisign is not installed"
	skip "minisign is not installed"
	skip "minisign is not installed"
fi
ok "sha256sum -c accepts SHA256SUMS" sh -c "cd '$R1' && sha256sum -c --quiet SHA256SUMS"
is "$(tar --zstd -tf "$R1/cybil-000001.tar.zst" | tr '\n' ' ')" \
	"changes.jsonl datapackage.json records.csv records.jsonl tombstones.jsonl " \
	"tar lists the five members, sorted"
is "$(tar --zstd -tvf "$R1/cybil-000001.tar.zst" | awk '{print $1, $2}' | sort -u)" \
	"-rw-r--r-- 0/0" "members are plain 0644 files of uid/gid 0"
mkdir -p "$T/x1"
tar --zstd -xf "$R1/cybil-000001.tar.zst" -C "$T/x1"
is "$(wc -l <"$T/x1/records.jsonl")" 5 "records.jsonl holds the five public records"
is "$(grep -c '"change":"added"' "$T/x1/changes.jsonl")" 5 "all five are added"

# --- what never leaves --------------------------------------------------------
leaks=$(grep -rl -e SECRET-PENDING -e tester "$T/x1" "$PUB" 2>/dev/null)
is "$leaks" "" "no pending record's content, nor who decided, is published"
ok "the HTML is sanitised: no script, handler or javascript: link" \
	sh -c "! grep -q -e '<script' -e onclick -e 'javascript:' '$T/x1/records.jsonl'"
like "$(cat "$T/x1/records.jsonl")" '<b>bold</b>' "allowed markup stays"
like "$(cat "$T/x1/records.jsonl")" 'href=\\"https://ok.example/\\"' \
	"an http(s) link stays"
out=$($PY - "$T/x1/records.csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
assert rows[0] == ['id', 'kind', 'source', 'title', 'url', 'published',
    'updated', 'language', 'basis', 'source_url', 'captured_at',
    'content_sha256', 'fields_json'], rows[0]
assert all(len(r) == 13 for r in rows), 'ragged rows'
titles = [r[3] for r in rows[1:]]
print(len(rows) - 1, [t for t in titles if 'HYPERLINK' in t][0])
EOF
)
is "$out" "5 '=HYPERLINK(\"http://evil.example/\",\"click\")" \
	"records.csv parses with 13 columns; a formula cell is neutralised"
out=$($PY - "$T/x1/datapackage.json" "$T/x1" <<'EOF'
import hashlib, json, os, sys
p = json.load(open(sys.argv[1]))
assert p['profile'] == 'data-package' and p['name'] == 'test-portal'
assert p['licenses'] == [{'name': 'CC-BY-4.0'}]
assert p['sources'][0]['title'] == 'news' and p['sources'][0]['licence'] == 'CC0-1.0'
for r in p['resources']:
    data = open(os.path.join(sys.argv[2], r['path']), 'rb').read()
    assert r['bytes'] == len(data), r
    assert r['hash'] == 'sha256:' + hashlib.sha256(data).hexdigest(), r
print(p['version'], len(p['resources']), p['cybil']['serial'])
EOF
)
is "$out" "1.0.0 4 1" "datapackage.json describes each resource's bytes and hash"

NPM=$TOP/build/npm/node_modules
if command -v node >/dev/null && [ -d "$NPM/datapackage" ]; then
	out=$(NODE_PATH=$NPM node "$TOP/tests/e2e/release/datapackage.js" \
		"$T/x1/datapackage.json" 2>&1)
	is "$out" "valid data-package: 4 resources, 5 rows" \
		"npm's datapackage validates the package and reads records.csv"
	$PY - "$T/x1/datapackage.json" "$T/x1/bad.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p['name'] = 'Not A Valid Name'
p['resources'][0]['bytes'] = 'many'
json.dump(p, open(sys.argv[2], 'w'))
EOF
	exits 1 "...and rejects a broken descriptor (so the check can fail)" \
		env NODE_PATH="$NPM" node "$TOP/tests/e2e/release/datapackage.js" \
		"$T/x1/bad.json"
	rm -f "$T/x1/bad.json"
else
	skip "npm's datapackage@1.1.10 is not in build/npm (make deps installs it)"
	skip "npm's datapackage@1.1.10 is not in build/npm"
fi

# --- no change, no serial ------------------------------------------------------
cp "$PUB/latest.json" "$T/latest.before"
ok "publishing again with nothing changed succeeds" "$BIN/cybil-publish" -q -c "$C"
ok "...and rewrites nothing" cmp -s "$PUB/latest.json" "$T/latest.before"
is "$(q "SELECT count(*) FROM release")" 1 "...and uses no serial"
s1=$(id_of s1)
"$BIN/cybil-review" -q -c "$C" public "$s1" --url https://secret.example/s1
out=$("$BIN/cybil-publish" -c "$C" --dry-run 2>/dev/null)
is "$out" "added $s1" "--dry-run lists what would be added"
is "$(q "SELECT count(*) FROM release")" 1 "--dry-run uses no serial"
"$BIN/cybil-review" -q -c "$C" reset "$s1"

# --- determinism -----------------------------------------------------------------
epoch=$(date +%s)
for copy in a b; do
	mkdir -p "$T/$copy"
	cp "$T/snapshot.db" "$T/$copy/cybil.db"
	conf "$T/$copy.conf" "$T/$copy/cybil.db" "$T/$copy/public" "$T/keys/cybil.key"
	SOURCE_DATE_EPOCH=$epoch "$BIN/cybil-publish" -q -c "$T/$copy.conf"
done
ok "two publishes of copies of one store give identical trees" \
	diff -r "$T/a/public" "$T/b/public"

# --- withdrawal reaches the mirror -------------------------------------------------
n1=$(id_of n1)
ok "a first pull fills the mirror" "$BIN/cybil-pull" -q \
	--pubkey "$T/keys/cybil.key.pub" "$HTTPD_URL/public" --into "$T/mirror.db"
is "$(/usr/bin/sqlite3 "$T/mirror.db" "SELECT count(*) FROM record")" 5 \
	"the mirror holds the five records"
"$BIN/cybil-review" -q -c "$C" withdraw "$n1" --note "owner asked"
ok "publish after a withdrawal" "$BIN/cybil-publish" -q -c "$C"
R2=$PUB/releases/000002
mkdir -p "$T/x2"
tar --zstd -xf "$R2/cybil-000002.tar.zst" -C "$T/x2"
is "$(cat "$T/x2/changes.jsonl")" \
	"{\"change\":\"removed\",\"id\":\"$n1\",\"reason\":\"withdrawn\"}" \
	"changes.jsonl says why it left"
is "$(cat "$T/x2/tombstones.jsonl")" \
	"{\"id\":\"$n1\",\"reason\":\"withdrawn\",\"serial\":2}" \
	"tombstones.jsonl carries it"
ok "the withdrawn record's content is gone from release 2" \
	sh -c "! grep -rq 'Meeting of the network' '$T/x2'"
ok "release 2 verifies against release 1" "$BIN/cybil-verify" -q -c "$C" "$R2"
ok "the mirror pulls release 2" "$BIN/cybil-pull" -q \
	--pubkey "$T/keys/cybil.key.pub" "$HTTPD_URL/public" --into "$T/mirror.db"
is "$(/usr/bin/sqlite3 "$T/mirror.db" "SELECT count(*) FROM record WHERE id = '$n1'")" 0 \
	"the mirror dropped the withdrawn record"
is "$(/usr/bin/sqlite3 "$T/mirror.db" "SELECT group_concat(serial) FROM applied")" "1,2" \
	"the mirror records each applied serial"
ok "pulling again is a no-op" "$BIN/cybil-pull" -q \
	--pubkey "$T/keys/cybil.key.pub" "$HTTPD_URL/public" --into "$T/mirror.db"

# --- a correction is an update; re-signing keeps the serial --------------------
n4=$(id_of n4)
"$BIN/cybil-review" -q -c "$C" correct "$n4" title "Fourth, corrected"
ok "publish after a correction" "$BIN/cybil-publish" -q -c "$C"
R3=$PUB/releases/000003
mkdir -p "$T/x3"
tar --zstd -xf "$R3/cybil-000003.tar.zst" -C "$T/x3"
is "$(cat "$T/x3/changes.jsonl")" "{\"change\":\"updated\",\"id\":\"$n4\"}" \
	"changes.jsonl lists the corrected record as updated"
like "$(grep "$n4" "$T/x3/records.jsonl")" '"title":"Fourth, corrected"' \
	"records.jsonl carries the corrected title"
like "$(grep "$n4" "$T/x3/records.csv")" '"Fourth, corrected"' \
	"...and so does records.csv"
# A pointer signed four days ago (of seven) has less than half its life
# left: the next publish re-signs it under the same serial.
SOURCE_DATE_EPOCH=$(($(date +%s) - 4 * 86400)) \
	"$BIN/cybil-publish" -q -c "$C" --force
before=$(cat "$PUB/latest.json")
like "$before" '"serial":4,' "a release made four days ago"
ok "publishing with nothing changed re-signs it" "$BIN/cybil-publish" -q -c "$C"
after=$(cat "$PUB/latest.json")
like "$after" '"serial":4,' "...keeping the serial"
[ "$before" != "$after" ] && [ "${before%%\"expires\"*}" = "${after%%\"expires\"*}" ]
_tap_result $? "...with a later expiry and nothing else changed but kept"
ok "the re-signed tree verifies" "$BIN/cybil-verify" -q -c "$C" "$PUB"
is "$(q "SELECT count(*) FROM release")" 4 "re-signing used no serial"

# --- max_drop -------------------------------------------------------------------
"$BIN/cybil-review" -q -c "$C" refuse --source news --all --yes
exits 3 "removing more than max_drop is refused" "$BIN/cybil-publish" -q -c "$C"
is "$(q "SELECT count(*) FROM release")" 4 "...and uses no serial"
ok "the refused attempt left no temp folder" \
	sh -c "! ls -A '$PUB/releases' | grep -q tmp"
ok "--force publishes it" "$BIN/cybil-publish" -q -c "$C" --force
like "$(cat "$PUB/latest.json")" '"serial":5,' "release 5 is out"
mkdir -p "$T/x5"
tar --zstd -xf "$PUB/releases/000005/cybil-000005.tar.zst" -C "$T/x5"
is "$(grep -c '"reason":"refused"' "$T/x5/changes.jsonl")" 4 \
	"its changes give the four refusals their reason"
is "$(wc -l <"$T/x5/tombstones.jsonl")" 5 \
	"its tombstones keep the withdrawal and add the refusals"
is "$(wc -c <"$T/x5/records.jsonl") $(grep -rc -e Fourth -e Markup -e HYPERLINK \
	"$T/x5" | awk -F: '{ n += $2 } END { print n }')" "0 0" \
	"no refused record's content is in release 5"

# --- purge and keep ----------------------------------------------------------------
ok "--purge revokes the releases holding refused or withdrawn records" \
	"$BIN/cybil-publish" -q -c "$C" --purge
# Releases 1 and 2 already went with keep = 3; 3 and 4 held n1.
like "$(cat "$PUB/latest.json")" '"kept":\[5\],.*"revoked":\[3,4\]' \
	"latest.json lists them as revoked"
ok "...and they are gone" sh -c "[ ! -e '$R1' ] && [ ! -e '$R2' ] && [ ! -e '$R3' ]"
ok "the purged tree verifies" "$BIN/cybil-verify" -q -c "$C" "$PUB"
for _ in 1 2 3; do "$BIN/cybil-publish" -q -c "$C" --force; done
is "$(ls "$PUB/releases" | tr '\n' ' ')" "000006 000007 000008 " \
	"keep = 3 keeps the newest three"
like "$(cat "$PUB/latest.json")" '"kept":\[6,7,8\]' "latest.json lists them"
ok "the tree verifies, each kept release against the one before" \
	"$BIN/cybil-verify" -q -c "$C" "$PUB"

# --- a fresh store: html in arrays, decimals, a late withdrawal -----------------
mkdir -p "$T/f"
cp "$T/snapshot.db" "$T/f/cybil.db"
conf "$T/f.conf" "$T/f/cybil.db" "$T/f/public" "$T/keys/cybil.key"
F="-q -c $T/f.conf"
fq() { /usr/bin/sqlite3 "$T/f/cybil.db" "$1"; }
n5=$(fq "SELECT id FROM record WHERE external_id = 'n5'")
fq "UPDATE record SET fields = json_set(fields, '\$.parts_html',
	json_array('<script>alert(1)</script><b>kept</b>', 'x<iframe></iframe>'),
	'\$.amount', 0.1, '\$.ratio', json_array(2.5)) WHERE id = '$n5'"
ok "a record with HTML in an array and decimals publishes" \
	"$BIN/cybil-publish" $F
mkdir -p "$T/xf"
tar --zstd -xf "$T/f/public/releases/000001/cybil-000001.tar.zst" -C "$T/xf"
line=$(grep "$n5" "$T/xf/records.jsonl")
like "$line" '"parts_html":\["<b>kept</b>","x"\]' \
	"HTML inside an array under a *_html key is sanitised too"
like "$line" '"amount":"0.1"' "a decimal becomes its shortest string"
like "$line" '"ratio":\["2.5"\]' "...also inside an array"
# Pending first (it leaves as re-pended), withdrawn afterwards: --purge
# must still find release 1, which holds it.
"$BIN/cybil-review" $F reset "$n5"
"$BIN/cybil-publish" $F
is "$(tar --zstd -xOf "$T/f/public/releases/000002/cybil-000002.tar.zst" \
	tombstones.jsonl)" "{\"id\":\"$n5\",\"reason\":\"repended\",\"serial\":2}" \
	"reset: the record leaves as re-pended"
"$BIN/cybil-review" $F withdraw "$n5"
ok "withdrawn later, --purge" "$BIN/cybil-publish" $F --purge
like "$(cat "$T/f/public/latest.json")" '"revoked":\[1\]' \
	"--purge revokes the release that held it, whatever its tombstone says"
rm -rf "$T/f/public/latest.json" "$T/f/public/latest.json.minisig" \
	"$T/f/public/.latest"
ok "with latest.json lost, publishing with nothing changed" \
	"$BIN/cybil-publish" $F
ok "...points it at the last release again" \
	"$BIN/cybil-verify" -q -c "$T/f.conf" "$T/f/public"
ok "--dry-run works while a run holds the lock" \
	flock -n "$T/f/cybil.db.lock" "$BIN/cybil-publish" $F --dry-run

done_testing
