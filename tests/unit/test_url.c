/* Unit tests of include/url.h: RFC 3986 §5.4 resolution, normalisation,
 * href cleaning, refusal of non-web schemes, and url_host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "url.h"

#define RFC_BASE "http://a/b/c/d;p?q"

static void
resolves(const char *base, const char *ref, const char *want)
{
	char *got;

	got = url_resolve(base, ref);
	if (got == NULL)
		fail_msg("url_resolve(\"%s\", \"%s\") = NULL, want \"%s\"",
		    base ? base : "(null)", ref ? ref : "(null)", want);
	if (strcmp(got, want) != 0)
		fail_msg("url_resolve(\"%s\", \"%s\") = \"%s\", want \"%s\"",
		    base ? base : "(null)", ref, got, want);
	free(got);
}

static void
refused(const char *base, const char *ref)
{
	char *got;

	got = url_resolve(base, ref);
	if (got != NULL)
		fail_msg("url_resolve(\"%s\", \"%s\") = \"%s\", want NULL",
		    base ? base : "(null)", ref ? ref : "(null)", got);
}

static void
test_rfc3986_normal(void **state)
{
	(void)state;
	/* RFC 3986 §5.4.1, with curl's normalisation: an empty path is
	 * "/". "g:h" is not http(s), and an empty reference is refused. */
	refused(RFC_BASE, "g:h");
	resolves(RFC_BASE, "g", "http://a/b/c/g");
	resolves(RFC_BASE, "./g", "http://a/b/c/g");
	resolves(RFC_BASE, "g/", "http://a/b/c/g/");
	resolves(RFC_BASE, "/g", "http://a/g");
	resolves(RFC_BASE, "//g", "http://g/");
	resolves(RFC_BASE, "?y", "http://a/b/c/d;p?y");
	resolves(RFC_BASE, "g?y", "http://a/b/c/g?y");
	resolves(RFC_BASE, "#s", "http://a/b/c/d;p?q#s");
	resolves(RFC_BASE, "g#s", "http://a/b/c/g#s");
	resolves(RFC_BASE, "g?y#s", "http://a/b/c/g?y#s");
	resolves(RFC_BASE, ";x", "http://a/b/c/;x");
	resolves(RFC_BASE, "g;x", "http://a/b/c/g;x");
	resolves(RFC_BASE, "g;x?y#s", "http://a/b/c/g;x?y#s");
	refused(RFC_BASE, "");
	resolves(RFC_BASE, ".", "http://a/b/c/");
	resolves(RFC_BASE, "./", "http://a/b/c/");
	resolves(RFC_BASE, "..", "http://a/b/");
	resolves(RFC_BASE, "../", "http://a/b/");
	resolves(RFC_BASE, "../g", "http://a/b/g");
	resolves(RFC_BASE, "../..", "http://a/");
	resolves(RFC_BASE, "../../", "http://a/");
	resolves(RFC_BASE, "../../g", "http://a/g");
}

static void
test_rfc3986_abnormal(void **state)
{
	(void)state;
	/* RFC 3986 §5.4.2. */
	resolves(RFC_BASE, "../../../g", "http://a/g");
	resolves(RFC_BASE, "../../../../g", "http://a/g");
	resolves(RFC_BASE, "/./g", "http://a/g");
	resolves(RFC_BASE, "/../g", "http://a/g");
	resolves(RFC_BASE, "g.", "http://a/b/c/g.");
	resolves(RFC_BASE, ".g", "http://a/b/c/.g");
	resolves(RFC_BASE, "g..", "http://a/b/c/g..");
	resolves(RFC_BASE, "..g", "http://a/b/c/..g");
	resolves(RFC_BASE, "./../g", "http://a/b/g");
	resolves(RFC_BASE, "./g/.", "http://a/b/c/g/");
	resolves(RFC_BASE, "g/./h", "http://a/b/c/g/h");
	resolves(RFC_BASE, "g/../h", "http://a/b/c/h");
	resolves(RFC_BASE, "g;x=1/./y", "http://a/b/c/g;x=1/y");
	resolves(RFC_BASE, "g;x=1/../y", "http://a/b/c/y");
	resolves(RFC_BASE, "g?y/./x", "http://a/b/c/g?y/./x");
	resolves(RFC_BASE, "g?y/../x", "http://a/b/c/g?y/../x");
	resolves(RFC_BASE, "g#s/./x", "http://a/b/c/g#s/./x");
	resolves(RFC_BASE, "g#s/../x", "http://a/b/c/g#s/../x");
	/* The backward-compatible reading, as browsers have it. */
	resolves(RFC_BASE, "http:g", "http://a/b/c/g");
	resolves(RFC_BASE, "HTTP:g", "http://a/b/c/g");
	resolves(RFC_BASE, "http:/g", "http://a/g");
	resolves(RFC_BASE, "http:?y", "http://a/b/c/d;p?y");
	refused(RFC_BASE, "http:");
	/* Another scheme's "https:g" is absolute, and has no host. */
	refused(RFC_BASE, "https:g");
}

static void
test_fragments_and_queries(void **state)
{
	(void)state;
	/* Only the fragment changes: base path and query stay. */
	resolves("http://a/b/c/d;p?q#old", "#new", "http://a/b/c/d;p?q#new");
	resolves("http://a/b/c/d;p?q#old", "#", "http://a/b/c/d;p?q");
	resolves("http://a/b/c/d;p?q#old", "?y", "http://a/b/c/d;p?y");
	resolves("http://a/b/c/d;p?q#old", "g", "http://a/b/c/g");
	resolves("http://a/b/c/d;p?q", "?", "http://a/b/c/d;p");
	resolves("http://a/b/", "#a b", "http://a/b/#a%20b");
	refused(NULL, "#s");
}

static void
test_base_href(void **state)
{
	char *base;

	(void)state;
	/* A <base href> is itself resolved against the document, then the
	 * links against it. */
	base = url_resolve("https://example.org/dir/page.html", "/sub/");
	assert_non_null(base);
	assert_string_equal(base, "https://example.org/sub/");
	resolves(base, "doc.pdf", "https://example.org/sub/doc.pdf");
	resolves(base, "../up.html", "https://example.org/up.html");
	resolves(base, "//cdn.example.net/x.js", "https://cdn.example.net/x.js");
	free(base);
	base = url_resolve("https://example.org/dir/page.html",
	    "http://other.example/base/");
	assert_non_null(base);
	resolves(base, "x", "http://other.example/base/x");
	free(base);
	/* A base without a trailing slash names a file. */
	resolves("https://example.org/dir", "x", "https://example.org/x");
	resolves("https://example.org", "x", "https://example.org/x");
	resolves("https://example.org/a/b/", "c/../d?e=f#g",
	    "https://example.org/a/b/d?e=f#g");
}

static void
test_protocol_relative(void **state)
{
	(void)state;
	resolves("https://example.org/a", "//Other.Example/x?q#f",
	    "https://other.example/x?q#f");
	resolves("http://example.org/a", "//other.example",
	    "http://other.example/");
	refused(NULL, "//other.example/x");
	refused("not a url", "//other.example/x");
}

static void
test_normalisation(void **state)
{
	(void)state;
	resolves(NULL, "HTTP://EXAMPLE.COM:80/A/./B/../C",
	    "http://example.com/A/C");
	resolves(NULL, "https://Example.COM:443", "https://example.com/");
	resolves(NULL, "https://example.com:8443/x", "https://example.com:8443/x");
	resolves(NULL, "http://example.com:443/", "http://example.com:443/");
	resolves(NULL, "http://example.com", "http://example.com/");
	resolves(NULL, "http://h/a/../../b", "http://h/b");
	resolves(NULL, "http://[FE80::1]:8080/x", "http://[fe80::1]:8080/x");
	resolves(NULL, "http://0x7f.1/", "http://127.0.0.1/");
	resolves(NULL, "http://ex%41mple.com/", "http://example.com/");
	resolves(NULL, "http://user:pw@Example.com/", "http://user:pw@example.com/");
	/* Escapes already there are kept as they are. */
	resolves(NULL, "http://h/%7Efoo?a=%41%zz", "http://h/%7Efoo?a=%41%zz");
	/* The base matters not when the reference is absolute. */
	resolves(RFC_BASE, "https://other.example/x", "https://other.example/x");
	resolves("garbage base", "https://other.example/x",
	    "https://other.example/x");
	resolves("file:///etc/", "https://other.example/x",
	    "https://other.example/x");
}

static void
test_cleaning(void **state)
{
	(void)state;
	resolves(RFC_BASE, "  g  ", "http://a/b/c/g");
	resolves(RFC_BASE, "\n\t http://x.example/a \r\n",
	    "http://x.example/a");
	resolves(RFC_BASE, "a b.pdf", "http://a/b/c/a%20b.pdf");
	resolves(RFC_BASE, "x?q=a b#f g", "http://a/b/c/x?q=a%20b#f%20g");
	resolves(NULL, "http://h/a b?q=a b", "http://h/a%20b?q=a%20b");
	/* An href wrapped over lines loses the line break, not the
	 * indentation (as in browsers). */
	resolves(RFC_BASE, "long/\npath.html", "http://a/b/c/long/path.html");
	resolves(RFC_BASE, "long/\n  path.html",
	    "http://a/b/c/long/%20%20path.html");
	resolves(RFC_BASE, "a\tb\rc", "http://a/b/c/abc");
	/* Non-ASCII and other bytes a URL may not hold. */
	resolves(RFC_BASE, "caf\xc3\xa9.html", "http://a/b/c/caf%C3%A9.html");
	resolves(RFC_BASE, "x?q=\xe2\x82\xac", "http://a/b/c/x?q=%E2%82%AC");
	resolves(RFC_BASE, "<x>\"y\"{|}^`", "http://a/b/c/%3Cx%3E%22y%22%7B%7C%7D%5E%60");
	resolves(RFC_BASE, "a\x01" "b\x7f", "http://a/b/c/a%01b%7F");
	resolves(RFC_BASE, "a\xff", "http://a/b/c/a%FF");
	/* "\" before the query is "/" (as browsers read it); after it, an
	 * escaped byte. */
	resolves(RFC_BASE, "x\\y?a\\b", "http://a/b/c/x/y?a%5Cb");
	resolves(RFC_BASE, "\\\\evil.example\\x", "http://evil.example/x");
	resolves(NULL, "http:\\\\evil.example\\x", "http://evil.example/x");
	/* "\" ends the host as "/" would, so no check can be told one
	 * host while a browser goes to another. */
	resolves(NULL, "http://evil.example\\@good.example/",
	    "http://evil.example/@good.example/");
	/* The host is not escaped: curl judges it. */
	refused(NULL, "http://a b/");
	refused(NULL, "http://h\xc3\xa9\x01/");
}

static void
test_hostile_refused(void **state)
{
	static const char *const refs[] = {
		"javascript:alert(1)", "JaVaScRiPt:alert(1)",
		" javascript:alert(1)", "\x01javascript:alert(1)",
		"java\nscript:alert(1)", "java\tscript:alert(1)",
		"javascript\n:alert(1)", "vbscript:msgbox(1)",
		"data:text/html,<script>alert(1)</script>",
		"data:text/html;base64,PHNjcmlwdD4=", "mailto:a@b.example",
		"file:///etc/passwd", "FILE:///etc/passwd", "file:etc/passwd",
		"ftp://ftp.example/x", "gopher://h/", "ws://h/", "wss://h/",
		"ldap://h/", "dict://h/", "tel:+123", "urn:isbn:1", "about:blank",
		"g:h", "http://", "https://", "http:///", "http://:80/",
		"http://[::1", "http://h:99999/", "http://h:-1/", "http://h:x/",
		"", " ", "\t\n", "\x01\x02",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
		refused(RFC_BASE, refs[i]);
	refused(RFC_BASE, NULL);
	/* A relative reference needs a base that parses. */
	refused(NULL, "g");
	refused("", "g");
	refused("not a url", "g");
	refused("/relative/base", "g");
	/* ... and that is web: relative links in a file: source stay
	 * file: URLs, which are refused. */
	refused("file:///srv/feed.xml", "item.html");
	refused("ftp://ftp.example/dir/", "x");
}

static void
test_idn_left_alone(void **state)
{
	(void)state;
	resolves(NULL, "http://b\xc3\xbc" "cher.example/",
	    "http://b\xc3\xbc" "cher.example/");
	resolves(NULL, "http://xn--bcher-kva.example/",
	    "http://xn--bcher-kva.example/");
	/* Only ASCII letters are lowered. */
	resolves(NULL, "http://B\xc3\x9c" "CHER.example/",
	    "http://b\xc3\x9c" "cher.example/");
}

static void
test_long_input(void **state)
{
	const size_t n = 9 * 1000 * 1000;
	char *ref, *got;
	size_t i;

	(void)state;
	/* Beyond curl's 8 MB: refused, not copied threefold. */
	ref = malloc(n + 1);
	assert_non_null(ref);
	memset(ref, 'a', n);
	ref[n] = '\0';
	assert_null(url_resolve(RFC_BASE, ref));
	/* 100 000 bytes is fine. */
	ref[100000] = '\0';
	got = url_resolve(RFC_BASE, ref);
	assert_non_null(got);
	assert_int_equal(strlen(got), strlen("http://a/b/c/") + 100000);
	free(got);
	/* 50 000 "../" climb no higher than the root. */
	memset(ref, 0, n);
	for (i = 0; i < 50000; i++)
		memcpy(ref + 3 * i, "../", 3);
	memcpy(ref + 150000, "g", 2);
	got = url_resolve(RFC_BASE, ref);
	assert_non_null(got);
	assert_string_equal(got, "http://a/g");
	free(got);
	free(ref);
}

static void
host_is(const char *url, const char *want)
{
	const char *shown = url ? url : "(null)";
	char *got;

	got = url_host(url);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("url_host(\"%s\") = \"%s\", want NULL", shown,
			    got);
		return;
	}
	if (got == NULL)
		fail_msg("url_host(\"%s\") = NULL, want \"%s\"", shown, want);
	if (strcmp(got, want) != 0)
		fail_msg("url_host(\"%s\") = \"%s\", want \"%s\"", shown,
		    got, want);
	free(got);
}

static void
test_host(void **state)
{
	(void)state;
	host_is("http://Example.COM:8080/x", "example.com");
	host_is("https://www.example.org", "www.example.org");
	host_is("  https://user:pw@Host.Example/a b  ", "host.example");
	host_is("https://[::1]/", "[::1]");
	host_is("http://[FE80::1]:80/", "[fe80::1]");
	host_is("http://ex%41mple.com/", "example.com");
	host_is("http://b\xc3\xbc" "cher.example/", "b\xc3\xbc" "cher.example");
	host_is("ftp://Files.Example/x", "files.example");
	host_is("http://good.example@evil.example/", "evil.example");
	host_is("http://good.example:x@evil.example:81/", "evil.example");
	host_is("http://evil.example\\@good.example/", "evil.example");
	host_is("http://evil.example#@good.example/", "evil.example");
	host_is("file:///etc/passwd", NULL);
	host_is("mailto:a@b.example", NULL);
	host_is("javascript:alert(1)", NULL);
	host_is("//host.example/x", NULL);
	host_is("/path/only", NULL);
	host_is("not a url", NULL);
	host_is("http://", NULL);
	host_is("", NULL);
	host_is(NULL, NULL);
}

/* OAI-PMH lists asked for with from or until hold only changes. */
static void
test_query_has(void **state)
{
	(void)state;
	assert_true(url_query_has("http://r.example/oai?verb=ListRecords"
		"&from=2026-01-01", "from"));
	assert_true(url_query_has("http://r.example/oai?from=x", "from"));
	assert_true(url_query_has("http://r.example/oai?from=", "from"));
	assert_false(url_query_has("http://r.example/oai?fromage=1", "from"));
	assert_false(url_query_has("http://r.example/oai?x=from=1", "from"));
	assert_false(url_query_has("http://r.example/oai?verb=x#&from=1",
		"from"));
	assert_false(url_query_has("http://r.example/oai?from", "from"));
	assert_false(url_query_has("http://r.example/from=1", "from"));
	assert_false(url_query_has("http://r.example/oai?", "from"));
	assert_false(url_query_has(NULL, "from"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3986_normal),
		cmocka_unit_test(test_rfc3986_abnormal),
		cmocka_unit_test(test_fragments_and_queries),
		cmocka_unit_test(test_base_href),
		cmocka_unit_test(test_protocol_relative),
		cmocka_unit_test(test_normalisation),
		cmocka_unit_test(test_cleaning),
		cmocka_unit_test(test_hostile_refused),
		cmocka_unit_test(test_idn_left_alone),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_query_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
