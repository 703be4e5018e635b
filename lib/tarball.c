#define _GNU_SOURCE	/* mkostemp */
#include "tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "file.h"

/* Limits and fixed choices of the format. */
#define MEMBER_MODE 0644
#define FILE_MODE 0644		/* of the archive itself: releases are public */
#define BLOCK_SIZE 10240	/* tar record; the last one is not padded */
/* Largest mtime a ustar header holds (11 octal digits); later ones would
 * need a pax header. */
#define MTIME_MAX INT64_C(077777777777)
/* The decoder refuses frames that need a larger window (memory bound);
 * the writer's levels never ask for more. */
#define WINDOW_LOG_MAX 27
#define COPY_CHUNK 65536

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A name from a hostile archive, made printable for an error message. */
static const char *
quote_name(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	for (; *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	if (*s && o + 4 <= size)
		strcpy(buf + o, "...");
	return buf;
}

static int
name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '+';
}

int
tarball_name_valid(const char *name)
{
	const char *p, *comp = name;
	size_t len = 0;

	for (p = name; ; p++, len++) {
		if (len > TARBALL_NAME_MAX)
			return 0;
		if (*p == '/' || *p == '\0') {
			size_t clen = (size_t)(p - comp);

			/* Empty: absolute, "//" or a trailing '/'. */
			if (clen == 0)
				return 0;
			if (comp[0] == '.' && (clen == 1 ||
			    (clen == 2 && comp[1] == '.')))
				return 0;
			if (*p == '\0')
				return 1;
			comp = p + 1;
			continue;
		}
		if (!name_char_ok(*p))
			return 0;
	}
}

/* Whether the first LEN bytes of KEY, as a whole name, are among the N
 * sorted NAMES. */
static int
sorted_has(char *const *names, size_t n, const char *key, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(names[mid], key, len);

		if (c == 0)
			c = names[mid][len] == '\0' ? 0 : 1;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The index of the first of the N sorted NAMES not below KEY. */
static size_t
lower_bound(char *const *names, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(names[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A member "a" and a member "a/b" cannot both be files once extracted:
 * returns the length of NAME's leading part that is itself among NAMES,
 * or 0. */
static size_t
parent_conflict(char *const *names, size_t n, const char *name)
{
	for (const char *p = strchr(name, '/'); p; p = strchr(p + 1, '/'))
		if (sorted_has(names, n, name, (size_t)(p - name)))
			return (size_t)(p - name);
	return 0;
}

const char *
tarball_zstd_version(void)
{
	return archive_libzstd_version();
}

int
tarball_check_zstd(char *err, size_t errlen)
{
	struct archive *a;
	int r;

	/* libarchive reports libzstd only when it was built against it;
	 * without it archive_write_add_filter_zstd would pipe through an
	 * external "zstd" program and return ARCHIVE_WARN. */
	if (!archive_libzstd_version()) {
		set_err(err, errlen, "libarchive %s has no built-in zstd "
		    "(it would run an external zstd program)",
		    archive_version_string());
		return -1;
	}
	if (!(a = archive_write_new())) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	r = archive_write_add_filter_zstd(a);
	if (r != ARCHIVE_OK)
		set_err(err, errlen, "libarchive zstd filter: %s",
		    r == ARCHIVE_WARN ? "external zstd program refused" :
		    archive_error_string(a));
	archive_write_free(a);
	return r == ARCHIVE_OK ? 0 : -1;
}

/* --- writer --- */

struct sink {
	int fd;
	struct hash hash;
	uint64_t bytes;
};

static la_ssize_t
sink_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;
	const char *p = buf;
	size_t left = len;
	ssize_t n;

	while (left > 0) {
		if ((n = write(s->fd, p, left)) < 0) {
			if (errno == EINTR)
				continue;
			archive_set_error(a, errno, "write: %s",
			    strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	hash_update(&s->hash, buf, len);
	s->bytes += len;
	return (la_ssize_t)len;
}

static int
by_name(const void *x, const void *y)
{
	const struct tarball_entry *const *a = x, *const *b = y;

	return strcmp((*a)->name, (*b)->name);
}

static int
check_settings(const struct tarball_settings *s, char *err, size_t errlen)
{
	if (s->mtime < 0 || s->mtime > MTIME_MAX) {
		set_err(err, errlen, "release time %" PRId64 " out of range",
		    s->mtime);
		return -1;
	}
	if (s->level < TARBALL_LEVEL_MIN || s->level > TARBALL_LEVEL_MAX) {
		set_err(err, errlen, "zstd level %d not in %d..%d", s->level,
		    TARBALL_LEVEL_MIN, TARBALL_LEVEL_MAX);
		return -1;
	}
	if (s->threads < 1 || s->threads > TARBALL_THREADS_MAX) {
		set_err(err, errlen, "zstd threads %d not in 1..%d",
		    s->threads, TARBALL_THREADS_MAX);
		return -1;
	}
	return 0;
}

/* Sorts the entries into *OUT and checks their names. */
static int
sort_entries(const struct tarball_entry *entries, size_t n,
	const struct tarball_entry ***out, char *err, size_t errlen)
{
	const struct tarball_entry **v;
	char **names = NULL, q[80];
	size_t i, k;

	*out = NULL;
	for (i = 0; i < n; i++) {
		if (!entries[i].name || !tarball_name_valid(entries[i].name)) {
			set_err(err, errlen, "\"%s\": not a safe member name",
			    entries[i].name ? quote_name(entries[i].name, q,
			    sizeof(q)) : "(null)");
			return -1;
		}
		if (!entries[i].data && !entries[i].path &&
		    entries[i].len > 0) {
			set_err(err, errlen, "%s: neither data nor a file",
			    entries[i].name);
			return -1;
		}
	}
	if (!(v = calloc(n ? n : 1, sizeof(*v))) ||
	    !(names = calloc(n ? n : 1, sizeof(*names)))) {
		free(v);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		v[i] = &entries[i];
	qsort(v, n, sizeof(*v), by_name);
	for (i = 0; i < n; i++)
		names[i] = (char *)v[i]->name;
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(names[i - 1], names[i]) == 0) {
			set_err(err, errlen, "%s: duplicate member name",
			    names[i]);
			goto fail;
		}
		if ((k = parent_conflict(names, n, names[i])) > 0) {
			set_err(err, errlen, "%s: %.*s is also a member",
			    names[i], (int)k, names[i]);
			goto fail;
		}
	}
	free(names);
	*out = v;
	return 0;
fail:
	free(names);
	free(v);
	return -1;
}

static int
write_bytes(struct archive *a, const char *name, const void *data,
	size_t len, char *err, size_t errlen)
{
	const char *p = data;
	la_ssize_t n;

	while (len > 0) {
		if ((n = archive_write_data(a, p, len)) <= 0) {
			set_err(err, errlen, "%s: %s", name,
			    archive_error_string(a) ? archive_error_string(a)
			    : "short write");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies the file of E, which must keep the SIZE it had when opened. */
static int
write_file_data(struct archive *a, const struct tarball_entry *e, int fd,
	uint64_t size, char *err, size_t errlen)
{
	char *buf;
	uint64_t done = 0;
	ssize_t n;
	int rc = -1;

	if (!(buf = malloc(COPY_CHUNK))) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		if ((n = read(fd, buf, COPY_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "%s: %s: %s", e->name, e->path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > size - done) {
			set_err(err, errlen, "%s: %s grew while read",
			    e->name, e->path);
			goto out;
		}
		if (write_bytes(a, e->name, buf, (size_t)n, err, errlen) < 0)
			goto out;
		done += (uint64_t)n;
	}
	if (done != size) {
		set_err(err, errlen, "%s: %s shrank while read", e->name,
		    e->path);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

static int
write_member(struct archive *a, struct archive_entry *ae,
	const struct tarball_entry *e, int64_t mtime, char *err,
	size_t errlen)
{
	struct stat st;
	uint64_t size = e->len;
	int fd = -1, rc = -1;

	if (!e->data && e->path) {
		/* O_NONBLOCK: a FIFO must not hang before S_ISREG. */
		if ((fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
		    O_NOCTTY)) < 0 ||
		    fstat(fd, &st) < 0) {
			set_err(err, errlen, "%s: %s: %s", e->name, e->path,
			    strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			set_err(err, errlen, "%s: %s: not a regular file",
			    e->name, e->path);
			goto out;
		}
		size = (uint64_t)st.st_size;
	}
	/* Only what the SPEC fixes goes into the header: no atime, ctime,
	 * birthtime, owner names or extended attributes are ever set. */
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, MEMBER_MODE);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_size(ae, (la_int64_t)size);
	archive_entry_set_mtime(ae, (time_t)mtime, 0);
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		set_err(err, errlen, "%s: %s", e->name,
		    archive_error_string(a));
		goto out;
	}
	if (fd >= 0)
		rc = write_file_data(a, e, fd, size, err, errlen);
	else
		rc = write_bytes(a, e->name, e->data, e->len, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Opens the libarchive writer with the settings, output to SINK. */
static struct archive *
open_writer(const struct tarball_settings *s, struct sink *sink, char *err,
	size_t errlen)
{
	struct archive *a;
	char level[16], threads[16];
	int r;

	if (!(a = archive_write_new())) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(level, sizeof(level), "%d", s->level);
	snprintf(threads, sizeof(threads), "%d", s->threads);
	/* ARCHIVE_WARN here means libarchive chose an external zstd
	 * program: refused, its output is not ours to vouch for. */
	if ((r = archive_write_add_filter_zstd(a)) != ARCHIVE_OK) {
		set_err(err, errlen, "libarchive zstd filter: %s",
		    r == ARCHIVE_WARN ? "external zstd program refused" :
		    archive_error_string(a));
		goto fail;
	}
	/* An option the filter does not know returns ARCHIVE_WARN: a
	 * setting silently dropped would change the bytes. */
	if (archive_write_set_filter_option(a, "zstd", "compression-level",
	    level) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "zstd", "threads",
	    threads) != ARCHIVE_OK) {
		set_err(err, errlen, "libarchive zstd options: %s",
		    archive_error_string(a));
		goto fail;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, BLOCK_SIZE) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, sink, NULL, sink_write, NULL) !=
	    ARCHIVE_OK) {
		set_err(err, errlen, "libarchive: %s",
		    archive_error_string(a));
		goto fail;
	}
	return a;
fail:
	archive_write_free(a);
	return NULL;
}

int
tarball_write(const char *path, const struct tarball_entry *entries,
	size_t n, const struct tarball_settings *settings,
	char sha256[HASH_HEX_SIZE], uint64_t *bytes, char *err, size_t errlen)
{
	const struct tarball_entry **sorted = NULL;
	struct archive *a = NULL;
	struct archive_entry *ae = NULL;
	struct sink sink = { .fd = -1 };
	char *tmp = NULL, *dir = NULL, *slash, hex[HASH_HEX_SIZE];
	const char *base;
	size_t i, len;
	int r, rc = -1;

	if (!path[0]) {
		set_err(err, errlen, "empty archive path");
		return -1;
	}
	if (check_settings(settings, err, errlen) < 0 ||
	    tarball_check_zstd(err, errlen) < 0 ||
	    sort_entries(entries, n, &sorted, err, errlen) < 0)
		return -1;
	if (!(dir = strdup(path)))
		goto nomem;
	if ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		if (slash == dir)
			strcpy(dir, "/");
		base = path + (slash - dir) + 1;
	} else {
		strcpy(dir, ".");
		base = path;
	}
	len = strlen(dir) + strlen(base) + 16;
	if (!(tmp = malloc(len)))
		goto nomem;
	/* A dot-name in the destination folder: consumers ignore it, and
	 * the rename stays within one file system. */
	snprintf(tmp, len, "%s/.%s.XXXXXX", dir, base);
	if ((sink.fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(sink.fd, FILE_MODE) < 0) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	hash_begin(&sink.hash);
	if (!(a = open_writer(settings, &sink, err, errlen)))
		goto out;
	if (!(ae = archive_entry_new()))
		goto nomem;
	for (i = 0; i < n; i++)
		if (write_member(a, ae, sorted[i], settings->mtime, err,
		    errlen) < 0)
			goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		set_err(err, errlen, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	if (fsync(sink.fd) < 0) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	r = close(sink.fd);
	sink.fd = -1;
	if (r < 0) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (file_sync_dir(dir) < 0) {
		set_err(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	hash_end_hex(&sink.hash, hex);
	if (sha256)
		memcpy(sha256, hex, HASH_HEX_SIZE);
	if (bytes)
		*bytes = sink.bytes;
	rc = 0;
	goto out;
nomem:
	set_err(err, errlen, "out of memory");
out:
	archive_entry_free(ae);
	if (a)
		archive_write_free(a);
	if (sink.fd >= 0)
		close(sink.fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	free(sorted);
	return rc;
}

/* --- reader --- */

/* The zstd stream, decompressed here rather than by libarchive so that
 * every uncompressed byte is counted against the cap before libarchive
 * sees it, and no external program can ever be involved. */
struct source {
	int fd;
	ZSTD_DCtx *dctx;
	unsigned char *inbuf, *outbuf;
	size_t incap, outcap;
	ZSTD_inBuffer in;
	uint64_t total, max_total;
	size_t last;		/* 0 once a frame is complete and flushed */
	int started, eof, pending;
	char err[256];
};

static la_ssize_t
source_read(struct archive *a, void *arg, const void **buf)
{
	struct source *s = arg;
	ZSTD_outBuffer out;
	ssize_t n;
	size_t r;

	for (;;) {
		if (s->in.pos == s->in.size && !s->pending) {
			if (!s->eof) {
				if ((n = read(s->fd, s->inbuf, s->incap)) < 0) {
					if (errno == EINTR)
						continue;
					snprintf(s->err, sizeof(s->err),
					    "read: %s", strerror(errno));
					goto fail;
				}
				if (n > 0) {
					s->in.src = s->inbuf;
					s->in.size = (size_t)n;
					s->in.pos = 0;
					s->started = 1;
					continue;
				}
				s->eof = 1;
			}
			if (!s->started || s->last != 0) {
				snprintf(s->err, sizeof(s->err), "%s",
				    s->started ? "truncated zstd stream" :
				    "empty file, not a zstd stream");
				goto fail;
			}
			return 0;
		}
		if (s->total > s->max_total)
			goto over;
		out.dst = s->outbuf;
		out.pos = 0;
		/* One byte past the cap is enough to know it is passed. */
		out.size = s->outcap;
		if (s->max_total - s->total < (uint64_t)out.size)
			out.size = (size_t)(s->max_total - s->total) + 1;
		r = ZSTD_decompressStream(s->dctx, &out, &s->in);
		if (ZSTD_isError(r)) {
			snprintf(s->err, sizeof(s->err), "zstd: %s",
			    ZSTD_getErrorName(r));
			goto fail;
		}
		s->last = r;
		/* A full buffer may leave output inside the decoder. */
		s->pending = out.pos == out.size;
		if (out.pos > 0) {
			s->total += out.pos;
			if (s->total > s->max_total)
				goto over;
			*buf = s->outbuf;
			return (la_ssize_t)out.pos;
		}
	}
over:
	snprintf(s->err, sizeof(s->err), "more than %" PRIu64
	    " bytes uncompressed", s->max_total);
fail:
	if (a)
		archive_set_error(a, EIO, "%s", s->err);
	return -1;
}

/* The names seen so far, sorted, to refuse duplicates and conflicts. */
struct name_set {
	char **v;
	size_t n, cap;
};

static int
name_set_add(struct name_set *ns, const char *name, char *err,
	size_t errlen)
{
	char key[TARBALL_NAME_MAX + 2];
	size_t pos, k, len = strlen(name);
	char *copy;

	pos = lower_bound(ns->v, ns->n, name);
	if (pos < ns->n && strcmp(ns->v[pos], name) == 0) {
		set_err(err, errlen, "%s: duplicate member", name);
		return -1;
	}
	if ((k = parent_conflict(ns->v, ns->n, name)) > 0) {
		set_err(err, errlen, "%s: %.*s is also a member", name,
		    (int)k, name);
		return -1;
	}
	/* The first name not below "NAME/" is the only one that can start
	 * with it. */
	memcpy(key, name, len);
	memcpy(key + len, "/", 2);
	k = lower_bound(ns->v, ns->n, key);
	if (k < ns->n && strncmp(ns->v[k], key, len + 1) == 0) {
		set_err(err, errlen, "%s: also a folder of member %s", name,
		    ns->v[k]);
		return -1;
	}
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 16;
		char **grown = realloc(ns->v, cap * sizeof(*grown));

		if (!grown)
			goto nomem;
		ns->v = grown;
		ns->cap = cap;
	}
	if (!(copy = strdup(name)))
		goto nomem;
	memmove(ns->v + pos + 1, ns->v + pos, (ns->n - pos) * sizeof(*ns->v));
	ns->v[pos] = copy;
	ns->n++;
	return 0;
nomem:
	set_err(err, errlen, "out of memory");
	return -1;
}

static void
name_set_free(struct name_set *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static const char *
type_name(mode_t type)
{
	switch (type) {
	case AE_IFLNK: return "a symbolic link";
	case AE_IFDIR: return "a folder";
	case AE_IFCHR: return "a character device";
	case AE_IFBLK: return "a block device";
	case AE_IFIFO: return "a FIFO";
	case AE_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

/* Where members go: FN, or (read_all) the growing array of FILES, which
 * takes each member's buffer over. */
struct target {
	tarball_entry_fn *fn;
	void *ctx;
	struct tarball_file *files;
	size_t nfiles, capfiles;
};

static int
deliver(struct target *t, const char *name, unsigned char **data,
	size_t len, char *err, size_t errlen)
{
	struct tarball_file *f;

	if (t->fn)
		return t->fn(t->ctx, name, *data, len, err, errlen);
	if (t->nfiles == t->capfiles) {
		size_t cap = t->capfiles ? 2 * t->capfiles : 8;

		if (!(f = realloc(t->files, cap * sizeof(*f))))
			goto nomem;
		t->files = f;
		t->capfiles = cap;
	}
	f = &t->files[t->nfiles];
	if (!(f->name = strdup(name)))
		goto nomem;
	f->data = *data;
	f->len = len;
	*data = NULL;
	t->nfiles++;
	return 0;
nomem:
	set_err(err, errlen, "out of memory");
	return -1;
}

/* Checks the member AE; NAME is its (not yet trusted) path. */
static int
check_member(struct archive_entry *ae, const char *name, size_t index,
	const struct tarball_limits *lim, char *err, size_t errlen)
{
	char q[80];
	la_int64_t size;

	if (!name) {
		set_err(err, errlen, "member %zu: unreadable name", index);
		return -1;
	}
	/* The type first, the more telling error ("sub/" is a folder);
	 * the name is quoted until it is known to be safe. */
	quote_name(name, q, sizeof(q));
	/* A tar hard link is a regular-file header naming another member. */
	if (archive_entry_hardlink(ae) || archive_entry_symlink(ae)) {
		set_err(err, errlen, "\"%s\": a link, only regular files are "
		    "allowed", q);
		return -1;
	}
	if (archive_entry_filetype(ae) != AE_IFREG) {
		set_err(err, errlen, "\"%s\": %s, only regular files are "
		    "allowed", q, type_name(archive_entry_filetype(ae)));
		return -1;
	}
	if (!tarball_name_valid(name)) {
		set_err(err, errlen, "\"%s\": unsafe member name", q);
		return -1;
	}
	if (archive_entry_sparse_count(ae) > 0) {
		set_err(err, errlen, "%s: a sparse file", name);
		return -1;
	}
	size = archive_entry_size(ae);
	if (!archive_entry_size_is_set(ae) || size < 0) {
		set_err(err, errlen, "%s: no size", name);
		return -1;
	}
	if ((uint64_t)size > lim->max_entry ||
	    (uint64_t)size > lim->max_total) {
		set_err(err, errlen, "%s: %" PRId64 " bytes, over the limit "
		    "of %" PRIu64, name, (int64_t)size,
		    lim->max_entry < lim->max_total ? lim->max_entry :
		    lim->max_total);
		return -1;
	}
	return 0;
}

static int
read_member(struct archive *a, const char *name, size_t size,
	unsigned char **out, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t got = 0;
	la_ssize_t n;

	if (!(buf = malloc(size + 1))) {
		set_err(err, errlen, "%s: out of memory", name);
		return -1;
	}
	while (got < size) {
		if ((n = archive_read_data(a, buf + got, size - got)) <= 0) {
			set_err(err, errlen, "%s: %s", name, n == 0 ?
			    "truncated" : archive_error_string(a));
			free(buf);
			return -1;
		}
		got += (size_t)n;
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

static int
read_archive(int fd, const struct tarball_limits *limits,
	struct target *t, char *err, size_t errlen)
{
	struct tarball_limits lim = {
		TARBALL_DEFAULT_MAX_TOTAL, TARBALL_DEFAULT_MAX_ENTRY,
		TARBALL_DEFAULT_MAX_ENTRIES
	};
	struct source src = { .fd = fd, .last = 1 };
	struct name_set names = { 0 };
	struct archive *a = NULL;
	struct archive_entry *ae;
	unsigned char *data = NULL;
	const char *name;
	const void *skip;
	size_t count = 0;
	la_ssize_t n;
	int r, rc = -1;

	if (limits && limits->max_total)
		lim.max_total = limits->max_total;
	if (limits && limits->max_entry)
		lim.max_entry = limits->max_entry;
	if (limits && limits->max_entries)
		lim.max_entries = limits->max_entries;
	src.max_total = lim.max_total;
	src.incap = ZSTD_DStreamInSize();
	src.outcap = ZSTD_DStreamOutSize();
	if (!(src.dctx = ZSTD_createDCtx()) ||
	    !(src.inbuf = malloc(src.incap)) ||
	    !(src.outbuf = malloc(src.outcap)) ||
	    !(a = archive_read_new())) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	if (ZSTD_isError(ZSTD_DCtx_setParameter(src.dctx,
	    ZSTD_d_windowLogMax, WINDOW_LOG_MAX))) {
		set_err(err, errlen, "zstd: cannot limit the window");
		goto out;
	}
	/* Only tar, and no filter: the data is already decompressed. */
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open(a, &src, NULL, source_read, NULL) !=
	    ARCHIVE_OK)
		goto lib_error;
	for (;;) {
		r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		/* A warning (a name in an odd charset, say) is an error
		 * too: nothing about these archives should need one. */
		if (r != ARCHIVE_OK)
			goto lib_error;
		if (++count > lim.max_entries) {
			set_err(err, errlen, "more than %zu members",
			    lim.max_entries);
			goto out;
		}
		name = archive_entry_pathname(ae);
		if (check_member(ae, name, count, &lim, err, errlen) < 0 ||
		    name_set_add(&names, name, err, errlen) < 0 ||
		    read_member(a, name, (size_t)archive_entry_size(ae),
		    &data, err, errlen) < 0)
			goto out;
		if (deliver(t, name, &data, (size_t)archive_entry_size(ae),
		    err, errlen) < 0)
			goto out;
		free(data);
		data = NULL;
	}
	/* The rest of the stream must still be whole zstd frames within
	 * the cap: a cut file is refused even past the tar's end. */
	while ((n = source_read(NULL, &src, &skip)) > 0)
		;
	if (n < 0) {
		set_err(err, errlen, "%s", src.err);
		goto out;
	}
	rc = 0;
	goto out;
lib_error:
	set_err(err, errlen, "%s", src.err[0] ? src.err :
	    archive_error_string(a) ? archive_error_string(a) :
	    "unreadable archive");
out:
	free(data);
	if (a)
		archive_read_free(a);
	name_set_free(&names);
	ZSTD_freeDCtx(src.dctx);
	free(src.inbuf);
	free(src.outbuf);
	return rc;
}

int
tarball_read_fd(int fd, const struct tarball_limits *limits,
	tarball_entry_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct target t = { .fn = fn, .ctx = ctx };

	return read_archive(fd, limits, &t, err, errlen);
}

int
tarball_read(const char *path, const struct tarball_limits *limits,
	tarball_entry_fn *fn, void *ctx, char *err, size_t errlen)
{
	char msg[512];
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = tarball_read_fd(fd, limits, fn, ctx, msg, sizeof(msg));
	close(fd);
	if (rc < 0)
		set_err(err, errlen, "%s: %s", path, msg);
	return rc;
}

int
tarball_read_all(const char *path, const struct tarball_limits *limits,
	struct tarball_file **out, size_t *n, char *err, size_t errlen)
{
	struct target t = { 0 };
	char msg[512];
	int fd, rc;

	*out = NULL;
	*n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = read_archive(fd, limits, &t, msg, sizeof(msg));
	close(fd);
	if (rc < 0) {
		set_err(err, errlen, "%s: %s", path, msg);
		tarball_files_free(t.files, t.nfiles);
		return -1;
	}
	*out = t.files;
	*n = t.nfiles;
	return 0;
}

void
tarball_files_free(struct tarball_file *files, size_t n)
{
	if (!files)
		return;
	for (size_t i = 0; i < n; i++) {
		free(files[i].name);
		free(files[i].data);
	}
	free(files);
}
