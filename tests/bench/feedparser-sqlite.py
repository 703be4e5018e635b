# tests/bench/feedparser-sqlite.py - the peer that parse.sh and run.sh set
# beside cybil-parse: what a user would script with Python's feedparser
# (Debian python3-feedparser) instead: parse each feed file and insert its
# entries into SQLite (title, link, id, published; summary and author as
# JSON), one transaction per feed.
# Usage: /usr/bin/python3 feedparser-sqlite.py DB FEED...
#    or: /usr/bin/python3 feedparser-sqlite.py DB --dir DIR   (every *.xml
#        in DIR, in name order; for more files than a command line holds)
import glob, json, os, sqlite3, sys, feedparser

if sys.argv[2:3] == ["--dir"]:
    paths = sorted(glob.glob(os.path.join(sys.argv[3], "*.xml")))
else:
    paths = sys.argv[2:]
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE IF NOT EXISTS entry (feed TEXT, id TEXT, title TEXT,"
           " link TEXT, published TEXT, fields TEXT, PRIMARY KEY (feed, id))")
for path in paths:
    d = feedparser.parse(path)
    with db:
        for e in d.entries:
            db.execute("INSERT OR REPLACE INTO entry VALUES (?,?,?,?,?,?)",
                       (path, e.get("id"), e.get("title"), e.get("link"),
                        e.get("published"),
                        json.dumps({"summary": e.get("summary"),
                                    "author": e.get("author")})))
