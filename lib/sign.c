#define _GNU_SOURCE	/* mkostemp */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

/* Limits on key and signature files, which may come from the network.
 * A key file is a few hundred bytes; the longest signature minisign can
 * read back carries an 8 KiB trusted comment. */
#define TEXT_MAX 16384
/* minisign's own line buffers (COMMENTMAXBYTES, TRUSTEDCOMMENTMAXBYTES),
 * prefix included: a longer line is one minisign would not read. */
#define UNTRUSTED_LINE_MAX 1024
#define TRUSTED_LINE_MAX 8192
/* A legacy "Ed" signature covers the content itself, which must then be
 * held in memory whole. */
#define LEGACY_CONTENT_MAX ((size_t)64 << 20)
#define READ_CHUNK 65536

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define PUBKEY_COMMENT "minisign public key "
#define SECKEY_COMMENT "minisign unencrypted secret key"

#define ALG_ED25519 "Ed"	/* keys, and legacy signatures of the content */
#define ALG_PREHASHED "ED"	/* signatures of the content's BLAKE2b-512 */
#define KDF_NONE "\0\0"
#define KDF_SCRYPT "Sc"
#define CHK_BLAKE2B "B2"

#define KEYID SIGN_KEYID_BYTES
#define PREHASH_BYTES crypto_generichash_BYTES_MAX	/* 64 */
#define SIG_BYTES crypto_sign_BYTES
#define PK_BYTES crypto_sign_PUBLICKEYBYTES
#define SK_BYTES crypto_sign_SECRETKEYBYTES
#define CHK_BYTES crypto_generichash_BYTES	/* 32 */

/* The binary layouts behind the base64 lines, as byte offsets: minisign
 * stores them as packed structs. */
enum {
	/* public key: sig_alg, key id, public key */
	PUB_ALG = 0, PUB_KEYID = 2, PUB_PK = PUB_KEYID + KEYID,
	PUB_BYTES = PUB_PK + PK_BYTES,
	/* signature: sig_alg, key id, signature */
	SIG_ALG = 0, SIG_KEYID = 2, SIG_SIG = SIG_KEYID + KEYID,
	SIGLINE_BYTES = SIG_SIG + SIG_BYTES,
	/* secret key: sig_alg, kdf_alg, chk_alg, kdf salt, opslimit,
	 * memlimit, then key id, secret key and checksum (the part a
	 * password would encrypt) */
	SEC_ALG = 0, SEC_KDF = 2, SEC_CHK_ALG = 4, SEC_SALT = 6,
	SEC_OPSLIMIT = SEC_SALT + 32,
	SEC_MEMLIMIT = SEC_OPSLIMIT + 8, SEC_KEYID = SEC_MEMLIMIT + 8,
	SEC_SK = SEC_KEYID + KEYID, SEC_CHK = SEC_SK + SK_BYTES,
	SEC_BYTES = SEC_CHK + CHK_BYTES
};

struct sign_seckey {
	unsigned char keyid[KEYID];
	unsigned char sk[SK_BYTES];
};

/* A .minisig text split into its parts; TRUSTED points into the text. */
struct parsed_sig {
	unsigned char alg[2];
	unsigned char keyid[KEYID];
	unsigned char sig[SIG_BYTES];
	const char *trusted;
	size_t trusted_len;
	unsigned char global[SIG_BYTES];
};

__attribute__((format(printf, 4, 5)))
static int
fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

void
sign_keyid_hex(const unsigned char keyid[SIGN_KEYID_BYTES],
	char hex[SIGN_KEYID_HEX_SIZE])
{
	static const char digits[] = "0123456789ABCDEF";

	/* minisign prints the key id as a little-endian 64-bit number. */
	for (size_t i = 0; i < KEYID; i++) {
		hex[2 * i] = digits[keyid[KEYID - 1 - i] >> 4];
		hex[2 * i + 1] = digits[keyid[KEYID - 1 - i] & 15];
	}
	hex[2 * KEYID] = '\0';
}

/* Reads a key or signature file: the file module's refusals (not a
 * regular file, too large) are malformed input, not I/O errors. */
static int
read_whole(const char *path, size_t max, char **out, size_t *len,
	char *err, size_t errlen)
{
	switch (file_read_all(path, max, out, len, err, errlen)) {
	case FILE_OK: return SIGN_OK;
	case FILE_REFUSED: return SIGN_MALFORMED;
	default: return SIGN_ERROR;
	}
}

/* BLAKE2b-512 of the file at PATH, read in chunks: prehashing is what
 * lets a signature cover a file of any size in bounded memory. */
static int
hash_file(const char *path, unsigned char hash[PREHASH_BYTES], char *err,
	size_t errlen)
{
	crypto_generichash_state st;
	unsigned char *buf;
	ssize_t n;
	int fd, rc = SIGN_ERROR;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(err, errlen, SIGN_ERROR, "%s: %s", path,
			strerror(errno));
	if (!(buf = malloc(READ_CHUNK))) {
		fail(err, errlen, SIGN_ERROR, "out of memory");
		goto out;
	}
	crypto_generichash_init(&st, NULL, 0, PREHASH_BYTES);
	for (;;) {
		if ((n = read(fd, buf, READ_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			fail(err, errlen, SIGN_ERROR, "%s: %s", path,
				strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		crypto_generichash_update(&st, buf, (size_t)n);
	}
	crypto_generichash_final(&st, hash, PREHASH_BYTES);
	rc = SIGN_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

static void
hash_buffer(const void *data, size_t len, unsigned char hash[PREHASH_BYTES])
{
	crypto_generichash(hash, PREHASH_BYTES, data, len, NULL, 0);
}

/* Splits the LEN bytes of TEXT (NUL-terminated) in place into at most MAX
 * lines, without their "\n" or "\r\n". Blank lines after the last one are
 * tolerated, anything else there is refused. */
static int
split_lines(char *text, size_t len, const char *what, char **line,
	size_t max, size_t *n, char *err, size_t errlen)
{
	char *p = text, *end = text + len, *nl;
	size_t count = 0, l;

	if (len > TEXT_MAX)
		return fail(err, errlen, SIGN_MALFORMED, "%s: larger than %d "
			"bytes", what, TEXT_MAX);
	if (memchr(text, '\0', len))
		return fail(err, errlen, SIGN_MALFORMED, "%s: contains a NUL "
			"byte", what);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))))
			*nl = '\0';
		l = strlen(p);
		if (l > 0 && p[l - 1] == '\r')
			p[--l] = '\0';
		if (count < max)
			line[count] = p;
		else if (l > 0)
			return fail(err, errlen, SIGN_MALFORMED,
				"%s: line %zu: unexpected text after the last "
				"line", what, count + 1);
		count++;
		p = nl ? nl + 1 : end;
	}
	*n = count < max ? count : max;
	return SIGN_OK;
}

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Decodes the base64 LINE (line LINENO of WHAT) into exactly BINLEN
 * bytes; KIND names the expected content. A wrong length is told apart
 * from bad characters, since it is what a truncated file shows. */
static int
decode_line(const char *what, size_t lineno, const char *b64,
	unsigned char *bin, size_t binlen, const char *kind, char *err,
	size_t errlen)
{
	size_t len = strlen(b64), expect, got;
	const char *endp;

	expect = sodium_base64_ENCODED_LEN(binlen,
		sodium_base64_VARIANT_ORIGINAL) - 1;
	if (len == 0)
		return fail(err, errlen, SIGN_MALFORMED, "%s: line %zu: empty, "
			"expected the base64 of a %s", what, lineno, kind);
	if (len != expect)
		return fail(err, errlen, SIGN_MALFORMED, "%s: line %zu: %zu "
			"base64 characters, a %s has %zu (truncated or not "
			"minisign?)", what, lineno, len, kind, expect);
	if (sodium_base642bin(bin, binlen, b64, len, NULL, &got, &endp,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || endp != b64 + len ||
	    got != binlen)
		return fail(err, errlen, SIGN_MALFORMED, "%s: line %zu: not "
			"valid base64", what, lineno);
	return SIGN_OK;
}

/* Line 1 of every minisign file. */
static int
check_untrusted_line(const char *what, const char *line, char *err,
	size_t errlen)
{
	if (!has_prefix(line, UNTRUSTED_PREFIX))
		return fail(err, errlen, SIGN_MALFORMED, "%s: line 1: does not "
			"start with \"%s\"", what, UNTRUSTED_PREFIX);
	if (strlen(line) >= UNTRUSTED_LINE_MAX)
		return fail(err, errlen, SIGN_MALFORMED, "%s: line 1: longer "
			"than %d bytes", what, UNTRUSTED_LINE_MAX - 1);
	return SIGN_OK;
}

/* A NUL-terminated copy of the LEN bytes of TEXT (named WHAT), which
 * must not be larger than a key or signature file can be. */
static int
copy_text(const char *text, size_t len, const char *what, char **out,
	char *err, size_t errlen)
{
	if (len > TEXT_MAX)
		return fail(err, errlen, SIGN_MALFORMED, "%s: larger than %d "
			"bytes", what, TEXT_MAX);
	if (!(*out = malloc(len + 1)))
		return fail(err, errlen, SIGN_ERROR, "out of memory");
	memcpy(*out, text, len);
	(*out)[len] = '\0';
	return SIGN_OK;
}

static char *
trim_spaces(char *s)
{
	size_t l;

	while (*s == ' ' || *s == '\t')
		s++;
	l = strlen(s);
	while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
		s[--l] = '\0';
	return s;
}

int
sign_pubkey_parse(const char *text, size_t len, const char *what,
	struct sign_pubkey *out, char *err, size_t errlen)
{
	unsigned char bin[PUB_BYTES];
	char *copy, *line[2], *b64;
	size_t n, lineno;
	int rc;

	if ((rc = copy_text(text, len, what, &copy, err, errlen)) != SIGN_OK)
		return rc;
	if ((rc = split_lines(copy, len, what, line, 2, &n, err,
	    errlen)) != SIGN_OK)
		goto out;
	rc = SIGN_MALFORMED;
	if (n == 0) {
		fail(err, errlen, rc, "%s: empty, not a public key", what);
		goto out;
	}
	if (has_prefix(line[0], UNTRUSTED_PREFIX)) {
		/* A public key file: comment line, then the key. */
		if ((rc = check_untrusted_line(what, line[0], err,
		    errlen)) != SIGN_OK)
			goto out;
		if (n < 2) {
			rc = fail(err, errlen, SIGN_MALFORMED, "%s: ends after "
				"line 1, the public key line is missing", what);
			goto out;
		}
		b64 = line[1];
		lineno = 2;
	} else if (n == 1) {
		/* The bare base64 line, as `minisign -P` takes it. */
		b64 = trim_spaces(line[0]);
		lineno = 1;
	} else {
		fail(err, errlen, rc, "%s: line 1: does not start with \"%s\", "
			"and is not a bare base64 key", what, UNTRUSTED_PREFIX);
		goto out;
	}
	if ((rc = decode_line(what, lineno, b64, bin, sizeof(bin),
	    "minisign public key", err, errlen)) != SIGN_OK)
		goto out;
	if (memcmp(bin + PUB_ALG, ALG_ED25519, 2) != 0) {
		rc = fail(err, errlen, SIGN_MALFORMED, "%s: line %zu: not an "
			"Ed25519 public key", what, lineno);
		goto out;
	}
	memcpy(out->keyid, bin + PUB_KEYID, KEYID);
	memcpy(out->pk, bin + PUB_PK, PK_BYTES);
	rc = SIGN_OK;
out:
	free(copy);
	return rc;
}

int
sign_pubkey_load(const char *path, struct sign_pubkey *out, char *err,
	size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if ((rc = read_whole(path, TEXT_MAX, &text, &len, err,
	    errlen)) != SIGN_OK)
		return rc;
	rc = sign_pubkey_parse(text, len, path, out, err, errlen);
	free(text);
	return rc;
}

void
sign_pubkey_base64(const struct sign_pubkey *pub,
	char b64[SIGN_PUBKEY_BASE64_SIZE])
{
	unsigned char bin[PUB_BYTES];

	memcpy(bin + PUB_ALG, ALG_ED25519, 2);
	memcpy(bin + PUB_KEYID, pub->keyid, KEYID);
	memcpy(bin + PUB_PK, pub->pk, PK_BYTES);
	sodium_bin2base64(b64, SIGN_PUBKEY_BASE64_SIZE, bin, sizeof(bin),
		sodium_base64_VARIANT_ORIGINAL);
}

/* minisign's checksum of a secret key: BLAKE2b-256 of sig_alg, key id and
 * secret key, which tells a wrong password (or a damaged file) from a
 * key. We write it even unencrypted, where minisign ignores it. */
static void
seckey_checksum(const unsigned char *bin, unsigned char chk[CHK_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, CHK_BYTES);
	crypto_generichash_update(&st, bin + SEC_ALG, 2);
	crypto_generichash_update(&st, bin + SEC_KEYID, KEYID);
	crypto_generichash_update(&st, bin + SEC_SK, SK_BYTES);
	crypto_generichash_final(&st, chk, CHK_BYTES);
}

/* Checks the decoded key BIN and copies it into guarded memory. */
static int
seckey_from_bin(const unsigned char *bin, const char *what,
	struct sign_seckey **out, char *err, size_t errlen)
{
	unsigned char chk[CHK_BYTES], seed[crypto_sign_SEEDBYTES];
	unsigned char pk[PK_BYTES], sk[SK_BYTES];
	struct sign_seckey *key;
	int rc = SIGN_MALFORMED;

	if (memcmp(bin + SEC_ALG, ALG_ED25519, 2) != 0)
		return fail(err, errlen, rc, "%s: line 2: not an Ed25519 "
			"secret key", what);
	if (memcmp(bin + SEC_KDF, KDF_SCRYPT, 2) == 0)
		return fail(err, errlen, SIGN_ENCRYPTED, "%s: the secret key "
			"is encrypted with a password; cybil signs unattended "
			"and needs an unencrypted key (make one with `minisign "
			"-G -W`, or remove the password with `minisign -C -W`)",
			what);
	if (memcmp(bin + SEC_KDF, KDF_NONE, 2) != 0)
		return fail(err, errlen, rc, "%s: line 2: unknown key "
			"encryption, not a minisign secret key", what);
	if (memcmp(bin + SEC_CHK_ALG, CHK_BLAKE2B, 2) != 0)
		return fail(err, errlen, rc, "%s: line 2: unknown checksum "
			"algorithm, not a minisign secret key", what);
	/* minisign checks the checksum only after decrypting, and
	 * `minisign -G -W` leaves it zero; any other value must match. */
	seckey_checksum(bin, chk);
	if (!sodium_is_zero(bin + SEC_CHK, CHK_BYTES) &&
	    sodium_memcmp(chk, bin + SEC_CHK, CHK_BYTES) != 0)
		return fail(err, errlen, rc, "%s: line 2: checksum does not "
			"match, the secret key is damaged", what);
	/* libsodium's secret key is seed || public key: a key whose halves
	 * disagree would sign what its public key never verifies. */
	crypto_sign_ed25519_sk_to_seed(seed, bin + SEC_SK);
	crypto_sign_seed_keypair(pk, sk, seed);
	if (sodium_memcmp(pk, bin + SEC_SK + crypto_sign_SEEDBYTES,
	    PK_BYTES) != 0) {
		fail(err, errlen, rc, "%s: line 2: the public half of the "
			"secret key does not match its private half", what);
		goto out;
	}
	if (!(key = sodium_malloc(sizeof(*key)))) {
		rc = fail(err, errlen, SIGN_ERROR, "out of memory");
		goto out;
	}
	memcpy(key->keyid, bin + SEC_KEYID, KEYID);
	memcpy(key->sk, bin + SEC_SK, SK_BYTES);
	*out = key;
	rc = SIGN_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

int
sign_seckey_parse(const char *text, size_t len, const char *what,
	struct sign_seckey **out, char *err, size_t errlen)
{
	unsigned char bin[SEC_BYTES];
	char *copy, *line[2];
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = copy_text(text, len, what, &copy, err, errlen)) != SIGN_OK)
		return rc;
	if ((rc = split_lines(copy, len, what, line, 2, &n, err,
	    errlen)) != SIGN_OK)
		goto out;
	if (n == 0) {
		rc = fail(err, errlen, SIGN_MALFORMED, "%s: empty, not a "
			"secret key", what);
		goto out;
	}
	if ((rc = check_untrusted_line(what, line[0], err, errlen)) !=
	    SIGN_OK)
		goto out;
	if (n < 2) {
		rc = fail(err, errlen, SIGN_MALFORMED, "%s: ends after line 1, "
			"the secret key line is missing", what);
		goto out;
	}
	if ((rc = decode_line(what, 2, line[1], bin, sizeof(bin),
	    "minisign secret key", err, errlen)) != SIGN_OK)
		goto out;
	rc = seckey_from_bin(bin, what, out, err, errlen);
out:
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(copy, len);
	free(copy);
	return rc;
}

int
sign_seckey_load(const char *path, struct sign_seckey **out, char *err,
	size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = read_whole(path, TEXT_MAX, &text, &len, err,
	    errlen)) != SIGN_OK)
		return rc;
	rc = sign_seckey_parse(text, len, path, out, err, errlen);
	sodium_memzero(text, len);
	free(text);
	return rc;
}

void
sign_seckey_free(struct sign_seckey *sk)
{
	/* sodium_free wipes the memory before releasing it. */
	if (sk)
		sodium_free(sk);
}

void
sign_seckey_pubkey(const struct sign_seckey *sk, struct sign_pubkey *pub)
{
	memcpy(pub->keyid, sk->keyid, KEYID);
	crypto_sign_ed25519_sk_to_pk(pub->pk, sk->sk);
}

/* The folder holding PATH, for syncing a new name in it. */
/* Writes a new file at PATH durably: a temp file beside it, synced, then
 * linked into place. link(2), unlike rename(2), fails when PATH exists,
 * so a key that appeared meanwhile is still never replaced. */
static int
write_new_file(const char *path, const char *data, size_t len, mode_t mode,
	char *err, size_t errlen)
{
	size_t n = strlen(path) + sizeof(".XXXXXX");
	char *tmp = malloc(n);
	int fd = -1, closed, rc = SIGN_ERROR;

	if (!tmp)
		return fail(err, errlen, SIGN_ERROR, "out of memory");
	snprintf(tmp, n, "%s.XXXXXX", path);
	/* mkostemp makes the file 0600: a secret key is never readable by
	 * others, even for a moment. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		fail(err, errlen, rc, "cannot create %s: %s", tmp,
			strerror(errno));
		free(tmp);
		return rc;
	}
	if (fchmod(fd, mode) < 0 || file_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		fail(err, errlen, rc, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	closed = close(fd);
	fd = -1;
	if (closed != 0) {
		fail(err, errlen, rc, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) < 0) {
		if (errno == EEXIST)
			rc = fail(err, errlen, SIGN_EXISTS, "%s exists "
				"already; a key is never overwritten", path);
		else
			fail(err, errlen, rc, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (unlink(tmp) < 0 || file_sync_parent(path) < 0) {
		fail(err, errlen, rc, "%s: %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	rc = SIGN_OK;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return rc;
}

static int
refuse_existing(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return fail(err, errlen, SIGN_EXISTS, "%s exists already; "
			"a key is never overwritten", path);
	if (errno != ENOENT)
		return fail(err, errlen, SIGN_ERROR, "%s: %s", path,
			strerror(errno));
	return SIGN_OK;
}

int
sign_keygen(const char *pub_path, const char *sec_path,
	struct sign_pubkey *pubo, char *err, size_t errlen)
{
	unsigned char sec[SEC_BYTES];
	struct sign_pubkey pub;
	char b64[sodium_base64_ENCODED_LEN(SEC_BYTES,
		sodium_base64_VARIANT_ORIGINAL)];
	char pub64[SIGN_PUBKEY_BASE64_SIZE], hex[SIGN_KEYID_HEX_SIZE];
	char text[sizeof(b64) + 128];
	int n, rc;

	if (strcmp(pub_path, sec_path) == 0)
		return fail(err, errlen, SIGN_ERROR, "%s: the public and the "
			"secret key need two files", pub_path);
	/* Both checked first, so that an existing key leaves nothing half
	 * made; the link in write_new_file closes the race. */
	if ((rc = refuse_existing(sec_path, err, errlen)) != SIGN_OK ||
	    (rc = refuse_existing(pub_path, err, errlen)) != SIGN_OK)
		return rc;

	/* The layout `minisign -G -W` writes: no KDF, so salt and limits
	 * stay zero. */
	memset(sec, 0, sizeof(sec));
	memcpy(sec + SEC_ALG, ALG_ED25519, 2);
	memcpy(sec + SEC_KDF, KDF_NONE, 2);
	memcpy(sec + SEC_CHK_ALG, CHK_BLAKE2B, 2);
	randombytes_buf(sec + SEC_KEYID, KEYID);
	crypto_sign_keypair(pub.pk, sec + SEC_SK);
	memcpy(pub.keyid, sec + SEC_KEYID, KEYID);
	seckey_checksum(sec, sec + SEC_CHK);
	sodium_bin2base64(b64, sizeof(b64), sec, sizeof(sec),
		sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(text, sizeof(text), UNTRUSTED_PREFIX SECKEY_COMMENT
		"\n%s\n", b64);
	rc = write_new_file(sec_path, text, (size_t)n, 0600, err, errlen);
	sodium_memzero(sec, sizeof(sec));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(text, sizeof(text));
	if (rc != SIGN_OK)
		return rc;

	sign_keyid_hex(pub.keyid, hex);
	sign_pubkey_base64(&pub, pub64);
	n = snprintf(text, sizeof(text), UNTRUSTED_PREFIX PUBKEY_COMMENT
		"%s\n%s\n", hex, pub64);
	if ((rc = write_new_file(pub_path, text, (size_t)n, 0644, err,
	    errlen)) != SIGN_OK) {
		/* A secret key without its public key is of no use, and it
		 * is ours: we created it a moment ago. */
		unlink(sec_path);
		file_sync_parent(sec_path);
		return rc;
	}
	if (pubo)
		*pubo = pub;
	return SIGN_OK;
}

/* One line each, and short enough for minisign to read back. */
static int
check_comment(const char *c, size_t max, const char *kind, char *err,
	size_t errlen)
{
	if (strlen(c) > max)
		return fail(err, errlen, SIGN_ERROR, "%s comment longer than "
			"%zu bytes", kind, max);
	if (strpbrk(c, "\r\n"))
		return fail(err, errlen, SIGN_ERROR, "%s comment has a line "
			"break", kind);
	return SIGN_OK;
}

/* The .minisig text for the prehash HASH of the content. */
static int
sign_prehashed(const struct sign_seckey *sk,
	const unsigned char hash[PREHASH_BYTES], const char *untrusted,
	const char *trusted, char **sigo, char *err, size_t errlen)
{
	unsigned char line[SIGLINE_BYTES], global[SIG_BYTES], *signed_comment;
	char line64[sodium_base64_ENCODED_LEN(SIGLINE_BYTES,
		sodium_base64_VARIANT_ORIGINAL)];
	char global64[sodium_base64_ENCODED_LEN(SIG_BYTES,
		sodium_base64_VARIANT_ORIGINAL)];
	size_t tlen, size;
	char *text;
	int rc;

	*sigo = NULL;
	if (!untrusted)
		untrusted = "";
	if (!trusted)
		trusted = "";
	if ((rc = check_comment(untrusted, SIGN_UNTRUSTED_MAX, "untrusted",
	    err, errlen)) != SIGN_OK ||
	    (rc = check_comment(trusted, SIGN_TRUSTED_MAX, "trusted", err,
	    errlen)) != SIGN_OK)
		return rc;

	memcpy(line + SIG_ALG, ALG_PREHASHED, 2);
	memcpy(line + SIG_KEYID, sk->keyid, KEYID);
	crypto_sign_detached(line + SIG_SIG, NULL, hash, PREHASH_BYTES,
		sk->sk);
	/* The global signature binds the trusted comment to this
	 * signature. */
	tlen = strlen(trusted);
	if (!(signed_comment = malloc(SIG_BYTES + tlen)))
		return fail(err, errlen, SIGN_ERROR, "out of memory");
	memcpy(signed_comment, line + SIG_SIG, SIG_BYTES);
	memcpy(signed_comment + SIG_BYTES, trusted, tlen);
	crypto_sign_detached(global, NULL, signed_comment, SIG_BYTES + tlen,
		sk->sk);
	free(signed_comment);

	sodium_bin2base64(line64, sizeof(line64), line, sizeof(line),
		sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(global64, sizeof(global64), global, sizeof(global),
		sodium_base64_VARIANT_ORIGINAL);
	size = sizeof(UNTRUSTED_PREFIX) + strlen(untrusted) + sizeof(line64) +
		sizeof(TRUSTED_PREFIX) + tlen + sizeof(global64) + 1;
	if (!(text = malloc(size)))
		return fail(err, errlen, SIGN_ERROR, "out of memory");
	snprintf(text, size, UNTRUSTED_PREFIX "%s\n%s\n" TRUSTED_PREFIX
		"%s\n%s\n", untrusted, line64, trusted, global64);
	*sigo = text;
	return SIGN_OK;
}

int
sign_buffer(const struct sign_seckey *sk, const void *data, size_t len,
	const char *untrusted, const char *trusted, char **sigo, char *err,
	size_t errlen)
{
	unsigned char hash[PREHASH_BYTES];

	hash_buffer(data, len, hash);
	return sign_prehashed(sk, hash, untrusted, trusted, sigo, err,
		errlen);
}

int
sign_file(const struct sign_seckey *sk, const char *path,
	const char *untrusted, const char *trusted, char **sigo, char *err,
	size_t errlen)
{
	unsigned char hash[PREHASH_BYTES];
	int rc;

	*sigo = NULL;
	if ((rc = hash_file(path, hash, err, errlen)) != SIGN_OK)
		return rc;
	return sign_prehashed(sk, hash, untrusted, trusted, sigo, err,
		errlen);
}

/* Splits TEXT, the LEN bytes of a .minisig (modified in place), into PS,
 * whose trusted comment then points into TEXT. */
static int
parse_sig(char *text, size_t len, const char *what, struct parsed_sig *ps,
	char *err, size_t errlen)
{
	unsigned char line2[SIGLINE_BYTES];
	char *line[4];
	size_t n;
	int rc;

	if ((rc = split_lines(text, len, what, line, 4, &n, err,
	    errlen)) != SIGN_OK)
		return rc;
	if (n == 0)
		return fail(err, errlen, SIGN_MALFORMED, "%s: empty, not a "
			"minisign signature", what);
	if ((rc = check_untrusted_line(what, line[0], err, errlen)) !=
	    SIGN_OK)
		return rc;
	if (n < 4)
		return fail(err, errlen, SIGN_MALFORMED, "%s: ends after line "
			"%zu, a minisign signature has 4 lines (truncated?)",
			what, n);
	if ((rc = decode_line(what, 2, line[1], line2, sizeof(line2),
	    "minisign signature", err, errlen)) != SIGN_OK)
		return rc;
	memcpy(ps->alg, line2 + SIG_ALG, 2);
	if (memcmp(ps->alg, ALG_PREHASHED, 2) != 0 &&
	    memcmp(ps->alg, ALG_ED25519, 2) != 0)
		return fail(err, errlen, SIGN_MALFORMED, "%s: line 2: unknown "
			"signature algorithm, expected Ed25519 (\"ED\" or "
			"\"Ed\")", what);
	memcpy(ps->keyid, line2 + SIG_KEYID, KEYID);
	memcpy(ps->sig, line2 + SIG_SIG, SIG_BYTES);
	if (!has_prefix(line[2], TRUSTED_PREFIX))
		return fail(err, errlen, SIGN_MALFORMED, "%s: line 3: does not "
			"start with \"%s\"", what, TRUSTED_PREFIX);
	if (strlen(line[2]) >= TRUSTED_LINE_MAX)
		return fail(err, errlen, SIGN_MALFORMED, "%s: line 3: longer "
			"than %d bytes", what, TRUSTED_LINE_MAX - 1);
	ps->trusted = line[2] + strlen(TRUSTED_PREFIX);
	ps->trusted_len = strlen(ps->trusted);
	return decode_line(what, 4, line[3], ps->global, SIG_BYTES,
		"global signature", err, errlen);
}

static const struct sign_pubkey *
find_key(const struct sign_pubkey *keys, size_t nkeys,
	const unsigned char keyid[KEYID])
{
	for (size_t i = 0; i < nkeys; i++)
		if (memcmp(keys[i].keyid, keyid, KEYID) == 0)
			return &keys[i];
	return NULL;
}

static int
unknown_key(const struct sign_pubkey *keys, size_t nkeys,
	const struct parsed_sig *ps, const char *what, char *err,
	size_t errlen)
{
	char got[SIGN_KEYID_HEX_SIZE], want[SIGN_KEYID_HEX_SIZE];

	sign_keyid_hex(ps->keyid, got);
	if (nkeys == 1) {
		sign_keyid_hex(keys[0].keyid, want);
		return fail(err, errlen, SIGN_UNKNOWN_KEY, "%s: signed by key "
			"%s, but the public key is %s", what, got, want);
	}
	return fail(err, errlen, SIGN_UNKNOWN_KEY, "%s: signed by key %s, "
		"which is none of the %zu public keys given", what, got, nkeys);
}

/* Checks PS against the public key PUB: the signature over MSG (the
 * prehash or, for legacy signatures, the content), then the global
 * signature over the trusted comment. */
static int
check_sig(const struct sign_pubkey *pub, const struct parsed_sig *ps,
	const unsigned char *msg, size_t msglen, const char *what,
	const char *content, char **trustedo, char *err, size_t errlen)
{
	unsigned char *signed_comment;
	char hex[SIGN_KEYID_HEX_SIZE];
	int bad;

	sign_keyid_hex(pub->keyid, hex);
	if (crypto_sign_verify_detached(ps->sig, msg, msglen, pub->pk) != 0)
		return fail(err, errlen, SIGN_BAD_SIGNATURE, "%s: signature by "
			"key %s does not match %s", what, hex, content);
	if (!(signed_comment = malloc(SIG_BYTES + ps->trusted_len)))
		return fail(err, errlen, SIGN_ERROR, "out of memory");
	memcpy(signed_comment, ps->sig, SIG_BYTES);
	memcpy(signed_comment + SIG_BYTES, ps->trusted, ps->trusted_len);
	bad = crypto_sign_verify_detached(ps->global, signed_comment,
		SIG_BYTES + ps->trusted_len, pub->pk);
	free(signed_comment);
	if (bad)
		return fail(err, errlen, SIGN_BAD_COMMENT, "%s: line 3: the "
			"trusted comment does not match its signature on line "
			"4 (altered?)", what);
	if (trustedo && !(*trustedo = strndup(ps->trusted,
	    ps->trusted_len)))
		return fail(err, errlen, SIGN_ERROR, "out of memory");
	return SIGN_OK;
}

int
sign_verify_buffer(const struct sign_pubkey *keys, size_t nkeys,
	const void *data, size_t len, const char *sig, size_t siglen,
	char **trustedo, char *err, size_t errlen)
{
	unsigned char hash[PREHASH_BYTES];
	const struct sign_pubkey *pub;
	struct parsed_sig ps;
	char *copy;
	int rc;

	if (trustedo)
		*trustedo = NULL;
	if ((rc = copy_text(sig, siglen, "signature", &copy, err,
	    errlen)) != SIGN_OK)
		return rc;
	if ((rc = parse_sig(copy, siglen, "signature", &ps, err,
	    errlen)) != SIGN_OK)
		goto out;
	if (!(pub = find_key(keys, nkeys, ps.keyid))) {
		rc = unknown_key(keys, nkeys, &ps, "signature", err, errlen);
		goto out;
	}
	if (memcmp(ps.alg, ALG_PREHASHED, 2) == 0) {
		hash_buffer(data, len, hash);
		rc = check_sig(pub, &ps, hash, sizeof(hash), "signature",
			"the content", trustedo, err, errlen);
	} else {
		rc = check_sig(pub, &ps, data, len, "signature", "the content",
			trustedo, err, errlen);
	}
out:
	free(copy);
	return rc;
}

int
sign_verify_file(const struct sign_pubkey *keys, size_t nkeys,
	const char *path, const char *sig_path, char **trustedo, char *err,
	size_t errlen)
{
	unsigned char hash[PREHASH_BYTES];
	const struct sign_pubkey *pub;
	struct parsed_sig ps;
	char *text, *content = NULL;
	size_t len, clen;
	int rc;

	if (trustedo)
		*trustedo = NULL;
	if ((rc = read_whole(sig_path, TEXT_MAX, &text, &len, err,
	    errlen)) != SIGN_OK)
		return rc;
	if ((rc = parse_sig(text, len, sig_path, &ps, err, errlen)) !=
	    SIGN_OK)
		goto out;
	/* The key first: no point reading the content for a stranger. */
	if (!(pub = find_key(keys, nkeys, ps.keyid))) {
		rc = unknown_key(keys, nkeys, &ps, sig_path, err, errlen);
		goto out;
	}
	if (memcmp(ps.alg, ALG_PREHASHED, 2) == 0) {
		if ((rc = hash_file(path, hash, err, errlen)) != SIGN_OK)
			goto out;
		rc = check_sig(pub, &ps, hash, sizeof(hash), sig_path, path,
			trustedo, err, errlen);
	} else {
		if ((rc = read_whole(path, LEGACY_CONTENT_MAX, &content, &clen,
		    err, errlen)) != SIGN_OK)
			goto out;
		rc = check_sig(pub, &ps, (unsigned char *)content, clen,
			sig_path, path, trustedo, err, errlen);
	}
out:
	free(content);
	free(text);
	return rc;
}
