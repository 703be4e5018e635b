/* cybil run: the stages in order under one lock. fetch and parse take
 * turns while parse queues follow-ups (OAI-PMH pages, linked pages), up to
 * RUN_ROUNDS_MAX rounds; then expired grants are re-pended and the next
 * release is published. A stage that is not installed is skipped. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cybil.h"
#include "lock.h"
#include "log.h"
#include "store.h"

/* Rounds of fetch ⇄ parse in one run; what is still queued waits for the
 * next run. */
#define RUN_ROUNDS_MAX 20
#define STAGE_ARGS_MAX 16

extern char **environ;

enum { STAGE_ABSENT = -1 };

struct stage {
	const char *name;		/* runs cybil-NAME */
	const char *const *args;	/* after the common options */
};

static const char *const no_args[] = { NULL };
static const char *const expire_args[] = { "expire", NULL };

static const struct stage fetch_stage = { "fetch", no_args };
static const struct stage parse_stage = { "parse", no_args };
static const struct stage expire_stage = { "review", expire_args };
static const struct stage publish_stage = { "publish", no_args };

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t stop_signal;

/* Passes a termination request on to the stage running now; the run stops
 * after it. */
static void
forward_signal(int sig)
{
	stop_signal = sig;
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static int
install_signal_handlers(void)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (sigaction(signals[i], &sa, NULL) < 0)
			return -1;
	return 0;
}

static int
wait_for(pid_t pid, const char *name)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			log_error("waiting for cybil-%s: %s", name,
				strerror(errno));
			return EXIT_PARTIAL;
		}
	}
	child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_error("cybil-%s was killed by signal %d", name, WTERMSIG(status));
	return EXIT_PARTIAL;
}

/* Runs one stage to its end. Returns its exit status, or STAGE_ABSENT. */
static int
run_stage(const struct front_options *opt, const char *config_path,
	const struct stage *stage)
{
	char path[PATH_MAX];
	char *args[STAGE_ARGS_MAX];
	pid_t pid;
	int n = 0, err;

	if (find_stage_program(stage->name, path, sizeof(path)) < 0) {
		log_info("cybil-%s is not installed; skipping that stage",
			stage->name);
		return STAGE_ABSENT;
	}
	args[n++] = path;
	args[n++] = (char *)"-c";
	args[n++] = (char *)config_path;
	if (opt->quiet)
		args[n++] = (char *)"-q";
	if (opt->verbose)
		args[n++] = (char *)"-v";
	for (size_t i = 0; stage->args[i] && n < STAGE_ARGS_MAX - 1; i++)
		args[n++] = (char *)stage->args[i];
	args[n] = NULL;
	log_debug("running %s", path);
	if ((err = posix_spawn(&pid, path, NULL, NULL, args, environ)) != 0) {
		log_error("%s: %s", path, strerror(err));
		return EXIT_PARTIAL;
	}
	child_pid = pid;
	if (stop_signal)	/* arrived before child_pid was known */
		kill(pid, (int)stop_signal);
	return wait_for(pid, stage->name);
}

/* Folds a stage's status into the run's. Returns false when the run must
 * stop: a usage, integrity or busy failure, or a termination request. */
static bool
absorb(int *run_rc, int stage_rc)
{
	if (stage_rc == STAGE_ABSENT || stage_rc == 0)
		return !stop_signal;
	if (stage_rc == EXIT_PARTIAL) {
		*run_rc = *run_rc ? *run_rc : EXIT_PARTIAL;
		return !stop_signal;
	}
	*run_rc = stage_rc;
	return false;
}

static long long
queued_followups(struct store *st)
{
	sqlite3_stmt *stmt;
	long long n = -1;

	if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM queue"
	    " JOIN source ON source.name = queue.source"
	    " WHERE queue.done_at IS NULL AND source.configured = 1", -1,
	    &stmt, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* fetch ⇄ parse until nothing is queued. Returns false to stop the run. */
static bool
harvest(const struct front_options *opt, const char *config_path,
	struct store *st, int *rc)
{
	long long queued;
	int fetch_rc;

	for (int round = 1;; round++) {
		fetch_rc = run_stage(opt, config_path, &fetch_stage);
		if (!absorb(rc, fetch_rc) ||
		    !absorb(rc, run_stage(opt, config_path, &parse_stage)))
			return false;
		if (fetch_rc == STAGE_ABSENT)
			return true;
		if ((queued = queued_followups(st)) <= 0)
			return true;
		if (round == RUN_ROUNDS_MAX) {
			log_warn("%lld follow-ups still queued after %d "
				"rounds; the next run takes them", queued,
				round);
			return true;
		}
		log_debug("round %d: %lld follow-ups queued", round, queued);
	}
}

int
cmd_run(const struct front_options *opt)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct run_lock lock = { .fd = -1 };
	const char *config_path;
	char err[1024];
	int rc;

	if ((rc = cli_load_config(opt->config, &cfg, &config_path)) != 0)
		return rc;
	switch (lock_acquire(cfg->store_path, &lock, err, sizeof(err))) {
	case LOCK_HELD:
		break;
	case LOCK_BUSY:
		log_error("%s", err);
		rc = EXIT_TEMPFAIL;
		goto out;
	default:
		log_error("%s", err);
		rc = EXIT_PARTIAL;
		goto out;
	}
	if ((rc = cli_open_store(cfg, &st)) != 0)
		goto out;
	if ((rc = store_sync_sources(st, cfg)) != STORE_OK) {
		log_error("%s: updating sources: %s", cfg->store_path,
			store_errmsg(st));
		rc = rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
		goto out;
	}
	if (lock_share_with_children(&lock) < 0 ||
	    install_signal_handlers() < 0) {
		log_error("preparing the stages: %s", strerror(errno));
		rc = EXIT_PARTIAL;
		goto out;
	}
	if (harvest(opt, config_path, st, &rc) &&
	    absorb(&rc, run_stage(opt, config_path, &expire_stage)))
		absorb(&rc, run_stage(opt, config_path, &publish_stage));
	if (stop_signal) {
		log_error("stopped by signal %d", (int)stop_signal);
		rc = rc ? rc : EXIT_PARTIAL;
	}
out:
	store_close(st);
	lock_release(&lock);
	config_free(cfg);
	return rc;
}
