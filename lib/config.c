#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <ini.h>
#include <libxml/xpath.h>
#include <libxml/xmlerror.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "units.h"

/* inih stops at this many bytes per line (with CR, LF and NUL); the
 * pre-scan refuses longer lines instead of letting inih split them. */
#define CONFIG_MAX_LINE 8192
/* inih cuts section names at 49 bytes: `source "` + NAME + `"` fits. */
#define SOURCE_NAME_MAX 40
#define FIELD_NAME_MAX 64
#define CONFIG_FIELDS_MAX 256
#define CONFIG_SOURCES_MAX 100000

#define SECONDS_MAX ((int64_t)10 * 365 * 86400)

enum key_type {
	KEY_STRING,	/* any non-empty text */
	KEY_PATH,	/* resolved against the config's folder */
	KEY_UINT,
	KEY_SIZE,
	KEY_DURATION,
	KEY_SHARE,
	KEY_BOOL,
	KEY_CUSTOM	/* checked by the section's own function */
};

struct key_spec {
	const char *section;	/* NULL for keys of [source "NAME"] */
	const char *name;
	enum key_type type;
	size_t offset;		/* into struct config or source_config */
	const char *fallback;	/* default, parsed like a value; NULL: none */
	uint64_t min, max;
};

#define CFG(f) offsetof(struct config, f)
#define SRC(f) offsetof(struct source_config, f)

static const struct key_spec keys[] = {
	{ "store", "path", KEY_PATH, CFG(store_path), "var/cybil.db", 0, 0 },
	{ "store", "blobs", KEY_PATH, CFG(blobs_dir), "var/blobs", 0, 0 },
	{ "store", "evidence", KEY_PATH, CFG(evidence_dir), "var/evidence",
	  0, 0 },
	{ "log", "syslog", KEY_BOOL, CFG(syslog), "no", 0, 0 },
	{ "fetch", "parallel", KEY_UINT, CFG(fetch_parallel), "16", 1, 1024 },
	{ "fetch", "per_host", KEY_UINT, CFG(fetch_per_host), "4", 1, 256 },
	{ "fetch", "timeout", KEY_DURATION, CFG(fetch_timeout), "30s", 1,
	  86400 },
	{ "fetch", "deadline", KEY_DURATION, CFG(fetch_deadline), "1h", 1,
	  7 * 86400 },
	{ "fetch", "max_bytes", KEY_SIZE, CFG(fetch_max_bytes), "50M", 1024,
	  (uint64_t)64 << 30 },
	{ "fetch", "redirects", KEY_UINT, CFG(fetch_redirects), "5", 0, 50 },
	{ "fetch", "retries", KEY_UINT, CFG(fetch_retries), "3", 0, 20 },
	{ "fetch", "retry_after_max", KEY_DURATION,
	  CFG(fetch_retry_after_max), "5m", 0, 86400 },
	{ "fetch", "user_agent", KEY_CUSTOM, CFG(user_agent), "cybil/VERSION",
	  0, 0 },
	{ "fetch", "ca_file", KEY_PATH, CFG(ca_file), NULL, 0, 0 },
	{ "fetch", "allow_private", KEY_BOOL, CFG(allow_private), "no", 0, 0 },
	{ "parse", "max_records", KEY_UINT, CFG(parse_max_records), "100000",
	  1, 100000000 },
	{ "parse", "max_field", KEY_SIZE, CFG(parse_max_field), "1M", 64,
	  (uint64_t)1 << 30 },
	{ "parse", "entity_budget", KEY_SIZE, CFG(parse_entity_budget), "1M",
	  0, (uint64_t)1 << 30 },
	{ "parse", "language", KEY_CUSTOM, CFG(language), "en", 0, 0 },
	{ "publish", "dir", KEY_PATH, CFG(publish_dir), "var/public", 0, 0 },
	{ "publish", "key", KEY_PATH, CFG(publish_key), "var/keys/cybil.key",
	  0, 0 },
	{ "publish", "expires", KEY_DURATION, CFG(publish_expires), "7d", 60,
	  SECONDS_MAX },
	{ "publish", "keep", KEY_UINT, CFG(publish_keep), "20", 1, 100000 },
	{ "publish", "max_drop", KEY_SHARE, CFG(publish_max_drop), "10%", 0,
	  0 },
	{ "publish", "level", KEY_UINT, CFG(publish_level), "3", 1, 19 },
	{ "publish", "threads", KEY_UINT, CFG(publish_threads), "2", 1, 64 },
	{ "publish", "title", KEY_STRING, CFG(publish_title), NULL, 0, 0 },
	{ "publish", "name", KEY_CUSTOM, CFG(publish_name), NULL, 0, 0 },
	{ "publish", "licence", KEY_STRING, CFG(publish_licence), NULL, 0, 0 },
	{ "publish", "homepage", KEY_CUSTOM, CFG(publish_homepage), NULL, 0,
	  0 },
	{ "review", "listen", KEY_CUSTOM, CFG(review_listen), "127.0.0.1:8470",
	  0, 0 },
	{ "review", "tls_cert", KEY_PATH, CFG(review_tls_cert), NULL, 0, 0 },
	{ "review", "tls_key", KEY_PATH, CFG(review_tls_key), NULL, 0, 0 },
	{ "review", "secure_cookies", KEY_CUSTOM, CFG(secure_cookies), "auto",
	  0, 0 },
	{ "review", "session_ttl", KEY_DURATION, CFG(review_session_ttl),
	  "8h", 60, 90 * 86400 },

	{ NULL, "kind", KEY_CUSTOM, SRC(kind), NULL, 0, 0 },
	{ NULL, "url", KEY_CUSTOM, SRC(url), NULL, 0, 0 },
	{ NULL, "record_kind", KEY_CUSTOM, SRC(record_kind), NULL, 0, 0 },
	{ NULL, "consent", KEY_CUSTOM, SRC(consent_public), "pending", 0, 0 },
	{ NULL, "repend_on_change", KEY_BOOL, SRC(repend_on_change), "yes",
	  0, 0 },
	{ NULL, "gone_max_share", KEY_SHARE, SRC(gone_max_share), "20%", 0,
	  0 },
	{ NULL, "interval", KEY_DURATION, SRC(interval), "1d", 0,
	  SECONDS_MAX },
	{ NULL, "licence", KEY_STRING, SRC(licence), NULL, 0, 0 },
	{ NULL, "attribution", KEY_STRING, SRC(attribution), NULL, 0, 0 },
	{ NULL, "allow_file", KEY_BOOL, SRC(allow_file), "no", 0, 0 },
	{ NULL, "robots", KEY_BOOL, SRC(robots), NULL, 0, 0 },
	{ NULL, "follow", KEY_CUSTOM, SRC(follow), NULL, 0, 0 },
	{ NULL, "follow_hosts", KEY_CUSTOM, SRC(follow_hosts), NULL, 0, 0 },
	{ NULL, "follow_max", KEY_UINT, SRC(follow_max), "500", 0, 1000000 },
	{ NULL, "record", KEY_CUSTOM, SRC(record), NULL, 0, 0 },
	{ NULL, "oai_prefix", KEY_CUSTOM, SRC(oai_prefix), "oai_dc", 0, 0 },
	{ NULL, "oai_set", KEY_CUSTOM, SRC(oai_set), NULL, 0, 0 },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const global_sections[] = {
	"store", "log", "fetch", "parse", "publish", "review",
};

static const char *const kind_names[] = {
	[SOURCE_RSS] = "rss",
	[SOURCE_ATOM] = "atom",
	[SOURCE_HTML] = "html",
	[SOURCE_IATI] = "iati",
	[SOURCE_OAI_PMH] = "oai-pmh",
};

static const char *const default_record_kinds[] = {
	[SOURCE_RSS] = "news",
	[SOURCE_ATOM] = "news",
	[SOURCE_HTML] = "page",
	[SOURCE_IATI] = "project",
	[SOURCE_OAI_PMH] = "publication",
};

/* Where each key of a section was set, for errors found after reading. */
struct key_lines {
	int line[NKEYS];
	int field_line;		/* the first field.NAME */
	char field_key[80];	/* and its key, for errors */
};

struct parse_state {
	struct config *cfg;
	struct key_lines global_lines;
	struct key_lines *source_lines;	/* parallel to cfg->sources */
	char *err;
	size_t errlen;
	bool failed;
};

static void
set_error(struct parse_state *st, int line, const char *key, const char *fmt,
	...) __attribute__((format(printf, 4, 5)));

static void
set_error(struct parse_state *st, int line, const char *key, const char *fmt,
	...)
{
	char why[512];
	va_list ap;

	if (st->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line > 0 && key)
		snprintf(st->err, st->errlen, "%s:%d: %s: %s", st->cfg->path,
			line, key, why);
	else if (line > 0)
		snprintf(st->err, st->errlen, "%s:%d: %s", st->cfg->path, line,
			why);
	else
		snprintf(st->err, st->errlen, "%s: %s", st->cfg->path, why);
	st->failed = true;
}

const char *
config_kind_name(enum source_kind kind)
{
	return kind_names[kind];
}

static char *
join_path(const char *dir, const char *path)
{
	size_t n;
	char *s;

	if (path[0] == '/' || strcmp(dir, ".") == 0)
		return strdup(path);
	n = strlen(dir) + strlen(path) + 2;
	if (!(s = malloc(n)))
		return NULL;
	snprintf(s, n, "%s/%s", dir, path);
	return s;
}

/* Replaces every "VERSION" in S with the program's version. */
static char *
expand_version(const char *s)
{
	static const char word[] = "VERSION";
	const char *p, *hit;
	size_t count = 0, len;
	char *out, *o;

	for (p = s; (hit = strstr(p, word)); p = hit + strlen(word))
		count++;
	len = strlen(s) + count * (strlen(CYBIL_VERSION) + 1);
	if (!(out = malloc(len + 1)))
		return NULL;
	o = out;
	for (p = s; (hit = strstr(p, word)); p = hit + strlen(word)) {
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, CYBIL_VERSION, strlen(CYBIL_VERSION));
		o += strlen(CYBIL_VERSION);
	}
	strcpy(o, p);	/* fits: len counted every piece */
	return out;
}

static bool
matches_charset(const char *s, size_t maxlen, const char *extra)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return n > 0 && n <= maxlen;
}

/* Lower-case letters and digits plus EXTRA, at most MAXLEN bytes; with
 * LETTER_FIRST it must start with a letter. */
static bool
is_lower_token(const char *s, size_t maxlen, const char *extra,
	bool letter_first)
{
	if (letter_first && !islower((unsigned char)s[0]))
		return false;
	return matches_charset(s, maxlen, extra) &&
		!strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static bool
valid_language_tag(const char *s)
{
	size_t n = 0;

	/* A primary subtag of 2-3 letters, then alphanumeric subtags. */
	while (isalpha((unsigned char)s[n]))
		n++;
	if (n < 2 || n > 3)
		return false;
	for (s += n; *s == '-'; s += n) {
		s++;
		for (n = 0; isalnum((unsigned char)s[n]); n++)
			;
		if (n < 1 || n > 8)
			return false;
	}
	return *s == '\0';
}

static void
quiet_xml_errors(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static bool
valid_xpath(const char *expr)
{
	xmlXPathCompExprPtr comp;

	xmlSetGenericErrorFunc(NULL, quiet_xml_errors);
	comp = xmlXPathCompile((const xmlChar *)expr);
	xmlSetGenericErrorFunc(NULL, NULL);
	if (!comp)
		return false;
	xmlXPathFreeCompExpr(comp);
	return true;
}

/* Returns the lower-cased scheme and host of URL, or -1 if it is not an
 * absolute URL. */
static int
url_parts(const char *url, char **scheme, char **host)
{
	CURLU *u;
	int rc = -1;

	*scheme = *host = NULL;
	if (!(u = curl_url()))
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
		*host = NULL;	/* file:/// has none */
	rc = 0;
out:
	curl_url_cleanup(u);
	return rc;
}

static bool
valid_listen(const char *s, bool *loopback)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;
	const char *why;
	struct in_addr v4;
	char host[256];
	size_t n;

	if (!colon || colon == s)
		return false;
	n = (size_t)(colon - s);
	if (n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	if (units_parse_uint(colon + 1, 1, 65535, &port, &why) < 0)
		return false;
	*loopback = strcmp(host, "localhost") == 0 ||
		strcmp(host, "[::1]") == 0 ||
		(inet_pton(AF_INET, host, &v4) == 1 &&
		 (ntohl(v4.s_addr) >> 24) == 127);
	return matches_charset(host, sizeof(host) - 1, ".-:[]");
}

static int
set_string(struct parse_state *st, char **slot, const char *value, int line,
	const char *key)
{
	char *copy;

	if (*value == '\0') {
		set_error(st, line, key, "empty value");
		return -1;
	}
	if (!(copy = strdup(value))) {
		set_error(st, line, key, "out of memory");
		return -1;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

static int
set_follow_hosts(struct parse_state *st, struct source_config *src,
	const char *value, int line)
{
	char *copy, *tok, *save = NULL;
	char **hosts = NULL;
	size_t n = 0;
	int rc = -1;

	if (!(copy = strdup(value)))
		goto oom;
	for (tok = strtok_r(copy, " ,", &save); tok;
	     tok = strtok_r(NULL, " ,", &save)) {
		char **grown;

		if (!matches_charset(tok, 253, ".-*")) {
			set_error(st, line, "follow_hosts", "bad host name "
				"\"%s\"", tok);
			goto out;
		}
		if (!(grown = realloc(hosts, (n + 1) * sizeof(*hosts))))
			goto oom;
		hosts = grown;
		if (!(hosts[n] = strdup(tok)))
			goto oom;
		for (char *c = hosts[n]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		n++;
	}
	if (n == 0) {
		set_error(st, line, "follow_hosts", "empty value");
		goto out;
	}
	for (size_t i = 0; i < src->nfollow_hosts; i++)
		free(src->follow_hosts[i]);
	free(src->follow_hosts);
	src->follow_hosts = hosts;
	src->nfollow_hosts = n;
	hosts = NULL;
	n = 0;
	rc = 0;
	goto out;
oom:
	set_error(st, line, "follow_hosts", "out of memory");
out:
	for (size_t i = 0; i < n; i++)
		free(hosts[i]);
	free(hosts);
	free(copy);
	return rc;
}

static int
set_custom_global(struct parse_state *st, const struct key_spec *k,
	const char *value, int line)
{
	struct config *cfg = st->cfg;
	const char *why;
	bool loopback, secure;

	if (strcmp(k->name, "user_agent") == 0) {
		char *ua;

		if (*value == '\0') {
			set_error(st, line, k->name, "empty value");
			return -1;
		}
		if (!(ua = expand_version(value))) {
			set_error(st, line, k->name, "out of memory");
			return -1;
		}
		free(cfg->user_agent);
		cfg->user_agent = ua;
		return 0;
	}
	if (strcmp(k->name, "language") == 0) {
		if (!valid_language_tag(value)) {
			set_error(st, line, k->name, "expected a language tag "
				"such as en or pt-BR");
			return -1;
		}
		return set_string(st, &cfg->language, value, line, k->name);
	}
	if (strcmp(k->name, "name") == 0) {
		if (!is_lower_token(value, 100, "-_.", false)) {
			set_error(st, line, k->name, "expected lower-case "
				"letters, digits, - _ and . (a data package "
				"name)");
			return -1;
		}
		return set_string(st, &cfg->publish_name, value, line,
			k->name);
	}
	if (strcmp(k->name, "homepage") == 0) {
		char *scheme, *host;
		bool web;

		if (url_parts(value, &scheme, &host) < 0) {
			set_error(st, line, k->name, "expected an absolute "
				"http or https URL");
			return -1;
		}
		web = host && (strcmp(scheme, "http") == 0 ||
			strcmp(scheme, "https") == 0);
		curl_free(scheme);
		curl_free(host);
		if (!web) {
			set_error(st, line, k->name, "expected an absolute "
				"http or https URL");
			return -1;
		}
		return set_string(st, &cfg->publish_homepage, value, line,
			k->name);
	}
	if (strcmp(k->name, "listen") == 0) {
		if (!valid_listen(value, &loopback)) {
			set_error(st, line, k->name, "expected HOST:PORT such "
				"as 127.0.0.1:8470");
			return -1;
		}
		return set_string(st, &cfg->review_listen, value, line,
			k->name);
	}
	/* secure_cookies */
	if (strcmp(value, "auto") == 0) {
		cfg->secure_cookies = -1;
		return 0;
	}
	if (units_parse_bool(value, &secure, &why) < 0) {
		set_error(st, line, k->name, "expected auto, yes or no");
		return -1;
	}
	cfg->secure_cookies = secure;
	return 0;
}

static int
set_kind(struct parse_state *st, struct source_config *src, const char *value,
	int line)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(value, kind_names[i]) == 0) {
			src->kind = (enum source_kind)i;
			return 0;
		}
	set_error(st, line, "kind", "expected rss, atom, html, iati or "
		"oai-pmh");
	return -1;
}

static int
set_custom_source(struct parse_state *st, struct source_config *src,
	const struct key_spec *k, const char *value, int line)
{
	if (strcmp(k->name, "kind") == 0)
		return set_kind(st, src, value, line);
	if (strcmp(k->name, "consent") == 0) {
		if (strcmp(value, "public") != 0 &&
		    strcmp(value, "pending") != 0) {
			set_error(st, line, k->name, "expected public or "
				"pending (records are granted one by one, "
				"with evidence)");
			return -1;
		}
		src->consent_public = strcmp(value, "public") == 0;
		return 0;
	}
	if (strcmp(k->name, "record_kind") == 0) {
		if (!is_lower_token(value, 32, "-", true)) {
			set_error(st, line, k->name, "expected a lower-case "
				"word such as news, project or actor");
			return -1;
		}
		return set_string(st, &src->record_kind, value, line, k->name);
	}
	if (strcmp(k->name, "follow_hosts") == 0)
		return set_follow_hosts(st, src, value, line);
	if (strcmp(k->name, "follow") == 0 || strcmp(k->name, "record") == 0) {
		if (!valid_xpath(value)) {
			set_error(st, line, k->name, "not a valid XPath "
				"expression");
			return -1;
		}
		return set_string(st, (char **)((char *)src + k->offset), value,
			line, k->name);
	}
	if (strcmp(k->name, "oai_prefix") == 0 ||
	    strcmp(k->name, "oai_set") == 0) {
		if (!matches_charset(value, 256, "-_.!~*'():")) {
			set_error(st, line, k->name, "expected letters, "
				"digits and - _ . ! ~ * ' ( ) :");
			return -1;
		}
		return set_string(st, (char **)((char *)src + k->offset), value,
			line, k->name);
	}
	/* url: its scheme is checked once allow_file is known */
	return set_string(st, &src->url, value, line, k->name);
}

/* Stores VALUE at BASE + k->offset according to its type. */
static int
set_value(struct parse_state *st, void *base, const struct key_spec *k,
	const char *value, int line)
{
	void *slot = (char *)base + k->offset;
	const char *why = NULL;
	uint64_t u;
	int64_t d;
	unsigned share;
	bool b;

	switch (k->type) {
	case KEY_STRING:
		return set_string(st, slot, value, line, k->name);
	case KEY_PATH: {
		char *path;

		if (*value == '\0') {
			set_error(st, line, k->name, "empty value");
			return -1;
		}
		if (!(path = join_path(st->cfg->dir, value))) {
			set_error(st, line, k->name, "out of memory");
			return -1;
		}
		free(*(char **)slot);
		*(char **)slot = path;
		return 0;
	}
	case KEY_UINT:
		if (units_parse_uint(value, k->min, k->max, &u, &why) < 0)
			break;
		*(uint64_t *)slot = u;
		return 0;
	case KEY_SIZE:
		if (units_parse_size(value, k->min, k->max, &u, &why) < 0)
			break;
		*(uint64_t *)slot = u;
		return 0;
	case KEY_DURATION:
		if (units_parse_duration(value, (int64_t)k->min,
		    (int64_t)k->max, &d, &why) < 0)
			break;
		*(int64_t *)slot = d;
		return 0;
	case KEY_SHARE:
		if (units_parse_share(value, &share, &why) < 0)
			break;
		*(unsigned *)slot = share;
		return 0;
	case KEY_BOOL:
		if (units_parse_bool(value, &b, &why) < 0)
			break;
		*(bool *)slot = b;
		return 0;
	case KEY_CUSTOM:
		if (k->section)
			return set_custom_global(st, k, value, line);
		return set_custom_source(st, base, k, value, line);
	}
	if (k->type == KEY_UINT || k->type == KEY_SIZE ||
	    k->type == KEY_DURATION)
		set_error(st, line, k->name, "%s (allowed: %llu to %llu)", why,
			(unsigned long long)k->min,
			(unsigned long long)k->max);
	else
		set_error(st, line, k->name, "%s", why);
	return -1;
}

static int
apply_defaults(struct parse_state *st, void *base, bool source_keys)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if ((keys[i].section == NULL) != source_keys ||
		    !keys[i].fallback)
			continue;
		if (set_value(st, base, &keys[i], keys[i].fallback, 0) < 0)
			return -1;
	}
	return 0;
}

/* "source \"NAME\"" → NAME, or NULL. */
static bool
source_section_name(const char *section, char *name, size_t size)
{
	size_t n;

	if (strncmp(section, "source \"", 8) != 0)
		return false;
	section += 8;
	n = strlen(section);
	if (n < 2 || section[n - 1] != '"' || n - 1 >= size)
		return false;
	memcpy(name, section, n - 1);
	name[n - 1] = '\0';
	return matches_charset(name, SOURCE_NAME_MAX, "-_.");
}

static bool
is_global_section(const char *section)
{
	for (size_t i = 0; i < sizeof(global_sections) /
	     sizeof(global_sections[0]); i++)
		if (strcmp(section, global_sections[i]) == 0)
			return true;
	return false;
}

static size_t
name_hash(const char *s)
{
	size_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* The slot holding NAME, or the empty slot where it would go. */
static size_t *
name_slot(const struct config *cfg, const char *name)
{
	size_t mask = cfg->nname_slots - 1, i = name_hash(name) & mask;

	while (cfg->name_slots[i] &&
	    strcmp(cfg->sources[cfg->name_slots[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return &cfg->name_slots[i];
}

/* Keeps the table at most half full. Returns 0 or -1. */
static int
grow_name_slots(struct config *cfg)
{
	size_t n = cfg->nname_slots ? 2 * cfg->nname_slots : 64;
	size_t *old = cfg->name_slots, nold = cfg->nname_slots;

	if (cfg->nsources + 1 <= nold / 2)
		return 0;
	if (!(cfg->name_slots = calloc(n, sizeof(*cfg->name_slots)))) {
		cfg->name_slots = old;
		return -1;
	}
	cfg->nname_slots = n;
	for (size_t i = 0; i < nold; i++)
		if (old[i])
			*name_slot(cfg, cfg->sources[old[i] - 1].name) = old[i];
	free(old);
	return 0;
}

static int
grow_sources(struct parse_state *st)
{
	struct config *cfg = st->cfg;
	size_t cap = cfg->sources_cap ? 2 * cfg->sources_cap : 16;
	struct source_config *sources;
	struct key_lines *lines;

	if (cfg->nsources < cfg->sources_cap)
		return 0;
	if (!(sources = realloc(cfg->sources, cap * sizeof(*sources))))
		return -1;
	cfg->sources = sources;
	if (!(lines = realloc(st->source_lines, cap * sizeof(*lines))))
		return -1;
	st->source_lines = lines;
	cfg->sources_cap = cap;
	return 0;
}

static int
add_source(struct parse_state *st, const char *name, int line)
{
	struct config *cfg = st->cfg;
	struct source_config *src;
	size_t *slot;

	if (cfg->nname_slots && *(slot = name_slot(cfg, name))) {
		set_error(st, line, NULL, "[source \"%s\"]: duplicate source "
			"(first at line %d)", name,
			cfg->sources[*slot - 1].line);
		return -1;
	}
	if (cfg->nsources >= CONFIG_SOURCES_MAX) {
		set_error(st, line, NULL, "too many sources (at most %d)",
			CONFIG_SOURCES_MAX);
		return -1;
	}
	if (grow_sources(st) < 0 || grow_name_slots(cfg) < 0)
		goto oom;
	src = &cfg->sources[cfg->nsources];
	memset(src, 0, sizeof(*src));
	memset(&st->source_lines[cfg->nsources], 0,
		sizeof(st->source_lines[0]));
	src->line = line;
	if (!(src->name = strdup(name)))
		goto oom;
	cfg->nsources++;
	*name_slot(cfg, name) = cfg->nsources;
	return apply_defaults(st, src, true);
oom:
	set_error(st, line, NULL, "out of memory");
	return -1;
}

static ssize_t
source_index(const struct config *cfg, const char *name)
{
	size_t *slot;

	if (!cfg->nname_slots || !*(slot = name_slot(cfg, name)))
		return -1;
	return (ssize_t)*slot - 1;
}

/* inih never reports a section without keys and silently splits long
 * lines, so section headers and line lengths are checked first. */
static int
prescan(struct parse_state *st, FILE *f)
{
	char *line = NULL, *p, *end, name[SOURCE_NAME_MAX + 1];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = -1;

	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n > CONFIG_MAX_LINE - 3) {
			set_error(st, lineno, NULL, "line too long (at most "
				"%d bytes)", CONFIG_MAX_LINE - 3);
			goto out;
		}
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3;
		if (*p != '[')
			continue;
		if (!(end = strchr(p, ']'))) {
			set_error(st, lineno, NULL, "section header without "
				"']'");
			goto out;
		}
		*end = '\0';
		p++;	/* inih takes the name verbatim, blanks included */
		if (is_global_section(p))
			continue;
		if (!source_section_name(p, name, sizeof(name))) {
			if (strncmp(p, "source", 6) == 0)
				set_error(st, lineno, NULL, "[%s]: expected "
					"[source \"NAME\"] with a NAME of at "
					"most %d letters, digits, - _ and .", p,
					SOURCE_NAME_MAX);
			else
				set_error(st, lineno, NULL, "[%s]: unknown "
					"section", p);
			goto out;
		}
		if (add_source(st, name, lineno) < 0)
			goto out;
	}
	if (ferror(f)) {
		set_error(st, 0, NULL, "read error: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

static const struct key_spec *
find_key(const char *section, const char *name, size_t *index)
{
	for (size_t i = 0; i < NKEYS; i++) {
		bool same_section = section ? keys[i].section &&
			strcmp(keys[i].section, section) == 0 :
			keys[i].section == NULL;

		if (same_section && strcmp(keys[i].name, name) == 0) {
			*index = i;
			return &keys[i];
		}
	}
	return NULL;
}

static int
set_field(struct parse_state *st, struct source_config *src,
	struct key_lines *lines, const char *key, const char *value, int line)
{
	const char *name = key + strlen("field.");
	struct html_field *grown;

	if (!is_lower_token(name, FIELD_NAME_MAX, "_", true)) {
		set_error(st, line, key, "a field name is lower-case letters, "
			"digits and _");
		return -1;
	}
	for (size_t i = 0; i < src->nfields; i++)
		if (strcmp(src->fields[i].name, name) == 0) {
			set_error(st, line, key, "set twice in this section");
			return -1;
		}
	if (src->nfields >= CONFIG_FIELDS_MAX) {
		set_error(st, line, key, "too many fields (at most %d)",
			CONFIG_FIELDS_MAX);
		return -1;
	}
	if (!valid_xpath(value)) {
		set_error(st, line, key, "not a valid XPath expression");
		return -1;
	}
	grown = realloc(src->fields, (src->nfields + 1) * sizeof(*grown));
	if (!grown) {
		set_error(st, line, key, "out of memory");
		return -1;
	}
	src->fields = grown;
	grown = &src->fields[src->nfields];
	grown->name = strdup(name);
	grown->xpath = strdup(value);
	src->nfields++;
	if (!grown->name || !grown->xpath) {
		set_error(st, line, key, "out of memory");
		return -1;
	}
	if (!lines->field_line) {
		lines->field_line = line;
		snprintf(lines->field_key, sizeof(lines->field_key), "%s",
			key);
	}
	return 0;
}

static int
handle_key(void *user, const char *section, const char *key,
	const char *value, int line)
{
	struct parse_state *st = user;
	char name[SOURCE_NAME_MAX + 1];
	struct source_config *src = NULL;
	struct key_lines *lines = &st->global_lines;
	const struct key_spec *k;
	void *base = st->cfg;
	size_t index;

	if (st->failed)
		return 0;
	if (*section == '\0') {
		set_error(st, line, key, "outside any section");
		return 0;
	}
	if (source_section_name(section, name, sizeof(name))) {
		ssize_t i = source_index(st->cfg, name);

		if (i < 0)	/* the pre-scan saw every header */
			return 0;
		src = &st->cfg->sources[i];
		lines = &st->source_lines[i];
		base = src;
		section = NULL;
		if (strncmp(key, "field.", 6) == 0)
			return set_field(st, src, lines, key, value, line) == 0;
	}
	if (!(k = find_key(section, key, &index))) {
		set_error(st, line, key, "unknown key in [%s]", section ?
			section : "source");
		return 0;
	}
	if (lines->line[index]) {
		set_error(st, line, key, "set twice in this section (first at "
			"line %d)", lines->line[index]);
		return 0;
	}
	lines->line[index] = line;
	return set_value(st, base, k, value, line) == 0;
}

static int
key_line(const struct key_lines *lines, const char *name)
{
	size_t index;

	if (!find_key(NULL, name, &index))
		return 0;
	return lines->line[index];
}

static int
check_source_url(struct parse_state *st, struct source_config *src,
	const struct key_lines *lines)
{
	int line = key_line(lines, "url");
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (url_parts(src->url, &scheme, &host) < 0) {
		set_error(st, line, "url", "not an absolute URL");
		goto out;
	}
	if (strcmp(scheme, "file") == 0) {
		if (!src->allow_file) {
			set_error(st, line, "url", "file URLs need allow_file "
				"= yes");
			goto out;
		}
	} else if (strcmp(scheme, "http") != 0 &&
		   strcmp(scheme, "https") != 0) {
		set_error(st, line, "url", "only http, https (and file with "
			"allow_file) are fetched");
		goto out;
	} else if (!host || !*host) {
		set_error(st, line, "url", "no host");
		goto out;
	}
	if (!src->follow_hosts && host && *host) {
		char *lower = strdup(host);

		if (!lower || !(src->follow_hosts = malloc(sizeof(char *)))) {
			free(lower);
			set_error(st, line, "url", "out of memory");
			goto out;
		}
		for (char *c = lower; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		src->follow_hosts[0] = lower;
		src->nfollow_hosts = 1;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	return rc;
}

static int
check_source(struct parse_state *st, struct source_config *src,
	const struct key_lines *lines)
{
	static const char *const html_only[] = { "follow", "follow_hosts",
		"follow_max", "record" };
	static const char *const oai_only[] = { "oai_prefix", "oai_set" };
	char section[SOURCE_NAME_MAX + 20];

	snprintf(section, sizeof(section), "[source \"%s\"]", src->name);
	if (!key_line(lines, "kind")) {
		set_error(st, src->line, "kind", "missing in %s", section);
		return -1;
	}
	if (!src->url) {
		set_error(st, src->line, "url", "missing in %s", section);
		return -1;
	}
	if (check_source_url(st, src, lines) < 0)
		return -1;
	for (size_t i = 0; src->kind != SOURCE_HTML && i < 4; i++)
		if (key_line(lines, html_only[i])) {
			set_error(st, key_line(lines, html_only[i]),
				html_only[i], "only for kind html");
			return -1;
		}
	if (src->kind != SOURCE_HTML && lines->field_line) {
		set_error(st, lines->field_line, lines->field_key,
			"only for kind html");
		return -1;
	}
	for (size_t i = 0; src->kind != SOURCE_OAI_PMH && i < 2; i++)
		if (key_line(lines, oai_only[i])) {
			set_error(st, key_line(lines, oai_only[i]),
				oai_only[i], "only for kind oai-pmh");
			return -1;
		}
	if (src->nfields && !src->record) {
		set_error(st, lines->field_line, lines->field_key,
			"needs record = XPATH in %s", section);
		return -1;
	}
	if (!key_line(lines, "robots"))
		src->robots = src->kind == SOURCE_HTML;
	if (!src->record_kind && !(src->record_kind =
	    strdup(default_record_kinds[src->kind]))) {
		set_error(st, src->line, NULL, "out of memory");
		return -1;
	}
	return 0;
}

static int
check_review(struct parse_state *st)
{
	struct config *cfg = st->cfg;
	size_t index;
	bool loopback;
	int line;

	find_key("review", "listen", &index);
	line = st->global_lines.line[index];
	valid_listen(cfg->review_listen, &loopback);
	if (!loopback && (!cfg->review_tls_cert || !cfg->review_tls_key)) {
		set_error(st, line, "listen", "a non-loopback address needs "
			"tls_cert and tls_key");
		return -1;
	}
	if (!cfg->review_tls_cert != !cfg->review_tls_key) {
		find_key("review", cfg->review_tls_cert ? "tls_cert" :
			"tls_key", &index);
		set_error(st, st->global_lines.line[index], cfg->review_tls_cert ?
			"tls_cert" : "tls_key", "tls_cert and tls_key go "
			"together");
		return -1;
	}
	return 0;
}

static char *
folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct parse_state st = { .err = err, .errlen = errlen };
	struct config *cfg;
	FILE *f = NULL;
	int rc = -1, ini_rc;

	*out = NULL;
	if (!(cfg = calloc(1, sizeof(*cfg))) || !(cfg->path = strdup(path)) ||
	    !(cfg->dir = folder_of(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		config_free(cfg);
		return -1;
	}
	st.cfg = cfg;
	if (!(f = fopen(path, "r"))) {
		set_error(&st, 0, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (apply_defaults(&st, cfg, false) < 0 || prescan(&st, f) < 0)
		goto out;
	rewind(f);
	/* Debian's inih takes these at run time. */
	ini_allow_multiline = false;
	ini_max_line = CONFIG_MAX_LINE;
	ini_stop_on_first_error = true;
	ini_rc = ini_parse_file(f, handle_key, &st);
	if (st.failed)
		goto out;
	if (ini_rc != 0) {
		set_error(&st, ini_rc > 0 ? ini_rc : 0, NULL, ini_rc > 0 ?
			"syntax error: expected key = value or [section]" :
			"cannot read");
		goto out;
	}
	for (size_t i = 0; i < cfg->nsources; i++)
		if (check_source(&st, &cfg->sources[i],
		    &st.source_lines[i]) < 0)
			goto out;
	if (check_review(&st) < 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	free(st.source_lines);
	config_free(cfg);
	return rc;
}

struct config *
config_defaults(void)
{
	struct parse_state st;
	struct config *cfg;
	char err[256];

	if (!(cfg = calloc(1, sizeof(*cfg))) ||
	    !(cfg->path = strdup("(defaults)")) || !(cfg->dir = strdup("."))) {
		config_free(cfg);
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.err = err;
	st.errlen = sizeof(err);
	if (apply_defaults(&st, cfg, false) < 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void
free_source(struct source_config *src)
{
	free(src->name);
	free(src->url);
	free(src->record_kind);
	free(src->licence);
	free(src->attribution);
	free(src->follow);
	for (size_t i = 0; i < src->nfollow_hosts; i++)
		free(src->follow_hosts[i]);
	free(src->follow_hosts);
	free(src->record);
	for (size_t i = 0; i < src->nfields; i++) {
		free(src->fields[i].name);
		free(src->fields[i].xpath);
	}
	free(src->fields);
	free(src->oai_prefix);
	free(src->oai_set);
}

void
config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		enum key_type t = keys[i].type;
		bool owned = t == KEY_STRING || t == KEY_PATH ||
			(t == KEY_CUSTOM && keys[i].offset !=
			 CFG(secure_cookies));

		if (keys[i].section && owned)
			free(*(char **)((char *)cfg + keys[i].offset));
	}
	for (size_t i = 0; i < cfg->nsources; i++)
		free_source(&cfg->sources[i]);
	free(cfg->sources);
	free(cfg->name_slots);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const struct source_config *
config_source(const struct config *cfg, const char *name)
{
	ssize_t i = source_index(cfg, name);

	return i < 0 ? NULL : &cfg->sources[i];
}

const char *
config_locate(const char *option, bool *named)
{
	static const char *const candidates[] = {
		"./cybil.conf", "/etc/cybil/cybil.conf",
	};
	const char *env = getenv("CYBIL_CONFIG");

	*named = true;
	if (option)
		return option;
	if (env && *env)
		return env;
	*named = false;
	for (size_t i = 0; i < 2; i++)
		if (access(candidates[i], F_OK) == 0)
			return candidates[i];
	return NULL;
}

char *
config_pubkey_path(const struct config *cfg)
{
	size_t n = strlen(cfg->publish_key) + sizeof(".pub");
	char *path = malloc(n);

	if (path)
		snprintf(path, n, "%s.pub", cfg->publish_key);
	return path;
}
