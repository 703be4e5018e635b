#!/usr/bin/python3
"""Loopback HTTP/1.1 test server for cybil's end-to-end tests (stdlib only).

usage: httpd.py --root DIR --port-file FILE [--log FILE] [--max-seconds N]
                [--parent-pid PID] [--route PATH?QUERY=FILE]...
                [--more-ports N --more-ports-file FILE]

Binds 127.0.0.1 on a random port, writes the port to FILE once listening,
serves static files from DIR plus the misbehaving endpoints under /_/ (see
route()), and exits 0 on SIGTERM/SIGINT, after --max-seconds, or when
--parent-pid stops existing.  It never connects anywhere: redirects to other
hosts are only ever sent as headers.
"""
import argparse, email.utils, gzip, hashlib, json, os, select, signal, socket
import struct, sys, threading, time, zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

TYPES = {".xml": "application/xml", ".rss": "application/rss+xml",
         ".atom": "application/atom+xml", ".html": "text/html; charset=utf-8",
         ".htm": "text/html; charset=utf-8", ".json": "application/json",
         ".txt": "text/plain; charset=utf-8"}
TEXT = "text/plain; charset=utf-8"
STATS_PATHS = ("/_/stats", "/_/stats/reset")  # invisible to the statistics


class Abort(Exception):
    """The endpoint already tore the connection down; send nothing more."""


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.active = self.open_conns = 0
        self.host_active = {}
        self.fail_counts = {}       # /_/fail-then-ok, deliberately not reset
        self.reset()

    def reset(self):  # caller holds the lock (or we are in __init__)
        # In-flight counts are facts, not history: keep them so the matching
        # decrements stay balanced, and restart the peaks from them.
        self.requests, self.total, self.connections = {}, 0, 0
        self.max_active, self.max_conns = self.active, self.open_conns
        self.per_host_max = {h: n for h, n in self.host_active.items() if n}

    def snapshot(self):
        return {"requests": self.requests, "total": self.total,
                "active": self.active, "max_active": self.max_active,
                "connections": self.connections,
                "max_connections_active": self.max_conns,
                "per_host_max": self.per_host_max}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cybil-test-httpd/1"
    timeout = 130  # idle keep-alive connections die; > /_/endless's 120 s

    def setup(self):
        super().setup()
        self.conn_counted = False

    def finish(self):
        if self.conn_counted:
            with self.server.stats.lock:
                self.server.stats.open_conns -= 1
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, *args):  # keep stderr quiet
        pass

    def log_line(self, status, nbytes):
        log = self.server.log
        if log:
            with self.server.log_lock:
                log.write(f"{self.command or '-'} {getattr(self, 'path', '-')} "
                          f"{status} {nbytes}\n")
                log.flush()

    def send_error(self, code, message=None, explain=None):
        # Only reached for requests the base class rejects (400, 414, 501).
        self.status, self.sent, self.close_connection = 0, 0, True
        self.reply(code, f"{code} {message or ''}\n",
                   headers=[("Connection", "close")])
        self.log_line(code, self.sent)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (Abort, ConnectionError, TimeoutError, ValueError):
            # ValueError: I/O on a socket file an endpoint closed itself.
            self.close_connection = True

    # ----------------------------------------------------------- helpers
    def send_response(self, code, message=None):
        self.status = code
        super().send_response(code, message)

    def write(self, data):
        self.wfile.write(data)
        self.sent += len(data)

    def reply(self, code, body=b"", ctype=TEXT, headers=()):
        """A complete response with Content-Length; no body for HEAD."""
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if code in (204, 304):
            body = b""  # these must not carry a body or Content-Length
        else:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.write(body)

    def param(self, name, default, conv=str):
        try:
            return conv(self.query[name][0])
        except (KeyError, ValueError):
            return default

    # ----------------------------------------------------------- dispatch
    def do_GET(self):
        self.dispatch()

    do_HEAD = do_GET  # other methods get the base class's 501 (send_error)

    def dispatch(self):
        self.status, self.sent = 0, 0
        url = urlsplit(self.path)
        path, self.query = url.path, parse_qs(url.query)
        st, counted = self.server.stats, path not in STATS_PATHS
        host = self.headers.get("Host", "")
        if counted:
            with st.lock:
                st.requests[path] = st.requests.get(path, 0) + 1
                st.total += 1
                st.active += 1
                st.max_active = max(st.max_active, st.active)
                n = st.host_active[host] = st.host_active.get(host, 0) + 1
                st.per_host_max[host] = max(st.per_host_max.get(host, 0), n)
                # Connections are counted at their first counted request so
                # that curl polling /_/stats never shows up in the peaks.
                if not self.conn_counted:
                    self.conn_counted = True
                    st.connections += 1
                    st.open_conns += 1
                    st.max_conns = max(st.max_conns, st.open_conns)
        try:
            self.route(path)
        except (Abort, ConnectionError, TimeoutError):
            raise
        except Exception as e:  # a bug in here: answer 500, stay quiet
            if self.status:
                raise Abort from e  # headers already out: just hang up
            self.reply(500, f"internal error: {e!r}\n")
        finally:
            if counted:
                with st.lock:
                    st.active -= 1
                    st.host_active[host] -= 1
            self.log_line(self.status or "000", self.sent)

    def route(self, path):
        """Static files from --root, and these endpoints under /_/:

        status/N            an empty-ish answer with status N (200..599)
        redirect/N?to=P     N 302s in a row, then to P
        redirect-loop       a 302 to itself, for ever
        redirect-to?url=U&code=C   one redirect (C, default 302) to U
        slow?delay=S        answers after S seconds (at most 60)
        stall               never answers; returns when the client hangs up
        trickle?bytes=N&delay=S    N bytes, one every S seconds
        endless?type=T      a body without end (chunked, or until close)
        fail-then-ok?key=K&fail=N&code=C&retry_after=R
                            N failures (C, default 503) for K, then 200
        etag-only/P, lm-only/P     static P with only that validator
        reset               reads the request, then a TCP reset (RST)
        close               reads the request, then closes: no answer
        garbage             bytes that are no HTTP at all, then close
        huge-header?size=N&lines=K N bytes (1 MiB) of headers, in K lines
        truncated/P         static P, Content-Length in full, half the body
        typed/P?type=T      static P with Content-Type T
        random/N?seed=S&type=T     N pseudo-random bytes (same for same S)
        stats, stats/reset  the request counters as JSON (not counted)

        --route: a path with these query arguments (in any order) is
        answered with a static file, as an OAI-PMH endpoint would be.
        """
        for rpath, rquery, target in self.server.routes:
            if path == rpath and self.query == rquery:
                return self.static(target)
        if not path.startswith("/_/"):
            return self.static(path)
        parts = path[3:].split("/")
        name, rest = parts[0], "/".join(parts[1:])
        fn = getattr(self, "ep_" + name.replace("-", "_"), None)
        if fn is None:
            return self.static(path)  # e.g. /_/robots/... is plain static
        fn(rest)

    # ----------------------------------------------------------- static
    def static_path(self, path):
        """The file under --root that PATH names, or None."""
        root = self.server.root
        rel = unquote(path)
        segs = rel.split("/")
        full = os.path.realpath(os.path.join(root, rel.lstrip("/")))
        if ("\0" in rel or ".." in segs
                or os.path.commonpath([root, full]) != root
                or not os.path.isfile(full)):
            return None
        return full

    @staticmethod
    def type_of(full):
        ext = os.path.splitext(full)[1].lower()
        return TYPES.get(ext, "application/octet-stream")

    def static(self, path, mode="both", ctype=None):
        full = self.static_path(path)
        if full is None:
            return self.reply(404, "not found\n")
        with open(full, "rb") as f:
            body = f.read()
            mtime = int(os.fstat(f.fileno()).st_mtime)
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        hdrs = [("Vary", "Accept-Encoding")]
        if mode in ("both", "etag"):
            hdrs.append(("ETag", etag))
        if mode in ("both", "lm"):
            hdrs.append(("Last-Modified", email.utils.formatdate(mtime, usegmt=True)))
        if self.not_modified(mode, etag, mtime):
            return self.reply(304, headers=hdrs)
        coding = self.pick_coding() if len(body) >= 64 else None
        if coding == "gzip":
            body = gzip.compress(body, mtime=0)  # mtime=0: deterministic bytes
        elif coding == "deflate":
            body = zlib.compress(body)  # HTTP "deflate" is the zlib format
        if coding:
            hdrs.append(("Content-Encoding", coding))
        self.reply(200, body, ctype or self.type_of(full), hdrs)

    def not_modified(self, mode, etag, mtime):
        inm = self.headers.get("If-None-Match")
        if inm is not None and mode in ("both", "etag"):
            # Weak comparison (RFC 7232 3.2): ignore W/ on both sides.
            tags = [t.strip() for t in inm.split(",")]
            return "*" in tags or any(
                (t[2:] if t.startswith("W/") else t) == etag for t in tags)
        ims = self.headers.get("If-Modified-Since")
        if ims is not None and mode in ("both", "lm"):
            try:
                return mtime <= email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False  # unparsable date: ignore the header
        return False

    def pick_coding(self):
        q = {}
        for item in self.headers.get("Accept-Encoding", "").split(","):
            coding, _, params = item.strip().lower().partition(";")
            weight = 1.0
            for p in params.split(";"):
                k, _, v = p.strip().partition("=")
                if k == "q":
                    try:
                        weight = float(v)
                    except ValueError:
                        weight = 0.0
            if coding:
                q[coding.strip()] = weight
        star = q.get("*", 0.0)  # "*" covers codings not listed explicitly
        if q.get("gzip", q.get("x-gzip", star)) > 0:
            return "gzip"
        if q.get("deflate", star) > 0:
            return "deflate"  # only when gzip is not acceptable
        return None

    # ----------------------------------------------------------- /_/ endpoints
    def ep_status(self, rest):
        code = int(rest) if rest.isdigit() and 200 <= int(rest) <= 599 else 400
        self.reply(code, f"{code} {self.responses.get(code, ('',))[0]}\n")

    def ep_redirect(self, rest):
        # /_/redirect/N answers with exactly N 302s before reaching `to`
        # (N=0 behaves like N=1).
        n = int(rest) if rest.isdigit() else 0
        to = self.param("to", "/_/status/200")
        loc = f"/_/redirect/{n - 1}?to={quote(to, safe='')}" if n > 1 else to
        self.reply(302, f"redirect to {loc}\n", headers=[("Location", loc)])

    def ep_redirect_loop(self, rest):
        self.reply(302, "loop\n", headers=[("Location", "/_/redirect-loop")])

    def ep_redirect_to(self, rest):
        loc, code = self.param("url", "/"), self.param("code", 302, int)
        self.reply(code, f"redirect to {loc}\n", headers=[("Location", loc)])

    def wait(self, seconds):
        """Sleeps SECONDS, or raises Abort as soon as the client hangs up,
        so that a waiting thread does not outlive its client."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            r, _, _ = select.select([self.connection], [], [], left)
            if not r:
                continue
            try:
                data = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                data = b""
            if not data:
                self.close_connection = True
                raise Abort
            time.sleep(min(left, 0.05))  # readable with data: just sleep

    def ep_slow(self, rest):
        self.wait(min(max(self.param("delay", 1.0, float), 0.0), 60.0))
        self.reply(200, "slow\n")

    def ep_stall(self, rest):
        # Say nothing; returns early if the client hangs up.
        self.wait(60)
        self.close_connection = True
        raise Abort

    def ep_trickle(self, rest):
        n = min(max(self.param("bytes", 10, int), 0), 1 << 20)
        delay = min(max(self.param("delay", 0.5, float), 0.0), 60.0)
        self.send_response(200)
        self.send_header("Content-Type", TEXT)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        for i in range(n):
            if i:
                self.wait(delay)
            self.write(b"x")  # unbuffered: each byte is its own send()

    def ep_endless(self, rest):
        chunked = self.request_version != "HTTP/1.0"
        self.send_response(200)
        self.send_header("Content-Type", self.param("type", "application/octet-stream"))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")  # never reused afterwards
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        block, deadline, sent = b"x" * 65536, time.monotonic() + 120, 0
        while sent < (2 << 30) and time.monotonic() < deadline:
            self.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            sent += len(block)  # ends with ConnectionError once client leaves
        if chunked:
            self.write(b"0\r\n\r\n")

    def ep_fail_then_ok(self, rest):
        key = self.param("key", "default")
        st = self.server.stats
        with st.lock:
            n = st.fail_counts.get(key, 0)
            st.fail_counts[key] = n + 1
        if n < self.param("fail", 1, int):
            code = self.param("code", 503, int)
            ra = self.param("retry_after", None)
            self.reply(code, f"fail {n + 1} for {key}\n",
                       headers=[("Retry-After", ra)] if ra is not None else [])
        else:
            self.reply(200, f"ok {key}")

    def ep_etag_only(self, rest):
        self.static("/" + rest, mode="etag")

    def ep_lm_only(self, rest):
        self.static("/" + rest, mode="lm")

    def ep_reset(self, rest):
        # SO_LINGER {on, 0s} makes close() send RST instead of FIN.  The
        # socket only really closes once its file objects are closed too.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.hangup()

    def ep_garbage(self, rest):
        self.write(b"\x00\xffNOT HTTP\x01" + os.urandom(2048))
        self.hangup()

    def hangup(self):
        self.close_connection = True
        for f in (self.wfile, self.rfile, self.connection):
            f.close()
        raise Abort

    def ep_huge_header(self, rest):
        # ?size=N (default 1 MiB) of header bytes, as one X-Huge header, or
        # with ?lines=K spread over K headers X-Huge-1 .. X-Huge-K.
        size = min(max(self.param("size", 1 << 20, int), 1), 64 << 20)
        lines = min(max(self.param("lines", 1, int), 1), 1 << 16)
        if lines == 1:
            hdrs = [("X-Huge", "h" * size)]
        else:
            hdrs = [(f"X-Huge-{i}", "h" * max(size // lines, 1))
                    for i in range(1, lines + 1)]
        self.reply(200, "huge header\n", headers=hdrs)

    def ep_close(self, rest):
        # Read the request, then close the connection cleanly (FIN) without
        # a byte of answer: "empty reply from server".
        self.hangup()

    def ep_truncated(self, rest):
        # The static file /REST announced with its full Content-Length, but
        # only its first half sent before the connection closes.
        full = self.static_path("/" + rest)
        if full is None:
            return self.reply(404, "not found\n")
        with open(full, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", self.type_of(full))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.write(body[:len(body) // 2])
        self.hangup()

    def ep_typed(self, rest):
        # The static file /REST with Content-Type ?type= instead of the one
        # its extension gives (default application/octet-stream).
        self.static("/" + rest, ctype=self.param("type",
                                                 "application/octet-stream"))

    def ep_random(self, rest):
        # A 200 whose body is N (default 4096, at most 64 MiB) pseudo-random
        # bytes, the same for the same ?seed=, with Content-Type ?type=.
        n = int(rest) if rest.isdigit() else 4096
        n = min(n, 64 << 20)
        seed = self.param("seed", "").encode()
        out, i = bytearray(), 0
        while len(out) < n:
            out += hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
            i += 1
        self.reply(200, bytes(out[:n]),
                   self.param("type", "application/octet-stream"))

    def ep_stats(self, rest):
        st = self.server.stats
        with st.lock:
            if rest == "reset":
                st.reset()
            body = json.dumps(st.snapshot(), sort_keys=True) + "\n"
        self.reply(200, body, "application/json", [("Cache-Control", "no-store")])


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrency tests open many sockets at once


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument("--parent-pid", type=int,
                    help="exit when this process no longer exists")
    ap.add_argument("--route", action="append", default=[],
                    metavar="PATH?QUERY=FILE",
                    help="serve FILE (under --root) for PATH with exactly "
                         "these query arguments")
    ap.add_argument("--more-ports", type=int, default=0, metavar="N",
                    help="also listen on N more ports (other hosts to a "
                         "client), with the same files, log and statistics")
    ap.add_argument("--more-ports-file", metavar="FILE",
                    help="where to write those ports, one a line")
    a = ap.parse_args()
    if a.more_ports and not a.more_ports_file:
        ap.error("--more-ports needs --more-ports-file")

    # Bound and listening from here.
    servers = [Server(("127.0.0.1", 0), Handler)
               for _ in range(1 + max(a.more_ports, 0))]
    routes = []
    for r in a.route:
        request, _, target = r.rpartition("=")
        url = urlsplit(request)
        routes.append((url.path, parse_qs(url.query), "/" + target.lstrip("/")))
    stats, log_lock = Stats(), threading.Lock()
    log = open(a.log, "a", encoding="utf-8") if a.log else None
    for srv in servers:
        srv.root = os.path.realpath(a.root)
        srv.routes, srv.stats, srv.log, srv.log_lock = routes, stats, log, log_lock
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ports = [f"{srv.server_address[1]}\n" for srv in servers]
    # Readers never see a partial file; the port file comes last, since
    # it is what they wait for.
    for path, text in ((a.more_ports_file, "".join(ports[1:])),
                       (a.port_file, ports[0])):
        if path:
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
    # serve_forever runs in a thread because shutdown() must be called from
    # another thread than the one serving.
    for srv in servers:
        threading.Thread(target=srv.serve_forever, args=(0.2,),
                         daemon=True).start()
    deadline = time.monotonic() + a.max_seconds
    while not stop.wait(0.25) and time.monotonic() < deadline:
        if a.parent_pid:
            try:
                os.kill(a.parent_pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass  # exists, owned by someone else
    for srv in servers:
        srv.shutdown()
        srv.server_close()
    if log:
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
