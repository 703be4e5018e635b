/* list, show and log: rows read into JSON, then printed as JSON, TSV or
 * for a person. Harvested text is hostile: control characters never
 * reach the terminal. */
#include "show.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "date.h"
#include "hash.h"
#include "log.h"
#include "review.h"

#define TITLE_WIDTH 60

/* ------------------------------------------------------------- output */

/* Writes S with control characters (ESC included) as spaces; at most MAX
 * bytes, cut at a UTF-8 character boundary with "..." (0: no limit). */
static void
put_text(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	bool cut = max && n > max;

	if (cut) {
		n = max - 3;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		putchar(c < 0x20 || c == 0x7F ? ' ' : c);
	}
	if (cut)
		fputs("...", stdout);
}

/* A JSON value as text: a string as itself, anything else compact. */
static char *
value_text(const json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (!v || json_is_null(v))
		return strdup("");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void
put_value(const json_t *v, size_t max)
{
	char *text = value_text(v);

	put_text(text, max);
	free(text);
}

static int
print_json(json_t *v)
{
	int rc = v && json_dumpf(v, stdout, JSON_INDENT(1) | JSON_SORT_KEYS |
		JSON_ENSURE_ASCII) == 0 && putchar('\n') != EOF ? 0 :
		EXIT_PARTIAL;

	json_decref(v);
	return rc;
}

/* A row's columns as a JSON object: the column names as keys, NULL as
 * null, integers as numbers. */
static json_t *
row_object(sqlite3_stmt *s)
{
	json_t *o = json_object();

	for (int i = 0; o && i < sqlite3_column_count(s); i++) {
		json_t *v;

		switch (sqlite3_column_type(s, i)) {
		case SQLITE_NULL: v = json_null(); break;
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(s, i));
			break;
		default:
			v = json_string((const char *)sqlite3_column_text(s,
				i));
		}
		if (!v || json_object_set_new(o, sqlite3_column_name(s, i),
		    v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* Steps S to the end, one object per row. NULL on error (logged). */
static json_t *
rows_array(struct store *st, sqlite3_stmt *s)
{
	json_t *rows = json_array(), *row;
	int rc;

	while (rows && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!(row = row_object(s)) || json_array_append_new(rows, row)) {
			json_decref(rows);
			rows = NULL;
		}
	}
	if (rows && rc != SQLITE_DONE) {
		json_decref(rows);
		rows = NULL;
	}
	if (!rows)
		log_error("%s: %s", store_path(st), sqlite3_errmsg(store_db(st)));
	return rows;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

json_t *
query_rows(struct store *st, const char *sql, const char *id)
{
	sqlite3_stmt *s = NULL;
	json_t *rows = NULL;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) ||
	    (sqlite3_bind_parameter_count(s) > 0 &&
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC)))
		log_error("%s: %s", store_path(st),
			sqlite3_errmsg(store_db(st)));
	else
		rows = rows_array(st, s);
	sqlite3_finalize(s);
	return rows;
}

/* --------------------------------------------------------------- list */

static const char list_sql[] =
	"SELECT r.id, r.consent, r.state, r.source, r.kind, r.changed_at,"
	" r.title FROM record r"
	" WHERE (?1 IS NULL OR r.consent = ?1)"
	" AND (?2 IS NULL OR r.source = ?2)"
	" AND (?3 IS NULL OR r.kind = ?3)"
	" AND (?4 IS NULL OR r.changed_at >= ?4)"
	" AND (?7 IS NULL OR r.state = ?7)"
	/* --changed: the content changed after the last decision on it;
	 * the programs' own events (by "cybil-...": a public source's new
	 * record, a re-pend, an expiry) are no decision */
	" AND (?5 = 0 OR r.changed_at > coalesce((SELECT max(e.at)"
	"  FROM consent_event e WHERE e.record_id = r.id"
	"  AND e.by NOT LIKE 'cybil-%'), r.first_seen))"
	" ORDER BY r.changed_at DESC, r.id LIMIT ?6 OFFSET ?8";

static void
list_table(const json_t *rows)
{
	size_t i;
	json_t *r;

	printf("%-32s  %-9s  %-7s  %-16s  %-20s  %s\n", "ID", "CONSENT",
		"STATE", "SOURCE", "CHANGED", "TITLE");
	json_array_foreach(rows, i, r) {
		printf("%-32s  %-9s  %-7s  ", str(r, "id"), str(r, "consent"),
			str(r, "state"));
		put_text(str(r, "source"), 16);
		printf("%*s  %-20s  ", (int)(16 - (strlen(str(r, "source")) >
			16 ? 16 : strlen(str(r, "source")))), "",
			str(r, "changed_at"));
		put_text(str(r, "title"), TITLE_WIDTH);
		putchar('\n');
	}
	printf("%zu records\n", json_array_size(rows));
}

static void
list_tsv(const json_t *rows)
{
	static const char *const cols[] = { "id", "consent", "state",
		"source", "kind", "changed_at", "title" };
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r) {
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
			if (c)
				putchar('\t');
			put_text(str(r, cols[c]), 0);
		}
		putchar('\n');
	}
}

static const char *const consent_states[] = { "pending", "public",
	"granted", "refused", "withdrawn", "all", NULL };
static const char *const states[] = { "active", "gone", "deleted", "all",
	NULL };

static bool
one_of(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(s, *names) == 0)
			return true;
	return false;
}

json_t *
list_rows(struct store *st, const struct list_filter *f, char *err,
	size_t errlen)
{
	const char *consent = f->consent ? f->consent : "pending";
	const char *state = f->state ? f->state : "active";
	char since[DATE_RFC3339_SIZE];
	struct date_value d;
	sqlite3_stmt *s = NULL;
	json_t *rows;

	*err = '\0';
	if (!one_of(consent, consent_states) || !one_of(state, states)) {
		snprintf(err, errlen, "consent is one of pending, public, "
			"granted, refused, withdrawn or all; state one of "
			"active, gone, deleted or all");
		return NULL;
	}
	if (f->since && date_parse_iso8601(f->since, &d) < 0) {
		snprintf(err, errlen, "since %s: not a date", f->since);
		return NULL;
	}
	if (f->since)
		date_format_utc(d.t, since);
	if (strcmp(consent, "all") == 0)
		consent = NULL;
	if (strcmp(state, "all") == 0)
		state = NULL;
	if (sqlite3_prepare_v2(store_db(st), list_sql, -1, &s, NULL) ||
	    sqlite3_bind_text(s, 1, consent, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, f->source, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, f->kind, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, f->since ? since : NULL, -1,
	    SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 5, f->changed) ||
	    sqlite3_bind_int64(s, 6, f->limit > 0 ? f->limit : -1) ||
	    sqlite3_bind_text(s, 7, state, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 8, f->offset)) {
		log_error("%s: %s", store_path(st),
			sqlite3_errmsg(store_db(st)));
		sqlite3_finalize(s);
		return NULL;
	}
	rows = rows_array(st, s);
	sqlite3_finalize(s);
	return rows;
}

int
show_list(struct store *st, const struct review_options *o)
{
	struct list_filter f = {
		.consent = o->consent, .state = o->state, .source = o->source,
		.kind = o->kind, .since = o->since, .changed = o->changed,
		.limit = o->limit,
	};
	char err[256];
	json_t *rows;

	if (o->nargs) {
		log_error("list takes options only");
		return EXIT_USAGE;
	}
	if (!(rows = list_rows(st, &f, err, sizeof(err)))) {
		if (!*err)
			return EXIT_PARTIAL;
		log_error("--%s", err);
		return EXIT_USAGE;
	}
	if (o->format == FORMAT_JSON)
		return print_json(rows);
	if (o->format == FORMAT_TSV)
		list_tsv(rows);
	else
		list_table(rows);
	json_decref(rows);
	return 0;
}

/* ---------------------------------------------------------------- log */

static const char log_sql[] =
	"SELECT id, at, by, record_id, old, new, basis, evidence, expires,"
	" note, hash FROM consent_event WHERE (?1 IS NULL OR record_id = ?1)"
	" ORDER BY id";

static void
put_event(const json_t *e, bool with_record)
{
	printf("#%lld %s %s", (long long)json_integer_value(
		json_object_get(e, "id")), str(e, "at"), str(e, "by"));
	if (with_record)
		printf(" %s", str(e, "record_id"));
	printf(": %s -> %s (%s)", str(e, "old"), str(e, "new"),
		str(e, "basis"));
	if (*str(e, "evidence")) {
		fputs(" evidence ", stdout);
		put_text(str(e, "evidence"), 0);
	}
	if (*str(e, "expires"))
		printf(" until %s", str(e, "expires"));
	if (*str(e, "note")) {
		fputs(" - ", stdout);
		put_text(str(e, "note"), 0);
	}
	putchar('\n');
}

static bool
record_exists(struct store *st, const char *id)
{
	json_t *rows = query_rows(st, "SELECT 1 FROM record WHERE id = ?1",
		id);
	bool found = json_array_size(rows) > 0;

	json_decref(rows);
	return found;
}

int
show_log(struct store *st, const struct review_options *o)
{
	json_t *rows, *e;
	size_t i;

	if (o->nargs > 1) {
		log_error("usage: log [ID]");
		return EXIT_USAGE;
	}
	if (!(rows = query_rows(st, log_sql, o->nargs ? o->args[0] : NULL)))
		return EXIT_PARTIAL;
	if (o->nargs && json_array_size(rows) == 0 &&
	    !record_exists(st, o->args[0])) {
		json_decref(rows);
		log_error("%s: no such record", o->args[0]);
		return EXIT_USAGE;
	}
	if (o->format == FORMAT_JSON)
		return print_json(rows);
	json_array_foreach(rows, i, e)
		put_event(e, o->nargs == 0);
	json_decref(rows);
	return 0;
}

/* --------------------------------------------------------------- show */

static const char record_sql[] =
	"SELECT r.id, r.source, r.kind, r.external_id, r.title, r.url,"
	" r.fields, r.state, r.consent, r.consent_basis, r.consent_expires,"
	" r.first_seen, r.last_seen, r.changed_at, r.content_sha256,"
	" r.parser, r.parser_version, r.capture_id, c.url AS capture_url,"
	" c.final_url, c.fetched_at, c.status, c.content_type,"
	" c.sha256 AS body_sha256"
	" FROM record r LEFT JOIN capture c ON c.id = r.capture_id"
	" WHERE r.id = ?1";
static const char corrections_sql[] =
	"SELECT field, value, by, at, note, harvested_sha256"
	" FROM correction WHERE record_id = ?1 ORDER BY field";
static const char suggestions_sql[] =
	"SELECT id, field, value, contact, note, at FROM suggestion"
	" WHERE record_id = ?1 AND state = 'pending' ORDER BY id";


/* The field list: each harvested field with its correction beside it;
 * a correction whose harvested value has changed since is a conflict. */
static json_t *
field_list(const json_t *rec, const json_t *corrections)
{
	json_t *fields = json_loads(str(rec, "fields"), 0, NULL);
	json_t *list = json_array(), *harvested = json_object(), *c, *v;
	const char *key;
	size_t i;

	if (!fields || !list || !harvested)
		goto fail;
	json_object_set_new(harvested, "title", json_incref(json_object_get(
		rec, "title")));
	json_object_set_new(harvested, "url", json_incref(json_object_get(
		rec, "url")));
	json_object_update(harvested, fields);
	json_array_foreach(corrections, i, c)
		if (!json_object_get(harvested, str(c, "field")))
			json_object_set_new(harvested, str(c, "field"),
				json_null());
	json_object_foreach(harvested, key, v) {
		json_t *item = json_pack("{s:s, s:O}", "field", key,
			"harvested", v);
		size_t j;

		if (!item || json_array_append_new(list, item))
			goto fail;
		json_array_foreach(corrections, j, c) {
			char hex[HASH_HEX_SIZE];
			json_t *corr;

			if (strcmp(str(c, "field"), key) ||
			    review_harvested_hash(json_string_value(
			    json_object_get(rec, "title")), json_string_value(
			    json_object_get(rec, "url")), str(rec, "fields"),
			    key, hex) < 0 || !(corr = json_deep_copy(c)))
				continue;
			json_object_del(corr, "field");
			json_object_del(corr, "harvested_sha256");
			json_object_set_new(corr, "conflict", json_boolean(
				strcmp(hex, str(c, "harvested_sha256")) != 0));
			json_object_set_new(item, "correction", corr);
		}
	}
	json_decref(fields);
	json_decref(harvested);
	return list;
fail:
	json_decref(fields);
	json_decref(harvested);
	json_decref(list);
	return NULL;
}

json_t *
record_view(struct store *st, const char *id)
{
	json_t *recs = query_rows(st, record_sql, id), *rec, *corrections;
	json_t *view = NULL;

	if (!recs)
		return NULL;
	if (json_array_size(recs) == 0) {
		json_decref(recs);
		log_error("%s: no such record", id);
		return json_null();
	}
	rec = json_array_get(recs, 0);
	corrections = query_rows(st, corrections_sql, id);
	view = json_pack("{s:O, s:o?, s:o?, s:o?}", "record", rec,
		"fields", corrections ? field_list(rec, corrections) : NULL,
		"history", query_rows(st, log_sql, id),
		"suggestions", query_rows(st, suggestions_sql, id));
	json_decref(corrections);
	json_decref(recs);
	if (view)
		json_object_del(json_object_get(view, "record"), "fields");
	return view;
}

static void
show_text(const json_t *view)
{
	const json_t *r = json_object_get(view, "record"), *f, *c;
	size_t i;

	printf("record     %s\n", str(r, "id"));
	printf("source     %s (%s, external id ", str(r, "source"),
		str(r, "kind"));
	put_text(str(r, "external_id"), 0);
	printf(")\nstate      %s; consent %s", str(r, "state"),
		str(r, "consent"));
	if (*str(r, "consent_basis"))
		printf(" (%s)", str(r, "consent_basis"));
	if (*str(r, "consent_expires"))
		printf(" until %s", str(r, "consent_expires"));
	printf("\nseen       first %s, last %s, changed %s\n",
		str(r, "first_seen"), str(r, "last_seen"),
		str(r, "changed_at"));
	printf("capture    %lld %s", (long long)json_integer_value(
		json_object_get(r, "capture_id")), str(r, "fetched_at"));
	if (json_is_integer(json_object_get(r, "status")))
		printf(" HTTP %lld", (long long)json_integer_value(
			json_object_get(r, "status")));
	fputs("\n           ", stdout);
	put_text(str(r, "capture_url"), 0);
	if (*str(r, "final_url") && strcmp(str(r, "final_url"),
	    str(r, "capture_url"))) {
		fputs(" -> ", stdout);
		put_text(str(r, "final_url"), 0);
	}
	printf("\n           body sha256 %s\n", str(r, "body_sha256"));
	printf("parser     %s %s, content sha256 %s\n", str(r, "parser"),
		str(r, "parser_version"), str(r, "content_sha256"));
	puts("fields");
	json_array_foreach(json_object_get(view, "fields"), i, f) {
		printf("  %-22s ", str(f, "field"));
		put_value(json_object_get(f, "harvested"), 200);
		putchar('\n');
		if (!(c = json_object_get(f, "correction")))
			continue;
		printf("  %-22s corrected to \"", "");
		put_text(str(c, "value"), 200);
		printf("\" by %s at %s%s\n", str(c, "by"), str(c, "at"),
			json_is_true(json_object_get(c, "conflict")) ?
			"  CONFLICT: changed at the source since" : "");
	}
	puts("consent history");
	json_array_foreach(json_object_get(view, "history"), i, f) {
		fputs("  ", stdout);
		put_event(f, false);
	}
	puts("pending suggestions");
	json_array_foreach(json_object_get(view, "suggestions"), i, f) {
		printf("  #%lld %s %s = \"", (long long)json_integer_value(
			json_object_get(f, "id")), str(f, "at"),
			str(f, "field"));
		put_text(str(f, "value"), 200);
		fputs("\" from ", stdout);
		put_text(str(f, "contact"), 0);
		putchar('\n');
	}
}

int
show_record(struct store *st, const struct review_options *o)
{
	json_t *view;

	if (o->nargs != 1) {
		log_error("usage: show ID");
		return EXIT_USAGE;
	}
	if (!(view = record_view(st, o->args[0])))
		return EXIT_PARTIAL;
	if (json_is_null(view))
		return EXIT_USAGE;
	if (o->format == FORMAT_JSON)
		return print_json(view);
	show_text(view);
	json_decref(view);
	return 0;
}
