#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Connecting takes at most this long, and a transfer slower than
 * LOW_SPEED_BYTES a second for LOW_SPEED_SECONDS is abandoned (each
 * bounded by the transfer's own timeout). */
#define CONNECT_TIMEOUT_MS 15000L
#define LOW_SPEED_BYTES 16L
#define LOW_SPEED_SECONDS 30L

static bool
ipv4_is_private(uint32_t a)
{
	return (a >> 24) == 0 ||		/* 0/8 "this network" */
		(a >> 24) == 10 ||		/* 10/8 */
		(a >> 24) == 127 ||		/* loopback */
		(a >> 22) == (100u << 2 | 1) ||	/* 100.64/10 shared (CGNAT) */
		(a >> 16) == (169u << 8 | 254) ||	/* link-local */
		(a >> 20) == (172u << 4 | 1) ||	/* 172.16/12 */
		(a >> 8) == (192u << 16 | 0 << 8 | 0) ||	/* 192.0.0/24 */
		(a >> 16) == (192u << 8 | 168) ||	/* 192.168/16 */
		(a >> 17) == (198u << 7 | 9) ||	/* 198.18/15 benchmarks */
		(a >> 28) >= 14;		/* multicast, reserved, broadcast */
}

bool
http_address_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return ipv4_is_private(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const struct in6_addr *a = &in6->sin6_addr;
		uint32_t v4;

		if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
			memcpy(&v4, &a->s6_addr[12], 4);
			return ipv4_is_private(ntohl(v4));
		}
		return IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
			IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) ||
			IN6_IS_ADDR_MULTICAST(a) ||
			(a->s6_addr[0] & 0xfe) == 0xfc;	/* fc00::/7 ULA */
	}
	return true;	/* no other family reaches the web */
}

/* curl calls this for every connection it opens, after DNS: the place to
 * refuse an address, whatever name or redirect led to it. */
static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct http_guard *guard = clientp;
	char text[INET6_ADDRSTRLEN] = "?";

	(void)purpose;
	if (!guard->allow_private && http_address_is_private(&addr->addr)) {
		if (addr->family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
				&addr->addr)->sin_addr, text, sizeof(text));
		else if (addr->family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)
				&addr->addr)->sin6_addr, text, sizeof(text));
		snprintf(guard->refused, sizeof(guard->refused), "refused to "
			"connect to private address %s (allow_private = no)",
			text);
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC,
		addr->protocol);
}

static long
min_long(long a, long b)
{
	return a < b ? a : b;
}

CURLcode
http_setup(CURL *h, const struct http_options *o, struct http_guard *guard,
	char errbuf[CURL_ERROR_SIZE])
{
	const char *protocols = o->allow_file ? "http,https,file" :
		"http,https";
	CURLcode rc;

	guard->allow_private = o->allow_private;
	guard->refused[0] = '\0';
	errbuf[0] = '\0';
#define SET(opt, val) \
	if ((rc = curl_easy_setopt(h, opt, val)) != CURLE_OK) \
		return rc
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, protocols);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, o->redirects);
	SET(CURLOPT_USERAGENT, o->user_agent);
	SET(CURLOPT_ACCEPT_ENCODING, "");	/* all that curl decodes */
	SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, min_long(o->timeout_ms,
		CONNECT_TIMEOUT_MS));
	SET(CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
	SET(CURLOPT_LOW_SPEED_TIME, min_long(LOW_SPEED_SECONDS,
		(o->timeout_ms + 999) / 1000));
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		SET(CURLOPT_CAINFO, o->ca_file);
	/* Proxies from the environment would hide the address checked. */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, guard);
#undef SET
	return CURLE_OK;
}

const char *
http_header(CURL *h, const char *name)
{
	struct curl_header *header;

	if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &header) !=
	    CURLHE_OK)
		return NULL;
	return header->value;
}
