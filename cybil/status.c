/* cybil status: per source the fetch health, then records by state and
 * consent, what awaits review, the audit log and the latest release. The
 * report is gathered once, in one read transaction, as a JSON object;
 * --json prints it as is, otherwise it is rendered as text. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "cybil.h"
#include "date.h"
#include "log.h"
#include "store.h"

/* The value of column COL as JSON: text, integer or null. */
static json_t *
column_json(sqlite3_stmt *stmt, int col)
{
	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(stmt, col));
	case SQLITE_NULL:
		return json_null();
	default:
		return json_string((const char *)sqlite3_column_text(stmt,
			col));
	}
}

/* Runs SQL (with ?1 bound to ARG unless NULL) and returns its rows as
 * objects keyed by column name, or NULL on error. */
static json_t *
query_rows(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *stmt;
	json_t *rows = json_array(), *row;
	int rc;

	if (!rows || sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	if (arg && sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC)) {
		sqlite3_finalize(stmt);
		goto fail;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (!(row = json_object()) ||
		    json_array_append_new(rows, row) < 0)
			break;
		for (int i = 0; i < sqlite3_column_count(stmt); i++)
			if (json_object_set_new(row, sqlite3_column_name(stmt,
			    i), column_json(stmt, i)) < 0)
				break;
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return rows;
fail:
	json_decref(rows);
	return NULL;
}

/* Rows of (name, n) as one object {name: n}. */
static json_t *
query_counts(sqlite3 *db, const char *sql)
{
	json_t *rows = query_rows(db, sql, NULL), *counts = json_object(), *r;
	size_t i;

	if (!rows || !counts)
		goto fail;
	json_array_foreach(rows, i, r)
		if (json_object_set(counts, json_string_value(json_object_get(r,
		    "name")), json_object_get(r, "n")) < 0)
			goto fail;
	json_decref(rows);
	return counts;
fail:
	json_decref(rows);
	json_decref(counts);
	return NULL;
}

static json_t *
query_one(sqlite3 *db, const char *sql)
{
	json_t *rows = query_rows(db, sql, NULL), *row;

	if (!rows)
		return NULL;
	row = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) :
		json_null();
	json_decref(rows);
	return row;
}

/* Configured sources with their fetch state, then those no longer in
 * the configuration. */
static json_t *
gather_sources(sqlite3 *db, const struct config *cfg)
{
	json_t *list = json_array(), *rows, *by_name = json_object(), *src;
	size_t i;

	if (!list || !by_name || !(rows = query_rows(db, "SELECT name, kind,"
	    " last_success, failures, next_due, last_error, configured"
	    " FROM source ORDER BY name", NULL)))
		goto fail;
	json_array_foreach(rows, i, src)
		if (json_object_set(by_name, json_string_value(
		    json_object_get(src, "name")), src) < 0)
			goto fail_rows;
	for (i = 0; i < cfg->nsources; i++) {
		const struct source_config *sc = &cfg->sources[i];

		src = json_object_get(by_name, sc->name);
		src = src ? json_deep_copy(src) : json_pack("{s:n, s:i, s:n,"
			" s:n}", "last_success", "failures", 0, "next_due",
			"last_error");
		if (!src || json_object_set_new(src, "name",
		    json_string(sc->name)) < 0 || json_object_set_new(src,
		    "kind", json_string(config_kind_name(sc->kind))) < 0 ||
		    json_object_set_new(src, "configured", json_true()) < 0 ||
		    json_array_append_new(list, src) < 0)
			goto fail_rows;
	}
	json_array_foreach(rows, i, src) {
		if (json_integer_value(json_object_get(src, "configured")))
			continue;
		if (json_object_set_new(src, "configured", json_false()) < 0 ||
		    json_array_append(list, src) < 0)
			goto fail_rows;
	}
	json_decref(rows);
	json_decref(by_name);
	return list;
fail_rows:
	json_decref(rows);
fail:
	json_decref(by_name);
	json_decref(list);
	return NULL;
}

static json_t *
gather(struct store *st, const struct config *cfg)
{
	sqlite3 *db = store_db(st);
	char head[HASH_HEX_SIZE], why[256];
	int64_t bad_event;
	json_t *report, *audit;

	if (audit_head(st, head) != STORE_OK ||
	    audit_verify(st, &bad_event, why, sizeof(why)) != STORE_OK)
		return NULL;
	report = json_pack("{s:s, s:i, s:o*, s:o*, s:o*, s:o*, s:o*, s:o*}",
		"store", cfg->store_path, "schema", store_schema_version(),
		"sources", gather_sources(db, cfg),
		"records", query_counts(db, "SELECT state AS name, count(*)"
		" AS n FROM record GROUP BY state ORDER BY state"),
		"consent", query_counts(db, "SELECT consent AS name, count(*)"
		" AS n FROM record GROUP BY consent ORDER BY consent"),
		"review", query_one(db, "SELECT"
		" (SELECT count(*) FROM record WHERE consent = 'pending'"
		"  AND state = 'active') AS pending,"
		" (SELECT count(*) FROM suggestion WHERE state = 'pending')"
		"  AS suggestions"),
		"audit", query_one(db, "SELECT count(*) AS events"
		" FROM consent_event"),
		"release", query_one(db, "SELECT serial, state, created, records"
		" FROM release ORDER BY serial DESC LIMIT 1"));
	/* json_pack fails as a whole if any piece is missing (s:o*
	 * tolerates NULL, so check the pieces that must be there). */
	if (!report || !json_object_get(report, "sources") ||
	    !json_object_get(report, "records") ||
	    !json_object_get(report, "consent") ||
	    !json_object_get(report, "review") ||
	    !json_object_get(report, "audit") ||
	    !json_object_get(report, "release") ||
	    !(audit = json_object_get(report, "audit")) ||
	    json_object_set_new(audit, "head", json_string(head)) < 0 ||
	    json_object_set_new(audit, "intact", json_boolean(bad_event ==
	    0)) < 0 ||
	    (bad_event && (json_object_set_new(audit, "bad_event",
	    json_integer(bad_event)) < 0 || json_object_set_new(audit, "why",
	    json_string(why)) < 0))) {
		json_decref(report);
		return NULL;
	}
	return report;
}

static const char *
text_or(const json_t *obj, const char *key, const char *fallback)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : fallback;
}

static long long
number(const json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

static void
print_source(const json_t *src, const char *now)
{
	const char *due = text_or(src, "next_due", NULL);

	if (!json_is_true(json_object_get(src, "configured"))) {
		printf("  %-20s removed from the config; its records are "
			"withheld\n", text_or(src, "name", "?"));
		return;
	}
	printf("  %-20s %-8s %-21s %8lld  %s\n", text_or(src, "name", "?"),
		text_or(src, "kind", "?"), text_or(src, "last_success",
		"never"), number(src, "failures"),
		!due || strcmp(due, now) <= 0 ? "due" : due);
	if (number(src, "failures") > 0)
		printf("  %-20s last error: %s\n", "", text_or(src,
			"last_error", "?"));
}

/* "LABEL a N, b N" or "LABEL none". */
static void
print_counts(const char *label, const json_t *counts)
{
	const char *key;
	json_t *n;
	int i = 0;

	printf("%-8s", label);
	json_object_foreach((json_t *)counts, key, n)
		printf("%s%s %lld", i++ ? ", " : " ", key,
			(long long)json_integer_value(n));
	printf("%s\n", i ? "" : " none");
}

static void
print_text(const json_t *report)
{
	const json_t *sources = json_object_get(report, "sources");
	const json_t *review = json_object_get(report, "review");
	const json_t *audit = json_object_get(report, "audit");
	const json_t *release = json_object_get(report, "release");
	char now[DATE_RFC3339_SIZE];
	size_t i, configured = 0;
	json_t *src;

	date_format_utc(time(NULL), now);
	printf("store    %s (schema %lld)\n", text_or(report, "store", "?"),
		number(report, "schema"));
	json_array_foreach((json_t *)sources, i, src)
		configured += json_is_true(json_object_get(src, "configured"));
	printf("sources (%zu configured)\n", configured);
	if (configured)
		printf("  %-20s %-8s %-21s %8s  %s\n", "NAME", "KIND",
			"LAST SUCCESS", "FAILURES", "NEXT DUE");
	json_array_foreach((json_t *)sources, i, src)
		print_source(src, now);
	print_counts("records", json_object_get(report, "records"));
	print_counts("consent", json_object_get(report, "consent"));
	printf("review   %lld record%s await a decision, %lld suggestion%s "
		"pending\n", number(review, "pending"),
		number(review, "pending") == 1 ? "" : "s",
		number(review, "suggestions"),
		number(review, "suggestions") == 1 ? "" : "s");
	printf("audit    %lld event%s, head %.16s, ", number(audit, "events"),
		number(audit, "events") == 1 ? "" : "s",
		text_or(audit, "head", "?"));
	if (json_is_true(json_object_get(audit, "intact")))
		printf("chain intact\n");
	else
		printf("chain BROKEN at %s %lld: %s\n", number(audit,
			"bad_event") < 0 ? "release" : "event",
			llabs(number(audit, "bad_event")), text_or(audit, "why",
			"?"));
	if (json_is_null(release))
		printf("release  none yet\n");
	else
		printf("release  %06lld (%s) %s, %lld records\n",
			number(release, "serial"), text_or(release, "state",
			"?"), text_or(release, "created", "?"),
			number(release, "records"));
}

int
cmd_status(const struct front_options *opt)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	json_t *report = NULL;
	int rc;

	if ((rc = cli_load_config(opt->config, &cfg, NULL)) != 0)
		return rc;
	if ((rc = cli_open_store(cfg, &st)) != 0)
		goto out;
	/* One read transaction: every number comes from the same moment. */
	if ((rc = store_begin(st, false)) != STORE_OK ||
	    !(report = gather(st, cfg))) {
		log_error("%s: %s", cfg->store_path, store_errmsg(st));
		rc = store_result(sqlite3_errcode(store_db(st))) == STORE_BUSY ?
			EXIT_TEMPFAIL : EXIT_PARTIAL;
		goto out;
	}
	if (opt->json) {
		if (json_dumpf(report, stdout, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER) == 0)
			putchar('\n');
	} else {
		print_text(report);
	}
	/* A broken audit chain is an integrity failure, also for monitors
	 * that read only the exit status. */
	rc = json_is_true(json_object_get(json_object_get(report, "audit"),
		"intact")) ? 0 : EXIT_REFUSED;
out:
	json_decref(report);
	if (st)
		store_rollback(st);
	store_close(st);
	config_free(cfg);
	return rc;
}
