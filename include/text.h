/* Normalised text for records: valid UTF-8 (ill-formed sequences replaced
 * by U+FFFD and counted), Unicode NFC, control characters removed,
 * whitespace folded, and a byte limit that never splits a character. */
#ifndef CYBIL_TEXT_H
#define CYBIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>	/* SIZE_MAX, for no limit */

/* What normalising had to do. The caller zeroes it; the functions add to
 * it, so one struct can gather the counts of a whole record. */
struct text_stats {
	size_t replaced;	/* U+FFFD put in place of ill-formed UTF-8 */
	bool truncated;		/* content was cut to fit max_bytes */
};

/* Returns a malloc'd NUL-terminated copy of the LEN bytes at S (which may
 * hold NULs and need not be terminated) as normalised text:
 * - each maximal ill-formed subsequence (overlong, surrogate, above
 *   U+10FFFF, truncated, stray continuation byte) becomes one U+FFFD;
 * - NUL, the other C0 controls, DEL, the C1 controls and U+FEFF are
 *   removed;
 * - every run of white space (\t \n \v \f \r, space, U+0085, U+00A0, the
 *   other Unicode Zs characters, U+2028, U+2029) becomes one space, and
 *   none is left at either end;
 * - the result is in Unicode NFC;
 * - at most MAX_BYTES bytes are kept (SIZE_MAX: no limit), cut at a
 *   grapheme cluster boundary where one fits, else at a character
 *   boundary, with no trailing space; stats->truncated is then set.
 * STATS may be NULL. Returns NULL only when out of memory. */
char *text_normalize(const char *s, size_t len, size_t max_bytes,
	struct text_stats *stats);

/* Returns the plain text of the HTML fragment or document HTML (LEN
 * bytes, always read as UTF-8 whatever it declares), normalised as by
 * text_normalize. Text nodes are taken in document order; the contents of
 * script, style, template, noscript, iframe, noembed and noframes are
 * left out, block elements and
 * <br> separate words, entities are decoded, and C1 control characters
 * (&#128; to &#159;) are read as Windows-1252, as browsers do. Nothing is
 * loaded from the network or the file system. Returns NULL only when out
 * of memory. */
char *text_from_html(const char *html, size_t len, size_t max_bytes,
	struct text_stats *stats);

/* Returns a malloc'd NUL-terminated copy of the LEN bytes at S with each
 * maximal ill-formed UTF-8 subsequence replaced by U+FFFD (counted in
 * STATS, which may be NULL) and NULs left out, its length in *OUT_LEN;
 * nothing else changes. NULL when out of memory. */
char *text_repair_utf8(const char *s, size_t len, size_t *out_len,
	struct text_stats *stats);

/* Repairs a UTF-8 stream chunk by chunk for an XML parser: each maximal
 * ill-formed subsequence, and each character XML 1.0 forbids (the C0
 * controls but tab, line feed and carriage return; U+FFFE, U+FFFF),
 * becomes U+FFFD; NUL is dropped; each counts in stats->replaced. A
 * character cut by the end of a chunk waits in the state for the next
 * one; LAST says there is none. Zero the state before the first chunk.
 * OUT must hold TEXT_REPAIR_SIZE(LEN) bytes; returns the bytes written. */
struct text_repair {
	unsigned char carry[4];
	size_t ncarry;
};
#define TEXT_REPAIR_SIZE(len) (3 * ((len) + 4))
size_t text_repair_chunk(struct text_repair *st, const char *in, size_t len,
	bool last, char *out, struct text_stats *stats);

/* True if S is NULL or text_normalize would make it empty: it holds only
 * white space and removed control characters. */
bool text_is_blank(const char *s);

#endif
