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
#include "sanitize.h"

/* Columns of records.csv (SPEC §6). */
static const char *const csv_columns[] = {
	"id", "kind", "source", "title", "url", "published", "updated",
	"language", "basis", "source_url", "captured_at", "content_sha256",
	"fields_json",
};
#define NCSV (sizeof(csv_columns) / sizeof(csv_columns[0]))

/* A member file being written, with its size and sha256 as it goes.
 * Written in large blocks: each block is hashed and written at once. */
#define OUT_BLOCK (256 * 1024)

struct output {
	int fd;
	char path[4200];
	struct hash hash;
	uint64_t bytes;
	char *block;
	size_t used;
	bool failed;
};

/* A growing line: a record's JSON, or its CSV row. */
struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

struct build {
	struct publish *p;
	const char *dir;		/* NULL: differences only */
	struct output out[MEMBER_COUNT];
	struct text line, row;
	size_t diffcap;
	sqlite3_stmt *corrections;	/* the cursor, kept on its row */
	bool corrections_done;
	json_t *sources;		/* name -> true, of published records */
};

static void
text_add(struct text *t, const char *data, size_t len)
{
	char *grown;
	size_t cap;

	if (t->failed)
		return;
	if (t->len + len + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->len + len + 1)
			cap *= 2;
		if (!(grown = realloc(t->p, cap))) {
			t->failed = true;
			return;
		}
		t->p = grown;
		t->cap = cap;
	}
	memcpy(t->p + t->len, data, len);
	t->len += len;
	t->p[t->len] = '\0';
}

static void
text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void
out_flush(struct output *o)
{
	if (o->used == 0)
		return;
	hash_update(&o->hash, o->block, o->used);
	o->bytes += o->used;
	if (o->fd >= 0 && !o->failed && file_write_all(o->fd, o->block,
	    o->used) < 0)
		o->failed = true;
	o->used = 0;
}

static void
out_write(struct output *o, const void *data, size_t len)
{
	const char *p = data;
	size_t n;

	while (len > 0) {
		if (o->used == OUT_BLOCK)
			out_flush(o);
		n = OUT_BLOCK - o->used < len ? OUT_BLOCK - o->used : len;
		memcpy(o->block + o->used, p, n);
		o->used += n;
		p += n;
		len -= n;
	}
}

static void
out_line(struct output *o, const char *text)
{
	out_write(o, text, strlen(text));
	out_write(o, "\n", 1);
}

static int
out_open(struct build *b, enum release_member m)
{
	struct output *o = &b->out[m];

	hash_begin(&o->hash);
	o->fd = -1;
	if (!(o->block = malloc(OUT_BLOCK))) {
		log_error("out of memory");
		return -1;
	}
	if (!b->dir)
		return 0;
	snprintf(o->path, sizeof(o->path), "%s/%s", b->dir,
		release_member_names[m]);
	if ((o->fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) < 0) {
		log_error("%s: %s", o->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Flushes and syncs a member: the archive is built from it next. The
 * member's sha256 is complete after this. */
static int
out_close(struct output *o)
{
	int rc = 0;

	if (o->block)
		out_flush(o);
	free(o->block);
	o->block = NULL;
	if (o->fd < 0)
		return o->failed ? -1 : 0;
	if (o->failed || fsync(o->fd) != 0)
		rc = -1;
	if (close(o->fd) != 0)
		rc = -1;
	o->fd = -1;
	if (rc < 0)
		log_error("%s: %s", o->path, strerror(errno));
	return rc;
}

/* RFC 4180: a cell with a comma, quote or line break is quoted, quotes
 * doubled; one that a spreadsheet would take for a formula gets a
 * leading apostrophe. */
static void
csv_cell(struct text *t, const char *s, bool last)
{
	bool formula = s && s[0] && strchr("=+-@\t\r", s[0]);
	bool quote = s && (formula || strpbrk(s, ",\"\r\n"));
	const char *q;

	if (quote)
		text_add(t, "\"", 1);
	if (formula)
		text_add(t, "'", 1);
	while (s && quote && (q = strchr(s, '"'))) {
		text_add(t, s, (size_t)(q - s) + 1);
		text_add(t, "\"", 1);
		s = q + 1;
	}
	if (s)
		text_str(t, s);
	if (quote)
		text_add(t, "\"", 1);
	text_add(t, last ? "\r\n" : ",", last ? 2 : 1);
}

static const char *
string_of(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void
csv_row(struct build *b, const json_t *rec, const char *fields_json)
{
	const json_t *fields = json_object_get(rec, "fields");
	const char *cells[NCSV] = {
		string_of(rec, "id"), string_of(rec, "kind"),
		string_of(rec, "source"), string_of(rec, "title"),
		string_of(rec, "url"), string_of(fields, "published"),
		string_of(fields, "updated"), string_of(fields, "language"),
		string_of(rec, "basis"), string_of(rec, "source_url"),
		string_of(rec, "captured_at"), string_of(rec, "content_sha256"),
		fields_json,
	};

	b->row.len = 0;
	for (size_t i = 0; i < NCSV; i++)
		csv_cell(&b->row, cells[i], i + 1 == NCSV);
	out_write(&b->out[MEMBER_RECORDS_CSV], b->row.p, b->row.len);
}

/* Sorted, as canonical JSON has them. */
static const char *const record_keys[] = {
	"basis", "captured_at", "content_sha256", "fields", "id", "kind",
	"source", "source_url", "title", "url",
};

static void
text_json(struct text *t, const json_t *v)
{
	char buf[4096], *big;
	size_t n = json_dumpb(v, buf, sizeof(buf), JSON_COMPACT |
		JSON_SORT_KEYS | JSON_ENCODE_ANY);

	if (n == 0) {
		t->failed = true;
	} else if (n <= sizeof(buf)) {
		text_add(t, buf, n);
	} else if ((big = release_json_dumps(v))) {
		text_str(t, big);
		free(big);
	} else {
		t->failed = true;
	}
}

/* The canonical JSON of REC into T, as release_json_dumps would make it,
 * but with FIELDS_JSON, the fields' own canonical JSON, dumped once for
 * both records.jsonl and records.csv. */
static int
record_line(struct text *t, const json_t *rec, const char *fields_json)
{
	t->len = 0;
	for (size_t i = 0; i < sizeof(record_keys) / sizeof(*record_keys);
	    i++) {
		text_add(t, i ? ",\"" : "{\"", 2);
		text_str(t, record_keys[i]);
		text_add(t, "\":", 2);
		if (strcmp(record_keys[i], "fields") == 0)
			text_str(t, fields_json);
		else
			text_json(t, json_object_get(rec, record_keys[i]));
	}
	text_add(t, "}", 1);
	return t->failed ? -1 : 0;
}

/* Untrusted text stays text; the *_html fields keep only allow-listed
 * markup; a decimal number becomes a string, so no reader rounds it. */
static int
clean_value(json_t *parent, const char *key, json_t *v, int depth)
{
	const char *k;
	json_t *child;
	size_t i, klen;
	char *clean;

	if (depth > 64)
		return -1;
	if (json_is_object(v)) {
		json_object_foreach(v, k, child)
			if (clean_value(v, k, child, depth + 1) < 0)
				return -1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			if (clean_value(NULL, NULL, child, depth + 1) < 0)
				return -1;
	} else if (json_is_real(v) && parent && key) {
		char num[64];

		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return json_object_set_new(parent, key, json_string(num));
	} else if (json_is_string(v) && key &&
	    (klen = strlen(key)) > 5 && strcmp(key + klen - 5, "_html") == 0) {
		if (!(clean = sanitize_html(json_string_value(v),
		    json_string_length(v))))
			return -1;
		i = (size_t)json_string_set(v, clean);
		free(clean);
		return i ? -1 : 0;
	}
	return 0;
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
set_text(json_t *obj, const char *key, const char *value)
{
	return json_object_set_new(obj, key, value ? json_string(value) :
		json_null());
}

/* Applies the manager's corrections of record ID: the cursor runs along
 * the publishable rows, both in id order. */
static int
apply_corrections(struct build *b, const char *id, json_t *rec)
{
	sqlite3_stmt *s = b->corrections;
	json_t *fields = json_object_get(rec, "fields");
	const char *field;
	int cmp;

	while (!b->corrections_done) {
		if ((cmp = strcmp(col(s, 0), id)) > 0)
			return 0;
		if (cmp == 0) {
			field = col(s, 1);
			if (json_object_set_new(strcmp(field, "title") == 0 ||
			    strcmp(field, "url") == 0 ? rec : fields, field,
			    json_string(col(s, 2))) < 0)
				return -1;
		}
		switch (sqlite3_step(s)) {
		case SQLITE_ROW: break;
		case SQLITE_DONE: b->corrections_done = true; break;
		default: return -1;
		}
	}
	return 0;
}

/* The JSON object of the current publishable row, or NULL when the row
 * is broken (its fields are not a JSON object) or memory ran out. */
static json_t *
record_json(struct build *b, sqlite3_stmt *s)
{
	json_t *rec = json_object(), *fields;
	json_error_t jerr;

	fields = json_loads(col(s, 5), JSON_REJECT_DUPLICATES, &jerr);
	if (!rec || !json_is_object(fields)) {
		json_decref(fields);
		json_decref(rec);
		return NULL;
	}
	if (json_object_set_new(rec, "fields", fields) < 0 ||
	    set_text(rec, "id", col(s, 0)) || set_text(rec, "kind", col(s, 1))
	    || set_text(rec, "source", col(s, 2)) ||
	    set_text(rec, "title", col(s, 3)) ||
	    set_text(rec, "url", col(s, 4)) ||
	    set_text(rec, "basis", col(s, 6)) ||
	    set_text(rec, "content_sha256", col(s, 7)) ||
	    set_text(rec, "captured_at", col(s, 8)) ||
	    set_text(rec, "source_url", col(s, 9)) ||
	    apply_corrections(b, col(s, 0), rec) < 0 ||
	    clean_value(rec, "fields", fields, 0) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
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

static int
change_line(struct build *b, const char *id, enum release_change_kind kind,
	const char *reason)
{
	json_t *j = json_pack("{s:s, s:s}", "id", id, "change",
		release_change_names[kind]);
	char *text;

	if (!j || (reason && json_object_set_new(j, "reason",
	    json_string(reason)) < 0) || !(text = release_json_dumps(j))) {
		json_decref(j);
		return -1;
	}
	out_line(&b->out[MEMBER_CHANGES], text);
	free(text);
	json_decref(j);
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

/* One publishable record: its lines, and whether it is new or changed
 * since the last release (whose line hash is OLD, NULL when absent). */
static int
emit_record(struct build *b, sqlite3_stmt *s, const unsigned char *old)
{
	unsigned char hash[RELEASE_LINE_HASH_BYTES];
	char *fields = NULL;
	const char *id = col(s, 0);
	json_t *rec;
	int rc = -1;

	if (!(rec = record_json(b, s))) {
		log_error("record %s: its fields are not a JSON object, or "
			"memory ran out", id);
		return -1;
	}
	if (!(fields = release_json_dumps(json_object_get(rec, "fields"))) ||
	    record_line(&b->line, rec, fields) < 0)
		goto out;
	release_line_hash(b->line.p, b->line.len, hash);
	text_add(&b->line, "\n", 1);
	out_write(&b->out[MEMBER_RECORDS_JSONL], b->line.p, b->line.len);
	csv_row(b, rec, fields);
	if (json_object_set_new(b->sources, col(s, 2), json_true()) < 0)
		goto out;
	b->p->records++;
	if (!old || memcmp(old, hash, sizeof(hash)) != 0) {
		enum release_change_kind kind = old ? CHANGE_UPDATED :
			CHANGE_ADDED;

		if (add_diff(b, id, kind, hash, NULL) < 0 ||
		    change_line(b, id, kind, NULL) < 0)
			goto out;
	}
	rc = 0;
out:
	free(fields);
	json_decref(rec);
	return rc;
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

/* Walks the publishable records and the last release's, both by id. */
static int
merge_records(struct build *b)
{
	sqlite3_stmt *now = NULL, *before = NULL;
	bool now_done, before_done;
	int rc = -1, cmp;

	if (prepare(b, publishable_sql, &now) < 0 ||
	    prepare(b, published_sql, &before) < 0 ||
	    prepare(b, corrections_sql, &b->corrections) < 0 ||
	    step(now, &now_done) < 0 || step(before, &before_done) < 0 ||
	    step(b->corrections, &b->corrections_done) < 0)
		goto out;
	while (!now_done || !before_done) {
		cmp = now_done ? 1 : before_done ? -1 :
			strcmp(col(now, 0), col(before, 0));
		if (cmp > 0) {
			b->p->previous_records++;
			if (emit_removal(b, col(before, 0)) < 0 ||
			    step(before, &before_done) < 0)
				goto out;
			continue;
		}
		if (cmp == 0 && sqlite3_column_bytes(before, 1) !=
		    RELEASE_LINE_HASH_BYTES)
			goto out;
		if (emit_record(b, now, cmp == 0 ?
		    sqlite3_column_blob(before, 1) : NULL) < 0 ||
		    step(now, &now_done) < 0)
			goto out;
		if (cmp == 0) {
			b->p->previous_records++;
			if (step(before, &before_done) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0)
		log_error("reading the publishable records: %s",
			store_errmsg(b->p->st));
	sqlite3_finalize(now);
	sqlite3_finalize(before);
	sqlite3_finalize(b->corrections);
	b->corrections = NULL;
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
	json_t *j = json_pack("{s:s, s:s, s:I}", "id", id, "reason", reason,
		"serial", (json_int_t)serial);
	char *text = j ? release_json_dumps(j) : NULL;

	json_decref(j);
	if (!text)
		return -1;
	out_line(&b->out[MEMBER_TOMBSTONES], text);
	free(text);
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

	for (size_t i = 0; fields && i < NCSV; i++)
		if (json_array_append_new(fields, json_pack("{s:s, s:s}",
		    "name", csv_columns[i], "type", "string")) < 0) {
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

/* Writes a small file of the release folder durably. */
static int
put_file(const char *dir, const char *name, const char *text)
{
	char path[4200], err[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (file_replace(path, text, strlen(text), 0644, err,
	    sizeof(err)) == 0)
		return 0;
	log_error("%s", err);
	return -1;
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
	if (put_file(b->dir, RELEASE_SUMS, sums) < 0 ||
	    put_file(b->dir, RELEASE_SUMS RELEASE_SIG_SUFFIX, sig) < 0)
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
	for (int m = 0; m < MEMBER_COUNT; m++)
		if (m != MEMBER_DATAPACKAGE && out_open(b, m) < 0)
			return -1;
	for (size_t i = 0; i < NCSV; i++)
		csv_cell(&b->row, csv_columns[i], i + 1 == NCSV);
	out_write(&b->out[MEMBER_RECORDS_CSV], b->row.p, b->row.len);
	return b->row.failed ? -1 : 0;
}

static int
close_outputs(struct build *b)
{
	int rc = 0;

	for (int m = 0; m < MEMBER_COUNT; m++)
		if (out_close(&b->out[m]) < 0)
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
	for (int m = 0; m < MEMBER_COUNT; m++)
		b.out[m].fd = -1;
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
	free(b.line.p);
	free(b.row.p);
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
