#!/bin/bash
# cybil-parse --dump on the fixtures (each NAME.expected holds the exact
# output for NAME) and on the hostile XML of ../shared/corpus/hostile:
# every parser rejects or reads each file quickly, in little memory,
# without opening anything but the file (no DTD, no external entity) and
# without touching the network.
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
PARSE=$BIN/cybil-parse
cd "$TOP" || exit 1

# kind_of FIXTURE: the parser a fixture is written for.
kind_of() {
	case $1 in
	tests/e2e/feeds/atom*) echo atom ;;
	tests/e2e/feeds/*) echo rss ;;
	tests/e2e/html/*) echo html ;;
	tests/e2e/iati/*) echo iati ;;
	tests/e2e/oai/*) echo oai-pmh ;;
	esac
}

# --- fixtures ---------------------------------------------------------
for expected in tests/e2e/{feeds,html,iati,oai}/*.expected; do
	[ -e "$expected" ] || continue
	fixture=
	for f in "${expected%.expected}".*; do
		[ "$f" != "$expected" ] && fixture=$f
	done
	if [ -z "$fixture" ]; then
		fail "$expected: no fixture beside it"
		continue
	fi
	"$PARSE" --dump --kind "$(kind_of "$fixture")" "$fixture" \
		>"$T/out" 2>/dev/null
	if cmp -s "$T/out" "$expected"; then
		pass "$fixture: --dump as expected"
	else
		fail "$fixture: --dump as expected"
		diag "$(diff "$expected" "$T/out" | cut -c1-300 | head -n 10)"
	fi
done

# --- hostile corpus ---------------------------------------------------
CORPUS=$TOP/../shared/corpus/hostile
if [ ! -d "$CORPUS" ]; then
	skip "hostile corpus: ../shared/corpus/hostile is absent"
	done_testing
fi

# Peak memory is only meaningful without AddressSanitizer's shadow.
sanitized=
nm "$PARSE" 2>/dev/null | grep -q __asan_init && sanitized=1

# allowed_open PATH: what a parse may open besides the file itself.
allowed_open() {
	case $1 in
	/etc/ld.so.cache | /lib/* | /usr/lib/* | /dev/urandom | \
	/usr/share/iso-codes/* | /proc/* | /sys/*) return 0 ;;
	esac
	return 1
}

while IFS= read -r -d '' file; do
	rel=${file#"$CORPUS"/}
	problems=
	for kind in rss atom iati oai-pmh html; do
		/usr/bin/time -f '%e %M' -o "$T/time" timeout 10 \
			"$PARSE" --dump --kind "$kind" "$file" \
			>/dev/null 2>"$T/err"
		rc=$?
		# the last line: time writes "Command exited ..." first
		read -r _ kb < <(tail -n 1 "$T/time")
		case $rc in
		0 | 1) ;;
		124) problems="$problems $kind: over 10 s;" ;;
		*) problems="$problems $kind: exit $rc $(tail -n 1 "$T/err");" ;;
		esac
		if [ -z "$sanitized" ] && [ "${kb:-0}" -gt 65536 ]; then
			problems="$problems $kind: peak ${kb} kB;"
		fi
	done
	if [ -z "$problems" ]; then
		pass "hostile $rel: every parser ends in time and memory"
	else
		fail "hostile $rel: every parser ends in time and memory"
		diag "$problems"
	fi
done < <(find "$CORPUS" -type f \( -name '*.xml' -o -name '*.xhtml' \
	-o -name '*.svg' -o -name '*.xsd' -o -name '*.dtd' -o -name '*.ent' \
	-o -name '*.str' -o -name '*.err' \) -print0 | sort -z)

# No file but the input is opened and no socket is made, for the files
# that ask for external entities and DTDs.
if ! command -v strace >/dev/null; then
	skip "strace is not installed"
	done_testing
fi
while IFS= read -r -d '' file; do
	rel=${file#"$CORPUS"/}
	bad=
	for kind in rss iati oai-pmh html; do
		strace -f -qq -e trace=open,openat,socket,connect \
			-o "$T/trace" "$PARSE" --dump --kind "$kind" "$file" \
			>/dev/null 2>&1
		if grep -Eq '(socket|connect)\(' "$T/trace"; then
			bad="$bad $kind: made a socket;"
		fi
		while IFS= read -r path; do
			[ "$path" = "$file" ] || allowed_open "$path" ||
				bad="$bad $kind: opened $path;"
		done < <(sed -n 's/.*open[a-z]*([^"]*"\([^"]*\)".*/\1/p' \
			"$T/trace")
	done
	if [ -z "$bad" ]; then
		pass "hostile $rel: nothing opened but the file, no socket"
	else
		fail "hostile $rel: nothing opened but the file, no socket"
		diag "$bad"
	fi
done < <(grep -rlZE 'SYSTEM|PUBLIC|xi:include|xinclude' "$CORPUS" \
	--include='*.xml' --include='*.xhtml' --include='*.svg' \
	--include='*.xsd' | sort -z)

done_testing
