/**
 * @file store.h
 * @brief How a tree keeps its contents (tree.h): the pack mode for builds.
 *
 * By default every distinct content is a file `<store_dir>/<sha256-hex>`.
 * vf_tree_set_store_pack() switches a tree's store to pack mode: from then on
 * contents up to 1 MiB are appended to one unlinked pack file in the store
 * directory (nothing named is left behind), and larger ones still get their
 * own files. A tree of tens of thousands of small files then costs no file
 * creations, renames and unlinks. vf_tree_open_content() of a packed content
 * returns a memfd holding a copy of its bytes (at offset 0, like a file); the
 * caller closes it as usual. Contents are the same bytes either way.
 */
#ifndef VF_TREE_STORE_H
#define VF_TREE_STORE_H

#include "builder/base/err.h"
#include "builder/tree/tree.h"

#include <stdbool.h>
#include <stdint.h>

/**
 * Switch the store of `t` to pack mode (idempotent). Call it between
 * contents, typically right after vf_tree_new(). Errors: -ENOMEM, or the
 * errno of creating the pack file (the message names the store directory).
 */
int vf_tree_set_store_pack(struct vf_tree *t, struct vf_err *err);

/** Where the bytes of one stored content are: `size` bytes of `fd` from `offset`. */
struct vf_tree_content {
	int fd;           /**< read with pread; -1 when closed */
	uint64_t offset;  /**< the content's first byte in fd */
	uint64_t size;    /**< exactly the entry's size */
	bool owned;       /**< fd is the content's own file (closed by vf_tree_content_close) */
};

/**
 * Locate the content of a file entry (or a hardlink's target) for reading
 * without copying it: a packed content is read from the pack file itself, any
 * other one from its own file (as vf_tree_open_content() opens it). Do not
 * read past `size`: in a pack, the next content follows. Errors as
 * vf_tree_open_content(). The tree must outlive the returned handle.
 */
int vf_tree_content_open(const struct vf_tree *t, const struct vf_tree_entry *e,
			 struct vf_tree_content *ret, struct vf_err *err);

/**
 * Give back the memory of a pack-mode tree's packed contents once nothing
 * will read them again (a build, once ROOT is written): the pack file's pages
 * and blocks are freed, so what the build writes next reuses them instead of
 * growing its footprint. Entries and everything but the packed bytes stay;
 * reading or adding a packed content afterwards fails with -ESTALE. Contents
 * with files of their own are untouched. No effect outside pack mode.
 */
void vf_tree_drop_packed(struct vf_tree *t);

/**
 * Where a packed content lies in its tree's pack file: 0 with [*off, *off +
 * *len), or -ENOENT when the entry's content is not packed (a content file of
 * its own, not a file, or not pack mode).
 */
int vf_tree_content_pack_range(const struct vf_tree *t, const struct vf_tree_entry *e,
			       uint64_t *off, uint64_t *len);

/**
 * Free the pack's whole PACK_RELEASE_UNIT-byte units inside [off, off + len)
 * (their pages and blocks): the caller vouches that no content lying there is
 * read again (a build's ROOT writer, behind the last use of each unit).
 * Reading one afterwards gives zeros. No effect outside pack mode. Once
 * nothing is appended any more and the pack is in its file (any packed
 * content was opened), it may run on another thread than the readers' (ext4
 * population releases from its reporting thread).
 */
void vf_tree_pack_release(const struct vf_tree *t, uint64_t off, uint64_t len);

/** The unit vf_tree_pack_release() frees. */
#define PACK_RELEASE_UNIT (1024u * 1024u)

/** Release what vf_tree_content_open() opened. Accepts a closed handle. */
void vf_tree_content_close(struct vf_tree_content *c);

#endif
