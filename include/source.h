/* What fetch and parse both need to know of a configured source. */
#ifndef CYBIL_SOURCE_H
#define CYBIL_SOURCE_H

#include <stdbool.h>

#include "config.h"

/* The URL SRC is fetched at: its url, or for OAI-PMH the ListRecords
 * request on that base URL, with `from` when HARVEST_FROM is not NULL.
 * Returns a malloc'd string, or NULL. */
char *source_request_url(const struct source_config *src,
	const char *harvest_from);

/* May SRC follow a link to URL? Its host must be one of follow_hosts
 * ("*.example.org" covers the subdomains). */
bool source_follows_host(const struct source_config *src, const char *url);

#endif
