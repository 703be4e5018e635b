/* libFuzzer target: the INI configuration reader (inih underneath) on
 * any bytes. A file is accepted whole or refused with FILE:LINE: why;
 * it must never crash or leak either way. */
#define _GNU_SOURCE	/* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char path[64], err[1024];
	int fd;

	if ((fd = memfd_create("cybil.conf", MFD_CLOEXEC)) < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (config_load(path, &cfg, err, sizeof(err)) == 0)
			config_free(cfg);
	}
	close(fd);
	return 0;
}
