#include "review.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <utf8proc.h>

#include "audit.h"
#include "blob.h"
#include "date.h"
#include "log.h"

static const struct {
	const char *name, *state, *basis;
} actions[] = {
	[REVIEW_GRANT] = { "grant", "granted", "owner-consent" },
	[REVIEW_PUBLIC] = { "public", "public", "public-source" },
	[REVIEW_REFUSE] = { "refuse", "refused", "refused" },
	[REVIEW_WITHDRAW] = { "withdraw", "withdrawn", "withdrawn" },
	[REVIEW_RESET] = { "reset", "pending", "reset" },
};
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

int
review_action_from_name(const char *name)
{
	for (size_t i = 0; i < NACTIONS; i++)
		if (strcmp(actions[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
review_action_state(enum review_action action)
{
	return actions[action].state;
}

const char *
review_action_basis(enum review_action action)
{
	return actions[action].basis;
}

bool
review_is_uri(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.')
		p++;
	return *p == ':' && p[1] != '\0';
}

/* Whether S (NULL allowed) is not valid UTF-8: what the manager types
 * goes into releases, whose JSON must be valid. */
static bool
not_utf8(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t c;
	utf8proc_ssize_t n;

	for (; p && *p; p += n)
		if ((n = utf8proc_iterate(p, -1, &c)) < 0)
			return true;
	return false;
}

static int __attribute__((format(printf, 3, 4)))
invalid(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return REVIEW_INVALID;
}

/* A store failure: its message in ERR, the transaction rolled back. */
static int
failed(struct store *st, int rc, char *err, size_t errlen)
{
	if (err[0] == '\0' || rc == STORE_BUSY)
		snprintf(err, errlen, "%s: %s", store_path(st),
			rc == STORE_BUSY ? "the store is busy" :
			store_errmsg(st));
	store_rollback(st);
	return rc == STORE_OK ? STORE_ERROR : rc;
}

static int
begin(struct store *st, char *err, size_t errlen)
{
	int rc;

	err[0] = '\0';
	if ((rc = store_begin(st, true)) != STORE_OK)
		return failed(st, rc, err, errlen);
	return STORE_OK;
}

static int
commit(struct store *st, char *err, size_t errlen)
{
	int rc = store_commit(st);

	return rc == STORE_OK ? STORE_OK : failed(st, rc, err, errlen);
}

/* Ends a unit of work begun with begin(): commits on STORE_OK, else
 * rolls back and returns RC with its message. */
static int
finish(struct store *st, int rc, char *err, size_t errlen)
{
	if (rc == STORE_OK)
		return commit(st, err, errlen);
	if (rc == REVIEW_INVALID) {
		store_rollback(st);
		return rc;
	}
	return failed(st, rc, err, errlen);
}

static int
step_done(struct store *st, sqlite3_stmt *s)
{
	int rc = s ? sqlite3_step(s) : SQLITE_MISUSE;

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? STORE_OK :
		store_result(rc ? rc : sqlite3_errcode(store_db(st)));
}

/* The record's consent into STATE, or REVIEW_INVALID if there is no such
 * record. */
static int
record_consent(struct store *st, const char *id, char *state, size_t size,
	char *err, size_t errlen)
{
	static const char sql[] = "SELECT consent FROM record WHERE id = ?1";
	sqlite3_stmt *s = store_statement(st, sql);
	int rc;

	if (!s || sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC))
		return STORE_ERROR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(state, size, "%s", sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return invalid(err, errlen, "%s: no such record", id);
	return rc == SQLITE_ROW ? STORE_OK : store_result(rc);
}

static bool
is_http_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
		strncasecmp(s, "https://", 8) == 0;
}

/* Checks D before anything is written; puts a grant's expiry in the
 * store's form into EXPIRES. */
static int
check_decision(const struct review_decision *d, const char *now,
	char expires[DATE_RFC3339_SIZE], char *err, size_t errlen)
{
	struct date_value v;

	expires[0] = '\0';
	if ((size_t)d->action >= NACTIONS)
		return invalid(err, errlen, "unknown decision");
	if (!d->by || !*d->by)
		return invalid(err, errlen, "a decision needs who made it "
			"(--by)");
	if (not_utf8(d->by) || not_utf8(d->note) || not_utf8(d->evidence))
		return invalid(err, errlen, "a decision's text must be UTF-8");
	if (d->action == REVIEW_GRANT && (!d->evidence || !*d->evidence))
		return invalid(err, errlen, "a grant needs evidence (a file "
			"or a URI)");
	if (d->action == REVIEW_GRANT && !review_is_uri(d->evidence) &&
	    !(strlen(d->evidence) == HASH_HEX_SIZE - 1 &&
	    strspn(d->evidence, "0123456789abcdef") == HASH_HEX_SIZE - 1))
		return invalid(err, errlen, "evidence \"%s\" is neither a "
			"stored file nor a URI such as mailto:... or https://...",
			d->evidence);
	if (d->action == REVIEW_PUBLIC && (!d->evidence ||
	    !is_http_url(d->evidence)))
		return invalid(err, errlen, "public needs the http(s) URL "
			"where the record is public");
	if (d->action != REVIEW_GRANT && d->expires)
		return invalid(err, errlen, "only a grant can expire");
	if (!d->expires)
		return STORE_OK;
	if (date_parse_iso8601(d->expires, &v) < 0)
		return invalid(err, errlen, "expiry %s: not a date (use "
			"YYYY-MM-DD or RFC 3339)", d->expires);
	date_format_utc(v.t, expires);
	if (strcmp(expires, now) <= 0)
		return invalid(err, errlen, "expiry %s is not in the future",
			d->expires);
	return STORE_OK;
}

static int
decide_one(struct store *st, const char *id, const struct review_decision *d,
	const char *now, const char *expires, size_t *changed, char *err,
	size_t errlen)
{
	const char *state = actions[d->action].state;
	struct consent_change change = {
		.record_id = id,
		.new_state = state,
		.basis = actions[d->action].basis,
		.evidence = d->evidence,
		.expires = *expires ? expires : NULL,
		.by = d->by,
		.note = d->note,
		.at = now,
	};
	char current[16];
	int rc;

	if ((rc = record_consent(st, id, current, sizeof(current), err,
	    errlen)) != STORE_OK)
		return rc;
	if (strcmp(current, state) == 0 && d->action != REVIEW_GRANT &&
	    d->action != REVIEW_PUBLIC)
		return STORE_OK;
	if (d->action != REVIEW_GRANT && d->action != REVIEW_PUBLIC)
		change.evidence = NULL;
	if ((rc = audit_append(st, &change, NULL, err, errlen)) != STORE_OK)
		return rc;
	(*changed)++;
	return STORE_OK;
}

int
review_decide(struct store *st, const char *const *ids, size_t n,
	const struct review_decision *d, size_t *changed, char *err,
	size_t errlen)
{
	char now[DATE_RFC3339_SIZE], expires[DATE_RFC3339_SIZE];
	size_t count = 0;
	int rc;

	date_format_utc(time(NULL), now);
	if ((rc = check_decision(d, now, expires, err, errlen)) != STORE_OK)
		return rc;
	if ((rc = begin(st, err, errlen)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = decide_one(st, ids[i], d, now, expires, &count, err,
			errlen);
	if ((rc = finish(st, rc, err, errlen)) == STORE_OK && changed)
		*changed = count;
	return rc;
}

void
review_free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
review_source_ids(struct store *st, const char *source, char ***ids,
	size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char **list = NULL, **grown, *id;
	size_t count = 0, cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(store_db(st), "SELECT id FROM record"
	    " WHERE source = ?1 ORDER BY id", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(grown = realloc(list, cap * sizeof(*list))))
				goto fail;
			list = grown;
		}
		if (!(id = strdup((const char *)sqlite3_column_text(s, 0))))
			goto fail;
		list[count++] = id;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	*ids = list;
	*n = count;
	return STORE_OK;
fail:
	snprintf(err, errlen, "%s: records of %s: %s", store_path(st), source,
		sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	review_free_ids(list, count);
	return STORE_ERROR;
}

int
review_store_evidence(const char *dir, const char *path,
	char hex[HASH_HEX_SIZE], char *err, size_t errlen)
{
	struct blob_store *bs = NULL;
	struct blob_writer *w = NULL;
	char buf[65536];
	ssize_t got;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (blob_store_open(dir, &bs) < 0 || blob_writer_open(bs, &w) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((got = read(fd, buf, sizeof(buf))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || blob_writer_write(w, buf, (size_t)got) < 0) {
			snprintf(err, errlen, "%s: %s", got < 0 ? path : dir,
				strerror(errno));
			goto out;
		}
	}
	if (blob_writer_bytes(w) == 0) {
		snprintf(err, errlen, "%s: an empty file is no evidence", path);
		goto out;
	}
	rc = blob_writer_finish(w, hex);
	w = NULL;
	if (rc < 0 || (rc = blob_batch_commit(bs)) < 0)
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
out:
	if (w)
		blob_writer_discard(w);
	blob_store_close(bs);
	close(fd);
	return rc;
}

/* 1 if an event names evidence HEX, 0 if none does, -1 on error. */
static int
evidence_named(struct store *st, const char *hex)
{
	sqlite3_stmt *s = NULL;
	int rc = -1, step;

	if (sqlite3_prepare_v2(store_db(st), "SELECT 1 FROM consent_event"
	    " WHERE evidence = ?1 LIMIT 1", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC) == SQLITE_OK) {
		step = sqlite3_step(s);
		rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(s);
	return rc;
}

bool
review_evidence_known(struct store *st, const char *hex)
{
	return evidence_named(st, hex) == 1;
}

void
review_drop_unused_evidence(struct store *st, const char *dir,
	const char *hex)
{
	char path[4096];

	if (evidence_named(st, hex) == 0 &&
	    blob_path(dir, hex, path, sizeof(path)) == 0 && unlink(path) < 0)
		log_warn("%s: %s", path, strerror(errno));
}

int
review_expire(struct store *st, const char *now, const char *by,
	size_t *expired, char *err, size_t errlen)
{
	static const char sql[] = "SELECT id FROM record"
		" WHERE consent = 'granted' AND consent_expires IS NOT NULL"
		" AND consent_expires <= ?1 ORDER BY id";
	char **ids = NULL, *id, **grown;
	size_t count = 0, cap = 0, changed = 0;
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = begin(st, err, errlen)) != STORE_OK)
		return rc;
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = STORE_ERROR;
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(grown = realloc(ids, cap * sizeof(*ids))))
				break;
			ids = grown;
		}
		if (!(id = strdup((const char *)sqlite3_column_text(s, 0))))
			break;
		ids[count++] = id;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_DONE) {
		rc = rc == SQLITE_ROW ? STORE_ERROR : store_result(rc);
		goto out;
	}
	rc = STORE_OK;
	for (size_t i = 0; i < count && rc == STORE_OK; i++) {
		struct consent_change change = {
			.record_id = ids[i], .new_state = "pending",
			.basis = "expired", .by = by, .at = now,
			.note = "the grant expired",
		};

		if ((rc = audit_append(st, &change, NULL, err, errlen)) ==
		    STORE_OK)
			changed++;
	}
out:
	sqlite3_finalize(s);
	review_free_ids(ids, count);
	if ((rc = finish(st, rc, err, errlen)) == STORE_OK && expired)
		*expired = changed;
	return rc;
}

int
review_harvested_hash(const char *title, const char *url,
	const char *fields_json, const char *field, char hex[HASH_HEX_SIZE])
{
	json_t *fields = NULL, *value;
	char *text;

	if (strcmp(field, "title") == 0)
		value = title ? json_string(title) : json_null();
	else if (strcmp(field, "url") == 0)
		value = url ? json_string(url) : json_null();
	else {
		fields = json_loads(fields_json ? fields_json : "{}", 0, NULL);
		value = json_incref(json_object_get(fields, field));
		if (!value)
			value = json_null();
	}
	text = value ? json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS |
		JSON_ENCODE_ANY) : NULL;
	json_decref(value);
	json_decref(fields);
	if (!text)
		return -1;
	hash_sha256_hex(text, strlen(text), hex);
	free(text);
	return 0;
}

/* The hash of FIELD's harvested value in record ID, or REVIEW_INVALID
 * if there is no such record. */
static int
current_hash(struct store *st, const char *id, const char *field,
	char hex[HASH_HEX_SIZE], char *err, size_t errlen)
{
	static const char sql[] = "SELECT title, url, fields FROM record"
		" WHERE id = ?1";
	sqlite3_stmt *s = store_statement(st, sql);
	int rc;

	if (!s || sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC))
		return STORE_ERROR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && review_harvested_hash(
	    (const char *)sqlite3_column_text(s, 0),
	    (const char *)sqlite3_column_text(s, 1),
	    (const char *)sqlite3_column_text(s, 2), field, hex) < 0)
		rc = SQLITE_NOMEM;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return invalid(err, errlen, "%s: no such record", id);
	return rc == SQLITE_ROW ? STORE_OK : store_result(rc);
}

static int
check_field(const char *field, char *err, size_t errlen)
{
	if (!field || !*field || strlen(field) > 64 ||
	    strspn(field, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
	    strlen(field))
		return invalid(err, errlen, "field %s: a field name is 1 to "
			"64 of a-z, 0-9 and _", field ? field : "");
	return STORE_OK;
}

/* Writes the correction inside the caller's transaction. */
static int
put_correction(struct store *st, const char *id, const char *field,
	const char *value, const char *by, const char *note, char *err,
	size_t errlen)
{
	static const char sql[] = "INSERT INTO correction (record_id, field,"
		" value, by, at, harvested_sha256, note)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT (record_id, field) DO UPDATE SET"
		" value = excluded.value, by = excluded.by, at = excluded.at,"
		" harvested_sha256 = excluded.harvested_sha256,"
		" note = excluded.note";
	char hex[HASH_HEX_SIZE], now[DATE_RFC3339_SIZE];
	sqlite3_stmt *s;
	int rc;

	if ((rc = check_field(field, err, errlen)) != STORE_OK)
		return rc;
	if (!by || !*by)
		return invalid(err, errlen, "a correction needs who made it "
			"(--by)");
	if ((rc = current_hash(st, id, field, hex, err, errlen)) !=
	    STORE_OK)
		return rc;
	date_format_utc(time(NULL), now);
	s = store_statement(st, sql);
	if (!s || sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, field, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, value, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, by, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 5, now, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 6, hex, -1, SQLITE_STATIC) ||
	    (note ? sqlite3_bind_text(s, 7, note, -1, SQLITE_STATIC) :
	    sqlite3_bind_null(s, 7)))
		return STORE_ERROR;
	return step_done(st, s);
}

int
review_correct(struct store *st, const char *id, const char *field,
	const char *value, const char *by, const char *note, char *err,
	size_t errlen)
{
	int rc;

	if (!value)
		return invalid(err, errlen, "a correction needs a value");
	if (not_utf8(field) || not_utf8(value) || not_utf8(note) ||
	    not_utf8(by))
		return invalid(err, errlen, "a correction's text must be UTF-8");
	if ((rc = begin(st, err, errlen)) != STORE_OK)
		return rc;
	return finish(st, put_correction(st, id, field, value, by, note,
		err, errlen), err, errlen);
}

int
review_uncorrect(struct store *st, const char *id, const char *field,
	char *err, size_t errlen)
{
	static const char sql[] = "DELETE FROM correction"
		" WHERE record_id = ?1 AND field = ?2";
	sqlite3_stmt *s;
	int rc;

	if ((rc = begin(st, err, errlen)) != STORE_OK)
		return rc;
	s = store_statement(st, sql);
	if (!s || sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, field, -1, SQLITE_STATIC))
		return finish(st, STORE_ERROR, err, errlen);
	rc = step_done(st, s);
	if (rc == STORE_OK && sqlite3_changes(store_db(st)) == 0)
		rc = invalid(err, errlen, "%s: no correction of %s", id,
			field);
	return finish(st, rc, err, errlen);
}

int
review_suggest(struct store *st, const char *id, const char *field,
	const char *value, const char *contact, const char *note,
	int64_t *suggestion_id, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO suggestion (record_id, field,"
		" value, contact, note, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	char now[DATE_RFC3339_SIZE], hex[HASH_HEX_SIZE];
	sqlite3_stmt *s;
	int rc;

	if (!contact || !*contact)
		return invalid(err, errlen, "a suggestion needs a contact "
			"(--from)");
	if (not_utf8(field) || not_utf8(value) || not_utf8(contact) ||
	    not_utf8(note))
		return invalid(err, errlen, "a suggestion's text must be UTF-8");
	if (!value)
		return invalid(err, errlen, "a suggestion needs a value");
	if ((rc = check_field(field, err, errlen)) != STORE_OK)
		return rc;
	if ((rc = begin(st, err, errlen)) != STORE_OK)
		return rc;
	if ((rc = current_hash(st, id, field, hex, err, errlen)) != STORE_OK)
		return finish(st, rc, err, errlen);
	date_format_utc(time(NULL), now);
	s = store_statement(st, sql);
	if (!s || sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, field, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, value, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, contact, -1, SQLITE_STATIC) ||
	    (note ? sqlite3_bind_text(s, 5, note, -1, SQLITE_STATIC) :
	    sqlite3_bind_null(s, 5)) ||
	    sqlite3_bind_text(s, 6, now, -1, SQLITE_STATIC))
		return finish(st, STORE_ERROR, err, errlen);
	if ((rc = step_done(st, s)) == STORE_OK && suggestion_id)
		*suggestion_id = sqlite3_last_insert_rowid(store_db(st));
	return finish(st, rc, err, errlen);
}

/* Marks a pending suggestion STATE ("accepted" or "rejected") by BY,
 * giving its record, field and value to the caller (malloc'd). */
static int
close_suggestion(struct store *st, int64_t sid, const char *state,
	const char *by, char **row, char *err, size_t errlen)
{
	static const char find[] = "SELECT record_id, field, value, state"
		" FROM suggestion WHERE id = ?1";
	static const char update[] = "UPDATE suggestion SET state = ?2,"
		" decided_by = ?3, decided_at = ?4 WHERE id = ?1";
	char now[DATE_RFC3339_SIZE];
	sqlite3_stmt *s = store_statement(st, find);
	int rc;

	if (!by || !*by)
		return invalid(err, errlen, "a decision needs who made it "
			"(--by)");
	if (!s || sqlite3_bind_int64(s, 1, sid))
		return STORE_ERROR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return invalid(err, errlen, "suggestion %lld: no such "
			"suggestion", (long long)sid);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return store_result(rc);
	}
	if (strcmp((const char *)sqlite3_column_text(s, 3), "pending")) {
		rc = invalid(err, errlen, "suggestion %lld is already %s",
			(long long)sid, sqlite3_column_text(s, 3));
		sqlite3_reset(s);
		return rc;
	}
	for (int i = 0; i < 3; i++)
		if (!(row[i] = strdup((const char *)sqlite3_column_text(s,
		    i)))) {
			sqlite3_reset(s);
			return STORE_ERROR;
		}
	sqlite3_reset(s);
	date_format_utc(time(NULL), now);
	s = store_statement(st, update);
	if (!s || sqlite3_bind_int64(s, 1, sid) ||
	    sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, by, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC))
		return STORE_ERROR;
	return step_done(st, s);
}

static int
decide_suggestion(struct store *st, int64_t sid, bool accept,
	const char *by, const char *note, char *err, size_t errlen)
{
	char *row[3] = { NULL, NULL, NULL };
	int rc;

	if ((rc = begin(st, err, errlen)) != STORE_OK)
		return rc;
	rc = close_suggestion(st, sid, accept ? "accepted" : "rejected", by,
		row, err, errlen);
	if (rc == STORE_OK && accept)
		rc = put_correction(st, row[0], row[1], row[2], by, note, err,
			errlen);
	for (int i = 0; i < 3; i++)
		free(row[i]);
	return finish(st, rc, err, errlen);
}

int
review_accept(struct store *st, int64_t suggestion_id, const char *by,
	const char *note, char *err, size_t errlen)
{
	return decide_suggestion(st, suggestion_id, true, by, note, err,
		errlen);
}

int
review_reject(struct store *st, int64_t suggestion_id, const char *by,
	const char *note, char *err, size_t errlen)
{
	return decide_suggestion(st, suggestion_id, false, by, note, err,
		errlen);
}
