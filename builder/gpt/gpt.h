/**
 * @file gpt.h
 * @brief GUID partition tables written and read through libfdisk.
 *
 * Nothing is random: the disk GUID and every partition UUID are given by the
 * caller (the image builder derives them), the first usable LBA is 2048
 * (1 MiB), the entry array holds 128 entries, sectors are 512 bytes. The
 * same layout gives the same bytes (protective MBR, primary and backup
 * headers and arrays) on any machine.
 *
 * GUIDs are passed in their textual byte order (as uuid_parse() gives
 * them); the on-disk mixed-endian encoding is libfdisk's business.
 */
#ifndef VF_GPT_GPT_H
#define VF_GPT_GPT_H

#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VF_GPT_SECTOR 512u
#define VF_GPT_NAME_MAX 36        /**< UTF-16 code units in a GPT name; we allow ASCII */
#define VF_GPT_FIRST_LBA 2048u    /**< first usable LBA of every table written (1 MiB) */
#define VF_GPT_ALIGN_LBA 2048u    /**< partition starts and sizes are multiples of this (1 MiB) */
#define VF_GPT_ENTRIES 128u       /**< entries in each partition array (32 sectors of 128 bytes) */

/** A/B attribute bits (Chrome OS / Bottlerocket): priority 48-51, tries 52-55, successful 56. */
#define VF_GPT_ATTR_PRIORITY_SHIFT 48
#define VF_GPT_ATTR_TRIES_SHIFT 52
#define VF_GPT_ATTR_SUCCESSFUL (1ULL << 56)
/** Other named bits: UEFI "required" (0), "legacy BIOS bootable" (2), DPS "read-only" (60). */
#define VF_GPT_ATTR_REQUIRED (1ULL << 0)
#define VF_GPT_ATTR_LEGACY_BOOT (1ULL << 2)
#define VF_GPT_ATTR_READ_ONLY (1ULL << 60)
/** Bits 3-47, reserved by UEFI: vf_gpt_check() and vf_gpt_set_attrs() refuse them. */
#define VF_GPT_ATTR_RESERVED 0x0000fffffffffff8ULL

/** One partition. */
struct vf_gpt_part {
	char name[VF_GPT_NAME_MAX + 1];
	uint8_t type[16];
	uint8_t uuid[16];
	uint64_t first_lba;       /**< in 512-byte sectors */
	uint64_t size_lba;
	uint64_t attrs;           /**< the 64 GPT attribute bits */
};

/** A whole table. */
struct vf_gpt_table {
	uint64_t disk_size;       /**< bytes of the disk image */
	uint8_t disk_guid[16];
	struct vf_gpt_part *parts; /**< in table order (partition number = index + 1) */
	size_t n_parts;
};

/**
 * The last usable LBA of a disk of `disk_size` bytes: the sector before the
 * backup partition array, disk_size / 512 - 34 (sfdisk's default for 128
 * entries). 0 when the disk is too small to hold a table whose first usable
 * LBA is 2048.
 */
uint64_t vf_gpt_last_usable_lba(uint64_t disk_size);

/**
 * Check a table before anything is written: sizes non-zero, 1 MiB aligned,
 * within the usable area (2048 .. last usable LBA), no overlaps, unique names
 * and UUIDs. Errors name the partition(s) and the numbers.
 *
 * Also refused, all with -EINVAL: a disk size that is not a multiple of 512 or
 * too small, more than 128 partitions, a name over 36 characters or with a
 * byte outside printable ASCII, an all-zero disk GUID, type or partition UUID,
 * a partition UUID equal to the disk GUID, and reserved attribute bits 3-47.
 * Empty names are allowed and not compared. The first problem found is
 * reported: per partition in table order, then overlaps, then duplicates.
 */
int vf_gpt_check(const struct vf_gpt_table *t, struct vf_err *err);

/**
 * Write the table (protective MBR, primary and backup GPT) into the existing
 * file `path`, which must already be t->disk_size bytes. Partition contents
 * are not touched.
 *
 * Runs vf_gpt_check() first and writes nothing when it fails. Written: sector
 * 0 whole (boot code and MBR disk signature zero, one protective entry),
 * sectors 1-33 and the last 33 sectors. Everything else (the gap between
 * sector 34 and 2047, the partitions) keeps its bytes. No signature is wiped
 * and the kernel is not asked to re-read a block device's table. A block
 * device must have 512-byte logical sectors.
 */
int vf_gpt_write(const char *path, const struct vf_gpt_table *t, struct vf_err *err);

/**
 * Read the table of `path` (or a block device). Free with vf_gpt_table_release().
 *
 * Sectors are taken as 512 bytes. `ret->parts` runs up to the last used
 * entry; an unused entry before it is all zeros (size 0, type all zeros).
 * `ret->disk_size` is the number of whole sectors times 512. Like sfdisk, a
 * table whose primary copy is damaged is read from its backup. Fails with
 * -ENODATA when there is no GPT, -EINVAL for a name that is not printable
 * ASCII of at most 36 characters. `*ret` is written only on success.
 */
int vf_gpt_read(const char *path, struct vf_gpt_table *ret, struct vf_err *err);

/** Free the partitions of a table read by vf_gpt_read(). */
void vf_gpt_table_release(struct vf_gpt_table *t);

/**
 * Set the attribute bits of partition `index` in place (for the updater's
 * bank switch); rewrites both headers and CRCs through libfdisk.
 *
 * Only the 8 attribute bytes of the entry in both arrays, the two array CRCs
 * and the two header CRCs change; sector 0 keeps its bytes (boot code, and a
 * protective MBR another tool wrote). Nothing is written when the bits are
 * already set. Refused: an unused or out-of-range `index` (-EINVAL),
 * reserved bits 3-47 (-EINVAL), and a table libfdisk would have to repair
 * or move first (a damaged copy, a backup not at the end of the disk):
 * -EUCLEAN, naming libfdisk's complaint. vf_gpt_update() with one change.
 */
int vf_gpt_set_attrs(const char *path, size_t index, uint64_t attrs, struct vf_err *err);

/** One change of vf_gpt_update(): a new UUID and/or new attribute bits for one entry. */
struct vf_gpt_change {
	size_t index;         /**< table entry (partition number - 1) */
	bool set_uuid;        /**< change the partition UUID to `uuid` */
	uint8_t uuid[16];     /**< textual byte order */
	bool set_attrs;       /**< change the attribute bits to `attrs` */
	uint64_t attrs;
};

/**
 * Change the UUIDs and/or attributes of several entries in one table write
 * (the updater's bank switch: ROOT/HASH UUIDs and every bank's A/B bits at
 * once, so an interruption leaves either the old or the new table).
 *
 * The rules of vf_gpt_set_attrs(), for every change: only the entries' UUID
 * and attribute bytes in both arrays, the two array CRCs and the two header
 * CRCs change; sector 0 keeps its bytes; nothing is written when every value
 * is already set. Checked before anything is written, all -EINVAL: reserved
 * attribute bits 3-47, an index changed twice, an unused or out-of-range
 * index, an all-zero UUID, a UUID equal to the disk GUID, and two entries
 * that would share a UUID ("partitions 2 and 5 would both have UUID ...").
 * A damaged table or one whose backup is not at the end: -EUCLEAN.
 */
int vf_gpt_update(const char *path, const struct vf_gpt_change *changes, size_t n,
		  struct vf_err *err);

/**
 * The type GUID for a type name of the manifest's layout: "esp",
 * "xbootldr", "root", "root-verity", "linux", "var" in `type_set` "dps"
 * (the Discoverable Partitions Specification; root types depend on `arch`:
 * "x86_64" or "aarch64"), or in "bottlerocket" (Bottlerocket's own GUIDs for
 * BOOT, ROOT, HASH, RESERVED, PRIVATE, DATA: pass the role as the name:
 * "boot", "root", "hash", "reserved", "private", "data"), or a GUID text.
 *
 * More DPS names: "swap", "home", "srv", "tmp", and per architecture
 * "root-verity-sig", "usr", "usr-verity", "usr-verity-sig". The
 * "bottlerocket" set adds "efi-backup" and "bios-boot" and falls back to the
 * DPS names ("esp", "linux", ...) for the rest. `type_set` NULL means "dps";
 * `arch` may be NULL unless the type depends on it. A GUID text (either case)
 * is accepted in any set, except the all-zero GUID. Errors (-EINVAL) list the
 * accepted names.
 */
int vf_gpt_type_lookup(const char *name, const char *arch, const char *type_set,
		       uint8_t ret[16], struct vf_err *err);

/** A readable name for a type GUID ("root-x86-64", "linux-generic", ...), or NULL. */
const char *vf_gpt_type_name(const uint8_t type[16]);

#endif
