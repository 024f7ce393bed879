/**
 * @file tree_internal.h
 * @brief Declarations shared by tree.c, store.c and import.c (not public).
 *
 * The tree keeps its committed entries in a bytewise-sorted array and every
 * entry, committed or not, in a hash table. Mutations happen inside a
 * transaction: vf_tree_txn_begin(), any number of vf_tree_insert() /
 * vf_tree_set_content() calls, then vf_tree_txn_commit() (sorts the new
 * entries in; cannot fail) or vf_tree_txn_rollback() (the tree is as it was
 * before vf_tree_txn_begin()). Only one transaction is open at a time.
 *
 * The content store writes one content at a time: vf_tree_store_begin(), any
 * number of vf_tree_store_write() / vf_tree_store_write_zeros(), then
 * vf_tree_store_end() (or vf_tree_store_abort()).
 */
#ifndef VF_TREE_TREE_INTERNAL_H
#define VF_TREE_TREE_INTERNAL_H

#include "builder/base/err.h"
#include "builder/tree/tree.h"
#include "keys/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest path or symlink target, in bytes without the NUL (PATH_MAX - 1). */
#define VF_TREE_PATH_MAX 4095
/** Longest path component (ext4's name limit). */
#define VF_TREE_NAME_MAX 255
/** Longest xattr name and value (Linux XATTR_NAME_MAX, XATTR_SIZE_MAX). */
#define VF_TREE_XATTR_NAME_MAX 255
#define VF_TREE_XATTR_SIZE_MAX 65536

/* ---- content store (store.c) ---- */

struct vf_tree_store;

/** A store writing into `dir` (borrowed string is copied). NULL on ENOMEM. */
struct vf_tree_store *vf_tree_store_new(const char *dir, uint64_t max_entry_size,
					uint64_t max_total_size);
/** Free the store (its files stay). Accepts NULL. */
void vf_tree_store_free(struct vf_tree_store *s);

/** Start a new content. Returns 0 or -ENOMEM. */
int vf_tree_store_begin(struct vf_tree_store *s, struct vf_err *err);
/**
 * Append bytes. -EFBIG once the content exceeds the entry size limit, with
 * the message "content is larger than the limit of N bytes".
 */
int vf_tree_store_write(struct vf_tree_store *s, const void *data, size_t len,
			struct vf_err *err);
/** Append `n` zero bytes (a hole: nothing is written to disk for them). */
int vf_tree_store_write_zeros(struct vf_tree_store *s, uint64_t n, struct vf_err *err);
/** Bytes appended so far. */
uint64_t vf_tree_store_size(const struct vf_tree_store *s);
/**
 * Finish: hash, and keep the content under its digest unless it is already
 * stored. -EFBIG when a new content pushes the distinct total over its limit.
 */
int vf_tree_store_end(struct vf_tree_store *s, uint8_t ret_sha256[32], uint64_t *ret_size,
		      struct vf_err *err);
/**
 * How the store feeds a content's digest: `fn(ctx, d, data, len)` must feed
 * `len` bytes of `data` to `d` (vf_sha256_update() or _update2() with a
 * stream of the caller's) and return 0 or a negative errno.
 */
typedef int (*vf_tree_store_hash_fn)(void *ctx, struct vf_sha256 *d, const void *data, size_t len);

/**
 * Feed contents' digests through `fn` from now on (NULL: vf_sha256_update()).
 * An importer pairs them with its pin this way; it unsets it before `ctx` goes.
 */
void vf_tree_store_set_hasher(struct vf_tree_store *s, vf_tree_store_hash_fn fn, void *ctx);

/**
 * Whether an import may pair its contents' digests with its pin (the
 * default, on a CPU with SHA-NI: import.c). Tests turn it off to take the
 * path of other CPUs, where the pin's thread hashes every block itself.
 */
void vf_tree_import_set_pairing(bool allowed);

/** Drop the content being written. Safe when none is. */
void vf_tree_store_abort(struct vf_tree_store *s);
/** Store a whole buffer: begin, write, end. */
int vf_tree_store_put(struct vf_tree_store *s, const void *data, size_t len,
		      uint8_t ret_sha256[32], uint64_t *ret_size, struct vf_err *err);
/** Open a stored content read-only; returns the fd or a negative errno. */
int vf_tree_store_open(const struct vf_tree_store *s, const uint8_t sha256[32],
		       struct vf_err *err);

/* ---- tree core (tree.c) ---- */

/** The tree's content store. */
struct vf_tree_store *vf_tree_store_of(struct vf_tree *t);
/** The tree's limits, with defaults filled in. */
const struct vf_tree_limits *vf_tree_limits_of(const struct vf_tree *t);

/** Open a transaction. Returns 0 or -ENOMEM. */
int vf_tree_txn_begin(struct vf_tree *t, struct vf_err *err);
/** Make the transaction's changes part of the tree. Cannot fail. */
void vf_tree_txn_commit(struct vf_tree *t);
/** Undo every change since vf_tree_txn_begin(). */
void vf_tree_txn_rollback(struct vf_tree *t);

/**
 * Normalise without naming the path in the message (callers prefix it):
 * messages are e.g. "path escapes the root".
 */
int vf_tree_path_normalize_raw(const char *in, char **out, struct vf_err *err);

/**
 * Check that every ancestor of `path` is a directory, creating missing ones
 * (origin `origin`). Errors: "'etc/passwd' is a file (from package 'a'), not a
 * directory", "'lib' is a symlink (from package 'a'), not a directory",
 * "too many entries (limit N)".
 */
int vf_tree_make_parents(struct vf_tree *t, const char *path, const char *origin,
			 struct vf_err *err);

/** Options of vf_tree_insert(). */
struct vf_tree_insert_opts {
	bool replace;     /**< a later entry wins over a different existing one */
	const char *who;  /**< "package 'b'" / "the manifest" to start conflict messages, or NULL */
};

/**
 * Insert a copy of `e` inside a transaction. `e->path` must be normalised,
 * `e->origin` set; for files `size` and `sha256` must be set (the content is
 * stored); for hardlinks `link` is a normalised path of a regular file (or of
 * a hardlink to one, which is resolved). Creates missing parents. Errors are
 * root causes without the path, e.g. "conflicts with package 'a' (content
 * differs)".
 */
int vf_tree_insert(struct vf_tree *t, const struct vf_tree_entry *e,
		   const struct vf_tree_insert_opts *o, struct vf_err *err);

/**
 * Give the regular file at `path` new content (for archives whose hardlink
 * entries carry the data, as cpio does). Only the file's own package may:
 * otherwise "hardlink data would change 'x' of package 'a'".
 */
int vf_tree_set_content(struct vf_tree *t, const char *path, const char *origin,
			const uint8_t sha256[32], uint64_t size, struct vf_err *err);

/** "package 'x'" or "the manifest", into `buf`; returns buf. */
const char *vf_tree_origin_desc(const char *origin, char *buf, size_t size);

/**
 * A path or name made printable for messages: bytes outside printable ASCII,
 * quotes and backslashes become \xNN; longer than `size` is cut with "...".
 * Returns buf.
 */
const char *vf_tree_escape(const char *s, char *buf, size_t size);

/** Buffer size for vf_tree_escape() in messages. */
#define VF_TREE_ESC_MAX 256

/** Name of an entry type: "file", "directory", "symlink", ... */
const char *vf_tree_type_name(enum vf_tree_type type);

/**
 * Sort owned xattrs by name, dropping (and freeing) exact duplicates; -EINVAL
 * with a message if a name appears twice with different values.
 */
int vf_tree_xattrs_sort(struct vf_tree_xattr *x, size_t *n, struct vf_err *err);

#endif
