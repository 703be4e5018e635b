#include "sanitize.h"

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlIO.h>

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

/* Kept elements nested below the body. libxml2 already stops nesting at
 * 256 without HTML_PARSE_HUGE (never used), so this only bounds the
 * walk; a deeper subtree would be dropped. */
#define MAX_DEPTH 512
/* Digits of width, height, colspan, rowspan and start. */
#define MAX_NUMBER_DIGITS 4
/* Attributes one element may keep. */
#define MAX_ATTRS 5

/* The fragment goes inside an open body, where libxml2 keeps text as
 * text instead of wrapping it in a <p> of its own and nothing is moved
 * to a head. libxml2 has no quirks mode: the doctype only stands in for
 * the HTML 4 one it would add. */
#define WRAP_OPEN "<!DOCTYPE html><html><body>"
#define WRAP_CLOSE "</body></html>"

/* Never NOENT, DTDLOAD or HUGE (SPEC §7), and never NOBLANKS, which
 * would drop the space in "<b>a</b> <i>b</i>". NOERROR and NOWARNING
 * silence the parse errors (libxml2 2.9 ignores a structured handler on
 * an HTML parser context; see quiet_generic for the rest). RECOVER makes
 * only "</script" end a script, as in a browser, not any "</p" inside a
 * string; IGNORE_ENC makes a <meta charset> in the fragment change
 * nothing. */
#define PARSE_OPTIONS (HTML_PARSE_NONET | HTML_PARSE_NOERROR | \
	HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER | HTML_PARSE_IGNORE_ENC)

enum attr_kind {
	ATTR_TEXT,	/* any value */
	ATTR_URL,	/* an absolute http(s) URL */
	ATTR_HREF,	/* the same, or mailto: */
	ATTR_NUMBER,	/* 1 to MAX_NUMBER_DIGITS ASCII digits */
};

struct allowed_attr {
	const char *name;
	enum attr_kind kind;
};

struct allowed_element {
	const char *name;
	struct allowed_attr attrs[MAX_ATTRS];	/* ends at a NULL name */
};

/* Sorted by name, for bsearch. */
static const struct allowed_element allowed[] = {
	{ "a", { { "href", ATTR_HREF }, { "title", ATTR_TEXT } } },
	{ "abbr", { { "title", ATTR_TEXT } } },
	{ "b", { { NULL, ATTR_TEXT } } },
	{ "blockquote", { { "cite", ATTR_URL } } },
	{ "br", { { NULL, ATTR_TEXT } } },
	{ "caption", { { NULL, ATTR_TEXT } } },
	{ "cite", { { NULL, ATTR_TEXT } } },
	{ "code", { { NULL, ATTR_TEXT } } },
	{ "dd", { { NULL, ATTR_TEXT } } },
	{ "del", { { NULL, ATTR_TEXT } } },
	{ "dfn", { { NULL, ATTR_TEXT } } },
	{ "div", { { NULL, ATTR_TEXT } } },
	{ "dl", { { NULL, ATTR_TEXT } } },
	{ "dt", { { NULL, ATTR_TEXT } } },
	{ "em", { { NULL, ATTR_TEXT } } },
	{ "figcaption", { { NULL, ATTR_TEXT } } },
	{ "figure", { { NULL, ATTR_TEXT } } },
	{ "h1", { { NULL, ATTR_TEXT } } },
	{ "h2", { { NULL, ATTR_TEXT } } },
	{ "h3", { { NULL, ATTR_TEXT } } },
	{ "h4", { { NULL, ATTR_TEXT } } },
	{ "h5", { { NULL, ATTR_TEXT } } },
	{ "h6", { { NULL, ATTR_TEXT } } },
	{ "hr", { { NULL, ATTR_TEXT } } },
	{ "i", { { NULL, ATTR_TEXT } } },
	{ "img", { { "src", ATTR_URL }, { "alt", ATTR_TEXT },
		{ "title", ATTR_TEXT }, { "width", ATTR_NUMBER },
		{ "height", ATTR_NUMBER } } },
	{ "ins", { { NULL, ATTR_TEXT } } },
	{ "kbd", { { NULL, ATTR_TEXT } } },
	{ "li", { { NULL, ATTR_TEXT } } },
	{ "mark", { { NULL, ATTR_TEXT } } },
	{ "ol", { { "start", ATTR_NUMBER } } },
	{ "p", { { NULL, ATTR_TEXT } } },
	{ "pre", { { NULL, ATTR_TEXT } } },
	{ "q", { { "cite", ATTR_URL } } },
	{ "s", { { NULL, ATTR_TEXT } } },
	{ "samp", { { NULL, ATTR_TEXT } } },
	{ "small", { { NULL, ATTR_TEXT } } },
	{ "span", { { NULL, ATTR_TEXT } } },
	{ "strong", { { NULL, ATTR_TEXT } } },
	{ "sub", { { NULL, ATTR_TEXT } } },
	{ "sup", { { NULL, ATTR_TEXT } } },
	{ "table", { { NULL, ATTR_TEXT } } },
	{ "tbody", { { NULL, ATTR_TEXT } } },
	{ "td", { { "colspan", ATTR_NUMBER }, { "rowspan", ATTR_NUMBER } } },
	{ "tfoot", { { NULL, ATTR_TEXT } } },
	{ "th", { { "colspan", ATTR_NUMBER }, { "rowspan", ATTR_NUMBER },
		{ "scope", ATTR_TEXT } } },
	{ "thead", { { NULL, ATTR_TEXT } } },
	{ "tr", { { NULL, ATTR_TEXT } } },
	{ "u", { { NULL, ATTR_TEXT } } },
	{ "ul", { { NULL, ATTR_TEXT } } },
};

/* Dropped with everything inside: active or embedded content, forms,
 * foreign (SVG, MathML) content, and what belongs in a head. Sorted.
 * Not embed: it is void, yet libxml2 2.9 nests whatever follows an
 * unclosed one inside it, which a browser shows; left to the walk, the
 * element goes and that content stays, sanitised. */
static const char *const dropped[] = {
	"applet", "base", "button", "form", "frame", "frameset",
	"head", "iframe", "input", "link", "math", "meta", "noscript",
	"object", "script", "select", "style", "svg", "template",
	"textarea", "title",
};

/* What becomes of a node of the parsed tree. */
enum verdict { KEEP, DROP, UNWRAP };

/* libxml2 2.9 reports some errors past NOERROR (out of memory, in its
 * buffers) through the thread's generic handler, and every error to a
 * structured handler if the thread has one: these two take their place
 * while libxml2 works for us. The structured one also notes, in the bool
 * at CTX, the failures of allocation that libxml2 survives. */
static void
quiet_generic(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void
quiet_structured(void *ctx, xmlErrorPtr err)
{
	if (err != NULL && err->code == XML_ERR_NO_MEMORY)
		*(bool *)ctx = true;
}

static int
compare_element(const void *key, const void *elem)
{
	return strcmp(key, ((const struct allowed_element *)elem)->name);
}

static int
compare_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static const struct allowed_element *
find_allowed(const char *name)
{
	return bsearch(name, allowed, sizeof(allowed) / sizeof(allowed[0]),
	    sizeof(allowed[0]), compare_element);
}

static bool
is_dropped(const char *name)
{
	return bsearch(name, dropped, sizeof(dropped) / sizeof(dropped[0]),
	    sizeof(dropped[0]), compare_name) != NULL;
}

static bool
is_html_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* True if V, once trimmed to [*START, *START + *LEN), is an absolute
 * http(s) URL, or a mailto: one when MAILTO. Anything else (javascript:,
 * data:, relative or scheme-relative) is refused. */
static bool
url_allowed(const char *v, bool mailto, size_t *start, size_t *len)
{
	size_t n = strlen(v);

	*start = 0;
	while (*start < n && is_html_space(v[*start]))
		(*start)++;
	while (n > *start && is_html_space(v[n - 1]))
		n--;
	*len = n - *start;
	v += *start;
	return strncasecmp(v, "http://", 7) == 0 ||
	    strncasecmp(v, "https://", 8) == 0 ||
	    (mailto && strncasecmp(v, "mailto:", 7) == 0);
}

static bool
number_allowed(const char *v)
{
	size_t n = strspn(v, "0123456789");

	return n >= 1 && n <= MAX_NUMBER_DIGITS && v[n] == '\0';
}

static const struct allowed_attr *
find_attr(const struct allowed_element *el, const xmlAttr *a)
{
	if (a->ns != NULL)
		return NULL;
	for (size_t i = 0; i < MAX_ATTRS && el->attrs[i].name != NULL; i++)
		if (strcmp(el->attrs[i].name, (const char *)a->name) == 0)
			return &el->attrs[i];
	return NULL;
}

/* Decides whether attribute A of NODE stays, and trims a kept address
 * in place. Returns 1 to keep it, 0 to remove it, -1 when libxml2
 * fails. */
static int
check_attr(const struct allowed_attr *at, xmlNodePtr node, xmlAttrPtr a)
{
	xmlChar *v, *trimmed = NULL;
	size_t start, len;
	int ret = -1;

	if ((v = xmlNodeGetContent((xmlNodePtr)a)) == NULL)
		goto out;
	switch (at->kind) {
	case ATTR_TEXT:
		ret = 1;
		break;
	case ATTR_NUMBER:
		ret = number_allowed((const char *)v);
		break;
	case ATTR_URL:
	case ATTR_HREF:
		if (!url_allowed((const char *)v, at->kind == ATTR_HREF, &start,
		    &len)) {
			ret = 0;
			break;
		}
		if (start == 0 && len == (size_t)xmlStrlen(v)) {
			ret = 1;
			break;
		}
		/* A browser strips the white space too. Left in, libxml2's
		 * serialiser would write a trailing one in href or src as
		 * %20, and any in cite as it is. xmlSetProp reuses A and
		 * takes the value as text, without reading entities. */
		if ((trimmed = xmlStrndup(v + start, (int)len)) == NULL ||
		    xmlSetProp(node, a->name, trimmed) != a ||
		    a->children == NULL)
			goto out;
		ret = 1;
		break;
	}
out:
	xmlFree(trimmed);
	xmlFree(v);
	return ret;
}

/* Removes the attributes EL does not allow from NODE. Returns 1 when
 * NODE stays, 0 when it must go (an image left without a source), -1
 * when libxml2 fails. */
static int
filter_attrs(const struct allowed_element *el, xmlNodePtr node)
{
	const struct allowed_attr *at;
	xmlAttrPtr a, next;
	int keep;

	for (a = node->properties; a != NULL; a = next) {
		next = a->next;
		keep = 0;
		if ((at = find_attr(el, a)) != NULL &&
		    (keep = check_attr(at, node, a)) < 0)
			return -1;
		if (!keep && xmlRemoveProp(a) < 0)
			return -1;
	}
	if (strcmp(el->name, "img") == 0 &&
	    xmlHasProp(node, (const xmlChar *)"src") == NULL)
		return 0;
	return 1;
}

/* Returns the node the walk visits after NODE when it does not go into
 * NODE's children: the next sibling of NODE or of its nearest ancestor
 * below ROOT that has one, NULL at the end. *DEPTH follows the climb. */
static xmlNodePtr
walk_next(xmlNodePtr root, xmlNodePtr node, int *depth)
{
	while (node->next == NULL) {
		node = node->parent;
		if (node == NULL || node == root)
			return NULL;
		(*depth)--;
	}
	return node->next;
}

static void
remove_node(xmlNodePtr node)
{
	xmlUnlinkNode(node);
	xmlFreeNode(node);
}

/* Moves the children of NODE in front of it and removes NODE. Returns
 * the first of them as they now stand (libxml2 may have merged it into
 * a text node before NODE), NULL when NODE had none, or sets *ERR when
 * libxml2 fails. */
static xmlNodePtr
unwrap(xmlNodePtr node, bool *err)
{
	xmlNodePtr child, next, moved, first = NULL;

	for (child = node->children; child != NULL; child = next) {
		next = child->next;
		xmlUnlinkNode(child);
		if ((moved = xmlAddPrevSibling(node, child)) == NULL) {
			xmlFreeNode(child);
			*err = true;
			break;
		}
		if (first == NULL)
			first = moved;
	}
	remove_node(node);
	return first;
}

static enum verdict
judge(xmlNodePtr node, int depth, const struct allowed_element **el)
{
	const char *name = (const char *)node->name;

	*el = NULL;
	if (node->type == XML_TEXT_NODE)
		return KEEP;
	/* Comments, processing instructions and anything but elements. */
	if (node->type != XML_ELEMENT_NODE || node->ns != NULL ||
	    is_dropped(name))
		return DROP;
	if ((*el = find_allowed(name)) == NULL)
		return UNWRAP;
	return depth < MAX_DEPTH ? KEEP : DROP;
}

/* Sanitises the subtree below BODY in place, in document order and
 * without recursion. Returns 0, or -1 when libxml2 fails. */
static int
clean_tree(xmlNodePtr body)
{
	const struct allowed_element *el;
	xmlNodePtr node = body->children, next;
	int depth = 0, keep;
	bool err = false;

	while (node != NULL) {
		switch (judge(node, depth, &el)) {
		case KEEP:
			if (el != NULL &&
			    (keep = filter_attrs(el, node)) <= 0) {
				if (keep < 0)
					return -1;
				next = walk_next(body, node, &depth);
				remove_node(node);
			} else if (el != NULL && node->children != NULL) {
				next = node->children;
				depth++;
			} else {
				next = walk_next(body, node, &depth);
			}
			break;
		case DROP:
			next = walk_next(body, node, &depth);
			remove_node(node);
			break;
		case UNWRAP:
			/* The children take NODE's place and are judged
			 * next, at NODE's depth. */
			if (node->children == NULL) {
				next = walk_next(body, node, &depth);
				remove_node(node);
			} else {
				next = unwrap(node, &err);
			}
			if (err)
				return -1;
			break;
		}
		node = next;
	}
	return 0;
}

/* Gives each element below BODY left without children an empty text
 * child where libxml2's serialiser would otherwise leave out its end tag
 * (as it does for <li>): re-read, "<li>" would take in what follows it.
 * Returns 0, or -1 when libxml2 fails. */
static int
keep_end_tags(xmlNodePtr body)
{
	const htmlElemDesc *desc;
	xmlNodePtr node = body->children, text;
	int depth = 0;

	while (node != NULL) {
		if (node->type == XML_ELEMENT_NODE && node->children != NULL) {
			node = node->children;
			continue;
		}
		if (node->type == XML_ELEMENT_NODE &&
		    (desc = htmlTagLookup(node->name)) != NULL &&
		    !desc->empty && desc->saveEndTag) {
			if ((text = xmlNewDocText(node->doc,
			    (const xmlChar *)"")) == NULL)
				return -1;
			if (xmlAddChild(node, text) == NULL) {
				xmlFreeNode(text);
				return -1;
			}
		}
		node = walk_next(body, node, &depth);
	}
	return 0;
}

static xmlNodePtr
find_body(xmlDocPtr doc)
{
	xmlNodePtr html = xmlDocGetRootElement(doc), n;

	for (n = html != NULL ? html->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "body") == 0)
			return n;
	return NULL;
}

static int
move_into(xmlNodePtr body, xmlNodePtr n)
{
	xmlUnlinkNode(n);
	if (xmlAddChild(body, n) == NULL) {
		xmlFreeNode(n);
		return -1;
	}
	return 0;
}

/* Moves into BODY, in order, what libxml2 put beside it: any head, and
 * whatever followed a "</body>" or "</html>" in the fragment, which
 * lands after the body or in an html element of its own. The walk then
 * judges them like the rest. Returns 0, or -1 when libxml2 fails. */
static int
gather_into_body(xmlDocPtr doc, xmlNodePtr body)
{
	xmlNodePtr d, dnext, c, cnext;

	for (d = doc->children; d != NULL; d = dnext) {
		dnext = d->next;
		if (d->type == XML_DTD_NODE)
			continue;
		if (d->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)d->name, "html") != 0) {
			if (move_into(body, d) < 0)
				return -1;
			continue;
		}
		/* libxml2 opens no html element inside another one. */
		for (c = d->children; c != NULL; c = cnext) {
			cnext = c->next;
			if (c != body && move_into(body, c) < 0)
				return -1;
		}
	}
	return 0;
}

/* Returns the HTML serialisation of BODY's children, an owned string, or
 * NULL when libxml2 fails. */
static char *
serialise(xmlDocPtr doc, xmlNodePtr body)
{
	xmlOutputBufferPtr out;
	const xmlChar *content;
	char *text = NULL;

	/* No encoder: the tree is UTF-8 already, so the bytes are written
	 * as they are (escaped only where HTML needs it), and with one the
	 * output would go to a buffer xmlOutputBufferGetContent does not
	 * read. */
	if ((out = xmlAllocOutputBuffer(NULL)) == NULL)
		return NULL;
	for (xmlNodePtr n = body->children; n != NULL; n = n->next)
		htmlNodeDumpFormatOutput(out, doc, n, "UTF-8", 0);
	/* A failed write leaves its mark in the buffer, whose content is
	 * then NULL. */
	if (out->error == XML_ERR_OK &&
	    (content = xmlOutputBufferGetContent(out)) != NULL)
		text = strndup((const char *)content,
		    xmlOutputBufferGetSize(out));
	if (xmlOutputBufferClose(out) < 0) {
		free(text);
		text = NULL;
	}
	return text;
}

/* Parses the N bytes at WRAPPED, the fragment in its wrapper, and
 * returns the serialisation of its sanitised body, or NULL when libxml2
 * fails. */
static char *
sanitize_wrapped(const char *wrapped, int n)
{
	htmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	char *text = NULL;

	if ((ctxt = htmlNewParserCtxt()) == NULL)
		return NULL;
	/* An explicit "UTF-8": the text is decoded already. The parser
	 * halts past 256 open elements, and what followed is lost: that is
	 * no failure. */
	doc = htmlCtxtReadMemory(ctxt, wrapped, n, NULL, "UTF-8",
	    PARSE_OPTIONS);
	if (doc == NULL || ctxt->errNo == XML_ERR_NO_MEMORY)
		goto out;
	/* No body is not expected, since the wrapper opens one. */
	if ((body = find_body(doc)) == NULL ||
	    gather_into_body(doc, body) < 0 || clean_tree(body) < 0 ||
	    keep_end_tags(body) < 0)
		goto out;
	text = serialise(doc, body);
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	htmlFreeParserCtxt(ctxt);
	return text;
}

char *
sanitize_html(const char *html, size_t len)
{
	const size_t wrap = sizeof(WRAP_OPEN) - 1 + sizeof(WRAP_CLOSE) - 1;
	xmlStructuredErrorFunc saved;
	xmlGenericErrorFunc saved_generic;
	void *saved_ctx, *saved_generic_ctx;
	char *clean = NULL, *wrapped = NULL, *text = NULL;
	size_t clean_len, n;
	bool oom = false;

	/* libxml2 then reads valid UTF-8 only, and the output is valid
	 * UTF-8 too: left alone, it copies a stray byte through. */
	if ((clean = text_repair_utf8(html, len, &clean_len, NULL)) == NULL)
		goto out;
	/* libxml2 takes an int. */
	if (clean_len > (size_t)INT_MAX - wrap)
		goto out;
	n = clean_len + wrap;
	if ((wrapped = malloc(n + 1)) == NULL)
		goto out;
	memcpy(wrapped, WRAP_OPEN, sizeof(WRAP_OPEN) - 1);
	memcpy(wrapped + sizeof(WRAP_OPEN) - 1, clean, clean_len);
	memcpy(wrapped + sizeof(WRAP_OPEN) - 1 + clean_len, WRAP_CLOSE,
	    sizeof(WRAP_CLOSE));

	xmlInitParser();
	saved = xmlStructuredError;
	saved_ctx = xmlStructuredErrorContext;
	saved_generic = xmlGenericError;
	saved_generic_ctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(&oom, quiet_structured);
	xmlSetGenericErrorFunc(NULL, quiet_generic);
	text = sanitize_wrapped(wrapped, (int)n);
	xmlSetStructuredErrorFunc(saved_ctx, saved);
	xmlSetGenericErrorFunc(saved_generic_ctx, saved_generic);
	if (oom) {
		/* Whatever came out may lack a part. */
		free(text);
		text = NULL;
	}
out:
	free(wrapped);
	free(clean);
	return text;
}
