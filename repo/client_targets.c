/*
 * repo: the TUF client's delegated roles (loaded on demand, verified against
 * their delegator and snapshot, persisted), the pre-order depth-first target
 * search of 5.6.7, and target downloads (5.7). The refresh is in client.c.
 */
#include "repo/client_internal.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "keys/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_TOP VF_CLIENT_N_TOP
#define IDX(type) VF_CLIENT_IDX(type)

/* ---- delegated roles and the target search ------------------------------------------------ */

struct vf_client_loaded *vf_client_role_find(const struct vf_client *c, const char *name,
					     size_t *ret_pos)
{
	size_t lo = 0, hi = c->n_roles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = strcmp(c->roles[mid].name, name);

		if (!k)
			return &c->roles[mid];
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ret_pos)
		*ret_pos = lo;
	return NULL;
}

/* Cache a verified role (taking `md`). */
static int role_add(struct vf_client *c, const char *name, const char *delegator,
		    struct vf_tuf_md *md, const struct vf_tuf_md **ret, struct vf_err *err)
{
	struct vf_client_loaded *v, l = { strdup(name), strdup(delegator), md };
	size_t pos = 0;

	vf_client_role_find(c, name, &pos);
	if (!l.name || !l.delegator || !(v = realloc(c->roles, (c->n_roles + 1) * sizeof(*v)))) {
		free(l.name);
		free(l.delegator);
		vf_tuf_md_free(md);
		return vf_client_nomem(err);
	}
	c->roles = v;
	memmove(&v[pos + 1], &v[pos], (c->n_roles - pos) * sizeof(*v));
	v[pos] = l;
	c->n_roles++;
	*ret = md;
	return 0;
}

/*
 * The delegated role `name` as `delegator` (named `delegator_name`) trusts it
 * (5.6 for delegated targets): pinned by snapshot, signed by the delegator's
 * keys for it, not expired. From metadata_dir when it is what snapshot names,
 * else downloaded and persisted.
 */
static int load_role(struct vf_client *c, const char *name, const struct vf_tuf_md *delegator,
		     const char *delegator_name, const struct vf_tuf_md **ret, struct vf_err *err)
{
	const struct vf_tuf_md *snap = c->top[IDX(VF_TUF_SNAPSHOT)].md;
	const struct vf_tuf_md *root = c->top[IDX(VF_TUF_ROOT)].md;
	const struct vf_tuf_meta *m;
	struct vf_client_loaded *l = vf_client_role_find(c, name, NULL);
	struct vf_client_doc d = { NULL, VF_BUF_INIT };
	char *mname = NULL, *local = NULL, *remote = NULL, *path = NULL, *file = NULL;
	char *whose = NULL, *by_file = NULL, *limit_by = NULL;
	bool same = false;
	int r;

	if (l) {
		if (strcmp(l->delegator, delegator_name) == 0) {
			*ret = l->md;
			return 0;
		}
		/* also delegated by another role: its keys must sign it too */
		if ((r = vf_tuf_verify(delegator, name, l->md, NULL, err)))
			return vf_client_as_verify(err, r,
						   "role '%s': signatures (keys delegated by '%s')",
						   name, delegator_name);
		*ret = l->md;
		return 0;
	}
	if (vf_tuf_type_from_name(name))
		return vf_err_set(err, VF_EVERIFY, "'%s' delegates to a role named '%s'",
				  delegator_name, name);
	if (asprintf(&mname, "%s.json", name) < 0) {
		mname = NULL;
		return vf_client_nomem(err);
	}
	if (asprintf(&by_file, root->consistent_snapshot ? "%llu.snapshot.json" : "snapshot.json",
		     (unsigned long long)snap->version) < 0) {
		by_file = NULL;
		r = vf_client_nomem(err);
		goto out;
	}
	if (!(m = vf_tuf_md_find_meta(snap, mname))) {
		r = vf_err_set(err, VF_EVERIFY, "role '%s' (delegated by '%s') is not listed in %s",
			       name, delegator_name, by_file);
		goto out;
	}
	if ((r = vf_tuf_role_filename(name, 0, &local, err)) ||
	    (r = vf_tuf_role_filename(name, root->consistent_snapshot ? m->version : 0, &remote,
				      err)))
		goto out;
	if (asprintf(&file, "role '%s' (%s)", name, remote) < 0 ||
	    asprintf(&whose, "'%s'", delegator_name) < 0 ||
	    !(path = vf_client_join(c->dir, local))) {
		r = vf_client_nomem(err);
		goto out;
	}
	/* the local copy, when it is what snapshot names and its delegator's keys signed it */
	r = vf_client_read_local(path, m->has_length ? m->length : c->max_len[VF_TUF_TARGETS],
				 &d.bytes, NULL);
	if (r == -ENOMEM) {
		r = vf_client_nomem(err);
		goto out;
	}
	if (!r && !vf_tuf_md_parse(d.bytes.data, d.bytes.len, VF_TUF_TARGETS,
				   VF_TUF_PARSE_OPAQUE_KEYIDS, &d.md, NULL)) {
		if ((r = vf_client_matches_pin(d.md, &d.bytes, m, &same)))
			goto out;
		if (same && vf_tuf_verify(delegator, name, d.md, NULL, NULL) == 0) {
			if ((r = vf_client_check_expiry(d.md, file, c->now, err)))
				goto out;
			r = role_add(c, name, delegator_name, d.md, ret, err);
			d.md = NULL;
			goto out;
		}
	}
	vf_client_doc_release(&d);
	if (asprintf(&limit_by, m->has_length ? "length %s gives" : "the limit for targets",
		     by_file) < 0) {
		limit_by = NULL;
		r = vf_client_nomem(err);
		goto out;
	}
	if ((r = vf_client_fetch_md(c, remote,
				    m->has_length ? m->length : c->max_len[VF_TUF_TARGETS],
				    limit_by, &d.bytes, err))) {
		if (r != -VF_EVERIFY)
			vf_err_prefix(err, "role '%s'", name);
		goto out;
	}
	if ((r = vf_client_check_pinned(file, m, by_file, &d.bytes, err)) ||
	    (r = vf_client_parse_md(file, VF_TUF_TARGETS, &d.bytes, &d.md, err)) ||
	    (r = vf_client_check_sigs(delegator, name, d.md, file, whose, err)) ||
	    (r = vf_client_check_version(d.md, file, m, by_file, err)) ||
	    (r = vf_client_check_expiry(d.md, file, c->now, err)) ||
	    (r = vf_client_write_local(c->dir, local, &d.bytes, err)))
		goto out;
	r = role_add(c, name, delegator_name, d.md, ret, err);
	d.md = NULL;
out:
	vf_client_doc_release(&d);
	free(limit_by);
	free(by_file);
	free(whose);
	free(file);
	free(path);
	free(remote);
	free(local);
	free(mname);
	return r;
}

/* A role still to visit: its name and the document that delegates it. */
struct visit {
	char *name;
	const struct vf_tuf_md *delegator; /* NULL for targets */
	const char *delegator_name;        /* points into a cached or trusted document */
};

struct stack {
	struct visit *v;
	size_t n, cap;
};

static int push(struct stack *st, const char *name, const struct vf_tuf_md *delegator,
		const char *delegator_name, struct vf_err *err)
{
	char *s = strdup(name);

	if (!s)
		return vf_client_nomem(err);
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct visit *v = realloc(st->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return vf_client_nomem(err);
		}
		st->v = v;
		st->cap = cap;
	}
	st->v[st->n++] = (struct visit){ s, delegator, delegator_name };
	return 0;
}

static void stack_clear(struct stack *st)
{
	while (st->n)
		free(st->v[--st->n].name);
}

/* Push the roles `md` (role `name`) delegates `path` to, so that the first pops first. */
static int push_children(struct stack *st, const struct vf_tuf_md *md, const char *name,
			 const char *path, struct vf_err *err)
{
	const struct vf_tuf_delegations *d = md->delegations;
	size_t first = st->n;
	char *bin = NULL;
	int r;

	if (!d)
		return 0;
	if (d->succinct) {
		/* one bin holds the path; bins are terminating (python-tuf, tuf-js) */
		if ((r = vf_tuf_bin_name_for_path(d->succinct->name_prefix, d->succinct->bit_length,
						  path, &bin, err)))
			return r;
		stack_clear(st);
		r = push(st, bin, md, name, err);
		free(bin);
		return r;
	}
	for (size_t i = 0; i < d->n_roles; i++) {
		const struct vf_tuf_role *role = &d->roles[i];

		if ((r = vf_tuf_role_has_path(role, path)) < 0)
			return vf_err_set(err, -r,
					  "role '%s': matching '%s' against the paths of '%s'",
					  name, path, role->name);
		if (!r)
			continue;
		if ((r = push(st, role->name, md, name, err)))
			return r;
		if (role->terminating) {
			/* 5.6.7.2.2: nothing after a terminating match, not even backtracking */
			size_t keep = st->n - first;

			for (size_t k = 0; k < first; k++)
				free(st->v[k].name);
			memmove(st->v, &st->v[first], keep * sizeof(*st->v));
			st->n = keep;
			first = 0;
			break;
		}
	}
	/* reverse the children just pushed: the highest priority is popped first */
	for (size_t a = first, b = st->n; a + 1 < b; a++, b--) {
		struct visit t = st->v[a];

		st->v[a] = st->v[b - 1];
		st->v[b - 1] = t;
	}
	return 0;
}

int vf_client_find_target(struct vf_client *c, const char *path,
			  const struct vf_tuf_target **ret, const char **ret_role,
			  struct vf_err *err)
{
	struct stack st = { NULL, 0, 0 };
	const char **visited = NULL;
	size_t n_visited = 0;
	struct vf_buf searched = VF_BUF_INIT;
	int r;

	*ret = NULL;
	if (ret_role)
		*ret_role = NULL;
	if (!c->refreshed)
		return vf_err_set(err, EINVAL,
				  "target '%s': the trusted metadata must be refreshed "
				  "first",
				  path);
	if (!(visited = calloc(c->max_delegations, sizeof(*visited)))) {
		r = vf_client_nomem(err);
		goto out;
	}
	if ((r = push(&st, "targets", NULL, NULL, err)))
		goto out;
	/* 5.6.7: pre-order depth first, each role once, at most max_delegations roles */
	while (st.n && n_visited < c->max_delegations) {
		struct visit v = st.v[--st.n];
		const struct vf_tuf_md *md = c->top[IDX(VF_TUF_TARGETS)].md;
		const struct vf_tuf_target *t;
		bool seen = false;

		for (size_t i = 0; i < n_visited && !seen; i++)
			seen = strcmp(visited[i], v.name) == 0;
		if (seen) {
			free(v.name);
			continue;
		}
		if (v.delegator &&
		    (r = load_role(c, v.name, v.delegator, v.delegator_name, &md, err))) {
			free(v.name);
			goto out;
		}
		/* names that live as long as the client: the cache's, or a literal */
		visited[n_visited++] =
			v.delegator ? vf_client_role_find(c, v.name, NULL)->name : "targets";
		free(v.name);
		if (vf_buf_add_fmt(&searched, "%s%s", n_visited > 1 ? ", " : "",
				   visited[n_visited - 1])) {
			r = vf_client_nomem(err);
			goto out;
		}
		if ((t = vf_tuf_targets_find_target(md, path))) {
			*ret = t;
			if (ret_role)
				*ret_role = visited[n_visited - 1];
			r = 0;
			goto out;
		}
		if ((r = push_children(&st, md, visited[n_visited - 1], path, err)))
			goto out;
	}
	if (st.n && vf_buf_add_fmt(&searched, "; stopped at the limit of %u roles",
				   c->max_delegations)) {
		r = vf_client_nomem(err);
		goto out;
	}
	r = vf_err_set(err, ENOENT, "target '%s' is not in the repository (searched: %s)", path,
		       (char *)searched.data);
out:
	stack_clear(&st);
	free(st.v);
	free(visited);
	vf_buf_release(&searched);
	return r;
}

/* ---- targets ------------------------------------------------------------------------------ */

/* Where a download goes: a file being written, or the caller's sink; hashed on the way. */
struct tsink {
	int fd;
	vf_fetch_sink sink;
	void *ctx;
	struct vf_digest *d256, *d512;
	uint64_t got;
};

static int tsink_write(void *ctx, const void *data, size_t len, struct vf_err *err)
{
	struct tsink *t = ctx;
	int r;

	if ((t->d256 && vf_digest_update(t->d256, data, len)) ||
	    (t->d512 && vf_digest_update(t->d512, data, len)))
		return vf_err_set(err, EIO, "hashing the download failed");
	if (t->sink) {
		if ((r = t->sink(t->ctx, data, len, err)))
			return r;
	} else if ((r = vf_fs_pwrite_full(t->fd, data, len, t->got))) {
		return vf_err_sys(err, -r, "cannot write");
	}
	t->got += len;
	return 0;
}

/* The URL of a target: consistent "<dir>/<sha256>.<name>" or the plain path. */
static int target_url(const struct vf_client *c, const struct vf_tuf_target *t, char **ret,
		      struct vf_err *err)
{
	char *name = NULL;
	int r;

	if (!c->targets_url)
		return vf_err_set(err, EINVAL, "target '%s': no targets URL given", t->path);
	if (!c->top[IDX(VF_TUF_ROOT)].md->consistent_snapshot)
		return vf_fetch_url_join(c->targets_url, t->path, ret, err);
	if ((r = vf_tuf_target_filename(t->path, t->hashes.sha256[0] ? t->hashes.sha256
								      : t->hashes.sha512,
					&name, err)))
		return r;
	r = vf_fetch_url_join(c->targets_url, name, ret, err);
	free(name);
	return r;
}

/* Download `t` into `ts`, then check its length and every hash (5.7). */
static int fetch_target(struct vf_client *c, const struct vf_tuf_target *t, struct tsink *ts,
			struct vf_err *err)
{
	uint8_t d[VF_DIGEST_MAX];
	char hex[2 * VF_DIGEST_MAX + 1];
	char *url = NULL;
	int r;

	if (!c->refreshed)
		return vf_err_set(err, EINVAL,
				  "target '%s': the trusted metadata must be refreshed "
				  "first",
				  t->path);
	if ((r = target_url(c, t, &url, err)))
		return r;
	if ((t->hashes.sha256[0] && !(ts->d256 = vf_digest_new(vf_digest_alg_get("sha256")))) ||
	    (t->hashes.sha512[0] && !(ts->d512 = vf_digest_new(vf_digest_alg_get("sha512"))))) {
		r = vf_client_nomem(err);
		goto out;
	}
	r = vf_fetch(c->f, url, t->length, tsink_write, ts, err);
	if (r == -EFBIG) {
		r = vf_client_as_verify(err, r,
					"target '%s': more than its length of %llu bytes (endless "
					"data "
					"attack)",
					t->path, (unsigned long long)t->length);
		goto out;
	}
	if (r) {
		vf_err_prefix(err, "target '%s'", t->path);
		goto out;
	}
	if (ts->got != t->length) {
		r = vf_err_set(err, VF_EVERIFY, "target '%s': length differs from its metadata's: "
			       "expected %llu, got %llu (arbitrary software attack?)", t->path,
			       (unsigned long long)t->length, (unsigned long long)ts->got);
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		struct vf_digest *dg = i ? ts->d512 : ts->d256;
		const char *want = i ? t->hashes.sha512 : t->hashes.sha256;

		if (!dg)
			continue;
		if (vf_digest_final(dg, d)) {
			r = vf_err_set(err, EIO, "target '%s': hashing failed", t->path);
			goto out;
		}
		vf_hex_format(d, i ? 64 : 32, hex);
		if (strcasecmp(hex, want) != 0) {
			r = vf_err_set(err, VF_EVERIFY,
				       "target '%s': %s differs from its metadata's: "
				       "expected %s, got %s (arbitrary software attack?)",
				       t->path, i ? "sha512" : "sha256", want, hex);
			goto out;
		}
	}
out:
	vf_digest_free(ts->d256);
	vf_digest_free(ts->d512);
	ts->d256 = ts->d512 = NULL;
	free(url);
	return r;
}

int vf_client_stream_target(struct vf_client *c, const struct vf_tuf_target *t, vf_fetch_sink sink,
			    void *ctx, struct vf_err *err)
{
	struct tsink ts = { .fd = -1, .sink = sink, .ctx = ctx };

	return fetch_target(c, t, &ts, err);
}

/* Create the directories above `path`. */
static int mkdir_parents_of(const char *path, struct vf_err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r;

	if (!slash || slash == path)
		return 0;
	if (!(dir = strndup(path, (size_t)(slash - path))))
		return vf_client_nomem(err);
	r = vf_fs_mkdir_p(dir, err);
	free(dir);
	return r;
}

/* Whether out_path already holds `t`: a regular file of its length and every hash. */
static int is_cached(const char *out_path, const struct vf_tuf_target *t, bool *ret,
		     struct vf_err *err)
{
	struct vf_tuf_hashes h;
	struct vf_err e = { 0 };
	struct stat st;
	uint64_t len;
	int r;

	*ret = false;
	if (lstat(out_path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return vf_err_sys(err, errno, "target '%s': output '%s'", t->path, out_path);
	}
	if (S_ISDIR(st.st_mode))
		return vf_err_set(err, EISDIR, "target '%s': output '%s' is a directory", t->path,
				  out_path);
	if (!S_ISREG(st.st_mode))
		return vf_err_set(err, EEXIST,
				  "target '%s': output '%s' exists and is not a regular "
				  "file (not replaced)",
				  t->path, out_path);
	if ((uint64_t)st.st_size != t->length)
		return 0;
	r = vf_tuf_hashes_build_file(out_path, t->hashes.sha512[0] != '\0', &len, &h, &e);
	if (r == -ENOMEM)
		return vf_client_nomem(err);
	if (r)
		return 0; /* unreadable: downloaded again and replaced */
	*ret = len == t->length &&
	       (!t->hashes.sha256[0] || strcasecmp(h.sha256, t->hashes.sha256) == 0) &&
	       (!t->hashes.sha512[0] || strcasecmp(h.sha512, t->hashes.sha512) == 0);
	return 0;
}

int vf_client_download_target(struct vf_client *c, const struct vf_tuf_target *t,
			      const char *out_path, bool *ret_cached, struct vf_err *err)
{
	struct tsink ts = { .fd = -1 };
	struct vf_fs_atomic a;
	size_t n = out_path ? strlen(out_path) : 0;
	bool cached;
	int r;

	if (ret_cached)
		*ret_cached = false;
	vf_fs_atomic_init(&a);
	if (!n || out_path[n - 1] == '/')
		return vf_err_set(err, EINVAL, "target '%s': output path '%s' names no file",
				  t->path, out_path ? out_path : "");
	if ((r = is_cached(out_path, t, &cached, err)))
		return r;
	if (cached) {
		if (ret_cached)
			*ret_cached = true;
		return 0;
	}
	if ((r = mkdir_parents_of(out_path, err))) {
		vf_err_prefix(err, "target '%s'", t->path);
		return r;
	}
	if ((r = vf_fs_atomic_open(&a, out_path, 0644, err))) {
		vf_err_prefix(err, "target '%s'", t->path);
		goto out;
	}
	ts.fd = a.fd;
	if ((r = fetch_target(c, t, &ts, err)))
		goto out;
	if ((r = vf_fs_atomic_commit(&a, err)))
		vf_err_prefix(err, "target '%s'", t->path);
out:
	vf_fs_atomic_release(&a);
	return r;
}
