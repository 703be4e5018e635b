#define _GNU_SOURCE	/* syncfs */
#include "blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

#define TMP_DIR ".tmp"

struct pending_blob {
	char *tmp_path;
	char hex[HASH_HEX_SIZE];
};

struct blob_store {
	char *dir;
	int dir_fd;
	struct pending_blob *batch;
	size_t nbatch, capbatch;
};

struct blob_writer {
	struct blob_store *bs;
	int fd;
	char *tmp_path;
	struct hash hash;
	uint64_t bytes;
};

static char *
join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s/%s", a, b);
	return s;
}

/* Removes what a run that died left in DIR/.tmp. */
static int
sweep_temp_files(int dir_fd)
{
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	if ((fd = openat(dir_fd, TMP_DIR, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return -1;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(fd, e->d_name, 0) < 0 &&
		    errno != ENOENT)
			rc = -1;
	closedir(d);
	return rc;
}

int
blob_store_open(const char *dir, struct blob_store **out)
{
	struct blob_store *bs;
	char *tmp = NULL;
	int saved;

	*out = NULL;
	if (!(bs = calloc(1, sizeof(*bs))))
		return -1;
	bs->dir_fd = -1;
	if (!(bs->dir = strdup(dir)) || !(tmp = join(dir, TMP_DIR "/x")))
		goto fail;
	if (file_make_parent_dirs(tmp) < 0)
		goto fail;
	if ((bs->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto fail;
	if (sweep_temp_files(bs->dir_fd) < 0)
		goto fail;
	free(tmp);
	*out = bs;
	return 0;
fail:
	saved = errno;
	free(tmp);
	blob_store_close(bs);
	errno = saved;
	return -1;
}

static void
drop_batch(struct blob_store *bs)
{
	for (size_t i = 0; i < bs->nbatch; i++) {
		if (bs->batch[i].tmp_path) {
			unlink(bs->batch[i].tmp_path);
			free(bs->batch[i].tmp_path);
		}
	}
	bs->nbatch = 0;
}

void
blob_store_close(struct blob_store *bs)
{
	if (!bs)
		return;
	drop_batch(bs);
	free(bs->batch);
	if (bs->dir_fd >= 0)
		close(bs->dir_fd);
	free(bs->dir);
	free(bs);
}

int
blob_writer_open(struct blob_store *bs, struct blob_writer **out)
{
	struct blob_writer *w;
	int saved;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return -1;
	w->bs = bs;
	if (!(w->tmp_path = join(bs->dir, TMP_DIR "/body.XXXXXX")))
		goto fail;
	/* mkostemp makes the file 0600: captures of pending records are
	 * not for everyone to read. */
	if ((w->fd = mkostemp(w->tmp_path, O_CLOEXEC)) < 0)
		goto fail;
	hash_begin(&w->hash);
	*out = w;
	return 0;
fail:
	saved = errno;
	free(w->tmp_path);
	free(w);
	errno = saved;
	return -1;
}

int
blob_writer_write(struct blob_writer *w, const void *data, size_t len)
{
	hash_update(&w->hash, data, len);
	w->bytes += len;
	return file_write_all(w->fd, data, len);
}

uint64_t
blob_writer_bytes(const struct blob_writer *w)
{
	return w->bytes;
}

void
blob_writer_discard(struct blob_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp_path);
	free(w->tmp_path);
	free(w);
}

int
blob_writer_finish(struct blob_writer *w, char hex[HASH_HEX_SIZE])
{
	struct blob_store *bs = w->bs;
	struct pending_blob *grown;
	int fd = w->fd;

	hash_end_hex(&w->hash, hex);
	w->fd = -1;
	if (close(fd) < 0)
		goto fail;
	if (bs->nbatch == bs->capbatch) {
		size_t cap = bs->capbatch ? 2 * bs->capbatch : 64;

		if (!(grown = realloc(bs->batch, cap * sizeof(*grown))))
			goto fail;
		bs->batch = grown;
		bs->capbatch = cap;
	}
	bs->batch[bs->nbatch].tmp_path = w->tmp_path;
	memcpy(bs->batch[bs->nbatch].hex, hex, HASH_HEX_SIZE);
	bs->nbatch++;
	free(w);
	return 0;
fail:
	blob_writer_discard(w);
	return -1;
}

size_t
blob_batch_size(const struct blob_store *bs)
{
	return bs->nbatch;
}

int
blob_path(const char *dir, const char *hex, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%.2s/%s", dir, hex, hex + 2);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Moves one synced temp file to its final name, unless that body is
 * stored already. */
static int
publish_one(struct blob_store *bs, struct pending_blob *p)
{
	char sub[3], name[HASH_HEX_SIZE + 4];
	struct stat st;

	memcpy(sub, p->hex, 2);
	sub[2] = '\0';
	snprintf(name, sizeof(name), "%s/%s", sub, p->hex + 2);
	if (mkdirat(bs->dir_fd, sub, 0755) < 0 && errno != EEXIST)
		return -1;
	if (fstatat(bs->dir_fd, name, &st, 0) == 0) {
		if (unlink(p->tmp_path) < 0)
			return -1;
	} else if (errno != ENOENT ||
		   renameat(AT_FDCWD, p->tmp_path, bs->dir_fd, name) < 0) {
		return -1;
	}
	free(p->tmp_path);
	p->tmp_path = NULL;
	return 0;
}

int
blob_batch_commit(struct blob_store *bs)
{
	int saved;

	if (bs->nbatch == 0)
		return 0;
	/* One syncfs for the data of the whole batch, renames, one more for
	 * the names: a blob is never visible under its final name before
	 * its contents are on disk. */
	if (syncfs(bs->dir_fd) < 0)
		goto fail;
	for (size_t i = 0; i < bs->nbatch; i++)
		if (publish_one(bs, &bs->batch[i]) < 0)
			goto fail;
	if (syncfs(bs->dir_fd) < 0)
		goto fail;
	bs->nbatch = 0;
	return 0;
fail:
	saved = errno;
	drop_batch(bs);
	errno = saved;
	return -1;
}
