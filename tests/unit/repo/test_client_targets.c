/* repo/client: delegated roles and the target search (paths, hash
 * prefixes, succinct hash bins, terminating roles, cycles, the role limit),
 * attacks through delegated roles, target downloads (arbitrary software,
 * endless data, cached copies, output paths), repositories made by
 * python-tuf and tough, and 100,000 targets in linear time. */
#include "tests/unit/repo/client_world.h"

/* ---- target files ------------------------------------------------------------------------ */

struct collect {
	struct vf_buf b;
};

static int collect_sink(void *ctx, const void *data, size_t len, struct vf_err *err)
{
	struct collect *c = ctx;

	(void)err;
	return vf_buf_add(&c->b, data, len);
}

static void download_fails(struct world *w, struct vf_client *c, const char *path, int code,
			   const char *want)
{
	const struct vf_tuf_target *t = find(c, path, "targets");
	char *out = vf_test_path(w->out, "x/y/file");
	struct collect col = { VF_BUF_INIT };
	struct vf_err err = { 0 };
	bool cached = true;
	int r;

	r = vf_client_download_target(c, t, out, &cached, &err);
	if (r != code)
		fail_msg("download %s: rc %d (want %d): %s", path, r, code, err.msg);
	vf_test_assert_contains(err.msg, want);
	assert_false(cached);
	assert_int_equal(access(out, F_OK), -1);
	/* no temporary file is left either */
	{
		char *dir = vf_test_path(w->out, "x/y");

		vf_test_assert_listing(dir, "");
		free(dir);
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(vf_client_stream_target(c, t, collect_sink, &col, &err), code);
	vf_test_assert_contains(err.msg, want);
	vf_buf_release(&col.b);
	free(out);
}

static void test_target_files(void **state)
{
	struct world w;
	struct vf_client *c;
	char *img, *readme, *out;
	uint8_t *orig;
	size_t len;

	world_init(&w, *state, false);
	c = refreshed(&w);
	img = target_file(&w, w.targets, "os.img");
	readme = target_file(&w, w.targets, "docs/readme.txt");
	orig = vf_test_read_file(img, &len);

	/* streaming a good target */
	{
		struct collect col = { VF_BUF_INIT };
		uint8_t want[100];

		vf_test_data(2, want, 100);
		OK(vf_client_stream_target(c, find(c, "docs/readme.txt", "targets"), collect_sink,
					   &col, err));
		assert_int_equal(col.b.len, 100);
		assert_memory_equal(col.b.data, want, 100);
		vf_buf_release(&col.b);
	}
	/* arbitrary software: same length, other bytes */
	vf_test_flip_file(img, 1234, 0x01);
	download_fails(&w, c, "os.img", -VF_EVERIFY, "target 'os.img': sha256 differs from its "
		       "metadata's: expected ");
	vf_test_flip_file(img, 1234, 0x01);
	/* shorter */
	vf_test_write_file(img, orig, len - 1);
	download_fails(&w, c, "os.img", -VF_EVERIFY, "target 'os.img': length differs from its "
		       "metadata's: expected 3000, got 2999");
	/* endless data: longer */
	{
		uint8_t *more = malloc(len + 5000);

		assert_non_null(more);
		memcpy(more, orig, len);
		memset(more + len, 'x', 5000);
		vf_test_write_file(img, more, len + 5000);
		free(more);
	}
	download_fails(&w, c, "os.img", -VF_EVERIFY, "target 'os.img': more than its length of "
		       "3000 bytes (endless data attack)");
	/* missing */
	assert_int_equal(unlink(img), 0);
	download_fails(&w, c, "os.img", -ENOENT, "target 'os.img'");
	/* a good copy at out_path is used even though the repository lost it */
	vf_test_write_file(img, orig, len);
	download(&w, c, "os.img", 1, 3000, false);
	assert_int_equal(unlink(img), 0);
	download(&w, c, "os.img", 1, 3000, true);
	/* a wrong copy at out_path is replaced */
	out = vf_test_path(w.out, "docs/readme.txt");
	download(&w, c, "docs/readme.txt", 2, 100, false);
	vf_test_flip_file(out, 3, 0x80);
	download(&w, c, "docs/readme.txt", 2, 100, false);
	/* out_path problems */
	{
		const struct vf_tuf_target *t = find(c, "docs/readme.txt", "targets");
		struct vf_err err = { 0 };
		char *d = vf_test_path(w.out, "adir");

		assert_int_equal(mkdir(d, 0755), 0);
		assert_int_equal(vf_client_download_target(c, t, d, NULL, &err), -EISDIR);
		vf_test_assert_contains(err.msg, "is a directory");
		free(d);
		assert_true(asprintf(&d, "%s/", w.out) > 0);
		assert_int_equal(vf_client_download_target(c, t, d, NULL, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "names no file");
		free(d);
		d = vf_test_path(w.out, "link");
		assert_int_equal(symlink("docs/readme.txt", d), 0);
		assert_int_equal(vf_client_download_target(c, t, d, NULL, &err), -EEXIST);
		vf_test_assert_contains(err.msg, "is not a regular file");
		free(d);
	}
	/* without a targets URL */
	{
		struct vf_client_opts o = opts_of(&w);
		struct vf_client *c2;
		struct vf_err e = { 0 };
		char *o2 = vf_test_path(w.out, "z");

		o.targets_url = NULL;
		OK(vf_client_open(&o, &c2, err));
		OK(vf_client_refresh(c2, err));
		assert_int_equal(vf_client_download_target(c2, find(c2, "docs/readme.txt",
								    "targets"),
							   o2, NULL, &e),
				 -EINVAL);
		vf_test_assert_contains(e.msg, "no targets URL");
		vf_client_free(c2);
		free(o2);
	}
	(void)readme;
	free(out);
	free(orig);
	free(img);
	free(readme);
	vf_client_free(c);
	world_free(&w);
}

/* ---- delegations ------------------------------------------------------------------------- */

/*
 * targets delegates 'apps' (paths "apps/" "*", K_APPS) and 'a/b' ("odd/" "*", K_OTHER).
 * 'apps' lists apps/direct and a stray "other/stray" outside its paths, and
 * delegates to 4 succinct bins 'apps-bin-0..3' (K_BINS) holding apps/one..four
 * (plus "apps/five" put in the wrong bin).
 */
static void build_delegations(struct world *w)
{
	static const char *const bin_targets[] = { "apps/one", "apps/two", "apps/three",
						   "apps/four", "apps/five" };
	struct vf_tuf_md *apps = new_md(VF_TUF_TARGETS), *ab = new_md(VF_TUF_TARGETS), *bins[4];
	const char *p1 = "apps/*", *p2 = "odd/*";

	OK(vf_tuf_targets_add_role(w->targets, "apps", &p1, 1, false, false, err));
	add_key(w->targets, "apps", K_APPS);
	OK(vf_tuf_targets_add_role(w->targets, "a/b", &p2, 1, false, false, err));
	add_key(w->targets, "a/b", K_OTHER);
	add_target(w, apps, "apps/direct", 5, 20, false);
	add_target(w, apps, "other/stray", 6, 10, false);
	OK(vf_tuf_targets_set_succinct(apps, "apps-bin", 2, err));
	add_key(apps, "apps-bin", K_BINS);
	add_target(w, ab, "odd/x.txt", 3, 50, false);
	for (int i = 0; i < 4; i++)
		bins[i] = new_md(VF_TUF_TARGETS);
	for (int i = 0; i < 5; i++) {
		uint32_t idx;

		OK(vf_tuf_bin_index(bin_targets[i], 2, &idx, err));
		if (i == 4)
			idx = (idx + 1) % 4;
		add_target(w, bins[idx], bin_targets[i], 10 + (uint64_t)i, 30 + (size_t)i, false);
	}
	for (uint32_t i = 0; i < 4; i++) {
		char *name = NULL;

		OK(vf_tuf_bin_name("apps-bin", 2, i, &name, err));
		pub_role(w, bins[i], name, K_BINS);
		free(name);
		vf_tuf_md_free(bins[i]);
	}
	pub_role(w, apps, "apps", K_APPS);
	pub_role(w, ab, "a/b", K_OTHER);
	bump_all(w);
	vf_tuf_md_free(apps);
	vf_tuf_md_free(ab);
}

static void test_delegations(void **state)
{
	struct world w;
	struct vf_client *c;
	char *bin_one = NULL, *want;
	uint32_t idx;
	const struct vf_tuf_target *t;

	world_init(&w, *state, false);
	build_delegations(&w);
	c = refreshed(&w);
	/* delegated roles are loaded on demand only */
	vf_test_assert_listing(w.client, "root.json snapshot.json targets.json timestamp.json");
	find(c, "os.img", "targets");
	vf_test_assert_listing(w.client, "root.json snapshot.json targets.json timestamp.json");
	find(c, "odd/x.txt", "a/b");
	vf_test_assert_listing(w.client, "a%2Fb.json root.json snapshot.json targets.json "
			       "timestamp.json");
	same_file(&w, "a%2Fb.json", "1.a%2Fb.json");
	find(c, "apps/direct", "apps");
	OK(vf_tuf_bin_name_for_path("apps-bin", 2, "apps/one", &bin_one, err));
	t = find(c, "apps/one", bin_one);
	assert_int_equal(t->length, 30);
	/* a path outside the role's delegation is not taken from it */
	find_fails(c, "other/stray", -ENOENT, "target 'other/stray' is not in the repository "
		   "(searched: targets)");
	/* nor from a bin it does not belong to */
	OK(vf_tuf_bin_index("apps/five", 2, &idx, err));
	assert_true(asprintf(&want, "target 'apps/five' is not in the repository (searched: "
			     "targets, apps, apps-bin-%x)", idx) > 0);
	find_fails(c, "apps/five", -ENOENT, want);
	free(want);
	/* download through a delegated role */
	{
		char *out = vf_test_path(w.out, "one");

		OK(vf_client_download_target(c, find(c, "apps/one", bin_one), out, NULL, err));
		free(out);
	}
	vf_client_free(c);

	/* a second client uses the persisted roles, even when the repository lost them */
	{
		char *p = mfile(&w, "1.a%2Fb.json");

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	c = refreshed(&w);
	find(c, "odd/x.txt", "a/b");
	vf_client_free(c);
	free(bin_one);
	world_free(&w);
}

static void test_delegation_attacks(void **state)
{
	struct world w;
	struct vf_client *c;
	struct vf_tuf_md *ab;
	char *p;

	world_init(&w, *state, true);
	build_delegations(&w);
	refresh_ok(&w);
	/* 'a/b' signed by a key 'targets' did not delegate to it */
	p = mfile(&w, "a%2Fb.json");
	ab = NULL;
	OK(vf_tuf_md_load(p, VF_TUF_TARGETS, 0, &ab, err));
	ab->version = 3;
	free(save(&w, ab, "a/b", (int[]){ K_APPS }, 1));
	pin(w.snap, "a/b", 3, p);
	bump_snap_ts(&w);
	c = refreshed(&w);
	find_fails(c, "odd/x.txt", -VF_EVERIFY, "role 'a/b' (a%2Fb.json): signatures (keys of "
		   "'targets'): role a/b: threshold not met");
	/* no file was written for it */
	vf_test_assert_listing(w.client, "root.json snapshot.json targets.json timestamp.json");
	vf_client_free(c);
	/* expired */
	ab->expires = PAST;
	free(save(&w, ab, "a/b", (int[]){ K_OTHER }, 1));
	pin(w.snap, "a/b", 3, p);
	bump_snap_ts(&w);
	c = refreshed(&w);
	find_fails(c, "odd/x.txt", -VF_EVERIFY, "role 'a/b' (a%2Fb.json): expired at "
		   "2025-01-01T00:00:00Z (now 2026-01-01T00:00:00Z): freeze attack");
	vf_client_free(c);
	/* a version other than snapshot's */
	ab->expires = EXPIRES;
	free(save(&w, ab, "a/b", (int[]){ K_OTHER }, 1));
	OK(vf_tuf_md_set_meta(w.snap, "a/b.json", 4, -1, NULL, err));
	bump_snap_ts(&w);
	c = refreshed(&w);
	find_fails(c, "odd/x.txt", -VF_EVERIFY, "role 'a/b' (a%2Fb.json): version 3, snapshot.json "
		   "says 4 (rollback attack)");
	vf_client_free(c);
	/* bytes other than those whose hash snapshot gives */
	ab->version = 4;
	free(save(&w, ab, "a/b", (int[]){ K_OTHER }, 1));
	pin(w.snap, "a/b", 4, p);
	ab->expires = EXPIRES - 1;
	free(save(&w, ab, "a/b", (int[]){ K_OTHER }, 1));
	bump_snap_ts(&w);
	c = refreshed(&w);
	find_fails(c, "odd/x.txt", -VF_EVERIFY, "role 'a/b' (a%2Fb.json): sha256 differs from "
		   "snapshot.json's");
	vf_client_free(c);
	/* not in snapshot at all */
	OK(vf_tuf_md_remove_meta(w.snap, "a/b.json", err));
	bump_snap_ts(&w);
	{
		/* the client refuses the snapshot that drops it; a fresh one gets this far */
		vf_test_rmtree(w.client);
		assert_int_equal(mkdir(w.client, 0755), 0);
	}
	c = refreshed(&w);
	find_fails(c, "odd/x.txt", -VF_EVERIFY, "role 'a/b' (delegated by 'targets') is not listed "
		   "in snapshot.json");
	vf_client_free(c);
	pin(w.snap, "a/b", 4, p);
	bump_snap_ts(&w);
	c = refreshed(&w);
	find(c, "odd/x.txt", "a/b");
	vf_client_free(c);
	vf_tuf_md_free(ab);
	free(p);
	world_free(&w);
}

/*
 * targets -> t1 ("*", terminating?) -> t1b ("*"), then t2 ("*") listing "x";
 * t1b -> t1 (a cycle).
 */
static void build_search(struct world *w, bool terminating)
{
	struct vf_tuf_md *t1 = new_md(VF_TUF_TARGETS), *t1b = new_md(VF_TUF_TARGETS);
	struct vf_tuf_md *t2 = new_md(VF_TUF_TARGETS);
	const char *all = "*";

	OK(vf_tuf_targets_add_role(w->targets, "t1", &all, 1, false, terminating, err));
	add_key(w->targets, "t1", K_APPS);
	OK(vf_tuf_targets_add_role(w->targets, "t2", &all, 1, false, false, err));
	add_key(w->targets, "t2", K_APPS);
	OK(vf_tuf_targets_add_role(t1, "t1b", &all, 1, false, false, err));
	add_key(t1, "t1b", K_APPS);
	OK(vf_tuf_targets_add_role(t1b, "t1", &all, 1, false, false, err));
	add_key(t1b, "t1", K_APPS);
	add_target(w, t2, "x", 20, 5, false);
	add_target(w, t1b, "y", 21, 6, false);
	pub_role(w, t1, "t1", K_APPS);
	pub_role(w, t1b, "t1b", K_APPS);
	pub_role(w, t2, "t2", K_APPS);
	bump_all(w);
	vf_tuf_md_free(t1);
	vf_tuf_md_free(t1b);
	vf_tuf_md_free(t2);
}

static void test_search_order(void **state)
{
	struct world w;
	struct vf_client *c;

	world_init(&w, *state, false);
	build_search(&w, false);
	c = refreshed(&w);
	/* pre-order: t1, t1b (its delegation back to t1 is skipped), then t2 */
	find(c, "x", "t2");
	find(c, "y", "t1b");
	find_fails(c, "z", -ENOENT, "(searched: targets, t1, t1b, t2)");
	vf_client_free(c);
	/* the limit on roles visited, targets included (as python-tuf counts) */
	w.max_deleg = 3;
	c = refreshed(&w);
	find(c, "y", "t1b");
	vf_client_free(c);
	w.max_deleg = 2;
	c = refreshed(&w);
	find_fails(c, "y", -ENOENT, "(searched: targets, t1; stopped at the limit of 2 roles)");
	vf_client_free(c);
	world_free(&w);
}

static void test_search_terminating(void **state)
{
	struct world w;
	struct vf_client *c;

	world_init(&w, *state, false);
	build_search(&w, true);
	c = refreshed(&w);
	/* t1 is terminating: t2 is never reached */
	find_fails(c, "x", -ENOENT, "(searched: targets, t1, t1b)");
	find(c, "y", "t1b");
	vf_client_free(c);
	world_free(&w);
}

/* path_hash_prefixes */
static void test_hash_prefixes(void **state)
{
	struct world w;
	struct vf_client *c;
	struct vf_tuf_md *h = new_md(VF_TUF_TARGETS);
	char hex[65];
	char prefix[3] = { 0 }, other[3] = { 0 };
	const char *pp = prefix;

	world_init(&w, *state, false);
	OK(vf_tuf_sha256_hex("hp/in", 5, hex));
	memcpy(prefix, hex, 2);
	OK(vf_tuf_targets_add_role(w.targets, "hp", &pp, 1, true, false, err));
	add_key(w.targets, "hp", K_APPS);
	add_target(&w, h, "hp/in", 30, 7, false);
	/* a path whose hash has another prefix, listed by the same role */
	for (int i = 0;; i++) {
		char name[32];

		snprintf(name, sizeof(name), "hp/out%d", i);
		OK(vf_tuf_sha256_hex(name, strlen(name), hex));
		if (memcmp(hex, prefix, 2) != 0) {
			add_target(&w, h, name, 31, 8, false);
			memcpy(other, name + 3, 2);
			break;
		}
	}
	pub_role(&w, h, "hp", K_APPS);
	bump_all(&w);
	c = refreshed(&w);
	find(c, "hp/in", "hp");
	find_fails(c, "hp/out0", -ENOENT, "(searched: targets)");
	vf_client_free(c);
	vf_tuf_md_free(h);
	(void)other;
	world_free(&w);
}

/* ---- repositories made by others --------------------------------------------------------- */

static struct vf_client *open_vector(const char *dir, const char *meta, const char *targets,
				     const char *root, time_t now)
{
	struct vf_client_opts o = { .metadata_dir = dir, .trusted_root = root, .now = now,
				    .fetcher = fetcher };
	char *m = file_url(meta), *t = targets ? file_url(targets) : NULL;
	struct vf_client *c = NULL;
	struct vf_err err = { 0 };

	o.metadata_url = m;
	o.targets_url = t;
	if (vf_client_open(&o, &c, &err))
		fail_msg("open %s: %s", meta, err.msg);
	if (vf_client_refresh(c, &err))
		fail_msg("refresh %s: %s", meta, err.msg);
	free(m);
	free(t);
	return c;
}

static void fetch_vector_target(struct vf_client *c, const char *dir, const char *path,
				const char *role, const char *want_prefix)
{
	const struct vf_tuf_target *t = find(c, path, role);
	char *out = vf_test_path(dir, "out-file");
	size_t len;
	uint8_t *b;

	OK(vf_client_download_target(c, t, out, NULL, err));
	b = vf_test_read_file(out, &len);
	assert_int_equal(len, t->length);
	assert_memory_equal(b, want_prefix, strlen(want_prefix));
	free(b);
	assert_int_equal(unlink(out), 0);
	free(out);
}

static void test_vector_python_tuf(void **state)
{
	char *dir = vf_test_path(*state, "state");
	struct vf_client *c;

	assert_int_equal(mkdir(dir, 0755), 0);
	/* plain names (consistent_snapshot false), role1 -> role2 */
	c = open_vector(dir, VEC "/python-tuf/repository/metadata",
			VEC "/python-tuf/repository/targets",
			VEC "/python-tuf/repository/metadata/1.root.json", NOW);
	check_changes(c, 0, 1, 0, 1, 0, 1, 0, 1);
	fetch_vector_target(c, *state, "file1.txt", "targets", "This is an example target file.");
	fetch_vector_target(c, *state, "file3.txt", "role1", "This is role1's target file.");
	find_fails(c, "file4.txt", -ENOENT, "(searched: targets)");
	vf_client_free(c);
	vf_test_assert_listing(dir, "role1.json root.json snapshot.json targets.json "
			       "timestamp.json");
	/* expired at 2030 */
	{
		struct vf_client_opts o = {.metadata_dir = dir, .now = EXPIRES, .fetcher = fetcher};
		struct vf_err e = { 0 };
		char *m = file_url(VEC "/python-tuf/repository/metadata");

		o.metadata_url = m;
		OK(vf_client_open(&o, &c, err));
		assert_int_equal(vf_client_refresh(c, &e), -VF_EVERIFY);
		vf_test_assert_contains(e.msg, "root.json: expired at 2030-01-01T00:00:00Z");
		vf_client_free(c);
		free(m);
	}
	free(dir);
}

static void test_vector_tough(void **state)
{
	char *dir = vf_test_path(*state, "cs"), *dir2 = vf_test_path(*state, "rot");
	struct vf_client *c;

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(dir2, 0755), 0);
	/* consistent snapshots: 1.snapshot.json, targets/<sha256>.data1.txt */
	c = open_vector(dir, VEC "/tough/consistent-snapshots/metadata",
			VEC "/tough/consistent-snapshots/targets",
			VEC "/tough/consistent-snapshots/metadata/1.root.json", NOW);
	fetch_vector_target(c, *state, "data1.txt", "targets", "123\n");
	vf_client_free(c);
	vf_test_assert_listing(dir, "root.json snapshot.json targets.json timestamp.json");
	/* rotated root: v1 expired in 1998, v2 signs the rest */
	c = open_vector(dir2, VEC "/tough/rotated-root", NULL,
			VEC "/tough/rotated-root/1.root.json", NOW);
	check_changes(c, 0, 2, 0, 1, 0, 1, 0, 1);
	vf_client_free(c);
	{
		char *a = vf_test_path(dir2, "root.json");
		size_t la, lb;
		uint8_t *x = vf_test_read_file(a, &la);
		uint8_t *y = vf_test_read_file(VEC "/tough/rotated-root/2.root.json", &lb);

		assert_int_equal(la, lb);
		assert_memory_equal(x, y, la);
		free(x);
		free(y);
		free(a);
	}
	free(dir);
	free(dir2);
}

/* ---- linear time ------------------------------------------------------------------------- */

static double elapsed(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void test_many_targets(void **state)
{
	enum { N = 100000 };
	struct world w;
	struct vf_client *c;
	struct vf_tuf_hashes h;
	struct timespec t0;
	double first, again;
	char name[64];

	world_init(&w, *state, false);
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pkg/%06d.tar", i);
		snprintf(h.sha256, sizeof(h.sha256), "%064x", i);
		OK(vf_tuf_targets_add_target(w.targets, name, 1000 + (uint64_t)i, &h, NULL, err));
	}
	bump_all(&w);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = refreshed(&w);
	find(c, "pkg/054321.tar", "targets");
	download(&w, c, "os.img", 1, 3000, false);
	first = elapsed(&t0);
	assert_int_equal(vf_client_trusted(c, VF_TUF_TARGETS)->n_targets, N + 2);
	vf_client_free(c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = refreshed(&w);
	again = elapsed(&t0);
	vf_client_free(c);
	print_message("      100,000 targets: first refresh + find + download %.3f s, "
		      "refresh with nothing new %.3f s\n", first, again);
	/* generous: quadratic behaviour takes minutes; the sanitizers slow everything down */
	assert_true(first < 10.0);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_target_files),
		vf_test_in_tmpdir(test_delegations),
		vf_test_in_tmpdir(test_delegation_attacks),
		vf_test_in_tmpdir(test_search_order),
		vf_test_in_tmpdir(test_search_terminating),
		vf_test_in_tmpdir(test_hash_prefixes),
		vf_test_in_tmpdir(test_vector_python_tuf),
		vf_test_in_tmpdir(test_vector_tough),
		vf_test_in_tmpdir(test_many_targets),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
