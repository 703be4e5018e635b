#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses the leading decimal digits of S; *END is left after them. */
static int
parse_digits(const char *s, uint64_t *out, const char **end, const char **why)
{
	char *e;
	unsigned long long v;

	if (!isdigit((unsigned char)*s)) {
		*why = "expected a number";
		return -1;
	}
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno == ERANGE) {
		*why = "number too large";
		return -1;
	}
	*out = v;
	*end = e;
	return 0;
}

static int
check_range(uint64_t v, uint64_t min, uint64_t max, const char **why)
{
	if (v < min) {
		*why = "value too small";
		return -1;
	}
	if (v > max) {
		*why = "value too large";
		return -1;
	}
	return 0;
}

int
units_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
	const char **why)
{
	uint64_t v;
	const char *end;

	if (parse_digits(s, &v, &end, why) < 0)
		return -1;
	if (*end != '\0') {
		*why = "expected a whole number";
		return -1;
	}
	if (check_range(v, min, max, why) < 0)
		return -1;
	*out = v;
	return 0;
}

int
units_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
	const char **why)
{
	uint64_t v, scale = 1;
	const char *end;

	if (parse_digits(s, &v, &end, why) < 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'K': scale = 1024; end++; break;
	case 'M': scale = 1024 * 1024; end++; break;
	case 'G': scale = 1024 * 1024 * 1024; end++; break;
	default:
		*why = "expected a size such as 512K, 50M or 1G";
		return -1;
	}
	if (*end != '\0') {
		*why = "expected a size such as 512K, 50M or 1G";
		return -1;
	}
	if (v > UINT64_MAX / scale) {
		*why = "value too large";
		return -1;
	}
	v *= scale;
	if (check_range(v, min, max, why) < 0)
		return -1;
	*out = v;
	return 0;
}

static int64_t
duration_unit(char c)
{
	switch (c) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 7 * 86400;
	default: return 0;
	}
}

int
units_parse_duration(const char *s, int64_t min, int64_t max, int64_t *out,
	const char **why)
{
	static const char expected[] = "expected a duration such as 30s, 5m, "
		"1h, 7d or 1h30m";
	uint64_t v, total = 0;
	const char *p = s, *end;
	int64_t unit;

	if (*p == '\0') {
		*why = expected;
		return -1;
	}
	while (*p) {
		if (!isdigit((unsigned char)*p)) {
			*why = expected;
			return -1;
		}
		if (parse_digits(p, &v, &end, why) < 0)
			return -1;
		unit = *end ? duration_unit(*end) : 1;
		if (unit == 0 || (*end == '\0' && p != s)) {
			*why = expected;
			return -1;
		}
		if (v > (uint64_t)INT64_MAX / (uint64_t)unit ||
		    total > (uint64_t)INT64_MAX - v * (uint64_t)unit) {
			*why = "value too large";
			return -1;
		}
		total += v * (uint64_t)unit;
		p = *end ? end + 1 : end;
	}
	if ((int64_t)total < min) {
		*why = "value too small";
		return -1;
	}
	if ((int64_t)total > max) {
		*why = "value too large";
		return -1;
	}
	*out = (int64_t)total;
	return 0;
}

int
units_parse_share(const char *s, unsigned *out, const char **why)
{
	static const char expected[] = "expected a share such as 10% or 12.5%";
	uint64_t whole, hundredths = 0;
	const char *end;

	if (!isdigit((unsigned char)*s)) {
		*why = expected;
		return -1;
	}
	if (parse_digits(s, &whole, &end, why) < 0)
		return -1;
	if (*end == '.') {
		end++;
		if (!isdigit((unsigned char)end[0])) {
			*why = expected;
			return -1;
		}
		hundredths = (uint64_t)(end[0] - '0') * 10;
		end++;
		if (isdigit((unsigned char)end[0]))
			hundredths += (uint64_t)(end[0] - '0'), end++;
	}
	if (strcmp(end, "%") != 0) {
		*why = expected;
		return -1;
	}
	if (whole > 100 || (whole == 100 && hundredths > 0)) {
		*why = "a share is at most 100%";
		return -1;
	}
	*out = (unsigned)(whole * 100 + hundredths);
	return 0;
}

int
units_parse_bool(const char *s, bool *out, const char **why)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	*why = "expected yes or no";
	return -1;
}

void
units_format_duration(int64_t seconds, char *buf, size_t size)
{
	static const struct { int64_t length; char name; } units[] = {
		{ 7 * 86400, 'w' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (seconds != 0 && seconds % units[i].length == 0) {
			snprintf(buf, size, "%lld%c",
				(long long)(seconds / units[i].length),
				units[i].name);
			return;
		}
	}
	snprintf(buf, size, "%llds", (long long)seconds);
}
