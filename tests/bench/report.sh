#!/usr/bin/env bash
# tests/bench/report.sh - prints the latest figures of each benchmark from
# build/bench/results.txt (written by fetch.sh, parse.sh, publish.sh and
# run.sh; see result in common.sh) as Markdown tables, ready for
# BENCHMARKS.md: for each of fetch, parse, publish and run, the lines of
# its latest invocation.
#
# Usage: tests/bench/report.sh [RESULTS-FILE]   (make bench runs it last)
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
file=${1:-${BENCH_RESULTS:-$TOP/build/bench/results.txt}}
[ -s "$file" ] || { echo "report: no results in $file (run make bench)" >&2; exit 1; }

awk '
function val(k,   i, kv) {	# the value of key k on the current line
	for (i = 1; i <= NF; i++)
		if (index($i, k "=") == 1)
			return substr($i, length(k) + 2)
	return ""
}
{
	b = val("bench"); d = val("date")
	if (d > last[b]) last[b] = d
	line[NR] = $0
}
END {
	n = split("fetch parse publish run", order, " ")
	for (o = 1; o <= n; o++) {
		b = order[o]
		if (!(b in last))
			continue
		printf "\n%s, %s\n\n", b, last[b]
		print "| row | median s | peak RSS MB | rows/s | runs | size |"
		print "|---|---:|---:|---:|---:|---|"
		for (i = 1; i <= NR; i++) {
			$0 = line[i]
			if (val("bench") != b || val("date") != last[b] || val("row") == "")
				continue
			size = ""
			if (val("sources") != "") size = val("sources") " sources"
			if (val("records") != "") size = size (size != "" ? ", " : "") val("records") " records"
			if (val("files") != "") size = val("files") " files"
			if (val("rows") != "") size = size (size != "" ? ", " : "") val("rows") " rows"
			rss = val("rss_kb")
			printf "| %s | %s | %s | %s | %s | %s |\n", val("row"), val("median_s"),
				(rss ~ /^[0-9]+$/ ? sprintf("%.1f", rss / 1024) : "-"),
				(val("per_s") != "" ? val("per_s") : "-"), val("runs"), size
		}
		printf "\n"
		for (i = 1; i <= NR; i++) {
			$0 = line[i]
			if (val("bench") != b || val("date") != last[b])
				continue
			if (val("ratio") != "")
				printf "- ratio %s: %s%s\n", val("ratio"), val("value"),
					(val("kind") != "" ? " (" val("kind") ")" : "")
			if (val("errors") != "")
				printf "- %s errors while measuring: not comparable\n", val("errors")
		}
	}
}' "$file"
