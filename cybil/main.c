/* cybil: the front door. `cybil run` runs the stages under one lock,
 * `cybil status` reports, and `cybil CMD ARGS` runs cybil-CMD. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cybil.h"
#include "log.h"

#define STAGE_NAME_MAX 32

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: cybil [-c FILE] [-q] [-v] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  run       fetch and parse due sources (following up queued\n"
		"            pages), expire grants, then publish, under one lock\n"
		"  status    sources, records, reviews and the latest release\n"
		"  CMD       runs cybil-CMD ARGS (fetch, parse, review, publish,\n"
		"            verify, pull), passing -c, -q and -v on\n"
		"\n"
		"options:\n"
		"  -c FILE   configuration (else $CYBIL_CONFIG, ./cybil.conf,\n"
		"            /etc/cybil/cybil.conf)\n"
		"  -q        quiet: print only failures (for cron)\n"
		"  -v        verbose\n"
		"  -h        this help; --version: the version\n");
}

static bool
valid_stage_name(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz");

	return n > 0 && n < STAGE_NAME_MAX && name[n] == '\0';
}

int
find_stage_program(const char *name, char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(buf, size, "%s/cybil-%s", self, name);
			if (access(buf, X_OK) == 0)
				return 0;
		}
	}
	snprintf(buf, size, "%s/cybil-%s", CYBIL_LIBEXECDIR, name);
	return access(buf, X_OK) == 0 ? 0 : -1;
}

/* Replaces this process with cybil-CMD, the front door's options first. */
static int
exec_stage(const struct front_options *opt, int argc, char **argv)
{
	char path[PATH_MAX];
	char **args;
	int n = 0;

	if (!valid_stage_name(argv[0])) {
		log_error("%s: unknown command (see cybil -h)", argv[0]);
		return EXIT_USAGE;
	}
	if (find_stage_program(argv[0], path, sizeof(path)) < 0) {
		log_error("%s: unknown command: no cybil-%s beside cybil or in "
			"%s", argv[0], argv[0], CYBIL_LIBEXECDIR);
		return EXIT_USAGE;
	}
	if (!(args = calloc((size_t)argc + 6, sizeof(*args)))) {
		log_error("out of memory");
		return EXIT_PARTIAL;
	}
	args[n++] = path;
	if (opt->config) {
		args[n++] = (char *)"-c";
		args[n++] = (char *)opt->config;
	}
	if (opt->quiet)
		args[n++] = (char *)"-q";
	if (opt->verbose)
		args[n++] = (char *)"-v";
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	execv(path, args);
	log_error("%s: %s", path, strerror(errno));
	free(args);
	return EXIT_PARTIAL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct front_options opt = { 0 };
	int c;

	cli_init("cybil");
	while ((c = getopt_long(argc, argv, "+c:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.config = optarg; break;
		case 'q': opt.quiet = 1; break;
		case 'v': opt.verbose = 1; break;
		case 'h': usage(stdout); return cli_finish(0);
		case 'V': cli_print_version("cybil"); return cli_finish(0);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	cli_set_verbosity(opt.quiet, opt.verbose);
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "run") == 0)
		return cli_finish(cmd_run(&opt, argc, argv));
	if (strcmp(argv[0], "status") == 0)
		return cli_finish(cmd_status(&opt, argc, argv));
	return exec_stage(&opt, argc, argv);
}
