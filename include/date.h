/* Times as the store keeps them: RFC 3339 in UTC, to the second. */
#ifndef CYBIL_DATE_H
#define CYBIL_DATE_H

#include <time.h>

#define DATE_RFC3339_SIZE sizeof("YYYY-MM-DDTHH:MM:SSZ")

/* Writes T as "YYYY-MM-DDTHH:MM:SSZ"; returns BUF. */
char *date_format_utc(time_t t, char buf[DATE_RFC3339_SIZE]);
/* Parses exactly that form; returns 0, or -1 if S is not one. */
int date_parse_utc(const char *s, time_t *out);

#endif
