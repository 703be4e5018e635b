#include "url.h"

#include <curl/curl.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* curl's own limit on a URL (CURL_MAX_INPUT_LENGTH); refusing longer ones
 * here spares the copy. */
#define URL_INPUT_MAX 8000000

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_scheme_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' ||
	    c == '-' || c == '.';
}

/* Length of the scheme that starts S ("http" in "http://h/"), or 0. */
static size_t
scheme_len(const char *s)
{
	size_t i;

	if (!is_alpha(s[0]))
		return 0;
	for (i = 1; is_scheme_char(s[i]); i++)
		;
	return s[i] == ':' ? i : 0;
}

static bool
is_web_scheme(const char *s, size_t len)
{
	return (len == 4 && strncasecmp(s, "http", 4) == 0) ||
	    (len == 5 && strncasecmp(s, "https", 5) == 0);
}

/* Bytes that may not appear in a URL as they are (RFC 3986 §2), which a
 * browser would percent-encode rather than refuse. */
static bool
needs_escape(unsigned char c)
{
	return c <= 0x20 || c >= 0x7F || strchr("\"<>\\^`{|}", c) != NULL;
}

/* Returns a malloc'd copy of S cleaned as a browser cleans an href (see
 * url.h), or NULL if nothing is left, it is too long, or memory ran out. */
static char *
clean_url(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *end, *p;
	char *tmp = NULL, *out = NULL, *q;
	bool before_query = true;
	size_t n, sl, keep = 0, i;

	while ((unsigned char)*s <= 0x20 && *s != '\0')
		s++;
	end = s + strlen(s);
	while (end > s && (unsigned char)end[-1] <= 0x20)
		end--;
	n = (size_t)(end - s);
	if (n == 0 || n > URL_INPUT_MAX)
		goto out;

	/* Tabs and line breaks go (an href wrapped over lines); before the
	 * query "\" is "/" to a browser, so "\\evil.example" is a host. */
	if ((tmp = malloc(n + 1)) == NULL)
		goto out;
	for (q = tmp, p = s; p < end; p++) {
		if (*p == '\t' || *p == '\n' || *p == '\r')
			continue;
		if (*p == '?' || *p == '#')
			before_query = false;
		*q++ = *p == '\\' && before_query ? '/' : *p;
	}
	*q = '\0';
	if (q == tmp)
		goto out;

	/* The authority is left to curl, which refuses what a host may not
	 * hold; everything after it is escaped. */
	sl = scheme_len(tmp);
	keep = sl > 0 ? sl + 1 : 0;
	if (tmp[keep] == '/' && tmp[keep + 1] == '/')
		keep += 2 + strcspn(tmp + keep + 2, "/?#");

	if ((out = malloc(3 * (size_t)(q - tmp) + 1)) == NULL)
		goto out;
	for (q = out, i = 0; tmp[i] != '\0'; i++) {
		if (i >= keep && needs_escape((unsigned char)tmp[i])) {
			*q++ = '%';
			*q++ = hex[(unsigned char)tmp[i] >> 4];
			*q++ = hex[(unsigned char)tmp[i] & 0x0F];
		} else
			*q++ = tmp[i];
	}
	*q = '\0';
out:
	free(tmp);
	return out;
}

static void
lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static bool
has_upper_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* Lower-cases the host of H (curl keeps its case); returns 0 or -1. */
static int
lower_host(CURLU *h)
{
	char *host = NULL;
	int ret = -1;

	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (has_upper_ascii(host)) {
		lower_ascii(host);
		if (curl_url_set(h, CURLUPART_HOST, host, 0) != CURLUE_OK)
			goto out;
	}
	ret = 0;
out:
	curl_free(host);
	return ret;
}

/* Copies a string curl allocated into memory free() takes. */
static char *
copy_out(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if ((p = malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}

char *
url_resolve(const char *base, const char *ref)
{
	CURLU *h = NULL;
	char *cbase = NULL, *cref = NULL, *scheme = NULL, *url = NULL;
	char *bscheme = NULL, *ret = NULL;
	const char *r;
	bool have_base = false;
	size_t sl;

	if (ref == NULL || (cref = clean_url(ref)) == NULL)
		goto out;
	if ((h = curl_url()) == NULL)
		goto out;
	if (base != NULL && (cbase = clean_url(base)) != NULL &&
	    curl_url_set(h, CURLUPART_URL, cbase, 0) == CURLUE_OK)
		have_base = true;
	if (!have_base) {
		/* A failed set may leave parts behind: start afresh. */
		curl_url_cleanup(h);
		if ((h = curl_url()) == NULL)
			goto out;
	}

	r = cref;
	if ((sl = scheme_len(r)) > 0) {
		/* Refused here, not by curl, which knows file:, ftp: and
		 * more. */
		if (!is_web_scheme(r, sl))
			goto out;
		/* "http:g" against an http base is "g" (RFC 3986 §5.2.2,
		 * as browsers read it). */
		if (have_base && strncmp(r + sl + 1, "//", 2) != 0 &&
		    curl_url_get(h, CURLUPART_SCHEME, &bscheme, 0) ==
		    CURLUE_OK && strlen(bscheme) == sl &&
		    strncasecmp(bscheme, r, sl) == 0) {
			r += sl + 1;
			if (*r == '\0')
				goto out;
		}
	}

	if (*r == '#') {
		/* curl resolves "#s" against the base's directory; RFC 3986
		 * keeps the whole base and replaces only the fragment. */
		if (!have_base || curl_url_set(h, CURLUPART_FRAGMENT,
		    r[1] != '\0' ? r + 1 : NULL, 0) != CURLUE_OK)
			goto out;
	} else if (curl_url_set(h, CURLUPART_URL, r, 0) != CURLUE_OK)
		goto out;

	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		goto out;
	if (lower_host(h) < 0)
		goto out;
	if (curl_url_get(h, CURLUPART_URL, &url, CURLU_NO_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	ret = copy_out(url);
out:
	curl_free(url);
	curl_free(scheme);
	curl_free(bscheme);
	curl_url_cleanup(h);
	free(cref);
	free(cbase);
	return ret;
}

char *
url_host(const char *url)
{
	CURLU *h = NULL;
	char *clean = NULL, *host = NULL, *ret = NULL;

	if (url == NULL || (clean = clean_url(url)) == NULL)
		goto out;
	if ((h = curl_url()) == NULL)
		goto out;
	if (curl_url_set(h, CURLUPART_URL, clean, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    *host == '\0')
		goto out;
	if ((ret = copy_out(host)) != NULL)
		lower_ascii(ret);
out:
	curl_free(host);
	curl_url_cleanup(h);
	free(clean);
	return ret;
}

bool
url_query_has(const char *url, const char *name)
{
	const char *q = url ? strchr(url, '?') : NULL;
	const char *end = q ? strchr(q, '#') : NULL;
	size_t n = strlen(name);

	if (!end && q)
		end = q + strlen(q);
	while (q && q < end) {
		q++;
		if ((size_t)(end - q) > n && strncmp(q, name, n) == 0 &&
		    q[n] == '=')
			return true;
		q = memchr(q, '&', (size_t)(end - q));
	}
	return false;
}
