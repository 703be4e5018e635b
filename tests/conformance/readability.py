#!/usr/bin/python3
"""Conformance of cybil-parse's html parser against Mozilla Readability's
test pages: the page record's title and language against each page's
expected-metadata.json.

usage: tests/conformance/readability.py [DIR]

DIR (default ../shared/corpus/html/readability) is searched for folders
holding source.html and expected-metadata.json. Each page is parsed with
`cybil-parse --dump --kind html source.html` ($CYBIL_PARSE, else
bin/cybil-parse) and its page record compared:

- title: the record's title against "title", white space folded on both
  sides (Python's str.split: Unicode spaces included). An expected empty
  title means the page has none: cybil must give none.
- language: against "lang", case-insensitively (BCP 47 tags are), with
  "_" read as "-". When the expected tag has subtags ("en-US") and
  cybil's differs, the comparison still passes if the primary language
  subtags agree ("en-us" against "en") -- Readability takes html@lang
  only, cybil also reads Content-Language and og:locale.
- A key missing from the JSON (or null) skips that comparison.

A page whose parse fails or crashes fails both comparisons. Prints one
line per page and last `N passed, N failed, N skipped`; exits 1 when
fewer than 90 % of the comparisons made pass, 0 otherwise (also when DIR
is absent: everything is then skipped), 2 when cybil-parse is not built.
"""
import json
import os
import subprocess
import sys

TARGET = 0.90
TIMEOUT = 30


def fold(s):
    return " ".join(s.split()) if s is not None else ""


def lang_key(s):
    return s.strip().replace("_", "-").lower()


def lang_match(got, want):
    """"ok", "ok (primary subtag)" or None."""
    if got is None:
        return None
    g, w = lang_key(got), lang_key(want)
    if g == w:
        return "ok"
    if "-" in w and g.split("-")[0] == w.split("-")[0]:
        return "ok (primary subtag)"
    return None


def find_pages(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if "source.html" in filenames and \
                "expected-metadata.json" in filenames:
            yield dirpath


def parse(binary, path):
    """The page record of PATH, or an error string."""
    try:
        p = subprocess.run([binary, "--dump", "--kind", "html", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "timed out"
    if p.returncode < 0:
        return None, "killed by signal %d" % -p.returncode
    lines = [l for l in p.stdout.decode("utf-8", "replace").splitlines()
             if l.strip()]
    try:
        objs = [json.loads(l) for l in lines]
    except ValueError as e:
        return None, "bad JSON output: %s" % e
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip()
        return None, "exit %d: %s" % (p.returncode, err)
    records = [o for o in objs if "fields" in o]
    if len(records) != 1:
        return None, "%d records, expected one page record" % len(records)
    return records[0], None


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(os.path.dirname(here))
    root = argv[1] if len(argv) > 1 else os.path.join(
        top, "..", "shared", "corpus", "html", "readability")
    binary = os.environ.get("CYBIL_PARSE",
                            os.path.join(top, "bin", "cybil-parse"))
    passed = failed = skipped = 0
    if not os.path.isdir(root):
        print("readability: %s is absent: skipped" % root)
        print("0 passed, 0 failed, 0 skipped")
        return 0
    if not os.access(binary, os.X_OK):
        print("readability: %s is not built" % binary, file=sys.stderr)
        return 2
    for page in find_pages(root):
        name = os.path.relpath(page, root)
        with open(os.path.join(page, "expected-metadata.json"),
                  encoding="utf-8") as f:
            expected = json.load(f)
        rec, err = parse(binary, os.path.join(page, "source.html"))
        results = []
        want = expected.get("title")
        if want is None:
            skipped += 1
            results.append("title skipped")
        else:
            got = rec.get("title") if rec else None
            if rec and fold(got) == fold(want):
                passed += 1
                results.append("title ok")
            else:
                failed += 1
                results.append("title FAIL (got %r, want %r)" % (
                    fold(got) if rec else err, fold(want)))
        want = expected.get("lang")
        if want is None:
            skipped += 1
            results.append("lang skipped")
        else:
            got = rec["fields"].get("language") if rec else None
            match = lang_match(got, want) if rec else None
            if match:
                passed += 1
                results.append("lang " + match)
            else:
                failed += 1
                results.append("lang FAIL (got %r, want %r)" % (
                    got if rec else err, want))
        print("%s: %s" % (name, "; ".join(results)))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    made = passed + failed
    return 1 if made and passed < TARGET * made else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
