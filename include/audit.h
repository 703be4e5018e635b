/* The consent audit log of SPEC §4: consent_event rows, append-only and
 * hash-chained. hash = sha256(prev_hash || canonical JSON of the row's
 * other columns), canonical meaning jansson's compact form with sorted
 * keys and nulls kept; the first prev_hash is 64 zeros. */
#ifndef CYBIL_AUDIT_H
#define CYBIL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "store.h"

#define AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* One consent decision. Optional members may be NULL. */
struct consent_change {
	const char *record_id;
	const char *new_state;	/* public granted pending refused withdrawn */
	const char *basis;	/* a code such as owner-consent */
	const char *evidence;	/* sha256 of a file, or a URI */
	const char *expires;	/* RFC 3339, grants only */
	const char *by;
	const char *note;
	const char *at;		/* RFC 3339; NULL: now */
};

/* Appends CHANGE as the next event; the record's consent follows through
 * the schema's trigger. The caller holds a write transaction (BEGIN
 * IMMEDIATE) and commits it with whatever else the decision changed.
 * Returns STORE_OK (and the new head in HASH_OUT unless NULL), STORE_BUSY
 * or STORE_ERROR with a message in ERR. */
int audit_append(struct store *st, const struct consent_change *change,
	char hash_out[HASH_HEX_SIZE], char *err, size_t errlen);

/* The hash of the last event, or AUDIT_GENESIS when there is none. */
int audit_head(struct store *st, char head[HASH_HEX_SIZE]);

/* Checks the whole chain and that every release's recorded head is in it.
 * Returns STORE_OK with *BAD_ID 0 when intact; otherwise *BAD_ID names the
 * first bad event (or -serial for a release whose head vanished) and WHY
 * says what is wrong. */
int audit_verify(struct store *st, int64_t *bad_id, char *why, size_t len);

#endif
