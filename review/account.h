/* The console's accounts, kept in the store: a name and the
 * crypto_pwhash_str hash of its password. */
#ifndef CYBIL_REVIEW_ACCOUNT_H
#define CYBIL_REVIEW_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define ACCOUNT_NAME_MAX 64
#define ACCOUNT_PASSWORD_MIN 8
#define ACCOUNT_PASSWORD_MAX 1024

/* A name of 1 to ACCOUNT_NAME_MAX letters, digits, '.', '_', '-' or '@'. */
bool account_name_valid(const char *name);

/* Creates NAME or changes its password. Returns STORE_OK, STORE_BUSY,
 * STORE_ERROR or REVIEW_INVALID, with a message in ERR. */
int account_set(struct store *st, const char *name, const char *password,
	char *err, size_t errlen);

/* Whether PASSWORD is NAME's. An unknown name costs the same time as a
 * wrong password. Returns 1 (yes), 0 (no), or -1 on a store error. */
int account_check(struct store *st, const char *name, const char *password);

/* How many accounts there are, or -1 on a store error. */
long account_count(struct store *st);

#endif
