/* libFuzzer target: every parser of cybil-parse (rss, atom, html, iati,
 * oai-pmh) on any bytes, as --dump runs them: the first byte picks the
 * parser, the rest is the document. Hostile XML must be refused or parsed
 * within the limits, never crash, leak or touch the network. */
#define _GNU_SOURCE	/* memfd_create */
#include <libxml/parser.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "hash.h"
#include "parser.h"	/* parse/, for this test only */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = { "rss", "atom", "html", "iati",
	"oai-pmh" };

static int
drop_record(struct parse_context *ctx, struct record *rec)
{
	ctx->records++;
	record_free(rec);
	return 0;
}

static int
ignore_follow(struct parse_context *ctx, const char *url, const char *why)
{
	(void)ctx;
	(void)url;
	(void)why;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *cfg;
	struct parse_context ctx = {
		.emit = drop_record, .follow = ignore_follow,
		.base_url = "http://fuzz.example/feed",
	};
	int fd;

	if (!cfg) {
		xmlInitParser();
		if (hash_init_library() < 0 || !(cfg = config_defaults()))
			return 0;
		/* Small limits: explore the formats, not memory. */
		cfg->parse_max_records = 200;
		cfg->parse_max_field = 64 * 1024;
		cfg->parse_entity_budget = 64 * 1024;
		cfg->fetch_max_bytes = 1 << 20;
	}
	if (size < 1 || (fd = memfd_create("doc", MFD_CLOEXEC)) < 0)
		return 0;
	ctx.cfg = cfg;
	if (write(fd, data + 1, size - 1) == (ssize_t)(size - 1) &&
	    lseek(fd, 0, SEEK_SET) == 0)
		parser_for(kinds[data[0] % 5])->parse(&ctx, fd);
	close(fd);
	json_decref(ctx.document);
	free(ctx.harvest_from);
	return 0;
}
