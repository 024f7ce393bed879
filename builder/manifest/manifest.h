/**
 * @file manifest.h
 * @brief Variant manifests: load, compose (includes), validate.
 *
 * A variant manifest is a JSON file (or a directory holding `variant.json`).
 * vf_manifest_load() reads it and every fragment it includes, composes them
 * into one JSON document with the merge rules below, validates every field
 * and returns both the composed JSON (for `vforge resolve`) and a typed view.
 *
 * Composition (docs/manifest.md):
 *  - `include` paths are relative to the including file and resolved
 *    depth-first: a file's includes are merged first, in order, then the
 *    file itself on top. A cycle is an error naming the chain.
 *  - objects merge key by key, the later file winning for scalars;
 *  - `packages` merge by `name` (a later entry replaces an earlier one);
 *    `remove_packages` (names) drops packages merged so far;
 *  - `files`, `directories`, `symlinks` merge by `path`, one namespace
 *    across the three (a later symlink may replace an earlier file);
 *  - `kernel.cmdline` appends; a later `key=value` replaces an earlier
 *    parameter with the same key (in place; several values of one key in a
 *    later file replace it as a group); a bare flag is kept once;
 *  - `kernel.package` is replaced as a whole by a later file's (its `path`
 *    resolved against the file that declared it); `kernel.image`,
 *    `kernel.init` and `kernel.modules` are replaced by a later file's;
 *  - `remove`, `policy.forbid`, `policy.allow`, `selinux.file_contexts`
 *    append in order (file_contexts: last match wins, so later rules win);
 *  - any other array is replaced by the later file's.
 * A fragment reached more than once (a diamond: two includes lead to the same
 * file, identified by device and inode) is merged once, where it is first
 * reached; later includes of it are skipped, as with an include guard.
 * Unknown keys, duplicate keys, wrong types and out-of-range values are
 * errors naming the file and the field; every file is validated on its own
 * before it is merged, then the composed result is validated (required
 * fields, layout).
 *
 * Paths to host files (`packages[].path`, `files[].source`, `update.root`,
 * `kernel.package.path`)
 * are resolved against the directory of the manifest that declared them and
 * stored as given plus resolved (`file`). Nothing else on the host is read:
 * the files they name need not exist when the manifest is loaded.
 *
 * Call sequence:
 *
 *     struct vf_manifest *m = NULL;
 *     if ((r = vf_manifest_load("variants/demo", &m, err)))  return r;
 *     ... read m->name, m->pkgs[i].file, m->layout.parts[i] ...
 *     vf_manifest_free(m);
 */
#ifndef VF_MANIFEST_MANIFEST_H
#define VF_MANIFEST_MANIFEST_H

#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest manifest file read (bytes) and deepest include chain. */
#define VF_MANIFEST_MAX_FILE (16u << 20)
#define VF_MANIFEST_MAX_DEPTH 32

/** A sha256-pinned package archive. */
struct vf_manifest_pkg {
	char *name;       /**< unique package name */
	char *path;       /**< as written in the manifest */
	char *file;       /**< resolved host path of the archive */
	uint8_t sha256[32];
	char *origin;     /**< manifest file that declared it (as opened) */
	bool override;    /**< may replace paths other packages provide */
	bool allow_devices; /**< may contain device nodes */
};

/** A regular file added on top of the packages. */
struct vf_manifest_file {
	char *path;       /**< absolute path in the image, e.g. "/etc/motd" */
	char *content;    /**< inline content (NULL when `source` is used) */
	size_t content_len;
	char *source;     /**< resolved host path to copy from, or NULL */
	uint32_t mode;    /**< permission bits incl. setuid/setgid/sticky (default 0644) */
	uint32_t uid, gid;
	char *origin;
};

/** A directory added on top of the packages. */
struct vf_manifest_dir {
	char *path;
	uint32_t mode;    /**< default 0755 */
	uint32_t uid, gid;
	char *origin;
};

/** A symbolic link added on top of the packages. */
struct vf_manifest_symlink {
	char *path;
	char *target;
	uint32_t uid, gid;
	char *origin;
};

/** One SELinux file_contexts rule: `regex` matched against the whole absolute path. */
struct vf_manifest_context {
	char *regex;
	char *type;       /**< NULL (any), or one of "file","dir","symlink","char","block","fifo","socket" */
	char *label;      /**< e.g. "system_u:object_r:os_t:s0" */
};

/** One partition of the layout. */
struct vf_manifest_part {
	char *name;       /**< e.g. "BOOT-A" */
	char *type;       /**< type name ("root", "root-verity", "xbootldr", "linux", ...) or a GUID */
	uint64_t size;    /**< bytes; a multiple of 1 MiB (for `grow`, what the disk leaves) */
	bool grow;        /**< takes the rest of the disk (at most one, last) */
	uint64_t start;   /**< first byte, a multiple of 1 MiB: as given when `has_start`,
			       else right after the previous partition in the list (the
			       first at 1 MiB) */
	bool has_start;   /**< `start` was given explicitly */
};

/**
 * The kernel: a stock distribution kernel package (`kernel.package`), the
 * image in it that boots, the modules its initramfs loads and the program
 * that is the initramfs's /init (docs/manifest.md, docs/build.md).
 */
struct vf_manifest_kernel {
	bool has_package;  /**< `kernel.package` is given: the fields below are set */
	char *path;        /**< package path as written in the manifest */
	char *file;        /**< resolved host path of the package archive */
	uint8_t sha256[32];
	char *origin;      /**< manifest file that declared the package (as opened) */
	char *image;       /**< glob of the kernel image inside the package (default
			        "boot/vmlinuz-*"; relative to the package's root) */
	char **modules;    /**< module names as written ('-' and '_' equivalent), in order */
	size_t n_modules;
	char *init;        /**< in-image path of the initramfs's /init, or NULL */
};

/** Default `kernel.image`. */
#define VF_MANIFEST_KERNEL_IMAGE_DEFAULT "boot/vmlinuz-*"
/** Most modules `kernel.modules` may name, and the longest module name (bytes). */
#define VF_MANIFEST_KERNEL_MODULES_MAX 64
#define VF_MANIFEST_MODULE_NAME_MAX 55

/** The partition plan, validated here, laid out by the image builder. */
struct vf_manifest_layout {
	uint64_t disk_size;      /**< bytes of the OS disk; 0: sum of partitions + GPT */
	char *plan;              /**< "unified" or "split" */
	uint64_t data_size;      /**< bytes of DATA (unified) or of the data disk (split) */
	bool ab;                 /**< A/B banks (default true) */
	uint64_t boot_size, root_size, hash_size, reserved_size, private_size;
	char *type_set;          /**< "dps" (default) or "bottlerocket" */
	bool minimize_root;      /**< size ROOT to the smallest fit plus margin */
	struct vf_manifest_part *parts; /**< the derived partition list, in disk order */
	size_t n_parts;
};

/** A composed, validated variant. Every string is owned by the manifest. */
struct vf_manifest {
	char *path;              /**< the top-level manifest file */
	char **sources;          /**< every manifest file composed, as opened, top-level first */
	size_t n_sources;
	char *name, *version, *arch;
	bool has_source_date_epoch;
	int64_t source_date_epoch;

	struct vf_manifest_pkg *pkgs; size_t n_pkgs;       /**< sorted by name */
	struct vf_manifest_file *files; size_t n_files;    /**< sorted by path */
	struct vf_manifest_dir *dirs; size_t n_dirs;       /**< sorted by path */
	struct vf_manifest_symlink *symlinks; size_t n_symlinks; /**< sorted by path */
	char **remove; size_t n_remove;                    /**< globs, in order */

	char **cmdline; size_t n_cmdline;                  /**< kernel parameters, in order */
	struct vf_manifest_kernel kernel;                  /**< the kernel package (has_package) */

	struct vf_manifest_context *contexts; size_t n_contexts; /**< in order */
	char *default_label;                               /**< label when no rule matches */

	char **forbid; size_t n_forbid;                    /**< extra forbidden globs */
	char **allow; size_t n_allow;                      /**< policy exceptions (globs) */
	bool default_policy;                               /**< apply the built-in forbid list (default true) */

	uint64_t max_entry_size;                           /**< bytes; default 1 GiB */
	uint64_t max_entries;                              /**< default 1,000,000 */

	struct vf_manifest_layout layout;  /**< always filled: the defaults when absent */
	bool has_layout;                   /**< the manifest has a `layout` */

	char *update_root;        /**< resolved host path of the TUF root.json, or NULL */
	char *update_root_path;   /**< where it goes in the tree (default
				       "/usr/share/vforge/root.json"), NULL without update_root */

	void *json;               /**< the composed document (json_t *), owned; host paths in it
				       ("origin", "file") are relative to the top-level
				       manifest's directory, see vf_manifest_format_json() */
};

/**
 * Load `path` (a file, or a directory holding variant.json), compose its
 * includes and validate. On success *ret is a new manifest the caller frees.
 */
int vf_manifest_load(const char *path, struct vf_manifest **ret, struct vf_err *err);

/**
 * Like vf_manifest_load(), from `len` bytes in memory: `name` names the
 * document in errors and as the origin of what it declares, and its includes
 * and host paths are resolved against `base_dir` (which need not exist: then
 * every include fails with an error). Used by the fuzzer and by tests.
 */
int vf_manifest_load_buffer(const char *name, const char *base_dir, const void *data, size_t len,
			    struct vf_manifest **ret, struct vf_err *err);

/** Free a manifest; accepts NULL. */
void vf_manifest_free(struct vf_manifest *m);

/**
 * The composed manifest as canonical, indented JSON text (sorted keys, two
 * spaces, a final newline). Packages, files, directories and symlinks carry
 * "origin" (the manifest that declared them), packages and files with a
 * `source` carry "file" (the resolved host path), `update` carries "file"
 * (the resolved root.json), and so does `kernel.package` ("origin" and
 * "file"). These paths are relative to the directory of
 * the top-level manifest, so the text does not depend on the current
 * directory or on where the tree is checked out. `packages` is sorted by
 * name and `files`, `directories`, `symlinks` by path; `include` and
 * `remove_packages` have been applied and are absent. Caller frees the
 * string. Errors: -ENOMEM.
 */
int vf_manifest_format_json(const struct vf_manifest *m, char **ret, struct vf_err *err);

/** Find a partition of the layout by name; NULL when absent. */
const struct vf_manifest_part *vf_manifest_layout_part(const struct vf_manifest_layout *l,
							const char *name);

#endif
