/* repo/repo_roles: delegated roles and hash bins of a repository on disk:
 * publish, reload, path restrictions along the chain, nested delegations,
 * removal, bins with targets moved in, and one target re-signing only its
 * bin, snapshot and timestamp. Every state must validate from the root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/repo.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOW ((time_t)1800000000)
/* keys: 0 root, 1 targets, 2 snapshot, 3 timestamp, 4 apps, 5 apps2, 6 bins */
#define N_KEYS 7

#include "tests/unit/repo/repo_fixture.h"

static const struct vf_key *key(int i)
{
	return vf_signer_key(fx.s[i]);
}

static void publish(struct vf_repo *r)
{
	struct vf_err err = { 0 };

	if (vf_repo_publish(r, fx.s, N_KEYS, 0, &err))
		fail_msg("publish: %s", err.msg);
}

static char *make_repo(const char *tmp)
{
	char *repo = vf_test_path(tmp, "repo");
	struct vf_repo_opts o = { .now = NOW };
	struct vf_err err = { 0 };
	struct vf_repo *r;

	assert_int_equal(vf_repo_create(repo, root, &o, &r, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "top.txt", "top", 3, NULL, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "apps/a", "a", 1, NULL, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "docs/b.txt", "b", 1, NULL, &err), 0);
	publish(r);
	vf_repo_close(r);
	return repo;
}

static void test_delegation(void **state)
{
	char *repo = make_repo(*state), *md = vf_test_path(repo, "metadata"), *before, *after;
	static const char *const apps_paths[] = { "apps/*", "apps/*/*" };
	static const char *const sub_paths[] = { "apps/sub/*" };
	const struct vf_key *k2[] = { key(4), key(5) }, *k1[] = { key(4) };
	struct vf_err err = { 0 };
	struct vf_repo *r = open_at(repo);

	assert_int_equal(vf_repo_add_delegation(r, NULL, "apps", apps_paths, 2, k2, 2, 2, false,
						&err), 0);
	assert_int_equal(vf_repo_add_delegation(r, NULL, "apps", apps_paths, 2, k2, 2, 2, false,
						&err), -EEXIST);
	assert_int_equal(vf_repo_add_delegation(r, NULL, "snapshot", apps_paths, 1, k2, 2, 1, false,
						&err), -EINVAL);
	assert_int_equal(vf_repo_add_delegation(r, NULL, "x", apps_paths, 1, k1, 1, 2, false, &err),
			 -EINVAL);
	vf_test_assert_contains(err.msg, "threshold 2, expected 1 to 1");
	assert_int_equal(vf_repo_select_role(r, "apps", &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "apps/one", "1", 1, NULL, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "docs/one", "1", 1, NULL, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "target 'docs/one' is outside the paths targets delegates "
				"to role 'apps'");
	/* the apps role's own two keys must sign its first version */
	{
		struct vf_signer *some[] = { fx.s[1], fx.s[2], fx.s[3], fx.s[4] };

		assert_int_equal(vf_repo_publish(r, some, 4, 0, &err), -EACCES);
		vf_test_assert_containsf(err.msg, "apps: threshold 2, 1 authorised key given; still "
					 "needed: 1 more of: %s", fx.keyid[5]);
	}
	publish(r);
	vf_repo_close(r);
	assert_valid(repo);

	/* reload: a target for apps changes apps, snapshot and timestamp only */
	before = vf_test_list_dir(md);
	vf_test_assert_contains(before, "1.apps.json");
	r = open_at(repo);
	assert_int_equal(vf_repo_select_role(r, "apps", &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "apps/two", "2", 1, NULL, &err), 0);
	publish(r);
	vf_repo_close(r);
	after = vf_test_list_dir(md);
	vf_test_assert_contains(after, "2.apps.json");
	assert_false(strstr(after, "3.targets.json"));
	free(before);
	free(after);
	assert_valid(repo);

	/* nested and terminating; removal */
	r = open_at(repo);
	assert_int_equal(vf_repo_add_delegation(r, "apps", "apps-sub", sub_paths, 1, k1, 1, 1, true,
						&err), 0);
	assert_int_equal(vf_repo_select_role(r, "apps-sub", &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "apps/sub/x", "x", 1, NULL, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "apps/y", "y", 1, NULL, &err), -EINVAL);
	publish(r);
	vf_repo_close(r);
	assert_valid(repo);
	r = open_at(repo);
	assert_int_equal(vf_repo_remove_delegation(r, NULL, "apps", &err), -EBUSY);
	assert_int_equal(vf_repo_remove_delegation(r, "targets", "apps-sub", &err), -ENOENT);
	assert_int_equal(vf_repo_remove_delegation(r, NULL, "apps-sub", &err), 0);
	publish(r);
	/* the entry stays: clients refuse a snapshot that drops a file (TUF 5.5.5) */
	assert_non_null(vf_tuf_md_find_meta(vf_repo_snapshot(r), "apps-sub.json"));
	assert_null(vf_tuf_md_find_role(vf_repo_targets(r), "apps-sub"));
	assert_non_null(vf_tuf_md_find_meta(vf_repo_snapshot(r), "apps.json"));
	vf_repo_close(r);
	assert_valid(repo);
	free(md);
	free(repo);
}

static void test_bins(void **state)
{
	char *repo = make_repo(*state), *md = vf_test_path(repo, "metadata"), *before, *after;
	const struct vf_key *kb[] = { key(6) };
	struct vf_err err = { 0 };
	struct vf_repo *r = open_at(repo);
	const struct vf_tuf_md *t;
	char *bin = NULL, want[64];
	uint64_t v;

	assert_int_equal(vf_repo_add_bins(r, "bins", 4, kb, 1, 1, &err), 0);
	assert_int_equal(vf_repo_add_bins(r, "bins", 4, kb, 1, 1, &err), -EEXIST);
	publish(r);
	t = vf_repo_targets(r);
	assert_int_equal(t->n_targets, 0);
	assert_non_null(t->delegations);
	assert_non_null(t->delegations->succinct);
	vf_repo_close(r);
	assert_valid(repo);
	assert_int_equal(vf_tuf_bin_name_for_path("bins", 4, "apps/a", &bin, &err), 0);
	snprintf(want, sizeof(want), "1.%s.json", bin);
	before = vf_test_list_dir(md);
	vf_test_assert_contains(before, want);
	vf_test_assert_contains(before, "1.bins-0.json");
	vf_test_assert_contains(before, "1.bins-f.json");

	/* one more target: its bin, snapshot and timestamp, nothing else */
	r = open_at(repo);
	v = vf_repo_snapshot(r)->version;
	{
		struct vf_buf b = VF_BUF_INIT;

		assert_int_equal(vf_repo_read_target(r, "apps/a", 10, &b, &err), 0);
		assert_memory_equal(b.data, "a", 1);
		vf_buf_release(&b);
	}
	assert_int_equal(vf_repo_add_target_data(r, "apps/a2", "a2", 2, NULL, &err), 0);
	publish(r);
	assert_int_equal(vf_repo_snapshot(r)->version, v + 1);
	vf_repo_close(r);
	free(bin);
	assert_int_equal(vf_tuf_bin_name_for_path("bins", 4, "apps/a2", &bin, &err), 0);
	after = vf_test_list_dir(md);
	{
		/* exactly two new names: N.<bin>.json and N.snapshot.json (timestamp replaced) */
		size_t nb = 0, na = 0;

		for (const char *p = before; *p; p++)
			nb += *p == ' ';
		for (const char *p = after; *p; p++)
			na += *p == ' ';
		assert_int_equal(na, nb + 2);
		snprintf(want, sizeof(want), "2.%s.json", bin);
		vf_test_assert_contains(after, want);
	}
	assert_valid(repo);
	r = open_at(repo);
	assert_int_equal(vf_repo_remove_delegation(r, NULL, "bins-3", &err), -EINVAL);
	assert_int_equal(vf_repo_select_role(r, "bins-3", &err), 0);
	vf_repo_close(r);
	free(before);
	free(after);
	free(bin);
	free(md);
	free(repo);
}

/* More bins than are fsync'd one by one: written as a batch (one syncfs). */
static void test_many_bins(void **state)
{
	char *repo = make_repo(*state), *md = vf_test_path(repo, "metadata"), *list;
	const struct vf_key *kb[] = { key(6) };
	struct vf_err err = { 0 };
	struct vf_repo *r = open_at(repo);

	assert_int_equal(vf_repo_add_bins(r, "b", 8, kb, 1, 1, &err), 0);
	publish(r);
	vf_repo_close(r);
	list = vf_test_list_dir(md);
	vf_test_assert_contains(list, "1.b-00.json");
	vf_test_assert_contains(list, "1.b-ff.json");
	assert_null(strstr(list, ".tmp."));
	assert_valid(repo);
	free(list);
	free(md);
	free(repo);
}

static void test_stage(void **state)
{
	char *repo = make_repo(*state), *staged, *sdir;
	static const char *const apps_paths[] = { "apps/*" };
	const struct vf_key *k2[] = { key(4), key(5) };
	struct vf_signer *online[] = { fx.s[2], fx.s[3] }, *last[] = { fx.s[5], fx.s[2], fx.s[3] };
	struct vf_err err = { 0 };
	struct vf_repo *r = open_at(repo);
	struct vf_tuf_md *md = NULL;
	char **files = NULL;

	/* a new delegation and a target for it, staged: nothing is published */
	assert_int_equal(vf_repo_add_delegation(r, NULL, "apps", apps_paths, 1, k2, 2, 2, false,
						&err), 0);
	assert_int_equal(vf_repo_select_role(r, "apps", &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "apps/x", "x", 1, NULL, &err), 0);
	assert_int_equal(vf_repo_stage(r, 0, &files, &err), 0);
	assert_string_equal(files[0], "staged/metadata/2.targets.json");
	assert_string_equal(files[1], "staged/metadata/1.apps.json");
	assert_null(files[2]);
	for (size_t i = 0; files[i]; i++)
		free(files[i]);
	free(files);
	vf_repo_close(r);
	r = open_at(repo);
	assert_int_equal(vf_repo_targets(r)->version, 1);
	assert_int_equal(vf_repo_stage(r, VF_REPO_ROLE(VF_TUF_TARGETS), NULL, &err), -EEXIST);

	/* unsigned: refused, naming every role short; the stage stays */
	assert_int_equal(vf_repo_publish_staged(r, online, 2, &err), -EACCES);
	vf_test_assert_containsf(err.msg, "apps: threshold 2, 0 authorised signatures (offline and "
				 "given); still needed: 2 more of:");
	vf_test_assert_contains(err.msg, "targets: threshold 1, 0 authorised");
	vf_repo_close(r);

	/* offline signatures: targets by its key, apps by key 4; key 5 given online */
	staged = vf_test_path(repo, "staged/metadata/2.targets.json");
	assert_int_equal(vf_tuf_md_load(staged, VF_TUF_TARGETS, 0, &md, &err), 0);
	assert_int_equal(vf_tuf_md_sign(md, &fx.s[1], 1, &err), 0);
	assert_int_equal(vf_tuf_md_save(md, staged, &err), 0);
	vf_tuf_md_free(md);
	free(staged);
	staged = vf_test_path(repo, "staged/metadata/1.apps.json");
	assert_int_equal(vf_tuf_md_load(staged, VF_TUF_TARGETS, 0, &md, &err), 0);
	assert_int_equal(vf_tuf_md_sign(md, &fx.s[4], 1, &err), 0);
	assert_int_equal(vf_tuf_md_save(md, staged, &err), 0);
	vf_tuf_md_free(md);
	free(staged);
	r = open_at(repo);
	assert_int_equal(vf_repo_publish_staged(r, online, 2, &err), -EACCES);
	vf_test_assert_containsf(err.msg, "apps: threshold 2, 1 authorised signatures (offline and "
				 "given); still needed: 1 more of: %s", fx.keyid[5]);
	vf_repo_close(r); /* after a failure the object is spent */
	r = open_at(repo);
	assert_int_equal(vf_repo_publish_staged(r, last, 3, &err), 0);
	assert_int_equal(vf_repo_targets(r)->version, 2);
	vf_repo_close(r);
	sdir = vf_test_path(repo, "staged");
	assert_int_not_equal(access(sdir, F_OK), 0);
	assert_valid(repo);

	/* a stage made before another publish is stale */
	r = open_at(repo);
	assert_int_equal(vf_repo_stage(r, VF_REPO_ROLE(VF_TUF_TARGETS), NULL, &err), 0);
	vf_repo_close(r);
	r = open_at(repo);
	publish(r);
	assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, VF_REPO_ROLE(VF_TUF_TIMESTAMP), &err), 0);
	assert_int_equal(vf_repo_publish_staged(r, fx.s, N_KEYS, &err), -ESTALE);
	vf_test_assert_contains(err.msg, "the repository changed since the stage was made");
	assert_int_equal(vf_repo_discard_staged(r, &err), 0);
	assert_int_equal(vf_repo_discard_staged(r, &err), -ENOENT);
	vf_repo_close(r);
	assert_valid(repo);
	free(sdir);
	free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_delegation),
		vf_test_in_tmpdir(test_bins),
		vf_test_in_tmpdir(test_many_bins),
		vf_test_in_tmpdir(test_stage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
