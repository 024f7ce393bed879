/* repo/validate: vf_repo_validate() and vf_repo_expirations() over the shared
 * vectors (python-tuf, tough) and over repositories built here with fresh
 * ed25519 keys (consistent and plain, root rotation, named delegations,
 * succinct hash bins), tampered one way or several at once: every problem is
 * reported, with its file and the expected and actual values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/metadata.h"
#include "repo/repo.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VEC "../shared/vectors/tuf"
#define EXPIRES ((time_t)1893456000)  /* 2030-01-01T00:00:00Z */
#define NOW ((time_t)1767225600)      /* 2026-01-01T00:00:00Z */

enum { K_ROOT, K_ROOT2, K_TS, K_SNAP, K_TARGETS, K_APPS, K_BINS, K_OTHER, N_KEYS };

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

#define OK(call)                                                                          \
	do {                                                                              \
		struct vf_err e_ = { 0 };                                                 \
		struct vf_err *err = &e_;                                                 \
		if ((call) != 0)                                                          \
			fail_msg("%s: %s", #call, e_.msg);                                \
		(void)err;                                                                \
	} while (0)

/* ---- collecting problems ------------------------------------------------------------- */

struct problems {
	char **v; /* "file: message" */
	size_t n;
};

static void collect(void *ctx, const char *file, const char *msg)
{
	struct problems *p = ctx;

	p->v = realloc(p->v, (p->n + 1) * sizeof(*p->v));
	assert_non_null(p->v);
	assert_true(asprintf(&p->v[p->n++], "%s: %s", file, msg) > 0);
}

static void problems_free(struct problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static void problems_print(const struct problems *p)
{
	for (size_t i = 0; i < p->n; i++)
		print_message("  problem %zu: %s\n", i, p->v[i]);
}

/* Fail unless some problem starts with "file: " and contains `want`. */
static void has_problem(const struct problems *p, const char *file, const char *want)
{
	size_t fl = strlen(file);

	for (size_t i = 0; i < p->n; i++)
		if (strncmp(p->v[i], file, fl) == 0 && p->v[i][fl] == ':' &&
		    strstr(p->v[i] + fl, want))
			return;
	problems_print(p);
	fail_msg("no problem for %s containing: %s", file, want);
}

static struct vf_tuf_md *load(const char *path)
{
	struct vf_tuf_md *md = NULL;

	OK(vf_tuf_md_load(path, 0, VF_TUF_PARSE_OPAQUE_KEYIDS, &md, err));
	return md;
}

/*
 * Validate `dir` from the root file `root_path` at `now`; the return code
 * must be `want_rc` and the problems exactly `want_n`. The caller frees *p.
 */
static void run(const char *dir, const char *root_path, time_t now, int want_rc, size_t want_n,
		struct problems *p)
{
	struct vf_tuf_md *root = load(root_path);
	struct vf_err err = { 0 };
	size_t n = 12345;
	int r;

	memset(p, 0, sizeof(*p));
	r = vf_repo_validate(dir, root, now, collect, p, &n, &err);
	vf_tuf_md_free(root);
	if (r != want_rc || n != want_n || p->n != want_n) {
		problems_print(p);
		fail_msg("validate %s: rc %d (want %d), %zu problems (want %zu): %s", dir, r,
			 want_rc, n, want_n, err.msg);
	}
	if (want_rc == -VF_EVERIFY)
		vf_test_assert_containsf(err.msg, "%zu problem", want_n);
}

static char *mpath(const char *dir, const char *name)
{
	char *s;

	assert_true(asprintf(&s, "%s/metadata/%s", dir, name) > 0);
	return s;
}

/* ---- building repositories ------------------------------------------------------------ */

/* What a built repository looks like, and what is wrong with it. */
struct spec {
	bool plain;            /* consistent_snapshot false */
	bool rotate;           /* a 2.root.json whose root key is K_ROOT2 */
	bool rotate_self_only; /* ... signed by K_ROOT2 only (no K_ROOT) */
	uint64_t rotate_version; /* version of the second root (0: 2) */
	time_t ts_expires;     /* 0: EXPIRES */
	bool stray;            /* targets outside their delegated paths / bins */
	bool diamond;          /* 'a/b' also delegates 'apps', with another key */
	bool cycle;            /* 'a/b' delegates to itself */
	bool apps_wrong_key;   /* 'apps' signed by K_OTHER */
	const char *unlist;    /* a snapshot meta entry left out */
};

static void mkdirs(const char *path)
{
	char *p = strdup(path);

	assert_non_null(p);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	free(p);
}

/* Add target `path` (len bytes of seed) to md and write its file(s) under dir/targets. */
static void add_target(struct vf_tuf_md *md, const char *dir, bool plain, const char *path,
		       uint64_t seed, size_t len, bool sha512)
{
	uint8_t *data = malloc(len + 1);
	struct vf_tuf_hashes h;

	assert_non_null(data);
	vf_test_data(seed, data, len);
	OK(vf_tuf_hashes_build(data, len, sha512, &h, err));
	OK(vf_tuf_targets_add_target(md, path, len, &h, NULL, err));
	for (int i = 0; i < (plain ? 1 : 2); i++) {
		const char *hex = i ? h.sha512 : h.sha256;
		char *name = NULL, *file;

		if (!hex[0])
			continue;
		if (plain)
			name = strdup(path);
		else
			OK(vf_tuf_target_filename(path, hex, &name, err));
		assert_true(asprintf(&file, "%s/targets/%s", dir, name) > 0);
		mkdirs(file);
		vf_test_write_file(file, data, len);
		free(file);
		free(name);
	}
	free(data);
}

/* Sign md with keys[0..n), save it as metadata/<file name of role>, and list it in `lister`. */
static void publish(struct vf_tuf_md *md, const int *keys, size_t n, const char *dir,
		    const char *role, bool plain, struct vf_tuf_md *lister, const char *unlist)
{
	struct vf_signer *s[4];
	struct vf_tuf_hashes h;
	char *name = NULL, *path, *mname;
	uint8_t *bytes;
	size_t len;

	for (size_t i = 0; i < n; i++)
		s[i] = fx.s[keys[i]];
	OK(vf_tuf_md_sign(md, s, n, err));
	OK(vf_tuf_role_filename(role, plain || md->type == VF_TUF_TIMESTAMP ? 0 : md->version,
				&name, err));
	path = mpath(dir, name);
	mkdirs(path);
	OK(vf_tuf_md_save(md, path, err));
	if (lister) {
		assert_true(asprintf(&mname, "%s.json", role) > 0);
		bytes = vf_test_read_file(path, &len);
		OK(vf_tuf_hashes_build(bytes, len, false, &h, err));
		if (!unlist || strcmp(unlist, mname) != 0)
			OK(vf_tuf_md_set_meta(lister, mname, md->version, (int64_t)len, &h, err));
		free(bytes);
		free(mname);
	}
	free(path);
	free(name);
}

static struct vf_tuf_md *new_md(enum vf_tuf_type type)
{
	struct vf_tuf_md *md = vf_tuf_md_new(type);

	assert_non_null(md);
	md->expires = EXPIRES;
	return md;
}

static void add_key(struct vf_tuf_md *md, const char *role, int k)
{
	OK(vf_tuf_md_add_key(md, role, vf_signer_key(fx.s[k]), NULL, err));
}

static void add_role(struct vf_tuf_md *md, const char *name, const char *pattern, int k)
{
	OK(vf_tuf_targets_add_role(md, name, &pattern, 1, false, false, err));
	add_key(md, name, k);
}

static struct vf_tuf_md *make_root(bool plain, int root_key)
{
	struct vf_tuf_md *root = new_md(VF_TUF_ROOT);

	root->consistent_snapshot = !plain;
	add_key(root, "root", root_key);
	add_key(root, "timestamp", K_TS);
	add_key(root, "snapshot", K_SNAP);
	add_key(root, "targets", K_TARGETS);
	return root;
}

/*
 * targets: os.img (sha256 + sha512), docs/readme.txt; delegates 'apps'
 * (paths "apps/" + "*") and 'a/b' ("odd/" + "*"). 'apps' holds apps/direct and delegates to 4
 * succinct hash bins apps-bin-0..3 holding apps/one..four.
 */
static void build(const char *dir, const struct spec *sp)
{
	static const char *const bin_targets[] = { "apps/one", "apps/two", "apps/three",
						   "apps/four" };
	struct vf_tuf_md *root = make_root(sp->plain, K_ROOT);
	struct vf_tuf_md *targets = new_md(VF_TUF_TARGETS), *apps = new_md(VF_TUF_TARGETS);
	struct vf_tuf_md *ab = new_md(VF_TUF_TARGETS), *bins[4];
	struct vf_tuf_md *snap = new_md(VF_TUF_SNAPSHOT), *ts = new_md(VF_TUF_TIMESTAMP);
	int k;

	publish(root, (int[]){ K_ROOT }, 1, dir, "root", false, NULL, NULL);
	if (sp->rotate) {
		struct vf_tuf_md *r2 = make_root(sp->plain, K_ROOT2);

		r2->version = sp->rotate_version ? sp->rotate_version : 2;
		if (sp->rotate_self_only)
			publish(r2, (int[]){ K_ROOT2 }, 1, dir, "root", false, NULL, NULL);
		else
			publish(r2, (int[]){ K_ROOT, K_ROOT2 }, 2, dir, "root", false, NULL, NULL);
		vf_tuf_md_free(r2);
	}

	add_target(targets, dir, sp->plain, "os.img", 1, 3000, true);
	add_target(targets, dir, sp->plain, "docs/readme.txt", 2, 100, false);
	add_role(targets, "apps", "apps/*", K_APPS);
	add_role(targets, "a/b", "odd/*", K_OTHER);

	add_target(ab, dir, sp->plain, "odd/x.txt", 3, 50, false);
	if (sp->stray)
		add_target(ab, dir, sp->plain, "stray.txt", 4, 10, false);
	if (sp->diamond)
		add_role(ab, "apps", "apps/*", K_OTHER);
	if (sp->cycle)
		add_role(ab, "a/b", "odd/*", K_OTHER);

	add_target(apps, dir, sp->plain, "apps/direct", 5, 20, false);
	OK(vf_tuf_targets_set_succinct(apps, "apps-bin", 2, err));
	add_key(apps, "apps-bin", K_BINS);
	for (int i = 0; i < 4; i++)
		bins[i] = new_md(VF_TUF_TARGETS);
	for (int i = 0; i < 4 + sp->stray; i++) {
		const char *path = i < 4 ? bin_targets[i] : "apps/five";
		uint32_t idx;

		OK(vf_tuf_bin_index(path, 2, &idx, err));
		if (i == 4)
			idx = (idx + 1) % 4; /* the wrong bin */
		add_target(bins[idx], dir, sp->plain, path, 10 + (uint64_t)i, 30 + (size_t)i, true);
	}
	for (uint32_t i = 0; i < 4; i++) {
		char *name = NULL;

		OK(vf_tuf_bin_name("apps-bin", 2, i, &name, err));
		publish(bins[i], (int[]){ K_BINS }, 1, dir, name, sp->plain, snap, sp->unlist);
		free(name);
		vf_tuf_md_free(bins[i]);
	}
	k = sp->apps_wrong_key ? K_OTHER : K_APPS;
	publish(apps, &k, 1, dir, "apps", sp->plain, snap, sp->unlist);
	publish(ab, (int[]){ K_OTHER }, 1, dir, "a/b", sp->plain, snap, sp->unlist);
	publish(targets, (int[]){ K_TARGETS }, 1, dir, "targets", sp->plain, snap, sp->unlist);
	publish(snap, (int[]){ K_SNAP }, 1, dir, "snapshot", sp->plain, ts, NULL);
	ts->expires = sp->ts_expires ? sp->ts_expires : EXPIRES;
	publish(ts, (int[]){ K_TS }, 1, dir, "timestamp", sp->plain, NULL, NULL);

	vf_tuf_md_free(ts);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ab);
	vf_tuf_md_free(apps);
	vf_tuf_md_free(targets);
	vf_tuf_md_free(root);
}

/* dir/targets/<hash>.<name> of a target as targets role file `role_file` lists it. */
static char *target_file(const char *dir, const char *role_file, const char *path, bool sha512)
{
	char *mp = mpath(dir, role_file), *name = NULL, *s;
	struct vf_tuf_md *md = load(mp);
	const struct vf_tuf_target *t = vf_tuf_targets_find_target(md, path);

	assert_non_null(t);
	OK(vf_tuf_target_filename(path, sha512 ? t->hashes.sha512 : t->hashes.sha256, &name,
				  err));
	assert_true(asprintf(&s, "%s/targets/%s", dir, name) > 0);
	free(name);
	vf_tuf_md_free(md);
	free(mp);
	return s;
}

/* ---- valid repositories ------------------------------------------------------------------ */

static void test_built_valid(void **state)
{
	const char *dir = *state;
	struct spec sp = { 0 };
	struct problems p;
	char *root = mpath(dir, "1.root.json");

	build(dir, &sp);
	run(dir, root, NOW, 0, 0, &p);
	problems_free(&p);
	/* the expiry is exactly the limit: expired at now == expires */
	run(dir, root, EXPIRES - 1, 0, 0, &p);
	problems_free(&p);
	free(root);
}

static void test_built_plain_valid(void **state)
{
	const char *dir = *state;
	struct spec sp = { .plain = true, .rotate = true };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *f;

	build(dir, &sp);
	/* plain names: metadata/a%2Fb.json, targets/apps/one */
	f = mpath(dir, "a%2Fb.json");
	assert_int_equal(access(f, F_OK), 0);
	free(f);
	assert_true(asprintf(&f, "%s/targets/apps/one", dir) > 0);
	assert_int_equal(access(f, F_OK), 0);
	free(f);
	run(dir, root, NOW, 0, 0, &p);
	problems_free(&p);
	free(root);
}

static void test_vectors_valid(void **state)
{
	struct problems p;

	(void)state;
	/* python-tuf's repository: plain names, role1 -> role2, sha256+sha512 targets */
	run(VEC "/python-tuf/repository", VEC "/python-tuf/repository/metadata/1.root.json", NOW,
	    0, 0, &p);
	problems_free(&p);
	/* its expiry, 2030-01-01: everything expires together */
	run(VEC "/python-tuf/repository", VEC "/python-tuf/repository/metadata/1.root.json",
	    EXPIRES, -VF_EVERIFY, 6, &p);
	has_problem(&p, "metadata/1.root.json",
		    "root v1 expired at 2030-01-01T00:00:00Z (now 2030-01-01T00:00:00Z)");
	has_problem(&p, "metadata/timestamp.json", "timestamp v1 expired at 2030-01-01T00:00:00Z");
	has_problem(&p, "metadata/snapshot.json", "snapshot v1 expired");
	has_problem(&p, "metadata/targets.json", "targets v1 expired");
	has_problem(&p, "metadata/role1.json", "role 'role1' v1 expired");
	has_problem(&p, "metadata/role2.json", "role 'role2' v1 expired");
	problems_free(&p);
	/* tough: consistent snapshots, targets/<sha256>.data1.txt */
	run(VEC "/tough/consistent-snapshots",
	    VEC "/tough/consistent-snapshots/metadata/1.root.json", NOW, 0, 0, &p);
	problems_free(&p);
	run(VEC "/tough/tuf-reference-impl", VEC "/tough/tuf-reference-impl/metadata/1.root.json",
	    NOW, 0, 0, &p);
	problems_free(&p);
}

/* tough's rotated-root keeps its files at the top: lay them out as metadata/. */
static void test_vector_rotated_root(void **state)
{
	static const char *const files[] = { "1.root.json", "2.root.json", "1.snapshot.json",
					     "1.targets.json", "timestamp.json" };
	const char *dir = *state;
	struct problems p;

	for (size_t i = 0; i < 5; i++) {
		char *src, *dst = mpath(dir, files[i]);
		uint8_t *data;
		size_t len;

		assert_true(asprintf(&src, VEC "/tough/rotated-root/%s", files[i]) > 0);
		data = vf_test_read_file(src, &len);
		mkdirs(dst);
		vf_test_write_file(dst, data, len);
		free(data);
		free(src);
		free(dst);
	}
	/* 1.root.json expired in 1998: only the final root's expiry counts */
	run(dir, VEC "/tough/rotated-root/1.root.json", NOW, 0, 0, &p);
	problems_free(&p);
	/* timestamp signed by the v2 key only: trusting v1 without its successor fails */
	{
		char *f = mpath(dir, "2.root.json");

		assert_int_equal(unlink(f), 0);
		free(f);
	}
	run(dir, VEC "/tough/rotated-root/1.root.json", NOW, -VF_EVERIFY, 4, &p);
	has_problem(&p, "metadata/1.root.json", "root v1 expired at 1998-01-01T00:00:00Z");
	has_problem(&p, "metadata/timestamp.json", "timestamp signed by 0/1 keys of root v1");
	has_problem(&p, "metadata/1.snapshot.json", "snapshot signed by 0/1 keys of root v1");
	has_problem(&p, "metadata/1.targets.json", "targets signed by 0/1 keys of root v1");
	problems_free(&p);
}

static void test_vectors_invalid(void **state)
{
	struct problems p;

	(void)state;
	/* timestamp expired in 1999 */
	run(VEC "/tough/expired-repository", VEC "/tough/expired-repository/metadata/1.root.json",
	    NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/timestamp.json", "timestamp v1589485578 expired at "
		    "1999-01-01T00:00:00Z (now 2026-01-01T00:00:00Z)");
	problems_free(&p);
	/* target paths with "..": targets.json is refused, its delegations not reached */
	run(VEC "/tough/safe-target-paths", VEC "/tough/safe-target-paths/metadata/1.root.json",
	    NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/targets.json", "targets: not valid metadata: ");
	has_problem(&p, "metadata/targets.json", "target path has a \"..\" component");
	problems_free(&p);
	/* fractional seconds in expires: timestamp, snapshot and targets refused */
	run(VEC "/tough/dubious-role-names", VEC "/tough/dubious-role-names/metadata/1.root.json",
	    NOW, -VF_EVERIFY, 3, &p);
	has_problem(&p, "metadata/timestamp.json", "3021-01-27T00:57:00.468924Z");
	has_problem(&p, "metadata/snapshot.json", "snapshot: not valid metadata");
	has_problem(&p, "metadata/targets.json", "targets: not valid metadata");
	problems_free(&p);
	/*
	 * python-tuf's fishy role names: '..' is metadata/1...json, '../a' and 'ö'
	 * are looked for percent-encoded, never outside metadata/ (the vector's
	 * 1.a.json one level up is not reached; its 'ö' file is stored unencoded)
	 */
	run(VEC "/python-tuf/fishy_rolenames", VEC "/python-tuf/fishy_rolenames/metadata/1.root.json",
	    NOW, -VF_EVERIFY, 2, &p);
	has_problem(&p, "metadata/1...%2Fa.json", "role '../a': file missing (version 1, listed in "
		    "2.snapshot.json)");
	has_problem(&p, "metadata/1.%C3%B6.json", "role '\xc3\xb6': file missing");
	problems_free(&p);
	/* a trusted root that is not the repository's: every signature fails */
	run(VEC "/tough/consistent-snapshots", VEC "/python-tuf/repository/metadata/1.root.json",
	    NOW, -VF_EVERIFY, 4, &p);
	has_problem(&p, "metadata/1.root.json", "root v1 differs from the trusted root v1");
	has_problem(&p, "metadata/timestamp.json", "timestamp signed by 0/1 keys of root v1; "
		    "missing: ");
	has_problem(&p, "metadata/timestamp.json", "(keyid not authorised for the role)");
	/* ... and its consistent_snapshot is false: plain names are looked for */
	has_problem(&p, "metadata/snapshot.json", "snapshot: file missing (version 1, listed in "
		    "timestamp.json)");
	has_problem(&p, "metadata/targets.json", "targets: file missing");
	problems_free(&p);
}

/* ---- tampering -------------------------------------------------------------------------- */

static void test_tampered_targets(void **state)
{
	const char *dir = *state;
	struct spec sp = { 0 };
	struct problems p;
	char *root = mpath(dir, "1.root.json");
	char *img256, *img512, *readme, *bin, *want;
	int fd;

	build(dir, &sp);
	img256 = target_file(dir, "1.targets.json", "os.img", false);
	img512 = target_file(dir, "1.targets.json", "os.img", true);
	readme = target_file(dir, "1.targets.json", "docs/readme.txt", false);
	/* a flipped byte: same length, the sha256 copy's hash differs */
	vf_test_flip_file(img256, 100, 0x01);
	/* the sha512 copy truncated by one byte */
	assert_true((fd = open(img512, O_WRONLY)) >= 0);
	assert_int_equal(ftruncate(fd, 2999), 0);
	close(fd);
	/* a target missing */
	assert_int_equal(unlink(readme), 0);
	/* a target in a hash bin, grown by one byte */
	{
		uint32_t idx;
		char *name = NULL, *bf;

		OK(vf_tuf_bin_index("apps/two", 2, &idx, err));
		OK(vf_tuf_bin_name("apps-bin", 2, idx, &name, err));
		assert_true(asprintf(&bf, "1.%s.json", name) > 0);
		bin = target_file(dir, bf, "apps/two", true);
		free(bf);
		free(name);
	}
	assert_true((fd = open(bin, O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);

	run(dir, root, NOW, -VF_EVERIFY, 5, &p);
	has_problem(&p, img256 + strlen(dir) + 1, "target 'os.img': sha256 ");
	has_problem(&p, img256 + strlen(dir) + 1, "target 'os.img': sha512 ");
	has_problem(&p, img256 + strlen(dir) + 1, ", 1.targets.json says ");
	/* the expected value is the hash in the name */
	assert_true(asprintf(&want, "1.targets.json says %.64s", strrchr(img256, '/') + 1) > 0);
	has_problem(&p, img256 + strlen(dir) + 1, want);
	free(want);
	has_problem(&p, img512 + strlen(dir) + 1,
		    "target 'os.img': length 2999, 1.targets.json says 3000");
	has_problem(&p, readme + strlen(dir) + 1, "target 'docs/readme.txt': file missing "
		    "(listed in 1.targets.json, length 100)");
	assert_true(asprintf(&want, "target 'apps/two': length 32, 1.apps-bin-") > 0);
	has_problem(&p, bin + strlen(dir) + 1, want);
	free(want);
	problems_free(&p);
	free(bin);
	free(readme);
	free(img512);
	free(img256);
	free(root);
}

/* snapshot's version edited without re-signing: hash, signature and version all fail. */
static void test_tampered_snapshot(void **state)
{
	const char *dir = *state;
	struct spec sp = { 0 };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *f = mpath(dir, "1.snapshot.json");
	struct vf_tuf_md *md;

	build(dir, &sp);
	md = load(f);
	md->version = 2;
	OK(vf_tuf_md_save(md, f, err));
	vf_tuf_md_free(md);
	run(dir, root, NOW, -VF_EVERIFY, 3, &p);
	has_problem(&p, "metadata/1.snapshot.json", "snapshot: sha256 ");
	has_problem(&p, "metadata/1.snapshot.json", ", timestamp.json says ");
	has_problem(&p, "metadata/1.snapshot.json", "snapshot signed by 0/1 keys of root v1");
	has_problem(&p, "metadata/1.snapshot.json", "(invalid signature)");
	has_problem(&p, "metadata/1.snapshot.json", "snapshot version 2, timestamp.json says 1");
	problems_free(&p);
	free(f);
	free(root);
}

static void test_tampered_timestamp(void **state)
{
	const char *dir = *state;
	struct spec sp = { .ts_expires = NOW + 7 * 86400 };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *f = mpath(dir, "timestamp.json"), *want;
	struct vf_tuf_md *md;

	build(dir, &sp);
	/* expired a second after its expiry, valid a second before */
	run(dir, root, NOW + 7 * 86400 - 1, 0, 0, &p);
	problems_free(&p);
	run(dir, root, NOW + 7 * 86400, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/timestamp.json", "timestamp v1 expired at 2026-01-08T00:00:00Z "
		    "(now 2026-01-08T00:00:00Z)");
	problems_free(&p);
	/* its signature removed */
	md = load(f);
	OK(vf_tuf_md_remove_signature(md, fx.keyid[K_TS], err));
	OK(vf_tuf_md_save(md, f, err));
	vf_tuf_md_free(md);
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	assert_true(asprintf(&want, "timestamp signed by 0/1 keys of root v1; missing: %s; no "
			     "signatures", fx.keyid[K_TS]) > 0);
	has_problem(&p, "metadata/timestamp.json", want);
	problems_free(&p);
	free(want);
	/* unreadable as metadata: a consistent repository's snapshot cannot be found */
	vf_test_write_file(f, "{}", 2);
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/timestamp.json", "timestamp: not valid metadata");
	problems_free(&p);
	/* larger than any metadata file may be */
	{
		int fd = open(f, O_WRONLY | O_TRUNC);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, (off_t)VF_TUF_MAX_FILE + 1), 0);
		close(fd);
	}
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/timestamp.json", "timestamp: 67108865 bytes, more than the limit "
		    "of 67108864");
	problems_free(&p);
	assert_int_equal(unlink(f), 0);
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/timestamp.json", "timestamp: file missing");
	problems_free(&p);
	free(f);
	free(root);
}

/* In a plain repository a broken timestamp still leaves snapshot.json to check. */
static void test_plain_goes_on(void **state)
{
	const char *dir = *state;
	struct spec sp = { .plain = true };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *f = mpath(dir, "timestamp.json");
	char *img = NULL;

	build(dir, &sp);
	assert_int_equal(unlink(f), 0);
	assert_true(asprintf(&img, "%s/targets/os.img", dir) > 0);
	vf_test_flip_file(img, 0, 0x80);
	run(dir, root, NOW, -VF_EVERIFY, 3, &p);
	has_problem(&p, "metadata/timestamp.json", "timestamp: file missing");
	has_problem(&p, "targets/os.img", "target 'os.img': sha512 ");
	has_problem(&p, "targets/os.img", "target 'os.img': sha256 ");
	has_problem(&p, "targets/os.img", ", targets.json says ");
	problems_free(&p);
	free(img);
	free(f);
	free(root);
}

/* ---- root chain --------------------------------------------------------------------------- */

static void test_rotation(void **state)
{
	const char *dir = *state;
	struct spec sp = { .rotate = true };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *want;

	build(dir, &sp);
	run(dir, root, NOW, 0, 0, &p);
	problems_free(&p);
	/* trusting version 2 directly works too */
	free(root);
	root = mpath(dir, "2.root.json");
	run(dir, root, NOW, 0, 0, &p);
	problems_free(&p);
	free(root);
	root = mpath(dir, "1.root.json");
	/* 2.root.json not cross-signed by the v1 root key */
	vf_test_rmtree(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	sp.rotate_self_only = true;
	build(dir, &sp);
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	assert_true(asprintf(&want, "root signed by 0/1 keys of root v1; missing: %s; ignored: %s "
			     "(keyid not authorised for the role)", fx.keyid[K_ROOT],
			     fx.keyid[K_ROOT2]) > 0);
	has_problem(&p, "metadata/2.root.json", want);
	free(want);
	problems_free(&p);
	/* 2.root.json that says it is version 3 */
	vf_test_rmtree(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	sp.rotate_self_only = false;
	sp.rotate_version = 3;
	build(dir, &sp);
	{
		char *from = mpath(dir, "3.root.json"), *to = mpath(dir, "2.root.json");

		assert_int_equal(rename(from, to), 0);
		free(from);
		free(to);
	}
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/2.root.json", "root version 3, expected 2 (the version after "
		    "root v1)");
	problems_free(&p);
	free(root);
}

/* 1025 root versions after the trusted one: the walk stops after 1024. */
static void test_rotation_limit(void **state)
{
	const char *dir = *state;
	struct spec sp = { 0 };
	struct problems p;
	char *root = mpath(dir, "1.root.json");

	build(dir, &sp);
	for (uint64_t v = 2; v <= 1026; v++) {
		struct vf_tuf_md *md = make_root(false, K_ROOT);

		md->version = v;
		publish(md, (int[]){ K_ROOT }, 1, dir, "root", false, NULL, NULL);
		vf_tuf_md_free(md);
	}
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/1026.root.json", "more than 1024 root versions after the "
		    "trusted root v1: not read");
	problems_free(&p);
	free(root);
}

/* ---- delegations -------------------------------------------------------------------------- */

static void test_delegations(void **state)
{
	const char *dir = *state;
	struct spec sp = { .stray = true };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *want;
	uint32_t idx;
	char *good = NULL, *bad = NULL;

	/* targets outside a/b's paths and in the wrong hash bin */
	build(dir, &sp);
	OK(vf_tuf_bin_index("apps/five", 2, &idx, err));
	OK(vf_tuf_bin_name("apps-bin", 2, idx, &good, err));
	OK(vf_tuf_bin_name("apps-bin", 2, (idx + 1) % 4, &bad, err));
	run(dir, root, NOW, -VF_EVERIFY, 2, &p);
	has_problem(&p, "metadata/1.a%2Fb.json", "target 'stray.txt' is outside the paths "
		    "'targets' delegates to 'a/b' (paths: odd/*)");
	assert_true(asprintf(&want, "target 'apps/five' belongs in hash bin '%s', not in '%s' "
			     "(delegated by 'apps')", good, bad) > 0);
	{
		char *f;

		assert_true(asprintf(&f, "metadata/1.%s.json", bad) > 0);
		has_problem(&p, f, want);
		free(f);
	}
	free(want);
	problems_free(&p);
	free(good);
	free(bad);
	free(root);
}

static void test_delegation_keys(void **state)
{
	const char *dir = *state;
	struct spec sp = { .apps_wrong_key = true, .cycle = true };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *want;

	/* apps signed by the wrong key; a/b delegating to itself is not followed twice */
	build(dir, &sp);
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	assert_true(asprintf(&want, "role 'apps' signed by 0/1 keys delegated by 'targets'; "
			     "missing: %s; ignored: %s (keyid not authorised for the role)",
			     fx.keyid[K_APPS], fx.keyid[K_OTHER]) > 0);
	has_problem(&p, "metadata/1.apps.json", want);
	free(want);
	problems_free(&p);

	/* a/b also delegates apps, with its own key: clients coming that way reject it */
	vf_test_rmtree(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	memset(&sp, 0, sizeof(sp));
	sp.diamond = true;
	build(dir, &sp);
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/1.apps.json", "role 'apps' signed by 0/1 keys delegated by "
		    "'a/b' (it is also delegated by 'targets')");
	problems_free(&p);
	free(root);
}

static void test_delegation_files(void **state)
{
	const char *dir = *state;
	struct spec sp = { .unlist = "apps-bin-3.json" };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *f;

	/* snapshot does not list one bin */
	build(dir, &sp);
	run(dir, root, NOW, -VF_EVERIFY, 1, &p);
	has_problem(&p, "metadata/1.snapshot.json", "lists no 'apps-bin-3.json' for role "
		    "'apps-bin-3' delegated by 'apps'");
	problems_free(&p);

	/* a delegated role's file missing, another's length and hash wrong */
	vf_test_rmtree(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	memset(&sp, 0, sizeof(sp));
	build(dir, &sp);
	f = mpath(dir, "1.a%2Fb.json");
	assert_int_equal(unlink(f), 0);
	free(f);
	f = mpath(dir, "1.apps-bin-2.json");
	{
		int fd = open(f, O_WRONLY | O_APPEND);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "\n", 1), 1);
		close(fd);
	}
	free(f);
	run(dir, root, NOW, -VF_EVERIFY, 3, &p);
	has_problem(&p, "metadata/1.a%2Fb.json", "role 'a/b': file missing (version 1, listed in "
		    "1.snapshot.json)");
	has_problem(&p, "metadata/1.apps-bin-2.json", "role 'apps-bin-2': length ");
	has_problem(&p, "metadata/1.apps-bin-2.json", "role 'apps-bin-2': sha256 ");
	problems_free(&p);
	free(root);
}

/* Several problems at once: all reported, the walk going on past each. */
static void test_many_problems(void **state)
{
	const char *dir = *state;
	struct spec sp = { .ts_expires = NOW + 86400, .stray = true };
	struct problems p;
	char *root = mpath(dir, "1.root.json"), *img, *f, *readme;
	struct vf_tuf_md *md;

	build(dir, &sp);
	img = target_file(dir, "1.targets.json", "os.img", true);
	readme = target_file(dir, "1.targets.json", "docs/readme.txt", false);
	vf_test_flip_file(img, 2999, 0xff);
	assert_int_equal(unlink(readme), 0);
	f = mpath(dir, "timestamp.json");
	md = load(f);
	OK(vf_tuf_md_remove_signature(md, fx.keyid[K_TS], err));
	OK(vf_tuf_md_save(md, f, err));
	vf_tuf_md_free(md);
	free(f);
	f = mpath(dir, "1.apps.json");
	assert_int_equal(unlink(f), 0);
	free(f);
	/*
	 * timestamp: unsigned, expired; os.img's sha512 copy: both hashes; readme;
	 * a/b's stray target; apps missing
	 */
	run(dir, root, NOW + 2 * 86400, -VF_EVERIFY, 7, &p);
	has_problem(&p, img + strlen(dir) + 1, "target 'os.img': sha256 ");
	has_problem(&p, "metadata/timestamp.json", "timestamp signed by 0/1 keys");
	has_problem(&p, "metadata/timestamp.json", "timestamp v1 expired at 2026-01-02T00:00:00Z "
		    "(now 2026-01-03T00:00:00Z)");
	has_problem(&p, img + strlen(dir) + 1, "target 'os.img': sha512 ");
	has_problem(&p, readme + strlen(dir) + 1, "file missing");
	has_problem(&p, "metadata/1.a%2Fb.json", "target 'stray.txt' is outside");
	has_problem(&p, "metadata/1.apps.json", "role 'apps': file missing");
	problems_free(&p);
	free(readme);
	free(img);
	free(root);
}

/* ---- could not run ---------------------------------------------------------------------------- */

static void test_cannot_run(void **state)
{
	const char *dir = *state;
	struct vf_tuf_md *root = load(VEC "/python-tuf/repository/metadata/1.root.json");
	struct vf_tuf_md *ts = load(VEC "/python-tuf/repository/metadata/timestamp.json");
	struct vf_err e = { 0 };
	char *missing = vf_test_path(dir, "nope");
	size_t n = 7;

	assert_int_equal(vf_repo_validate(missing, root, NOW, collect, NULL, &n, &e), -ENOENT);
	vf_test_assert_containsf(e.msg, "repository '%s'", missing);
	assert_int_equal(n, 0);
	vf_err_clear(&e);
	assert_int_equal(vf_repo_validate(dir, root, NOW, NULL, NULL, &n, &e), -ENOENT);
	vf_test_assert_contains(e.msg, "no metadata/ directory");
	vf_err_clear(&e);
	assert_int_equal(vf_repo_validate(dir, ts, NOW, NULL, NULL, &n, &e), -EINVAL);
	vf_test_assert_contains(e.msg, "trusted root: expected root metadata, got timestamp");
	free(missing);
	vf_tuf_md_free(ts);
	vf_tuf_md_free(root);
}

/* ---- expirations ---------------------------------------------------------------------------- */

static void test_expirations(void **state)
{
	static const char *const want_roles[] = { "root", "timestamp", "snapshot", "targets",
						  "a/b", "apps-bin-0", "apps-bin-1", "apps-bin-2",
						  "apps-bin-3", "apps" };
	static const char *const want_files[] = {
		"metadata/2.root.json", "metadata/timestamp.json", "metadata/1.snapshot.json",
		"metadata/1.targets.json", "metadata/1.a%2Fb.json", "metadata/1.apps-bin-0.json",
		"metadata/1.apps-bin-1.json", "metadata/1.apps-bin-2.json",
		"metadata/1.apps-bin-3.json", "metadata/1.apps.json",
	};
	const char *dir = *state;
	struct spec sp = { .rotate = true, .ts_expires = NOW + 3600 };
	struct vf_repo_expiry *v = NULL;
	struct vf_err e = { 0 };
	size_t n = 0;
	char *f;

	build(dir, &sp);
	OK(vf_repo_expirations(dir, &v, &n, err));
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].role, want_roles[i]);
		assert_string_equal(v[i].file, want_files[i]);
		assert_int_equal(v[i].version, i == 0 ? 2 : 1);
		assert_int_equal(v[i].expires, i == 1 ? NOW + 3600 : EXPIRES);
	}
	vf_repo_expirations_free(v, n);

	/* plain python-tuf repository: root.json listed by snapshot is not a role */
	OK(vf_repo_expirations(VEC "/python-tuf/repository", &v, &n, err));
	assert_int_equal(n, 6);
	assert_string_equal(v[0].file, "metadata/1.root.json");
	assert_string_equal(v[2].file, "metadata/snapshot.json");
	assert_string_equal(v[4].role, "role1");
	assert_string_equal(v[5].file, "metadata/role2.json");
	vf_repo_expirations_free(v, n);
	OK(vf_repo_expirations(VEC "/tough/tuf-reference-impl", &v, &n, err));
	assert_int_equal(n, 6);
	vf_repo_expirations_free(v, n);

	/* a file it needs is missing */
	f = mpath(dir, "1.apps.json");
	assert_int_equal(unlink(f), 0);
	assert_int_equal(vf_repo_expirations(dir, &v, &n, &e), -ENOENT);
	vf_test_assert_contains(e.msg, "role apps: ");
	vf_test_assert_contains(e.msg, "1.apps.json");
	assert_null(v);
	assert_int_equal(n, 0);
	free(f);
	vf_err_clear(&e);
	f = vf_test_path(dir, "metadata");
	vf_test_rmtree(f);
	assert_int_equal(vf_repo_expirations(dir, &v, &n, &e), -ENOENT);
	vf_test_assert_contains(e.msg, "/metadata'");
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_built_valid),
		vf_test_in_tmpdir(test_built_plain_valid),
		cmocka_unit_test(test_vectors_valid),
		vf_test_in_tmpdir(test_vector_rotated_root),
		cmocka_unit_test(test_vectors_invalid),
		vf_test_in_tmpdir(test_tampered_targets),
		vf_test_in_tmpdir(test_tampered_snapshot),
		vf_test_in_tmpdir(test_tampered_timestamp),
		vf_test_in_tmpdir(test_plain_goes_on),
		vf_test_in_tmpdir(test_rotation),
		vf_test_in_tmpdir(test_rotation_limit),
		vf_test_in_tmpdir(test_delegations),
		vf_test_in_tmpdir(test_delegation_keys),
		vf_test_in_tmpdir(test_delegation_files),
		vf_test_in_tmpdir(test_many_problems),
		vf_test_in_tmpdir(test_cannot_run),
		vf_test_in_tmpdir(test_expirations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
