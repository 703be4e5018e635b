#!/bin/bash
# The conformance suites against other projects' test material in
# ../shared/corpus: feedparser's feed tests (well-formed pass rate at least
# 90 %, no crash on the ill-formed ones) and readability's test pages
# (title and language of at least 90 % of those that give them).
. "$(dirname "$0")/../lib.sh"

tmpdir
T=$TMPDIR_TEST
CORPUS=$TOP/../shared/corpus

# suite NAME DIR: runs tests/conformance/NAME.py on DIR of the corpus.
suite() {
	local name=$1 dir=$CORPUS/$2
	if [ ! -d "$dir" ]; then
		skip "$name: $dir is absent"
		return
	fi
	CYBIL_PARSE=$BIN/cybil-parse /usr/bin/python3 \
		"$TOP/tests/conformance/$name.py" "$dir" >"$T/$name.out" 2>&1
	local rc=$?
	_tap_result "$rc" "$name: $(tail -n 1 "$T/$name.out")"
	if [ "$rc" -ne 0 ]; then
		diag "$(grep -E 'FAIL|rate|rror' "$T/$name.out" | head -n 30)"
	fi
}

suite feedparser feedparser
suite readability html/readability
done_testing
