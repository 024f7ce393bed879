/*
 * repo: validate a repository from a trusted root as a TUF client would
 * (specification section 5, applied to the files), reporting every problem
 * rather than the first; and list the expiry of every role.
 *
 * The walk: root chain N+1.root.json... (threshold of the old and of the new
 * root, version N+1), the final root's expiry, timestamp.json, the snapshot
 * it names (length and hashes from timestamp), targets and, depth first in
 * delegation order, every delegated role (named roles and succinct hash
 * bins; pinned by snapshot, signed with the delegator's keys, targets within
 * the paths of every delegation along the chain), and every target file
 * (each consistent-snapshot copy, length and every hash). Each file is read
 * at most VF_TUF_MAX_FILE bytes; metadata is parsed with opaque keyids
 * (TAP 12). After a problem the walk goes on wherever the file it needs can
 * still be found: a document whose signatures fail is still used to find the
 * next one, so one mistake does not hide the rest.
 */
#include "repo/repo.h"

#include "builder/base/buf.h"
#include "builder/base/fs.h"
#include "repo/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Root versions read after the trusted one (the specification's example, 2^10). */
#define MAX_ROOT_ROTATIONS 1024
/* Deepest delegation chain followed below targets. */
#define MAX_DELEGATION_DEPTH 64
/* Most hash bins enumerated when no snapshot says which exist. */
#define MAX_BINS_UNLISTED 65536
/* Patterns quoted in a message about delegated paths. */
#define MAX_PATTERNS_SHOWN 4

/* What a successful walk saw (for a summary). */
struct val_stats {
	uint64_t root_version, timestamp_version, snapshot_version, targets_version;
	size_t n_delegated;
	uint64_t n_targets, target_bytes;
};

/* A delegated role met during the walk. */
struct seen {
	char *name;
	char *delegator; /* who delegated it first */
	bool active;     /* on the current delegation chain */
};

/* One delegation of the chain from targets down to the role being checked. */
struct link {
	const char *delegator;
	const char *name;
	const struct vf_tuf_role *role;    /* a named delegation, or */
	const struct vf_tuf_succinct *bins; /* hash bin `bin` */
	uint32_t bin;
};

struct val {
	const char *dir;
	time_t now;
	vf_repo_report_fn report;
	void *ctx;
	size_t problems;
	struct vf_err *err;
	bool consistent;
	const struct vf_tuf_md *root;     /* final root */
	const struct vf_tuf_md *snapshot; /* NULL when unusable */
	const char *snapshot_rel;
	struct seen **seen; /* sorted by name */
	size_t n_seen;
	struct val_stats stats;
};

/* Where a metafile's expected length, hashes and version come from. */
struct pin {
	const struct vf_tuf_meta *meta; /* NULL: nothing pinned */
	const char *by;                 /* the referring file's name */
};

static int nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

/* Report one problem. Returns 0 or -ENOMEM. */
static int problem(struct val *v, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int problem(struct val *v, const char *file, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return nomem(v->err);
	v->problems++;
	if (v->report)
		v->report(v->ctx, file, msg);
	free(msg);
	return 0;
}

/* An error from a library call: ENOMEM stops everything, the rest is a problem. */
static int problem_from(struct val *v, const char *file, const char *what, const struct vf_err *e,
			int code)
{
	if (code == -ENOMEM)
		return nomem(v->err);
	return problem(v, file, "%s: %s", what, e->msg[0] ? e->msg : strerror(-code));
}

static void fmt_time(time_t t, char out[32])
{
	char tmp[VF_TUF_TIME_LEN + 1];

	if (vf_tuf_time_format(t, tmp) == 0)
		snprintf(out, 32, "%s", tmp);
	else
		snprintf(out, 32, "@%lld", (long long)t);
}

static char *join(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

/* The part of a path after the last '/'. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * Read a whole file of at most `max` bytes. 0 with *ret (NUL-terminated),
 * -ENOENT, -ENOMEM, or another negative errno with a message in `e` that
 * does not repeat the path.
 */
static int read_file(const char *path, uint64_t max, uint8_t **ret, size_t *ret_len,
		     struct vf_err *e)
{
	struct vf_buf buf = VF_BUF_INIT;
	int r = vf_fs_read_file(path, max, false, &buf, e);

	*ret = NULL;
	if (r) {
		vf_buf_release(&buf);
		return r;
	}
	if (!buf.data && vf_buf_grow(&buf, 0)) /* an empty file: still a NUL-terminated buffer */
		return nomem(e);
	*ret = buf.data;
	*ret_len = buf.len;
	return 0;
}

/* "role 'x'" for delegated roles, the plain name for top-level ones. */
static char *role_label(const char *name)
{
	char *s;

	if (vf_tuf_type_from_name(name))
		return strdup(name);
	return asprintf(&s, "role '%s'", name) < 0 ? NULL : s;
}

/*
 * Load metadata `rel` of `type`: check the bytes against `pin` (length,
 * hashes), then parse. *ret is NULL when the file cannot be used (the
 * problem was reported unless `quiet`). Returns 0 or -ENOMEM.
 */
static int load_md(struct val *v, const char *rel, enum vf_tuf_type type, const char *label,
		   const struct pin *pin, bool quiet, struct vf_tuf_md **ret)
{
	const struct vf_tuf_meta *m = pin ? pin->meta : NULL;
	struct vf_err e = { 0 };
	uint8_t *buf = NULL;
	char *path = join(v->dir, rel);
	size_t len = 0;
	int r;

	*ret = NULL;
	if (!path)
		return nomem(v->err);
	r = read_file(path, VF_TUF_MAX_FILE, &buf, &len, &e);
	if (r == -ENOMEM) {
		r = nomem(v->err);
		goto out;
	}
	if (r == -ENOENT) {
		r = 0;
		if (quiet)
			goto out;
		if (m)
			r = problem(v, rel, "%s: file missing (version %llu, listed in %s)", label,
				    (unsigned long long)m->version, pin->by);
		else
			r = problem(v, rel, "%s: file missing", label);
		goto out;
	}
	if (r) {
		r = quiet ? 0 : problem(v, rel, "%s: %s", label, e.msg);
		goto out;
	}
	if (m && !quiet) {
		struct vf_tuf_hashes h;

		if (m->has_length && len != m->length &&
		    (r = problem(v, rel, "%s: length %zu, %s says %llu", label, len, pin->by,
				 (unsigned long long)m->length)))
			goto out;
		if (m->hashes.sha256[0] || m->hashes.sha512[0]) {
			if ((r = vf_tuf_hashes_build(buf, len, m->hashes.sha512[0] != '\0', &h, &e))) {
				r = problem_from(v, rel, label, &e, r);
				goto out;
			}
			if (m->hashes.sha256[0] && strcasecmp(h.sha256, m->hashes.sha256) != 0 &&
			    (r = problem(v, rel, "%s: sha256 %s, %s says %s", label, h.sha256,
					 pin->by, m->hashes.sha256)))
				goto out;
			if (m->hashes.sha512[0] && strcasecmp(h.sha512, m->hashes.sha512) != 0 &&
			    (r = problem(v, rel, "%s: sha512 %s, %s says %s", label, h.sha512,
					 pin->by, m->hashes.sha512)))
				goto out;
		}
	}
	r = vf_tuf_md_parse(buf, len, type, VF_TUF_PARSE_OPAQUE_KEYIDS, ret, &e);
	if (r == -ENOMEM) {
		r = nomem(v->err);
	} else if (r) {
		r = quiet ? 0 : problem(v, rel, "%s: not valid metadata: %s", label, e.msg);
		*ret = NULL;
	}
out:
	free(buf);
	free(path);
	return r;
}

/*
 * Check that `md` (role `role`, described by `label`) meets the threshold
 * `delegator` sets for it; `whose` ends the message ("keys of root v2").
 */
static int check_sigs(struct val *v, const char *rel, const struct vf_tuf_md *delegator,
		      const char *role, const struct vf_tuf_md *md, const char *label,
		      const char *whose)
{
	struct vf_tuf_verify_result res = { 0 };
	struct vf_buf m = VF_BUF_INIT;
	struct vf_err e = { 0 };
	bool first = true;
	int r;

	r = vf_tuf_verify(delegator, role, md, &res, &e);
	if (!r)
		goto out;
	if (r == -ENOMEM) {
		r = nomem(v->err);
		goto out;
	}
	if (r != -VF_EVERIFY || res.n_status != md->n_sigs) {
		r = problem_from(v, rel, label, &e, r);
		goto out;
	}
	vf_buf_add_fmt(&m, "%s signed by %zu/%llu %s", label, res.n_valid,
		       (unsigned long long)res.threshold, whose);
	for (size_t i = 0; i < res.n_missing; i++)
		vf_buf_add_fmt(&m, "%s%s", i ? ", " : "; missing: ", res.missing[i]);
	for (size_t i = 0; i < res.n_status; i++) {
		if (res.status[i] == VF_TUF_SIG_VALID)
			continue;
		vf_buf_add_fmt(&m, "%s%s (%s)", first ? "; ignored: " : ", ", md->sigs[i].keyid,
			       vf_tuf_sig_status_name(res.status[i]));
		first = false;
	}
	if (!md->n_sigs)
		vf_buf_add_str(&m, "; no signatures");
	if (!m.data) {
		r = nomem(v->err);
		goto out;
	}
	r = problem(v, rel, "%s", (char *)m.data);
out:
	vf_buf_release(&m);
	vf_tuf_verify_result_release(&res);
	return r;
}

static int check_expiry(struct val *v, const char *rel, const char *label,
			const struct vf_tuf_md *md)
{
	char at[32], now[32];

	if (!vf_tuf_md_is_expired(md, v->now))
		return 0;
	fmt_time(md->expires, at);
	fmt_time(v->now, now);
	return problem(v, rel, "%s v%llu expired at %s (now %s)", label,
		       (unsigned long long)md->version, at, now);
}

static int check_version(struct val *v, const char *rel, const char *label,
			 const struct vf_tuf_md *md, const struct pin *pin)
{
	if (!pin->meta || md->version == pin->meta->version)
		return 0;
	return problem(v, rel, "%s version %llu, %s says %llu", label,
		       (unsigned long long)md->version, pin->by,
		       (unsigned long long)pin->meta->version);
}

/* "metadata/<[version.]encoded role>.json", malloc'd. */
static char *md_rel(const char *role, uint64_t version)
{
	char *name = NULL, *s;

	if (vf_tuf_role_filename(role, version, &name, NULL))
		return NULL;
	s = join("metadata", name);
	free(name);
	return s;
}

/* ---- root -------------------------------------------------------------------------------- */

/*
 * The trusted root must meet its own threshold (as python-tuf checks), and
 * the repository's copy of that version, when present, must hold the same
 * signed content.
 */
static int check_trusted(struct val *v, const struct vf_tuf_md *trusted)
{
	struct vf_buf a = VF_BUF_INIT, b = VF_BUF_INIT;
	struct vf_tuf_md *copy = NULL;
	struct vf_err e = { 0 };
	char *rel = md_rel("root", trusted->version);
	int r;

	if (!rel)
		return nomem(v->err);
	if ((r = check_sigs(v, rel, trusted, "root", trusted, "trusted root", "of its own keys")))
		goto out;
	if ((r = load_md(v, rel, VF_TUF_ROOT, "root", NULL, true, &copy)) || !copy)
		goto out;
	if ((r = vf_tuf_md_format_signed(trusted, &a, &e)) ||
	    (r = vf_tuf_md_format_signed(copy, &b, &e))) {
		r = problem_from(v, rel, "root", &e, r);
		goto out;
	}
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		r = problem(v, rel, "root v%llu differs from the trusted root v%llu",
			    (unsigned long long)copy->version, (unsigned long long)trusted->version);
out:
	vf_buf_release(&a);
	vf_buf_release(&b);
	vf_tuf_md_free(copy);
	free(rel);
	return r;
}

/*
 * Walk N+1.root.json while it exists. A root that parses is used for what
 * follows even when it fails a check (the problem is reported), so that the
 * rest is checked against the keys the repository intends. *ret_owned gets
 * the final root when it is not `trusted`; *ret_rel its file.
 */
static int walk_roots(struct val *v, const struct vf_tuf_md *trusted,
		      struct vf_tuf_md **ret_owned, char **ret_rel)
{
	const struct vf_tuf_md *cur = trusted;
	struct vf_tuf_md *owned = NULL;
	uint64_t ver = trusted->version;
	char *rel = NULL, *cur_rel = md_rel("root", ver);
	int r = 0;

	if (!cur_rel)
		return nomem(v->err);
	for (unsigned n = 0;; n++) {
		struct vf_tuf_md *next = NULL;
		struct stat st;
		char *path, whose[64];

		free(rel);
		if (!(rel = md_rel("root", ver + 1)) || !(path = join(v->dir, rel))) {
			r = nomem(v->err);
			goto out;
		}
		if (stat(path, &st) < 0) {
			int e = errno;

			free(path);
			if (e != ENOENT)
				r = problem(v, rel, "root: %s", strerror(e));
			break;
		}
		free(path);
		if (n == MAX_ROOT_ROTATIONS) {
			r = problem(v, rel, "more than %d root versions after the trusted root "
				    "v%llu: not read", MAX_ROOT_ROTATIONS,
				    (unsigned long long)trusted->version);
			break;
		}
		if ((r = load_md(v, rel, VF_TUF_ROOT, "root", NULL, false, &next)))
			goto out;
		if (!next)
			break;
		snprintf(whose, sizeof(whose), "keys of root v%llu", (unsigned long long)ver);
		if ((r = check_sigs(v, rel, cur, "root", next, "root", whose)) ||
		    (r = check_sigs(v, rel, next, "root", next, "root", "of its own keys"))) {
			vf_tuf_md_free(next);
			goto out;
		}
		if (next->version != ver + 1 &&
		    (r = problem(v, rel, "root version %llu, expected %llu (the version after "
				 "root v%llu)", (unsigned long long)next->version,
				 (unsigned long long)(ver + 1), (unsigned long long)ver))) {
			vf_tuf_md_free(next);
			goto out;
		}
		vf_tuf_md_free(owned);
		cur = owned = next;
		free(cur_rel);
		cur_rel = rel;
		rel = NULL;
		ver++;
	}
	r = check_expiry(v, cur_rel, "root", cur);
out:
	free(rel);
	if (r) {
		vf_tuf_md_free(owned);
		free(cur_rel);
		return r;
	}
	*ret_owned = owned;
	*ret_rel = cur_rel;
	return 0;
}

/* ---- delegated roles and targets ----------------------------------------------------------- */

static struct seen *seen_find(const struct val *v, const char *name, size_t *ret_pos)
{
	size_t lo = 0, hi = v->n_seen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->seen[mid]->name, name);

		if (!c)
			return v->seen[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ret_pos)
		*ret_pos = lo;
	return NULL;
}

static struct seen *seen_add(struct val *v, const char *name, const char *delegator)
{
	struct seen **n, *s;
	size_t pos = 0;

	seen_find(v, name, &pos);
	if (!(n = realloc(v->seen, (v->n_seen + 1) * sizeof(*n))))
		return NULL;
	v->seen = n;
	if (!(s = calloc(1, sizeof(*s))) || !(s->name = strdup(name)) ||
	    !(s->delegator = strdup(delegator))) {
		if (s) {
			free(s->name);
			free(s);
		}
		return NULL;
	}
	memmove(v->seen + pos + 1, v->seen + pos, (v->n_seen - pos) * sizeof(*n));
	v->seen[pos] = s;
	v->n_seen++;
	return s;
}

static void seen_free(struct val *v)
{
	for (size_t i = 0; i < v->n_seen; i++) {
		free(v->seen[i]->name);
		free(v->seen[i]->delegator);
		free(v->seen[i]);
	}
	free(v->seen);
}

/* "paths: a, b" or "path_hash_prefixes: 8f, 1c" (a few of them). */
static void describe_paths(const struct vf_tuf_role *role, struct vf_buf *out)
{
	size_t n = role->n_paths < MAX_PATTERNS_SHOWN ? role->n_paths : MAX_PATTERNS_SHOWN;

	vf_buf_add_str(out, role->has_paths ? "paths: " : "path_hash_prefixes: ");
	if (!role->n_paths)
		vf_buf_add_str(out, "none");
	for (size_t i = 0; i < n; i++)
		vf_buf_add_fmt(out, "%s%s", i ? ", " : "", role->paths[i]);
	if (n < role->n_paths)
		vf_buf_add_fmt(out, ", ... (%zu in all)", role->n_paths);
}

/*
 * Whether target `path` is within every delegation of the chain; reports
 * the first one it is not within. 1, 0 or -ENOMEM.
 */
static int within_chain(struct val *v, const char *rel, const char *path,
			const struct link *chain, size_t depth)
{
	struct vf_err e = { 0 };
	int r;

	for (size_t k = 0; k < depth; k++) {
		const struct link *l = &chain[k];

		if (l->role) {
			struct vf_buf d = VF_BUF_INIT;

			if ((r = vf_tuf_role_has_path(l->role, path)) < 0)
				return r == -ENOMEM ? nomem(v->err)
						    : problem(v, rel, "target '%s': %s", path,
							      strerror(-r));
			if (r)
				continue;
			describe_paths(l->role, &d);
			if (!d.data)
				return nomem(v->err);
			r = problem(v, rel, "target '%s' is outside the paths '%s' delegates to "
				    "'%s' (%s)", path, l->delegator, l->name, (char *)d.data);
			vf_buf_release(&d);
			return r;
		} else {
			uint32_t idx;
			char *want = NULL;

			if ((r = vf_tuf_bin_index(path, l->bins->bit_length, &idx, &e)))
				return problem_from(v, rel, "target", &e, r);
			if (idx == l->bin)
				continue;
			if ((r = vf_tuf_bin_name(l->bins->name_prefix, l->bins->bit_length, idx,
						 &want, &e)))
				return problem_from(v, rel, "target", &e, r);
			r = problem(v, rel, "target '%s' belongs in hash bin '%s', not in '%s' "
				    "(delegated by '%s')", path, want, l->name, l->delegator);
			free(want);
			return r;
		}
	}
	return 1;
}

/* One copy of a target file: present, regular, its length and every hash. */
static int check_target_file(struct val *v, const char *rel, const struct vf_tuf_target *t,
			     const char *by)
{
	struct vf_tuf_hashes h;
	struct vf_err e = { 0 };
	struct stat st;
	uint64_t len = 0;
	char *path = join(v->dir, rel);
	int r = 0;

	if (!path)
		return nomem(v->err);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			r = problem(v, rel, "target '%s': file missing (listed in %s, length %llu)",
				    t->path, by, (unsigned long long)t->length);
		else
			r = problem(v, rel, "target '%s': %s", t->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = problem(v, rel, "target '%s': not a regular file", t->path);
		goto out;
	}
	/* a file of the wrong length cannot have the right hashes: do not read it */
	if ((uint64_t)st.st_size != t->length) {
		r = problem(v, rel, "target '%s': length %lld, %s says %llu", t->path,
			    (long long)st.st_size, by, (unsigned long long)t->length);
		goto out;
	}
	if ((r = vf_tuf_hashes_build_file(path, t->hashes.sha512[0] != '\0', &len, &h, &e))) {
		r = problem_from(v, rel, "target", &e, r);
		goto out;
	}
	if (len != t->length) {
		r = problem(v, rel, "target '%s': length %llu, %s says %llu", t->path,
			    (unsigned long long)len, by, (unsigned long long)t->length);
		goto out;
	}
	if (t->hashes.sha256[0] && strcasecmp(h.sha256, t->hashes.sha256) != 0 &&
	    (r = problem(v, rel, "target '%s': sha256 %s, %s says %s", t->path, h.sha256, by,
			 t->hashes.sha256)))
		goto out;
	if (t->hashes.sha512[0] && strcasecmp(h.sha512, t->hashes.sha512) != 0)
		r = problem(v, rel, "target '%s': sha512 %s, %s says %s", t->path, h.sha512, by,
			    t->hashes.sha512);
out:
	free(path);
	return r;
}

static int check_target(struct val *v, const struct vf_tuf_target *t, const char *by)
{
	const char *hashes[2] = { t->hashes.sha256, t->hashes.sha512 };
	char *name = NULL, *rel;
	int r;

	if (!v->consistent) {
		if (!(rel = join("targets", t->path)))
			return nomem(v->err);
		r = check_target_file(v, rel, t, by);
		free(rel);
		return r;
	}
	for (size_t i = 0; i < 2; i++) {
		if (!hashes[i][0])
			continue;
		if (vf_tuf_target_filename(t->path, hashes[i], &name, NULL) ||
		    !(rel = join("targets", name))) {
			free(name);
			return nomem(v->err);
		}
		free(name);
		r = check_target_file(v, rel, t, by);
		free(rel);
		if (r)
			return r;
	}
	return 0;
}

static int check_targets(struct val *v, const struct vf_tuf_md *md, const char *rel,
			 const struct link *chain, size_t depth)
{
	const char *by = base_name(rel);
	int r;

	for (size_t i = 0; i < md->n_targets; i++) {
		const struct vf_tuf_target *t = md->targets[i];

		if ((r = within_chain(v, rel, t->path, chain, depth)) < 0)
			return r;
		if (!r)
			continue; /* no client takes it from this role: its file does not matter */
		v->stats.n_targets++;
		v->stats.target_bytes += t->length;
		if ((r = check_target(v, t, by)))
			return r;
	}
	return 0;
}

static int walk(struct val *v, const struct vf_tuf_md *md, const char *name, const char *rel,
		struct link *chain, size_t depth);

/*
 * A role met a second time, through another delegator: a client coming that
 * way verifies it with that delegator's keys, so they must meet its threshold.
 */
static int recheck_parent(struct val *v, const struct vf_tuf_md *delegator,
			  const char *delegator_name, const struct seen *s)
{
	const struct vf_tuf_meta *m = NULL;
	struct vf_tuf_md *md = NULL;
	char *rel = NULL, *label = NULL, *whose = NULL, *mname = NULL;
	int r = 0;

	if (v->snapshot) {
		if (asprintf(&mname, "%s.json", s->name) < 0)
			return nomem(v->err);
		m = vf_tuf_md_find_meta(v->snapshot, mname);
		free(mname);
		if (!m)
			return 0; /* reported when it was first met */
	} else if (v->consistent) {
		return 0;
	}
	if (!(rel = md_rel(s->name, v->consistent ? m->version : 0)) ||
	    !(label = role_label(s->name)) ||
	    asprintf(&whose, "keys delegated by '%s' (it is also delegated by '%s')",
		     delegator_name, s->delegator) < 0) {
		whose = NULL;
		r = nomem(v->err);
		goto out;
	}
	if ((r = load_md(v, rel, VF_TUF_TARGETS, label, NULL, true, &md)) || !md)
		goto out;
	r = check_sigs(v, rel, delegator, s->name, md, label, whose);
out:
	vf_tuf_md_free(md);
	free(whose);
	free(label);
	free(rel);
	return r;
}

/* Check the delegated role chain[depth - 1] names, then what it delegates. */
static int visit(struct val *v, const struct vf_tuf_md *delegator, const char *delegator_name,
		 struct link *chain, size_t depth)
{
	const struct link *l = &chain[depth - 1];
	struct pin pin = { NULL, v->snapshot_rel ? base_name(v->snapshot_rel) : NULL };
	struct vf_tuf_md *md = NULL;
	struct seen *s;
	char *rel = NULL, *label = NULL, *whose = NULL, *mname = NULL;
	int r = 0;

	if ((s = seen_find(v, l->name, NULL))) {
		if (s->active || strcmp(s->delegator, delegator_name) == 0)
			return 0; /* a cycle: it is being checked */
		return recheck_parent(v, delegator, delegator_name, s);
	}
	if (!(s = seen_add(v, l->name, delegator_name)) || asprintf(&mname, "%s.json", l->name) < 0)
		return nomem(v->err);
	if (v->snapshot) {
		pin.meta = vf_tuf_md_find_meta(v->snapshot, mname);
		if (!pin.meta) {
			r = problem(v, v->snapshot_rel, "lists no '%s' for role '%s' delegated by '%s'",
				    mname, l->name, delegator_name);
			goto out;
		}
	} else if (v->consistent) {
		goto out; /* without snapshot the file cannot be found */
	}
	if (!(rel = md_rel(l->name, v->consistent ? pin.meta->version : 0)) ||
	    !(label = role_label(l->name)) ||
	    asprintf(&whose, "keys delegated by '%s'", delegator_name) < 0) {
		whose = NULL;
		r = nomem(v->err);
		goto out;
	}
	if ((r = load_md(v, rel, VF_TUF_TARGETS, label, &pin, false, &md)) || !md)
		goto out;
	v->stats.n_delegated++;
	if ((r = check_sigs(v, rel, delegator, l->name, md, label, whose)) ||
	    (r = check_version(v, rel, label, md, &pin)) ||
	    (r = check_expiry(v, rel, label, md)))
		goto out;
	s->active = true;
	r = walk(v, md, l->name, rel, chain, depth);
	s->active = false;
out:
	vf_tuf_md_free(md);
	free(mname);
	free(whose);
	free(label);
	free(rel);
	return r;
}

/* The bins of a succinct delegation: each one snapshot lists, or all of them. */
static int walk_bins(struct val *v, const struct vf_tuf_md *md, const char *name, const char *rel,
		     struct link *chain, size_t depth)
{
	const struct vf_tuf_succinct *s = md->delegations->succinct;
	uint64_t total = (uint64_t)1 << s->bit_length, listed = 0;
	struct link *l = &chain[depth];
	struct vf_err e = { 0 };
	bool only_listed = false;
	char *bin = NULL;
	int r;

	if (v->snapshot) {
		for (size_t i = 0; i < v->snapshot->n_meta; i++) {
			const char *m = v->snapshot->meta[i]->name;
			size_t n = strlen(m);
			char *role;

			if (n < 5 || strcmp(m + n - 5, ".json") != 0)
				continue;
			if (!(role = strndup(m, n - 5)))
				return nomem(v->err);
			listed += vf_tuf_succinct_has_role(s, role, NULL);
			free(role);
		}
		if (total > v->snapshot->n_meta) {
			/* cannot all be listed: say so once, check those that are */
			if ((r = problem(v, v->snapshot_rel, "lists %llu of the %llu hash bins "
					 "'%s-...' delegated by '%s'", (unsigned long long)listed,
					 (unsigned long long)total, s->name_prefix, name)))
				return r;
			only_listed = true;
		}
	} else if (total > MAX_BINS_UNLISTED) {
		return problem(v, rel, "%llu hash bins '%s-...' and no snapshot listing them: "
			       "not checked", (unsigned long long)total, s->name_prefix);
	}
	for (uint64_t i = 0; i < (only_listed ? v->snapshot->n_meta : total); i++) {
		uint32_t idx;

		if (only_listed) {
			const char *m = v->snapshot->meta[i]->name;
			size_t n = strlen(m);

			if (n < 5 || strcmp(m + n - 5, ".json") != 0)
				continue;
			if (!(bin = strndup(m, n - 5)))
				return nomem(v->err);
			if (!vf_tuf_succinct_has_role(s, bin, &idx)) {
				free(bin);
				continue;
			}
		} else {
			idx = (uint32_t)i;
			if ((r = vf_tuf_bin_name(s->name_prefix, s->bit_length, idx, &bin, &e)))
				return problem_from(v, rel, "hash bins", &e, r);
		}
		*l = (struct link){ .delegator = name, .name = bin, .bins = s, .bin = idx };
		r = visit(v, md, name, chain, depth + 1);
		free(bin);
		bin = NULL;
		if (r)
			return r;
	}
	return 0;
}

/* Check a targets role's targets (within `chain`), then its delegations in order. */
static int walk(struct val *v, const struct vf_tuf_md *md, const char *name, const char *rel,
		struct link *chain, size_t depth)
{
	const struct vf_tuf_delegations *d = md->delegations;
	int r;

	if ((r = check_targets(v, md, rel, chain, depth)))
		return r;
	if (!d)
		return 0;
	if (depth >= MAX_DELEGATION_DEPTH)
		return problem(v, rel, "delegations more than %d levels below targets: not "
			       "checked", MAX_DELEGATION_DEPTH);
	if (d->succinct)
		return walk_bins(v, md, name, rel, chain, depth);
	for (size_t i = 0; i < d->n_roles; i++) {
		chain[depth] = (struct link){ .delegator = name, .name = d->roles[i].name,
					      .role = &d->roles[i] };
		if ((r = visit(v, md, name, chain, depth + 1)))
			return r;
	}
	return 0;
}

/* ---- top-level roles --------------------------------------------------------------------- */

/*
 * timestamp, snapshot, targets and below. A role whose file cannot be found
 * (consistent snapshots need the version from its referrer) ends the walk.
 */
static int walk_top(struct val *v)
{
	struct vf_tuf_md *ts = NULL, *snap = NULL, *targets = NULL;
	struct pin pin = { NULL, NULL };
	struct link *chain = NULL;
	char *snap_rel = NULL, *targets_rel = NULL;
	const char *ts_rel = "metadata/timestamp.json";
	char whose[64];
	int r;

	snprintf(whose, sizeof(whose), "keys of root v%llu",
		 (unsigned long long)v->root->version);

	if ((r = load_md(v, ts_rel, VF_TUF_TIMESTAMP, "timestamp", NULL, false, &ts)))
		goto out;
	if (ts) {
		v->stats.timestamp_version = ts->version;
		if ((r = check_sigs(v, ts_rel, v->root, "timestamp", ts, "timestamp", whose)) ||
		    (r = check_expiry(v, ts_rel, "timestamp", ts)))
			goto out;
		pin.meta = vf_tuf_md_find_meta(ts, "snapshot.json");
		pin.by = base_name(ts_rel);
		if (!pin.meta && (r = problem(v, ts_rel, "timestamp lists no snapshot.json")))
			goto out;
	}
	if (!pin.meta && v->consistent)
		goto out;

	if (!(snap_rel = md_rel("snapshot", v->consistent ? pin.meta->version : 0))) {
		r = nomem(v->err);
		goto out;
	}
	if ((r = load_md(v, snap_rel, VF_TUF_SNAPSHOT, "snapshot", &pin, false, &snap)))
		goto out;
	if (snap) {
		v->stats.snapshot_version = snap->version;
		if ((r = check_sigs(v, snap_rel, v->root, "snapshot", snap, "snapshot", whose)) ||
		    (r = check_version(v, snap_rel, "snapshot", snap, &pin)) ||
		    (r = check_expiry(v, snap_rel, "snapshot", snap)))
			goto out;
		v->snapshot = snap;
		v->snapshot_rel = snap_rel;
		pin.meta = vf_tuf_md_find_meta(snap, "targets.json");
		pin.by = base_name(snap_rel);
		if (!pin.meta && (r = problem(v, snap_rel, "snapshot lists no targets.json")))
			goto out;
	} else {
		pin.meta = NULL;
	}
	if (!pin.meta && v->consistent)
		goto out;

	if (!(targets_rel = md_rel("targets", v->consistent ? pin.meta->version : 0))) {
		r = nomem(v->err);
		goto out;
	}
	if ((r = load_md(v, targets_rel, VF_TUF_TARGETS, "targets", &pin, false, &targets)) ||
	    !targets)
		goto out;
	v->stats.targets_version = targets->version;
	if ((r = check_sigs(v, targets_rel, v->root, "targets", targets, "targets", whose)) ||
	    (r = check_version(v, targets_rel, "targets", targets, &pin)) ||
	    (r = check_expiry(v, targets_rel, "targets", targets)))
		goto out;
	if (!(chain = calloc(MAX_DELEGATION_DEPTH + 1, sizeof(*chain)))) {
		r = nomem(v->err);
		goto out;
	}
	r = walk(v, targets, "targets", targets_rel, chain, 0);
out:
	v->snapshot = NULL;
	v->snapshot_rel = NULL;
	free(chain);
	vf_tuf_md_free(targets);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ts);
	free(targets_rel);
	free(snap_rel);
	return r;
}

static int validate(const char *dir, const struct vf_tuf_md *trusted_root, time_t now,
		    vf_repo_report_fn report, void *ctx, size_t *ret_problems,
		    struct val_stats *ret_stats, struct vf_err *err)
{
	struct val v = { .dir = dir, .now = now, .report = report, .ctx = ctx, .err = err };
	struct vf_tuf_md *owned = NULL;
	char *root_rel = NULL, *meta = NULL;
	struct stat st;
	int r;

	if (ret_problems)
		*ret_problems = 0;
	if (!trusted_root || trusted_root->type != VF_TUF_ROOT)
		return vf_err_set(err, EINVAL, "trusted root: expected root metadata, got %s",
				  trusted_root ? vf_tuf_type_name(trusted_root->type) : "nothing");
	if (stat(dir, &st) < 0)
		return vf_err_sys(err, errno, "repository '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return vf_err_set(err, ENOTDIR, "repository '%s': not a directory", dir);
	if (!(meta = join(dir, "metadata")))
		return nomem(err);
	if (stat(meta, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = vf_err_set(err, ENOENT, "repository '%s': no metadata/ directory", dir);
		free(meta);
		return r;
	}
	free(meta);

	if ((r = check_trusted(&v, trusted_root)) ||
	    (r = walk_roots(&v, trusted_root, &owned, &root_rel)))
		goto out;
	v.root = owned ? owned : trusted_root;
	v.consistent = v.root->consistent_snapshot;
	v.stats.root_version = v.root->version;
	r = walk_top(&v);
out:
	seen_free(&v);
	vf_tuf_md_free(owned);
	free(root_rel);
	if (ret_problems)
		*ret_problems = v.problems;
	if (r)
		return r;
	if (ret_stats)
		*ret_stats = v.stats;
	if (v.problems)
		return vf_err_set(err, VF_EVERIFY, "repository '%s': %zu problem%s", dir,
				  v.problems, v.problems == 1 ? "" : "s");
	return 0;
}

int vf_repo_validate(const char *dir, const struct vf_tuf_md *trusted_root, time_t now,
		     vf_repo_report_fn report, void *ctx, size_t *ret_problems,
		     struct vf_err *err)
{
	return validate(dir, trusted_root, now, report, ctx, ret_problems, NULL, err);
}

/* ---- expirations ----------------------------------------------------------------------- */

void vf_repo_expirations_free(struct vf_repo_expiry *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].role);
		free(v[i].file);
	}
	free(v);
}

struct exp_list {
	struct vf_repo_expiry *v;
	size_t n;
};

/* Load `rel` (no signature checks) and list it; *ret (may be NULL) keeps the document. */
static int exp_add(const char *dir, struct exp_list *l, const char *role, const char *rel,
		   enum vf_tuf_type type, struct vf_tuf_md **ret, struct vf_err *err)
{
	struct vf_repo_expiry *n;
	struct vf_tuf_md *md = NULL;
	char *path = join(dir, rel);
	int r;

	if (!path)
		return nomem(err);
	r = vf_tuf_md_load(path, type, VF_TUF_PARSE_OPAQUE_KEYIDS, &md, err);
	free(path);
	if (r)
		return vf_err_prefix(err, "role %s", role);
	if (!(n = realloc(l->v, (l->n + 1) * sizeof(*n)))) {
		vf_tuf_md_free(md);
		return nomem(err);
	}
	l->v = n;
	n += l->n;
	memset(n, 0, sizeof(*n));
	if (!(n->role = strdup(role)) || !(n->file = strdup(rel))) {
		free(n->role);
		vf_tuf_md_free(md);
		return nomem(err);
	}
	n->version = md->version;
	n->expires = md->expires;
	l->n++;
	if (ret)
		*ret = md;
	else
		vf_tuf_md_free(md);
	return 0;
}

/* The newest root: the highest N of metadata/N.root.json, else metadata/root.json. */
static int newest_root(const char *dir, char **ret_rel, struct vf_err *err)
{
	char *meta = join(dir, "metadata"), *path;
	uint64_t best = 0;
	struct dirent *de;
	DIR *d;

	if (!meta)
		return nomem(err);
	if (!(d = opendir(meta))) {
		int r = vf_err_sys(err, errno, "'%s'", meta);

		free(meta);
		return r;
	}
	while ((de = readdir(d))) {
		const char *p = de->d_name;
		uint64_t n = 0;

		if (*p < '1' || *p > '9')
			continue;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (n > (UINT64_MAX - 9) / 10)
				break;
			n = n * 10 + (uint64_t)(*p - '0');
		}
		if (strcmp(p, ".root.json") == 0 && n > best)
			best = n;
	}
	closedir(d);
	if (best) {
		free(meta);
		return (*ret_rel = md_rel("root", best)) ? 0 : nomem(err);
	}
	path = join(meta, "root.json");
	free(meta);
	if (!path)
		return nomem(err);
	if (access(path, F_OK) < 0) {
		free(path);
		return vf_err_set(err, ENOENT, "repository '%s': no N.root.json or root.json in "
				  "metadata/", dir);
	}
	free(path);
	return (*ret_rel = strdup("metadata/root.json")) ? 0 : nomem(err);
}

int vf_repo_expirations(const char *dir, struct vf_repo_expiry **ret, size_t *ret_n,
			struct vf_err *err)
{
	struct exp_list l = { NULL, 0 };
	struct vf_tuf_md *root = NULL, *ts = NULL, *snap = NULL;
	const struct vf_tuf_meta *m;
	char *rel = NULL;
	bool cs;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if ((r = newest_root(dir, &rel, err)) ||
	    (r = exp_add(dir, &l, "root", rel, VF_TUF_ROOT, &root, err)))
		goto out;
	cs = root->consistent_snapshot;
	if ((r = exp_add(dir, &l, "timestamp", "metadata/timestamp.json", VF_TUF_TIMESTAMP, &ts,
			 err)))
		goto out;
	if (!(m = vf_tuf_md_find_meta(ts, "snapshot.json"))) {
		r = vf_err_set(err, EINVAL, "'%s/metadata/timestamp.json': lists no snapshot.json",
			       dir);
		goto out;
	}
	free(rel);
	if (!(rel = md_rel("snapshot", cs ? m->version : 0))) {
		r = nomem(err);
		goto out;
	}
	if ((r = exp_add(dir, &l, "snapshot", rel, VF_TUF_SNAPSHOT, &snap, err)))
		goto out;
	if (!(m = vf_tuf_md_find_meta(snap, "targets.json"))) {
		r = vf_err_set(err, EINVAL, "'%s/%s': lists no targets.json", dir, rel);
		goto out;
	}
	free(rel);
	if (!(rel = md_rel("targets", cs ? m->version : 0))) {
		r = nomem(err);
		goto out;
	}
	if ((r = exp_add(dir, &l, "targets", rel, VF_TUF_TARGETS, NULL, err)))
		goto out;
	/* delegated roles: every other "<role>.json" snapshot lists (old ones list root.json) */
	for (size_t i = 0; i < snap->n_meta; i++) {
		const char *name = snap->meta[i]->name;
		size_t n = strlen(name);
		char *role;

		if (strcmp(name, "targets.json") == 0 || strcmp(name, "root.json") == 0 ||
		    n < 6 || strcmp(name + n - 5, ".json") != 0)
			continue;
		if (!(role = strndup(name, n - 5))) {
			r = nomem(err);
			goto out;
		}
		free(rel);
		if (!(rel = md_rel(role, cs ? snap->meta[i]->version : 0))) {
			free(role);
			r = nomem(err);
			goto out;
		}
		r = exp_add(dir, &l, role, rel, VF_TUF_TARGETS, NULL, err);
		free(role);
		if (r)
			goto out;
	}
	*ret = l.v;
	*ret_n = l.n;
	l.v = NULL;
	l.n = 0;
out:
	vf_repo_expirations_free(l.v, l.n);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ts);
	vf_tuf_md_free(root);
	free(rel);
	return r;
}
