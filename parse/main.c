/* cybil-parse: turn new captures into normalised records. It reads blobs
 * and the store, writes the store, and never touches the network. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "cli.h"
#include "date.h"
#include "harvest.h"
#include "lock.h"
#include "log.h"
#include "parser.h"
#include "source.h"

#define PROGRAM "cybil-parse"
#define SOURCES_SELECTED_MAX 256

struct options {
	const char *config;
	int quiet, verbose;
	bool reparse, dump;
	const char *kind;
	const char *sources[SOURCES_SELECTED_MAX];
	size_t nsources;
	const char *file;
	const char *base_url;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [-qv] [-c FILE] [--reparse] [--source NAME]...\n"
		"       " PROGRAM " --dump --kind KIND [-c FILE [--source NAME]]\n"
		"                   [--base-url URL] FILE\n"
		"\n"
		"Parses new captures into records. --reparse rebuilds the records\n"
		"from the stored bodies; --dump prints the records of one local\n"
		"file as JSON lines, without a configuration or store.\n"
		"\n"
		"  -c FILE        configuration (else $CYBIL_CONFIG, ./cybil.conf,\n"
		"                 /etc/cybil/cybil.conf)\n"
		"  --source NAME  only this source (repeatable)\n"
		"  --kind KIND    with --dump: rss, atom, html, iati or oai-pmh\n"
		"  --base-url URL with --dump: the address FILE came from\n"
		"  -q             print only failures; -v: more detail\n"
		"  -h, --help     this help; --version: the version\n");
}

/* Returns 0, -1 when main should exit 0 (help, version), or an exit
 * status. */
static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "reparse", no_argument, NULL, 'r' },
		{ "dump", no_argument, NULL, 'd' },
		{ "kind", required_argument, NULL, 'k' },
		{ "base-url", required_argument, NULL, 'b' },
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
		case 'r': o->reparse = true; break;
		case 'd': o->dump = true; break;
		case 'k': o->kind = optarg; break;
		case 'b': o->base_url = optarg; break;
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
	if (o->dump) {
		if (!o->kind || optind != argc - 1 || o->nsources > 1 ||
		    (o->nsources && !o->config)) {
			log_error("--dump needs --kind KIND and one FILE (and "
				"-c FILE with --source NAME)");
			return EXIT_USAGE;
		}
		if (!parser_for(o->kind)) {
			log_error("--kind %s: expected rss, atom, html, iati "
				"or oai-pmh", o->kind);
			return EXIT_USAGE;
		}
		o->file = argv[optind];
		return 0;
	}
	if (o->kind || o->base_url || optind < argc) {
		log_error("%s (see " PROGRAM " -h)", o->kind || o->base_url ?
			"--kind and --base-url go with --dump" :
			"unexpected argument");
		return EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------- --dump */

static int
dump_record(struct parse_context *ctx, struct record *rec)
{
	json_t *line = json_object();
	int rc = -1;

	ctx->records++;
	if (line &&
	    json_object_set_new(line, "external_id", rec->external_id ?
	    json_string(rec->external_id) : json_null()) == 0 &&
	    json_object_set_new(line, "title", rec->title ?
	    json_string(rec->title) : json_null()) == 0 &&
	    json_object_set_new(line, "url", rec->url ? json_string(rec->url) :
	    json_null()) == 0 &&
	    json_object_set_new(line, "deleted", json_boolean(rec->deleted)) ==
	    0 &&
	    json_object_set(line, "fields", rec->fields) == 0 &&
	    json_dumpf(line, stdout, JSON_COMPACT | JSON_SORT_KEYS) == 0 &&
	    putchar('\n') != EOF)
		rc = 0;
	else
		parse_fail(ctx, "writing the output failed");
	json_decref(line);
	record_free(rec);
	return rc;
}

static int
dump_follow(struct parse_context *ctx, const char *url, const char *reason)
{
	(void)ctx;
	log_debug("would queue %s (%s)", url, reason);
	return 0;
}

/* Prints the records of one local file, then a last line with the
 * document's own fields and the parse's counts. */
static int
dump(const struct options *o)
{
	const struct parser *parser = parser_for(o->kind);
	struct parse_context ctx = {
		.emit = dump_record,
		.follow = dump_follow,
		.base_url = o->base_url ? o->base_url : o->file,
	};
	struct config *cfg = NULL;
	json_t *summary = NULL;
	int fd = -1, rc = EXIT_PARTIAL;

	if (o->config) {
		if ((rc = cli_load_config(o->config, &cfg, NULL)) != 0)
			return rc;
	} else if (!(cfg = config_defaults())) {
		log_error("out of memory");
		return EXIT_PARTIAL;
	}
	ctx.cfg = cfg;
	/* A source's own settings: the html mapping, the language ... */
	if (o->nsources && !(ctx.src = config_source(cfg, o->sources[0]))) {
		log_error("--source %s: no such source in %s", o->sources[0],
			o->config);
		rc = EXIT_USAGE;
		goto out;
	}
	if ((fd = open(o->file, O_RDONLY | O_CLOEXEC)) < 0) {
		log_error("%s: %s", o->file, strerror(errno));
		goto out;
	}
	rc = parser->parse(&ctx, fd) < 0 ? EXIT_PARTIAL : 0;
	if (rc)
		log_error("%s: %s", o->file, ctx.error);
	summary = json_pack("{s:O?, s:b, s:I, s:I, s:I, s:s?}",
		"document", ctx.document, "complete", ctx.complete,
		"records", (json_int_t)ctx.records,
		"skipped", (json_int_t)ctx.skipped,
		"replaced", (json_int_t)ctx.text.replaced,
		"error", rc ? ctx.error : NULL);
	if (!summary || json_dumpf(summary, stdout, JSON_COMPACT |
	    JSON_SORT_KEYS) < 0 || putchar('\n') == EOF)
		rc = EXIT_PARTIAL;
out:
	if (fd >= 0)
		close(fd);
	json_decref(summary);
	json_decref(ctx.document);
	free(ctx.harvest_from);
	config_free(cfg);
	return rc;
}

/* ----------------------------------------------------------- captures */

struct capture_row {
	struct capture_info info;
	const struct source_config *src;
};

struct totals {
	struct harvest_counts counts;
	uint64_t parsed, failed, skipped_records;
};

/* The sink of a capture: records go to the harvest, up to max_records. */
static int
store_record(struct parse_context *ctx, struct record *rec)
{
	struct harvest *h = ctx->sink;
	int rc;

	if (ctx->records >= ctx->cfg->parse_max_records) {
		ctx->skipped++;
		ctx->over_max++;
		record_free(rec);
		return 0;
	}
	ctx->records++;
	rc = harvest_record(h, rec);
	record_free(rec);
	if (rc != STORE_OK)
		return parse_fail(ctx, "%s", harvest_error(h));
	return 0;
}

/* --reparse rebuilds records only: pages fetched long ago must not queue
 * their links (or stale resumption tokens) again. */
static int
no_follow(struct parse_context *ctx, const char *url, const char *reason)
{
	(void)ctx;
	log_debug("reparse: %s (%s) not queued", url, reason);
	return 0;
}

static int
store_follow(struct parse_context *ctx, const char *url, const char *reason)
{
	struct harvest *h = ctx->sink;

	if (harvest_follow(h, url, reason) != STORE_OK)
		return parse_fail(ctx, "%s", harvest_error(h));
	return 0;
}

static char *
stored_harvest_from(struct store *st, const char *source)
{
	sqlite3_stmt *s;
	char *from = NULL;

	if (sqlite3_prepare_v2(store_db(st), "SELECT harvest_from FROM source"
	    " WHERE name = ?1", -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		from = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return from;
}

/* A badResumptionToken: the list is asked for again, from the last
 * complete harvest's datestamp. */
static int
queue_restart(struct store *st, struct harvest *h,
	const struct source_config *src)
{
	char *from = stored_harvest_from(st, src->name);
	char *url = source_request_url(src, from);
	int rc = url ? harvest_follow(h, url, "resume") : STORE_ERROR;

	free(from);
	free(url);
	return rc;
}

static int
record_parse_error(struct store *st, int64_t id, const char *error)
{
	char now[DATE_RFC3339_SIZE];
	sqlite3_stmt *s;
	int rc;

	date_format_utc(time(NULL), now);
	if (sqlite3_prepare_v2(store_db(st), "UPDATE capture SET parsed_at ="
	    " ?2, parse_error = ?3 WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_bind_int64(s, 1, id) ||
	    sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, error, -1, SQLITE_STATIC) ||
	    sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		goto fail;
	}
	sqlite3_finalize(s);
	return STORE_OK;
fail:
	rc = store_result(sqlite3_errcode(store_db(st)));
	log_error("%s: recording the parse error of capture %lld: %s",
		store_path(st), (long long)id, store_errmsg(st));
	return rc == STORE_OK ? STORE_ERROR : rc;
}

/* Parses one capture in one transaction. Returns STORE_OK (the capture
 * parsed, or its parse error recorded), or STORE_BUSY / STORE_ERROR. */
static int
parse_capture(struct store *st, const struct config *cfg,
	const struct capture_row *row, bool reparse, struct totals *totals)
{
	const struct parser *parser = parser_for(config_kind_name(
		row->src->kind));
	struct parse_context ctx = {
		.cfg = cfg, .src = row->src, .emit = store_record,
		.follow = reparse ? no_follow : store_follow,
		.base_url = row->info.final_url ? row->info.final_url :
			row->info.url,
		.content_type = row->info.content_type,
	};
	struct harvest *h = NULL;
	char path[4096];
	int fd = -1, rc, parsed;

	if (blob_path(cfg->blobs_dir, row->info.sha256, path,
	    sizeof(path)) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_event(LOG_LEVEL_ERROR, row->src->name, "capture %lld: %s: "
			"%s", (long long)row->info.id, path, strerror(errno));
		totals->failed++;
		return record_parse_error(st, row->info.id, "stored body "
			"missing");
	}
	if ((rc = harvest_begin(st, row->src, parser, &row->info, &h)) !=
	    STORE_OK)
		goto out;
	ctx.sink = h;
	parsed = parser->parse(&ctx, fd);
	if (parsed == 0 && ctx.restart && !reparse)
		parsed = queue_restart(st, h, row->src) == STORE_OK ? 0 :
			parse_fail(&ctx, "%s", harvest_error(h));
	if (parsed < 0 && (rc = harvest_status(h)) != STORE_OK) {
		/* The store failed (a full disk ...), not the capture: it
		 * stays unparsed, for the next run to parse again. */
		harvest_abort(h);
		log_event(LOG_LEVEL_ERROR, row->src->name, "capture %lld: %s: "
			"%s", (long long)row->info.id, store_path(st),
			ctx.error);
		goto out;
	}
	if (parsed < 0) {
		harvest_abort(h);
		log_event(LOG_LEVEL_WARN, row->src->name, "capture %lld (%s): "
			"%s", (long long)row->info.id, ctx.base_url, ctx.error);
		totals->failed++;
		rc = record_parse_error(st, row->info.id, ctx.error);
		goto out;
	}
	/* A list cut at max_records does not say what is gone; a reparse
	 * does not move where the next OAI-PMH harvest starts. */
	rc = harvest_commit(h, ctx.complete && ctx.over_max == 0,
		reparse ? NULL : ctx.harvest_from, &totals->counts);
	if (rc == STORE_OK) {
		totals->parsed++;
		totals->skipped_records += ctx.skipped;
		if (ctx.skipped)
			log_event(LOG_LEVEL_WARN, row->src->name, "capture "
				"%lld: %llu records skipped (without an "
				"identifier, or over max_records)",
				(long long)row->info.id,
				(unsigned long long)ctx.skipped);
	}
out:
	close(fd);
	json_decref(ctx.document);
	free(ctx.harvest_from);
	return rc;
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
column_dup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? strdup((const char *)t) : NULL;
}

/* New captures (or with --reparse, the last good capture of every URL),
 * oldest first. */
static int
parse_all(struct store *st, const struct config *cfg,
	const struct options *o, struct totals *totals)
{
	static const char new_sql[] =
		"SELECT id, source, url, final_url, fetched_at, content_type,"
		" sha256 FROM capture WHERE parsed_at IS NULL"
		" AND sha256 IS NOT NULL AND id > ?1 ORDER BY id LIMIT 1";
	static const char reparse_sql[] =
		"SELECT id, source, url, final_url, fetched_at, content_type,"
		" sha256 FROM capture WHERE id IN (SELECT max(id) FROM capture"
		" WHERE sha256 IS NOT NULL GROUP BY source, url) AND id > ?1"
		" ORDER BY id LIMIT 1";
	sqlite3_stmt *s;
	int64_t last = 0;
	int rc = STORE_OK;

	if (sqlite3_prepare_v2(store_db(st), o->reparse ? reparse_sql :
	    new_sql, -1, &s, NULL) != SQLITE_OK) {
		log_error("%s: reading captures: %s", store_path(st),
			store_errmsg(st));
		return store_result(sqlite3_errcode(store_db(st)));
	}
	/* One capture at a time, each in its own transaction. */
	while (rc == STORE_OK) {
		struct capture_row row = { 0 };
		char *fields[6];
		int step;

		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, last);
		if ((step = sqlite3_step(s)) != SQLITE_ROW) {
			rc = step == SQLITE_DONE ? STORE_OK :
				store_result(step);
			if (rc != STORE_OK)
				log_error("%s: reading captures: %s",
					store_path(st), store_errmsg(st));
			break;
		}
		last = row.info.id = sqlite3_column_int64(s, 0);
		row.src = config_source(cfg, (const char *)
			sqlite3_column_text(s, 1));
		if (!row.src || !selected(o, row.src->name))
			continue;
		for (int i = 0; i < 6; i++)
			fields[i] = column_dup(s, i + 1);
		row.info.url = fields[1];
		row.info.final_url = fields[2];
		row.info.fetched_at = fields[3];
		row.info.content_type = fields[4];
		row.info.sha256 = fields[5];
		sqlite3_reset(s);
		if (row.info.url && row.info.fetched_at && row.info.sha256) {
			rc = parse_capture(st, cfg, &row, o->reparse,
				totals);
		} else {
			log_error("out of memory");
			rc = STORE_ERROR;
		}
		for (int i = 0; i < 6; i++)
			free(fields[i]);
	}
	sqlite3_finalize(s);
	return rc;
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
print_summary(const struct totals *t)
{
	const struct harvest_counts *c = &t->counts;

	log_info("parsed %llu captures (%llu failed): %llu records added, "
		"%llu changed, %llu unchanged, %llu deleted, %llu gone, %llu "
		"re-pended, %llu follow-ups queued",
		(unsigned long long)t->parsed, (unsigned long long)t->failed,
		(unsigned long long)c->added, (unsigned long long)c->changed,
		(unsigned long long)c->unchanged,
		(unsigned long long)c->deleted, (unsigned long long)c->gone,
		(unsigned long long)c->repended,
		(unsigned long long)c->queued);
}

static int
parse_store(const struct options *o)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct run_lock lock = { .fd = -1 };
	struct totals totals = { 0 };
	char err[1024];
	int rc;

	if ((rc = cli_load_config(o->config, &cfg, NULL)) != 0 ||
	    (rc = check_selected_sources(cfg, o)) != 0)
		goto out;
	switch (lock_acquire(cfg->store_path, &lock, err, sizeof(err))) {
	case LOCK_HELD: break;
	case LOCK_BUSY: log_error("%s", err); rc = EXIT_TEMPFAIL; goto out;
	default: log_error("%s", err); rc = EXIT_PARTIAL; goto out;
	}
	if ((rc = cli_open_store(cfg, &st)) != 0)
		goto out;
	if ((rc = store_sync_sources(st, cfg)) != STORE_OK)
		log_error("%s: updating sources: %s", cfg->store_path,
			store_errmsg(st));
	else
		rc = parse_all(st, cfg, o, &totals);	/* logs its failures */
	if (rc != STORE_OK) {
		rc = rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
		goto out;
	}
	print_summary(&totals);
	rc = totals.failed ? EXIT_PARTIAL : 0;
out:
	store_close(st);
	lock_release(&lock);
	config_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc;

	cli_init(PROGRAM);
	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc < 0 ? cli_finish(0) : rc;
	cli_set_verbosity(o.quiet, o.verbose);
	xmlInitParser();
	rc = o.dump ? dump(&o) : parse_store(&o);
	xmlCleanupParser();
	return cli_finish(rc);
}
