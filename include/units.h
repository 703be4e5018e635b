/* Numbers from users: bounded integers, sizes, durations, shares and
 * booleans, parsed strictly with range checks (never atoi). Each parser
 * returns 0, or -1 and points *why at a static explanation. */
#ifndef CYBIL_UNITS_H
#define CYBIL_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A share is kept in hundredths of a percent: "12.5%" is 1250. */
#define UNITS_SHARE_WHOLE 10000u

int units_parse_uint(const char *s, uint64_t min, uint64_t max,
	uint64_t *out, const char **why);
/* Bytes, with an optional K, M or G suffix (powers of 1024). */
int units_parse_size(const char *s, uint64_t min, uint64_t max,
	uint64_t *out, const char **why);
/* Seconds, as one or more NUMBER UNIT pairs with units s, m, h, d, w
 * ("1h30m"); a bare number is seconds. */
int units_parse_duration(const char *s, int64_t min, int64_t max,
	int64_t *out, const char **why);
/* "N%" or "N.NN%", 0 to 100. */
int units_parse_share(const char *s, unsigned *out, const char **why);
/* yes/no, true/false, on/off, 1/0. */
int units_parse_bool(const char *s, bool *out, const char **why);

/* Writes a duration as the largest whole units ("1d", "90m", "45s"). */
void units_format_duration(int64_t seconds, char *buf, size_t size);

#endif
