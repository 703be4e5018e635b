/* A release's files from one read transaction: records.jsonl and
 * records.csv from the publishable view (corrections applied, HTML
 * sanitised), changes.jsonl and tombstones.jsonl from a merge with what
 * the last release held, datapackage.json describing them, then the
 * archive, SHA256SUMS and its signature. */
#include "publish.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "date.h"
#include "file.h"
#include "log.h"

/* Rows formatted per batch: enough to keep the worker busy, few enough
 * to stay small. */
#define BATCH_ROWS 512

struct build {
	struct publish *p;
	const char *dir;		/* NULL: differences only */
	struct writer *writer;
	struct output out[MEMBER_COUNT];
	size_t diffcap;
	/* Cursors kept on their rows while the merge walks by id. */
	sqlite3_stmt *corrections, *before;
	bool corrections_done, before_done;
	json_t *sources;		/* name -> true, of published records */
};

static void
out_write(struct output *o, const void *data, size_t len)
{
	output_write(o, data, len);
}

static int
out_open(struct build *b, enum release_member m)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", b->dir ? b->dir : "",
		release_member_names[m]);
	return output_open(&b->out[m], b->writer, b->dir ? path : NULL);
}

static const char publishable_sql[] =
	"SELECT p.id, p.kind, p.source, p.title, p.url, p.fields,"
	" p.consent_basis, p.content_sha256, c.fetched_at,"
	" coalesce(c.final_url, c.url)"
	" FROM publishable p LEFT JOIN capture c ON c.id = p.capture_id"
	" WHERE p.source IN (SELECT name FROM source WHERE configured = 1)"
	" ORDER BY p.id";
static const char corrections_sql[] =
	"SELECT record_id, field, value FROM correction"
	" ORDER BY record_id, field";
static const char published_sql[] =
	"SELECT id, line_hash FROM published ORDER BY id";
static const char tombstones_sql[] =
	"SELECT id, reason, serial FROM tombstone ORDER BY id";
static const char reason_sql[] =
	"SELECT r.consent, r.state, coalesce(s.configured, 0),"
	" (SELECT basis FROM consent_event e WHERE e.record_id = r.id"
	"  ORDER BY e.id DESC LIMIT 1)"
	" FROM record r LEFT JOIN source s ON s.name = r.source"
	" WHERE r.id = ?1";

static const char *
col(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int
add_diff(struct build *b, const char *id, enum release_change_kind kind,
	const unsigned char *line_hash, const char *reason)
{
	struct publish *p = b->p;
	struct diff_entry *d;

	if (p->ndiff == b->diffcap) {
		size_t cap = b->diffcap ? 2 * b->diffcap : 1024;

		if (!(d = realloc(p->diff, cap * sizeof(*d))))
			return -1;
		p->diff = d;
		b->diffcap = cap;
	}
	d = &p->diff[p->ndiff++];
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->kind = kind;
	if (line_hash)
		memcpy(d->line_hash, line_hash, sizeof(d->line_hash));
	if (reason)
		snprintf(d->reason, sizeof(d->reason), "%s", reason);
	switch (kind) {
	case CHANGE_ADDED: p->added++; break;
	case CHANGE_UPDATED: p->updated++; break;
	case CHANGE_REMOVED: p->removed++; break;
	}
	return 0;
}

/* Record ids are 32 hex digits (the store's CHECK) and reasons come
 * from a fixed list, so these lines need no escaping: written directly,
 * they are already canonical JSON, keys in order. */
static bool
plain(const char *s)
{
	return strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz-") == strlen(s);
}

static int
change_line(struct build *b, const char *id, enum release_change_kind kind,
	const char *reason)
{
	char line[256];
	int n;

	if (!plain(id) || (reason && !plain(reason)))
		return -1;
	n = reason ? snprintf(line, sizeof(line), "{\"change\":\"%s\","
		"\"id\":\"%s\",\"reason\":\"%s\"}\n",
		release_change_names[kind], id, reason) :
		snprintf(line, sizeof(line), "{\"change\":\"%s\",\"id\":"
		"\"%s\"}\n", release_change_names[kind], id);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	out_write(&b->out[MEMBER_CHANGES], line, (size_t)n);
	return 0;
}

/* Why record ID, in the last release, is not publishable now. */
static const char *
removal_reason(struct build *b, const char *id)
{
	sqlite3_stmt *s = store_statement(b->p->st, reason_sql);
	const char *consent, *state, *basis, *why = NULL;

	if (!s || sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK
	    || sqlite3_step(s) != SQLITE_ROW)
		goto out;
	consent = col(s, 0);
	state = col(s, 1);
	basis = col(s, 3);
	if (strcmp(consent, "withdrawn") == 0)
		why = "withdrawn";
	else if (strcmp(consent, "refused") == 0)
		why = "refused";
	else if (strcmp(state, "deleted") == 0)
		why = "deleted-at-source";
	else if (strcmp(state, "gone") == 0)
		why = "gone";
	else if (sqlite3_column_int(s, 2) == 0)
		why = "source-removed";
	else if (basis && strcmp(basis, "expired") == 0)
		why = "expired";
	else
		why = "repended";
out:
	if (s)
		sqlite3_reset(s);
	return why;
}

/* One formatted record: its lines, and whether it is new or changed
 * since the last release (whose line hash is OLD, NULL when absent). */
static int
emit_record(struct build *b, const struct formatted *f,
	const unsigned char *old)
{
	enum release_change_kind kind = old ? CHANGE_UPDATED : CHANGE_ADDED;

	out_write(&b->out[MEMBER_RECORDS_JSONL], f->line, f->line_len);
	out_write(&b->out[MEMBER_RECORDS_JSONL], "\n", 1);
	out_write(&b->out[MEMBER_RECORDS_CSV], f->csv, f->csv_len);
	if (json_object_set_new(b->sources, f->source, json_true()) < 0)
		return -1;
	b->p->records++;
	if (old && memcmp(old, f->hash, RELEASE_LINE_HASH_BYTES) == 0)
		return 0;
	if (add_diff(b, f->id, kind, f->hash, NULL) < 0)
		return -1;
	return change_line(b, f->id, kind, NULL);
}

static int
emit_removal(struct build *b, const char *id)
{
	const char *why = removal_reason(b, id);

	if (!why) {
		log_error("record %s: cannot tell why it left: %s", id,
			store_errmsg(b->p->st));
		return -1;
	}
	if (add_diff(b, id, CHANGE_REMOVED, NULL, why) < 0)
		return -1;
	return change_line(b, id, CHANGE_REMOVED, why);
}

static int
step(sqlite3_stmt *s, bool *done)
{
	int rc = sqlite3_step(s);

	*done = rc != SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
prepare(struct build *b, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(store_db(b->p->st), sql, -1, s, NULL) ==
	    SQLITE_OK)
		return 0;
	log_error("%s: %s", store_path(b->p->st), store_errmsg(b->p->st));
	return -1;
}

/* Copies the next rows of the publishable cursor NOW into BATCH, each
 * with its corrections (the corrections cursor runs along, by id). */
static int
fill_batch(struct build *b, sqlite3_stmt *now, bool *now_done,
	struct batch *batch)
{
	sqlite3_stmt *c = b->corrections;
	int cmp;

	batch_clear(batch);
	while (!*now_done && batch_rows(batch) < BATCH_ROWS) {
		if (batch_add_row(batch, now) < 0)
			return -1;
		while (!b->corrections_done &&
		    (cmp = strcmp(col(c, 0), col(now, ROW_ID))) <= 0) {
			if (cmp == 0 && batch_add_correction(batch, col(c, 1),
			    col(c, 2)) < 0)
				return -1;
			if (step(c, &b->corrections_done) < 0)
				return -1;
		}
		if (step(now, now_done) < 0)
			return -1;
	}
	return 0;
}

/* Removals: the last release's records before ID (all, for NULL). */
static int
emit_removals_before(struct build *b, const char *id)
{
	while (!b->before_done && (!id || strcmp(col(b->before, 0), id) < 0)) {
		b->p->previous_records++;
		if (emit_removal(b, col(b->before, 0)) < 0 ||
		    step(b->before, &b->before_done) < 0)
			return -1;
	}
	return 0;
}

static int
consume_batch(struct build *b, const struct batch *batch)
{
	const unsigned char *old;
	struct formatted f;
	bool same;

	for (size_t i = 0; i < batch_rows(batch); i++) {
		if (batch_result(batch, i, &f) < 0) {
			log_error("record %s: its fields are not a JSON object, "
				"or memory ran out", batch_id(batch, i));
			return -1;
		}
		if (emit_removals_before(b, f.id) < 0)
			return -1;
		same = !b->before_done && strcmp(col(b->before, 0), f.id) == 0;
		if (same && sqlite3_column_bytes(b->before, 1) !=
		    RELEASE_LINE_HASH_BYTES)
			return -1;
		old = same ? sqlite3_column_blob(b->before, 1) : NULL;
		if (emit_record(b, &f, old) < 0)
			return -1;
		if (same) {
			b->p->previous_records++;
			if (step(b->before, &b->before_done) < 0)
				return -1;
		}
	}
	return 0;
}

/* Fills and hands over batches until FORMATTER_IN_FLIGHT - 1 are out
 * or the rows end; RING holds FORMATTER_IN_FLIGHT batches, the oldest
 * handed over at *HEAD. */
static int
hand_out(struct build *b, struct formatter *f, sqlite3_stmt *now,
	bool *now_done, struct batch **ring, size_t head, size_t *out)
{
	struct batch *batch;

	while (*out < FORMATTER_IN_FLIGHT - 1 && !*now_done) {
		batch = ring[(head + *out) % FORMATTER_IN_FLIGHT];
		if (fill_batch(b, now, now_done, batch) < 0)
			return -1;
		formatter_submit(f, batch);
		(*out)++;
	}
	return 0;
}

/* Walks the publishable records and the last release's, both by id. The
 * workers format the batches ahead while this thread reads rows and
 * writes out, in order, the batches they finished. */
static int
merge_records(struct build *b)
{
	struct batch *ring[FORMATTER_IN_FLIGHT] = { 0 };
	struct formatter *f = NULL;
	sqlite3_stmt *now = NULL;
	size_t head = 0, out = 0;
	bool now_done;
	int rc = -1;

	for (size_t i = 0; i < FORMATTER_IN_FLIGHT; i++)
		if (!(ring[i] = batch_new()))
			goto nomem;
	if (formatter_start(&f) < 0)
		goto nomem;
	if (prepare(b, publishable_sql, &now) < 0 ||
	    prepare(b, published_sql, &b->before) < 0 ||
	    prepare(b, corrections_sql, &b->corrections) < 0 ||
	    step(now, &now_done) < 0 || step(b->before, &b->before_done) < 0
	    || step(b->corrections, &b->corrections_done) < 0 ||
	    hand_out(b, f, now, &now_done, ring, head, &out) < 0)
		goto fail;
	while (out > 0) {
		formatter_wait(f, ring[head]);
		if (consume_batch(b, ring[head]) < 0)
			goto fail;
		head = (head + 1) % FORMATTER_IN_FLIGHT;
		out--;
		if (hand_out(b, f, now, &now_done, ring, head, &out) < 0)
			goto fail;
	}
	if (emit_removals_before(b, NULL) < 0)
		goto fail;
	rc = 0;
	goto out;
nomem:
	log_error("out of memory, or no thread to format records");
	goto out;
fail:
	log_error("reading the publishable records: %s",
		store_errmsg(b->p->st));
out:
	/* The workers may still hold batches. */
	formatter_stop(f);
	for (size_t i = 0; i < FORMATTER_IN_FLIGHT; i++)
		batch_free(ring[i]);
	sqlite3_finalize(now);
	sqlite3_finalize(b->before);
	sqlite3_finalize(b->corrections);
	b->before = b->corrections = NULL;
	return rc;
}

static const struct diff_entry *
find_diff(const struct publish *p, const char *id)
{
	size_t lo = 0, hi = p->ndiff;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(id, p->diff[mid].id);

		if (cmp == 0)
			return &p->diff[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int
tombstone_line(struct build *b, const char *id, const char *reason,
	int64_t serial)
{
	char line[256];
	int n;

	if (!plain(id) || !plain(reason))
		return -1;
	n = snprintf(line, sizeof(line), "{\"id\":\"%s\",\"reason\":\"%s\","
		"\"serial\":%" PRId64 "}\n", id, reason, serial);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	out_write(&b->out[MEMBER_TOMBSTONES], line, (size_t)n);
	return 0;
}

/* Every id ever removed and not published again: the store's list,
 * less what came back, plus this release's removals, in id order. */
static int
write_tombstones(struct build *b)
{
	const struct publish *p = b->p;
	const struct diff_entry *d;
	sqlite3_stmt *s = NULL;
	size_t next = 0;
	bool done;
	int rc = -1;

	if (prepare(b, tombstones_sql, &s) < 0 || step(s, &done) < 0)
		goto out;
	while (!done || next < p->ndiff) {
		if (next < p->ndiff && p->diff[next].kind != CHANGE_REMOVED) {
			next++;
			continue;
		}
		if (next < p->ndiff && (done ||
		    strcmp(p->diff[next].id, col(s, 0)) < 0)) {
			d = &p->diff[next++];
			if (tombstone_line(b, d->id, d->reason, p->serial) < 0)
				goto out;
			continue;
		}
		d = find_diff(p, col(s, 0));
		if ((!d || d->kind != CHANGE_ADDED) && tombstone_line(b,
		    col(s, 0), col(s, 1), sqlite3_column_int64(s, 2)) < 0)
			goto out;
		if (step(s, &done) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		log_error("reading the tombstones: %s", store_errmsg(p->st));
	sqlite3_finalize(s);
	return rc;
}

static int
read_state(struct publish *p)
{
	sqlite3_stmt *s = store_statement(p->st,
		"SELECT coalesce(max(serial), 0) FROM release"
		" WHERE state = 'done'");
	int rc = -1;

	if (s && sqlite3_step(s) == SQLITE_ROW) {
		p->previous = sqlite3_column_int64(s, 0);
		rc = 0;
	}
	if (s)
		sqlite3_reset(s);
	if (rc == 0 && audit_head(p->st, p->audit_head) == STORE_OK)
		return 0;
	log_error("%s: %s", store_path(p->st), store_errmsg(p->st));
	return -1;
}

static json_t *
csv_schema(void)
{
	json_t *fields = json_array();

	for (size_t i = 0; fields && i < FORMAT_CSV_COLUMNS; i++)
		if (json_array_append_new(fields, json_pack("{s:s, s:s}",
		    "name", format_csv_columns[i], "type", "string")) < 0) {
			json_decref(fields);
			return NULL;
		}
	return fields ? json_pack("{s:o}", "fields", fields) : NULL;
}

static json_t *
resource(const struct build *b, enum release_member m, const char *name,
	const char *format, const char *mediatype)
{
	char hex[HASH_HEX_SIZE], hash[sizeof("sha256:") + HASH_HEX_SIZE];
	struct hash h = b->out[m].hash;

	hash_end_hex(&h, hex);
	snprintf(hash, sizeof(hash), "sha256:%s", hex);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "name", name,
		"path", release_member_names[m], "format", format,
		"mediatype", mediatype, "encoding", "utf-8", "bytes",
		(json_int_t)b->out[m].bytes, "hash", hash);
}

static json_t *
licence(const char *s)
{
	/* An SPDX id names a licence; a URL points at one. */
	return json_pack("{s:s}", strstr(s, "://") ? "path" : "name", s);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *
source_json(const struct source_config *src)
{
	json_t *item = json_pack("{s:s, s:s}", "title", src->name, "path",
		src->url);

	if (item && ((src->licence && json_object_set_new(item, "licence",
	    json_string(src->licence)) < 0) || (src->attribution &&
	    json_object_set_new(item, "attribution",
	    json_string(src->attribution)) < 0))) {
		json_decref(item);
		return NULL;
	}
	return item;
}

/* The sources of the published records, by name, with their licence
 * and attribution. */
static json_t *
package_sources(const struct build *b)
{
	size_t n = json_object_size(b->sources), i = 0;
	const char **names = calloc(n ? n : 1, sizeof(*names));
	const struct source_config *src;
	json_t *list = json_array(), *v;
	const char *name;

	if (!names || !list)
		goto fail;
	json_object_foreach(b->sources, name, v)
		names[i++] = name;
	qsort(names, n, sizeof(*names), compare_names);
	for (i = 0; i < n; i++)
		if (!(src = config_source(b->p->cfg, names[i])) ||
		    json_array_append_new(list, source_json(src)) < 0)
			goto fail;
	free(names);
	return list;
fail:
	free(names);
	json_decref(list);
	return NULL;
}

static char *
datapackage_text(const struct build *b)
{
	const struct publish *p = b->p;
	const struct config *cfg = p->cfg;
	char created[DATE_RFC3339_SIZE], version[32], *text = NULL;
	json_t *pkg;

	snprintf(version, sizeof(version), "%" PRId64 ".0.0", p->serial);
	pkg = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:[o, o, o, o], "
		"s:{s:I, s:o, s:I, s:s}}",
		"profile", "data-package",
		"name", cfg->publish_name ? cfg->publish_name : "cybil",
		"version", version,
		"created", date_format_utc(p->release_time, created),
		"licenses", cfg->publish_licence ?
			json_pack("[o]", licence(cfg->publish_licence)) :
			json_array(),
		"sources", package_sources(b),
		"resources",
		resource(b, MEMBER_RECORDS_JSONL, "records", "jsonl",
			"application/x-ndjson"),
		resource(b, MEMBER_RECORDS_CSV, "records-csv", "csv",
			"text/csv"),
		resource(b, MEMBER_CHANGES, "changes", "jsonl",
			"application/x-ndjson"),
		resource(b, MEMBER_TOMBSTONES, "tombstones", "jsonl",
			"application/x-ndjson"),
		"cybil", "serial", (json_int_t)p->serial,
		"previous", p->previous ? json_integer(p->previous) :
			json_null(),
		"records", (json_int_t)p->records,
		"audit_head", p->audit_head);
	if (!pkg)
		return NULL;
	if ((cfg->publish_title && json_object_set_new(pkg, "title",
	    json_string(cfg->publish_title)) < 0) || (cfg->publish_homepage &&
	    json_object_set_new(pkg, "homepage",
	    json_string(cfg->publish_homepage)) < 0) ||
	    json_object_set_new(json_array_get(json_object_get(pkg,
	    "resources"), 1), "schema", csv_schema()) < 0)
		goto out;
	text = release_json_dumps(pkg);
out:
	json_decref(pkg);
	return text;
}

/* The archive from the member files, then SHA256SUMS and its signature;
 * the member files are removed, leaving the release folder's three. */
static int
write_archive(struct build *b)
{
	struct publish *p = b->p;
	struct tarball_entry entries[MEMBER_COUNT];
	struct tarball_settings settings = {
		.mtime = p->release_time,
		.level = (int)p->cfg->publish_level,
		.threads = (int)p->cfg->publish_threads,
	};
	char name[RELEASE_ARCHIVE_SIZE], path[4200], sha[HASH_HEX_SIZE];
	char sums[256], trusted[256], err[1024], *pkg, *sig = NULL;
	int rc = -1;

	if (!(pkg = datapackage_text(b))) {
		log_error("making datapackage.json: out of memory");
		return -1;
	}
	for (int m = 0; m < MEMBER_COUNT; m++)
		entries[m] = (struct tarball_entry){
			.name = release_member_names[m],
			.path = b->out[m].path,
		};
	entries[MEMBER_DATAPACKAGE].path = NULL;
	entries[MEMBER_DATAPACKAGE].data = pkg;
	entries[MEMBER_DATAPACKAGE].len = strlen(pkg);
	release_archive_name(p->serial, name);
	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	if (tarball_write(path, entries, MEMBER_COUNT, &settings, sha, NULL,
	    err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	for (int m = 0; m < MEMBER_COUNT; m++)
		if (m != MEMBER_DATAPACKAGE && unlink(b->out[m].path) < 0) {
			log_error("%s: %s", b->out[m].path, strerror(errno));
			goto out;
		}
	release_sums_text(sha, p->serial, sums, sizeof(sums));
	hash_sha256_hex(sums, strlen(sums), p->sums_sha256);
	p->sums_bytes = strlen(sums);
	if (release_trusted_comment(trusted, sizeof(trusted),
	    p->release_time, RELEASE_SUMS, p->serial) < 0 ||
	    sign_buffer(p->sk, sums, strlen(sums), RELEASE_UNTRUSTED, trusted,
	    &sig, err, sizeof(err)) != SIGN_OK) {
		log_error("signing " RELEASE_SUMS ": %s", err);
		goto out;
	}
	if (tree_put_file(b->dir, RELEASE_SUMS, sums) != 0 ||
	    tree_put_file(b->dir, RELEASE_SUMS RELEASE_SIG_SUFFIX, sig) != 0)
		goto out;
	rc = 0;
out:
	free(pkg);
	free(sig);
	return rc;
}

static int
open_outputs(struct build *b)
{
	struct text header = { 0 };
	int rc = 0;

	for (int m = 0; m < MEMBER_COUNT; m++)
		if (m != MEMBER_DATAPACKAGE && out_open(b, m) < 0)
			return -1;
	for (size_t i = 0; i < FORMAT_CSV_COLUMNS; i++)
		csv_cell(&header, format_csv_columns[i],
			i + 1 == FORMAT_CSV_COLUMNS);
	if (header.failed)
		rc = -1;
	else
		out_write(&b->out[MEMBER_RECORDS_CSV], header.p, header.len);
	free(header.p);
	return rc;
}

static int
close_outputs(struct build *b)
{
	int rc = 0;

	for (int m = 0; m < MEMBER_COUNT; m++)
		if (output_close(&b->out[m]) < 0)
			rc = -1;
	return rc;
}

int
build_release(struct publish *p, const char *dir)
{
	struct build b = { .p = p, .dir = dir };
	int rc = EXIT_PARTIAL, begun;

	p->records = p->previous_records = 0;
	p->added = p->updated = p->removed = 0;
	p->ndiff = 0;
	if (writer_start(&b.writer) < 0) {
		log_error("cannot start the writer thread");
		goto out;
	}
	if (!(b.sources = json_object()) || open_outputs(&b) < 0)
		goto out;
	/* One read transaction: the release is one moment of the store. */
	if ((begun = store_begin(p->st, false)) != STORE_OK) {
		log_error("%s: %s", store_path(p->st), store_errmsg(p->st));
		rc = begun == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
		goto out;
	}
	if (read_state(p) < 0 || merge_records(&b) < 0 ||
	    write_tombstones(&b) < 0) {
		store_rollback(p->st);
		goto out;
	}
	store_rollback(p->st);
	if (close_outputs(&b) < 0 || (dir && write_archive(&b) < 0))
		goto out;
	rc = 0;
out:
	close_outputs(&b);
	writer_stop(b.writer);
	json_decref(b.sources);
	return rc;
}

void
build_free(struct publish *p)
{
	free(p->diff);
	p->diff = NULL;
	p->ndiff = 0;
}

static const char upsert_published_sql[] =
	"INSERT INTO published (id, line_hash) VALUES (?1, ?2)"
	" ON CONFLICT (id) DO UPDATE SET line_hash = excluded.line_hash";
static const char delete_published_sql[] =
	"DELETE FROM published WHERE id = ?1";
static const char upsert_tombstone_sql[] =
	"INSERT INTO tombstone (id, reason, serial) VALUES (?1, ?2, ?3)"
	" ON CONFLICT (id) DO UPDATE SET reason = excluded.reason,"
	" serial = excluded.serial";
static const char delete_tombstone_sql[] =
	"DELETE FROM tombstone WHERE id = ?1";

static int
run(sqlite3_stmt *s)
{
	int rc = s ? sqlite3_step(s) : SQLITE_ERROR;

	if (s)
		sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
build_apply(struct store *st, const struct diff_entry *d, int64_t serial)
{
	sqlite3_stmt *s;

	if (d->kind == CHANGE_REMOVED) {
		if (!(s = store_statement(st, delete_published_sql)) ||
		    sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC) ||
		    run(s) < 0 ||
		    !(s = store_statement(st, upsert_tombstone_sql)) ||
		    sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(s, 2, d->reason, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(s, 3, serial))
			return -1;
		return run(s);
	}
	if (!(s = store_statement(st, upsert_published_sql)) ||
	    sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_blob(s, 2, d->line_hash, sizeof(d->line_hash),
	    SQLITE_STATIC) || run(s) < 0)
		return -1;
	if (d->kind == CHANGE_UPDATED)
		return 0;
	if (!(s = store_statement(st, delete_tombstone_sql)) ||
	    sqlite3_bind_text(s, 1, d->id, -1, SQLITE_STATIC))
		return -1;
	return run(s);
}

int
build_mark_done(struct store *st, int64_t serial)
{
	sqlite3_stmt *s = store_statement(st, "UPDATE release SET state ="
		" 'done' WHERE serial = ?1 AND state = 'building'");

	if (!s || sqlite3_bind_int64(s, 1, serial))
		return -1;
	return run(s);
}

int
build_commit(struct publish *p)
{
	int rc;

	if ((rc = store_begin(p->st, true)) != STORE_OK)
		goto fail;
	rc = STORE_ERROR;
	for (size_t i = 0; i < p->ndiff; i++)
		if (build_apply(p->st, &p->diff[i], p->serial) < 0)
			goto fail;
	if (build_mark_done(p->st, p->serial) < 0 ||
	    (rc = store_commit(p->st)) != STORE_OK)
		goto fail;
	return 0;
fail:
	log_error("%s: recording release %06" PRId64 ": %s",
		store_path(p->st), p->serial, store_errmsg(p->st));
	store_rollback(p->st);
	return rc == STORE_BUSY ? EXIT_TEMPFAIL : EXIT_PARTIAL;
}
