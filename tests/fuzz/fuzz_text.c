/* libFuzzer target: the normalisers of untrusted strings: dates (ISO
 * 8601, RFC 822 through libcurl, the strict RFC 3339 form, which must
 * write back what it read), and URL resolution (the input split at its
 * first newline into a base and a reference, whose result must be an
 * absolute http(s) URL or nothing). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "date.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
dates(const char *s)
{
	char buf[DATE_RFC3339_SIZE];
	struct date_value d;
	time_t t;

	if (date_parse_any(s, &d) == 0)
		date_format_value(&d, buf);
	if (date_parse_utc(s, &t) == 0 &&
	    strcmp(date_format_utc(t, buf), s) != 0)
		__builtin_trap();
}

static void
urls(char *s)
{
	char *nl = strchr(s, '\n'), *url;

	if (nl)
		*nl = '\0';
	url = url_resolve(nl ? s : NULL, nl ? nl + 1 : s);
	if (url && strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		__builtin_trap();
	free(url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	dates(s);
	urls(s);
	free(s);
	return 0;
}
