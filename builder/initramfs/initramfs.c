/* builder/initramfs: the kernel package to a kernel image and a deterministic initramfs. */
#include "builder/initramfs/initramfs.h"

#include "builder/base/fs.h"
#include "builder/tree/policy.h"
#include "builder/tree/store.h"
#include "builder/tree/tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_DEFAULT "boot/vmlinuz-*"

/* ---- the archive ----------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct vf_cpio_entry *)a)->path,
		      ((const struct vf_cpio_entry *)b)->path);
}

int vf_initramfs_build_cpio(const void *init, size_t init_len,
			    const struct vf_initramfs_module *mods, size_t n_mods, int64_t mtime,
			    struct vf_buf *out, struct vf_err *err)
{
	static const char *const dirs[] = { "dev", "modules", "newroot", "proc", "sys" };
	const size_t n_dirs = sizeof(dirs) / sizeof(dirs[0]);
	struct vf_cpio_entry *e = NULL;
	struct vf_buf order = VF_BUF_INIT;
	char **names = NULL;
	size_t n = 0;
	int r = 0;

	if (n_mods > VF_KMOD_MAX_ORDER)
		return vf_err_set(err, E2BIG, "%zu modules, more than the %d an initramfs holds",
				  n_mods, VF_KMOD_MAX_ORDER);
	e = calloc(n_dirs + n_mods + 2, sizeof(*e));
	names = calloc(n_mods + 1, sizeof(*names));
	if (!e || !names) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_dirs; i++)
		e[n++] = (struct vf_cpio_entry){ .path = dirs[i], .dir = true, .mode = 0755 };
	e[n++] = (struct vf_cpio_entry){ .path = "init", .mode = 0755, .data = init,
					 .len = init_len };
	for (size_t i = 0; i < n_mods; i++) {
		const char *f = mods[i].file;
		size_t len;

		if (!*f || strchr(f, '/') || strchr(f, '\n') || strlen(f) > 255) {
			r = vf_err_set(err, EINVAL, "module file name '%s' is not a plain file name", f);
			goto out;
		}
		len = strlen(f) + sizeof("modules/NN-");
		if (!(names[i] = malloc(len))) {
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		snprintf(names[i], len, "modules/%02zu-%s", i, f);
		if (vf_buf_add_fmt(&order, "%s\n", names[i] + strlen("modules/"))) {
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		e[n++] = (struct vf_cpio_entry){ .path = names[i], .mode = 0644,
						 .data = mods[i].data, .len = mods[i].len };
	}
	e[n++] = (struct vf_cpio_entry){ .path = "modules/order", .mode = 0644,
					 .data = order.data ? order.data : (const void *)"",
					 .len = order.len };
	/* bytewise path order: a directory before what it holds */
	qsort(e, n, sizeof(*e), cmp_entry);
	r = vf_cpio_newc_write(e, n, mtime, out, err);
out:
	for (size_t i = 0; names && i < n_mods; i++)
		free(names[i]);
	free(names);
	free(e);
	vf_buf_release(&order);
	return r;
}

/* ---- the package ------------------------------------------------------------------ */

void vf_initramfs_result_release(struct vf_initramfs_result *r)
{
	if (!r)
		return;
	free(r->kernel);
	free(r->kernel_path);
	free(r->initrd);
	for (size_t i = 0; i < r->n_modules; i++)
		free(r->modules[i]);
	free(r->modules);
	memset(r, 0, sizeof(*r));
}

/* The regular file an entry is, or names (a hardlink); NULL otherwise. */
static const struct vf_tree_entry *regular(const struct vf_tree *t, const struct vf_tree_entry *e)
{
	if (e->type == VF_TREE_FILE)
		return e;
	if (e->type == VF_TREE_HARDLINK && e->link)
		return vf_tree_get(t, e->link);
	return NULL;
}

/* Read a file of the tree into memory (at most `max` bytes). */
static int read_entry(const struct vf_tree *t, const struct vf_tree_entry *e, uint64_t max,
		      uint8_t **ret, size_t *ret_len, struct vf_err *err)
{
	struct vf_tree_content c;
	uint8_t *data;
	int64_t got;
	int r;

	if (e->size > max)
		return vf_err_set(err, EFBIG, "'%s' is %llu bytes, more than the %llu allowed",
				  e->path, (unsigned long long)e->size, (unsigned long long)max);
	if ((r = vf_tree_content_open(t, e, &c, err)))
		return r;
	data = malloc(e->size ? (size_t)e->size : 1);
	got = data ? vf_fs_pread_full(c.fd, data, (size_t)e->size, c.offset) : -ENOMEM;
	vf_tree_content_close(&c);
	if (got < 0 || (uint64_t)got != e->size) {
		free(data);
		return got == -ENOMEM ? vf_err_set(err, ENOMEM, "out of memory") :
					vf_err_set(err, EIO, "cannot read '%s' of the package", e->path);
	}
	*ret = data;
	*ret_len = (size_t)e->size;
	return 0;
}

/* Where modules live: [usr/]lib/modules/<version>/... */
static bool in_modules_dir(const char *path)
{
	const char *p = path;

	if (strncmp(p, "usr/", 4) == 0)
		p += 4;
	if (strncmp(p, "lib/modules/", 12) != 0)
		return false;
	p += 12;
	p = strchr(p, '/');
	return p && p[1];
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

struct pkg {
	const struct vf_initramfs_opts *o;
	struct vf_tree *tree;
	struct vf_kmod_set set;
};

static int load_deps(void *ctx, struct vf_kmod_set *set, struct vf_kmod *k, struct vf_err *err)
{
	struct pkg *p = ctx;
	const struct vf_tree_entry *e = k->priv;
	struct vf_modinfo mi = { 0 };
	char want[VF_KMOD_NAME_MAX + 1], got[VF_KMOD_NAME_MAX + 1];
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	(void)set;
	if (!ends_with(k->file, ".ko"))
		return vf_err_set(err, ENOTSUP, "module file '%s' is compressed: vforge reads only "
				  "uncompressed .ko modules", k->file);
	if ((r = read_entry(p->tree, e, VF_MODINFO_MAX_SIZE, &data, &len, err)))
		return vf_err_prefix(err, "module file '%s'", k->file);
	r = vf_modinfo_parse(data, len, &mi, err);
	free(data);
	if (r)
		return vf_err_prefix(err, "module file '%s'", k->file);
	if (mi.name) {
		vf_kmod_name_normalize(mi.name, got);
		vf_kmod_name_normalize(k->name, want);
		if (strcmp(got, want) != 0) {
			r = vf_err_set(err, EINVAL, "module file '%s': its .modinfo says name=%s",
				       k->file, mi.name);
			vf_modinfo_release(&mi);
			return r;
		}
	}
	k->depends = mi.depends;
	k->n_depends = mi.n_depends;
	mi.depends = NULL;
	mi.n_depends = 0;
	vf_modinfo_release(&mi);
	return 0;
}

/* Every module file of the package into the set; the image's one match into *ret_image. */
static int scan(struct pkg *p, const char *glob, const struct vf_tree_entry **ret_image,
		struct vf_err *err)
{
	const struct vf_tree_entry *image = NULL;
	struct vf_buf matches = VF_BUF_INIT;
	size_t n_matches = 0;
	int r = 0;

	while (*glob == '/')
		glob++;
	for (size_t i = 0; i < vf_tree_count(p->tree) && !r; i++) {
		const struct vf_tree_entry *e = vf_tree_at(p->tree, i);
		const struct vf_tree_entry *f = regular(p->tree, e);

		if (!f)
			continue;
		if (vf_glob_match(glob, e->path)) {
			if (n_matches < 8 &&
			    vf_buf_add_fmt(&matches, "%s'%s'", n_matches ? ", " : "", e->path))
				r = vf_err_set(err, ENOMEM, "out of memory");
			n_matches++;
			image = f;
		}
		if (!in_modules_dir(e->path))
			continue;
		/* compressed ones too: refused by load_deps() only if they are needed */
		if (ends_with(e->path, ".ko") || ends_with(e->path, ".ko.xz") ||
		    ends_with(e->path, ".ko.zst") || ends_with(e->path, ".ko.gz"))
			r = vf_kmod_set_add(&p->set, e->path, NULL, 0, false, f, err);
	}
	if (!r && n_matches != 1)
		r = vf_err_set(err, ENOENT, "kernel.image '%s' matches %zu files of the package%s%s%s "
			       "(expected exactly one)", glob, n_matches, n_matches ? ": " : "",
			       matches.data ? (const char *)matches.data : "",
			       n_matches > 8 ? ", ..." : "");
	if (!r)
		*ret_image = image;
	vf_buf_release(&matches);
	return r;
}

int vf_initramfs_build(const struct vf_initramfs_opts *o, struct vf_initramfs_result *ret,
		       struct vf_err *err)
{
	struct vf_tree_limits lim = { .max_entry_size = o->max_entry_size,
				      .max_entries = o->max_entries };
	struct vf_tree_import_opts io = { .pkg_name = o->pkg_file, .sha256 = o->pkg_sha256 };
	struct vf_initramfs_result res = { 0 };
	struct vf_initramfs_module *mods = NULL;
	uint8_t **datas = NULL;
	struct vf_buf cpio = VF_BUF_INIT;
	const struct vf_tree_entry *image = NULL;
	struct pkg p = { .o = o };
	size_t *order = NULL, n_order = 0;
	bool imported = true;
	int r;

	vf_kmod_set_init(&p.set, o->pkg_file, load_deps, &p);
	if (!o->pkg_sha256) {
		r = vf_err_set(err, EINVAL, "no sha256 pin");
		goto out;
	}
	p.tree = vf_tree_new(&lim, o->store_dir);
	if (!p.tree) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* thousands of modules: one pack file, not one file each */
	if ((r = vf_tree_set_store_pack(p.tree, err)))
		goto out;
	/* its messages start with "package '<pkg_file>': " already */
	if ((r = vf_tree_import_archive(p.tree, o->pkg_file, &io, err))) {
		imported = false;
		goto out;
	}
	if ((r = scan(&p, o->image_glob ? o->image_glob : IMAGE_DEFAULT, &image, err)))
		goto out;
	if ((r = read_entry(p.tree, image, VF_INITRAMFS_MAX_KERNEL, &res.kernel, &res.kernel_len,
			    err)) ||
	    !(res.kernel_path = strdup(image->path))) {
		if (!r)
			r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = vf_kmod_resolve(&p.set, o->modules, o->n_modules, &order, &n_order, err)))
		goto out;
	mods = calloc(n_order + 1, sizeof(*mods));
	datas = calloc(n_order + 1, sizeof(*datas));
	res.modules = calloc(n_order + 1, sizeof(*res.modules));
	if (!mods || !datas || !res.modules) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_order; i++) {
		const struct vf_kmod *k = &p.set.mods[order[i]];
		const char *base = strrchr(k->file, '/');
		size_t len = 0, nl;

		base = base ? base + 1 : k->file;
		if ((r = read_entry(p.tree, k->priv, VF_MODINFO_MAX_SIZE, &datas[i], &len, err)))
			goto out;
		mods[i] = (struct vf_initramfs_module){ base, datas[i], len };
		nl = strlen(base) + 4;
		if (!(res.modules[i] = malloc(nl))) {
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		snprintf(res.modules[i], nl, "%02zu-%s", i, base);
		res.n_modules++;
	}
	if ((r = vf_initramfs_build_cpio(o->init, o->init_len, mods, n_order, o->mtime, &cpio, err)))
		goto out;
	res.initrd = cpio.data;
	res.initrd_len = cpio.len;
	vf_buf_init(&cpio);
	*ret = res;
	memset(&res, 0, sizeof(res));
out:
	if (r && imported)
		vf_err_prefix(err, "kernel package '%s'", o->pkg_file);
	for (size_t i = 0; datas && i < n_order; i++)
		free(datas[i]);
	free(datas);
	free(mods);
	free(order);
	vf_buf_release(&cpio);
	vf_initramfs_result_release(&res);
	vf_kmod_set_release(&p.set);
	vf_tree_free(p.tree);
	return r;
}
