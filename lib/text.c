#include "text.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define REPLACEMENT 0xFFFD

/* Text the NFC pass is given: enough that its output still holds more
 * than max_bytes (NFC shrinks UTF-8 at most threefold, as with Hangul
 * jamo or U+212A KELVIN SIGN), so a huge hostile field costs neither the
 * 8 bytes per character utf8proc_map needs nor the time. */
#define NFC_INPUT_FACTOR 4
#define NFC_INPUT_SLACK 64

/* Decodes the character at S (N >= 1 bytes) as Unicode's "maximal subpart"
 * practice (and the WHATWG decoder) reads it. Returns the bytes it spans
 * and sets *CP; for ill-formed input *CP is -1 and the span is the
 * maximal subpart, so each such subpart becomes one U+FFFD. */
static size_t
utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len, i;
	int32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xC2 || s[0] > 0xF4) {
		/* A stray continuation byte, an overlong two-byte lead
		 * (C0, C1) or a lead beyond U+10FFFF. */
		*cp = -1;
		return 1;
	}
	if (s[0] < 0xE0) {
		len = 2;
		v = s[0] & 0x1F;
	} else if (s[0] < 0xF0) {
		len = 3;
		v = s[0] & 0x0F;
		if (s[0] == 0xE0)
			lo = 0xA0;	/* overlong */
		else if (s[0] == 0xED)
			hi = 0x9F;	/* surrogates */
	} else {
		len = 4;
		v = s[0] & 0x07;
		if (s[0] == 0xF0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xF4)
			hi = 0x8F;	/* beyond U+10FFFF */
	}
	for (i = 1; i < len; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*cp = -1;
			return i;
		}
		v = (v << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return len;
}

/* Writes CP (a scalar value) at OUT; returns the bytes written. */
static size_t
utf8_encode(int32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

static bool
is_space(int32_t cp)
{
	switch (cp) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85:	/* NEL: a line break, though in the C1 block */
	case 0xA0: case 0x1680: case 0x202F: case 0x205F: case 0x3000:
	case 0x2028: case 0x2029:
		return true;
	default:
		return cp >= 0x2000 && cp <= 0x200A;
	}
}

/* Characters dropped outright: controls carry no text, and U+FEFF inside
 * text is always a stray byte order mark. */
static bool
is_removed(int32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFEFF;
}

static size_t
add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t
mul_sat(size_t a, size_t b)
{
	return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

/* Cuts the valid UTF-8 text S of LEN > MAX bytes to at most MAX bytes at
 * the last grapheme cluster boundary that fits, so "e" never loses its
 * accent nor a flag half of its pair; if not even the first cluster fits
 * (a hostile run of combining marks), at the last character boundary.
 * Returns the new length, without a trailing space. */
static size_t
cut_text(const char *s, size_t len, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t pos = 0, n, best = 0, last_char = 0;
	int32_t prev = -1, cp, state = 0;

	while (pos < len && pos <= max) {
		n = utf8_decode(u + pos, len - pos, &cp);
		if (prev >= 0 && utf8proc_grapheme_break_stateful(prev, cp,
		    &state))
			best = pos;
		last_char = pos;
		prev = cp;
		pos += n;
	}
	/* The loop ends past MAX, or at LEN > MAX: neither is a fit. */
	if (best == 0)
		best = last_char;
	while (best > 0 && s[best - 1] == ' ')
		best--;
	return best;
}

/* The work of text_normalize with its counts returned separately. */
static char *
normalize(const char *s, size_t len, size_t max_bytes, size_t *replaced,
	bool *truncated)
{
	const unsigned char *u = (const unsigned char *)s;
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t nfc_len;
	char *out = NULL, *ret = NULL;
	size_t cap, size, i, n, k, o = 0, len_out;
	bool pending_space = false, full = false;
	int32_t cp, max_cp = 0;

	/* Each byte becomes at most 3 (an invalid byte turns into U+FFFD),
	 * and no more than CAP bytes are needed; 5 for the space and the
	 * character written after the CAP check, 1 for the NUL. */
	cap = add_sat(mul_sat(max_bytes, NFC_INPUT_FACTOR), NFC_INPUT_SLACK);
	if (len > (SIZE_MAX - 6) / 3)
		goto out;
	size = 3 * len < cap ? 3 * len : cap;
	if ((out = malloc(size + 6)) == NULL)
		goto out;

	for (i = 0; i < len; i += n) {
		if (u[i] > ' ' && u[i] < 0x7F) {
			/* Most text is runs of printable ASCII: copy a run
			 * at once. */
			for (n = 1; i + n < len && u[i + n] > ' ' &&
			    u[i + n] < 0x7F; n++)
				;
			if (full || o >= cap) {
				full = true;
				continue;
			}
			if (pending_space) {
				out[o++] = ' ';
				pending_space = false;
			}
			k = n < cap - o ? n : cap - o;
			memcpy(out + o, s + i, k);
			o += k;
			if (k < n)
				full = true;
			continue;
		}
		n = utf8_decode(u + i, len - i, &cp);
		if (cp < 0) {
			cp = REPLACEMENT;
			(*replaced)++;
		}
		if (is_space(cp)) {
			pending_space = o > 0;
			continue;
		}
		if (is_removed(cp))
			continue;
		if (full || o >= cap) {
			/* There is more text than can be kept; the rest is
			 * still read so that every bad byte is counted. */
			full = true;
			continue;
		}
		if (pending_space) {
			out[o++] = ' ';
			pending_space = false;
		}
		o += utf8_encode(cp, out + o);
		if (cp > max_cp)
			max_cp = cp;
	}
	out[o] = '\0';
	if (full)
		*truncated = true;

	/* Nothing below U+0300 composes or reorders: such text is already
	 * NFC, and most text is, so utf8proc is spared. */
	if (max_cp >= 0x300) {
		nfc_len = utf8proc_map((const utf8proc_uint8_t *)out,
		    (utf8proc_ssize_t)o, &nfc,
		    UTF8PROC_COMPOSE | UTF8PROC_STABLE);
		if (nfc_len == UTF8PROC_ERROR_NOMEM)
			goto out;
		/* Any other error (there should be none on repaired text)
		 * leaves the text as it is rather than losing it. */
		if (nfc_len >= 0) {
			free(out);
			out = (char *)nfc;
			o = (size_t)nfc_len;
		}
	}

	len_out = o;
	if (len_out > max_bytes) {
		len_out = cut_text(out, len_out, max_bytes);
		out[len_out] = '\0';
		*truncated = true;
	}
	ret = out;
	out = NULL;
out:
	free(out);
	return ret;
}

char *
text_normalize(const char *s, size_t len, size_t max_bytes,
	struct text_stats *stats)
{
	size_t replaced = 0;
	bool truncated = false;
	char *ret;

	ret = normalize(s, len, max_bytes, &replaced, &truncated);
	if (ret != NULL && stats != NULL) {
		stats->replaced += replaced;
		if (truncated)
			stats->truncated = true;
	}
	return ret;
}

bool
text_is_blank(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, i, n;
	int32_t cp;

	if (s == NULL)
		return true;
	len = strlen(s);
	for (i = 0; i < len; i += n) {
		n = utf8_decode(u + i, len - i, &cp);
		if (cp < 0 || !(is_space(cp) || is_removed(cp)))
			return false;
	}
	return true;
}

/* A growing buffer for the text of an HTML document. */
struct buf {
	char *p;
	size_t len, size;
};

static int
buf_reserve(struct buf *b, size_t more)
{
	size_t size;
	char *p;

	if (more <= b->size - b->len)
		return 0;
	if (b->len > SIZE_MAX / 2 || more > SIZE_MAX / 2 - b->len)
		return -1;
	size = b->size ? b->size : 256;
	while (size - b->len < more)
		size *= 2;
	if ((p = realloc(b->p, size)) == NULL)
		return -1;
	b->p = p;
	b->size = size;
	return 0;
}

static int
buf_space(struct buf *b)
{
	/* One is enough: text_normalize folds the rest. */
	if (b->len > 0 && b->p[b->len - 1] == ' ')
		return 0;
	if (buf_reserve(b, 1) < 0)
		return -1;
	b->p[b->len++] = ' ';
	return 0;
}

/* Windows-1252 for U+0080 to U+009F, as HTML reads &#128; to &#159;;
 * the five holes stay controls (and are removed later). */
static const uint16_t cp1252[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* Appends the text of a text node. libxml2 gives C1 controls for &#128;
 * to &#159; where browsers show Windows-1252 (old feeds write &#146; for
 * an apostrophe), so those are rewritten as the browser would. */
static int
buf_text(struct buf *b, const char *s)
{
	size_t len = strlen(s), i;
	unsigned char c;

	/* Each 2-byte C1 control may grow to 3 bytes. */
	if (buf_reserve(b, len + len / 2 + 1) < 0)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == 0xC2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9F) {
			b->len += utf8_encode(
			    cp1252[(unsigned char)s[i + 1] - 0x80],
			    b->p + b->len);
			i++;
		} else
			b->p[b->len++] = (char)c;
	}
	return 0;
}

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

/* Elements whose content is not text a reader sees (sorted): browsers
 * read iframe, noembed and noframes content as raw text never shown. */
static const char *const hidden_elements[] = {
	"iframe", "noembed", "noframes", "noscript", "script", "style",
	"template",
};

/* Elements that start a new line or cell when rendered, so the words on
 * either side must not run together (sorted). */
static const char *const block_elements[] = {
	"address", "article", "aside", "blockquote", "body", "br", "caption",
	"center", "dd", "details", "dialog", "dir", "div", "dl", "dt",
	"fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
	"h3", "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html",
	"legend", "li", "listing", "main", "menu", "nav", "ol", "optgroup",
	"option", "p", "pre", "section", "summary", "table", "tbody", "td",
	"textarea", "tfoot", "th", "thead", "title", "tr", "ul", "xmp",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool
is_document(const xmlNode *n)
{
	return n->type == XML_HTML_DOCUMENT_NODE ||
	    n->type == XML_DOCUMENT_NODE;
}

/* Appends the text of the tree under DOC in document order. The walk is
 * iterative: a hostile document may nest elements without end. */
static int
collect_text(xmlDoc *doc, struct buf *b)
{
	xmlNode *n = doc->children;
	bool block;

	while (n != NULL) {
		if (n->type == XML_ELEMENT_NODE &&
		    !name_in(n->name, hidden_elements, NELEM(hidden_elements))) {
			block = name_in(n->name, block_elements,
			    NELEM(block_elements));
			if (block && buf_space(b) < 0)
				return -1;
			if (n->children != NULL) {
				n = n->children;
				continue;
			}
		} else if ((n->type == XML_TEXT_NODE ||
		    n->type == XML_CDATA_SECTION_NODE) && n->content != NULL) {
			if (buf_text(b, (const char *)n->content) < 0)
				return -1;
		}
		while (n->next == NULL) {
			n = n->parent;
			if (n == NULL || is_document(n))
				return 0;
			if (name_in(n->name, block_elements,
			    NELEM(block_elements)) && buf_space(b) < 0)
				return -1;
		}
		n = n->next;
	}
	return 0;
}

/* Writes the character CP (-1: ill-formed) spanning N bytes at IN as an
 * XML parser may take it; returns the bytes written at OUT. */
static size_t
repair_char(int32_t cp, const char *in, size_t n, char *out,
	struct text_stats *stats)
{
	if (cp == 0) {
		stats->replaced++;
		return 0;
	}
	if (cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n' &&
	    cp != '\r') || cp == 0xFFFE || cp == 0xFFFF) {
		stats->replaced++;
		return utf8_encode(REPLACEMENT, out);
	}
	memcpy(out, in, n);
	return n;
}

/* True if the N bytes at S begin a character that more bytes could
 * complete: a lead byte whose continuation bytes so far are good. */
static bool
incomplete(const unsigned char *s, size_t n)
{
	int32_t cp;

	return s[0] >= 0xC2 && s[0] <= 0xF4 && utf8_decode(s, n, &cp) == n &&
		cp < 0;
}

size_t
text_repair_chunk(struct text_repair *st, const char *in, size_t len,
	bool last, char *out, struct text_stats *stats)
{
	const unsigned char *u = (const unsigned char *)in;
	struct text_stats ignored = { 0 };
	size_t i = 0, o = 0, n;
	int32_t cp;

	if (!stats)
		stats = &ignored;
	if (st->ncarry > 0) {
		/* The carried bytes are a good prefix: the character ends
		 * within the next three bytes, or is ill-formed there. */
		unsigned char tmp[8];
		size_t take = len < 3 ? len : 3;

		memcpy(tmp, st->carry, st->ncarry);
		memcpy(tmp + st->ncarry, in, take);
		if (!last && incomplete(tmp, st->ncarry + take)) {
			memcpy(st->carry, tmp, st->ncarry + take);
			st->ncarry += take;
			return 0;
		}
		n = utf8_decode(tmp, st->ncarry + take, &cp);
		o += repair_char(cp, (const char *)tmp, n, out, stats);
		i = n - st->ncarry;
		st->ncarry = 0;
	}
	for (; i < len; i += n) {
		n = utf8_decode(u + i, len - i, &cp);
		if (!last && i + n == len && incomplete(u + i, n)) {
			memcpy(st->carry, u + i, n);
			st->ncarry = n;
			break;
		}
		o += repair_char(cp, in + i, n, out + o, stats);
	}
	return o;
}

char *
text_repair_utf8(const char *s, size_t len, size_t *out_len,
	struct text_stats *stats)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, n, o = 0;
	int32_t cp;
	char *out;

	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(3 * len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i += n) {
		n = utf8_decode(u + i, len - i, &cp);
		if (cp < 0) {
			if (stats)
				stats->replaced++;
			o += utf8_encode(REPLACEMENT, out + o);
		} else if (cp != 0) {
			memcpy(out + o, s + i, n);
			o += n;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

char *
text_from_html(const char *html, size_t len, size_t max_bytes,
	struct text_stats *stats)
{
	/* Never NOENT, DTDLOAD or HUGE (SPEC §7); never NOBLANKS either,
	 * which would drop the space in "<b>a</b> <i>b</i>". RECOVER makes
	 * only "</script" end a script, not the "</p>" inside a string. */
	const int options = HTML_PARSE_NONET | HTML_PARSE_NOERROR |
	    HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER | HTML_PARSE_COMPACT;
	struct buf b = { NULL, 0, 0 };
	htmlParserCtxtPtr ctxt = NULL;
	htmlDocPtr doc = NULL;
	size_t replaced = 0, clean_len;
	bool truncated = false;
	char *clean = NULL, *ret = NULL;
	struct text_stats repaired = { 0 };

	if ((clean = text_repair_utf8(html, len, &clean_len, &repaired)) ==
	    NULL)
		goto out;
	replaced = repaired.replaced;
	if (clean_len > INT_MAX) {
		/* libxml2 takes an int: keep what it can read, cut at a
		 * character boundary. */
		clean_len = INT_MAX;
		while (clean_len > 0 &&
		    ((unsigned char)clean[clean_len] & 0xC0) == 0x80)
			clean_len--;
		truncated = true;
	}
	if (clean_len > 0) {
		xmlInitParser();
		if ((ctxt = htmlNewParserCtxt()) == NULL)
			goto out;
		/* An explicit "UTF-8" makes libxml2 ignore <meta charset>
		 * and <?xml encoding?>: the caller has already decoded. */
		doc = htmlCtxtReadMemory(ctxt, clean, (int)clean_len, NULL,
		    "UTF-8", options);
		if (ctxt->errNo == XML_ERR_NO_MEMORY)
			goto out;
		/* The parser halts past 256 open elements (HUGE would lift
		 * that, and is never used): what followed is lost. */
		if (ctxt->disableSAX)
			truncated = true;
		if (doc != NULL && collect_text(doc, &b) < 0)
			goto out;
	}
	ret = normalize(b.p ? b.p : "", b.len, max_bytes, &replaced,
	    &truncated);
	if (ret != NULL && stats != NULL) {
		stats->replaced += replaced;
		if (truncated)
			stats->truncated = true;
	}
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (ctxt != NULL)
		htmlFreeParserCtxt(ctxt);
	free(b.p);
	free(clean);
	return ret;
}
