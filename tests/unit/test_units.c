/* Unit tests of include/units.h: sizes, durations, shares, booleans,
 * bounded integers and units_format_duration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "units.h"

#define NO_MAX UINT64_MAX
#define SECONDS_MAX INT64_MAX

/* Parses S as a size in [min, max]; returns the value, failing the test if
 * it is refused. */
static uint64_t
size_ok(const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = 12345;
	const char *why = NULL;

	if (units_parse_size(s, min, max, &v, &why) != 0)
		fail_msg("size \"%s\" refused: %s", s, why ? why : "(no why)");
	return v;
}

/* Checks that S is refused as a size, with *why set and *out untouched. */
static void
size_bad(const char *s, uint64_t min, uint64_t max, const char *why_part)
{
	uint64_t v = 777;
	const char *why = NULL;

	if (units_parse_size(s, min, max, &v, &why) != -1)
		fail_msg("size \"%s\" accepted as %llu", s,
			(unsigned long long)v);
	assert_non_null(why);
	if (why_part && !strstr(why, why_part))
		fail_msg("size \"%s\": why \"%s\" lacks \"%s\"", s, why,
			why_part);
	assert_int_equal(v, 777);
}

static int64_t
duration_ok(const char *s, int64_t min, int64_t max)
{
	int64_t v = 12345;
	const char *why = NULL;

	if (units_parse_duration(s, min, max, &v, &why) != 0)
		fail_msg("duration \"%s\" refused: %s", s,
			why ? why : "(no why)");
	return v;
}

static void
duration_bad(const char *s, int64_t min, int64_t max, const char *why_part)
{
	int64_t v = 777;
	const char *why = NULL;

	if (units_parse_duration(s, min, max, &v, &why) != -1)
		fail_msg("duration \"%s\" accepted as %lld", s, (long long)v);
	assert_non_null(why);
	if (why_part && !strstr(why, why_part))
		fail_msg("duration \"%s\": why \"%s\" lacks \"%s\"", s, why,
			why_part);
	assert_int_equal(v, 777);
}

static unsigned
share_ok(const char *s)
{
	unsigned v = 12345;
	const char *why = NULL;

	if (units_parse_share(s, &v, &why) != 0)
		fail_msg("share \"%s\" refused: %s", s, why ? why : "(no why)");
	return v;
}

static void
share_bad(const char *s)
{
	unsigned v = 777;
	const char *why = NULL;

	if (units_parse_share(s, &v, &why) != -1)
		fail_msg("share \"%s\" accepted as %u", s, v);
	assert_non_null(why);
	assert_int_equal(v, 777);
}

static void
uint_bad(const char *s, uint64_t min, uint64_t max, const char *why_part)
{
	uint64_t v = 777;
	const char *why = NULL;

	if (units_parse_uint(s, min, max, &v, &why) != -1)
		fail_msg("uint \"%s\" accepted as %llu", s,
			(unsigned long long)v);
	assert_non_null(why);
	if (why_part && !strstr(why, why_part))
		fail_msg("uint \"%s\": why \"%s\" lacks \"%s\"", s, why,
			why_part);
	assert_int_equal(v, 777);
}

static void
test_size_plain_and_suffixes(void **state)
{
	(void)state;
	assert_int_equal(size_ok("512", 0, NO_MAX), 512);
	assert_int_equal(size_ok("0", 0, NO_MAX), 0);
	assert_int_equal(size_ok("4K", 0, NO_MAX), 4096);
	assert_int_equal(size_ok("50M", 0, NO_MAX), 50ull * 1024 * 1024);
	assert_int_equal(size_ok("1G", 0, NO_MAX), 1024ull * 1024 * 1024);
	assert_int_equal(size_ok("64G", 0, NO_MAX), 64ull << 30);
}

static void
test_size_overflow_refused(void **state)
{
	(void)state;
	/* Too large for 64 bits before and after scaling. */
	size_bad("99999999999999999999G", 0, NO_MAX, "too large");
	size_bad("99999999999999999999", 0, NO_MAX, "too large");
	size_bad("17179869184G", 0, NO_MAX, "too large");	/* 2^34 G */
	/* The largest value that fits is still accepted. */
	assert_int_equal(size_ok("18446744073709551615", 0, NO_MAX),
		UINT64_MAX);
}

static void
test_size_bad_syntax_refused(void **state)
{
	(void)state;
	size_bad("5MB", 0, NO_MAX, NULL);
	size_bad("", 0, NO_MAX, NULL);
	size_bad("-1", 0, NO_MAX, NULL);
	size_bad("+1", 0, NO_MAX, NULL);
	size_bad(" 1", 0, NO_MAX, NULL);
	size_bad("1 M", 0, NO_MAX, NULL);
	size_bad("5k", 0, NO_MAX, NULL);	/* suffixes are upper-case */
	size_bad("M", 0, NO_MAX, NULL);
	size_bad("1.5M", 0, NO_MAX, NULL);
	size_bad("5T", 0, NO_MAX, NULL);
}

static void
test_size_range_bounds(void **state)
{
	(void)state;
	assert_int_equal(size_ok("1K", 1024, 2048), 1024);
	assert_int_equal(size_ok("2048", 1024, 2048), 2048);
	assert_int_equal(size_ok("2K", 1024, 2048), 2048);
	size_bad("1023", 1024, 2048, "too small");
	size_bad("2049", 1024, 2048, "too large");
	size_bad("3K", 1024, 2048, "too large");
}

static void
test_duration_single_units(void **state)
{
	(void)state;
	assert_int_equal(duration_ok("30s", 0, SECONDS_MAX), 30);
	assert_int_equal(duration_ok("5m", 0, SECONDS_MAX), 300);
	assert_int_equal(duration_ok("1h", 0, SECONDS_MAX), 3600);
	assert_int_equal(duration_ok("7d", 0, SECONDS_MAX), 7 * 86400);
	assert_int_equal(duration_ok("2w", 0, SECONDS_MAX), 14 * 86400);
	assert_int_equal(duration_ok("0s", 0, SECONDS_MAX), 0);
}

static void
test_duration_compound_and_bare(void **state)
{
	(void)state;
	assert_int_equal(duration_ok("1h30m", 0, SECONDS_MAX), 5400);
	assert_int_equal(duration_ok("1d12h", 0, SECONDS_MAX), 129600);
	assert_int_equal(duration_ok("1w1d1h1m1s", 0, SECONDS_MAX),
		604800 + 86400 + 3600 + 60 + 1);
	assert_int_equal(duration_ok("45", 0, SECONDS_MAX), 45);
	assert_int_equal(duration_ok("0", 0, SECONDS_MAX), 0);
}

static void
test_duration_bad_syntax_refused(void **state)
{
	(void)state;
	duration_bad("1h30", 0, SECONDS_MAX, NULL);	/* unit missing */
	duration_bad("h", 0, SECONDS_MAX, NULL);
	duration_bad("", 0, SECONDS_MAX, NULL);
	duration_bad("-5s", 0, SECONDS_MAX, NULL);
	duration_bad("+5s", 0, SECONDS_MAX, NULL);
	duration_bad(" 5s", 0, SECONDS_MAX, NULL);
	duration_bad("5 s", 0, SECONDS_MAX, NULL);
	duration_bad("1h 30m", 0, SECONDS_MAX, NULL);
	duration_bad("5x", 0, SECONDS_MAX, NULL);
	duration_bad("5S", 0, SECONDS_MAX, NULL);
	duration_bad("5ms", 0, SECONDS_MAX, NULL);
	duration_bad("1.5h", 0, SECONDS_MAX, NULL);
}

static void
test_duration_overflow_refused(void **state)
{
	(void)state;
	/* Digits beyond 64 bits are refused (the message is the generic
	 * "expected a duration" one, not "too large"). */
	duration_bad("99999999999999999999s", 0, SECONDS_MAX, NULL);
	duration_bad("9223372036854775807w", 0, SECONDS_MAX, "too large");
	/* Each part fits, the sum does not. */
	duration_bad("9223372036854775807s1s", 0, SECONDS_MAX, "too large");
	duration_bad("15250284452471w15250284452471w", 0, SECONDS_MAX,
		"too large");
	assert_int_equal(duration_ok("9223372036854775807", 0, SECONDS_MAX),
		INT64_MAX);
}

static void
test_duration_range_bounds(void **state)
{
	(void)state;
	assert_int_equal(duration_ok("1m", 60, 3600), 60);
	assert_int_equal(duration_ok("1h", 60, 3600), 3600);
	duration_bad("59s", 60, 3600, "too small");
	duration_bad("59", 60, 3600, "too small");
	duration_bad("1h1s", 60, 3600, "too large");
	duration_bad("2h", 60, 3600, "too large");
}

static void
test_share_values(void **state)
{
	(void)state;
	assert_int_equal(share_ok("10%"), 1000);
	assert_int_equal(share_ok("12.5%"), 1250);
	assert_int_equal(share_ok("12.55%"), 1255);
	assert_int_equal(share_ok("0%"), 0);
	assert_int_equal(share_ok("0.01%"), 1);
	assert_int_equal(share_ok("100%"), UNITS_SHARE_WHOLE);
	assert_int_equal(share_ok("99.99%"), 9999);
}

static void
test_share_refused(void **state)
{
	(void)state;
	share_bad("100.5%");
	share_bad("100.01%");
	share_bad("101%");
	share_bad("10");
	share_bad("abc%");
	share_bad("%");
	share_bad("");
	share_bad("-1%");
	share_bad("12.%");
	share_bad(".5%");
	share_bad("12.555%");	/* at most hundredths of a percent */
	share_bad("10 %");
	share_bad("10%%");
	share_bad("99999999999999999999%");
}

static void
test_bool_values(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES",
		"True" };
	static const char *const no[] = { "no", "false", "off", "0", "NO",
		"Off" };
	static const char *const bad[] = { "", "y", "n", "2", "yess", " yes",
		"enabled" };
	const char *why;
	bool b;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(units_parse_bool(yes[i], &b, &why), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(units_parse_bool(no[i], &b, &why), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		b = true;
		if (units_parse_bool(bad[i], &b, &why) != -1)
			fail_msg("bool \"%s\" accepted", bad[i]);
		assert_non_null(why);
		assert_true(b);
	}
}

static void
test_uint_range(void **state)
{
	uint64_t v = 0;
	const char *why;

	(void)state;
	assert_int_equal(units_parse_uint("1", 1, 1024, &v, &why), 0);
	assert_int_equal(v, 1);
	assert_int_equal(units_parse_uint("1024", 1, 1024, &v, &why), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(units_parse_uint("18446744073709551615", 0,
		UINT64_MAX, &v, &why), 0);
	assert_int_equal(v, UINT64_MAX);
	uint_bad("0", 1, 1024, "too small");
	uint_bad("1025", 1, 1024, "too large");
	uint_bad("18446744073709551616", 0, UINT64_MAX, "too large");
}

static void
test_uint_sign_and_space_refused(void **state)
{
	(void)state;
	uint_bad("+5", 0, 100, NULL);
	uint_bad("-5", 0, 100, NULL);
	uint_bad(" 5", 0, 100, NULL);
	uint_bad("\t5", 0, 100, NULL);
	uint_bad("5 ", 0, 100, NULL);
	uint_bad("", 0, 100, NULL);
	uint_bad("0x10", 0, 100, NULL);
	uint_bad("5K", 0, 100, NULL);
	uint_bad("1e2", 0, 100, NULL);
}

static void
test_format_duration(void **state)
{
	static const struct { int64_t seconds; const char *text; } cases[] = {
		{ 0, "0s" }, { 45, "45s" }, { 60, "1m" }, { 90, "90s" },
		{ 3600, "1h" }, { 5400, "90m" }, { 86400, "1d" },
		{ 129600, "36h" }, { 604800, "1w" }, { 1209600, "2w" },
		{ 691200, "8d" }, { 3601, "3601s" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		units_format_duration(cases[i].seconds, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
	}
}

static void
test_format_duration_round_trips(void **state)
{
	static const int64_t values[] = { 1, 59, 61, 7200, 86399, 172800,
		315360000 };
	char buf[32];
	int64_t back;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		units_format_duration(values[i], buf, sizeof(buf));
		assert_int_equal(units_parse_duration(buf, 0, INT64_MAX, &back,
			&why), 0);
		assert_int_equal(back, values[i]);
	}
}

static void
test_format_duration_truncates_safely(void **state)
{
	char buf[4];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	units_format_duration(123456, buf, sizeof(buf));
	assert_int_equal(buf[3], '\0');
	assert_int_equal(strlen(buf), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_plain_and_suffixes),
		cmocka_unit_test(test_size_overflow_refused),
		cmocka_unit_test(test_size_bad_syntax_refused),
		cmocka_unit_test(test_size_range_bounds),
		cmocka_unit_test(test_duration_single_units),
		cmocka_unit_test(test_duration_compound_and_bare),
		cmocka_unit_test(test_duration_bad_syntax_refused),
		cmocka_unit_test(test_duration_overflow_refused),
		cmocka_unit_test(test_duration_range_bounds),
		cmocka_unit_test(test_share_values),
		cmocka_unit_test(test_share_refused),
		cmocka_unit_test(test_bool_values),
		cmocka_unit_test(test_uint_range),
		cmocka_unit_test(test_uint_sign_and_space_refused),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_duration_round_trips),
		cmocka_unit_test(test_format_duration_truncates_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
