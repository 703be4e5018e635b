/* cybil-parse's store writer: the records of one capture, written in one
 * transaction (SPEC §4, §5). */
#ifndef CYBIL_HARVEST_H
#define CYBIL_HARVEST_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "parser.h"
#include "store.h"

/* The capture being parsed. */
struct capture_info {
	int64_t id;
	const char *url;
	const char *final_url;
	const char *fetched_at;
	const char *content_type;
	const char *sha256;
};

struct harvest_counts {
	uint64_t added, changed, unchanged, deleted, gone, repended, queued;
};

struct harvest;

/* Opens the capture's transaction (BEGIN IMMEDIATE). Returns STORE_OK and
 * *OUT, STORE_BUSY or STORE_ERROR. */
int harvest_begin(struct store *st, const struct source_config *src,
	const struct parser *parser, const struct capture_info *cap,
	struct harvest **out);
/* Adds or updates one record (REC stays the caller's). */
int harvest_record(struct harvest *h, const struct record *rec);
/* Queues a follow-up URL of the source (deduplicated, within
 * follow_hosts and follow_max; others are skipped, not errors). */
int harvest_follow(struct harvest *h, const char *url, const char *reason);
/* Marks the capture parsed with HARVEST_FROM (an OAI-PMH page's response
 * date, or NULL); when this capture ends its list (queued no next page),
 * marks what a COMPLETE list lacked as gone (unless too many would
 * vanish) and keeps its first page's date for the next harvest. Commits
 * and frees H. */
int harvest_commit(struct harvest *h, bool complete,
	const char *harvest_from, struct harvest_counts *counts);
/* Rolls back everything the capture wrote and frees H. */
void harvest_abort(struct harvest *h);
const char *harvest_error(const struct harvest *h);
/* STORE_OK, or the STORE_ERROR or STORE_BUSY of a store (or memory)
 * failure while adding records or follow-ups: not the capture's fault,
 * so not to be recorded as its parse error. */
int harvest_status(const struct harvest *h);

#endif
