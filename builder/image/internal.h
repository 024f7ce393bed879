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
 * Compress `src` into `dst` with zstd: a fixed level and zstd's
 * multi-threaded mode, whose output does not depend on `threads`.
 */
int vf_image_zstd(const char *src, const char *dst, unsigned threads, struct vf_err *err);

/** sha256 and size of a file. */
int vf_image_file_digest(const char *path, uint8_t sha256[32], uint64_t *size,
			 struct vf_err *err);

#endif
