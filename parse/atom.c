/* The atom parser: Atom 1.0 (RFC 4287) and 0.3 (with the Echo/Pie
 * namespaces that came before it), streamed: each entry becomes a record
 * as soon as it closes. Also reads an entry document (root <entry>).
 *
 * Entry fields: title_html (the title when it is HTML or XHTML; the plain
 * text is the record's title), summary and summary_html, content,
 * content_html, content_type (text, html, xhtml or a MIME type) and
 * content_src, published, updated, created (0.3), author, authors and
 * contributors [{name, email, uri}], categories [{term, scheme, label}],
 * links [{rel, href, type, title, hreflang, length}], enclosures [{url,
 * type, length}], license, rights and rights_html, source (the feed's own
 * fields, as in the document). xml:base is honoured on every URL; an entry
 * without an author takes its source's or its feed's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parser.h"
#include "url.h"
#include "xml.h"

#define NS_ATOM10 "http://www.w3.org/2005/Atom"
#define NS_ATOM03 "http://purl.org/atom/ns#"

/* Repeated elements (links, categories, authors ...) kept per record. */
#define ATOM_ARRAY_MAX 256

/* Shared with rss.c, which declares them too: they belong with the
 * helpers in parser.h and common.c. */
char *html_absolute_links(const char *html, size_t len, const char *base,
	size_t *out_len);
size_t html_void_end_tags(char *markup, size_t len);

enum tag {
	A_OTHER, A_FEED, A_ENTRY, A_SOURCE, A_TITLE, A_SUBTITLE, A_RIGHTS,
	A_SUMMARY, A_CONTENT, A_ID, A_LINK, A_PUBLISHED, A_UPDATED, A_CREATED,
	A_AUTHOR, A_CONTRIBUTOR, A_NAME, A_EMAIL, A_URI, A_CATEGORY,
	A_GENERATOR, A_ICON, A_LOGO,
};

/* How a text construct's content is given. */
enum kind {
	K_TEXT,		/* plain text (escaped markup is text) */
	K_HTML,		/* escaped HTML */
	K_XHTML,	/* Atom 1.0 xhtml: markup inside one xhtml:div */
	K_XML,		/* inline markup, kept whole (0.3 xhtml, XML types) */
	K_BASE64,	/* base64, then DECODED */
};

enum container { C_FEED, C_ENTRY, C_SOURCE };

struct atom {
	struct parse_context *ctx;
	json_t *doc;		/* ctx->document */
	bool feed;		/* the root is a feed */
	bool bare;		/* in no namespace: Atom's names are read as
				 * Atom 1.0's */

	int entry_depth;	/* 0: not in an entry */
	struct record *entry;
	int source_depth;	/* 0: not in an entry's source */
	json_t *source;
	/* How much the alternate link chosen so far fits (0: none yet). */
	int alternate[3];

	int person_depth;	/* 0: not in an author or contributor */
	json_t *person;

	/* The text construct being read. */
	enum kind kind, decoded;
	char ctype[64];		/* its content_type */

	json_t *link;		/* a link whose href is its content (0.3) */
};

struct name_tag {
	const char *name;
	enum tag tag;
};

static const struct name_tag tags[] = {
	{ "feed", A_FEED }, { "entry", A_ENTRY }, { "source", A_SOURCE },
	{ "title", A_TITLE }, { "subtitle", A_SUBTITLE },
	{ "tagline", A_SUBTITLE }, { "rights", A_RIGHTS },
	{ "copyright", A_RIGHTS }, { "summary", A_SUMMARY },
	{ "content", A_CONTENT }, { "id", A_ID }, { "link", A_LINK },
	{ "published", A_PUBLISHED }, { "issued", A_PUBLISHED },
	{ "updated", A_UPDATED }, { "modified", A_UPDATED },
	{ "created", A_CREATED }, { "author", A_AUTHOR },
	{ "contributor", A_CONTRIBUTOR }, { "name", A_NAME },
	{ "email", A_EMAIL }, { "uri", A_URI }, { "url", A_URI },
	{ "homepage", A_URI }, { "category", A_CATEGORY },
	{ "generator", A_GENERATOR }, { "icon", A_ICON }, { "logo", A_LOGO },
	{ NULL, A_OTHER },
};

static bool
is(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* Atom 0.3 and the drafts before it (Echo, Pie). */
static bool
ns_03(const char *ns)
{
	return is(ns, NS_ATOM03) || is(ns, "http://purl.org/echo/") ||
		is(ns, "http://purl.org/pie/") ||
		is(ns, "http://example.com/newformat#") ||
		is(ns, "http://example.com/necho");
}

static enum tag
lookup(const struct atom *s, const char *ns, const char *name)
{
	if (!is(ns, NS_ATOM10) && !ns_03(ns) && (ns || !s->bare))
		return A_OTHER;
	for (const struct name_tag *t = tags; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t->tag;
	return A_OTHER;
}

/* ------------------------------------------------------------ helpers */

static int
nomem(struct atom *s)
{
	return parse_fail(s->ctx, "out of memory");
}

static char *
text_of(struct atom *s, const char *text, size_t len, bool *oom)
{
	*oom = false;
	if (!text)
		return NULL;
	return parse_text(s->ctx, text, len, oom);
}

static char *
url_of(struct xml_reader *r, const char *text, size_t len, bool *oom)
{
	struct atom *s = xml_user(r);
	char *t = text_of(s, text, len, oom), *u;

	if (!t)
		return NULL;
	u = url_resolve(xml_base(r), t);
	free(t);
	return u;
}

/* Sets FIELDS[KEY] to V, which it frees. */
static int
set_owned(struct atom *s, json_t *fields, const char *key, char *v)
{
	int rc = 0;

	if (v && field_set_text(fields, key, v) < 0)
		rc = nomem(s);
	free(v);
	return rc;
}

static int
set_text(struct atom *s, json_t *fields, const char *key, const char *text,
	size_t len)
{
	bool oom;
	char *v = text_of(s, text, len, &oom);

	return oom ? nomem(s) : set_owned(s, fields, key, v);
}

static int
set_url(struct xml_reader *r, json_t *fields, const char *key,
	const char *text, size_t len)
{
	struct atom *s = xml_user(r);
	bool oom;
	char *v = url_of(r, text, len, &oom);

	return oom ? nomem(s) : set_owned(s, fields, key, v);
}

static int
set_date(struct atom *s, json_t *fields, const char *key, const char *text,
	size_t len)
{
	bool oom;
	char *v = text_of(s, text, len, &oom);
	int rc = 0;

	if (oom || (v && field_set_date(fields, key, v) < 0))
		rc = nomem(s);
	free(v);
	return rc;
}

/* Appends VALUE (owned) to the array FIELDS[KEY], at most ATOM_ARRAY_MAX
 * of them. */
static int
append_value(struct atom *s, json_t *fields, const char *key, json_t *value)
{
	json_t *array = json_object_get(fields, key);

	if (!value)
		return nomem(s);
	if (!array) {
		if (!(array = json_array()) ||
		    json_object_set_new(fields, key, array) < 0) {
			json_decref(value);
			return nomem(s);
		}
	}
	if (json_array_size(array) >= ATOM_ARRAY_MAX) {
		s->ctx->text.truncated = true;
		json_decref(value);
		return 0;
	}
	return json_array_append_new(array, value) < 0 ? nomem(s) : 0;
}

/* Text collected with XML_COLLECT_MARKUP: child elements come serialised
 * and character data escaped. Returns what the document meant: the markup
 * (void elements' end tags dropped) when there were child elements
 * (*ELEMENTS), else the character data unescaped. *LEN in, length out. */
static char *
from_markup(const char *text, size_t *len, bool *elements)
{
	char *out, *o;
	size_t n = *len;

	if ((*elements = memchr(text, '<', n) != NULL)) {
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

static bool
space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Atom 1.0 xhtml content is the inside of one xhtml:div: returns a copy
 * of that inside, or of the whole markup when it is not so wrapped. The
 * markup is xml.c's serialisation: only start and end tags, with every
 * '<' and '>' in text and attribute values escaped. */
static char *
strip_div(const char *m, size_t *len)
{
	size_t n = *len, from = 0, to = n, i, inner;
	int depth = 0;

	while (from < to && space(m[from]))
		from++;
	while (to > from && space(m[to - 1]))
		to--;
	if (to - from < 11 || strncmp(m + from, "<div", 4) != 0 ||
	    (m[from + 4] != '>' && m[from + 4] != ' ') ||
	    strncmp(m + to - 6, "</div>", 6) != 0)
		return strndup(m, n);
	for (i = from; i < to; i++) {
		if (m[i] != '<')
			continue;
		depth += m[i + 1] == '/' ? -1 : 1;
		if (depth == 0) {
			const char *gt = memchr(m + i, '>', to - i);

			if (!gt || (size_t)(gt - m) + 1 != to)
				return strndup(m, n);
			break;
		}
	}
	if (depth != 0)
		return strndup(m, n);
	inner = (size_t)((const char *)memchr(m + from, '>', to - from) - m);
	inner++;
	*len = to - 6 - inner;
	return strndup(m + inner, *len);
}

/* Decodes base64 (white space ignored); NULL if it is not base64. */
static char *
base64_decode(const char *s, size_t len, size_t *out_len)
{
	char *out = malloc(len / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (space(c))
			continue;
		else if (c == '=')
			break;
		else {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	for (; i < len; i++)
		if (s[i] != '=' && !space(s[i])) {
			free(out);
			return NULL;
		}
	out[o] = '\0';
	*out_len = o;
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

/* -------------------------------------------------------- containers */

static enum container
container(const struct atom *s)
{
	return s->source_depth ? C_SOURCE : s->entry_depth ? C_ENTRY : C_FEED;
}

static int
container_depth(const struct atom *s)
{
	return s->source_depth ? s->source_depth : s->entry_depth ?
		s->entry_depth : 1;
}

static json_t *
fields_of(const struct atom *s)
{
	switch (container(s)) {
	case C_SOURCE: return s->source;
	case C_ENTRY: return s->entry->fields;
	default: return s->doc;
	}
}

/* ------------------------------------------------------ text constructs */

static void
set_ctype(struct atom *s, const char *t)
{
	snprintf(s->ctype, sizeof(s->ctype), "%s", t);
}

static bool
xml_type(const char *t)
{
	size_t n = strlen(t);

	return (n > 4 && strcmp(t + n - 4, "+xml") == 0) ||
		(n > 4 && strcmp(t + n - 4, "/xml") == 0);
}

/* Decides how the text construct that opens is read; returns what to
 * collect. */
static int
text_start(struct atom *s, bool v03, const struct xml_attr *attrs, size_t n)
{
	const char *type = xml_attr(attrs, n, NULL, "type");
	const char *mode = xml_attr(attrs, n, NULL, "mode");
	char mime[64];
	size_t i;

	if (!type)
		type = v03 ? "text/plain" : "text";
	/* A MIME type in lower case, without its parameters; one that is
	 * not a plain token is read as text. */
	while (space(*type))
		type++;
	for (i = 0; i < sizeof(mime) - 1 && type[i] && type[i] != ';' &&
	    !space(type[i]); i++) {
		char c = type[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("!#$&^_.+-/", c))) {
			i = 0;
			break;
		}
		mime[i] = c;
	}
	mime[i] = '\0';

	if (!*mime || strcmp(mime, "text") == 0 ||
	    strcmp(mime, "text/plain") == 0) {
		s->decoded = K_TEXT;
		set_ctype(s, "text");
	} else if (strcmp(mime, "html") == 0 ||
	    strcmp(mime, "text/html") == 0) {
		s->decoded = K_HTML;
		set_ctype(s, "html");
	} else if (strcmp(mime, "xhtml") == 0) {
		s->decoded = v03 ? K_XML : K_XHTML;
		set_ctype(s, "xhtml");
	} else if (strcmp(mime, "application/xhtml+xml") == 0) {
		s->decoded = K_XML;
		set_ctype(s, "xhtml");
	} else {
		set_ctype(s, mime);
		s->decoded = xml_type(mime) ? K_XML :
			strncmp(mime, "text/", 5) == 0 ? K_TEXT : K_BASE64;
	}
	s->kind = s->decoded;
	if (v03 && mode && strcmp(mode, "base64") == 0) {
		s->kind = K_BASE64;
	} else if (v03 && mode && strcmp(mode, "escaped") == 0) {
		/* Escaped XHTML is HTML. */
		if (s->decoded == K_XML || s->decoded == K_XHTML)
			s->decoded = K_HTML;
		s->kind = s->decoded;
	}
	if (s->kind == K_BASE64)
		return XML_COLLECT_TEXT;
	/* Text and HTML too as markup: naked child elements are kept. */
	return XML_COLLECT_MARKUP;
}

/* Stores the text construct TEXT read as text_start decided: the plain
 * text in FIELDS[KEY] (or *PLAIN), the HTML in FIELDS[KEY_html]. */
static int
text_end(struct xml_reader *r, json_t *fields, const char *key,
	const char *text, size_t len, char **plain_out)
{
	struct atom *s = xml_user(r);
	struct text_stats scratch = { 0 };
	char *raw = NULL, *html = NULL, *plain = NULL;
	char key_html[64];
	enum kind kind = s->kind;
	bool elements = false, oom = false;
	int rc = 0;

	if (kind == K_BASE64) {
		if (!(raw = base64_decode(text, len, &len)))
			return 0;
		kind = s->decoded;
		if (kind == K_BASE64) {
			/* Kept only if it is text. */
			struct text_stats check = { 0 };
			char *t = text_normalize(raw, len, SIZE_MAX, &check);

			free(t);
			if (!t || check.replaced || memchr(raw, '\0', len)) {
				free(raw);
				return t ? 0 : nomem(s);
			}
			kind = K_TEXT;
		}
		if (kind == K_XHTML || kind == K_XML)
			kind = K_HTML;
	} else if (kind == K_TEXT || kind == K_HTML) {
		if (!(raw = from_markup(text, &len, &elements)))
			return nomem(s);
		/* Markup given as child elements is HTML. */
		if (elements) {
			kind = K_HTML;
			if (strcmp(s->ctype, "text") == 0)
				set_ctype(s, "html");
		}
	} else if (kind == K_XHTML) {
		if (!(raw = strip_div(text, &len)))
			return nomem(s);
		len = html_void_end_tags(raw, len);
	} else if ((raw = strndup(text, len))) {
		len = html_void_end_tags(raw, len);
	} else {
		return nomem(s);
	}

	if (kind == K_TEXT) {
		plain = parse_text(s->ctx, raw, len, &oom);
	} else {
		/* Relative links are resolved where the base is known. */
		char *abs = html_absolute_links(raw, len, xml_base(r), &len);

		free(raw);
		if (!(raw = abs))
			return nomem(s);
		html = parse_text(s->ctx, raw, len, &oom);
		/* HTML without tags or references is its own plain text. */
		if (html && !strchr(html, '<') && !strchr(html, '&'))
			plain = strdup(html);
		else if (html)
			plain = text_from_html(raw, len,
				s->ctx->cfg->parse_max_field, &scratch);
		if (html && !plain)
			oom = true;
		if (plain && *plain == '\0') {
			free(plain);
			plain = NULL;
		}
	}
	free(raw);
	if (oom) {
		free(html);
		free(plain);
		return nomem(s);
	}
	snprintf(key_html, sizeof(key_html), "%s_html", key);
	/* A later element of the same name replaces all of an earlier. */
	if (!html)
		json_object_del(fields, key_html);
	if (set_owned(s, fields, key_html, html) < 0)
		rc = -1;
	if (plain_out) {
		free(*plain_out);
		*plain_out = plain;
	} else if (set_owned(s, fields, key, plain) < 0) {
		rc = -1;
	}
	return rc;
}

/* ---------------------------------------------------------------- links */

/* How well a link fits as the alternate: the first alternate wins,
 * unless a later one is HTML and it is not. */
static int
alternate_fit(const char *type)
{
	return !type || strcmp(type, "text/html") == 0 ||
		strcmp(type, "application/xhtml+xml") == 0 ? 2 : 1;
}

/* Adds LINK {rel, type ...} (owned) with HREF to the container. */
static int
link_add(struct xml_reader *r, json_t *link, const char *href)
{
	struct atom *s = xml_user(r);
	enum container c = container(s);
	json_t *f = fields_of(s), *enc;
	const char *rel, *type;
	char *url;
	int fit;

	if (!href || !(url = url_resolve(xml_base(r), href))) {
		json_decref(link);
		return 0;
	}
	if (field_set_text(link, "href", url) < 0) {
		free(url);
		json_decref(link);
		return nomem(s);
	}
	rel = json_string_value(json_object_get(link, "rel"));
	type = json_string_value(json_object_get(link, "type"));
	if (is(rel, "alternate") && (fit = alternate_fit(type)) >
	    s->alternate[c]) {
		s->alternate[c] = fit;
		if (c == C_ENTRY) {
			free(s->entry->url);
			if (!(s->entry->url = strdup(url))) {
				free(url);
				json_decref(link);
				return nomem(s);
			}
		} else if (field_set_text(f, "link", url) < 0) {
			free(url);
			json_decref(link);
			return nomem(s);
		}
	}
	if (is(rel, "license") && !json_object_get(f, "license") &&
	    field_set_text(f, "license", url) < 0) {
		free(url);
		json_decref(link);
		return nomem(s);
	}
	if (is(rel, "enclosure")) {
		if (!(enc = json_object()) ||
		    field_set_text(enc, "url", url) < 0 ||
		    (type && field_set_text(enc, "type", type) < 0) ||
		    (json_object_get(link, "length") && json_object_set(enc,
		    "length", json_object_get(link, "length")) < 0)) {
			json_decref(enc);
			free(url);
			json_decref(link);
			return nomem(s);
		}
		if (append_value(s, f, "enclosures", enc) < 0) {
			free(url);
			json_decref(link);
			return -1;
		}
	}
	free(url);
	return append_value(s, f, "links", link);
}

static int
link_start(struct xml_reader *r, const struct xml_attr *attrs, size_t n)
{
	static const char *const names[] = {
		"rel", "type", "title", "hreflang", "length",
	};
	struct atom *s = xml_user(r);
	const char *href = xml_attr(attrs, n, NULL, "href");
	json_t *link = json_object();

	if (!link)
		return nomem(s);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = xml_attr(attrs, n, NULL, names[i]);
		bool oom;
		char *t;

		if (i == 0 && !v)
			v = "alternate";
		t = text_of(s, v, SIZE_MAX, &oom);
		if (oom || set_owned(s, link, names[i], t) < 0) {
			json_decref(link);
			return nomem(s);
		}
	}
	if (href)
		return link_add(r, link, href);
	/* Some 0.3 feeds give the address as the content. */
	json_decref(s->link);
	s->link = link;
	return XML_COLLECT_TEXT;
}

static int
link_end(struct xml_reader *r, const char *text, size_t len)
{
	struct atom *s = xml_user(r);
	json_t *link = s->link;
	bool oom;
	char *href;
	int rc;

	s->link = NULL;
	if (!link)
		return 0;
	href = text_of(s, text, len, &oom);
	if (oom) {
		json_decref(link);
		return nomem(s);
	}
	rc = link_add(r, link, href);
	free(href);
	return rc;
}

/* ------------------------------------------------------------ elements */

static int
category_add(struct xml_reader *r, const struct xml_attr *attrs, size_t n)
{
	static const char *const names[] = { "term", "scheme", "label" };
	struct atom *s = xml_user(r);
	json_t *cat = json_object();

	if (!cat)
		return nomem(s);
	for (size_t i = 0; i < 3; i++) {
		const char *v = xml_attr(attrs, n, NULL, names[i]);
		bool oom;
		char *t;

		/* A scheme is an IRI; it is kept as given. */
		t = text_of(s, v, SIZE_MAX, &oom);
		if (oom || set_owned(s, cat, names[i], t) < 0) {
			json_decref(cat);
			return nomem(s);
		}
	}
	if (!json_object_get(cat, "term")) {
		json_decref(cat);
		return 0;
	}
	return append_value(s, fields_of(s), "categories", cat);
}

static int
generator_start(struct xml_reader *r, const struct xml_attr *attrs,
	size_t n)
{
	struct atom *s = xml_user(r);
	json_t *f = fields_of(s);
	const char *uri = xml_attr(attrs, n, NULL, "uri");
	const char *version = xml_attr(attrs, n, NULL, "version");

	if (!uri)
		uri = xml_attr(attrs, n, NULL, "url");
	if (uri && set_owned(s, f, "generator_uri",
	    url_resolve(xml_base(r), uri)) < 0)
		return -1;
	if (version && set_text(s, f, "generator_version", version,
	    SIZE_MAX) < 0)
		return -1;
	return XML_COLLECT_TEXT;
}

static int
person_end(struct atom *s, const char *name)
{
	json_t *p = s->person, *f = fields_of(s), *display;
	bool author = strcmp(name, "author") == 0;

	s->person = NULL;
	s->person_depth = 0;
	if (!p || json_object_size(p) == 0) {
		json_decref(p);
		return 0;
	}
	if (author && !json_object_get(f, "author")) {
		if (!(display = json_object_get(p, "name")))
			display = json_object_get(p, "email");
		if (display && json_object_set(f, "author", display) < 0) {
			json_decref(p);
			return nomem(s);
		}
	}
	return append_value(s, f, author ? "authors" : "contributors", p);
}

static int
entry_open(struct atom *s, int depth)
{
	record_free(s->entry);
	if (!(s->entry = calloc(1, sizeof(*s->entry))) ||
	    !(s->entry->fields = json_object()))
		return nomem(s);
	s->entry_depth = depth;
	s->alternate[C_ENTRY] = 0;
	return XML_COLLECT_NONE;
}

/* An entry without authors has its source's, else its feed's (RFC 4287
 * 4.2.1). */
static int
inherit_authors(struct atom *s, json_t *f)
{
	json_t *from = json_object_get(f, "source");

	if (json_object_get(f, "authors"))
		return 0;
	if (!from || !json_object_get(from, "authors"))
		from = s->doc;
	if (!from || !json_object_get(from, "authors"))
		return 0;
	if (json_object_set_new(f, "authors", json_deep_copy(
	    json_object_get(from, "authors"))) < 0 ||
	    (json_object_get(from, "author") && json_object_set(f, "author",
	    json_object_get(from, "author")) < 0))
		return nomem(s);
	return 0;
}

static int
entry_close(struct atom *s)
{
	struct record *rec = s->entry;

	s->entry = NULL;
	s->entry_depth = 0;
	if (inherit_authors(s, rec->fields) < 0) {
		record_free(rec);
		return -1;
	}
	if (!rec->external_id && rec->url &&
	    !(rec->external_id = strdup(rec->url))) {
		record_free(rec);
		return nomem(s);
	}
	return s->ctx->emit(s->ctx, rec);
}

/* A direct child of the feed, an entry or a source opens. */
static int
field_start(struct xml_reader *r, enum tag t, bool v03,
	const struct xml_attr *attrs, size_t n)
{
	struct atom *s = xml_user(r);
	json_t *f = fields_of(s);
	const char *src;

	switch (t) {
	case A_TITLE: case A_SUBTITLE: case A_RIGHTS: case A_SUMMARY:
		return text_start(s, v03, attrs, n);
	case A_CONTENT:
		if ((src = xml_attr(attrs, n, NULL, "src"))) {
			if (set_owned(s, f, "content_src",
			    url_resolve(xml_base(r), src)) < 0)
				return -1;
			text_start(s, v03, attrs, n);
			if (field_set_text(f, "content_type", s->ctype) < 0)
				return nomem(s);
			return XML_COLLECT_NONE;
		}
		return text_start(s, v03, attrs, n);
	case A_LINK:
		return link_start(r, attrs, n);
	case A_CATEGORY:
		return category_add(r, attrs, n);
	case A_GENERATOR:
		return generator_start(r, attrs, n);
	case A_AUTHOR: case A_CONTRIBUTOR:
		json_decref(s->person);
		if (!(s->person = json_object()))
			return nomem(s);
		s->person_depth = container_depth(s) + 1;
		return XML_COLLECT_NONE;
	case A_ID: case A_PUBLISHED: case A_UPDATED: case A_CREATED:
	case A_ICON: case A_LOGO:
		return XML_COLLECT_TEXT;
	default:
		return XML_COLLECT_NONE;
	}
}

static int
field_end(struct xml_reader *r, enum tag t, const char *text, size_t len)
{
	struct atom *s = xml_user(r);
	enum container c = container(s);
	json_t *f = fields_of(s);
	bool oom;
	char *v;

	if (t == A_LINK)
		return link_end(r, text, len);
	if (!text)
		return 0;
	switch (t) {
	case A_TITLE:
		return text_end(r, f, "title", text, len, c == C_ENTRY ?
			&s->entry->title : NULL);
	case A_SUBTITLE:
		return text_end(r, f, "subtitle", text, len, NULL);
	case A_RIGHTS:
		return text_end(r, f, "rights", text, len, NULL);
	case A_SUMMARY:
		return text_end(r, f, "summary", text, len, NULL);
	case A_CONTENT:
		if (text_end(r, f, "content", text, len, NULL) < 0)
			return -1;
		return field_set_text(f, "content_type", s->ctype) < 0 ?
			nomem(s) : 0;
	case A_ID:
		/* An id is compared as given, never normalised as a URL. */
		if (c != C_ENTRY)
			return set_text(s, f, "id", text, len);
		if ((v = text_of(s, text, len, &oom))) {
			free(s->entry->external_id);
			s->entry->external_id = v;
		}
		return oom ? nomem(s) : 0;
	case A_PUBLISHED:
		return set_date(s, f, "published", text, len);
	case A_UPDATED:
		return set_date(s, f, "updated", text, len);
	case A_CREATED:
		return set_date(s, f, "created", text, len);
	case A_GENERATOR:
		return set_text(s, f, "generator", text, len);
	case A_ICON:
		return set_url(r, f, "icon", text, len);
	case A_LOGO:
		return set_url(r, f, "logo", text, len);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ handlers */

static int
root_start(struct xml_reader *r, enum tag t, const char *ns,
	const char *name, const struct xml_attr *attrs, size_t n)
{
	struct atom *s = xml_user(r);
	const char *lang = xml_attr(attrs, n, XML_NS_XML, "lang");

	if (t != A_FEED && t != A_ENTRY)
		return parse_fail(s->ctx, "not an Atom document: the root "
			"element is <%.64s>%s", name, strcmp(name, "rss") == 0 ||
			strcmp(name, "RDF") == 0 ? " (RSS? kind = rss)" : "");
	if (!(s->doc = json_object()))
		return nomem(s);
	s->ctx->document = s->doc;
	if (json_object_set_new(s->doc, "format", json_string("atom")) < 0 ||
	    json_object_set_new(s->doc, "version", json_string(
	    ns_03(ns) ? "0.3" : "1.0")) < 0)
		return nomem(s);
	if (lang && set_text(s, s->doc, "language", lang, SIZE_MAX) < 0)
		return -1;
	s->feed = t == A_FEED;
	if (t == A_ENTRY)
		return entry_open(s, 1);
	return XML_COLLECT_NONE;
}

static int
on_start(struct xml_reader *r, int depth, const char *ns, const char *name,
	const struct xml_attr *attrs, size_t n)
{
	struct atom *s = xml_user(r);
	enum tag t;
	enum container c;

	if (depth == 1) {
		/* Some feeds forget the namespace. */
		s->bare = !ns && strcmp(name, "feed") == 0;
		return root_start(r, lookup(s, ns, name), ns, name, attrs, n);
	}
	t = lookup(s, ns, name);
	if (s->person_depth) {
		if (depth != s->person_depth + 1)
			return XML_COLLECT_NONE;
		return t == A_NAME || t == A_EMAIL || t == A_URI ?
			XML_COLLECT_TEXT : XML_COLLECT_NONE;
	}
	if (depth != container_depth(s) + 1)
		return XML_COLLECT_NONE;
	c = container(s);
	if (t == A_ENTRY)
		return c == C_FEED ? entry_open(s, depth) : XML_COLLECT_NONE;
	if (t == A_SOURCE) {
		if (c != C_ENTRY)
			return XML_COLLECT_NONE;
		json_decref(s->source);
		if (!(s->source = json_object()))
			return nomem(s);
		s->source_depth = depth;
		s->alternate[C_SOURCE] = 0;
		return XML_COLLECT_NONE;
	}
	return field_start(r, t, ns_03(ns), attrs, n);
}

static int
on_end(struct xml_reader *r, int depth, const char *ns, const char *name,
	const char *text, size_t len)
{
	struct atom *s = xml_user(r);
	enum tag t = lookup(s, ns, name);
	json_t *source;

	if (s->person_depth) {
		if (depth == s->person_depth)
			return person_end(s, name);
		if (depth != s->person_depth + 1 || !text || !s->person)
			return 0;
		if (t == A_NAME)
			return set_text(s, s->person, "name", text, len);
		if (t == A_EMAIL)
			return set_text(s, s->person, "email", text, len);
		if (t == A_URI)
			return set_url(r, s->person, "uri", text, len);
		return 0;
	}
	if (s->source_depth && depth == s->source_depth) {
		source = s->source;
		s->source = NULL;
		s->source_depth = 0;
		if (json_object_size(source) == 0) {
			json_decref(source);
			return 0;
		}
		return json_object_set_new(s->entry->fields, "source",
			source) < 0 ? nomem(s) : 0;
	}
	if (s->entry_depth && depth == s->entry_depth)
		return entry_close(s);
	if (depth == container_depth(s) + 1)
		return field_end(r, t, text, len);
	return 0;
}

static int
parse_atom(struct parse_context *ctx, int fd)
{
	static const struct xml_handlers handlers = { on_start, on_end };
	struct atom s = { .ctx = ctx };
	int rc;

	rc = xml_read(ctx, fd, &handlers, &s);
	record_free(s.entry);
	json_decref(s.source);
	json_decref(s.person);
	json_decref(s.link);
	if (rc < 0)
		return -1;
	if (!s.doc)
		return parse_fail(ctx, "not an Atom document: no root element");
	/* A feed lists what the source has now; an entry document does
	 * not. */
	ctx->complete = s.feed;
	return 0;
}

const struct parser atom_parser = { "atom", "atom", "1", parse_atom };
