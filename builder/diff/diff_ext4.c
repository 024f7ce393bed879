/*
 * Two ext4 file systems, each at a byte offset of a file (a partition of a
 * disk image, or an image of its own), read-only through libext2fs:
 * superblock fields by name, group descriptors, bitmaps, every path
 * (diff_ext4_tree.c), and when all of that is the same but blocks still
 * differ, the structures those blocks belong to.
 */
#include "builder/diff/internal.h"

#include "builder/base/fs.h"
#include "builder/base/uuid.h"

#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_OFF 1024u
#define SB_SIZE 1024u
#define MAX_BLOCKS_NAMED 16u /* differing blocks explained one by one */

static pthread_once_t et_once = PTHREAD_ONCE_INIT;

static void et_init(void)
{
	initialize_ext2_error_table();
}

int vf_diff_ext2_err(struct vf_err *err, long code, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	pthread_once(&et_once, et_init);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (code == EXT2_ET_NO_MEMORY || code == ENOMEM)
		return vf_err_set(err, ENOMEM, "%s: out of memory", what);
	return vf_err_set(err, EIO, "%s: %s", what, error_message(code));
}

/* ---- the superblock, field by field, from its bytes ---- */

enum sbk { U, X, S16, T, UUID, STR, HEXB, FEAT0, FEAT1, FEAT2, LOHI };

struct sbf {
	const char *name;
	unsigned off, size;
	enum sbk kind;
	unsigned hi_off, hi_size; /* times: the _hi byte; LOHI: the high 32 bits */
};

#define F(n, k) { #n, offsetof(struct ext2_super_block, s_##n), \
		  sizeof(((struct ext2_super_block *)0)->s_##n), k, 0, 0 }
#define FH(n, k, h) { #n, offsetof(struct ext2_super_block, s_##n), \
		      sizeof(((struct ext2_super_block *)0)->s_##n), k, \
		      offsetof(struct ext2_super_block, s_##h), \
		      sizeof(((struct ext2_super_block *)0)->s_##h) }

static const struct sbf sb_fields[] = {
	F(inodes_count, U), FH(blocks_count, LOHI, blocks_count_hi),
	FH(r_blocks_count, LOHI, r_blocks_count_hi), FH(free_blocks_count, LOHI, free_blocks_hi),
	F(free_inodes_count, U), F(first_data_block, U), F(log_block_size, U),
	F(log_cluster_size, U), F(blocks_per_group, U), F(clusters_per_group, U),
	F(inodes_per_group, U), FH(mtime, T, mtime_hi), FH(wtime, T, wtime_hi), F(mnt_count, U),
	F(max_mnt_count, S16), F(magic, X), F(state, X), F(errors, U), F(minor_rev_level, U),
	FH(lastcheck, T, lastcheck_hi), F(checkinterval, U), F(creator_os, U), F(rev_level, U),
	F(def_resuid, U), F(def_resgid, U), F(first_ino, U), F(inode_size, U),
	F(block_group_nr, U), F(feature_compat, FEAT0), F(feature_incompat, FEAT1),
	F(feature_ro_compat, FEAT2), F(uuid, UUID), F(volume_name, STR), F(last_mounted, STR),
	F(algorithm_usage_bitmap, X), F(prealloc_blocks, U), F(prealloc_dir_blocks, U),
	F(reserved_gdt_blocks, U), F(journal_uuid, UUID), F(journal_inum, U), F(journal_dev, U),
	F(last_orphan, U), { "hash_seed", offsetof(struct ext2_super_block, s_hash_seed), 16, UUID, 0, 0 },
	F(def_hash_version, U), F(jnl_backup_type, U), F(desc_size, U),
	F(default_mount_opts, X), F(first_meta_bg, U), FH(mkfs_time, T, mkfs_time_hi),
	{ "jnl_blocks", offsetof(struct ext2_super_block, s_jnl_blocks), 68, HEXB, 0, 0 },
	F(min_extra_isize, U), F(want_extra_isize, U), F(flags, X), F(raid_stride, U),
	F(mmp_update_interval, U), F(mmp_block, U), F(raid_stripe_width, U),
	F(log_groups_per_flex, U), F(checksum_type, U), F(encryption_level, U),
	F(reserved_pad, U), F(kbytes_written, U), F(snapshot_inum, U), F(snapshot_id, U),
	F(snapshot_r_blocks_count, U), F(snapshot_list, U), F(error_count, U),
	FH(first_error_time, T, first_error_time_hi), F(first_error_ino, U),
	F(first_error_block, U), F(first_error_func, STR), F(first_error_line, U),
	FH(last_error_time, T, last_error_time_hi), F(last_error_ino, U), F(last_error_line, U),
	F(last_error_block, U), F(last_error_func, STR), F(mount_opts, STR),
	F(usr_quota_inum, U), F(grp_quota_inum, U), F(overhead_clusters, U),
	{ "backup_bgs", offsetof(struct ext2_super_block, s_backup_bgs), 8, HEXB, 0, 0 },
	{ "encrypt_algos", offsetof(struct ext2_super_block, s_encrypt_algos), 4, HEXB, 0, 0 },
	{ "encrypt_pw_salt", offsetof(struct ext2_super_block, s_encrypt_pw_salt), 16, HEXB, 0, 0 },
	F(lpf_ino, U), F(prj_quota_inum, U), F(checksum_seed, X), F(first_error_errcode, U),
	F(last_error_errcode, U), F(encoding, U), F(encoding_flags, X), F(orphan_file_inum, U),
	{ "reserved", offsetof(struct ext2_super_block, s_reserved), 376, HEXB, 0, 0 },
	F(checksum, X),
};

#undef F
#undef FH

/* Feature names, as e2fsprogs spells them, per word (compat, incompat, ro_compat) and bit. */
static const char *const feature_names[3][32] = {
	{ "dir_prealloc", "imagic_inodes", "has_journal", "ext_attr", "resize_inode", "dir_index",
	  "lazy_bg", "snapshot_bitmap", NULL, "sparse_super2", "fast_commit", "stable_inodes",
	  "orphan_file" },
	{ "compression", "filetype", "needs_recovery", "journal_dev", "meta_bg", NULL, "extent",
	  "64bit", "mmp", "flex_bg", "ea_inode", NULL, "dirdata", "metadata_csum_seed", "large_dir",
	  "inline_data", "encrypt", "casefold" },
	{ "sparse_super", "large_file", "btree_dir", "huge_file", "uninit_bg", "dir_nlink",
	  "extra_isize", "has_snapshot", "quota", "bigalloc", "metadata_csum", "replica",
	  "read-only", "project", "shared_blocks", "verity", "orphan_present" },
};

static uint64_t le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = size; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void features_text(int word, uint32_t bits, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (int b = 0; b < 32 && o + 24 < cap; b++) {
		if (!(bits & (UINT32_C(1) << b)))
			continue;
		if (feature_names[word][b])
			o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "",
					      feature_names[word][b]);
		else
			o += (size_t)snprintf(out + o, cap - o, "%sFEATURE_%c%d", o ? " " : "",
					      "CIR"[word], b);
	}
	if (!o)
		snprintf(out, cap, "(none)");
}

static void field_text(const struct sbf *f, const uint8_t *sb, char *out, size_t cap)
{
	const uint8_t *p = sb + f->off;

	switch (f->kind) {
	case U:
		snprintf(out, cap, "%llu", (unsigned long long)le(p, f->size));
		break;
	case X:
		snprintf(out, cap, "0x%0*llx", (int)f->size * 2, (unsigned long long)le(p, f->size));
		break;
	case S16:
		snprintf(out, cap, "%d", (int)(int16_t)le(p, 2));
		break;
	case T:
		snprintf(out, cap, "%llu",
			 (unsigned long long)(le(p, 4) | le(sb + f->hi_off, f->hi_size) << 32));
		break;
	case LOHI:
		snprintf(out, cap, "%llu",
			 (unsigned long long)(le(p, f->size) | le(sb + f->hi_off, f->hi_size) << 32));
		break;
	case UUID: {
		char u[VF_UUID_TEXT_LEN + 1];

		vf_uuid_format(p, u);
		snprintf(out, cap, "%s", u);
		break;
	}
	case STR:
		vf_diff_value_text(p, strnlen((const char *)p, f->size), out, cap);
		break;
	case HEXB: {
		size_t o = (size_t)snprintf(out, cap, "0x");

		for (unsigned i = 0; i < f->size && o + 4 < cap; i++)
			o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
		break;
	}
	case FEAT0:
	case FEAT1:
	case FEAT2:
		features_text((int)(f->kind - FEAT0), (uint32_t)le(p, 4), out, cap);
		break;
	}
}

static bool field_differs(const struct sbf *f, const uint8_t *a, const uint8_t *b)
{
	if (memcmp(a + f->off, b + f->off, f->size))
		return true;
	return f->hi_size && memcmp(a + f->hi_off, b + f->hi_off, f->hi_size);
}

static int cmp_superblock(struct vf_diff_ctx *c, const uint8_t *a, const uint8_t *b)
{
	char ta[2 * 376 + 8], tb[2 * 376 + 8];
	int r;

	for (size_t i = 0; i < sizeof(sb_fields) / sizeof(sb_fields[0]); i++) {
		const struct sbf *f = &sb_fields[i];

		if (!field_differs(f, a, b))
			continue;
		if (f->kind >= FEAT0 && f->kind <= FEAT2) {
			uint32_t x = (uint32_t)le(a + f->off, 4), y = (uint32_t)le(b + f->off, 4);
			char only_a[300], only_b[300], detail[640];

			features_text((int)(f->kind - FEAT0), x & ~y, only_a, sizeof(only_a));
			features_text((int)(f->kind - FEAT0), y & ~x, only_b, sizeof(only_b));
			field_text(f, a, ta, sizeof(ta));
			field_text(f, b, tb, sizeof(tb));
			snprintf(detail, sizeof(detail), "only in a: %s; only in b: %s", only_a, only_b);
			r = vf_diff_add(c, "superblock", f->name, ta, tb, detail, NULL);
		} else {
			field_text(f, a, ta, sizeof(ta));
			field_text(f, b, tb, sizeof(tb));
			r = vf_diff_add(c, "superblock", f->name, ta, tb, NULL, NULL);
		}
		if (r)
			return r;
	}
	return 0;
}

/* ---- group descriptors and bitmaps ---- */

static int gd_u(struct vf_diff_ctx *c, dgrp_t g, const char *field, uint64_t a, uint64_t b,
		enum vf_diff_numfmt fmt)
{
	char obj[32], ta[32], tb[32];

	if (a == b)
		return 0;
	snprintf(obj, sizeof(obj), "group %u", g);
	vf_diff_num(ta, sizeof(ta), a, fmt);
	vf_diff_num(tb, sizeof(tb), b, fmt);
	return vf_diff_add(c, obj, field, ta, tb, NULL, NULL);
}

static int cmp_groups(struct vf_diff_ctx *c, ext2_filsys a, ext2_filsys b)
{
	dgrp_t n = a->group_desc_count < b->group_desc_count ? a->group_desc_count :
							       b->group_desc_count;
	int r = 0;

	for (dgrp_t g = 0; g < n && !r && !vf_diff_full(c); g++) {
		if ((r = gd_u(c, g, "block_bitmap", ext2fs_block_bitmap_loc(a, g),
			      ext2fs_block_bitmap_loc(b, g), VF_DIFF_DEC)) ||
		    (r = gd_u(c, g, "inode_bitmap", ext2fs_inode_bitmap_loc(a, g),
			      ext2fs_inode_bitmap_loc(b, g), VF_DIFF_DEC)) ||
		    (r = gd_u(c, g, "inode_table", ext2fs_inode_table_loc(a, g),
			      ext2fs_inode_table_loc(b, g), VF_DIFF_DEC)) ||
		    (r = gd_u(c, g, "free_blocks_count", ext2fs_bg_free_blocks_count(a, g),
			      ext2fs_bg_free_blocks_count(b, g), VF_DIFF_DEC)) ||
		    (r = gd_u(c, g, "free_inodes_count", ext2fs_bg_free_inodes_count(a, g),
			      ext2fs_bg_free_inodes_count(b, g), VF_DIFF_DEC)) ||
		    (r = gd_u(c, g, "used_dirs_count", ext2fs_bg_used_dirs_count(a, g),
			      ext2fs_bg_used_dirs_count(b, g), VF_DIFF_DEC)) ||
		    (r = gd_u(c, g, "itable_unused", ext2fs_bg_itable_unused(a, g),
			      ext2fs_bg_itable_unused(b, g), VF_DIFF_DEC)) ||
		    (r = gd_u(c, g, "flags", ext2fs_bg_flags(a, g), ext2fs_bg_flags(b, g), VF_DIFF_HEX4)) ||
		    (r = gd_u(c, g, "block_bitmap_csum", ext2fs_block_bitmap_checksum(a, g),
			      ext2fs_block_bitmap_checksum(b, g), VF_DIFF_HEX8)) ||
		    (r = gd_u(c, g, "inode_bitmap_csum", ext2fs_inode_bitmap_checksum(a, g),
			      ext2fs_inode_bitmap_checksum(b, g), VF_DIFF_HEX8)) ||
		    (r = gd_u(c, g, "checksum", ext2fs_bg_checksum(a, g), ext2fs_bg_checksum(b, g),
			      VF_DIFF_HEX4)))
			break;
	}
	return r;
}

static void count_bits(const uint8_t *x, const uint8_t *y, size_t bytes, uint64_t *only_a,
		       uint64_t *only_b)
{
	for (size_t i = 0; i < bytes; i++) {
		*only_a += (uint64_t)__builtin_popcount((unsigned)(x[i] & ~y[i] & 0xff));
		*only_b += (uint64_t)__builtin_popcount((unsigned)(y[i] & ~x[i] & 0xff));
	}
}

static int cmp_bitmaps(struct vf_diff_ctx *c, ext2_filsys a, ext2_filsys b, struct vf_err *err)
{
	uint32_t bpg = EXT2_BLOCKS_PER_GROUP(a->super), ipg = a->super->s_inodes_per_group;
	dgrp_t n = a->group_desc_count < b->group_desc_count ? a->group_desc_count :
							       b->group_desc_count;
	uint8_t *x = NULL, *y = NULL;
	errcode_t e;
	int r = 0;

	if (bpg != EXT2_BLOCKS_PER_GROUP(b->super) || ipg != b->super->s_inodes_per_group ||
	    a->super->s_first_data_block != b->super->s_first_data_block)
		return 0; /* the superblock findings say why; groups do not line up */
	if ((e = ext2fs_read_bitmaps(a)) || (e = ext2fs_read_bitmaps(b)))
		return vf_diff_ext2_err(err, e, "cannot read the bitmaps");
	x = malloc(bpg / 8 + 1);
	y = malloc(bpg / 8 + 1);
	if (!x || !y) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (dgrp_t g = 0; g < n && !r && !vf_diff_full(c); g++) {
		blk64_t start = a->super->s_first_data_block + (blk64_t)g * bpg;
		blk64_t end_a = ext2fs_blocks_count(a->super), end_b = ext2fs_blocks_count(b->super);
		blk64_t end = end_a < end_b ? end_a : end_b;
		size_t nb = end - start < bpg ? (size_t)(end - start) : bpg;
		uint64_t oa = 0, ob = 0;
		char obj[32];

		snprintf(obj, sizeof(obj), "group %u", g);
		memset(x, 0, bpg / 8 + 1);
		memset(y, 0, bpg / 8 + 1);
		if (start >= end)
			break;
		if ((e = ext2fs_get_block_bitmap_range2(a->block_map, start, nb, x)) ||
		    (e = ext2fs_get_block_bitmap_range2(b->block_map, start, nb, y))) {
			r = vf_diff_ext2_err(err, e, "cannot read the block bitmap of group %u", g);
			break;
		}
		count_bits(x, y, (nb + 7) / 8, &oa, &ob);
		if ((oa || ob) &&
		    (r = vf_diff_addf(c, obj, "block bitmap", NULL, NULL, NULL,
				      "block bitmap differs (%llu blocks used only in a, %llu only in b)",
				      (unsigned long long)oa, (unsigned long long)ob)))
			break;
		oa = ob = 0;
		memset(x, 0, bpg / 8 + 1);
		memset(y, 0, bpg / 8 + 1);
		if (ipg > bpg)
			continue; /* cannot happen in a valid file system; not compared */
		if ((e = ext2fs_get_inode_bitmap_range2(a->inode_map, (__u64)g * ipg + 1, ipg, x)) ||
		    (e = ext2fs_get_inode_bitmap_range2(b->inode_map, (__u64)g * ipg + 1, ipg, y))) {
			r = vf_diff_ext2_err(err, e, "cannot read the inode bitmap of group %u", g);
			break;
		}
		count_bits(x, y, (ipg + 7) / 8, &oa, &ob);
		if ((oa || ob) &&
		    (r = vf_diff_addf(c, obj, "inode bitmap", NULL, NULL, NULL,
				      "inode bitmap differs (%llu inodes used only in a, %llu only in b)",
				      (unsigned long long)oa, (unsigned long long)ob)))
			break;
	}
out:
	free(x);
	free(y);
	return r;
}

/* ---- structures: which one a differing block belongs to ---- */

struct owner_scan {
	const blk64_t *blocks;  /* sorted */
	size_t n;
	char **what;            /* per block: who owns it (malloc'd), NULL unknown */
	const char *path;
	ext2_ino_t ino;
	bool is_dir;
};

static int owner_cb(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t cnt, blk64_t ref, int off, void *priv)
{
	struct owner_scan *s = priv;
	char buf[600];

	(void)fs;
	(void)ref;
	(void)off;
	for (size_t i = 0; i < s->n; i++) {
		if (s->blocks[i] != *blk || s->what[i])
			continue;
		if (s->ino == EXT2_JOURNAL_INO)
			snprintf(buf, sizeof(buf), "journal (inode 8), block %lld of it", (long long)cnt);
		else if (cnt < 0)
			snprintf(buf, sizeof(buf), "extent tree block of %s", s->path);
		else if (s->is_dir)
			snprintf(buf, sizeof(buf), "directory block %lld of %s", (long long)cnt, s->path);
		else
			snprintf(buf, sizeof(buf), "data block %lld of %s", (long long)cnt, s->path);
		s->what[i] = strdup(buf);
	}
	return 0;
}

/* The fields of an on-disk inode, to name the bytes that differ. */
#define IF(n) { #n, offsetof(struct ext2_inode_large, i_##n), \
		sizeof(((struct ext2_inode_large *)0)->i_##n) }
static const struct {
	const char *name;
	unsigned off, size;
} inode_fields[] = {
	IF(mode), IF(uid), IF(size), IF(atime), IF(ctime), IF(mtime), IF(dtime), IF(gid),
	IF(links_count), IF(blocks), IF(flags), { "version", 0x24, 4 }, IF(block), IF(generation),
	IF(file_acl), IF(size_high), IF(faddr), { "blocks_hi", 0x74, 2 }, { "file_acl_high", 0x76, 2 },
	{ "uid_high", 0x78, 2 }, { "gid_high", 0x7a, 2 }, { "checksum_lo", 0x7c, 2 },
	{ "reserved", 0x7e, 2 }, IF(extra_isize), IF(checksum_hi), IF(ctime_extra), IF(mtime_extra),
	IF(atime_extra), IF(crtime), IF(crtime_extra), IF(version_hi), IF(projid),
};
#undef IF

/* "mode, checksum_lo" (or "in-inode xattrs") for the differing bytes of one inode. */
static size_t inode_field_text(const uint8_t *p, const uint8_t *q, unsigned isz, char *out,
			       size_t cap)
{
	size_t o = 0;
	unsigned end = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(inode_fields) / sizeof(inode_fields[0]); i++) {
		unsigned off = inode_fields[i].off, size = inode_fields[i].size;

		if (off + size > isz)
			continue;
		if (off + size > end)
			end = off + size;
		if (memcmp(p + off, q + off, size) && o + 40 < cap)
			o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? ", " : "",
					      inode_fields[i].name);
	}
	if (isz > end && memcmp(p + end, q + end, isz - end) && o + 40 < cap)
		o += (size_t)snprintf(out + o, cap - o, "%sin-inode xattrs", o ? ", " : "");
	return o;
}

/* Name the inodes (and their paths) whose bytes differ in one inode table block. */
static void inode_block_text(ext2_filsys a, int fa, uint64_t oa, int fb, uint64_t ob, blk64_t blk,
			     dgrp_t g, struct vf_diff_inode_map *map, char *out, size_t cap)
{
	unsigned isz = EXT2_INODE_SIZE(a->super), bs = a->blocksize;
	blk64_t first = ext2fs_inode_table_loc(a, g);
	uint64_t ino0 = (uint64_t)g * a->super->s_inodes_per_group + 1 +
			(blk - first) * (bs / isz);
	uint8_t *x = malloc(bs), *y = malloc(bs);
	size_t o;

	o = (size_t)snprintf(out, cap, "inode table of group %u", g);
	if (!x || !y || vf_fs_pread_full(fa, x, bs, oa + blk * bs) != (int64_t)bs ||
	    vf_fs_pread_full(fb, y, bs, ob + blk * bs) != (int64_t)bs)
		goto out;
	for (unsigned k = 0; k < bs / isz && o + 80 < cap; k++) {
		const uint8_t *p = x + k * isz, *q = y + k * isz;
		unsigned first_b = 0, last_b = 0;
		const char *path;

		if (!memcmp(p, q, isz))
			continue;
		while (p[first_b] == q[first_b])
			first_b++;
		last_b = isz - 1;
		while (p[last_b] == q[last_b])
			last_b--;
		path = vf_diff_inode_map_get(map, (uint32_t)(ino0 + k));
		{
			char fields[200];

			if (!inode_field_text(p, q, isz, fields, sizeof(fields)))
				snprintf(fields, sizeof(fields), "bytes %u\u2013%u", first_b, last_b);
			o += (size_t)snprintf(out + o, cap - o, "; inode %llu%s%s%s: %s",
					      (unsigned long long)(ino0 + k), path ? " (" : "",
					      path ? path : "", path ? ")" : "", fields);
		}
	}
out:
	free(x);
	free(y);
}

static void name_block(ext2_filsys a, blk64_t blk, char *out, size_t cap)
{
	out[0] = '\0';
	for (dgrp_t g = 0; g < a->group_desc_count; g++) {
		blk64_t super = 0, old_desc = 0, new_desc = 0, itab = ext2fs_inode_table_loc(a, g);
		blk_t used = 0;

		ext2fs_super_and_bgd_loc2(a, g, &super, &old_desc, &new_desc, &used);
		if (super && blk == super) {
			snprintf(out, cap, "%s of group %u", g ? "backup superblock" : "superblock", g);
			return;
		}
		if (g == 0 && blk == 0 && a->blocksize > SB_OFF + SB_SIZE) {
			snprintf(out, cap, "superblock");
			return;
		}
		if (old_desc && blk >= old_desc && blk < old_desc + a->desc_blocks) {
			snprintf(out, cap, "group descriptors (copy in group %u)", g);
			return;
		}
		if (blk == ext2fs_block_bitmap_loc(a, g)) {
			snprintf(out, cap, "block bitmap of group %u", g);
			return;
		}
		if (blk == ext2fs_inode_bitmap_loc(a, g)) {
			snprintf(out, cap, "inode bitmap of group %u", g);
			return;
		}
		if (blk >= itab && blk < itab + a->inode_blocks_per_group) {
			snprintf(out, cap, "\x01%u", g); /* inode table: named by the caller */
			return;
		}
	}
}

static int cmp_structures(struct vf_diff_ctx *c, ext2_filsys a, int fa, uint64_t oa, int fb,
			  uint64_t ob, struct vf_diff_inode_map *map, struct vf_err *err)
{
	unsigned bs = a->blocksize;
	blk64_t nblocks = ext2fs_blocks_count(a->super), found[MAX_BLOCKS_NAMED];
	char *what[MAX_BLOCKS_NAMED] = { NULL };
	uint64_t total = 0;
	size_t n = 0;
	uint8_t *x = malloc(bs), *y = malloc(bs);
	ext2_inode_scan scan = NULL;
	int r = 0;

	if (!x || !y) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* which blocks differ (holes of both files are skipped) */
	for (blk64_t blk = 0; blk < nblocks;) {
		struct vf_diff_range d;
		uint64_t span = nblocks - blk > 256 ? 256 : nblocks - blk;

		if ((r = vf_diff_raw_fd(fa, oa + blk * bs, span * bs, fb, ob + blk * bs, span * bs,
					"compared file systems", &d, err)))
			goto out;
		if (!d.differ) {
			blk += span;
			continue;
		}
		for (uint64_t k = d.first / bs; k < span; k++) {
			if (vf_fs_pread_full(fa, x, bs, oa + (blk + k) * bs) != (int64_t)bs ||
			    vf_fs_pread_full(fb, y, bs, ob + (blk + k) * bs) != (int64_t)bs) {
				r = vf_err_set(err, EIO, "cannot read block %llu",
					       (unsigned long long)(blk + k));
				goto out;
			}
			if (memcmp(x, y, bs)) {
				if (n < MAX_BLOCKS_NAMED)
					found[n++] = blk + k;
				total++;
			}
		}
		blk += span;
	}
	if (!n)
		goto out;
	/* metadata by position */
	for (size_t i = 0; i < n; i++) {
		char buf[2048];

		name_block(a, found[i], buf, sizeof(buf));
		if (buf[0] == '\x01')
			inode_block_text(a, fa, oa, fb, ob, found[i], (dgrp_t)strtoul(buf + 1, NULL, 10),
					 map, buf, sizeof(buf));
		if (buf[0] && !(what[i] = strdup(buf))) {
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	/* the rest by owner: every inode's blocks */
	if (ext2fs_open_inode_scan(a, 0, &scan) == 0) {
		struct ext2_inode_large in;
		ext2_ino_t ino;

		while (ext2fs_get_next_inode_full(scan, &ino, (struct ext2_inode *)&in, sizeof(in)) == 0 &&
		       ino) {
			struct owner_scan s = { found, n, what, NULL, ino, LINUX_S_ISDIR(in.i_mode) };
			char label[64];
			blk64_t acl;

			if (!in.i_links_count && ino != EXT2_JOURNAL_INO)
				continue;
			s.path = vf_diff_inode_map_get(map, ino);
			if (!s.path) {
				snprintf(label, sizeof(label), "inode %u", ino);
				s.path = label;
			}
			acl = ext2fs_file_acl_block(a, (struct ext2_inode *)&in);
			for (size_t i = 0; i < n; i++)
				if (acl && found[i] == acl && !what[i]) {
					char buf[600];

					snprintf(buf, sizeof(buf), "xattr block of %s", s.path);
					what[i] = strdup(buf);
				}
			if (ext2fs_inode_has_valid_blocks2(a, (struct ext2_inode *)&in))
				ext2fs_block_iterate3(a, ino, BLOCK_FLAG_READ_ONLY, NULL, owner_cb, &s);
		}
	}
	for (size_t i = 0; i < n && !r; i++) {
		char obj[48];
		int used = ext2fs_test_block_bitmap2(a->block_map, found[i]);

		snprintf(obj, sizeof(obj), "block %llu", (unsigned long long)found[i]);
		r = vf_diff_addf(c, obj, "structure", NULL, NULL, NULL, "differs: %s",
				 what[i] ? what[i] : used ? "used, owner not found" :
				 "a free block (part of no file)");
	}
	if (!r && total > n)
		r = vf_diff_addf(c, "blocks", "structure", NULL, NULL, NULL,
				 "%llu blocks differ in all (the first %zu are named above)",
				 (unsigned long long)total, n);
out:
	if (scan)
		ext2fs_close_inode_scan(scan);
	for (size_t i = 0; i < MAX_BLOCKS_NAMED; i++)
		free(what[i]);
	free(x);
	free(y);
	return r;
}

/* ---- the entry point ---- */

static bool path_findings(const struct vf_diff_ctx *c, size_t from)
{
	for (size_t i = from; i < c->r->n_findings; i++)
		if (c->r->findings[i].object[0] == '/')
			return true;
	return false;
}

static errcode_t open_fs(const char *path, uint64_t offset, ext2_filsys *ret)
{
	char io_options[32];

	snprintf(io_options, sizeof(io_options), "offset=%llu", (unsigned long long)offset);
	return ext2fs_open2(path, io_options, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
			    unix_io_manager, ret);
}

int vf_diff_ext4(struct vf_diff_ctx *c, const char *pa, int fa, uint64_t oa, uint64_t size_a,
		 const char *pb, int fb, uint64_t ob, uint64_t size_b, struct vf_err *err)
{
	uint8_t sa[SB_SIZE], sb[SB_SIZE];
	ext2_filsys a = NULL, b = NULL;
	struct vf_diff_inode_map map = { NULL, 0, 0, false };
	size_t before = c->r->n_findings;
	errcode_t e;
	int r = 0;

	pthread_once(&et_once, et_init);
	if (size_a < SB_OFF + SB_SIZE || size_b < SB_OFF + SB_SIZE ||
	    vf_fs_pread_full(fa, sa, SB_SIZE, oa + SB_OFF) != SB_SIZE ||
	    vf_fs_pread_full(fb, sb, SB_SIZE, ob + SB_OFF) != SB_SIZE)
		return vf_err_set(err, EIO, "cannot read the ext4 superblocks");
	if ((r = cmp_superblock(c, sa, sb)))
		goto out;
	e = open_fs(pa, oa, &a);
	if (!e)
		e = open_fs(pb, ob, &b);
	if (e) {
		struct vf_diff_range d;

		pthread_once(&et_once, et_init);
		if ((r = vf_diff_addf(c, "file system", "open", NULL, NULL, NULL,
				      "cannot be opened (%s): compared as bytes", error_message(e))))
			goto out;
		if ((r = vf_diff_raw_fd(fa, oa, size_a, fb, ob, size_b, "compared file systems", &d, err)))
			goto out;
		if (d.differ)
			r = vf_diff_add_range(c, "", "content", &d);
		goto out;
	}
	if ((r = cmp_groups(c, a, b)))
		goto out;
	if ((r = cmp_bitmaps(c, a, b, err)) == -EIO) {
		/* damaged bitmaps are a difference; the paths can still be compared */
		char msg[VF_ERR_MSG_MAX + 32];

		snprintf(msg, sizeof(msg), "cannot be compared: %s", err ? err->msg : "damaged");
		vf_err_clear(err);
		r = vf_diff_add(c, "bitmaps", "unreadable", NULL, NULL, NULL, msg);
	}
	if (r)
		goto out;
	if ((r = vf_diff_ext4_tree(c, a, b, &map, err)))
		goto out;
	/* no path differs, yet the bytes do: say which structures */
	if (!path_findings(c, before) && !vf_diff_full(c)) {
		if (a->blocksize != b->blocksize ||
		    ext2fs_blocks_count(a->super) != ext2fs_blocks_count(b->super))
			goto out;
		r = cmp_structures(c, a, fa, oa, fb, ob, &map, err);
		if (!r && !path_findings(c, before) && c->r->n_findings == before) {
			struct vf_diff_range d;

			/* past the file system's last block (a partition larger than its fs) */
			if ((r = vf_diff_raw_fd(fa, oa, size_a, fb, ob, size_b, "compared file systems", &d,
						err)))
				goto out;
			if (d.differ)
				r = vf_diff_add_range(c, "", "past the file system", &d);
		}
	}
out:
	vf_diff_inode_map_release(&map);
	if (a)
		ext2fs_free(a);
	if (b)
		ext2fs_free(b);
	return r;
}
