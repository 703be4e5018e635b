/* Escaping is libxml2's (xmlEncodeSpecialChars: & < > " and CR) and
 * libcurl's (curl_easy_escape); every attribute is double-quoted. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/entities.h>

#include "html.h"

static void
append(struct html *h, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (h->failed)
		return;
	if (h->len + n + 1 > h->cap) {
		cap = h->cap ? h->cap : 4096;
		while (cap < h->len + n + 1)
			cap *= 2;
		if (!(p = realloc(h->data, cap))) {
			h->failed = true;
			return;
		}
		h->data = p;
		h->cap = cap;
	}
	memcpy(h->data + h->len, s, n);
	h->len += n;
	h->data[h->len] = '\0';
}

void
html_raw(struct html *h, const char *s)
{
	append(h, s, strlen(s));
}

void
html_printf(struct html *h, const char *fmt, ...)
{
	char small[256], *s = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(small) && (s = malloc((size_t)n + 1))) {
		va_start(ap, fmt);
		n = vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if (n < 0 || !s)
		h->failed = true;
	else
		append(h, s, (size_t)n);
	if (s != small)
		free(s);
}

void
html_text(struct html *h, const char *s)
{
	xmlChar *e;

	if (!s)
		return;
	if (!(e = xmlEncodeSpecialChars(NULL, (const xmlChar *)s))) {
		h->failed = true;
		return;
	}
	html_raw(h, (const char *)e);
	xmlFree(e);
}

void
html_query_value(struct html *h, const char *s)
{
	char *e;

	if (!s)
		return;
	if (!(e = curl_easy_escape(NULL, s, 0))) {
		h->failed = true;
		return;
	}
	html_text(h, e);
	curl_free(e);
}

void
html_free(struct html *h)
{
	free(h->data);
	*h = (struct html){ 0 };
}
