/**
 * @file build.h
 * @brief The image pipeline: a variant manifest to reproducible disk images.
 *
 * vf_build() runs the stages in order, each a function of its inputs alone:
 *   1. compose the hermetic tree (compose.h);
 *   2. split it: /boot becomes the BOOT file system, the rest ROOT;
 *   3. ROOT -> ext4 (libext2fs), then its dm-verity tree into HASH;
 *   4. the kernel command line, with the verity table (dm-mod.create=) naming
 *      ROOT and HASH by PARTUUID = the halves of the root hash;
 *   5. BOOT -> ext4 with the command line file and /vforge-release, and, for a
 *      variant with a kernel package, /vmlinuz and the generated initramfs
 *      /initrd.img (builder/initramfs); PRIVATE and DATA empty ext4;
 *   6. the GPT (libfdisk) and the disk image, sparse;
 *   7. zstd update targets and build.json.
 * Every identifier is derived from the build seed (HMAC-SHA256 with a
 * distinct label each), never random; every time is SOURCE_DATE_EPOCH.
 * Everything is written under a temporary directory inside `outdir` and
 * renamed into place only when the whole build succeeded.
 */
#ifndef VF_IMAGE_BUILD_H
#define VF_IMAGE_BUILD_H

#include "builder/base/err.h"
#include "builder/image/compose.h"
#include "builder/manifest/manifest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VF_BUILD_SEED_MAX 64

/** Progress: stage name and fraction done (0..1). Called from the calling thread. */
typedef void (*vf_build_progress_fn)(void *ctx, const char *stage, double done);

struct vf_build_opts {
	uint8_t seed[VF_BUILD_SEED_MAX]; /**< the build seed */
	size_t seed_len;                 /**< 0: derive from name, arch and version */
	unsigned threads;                /**< for verity hashing; 0 means 1 */
	bool minimize;                   /**< size ROOT to the smallest fit plus a margin */
	struct vf_compose_opts compose;  /**< SOURCE_DATE_EPOCH from the caller */
	const char *tool_version;        /**< recorded in build.json */
	vf_build_progress_fn progress;
	void *progress_ctx;
};

/** One output file. */
struct vf_build_output {
	char *name;                      /**< file name inside outdir */
	uint64_t size;
	uint8_t sha256[32];
};

struct vf_build_result {
	struct vf_build_output *outputs; /**< in name order */
	size_t n_outputs;
	char root_hash[2 * 64 + 1];      /**< hex */
	char *report;                    /**< build.json text (also written to outdir) */
};

/** The default seed: SHA-256 of "vforge-seed\0<name>\0<arch>\0<version>". */
int vf_build_default_seed(const struct vf_manifest *m, uint8_t out[32], struct vf_err *err);

/**
 * Build `m` into `outdir` (created if missing; existing outputs of the same
 * names are replaced atomically, other files are left alone).
 */
int vf_build(const struct vf_manifest *m, const char *outdir, const struct vf_build_opts *opts,
	     struct vf_build_result *ret, struct vf_err *err);

/** Free a result; accepts a zeroed one. */
void vf_build_result_release(struct vf_build_result *r);

#endif
