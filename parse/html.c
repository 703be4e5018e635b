/* The html parser: records from a web page. With the source's XPath
 * mapping (record, field.NAME) each node the record XPath selects is one
 * record; without one the page itself is one `page` record (title,
 * language, description, headings, document links). The source's follow
 * XPath queues linked pages. The page is decoded to UTF-8 here (BOM, HTTP
 * charset, <meta> prescan, else UTF-8) and parsed by libxml2's HTML parser
 * into a DOM bounded by max_bytes (SPEC §7); the parser never loads
 * anything and resolves only HTML's own named entities. */
#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/globals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "parser.h"
#include "url.h"

/* Limits on what one page may make us do, besides the configured
 * max_bytes, max_field and max_records. */
#define HTML_READ_CHUNK 65536
#define HTML_PRESCAN 1024	/* bytes searched for <meta charset>, as the
				 * HTML standard's prescan does */
#define HTML_CHARSET_MAX 40	/* longest encoding label taken */
#define HTML_HEADINGS_MAX 500	/* h1-h3 texts kept in a page record */
#define HTML_DOCUMENTS_MAX 1000	/* document links kept in a page record */
#define HTML_VALUES_MAX 10000	/* values of one mapped field */
/* Text gathered for one value before normalising: NFC shrinks UTF-8 at
 * most threefold and white space folds, so this still fills max_field. */
#define HTML_TEXT_FACTOR 4
#define HTML_TEXT_SLACK 64

/* Never NOENT, DTDLOAD or HUGE (SPEC §7) and never NOBLANKS, which would
 * drop the space in "<b>a</b> <i>b</i>". The input is always UTF-8 by
 * then, so a <meta charset> must not switch the decoder again. */
#define HTML_OPTIONS (HTML_PARSE_NONET | HTML_PARSE_NOERROR | \
	HTML_PARSE_NOWARNING | HTML_PARSE_COMPACT | HTML_PARSE_IGNORE_ENC)

/* Link targets a page record lists as documents (sorted). */
static const char *const document_extensions[] = {
	"csv", "doc", "docx", "odp", "ods", "odt", "pdf", "ppt", "pptx",
	"rtf", "xls", "xlsx", "zip",
};

/* Elements whose content is not text a reader sees (sorted). */
static const char *const hidden_elements[] = {
	"head", "noscript", "script", "style", "template",
};

/* Elements that start a new line or cell when rendered (sorted). */
static const char *const block_elements[] = {
	"address", "article", "aside", "blockquote", "body", "br", "caption",
	"center", "dd", "details", "dialog", "dir", "div", "dl", "dt",
	"fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
	"h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "img",
	"legend", "li", "main", "menu", "nav", "ol", "optgroup", "option",
	"p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
	"th", "thead", "title", "tr", "ul",
};

/* Windows-1252 for U+0080 to U+009F, as browsers read &#128; to &#159;
 * and ISO-8859-1 pages; the five holes stay controls (removed later). */
static const uint16_t cp1252[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What the page says about itself, gathered in one walk. Strings are
 * owned; raw ones are as the page gives them, the rest normalised. */
struct page {
	struct parse_context *ctx;
	htmlDocPtr doc;
	char *base;		/* the page's base URL, or NULL (--dump) */
	char *url;		/* the capture's URL: ctx->base_url */
	char *base_href;	/* raw: <base href> */
	char *html_title;	/* <title> */
	char *og_title, *twitter_title, *dc_title;
	char *h1;		/* the first h1 */
	char *lang;		/* raw: html@lang, else @xml:lang */
	char *content_language;	/* raw: meta http-equiv */
	char *og_locale;	/* raw */
	char *description, *og_description;
	char *canonical;	/* raw href */
	char *published, *updated;	/* raw dates */
	json_t *headings;	/* array of strings */
	json_t *links;		/* array of [href, text] (raw href) */
	size_t nlinks;
	struct xpath_state *errors;
	bool oom;
};

/* A growing text buffer with a cap: what lies beyond it is dropped. */
struct buf {
	char *p;
	size_t len, size, cap;
	bool failed;
};

/* ------------------------------------------------------------ helpers */

static int
name_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool
name_in(const xmlChar *name, const char *const *names, size_t n)
{
	return name != NULL && bsearch(name, names, n, sizeof(*names),
	    name_cmp) != NULL;
}

static size_t
text_cap(const struct parse_context *ctx)
{
	uint64_t max = ctx->cfg->parse_max_field;

	if (max > (SIZE_MAX - HTML_TEXT_SLACK) / HTML_TEXT_FACTOR)
		return SIZE_MAX;
	return (size_t)max * HTML_TEXT_FACTOR + HTML_TEXT_SLACK;
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	size_t size;
	char *p;

	if (b->failed)
		return;
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	if (n == 0)
		return;
	if (n >= b->size - b->len) {
		size = b->size ? b->size : 256;
		while (size - b->len <= n) {
			if (size > SIZE_MAX / 2) {
				b->failed = true;
				return;
			}
			size *= 2;
		}
		if (!(p = realloc(b->p, size))) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->size = size;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_space(struct buf *b)
{
	if (b->len > 0 && b->p[b->len - 1] != ' ')
		buf_add(b, " ", 1);
}

static size_t
utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Appends text node content, C1 controls read as Windows-1252. */
static void
buf_text(struct buf *b, const xmlChar *text)
{
	const char *s = (const char *)text, *run = s;
	char enc[4];

	for (; *s != '\0' && !b->failed && b->len < b->cap; s++) {
		if ((unsigned char)s[0] == 0xC2 &&
		    (unsigned char)s[1] >= 0x80 &&
		    (unsigned char)s[1] <= 0x9F) {
			buf_add(b, run, (size_t)(s - run));
			buf_add(b, enc, utf8_put(cp1252[(unsigned char)s[1] -
			    0x80], enc));
			run = ++s + 1;
		}
	}
	buf_add(b, run, strlen(run));
}

/* The text a reader sees in NODE (an element, text or attribute node),
 * gathered without recursion: a hostile page may nest without end. */
static void
node_text(const xmlNode *top, struct buf *b)
{
	const xmlNode *n;

	switch (top->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (top->content)
			buf_text(b, top->content);
		return;
	case XML_ATTRIBUTE_NODE:
		for (n = top->children; n; n = n->next)
			if (n->content)
				buf_text(b, n->content);
		return;
	case XML_ELEMENT_NODE:
	case XML_DOCUMENT_NODE:
	case XML_HTML_DOCUMENT_NODE:
		break;
	default:
		return;
	}
	/* TOP itself is never hidden: a <title> in <head>, or a <script>
	 * a mapping names (JSON-LD), is asked for. */
	for (n = top->children; n && !b->failed && b->len < b->cap;) {
		if (n->type == XML_ELEMENT_NODE) {
			if (!name_in(n->name, hidden_elements,
			    NELEM(hidden_elements))) {
				if (name_in(n->name, block_elements,
				    NELEM(block_elements)))
					buf_space(b);
				if (n->children) {
					n = n->children;
					continue;
				}
			}
		} else if ((n->type == XML_TEXT_NODE ||
		    n->type == XML_CDATA_SECTION_NODE) && n->content)
			buf_text(b, n->content);
		while (!n->next) {
			n = n->parent;
			if (!n || n == top)
				return;
			if (name_in(n->name, block_elements,
			    NELEM(block_elements)))
				buf_space(b);
		}
		n = n->next;
	}
}

/* The normalised text of NODE, cut at max_field, or NULL when blank (or
 * out of memory: *OOM). */
static char *
node_value(struct parse_context *ctx, const xmlNode *node, bool *oom)
{
	struct buf b = { .cap = text_cap(ctx) };
	char *text;

	node_text(node, &b);
	if (b.failed) {
		free(b.p);
		*oom = true;
		return NULL;
	}
	text = parse_text(ctx, b.p ? b.p : "", b.len, oom);
	free(b.p);
	return text;
}

/* The normalised value of attribute NAME of NODE, or NULL. */
static char *
attr_value(struct parse_context *ctx, xmlNode *node, const char *name,
	bool *oom)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
	char *text;

	*oom = false;
	if (!v)
		return NULL;
	text = parse_text(ctx, (const char *)v, SIZE_MAX, oom);
	xmlFree(v);
	return text;
}

/* The raw value of attribute NAME of NODE (owned, malloc'd) or NULL. */
static char *
attr_raw(xmlNode *node, const char *name, bool *oom)
{
	xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
	char *s;

	if (!v)
		return NULL;
	if (!(s = strdup((const char *)v)))
		*oom = true;
	xmlFree(v);
	return s;
}

/* Does the space-separated list LIST hold TOKEN (ASCII case aside)? */
static bool
has_token(const char *list, const char *token)
{
	size_t tl = strlen(token), n;

	while (list && *list) {
		list += strspn(list, " \t\n\r\f");
		n = strcspn(list, " \t\n\r\f");
		if (n == tl && strncasecmp(list, token, n) == 0)
			return true;
		list += n;
	}
	return false;
}

/* A link the page gives, resolved against its base: an absolute http(s)
 * URL, or NULL (unresolvable, javascript:, mailto: ...). */
static char *
page_resolve(const struct page *p, const char *ref)
{
	return ref ? url_resolve(p->base, ref) : NULL;
}

/* ------------------------------------------------------------ reading */

static int
read_body(struct parse_context *ctx, int fd, char **out, size_t *outlen)
{
	uint64_t max = ctx->cfg->fetch_max_bytes;
	size_t len = 0, size = 0;
	char *buf = NULL, *p;
	ssize_t n;

	if (max == 0 || max > INT_MAX)
		max = INT_MAX;
	for (;;) {
		if (size - len < HTML_READ_CHUNK) {
			size = size ? size * 2 : HTML_READ_CHUNK * 2;
			if (!(p = realloc(buf, size))) {
				free(buf);
				return parse_fail(ctx, "out of memory");
			}
			buf = p;
		}
		if ((n = read(fd, buf + len, HTML_READ_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return parse_fail(ctx, "reading: %s", strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return parse_fail(ctx, "the page is larger than "
				"max_bytes (%llu bytes)",
				(unsigned long long)max);
		}
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* ---------------------------------------------------------- encodings */

/* Copies the encoding label at S (after "charset", "=" and an optional
 * quote) into NAME; returns true if there was one. */
static bool
take_label(const char *s, const char *end, char *name, size_t size)
{
	size_t n = 0;

	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' ||
	    *s == '\r' || *s == '\f'))
		s++;
	if (s >= end || *s != '=')
		return false;
	for (s++; s < end && (*s == ' ' || *s == '\t' || *s == '\n' ||
	    *s == '\r' || *s == '\f' || *s == '"' || *s == '\''); s++)
		;
	while (s < end && n + 1 < size && (((*s | 0x20) >= 'a' &&
	    (*s | 0x20) <= 'z') || (*s >= '0' && *s <= '9') ||
	    strchr("-_.:()", *s)))
		name[n++] = *s++;
	name[n] = '\0';
	return n > 0;
}

/* Finds "charset=LABEL" in S (LEN bytes). */
static bool
find_charset(const char *s, size_t len, char *name, size_t size)
{
	const char *end = s + len;

	for (; (size_t)(end - s) >= 7; s++)
		if (strncasecmp(s, "charset", 7) == 0 &&
		    take_label(s + 7, end, name, size))
			return true;
	return false;
}

/* The HTML standard's prescan, simplified: the first <meta> in the first
 * HTML_PRESCAN bytes with a charset (as its own attribute or in a
 * Content-Type content). Comments are skipped. */
static bool
prescan_meta(const char *s, size_t len, char *name, size_t size)
{
	const char *end = s + (len < HTML_PRESCAN ? len : HTML_PRESCAN);
	const char *p = s, *close;

	while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
		if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
			const char *q;

			for (q = p + 4; end - q >= 3 && strncmp(q, "-->", 3);
			    q++)
				;
			p = q + 3;
			continue;
		}
		if (end - p >= 6 && strncasecmp(p, "<meta", 5) == 0 &&
		    strchr(" \t\n\r\f/", p[5])) {
			close = memchr(p, '>', (size_t)(end - p));
			if (!close)
				close = end;
			if (find_charset(p + 5, (size_t)(close - p - 5), name,
			    size))
				return true;
			p = close;
			continue;
		}
		p++;
	}
	return false;
}

/* WHATWG labels for which iconv's own name would decode differently. */
static const struct {
	const char *label, *iconv;
} encoding_aliases[] = {
	{ "ansi_x3.4-1968", "WINDOWS-1252" },
	{ "ascii", "WINDOWS-1252" },
	{ "cp819", "WINDOWS-1252" },
	{ "csisolatin1", "WINDOWS-1252" },
	{ "gb2312", "GBK" },
	{ "gb_2312-80", "GBK" },
	{ "ibm819", "WINDOWS-1252" },
	{ "iso-8859-1", "WINDOWS-1252" },
	{ "iso-8859-9", "WINDOWS-1254" },
	{ "iso-8859-11", "WINDOWS-874" },
	{ "iso8859-1", "WINDOWS-1252" },
	{ "iso88591", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" },
	{ "ks_c_5601-1987", "CP949" },
	{ "l1", "WINDOWS-1252" },
	{ "latin1", "WINDOWS-1252" },
	{ "shift_jis", "CP932" },
	{ "sjis", "CP932" },
	{ "tis-620", "WINDOWS-874" },
	{ "us-ascii", "WINDOWS-1252" },
	{ "windows-31j", "CP932" },
	{ "x-sjis", "CP932" },
};

/* Is LABEL a name of UTF-8 (or of UTF-16, which a page declaring it in
 * ASCII-compatible bytes cannot be: read as UTF-8 too)? */
static bool
is_utf8_label(const char *label)
{
	return strcasecmp(label, "utf-8") == 0 ||
	    strcasecmp(label, "utf8") == 0 ||
	    strcasecmp(label, "unicode-1-1-utf-8") == 0 ||
	    strncasecmp(label, "utf-16", 6) == 0 ||
	    strcasecmp(label, "unicode") == 0;
}

static const char *
iconv_name(const char *label)
{
	for (size_t i = 0; i < NELEM(encoding_aliases); i++)
		if (strcasecmp(label, encoding_aliases[i].label) == 0)
			return encoding_aliases[i].iconv;
	return label;
}

/* S (LEN bytes in encoding CD converts from) as UTF-8; undecodable bytes
 * become U+FFFD (counted). Returns a malloc'd string or NULL. */
static char *
convert(struct parse_context *ctx, iconv_t cd, const char *s, size_t len,
	size_t *outlen)
{
	size_t size = len + len / 2 + 64, in_left = len, out_left, done;
	char *in = (char *)s, *out, *o, *p, *ret;

	if (len > SIZE_MAX / 4 || !(out = malloc(size)))
		return NULL;
	o = out;
	out_left = size - 1;
	while (in_left > 0) {
		if (iconv(cd, &in, &in_left, &o, &out_left) != (size_t)-1)
			break;
		if (errno == E2BIG || out_left < 4) {
			done = (size_t)(o - out);
			if (size > SIZE_MAX / 2 || !(p = realloc(out,
			    size * 2))) {
				free(out);
				return NULL;
			}
			out = p;
			size *= 2;
			o = out + done;
			out_left = size - done - 1;
			continue;
		}
		/* EILSEQ, or EINVAL: a sequence cut at the end. */
		ctx->text.replaced++;
		done = utf8_put(0xFFFD, o);
		o += done;
		out_left -= done;
		if (errno == EINVAL)
			break;
		in++;
		in_left--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* The result may hold NULs (UTF-16 input): clean it once more. */
	ret = text_repair_utf8(out, (size_t)(o - out), outlen,
	    &ctx->text);
	free(out);
	return ret;
}

/* The body as UTF-8: a BOM decides, else the charset of the HTTP
 * Content-Type, else a <meta> in the first 1024 bytes, else UTF-8. An
 * unknown encoding is read as UTF-8. Returns 0, or -1 (no memory). */
static int
decode_body(struct parse_context *ctx, const char *body, size_t len,
	char **out, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)body;
	char label[HTML_CHARSET_MAX + 1] = "";
	const char *ct = ctx->content_type, *semi;
	size_t skip = 0;
	iconv_t cd;

	if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		skip = 3;
	} else if (len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) ||
	    (u[0] == 0xFF && u[1] == 0xFE))) {
		snprintf(label, sizeof(label), "%s", u[0] == 0xFE ?
			"UTF-16BE" : "UTF-16LE");
		skip = 2;
	} else if (ct && (semi = strchr(ct, ';')) &&
	    find_charset(semi, strlen(semi), label, sizeof(label))) {
		/* The HTTP header outranks the page's own <meta>. */
	} else
		prescan_meta(body, len, label, sizeof(label));

	if (label[0] != '\0' && (skip != 2 && is_utf8_label(label)))
		label[0] = '\0';
	if (label[0] != '\0' && (cd = iconv_open("UTF-8",
	    iconv_name(label))) != (iconv_t)-1) {
		*out = convert(ctx, cd, body + skip, len - skip, outlen);
		iconv_close(cd);
	} else
		*out = text_repair_utf8(body + skip, len - skip, outlen,
		    &ctx->text);
	return *out ? 0 : -1;
}

/* ------------------------------------------------------------ parsing */

/* Parses UTF8 (LEN bytes). An empty page is an empty document. Returns
 * the document or NULL (out of memory). */
static htmlDocPtr
parse_document(const char *utf8, size_t len)
{
	htmlDocPtr doc = NULL;

	if (len > INT_MAX)
		return NULL;
	if (len > 0)
		doc = htmlReadMemory(utf8, (int)len, NULL, "UTF-8",
			HTML_OPTIONS);
	if (!doc)
		doc = htmlNewDocNoDtD(NULL, NULL);
	return doc;
}

/* ---------------------------------------------------- the page itself */

static bool
inside(const xmlNode *n, const char *name)
{
	for (n = n->parent; n && n->type == XML_ELEMENT_NODE; n = n->parent)
		if (strcmp((const char *)n->name, name) == 0)
			return true;
	return false;
}

/* A <meta>: the names it carries (name, property, itemprop, each a list
 * of tokens) decide what its content is. */
static void
page_meta(struct page *p, xmlNode *n)
{
	struct parse_context *ctx = p->ctx;
	char *names[3], *content, *equiv;
	bool oom = false;

	if (!(content = attr_raw(n, "content", &oom))) {
		p->oom |= oom;
		return;
	}
	names[0] = attr_raw(n, "name", &oom);
	names[1] = attr_raw(n, "property", &oom);
	names[2] = attr_raw(n, "itemprop", &oom);
	equiv = attr_raw(n, "http-equiv", &oom);
	p->oom |= oom;
	for (size_t i = 0; i < NELEM(names); i++) {
		const char *l = names[i];
		char **raw = NULL, **text = NULL;

		if (!l)
			continue;
		if (has_token(l, "description"))
			text = &p->description;
		else if (has_token(l, "og:description"))
			text = &p->og_description;
		else if (has_token(l, "og:title"))
			text = &p->og_title;
		else if (has_token(l, "twitter:title"))
			text = &p->twitter_title;
		else if (has_token(l, "dc.title") || has_token(l, "dc:title") ||
		    has_token(l, "dcterms.title"))
			text = &p->dc_title;
		else if (has_token(l, "og:locale"))
			raw = &p->og_locale;
		else if (has_token(l, "article:published_time") ||
		    has_token(l, "datepublished") ||
		    has_token(l, "dcterms.issued") ||
		    has_token(l, "dcterms.created") ||
		    has_token(l, "dc.date.issued") ||
		    has_token(l, "dc.date") || has_token(l, "dcterms.date"))
			raw = &p->published;
		else if (has_token(l, "article:modified_time") ||
		    has_token(l, "og:updated_time") ||
		    has_token(l, "datemodified") ||
		    has_token(l, "dcterms.modified") ||
		    has_token(l, "dc.date.modified"))
			raw = &p->updated;
		if (text && !*text)
			*text = parse_text(ctx, content, SIZE_MAX, &oom);
		else if (raw && !*raw && !(*raw = strdup(content)))
			oom = true;
		p->oom |= oom;
	}
	if (equiv && strcasecmp(equiv, "content-language") == 0 &&
	    !p->content_language && !(p->content_language = strdup(content)))
		p->oom = true;
	for (size_t i = 0; i < NELEM(names); i++)
		free(names[i]);
	free(equiv);
	free(content);
}

/* An <a href>: kept when it names a document (by its path's extension). */
static void
page_link(struct page *p, xmlNode *n)
{
	char *href, *text;
	const char *path, *dot, *end;
	size_t plen;
	char ext[8];
	bool oom = false;
	json_t *pair;

	if (p->nlinks >= HTML_DOCUMENTS_MAX ||
	    !(href = attr_raw(n, "href", &oom))) {
		p->oom |= oom;
		return;
	}
	/* The extension of the path, before any query or fragment. */
	path = href;
	plen = strcspn(path, "?#");
	end = path + plen;
	while (end > path && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (dot = end; dot > path && dot[-1] != '.' && dot[-1] != '/';
	    dot--)
		;
	if (dot == path || dot[-1] != '.' || (size_t)(end - dot) >=
	    sizeof(ext) || end == dot) {
		free(href);
		return;
	}
	memcpy(ext, dot, (size_t)(end - dot));
	ext[end - dot] = '\0';
	for (char *c = ext; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (!name_in((const xmlChar *)ext, document_extensions,
	    NELEM(document_extensions))) {
		free(href);
		return;
	}
	text = node_value(p->ctx, n, &oom);
	if (!text && !oom)
		text = attr_value(p->ctx, n, "title", &oom);
	if (!(pair = json_pack("[s, s?]", href, text)) ||
	    json_array_append_new(p->links, pair) < 0)
		p->oom = true;
	else
		p->nlinks++;
	p->oom |= oom;
	free(href);
	free(text);
}

/* A <time datetime>: a publication or change date when it says so. */
static void
page_time(struct page *p, xmlNode *n)
{
	char *prop, *dt;
	bool oom = false, pub;

	if (!(dt = attr_raw(n, "datetime", &oom))) {
		p->oom |= oom;
		return;
	}
	prop = attr_raw(n, "itemprop", &oom);
	pub = xmlHasProp(n, (const xmlChar *)"pubdate") ||
	    (prop && has_token(prop, "datePublished"));
	if (pub && !p->published) {
		p->published = dt;
		dt = NULL;
	} else if (prop && has_token(prop, "dateModified") && !p->updated) {
		p->updated = dt;
		dt = NULL;
	}
	p->oom |= oom;
	free(prop);
	free(dt);
}

static void
page_element(struct page *p, xmlNode *n)
{
	struct parse_context *ctx = p->ctx;
	const char *name = (const char *)n->name;
	bool oom = false;
	char *s;

	if (strcmp(name, "html") == 0) {
		if (!p->lang && !(p->lang = attr_raw(n, "lang", &oom)))
			p->lang = attr_raw(n, "xml:lang", &oom);
	} else if (strcmp(name, "title") == 0) {
		/* An SVG <title> is no title of the page. */
		if (!p->html_title && !inside(n, "svg"))
			p->html_title = node_value(ctx, n, &oom);
	} else if (strcmp(name, "base") == 0) {
		if (!p->base_href)
			p->base_href = attr_raw(n, "href", &oom);
	} else if (strcmp(name, "meta") == 0) {
		page_meta(p, n);
	} else if (strcmp(name, "link") == 0) {
		if (!p->canonical && (s = attr_raw(n, "rel", &oom))) {
			if (has_token(s, "canonical"))
				p->canonical = attr_raw(n, "href", &oom);
			free(s);
		}
	} else if (strcmp(name, "a") == 0) {
		page_link(p, n);
	} else if (strcmp(name, "time") == 0) {
		page_time(p, n);
	} else if (name[0] == 'h' && name[1] >= '1' && name[1] <= '3' &&
	    name[2] == '\0') {
		if ((s = node_value(ctx, n, &oom))) {
			if (name[1] == '1' && !p->h1 && !(p->h1 = strdup(s)))
				oom = true;
			if (json_array_size(p->headings) < HTML_HEADINGS_MAX &&
			    json_array_append_new(p->headings,
			    json_string(s)) < 0)
				oom = true;
			free(s);
		}
	}
	p->oom |= oom;
}

/* One walk over the whole document in document order, without recursion:
 * a hostile page may nest without end. Hidden content (script, style,
 * template) is not looked into; <head> is. */
static void
page_walk(struct page *p)
{
	xmlNode *n = p->doc->children;

	while (n && !p->oom) {
		if (n->type == XML_ELEMENT_NODE && n->name) {
			page_element(p, n);
			if (n->children && (strcmp((const char *)n->name,
			    "head") == 0 || !name_in(n->name, hidden_elements,
			    NELEM(hidden_elements)))) {
				n = n->children;
				continue;
			}
		}
		while (n && !n->next) {
			n = n->parent;
			if (n && n->type != XML_ELEMENT_NODE)
				n = NULL;
		}
		if (n)
			n = n->next;
	}
}

/* ---------------------------------------------------- language, title */

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* RAW (html@lang, Content-Language, og:locale ...) as a BCP 47 tag in its
 * conventional case ("en", "pt-BR", "zh-Hant-TW"), or NULL when it is not
 * one. Of a list ("en, fr") the first is taken; "_" reads as "-". Only
 * the syntax is checked. */
static char *
lang_normalize(const char *raw)
{
	char tag[64], *out;
	size_t n = 0, sub = 0, start = 0;

	if (!raw)
		return NULL;
	raw += strspn(raw, " \t\n\r\f");
	for (;; raw++) {
		char c = *raw == '_' ? '-' : *raw;

		if (c == '-' || c == '\0' || strchr(" \t\n\r\f,;", c)) {
			size_t len = n - start;

			if (len == 0 || len > 8)
				return NULL;
			if (sub == 0) {
				/* The language: 2 or 3 letters. */
				if (len < 2 || len > 3)
					return NULL;
				for (size_t i = start; i < n; i++)
					if (!is_alpha(tag[i]))
						return NULL;
			}
			for (size_t i = start; i < n; i++) {
				char *t = &tag[i];
				bool up = sub > 0 && (len == 2 || (len == 4 &&
				    i == start));

				if (up && *t >= 'a' && *t <= 'z')
					*t = (char)(*t - 'a' + 'A');
				else if (!up && *t >= 'A' && *t <= 'Z')
					*t = (char)(*t - 'A' + 'a');
			}
			/* A region of digits ("419") stays as it is. */
			if (c != '-')
				break;
			if (n + 1 >= sizeof(tag))
				return NULL;
			tag[n++] = '-';
			start = n;
			sub++;
			continue;
		}
		if (!is_alnum(c) || n + 1 >= sizeof(tag))
			return NULL;
		tag[n++] = c;
	}
	tag[n] = '\0';
	/* "und", "mul", "zxx" say nothing of the page's language. */
	if (strcmp(tag, "und") == 0 || strcmp(tag, "mul") == 0 ||
	    strcmp(tag, "zxx") == 0)
		return NULL;
	if ((out = strdup(tag)))
		return out;
	return NULL;
}

/* The length of the title separator at S (| - \ / > en dash, em dash,
 * guillemet), or 0; *HIER tells whether it is a hierarchical one. */
static size_t
title_sep(const char *s, bool *hier)
{
	*hier = false;
	if (*s == '|' || *s == '-')
		return 1;
	if (*s == '\\' || *s == '/' || *s == '>') {
		*hier = true;
		return 1;
	}
	if (strncmp(s, "\xE2\x80\x93", 3) == 0 ||
	    strncmp(s, "\xE2\x80\x94", 3) == 0)
		return 3;
	if (strncmp(s, "\xC2\xBB", 2) == 0) {
		*hier = true;
		return 2;
	}
	return 0;
}

/* Words of S (normalised: single spaces), those made only of separators
 * left out when NOSEP. */
static size_t
title_words(const char *s, bool nosep)
{
	size_t words = 0, n, l;
	bool hier, real;

	while (*s) {
		s += strspn(s, " ");
		if (!*s)
			break;
		n = strcspn(s, " ");
		real = !nosep;
		for (size_t i = 0; i < n && !real; i += l ? l : 1)
			if (!(l = title_sep(s + i, &hier)))
				real = true;
		words += real;
		s += n;
	}
	return words;
}

static char *
dup_trimmed(const char *s, size_t n)
{
	char *out;

	while (n > 0 && *s == ' ') {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if ((out = malloc(n + 1))) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

/* The title of an article from its page's <title> (normalised), as
 * Readability cuts it: a site name after the last " | ", " - ", " – ",
 * " » " ... goes, unless too little would be left. (Readability's other
 * rules, which drop what precedes a colon or prefer a lone <h1>, lose
 * meaningful words of real titles, so they are not followed.) Returns a
 * malloc'd string or NULL (no memory). */
static char *
clean_title(const char *orig)
{
	size_t len = strlen(orig), last = SIZE_MAX, first = SIZE_MAX, l;
	size_t first_len = 0, words;
	bool hier, any = false, hierarchical = false;
	char *cur;

	for (size_t i = 0; i < len; i++) {
		if (!(l = title_sep(orig + i, &hier)))
			continue;
		if (first == SIZE_MAX) {
			first = i;
			first_len = l;
		}
		if (orig[i + l] == ' ') {
			last = i;
			if (i > 0 && orig[i - 1] == ' ') {
				any = true;
				hierarchical |= hier;
			}
		}
		i += l - 1;
	}
	if (!any)
		return strdup(orig);
	if (!(cur = dup_trimmed(orig, last)))
		return NULL;
	if (title_words(cur, false) < 3) {
		free(cur);
		if (!(cur = dup_trimmed(orig + first + first_len,
		    len - first - first_len)))
			return NULL;
	}
	words = title_words(cur, false);
	if (words <= 4 && (!hierarchical ||
	    words != title_words(orig, true) - 1)) {
		free(cur);
		return strdup(orig);
	}
	return cur;
}

/* The page's title: og:title, twitter:title or DC title (which name the
 * article without the site), else the cleaned <title>, else the first
 * h1. Returns a malloc'd string, NULL when there is none; sets *OOM. */
static char *
page_title(const struct page *p, bool *oom)
{
	const char *meta = p->og_title ? p->og_title : p->twitter_title ?
	    p->twitter_title : p->dc_title;
	char *t = NULL;

	*oom = false;
	if (meta)
		t = strdup(meta);
	else if (p->html_title)
		t = clean_title(p->html_title);
	else if (p->h1)
		t = strdup(p->h1);
	else
		return NULL;
	*oom = !t;
	return t;
}

static char *
page_language(const struct page *p)
{
	char *l;

	if ((l = lang_normalize(p->lang)) ||
	    (l = lang_normalize(p->content_language)) ||
	    (l = lang_normalize(p->og_locale)))
		return l;
	return NULL;
}

/* ----------------------------------------------------------- records */

static char *
dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

/* Is URL on the same host as the page? */
static bool
same_host(const char *a, const char *b)
{
	char *ha = url_host(a), *hb = url_host(b);
	bool same = ha && hb && strcmp(ha, hb) == 0;

	free(ha);
	free(hb);
	return same;
}

/* Page-level facts: in ctx->document and in the page record. */
struct page_facts {
	char *title, *language, *canonical;
};

static void
facts_free(struct page_facts *f)
{
	free(f->title);
	free(f->language);
	free(f->canonical);
}

static int
page_facts(struct page *p, struct page_facts *f)
{
	struct parse_context *ctx = p->ctx;
	bool oom = false;

	f->title = page_title(p, &oom);
	f->language = page_language(p);
	f->canonical = page_resolve(p, p->canonical);
	if (oom)
		return parse_fail(ctx, "out of memory");
	json_decref(ctx->document);
	if (!(ctx->document = json_object()) ||
	    field_set_text(ctx->document, "title", f->title) < 0 ||
	    field_set_text(ctx->document, "html_title", p->html_title) < 0 ||
	    field_set_text(ctx->document, "language", f->language) < 0 ||
	    field_set_text(ctx->document, "canonical", f->canonical) < 0 ||
	    (p->base && p->url && strcmp(p->base, p->url) != 0 &&
	    field_set_text(ctx->document, "base", p->base) < 0))
		return parse_fail(ctx, "out of memory");
	return 0;
}

/* The one record of a page without a mapping. */
static int
page_record(struct page *p, const struct page_facts *f)
{
	struct parse_context *ctx = p->ctx;
	struct record *rec;
	json_t *docs = NULL, *item, *pair;
	size_t i;
	bool oom = false;
	const char *url = f->canonical ? f->canonical : p->url;

	if (!(rec = calloc(1, sizeof(*rec))) ||
	    !(rec->fields = json_object()) || !(docs = json_array()))
		goto oom;
	rec->title = dup_or_null(f->title, &oom);
	rec->url = dup_or_null(url, &oom);
	/* A canonical link elsewhere (a mirror naming its original) names
	 * the record, not the page's identity. */
	rec->external_id = dup_or_null(f->canonical && p->url &&
	    same_host(f->canonical, p->url) ? f->canonical : p->url, &oom);
	if (oom)
		goto oom;
	json_array_foreach(p->links, i, pair) {
		char *u = page_resolve(p, json_string_value(
		    json_array_get(pair, 0)));
		const char *text = json_string_value(json_array_get(pair, 1));
		bool seen = false;
		json_t *d;
		size_t j;

		if (!u)
			continue;
		json_array_foreach(docs, j, d)
			if (strcmp(json_string_value(json_object_get(d,
			    "url")), u) == 0)
				seen = true;
		if (!seen && (!(item = json_pack("{s:s, s:s?}", "url", u,
		    "text", text)) || json_array_append_new(docs, item) < 0))
			oom = true;
		free(u);
		if (oom)
			goto oom;
	}
	if (field_set_text(rec->fields, "title", f->title) < 0 ||
	    field_set_text(rec->fields, "html_title", p->html_title) < 0 ||
	    field_set_text(rec->fields, "language", f->language) < 0 ||
	    field_set_text(rec->fields, "description", p->description ?
	    p->description : p->og_description) < 0 ||
	    field_set_text(rec->fields, "url", url) < 0 ||
	    (json_array_size(p->headings) > 0 && json_object_set(rec->fields,
	    "headings", p->headings) < 0) ||
	    (json_array_size(docs) > 0 && json_object_set(rec->fields,
	    "documents", docs) < 0) ||
	    field_set_date(rec->fields, "published", p->published) < 0 ||
	    field_set_date(rec->fields, "updated", p->updated) < 0)
		goto oom;
	json_decref(docs);
	if (ctx->records >= ctx->cfg->parse_max_records) {
		ctx->skipped++;
		record_free(rec);
		return 0;
	}
	return ctx->emit(ctx, rec);
oom:
	json_decref(docs);
	record_free(rec);
	return parse_fail(ctx, "out of memory");
}

/* ------------------------------------------------------------ mapping */

/* The attributes whose values are links. */
static bool
is_url_attr(const xmlNode *n)
{
	static const char *const names[] = {
		"action", "cite", "data", "href", "poster", "src",
	};

	return n->type == XML_ATTRIBUTE_NODE &&
	    name_in(n->name, names, NELEM(names));
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t sl = strlen(s), xl = strlen(suffix);

	return sl >= xl && strcasecmp(s + sl - xl, suffix) == 0;
}

/* Fields whose values are links by their name. */
static bool
is_url_field(const char *name)
{
	return ends_with(name, "url") || ends_with(name, "link") ||
	    ends_with(name, "links") || ends_with(name, "documents");
}

static bool
is_date_field(const char *name)
{
	return strcmp(name, "published") == 0 ||
	    strcmp(name, "updated") == 0 || ends_with(name, "date");
}

/* The first message libxml2 gave since it was last cleared: XPath
 * errors come through the thread's structured handler (function not
 * found ...) or its generic one. Nothing reaches stderr: a hostile page
 * or a bad expression must not make cron mail. */
struct xpath_state {
	char msg[256];
};

static void
keep_message(struct xpath_state *x, const char *m)
{
	size_t n;

	if (!x || x->msg[0] || !m)
		return;
	snprintf(x->msg, sizeof(x->msg), "%s", m);
	n = strlen(x->msg);
	while (n > 0 && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
		x->msg[--n] = '\0';
}

static void
structured_error(void *user, xmlErrorPtr err)
{
	if (err && err->domain == XML_FROM_XPATH)
		keep_message(user, err->message);
}

static void generic_error(void *user, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
generic_error(void *user, const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	keep_message(user, m);
}

/* The value of one selected node: a link (resolved, NULL when it cannot
 * be) when the node or the field says so, else its text. */
static char *
mapped_value(struct page *p, xmlNode *n, bool url_field, bool *oom)
{
	struct parse_context *ctx = p->ctx;
	char *raw = NULL, *v;

	*oom = false;
	if (!url_field && !is_url_attr(n))
		return node_value(ctx, n, oom);
	if (n->type == XML_ELEMENT_NODE) {
		if (!(raw = attr_raw(n, "href", oom)) && !*oom)
			raw = attr_raw(n, "src", oom);
		if (!raw && !*oom) {
			/* A link written out as text. */
			if (!(v = node_value(ctx, n, oom)))
				return NULL;
			raw = v;
		}
	} else if (n->type == XML_ATTRIBUTE_NODE || n->type == XML_TEXT_NODE ||
	    n->type == XML_CDATA_SECTION_NODE) {
		xmlChar *c = xmlNodeGetContent(n);

		if (c && !(raw = strdup((const char *)c)))
			*oom = true;
		xmlFree(c);
	}
	if (!raw)
		return NULL;
	v = page_resolve(p, raw);
	free(raw);
	return v;
}

/* Sets FIELDS[NAME] from an XPath result: one value a string, several an
 * array, none nothing. Returns 0 or -1 (no memory). */
static int
set_mapped(struct page *p, json_t *fields, const char *name,
	xmlXPathObjectPtr res)
{
	struct parse_context *ctx = p->ctx;
	bool url_field = is_url_field(name), oom = false;
	json_t *values;
	xmlChar *s;
	char *v;
	int rc = 0;

	if (!(values = json_array()))
		return -1;
	switch (res->type) {
	case XPATH_NODESET:
		for (int i = 0; res->nodesetval &&
		    i < res->nodesetval->nodeNr && !oom &&
		    json_array_size(values) < HTML_VALUES_MAX; i++) {
			v = mapped_value(p, res->nodesetval->nodeTab[i],
				url_field, &oom);
			if (v && json_array_append_new(values,
			    json_string(v)) < 0)
				oom = true;
			free(v);
		}
		break;
	case XPATH_STRING:
	case XPATH_NUMBER:
	case XPATH_BOOLEAN:
		if (!(s = xmlXPathCastToString(res))) {
			oom = true;
			break;
		}
		v = url_field ? page_resolve(p, (const char *)s) :
		    parse_text(ctx, (const char *)s, SIZE_MAX, &oom);
		if (v && json_array_append_new(values, json_string(v)) < 0)
			oom = true;
		free(v);
		xmlFree(s);
		break;
	default:
		break;
	}
	if (oom)
		rc = -1;
	else if (json_array_size(values) == 1 && is_date_field(name))
		rc = field_set_date(fields, name, json_string_value(
		    json_array_get(values, 0)));
	else if (json_array_size(values) == 1)
		rc = json_object_set(fields, name, json_array_get(values, 0));
	else if (json_array_size(values) > 1)
		rc = json_object_set(fields, name, values);
	json_decref(values);
	return rc;
}

/* A malloc'd A B C, or NULL. */
static char *
concat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s;

	if (!(s = malloc(la + lb + lc + 1)))
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* The first string of FIELDS[NAME] (a string or an array of them). */
static const char *
field_first(json_t *fields, const char *name)
{
	json_t *v = json_object_get(fields, name);

	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_string_value(v);
}

/* The record of node N, the I-th (from 1) of COUNT. USED holds the
 * external ids given so far on this page. */
static int
mapped_record(struct page *p, const struct page_facts *f,
	xmlXPathContextPtr xp, xmlXPathCompExprPtr *fx, xmlNode *n,
	size_t i, size_t count, json_t *used, struct xpath_state *xs)
{
	struct parse_context *ctx = p->ctx;
	const struct source_config *src = ctx->src;
	struct record *rec;
	xmlXPathObjectPtr res;
	const char *title, *url;
	char *id = NULL, frag[64];
	bool oom = false;

	if (!(rec = calloc(1, sizeof(*rec))) ||
	    !(rec->fields = json_object()))
		goto oom;
	for (size_t k = 0; k < src->nfields; k++) {
		xp->node = n;
		xs->msg[0] = '\0';
		if (!(res = xmlXPathCompiledEval(fx[k], xp))) {
			record_free(rec);
			return parse_fail(ctx, "field.%s: %s",
				src->fields[k].name, xs->msg[0] ? xs->msg :
				"the XPath failed");
		}
		if (set_mapped(p, rec->fields, src->fields[k].name, res) < 0) {
			xmlXPathFreeObject(res);
			goto oom;
		}
		xmlXPathFreeObject(res);
	}
	if (!json_object_get(rec->fields, "language") &&
	    field_set_text(rec->fields, "language", f->language) < 0)
		goto oom;
	if (!(title = field_first(rec->fields, "title")))
		title = field_first(rec->fields, "name");
	if (!title)
		title = f->title;
	url = field_first(rec->fields, "url");
	rec->title = dup_or_null(title, &oom);

	/* The record's own URL names it; else the page's, with the record's
	 * element id (stable when the page changes) or its position when
	 * the page holds several. */
	if (url) {
		rec->url = dup_or_null(url, &oom);
		id = dup_or_null(url, &oom);
	} else if (p->url) {
		xmlChar *eid = count > 1 ? xmlGetProp(n, (const xmlChar *)
		    "id") : NULL;

		if (count == 1)
			frag[0] = '\0';
		else if (eid && eid[0] && strlen((char *)eid) < sizeof(frag) -
		    1 && !strpbrk((char *)eid, " \t\n\r\f#"))
			snprintf(frag, sizeof(frag), "#%s", (char *)eid);
		else
			snprintf(frag, sizeof(frag), "#%zu", i);
		xmlFree(eid);
		if (!(id = concat(p->url, frag, "")))
			oom = true;
		rec->url = dup_or_null(id, &oom);
	}
	if (oom)
		goto oom;
	/* Two records may not share an id: the later one gets its position. */
	if (id && json_object_get(used, id)) {
		char *again;

		snprintf(frag, sizeof(frag), "#%zu", i);
		if (!(again = concat(id, frag, "")))
			goto oom;
		free(id);
		id = again;
	}
	if (id && json_object_set_new(used, id, json_true()) < 0)
		goto oom;
	rec->external_id = id;
	return ctx->emit(ctx, rec);
oom:
	free(id);
	record_free(rec);
	return parse_fail(ctx, "out of memory");
}

static xmlXPathCompExprPtr
compile(struct parse_context *ctx, xmlXPathContextPtr xp,
	struct xpath_state *xs, const char *what, const char *expr)
{
	xmlXPathCompExprPtr c;

	xs->msg[0] = '\0';
	if (!(c = xmlXPathCtxtCompile(xp, (const xmlChar *)expr)))
		parse_fail(ctx, "%s: bad XPath %s%s%s", what, expr,
			xs->msg[0] ? ": " : "", xs->msg);
	return c;
}

/* Evaluates COMP on the whole document: a node set, else an error. */
static xmlXPathObjectPtr
eval_nodes(struct page *p, xmlXPathContextPtr xp, xmlXPathCompExprPtr comp,
	struct xpath_state *xs, const char *what)
{
	xmlXPathObjectPtr res;

	xs->msg[0] = '\0';
	xp->node = (xmlNodePtr)p->doc;
	if (!(res = xmlXPathCompiledEval(comp, xp))) {
		parse_fail(p->ctx, "%s: %s", what, xs->msg[0] ? xs->msg :
			"the XPath failed");
		return NULL;
	}
	if (res->type != XPATH_NODESET) {
		xmlXPathFreeObject(res);
		parse_fail(p->ctx, "%s: the XPath selects no nodes", what);
		return NULL;
	}
	return res;
}

/* The records the mapping selects; *SELECTED counts them. */
static int
map_records(struct page *p, const struct page_facts *f,
	xmlXPathContextPtr xp, struct xpath_state *xs, size_t *selected)
{
	struct parse_context *ctx = p->ctx;
	const struct source_config *src = ctx->src;
	xmlXPathCompExprPtr rx, *fx;
	xmlXPathObjectPtr res = NULL;
	json_t *used = NULL;
	size_t count, k;
	int rc = -1;

	*selected = 0;
	if (!(fx = calloc(src->nfields + 1, sizeof(*fx))))
		return parse_fail(ctx, "out of memory");
	if (!(rx = compile(ctx, xp, xs, "record", src->record)))
		goto out;
	for (k = 0; k < src->nfields; k++) {
		char what[160];

		snprintf(what, sizeof(what), "field.%s", src->fields[k].name);
		if (!(fx[k] = compile(ctx, xp, xs, what, src->fields[k].xpath)))
			goto out;
	}
	if (!(res = eval_nodes(p, xp, rx, xs, "record")))
		goto out;
	if (!(used = json_object())) {
		parse_fail(ctx, "out of memory");
		goto out;
	}
	count = res->nodesetval ? (size_t)res->nodesetval->nodeNr : 0;
	*selected = count;
	rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (ctx->records >= ctx->cfg->parse_max_records) {
			ctx->skipped += count - i;
			break;
		}
		rc = mapped_record(p, f, xp, fx, res->nodesetval->nodeTab[i],
			i + 1, count, used, xs);
	}
out:
	json_decref(used);
	xmlXPathFreeObject(res);
	xmlXPathFreeCompExpr(rx);
	for (k = 0; k < src->nfields; k++)
		xmlXPathFreeCompExpr(fx[k]);
	free(fx);
	return rc;
}

/* ------------------------------------------------------------- follow */

/* Queues each link the follow XPath selects (an attribute's value, or the
 * href or src of an element), once, without its fragment. Links to the
 * page itself, fragments and non-http(s) links are left out. */
static int
follow_links(struct page *p, xmlXPathContextPtr xp, struct xpath_state *xs)
{
	struct parse_context *ctx = p->ctx;
	xmlXPathCompExprPtr fx;
	xmlXPathObjectPtr res = NULL;
	json_t *seen = NULL;
	int rc = -1;

	if (!(fx = compile(ctx, xp, xs, "follow", ctx->src->follow)))
		return -1;
	if (!(res = eval_nodes(p, xp, fx, xs, "follow")))
		goto out;
	if (!(seen = json_object())) {
		parse_fail(ctx, "out of memory");
		goto out;
	}
	rc = 0;
	for (int i = 0; res->nodesetval && i < res->nodesetval->nodeNr &&
	    rc == 0; i++) {
		xmlNode *n = res->nodesetval->nodeTab[i];
		xmlChar *ref = NULL;
		const char *r;
		char *url;

		if (n->type == XML_ELEMENT_NODE) {
			if (!(ref = xmlGetProp(n, (const xmlChar *)"href")))
				ref = xmlGetProp(n, (const xmlChar *)"src");
		} else
			ref = xmlNodeGetContent(n);
		if (!ref)
			continue;
		r = (const char *)ref + strspn((const char *)ref,
		    " \t\n\r\f");
		url = *r != '#' ? page_resolve(p, r) : NULL;
		xmlFree(ref);
		if (!url)
			continue;
		url[strcspn(url, "#")] = '\0';
		if ((!p->url || strcmp(url, p->url) != 0) &&
		    !json_object_get(seen, url)) {
			if (json_object_set_new(seen, url, json_true()) < 0)
				rc = parse_fail(ctx, "out of memory");
			else
				rc = ctx->follow(ctx, url, "follow");
		}
		free(url);
	}
out:
	json_decref(seen);
	xmlXPathFreeObject(res);
	xmlXPathFreeCompExpr(fx);
	return rc;
}

/* -------------------------------------------------------------- parse */

/* Is the capture the source's own page (not a followed one, not
 * redirected)? */
static bool
is_source_page(const struct parse_context *ctx)
{
	char *a, *b;
	bool same;

	if (!ctx->base_url || !ctx->src->url)
		return false;
	a = url_resolve(NULL, ctx->base_url);
	b = url_resolve(NULL, ctx->src->url);
	same = a && b && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

static void
page_free(struct page *p)
{
	free(p->base);
	free(p->url);
	free(p->base_href);
	free(p->html_title);
	free(p->og_title);
	free(p->twitter_title);
	free(p->dc_title);
	free(p->h1);
	free(p->lang);
	free(p->content_language);
	free(p->og_locale);
	free(p->description);
	free(p->og_description);
	free(p->canonical);
	free(p->published);
	free(p->updated);
	json_decref(p->headings);
	json_decref(p->links);
	if (p->doc)
		xmlFreeDoc(p->doc);
}

static int
parse_page(struct page *p)
{
	struct parse_context *ctx = p->ctx;
	const struct source_config *src = ctx->src;
	struct page_facts f = { 0 };
	struct xpath_state *xs = p->errors;
	xmlXPathContextPtr xp = NULL;
	size_t selected = 0;
	bool oom = false;
	int rc = -1;

	page_walk(p);
	if (p->oom)
		return parse_fail(ctx, "out of memory");
	/* The first <base href> that resolves sets the base; a bad one is
	 * ignored, as browsers do. */
	p->url = dup_or_null(ctx->base_url, &oom);
	if (p->base_href)
		p->base = url_resolve(ctx->base_url, p->base_href);
	if (!p->base)
		p->base = dup_or_null(ctx->base_url, &oom);
	if (oom || page_facts(p, &f) < 0) {
		facts_free(&f);
		return oom ? parse_fail(ctx, "out of memory") : -1;
	}
	if (src && (src->record || src->follow)) {
		if (!(xp = xmlXPathNewContext(p->doc))) {
			rc = parse_fail(ctx, "out of memory");
			goto out;
		}
	}
	if (src && src->record)
		rc = map_records(p, &f, xp, xs, &selected);
	else
		rc = page_record(p, &f);
	if (rc == 0 && src && src->follow)
		rc = follow_links(p, xp, xs);
	/* A mapped page lists all its records, so what it no longer lists is
	 * gone; but only when the source is that one page: followed pages
	 * (and a redirect) make the source more than one document. */
	ctx->complete = rc == 0 && src && src->record && selected > 0 &&
	    ctx->skipped == 0 && !src->follow && is_source_page(ctx);
out:
	xmlXPathFreeContext(xp);
	facts_free(&f);
	return rc;
}

static int
parse_html(struct parse_context *ctx, int fd)
{
	struct xpath_state errors = { "" };
	struct page p = { .ctx = ctx, .errors = &errors };
	xmlStructuredErrorFunc saved = xmlStructuredError;
	void *saved_ctx = xmlStructuredErrorContext;
	xmlGenericErrorFunc saved_generic = xmlGenericError;
	void *saved_generic_ctx = xmlGenericErrorContext;
	char *body = NULL, *utf8 = NULL;
	size_t len = 0, ulen = 0;
	int rc;

	ctx->complete = false;
	if (read_body(ctx, fd, &body, &len) < 0)
		return -1;
	rc = decode_body(ctx, body, len, &utf8, &ulen);
	free(body);
	if (rc < 0)
		return parse_fail(ctx, "out of memory");
	if (ulen > INT_MAX) {
		free(utf8);
		return parse_fail(ctx, "the page is too large to parse");
	}
	xmlSetStructuredErrorFunc(&errors, structured_error);
	xmlSetGenericErrorFunc(&errors, generic_error);
	p.doc = parse_document(utf8, ulen);
	free(utf8);
	if (!p.doc)
		rc = parse_fail(ctx, "out of memory");
	else if (!(p.headings = json_array()) || !(p.links = json_array()))
		rc = parse_fail(ctx, "out of memory");
	else
		rc = parse_page(&p);
	page_free(&p);
	xmlSetStructuredErrorFunc(saved_ctx, saved);
	xmlSetGenericErrorFunc(saved_generic_ctx, saved_generic);
	return rc;
}

const struct parser html_parser = { "html", "html", "1", parse_html };
