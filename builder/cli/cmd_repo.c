/* vforge repo create|add-targets|refresh, and the dispatch of every repo subcommand. */
#include "builder/cli/cli.h"

#include "keys/key.h"
#include "repo/repo.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char vf_cli_repo_help[] =
	"A repository is a directory of static files: metadata/<N>.root.json (every\n"
	"version), <N>.targets.json, <N>.snapshot.json, timestamp.json and\n"
	"targets/[dir/]<sha256>.<name> (consistent snapshots). Serve metadata/ and\n"
	"targets/ with any web server. Publishing is atomic: target files first, then\n"
	"targets and snapshot metadata, timestamp.json last, each fsync'd and renamed;\n"
	"a lock file (.vforge.lock) keeps two publishers apart. docs/repo.md has it all.\n"
	"\n"
	"create       make a repository from a signed root.json (see vforge root) and\n"
	"             publish version 1 of targets, snapshot and timestamp\n"
	"  --root FILE          the signed root.json (its own root threshold must hold)\n"
	"  --target FILE[=NAME] a target to add (NAME defaults to FILE's base name; the\n"
	"                       last '=' separates them); many allowed\n"
	"  --dir DIR            add every regular file below DIR as a target named by\n"
	"                       its path relative to DIR (also for add-targets and\n"
	"                       stage; after the other targets and --remove); into\n"
	"                       hash bins, in memory bounded whatever the number of\n"
	"                       files (docs/delegations.md)\n"
	"add-targets  add or replace targets (FILE[=NAME] operands) and remove others\n"
	"  --role ROLE          the delegated role the targets go to (default: their hash\n"
	"                       bin when targets delegates to bins, else targets)\n"
	"  --remove NAME        remove a target from targets.json (its file stays for\n"
	"                       clients holding older metadata); many allowed\n"
	"add-update   copy a build's update targets and add it to manifest.json\n"
	"             (docs/update-manifest.md)\n"
	"  --build FILE         the build.json of a vforge build; its boot, root and hash\n"
	"                       .zst outputs are checked against it and published\n"
	"  --waves FILE|default the rollout waves (default: Bottlerocket's 6-day plan)\n"
	"  --max-version V      the newest version clients of this variant and arch may\n"
	"                       run (default: the newest published)\n"
	"stage        as add-targets (and --role, --expires targets=WHEN), but write the\n"
	"             changed targets-type metadata UNSIGNED to <repo>/staged/ for key\n"
	"             holders to sign offline (vforge metadata sign/merge); takes no --key\n"
	"publish-staged  publish the stage once every staged role meets its threshold\n"
	"             (offline signatures plus any --key given); --key signs snapshot and\n"
	"             timestamp; refused when the repository changed since staging\n"
	"discard-staged  remove the stage\n"
	"refresh      re-sign roles with new versions and expiry\n"
	"  --role ROLE          targets, snapshot or timestamp (default timestamp); a\n"
	"                       role re-signs the ones that pin it (targets > snapshot >\n"
	"                       timestamp); many allowed\n"
	"  --root FILE          publish this root as the next version (a key rotation:\n"
	"                       roles whose keys changed are re-signed)\n"
	"validate     verify the repository as a client would, from a trusted root,\n"
	"             and report every problem (exit 3 when there is one)\n"
	"expirations  list every role's expiry; exit 1 when one expires within --within\n"
	"\n"
	"Options shared by create, add-targets, add-update and refresh:\n" VF_CLI_REPO_HELP
	"  --json             print the published state as JSON\n"
	"Roles are signed by every --key root authorises for them; a role whose threshold\n"
	"the keys do not meet is refused before anything is written, listing the keyids\n"
	"still needed.\n";

enum {
	OPT_ROOT = 256, OPT_NEW_ROOT, OPT_TARGET, OPT_DIR, OPT_REMOVE, OPT_ROLE, OPT_JSON, OPT_HELP
};

static const struct option repo_options[] = {
	VF_CLI_REPO_LONGOPTS,
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "new-root", required_argument, NULL, OPT_NEW_ROOT },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "remove", required_argument, NULL, OPT_REMOVE },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* What the create/add-targets/refresh options collected. */
struct args {
	struct vf_cli_repo_args common;
	const char *root;
	const char **targets; /* FILE[=NAME] */
	size_t n_targets;
	const char **dirs;
	size_t n_dirs;
	const char **removes;
	size_t n_removes;
	unsigned roles;
	const char *target_role; /* add-targets --role */
	bool json;
	const char *repo;
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

static void args_release(struct args *a)
{
	vf_cli_repo_args_release(&a->common);
	free(a->targets);
	free(a->dirs);
	free(a->removes);
}

/* Parse the options; `sub` says which are allowed. Returns an exit code or -1 after --help. */
static int parse(const struct vf_cli_cmd *cmd, const char *sub, int argc, char **argv,
		 struct args *a)
{
	bool create = strcmp(sub, "create") == 0;
	bool add = strcmp(sub, "add-targets") == 0 || strcmp(sub, "stage") == 0;
	bool keyless = strcmp(sub, "stage") == 0 || strcmp(sub, "discard-staged") == 0;
	bool refresh = strcmp(sub, "refresh") == 0, rotate = strcmp(sub, "rotate") == 0;
	int opt, r;

	memset(a, 0, sizeof(*a));
	vf_cli_repo_args_init(&a->common);
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", repo_options, NULL)) != -1) {
		if ((r = vf_cli_repo_arg(cmd, opt, optarg, &a->common)) != 1) {
			if (r)
				return r;
			continue;
		}
		switch (opt) {
		case OPT_ROOT:
			if (!create && !refresh)
				return vf_cli_usage(cmd, "%s: --root is for create and refresh", sub);
			a->root = optarg;
			break;
		case OPT_NEW_ROOT:
			if (!rotate)
				return vf_cli_usage(cmd, "%s: --new-root is for vforge root rotate", sub);
			a->root = optarg;
			break;
		case OPT_TARGET:
			if (!create)
				return vf_cli_usage(cmd, "%s: --target is for create (add-targets takes "
						    "FILE[=NAME] operands)", sub);
			if (push(&a->targets, &a->n_targets, optarg))
				return VF_EXIT_FAIL;
			break;
		case OPT_DIR:
			if (!create && !add)
				return vf_cli_usage(cmd, "%s: --dir is for create and add-targets", sub);
			if (push(&a->dirs, &a->n_dirs, optarg))
				return VF_EXIT_FAIL;
			break;
		case OPT_REMOVE:
			if (!add)
				return vf_cli_usage(cmd, "%s: --remove is for add-targets", sub);
			if (push(&a->removes, &a->n_removes, optarg))
				return VF_EXIT_FAIL;
			break;
		case OPT_ROLE: {
			enum vf_tuf_type t = vf_tuf_type_from_name(optarg);

			if (add) {
				a->target_role = optarg;
				break;
			}
			if (!refresh)
				return vf_cli_usage(cmd, "%s: --role is for refresh and add-targets", sub);
			if (!t || t == VF_TUF_ROOT)
				return vf_cli_usage(cmd, "--role: expected targets, snapshot or "
						    "timestamp, got '%s'", optarg);
			a->roles |= VF_REPO_ROLE(t);
			break;
		}
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(cmd);
			return -1;
		default:
			return vf_cli_bad_option(cmd, sub, opt, argv);
		}
	}
	if (optind >= argc)
		return vf_cli_usage(cmd, "%s: missing <repo>", sub);
	a->repo = argv[optind++];
	for (; optind < argc; optind++) {
		if (!add)
			return vf_cli_usage(cmd, "%s: unexpected operand '%s'", sub, argv[optind]);
		if (push(&a->targets, &a->n_targets, argv[optind]))
			return VF_EXIT_FAIL;
	}
	if (create && !a->root)
		return vf_cli_usage(cmd, "create: --root <root.json> is required");
	if (rotate && !a->root)
		return vf_cli_usage(cmd, "rotate: --new-root <N+1.root.json> is required");
	if (add && !a->n_targets && !a->n_removes && !a->n_dirs &&
	    !a->common.expires_text[VF_TUF_TARGETS - 1])
		return vf_cli_usage(cmd, "%s: nothing to do (give FILE[=NAME] operands or "
				    "--remove NAME)", sub);
	if (keyless && a->common.n_keys)
		return vf_cli_usage(cmd, "%s: takes no --key (key holders sign the staged files "
				    "with vforge metadata sign)", sub);
	if (!keyless && !a->common.n_keys)
		return vf_cli_usage(cmd, "%s: at least one --key is required", sub);
	return VF_EXIT_OK;
}

/* Split FILE[=NAME]: NAME after the last '=', else FILE's base name. */
static int split_target(const char *spec, char **file, const char **name)
{
	const char *eq = strrchr(spec, '=');
	const char *slash;

	if (eq) {
		*file = strndup(spec, (size_t)(eq - spec));
		*name = eq + 1;
	} else {
		*file = strdup(spec);
		slash = strrchr(spec, '/');
		*name = slash ? slash + 1 : spec;
	}
	return *file ? 0 : -ENOMEM;
}

static int add_targets(struct vf_repo *r, const char *const *specs, size_t n, struct vf_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *name;
		char *file;
		int rc;

		if (split_target(specs[i], &file, &name))
			return vf_err_set(err, ENOMEM, "out of memory");
		if (!*file) {
			free(file);
			return vf_err_set(err, EINVAL, "'%s': expected FILE[=NAME]", specs[i]);
		}
		rc = vf_repo_add_target_file(r, file, name, NULL, err);
		free(file);
		if (rc)
			return rc;
	}
	return 0;
}

/* Print the published state: one line a role, or JSON. */
static void print_state(const struct vf_repo *r, const uint64_t before[5], bool json)
{
	const struct vf_tuf_md *md[] = { vf_repo_root(r), vf_repo_targets(r), vf_repo_snapshot(r),
					 vf_repo_timestamp(r) };
	json_t *out = json ? json_object() : NULL;
	bool any = false;

	for (int i = 0; i < 4; i++) {
		char when[VF_TUF_TIME_LEN + 1] = "?";
		const char *role = vf_tuf_type_name(md[i]->type);
		bool changed = md[i]->version != before[i];

		vf_tuf_time_format(md[i]->expires, when);
		any |= changed;
		if (out) {
			json_t *o = json_pack("{s:I, s:s, s:b}", "version", (json_int_t)md[i]->version,
					      "expires", when, "published", changed);

			if (o && md[i]->type == VF_TUF_TARGETS)
				json_object_set_new(o, "targets", json_integer((json_int_t)
								md[i]->n_targets));
			json_object_set_new(out, role, o);
		} else {
			printf("%-10s version %-6llu expires %s%s", role,
			       (unsigned long long)md[i]->version, when,
			       changed ? "  (published)" : "");
			if (md[i]->type == VF_TUF_TARGETS)
				printf("  %zu target%s", md[i]->n_targets,
				       md[i]->n_targets == 1 ? "" : "s");
			if (md[i]->type == VF_TUF_TARGETS && md[i]->delegations) {
				const struct vf_tuf_delegations *d = md[i]->delegations;

				if (d->succinct)
					printf(" (the others in %llu hash bins %s-*)",
					       1ULL << d->succinct->bit_length,
					       d->succinct->name_prefix);
				else
					printf(" (and %zu delegated role%s)", d->n_roles,
					       d->n_roles == 1 ? "" : "s");
			}
			printf("\n");
		}
	}
	if (out) {
		json_object_set_new(out, "repository", json_string(vf_repo_dir(r)));
		json_object_set_new(out, "changed", json_boolean(any));
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(out);
	} else if (!any) {
		printf("nothing changed: every role is as it was\n");
	}
}

static void versions(const struct vf_repo *r, uint64_t v[5])
{
	v[0] = vf_repo_root(r)->version;
	v[1] = vf_repo_targets(r)->version;
	v[2] = vf_repo_snapshot(r)->version;
	v[3] = vf_repo_timestamp(r)->version;
}

static int run(const struct vf_cli_cmd *cmd, const char *sub, int argc, char **argv)
{
	struct vf_err err = { 0 };
	struct vf_signer **signers = NULL;
	struct vf_tuf_md *root = NULL;
	struct vf_repo *r = NULL;
	struct vf_repo_opts opts;
	uint64_t before[5];
	struct args a;
	int rc;

	rc = parse(cmd, sub, argc, argv, &a);
	if (rc) {
		args_release(&a);
		return rc < 0 ? VF_EXIT_OK : rc;
	}
	if ((rc = vf_cli_repo_setup(cmd, &a.common, &opts, &signers)))
		goto out;
	/* an explicit expiry re-signs that role */
	for (enum vf_tuf_type t = VF_TUF_TARGETS; t <= VF_TUF_TIMESTAMP; t++)
		if (opts.expires[t - 1])
			a.roles |= VF_REPO_ROLE(t);
	if (strcmp(sub, "refresh") == 0 && !a.roles && !a.root)
		a.roles = VF_REPO_ROLE(VF_TUF_TIMESTAMP);
	if (a.root && vf_tuf_md_load(a.root, VF_TUF_ROOT, 0, &root, &err))
		goto fail;
	if (strcmp(sub, "create") == 0) {
		if (vf_repo_create(a.repo, root, &opts, &r, &err))
			goto fail;
	} else {
		if (vf_repo_open(a.repo, &opts, &r, &err))
			goto fail;
		if (root && vf_repo_set_root(r, root, &err))
			goto fail;
	}
	if (strcmp(sub, "discard-staged") == 0) {
		if (vf_repo_discard_staged(r, &err))
			goto fail;
		printf("discarded the stage of %s\n", a.repo);
		rc = VF_EXIT_OK;
		goto out;
	}
	if (strcmp(sub, "publish-staged") == 0) {
		versions(r, before);
		if (vf_repo_publish_staged(r, signers, a.common.n_keys, &err))
			goto fail;
		print_state(r, before, a.json);
		rc = VF_EXIT_OK;
		goto out;
	}
	versions(r, before);
	if (strcmp(sub, "create") == 0)
		before[0] = before[1] = before[2] = before[3] = 0;
	if (a.target_role && vf_repo_select_role(r, a.target_role, &err))
		goto fail;
	/* FILE operands and --target, then --remove, then the --dir trees */
	if (add_targets(r, a.targets, a.n_targets, &err))
		goto fail;
	for (size_t i = 0; i < a.n_removes; i++)
		if (vf_repo_remove_target(r, a.removes[i], &err))
			goto fail;
	if (strcmp(sub, "stage") == 0) {
		char **files = NULL;

		for (size_t i = 0; i < a.n_dirs; i++)
			if (vf_repo_add_target_dir(r, a.dirs[i], &err))
				goto fail;

		if (vf_repo_stage(r, a.roles, &files, &err))
			goto fail;
		for (size_t i = 0; files && files[i]; i++) {
			printf("staged %s\n", files[i]);
			free(files[i]);
		}
		free(files);
		printf("sign copies with: vforge metadata sign <file> --key REF --root "
		       "<repo>/metadata/<N>.root.json (or --delegator ... --role ...), merge them "
		       "back with vforge metadata merge, then: vforge repo publish-staged %s --key "
		       "<snapshot and timestamp keys>\n", a.repo);
		rc = VF_EXIT_OK;
		goto out;
	}
	/* into hash bins, in memory bounded whatever the number of files */
	if (a.n_dirs ? vf_repo_publish_dirs(r, a.dirs, a.n_dirs, signers, a.common.n_keys, a.roles,
					    &err) :
	    vf_repo_publish(r, signers, a.common.n_keys, a.roles, &err))
		goto fail;
	print_state(r, before, a.json);
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_repo_close(r);
	vf_tuf_md_free(root);
	vf_cli_free_signers(signers, a.common.n_keys);
	args_release(&a);
	return rc;
}

int vf_cli_root_rotate(const struct vf_cli_cmd *cmd, int argc, char **argv)
{
	return run(cmd, "rotate", argc, argv);
}

int cmd_repo(int argc, char **argv)
{
	const struct vf_cli_cmd *cmd = vf_cli_cmd_find("repo");
	const char *sub;

	if (argc < 2)
		return vf_cli_usage(cmd, "missing subcommand");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		vf_cli_help(cmd);
		return VF_EXIT_OK;
	}
	if (strcmp(sub, "create") == 0 || strcmp(sub, "add-targets") == 0 ||
	    strcmp(sub, "refresh") == 0 || strcmp(sub, "stage") == 0 ||
	    strcmp(sub, "publish-staged") == 0 || strcmp(sub, "discard-staged") == 0)
		return run(cmd, sub, argc - 1, argv + 1);
	if (strcmp(sub, "add-update") == 0)
		return vf_cli_repo_add_update(cmd, argc - 1, argv + 1);
	if (strcmp(sub, "validate") == 0)
		return vf_cli_repo_validate(cmd, argc - 1, argv + 1);
	if (strcmp(sub, "expirations") == 0)
		return vf_cli_repo_expirations(cmd, argc - 1, argv + 1);
	return vf_cli_usage(cmd, "unknown subcommand '%s'", sub);
}
