#define _GNU_SOURCE	/* strcasestr */
/* Unit tests of include/sanitize.h: what the allow-list keeps, what it
 * drops with its content, what it unwraps, which addresses survive, and
 * that hostile, broken and deeply nested input gives bounded, clean
 * output; plus every HTML page of the shared corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sanitize.h"

static void
check(const char *in, const char *want)
{
	char *got = sanitize_html(in, strlen(in));

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("sanitize(\"%s\"): got \"%s\", want \"%s\"", in, got,
			want);
	free(got);
}

static void
test_text_is_escaped(void **state)
{
	(void)state;
	check("a < b & c", "a &lt; b &amp; c");
	check("", "");
	check("plain", "plain");
	check("\xC3\xA9 \xE6\xBC\xA2\xE5\xAD\x97", "\xC3\xA9 \xE6\xBC\xA2\xE5\xAD\x97");
}

static void
test_allowed_markup_kept(void **state)
{
	(void)state;
	check("<p>Hi <b>there</b>, <em>you</em></p>",
		"<p>Hi <b>there</b>, <em>you</em></p>");
	check("<ul><li>one</li><li>two</li></ul>",
		"<ul><li>one</li><li>two</li></ul>");
	check("a<br>b", "a<br>b");
	check("<div><p>unclosed", "<div><p>unclosed</p></div>");
	check("<ol start=\"3\"><li>x</li></ol>",
		"<ol start=\"3\"><li>x</li></ol>");
}

static void
test_active_content_dropped(void **state)
{
	(void)state;
	check("<p>a</p><script>alert(1)</script>", "<p>a</p>");
	check("<style>p{}</style>x", "x");
	check("<iframe src=\"http://e/\">in</iframe>y", "y");
	check("<svg><a href=\"http://x/\">no</a></svg>ok", "ok");
	check("<form><input name=a>f</form>g", "g");
	check("<!-- comment -->t", "t");
	check("<title>t</title><meta charset=x>m", "m");
	check("</body><script>x</script><p>after", "<p>after</p>");
}

static void
test_attributes_filtered(void **state)
{
	(void)state;
	check("<p onclick=\"x()\" style=\"color:red\" class=c id=i>p</p>",
		"<p>p</p>");
	check("<a href=\"javascript:alert(1)\">x</a>", "<a>x</a>");
	check("<a href=\"JaVaScRiPt:alert(1)\" title=\"t\">x</a>",
		"<a title=\"t\">x</a>");
	check("<a href=\"data:text/html,x\">x</a>", "<a>x</a>");
	check("<a href=\"/relative\">x</a><a href=\"//host/x\">y</a>",
		"<a>x</a><a>y</a>");
	check("<a href=\" https://e.org/?a=1&b=2\">y</a>",
		"<a href=\"https://e.org/?a=1&amp;b=2\">y</a>");
	check("<a href=\"mailto:a@example.org\">m</a>",
		"<a href=\"mailto:a@example.org\">m</a>");
	check("<img src=\"mailto:a@b\"><img src=\"data:x\">z", "z");
	check("<img src=\"http://e/x.png\" onerror=\"x\" alt=\"a&quot;b\">",
		"<img src=\"http://e/x.png\" alt='a\"b'>");
	check("<td colspan=\"99999\" rowspan=\"2\">c</td>",
		"<td rowspan=\"2\">c</td>");
}

static void
test_unknown_elements_unwrapped(void **state)
{
	(void)state;
	check("<custom>x<em>y</em></custom>", "x<em>y</em>");
	check("<font color=red><b>bold</b></font>", "<b>bold</b>");
	check("<center><script>x</script>c</center>", "c");
}

static void
test_hostile_input_is_bounded(void **state)
{
	size_t depth = 10000, len = depth * 5 + 1;
	char *deep = malloc(len), *got, *again;

	(void)state;
	assert_non_null(deep);
	for (size_t i = 0; i < depth; i++)
		memcpy(deep + 5 * i, "<div>", 5);
	deep[len - 1] = '\0';
	got = sanitize_html(deep, len - 1);
	assert_non_null(got);
	again = sanitize_html(deep, len - 1);
	assert_non_null(again);
	assert_string_equal(got, again);
	free(got);
	free(again);
	free(deep);
	got = sanitize_html("\xff\xfe<p>\x80</p>", 8);
	assert_non_null(got);
	assert_null(strstr(got, "<script"));
	free(got);
	/* A NUL inside the input ends nothing early and breaks nothing. */
	got = sanitize_html("a\0<script>b</script>c", 22);
	assert_non_null(got);
	assert_null(strstr(got, "<script"));
	free(got);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static size_t
sanitize_tree(const char *dir)
{
	char path[4096], *data, *got;
	struct dirent *e;
	size_t n = 0, len;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (l > 5 && (strcasecmp(e->d_name + l - 5, ".html") == 0 ||
		    strcasecmp(e->d_name + l - 4, ".htm") == 0) &&
		    (data = read_file(path, &len))) {
			got = sanitize_html(data, len);
			if (!got)
				fail_msg("%s: sanitize_html failed", path);
			if (strcasestr(got, "<script") ||
			    strcasestr(got, "javascript:") ||
			    strcasestr(got, "onerror=") ||
			    strcasestr(got, "onclick="))
				fail_msg("%s: active content survived", path);
			free(got);
			free(data);
			n++;
		} else {
			n += sanitize_tree(path);
		}
	}
	closedir(d);
	return n;
}

static void
test_corpus_pages(void **state)
{
	const char *corpus = getenv("CYBIL_CORPUS");
	size_t n;

	(void)state;
	if (!corpus)
		corpus = "../shared/corpus";
	if (access(corpus, R_OK) < 0) {
		printf("# %s is absent: corpus pages not sanitised\n", corpus);
		skip();
	}
	n = sanitize_tree(corpus);
	printf("# sanitised %zu HTML files of %s\n", n, corpus);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_is_escaped),
		cmocka_unit_test(test_allowed_markup_kept),
		cmocka_unit_test(test_active_content_dropped),
		cmocka_unit_test(test_attributes_filtered),
		cmocka_unit_test(test_unknown_elements_unwrapped),
		cmocka_unit_test(test_hostile_input_is_bounded),
		cmocka_unit_test(test_corpus_pages),
	};
	int rc;

	xmlInitParser();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rc;
}
