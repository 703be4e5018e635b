#include "hash.h"

int
hash_init_library(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void
hash_begin(struct hash *h)
{
	crypto_hash_sha256_init(&h->state);
}

void
hash_update(struct hash *h, const void *data, size_t len)
{
	crypto_hash_sha256_update(&h->state, data, len);
}

void
hash_end_hex(struct hash *h, char hex[HASH_HEX_SIZE])
{
	unsigned char digest[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_final(&h->state, digest);
	sodium_bin2hex(hex, HASH_HEX_SIZE, digest, sizeof(digest));
}

void
hash_sha256_hex(const void *data, size_t len, char hex[HASH_HEX_SIZE])
{
	struct hash h;

	hash_begin(&h);
	hash_update(&h, data, len);
	hash_end_hex(&h, hex);
}
