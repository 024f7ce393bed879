/*
 * A repository fixture shared by the repo unit tests: N_KEYS test keys (0
 * root, 1 targets, 2 snapshot, 3 timestamp, the rest the test's own), a
 * root.json with one key a role signed at NOW, and the helpers that open a
 * repository and validate it from that root. Define NOW and N_KEYS first.
 */
#ifndef VF_TEST_REPO_FIXTURE_H
#define VF_TEST_REPO_FIXTURE_H

#include "repo/repo.h"
#include "tests/unit/testutil.h"

#include <stdio.h>

static struct vf_test_keys fx;
static struct vf_tuf_md *root;

static int setup(void **state)
{
	static const char *const roles[] = { "root", "targets", "snapshot", "timestamp" };
	struct vf_err err = { 0 };

	(void)state;
	if (vf_test_keys_make(&fx, NULL, N_KEYS))
		return -1;
	root = vf_tuf_md_new(VF_TUF_ROOT);
	root->expires = NOW + 365 * 86400;
	for (int i = 0; i < 4; i++)
		if (vf_tuf_md_add_key(root, roles[i], vf_signer_key(fx.s[i]), NULL, &err))
			return -1;
	return vf_tuf_md_sign(root, fx.s, 1, &err) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	vf_tuf_md_free(root);
	vf_test_keys_free(&fx);
	return 0;
}

static struct vf_repo *open_at(const char *repo)
{
	struct vf_repo_opts o = { .now = NOW };
	struct vf_err err = { 0 };
	struct vf_repo *r = NULL;

	if (vf_repo_open(repo, &o, &r, &err))
		fail_msg("open %s: %s", repo, err.msg);
	return r;
}

static void count_problem(void *ctx, const char *file, const char *msg)
{
	fprintf(stderr, "problem: %s: %s\n", file, msg);
	(*(size_t *)ctx)++;
}

static void assert_valid(const char *repo)
{
	struct vf_err err = { 0 };
	size_t problems = 0, n = 0;

	if (vf_repo_validate(repo, root, NOW, count_problem, &n, &problems, &err))
		fail_msg("validate %s: %s (%zu problems)", repo, err.msg, n);
}

#endif
