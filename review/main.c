/* cybil-review: the portal manager's tool (SPEC §5). Decisions go through
 * lib/review.c, the same functions the web console calls. It never takes
 * the run lock: every decision is one SQLite transaction. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <termios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "audit.h"
#include "blob.h"
#include "cli.h"
#include "console.h"
#include "date.h"
#include "log.h"
#include "review.h"
#include "show.h"

#define PROGRAM "cybil-review"

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [-qv] [-c FILE] COMMAND [ARG...]\n"
		"\n"
		"  list [--consent STATE|all] [--state STATE|all] [--source NAME]\n"
		"       [--kind KIND] [--changed] [--since DATE] [--limit N]\n"
		"       [--json|--tsv]\n"
		"  show ID [--json]\n"
		"  grant ID... --evidence FILE|URI [--expires DATE]\n"
		"  public ID... --url URL\n"
		"  refuse ID... | withdraw ID... | reset ID...\n"
		"      decisions also take --by NAME, --note TEXT, and\n"
		"      --source NAME --all [--yes] instead of IDs\n"
		"  expire\n"
		"  correct ID FIELD VALUE [--by NAME] [--note TEXT]\n"
		"  uncorrect ID FIELD\n"
		"  suggest ID FIELD VALUE --from CONTACT [--note TEXT]\n"
		"  accept SUGGESTION [--by NAME] [--note TEXT]\n"
		"  reject SUGGESTION [--by NAME]\n"
		"  log [ID] [--json]\n"
		"  verify-log\n"
		"  passwd NAME      create a console account or change its "
		"password\n"
		"  serve            the web console on [review] listen\n");
}

static const struct option longopts[] = {
	{ "consent", required_argument, NULL, 'C' },
	{ "state", required_argument, NULL, 'T' },
	{ "source", required_argument, NULL, 's' },
	{ "kind", required_argument, NULL, 'k' },
	{ "changed", no_argument, NULL, 'g' },
	{ "since", required_argument, NULL, 'S' },
	{ "limit", required_argument, NULL, 'l' },
	{ "json", no_argument, NULL, 'j' },
	{ "tsv", no_argument, NULL, 't' },
	{ "evidence", required_argument, NULL, 'e' },
	{ "expires", required_argument, NULL, 'x' },
	{ "url", required_argument, NULL, 'u' },
	{ "by", required_argument, NULL, 'b' },
	{ "note", required_argument, NULL, 'n' },
	{ "all", no_argument, NULL, 'a' },
	{ "yes", no_argument, NULL, 'y' },
	{ "from", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Options may come before or after the command and its arguments. */
static int
parse_options(int argc, char **argv, struct review_options *o)
{
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "c:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 'C': o->consent = optarg; break;
		case 'T': o->state = optarg; break;
		case 's': o->source = optarg; break;
		case 'k': o->kind = optarg; break;
		case 'g': o->changed = true; break;
		case 'S': o->since = optarg; break;
		case 'l':
			o->limit = strtol(optarg, &end, 10);
			if (o->limit <= 0 || *end) {
				log_error("--limit %s: expected a positive "
					"number", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j': o->format = FORMAT_JSON; break;
		case 't': o->format = FORMAT_TSV; break;
		case 'e': o->evidence = optarg; break;
		case 'x': o->expires = optarg; break;
		case 'u': o->url = optarg; break;
		case 'b': o->by = optarg; break;
		case 'n': o->note = optarg; break;
		case 'a': o->all = true; break;
		case 'y': o->yes = true; break;
		case 'f': o->from = optarg; break;
		case 'h': usage(stdout); return -1;
		case 'V': cli_print_version(PROGRAM); return -1;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	o->command = argv[optind];
	o->args = (const char *const *)argv + optind + 1;
	o->nargs = (size_t)(argc - optind - 1);
	return 0;
}

/* --by, else $CYBIL_REVIEWER, else the login name. */
static const char *
reviewer(const struct review_options *o)
{
	const char *env = getenv("CYBIL_REVIEWER");
	struct passwd *pw;

	if (o->by)
		return o->by;	/* even empty: refused as such */
	if (env && *env)
		return env;
	pw = getpwuid(getuid());
	return pw && pw->pw_name && *pw->pw_name ? pw->pw_name : NULL;
}

static int
exit_for(int rc)
{
	switch (rc) {
	case STORE_OK: return 0;
	case REVIEW_INVALID: return EXIT_USAGE;
	case STORE_BUSY: return EXIT_TEMPFAIL;
	default: return EXIT_PARTIAL;
	}
}

static int
report(int rc, const char *err)
{
	if (rc != STORE_OK)
		log_error("%s", err);
	return exit_for(rc);
}

/* The grant's evidence: a file goes into the evidence store and is
 * named by its sha256; anything else must be a URI. */
static int
evidence_of(const struct config *cfg, const char *given,
	char hex[HASH_HEX_SIZE], const char **out)
{
	struct stat sb;
	char err[512];

	*out = given;
	if (!given)
		return 0;
	if (stat(given, &sb) == 0 && S_ISREG(sb.st_mode)) {
		if (sb.st_size == 0) {
			log_error("--evidence %s: an empty file is no "
				"evidence", given);
			return EXIT_USAGE;
		}
		if (review_store_evidence(cfg->evidence_dir, given, hex, err,
		    sizeof(err)) < 0) {
			log_error("%s", err);
			return EXIT_PARTIAL;
		}
		*out = hex;
		return 0;
	}
	if (!review_is_uri(given)) {
		log_error("--evidence %s: no such file, and not a URI",
			given);
		return EXIT_USAGE;
	}
	return 0;
}

/* --source NAME --all: the count first, then a yes from the manager. */
static bool
confirmed(const struct review_options *o, const char *verb, size_t n)
{
	char answer[16];

	if (o->yes)
		return true;
	if (!isatty(STDIN_FILENO)) {
		log_error("%s all %zu records of %s: confirm with --yes", verb,
			n, o->source);
		return false;
	}
	fprintf(stderr, "%s all %zu records of source %s? [y/N] ", verb, n,
		o->source);
	return fgets(answer, sizeof(answer), stdin) &&
		(answer[0] == 'y' || answer[0] == 'Y');
}

static int
cmd_decide(struct store *st, const struct config *cfg,
	const struct review_options *o, enum review_action action)
{
	struct review_decision d = {
		.action = action, .by = reviewer(o), .note = o->note,
		.expires = o->expires,
	};
	const char *verb = o->command;
	char hex[HASH_HEX_SIZE], **source_ids = NULL, err[1024];
	const char *const *ids = o->args;
	size_t n = o->nargs, changed = 0, nsource = 0;
	int rc;

	if (action == REVIEW_PUBLIC && o->evidence) {
		log_error("public takes --url, not --evidence");
		return EXIT_USAGE;
	}
	if (action == REVIEW_GRANT && o->url) {
		log_error("grant takes --evidence, not --url");
		return EXIT_USAGE;
	}
	if (action != REVIEW_GRANT && action != REVIEW_PUBLIC &&
	    (o->evidence || o->url)) {
		log_error("%s takes no evidence", verb);
		return EXIT_USAGE;
	}
	if (o->all != (o->source != NULL) || (o->all && n > 0) ||
	    (!o->all && n == 0)) {
		log_error("%s: give record IDs, or --source NAME --all", verb);
		return EXIT_USAGE;
	}
	d.evidence = action == REVIEW_PUBLIC ? o->url : NULL;
	if (action == REVIEW_GRANT &&
	    (rc = evidence_of(cfg, o->evidence, hex, &d.evidence)) != 0)
		return rc;
	if (o->all) {
		if ((rc = review_source_ids(st, o->source, &source_ids,
		    &nsource, err, sizeof(err))) != STORE_OK)
			return report(rc, err);
		ids = (const char *const *)source_ids;
		n = nsource;
		if (n == 0 || !confirmed(o, verb, n)) {
			review_free_ids(source_ids, nsource);
			if (n > 0)
				return EXIT_USAGE;
			if (!config_source(cfg, o->source)) {
				log_error("--source %s: no such source, in the "
					"config or the store", o->source);
				return EXIT_USAGE;
			}
			log_info("source %s has no records", o->source);
			return 0;
		}
	}
	rc = review_decide(st, ids, n, &d, &changed, err, sizeof(err));
	review_free_ids(source_ids, nsource);
	if (rc != STORE_OK) {
		if (d.evidence == hex)
			review_drop_unused_evidence(st, cfg->evidence_dir, hex);
		return report(rc, err);
	}
	log_info("%s: %zu of %zu records now %s", verb, changed, n,
		review_action_state(action));
	return 0;
}

static int
cmd_expire(struct store *st, const struct review_options *o)
{
	char now[DATE_RFC3339_SIZE], err[1024];
	size_t expired = 0;
	int rc;

	if (o->nargs) {
		log_error("expire takes no arguments");
		return EXIT_USAGE;
	}
	date_format_utc(time(NULL), now);
	rc = review_expire(st, now, PROGRAM " expire", &expired, err,
		sizeof(err));
	if (rc == STORE_OK && expired)
		log_info("%zu expired grants are pending again", expired);
	return report(rc, err);
}

static int
cmd_correct(struct store *st, const struct review_options *o, bool set)
{
	char err[1024];
	size_t want = set ? 3 : 2;

	if (o->nargs != want) {
		log_error(set ? "usage: correct ID FIELD VALUE" :
			"usage: uncorrect ID FIELD");
		return EXIT_USAGE;
	}
	if (set)
		return report(review_correct(st, o->args[0], o->args[1],
			o->args[2], reviewer(o), o->note, err, sizeof(err)),
			err);
	return report(review_uncorrect(st, o->args[0], o->args[1], err,
		sizeof(err)), err);
}

static int
cmd_suggest(struct store *st, const struct review_options *o)
{
	char err[1024];
	int64_t id = 0;
	int rc;

	if (o->nargs != 3) {
		log_error("usage: suggest ID FIELD VALUE --from CONTACT");
		return EXIT_USAGE;
	}
	rc = review_suggest(st, o->args[0], o->args[1], o->args[2], o->from,
		o->note, &id, err, sizeof(err));
	if (rc == STORE_OK)
		printf("%lld\n", (long long)id);
	return report(rc, err);
}

static int
cmd_suggestion(struct store *st, const struct review_options *o,
	bool accept)
{
	char err[1024], *end;
	long long id;

	if (o->nargs != 1 || (id = strtoll(o->args[0], &end, 10)) <= 0 ||
	    *end) {
		log_error("usage: %s SUGGESTION (its number)", o->command);
		return EXIT_USAGE;
	}
	return report(accept ? review_accept(st, id, reviewer(o), o->note,
		err, sizeof(err)) : review_reject(st, id, reviewer(o),
		o->note, err, sizeof(err)), err);
}

static int
cmd_verify_log(struct store *st)
{
	char why[512], head[HASH_HEX_SIZE];
	int64_t bad = 0;
	int rc = audit_verify(st, &bad, why, sizeof(why));

	if (rc != STORE_OK) {
		log_error("%s: %s", store_path(st), store_errmsg(st));
		return exit_for(rc);
	}
	if (bad != 0) {
		if (bad > 0)
			printf("audit log BROKEN at event %lld: %s\n",
				(long long)bad, why);
		else
			printf("audit log BROKEN at release %lld: %s\n",
				(long long)-bad, why);
		return EXIT_REFUSED;
	}
	if (audit_head(st, head) != STORE_OK)
		return EXIT_PARTIAL;
	printf("audit log intact, head %s\n", head);
	return 0;
}

/* One line of stdin without its newline; on a terminal, not echoed. */
static int
read_secret(const char *prompt, char *buf, size_t size)
{
	struct termios saved, quiet;
	bool tty = isatty(STDIN_FILENO) &&
		tcgetattr(STDIN_FILENO, &saved) == 0;
	size_t n;
	char *got;

	if (tty) {
		fputs(prompt, stderr);
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
			return -1;
	}
	got = fgets(buf, (int)size, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (!got)
		return -1;
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == size - 1)
		return -1;	/* longer than the buffer */
	buf[n] = '\0';
	return 0;
}

static int
cmd_passwd(struct store *st, const struct review_options *o)
{
	char pw[ACCOUNT_PASSWORD_MAX + 2], again[sizeof(pw)], err[512];
	int rc = EXIT_USAGE;

	if (o->nargs != 1) {
		log_error("usage: passwd NAME");
		return EXIT_USAGE;
	}
	if (read_secret("password: ", pw, sizeof(pw)) < 0) {
		log_error("passwd %s: no password given (one line on stdin, "
			"at most %d bytes)", o->args[0], ACCOUNT_PASSWORD_MAX);
		goto out;
	}
	if (isatty(STDIN_FILENO) && (read_secret("again: ", again,
	    sizeof(again)) < 0 || strcmp(pw, again) != 0)) {
		log_error("passwd %s: the passwords differ", o->args[0]);
		goto out;
	}
	rc = report(account_set(st, o->args[0], pw, err, sizeof(err)), err);
	if (rc == 0)
		log_info("account %s can log in to the console", o->args[0]);
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(again, sizeof(again));
	return rc;
}

static int
cmd_serve(struct store *st, const struct config *cfg,
	const struct review_options *o)
{
	if (o->nargs) {
		log_error("serve takes no arguments");
		return EXIT_USAGE;
	}
	return console_serve(cfg, st);
}

static int
run(const struct review_options *o)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	const char *c = o->command;
	int rc, action = review_action_from_name(c);

	if (action < 0 && strcmp(c, "list") && strcmp(c, "show") &&
	    strcmp(c, "expire") && strcmp(c, "correct") &&
	    strcmp(c, "uncorrect") && strcmp(c, "suggest") &&
	    strcmp(c, "accept") && strcmp(c, "reject") && strcmp(c, "log") &&
	    strcmp(c, "verify-log") && strcmp(c, "passwd") &&
	    strcmp(c, "serve")) {
		log_error("%s: unknown command (see " PROGRAM " -h)", c);
		return EXIT_USAGE;
	}
	if ((rc = cli_load_config(o->config, &cfg, NULL)) != 0)
		return rc;
	if ((rc = cli_open_store(cfg, &st)) != 0)
		goto out;
	if (action >= 0)
		rc = cmd_decide(st, cfg, o, (enum review_action)action);
	else if (strcmp(c, "list") == 0)
		rc = show_list(st, o);
	else if (strcmp(c, "show") == 0)
		rc = show_record(st, o);
	else if (strcmp(c, "log") == 0)
		rc = show_log(st, o);
	else if (strcmp(c, "expire") == 0)
		rc = cmd_expire(st, o);
	else if (strcmp(c, "correct") == 0 || strcmp(c, "uncorrect") == 0)
		rc = cmd_correct(st, o, c[0] == 'c');
	else if (strcmp(c, "suggest") == 0)
		rc = cmd_suggest(st, o);
	else if (strcmp(c, "accept") == 0 || strcmp(c, "reject") == 0)
		rc = cmd_suggestion(st, o, c[0] == 'a');
	else if (strcmp(c, "passwd") == 0)
		rc = cmd_passwd(st, o);
	else if (strcmp(c, "serve") == 0)
		rc = cmd_serve(st, cfg, o);
	else
		rc = cmd_verify_log(st);
out:
	store_close(st);
	config_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct review_options o = { .format = FORMAT_TABLE };
	int rc;

	cli_init(PROGRAM);
	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc < 0 ? cli_finish(0) : rc;
	cli_set_verbosity(o.quiet, o.verbose);
	return cli_finish(run(&o));
}
