/* vforge verity format|verify: the veritysetup-compatible front end. */
#include "builder/cli/cli.h"

#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/verity/verity.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define MAX_THREADS 1024

/* What the user gave explicitly, to compare against a superblock on verify. */
struct verity_args {
	struct vf_verity_params p;
	bool set_hash, set_dbs, set_hbs, set_blocks, set_salt, set_uuid, set_format;
	unsigned threads;
	bool json;
};

enum {
	OPT_HASH = 256, OPT_DBS, OPT_HBS, OPT_BLOCKS, OPT_OFFSET, OPT_UUID, OPT_NOSB,
	OPT_FORMAT, OPT_THREADS, OPT_JSON, OPT_HELP,
};

static int parse_block_size(const struct vf_cli_cmd *self, const char *opt, const char *text,
			    uint32_t *ret)
{
	uint64_t v;
	int rc = vf_cli_parse_u64(self, opt, text, &v);

	if (rc)
		return rc;
	if (v > UINT32_MAX)
		v = UINT32_MAX;
	*ret = (uint32_t)v;
	return VF_EXIT_OK;
}

/* Parse options; positional arguments are left in argv[optind..]. -1: help shown. */
static int parse_args(const struct vf_cli_cmd *self, int argc, char **argv,
		      struct verity_args *a)
{
	static const struct option opts[] = {
		{ "hash", required_argument, NULL, OPT_HASH },
		{ "data-block-size", required_argument, NULL, OPT_DBS },
		{ "hash-block-size", required_argument, NULL, OPT_HBS },
		{ "data-blocks", required_argument, NULL, OPT_BLOCKS },
		{ "hash-offset", required_argument, NULL, OPT_OFFSET },
		{ "salt", required_argument, NULL, 's' },
		{ "uuid", required_argument, NULL, OPT_UUID },
		{ "no-superblock", no_argument, NULL, OPT_NOSB },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct vf_err err = { 0 };
	uint64_t v;
	int c, rc;

	vf_verity_params_init(&a->p);
	a->threads = vf_cli_online_cpus();
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":s:", opts, NULL)) != -1) {
		rc = VF_EXIT_OK;
		switch (c) {
		case OPT_HASH:
			if (strlen(optarg) >= sizeof(a->p.hash_name))
				return vf_cli_usage(self, "--hash: unknown hash '%.40s'", optarg);
			snprintf(a->p.hash_name, sizeof(a->p.hash_name), "%s", optarg);
			for (char *q = a->p.hash_name; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q - 'A' + 'a');
			a->set_hash = true;
			break;
		case OPT_DBS:
			rc = parse_block_size(self, "--data-block-size", optarg, &a->p.data_block_size);
			a->set_dbs = true;
			break;
		case OPT_HBS:
			rc = parse_block_size(self, "--hash-block-size", optarg, &a->p.hash_block_size);
			a->set_hbs = true;
			break;
		case OPT_BLOCKS:
			rc = vf_cli_parse_u64(self, "--data-blocks", optarg, &a->p.data_blocks);
			if (!rc && a->p.data_blocks == 0)
				return vf_cli_usage(self, "--data-blocks: must be at least 1");
			a->set_blocks = true;
			break;
		case OPT_OFFSET:
			rc = vf_cli_parse_u64(self, "--hash-offset", optarg, &a->p.hash_offset);
			break;
		case 's':
			if (vf_verity_salt_parse(optarg, &a->p, &err))
				return vf_cli_usage(self, "--salt: %s", err.msg);
			a->set_salt = true;
			break;
		case OPT_UUID:
			if (vf_uuid_parse(optarg, a->p.uuid))
				return vf_cli_usage(self, "--uuid: '%.60s' is not a UUID "
						    "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", optarg);
			a->set_uuid = true;
			break;
		case OPT_NOSB:
			a->p.superblock = false;
			break;
		case OPT_FORMAT:
			rc = vf_cli_parse_u64(self, "--format", optarg, &v);
			if (!rc && v > 1)
				return vf_cli_usage(self, "--format: expected 0 or 1, got %s", optarg);
			a->p.hash_type = (uint32_t)v;
			a->set_format = true;
			break;
		case OPT_THREADS:
			rc = vf_cli_parse_u64(self, "--threads", optarg, &v);
			if (!rc && (v == 0 || v > MAX_THREADS))
				return vf_cli_usage(self, "--threads: expected 1 to %d, got %s",
						    MAX_THREADS, optarg);
			a->threads = (unsigned)v;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_HELP:
			vf_cli_help(self);
			return -1;
		default:
			return vf_cli_bad_option(self, NULL, c, argv);
		}
		if (rc)
			return rc;
	}
	return VF_EXIT_OK;
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void format_salt(const struct vf_verity_params *p, char *out)
{
	if (p->salt_size)
		vf_hex_format(p->salt, p->salt_size, out);
	else
		strcpy(out, "-");
}

static void print_params_json(const struct vf_verity_params *p, const struct vf_verity_result *res)
{
	char uuid[VF_UUID_TEXT_LEN + 1], salt[2 * VF_VERITY_MAX_SALT + 2], root[2 * VF_DIGEST_MAX + 1];
	const struct vf_verity_geometry *g = &res->geometry;

	vf_uuid_format(p->uuid, uuid);
	vf_hex_format(p->salt, p->salt_size, salt);
	vf_hex_format(res->root, res->root_size, root);
	printf("{\"uuid\":");
	if (p->superblock)
		printf("\"%s\"", uuid);
	else
		printf("null");
	printf(",\"hash_type\":%u,\"data_blocks\":%llu,\"data_block_size\":%u,"
	       "\"hash_block_size\":%u,\"hash_algorithm\":\"%s\",\"salt\":\"%s\","
	       "\"root_hash\":\"%s\",\"hash_offset\":%llu,\"hash_size\":%llu,"
	       "\"hash_blocks\":%llu,\"hash_start\":%llu,\"superblock\":%s",
	       p->hash_type, (unsigned long long)p->data_blocks, p->data_block_size,
	       p->hash_block_size, p->hash_name, salt, root, (unsigned long long)p->hash_offset,
	       (unsigned long long)(g->hash_end - p->hash_offset),
	       (unsigned long long)g->hash_blocks, (unsigned long long)g->hash_start_block,
	       p->superblock ? "true" : "false");
}

static void print_format_text(const char *hash_path, const struct vf_verity_params *p,
			      const struct vf_verity_result *res)
{
	char uuid[VF_UUID_TEXT_LEN + 1], salt[2 * VF_VERITY_MAX_SALT + 2], root[2 * VF_DIGEST_MAX + 1];

	vf_uuid_format(p->uuid, uuid);
	format_salt(p, salt);
	vf_hex_format(res->root, res->root_size, root);
	printf("VERITY header information for %s\n", hash_path);
	printf("UUID:            \t%s\n", p->superblock ? uuid : "");
	printf("Hash type:       \t%u\n", p->hash_type);
	printf("Data blocks:     \t%llu\n", (unsigned long long)p->data_blocks);
	printf("Data block size: \t%u\n", p->data_block_size);
	printf("Hash blocks:     \t%llu\n", (unsigned long long)res->geometry.hash_blocks);
	printf("Hash block size: \t%u\n", p->hash_block_size);
	printf("Hash algorithm:  \t%s\n", p->hash_name);
	printf("Salt:            \t%s\n", salt);
	printf("Root hash:      \t%s\n", root);
	/* as veritysetup: only without a hash offset, and counted in whole hash blocks */
	if (p->hash_offset == 0)
		printf("Hash device size: \t%llu [bytes]\n",
		       (unsigned long long)((res->geometry.hash_start_block +
					     res->geometry.hash_blocks) * p->hash_block_size));
}

static int run_format(const struct vf_cli_cmd *self, struct verity_args *a, int argc, char **argv)
{
	struct vf_verity_opts opts = { .threads = a->threads };
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	int r;

	if (argc - optind != 2)
		return vf_cli_usage(self, "format takes <data_file> <hash_file>");
	if (!a->set_salt && vf_verity_salt_random(&a->p, 32, &err))
		return vf_cli_fail(&err);
	if (a->p.superblock && !a->set_uuid && vf_verity_uuid_random(&a->p, &err))
		return vf_cli_fail(&err);
	if (!a->json && vf_cli_show_progress()) {
		opts.progress = vf_cli_progress;
		opts.progress_ctx = (void *)"verity: hashing";
	}
	r = vf_verity_format_file(argv[optind], argv[optind + 1], &a->p, &opts, &res, &err);
	if (opts.progress)
		vf_cli_progress_done();
	if (r)
		return vf_cli_fail(&err);
	if (a->json) {
		print_params_json(&a->p, &res);
		printf("}\n");
	} else {
		print_format_text(argv[optind + 1], &a->p, &res);
	}
	return VF_EXIT_OK;
}

/* With a superblock, options given explicitly must agree with it. */
static int check_against_sb(const struct verity_args *a, const struct vf_verity_params *sb,
			    const char *hash_path)
{
	const char *what = NULL;

	if (a->set_hash && strcmp(a->p.hash_name, sb->hash_name))
		what = "--hash";
	else if (a->set_dbs && a->p.data_block_size != sb->data_block_size)
		what = "--data-block-size";
	else if (a->set_hbs && a->p.hash_block_size != sb->hash_block_size)
		what = "--hash-block-size";
	else if (a->set_blocks && a->p.data_blocks != sb->data_blocks)
		what = "--data-blocks";
	else if (a->set_format && a->p.hash_type != sb->hash_type)
		what = "--format";
	else if (a->set_uuid && memcmp(a->p.uuid, sb->uuid, 16))
		what = "--uuid";
	else if (a->set_salt &&
		 (a->p.salt_size != sb->salt_size || memcmp(a->p.salt, sb->salt, sb->salt_size)))
		what = "--salt";
	if (!what)
		return VF_EXIT_OK;
	fprintf(stderr, "vforge: error: hash file '%s': %s does not match its superblock "
		"(pass --no-superblock to ignore the superblock)\n", hash_path, what);
	return VF_EXIT_FAIL;
}

static const char *failure_kind(enum vf_verity_failure_kind k)
{
	switch (k) {
	case VF_VERITY_FAIL_ROOT: return "root_hash";
	case VF_VERITY_FAIL_HASH_BLOCK: return "hash_block";
	case VF_VERITY_FAIL_PADDING: return "padding";
	case VF_VERITY_FAIL_TRUNCATED: return "truncated";
	case VF_VERITY_FAIL_DATA_BLOCK: return "data_block";
	case VF_VERITY_FAIL_NONE: break;
	}
	return "none";
}

static int run_verify(const struct vf_cli_cmd *self, struct verity_args *a, int argc, char **argv)
{
	struct vf_verity_opts opts = { .threads = a->threads };
	struct vf_verity_failure fail;
	struct vf_verity_result res = { 0 };
	struct vf_verity_params p;
	struct vf_err err = { 0 };
	const char *data, *hash;
	size_t root_len = 0;
	int r, rc;

	if (argc - optind != 3)
		return vf_cli_usage(self, "verify takes <data_file> <hash_file> <root_hash>");
	data = argv[optind];
	hash = argv[optind + 1];
	if (vf_hex_parse(argv[optind + 2], res.root, sizeof(res.root), &root_len) || !root_len)
		return vf_cli_usage(self, "root hash '%.140s' is not a hex string", argv[optind + 2]);
	res.root_size = root_len;
	p = a->p;
	if (p.superblock) {
		if (vf_verity_sb_load(hash, a->p.hash_offset, &p, &err))
			return vf_cli_fail(&err);
		if ((rc = check_against_sb(a, &p, hash)))
			return rc;
	}
	if (!a->json && vf_cli_show_progress()) {
		opts.progress = vf_cli_progress;
		opts.progress_ctx = (void *)"verity: verifying";
	}
	r = vf_verity_verify_file(data, hash, &p, &opts, res.root, res.root_size, &fail, &err);
	if (opts.progress)
		vf_cli_progress_done();
	if (r && r != -VF_EVERIFY)
		return vf_cli_fail(&err);
	if (a->json) {
		vf_verity_geometry_build(&p, &res.geometry, NULL);
		print_params_json(&p, &res);
		printf(",\"verified\":%s", r ? "false" : "true");
		if (r) {
			printf(",\"failure\":{\"kind\":\"%s\",\"block\":%llu,\"level\":%u,"
			       "\"offset\":%llu,\"message\":",
			       failure_kind(fail.kind), (unsigned long long)fail.block, fail.level,
			       (unsigned long long)fail.offset);
			print_json_string(err.msg);
			printf("}");
		}
		printf("}\n");
	} else if (!r) {
		char root[2 * VF_DIGEST_MAX + 1];

		vf_hex_format(res.root, res.root_size, root);
		printf("verified: %llu data blocks of '%s' match root hash %s\n",
		       (unsigned long long)p.data_blocks, data, root);
	}
	if (r)
		return vf_cli_fail(&err);
	return VF_EXIT_OK;
}

int cmd_verity(int argc, char **argv)
{
	const struct vf_cli_cmd *self = vf_cli_cmd_find("verity");
	struct verity_args a;
	bool format;
	int rc;

	memset(&a, 0, sizeof(a));
	if (argc < 2)
		return vf_cli_usage(self, "missing subcommand: expected 'format' or 'verify'");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		vf_cli_help(self);
		return VF_EXIT_OK;
	}
	if (strcmp(argv[1], "format") == 0)
		format = true;
	else if (strcmp(argv[1], "verify") == 0)
		format = false;
	else
		return vf_cli_usage(self, "unknown subcommand '%s': expected 'format' or 'verify'",
				    argv[1]);
	argc--;
	argv++;
	rc = parse_args(self, argc, argv, &a);
	if (rc)
		return rc < 0 ? VF_EXIT_OK : rc;
	return format ? run_format(self, &a, argc, argv) : run_verify(self, &a, argc, argv);
}
