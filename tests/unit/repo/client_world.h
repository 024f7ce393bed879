/*
 * Shared by tests/unit/repo/test_client*.c: repositories built by hand in a
 * temporary directory (every document signed here, so that each attack can be
 * crafted), served as file:// URLs, and the client-side checks (a refresh that
 * fails must leave the trusted directory byte for byte as it was).
 */
#ifndef VF_TESTS_REPO_CLIENT_WORLD_H
#define VF_TESTS_REPO_CLIENT_WORLD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/buf.h"
#include "repo/client.h"
#include "repo/fetcher.h"
#include "repo/internal.h"
#include "repo/metadata.h"
#include "repo/repo.h"
#include "tests/unit/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VEC "../shared/vectors/tuf"
#define EXPIRES ((time_t)1893456000) /* 2030-01-01T00:00:00Z */
#define NOW ((time_t)1767225600)     /* 2026-01-01T00:00:00Z */
#define PAST ((time_t)1735689600)    /* 2025-01-01T00:00:00Z: expired at NOW */

enum {
	K_ROOT, K_ROOT2, K_ROOT3A, K_ROOT3B, K_TS, K_TS2, K_SNAP, K_TARGETS, K_APPS, K_BINS,
	K_OTHER, N_KEYS
};

static struct vf_test_keys fx;
static struct vf_fetcher *fetcher;

#define OK(call)                                                                          \
	do {                                                                              \
		struct vf_err e_ = { 0 };                                                 \
		struct vf_err *err = &e_;                                                 \
		if ((call) != 0)                                                          \
			fail_msg("%s: %s", #call, e_.msg);                                \
		(void)err;                                                                \
	} while (0)

static inline int setup(void **state)
{
	struct vf_err err = { 0 };

	(void)state;
	if (vf_fetcher_new(NULL, &fetcher, &err)) {
		fprintf(stderr, "fetcher: %s\n", err.msg);
		return -1;
	}
	return vf_test_keys_make(&fx, NULL, N_KEYS);
}

static inline int teardown(void **state)
{
	(void)state;
	vf_test_keys_free(&fx);
	vf_fetcher_free(fetcher);
	return 0;
}

/* ---- a repository built by hand --------------------------------------------------------- */

struct world {
	char *top;      /* the test's directory */
	char *repo;     /* top/repo: metadata/ and targets/ */
	char *client;   /* top/client: the trusted state */
	char *out;      /* top/out: downloads */
	char *trusted;  /* top/trusted-root.json: 1.root.json as shipped */
	char *murl, *turl;
	bool plain;     /* consistent_snapshot false */
	struct vf_tuf_md *root, *targets, *snap, *ts;
	int ts_key;
	/* client options */
	uint64_t ts_max;
	unsigned max_deleg;
	time_t now;
};

static inline void mkdirs(const char *path)
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

static inline struct vf_tuf_md *new_md(enum vf_tuf_type type)
{
	struct vf_tuf_md *md = vf_tuf_md_new(type);

	assert_non_null(md);
	md->expires = EXPIRES;
	return md;
}

static inline void add_key(struct vf_tuf_md *md, const char *role, int k)
{
	OK(vf_tuf_md_add_key(md, role, vf_signer_key(fx.s[k]), NULL, err));
}

/* metadata/<name> in the repository. */
static inline char *mfile(const struct world *w, const char *name)
{
	char *s;

	assert_true(asprintf(&s, "%s/metadata/%s", w->repo, name) > 0);
	return s;
}

/* The repository's file name of a role's metadata. */
static inline char *role_file(const struct world *w, const char *role, const struct vf_tuf_md *md)
{
	char *name = NULL;
	bool versioned = md->type == VF_TUF_ROOT ||
			 (!w->plain && md->type != VF_TUF_TIMESTAMP);

	OK(vf_tuf_role_filename(role, versioned ? md->version : 0, &name, err));
	return name;
}

/* Sign md with exactly keys[0..n) and write it as the role's file; returns its path. */
static inline char *save(struct world *w, struct vf_tuf_md *md, const char *role, const int *keys,
			 size_t n)
{
	struct vf_signer *s[8];
	char *name = role_file(w, role, md), *path = mfile(w, name);

	for (size_t i = 0; i < n; i++)
		s[i] = fx.s[keys[i]];
	vf_tuf_md_clear_signatures(md);
	if (n)
		OK(vf_tuf_md_sign(md, s, n, err));
	mkdirs(path);
	OK(vf_tuf_md_save(md, path, err));
	free(name);
	return path;
}

/* List the file at `path` (role `role`, version v) in `lister`'s meta, with length and sha256. */
static inline void pin(struct vf_tuf_md *lister, const char *role, uint64_t version,
		       const char *path)
{
	struct vf_tuf_hashes h;
	size_t len;
	uint8_t *bytes = vf_test_read_file(path, &len);
	char *mname;

	assert_true(asprintf(&mname, "%s.json", role) > 0);
	OK(vf_tuf_hashes_build(bytes, len, false, &h, err));
	OK(vf_tuf_md_set_meta(lister, mname, version, (int64_t)len, &h, err));
	free(mname);
	free(bytes);
}

/* Publish a delegated role signed by `key`, listed in snapshot. */
static inline void pub_role(struct world *w, struct vf_tuf_md *md, const char *role, int key)
{
	char *p = save(w, md, role, &key, 1);

	pin(w->snap, role, md->version, p);
	free(p);
}

static inline void pub_targets(struct world *w)
{
	pub_role(w, w->targets, "targets", K_TARGETS);
}

static inline void pub_snap(struct world *w)
{
	char *p = save(w, w->snap, "snapshot", (int[]){ K_SNAP }, 1);

	pin(w->ts, "snapshot", w->snap->version, p);
	free(p);
}

static inline void pub_ts(struct world *w)
{
	free(save(w, w->ts, "timestamp", &w->ts_key, 1));
}

static inline void pub_all(struct world *w)
{
	pub_targets(w);
	pub_snap(w);
	pub_ts(w);
}

/* A new version of targets, snapshot and timestamp. */
static inline void bump_all(struct world *w)
{
	w->targets->version++;
	w->snap->version++;
	w->ts->version++;
	pub_all(w);
}

static inline void bump_snap_ts(struct world *w)
{
	w->snap->version++;
	w->ts->version++;
	pub_snap(w);
	pub_ts(w);
}

/* Add target `path` (len bytes of seed) to md and write its file(s) under repo/targets. */
static inline void add_target(struct world *w, struct vf_tuf_md *md, const char *path,
			      uint64_t seed, size_t len, bool sha512)
{
	uint8_t *data = malloc(len + 1);
	struct vf_tuf_hashes h;

	assert_non_null(data);
	vf_test_data(seed, data, len);
	OK(vf_tuf_hashes_build(data, len, sha512, &h, err));
	OK(vf_tuf_targets_add_target(md, path, len, &h, NULL, err));
	for (int i = 0; i < (w->plain ? 1 : 2); i++) {
		const char *hex = i ? h.sha512 : h.sha256;
		char *name = NULL, *file;

		if (!hex[0])
			continue;
		if (w->plain)
			name = strdup(path);
		else
			OK(vf_tuf_target_filename(path, hex, &name, err));
		assert_true(asprintf(&file, "%s/targets/%s", w->repo, name) > 0);
		mkdirs(file);
		vf_test_write_file(file, data, len);
		free(file);
		free(name);
	}
	free(data);
}

/* The repository file of a target (its sha256 name, or the plain path). */
static inline char *target_file(const struct world *w, const struct vf_tuf_md *md, const char *path)
{
	const struct vf_tuf_target *t = vf_tuf_targets_find_target(md, path);
	char *name = NULL, *s;

	assert_non_null(t);
	if (w->plain)
		name = strdup(path);
	else
		OK(vf_tuf_target_filename(path, t->hashes.sha256, &name, err));
	assert_true(asprintf(&s, "%s/targets/%s", w->repo, name) > 0);
	free(name);
	return s;
}

/* A root of version `version` trusting root keys rk[0..n) with `threshold`, and `ts_key`. */
static inline struct vf_tuf_md *make_root(const struct world *w, uint64_t version, const int *rk,
					  size_t n, uint64_t threshold, int ts_key)
{
	struct vf_tuf_md *root = new_md(VF_TUF_ROOT);

	root->version = version;
	root->consistent_snapshot = !w->plain;
	for (size_t i = 0; i < n; i++)
		add_key(root, "root", rk[i]);
	OK(vf_tuf_md_set_threshold(root, "root", threshold, err));
	add_key(root, "timestamp", ts_key);
	add_key(root, "snapshot", K_SNAP);
	add_key(root, "targets", K_TARGETS);
	return root;
}

static inline char *file_url(const char *path)
{
	char real[PATH_MAX], *s;

	assert_non_null(realpath(path, real));
	assert_true(asprintf(&s, "file://%s", real) > 0);
	return s;
}

/*
 * root v1 (K_ROOT; timestamp K_TS, snapshot K_SNAP, targets K_TARGETS),
 * targets v1 with "os.img" (3000 bytes, sha256 + sha512) and
 * "docs/readme.txt" (100 bytes), snapshot v1, timestamp v1.
 */
static inline void world_init(struct world *w, const char *top, bool plain)
{
	char *p, *m;
	uint8_t *bytes;
	size_t len;

	memset(w, 0, sizeof(*w));
	w->plain = plain;
	w->now = NOW;
	w->ts_key = K_TS;
	assert_non_null(w->top = strdup(top));
	w->repo = vf_test_path(top, "repo");
	w->client = vf_test_path(top, "client");
	w->out = vf_test_path(top, "out");
	w->trusted = vf_test_path(top, "trusted-root.json");
	assert_int_equal(mkdir(w->repo, 0755), 0);
	assert_int_equal(mkdir(w->client, 0755), 0);
	m = vf_test_path(w->repo, "metadata");
	assert_int_equal(mkdir(m, 0755), 0);
	w->murl = file_url(m);
	free(m);
	m = vf_test_path(w->repo, "targets");
	assert_int_equal(mkdir(m, 0755), 0);
	w->turl = file_url(m);
	free(m);

	w->root = make_root(w, 1, (int[]){ K_ROOT }, 1, 1, K_TS);
	p = save(w, w->root, "root", (int[]){ K_ROOT }, 1);
	bytes = vf_test_read_file(p, &len);
	vf_test_write_file(w->trusted, bytes, len);
	free(bytes);
	free(p);

	w->targets = new_md(VF_TUF_TARGETS);
	w->snap = new_md(VF_TUF_SNAPSHOT);
	w->ts = new_md(VF_TUF_TIMESTAMP);
	add_target(w, w->targets, "os.img", 1, 3000, true);
	add_target(w, w->targets, "docs/readme.txt", 2, 100, false);
	pub_all(w);
}

static inline void world_free(struct world *w)
{
	vf_tuf_md_free(w->root);
	vf_tuf_md_free(w->targets);
	vf_tuf_md_free(w->snap);
	vf_tuf_md_free(w->ts);
	free(w->top);
	free(w->repo);
	free(w->client);
	free(w->out);
	free(w->trusted);
	free(w->murl);
	free(w->turl);
}

/* ---- the client side --------------------------------------------------------------------- */

static inline struct vf_client_opts opts_of(const struct world *w)
{
	struct vf_client_opts o = {
		.metadata_dir = w->client,
		.metadata_url = w->murl,
		.targets_url = w->turl,
		.trusted_root = w->trusted,
		.now = w->now,
		.fetcher = fetcher,
		.timestamp_max_len = w->ts_max,
		.max_delegations = w->max_deleg,
	};

	return o;
}

static inline struct vf_client *open_client(const struct world *w)
{
	struct vf_client_opts o = opts_of(w);
	struct vf_client *c = NULL;

	OK(vf_client_open(&o, &c, err));
	return c;
}

/* Open and refresh; the caller frees. */
static inline struct vf_client *refreshed(const struct world *w)
{
	struct vf_client *c = open_client(w);
	struct vf_err err = { 0 };

	if (vf_client_refresh(c, &err))
		fail_msg("refresh: %s", err.msg);
	return c;
}

static inline void refresh_ok(const struct world *w)
{
	vf_client_free(refreshed(w));
}

/* Every entry of a directory (dot files too), sorted, with its bytes. */
static inline void state_take(const char *dir, struct vf_buf *out)
{
	struct dirent **v = NULL;
	int n = scandir(dir, &v, NULL, alphasort);

	assert_true(n >= 0);
	vf_buf_init(out);
	for (int i = 0; i < n; i++) {
		char *p = vf_test_path(dir, v[i]->d_name);
		struct stat st;

		if (strcmp(v[i]->d_name, ".") && strcmp(v[i]->d_name, "..")) {
			assert_int_equal(lstat(p, &st), 0);
			assert_int_equal(vf_buf_add_fmt(out, "%s %o %lld\n", v[i]->d_name,
							(unsigned)st.st_mode,
							(long long)st.st_size), 0);
			if (S_ISREG(st.st_mode)) {
				size_t len;
				uint8_t *b = vf_test_read_file(p, &len);

				assert_int_equal(vf_buf_add(out, b, len), 0);
				free(b);
			}
		}
		free(p);
		free(v[i]);
	}
	free(v);
}

static inline void state_same(const struct vf_buf *a, const struct vf_buf *b)
{
	if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
		fail_msg("the trusted state changed");
}

/*
 * Refresh must fail with `code` and a message containing `want`, and leave
 * the trusted directory as it was.
 */
static inline void refresh_fails(const struct world *w, int code, const char *want)
{
	struct vf_buf before, after;
	struct vf_client *c;
	struct vf_err err = { 0 };
	size_t n = 99;
	int r;

	state_take(w->client, &before);
	c = open_client(w);
	r = vf_client_refresh(c, &err);
	if (r != code)
		fail_msg("refresh: rc %d (want %d): %s", r, code, err.msg);
	vf_test_assert_contains(err.msg, want);
	/* nothing is usable after a failed refresh */
	assert_null(vf_client_changes(c, &n));
	assert_int_equal(n, 0);
	{
		const struct vf_tuf_target *t = NULL;
		struct vf_err e2 = { 0 };

		assert_int_equal(vf_client_find_target(c, "os.img", &t, NULL, &e2), -EINVAL);
		vf_test_assert_contains(e2.msg, "must be refreshed first");
	}
	vf_client_free(c);
	state_take(w->client, &after);
	state_same(&before, &after);
	vf_buf_release(&before);
	vf_buf_release(&after);
}

/* Whether the trusted file `name` holds exactly the repository file `repo_name`. */
static inline void same_file(const struct world *w, const char *name, const char *repo_name)
{
	char *a = vf_test_path(w->client, name), *b = mfile(w, repo_name);
	size_t la, lb;
	uint8_t *da = vf_test_read_file(a, &la), *db = vf_test_read_file(b, &lb);

	if (la != lb || memcmp(da, db, la) != 0)
		fail_msg("%s differs from the repository's %s", a, b);
	free(da);
	free(db);
	free(a);
	free(b);
}

static inline void check_changes(const struct vf_client *c, uint64_t root0, uint64_t root1,
				 uint64_t ts0, uint64_t ts1, uint64_t snap0, uint64_t snap1,
				 uint64_t t0, uint64_t t1)
{
	static const enum vf_tuf_type order[] = { VF_TUF_ROOT, VF_TUF_TIMESTAMP, VF_TUF_SNAPSHOT,
						  VF_TUF_TARGETS };
	const uint64_t want[4][2] = { { root0, root1 }, { ts0, ts1 }, { snap0, snap1 },
				      { t0, t1 } };
	const struct vf_client_change *ch;
	size_t n;

	ch = vf_client_changes(c, &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(ch[i].type, order[i]);
		if (ch[i].old_version != want[i][0] || ch[i].new_version != want[i][1])
			fail_msg("%s: %llu -> %llu, want %llu -> %llu", vf_tuf_type_name(order[i]),
				 (unsigned long long)ch[i].old_version,
				 (unsigned long long)ch[i].new_version,
				 (unsigned long long)want[i][0], (unsigned long long)want[i][1]);
	}
}

/* Find `path` and return the role that listed it; fails the test when it is not found. */
static inline const struct vf_tuf_target *find(struct vf_client *c, const char *path,
					       const char *role)
{
	const struct vf_tuf_target *t = NULL;
	const char *by = NULL;
	struct vf_err err = { 0 };

	if (vf_client_find_target(c, path, &t, &by, &err))
		fail_msg("find %s: %s", path, err.msg);
	assert_non_null(t);
	assert_string_equal(t->path, path);
	assert_string_equal(by, role);
	return t;
}

static inline void find_fails(struct vf_client *c, const char *path, int code, const char *want)
{
	const struct vf_tuf_target *t = (const void *)1;
	struct vf_err err = { 0 };
	int r = vf_client_find_target(c, path, &t, NULL, &err);

	if (r != code)
		fail_msg("find %s: rc %d (want %d): %s", path, r, code, err.msg);
	assert_null(t);
	vf_test_assert_contains(err.msg, want);
}

/* Download a target to out/<path> and compare it with the seed's bytes. */
static inline void download(struct world *w, struct vf_client *c, const char *path, uint64_t seed,
			    size_t len, bool want_cached)
{
	const struct vf_tuf_target *t = find(c, path, "targets");
	char *out = vf_test_path(w->out, path);
	uint8_t *want = malloc(len + 1), *got;
	bool cached = !want_cached;
	size_t n;

	assert_non_null(want);
	vf_test_data(seed, want, len);
	OK(vf_client_download_target(c, t, out, &cached, err));
	assert_int_equal(cached, want_cached);
	got = vf_test_read_file(out, &n);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
	free(out);
}

#endif
