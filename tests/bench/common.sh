# shellcheck shell=bash
# tests/bench/common.sh - shell helpers the benchmarks share; sourced by
# fetch.sh and run.sh (bash), parse.sh and publish.sh (for result only).
#
# Before sourcing: TOP (the source tree). Before calling the nginx helpers:
# work (the temporary folder), docs (the folder nginx serves, holding
# d1.xml) and NGINX (its binary). start_nginx sets PORT and ngx_pid;
# stop_nginx (call it from the EXIT trap) stops it and its workers.
#
# result BENCH KEY=VALUE...: appends one line to BENCH_RESULTS (default
# build/bench/results.txt), "date=D bench=BENCH KEY=VALUE ...", where D is
# the same for every line of one invocation of a benchmark; report.sh
# prints the latest lines of each benchmark as a table.
# shellcheck disable=SC2154 # work and docs are the caller's

say() { printf '%s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

stop_nginx() {
	local pid=$ngx_pid children

	[ -n "$pid" ] || return 0
	ngx_pid=
	# Its workers, in case the master has to be killed hard.
	children=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "bench: nginx $pid did not stop; killing it" >&2
		# shellcheck disable=SC2086 # a list of process IDs
		kill -KILL "$pid" $children 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	for _ in $(seq 30); do
		[ -z "$children" ] && break
		local left=
		for c in $children; do
			kill -0 "$c" 2>/dev/null && left="$left $c"
		done
		children=$left
		[ -z "$children" ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086 # a list of process IDs
	[ -z "$children" ] || kill -KILL $children 2>/dev/null || true
}

bytes_in() {	# DIR: bytes of the files in DIR
	find "$1" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }'
}

free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
	else
		echo $((20000 + RANDOM % 40000))
	fi
}

# nginx_conf PORT [DIRECTIVE-TO-DROP...]
nginx_conf() {
	local port=$1 user_line='' d
	shift
	# As root the workers would switch to "nobody", who cannot read the
	# temporary folder (mode 0700): keep them as the current user.
	if [ "$(id -u)" -eq 0 ]; then
		user_line="user $(id -un) $(id -gn);"
	fi
	{
		cat <<CONF
# Written by tests/bench/${0##*/}; started as
#   nginx -p $work/nginx/ -c $work/nginx.conf -e $work/nginx/error.log
$user_line
daemon off;
master_process on;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events {
	worker_connections 1024;
}
http {
	types {
		application/rss+xml xml;
		text/html html;
		text/plain txt;
	}
	default_type application/octet-stream;
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 65s;
	keepalive_requests 100000;
	etag on;
	if_modified_since exact;
	gzip on;
	gzip_vary on;
	gzip_min_length 256;
	gzip_types application/rss+xml application/atom+xml application/xml text/xml text/plain text/css application/json;
	client_body_temp_path $work/nginx/tmp/body;
	proxy_temp_path $work/nginx/tmp/proxy;
	fastcgi_temp_path $work/nginx/tmp/fastcgi;
	uwsgi_temp_path $work/nginx/tmp/uwsgi;
	scgi_temp_path $work/nginx/tmp/scgi;
	server {
		listen 127.0.0.1:$port;
		server_name localhost;
		root $docs;
		location / {
		}
	}
}
CONF
	} >"$work/nginx.conf"
	# Builds without a module reject its *_temp_path directive.
	for d in "$@"; do
		sed -i "/^[[:space:]]*$d /d" "$work/nginx.conf"
	done
}

start_nginx() {
	local port drop=() out

	for _ in 1 2 3 4 5; do
		port=$(free_port)
		nginx_conf "$port" "${drop[@]+"${drop[@]}"}"
		if ! out=$("$NGINX" -t -q -p "$work/nginx/" -c "$work/nginx.conf" \
		    -e "$work/nginx/error.log" 2>&1); then
			if [[ $out =~ unknown\ directive\ \"([a-z_]+_temp_path)\" ]]; then
				drop+=("${BASH_REMATCH[1]}")
				continue
			fi
			die "nginx rejects its configuration: $out"
		fi
		"$NGINX" -p "$work/nginx/" -c "$work/nginx.conf" \
			-e "$work/nginx/error.log" </dev/null \
			>>"$work/nginx/stdout.log" 2>&1 &
		ngx_pid=$!
		for _ in $(seq 100); do
			if ! kill -0 "$ngx_pid" 2>/dev/null; then
				break
			fi
			if curl -s -o /dev/null --max-time 1 \
			    "http://127.0.0.1:$port/d1.xml"; then
				# shellcheck disable=SC2034 # read by the caller
				PORT=$port
				return 0
			fi
			sleep 0.05
		done
		# Port taken meanwhile, or nginx broken: look and retry.
		stop_nginx
		if ! grep -q 'Address already in use' "$work/nginx/error.log" \
		    "$work/nginx/stdout.log" 2>/dev/null; then
			cat "$work/nginx/error.log" "$work/nginx/stdout.log" \
				>&2 2>/dev/null || true
			die "nginx did not start (see above)"
		fi
	done
	die "nginx found no free port in 5 tries"
}

# Old outputs are moved aside, not deleted, until the end: ext4 slows
# down creating files where thousands were just deleted (its inode
# allocator skips recently deleted inodes), which a harvester does not
# see and which would add noise to both sides.
discard() {	# PATH...
	local p

	for p in "$@"; do
		[ -e "$p" ] || continue
		mkdir -p "$work/old"
		mv "$p" "$(mktemp -u "$work/old/$(basename "$p").XXXXXX")"
	done
}

# bench_workdir PREFIX: makes the temporary folder $work (in TMPDIR, else
# /tmp) and sets the traps that, on exit, stop nginx and remove $work
# (KEEP_TMP=1 keeps it).
bench_workdir() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") ||
		die "cannot make a temporary folder"
	ngx_pid=
	trap bench_cleanup EXIT
	trap 'say "bench: stopped by a failing command at line $LINENO" >&2' ERR
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# shellcheck disable=SC2317 # called by the EXIT trap
bench_cleanup() {
	local rc=$?

	trap - EXIT INT TERM HUP
	stop_nginx
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		say "bench: kept $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}

# feeds_conf COUNT BASE [LINE...]: writes to standard output a cybil
# configuration with the store, blobs and evidence in $work, [fetch]
# allow_private = yes and parallel = per_host = $PARALLEL, and one
# [source "dN"] (kind = rss, url = BASE/dN.xml, and each LINE) for N = 1
# to COUNT.
feeds_conf() {
	local count=$1 base=$2 i line
	shift 2
	cat <<CONF
# Written by tests/bench/${0##*/}
[store]
path = $work/store/cybil.db
blobs = $work/blobs
evidence = $work/evidence

[fetch]
allow_private = yes
parallel = $PARALLEL
per_host = $PARALLEL
CONF
	for ((i = 1; i <= count; i++)); do
		printf '\n[source "d%d"]\nkind = rss\nurl = %s/d%d.xml\n' \
			"$i" "$base" "$i"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	done
}

# peer_args COUNT BASE DIR: the arguments of the curl peer, one word a
# line: "-o DIR/dN.xml BASE/dN.xml" for N = 1 to COUNT.
peer_args() {
	local i
	for ((i = 1; i <= $1; i++)); do
		printf -- '-o\n%s/d%d.xml\n%s/d%d.xml\n' "$3" "$i" "$2" "$i"
	done
}

# timed NAME CMD...: runs CMD after an untimed sync (so that no run pays
# for the dirty pages of the one before); appends its wall seconds to
# $work/NAME.secs and, when TIME names GNU time, its peak RSS (KiB, the
# largest single process) to NAME.rss and its CPU seconds (user + system,
# children included) to NAME.cpu. Sets last_rc to CMD's exit status and
# returns it.
timed() {
	local name=$1 start end rc=0
	shift
	sync
	rm -f "$work/time.out"
	start=$EPOCHREALTIME
	if [ -n "${TIME:-}" ]; then
		"$TIME" -f '%M %U %S' -o "$work/time.out" "$@" || rc=$?
	else
		"$@" || rc=$?
	fi
	end=$EPOCHREALTIME
	# shellcheck disable=SC2034 # read by the caller
	last_rc=$rc
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }' \
		>>"$work/$name.secs"
	if [ -s "$work/time.out" ]; then
		# (After a failure GNU time writes a line before its figures.)
		tail -n 1 "$work/time.out" | awk -v rss="$work/$name.rss" \
			-v cpu="$work/$name.cpu" '{ print $1 >>rss
				printf "%.2f\n", $2 + $3 >>cpu }'
	fi
	return "$rc"
}

# median [FILE]: the median of the first column of FILE or of the
# standard input (numbers, a line each), with three decimals.
median() {
	sort -n "$@" | awk '{ v[NR] = $1 }
		END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]
		      else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

BENCH_RESULTS=${BENCH_RESULTS:-$TOP/build/bench/results.txt}
BENCH_DATE=${BENCH_DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
result() {	# BENCH KEY=VALUE...
	local bench=$1
	shift
	mkdir -p "$(dirname "$BENCH_RESULTS")"
	printf 'date=%s bench=%s %s\n' "$BENCH_DATE" "$bench" "$*" \
		>>"$BENCH_RESULTS"
}
