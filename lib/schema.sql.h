/* Schema migrations of the store, in order: migrations[N] takes a store
 * from user_version N to N + 1. Never edit a published step; append one.
 * Included by store.c only. */

static const char schema_v1[] =
	/* One row per configured source, with its fetch state. */
	"CREATE TABLE source ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN"
	"  ('rss','atom','html','iati','oai-pmh')),"
	" url TEXT NOT NULL,"
	" configured INTEGER NOT NULL DEFAULT 1 CHECK (configured IN (0,1)),"
	" added_at TEXT NOT NULL,"
	" etag TEXT,"
	" last_modified TEXT,"
	" last_attempt TEXT,"
	" last_success TEXT,"
	" failures INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),"
	" next_due TEXT,"
	" last_error TEXT"
	") STRICT;"

	/* One row per HTTP exchange, failures included. A body is kept
	 * (by sha256) only for a 2xx answer. */
	"CREATE TABLE capture ("
	" id INTEGER PRIMARY KEY,"
	" source TEXT NOT NULL REFERENCES source(name),"
	" url TEXT NOT NULL,"
	" final_url TEXT,"
	" fetched_at TEXT NOT NULL,"
	" status INTEGER CHECK (status IS NULL OR status BETWEEN 100 AND 999),"
	" content_type TEXT,"
	" etag TEXT,"
	" last_modified TEXT,"
	" bytes INTEGER CHECK (bytes IS NULL OR bytes >= 0),"
	" sha256 TEXT CHECK (sha256 IS NULL OR (length(sha256) = 64"
	"  AND status BETWEEN 200 AND 299)),"
	" duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),"
	" error TEXT,"
	" queue_id INTEGER REFERENCES queue(id),"
	" parsed_at TEXT,"
	" parse_error TEXT"
	") STRICT;"
	"CREATE INDEX capture_by_source ON capture(source, fetched_at);"
	"CREATE INDEX capture_unparsed ON capture(id)"
	" WHERE parsed_at IS NULL AND sha256 IS NOT NULL;"

	/* Follow-ups found by parse, fetched by fetch. */
	"CREATE TABLE queue ("
	" id INTEGER PRIMARY KEY,"
	" source TEXT NOT NULL REFERENCES source(name),"
	" url TEXT NOT NULL,"
	" reason TEXT NOT NULL CHECK (reason IN ('follow','resume')),"
	" from_capture INTEGER REFERENCES capture(id),"
	" queued_at TEXT NOT NULL,"
	" done_at TEXT,"
	" UNIQUE (source, url)"
	") STRICT;"
	"CREATE INDEX queue_pending ON queue(source) WHERE done_at IS NULL;"

	/* Identity: (source, external id) keeps its random record id for
	 * good, so a record that vanishes and returns is the same record. */
	"CREATE TABLE record_key ("
	" source TEXT NOT NULL,"
	" external_id TEXT NOT NULL,"
	" record_id TEXT NOT NULL UNIQUE CHECK (length(record_id) = 32"
	"  AND record_id NOT GLOB '*[^0-9a-f]*'),"
	" PRIMARY KEY (source, external_id)"
	") STRICT, WITHOUT ROWID;"

	/* A rowid table: its rows are large (the fields), and with random
	 * ids as the key a WITHOUT ROWID table would insert them all over
	 * its b-tree; here they append, and only the small id index is
	 * touched at random. */
	"CREATE TABLE record ("
	" id TEXT PRIMARY KEY NOT NULL REFERENCES record_key(record_id),"
	" source TEXT NOT NULL REFERENCES source(name),"
	" kind TEXT NOT NULL,"
	" external_id TEXT NOT NULL,"
	" title TEXT,"
	" url TEXT,"
	" fields TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(fields)),"
	" content_sha256 TEXT NOT NULL CHECK (length(content_sha256) = 64),"
	" first_seen TEXT NOT NULL,"
	" last_seen TEXT NOT NULL,"
	" changed_at TEXT NOT NULL,"
	" capture_id INTEGER REFERENCES capture(id),"
	" parser TEXT NOT NULL,"
	" parser_version TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'active'"
	"  CHECK (state IN ('active','gone','deleted')),"
	" consent TEXT NOT NULL DEFAULT 'pending' CHECK (consent IN"
	"  ('public','granted','pending','refused','withdrawn')),"
	" consent_basis TEXT,"
	" consent_expires TEXT,"
	" UNIQUE (source, external_id)"
	") STRICT;"
	"CREATE INDEX record_by_consent ON record(consent, state);"

	/* The audit log: append-only and hash-chained (see audit.c). */
	"CREATE TABLE consent_event ("
	" id INTEGER PRIMARY KEY,"
	" record_id TEXT NOT NULL REFERENCES record(id),"
	" old TEXT NOT NULL,"
	" new TEXT NOT NULL CHECK (new IN"
	"  ('public','granted','pending','refused','withdrawn')),"
	" basis TEXT NOT NULL CHECK (basis <> '' AND basis NOT GLOB '*[^a-z-]*'),"
	" evidence TEXT,"
	" expires TEXT,"
	" by TEXT NOT NULL CHECK (by <> ''),"
	" at TEXT NOT NULL,"
	" note TEXT,"
	" prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),"
	" hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),"
	" CHECK (evidence IS NULL OR evidence <> ''),"
	" CHECK (new <> 'public' OR"
	"  (basis = 'public-source' AND evidence IS NOT NULL)),"
	" CHECK (new <> 'granted' OR"
	"  (basis = 'owner-consent' AND evidence IS NOT NULL)),"
	" CHECK (expires IS NULL OR new = 'granted')"
	") STRICT;"
	"CREATE INDEX consent_event_by_record ON consent_event(record_id, id);"

	"CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_event"
	" BEGIN SELECT RAISE(ABORT, 'consent_event is append-only'); END;"
	"CREATE TRIGGER consent_event_no_delete BEFORE DELETE ON consent_event"
	" BEGIN SELECT RAISE(ABORT, 'consent_event is append-only'); END;"
	/* An event must continue the chain and start from the record's
	 * current state. */
	"CREATE TRIGGER consent_event_append BEFORE INSERT ON consent_event"
	" BEGIN"
	"  SELECT RAISE(ABORT, 'consent_event id must follow the last one')"
	"   WHERE NEW.id IS NOT (SELECT coalesce(max(id), 0) + 1"
	"    FROM consent_event);"
	"  SELECT RAISE(ABORT, 'consent_event prev_hash must be the last hash')"
	"   WHERE NEW.prev_hash IS NOT coalesce((SELECT hash FROM consent_event"
	"    ORDER BY id DESC LIMIT 1), printf('%064d', 0));"
	"  SELECT RAISE(ABORT, 'consent_event old must be the record''s consent')"
	"   WHERE NEW.old IS NOT (SELECT consent FROM record"
	"    WHERE id = NEW.record_id);"
	" END;"
	/* Consent only ever changes through an event. */
	"CREATE TRIGGER consent_event_applies AFTER INSERT ON consent_event"
	" BEGIN"
	"  UPDATE record SET consent = NEW.new, consent_basis = NEW.basis,"
	"   consent_expires = NEW.expires WHERE id = NEW.record_id;"
	" END;"
	"CREATE TRIGGER record_starts_pending BEFORE INSERT ON record"
	" WHEN NEW.consent <> 'pending' OR NEW.consent_basis IS NOT NULL"
	"  OR NEW.consent_expires IS NOT NULL"
	" BEGIN SELECT RAISE(ABORT, 'a new record starts pending; consent"
	" changes only through consent_event'); END;"
	"CREATE TRIGGER record_consent_by_event"
	" BEFORE UPDATE OF consent, consent_basis, consent_expires ON record"
	" WHEN NEW.consent IS NOT OLD.consent"
	"  OR NEW.consent_basis IS NOT OLD.consent_basis"
	"  OR NEW.consent_expires IS NOT OLD.consent_expires"
	" BEGIN"
	"  SELECT RAISE(ABORT, 'consent changes only through consent_event')"
	"   WHERE NOT EXISTS (SELECT 1 FROM consent_event WHERE id ="
	"    (SELECT max(id) FROM consent_event) AND record_id = NEW.id"
	"    AND new = NEW.consent AND basis IS NEW.consent_basis"
	"    AND expires IS NEW.consent_expires);"
	" END;"
	"CREATE TRIGGER record_no_delete BEFORE DELETE ON record"
	" BEGIN SELECT RAISE(ABORT, 'records are never deleted; mark them"
	" gone or deleted'); END;"

	/* Manual values over harvested ones; harvested_sha256 is the hash of
	 * the value replaced, so a later change at the source is noticed. */
	"CREATE TABLE correction ("
	" record_id TEXT NOT NULL REFERENCES record(id),"
	" field TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" by TEXT NOT NULL,"
	" at TEXT NOT NULL,"
	" harvested_sha256 TEXT,"
	" note TEXT,"
	" PRIMARY KEY (record_id, field)"
	") STRICT;"

	/* "Suggest a page edit" intake; contacts are never published. */
	"CREATE TABLE suggestion ("
	" id INTEGER PRIMARY KEY,"
	" record_id TEXT NOT NULL REFERENCES record(id),"
	" field TEXT NOT NULL,"
	" value TEXT NOT NULL,"
	" contact TEXT NOT NULL,"
	" note TEXT,"
	" state TEXT NOT NULL DEFAULT 'pending'"
	"  CHECK (state IN ('pending','accepted','rejected')),"
	" at TEXT NOT NULL,"
	" decided_by TEXT,"
	" decided_at TEXT"
	") STRICT;"
	"CREATE INDEX suggestion_pending ON suggestion(record_id)"
	" WHERE state = 'pending';"

	/* One row per serial; serials are never reused. */
	"CREATE TABLE release ("
	" serial INTEGER PRIMARY KEY CHECK (serial > 0),"
	" state TEXT NOT NULL CHECK (state IN ('building','done')),"
	" created TEXT NOT NULL,"
	" records INTEGER NOT NULL DEFAULT 0 CHECK (records >= 0),"
	" sha256 TEXT,"
	" audit_head TEXT"
	") STRICT;"
	"CREATE TRIGGER release_no_delete BEFORE DELETE ON release"
	" BEGIN SELECT RAISE(ABORT, 'release serials are never reused'); END;"

	/* The only thing cybil-publish reads. It never reads the clock. */
	"CREATE VIEW publishable AS SELECT * FROM record"
	" WHERE consent IN ('public','granted') AND state = 'active';";

/* Fetch finds the validators of a follow-up URL's last good capture, and
 * asks an OAI-PMH source only for what changed since harvest_from (the
 * last complete list's datestamp, kept by parse). */
static const char schema_v2[] =
	"CREATE INDEX capture_by_url ON capture(source, url, id);"
	"ALTER TABLE source ADD COLUMN harvest_from TEXT;";

/* A complete snapshot marks gone what none of its pages saw: which
 * capture last listed a record, compared by id (timestamps have only
 * seconds), and each OAI-PMH page's response date, of which the first
 * page's is the next incremental harvest's `from`. */
static const char schema_v3[] =
	"ALTER TABLE record ADD COLUMN seen_capture INTEGER;"
	"ALTER TABLE capture ADD COLUMN harvest_from TEXT;";

/* What the last done release holds, so the next one can say what was
 * added, updated and removed: each record's id with the sha256 of its
 * records.jsonl line, and every id removed and not re-added, with the
 * reason and the serial that removed it. A purged release is revoked. */
static const char schema_v4[] =
	"CREATE TABLE published ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" line_hash BLOB NOT NULL CHECK (length(line_hash) = 32)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE tombstone ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" reason TEXT NOT NULL CHECK (reason IN ('withdrawn','refused',"
	"  'repended','expired','gone','deleted-at-source','source-removed')),"
	" serial INTEGER NOT NULL REFERENCES release(serial)"
	") STRICT, WITHOUT ROWID;"
	"ALTER TABLE release ADD COLUMN revoked_at TEXT;";

/* The console's accounts: a name and its crypto_pwhash_str hash. */
static const char schema_v5[] =
	"CREATE TABLE account ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" hash TEXT NOT NULL,"
	" created TEXT NOT NULL,"
	" changed TEXT NOT NULL"
	") STRICT;";

static const char *const migrations[] = {
	schema_v1,
	schema_v2,
	schema_v3,
	schema_v4,
	schema_v5,
};
