/**
 * @file verity.h
 * @brief dm-verity hash trees, byte-compatible with cryptsetup's veritysetup.
 *
 * On-disk format (all integers little-endian): an optional 512-byte superblock
 * at `hash_offset`, then, from the next hash-block boundary, the tree levels
 * top level first. Each digest is H(salt || block) for format 1 and
 * H(block || salt) for format 0 (Chrome OS); format 1 pads every digest to a
 * power of two, format 0 packs them. Unused bytes of a hash block are zero.
 * The root hash is the digest of the single top-level block (or of the only
 * data block when there is just one).
 *
 * Two layers:
 *  - fd-level: vf_verity_tree_build() / vf_verity_tree_verify() hash a data
 *    region and produce or check a tree held in memory; vf_verity_tree_write()
 *    stores superblock and tree into a hash fd. The image builder uses these.
 *  - file-level: vf_verity_format_file() / vf_verity_verify_file() add what
 *    the `vforge verity` command needs: opening, size checks, detecting a
 *    shared data/hash file, and atomic creation of a separate hash file.
 *
 * The library never prints; errors name the file and the expected and actual
 * values. A verification mismatch returns -VF_EVERIFY and fills a
 * `struct vf_verity_failure`.
 */
#ifndef VF_VERITY_VERITY_H
#define VF_VERITY_VERITY_H

#include "builder/base/err.h"
#include "keys/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VF_VERITY_SB_SIZE 512      /**< superblock size in bytes */
#define VF_VERITY_MAX_SALT 256     /**< largest salt in bytes */
#define VF_VERITY_MAX_LEVELS 63    /**< deepest tree */
#define VF_VERITY_MIN_BLOCK 512    /**< smallest block size */
#define VF_VERITY_MAX_BLOCK 65536  /**< largest block size */

/** The parameters of one verity tree, as veritysetup names them. */
struct vf_verity_params {
	char hash_name[32];          /**< "sha256", "sha512" or "sha1" */
	uint32_t hash_type;          /**< 1 normal, 0 Chrome OS */
	uint32_t data_block_size;    /**< bytes, power of two, 512..65536 */
	uint32_t hash_block_size;    /**< bytes, power of two, 512..65536 */
	uint64_t data_blocks;        /**< blocks hashed; 0: whole data file */
	uint64_t hash_offset;        /**< bytes into the hash file */
	uint8_t salt[VF_VERITY_MAX_SALT];
	uint16_t salt_size;          /**< bytes of salt used */
	uint8_t uuid[16];            /**< written into the superblock */
	bool superblock;             /**< write / expect a superblock */
};

/** Where each level lives; derived from the parameters alone. */
struct vf_verity_geometry {
	size_t digest_size;        /**< bytes of one digest */
	size_t digest_stride;      /**< bytes one digest occupies in a hash block */
	uint32_t hashes_per_block; /**< digests per hash block (a power of two) */
	unsigned levels;           /**< 0 when there is a single data block */
	uint64_t level_blocks[VF_VERITY_MAX_LEVELS]; /**< hash blocks per level, 0 = leaves */
	uint64_t level_start[VF_VERITY_MAX_LEVELS];  /**< first hash block of each level */
	uint64_t hash_start_block; /**< hash block of the top level (the kernel's hash_start) */
	uint64_t hash_blocks;      /**< hash blocks in the tree */
	uint64_t hash_end;         /**< byte offset in the hash file where the tree ends */
};

/** What a failed verification found first (top of the tree first). */
enum vf_verity_failure_kind {
	VF_VERITY_FAIL_NONE = 0,
	VF_VERITY_FAIL_ROOT,        /**< the top-level block does not give the root hash */
	VF_VERITY_FAIL_HASH_BLOCK,  /**< a hash block does not match its parent's digest */
	VF_VERITY_FAIL_PADDING,     /**< non-zero bytes where the format wants zeros */
	VF_VERITY_FAIL_TRUNCATED,   /**< the hash file ends before the tree does */
	VF_VERITY_FAIL_DATA_BLOCK,  /**< a data block does not match its digest */
};

/** The first mismatch verification found. */
struct vf_verity_failure {
	enum vf_verity_failure_kind kind;
	uint64_t block;    /**< data block, or hash block index in the hash file */
	unsigned level;    /**< tree level of a hash block (0 = leaves) */
	uint64_t offset;   /**< byte offset in the data or hash file */
};

/** Progress callback: `done` of `total` data blocks hashed. Called from the calling thread. */
typedef void (*vf_verity_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/**
 * Leaf digests computed ahead, while the data is written (a build hashes
 * ROOT's file data as the ext4 writer writes it, on a CPU that would idle):
 * vf_verity_tree_build() takes these blocks' digests from here instead of
 * reading the blocks. The caller vouches that a recorded block's bytes do not
 * change afterwards.
 */
struct vf_verity_leaves;

/** For the data of `p` (salt, format, hash, block size and data_blocks as the build will use). */
int vf_verity_leaves_new(const struct vf_verity_params *p, struct vf_verity_leaves **ret,
			 struct vf_err *err);

/**
 * Record the digests of `n` whole data blocks starting at data block `first`
 * (`data` holds them). -ERANGE for blocks past data_blocks, -EIO if hashing
 * failed. One call at a time.
 */
int vf_verity_leaves_add(struct vf_verity_leaves *l, uint64_t first, const void *data,
			 uint64_t n);

/** How many blocks have a digest recorded. */
uint64_t vf_verity_leaves_count(const struct vf_verity_leaves *l);

void vf_verity_leaves_free(struct vf_verity_leaves *l);

/** How to run; zero-initialised is valid (one thread, no progress). */
struct vf_verity_opts {
	unsigned threads;               /**< worker threads for the leaf level; 0 means 1 */
	uint64_t data_offset;           /**< byte offset of the data in data_fd */
	vf_verity_progress_fn progress; /**< may be NULL */
	void *progress_ctx;
	/** build only: digests of blocks known already (NULL: none); its
	 *  parameters must be the build's (else the build fails) */
	const struct vf_verity_leaves *leaves;
};

/** The result of building a tree. */
struct vf_verity_result {
	uint8_t root[VF_DIGEST_MAX];        /**< the root hash */
	size_t root_size;                   /**< its length in bytes */
	struct vf_verity_geometry geometry; /**< where the tree lives */
};

/** veritysetup's defaults: sha256, format 1, 4096/4096, superblock, empty salt, null UUID. */
void vf_verity_params_init(struct vf_verity_params *p);

/**
 * Check every field that does not depend on the data (hash name, format,
 * block sizes, salt size, hash offset alignment). Errors name the option.
 */
int vf_verity_params_check(const struct vf_verity_params *p, struct vf_err *err);

/**
 * Parse a salt the way veritysetup does: hex digits, or "-" for no salt.
 * Errors: not hex, odd length, more than 256 bytes.
 */
int vf_verity_salt_parse(const char *text, struct vf_verity_params *p, struct vf_err *err);

/** Fill the salt with `size` random bytes. */
int vf_verity_salt_random(struct vf_verity_params *p, uint16_t size, struct vf_err *err);

/** Give the superblock a random version-4 UUID. */
int vf_verity_uuid_random(struct vf_verity_params *p, struct vf_err *err);

/**
 * Compute the geometry. `p->data_blocks` must be set (non-zero). Errors for
 * sizes whose tree would overflow 64-bit offsets.
 */
int vf_verity_geometry_build(const struct vf_verity_params *p,
			     struct vf_verity_geometry *ret, struct vf_err *err);

/** Encode the 512-byte superblock. */
void vf_verity_sb_encode(const struct vf_verity_params *p, uint8_t out[VF_VERITY_SB_SIZE]);

/**
 * Decode and validate a superblock into `ret` (hash_offset and superblock are
 * left to the caller). Errors name the bad field and its value.
 */
int vf_verity_sb_decode(const uint8_t in[VF_VERITY_SB_SIZE], struct vf_verity_params *ret,
			struct vf_err *err);

/**
 * Hash `p->data_blocks` blocks of `data_fd` (from opts->data_offset) and build
 * the whole tree in memory. On success *ret_tree (malloc'd, caller frees) holds
 * geometry.hash_blocks hash blocks, top level first, and `res` the root hash.
 */
int vf_verity_tree_build(int data_fd, const struct vf_verity_params *p,
			 const struct vf_verity_opts *opts, uint8_t **ret_tree,
			 struct vf_verity_result *res, struct vf_err *err);

/**
 * Write the superblock (when p->superblock) at p->hash_offset, zeros up to the
 * tree, and the tree at geometry.hash_start_block into `hash_fd`.
 */
int vf_verity_tree_write(int hash_fd, const struct vf_verity_params *p,
			 const struct vf_verity_geometry *g, const uint8_t *tree,
			 struct vf_err *err);

/**
 * Check the tree stored in `hash_fd` against `root` and the data, top-down as
 * the kernel does: root, each hash block against its parent, the padding, then
 * every data block. Returns 0, -VF_EVERIFY with *ret_fail describing the first
 * mismatch, or another negative errno for I/O failures.
 */
int vf_verity_tree_verify(int data_fd, int hash_fd, const struct vf_verity_params *p,
			  const struct vf_verity_opts *opts, const uint8_t *root, size_t root_size,
			  struct vf_verity_failure *ret_fail, struct vf_err *err);

/**
 * `veritysetup format`: hash `data_path` and write the tree to `hash_path`.
 * `p->data_blocks` 0 means the whole file, which must then be a multiple of
 * the data block size; it is set on return. A separate hash file is created
 * (mode 0600, or the existing file's mode) under a temporary name and renamed
 * only when complete; bytes before hash_offset of an existing file are kept.
 * When data and hash are the same file (or device) the tree is written in
 * place after the data, and an overlapping hash_offset is refused.
 */
int vf_verity_format_file(const char *data_path, const char *hash_path,
			  struct vf_verity_params *p, const struct vf_verity_opts *opts,
			  struct vf_verity_result *res, struct vf_err *err);

/**
 * Read the superblock at `hash_offset` of `hash_path` into `ret` (with
 * superblock and hash_offset set).
 */
int vf_verity_sb_load(const char *hash_path, uint64_t hash_offset,
		      struct vf_verity_params *ret, struct vf_err *err);

/**
 * `veritysetup verify` with fully known parameters (read the superblock first
 * with vf_verity_sb_load()). `p->data_blocks` 0 means the whole data file.
 * Returns 0, -VF_EVERIFY (with *ret_fail and a message naming the block), or
 * another negative errno.
 */
int vf_verity_verify_file(const char *data_path, const char *hash_path,
			  struct vf_verity_params *p, const struct vf_verity_opts *opts,
			  const uint8_t *root, size_t root_size,
			  struct vf_verity_failure *ret_fail, struct vf_err *err);

#endif
