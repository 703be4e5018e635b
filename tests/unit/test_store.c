/* Unit tests of include/store.h and include/audit.h: the schema of SPEC §4,
 * migrations, source sync, the consent rules in the schema and the
 * hash-chained audit log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "hash.h"
#include "store.h"

#define RECORD_A "0123456789abcdef0123456789abcdef"
#define RECORD_B "fedcba9876543210fedcba9876543210"
#define SHA_ZERO \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define SHA_ONE \
	"1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
	char dir[64];
	char db[128];
	char err[1024];
	struct store *st;
	char *text;		/* freed at teardown */
};

static int
remove_entry(const char *path, const struct stat *sb, int type,
	struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || hash_init_library() < 0)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cybil-test-store-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->db, sizeof(fx->db), "%s/cybil.db", fx->dir);
	if (store_open(fx->db, &fx->st, fx->err, sizeof(fx->err)) !=
	    STORE_OK) {
		fprintf(stderr, "store_open: %s\n", fx->err);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = 0;

	store_close(fx->st);
	free(fx->text);
	if (nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		rc = -1;
	free(fx);
	return rc;
}

static sqlite3 *
db_of(struct fixture *fx)
{
	return store_db(fx->st);
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* Runs SQL, which must fail with a message containing WHY (when given). */
static void
exec_refused(sqlite3 *db, const char *sql, const char *why)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK)
		fail_msg("accepted: %s", sql);
	if (why && (!msg || !strstr(msg, why))) {
		char copy[512];

		snprintf(copy, sizeof(copy), "%s", msg ? msg : "(none)");
		sqlite3_free(msg);
		fail_msg("%s: error \"%s\" lacks \"%s\"", sql, copy, why);
	}
	sqlite3_free(msg);
}

static int64_t
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		fail_msg("%s: no row", sql);
	}
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The first column of the first row as text ("" for NULL), or "(no row)". */
static const char *
query_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(stmt, 0);

		snprintf(buf, size, "%s", t ? (const char *)t : "");
	} else {
		snprintf(buf, size, "(no row)");
	}
	sqlite3_finalize(stmt);
	return buf;
}

/* Every row of SQL (one text column each), joined with "\n". Owned. */
static char *
query_all(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	size_t len = 0;
	char *out = calloc(1, 1);

	assert_non_null(out);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(stmt); c++) {
			const char *t = (const char *)sqlite3_column_text(
				stmt, c);
			size_t n = t ? strlen(t) : 4;
			char *grown = realloc(out, len + n + 2);

			assert_non_null(grown);
			out = grown;
			memcpy(out + len, t ? t : "NULL", n);
			len += n;
			out[len++] = c + 1 < sqlite3_column_count(stmt) ?
				'|' : '\n';
			out[len] = '\0';
		}
	}
	sqlite3_finalize(stmt);
	return out;
}

/* Does TABLE (or view) have every column in the NULL-terminated list? */
static void
assert_columns(sqlite3 *db, const char *table, const char *const *columns)
{
	char sql[256], buf[128];

	for (size_t i = 0; columns[i]; i++) {
		snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info("
			"'%s') WHERE name = '%s'", table, columns[i]);
		if (strcmp(query_text(db, sql, buf, sizeof(buf)), columns[i]))
			fail_msg("%s has no column %s", table, columns[i]);
	}
}

static void
add_source(sqlite3 *db, const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT INTO source (name, kind, url, "
		"added_at) VALUES ('%s', 'rss', 'https://%s.example/feed', "
		"'2024-01-01T00:00:00Z')", name, name);
	exec_ok(db, sql);
}

/* Inserts a record_key and a record with CONSENT; returns SQLite's rc. */
static int
insert_record(sqlite3 *db, const char *id, const char *source,
	const char *external_id, const char *consent)
{
	char sql[1024];

	snprintf(sql, sizeof(sql), "INSERT INTO record_key (source, "
		"external_id, record_id) VALUES ('%s', '%s', '%s')", source,
		external_id, id);
	exec_ok(db, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO record (id, source, kind, "
		"external_id, title, url, content_sha256, first_seen, "
		"last_seen, changed_at, parser, parser_version, consent) "
		"VALUES ('%s', '%s', 'news', '%s', 'A title', "
		"'https://e.example/%s', '%s', '2024-01-01T00:00:00Z', "
		"'2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 'rss', '1', "
		"'%s')", id, source, external_id, external_id, SHA_ZERO,
		consent);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* A source "s" with pending records A and B. */
static void
add_two_records(struct fixture *fx)
{
	sqlite3 *db = db_of(fx);

	add_source(db, "s");
	assert_int_equal(insert_record(db, RECORD_A, "s", "a", "pending"),
		SQLITE_OK);
	assert_int_equal(insert_record(db, RECORD_B, "s", "b", "pending"),
		SQLITE_OK);
}

static int
append(struct fixture *fx, const char *record, const char *state,
	const char *basis, const char *evidence, const char *note,
	char hash[HASH_HEX_SIZE])
{
	struct consent_change change = {
		.record_id = record, .new_state = state, .basis = basis,
		.evidence = evidence, .by = "manager@example.org",
		.note = note, .at = "2024-05-01T10:00:00Z",
	};
	int rc;

	if ((rc = store_begin(fx->st, true)) != STORE_OK)
		return rc;
	rc = audit_append(fx->st, &change, hash, fx->err, sizeof(fx->err));
	if (rc == STORE_OK)
		return store_commit(fx->st);
	store_rollback(fx->st);
	return rc;
}

static void
append_ok(struct fixture *fx, const char *record, const char *state,
	const char *basis, const char *evidence, const char *note,
	char hash[HASH_HEX_SIZE])
{
	if (append(fx, record, state, basis, evidence, note, hash) !=
	    STORE_OK)
		fail_msg("audit_append %s -> %s: %s", record, state, fx->err);
}

/* Three events: A public, B granted, A withdrawn. */
static void
three_events(struct fixture *fx, char hashes[3][HASH_HEX_SIZE])
{
	add_two_records(fx);
	append_ok(fx, RECORD_A, "public", "public-source",
		"https://e.example/a", "seen on the site", hashes[0]);
	append_ok(fx, RECORD_B, "granted", "owner-consent", SHA_ONE,
		"signed form", hashes[1]);
	append_ok(fx, RECORD_A, "withdrawn", "owner-request", NULL, NULL,
		hashes[2]);
}

static const char *
consent_of(struct fixture *fx, const char *id, char *buf, size_t size)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT consent FROM record WHERE id = "
		"'%s'", id);
	return query_text(db_of(fx), sql, buf, size);
}

/* ------------------------------------------------------------------ */
/* Schema */

static void
test_fresh_store_pragmas(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char buf[64];

	assert_true(store_schema_version() >= 1);
	assert_int_equal(query_int(db, "PRAGMA user_version"),
		store_schema_version());
	assert_string_equal(query_text(db, "PRAGMA journal_mode", buf,
		sizeof(buf)), "wal");
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(db, "PRAGMA busy_timeout"),
		STORE_BUSY_TIMEOUT_MS);
	assert_string_equal(store_path(fx->st), fx->db);
	assert_int_equal(access(fx->db, F_OK), 0);
}

static void
test_open_creates_parent_folders(void **state)
{
	struct fixture *fx = *state;
	struct store *st = NULL;
	char path[256];

	snprintf(path, sizeof(path), "%s/a/b/c/cybil.db", fx->dir);
	if (store_open(path, &st, fx->err, sizeof(fx->err)) != STORE_OK)
		fail_msg("store_open: %s", fx->err);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(query_int(store_db(st), "PRAGMA user_version"),
		store_schema_version());
	store_close(st);
}

static void
test_open_failure_reports_path(void **state)
{
	struct fixture *fx = *state;
	struct store *st = (struct store *)&st;
	char path[256], blocker[256];
	FILE *f;

	/* A regular file where the folder should be. */
	snprintf(blocker, sizeof(blocker), "%s/file", fx->dir);
	assert_non_null(f = fopen(blocker, "w"));
	fclose(f);
	snprintf(path, sizeof(path), "%s/file/sub/cybil.db", fx->dir);
	assert_int_equal(store_open(path, &st, fx->err, sizeof(fx->err)),
		STORE_ERROR);
	assert_null(st);
	assert_non_null(strstr(fx->err, path));
}

static void
test_spec_tables_and_columns(void **state)
{
	static const char *const source[] = { "name", "kind", "url", "etag",
		"last_modified", "last_success", "failures", "next_due",
		"configured", NULL };
	static const char *const capture[] = { "id", "source", "url",
		"final_url", "status", "content_type", "etag", "last_modified",
		"bytes", "sha256", "error", "fetched_at", NULL };
	static const char *const record[] = { "id", "source", "kind",
		"external_id", "title", "url", "fields", "state", "consent",
		"content_sha256", "first_seen", "last_seen", "capture_id",
		"parser", "parser_version", NULL };
	static const char *const consent_event[] = { "id", "record_id", "old",
		"new", "basis", "evidence", "expires", "by", "at", "note",
		"prev_hash", "hash", NULL };
	static const char *const correction[] = { "record_id", "field",
		"value", "by", "at", "harvested_sha256", NULL };
	static const char *const release[] = { "serial", "state", "created",
		"records", "sha256", NULL };
	static const char *const publishable[] = { "id", NULL };
	static const char *const queue[] = { "id", "source", "url", NULL };
	static const char *const record_key[] = { "source", "external_id",
		"record_id", NULL };
	static const char *const suggestion[] = { "record_id", "field",
		"value", "contact", "note", "state", NULL };
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char buf[64];

	assert_columns(db, "source", source);
	assert_columns(db, "capture", capture);
	assert_columns(db, "record", record);
	assert_columns(db, "consent_event", consent_event);
	assert_columns(db, "correction", correction);
	assert_columns(db, "release", release);
	assert_columns(db, "publishable", publishable);
	assert_columns(db, "queue", queue);
	assert_columns(db, "record_key", record_key);
	assert_columns(db, "suggestion", suggestion);
	assert_string_equal(query_text(db, "SELECT type FROM sqlite_schema "
		"WHERE name = 'publishable'", buf, sizeof(buf)), "view");
	/* A made-up column is not found: the check above is real. */
	assert_int_equal(query_int(db, "SELECT count(*) FROM "
		"pragma_table_info('record') WHERE name = 'no_such_column'"),
		0);
}

/* The schema of the store at PATH, as text. Owned. */
static char *
schema_of(const char *path)
{
	struct store *st = NULL;
	char err[512];
	char *text;

	if (store_open(path, &st, err, sizeof(err)) != STORE_OK)
		fail_msg("store_open %s: %s", path, err);
	text = query_all(store_db(st), "SELECT type, name, sql FROM "
		"sqlite_schema ORDER BY name");
	assert_int_equal(query_int(store_db(st), "PRAGMA user_version"),
		store_schema_version());
	store_close(st);
	return text;
}

static void
test_migration_from_every_earlier_version(void **state)
{
	struct fixture *fx = *state;
	char *fresh = query_all(db_of(fx), "SELECT type, name, sql FROM "
		"sqlite_schema ORDER BY name");

	assert_non_null(strstr(fresh, "table|consent_event|"));
	for (int v = 0; v < store_schema_version(); v++) {
		struct store *st = NULL;
		char path[256], *migrated;

		snprintf(path, sizeof(path), "%s/v%d.db", fx->dir, v);
		if (store_open_at_version(path, v, &st, fx->err,
		    sizeof(fx->err)) != STORE_OK)
			fail_msg("store_open_at_version %d: %s", v, fx->err);
		assert_int_equal(query_int(store_db(st), "PRAGMA user_version"),
			v);
		store_close(st);
		migrated = schema_of(path);
		if (strcmp(migrated, fresh) != 0) {
			fprintf(stderr, "from v%d:\n%s\nfresh:\n%s\n", v,
				migrated, fresh);
			free(migrated);
			free(fresh);
			fail_msg("schema migrated from version %d differs", v);
		}
		free(migrated);
	}
	free(fresh);
}

static void
test_reopen_keeps_data_and_schema(void **state)
{
	struct fixture *fx = *state;
	char *before, *after;

	add_two_records(fx);
	before = query_all(db_of(fx), "SELECT type, name, sql FROM "
		"sqlite_schema ORDER BY name");
	store_close(fx->st);
	fx->st = NULL;
	if (store_open(fx->db, &fx->st, fx->err, sizeof(fx->err)) != STORE_OK)
		fail_msg("reopen: %s", fx->err);
	after = query_all(db_of(fx), "SELECT type, name, sql FROM "
		"sqlite_schema ORDER BY name");
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(query_int(db_of(fx), "SELECT count(*) FROM record"),
		2);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *fx = *state;
	struct store *st = (struct store *)&st;
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		store_schema_version() + 1);
	exec_ok(db_of(fx), sql);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(store_open(fx->db, &st, fx->err, sizeof(fx->err)),
		STORE_ERROR);
	assert_null(st);
	assert_non_null(strstr(fx->err, "newer"));
	assert_non_null(strstr(fx->err, fx->db));
}

/* ------------------------------------------------------------------ */
/* store_sync_sources */

static void
set_sources(struct config *cfg, struct source_config *srcs, size_t n)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sources = srcs;
	cfg->nsources = n;
}

static void
test_sync_sources(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	struct source_config srcs[2] = {
		{ .name = (char *)"news", .kind = SOURCE_RSS,
		  .url = (char *)"https://news.example/feed" },
		{ .name = (char *)"pages", .kind = SOURCE_HTML,
		  .url = (char *)"https://pages.example/" },
	};
	struct config cfg;
	char buf[256];

	set_sources(&cfg, srcs, 2);
	assert_int_equal(store_sync_sources(fx->st, &cfg), STORE_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM source"), 2);
	assert_int_equal(query_int(db, "SELECT count(*) FROM source WHERE "
		"configured = 1"), 2);
	assert_string_equal(query_text(db, "SELECT kind || ' ' || url FROM "
		"source WHERE name = 'pages'", buf, sizeof(buf)),
		"html https://pages.example/");
	assert_false(sqlite3_get_autocommit(db) == 0);

	/* "pages" removed from the config: kept, marked not configured. */
	set_sources(&cfg, srcs, 1);
	assert_int_equal(store_sync_sources(fx->st, &cfg), STORE_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM source"), 2);
	assert_int_equal(query_int(db, "SELECT configured FROM source WHERE "
		"name = 'pages'"), 0);
	assert_int_equal(query_int(db, "SELECT configured FROM source WHERE "
		"name = 'news'"), 1);

	/* No source at all. */
	set_sources(&cfg, srcs, 0);
	assert_int_equal(store_sync_sources(fx->st, &cfg), STORE_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM source WHERE "
		"configured = 1"), 0);

	/* Both back. */
	set_sources(&cfg, srcs, 2);
	assert_int_equal(store_sync_sources(fx->st, &cfg), STORE_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM source WHERE "
		"configured = 1"), 2);
	assert_int_equal(query_int(db, "SELECT count(*) FROM source"), 2);
}

static void
test_sync_sources_new_url_forgets_validators(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	struct source_config src = { .name = (char *)"news",
		.kind = SOURCE_RSS, .url = (char *)"https://news.example/feed" };
	struct config cfg;
	char buf[256];

	set_sources(&cfg, &src, 1);
	assert_int_equal(store_sync_sources(fx->st, &cfg), STORE_OK);
	exec_ok(db, "UPDATE source SET etag = '\"v1\"', last_modified = "
		"'Mon, 01 Jan 2024 00:00:00 GMT', next_due = "
		"'2099-01-01T00:00:00Z' WHERE name = 'news'");

	/* Same URL, new kind: validators kept. */
	src.kind = SOURCE_ATOM;
	assert_int_equal(store_sync_sources(fx->st, &cfg), STORE_OK);
	assert_string_equal(query_text(db, "SELECT kind FROM source", buf,
		sizeof(buf)), "atom");
	assert_string_equal(query_text(db, "SELECT etag FROM source", buf,
		sizeof(buf)), "\"v1\"");
	assert_string_equal(query_text(db, "SELECT last_modified FROM source",
		buf, sizeof(buf)), "Mon, 01 Jan 2024 00:00:00 GMT");

	/* New URL: validators and schedule forgotten. */
	src.url = (char *)"https://news.example/feed2";
	assert_int_equal(store_sync_sources(fx->st, &cfg), STORE_OK);
	assert_string_equal(query_text(db, "SELECT url FROM source", buf,
		sizeof(buf)), "https://news.example/feed2");
	assert_int_equal(query_int(db, "SELECT etag IS NULL AND "
		"last_modified IS NULL AND next_due IS NULL FROM source"), 1);
}

/* ------------------------------------------------------------------ */
/* Consent rules of the schema */

static void
test_new_record_must_start_pending(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);

	add_source(db, "s");
	assert_int_not_equal(insert_record(db, RECORD_A, "s", "a", "public"),
		SQLITE_OK);
	assert_int_not_equal(insert_record(db, RECORD_B, "s", "b", "granted"),
		SQLITE_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM record"), 0);
	exec_ok(db, "DELETE FROM record_key");
	assert_int_equal(insert_record(db, RECORD_A, "s", "a", "pending"),
		SQLITE_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM record"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM publishable"), 0);
}

static void
test_record_needs_key_and_valid_id(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);

	add_source(db, "s");
	/* No record_key row: the foreign key refuses it. */
	exec_refused(db, "INSERT INTO record (id, source, kind, external_id, "
		"content_sha256, first_seen, last_seen, changed_at, parser, "
		"parser_version) VALUES ('" RECORD_A "', 's', 'news', 'a', '"
		SHA_ZERO "', 't', 't', 't', 'rss', '1')", NULL);
	/* Ids are 32 lower-case hex digits. */
	exec_refused(db, "INSERT INTO record_key VALUES ('s', 'x', "
		"'0123456789ABCDEF0123456789ABCDEF')", NULL);
	exec_refused(db, "INSERT INTO record_key VALUES ('s', 'x', 'abc')",
		NULL);
}

static void
test_direct_consent_update_refused(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char buf[32];

	add_two_records(fx);
	exec_refused(db, "UPDATE record SET consent = 'public' WHERE id = '"
		RECORD_A "'", "consent");
	exec_refused(db, "UPDATE record SET consent = 'granted', "
		"consent_basis = 'owner-consent' WHERE id = '" RECORD_A "'",
		"consent");
	exec_refused(db, "UPDATE record SET consent_basis = 'public-source' "
		"WHERE id = '" RECORD_A "'", "consent");
	assert_string_equal(consent_of(fx, RECORD_A, buf, sizeof(buf)),
		"pending");
	/* Other columns may change. */
	exec_ok(db, "UPDATE record SET title = 'New' WHERE id = '" RECORD_A
		"'");
}

static void
test_direct_update_refused_even_after_an_event(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char buf[32];

	add_two_records(fx);
	append_ok(fx, RECORD_A, "public", "public-source",
		"https://e.example/a", NULL, NULL);
	/* The last event made A public; it does not license B. */
	exec_refused(db, "UPDATE record SET consent = 'public', consent_basis "
		"= 'public-source' WHERE id = '" RECORD_B "'", "consent");
	exec_refused(db, "UPDATE record SET consent = 'pending', consent_basis "
		"= NULL WHERE id = '" RECORD_A "'", "consent");
	assert_string_equal(consent_of(fx, RECORD_B, buf, sizeof(buf)),
		"pending");
	assert_string_equal(consent_of(fx, RECORD_A, buf, sizeof(buf)),
		"public");
}

static void
test_audit_append_changes_consent_and_publishable(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char hash[HASH_HEX_SIZE], buf[128];

	add_two_records(fx);
	assert_int_equal(query_int(db, "SELECT count(*) FROM publishable"), 0);
	assert_int_equal(store_begin(fx->st, true), STORE_OK);
	{
		struct consent_change change = {
			.record_id = RECORD_A, .new_state = "granted",
			.basis = "owner-consent", .evidence = SHA_ONE,
			.expires = "2030-01-01T00:00:00Z", .by = "manager",
			.note = "email of 2024-05-01",
		};

		if (audit_append(fx->st, &change, hash, fx->err,
		    sizeof(fx->err)) != STORE_OK)
			fail_msg("audit_append: %s", fx->err);
	}
	assert_int_equal(store_commit(fx->st), STORE_OK);
	assert_int_equal(strlen(hash), 64);
	assert_string_equal(consent_of(fx, RECORD_A, buf, sizeof(buf)),
		"granted");
	assert_string_equal(query_text(db, "SELECT consent_basis || ' ' || "
		"consent_expires FROM record WHERE id = '" RECORD_A "'", buf,
		sizeof(buf)), "owner-consent 2030-01-01T00:00:00Z");
	assert_string_equal(query_text(db, "SELECT group_concat(id) FROM "
		"publishable", buf, sizeof(buf)), RECORD_A);
	assert_string_equal(query_text(db, "SELECT old || '>' || new || ' ' || "
		"by FROM consent_event", buf, sizeof(buf)),
		"pending>granted manager");
	/* "at" defaults to now, as RFC 3339 UTC. */
	assert_int_equal(query_int(db, "SELECT at GLOB '[0-9][0-9][0-9][0-9]-"
		"[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z' FROM "
		"consent_event"), 1);

	/* A record that is not active is not publishable. */
	exec_ok(db, "UPDATE record SET state = 'gone' WHERE id = '" RECORD_A
		"'");
	assert_int_equal(query_int(db, "SELECT count(*) FROM publishable"), 0);
	exec_ok(db, "UPDATE record SET state = 'active' WHERE id = '"
		RECORD_A "'");

	/* Withdrawn leaves the view. */
	append_ok(fx, RECORD_A, "withdrawn", "owner-request", NULL, NULL,
		NULL);
	assert_int_equal(query_int(db, "SELECT count(*) FROM publishable"), 0);
	assert_string_equal(query_text(db, "SELECT old FROM consent_event "
		"WHERE id = 2", buf, sizeof(buf)), "granted");
}

static void
test_audit_append_outside_transaction_refused(void **state)
{
	struct fixture *fx = *state;
	struct consent_change change = {
		.record_id = RECORD_A, .new_state = "public",
		.basis = "public-source", .evidence = "https://e.example/a",
		.by = "manager",
	};
	char buf[32];

	add_two_records(fx);
	assert_int_equal(audit_append(fx->st, &change, NULL, fx->err,
		sizeof(fx->err)), STORE_ERROR);
	assert_non_null(strstr(fx->err, "transaction"));
	/* A deferred transaction that has not written yet is no better. */
	assert_int_equal(store_begin(fx->st, false), STORE_OK);
	assert_int_equal(audit_append(fx->st, &change, NULL, fx->err,
		sizeof(fx->err)), STORE_ERROR);
	store_rollback(fx->st);
	assert_int_equal(query_int(db_of(fx), "SELECT count(*) FROM "
		"consent_event"), 0);
	assert_string_equal(consent_of(fx, RECORD_A, buf, sizeof(buf)),
		"pending");
}

static void
test_audit_append_unknown_record_refused(void **state)
{
	struct fixture *fx = *state;

	add_two_records(fx);
	assert_int_equal(append(fx, "00000000000000000000000000000000",
		"refused", "owner-request", NULL, NULL, NULL), STORE_ERROR);
	assert_non_null(strstr(fx->err, "no such record"));
	assert_int_equal(query_int(db_of(fx), "SELECT count(*) FROM "
		"consent_event"), 0);
}

static void
test_consent_event_is_append_only(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char hashes[3][HASH_HEX_SIZE];

	three_events(fx, hashes);
	exec_refused(db, "UPDATE consent_event SET note = 'x' WHERE id = 2",
		"append-only");
	exec_refused(db, "UPDATE consent_event SET new = 'public'",
		"append-only");
	exec_refused(db, "DELETE FROM consent_event WHERE id = 3",
		"append-only");
	exec_refused(db, "DELETE FROM consent_event", "append-only");
	assert_int_equal(query_int(db, "SELECT count(*) FROM consent_event"),
		3);
	/* A hand-made row that does not continue the chain is refused. */
	exec_refused(db, "INSERT INTO consent_event (id, record_id, old, new, "
		"basis, by, at, prev_hash, hash) VALUES (9, '" RECORD_B "', "
		"'granted', 'refused', 'owner-request', 'x', 't', '" SHA_ZERO
		"', '" SHA_ONE "')", NULL);
}

static void
test_public_and_granted_need_evidence(void **state)
{
	struct fixture *fx = *state;
	char buf[32];

	add_two_records(fx);
	assert_int_equal(append(fx, RECORD_A, "public", "public-source", NULL,
		NULL, NULL), STORE_ERROR);
	assert_int_equal(append(fx, RECORD_A, "granted", "owner-consent", NULL,
		NULL, NULL), STORE_ERROR);
	/* The basis must match the state. */
	assert_int_equal(append(fx, RECORD_A, "public", "owner-consent",
		"https://e.example/a", NULL, NULL), STORE_ERROR);
	assert_int_equal(append(fx, RECORD_A, "granted", "public-source",
		SHA_ONE, NULL, NULL), STORE_ERROR);
	/* A bad basis code or state. */
	assert_int_equal(append(fx, RECORD_A, "refused", "Owner Request",
		NULL, NULL, NULL), STORE_ERROR);
	assert_int_equal(append(fx, RECORD_A, "approved", "owner-consent",
		SHA_ONE, NULL, NULL), STORE_ERROR);
	assert_int_equal(query_int(db_of(fx), "SELECT count(*) FROM "
		"consent_event"), 0);
	assert_string_equal(consent_of(fx, RECORD_A, buf, sizeof(buf)),
		"pending");
	assert_int_equal(query_int(db_of(fx), "SELECT count(*) FROM "
		"publishable"), 0);
	/* Expiry only on grants. */
	{
		struct consent_change change = {
			.record_id = RECORD_A, .new_state = "public",
			.basis = "public-source", .evidence = "https://e/",
			.expires = "2030-01-01T00:00:00Z", .by = "m",
		};

		assert_int_equal(store_begin(fx->st, true), STORE_OK);
		assert_int_equal(audit_append(fx->st, &change, NULL, fx->err,
			sizeof(fx->err)), STORE_ERROR);
		store_rollback(fx->st);
	}
	assert_int_equal(query_int(db_of(fx), "SELECT count(*) FROM "
		"consent_event"), 0);
}

/* The CHECK is "evidence IS NOT NULL", so an empty string passes as the
 * evidence SPEC §5 requires for granted (and public) and the record
 * becomes publishable with no evidence at all. */
static void
test_bug_granted_with_empty_evidence_accepted(void **state)
{
	struct fixture *fx = *state;

	add_two_records(fx);
	assert_int_equal(append(fx, RECORD_A, "granted", "owner-consent", "",
		NULL, NULL), STORE_ERROR);
	assert_int_equal(query_int(db_of(fx), "SELECT count(*) FROM "
		"publishable"), 0);
}

static void
test_records_are_never_deleted(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);

	add_two_records(fx);
	exec_refused(db, "DELETE FROM record WHERE id = '" RECORD_A "'",
		"never deleted");
	exec_refused(db, "DELETE FROM record", "never deleted");
	assert_int_equal(query_int(db, "SELECT count(*) FROM record"), 2);
	exec_ok(db, "INSERT INTO release (serial, state, created) VALUES "
		"(1, 'done', '2024-01-01T00:00:00Z')");
	exec_refused(db, "DELETE FROM release", "never reused");
}

/* INSERT OR REPLACE deletes the old row without firing delete triggers
 * (recursive_triggers is off), so a withdrawn record silently becomes
 * pending again with no consent_event, and record_no_delete is bypassed.
 * The store should set PRAGMA recursive_triggers = ON. */
static void
test_bug_insert_or_replace_resets_consent_without_event(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char buf[32];

	add_two_records(fx);
	append_ok(fx, RECORD_A, "withdrawn", "owner-request", NULL, NULL,
		NULL);
	sqlite3_exec(db, "INSERT OR REPLACE INTO record (id, source, kind, "
		"external_id, content_sha256, first_seen, last_seen, "
		"changed_at, parser, parser_version) VALUES ('" RECORD_A "', "
		"'s', 'news', 'a', '" SHA_ONE "', 't', 't', 't', 'rss', '1')",
		NULL, NULL, NULL);
	assert_string_equal(consent_of(fx, RECORD_A, buf, sizeof(buf)),
		"withdrawn");
}

/* ------------------------------------------------------------------ */
/* The hash chain */

/* sha256(prev || canonical JSON of the row's other columns), computed
 * here independently of audit.c. */
static void
expected_hash(sqlite3 *db, int64_t id, char hex[HASH_HEX_SIZE])
{
	static const char *const cols[] = { "record_id", "old", "new",
		"basis", "evidence", "expires", "by", "at", "note" };
	sqlite3_stmt *stmt;
	json_t *obj = json_object();
	char *text, *joined;
	const char *prev;
	size_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT record_id, old, new, "
		"basis, evidence, expires, by, at, note, prev_hash FROM "
		"consent_event WHERE id = ?1", -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, id);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	json_object_set_new(obj, "id", json_integer(id));
	for (int i = 0; i < 9; i++) {
		const char *v = (const char *)sqlite3_column_text(stmt, i);

		json_object_set_new(obj, cols[i], v ? json_string(v) :
			json_null());
	}
	prev = (const char *)sqlite3_column_text(stmt, 9);
	text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);
	n = strlen(prev) + strlen(text);
	joined = malloc(n + 1);
	assert_non_null(joined);
	snprintf(joined, n + 1, "%s%s", prev, text);
	hash_sha256_hex(joined, n, hex);
	free(joined);
	free(text);
	json_decref(obj);
	sqlite3_finalize(stmt);
}

static void
test_audit_head_of_empty_log_is_genesis(void **state)
{
	struct fixture *fx = *state;
	char head[HASH_HEX_SIZE] = "x";
	int64_t bad = -99;
	char why[256];

	assert_int_equal(audit_head(fx->st, head), STORE_OK);
	assert_string_equal(head, AUDIT_GENESIS);
	assert_string_equal(head, SHA_ZERO);
	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	assert_int_equal(bad, 0);
}

static void
test_hash_chain_links(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char hashes[3][HASH_HEX_SIZE], head[HASH_HEX_SIZE], buf[128];
	char sql[128], expected[HASH_HEX_SIZE];

	three_events(fx, hashes);
	assert_string_equal(query_text(db, "SELECT prev_hash FROM "
		"consent_event WHERE id = 1", buf, sizeof(buf)), SHA_ZERO);
	for (int id = 1; id <= 3; id++) {
		snprintf(sql, sizeof(sql), "SELECT hash FROM consent_event "
			"WHERE id = %d", id);
		assert_string_equal(query_text(db, sql, buf, sizeof(buf)),
			hashes[id - 1]);
		expected_hash(db, id, expected);
		assert_string_equal(expected, hashes[id - 1]);
		if (id > 1) {
			snprintf(sql, sizeof(sql), "SELECT prev_hash FROM "
				"consent_event WHERE id = %d", id);
			assert_string_equal(query_text(db, sql, buf,
				sizeof(buf)), hashes[id - 2]);
		}
	}
	assert_string_not_equal(hashes[0], hashes[1]);
	assert_int_equal(audit_head(fx->st, head), STORE_OK);
	assert_string_equal(head, hashes[2]);
}

static void
test_verify_intact_chain(void **state)
{
	struct fixture *fx = *state;
	char hashes[3][HASH_HEX_SIZE], why[256], sql[512];
	int64_t bad = -99;

	three_events(fx, hashes);
	snprintf(sql, sizeof(sql), "INSERT INTO release (serial, state, "
		"created, audit_head) VALUES (1, 'done', '2024-06-01T00:00:00Z',"
		" '%s'), (2, 'done', '2024-06-02T00:00:00Z', '%s')", hashes[1],
		AUDIT_GENESIS);
	exec_ok(db_of(fx), sql);
	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	assert_int_equal(bad, 0);
}

static void
test_verify_names_tampered_row(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char hashes[3][HASH_HEX_SIZE], why[256] = "";
	int64_t bad = 0;

	three_events(fx, hashes);
	exec_ok(db, "DROP TRIGGER consent_event_no_update");
	exec_ok(db, "UPDATE consent_event SET note = 'nothing to see' WHERE "
		"id = 2");
	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	assert_int_equal(bad, 2);
	assert_true(why[0] != '\0');
}

static void
test_verify_names_row_after_deleted_one(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char hashes[3][HASH_HEX_SIZE], why[256] = "";
	int64_t bad = 0;

	three_events(fx, hashes);
	exec_ok(db, "DROP TRIGGER consent_event_no_delete");
	exec_ok(db, "DELETE FROM consent_event WHERE id = 2");
	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	assert_int_equal(bad, 3);
	assert_non_null(strstr(why, "missing"));
}

static void
test_verify_reports_release_whose_head_vanished(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db = db_of(fx);
	char hashes[3][HASH_HEX_SIZE], why[256] = "", sql[512];
	int64_t bad = 0;

	three_events(fx, hashes);
	snprintf(sql, sizeof(sql), "INSERT INTO release (serial, state, "
		"created, records, audit_head) VALUES (7, 'done', "
		"'2024-06-01T00:00:00Z', 1, '%s')", hashes[2]);
	exec_ok(db, sql);
	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	assert_int_equal(bad, 0);
	exec_ok(db, "DROP TRIGGER consent_event_no_delete");
	exec_ok(db, "DELETE FROM consent_event WHERE id = 3");
	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	assert_int_equal(bad, -7);
	assert_non_null(strstr(why, "7"));
}

static void
test_append_continues_after_reopen(void **state)
{
	struct fixture *fx = *state;
	char hashes[3][HASH_HEX_SIZE], h4[HASH_HEX_SIZE], buf[128], why[256];
	int64_t bad = -1;

	three_events(fx, hashes);
	store_close(fx->st);
	fx->st = NULL;
	if (store_open(fx->db, &fx->st, fx->err, sizeof(fx->err)) != STORE_OK)
		fail_msg("reopen: %s", fx->err);
	append_ok(fx, RECORD_B, "refused", "owner-request", NULL, NULL, h4);
	assert_string_equal(query_text(db_of(fx), "SELECT prev_hash FROM "
		"consent_event WHERE id = 4", buf, sizeof(buf)), hashes[2]);
	assert_int_equal(audit_verify(fx->st, &bad, why, sizeof(why)),
		STORE_OK);
	assert_int_equal(bad, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* A kept statement is compiled once, comes back reset and unbound, and
 * holds no read lock past its transaction. */
static void
test_kept_statement(void **state)
{
	static const char sql[] = "SELECT ?1 + count(*) FROM source";
	struct fixture *fx = *state;
	sqlite3_stmt *a, *b;

	a = store_statement(fx->st, sql);
	assert_non_null(a);
	assert_int_equal(sqlite3_bind_int(a, 1, 41), SQLITE_OK);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 41);
	b = store_statement(fx->st, sql);
	assert_ptr_equal(a, b);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
	assert_int_equal(store_begin(fx->st, true), STORE_OK);
	b = store_statement(fx->st, sql);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_true(sqlite3_stmt_busy(b));
	assert_int_equal(store_commit(fx->st), STORE_OK);
	assert_false(sqlite3_stmt_busy(b));
	assert_null(store_statement(fx->st, "SELECT nonsense FROM nowhere"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_kept_statement),
		T(test_fresh_store_pragmas),
		T(test_open_creates_parent_folders),
		T(test_open_failure_reports_path),
		T(test_spec_tables_and_columns),
		T(test_migration_from_every_earlier_version),
		T(test_reopen_keeps_data_and_schema),
		T(test_newer_schema_refused),
		T(test_sync_sources),
		T(test_sync_sources_new_url_forgets_validators),
		T(test_new_record_must_start_pending),
		T(test_record_needs_key_and_valid_id),
		T(test_direct_consent_update_refused),
		T(test_direct_update_refused_even_after_an_event),
		T(test_audit_append_changes_consent_and_publishable),
		T(test_audit_append_outside_transaction_refused),
		T(test_audit_append_unknown_record_refused),
		T(test_consent_event_is_append_only),
		T(test_public_and_granted_need_evidence),
		T(test_bug_granted_with_empty_evidence_accepted),
		T(test_records_are_never_deleted),
		T(test_bug_insert_or_replace_resets_consent_without_event),
		T(test_audit_head_of_empty_log_is_genesis),
		T(test_hash_chain_links),
		T(test_verify_intact_chain),
		T(test_verify_names_tampered_row),
		T(test_verify_names_row_after_deleted_one),
		T(test_verify_reports_release_whose_head_vanished),
		T(test_append_continues_after_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
