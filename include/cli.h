/* What every cybil program does the same way: exit codes, -q/-v, the
 * config file, --version, opening the store, checking output at exit. */
#ifndef CYBIL_CLI_H
#define CYBIL_CLI_H

#include <stdbool.h>

#include "config.h"
#include "store.h"

/* Exit status of SPEC §2. */
enum {
	EXIT_PARTIAL = 1,	/* some items failed, the rest committed */
	EXIT_USAGE = 2,		/* usage or configuration error */
	EXIT_REFUSED = 3,	/* data or integrity refusal */
	EXIT_TEMPFAIL = 75	/* locked or busy: try later */
};

/* Names the program in logs and starts the libraries; exits 1 if
 * libsodium cannot start. */
void cli_init(const char *program);
/* -q: warnings and errors only; -v (repeatable): debug. */
void cli_set_verbosity(int quiet, int verbose);
/* Prints "PROGRAM VERSION" and the library versions. */
void cli_print_version(const char *program);

/* Finds and reads the config (SPEC §2 order). Returns 0, or logs why and
 * returns EXIT_USAGE. *PATH_OUT, when not NULL, gets the path used. */
int cli_load_config(const char *option, struct config **out,
	const char **path_out);
/* Opens the store named by CFG. Returns 0, or logs why and returns
 * EXIT_TEMPFAIL (busy) or EXIT_PARTIAL. */
int cli_open_store(const struct config *cfg, struct store **out);

/* Flushes stdout and reports a write error (full disk, closed pipe).
 * Returns RC, or EXIT_PARTIAL if output was lost and RC was 0. */
int cli_finish(int rc);

#endif
