#include "store.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "file.h"
#include "schema.sql.h"

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define STATEMENTS_KEPT 32

struct store {
	sqlite3 *db;
	char *path;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} kept[STATEMENTS_KEPT];
	size_t nkept;
	const char *refusal;	/* why the last store_begin failed, if not
				 * SQLite's own message */
	char errbuf[512];
};

int
store_schema_version(void)
{
	return SCHEMA_VERSION;
}

sqlite3 *
store_db(struct store *st)
{
	return st->db;
}

sqlite3_stmt *
store_statement(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < st->nkept; i++)
		if (st->kept[i].sql == sql) {
			stmt = st->kept[i].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &stmt, NULL) != SQLITE_OK)
		return NULL;
	if (st->nkept == STATEMENTS_KEPT) {
		/* Full: the oldest makes room. */
		sqlite3_finalize(st->kept[0].stmt);
		memmove(st->kept, st->kept + 1, (STATEMENTS_KEPT - 1) *
			sizeof(st->kept[0]));
		st->nkept--;
	}
	st->kept[st->nkept].sql = sql;
	st->kept[st->nkept].stmt = stmt;
	st->nkept++;
	return stmt;
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

const char *
store_db_errmsg(sqlite3 *db, const char *path, char *buf, size_t size)
{
	int errnum = sqlite3_system_errno(db);

	switch (sqlite3_extended_errcode(db) & 0xff) {
	case SQLITE_CANTOPEN:
		/* The last errno is often that of a fallback (ENOENT of a
		 * read-only open of -shm): ask the folder itself. */
		if (file_parent_writable(path) == 0)
			break;
		errnum = errno;
		/* fall through */
	case SQLITE_IOERR:
	case SQLITE_FULL:
		if (errnum == 0)
			break;
		snprintf(buf, size, "%s (%s)", sqlite3_errmsg(db),
			strerror(errnum));
		return buf;
	default:
		break;
	}
	return sqlite3_errmsg(db);
}

const char *
store_errmsg(struct store *st)
{
	if (st->refusal)
		return st->refusal;
	return store_db_errmsg(st->db, st->path, st->errbuf,
		sizeof(st->errbuf));
}

int
store_result(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	default:
		return STORE_ERROR;
	}
}

static int
exec(struct store *st, const char *sql)
{
	return store_result(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

int
store_begin(struct store *st, bool immediate)
{
	st->refusal = NULL;
	/* SQLite opens a file it may not write read-only, and then lets
	 * BEGIN IMMEDIATE succeed without a write lock: the first write
	 * would fail later, with a less telling message. */
	if (immediate && sqlite3_db_readonly(st->db, "main") == 1) {
		st->refusal = "the store is read-only (its file or file "
			"system does not allow writing)";
		return STORE_ERROR;
	}
	return exec(st, immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

/* A kept statement left stepped must not outlive its transaction. */
static void
reset_kept(struct store *st)
{
	for (size_t i = 0; i < st->nkept; i++)
		sqlite3_reset(st->kept[i].stmt);
}

int
store_commit(struct store *st)
{
	st->refusal = NULL;
	reset_kept(st);
	return exec(st, "COMMIT");
}

void
store_rollback(struct store *st)
{
	reset_kept(st);
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
read_user_version(struct store *st, int *version)
{
	sqlite3_stmt *stmt;
	int rc;

	*version = 0;
	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return store_result(rc);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return store_result(rc);
}

/* Applies migration steps from the current version up to TARGET, each in
 * its own IMMEDIATE transaction so a crash leaves a whole version. */
static int
migrate(struct store *st, int target, char *err, size_t errlen)
{
	char sql[64];
	int version = 0, rc;

	/* The usual case, a current schema, takes no write lock: a reader
	 * such as cybil-review list never waits for a harvest to commit. */
	if ((rc = read_user_version(st, &version)) != STORE_OK)
		goto fail;
	if (version >= target && version <= SCHEMA_VERSION)
		return STORE_OK;
	for (;;) {
		if ((rc = store_begin(st, true)) != STORE_OK)
			goto fail;
		/* Read inside the transaction: another process may have
		 * migrated meanwhile. */
		if ((rc = read_user_version(st, &version)) != STORE_OK)
			goto fail;
		if (version > SCHEMA_VERSION) {
			snprintf(err, errlen, "%s: schema version %d is newer "
				"than this cybil (%d); upgrade cybil", st->path,
				version, SCHEMA_VERSION);
			store_rollback(st);
			return STORE_ERROR;
		}
		if (version >= target) {
			store_rollback(st);
			return STORE_OK;
		}
		if ((rc = exec(st, migrations[version])) != STORE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			version + 1);
		if ((rc = exec(st, sql)) != STORE_OK ||
		    (rc = store_commit(st)) != STORE_OK)
			goto fail;
	}
fail:
	snprintf(err, errlen, "%s: schema migration: %s", st->path,
		store_errmsg(st));
	store_rollback(st);
	return rc;
}

static int
configure(struct store *st, char *err, size_t errlen)
{
	int rc, persist = 1;

	sqlite3_extended_result_codes(st->db, 1);
	if ((rc = sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS)) !=
	    SQLITE_OK)
		goto fail;
	/* The -wal and -shm files stay when the last connection closes (the
	 * WAL emptied, see journal_size_limit): without them SQLite cannot
	 * read a WAL database on a read-only file system, and status,
	 * review list and verify-log are still wanted there. */
	if ((rc = sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &persist)) != SQLITE_OK)
		goto fail;
	/* journal_mode answers with a row, so it is stepped through exec. */
	if ((rc = exec(st, "PRAGMA journal_mode = WAL")) != STORE_OK ||
	    (rc = exec(st, "PRAGMA foreign_keys = ON")) != STORE_OK ||
	    /* Without it, REPLACE deletes rows past the no-delete
	     * triggers. */
	    (rc = exec(st, "PRAGMA recursive_triggers = ON")) != STORE_OK ||
	    (rc = exec(st, "PRAGMA synchronous = NORMAL")) != STORE_OK ||
	    /* Record ids are random, so their index is touched all over;
	     * 32 MB of cache (the default is 2 MB) keeps a large store's
	     * index pages in memory between transactions. */
	    (rc = exec(st, "PRAGMA cache_size = -32768")) != STORE_OK ||
	    /* Checkpoints every 64 MB of WAL rather than 4 MB: an index
	     * page changed by many transactions reaches the database file
	     * (and its fsync) once. */
	    (rc = exec(st, "PRAGMA wal_autocheckpoint = 16384")) != STORE_OK ||
	    /* A kept WAL is truncated to nothing at the last close, and
	     * after a checkpoint to the size autocheckpoint lets it reach. */
	    (rc = exec(st, "PRAGMA journal_size_limit = 67108864")) !=
	    STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	snprintf(err, errlen, "%s: %s", st->path, store_errmsg(st));
	return store_result(rc) == STORE_BUSY ? STORE_BUSY : STORE_ERROR;
}

int
store_open_at_version(const char *path, int version, struct store **out,
	char *err, size_t errlen)
{
	struct store *st;
	int rc;

	*out = NULL;
	if (!(st = calloc(1, sizeof(*st))) || !(st->path = strdup(path))) {
		free(st);
		snprintf(err, errlen, "%s: out of memory", path);
		return STORE_ERROR;
	}
	if (file_make_parent_dirs(path) < 0) {
		snprintf(err, errlen, "%s: cannot create its folder: %s", path,
			strerror(errno));
		rc = STORE_ERROR;
		goto fail;
	}
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
		SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, st->db ?
			store_errmsg(st) : sqlite3_errstr(rc));
		rc = STORE_ERROR;
		goto fail;
	}
	if ((rc = configure(st, err, errlen)) != STORE_OK ||
	    (rc = migrate(st, version, err, errlen)) != STORE_OK)
		goto fail;
	*out = st;
	return STORE_OK;
fail:
	store_close(st);
	return rc;
}

int
store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	return store_open_at_version(path, SCHEMA_VERSION, out, err, errlen);
}

void
store_close(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nkept; i++)
		sqlite3_finalize(st->kept[i].stmt);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

static int
sync_one_source(sqlite3_stmt *upsert, const struct source_config *src,
	const char *now)
{
	int rc;

	sqlite3_reset(upsert);
	if (sqlite3_bind_text(upsert, 1, src->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(upsert, 2, config_kind_name(src->kind), -1,
	    SQLITE_STATIC) ||
	    sqlite3_bind_text(upsert, 3, src->url, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(upsert, 4, now, -1, SQLITE_STATIC))
		return STORE_ERROR;
	rc = sqlite3_step(upsert);
	return rc == SQLITE_DONE ? STORE_OK : store_result(rc);
}

/* The configured source names as a JSON array, for json_each(). */
static char *
configured_names_json(const struct config *cfg)
{
	json_t *array = json_array();
	char *text = NULL;

	if (!array)
		return NULL;
	for (size_t i = 0; i < cfg->nsources; i++)
		if (json_array_append_new(array,
		    json_string(cfg->sources[i].name)) < 0)
			goto out;
	text = json_dumps(array, JSON_COMPACT);
out:
	json_decref(array);
	return text;
}

int
store_sync_sources(struct store *st, const struct config *cfg)
{
	/* A changed URL forgets the validators and fetch schedule of the
	 * old one. */
	static const char upsert_sql[] =
		"INSERT INTO source (name, kind, url, added_at, configured)"
		" VALUES (?1, ?2, ?3, ?4, 1)"
		" ON CONFLICT (name) DO UPDATE SET kind = excluded.kind,"
		"  configured = 1,"
		"  etag = CASE WHEN url = excluded.url THEN etag END,"
		"  last_modified = CASE WHEN url = excluded.url"
		"   THEN last_modified END,"
		"  next_due = CASE WHEN url = excluded.url THEN next_due END,"
		"  url = excluded.url"
		" WHERE kind IS NOT excluded.kind OR url IS NOT excluded.url"
		"  OR configured = 0";
	static const char unconfigure_sql[] =
		"UPDATE source SET configured = 0 WHERE configured = 1 AND"
		" name NOT IN (SELECT value FROM json_each(?1))";
	sqlite3_stmt *upsert = NULL, *unconfigure = NULL;
	char now[DATE_RFC3339_SIZE], *names;
	int rc;

	date_format_utc(time(NULL), now);
	if (!(names = configured_names_json(cfg)))
		return STORE_ERROR;
	if ((rc = store_begin(st, true)) != STORE_OK)
		goto out;
	rc = store_result(sqlite3_prepare_v2(st->db, upsert_sql, -1, &upsert,
		NULL));
	if (rc == STORE_OK)
		rc = store_result(sqlite3_prepare_v2(st->db, unconfigure_sql,
			-1, &unconfigure, NULL));
	for (size_t i = 0; rc == STORE_OK && i < cfg->nsources; i++)
		rc = sync_one_source(upsert, &cfg->sources[i], now);
	if (rc == STORE_OK && sqlite3_bind_text(unconfigure, 1, names, -1,
	    SQLITE_STATIC) != SQLITE_OK)
		rc = STORE_ERROR;
	if (rc == STORE_OK) {
		int step = sqlite3_step(unconfigure);

		rc = step == SQLITE_DONE ? STORE_OK : store_result(step);
	}
	if (rc == STORE_OK)
		rc = store_commit(st);
out:
	sqlite3_finalize(upsert);
	sqlite3_finalize(unconfigure);
	if (rc != STORE_OK)
		store_rollback(st);
	free(names);
	return rc;
}
