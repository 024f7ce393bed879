/* Pipeline stage 1 (compose.h): manifest -> hermetic, labelled file tree. */
#include "builder/image/compose.h"

#include "builder/base/buf.h"
#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/tree/store.h"
#include "keys/digest.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)

void vf_compose_result_release(struct vf_compose_result *r)
{
	if (!r)
		return;
	vf_tree_free(r->tree);
	vf_policy_report_release(&r->policy);
	for (size_t i = 0; i < r->n_inputs; i++) {
		free(r->inputs[i].kind);
		free(r->inputs[i].name);
		free(r->inputs[i].path);
	}
	free(r->inputs);
	free(r->base_dir);
	memset(r, 0, sizeof(*r));
}

/*
 * `path` (absolute) relative to the directory `base` (absolute, or NULL: the
 * base name only), e.g. "../packages/dist/init.tar.zst": what build.json
 * records, so that the report does not depend on where the checkout is.
 */
static char *relative_to(const char *base, const char *path)
{
	struct vf_buf out = VF_BUF_INIT;
	size_t common = 0, i = 0;
	const char *rest;
	int r = 0;

	if (!base || path[0] != '/') {
		const char *slash = strrchr(path, '/');

		return strdup(slash ? slash + 1 : path);
	}
	/* the longest common prefix of whole components */
	for (;; i++) {
		bool end_b = base[i] == '\0' || base[i] == '/';
		bool end_p = path[i] == '\0' || path[i] == '/';

		if (end_b && end_p)
			common = i;
		if (base[i] != path[i] || !base[i])
			break;
	}
	if (strcmp(base, "/") == 0)
		common = 0;
	for (const char *b = base + common; *b; b++)
		if (*b == '/' && b[1])
			r |= vf_buf_add_str(&out, "../");
	rest = path + common;
	while (*rest == '/')
		rest++;
	r |= vf_buf_add_str(&out, *rest ? rest : ".");
	r |= vf_buf_add(&out, "", 1);
	if (r) {
		vf_buf_release(&out);
		return NULL;
	}
	return (char *)out.data;
}

static int add_input(struct vf_compose_result *r, const char *kind, const char *name,
		     const char *path, const uint8_t sha256[32], struct vf_err *err)
{
	struct vf_compose_input *in;
	struct vf_compose_input *grown = realloc(r->inputs, (r->n_inputs + 1) * sizeof(*grown));

	if (!grown)
		return vf_err_set(err, ENOMEM, "out of memory");
	r->inputs = grown;
	in = &r->inputs[r->n_inputs];
	in->kind = strdup(kind);
	in->name = strdup(name);
	in->path = relative_to(r->base_dir, path);
	memcpy(in->sha256, sha256, 32);
	if (!in->kind || !in->name || !in->path) {
		free(in->kind);
		free(in->name);
		free(in->path);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	r->n_inputs++;
	return 0;
}

/*
 * Read a host input file named by the manifest: its sha256, and, when
 * `ret_data` is given, its bytes (at most `max` of them).
 */
static int read_input(const char *path, uint64_t max, uint8_t sha256[32], uint8_t **ret_data,
		      size_t *ret_len, struct vf_err *err)
{
	struct vf_digest *d = vf_digest_new(vf_digest_alg_get("sha256"));
	uint8_t *buf = malloc(READ_CHUNK), *data = NULL;
	size_t len = 0;
	struct stat st;
	int fd = -1, r = 0;

	if (!d || !buf) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open '%s'", path);
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = vf_err_set(err, EINVAL, "'%s' is not a regular file", path);
		goto out;
	}
	if (ret_data && (uint64_t)st.st_size > max) {
		r = vf_err_set(err, EFBIG, "'%s' is %lld bytes, over the limit of %llu", path,
			       (long long)st.st_size, (unsigned long long)max);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vf_err_sys(err, errno, "cannot read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		if (vf_digest_update(d, buf, (size_t)n)) {
			r = vf_err_set(err, EIO, "digest computation failed");
			goto out;
		}
		if (ret_data) {
			uint8_t *grown;

			if (len + (size_t)n > max) {
				r = vf_err_set(err, EFBIG, "'%s' grew over the limit of %llu bytes",
					       path, (unsigned long long)max);
				goto out;
			}
			grown = realloc(data, len + (size_t)n + 1);
			if (!grown) {
				r = vf_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			data = grown;
			memcpy(data + len, buf, (size_t)n);
			len += (size_t)n;
		}
	}
	if (vf_digest_final(d, sha256)) {
		r = vf_err_set(err, EIO, "digest computation failed");
		goto out;
	}
	if (ret_data) {
		*ret_data = data;
		*ret_len = len;
		data = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(data);
	free(buf);
	vf_digest_free(d);
	return r;
}

static int import_packages(const struct vf_manifest *m, struct vf_compose_result *res,
			   struct vf_err *err)
{
	for (size_t i = 0; i < m->n_pkgs; i++) {
		const struct vf_manifest_pkg *p = &m->pkgs[i];
		/* the importer checks the pin over exactly the bytes it reads */
		struct vf_tree_import_opts o = {
			.pkg_name = p->name,
			.allow_devices = p->allow_devices,
			.override = p->override,
			.sha256 = p->sha256,
		};
		int r;

		if ((r = add_input(res, "package", p->name, p->file, p->sha256, err)))
			return r;
		/* the importer prefixes its errors with the package name */
		if ((r = vf_tree_import_archive(res->tree, p->file, &o, err)))
			return r;
	}
	return 0;
}

static int add_entry(struct vf_tree *t, struct vf_tree_entry *e, const char *path,
		     const void *content, size_t len, struct vf_err *err)
{
	char *norm = NULL;
	int r;

	if ((r = vf_tree_path_normalize(path, &norm, err)))
		return r;
	e->path = norm;
	e->origin = (char *)"manifest";
	r = vf_tree_add(t, e, content, len, true, err);
	free(norm);
	if (r)
		return vf_err_prefix(err, "manifest entry '%s'", path);
	return 0;
}

/* Directories, files, symlinks and the update trust anchor, on top of the packages. */
static int add_manifest_entries(const struct vf_manifest *m, struct vf_compose_result *res,
				struct vf_err *err)
{
	uint64_t max = m->max_entry_size ? m->max_entry_size : (1ULL << 30);
	int r = 0;

	for (size_t i = 0; i < m->n_dirs && !r; i++) {
		const struct vf_manifest_dir *d = &m->dirs[i];
		struct vf_tree_entry e = { .type = VF_TREE_DIR, .mode = d->mode, .uid = d->uid,
					   .gid = d->gid, .mtime = res->sde };

		r = add_entry(res->tree, &e, d->path, NULL, 0, err);
	}
	for (size_t i = 0; i < m->n_files && !r; i++) {
		const struct vf_manifest_file *f = &m->files[i];
		struct vf_tree_entry e = { .type = VF_TREE_FILE, .mode = f->mode, .uid = f->uid,
					   .gid = f->gid, .mtime = res->sde };
		uint8_t *data = NULL, sum[32];
		size_t len = 0;

		if (f->source) {
			if ((r = read_input(f->source, max, sum, &data, &len, err)))
				return vf_err_prefix(err, "manifest file '%s'", f->path);
			r = add_input(res, "file", f->path, f->source, sum, err);
			if (!r)
				r = add_entry(res->tree, &e, f->path, data, len, err);
			free(data);
		} else {
			if (f->content_len > max)
				return vf_err_set(err, EFBIG,
						  "manifest file '%s': %zu bytes of content, over the "
						  "limit of %llu", f->path, f->content_len,
						  (unsigned long long)max);
			r = add_entry(res->tree, &e, f->path, f->content, f->content_len, err);
		}
	}
	for (size_t i = 0; i < m->n_symlinks && !r; i++) {
		const struct vf_manifest_symlink *s = &m->symlinks[i];
		struct vf_tree_entry e = { .type = VF_TREE_SYMLINK, .mode = 0777, .uid = s->uid,
					   .gid = s->gid, .mtime = res->sde, .link = s->target };

		r = add_entry(res->tree, &e, s->path, NULL, 0, err);
	}
	if (!r && m->update_root) {
		struct vf_tree_entry e = { .type = VF_TREE_FILE, .mode = 0644, .mtime = res->sde };
		uint8_t *data = NULL, sum[32];
		size_t len = 0;

		if ((r = read_input(m->update_root, max, sum, &data, &len, err)))
			return vf_err_prefix(err, "update trust anchor");
		r = add_input(res, "root.json", m->update_root_path, m->update_root, sum, err);
		if (!r)
			r = add_entry(res->tree, &e, m->update_root_path, data, len, err);
		free(data);
	}
	return r;
}

/*
 * Test-only, for `vforge verify-repro`'s own test: VFORGE_TEST_UNREPRODUCIBLE=<path>
 * adds a file at <path> holding the wall-clock time and the process id, with
 * the wall clock as its mtime: a deliberately non-reproducible input. Unset
 * (always, outside that test) it costs one getenv().
 */
static int add_test_stamp(struct vf_tree *t, struct vf_err *err)
{
	const char *path = getenv("VFORGE_TEST_UNREPRODUCIBLE");
	struct vf_tree_entry e = { .type = VF_TREE_FILE, .mode = 0644 };
	struct timespec ts;
	char text[96];
	int len;

	if (!path || !*path)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.mtime = ts.tv_sec;
	len = snprintf(text, sizeof(text), "built at %lld.%09ld by process %ld\n",
		       (long long)ts.tv_sec, ts.tv_nsec, (long)getpid());
	return add_entry(t, &e, path, text, (size_t)len, err);
}

static int apply_removals(const struct vf_manifest *m, struct vf_tree *t, struct vf_err *err)
{
	for (size_t i = 0; i < m->n_remove; i++) {
		size_t n = 0;
		int r = vf_tree_remove_glob(t, m->remove[i], &n, err);

		if (r)
			return vf_err_prefix(err, "remove '%s'", m->remove[i]);
	}
	return 0;
}

static int label_tree(const struct vf_manifest *m, struct vf_tree *t, struct vf_err *err)
{
	struct vf_label_rule *rules = NULL;
	int r;

	if (m->n_contexts) {
		rules = calloc(m->n_contexts, sizeof(*rules));
		if (!rules)
			return vf_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < m->n_contexts; i++) {
		rules[i].regex = m->contexts[i].regex;
		rules[i].type = m->contexts[i].type;
		rules[i].label = m->contexts[i].label;
	}
	r = vf_tree_label(t, rules, m->n_contexts, m->default_label, err);
	free(rules);
	if (r)
		return vf_err_prefix(err, "selinux");
	return 0;
}

int vf_compose(const struct vf_manifest *m, const char *workdir,
	       const struct vf_compose_opts *opts, struct vf_compose_result *ret,
	       struct vf_err *err)
{
	struct vf_compose_result res;
	struct vf_tree_limits limits = {
		.max_entry_size = m->max_entry_size,
		.max_entries = m->max_entries,
	};
	struct vf_policy pol = {
		.defaults = m->default_policy,
		.forbid = (const char *const *)m->forbid,
		.n_forbid = m->n_forbid,
		.allow = (const char *const *)m->allow,
		.n_allow = m->n_allow,
	};
	size_t len = strlen(workdir) + sizeof("/store");
	char *store = malloc(len);
	int r;

	memset(&res, 0, sizeof(res));
	if (!store)
		return vf_err_set(err, ENOMEM, "out of memory");
	snprintf(store, len, "%s/store", workdir);
	if (mkdir(store, 0700) < 0 && errno != EEXIST) {
		r = vf_err_sys(err, errno, "cannot create the content store '%s'", store);
		goto out;
	}
	res.tree = vf_tree_new(&limits, store);
	if (!res.tree) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* inputs are recorded relative to the variant's directory, not the checkout's place */
	if (m->path) {
		char *dir = strdup(m->path), *slash;

		if (!dir) {
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		res.base_dir = realpath(slash ? dir : ".", NULL);
		free(dir);
	}
	/* tens of thousands of small files: one pack file, not one file each */
	if ((r = vf_tree_set_store_pack(res.tree, err)))
		goto out;
	if ((r = import_packages(m, &res, err)))
		goto out;

	/* SOURCE_DATE_EPOCH: a function of the inputs alone */
	if (opts && opts->has_sde) {
		res.sde = opts->sde;
		res.sde_source = VF_SDE_ENV;
	} else if (m->has_source_date_epoch) {
		res.sde = m->source_date_epoch;
		res.sde_source = VF_SDE_MANIFEST;
	} else {
		res.sde = vf_tree_newest_mtime(res.tree);
		res.sde_source = VF_SDE_INPUTS;
	}

	/* `remove` applies to what the packages laid down, not to what the manifest adds */
	if ((r = apply_removals(m, res.tree, err)))
		goto out;
	if ((r = add_manifest_entries(m, &res, err)))
		goto out;
	vf_tree_clamp_mtimes(res.tree, res.sde);
	if ((r = add_test_stamp(res.tree, err)))
		goto out;
	if ((r = label_tree(m, res.tree, err)))
		goto out;
	if ((r = vf_policy_check(res.tree, &pol, &res.policy, err)))
		goto out;
	*ret = res;
	memset(&res, 0, sizeof(res));
out:
	vf_compose_result_release(&res);
	free(store);
	if (r)
		vf_err_prefix(err, "variant '%s'", m->name ? m->name : m->path);
	return r;
}
