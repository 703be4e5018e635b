/* cybil status: per source the fetch health, then records by state and
 * consent, what awaits review, the audit log and the latest release. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "cybil.h"
#include "date.h"
#include "log.h"
#include "store.h"

static const char *
text_or(sqlite3_stmt *stmt, int col, const char *fallback)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	return s ? (const char *)s : fallback;
}

/* "due", or the time it becomes due. */
static const char *
next_due(sqlite3_stmt *stmt, int col, const char *now)
{
	const char *due = text_or(stmt, col, NULL);

	return !due || strcmp(due, now) <= 0 ? "due" : due;
}

static int
print_source(sqlite3 *db, const struct source_config *src, const char *now)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT last_success, failures, next_due,"
		" last_error FROM source WHERE name = ?1", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(stmt, 1, src->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		printf("  %-20s %-8s %-21s %8d  %s\n", src->name,
			config_kind_name(src->kind),
			text_or(stmt, 0, "never"), sqlite3_column_int(stmt, 1),
			next_due(stmt, 2, now));
		if (sqlite3_column_int(stmt, 1) > 0)
			printf("  %-20s last error: %s\n", "",
				text_or(stmt, 3, "?"));
	} else if (rc == SQLITE_DONE) {
		printf("  %-20s %-8s %-21s %8d  %s\n", src->name,
			config_kind_name(src->kind), "never", 0, "due");
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
print_sources(sqlite3 *db, const struct config *cfg, const char *now)
{
	sqlite3_stmt *stmt;
	int rc;

	printf("sources (%zu configured)\n", cfg->nsources);
	if (cfg->nsources)
		printf("  %-20s %-8s %-21s %8s  %s\n", "NAME", "KIND",
			"LAST SUCCESS", "FAILURES", "NEXT DUE");
	for (size_t i = 0; i < cfg->nsources; i++)
		if ((rc = print_source(db, &cfg->sources[i], now)) != SQLITE_OK)
			return rc;
	rc = sqlite3_prepare_v2(db, "SELECT name FROM source"
		" WHERE configured = 0 ORDER BY name", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		printf("  %-20s removed from the config; its records are "
			"withheld\n", text_or(stmt, 0, "?"));
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Prints "LABEL a N, b N, ..." from a query of (name, count) rows. */
static int
print_counts(sqlite3 *db, const char *label, const char *sql)
{
	sqlite3_stmt *stmt;
	int rc, n = 0;

	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	printf("%-8s", label);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		printf("%s%s %lld", n++ ? ", " : " ", text_or(stmt, 0, "?"),
			(long long)sqlite3_column_int64(stmt, 1));
	printf("%s\n", n ? "" : " none");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static long long
count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	long long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

static int
print_review(struct store *st)
{
	sqlite3 *db = store_db(st);
	char head[HASH_HEX_SIZE];
	long long pending, suggestions, events;

	pending = count(db, "SELECT count(*) FROM record"
		" WHERE consent = 'pending' AND state = 'active'");
	suggestions = count(db, "SELECT count(*) FROM suggestion"
		" WHERE state = 'pending'");
	events = count(db, "SELECT count(*) FROM consent_event");
	if (pending < 0 || suggestions < 0 || events < 0 ||
	    audit_head(st, head) != STORE_OK)
		return SQLITE_ERROR;
	printf("review   %lld record%s await a decision, %lld suggestion%s "
		"pending\n", pending, pending == 1 ? "" : "s", suggestions,
		suggestions == 1 ? "" : "s");
	printf("audit    %lld event%s, head %.16s\n", events,
		events == 1 ? "" : "s", head);
	return SQLITE_OK;
}

static int
print_release(sqlite3 *db)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT serial, state, created, records"
		" FROM release ORDER BY serial DESC LIMIT 1", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		printf("release  %06lld (%s) %s, %lld records\n",
			(long long)sqlite3_column_int64(stmt, 0),
			text_or(stmt, 1, "?"), text_or(stmt, 2, "?"),
			(long long)sqlite3_column_int64(stmt, 3));
	else if (rc == SQLITE_DONE)
		printf("release  none yet\n");
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
cmd_status(const struct front_options *opt)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	char now[DATE_RFC3339_SIZE];
	sqlite3 *db;
	int rc;

	if ((rc = cli_load_config(opt->config, &cfg, NULL)) != 0)
		return rc;
	if ((rc = cli_open_store(cfg, &st)) != 0)
		goto out;
	db = store_db(st);
	date_format_utc(time(NULL), now);
	/* One read transaction: every number comes from the same moment. */
	if ((rc = store_begin(st, false)) != STORE_OK) {
		rc = rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
		goto out;
	}
	printf("store    %s (schema %d)\n", cfg->store_path,
		store_schema_version());
	if ((rc = print_sources(db, cfg, now)) != SQLITE_OK ||
	    (rc = print_counts(db, "records", "SELECT state, count(*)"
	    " FROM record GROUP BY state ORDER BY state")) != SQLITE_OK ||
	    (rc = print_counts(db, "consent", "SELECT consent, count(*)"
	    " FROM record GROUP BY consent ORDER BY consent")) != SQLITE_OK ||
	    (rc = print_review(st)) != SQLITE_OK ||
	    (rc = print_release(db)) != SQLITE_OK) {
		log_error("%s: %s", cfg->store_path, sqlite3_errmsg(db));
		rc = store_result(rc) == STORE_BUSY ? EXIT_TEMPFAIL :
			EXIT_PARTIAL;
		goto out;
	}
	rc = 0;
out:
	if (st)
		store_rollback(st);
	store_close(st);
	config_free(cfg);
	return rc;
}
