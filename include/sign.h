/* Keys and signatures in minisign's format (SPEC §6 "Signatures"), made
 * and checked with libsodium, so that `minisign -V` verifies what
 * cybil-publish signs and cybil-verify and cybil-pull verify what minisign
 * signs. Signatures are "ED": Ed25519 over the BLAKE2b-512 of the content,
 * plus a global signature over (signature || trusted comment) so the
 * trusted comment cannot be altered. Legacy "Ed" signatures (Ed25519 over
 * the content itself) are verified, never made. Secret keys are the
 * unencrypted kind `minisign -G -W` writes: cybil signs unattended.
 *
 * hash_init_library() must have run first. Every function returns
 * SIGN_OK or one of the negative sign_status values, with a message in
 * ERR naming the file, the line and what is wrong; none prints. */
#ifndef CYBIL_SIGN_H
#define CYBIL_SIGN_H

#include <sodium.h>
#include <stddef.h>

#define SIGN_KEYID_BYTES 8
/* The key id as minisign prints it: 16 upper-case hex digits. */
#define SIGN_KEYID_HEX_SIZE (2 * SIGN_KEYID_BYTES + 1)
/* The base64 line of a public key ("RW..."), as `minisign -P` takes it. */
#define SIGN_PUBKEY_BASE64_SIZE sodium_base64_ENCODED_LEN( \
	2 + SIGN_KEYID_BYTES + crypto_sign_PUBLICKEYBYTES, \
	sodium_base64_VARIANT_ORIGINAL)
/* The longest comments minisign itself reads back (its line buffers are
 * 1024 and 8192 bytes, prefix and newline included). */
#define SIGN_UNTRUSTED_MAX 1000
#define SIGN_TRUSTED_MAX 8000

enum sign_status {
	SIGN_OK = 0,
	SIGN_ERROR = -1,	/* I/O or memory */
	SIGN_MALFORMED = -2,	/* not a minisign key or signature */
	SIGN_UNKNOWN_KEY = -3,	/* signed by a key we were not given */
	SIGN_BAD_SIGNATURE = -4, /* the content does not match */
	SIGN_BAD_COMMENT = -5,	/* the trusted comment does not match */
	SIGN_EXISTS = -6,	/* key generation would overwrite a file */
	SIGN_ENCRYPTED = -7	/* secret key needs a password */
};

struct sign_pubkey {
	unsigned char keyid[SIGN_KEYID_BYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
};

/* Kept in libsodium's guarded memory, wiped when freed. */
struct sign_seckey;

/* Makes a key pair with a random key id and writes the public key to
 * PUB_PATH (mode 0644) and the unencrypted secret key to SEC_PATH (mode
 * 0600), each durably (temp file, fsync, link into place). Never replaces
 * an existing file: SIGN_EXISTS if either exists, and then nothing is
 * written. *PUBO (may be NULL) gets the public key. */
int sign_keygen(const char *pub_path, const char *sec_path,
	struct sign_pubkey *pubo, char *err, size_t errlen);

/* Reads an unencrypted minisign secret key file and checks its checksum.
 * An encrypted key gives SIGN_ENCRYPTED. Returns SIGN_OK and an owned
 * *OUT, to be released with sign_seckey_free. */
int sign_seckey_load(const char *path, struct sign_seckey **out, char *err,
	size_t errlen);
/* The same from the LEN bytes of a key file's text; WHAT names it in
 * messages. */
int sign_seckey_parse(const char *text, size_t len, const char *what,
	struct sign_seckey **out, char *err, size_t errlen);
void sign_seckey_free(struct sign_seckey *sk);
/* The public half, for checking a secret key against a published key. */
void sign_seckey_pubkey(const struct sign_seckey *sk,
	struct sign_pubkey *pub);

/* Reads a minisign public key file. */
int sign_pubkey_load(const char *path, struct sign_pubkey *out, char *err,
	size_t errlen);
/* The LEN bytes of a public key file, or its bare base64 line (what
 * `minisign -P` takes); WHAT names it in messages. */
int sign_pubkey_parse(const char *text, size_t len, const char *what,
	struct sign_pubkey *out, char *err, size_t errlen);
/* The base64 line of PUB, NUL-terminated. */
void sign_pubkey_base64(const struct sign_pubkey *pub,
	char b64[SIGN_PUBKEY_BASE64_SIZE]);
void sign_keyid_hex(const unsigned char keyid[SIGN_KEYID_BYTES],
	char hex[SIGN_KEYID_HEX_SIZE]);

/* Signs LEN bytes of DATA, or the file at PATH, with the comments given
 * (one line each, at most SIGN_UNTRUSTED_MAX and SIGN_TRUSTED_MAX bytes).
 * Returns SIGN_OK and *SIGO, the owned NUL-terminated text of the
 * .minisig file (four lines). */
int sign_buffer(const struct sign_seckey *sk, const void *data, size_t len,
	const char *untrusted, const char *trusted, char **sigo, char *err,
	size_t errlen);
int sign_file(const struct sign_seckey *sk, const char *path,
	const char *untrusted, const char *trusted, char **sigo, char *err,
	size_t errlen);

/* Verifies LEN bytes of DATA against the SIGLEN bytes of a .minisig text,
 * made by any of the NKEYS keys (several during a key rotation). Returns
 * SIGN_OK and, if TRUSTEDO is not NULL, the owned trusted comment; or
 * SIGN_MALFORMED, SIGN_UNKNOWN_KEY, SIGN_BAD_SIGNATURE or
 * SIGN_BAD_COMMENT. Only trust the comment when SIGN_OK is returned. */
int sign_verify_buffer(const struct sign_pubkey *keys, size_t nkeys,
	const void *data, size_t len, const char *sig, size_t siglen,
	char **trustedo, char *err, size_t errlen);
/* The same for the file at PATH and the signature file at SIG_PATH. */
int sign_verify_file(const struct sign_pubkey *keys, size_t nkeys,
	const char *path, const char *sig_path, char **trustedo, char *err,
	size_t errlen);

#endif
