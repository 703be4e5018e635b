/* The lines of records.jsonl and records.csv, made by a worker thread
 * from batches of publishable rows the main thread copied out of the
 * store: while the worker parses, corrects, sanitises and dumps one
 * batch, the main thread reads the next and writes the last. Formatting
 * is a pure function of a row and its corrections, so the bytes do not
 * depend on the threads. */
#include "publish.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanitize.h"

const char *const format_csv_columns[FORMAT_CSV_COLUMNS] = {
	"id", "kind", "source", "title", "url", "published", "updated",
	"language", "basis", "source_url", "captured_at", "content_sha256",
	"fields_json",
};

/* Sorted, as canonical JSON has them. */
static const char *const record_keys[] = {
	"basis", "captured_at", "content_sha256", "fields", "id", "kind",
	"source", "source_url", "title", "url",
};
/* Which row column each record key comes from (fields: parsed). */
static const int record_columns[] = {
	ROW_BASIS, ROW_CAPTURED_AT, ROW_CONTENT_SHA256, ROW_FIELDS, ROW_ID,
	ROW_KIND, ROW_SOURCE, ROW_SOURCE_URL, ROW_TITLE, ROW_URL,
};
#define NKEYS (sizeof(record_keys) / sizeof(record_keys[0]))

#define NO_VALUE ((size_t)-1)

struct row {
	size_t col[ROW_COLUMNS];	/* offsets in the batch's input, or
					 * NO_VALUE for NULL */
	size_t corr_first, ncorr;
	size_t line, line_len, csv, csv_len;	/* in the outputs */
	unsigned char hash[RELEASE_LINE_HASH_BYTES];
	bool failed;
};

struct correction_ref {
	size_t field, value;
};

struct batch {
	struct text input, lines, csv;
	struct row *rows;
	size_t nrows, cap;
	struct correction_ref *corrs;
	size_t ncorrs, corrcap;
	bool failed;
	bool done;		/* formatted; guarded by the formatter's lock */
};

void
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

void
text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

void
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

/* --- One record ----------------------------------------------------- */

static const char *
value(const struct batch *b, const struct row *r, int column)
{
	return r->col[column] == NO_VALUE ? NULL : b->input.p + r->col[column];
}

static const char *
string_of(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

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

/* A decimal as the shortest string that reads back as the same double,
 * so that "0.1" stays "0.1". */
static json_t *
decimal_string(double d)
{
	char num[64];

	for (int precision = 1; precision <= 17; precision++) {
		snprintf(num, sizeof(num), "%.*g", precision, d);
		if (strtod(num, NULL) == d)
			break;
	}
	return json_string(num);
}

static bool
html_key(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	return n > 5 && strcmp(key + n - 5, "_html") == 0;
}

/* The cleaned form of V, in place or as a replacement in *OUT (NULL when
 * V stays): untrusted text stays text, HTML (a string under a *_html
 * key, also inside arrays there) keeps only allow-listed markup, and a
 * decimal number becomes a string, so no reader rounds it. */
static int
clean_value(json_t *v, bool html, int depth, json_t **out)
{
	const char *k;
	json_t *child, *repl;
	size_t i;
	char *clean;
	int rc;

	*out = NULL;
	if (depth > 64)
		return -1;
	if (json_is_real(v))
		return (*out = decimal_string(json_real_value(v))) ? 0 : -1;
	if (json_is_string(v) && html) {
		if (!(clean = sanitize_html(json_string_value(v),
		    json_string_length(v))))
			return -1;
		rc = json_string_set(v, clean);
		free(clean);
		return rc;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, child)
			if (clean_value(child, html_key(k), depth + 1, &repl) < 0
			    || (repl && json_object_set_new(v, k, repl) < 0))
				return -1;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			if (clean_value(child, html, depth + 1, &repl) < 0 ||
			    (repl && json_array_set_new(v, i, repl) < 0))
				return -1;
	}
	return 0;
}

/* The record's JSON object: its columns, its corrections, its fields
 * cleaned. NULL when the fields are not a JSON object. */
static json_t *
record_object(const struct batch *b, const struct row *r)
{
	json_t *rec = json_object(), *fields, *repl = NULL;
	const char *field;
	json_error_t jerr;

	fields = json_loads(value(b, r, ROW_FIELDS), JSON_REJECT_DUPLICATES,
		&jerr);
	if (!rec || !json_is_object(fields))
		goto fail;
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v = value(b, r, record_columns[i]);

		if (record_columns[i] != ROW_FIELDS &&
		    json_object_set_new(rec, record_keys[i], v ?
		    json_string(v) : json_null()) < 0)
			goto fail;
	}
	for (size_t i = r->corr_first; i < r->corr_first + r->ncorr; i++) {
		field = b->input.p + b->corrs[i].field;
		if (json_object_set_new(strcmp(field, "title") == 0 ||
		    strcmp(field, "url") == 0 ? rec : fields, field,
		    json_string(b->input.p + b->corrs[i].value)) < 0)
			goto fail;
	}
	/* An object is cleaned in place: REPL stays NULL. */
	if (clean_value(fields, false, 0, &repl) < 0 ||
	    json_object_set(rec, "fields", fields) < 0)
		goto fail;
	json_decref(fields);
	return rec;
fail:
	json_decref(fields);
	json_decref(rec);
	return NULL;
}

/* The canonical JSON of REC (what release_json_dumps makes), with
 * FIELDS_JSON, the fields' own canonical JSON, dumped once for both
 * records.jsonl and records.csv. */
static void
record_line(struct text *t, const json_t *rec, const char *fields_json)
{
	for (size_t i = 0; i < NKEYS; i++) {
		text_add(t, i ? ",\"" : "{\"", 2);
		text_str(t, record_keys[i]);
		text_add(t, "\":", 2);
		if (record_columns[i] == ROW_FIELDS)
			text_str(t, fields_json);
		else
			text_json(t, json_object_get(rec, record_keys[i]));
	}
	text_add(t, "}", 1);
}

static void
csv_row(struct text *t, const json_t *rec, const char *fields_json)
{
	const json_t *fields = json_object_get(rec, "fields");
	const char *cells[FORMAT_CSV_COLUMNS] = {
		string_of(rec, "id"), string_of(rec, "kind"),
		string_of(rec, "source"), string_of(rec, "title"),
		string_of(rec, "url"), string_of(fields, "published"),
		string_of(fields, "updated"), string_of(fields, "language"),
		string_of(rec, "basis"), string_of(rec, "source_url"),
		string_of(rec, "captured_at"), string_of(rec, "content_sha256"),
		fields_json,
	};

	for (size_t i = 0; i < FORMAT_CSV_COLUMNS; i++)
		csv_cell(t, cells[i], i + 1 == FORMAT_CSV_COLUMNS);
}

static void
format_row(struct batch *b, struct row *r)
{
	json_t *rec = record_object(b, r);
	char *fields = rec ? release_json_dumps(json_object_get(rec,
		"fields")) : NULL;

	r->failed = !fields;
	if (fields) {
		r->line = b->lines.len;
		record_line(&b->lines, rec, fields);
		r->line_len = b->lines.len - r->line;
		r->csv = b->csv.len;
		csv_row(&b->csv, rec, fields);
		r->csv_len = b->csv.len - r->csv;
		if (!b->lines.failed)
			release_line_hash(b->lines.p + r->line, r->line_len,
				r->hash);
	}
	free(fields);
	json_decref(rec);
}

static void
format_batch(struct batch *b)
{
	b->lines.len = b->csv.len = 0;
	for (size_t i = 0; i < b->nrows; i++)
		format_row(b, &b->rows[i]);
	b->failed = b->lines.failed || b->csv.failed;
}

/* --- Batches ---------------------------------------------------------- */

struct batch *
batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

void
batch_free(struct batch *b)
{
	if (!b)
		return;
	free(b->input.p);
	free(b->lines.p);
	free(b->csv.p);
	free(b->rows);
	free(b->corrs);
	free(b);
}

void
batch_clear(struct batch *b)
{
	b->input.len = 0;
	b->nrows = b->ncorrs = 0;
	b->failed = false;
}

size_t
batch_rows(const struct batch *b)
{
	return b->nrows;
}

static size_t
copy_in(struct batch *b, const char *s)
{
	size_t at = b->input.len;

	if (!s)
		return NO_VALUE;
	text_add(&b->input, s, strlen(s) + 1);
	return at;
}

int
batch_add_row(struct batch *b, sqlite3_stmt *s)
{
	struct row *r;

	if (b->nrows == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;

		if (!(r = realloc(b->rows, cap * sizeof(*r))))
			return -1;
		b->rows = r;
		b->cap = cap;
	}
	r = &b->rows[b->nrows++];
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < ROW_COLUMNS; i++)
		r->col[i] = copy_in(b, (const char *)sqlite3_column_text(s, i));
	r->corr_first = b->ncorrs;
	if (r->col[ROW_ID] == NO_VALUE || r->col[ROW_FIELDS] == NO_VALUE)
		return -1;
	return b->input.failed ? -1 : 0;
}

int
batch_add_correction(struct batch *b, const char *field, const char *value)
{
	struct correction_ref *c;

	if (b->ncorrs == b->corrcap) {
		size_t cap = b->corrcap ? 2 * b->corrcap : 64;

		if (!(c = realloc(b->corrs, cap * sizeof(*c))))
			return -1;
		b->corrs = c;
		b->corrcap = cap;
	}
	c = &b->corrs[b->ncorrs++];
	c->field = copy_in(b, field);
	c->value = copy_in(b, value);
	b->rows[b->nrows - 1].ncorr++;
	return b->input.failed || c->field == NO_VALUE ||
		c->value == NO_VALUE ? -1 : 0;
}

const char *
batch_id(const struct batch *b, size_t i)
{
	return value(b, &b->rows[i], ROW_ID);
}

int
batch_result(const struct batch *b, size_t i, struct formatted *out)
{
	const struct row *r = &b->rows[i];

	if (b->failed || r->failed)
		return -1;
	out->id = value(b, r, ROW_ID);
	out->source = value(b, r, ROW_SOURCE);
	out->line = b->lines.p + r->line;
	out->line_len = r->line_len;
	out->csv = b->csv.p + r->csv;
	out->csv_len = r->csv_len;
	out->hash = r->hash;
	return 0;
}

/* --- The workers ------------------------------------------------------ */

#define WORKERS_MAX 4

struct formatter {
	pthread_t threads[WORKERS_MAX];
	size_t nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *queue[FORMATTER_IN_FLIGHT];
	size_t head, queued, inflight;
	bool stop;
};

static void *
formatter_main(void *arg)
{
	struct formatter *f = arg;
	struct batch *b;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->queued == 0 && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->queued == 0)
			break;
		b = f->queue[f->head];
		f->head = (f->head + 1) % FORMATTER_IN_FLIGHT;
		f->queued--;
		pthread_mutex_unlock(&f->mu);
		format_batch(b);
		pthread_mutex_lock(&f->mu);
		b->done = true;
		f->inflight--;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* As many workers as processors, up to WORKERS_MAX: the main thread
 * and the writer mostly wait on them. */
static size_t
worker_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (size_t)n;
}

int
formatter_start(struct formatter **out)
{
	struct formatter *f = calloc(1, sizeof(*f));
	size_t want = worker_count();

	*out = NULL;
	if (!f)
		return -1;
	if (pthread_mutex_init(&f->mu, NULL) != 0) {
		free(f);
		return -1;
	}
	if (pthread_cond_init(&f->cv, NULL) != 0) {
		pthread_mutex_destroy(&f->mu);
		free(f);
		return -1;
	}
	while (f->nthreads < want && pthread_create(&f->threads[f->nthreads],
	    NULL, formatter_main, f) == 0)
		f->nthreads++;
	*out = f;
	if (f->nthreads > 0)
		return 0;
	formatter_stop(f);
	*out = NULL;
	return -1;
}

void
formatter_submit(struct formatter *f, struct batch *b)
{
	pthread_mutex_lock(&f->mu);
	b->done = false;
	f->queue[(f->head + f->queued) % FORMATTER_IN_FLIGHT] = b;
	f->queued++;
	f->inflight++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

void
formatter_wait(struct formatter *f, const struct batch *b)
{
	pthread_mutex_lock(&f->mu);
	while (!b->done)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

void
formatter_stop(struct formatter *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	while (f->inflight > 0)
		pthread_cond_wait(&f->cv, &f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	for (size_t i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
