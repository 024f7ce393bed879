/* Module-private helpers of builder/image. */
#ifndef VF_IMAGE_INTERNAL_H
#define VF_IMAGE_INTERNAL_H

#include "builder/base/err.h"

#include <stdint.h>

/**
 * Copy the file `src` into `dst_fd` at byte `offset`, skipping holes, so
 * the destination stays sparse.
 */
int vf_image_copy_sparse(const char *src, int dst_fd, uint64_t offset, struct vf_err *err);

/**
 * Compress `len` bytes of `src` from `offset` (len 0: all of it from there)
 * into `dst` with zstd at a fixed level: one frame per 8 MiB of input (with
 * its content size and checksum), compressed by up to `threads` workers
 * (at most 8); the bytes do not depend on `threads`. The sha256 and size of
 * the compressed file are computed as it is written. Holes of `src` are not
 * read.
 */
int vf_image_zstd(const char *src, uint64_t offset, uint64_t len, const char *dst,
		  unsigned threads, uint8_t sha256[32], uint64_t *ret_size, struct vf_err *err);

/** sha256 and size of a file (its holes hashed as zeros without reading them). */
int vf_image_file_digest(const char *path, uint8_t sha256[32], uint64_t *size,
			 struct vf_err *err);

#endif
