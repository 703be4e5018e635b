#include "date.h"

#include <curl/curl.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

char *
date_format_utc(time_t t, char buf[DATE_RFC3339_SIZE])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, DATE_RFC3339_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, DATE_RFC3339_SIZE, "1970-01-01T00:00:00Z");
	return buf;
}

int
date_parse_utc(const char *s, time_t *out)
{
	struct tm tm;
	char *end;
	char again[DATE_RFC3339_SIZE];
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != DATE_RFC3339_SIZE - 1)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end != '\0')
		return -1;
	/* Only a time that writes back the same: strptime takes 31 April
	 * and year 0351, which timegm rolls over and strftime writes as
	 * something else. */
	t = timegm(&tm);
	if (strcmp(date_format_utc(t, again), s) != 0)
		return -1;
	*out = t;
	return 0;
}

/* date_value: ISO 8601 by hand, RFC 822 through libcurl. Calendar
 * arithmetic is done here rather than by timegm(), whose -1 is also a
 * valid time and which quietly rolls 31 February over into March. */

#define DATE_YEAR_MIN 1000
#define DATE_YEAR_MAX 9999
#define SECONDS_PER_DAY 86400

_Static_assert(sizeof(time_t) >= 8, "years up to 9999 need a 64-bit time_t");

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to Y-M-D in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
valid_date(int y, int m, int d)
{
	return y >= DATE_YEAR_MIN && y <= DATE_YEAR_MAX && m >= 1 && m <= 12 &&
	    d >= 1 && d <= days_in_month(y, m);
}

/* Whether T lies in the years DATE_YEAR_MIN to DATE_YEAR_MAX, in UTC. */
static bool
in_range(int64_t t)
{
	return t >= days_from_civil(DATE_YEAR_MIN, 1, 1) * SECONDS_PER_DAY &&
	    t < days_from_civil(DATE_YEAR_MAX + 1, 1, 1) * SECONDS_PER_DAY;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads exactly N digits at *P (before END) into *V and moves *P on. */
static bool
read_digits(const char **p, const char *end, int n, int *v)
{
	const char *q = *p;
	int x = 0;

	if (end - q < n)
		return false;
	for (; n > 0; n--, q++) {
		if (!is_digit(*q))
			return false;
		x = x * 10 + (*q - '0');
	}
	*p = q;
	*v = x;
	return true;
}

/* Reads "Z", "+hh:mm" (EXTENDED only), "+hhmm" or "+hh" (or with "-")
 * into *OFF, seconds east of UTC. */
static bool
read_zone(const char **p, const char *end, bool extended, int *off)
{
	const char *q = *p;
	int sign, hh, mm = 0;

	if (q >= end)
		return false;
	if (*q == 'Z' || *q == 'z') {
		*off = 0;
		*p = q + 1;
		return true;
	}
	if (*q != '+' && *q != '-')
		return false;
	sign = *q++ == '-' ? -1 : 1;
	if (!read_digits(&q, end, 2, &hh))
		return false;
	if (q < end && *q == ':') {
		q++;
		if (!extended || !read_digits(&q, end, 2, &mm))
			return false;
	} else if (q < end && is_digit(*q) && !read_digits(&q, end, 2, &mm))
		return false;
	if (hh > 23 || mm > 59)
		return false;
	*off = sign * (hh * 3600 + mm * 60);
	*p = q;
	return true;
}

int
date_parse_iso8601(const char *s, struct date_value *out)
{
	const char *p = s, *end;
	int year, mon = 1, mday = 1, hour = 0, min = 0, sec = 0, off = 0;
	bool extended, fraction = false;
	enum date_precision prec;
	int64_t t;

	while (is_blank(*p))
		p++;
	end = p + strlen(p);
	while (end > p && is_blank(end[-1]))
		end--;

	if (!read_digits(&p, end, 4, &year))
		return -1;
	prec = DATE_PRECISION_YEAR;
	if (p == end)
		goto check;
	extended = *p == '-';
	if (extended) {
		p++;
		if (!read_digits(&p, end, 2, &mon))
			return -1;
		prec = DATE_PRECISION_MONTH;
		if (p == end)
			goto check;
		if (*p++ != '-' || !read_digits(&p, end, 2, &mday))
			return -1;
	} else if (!read_digits(&p, end, 2, &mon) ||
	    !read_digits(&p, end, 2, &mday))
		return -1;
	prec = DATE_PRECISION_DAY;
	if (p == end)
		goto check;

	if (*p == 'T' || *p == 't' || (*p == ' ' && extended)) {
		p++;
		if (!read_digits(&p, end, 2, &hour))
			return -1;
		if (extended && (p == end || *p++ != ':'))
			return -1;
		if (!read_digits(&p, end, 2, &min))
			return -1;
		if (p < end && ((extended && *p == ':') ||
		    (!extended && is_digit(*p)))) {
			if (extended)
				p++;
			if (!read_digits(&p, end, 2, &sec))
				return -1;
			if (p < end && (*p == '.' || *p == ',')) {
				p++;
				if (p == end || !is_digit(*p))
					return -1;
				/* Dropped, but 24:00:00.5 is no time. */
				for (; p < end && is_digit(*p); p++)
					if (*p != '0')
						fraction = true;
			}
		}
		prec = DATE_PRECISION_TIME;
		if (p < end && !read_zone(&p, end, extended, &off))
			return -1;
	} else if (extended) {
		/* xsd:date's optional zone (IATI dates): the day is the day
		 * as written, so the zone is checked and ignored. */
		if (!read_zone(&p, end, true, &off))
			return -1;
		off = 0;
	} else
		return -1;
	if (p != end)
		return -1;

check:
	if (!valid_date(year, mon, mday) || hour > 24 || min > 59 ||
	    sec > 60)
		return -1;
	if (hour == 24 && (min != 0 || sec != 0 || fraction))
		return -1;
	if (sec == 60)
		sec = 59;
	t = days_from_civil(year, mon, mday) * SECONDS_PER_DAY +
	    hour * 3600 + min * 60 + sec - off;
	/* The zone may carry 9999-12-31 into the year 10000 (or 1000-01-01
	 * back into 999), which RFC 3339 cannot write. */
	if (!in_range(t))
		return -1;
	out->t = (time_t)t;
	out->precision = prec;
	return 0;
}

/* The fields of an RFC 822-style date as curl_getdate() reads them, so
 * that what curl would roll over (31 Feb) can be refused and a date
 * without a time kept as the day written, not shifted by its zone. */
struct rfc822_fields {
	int mday, mon, year;
	bool has_time, leap_second;
};

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
month_number(const char *w, size_t len)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char lower[3];
	size_t i;

	if (len != 3)
		return 0;
	for (i = 0; i < 3; i++)
		lower[i] = (char)(w[i] | 0x20);
	for (i = 0; i < 12; i++)
		if (memcmp(names + 3 * i, lower, 3) == 0)
			return (int)i + 1;
	return 0;
}

static int
two_digit_year(int y)
{
	if (y >= 100)
		return y;
	return y > 70 ? y + 1900 : y + 2000;
}

/* Follows curl's lib/parsedate.c: a number next to ':' is part of the
 * time, four digits no larger than 1400 after a sign the zone, eight
 * digits YYYYMMDD, and otherwise numbers fill the day and the year in
 * turn (a first number that cannot be a day is the year). */
static bool
rfc822_read_fields(const char *s, struct rfc822_fields *f)
{
	const char *p = s, *w;
	bool want_mday = true, zone = false, found;
	int time_part = 0, v;
	size_t len;

	f->mday = f->mon = f->year = -1;
	f->has_time = f->leap_second = false;
	while (*p != '\0') {
		if (is_alpha(*p)) {
			for (w = p; is_alpha(*p); p++)
				;
			if ((v = month_number(w, (size_t)(p - w))) != 0)
				f->mon = v;
			continue;
		}
		if (!is_digit(*p)) {
			p++;
			continue;
		}
		for (w = p, v = 0; is_digit(*p); p++)
			if (p - w < 9)
				v = v * 10 + (*p - '0');
		len = (size_t)(p - w);
		if (len > 9)
			return false;
		if (*p == ':' || (w > s && w[-1] == ':')) {
			f->has_time = true;
			if (w == s || w[-1] != ':')
				time_part = 0;
			if (++time_part == 3 && v == 60)
				f->leap_second = true;
			continue;
		}
		if (!zone && len == 4 && v <= 1400 && w > s &&
		    (w[-1] == '+' || w[-1] == '-')) {
			zone = true;
			continue;
		}
		if (len == 8 && f->year < 0 && f->mon < 0 && f->mday < 0) {
			f->year = v / 10000;
			f->mon = v / 100 % 100;
			f->mday = v % 100;
			continue;
		}
		found = false;
		if (want_mday && f->mday < 0) {
			if (v >= 1 && v <= 31) {
				f->mday = v;
				found = true;
			}
			want_mday = false;
		}
		if (!found && !want_mday && f->year < 0) {
			f->year = two_digit_year(v);
			found = true;
			if (f->mday < 0)
				want_mday = true;
		}
		if (!found)
			return false;
	}
	return f->mday > 0 && f->mon > 0 && f->year >= 0;
}

/* Copies S into BUF without RFC 822 comments "(...)", which curl does not
 * skip, and without the white space around it. */
static bool
rfc822_strip(const char *s, char *buf, size_t size)
{
	size_t o = 0;
	int depth = 0;

	while (is_blank(*s))
		s++;
	for (; *s != '\0'; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')') {
			if (--depth < 0)
				return false;
		} else if (depth == 0) {
			if (o + 1 >= size)
				return false;
			buf[o++] = *s;
		}
	}
	if (depth != 0)
		return false;
	while (o > 0 && is_blank(buf[o - 1]))
		o--;
	buf[o] = '\0';
	return o > 0;
}

int
date_parse_rfc822(const char *s, struct date_value *out)
{
	/* The longest sensible date is well under this; a longer string
	 * is not one. */
	char buf[128];
	struct rfc822_fields f;
	time_t t;

	if (!rfc822_strip(s, buf, sizeof(buf)))
		return -1;
	if ((t = curl_getdate(buf, NULL)) == -1)
		return -1;
	if (!rfc822_read_fields(buf, &f) ||
	    !valid_date(f.year, f.mon, f.mday))
		return -1;
	if (!f.has_time) {
		/* curl moved the midnight by the zone: the day is the day
		 * as written. */
		out->t = (time_t)(days_from_civil(f.year, f.mon, f.mday) *
		    SECONDS_PER_DAY);
		out->precision = DATE_PRECISION_DAY;
		return 0;
	}
	/* curl reads a leap second as the next day's first. */
	if (f.leap_second)
		t--;
	if (!in_range(t))
		return -1;
	out->t = t;
	out->precision = DATE_PRECISION_TIME;
	return 0;
}

int
date_parse_any(const char *s, struct date_value *out)
{
	if (date_parse_iso8601(s, out) == 0)
		return 0;
	return date_parse_rfc822(s, out);
}

char *
date_format_value(const struct date_value *d, char buf[DATE_RFC3339_SIZE])
{
	struct tm tm;
	int n;

	if (d->precision == DATE_PRECISION_TIME)
		return date_format_utc(d->t, buf);
	if (!gmtime_r(&d->t, &tm))
		return date_format_utc(d->t, buf);
	switch (d->precision) {
	case DATE_PRECISION_YEAR:
		n = snprintf(buf, DATE_RFC3339_SIZE, "%04d", tm.tm_year + 1900);
		break;
	case DATE_PRECISION_MONTH:
		n = snprintf(buf, DATE_RFC3339_SIZE, "%04d-%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1);
		break;
	default:
		n = snprintf(buf, DATE_RFC3339_SIZE, "%04d-%02d-%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		break;
	}
	if (n < 0 || (size_t)n >= DATE_RFC3339_SIZE)
		return date_format_utc(d->t, buf);
	return buf;
}
