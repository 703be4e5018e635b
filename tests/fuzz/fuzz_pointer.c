/* libFuzzer target: latest.json as consumers parse it (after its
 * signature checked out) and SHA256SUMS-like text: release_pointer_parse
 * must refuse anything but the format, and what it accepts must come
 * back out of release_pointer_text and parse again to the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct release_pointer p, again;
	char err[1024], *text;

	if (release_pointer_parse((const char *)data, size, "fuzz", &p, err,
	    sizeof(err)) != RELEASE_OK)
		return 0;
	if (!(text = release_pointer_text(&p))) {
		release_pointer_free(&p);
		return 0;
	}
	if (release_pointer_parse(text, strlen(text), "again", &again, err,
	    sizeof(err)) != RELEASE_OK || again.serial != p.serial ||
	    again.created != p.created || again.expires != p.expires ||
	    again.nkept != p.nkept || again.nrevoked != p.nrevoked ||
	    strcmp(again.sums_sha256, p.sums_sha256) != 0)
		__builtin_trap();
	release_pointer_free(&again);
	release_pointer_free(&p);
	free(text);
	return 0;
}
