/* vforge pack: a deterministic package archive (tar.zst) from a directory. */
#include "builder/cli/cli.h"

#include "builder/base/hex.h"
#include "builder/tree/pack.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_OWNER = 256, OPT_MTIME, OPT_LEVEL, OPT_HELP };

#define MAX_LEVEL 22

/* Parse "UID:GID" (decimal, each below 2^32). */
static int parse_owner(const struct vf_cli_cmd *self, const char *text, struct vf_pack_opts *o)
{
	const char *colon = strchr(text, ':');
	uint64_t uid, gid;
	char *uid_text;
	int rc;

	if (!colon || colon == text || !colon[1] || strchr(colon + 1, ':'))
		return vf_cli_usage(self, "--owner: expected UID:GID (numbers), got '%s'", text);
	uid_text = strndup(text, (size_t)(colon - text));
	if (!uid_text) {
		fprintf(stderr, "vforge: error: out of memory\n");
		return VF_EXIT_FAIL;
	}
	rc = vf_cli_parse_u64(self, "--owner UID", uid_text, &uid);
	free(uid_text);
	if (rc)
		return rc;
	if ((rc = vf_cli_parse_u64(self, "--owner GID", colon + 1, &gid)))
		return rc;
	if (uid > UINT32_MAX || gid > UINT32_MAX)
		return vf_cli_usage(self, "--owner: ids must be below 2^32, got '%s'", text);
	o->set_owner = true;
	o->uid = (uint32_t)uid;
	o->gid = (uint32_t)gid;
	return VF_EXIT_OK;
}

static int parse_epoch(const struct vf_cli_cmd *self, const char *what, const char *text,
		       int64_t *ret)
{
	uint64_t v;
	int rc = vf_cli_parse_u64(self, what, text, &v);

	if (rc)
		return rc;
	if (v > INT64_MAX)
		return vf_cli_usage(self, "%s: '%s' is too large", what, text);
	*ret = (int64_t)v;
	return VF_EXIT_OK;
}

/*
 * Options to pack with. mtimes: --mtime EPOCH clamps to EPOCH; else the
 * environment's SOURCE_DATE_EPOCH clamps; else every mtime is set to 0, so an
 * archive never records when its files happened to be written.
 */
int cmd_pack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "owner", required_argument, NULL, OPT_OWNER },
		{ "mtime", required_argument, NULL, OPT_MTIME },
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const struct vf_cli_cmd *self = vf_cli_cmd_find("pack");
	struct vf_pack_opts po = { 0 };
	struct vf_err err = { 0 };
	const char *out = NULL;
	char hex[2 * 32 + 1];
	uint8_t sha[32];
	bool have_mtime = false;
	uint64_t level;
	int c, rc = VF_EXIT_OK;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_OWNER:
			rc = parse_owner(self, optarg, &po);
			break;
		case OPT_MTIME:
			rc = parse_epoch(self, "--mtime", optarg, &po.mtime);
			have_mtime = true;
			break;
		case OPT_LEVEL:
			rc = vf_cli_parse_u64(self, "--level", optarg, &level);
			if (!rc && (level < 1 || level > MAX_LEVEL))
				return vf_cli_usage(self, "--level: expected 1 to %d, got %s", MAX_LEVEL,
						    optarg);
			po.level = (int)level;
			break;
		case OPT_HELP:
			vf_cli_help(self);
			return VF_EXIT_OK;
		default:
			return vf_cli_bad_option(self, NULL, c, argv);
		}
		if (rc)
			return rc;
	}
	if (argc - optind == 0)
		return vf_cli_usage(self, "missing the directory to pack");
	if (argc - optind > 1)
		return vf_cli_usage(self, "expected one directory, got %d arguments", argc - optind);
	if (!out)
		return vf_cli_usage(self, "missing -o <pkg.tar.zst>");
	if (!out[0])
		return vf_cli_usage(self, "-o: empty file name");

	if (!have_mtime && (rc = vf_cli_source_date_epoch(&have_mtime, &po.mtime)))
		return rc;
	if (have_mtime) {
		po.clamp_mtime = true;
	} else {
		po.set_mtime = true;
		po.mtime = 0;
	}

	if (vf_pack_dir(argv[optind], out, &po, sha, &err))
		return vf_cli_fail(&err);
	vf_hex_format(sha, sizeof(sha), hex);
	printf("%s  %s\n", hex, out);
	return VF_EXIT_OK;
}
