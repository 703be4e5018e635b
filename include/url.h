/* Absolute http(s) URLs from the links sources give (libcurl's URL API). */
#ifndef CYBIL_URL_H
#define CYBIL_URL_H

#include <stdbool.h>

/* Returns a malloc'd absolute URL: REF resolved against BASE as RFC 3986
 * §5 says, then normalised (scheme and host in lower case, dot segments
 * removed, a default port dropped). REF is cleaned first as browsers
 * clean an href: white space and controls at either end are trimmed, tabs
 * and line breaks inside removed, "\" before the query read as "/", and
 * spaces, other controls, non-ASCII bytes and " < > \ ^ ` { | } outside
 * the host percent-encoded. "http:g" with an http BASE is the relative
 * "g" (RFC 3986 §5.2.2's backward-compatible reading); an empty REF gives
 * NULL, and so does a result that is not an absolute http or https URL
 * (javascript:, data:, mailto:, file: ...), or a BASE that cannot be
 * parsed when REF is not absolute. BASE may be NULL. NULL also when out
 * of memory. An internationalised host is left as given. */
char *url_resolve(const char *base, const char *ref);

/* Returns the malloc'd host of the absolute URL URL in lower case (an
 * IPv6 address in brackets), or NULL if URL has none or is no URL. */
char *url_host(const char *url);

/* True if the query of URL has the argument NAME ("NAME=..."); false
 * for a URL without a query and for NULL. */
bool url_query_has(const char *url, const char *name);

#endif
