/* vforge build: a variant to reproducible disk images and update targets. */
#include "builder/cli/cli.h"

#include "builder/base/hex.h"
#include "builder/image/build.h"
#include "builder/manifest/manifest.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef VF_VERSION
#define VF_VERSION "0.0.0-unknown"
#endif

static void show_stage(void *ctx, const char *stage, double done)
{
	(void)ctx;
	(void)done;
	fprintf(stderr, "\r\033[Kbuild: %s", stage);
}

static void print_summary(const struct vf_build_result *r, double secs)
{
	char hex[65];

	printf("%-44s %12s  %s\n", "output", "bytes", "sha256");
	for (size_t i = 0; i < r->n_outputs; i++) {
		vf_hex_format(r->outputs[i].sha256, 32, hex);
		printf("%-44s %12llu  %.16s\n", r->outputs[i].name,
		       (unsigned long long)r->outputs[i].size, hex);
	}
	printf("root hash: %s\n", r->root_hash);
	printf("build time: %.2f s\n", secs);
}

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "minimize", no_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct vf_cli_cmd *self = vf_cli_cmd_find("build");
	struct vf_build_opts bo = { .tool_version = VF_VERSION };
	struct vf_build_result res = { 0 };
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };
	const char *outdir = NULL;
	struct timespec t0, t1;
	bool json = false;
	uint64_t v;
	int c, rc;

	bo.threads = vf_cli_online_cpus();
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outdir = optarg;
			break;
		case 's':
			if (vf_hex_parse(optarg, bo.seed, sizeof(bo.seed), &bo.seed_len) || !bo.seed_len)
				return vf_cli_usage(self, "--seed: '%.80s' is not 1 to %d bytes of hex",
						    optarg, VF_BUILD_SEED_MAX);
			break;
		case 't':
			if ((rc = vf_cli_parse_u64(self, "--threads", optarg, &v)))
				return rc;
			if (v == 0 || v > 1024)
				return vf_cli_usage(self, "--threads: expected 1 to 1024, got %s", optarg);
			bo.threads = (unsigned)v;
			break;
		case 'm':
			bo.minimize = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			vf_cli_help(self);
			return VF_EXIT_OK;
		default:
			return vf_cli_bad_option(self, NULL, c, argv);
		}
	}
	if (argc - optind != 1)
		return vf_cli_usage(self, "expected one <variant>");
	if (!outdir)
		return vf_cli_usage(self, "missing -o <outdir>");
	if ((rc = vf_cli_source_date_epoch(&bo.compose.has_sde, &bo.compose.sde)))
		return rc;
	if (vf_manifest_load(argv[optind], &m, &err))
		return vf_cli_fail(&err);
	if (!json && vf_cli_show_progress())
		bo.progress = show_stage;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = vf_build(m, outdir, &bo, &res, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (bo.progress)
		vf_cli_progress_done();
	if (rc) {
		rc = vf_cli_fail(&err);
	} else if (json) {
		printf("%s\n", res.report);
	} else {
		print_summary(&res, (double)(t1.tv_sec - t0.tv_sec) +
					    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	vf_build_result_release(&res);
	vf_manifest_free(m);
	return rc;
}
