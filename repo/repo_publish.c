/*
 * repo: publishing. Every role is checked against its threshold before
 * anything is written; then target files, root, targets-type roles,
 * snapshot and timestamp.json last, each atomically (split from repo.c).
 */
#include "repo/repo.h"
#include "repo/repo_internal.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/base/parallel.h"
#include "keys/digest.h"
#include "repo/cjson.h"
#include "repo/internal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- publish ------------------------------------------------------------------------------ */

static time_t expiry_of(const struct vf_repo *r, enum vf_tuf_type t)
{
	if (r->opts.expires[t - 1])
		return r->opts.expires[t - 1];
	return r->opts.now + (time_t)vf_repo_default_lifetime(t);
}

/*
 * The distinct keyids among the signers that `au` authorises: out[i] is the
 * keyid signer i signs under, or NULL. Returns how many distinct ones.
 */
static uint64_t authorised(const struct vf_repo_authority *au, struct vf_signer *const *signers,
			   size_t n, const char **out)
{
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++) {
		const char *id = vf_tuf_keys_find_key(au->keys, vf_signer_key(signers[i]));
		bool ok = false;

		out[i] = NULL;
		for (size_t k = 0; id && k < au->n_keyids; k++)
			ok |= strcmp(au->keyids[k], id) == 0;
		for (size_t j = 0; ok && j < i; j++)
			ok = !out[j] || strcmp(out[j], id) != 0;
		if (ok) {
			out[i] = id;
			count++;
		}
	}
	return count;
}

/* Whether `keyid` is among the valid signatures of a verification result. */
static bool in_valid(const struct vf_tuf_verify_result *res, const char *keyid)
{
	for (size_t i = 0; res && i < res->n_valid; i++)
		if (strcmp(res->valid[i], keyid) == 0)
			return true;
	return false;
}

/*
 * Append "ROLE: threshold T, H authorised keys given; still needed: ..." when
 * the signers (and, for a document signed offline, its valid signatures)
 * fall short.
 */
static void check_threshold(const struct vf_repo_authority *au, const struct vf_tuf_md *presigned,
			    struct vf_signer *const *signers, size_t n, const char **ids,
			    struct vf_buf *msg)
{
	struct vf_tuf_verify_result res = { 0 };
	uint64_t have;
	bool first = true;

	authorised(au, signers, n, ids);
	if (presigned)
		vf_tuf_verify(au->delegator, au->role, presigned, &res, NULL);
	have = res.n_valid;
	for (size_t i = 0; i < n; i++)
		have += ids[i] && !in_valid(&res, ids[i]);
	if (have >= au->threshold)
		goto out;
	vf_buf_add_fmt(msg, "%s%s: threshold %llu, %llu authorised %s; still needed: %llu more "
		       "of:", msg->len ? "; " : "", au->role, (unsigned long long)au->threshold,
		       (unsigned long long)have, presigned ? "signatures (offline and given)" :
		       have == 1 ? "key given" : "keys given",
		       (unsigned long long)(au->threshold - have));
	for (size_t k = 0; k < au->n_keyids; k++) {
		bool given = in_valid(&res, au->keyids[k]);

		for (size_t i = 0; i < n; i++)
			given |= ids[i] && strcmp(ids[i], au->keyids[k]) == 0;
		if (given)
			continue;
		vf_buf_add_fmt(msg, "%s %s", first ? "" : ",", au->keyids[k]);
		first = false;
	}
out:
	vf_tuf_verify_result_release(&res);
}

/*
 * Sign a document with every authorised key and check that the threshold
 * holds. `keep`: a document signed offline keeps its signatures.
 */
static int sign_doc(const struct vf_repo_authority *au, struct vf_tuf_md *md, bool keep,
		    struct vf_signer *const *signers, size_t n, const char **ids,
		    struct vf_err *err)
{
	struct vf_buf canon = VF_BUF_INIT;
	struct vf_tuf_verify_result res = { 0 };
	int rc;

	if (!keep)
		vf_tuf_md_clear_signatures(md);
	if ((rc = vf_tuf_md_format_signed(md, &canon, err))) {
		vf_err_prefix(err, "%s", au->role);
		goto out;
	}
	authorised(au, signers, n, ids);
	for (size_t i = 0; i < n; i++) {
		uint8_t *sig = NULL;
		size_t sig_len = 0;

		if (!ids[i])
			continue;
		if ((rc = vf_signer_sign(signers[i], canon.data, canon.len, &sig, &sig_len, err))) {
			vf_err_prefix(err, "signing %s with key %s", au->role, ids[i]);
			goto out;
		}
		rc = vf_tuf_md_add_signature(md, ids[i], sig, sig_len, err);
		free(sig);
		if (rc)
			goto out;
	}
	/* signatures are not part of the signed bytes: verify over the same ones */
	if ((rc = vf_tuf_verify_signed(au->delegator, au->role, md, &canon, &res, err)))
		vf_err_prefix(err, "the new %s does not verify", au->role);
out:
	vf_tuf_verify_result_release(&res);
	vf_buf_release(&canon);
	return rc;
}

/* One role's signing, run on any thread. */
struct sign_job {
	struct vf_tuf_md *md;
	bool keep;
	struct vf_repo_authority au;
	const char **ids; /* n slots of scratch */
	int rc;
	struct vf_err err;
};

struct sign_jobs {
	struct sign_job *v;
	struct vf_signer *const *signers;
	size_t n;
};

static void sign_job_run(void *ctx, size_t k)
{
	struct sign_jobs *js = ctx;
	struct sign_job *j = &js->v[k];

	j->rc = sign_doc(&j->au, j->md, j->keep, js->signers, js->n, j->ids, &j->err);
}

/*
 * The changed targets-type roles roles[idx[0..k)] get their version and
 * expiry (unless signed offline) and are signed, on every CPU when the
 * signers allow it (vf_signer_is_concurrent()). The roles must be loaded. On
 * failure the error is the lowest-numbered failing role's; every role's
 * authority is looked up first, so the roles array does not move meanwhile.
 */
static int sign_roles(struct vf_repo *r, const size_t *idx, size_t k,
		      struct vf_signer *const *signers, size_t n, struct vf_err *err)
{
	struct sign_jobs js = { .signers = signers, .n = n };
	const char **ids = NULL;
	int rc = 0;

	if (!k)
		return 0;
	js.v = calloc(k, sizeof(*js.v));
	ids = calloc(k * (n ? n : 1), sizeof(*ids));
	if (!js.v || !ids) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < k; j++) {
		struct vf_repo_role *ro = &r->roles[idx[j]];

		if (!ro->presigned) {
			ro->md->version++;
			ro->md->expires = expiry_of(r, VF_TUF_TARGETS);
		}
		if ((rc = vf_repo_authority_of(r, ro->name, &js.v[j].au, err)))
			goto out;
		js.v[j].ids = ids + j * (n ? n : 1);
	}
	/* the lookups may have loaded roles (the array moves): take the documents now */
	for (size_t j = 0; j < k; j++) {
		js.v[j].md = r->roles[idx[j]].md;
		js.v[j].keep = r->roles[idx[j]].presigned;
	}
	vf_parallel_run(k, vf_tuf_sign_threads(signers, n, vf_parallel_cpus()), sign_job_run, &js);
	for (size_t j = 0; j < k && !rc; j++)
		if ((rc = js.v[j].rc))
			*err = js.v[j].err;
out:
	free(ids);
	free(js.v);
	return rc;
}

/* Write a buffer to `path` atomically (temp file, fsync, rename, fsync dir). */
static int write_atomic(const char *path, const struct vf_buf *text, const char *partial_point,
			struct vf_err *err)
{
	struct vf_fs_atomic a;
	int rc;

	vf_fs_atomic_init(&a);
	if ((rc = vf_fs_atomic_open(&a, path, 0644, err)))
		goto out;
	if (partial_point) {
		const char *want = getenv("VFORGE_TEST_CRASH_AT");

		if (want && strcmp(want, partial_point) == 0) {
			vf_fs_pwrite_full(a.fd, text->data, text->len / 2, 0);
			fsync(a.fd);
			raise(SIGKILL);
		}
	}
	if ((rc = vf_fs_pwrite_full(a.fd, text->data, text->len, 0))) {
		rc = vf_err_sys(err, -rc, "cannot write '%s'", path);
		goto out;
	}
	rc = vf_fs_atomic_commit(&a, err);
out:
	vf_fs_atomic_release(&a);
	return rc;
}

int vf_repo_write_file(const char *path, const struct vf_buf *text, struct vf_err *err)
{
	return write_atomic(path, text, NULL, err);
}

/* Below this many files, fsync each one; above, one syncfs is cheaper. */
#define FSYNC_EACH_MAX 64

static int sync_fs_of(const char *dir, struct vf_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", dir);
	if (syncfs(fd) < 0) {
		int e = errno;

		close(fd);
		return vf_err_sys(err, e, "syncfs '%s'", dir);
	}
	close(fd);
	return 0;
}

/*
 * Many metadata files at once (hash bins): each written to a temporary name
 * without its own fsync; then one syncfs, the renames, one fsync of the
 * directory. The same durability as one by one, with two flushes in all.
 */
void vf_repo_batch_release(struct vf_repo_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->tmp[i])
			unlink(b->tmp[i]);
		free(b->tmp[i]);
		free(b->final[i]);
	}
	free(b->tmp);
	free(b->final);
	memset(b, 0, sizeof(*b));
}

static int batch_add(struct vf_repo_batch *b, const char *path, const struct vf_buf *text,
		     struct vf_err *err)
{
	struct vf_fs_atomic a;
	char **t, **f;
	int rc;

	t = realloc(b->tmp, (b->n + 1) * sizeof(*t));
	if (t)
		b->tmp = t;
	f = realloc(b->final, (b->n + 1) * sizeof(*f));
	if (f)
		b->final = f;
	if (!t || !f)
		return vf_err_set(err, ENOMEM, "out of memory");
	vf_fs_atomic_init(&a);
	if ((rc = vf_fs_atomic_open(&a, path, 0644, err)))
		goto out;
	if ((rc = vf_fs_pwrite_full(a.fd, text->data, text->len, 0))) {
		rc = vf_err_sys(err, -rc, "cannot write '%s'", path);
		goto out;
	}
	b->final[b->n] = strdup(path);
	if (!b->final[b->n]) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	b->tmp[b->n++] = a.tmp; /* ours now: not removed by the release below */
	a.tmp = NULL;
out:
	vf_fs_atomic_release(&a);
	return rc;
}

static int batch_commit(struct vf_repo *r, struct vf_repo_batch *b, struct vf_err *err)
{
	int rc;

	if (!b->n)
		return 0;
	if ((rc = sync_fs_of(r->mdir, err)))
		return rc;
	for (size_t i = 0; i < b->n; i++) {
		if (rename(b->tmp[i], b->final[i]) < 0)
			return vf_err_sys(err, errno, "cannot rename '%s' to '%s'", b->tmp[i],
					  b->final[i]);
		free(b->tmp[i]);
		b->tmp[i] = NULL;
	}
	return vf_repo_fsync_dir(r->mdir, err);
}

/* Format a document and write it as metadata/<file>; meta gets its length and sha256. */
static int write_md(struct vf_repo *r, const char *role, const struct vf_tuf_md *md,
		    const char *partial_point, uint64_t *ret_len, struct vf_tuf_hashes *ret_h,
		    struct vf_repo_batch *b, struct vf_err *err)
{
	uint64_t version = md->type == VF_TUF_TIMESTAMP ? 0 : md->version;
	struct vf_buf text = VF_BUF_INIT;
	char *name = NULL, *path = NULL;
	int rc;

	if ((rc = vf_tuf_role_filename(role, version, &name, err)))
		goto out;
	path = vf_repo_join(r->mdir, name);
	if (!path) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &text, err)))
		goto out;
	if (ret_h && (rc = vf_tuf_hashes_build(text.data, text.len, false, ret_h, err)))
		goto out;
	if (ret_len)
		*ret_len = text.len;
	rc = b ? batch_add(b, path, &text, err) : write_atomic(path, &text, partial_point, err);
out:
	vf_buf_release(&text);
	free(name);
	free(path);
	return rc;
}

static int fsync_path(const char *path, struct vf_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", path);
	if (fsync(fd) < 0) {
		e = errno;
		close(fd);
		return vf_err_sys(err, e, "cannot fsync '%s'", path);
	}
	close(fd);
	return 0;
}

/*
 * Move every file below `src` to the same relative name below `dst`,
 * creating directories (whose contents are flushed by the caller).
 */
static int move_tree(const char *src, const char *dst, struct vf_err *err)
{
	DIR *d = opendir(src);
	int rc = 0;

	if (!d)
		return vf_err_sys(err, errno, "cannot read '%s'", src);
	if (mkdir(dst, 0755) < 0 && errno != EEXIST) {
		rc = vf_err_sys(err, errno, "cannot create '%s'", dst);
		goto out;
	}
	for (;;) {
		struct dirent *e;
		char *from, *to;

		errno = 0;
		if (!(e = readdir(d))) {
			if (errno)
				rc = vf_err_sys(err, errno, "cannot read '%s'", src);
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		from = vf_repo_join(src, e->d_name);
		to = vf_repo_join(dst, e->d_name);
		if (!from || !to)
			rc = vf_err_set(err, ENOMEM, "out of memory");
		else if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && vf_repo_is_dir(from)))
			rc = move_tree(from, to, err);
		else if (rename(from, to) < 0)
			rc = vf_err_sys(err, errno, "cannot rename '%s' to '%s'", from, to);
		free(from);
		free(to);
		if (rc)
			break;
	}
out:
	closedir(d);
	return rc;
}

/*
 * Move the staged target files to their content-addressed names, durably:
 * contents flushed before the renames, directories after.
 */
static int commit_staged(struct vf_repo *r, struct vf_err *err)
{
	bool each = r->n_staged <= FSYNC_EACH_MAX && !r->n_tree;
	int rc;

	if (mkdir(r->tdir, 0755) < 0 && errno != EEXIST)
		return vf_err_sys(err, errno, "cannot create '%s'", r->tdir);
	if (!r->n_staged && !r->n_tree)
		return 0;
	for (size_t i = 0; each && i < r->n_staged; i++)
		if ((rc = fsync_path(r->staged[i].tmp, err)))
			return rc;
	if (!each && (rc = sync_fs_of(r->dir, err)))
		return rc;
	for (size_t i = 0; i < r->n_staged; i++) {
		struct vf_repo_staged *s = &r->staged[i];
		char *slash = strrchr(s->final, '/');

		bool sub;

		*slash = '\0';
		sub = strcmp(s->final, r->tdir) != 0;
		rc = sub ? vf_fs_mkdir_p(s->final, err) : 0;
		*slash = '/';
		if (rc)
			return rc;
		if (rename(s->tmp, s->final) < 0)
			return vf_err_sys(err, errno, "cannot rename '%s' to '%s'", s->tmp, s->final);
		if (each && sub) {
			*slash = '\0';
			rc = vf_repo_fsync_dir(s->final, err);
			*slash = '/';
			if (rc)
				return rc;
		}
		free(s->tmp);
		s->tmp = NULL;
	}
	if (r->n_tree) {
		char *tree = vf_repo_join(r->sdir, STAGING_TREE);

		if (!tree)
			return vf_err_set(err, ENOMEM, "out of memory");
		rc = move_tree(tree, r->tdir, err);
		if (!rc)
			rc = vf_fs_remove_tree(tree, err);
		free(tree);
		if (rc)
			return rc;
		r->n_tree = 0;
	}
	if (!each && (rc = sync_fs_of(r->tdir, err)))
		return rc;
	return vf_repo_fsync_dir(r->tdir, err);
}

/* Who may sign a top-level role: the root being published. */
static int top_authority(struct vf_repo *r, enum vf_tuf_type t, struct vf_repo_authority *au,
			 struct vf_err *err)
{
	return vf_repo_authority_of(r, vf_tuf_type_name(t), au, err);
}

/*
 * The top-level roles a publish re-signs: those `refresh` names, targets
 * when it changed, those whose keys a new root changes, and the roles that
 * pin them. *ret_any_role: whether delegated roles change (or
 * `roles_changing` says they will).
 */
static unsigned publish_mask(const struct vf_repo *r, unsigned refresh, bool roles_changing,
			     bool *ret_any_role)
{
	unsigned mask = refresh & (VF_REPO_ROLE(VF_TUF_TARGETS) | VF_REPO_ROLE(VF_TUF_SNAPSHOT) |
				   VF_REPO_ROLE(VF_TUF_TIMESTAMP));
	bool any_role = roles_changing;

	for (size_t i = 0; i < r->n_roles; i++)
		any_role |= !r->roles[i].gone &&
			    (r->roles[i].changed || r->roles[i].removed || r->roles[i].unloaded);
	if (r->creating || r->targets_changed)
		mask |= VF_REPO_ROLE(VF_TUF_TARGETS);
	mask |= r->changed_keys;
	if (mask & VF_REPO_ROLE(VF_TUF_TARGETS) || any_role)
		mask |= VF_REPO_ROLE(VF_TUF_SNAPSHOT);
	if (mask & VF_REPO_ROLE(VF_TUF_SNAPSHOT))
		mask |= VF_REPO_ROLE(VF_TUF_TIMESTAMP);
	*ret_any_role = any_role;
	return mask;
}

/* Every role to sign must be signable, every top-level expiry after now. */
static int publish_check(struct vf_repo *r, unsigned mask, struct vf_signer *const *signers,
			 size_t n, const char **ids, struct vf_err *err)
{
	const struct vf_tuf_succinct *bins = vf_repo_bins(r);
	struct vf_buf msg = VF_BUF_INIT;
	bool bin_checked = false, bin_short = false;
	size_t bins_more = 0;
	int rc = 0;

	for (size_t i = 0; i < r->n_roles; i++) {
		struct vf_repo_role *ro = &r->roles[i];
		struct vf_repo_authority au;
		size_t before = msg.len;
		bool bin;

		if (!ro->changed || ro->removed)
			continue;
		/* hash bins share their keys: one is checked (unless signed offline) */
		bin = bins && !ro->presigned && vf_tuf_succinct_has_role(bins, ro->name, NULL);
		if (bin && bin_checked) {
			bins_more += bin_short;
			continue;
		}
		if ((rc = vf_repo_authority_of(r, ro->name, &au, err)))
			goto out;
		ro = &r->roles[i];
		check_threshold(&au, ro->presigned ? ro->md : NULL, signers, n, ids, &msg);
		if (bin) {
			bin_checked = true;
			bin_short = msg.len > before;
		}
	}
	if (bins_more)
		vf_buf_add_fmt(&msg, " (and %zu more hash bins, the same keys)", bins_more);
	for (enum vf_tuf_type t = VF_TUF_TARGETS; t <= VF_TUF_TIMESTAMP; t++) {
		struct vf_repo_authority au;

		if (!(mask & VF_REPO_ROLE(t)))
			continue;
		if ((rc = top_authority(r, t, &au, err)))
			goto out;
		check_threshold(&au, t == VF_TUF_TARGETS && r->targets_presigned ? r->targets : NULL,
				signers, n, ids, &msg);
	}
	if (msg.len) {
		rc = vf_err_set(err, EACCES, "cannot publish: %s", (char *)msg.data);
		goto out;
	}
	for (enum vf_tuf_type t = VF_TUF_TARGETS; t <= VF_TUF_TIMESTAMP; t++) {
		char when[VF_TUF_TIME_LEN + 1];

		if (!(mask & VF_REPO_ROLE(t)))
			continue;
		if (expiry_of(r, t) <= r->opts.now ||
		    vf_tuf_time_format(expiry_of(r, t), when) != 0) {
			rc = vf_err_set(err, EINVAL, "%s: expiry %lld is not after now (%lld) or out "
					"of range", vf_tuf_type_name(t), (long long)expiry_of(r, t),
					(long long)r->opts.now);
			goto out;
		}
	}
out:
	vf_buf_release(&msg);
	return rc;
}

int vf_repo_publish_check(struct vf_repo *r, struct vf_signer *const *signers, size_t n,
			  unsigned refresh, bool roles_changing, struct vf_err *err)
{
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	bool any_role;
	int rc;

	if (!ids)
		return vf_err_set(err, ENOMEM, "out of memory");
	rc = publish_check(r, publish_mask(r, refresh, roles_changing, &any_role), signers, n, ids,
			   err);
	free(ids);
	return rc;
}

int vf_repo_flush_roles(struct vf_repo *r, const size_t *idx, size_t k,
			struct vf_signer *const *signers, size_t n, struct vf_err *err)
{
	int rc;

	for (size_t j = 0; j < k; j++) {
		const struct vf_repo_role *ro = &r->roles[idx[j]];

		assert(ro->md && ro->changed && !ro->removed && !ro->unloaded);
		(void)ro;
	}
	if (mkdir(r->mdir, 0755) < 0 && errno != EEXIST)
		return vf_err_sys(err, errno, "cannot create '%s'", r->mdir);
	if ((rc = sign_roles(r, idx, k, signers, n, err)))
		return rc;
	/* in order: the batch and the snapshot entries are the same whatever the threads */
	for (size_t j = 0; j < k; j++) {
		struct vf_repo_role *ro = &r->roles[idx[j]];
		struct vf_tuf_hashes h;
		char *meta_name = NULL;
		uint64_t len = 0;

		if (asprintf(&meta_name, "%s.json", ro->name) < 0)
			return vf_err_set(err, ENOMEM, "out of memory");
		rc = write_md(r, ro->name, ro->md, NULL, &len, &h, &r->pending, err);
		if (!rc)
			rc = vf_tuf_md_set_meta(r->snapshot, meta_name, ro->md->version,
						(int64_t)len, &h, err);
		free(meta_name);
		if (rc)
			return rc;
		vf_tuf_md_free(ro->md);
		ro->md = NULL;
		ro->unloaded = true;
		ro->changed = ro->presigned = false;
	}
	return 0;
}

int vf_repo_publish(struct vf_repo *r, struct vf_signer *const *signers, size_t n,
		    unsigned refresh, struct vf_err *err)
{
	struct vf_tuf_hashes th, sh;
	uint64_t tlen = 0, slen = 0;
	size_t n_changed;
	const char **ids = NULL;
	bool any_role;
	unsigned mask = publish_mask(r, refresh, false, &any_role);
	int rc;

	if (!mask && !r->new_root && !r->n_staged && !r->n_tree)
		return 0;
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return vf_err_set(err, ENOMEM, "out of memory");

	/* every role must be signable before anything is written */
	if ((rc = publish_check(r, mask, signers, n, ids, err)))
		goto out;

	/* sign the targets-type documents in memory first: nothing written yet */
	{
		size_t *idx = calloc(r->n_roles ? r->n_roles : 1, sizeof(*idx)), k = 0;

		if (!idx) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < r->n_roles; i++)
			if (r->roles[i].changed && !r->roles[i].removed)
				idx[k++] = i;
		rc = sign_roles(r, idx, k, signers, n, err);
		free(idx);
		if (rc)
			goto out;
	}
	if (mask & VF_REPO_ROLE(VF_TUF_TARGETS)) {
		struct vf_repo_authority au;

		if (!r->targets_presigned) {
			r->targets->version++;
			r->targets->expires = expiry_of(r, VF_TUF_TARGETS);
		}
		if ((rc = top_authority(r, VF_TUF_TARGETS, &au, err)) ||
		    (rc = sign_doc(&au, r->targets, r->targets_presigned, signers, n, ids, err)))
			goto out;
	}

	/* target files, then root, then targets-type roles, snapshot, timestamp */
	if ((rc = commit_staged(r, err)))
		goto out;
	vf_repo_crash_point("after-target-files");
	if (mkdir(r->mdir, 0755) < 0 && errno != EEXIST) {
		rc = vf_err_sys(err, errno, "cannot create '%s'", r->mdir);
		goto out;
	}
	if (r->creating || r->new_root) {
		const struct vf_tuf_md *nr = r->new_root ? r->new_root : r->root;
		char *name = NULL, *path;

		if ((rc = vf_tuf_role_filename("root", nr->version, &name, err)))
			goto out;
		path = vf_repo_join(r->mdir, name);
		free(name);
		if (!path) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		rc = vf_tuf_md_save(nr, path, err);
		free(path);
		if (rc)
			goto out;
		vf_repo_crash_point("after-root");
	}
	n_changed = 0;
	for (size_t i = 0; i < r->n_roles; i++)
		n_changed += !r->roles[i].gone && r->roles[i].changed && !r->roles[i].removed;
	for (size_t i = 0; i < r->n_roles; i++) {
		struct vf_repo_role *ro = &r->roles[i];
		char *meta_name = NULL;
		struct vf_tuf_hashes h;
		uint64_t len;

		if (ro->gone || (!ro->changed && !ro->removed))
			continue;
		if (asprintf(&meta_name, "%s.json", ro->name) < 0) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if (ro->removed) {
			/*
			 * A removed role keeps its snapshot entry at its last version:
			 * clients refuse a snapshot that drops a file their trusted
			 * snapshot lists (TUF 5.5.5).
			 */
			rc = 0;
		} else if (!(rc = write_md(r, ro->name, ro->md, NULL, &len, &h,
					   n_changed > FSYNC_EACH_MAX || r->pending.n ?
					   &r->pending : NULL, err))) {
			rc = vf_tuf_md_set_meta(r->snapshot, meta_name, ro->md->version,
						(int64_t)len, &h, err);
		}
		free(meta_name);
		if (rc)
			goto out;
	}
	if ((rc = batch_commit(r, &r->pending, err)))
		goto out;
	if (any_role)
		vf_repo_crash_point("after-delegated");
	if (mask & VF_REPO_ROLE(VF_TUF_TARGETS)) {
		if ((rc = write_md(r, "targets", r->targets, "targets-partial", &tlen, &th, NULL, err)))
			goto out;
		vf_repo_crash_point("after-targets");
		if ((rc = vf_tuf_md_set_meta(r->snapshot, "targets.json", r->targets->version,
					     (int64_t)tlen, &th, err)))
			goto out;
	}
	if (mask & VF_REPO_ROLE(VF_TUF_SNAPSHOT)) {
		struct vf_repo_authority au;

		r->snapshot->version++;
		r->snapshot->expires = expiry_of(r, VF_TUF_SNAPSHOT);
		if ((rc = top_authority(r, VF_TUF_SNAPSHOT, &au, err)) ||
		    (rc = sign_doc(&au, r->snapshot, false, signers, n, ids, err)) ||
		    (rc = write_md(r, "snapshot", r->snapshot, "snapshot-partial", &slen, &sh, NULL,
				   err)))
			goto out;
		vf_repo_crash_point("after-snapshot");
		if ((rc = vf_tuf_md_set_meta(r->timestamp, "snapshot.json", r->snapshot->version,
					     (int64_t)slen, &sh, err)))
			goto out;
	}
	if (mask & VF_REPO_ROLE(VF_TUF_TIMESTAMP)) {
		struct vf_repo_authority au;

		r->timestamp->version++;
		r->timestamp->expires = expiry_of(r, VF_TUF_TIMESTAMP);
		if ((rc = top_authority(r, VF_TUF_TIMESTAMP, &au, err)) ||
		    (rc = sign_doc(&au, r->timestamp, false, signers, n, ids, err)) ||
		    (rc = write_md(r, "timestamp", r->timestamp, "timestamp-partial", NULL, NULL,
				   NULL, err)))
			goto out;
		vf_repo_crash_point("after-timestamp");
	}

	/* the published state is now the current one */
	if (r->new_root) {
		vf_tuf_md_free(r->root);
		r->root = r->new_root;
		r->new_root = NULL;
	}
	for (size_t i = 0; i < r->n_roles; i++)
		r->roles[i].changed = r->roles[i].presigned = false;
	r->targets_presigned = false;
	/* removed roles stay in the array (indices of hash bins must not move) */
	for (size_t i = 0; i < r->n_roles; i++)
		r->roles[i].gone |= r->roles[i].removed;
	/* roles signed ahead (vf_repo_publish_dirs()) are published: load them again if needed */
	vf_repo_roles_compact(r, false, true);
	r->creating = false;
	r->targets_changed = false;
	r->changed_keys = 0;
out:
	vf_repo_batch_release(&r->pending);
	free(ids);
	return rc;
}
