/* The transfer engine of cybil-fetch: one libcurl multi handle and
 * cybil's own scheduler. A transfer is added only when a slot is free (at
 * most `parallel` in all and `per_host` per host), so a queued job never
 * burns its timeout; hosts take turns; retries wait on a timer; robots.txt
 * is fetched once per host before the first job that honours it. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "http.h"
#include "log.h"
#include "robots.h"

/* Captures are committed in batches of this many, or this often. */
#define FLUSH_CAPTURES 256
#define FLUSH_SECONDS 1.0
/* Waits between tries of a transient failure within a run. */
#define RETRY_FIRST_SECONDS 1.0
#define RETRY_MAX_SECONDS 60.0
/* How often the progress line is redrawn. */
#define PROGRESS_SECONDS 0.25
#define HOST_KEY_MAX 300
/* The product token robots.txt groups are matched against. */
#define ROBOTS_AGENT "cybil"

enum robots_state { ROBOTS_NONE, ROBOTS_PENDING, ROBOTS_READY };

/* A scheme://host:port, with its queue of jobs and its robots.txt. */
struct host {
	char key[HOST_KEY_MAX];
	unsigned active;
	struct job *head, *tail;
	bool runnable;			/* in the engine's round-robin list */
	struct host *next_runnable;
	enum robots_state robots_state;
	struct robots *robots;
	struct host *next_in_bucket;
};

struct transfer {
	struct engine *engine;
	struct transfer *prev, *next;	/* the engine's active transfers */
	struct job *job;
	CURL *easy;
	struct curl_slist *headers;
	struct http_guard guard;
	char errbuf[CURL_ERROR_SIZE];
	struct blob_writer *blob;
	char *robots_text;		/* robots.txt body, capped */
	size_t robots_len;
	uint64_t body_bytes;
	bool too_big;
	bool write_failed;
	int write_errno;		/* why, when it did */
	char fetched_at[DATE_RFC3339_SIZE];
	double started;
};

struct engine {
	struct fetch_run *run;
	CURLM *multi;
	struct batch *batch;
	double batch_started;
	struct host **buckets;
	size_t nbuckets;
	struct host *runnable_head, *runnable_tail;
	struct job *retries;		/* sorted by not_before */
	size_t nretries;
	struct job *robots_jobs;	/* owned here, one per host */
	struct transfer *transfers;	/* running now */
	unsigned active;
	size_t queued;			/* jobs waiting in host queues */
	double last_progress;
	int failed;			/* the store or blob store broke */
};

/* ---------------------------------------------------------------- hosts */

static size_t
hash_key(const char *s)
{
	size_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* scheme://host:port of URL, lower-cased by curl. */
static int
host_key_of(const char *url, char *key, size_t size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		host = NULL;
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		port = NULL;
	for (char *c = host; c && *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (snprintf(key, size, "%s://%s:%s", scheme, host ? host : "",
	    port ? port : "") < (int)size)
		rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static struct host *
host_get(struct engine *e, const char *key)
{
	size_t b = hash_key(key) % e->nbuckets;
	struct host *h;

	for (h = e->buckets[b]; h; h = h->next_in_bucket)
		if (strcmp(h->key, key) == 0)
			return h;
	if (!(h = calloc(1, sizeof(*h))))
		return NULL;
	snprintf(h->key, sizeof(h->key), "%s", key);
	h->next_in_bucket = e->buckets[b];
	e->buckets[b] = h;
	return h;
}

static void
make_runnable(struct engine *e, struct host *h)
{
	if (h->runnable || !h->head ||
	    h->active >= e->run->cfg->fetch_per_host)
		return;
	h->runnable = true;
	h->next_runnable = NULL;
	if (e->runnable_tail)
		e->runnable_tail->next_runnable = h;
	else
		e->runnable_head = h;
	e->runnable_tail = h;
}

static struct host *
pop_runnable(struct engine *e)
{
	struct host *h = e->runnable_head;

	if (h) {
		e->runnable_head = h->next_runnable;
		if (!e->runnable_head)
			e->runnable_tail = NULL;
		h->runnable = false;
	}
	return h;
}

static void
enqueue(struct engine *e, struct job *job, bool front)
{
	struct host *h = job->host;

	if (front) {
		job->next = h->head;
		h->head = job;
		if (!h->tail)
			h->tail = job;
	} else {
		job->next = NULL;
		if (h->tail)
			h->tail->next = job;
		else
			h->head = job;
		h->tail = job;
	}
	e->queued++;
	make_runnable(e, h);
}

static struct job *
dequeue(struct engine *e, struct host *h)
{
	struct job *job = h->head;

	h->head = job->next;
	if (!h->head)
		h->tail = NULL;
	job->next = NULL;
	e->queued--;
	return job;
}

/* Queues the robots.txt of JOB's host ahead of it, once per run. */
static int
need_robots(struct engine *e, struct job *job)
{
	struct host *h = job->host;
	struct job *r;
	size_t n = strlen(h->key) + sizeof("/robots.txt");

	if (h->robots_state != ROBOTS_NONE)
		return 0;
	if (!(r = calloc(1, sizeof(*r))) || !(r->url = malloc(n))) {
		free(r);
		return -1;
	}
	/* The key is scheme://host:port, which is also the robots.txt
	 * authority of RFC 9309. */
	snprintf(r->url, n, "%s/robots.txt", h->key);
	r->src = job->src;
	r->attempt = 1;
	r->is_robots = true;
	r->host = h;
	/* Captures name their job until the batch is written, so robots
	 * jobs live as long as the engine. */
	r->next_owned = e->robots_jobs;
	e->robots_jobs = r;
	h->robots_state = ROBOTS_PENDING;
	enqueue(e, r, true);
	return 0;
}

/* ------------------------------------------------------------ transfers */

static size_t
on_body(char *data, size_t size, size_t n, void *p)
{
	struct transfer *t = p;
	struct fetch_run *run = t->engine->run;
	size_t len = size * n;
	long code = 0;

	t->body_bytes += len;
	if (t->body_bytes > run->cfg->fetch_max_bytes) {
		t->too_big = true;
		return 0;
	}
	if (t->job->is_robots) {
		size_t room = ROBOTS_MAX_BYTES - t->robots_len;
		char *grown;

		if (len > room)
			len = room;
		if (len == 0)
			return size * n;
		if (!(grown = realloc(t->robots_text, t->robots_len + len))) {
			t->write_failed = true;
			return 0;
		}
		memcpy(grown + t->robots_len, data, len);
		t->robots_text = grown;
		t->robots_len += len;
		return size * n;
	}
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	/* file:// has no status; only 2xx bodies are kept. */
	if (code != 0 && (code < 200 || code > 299))
		return len;
	if ((!t->blob && blob_writer_open(run->blobs, &t->blob) < 0) ||
	    blob_writer_write(t->blob, data, len) < 0) {
		t->write_failed = true;
		t->write_errno = errno;
		return 0;
	}
	return len;
}

/* Validators come from servers: only printable ASCII goes into a
 * request header. */
static bool
header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static int
add_conditional_headers(struct transfer *t)
{
	const struct job *job = t->job;
	char line[1024];
	struct curl_slist *l;

	if (job->etag && header_safe(job->etag) &&
	    snprintf(line, sizeof(line), "If-None-Match: %s", job->etag) <
	    (int)sizeof(line)) {
		if (!(l = curl_slist_append(t->headers, line)))
			return -1;
		t->headers = l;
	}
	if (job->last_modified && header_safe(job->last_modified) &&
	    snprintf(line, sizeof(line), "If-Modified-Since: %s",
	    job->last_modified) < (int)sizeof(line)) {
		if (!(l = curl_slist_append(t->headers, line)))
			return -1;
		t->headers = l;
	}
	return 0;
}

static void
transfer_free(struct transfer *t)
{
	if (!t)
		return;
	if (t->easy) {
		curl_multi_remove_handle(t->engine->multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	if (t->prev)
		t->prev->next = t->next;
	else if (t->engine->transfers == t)
		t->engine->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	curl_slist_free_all(t->headers);
	blob_writer_discard(t->blob);
	free(t->robots_text);
	free(t);
}

static int
transfer_start(struct engine *e, struct job *job)
{
	const struct config *cfg = e->run->cfg;
	double left = e->run->deadline - monotonic_now();
	long timeout_ms = (long)cfg->fetch_timeout * 1000;
	struct http_options opt = {
		.user_agent = cfg->user_agent,
		.ca_file = cfg->ca_file,
		.max_bytes = cfg->fetch_max_bytes,
		.redirects = (long)cfg->fetch_redirects,
		.allow_private = cfg->allow_private,
		.allow_file = job->src->allow_file,
	};
	struct transfer *t;

	/* No transfer outlives the run's deadline. */
	if (left * 1000 < timeout_ms)
		timeout_ms = left > 0.001 ? (long)(left * 1000) : 1;
	opt.timeout_ms = timeout_ms;
	if (!(t = calloc(1, sizeof(*t))))
		return -1;
	t->engine = e;
	t->job = job;
	t->started = monotonic_now();
	date_format_utc(time(NULL), t->fetched_at);
	if (!(t->easy = curl_easy_init()) ||
	    http_setup(t->easy, &opt, &t->guard, t->errbuf) != CURLE_OK ||
	    add_conditional_headers(t) < 0 ||
	    curl_easy_setopt(t->easy, CURLOPT_URL, job->url) != CURLE_OK ||
	    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers) !=
	    CURLE_OK ||
	    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body) !=
	    CURLE_OK ||
	    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t) != CURLE_OK ||
	    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t) != CURLE_OK ||
	    curl_multi_add_handle(e->multi, t->easy) != CURLM_OK) {
		if (t->easy) {
			curl_easy_cleanup(t->easy);
			t->easy = NULL;
		}
		transfer_free(t);
		return -1;
	}
	t->next = e->transfers;
	if (e->transfers)
		e->transfers->prev = t;
	e->transfers = t;
	job->host->active++;
	e->active++;
	log_debug("GET %s (try %d)", job->url, job->attempt);
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool
is_transient(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK:
		return status == 408 || status == 429 ||
			(status >= 500 && status <= 599);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* The error text of a finished transfer, or NULL when it succeeded. */
static char *
error_text(const struct transfer *t, CURLcode rc, long status)
{
	char buf[PATH_MAX + CURL_ERROR_SIZE];

	if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(buf, sizeof(buf), "body larger than max_bytes (%llu)",
			(unsigned long long)t->engine->run->cfg->fetch_max_bytes);
	else if (t->write_failed && t->write_errno)
		snprintf(buf, sizeof(buf), "storing the body in %s: %s",
			t->engine->run->cfg->blobs_dir,
			strerror(t->write_errno));
	else if (t->write_failed)
		snprintf(buf, sizeof(buf), "storing the body failed");
	else if (t->guard.refused[0])
		snprintf(buf, sizeof(buf), "%s", t->guard.refused);
	else if (rc == CURLE_OUT_OF_MEMORY && !t->errbuf[0])
		/* libcurl says no more than "Out of memory" when a server
		 * sends a header line over its limit (CURL_MAX_HTTP_HEADER,
		 * 100K): by far the likelier cause in a fetch. */
		snprintf(buf, sizeof(buf), "a response header larger than "
			"libcurl accepts (%d bytes), or out of memory",
			CURL_MAX_HTTP_HEADER);
	else if (rc != CURLE_OK)
		snprintf(buf, sizeof(buf), "%s", t->errbuf[0] ? t->errbuf :
			curl_easy_strerror(rc));
	else if (status != 0 && status != 304 && (status < 200 ||
		 status > 299))
		snprintf(buf, sizeof(buf), "HTTP %ld", status);
	else
		return NULL;
	return strdup(buf);
}

/* Fills C from the finished transfer T. */
static int
describe(struct transfer *t, CURLcode rc, struct capture *c)
{
	long status = 0;
	char *url = NULL, *type = NULL;
	curl_off_t retry_after = 0;
	double now = monotonic_now();

	memset(c, 0, sizeof(*c));
	c->job = t->job;
	memcpy(c->fetched_at, t->fetched_at, sizeof(c->fetched_at));
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
	curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
	curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after);
	if (rc == CURLE_OK && status == 0 && !t->too_big)
		status = 200;	/* a file:// read that worked */
	c->status = status;
	c->bytes = status ? (int64_t)t->body_bytes : -1;
	c->duration_ms = (int64_t)((now - t->started) * 1000);
	c->retry_after = retry_after > 0 ? (int64_t)retry_after : 0;
	c->final_url = dup_or_null(url);
	c->content_type = dup_or_null(type);
	if (status >= 200 && status <= 304) {
		c->etag = dup_or_null(http_header(t->easy, "ETag"));
		c->last_modified = dup_or_null(http_header(t->easy,
			"Last-Modified"));
	}
	c->error = error_text(t, rc, status);
	if ((url && !c->final_url) || (type && !c->content_type))
		return -1;
	return 0;
}

static void
schedule_retry(struct engine *e, struct job *job, double delay)
{
	struct job **p = &e->retries;

	job->attempt++;
	job->not_before = monotonic_now() + delay;
	while (*p && (*p)->not_before <= job->not_before)
		p = &(*p)->next;
	job->next = *p;
	*p = job;
	e->nretries++;
}

/* Decides whether C's failure is tried again in this run, and when. */
static bool
retry_later(struct engine *e, struct capture *c, CURLcode rc)
{
	const struct config *cfg = e->run->cfg;
	struct job *job = (struct job *)c->job;
	double delay = RETRY_FIRST_SECONDS;

	if (job->is_robots || (uint64_t)job->attempt > cfg->fetch_retries ||
	    !is_transient(rc, c->status) || c->error == NULL)
		return false;
	for (int i = 1; i < job->attempt && delay < RETRY_MAX_SECONDS; i++)
		delay *= 2;
	delay = delay / 2 + (delay / 2) * ((double)random() / RAND_MAX);
	if (c->retry_after > 0) {
		if (c->retry_after > cfg->fetch_retry_after_max)
			return false;	/* the next run takes it */
		delay = (double)c->retry_after;
	}
	if (monotonic_now() + delay >= e->run->deadline)
		return false;
	schedule_retry(e, job, delay);
	return true;
}

static void
count(struct fetch_totals *totals, const struct capture *c)
{
	switch (c->outcome) {
	case OUTCOME_FETCHED:
		totals->fetched++;
		totals->bytes += (uint64_t)c->bytes;
		break;
	case OUTCOME_NOT_MODIFIED:
		totals->not_modified++;
		break;
	case OUTCOME_FAILED:
		totals->failed++;
		break;
	case OUTCOME_SKIPPED:
		totals->skipped++;
		break;
	case OUTCOME_RETRYING:
	case OUTCOME_ROBOTS:
		break;
	}
}

static void
log_outcome(const struct capture *c)
{
	const struct job *job = c->job;

	if (c->outcome == OUTCOME_FAILED)
		log_event(LOG_LEVEL_WARN, job->src->name, "%s: %s", job->url,
			c->error);
	else if (c->outcome == OUTCOME_RETRYING)
		log_event(LOG_LEVEL_DEBUG, job->src->name, "%s: %s (will try "
			"again)", job->url, c->error);
	else
		log_event(LOG_LEVEL_DEBUG, job->src->name, "%s: %ld, %lld "
			"bytes", job->url, c->status, (long long)c->bytes);
}

static int
add_to_batch(struct engine *e, struct capture *c)
{
	if (batch_size(e->batch) == 0)
		e->batch_started = monotonic_now();
	count(&e->run->totals, c);
	log_outcome(c);
	if (batch_add(e->batch, c) < 0) {
		capture_clear(c);
		log_error("out of memory");
		return -1;
	}
	return 0;
}

/* robots.txt answered: 2xx gives rules, 4xx allows all, and no answer or
 * 5xx disallows all (RFC 9309 §2.3.1). */
static void
robots_done(struct transfer *t, const struct capture *c)
{
	struct host *h = t->job->host;

	if (c->status >= 200 && c->status <= 299 && !c->error)
		h->robots = robots_parse(t->robots_text ? t->robots_text : "",
			t->robots_len, ROBOTS_AGENT);
	else if (c->status >= 400 && c->status <= 499)
		h->robots = robots_allow_all();
	else
		h->robots = robots_disallow_all();
	h->robots_state = ROBOTS_READY;
	if (!h->robots)
		h->robots = robots_disallow_all();
}

static void
transfer_done(struct engine *e, struct transfer *t, CURLcode rc)
{
	struct job *job = t->job;
	struct host *h = job->host;
	struct capture c;
	char hex[HASH_HEX_SIZE];

	h->active--;
	e->active--;
	if (describe(t, rc, &c) < 0) {
		log_error("out of memory");
		e->failed = 1;
	}
	if (job->is_robots) {
		robots_done(t, &c);
		c.outcome = OUTCOME_ROBOTS;
		/* A missing robots.txt (4xx) allows everything: an answer,
		 * not a failure to list among the errors. */
		if (rc == CURLE_OK && c.status >= 400 && c.status <= 499) {
			free(c.error);
			c.error = NULL;
		}
	} else if (c.error) {
		c.outcome = retry_later(e, &c, rc) ? OUTCOME_RETRYING :
			OUTCOME_FAILED;
	} else if (c.status == 304) {
		c.outcome = OUTCOME_NOT_MODIFIED;
		c.bytes = -1;
	} else {
		c.outcome = OUTCOME_FETCHED;
		if (!t->blob && blob_writer_open(e->run->blobs, &t->blob) < 0) {
			char buf[PATH_MAX + 64];

			snprintf(buf, sizeof(buf), "storing the body in %s: %s",
				e->run->cfg->blobs_dir, strerror(errno));
			c.error = strdup(buf);
			c.outcome = OUTCOME_FAILED;
		}
	}
	if (t->blob && c.outcome == OUTCOME_FETCHED) {
		if (blob_writer_finish(t->blob, hex) < 0) {
			log_error("%s: %m", e->run->cfg->blobs_dir);
			e->failed = 1;
		} else {
			memcpy(c.sha256, hex, sizeof(hex));
		}
		t->blob = NULL;
	}
	if (add_to_batch(e, &c) < 0)
		e->failed = 1;
	transfer_free(t);
	make_runnable(e, h);
}

/* ------------------------------------------------------------ scheduler */

/* The URL's path and query, as robots.txt rules see it. */
static int
robots_path(const char *url, char *buf, size_t size)
{
	CURLU *u = curl_url();
	char *path = NULL, *query = NULL;
	int rc = -1;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
			query = NULL;
		if (snprintf(buf, size, "%s%s%s", path, query ? "?" : "",
		    query ? query : "") < (int)size)
			rc = 0;
	}
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

static int
record_skipped(struct engine *e, struct job *job)
{
	struct capture c;

	memset(&c, 0, sizeof(c));
	c.job = job;
	c.outcome = OUTCOME_SKIPPED;
	c.bytes = -1;
	date_format_utc(time(NULL), c.fetched_at);
	if (!(c.error = strdup("disallowed by robots.txt")))
		return -1;
	return add_to_batch(e, &c);
}

/* Starts the next job of host H if it may go now. Returns 1 if a
 * transfer started, 0 if not, -1 on failure. */
static int
start_from_host(struct engine *e, struct host *h)
{
	char path[8192];
	struct job *job;

	while (h->head) {
		job = h->head;
		if (job->honour_robots && h->robots_state != ROBOTS_READY)
			return 0;	/* wait for robots.txt */
		dequeue(e, h);
		if (job->honour_robots &&
		    (robots_path(job->url, path, sizeof(path)) < 0 ||
		    !robots_allowed(h->robots, path))) {
			if (record_skipped(e, job) < 0)
				return -1;
			continue;
		}
		if (transfer_start(e, job) < 0) {
			log_error("%s: cannot start a transfer", job->url);
			return -1;
		}
		return 1;
	}
	return 0;
}

static int
start_ready(struct engine *e)
{
	const struct config *cfg = e->run->cfg;
	double now = monotonic_now();
	struct host *h;
	int rc;

	while (e->retries && e->retries->not_before <= now) {
		struct job *job = e->retries;

		e->retries = job->next;
		e->nretries--;
		enqueue(e, job, false);
	}
	if (now >= e->run->deadline)
		return 0;
	/* A host that started nothing is empty or waits for its robots.txt;
	 * it becomes runnable again when a transfer of its own ends. */
	while (e->active < cfg->fetch_parallel && (h = pop_runnable(e))) {
		if ((rc = start_from_host(e, h)) < 0)
			return -1;
		if (rc > 0)
			make_runnable(e, h);
	}
	return 0;
}

static void
draw_progress(struct engine *e, bool last)
{
	const struct fetch_totals *t = &e->run->totals;
	double now = monotonic_now();

	if (!e->run->progress || (!last && now - e->last_progress <
	    PROGRESS_SECONDS))
		return;
	e->last_progress = now;
	fprintf(stderr, "\rfetch: %llu fetched, %llu not modified, %llu "
		"failed, %u active, %zu queued\033[K%s",
		(unsigned long long)t->fetched,
		(unsigned long long)t->not_modified,
		(unsigned long long)t->failed, e->active,
		e->queued + e->nretries, last ? "\r\033[K" : "");
}

static int
maybe_flush(struct engine *e, bool force)
{
	if (batch_size(e->batch) == 0)
		return 0;
	if (!force && batch_size(e->batch) < FLUSH_CAPTURES &&
	    monotonic_now() - e->batch_started < FLUSH_SECONDS)
		return 0;
	return batch_flush(e->batch) == STORE_OK ? 0 : -1;
}

static long
poll_timeout_ms(const struct engine *e)
{
	double wait = FLUSH_SECONDS;

	if (e->retries) {
		double until = e->retries->not_before - monotonic_now();

		if (until < wait)
			wait = until > 0 ? until : 0;
	}
	return (long)(wait * 1000) + 1;
}

static void
finish_completed(struct engine *e)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(e->multi, &left))) {
		struct transfer *t;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
		transfer_done(e, t, msg->data.result);
	}
}

static bool
work_left(const struct engine *e)
{
	if (e->active > 0)
		return true;
	if (monotonic_now() >= e->run->deadline)
		return false;
	return e->queued > 0 || e->retries;
}

static int
loop(struct engine *e)
{
	int running;

	while (work_left(e) && !e->failed) {
		if (start_ready(e) < 0)
			return -1;
		if (curl_multi_perform(e->multi, &running) != CURLM_OK)
			return -1;
		finish_completed(e);
		if (maybe_flush(e, false) < 0)
			return -1;
		draw_progress(e, false);
		if (!work_left(e))
			break;
		if (e->active == 0 && e->runnable_head && !e->failed)
			continue;	/* startable work: no need to wait */
		if (curl_multi_poll(e->multi, NULL, 0, (int)poll_timeout_ms(e),
		    NULL) != CURLM_OK)
			return -1;
	}
	return e->failed ? -1 : 0;
}

/* ---------------------------------------------------------------- setup */

static int
engine_init(struct engine *e, struct fetch_run *run)
{
	const struct config *cfg = run->cfg;

	memset(e, 0, sizeof(*e));
	e->run = run;
	e->nbuckets = run->njobs * 2 + 64;
	if (!(e->buckets = calloc(e->nbuckets, sizeof(*e->buckets))) ||
	    !(e->batch = batch_new(run)) || !(e->multi = curl_multi_init()))
		return -1;
	/* cybil's scheduler keeps the limits; these keep curl from opening
	 * more, including HTTP/2 streams on one connection. */
	if (curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)cfg->fetch_parallel) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)cfg->fetch_per_host) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
	    (long)cfg->fetch_per_host) != CURLM_OK)
		return -1;
	return 0;
}

static int
enqueue_jobs(struct engine *e)
{
	char key[HOST_KEY_MAX];

	for (size_t i = 0; i < e->run->njobs; i++) {
		struct job *job = &e->run->jobs[i];

		if (host_key_of(job->url, key, sizeof(key)) < 0 ||
		    !(job->host = host_get(e, key))) {
			log_error("%s: cannot schedule", job->url);
			return -1;
		}
		job->attempt = 1;
		job->honour_robots = job->src->robots &&
			(strncmp(key, "http://", 7) == 0 ||
			 strncmp(key, "https://", 8) == 0);
		enqueue(e, job, false);
		if (job->honour_robots && need_robots(e, job) < 0)
			return -1;
	}
	return 0;
}

static void
engine_free(struct engine *e)
{
	struct host *h, *next;

	/* Transfers cut short by a failure are dropped unrecorded. */
	while (e->transfers)
		transfer_free(e->transfers);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	while (e->robots_jobs) {
		struct job *j = e->robots_jobs;

		e->robots_jobs = j->next_owned;
		free(j->url);
		free(j);
	}
	for (size_t b = 0; e->buckets && b < e->nbuckets; b++) {
		for (h = e->buckets[b]; h; h = next) {
			next = h->next_in_bucket;
			robots_free(h->robots);
			free(h);
		}
	}
	free(e->buckets);
	batch_free(e->batch);
}

int
engine_run(struct fetch_run *run)
{
	struct engine e;
	int rc = -1;

	if (engine_init(&e, run) < 0 || enqueue_jobs(&e) < 0) {
		log_error("cannot set up the transfers: out of memory");
		goto out;
	}
	rc = loop(&e);
	if (maybe_flush(&e, true) < 0)
		rc = -1;
	run->totals.left = e.queued + e.nretries;
	draw_progress(&e, true);
out:
	engine_free(&e);
	return rc;
}
