/**
 * @file ext4.h
 * @brief Reproducible ext4 file systems written with libext2fs.
 *
 * vf_ext4_write() makes a new ext4 file system image file holding a whole
 * `struct vf_tree`, bit for bit the same for the same tree and options on any
 * machine: nothing is read from /etc/mke2fs.conf or the environment, every
 * feature is pinned in code, and every identifier and time comes from the
 * options:
 *  - fs UUID, htree hash seed and every checksum seed from opts;
 *  - every superblock time (mkfs, write, mount, check) and every inode's
 *    atime/ctime/crtime = opts->timestamp; each inode's mtime = the entry's
 *    (already clamped) mtime; `*_extra` nanosecond fields zero; i_generation 0;
 *  - inodes allocated in the tree's sorted path order (root = 2, lost+found =
 *    11, then 12, 13, ... in path order); directory entries in sorted order;
 *    xattrs written in sorted (index, name) order;
 *  - all-zero blocks of file data become holes.
 * Every entry type is written: files, directories (also with tens of
 * thousands of entries), fast and slow symlinks, hardlinks (one inode, link
 * count = names), char/block devices, fifos, sockets.
 *
 * The image file is created (or truncated) at `path` with exactly
 * opts->size bytes, sparse where the file system has no data.
 */
#ifndef VF_EXT4_EXT4_H
#define VF_EXT4_EXT4_H

#include "builder/base/err.h"
#include "builder/tree/tree.h"

#include <stdbool.h>
#include <stdint.h>

/** How to make the file system. */
struct vf_ext4_opts {
	uint64_t size;            /**< bytes; a multiple of block_size */
	uint32_t block_size;      /**< 1024, 2048 or 4096 (default 4096 when 0) */
	uint32_t inode_size;      /**< 128 or 256 (default 256 when 0) */
	uint64_t inodes;          /**< inode count; 0: what the tree needs plus a margin
	                               (with a journal: at least one per 16 KiB); libext2fs
	                               rounds it up to whole inode-table blocks */
	bool journal;             /**< add a journal (DATA); ROOT and BOOT have none */
	uint8_t uuid[16];         /**< file system UUID */
	uint8_t hash_seed[16];    /**< htree hash seed */
	int64_t timestamp;        /**< SOURCE_DATE_EPOCH */
	const char *label;        /**< volume label, at most 16 bytes; NULL for none */
	uint32_t reserved_percent;/**< reserved blocks for root (default 0) */
	bool in_place;            /**< write into the existing file `path` at byte `offset`
	                               (e.g. a partition of a disk image, which must be zero
	                               there and at least offset + size bytes long), not to
	                               a new file: nothing is renamed, nothing removed on
	                               failure */
	uint64_t offset;          /**< with in_place: where the file system starts (a
	                               multiple of block_size) */
	/**
	 * If set, called with the final bytes of every run of data blocks of
	 * files and slow symlinks written (not directories, not metadata), with
	 * the run's byte offset in the file system:
	 * a build hashes ROOT's verity leaves this way while ROOT is written.
	 * Calls come one at a time, from a thread of the writer's; the bytes
	 * are only valid during the call.
	 */
	void (*on_data)(void *ctx, uint64_t offset, const void *data, size_t len);
	void *on_data_ctx;
	/**
	 * Free the tree's packed contents (vf_tree_pack_release) as soon as the
	 * last file using each piece of the pack is written: for a tree whose
	 * contents nothing reads afterwards (a build's ROOT), so that ROOT's
	 * pages take the place of the pack's instead of adding to them.
	 */
	bool release_contents;
};

/**
 * What a tree needs: an upper bound of what vf_ext4_write() uses, and the
 * numbers its "does not fit" check compares.
 */
struct vf_ext4_usage {
	uint64_t blocks;          /**< data + metadata blocks needed (at min_size; includes
	                               the journal, reserved blocks and a slack of a few
	                               blocks per group) */
	uint64_t inodes;          /**< inodes needed (incl. reserved ones) */
	uint64_t min_size;        /**< smallest file system size (bytes) that holds it */
};

/**
 * Estimate what `t` (NULL: an empty file system) needs with these options
 * (size is ignored). Used for --minimize and for the "does not fit" error.
 */
int vf_ext4_estimate(const struct vf_tree *t, const struct vf_ext4_opts *opts,
		     struct vf_ext4_usage *ret, struct vf_err *err);

/**
 * Write a new file system holding `t` (NULL: empty) to `path`. A tree that
 * does not fit is an error saying how many blocks and inodes it needs and how
 * many the file system has. On failure `path` is removed.
 *
 * The image is written to a temporary file next to `path` and renamed over it
 * once complete (with opts->in_place: into `path` itself at opts->offset,
 * not fsynced, the caller makes `path` durable; `path` is left as it is on
 * failure). Errors are prefixed "ext4 image '<path>'" (in place: "ext4 file
 * system at offset N of '<path>'"); one entry's
 * failure names it ("'/usr/bin/su': ..."). Not fitting is -ENOSPC with
 * "tree does not fit: needs N blocks and M inodes; the file system has X
 * blocks and Y inodes (the smallest size that fits is S MiB)".
 */
int vf_ext4_write(const char *path, const struct vf_tree *t, const struct vf_ext4_opts *opts,
		  struct vf_err *err);

/** A summary read back from an image (for `vforge inspect`). */
struct vf_ext4_info {
	uint8_t uuid[16];
	char label[17];
	uint32_t block_size;
	uint64_t blocks, free_blocks;
	uint64_t inodes, free_inodes;
	int64_t mkfs_time, write_time;
	bool journal;
	char features[256];       /**< space-separated feature names */
};

/** Read the superblock of the ext4 file system at byte `offset` of `path`. */
int vf_ext4_read_info(const char *path, uint64_t offset, struct vf_ext4_info *ret,
		      struct vf_err *err);

/**
 * Read the content of one regular file from the ext4 file system at `offset`
 * of `path` (e.g. the kernel command line from BOOT). *ret is malloc'd; at
 * most `max` bytes.
 *
 * `file_path` is relative to the file system's root (a leading '/' is fine);
 * symlinks are followed inside the image. A file larger than `max` is
 * -EFBIG; a missing one -ENOENT; not a regular file -EINVAL.
 */
int vf_ext4_read_file(const char *path, uint64_t offset, const char *file_path, size_t max,
		      uint8_t **ret, size_t *ret_len, struct vf_err *err);

#endif
