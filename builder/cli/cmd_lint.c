/* vforge lint: compose a variant's tree with every check, and run the policy. */
#include "builder/cli/cli.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/image/compose.h"
#include "builder/manifest/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *sde_source_name(enum vf_sde_source s)
{
	switch (s) {
	case VF_SDE_ENV: return "environment";
	case VF_SDE_MANIFEST: return "manifest";
	case VF_SDE_INPUTS: return "inputs";
	}
	return "unknown";
}

static int print_json(const struct vf_manifest *m, const struct vf_compose_result *c)
{
	json_t *root = json_object(), *pkgs = json_array(), *viol = json_array();
	char hex[65];
	char *text;

	if (!root || !pkgs || !viol)
		return VF_EXIT_FAIL;
	json_object_set_new(root, "variant", json_pack("{s:s,s:s,s:s}", "name", m->name,
						       "version", m->version, "arch", m->arch));
	json_object_set_new(root, "entries", json_integer((json_int_t)vf_tree_count(c->tree)));
	json_object_set_new(root, "source_date_epoch", json_integer(c->sde));
	json_object_set_new(root, "source_date_epoch_from", json_string(sde_source_name(c->sde_source)));
	for (size_t i = 0; i < c->n_inputs; i++) {
		vf_hex_format(c->inputs[i].sha256, 32, hex);
		json_array_append_new(pkgs, json_pack("{s:s,s:s,s:s,s:s}", "kind", c->inputs[i].kind,
						      "name", c->inputs[i].name, "path",
						      c->inputs[i].path, "sha256", hex));
	}
	json_object_set_new(root, "inputs", pkgs);
	for (size_t i = 0; i < c->policy.n; i++)
		json_array_append_new(viol, json_pack("{s:s,s:s,s:s}", "path", c->policy.v[i].path,
						      "package", c->policy.v[i].origin, "reason",
						      c->policy.v[i].reason));
	json_object_set_new(root, "violations", viol);
	json_object_set_new(root, "ok", json_boolean(c->policy.n == 0));
	text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(root);
	if (!text)
		return VF_EXIT_FAIL;
	printf("%s\n", text);
	free(text);
	return VF_EXIT_OK;
}

static void print_text(const struct vf_manifest *m, const struct vf_compose_result *c)
{
	printf("variant %s %s (%s): %zu entries from %zu package(s)\n", m->name, m->version,
	       m->arch, vf_tree_count(c->tree), m->n_pkgs);
	printf("SOURCE_DATE_EPOCH %lld (from the %s)\n", (long long)c->sde,
	       sde_source_name(c->sde_source));
	if (c->policy.n == 0) {
		printf("policy: ok\n");
		return;
	}
	printf("policy: %zu violation(s)\n", c->policy.n);
	for (size_t i = 0; i < c->policy.n; i++)
		printf("  %s (package '%s'): %s\n", c->policy.v[i].path, c->policy.v[i].origin,
		       c->policy.v[i].reason);
}

int cmd_lint(int argc, char **argv)
{
	const struct vf_cli_cmd *self = vf_cli_cmd_find("lint");
	struct vf_compose_opts copts = { 0 };
	struct vf_compose_result res = { 0 };
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };
	const char *variant = NULL;
	char *work = NULL;
	bool json = false;
	int rc;

	if ((rc = vf_cli_parse_json_operand(self, argc, argv, "<variant>", &json, &variant)))
		return rc < 0 ? VF_EXIT_OK : rc;
	if ((rc = vf_cli_source_date_epoch(&copts.has_sde, &copts.sde)))
		return rc;
	if (vf_manifest_load(variant, &m, &err))
		return vf_cli_fail(&err);
	if (vf_fs_mkdtemp(NULL, "vforge-lint", &work, &err)) {
		rc = vf_cli_fail(&err);
		goto out;
	}
	if (vf_compose(m, work, &copts, &res, &err)) {
		rc = vf_cli_fail(&err);
		goto out;
	}
	if (json) {
		rc = print_json(m, &res);
	} else {
		print_text(m, &res);
		rc = VF_EXIT_OK;
	}
	if (!rc && res.policy.n) {
		fprintf(stderr, "vforge: error: variant '%s': %zu policy violation(s)\n", m->name,
			res.policy.n);
		rc = VF_EXIT_VERIFY;
	}
out:
	vf_compose_result_release(&res);
	if (work) {
		struct vf_err e2 = { 0 };

		if (vf_fs_remove_tree(work, &e2))
			fprintf(stderr, "vforge: warning: %s\n", e2.msg);
		free(work);
	}
	vf_manifest_free(m);
	return rc;
}
