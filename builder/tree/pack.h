/**
 * @file pack.h
 * @brief Deterministic package archives (`vforge pack`).
 *
 * vf_pack_dir() writes the contents of a host directory as a pax tar
 * compressed with zstd: entries sorted bytewise, numeric owners only (no user
 * or group names), mtimes set (or clamped) to the given epoch, no atime or
 * ctime, xattrs in sorted order, hardlinks preserved. The same directory
 * gives the same bytes on any machine with the same libzstd version, whatever
 * the umask, time zone, locale or directory read order. The output is written atomically.
 */
#ifndef VF_TREE_PACK_H
#define VF_TREE_PACK_H

#include "builder/base/err.h"

#include <stdbool.h>
#include <stdint.h>

struct vf_pack_opts {
	bool set_owner;      /**< force uid/gid below (default: the files' numeric ids) */
	uint32_t uid, gid;
	bool set_mtime;      /**< set every mtime to `mtime` (default: clamp to `mtime` if clamp_mtime) */
	bool clamp_mtime;    /**< clamp mtimes newer than `mtime` */
	int64_t mtime;
	int level;           /**< zstd level; 0: 19 */
};

/**
 * Pack `dir` into `out` (tar.zst) and return the archive's sha256.
 * Errors name the file that could not be read or written.
 */
int vf_pack_dir(const char *dir, const char *out, const struct vf_pack_opts *opts,
		uint8_t ret_sha256[32], struct vf_err *err);

#endif
