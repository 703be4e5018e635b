/* The portal manager's decisions (SPEC §5): consent, corrections and
 * suggestions. cybil-review and the web console both call these, so a
 * decision is the same transaction and the same audit rows wherever it is
 * made. Each function runs one transaction under BEGIN IMMEDIATE: all of
 * it happens, or nothing does. */
#ifndef CYBIL_REVIEW_H
#define CYBIL_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "store.h"

/* Returned besides STORE_OK, STORE_BUSY and STORE_ERROR: the request
 * itself is wrong (unknown id, missing evidence, bad state ...); the
 * message says what and nothing changed. */
#define REVIEW_INVALID (-10)

enum review_action {
	REVIEW_GRANT,		/* owner consent: evidence required */
	REVIEW_PUBLIC,		/* publicly available: the URL required */
	REVIEW_REFUSE,
	REVIEW_WITHDRAW,
	REVIEW_RESET,		/* back to pending */
};

struct review_decision {
	enum review_action action;
	const char *by;		/* who decides; required */
	const char *note;	/* free text, never published */
	/* GRANT: the sha256 of an evidence file (review_store_evidence)
	 * or a URI; PUBLIC: the http(s) URL where the record is public. */
	const char *evidence;
	const char *expires;	/* GRANT only: RFC 3339 or a date, or NULL */
};

/* Whether S is a URI: a scheme, then ':' and more (RFC 3986 §3.1). */
bool review_is_uri(const char *s);

/* The action named NAME ("grant", "public", "refuse", "withdraw",
 * "reset"); -1 if none. */
int review_action_from_name(const char *name);
/* The consent state ACTION leads to, and the basis code its event has. */
const char *review_action_state(enum review_action action);
const char *review_action_basis(enum review_action action);

/* Applies D to the N records IDS. A record already in the state the
 * action leads to is left alone, except for grant and public, which
 * record their new evidence. *CHANGED (may be NULL) counts the events
 * written. */
int review_decide(struct store *st, const char *const *ids, size_t n,
	const struct review_decision *d, size_t *changed, char *err,
	size_t errlen);

/* The ids of every record of SOURCE, for --source NAME --all: a
 * malloc'd array of malloc'd strings (review_free_ids). */
int review_source_ids(struct store *st, const char *source, char ***ids,
	size_t *n, char *err, size_t errlen);
void review_free_ids(char **ids, size_t n);

/* Copies the file PATH into the evidence store DIR (by sha256, durable
 * before this returns) and gives its sha256. Returns 0, or -1 with a
 * message in ERR. */
int review_store_evidence(const char *dir, const char *path,
	char hex[HASH_HEX_SIZE], char *err, size_t errlen);

/* Whether some decision names the evidence file HEX. */
bool review_evidence_known(struct store *st, const char *hex);
/* Removes the evidence file HEX stored for a decision that then failed,
 * unless an earlier event names it. */
void review_drop_unused_evidence(struct store *st, const char *dir,
	const char *hex);

/* Grants whose expiry is at or before NOW (RFC 3339) become pending,
 * each with an event of basis "expired" by BY. */
int review_expire(struct store *st, const char *now, const char *by,
	size_t *expired, char *err, size_t errlen);

/* Sets the manual VALUE of FIELD of record ID ("title", "url" or a key
 * of its fields), kept over re-harvests; the hash of the harvested value
 * it replaces is kept, so that a later change at the source is flagged
 * (review_harvested_hash). */
int review_correct(struct store *st, const char *id, const char *field,
	const char *value, const char *by, const char *note, char *err,
	size_t errlen);
/* Removes the correction of FIELD: the harvested value shows again. */
int review_uncorrect(struct store *st, const char *id, const char *field,
	char *err, size_t errlen);

/* Records a "Suggest a page edit" for record ID; *SUGGESTION_ID gets its
 * number. CONTACT is required and never published. */
int review_suggest(struct store *st, const char *id, const char *field,
	const char *value, const char *contact, const char *note,
	int64_t *suggestion_id, char *err, size_t errlen);
/* Accepts a pending suggestion (it becomes a correction by BY) or
 * rejects it. */
int review_accept(struct store *st, int64_t suggestion_id, const char *by,
	const char *note, char *err, size_t errlen);
int review_reject(struct store *st, int64_t suggestion_id, const char *by,
	const char *note, char *err, size_t errlen);

/* The sha256 of FIELD's harvested value in the record's title, url and
 * fields: the canonical JSON of the value ("null" when absent). Returns 0,
 * or -1 when out of memory. FIELDS_JSON is the record's fields column. */
int review_harvested_hash(const char *title, const char *url,
	const char *fields_json, const char *field, char hex[HASH_HEX_SIZE]);

#endif
