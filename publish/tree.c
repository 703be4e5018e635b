/* The published tree: DIR/releases/NNNNNN folders, immutable once in
 * place, and the pointer.
 *
 * latest.json and latest.json.minisig must change together, and no
 * rename moves two files at once. So each pointer is written whole into
 * its own folder, .latest-NNNNNN-EXPIRES/, and DIR/.latest is a symbolic
 * link to the current one, replaced by rename(2); DIR/latest.json and
 * DIR/latest.json.minisig are fixed links through .latest/. A reader,
 * or a publish killed at any moment, sees the old pair or the new. */
#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "date.h"
#include "file.h"
#include "log.h"

#define CURRENT ".latest"
#define POINTER_PREFIX ".latest-"

int
tree_release_dir(const struct publish *p, int64_t serial, bool tmp,
	char *buf, size_t len)
{
	int n = snprintf(buf, len, tmp ? "%s/.%06" PRId64 ".tmp" :
		"%s/%06" PRId64, p->releases_dir, serial);

	if (n >= 0 && (size_t)n < len)
		return 0;
	log_error("%s: path too long", p->releases_dir);
	return EXIT_USAGE;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A release folder's serial from its name NNNNNN, or 0. */
static int64_t
serial_of(const char *name)
{
	if (strlen(name) != RELEASE_SERIAL_SIZE - 1 ||
	    !all_digits(name, RELEASE_SERIAL_SIZE - 1))
		return 0;
	return strtoll(name, NULL, 10);
}

static int
compare_serials(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The serials of the release folders on disk, ascending. */
static int
list_releases(const struct publish *p, int64_t **out, size_t *n)
{
	DIR *d = opendir(p->releases_dir);
	struct dirent *e;
	size_t cap = 0;
	int64_t serial, *grown;

	*out = NULL;
	*n = 0;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		log_error("%s: %s", p->releases_dir, strerror(errno));
		return EXIT_PARTIAL;
	}
	while ((e = readdir(d))) {
		if (!(serial = serial_of(e->d_name)))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			if (!(grown = realloc(*out, cap * sizeof(*grown)))) {
				closedir(d);
				log_error("out of memory");
				return EXIT_PARTIAL;
			}
			*out = grown;
		}
		(*out)[(*n)++] = serial;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), compare_serials);
	return 0;
}

static int
remove_path(const char *path)
{
	if (file_remove_tree(path) == 0)
		return 0;
	log_error("removing %s: %s", path, strerror(errno));
	return EXIT_PARTIAL;
}

int
tree_clean(const struct publish *p)
{
	char path[4200];
	DIR *d = opendir(p->releases_dir);
	struct dirent *e;
	size_t len;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : EXIT_PARTIAL;
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (len != RELEASE_SERIAL_SIZE + 4 || e->d_name[0] != '.' ||
		    strcmp(e->d_name + RELEASE_SERIAL_SIZE, ".tmp") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->releases_dir,
			e->d_name);
		log_info("removing %s, left by an interrupted publish", path);
		if ((rc = remove_path(path)) != 0)
			break;
	}
	closedir(d);
	return rc;
}

int
tree_read_pointer(const struct publish *p, struct release_pointer *out,
	bool *found)
{
	char path[4200], err[1024], *text;
	size_t len;
	int rc;

	*found = false;
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/" RELEASE_POINTER,
		p->cfg->publish_dir);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (file_read_all(path, RELEASE_POINTER_MAX, &text, &len, err,
	    sizeof(err)) != FILE_OK) {
		log_error("%s", err);
		return EXIT_PARTIAL;
	}
	rc = release_pointer_parse(text, len, path, out, err, sizeof(err));
	free(text);
	if (rc != RELEASE_OK) {
		log_error("%s", err);
		return EXIT_PARTIAL;
	}
	*found = true;
	return 0;
}

/* Makes NAME in the publish folder a symbolic link to TARGET, replacing
 * whatever is there by rename. */
static int
put_link(const struct publish *p, const char *name, const char *target)
{
	char path[4200], tmp[4300], now[4200];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", p->cfg->publish_dir, name);
	n = readlink(path, now, sizeof(now) - 1);
	if (n >= 0 && (now[n] = '\0', strcmp(now, target) == 0))
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((unlink(tmp) < 0 && errno != ENOENT) || symlink(target, tmp) < 0
	    || rename(tmp, path) < 0) {
		log_error("%s: %s", path, strerror(errno));
		return EXIT_PARTIAL;
	}
	return 0;
}

int
tree_put_file(const char *dir, const char *name, const char *text)
{
	char path[4200], err[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (file_replace(path, text, strlen(text), 0644, err,
	    sizeof(err)) == 0)
		return 0;
	log_error("%s", err);
	return EXIT_PARTIAL;
}

/* Writes the pointer pair into its own folder NAME. */
static int
write_pointer_dir(const struct publish *p, const char *name,
	const struct release_pointer *ptr)
{
	char dir[4200], trusted[256], err[1024], *text, *sig = NULL;
	int rc = EXIT_PARTIAL;

	snprintf(dir, sizeof(dir), "%s/%s", p->cfg->publish_dir, name);
	if (!(text = release_pointer_text(ptr))) {
		log_error("writing " RELEASE_POINTER ": out of memory");
		return rc;
	}
	if (release_trusted_comment(trusted, sizeof(trusted), ptr->created,
	    RELEASE_POINTER, ptr->serial) < 0 || sign_buffer(p->sk, text,
	    strlen(text), RELEASE_UNTRUSTED, trusted, &sig, err,
	    sizeof(err)) != SIGN_OK) {
		log_error("signing " RELEASE_POINTER ": %s", err);
		goto out;
	}
	if (remove_path(dir) != 0)
		goto out;
	if (mkdir(dir, 0755) < 0) {
		log_error("%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((rc = tree_put_file(dir, RELEASE_POINTER, text)) == 0)
		rc = tree_put_file(dir, RELEASE_POINTER RELEASE_SIG_SUFFIX, sig);
out:
	free(text);
	free(sig);
	return rc;
}

/* Removes the pointer folders other than KEEP. */
static void
remove_old_pointers(const struct publish *p, const char *keep)
{
	char path[4200];
	DIR *d = opendir(p->cfg->publish_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, POINTER_PREFIX,
		    strlen(POINTER_PREFIX)) == 0 &&
		    strcmp(e->d_name, keep) != 0) {
			snprintf(path, sizeof(path), "%s/%s",
				p->cfg->publish_dir, e->d_name);
			remove_path(path);
		}
	closedir(d);
}

static int
revoked_serials(const struct publish *p, int64_t **out, size_t *n)
{
	sqlite3_stmt *s = store_statement(p->st, "SELECT serial FROM release"
		" WHERE revoked_at IS NOT NULL ORDER BY serial");
	int64_t *grown;
	int step;

	*out = NULL;
	*n = 0;
	while (s && (step = sqlite3_step(s)) == SQLITE_ROW) {
		if (!(grown = realloc(*out, (*n + 1) * sizeof(*grown)))) {
			sqlite3_reset(s);
			return EXIT_PARTIAL;
		}
		*out = grown;
		(*out)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	if (s)
		sqlite3_reset(s);
	if (s && step == SQLITE_DONE)
		return 0;
	log_error("%s: %s", store_path(p->st), store_errmsg(p->st));
	return EXIT_PARTIAL;
}

static bool
contains(const int64_t *list, size_t n, int64_t serial)
{
	return n && bsearch(&serial, list, n, sizeof(*list), compare_serials);
}

/* Splits the releases on disk up to SERIAL into the newest [publish]
 * keep that are not revoked (KEPT) and the rest (DROP). A folder after
 * SERIAL is a leftover no pointer ever named, and is left alone. */
static int
sort_releases(const struct publish *p, int64_t serial,
	const int64_t *revoked, size_t nrevoked, int64_t **kept,
	size_t *nkept, int64_t **drop, size_t *ndrop)
{
	int64_t *all;
	size_t nall, room = p->cfg->publish_keep;
	int rc;

	*kept = *drop = NULL;
	*nkept = *ndrop = 0;
	if ((rc = list_releases(p, &all, &nall)) != 0)
		return rc;
	if (nall && (!(*kept = calloc(nall, sizeof(**kept))) ||
	    !(*drop = calloc(nall, sizeof(**drop))))) {
		free(all);
		log_error("out of memory");
		return EXIT_PARTIAL;
	}
	for (size_t i = nall; i-- > 0;) {
		if (all[i] > serial)
			continue;
		if (room && !contains(revoked, nrevoked, all[i])) {
			room--;
			(*kept)[(*nkept)++] = all[i];
		} else {
			(*drop)[(*ndrop)++] = all[i];
		}
	}
	free(all);
	/* Found newest first; listed ascending. */
	for (size_t i = 0; i < *nkept / 2; i++) {
		int64_t t = (*kept)[i];

		(*kept)[i] = (*kept)[*nkept - 1 - i];
		(*kept)[*nkept - 1 - i] = t;
	}
	return 0;
}

/* The pointer folder for SERIAL and EXPIRES, other than the current one
 * (which a re-sign at the same moment would otherwise overwrite). */
static void
pointer_name(const struct publish *p, int64_t serial, time_t expires,
	char *name, size_t len)
{
	char path[4200], now[256];
	ssize_t n;

	snprintf(name, len, POINTER_PREFIX "%06" PRId64 "-%lld", serial,
		(long long)expires);
	snprintf(path, sizeof(path), "%s/" CURRENT, p->cfg->publish_dir);
	n = readlink(path, now, sizeof(now) - 1);
	if (n >= 0 && (now[n] = '\0', strcmp(now, name) == 0))
		snprintf(name, len, POINTER_PREFIX "%06" PRId64 "-%lld.1",
			serial, (long long)expires);
}

int
tree_point(struct publish *p, int64_t serial, time_t created,
	const char sums_sha256[HASH_HEX_SIZE], uint64_t sums_bytes,
	const char audit_head[HASH_HEX_SIZE], time_t expires)
{
	char path[4200], name[96], release_path[64];
	struct release_pointer ptr = {
		.serial = serial, .created = created, .expires = expires,
		.release_path = release_path, .sums_bytes = sums_bytes,
	};
	int64_t *drop = NULL;
	size_t ndrop;
	int rc;

	snprintf(release_path, sizeof(release_path), RELEASE_DIR "/%06"
		PRId64 "/" RELEASE_SUMS, serial);
	memcpy(ptr.sums_sha256, sums_sha256, HASH_HEX_SIZE);
	memcpy(ptr.audit_head, audit_head, HASH_HEX_SIZE);
	if ((rc = revoked_serials(p, &ptr.revoked, &ptr.nrevoked)) != 0 ||
	    (rc = sort_releases(p, serial, ptr.revoked, ptr.nrevoked,
	    &ptr.kept, &ptr.nkept, &drop, &ndrop)) != 0)
		goto out;
	pointer_name(p, serial, expires, name, sizeof(name));
	if ((rc = write_pointer_dir(p, name, &ptr)) != 0 ||
	    (rc = put_link(p, RELEASE_POINTER, CURRENT "/"
	    RELEASE_POINTER)) != 0 || (rc = put_link(p, RELEASE_POINTER
	    RELEASE_SIG_SUFFIX, CURRENT "/" RELEASE_POINTER
	    RELEASE_SIG_SUFFIX)) != 0 || (rc = put_link(p, CURRENT,
	    name)) != 0)
		goto out;
	if (file_sync_dir(p->cfg->publish_dir) < 0) {
		log_error("%s: %s", p->cfg->publish_dir, strerror(errno));
		rc = EXIT_PARTIAL;
		goto out;
	}
	remove_old_pointers(p, name);
	/* Only now that no pointer names them. */
	for (size_t i = 0; i < ndrop && rc == 0; i++) {
		tree_release_dir(p, drop[i], false, path, sizeof(path));
		log_info("removing release %06" PRId64 "%s", drop[i],
			contains(ptr.revoked, ptr.nrevoked, drop[i]) ?
			" (revoked)" : " (beyond keep)");
		rc = remove_path(path);
	}
out:
	free(ptr.kept);
	free(ptr.revoked);
	free(drop);
	return rc;
}

static int
compare_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The ids of the records whose consent is now withdrawn or refused,
 * sorted: whatever reason their tombstone gives (a record that left as
 * re-pended may be withdrawn since), no release may keep them. */
static int
withdrawn_ids(const struct publish *p, char (**ids)[RELEASE_ID_SIZE],
	size_t *n)
{
	sqlite3_stmt *s = store_statement(p->st, "SELECT id FROM record"
		" WHERE consent IN ('withdrawn', 'refused') ORDER BY id");
	char (*grown)[RELEASE_ID_SIZE];
	size_t cap = 0;
	int step = SQLITE_ERROR;

	*ids = NULL;
	*n = 0;
	while (s && (step = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(grown = realloc(*ids, cap * sizeof(*grown))))
				break;
			*ids = grown;
		}
		snprintf((*ids)[(*n)++], RELEASE_ID_SIZE, "%s",
			sqlite3_column_text(s, 0));
	}
	if (s)
		sqlite3_reset(s);
	if (step == SQLITE_DONE)
		return 0;
	log_error("%s: reading tombstones: %s", store_path(p->st),
		store_errmsg(p->st));
	return EXIT_PARTIAL;
}

static bool
holds_any(const struct release_content *c,
	const char (*ids)[RELEASE_ID_SIZE], size_t n)
{
	for (size_t i = 0; i < c->nrecords; i++)
		if (bsearch(c->records[i].id, ids, n, sizeof(*ids),
		    compare_ids))
			return true;
	return false;
}

static int
mark_revoked(const struct publish *p, int64_t serial)
{
	sqlite3_stmt *s = store_statement(p->st, "UPDATE release SET"
		" revoked_at = ?1 WHERE serial = ?2");
	char now[DATE_RFC3339_SIZE];
	int rc;

	date_format_utc(time(NULL), now);
	if (!s || sqlite3_bind_text(s, 1, now, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(s, 2, serial)) {
		rc = SQLITE_ERROR;
	} else {
		rc = sqlite3_step(s);
		sqlite3_reset(s);
	}
	if (rc == SQLITE_DONE)
		return 0;
	log_error("%s: revoking release %06" PRId64 ": %s", store_path(p->st),
		serial, store_errmsg(p->st));
	return EXIT_PARTIAL;
}

int
tree_purge(struct publish *p, int64_t current, size_t *purged)
{
	struct release_content c;
	char (*ids)[RELEASE_ID_SIZE] = NULL, dir[4200], path[4300];
	char name[RELEASE_ARCHIVE_SIZE], err[1024];
	int64_t *serials = NULL;
	size_t nids, nserials;
	int rc, unread = 0;

	*purged = 0;
	if ((rc = withdrawn_ids(p, &ids, &nids)) != 0 || nids == 0 ||
	    (rc = list_releases(p, &serials, &nserials)) != 0)
		goto out;
	for (size_t i = 0; i < nserials && serials[i] < current; i++) {
		tree_release_dir(p, serials[i], false, dir, sizeof(dir));
		release_archive_name(serials[i], name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (release_content_read(path, serials[i], NULL, &c, err,
		    sizeof(err)) != RELEASE_OK) {
			log_error("--purge: %s", err);
			unread = EXIT_PARTIAL;
			continue;
		}
		if (holds_any(&c, (const char (*)[RELEASE_ID_SIZE])ids,
		    nids)) {
			log_info("release %06" PRId64 " holds withdrawn or "
				"refused records: revoking it", serials[i]);
			if ((rc = mark_revoked(p, serials[i])) != 0) {
				release_content_free(&c);
				goto out;
			}
			(*purged)++;
		}
		release_content_free(&c);
	}
out:
	free(ids);
	free(serials);
	return rc ? rc : unread;
}

/* The row of SQL (whose ?1, if any, is *SERIAL): *SERIAL, the release
 * time and the audit head; *SERIAL is 0 when there is no such row. */
static int
release_row(const struct publish *p, const char *sql, int64_t *serial,
	time_t *created, char audit_head[HASH_HEX_SIZE])
{
	sqlite3_stmt *s = store_statement(p->st, sql);
	const char *t, *head;
	int step = SQLITE_ERROR;

	if (s && sqlite3_bind_parameter_count(s) == 1 &&
	    sqlite3_bind_int64(s, 1, *serial) != SQLITE_OK)
		s = NULL;
	*serial = 0;
	if (s && (step = sqlite3_step(s)) == SQLITE_ROW) {
		*serial = sqlite3_column_int64(s, 0);
		t = (const char *)sqlite3_column_text(s, 1);
		head = (const char *)sqlite3_column_text(s, 2);
		if (!t || date_parse_utc(t, created) < 0 || !head ||
		    strlen(head) != HASH_HEX_SIZE - 1)
			step = SQLITE_CORRUPT;
		else
			memcpy(audit_head, head, HASH_HEX_SIZE);
	}
	if (s)
		sqlite3_reset(s);
	if (step == SQLITE_ROW || step == SQLITE_DONE)
		return 0;
	log_error("%s: reading the release table: %s", store_path(p->st),
		store_errmsg(p->st));
	return EXIT_PARTIAL;
}

/* The store learns what an adopted release holds, and marks it done. */
static int
record_content(struct publish *p, const struct release_content *c)
{
	struct diff_entry d;
	int rc;

	if ((rc = store_begin(p->st, true)) != STORE_OK)
		goto fail;
	if (sqlite3_exec(store_db(p->st), "DELETE FROM published;"
	    "DELETE FROM tombstone", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < c->nrecords; i++) {
		memset(&d, 0, sizeof(d));
		memcpy(d.id, c->records[i].id, sizeof(d.id));
		memcpy(d.line_hash, c->records[i].line_hash,
			sizeof(d.line_hash));
		d.kind = CHANGE_ADDED;
		if (build_apply(p->st, &d, c->serial) < 0)
			goto fail;
	}
	for (size_t i = 0; i < c->ntombstones; i++) {
		memset(&d, 0, sizeof(d));
		memcpy(d.id, c->tombstones[i].id, sizeof(d.id));
		memcpy(d.reason, c->tombstones[i].reason, sizeof(d.reason));
		d.kind = CHANGE_REMOVED;
		if (build_apply(p->st, &d, c->tombstones[i].serial) < 0)
			goto fail;
	}
	if (build_mark_done(p->st, c->serial) < 0 ||
	    (rc = store_commit(p->st)) != STORE_OK)
		goto fail;
	return 0;
fail:
	log_error("%s: adopting release %06" PRId64 ": %s", store_path(p->st),
		c->serial, store_errmsg(p->st));
	store_rollback(p->st);
	return rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
}

static int
sums_of(const char *dir, char sha[HASH_HEX_SIZE], uint64_t *bytes)
{
	char path[4300], err[1024], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/" RELEASE_SUMS, dir);
	if (file_read_all(path, RELEASE_SUMS_MAX, &text, &len, err,
	    sizeof(err)) != FILE_OK) {
		log_error("%s", err);
		return EXIT_PARTIAL;
	}
	hash_sha256_hex(text, len, sha);
	*bytes = len;
	free(text);
	return 0;
}

/* Points latest.json at release SERIAL, in place in DIR, made at CREATED
 * with audit head HEAD. */
static int
point_at(struct publish *p, const char *dir, int64_t serial, time_t created,
	const char head[HASH_HEX_SIZE], time_t expires)
{
	char sha[HASH_HEX_SIZE];
	uint64_t bytes;
	int rc;

	if ((rc = sums_of(dir, sha, &bytes)) != 0)
		return rc;
	return tree_point(p, serial, created, sha, bytes, head, expires);
}

int
tree_repoint(struct publish *p, int64_t serial, time_t expires)
{
	char dir[4200], head[HASH_HEX_SIZE];
	time_t created;
	int rc;

	if ((rc = release_row(p, "SELECT serial, created, audit_head FROM"
	    " release WHERE serial = ?1 AND state = 'done'", &serial,
	    &created, head)) != 0 || !serial ||
	    (rc = tree_release_dir(p, serial, false, dir, sizeof(dir))) != 0)
		return rc;
	log_warn("%s/" RELEASE_POINTER " is missing: pointing it at release "
		"%06" PRId64 " again", p->cfg->publish_dir, serial);
	return point_at(p, dir, serial, created, head, expires);
}

int
tree_recover(struct publish *p, int64_t *reserved)
{
	struct release_content c;
	struct release_pointer ptr;
	char dir[4200], err[1024], head[HASH_HEX_SIZE];
	time_t created;
	bool found;
	int rc;

	if ((rc = release_row(p, "SELECT serial, created, audit_head FROM"
	    " release WHERE state = 'building' ORDER BY serial DESC LIMIT 1",
	    reserved, &created, head)) != 0 || !*reserved)
		return rc;
	if ((rc = tree_release_dir(p, *reserved, false, dir, sizeof(dir))))
		return rc;
	if (access(dir, F_OK) < 0)
		return 0;	/* built again under the same serial */
	log_info("finishing release %06" PRId64 ", left in place by an "
		"interrupted publish", *reserved);
	if ((rc = release_verify_dir(dir, *reserved, &p->pub, 1, NULL, &c,
	    err, sizeof(err))) != RELEASE_OK) {
		log_error("%s", err);
		return EXIT_REFUSED;
	}
	if ((rc = tree_read_pointer(p, &ptr, &found)) == 0) {
		if (!found || ptr.serial < *reserved)
			rc = point_at(p, dir, *reserved, created, head,
				created + p->cfg->publish_expires);
		release_pointer_free(&ptr);
	}
	if (rc == 0)
		rc = record_content(p, &c);
	release_content_free(&c);
	*reserved = 0;
	return rc;
}
