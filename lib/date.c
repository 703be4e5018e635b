#include "date.h"

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

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != DATE_RFC3339_SIZE - 1)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}
