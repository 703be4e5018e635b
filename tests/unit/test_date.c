/* Unit tests of include/date.h: date_format_utc/date_parse_utc, the strict
 * ISO 8601 (W3CDTF) parser, RFC 822 dates through curl_getdate, and
 * formatting at a precision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"

static const char *const precision_names[] = {
	"YEAR", "MONTH", "DAY", "TIME",
};

typedef int parse_fn(const char *, struct date_value *);

/* Parses S with FN, failing the test if it is refused or does not format
 * as WANT at precision PREC. */
static void
good(parse_fn *fn, const char *fn_name, const char *s, const char *want,
	enum date_precision prec)
{
	struct date_value d;
	char buf[DATE_RFC3339_SIZE];

	memset(&d, 0, sizeof(d));
	if (fn(s, &d) != 0)
		fail_msg("%s(\"%s\") refused, want %s", fn_name, s, want);
	date_format_value(&d, buf);
	if (strcmp(buf, want) != 0 || d.precision != prec)
		fail_msg("%s(\"%s\") = %s (%s), want %s (%s)", fn_name, s, buf,
		    precision_names[d.precision], want, precision_names[prec]);
}

/* Checks that FN refuses S and leaves *out untouched. */
static void
bad(parse_fn *fn, const char *fn_name, const char *s)
{
	struct date_value d = { 12345, DATE_PRECISION_MONTH };
	char buf[DATE_RFC3339_SIZE];

	if (fn(s, &d) != -1)
		fail_msg("%s(\"%s\") accepted as %s", fn_name, s,
		    date_format_value(&d, buf));
	assert_int_equal(d.t, 12345);
	assert_int_equal(d.precision, DATE_PRECISION_MONTH);
}

#define ISO_OK(s, want, prec) \
	good(date_parse_iso8601, "iso8601", (s), (want), DATE_PRECISION_##prec)
#define ISO_BAD(s) bad(date_parse_iso8601, "iso8601", (s))
#define RFC_OK(s, want, prec) \
	good(date_parse_rfc822, "rfc822", (s), (want), DATE_PRECISION_##prec)
#define RFC_BAD(s) bad(date_parse_rfc822, "rfc822", (s))
#define ANY_OK(s, want, prec) \
	good(date_parse_any, "any", (s), (want), DATE_PRECISION_##prec)
#define ANY_BAD(s) bad(date_parse_any, "any", (s))

static void
test_utc_round_trip(void **state)
{
	char buf[DATE_RFC3339_SIZE];
	time_t t;

	(void)state;
	assert_string_equal(date_format_utc(0, buf), "1970-01-01T00:00:00Z");
	assert_string_equal(date_format_utc(1795168800, buf),
	    "2026-11-20T10:00:00Z");
	assert_int_equal(date_parse_utc("2026-11-20T10:00:00Z", &t), 0);
	assert_int_equal(t, 1795168800);
	assert_int_equal(date_parse_utc("2026-11-20T10:00:00", &t), -1);
	assert_int_equal(date_parse_utc("2026-11-20T10:00:00Zx", &t), -1);
	/* Found by fuzzing latest.json: times that do not write back the
	 * same (a three-digit year, a day the month lacks) are refused. */
	assert_int_equal(date_parse_utc("0351-12-05T16:36:04Z", &t), -1);
	assert_int_equal(date_parse_utc("2026-04-31T00:00:00Z", &t), -1);
	assert_int_equal(date_parse_utc("2026-02-29T00:00:00Z", &t), -1);
	assert_int_equal(date_parse_utc("2028-02-29T00:00:00Z", &t), 0);
}

static void
test_iso_precisions(void **state)
{
	struct date_value d;

	(void)state;
	ISO_OK("2026", "2026", YEAR);
	ISO_OK("2026-11", "2026-11", MONTH);
	ISO_OK("2026-11-20", "2026-11-20", DAY);
	ISO_OK("2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z", TIME);
	/* T is the first second of the period, in UTC. */
	assert_int_equal(date_parse_iso8601("2026", &d), 0);
	assert_int_equal(d.t, 1767225600);	/* 2026-01-01T00:00:00Z */
	assert_int_equal(date_parse_iso8601("2026-11", &d), 0);
	assert_int_equal(d.t, 1793491200);	/* 2026-11-01T00:00:00Z */
	assert_int_equal(date_parse_iso8601("2026-11-20", &d), 0);
	assert_int_equal(d.t, 1795132800);
	assert_int_equal(date_parse_iso8601("1970-01-01T00:00:00Z", &d), 0);
	assert_int_equal(d.t, 0);
	/* Before the epoch, and the one second timegm() cannot tell from
	 * an error. */
	assert_int_equal(date_parse_iso8601("1969-12-31T23:59:59Z", &d), 0);
	assert_int_equal(d.t, -1);
	assert_int_equal(date_parse_iso8601("1000-01-01", &d), 0);
	assert_int_equal(d.t, -30610224000LL);
}

static void
test_iso_time_forms(void **state)
{
	(void)state;
	ISO_OK("2026-11-20T10:00Z", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20t10:00:00z", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20 10:00:00Z", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T10:00:00", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T10:00", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T10:00:00.123456789Z", "2026-11-20T10:00:00Z",
	    TIME);
	ISO_OK("2026-11-20T10:00:00,999Z", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T10:00:00.5", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("  2026-11-20T10:00:00Z\n", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("\t2026\r\n", "2026", YEAR);
	ISO_OK(" 2026-11-20 ", "2026-11-20", DAY);
}

static void
test_iso_zones(void **state)
{
	(void)state;
	ISO_OK("2026-11-20T12:30:00+02:30", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T12:30:00+0230", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T12:00:00+02", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T05:00:00-05:00", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T10:00:00+00:00", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("2026-11-20T10:00:00-00:00", "2026-11-20T10:00:00Z", TIME);
	/* Across a day, a month and a year. */
	ISO_OK("2026-11-20T00:30:00+01:00", "2026-11-19T23:30:00Z", TIME);
	ISO_OK("2026-11-30T23:30:00-01:00", "2026-12-01T00:30:00Z", TIME);
	ISO_OK("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z", TIME);
	ISO_OK("2026-03-01T00:00:00+23:59", "2026-02-28T00:01:00Z", TIME);
	ISO_OK("2026-11-20T10:00:00-23:59", "2026-11-21T09:59:00Z", TIME);
	/* xsd:date's zone: the day stays the day written. */
	ISO_OK("2026-11-20Z", "2026-11-20", DAY);
	ISO_OK("2026-11-20+14:00", "2026-11-20", DAY);
	ISO_OK("2026-11-20-05:00", "2026-11-20", DAY);
}

static void
test_iso_compact(void **state)
{
	(void)state;
	ISO_OK("20261120", "2026-11-20", DAY);
	ISO_OK("20261120T100000Z", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("20261120T1000Z", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("20261120T120000+0200", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("20261120T120000+02", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("20261120T100000", "2026-11-20T10:00:00Z", TIME);
	ISO_OK("20261120t100000.25z", "2026-11-20T10:00:00Z", TIME);
}

static void
test_iso_calendar_edges(void **state)
{
	(void)state;
	ISO_OK("2024-02-29", "2024-02-29", DAY);
	ISO_OK("2000-02-29", "2000-02-29", DAY);
	ISO_OK("1600-02-29", "1600-02-29", DAY);
	ISO_BAD("2026-02-29");
	ISO_BAD("1900-02-29");
	ISO_BAD("2100-02-29");
	ISO_OK("2026-04-30", "2026-04-30", DAY);
	ISO_BAD("2026-04-31");
	ISO_BAD("2026-06-31");
	ISO_BAD("2026-09-31");
	ISO_BAD("2026-11-31");
	ISO_OK("2026-12-31", "2026-12-31", DAY);
	ISO_BAD("2026-12-32");
	ISO_BAD("2026-00-10");
	ISO_BAD("2026-13-01");
	ISO_BAD("2026-13");
	ISO_BAD("2026-00");
	ISO_BAD("2026-11-00");
	ISO_BAD("20260230");
	ISO_BAD("20261301");
	/* 24:00 is the next day's midnight, even at the end of a year. */
	ISO_OK("2026-11-20T24:00:00Z", "2026-11-21T00:00:00Z", TIME);
	ISO_OK("2026-12-31T24:00Z", "2027-01-01T00:00:00Z", TIME);
	ISO_OK("2026-11-20T24:00:00.000Z", "2026-11-21T00:00:00Z", TIME);
	ISO_BAD("2026-11-20T24:00:01Z");
	ISO_BAD("2026-11-20T24:01Z");
	ISO_BAD("2026-11-20T24:00:00.5Z");
	/* A leap second is read as the second before. */
	ISO_OK("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z", TIME);
	ISO_OK("2026-11-20T23:59:59Z", "2026-11-20T23:59:59Z", TIME);
	ISO_BAD("2026-11-20T23:59:61Z");
	ISO_BAD("2026-11-20T23:60:00Z");
	ISO_BAD("2026-11-20T25:00:00Z");
	/* Years 1000 to 9999. */
	ISO_OK("1000", "1000", YEAR);
	ISO_OK("1000-01-01T00:00:00Z", "1000-01-01T00:00:00Z", TIME);
	ISO_OK("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z", TIME);
	/* Within the years, in UTC too. */
	ISO_BAD("9999-12-31T23:59:59-00:01");
	ISO_BAD("9999-12-31T24:00:00Z");
	ISO_BAD("1000-01-01T00:00:00+00:01");
	ISO_OK("1000-01-01T00:01:00+00:01", "1000-01-01T00:00:00Z", TIME);
	ISO_OK("9999-12-31T23:59:59+23:59", "9999-12-31T00:00:59Z", TIME);
	ISO_BAD("0999");
	ISO_BAD("0999-12-31");
	ISO_BAD("0000");
	ISO_BAD("10000");
	ISO_BAD("10000-01-01");
}

static void
test_iso_refused(void **state)
{
	static const char *const refused[] = {
		"", " ", "\n", "202", "20261", "202611", "2026112", "2026-1",
		"2026-1-1", "2026-01-1", "2026/11/20", "2026.11.20",
		"2026 11 20", "2026-11-20x", "2026-1120", "202611-20",
		"-2026", "+2026", "+002026-11-20", "2026-", "2026-11-",
		"2026-11-20T", "2026-11-20T10", "2026-11-20T10:0",
		"2026-11-20T1:00", "2026-11-20T10:00:0", "2026-11-20T10:00:",
		"2026-11-20T10:00:00.", "2026-11-20T10:00:00.Z",
		"2026-11-20T10:00.5Z", "2026-11-20T10:00:00+24:00",
		"2026-11-20T10:00:00+02:60", "2026-11-20T10:00:00+2",
		"2026-11-20T10:00:00+02:0", "2026-11-20T10:00:00+020",
		"2026-11-20T10:00:00+02:00:00", "2026-11-20T10:00:00 Z",
		"2026-11-20T10:00:00ZZ", "2026-11-20T10:00:00Zjunk",
		"2026-11-20T10:00:00Z 2026", "2026-11-20  10:00:00Z",
		"2026-11-20 Z", "2026-11Z", "2026Z", "2026-11-20TZ",
		"20261120 100000Z", "20261120T10:00:00Z", "2026-11-20T100000Z",
		"20261120T1000+02:00", "20261120T10Z", "20261120Z",
		"2026-11-20T10:00:00UTC", "2026-11-20T10:00:00GMT",
		"2026-11-20T10h00", "2026-W47-5", "2026-324", "Tl0:00",
		"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96",
		"2026-11-20\xc2\xa0", "2026-11-20T10:00:00\xe2\x88\x92" "05:00",
		"Fri, 20 Nov 2026 10:00:00 GMT", "yesterday", "0x7e9",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ISO_BAD(refused[i]);
}

/* Every day's midnight agrees with timegm(), and so does each hour of a
 * few days around the epoch, the ends of each month and leap years. */
static void
test_iso_against_timegm(void **state)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	struct date_value d;
	struct tm tm;
	char s[32];
	int y, m, day, last;

	(void)state;
	for (y = 1000; y <= 9999; y += (y < 1590 || y > 1960) &&
	    y < 9990 ? 7 : 1) {
		for (m = 1; m <= 12; m++) {
			last = mdays[m - 1] + (m == 2 &&
			    ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
			for (day = 1; day <= last + 1; day++) {
				snprintf(s, sizeof(s), "%04d-%02d-%02d", y, m,
				    day);
				if (day > last) {
					ISO_BAD(s);
					continue;
				}
				assert_int_equal(date_parse_iso8601(s, &d), 0);
				memset(&tm, 0, sizeof(tm));
				tm.tm_year = y - 1900;
				tm.tm_mon = m - 1;
				tm.tm_mday = day;
				if (d.t != timegm(&tm))
					fail_msg("%s: %lld != timegm %lld", s,
					    (long long)d.t,
					    (long long)timegm(&tm));
			}
		}
	}
}

static void
test_iso_round_trip(void **state)
{
	static const char *const values[] = {
		"1000", "2026", "9999", "2026-01", "2026-12", "1000-01-01",
		"2024-02-29", "9999-12-31", "1969-12-31T23:59:59Z",
		"1970-01-01T00:00:00Z", "2038-01-19T03:14:08Z",
		"9999-12-31T23:59:59Z",
	};
	struct date_value d, again;
	char buf[DATE_RFC3339_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(date_parse_iso8601(values[i], &d), 0);
		assert_string_equal(date_format_value(&d, buf), values[i]);
		assert_int_equal(date_parse_iso8601(buf, &again), 0);
		assert_int_equal(again.t, d.t);
		assert_int_equal(again.precision, d.precision);
	}
}

static void
test_rfc822_times(void **state)
{
	(void)state;
	RFC_OK("Fri, 20 Nov 2026 10:00:00 GMT", "2026-11-20T10:00:00Z", TIME);
	RFC_OK("Fri, 20 Nov 2026 10:00:00 UT", "2026-11-20T10:00:00Z", TIME);
	RFC_OK("Fri, 20 Nov 2026 12:00:00 +0200", "2026-11-20T10:00:00Z",
	    TIME);
	RFC_OK("Fri, 20 Nov 2026 05:00:00 EST", "2026-11-20T10:00:00Z", TIME);
	RFC_OK("Fri, 20 Nov 2026 02:00:00 PST", "2026-11-20T10:00:00Z", TIME);
	RFC_OK("20 Nov 2026 10:00 GMT", "2026-11-20T10:00:00Z", TIME);
	RFC_OK("fri, 20 nov 2026 10:00:00 gmt", "2026-11-20T10:00:00Z", TIME);
	/* RFC 9110's three forms of one instant. */
	RFC_OK("Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z", TIME);
	RFC_OK("Sunday, 06-Nov-94 08:49:37 GMT", "1994-11-06T08:49:37Z",
	    TIME);
	RFC_OK("Sun Nov  6 08:49:37 1994", "1994-11-06T08:49:37Z", TIME);
	RFC_OK("Friday, 20-Nov-26 10:00:00 GMT", "2026-11-20T10:00:00Z",
	    TIME);
	/* A comment, white space around. */
	RFC_OK("Fri, 20 Nov 2026 12:00:00 +0200 (CEST)",
	    "2026-11-20T10:00:00Z", TIME);
	RFC_OK("  Fri, 20 Nov 2026 10:00:00 GMT \n", "2026-11-20T10:00:00Z",
	    TIME);
	/* Across a year; a leap day; a leap second (curl reads it as the
	 * next minute). */
	RFC_OK("Sat, 01 Jan 2000 00:30:00 +0100", "1999-12-31T23:30:00Z",
	    TIME);
	RFC_OK("Tue, 29 Feb 2028 00:00:00 GMT", "2028-02-29T00:00:00Z", TIME);
	RFC_OK("Sat, 31 Dec 2016 23:59:60 GMT", "2016-12-31T23:59:59Z", TIME);
	RFC_OK("Mon, 20 Nov 9999 23:59:59 GMT", "9999-11-20T23:59:59Z", TIME);
	RFC_OK("Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00Z", TIME);
}

static void
test_rfc822_days(void **state)
{
	(void)state;
	RFC_OK("20 Nov 2026", "2026-11-20", DAY);
	RFC_OK("Fri, 20 Nov 2026", "2026-11-20", DAY);
	RFC_OK("Nov 20, 2026", "2026-11-20", DAY);
	RFC_OK("2026 Nov 20", "2026-11-20", DAY);
	RFC_OK("20-Nov-2026", "2026-11-20", DAY);
	RFC_OK("20 Nov 26", "2026-11-20", DAY);
	RFC_OK("20 Nov 71", "1971-11-20", DAY);
	RFC_OK("20 Nov 70", "2070-11-20", DAY);
	RFC_OK("20261120", "2026-11-20", DAY);
	/* The zone of a date without a time does not move the day (curl
	 * would give 19 November for +0200). */
	RFC_OK("20 Nov 2026 +0200", "2026-11-20", DAY);
	RFC_OK("20 Nov 2026 +1400", "2026-11-20", DAY);
	RFC_OK("20 Nov 2026 -1400", "2026-11-20", DAY);
	RFC_OK("20 Nov 2026 EST", "2026-11-20", DAY);
	RFC_OK("29 Feb 2028", "2028-02-29", DAY);
	RFC_OK("1 Jan 1583", "1583-01-01", DAY);
	RFC_OK("31 Dec 9999", "9999-12-31", DAY);
}

static void
test_rfc822_refused(void **state)
{
	static const char *const refused[] = {
		"", "   ", "foo", "Nov 2026", "20 Nov", "Fri, 20 Nov",
		/* Days past the end of the month, which curl rolls over. */
		"31 Feb 2026", "30 Feb 2026 10:00:00 GMT", "29 Feb 2027",
		"Tue, 29 Feb 2100 00:00:00 GMT", "31 Nov 2026 10:00:00 GMT",
		"Nov 31 2026", "20260230", "20260431", "32 Nov 2026",
		"0 Nov 2026",
		/* Out of range. */
		"31 Dec 1582", "20 Nov 999", "1 Jan 10000",
		"1 Jan 10000 00:00:00 GMT",
		"20 Nov 2026 25:00:00 GMT", "20 Nov 2026 23:60:00 GMT",
		/* Not RFC 822. */
		"20 Nov 2026 10:00:00 +02:00", "20 November 2026",
		"20/11/2026", "1795168800", "2026-11-20",
		"Fri 20 Nov 2026 10:00:00.123 GMT", "20 Nov 2026 extra",
		"20 Nov 2026 10:00:00 XYZ", "20 Nov 2026 20 Nov 2026",
		"20 Nov 2026 10:00:00 +2400",
		/* Comments that do not close, or close unopened. */
		"20 Nov 2026 (unclosed", "20 Nov 2026) x", "((20 Nov 2026)",
		/* Longer than any date. */
		"Fri, 20 Nov 2026 10:00:00 GMT                                "
		"                                                             "
		"                                                       x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		RFC_BAD(refused[i]);
}

static void
test_any(void **state)
{
	(void)state;
	ANY_OK("2026-11-20", "2026-11-20", DAY);
	ANY_OK("2026", "2026", YEAR);
	ANY_OK("2026-11-20T10:00:00+01:00", "2026-11-20T09:00:00Z", TIME);
	ANY_OK("Fri, 20 Nov 2026 10:00:00 GMT", "2026-11-20T10:00:00Z", TIME);
	ANY_OK("20 Nov 2026", "2026-11-20", DAY);
	ANY_OK("20261120", "2026-11-20", DAY);
	/* Refused by both: no rolling over through curl. */
	ANY_BAD("2026-02-30");
	ANY_BAD("20260230");
	ANY_BAD("garbage");
	ANY_BAD("");
}

static void
test_format_value(void **state)
{
	struct date_value d;
	char buf[DATE_RFC3339_SIZE];

	(void)state;
	d.t = 1795168800;	/* 2026-11-20T10:00:00Z */
	d.precision = DATE_PRECISION_YEAR;
	assert_string_equal(date_format_value(&d, buf), "2026");
	d.precision = DATE_PRECISION_MONTH;
	assert_string_equal(date_format_value(&d, buf), "2026-11");
	d.precision = DATE_PRECISION_DAY;
	assert_string_equal(date_format_value(&d, buf), "2026-11-20");
	d.precision = DATE_PRECISION_TIME;
	assert_string_equal(date_format_value(&d, buf),
	    "2026-11-20T10:00:00Z");
	assert_ptr_equal(date_format_value(&d, buf), buf);
	d.t = -1;
	d.precision = DATE_PRECISION_DAY;
	assert_string_equal(date_format_value(&d, buf), "1969-12-31");
	d.t = -30610224000LL;
	d.precision = DATE_PRECISION_YEAR;
	assert_string_equal(date_format_value(&d, buf), "1000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc_round_trip),
		cmocka_unit_test(test_iso_precisions),
		cmocka_unit_test(test_iso_time_forms),
		cmocka_unit_test(test_iso_zones),
		cmocka_unit_test(test_iso_compact),
		cmocka_unit_test(test_iso_calendar_edges),
		cmocka_unit_test(test_iso_refused),
		cmocka_unit_test(test_iso_against_timegm),
		cmocka_unit_test(test_iso_round_trip),
		cmocka_unit_test(test_rfc822_times),
		cmocka_unit_test(test_rfc822_days),
		cmocka_unit_test(test_rfc822_refused),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_format_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
