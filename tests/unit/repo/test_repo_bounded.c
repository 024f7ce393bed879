/* repo/repo_dir: a directory tree published into hash bins in groups
 * (vf_repo_publish_dirs(), many groups forced with the test-only
 * VFORGE_TEST_BIN_GROUP_TARGETS) gives byte for byte the metadata and the
 * target files of the all-in-memory path (vf_repo_add_target_dir() then
 * vf_repo_publish()); validates; a TUF client (file:// URLs) downloads every
 * target from its bin; a crash inside the group loop leaves the old
 * repository valid and the next publisher carries on; a threshold that falls
 * short, a symbolic link or a bad name write nothing; the same tree again
 * changes nothing; without bins the function publishes in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/client.h"
#include "repo/repo.h"
#include "tests/unit/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW ((time_t)1800000000)
/* keys: 0 root, 1 targets, 2 snapshot, 3 timestamp, 4 bins */
#define N_KEYS 5

#include "tests/unit/repo/repo_fixture.h"
#define N_FILES 300
#define BITS 6
#define GROUP "16" /* targets per group: about 20 groups of 3 or 4 bins */

/* The name of source file i (three layouts, nested up to three levels). */
static void file_name(int i, char *out, size_t size)
{
	if (i % 3 == 0)
		snprintf(out, size, "top-%03d.txt", i);
	else if (i % 3 == 1)
		snprintf(out, size, "a/b/f-%03d", i);
	else
		snprintf(out, size, "c/%02d/x-%03d.bin", i / 50, i);
}

/* N_FILES files of 0 to 36 bytes below <tmp>/src. */
static char *make_tree(const char *tmp)
{
	char *src = vf_test_path(tmp, "src");

	assert_int_equal(mkdir(src, 0755), 0);
	for (int i = 0; i < N_FILES; i++) {
		char name[64], *p, *slash;

		file_name(i, name, sizeof(name));
		p = vf_test_path(src, name);
		for (slash = strchr(p + strlen(src) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			mkdir(p, 0755);
			*slash = '/';
		}
		vf_test_make_file(p, (uint64_t)i + 1, (size_t)(i % 37));
		free(p);
	}
	return src;
}

/*
 * <tmp>/<name>: three targets (one of them a name the tree gives again, with
 * other content), then 64 hash bins they move to. The same bytes each time.
 */
static char *make_binned(const char *tmp, const char *name)
{
	char *repo = vf_test_path(tmp, name);
	const struct vf_key *kb[] = { vf_signer_key(fx.s[4]) };
	struct vf_repo_opts o = { .now = NOW };
	struct vf_err err = { 0 };
	struct vf_repo *r;

	assert_int_equal(vf_repo_create(repo, root, &o, &r, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "top.txt", "top", 3, NULL, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "a/b/f-001", "old", 3, NULL, &err), 0);
	assert_int_equal(vf_repo_add_target_data(r, "docs/b.txt", "b", 1, NULL, &err), 0);
	assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, 0, &err), 0);
	vf_repo_close(r);
	r = open_at(repo);
	assert_int_equal(vf_repo_add_bins(r, "bins", BITS, kb, 1, 1, &err), 0);
	assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, 0, &err), 0);
	vf_repo_close(r);
	return repo;
}

/* The all-in-memory path: a target added first, then the tree, one publish. */
static void fill_in_memory(const char *repo, const char *src)
{
	struct vf_err err = { 0 };
	struct vf_repo *r = open_at(repo);

	assert_int_equal(vf_repo_add_target_data(r, "extra.txt", "extra", 5, NULL, &err), 0);
	if (vf_repo_add_target_dir(r, src, &err) || vf_repo_publish(r, fx.s, N_KEYS, 0, &err))
		fail_msg("in memory: %s", err.msg);
	vf_repo_close(r);
}

/* The same through vf_repo_publish_dirs(), in groups of GROUP targets. */
static int fill_grouped(const char *repo, const char *src, struct vf_signer *const *s, size_t n,
			struct vf_err *err)
{
	struct vf_repo *r = open_at(repo);
	const char *dirs[] = { src };
	int rc;

	setenv("VFORGE_TEST_BIN_GROUP_TARGETS", GROUP, 1);
	rc = vf_repo_add_target_data(r, "extra.txt", "extra", 5, NULL, err);
	if (!rc)
		rc = vf_repo_publish_dirs(r, dirs, 1, s, n, 0, err);
	unsetenv("VFORGE_TEST_BIN_GROUP_TARGETS");
	vf_repo_close(r);
	return rc;
}

/* Two trees hold the same names (recursively) and the same bytes; returns the file count. */
static size_t assert_same_tree(const char *a, const char *b)
{
	char *la = vf_test_list_dir(a), *lb = vf_test_list_dir(b), *save = NULL;
	size_t files = 0;

	if (strcmp(la, lb) != 0)
		fail_msg("'%s' and '%s' list different names:\n%s\n%s", a, b, la, lb);
	for (char *name = strtok_r(la, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
		char *pa = vf_test_path(a, name), *pb = vf_test_path(b, name);
		struct stat st;

		assert_int_equal(lstat(pa, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			files += assert_same_tree(pa, pb);
		} else if (strcmp(name, ".vforge.lock") != 0) {
			size_t na, nb;
			uint8_t *da = vf_test_read_file(pa, &na), *db = vf_test_read_file(pb, &nb);

			if (na != nb || memcmp(da, db, na) != 0)
				fail_msg("'%s' and '%s' differ (%zu and %zu bytes)", pa, pb, na, nb);
			free(da);
			free(db);
			files++;
		}
		free(pa);
		free(pb);
	}
	free(la);
	free(lb);
	return files;
}

static uint64_t ts_version(const char *repo)
{
	char *p = vf_test_path(repo, "metadata/timestamp.json");
	struct vf_tuf_md *ts = NULL;
	struct vf_err err = { 0 };
	uint64_t v;

	assert_int_equal(vf_tuf_md_load(p, VF_TUF_TIMESTAMP, 0, &ts, &err), 0);
	v = ts->version;
	vf_tuf_md_free(ts);
	free(p);
	return v;
}

/* The names of metadata/ that clients can see (no hidden temporary files). */
static char *visible(const char *repo)
{
	char *md = vf_test_path(repo, "metadata"), *list = vf_test_list_dir(md);
	char *out = calloc(1, strlen(list) + 1), *save = NULL;

	for (char *name = strtok_r(list, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
		if (name[0] == '.')
			continue;
		strcat(out, *out ? " " : "");
		strcat(out, name);
	}
	free(list);
	free(md);
	return out;
}

static char *file_url(const char *path)
{
	char *u = malloc(strlen(path) + 8);

	assert_true(path[0] == '/');
	sprintf(u, "file://%s", path);
	return u;
}

/* A client trusting root v1 downloads every target of the tree from its bin. */
static void client_gets_all(const char *tmp, const char *repo, const char *src)
{
	char *mdir = vf_test_path(tmp, "client"), *m = vf_test_path(repo, "metadata");
	char *t = vf_test_path(repo, "targets"), *out = vf_test_path(tmp, "download");
	char *trusted = vf_test_path(m, "1.root.json");
	char *murl = file_url(m), *turl = file_url(t);
	struct vf_fetcher *f = NULL;
	struct vf_client *c = NULL;
	struct vf_err err = { 0 };
	struct vf_client_opts o = { .metadata_dir = mdir, .metadata_url = murl,
				    .targets_url = turl, .trusted_root = trusted, .now = NOW };

	assert_int_equal(mkdir(mdir, 0700), 0);
	assert_int_equal(vf_fetcher_new(NULL, &f, &err), 0);
	o.fetcher = f;
	if (vf_client_open(&o, &c, &err) || vf_client_refresh(c, &err))
		fail_msg("client: %s", err.msg);
	for (int i = 0; i < N_FILES; i++) {
		const struct vf_tuf_target *tg;
		const char *role = NULL;
		char name[64], *want_bin = NULL, *p;
		uint8_t *got, *want;
		size_t ng, nw;

		file_name(i, name, sizeof(name));
		if (vf_client_find_target(c, name, &tg, &role, &err) ||
		    vf_client_download_target(c, tg, out, NULL, &err))
			fail_msg("client, target %s: %s", name, err.msg);
		assert_int_equal(vf_tuf_bin_name_for_path("bins", BITS, name, &want_bin, &err), 0);
		assert_string_equal(role, want_bin);
		p = vf_test_path(src, name);
		want = vf_test_read_file(p, &nw);
		got = vf_test_read_file(out, &ng);
		assert_int_equal(ng, nw);
		assert_memory_equal(got, want, nw);
		free(got);
		free(want);
		free(p);
		free(want_bin);
	}
	vf_client_free(c);
	vf_fetcher_free(f);
	free(mdir);
	free(m);
	free(t);
	free(out);
	free(trusted);
	free(murl);
	free(turl);
}

static void test_same_as_in_memory(void **state)
{
	char *src = make_tree(*state);
	char *a = make_binned(*state, "a"), *b = make_binned(*state, "b");
	struct vf_err err = { 0 };
	size_t files;

	fill_in_memory(a, src);
	if (fill_grouped(b, src, fx.s, N_KEYS, &err))
		fail_msg("grouped: %s", err.msg);
	/* every metadata file and every target file, byte for byte (ed25519 is deterministic) */
	files = assert_same_tree(a, b);
	/* 64 bins x 2 or 3 versions, targets, snapshot, root, timestamp; 304 target files */
	assert_true(files > 64 * 2 + N_FILES);
	assert_int_equal(ts_version(b), 3);
	assert_valid(b);
	client_gets_all(*state, b, src);
	free(a);
	free(b);
	free(src);
}

static void test_crash_in_group(void **state)
{
	char *src = make_tree(*state);
	char *a = make_binned(*state, "a"), *c = make_binned(*state, "c");
	char *before = visible(c), *after, *md = vf_test_path(c, "metadata"), *list;
	char *staging = vf_test_path(c, ".vforge-staging");
	struct vf_err err = { 0 };
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("VFORGE_TEST_CRASH_AT", "bins-group", 1);
		_exit(fill_grouped(c, src, fx.s, N_KEYS, &err) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the publisher was not killed at bins-group (status %d)", status);
	/*
	 * the first group's bins (a few of the 64: 64 bins / ~20 groups) were
	 * written ahead, invisible; clients see the old state
	 */
	list = vf_test_list_dir(md);
	{
		size_t tmps = 0;

		for (const char *q = strstr(list, ".tmp."); q; q = strstr(q + 1, ".tmp."))
			tmps++;
		if (tmps < 1 || tmps > 8)
			fail_msg("%zu bins written ahead at the first group, expected 1 to 8: %s", tmps,
				 list);
	}
	free(list);
	assert_int_equal(access(staging, F_OK), 0);
	after = visible(c);
	assert_string_equal(after, before);
	free(after);
	assert_int_equal(ts_version(c), 2);
	assert_valid(c);

	/* the next publisher removes the leftovers and carries on: the same result */
	vf_repo_close(open_at(c));
	list = vf_test_list_dir(md);
	assert_null(strstr(list, ".tmp."));
	free(list);
	assert_int_not_equal(access(staging, F_OK), 0);
	if (fill_grouped(c, src, fx.s, N_KEYS, &err))
		fail_msg("grouped after the crash: %s", err.msg);
	fill_in_memory(a, src);
	assert_same_tree(a, c);
	assert_valid(c);
	free(before);
	free(md);
	free(staging);
	free(a);
	free(c);
	free(src);
}

static void test_refused(void **state)
{
	char *src = make_tree(*state), *d = make_binned(*state, "d");
	char *md = vf_test_path(d, "metadata"), *tdir = vf_test_path(d, "targets");
	char *mbefore = vf_test_list_dir(md), *tbefore = vf_test_list_dir(tdir), *p;
	struct vf_signer *no_bins[] = { fx.s[1], fx.s[2], fx.s[3] };
	struct vf_err err = { 0 };

	/* without the bins key: refused before any metadata is written */
	assert_int_equal(fill_grouped(d, src, no_bins, 3, &err), -EACCES);
	vf_test_assert_contains(err.msg, "cannot publish: bins-");
	vf_test_assert_containsf(err.msg, "threshold 1, 0 authorised keys given; still needed: 1 "
				 "more of: %s", fx.keyid[4]);
	vf_test_assert_contains(err.msg, "more hash bins, the same keys");
	vf_test_assert_listing(md, mbefore);
	vf_test_assert_listing(tdir, tbefore);

	/* a symbolic link, then a name that is no target name: found by the first walk */
	p = vf_test_path(src, "c/link");
	assert_int_equal(symlink("../top-000.txt", p), 0);
	assert_int_equal(fill_grouped(d, src, fx.s, N_KEYS, &err), -EINVAL);
	vf_test_assert_containsf(err.msg, "'%s' is not a regular file or a directory", p);
	assert_int_equal(unlink(p), 0);
	free(p);
	p = vf_test_path(src, "a/back\\slash");
	vf_test_write_file(p, "x", 1);
	assert_int_equal(fill_grouped(d, src, fx.s, N_KEYS, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "target name 'a/back\\slash'");
	assert_int_equal(unlink(p), 0);
	free(p);
	vf_test_assert_listing(md, mbefore);
	vf_test_assert_listing(tdir, tbefore);
	assert_valid(d);
	free(mbefore);
	free(tbefore);
	free(md);
	free(tdir);
	free(d);
	free(src);
}

static void test_again_and_without_bins(void **state)
{
	char *src = make_tree(*state), *b = make_binned(*state, "b");
	struct vf_signer *online[] = { fx.s[2], fx.s[3] };
	struct vf_repo_opts o = { .now = NOW };
	const char *dirs[] = { src };
	struct vf_err err = { 0 };
	struct vf_repo *r;
	char *p1, *p2;

	if (fill_grouped(b, src, fx.s, N_KEYS, &err))
		fail_msg("grouped: %s", err.msg);
	/* the same tree again: nothing changed, so no bin needs its key */
	r = open_at(b);
	setenv("VFORGE_TEST_BIN_GROUP_TARGETS", GROUP, 1);
	assert_int_equal(vf_repo_publish_dirs(r, dirs, 1, online, 2, 0, &err), 0);
	unsetenv("VFORGE_TEST_BIN_GROUP_TARGETS");
	assert_int_equal(vf_repo_snapshot(r)->version, 3);
	vf_repo_close(r);
	assert_int_equal(ts_version(b), 3);

	/* no bins: one targets.json, as vf_repo_add_target_dir() and vf_repo_publish() make it */
	p1 = vf_test_path(*state, "plain1");
	p2 = vf_test_path(*state, "plain2");
	assert_int_equal(vf_repo_create(p1, root, &o, &r, &err), 0);
	assert_int_equal(vf_repo_add_target_dir(r, src, &err), 0);
	assert_int_equal(vf_repo_publish(r, fx.s, N_KEYS, 0, &err), 0);
	vf_repo_close(r);
	assert_int_equal(vf_repo_create(p2, root, &o, &r, &err), 0);
	assert_int_equal(vf_repo_publish_dirs(r, dirs, 1, fx.s, N_KEYS, 0, &err), 0);
	assert_int_equal(vf_repo_targets(r)->n_targets, N_FILES);
	vf_repo_close(r);
	assert_same_tree(p1, p2);
	assert_valid(p2);
	free(p1);
	free(p2);
	free(b);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_same_as_in_memory),
		vf_test_in_tmpdir(test_crash_in_group),
		vf_test_in_tmpdir(test_refused),
		vf_test_in_tmpdir(test_again_and_without_bins),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
