#include "sanitize.h"

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/xmlsave.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Deeper subtrees are dropped: libxml2 itself stops nesting at 256
 * without HTML_PARSE_HUGE, so this only bounds the walk. */
#define MAX_DEPTH 512
#define WRAP_OPEN "<html><body>"
#define WRAP_CLOSE "</body></html>"

enum attr_kind { ATTR_TEXT, ATTR_URL, ATTR_HREF, ATTR_NUMBER };

struct allowed_attr {
	const char *name;
	enum attr_kind kind;
};

struct allowed_element {
	const char *name;
	struct allowed_attr attrs[5];
};

/* Sorted by name, for bsearch. */
static const struct allowed_element allowed[] = {
	{ "a", { { "href", ATTR_HREF }, { "title", ATTR_TEXT } } },
	{ "abbr", { { "title", ATTR_TEXT } } },
	{ "b", { { 0 } } },
	{ "blockquote", { { "cite", ATTR_URL } } },
	{ "br", { { 0 } } },
	{ "caption", { { 0 } } },
	{ "cite", { { 0 } } },
	{ "code", { { 0 } } },
	{ "dd", { { 0 } } },
	{ "del", { { 0 } } },
	{ "dfn", { { 0 } } },
	{ "div", { { 0 } } },
	{ "dl", { { 0 } } },
	{ "dt", { { 0 } } },
	{ "em", { { 0 } } },
	{ "figcaption", { { 0 } } },
	{ "figure", { { 0 } } },
	{ "h1", { { 0 } } },
	{ "h2", { { 0 } } },
	{ "h3", { { 0 } } },
	{ "h4", { { 0 } } },
	{ "h5", { { 0 } } },
	{ "h6", { { 0 } } },
	{ "hr", { { 0 } } },
	{ "i", { { 0 } } },
	{ "img", { { "src", ATTR_URL }, { "alt", ATTR_TEXT },
		{ "title", ATTR_TEXT }, { "width", ATTR_NUMBER },
		{ "height", ATTR_NUMBER } } },
	{ "ins", { { 0 } } },
	{ "kbd", { { 0 } } },
	{ "li", { { 0 } } },
	{ "mark", { { 0 } } },
	{ "ol", { { "start", ATTR_NUMBER } } },
	{ "p", { { 0 } } },
	{ "pre", { { 0 } } },
	{ "q", { { "cite", ATTR_URL } } },
	{ "s", { { 0 } } },
	{ "samp", { { 0 } } },
	{ "small", { { 0 } } },
	{ "span", { { 0 } } },
	{ "strong", { { 0 } } },
	{ "sub", { { 0 } } },
	{ "sup", { { 0 } } },
	{ "table", { { 0 } } },
	{ "tbody", { { 0 } } },
	{ "td", { { "colspan", ATTR_NUMBER }, { "rowspan", ATTR_NUMBER } } },
	{ "tfoot", { { 0 } } },
	{ "th", { { "colspan", ATTR_NUMBER }, { "rowspan", ATTR_NUMBER },
		{ "scope", ATTR_TEXT } } },
	{ "thead", { { 0 } } },
	{ "tr", { { 0 } } },
	{ "u", { { 0 } } },
	{ "ul", { { 0 } } },
};

/* Dropped with everything inside: active or embedded content, and what
 * belongs in a head. Sorted. */
static const char *const dropped[] = {
	"applet", "base", "button", "embed", "form", "frame", "frameset",
	"head", "iframe", "input", "link", "math", "meta", "noscript",
	"object", "script", "select", "style", "svg", "template",
	"textarea", "title",
};

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
url_allowed(const char *v, bool mailto)
{
	v += strspn(v, " \t\r\n\f");
	return strncasecmp(v, "http://", 7) == 0 ||
		strncasecmp(v, "https://", 8) == 0 ||
		(mailto && strncasecmp(v, "mailto:", 7) == 0);
}

static bool
value_allowed(enum attr_kind kind, const char *v)
{
	size_t n;

	switch (kind) {
	case ATTR_URL: return url_allowed(v, false);
	case ATTR_HREF: return url_allowed(v, true);
	case ATTR_NUMBER:
		n = strlen(v);
		return n >= 1 && n <= 4 && strspn(v, "0123456789") == n;
	default: return true;
	}
}

static bool
attr_allowed(const struct allowed_element *el, xmlAttrPtr a)
{
	const char *name = (const char *)a->name;
	xmlChar *v;
	bool ok = false;

	if (a->ns)
		return false;
	for (size_t i = 0; i < 5 && el->attrs[i].name; i++) {
		if (strcmp(el->attrs[i].name, name) != 0)
			continue;
		if ((v = xmlNodeGetContent((xmlNodePtr)a))) {
			ok = value_allowed(el->attrs[i].kind, (char *)v);
			xmlFree(v);
		}
		break;
	}
	return ok;
}

static void
remove_node(xmlNodePtr node)
{
	xmlUnlinkNode(node);
	xmlFreeNode(node);
}

/* Keeps the allowed attributes; returns false when an image is left
 * without a source. */
static bool
filter_attrs(const struct allowed_element *el, xmlNodePtr node)
{
	xmlAttrPtr a = node->properties, next;

	for (; a; a = next) {
		next = a->next;
		if (!attr_allowed(el, a))
			xmlRemoveProp(a);
	}
	return strcmp(el->name, "img") != 0 ||
		xmlHasProp(node, (const xmlChar *)"src") != NULL;
}

static void clean_children(xmlNodePtr parent, int depth);

/* Replaces NODE by its (cleaned) children. */
static void
unwrap(xmlNodePtr node, int depth)
{
	xmlNodePtr child, next;

	clean_children(node, depth + 1);
	for (child = node->children; child; child = next) {
		next = child->next;
		xmlUnlinkNode(child);
		if (!xmlAddPrevSibling(node, child))
			xmlFreeNode(child);
	}
	remove_node(node);
}

static void
clean_node(xmlNodePtr node, int depth)
{
	const struct allowed_element *el;
	const char *name = (const char *)node->name;

	if (node->type == XML_TEXT_NODE)
		return;
	if (node->type != XML_ELEMENT_NODE || depth > MAX_DEPTH ||
	    node->ns || is_dropped(name)) {
		remove_node(node);
		return;
	}
	if (!(el = find_allowed(name))) {
		unwrap(node, depth);
		return;
	}
	if (!filter_attrs(el, node)) {
		remove_node(node);
		return;
	}
	clean_children(node, depth + 1);
}

static void
clean_children(xmlNodePtr parent, int depth)
{
	xmlNodePtr child, next;

	for (child = parent->children; child; child = next) {
		next = child->next;
		clean_node(child, depth);
	}
}

static xmlNodePtr
find_body(xmlDocPtr doc)
{
	xmlNodePtr html = xmlDocGetRootElement(doc), n;

	for (n = html ? html->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "body") == 0)
			return n;
	return NULL;
}

/* Moves what libxml2 put after the body (content after a "</body>" or
 * "</html>" in the fragment) back into it, in order. */
static void
gather_into_body(xmlNodePtr body, xmlNodePtr first)
{
	xmlNodePtr n, next;

	for (n = first; n; n = next) {
		next = n->next;
		if (n == body || (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "head") == 0) ||
		    n->type == XML_DTD_NODE)
			continue;
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "html") == 0) {
			gather_into_body(body, n->children);
			continue;
		}
		xmlUnlinkNode(n);
		if (!xmlAddChild(body, n))
			xmlFreeNode(n);
	}
}

static char *
serialise(xmlDocPtr doc, xmlNodePtr body)
{
	/* No encoder: the tree is UTF-8 already, and an encoder would move
	 * the output to a buffer xmlOutputBufferGetContent does not read. */
	xmlOutputBufferPtr out = xmlAllocOutputBuffer(NULL);
	char *text = NULL;

	if (!out)
		return NULL;
	for (xmlNodePtr n = body ? body->children : NULL; n; n = n->next)
		htmlNodeDumpFormatOutput(out, doc, n, "UTF-8", 0);
	if (!out->error)
		text = strndup((const char *)xmlOutputBufferGetContent(out),
			xmlOutputBufferGetSize(out));
	xmlOutputBufferClose(out);
	return text;
}

char *
sanitize_html(const char *html, size_t len)
{
	size_t n = sizeof(WRAP_OPEN) - 1 + len + sizeof(WRAP_CLOSE);
	char *wrapped, *text = NULL;
	htmlParserCtxtPtr ctxt;
	xmlNodePtr body;
	xmlDocPtr doc = NULL;

	if (len > (size_t)INT32_MAX / 2 || !(wrapped = malloc(n)))
		return NULL;
	/* Inside an open body, libxml2 keeps text as text instead of
	 * wrapping it in a <p> of its own. */
	memcpy(wrapped, WRAP_OPEN, sizeof(WRAP_OPEN) - 1);
	memcpy(wrapped + sizeof(WRAP_OPEN) - 1, html, len);
	memcpy(wrapped + sizeof(WRAP_OPEN) - 1 + len, WRAP_CLOSE,
		sizeof(WRAP_CLOSE));
	if (!(ctxt = htmlNewParserCtxt()))
		goto out;
	doc = htmlCtxtReadMemory(ctxt, wrapped, (int)(n - 1), NULL, "UTF-8",
		HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
	htmlFreeParserCtxt(ctxt);
	if (!doc)
		goto out;
	if ((body = find_body(doc))) {
		gather_into_body(body, doc->children);
		clean_children(body, 0);
	}
	text = serialise(doc, body);
out:
	xmlFreeDoc(doc);
	free(wrapped);
	return text;
}
