/* Unit tests of include/robots.h against the rules and examples of
 * RFC 9309. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "robots.h"

static struct robots *
parse(const char *text)
{
	struct robots *r = robots_parse(text, strlen(text), "cybil");

	assert_non_null(r);
	return r;
}

static void
test_star_group_applies_without_own_group(void **state)
{
	struct robots *r = parse("User-agent: *\nDisallow: /private/\n");

	(void)state;
	assert_false(robots_allowed(r, "/private/x.html"));
	assert_false(robots_allowed(r, "/private/"));
	assert_true(robots_allowed(r, "/private"));
	assert_true(robots_allowed(r, "/public/x.html"));
	robots_free(r);
}

static void
test_own_group_wins_over_star(void **state)
{
	struct robots *r = parse("User-agent: *\nDisallow: /\n\n"
		"User-agent: CyBiL/2.0\nDisallow: /tmp/\n");

	(void)state;
	assert_true(robots_allowed(r, "/index.html"));
	assert_false(robots_allowed(r, "/tmp/a"));
	robots_free(r);
}

static void
test_groups_for_same_agent_combine(void **state)
{
	struct robots *r = parse("user-agent: cybil\ndisallow: /a\n"
		"user-agent: other\ndisallow: /b\n\n"
		"USER-AGENT: cybil\nDISALLOW: /c\n");

	(void)state;
	assert_false(robots_allowed(r, "/a"));
	assert_true(robots_allowed(r, "/b"));
	assert_false(robots_allowed(r, "/c/d"));
	robots_free(r);
}

static void
test_consecutive_agents_share_rules(void **state)
{
	struct robots *r = parse("User-agent: foo\nUser-agent: cybil\n"
		"Disallow: /x\n");

	(void)state;
	assert_false(robots_allowed(r, "/x"));
	robots_free(r);
}

static void
test_longest_match_wins_and_allow_wins_ties(void **state)
{
	struct robots *r = parse("User-agent: *\nDisallow: /shop\n"
		"Allow: /shop/public\nAllow: /page\nDisallow: /page\n");

	(void)state;
	assert_false(robots_allowed(r, "/shop/cart"));
	assert_true(robots_allowed(r, "/shop/public/a"));
	assert_true(robots_allowed(r, "/page"));
	robots_free(r);
}

static void
test_wildcards_and_end_anchor(void **state)
{
	struct robots *r = parse("User-agent: *\nDisallow: /*.php$\n"
		"Disallow: /fish*salmon\nDisallow: /*?session=\n");

	(void)state;
	assert_false(robots_allowed(r, "/index.php"));
	assert_false(robots_allowed(r, "/a/b.php"));
	assert_true(robots_allowed(r, "/index.php?x=1"));
	assert_true(robots_allowed(r, "/a.php.bak"));
	assert_false(robots_allowed(r, "/fish/and/salmon"));
	assert_true(robots_allowed(r, "/fish/and/trout"));
	assert_false(robots_allowed(r, "/x?session=1"));
	robots_free(r);
}

static void
test_empty_disallow_and_comments(void **state)
{
	struct robots *r = parse("# hello\nUser-agent: * # all\n"
		"Disallow:\nSitemap: https://e.org/s.xml\n");

	(void)state;
	assert_true(robots_allowed(r, "/anything"));
	robots_free(r);
}

static void
test_crlf_and_rules_before_any_group(void **state)
{
	struct robots *r = parse("Disallow: /early\r\nUser-agent: *\r\n"
		"Disallow: /late\r\n");

	(void)state;
	assert_true(robots_allowed(r, "/early"));
	assert_false(robots_allowed(r, "/late"));
	robots_free(r);
}

static void
test_robots_txt_itself_always_allowed(void **state)
{
	struct robots *r = parse("User-agent: *\nDisallow: /\n");

	(void)state;
	assert_false(robots_allowed(r, "/"));
	assert_true(robots_allowed(r, "/robots.txt"));
	robots_free(r);
}

static void
test_allow_all_and_disallow_all(void **state)
{
	struct robots *yes = robots_allow_all(), *no = robots_disallow_all();

	(void)state;
	assert_true(robots_allowed(yes, "/x"));
	assert_false(robots_allowed(no, "/x"));
	robots_free(yes);
	robots_free(no);
	robots_free(NULL);
}

static void
test_agent_prefix_is_not_a_match(void **state)
{
	struct robots *r = parse("User-agent: cybilbot\nDisallow: /\n");

	(void)state;
	assert_true(robots_allowed(r, "/x"));
	robots_free(r);
}

static void
test_only_first_500k_read(void **state)
{
	size_t pad = ROBOTS_MAX_BYTES;
	const char *rule = "\nUser-agent: *\nDisallow: /\n";
	char *text = malloc(pad + strlen(rule) + 1);
	struct robots *r;

	(void)state;
	assert_non_null(text);
	memset(text, '#', pad);
	strcpy(text + pad, rule);
	r = robots_parse(text, strlen(text), "cybil");
	assert_non_null(r);
	assert_true(robots_allowed(r, "/x"));
	robots_free(r);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_star_group_applies_without_own_group),
		cmocka_unit_test(test_own_group_wins_over_star),
		cmocka_unit_test(test_groups_for_same_agent_combine),
		cmocka_unit_test(test_consecutive_agents_share_rules),
		cmocka_unit_test(test_longest_match_wins_and_allow_wins_ties),
		cmocka_unit_test(test_wildcards_and_end_anchor),
		cmocka_unit_test(test_empty_disallow_and_comments),
		cmocka_unit_test(test_crlf_and_rules_before_any_group),
		cmocka_unit_test(test_robots_txt_itself_always_allowed),
		cmocka_unit_test(test_allow_all_and_disallow_all),
		cmocka_unit_test(test_agent_prefix_is_not_a_match),
		cmocka_unit_test(test_only_first_500k_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
