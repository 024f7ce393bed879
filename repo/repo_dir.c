/*
 * repo: targets from directory trees. In memory (list, sort, add), or, for
 * a repository delegating to hash bins, in groups of bins: each group's
 * files are staged by name and its bins signed, written ahead and freed, so
 * that memory does not grow with the number of files.
 */
#include "repo/repo.h"
#include "repo/repo_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bytes a target takes in a bin's metadata file, about (to estimate their number). */
#define BIN_BYTES_PER_TARGET 160

/* A depth-first walk of a directory tree with readdir: nothing is listed. */
struct walk {
	char *path;      /* the current path */
	size_t len, cap;
	size_t root_len; /* the tree's own path: names start after it and a '/' */
	int (*file)(struct walk *w, struct vf_err *err); /* each regular file */
	void *ctx;
};

static const char *walk_name(const struct walk *w)
{
	return w->path + w->root_len + 1;
}

/* Append "/<name>" to the current path. */
static int walk_push(struct walk *w, const char *name, struct vf_err *err)
{
	size_t n = strlen(name);

	if (w->len + n + 2 > w->cap) {
		size_t cap = (w->len + n + 2) * 2;
		char *p = realloc(w->path, cap);

		if (!p)
			return vf_err_set(err, ENOMEM, "out of memory");
		w->path = p;
		w->cap = cap;
	}
	w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	return 0;
}

static int walk_dir(struct walk *w, struct vf_err *err)
{
	size_t len = w->len;
	DIR *d = opendir(w->path);
	int rc = 0;

	if (!d)
		return vf_err_sys(err, errno, "cannot read directory '%s'", w->path);
	for (;;) {
		struct dirent *e;
		unsigned char type;

		errno = 0;
		if (!(e = readdir(d))) {
			if (errno) {
				w->path[len] = '\0';
				rc = vf_err_sys(err, errno, "cannot read directory '%s'", w->path);
			}
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((rc = walk_push(w, e->d_name, err)))
			break;
		type = e->d_type;
		if (type == DT_UNKNOWN) {
			struct stat st;

			if (lstat(w->path, &st) < 0) {
				rc = vf_err_sys(err, errno, "cannot stat '%s'", w->path);
				break;
			}
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
		}
		if (type == DT_DIR)
			rc = walk_dir(w, err);
		else if (type == DT_REG)
			rc = w->file(w, err);
		else
			rc = vf_err_set(err, EINVAL, "'%s' is not a regular file or a directory "
					"(symbolic links and devices are not targets)", w->path);
		if (rc)
			break;
		w->len = len;
		w->path[len] = '\0';
	}
	closedir(d);
	return rc;
}

/* Walk the tree `dir` (trailing slashes ignored), calling `file` for each regular file. */
static int walk(const char *dir, int (*file)(struct walk *, struct vf_err *), void *ctx,
		struct vf_err *err)
{
	struct walk w = { .file = file, .ctx = ctx };
	size_t len = strlen(dir);
	int rc;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	w.cap = len + 256;
	w.path = malloc(w.cap);
	if (!w.path)
		return vf_err_set(err, ENOMEM, "out of memory");
	memcpy(w.path, dir, len);
	w.path[len] = '\0';
	w.len = w.root_len = len;
	rc = walk_dir(&w, err);
	free(w.path);
	return rc;
}

/* ---- in memory --------------------------------------------------------------------------- */

struct found {
	char *path;
	const char *name; /* points into path */
};

struct list {
	struct found *v;
	size_t n, cap;
};

static int list_file(struct walk *w, struct vf_err *err)
{
	struct list *l = w->ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct found *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return vf_err_set(err, ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].path = strdup(w->path)))
		return vf_err_set(err, ENOMEM, "out of memory");
	l->v[l->n].name = l->v[l->n].path + w->root_len + 1;
	l->n++;
	return 0;
}

static int cmp_found(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->name, ((const struct found *)b)->name);
}

int vf_repo_add_target_dir(struct vf_repo *r, const char *dir, struct vf_err *err)
{
	struct list l = { 0 };
	int rc;

	if (!(rc = walk(dir, list_file, &l, err))) {
		/* in name order: cheap for the sorted targets map */
		if (l.n)
			qsort(l.v, l.n, sizeof(*l.v), cmp_found);
		for (size_t i = 0; i < l.n && !rc; i++)
			rc = vf_repo_add_target_file(r, l.v[i].path, l.v[i].name, NULL, err);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].path);
	free(l.v);
	return rc;
}

/* ---- in groups of hash bins ---------------------------------------------------------------- */

/* A bin file without targets: signed envelope, version, expiry (about; with one signature). */
#define BIN_BYTES_EMPTY 400

struct group {
	struct vf_repo *r;
	unsigned bits;
	uint64_t lo, hi; /* bins [lo, hi) */
	uint64_t files;
};

static int count_file(struct walk *w, struct vf_err *err)
{
	struct group *g = w->ctx;
	int rc;

	if ((rc = vf_repo_check_target_name(walk_name(w), err)))
		return vf_err_prefix(err, "'%s'", w->path);
	g->files++;
	return 0;
}

static int group_file(struct walk *w, struct vf_err *err)
{
	struct group *g = w->ctx;
	uint32_t idx;
	int rc;

	if ((rc = vf_tuf_bin_index(walk_name(w), g->bits, &idx, err)))
		return rc;
	if (idx < g->lo || idx >= g->hi)
		return 0;
	g->files++;
	return vf_repo_add_target_file(g->r, w->path, walk_name(w), NULL, err);
}

/* VF_REPO_BIN_GROUP_TARGETS, or the test-only VFORGE_TEST_BIN_GROUP_TARGETS. */
static uint64_t group_targets(void)
{
	const char *s = getenv("VFORGE_TEST_BIN_GROUP_TARGETS");
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return VF_REPO_BIN_GROUP_TARGETS;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno || *end || !v ? VF_REPO_BIN_GROUP_TARGETS : (uint64_t)v;
}

/* The targets the bins hold already, estimated from their lengths in snapshot. */
static uint64_t bin_targets(const struct vf_repo *r, const struct vf_tuf_succinct *s)
{
	const struct vf_tuf_md *snap = vf_repo_snapshot(r);
	uint64_t bytes = 0;

	for (size_t i = 0; i < snap->n_meta; i++) {
		const struct vf_tuf_meta *m = snap->meta[i];
		size_t len = strlen(m->name);
		char *role;

		if (!m->has_length || m->length <= BIN_BYTES_EMPTY || len <= 5 ||
		    strcmp(m->name + len - 5, ".json") != 0 || !(role = strndup(m->name, len - 5)))
			continue;
		if (vf_tuf_succinct_has_role(s, role, NULL))
			bytes += m->length - BIN_BYTES_EMPTY;
		free(role);
	}
	return bytes / BIN_BYTES_PER_TARGET;
}

/* Sign, write ahead and unload the changed bins of [lo, hi); check the signers first. */
static int flush_group(struct vf_repo *r, const struct group *g, bool *checked,
		       struct vf_signer *const *signers, size_t n, unsigned refresh,
		       struct vf_err *err)
{
	const struct vf_tuf_succinct *s = vf_repo_bins(r);
	size_t *idx = NULL, k = 0;
	int rc = 0;

	for (size_t i = 0; i < r->n_roles; i++) {
		const struct vf_repo_role *ro = &r->roles[i];
		uint32_t b;

		if (!ro->changed || ro->removed || ro->unloaded ||
		    !vf_tuf_succinct_has_role(s, ro->name, &b) || b < g->lo || b >= g->hi)
			continue;
		if (!idx && !(idx = calloc(r->n_roles, sizeof(*idx))))
			return vf_err_set(err, ENOMEM, "out of memory");
		idx[k++] = i;
	}
	if (k && !*checked) {
		if ((rc = vf_repo_publish_check(r, signers, n, refresh, true, err)))
			goto out;
		*checked = true;
	}
	if (k)
		rc = vf_repo_flush_roles(r, idx, k, signers, n, err);
out:
	free(idx);
	return rc;
}

int vf_repo_publish_dirs(struct vf_repo *r, const char *const *dirs, size_t n_dirs,
			 struct vf_signer *const *signers, size_t n, unsigned refresh,
			 struct vf_err *err)
{
	const struct vf_tuf_succinct *s = vf_repo_bins(r);
	struct group g = { .r = r };
	uint64_t per, expected, n_groups, n_bins;
	bool checked = false;
	int rc = 0;

	if (!s || r->selected) {
		for (size_t i = 0; i < n_dirs; i++)
			if ((rc = vf_repo_add_target_dir(r, dirs[i], err)))
				return rc;
		return vf_repo_publish(r, signers, n, refresh, err);
	}
	g.bits = s->bit_length;
	n_bins = (uint64_t)1 << g.bits;
	/* 1. count (and check) the files */
	for (size_t i = 0; i < n_dirs; i++)
		if ((rc = walk(dirs[i], count_file, &g, err)))
			return rc;
	/* 2. groups of contiguous bins, each expecting at most `per` targets */
	per = group_targets();
	expected = g.files + bin_targets(r, s);
	n_groups = expected / per + (expected % per != 0);
	if (n_groups < 1)
		n_groups = 1;
	if (n_groups > n_bins)
		n_groups = n_bins;
	/* 3. each group: stage its files by name, write its bins ahead, free them */
	r->stage_tree = true;
	for (uint64_t k = 0; k < n_groups && !rc; k++) {
		g.lo = n_bins * k / n_groups;
		g.hi = n_bins * (k + 1) / n_groups;
		g.files = 0;
		for (size_t i = 0; i < n_dirs && !rc; i++)
			rc = walk(dirs[i], group_file, &g, err);
		if (!rc)
			rc = flush_group(r, &g, &checked, signers, n, refresh, err);
		vf_repo_roles_compact(r, true, false);
		if (!rc)
			vf_repo_crash_point("bins-group");
	}
	r->stage_tree = false;
	/* 4. target files, the bins written ahead, targets, snapshot, timestamp */
	return rc ? rc : vf_repo_publish(r, signers, n, refresh, err);
}
