/* cybil-verify: a downstream site's check of a published tree, one
 * release folder, or one archive (SPEC §6). It trusts nothing it reads
 * before a signature by one of the given keys covers it, reads with
 * caps, and stops at the first problem, naming it (exit 3). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "release.h"

#define PROGRAM "cybil-verify"
#define PUBKEYS_MAX 16

struct options {
	const char *config;
	int quiet, verbose;
	const char *pubkeys[PUBKEYS_MAX];
	size_t npubkeys;
	const char *target;
};

struct verifier {
	struct sign_pubkey *keys;
	size_t nkeys;
	char err[8192];
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [-qv] [-c FILE] [--pubkey FILE]... DIR|ARCHIVE\n"
		"\n"
		"Checks a published tree (DIR with latest.json), one release\n"
		"folder (DIR with SHA256SUMS) or one archive (with SHA256SUMS and\n"
		"its signature beside it): signatures, sums, sizes, every archive\n"
		"entry and JSON line, and changes and tombstones against the\n"
		"release before when it is there. Exit 0, or 3 naming the first\n"
		"problem.\n"
		"\n"
		"  --pubkey FILE  a minisign public key to accept (repeatable);\n"
		"                 else [publish] key.pub of the configuration\n"
		"  -c FILE        configuration (optional)\n"
		"  -q             print only failures; -v: more detail\n"
		"  -h, --help     this help; --version: the version\n");
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'v': o->verbose = 1; break;
		case 'p':
			if (o->npubkeys == PUBKEYS_MAX) {
				log_error("at most %d --pubkey", PUBKEYS_MAX);
				return EXIT_USAGE;
			}
			o->pubkeys[o->npubkeys++] = optarg;
			break;
		case 'h': usage(stdout); return -1;
		case 'V': cli_print_version(PROGRAM); return -1;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	o->target = argv[optind];
	return 0;
}

/* The keys: --pubkey, else the configuration's [publish] key.pub. */
static int
load_keys(const struct options *o, struct verifier *v)
{
	struct config *cfg = NULL;
	const char *path;
	char *pub = NULL;
	bool named;
	int rc;

	if (o->npubkeys) {
		v->nkeys = o->npubkeys;
		rc = release_load_keys(o->pubkeys, o->npubkeys, &v->keys,
			v->err, sizeof(v->err));
		goto out;
	}
	path = config_locate(o->config, &named);
	if (!path && !named) {
		log_error("no key: give --pubkey FILE, or -c FILE with a "
			"[publish] key");
		return EXIT_USAGE;
	}
	if ((rc = cli_load_config(o->config, &cfg, NULL)) != 0)
		return rc;
	if (!(pub = config_pubkey_path(cfg))) {
		config_free(cfg);
		return EXIT_PARTIAL;
	}
	v->nkeys = 1;
	rc = release_load_keys((const char *const *)&pub, 1, &v->keys, v->err,
		sizeof(v->err));
	free(pub);
	config_free(cfg);
out:
	if (rc == RELEASE_OK)
		return 0;
	log_error("%s", v->err);
	return EXIT_USAGE;
}

static int
refused(struct verifier *v)
{
	log_error("%s", v->err);
	return EXIT_REFUSED;
}

static bool
is_file(const char *dir, const char *name)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Checks that CUR, the release in folder DIR, follows from the release
 * before it: KNOWN when that is it (already read and checked), else the
 * folder beside DIR when there is one. */
static int
check_follows(struct verifier *v, const char *dir,
	const struct release_content *cur, const struct release_content *known)
{
	struct release_content prev;
	char prevdir[4200], *slash;
	int rc = 0;

	if (!cur->previous)
		return 0;
	if (known && known->serial == cur->previous)
		return release_content_follows(known, cur, v->err,
			sizeof(v->err)) == RELEASE_OK ? 0 : refused(v);
	snprintf(prevdir, sizeof(prevdir), "%s", dir);
	if (!(slash = strrchr(prevdir, '/')))
		return 0;
	snprintf(slash + 1, sizeof(prevdir) - (size_t)(slash + 1 - prevdir),
		"%06" PRId64, cur->previous);
	if (access(prevdir, F_OK) < 0) {
		log_debug("release %06" PRId64 " is not beside %s: changes not "
			"checked against it", cur->previous, dir);
		return 0;
	}
	if (release_verify_dir(prevdir, cur->previous, v->keys, v->nkeys, NULL,
	    &prev, v->err, sizeof(v->err)) != RELEASE_OK)
		return refused(v);
	if (release_content_follows(&prev, cur, v->err, sizeof(v->err)) !=
	    RELEASE_OK)
		rc = refused(v);
	release_content_free(&prev);
	return rc;
}

/* Checks release folder DIR of SERIAL into *OUT, and that it follows
 * from the release before it (see check_follows). */
static int
verify_release(struct verifier *v, const char *dir, int64_t serial,
	const struct release_content *known, struct release_content *out)
{
	int rc;

	if (release_verify_dir(dir, serial, v->keys, v->nkeys, NULL, out,
	    v->err, sizeof(v->err)) != RELEASE_OK)
		return refused(v);
	if ((rc = check_follows(v, dir, out, known)) != 0)
		release_content_free(out);
	return rc;
}

static int
serial_from(const char *name, const char *prefix, const char *suffix,
	int64_t *serial)
{
	size_t plen = strlen(prefix), slen = strlen(suffix);
	size_t n = strlen(name);
	char digits[RELEASE_SERIAL_SIZE];

	if (n != plen + RELEASE_SERIAL_SIZE - 1 + slen ||
	    strncmp(name, prefix, plen) != 0 ||
	    strcmp(name + n - slen, suffix) != 0)
		return -1;
	memcpy(digits, name + plen, RELEASE_SERIAL_SIZE - 1);
	digits[RELEASE_SERIAL_SIZE - 1] = '\0';
	if (strspn(digits, "0123456789") != RELEASE_SERIAL_SIZE - 1 ||
	    (*serial = strtoll(digits, NULL, 10)) < 1)
		return -1;
	return 0;
}

/* The whole tree: the pointer, the release it names, and every release
 * it says is kept, each checked against the one before. */
/* The kept releases, oldest first, each read once and checked against
 * the one before; CURRENT, the pointer's own release, is already read. */
static int
verify_kept(struct verifier *v, const char *tree,
	const struct release_pointer *ptr, struct release_content *current,
	uint64_t *records)
{
	struct release_content prev = { 0 }, cur;
	char dir[4200];
	int rc = 0;

	for (size_t i = 0; i < ptr->nkept && rc == 0; i++) {
		if (ptr->kept[i] > ptr->serial) {
			snprintf(v->err, sizeof(v->err), RELEASE_POINTER
				" keeps release %06" PRId64 ", after its own",
				ptr->kept[i]);
			rc = refused(v);
			break;
		}
		snprintf(dir, sizeof(dir), "%s/" RELEASE_DIR "/%06" PRId64,
			tree, ptr->kept[i]);
		if (ptr->kept[i] == ptr->serial) {
			cur = *current;
			memset(current, 0, sizeof(*current));
			*records = cur.nrecords;
			if ((rc = check_follows(v, dir, &cur, prev.serial ?
			    &prev : NULL)) != 0)
				release_content_free(&cur);
		} else {
			rc = verify_release(v, dir, ptr->kept[i], prev.serial ?
				&prev : NULL, &cur);
		}
		release_content_free(&prev);
		if (rc == 0)
			prev = cur;
	}
	release_content_free(&prev);
	return rc;
}

/* The whole tree: the pointer, the release it names, and every release
 * it says is kept, each checked against the one before. */
static int
verify_tree(struct verifier *v, const char *tree, bool quiet)
{
	struct release_pointer ptr;
	struct release_content current = { 0 };
	char dir[4200];
	uint64_t records = 0;
	int rc;

	if (release_read_pointer(tree, v->keys, v->nkeys, &ptr, v->err,
	    sizeof(v->err)) != RELEASE_OK)
		return refused(v);
	if (release_pointer_current(&ptr, time(NULL), RELEASE_POINTER, v->err,
	    sizeof(v->err)) != RELEASE_OK ||
	    release_verify_pointed(tree, &ptr, v->keys, v->nkeys, NULL,
	    &current, v->err, sizeof(v->err)) != RELEASE_OK) {
		rc = refused(v);
		goto out;
	}
	rc = verify_kept(v, tree, &ptr, &current, &records);
	for (size_t i = 0; i < ptr.nrevoked && rc == 0; i++) {
		snprintf(dir, sizeof(dir), "%s/" RELEASE_DIR "/%06" PRId64,
			tree, ptr.revoked[i]);
		if (access(dir, F_OK) == 0) {
			snprintf(v->err, sizeof(v->err), "%s: revoked, but "
				"still there", dir);
			rc = refused(v);
		}
	}
	if (rc == 0 && !quiet)
		printf("%s: release %06" PRId64 " (%" PRIu64 " records, %zu "
			"kept, %zu revoked) verifies\n", tree, ptr.serial,
			records, ptr.nkept, ptr.nrevoked);
out:
	release_content_free(&current);
	release_pointer_free(&ptr);
	return rc;
}

static int
verify_target(struct verifier *v, const char *target, bool quiet)
{
	struct release_content cur;
	char dir[4200], *slash;
	const char *base;
	struct stat st;
	int64_t serial;
	int rc;

	if (stat(target, &st) < 0) {
		log_error("%s: %s", target, strerror(errno));
		return EXIT_REFUSED;
	}
	if (S_ISDIR(st.st_mode) && is_file(target, RELEASE_POINTER))
		return verify_tree(v, target, quiet);
	snprintf(dir, sizeof(dir), "%s", target);
	while ((slash = strrchr(dir, '/')) && slash[1] == '\0' && slash > dir)
		*slash = '\0';
	if (S_ISDIR(st.st_mode)) {
		base = (slash = strrchr(dir, '/')) ? slash + 1 : dir;
		if (serial_from(base, "", "", &serial) < 0) {
			log_error("%s: neither a tree with " RELEASE_POINTER
				" nor a release folder NNNNNN", target);
			return EXIT_REFUSED;
		}
	} else {
		base = (slash = strrchr(dir, '/')) ? slash + 1 : dir;
		if (serial_from(base, "cybil-", ".tar.zst", &serial) < 0) {
			log_error("%s: not named cybil-NNNNNN.tar.zst", target);
			return EXIT_REFUSED;
		}
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
	}
	if ((rc = verify_release(v, dir, serial, NULL, &cur)) != 0)
		return rc;
	if (!quiet)
		printf("%s: release %06" PRId64 " (%zu records) verifies\n",
			target, serial, cur.nrecords);
	release_content_free(&cur);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct verifier v = { 0 };
	int rc;

	cli_init(PROGRAM);
	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc < 0 ? cli_finish(0) : rc;
	cli_set_verbosity(o.quiet, o.verbose);
	if ((rc = load_keys(&o, &v)) == 0)
		rc = verify_target(&v, o.target, o.quiet);
	free(v.keys);
	return cli_finish(rc);
}
