/* cybil-publish's parts: build.c makes a release's files from one read
 * of the store, tree.c keeps the published tree (pointer, pruning,
 * purging, recovery), main.c runs them in the crash-safe order of
 * SPEC §6. */
#ifndef CYBIL_PUBLISH_H
#define CYBIL_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "hash.h"
#include "release.h"
#include "sign.h"
#include "store.h"

#define PROGRAM "cybil-publish"

/* One difference from the last done release, in id order. */
struct diff_entry {
	char id[RELEASE_ID_SIZE];
	unsigned char line_hash[RELEASE_LINE_HASH_BYTES];
	enum release_change_kind kind;
	char reason[RELEASE_REASON_SIZE];
};

/* A release's member file being written (output.c): its size and sha256
 * grow as blocks are handed to the writer thread. */
#define OUTPUT_BLOCK (256 * 1024)
struct writer;

struct output {
	struct writer *w;
	int fd;				/* -1: hashed and counted only */
	char path[4200];
	struct hash hash;		/* complete after output_close */
	uint64_t bytes;
	char *block;
	size_t used;
	bool failed, no_memory;
	int error;
};

/* Starts and stops the writer thread (stopping waits for its work). */
int writer_start(struct writer **w);
void writer_stop(struct writer *w);
/* Creates PATH (or, NULL, counts and hashes only). Returns 0 or -1. */
int output_open(struct output *o, struct writer *w, const char *path);
void output_write(struct output *o, const void *data, size_t len);
/* Waits for the file's blocks, syncs and closes it. Returns 0, or -1
 * after logging; harmless on an output never opened. */
int output_close(struct output *o);

/* A growing string (format.c); FAILED once memory ran out. */
struct text {
	char *p;
	size_t len, cap;
	bool failed;
};
void text_add(struct text *t, const char *data, size_t len);
void text_str(struct text *t, const char *s);

/* Appends one RFC 4180 cell (NULL: empty), with "," or, LAST, CRLF; a
 * cell a spreadsheet would take for a formula gets a leading '. */
void csv_cell(struct text *t, const char *s, bool last);
#define FORMAT_CSV_COLUMNS 13
extern const char *const format_csv_columns[FORMAT_CSV_COLUMNS];

/* The columns of a publishable row, in the order build.c selects them. */
enum row_column {
	ROW_ID, ROW_KIND, ROW_SOURCE, ROW_TITLE, ROW_URL, ROW_FIELDS,
	ROW_BASIS, ROW_CONTENT_SHA256, ROW_CAPTURED_AT, ROW_SOURCE_URL,
	ROW_COLUMNS
};

/* Batches of rows copied from the store, formatted by a worker thread
 * (format.c) into records.jsonl lines, records.csv rows and line
 * hashes. */
struct batch;
struct formatter;

struct formatted {
	const char *id, *source;
	const char *line;		/* no newline */
	size_t line_len;
	const char *csv;		/* with its CRLF */
	size_t csv_len;
	const unsigned char *hash;	/* RELEASE_LINE_HASH_BYTES */
};

struct batch *batch_new(void);
void batch_free(struct batch *b);
void batch_clear(struct batch *b);
size_t batch_rows(const struct batch *b);
/* Copies the current row of S (columns as enum row_column). */
int batch_add_row(struct batch *b, sqlite3_stmt *s);
/* A correction of the row added last. */
int batch_add_correction(struct batch *b, const char *field,
	const char *value);
const char *batch_id(const struct batch *b, size_t i);
/* Row I once formatted; -1 when its fields are not a JSON object or
 * memory ran out. */
int batch_result(const struct batch *b, size_t i, struct formatted *out);

/* At most this many batches are handed over and not yet consumed. */
#define FORMATTER_IN_FLIGHT 4

int formatter_start(struct formatter **f);
/* Hands B to the workers. */
void formatter_submit(struct formatter *f, struct batch *b);
/* Waits until B is formatted. */
void formatter_wait(struct formatter *f, const struct batch *b);
/* Waits for every batch handed over, then ends the workers. */
void formatter_stop(struct formatter *f);

struct publish {
	const struct config *cfg;
	struct store *st;
	struct sign_seckey *sk;
	struct sign_pubkey pub;
	char releases_dir[4096];	/* DIR/releases */
	int64_t serial;			/* the one being made */
	time_t release_time;
	/* Filled by build_release. */
	int64_t previous;		/* last done serial, 0 for none */
	uint64_t previous_records;
	uint64_t records;
	struct diff_entry *diff;
	size_t ndiff;
	size_t added, updated, removed;
	char audit_head[HASH_HEX_SIZE];
	char sums_sha256[HASH_HEX_SIZE];
	uint64_t sums_bytes;
};

/* Makes release P->serial in DIR (releases/.NNNNNN.tmp) from one read
 * transaction, or with DIR NULL only works out the differences (for
 * --dry-run). Returns 0, or an exit status after logging why. */
int build_release(struct publish *p, const char *dir);
void build_free(struct publish *p);

/* Writes the differences in P to the store's published and tombstone
 * tables and marks the release done, in one transaction. */
int build_commit(struct publish *p);
/* Inside a transaction: what one difference does to the published and
 * tombstone tables (a removal's tombstone carries SERIAL), and the
 * release row's last step. Return 0, or -1 (see store_errmsg). */
int build_apply(struct store *st, const struct diff_entry *d,
	int64_t serial);
int build_mark_done(struct store *st, int64_t serial);

/* The published tree. Each returns 0, or an exit status after logging. */

/* Path helpers: DIR/releases/NNNNNN and its .NNNNNN.tmp. */
int tree_release_dir(const struct publish *p, int64_t serial, bool tmp,
	char *buf, size_t len);
/* Writes DIR/NAME durably (temp file, fsync, rename). */
int tree_put_file(const char *dir, const char *name, const char *text);
/* Removes leftovers of an interrupted build (.NNNNNN.tmp folders). */
int tree_clean(const struct publish *p);
/* Reads the current pointer, if there is one (*FOUND false if not). */
int tree_read_pointer(const struct publish *p, struct release_pointer *out,
	bool *found);
/* Points latest.json at release SERIAL (made at CREATED, whose
 * SHA256SUMS is SUMS_SHA256 of SUMS_BYTES) with EXPIRES, listing what is
 * kept and revoked, and then removes the releases beyond [publish]
 * keep. */
int tree_point(struct publish *p, int64_t serial, time_t created,
	const char sums_sha256[HASH_HEX_SIZE], uint64_t sums_bytes,
	const char audit_head[HASH_HEX_SIZE], time_t expires);
/* Points a lost latest.json at the done release SERIAL again. */
int tree_repoint(struct publish *p, int64_t serial, time_t expires);
/* Marks revoked the kept releases older than CURRENT that hold a record
 * now withdrawn or refused (tree_point then deletes them); *PURGED
 * counts them, also when an error is returned after some were marked. */
int tree_purge(struct publish *p, int64_t current, size_t *purged);
/* Finishes a release left "building" by an interrupted run whose
 * folder is in place: the pointer moves to it and the store learns its
 * content from the archive. A reserved serial whose folder never got
 * in place is given in *RESERVED, to be built again; else it is 0. */
int tree_recover(struct publish *p, int64_t *reserved);

#endif
