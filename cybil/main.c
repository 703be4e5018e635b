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
		"  status [--json]\n"
		"            sources, records, reviews and the latest release\n"
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

/* Reads -c, -q, -v, -h and --version from ARGV into OPT. STOP_AT_COMMAND
 * stops at the first non-option (the command). Returns the index of the
 * first argument left, or -1 - exit status when main must return. */
static int
parse_options(int argc, char **argv, struct front_options *opt,
	bool stop_at_command)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, stop_at_command ? "+c:qvh" :
	    "c:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config = optarg; break;
		case 'q': opt->quiet = 1; break;
		case 'v': opt->verbose = 1; break;
		case 'j': opt->json = 1; break;
		case 'h':
			usage(stdout);
			return -1 - cli_finish(0);
		case 'V':
			cli_print_version("cybil");
			return -1 - cli_finish(0);
		default:
			usage(stderr);
			return -1 - EXIT_USAGE;
		}
	}
	return optind;
}

int
main(int argc, char **argv)
{
	struct front_options opt = { 0 };
	int (*command)(const struct front_options *) = NULL;
	int first;

	cli_init("cybil");
	if ((first = parse_options(argc, argv, &opt, true)) < 0)
		return -1 - first;
	argc -= first;
	argv += first;
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "run") == 0)
		command = cmd_run;
	else if (strcmp(argv[0], "status") == 0)
		command = cmd_status;
	if (!command) {
		cli_set_verbosity(opt.quiet, opt.verbose);
		return exec_stage(&opt, argc, argv);
	}
	/* The common options may also follow the command. */
	if ((first = parse_options(argc, argv, &opt, false)) < 0)
		return -1 - first;
	cli_set_verbosity(opt.quiet, opt.verbose);
	if (first < argc) {
		log_error("%s: unexpected argument %s (see cybil -h)", argv[0],
			argv[first]);
		return EXIT_USAGE;
	}
	if (opt.json && command != cmd_status) {
		log_error("%s: --json goes with status", argv[0]);
		return EXIT_USAGE;
	}
	return cli_finish(command(&opt));
}
