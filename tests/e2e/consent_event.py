#!/usr/bin/python3
"""Appends one consent event to a cybil store, as the portal manager's
decisions will (SPEC section 4): the chain's next id and prev_hash, and
hash = sha256(prev_hash || canonical JSON of the other columns), computed
here independently of the C code, so the tests also check that both agree
on the canonical form.

usage: consent_event.py STORE RECORD_ID NEW_STATE BASIS [EVIDENCE]
"""
import hashlib
import json
import sqlite3
import sys
import time

GENESIS = "0" * 64


def main():
    store, record_id, new, basis = sys.argv[1:5]
    evidence = sys.argv[5] if len(sys.argv) > 5 else None
    db = sqlite3.connect(store, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    old = db.execute("SELECT consent FROM record WHERE id = ?",
                     (record_id,)).fetchone()[0]
    last = db.execute("SELECT id, hash FROM consent_event"
                      " ORDER BY id DESC LIMIT 1").fetchone()
    row = {
        "id": (last[0] if last else 0) + 1,
        "record_id": record_id, "old": old, "new": new, "basis": basis,
        "evidence": evidence, "expires": None, "by": "test",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": None,
    }
    prev = last[1] if last else GENESIS
    text = json.dumps(row, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    digest = hashlib.sha256((prev + text).encode()).hexdigest()
    db.execute("INSERT INTO consent_event (id, record_id, old, new, basis,"
               " evidence, expires, by, at, note, prev_hash, hash)"
               " VALUES (:id, :record_id, :old, :new, :basis, :evidence,"
               " :expires, :by, :at, :note, :prev, :hash)",
               dict(row, prev=prev, hash=digest))
    db.execute("COMMIT")


if __name__ == "__main__":
    main()
