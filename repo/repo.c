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

#define STAGING_NAME ".vforge-staging"
/* Below the staging directory: target files by their names in targets/ (stage_tree). */
#define STAGING_TREE "t"
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

int vf_repo_mkdir_p(const char *path, struct vf_err *err)
{
	char *p = strdup(path);
	int r = 0;

	if (!p)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				r = vf_err_sys(err, errno, "cannot create directory '%s'", p);
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return r;
}

static int fsync_dir(const char *path, struct vf_err *err)
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

static bool is_dir(const char *path)
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

/* Remove what a killed publisher left: the staging directory, metadata temp files. */
static int clean_leftovers(struct vf_repo *r, struct vf_err *err)
{
	DIR *d;
	struct dirent *e;
	int rc;

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
		}
	}
	closedir(d);
	return 0;
}

/* ---- open / create / close ------------------------------------------------------------- */

static void batch_release(struct vf_repo_batch *b);

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
	batch_release(&r->pending);
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
	if ((rc = vf_repo_mkdir_p(dir, err)) || (rc = repo_new(dir, opts, &r, err)))
		return rc;
	if ((rc = take_lock(r, err)))
		goto fail;
	if (is_dir(r->mdir) || is_dir(r->tdir)) {
		rc = vf_err_set(err, EEXIST, "'%s' already holds a repository (metadata/ or "
				"targets/ exists): use vforge repo add-targets or refresh", dir);
		goto fail;
	}
	if ((rc = clean_leftovers(r, err)))
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
	uint64_t newest = 0, v;
	char *name = NULL;
	struct dirent *e;
	DIR *d = NULL;
	int rc;

	*ret = NULL;
	if ((rc = repo_new(dir, opts, &r, err)))
		return rc;
	if (!is_dir(r->mdir)) {
		rc = vf_err_set(err, ENOENT, "'%s' is not a repository: no metadata/ directory "
				"(vforge repo create makes one)", dir);
		goto out;
	}
	if ((rc = take_lock(r, err)) || (rc = clean_leftovers(r, err)))
		goto out;
	d = opendir(r->mdir);
	if (!d) {
		rc = vf_err_sys(err, errno, "cannot read '%s'", r->mdir);
		goto out;
	}
	while ((e = readdir(d)))
		if (root_file_version(e->d_name, &v) && v > newest)
			newest = v;
	closedir(d);
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
		rc = vf_repo_mkdir_p(dst, err);
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
static void batch_release(struct vf_repo_batch *b)
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
	return fsync_dir(r->mdir, err);
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
		else if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && is_dir(from)))
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
		rc = sub ? vf_repo_mkdir_p(s->final, err) : 0;
		*slash = '/';
		if (rc)
			return rc;
		if (rename(s->tmp, s->final) < 0)
			return vf_err_sys(err, errno, "cannot rename '%s' to '%s'", s->tmp, s->final);
		if (each && sub) {
			*slash = '\0';
			rc = fsync_dir(s->final, err);
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
	return fsync_dir(r->tdir, err);
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

int vf_repo_flush_role(struct vf_repo *r, size_t i, struct vf_signer *const *signers, size_t n,
		       struct vf_err *err)
{
	struct vf_repo_role *ro = &r->roles[i];
	struct vf_repo_authority au;
	struct vf_tuf_hashes h;
	char *meta_name = NULL;
	const char **ids;
	uint64_t len = 0;
	int rc;

	assert(ro->md && ro->changed && !ro->removed && !ro->unloaded);
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids || asprintf(&meta_name, "%s.json", ro->name) < 0) {
		free(ids);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	if (mkdir(r->mdir, 0755) < 0 && errno != EEXIST) {
		rc = vf_err_sys(err, errno, "cannot create '%s'", r->mdir);
		goto out;
	}
	if (!ro->presigned) {
		ro->md->version++;
		ro->md->expires = expiry_of(r, VF_TUF_TARGETS);
	}
	if ((rc = vf_repo_authority_of(r, ro->name, &au, err)))
		goto out;
	ro = &r->roles[i]; /* the lookup may have loaded roles (the array moves) */
	if ((rc = sign_doc(&au, ro->md, ro->presigned, signers, n, ids, err)) ||
	    (rc = write_md(r, ro->name, ro->md, NULL, &len, &h, &r->pending, err)) ||
	    (rc = vf_tuf_md_set_meta(r->snapshot, meta_name, ro->md->version, (int64_t)len, &h,
				     err)))
		goto out;
	vf_tuf_md_free(ro->md);
	ro->md = NULL;
	ro->unloaded = true;
	ro->changed = ro->presigned = false;
out:
	free(meta_name);
	free(ids);
	return rc;
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
	for (size_t i = 0; i < r->n_roles; i++) {
		struct vf_repo_role *ro = &r->roles[i];
		struct vf_repo_authority au;

		if (!ro->changed || ro->removed)
			continue;
		if (!ro->presigned) {
			ro->md->version++;
			ro->md->expires = expiry_of(r, VF_TUF_TARGETS);
		}
		if ((rc = vf_repo_authority_of(r, ro->name, &au, err)) ||
		    (rc = sign_doc(&au, ro->md, ro->presigned, signers, n, ids, err)))
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
	crash_point("after-target-files");
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
		crash_point("after-root");
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
		crash_point("after-delegated");
	if (mask & VF_REPO_ROLE(VF_TUF_TARGETS)) {
		if ((rc = write_md(r, "targets", r->targets, "targets-partial", &tlen, &th, NULL, err)))
			goto out;
		crash_point("after-targets");
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
		crash_point("after-snapshot");
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
		crash_point("after-timestamp");
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
	batch_release(&r->pending);
	free(ids);
	return rc;
}
