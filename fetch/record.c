/* The store writer of cybil-fetch: group commit of captures. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "log.h"

/* The first retry after a failed run comes this soon; each further
 * failure doubles it, up to the source's interval. */
#define BACKOFF_FIRST_SECONDS 300

struct batch {
	struct fetch_run *run;
	struct capture *items;
	size_t n, cap;
};

double
monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
backoff_seconds(int64_t failures, int64_t interval)
{
	int64_t delay = BACKOFF_FIRST_SECONDS;

	for (int64_t i = 1; i < failures && delay < interval; i++)
		delay *= 2;
	if (delay > interval)
		delay = interval;
	/* "Equal jitter": half fixed, half random, so sources that failed
	 * together do not all come back at the same second. */
	return delay / 2 + (delay > 1 ? (int64_t)(random() %
		(delay - delay / 2 + 1)) : delay);
}

void
capture_clear(struct capture *c)
{
	free(c->final_url);
	free(c->content_type);
	free(c->etag);
	free(c->last_modified);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

struct batch *
batch_new(struct fetch_run *run)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (b)
		b->run = run;
	return b;
}

void
batch_free(struct batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		capture_clear(&b->items[i]);
	free(b->items);
	free(b);
}

size_t
batch_size(const struct batch *b)
{
	return b->n;
}

int
batch_add(struct batch *b, struct capture *c)
{
	struct capture *grown;

	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;

		if (!(grown = realloc(b->items, cap * sizeof(*grown))))
			return -1;
		b->items = grown;
		b->cap = cap;
	}
	b->items[b->n++] = *c;
	memset(c, 0, sizeof(*c));
	return 0;
}

static int
bind_text_or_null(sqlite3_stmt *stmt, int i, const char *s)
{
	return s && *s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC) :
		sqlite3_bind_null(stmt, i);
}

static int
step_done(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc == SQLITE_DONE ? STORE_OK : store_result(rc);
}

static int
insert_capture(sqlite3_stmt *stmt, const struct capture *c)
{
	const struct job *job = c->job;

	if (sqlite3_bind_text(stmt, 1, job->src->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 2, job->url, -1, SQLITE_STATIC) ||
	    bind_text_or_null(stmt, 3, c->final_url) ||
	    sqlite3_bind_text(stmt, 4, c->fetched_at, -1, SQLITE_STATIC) ||
	    (c->status ? sqlite3_bind_int64(stmt, 5, c->status) :
	     sqlite3_bind_null(stmt, 5)) ||
	    bind_text_or_null(stmt, 6, c->content_type) ||
	    bind_text_or_null(stmt, 7, c->etag) ||
	    bind_text_or_null(stmt, 8, c->last_modified) ||
	    (c->bytes >= 0 ? sqlite3_bind_int64(stmt, 9, c->bytes) :
	     sqlite3_bind_null(stmt, 9)) ||
	    bind_text_or_null(stmt, 10, c->sha256) ||
	    sqlite3_bind_int64(stmt, 11, c->duration_ms) ||
	    bind_text_or_null(stmt, 12, c->error) ||
	    (job->queue_id ? sqlite3_bind_int64(stmt, 13, job->queue_id) :
	     sqlite3_bind_null(stmt, 13)))
		return STORE_ERROR;
	return step_done(stmt);
}

/* The source's fetch state after the last attempt of this run. */
static int
update_source(sqlite3_stmt *ok, sqlite3_stmt *failed, const struct capture *c,
	time_t now)
{
	const struct job *job = c->job;
	char due[DATE_RFC3339_SIZE], at[DATE_RFC3339_SIZE];
	bool success = c->outcome == OUTCOME_FETCHED ||
		c->outcome == OUTCOME_NOT_MODIFIED;
	int64_t wait = success || c->outcome == OUTCOME_SKIPPED ?
		job->src->interval :
		backoff_seconds(job->failures + 1, job->src->interval);
	sqlite3_stmt *stmt = success ? ok : failed;

	if (c->outcome == OUTCOME_FAILED && c->retry_after > wait)
		wait = c->retry_after;
	date_format_utc(now + (time_t)wait, due);
	date_format_utc(now, at);
	if (sqlite3_bind_text(stmt, 1, job->src->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 2, at, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 3, due, -1, SQLITE_STATIC))
		return STORE_ERROR;
	if (success ? (bind_text_or_null(stmt, 4, c->etag) ||
	    bind_text_or_null(stmt, 5, c->last_modified)) :
	    (bind_text_or_null(stmt, 4, c->error) ||
	    sqlite3_bind_int(stmt, 5, c->outcome == OUTCOME_FAILED)))
		return STORE_ERROR;
	return step_done(stmt);
}

static const char insert_sql[] =
	"INSERT INTO capture (source, url, final_url, fetched_at, status,"
	" content_type, etag, last_modified, bytes, sha256, duration_ms, error,"
	" queue_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	" ?13)";
/* A 304 may omit the validators: keep the ones that still hold. */
static const char source_ok_sql[] =
	"UPDATE source SET last_attempt = ?2, last_success = ?2, failures = 0,"
	" next_due = ?3, last_error = NULL, etag = coalesce(?4, etag),"
	" last_modified = coalesce(?5, last_modified) WHERE name = ?1";
static const char source_failed_sql[] =
	"UPDATE source SET last_attempt = ?2, next_due = ?3, last_error = ?4,"
	" failures = failures + ?5 WHERE name = ?1";
static const char queue_done_sql[] =
	"UPDATE queue SET done_at = ?2 WHERE id = ?1";

static int
write_rows(struct batch *b, sqlite3 *db)
{
	sqlite3_stmt *ins = NULL, *ok = NULL, *failed = NULL, *done = NULL;
	char now_text[DATE_RFC3339_SIZE];
	time_t now = time(NULL);
	int rc;

	date_format_utc(now, now_text);
	rc = store_result(sqlite3_prepare_v2(db, insert_sql, -1, &ins, NULL));
	if (rc == STORE_OK)
		rc = store_result(sqlite3_prepare_v2(db, source_ok_sql, -1,
			&ok, NULL));
	if (rc == STORE_OK)
		rc = store_result(sqlite3_prepare_v2(db, source_failed_sql, -1,
			&failed, NULL));
	if (rc == STORE_OK)
		rc = store_result(sqlite3_prepare_v2(db, queue_done_sql, -1,
			&done, NULL));
	for (size_t i = 0; rc == STORE_OK && i < b->n; i++) {
		const struct capture *c = &b->items[i];
		const struct job *job = c->job;

		rc = insert_capture(ins, c);
		if (rc != STORE_OK || c->outcome == OUTCOME_RETRYING ||
		    job->is_robots)
			continue;
		if (job->queue_id == 0) {
			rc = update_source(ok, failed, c, now);
		} else if (sqlite3_bind_int64(done, 1, job->queue_id) ||
			   sqlite3_bind_text(done, 2, now_text, -1,
			   SQLITE_STATIC)) {
			rc = STORE_ERROR;
		} else {
			rc = step_done(done);
		}
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(ok);
	sqlite3_finalize(failed);
	sqlite3_finalize(done);
	return rc;
}

int
batch_flush(struct batch *b)
{
	struct fetch_run *run = b->run;
	int rc;

	if (b->n == 0)
		return STORE_OK;
	if (blob_batch_commit(run->blobs) < 0) {
		log_error("%s: making bodies durable: %m", run->cfg->blobs_dir);
		return STORE_ERROR;
	}
	if ((rc = store_begin(run->store, true)) == STORE_OK &&
	    (rc = write_rows(b, store_db(run->store))) == STORE_OK)
		rc = store_commit(run->store);
	if (rc != STORE_OK) {
		log_error("%s: recording %zu captures: %s",
			run->cfg->store_path, b->n, store_errmsg(run->store));
		store_rollback(run->store);
		return rc;
	}
	for (size_t i = 0; i < b->n; i++)
		capture_clear(&b->items[i]);
	b->n = 0;
	return STORE_OK;
}
