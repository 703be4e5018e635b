/* cybil-fetch: its jobs, the transfer engine and the store writer. */
#ifndef CYBIL_FETCH_H
#define CYBIL_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "blob.h"
#include "config.h"
#include "date.h"
#include "hash.h"
#include "store.h"

/* One URL to fetch: a source's own URL or a queued follow-up. */
struct job {
	const struct source_config *src;
	char *url;
	int64_t queue_id;	/* 0: the source's own URL */
	char *etag;		/* validators of the last good capture */
	char *last_modified;
	int64_t failures;	/* the source's consecutive failures so far */
	int attempt;		/* 1 for the first try */
	double not_before;	/* monotonic seconds; a retry waits */
	bool is_robots;		/* a host's robots.txt */
	bool honour_robots;	/* http(s) of a source with robots = yes */
	struct host *host;
	struct job *next;	/* in its host's queue or the retry list */
	struct job *next_owned;	/* robots jobs, owned by the engine */
};

enum outcome {
	OUTCOME_FETCHED,	/* 2xx with a body */
	OUTCOME_NOT_MODIFIED,	/* 304 */
	OUTCOME_RETRYING,	/* failed, tried again in this run */
	OUTCOME_FAILED,		/* failed for this run */
	OUTCOME_SKIPPED,	/* disallowed by robots.txt */
	OUTCOME_ROBOTS		/* a robots.txt exchange: no source state */
};

/* One exchange, as it becomes a capture row. */
struct capture {
	const struct job *job;
	enum outcome outcome;
	char fetched_at[DATE_RFC3339_SIZE];
	long status;		/* 0: no response */
	char *final_url;
	char *content_type;
	char *etag;
	char *last_modified;
	int64_t bytes;		/* decoded body, -1: none */
	char sha256[HASH_HEX_SIZE];	/* "" unless a body was kept */
	int64_t duration_ms;
	char *error;
	int64_t retry_after;	/* seconds the server asked for, 0: none */
};

struct fetch_totals {
	uint64_t fetched, not_modified, failed, skipped, bytes, left;
};

/* Everything the engine needs; owned by main. */
struct fetch_run {
	const struct config *cfg;
	struct store *store;
	struct blob_store *blobs;
	struct job *jobs;
	size_t njobs;
	double deadline;	/* monotonic seconds */
	bool progress;		/* a progress line on the terminal */
	struct fetch_totals totals;
};

/* Fetches every job. Returns 0, or -1 when the store or the blob store
 * failed (what was committed before stays). */
int engine_run(struct fetch_run *run);

/* The store writer: captures wait in a batch; flushing makes their blobs
 * durable, then commits all their rows (captures, source fetch state,
 * follow-ups done) in one transaction. */
struct batch;
struct batch *batch_new(struct fetch_run *run);
/* Takes ownership of C's strings. Returns 0, or -1 (out of memory). */
int batch_add(struct batch *b, struct capture *c);
size_t batch_size(const struct batch *b);
/* Returns STORE_OK, STORE_BUSY or STORE_ERROR (logged). */
int batch_flush(struct batch *b);
void batch_free(struct batch *b);

void capture_clear(struct capture *c);

/* Seconds until a source that failed FAILURES times in a row is tried
 * again: exponential from a few minutes, with jitter, never more than its
 * interval, so a failing source always recovers by itself. */
int64_t backoff_seconds(int64_t failures, int64_t interval);

double monotonic_now(void);

#endif
