/* repo/repo: creating and publishing repositories: layout, versions,
 * thresholds, the lock, crash points (a child killed at each), determinism,
 * target names, root rotation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/repo.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW ((time_t)1800000000) /* 2027-01-15 */
/* keys: 0 root, 1 targets, 2 snapshot, 3 timestamp, 4 second targets, 5 new timestamp */
#define N_KEYS 6

static struct vf_test_keys fx;

static int setup(void **state)
{
	(void)state;
	return vf_test_keys_make(&fx, NULL, N_KEYS);
}

static int teardown(void **state)
{
	(void)state;
	vf_test_keys_free(&fx);
	return 0;
}

/* A signed root: role i (root, targets, snapshot, timestamp) is key i - 1. */
static struct vf_tuf_md *make_root(unsigned targets_threshold)
{
	struct vf_tuf_md *md = vf_tuf_md_new(VF_TUF_ROOT);
	static const char *const roles[] = { "root", "targets", "snapshot", "timestamp" };
	struct vf_err err = { 0 };

	assert_non_null(md);
	md->expires = NOW + 365 * 86400;
	for (int i = 0; i < 4; i++)
		assert_int_equal(vf_tuf_md_add_key(md, roles[i], vf_signer_key(fx.s[i]), NULL, &err),
				 0);
	if (targets_threshold > 1) {
		assert_int_equal(vf_tuf_md_add_key(md, "targets", vf_signer_key(fx.s[4]), NULL, &err),
				 0);
		assert_int_equal(vf_tuf_md_set_threshold(md, "targets", targets_threshold, &err), 0);
	}
	assert_int_equal(vf_tuf_md_sign(md, &fx.s[0], 1, &err), 0);
	return md;
}

static struct vf_repo_opts opts_at(time_t now)
{
	struct vf_repo_opts o = { .now = now, .lock_wait_s = 0 };

	return o;
}

static char *repo_path(const char *dir, const char *rel)
{
	return vf_test_path(dir, rel);
}

static bool exists(const char *dir, const char *rel)
{
	char *p = repo_path(dir, rel);
	bool ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

/* Create a repository in <tmp>/repo with targets "a.txt" and "dir/sub/b.bin". */
static char *make_repo(const char *tmp, unsigned targets_threshold)
{
	struct vf_tuf_md *root = make_root(targets_threshold);
	char *repo = vf_test_path(tmp, "repo"), *a = vf_test_path(tmp, "a.txt");
	struct vf_repo_opts o = opts_at(NOW);
	struct vf_err err = { 0 };
	struct vf_repo *r;

	vf_test_write_file(a, "hello\n", 6);
	assert_int_equal(vf_repo_create(repo, root, &o, &r, &err), 0);
	assert_int_equal(vf_repo_add_target_file(r, a, "a.txt", NULL, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "dir/sub/b.bin", "0123456789", 10, NULL, &err),
			 0);
	if (vf_repo_publish(r, fx.s, N_KEYS, 0, &err))
		fail_msg("publish: %s", err.msg);
	vf_repo_close(r);
	vf_tuf_md_free(root);
	free(a);
	return repo;
}

static struct vf_repo *open_repo(const char *repo, time_t now)
{
	struct vf_repo_opts o = opts_at(now);
	struct vf_err err = { 0 };
	struct vf_repo *r = NULL;

	if (vf_repo_open(repo, &o, &r, &err))
		fail_msg("open: %s", err.msg);
	return r;
}

static void test_create_layout(void **state)
{
	char *repo = make_repo(*state, 1);
	struct vf_repo *r = open_repo(repo, NOW);
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };
	const struct vf_tuf_target *t;
	char *rel, *p;
	uint8_t *bytes;
	size_t len;

	vf_test_assert_listing(repo, ".vforge.lock metadata targets");
	p = vf_test_path(repo, "metadata");
	vf_test_assert_listing(p, "1.root.json 1.snapshot.json 1.targets.json timestamp.json");
	free(p);
	assert_int_equal(vf_repo_targets(r)->version, 1);
	assert_int_equal(vf_repo_targets(r)->n_targets, 2);
	assert_int_equal(vf_repo_targets(r)->expires, NOW + VF_REPO_LIFETIME_TARGETS);
	assert_int_equal(vf_repo_snapshot(r)->expires, NOW + VF_REPO_LIFETIME_SNAPSHOT);
	assert_int_equal(vf_repo_timestamp(r)->expires, NOW + VF_REPO_LIFETIME_TIMESTAMP);
	t = vf_tuf_targets_find_target(vf_repo_targets(r), "dir/sub/b.bin");
	assert_non_null(t);
	assert_int_equal(t->length, 10);
	assert_int_equal(vf_tuf_target_filename("dir/sub/b.bin", t->hashes.sha256, &rel, &err), 0);
	p = malloc(strlen(rel) + 9);
	sprintf(p, "targets/%s", rel);
	assert_true(exists(repo, p));
	free(p);
	free(rel);
	/* the snapshot pins targets.json's exact bytes */
	p = vf_test_path(repo, "metadata/1.targets.json");
	bytes = vf_test_read_file(p, &len);
	{
		const struct vf_tuf_meta *m = vf_tuf_md_find_meta(vf_repo_snapshot(r), "targets.json");

		assert_non_null(m);
		assert_true(m->has_length);
		assert_int_equal(m->length, len);
		assert_int_equal(vf_tuf_hashes_verify(&m->hashes, bytes, len, &err), 0);
	}
	free(bytes);
	free(p);
	assert_int_equal(vf_repo_read_target(r, "a.txt", 100, &b, &err), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "hello\n", 6);
	vf_buf_release(&b);
	assert_int_equal(vf_repo_read_target(r, "a.txt", 5, &b, &err), -EFBIG);
	assert_int_equal(vf_repo_read_target(r, "nope", 5, &b, &err), -ENOENT);
	vf_buf_release(&b);
	vf_repo_close(r);
	free(repo);
}

static void test_update_and_refresh(void **state)
{
	char *repo = make_repo(*state, 1);
	struct vf_repo *r = open_repo(repo, NOW + 10);
	struct vf_err err = { 0 };

	/* the same content again changes nothing */
	assert_int_equal(vf_repo_add_target_data(r, "dir/sub/b.bin", "0123456789", 10, NULL, &err),
			 0);
	assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, 0, &err), 0);
	assert_int_equal(vf_repo_timestamp(r)->version, 1);
	/* add one, remove one: targets, snapshot and timestamp move on */
	assert_int_equal(vf_repo_add_target_data(r, "c", "c", 1, NULL, &err), 0);
	assert_int_equal(vf_repo_remove_target(r, "a.txt", &err), 0);
	assert_int_equal(vf_repo_remove_target(r, "a.txt", &err), -ENOENT);
	vf_test_assert_contains(err.msg, "target 'a.txt' is not in targets.json");
	assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, 0, &err), 0);
	vf_repo_close(r);
	r = open_repo(repo, NOW + 20);
	assert_int_equal(vf_repo_targets(r)->version, 2);
	assert_int_equal(vf_repo_snapshot(r)->version, 2);
	assert_int_equal(vf_repo_timestamp(r)->version, 2);
	assert_null(vf_tuf_targets_find_target(vf_repo_targets(r), "a.txt"));
	assert_non_null(vf_tuf_targets_find_target(vf_repo_targets(r), "c"));
	assert_true(exists(repo, "metadata/1.targets.json"));
	/* refresh timestamp only, with just the timestamp key */
	assert_int_equal(vf_repo_publish(r, &fx.s[3], 1, VF_REPO_ROLE(VF_TUF_TIMESTAMP), &err), 0);
	assert_int_equal(vf_repo_timestamp(r)->version, 3);
	assert_int_equal(vf_repo_timestamp(r)->expires, NOW + 20 + VF_REPO_LIFETIME_TIMESTAMP);
	assert_int_equal(vf_repo_snapshot(r)->version, 2);
	/* refresh snapshot: cascades to timestamp; the snapshot key alone is not enough */
	assert_int_equal(vf_repo_publish(r, &fx.s[2], 1, VF_REPO_ROLE(VF_TUF_SNAPSHOT), &err),
			 -EACCES);
	vf_test_assert_containsf(err.msg, "timestamp: threshold 1, 0 authorised keys given; "
				 "still needed: 1 more of: %s", fx.keyid[3]);
	vf_repo_close(r);
	r = open_repo(repo, NOW + 30);
	assert_int_equal(vf_repo_publish(r, &fx.s[2], 2, VF_REPO_ROLE(VF_TUF_SNAPSHOT), &err), 0);
	assert_int_equal(vf_repo_snapshot(r)->version, 3);
	assert_int_equal(vf_repo_timestamp(r)->version, 4);
	assert_int_equal(vf_repo_targets(r)->version, 2);
	vf_repo_close(r);
	free(repo);
}

static void test_threshold_refused(void **state)
{
	char *repo = make_repo(*state, 2);
	struct vf_repo *r = open_repo(repo, NOW);
	struct vf_signer *some[] = { fx.s[1], fx.s[2], fx.s[3] };
	char *md = vf_test_path(repo, "metadata"), *before = vf_test_list_dir(md), *after;
	struct vf_err err = { 0 };

	assert_int_equal(vf_repo_add_target_data(r, "x", "x", 1, NULL, &err), 0);
	assert_int_equal(vf_repo_publish(r, some, 3, 0, &err), -EACCES);
	vf_test_assert_containsf(err.msg, "targets: threshold 2, 1 authorised key given; still "
				 "needed: 1 more of: %s", fx.keyid[4]);
	vf_repo_close(r);
	after = vf_test_list_dir(md);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(md);
	free(repo);
}

static void test_lock(void **state)
{
	char *repo = make_repo(*state, 1);
	struct vf_repo *r = open_repo(repo, NOW), *r2 = NULL;
	struct vf_repo_opts o = opts_at(NOW);
	struct vf_err err = { 0 };
	char pid[32];

	assert_int_equal(vf_repo_open(repo, &o, &r2, &err), -EBUSY);
	snprintf(pid, sizeof(pid), "(pid %ld,", (long)getpid());
	vf_test_assert_contains(err.msg, "is locked by another publisher");
	vf_test_assert_contains(err.msg, pid);
	o.lock_wait_s = 1;
	assert_int_equal(vf_repo_open(repo, &o, &r2, &err), -EBUSY);
	vf_test_assert_contains(err.msg, "waited 1 s");
	vf_repo_close(r);
	assert_int_equal(vf_repo_open(repo, &o, &r2, &err), 0);
	vf_repo_close(r2);
	free(repo);
}

/* Every target listed has its file with the right content. */
static void check_consistent(const char *repo, uint64_t *ret_targets_version)
{
	struct vf_repo *r = open_repo(repo, NOW + 100);
	const struct vf_tuf_md *t = vf_repo_targets(r);
	struct vf_err err = { 0 };

	for (size_t i = 0; i < t->n_targets; i++) {
		struct vf_buf b = VF_BUF_INIT;

		if (vf_repo_read_target(r, t->targets[i]->path, 1 << 20, &b, &err))
			fail_msg("%s", err.msg);
		vf_buf_release(&b);
	}
	*ret_targets_version = t->version;
	vf_repo_close(r);
}

static void test_crash_points(void **state)
{
	static const char *const points[] = {
		"after-target-files", "targets-partial", "after-targets", "snapshot-partial",
		"after-snapshot", "timestamp-partial", "after-timestamp",
	};
	char *repo = make_repo(*state, 1);
	uint64_t v = 0, expect_old = 1;

	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct vf_repo_opts o = opts_at(NOW + 50);
			struct vf_err err = { 0 };
			struct vf_repo *r;
			char name[32];

			setenv("VFORGE_TEST_CRASH_AT", points[i], 1);
			snprintf(name, sizeof(name), "new-%zu", i);
			if (vf_repo_open(repo, &o, &r, &err) ||
			    vf_repo_add_target_data(r, name, name, strlen(name), NULL, &err) ||
			    vf_repo_publish(r, fx.s, N_KEYS, 0, &err))
				_exit(1);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("crash point %s: the child was not killed (status %d)", points[i],
				 status);
		check_consistent(repo, &v);
		/* only the last point comes after the new timestamp is in place */
		if (strcmp(points[i], "after-timestamp") == 0)
			assert_int_equal(v, expect_old + 1);
		else
			assert_int_equal(v, expect_old);
		expect_old = v;
	}
	/* and publishing still works afterwards */
	{
		struct vf_repo *r = open_repo(repo, NOW + 60);
		struct vf_err err = { 0 };

		assert_int_equal(vf_repo_add_target_data(r, "z", "z", 1, NULL, &err), 0);
		assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, 0, &err), 0);
		vf_repo_close(r);
	}
	check_consistent(repo, &v);
	assert_int_equal(v, expect_old + 1);
	free(repo);
}

static void test_deterministic(void **state)
{
	static const char *const files[] = { "metadata/1.root.json", "metadata/1.targets.json",
					     "metadata/1.snapshot.json", "metadata/timestamp.json" };
	char *d1 = vf_test_path(*state, "one"), *d2 = vf_test_path(*state, "two");
	char *r1, *r2;

	assert_int_equal(mkdir(d1, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	r1 = make_repo(d1, 2);
	r2 = make_repo(d2, 2);
	for (size_t i = 0; i < 4; i++) {
		char *p1 = vf_test_path(r1, files[i]), *p2 = vf_test_path(r2, files[i]);
		size_t l1, l2;
		uint8_t *b1 = vf_test_read_file(p1, &l1), *b2 = vf_test_read_file(p2, &l2);

		assert_int_equal(l1, l2);
		assert_memory_equal(b1, b2, l1);
		free(b1);
		free(b2);
		free(p1);
		free(p2);
	}
	free(r1);
	free(r2);
	free(d1);
	free(d2);
}

static void test_target_names(void **state)
{
	static const char *const bad[] = { "", "/abs", "a//b", "../x", "a/../b", "a/.", "a\\b",
					   "tab\there", "a/", "\xff" };
	static const char *const good[] = { "a", "a/b/c.img", "v1.2.3/x-y_z", "é" };
	struct vf_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vf_repo_check_target_name(bad[i], &err) == 0)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_not_equal(vf_repo_check_target_name("../x", &err), 0);
	vf_test_assert_contains(err.msg, "segment '..' is not allowed");
	/* "e" + combining acute is not NFC */
	assert_int_not_equal(vf_repo_check_target_name("e\xcc\x81", &err), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (vf_repo_check_target_name(good[i], &err))
			fail_msg("'%s' refused: %s", good[i], err.msg);
}

static void test_create_refusals(void **state)
{
	char *repo = make_repo(*state, 1);
	struct vf_tuf_md *root = make_root(1);
	struct vf_repo_opts o = opts_at(NOW);
	struct vf_err err = { 0 };
	struct vf_repo *r = NULL;
	char *other = vf_test_path(*state, "other");

	assert_int_equal(vf_repo_create(repo, root, &o, &r, &err), -EEXIST);
	vf_test_assert_contains(err.msg, "already holds a repository");
	/* unsigned root */
	vf_tuf_md_clear_signatures(root);
	assert_int_equal(vf_repo_create(other, root, &o, &r, &err), -VF_EVERIFY);
	/* expired root */
	assert_int_equal(vf_tuf_md_sign(root, fx.s, 1, &err), 0);
	o.now = root->expires;
	assert_int_equal(vf_repo_create(other, root, &o, &r, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "expired");
	/* an expiry at or before now */
	o.now = NOW;
	o.expires[VF_TUF_TIMESTAMP - 1] = NOW;
	assert_int_equal(vf_repo_create(other, root, &o, &r, &err), 0);
	assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, 0, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "timestamp: expiry");
	vf_repo_close(r);
	assert_false(exists(other, "metadata"));
	vf_tuf_md_free(root);
	free(other);
	free(repo);
}

static void test_rotate_timestamp_key(void **state)
{
	char *repo = make_repo(*state, 1);
	struct vf_tuf_md *root = make_root(1);
	struct vf_repo *r = open_repo(repo, NOW + 5);
	struct vf_signer *old_ts[] = { fx.s[0], fx.s[3] }, *new_ts[] = { fx.s[0], fx.s[5] };
	struct vf_err err = { 0 };

	vf_tuf_md_clear_signatures(root);
	assert_int_equal(vf_tuf_md_remove_key(root, "timestamp", fx.keyid[3], &err), 0);
	assert_int_equal(vf_tuf_md_add_key(root, "timestamp", vf_signer_key(fx.s[5]), NULL, &err),
			 0);
	/* version must be 2 */
	assert_int_equal(vf_tuf_md_sign(root, fx.s, 1, &err), 0);
	assert_int_equal(vf_repo_set_root(r, root, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "version 1, expected 2");
	root->version = 2;
	assert_int_equal(vf_tuf_md_sign(root, fx.s, 1, &err), 0);
	assert_int_equal(vf_repo_set_root(r, root, &err), 0);
	/* the old timestamp key cannot sign for the new root */
	assert_int_equal(vf_repo_publish(r, old_ts, 2, 0, &err), -EACCES);
	vf_test_assert_containsf(err.msg, "still needed: 1 more of: %s", fx.keyid[5]);
	assert_int_equal(vf_repo_publish(r, new_ts, 2, 0, &err), 0);
	vf_repo_close(r);
	assert_true(exists(repo, "metadata/2.root.json"));
	r = open_repo(repo, NOW + 6);
	assert_int_equal(vf_repo_root(r)->version, 2);
	assert_int_equal(vf_repo_timestamp(r)->version, 2);
	assert_string_equal(vf_repo_timestamp(r)->sigs[0].keyid, fx.keyid[5]);
	vf_repo_close(r);
	vf_tuf_md_free(root);
	free(repo);
}

static void test_when(void **state)
{
	struct vf_err err = { 0 };
	time_t t;
	int64_t d;

	(void)state;
	assert_int_equal(vf_repo_parse_when("7d", 1000, &t, &err), 0);
	assert_int_equal(t, 1000 + 7 * 86400);
	assert_int_equal(vf_repo_parse_when("1y2w3d4h5m6s", 0, &t, &err), 0);
	assert_int_equal(t, 365 * 86400 + 14 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6);
	assert_int_equal(vf_repo_parse_when("2027-01-31T00:00:00Z", 0, &t, &err), 0);
	assert_int_equal(t, 1801353600);
	assert_int_equal(vf_repo_parse_when("2027-01-31T01:30:00+01:30", 0, &t, &err), 0);
	assert_int_equal(t, 1801353600);
	assert_int_equal(vf_repo_parse_when("2027-01-31T00:00:00.5Z", 0, &t, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "fractional seconds");
	assert_int_equal(vf_repo_parse_when("2027-02-30T00:00:00Z", 0, &t, &err), -EINVAL);
	assert_int_equal(vf_repo_parse_duration("7", &d, &err), -EINVAL);
	assert_int_equal(vf_repo_parse_duration("d", &d, &err), -EINVAL);
	assert_int_equal(vf_repo_parse_duration("", &d, &err), -EINVAL);
	assert_int_equal(vf_repo_parse_duration("-1d", &d, &err), -EINVAL);
	assert_int_equal(vf_repo_parse_duration("99999999999999y", &d, &err), -ERANGE);
	assert_int_equal(vf_repo_parse_duration("101y", &d, &err), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_create_layout),
		vf_test_in_tmpdir(test_update_and_refresh),
		vf_test_in_tmpdir(test_threshold_refused),
		vf_test_in_tmpdir(test_lock),
		vf_test_in_tmpdir(test_crash_points),
		vf_test_in_tmpdir(test_deterministic),
		vf_test_in_tmpdir(test_create_refusals),
		vf_test_in_tmpdir(test_rotate_timestamp_key),
		cmocka_unit_test(test_target_names),
		cmocka_unit_test(test_when),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
