#!/usr/bin/python3
"""The hostile web of tests/e2e/hostile.t: sources on the loopback test
server (tests/httpd.py), a tenth of which misbehave.

  hostile.py make N WWW CONF EXPECT PORT...
      Writes the feeds of N sources under WWW, their [source] sections
      (appended to CONF) and EXPECT: one line per source,
      NAME<TAB>CLASS<TAB>MISBEHAVIOUR<TAB>RECORDS<TAB>PATTERN.  Source i is
      on PORT[(i // 10) % len(PORTS)], so every host serves good and bad
      sources alike; every tenth source misbehaves, cycling through BAD.

  hostile.py kinds
      Prints how many misbehaviours there are.

  hostile.py check ROUND EXPECT SUMMARY
      SUMMARY is the per-source TSV of hostile.t's summary query, over the
      captures of run ROUND (1, 2 ...: from 2 on, what was fetched before
      must answer 304 Not Modified, and a document that failed to parse
      may, and a good one must, answer 304 Not Modified).  Prints
      one line per misbehaviour (and one for the good sources):
      NAME<TAB>SOURCES<TAB>PROBLEMS<TAB>FIRST PROBLEM.

Classes: good (all records, no error), odd (misbehaves in a way that
must be tolerated: all records, no error), fetch (no records, the
capture's and the source's error match PATTERN), parse (fetched, no
records, the capture's parse_error matches PATTERN).
"""
import os, re, sys

# name, class, pattern, url template ({n}: source name, {ext}: its file's
# extension); records for "odd" are those of a good feed.
BAD = [
    ("reset", "fetch", r"reset|Recv failure", "/_/reset?s={n}"),
    ("close", "fetch", r"[Ee]mpty reply", "/_/close?s={n}"),
    # curl's low-speed limit (bounded by the timeout) may fire first.
    ("stall", "fetch", r"timed out|too slow", "/_/stall?s={n}"),
    ("slow-headers", "fetch", r"timed out|too slow",
     "/_/slow?delay=60&s={n}"),
    ("trickle", "fetch", r"timed out|too slow",
     "/_/trickle?bytes=4000&delay=0.5&s={n}"),
    ("http-500", "fetch", r"^HTTP 500$", "/_/status/500?s={n}"),
    ("http-404", "fetch", r"^HTTP 404$", "/_/status/404?s={n}"),
    ("endless", "fetch", r"larger than max_bytes",
     "/_/endless?type=application/rss%2Bxml&s={n}"),
    ("redirect-loop", "fetch", r"[Rr]edirect", "/_/redirect-loop?s={n}"),
    ("redirect-ftp", "fetch", r"ftp|[Pp]rotocol",
     "/_/redirect-to?url=ftp%3A%2F%2F127.0.0.1%2Ffeed.xml&s={n}"),
    ("not-http", "fetch", r"HTTP/0\.9|[Uu]nsupported|[Ww]eird|[Ii]nvalid",
     "/_/garbage?s={n}"),
    ("huge-header", "fetch", r"[Hh]eader", "/_/huge-header?s={n}"),
    ("huge-headers", "fetch", r"[Hh]eader",
     "/_/huge-header?size=1048576&lines=4096&s={n}"),
    ("truncated", "fetch", r"closed|remaining|[Pp]artial",
     "/_/truncated/feeds/{n}{ext}"),
    ("random-bytes", "parse", r"[Dd]ocument|[Ss]tart tag|not an? |XML",
     "/_/random/4096?seed={n}&type=application/rss%2Bxml"),
    ("html-for-feed", "parse", r"not an? (RSS|Atom) document",
     "/bad/login.html?s={n}"),
    ("entity-bomb", "parse", r"entit", "/bad/entity-laughs.xml?s={n}"),
    ("malformed", "parse", r"mismatch", "/bad/malformed.xml?s={n}"),
    ("empty-body", "parse", r"empty", "/bad/empty.xml?s={n}"),
    ("invalid-utf8", "odd", None, "/feeds/{n}{ext}"),
    ("wrong-type", "odd", None, "/_/typed/feeds/{n}{ext}?type=image%2Fpng"),
    ("redirected", "odd", None, "/_/redirect/2?to=%2Ffeeds%2F{n}{ext}"),
]

ITEMS = 3        # records of a good rss or atom feed
ARTICLES = 2     # records of a good html page


def rss(n, bad_utf8):
    t = "caf\xe9" if not bad_utf8 else None
    items = []
    for k in range(1, ITEMS + 1):
        title = f"{n} item {k} " + ("\xff\x0b\xe2\x82" if bad_utf8 else t)
        items.append(
            f"<item><title>{title}</title>"
            f"<link>http://example.org/{n}/{k}</link>"
            f"<guid>urn:hostile:{n}:{k}</guid>"
            f"<description>News {k} of source {n}</description></item>")
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">'
            f"<channel><title>Source {n}</title>"
            f"<link>http://example.org/{n}/</link>\n"
            + "\n".join(items) + "\n</channel></rss>\n")
    # Latin-1 keeps the stray bytes as single bytes; good feeds are UTF-8.
    return body.encode("latin-1") if bad_utf8 else body.encode("utf-8")


def atom(n):
    entries = "\n".join(
        f"<entry><title>{n} entry {k}</title><id>urn:hostile:{n}:{k}</id>"
        f"<updated>2026-01-0{k}T00:00:00Z</updated>"
        f'<link href="http://example.org/{n}/{k}"/>'
        f"<summary>Entry {k} of source {n}</summary></entry>"
        for k in range(1, ITEMS + 1))
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Source {n}</title><id>urn:hostile:{n}</id>"
            "<updated>2026-01-01T00:00:00Z</updated>\n"
            + entries + "\n</feed>\n").encode()


def html(n):
    arts = "\n".join(
        f'<article class="rec" id="{n}-{k}"><h2>{n} page record {k}</h2>'
        f"<p>Text {k}</p></article>" for k in range(1, ARTICLES + 1))
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            f"<title>{n}</title></head><body>\n{arts}\n</body></html>\n"
            ).encode()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def make(n, www, conf, expect, ports):
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(www, "feeds"), exist_ok=True)
    os.makedirs(os.path.join(www, "bad"), exist_ok=True)
    for fixture in ("entity-laughs.xml", "malformed.xml"):
        with open(os.path.join(here, "feeds", fixture), "rb") as f:
            write(os.path.join(www, "bad", fixture), f.read())
    write(os.path.join(www, "bad", "empty.xml"), b"")
    write(os.path.join(www, "bad", "login.html"),
          b"<!DOCTYPE html><html><head><title>Sign in</title></head>"
          b"<body><form><input name=user></form></body></html>\n")
    nbad = 0
    with open(conf, "a") as c, open(expect, "w") as e:
        for i in range(n):
            name = f"s{i}"
            base = f"http://127.0.0.1:{ports[(i // 10) % len(ports)]}"
            bad = BAD[nbad % len(BAD)] if i % 10 == 9 else None
            if bad:
                nbad += 1
                # The fixtures and invalid UTF-8 are RSS.
                kind = "rss" if nbad % 2 or bad[1] == "parse" or \
                    bad[0] == "invalid-utf8" else "atom"
            else:
                kind = ("rss", "rss", "rss", "atom", "atom", "html")[i % 6]
            ext = {"rss": ".xml", "atom": ".atom", "html": ".html"}[kind]
            if kind == "rss":
                data = rss(name, bad is not None and bad[0] == "invalid-utf8")
            else:
                data = atom(name) if kind == "atom" else html(name)
            write(os.path.join(www, "feeds", name + ext), data)
            if bad:
                mis, cls, pattern, url = bad
            else:
                mis, cls, pattern, url = "-", "good", None, "/feeds/{n}{ext}"
            url = base + url.format(n=name, ext=ext)
            records = 0 if cls in ("fetch", "parse") else \
                ARTICLES if kind == "html" else ITEMS
            c.write(f'\n[source "{name}"]\nkind = {kind}\nurl = {url}\n'
                    "consent = public\ninterval = 0\n")
            if kind == "html":
                c.write("record = //article[@class='rec']\n"
                        "field.title = .//h2\n")
            e.write(f"{name}\t{cls}\t{mis}\t{records}\t{pattern or ''}\n")


def check(rnd, expect, summary):
    got = {}
    with open(summary, encoding="utf-8", errors="replace") as f:
        for line in f:
            # name, records, captures, errors, parse errors, last_error,
            # titles with U+FFFD, content types, statuses
            cols = line.rstrip("\n").split("\t")
            got[cols[0]] = cols
    groups = {}
    with open(expect) as f:
        for line in f:
            name, cls, mis, records, pattern = line.rstrip("\n").split("\t")
            key = "good" if cls == "good" else mis
            g = groups.setdefault(key, [0, []])
            g[0] += 1
            row = got.get(name)
            if row is None:
                g[1].append(f"{name}: not in the store")
                continue
            (_, nrec, ncap, errors, perrors, last_error, fffd, types,
             statuses) = row
            # A document unchanged since the last run is not sent again.
            unchanged = rnd > 1 and statuses == "304"
            why = []
            if int(ncap) == 0:
                why.append("no capture")
            if nrec != records:
                why.append(f"{nrec} records, expected {records}")
            if cls in ("good", "odd"):
                if errors or perrors or last_error:
                    why.append(f"error {errors or perrors or last_error!r}")
                if mis == "invalid-utf8" and int(fffd) != ITEMS:
                    why.append(f"{fffd} titles with U+FFFD, expected {ITEMS}")
                if rnd > 1 and not unchanged:
                    why.append(f"statuses {statuses!r}, expected 304")
                if mis == "wrong-type" and not unchanged and \
                        types != "image/png":
                    why.append(f"content type {types!r}")
            elif cls == "fetch":
                if not errors or not all(re.search(pattern, x)
                                         for x in errors.split(" | ")):
                    why.append(f"capture errors {errors!r} !~ /{pattern}/")
                if not re.search(pattern, last_error):
                    why.append(f"source.last_error {last_error!r} "
                               f"!~ /{pattern}/")
            elif cls == "parse":
                if errors:
                    why.append(f"fetch error {errors!r}")
                if not unchanged and (not perrors or
                                      not re.search(pattern, perrors)):
                    why.append(f"parse error {perrors!r} !~ /{pattern}/")
            if why:
                g[1].append(f"{name}: " + "; ".join(why))
    for key in ["good"] + [b[0] for b in BAD]:
        if key in groups:
            n, problems = groups[key]
            print(f"{key}\t{n}\t{len(problems)}\t"
                  f"{problems[0] if problems else ''}")


def main(argv):
    if len(argv) >= 6 and argv[1] == "make":
        make(int(argv[2]), argv[3], argv[4], argv[5], argv[6:])
    elif len(argv) == 2 and argv[1] == "kinds":
        print(len(BAD))
    elif len(argv) == 5 and argv[1] == "check":
        check(int(argv[2]), argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
