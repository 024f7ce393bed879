/**
 * @file fs.h
 * @brief File helpers: full reads and writes, and atomic file replacement.
 *
 * Atomic replacement: vf_fs_atomic_open() creates a temporary file next to the
 * destination; the caller writes through `fd`; vf_fs_atomic_commit() fsyncs it,
 * renames it over the destination and fsyncs the directory. On any failure
 * vf_fs_atomic_abort() removes the temporary file, so a failed step leaves no
 * partial output. Typical sequence:
 *
 *     struct vf_fs_atomic a;
 *     vf_fs_atomic_init(&a);
 *     if ((r = vf_fs_atomic_open(&a, path, 0600, err)))  goto out;
 *     ... write to a.fd ...
 *     r = vf_fs_atomic_commit(&a, err);
 *   out:
 *     vf_fs_atomic_release(&a);   // aborts unless committed
 */
#ifndef VF_BASE_FS_H
#define VF_BASE_FS_H

#include "builder/base/buf.h"
#include "builder/base/err.h"

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/** A file being written under a temporary name. */
struct vf_fs_atomic {
	int fd;      /**< open for writing, -1 when not open */
	char *path;  /**< final path (owned) */
	char *tmp;   /**< temporary path (owned), NULL once renamed */
};

/** Initialise to the empty state (safe to release). */
void vf_fs_atomic_init(struct vf_fs_atomic *a);

/**
 * Create "<dir>/.<name>.tmp.XXXXXX" next to `path` with exactly `mode`
 * (independent of the umask). Errors name the path.
 */
int vf_fs_atomic_open(struct vf_fs_atomic *a, const char *path, mode_t mode,
		      struct vf_err *err);

/** fsync, rename over the final path, fsync the directory, close. */
int vf_fs_atomic_commit(struct vf_fs_atomic *a, struct vf_err *err);

/** Close and unlink the temporary file if it was not committed; free. */
void vf_fs_atomic_release(struct vf_fs_atomic *a);

/**
 * Read up to `len` bytes at `off`, retrying on EINTR and short reads.
 * Returns the number of bytes read (less than `len` only at end of file) or
 * a negative errno. Writes no message.
 */
int64_t vf_fs_pread_full(int fd, void *buf, size_t len, uint64_t off);

/**
 * Read a whole regular file of at most `max` bytes into `out`, replacing what
 * it held (out->data[out->len] is '\0'). With `nofollow` a symbolic link is
 * refused. Messages do not repeat the path (callers prefix it): -ENOENT
 * ("cannot open: No such file or directory"), -EINVAL (not a regular file), -EFBIG (over `max`, or
 * grown past it while being read), -ENOMEM, other errnos from open/read.
 */
int vf_fs_read_file(const char *path, uint64_t max, bool nofollow, struct vf_buf *out,
		    struct vf_err *err);

/**
 * mkdir -p: create `path` and every missing directory above it (mode 0755,
 * less the umask); existing ones are fine. The message names the directory
 * that could not be made.
 */
int vf_fs_mkdir_p(const char *path, struct vf_err *err);

/** Write all `len` bytes at `off`. Returns 0 or a negative errno. */
int vf_fs_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/** fsync the directory that holds `path`. */
int vf_fs_fsync_parent(const char *path, struct vf_err *err);

/**
 * Remove a file or a whole directory tree (never following symlinks).
 * A missing path is not an error. Errors name the path that could not go.
 */
int vf_fs_remove_tree(const char *path, struct vf_err *err);

/**
 * Create a private (0700) temporary directory "<base>/<prefix>.XXXXXX", where
 * base is `dir` or, when NULL, $TMPDIR or /tmp. *ret is malloc'd.
 */
int vf_fs_mkdtemp(const char *dir, const char *prefix, char **ret, struct vf_err *err);

/**
 * Size in bytes of an open regular file or block device.
 * Returns 0 or a negative errno; writes no message.
 */
int vf_fs_size(int fd, uint64_t *ret_size);

/**
 * Start writeback of `len` bytes at `off` of `fd` without waiting for it
 * (sync_file_range SYNC_FILE_RANGE_WRITE), so that a later fsync has less
 * left to do. Advisory: durability still needs fsync. Returns 0 or a
 * negative errno; writes no message.
 */
int vf_fs_start_writeback(int fd, uint64_t off, uint64_t len);

#endif
