/* cybil-review's options, and its read-only commands: list, show, log. */
#ifndef CYBIL_REVIEW_SHOW_H
#define CYBIL_REVIEW_SHOW_H

#include <stdbool.h>
#include <stddef.h>

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

/* Each returns an exit status. */
int show_list(struct store *st, const struct review_options *o);
int show_record(struct store *st, const struct review_options *o);
int show_log(struct store *st, const struct review_options *o);

#endif
