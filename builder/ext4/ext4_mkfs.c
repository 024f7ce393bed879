/*
 * An empty file system with every superblock field pinned.
 *
 * This is mke2fs's sequence (misc/mke2fs.c, 1.47.0) minus everything that
 * reads the environment: ext2fs_initialize with an explicit parameter block,
 * then every field libext2fs fills from the host (time(NULL), the host's char
 * signedness, the creator OS) overwritten, group tables allocated, inodes
 * 1-10 reserved and, if asked, the journal made. The tree's inodes (the root
 * and lost+found included) are written later by ext4_populate.c.
 *
 * Times: libext2fs 1.47.0 stamps the superblock and new inodes with fs->now,
 * or time(NULL) when fs->now is 0. ext2fs_initialize itself runs before
 * fs->now can be set and writes s_mkfs_time/s_lastcheck from time(NULL) (or
 * E2FSPROGS_FAKE_TIME); both are overwritten right after. fs->now is then set
 * to opts->timestamp, so ext2fs_close's s_wtime and the journal inode use it.
 * A timestamp of 0 would read as "use time()": 1.47.0 keeps only the low 32
 * bits of fs->now in those fields, so 2^32 stands in for 0 there (newer
 * libext2fs has EXT2_FLAG2_USE_FAKE_TIME for this, used when present).
 * ext4_write.c checks s_wtime after closing, so a library that ever reads the
 * clock again fails loudly instead of making a different image.
 */
#include "builder/ext4/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int log2_u32(uint32_t v)
{
	int l = 0;

	while (v > 1) {
		v >>= 1;
		l++;
	}
	return l;
}

static int set_now(ext2_filsys fs, int64_t timestamp, struct vf_err *err)
{
#ifdef EXT2_FLAG2_USE_FAKE_TIME
	fs->flags2 |= EXT2_FLAG2_USE_FAKE_TIME;
	fs->now = (time_t)timestamp;
#else
	if (!timestamp && sizeof(time_t) <= 4)
		return vf_err_set(err, EINVAL,
				  "timestamp 0 cannot be pinned with this libext2fs and a 32-bit time_t");
	fs->now = timestamp ? (time_t)timestamp : (time_t)((int64_t)1 << 32);
#endif
	(void)err;
	return 0;
}

/* Superblock fields libext2fs sets from the host, or leaves to mke2fs. */
static void pin_super(ext2_filsys fs, const struct vf_ext4_params *prm)
{
	struct ext2_super_block *sb = fs->super;
	uint32_t lo = (uint32_t)((uint64_t)prm->timestamp & 0xffffffffu);
	uint8_t hi = (uint8_t)((uint64_t)prm->timestamp >> 32);

	memcpy(sb->s_uuid, prm->uuid, sizeof(sb->s_uuid));
	memcpy(sb->s_hash_seed, prm->hash_seed, sizeof(sb->s_hash_seed));
	sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
	/* ext2fs_initialize adds the host's char signedness; x86's is pinned */
	sb->s_flags = EXT2_FLAGS_SIGNED_HASH;
	sb->s_creator_os = EXT2_OS_LINUX;
	sb->s_mkfs_time = sb->s_wtime = sb->s_mtime = sb->s_lastcheck = lo;
	sb->s_mkfs_time_hi = sb->s_wtime_hi = sb->s_mtime_hi = sb->s_lastcheck_hi = hi;
	sb->s_kbytes_written = 0; /* ext2fs_close counts I/O only when this is non-zero */
	memset(sb->s_volume_name, 0, sizeof(sb->s_volume_name));
	memcpy(sb->s_volume_name, prm->label, strlen(prm->label));
	memset(sb->s_last_mounted, 0, sizeof(sb->s_last_mounted));
	sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
	sb->s_max_mnt_count = -1;
	sb->s_checkinterval = 0;
}

/* Stamp an inode written by libext2fs (the journal) with our times. */
static errcode_t restamp_inode(ext2_filsys fs, ext2_ino_t ino, int64_t timestamp)
{
	struct ext2_inode_large in;
	uint32_t lo, extra;
	errcode_t e;

	memset(&in, 0, sizeof(in));
	if ((e = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof(in))))
		return e;
	vf_ext4_time_encode(timestamp, &lo, &extra);
	in.i_atime = in.i_ctime = in.i_mtime = lo;
	if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE) {
		in.i_crtime = lo;
		in.i_atime_extra = in.i_ctime_extra = in.i_mtime_extra = in.i_crtime_extra = extra;
	}
	return ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&in,
				       EXT2_INODE_SIZE(fs->super) < sizeof(in) ?
					       EXT2_INODE_SIZE(fs->super) : sizeof(in));
}

static int add_journal(ext2_filsys fs, const struct vf_ext4_params *prm, bool *too_small,
		       struct vf_err *err)
{
	struct ext2fs_journal_params jp;
	errcode_t e;

	/* the size is a function of the block count only (ext2fs_default_journal_size) */
	if ((e = ext2fs_get_journal_params(&jp, fs))) {
		*too_small = e == EXT2_ET_JOURNAL_TOO_SMALL;
		return vf_ext4_errcode(err, e, "cannot size the journal for %llu blocks",
				       (unsigned long long)ext2fs_blocks_count(fs->super));
	}
	/* the file is new and sparse, so the journal already reads as zeros */
	e = ext2fs_add_journal_inode3(fs, &jp, ~0ULL,
				      EXT2_MKJOURNAL_LAZYINIT | EXT2_MKJOURNAL_NO_MNT_CHECK);
	if (e) {
		*too_small = e == EXT2_ET_BLOCK_ALLOC_FAIL;
		return vf_ext4_errcode(err, e, "cannot make a journal of %u blocks",
				       jp.num_journal_blocks);
	}
	if ((e = restamp_inode(fs, EXT2_JOURNAL_INO, prm->timestamp)))
		return vf_ext4_errcode(err, e, "cannot write the journal inode");
	return 0;
}

int vf_ext4_mkfs(const char *name, io_manager io, const struct vf_ext4_params *prm,
		 uint64_t inodes, ext2_filsys *ret, struct vf_ext4_geom *ret_geom,
		 bool *too_small, struct vf_err *err)
{
	struct ext2_super_block param;
	ext2_filsys fs = NULL;
	uint64_t blocks = prm->size / prm->block_size;
	blk64_t used = 0;
	errcode_t e;
	int r;

	*too_small = false;
	memset(&param, 0, sizeof(param));
	ext2fs_blocks_count_set(&param, blocks);
	param.s_log_block_size = (uint32_t)(log2_u32(prm->block_size) - EXT2_MIN_BLOCK_LOG_SIZE);
	param.s_rev_level = EXT2_DYNAMIC_REV;
	param.s_first_ino = EXT2_GOOD_OLD_FIRST_INO;
	param.s_inode_size = (uint16_t)prm->inode_size;
	param.s_inodes_count = (uint32_t)inodes;
	param.s_feature_compat = VF_EXT4_COMPAT;
	param.s_feature_incompat = VF_EXT4_INCOMPAT;
	param.s_feature_ro_compat = VF_EXT4_RO_COMPAT;
	if (prm->inode_size <= EXT2_GOOD_OLD_INODE_SIZE)
		param.s_feature_ro_compat &= ~(uint32_t)EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE;
	param.s_log_groups_per_flex = VF_EXT4_LOG_FLEX;
	param.s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
	param.s_errors = EXT2_ERRORS_CONTINUE;
	param.s_default_mount_opts = EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL;
	ext2fs_r_blocks_count_set(&param, blocks * prm->reserved_percent / 100);

	e = ext2fs_initialize(name, EXT2_FLAG_64BITS, &param, io, &fs);
	if (e) {
		*too_small = e == EXT2_ET_TOOSMALL || e == EXT2_ET_TOO_MANY_INODES ||
			     e == EXT2_ET_RES_GDT_BLOCKS;
		fs = NULL;
		return vf_ext4_errcode(err, e, "cannot lay out %llu blocks with %llu inodes",
				       (unsigned long long)blocks, (unsigned long long)inodes);
	}
	if (prm->offset) {
		/* before any block is written: every one goes to offset + its place */
		char opt[64];

		snprintf(opt, sizeof(opt), "offset=%llu", (unsigned long long)prm->offset);
		if ((e = io_channel_set_options(fs->io, opt))) {
			r = vf_ext4_errcode(err, e, "cannot set the offset %llu",
					    (unsigned long long)prm->offset);
			goto fail;
		}
	}
	if ((r = set_now(fs, prm->timestamp, err)))
		goto fail;
	pin_super(fs, prm);
	ext2fs_init_csum_seed(fs);

	if ((e = ext2fs_allocate_tables(fs))) {
		*too_small = e == EXT2_ET_BLOCK_ALLOC_FAIL;
		r = vf_ext4_errcode(err, e, "cannot allocate the group tables");
		goto fail;
	}
	/* the file is new, so the inode tables are zero without writing them */
	for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
		ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
		ext2fs_group_desc_csum_set(fs, g);
	}
	/* inode 1 (bad blocks) and 3-10 are reserved; 2 and 11 come with the tree */
	ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
	for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(fs->super); i++)
		ext2fs_inode_alloc_stats2(fs, i, +1, 0);

	if (prm->journal && (r = add_journal(fs, prm, too_small, err)))
		goto fail;

	if ((e = ext2fs_count_used_clusters(fs, fs->super->s_first_data_block,
					    ext2fs_blocks_count(fs->super) - 1, &used))) {
		r = vf_ext4_errcode(err, e, "cannot count the metadata blocks");
		goto fail;
	}
	/* what mke2fs records: metadata, journal and the blocks before the first group */
	fs->super->s_overhead_clusters = (uint32_t)(used + fs->super->s_first_data_block);

	memset(ret_geom, 0, sizeof(*ret_geom));
	ret_geom->blocks = ext2fs_blocks_count(fs->super);
	ret_geom->inodes = fs->super->s_inodes_count;
	ret_geom->used = used + fs->super->s_first_data_block;
	ret_geom->reserved = ext2fs_r_blocks_count(fs->super);
	/* an extent split per group (metadata areas) and per journal, and a margin */
	ret_geom->slack = fs->group_desc_count + 8;
	*ret = fs;
	return 0;
fail:
	ext2fs_free(fs);
	return r;
}
