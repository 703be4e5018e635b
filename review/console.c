/* The console's HTTP side: libmicrohttpd with one internal thread, so the
 * store connection and the session table are only ever used by it.
 *
 * Security, in the order a request meets it: a per-address rate limit; a
 * body limit; a session cookie (HttpOnly, SameSite=Strict, Secure under
 * TLS) for every page but the login; for every POST an Origin that is this
 * console's, when the browser sends one, and the session's CSRF token.
 * Responses carry a strict Content-Security-Policy; stored captures and
 * evidence go out only as sandboxed downloads (SPEC §7). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "cli.h"
#include "console.h"
#include "file.h"
#include "log.h"
#include "review.h"

#define SESSION_COOKIE "cybil_session"
/* The login form's CSRF token, submitted twice: as a field and as this
 * cookie, which another site can neither read nor set. */
#define LOGIN_COOKIE "cybil_login"
#define MAX_SESSIONS 64
#define MAX_CLIENTS 64
#define MAX_BODY (16u << 20)	/* a request body, evidence included */
#define MAX_FIELDS 16
#define MAX_FIELD (1u << 20)	/* one form field; the evidence file aside */
/* Requests per address: a burst of RATE_BURST, then RATE_PER_SECOND. */
#define RATE_BURST 120.0
#define RATE_PER_SECOND 20.0
/* Failed logins per address before it must wait LOGIN_PAUSE seconds. */
#define LOGIN_FAILURES 5
#define LOGIN_PAUSE 60

static const char csp[] = "default-src 'none'; style-src 'self'; "
	"img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
	"base-uri 'none'";

struct client {
	char addr[INET6_ADDRSTRLEN];	/* empty: a free slot */
	double tokens;
	time_t seen, login_pause_until;
	struct timespec refilled;
	int login_failures;
};

struct console {
	const struct config *cfg;
	struct store *st;
	bool tls, secure_cookie;
	struct session sessions[MAX_SESSIONS];
	struct client clients[MAX_CLIENTS];
};

struct field {
	char name[32];
	char *value;
	size_t len;
};

/* One request: its form fields and the evidence file being received. */
struct request {
	struct MHD_PostProcessor *pp;
	struct field fields[MAX_FIELDS];
	size_t nfields, body_bytes;
	struct blob_store *evidence_store;
	struct blob_writer *evidence;
	bool bad_form;
	int early_status;	/* answered before the body was read */
};

/* ------------------------------------------------------------ clients */

static void
client_address(struct MHD_Connection *c, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len = sa && sa->sa_family == AF_INET6 ?
		sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (!sa || getnameinfo(sa, len, out, INET6_ADDRSTRLEN, NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(out, INET6_ADDRSTRLEN, "?");
}

/* The address's slot, taking the least recently seen one if need be. */
static struct client *
client_of(struct console *con, struct MHD_Connection *c)
{
	char addr[INET6_ADDRSTRLEN];
	struct client *oldest = &con->clients[0];

	client_address(c, addr);
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct client *cl = &con->clients[i];

		if (strcmp(cl->addr, addr) == 0)
			return cl;
		if (cl->seen < oldest->seen)
			oldest = cl;
	}
	*oldest = (struct client){ .tokens = RATE_BURST };
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	clock_gettime(CLOCK_MONOTONIC, &oldest->refilled);
	return oldest;
}

static bool
rate_allows(struct client *cl)
{
	struct timespec now;
	double elapsed;

	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = (double)(now.tv_sec - cl->refilled.tv_sec) +
		(double)(now.tv_nsec - cl->refilled.tv_nsec) / 1e9;
	cl->refilled = now;
	cl->seen = time(NULL);
	cl->tokens += elapsed * RATE_PER_SECOND;
	if (cl->tokens > RATE_BURST)
		cl->tokens = RATE_BURST;
	if (cl->tokens < 1.0)
		return false;
	cl->tokens -= 1.0;
	return true;
}

/* ----------------------------------------------------------- sessions */

static void
new_token(char out[CONSOLE_TOKEN_SIZE])
{
	unsigned char raw[CONSOLE_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, CONSOLE_TOKEN_SIZE, raw, sizeof(raw),
		sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static bool
token_equal(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == CONSOLE_TOKEN_SIZE - 1 && strlen(b) == n &&
		sodium_memcmp(a, b, n) == 0;
}

static struct session *
session_of(struct console *con, struct MHD_Connection *c)
{
	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
		SESSION_COOKIE);
	time_t now = time(NULL);

	if (!cookie)
		return NULL;
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &con->sessions[i];

		if (!s->token[0] || !token_equal(cookie, s->token))
			continue;
		if (s->expires > now)
			return s;
		sodium_memzero(s, sizeof(*s));
		return NULL;
	}
	return NULL;
}

/* A new session for NAME: a free or expired slot, else the one closest
 * to expiry. */
static struct session *
session_start(struct console *con, const char *name)
{
	struct session *slot = &con->sessions[0];
	time_t now = time(NULL);

	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &con->sessions[i];

		if (!s->token[0] || s->expires <= now) {
			slot = s;
			break;
		}
		if (s->expires < slot->expires)
			slot = s;
	}
	new_token(slot->token);
	new_token(slot->csrf);
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->expires = now + con->cfg->review_session_ttl;
	return slot;
}

/* -------------------------------------------------------------- forms */

static const char *
form_value(const struct request *r, const char *name)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return r->fields[i].value;
	return NULL;
}

/* A form value with its surrounding blanks trimmed; NULL when empty. */
static const char *
form_text(struct request *r, const char *name)
{
	char *v = (char *)form_value(r, name), *end;

	if (!v)
		return NULL;
	v += strspn(v, " \t\r\n");
	end = v + strlen(v);
	while (end > v && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	return *v ? v : NULL;
}

static enum MHD_Result
receive_evidence(struct request *r, const struct config *cfg,
	const char *data, size_t size)
{
	if (!r->evidence && (blob_store_open(cfg->evidence_dir,
	    &r->evidence_store) < 0 || blob_writer_open(r->evidence_store,
	    &r->evidence) < 0)) {
		log_error("%s: %s", cfg->evidence_dir, strerror(errno));
		r->bad_form = true;
		return MHD_NO;
	}
	if (size && blob_writer_write(r->evidence, data, size) < 0) {
		log_error("%s: %s", cfg->evidence_dir, strerror(errno));
		r->bad_form = true;
		return MHD_NO;
	}
	return MHD_YES;
}

struct form_target {
	struct request *r;
	const struct config *cfg;
};

static enum MHD_Result
on_form_data(void *cls, enum MHD_ValueKind kind, const char *key,
	const char *filename, const char *content_type,
	const char *transfer_encoding, const char *data, uint64_t off,
	size_t size)
{
	struct form_target *t = cls;
	struct request *r = t->r;
	struct field *f = NULL;
	char *p;

	(void)kind, (void)content_type, (void)transfer_encoding, (void)off;
	if (strcmp(key, "evidence_file") == 0 && filename)
		return *filename ? receive_evidence(r, t->cfg, data, size) :
			MHD_YES;
	for (size_t i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].name, key) == 0)
			f = &r->fields[i];
	if (!f) {
		if (r->nfields == MAX_FIELDS || strlen(key) >=
		    sizeof(f->name)) {
			r->bad_form = true;
			return MHD_NO;
		}
		f = &r->fields[r->nfields++];
		snprintf(f->name, sizeof(f->name), "%s", key);
	}
	if (f->len + size > MAX_FIELD ||
	    !(p = realloc(f->value, f->len + size + 1))) {
		r->bad_form = true;
		return MHD_NO;
	}
	memcpy(p + f->len, data, size);
	f->len += size;
	p[f->len] = '\0';
	f->value = p;
	return MHD_YES;
}

static void
request_release(struct request *r)
{
	if (r->pp)
		MHD_destroy_post_processor(r->pp);
	for (size_t i = 0; i < r->nfields; i++)
		free(r->fields[i].value);
	if (r->evidence)
		blob_writer_discard(r->evidence);
	blob_store_close(r->evidence_store);
}

/* A request with the argument its post processor keeps, freed together. */
struct request_box {
	struct request r;
	struct form_target target;
};

static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
	enum MHD_RequestTerminationCode toe)
{
	struct request_box *box = *req_cls;

	(void)cls, (void)c, (void)toe;
	if (box) {
		request_release(&box->r);
		free(box);
	}
	*req_cls = NULL;
}

/* ---------------------------------------------------------- responses */

static bool
add_headers(struct MHD_Response *res, const char *const *headers)
{
	for (; headers && *headers; headers += 2)
		if (MHD_add_response_header(res, headers[0], headers[1]) !=
		    MHD_YES)
			return false;
	return true;
}

static const char *const page_headers[] = {
	"Content-Type", "text/html; charset=utf-8",
	"Content-Security-Policy", csp,
	"X-Content-Type-Options", "nosniff",
	"X-Frame-Options", "DENY",
	/* Not no-referrer: under it browsers send "Origin: null" with a form,
	 * and the Origin check needs the real one. */
	"Referrer-Policy", "same-origin",
	"Cache-Control", "no-store",
	NULL,
};

/* Sends H (taking its buffer) with STATUS and the page headers, plus
 * EXTRA (name, value pairs; NULL-terminated; may be NULL). */
static enum MHD_Result
send_page(struct MHD_Connection *c, int status, struct html *h,
	const char *const *extra)
{
	struct MHD_Response *res;
	enum MHD_Result rc;

	if (h->failed) {
		html_free(h);
		html_raw(h, "out of memory\n");
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	res = MHD_create_response_from_buffer(h->len, h->data,
		MHD_RESPMEM_MUST_FREE);
	if (!res)
		return MHD_NO;
	*h = (struct html){ 0 };
	if (!add_headers(res, page_headers) || !add_headers(res, extra)) {
		MHD_destroy_response(res);
		return MHD_NO;
	}
	rc = MHD_queue_response(c, (unsigned)status, res);
	MHD_destroy_response(res);
	return rc;
}

static enum MHD_Result
send_redirect(struct MHD_Connection *c, const char *location,
	const char *cookie)
{
	const char *extra[] = { "Location", location,
		cookie ? "Set-Cookie" : NULL, cookie, NULL };
	struct html h = { 0 };

	html_raw(&h, "<!DOCTYPE html><title>See other</title><a href=\"");
	html_text(&h, location);
	html_raw(&h, "\">continue</a>\n");
	return send_page(c, MHD_HTTP_SEE_OTHER, &h, extra);
}

static enum MHD_Result
send_error(struct console *con, struct MHD_Connection *c,
	const struct session *s, int status, const char *message)
{
	struct view v = { con->st, con->cfg, s, c };
	struct html h = { 0 };

	page_error(&v, &h, status, message);
	return send_page(c, status, &h, NULL);
}

static enum MHD_Result
send_css(struct MHD_Connection *c)
{
	static const char *const headers[] = {
		"Content-Type", "text/css; charset=utf-8",
		"X-Content-Type-Options", "nosniff",
		"Cache-Control", "max-age=3600",
		NULL,
	};
	struct MHD_Response *res = MHD_create_response_from_buffer(
		strlen(console_css), (void *)console_css,
		MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!res)
		return MHD_NO;
	rc = add_headers(res, headers) ? MHD_queue_response(c, MHD_HTTP_OK,
		res) : MHD_NO;
	MHD_destroy_response(res);
	return rc;
}

/* A stored body as a download that no browser renders in this origin. */
static enum MHD_Result
send_download(struct console *con, struct MHD_Connection *c,
	const char *dir, const char *hex, const char *filename)
{
	char path[PATH_MAX], disposition[128];
	const char *const headers[] = {
		"Content-Type", "application/octet-stream",
		"Content-Disposition", disposition,
		"X-Content-Type-Options", "nosniff",
		"Content-Security-Policy", "sandbox",
		"Cache-Control", "no-store",
		NULL,
	};
	struct MHD_Response *res;
	struct stat sb;
	enum MHD_Result rc;
	int fd;

	snprintf(disposition, sizeof(disposition),
		"attachment; filename=\"%s\"", filename);
	if (blob_path(dir, hex, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return send_error(con, c, NULL, MHD_HTTP_NOT_FOUND,
			"The stored file is not there.");
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    !(res = MHD_create_response_from_fd((uint64_t)sb.st_size, fd))) {
		close(fd);
		return MHD_NO;
	}
	rc = add_headers(res, headers) ? MHD_queue_response(c, MHD_HTTP_OK,
		res) : MHD_NO;
	MHD_destroy_response(res);
	return rc;
}

/* ------------------------------------------------------------- routes */

static bool
is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* "/record/ID" or "/record/ID/REST": the id, and REST ("" if none). */
static bool
record_path(const char *url, char id[33], const char **rest)
{
	const char *p;

	if (strncmp(url, "/record/", 8) != 0)
		return false;
	p = url + 8;
	if (strspn(p, "0123456789abcdef") != 32 || (p[32] && p[32] != '/'))
		return false;
	memcpy(id, p, 32);
	id[32] = '\0';
	*rest = p[32] ? p + 33 : "";
	return true;
}

/* The hex digest of record ID's capture body, if it has one. */
static bool
capture_of(struct store *st, const char *id, char hex[HASH_HEX_SIZE])
{
	sqlite3_stmt *s = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(store_db(st), "SELECT c.sha256 FROM record r"
	    " JOIN capture c ON c.id = r.capture_id WHERE r.id = ?1", -1, &s,
	    NULL) == SQLITE_OK &&
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) &&
	    is_hex((const char *)sqlite3_column_text(s, 0), HASH_HEX_SIZE - 1)) {
		memcpy(hex, sqlite3_column_text(s, 0), HASH_HEX_SIZE);
		found = true;
	}
	sqlite3_finalize(s);
	return found;
}

static enum MHD_Result
serve_get(struct console *con, struct MHD_Connection *c,
	const struct session *s, const char *url)
{
	struct view v = { con->st, con->cfg, s, c };
	struct html h = { 0 };
	char id[33], hex[HASH_HEX_SIZE], name[64];
	const char *rest;
	int status;

	if (strcmp(url, "/") == 0)
		status = page_queue(&v, &h);
	else if (strcmp(url, "/log") == 0)
		status = page_log(&v, &h);
	else if (strcmp(url, "/sources") == 0)
		status = page_sources(&v, &h);
	else if (record_path(url, id, &rest) && !*rest)
		status = page_record(&v, &h, id, MHD_HTTP_OK, NULL);
	else if (record_path(url, id, &rest) && strcmp(rest, "capture") == 0) {
		if (!capture_of(con->st, id, hex))
			return send_error(con, c, s, MHD_HTTP_NOT_FOUND,
				"This record has no stored capture.");
		snprintf(name, sizeof(name), "capture-%.16s.bin", hex);
		return send_download(con, c, con->cfg->blobs_dir, hex, name);
	} else if (strncmp(url, "/evidence/", 10) == 0 &&
	    is_hex(url + 10, HASH_HEX_SIZE - 1) &&
	    review_evidence_known(con->st, url + 10)) {
		snprintf(name, sizeof(name), "evidence-%.16s.bin", url + 10);
		return send_download(con, c, con->cfg->evidence_dir, url + 10,
			name);
	} else
		return send_error(con, c, s, MHD_HTTP_NOT_FOUND,
			"There is no such page.");
	return send_page(c, status, &h, NULL);
}

/* ---------------------------------------------------------- decisions */

static enum MHD_Result
decided(struct console *con, struct MHD_Connection *c,
	const struct session *s, const char *id, const char *action, int rc,
	const char *err)
{
	struct view v = { con->st, con->cfg, s, c };
	struct html h = { 0 };
	char location[96];
	int status;

	if (rc == STORE_OK) {
		snprintf(location, sizeof(location), "/record/%s?done=%s", id,
			action);
		return send_redirect(c, location, NULL);
	}
	status = rc == REVIEW_INVALID ? MHD_HTTP_BAD_REQUEST :
		rc == STORE_BUSY ? MHD_HTTP_SERVICE_UNAVAILABLE :
		MHD_HTTP_INTERNAL_SERVER_ERROR;
	if (rc != REVIEW_INVALID)
		log_error("%s", err);
	status = page_record(&v, &h, id, status, err);
	return send_page(c, status, &h, NULL);
}

/* The evidence of a grant: the uploaded file, made durable and named by
 * its sha256, else the URI given. */
static int
grant_evidence(struct request *r, char hex[HASH_HEX_SIZE],
	const char **evidence, char *err, size_t errlen)
{
	const char *uri = form_text(r, "evidence_uri");
	int rc;

	*evidence = uri;
	if (!r->evidence || blob_writer_bytes(r->evidence) == 0)
		return STORE_OK;
	if (uri) {
		snprintf(err, errlen, "Give an evidence file or a URI, not "
			"both.");
		return REVIEW_INVALID;
	}
	rc = blob_writer_finish(r->evidence, hex);
	r->evidence = NULL;
	if (rc < 0 || blob_batch_commit(r->evidence_store) < 0) {
		snprintf(err, errlen, "storing the evidence: %s",
			strerror(errno));
		return STORE_ERROR;
	}
	*evidence = hex;
	return STORE_OK;
}

static int
decide(struct console *con, struct request *r, const struct session *s,
	const char *id, enum review_action action, char *err, size_t errlen)
{
	struct review_decision d = {
		.action = action, .by = s->name, .note = form_text(r, "note"),
		.expires = action == REVIEW_GRANT ? form_text(r, "expires") :
			NULL,
	};
	char hex[HASH_HEX_SIZE];
	int rc = STORE_OK;

	if (action == REVIEW_GRANT)
		rc = grant_evidence(r, hex, &d.evidence, err, errlen);
	else if (action == REVIEW_PUBLIC)
		d.evidence = form_text(r, "url");
	if (rc == STORE_OK)
		rc = review_decide(con->st, &id, 1, &d, NULL, err, errlen);
	if (rc != STORE_OK && d.evidence == hex)
		review_drop_unused_evidence(con->st, con->cfg->evidence_dir,
			hex);
	return rc;
}

static enum MHD_Result
record_action(struct console *con, struct MHD_Connection *c,
	struct request *r, const struct session *s, const char *id,
	const char *action)
{
	int act = review_action_from_name(action), rc;
	const char *field = form_text(r, "field");
	char err[1024] = "";

	if (act >= 0)
		rc = decide(con, r, s, id, (enum review_action)act, err,
			sizeof(err));
	else if (strcmp(action, "correct") == 0)
		rc = review_correct(con->st, id, field ? field : "",
			form_value(r, "value") ? form_value(r, "value") : "",
			s->name, form_text(r, "note"), err, sizeof(err));
	else if (strcmp(action, "uncorrect") == 0)
		rc = review_uncorrect(con->st, id, field ? field : "", err,
			sizeof(err));
	else
		return send_error(con, c, s, MHD_HTTP_NOT_FOUND,
			"There is no such action.");
	return decided(con, c, s, id, action, rc, err);
}

/* POST /suggestion/N/accept or /reject: back to the record it is for. */
static enum MHD_Result
suggestion_action(struct console *con, struct MHD_Connection *c,
	struct request *r, const struct session *s, const char *url)
{
	char *end, action[16], id[33] = "", err[1024] = "";
	long long n = strtoll(url + 12, &end, 10);
	sqlite3_stmt *q = NULL;
	int rc;

	if (n <= 0 || *end != '/' || strlen(end + 1) >= sizeof(action) ||
	    (strcmp(end + 1, "accept") && strcmp(end + 1, "reject")))
		return send_error(con, c, s, MHD_HTTP_NOT_FOUND,
			"There is no such action.");
	snprintf(action, sizeof(action), "%s", end + 1);
	if (sqlite3_prepare_v2(store_db(con->st), "SELECT record_id FROM"
	    " suggestion WHERE id = ?1", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(q, 1, n) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(id, sizeof(id), "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (!is_hex(id, 32))
		return send_error(con, c, s, MHD_HTTP_NOT_FOUND,
			"There is no such suggestion.");
	rc = action[0] == 'a' ?
		review_accept(con->st, n, s->name, form_text(r, "note"), err,
			sizeof(err)) :
		review_reject(con->st, n, s->name, form_text(r, "note"), err,
			sizeof(err));
	return decided(con, c, s, id, action, rc, err);
}

/* -------------------------------------------------------------- login */

static void
cookie(const struct console *con, const char *name, const char *value,
	long max_age, char *out, size_t size)
{
	snprintf(out, size, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; "
		"SameSite=Strict%s", name, value, max_age,
		con->secure_cookie ? "; Secure" : "");
}

/* The login page with a CSRF token in its form and its cookie: the one
 * the browser has, so that a second copy of the page (another tab, a
 * prefetch) does not outdate the first, else a new one. */
static enum MHD_Result
send_login(struct console *con, struct MHD_Connection *c, int status,
	const char *error)
{
	struct view v = { con->st, con->cfg, NULL, c };
	const char *had = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
		LOGIN_COOKIE);
	char token[CONSOLE_TOKEN_SIZE], set[256];
	const char *extra[] = { "Set-Cookie", set, NULL };
	struct html h = { 0 };

	if (had && strlen(had) == CONSOLE_TOKEN_SIZE - 1 &&
	    strspn(had, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") == CONSOLE_TOKEN_SIZE - 1)
		memcpy(token, had, CONSOLE_TOKEN_SIZE);
	else
		new_token(token);
	cookie(con, LOGIN_COOKIE, token, 3600, set, sizeof(set));
	page_login(&v, &h, error, token);
	return send_page(c, status, &h, extra);
}

static enum MHD_Result
login(struct console *con, struct MHD_Connection *c, struct request *r)
{
	struct client *cl = client_of(con, c);
	const char *name = form_text(r, "name");
	const char *password = form_value(r, "password");
	const char *csrf = form_value(r, "csrf");
	const char *expected = MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
		LOGIN_COOKIE);
	char set[256];
	struct session *s;
	int ok;

	if (!csrf || !expected || !token_equal(csrf, expected))
		return send_login(con, c, MHD_HTTP_FORBIDDEN, "This form is "
			"stale or forged: log in again.");
	if (cl->login_pause_until > time(NULL))
		return send_error(con, c, NULL, MHD_HTTP_TOO_MANY_REQUESTS,
			"Too many failed logins from your address: wait a "
			"minute.");
	ok = name && password && account_name_valid(name) ?
		account_check(con->st, name, password) : 0;
	if (ok < 0)
		return send_error(con, c, NULL, MHD_HTTP_INTERNAL_SERVER_ERROR,
			"The store could not be read.");
	if (!ok) {
		log_warn("console: failed login for \"%.64s\" from %s",
			name ? name : "", cl->addr);
		if (++cl->login_failures >= LOGIN_FAILURES) {
			cl->login_failures = 0;
			cl->login_pause_until = time(NULL) + LOGIN_PAUSE;
		}
		return send_login(con, c, MHD_HTTP_UNAUTHORIZED,
			"Wrong name or password.");
	}
	cl->login_failures = 0;
	s = session_start(con, name);
	log_info("console: %s logged in from %s", name, cl->addr);
	cookie(con, SESSION_COOKIE, s->token,
		(long)con->cfg->review_session_ttl, set, sizeof(set));
	return send_redirect(c, "/", set);
}

static enum MHD_Result
logout(struct console *con, struct MHD_Connection *c, struct session *s)
{
	char set[256];

	sodium_memzero(s, sizeof(*s));
	cookie(con, SESSION_COOKIE, "", 0, set, sizeof(set));
	return send_redirect(c, "/login", set);
}

/* The Origin a browser sends with a POST must be this console's. */
static bool
origin_allowed(const struct console *con, struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		"Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		"Host");
	const char *scheme = con->tls ? "https://" : "http://";
	size_t n = strlen(scheme);

	if (!origin)
		return true;
	return host && strncmp(origin, scheme, n) == 0 &&
		strcmp(origin + n, host) == 0;
}

static enum MHD_Result
serve_post(struct console *con, struct MHD_Connection *c, struct request *r,
	struct session *s, const char *url)
{
	const char *csrf = form_value(r, "csrf"), *rest;
	char id[33];

	if (!origin_allowed(con, c))
		return send_error(con, c, s, MHD_HTTP_FORBIDDEN,
			"This form was sent from another site.");
	if (strcmp(url, "/login") != 0 && !s)
		return send_error(con, c, NULL, MHD_HTTP_FORBIDDEN,
			"You are not logged in.");
	if (r->bad_form)
		return send_error(con, c, s, s ? MHD_HTTP_FORBIDDEN :
			MHD_HTTP_BAD_REQUEST, "The form could not be read.");
	if (strcmp(url, "/login") == 0)
		return login(con, c, r);
	if (!csrf || !token_equal(csrf, s->csrf))
		return send_error(con, c, s, MHD_HTTP_FORBIDDEN,
			"This form is stale or forged: reload the page and "
			"try again.");
	if (strcmp(url, "/logout") == 0)
		return logout(con, c, s);
	if (record_path(url, id, &rest) && *rest)
		return record_action(con, c, r, s, id, rest);
	if (strncmp(url, "/suggestion/", 12) == 0)
		return suggestion_action(con, c, r, s, url);
	return send_error(con, c, s, MHD_HTTP_NOT_FOUND, "There is no such "
		"page.");
}

static enum MHD_Result
refuse(struct console *con, struct MHD_Connection *c, int status)
{
	return send_error(con, c, NULL, status,
		status == MHD_HTTP_TOO_MANY_REQUESTS ?
		"Too many requests: slow down." : "The request is too large.");
}

static enum MHD_Result
serve(struct console *con, struct MHD_Connection *c, struct request *r,
	const char *url, const char *method)
{
	struct session *s = session_of(con, c);

	if (r->early_status)
		return refuse(con, c, r->early_status);
	if (strcmp(method, "POST") == 0)
		return serve_post(con, c, r, s, url);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return send_error(con, c, s, MHD_HTTP_METHOD_NOT_ALLOWED,
			"Only GET and POST are served.");
	if (strcmp(url, "/style.css") == 0)
		return send_css(c);
	if (strcmp(url, "/login") == 0) {
		if (s)
			return send_redirect(c, "/", NULL);
		return send_login(con, c, MHD_HTTP_OK, NULL);
	}
	if (!s)
		return send_redirect(c, "/login", NULL);
	return serve_get(con, c, s, url);
}

/* The first call sees the headers only: limits apply before any of the
 * body is read. */
static int
admit(struct console *con, struct MHD_Connection *c, const char *method)
{
	const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		"Content-Length");

	if (!rate_allows(client_of(con, c)))
		return MHD_HTTP_TOO_MANY_REQUESTS;
	if (strcmp(method, "POST") != 0)
		return 0;
	if (length && strtoull(length, NULL, 10) > MAX_BODY)
		return MHD_HTTP_CONTENT_TOO_LARGE;
	return 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
	const char *method, const char *version, const char *upload,
	size_t *upload_size, void **req_cls)
{
	struct console *con = cls;
	struct request_box *box = *req_cls;

	(void)version;
	if (!box) {
		if (!(box = calloc(1, sizeof(*box))))
			return MHD_NO;
		*req_cls = box;
		box->target = (struct form_target){ &box->r, con->cfg };
		/* Refused on its headers: answered before the body is
		 * read, and the connection is then closed. */
		if ((box->r.early_status = admit(con, c, method)) != 0)
			return refuse(con, c, box->r.early_status);
		if (strcmp(method, "POST") == 0 &&
		    !(box->r.pp = MHD_create_post_processor(c, 64 * 1024,
		    on_form_data, &box->target)))
			box->r.bad_form = true;
		return MHD_YES;
	}
	if (*upload_size) {
		box->r.body_bytes += *upload_size;
		if (box->r.body_bytes > MAX_BODY)
			box->r.early_status = MHD_HTTP_CONTENT_TOO_LARGE;
		else if (box->r.pp && !box->r.bad_form &&
		    MHD_post_process(box->r.pp, upload, *upload_size) != MHD_YES)
			box->r.bad_form = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return serve(con, c, &box->r, url, method);
}

/* ------------------------------------------------------------- daemon */

/* [review] listen as an address to bind: "HOST:PORT", HOST possibly
 * "[v6]" or a name. */
static int
resolve_listen(const char *listen, struct sockaddr_storage *out,
	socklen_t *outlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV }, *ai = NULL;
	size_t n = colon ? (size_t)(colon - listen) : 0;
	int rc;

	if (!colon || n >= sizeof(host))
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	if (n > 1 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
		log_error("[review] listen = %s: %s", listen, gai_strerror(rc));
		return -1;
	}
	memcpy(out, ai->ai_addr, ai->ai_addrlen);
	*outlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

struct tls_files {
	char *cert, *key;
};

static int
read_tls(const struct config *cfg, struct tls_files *t)
{
	char err[512];
	size_t len;

	if (!cfg->review_tls_cert)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		log_error("this libmicrohttpd has no TLS: tls_cert cannot be "
			"served");
		return -1;
	}
	if (file_read_all(cfg->review_tls_cert, 1 << 20, &t->cert, &len, err,
	    sizeof(err)) != FILE_OK ||
	    file_read_all(cfg->review_tls_key, 1 << 20, &t->key, &len, err,
	    sizeof(err)) != FILE_OK) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static void
log_from_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("console: %s", msg);
}

static struct MHD_Daemon *
start_daemon(struct console *con, const struct tls_files *tls,
	const struct sockaddr_storage *addr)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
		MHD_USE_ERROR_LOG;

	if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls->cert)
		return MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL,
			on_request, con,
			MHD_OPTION_EXTERNAL_LOGGER, log_from_mhd, NULL,
			MHD_OPTION_SOCK_ADDR, addr,
			MHD_OPTION_HTTPS_MEM_CERT, tls->cert,
			MHD_OPTION_HTTPS_MEM_KEY, tls->key,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, con,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)128,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
			MHD_OPTION_END);
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, con,
		MHD_OPTION_EXTERNAL_LOGGER, log_from_mhd, NULL,
		MHD_OPTION_SOCK_ADDR, addr,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, con,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)128,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)32,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
		MHD_OPTION_END);
}

int
console_serve(const struct config *cfg, struct store *st)
{
	struct console *con = NULL;
	struct tls_files tls = { 0 };
	struct sockaddr_storage addr;
	struct MHD_Daemon *d = NULL;
	socklen_t addrlen;
	sigset_t stop;
	int rc = EXIT_PARTIAL, sig;

	if (resolve_listen(cfg->review_listen, &addr, &addrlen) < 0 ||
	    read_tls(cfg, &tls) < 0)
		goto out;
	if (!(con = calloc(1, sizeof(*con)))) {
		log_error("out of memory");
		goto out;
	}
	con->cfg = cfg;
	con->st = st;
	con->tls = tls.cert != NULL;
	con->secure_cookie = cfg->secure_cookies < 0 ? con->tls :
		cfg->secure_cookies == 1;
	/* The daemon's thread inherits this mask: the signals wait here. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0 ||
	    !(d = start_daemon(con, &tls, &addr))) {
		log_error("[review] listen = %s: cannot serve there: %s",
			cfg->review_listen, strerror(errno));
		goto out;
	}
	log_info("console at http%s://%s/", con->tls ? "s" : "",
		cfg->review_listen);
	if (account_count(st) == 0)
		log_info("no account yet: create one with cybil-review passwd "
			"NAME");
	if (sigwait(&stop, &sig) != 0)
		goto out;
	log_info("console: stopping on signal %d", sig);
	rc = 0;
out:
	if (d)
		MHD_stop_daemon(d);
	if (con)
		sodium_memzero(con->sessions, sizeof(con->sessions));
	free(con);
	free(tls.cert);
	if (tls.key)
		sodium_memzero(tls.key, strlen(tls.key));
	free(tls.key);
	return rc;
}
