/* Markup in feeds: what an element collected as markup meant, and the
 * links in an HTML fragment made absolute. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "url.h"

static bool
space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *
markup_text(const char *text, size_t *len, bool *elements)
{
	char *out, *o;
	size_t n = *len;
	bool markup = memchr(text, '<', n) != NULL;

	if (elements)
		*elements = markup;
	if (markup) {
		if ((out = strndup(text, n)))
			*len = html_void_end_tags(out, n);
		return out;
	}
	if (!(out = o = malloc(n + 1)))
		return NULL;
	for (size_t i = 0; i < n; ) {
		static const struct { const char *esc; char c; } escs[] = {
			{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
			{ "&quot;", '"' },
		};
		bool done = false;

		if (text[i] == '&')
			for (size_t k = 0; k < 4 && !done; k++) {
				size_t el = strlen(escs[k].esc);

				if (n - i >= el &&
				    memcmp(text + i, escs[k].esc, el) == 0) {
					*o++ = escs[k].c;
					i += el;
					done = true;
				}
			}
		if (!done)
			*o++ = text[i++];
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

/* ----------------------------------------------------- links in HTML */

/* Markup serialised by the XML reader closes every element: <br/> comes
 * as <br></br>, and HTML reads that </br> as a second <br>. Removes, in
 * place, the end tags of HTML's void elements from MARKUP (LEN bytes, in
 * which every '<' in text is escaped); returns the new length. */
size_t
html_void_end_tags(char *markup, size_t len)
{
	static const char *const voids[] = {
		"area", "base", "br", "col", "embed", "hr", "img", "input",
		"link", "meta", "param", "source", "track", "wbr",
	};
	size_t i = 0, o = 0;

	while (i < len) {
		bool drop = false;

		if (markup[i] == '<' && i + 1 < len && markup[i + 1] == '/') {
			for (size_t k = 0; k < sizeof(voids) / sizeof(voids[0]);
			    k++) {
				size_t n = strlen(voids[k]);

				if (len - i >= n + 3 && strncasecmp(markup + i +
				    2, voids[k], n) == 0 && markup[i + 2 + n] ==
				    '>') {
					i += n + 3;
					drop = true;
					break;
				}
			}
		}
		if (!drop)
			markup[o++] = markup[i++];
	}
	markup[o] = '\0';
	return o;
}

struct buf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(grown = realloc(b->s, cap))) {
			b->oom = true;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static bool
url_attribute(const char *name, size_t n)
{
	static const char *const names[] = {
		"href", "src", "cite", "poster", "background", "longdesc",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n &&
		    strncasecmp(names[i], name, n) == 0)
			return true;
	return false;
}

/* True if the URL V (N bytes) has a scheme: it is left as it is. */
static bool
has_scheme(const char *v, size_t n)
{
	size_t i = 0;

	while (i < n && space(v[i]))
		i++;
	if (i == n || !((v[i] >= 'a' && v[i] <= 'z') ||
	    (v[i] >= 'A' && v[i] <= 'Z')))
		return false;
	for (; i < n; i++) {
		char c = v[i];

		if (c == ':')
			return true;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return false;
	}
	return false;
}

/* Writes the attribute value V (N bytes, as written in HTML) resolved
 * against BASE, in double quotes; as it was when it cannot be resolved. */
static void
put_url_value(struct buf *b, const char *v, size_t n, char quote,
	const char *base)
{
	char *raw, *url = NULL, *o;
	size_t i;

	if (!has_scheme(v, n) && (raw = malloc(n + 1))) {
		/* The value's character references: &amp; is all a URL
		 * needs. */
		for (i = 0, o = raw; i < n; ) {
			if (n - i >= 5 && strncmp(v + i, "&amp;", 5) == 0) {
				*o++ = '&';
				i += 5;
			} else {
				*o++ = v[i++];
			}
		}
		*o = '\0';
		url = url_resolve(base, raw);
		free(raw);
	}
	if (!url) {
		if (quote)
			put(b, &quote, 1);
		put(b, v, n);
		if (quote)
			put(b, &quote, 1);
		return;
	}
	put(b, "\"", 1);
	for (o = url; *o; o++)
		if (*o == '&')
			put(b, "&amp;", 5);
		else if (*o == '"')
			put(b, "&quot;", 6);
		else
			put(b, o, 1);
	put(b, "\"", 1);
	free(url);
}

/* Returns a malloc'd copy of the HTML fragment HTML (LEN bytes) with the
 * relative URLs of its href, src, cite, poster, background and longdesc
 * attributes made absolute against BASE (a feed's xml:base or address);
 * URLs with a scheme, or that cannot be resolved, are left as they are.
 * NULL when out of memory. */
char *
html_absolute_links(const char *html, size_t len, const char *base,
	size_t *out_len)
{
	struct buf b = { 0 };
	size_t i = 0;

	if (!(b.s = malloc(b.cap = len + 1)))
		return NULL;
	b.s[0] = '\0';
	while (i < len && !b.oom) {
		const char *lt = memchr(html + i, '<', len - i);
		size_t at;

		if (!base || !lt) {
			put(&b, html + i, len - i);
			break;
		}
		at = (size_t)(lt - html);
		put(&b, html + i, at - i);
		i = at;
		if (len - i >= 4 && strncmp(html + i, "<!--", 4) == 0) {
			const char *end = NULL;

			for (size_t k = i + 4; k + 3 <= len; k++)
				if (strncmp(html + k, "-->", 3) == 0) {
					end = html + k + 3;
					break;
				}
			at = end ? (size_t)(end - html) : len;
			put(&b, html + i, at - i);
			i = at;
			continue;
		}
		if (i + 1 >= len || !((html[i + 1] >= 'a' &&
		    html[i + 1] <= 'z') || (html[i + 1] >= 'A' &&
		    html[i + 1] <= 'Z'))) {
			put(&b, "<", 1);
			i++;
			continue;
		}
		/* A start tag: its name, then its attributes. */
		at = i + 1;
		while (at < len && !space(html[at]) && html[at] != '>' &&
		    html[at] != '/')
			at++;
		put(&b, html + i, at - i);
		i = at;
		while (i < len && html[i] != '>' && !b.oom) {
			size_t name, name_len, vstart, vend;
			char quote = 0;

			if (space(html[i]) || html[i] == '/') {
				put(&b, html + i, 1);
				i++;
				continue;
			}
			name = i;
			while (i < len && !space(html[i]) && html[i] != '=' &&
			    html[i] != '>' && html[i] != '/')
				i++;
			name_len = i - name;
			if (name_len == 0) {
				/* A stray '=': kept, and moved past. */
				put(&b, html + i, 1);
				i++;
				continue;
			}
			put(&b, html + name, name_len);
			at = i;
			while (at < len && space(html[at]))
				at++;
			if (at >= len || html[at] != '=') {
				continue;
			}
			put(&b, html + i, at + 1 - i);
			i = at + 1;
			while (i < len && space(html[i]))
				put(&b, html + i++, 1);
			if (i < len && (html[i] == '"' || html[i] == '\'')) {
				const char *q;

				quote = html[i];
				vstart = i + 1;
				q = memchr(html + vstart, quote, len - vstart);
				vend = q ? (size_t)(q - html) : len;
				i = q ? vend + 1 : len;
			} else {
				vstart = i;
				while (i < len && !space(html[i]) &&
				    html[i] != '>')
					i++;
				vend = i;
			}
			if (url_attribute(html + name, name_len))
				put_url_value(&b, html + vstart, vend - vstart,
					quote, base);
			else {
				if (quote)
					put(&b, &quote, 1);
				put(&b, html + vstart, vend - vstart);
				if (quote && vend < len)
					put(&b, &quote, 1);
			}
		}
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	*out_len = b.len;
	return b.s;
}
