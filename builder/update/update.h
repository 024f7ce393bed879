/**
 * @file update.h
 * @brief The A/B updater: the banks of a disk (image file or block device),
 *        writing a verified update into the inactive bank, and rollback.
 *
 * A disk built by vforge has two banks: A = BOOT-A, ROOT-A, HASH-A and
 * B = BOOT-B, ROOT-B, HASH-B (GPT partition names). BOOT-x carries the A/B
 * attribute bits (gpt.h: priority 48-51, tries 52-55, successful 56) and two
 * files the build writes: `/cmdline` (with the dm-verity table naming ROOT-x
 * and HASH-x by PARTUUID = the halves of the root hash) and `/vforge-release`
 * ("VARIANT=…\nARCH=…\nVERSION=…\n").
 *
 * Which bank is which (docs/update.md):
 *  - bootable: priority > 0 and (successful or tries > 0);
 *  - next: the bootable bank of highest priority (tie: A), what the boot
 *    loader starts next;
 *  - active: the bank the device runs, which is never written: the bank of
 *    highest priority among those marked successful (tie: A), or, when none
 *    is, the next one. After an update and before its first successful boot
 *    the old bank stays active and the new one is next.
 *
 * The module is named "update" but its symbols are vf_updater_*: struct
 * vf_update is the update manifest's entry (repo/update_manifest.h).
 *
 * vf_updater_apply() never writes the active bank; it makes the inactive
 * bank unbootable before writing it and switches the attributes last, in
 * one table write, so an interruption at any point leaves the active bank
 * booting. The library never prints; verification failures are -VF_EVERIFY.
 */
#ifndef VF_UPDATE_UPDATE_H
#define VF_UPDATE_UPDATE_H

#include "builder/base/err.h"
#include "builder/gpt/gpt.h"
#include "keys/digest.h"
#include "repo/fetcher.h"
#include "repo/update_manifest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VF_UPDATER_RELEASE_FILE "/vforge-release"
#define VF_UPDATER_CMDLINE_FILE "/cmdline"
#define VF_UPDATER_RELEASE_MAX 4096u         /**< largest /vforge-release read */
#define VF_UPDATER_CMDLINE_MAX (64u * 1024u)  /**< largest /cmdline read */

/** The partitions of a bank, in the order targets are written. */
enum vf_updater_role { VF_UPDATER_BOOT, VF_UPDATER_ROOT, VF_UPDATER_HASH, VF_UPDATER_ROLES };

/** What /vforge-release says. */
struct vf_updater_release {
	char variant[65];                          /**< [a-z0-9][a-z0-9-]{0,63} */
	char arch[33];                             /**< [A-Za-z0-9_]{1,32} */
	char version[VF_UPDATE_VERSION_MAX + 1];   /**< SemVer */
};

/** One bank as read from the disk. */
struct vf_updater_bank {
	char name;                                  /**< 'A' or 'B' */
	bool present;                               /**< BOOT-x, ROOT-x and HASH-x all exist */
	size_t index[VF_UPDATER_ROLES];             /**< their table indexes (when present) */
	struct vf_gpt_part part[VF_UPDATER_ROLES];  /**< their entries (when present) */
	unsigned priority, tries;                   /**< from BOOT-x's attributes */
	bool successful, bootable;
	bool has_release;                           /**< /vforge-release read and valid */
	struct vf_updater_release release;
	char why_empty[VF_ERR_MSG_MAX];             /**< why not, when !has_release */
	bool has_root_hash;                         /**< from /cmdline's dm-mod.create= */
	uint8_t root_hash[VF_DIGEST_MAX];
	size_t root_hash_size;
};

/** Both banks of a disk. */
struct vf_updater_status {
	uint8_t disk_guid[16];
	uint64_t disk_size;
	struct vf_updater_bank bank[2];  /**< A, B */
	int active;                      /**< 0 (A), 1 (B), or -1 when no bank boots */
	int next;                        /**< 0, 1, or -1 when no bank boots */
};

/**
 * Read the table and both banks of `image`. A bank whose partitions are
 * missing is !present; one whose BOOT has no readable, valid release file is
 * "empty" (has_release false, why_empty says why). Fails only when the
 * table cannot be read, or neither bank is present (-ENOENT).
 */
int vf_updater_status_read(const char *image, struct vf_updater_status *ret, struct vf_err *err);

/**
 * The wave seed of a disk: its GUID's first 4 bytes (textual order) as a
 * big-endian number, mod 2048. Copies of one image share it: devices should
 * pass their own seed.
 */
uint32_t vf_updater_seed(const uint8_t disk_guid[16]);

/**
 * Parse a release file: lines KEY=VALUE ending in '\n'; VARIANT, ARCH and
 * VERSION required, once each, valid; other keys ignored. -EINVAL naming
 * the line or the key otherwise.
 */
int vf_updater_release_parse(const void *text, size_t len, struct vf_updater_release *ret,
			     struct vf_err *err);

/** The verity table of a kernel command line's dm-mod.create= (the parts the updater checks). */
struct vf_updater_verity_table {
	char data_dev[64], hash_dev[64];  /**< "PARTUUID=…" */
	uint32_t version, data_block_size, hash_block_size;
	uint64_t data_blocks, hash_start;
	char hash_name[32];
	uint8_t root_hash[VF_DIGEST_MAX];
	size_t root_hash_size;
	uint8_t salt[256];
	size_t salt_size;
};

/** Parse the verity target of `cmdline`'s dm-mod.create=; -EINVAL naming what is wrong. */
int vf_updater_cmdline_parse(const char *cmdline, struct vf_updater_verity_table *ret,
			     struct vf_err *err);

/**
 * The builder's content-addressed rule: ROOT's partition UUID is bytes 0-15
 * of the root hash, HASH's bytes 16-31 (as they are, no version bits).
 * -EINVAL when the root hash is shorter than 32 bytes.
 */
int vf_updater_uuids(const uint8_t *root_hash, size_t len, uint8_t root_uuid[16],
		     uint8_t hash_uuid[16], struct vf_err *err);

/**
 * The update the active bank should take from manifest.json `text`
 * (vf_update_manifest_find_update with the active bank's variant, arch and
 * version), or NULL in *ret. *ret points into *ret_manifest, which the caller
 * frees with vf_update_manifest_free(). -ENOENT when no bank boots, -EINVAL
 * when the active bank has no release file.
 */
int vf_updater_find(const struct vf_updater_status *st, const void *text, size_t len,
		    uint32_t seed, time_t now, bool ignore_waves, const char *version_lock,
		    struct vf_update_manifest **ret_manifest, const struct vf_update **ret,
		    struct vf_err *err);

/**
 * Stream the target `name` to `sink` (e.g. through the TUF client, which
 * checks length and hashes at the end). Returns 0 only when the whole target
 * was passed and verified; a sink's error is returned as is. The updater
 * prefixes "target '<name>'" to an error message that does not name it.
 */
typedef int (*vf_updater_pull)(void *ctx, const char *name, vf_fetch_sink sink, void *sink_ctx,
			       struct vf_err *err);

/** What vf_updater_apply() installs and how. */
struct vf_updater_apply_opts {
	const char *variant, *arch, *version;   /**< what BOOT's release file must say */
	const char *target[VF_UPDATER_ROLES];   /**< boot, root and hash target names */
	vf_updater_pull pull;
	void *pull_ctx;
	unsigned threads;                        /**< for the verity check; 0 means 1 */
};

struct vf_updater_apply_result {
	int bank;                                /**< the bank written: 0 (A) or 1 (B) */
	uint64_t written[VF_UPDATER_ROLES];      /**< bytes written to each partition */
	uint8_t root_hash[VF_DIGEST_MAX];
	size_t root_hash_size;
};

/**
 * Install an update into the inactive bank of `image`:
 *  1. one table write: the inactive bank unbootable (priority 0, tries 0,
 *     not successful);
 *  2. each target (boot, root, hash) pulled, zstd-decompressed as it arrives
 *     and written at its partition's offset, never past its end (-EFBIG
 *     naming the partition and both sizes); fsync. A target that fails its
 *     check stops here (-VF_EVERIFY from the pull), the bank unbootable;
 *  3. the new BOOT's release file must name opts' variant, arch and version
 *     and its /cmdline's verity table must agree with HASH's superblock and
 *     name ROOT and HASH by the root hash's halves; ROOT is verified against
 *     HASH and that root hash (whole data area): -VF_EVERIFY otherwise; a
 *     root hash equal to the active bank's is refused (-EEXIST);
 *  4. one table write: ROOT/HASH UUIDs = the root hash's halves, the new bank
 *     priority 2 with 1 try and not successful, the old bank priority 1.
 * Refused before anything is written: no active bank (-ENOENT), an
 * inactive bank whose partitions are missing (-ENOENT).
 */
int vf_updater_apply(const char *image, const struct vf_updater_apply_opts *opts,
		     struct vf_updater_apply_result *ret, struct vf_err *err);

/**
 * Make the bank that is not next boot next (flip back): it must hold an image
 * (a valid release file) and be successful or have tries left, else -EINVAL
 * naming why. It gets priority 2 (its other bits kept); the bank left gets
 * priority 1 when successful, else 0. One table write. *ret_bank (may be
 * NULL) is the bank that now boots next.
 */
int vf_updater_rollback(const char *image, int *ret_bank, struct vf_err *err);

#endif
