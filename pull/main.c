/* cybil-pull: a downstream site's mirror of the latest release (SPEC §6).
 * Everything fetched is size-capped and verified before it is opened; the
 * mirror changes in one transaction or not at all. A rollback (a serial
 * below the applied one), an equivocation (the applied serial with other
 * content), an expired pointer or a bad signature is refused with exit 3;
 * a network failure is exit 1. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "date.h"
#include "file.h"
#include "log.h"
#include "release.h"
#include "store.h"
#include "units.h"
#include "url.h"

#define PROGRAM "cybil-pull"
#define PUBKEYS_MAX 16
#define DEFAULT_MAX_BYTES ((uint64_t)1 << 30)
#define CONNECT_TIMEOUT_S 30L
#define TRANSFER_TIMEOUT_S 3600L

struct options {
	int quiet, verbose;
	const char *pubkeys[PUBKEYS_MAX];
	size_t npubkeys;
	const char *source;
	const char *into;
	uint64_t max_bytes;
};

struct pull {
	const struct options *o;
	struct sign_pubkey *keys;
	char *base;		/* the source URL, ending in '/'; NULL for a DIR */
	char tree[4200];	/* the local tree read: DIR, or the staging */
	bool staged;
	sqlite3 *db;
	char err[8192];
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [-qv] --pubkey FILE [--pubkey FILE]...\n"
		"                  [--max-bytes SIZE] URL|DIR --into MIRROR.db\n"
		"\n"
		"Fetches latest.json from URL (or reads it from DIR), verifies it\n"
		"and the release it names, and applies that release to the SQLite\n"
		"mirror: tombstones first, then the records, in one transaction.\n"
		"\n"
		"  --pubkey FILE     a minisign public key to accept (repeatable)\n"
		"  --into FILE       the mirror (created when missing)\n"
		"  --max-bytes SIZE  largest archive to download (default 1G)\n"
		"  -q                print only failures; -v: more detail\n"
		"  -h, --help        this help; --version: the version\n");
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "into", required_argument, NULL, 'i' },
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	int c;

	o->max_bytes = DEFAULT_MAX_BYTES;
	while ((c = getopt_long(argc, argv, "c:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			/* No configuration is needed, but one named must
			 * exist (SPEC §2). */
			if (access(optarg, F_OK) < 0) {
				log_error("%s: %s", optarg, strerror(errno));
				return EXIT_USAGE;
			}
			break;
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 'i': o->into = optarg; break;
		case 'm':
			if (units_parse_size(optarg, 1, UINT64_MAX / 2,
			    &o->max_bytes, &why) < 0) {
				log_error("--max-bytes %s: %s", optarg, why);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (o->npubkeys == PUBKEYS_MAX) {
				log_error("at most %d --pubkey", PUBKEYS_MAX);
				return EXIT_USAGE;
			}
			o->pubkeys[o->npubkeys++] = optarg;
			break;
		case 'h': usage(stdout); return -1;
		case 'V': cli_print_version(PROGRAM); return -1;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !o->into || !o->npubkeys) {
		usage(stderr);
		return EXIT_USAGE;
	}
	o->source = argv[optind];
	return 0;
}

/* --- Downloads ------------------------------------------------------- */

struct sink {
	FILE *f;
	uint64_t bytes, max;
	bool too_large;
};

static size_t
write_capped(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;

	if (s->bytes + len > s->max) {
		s->too_large = true;
		return 0;
	}
	s->bytes += len;
	return fwrite(data, 1, len, s->f);
}

static int
setup(CURL *h, const char *url, struct sink *sink)
{
	static const char ua[] = PROGRAM "/" CYBIL_VERSION;

	return curl_easy_setopt(h, CURLOPT_URL, url) ||
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) ||
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L) ||
		curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) ||
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S) ||
		curl_easy_setopt(h, CURLOPT_TIMEOUT, TRANSFER_TIMEOUT_S) ||
		curl_easy_setopt(h, CURLOPT_USERAGENT, ua) ||
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			(curl_off_t)sink->max) ||
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_capped) ||
		curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
}

/* Downloads the file REL of the source into the staging tree, at most
 * MAX bytes. Returns 0, EXIT_PARTIAL for a network failure, or
 * EXIT_REFUSED for a file over its cap. */
static int
download(struct pull *p, const char *rel, uint64_t max)
{
	char path[4400], errbuf[CURL_ERROR_SIZE] = "";
	struct sink sink = { .max = max };
	char *url = url_resolve(p->base, rel);
	CURL *h = NULL;
	CURLcode res;
	int rc = EXIT_PARTIAL;

	snprintf(path, sizeof(path), "%s/%s", p->tree, rel);
	if (!url) {
		log_error("%s: cannot resolve %s", p->base, rel);
		return EXIT_USAGE;
	}
	if (file_make_parent_dirs(path) < 0 || !(sink.f = fopen(path, "wbx"))) {
		log_error("%s: %s", path, strerror(errno));
		goto out;
	}
	if (!(h = curl_easy_init()) || setup(h, url, &sink) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf)) {
		log_error("libcurl failed to start");
		goto out;
	}
	log_debug("fetching %s", url);
	res = curl_easy_perform(h);
	if (sink.too_large || res == CURLE_FILESIZE_EXCEEDED) {
		log_error("%s: larger than %" PRIu64 " bytes: refused", url,
			max);
		rc = EXIT_REFUSED;
	} else if (res != CURLE_OK) {
		log_error("%s: %s", url, *errbuf ? errbuf :
			curl_easy_strerror(res));
	} else if (fflush(sink.f) != 0 || ferror(sink.f)) {
		log_error("%s: %s", path, strerror(errno));
	} else {
		rc = 0;
	}
out:
	if (sink.f && fclose(sink.f) != 0 && rc == 0) {
		log_error("%s: %s", path, strerror(errno));
		rc = EXIT_PARTIAL;
	}
	curl_easy_cleanup(h);
	free(url);
	return rc;
}

static int
download_release(struct pull *p, const struct release_pointer *ptr)
{
	char rel[256], archive[RELEASE_ARCHIVE_SIZE];
	int rc;

	release_archive_name(ptr->serial, archive);
	if ((rc = download(p, ptr->release_path, RELEASE_SUMS_MAX)) != 0)
		return rc;
	snprintf(rel, sizeof(rel), "%s" RELEASE_SIG_SUFFIX, ptr->release_path);
	if ((rc = download(p, rel, RELEASE_SIG_MAX)) != 0)
		return rc;
	snprintf(rel, sizeof(rel), RELEASE_DIR "/%06" PRId64 "/%s",
		ptr->serial, archive);
	return download(p, rel, p->o->max_bytes);
}

/* --- The mirror ------------------------------------------------------ */

static const char mirror_schema[] =
	"CREATE TABLE IF NOT EXISTS record ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" kind TEXT NOT NULL,"
	" title TEXT,"
	" url TEXT,"
	" json TEXT NOT NULL"
	");"
	"CREATE TABLE IF NOT EXISTS applied ("
	" serial INTEGER PRIMARY KEY NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" at TEXT NOT NULL"
	");";

static int
db_fail(struct pull *p, const char *what)
{
	char buf[512];

	log_error("%s: %s: %s", p->o->into, what, p->db ?
		store_db_errmsg(p->db, p->o->into, buf, sizeof(buf)) :
		"out of memory");
	return sqlite3_errcode(p->db) == SQLITE_BUSY ? EXIT_TEMPFAIL :
		EXIT_PARTIAL;
}

static int
open_mirror(struct pull *p)
{
	if (file_make_parent_dirs(p->o->into) < 0) {
		log_error("%s: %s", p->o->into, strerror(errno));
		return EXIT_PARTIAL;
	}
	if (sqlite3_open_v2(p->o->into, &p->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(p->db, 30000) != SQLITE_OK ||
	    sqlite3_exec(p->db, "PRAGMA journal_mode = WAL", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(p->db, mirror_schema, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(p, "opening the mirror");
	return 0;
}

/* The last applied serial and its SHA256SUMS sha256 (0 and "" for an
 * empty mirror). */
static int
last_applied(struct pull *p, int64_t *serial, char sha[HASH_HEX_SIZE])
{
	sqlite3_stmt *s;
	int step;

	*serial = 0;
	sha[0] = '\0';
	if (sqlite3_prepare_v2(p->db, "SELECT serial, sha256 FROM applied"
	    " ORDER BY serial DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return db_fail(p, "reading what was applied");
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		*serial = sqlite3_column_int64(s, 0);
		snprintf(sha, HASH_HEX_SIZE, "%s", sqlite3_column_text(s, 1));
	}
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_fail(p, "reading what was applied");
	return 0;
}

static int
exec_bound(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
upsert(sqlite3_stmt *s, const struct release_record *r)
{
	json_error_t jerr;
	json_t *j = json_loadb(r->line, r->len, 0, &jerr);
	int rc = -1;

	if (j && !sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC) &&
	    !sqlite3_bind_text(s, 2, json_string_value(json_object_get(j,
	    "kind")), -1, SQLITE_TRANSIENT) &&
	    !sqlite3_bind_text(s, 3, json_string_value(json_object_get(j,
	    "title")), -1, SQLITE_TRANSIENT) &&
	    !sqlite3_bind_text(s, 4, json_string_value(json_object_get(j,
	    "url")), -1, SQLITE_TRANSIENT) &&
	    !sqlite3_bind_text(s, 5, r->line, (int)r->len, SQLITE_STATIC))
		rc = exec_bound(s);
	json_decref(j);
	return rc;
}

/* Rows of an earlier release that this one neither holds nor
 * tombstones (a release is a full snapshot). */
static int
drop_stale(struct pull *p, const struct release_content *c, size_t *stale)
{
	sqlite3_stmt *ids = NULL, *del = NULL;
	int rc = -1, step;

	*stale = 0;
	if (sqlite3_prepare_v2(p->db, "SELECT id FROM record", -1, &ids,
	    NULL) != SQLITE_OK || sqlite3_prepare_v2(p->db,
	    "DELETE FROM record WHERE id = ?1", -1, &del, NULL) != SQLITE_OK)
		goto out;
	/* Deleting the row a SELECT stands on is safe in SQLite. */
	while ((step = sqlite3_step(ids)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(ids, 0);

		if (!id || release_find_record(c, id))
			continue;
		if (sqlite3_bind_text(del, 1, id, -1, SQLITE_TRANSIENT) ||
		    exec_bound(del) < 0)
			goto out;
		(*stale)++;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(ids);
	sqlite3_finalize(del);
	return rc;
}

static int
apply(struct pull *p, const struct release_pointer *ptr,
	const struct release_content *c)
{
	sqlite3_stmt *del = NULL, *put = NULL, *done = NULL;
	char now[DATE_RFC3339_SIZE];
	size_t gone = 0, stale;
	int rc = EXIT_PARTIAL;

	if (sqlite3_exec(p->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_fail(p, "starting the update");
	if (sqlite3_prepare_v2(p->db, "DELETE FROM record WHERE id = ?1", -1,
	    &del, NULL) || sqlite3_prepare_v2(p->db, "INSERT INTO record"
	    " (id, kind, title, url, json) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,"
	    " title = excluded.title, url = excluded.url,"
	    " json = excluded.json", -1, &put, NULL) ||
	    sqlite3_prepare_v2(p->db, "INSERT INTO applied (serial, sha256,"
	    " at) VALUES (?1, ?2, ?3)", -1, &done, NULL))
		goto fail;
	for (size_t i = 0; i < c->ntombstones; i++) {
		if (sqlite3_bind_text(del, 1, c->tombstones[i].id, -1,
		    SQLITE_STATIC) || exec_bound(del) < 0)
			goto fail;
		gone += (size_t)sqlite3_changes(p->db);
	}
	for (size_t i = 0; i < c->nrecords; i++)
		if (upsert(put, &c->records[i]) < 0)
			goto fail;
	if (drop_stale(p, c, &stale) < 0 ||
	    sqlite3_bind_int64(done, 1, ptr->serial) ||
	    sqlite3_bind_text(done, 2, ptr->sums_sha256, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(done, 3, date_format_utc(time(NULL), now), -1,
	    SQLITE_STATIC) || exec_bound(done) < 0 ||
	    sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	log_info("applied release %06" PRId64 " to %s: %zu records, %zu "
		"removed by tombstones, %zu no longer in the release",
		ptr->serial, p->o->into, c->nrecords, gone, stale);
	rc = 0;
	goto out;
fail:
	rc = db_fail(p, "applying the release");
	sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(del);
	sqlite3_finalize(put);
	sqlite3_finalize(done);
	return rc;
}

/* --- The pull -------------------------------------------------------- */

static bool
is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
		strncasecmp(s, "https://", 8) == 0;
}

/* A URL source is staged in a fresh folder beside the mirror. */
static int
prepare_source(struct pull *p)
{
	const char *src = p->o->source;
	size_t n = strlen(src);
	int rc;

	if (!is_url(src)) {
		snprintf(p->tree, sizeof(p->tree), "%s", src);
		return 0;
	}
	if (!(p->base = malloc(n + 2)))
		return EXIT_PARTIAL;
	snprintf(p->base, n + 2, "%s%s", src, n && src[n - 1] == '/' ? "" :
		"/");
	if (snprintf(p->tree, sizeof(p->tree), "%s.pull-XXXXXX",
	    p->o->into) >= (int)sizeof(p->tree) || !mkdtemp(p->tree)) {
		log_error("%s: cannot make a staging folder: %s", p->o->into,
			strerror(errno));
		return EXIT_PARTIAL;
	}
	p->staged = true;
	if ((rc = download(p, RELEASE_POINTER, RELEASE_POINTER_MAX)) != 0)
		return rc;
	return download(p, RELEASE_POINTER RELEASE_SIG_SUFFIX,
		RELEASE_SIG_MAX);
}

static int
refuse(struct pull *p)
{
	log_error("%s", p->err);
	return EXIT_REFUSED;
}

/* Rollback and equivocation: a serial below the applied one, or the
 * applied serial with another SHA256SUMS. *CURRENT is set when the
 * mirror already holds this release. */
static int
check_history(struct pull *p, const struct release_pointer *ptr,
	bool *current)
{
	char sha[HASH_HEX_SIZE];
	int64_t last;
	int rc;

	*current = false;
	if ((rc = last_applied(p, &last, sha)) != 0)
		return rc;
	if (ptr->serial < last) {
		log_error("%s offers release %06" PRId64 ", older than the "
			"applied %06" PRId64 ": rollback refused",
			p->o->source, ptr->serial, last);
		return EXIT_REFUSED;
	}
	if (ptr->serial == last && strcmp(sha, ptr->sums_sha256) != 0) {
		log_error("%s offers release %06" PRId64 " with SHA256SUMS %s, "
			"but %s was applied under that serial: equivocation "
			"refused", p->o->source, ptr->serial, ptr->sums_sha256,
			sha);
		return EXIT_REFUSED;
	}
	*current = ptr->serial == last;
	return 0;
}

static int
pull(struct pull *p)
{
	struct release_pointer ptr = { 0 };
	struct release_content content = { 0 };
	bool current;
	int rc;

	if ((rc = open_mirror(p)) != 0 || (rc = prepare_source(p)) != 0)
		return rc;
	if (release_read_pointer(p->tree, p->keys, p->o->npubkeys, &ptr,
	    p->err, sizeof(p->err)) != RELEASE_OK ||
	    release_pointer_current(&ptr, time(NULL), RELEASE_POINTER, p->err,
	    sizeof(p->err)) != RELEASE_OK) {
		rc = refuse(p);
		goto out;
	}
	if ((rc = check_history(p, &ptr, &current)) != 0)
		goto out;
	if (current) {
		log_info("%s already holds release %06" PRId64, p->o->into,
			ptr.serial);
		goto out;
	}
	if (p->base && (rc = download_release(p, &ptr)) != 0)
		goto out;
	if (release_verify_pointed(p->tree, &ptr, p->keys, p->o->npubkeys,
	    NULL, &content, p->err, sizeof(p->err)) != RELEASE_OK) {
		rc = refuse(p);
		goto out;
	}
	rc = apply(p, &ptr, &content);
out:
	release_content_free(&content);
	release_pointer_free(&ptr);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pull p = { .o = &o };
	int rc;

	cli_init(PROGRAM);
	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc < 0 ? cli_finish(0) : rc;
	cli_set_verbosity(o.quiet, o.verbose);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("libcurl failed to start");
		return EXIT_PARTIAL;
	}
	if (release_load_keys(o.pubkeys, o.npubkeys, &p.keys, p.err,
	    sizeof(p.err)) != RELEASE_OK) {
		log_error("%s", p.err);
		rc = EXIT_USAGE;
	} else {
		rc = pull(&p);
	}
	if (p.staged)
		file_remove_tree(p.tree);
	sqlite3_close(p.db);
	free(p.keys);
	free(p.base);
	curl_global_cleanup();
	return cli_finish(rc);
}
