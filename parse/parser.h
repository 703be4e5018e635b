/* cybil-parse: the parsers (one file each, chosen by the source's kind)
 * and what they hand back. A parser reads one document and emits records;
 * it never touches the store or the network. */
#ifndef CYBIL_PARSER_H
#define CYBIL_PARSER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "text.h"

/* One harvested item. Every string is normalised text (text.h); FIELDS
 * holds the record's normalised fields (see cybil-parse(1)), dates as
 * RFC 3339 UTC at their precision. */
struct record {
	char *external_id;	/* guid, id, identifier ...; NULL: derived */
	char *title;
	char *url;		/* absolute */
	json_t *fields;		/* object, owned */
	bool deleted;		/* the source says it was deleted */
};

void record_free(struct record *r);

/* What a parser gets: the document's context, the limits, and where its
 * results go. */
struct parse_context {
	const struct config *cfg;	/* limits: max_records, max_field,
					 * entity_budget, language */
	const struct source_config *src;	/* NULL for --dump */
	const char *base_url;	/* the capture's final URL, for relative
				 * links */
	const char *content_type;	/* NULL when unknown */

	/* Takes ownership of REC (also on failure). Returns 0, or -1 to
	 * stop parsing (the sink's error is already set). */
	int (*emit)(struct parse_context *ctx, struct record *rec);
	/* Queues URL (absolute) for fetching: REASON is "follow" or
	 * "resume". Returns 0 or -1. */
	int (*follow)(struct parse_context *ctx, const char *url,
		const char *reason);
	void *sink;

	/* Set by the parser. */
	json_t *document;	/* fields of the document itself (a feed's
				 * title, link ...), for --dump; may stay
				 * NULL */
	bool complete;		/* the document lists the whole source (a
				 * feed, an IATI file, the last page of a
				 * full OAI-PMH list): what it lacks is gone */
	char *harvest_from;	/* OAI-PMH: the page's response date; the
				 * first page's is the next harvest's
				 * `from` once its list ends */
	bool restart;		/* OAI-PMH badResumptionToken: start over */
	struct text_stats text;	/* replaced bytes, cut fields */
	uint64_t records;	/* emitted so far */
	uint64_t skipped;	/* items dropped (over max_records ...) */
	char error[512];	/* why parsing failed */
};

/* Returns 0, or -1 with ctx->error set: the document is malformed or
 * hostile, and nothing it emitted may be kept. */
typedef int parse_fn(struct parse_context *ctx, int fd);

struct parser {
	const char *kind;	/* the source kind it reads */
	const char *name;	/* recorded as record.parser */
	const char *version;	/* bumped when its output changes */
	parse_fn *parse;
};

/* The parser for KIND (rss, atom, html, iati, oai-pmh), or NULL. */
const struct parser *parser_for(const char *kind);

/* Helpers parsers share. */

/* ctx->error = the formatted message; returns -1. */
int parse_fail(struct parse_context *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Normalised text of S (LEN bytes, or strlen when LEN is SIZE_MAX), cut
 * at max_field. NULL for blank text or no memory (*OOM tells which). */
char *parse_text(struct parse_context *ctx, const char *s, size_t len,
	bool *oom);
/* Sets FIELDS[KEY] to the string S (a no-op for NULL). Returns 0 or -1. */
int field_set_text(json_t *fields, const char *key, const char *s);
/* Appends S to the array FIELDS[KEY], creating it. Returns 0 or -1. */
int field_append_text(json_t *fields, const char *key, const char *s);
/* Sets FIELDS[KEY] to the date in S at its precision and
 * FIELDS[KEY_precision]; unparseable dates are kept as KEY_raw. */
int field_set_date(json_t *fields, const char *key, const char *s);

#endif
