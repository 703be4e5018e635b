/* A page being written: a growing buffer that remembers running out of
 * memory, so that callers check once, at the end. Every harvested value
 * goes through html_text, which escapes it. */
#ifndef CYBIL_REVIEW_HTML_H
#define CYBIL_REVIEW_HTML_H

#include <stdbool.h>
#include <stddef.h>

struct html {
	char *data;
	size_t len, cap;
	bool failed;
};

/* Markup written by the console itself, never data. */
void html_raw(struct html *h, const char *s);
void html_printf(struct html *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* S as text or as a double-quoted attribute's value: escaped. */
void html_text(struct html *h, const char *s);
/* S escaped as a URL query value, then as HTML. */
void html_query_value(struct html *h, const char *s);
void html_free(struct html *h);

#endif
