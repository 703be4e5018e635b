#!/bin/sh
# make demo: runs cybil on the bundled sample sources in config/demo/,
# served by the test suite's HTTP server on 127.0.0.1 (no internet needed).
# Everything it writes goes to var/demo/, made afresh each time.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
work=$top/var/demo
conf=$work/cybil.conf
server_pid=

public_pid=

stop_server() {
	for pid in $server_pid $public_pid; do
		kill "$pid" 2>/dev/null || true
	done
}
trap stop_server EXIT
trap 'exit 130' INT TERM

rm -rf "$work"
mkdir -p "$work"

/usr/bin/python3 "$top/tests/httpd.py" --root "$top/config/demo" \
	--port-file "$work/port" --log "$work/httpd.log" --max-seconds 600 \
	--route '/oai?verb=ListRecords&metadataPrefix=oai_dc=oai/page1.xml' \
	--route '/oai?verb=ListRecords&resumptionToken=demo-token-2=oai/page2.xml' \
	--route '/oai?verb=ListRecords&metadataPrefix=oai_dc&from=2026-11-27T03:00:12Z=oai/no-records.xml' \
	</dev/null &
server_pid=$!
for _ in $(seq 100); do
	[ -s "$work/port" ] && break
	sleep 0.1
done
if [ ! -s "$work/port" ]; then
	echo "demo: the sample server did not start" >&2
	exit 1
fi
base=http://127.0.0.1:$(cat "$work/port")
sed "s#@BASE@#$base#g" "$top/config/demo.conf" >"$conf"

cybil="$top/bin/cybil -c $conf"
review="$top/bin/cybil-review -c $conf"
key=$work/var/keys/cybil.key
echo "== sample sources served at $base from config/demo/"
echo "== cybil-publish --keygen: the release signing key pair (minisign"
echo "   format; the secret half is 0600, the public half goes to mirrors)"
$top/bin/cybil-publish -c "$conf" --keygen
echo
echo "== cybil run: fetch and parse the sources, then publish release 1 with"
echo "   the records whose sources are public"
rc=0
$cybil run || rc=$?
echo
echo "== cybil fetch --force, then parse: the same sources again. Nothing"
echo "   changed, so the feeds and pages answer 304 without a body, and the"
echo "   OAI-PMH repository is asked only for records changed since the last"
echo "   harvest (none)"
$cybil fetch --force || rc=$?
$cybil parse || rc=$?
echo
echo "== cybil-review list: the records that await a consent decision (sources"
echo "   whose consent is pending; the others' new records are public)"
$review list || rc=$?

# The EJCN actor page is the one record of source ejcn; its owner's letter
# is config/demo/evidence/ejcn-consent.txt. The IATI activities have no
# page of their own: they are public in the IATI file itself.
ejcn=$($review list --source ejcn --tsv | cut -f1 | head -n 1) || rc=$?
iati=$($review list --source iati-projects --tsv |
	awk -F '\t' '/West Africa/ { print $1; exit }') || rc=$?
echo
echo "== cybil-review grant: the EJCN consented to its actor page in writing;"
echo "   the letter goes into the evidence store (var/evidence/) by sha256"
if [ -n "$ejcn" ]; then
	$review grant "$ejcn" --by demo-editor \
		--evidence "$top/config/demo/evidence/ejcn-consent.txt" \
		--note 'letter EJCN/SEC/2026/114 of 3 November 2026' || rc=$?
else
	echo "demo: no record of source ejcn to grant" >&2
	rc=1
fi
echo
echo "== cybil-review public: an IATI activity is public where IATI publishes it"
if [ -n "$iati" ]; then
	$review public "$iati" --by demo-editor \
		--url "$base/iati/activities.xml" || rc=$?
	$review log "$iati" || rc=$?
else
	echo "demo: no IATI record to mark public" >&2
	rc=1
fi
if [ -n "$ejcn" ]; then
	echo
	echo "== cybil-review show: the granted record, its provenance and history"
	$review show "$ejcn" || rc=$?
fi
echo
echo "== cybil-review verify-log: the consent audit log's hash chain"
$review verify-log || rc=$?
echo
echo "== cybil publish: the decisions go out in release 2 (the granted and"
echo "   the newly public record are added); only public and granted records"
echo "   ever leave the store"
$cybil publish || rc=$?
echo
echo "== cybil-pull: a downstream site mirrors the published tree over HTTP,"
echo "   verifying signatures and sums before it opens anything"
/usr/bin/python3 "$top/tests/httpd.py" --root "$work/var/public" \
	--port-file "$work/public-port" --log "$work/public-httpd.log" \
	--max-seconds 600 </dev/null &
public_pid=$!
for _ in $(seq 100); do
	[ -s "$work/public-port" ] && break
	sleep 0.1
done
public=http://127.0.0.1:$(cat "$work/public-port")
"$top/bin/cybil-pull" --pubkey "$key.pub" "$public/" \
	--into "$work/mirror/mirror.db" || rc=$?
sqlite3 "$work/mirror/mirror.db" \
	'SELECT kind, count(*) FROM record GROUP BY kind' 2>/dev/null || true
echo
echo "== cybil-verify: the published tree, every kept release, checked as a"
echo "   downstream site would"
"$top/bin/cybil-verify" --pubkey "$key.pub" "$work/var/public" || rc=$?
echo
echo "== cybil status"
$cybil status || rc=$?
cat <<NEXT

== where the results are
  store (records, consent log):  $work/var/cybil.db
  raw captures by sha256:        $work/var/blobs/
  consent evidence:              $work/var/evidence/
  published tree:                $work/var/public/ (latest.json, releases/)
  signing keys:                  $key, $key.pub
  downstream mirror:             $work/mirror/mirror.db

== the review console (the same decisions in a web page)
  $review passwd manager        # type a password twice
  $review serve                 # then open http://127.0.0.1:8470/
  (a non-loopback [review] listen needs tls_cert and tls_key;
   config/cybil-review.service is an example systemd unit)

== what to try next
  $cybil status
  $cybil run
  $review list
  $review list --consent all --state all
  $review log
  $review correct ${ejcn:-ID} name 'EJCN' --note 'short name'
  $review show ${ejcn:-ID}
  $review withdraw ${ejcn:-ID} --note 'letter of withdrawal'
  $review refuse --source cert-pacific --all
  $top/bin/cybil-publish -c $conf --dry-run
  $top/bin/cybil-verify --pubkey $key.pub $work/var/public
  minisign -Vm $work/var/public/latest.json -p $key.pub
  sqlite3 -header $work/var/cybil.db 'SELECT source, status, bytes, url FROM capture'
  sqlite3 $work/var/cybil.db .schema
  man -l man/cybil.1; man -l man/cybil-review.1; man -l man/cybil.conf.5
  man -l man/cybil-publish.1; man -l man/cybil-release.5
The demo's configuration is $conf, made from config/demo.conf.
NEXT
exit "$rc"
