#!/usr/bin/python3
"""Property test of the consent rules (SPEC section 5, parse/harvest.c)
against a small model, through the real programs.

A fixed-seed random sequence of steps: harvests (the served RSS feeds
rewritten with new, changed, vanished and returning items, then
cybil-fetch --force and cybil-parse), configuration changes (a source's
default consent or repend_on_change flipped) and decisions by
cybil-review (grant, public, refuse, withdraw, reset on random records,
several at once, a whole source with --all, and invalid requests that
must change nothing). After every step the store must agree with the
model: each record's consent and state, the number of consent events,
the publishable view, and an intact audit chain (verify-log exits 0).

The model:
- a new record takes its source's default consent at the time it is first
  seen; a public default writes a public-source event;
- a changed granted record goes back to pending (an event) when its source
  has repend_on_change; withdrawn and refused stay whatever happens;
- active records missing from a complete feed become gone, unless more
  than gone_max_share of the source's active records would vanish at once
  (missing * 100 > active * share, active counted after the feed's items
  were applied); a gone record seen again is active again;
- grant and public always write an event (new evidence); refuse,
  withdraw and reset write one only when the consent changes;
- publishable = consent public or granted, and state active.

Environment: REVIEW_MODEL_SEED (default 7), REVIEW_MODEL_STEPS
(default 80), KEEP_TMP=1 keeps the temporary folder. Prints TAP.
"""
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP, "bin")
PY = "/usr/bin/python3"
SEED = int(os.environ.get("REVIEW_MODEL_SEED", "7"))
STEPS = int(os.environ.get("REVIEW_MODEL_STEPS", "80"))
ACTIONS = {"grant": "granted", "public": "public", "refuse": "refused",
           "withdraw": "withdrawn", "reset": "pending"}
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


class Tap:
    def __init__(self):
        self.n = self.failed = 0

    def ok(self, cond, desc, *diag):
        self.n += 1
        print(("ok %d - %s" if cond else "not ok %d - %s") % (self.n, desc))
        if not cond:
            self.failed += 1
            for line in diag:
                for part in str(line).splitlines():
                    print("#   " + part, file=sys.stderr)
        sys.stdout.flush()
        return cond

    def diag(self, msg):
        for part in str(msg).splitlines():
            print("# " + part, file=sys.stderr)

    def done(self):
        print("1..%d" % self.n)
        if self.failed:
            self.diag("Looks like you failed %d test(s) of %d (seed %d)."
                      % (self.failed, self.n, SEED))
        return min(self.failed, 254)


class Source:
    def __init__(self, name, public, repend, share):
        self.name = name
        self.public = public        # default consent of new records
        self.repend = repend        # repend_on_change
        self.share = share          # gone_max_share, percent
        self.feed = {}              # served: external id -> version
        self.order = []             # served items in feed order
        self.next_item = 1


class Model:
    """What the store should hold."""

    def __init__(self):
        self.records = {}           # (source, ext) -> [consent, state]
        self.events = 0
        # what the sequence exercised, for the closing note
        self.stats = dict.fromkeys(("new-public", "new-pending", "changed",
                                    "repended", "gone", "held-back",
                                    "back"), 0)

    def harvest(self, src):
        """Applies one complete parse of SRC's served feed."""
        seen = set()
        for ext in src.order:
            key = (src.name, ext)
            seen.add(key)
            rec = self.records.get(key)
            if rec is None:
                self.records[key] = rec = {
                    "consent": "public" if src.public else "pending",
                    "state": "active", "version": src.feed[ext]}
                if src.public:
                    self.events += 1
                self.stats["new-public" if src.public else
                           "new-pending"] += 1
                continue
            if rec["version"] != src.feed[ext]:
                rec["version"] = src.feed[ext]
                self.stats["changed"] += 1
                if rec["consent"] == "granted" and src.repend:
                    rec["consent"] = "pending"
                    self.events += 1
                    self.stats["repended"] += 1
            if rec["state"] == "gone":
                self.stats["back"] += 1
            rec["state"] = "active"
        missing = [k for k, r in self.records.items()
                   if k[0] == src.name and r["state"] == "active"
                   and k not in seen]
        active = len(missing) + len(seen)
        if missing and not len(missing) * 100 > active * src.share:
            for k in missing:
                self.records[k]["state"] = "gone"
            self.stats["gone"] += len(missing)
        elif missing:
            self.stats["held-back"] += 1

    def decide(self, action, keys):
        new = ACTIONS[action]
        for k in keys:
            rec = self.records[k]
            if rec["consent"] != new or action in ("grant", "public"):
                rec["consent"] = new
                self.events += 1

    def publishable(self):
        return {k for k, r in self.records.items()
                if r["consent"] in ("public", "granted")
                and r["state"] == "active"}


class World:
    def __init__(self, tmp, tap):
        self.tmp = tmp
        self.tap = tap
        self.www = os.path.join(tmp, "www")
        self.conf = os.path.join(tmp, "cybil.conf")
        self.db = os.path.join(tmp, "var", "cybil.db")
        os.makedirs(self.www)
        self.httpd = None
        self.url = None
        self.env = dict(os.environ)
        for k in ("CYBIL_CONFIG", "CYBIL_LOCK_FD"):
            self.env.pop(k, None)

    def start_httpd(self):
        pf = os.path.join(self.tmp, "httpd.port")
        err = open(os.path.join(self.tmp, "httpd.err"), "w")
        self.httpd = subprocess.Popen(
            [PY, os.path.join(TOP, "tests", "httpd.py"), "--root", self.www,
             "--port-file", pf, "--log", os.path.join(self.tmp, "httpd.log"),
             "--max-seconds", "900", "--parent-pid", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        for _ in range(100):
            if os.path.exists(pf) and os.path.getsize(pf) > 0:
                with open(pf) as f:
                    self.url = "http://127.0.0.1:%s" % f.read().strip()
                return
            if self.httpd.poll() is not None:
                break
            time.sleep(0.1)
        print("Bail out! test httpd did not start")
        sys.exit(255)

    def stop_httpd(self):
        if self.httpd and self.httpd.poll() is None:
            self.httpd.terminate()
            try:
                self.httpd.wait(5)
            except subprocess.TimeoutExpired:
                self.httpd.kill()
                self.httpd.wait()

    def write_config(self, sources):
        lines = ["[store]", "path = var/cybil.db", "blobs = var/blobs",
                 "[fetch]", "allow_private = yes", "timeout = 5s"]
        for s in sources:
            lines += ['[source "%s"]' % s.name, "kind = rss",
                      "url = %s/%s.xml" % (self.url, s.name),
                      "consent = %s" % ("public" if s.public else "pending"),
                      "repend_on_change = %s" % ("yes" if s.repend else "no")]
            if s.share != 20:       # 20% is the default: leave it out
                lines.append("gone_max_share = %d%%" % s.share)
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.conf)

    def write_feed(self, src):
        out = ['<?xml version="1.0" encoding="utf-8"?>',
               '<rss version="2.0"><channel><title>%s</title>' % src.name,
               "<link>https://%s.example/</link>" % src.name]
        for ext in src.order:
            out.append('<item><guid isPermaLink="false">%s</guid>'
                       "<title>%s version %d</title>"
                       "<link>https://%s.example/%s.html</link>"
                       "<pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate>"
                       "</item>" % (ext, ext, src.feed[ext], src.name, ext))
        out.append("</channel></rss>")
        path = os.path.join(self.www, src.name + ".xml")
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(out) + "\n")
        os.replace(path + ".tmp", path)

    def run(self, *args, stdin=subprocess.DEVNULL):
        p = subprocess.run(list(args), cwd=self.tmp, env=self.env,
                           stdin=stdin, capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout + p.stderr

    def review(self, *args):
        return self.run(os.path.join(BIN, "cybil-review"), "-c", self.conf,
                        *args)

    def query(self, sql):
        db = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()


def mutate_feed(rng, src, retired):
    """Rewrites SRC's served items: new ones, changed ones, vanished ones,
    and returning ones (from RETIRED, items served before). Returns a
    description."""
    what = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        ext = "%s%d" % (src.name, src.next_item)
        src.next_item += 1
        src.feed[ext] = 1
        src.order.insert(rng.randrange(len(src.order) + 1), ext)
        what.append("+" + ext)
    for ext in rng.sample(src.order, min(len(src.order),
                                        rng.choice((0, 1, 2, 3)))):
        src.feed[ext] += 1
        what.append("~" + ext)
    vanish = rng.choice((0, 0, 1, 1, 2, 3))
    if rng.random() < 0.15:
        vanish = len(src.order) // 3    # often above gone_max_share
    if rng.random() < 0.04:
        vanish = len(src.order)         # now and then an empty feed
    for ext in rng.sample(src.order, min(len(src.order), vanish)):
        src.order.remove(ext)
        retired.setdefault(src.name, {})[ext] = src.feed.pop(ext)
        what.append("-" + ext)
    back = retired.get(src.name, {})
    for ext in rng.sample(sorted(back), min(len(back),
                                          rng.choice((0, 0, 1, 2)))):
        version = back.pop(ext)
        if rng.random() < 0.5:
            version += 1            # it comes back changed
        src.feed[ext] = version
        src.order.insert(rng.randrange(len(src.order) + 1), ext)
        what.append("^" + ext)
    return "%s[%s]" % (src.name, " ".join(what))


def check(world, model, tap, step, label):
    """Compares the store with the model after a step."""
    rows = world.query("SELECT r.source, r.external_id, r.consent, r.state,"
                       " r.id FROM record r")
    actual = {(s, e): (c, st) for s, e, c, st, _ in rows}
    ids = {(s, e): i for s, e, _, _, i in rows}
    expect = {k: (r["consent"], r["state"]) for k, r in
              model.records.items()}
    diffs = ["%s/%s: store %s, model %s" % (k[0], k[1], actual.get(k),
                                            expect.get(k))
             for k in sorted(set(actual) | set(expect))
             if actual.get(k) != expect.get(k)]
    tap.ok(not diffs, "step %d (%s): every record's consent and state"
           % (step, label), *diffs[:20])
    events = world.query("SELECT count(*) FROM consent_event")[0][0]
    tap.ok(events == model.events, "step %d: consent events" % step,
           "store %d, model %d" % (events, model.events))
    pub = {r[0] for r in world.query("SELECT id FROM publishable")}
    want = {ids[k] for k in model.publishable() if k in ids}
    tap.ok(pub == want and len(want) == len(model.publishable()),
           "step %d: SELECT id FROM publishable is the model's set" % step,
           "only in the store: %s" % sorted(pub - want),
           "only in the model: %s" % sorted(want - pub))
    rc, out = world.review("verify-log")
    tap.ok(rc == 0 and "intact" in out, "step %d: verify-log" % step,
           "exit %d: %s" % (rc, out))
    return ids


def main():
    tap = Tap()
    rng = random.Random(SEED)
    tap.diag("seed %d, %d steps" % (SEED, STEPS)) if os.environ.get(
        "TEST_VERBOSE") else None
    tmp = tempfile.mkdtemp(prefix="cybil-model.")
    world = World(tmp, tap)
    sources = [Source("a", False, True, 20), Source("b", True, False, 100),
               Source("c", False, True, 50)]
    model = Model()
    retired = {}
    history = []
    try:
        world.start_httpd()
        for s in sources:
            for _ in range(rng.randint(4, 7)):
                ext = "%s%d" % (s.name, s.next_item)
                s.next_item += 1
                s.feed[ext] = 1
                s.order.append(ext)
            world.write_feed(s)
        world.write_config(sources)
        ids = {}
        for step in range(STEPS + 1):
            kind = "harvest" if step == 0 else rng.choices(
                ("harvest", "config", "decide"), (40, 12, 48))[0]
            if kind == "harvest":
                parts = [mutate_feed(rng, s, retired) for s in sources
                         if rng.random() < 0.7]
                for s in sources:
                    world.write_feed(s)
                rc, out = world.run(os.path.join(BIN, "cybil-fetch"), "-q",
                                    "-c", world.conf, "--force")
                ok = tap.ok(rc == 0, "step %d: cybil-fetch" % step,
                            "exit %d: %s" % (rc, out))
                rc, out = world.run(os.path.join(BIN, "cybil-parse"), "-q",
                                    "-c", world.conf)
                ok = tap.ok(rc == 0, "step %d: cybil-parse" % step,
                            "exit %d: %s" % (rc, out)) and ok
                for s in sources:
                    model.harvest(s)
                label = "harvest " + (" ".join(parts) or "(no change)")
            elif kind == "config":
                s = rng.choice(sources)
                if rng.random() < 0.7:
                    s.public = not s.public
                    label = "config %s consent = %s" % (
                        s.name, "public" if s.public else "pending")
                else:
                    s.repend = not s.repend
                    label = "config %s repend_on_change = %s" % (
                        s.name, "yes" if s.repend else "no")
                world.write_config(sources)
            else:
                label = decide(world, model, rng, tap, step, ids, sources)
            history.append("%d: %s" % (step, label))
            ids = check(world, model, tap, step, label)
            if tap.failed:
                tap.diag("seed %d; the steps so far:" % SEED)
                tap.diag("\n".join(history[-15:]))
                break
        print("# exercised: " + ", ".join("%s %d" % kv for kv in
                                          model.stats.items()))
    finally:
        world.stop_httpd()
        if os.environ.get("KEEP_TMP"):
            tap.diag("keeping " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


def decide(world, model, rng, tap, step, ids, sources):
    """One cybil-review decision on random records; returns a label."""
    keys = sorted(model.records)
    # grants most often: they are what a change re-pends
    action = rng.choices(("grant", "public", "refuse", "withdraw", "reset"),
                         (4, 2, 1, 1, 2))[0]
    extra = {"grant": ["--evidence", "https://owner.example/consent/%d"
                       % step],
             "public": ["--url", "https://example.org/public/%d" % step]
             }.get(action, [])
    r = rng.random()
    if r < 0.1:
        # Invalid: an unknown id among known ones; nothing may change.
        chosen = rng.sample(keys, min(len(keys), 2))
        args = [ids[k] for k in chosen] + [UNKNOWN_ID]
        rng.shuffle(args)
        rc, out = world.review(action, *args, *extra, "--by", "model")
        tap.ok(rc == 2, "step %d: %s with an unknown id exits 2"
               % (step, action), "exit %d: %s" % (rc, out))
        return "%s %s + unknown id (invalid)" % (action, chosen)
    if r < 0.15:
        # Invalid: public with a URL that is not http(s).
        k = rng.choice(keys)
        rc, out = world.review("public", ids[k], "--url",
                               "ftp://example.org/x", "--by", "model")
        tap.ok(rc == 2, "step %d: public --url ftp: exits 2" % step,
               "exit %d: %s" % (rc, out))
        return "public %s/%s --url ftp: (invalid)" % k
    if r < 0.25:
        src = rng.choice(sources).name
        chosen = [k for k in keys if k[0] == src]
        rc, out = world.review(action, "--source", src, "--all", "--yes",
                               *extra, "--by", "model")
        label = "%s --source %s --all" % (action, src)
    else:
        chosen = rng.sample(keys, min(len(keys), rng.choice((1, 1, 1, 2,
                                                                  3))))
        rc, out = world.review(action, *[ids[k] for k in chosen], *extra,
                               "--by", "model")
        label = "%s %s" % (action, " ".join("%s/%s" % k for k in chosen))
    if tap.ok(rc == 0, "step %d: cybil-review %s" % (step, action),
              "exit %d: %s" % (rc, out)):
        model.decide(action, chosen)
    return label


if __name__ == "__main__":
    sys.exit(main())
