/* Unit tests of include/text.h: UTF-8 repair, control removal, white
 * space folding, NFC, byte limits at grapheme boundaries, the plain text
 * of HTML, and text_is_blank; plus properties over random hostile bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "text.h"

#define NOLIMIT SIZE_MAX

/* Normalises LEN bytes of IN with MAX and checks the text and the stats
 * against what is expected. */
static void
check_len(const char *in, size_t len, size_t max, const char *want,
	size_t want_replaced, bool want_truncated)
{
	struct text_stats st = { 0, false };
	char *got;

	got = text_normalize(in, len, max, &st);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("normalize(\"%s\", max %zu): got \"%s\", want \"%s\"",
		    in, max, got, want);
	if (st.replaced != want_replaced)
		fail_msg("normalize(\"%s\"): replaced %zu, want %zu", in,
		    st.replaced, want_replaced);
	if (st.truncated != want_truncated)
		fail_msg("normalize(\"%s\", max %zu): truncated %d, want %d",
		    in, max, st.truncated, want_truncated);
	free(got);
}

static void
check(const char *in, const char *want, size_t want_replaced)
{
	check_len(in, strlen(in), NOLIMIT, want, want_replaced, false);
}

static void
check_max(const char *in, size_t max, const char *want, bool truncated)
{
	check_len(in, strlen(in), max, want, 0, truncated);
}

static void
test_ascii_unchanged(void **state)
{
	(void)state;
	check("Hello, world.", "Hello, world.", 0);
	check("a", "a", 0);
	check("", "", 0);
	check("~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", 
	    "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", 0);
}

static void
test_whitespace_folded(void **state)
{
	(void)state;
	check("  a  b  ", "a b", 0);
	check("a\t\n\r\f\vb", "a b", 0);
	check("\n\n\na\n\n\n", "a", 0);
	check(" \t ", "", 0);
	/* NBSP, en quad (which NFC would turn into en space), em space,
	 * thin, narrow NBSP, medium math, ideographic space, Ogham space
	 * mark, line and paragraph separators, NEL. */
	check("a\xc2\xa0" "b", "a b", 0);
	check("a\xe2\x80\x80" "b\xe2\x80\x83" "c\xe2\x80\x89" "d", "a b c d",
	    0);
	check("a\xe2\x80\xaf" "b\xe2\x81\x9f" "c\xe3\x80\x80" "d", "a b c d",
	    0);
	check("a\xe1\x9a\x80" "b", "a b", 0);
	check("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xc2\x85" "d", "a b c d", 0);
	check("\xc2\xa0\xe3\x80\x80 a \xc2\xa0", "a", 0);
	/* Not white space: zero width space and joiners are format
	 * characters and stay. */
	check("a\xe2\x80\x8b" "b", "a\xe2\x80\x8b" "b", 0);
}

static void
test_controls_removed(void **state)
{
	(void)state;
	check("a\x01" "b\x1f" "c\x7f" "d", "abcd", 0);
	check("\x1b[31mred\x1b[0m", "[31mred[0m", 0);
	/* C1 controls (U+0080..U+009F, but U+0085 is a line break). */
	check("a\xc2\x80" "b\xc2\x9f" "c\xc2\x92" "d", "abcd", 0);
	/* A byte order mark, at the start or inside. */
	check("\xef\xbb\xbf" "a\xef\xbb\xbf" "b", "ab", 0);
	/* A control between words does not join the spaces around it. */
	check("a \x01 b", "a b", 0);
	/* NULs inside the given length. */
	check_len("a\0b\0\0c", 6, NOLIMIT, "abc", 0, false);
	check_len("\0\0\0", 3, NOLIMIT, "", 0, false);
}

static void
test_length_respected(void **state)
{
	(void)state;
	check_len("abcdef", 3, NOLIMIT, "abc", 0, false);
	check_len("abcdef", 0, NOLIMIT, "", 0, false);
	/* A sequence cut by LEN is truncated input, hence one U+FFFD. */
	check_len("a\xc3\xa9", 2, NOLIMIT, "a\xef\xbf\xbd", 1, false);
}

static void
test_invalid_utf8_replaced(void **state)
{
	(void)state;
	/* Overlong forms of "/" and NUL. */
	check("a\xc0\xaf" "b", "a\xef\xbf\xbd\xef\xbf\xbd" "b", 2);
	check("\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd", 2);
	check("\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3);
	check("\xf0\x80\x80\xaf",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4);
	/* UTF-16 surrogates, alone and as a CESU-8 pair. */
	check("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3);
	check("\xed\xa0\xbd\xed\xb8\x80",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 6);
	/* Beyond U+10FFFF, and lead bytes that can never start one. */
	check("\xf4\x90\x80\x80",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4);
	check("\xf5\xf8\xfc\xfe\xff",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	    5);
	/* Stray continuation bytes. */
	check("\x80\xbf", "\xef\xbf\xbd\xef\xbf\xbd", 2);
	/* Truncated sequences: one U+FFFD per maximal subpart, and the byte
	 * that broke the sequence is read on its own. */
	check("\xe2\x82", "\xef\xbf\xbd", 1);
	check("\xe2\x82" "A", "\xef\xbf\xbd" "A", 1);
	check("\xf0\x9f\x98", "\xef\xbf\xbd", 1);
	check("\xf0\x9f\x98" "\xf0\x9f\x98\x80",
	    "\xef\xbf\xbd\xf0\x9f\x98\x80", 1);
	check("a\xc3", "a\xef\xbf\xbd", 1);
	/* Latin-1 text passed off as UTF-8. */
	check("caf\xe9 cr\xe8me", "caf\xef\xbf\xbd cr\xef\xbf\xbdme", 2);
	/* U+FFFD already in the text is not a replacement. */
	check("\xef\xbf\xbd", "\xef\xbf\xbd", 0);
}

static void
test_valid_boundaries_kept(void **state)
{
	(void)state;
	check("\xc2\xa1", "\xc2\xa1", 0);		/* U+00A1 */
	check("\xdf\xbf", "\xdf\xbf", 0);		/* U+07FF */
	check("\xe0\xa0\x80", "\xe0\xa0\x80", 0);	/* U+0800 */
	check("\xed\x9f\xbf", "\xed\x9f\xbf", 0);	/* U+D7FF */
	check("\xee\x80\x80", "\xee\x80\x80", 0);	/* U+E000 */
	check("\xef\xbf\xbf", "\xef\xbf\xbf", 0);	/* U+FFFF */
	check("\xf0\x90\x80\x80", "\xf0\x90\x80\x80", 0);	/* U+10000 */
	check("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", 0);	/* U+10FFFF */
	/* Unassigned in Unicode 15: kept, and NFC does not fail on it. */
	check("\xf1\x80\x80\x80\xcc\x81", "\xf1\x80\x80\x80\xcc\x81", 0);
	check("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 0);
}

static void
test_nfc(void **state)
{
	(void)state;
	/* e + COMBINING ACUTE -> U+00E9. */
	check("caf" "e\xcc\x81", "caf\xc3\xa9", 0);
	/* Already composed: unchanged. */
	check("caf\xc3\xa9", "caf\xc3\xa9", 0);
	/* Hangul jamo L V T -> one syllable. */
	check("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81", 0);
	/* OHM SIGN -> GREEK CAPITAL OMEGA; KELVIN SIGN -> K. */
	check("\xe2\x84\xa6", "\xce\xa9", 0);
	check("\xe2\x84\xaa", "K", 0);
	/* Canonical ordering: dot below (ccc 220) before dot above (230),
	 * then composition to U+1E69. */
	check("s\xcc\x87\xcc\xa3", "\xe1\xb9\xa9", 0);
	/* A composition exclusion stays decomposed: U+0958. */
	check("\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc", 0);
	/* Compatibility characters are not NFKC-folded. */
	check("\xef\xac\x81", "\xef\xac\x81", 0);	/* fi ligature */
	/* A removed control no longer separates a mark from its base. */
	check("e\x01\xcc\x81", "\xc3\xa9", 0);
	/* A mark after a folded space stays a lone mark. */
	check("a \xcc\x81", "a \xcc\x81", 0);
}

static void
test_truncation(void **state)
{
	(void)state;
	check_max("abc", 3, "abc", false);
	check_max("abcd", 3, "abc", true);
	check_max("abc", 0, "", true);
	check_max("", 0, "", false);
	check_max("   ", 0, "", false);
	/* Exactly at the limit after folding. */
	check_max("  a   b  ", 3, "a b", false);
}

/* Runs IN through normalize with MAX and checks only the text and the
 * truncation flag. */
static void
check_cut(const char *in, size_t max, const char *want)
{
	check_len(in, strlen(in), max, want, 0, true);
}

static void
test_truncation_boundaries(void **state)
{
	(void)state;
	check_cut("abcd", 0, "");
	/* Never half of a character: é is 2 bytes, € 3, 😀 4. */
	check_cut("a\xc3\xa9", 2, "a");
	check_cut("a\xe2\x82\xac", 3, "a");
	check_cut("a\xf0\x9f\x98\x80", 4, "a");
	check_cut("\xf0\x9f\x98\x80", 3, "");
	check_len("a\xf0\x9f\x98\x80", 5, 5, "a\xf0\x9f\x98\x80", 0, false);
	/* No trailing space after the cut. */
	check_cut("abc def", 4, "abc");
	check_cut("abc def", 5, "abc d");
	/* A base stays with its combining marks (q + acute has no
	 * precomposed form). */
	check_cut("aq\xcc\x81", 3, "a");
	check_cut("aq\xcc\x81" "b", 4, "aq\xcc\x81");
	/* A flag is a pair of regional indicators: never half of one. */
	check_cut("\xf0\x9f\x87\xab\xf0\x9f\x87\xb7\xf0\x9f\x87\xa9"
	    "\xf0\x9f\x87\xaa", 12, "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7");
	/* An emoji ZWJ sequence (woman, ZWJ, laptop) is one cluster. */
	check_cut("x\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 10, "x");
	/* A first cluster longer than the limit: cut at a character. */
	check_cut("q\xcc\x81\xcc\x81\xcc\x81\xcc\x81", 4, "q\xcc\x81");
}

static void
test_truncation_ignores_trailing_blanks(void **state)
{
	(void)state;
	/* What lies past the limit is only white space or controls: the
	 * text is whole. */
	check_max("abc     ", 3, "abc", false);
	check_max("abc\x01\x02\x7f", 3, "abc", false);
	check_max("  abc  ", 3, "abc", false);
	/* A decomposed é counts as the 2 bytes NFC makes of it. */
	check_max("e\xcc\x81", 2, "\xc3\xa9", false);
}

static void
test_stats_accumulate(void **state)
{
	struct text_stats st = { 0, false };
	char *s;

	(void)state;
	s = text_normalize("\xff", 1, NOLIMIT, &st);
	assert_non_null(s);
	free(s);
	s = text_normalize("\xff\xfe", 2, NOLIMIT, &st);
	assert_non_null(s);
	free(s);
	assert_int_equal(st.replaced, 3);
	assert_false(st.truncated);
	s = text_normalize("abcdef", 6, 2, &st);
	assert_non_null(s);
	free(s);
	assert_true(st.truncated);
	/* A later call that needs no cut leaves the flag set. */
	s = text_normalize("ab", 2, 2, &st);
	assert_non_null(s);
	free(s);
	assert_true(st.truncated);
	assert_int_equal(st.replaced, 3);
	/* STATS may be NULL. */
	s = text_normalize("\xff x", 3, 1, NULL);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static char *
repeat(const char *unit, size_t times, size_t *len)
{
	size_t n = strlen(unit), i;
	char *p;

	p = malloc(n * times + 1);
	assert_non_null(p);
	for (i = 0; i < times; i++)
		memcpy(p + i * n, unit, n);
	p[n * times] = '\0';
	*len = n * times;
	return p;
}

static void
test_huge_hostile_inputs(void **state)
{
	struct text_stats st;
	size_t len, i;
	char *in, *out;

	(void)state;
	/* 8 MB of combining marks with a small limit: cut at a character,
	 * valid, within the limit. */
	in = repeat("\xcc\x81", 4 * 1024 * 1024, &len);
	memset(&st, 0, sizeof(st));
	out = text_normalize(in, len, 100, &st);
	assert_non_null(out);
	assert_true(strlen(out) <= 100);
	assert_true(strlen(out) >= 98);
	assert_true(st.truncated);
	for (i = 0; out[i] != '\0'; i += 2)
		assert_memory_equal(out + i, "\xcc\x81", 2);
	free(out);
	free(in);

	/* 8 MB of bad bytes: every one counted, though few are kept. */
	in = repeat("\xff", 8 * 1024 * 1024, &len);
	memset(&st, 0, sizeof(st));
	out = text_normalize(in, len, 10, &st);
	assert_non_null(out);
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(st.replaced, 8 * 1024 * 1024);
	assert_true(st.truncated);
	free(out);
	free(in);

	/* 4 MB of white space before one word. */
	in = repeat(" \t\xc2\xa0\n", 1024 * 1024, &len);
	in[len - 1] = 'x';
	memset(&st, 0, sizeof(st));
	out = text_normalize(in, len, 10, &st);
	assert_non_null(out);
	assert_string_equal(out, "x");
	assert_false(st.truncated);
	free(out);
	free(in);

	/* Without a limit, 6 MB of decomposed text comes back whole, in
	 * NFC. */
	in = repeat("e\xcc\x81 ", 2 * 1024 * 1024, &len);
	memset(&st, 0, sizeof(st));
	out = text_normalize(in, len, NOLIMIT, &st);
	assert_non_null(out);
	assert_int_equal(strlen(out), 3 * 2 * 1024 * 1024 - 1);
	assert_memory_equal(out, "\xc3\xa9 \xc3\xa9 ", 6);
	assert_false(st.truncated);
	free(out);
	free(in);
}

static void
test_is_blank(void **state)
{
	(void)state;
	assert_true(text_is_blank(NULL));
	assert_true(text_is_blank(""));
	assert_true(text_is_blank(" \t\r\n\f\v"));
	assert_true(text_is_blank("\xc2\xa0\xe3\x80\x80\xe2\x80\xa8"));
	assert_true(text_is_blank("\x01\x7f\xc2\x80\xef\xbb\xbf"));
	assert_false(text_is_blank("a"));
	assert_false(text_is_blank("  .  "));
	assert_false(text_is_blank("\xcc\x81"));
	/* A bad byte becomes U+FFFD, which is text. */
	assert_false(text_is_blank(" \xff "));
	assert_false(text_is_blank("\xe2\x80\x8b"));	/* ZWSP */
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Pieces of hostile text: bytes and sequences that exercise every path. */
static const char *const pieces[] = {
	"a", "Z", "0", " ", "  ", "\t", "\n", "\r\n", "\x01", "\x7f", "\0",
	"\x80", "\xbf", "\xc0", "\xc1\x81", "\xc2", "\xc3\xa9", "\xe2\x82",
	"\xe2\x82\xac", "\xed\xa0\x80", "\xef\xbb\xbf", "\xef\xbf\xbd",
	"\xf0\x9f\x98\x80", "\xf0\x9f", "\xf4\x90\x80\x80", "\xff",
	"\xcc\x81", "\xcc\xa3", "\xcc\x87", "e\xcc\x81", "\xc2\xa0",
	"\xc2\x85", "\xc2\x92", "\xe2\x80\xa8", "\xe3\x80\x80", "\xe1\x84\x80",
	"\xe1\x85\xa1", "\xe1\x86\xa8", "\xe2\x84\xa6", "\xe0\xa5\x98",
	"\xf0\x9f\x87\xab", "\xe2\x80\x8d", "\xf0\x9f\x91\xa9", "\xea\xb0\x81",
};

#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

static size_t
piece_len(const char *p)
{
	/* "\0" is the one piece whose length strlen cannot tell. */
	return *p == '\0' ? 1 : strlen(p);
}

static size_t
random_text(char *buf, size_t size)
{
	size_t n = 0, k, parts = rng() % 40, len;

	for (k = 0; k < parts; k++) {
		const char *p = pieces[rng() % NPIECES];

		len = piece_len(p);
		if (n + len >= size)
			break;
		memcpy(buf + n, p, len);
		n += len;
	}
	buf[n] = '\0';
	return n;
}

/* Checks that S is normalised text: valid UTF-8 without controls, U+FEFF
 * or white space other than single inner spaces, and in NFC. */
static void
assert_normalised(const char *s)
{
	const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t n, len = (utf8proc_ssize_t)strlen(s);
	utf8proc_int32_t cp;
	utf8proc_uint8_t *nfc;
	utf8proc_ssize_t i;

	assert_true(len == 0 || (s[0] != ' ' && s[len - 1] != ' '));
	assert_null(strstr(s, "  "));
	for (i = 0; i < len; i += n) {
		n = utf8proc_iterate(u + i, len - i, &cp);
		if (n <= 0)
			fail_msg("invalid UTF-8 at %zd in \"%s\"", (ssize_t)i, s);
		assert_false(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    cp == 0xFEFF || cp == 0xA0 || cp == 0x3000 ||
		    cp == 0x2028);
	}
	nfc = utf8proc_NFC(u);
	assert_non_null(nfc);
	if (strcmp((const char *)nfc, s) != 0)
		fail_msg("not NFC: \"%s\"", s);
	free(nfc);
}

static void
test_properties_random(void **state)
{
	struct text_stats st_full, st_cut, st_again;
	char buf[256], *full, *cut, *again;
	size_t len, max, iter;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		len = random_text(buf, sizeof(buf));
		max = rng() % 48;

		memset(&st_full, 0, sizeof(st_full));
		full = text_normalize(buf, len, NOLIMIT, &st_full);
		assert_non_null(full);
		assert_normalised(full);
		assert_false(st_full.truncated);
		if (memchr(buf, '\0', len) == NULL)
			assert_int_equal(text_is_blank(buf), full[0] == '\0');

		memset(&st_cut, 0, sizeof(st_cut));
		cut = text_normalize(buf, len, max, &st_cut);
		assert_non_null(cut);
		assert_normalised(cut);
		assert_true(strlen(cut) <= max);
		assert_int_equal(st_cut.replaced, st_full.replaced);
		/* Cut exactly when the whole did not fit, and then to a
		 * prefix of it. */
		assert_int_equal(st_cut.truncated, strlen(full) > max);
		assert_memory_equal(cut, full, strlen(cut));

		/* Idempotent. */
		memset(&st_again, 0, sizeof(st_again));
		again = text_normalize(full, strlen(full), NOLIMIT, &st_again);
		assert_non_null(again);
		assert_string_equal(again, full);
		assert_int_equal(st_again.replaced, 0);

		free(again);
		free(cut);
		free(full);
	}
}

/* text_from_html */

static void
check_html_len(const char *html, size_t len, size_t max, const char *want,
	size_t want_replaced, bool want_truncated)
{
	struct text_stats st = { 0, false };
	char *got;

	got = text_from_html(html, len, max, &st);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("html(\"%s\"): got \"%s\", want \"%s\"", html, got,
		    want);
	if (st.replaced != want_replaced)
		fail_msg("html(\"%s\"): replaced %zu, want %zu", html,
		    st.replaced, want_replaced);
	if (st.truncated != want_truncated)
		fail_msg("html(\"%s\"): truncated %d, want %d", html,
		    st.truncated, want_truncated);
	free(got);
}

static void
check_html(const char *html, const char *want)
{
	check_html_len(html, strlen(html), NOLIMIT, want, 0, false);
}

static void
test_html_plain_fragments(void **state)
{
	(void)state;
	check_html("hello", "hello");
	check_html("  hello   world  ", "hello world");
	check_html("", "");
	check_html("   \n ", "");
	check_html("<p></p>", "");
	check_html("<b>bold</b> and <i>italic</i>", "bold and italic");
	/* Inline elements do not separate words, blanks between them are
	 * kept (no HTML_PARSE_NOBLANKS). */
	check_html("<b>foo</b>bar", "foobar");
	check_html("<b>foo</b> <i>bar</i>", "foo bar");
	check_html("un<span>break</span>able", "unbreakable");
	/* Attributes are not text. */
	check_html("<a href=\"x\" title=\"tip\">link</a>", "link");
	check_html("<img src=x alt=\"alt text\" onerror=alert(1)>", "");
}

static void
test_html_blocks_separate_words(void **state)
{
	(void)state;
	check_html("<p>one</p><p>two</p>", "one two");
	check_html("a<br>b<br/>c", "a b c");
	check_html("<div>a</div><div>b</div>c", "a b c");
	check_html("<ul><li>x</li><li>y</li></ul>", "x y");
	check_html("<h1>Title</h1>Body", "Title Body");
	check_html("<table><tr><td>1</td><td>2</td></tr><tr><th>3</th>"
	    "</tr></table>", "1 2 3");
	check_html("<dl><dt>term</dt><dd>def</dd></dl>", "term def");
	check_html("x<hr>y", "x y");
	check_html("<blockquote>q</blockquote>after", "q after");
}

static void
test_html_hidden_content(void **state)
{
	(void)state;
	check_html("<script>alert('x')</script>shown", "shown");
	check_html("<p>a<script>document.write('</p>')</script>b</p>", "ab");
	check_html("<style>p { color: red }</style>text", "text");
	check_html("<template><p>tpl</p></template>vis", "vis");
	check_html("<noscript>ns</noscript>vis", "vis");
	check_html("<p>x<!-- a comment -->y</p>", "xy");
	check_html("<SCRIPT>upper</SCRIPT>ok", "ok");
	check_html("<iframe>fallback</iframe><noembed>ne</noembed>"
	    "<noframes>nf</noframes>seen", "seen");
	/* textarea and xmp content is shown. */
	check_html("<textarea>typed</textarea><xmp>x</xmp>", "typed x");
	check_html("<div><script>var a = '<b>x</b>';</script>body</div>",
	    "body");
}

static void
test_html_entities(void **state)
{
	(void)state;
	check_html("caf&eacute; &amp; cr&egrave;me", "caf\xc3\xa9 & cr\xc3\xa8me");
	check_html("a&nbsp;b&nbsp;&nbsp;c", "a b c");
	check_html("&lt;p&gt; is a tag", "<p> is a tag");
	check_html("&#x1F600;&#233;", "\xf0\x9f\x98\x80\xc3\xa9");
	/* Unknown entities stay as written; &#0; and surrogates vanish. */
	check_html("&bogus; x", "&bogus; x");
	check_html("a&#0;b&#xD800;c", "abc");
	/* &#128;..&#159; are Windows-1252 in HTML: &#146; is an apostrophe,
	 * &#128; the euro sign; the holes (&#129;) are controls. */
	check_html("don&#146;t pay &#128;5&#129;", "don\xe2\x80\x99t pay "
	    "\xe2\x82\xac" "5");
	/* A decomposed accent from an entity is composed. */
	check_html("e&#x301;", "\xc3\xa9");
}

static void
test_html_encoding_declarations_ignored(void **state)
{
	(void)state;
	/* The text is UTF-8 whatever the fragment declares. */
	check_html("<meta charset=\"iso-8859-1\"><p>caf\xc3\xa9</p>",
	    "caf\xc3\xa9");
	check_html("<html><head><meta http-equiv=\"Content-Type\" "
	    "content=\"text/html; charset=windows-1252\"></head><body>"
	    "<p>caf\xc3\xa9 \xe2\x82\xac</p></body></html>",
	    "caf\xc3\xa9 \xe2\x82\xac");
	check_html("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	    "<p>caf\xc3\xa9</p>", "caf\xc3\xa9");
	check_html("<meta charset=\"utf-16\">\xc3\xa9t\xc3\xa9",
	    "\xc3\xa9t\xc3\xa9");
}

static void
test_html_bad_bytes(void **state)
{
	(void)state;
	/* A bad byte is replaced and counted, and what follows it is still
	 * read as UTF-8 (libxml2 would switch to Latin-1). */
	check_html_len("<p>a\xff" "b caf\xc3\xa9</p>", 16, NOLIMIT,
	    "a\xef\xbf\xbd" "b caf\xc3\xa9", 1, false);
	/* (The text before <p> is a paragraph of its own.) */
	check_html_len("\xfe\xff<p>x</p>", 10, NOLIMIT,
	    "\xef\xbf\xbd\xef\xbf\xbd x", 2, false);
	/* NULs do not end the document. */
	check_html_len("<p>a\0b</p><p>c</p>", 18, NOLIMIT, "ab c", 0, false);
	check_html_len("<p>abc</p>", 5, NOLIMIT, "ab", 0, false);
}

static void
test_html_broken_markup(void **state)
{
	(void)state;
	check_html("<p>unclosed <b>bold <i>both", "unclosed bold both");
	check_html("</p></div>stray closers", "stray closers");
	check_html("a < b > c", "a < b > c");
	check_html("I <3 you, 1<2 and a <= b", "I <3 you, 1<2 and a <= b");
	check_html("<p attr=\"unterminated>text</p>", "");
	check_html("a</body></html>b", "a b");
	check_html("<title>T</title>body", "T body");
}

static char *
html(const char *s)
{
	char *t;

	t = text_from_html(s, strlen(s), NOLIMIT, NULL);
	assert_non_null(t);
	return t;
}

static void
test_html_no_external_entities(void **state)
{
	char *s;

	(void)state;
	/* The HTML parser reads no DTD: no entity is declared, none
	 * expands, no file is read. */
	s = html("<!DOCTYPE html [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<p>&x;</p>");
	assert_null(strstr(s, "root:"));
	free(s);
	s = html("<!DOCTYPE html SYSTEM \"file:///etc/passwd\"><p>y</p>");
	assert_string_equal(s, "y");
	free(s);
	s = html("<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><p>&b;</p>");
	assert_null(strstr(s, "aaaaaaaaaa"));
	free(s);
	s = html("<p>&xxe;</p>");
	assert_string_equal(s, "&xxe;");
	free(s);
}

static void
test_html_truncation(void **state)
{
	(void)state;
	check_html_len("<p>one two</p><p>three</p>", 26, 8, "one two", 0,
	    true);
	check_html_len("<p>one two</p><p>three</p>", 26, 9, "one two t", 0,
	    true);
	check_html_len("<p>caf&eacute;</p>", 18, 4, "caf", 0, true);
	check_html_len("<p>abc</p>   ", 13, 3, "abc", 0, false);
}

/* Returns "BEFORE" + DEPTH times OPEN + "AFTER", malloc'd. */
static char *
nested(const char *before, const char *open, size_t depth, const char *after)
{
	size_t nb = strlen(before), no = strlen(open), na = strlen(after), i;
	char *s, *p;

	s = malloc(nb + no * depth + na + 1);
	assert_non_null(s);
	memcpy(s, before, nb);
	for (p = s + nb, i = 0; i < depth; i++, p += no)
		memcpy(p, open, no);
	memcpy(p, after, na + 1);
	return s;
}

static void
test_html_deep_nesting(void **state)
{
	char *s;

	(void)state;
	/* Deep, but within libxml2's 256 levels. */
	s = nested("", "<div>", 200, "x");
	check_html(s, "x");
	free(s);
	s = nested("", "<b>", 250, "deep");
	check_html(s, "deep");
	free(s);
	/* Beyond them libxml2 2.9.14 stops parsing (only HUGE would lift
	 * the limit): what came before is kept, the rest is reported as
	 * truncated, and nothing recurses on the 100000 levels. */
	s = nested("before", "<div>", 100000, "x");
	check_html_len(s, strlen(s), NOLIMIT, "before", 0, true);
	free(s);
	s = nested("<p>a</p>", "<span>", 300, "lost</span>");
	check_html_len(s, strlen(s), NOLIMIT, "a", 0, true);
	free(s);
}

static void
test_html_quiet(void **state)
{
	static const char *const bad[] = {
		"<p><b><i>mis</b>nested</i>", "<!DOCTYPE", "<?xml", "&#xFFFFFFFF;",
		"<a href='", "<unknown-element>x</unknown-element>", "\xff\xfe",
		"<table><td><tr>x</table>", "<![CDATA[x]]>",
	};
	char path[] = "/tmp/test_text.XXXXXX";
	int fd, saved;
	size_t i;
	off_t size;
	char *s, *deep;

	(void)state;
	/* libxml2 reports nothing on stderr with NOERROR and NOWARNING: a
	 * cron run (-q) must stay silent. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = text_from_html(bad[i], strlen(bad[i]), NOLIMIT, NULL);
		assert_non_null(s);
		free(s);
	}
	deep = nested("", "<div>", 1000, "x");
	s = text_from_html(deep, strlen(deep), NOLIMIT, NULL);
	assert_non_null(s);
	free(s);
	free(deep);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	assert_int_equal(size, 0);
}

/* repair_in_chunks: IN repaired in chunks of STEP bytes, NUL-terminated
 * in OUT (large enough); returns the count of replacements. */
static size_t
repair_in_chunks(const char *in, size_t step, char *out)
{
	struct text_repair st = { .ncarry = 0 };
	struct text_stats stats = { 0 };
	size_t len = strlen(in), o = 0, i;

	for (i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;

		o += text_repair_chunk(&st, in + i, n, false, out + o, &stats);
	}
	o += text_repair_chunk(&st, "", 0, true, out + o, &stats);
	out[o] = '\0';
	return stats.replaced;
}

/* A stream is repaired alike however it is cut into chunks. */
static void
test_repair_stream(void **state)
{
	static const struct {
		const char *in, *out;
		size_t replaced;
	} cases[] = {
		{ "plain <a>text</a>\n\t\r", "plain <a>text</a>\n\t\r", 0 },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0 },
		{ "a\xff" "b", "a\xef\xbf\xbd" "b", 1 },
		{ "a\x0b" "b\x01", "a\xef\xbf\xbd" "b\xef\xbf\xbd", 2 },
		{ "\xe2\x82", "\xef\xbf\xbd", 1 },	/* cut at the end */
		{ "\xe2\x82x", "\xef\xbf\xbdx", 1 },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
		  3 },					/* a surrogate */
		{ "\xef\xbf\xbe.", "\xef\xbf\xbd.", 1 },	/* U+FFFE */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", 2 },
	};
	char out[256];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t step = 1; step <= 5; step++) {
			size_t replaced = repair_in_chunks(cases[c].in, step,
				out);

			if (strcmp(out, cases[c].out) != 0 ||
			    replaced != cases[c].replaced)
				fail_msg("case %zu, chunks of %zu: got \"%s\""
					" (%zu replaced)", c, step, out,
					replaced);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_unchanged),
		cmocka_unit_test(test_whitespace_folded),
		cmocka_unit_test(test_controls_removed),
		cmocka_unit_test(test_length_respected),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_valid_boundaries_kept),
		cmocka_unit_test(test_nfc),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_truncation_boundaries),
		cmocka_unit_test(test_truncation_ignores_trailing_blanks),
		cmocka_unit_test(test_stats_accumulate),
		cmocka_unit_test(test_huge_hostile_inputs),
		cmocka_unit_test(test_is_blank),
		cmocka_unit_test(test_properties_random),
		cmocka_unit_test(test_html_plain_fragments),
		cmocka_unit_test(test_html_blocks_separate_words),
		cmocka_unit_test(test_html_hidden_content),
		cmocka_unit_test(test_html_entities),
		cmocka_unit_test(test_html_encoding_declarations_ignored),
		cmocka_unit_test(test_html_bad_bytes),
		cmocka_unit_test(test_html_broken_markup),
		cmocka_unit_test(test_html_no_external_entities),
		cmocka_unit_test(test_html_truncation),
		cmocka_unit_test(test_html_deep_nesting),
		cmocka_unit_test(test_html_quiet),
		cmocka_unit_test(test_repair_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
