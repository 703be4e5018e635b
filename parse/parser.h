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
	uint64_t over_max;	/* of those, over max_records: the list is
				 * then not complete */
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

/* Record building with the context's normalisation: TEXT (LEN bytes, or
 * strlen when SIZE_MAX) normalised, blank text setting nothing. Each
 * returns 0, or -1 with ctx->error "out of memory". */
#define PARSE_ARRAY_MAX 256	/* elements kept in one array field */
int parse_nomem(struct parse_context *ctx);
/* Sets FIELDS[KEY] to V, which it frees (NULL: nothing). */
int parse_set_owned(struct parse_context *ctx, json_t *fields,
	const char *key, char *v);
int parse_set_text(struct parse_context *ctx, json_t *fields,
	const char *key, const char *text, size_t len);
/* As field_set_date, of the normalised TEXT. */
int parse_set_date(struct parse_context *ctx, json_t *fields,
	const char *key, const char *text, size_t len);
/* Appends VALUE (owned; NULL means out of memory) to the array
 * FIELDS[KEY]; past PARSE_ARRAY_MAX elements it is dropped and
 * ctx->text.truncated set. */
int parse_append(struct parse_context *ctx, json_t *fields,
	const char *key, json_t *value);
int parse_append_text(struct parse_context *ctx, json_t *fields,
	const char *key, const char *text, size_t len);

/* Text a parser keeps per record, as a multiple of max_field (at least
 * 64 KiB): a hostile document cannot grow one record without bound. */
struct text_budget {
	size_t used, max;
	bool cut;		/* something was dropped */
};
void parse_budget_init(const struct parse_context *ctx,
	struct text_budget *b);
/* Normalised text of S (LEN bytes, or SIZE_MAX: strlen) counted against
 * B: *OUT is NULL for blank text, or when B is spent (B->cut and
 * ctx->text.truncated are then set). Returns 0, or -1 when out of
 * memory. */
int parse_budget_text(struct parse_context *ctx, struct text_budget *b,
	const char *s, size_t len, char **out);

/* Markup (parse/markup.c). */
/* Text collected with XML_COLLECT_MARKUP: child elements come serialised
 * and character data escaped. Returns what the document meant: the markup
 * (void elements' end tags dropped) when there were child elements
 * (*ELEMENTS, if not NULL), else the character data unescaped. *LEN in,
 * length out. NULL when out of memory. */
char *markup_text(const char *text, size_t *len, bool *elements);
/* Markup serialised by the XML reader closes every element: <br/> comes
 * as <br></br>, and HTML reads that </br> as a second <br>. Removes, in
 * place, the end tags of HTML's void elements from MARKUP (LEN bytes, in
 * which every '<' in text is escaped); returns the new length. */
size_t html_void_end_tags(char *markup, size_t len);
/* Returns a malloc'd copy of the HTML fragment HTML (LEN bytes) with the
 * relative URLs of its href, src, cite, poster, background and longdesc
 * attributes made absolute against BASE (a feed's xml:base or address);
 * URLs with a scheme, or that cannot be resolved, are left as they are.
 * NULL when out of memory. */
char *html_absolute_links(const char *html, size_t len, const char *base,
	size_t *out_len);

#endif
