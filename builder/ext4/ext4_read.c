/*
 * Reading an ext4 file system inside an image: the superblock summary and
 * one file's content. The file system is opened read-only through unix_io
 * with the "offset=N" io option, so a partition is read in place inside a
 * whole disk image.
 */
#include "builder/ext4/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int open_ro(const char *path, uint64_t offset, ext2_filsys *ret, struct vf_err *err)
{
	char io_options[32];
	errcode_t e;

	snprintf(io_options, sizeof(io_options), "offset=%llu", (unsigned long long)offset);
	e = ext2fs_open2(path, io_options, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, ret);
	if (e) {
		*ret = NULL;
		return vf_ext4_errcode(err, e, "cannot open an ext4 file system in '%s' at offset %llu",
				       path, (unsigned long long)offset);
	}
	return 0;
}

/* Names of the feature bits, as e2fsprogs spells them. */
static const struct {
	int compat; /* 0 compat, 1 incompat, 2 ro_compat */
	uint32_t mask;
	const char *name;
} feature_names[] = {
	{ 0, EXT2_FEATURE_COMPAT_DIR_PREALLOC, "dir_prealloc" },
	{ 0, EXT2_FEATURE_COMPAT_IMAGIC_INODES, "imagic_inodes" },
	{ 0, EXT3_FEATURE_COMPAT_HAS_JOURNAL, "has_journal" },
	{ 0, EXT2_FEATURE_COMPAT_EXT_ATTR, "ext_attr" },
	{ 0, EXT2_FEATURE_COMPAT_RESIZE_INODE, "resize_inode" },
	{ 0, EXT2_FEATURE_COMPAT_DIR_INDEX, "dir_index" },
	{ 0, EXT2_FEATURE_COMPAT_LAZY_BG, "lazy_bg" },
	{ 0, EXT2_FEATURE_COMPAT_EXCLUDE_BITMAP, "snapshot_bitmap" },
	{ 0, EXT4_FEATURE_COMPAT_SPARSE_SUPER2, "sparse_super2" },
	{ 0, EXT4_FEATURE_COMPAT_FAST_COMMIT, "fast_commit" },
	{ 0, EXT4_FEATURE_COMPAT_STABLE_INODES, "stable_inodes" },
	{ 0, EXT4_FEATURE_COMPAT_ORPHAN_FILE, "orphan_file" },
	{ 1, EXT2_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ 1, EXT2_FEATURE_INCOMPAT_FILETYPE, "filetype" },
	{ 1, EXT3_FEATURE_INCOMPAT_RECOVER, "needs_recovery" },
	{ 1, EXT3_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ 1, EXT2_FEATURE_INCOMPAT_META_BG, "meta_bg" },
	{ 1, EXT3_FEATURE_INCOMPAT_EXTENTS, "extent" },
	{ 1, EXT4_FEATURE_INCOMPAT_64BIT, "64bit" },
	{ 1, EXT4_FEATURE_INCOMPAT_MMP, "mmp" },
	{ 1, EXT4_FEATURE_INCOMPAT_FLEX_BG, "flex_bg" },
	{ 1, EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode" },
	{ 1, EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ 1, EXT4_FEATURE_INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ 1, EXT4_FEATURE_INCOMPAT_LARGEDIR, "large_dir" },
	{ 1, EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ 1, EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ 1, EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold" },
	{ 2, EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER, "sparse_super" },
	{ 2, EXT2_FEATURE_RO_COMPAT_LARGE_FILE, "large_file" },
	{ 2, EXT4_FEATURE_RO_COMPAT_HUGE_FILE, "huge_file" },
	{ 2, EXT4_FEATURE_RO_COMPAT_GDT_CSUM, "uninit_bg" },
	{ 2, EXT4_FEATURE_RO_COMPAT_DIR_NLINK, "dir_nlink" },
	{ 2, EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE, "extra_isize" },
	{ 2, EXT4_FEATURE_RO_COMPAT_QUOTA, "quota" },
	{ 2, EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc" },
	{ 2, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM, "metadata_csum" },
	{ 2, EXT4_FEATURE_RO_COMPAT_READONLY, "read-only" },
	{ 2, EXT4_FEATURE_RO_COMPAT_PROJECT, "project" },
	{ 2, EXT4_FEATURE_RO_COMPAT_SHARED_BLOCKS, "shared_blocks" },
	{ 2, EXT4_FEATURE_RO_COMPAT_VERITY, "verity" },
};

static void append(char *out, size_t cap, const char *word)
{
	size_t len = strlen(out);

	/* names that no longer fit are dropped; "..." says so */
	if (len + 1 + strlen(word) + 4 >= cap) {
		if (len + 4 < cap && !strstr(out, "..."))
			strcat(out, len ? " ..." : "...");
		return;
	}
	if (len)
		strcat(out, " ");
	strcat(out, word);
}

/* Space-separated feature names in e2fsprogs's order (compat, incompat, ro_compat; by bit). */
static void format_features(const struct ext2_super_block *sb, char *out, size_t cap)
{
	const uint32_t words[3] = { sb->s_feature_compat, sb->s_feature_incompat,
				    sb->s_feature_ro_compat };

	out[0] = '\0';
	for (int c = 0; c < 3; c++) {
		for (int bit = 0; bit < 32; bit++) {
			uint32_t mask = UINT32_C(1) << bit;
			const char *name = NULL;
			char unknown[24];

			if (!(words[c] & mask))
				continue;
			for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
				if (feature_names[i].compat == c && feature_names[i].mask == mask)
					name = feature_names[i].name;
			if (!name) {
				snprintf(unknown, sizeof(unknown), "FEATURE_%c%d", "CIR"[c], bit);
				name = unknown;
			}
			append(out, cap, name);
		}
	}
}

int vf_ext4_read_info(const char *path, uint64_t offset, struct vf_ext4_info *ret,
		      struct vf_err *err)
{
	struct ext2_super_block *sb;
	ext2_filsys fs = NULL;
	int r;

	if ((r = open_ro(path, offset, &fs, err)))
		return r;
	sb = fs->super;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->uuid, sb->s_uuid, sizeof(ret->uuid));
	memcpy(ret->label, sb->s_volume_name, sizeof(sb->s_volume_name));
	ret->label[sizeof(ret->label) - 1] = '\0';
	ret->block_size = fs->blocksize;
	ret->blocks = ext2fs_blocks_count(sb);
	ret->free_blocks = ext2fs_free_blocks_count(sb);
	ret->inodes = sb->s_inodes_count;
	ret->free_inodes = sb->s_free_inodes_count;
	ret->mkfs_time = (int64_t)sb->s_mkfs_time | (int64_t)sb->s_mkfs_time_hi << 32;
	ret->write_time = (int64_t)sb->s_wtime | (int64_t)sb->s_wtime_hi << 32;
	ret->journal = ext2fs_has_feature_journal(sb);
	format_features(sb, ret->features, sizeof(ret->features));
	ext2fs_free(fs);
	return 0;
}

int vf_ext4_read_file(const char *path, uint64_t offset, const char *file_path, size_t max,
		      uint8_t **ret, size_t *ret_len, struct vf_err *err)
{
	struct ext2_inode inode;
	ext2_filsys fs = NULL;
	ext2_file_t f = NULL;
	ext2_ino_t ino;
	uint8_t *buf = NULL;
	uint64_t size, got = 0;
	errcode_t e;
	int r;

	if ((r = open_ro(path, offset, &fs, err)))
		return r;
	if ((e = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, file_path, &ino)) ||
	    (e = ext2fs_read_inode(fs, ino, &inode))) {
		r = vf_ext4_errcode(err, e, "'%s'", file_path);
		goto out;
	}
	if (!LINUX_S_ISREG(inode.i_mode)) {
		r = vf_err_set(err, EINVAL, "'%s' is not a regular file", file_path);
		goto out;
	}
	size = EXT2_I_SIZE(&inode);
	if (size > max) {
		r = vf_err_set(err, EFBIG, "'%s' is %llu bytes; at most %zu are read", file_path,
			       (unsigned long long)size, max);
		goto out;
	}
	if (!(buf = malloc(size ? (size_t)size : 1))) {
		r = vf_err_set(err, ENOMEM, "out of memory for %llu bytes", (unsigned long long)size);
		goto out;
	}
	if ((e = ext2fs_file_open(fs, ino, 0, &f))) {
		r = vf_ext4_errcode(err, e, "cannot open '%s'", file_path);
		goto out;
	}
	while (got < size) {
		unsigned int want = size - got > (1u << 30) ? 1u << 30 : (unsigned int)(size - got);
		unsigned int n = 0;

		if ((e = ext2fs_file_read(f, buf + got, want, &n))) {
			r = vf_ext4_errcode(err, e, "cannot read '%s'", file_path);
			goto out;
		}
		if (!n) {
			r = vf_err_set(err, EIO, "'%s' ended after %llu of %llu bytes", file_path,
				       (unsigned long long)got, (unsigned long long)size);
			goto out;
		}
		got += n;
	}
	*ret = buf;
	*ret_len = (size_t)size;
	buf = NULL;
out:
	if (f)
		ext2fs_file_close(f);
	free(buf);
	ext2fs_free(fs);
	return r;
}
