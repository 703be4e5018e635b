/* The SQLite store of SPEC §4: opened in WAL mode with a busy timeout and
 * foreign keys, its schema created and migrated forward on open. */
#ifndef CYBIL_STORE_H
#define CYBIL_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Results of store functions. */
enum {
	STORE_OK = 0,
	STORE_ERROR = -1,
	STORE_BUSY = -2		/* locked past the busy timeout: exit 75 */
};

/* How long a statement waits for another writer before giving up. */
#define STORE_BUSY_TIMEOUT_MS 30000

struct store;

/* Opens (creating the file and its folder if needed) and migrates the
 * store at PATH. Returns STORE_OK and an owned *OUT, or STORE_ERROR or
 * STORE_BUSY with a message in ERR. */
int store_open(const char *path, struct store **out, char *err,
	size_t errlen);
/* Opens PATH and migrates it only up to schema VERSION (for tests of
 * migrations from every earlier version). */
int store_open_at_version(const char *path, int version, struct store **out,
	char *err, size_t errlen);
void store_close(struct store *st);

sqlite3 *store_db(struct store *st);
const char *store_path(const struct store *st);
/* The prepared statement of SQL (a string that lives as long as the store,
 * e.g. a literal), compiled once per store and kept: reset, with no
 * bindings. The store owns it; NULL on error (see store_errmsg). For the
 * statements run once per record, whose triggers make compiling them
 * costly. */
sqlite3_stmt *store_statement(struct store *st, const char *sql);
/* The schema version this build creates. */
int store_schema_version(void);

/* Transactions: IMMEDIATE takes the write lock at once, so a unit of work
 * never fails half-way on a busy upgrade. Each returns STORE_OK, STORE_BUSY
 * or STORE_ERROR (with the message in store_errmsg). */
int store_begin(struct store *st, bool immediate);
int store_commit(struct store *st);
/* Rolls back an open transaction; harmless when none is open. */
void store_rollback(struct store *st);
const char *store_errmsg(struct store *st);
/* SQLite's message of DB (the database file PATH), and for a failure of
 * the file system the system's reason too: "disk I/O error" or "unable to
 * open database file" alone do not tell a full disk from a read-only one.
 * BUF holds the message when one is made. */
const char *store_db_errmsg(sqlite3 *db, const char *path, char *buf,
	size_t size);
/* Maps a SQLite result code to STORE_OK, STORE_BUSY or STORE_ERROR. */
int store_result(int sqlite_rc);

/* Brings the source table in line with the configuration in one
 * transaction: new sources added, changed kinds and URLs updated (a new
 * URL forgets its validators), sources no longer configured marked so. */
int store_sync_sources(struct store *st, const struct config *cfg);

#endif
