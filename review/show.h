/* cybil-review's options, and its read-only commands: list, show, log. */
#ifndef CYBIL_REVIEW_SHOW_H
#define CYBIL_REVIEW_SHOW_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "store.h"

enum output_format { FORMAT_TABLE, FORMAT_JSON, FORMAT_TSV };

struct review_options {
	const char *config;
	int quiet, verbose;
	const char *command;
	const char *const *args;
	size_t nargs;
	/* list */
	const char *consent, *state, *source, *kind, *since;
	bool changed;
	long limit;
	enum output_format format;
	/* decisions */
	const char *evidence, *expires, *url, *by, *note, *from;
	bool all, yes;
};

/* The records the queue lists: NULL with ERR set when a filter is wrong,
 * NULL with ERR empty on a store error (logged). */
struct list_filter {
	const char *consent, *state, *source, *kind, *since;
	bool changed;
	long limit, offset;
};
json_t *list_rows(struct store *st, const struct list_filter *f, char *err,
	size_t errlen);
/* The rows of SQL, with ?1 (if any) bound to ID (NULL allowed), one
 * object each;
 * NULL on error (logged). */
json_t *query_rows(struct store *st, const char *sql, const char *id);
/* A record with its fields beside their corrections, its consent history
 * and its pending suggestions; json_null() when there is no such record,
 * NULL on error (logged). */
json_t *record_view(struct store *st, const char *id);

/* Each returns an exit status. */
int show_list(struct store *st, const struct review_options *o);
int show_record(struct store *st, const struct review_options *o);
int show_log(struct store *st, const struct review_options *o);

#endif
