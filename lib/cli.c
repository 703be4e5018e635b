#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <libxml/xmlversion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"

#define ERR_MAX 1024

void
cli_init(const char *program)
{
	log_open(program);
	if (hash_init_library() < 0) {
		log_error("libsodium failed to start");
		exit(EXIT_PARTIAL);
	}
}

void
cli_set_verbosity(int quiet, int verbose)
{
	if (quiet)
		log_set_level(LOG_LEVEL_WARN);
	else if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	else
		log_set_level(LOG_LEVEL_INFO);
}

void
cli_print_version(const char *program)
{
	printf("%s %s (sqlite %s, libcurl %s, libxml2 %s, jansson %s, "
		"libsodium %s)\n", program, CYBIL_VERSION, sqlite3_libversion(),
		curl_version_info(CURLVERSION_NOW)->version,
		LIBXML_DOTTED_VERSION, JANSSON_VERSION,
		sodium_version_string());
}

int
cli_load_config(const char *option, struct config **out,
	const char **path_out)
{
	char err[ERR_MAX];
	const char *path;
	bool named;

	*out = NULL;
	if (!(path = config_locate(option, &named))) {
		log_error("no configuration file: give -c FILE or set "
			"CYBIL_CONFIG (looked for ./cybil.conf and "
			"/etc/cybil/cybil.conf)");
		return EXIT_USAGE;
	}
	if (config_load(path, out, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	log_set_syslog((*out)->syslog);
	if (path_out)
		*path_out = path;
	return 0;
}

int
cli_open_store(const struct config *cfg, struct store **out)
{
	char err[ERR_MAX];
	int rc = store_open(cfg->store_path, out, err, sizeof(err));

	if (rc == STORE_OK)
		return 0;
	log_error("%s", err);
	return rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
}

int
cli_finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error("writing output: %s", strerror(errno));
		return rc ? rc : EXIT_PARTIAL;
	}
	return rc;
}
