/* Unit tests of include/blob.h: bodies by sha256, temp files swept, a
 * body stored once, nothing visible before the batch commits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"

struct fixture {
	char dir[64];
	char blobs[128];
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

	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/cybil-test-blob-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->blobs, sizeof(fx->blobs), "%s/var/blobs", fx->dir);
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

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
store_body(struct blob_store *bs, const char *body, char hex[HASH_HEX_SIZE])
{
	struct blob_writer *w;

	assert_int_equal(blob_writer_open(bs, &w), 0);
	/* In two pieces, as bodies arrive. */
	assert_int_equal(blob_writer_write(w, body, 3), 0);
	assert_int_equal(blob_writer_write(w, body + 3, strlen(body) - 3), 0);
	assert_int_equal(blob_writer_bytes(w), strlen(body));
	assert_int_equal(blob_writer_finish(w, hex), 0);
}

static void
read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
test_body_lands_under_its_hash(void **state)
{
	struct fixture *fx = *state;
	struct blob_store *bs;
	char hex[HASH_HEX_SIZE], expect[HASH_HEX_SIZE], path[512], got[64];
	const char *body = "<rss>hello</rss>";
	struct stat st;

	assert_int_equal(blob_store_open(fx->blobs, &bs), 0);
	store_body(bs, body, hex);
	hash_sha256_hex(body, strlen(body), expect);
	assert_string_equal(hex, expect);
	assert_int_equal(blob_path(fx->blobs, hex, path, sizeof(path)), 0);
	/* Not under its name before the batch commits. */
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(blob_batch_size(bs), 1);
	assert_int_equal(blob_batch_commit(bs), 0);
	assert_int_equal(blob_batch_size(bs), 0);
	read_file(path, got, sizeof(got));
	assert_string_equal(got, body);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(strstr(path, "/var/blobs/"));
	assert_int_equal(path[strlen(fx->blobs) + 3], '/');
	blob_store_close(bs);
}

static void
test_identical_bodies_stored_once(void **state)
{
	struct fixture *fx = *state;
	struct blob_store *bs;
	char a[HASH_HEX_SIZE], b[HASH_HEX_SIZE], c[HASH_HEX_SIZE], sub[200];

	assert_int_equal(blob_store_open(fx->blobs, &bs), 0);
	store_body(bs, "same body", a);
	store_body(bs, "same body", b);
	assert_int_equal(blob_batch_commit(bs), 0);
	store_body(bs, "same body", c);
	assert_int_equal(blob_batch_commit(bs), 0);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	snprintf(sub, sizeof(sub), "%s/%.2s", fx->blobs, a);
	assert_int_equal(count_entries(sub), 1);
	snprintf(sub, sizeof(sub), "%s/.tmp", fx->blobs);
	assert_int_equal(count_entries(sub), 0);
	blob_store_close(bs);
}

static void
test_discard_and_close_leave_no_temp(void **state)
{
	struct fixture *fx = *state;
	struct blob_store *bs;
	struct blob_writer *w;
	char hex[HASH_HEX_SIZE], tmp[200];

	assert_int_equal(blob_store_open(fx->blobs, &bs), 0);
	assert_int_equal(blob_writer_open(bs, &w), 0);
	assert_int_equal(blob_writer_write(w, "partial", 7), 0);
	blob_writer_discard(w);
	blob_writer_discard(NULL);
	store_body(bs, "never committed", hex);
	blob_store_close(bs);	/* drops the uncommitted batch */
	snprintf(tmp, sizeof(tmp), "%s/.tmp", fx->blobs);
	assert_int_equal(count_entries(tmp), 0);
	assert_int_equal(count_entries(fx->blobs), 0);
}

static void
test_open_sweeps_leftover_temp_files(void **state)
{
	struct fixture *fx = *state;
	struct blob_store *bs;
	char tmp[200], leftover[256];
	FILE *f;

	assert_int_equal(blob_store_open(fx->blobs, &bs), 0);
	blob_store_close(bs);
	snprintf(tmp, sizeof(tmp), "%s/.tmp", fx->blobs);
	snprintf(leftover, sizeof(leftover), "%s/body.dead01", tmp);
	assert_non_null(f = fopen(leftover, "w"));
	fputs("half a body", f);
	fclose(f);
	assert_int_equal(count_entries(tmp), 1);
	assert_int_equal(blob_store_open(fx->blobs, &bs), 0);
	assert_int_equal(count_entries(tmp), 0);
	blob_store_close(bs);
}

static void
test_empty_body(void **state)
{
	struct fixture *fx = *state;
	struct blob_store *bs;
	struct blob_writer *w;
	char hex[HASH_HEX_SIZE];

	assert_int_equal(blob_store_open(fx->blobs, &bs), 0);
	assert_int_equal(blob_writer_open(bs, &w), 0);
	assert_int_equal(blob_writer_finish(w, hex), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
		"27ae41e4649b934ca495991b7852b855");
	assert_int_equal(blob_batch_commit(bs), 0);
	blob_store_close(bs);
}

static void
test_blob_path_bounds(void **state)
{
	char small[16];

	(void)state;
	assert_int_equal(blob_path("/very/long/folder", "abcdef", small,
		sizeof(small)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_body_lands_under_its_hash,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_identical_bodies_stored_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_discard_and_close_leave_no_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_open_sweeps_leftover_temp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_body, setup,
			teardown),
		cmocka_unit_test(test_blob_path_bounds),
	};

	if (hash_init_library() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
