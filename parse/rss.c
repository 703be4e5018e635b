/* The rss parser: RSS 0.90, 0.91, 0.92 and 2.0 (rss/channel/item, no
 * namespace or one of the Userland/Harvard ones) and RSS 1.0 (rdf:RDF,
 * items beside the channel), streamed: each item becomes a record as soon
 * as it closes. Dublin Core, DC terms, content:encoded, xhtml:body,
 * atom:link/updated and the Creative Commons licence modules are read too.
 *
 * Item fields: summary and summary_html (description), content,
 * content_html and content_type (content:encoded, xhtml:body), published,
 * updated, created, author and authors [{name, email}], contributors,
 * publisher, categories [term], enclosures [{url, type, length}], links
 * [{rel, href, type}] (atom:link), comments, source {title, url}, rights,
 * license. Relative links, also those inside the HTML, are made absolute.
 * The feed's own fields go to the document. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parser.h"
#include "url.h"
#include "xml.h"

#define NS_RSS10 "http://purl.org/rss/1.0/"
#define NS_RSS090 "http://my.netscape.com/rdf/simple/0.9/"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_DC10 "http://purl.org/dc/elements/1.0/"
#define NS_DCTERMS "http://purl.org/dc/terms/"
#define NS_CONTENT "http://purl.org/rss/1.0/modules/content/"
#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_XHTML "http://www.w3.org/1999/xhtml"
#define NS_CC "http://web.resource.org/cc/"
#define NS_CREATIVE "http://backend.userland.com/creativeCommonsRssModule"

enum tag {
	T_OTHER, T_RSS, T_RDF, T_CHANNEL, T_ITEM, T_IMAGE, T_TEXTINPUT,
	T_TITLE, T_LINK, T_DESCRIPTION, T_GUID, T_PUBDATE, T_LASTBUILD,
	T_DC_DATE, T_ISSUED, T_MODIFIED, T_CREATED, T_AUTHOR, T_PUBLISHER,
	T_CATEGORY, T_ENCLOSURE, T_COMMENTS, T_SOURCE, T_CONTENT, T_BODY,
	T_RIGHTS, T_LICENSE, T_CC_LICENSE, T_CONTRIBUTOR, T_LANGUAGE,
	T_GENERATOR, T_TTL, T_ATOM_LINK, T_URL, T_WIDTH, T_HEIGHT,
};

struct rss {
	struct parse_context *ctx;
	json_t *doc;		/* ctx->document */
	bool rdf;
	bool channel_seen;
	int channel_depth;	/* 0: not in the channel */
	int image_depth;	/* 0: not in an image */
	int skip_depth;		/* 0: not in an element read as a whole */
	json_t *image;

	int item_depth;		/* 0: not in an item */
	struct record *item;
	char *guid;
	bool guid_permalink;
	char *link;
	char *about;		/* RSS 1.0 rdf:about */
	char *source_url;	/* of the <source> being read */
};

struct name_tag {
	const char *name;
	enum tag tag;
};

static const struct name_tag core_tags[] = {
	{ "rss", T_RSS }, { "channel", T_CHANNEL }, { "item", T_ITEM },
	{ "image", T_IMAGE }, { "textinput", T_TEXTINPUT },
	{ "textInput", T_TEXTINPUT }, { "title", T_TITLE },
	{ "link", T_LINK }, { "description", T_DESCRIPTION },
	{ "guid", T_GUID }, { "pubDate", T_PUBDATE },
	{ "lastBuildDate", T_LASTBUILD }, { "author", T_AUTHOR },
	{ "managingEditor", T_AUTHOR }, { "webMaster", T_PUBLISHER },
	{ "category", T_CATEGORY }, { "enclosure", T_ENCLOSURE },
	{ "comments", T_COMMENTS }, { "source", T_SOURCE },
	{ "copyright", T_RIGHTS }, { "language", T_LANGUAGE },
	{ "generator", T_GENERATOR }, { "ttl", T_TTL }, { "url", T_URL },
	{ "width", T_WIDTH }, { "height", T_HEIGHT },
	{ NULL, T_OTHER },
};

static const struct name_tag dc_tags[] = {
	{ "title", T_TITLE }, { "description", T_DESCRIPTION },
	{ "date", T_DC_DATE }, { "creator", T_AUTHOR }, { "author", T_AUTHOR },
	{ "publisher", T_PUBLISHER }, { "subject", T_CATEGORY },
	{ "rights", T_RIGHTS }, { "contributor", T_CONTRIBUTOR },
	{ "language", T_LANGUAGE },
	{ NULL, T_OTHER },
};

static const struct name_tag dcterms_tags[] = {
	{ "issued", T_ISSUED }, { "modified", T_MODIFIED },
	{ "created", T_CREATED },
	{ NULL, T_OTHER },
};

static const struct name_tag atom_tags[] = {
	{ "link", T_ATOM_LINK }, { "updated", T_MODIFIED },
	{ "published", T_ISSUED },
	{ NULL, T_OTHER },
};

static bool
is(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* RSS's own elements: no namespace, RSS 1.0's or 0.90's, or one of those
 * some 0.9x and 2.0 feeds declare. */
static bool
core_ns(const char *ns)
{
	return !ns || is(ns, NS_RSS10) || is(ns, NS_RSS090) ||
		is(ns, "http://backend.userland.com/rss") ||
		is(ns, "http://backend.userland.com/rss2") ||
		is(ns, "http://blogs.law.harvard.edu/tech/rss");
}

static enum tag
find(const struct name_tag *t, const char *name)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t->tag;
	return T_OTHER;
}

static enum tag
lookup(const char *ns, const char *name)
{
	if (core_ns(ns))
		return find(core_tags, name);
	if (is(ns, NS_RDF))
		return strcmp(name, "RDF") == 0 ? T_RDF : T_OTHER;
	if (is(ns, NS_DC) || is(ns, NS_DC10))
		return find(dc_tags, name);
	if (is(ns, NS_DCTERMS))
		return find(dcterms_tags, name);
	if (is(ns, NS_ATOM))
		return find(atom_tags, name);
	if (is(ns, NS_CONTENT))
		return strcmp(name, "encoded") == 0 ? T_CONTENT : T_OTHER;
	if (is(ns, NS_XHTML))
		return strcmp(name, "body") == 0 ? T_BODY : T_OTHER;
	if (is(ns, NS_CC))
		return strcmp(name, "license") == 0 ? T_CC_LICENSE : T_OTHER;
	if (is(ns, NS_CREATIVE))
		return strcmp(name, "license") == 0 ? T_LICENSE : T_OTHER;
	return T_OTHER;
}

/* ------------------------------------------------------------ helpers */

/* Sets FIELDS[KEY_HTML] to the HTML in TEXT (collected as markup), its
 * relative links resolved and normalised as text, and FIELDS[KEY] to its
 * plain text. */
static int
set_html(struct xml_reader *r, json_t *fields, const char *key,
	const char *key_html, const char *text, size_t len)
{
	struct rss *s = xml_user(r);
	struct text_stats scratch = { 0 };
	char *raw, *html, *plain, *abs;
	bool oom;
	int rc;

	if (!text)
		return 0;
	if (!(raw = markup_text(text, &len, NULL)))
		return parse_nomem(s->ctx);
	abs = html_absolute_links(raw, len, xml_base(r), &len);
	free(raw);
	if (!(raw = abs))
		return parse_nomem(s->ctx);
	html = parse_text(s->ctx, raw, len, &oom);
	if (oom) {
		free(raw);
		return parse_nomem(s->ctx);
	}
	/* The counts are the HTML's, already taken. HTML without tags or
	 * references is its own plain text. */
	if (html && !strchr(html, '<') && !strchr(html, '&'))
		plain = strdup(html);
	else if (html)
		plain = text_from_html(raw, len, s->ctx->cfg->parse_max_field,
			&scratch);
	else
		plain = NULL;
	free(raw);
	if (html && !plain) {
		free(html);
		return parse_nomem(s->ctx);
	}
	if (plain && *plain == '\0') {
		free(plain);
		plain = NULL;
	}
	rc = parse_set_owned(s->ctx, fields, key_html, html);
	if (parse_set_owned(s->ctx, fields, key, plain) < 0)
		rc = -1;
	return rc;
}

/* Reads a name and address as RSS gives them ("me@example.com (Me)",
 * "Me (me@example.com)", "Me <me@example.com>", "me@example.com", "Me")
 * into {name, email}. */
static json_t *
person_of(const char *text)
{
	size_t n = strlen(text);
	char *name = NULL, *email = NULL;
	const char *open = NULL, *close = NULL;
	json_t *p;

	if (n > 0 && (text[n - 1] == ')' || text[n - 1] == '>')) {
		open = strrchr(text, text[n - 1] == ')' ? '(' : '<');
		close = text + n - 1;
	}
	if (open && open < close) {
		size_t outer = (size_t)(open - text);
		const char *from = open + 1, *to = close;
		char *in, *out;

		while (from < to && *from == ' ')
			from++;
		while (to > from && to[-1] == ' ')
			to--;
		in = strndup(from, (size_t)(to - from));

		while (outer > 0 && text[outer - 1] == ' ')
			outer--;
		out = strndup(text, outer);
		if (!in || !out) {
			free(in);
			free(out);
			return NULL;
		}
		if (strchr(in, '@') && !strchr(out, '@')) {
			email = in;
			name = out;
		} else if (strchr(out, '@') && !strchr(out, ' ')) {
			email = out;
			name = in;
		} else {
			free(in);
			free(out);
		}
	}
	if (!name && !email) {
		if (strchr(text, '@') && !strchr(text, ' '))
			email = strdup(text);
		else
			name = strdup(text);
	}
	if (email && strncasecmp(email, "mailto:", 7) == 0)
		memmove(email, email + 7, strlen(email + 7) + 1);
	if (!(p = json_object())) {
		free(name);
		free(email);
		return NULL;
	}
	/* The pieces of normalised text have no space at either end but
	 * may be empty. */
	if ((name && *name && json_object_set_new(p, "name",
	    json_string(name)) < 0) || (email && *email &&
	    json_object_set_new(p, "email", json_string(email)) < 0)) {
		json_decref(p);
		p = NULL;
	}
	free(name);
	free(email);
	return p;
}

/* A person: appended to FIELDS[KEY] and, for the first author, the
 * display name in FIELDS["author"]. */
static int
add_person(struct rss *s, json_t *fields, const char *key, const char *text,
	size_t len)
{
	bool oom;
	char *t = parse_text(s->ctx, text, len, &oom);
	json_t *p;
	int rc = 0;

	if (!t)
		return oom ? parse_nomem(s->ctx) : 0;
	if (!(p = person_of(t))) {
		free(t);
		return parse_nomem(s->ctx);
	}
	if (json_object_size(p) == 0) {
		json_decref(p);
		free(t);
		return 0;
	}
	if (strcmp(key, "authors") == 0 && !json_object_get(fields, "author")) {
		json_t *name = json_object_get(p, "name");

		if (!name)
			name = json_object_get(p, "email");
		if (json_object_set(fields, "author", name) < 0)
			rc = parse_nomem(s->ctx);
	}
	free(t);
	if (rc == 0)
		rc = parse_append(s->ctx, fields, key, p);
	else
		json_decref(p);
	return rc;
}

/* A non-negative integer such as an image's width, or -1. */
static long
number_of(const char *text)
{
	char *end;
	long v;

	if (!text)
		return -1;
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	if (*text < '0' || *text > '9')
		return -1;
	v = strtol(text, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return *end || v < 0 || v > 1000000 ? -1 : v;
}

/* An atom:link's {rel, href, type}, or an RSS enclosure's {url, type,
 * length}, from its attributes. */
static int
add_link(struct xml_reader *r, json_t *fields, const struct xml_attr *attrs,
	size_t n, bool enclosure)
{
	struct rss *s = xml_user(r);
	const char *href = xml_attr(attrs, n, NULL, enclosure ? "url" :
		"href");
	const char *type = xml_attr(attrs, n, NULL, "type");
	const char *rel = xml_attr(attrs, n, NULL, "rel");
	const char *length = xml_attr(attrs, n, NULL, "length");
	char *url, *t, *rl = NULL, *len = NULL;
	bool oom[3] = { false, false, false };
	json_t *o;
	int rc = 0;

	if (!href || !(url = url_resolve(xml_base(r), href)))
		return 0;
	if (!(o = json_object())) {
		free(url);
		return parse_nomem(s->ctx);
	}
	t = parse_text(s->ctx, type, SIZE_MAX, &oom[0]);
	if (enclosure)
		len = parse_text(s->ctx, length, SIZE_MAX, &oom[1]);
	else
		rl = parse_text(s->ctx, rel ? rel : "alternate", SIZE_MAX, &oom[2]);
	if (oom[0] || oom[1] || oom[2] ||
	    (rl && field_set_text(o, "rel", rl) < 0) ||
	    field_set_text(o, enclosure ? "url" : "href", url) < 0 ||
	    field_set_text(o, "type", t) < 0 ||
	    (enclosure && field_set_text(o, "length", len) < 0))
		rc = parse_nomem(s->ctx);
	free(url);
	free(t);
	free(rl);
	free(len);
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	return parse_append(s->ctx, fields, enclosure ? "enclosures" : "links", o);
}

/* --------------------------------------------------------------- items */

static void
item_clear(struct rss *s)
{
	record_free(s->item);
	s->item = NULL;
	free(s->guid);
	free(s->link);
	free(s->about);
	free(s->source_url);
	s->guid = s->link = s->about = s->source_url = NULL;
	s->item_depth = 0;
}

static int
item_open(struct xml_reader *r, int depth, const struct xml_attr *attrs,
	size_t n)
{
	struct rss *s = xml_user(r);
	const char *about = xml_attr(attrs, n, NS_RDF, "about");
	bool oom;

	item_clear(s);
	if (!(s->item = calloc(1, sizeof(*s->item))) ||
	    !(s->item->fields = json_object()))
		return parse_nomem(s->ctx);
	s->item_depth = depth;
	s->guid_permalink = true;
	if (about && !(s->about = parse_text(s->ctx, about, SIZE_MAX, &oom)) &&
	    oom)
		return parse_nomem(s->ctx);
	return XML_COLLECT_NONE;
}

/* The item closes: its record goes out. */
static int
item_close(struct xml_reader *r)
{
	struct rss *s = xml_user(r);
	struct record *rec = s->item;

	if (s->link)
		rec->url = s->link;
	else if (s->guid && s->guid_permalink)
		/* A permalink guid is the item's address, if it is an
		 * absolute one: "12345" is no address. */
		rec->url = url_resolve(NULL, s->guid);
	s->link = NULL;
	if (s->guid) {
		rec->external_id = s->guid;
		s->guid = NULL;
	} else if (s->about) {
		rec->external_id = s->about;
		s->about = NULL;
	} else if (rec->url && !(rec->external_id = strdup(rec->url))) {
		return parse_nomem(s->ctx);
	}
	s->item = NULL;
	item_clear(s);
	return s->ctx->emit(s->ctx, rec);
}

static int
item_start(struct xml_reader *r, enum tag t, const struct xml_attr *attrs,
	size_t n)
{
	struct rss *s = xml_user(r);
	json_t *f = s->item->fields;
	const char *v;

	switch (t) {
	case T_ENCLOSURE:
		return add_link(r, f, attrs, n, true);
	case T_ATOM_LINK:
		return add_link(r, f, attrs, n, false);
	case T_CC_LICENSE:
		if ((v = xml_attr(attrs, n, NS_RDF, "resource")))
			return parse_set_owned(s->ctx, f, "license",
				url_resolve(xml_base(r), v));
		return XML_COLLECT_TEXT;
	case T_GUID:
		v = xml_attr(attrs, n, NULL, "isPermaLink");
		s->guid_permalink = !v || strcasecmp(v, "false") != 0;
		return XML_COLLECT_TEXT;
	case T_SOURCE:
		free(s->source_url);
		s->source_url = NULL;
		if ((v = xml_attr(attrs, n, NULL, "url")))
			s->source_url = url_resolve(xml_base(r), v);
		return XML_COLLECT_TEXT;
	case T_DESCRIPTION: case T_CONTENT: case T_BODY:
		return XML_COLLECT_MARKUP;
	case T_TITLE: case T_LINK: case T_PUBDATE: case T_DC_DATE:
	case T_ISSUED: case T_MODIFIED: case T_CREATED: case T_AUTHOR:
	case T_PUBLISHER: case T_CATEGORY: case T_COMMENTS: case T_RIGHTS:
	case T_LICENSE: case T_CONTRIBUTOR:
		return XML_COLLECT_TEXT;
	default:
		return XML_COLLECT_NONE;
	}
}

static int
item_end(struct xml_reader *r, enum tag t, const char *text, size_t len)
{
	struct rss *s = xml_user(r);
	struct record *rec = s->item;
	json_t *f = rec->fields, *o;
	bool oom = false;
	char *v;

	if (!text)
		return 0;
	switch (t) {
	case T_TITLE:
		if ((v = parse_text(s->ctx, text, len, &oom))) {
			free(rec->title);
			rec->title = v;
		}
		break;
	case T_LINK:
		if ((v = xml_url(r, text, len, &oom))) {
			free(s->link);
			s->link = v;
		}
		break;
	case T_GUID:
		if ((v = parse_text(s->ctx, text, len, &oom))) {
			free(s->guid);
			s->guid = v;
		}
		break;
	case T_DESCRIPTION:
		return set_html(r, f, "summary", "summary_html", text, len);
	case T_CONTENT: case T_BODY:
		if (set_html(r, f, "content", "content_html", text, len) < 0)
			return -1;
		if (json_object_get(f, "content_html"))
			return field_set_text(f, "content_type", t == T_BODY ?
				"xhtml" : "html") < 0 ? parse_nomem(s->ctx) : 0;
		return 0;
	case T_PUBDATE: case T_DC_DATE: case T_ISSUED:
		return parse_set_date(s->ctx, f, "published", text, len);
	case T_MODIFIED:
		return parse_set_date(s->ctx, f, "updated", text, len);
	case T_CREATED:
		return parse_set_date(s->ctx, f, "created", text, len);
	case T_AUTHOR:
		return add_person(s, f, "authors", text, len);
	case T_CONTRIBUTOR:
		return add_person(s, f, "contributors", text, len);
	case T_PUBLISHER:
		return parse_set_text(s->ctx, f, "publisher", text, len);
	case T_CATEGORY:
		return parse_append_text(s->ctx, f, "categories", text, len);
	case T_COMMENTS:
		return xml_set_url(r, f, "comments", text, len);
	case T_RIGHTS:
		return parse_set_text(s->ctx, f, "rights", text, len);
	case T_LICENSE: case T_CC_LICENSE:
		return xml_set_url(r, f, "license", text, len);
	case T_SOURCE:
		if (!(o = json_object()))
			return parse_nomem(s->ctx);
		if (parse_set_text(s->ctx, o, "title", text, len) < 0 ||
		    field_set_text(o, "url", s->source_url) < 0) {
			json_decref(o);
			return parse_nomem(s->ctx);
		}
		if (json_object_size(o) == 0) {
			json_decref(o);
			return 0;
		}
		return json_object_set_new(f, "source", o) < 0 ? parse_nomem(s->ctx) : 0;
	default:
		break;
	}
	return oom ? parse_nomem(s->ctx) : 0;
}

/* ------------------------------------------------------------- channel */

static int
channel_start(struct xml_reader *r, enum tag t, const struct xml_attr *attrs,
	size_t n)
{
	struct rss *s = xml_user(r);

	switch (t) {
	case T_ATOM_LINK:
		return add_link(r, s->doc, attrs, n, false);
	case T_DESCRIPTION:
		return XML_COLLECT_MARKUP;
	case T_TITLE: case T_LINK: case T_PUBDATE: case T_LASTBUILD:
	case T_DC_DATE: case T_ISSUED: case T_MODIFIED: case T_CREATED:
	case T_AUTHOR: case T_PUBLISHER: case T_CATEGORY: case T_RIGHTS:
	case T_LICENSE:
	case T_CONTRIBUTOR: case T_LANGUAGE: case T_GENERATOR: case T_TTL:
		return XML_COLLECT_TEXT;
	case T_CC_LICENSE: {
		const char *v = xml_attr(attrs, n, NS_RDF, "resource");

		if (v)
			return parse_set_owned(s->ctx, s->doc, "license",
				url_resolve(xml_base(r), v));
		return XML_COLLECT_TEXT;
	}
	default:
		return XML_COLLECT_NONE;
	}
}

static int
channel_end(struct xml_reader *r, enum tag t, const char *text, size_t len)
{
	struct rss *s = xml_user(r);
	json_t *d = s->doc;

	if (!text)
		return 0;
	switch (t) {
	case T_TITLE:
		return parse_set_text(s->ctx, d, "title", text, len);
	case T_LINK:
		return xml_set_url(r, d, "link", text, len);
	case T_DESCRIPTION:
		return set_html(r, d, "subtitle", "subtitle_html", text, len);
	case T_PUBDATE: case T_ISSUED:
		return parse_set_date(s->ctx, d, "published", text, len);
	case T_LASTBUILD: case T_DC_DATE: case T_MODIFIED:
		return parse_set_date(s->ctx, d, "updated", text, len);
	case T_CREATED:
		return parse_set_date(s->ctx, d, "created", text, len);
	case T_AUTHOR:
		return add_person(s, d, "authors", text, len);
	case T_CONTRIBUTOR:
		return add_person(s, d, "contributors", text, len);
	case T_PUBLISHER:
		return parse_set_text(s->ctx, d, "publisher", text, len);
	case T_CATEGORY:
		return parse_append_text(s->ctx, d, "categories", text, len);
	case T_RIGHTS:
		return parse_set_text(s->ctx, d, "rights", text, len);
	case T_LICENSE: case T_CC_LICENSE:
		return xml_set_url(r, d, "license", text, len);
	case T_LANGUAGE:
		return parse_set_text(s->ctx, d, "language", text, len);
	case T_GENERATOR:
		return parse_set_text(s->ctx, d, "generator", text, len);
	case T_TTL:
		return parse_set_text(s->ctx, d, "ttl", text, len);
	default:
		return 0;
	}
}

static int
image_end(struct xml_reader *r, enum tag t, const char *text, size_t len)
{
	struct rss *s = xml_user(r);
	json_t *im = s->image;
	long v;

	if (!text || !im)
		return 0;
	switch (t) {
	case T_URL:
		return xml_set_url(r, im, "url", text, len);
	case T_LINK:
		return xml_set_url(r, im, "link", text, len);
	case T_TITLE:
		return parse_set_text(s->ctx, im, "title", text, len);
	case T_DESCRIPTION:
		return parse_set_text(s->ctx, im, "description", text, len);
	case T_WIDTH: case T_HEIGHT:
		if ((v = number_of(text)) >= 0 && json_object_set_new(im,
		    t == T_WIDTH ? "width" : "height", json_integer(v)) < 0)
			return parse_nomem(s->ctx);
		return 0;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ handlers */

static int
root_start(struct xml_reader *r, enum tag t, const char *name,
	const struct xml_attr *attrs, size_t n)
{
	struct rss *s = xml_user(r);
	const char *lang = xml_attr(attrs, n, XML_NS_XML, "lang");
	const char *version = xml_attr(attrs, n, NULL, "version");

	if (t != T_RSS && t != T_RDF)
		return parse_fail(s->ctx, "not an RSS document: the root "
			"element is <%.64s>%s", name, strcmp(name, "feed") == 0 ||
			strcmp(name, "entry") == 0 ? " (Atom? kind = atom)" : "");
	if (!(s->doc = json_object()))
		return parse_nomem(s->ctx);
	s->ctx->document = s->doc;
	s->rdf = t == T_RDF;
	if (json_object_set_new(s->doc, "format", json_string("rss")) < 0)
		return parse_nomem(s->ctx);
	if (!s->rdf && version && parse_set_text(s->ctx, s->doc, "version", version,
	    SIZE_MAX) < 0)
		return -1;
	if (lang && parse_set_text(s->ctx, s->doc, "language", lang, SIZE_MAX) < 0)
		return -1;
	return XML_COLLECT_NONE;
}

/* RSS 1.0 and 0.90 tell their version by their namespace. */
static int
note_rdf_version(struct rss *s, const char *ns)
{
	if (!s->rdf || json_object_get(s->doc, "version"))
		return 0;
	if (is(ns, NS_RSS10) || is(ns, NS_RSS090))
		return json_object_set_new(s->doc, "version", json_string(
			is(ns, NS_RSS10) ? "1.0" : "0.90")) < 0 ? parse_nomem(s->ctx) : 0;
	return 0;
}

static int
on_start(struct xml_reader *r, int depth, const char *ns, const char *name,
	const struct xml_attr *attrs, size_t n)
{
	struct rss *s = xml_user(r);
	enum tag t = lookup(ns, name);
	bool top;

	if (depth == 1)
		return root_start(r, t, name, attrs, n);
	if (s->skip_depth)
		return XML_COLLECT_NONE;
	if (s->item_depth)
		return depth == s->item_depth + 1 ?
			item_start(r, t, attrs, n) : XML_COLLECT_NONE;
	if (s->image_depth) {
		if (depth != s->image_depth + 1)
			return XML_COLLECT_NONE;
		return t == T_URL || t == T_LINK || t == T_TITLE ||
			t == T_DESCRIPTION || t == T_WIDTH || t == T_HEIGHT ?
			XML_COLLECT_TEXT : XML_COLLECT_NONE;
	}
	/* Items, the image and the text input are children of the channel
	 * (RSS 0.9x, 2.0) or of the root (RSS 1.0, and careless 0.9x). */
	top = depth == 2 || (s->channel_depth && depth ==
		s->channel_depth + 1);
	if (!top)
		return XML_COLLECT_NONE;
	switch (t) {
	case T_CHANNEL:
		if (depth != 2)
			break;
		s->channel_depth = depth;
		s->channel_seen = true;
		return note_rdf_version(s, ns) < 0 ? -1 : XML_COLLECT_NONE;
	case T_ITEM:
		if (note_rdf_version(s, ns) < 0)
			return -1;
		return item_open(r, depth, attrs, n);
	case T_IMAGE:
		json_decref(s->image);
		if (!(s->image = json_object()))
			return parse_nomem(s->ctx);
		s->image_depth = depth;
		return XML_COLLECT_NONE;
	case T_TEXTINPUT:
		s->skip_depth = depth;
		return XML_COLLECT_NONE;
	default:
		break;
	}
	if (s->channel_depth && depth == s->channel_depth + 1)
		return channel_start(r, t, attrs, n);
	return XML_COLLECT_NONE;
}

static int
on_end(struct xml_reader *r, int depth, const char *ns, const char *name,
	const char *text, size_t len)
{
	struct rss *s = xml_user(r);
	enum tag t = lookup(ns, name);

	if (s->skip_depth) {
		if (depth == s->skip_depth)
			s->skip_depth = 0;
		return 0;
	}
	if (s->item_depth) {
		if (depth == s->item_depth)
			return item_close(r);
		return depth == s->item_depth + 1 ?
			item_end(r, t, text, len) : 0;
	}
	if (s->image_depth) {
		if (depth == s->image_depth + 1)
			return image_end(r, t, text, len);
		if (depth != s->image_depth)
			return 0;
		s->image_depth = 0;
		if (json_object_size(s->image) > 0 &&
		    json_object_set(s->doc, "image", s->image) < 0)
			return parse_nomem(s->ctx);
		json_decref(s->image);
		s->image = NULL;
		return 0;
	}
	if (s->channel_depth) {
		if (depth == s->channel_depth) {
			s->channel_depth = 0;
			return 0;
		}
		if (depth == s->channel_depth + 1)
			return channel_end(r, t, text, len);
	}
	return 0;
}

static int
parse_rss(struct parse_context *ctx, int fd)
{
	static const struct xml_handlers handlers = { on_start, on_end };
	struct rss s = { .ctx = ctx };
	int rc;

	rc = xml_read(ctx, fd, &handlers, &s);
	item_clear(&s);
	json_decref(s.image);
	if (rc < 0)
		return -1;
	if (!s.doc)
		return parse_fail(ctx, "not an RSS document: no root element");
	/* A feed lists what the source has now; a document without a
	 * channel says nothing of what is gone. */
	ctx->complete = s.channel_seen;
	return 0;
}

const struct parser rss_parser = { "rss", "rss", "1", parse_rss };
