#!/usr/bin/python3
"""Runs the Python feedparser project's feed tests against cybil-parse.

usage: feedparser.py [-v] [--bin CYBIL_PARSE] [DIR]

DIR (default ../shared/corpus/feedparser) holds tests/wellformed/... and
tests/illformed/... and, optionally, expectations.tsv (path, description,
expect). Without it, each file's own header comment gives the expectation
(Description:/Expect:, optionally SkipUnless:).

Each file is dumped with `cybil-parse --dump --kind KIND FILE`, KIND sniffed
from the root element (rss, rdf:RDF -> rss; feed, entry -> atom). The JSON
lines are mapped to feedparser's result (a dict that also allows attribute
access and knows feedparser's aliases: description -> summary/subtitle,
guid -> id, copyright -> rights, url -> href ...), then the expectation is
evaluated as feedparser's own harness does.

Outcome of a case:
- ill-formed (a folder named *illformed*): passed when cybil-parse rejects
  the document or parses it without crashing (exit status < 128, killed by
  no signal, no sanitizer report); the expectation is not evaluated.
- well-formed: failed when cybil-parse crashes or rejects the document
  (upstream requires `not bozo` of every well-formed case); skipped when
  the expectation needs something cybil does not model: a key of
  feedparser's result that this mapping does not produce for that kind of
  object (say `encoding`, `namespaces`, `guidislink`, `textinput`, `cloud`,
  a detail's `language`, an RSS category's domain), or a SkipUnless
  condition that does not hold; passed when the expectation holds. A key
  that the mapping does produce but that this document lacks is a
  failure, as is any other exception or a false result.

Prints the failures, the counts per folder under tests/ (and per top-level
folder), the pass rate of the non-skipped well-formed cases and, last,
`N passed, N failed, N skipped`. Exits 1 when that pass rate is below 90 %,
2 on a usage error, else 0 (also when DIR does not exist: then nothing is
run).
"""

import calendar
import codecs
import datetime
import json
import os
import re
import subprocess
import sys
import time

TARGET = 0.90
TIMEOUT = 30


class Unmodelled(Exception):
    """The expectation needs a key cybil does not model."""


# What the mapping produces, per kind of object (after the aliases below).
FEED_KEYS = {
    'title', 'title_detail', 'link', 'links', 'subtitle', 'subtitle_detail',
    'language', 'updated', 'updated_parsed', 'published', 'published_parsed',
    'generator', 'generator_detail', 'image', 'rights', 'rights_detail',
    'author', 'author_detail', 'authors', 'contributors', 'publisher',
    'tags', 'ttl', 'id', 'icon', 'logo', 'license', 'category', 'created',
    'created_parsed',
}
ENTRY_KEYS = {
    'title', 'title_detail', 'link', 'links', 'id', 'summary',
    'summary_detail', 'content', 'published', 'published_parsed', 'updated',
    'updated_parsed', 'created', 'created_parsed', 'author', 'author_detail',
    'authors', 'contributors', 'tags', 'enclosures', 'comments', 'source',
    'rights', 'rights_detail', 'license', 'publisher', 'category',
}
DETAIL_KEYS = {'value', 'type'}
CONTENT_KEYS = {'value', 'type', 'src'}
PERSON_KEYS = {'name', 'email', 'href'}
LINK_KEYS = {'rel', 'href', 'type', 'title', 'hreflang', 'length'}
ENCLOSURE_KEYS = {'href', 'type', 'length'}
ATOM_TAG_KEYS = {'term', 'scheme', 'label'}
RSS_TAG_KEYS = {'term'}
IMAGE_KEYS = {'href', 'title', 'link', 'width', 'height', 'description'}
GENERATOR_KEYS = {'name', 'href', 'version'}
RSS_SOURCE_KEYS = {'title', 'href'}
RESULT_NAMES = {'bozo', 'feed', 'entries', 'version'}

# feedparser's aliases (FeedParserDict.keymap).
ALIASES = {
    'channel': ['feed'],
    'items': ['entries'],
    'guid': ['id'],
    'date': ['updated'],
    'date_parsed': ['updated_parsed'],
    'description': ['summary', 'subtitle'],
    'description_detail': ['summary_detail', 'subtitle_detail'],
    'url': ['href'],
    'modified': ['updated'],
    'modified_parsed': ['updated_parsed'],
    'issued': ['published'],
    'issued_parsed': ['published_parsed'],
    'copyright': ['rights'],
    'copyright_detail': ['rights_detail'],
    'tagline': ['subtitle'],
    'tagline_detail': ['subtitle_detail'],
}


class FPDict(dict):
    """A dict like feedparser's FeedParserDict (aliases, attribute access,
    `category`, the updated -> published fallback) that tells a key cybil
    does not model (Unmodelled) from one it models but lacks (KeyError)."""

    def __init__(self, modelled, *args, **kw):
        super().__init__(*args, **kw)
        self._modelled = modelled

    def _find(self, key):
        if key == 'category' and dict.__contains__(self, 'tags'):
            tags = dict.__getitem__(self, 'tags')
            if tags:
                return True, tags[0]['term']
            return False, None
        if key in ('updated', 'updated_parsed') and \
                not dict.__contains__(self, key):
            other = key.replace('updated', 'published')
            if dict.__contains__(self, other):
                return True, dict.__getitem__(self, other)
        for k in ALIASES.get(key, []) + [key]:
            if dict.__contains__(self, k):
                return True, dict.__getitem__(self, k)
        return False, None

    def _known(self, key):
        return any(k in self._modelled for k in ALIASES.get(key, []) + [key])

    def __getitem__(self, key):
        found, value = self._find(key)
        if found:
            return value
        if not self._known(key):
            raise Unmodelled(key)
        raise KeyError(key)

    def __contains__(self, key):
        found, _ = self._find(key)
        if not found and not self._known(key):
            raise Unmodelled(key)
        return found

    has_key = __contains__

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __getattr__(self, key):
        if key.startswith('__') or key == '_modelled':
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key)

    __hash__ = object.__hash__


class Result(dict):
    """The locals of an expectation: an unknown name is one of feedparser's
    result keys that cybil does not model."""


# ------------------------------------------------------------- mapping

CONTENT_TYPES = {
    'text': 'text/plain', 'html': 'text/html',
    'xhtml': 'application/xhtml+xml',
}


def parsed_date(value):
    """RFC 3339 UTC at its precision -> time.struct_time in UTC."""
    m = re.fullmatch(r'(\d{4})(?:-(\d\d)(?:-(\d\d)'
                     r'(?:T(\d\d):(\d\d):(\d\d)Z)?)?)?', value or '')
    if not m:
        return None
    parts = [int(p) if p else d for p, d in zip(m.groups(), (0, 1, 1, 0, 0, 0))]
    return time.gmtime(calendar.timegm(tuple(parts) + (0, 0, 0)))


def put_date(out, fields, key):
    if key in fields:
        out[key] = fields[key]
        out[key + '_parsed'] = parsed_date(fields[key])
    elif key + '_raw' in fields:
        out[key] = fields[key + '_raw']
        out[key + '_parsed'] = None


def put_text(out, fields, key, plain=None):
    """A text construct: feedparser's value is the HTML when there is."""
    html = fields.get(key + '_html')
    if plain is None:
        plain = fields.get(key)
    if html is None and plain is None:
        return
    value = html if html is not None else plain
    out[key] = value
    out[key + '_detail'] = FPDict(DETAIL_KEYS, value=value,
                                  type='text/html' if html is not None
                                  else 'text/plain')


def person(p):
    d = FPDict(PERSON_KEYS)
    for ours, theirs in (('name', 'name'), ('email', 'email'),
                         ('uri', 'href')):
        if ours in p:
            d[theirs] = p[ours]
    return d


def put_people(out, fields):
    authors = fields.get('authors') or []
    if authors:
        out['authors'] = [person(a) for a in authors]
        first = authors[0]
        name, email = first.get('name'), first.get('email')
        out['author'] = '%s (%s)' % (name, email) if name and email \
            else name or email
        out['author_detail'] = person(first)
    elif 'author' in fields:
        out['author'] = fields['author']
    if fields.get('contributors'):
        out['contributors'] = [person(c) for c in fields['contributors']]


def link(l):
    d = FPDict(LINK_KEYS)
    for k in ('rel', 'type', 'href', 'title', 'hreflang', 'length'):
        if k in l:
            d[k] = l[k]
    return d


def put_links(out, fields, url, rss):
    links = []
    if rss and url:
        links.append(FPDict(LINK_KEYS, rel='alternate', type='text/html',
                            href=url))
    links += [link(l) for l in fields.get('links') or []]
    enclosures = []
    for e in fields.get('enclosures') or []:
        enc = FPDict(ENCLOSURE_KEYS, href=e['url'])
        for k in ('type', 'length'):
            if k in e:
                enc[k] = e[k]
        enclosures.append(enc)
        if rss:
            lk = FPDict(LINK_KEYS, rel='enclosure', href=e['url'])
            lk.update({k: e[k] for k in ('type', 'length') if k in e})
            links.append(lk)
    if links:
        out['links'] = links
    if url:
        out['link'] = url
    if enclosures:
        out['enclosures'] = enclosures


def put_tags(out, fields):
    cats = fields.get('categories') or []
    if not cats:
        return
    tags = []
    for c in cats:
        if isinstance(c, str):
            tags.append(FPDict(RSS_TAG_KEYS, term=c))
        else:
            tags.append(FPDict(ATOM_TAG_KEYS, **c))
    out['tags'] = tags


def put_plain(out, fields, keys):
    for k in keys:
        if k in fields:
            out[k] = fields[k]


def feed_of(doc, rss):
    """The feed (or an Atom entry's source) from the document's fields."""
    out = FPDict(FEED_KEYS)
    put_text(out, doc, 'title')
    put_text(out, doc, 'subtitle')
    put_text(out, doc, 'rights')
    put_links(out, doc, doc.get('link'), rss)
    for k in ('updated', 'published', 'created'):
        put_date(out, doc, k)
    put_people(out, doc)
    put_tags(out, doc)
    put_plain(out, doc, ('language', 'ttl', 'id', 'icon', 'logo', 'license',
                         'publisher'))
    if 'generator' in doc or 'generator_uri' in doc:
        if 'generator' in doc:
            out['generator'] = doc['generator']
        g = FPDict(GENERATOR_KEYS)
        for ours, theirs in (('generator', 'name'), ('generator_uri', 'href'),
                             ('generator_version', 'version')):
            if ours in doc:
                g[theirs] = doc[ours]
        out['generator_detail'] = g
    if 'image' in doc:
        im = FPDict(IMAGE_KEYS)
        for k, v in doc['image'].items():
            im['href' if k == 'url' else k] = v
        out['image'] = im
    return out


def entry_of(rec, rss):
    f = rec.get('fields') or {}
    out = FPDict(ENTRY_KEYS)
    put_text(out, f, 'title', rec.get('title'))
    put_text(out, f, 'summary')
    put_text(out, f, 'rights')
    if rec.get('external_id') is not None:
        out['id'] = rec['external_id']
    put_links(out, f, rec.get('url'), rss)
    if 'content_html' in f or 'content' in f or 'content_src' in f:
        c = FPDict(CONTENT_KEYS, value=f.get('content_html',
                                             f.get('content', '')))
        ctype = f.get('content_type')
        if ctype:
            c['type'] = CONTENT_TYPES.get(ctype, ctype)
        if 'content_src' in f:
            c['src'] = f['content_src']
        out['content'] = [c]
    for k in ('published', 'updated', 'created'):
        put_date(out, f, k)
    put_people(out, f)
    put_tags(out, f)
    put_plain(out, f, ('comments', 'license', 'publisher'))
    if 'source' in f:
        src = f['source']
        if rss:
            s = FPDict(RSS_SOURCE_KEYS)
            if 'title' in src:
                s['title'] = src['title']
            if 'url' in src:
                s['href'] = src['url']
            out['source'] = s
        else:
            out['source'] = feed_of(src, False)
    return out


def version_of(doc):
    fmt, v = doc.get('format'), doc.get('version')
    if fmt == 'atom':
        return {'1.0': 'atom10', '0.3': 'atom03'}.get(v, 'atom')
    if fmt != 'rss':
        return ''
    if v is None:
        return 'rss'
    if v.startswith('2.'):
        return 'rss20'
    return {'1.0': 'rss10', '0.90': 'rss090', '0.91': 'rss091u',
            '0.92': 'rss092', '0.93': 'rss093', '0.94': 'rss094'}.get(v, 'rss')


def result_of(lines, kind):
    """feedparser's result from cybil-parse --dump's JSON lines."""
    rss = kind == 'rss'
    records, summary = lines[:-1], lines[-1] if lines else {}
    doc = summary.get('document') or {}
    res = Result()
    res['bozo'] = 1 if summary.get('error') or not lines else 0
    res['feed'] = feed_of(doc, rss)
    res['entries'] = [entry_of(r, rss) for r in records]
    res['version'] = version_of(doc)
    return res


# ------------------------------------------------------------- running

def read_text(path):
    """A file's text as feedparser's harness reads it."""
    with open(path, 'rb') as f:
        data = f.read()
    for bom, enc in ((codecs.BOM_UTF32_BE, 'utf-32be'),
                     (codecs.BOM_UTF32_LE, 'utf-32le'),
                     (codecs.BOM_UTF16_BE, 'utf-16be'),
                     (codecs.BOM_UTF16_LE, 'utf-16le'),
                     (codecs.BOM_UTF8, 'utf-8')):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, 'ignore')
    return data.decode('utf-8', 'ignore')


def sniff_kind(path):
    """rss or atom, from the root element's local name."""
    text = read_text(path)[:65536]
    text = re.sub(r'<!--.*?-->|<\?.*?\?>', '', text, flags=re.S)
    text = re.sub(r'<!DOCTYPE(?:[^\[>]|\[.*?\])*>', '', text, flags=re.S)
    m = re.search(r'<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)', text)
    if m and m.group(2) in ('feed', 'entry'):
        return 'atom'
    return 'rss'


def load_cases(root):
    """(path, expect, skip_unless) for every case."""
    tsv = os.path.join(root, 'expectations.tsv')
    cases = []
    if os.path.exists(tsv):
        with open(tsv, encoding='utf-8') as f:
            next(f, None)
            for line in f:
                line = line.rstrip('\n')
                if not line:
                    continue
                path, _desc, expect = line.split('\t', 2)
                cases.append([path, expect, None])
    else:
        for dirpath, _dirs, files in os.walk(os.path.join(root, 'tests')):
            for name in sorted(files):
                if name.endswith('.xml'):
                    full = os.path.join(dirpath, name)
                    cases.append([os.path.relpath(full, root), None, None])
    for case in cases:
        full = os.path.join(root, case[0])
        try:
            text = read_text(full)
        except OSError:
            continue
        m = re.search(r'Description:\s*(.*?)\s*Expect:\s*(.*)\s*-->', text)
        if case[1] is None and m:
            case[1] = m.group(2).strip()
        s = re.search(r'SkipUnless:\s*(.*?)\n', text)
        if s:
            case[2] = s.group(1)
    return sorted(c for c in cases if c[1] is not None)


def category(path):
    parts = path.split('/')
    if parts[0] == 'tests':
        parts = parts[1:]
    return parts[0], '/'.join(parts[:2]) if len(parts) > 2 else parts[0]


SANITIZER = re.compile(r'AddressSanitizer|LeakSanitizer|UndefinedBehavior'
                       r'Sanitizer|runtime error:')


def run(binary, path, kind):
    """(crashed, reason, json lines)."""
    env = dict(os.environ)
    try:
        p = subprocess.run([binary, '--dump', '--kind', kind, path],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return True, 'timed out after %d s' % TIMEOUT, []
    err = p.stderr.decode('utf-8', 'replace')
    if p.returncode < 0 or p.returncode >= 128:
        return True, 'exit status %d' % p.returncode, []
    if SANITIZER.search(err):
        return True, 'sanitizer: ' + err.strip().splitlines()[0], []
    lines = []
    for raw in p.stdout.decode('utf-8', 'replace').splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            return True, 'output is not JSON lines', []
    if not lines or 'document' not in lines[-1]:
        lines.append({'document': None, 'error': err.strip() or 'no output'})
    return False, '', lines


def evaluate(expect, res):
    """'passed', 'failed' or 'skipped', and why."""
    try:
        ok = eval(expect, {'datetime': datetime}, res)
    except Unmodelled as e:
        return 'skipped', 'not modelled: %s' % e.args[0]
    except NameError as e:
        name = getattr(e, 'name', None) or str(e)
        if name in RESULT_NAMES:
            return 'failed', 'NameError %s' % name
        return 'skipped', 'not modelled: %s' % name
    except Exception as e:  # noqa: BLE001 - any failure of the expression
        return 'failed', '%s: %s' % (type(e).__name__, e)
    return ('passed', '') if ok else ('failed', 'expectation is false')


def main(argv):
    verbose = False
    binary = os.environ.get('CYBIL_PARSE')
    args = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == '-v':
            verbose = True
        elif a == '--bin' and i + 1 < len(argv):
            i += 1
            binary = argv[i]
        elif a in ('-h', '--help'):
            print(__doc__.strip())
            return 0
        elif a.startswith('-'):
            print('feedparser.py: unknown option %s' % a, file=sys.stderr)
            return 2
        else:
            args.append(a)
        i += 1
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(os.path.dirname(here))
    root = args[0] if args else os.path.join(top, '..', 'shared', 'corpus',
                                             'feedparser')
    if not binary:
        binary = os.path.join(top, 'bin', 'cybil-parse')
    if not os.path.isdir(root):
        print('feedparser.py: %s does not exist: nothing to run' % root)
        print('0 passed, 0 failed, 0 skipped')
        return 0
    if not os.access(binary, os.X_OK):
        print('feedparser.py: %s is not built' % binary, file=sys.stderr)
        return 2

    counts = {}
    reasons = {}
    total = {'passed': 0, 'failed': 0, 'skipped': 0}
    wf = {'passed': 0, 'failed': 0}
    for path, expect, skip_unless in load_cases(root):
        full = os.path.join(root, path)
        top_cat, sub_cat = category(path)
        illformed = any('illformed' in d for d in path.split('/')[:-1])
        if not os.path.exists(full):
            outcome, why = 'failed', 'file missing'
        else:
            kind = sniff_kind(full)
            if illformed:
                crashed, why, _ = run(binary, full, kind)
                outcome = 'failed' if crashed else 'passed'
            else:
                skip = False
                if skip_unless:
                    try:
                        skip = not eval(skip_unless, {}, {})
                    except Exception:  # noqa: BLE001
                        skip = True
                if skip:
                    outcome, why = 'skipped', 'SkipUnless: ' + skip_unless
                else:
                    crashed, why, lines = run(binary, full, kind)
                    if crashed:
                        outcome = 'failed'
                    elif lines[-1].get('error'):
                        # As upstream: a well-formed feed must not be bozo.
                        outcome = 'failed'
                        why = 'rejected: %s' % lines[-1]['error']
                    else:
                        outcome, why = evaluate(expect, result_of(lines,
                                                                  kind))
                wf[outcome] = wf.get(outcome, 0) + 1
        total[outcome] += 1
        for cat in sorted({top_cat, sub_cat}):
            c = counts.setdefault(cat, {'passed': 0, 'failed': 0,
                                        'skipped': 0})
            c[outcome] += 1
        if outcome == 'failed':
            print('FAIL %s: %s\n     expect: %s' % (path, why, expect))
        elif outcome == 'skipped':
            reasons[why] = reasons.get(why, 0) + 1
            if verbose:
                print('SKIP %s: %s' % (path, why))

    if reasons:
        print('skipped because:')
        for why, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0])):
            print('  %4d %s' % (n, why))
    print('per category:')
    for cat in sorted(counts):
        c = counts[cat]
        print('  %-20s %4d passed, %4d failed, %4d skipped' % (
            cat, c['passed'], c['failed'], c['skipped']))
    run_wf = wf['passed'] + wf['failed']
    rate = wf['passed'] / run_wf if run_wf else 1.0
    print('well-formed pass rate: %.1f %% (%d of %d not skipped; target %d %%)'
          % (100 * rate, wf['passed'], run_wf, 100 * TARGET))
    print('%d passed, %d failed, %d skipped' % (
        total['passed'], total['failed'], total['skipped']))
    return 0 if rate >= TARGET else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
