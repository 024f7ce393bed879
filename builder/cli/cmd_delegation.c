/* vforge delegation add|remove: delegated targets roles and hash bins of a repository. */
#include "builder/cli/cli.h"

#include "keys/key.h"
#include "repo/repo.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char vf_cli_delegation_help[] =
	"add delegates targets matching --paths to <role>, trusted to --key keys with\n"
	"--threshold; --from names the delegating role (default targets). With --bins N\n"
	"instead, targets delegates to N succinct hash bins (TAP 15) named\n"
	"<role>-<hex>: a target lives in the bin given by the leading bits of\n"
	"sha256(its path), and adding one re-signs only its bin, snapshot and timestamp.\n"
	"The targets targets.json listed move to their bins. remove drops a delegation\n"
	"(the role must not delegate further). Add targets to a role with\n"
	"`vforge repo add-targets --role ROLE`. docs/delegations.md has it all.\n"
	"\n"
	"  --paths PATTERN      a path pattern: shell-style, '*' and '?' within one\n"
	"                       '/'-separated segment (repeatable)\n"
	"  --bins N             N hash bins, a power of two from 2 to 65536\n"
	"  --key KEY            a key of the delegated role: public or private PEM file,\n"
	"                       pkcs11: URI or exec:<command> (repeatable)\n"
	"  --threshold N        signatures the role needs (default 1)\n"
	"  --terminating        a client that finds no target in this role does not look\n"
	"                       in roles of lower priority\n"
	"  --from ROLE          the delegating role (default targets)\n"
	"  --signing-key REF    a key that signs the publish: the delegator's, the new\n"
	"                       role's own (for its first, empty version), snapshot and\n"
	"                       timestamp (repeatable)\n"
	"  --stage              write the changed metadata unsigned to <repo>/staged/\n"
	"                       instead of publishing (vforge repo publish-staged)\n"
	"  --now EPOCH, --expires ROLE=WHEN, --lock-wait SECS   as for vforge repo\n";

enum {
	OPT_PATHS = 256, OPT_BINS, OPT_ROLE_KEY, OPT_THRESHOLD, OPT_TERMINATING, OPT_FROM, OPT_STAGE,
	OPT_HELP
};

struct args {
	struct vf_cli_repo_args common; /* --signing-key go to common.keys */
	const char **paths;
	size_t n_paths;
	const char **role_keys;
	size_t n_role_keys;
	uint64_t bins, threshold;
	bool terminating, stage;
	const char *from, *repo, *role;
};

static int push(const char ***v, size_t *n, const char *s)
{
	const char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static int parse(const struct vf_cli_cmd *cmd, bool add, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "signing-key", required_argument, NULL, VF_CLI_OPT_KEY },
		{ "now", required_argument, NULL, VF_CLI_OPT_NOW },
		{ "expires", required_argument, NULL, VF_CLI_OPT_EXPIRES },
		{ "lock-wait", required_argument, NULL, VF_CLI_OPT_LOCK_WAIT },
		{ "paths", required_argument, NULL, OPT_PATHS },
		{ "bins", required_argument, NULL, OPT_BINS },
		{ "key", required_argument, NULL, OPT_ROLE_KEY },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "terminating", no_argument, NULL, OPT_TERMINATING },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "stage", no_argument, NULL, OPT_STAGE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = add ? "add" : "remove";
	int opt, r;

	memset(a, 0, sizeof(*a));
	vf_cli_repo_args_init(&a->common);
	a->threshold = 1;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if ((r = vf_cli_repo_arg(cmd, opt, optarg, &a->common)) != 1) {
			if (r)
				return r;
			continue;
		}
		if (!add && opt != OPT_FROM && opt != OPT_STAGE && opt != OPT_HELP && opt != 'h' &&
		    opt != ':' && opt != '?')
			return vf_cli_usage(cmd, "remove: option '%s' is for add", argv[optind - 1]);
		switch (opt) {
		case OPT_PATHS:
			if (push(&a->paths, &a->n_paths, optarg))
				return VF_EXIT_FAIL;
			break;
		case OPT_ROLE_KEY:
			if (push(&a->role_keys, &a->n_role_keys, optarg))
				return VF_EXIT_FAIL;
			break;
		case OPT_BINS:
			if ((r = vf_cli_parse_u64(cmd, "--bins", optarg, &a->bins)))
				return r;
			if (a->bins < 2 || a->bins > 65536 || (a->bins & (a->bins - 1)))
				return vf_cli_usage(cmd, "--bins: a power of two from 2 to 65536, got %s",
						    optarg);
			break;
		case OPT_THRESHOLD:
			if ((r = vf_cli_parse_u64(cmd, "--threshold", optarg, &a->threshold)))
				return r;
			if (a->threshold < 1)
				return vf_cli_usage(cmd, "--threshold: at least 1, got %s", optarg);
			break;
		case OPT_TERMINATING:
			a->terminating = true;
			break;
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_STAGE:
			a->stage = true;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(cmd);
			return -1;
		default:
			return vf_cli_bad_option(cmd, sub, opt, argv);
		}
	}
	if (argc - optind != 2)
		return vf_cli_usage(cmd, "%s: expected <repo> <role>, got %d operand%s", sub,
				    argc - optind, argc - optind == 1 ? "" : "s");
	a->repo = argv[optind];
	a->role = argv[optind + 1];
	if (add && !a->n_paths == !a->bins)
		return vf_cli_usage(cmd, "add: give either --paths or --bins");
	if (add && a->bins && a->from)
		return vf_cli_usage(cmd, "add: hash bins are delegated from targets (no --from)");
	if (add && !a->n_role_keys)
		return vf_cli_usage(cmd, "add: at least one --key for the role");
	if (a->stage && a->common.n_keys)
		return vf_cli_usage(cmd, "%s --stage: takes no --signing-key (key holders sign the "
				    "staged files offline)", sub);
	if (!a->stage && !a->common.n_keys)
		return vf_cli_usage(cmd, "%s: at least one --signing-key is required (or --stage)",
				    sub);
	return VF_EXIT_OK;
}

/* Public keys from references: key files directly, tokens and signers through a signer. */
static int load_keys(const char *const *refs, size_t n, struct vf_key ***ret, struct vf_err *err)
{
	struct vf_key **keys = calloc(n ? n : 1, sizeof(*keys));
	int rc = 0;

	if (!keys)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		if (strncmp(refs[i], "pkcs11:", 7) == 0 || strncmp(refs[i], "exec:", 5) == 0) {
			struct vf_signer *s = NULL;

			if (!(rc = vf_signer_open(refs[i], &s, err))) {
				keys[i] = vf_key_dup(vf_signer_key(s));
				if (!keys[i])
					rc = vf_err_set(err, ENOMEM, "out of memory");
			}
			vf_signer_free(s);
		} else {
			rc = vf_key_load(refs[i], &keys[i], err);
		}
		if (rc)
			vf_err_prefix(err, "--key '%s'", refs[i]);
	}
	if (rc) {
		for (size_t i = 0; i < n; i++)
			vf_key_free(keys[i]);
		free(keys);
		return rc;
	}
	*ret = keys;
	return 0;
}

int cmd_delegation(int argc, char **argv)
{
	const struct vf_cli_cmd *cmd = vf_cli_cmd_find("delegation");
	struct vf_err err = { 0 };
	struct vf_signer **signers = NULL;
	struct vf_key **keys = NULL;
	struct vf_repo *r = NULL;
	struct vf_repo_opts opts;
	struct args a;
	bool add;
	int rc;

	if (argc < 2)
		return vf_cli_usage(cmd, "missing the subcommand: add or remove");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		vf_cli_help(cmd);
		return VF_EXIT_OK;
	}
	if (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "remove") != 0)
		return vf_cli_usage(cmd, "unknown subcommand '%s': expected add or remove", argv[1]);
	add = strcmp(argv[1], "add") == 0;
	rc = parse(cmd, add, argc - 1, argv + 1, &a);
	if (rc) {
		rc = rc < 0 ? VF_EXIT_OK : rc;
		goto out;
	}
	if ((rc = vf_cli_repo_setup(cmd, &a.common, &opts, &signers)))
		goto out;
	if (load_keys(a.role_keys, a.n_role_keys, &keys, &err) ||
	    vf_repo_open(a.repo, &opts, &r, &err))
		goto fail;
	if (!add) {
		if (vf_repo_remove_delegation(r, a.from, a.role, &err))
			goto fail;
	} else if (a.bins) {
		unsigned bits = 0;

		while (((uint64_t)1 << bits) < a.bins)
			bits++;
		if (vf_repo_add_bins(r, a.role, bits, (const struct vf_key *const *)keys,
				     a.n_role_keys, a.threshold, &err))
			goto fail;
	} else if (vf_repo_add_delegation(r, a.from, a.role, a.paths, a.n_paths,
					  (const struct vf_key *const *)keys, a.n_role_keys,
					  a.threshold, a.terminating, &err)) {
		goto fail;
	}
	if (a.stage) {
		char **files = NULL;

		if (vf_repo_stage(r, 0, &files, &err))
			goto fail;
		for (size_t i = 0; files && files[i]; i++) {
			printf("staged %s\n", files[i]);
			free(files[i]);
		}
		free(files);
		rc = VF_EXIT_OK;
		goto out;
	}
	if (vf_repo_publish(r, signers, a.common.n_keys, 0, &err))
		goto fail;
	printf("%s %s: targets version %llu, snapshot version %llu, timestamp version %llu\n",
	       add ? (a.bins ? "delegated to hash bins" : "delegated") : "removed", a.role,
	       (unsigned long long)vf_repo_targets(r)->version,
	       (unsigned long long)vf_repo_snapshot(r)->version,
	       (unsigned long long)vf_repo_timestamp(r)->version);
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_repo_close(r);
	for (size_t i = 0; keys && i < a.n_role_keys; i++)
		vf_key_free(keys[i]);
	free(keys);
	vf_cli_free_signers(signers, a.common.n_keys);
	vf_cli_repo_args_release(&a.common);
	free(a.paths);
	free(a.role_keys);
	return rc;
}
