/* The member files of a release, written in large blocks by a second
 * thread that also hashes them: a release's sha256 sums and its writes
 * then overlap with the formatting of the records. One writer serves all
 * outputs in order, so each file's blocks are hashed and written in the
 * order they were made. At most WRITER_BLOCKS blocks exist at once. */
#include "publish.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "log.h"

#define WRITER_BLOCKS 8

struct job {
	struct output *o;
	char *block;
	size_t len;
};

struct writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job jobs[WRITER_BLOCKS];
	size_t head, njobs, outstanding;
	char *spare[WRITER_BLOCKS];
	size_t nspare, allocated;
	bool stop;
};

static void
run_job(const struct job *j)
{
	struct output *o = j->o;

	hash_update(&o->hash, j->block, j->len);
	if (o->fd >= 0 && !o->failed && file_write_all(o->fd, j->block,
	    j->len) < 0) {
		o->error = errno;
		o->failed = true;
	}
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct job j;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->njobs == 0 && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->njobs == 0)
			break;
		j = w->jobs[w->head];
		w->head = (w->head + 1) % WRITER_BLOCKS;
		w->njobs--;
		pthread_mutex_unlock(&w->mu);
		run_job(&j);
		pthread_mutex_lock(&w->mu);
		w->spare[w->nspare++] = j.block;
		w->outstanding--;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
writer_start(struct writer **out)
{
	struct writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return -1;
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		free(w);
		return -1;
	}
	if (pthread_cond_init(&w->cv, NULL) != 0) {
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -1;
	}
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -1;
	}
	*out = w;
	return 0;
}

void
writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	for (size_t i = 0; i < w->nspare; i++)
		free(w->spare[i]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* A free block: a spare one, a new one while fewer than WRITER_BLOCKS
 * exist, else the next one the writer finishes with. */
static char *
take_block(struct writer *w)
{
	char *block = NULL;

	pthread_mutex_lock(&w->mu);
	while (w->nspare == 0 && w->allocated == WRITER_BLOCKS)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->nspare > 0)
		block = w->spare[--w->nspare];
	else if ((block = malloc(OUTPUT_BLOCK)))
		w->allocated++;
	pthread_mutex_unlock(&w->mu);
	return block;
}

static void
hand_over(struct output *o)
{
	struct writer *w = o->w;

	pthread_mutex_lock(&w->mu);
	w->jobs[(w->head + w->njobs) % WRITER_BLOCKS] = (struct job){
		.o = o, .block = o->block, .len = o->used,
	};
	w->njobs++;
	w->outstanding++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	o->bytes += o->used;
	o->block = NULL;
	o->used = 0;
}

/* Waits until the writer has done every block handed to it. */
static void
drain(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->outstanding > 0)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

int
output_open(struct output *o, struct writer *w, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->w = w;
	o->fd = -1;
	hash_begin(&o->hash);
	if (!(o->block = take_block(w))) {
		log_error("out of memory");
		return -1;
	}
	if (!path)
		return 0;
	snprintf(o->path, sizeof(o->path), "%s", path);
	if ((o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) < 0) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void
output_write(struct output *o, const void *data, size_t len)
{
	const char *p = data;
	size_t n;

	while (len > 0 && !o->no_memory) {
		if (!o->block && !(o->block = take_block(o->w))) {
			o->no_memory = true;
			return;
		}
		n = OUTPUT_BLOCK - o->used < len ? OUTPUT_BLOCK - o->used : len;
		memcpy(o->block + o->used, p, n);
		o->used += n;
		p += n;
		len -= n;
		if (o->used == OUTPUT_BLOCK)
			hand_over(o);
	}
}

int
output_close(struct output *o)
{
	int rc = 0;

	if (!o->w)
		return 0;
	if (o->block && o->used)
		hand_over(o);
	drain(o->w);
	if (o->block) {
		/* An unused block goes back to the pool. */
		pthread_mutex_lock(&o->w->mu);
		o->w->spare[o->w->nspare++] = o->block;
		pthread_cond_broadcast(&o->w->cv);
		pthread_mutex_unlock(&o->w->mu);
		o->block = NULL;
	}
	o->w = NULL;
	if (o->no_memory) {
		log_error("%s: out of memory", o->path);
		rc = -1;
	}
	if (o->fd < 0)
		return rc;
	if (o->failed || fsync(o->fd) != 0) {
		log_error("%s: %s", o->path, strerror(o->failed ? o->error :
			errno));
		rc = -1;
	}
	if (close(o->fd) != 0 && rc == 0) {
		log_error("%s: %s", o->path, strerror(errno));
		rc = -1;
	}
	o->fd = -1;
	return rc;
}
