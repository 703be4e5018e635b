#include "release.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "file.h"

const char *const release_member_names[MEMBER_COUNT] = {
	[MEMBER_CHANGES] = "changes.jsonl",
	[MEMBER_DATAPACKAGE] = "datapackage.json",
	[MEMBER_RECORDS_CSV] = "records.csv",
	[MEMBER_RECORDS_JSONL] = "records.jsonl",
	[MEMBER_TOMBSTONES] = "tombstones.jsonl",
};

const char *const release_change_names[3] = {
	[CHANGE_ADDED] = "added",
	[CHANGE_UPDATED] = "updated",
	[CHANGE_REMOVED] = "removed",
};

static const char *const reasons[] = {
	"withdrawn", "refused", "repended", "expired", "gone",
	"deleted-at-source", "source-removed",
};

static int __attribute__((format(printf, 4, 5)))
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static bool
too_long(int n, size_t size)
{
	return n < 0 || (size_t)n >= size;
}

#define REFUSE(...) fail(err, errlen, RELEASE_REFUSED, __VA_ARGS__)
#define NOMEM() fail(err, errlen, RELEASE_ERROR, "out of memory")

bool
release_reason_valid(const char *reason)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reason, reasons[i]) == 0)
			return true;
	return false;
}

void
release_serial_name(int64_t serial, char buf[RELEASE_SERIAL_SIZE])
{
	snprintf(buf, RELEASE_SERIAL_SIZE, "%06" PRId64, serial);
}

void
release_archive_name(int64_t serial, char buf[RELEASE_ARCHIVE_SIZE])
{
	snprintf(buf, RELEASE_ARCHIVE_SIZE, "cybil-%06" PRId64 ".tar.zst",
		serial);
}

char *
release_json_dumps(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
		JSON_ENCODE_ANY);
}

int
release_trusted_comment(char *buf, size_t len, time_t t, const char *file,
	int64_t serial)
{
	int n = snprintf(buf, len, "timestamp:%lld\tfile:%s\tserial:%06"
		PRId64, (long long)t, file, serial);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
release_check_trusted(const char *comment, const char *file,
	int64_t serial, const char *what, char *err, size_t errlen)
{
	char want[256];
	const char *tab;

	/* The timestamp is informational; file and serial bind the
	 * signature to this file of this release. */
	if (strncmp(comment, "timestamp:", 10) != 0 ||
	    !(tab = strchr(comment, '\t')))
		return REFUSE("%s: the trusted comment \"%s\" has no "
			"timestamp", what, comment);
	snprintf(want, sizeof(want), "\tfile:%s\tserial:%06" PRId64, file,
		serial);
	if (strcmp(tab, want) != 0)
		return REFUSE("%s: the trusted comment \"%s\" is not for file "
			"%s of release %06" PRId64, what, comment, file, serial);
	return RELEASE_OK;
}

static bool
is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static json_t *
serial_array(const int64_t *serials, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_integer(serials[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

char *
release_pointer_text(const struct release_pointer *p)
{
	char created[DATE_RFC3339_SIZE], expires[DATE_RFC3339_SIZE];
	json_t *j;
	char *text, *out = NULL;
	size_t len;

	j = json_pack("{s:i, s:I, s:s, s:s, s:{s:s, s:s, s:I}, s:o, s:o, "
		"s:s}", "spec", RELEASE_SPEC, "serial", (json_int_t)p->serial,
		"created", date_format_utc(p->created, created),
		"expires", date_format_utc(p->expires, expires),
		"release", "path", p->release_path, "sha256", p->sums_sha256,
		"bytes", (json_int_t)p->sums_bytes,
		"kept", serial_array(p->kept, p->nkept),
		"revoked", serial_array(p->revoked, p->nrevoked),
		"audit_head", p->audit_head);
	if (!j)
		return NULL;
	if ((text = release_json_dumps(j))) {
		len = strlen(text);
		if ((out = malloc(len + 2))) {
			memcpy(out, text, len);
			memcpy(out + len, "\n", 2);
		}
		free(text);
	}
	json_decref(j);
	return out;
}

static int
serials_from(json_t *a, const char *what, const char *key, int64_t **out,
	size_t *n, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a))
		return REFUSE("%s: \"%s\" is not an array", what, key);
	if (json_array_size(a) == 0)
		return RELEASE_OK;
	if (!(*out = calloc(json_array_size(a), sizeof(**out))))
		return NOMEM();
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > RELEASE_SERIAL_MAX ||
		    (i > 0 && json_integer_value(v) <= (*out)[i - 1]))
			return REFUSE("%s: \"%s\" is not a list of ascending "
				"serials", what, key);
		(*out)[i] = json_integer_value(v);
		*n = i + 1;
	}
	return RELEASE_OK;
}

static int
time_from(const char *s, const char *what, const char *key, time_t *out,
	char *err, size_t errlen)
{
	if (!s || date_parse_utc(s, out) < 0)
		return REFUSE("%s: \"%s\" is not an RFC 3339 UTC time", what,
			key);
	return RELEASE_OK;
}

static int
pointer_from_json(json_t *j, const char *what, struct release_pointer *p,
	char *err, size_t errlen)
{
	json_int_t spec, serial, bytes;
	const char *created, *expires, *path, *sha, *head;
	json_t *kept, *revoked;
	json_error_t jerr;
	char want[64];
	int rc;

	if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:I, s:I, s:s, s:s, "
	    "s:{s:s, s:s, s:I}, s:o, s:o, s:s}", "spec", &spec,
	    "serial", &serial, "created", &created, "expires", &expires,
	    "release", "path", &path, "sha256", &sha, "bytes", &bytes,
	    "kept", &kept, "revoked", &revoked, "audit_head", &head) < 0)
		return REFUSE("%s: %s", what, jerr.text);
	if (spec != RELEASE_SPEC)
		return REFUSE("%s: spec %lld is not %d", what, (long long)spec,
			RELEASE_SPEC);
	if (serial < 1 || serial > RELEASE_SERIAL_MAX)
		return REFUSE("%s: serial %lld is out of range", what,
			(long long)serial);
	p->serial = serial;
	snprintf(want, sizeof(want), RELEASE_DIR "/%06" PRId64 "/"
		RELEASE_SUMS, p->serial);
	if (strcmp(path, want) != 0)
		return REFUSE("%s: release path \"%s\" is not %s", what, path,
			want);
	if (!is_hex(sha, HASH_HEX_SIZE - 1) || bytes < 1 ||
	    bytes > RELEASE_SUMS_MAX)
		return REFUSE("%s: bad release sha256 or bytes", what);
	if (!is_hex(head, HASH_HEX_SIZE - 1))
		return REFUSE("%s: bad audit_head", what);
	if ((rc = time_from(created, what, "created", &p->created, err,
	    errlen)) || (rc = time_from(expires, what, "expires", &p->expires,
	    err, errlen)) || (rc = serials_from(kept, what, "kept", &p->kept,
	    &p->nkept, err, errlen)) || (rc = serials_from(revoked, what,
	    "revoked", &p->revoked, &p->nrevoked, err, errlen)))
		return rc;
	if (!(p->release_path = strdup(path)))
		return NOMEM();
	memcpy(p->sums_sha256, sha, HASH_HEX_SIZE);
	memcpy(p->audit_head, head, HASH_HEX_SIZE);
	p->sums_bytes = (uint64_t)bytes;
	return RELEASE_OK;
}

int
release_pointer_parse(const char *text, size_t len, const char *what,
	struct release_pointer *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)))
		return REFUSE("%s:%d: %s", what, jerr.line, jerr.text);
	rc = pointer_from_json(j, what, out, err, errlen);
	json_decref(j);
	if (rc != RELEASE_OK)
		release_pointer_free(out);
	return rc;
}

void
release_pointer_free(struct release_pointer *p)
{
	free(p->release_path);
	free(p->kept);
	free(p->revoked);
	memset(p, 0, sizeof(*p));
}

/* A signature check's result as a release result. */
static int
sign_result(int rc)
{
	return rc == SIGN_OK ? RELEASE_OK : rc == SIGN_ERROR ? RELEASE_ERROR :
		RELEASE_REFUSED;
}

int
release_pointer_verify(const char *text, size_t len, const char *sig,
	size_t siglen, const struct sign_pubkey *keys, size_t nkeys,
	const char *what, struct release_pointer *out, char *err,
	size_t errlen)
{
	char *trusted = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sign_result(sign_verify_buffer(keys, nkeys, text, len, sig,
	    siglen, &trusted, err, errlen))) != RELEASE_OK)
		return rc;
	if ((rc = release_pointer_parse(text, len, what, out, err,
	    errlen)) == RELEASE_OK &&
	    (rc = release_check_trusted(trusted, RELEASE_POINTER,
	    out->serial, what, err, errlen)) != RELEASE_OK)
		release_pointer_free(out);
	free(trusted);
	return rc;
}

void
release_sums_text(const char archive_sha256[HASH_HEX_SIZE], int64_t serial,
	char *buf, size_t len)
{
	char name[RELEASE_ARCHIVE_SIZE];

	release_archive_name(serial, name);
	snprintf(buf, len, "%s  %s\n", archive_sha256, name);
}

/* --- The archive's content ------------------------------------------- */

static int
check_members(struct release_content *c, const char *what, char *err,
	size_t errlen)
{
	int m;

	for (size_t i = 0; i < c->nfiles; i++) {
		for (m = 0; m < MEMBER_COUNT; m++)
			if (strcmp(c->files[i].name,
			    release_member_names[m]) == 0)
				break;
		if (m == MEMBER_COUNT)
			return REFUSE("%s: unexpected member %s", what,
				c->files[i].name);
		c->members[m] = &c->files[i];
	}
	for (m = 0; m < MEMBER_COUNT; m++)
		if (!c->members[m])
			return REFUSE("%s: %s is missing", what,
				release_member_names[m]);
	return RELEASE_OK;
}

static int
check_resource(const json_t *resources, const struct tarball_file *f,
	const char *what, char *err, size_t errlen)
{
	char hex[HASH_HEX_SIZE], want[sizeof("sha256:") + HASH_HEX_SIZE];
	const char *path, *hash;
	json_int_t bytes;
	size_t i;
	json_t *r;

	hash_sha256_hex(f->data, f->len, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	json_array_foreach(resources, i, r) {
		if (json_unpack(r, "{s:s, s:I, s:s}", "path", &path, "bytes",
		    &bytes, "hash", &hash) < 0)
			return REFUSE("%s: datapackage.json: resource %zu needs "
				"path, bytes and hash", what, i);
		if (strcmp(path, f->name) != 0)
			continue;
		if (bytes < 0 || (uint64_t)bytes != f->len)
			return REFUSE("%s: %s has %zu bytes, datapackage.json "
				"says %lld", what, f->name, f->len,
				(long long)bytes);
		if (strcmp(hash, want) != 0)
			return REFUSE("%s: %s does not match its hash in "
				"datapackage.json", what, f->name);
		return RELEASE_OK;
	}
	return REFUSE("%s: datapackage.json lists no resource %s", what,
		f->name);
}

static int
check_datapackage(struct release_content *c, const char *what, char *err,
	size_t errlen)
{
	const struct tarball_file *f = c->members[MEMBER_DATAPACKAGE];
	json_int_t serial;
	json_t *j, *resources, *previous;
	json_error_t jerr;
	const char *profile;
	int rc = RELEASE_REFUSED;

	if (!(j = json_loadb((const char *)f->data, f->len,
	    JSON_REJECT_DUPLICATES, &jerr)))
		return REFUSE("%s: datapackage.json:%d: %s", what, jerr.line,
			jerr.text);
	if (json_unpack_ex(j, &jerr, 0, "{s:s, s:o, s:{s:I, s:o}}",
	    "profile", &profile, "resources", &resources, "cybil", "serial",
	    &serial, "previous", &previous) < 0) {
		REFUSE("%s: datapackage.json: %s", what, jerr.text);
		goto out;
	}
	if (strcmp(profile, "data-package") != 0 ||
	    !json_is_array(resources)) {
		REFUSE("%s: datapackage.json is not a data package", what);
		goto out;
	}
	if (serial != c->serial) {
		REFUSE("%s: datapackage.json is of release %lld, not %06"
			PRId64, what, (long long)serial, c->serial);
		goto out;
	}
	c->previous = json_is_integer(previous) ?
		json_integer_value(previous) : 0;
	if ((!json_is_null(previous) && !json_is_integer(previous)) ||
	    c->previous < 0 || c->previous >= c->serial) {
		REFUSE("%s: datapackage.json: bad previous serial", what);
		goto out;
	}
	for (int m = 0; m < MEMBER_COUNT; m++)
		if (m != MEMBER_DATAPACKAGE && (rc = check_resource(resources,
		    c->members[m], what, err, errlen)))
			goto out;
	rc = RELEASE_OK;
out:
	json_decref(j);
	return rc;
}

/* Calls FN for each line of F ("name:line" in messages); every line must
 * end with a newline and be a JSON object. */
typedef int line_fn(void *ctx, json_t *obj, const char *line, size_t len,
	const char *where, char *err, size_t errlen);

static int
each_line(const struct tarball_file *f, const char *what, line_fn *fn,
	void *ctx, char *err, size_t errlen)
{
	const char *p = (const char *)f->data, *end = p + f->len, *nl;
	char where[512];
	json_error_t jerr;
	size_t lineno = 0;
	json_t *obj;
	int rc;

	for (; p < end; p = nl + 1) {
		lineno++;
		snprintf(where, sizeof(where), "%s: %s:%zu", what, f->name,
			lineno);
		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			return REFUSE("%s: the last line has no newline",
				where);
		obj = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES,
			&jerr);
		if (!json_is_object(obj)) {
			json_decref(obj);
			return REFUSE("%s: %s", where, obj ? "not a JSON object"
				: jerr.text);
		}
		rc = fn(ctx, obj, p, (size_t)(nl - p), where, err, errlen);
		json_decref(obj);
		if (rc != RELEASE_OK)
			return rc;
	}
	return RELEASE_OK;
}

static size_t
count_lines(const struct tarball_file *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->len; i++)
		n += f->data[i] == '\n';
	return n;
}

/* Copies a record id, checking its form and that ids ascend. */
static int
take_id(const char *id, const char *prev, char out[RELEASE_ID_SIZE],
	const char *where, char *err, size_t errlen)
{
	if (!id || !is_hex(id, RELEASE_ID_SIZE - 1))
		return REFUSE("%s: \"id\" is not 32 lower-case hex digits",
			where);
	if (prev && strcmp(prev, id) >= 0)
		return REFUSE("%s: id %s is not after %s: lines must be sorted "
			"by id, each id once", where, id, prev);
	memcpy(out, id, RELEASE_ID_SIZE);
	return RELEASE_OK;
}

static bool
string_or_null(const json_t *v)
{
	return json_is_string(v) || json_is_null(v);
}

static int
record_line(void *ctx, json_t *obj, const char *line, size_t len,
	const char *where, char *err, size_t errlen)
{
	struct release_content *c = ctx;
	struct release_record *r = &c->records[c->nrecords];
	const char *id, *kind, *source, *basis, *sha;
	json_t *fields, *title, *url, *captured, *source_url;
	json_error_t jerr;
	int rc;

	if (json_unpack_ex(obj, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:s, "
	    "s:s, s:o, s:o, s:o, s:o, s:o}", "id", &id, "kind", &kind,
	    "source", &source, "basis", &basis, "content_sha256", &sha,
	    "fields", &fields, "title", &title, "url", &url, "captured_at",
	    &captured, "source_url", &source_url) < 0)
		return REFUSE("%s: %s", where, jerr.text);
	if ((rc = take_id(id, c->nrecords ? r[-1].id : NULL, r->id, where,
	    err, errlen)))
		return rc;
	if (!*kind || !*source || !is_hex(sha, HASH_HEX_SIZE - 1) ||
	    !json_is_object(fields) || !string_or_null(title) ||
	    !string_or_null(url) || !string_or_null(captured) ||
	    !string_or_null(source_url))
		return REFUSE("%s: a field has the wrong type or form", where);
	if (strcmp(basis, "public-source") != 0 &&
	    strcmp(basis, "owner-consent") != 0)
		return REFUSE("%s: basis \"%s\" may not be published", where,
			basis);
	release_line_hash(line, len, r->line_hash);
	r->line = line;
	r->len = len;
	c->nrecords++;
	return RELEASE_OK;
}

void
release_line_hash(const char *line, size_t len,
	unsigned char hash[RELEASE_LINE_HASH_BYTES])
{
	crypto_generichash(hash, RELEASE_LINE_HASH_BYTES,
		(const unsigned char *)line, len, NULL, 0);
}

static int
reason_from(const char *reason, char out[RELEASE_REASON_SIZE],
	const char *where, char *err, size_t errlen)
{
	if (!release_reason_valid(reason))
		return REFUSE("%s: \"%s\" is not a reason code", where, reason);
	snprintf(out, RELEASE_REASON_SIZE, "%s", reason);
	return RELEASE_OK;
}

static int
change_line(void *ctx, json_t *obj, const char *line, size_t len,
	const char *where, char *err, size_t errlen)
{
	struct release_content *c = ctx;
	struct release_change *ch = &c->changes[c->nchanges];
	const char *id, *change, *reason = NULL;
	json_error_t jerr;
	int rc, k;

	(void)line;
	(void)len;
	if (json_unpack_ex(obj, &jerr, JSON_STRICT, "{s:s, s:s, s?s}", "id",
	    &id, "change", &change, "reason", &reason) < 0)
		return REFUSE("%s: %s", where, jerr.text);
	if ((rc = take_id(id, c->nchanges ? ch[-1].id : NULL, ch->id, where,
	    err, errlen)))
		return rc;
	for (k = 0; k < 3; k++)
		if (strcmp(change, release_change_names[k]) == 0)
			break;
	if (k == 3)
		return REFUSE("%s: \"%s\" is not added, updated or removed",
			where, change);
	ch->kind = (enum release_change_kind)k;
	if ((ch->kind == CHANGE_REMOVED) != (reason != NULL))
		return REFUSE("%s: a removal, and only a removal, has a "
			"reason", where);
	if (reason && (rc = reason_from(reason, ch->reason, where, err,
	    errlen)))
		return rc;
	c->nchanges++;
	return RELEASE_OK;
}

static int
tombstone_line(void *ctx, json_t *obj, const char *line, size_t len,
	const char *where, char *err, size_t errlen)
{
	struct release_content *c = ctx;
	struct release_tombstone *t = &c->tombstones[c->ntombstones];
	const char *id, *reason;
	json_int_t serial;
	json_error_t jerr;
	int rc;

	(void)line;
	(void)len;
	if (json_unpack_ex(obj, &jerr, JSON_STRICT, "{s:s, s:s, s:I}", "id",
	    &id, "reason", &reason, "serial", &serial) < 0)
		return REFUSE("%s: %s", where, jerr.text);
	if ((rc = take_id(id, c->ntombstones ? t[-1].id : NULL, t->id, where,
	    err, errlen)) || (rc = reason_from(reason, t->reason, where, err,
	    errlen)))
		return rc;
	if (serial < 1 || serial > c->serial)
		return REFUSE("%s: serial %lld is not a release up to this "
			"one", where, (long long)serial);
	t->serial = serial;
	c->ntombstones++;
	return RELEASE_OK;
}

static int
compare_id(const void *key, const void *elem)
{
	return strcmp(key, elem);
}

const struct release_record *
release_find_record(const struct release_content *c, const char *id)
{
	return c->nrecords ? bsearch(id, c->records, c->nrecords,
		sizeof(*c->records), compare_id) : NULL;
}

static const struct release_tombstone *
find_tombstone(const struct release_content *c, const char *id)
{
	return c->ntombstones ? bsearch(id, c->tombstones, c->ntombstones,
		sizeof(*c->tombstones), compare_id) : NULL;
}

/* What a release says of itself: each change agrees with the records,
 * each removal has its tombstone from this release, and no tombstoned
 * id is published. */
static int
check_self(const struct release_content *c, const char *what, char *err,
	size_t errlen)
{
	const struct release_tombstone *t;

	for (size_t i = 0; i < c->nchanges; i++) {
		const struct release_change *ch = &c->changes[i];
		bool present = release_find_record(c, ch->id) != NULL;

		if (ch->kind != CHANGE_REMOVED && !present)
			return REFUSE("%s: %s %s is not in records.jsonl", what,
				release_change_names[ch->kind], ch->id);
		if (ch->kind != CHANGE_REMOVED)
			continue;
		t = find_tombstone(c, ch->id);
		if (present || !t || t->serial != c->serial ||
		    strcmp(t->reason, ch->reason) != 0)
			return REFUSE("%s: removed %s has no tombstone of this "
				"release with its reason", what, ch->id);
	}
	for (size_t i = 0; i < c->ntombstones; i++)
		if (release_find_record(c, c->tombstones[i].id))
			return REFUSE("%s: %s is both published and "
				"tombstoned", what, c->tombstones[i].id);
	return RELEASE_OK;
}

static int
read_lines(struct release_content *c, const char *what, char *err,
	size_t errlen)
{
	const struct tarball_file *records = c->members[MEMBER_RECORDS_JSONL],
		*changes = c->members[MEMBER_CHANGES],
		*tombstones = c->members[MEMBER_TOMBSTONES];
	size_t n;
	int rc;

	n = count_lines(records);
	if (n && !(c->records = calloc(n, sizeof(*c->records))))
		return NOMEM();
	n = count_lines(changes);
	if (n && !(c->changes = calloc(n, sizeof(*c->changes))))
		return NOMEM();
	n = count_lines(tombstones);
	if (n && !(c->tombstones = calloc(n, sizeof(*c->tombstones))))
		return NOMEM();
	if ((rc = each_line(records, what, record_line, c, err, errlen)) ||
	    (rc = each_line(changes, what, change_line, c, err, errlen)) ||
	    (rc = each_line(tombstones, what, tombstone_line, c, err,
	    errlen)))
		return rc;
	return check_self(c, what, err, errlen);
}

int
release_content_read(const char *path, int64_t serial,
	const struct tarball_limits *limits, struct release_content *out,
	char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->serial = serial;
	if (tarball_read_all(path, limits, &out->files, &out->nfiles, err,
	    errlen) < 0)
		return RELEASE_REFUSED;
	if ((rc = check_members(out, path, err, errlen)) ||
	    (rc = check_datapackage(out, path, err, errlen)) ||
	    (rc = read_lines(out, path, err, errlen)))
		release_content_free(out);
	return rc;
}

void
release_content_free(struct release_content *c)
{
	tarball_files_free(c->files, c->nfiles);
	free(c->records);
	free(c->changes);
	free(c->tombstones);
	memset(c, 0, sizeof(*c));
}

/* The change CUR should list for ID given PREV, or -1 for none. */
static int
expected_change(const struct release_content *prev,
	const struct release_content *cur, const char *id)
{
	const struct release_record *a = release_find_record(prev, id),
		*b = release_find_record(cur, id);

	if (!a && b)
		return CHANGE_ADDED;
	if (a && !b)
		return CHANGE_REMOVED;
	if (a && b && memcmp(a->line_hash, b->line_hash,
	    sizeof(a->line_hash)) != 0)
		return CHANGE_UPDATED;
	return -1;
}

static int
check_changes(const struct release_content *prev,
	const struct release_content *cur, char *err, size_t errlen)
{
	size_t listed = 0, expected = 0;
	int want;

	/* Every listed change is right, and as many are listed as there
	 * are differences: then none is missing. */
	for (size_t i = 0; i < cur->nchanges; i++) {
		want = expected_change(prev, cur, cur->changes[i].id);
		if (want != (int)cur->changes[i].kind)
			return REFUSE("release %06" PRId64 ": %s is listed as "
				"%s, but is %s since release %06" PRId64,
				cur->serial, cur->changes[i].id,
				release_change_names[cur->changes[i].kind],
				want < 0 ? "unchanged" :
				release_change_names[want], prev->serial);
		listed++;
	}
	for (size_t i = 0; i < cur->nrecords; i++)
		expected += expected_change(prev, cur, cur->records[i].id) >= 0;
	for (size_t i = 0; i < prev->nrecords; i++)
		expected += !release_find_record(cur, prev->records[i].id);
	if (listed != expected)
		return REFUSE("release %06" PRId64 ": changes.jsonl lists %zu "
			"changes since release %06" PRId64 ", there are %zu",
			cur->serial, listed, prev->serial, expected);
	return RELEASE_OK;
}

int
release_content_follows(const struct release_content *prev,
	const struct release_content *cur, char *err, size_t errlen)
{
	const struct release_tombstone *t;

	if (cur->previous != prev->serial)
		return REFUSE("release %06" PRId64 " follows %06" PRId64
			", not %06" PRId64, cur->serial, cur->previous,
			prev->serial);
	/* A tombstone stays until its id is published again. */
	for (size_t i = 0; i < prev->ntombstones; i++) {
		const struct release_tombstone *old = &prev->tombstones[i];

		if (release_find_record(cur, old->id))
			continue;
		t = find_tombstone(cur, old->id);
		if (!t || t->serial != old->serial ||
		    strcmp(t->reason, old->reason) != 0)
			return REFUSE("release %06" PRId64 " lost the "
				"tombstone of %s", cur->serial, old->id);
	}
	for (size_t i = 0; i < cur->ntombstones; i++) {
		t = &cur->tombstones[i];
		if (t->serial < cur->serial && !find_tombstone(prev, t->id))
			return REFUSE("release %06" PRId64 ": the tombstone of "
				"%s claims release %06" PRId64 ", which has "
				"none", cur->serial, t->id, t->serial);
	}
	return check_changes(prev, cur, err, errlen);
}

static int
read_signed_sums(const char *dir, int64_t serial,
	const struct sign_pubkey *keys, size_t nkeys, char **sums,
	size_t *len, char *err, size_t errlen)
{
	char path[4096], sigpath[4096], *sig = NULL, *trusted = NULL;
	size_t siglen;
	int rc;

	if (too_long(snprintf(path, sizeof(path), "%s/" RELEASE_SUMS, dir),
	    sizeof(path)) || too_long(snprintf(sigpath, sizeof(sigpath),
	    "%s/" RELEASE_SUMS RELEASE_SIG_SUFFIX, dir), sizeof(sigpath)))
		return REFUSE("%s: path too long", dir);
	if ((rc = file_read_all(path, RELEASE_SUMS_MAX, sums, len, err,
	    errlen)) != FILE_OK)
		return RELEASE_REFUSED;
	if (file_read_all(sigpath, RELEASE_SIG_MAX, &sig, &siglen, err,
	    errlen) != FILE_OK) {
		rc = RELEASE_REFUSED;
		goto out;
	}
	if ((rc = sign_result(sign_verify_buffer(keys, nkeys, *sums, *len,
	    sig, siglen, &trusted, err, errlen))) == RELEASE_OK)
		rc = release_check_trusted(trusted, RELEASE_SUMS, serial, path,
			err, errlen);
out:
	if (rc != RELEASE_OK) {
		free(*sums);
		*sums = NULL;
	}
	free(sig);
	free(trusted);
	return rc;
}

static int
file_sha256(const char *path, char hex[HASH_HEX_SIZE], char *err,
	size_t errlen)
{
	unsigned char buf[65536];
	struct hash h;
	size_t n;
	FILE *f;
	int rc = RELEASE_OK;

	if (!(f = fopen(path, "rb")))
		return REFUSE("%s: %s", path, strerror(errno));
	hash_begin(&h);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		hash_update(&h, buf, n);
	if (ferror(f))
		rc = fail(err, errlen, RELEASE_ERROR, "%s: %s", path,
			strerror(errno));
	fclose(f);
	hash_end_hex(&h, hex);
	return rc;
}

/* Each "HEX  NAME" line of SUMS: NAME a plain file of DIR whose sha256
 * is HEX; the archive of SERIAL must be one of them. */
static int
check_sums(const char *dir, int64_t serial, char *sums, char *err,
	size_t errlen)
{
	char archive[RELEASE_ARCHIVE_SIZE], path[4096], hex[HASH_HEX_SIZE];
	char *line, *next, *name;
	bool found = false;
	int rc;

	release_archive_name(serial, archive);
	for (line = sums; *line; line = next) {
		if (!(next = strchr(line, '\n')))
			return REFUSE("%s/" RELEASE_SUMS ": the last line has "
				"no newline", dir);
		*next++ = '\0';
		name = line + HASH_HEX_SIZE + 1;
		if (strlen(line) < HASH_HEX_SIZE + 2 ||
		    line[HASH_HEX_SIZE - 1] != ' ' || line[HASH_HEX_SIZE] != ' ')
			return REFUSE("%s/" RELEASE_SUMS ": \"%s\" is not a "
				"sha256sum line", dir, line);
		line[HASH_HEX_SIZE - 1] = '\0';
		if (!is_hex(line, HASH_HEX_SIZE - 1) ||
		    !tarball_name_valid(name) || strchr(name, '/') ||
		    name[0] == '.')
			return REFUSE("%s/" RELEASE_SUMS ": bad line for \"%s\"",
				dir, name);
		if (too_long(snprintf(path, sizeof(path), "%s/%s", dir, name),
		    sizeof(path)))
			return REFUSE("%s: path too long", dir);
		if ((rc = file_sha256(path, hex, err, errlen)))
			return rc;
		if (strcmp(hex, line) != 0)
			return REFUSE("%s: sha256 %s, SHA256SUMS says %s", path,
				hex, line);
		found |= strcmp(name, archive) == 0;
	}
	if (!found)
		return REFUSE("%s/" RELEASE_SUMS " does not list %s", dir,
			archive);
	return RELEASE_OK;
}

int
release_verify_dir(const char *dir, int64_t serial,
	const struct sign_pubkey *keys, size_t nkeys,
	const struct tarball_limits *limits, struct release_content *out,
	char *err, size_t errlen)
{
	struct release_content content;
	char archive[RELEASE_ARCHIVE_SIZE], path[4096], *sums = NULL;
	size_t len;
	int rc;

	if ((rc = read_signed_sums(dir, serial, keys, nkeys, &sums, &len,
	    err, errlen)))
		return rc;
	rc = check_sums(dir, serial, sums, err, errlen);
	free(sums);
	if (rc)
		return rc;
	release_archive_name(serial, archive);
	if (too_long(snprintf(path, sizeof(path), "%s/%s", dir, archive),
	    sizeof(path)))
		return REFUSE("%s: path too long", dir);
	if ((rc = release_content_read(path, serial, limits, &content, err,
	    errlen)))
		return rc;
	if (out)
		*out = content;
	else
		release_content_free(&content);
	return RELEASE_OK;
}

int
release_load_keys(const char *const *paths, size_t n,
	struct sign_pubkey **keys, char *err, size_t errlen)
{
	if (!(*keys = calloc(n ? n : 1, sizeof(**keys))))
		return NOMEM();
	for (size_t i = 0; i < n; i++) {
		int rc = sign_pubkey_load(paths[i], &(*keys)[i], err, errlen);

		if (rc != SIGN_OK) {
			free(*keys);
			*keys = NULL;
			return sign_result(rc);
		}
	}
	return RELEASE_OK;
}

int
release_read_pointer(const char *tree, const struct sign_pubkey *keys,
	size_t nkeys, struct release_pointer *out, char *err, size_t errlen)
{
	char path[4096], sigpath[4096], *text = NULL, *sig = NULL;
	size_t len, siglen;
	int rc = RELEASE_REFUSED;

	memset(out, 0, sizeof(*out));
	if (too_long(snprintf(path, sizeof(path), "%s/" RELEASE_POINTER, tree),
	    sizeof(path)) || too_long(snprintf(sigpath, sizeof(sigpath),
	    "%s/" RELEASE_POINTER RELEASE_SIG_SUFFIX, tree), sizeof(sigpath)))
		return REFUSE("%s: path too long", tree);
	if (file_read_all(path, RELEASE_POINTER_MAX, &text, &len, err,
	    errlen) == FILE_OK && file_read_all(sigpath, RELEASE_SIG_MAX,
	    &sig, &siglen, err, errlen) == FILE_OK)
		rc = release_pointer_verify(text, len, sig, siglen, keys, nkeys,
			path, out, err, errlen);
	free(text);
	free(sig);
	return rc;
}

int
release_pointer_current(const struct release_pointer *p, time_t now,
	const char *what, char *err, size_t errlen)
{
	char when[DATE_RFC3339_SIZE];

	if (p->expires + RELEASE_SKEW_SECONDS >= now)
		return RELEASE_OK;
	return REFUSE("%s: expired at %s: the publisher has not re-signed it",
		what, date_format_utc(p->expires, when));
}

int
release_verify_pointed(const char *tree, const struct release_pointer *p,
	const struct sign_pubkey *keys, size_t nkeys,
	const struct tarball_limits *limits, struct release_content *out,
	char *err, size_t errlen)
{
	char dir[4096], path[4096], hex[HASH_HEX_SIZE], *sums;
	size_t len;

	if (too_long(snprintf(path, sizeof(path), "%s/%s", tree,
	    p->release_path), sizeof(path)) || too_long(snprintf(dir,
	    sizeof(dir), "%s/" RELEASE_DIR "/%06" PRId64, tree, p->serial),
	    sizeof(dir)))
		return REFUSE("%s: path too long", tree);
	if (file_read_all(path, RELEASE_SUMS_MAX, &sums, &len, err,
	    errlen) != FILE_OK)
		return RELEASE_REFUSED;
	hash_sha256_hex(sums, len, hex);
	free(sums);
	if (len != p->sums_bytes || strcmp(hex, p->sums_sha256) != 0)
		return REFUSE("%s: %zu bytes with sha256 %s, but "
			RELEASE_POINTER " says %" PRIu64 " bytes with %s", path,
			len, hex, p->sums_bytes, p->sums_sha256);
	return release_verify_dir(dir, p->serial, keys, nkeys, limits, out,
		err, errlen);
}
