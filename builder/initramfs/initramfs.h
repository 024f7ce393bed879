/**
 * @file initramfs.h
 * @brief The kernel of a variant: a stock kernel package to BOOT's /vmlinuz
 *        and a deterministic initramfs (/initrd.img).
 *
 * Distribution kernels build dm-verity, virtio and ext4 as modules, so the
 * boot needs an initramfs holding those modules and a small /init that sets
 * up the verity root (docs/build.md). This module builds it from the pinned
 * kernel package alone, never running anything from it:
 *
 *  - modinfo.c: a bounded ELF64 reader for a module's `.modinfo` section
 *    (its `name=` and `depends=` fields), safe on hostile input;
 *  - kmod.c: resolves the requested modules and their dependencies
 *    (transitively) into a load order;
 *  - cpio_newc.c: writes the initramfs, an uncompressed newc cpio, through
 *    libarchive, with every header field fixed so the same inputs give the
 *    same bytes;
 *  - initramfs.c: reads the package (deb, rpm, tar, tar.zst, cpio) through the
 *    tree importer (builder/tree/tree.h), which checks its sha256 pin over
 *    the bytes it reads, and puts it all together.
 *
 * Call sequence (the build pipeline, builder/image/stage_build.c):
 *
 *     struct vf_initramfs_opts o = { .pkg_file = ..., .pkg_sha256 = ..., ... };
 *     struct vf_initramfs_result res = { 0 };
 *     if ((r = vf_initramfs_build(&o, &res, err))) return r;
 *     ... res.kernel / res.kernel_len, res.initrd / res.initrd_len ...
 *     vf_initramfs_result_release(&res);
 *
 * Module names compare with '-' and '_' equivalent, as the kernel does.
 */
#ifndef VF_INITRAMFS_INITRAMFS_H
#define VF_INITRAMFS_INITRAMFS_H

#include "builder/base/buf.h"
#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest module file read, and most `depends=` entries of one module. */
#define VF_MODINFO_MAX_SIZE (UINT64_C(256) << 20)
#define VF_MODINFO_MAX_DEPENDS 256
/** Longest module name (the kernel's MODULE_NAME_LEN less its NUL). */
#define VF_KMOD_NAME_MAX 55
/** Most modules one initramfs holds (their file names carry a 2-digit index). */
#define VF_KMOD_MAX_ORDER 100
/** Deepest dependency chain followed. */
#define VF_KMOD_MAX_DEPTH 64
/** Largest initramfs written, and largest kernel image read. */
#define VF_INITRAMFS_MAX_SIZE (UINT64_C(512) << 20)
#define VF_INITRAMFS_MAX_KERNEL (UINT64_C(256) << 20)

/* ---- modinfo.c ------------------------------------------------------------------ */

/** What a module's `.modinfo` section says about it. */
struct vf_modinfo {
	char *name;        /**< the `name=` value, or NULL when the section has none */
	char **depends;    /**< the `depends=` list, in its order (empty entries dropped) */
	size_t n_depends;
};

/**
 * Parse the `.modinfo` section of the ELF64 relocatable object `data`
 * (`len` bytes, either byte order). Every offset and size is checked against
 * `len` without overflow; refused: a file that is not ELF64 ET_REL, a
 * section header table or string table outside the file, a section name
 * outside its string table or unterminated, no `.modinfo` or two of them, a
 * `.modinfo` that is SHT_NOBITS, outside the file or overlapping the ELF
 * header, the section header table or the section name table, an
 * unterminated last string, `name=` or `depends=` twice, names that are not
 * 1..VF_KMOD_NAME_MAX of [A-Za-z0-9_-], more than VF_MODINFO_MAX_DEPENDS
 * dependencies. Errors are -EINVAL ("no .modinfo section", ...) without the
 * file's name (the caller adds it); -ENOMEM. On success *ret is filled (the
 * caller releases it); on failure it is left zeroed.
 */
int vf_modinfo_parse(const void *data, size_t len, struct vf_modinfo *ret, struct vf_err *err);

/** Free what a vf_modinfo holds and zero it; accepts a zeroed one. */
void vf_modinfo_release(struct vf_modinfo *mi);

/* ---- kmod.c --------------------------------------------------------------------- */

/** Whether `s` is a module name: 1..VF_KMOD_NAME_MAX of [A-Za-z0-9_-]. */
bool vf_kmod_is_name(const char *s);

/** `s` with every '-' as '_' into `out` (VF_KMOD_NAME_MAX + 1 bytes; cut when longer). */
void vf_kmod_name_normalize(const char *s, char out[VF_KMOD_NAME_MAX + 1]);

/** One module of a package. */
struct vf_kmod {
	char *name;        /**< normalised ('_'), from the file name; owned by the set */
	char *file;        /**< the file's path in the package; owned by the set */
	bool known;        /**< `depends` is filled (else the set's `load` fills it) */
	char **depends;    /**< dependencies as written; owned by the set */
	size_t n_depends;
	const void *priv;  /**< the caller's (e.g. the tree entry) */
};

struct vf_kmod_set;

/** Fill k->depends (and set k->known) when the resolver first needs them. */
typedef int (*vf_kmod_load_fn)(void *ctx, struct vf_kmod_set *set, struct vf_kmod *k,
			       struct vf_err *err);

/** The modules of one package, looked up by name. */
struct vf_kmod_set {
	struct vf_kmod *mods;   /**< owned; sorted by name by vf_kmod_resolve() */
	size_t n;
	const char *origin;     /**< names the package in errors (borrowed) */
	vf_kmod_load_fn load;   /**< NULL: every module is `known` */
	void *ctx;
	bool sorted;
};

/** An empty set; `origin` and `load`/`ctx` are borrowed. */
void vf_kmod_set_init(struct vf_kmod_set *s, const char *origin, vf_kmod_load_fn load, void *ctx);

/** Free what the set holds. */
void vf_kmod_set_release(struct vf_kmod_set *s);

/**
 * Add the module whose file is `file` (its name is the file's base name
 * without ".ko", ".ko.xz", ".ko.zst" or ".ko.gz", normalised). `depends` (may be NULL with `known` false) is
 * copied. Errors: -EINVAL for a file name that is not a module name, -ENOMEM.
 */
int vf_kmod_set_add(struct vf_kmod_set *s, const char *file, const char *const *depends,
		    size_t n_depends, bool known, const void *priv, struct vf_err *err);

/**
 * Resolve `want` (module names as written, '-' and '_' equivalent) and their
 * dependencies into a load order: each module after everything it depends
 * on (dependencies visited in the order `depends=` lists them), the requested
 * ones in their order, each module once. *ret_order is a new array of
 * indices into s->mods (caller frees), valid until the set changes.
 * Errors name the module: "module 'x' is not in the kernel package '<origin>'",
 * "module 'a': depends on 'b', which is not in the kernel package '<origin>'",
 * "module 'a': dependency cycle: a -> b -> a", a name two files of the
 * package give, chains deeper than VF_KMOD_MAX_DEPTH, more than
 * VF_KMOD_MAX_ORDER modules in all (-EINVAL, -ELOOP, -E2BIG); and the load
 * function's errors.
 */
int vf_kmod_resolve(struct vf_kmod_set *s, const char *const *want, size_t n_want,
		    size_t **ret_order, size_t *ret_n, struct vf_err *err);

/* ---- cpio_newc.c ---------------------------------------------------------------- */

/** One entry of a cpio archive. */
struct vf_cpio_entry {
	const char *path;  /**< relative, normalised ("init", "modules/order") */
	bool dir;          /**< a directory (no data) rather than a regular file */
	uint32_t mode;     /**< permission bits */
	const void *data;  /**< file content (borrowed) */
	size_t len;
};

/**
 * Append an uncompressed newc ("070701") cpio archive of `entries`, in their
 * order, to `out`, written through libarchive: inode numbers 1, 2, ... in
 * order, nlink 1 (2 for directories), uid and gid 0, dev and rdev 0, every
 * mtime `mtime`, then the "TRAILER!!!" entry; no padding past it. The same
 * entries give the same bytes. Errors: -E2BIG past VF_INITRAMFS_MAX_SIZE,
 * -EINVAL for a path libarchive refuses, -ENOMEM, -EIO.
 */
int vf_cpio_newc_write(const struct vf_cpio_entry *entries, size_t n, int64_t mtime,
		       struct vf_buf *out, struct vf_err *err);

/* ---- initramfs.c ---------------------------------------------------------------- */

/** A module file for the initramfs. */
struct vf_initramfs_module {
	const char *file;  /**< base name in the package, e.g. "dm-verity.ko" */
	const void *data;  /**< borrowed */
	size_t len;
};

/**
 * The initramfs of the contract in docs/build.md, appended to `out`, in
 * bytewise path order: the directories dev/, modules/, newroot/, proc/, sys/
 * (0755), `init` (0755, `init`), `modules/<NN>-<file>` (0644, NN = 00, 01,
 * ... in the given load order) and `modules/order` (0644, one module file name
 * a line, in load order). Errors as vf_cpio_newc_write(); -E2BIG for more than
 * VF_KMOD_MAX_ORDER modules; -EINVAL for a module file name holding '/' or
 * a newline.
 */
int vf_initramfs_build_cpio(const void *init, size_t init_len,
			    const struct vf_initramfs_module *mods, size_t n_mods, int64_t mtime,
			    struct vf_buf *out, struct vf_err *err);

/** What vf_initramfs_build() reads. */
struct vf_initramfs_opts {
	const char *pkg_file;        /**< host path of the kernel package */
	const uint8_t *pkg_sha256;   /**< its pin (32 bytes); required */
	const char *image_glob;      /**< the kernel image in the package; NULL: "boot/vmlinuz-*" */
	const char *const *modules;  /**< module names to load, in order */
	size_t n_modules;
	const void *init;            /**< the initramfs's /init (borrowed) */
	size_t init_len;
	int64_t mtime;               /**< SOURCE_DATE_EPOCH */
	const char *store_dir;       /**< an existing private directory for the package's contents */
	uint64_t max_entry_size;     /**< largest file of the package; 0: 1 GiB */
	uint64_t max_entries;        /**< most entries of the package; 0: 1,000,000 */
};

/** What vf_initramfs_build() returns; everything owned. */
struct vf_initramfs_result {
	uint8_t *kernel;             /**< the kernel image's bytes */
	size_t kernel_len;
	char *kernel_path;           /**< its path in the package */
	uint8_t *initrd;             /**< the initramfs */
	size_t initrd_len;
	char **modules;              /**< module files in the initramfs ("00-dm-mod.ko"), in order */
	size_t n_modules;
};

/**
 * Import the package (checking its pin), take the one file matching the
 * image glob (a leading '/' is ignored; regular files only) and every module
 * under lib/modules/<version>/ or usr/lib/modules/<version>/ (a ".ko" file;
 * a needed ".ko.xz", ".ko.zst" or ".ko.gz" is refused: only uncompressed
 * modules are read), resolve the modules and write the initramfs. Errors
 * start with "kernel package '<pkg_file>': " and name the glob and its
 * matches (none or several), the module, or the pin's expected and actual
 * sha256 (-VF_EVERIFY).
 */
int vf_initramfs_build(const struct vf_initramfs_opts *o, struct vf_initramfs_result *ret,
		       struct vf_err *err);

/** Free a result; accepts a zeroed one. */
void vf_initramfs_result_release(struct vf_initramfs_result *r);

#endif
