/* SHA-256 (libsodium) with lower-case hex output. */
#ifndef CYBIL_HASH_H
#define CYBIL_HASH_H

#include <sodium.h>
#include <stddef.h>

#define HASH_HEX_SIZE (2 * crypto_hash_sha256_BYTES + 1)

struct hash {
	crypto_hash_sha256_state state;
};

/* Must run once before any other libsodium call; returns 0 or -1. */
int hash_init_library(void);

void hash_begin(struct hash *h);
void hash_update(struct hash *h, const void *data, size_t len);
void hash_end_hex(struct hash *h, char hex[HASH_HEX_SIZE]);
void hash_sha256_hex(const void *data, size_t len, char hex[HASH_HEX_SIZE]);

#endif
