/* Console accounts. The hash is libsodium's crypto_pwhash_str (Argon2id,
 * interactive limits): salted, and self-describing, so that the limits can
 * be raised later without breaking stored hashes. */
#include <string.h>

#include <sodium.h>

#include "account.h"
#include "date.h"
#include "review.h"

bool
account_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= ACCOUNT_NAME_MAX &&
		strspn(name, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") == n;
}

int
account_set(struct store *st, const char *name, const char *password,
	char *err, size_t errlen)
{
	char hash[crypto_pwhash_STRBYTES], now[DATE_RFC3339_SIZE];
	size_t len = strlen(password);
	sqlite3_stmt *s = NULL;
	int rc;

	if (!account_name_valid(name)) {
		snprintf(err, errlen, "%s: an account name is 1 to %d letters, "
			"digits, '.', '_', '-' or '@'", name, ACCOUNT_NAME_MAX);
		return REVIEW_INVALID;
	}
	if (len < ACCOUNT_PASSWORD_MIN || len > ACCOUNT_PASSWORD_MAX) {
		snprintf(err, errlen, "a password has %d to %d bytes",
			ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
		return REVIEW_INVALID;
	}
	if (crypto_pwhash_str(hash, password, len,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, errlen, "hashing the password: out of memory");
		return STORE_ERROR;
	}
	date_format_utc(time(NULL), now);
	if (sqlite3_prepare_v2(store_db(st), "INSERT INTO account"
	    " (name, hash, created, changed) VALUES (?1, ?2, ?3, ?3)"
	    " ON CONFLICT (name) DO UPDATE SET hash = ?2, changed = ?3", -1,
	    &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 3, now, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = STORE_ERROR;
		goto out;
	}
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? STORE_OK : rc == SQLITE_BUSY ? STORE_BUSY :
		STORE_ERROR;
out:
	if (rc != STORE_OK)
		snprintf(err, errlen, "%s: %s", store_path(st),
			sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int
account_check(struct store *st, const char *name, const char *password)
{
	/* Verified when NAME is unknown, so that both cost the same. */
	static char dummy[crypto_pwhash_STRBYTES];
	sqlite3_stmt *s = NULL;
	const char *hash;
	int rc = -1, step;

	if (!dummy[0] && crypto_pwhash_str(dummy, "-", 1,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return -1;
	if (sqlite3_prepare_v2(store_db(st), "SELECT hash FROM account"
	    " WHERE name = ?1", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	step = sqlite3_step(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		goto out;
	hash = step == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) :
		NULL;
	if (crypto_pwhash_str_verify(hash ? hash : dummy, password,
	    strlen(password)) == 0)
		rc = hash != NULL;
	else
		rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

long
account_count(struct store *st)
{
	sqlite3_stmt *s = NULL;
	long n = -1;

	if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM account",
	    -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}
