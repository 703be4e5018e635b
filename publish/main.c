/* cybil-publish: writes the next release from consented records only
 * (SPEC §6), in the crash-safe order: built in releases/.NNNNNN.tmp/
 * from one read of the store; then, only if it differs from the last
 * release (so that no serial is spent on nothing), the serial reserved
 * in the store ("building"), the folder renamed into place, the pointer
 * replaced, the release marked done. A run killed at any step leaves a
 * tree that verifies, and the next run finishes or rebuilds what was
 * left. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "cli.h"
#include "date.h"
#include "file.h"
#include "lock.h"
#include "log.h"
#include "publish.h"

struct options {
	const char *config;
	int quiet, verbose;
	bool keygen, dry_run, force, purge;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [-qv] [-c FILE] [--dry-run] [--force] [--purge]\n"
		"       " PROGRAM " [-c FILE] --keygen\n"
		"\n"
		"Writes the next signed release of the publishable records to\n"
		"[publish] dir, when anything publishable changed.\n"
		"\n"
		"  -c FILE     configuration (else $CYBIL_CONFIG, ./cybil.conf,\n"
		"              /etc/cybil/cybil.conf)\n"
		"  --dry-run   show what would be added, updated and removed\n"
		"  --force     a new release even when nothing changed, or when\n"
		"              more than max_drop would be removed\n"
		"  --purge     delete older releases holding withdrawn or refused\n"
		"              records, listing them as revoked\n"
		"  --keygen    write a new key pair at [publish] key and KEY.pub\n"
		"  -q          print only failures; -v: more detail\n"
		"  -h, --help  this help; --version: the version\n");
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "purge", no_argument, NULL, 'p' },
		{ "keygen", no_argument, NULL, 'k' },
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
		case 'n': o->dry_run = true; break;
		case 'f': o->force = true; break;
		case 'p': o->purge = true; break;
		case 'k': o->keygen = true; break;
		case 'h': usage(stdout); return -1;
		case 'V': cli_print_version(PROGRAM); return -1;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc || (o->keygen && (o->dry_run || o->force ||
	    o->purge))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

static int
keygen(const struct config *cfg)
{
	struct sign_pubkey pub;
	char err[1024], b64[SIGN_PUBKEY_BASE64_SIZE], *pub_file;
	int rc;

	if (!(pub_file = config_pubkey_path(cfg)))
		return EXIT_PARTIAL;
	if (file_make_parent_dirs(cfg->publish_key) < 0) {
		log_error("%s: %s", cfg->publish_key, strerror(errno));
		free(pub_file);
		return EXIT_PARTIAL;
	}
	rc = sign_keygen(pub_file, cfg->publish_key, &pub, err, sizeof(err));
	if (rc == SIGN_OK) {
		sign_pubkey_base64(&pub, b64);
		log_info("wrote %s (secret, 0600) and %s", cfg->publish_key,
			pub_file);
		printf("%s\n", b64);
	} else {
		log_error("%s", err);
	}
	free(pub_file);
	return rc == SIGN_OK ? 0 : rc == SIGN_EXISTS ? EXIT_USAGE :
		EXIT_PARTIAL;
}

/* The secret key, checked against the public key beside it, which is
 * what downstream sites were given. */
static int
load_key(struct publish *p)
{
	const struct config *cfg = p->cfg;
	struct sign_pubkey beside;
	char err[1024], *pub_file = config_pubkey_path(cfg);
	int rc = EXIT_USAGE;

	if (!pub_file)
		return EXIT_PARTIAL;
	if (access(cfg->publish_key, F_OK) < 0) {
		log_error("no secret key at %s: make one with "
			PROGRAM " --keygen", cfg->publish_key);
		goto out;
	}
	if (sign_seckey_load(cfg->publish_key, &p->sk, err, sizeof(err)) !=
	    SIGN_OK || sign_pubkey_load(pub_file, &beside, err,
	    sizeof(err)) != SIGN_OK) {
		log_error("%s", err);
		goto out;
	}
	sign_seckey_pubkey(p->sk, &p->pub);
	if (memcmp(&beside, &p->pub, sizeof(beside)) != 0) {
		log_error("%s is not the public key of %s", pub_file,
			cfg->publish_key);
		goto out;
	}
	rc = 0;
out:
	free(pub_file);
	return rc;
}

/* SOURCE_DATE_EPOCH, when set, is the release time (reproducible
 * builds' convention); else the clock. */
static int
release_time(time_t *out)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long t;

	if (!sde || !*sde) {
		*out = time(NULL);
		return 0;
	}
	errno = 0;
	t = strtoll(sde, &end, 10);
	if (errno || *end || t < 0 || t > 253402300799LL) {
		log_error("SOURCE_DATE_EPOCH=%s: not seconds since 1970", sde);
		return EXIT_USAGE;
	}
	*out = (time_t)t;
	return 0;
}

static int
next_serial(struct publish *p)
{
	sqlite3_stmt *s = store_statement(p->st,
		"SELECT coalesce(max(serial), 0) + 1 FROM release");
	int rc = EXIT_PARTIAL;

	if (s && sqlite3_step(s) == SQLITE_ROW) {
		p->serial = sqlite3_column_int64(s, 0);
		rc = 0;
	} else {
		log_error("%s: %s", store_path(p->st), store_errmsg(p->st));
	}
	if (s)
		sqlite3_reset(s);
	if (rc == 0 && p->serial > RELEASE_SERIAL_MAX) {
		log_error("all %d serials are used", RELEASE_SERIAL_MAX);
		rc = EXIT_REFUSED;
	}
	return rc;
}

static void
print_diff(const struct publish *p)
{
	for (size_t i = 0; i < p->ndiff; i++) {
		const struct diff_entry *d = &p->diff[i];

		printf("%s %s%s%s\n", release_change_names[d->kind], d->id,
			d->kind == CHANGE_REMOVED ? " " : "", d->reason);
	}
}

/* max_drop guards against a broken source or a mistaken bulk decision
 * emptying every downstream mirror at once. */
static bool
drops_too_many(const struct publish *p)
{
	/* Shares are in hundredths of a percent; record counts are far
	 * below 2^64 / 10000. */
	return p->previous_records > 0 && (uint64_t)p->removed * 10000 >
		p->previous_records * p->cfg->publish_max_drop;
}

static int
reserve(struct publish *p)
{
	sqlite3_stmt *s = store_statement(p->st,
		"INSERT INTO release (serial, state, created, records, sha256,"
		" audit_head) VALUES (?1, 'building', ?2, ?3, ?4, ?5)"
		" ON CONFLICT (serial) DO UPDATE SET created = excluded.created,"
		" records = excluded.records, sha256 = excluded.sha256,"
		" audit_head = excluded.audit_head WHERE state = 'building'");
	char created[DATE_RFC3339_SIZE];
	int rc = SQLITE_ERROR;

	date_format_utc(p->release_time, created);
	if (s && !sqlite3_bind_int64(s, 1, p->serial) &&
	    !sqlite3_bind_text(s, 2, created, -1, SQLITE_TRANSIENT) &&
	    !sqlite3_bind_int64(s, 3, (sqlite3_int64)p->records) &&
	    !sqlite3_bind_text(s, 4, p->sums_sha256, -1, SQLITE_STATIC) &&
	    !sqlite3_bind_text(s, 5, p->audit_head, -1, SQLITE_STATIC))
		rc = sqlite3_step(s);
	if (s)
		sqlite3_reset(s);
	if (rc == SQLITE_DONE && sqlite3_changes(store_db(p->st)) == 1)
		return 0;
	log_error("%s: reserving serial %06" PRId64 ": %s", store_path(p->st),
		p->serial, store_errmsg(p->st));
	return store_result(rc) == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
}

static int
put_in_place(const struct publish *p, const char *tmp, const char *dir)
{
	if (rename(tmp, dir) == 0 && file_sync_dir(p->releases_dir) == 0)
		return 0;
	log_error("%s: %s", dir, strerror(errno));
	return EXIT_PARTIAL;
}

/* Re-signs the pointer with a later expiry when less than half of its
 * lifetime is left, or when --purge changed what is kept; writes it
 * again when it was lost. */
static int
refresh_pointer(struct publish *p, bool purged)
{
	struct release_pointer ptr;
	time_t now;
	bool found;
	int rc;

	if ((rc = release_time(&now)) != 0 ||
	    (rc = tree_read_pointer(p, &ptr, &found)) != 0)
		return rc;
	if (!found)
		return p->previous ? tree_repoint(p, p->previous, now +
			p->cfg->publish_expires) : 0;
	if (purged || now >= ptr.expires - p->cfg->publish_expires / 2) {
		log_info("re-signing " RELEASE_POINTER " of release %06" PRId64,
			ptr.serial);
		rc = tree_point(p, ptr.serial, ptr.created, ptr.sums_sha256,
			ptr.sums_bytes, ptr.audit_head,
			now + p->cfg->publish_expires);
	}
	release_pointer_free(&ptr);
	return rc;
}

static int
purge(struct publish *p, int64_t current)
{
	size_t purged;
	int rc, refreshed;

	rc = tree_purge(p, current, &purged);
	log_info("--purge: %zu release%s revoked", purged, purged == 1 ? "" :
		"s");
	/* What was revoked goes off disk and into the pointer even when
	 * another release could not be read. */
	refreshed = refresh_pointer(p, purged > 0);
	return rc ? rc : refreshed;
}

/* Whether the last done release is missing from disk (the tree was
 * lost or moved): then a new one is written even if nothing changed. */
static bool
tree_lost(const struct publish *p)
{
	char dir[4200];

	if (!p->previous || tree_release_dir(p, p->previous, false, dir,
	    sizeof(dir)) != 0)
		return false;
	if (access(dir, F_OK) == 0)
		return false;
	log_warn("release %06" PRId64 " is not in %s: writing a new one",
		p->previous, p->releases_dir);
	return true;
}

static int
new_release(struct publish *p, const struct options *o, bool reserved)
{
	char tmp[4200], dir[4200];
	int rc;

	if ((rc = release_time(&p->release_time)) != 0 ||
	    (rc = tree_release_dir(p, p->serial, true, tmp, sizeof(tmp))) ||
	    (rc = tree_release_dir(p, p->serial, false, dir, sizeof(dir))))
		return rc;
	if (mkdir(tmp, 0755) < 0) {
		log_error("%s: %s", tmp, strerror(errno));
		return EXIT_PARTIAL;
	}
	if ((rc = build_release(p, tmp)) != 0)
		goto discard;
	if (p->ndiff == 0 && !reserved && p->previous && !o->force &&
	    !tree_lost(p)) {
		log_info("nothing publishable changed since release %06"
			PRId64, p->previous);
		file_remove_tree(tmp);
		return o->purge ? purge(p, p->previous) :
			refresh_pointer(p, false);
	}
	if (drops_too_many(p) && !o->force) {
		log_error("release %06" PRId64 " would remove %zu of %" PRIu64
			" records, more than max_drop allows: refused (see "
			"--dry-run; --force publishes it)", p->serial,
			p->removed, p->previous_records);
		rc = EXIT_REFUSED;
		goto discard;
	}
	if ((rc = reserve(p)) != 0 || (rc = put_in_place(p, tmp, dir)) != 0 ||
	    (rc = tree_point(p, p->serial, p->release_time, p->sums_sha256,
	    p->sums_bytes, p->audit_head, p->release_time +
	    p->cfg->publish_expires)) != 0 || (rc = build_commit(p)) != 0)
		return rc;
	log_info("published release %06" PRId64 ": %" PRIu64 " records, %zu "
		"added, %zu updated, %zu removed, in %s", p->serial, p->records,
		p->added, p->updated, p->removed, dir);
	return o->purge ? purge(p, p->serial) : 0;
discard:
	file_remove_tree(tmp);
	return rc;
}

static int
dry_run(struct publish *p)
{
	int rc;

	if ((rc = next_serial(p)) != 0 || (rc = build_release(p, NULL)) != 0)
		return rc;
	print_diff(p);
	if (p->ndiff == 0 && p->previous)
		log_info("nothing publishable changed since release %06"
			PRId64, p->previous);
	else
		log_info("release %06" PRId64 " would hold %" PRIu64
			" records: %zu added, %zu updated, %zu removed%s",
			p->serial, p->records, p->added, p->updated,
			p->removed, drops_too_many(p) ?
			" (more than max_drop: refused without --force)" : "");
	return 0;
}

static int
run(struct publish *p, const struct options *o)
{
	int64_t reserved = 0;
	int rc;

	if ((rc = load_key(p)) != 0 || (rc = tree_clean(p)) != 0 ||
	    (rc = tree_recover(p, &reserved)) != 0)
		return rc;
	if (reserved)
		p->serial = reserved;
	else if ((rc = next_serial(p)) != 0)
		return rc;
	return new_release(p, o, reserved != 0);
}

static int
publish(const struct options *o)
{
	struct publish p = { 0 };
	struct config *cfg = NULL;
	struct run_lock lock = { .fd = -1 };
	char err[1024];
	int rc;

	if ((rc = cli_load_config(o->config, &cfg, NULL)) != 0)
		goto out;
	p.cfg = cfg;
	if (o->keygen) {
		rc = keygen(cfg);
		goto out;
	}
	if (snprintf(p.releases_dir, sizeof(p.releases_dir), "%s/"
	    RELEASE_DIR, cfg->publish_dir) >= (int)sizeof(p.releases_dir)) {
		log_error("%s: path too long", cfg->publish_dir);
		rc = EXIT_USAGE;
		goto out;
	}
	if (o->dry_run) {
		/* Only reads: no lock, so it works during a run. */
		if ((rc = cli_open_store(cfg, &p.st)) == 0)
			rc = dry_run(&p);
		goto out;
	}
	switch (lock_acquire(cfg->store_path, &lock, err, sizeof(err))) {
	case LOCK_HELD: break;
	case LOCK_BUSY: log_error("%s", err); rc = EXIT_TEMPFAIL; goto out;
	default: log_error("%s", err); rc = EXIT_PARTIAL; goto out;
	}
	if ((rc = cli_open_store(cfg, &p.st)) != 0)
		goto out;
	if ((rc = store_sync_sources(p.st, cfg)) != STORE_OK) {
		log_error("%s: %s", cfg->store_path, store_errmsg(p.st));
		rc = rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
		goto out;
	}
	if (file_make_parent_dirs(p.releases_dir) < 0) {
		log_error("%s: %s", cfg->publish_dir, strerror(errno));
		rc = EXIT_PARTIAL;
		goto out;
	}
	if (mkdir(p.releases_dir, 0755) < 0 && errno != EEXIST) {
		log_error("%s: %s", p.releases_dir, strerror(errno));
		rc = EXIT_PARTIAL;
		goto out;
	}
	rc = run(&p, o);
out:
	build_free(&p);
	sign_seckey_free(p.sk);
	store_close(p.st);
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
	/* For the HTML sanitiser. */
	xmlInitParser();
	rc = publish(&o);
	xmlCleanupParser();
	return cli_finish(rc);
}
