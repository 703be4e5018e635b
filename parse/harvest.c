/* Identity, change and consent of harvested records (SPEC §4, §5). A new
 * record gets a random id, kept for good in record_key; an unchanged one
 * only moves its last_seen; a changed one is updated, and a granted record
 * of a source with repend_on_change goes back to pending through a
 * consent event. Withdrawn and refused records stay so. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "date.h"
#include "harvest.h"
#include "log.h"
#include "source.h"
#include "units.h"
#include "url.h"

#define PARSER_BY "cybil-parse"

enum stmt_index {
	FIND_KEY,
	INSERT_KEY,
	INSERT_RECORD,
	FIND_RECORD,
	TOUCH_RECORD,
	UPDATE_RECORD,
	MARK_DELETED,
	QUEUE_COUNT,
	QUEUE_URL,
	NSTMTS
};

static const char *const stmt_sql[NSTMTS] = {
	[FIND_KEY] = "SELECT record_id FROM record_key"
		" WHERE source = ?1 AND external_id = ?2",
	[INSERT_KEY] = "INSERT INTO record_key (source, external_id, record_id)"
		" VALUES (?1, ?2, ?3)",
	[INSERT_RECORD] = "INSERT INTO record (id, source, kind, external_id,"
		" title, url, fields, content_sha256, first_seen, last_seen,"
		" changed_at, capture_id, seen_capture, parser, parser_version,"
		" state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?10,"
		" ?10, ?11, ?12, ?13)",
	[FIND_RECORD] = "SELECT content_sha256, state, consent FROM record"
		" WHERE id = ?1",
	/* Unchanged: only last_seen moves (and a record back at its source
	 * is active again). */
	[TOUCH_RECORD] = "UPDATE record SET last_seen = ?2, seen_capture = ?3,"
		" state = 'active' WHERE id = ?1",
	[UPDATE_RECORD] = "UPDATE record SET title = ?2, url = ?3, fields = ?4,"
		" content_sha256 = ?5, last_seen = ?6, changed_at = ?6,"
		" capture_id = ?7, seen_capture = ?7, parser = ?8,"
		" parser_version = ?9, state = 'active' WHERE id = ?1",
	[MARK_DELETED] = "UPDATE record SET last_seen = ?2, seen_capture = ?3,"
		" state = 'deleted' WHERE id = ?1",
	[QUEUE_COUNT] = "SELECT count(*) FROM queue"
		" WHERE source = ?1 AND done_at IS NULL",
	/* A URL fetched before is queued again; one still queued is left. */
	[QUEUE_URL] = "INSERT INTO queue (source, url, reason, from_capture,"
		" queued_at) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (source, url) DO UPDATE SET done_at = NULL,"
		" reason = excluded.reason, from_capture = excluded.from_capture,"
		" queued_at = excluded.queued_at WHERE done_at IS NOT NULL",
};

struct harvest {
	struct store *st;
	const struct source_config *src;
	const struct parser *parser;
	const struct capture_info *cap;
	int64_t queued_now;	/* follow-ups waiting, for follow_max */
	bool resumed;		/* queued the next page of its list */
	struct harvest_counts counts;
	int status;		/* STORE_OK, or how the store failed */
	char error[512];
};

const char *
harvest_error(const struct harvest *h)
{
	return h->error;
}

int
harvest_status(const struct harvest *h)
{
	return h->status;
}

static int
fail(struct harvest *h, const char *what)
{
	snprintf(h->error, sizeof(h->error), "%s: %s", what,
		store_errmsg(h->st));
	h->status = store_result(sqlite3_errcode(store_db(h->st))) ==
		STORE_BUSY ? STORE_BUSY : STORE_ERROR;
	return h->status;
}

/* The statement I, reset (kept by the store across captures: compiling
 * them with their triggers costs more than running them). NULL on error,
 * which makes the caller's first bind fail with SQLITE_MISUSE. */
static sqlite3_stmt *
stmt(struct harvest *h, enum stmt_index i)
{
	return store_statement(h->st, stmt_sql[i]);
}

static int
bind_text(sqlite3_stmt *s, int i, const char *text)
{
	return text ? sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT) :
		sqlite3_bind_null(s, i);
}

int
harvest_begin(struct store *st, const struct source_config *src,
	const struct parser *parser, const struct capture_info *cap,
	struct harvest **out)
{
	struct harvest *h;
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return STORE_ERROR;
	h->st = st;
	h->src = src;
	h->parser = parser;
	h->cap = cap;
	if ((rc = store_begin(st, true)) != STORE_OK) {
		free(h);
		return rc;
	}
	s = stmt(h, QUEUE_COUNT);
	if (sqlite3_bind_text(s, 1, src->name, -1, SQLITE_STATIC) ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto fail;
	h->queued_now = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	*out = h;
	return STORE_OK;
fail:
	rc = store_result(sqlite3_errcode(store_db(st)));
	log_error("%s: %s", store_path(st), store_errmsg(st));
	store_rollback(st);
	free(h);
	return rc == STORE_BUSY ? STORE_BUSY : STORE_ERROR;
}

/* sha256 of the harvested content: title, url and fields in canonical
 * JSON (corrections and fetch times are not part of it), that is
 * {"fields":F,"title":T,"url":U} with sorted keys, put together from the
 * fields' JSON, which the record row stores too. */
static int
content_hash(const struct record *rec, char hex[HASH_HEX_SIZE],
	char **fields_json)
{
	const size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY;
	json_t *title = rec->title ? json_string(rec->title) : json_null();
	json_t *url = rec->url ? json_string(rec->url) : json_null();
	char *t = NULL, *u = NULL;
	struct hash h;
	int rc = -1;

	if (!(*fields_json = json_dumps(rec->fields, flags)) ||
	    !title || !(t = json_dumps(title, flags)) ||
	    !url || !(u = json_dumps(url, flags)))
		goto out;
	hash_begin(&h);
	hash_update(&h, "{\"fields\":", 10);
	hash_update(&h, *fields_json, strlen(*fields_json));
	hash_update(&h, ",\"title\":", 9);
	hash_update(&h, t, strlen(t));
	hash_update(&h, ",\"url\":", 7);
	hash_update(&h, u, strlen(u));
	hash_update(&h, "}", 1);
	hash_end_hex(&h, hex);
	rc = 0;
out:
	if (rc < 0) {
		free(*fields_json);
		*fields_json = NULL;
	}
	free(t);
	free(u);
	json_decref(title);
	json_decref(url);
	return rc;
}

/* The record's identity at its source: its own id, else its link, else a
 * hash of its title and first date, else (nothing names it) of its
 * content, so that two such items stay two records. */
static char *
external_id(const struct record *rec)
{
	const char *date = json_string_value(json_object_get(rec->fields,
		"published"));
	char hex[HASH_HEX_SIZE], *text, *id;
	size_t n;

	if (rec->external_id)
		return strdup(rec->external_id);
	if (rec->url)
		return strdup(rec->url);
	if (!date)
		date = json_string_value(json_object_get(rec->fields,
			"updated"));
	if (!rec->title && !date) {
		text = json_dumps(rec->fields, JSON_COMPACT | JSON_SORT_KEYS);
	} else {
		n = (rec->title ? strlen(rec->title) : 0) +
			(date ? strlen(date) : 0) + 2;
		if ((text = malloc(n)))
			snprintf(text, n, "%s\n%s", rec->title ? rec->title :
				"", date ? date : "");
	}
	if (!text)
		return NULL;
	hash_sha256_hex(text, strlen(text), hex);
	free(text);
	n = sizeof("sha256:") + HASH_HEX_SIZE;
	if ((id = malloc(n)))
		snprintf(id, n, "sha256:%s", hex);
	return id;
}

static int
append_event(struct harvest *h, const char *record_id, const char *state,
	const char *basis, const char *evidence, const char *note)
{
	struct consent_change change = {
		.record_id = record_id,
		.new_state = state,
		.basis = basis,
		.evidence = evidence,
		.by = PARSER_BY,
		.note = note,
		.at = h->cap->fetched_at,
	};
	int rc = audit_append(h->st, &change, NULL, h->error,
		sizeof(h->error));

	if (rc != STORE_OK)
		h->status = rc;
	return rc;
}

static int
insert_record(struct harvest *h, const struct record *rec, const char *ext,
	const char *hash, const char *fields)
{
	unsigned char raw[16];
	char id[33];
	sqlite3_stmt *s;
	int rc;

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
	s = stmt(h, INSERT_KEY);
	if (bind_text(s, 1, h->src->name) || bind_text(s, 2, ext) ||
	    bind_text(s, 3, id) || sqlite3_step(s) != SQLITE_DONE)
		return fail(h, "adding a record key");
	s = stmt(h, INSERT_RECORD);
	if (bind_text(s, 1, id) || bind_text(s, 2, h->src->name) ||
	    bind_text(s, 3, h->src->record_kind) || bind_text(s, 4, ext) ||
	    bind_text(s, 5, rec->title) || bind_text(s, 6, rec->url) ||
	    bind_text(s, 7, fields) || bind_text(s, 8, hash) ||
	    bind_text(s, 9, h->cap->fetched_at) ||
	    sqlite3_bind_int64(s, 10, h->cap->id) ||
	    bind_text(s, 11, h->parser->name) ||
	    bind_text(s, 12, h->parser->version) ||
	    bind_text(s, 13, rec->deleted ? "deleted" : "active") ||
	    sqlite3_step(s) != SQLITE_DONE)
		return fail(h, "adding a record");
	h->counts.added++;
	/* A public source's new records are public, with the page where
	 * they are public as the evidence. */
	if (h->src->consent_public && !rec->deleted &&
	    (rc = append_event(h, id, "public", "public-source", rec->url ?
	    rec->url : h->cap->final_url ? h->cap->final_url : h->cap->url,
	    "new record of a source whose consent is public")) != STORE_OK)
		return rc;
	return STORE_OK;
}

static int
update_record(struct harvest *h, const char *id, const struct record *rec,
	const char *hash, const char *fields, const char *consent)
{
	sqlite3_stmt *s = stmt(h, UPDATE_RECORD);

	if (bind_text(s, 1, id) || bind_text(s, 2, rec->title) ||
	    bind_text(s, 3, rec->url) || bind_text(s, 4, fields) ||
	    bind_text(s, 5, hash) || bind_text(s, 6, h->cap->fetched_at) ||
	    sqlite3_bind_int64(s, 7, h->cap->id) ||
	    bind_text(s, 8, h->parser->name) ||
	    bind_text(s, 9, h->parser->version) ||
	    sqlite3_step(s) != SQLITE_DONE)
		return fail(h, "updating a record");
	h->counts.changed++;
	if (strcmp(consent, "granted") == 0 && h->src->repend_on_change) {
		h->counts.repended++;
		return append_event(h, id, "pending", "content-changed", NULL,
			"content changed at the source since the grant");
	}
	return STORE_OK;
}

static int
existing_record(struct harvest *h, const char *id, const struct record *rec,
	const char *hash, const char *fields)
{
	sqlite3_stmt *s = stmt(h, FIND_RECORD);
	char old_hash[HASH_HEX_SIZE], state[16], consent[16];

	if (bind_text(s, 1, id) || sqlite3_step(s) != SQLITE_ROW)
		return fail(h, "reading a record");
	snprintf(old_hash, sizeof(old_hash), "%s", sqlite3_column_text(s, 0));
	snprintf(state, sizeof(state), "%s", sqlite3_column_text(s, 1));
	snprintf(consent, sizeof(consent), "%s", sqlite3_column_text(s, 2));
	if (rec->deleted) {
		s = stmt(h, MARK_DELETED);
		if (bind_text(s, 1, id) || bind_text(s, 2, h->cap->fetched_at) ||
		    sqlite3_bind_int64(s, 3, h->cap->id) ||
		    sqlite3_step(s) != SQLITE_DONE)
			return fail(h, "marking a record deleted");
		h->counts.deleted += strcmp(state, "deleted") != 0;
		return STORE_OK;
	}
	if (strcmp(old_hash, hash) != 0)
		return update_record(h, id, rec, hash, fields, consent);
	s = stmt(h, TOUCH_RECORD);
	if (bind_text(s, 1, id) || bind_text(s, 2, h->cap->fetched_at) ||
	    sqlite3_bind_int64(s, 3, h->cap->id) ||
	    sqlite3_step(s) != SQLITE_DONE)
		return fail(h, "updating a record");
	h->counts.unchanged++;
	return STORE_OK;
}

int
harvest_record(struct harvest *h, const struct record *rec)
{
	char hash[HASH_HEX_SIZE], *fields = NULL, *ext = NULL, id[33];
	sqlite3_stmt *s;
	int rc = STORE_ERROR, step;

	if (!(ext = external_id(rec)) ||
	    content_hash(rec, hash, &fields) < 0) {
		snprintf(h->error, sizeof(h->error), "out of memory");
		h->status = STORE_ERROR;
		goto out;
	}
	s = stmt(h, FIND_KEY);
	if (bind_text(s, 1, h->src->name) || bind_text(s, 2, ext)) {
		rc = fail(h, "looking up a record");
		goto out;
	}
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		snprintf(id, sizeof(id), "%s", sqlite3_column_text(s, 0));
		rc = existing_record(h, id, rec, hash, fields);
	} else if (step == SQLITE_DONE) {
		rc = insert_record(h, rec, ext, hash, fields);
	} else {
		rc = fail(h, "looking up a record");
	}
out:
	free(ext);
	free(fields);
	return rc;
}

int
harvest_follow(struct harvest *h, const char *url, const char *reason)
{
	sqlite3_stmt *s;

	/* The next page of a list is the repository's own, wherever a
	 * redirect took it: skipping it would end the list early. */
	if (strcmp(reason, "resume") != 0 &&
	    !source_follows_host(h->src, url)) {
		log_event(LOG_LEVEL_DEBUG, h->src->name, "%s: not on "
			"follow_hosts; not queued", url);
		return STORE_OK;
	}
	if (strcmp(reason, "follow") == 0 &&
	    (uint64_t)h->queued_now >= h->src->follow_max) {
		log_event(LOG_LEVEL_DEBUG, h->src->name, "%s: follow_max "
			"reached; not queued", url);
		return STORE_OK;
	}
	if (strcmp(reason, "resume") == 0)
		h->resumed = true;
	s = stmt(h, QUEUE_URL);
	if (bind_text(s, 1, h->src->name) || bind_text(s, 2, url) ||
	    bind_text(s, 3, reason) || sqlite3_bind_int64(s, 4, h->cap->id) ||
	    bind_text(s, 5, h->cap->fetched_at) ||
	    sqlite3_step(s) != SQLITE_DONE)
		return fail(h, "queueing a follow-up");
	if (sqlite3_changes(store_db(h->st)) > 0) {
		h->queued_now++;
		h->counts.queued++;
	}
	return STORE_OK;
}

/* The list a capture belongs to: an OAI-PMH list is a chain of pages,
 * each queued by the one before with reason "resume"; anything else is a
 * chain of one. */
struct chain {
	int64_t first;		/* capture of the first page */
	bool changes_only;	/* some page asked with from or until */
	char from[DATE_RFC3339_SIZE];	/* the first page's response date */
};

static int
read_chain(struct harvest *h, struct chain *c)
{
	static const char sql[] =
		"WITH RECURSIVE chain(id) AS (SELECT ?1 UNION"
		" SELECT queue.from_capture FROM chain"
		"  JOIN capture ON capture.id = chain.id"
		"  JOIN queue ON queue.id = capture.queue_id"
		"  WHERE queue.reason = 'resume')"
		" SELECT id, url, harvest_from FROM capture"
		" WHERE id IN (SELECT id FROM chain) ORDER BY id";
	sqlite3_stmt *s;
	int rc;

	*c = (struct chain){ .first = 0 };
	if (sqlite3_prepare_v2(store_db(h->st), sql, -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_bind_int64(s, 1, h->cap->id) != SQLITE_OK) {
		sqlite3_finalize(s);
		return fail(h, "reading the list's pages");
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *url = (const char *)sqlite3_column_text(s, 1);
		const char *from = (const char *)sqlite3_column_text(s, 2);

		if (c->first == 0) {
			c->first = sqlite3_column_int64(s, 0);
			snprintf(c->from, sizeof(c->from), "%s",
				from ? from : "");
		}
		if (url_query_has(url, "from") || url_query_has(url, "until"))
			c->changes_only = true;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || c->first == 0)
		return fail(h, "reading the list's pages");
	return STORE_OK;
}

/* Active records that no page of the complete snapshot listed become
 * gone, unless more than gone_max_share of them would vanish at once. */
static int
mark_gone(struct harvest *h, int64_t first_capture)
{
	static const char where[] = " WHERE source = ?1 AND state = 'active'"
		" AND coalesce(seen_capture, capture_id) < ?2";
	char sql[256];
	sqlite3 *db = store_db(h->st);
	sqlite3_stmt *s = NULL;
	int64_t active = 0, missing = 0;

	snprintf(sql, sizeof(sql), "SELECT (SELECT count(*) FROM record"
		" WHERE source = ?1 AND state = 'active'),"
		" (SELECT count(*) FROM record%s)", where);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, h->src->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 2, first_capture) ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return fail(h, "counting vanished records");
	}
	active = sqlite3_column_int64(s, 0);
	missing = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	if (missing == 0)
		return STORE_OK;
	if (missing * (int64_t)UNITS_SHARE_WHOLE > active *
	    (int64_t)h->src->gone_max_share) {
		log_event(LOG_LEVEL_WARN, h->src->name, "%lld of %lld records "
			"vanished at once, more than gone_max_share; none "
			"marked gone", (long long)missing, (long long)active);
		return STORE_OK;
	}
	snprintf(sql, sizeof(sql), "UPDATE record SET state = 'gone'%s",
		where);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, h->src->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 2, first_capture) ||
	    sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		return fail(h, "marking records gone");
	}
	sqlite3_finalize(s);
	h->counts.gone += (uint64_t)missing;
	return STORE_OK;
}

static int
set_harvest_from(struct harvest *h, const char *from)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(store_db(h->st), "UPDATE source"
	    " SET harvest_from = ?2 WHERE name = ?1", -1, &s, NULL) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(s, 1, h->src->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, from, -1, SQLITE_STATIC) ||
	    sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		return fail(h, "recording the harvest date");
	}
	sqlite3_finalize(s);
	return STORE_OK;
}

/* When a list ends (no next page queued): what it lacked is gone if it
 * was complete and asked for everything, and its first page's date is
 * where the next harvest starts. */
static int
end_list(struct harvest *h, bool complete, const char *harvest_from)
{
	struct chain c;
	int rc;

	if (h->resumed || (!complete && !harvest_from))
		return STORE_OK;
	if ((rc = read_chain(h, &c)) != STORE_OK)
		return rc;
	if (complete && !c.changes_only &&
	    (rc = mark_gone(h, c.first)) != STORE_OK)
		return rc;
	if (harvest_from && c.from[0])
		return set_harvest_from(h, c.from);
	return STORE_OK;
}

static int
finish_capture(struct harvest *h, const char *harvest_from)
{
	char now[DATE_RFC3339_SIZE];
	sqlite3_stmt *s = NULL;

	date_format_utc(time(NULL), now);
	if (sqlite3_prepare_v2(store_db(h->st), "UPDATE capture"
	    " SET parsed_at = ?2, parse_error = NULL, harvest_from = ?3"
	    " WHERE id = ?1", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 1, h->cap->id) ||
	    sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC) ||
	    bind_text(s, 3, harvest_from) ||
	    sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		return fail(h, "marking the capture parsed");
	}
	sqlite3_finalize(s);
	return STORE_OK;
}

int
harvest_commit(struct harvest *h, bool complete, const char *harvest_from,
	struct harvest_counts *counts)
{
	int rc;

	if ((rc = finish_capture(h, harvest_from)) != STORE_OK ||
	    (rc = end_list(h, complete, harvest_from)) != STORE_OK ||
	    (rc = store_commit(h->st)) != STORE_OK) {
		if (rc == STORE_OK)
			rc = STORE_ERROR;
		log_event(LOG_LEVEL_ERROR, h->src->name, "capture %lld: %s: "
			"%s", (long long)h->cap->id, store_path(h->st),
			h->error[0] ? h->error : store_errmsg(h->st));
		store_rollback(h->st);
		free(h);
		return rc;
	}
	counts->added += h->counts.added;
	counts->changed += h->counts.changed;
	counts->unchanged += h->counts.unchanged;
	counts->deleted += h->counts.deleted;
	counts->gone += h->counts.gone;
	counts->repended += h->counts.repended;
	counts->queued += h->counts.queued;
	free(h);
	return STORE_OK;
}

void
harvest_abort(struct harvest *h)
{
	if (!h)
		return;
	store_rollback(h->st);
	free(h);
}
