#include "audit.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"

/* The columns of one event other than prev_hash and hash. */
struct event_row {
	int64_t id;
	const char *record_id, *old, *new_state, *basis, *evidence,
		*expires, *by, *at, *note;
};

static json_t *
string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* sha256(prev_hash || canonical JSON of ROW). Returns 0 or -1 (memory, or
 * a value that is not UTF-8). */
static int
event_hash(const char *prev_hash, const struct event_row *row,
	char hex[HASH_HEX_SIZE])
{
	json_t *obj = json_object();
	char *text = NULL;
	struct hash h;
	int rc = -1;

	if (!obj ||
	    json_object_set_new(obj, "id", json_integer(row->id)) ||
	    json_object_set_new(obj, "record_id",
	    string_or_null(row->record_id)) ||
	    json_object_set_new(obj, "old", string_or_null(row->old)) ||
	    json_object_set_new(obj, "new", string_or_null(row->new_state)) ||
	    json_object_set_new(obj, "basis", string_or_null(row->basis)) ||
	    json_object_set_new(obj, "evidence",
	    string_or_null(row->evidence)) ||
	    json_object_set_new(obj, "expires",
	    string_or_null(row->expires)) ||
	    json_object_set_new(obj, "by", string_or_null(row->by)) ||
	    json_object_set_new(obj, "at", string_or_null(row->at)) ||
	    json_object_set_new(obj, "note", string_or_null(row->note)))
		goto out;
	if (!(text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS)))
		goto out;
	hash_begin(&h);
	hash_update(&h, prev_hash, strlen(prev_hash));
	hash_update(&h, text, strlen(text));
	hash_end_hex(&h, hex);
	rc = 0;
out:
	free(text);
	json_decref(obj);
	return rc;
}

/* Reads the last event's id and hash (0 and the genesis when none). */
static int
chain_tail(struct store *st, int64_t *id, char head[HASH_HEX_SIZE])
{
	static const char sql[] = "SELECT id, hash FROM consent_event"
		" ORDER BY id DESC LIMIT 1";
	sqlite3_stmt *stmt = store_statement(st, sql);
	int rc;

	*id = 0;
	memcpy(head, AUDIT_GENESIS, HASH_HEX_SIZE);
	if (!stmt)
		return store_result(sqlite3_errcode(store_db(st)));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(stmt, 1);

		*id = sqlite3_column_int64(stmt, 0);
		if (h && strlen((const char *)h) == HASH_HEX_SIZE - 1)
			memcpy(head, h, HASH_HEX_SIZE);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK :
		store_result(rc);
}

int
audit_head(struct store *st, char head[HASH_HEX_SIZE])
{
	int64_t id;

	return chain_tail(st, &id, head);
}

/* The record's consent now, the event's "old". */
static int
current_consent(struct store *st, const char *record_id, char *out,
	size_t size)
{
	static const char sql[] = "SELECT consent FROM record WHERE id = ?1";
	sqlite3_stmt *stmt = store_statement(st, sql);
	int rc;

	if (!stmt)
		return store_result(sqlite3_errcode(store_db(st)));
	if (sqlite3_bind_text(stmt, 1, record_id, -1, SQLITE_STATIC) !=
	    SQLITE_OK)
		return STORE_ERROR;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(out, size, "%s", sqlite3_column_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return STORE_ERROR;	/* no such record */
	return rc == SQLITE_ROW ? STORE_OK : store_result(rc);
}

static int
insert_event(struct store *st, const struct event_row *row,
	const char *prev_hash, const char *hash)
{
	static const char sql[] = "INSERT INTO consent_event (id, record_id,"
		" old, new, basis, evidence, expires, by, at, note, prev_hash,"
		" hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
		" ?12)";
	sqlite3_stmt *stmt = store_statement(st, sql);
	int rc;

	if (!stmt)
		return store_result(sqlite3_errcode(store_db(st)));
	if (sqlite3_bind_int64(stmt, 1, row->id) ||
	    sqlite3_bind_text(stmt, 2, row->record_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 3, row->old, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 4, row->new_state, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 5, row->basis, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 6, row->evidence, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 7, row->expires, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 8, row->by, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 9, row->at, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 10, row->note, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 11, prev_hash, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 12, hash, -1, SQLITE_STATIC))
		return STORE_ERROR;
	rc = sqlite3_step(stmt);
	/* Reset now: the bound strings are the caller's. */
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc == SQLITE_DONE ? STORE_OK : store_result(rc);
}

int
audit_append(struct store *st, const struct consent_change *change,
	char hash_out[HASH_HEX_SIZE], char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	char old[16], prev[HASH_HEX_SIZE], hash[HASH_HEX_SIZE];
	char now[DATE_RFC3339_SIZE];
	struct event_row row;
	int rc;

	if (sqlite3_txn_state(db, "main") != SQLITE_TXN_WRITE) {
		snprintf(err, errlen, "consent events are appended inside a "
			"write transaction (BEGIN IMMEDIATE)");
		return STORE_ERROR;
	}
	rc = current_consent(st, change->record_id, old, sizeof(old));
	if (rc != STORE_OK) {
		snprintf(err, errlen, "record %s: %s", change->record_id,
			rc == STORE_ERROR ? "no such record" : "store busy");
		return rc;
	}
	if ((rc = chain_tail(st, &row.id, prev)) != STORE_OK)
		goto fail;
	row.id++;
	row.record_id = change->record_id;
	row.old = old;
	row.new_state = change->new_state;
	row.basis = change->basis;
	row.evidence = change->evidence;
	row.expires = change->expires;
	row.by = change->by;
	row.at = change->at ? change->at : date_format_utc(time(NULL), now);
	row.note = change->note;
	if (event_hash(prev, &row, hash) < 0) {
		snprintf(err, errlen, "record %s: event is not valid UTF-8 or "
			"memory ran out", change->record_id);
		return STORE_ERROR;
	}
	if ((rc = insert_event(st, &row, prev, hash)) != STORE_OK)
		goto fail;
	if (hash_out)
		memcpy(hash_out, hash, HASH_HEX_SIZE);
	return STORE_OK;
fail:
	snprintf(err, errlen, "record %s: %s", change->record_id,
		sqlite3_errmsg(db));
	return rc;
}

static const char *
column(sqlite3_stmt *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

/* Checks one event against its predecessor. Returns 0 if it holds. */
static int
check_event(sqlite3_stmt *stmt, int64_t expected_id, const char *prev,
	char *why, size_t len)
{
	struct event_row row = {
		.id = sqlite3_column_int64(stmt, 0),
		.record_id = column(stmt, 1), .old = column(stmt, 2),
		.new_state = column(stmt, 3), .basis = column(stmt, 4),
		.evidence = column(stmt, 5), .expires = column(stmt, 6),
		.by = column(stmt, 7), .at = column(stmt, 8),
		.note = column(stmt, 9),
	};
	const char *prev_hash = column(stmt, 10), *stored = column(stmt, 11);
	char hash[HASH_HEX_SIZE];

	if (row.id != expected_id) {
		snprintf(why, len, "events %lld to %lld are missing",
			(long long)expected_id, (long long)row.id - 1);
		return -1;
	}
	if (!prev_hash || strcmp(prev_hash, prev) != 0) {
		snprintf(why, len, "prev_hash does not match the hash of the "
			"event before it");
		return -1;
	}
	if (event_hash(prev, &row, hash) < 0 || !stored ||
	    strcmp(hash, stored) != 0) {
		snprintf(why, len, "hash does not match the event's contents");
		return -1;
	}
	return 0;
}

static int
verify_releases(sqlite3 *db, int64_t *bad_id, char *why, size_t len)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT serial FROM release"
		" WHERE audit_head IS NOT NULL AND audit_head <> ?1"
		" AND audit_head NOT IN (SELECT hash FROM consent_event)"
		" ORDER BY serial LIMIT 1", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return store_result(rc);
	if (sqlite3_bind_text(stmt, 1, AUDIT_GENESIS, -1, SQLITE_STATIC)) {
		sqlite3_finalize(stmt);
		return STORE_ERROR;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*bad_id = -sqlite3_column_int64(stmt, 0);
		snprintf(why, len, "release %lld published an audit head that "
			"is no longer in the log (events were removed)",
			(long long)-*bad_id);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK :
		store_result(rc);
}

int
audit_verify(struct store *st, int64_t *bad_id, char *why, size_t len)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *stmt;
	char prev[HASH_HEX_SIZE] = AUDIT_GENESIS;
	int64_t expected = 1;
	int rc;

	*bad_id = 0;
	why[0] = '\0';
	rc = sqlite3_prepare_v2(db, "SELECT id, record_id, old, new, basis,"
		" evidence, expires, by, at, note, prev_hash, hash"
		" FROM consent_event ORDER BY id", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return store_result(rc);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (check_event(stmt, expected, prev, why, len) < 0) {
			*bad_id = sqlite3_column_int64(stmt, 0);
			break;
		}
		snprintf(prev, sizeof(prev), "%s", column(stmt, 11));
		expected++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_result(rc);
	if (*bad_id)
		return STORE_OK;
	return verify_releases(db, bad_id, why, len);
}
