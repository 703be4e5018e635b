/* Unit tests of include/tarball.h: byte-identical archives whatever the
 * order of the entries, a round trip through the reader, what GNU tar
 * sees, hostile archives refused, the zstd level honoured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tarball.h"

#define RELEASE_TIME INT64_C(1700000000)	/* 2023-11-14 22:13:20 UTC */

struct fixture {
	char dir[64];
};

static int
remove_entry(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || hash_init_library() < 0)
		return -1;
	strcpy(fx->dir, "/tmp/cybil-test-tarball-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static char *
path_in(const struct fixture *fx, const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", fx->dir, name);
	return p;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
assert_same_file(const char *a, const char *b)
{
	unsigned char *x, *y;
	size_t nx, ny;

	x = slurp(a, &nx);
	y = slurp(b, &ny);
	assert_int_equal(nx, ny);
	assert_memory_equal(x, y, nx);
	free(x);
	free(y);
}

/* Files in DIR other than the given archives: temp files left over. */
static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static const struct tarball_settings settings = { RELEASE_TIME, 3, 2 };

/* The five members of a release, deliberately out of order. */
static const struct tarball_entry release[] = {
	{ "records.jsonl", "{\"id\":\"a\"}\n{\"id\":\"b\"}\n", 22, NULL },
	{ "datapackage.json", "{\"profile\":\"data-package\"}", 27, NULL },
	{ "tombstones.jsonl", "", 0, NULL },
	{ "records.csv", "id,kind\r\na,news\r\n", 17, NULL },
	{ "changes.jsonl", "{\"added\":\"a\"}\n", 15, NULL },
};
#define NRELEASE (sizeof(release) / sizeof(release[0]))

static void
write_ok(const char *path, const struct tarball_entry *e, size_t n,
	const struct tarball_settings *s, char hex[HASH_HEX_SIZE],
	uint64_t *bytes)
{
	char err[256] = "";
	int rc = tarball_write(path, e, n, s, hex, bytes, err, sizeof(err));

	if (rc != 0)
		fail_msg("tarball_write: %s", err);
}

static void
test_name_valid(void **state)
{
	static const char *good[] = {
		"a", "records.jsonl", "dir/sub/file.txt", "a-b_c+d.e",
		".hidden", "a/..b", "x..y",
	};
	static const char *bad[] = {
		"", "/etc/x", "../x", "a/../b", "..", ".", "a/./b", "a//b",
		"a/", "a\\b", "a b", "a\tb", "a\nb", "caf\xc3\xa9", "a:b",
		"a*b",
	};
	char longname[TARBALL_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!tarball_name_valid(good[i]))
			fail_msg("refused \"%s\"", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tarball_name_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(tarball_name_valid(longname));
	longname[TARBALL_NAME_MAX] = '\0';
	assert_true(tarball_name_valid(longname));
}

static void
test_zstd_built_in(void **state)
{
	char err[256] = "";

	(void)state;
	if (tarball_check_zstd(err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_non_null(tarball_zstd_version());
}

/* Twice the same bytes, and the same bytes for any order of entries; the
 * sha256 and size given are the file's. */
static void
test_deterministic(void **state)
{
	struct fixture *fx = *state;
	struct tarball_entry rev[NRELEASE], rot[NRELEASE];
	char h1[HASH_HEX_SIZE], h2[HASH_HEX_SIZE], h3[HASH_HEX_SIZE],
	    h4[HASH_HEX_SIZE], hf[HASH_HEX_SIZE];
	uint64_t b1, b2, b3, b4;
	unsigned char *data;
	size_t len;
	struct stat st;

	for (size_t i = 0; i < NRELEASE; i++) {
		rev[i] = release[NRELEASE - 1 - i];
		rot[i] = release[(i + 2) % NRELEASE];
	}
	write_ok(path_in(fx, "one.tar.zst"), release, NRELEASE, &settings,
	    h1, &b1);
	/* Some time apart: nothing may come from the clock. */
	sleep(1);
	write_ok(path_in(fx, "two.tar.zst"), release, NRELEASE, &settings,
	    h2, &b2);
	write_ok(path_in(fx, "rev.tar.zst"), rev, NRELEASE, &settings, h3,
	    &b3);
	write_ok(path_in(fx, "rot.tar.zst"), rot, NRELEASE, &settings, h4,
	    &b4);
	assert_same_file(path_in(fx, "one.tar.zst"),
	    path_in(fx, "two.tar.zst"));
	assert_same_file(path_in(fx, "one.tar.zst"),
	    path_in(fx, "rev.tar.zst"));
	assert_same_file(path_in(fx, "one.tar.zst"),
	    path_in(fx, "rot.tar.zst"));
	assert_string_equal(h1, h2);
	assert_string_equal(h1, h3);
	assert_string_equal(h1, h4);
	assert_true(b1 == b2 && b1 == b3 && b1 == b4);

	data = slurp(path_in(fx, "one.tar.zst"), &len);
	hash_sha256_hex(data, len, hf);
	assert_string_equal(h1, hf);
	assert_int_equal(len, b1);
	/* A zstd frame, not padded with anything after it. */
	assert_memory_equal(data, "\x28\xb5\x2f\xfd", 4);
	free(data);

	assert_int_equal(stat(path_in(fx, "one.tar.zst"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* No temp file left beside the four archives. */
	assert_int_equal(count_files(fx->dir), 4);

	/* Overwriting keeps a single file. */
	write_ok(path_in(fx, "one.tar.zst"), rev, NRELEASE, &settings, h2,
	    NULL);
	assert_string_equal(h1, h2);
	assert_int_equal(count_files(fx->dir), 4);
}

/* Another release time gives other bytes; zstd's multi-threaded output
 * does not depend on the number of threads. */
static void
test_settings_change_bytes(void **state)
{
	struct fixture *fx = *state;
	struct tarball_settings later = settings, one = settings,
	    many = settings;
	char h1[HASH_HEX_SIZE], h2[HASH_HEX_SIZE], h3[HASH_HEX_SIZE],
	    h4[HASH_HEX_SIZE];

	later.mtime++;
	one.threads = 1;
	many.threads = 8;
	write_ok(path_in(fx, "a.tar.zst"), release, NRELEASE, &settings, h1,
	    NULL);
	write_ok(path_in(fx, "b.tar.zst"), release, NRELEASE, &later, h2,
	    NULL);
	write_ok(path_in(fx, "c.tar.zst"), release, NRELEASE, &one, h3, NULL);
	write_ok(path_in(fx, "d.tar.zst"), release, NRELEASE, &many, h4,
	    NULL);
	assert_string_not_equal(h1, h2);
	assert_string_equal(h1, h3);
	assert_string_equal(h1, h4);
}

/* Members from memory and from files come back as written, sorted. */
static void
test_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct tarball_entry e[NRELEASE + 2];
	struct tarball_file *files;
	size_t n, biglen = 300000;
	unsigned char *big = malloc(biglen);
	char err[256] = "", hex[HASH_HEX_SIZE];
	static const char *order[] = {
		"changes.jsonl", "data/big.bin", "datapackage.json",
		"records.csv", "records.jsonl", "tombstones.jsonl", "zz.txt",
	};

	assert_non_null(big);
	for (size_t i = 0; i < biglen; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13);
	spit(path_in(fx, "big.src"), big, biglen);
	spit(path_in(fx, "zz.src"), "from a file\n", 12);
	memcpy(e, release, sizeof(release));
	e[NRELEASE] = (struct tarball_entry){ "data/big.bin", NULL, 0,
	    path_in(fx, "big.src") };
	e[NRELEASE + 1] = (struct tarball_entry){ "zz.txt", NULL, 0,
	    path_in(fx, "zz.src") };
	write_ok(path_in(fx, "r.tar.zst"), e, NRELEASE + 2, &settings, hex,
	    NULL);

	if (tarball_read_all(path_in(fx, "r.tar.zst"), NULL, &files, &n, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(n, NRELEASE + 2);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(files[i].name, order[i]);
	assert_int_equal(files[1].len, biglen);
	assert_memory_equal(files[1].data, big, biglen);
	assert_int_equal(files[6].len, 12);
	assert_string_equal((char *)files[6].data, "from a file\n");
	for (size_t i = 0; i < NRELEASE; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (strcmp(files[j].name, release[i].name) == 0)
				break;
		assert_true(j < n);
		assert_int_equal(files[j].len, release[i].len);
		assert_memory_equal(files[j].data, release[i].data,
		    release[i].len);
		/* NUL-terminated for the caller's parsers. */
		assert_int_equal(files[j].data[files[j].len], 0);
	}
	tarball_files_free(files, n);
	free(big);
}

/* An empty archive is valid; so is an empty list. */
static void
test_no_entries(void **state)
{
	struct fixture *fx = *state;
	struct tarball_file *files;
	char err[256] = "";
	size_t n = 99;

	write_ok(path_in(fx, "empty.tar.zst"), NULL, 0, &settings, NULL,
	    NULL);
	if (tarball_read_all(path_in(fx, "empty.tar.zst"), NULL, &files, &n,
	    err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(n, 0);
	tarball_files_free(files, n);
}

struct seen {
	size_t n;
	uint64_t bytes;
	const char *stop_at;
};

static int
count_member(void *ctx, const char *name, const void *data, size_t len,
	char *err, size_t errlen)
{
	struct seen *s = ctx;

	(void)data;
	if (s->stop_at && strcmp(name, s->stop_at) == 0) {
		snprintf(err, errlen, "%s: not wanted", name);
		return -1;
	}
	s->n++;
	s->bytes += len;
	return 0;
}

static void
test_callback(void **state)
{
	struct fixture *fx = *state;
	struct seen s = { 0 };
	char err[256] = "";
	int fd;

	write_ok(path_in(fx, "c.tar.zst"), release, NRELEASE, &settings, NULL,
	    NULL);
	if (tarball_read(path_in(fx, "c.tar.zst"), NULL, count_member, &s,
	    err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(s.n, NRELEASE);
	assert_int_equal(s.bytes, 22 + 27 + 0 + 17 + 15);

	/* The callback's error stops the read and is passed on. */
	memset(&s, 0, sizeof(s));
	s.stop_at = "records.csv";
	assert_int_equal(tarball_read(path_in(fx, "c.tar.zst"), NULL,
	    count_member, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "records.csv: not wanted"));
	assert_int_equal(s.n, 2);	/* changes, datapackage */

	fd = open(path_in(fx, "c.tar.zst"), O_RDONLY);
	assert_true(fd >= 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(tarball_read_fd(fd, NULL, count_member, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.n, NRELEASE);
	close(fd);
}

static int
have_gnu_tar_zstd(void)
{
	FILE *p = popen("tar --version 2>/dev/null | head -n 1", "r");
	char line[128] = "";
	int gnu;

	if (!p)
		return 0;
	gnu = fgets(line, sizeof(line), p) && strstr(line, "GNU tar");
	pclose(p);
	return gnu && system("command -v zstd >/dev/null 2>&1") == 0;
}

/* What another tool sees: owner 0/0, mode 0644, the release time. */
static void
test_gnu_tar_lists(void **state)
{
	struct fixture *fx = *state;
	char cmd[512], line[512];
	FILE *p;
	size_t n = 0;
	static const char *names[] = {
		"changes.jsonl", "datapackage.json", "records.csv",
		"records.jsonl", "tombstones.jsonl",
	};

	/* Not skip(): cmocka 1.1 reports it as "not ok N # SKIP", which
	 * tests/run counts as a failure. */
	if (!have_gnu_tar_zstd()) {
		print_message("# test_gnu_tar_lists: skipped, needs GNU tar "
		    "and the zstd program\n");
		return;
	}
	write_ok(path_in(fx, "t.tar.zst"), release, NRELEASE, &settings, NULL,
	    NULL);
	snprintf(cmd, sizeof(cmd), "TZ=UTC0 tar --zstd --numeric-owner "
	    "--full-time -tvf '%s' 2>&1", path_in(fx, "t.tar.zst"));
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char mode[16], owner[32], date[16], time[16], name[256];
		long size;

		if (sscanf(line, "%15s %31s %ld %15s %15s %255s", mode, owner,
		    &size, date, time, name) != 6)
			fail_msg("unexpected tar output: %s", line);
		assert_true(n < NRELEASE);
		assert_string_equal(mode, "-rw-r--r--");
		assert_string_equal(owner, "0/0");
		assert_string_equal(date, "2023-11-14");
		assert_string_equal(time, "22:13:20");
		assert_string_equal(name, names[n]);
		n++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(n, NRELEASE);

	/* And GNU tar extracts the same contents. */
	snprintf(cmd, sizeof(cmd), "tar --zstd -xOf '%s' records.jsonl",
	    path_in(fx, "t.tar.zst"));
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(line, 1, sizeof(line), p);
	assert_int_equal(pclose(p), 0);
	assert_int_equal(n, 22);
	assert_memory_equal(line, release[0].data, 22);
}

/* A higher level gives a smaller (or equal) file on compressible data. */
static void
test_level(void **state)
{
	struct fixture *fx = *state;
	struct tarball_settings fast = settings, strong = settings;
	struct tarball_entry e;
	static const char *words[] = {
		"harvest", "record", "consent", "public", "source", "review",
		"release", "archive", "serial", "tombstone", "news", "report",
	};
	size_t len = 0, cap = 1 << 20;
	char *text = malloc(cap + 256);
	uint64_t b1, b19;
	unsigned x = 1;

	assert_non_null(text);
	/* JSON lines alike in shape, different in detail, as releases are. */
	while (len < cap) {
		x = x * 1103515245u + 12345u;
		len += (size_t)snprintf(text + len, 256, "{\"id\":\"rec-%06u\","
		    "\"title\":\"%s %s %s\",\"kind\":\"%s\",\"n\":%u}\n",
		    (unsigned)len, words[(x >> 8) % 12], words[(x >> 12) % 12],
		    words[(x >> 16) % 12], words[(x >> 20) % 12], x % 9973);
	}
	e = (struct tarball_entry){ "text.txt", text, len, NULL };
	fast.level = 1;
	strong.level = 19;
	write_ok(path_in(fx, "l1.tar.zst"), &e, 1, &fast, NULL, &b1);
	write_ok(path_in(fx, "l19.tar.zst"), &e, 1, &strong, NULL, &b19);
	assert_true(b19 <= b1);
	assert_true(b19 < len);
	free(text);
}

static void
write_fails(const struct fixture *fx, const struct tarball_entry *e,
	size_t n, const struct tarball_settings *s, const char *want)
{
	char err[256] = "";

	assert_int_equal(tarball_write(path_in(fx, "bad.tar.zst"), e, n, s,
	    NULL, NULL, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(access(path_in(fx, "bad.tar.zst"), F_OK), -1);
}

static void
test_writer_refuses(void **state)
{
	struct fixture *fx = *state;
	struct tarball_settings s = settings;
	static const char *bad[] = {
		"/etc/passwd", "../x", "a/../../b", "a\\b", "", "a//b", "d/",
		"caf\xc3\xa9", "new\nline",
	};
	struct tarball_entry e[2] = {
		{ "a", "x", 1, NULL }, { "a", "y", 1, NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e[0].name = bad[i];
		write_fails(fx, e, 1, &settings, "not a safe member name");
	}
	e[0].name = NULL;
	write_fails(fx, e, 1, &settings, "not a safe member name");
	e[0].name = "a";
	write_fails(fx, e, 2, &settings, "a: duplicate member name");
	e[1].name = "a/b";
	write_fails(fx, e, 2, &settings, "a/b: a is also a member");

	e[0] = (struct tarball_entry){ "f", NULL, 0, path_in(fx, "missing") };
	write_fails(fx, e, 1, &settings, "f: ");
	e[0].path = fx->dir;
	write_fails(fx, e, 1, &settings, "not a regular file");

	s.level = 0;
	write_fails(fx, release, NRELEASE, &s, "zstd level");
	s.level = TARBALL_LEVEL_MAX + 1;
	write_fails(fx, release, NRELEASE, &s, "zstd level");
	s = settings;
	s.threads = 0;
	write_fails(fx, release, NRELEASE, &s, "zstd threads");
	s = settings;
	s.mtime = -1;
	write_fails(fx, release, NRELEASE, &s, "release time");

	/* Nothing left behind by any of them. */
	assert_int_equal(count_files(fx->dir), 0);
}

/* --- hostile archives, made with libarchive directly --- */

struct raw_member {
	const char *name;
	mode_t type;		/* AE_IFREG, AE_IFLNK, AE_IFDIR, ... */
	size_t size;
	const char *symlink;
	const char *hardlink;
};

enum raw_filter { RAW_ZSTD, RAW_NONE, RAW_GZIP };

static void
write_raw(const char *path, const struct raw_member *m, size_t n,
	enum raw_filter filter)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	char *zeros = calloc(1, 4096);

	assert_non_null(a);
	assert_non_null(zeros);
	if (filter == RAW_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	else if (filter == RAW_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, m[i].type);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, RELEASE_TIME, 0);
		if (m[i].symlink)
			archive_entry_set_symlink(e, m[i].symlink);
		if (m[i].hardlink)
			archive_entry_set_hardlink(e, m[i].hardlink);
		archive_entry_set_size(e, (la_int64_t)m[i].size);
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		for (size_t left = m[i].size; left > 0;) {
			size_t k = left < 4096 ? left : 4096;

			assert_int_equal(archive_write_data(a, zeros, k), k);
			left -= k;
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	free(zeros);
}

static void
read_fails(const struct fixture *fx, const char *path,
	const struct tarball_limits *lim, const char *want)
{
	struct tarball_file *files = (void *)1;
	char err[256] = "";
	size_t n = 7;

	(void)fx;
	assert_int_equal(tarball_read_all(path, lim, &files, &n, err,
	    sizeof(err)), -1);
	assert_null(files);
	assert_int_equal(n, 0);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
raw_fails(const struct fixture *fx, const struct raw_member *m, size_t n,
	const struct tarball_limits *lim, const char *want)
{
	const char *path = path_in(fx, "hostile.tar.zst");

	write_raw(path, m, n, RAW_ZSTD);
	read_fails(fx, path, lim, want);
}

static void
test_reader_refuses_types(void **state)
{
	struct fixture *fx = *state;
	struct raw_member m[2] = {
		{ "ok.txt", AE_IFREG, 3, NULL, NULL },
	};

	m[1] = (struct raw_member){ "link", AE_IFLNK, 0, "/etc/passwd",
	    NULL };
	raw_fails(fx, m, 2, NULL, "\"link\": a link");
	m[1] = (struct raw_member){ "hard", AE_IFREG, 0, NULL, "ok.txt" };
	raw_fails(fx, m, 2, NULL, "\"hard\": a link");
	m[1] = (struct raw_member){ "sub", AE_IFDIR, 0, NULL, NULL };
	raw_fails(fx, m, 2, NULL, "\"sub/\": a folder");
	m[1] = (struct raw_member){ "dev", AE_IFCHR, 0, NULL, NULL };
	raw_fails(fx, m, 2, NULL, "\"dev\": a character device");
	m[1] = (struct raw_member){ "fifo", AE_IFIFO, 0, NULL, NULL };
	raw_fails(fx, m, 2, NULL, "\"fifo\": a FIFO");
}

static void
test_reader_refuses_names(void **state)
{
	struct fixture *fx = *state;
	struct raw_member m[2] = {
		{ "ok.txt", AE_IFREG, 3, NULL, NULL },
		{ NULL, AE_IFREG, 3, NULL, NULL },
	};

	m[1].name = "../x";
	raw_fails(fx, m, 2, NULL, "\"../x\": unsafe member name");
	m[1].name = "/etc/x";
	raw_fails(fx, m, 2, NULL, "\"/etc/x\": unsafe member name");
	m[1].name = "a/../../x";
	raw_fails(fx, m, 2, NULL, "unsafe member name");
	m[1].name = "a\\b";
	raw_fails(fx, m, 2, NULL, "\"a\\x5cb\": unsafe member name");
	m[1].name = "bell\a";
	raw_fails(fx, m, 2, NULL, "\"bell\\x07\": unsafe member name");
	m[1].name = "ok.txt";
	raw_fails(fx, m, 2, NULL, "ok.txt: duplicate member");
	m[1].name = "ok.txt/inner";
	raw_fails(fx, m, 2, NULL, "ok.txt/inner: ok.txt is also a member");
	m[0].name = "dir/file";
	m[1].name = "dir";
	raw_fails(fx, m, 2, NULL, "dir: also a folder of member dir/file");
}

static void
test_reader_limits(void **state)
{
	struct fixture *fx = *state;
	struct raw_member m[4] = {
		{ "a", AE_IFREG, 100, NULL, NULL },
		{ "b", AE_IFREG, 101, NULL, NULL },
		{ "c", AE_IFREG, 10, NULL, NULL },
		{ "d", AE_IFREG, 10, NULL, NULL },
	};
	struct tarball_limits lim = { 0, 100, 0 };
	struct tarball_file *files;
	char err[256] = "";
	size_t n;

	raw_fails(fx, m, 2, &lim, "b: 101 bytes, over the limit of 100");
	lim = (struct tarball_limits){ 0, 0, 3 };
	raw_fails(fx, m, 4, &lim, "more than 3 members");
	/* Three members: 3 headers, 3 padded data blocks, the end. */
	lim = (struct tarball_limits){ 8 * 512 - 1, 0, 0 };
	raw_fails(fx, m, 3, &lim, "more than 4095 bytes uncompressed");

	/* The largest cap there is does not overflow. */
	lim = (struct tarball_limits){ UINT64_MAX, UINT64_MAX, SIZE_MAX };
	if (tarball_read_all(path_in(fx, "hostile.tar.zst"), &lim, &files,
	    &n, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(n, 3);
	tarball_files_free(files, n);

	/* Limits exactly met are fine. */
	lim = (struct tarball_limits){ 8 * 512, 101, 3 };
	if (tarball_read_all(path_in(fx, "hostile.tar.zst"), &lim, &files,
	    &n, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(n, 3);
	tarball_files_free(files, n);
}

/* A small zstd file that inflates far beyond the caps is stopped by
 * them, before its data is all decompressed. */
static void
test_reader_bomb(void **state)
{
	struct fixture *fx = *state;
	struct raw_member one = { "zeros", AE_IFREG, (size_t)64 << 20, NULL,
	    NULL }, many[64];
	struct tarball_limits lim = { 0, (uint64_t)1 << 20, 0 };
	char name[64][8];
	struct stat st;

	write_raw(path_in(fx, "bomb.tar.zst"), &one, 1, RAW_ZSTD);
	assert_int_equal(stat(path_in(fx, "bomb.tar.zst"), &st), 0);
	assert_true(st.st_size < 64 * 1024);
	read_fails(fx, path_in(fx, "bomb.tar.zst"), &lim,
	    "zeros: 67108864 bytes, over the limit of 1048576");
	/* A member larger than the whole cap is refused before any
	 * memory is set aside for it. */
	lim = (struct tarball_limits){ (uint64_t)1 << 20, (uint64_t)1 << 30,
	    0 };
	read_fails(fx, path_in(fx, "bomb.tar.zst"), &lim,
	    "zeros: 67108864 bytes, over the limit of 1048576");

	/* Members each within their limit, together beyond the total. */
	for (size_t i = 0; i < 64; i++) {
		snprintf(name[i], sizeof(name[i]), "z%02zu", i);
		many[i] = (struct raw_member){ name[i], AE_IFREG, 1 << 20,
		    NULL, NULL };
	}
	write_raw(path_in(fx, "bomb.tar.zst"), many, 64, RAW_ZSTD);
	lim = (struct tarball_limits){ (uint64_t)16 << 20, 0, 0 };
	read_fails(fx, path_in(fx, "bomb.tar.zst"), &lim,
	    "more than 16777216 bytes uncompressed");
}

static void
test_reader_refuses_streams(void **state)
{
	struct fixture *fx = *state;
	struct raw_member m = { "a", AE_IFREG, 5000, NULL, NULL };
	unsigned char *data;
	size_t len;

	/* Not zstd: a plain tar, a gzipped tar, an empty file, text. */
	write_raw(path_in(fx, "plain.tar"), &m, 1, RAW_NONE);
	read_fails(fx, path_in(fx, "plain.tar"), NULL, "zstd: ");
	write_raw(path_in(fx, "gz.tar.gz"), &m, 1, RAW_GZIP);
	read_fails(fx, path_in(fx, "gz.tar.gz"), NULL, "zstd: ");
	spit(path_in(fx, "empty"), "", 0);
	read_fails(fx, path_in(fx, "empty"), NULL, "not a zstd stream");
	read_fails(fx, path_in(fx, "missing"), NULL, "No such file");

	/* zstd, but not a tar. */
	write_ok(path_in(fx, "ok.tar.zst"), release, NRELEASE, &settings,
	    NULL, NULL);
	if (system("command -v zstd >/dev/null 2>&1") == 0) {
		char cmd[512];

		spit(path_in(fx, "text"), "hello, world\n", 13);
		snprintf(cmd, sizeof(cmd), "zstd -q -o '%s' '%s'",
		    path_in(fx, "text.zst"), path_in(fx, "text"));
		assert_int_equal(system(cmd), 0);
		read_fails(fx, path_in(fx, "text.zst"), NULL, "");
	}

	/* Cut short, or with junk after the frame. */
	data = slurp(path_in(fx, "ok.tar.zst"), &len);
	spit(path_in(fx, "cut.tar.zst"), data, len - 3);
	read_fails(fx, path_in(fx, "cut.tar.zst"), NULL,
	    "truncated zstd stream");
	spit(path_in(fx, "cut.tar.zst"), data, len / 2);
	read_fails(fx, path_in(fx, "cut.tar.zst"), NULL, "");
	data = realloc(data, len + 8);
	assert_non_null(data);
	memcpy(data + len, "trailing", 8);
	spit(path_in(fx, "junk.tar.zst"), data, len + 8);
	read_fails(fx, path_in(fx, "junk.tar.zst"), NULL, "zstd: ");
	/* A flipped byte inside the frame. */
	data[len / 2] ^= 0x55;
	spit(path_in(fx, "flip.tar.zst"), data, len);
	read_fails(fx, path_in(fx, "flip.tar.zst"), NULL, "");
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_zstd_built_in),
		cmocka_unit_test_setup_teardown(test_deterministic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_settings_change_bytes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_entries, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_callback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gnu_tar_lists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reader_refuses_types,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_refuses_names,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reader_bomb, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reader_refuses_streams,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
