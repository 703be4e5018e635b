/* Unit tests of include/sign.h: minisign key pairs, signatures and their
 * verification; every kind of damage refused with its own status; keys
 * never overwritten; and, when the minisign tool is installed, each side
 * verifying the other's signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "sign.h"

#define UNTRUSTED "signature from cybil secret key"
#define TRUSTED "timestamp:1700000000\tfile:SHA256SUMS\tserial:000042"

struct fixture {
	char dir[64];
	char pub[128], sec[128], data[128], sig[128];
	struct sign_pubkey key;
	char err[512];
};

static int
remove_entry(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated; *LEN (may be NULL) gets its size. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

/* A fresh folder with a key pair made by sign_keygen and a file to
 * sign. */
static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/cybil-test-sign-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->pub, sizeof(fx->pub), "%s/cybil.pub", fx->dir);
	snprintf(fx->sec, sizeof(fx->sec), "%s/cybil.key", fx->dir);
	snprintf(fx->data, sizeof(fx->data), "%s/SHA256SUMS", fx->dir);
	snprintf(fx->sig, sizeof(fx->sig), "%s/SHA256SUMS.minisig", fx->dir);
	if (sign_keygen(fx->pub, fx->sec, &fx->key, fx->err,
	    sizeof(fx->err)) != SIGN_OK) {
		fprintf(stderr, "keygen: %s\n", fx->err);
		return -1;
	}
	write_file(fx->data, "abc  cybil-000042.tar.zst\n", 26);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct sign_seckey *
load_sec(struct fixture *fx)
{
	struct sign_seckey *sk;

	if (sign_seckey_load(fx->sec, &sk, fx->err, sizeof(fx->err)) !=
	    SIGN_OK)
		fail_msg("%s", fx->err);
	return sk;
}

/* Our key's signature of the fixture's file, as text. */
static char *
sign_data(struct fixture *fx)
{
	struct sign_seckey *sk = load_sec(fx);
	char *sig;

	assert_int_equal(sign_file(sk, fx->data, UNTRUSTED, TRUSTED, &sig,
		fx->err, sizeof(fx->err)), SIGN_OK);
	sign_seckey_free(sk);
	return sig;
}

static int
verify_text(struct fixture *fx, const struct sign_pubkey *keys,
	size_t nkeys, const char *content, const char *sig)
{
	return sign_verify_buffer(keys, nkeys, content, strlen(content), sig,
		strlen(sig), NULL, fx->err, sizeof(fx->err));
}

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 &&
			strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
test_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct sign_seckey *sk = load_sec(fx);
	struct sign_pubkey pub, derived;
	const char *head = "untrusted comment: " UNTRUSTED "\nRU";
	char *sig, *sig2, *trusted, *content;
	size_t len;

	assert_int_equal(sign_pubkey_load(fx->pub, &pub, fx->err,
		sizeof(fx->err)), SIGN_OK);
	assert_memory_equal(&pub, &fx->key, sizeof(pub));
	sign_seckey_pubkey(sk, &derived);
	assert_memory_equal(&derived, &fx->key, sizeof(derived));

	assert_int_equal(sign_file(sk, fx->data, UNTRUSTED, TRUSTED, &sig,
		fx->err, sizeof(fx->err)), SIGN_OK);
	/* Ed25519 is deterministic: the buffer gives the same text. */
	content = slurp(fx->data, &len);
	assert_int_equal(sign_buffer(sk, content, len, UNTRUSTED, TRUSTED,
		&sig2, fx->err, sizeof(fx->err)), SIGN_OK);
	assert_string_equal(sig, sig2);
	/* "RU" starts the base64 of "ED". */
	assert_true(strncmp(sig, head, strlen(head)) == 0);
	assert_non_null(strstr(sig, "\ntrusted comment: " TRUSTED "\n"));

	write_file(fx->sig, sig, strlen(sig));
	assert_int_equal(sign_verify_file(&pub, 1, fx->data, fx->sig,
		&trusted, fx->err, sizeof(fx->err)), SIGN_OK);
	assert_string_equal(trusted, TRUSTED);
	free(trusted);
	assert_int_equal(sign_verify_buffer(&pub, 1, content, len, sig,
		strlen(sig), &trusted, fx->err, sizeof(fx->err)), SIGN_OK);
	assert_string_equal(trusted, TRUSTED);
	free(trusted);

	/* Empty content and comments are fine too. */
	free(sig2);
	assert_int_equal(sign_buffer(sk, "", 0, "", "", &sig2, fx->err,
		sizeof(fx->err)), SIGN_OK);
	assert_int_equal(sign_verify_buffer(&pub, 1, "", 0, sig2,
		strlen(sig2), &trusted, fx->err, sizeof(fx->err)), SIGN_OK);
	assert_string_equal(trusted, "");
	free(trusted);

	free(content);
	free(sig);
	free(sig2);
	sign_seckey_free(sk);
	sign_seckey_free(NULL);
}

static void
test_pubkey_file_and_base64(void **state)
{
	struct fixture *fx = *state;
	char b64[SIGN_PUBKEY_BASE64_SIZE], hex[SIGN_KEYID_HEX_SIZE];
	char expect[256], padded[128], *text;
	struct sign_pubkey pub;

	sign_pubkey_base64(&fx->key, b64);
	sign_keyid_hex(fx->key.keyid, hex);
	assert_int_equal(strlen(b64), 56);
	assert_int_equal(strncmp(b64, "RW", 2), 0);	/* "Ed" */
	snprintf(expect, sizeof(expect), "untrusted comment: minisign public "
		"key %s\n%s\n", hex, b64);
	text = slurp(fx->pub, NULL);
	assert_string_equal(text, expect);
	free(text);

	/* The bare base64 line, as given to --pubkey or minisign -P. */
	assert_int_equal(sign_pubkey_parse(b64, strlen(b64), "-P", &pub,
		fx->err, sizeof(fx->err)), SIGN_OK);
	assert_memory_equal(&pub, &fx->key, sizeof(pub));
	snprintf(padded, sizeof(padded), "  %s \r\n", b64);
	assert_int_equal(sign_pubkey_parse(padded, strlen(padded), "-P", &pub,
		fx->err, sizeof(fx->err)), SIGN_OK);
	assert_memory_equal(&pub, &fx->key, sizeof(pub));

	/* One character off, too short, or another algorithm. */
	b64[10] = '*';
	assert_int_equal(sign_pubkey_parse(b64, strlen(b64), "-P", &pub,
		fx->err, sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "not valid base64"));
	assert_int_equal(sign_pubkey_parse(b64, 40, "-P", &pub, fx->err,
		sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "line 1: 40 base64 characters"));
	sign_pubkey_base64(&fx->key, b64);
	b64[1] = 'X';
	assert_int_equal(sign_pubkey_parse(b64, strlen(b64), "-P", &pub,
		fx->err, sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "not an Ed25519 public key"));
}

static void
test_tampered_content(void **state)
{
	struct fixture *fx = *state;
	char *sig = sign_data(fx), *content = slurp(fx->data, NULL);

	assert_int_equal(verify_text(fx, &fx->key, 1, content, sig), SIGN_OK);
	content[0] ^= 1;
	assert_int_equal(verify_text(fx, &fx->key, 1, content, sig),
		SIGN_BAD_SIGNATURE);
	assert_non_null(strstr(fx->err, "does not match the content"));

	/* The same through the files. */
	write_file(fx->sig, sig, strlen(sig));
	write_file(fx->data, content, strlen(content));
	assert_int_equal(sign_verify_file(&fx->key, 1, fx->data, fx->sig,
		NULL, fx->err, sizeof(fx->err)), SIGN_BAD_SIGNATURE);
	assert_non_null(strstr(fx->err, fx->data));
	free(content);
	free(sig);
}

static void
test_tampered_trusted_comment(void **state)
{
	struct fixture *fx = *state;
	char *sig = sign_data(fx), *content = slurp(fx->data, NULL), *p;
	char *trusted = (char *)1;

	p = strstr(sig, "serial:000042");
	assert_non_null(p);
	p[strlen("serial:00004")] = '3';	/* a rollback in disguise */
	assert_int_equal(sign_verify_buffer(&fx->key, 1, content,
		strlen(content), sig, strlen(sig), &trusted, fx->err,
		sizeof(fx->err)), SIGN_BAD_COMMENT);
	assert_null(trusted);
	assert_non_null(strstr(fx->err, "line 3: the trusted comment"));

	/* The untrusted comment is free to change. */
	free(sig);
	sig = sign_data(fx);
	memcpy(sig + strlen("untrusted comment: "), "XXXX", 4);
	assert_int_equal(verify_text(fx, &fx->key, 1, content, sig), SIGN_OK);

	/* A damaged global signature is the same refusal. */
	p = strrchr(sig, '\n') - 5;
	*p = *p == 'A' ? 'B' : 'A';
	assert_int_equal(verify_text(fx, &fx->key, 1, content, sig),
		SIGN_BAD_COMMENT);
	free(content);
	free(sig);
}

static void
test_wrong_key(void **state)
{
	struct fixture *fx = *state;
	char pub2[160], sec2[160], *sig = sign_data(fx);
	char *content = slurp(fx->data, NULL);
	char hex1[SIGN_KEYID_HEX_SIZE], hex2[SIGN_KEYID_HEX_SIZE];
	struct sign_pubkey other, keys[2], forged;

	snprintf(pub2, sizeof(pub2), "%s/other.pub", fx->dir);
	snprintf(sec2, sizeof(sec2), "%s/other.key", fx->dir);
	assert_int_equal(sign_keygen(pub2, sec2, &other, fx->err,
		sizeof(fx->err)), SIGN_OK);
	assert_memory_not_equal(other.keyid, fx->key.keyid,
		SIGN_KEYID_BYTES);

	/* Another key id: refused before any arithmetic, naming both. */
	assert_int_equal(verify_text(fx, &other, 1, content, sig),
		SIGN_UNKNOWN_KEY);
	sign_keyid_hex(fx->key.keyid, hex1);
	sign_keyid_hex(other.keyid, hex2);
	assert_non_null(strstr(fx->err, hex1));
	assert_non_null(strstr(fx->err, hex2));

	/* Key rotation: any of the keys given may have signed. */
	keys[0] = other;
	keys[1] = fx->key;
	assert_int_equal(verify_text(fx, keys, 2, content, sig), SIGN_OK);
	assert_int_equal(verify_text(fx, keys, 1, content, sig),
		SIGN_UNKNOWN_KEY);
	assert_int_equal(verify_text(fx, keys, 0, content, sig),
		SIGN_UNKNOWN_KEY);

	/* Our key id on someone else's key: the signature fails. */
	forged = other;
	memcpy(forged.keyid, fx->key.keyid, SIGN_KEYID_BYTES);
	assert_int_equal(verify_text(fx, &forged, 1, content, sig),
		SIGN_BAD_SIGNATURE);
	free(content);
	free(sig);
}

/* Every truncation of a good file is refused as malformed (dropping only
 * the final newline is harmless). */
static void
test_truncated_files(void **state)
{
	struct fixture *fx = *state;
	char *sig = sign_data(fx), *content = slurp(fx->data, NULL);
	char *pub, *sec;
	struct sign_seckey *sk;
	struct sign_pubkey key;
	size_t len, publen, seclen;

	len = strlen(sig);
	for (size_t n = 0; n < len - 1; n++) {
		assert_int_equal(sign_verify_buffer(&fx->key, 1, content,
			strlen(content), sig, n, NULL, fx->err,
			sizeof(fx->err)), SIGN_MALFORMED);
	}
	assert_int_equal(sign_verify_buffer(&fx->key, 1, content,
		strlen(content), sig, len - 1, NULL, fx->err,
		sizeof(fx->err)), SIGN_OK);
	/* The messages say which line. */
	sign_verify_buffer(&fx->key, 1, content, strlen(content), sig,
		len - 10, NULL, fx->err, sizeof(fx->err));
	assert_non_null(strstr(fx->err, "line 4: "));
	sign_verify_buffer(&fx->key, 1, content, strlen(content), sig, 40,
		NULL, fx->err, sizeof(fx->err));
	assert_non_null(strstr(fx->err, "ends after line 1"));

	pub = slurp(fx->pub, &publen);
	for (size_t n = 0; n < publen - 1; n++)
		assert_int_equal(sign_pubkey_parse(pub, n, "pub", &key, fx->err,
			sizeof(fx->err)), SIGN_MALFORMED);
	sec = slurp(fx->sec, &seclen);
	for (size_t n = 0; n < seclen - 1; n++)
		assert_int_equal(sign_seckey_parse(sec, n, "sec", &sk, fx->err,
			sizeof(fx->err)), SIGN_MALFORMED);

	/* And truncated on disk. */
	write_file(fx->sig, sig, len / 2);
	assert_int_equal(sign_verify_file(&fx->key, 1, fx->data, fx->sig,
		NULL, fx->err, sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, fx->sig));
	write_file(fx->sec, sec, seclen - 20);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_MALFORMED);
	assert_null(sk);
	write_file(fx->sec, "", 0);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_MALFORMED);
	free(pub);
	free(sec);
	free(content);
	free(sig);
}

static void
test_malformed_signatures(void **state)
{
	struct fixture *fx = *state;
	char *sig = sign_data(fx), *content = slurp(fx->data, NULL);
	char *big, *bad;
	size_t len = strlen(sig);

	/* Oversized: refused before it is parsed, in memory and on disk. */
	big = malloc(20000);
	assert_non_null(big);
	memset(big, 'A', 20000);
	assert_int_equal(sign_verify_buffer(&fx->key, 1, content,
		strlen(content), big, 20000, NULL, fx->err, sizeof(fx->err)),
		SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "larger than"));
	write_file(fx->sig, big, 20000);
	assert_int_equal(sign_verify_file(&fx->key, 1, fx->data, fx->sig,
		NULL, fx->err, sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "larger than"));
	free(big);

	bad = malloc(len + 64);
	assert_non_null(bad);
	/* A NUL byte in the middle. */
	memcpy(bad, sig, len + 1);
	bad[5] = '\0';
	assert_int_equal(sign_verify_buffer(&fx->key, 1, content,
		strlen(content), bad, len, NULL, fx->err, sizeof(fx->err)),
		SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "NUL"));
	/* Text after the fourth line. */
	snprintf(bad, len + 64, "%sextra\n", sig);
	assert_int_equal(verify_text(fx, &fx->key, 1, content, bad),
		SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "line 5"));
	/* Blank lines after it, and CRLF line ends, are tolerated. */
	snprintf(bad, len + 64, "%s\n\n", sig);
	assert_int_equal(verify_text(fx, &fx->key, 1, content, bad), SIGN_OK);
	/* No "untrusted comment: " prefix. */
	memcpy(bad, sig, len + 1);
	bad[0] = 'U';
	assert_int_equal(verify_text(fx, &fx->key, 1, content, bad),
		SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "line 1: does not start"));
	/* No "trusted comment: " prefix. */
	memcpy(bad, sig, len + 1);
	strstr(bad, "\ntrusted")[1] = 'T';
	assert_int_equal(verify_text(fx, &fx->key, 1, content, bad),
		SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "line 3: does not start"));
	/* An unknown algorithm: "RXX" decodes to "Eu", not Ed25519. */
	memcpy(bad, sig, len + 1);
	memcpy(strchr(bad, '\n') + 1, "RXX", 3);
	assert_int_equal(verify_text(fx, &fx->key, 1, content, bad),
		SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "line 2: unknown signature "
		"algorithm"));
	free(bad);
	free(content);
	free(sig);
}

static void
test_bad_comments_refused(void **state)
{
	struct fixture *fx = *state;
	struct sign_seckey *sk = load_sec(fx);
	char *sig = (char *)1, *longc;

	assert_int_equal(sign_buffer(sk, "x", 1, "two\nlines", TRUSTED, &sig,
		fx->err, sizeof(fx->err)), SIGN_ERROR);
	assert_null(sig);
	assert_int_equal(sign_buffer(sk, "x", 1, UNTRUSTED, "a\rb", &sig,
		fx->err, sizeof(fx->err)), SIGN_ERROR);
	assert_non_null(strstr(fx->err, "trusted comment has a line break"));
	longc = malloc(SIGN_TRUSTED_MAX + 2);
	assert_non_null(longc);
	memset(longc, 'c', SIGN_TRUSTED_MAX + 1);
	longc[SIGN_TRUSTED_MAX + 1] = '\0';
	assert_int_equal(sign_buffer(sk, "x", 1, UNTRUSTED, longc, &sig,
		fx->err, sizeof(fx->err)), SIGN_ERROR);
	/* The longest allowed comment still round-trips. */
	longc[SIGN_TRUSTED_MAX] = '\0';
	assert_int_equal(sign_buffer(sk, "x", 1, UNTRUSTED, longc, &sig,
		fx->err, sizeof(fx->err)), SIGN_OK);
	assert_int_equal(verify_text(fx, &fx->key, 1, "x", sig), SIGN_OK);
	free(sig);
	free(longc);
	sign_seckey_free(sk);
}

static void
test_keys_never_overwritten(void **state)
{
	struct fixture *fx = *state;
	char *pub = slurp(fx->pub, NULL), *sec = slurp(fx->sec, NULL), *now;
	char lone[160], missing[160];
	struct stat st;

	assert_int_equal(sign_keygen(fx->pub, fx->sec, NULL, fx->err,
		sizeof(fx->err)), SIGN_EXISTS);
	assert_non_null(strstr(fx->err, "never overwritten"));
	now = slurp(fx->pub, NULL);
	assert_string_equal(now, pub);
	free(now);
	now = slurp(fx->sec, NULL);
	assert_string_equal(now, sec);
	free(now);

	/* Only the public key exists: nothing is written at all. */
	snprintf(missing, sizeof(missing), "%s/new.key", fx->dir);
	assert_int_equal(sign_keygen(fx->pub, missing, NULL, fx->err,
		sizeof(fx->err)), SIGN_EXISTS);
	assert_int_equal(stat(missing, &st), -1);
	/* Only the secret key exists. */
	snprintf(lone, sizeof(lone), "%s/new.pub", fx->dir);
	assert_int_equal(sign_keygen(lone, fx->sec, NULL, fx->err,
		sizeof(fx->err)), SIGN_EXISTS);
	assert_int_equal(stat(lone, &st), -1);
	/* A dangling symlink is in the way too. */
	assert_int_equal(symlink("/nonexistent/key", lone), 0);
	assert_int_equal(sign_keygen(lone, missing, NULL, fx->err,
		sizeof(fx->err)), SIGN_EXISTS);
	assert_int_equal(stat(missing, &st), -1);
	/* Same path for both halves. */
	assert_int_equal(sign_keygen(missing, missing, NULL, fx->err,
		sizeof(fx->err)), SIGN_ERROR);
	/* No folder: an error, no stray files. */
	assert_int_equal(sign_keygen("/nonexistent/a.pub",
		"/nonexistent/a.key", NULL, fx->err, sizeof(fx->err)),
		SIGN_ERROR);
	/* Only the fixture's files and the symlink. */
	assert_int_equal(count_entries(fx->dir), 4);
	free(pub);
	free(sec);
}

static void
test_key_modes(void **state)
{
	struct fixture *fx = *state;
	struct stat st;

	assert_int_equal(stat(fx->sec, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(fx->pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* No temp files left beside them. */
	assert_int_equal(count_entries(fx->dir), 3);
}

/* Sets COUNT bytes from AT of the secret key's binary form to SET. */
static void
patch_seckey(struct fixture *fx, size_t at, unsigned char set, size_t count)
{
	unsigned char bin[158];
	char *text = slurp(fx->sec, NULL), *line = strchr(text, '\n') + 1;
	char out[512], b64[256];
	size_t n;

	*strchr(line, '\n') = '\0';
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), line,
		strlen(line), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL),
		0);
	assert_int_equal(n, sizeof(bin));
	memset(bin + at, set, count);
	sodium_bin2base64(b64, sizeof(b64), bin, sizeof(bin),
		sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, sizeof(out), "untrusted comment: x\n%s\n", b64);
	write_file(fx->sec, out, strlen(out));
	free(text);
}

static void
test_secret_key_checks(void **state)
{
	struct fixture *fx = *state;
	struct sign_seckey *sk;
	char *orig;
	size_t len;

	orig = slurp(fx->sec, &len);
	/* kdf_alg "Sc": protected by a password. */
	patch_seckey(fx, 2, 'S', 1);
	patch_seckey(fx, 3, 'c', 1);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_ENCRYPTED);
	assert_non_null(strstr(fx->err, "minisign -G -W"));
	assert_null(sk);

	/* A flipped bit of the secret key fails the checksum. */
	write_file(fx->sec, orig, len);
	patch_seckey(fx, 54 + 8 + 3, 0x55, 1);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "checksum"));

	/* `minisign -G -W` leaves the checksum zero: accepted, since
	 * minisign does, but a damaged key is still caught because its two
	 * halves disagree. */
	write_file(fx->sec, orig, len);
	patch_seckey(fx, 126, 0, 32);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_OK);
	sign_seckey_free(sk);
	patch_seckey(fx, 54 + 8 + 3, 0x55, 1);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "public half"));

	/* Not a key at all. */
	write_file(fx->sec, "hello\n", 6);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_MALFORMED);
	assert_non_null(strstr(fx->err, "line 1"));
	assert_int_equal(sign_seckey_load(fx->dir, &sk, fx->err,
		sizeof(fx->err)), SIGN_MALFORMED);
	assert_int_equal(unlink(fx->sec), 0);
	assert_int_equal(sign_seckey_load(fx->sec, &sk, fx->err,
		sizeof(fx->err)), SIGN_ERROR);
	assert_non_null(strstr(fx->err, "No such file"));
	free(orig);
}

static int
have_minisign(void)
{
	return system("command -v minisign >/dev/null 2>&1") == 0;
}

__attribute__((format(printf, 1, 2)))
static int
run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* minisign verifies what we sign, with the key file or the base64 key,
 * even when it insists on prehashing (-H), and signs with our key. */
static void
test_minisign_verifies_ours(void **state)
{
	struct fixture *fx = *state;
	char b64[SIGN_PUBKEY_BASE64_SIZE], out[160], *sig, *got;

	if (!have_minisign()) {
		print_message("minisign is not installed (Debian package "
			"minisign): interoperability not tested\n");
		skip();
	}
	sig = sign_data(fx);
	write_file(fx->sig, sig, strlen(sig));
	snprintf(out, sizeof(out), "%s/out", fx->dir);
	assert_int_equal(run("minisign -V -H -p %s -m %s -x %s -Q >%s 2>&1",
		fx->pub, fx->data, fx->sig, out), 0);
	got = slurp(out, NULL);
	assert_string_equal(got, TRUSTED "\n");
	free(got);
	sign_pubkey_base64(&fx->key, b64);
	assert_int_equal(run("minisign -V -P %s -m %s -x %s -q", b64,
		fx->data, fx->sig), 0);

	/* minisign refuses what we refuse. */
	write_file(fx->data, "changed\n", 8);
	assert_int_not_equal(run("minisign -V -p %s -m %s -x %s -q "
		">/dev/null 2>&1", fx->pub, fx->data, fx->sig), 0);

	/* Our unencrypted secret key is one minisign -W can use. */
	assert_int_equal(run("minisign -S -W -s %s -m %s -x %s -t 'by "
		"minisign' >/dev/null 2>&1", fx->sec, fx->data, fx->sig), 0);
	assert_int_equal(sign_verify_file(&fx->key, 1, fx->data, fx->sig,
		&got, fx->err, sizeof(fx->err)), SIGN_OK);
	assert_string_equal(got, "by minisign");
	free(got);
	free(sig);
}

/* We load minisign's keys and verify its signatures, legacy ones too. */
static void
test_we_verify_minisign(void **state)
{
	struct fixture *fx = *state;
	char mpub[160], msec[160], *trusted, *sig, *content;
	struct sign_pubkey pub, derived;
	struct sign_seckey *sk;

	if (!have_minisign()) {
		print_message("minisign is not installed (Debian package "
			"minisign): interoperability not tested\n");
		skip();
	}
	snprintf(mpub, sizeof(mpub), "%s/m.pub", fx->dir);
	snprintf(msec, sizeof(msec), "%s/m.key", fx->dir);
	assert_int_equal(run("minisign -G -W -p %s -s %s >/dev/null 2>&1",
		mpub, msec), 0);
	if (sign_pubkey_load(mpub, &pub, fx->err, sizeof(fx->err)) != SIGN_OK)
		fail_msg("%s", fx->err);
	if (sign_seckey_load(msec, &sk, fx->err, sizeof(fx->err)) != SIGN_OK)
		fail_msg("%s", fx->err);
	sign_seckey_pubkey(sk, &derived);
	assert_memory_equal(&derived, &pub, sizeof(pub));

	assert_int_equal(run("minisign -S -W -s %s -m %s -x %s -c 'from "
		"minisign' -t 'timestamp:1\tfile:x' >/dev/null 2>&1", msec,
		fx->data, fx->sig), 0);
	assert_int_equal(sign_verify_file(&pub, 1, fx->data, fx->sig,
		&trusted, fx->err, sizeof(fx->err)), SIGN_OK);
	assert_string_equal(trusted, "timestamp:1\tfile:x");
	free(trusted);
	assert_int_equal(sign_verify_file(&fx->key, 1, fx->data, fx->sig,
		NULL, fx->err, sizeof(fx->err)), SIGN_UNKNOWN_KEY);

	/* Legacy "Ed": the signature covers the content itself. */
	assert_int_equal(run("minisign -S -l -W -s %s -m %s -x %s -t legacy "
		">/dev/null 2>&1", msec, fx->data, fx->sig), 0);
	sig = slurp(fx->sig, NULL);
	assert_non_null(strstr(sig, "\nRW"));	/* "Ed" */
	assert_int_equal(sign_verify_file(&pub, 1, fx->data, fx->sig,
		&trusted, fx->err, sizeof(fx->err)), SIGN_OK);
	assert_string_equal(trusted, "legacy");
	free(trusted);
	content = slurp(fx->data, NULL);
	content[0] ^= 1;
	assert_int_equal(verify_text(fx, &pub, 1, content, sig),
		SIGN_BAD_SIGNATURE);
	free(content);
	free(sig);

	/* And what we sign with minisign's key, minisign verifies. */
	assert_int_equal(sign_file(sk, fx->data, UNTRUSTED, TRUSTED, &sig,
		fx->err, sizeof(fx->err)), SIGN_OK);
	write_file(fx->sig, sig, strlen(sig));
	assert_int_equal(run("minisign -V -p %s -m %s -x %s -q", mpub,
		fx->data, fx->sig), 0);
	free(sig);
	sign_seckey_free(sk);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_pubkey_file_and_base64),
		T(test_tampered_content),
		T(test_tampered_trusted_comment),
		T(test_wrong_key),
		T(test_truncated_files),
		T(test_malformed_signatures),
		T(test_bad_comments_refused),
		T(test_keys_never_overwritten),
		T(test_key_modes),
		T(test_secret_key_checks),
		T(test_minisign_verifies_ours),
		T(test_we_verify_minisign),
	};

	if (hash_init_library() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
