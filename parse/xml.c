#include "xml.h"

#include <errno.h>
#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "url.h"

/* The document is read in chunks of this size. */
#define XML_CHUNK 65536
/* Entities inside entities nest at most this deep. */
#define ENTITY_DEPTH_MAX 8

struct level {
	int collect;		/* enum xml_collect */
	size_t mark;		/* where its text starts in the buffer */
	char *base;		/* xml:base in force, owned if set here */
	bool base_owned;
};

/* An HTML named entity handed to libxml2 as if predefined, so its text
 * arrives as character data. */
struct html_entity {
	xmlEntity ent;
	char utf8[8];
	struct html_entity *next;
};

struct xml_reader {
	struct parse_context *ctx;
	const struct xml_handlers *h;
	void *user;
	xmlParserCtxtPtr pctx;
	int depth;
	struct level levels[XML_DEPTH_MAX + 2];
	int collecting;		/* open elements collecting text or markup */
	int markup;		/* of which collecting markup */
	char *text;
	size_t len, cap;
	uint64_t entity_bytes;
	struct html_entity *html_entities;
	bool failed;
};

void *
xml_user(struct xml_reader *r)
{
	return r->user;
}

struct parse_context *
xml_context(struct xml_reader *r)
{
	return r->ctx;
}

const char *
xml_base(struct xml_reader *r)
{
	return r->levels[r->depth].base;
}

char *
xml_url(struct xml_reader *r, const char *text, size_t len, bool *oom)
{
	char *t = parse_text(r->ctx, text, len, oom), *u;

	if (!t)
		return NULL;
	u = url_resolve(xml_base(r), t);
	free(t);
	return u;
}

int
xml_set_url(struct xml_reader *r, json_t *fields, const char *key,
	const char *text, size_t len)
{
	bool oom;
	char *v = xml_url(r, text, len, &oom);

	return oom ? parse_nomem(r->ctx) : parse_set_owned(r->ctx, fields,
		key, v);
}

const char *
xml_attr(const struct xml_attr *attrs, size_t nattrs, const char *ns,
	const char *name)
{
	for (size_t i = 0; i < nattrs; i++) {
		bool same_ns = ns ? attrs[i].ns && strcmp(attrs[i].ns, ns) == 0 :
			attrs[i].ns == NULL;

		if (same_ns && strcmp(attrs[i].name, name) == 0)
			return attrs[i].value;
	}
	return NULL;
}

static void
stop(struct xml_reader *r)
{
	r->failed = true;
	xmlStopParser(r->pctx);
}

static void
fail(struct xml_reader *r, const char *why)
{
	if (!r->failed)
		parse_fail(r->ctx, "%s", why);
	stop(r);
}

/* The reader of the document's own parser context. On the first
 * reference to an internal entity libxml2 parses its replacement text
 * with a nested context that shares our handlers and _private (to check
 * it); that text is ours to expand and count (on_reference), once, so
 * the nested context's events are ignored. */
static struct xml_reader *
reader_of(void *ctx)
{
	xmlParserCtxtPtr pctx = ctx;
	struct xml_reader *r = pctx ? pctx->_private : NULL;

	return r && r->pctx == pctx ? r : NULL;
}

/* Appends text to the collection buffer, cut at max_field. */
static void
append(struct xml_reader *r, const char *s, size_t n)
{
	size_t max = r->ctx->cfg->parse_max_field;

	if (r->collecting == 0 || r->failed)
		return;
	if (r->len + n > max) {
		r->ctx->text.truncated = true;
		n = r->len < max ? max - r->len : 0;
	}
	if (n == 0)
		return;
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		char *grown;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (!(grown = realloc(r->text, cap))) {
			fail(r, "out of memory");
			return;
		}
		r->text = grown;
		r->cap = cap;
	}
	memcpy(r->text + r->len, s, n);
	r->len += n;
	r->text[r->len] = '\0';
}

/* Character data; escaped when it becomes part of collected markup. */
static void
append_text(struct xml_reader *r, const char *s, size_t n, bool attr)
{
	size_t i, from = 0;

	if (r->markup == 0) {
		append(r, s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		const char *esc = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" :
			s[i] == '>' ? "&gt;" : attr && s[i] == '"' ? "&quot;" :
			NULL;

		if (!esc)
			continue;
		append(r, s + from, i - from);
		append(r, esc, strlen(esc));
		from = i + 1;
	}
	append(r, s + from, n - from);
}

static void
on_characters(void *ctx, const xmlChar *ch, int len)
{
	struct xml_reader *r = reader_of(ctx);

	if (r && len > 0)
		append_text(r, (const char *)ch, (size_t)len, false);
}

/* Expands an internal entity's replacement text ourselves, counting
 * every byte against entity_budget: libxml2 without XML_PARSE_NOENT
 * leaves the reference to us, and this is where quadratic blowups and
 * billion laughs are stopped. */
static void
expand(struct xml_reader *r, const char *text, int depth)
{
	const char *p = text, *amp, *semi;
	uint64_t budget = r->ctx->cfg->parse_entity_budget;
	char name[256];

	if (depth > ENTITY_DEPTH_MAX) {
		fail(r, "entities nested too deep");
		return;
	}
	while (*p && !r->failed) {
		size_t n;

		amp = strchr(p, '&');
		n = amp ? (size_t)(amp - p) : strlen(p);
		r->entity_bytes += n;
		if (r->entity_bytes > budget) {
			fail(r, "entity expansion exceeds entity_budget");
			return;
		}
		append_text(r, p, n, false);
		if (!amp)
			return;
		semi = strchr(amp, ';');
		if (!semi || (size_t)(semi - amp - 1) >= sizeof(name)) {
			append_text(r, "&", 1, false);
			p = amp + 1;
			continue;
		}
		memcpy(name, amp + 1, (size_t)(semi - amp - 1));
		name[semi - amp - 1] = '\0';
		p = semi + 1;
		{
			xmlEntityPtr ent = xmlGetDocEntity(r->pctx->myDoc,
				(const xmlChar *)name);

			if (!ent)
				ent = xmlGetPredefinedEntity(
					(const xmlChar *)name);
			if (ent && ent->content &&
			    ent->etype != XML_EXTERNAL_GENERAL_PARSED_ENTITY &&
			    ent->etype != XML_EXTERNAL_GENERAL_UNPARSED_ENTITY)
				expand(r, (const char *)ent->content,
					depth + 1);
		}
	}
}

static void
on_reference(void *ctx, const xmlChar *name)
{
	struct xml_reader *r = reader_of(ctx);
	xmlEntityPtr ent;

	if (!r || r->failed)
		return;
	ent = xmlGetDocEntity(r->pctx->myDoc, name);
	/* External entities are never loaded. */
	if (!ent || !ent->content || ent->etype != XML_INTERNAL_GENERAL_ENTITY)
		return;
	if (r->collecting == 0) {
		/* Still counted: expanding nothing costs nothing, but the
		 * reference itself shows up in the budget. */
		r->entity_bytes += (uint64_t)xmlStrlen(ent->content);
		if (r->entity_bytes > r->ctx->cfg->parse_entity_budget)
			fail(r, "entity expansion exceeds "
				"entity_budget");
		return;
	}
	expand(r, (const char *)ent->content, 1);
}

static xmlEntityPtr
html_entity(struct xml_reader *r, const xmlChar *name)
{
	const htmlEntityDesc *desc = htmlEntityLookup(name);
	struct html_entity *e;
	int n;

	if (!desc)
		return NULL;
	for (e = r->html_entities; e; e = e->next)
		if (xmlStrEqual(e->ent.name, name))
			return &e->ent;
	if (!(e = calloc(1, sizeof(*e))))
		return NULL;
	n = xmlCopyCharMultiByte((xmlChar *)e->utf8, (int)desc->value);
	e->utf8[n > 0 ? n : 0] = '\0';
	e->ent.type = XML_ENTITY_DECL;
	e->ent.name = (const xmlChar *)desc->name;
	e->ent.etype = XML_INTERNAL_PREDEFINED_ENTITY;
	e->ent.content = (xmlChar *)e->utf8;
	e->ent.orig = (xmlChar *)e->utf8;
	e->ent.length = n > 0 ? n : 0;
	e->next = r->html_entities;
	r->html_entities = e;
	return &e->ent;
}

static xmlEntityPtr
on_get_entity(void *ctx, const xmlChar *name)
{
	xmlParserCtxtPtr pctx = ctx;
	struct xml_reader *r = pctx->_private;	/* nested contexts too */
	xmlEntityPtr ent = xmlSAX2GetEntity(ctx, name);

	if (ent || !r)
		return ent;
	/* Undeclared: RSS 0.91 and careless feeds use HTML's names. */
	return html_entity(r, name);
}

static void
free_level(struct level *l)
{
	if (l->base_owned)
		free(l->base);
	memset(l, 0, sizeof(*l));
}

static int
enter_base(struct xml_reader *r, const struct xml_attr *attrs, size_t n)
{
	struct level *l = &r->levels[r->depth], *parent = l - 1;
	const char *base = xml_attr(attrs, n, XML_NS_XML, "base");
	char *resolved;

	l->base = parent->base;
	l->base_owned = false;
	if (!base)
		return 0;
	if ((resolved = url_resolve(parent->base, base))) {
		l->base = resolved;
		l->base_owned = true;
	}
	return 0;
}

static void
append_start_tag(struct xml_reader *r, const char *name,
	const struct xml_attr *attrs, size_t n)
{
	append(r, "<", 1);
	append(r, name, strlen(name));
	for (size_t i = 0; i < n; i++) {
		append(r, " ", 1);
		append(r, attrs[i].name, strlen(attrs[i].name));
		append(r, "=\"", 2);
		append_text(r, attrs[i].value, strlen(attrs[i].value), true);
		append(r, "\"", 1);
	}
	append(r, ">", 1);
}

static void
on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
	const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
	int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct xml_reader *r = reader_of(ctx);
	struct xml_attr attrs[64];
	size_t nattrs = 0;
	char *values[64];
	int want;

	(void)prefix;
	(void)nb_namespaces;
	(void)namespaces;
	(void)nb_defaulted;
	if (!r || r->failed)
		return;
	if (r->depth >= XML_DEPTH_MAX) {
		fail(r, "elements nested too deep");
		return;
	}
	/* libxml2 gives attribute values as (begin, end) pointers. */
	for (int i = 0; i < nb_attributes && nattrs < 64; i++) {
		const xmlChar **a = &attributes[i * 5];

		if (!(values[nattrs] = strndup((const char *)a[3],
		    (size_t)(a[4] - a[3])))) {
			fail(r, "out of memory");
			goto out;
		}
		attrs[nattrs].name = (const char *)a[0];
		attrs[nattrs].ns = (const char *)a[2];
		attrs[nattrs].value = values[nattrs];
		nattrs++;
	}
	r->depth++;
	enter_base(r, attrs, nattrs);
	r->levels[r->depth].mark = r->len;
	if (r->markup > 0) {
		/* Inside collected markup: serialise, do not interpret. */
		append_start_tag(r, (const char *)localname, attrs, nattrs);
		r->levels[r->depth].collect = XML_COLLECT_NONE;
		goto out;
	}
	want = r->h->start(r, r->depth, (const char *)uri,
		(const char *)localname, attrs, nattrs);
	if (want < 0) {
		stop(r);
		goto out;
	}
	r->levels[r->depth].collect = want;
	if (want != XML_COLLECT_NONE)
		r->collecting++;
	if (want == XML_COLLECT_MARKUP)
		r->markup++;
out:
	for (size_t i = 0; i < nattrs; i++)
		free(values[i]);
}

static void
on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
	const xmlChar *uri)
{
	struct xml_reader *r = reader_of(ctx);
	struct level *l;
	const char *text = NULL;

	(void)prefix;
	if (!r || r->failed || r->depth == 0)
		return;
	l = &r->levels[r->depth];
	if (l->collect == XML_COLLECT_NONE && r->markup > 0) {
		append(r, "</", 2);
		append(r, (const char *)localname, strlen((const char *)
			localname));
		append(r, ">", 1);
		free_level(l);
		r->depth--;
		return;
	}
	if (l->collect != XML_COLLECT_NONE) {
		text = r->text ? r->text + l->mark : "";
		r->collecting--;
		if (l->collect == XML_COLLECT_MARKUP)
			r->markup--;
	}
	if (r->h->end(r, r->depth, (const char *)uri,
	    (const char *)localname, text, text ? r->len - l->mark : 0) < 0)
		stop(r);
	/* The element's text goes with it, unless an outer element
	 * collects it too. */
	if (l->collect != XML_COLLECT_NONE && r->collecting == 0) {
		r->len = l->mark;
		if (r->text)
			r->text[r->len] = '\0';
	}
	free_level(l);
	r->depth--;
}

static void
on_error(void *ctx, xmlErrorPtr err)
{
	struct xml_reader *r = reader_of(ctx);
	char msg[300];
	size_t n;

	if (!r || r->failed || !err || err->level < XML_ERR_ERROR)
		return;
	snprintf(msg, sizeof(msg), "line %d: %s", err->line,
		err->message ? err->message : "malformed XML");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	parse_fail(r->ctx, "%s", msg);
	r->failed = true;
}

/* Nothing outside the document is ever read. */
static xmlParserInputPtr
refuse_external(const char *url, const char *id, xmlParserCtxtPtr pctx)
{
	(void)url;
	(void)id;
	(void)pctx;
	return NULL;
}

static void
init_sax(xmlSAXHandler *sax)
{
	xmlSAXVersion(sax, 2);
	/* Keep the DTD handlers (internal entity declarations are stored);
	 * build no tree. */
	sax->startElementNs = on_start;
	sax->endElementNs = on_end;
	sax->characters = on_characters;
	sax->cdataBlock = on_characters;
	sax->ignorableWhitespace = on_characters;
	sax->reference = on_reference;
	sax->getEntity = on_get_entity;
	sax->serror = on_error;
	sax->externalSubset = NULL;
	sax->comment = NULL;
	sax->processingInstruction = NULL;
	sax->startElement = NULL;
	sax->endElement = NULL;
}

static void
reader_free(struct xml_reader *r)
{
	while (r->html_entities) {
		struct html_entity *e = r->html_entities;

		r->html_entities = e->next;
		free(e);
	}
	while (r->depth > 0)
		free_level(&r->levels[r->depth--]);
	if (r->pctx) {
		if (r->pctx->myDoc)
			xmlFreeDoc(r->pctx->myDoc);
		xmlFreeParserCtxt(r->pctx);
	}
	free(r->text);
}

/* True if the document that begins with the N bytes at S is UTF-8: no
 * UTF-16 or UTF-32 byte order mark or layout, and an XML declaration
 * that names no other encoding. */
static bool
is_utf8(const char *s, size_t n)
{
	const char *end, *enc;
	char name[16];
	size_t len;

	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		return true;
	if (n >= 2 && (s[0] == '\0' || s[1] == '\0' ||
	    memcmp(s, "\xFE\xFF", 2) == 0 || memcmp(s, "\xFF\xFE", 2) == 0))
		return false;
	if (n < 5 || memcmp(s, "<?xml", 5) != 0 ||
	    !(end = memchr(s, '>', n)))
		return true;
	len = (size_t)(end - s);
	for (enc = s; (enc = memchr(enc, 'e', len - (size_t)(enc - s)));
	     enc++) {
		const char *q;

		if ((size_t)(end - enc) < 10 || strncmp(enc, "encoding", 8))
			continue;
		for (q = enc + 8; q < end && strchr(" \t\r\n=", *q); q++)
			;
		if (q >= end || (*q != '"' && *q != '\''))
			return true;
		len = strcspn(q + 1, "\"'>");
		if (len >= sizeof(name))
			return false;
		memcpy(name, q + 1, len);
		name[len] = '\0';
		return strcasecmp(name, "utf-8") == 0 ||
			strcasecmp(name, "utf8") == 0;
	}
	return true;
}

/* Hands the document to libxml2 in chunks; UTF-8 is repaired on the way
 * (bad bytes and forbidden controls replaced and counted), so that one
 * stray byte does not cost the whole feed. */
static int
feed(struct xml_reader *r, int fd, char *buf, char *fixed)
{
	struct text_repair repair = { .ncarry = 0 };
	bool first = true, utf8 = false;
	ssize_t n;

	for (;;) {
		const char *chunk = buf;
		size_t len;

		if ((n = read(fd, buf, XML_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			return parse_fail(r->ctx, "reading: %s",
				strerror(errno));
		}
		len = (size_t)n;
		/* libxml2 calls a body of no bytes "Extra content at the
		 * end of the document". */
		if (first && n == 0)
			return parse_fail(r->ctx, "empty document (no bytes)");
		if (first) {
			utf8 = is_utf8(buf, len);
			first = false;
		}
		if (utf8) {
			len = text_repair_chunk(&repair, buf, len, n == 0,
				fixed, &r->ctx->text);
			chunk = fixed;
		}
		if (xmlParseChunk(r->pctx, chunk, (int)len, n == 0) != 0 &&
		    !r->failed)
			return parse_fail(r->ctx, "malformed XML");
		if (r->failed)
			return -1;
		if (n == 0)
			break;
	}
	if (!r->pctx->wellFormed)
		return r->ctx->error[0] ? -1 : parse_fail(r->ctx,
			"malformed XML");
	return 0;
}

int
xml_read(struct parse_context *ctx, int fd, const struct xml_handlers *h,
	void *user)
{
	struct xml_reader *r;
	xmlSAXHandler sax;
	char *buf = NULL, *fixed = NULL;
	int rc = -1;

	if (!(r = calloc(1, sizeof(*r))) || !(buf = malloc(XML_CHUNK)) ||
	    !(fixed = malloc(TEXT_REPAIR_SIZE(XML_CHUNK)))) {
		free(r);
		free(buf);
		return parse_fail(ctx, "out of memory");
	}
	r->ctx = ctx;
	r->h = h;
	r->user = user;
	r->levels[0].base = (char *)ctx->base_url;
	xmlSetExternalEntityLoader(refuse_external);
	init_sax(&sax);
	if (!(r->pctx = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0,
	    ctx->base_url))) {
		parse_fail(ctx, "out of memory");
		goto out;
	}
	r->pctx->_private = r;
	/* Never XML_PARSE_NOENT, DTDLOAD or HUGE (SPEC §7). */
	xmlCtxtUseOptions(r->pctx, XML_PARSE_NONET | XML_PARSE_NOWARNING);
	rc = feed(r, fd, buf, fixed);
out:
	reader_free(r);
	free(r);
	free(buf);
	free(fixed);
	return rc;
}
