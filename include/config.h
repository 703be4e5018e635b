/* The configuration file of SPEC §3: INI read with inih and validated
 * strictly. Every key has its default here; relative paths are resolved
 * against the config file's folder. */
#ifndef CYBIL_CONFIG_H
#define CYBIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum source_kind {
	SOURCE_RSS,
	SOURCE_ATOM,
	SOURCE_HTML,
	SOURCE_IATI,
	SOURCE_OAI_PMH
};

struct html_field {
	char *name;
	char *xpath;
};

struct source_config {
	char *name;
	enum source_kind kind;
	char *url;
	char *record_kind;
	bool consent_public;		/* default consent of new records */
	bool repend_on_change;
	unsigned gone_max_share;	/* hundredths of a percent */
	int64_t interval;		/* seconds */
	char *licence;
	char *attribution;
	bool allow_file;
	bool robots;
	char *follow;			/* XPath, html only */
	char **follow_hosts;
	size_t nfollow_hosts;
	uint64_t follow_max;
	char *record;			/* XPath, html only */
	struct html_field *fields;
	size_t nfields;
	char *oai_prefix;
	char *oai_set;
	int line;			/* of the section header */
};

struct config {
	char *path;			/* the file it was read from */
	char *dir;			/* its folder, for relative paths */

	char *store_path;
	char *blobs_dir;
	char *evidence_dir;

	bool syslog;

	uint64_t fetch_parallel;
	uint64_t fetch_per_host;
	int64_t fetch_timeout;
	int64_t fetch_deadline;
	uint64_t fetch_max_bytes;
	uint64_t fetch_redirects;
	uint64_t fetch_retries;
	int64_t fetch_retry_after_max;
	char *user_agent;		/* VERSION already replaced */
	char *ca_file;			/* NULL: the system's */
	bool allow_private;

	uint64_t parse_max_records;
	uint64_t parse_max_field;
	uint64_t parse_entity_budget;
	char *language;

	char *publish_dir;
	char *publish_key;
	int64_t publish_expires;
	uint64_t publish_keep;
	unsigned publish_max_drop;	/* hundredths of a percent */
	uint64_t publish_level;
	uint64_t publish_threads;
	char *publish_title;
	char *publish_name;
	char *publish_licence;
	char *publish_homepage;

	char *review_listen;
	char *review_tls_cert;
	char *review_tls_key;
	int secure_cookies;		/* -1 auto, 0 no, 1 yes */
	int64_t review_session_ttl;

	struct source_config *sources;
	size_t nsources;

	/* Private: room in sources, and an open-addressing table of
	 * source index + 1 by name, so lookups stay fast with many
	 * sources. */
	size_t sources_cap;
	size_t *name_slots;
	size_t nname_slots;
};

/* Reads and validates PATH. Returns 0 and an owned *OUT, or -1 with
 * "FILE:LINE: key: why" (or "FILE: why") in ERR. */
int config_load(const char *path, struct config **out, char *err,
	size_t errlen);
/* A configuration of defaults only, without a file or sources (for the
 * programs that may run without one). Returns it, or NULL. */
struct config *config_defaults(void);
/* The public key beside [publish] key: KEY.pub, owned; NULL when out of
 * memory. */
char *config_pubkey_path(const struct config *cfg);
void config_free(struct config *cfg);

/* Picks the config file of SPEC §2: OPTION (from -c), else
 * $CYBIL_CONFIG, else ./cybil.conf, else /etc/cybil/cybil.conf.
 * Returns the path (OPTION, the environment's string or a literal), or
 * NULL when no candidate exists; *NAMED tells whether the user named it,
 * in which case it must exist. */
const char *config_locate(const char *option, bool *named);

const struct source_config *config_source(const struct config *cfg,
	const char *name);
const char *config_kind_name(enum source_kind kind);

#endif
