/* Times as the store keeps them: RFC 3339 in UTC, to the second. */
#ifndef CYBIL_DATE_H
#define CYBIL_DATE_H

#include <time.h>

#define DATE_RFC3339_SIZE sizeof("YYYY-MM-DDTHH:MM:SSZ")

/* Writes T as "YYYY-MM-DDTHH:MM:SSZ"; returns BUF. */
char *date_format_utc(time_t t, char buf[DATE_RFC3339_SIZE]);
/* Parses exactly that form; returns 0, or -1 if S is not one. */
int date_parse_utc(const char *s, time_t *out);

/* Dates as sources give them, kept with their precision. */
enum date_precision {
	DATE_PRECISION_YEAR,	/* "2026" */
	DATE_PRECISION_MONTH,	/* "2026-11" */
	DATE_PRECISION_DAY,	/* "2026-11-20" */
	DATE_PRECISION_TIME,	/* "2026-11-20T10:00:00Z" */
};

/* T is the first second of the period in UTC: 2026-01-01T00:00:00Z for
 * the year 2026, midnight UTC for a day (whatever zone the source named). */
struct date_value {
	time_t t;
	enum date_precision precision;
};

/* ISO 8601 as W3CDTF, Atom, RSS extensions and IATI use it: YYYY,
 * YYYY-MM, YYYY-MM-DD (optionally with a zone, as xsd:date allows, which
 * is ignored), YYYY-MM-DDThh:mm[:ss[.fff]] with Z, +hh:mm, +hhmm or +hh
 * (or none: UTC), "t", "z" or a space for "T"; also YYYYMMDD and
 * YYYYMMDDThhmm[ss[.fff]] with Z, +hhmm or +hh. White space around it is
 * allowed. Years 1000 to 9999; days checked against the month; 24:00:00
 * is the next day's midnight; a leap second (ss = 60) is read as 59; the
 * fraction is dropped. Returns 0, or -1 leaving *OUT untouched. */
int date_parse_iso8601(const char *s, struct date_value *out);
/* RFC 822/1123, RFC 850 and asctime dates through curl_getdate(): TIME
 * precision, or DAY when no time of day is given (the zone, if any, is
 * then ignored). A day past the end of its month is refused rather than
 * rolled over; comments in parentheses are ignored; curl refuses years
 * before 1583 and this function years after 9999. Returns 0, or -1
 * leaving *OUT untouched. */
int date_parse_rfc822(const char *s, struct date_value *out);
/* date_parse_iso8601, else date_parse_rfc822. */
int date_parse_any(const char *s, struct date_value *out);
/* Writes D as RFC 3339 in UTC at its precision ("2026", "2026-11",
 * "2026-11-20", "2026-11-20T10:00:00Z"); returns BUF. */
char *date_format_value(const struct date_value *d,
	char buf[DATE_RFC3339_SIZE]);

#endif
