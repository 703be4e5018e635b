#include "source.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *
source_request_url(const struct source_config *src, const char *harvest_from)
{
	struct { const char *name, *value; } args[] = {
		{ "verb", "ListRecords" },
		{ "metadataPrefix", src->oai_prefix },
		{ "set", src->oai_set },
		{ "from", harvest_from },
	};
	char arg[1024], *url = NULL, *copy = NULL;
	CURLU *u;

	if (!(u = curl_url()) ||
	    curl_url_set(u, CURLUPART_URL, src->url, 0) != CURLUE_OK)
		goto out;
	for (size_t i = 0; src->kind == SOURCE_OAI_PMH &&
	     i < sizeof(args) / sizeof(args[0]); i++) {
		if (!args[i].value ||
		    snprintf(arg, sizeof(arg), "%s=%s", args[i].name,
		    args[i].value) >= (int)sizeof(arg))
			continue;
		if (curl_url_set(u, CURLUPART_QUERY, arg, CURLU_APPENDQUERY |
		    CURLU_URLENCODE) != CURLUE_OK)
			goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK)
		copy = strdup(url);
out:
	curl_free(url);
	curl_url_cleanup(u);
	return copy;
}

bool
source_follows_host(const struct source_config *src, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	bool ok = false;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		size_t hl = strlen(host);

		for (size_t i = 0; i < src->nfollow_hosts && !ok; i++) {
			const char *f = src->follow_hosts[i];
			size_t fl = strlen(f);

			if (strncmp(f, "*.", 2) == 0)
				ok = hl > fl - 1 && strcasecmp(host + hl -
					(fl - 1), f + 1) == 0;
			else
				ok = strcasecmp(host, f) == 0;
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}
