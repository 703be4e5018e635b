/* A streaming XML reader for the feed, IATI and OAI-PMH parsers: libxml2's
 * SAX2 push parser fed from a file descriptor in chunks, so memory stays
 * flat whatever the document's size. It never loads anything external,
 * expands internal entities only within entity_budget, resolves HTML
 * named entities (&nbsp; in RSS 0.91) from the HTML table, caps depth and
 * the text it collects, and tracks xml:base. */
#ifndef CYBIL_XML_H
#define CYBIL_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "parser.h"

/* Elements deeper than this make the document hostile. */
#define XML_DEPTH_MAX 256

struct xml_attr {
	const char *ns;		/* namespace URI, or NULL */
	const char *name;	/* local name */
	const char *value;
};

/* What a start handler wants of the element's content. */
enum xml_collect {
	XML_COLLECT_NONE,
	XML_COLLECT_TEXT,	/* its text, descendants' included */
	XML_COLLECT_MARKUP	/* its inner markup, serialised (Atom xhtml) */
};

struct xml_reader;

struct xml_handlers {
	/* An element opens at DEPTH (the root is 1). Returns what to collect
	 * of it, or -1 to stop with an error (set through parse_fail). */
	int (*start)(struct xml_reader *r, int depth, const char *ns,
		const char *name, const struct xml_attr *attrs, size_t nattrs);
	/* It closes; TEXT (LEN bytes, NUL-terminated) is what was collected,
	 * or NULL. Returns 0, or -1 to stop. */
	int (*end)(struct xml_reader *r, int depth, const char *ns,
		const char *name, const char *text, size_t len);
};

/* Reads FD to its end through HANDLERS; USER is handed back by
 * xml_user(). Returns 0, or -1 with ctx->error set (malformed, hostile,
 * or a handler stopped it). */
int xml_read(struct parse_context *ctx, int fd,
	const struct xml_handlers *handlers, void *user);

void *xml_user(struct xml_reader *r);
struct parse_context *xml_context(struct xml_reader *r);
/* The base URL in force at the current element (xml:base honoured). */
const char *xml_base(struct xml_reader *r);
/* The absolute URL TEXT (LEN bytes, or SIZE_MAX: strlen) names, resolved
 * against the base in force; NULL when blank or no http(s) URL, or out of
 * memory (*OOM). */
char *xml_url(struct xml_reader *r, const char *text, size_t len, bool *oom);
/* Sets FIELDS[KEY] to that URL. Returns 0, or -1 (out of memory). */
int xml_set_url(struct xml_reader *r, json_t *fields, const char *key,
	const char *text, size_t len);
/* The value of attribute NAME (in namespace NS, or none) or NULL. */
const char *xml_attr(const struct xml_attr *attrs, size_t nattrs,
	const char *ns, const char *name);

#define XML_NS_XML "http://www.w3.org/XML/1998/namespace"

#endif
