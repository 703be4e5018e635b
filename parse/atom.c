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
				return t ? 0 : parse_nomem(s->ctx);
			}
			kind = K_TEXT;
		}
		if (kind == K_XHTML || kind == K_XML)
			kind = K_HTML;
	} else if (kind == K_TEXT || kind == K_HTML) {
		if (!(raw = markup_text(text, &len, &elements)))
			return parse_nomem(s->ctx);
		/* Markup given as child elements is HTML. */
		if (elements) {
			kind = K_HTML;
			if (strcmp(s->ctype, "text") == 0)
				set_ctype(s, "html");
		}
	} else if (kind == K_XHTML) {
		if (!(raw = strip_div(text, &len)))
			return parse_nomem(s->ctx);
		len = html_void_end_tags(raw, len);
	} else if ((raw = strndup(text, len))) {
		len = html_void_end_tags(raw, len);
	} else {
		return parse_nomem(s->ctx);
	}

	if (kind == K_TEXT) {
		plain = parse_text(s->ctx, raw, len, &oom);
	} else {
		/* Relative links are resolved where the base is known. */
		char *abs = html_absolute_links(raw, len, xml_base(r), &len);

		free(raw);
		if (!(raw = abs))
			return parse_nomem(s->ctx);
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
		return parse_nomem(s->ctx);
	}
	snprintf(key_html, sizeof(key_html), "%s_html", key);
	/* A later element of the same name replaces all of an earlier. */
	if (!html)
		json_object_del(fields, key_html);
	if (parse_set_owned(s->ctx, fields, key_html, html) < 0)
		rc = -1;
	if (plain_out) {
		free(*plain_out);
		*plain_out = plain;
	} else if (parse_set_owned(s->ctx, fields, key, plain) < 0) {
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
		return parse_nomem(s->ctx);
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
				return parse_nomem(s->ctx);
			}
		} else if (field_set_text(f, "link", url) < 0) {
			free(url);
			json_decref(link);
			return parse_nomem(s->ctx);
		}
	}
	if (is(rel, "license") && !json_object_get(f, "license") &&
	    field_set_text(f, "license", url) < 0) {
		free(url);
		json_decref(link);
		return parse_nomem(s->ctx);
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
			return parse_nomem(s->ctx);
		}
		if (parse_append(s->ctx, f, "enclosures", enc) < 0) {
			free(url);
			json_decref(link);
			return -1;
		}
	}
	free(url);
	return parse_append(s->ctx, f, "links", link);
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
		return parse_nomem(s->ctx);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = xml_attr(attrs, n, NULL, names[i]);
		bool oom;
		char *t;

		if (i == 0 && !v)
			v = "alternate";
		t = parse_text(s->ctx, v, SIZE_MAX, &oom);
		if (oom || parse_set_owned(s->ctx, link, names[i], t) < 0) {
			json_decref(link);
			return parse_nomem(s->ctx);
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
	href = parse_text(s->ctx, text, len, &oom);
	if (oom) {
		json_decref(link);
		return parse_nomem(s->ctx);
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
		return parse_nomem(s->ctx);
	for (size_t i = 0; i < 3; i++) {
		const char *v = xml_attr(attrs, n, NULL, names[i]);
		bool oom;
		char *t;

		/* A scheme is an IRI; it is kept as given. */
		t = parse_text(s->ctx, v, SIZE_MAX, &oom);
		if (oom || parse_set_owned(s->ctx, cat, names[i], t) < 0) {
			json_decref(cat);
			return parse_nomem(s->ctx);
		}
	}
	if (!json_object_get(cat, "term")) {
		json_decref(cat);
		return 0;
	}
	return parse_append(s->ctx, fields_of(s), "categories", cat);
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
	if (uri && parse_set_owned(s->ctx, f, "generator_uri",
	    url_resolve(xml_base(r), uri)) < 0)
		return -1;
	if (version && parse_set_text(s->ctx, f, "generator_version", version,
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
			return parse_nomem(s->ctx);
		}
	}
	return parse_append(s->ctx, f, author ? "authors" : "contributors", p);
}

static int
entry_open(struct atom *s, int depth)
{
	record_free(s->entry);
	if (!(s->entry = calloc(1, sizeof(*s->entry))) ||
	    !(s->entry->fields = json_object()))
		return parse_nomem(s->ctx);
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
		return parse_nomem(s->ctx);
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
		return parse_nomem(s->ctx);
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
			if (parse_set_owned(s->ctx, f, "content_src",
			    url_resolve(xml_base(r), src)) < 0)
				return -1;
			text_start(s, v03, attrs, n);
			if (field_set_text(f, "content_type", s->ctype) < 0)
				return parse_nomem(s->ctx);
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
			return parse_nomem(s->ctx);
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
			parse_nomem(s->ctx) : 0;
	case A_ID:
		/* An id is compared as given, never normalised as a URL. */
		if (c != C_ENTRY)
			return parse_set_text(s->ctx, f, "id", text, len);
		if ((v = parse_text(s->ctx, text, len, &oom))) {
			free(s->entry->external_id);
			s->entry->external_id = v;
		}
		return oom ? parse_nomem(s->ctx) : 0;
	case A_PUBLISHED:
		return parse_set_date(s->ctx, f, "published", text, len);
	case A_UPDATED:
		return parse_set_date(s->ctx, f, "updated", text, len);
	case A_CREATED:
		return parse_set_date(s->ctx, f, "created", text, len);
	case A_GENERATOR:
		return parse_set_text(s->ctx, f, "generator", text, len);
	case A_ICON:
		return xml_set_url(r, f, "icon", text, len);
	case A_LOGO:
		return xml_set_url(r, f, "logo", text, len);
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
		return parse_nomem(s->ctx);
	s->ctx->document = s->doc;
	if (json_object_set_new(s->doc, "format", json_string("atom")) < 0 ||
	    json_object_set_new(s->doc, "version", json_string(
	    ns_03(ns) ? "0.3" : "1.0")) < 0)
		return parse_nomem(s->ctx);
	if (lang && parse_set_text(s->ctx, s->doc, "language", lang, SIZE_MAX) < 0)
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
			return parse_nomem(s->ctx);
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
			return parse_set_text(s->ctx, s->person, "name", text, len);
		if (t == A_EMAIL)
			return parse_set_text(s->ctx, s->person, "email", text, len);
		if (t == A_URI)
			return xml_set_url(r, s->person, "uri", text, len);
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
			source) < 0 ? parse_nomem(s->ctx) : 0;
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
