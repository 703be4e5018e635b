/* The commands of the cybil front door. */
#ifndef CYBIL_FRONT_H
#define CYBIL_FRONT_H

#include <stdbool.h>

/* Options given before the command, passed on to every stage. */
struct front_options {
	const char *config;	/* -c, or NULL */
	int quiet;
	int verbose;
	int json;		/* status --json */
};

int cmd_run(const struct front_options *opt);
int cmd_status(const struct front_options *opt);

/* Finds cybil-NAME beside this program or in the install's libexec.
 * Returns 0 with the path in BUF, or -1. */
int find_stage_program(const char *name, char *buf, size_t size);

#endif
