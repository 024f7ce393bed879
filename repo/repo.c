/*
 * repo: a TUF repository on disk. Opening under a lock, staging target
 * files, signing with the keys root authorises, and publishing in the order
 * that keeps every intermediate state acceptable to clients.
 */
#include "repo/repo.h"
#include "repo/repo_internal.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
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

#define COPY_CHUNK ((size_t)1 << 20)
#define MAX_ROOT_VERSION ((uint64_t)1 << 40)

/* ---- test-only crash points ----------------------------------------------------------- */

/* VFORGE_TEST_CRASH_AT=<point>: die here as kill -9 would (docs/repo.md lists the points). */
static void crash_point(const char *point)
{
	const char *want = getenv("VFORGE_TEST_CRASH_AT");

	if (want && strcmp(want, point) == 0)
		raise(SIGKILL);
}

void vf_repo_crash_point(const char *point)
{
	crash_point(point);
}

/* ---- small helpers --------------------------------------------------------------------- */

char *vf_repo_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

int vf_repo_fsync_dir(const char *path, struct vf_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open directory '%s'", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;

		close(fd);
		return vf_err_sys(err, e, "cannot fsync directory '%s'", path);
	}
	close(fd);
	return 0;
}

bool vf_repo_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Parse "<N>.root.json" with N a positive decimal without leading zeros. */
static bool root_file_version(const char *name, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = name;

	if (*p < '1' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > MAX_ROOT_VERSION)
			return false;
		p++;
	}
	if (strcmp(p, ".root.json") != 0)
		return false;
	*ret = v;
	return true;
}

/* A deep copy of a document (through its canonical form). */
static int md_copy(const struct vf_tuf_md *md, struct vf_tuf_md **ret, struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	int r;

	if ((r = vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &text, err)) == 0)
		r = vf_tuf_md_parse(text.data, text.len, md->type, md->flags, ret, err);
	vf_buf_release(&text);
	return r;
}

/* ---- lock ------------------------------------------------------------------------------ */

static int take_lock(struct vf_repo *r, struct vf_err *err)
{
	char *path = vf_repo_join(r->dir, VF_REPO_LOCK_NAME);
	int waited_ms = 0, fd, rc = 0;
	char pid[32];

	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = vf_err_sys(err, errno, "cannot open the lock file '%s'", path);
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = vf_err_sys(err, errno, "cannot lock '%s'", path);
			close(fd);
			goto out;
		}
		if (r->opts.lock_wait_s >= 0 && waited_ms >= r->opts.lock_wait_s * 1000) {
			int64_t n = vf_fs_pread_full(fd, pid, sizeof(pid) - 1, 0);

			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			rc = vf_err_set(err, EBUSY, "repository '%s' is locked by another publisher "
					"(pid %s, lock file '%s'); waited %d s (--lock-wait)",
					r->dir, *pid ? pid : "unknown", path, r->opts.lock_wait_s);
			close(fd);
			goto out;
		}
		usleep(100 * 1000);
		waited_ms += 100;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || vf_fs_pwrite_full(fd, pid, strlen(pid), 0) < 0) {
		rc = vf_err_sys(err, errno, "cannot write the lock file '%s'", path);
		close(fd);
		goto out;
	}
	r->lock_fd = fd;
out:
	free(path);
	return rc;
}

/*
 * Remove what a killed publisher left: the staging directory, metadata temp
 * files. In the same pass over metadata/ (tens of thousands of files with
 * hash bins), *newest (may be NULL) gets the highest N of the <N>.root.json
 * there, 0 if none.
 */
static int clean_leftovers(struct vf_repo *r, uint64_t *newest, struct vf_err *err)
{
	DIR *d;
	struct dirent *e;
	uint64_t v;
	int rc;

	if (newest)
		*newest = 0;
	if ((rc = vf_fs_remove_tree(r->sdir, err)))
		return rc;
	d = opendir(r->mdir);
	if (!d)
		return errno == ENOENT ? 0 : vf_err_sys(err, errno, "cannot read '%s'", r->mdir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp.")) {
			char *p = vf_repo_join(r->mdir, e->d_name);

			if (p)
				unlink(p);
			free(p);
		} else if (newest && root_file_version(e->d_name, &v) && v > *newest) {
			*newest = v;
		}
	}
	closedir(d);
	return 0;
}

/* ---- open / create / close ------------------------------------------------------------- */


static int repo_new(const char *dir, const struct vf_repo_opts *opts, struct vf_repo **ret,
		    struct vf_err *err)
{
	struct vf_repo *r = calloc(1, sizeof(*r));

	if (!r)
		return vf_err_set(err, ENOMEM, "out of memory");
	r->lock_fd = -1;
	r->opts = *opts;
	r->dir = strdup(dir);
	r->mdir = vf_repo_join(dir, "metadata");
	r->tdir = vf_repo_join(dir, "targets");
	r->sdir = vf_repo_join(dir, STAGING_NAME);
	if (!r->dir || !r->mdir || !r->tdir || !r->sdir) {
		vf_repo_close(r);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	*ret = r;
	return 0;
}

void vf_repo_close(struct vf_repo *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_staged; i++) {
		if (r->staged[i].tmp && !r->staged[i].borrowed)
			unlink(r->staged[i].tmp);
		free(r->staged[i].tmp);
		free(r->staged[i].final);
	}
	free(r->staged);
	vf_repo_batch_release(&r->pending);
	if (r->lock_fd >= 0) {
		char *tree = vf_repo_join(r->sdir, STAGING_TREE);

		if (tree)
			vf_fs_remove_tree(tree, NULL);
		free(tree);
		rmdir(r->sdir);
		close(r->lock_fd);
	}
	vf_repo_roles_free(r);
	free(r->selected);
	vf_tuf_md_free(r->root);
	vf_tuf_md_free(r->new_root);
	vf_tuf_md_free(r->targets);
	vf_tuf_md_free(r->snapshot);
	vf_tuf_md_free(r->timestamp);
	free(r->dir);
	free(r->mdir);
	free(r->tdir);
	free(r->sdir);
	free(r);
}

/* Whether a root meets its own root threshold; the error lists what is missing. */
static int check_root_signed(const struct vf_tuf_md *delegator, const struct vf_tuf_md *root,
			     const char *what, struct vf_err *err)
{
	struct vf_tuf_verify_result res = { 0 };
	int rc = vf_tuf_verify(delegator, "root", root, &res, err);

	if (rc)
		vf_err_prefix(err, "%s", what);
	vf_tuf_verify_result_release(&res);
	return rc;
}

int vf_repo_create(const char *dir, const struct vf_tuf_md *root, const struct vf_repo_opts *opts,
		   struct vf_repo **ret, struct vf_err *err)
{
	struct vf_repo *r = NULL;
	int rc;

	*ret = NULL;
	if (root->type != VF_TUF_ROOT)
		return vf_err_set(err, EINVAL, "--root: expected root metadata, got %s",
				  vf_tuf_type_name(root->type));
	if (!root->consistent_snapshot)
		return vf_err_set(err, EINVAL, "root.json: consistent_snapshot is false; vforge "
				  "publishes with consistent snapshots (atomic updates): set it true");
	if (vf_tuf_md_is_expired(root, opts->now)) {
		char t[VF_TUF_TIME_LEN + 1] = "?";

		vf_tuf_time_format(root->expires, t);
		return vf_err_set(err, VF_EVERIFY, "root.json expired at %s (now %lld)", t,
				  (long long)opts->now);
	}
	if ((rc = check_root_signed(root, root, "root.json", err)))
		return rc;
	if ((rc = vf_fs_mkdir_p(dir, err)) || (rc = repo_new(dir, opts, &r, err)))
		return rc;
	if ((rc = take_lock(r, err)))
		goto fail;
	if (vf_repo_is_dir(r->mdir) || vf_repo_is_dir(r->tdir)) {
		rc = vf_err_set(err, EEXIST, "'%s' already holds a repository (metadata/ or "
				"targets/ exists): use vforge repo add-targets or refresh", dir);
		goto fail;
	}
	if ((rc = clean_leftovers(r, NULL, err)))
		goto fail;
	r->creating = true;
	if ((rc = md_copy(root, &r->root, err)))
		goto fail;
	r->targets = vf_tuf_md_new(VF_TUF_TARGETS);
	r->snapshot = vf_tuf_md_new(VF_TUF_SNAPSHOT);
	r->timestamp = vf_tuf_md_new(VF_TUF_TIMESTAMP);
	if (!r->targets || !r->snapshot || !r->timestamp) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	/* version 0 now: publish makes them 1 */
	r->targets->version = r->snapshot->version = r->timestamp->version = 0;
	r->targets_changed = true;
	*ret = r;
	return 0;
fail:
	vf_repo_close(r);
	return rc;
}

/* Load <mdir>/<name>, checking length and hashes against a meta entry. */
int vf_repo_load_pinned(struct vf_repo *r, const char *name, enum vf_tuf_type type,
			const struct vf_tuf_meta *pin, struct vf_tuf_md **ret, struct vf_err *err)
{
	char *path = vf_repo_join(r->mdir, name);
	struct vf_buf text = VF_BUF_INIT;
	int fd = -1, rc;
	uint64_t size;
	int64_t n;

	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = vf_err_sys(err, errno, "cannot open '%s'", path);
		goto out;
	}
	if ((rc = vf_fs_size(fd, &size)) || size > VF_TUF_MAX_FILE) {
		rc = vf_err_set(err, EFBIG, "'%s': size %llu is above the limit of %llu bytes",
				path, (unsigned long long)size, (unsigned long long)VF_TUF_MAX_FILE);
		goto out;
	}
	if ((rc = vf_buf_grow(&text, size + 1))) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	n = vf_fs_pread_full(fd, text.data, size, 0);
	if (n < 0 || (uint64_t)n != size) {
		rc = vf_err_sys(err, n < 0 ? (int)-n : EIO, "cannot read '%s'", path);
		goto out;
	}
	text.len = size;
	if (pin && pin->has_length && pin->length != size) {
		rc = vf_err_set(err, VF_EVERIFY, "'%s': length %llu, %s says %llu", path,
				(unsigned long long)size,
				type == VF_TUF_SNAPSHOT ? "timestamp" : "snapshot",
				(unsigned long long)pin->length);
		goto out;
	}
	if (pin && (pin->hashes.sha256[0] || pin->hashes.sha512[0]) &&
	    (rc = vf_tuf_hashes_verify(&pin->hashes, text.data, text.len, err))) {
		vf_err_prefix(err, "'%s'", path);
		goto out;
	}
	if ((rc = vf_tuf_md_parse(text.data, text.len, type, VF_TUF_PARSE_OPAQUE_KEYIDS, ret,
				  err)))
		vf_err_prefix(err, "'%s'", path);
out:
	if (fd >= 0)
		close(fd);
	vf_buf_release(&text);
	free(path);
	return rc;
}

static int verify_role(const struct vf_tuf_md *root, const char *role,
		       const struct vf_tuf_md *md, const char *file, struct vf_err *err)
{
	struct vf_tuf_verify_result res = { 0 };
	int rc = vf_tuf_verify(root, role, md, &res, err);

	vf_tuf_verify_result_release(&res);
	if (rc)
		vf_err_prefix(err, "metadata/%s does not verify (vforge repo validate shows every "
			      "problem)", file);
	return rc;
}

int vf_repo_open(const char *dir, const struct vf_repo_opts *opts, struct vf_repo **ret,
		 struct vf_err *err)
{
	struct vf_repo *r = NULL;
	const struct vf_tuf_meta *m;
	uint64_t newest = 0;
	char *name = NULL;
	int rc;

	*ret = NULL;
	if ((rc = repo_new(dir, opts, &r, err)))
		return rc;
	if (!vf_repo_is_dir(r->mdir)) {
		rc = vf_err_set(err, ENOENT, "'%s' is not a repository: no metadata/ directory "
				"(vforge repo create makes one)", dir);
		goto out;
	}
	if ((rc = take_lock(r, err)) || (rc = clean_leftovers(r, &newest, err)))
		goto out;
	if (!newest) {
		rc = vf_err_set(err, ENOENT, "'%s': no <N>.root.json", r->mdir);
		goto out;
	}
	if (asprintf(&name, "%llu.root.json", (unsigned long long)newest) < 0) {
		name = NULL;
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vf_repo_load_pinned(r, name, VF_TUF_ROOT, NULL, &r->root, err)))
		goto out;
	if (r->root->version != newest) {
		rc = vf_err_set(err, VF_EVERIFY, "metadata/%s holds version %llu", name,
				(unsigned long long)r->root->version);
		goto out;
	}
	if ((rc = vf_repo_load_pinned(r, "timestamp.json", VF_TUF_TIMESTAMP, NULL, &r->timestamp, err)) ||
	    (rc = verify_role(r->root, "timestamp", r->timestamp, "timestamp.json", err)))
		goto out;
	m = vf_tuf_md_find_meta(r->timestamp, "snapshot.json");
	if (!m) {
		rc = vf_err_set(err, VF_EVERIFY, "metadata/timestamp.json lists no snapshot.json");
		goto out;
	}
	free(name);
	if ((rc = vf_tuf_role_filename("snapshot", m->version, &name, err)) ||
	    (rc = vf_repo_load_pinned(r, name, VF_TUF_SNAPSHOT, m, &r->snapshot, err)) ||
	    (rc = verify_role(r->root, "snapshot", r->snapshot, name, err)))
		goto out;
	m = vf_tuf_md_find_meta(r->snapshot, "targets.json");
	if (!m) {
		rc = vf_err_set(err, VF_EVERIFY, "metadata/%s lists no targets.json", name);
		goto out;
	}
	free(name);
	if ((rc = vf_tuf_role_filename("targets", m->version, &name, err)) ||
	    (rc = vf_repo_load_pinned(r, name, VF_TUF_TARGETS, m, &r->targets, err)) ||
	    (rc = verify_role(r->root, "targets", r->targets, name, err)))
		goto out;
	if (r->targets->version != m->version) {
		rc = vf_err_set(err, VF_EVERIFY, "metadata/%s holds version %llu, snapshot says %llu",
				name, (unsigned long long)r->targets->version,
				(unsigned long long)m->version);
		goto out;
	}
	*ret = r;
	r = NULL;
out:
	free(name);
	vf_repo_close(r);
	return rc;
}

const struct vf_tuf_md *vf_repo_root(const struct vf_repo *r)
{
	return r->new_root ? r->new_root : r->root;
}

const struct vf_tuf_md *vf_repo_targets(const struct vf_repo *r)
{
	return r->targets;
}

const struct vf_tuf_md *vf_repo_snapshot(const struct vf_repo *r)
{
	return r->snapshot;
}

const struct vf_tuf_md *vf_repo_timestamp(const struct vf_repo *r)
{
	return r->timestamp;
}

const char *vf_repo_dir(const struct vf_repo *r)
{
	return r->dir;
}

/* ---- targets --------------------------------------------------------------------------- */

int vf_repo_check_target_name(const char *name, struct vf_err *err)
{
	size_t len = strlen(name);
	const char *seg = name;

	if (len == 0 || len > 4095)
		return vf_err_set(err, EINVAL, "target name '%.80s': length %zu, expected 1 to "
				  "4095 bytes", name, len);
	if (name[0] == '/')
		return vf_err_set(err, EINVAL, "target name '%.200s': must be relative (no "
				  "leading '/')", name);
	for (const char *p = name; ; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);

			if (n == 0 || (n == 1 && seg[0] == '.') ||
			    (n == 2 && seg[0] == '.' && seg[1] == '.'))
				return vf_err_set(err, EINVAL, "target name '%.200s': segment '%.*s' "
						  "is not allowed (no empty, '.' or '..' segments)",
						  name, (int)n, seg);
			if (!*p)
				break;
			seg = p + 1;
			continue;
		}
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return vf_err_set(err, EINVAL, "target name '%.200s': byte 0x%02x at "
					  "offset %zu is not allowed (control character or "
					  "backslash)", name, (unsigned char)*p, (size_t)(p - name));
	}
	{
		/* as a key of the targets map: NFC, no characters above U+FFFF */
		json_t *o = json_object();
		struct vf_buf canon = VF_BUF_INIT;
		int rc;

		if (!o || json_object_set_new(o, name, json_integer(0)) < 0) {
			json_decref(o);
			return vf_err_set(err, EINVAL, "target name '%.200s': not valid UTF-8", name);
		}
		rc = vf_cjson_encode(o, &canon, err);
		json_decref(o);
		vf_buf_release(&canon);
		if (rc)
			return vf_err_prefix(err, "target name '%.200s'", name);
	}
	return 0;
}

/* Find a staged file by its final path. */
static struct vf_repo_staged *find_staged(struct vf_repo *r, const char *final)
{
	for (size_t i = r->n_staged; i-- > 0;)
		if (r->staged[i].tmp && strcmp(r->staged[i].final, final) == 0)
			return &r->staged[i];
	return NULL;
}

/* Open a new file in the staging directory. */
static int stage_open(struct vf_repo *r, char **ret_tmp, int *ret_fd, struct vf_err *err)
{
	char *tmp;
	int fd;

	if (mkdir(r->sdir, 0700) < 0 && errno != EEXIST)
		return vf_err_sys(err, errno, "cannot create '%s'", r->sdir);
	if (asprintf(&tmp, "%s/%llu", r->sdir, (unsigned long long)++r->staged_seq) < 0)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		int e = errno;

		free(tmp);
		return vf_err_sys(err, e, "cannot create '%s'", r->sdir);
	}
	if (fchmod(fd, 0644) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		free(tmp);
		return vf_err_sys(err, e, "cannot set the mode of a file in '%s'", r->sdir);
	}
	*ret_tmp = tmp;
	*ret_fd = fd;
	return 0;
}

/*
 * Move a staged file to <sdir>/t/<rel>, where it waits for the publish under
 * its name in targets/ (the same content staged twice: the same bytes).
 * `tmp` is removed on failure.
 */
static int stage_move(struct vf_repo *r, const char *tmp, const char *rel, struct vf_err *err)
{
	char *dst = NULL, *slash;
	int rc = 0;

	if (asprintf(&dst, "%s/%s/%s", r->sdir, STAGING_TREE, rel) < 0) {
		dst = NULL;
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (rename(tmp, dst) < 0) {
		/* its directory is made on first use */
		if (errno != ENOENT) {
			rc = vf_err_sys(err, errno, "cannot rename '%s' to '%s'", tmp, dst);
			goto out;
		}
		slash = strrchr(dst, '/');
		*slash = '\0';
		rc = vf_fs_mkdir_p(dst, err);
		*slash = '/';
		if (rc)
			goto out;
		if (rename(tmp, dst) < 0) {
			rc = vf_err_sys(err, errno, "cannot rename '%s' to '%s'", tmp, dst);
			goto out;
		}
	}
	r->n_tree++;
out:
	if (rc)
		unlink(tmp);
	free(dst);
	return rc;
}

/*
 * Record a staged file's content as target `name`: a new or changed target
 * changes targets.json; an identical one only restores a missing file.
 */
static int stage_finish(struct vf_repo *r, char *tmp, const char *name, uint64_t len,
			const struct vf_tuf_hashes *h, const void *custom, struct vf_err *err)
{
	const struct vf_tuf_target *old;
	char *rel = NULL, *final = NULL;
	struct vf_tuf_md *doc;
	struct vf_repo_staged *s;
	bool *changed;
	struct stat st;
	bool same;
	int rc;

	if ((rc = vf_repo_doc_for_target(r, name, &doc, &changed, err)))
		goto fail;
	old = vf_tuf_targets_find_target(doc, name);
	same = old && old->length == len && strcmp(old->hashes.sha256, h->sha256) == 0 &&
	       !old->hashes.sha512[0] &&
	       ((!old->custom && !custom) ||
		(old->custom && custom && json_equal(old->custom, (json_t *)custom)));
	if ((rc = vf_tuf_target_filename(name, h->sha256, &rel, err)))
		goto fail;
	final = vf_repo_join(r->tdir, rel);
	if (!final) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (same && lstat(final, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len) {
		unlink(tmp);
		free(tmp);
		free(final);
		free(rel);
		return 0;
	}
	if (!same && (rc = vf_tuf_targets_add_target(doc, name, len, h, custom, err)))
		goto fail;
	if (!same)
		*changed = true;
	if (r->stage_tree) {
		rc = stage_move(r, tmp, rel, err);
		free(tmp);
		free(final);
		free(rel);
		return rc;
	}
	/* the same content staged twice: both renames give the same bytes */
	s = realloc(r->staged, (r->n_staged + 1) * sizeof(*s));
	if (!s) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	r->staged = s;
	r->staged[r->n_staged].tmp = tmp;
	r->staged[r->n_staged].final = final;
	r->staged[r->n_staged].borrowed = false;
	r->n_staged++;
	free(rel);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	free(final);
	free(rel);
	return rc;
}

int vf_repo_add_target_data(struct vf_repo *r, const char *name, const void *data, size_t len,
			    const void *custom, struct vf_err *err)
{
	struct vf_tuf_hashes h;
	char *tmp;
	int fd, rc;

	if ((rc = vf_repo_check_target_name(name, err)))
		return rc;
	if ((rc = vf_tuf_hashes_build(data, len, false, &h, err)))
		return vf_err_prefix(err, "target '%s'", name);
	if ((rc = stage_open(r, &tmp, &fd, err)))
		return rc;
	rc = vf_fs_pwrite_full(fd, data, len, 0);
	close(fd);
	if (rc) {
		unlink(tmp);
		free(tmp);
		return vf_err_sys(err, -rc, "target '%s': cannot write to '%s'", name, r->sdir);
	}
	return stage_finish(r, tmp, name, len, &h, custom, err);
}

int vf_repo_add_target_file(struct vf_repo *r, const char *file, const char *name,
			    const void *custom, struct vf_err *err)
{
	struct vf_digest *d = NULL;
	struct vf_tuf_hashes h;
	uint8_t *buf = NULL, md[32];
	uint64_t total = 0;
	int in = -1, out = -1, rc;
	char *tmp = NULL;
	struct stat st;

	memset(&h, 0, sizeof(h));
	if ((rc = vf_repo_check_target_name(name, err)))
		return rc;
	in = open(file, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return vf_err_sys(err, errno, "target '%s': cannot open '%s'", name, file);
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = vf_err_set(err, EINVAL, "target '%s': '%s' is not a regular file", name, file);
		goto out;
	}
	if ((uint64_t)st.st_size > VF_REPO_MAX_TARGET) {
		rc = vf_err_set(err, EFBIG, "target '%s': '%s' has %llu bytes, above the limit of "
				"%llu", name, file, (unsigned long long)st.st_size,
				(unsigned long long)VF_REPO_MAX_TARGET);
		goto out;
	}
	buf = malloc(COPY_CHUNK);
	d = vf_digest_new(vf_digest_alg_get("sha256"));
	if (!buf || !d) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = stage_open(r, &tmp, &out, err)))
		goto out;
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = vf_err_sys(err, errno, "target '%s': cannot read '%s'", name, file);
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > VF_REPO_MAX_TARGET) {
			rc = vf_err_set(err, EFBIG, "target '%s': '%s' grew above %llu bytes while "
					"being read", name, file,
					(unsigned long long)VF_REPO_MAX_TARGET);
			goto out;
		}
		if (vf_digest_update(d, buf, (size_t)n)) {
			rc = vf_err_set(err, EIO, "sha256 failed");
			goto out;
		}
		if ((rc = vf_fs_pwrite_full(out, buf, (size_t)n, total - (uint64_t)n))) {
			rc = vf_err_sys(err, -rc, "target '%s': cannot write to '%s'", name,
					r->sdir);
			goto out;
		}
	}
	if (vf_digest_final(d, md)) {
		rc = vf_err_set(err, EIO, "sha256 failed");
		goto out;
	}
	vf_hex_format(md, sizeof(md), h.sha256);
	close(out);
	out = -1;
	rc = stage_finish(r, tmp, name, total, &h, custom, err);
	tmp = NULL;
out:
	if (out >= 0)
		close(out);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	close(in);
	vf_digest_free(d);
	free(buf);
	return rc;
}

int vf_repo_remove_target(struct vf_repo *r, const char *name, struct vf_err *err)
{
	struct vf_tuf_md *doc;
	bool *changed;
	int rc;

	if ((rc = vf_repo_doc_for_target(r, name, &doc, &changed, err)))
		return rc;
	rc = vf_tuf_targets_remove_target(doc, name, err);
	if (rc == -ENOENT)
		return vf_err_set(err, ENOENT, "target '%s' is not in %s.json (version %llu)", name,
				  r->selected ? r->selected : doc == r->targets ? "targets" :
				  "its hash bin's", (unsigned long long)doc->version);
	if (rc)
		return rc;
	*changed = true;
	return 0;
}

int vf_repo_read_target(struct vf_repo *r, const char *name, uint64_t max, struct vf_buf *out,
			struct vf_err *err)
{
	const struct vf_tuf_target *t;
	char *rel = NULL, *path = NULL;
	struct vf_repo_staged *s;
	struct vf_tuf_md *doc;
	bool *changed;
	int fd = -1, rc;
	int64_t n;

	if ((rc = vf_repo_doc_for_target(r, name, &doc, &changed, err)))
		return rc;
	t = vf_tuf_targets_find_target(doc, name);
	if (!t)
		return vf_err_set(err, ENOENT, "target '%s' is not in targets.json", name);
	if (t->length > max)
		return vf_err_set(err, EFBIG, "target '%s': %llu bytes, above the limit of %llu",
				  name, (unsigned long long)t->length, (unsigned long long)max);
	if (!t->hashes.sha256[0])
		return vf_err_set(err, EINVAL, "target '%s' has no sha256", name);
	if ((rc = vf_tuf_target_filename(name, t->hashes.sha256, &rel, err)))
		return rc;
	path = vf_repo_join(r->tdir, rel);
	if (!path) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	s = find_staged(r, path);
	if (!s && r->n_tree) {
		char *tp = NULL;

		/* staged by name (vf_repo_publish_dirs()) */
		if (asprintf(&tp, "%s/%s/%s", r->sdir, STAGING_TREE, rel) < 0) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		fd = open(tp, O_RDONLY | O_CLOEXEC);
		free(tp);
	}
	if (fd < 0)
		fd = open(s ? s->tmp : path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = vf_err_sys(err, errno, "target '%s': cannot open '%s'", name, path);
		goto out;
	}
	if (vf_buf_grow(out, t->length + 1)) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	n = vf_fs_pread_full(fd, out->data + out->len, t->length + 1, 0);
	if (n < 0) {
		rc = vf_err_sys(err, (int)-n, "target '%s': cannot read '%s'", name, path);
		goto out;
	}
	if ((uint64_t)n != t->length) {
		rc = vf_err_set(err, VF_EVERIFY, "target '%s': '%s' has %s bytes, targets.json "
				"says %llu", name, path, (uint64_t)n > t->length ? "more" : "fewer",
				(unsigned long long)t->length);
		goto out;
	}
	if ((rc = vf_tuf_hashes_verify(&t->hashes, out->data + out->len, (size_t)n, err))) {
		vf_err_prefix(err, "target '%s' ('%s')", name, path);
		goto out;
	}
	out->len += (size_t)n;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(rel);
	return rc;
}

/* ---- root rotation ----------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether a top-level role's keyids or threshold differ between two roots. */
static bool role_changed(const struct vf_tuf_md *a, const struct vf_tuf_md *b,
			 enum vf_tuf_type t)
{
	const struct vf_tuf_role *ra = &a->roles[t - 1], *rb = &b->roles[t - 1];
	char **sa, **sb;
	bool changed = false;

	if (ra->threshold != rb->threshold || ra->n_keyids != rb->n_keyids)
		return true;
	sa = malloc(ra->n_keyids * sizeof(*sa) + 1);
	sb = malloc(rb->n_keyids * sizeof(*sb) + 1);
	if (!sa || !sb) {
		free(sa);
		free(sb);
		return true;
	}
	memcpy(sa, ra->keyids, ra->n_keyids * sizeof(*sa));
	memcpy(sb, rb->keyids, rb->n_keyids * sizeof(*sb));
	qsort(sa, ra->n_keyids, sizeof(*sa), cmp_str);
	qsort(sb, rb->n_keyids, sizeof(*sb), cmp_str);
	for (size_t i = 0; i < ra->n_keyids && !changed; i++) {
		const struct vf_tuf_key *ka, *kb;

		if (strcmp(sa[i], sb[i]) != 0) {
			changed = true;
			break;
		}
		ka = vf_tuf_keys_find(&a->keys, sa[i]);
		kb = vf_tuf_keys_find(&b->keys, sb[i]);
		changed = !ka || !kb || !json_equal(ka->json, kb->json);
	}
	free(sa);
	free(sb);
	return changed;
}

int vf_repo_set_root(struct vf_repo *r, const struct vf_tuf_md *root, struct vf_err *err)
{
	int rc;

	if (r->new_root)
		return vf_err_set(err, EBUSY, "a new root is already staged for this publish");
	if (root->type != VF_TUF_ROOT)
		return vf_err_set(err, EINVAL, "expected root metadata, got %s",
				  vf_tuf_type_name(root->type));
	if (root->version != r->root->version + 1)
		return vf_err_set(err, EINVAL, "new root has version %llu, expected %llu (the "
				  "repository's root is version %llu)",
				  (unsigned long long)root->version,
				  (unsigned long long)r->root->version + 1,
				  (unsigned long long)r->root->version);
	if (!root->consistent_snapshot)
		return vf_err_set(err, EINVAL, "new root: consistent_snapshot is false");
	if (vf_tuf_md_is_expired(root, r->opts.now))
		return vf_err_set(err, VF_EVERIFY, "new root version %llu is already expired",
				  (unsigned long long)root->version);
	if ((rc = check_root_signed(r->root, root, "new root, by the keys of the current root",
				    err)) ||
	    (rc = check_root_signed(root, root, "new root, by its own keys", err)))
		return rc;
	if ((rc = md_copy(root, &r->new_root, err)))
		return rc;
	for (enum vf_tuf_type t = VF_TUF_TARGETS; t <= VF_TUF_TIMESTAMP; t++)
		if (role_changed(r->root, root, t))
			r->changed_keys |= VF_REPO_ROLE(t);
	return 0;
}

