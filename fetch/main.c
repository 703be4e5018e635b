/* cybil-fetch: fetch every due source and queued follow-up over HTTP(S)
 * and store what came back, with its provenance. It never parses. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fetch.h"
#include "lock.h"
#include "log.h"
#include "source.h"

#define PROGRAM "cybil-fetch"
#define SOURCES_SELECTED_MAX 256

struct options {
	const char *config;
	int quiet, verbose;
	bool force;
	const char *sources[SOURCES_SELECTED_MAX];
	size_t nsources;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [-qv] [-c FILE] [--force] [--source NAME]...\n"
		"\n"
		"Fetches every due source and queued follow-up and stores the\n"
		"responses with their provenance.\n"
		"\n"
		"  -c FILE        configuration (else $CYBIL_CONFIG, ./cybil.conf,\n"
		"                 /etc/cybil/cybil.conf)\n"
		"  --force        fetch sources even if their interval has not passed\n"
		"  --source NAME  only this source (repeatable)\n"
		"  -q             print only failures; -v: more detail\n"
		"  -h, --version  this help, the version\n");
}

/* Returns 0, or an exit status for main to return. */
static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "source", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 'f': o->force = true; break;
		case 's':
			if (o->nsources == SOURCES_SELECTED_MAX) {
				log_error("too many --source options");
				return EXIT_USAGE;
			}
			o->sources[o->nsources++] = optarg;
			break;
		case 'h': usage(stdout); return -1;
		case 'V': cli_print_version(PROGRAM); return -1;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument %s (see " PROGRAM " -h)",
			argv[optind]);
		return EXIT_USAGE;
	}
	return 0;
}

static bool
selected(const struct options *o, const char *name)
{
	if (o->nsources == 0)
		return true;
	for (size_t i = 0; i < o->nsources; i++)
		if (strcmp(o->sources[i], name) == 0)
			return true;
	return false;
}

static char *
column_dup(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	return s ? strdup((const char *)s) : NULL;
}

struct job_list {
	struct job *jobs;
	size_t n, cap;
};

static struct job *
job_add(struct job_list *l, const struct source_config *src, const char *url)
{
	struct job *job;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct job *grown = realloc(l->jobs, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		l->jobs = grown;
		l->cap = cap;
	}
	job = &l->jobs[l->n];
	memset(job, 0, sizeof(*job));
	job->src = src;
	if (!(job->url = strdup(url)))
		return NULL;
	l->n++;
	return job;
}

static void
jobs_free(struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(jobs[i].url);
		free(jobs[i].etag);
		free(jobs[i].last_modified);
	}
	free(jobs);
}

/* Due sources: their interval (or back-off) has passed, or --force. */
static int
add_due_sources(sqlite3 *db, const struct config *cfg,
	const struct options *o, struct job_list *l)
{
	char now[DATE_RFC3339_SIZE];
	sqlite3_stmt *stmt;
	struct job *job;
	int rc = SQLITE_OK;

	date_format_utc(time(NULL), now);
	if ((rc = sqlite3_prepare_v2(db, "SELECT etag, last_modified,"
	    " failures, next_due IS NULL OR next_due <= ?2, harvest_from"
	    " FROM source WHERE name = ?1", -1, &stmt, NULL)) != SQLITE_OK)
		return rc;
	for (size_t i = 0; i < cfg->nsources && rc == SQLITE_OK; i++) {
		const struct source_config *src = &cfg->sources[i];

		if (!selected(o, src->name))
			continue;
		sqlite3_bind_text(stmt, 1, src->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, now, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(stmt)) != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		if (o->force || sqlite3_column_int(stmt, 3)) {
			char *url = source_request_url(src, (const char *)
				sqlite3_column_text(stmt, 4));

			if (!url || !(job = job_add(l, src, url)))
				rc = SQLITE_NOMEM;
			else {
				job->etag = column_dup(stmt, 0);
				job->last_modified = column_dup(stmt, 1);
				job->failures = sqlite3_column_int64(stmt, 2);
			}
			free(url);
		}
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int
add_validators(sqlite3_stmt *last_good, struct job *job)
{
	int rc;

	sqlite3_bind_text(last_good, 1, job->src->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(last_good, 2, job->url, -1, SQLITE_STATIC);
	rc = sqlite3_step(last_good);
	if (rc == SQLITE_ROW) {
		job->etag = column_dup(last_good, 0);
		job->last_modified = column_dup(last_good, 1);
	}
	sqlite3_reset(last_good);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Follow-ups parse queued, at most follow_max per source, on the hosts
 * the source may follow. */
static int
add_followups(sqlite3 *db, const struct config *cfg, const struct options *o,
	struct job_list *l)
{
	sqlite3_stmt *queued = NULL, *last_good = NULL;
	size_t *taken = calloc(cfg->nsources + 1, sizeof(*taken));
	int rc;

	if (!taken)
		return SQLITE_NOMEM;
	rc = sqlite3_prepare_v2(db, "SELECT id, source, url FROM queue"
		" WHERE done_at IS NULL ORDER BY id", -1, &queued, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT etag, last_modified FROM"
			" capture WHERE source = ?1 AND url = ?2 AND status"
			" BETWEEN 200 AND 299 ORDER BY id DESC LIMIT 1", -1,
			&last_good, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(queued)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(queued, 1);
		const char *url = (const char *)sqlite3_column_text(queued, 2);
		const struct source_config *src = config_source(cfg, name);
		struct job *job;
		size_t index;

		rc = SQLITE_OK;
		if (!src || !selected(o, src->name))
			continue;
		index = (size_t)(src - cfg->sources);
		if (taken[index] >= src->follow_max)
			continue;
		if (!source_follows_host(src, url)) {
			log_event(LOG_LEVEL_WARN, name, "%s: not on the "
				"source's follow_hosts; not fetched", url);
			continue;
		}
		if (!(job = job_add(l, src, url))) {
			rc = SQLITE_NOMEM;
			break;
		}
		job->queue_id = sqlite3_column_int64(queued, 0);
		taken[index]++;
		rc = add_validators(last_good, job);
	}
	sqlite3_finalize(queued);
	sqlite3_finalize(last_good);
	free(taken);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
check_selected_sources(const struct config *cfg, const struct options *o)
{
	for (size_t i = 0; i < o->nsources; i++)
		if (!config_source(cfg, o->sources[i])) {
			log_error("--source %s: no such source in %s",
				o->sources[i], cfg->path);
			return EXIT_USAGE;
		}
	return 0;
}

static void
print_summary(const struct fetch_totals *t)
{
	char left[64] = "";

	if (t->left)
		snprintf(left, sizeof(left), ", %llu left for the next run",
			(unsigned long long)t->left);
	log_info("fetched %llu, not modified %llu, failed %llu, skipped %llu, "
		"%llu bytes%s", (unsigned long long)t->fetched,
		(unsigned long long)t->not_modified,
		(unsigned long long)t->failed, (unsigned long long)t->skipped,
		(unsigned long long)t->bytes, left);
}

static int
fetch(struct fetch_run *run, const struct options *o)
{
	struct job_list jobs = { 0 };
	sqlite3 *db = store_db(run->store);
	int rc;

	/* One read transaction for all the lookups. */
	if ((rc = store_begin(run->store, false)) == STORE_OK) {
		if ((rc = add_due_sources(db, run->cfg, o, &jobs)) ==
		    SQLITE_OK)
			rc = add_followups(db, run->cfg, o, &jobs);
		store_rollback(run->store);
	} else {
		rc = SQLITE_BUSY;
	}
	if (rc != SQLITE_OK) {
		log_error("%s: reading sources and queue: %s",
			run->cfg->store_path, sqlite3_errstr(rc));
		jobs_free(jobs.jobs, jobs.n);
		return store_result(rc) == STORE_BUSY ? EXIT_TEMPFAIL :
			EXIT_PARTIAL;
	}
	run->jobs = jobs.jobs;
	run->njobs = jobs.n;
	log_debug("%zu URLs to fetch", jobs.n);
	rc = jobs.n ? engine_run(run) : 0;
	jobs_free(jobs.jobs, jobs.n);
	if (rc < 0)
		return EXIT_PARTIAL;
	print_summary(&run->totals);
	return run->totals.failed ? EXIT_PARTIAL : 0;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct blob_store *blobs = NULL;
	struct run_lock lock = { .fd = -1 };
	struct fetch_run run = { 0 };
	char err[1024];
	int rc;

	cli_init(PROGRAM);
	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc < 0 ? cli_finish(0) : rc;
	cli_set_verbosity(o.quiet, o.verbose);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("libcurl failed to start");
		return EXIT_PARTIAL;
	}
	if ((rc = cli_load_config(o.config, &cfg, NULL)) != 0 ||
	    (rc = check_selected_sources(cfg, &o)) != 0)
		goto out;
	switch (lock_acquire(cfg->store_path, &lock, err, sizeof(err))) {
	case LOCK_HELD: break;
	case LOCK_BUSY: log_error("%s", err); rc = EXIT_TEMPFAIL; goto out;
	default: log_error("%s", err); rc = EXIT_PARTIAL; goto out;
	}
	if ((rc = cli_open_store(cfg, &st)) != 0)
		goto out;
	if ((rc = store_sync_sources(st, cfg)) != STORE_OK) {
		log_error("%s: updating sources: %s", cfg->store_path,
			store_errmsg(st));
		rc = rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
		goto out;
	}
	if (blob_store_open(cfg->blobs_dir, &blobs) < 0) {
		log_error("%s: %m", cfg->blobs_dir);
		rc = EXIT_PARTIAL;
		goto out;
	}
	run.cfg = cfg;
	run.store = st;
	run.blobs = blobs;
	run.deadline = monotonic_now() + (double)cfg->fetch_deadline;
	run.progress = !o.quiet && isatty(STDERR_FILENO);
	rc = fetch(&run, &o);
out:
	blob_store_close(blobs);
	store_close(st);
	lock_release(&lock);
	config_free(cfg);
	curl_global_cleanup();
	return cli_finish(rc);
}
