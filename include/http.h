/* The HTTP client settings every cybil download shares (SPEC §7): http
 * and https only, bounded redirects that never change protocol, TLS
 * always verified, connect/total/low-speed timeouts, a size cap, decoded
 * content encodings, and loopback, private and link-local addresses
 * refused after DNS resolution unless allowed. */
#ifndef CYBIL_HTTP_H
#define CYBIL_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct http_options {
	const char *user_agent;
	const char *ca_file;		/* extra CA bundle, or NULL */
	long timeout_ms;		/* the whole transfer */
	uint64_t max_bytes;		/* decoded body; enforced by the caller's
					 * write callback too */
	long redirects;
	bool allow_private;
	bool allow_file;
};

/* Per-transfer state of the address check; it says why a connection was
 * refused, for the capture's error text. */
struct http_guard {
	bool allow_private;
	char refused[96];
};

/* Applies OPTIONS to H, with GUARD (owned by the caller, alive for the
 * transfer) for the address check and ERRBUF for curl's messages.
 * Returns CURLE_OK or the first failing option's code. */
CURLcode http_setup(CURL *h, const struct http_options *options,
	struct http_guard *guard, char errbuf[CURL_ERROR_SIZE]);

/* Is SA loopback, private, link-local, unspecified, multicast or another
 * address no public server has? */
bool http_address_is_private(const struct sockaddr *sa);

/* The last response's header NAME, or NULL (valid until the next
 * request on H). */
const char *http_header(CURL *h, const char *name);

#endif
