/* The blob store: response bodies kept once each under DIR/ab/cdef... by
 * their sha256. A body is written to a temp file in DIR/.tmp/ while it
 * arrives; a batch of finished bodies is made durable together (group
 * commit) before the store rows that name them are committed, so no row
 * ever names a missing blob. */
#ifndef CYBIL_BLOB_H
#define CYBIL_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

struct blob_store;
struct blob_writer;

/* Opens the blob store at DIR (creating it) and removes temp files left
 * by a run that died. Returns 0 and *OUT, or -1 with errno set. */
int blob_store_open(const char *dir, struct blob_store **out);
void blob_store_close(struct blob_store *bs);

/* Starts a body. Returns 0 and *OUT, or -1 with errno set. */
int blob_writer_open(struct blob_store *bs, struct blob_writer **out);
/* Appends LEN bytes. Returns 0, or -1 with errno set. */
int blob_writer_write(struct blob_writer *w, const void *data, size_t len);
uint64_t blob_writer_bytes(const struct blob_writer *w);
/* Closes the temp file and gives the body's sha256; the body joins the
 * next batch. Returns 0, or -1 with errno set (the writer is freed either
 * way). */
int blob_writer_finish(struct blob_writer *w, char hex[HASH_HEX_SIZE]);
/* Throws the body away. */
void blob_writer_discard(struct blob_writer *w);

/* Makes every finished body of the batch durable under its final name:
 * temp data synced, renamed (a body already stored is kept once), names
 * synced. Call before committing the rows that name them. Returns 0, or
 * -1 with errno set (the batch's temp files are then removed). */
int blob_batch_commit(struct blob_store *bs);
size_t blob_batch_size(const struct blob_store *bs);

/* DIR/ab/cdef... for HEX. Returns 0, or -1 if it does not fit SIZE. */
int blob_path(const char *dir, const char *hex, char *buf, size_t size);

#endif
