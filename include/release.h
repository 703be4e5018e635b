/* The release format of SPEC §6, written by cybil-publish and checked by
 * cybil-verify and cybil-pull: names, canonical JSON, the signed pointer
 * latest.json, SHA256SUMS, the trusted comments of the signatures, and
 * the reading and checking of a release's archive. man/cybil-release.5
 * describes the format for people.
 *
 * Functions that check return RELEASE_OK, RELEASE_ERROR (I/O or memory:
 * try again) or RELEASE_REFUSED (the release is bad: exit 3), with a
 * message in ERR naming the file, the line and what is wrong. */
#ifndef CYBIL_RELEASE_H
#define CYBIL_RELEASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hash.h"
#include "sign.h"
#include "tarball.h"

enum {
	RELEASE_OK = 0,
	RELEASE_ERROR = -1,
	RELEASE_REFUSED = -2
};

/* The format version, latest.json's "spec". */
#define RELEASE_SPEC 1
#define RELEASE_POINTER "latest.json"
#define RELEASE_SUMS "SHA256SUMS"
#define RELEASE_SIG_SUFFIX ".minisig"
#define RELEASE_DIR "releases"
#define RELEASE_UNTRUSTED "signature from cybil secret key"
/* Serials are six digits: NNNNNN. */
#define RELEASE_SERIAL_MAX 999999
#define RELEASE_SERIAL_SIZE sizeof("NNNNNN")
/* "cybil-NNNNNN.tar.zst" */
#define RELEASE_ARCHIVE_SIZE sizeof("cybil-NNNNNN.tar.zst")
/* Caps on what a consumer reads before it has checked a signature. */
#define RELEASE_POINTER_MAX (64 * 1024)
#define RELEASE_SUMS_MAX (64 * 1024)
#define RELEASE_SIG_MAX (16 * 1024)
/* Clock skew consumers tolerate on "expires". */
#define RELEASE_SKEW_SECONDS (5 * 60)
#define RELEASE_ID_SIZE 33	/* 32 lower-case hex digits */
#define RELEASE_REASON_SIZE 24

/* The archive's members, in the order they are written (sorted). */
enum release_member {
	MEMBER_CHANGES,
	MEMBER_DATAPACKAGE,
	MEMBER_RECORDS_CSV,
	MEMBER_RECORDS_JSONL,
	MEMBER_TOMBSTONES,
	MEMBER_COUNT
};
extern const char *const release_member_names[MEMBER_COUNT];

/* Why a record left the releases: the reason codes of changes.jsonl and
 * tombstones.jsonl. Returns whether REASON is one. */
bool release_reason_valid(const char *reason);

/* NNNNNN, and cybil-NNNNNN.tar.zst, of SERIAL (1..RELEASE_SERIAL_MAX). */
void release_serial_name(int64_t serial, char buf[RELEASE_SERIAL_SIZE]);
void release_archive_name(int64_t serial, char buf[RELEASE_ARCHIVE_SIZE]);

/* The canonical JSON of J (sorted keys, compact, UTF-8), owned; NULL
 * when out of memory. */
char *release_json_dumps(const json_t *j);

/* The trusted comment of a signature over FILE of release SERIAL made at
 * release time T: "timestamp:T<TAB>file:FILE<TAB>serial:NNNNNN". Returns
 * 0, or -1 when BUF is too small. */
int release_trusted_comment(char *buf, size_t len, time_t t,
	const char *file, int64_t serial);
/* Checks that a verified trusted COMMENT names FILE and SERIAL. */
int release_check_trusted(const char *comment, const char *file,
	int64_t serial, const char *what, char *err, size_t errlen);

/* latest.json. */
struct release_pointer {
	int64_t serial;
	time_t created;
	time_t expires;
	char *release_path;		/* "releases/NNNNNN/SHA256SUMS" */
	char sums_sha256[HASH_HEX_SIZE];
	uint64_t sums_bytes;
	int64_t *kept;			/* ascending */
	size_t nkept;
	int64_t *revoked;		/* ascending */
	size_t nrevoked;
	char audit_head[HASH_HEX_SIZE];
};

/* The canonical text of P (a trailing newline included), owned; NULL
 * when out of memory. */
char *release_pointer_text(const struct release_pointer *p);
/* Parses and checks the LEN bytes of a latest.json (WHAT names it). */
int release_pointer_parse(const char *text, size_t len, const char *what,
	struct release_pointer *out, char *err, size_t errlen);
void release_pointer_free(struct release_pointer *p);
/* Verifies the signature SIG (SIGLEN bytes) of the pointer TEXT with any
 * of KEYS, checks its trusted comment, and parses it into *OUT. */
int release_pointer_verify(const char *text, size_t len, const char *sig,
	size_t siglen, const struct sign_pubkey *keys, size_t nkeys,
	const char *what, struct release_pointer *out, char *err,
	size_t errlen);

/* The SHA256SUMS text of a release: "HEX  cybil-NNNNNN.tar.zst\n". */
void release_sums_text(const char archive_sha256[HASH_HEX_SIZE],
	int64_t serial, char *buf, size_t len);

/* What the next release compares to say "updated": a BLAKE2b-256 of a
 * records.jsonl line (without its newline). Internal to publishing, so
 * the fastest sound hash libsodium has, not the sha256 of the format. */
#define RELEASE_LINE_HASH_BYTES 32
void release_line_hash(const char *line, size_t len,
	unsigned char hash[RELEASE_LINE_HASH_BYTES]);

/* One line of records.jsonl: its id, its line hash, and the line itself
 * (no newline) inside the archive's data. */
struct release_record {
	char id[RELEASE_ID_SIZE];
	unsigned char line_hash[RELEASE_LINE_HASH_BYTES];
	const char *line;
	size_t len;
};

enum release_change_kind { CHANGE_ADDED, CHANGE_UPDATED, CHANGE_REMOVED };
extern const char *const release_change_names[3];

struct release_change {
	char id[RELEASE_ID_SIZE];
	enum release_change_kind kind;
	char reason[RELEASE_REASON_SIZE];	/* removals only */
};

struct release_tombstone {
	char id[RELEASE_ID_SIZE];
	char reason[RELEASE_REASON_SIZE];
	int64_t serial;
};

/* A release's archive, read and checked. */
struct release_content {
	int64_t serial;
	int64_t previous;	/* the serial before, 0 for the first */
	struct tarball_file *files;
	size_t nfiles;
	const struct tarball_file *members[MEMBER_COUNT];	/* in FILES */
	struct release_record *records;	/* ascending ids */
	size_t nrecords;
	struct release_change *changes;
	size_t nchanges;
	struct release_tombstone *tombstones;
	size_t ntombstones;
};

/* Reads the archive at PATH, which must be release SERIAL, within LIMITS
 * (NULL: the defaults), and checks it: the members and nothing else,
 * datapackage.json's sizes and hashes of the others, every JSON line
 * with its required fields, ids sorted and unique, and changes and
 * tombstones consistent with the records. */
int release_content_read(const char *path, int64_t serial,
	const struct tarball_limits *limits, struct release_content *out,
	char *err, size_t errlen);
void release_content_free(struct release_content *c);
/* Checks CUR's changes and tombstones against PREV, the release before
 * it: what was added, updated and removed, and that no tombstone was
 * lost. */
int release_content_follows(const struct release_content *prev,
	const struct release_content *cur, char *err, size_t errlen);

/* Checks the release folder DIR (releases/NNNNNN of serial SERIAL):
 * SHA256SUMS signed by one of KEYS for that serial, each file it lists
 * present with its sha256, and the archive's content. *OUT (may be NULL)
 * gets the content. */
int release_verify_dir(const char *dir, int64_t serial,
	const struct sign_pubkey *keys, size_t nkeys,
	const struct tarball_limits *limits, struct release_content *out,
	char *err, size_t errlen);

/* Loads the N public key files at PATHS into an owned *KEYS. */
int release_load_keys(const char *const *paths, size_t n,
	struct sign_pubkey **keys, char *err, size_t errlen);

/* Reads TREE/latest.json and its signature (within the size caps), and
 * verifies and parses them as release_pointer_verify does. */
int release_read_pointer(const char *tree, const struct sign_pubkey *keys,
	size_t nkeys, struct release_pointer *out, char *err,
	size_t errlen);
/* Refuses a pointer that expired before NOW, less the skew allowed. */
int release_pointer_current(const struct release_pointer *p, time_t now,
	const char *what, char *err, size_t errlen);
/* Checks the release the pointer P of TREE names: its SHA256SUMS has
 * the size and sha256 P gives, and the folder passes release_verify_dir.
 * *OUT (may be NULL) gets the content. */
int release_verify_pointed(const char *tree, const struct release_pointer *p,
	const struct sign_pubkey *keys, size_t nkeys,
	const struct tarball_limits *limits, struct release_content *out,
	char *err, size_t errlen);

/* Finds record ID in C; NULL when absent. */
const struct release_record *release_find_record(
	const struct release_content *c, const char *id);

#endif
