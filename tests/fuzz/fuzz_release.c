/* libFuzzer target: a release archive as cybil-verify and cybil-pull
 * read it (lib/release.c over lib/tarball.c), from bytes that are
 * anything at all. Must never crash, leak or read out of bounds. An
 * input whose first byte is odd is the rest zstd-compressed here, so the
 * fuzzer explores the tar and JSON inside rather than only zstd frames;
 * an even one is read as it is. */
#define _GNU_SOURCE	/* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "hash.h"
#include "release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small limits: the fuzzer should explore the format, not memory. */
	static const struct tarball_limits limits = {
		.max_total = 4 << 20, .max_entry = 2 << 20, .max_entries = 16,
	};
	struct release_content c;
	char path[64], err[1024];
	void *packed = NULL;
	int fd;

	if (size == 0 || hash_init_library() < 0)
		return 0;
	if (data[0] & 1) {
		size_t cap = ZSTD_compressBound(size - 1);

		if (!(packed = malloc(cap)))
			return 0;
		cap = ZSTD_compress(packed, cap, data + 1, size - 1, 1);
		if (ZSTD_isError(cap)) {
			free(packed);
			return 0;
		}
		data = packed;
		size = cap;
	}
	if ((fd = memfd_create("release", MFD_CLOEXEC)) < 0) {
		free(packed);
		return 0;
	}
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (release_content_read(path, 1, &limits, &c, err,
		    sizeof(err)) == RELEASE_OK)
			release_content_free(&c);
	}
	close(fd);
	free(packed);
	return 0;
}
