/**
 * @file tree.h
 * @brief The hermetic in-memory file tree a variant's image is built from.
 *
 * A tree maps normalised paths to entries. Paths are relative to the image
 * root, without leading or trailing '/', with no "." or ".." components and
 * no empty components; the root directory itself is "". Iteration is in
 * bytewise-sorted path order, so a parent always precedes its children.
 *
 * File contents are never extracted under their real paths on the host: they
 * go into a content-addressed store (`<store_dir>/<sha256>`) inside the
 * build's own temporary directory, once per distinct content.
 *
 * Typical sequence:
 *
 *     struct vf_tree *t = vf_tree_new(&limits, store_dir);
 *     vf_tree_import_archive(t, pkg_file, "busybox", &import_opts, err);  // per package
 *     vf_tree_add(t, &entry, content, len, err);                           // manifest additions
 *     vf_tree_remove_glob(t, "usr/share/doc/ **", &n, err);
 *     vf_tree_label(t, contexts, n, default_label, err);                   // SELinux xattrs
 *     vf_tree_clamp_mtimes(t, source_date_epoch);
 *     for (i = 0; i < vf_tree_count(t); i++) e = vf_tree_at(t, i);
 *     vf_tree_free(t);
 */
#ifndef VF_TREE_TREE_H
#define VF_TREE_TREE_H

#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Entry types. */
enum vf_tree_type {
	VF_TREE_FILE = 1,
	VF_TREE_DIR,
	VF_TREE_SYMLINK,
	VF_TREE_HARDLINK, /**< another name for the regular file at `link` */
	VF_TREE_CHR,
	VF_TREE_BLK,
	VF_TREE_FIFO,
	VF_TREE_SOCK,
};

/** One extended attribute. */
struct vf_tree_xattr {
	char *name;       /**< e.g. "security.capability" */
	uint8_t *value;
	size_t len;
};

/** One entry. Strings and arrays are owned by the tree. */
struct vf_tree_entry {
	char *path;               /**< normalised, "" for the root */
	enum vf_tree_type type;
	uint32_t mode;            /**< permission bits incl. 07000; never the type bits */
	uint32_t uid, gid;        /**< numeric only: no name lookups, ever */
	int64_t mtime;            /**< seconds; clamped by vf_tree_clamp_mtimes() */
	uint64_t size;            /**< content bytes (files), 0 otherwise */
	uint8_t sha256[32];       /**< content digest (files; all zero otherwise) */
	char *link;               /**< symlink target, or hardlink target path (normalised) */
	/* A hardlink's own mode/uid/gid/mtime are copies of its file's at the time
	 * it was added (the file's entry is authoritative); its size and sha256
	 * are 0 and it has no xattrs of its own. `link` always names a regular
	 * file, never another hardlink. */
	uint32_t rdev_major, rdev_minor;
	struct vf_tree_xattr *xattrs; /**< sorted by name */
	size_t n_xattrs;
	char *origin;             /**< package name, or "manifest" */
};

/** Bounds applied to everything imported (hostile archives). */
struct vf_tree_limits {
	uint64_t max_entry_size;  /**< largest file content; 0: 1 GiB */
	uint64_t max_entries;     /**< most entries in the tree; 0: 1,000,000 */
	uint64_t max_total_size;  /**< sum of distinct contents; 0: 64 GiB */
};

/** How to import one package. */
struct vf_tree_import_opts {
	const char *pkg_name;     /**< names the package in errors and in `origin` */
	bool allow_devices;       /**< accept char/block device nodes */
	bool override;            /**< replace what earlier packages provide instead of conflicting */
	/**
	 * If not NULL, the 32-byte sha256 the archive's bytes must have. It is
	 * computed over the very bytes the import reads (so a file changed
	 * between a separate pin check and the import cannot slip through); on a
	 * mismatch the import fails with -VF_EVERIFY ("sha256 mismatch:
	 * expected ..., got ...") and the tree is left as it was.
	 */
	const uint8_t *sha256;
};

/** A tree (opaque). */
struct vf_tree;

/**
 * A new tree holding only the root directory (mode 0755, uid/gid 0).
 * `store_dir` must exist and be private to this build. NULL on ENOMEM.
 */
struct vf_tree *vf_tree_new(const struct vf_tree_limits *limits, const char *store_dir);

/** Free the tree (the store's files are left to the caller's temp dir). Accepts NULL. */
void vf_tree_free(struct vf_tree *t);

/**
 * Normalise a path from an archive or manifest into `out` (caller frees):
 * strips leading "/" and "./", collapses "//" and ".", refuses ".."
 * components, NUL bytes and paths over PATH_MAX. Returns 0 or -EINVAL with a
 * message naming the path.
 *
 * Details: "", ".", "/" and "./" are the root "". Paths of 4096 bytes or
 * more, and components longer than 255 bytes (ext4's limit), are refused.
 * Other bytes are kept as they are (no charset handling); messages show
 * unprintable bytes as \xNN.
 */
int vf_tree_path_normalize(const char *in, char **out, struct vf_err *err);

/**
 * Add or replace one entry (copied). For files, `content`/`len` is the data
 * (stored and hashed here; e->size and e->sha256 are computed). Missing parent
 * directories are created (0755, root). A different entry at the same path is
 * a conflict naming both origins and the path, unless `replace` is set;
 * identical duplicates are fine. Writing beneath a symlink is refused.
 *
 * Details: e->path is normalised here; e->origin NULL means "manifest".
 * "Identical" compares type, content, mode, owner, link target, device
 * number and xattrs, not mtime; the first origin stays. A directory that was
 * only created as a parent gives way to an explicit one silently. Even with
 * `replace`, a directory that has entries cannot become a non-directory, nor
 * a file with hardlinks a non-file. `mode` must be within 07777; a negative
 * mtime becomes 0; xattrs are copied and sorted (a name twice with different
 * values is an error). The root "" can only be replaced by a directory.
 * Errors ("path 'usr/bin/tool': package 'b' conflicts with package 'a'
 * (content differs)") leave the tree as it was.
 */
int vf_tree_add(struct vf_tree *t, const struct vf_tree_entry *e, const void *content,
		size_t len, bool replace, struct vf_err *err);

/**
 * Import every entry of a package archive (tar, tar.gz/xz/zst/bz2, cpio, rpm,
 * deb) through libarchive. Hostile input is refused with an error naming the
 * package and entry: path escapes, writes through symlinks, hardlinks to
 * paths not in the tree, device nodes unless allowed, oversize entries, too
 * many entries, truncated or corrupt archives. Package scripts never run. For
 * a .deb, only data.tar.* is read.
 *
 * Details: every error starts with "package '<pkg_name>': ". The archive's
 * own root entry ("./") is skipped: the image root is not a package's. Names
 * are the archive's bytes whatever the process locale (pax UTF-8 names come
 * through libarchive, which normalises them to Unicode NFC). Owners are the
 * numeric ids (names ignored; ids above 4294967294 refused), modes keep
 * 07000, negative mtimes become 0, xattrs (pax SCHILY.xattr/LIBARCHIVE.xattr)
 * are kept sorted by name, ACLs and file flags are ignored, sparse files are
 * read with their holes as zeros. A hardlink must name a regular file
 * already in the tree; one that carries data (cpio, pax) gives that file its
 * content, which only the file's own package may. Sockets are refused, fifos
 * kept. Any libarchive warning (a damaged archive it would skip over, a name
 * it cannot convert, a malformed pax record) fails the import. Filters that
 * libarchive would run as an external program are refused.
 */
int vf_tree_import_archive(struct vf_tree *t, const char *archive_path,
			   const struct vf_tree_import_opts *opts, struct vf_err *err);

/**
 * Like vf_tree_import_archive(), from `len` bytes in memory (borrowed).
 *
 * Both imports are all or nothing for the tree: when one fails, the tree is
 * as it was before the call. Contents already written to the store stay
 * there (the store is the build's scratch space), and count toward
 * max_total_size.
 */
int vf_tree_import_memory(struct vf_tree *t, const void *data, size_t len,
			  const struct vf_tree_import_opts *opts, struct vf_err *err);

/**
 * Remove every entry matching a glob (and, for directories, their contents).
 *
 * An absolute glob ("/usr/share/doc/ **", see vf_glob_match() in policy.h)
 * is matched against "/" + path, a relative one against the path. The root
 * itself is never removed. When a regular file goes but hardlinks to it
 * stay, the first remaining one (in path order) becomes the file and the
 * others point to it. *ret_removed counts every entry removed.
 */
int vf_tree_remove_glob(struct vf_tree *t, const char *glob, size_t *ret_removed,
			struct vf_err *err);

/** Number of entries (the root included). */
size_t vf_tree_count(const struct vf_tree *t);

/** Entry `i` in sorted path order. */
const struct vf_tree_entry *vf_tree_at(const struct vf_tree *t, size_t i);

/** Entry by normalised path, or NULL. */
const struct vf_tree_entry *vf_tree_get(const struct vf_tree *t, const char *path);

/**
 * Set (or replace) an xattr of an existing entry (`path` is normalised
 * first); the entry's xattrs stay sorted by name. -ENOENT for a path not in
 * the tree; names of 1..255 bytes, values up to 65536 bytes.
 */
int vf_tree_set_xattr(struct vf_tree *t, const char *path, const char *name,
		      const void *value, size_t len, struct vf_err *err);

/** Clamp every mtime to at most `epoch`. */
void vf_tree_clamp_mtimes(struct vf_tree *t, int64_t epoch);

/** The newest mtime of any entry (for SOURCE_DATE_EPOCH), 0 when none. */
int64_t vf_tree_newest_mtime(const struct vf_tree *t);

/**
 * Open the stored content of a file entry (or a hardlink's target) for
 * reading. Returns an fd the caller closes, or a negative errno.
 */
int vf_tree_open_content(const struct vf_tree *t, const struct vf_tree_entry *e,
			 struct vf_err *err);

#endif
