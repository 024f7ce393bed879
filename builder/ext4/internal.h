/**
 * @file internal.h
 * @brief Declarations shared by the files of builder/ext4 (not a public API).
 *
 * The writer works in four stages, each in its own file:
 *
 *   ext4_plan.c      tree -> plan: inode numbers, parents, sorted children,
 *                    link counts, directory sizes (no I/O)
 *   ext4_estimate.c  plan -> blocks and inodes needed; the smallest size
 *   ext4_mkfs.c      options -> an empty file system (superblock pinned,
 *                    tables, reserved inodes, journal) on any io_manager
 *   ext4_populate.c  plan -> inodes, directories, data, xattrs
 *
 * ext4_write.c strings them together (vf_ext4_write, vf_ext4_estimate),
 * ext4_read.c reads images back, ext4_memio.c is an io_manager that keeps
 * written blocks in memory (for sizing a file system without a file) and
 * ext4_util.c holds option checks, error conversion and time encoding.
 *
 * Only this module includes <ext2fs/ext2fs.h>.
 */
#ifndef VF_EXT4_INTERNAL_H
#define VF_EXT4_INTERNAL_H

#include "builder/ext4/ext4.h"

#include <ext2fs/ext2fs.h>

#include <stdbool.h>
#include <stdint.h>

/** "No node" in the plan's index links. */
#define VF_EXT4_NONE UINT32_MAX

/** Inode numbers fixed by the format (and by mke2fs). */
#define VF_EXT4_ROOT_INO 2u
#define VF_EXT4_LPF_INO 11u
#define VF_EXT4_FIRST_INO 12u

/** The feature set every image has (ext4.h; docs/ext4.md explains each). */
#define VF_EXT4_COMPAT (EXT2_FEATURE_COMPAT_EXT_ATTR | EXT2_FEATURE_COMPAT_DIR_INDEX)
#define VF_EXT4_INCOMPAT (EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS | \
			  EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG)
#define VF_EXT4_RO_COMPAT (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | \
			   EXT2_FEATURE_RO_COMPAT_LARGE_FILE | EXT4_FEATURE_RO_COMPAT_HUGE_FILE | \
			   EXT4_FEATURE_RO_COMPAT_DIR_NLINK | EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE | \
			   EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)

/** log2 of the number of groups in a flex group (mke2fs's default 16). */
#define VF_EXT4_LOG_FLEX 4

/** Minimum size of lost+found, as mke2fs makes it (16 KiB, at least 2 blocks). */
#define VF_EXT4_LPF_BYTES 16384u

/** Validated options with the defaults filled in. */
struct vf_ext4_params {
	uint64_t size;            /**< bytes */
	uint32_t block_size;
	uint32_t inode_size;
	uint64_t inodes;          /**< requested inode count, 0: derived */
	bool journal;
	uint8_t uuid[16];
	uint8_t hash_seed[16];
	int64_t timestamp;
	char label[17];
	uint32_t reserved_percent;
	uint64_t offset;          /**< byte offset of the file system on its io channel */
	void (*on_data)(void *ctx, uint64_t offset, const void *data, size_t len);
	void *on_data_ctx;        /**< vf_ext4_opts's */
	bool release_contents;    /**< vf_ext4_opts's */
};

/** Check `opts` (size only when `check_size`) and fill in defaults. */
int vf_ext4_params_init(struct vf_ext4_params *p, const struct vf_ext4_opts *opts,
			bool check_size, struct vf_err *err);

/** One inode-to-be: a tree entry or the synthesised lost+found. */
struct vf_ext4_node {
	const struct vf_tree_entry *e; /**< NULL for a synthesised lost+found */
	const char *name;         /**< last path component; "" for the root */
	uint32_t ino;             /**< inode number (a hardlink: its file's) */
	uint32_t parent;          /**< node index of the parent directory */
	uint32_t first_child;     /**< directories: first child in name order */
	uint32_t last_child;
	uint32_t next;            /**< next sibling in name order */
	uint32_t links;           /**< i_links_count */
	uint32_t dir_blocks;      /**< directories: blocks of entries */
};

/** The tree mapped onto inodes, built once and only read afterwards. */
struct vf_ext4_plan {
	const struct vf_tree *t;
	struct vf_ext4_node *nodes; /**< tree order, then a synthesised lost+found */
	uint32_t n;               /**< nodes */
	uint32_t lpf;             /**< node index of lost+found */
	uint64_t inodes;          /**< highest inode number used (= inodes needed) */
	uint32_t block_size;      /**< dir_blocks are counted for this size */
	uint32_t hash_seed[4];    /**< htree hash seed (as in the superblock) */
};

/** Map the tree (NULL: an empty file system) onto inodes. */
int vf_ext4_plan_build(struct vf_ext4_plan *p, const struct vf_tree *t,
		       const struct vf_ext4_params *prm, struct vf_err *err);

/** How one directory's entries are stored (ext4_dir.c). */
struct vf_ext4_dirlayout {
	bool indexed;             /**< htree: block 0 is the dx root */
	uint32_t n;               /**< children */
	uint32_t *order;          /**< node indices of the children in storage order */
	uint32_t *hash;           /**< indexed: the hash of each order[i] */
	uint32_t n_leaves;        /**< blocks holding entries */
	uint32_t *leaf_start;     /**< n_leaves + 1 positions in order where leaves start */
	uint32_t n_nodes;         /**< interior index blocks (0: one index level) */
	uint64_t blocks;          /**< all blocks (lost+found is padded to 16 KiB) */
};

/** Lay out directory node `dir` of the plan. */
int vf_ext4_dir_layout(const struct vf_ext4_plan *p, uint32_t dir,
		       struct vf_ext4_dirlayout *ret, struct vf_err *err);

/** Free a layout (accepts a zeroed one). */
void vf_ext4_dirlayout_release(struct vf_ext4_dirlayout *l);

/** Where a directory's logical blocks are: pblk(ctx, lblk), 0 when unmapped. */
struct vf_ext4_dir_map {
	blk64_t (*pblk)(void *ctx, uint64_t lblk);
	void *ctx;
};

/**
 * Write every block of directory `dir` as laid out in `l`, through `map`;
 * `buf` is one block of scratch space. The directory's inode must be
 * written already (the checksums read its generation).
 */
int vf_ext4_dir_write(ext2_filsys fs, const struct vf_ext4_plan *p, uint32_t dir,
		      const struct vf_ext4_dirlayout *l, const struct vf_ext4_dir_map *map,
		      uint8_t *buf, struct vf_err *err);

/** Free a plan (accepts a zeroed or half-built one). */
void vf_ext4_plan_release(struct vf_ext4_plan *p);

/** Blocks and whether holes are expected for one file's content. */
struct vf_ext4_filescan {
	uint64_t blocks;          /**< non-zero data blocks */
	uint64_t extents;         /**< extents for them, before any physical split */
};

/**
 * Scan one file's content for all-zero blocks (`exact`), or assume none
 * (an upper bound that reads nothing).
 */
int vf_ext4_scan_file(const struct vf_tree *t, const struct vf_tree_entry *e,
		      uint32_t block_size, bool exact, struct vf_ext4_filescan *ret,
		      struct vf_err *err);

/** Blocks an extent tree with `extents` extents takes outside the inode. */
uint64_t vf_ext4_extent_tree_blocks(uint64_t extents, uint32_t block_size);

/** What the tree needs apart from the file system's own metadata. */
struct vf_ext4_need {
	uint64_t blocks;          /**< data, directory, symlink, xattr, extent blocks */
	uint64_t inodes;          /**< highest inode number */
};

/** Sum what the plan's inodes need (see vf_ext4_scan_file for `exact`). */
int vf_ext4_need_build(const struct vf_ext4_plan *p, const struct vf_ext4_params *prm,
		       bool exact, struct vf_ext4_need *ret, struct vf_err *err);

/** The inode count a file system of `blocks` blocks gets for `need_inodes`. */
uint64_t vf_ext4_default_inodes(const struct vf_ext4_params *prm, uint64_t need_inodes,
				uint64_t blocks);

/** How a new (empty) file system is laid out. */
struct vf_ext4_geom {
	uint64_t blocks;          /**< s_blocks_count */
	uint64_t inodes;          /**< s_inodes_count */
	uint64_t used;            /**< blocks already used: metadata, journal */
	uint64_t slack;           /**< blocks kept for extents split by metadata */
	uint64_t reserved;        /**< s_r_blocks_count */
};

/** Blocks and inodes a tree needing `need` needs in all on `g`. */
uint64_t vf_ext4_total_blocks(const struct vf_ext4_need *need, const struct vf_ext4_geom *g);

/** Whether `need` fits `g`. */
bool vf_ext4_fits(const struct vf_ext4_need *need, const struct vf_ext4_geom *g);

/**
 * Make an empty file system of prm->size bytes with `inodes` inodes (as
 * ext2fs_initialize rounds them) on `name` through `io`: every superblock
 * field pinned, group tables allocated, inodes 1-10 reserved, the journal
 * (if any) made. *ret_geom describes it. A size too small for the format or
 * for the inode count fails with -ENOSPC and `*too_small` set.
 */
int vf_ext4_mkfs(const char *name, io_manager io, const struct vf_ext4_params *prm,
		 uint64_t inodes, ext2_filsys *ret, struct vf_ext4_geom *ret_geom,
		 bool *too_small, struct vf_err *err);

/**
 * Find the smallest whole-MiB size at which the tree fits; *ret_geom and
 * *ret_inodes describe the file system at that size.
 */
int vf_ext4_min_size(const struct vf_ext4_params *prm, const struct vf_ext4_need *need,
		     uint64_t *ret_size, struct vf_ext4_geom *ret_geom, struct vf_err *err);

/**
 * Write every inode of the plan into `fs` (made by vf_ext4_mkfs), reporting
 * file data to prm->on_data when set.
 */
int vf_ext4_populate(ext2_filsys fs, const struct vf_ext4_plan *p,
		     const struct vf_ext4_params *prm, struct vf_err *err);

/**
 * An io_manager over memory: written blocks are kept, the rest reads as
 * zeros. For sizing an empty file system (a handful of blocks get written:
 * the journal's superblock and extent blocks); not for writing a tree.
 */
io_manager vf_ext4_mem_io_manager(void);

/**
 * Set an error from a libext2fs code: the message is "<fmt>: <libext2fs's
 * text>" and the errno is derived from the code (ENOSPC, ENOENT, ...).
 */
int vf_ext4_errcode(struct vf_err *err, errcode_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** The errno (positive) that stands for a libext2fs code. */
int vf_ext4_errno(errcode_t code);

/**
 * Split a time into an ext4 32-bit seconds field and its *_extra word
 * (epoch bits only: nanoseconds are always zero). Valid for
 * -2^31 <= t < 2^34 - 2^31.
 */
void vf_ext4_time_encode(int64_t t, uint32_t *ret_lo, uint32_t *ret_extra);

/** Inclusive range of times an inode can hold. */
#define VF_EXT4_TIME_MIN (-(INT64_C(1) << 31))
#define VF_EXT4_TIME_MAX ((INT64_C(1) << 34) - (INT64_C(1) << 31) - 1)

/** Sort key of an xattr name: libext2fs's name index and the name after the prefix. */
int vf_ext4_xattr_index(const char *name, const char **ret_suffix);

/**
 * Whether a file's extents, up to the four an inode holds, are written into
 * the inode directly (the default) or through libext2fs's extent handle,
 * which gives the same bytes: for tests that compare the two.
 */
void vf_ext4_set_inline_extents(bool on);

/**
 * Whether an inode's xattrs, when they all fit in its body, are written
 * there directly (the default) or set through libext2fs one by one, which
 * gives the same bytes: for tests that compare the two.
 */
void vf_ext4_set_inline_xattrs(bool on);

#endif
