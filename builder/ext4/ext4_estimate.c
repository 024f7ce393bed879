/*
 * What a tree needs, and the smallest file system that holds it.
 *
 * The count is an upper bound of what ext4_populate.c allocates:
 *  - file data: the non-zero blocks (exact) or every block (upper bound);
 *  - extent tree blocks for each inode's extents, counting libext2fs's
 *    append-time splits (one entry per node is left free);
 *  - directory blocks exactly as they are laid out, lost+found's 16 KiB;
 *  - one block for each slow symlink and for each inode whose xattrs do not
 *    all fit inside the inode (libext2fs's first-fit, simulated);
 *  - file system metadata and the journal, measured by making the empty file
 *    system in memory with the same code as the real one (ext4_mkfs.c);
 *  - slack: a few blocks per group, since every metadata area or journal the
 *    linear allocator steps over can split one extent in two.
 */
#include "builder/ext4/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCAN_CHUNK (1u << 20)
#define MIB (UINT64_C(1) << 20)

/* Longest initialised extent (EXT_INIT_MAX_LEN). */
#define MAX_EXTENT_LEN 32768u

static bool block_is_zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

uint64_t vf_ext4_extent_tree_blocks(uint64_t extents, uint32_t block_size)
{
	/* entries per node, less the one an append-time split leaves behind */
	uint64_t per = (block_size - sizeof(struct ext3_extent_header)) /
			       sizeof(struct ext3_extent) - 1;
	uint64_t total = 0, level = extents;

	while (level > 4) { /* 4 entries fit in the inode itself */
		level = (level + per - 1) / per;
		total += level;
	}
	return total;
}

int vf_ext4_scan_file(const struct vf_tree *t, const struct vf_tree_entry *e,
		      uint32_t block_size, bool exact, struct vf_ext4_filescan *ret,
		      struct vf_err *err)
{
	uint64_t run = 0, off = 0;
	uint8_t *buf = NULL;
	int fd = -1, r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!exact) {
		ret->blocks = (e->size + block_size - 1) / block_size;
		ret->extents = (ret->blocks + MAX_EXTENT_LEN - 1) / MAX_EXTENT_LEN;
		return 0;
	}
	if (!e->size)
		return 0;
	if ((fd = vf_tree_open_content(t, e, err)) < 0)
		return fd;
	if (!(buf = malloc(SCAN_CHUNK))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (off < e->size) {
		size_t want = e->size - off < SCAN_CHUNK ? (size_t)(e->size - off) : SCAN_CHUNK;
		int64_t got = vf_fs_pread_full(fd, buf, want, off);

		if (got < 0) {
			r = vf_err_sys(err, (int)-got, "cannot read the content");
			goto out;
		}
		if ((size_t)got < want) {
			r = vf_err_set(err, EIO, "the content is %llu bytes, not %llu",
				       (unsigned long long)(off + (uint64_t)got),
				       (unsigned long long)e->size);
			goto out;
		}
		for (size_t i = 0; i < want; i += block_size) {
			size_t n = want - i < block_size ? want - i : block_size;

			if (block_is_zero(buf + i, n)) {
				ret->extents += (run + MAX_EXTENT_LEN - 1) / MAX_EXTENT_LEN;
				run = 0;
			} else {
				ret->blocks++;
				run++;
			}
		}
		off += want;
	}
	ret->extents += (run + MAX_EXTENT_LEN - 1) / MAX_EXTENT_LEN;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Whether some xattr goes to an external block (libext2fs fills the inode first-fit). */
static bool xattrs_need_block(const struct vf_tree_entry *e, uint32_t inode_size)
{
	int64_t ibody_free = 0;

	if (!e || !e->n_xattrs)
		return false;
	if (inode_size > EXT2_GOOD_OLD_INODE_SIZE)
		ibody_free = (int64_t)inode_size - EXT2_GOOD_OLD_INODE_SIZE -
			     (int64_t)(sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE) -
			     2 * (int64_t)sizeof(uint32_t);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const char *suffix;
		int64_t need;

		vf_ext4_xattr_index(e->xattrs[i].name, &suffix);
		/* ACLs shrink when converted to the disk format: the raw size is a bound */
		need = EXT2_EXT_ATTR_LEN(strlen(suffix)) + EXT2_EXT_ATTR_SIZE(e->xattrs[i].len);
		if (need > ibody_free)
			return true;
		ibody_free -= need;
	}
	return false;
}

int vf_ext4_need_build(const struct vf_ext4_plan *p, const struct vf_ext4_params *prm,
		       bool exact, struct vf_ext4_need *ret, struct vf_err *err)
{
	uint32_t bs = prm->block_size;
	uint64_t blocks = 0;

	memset(ret, 0, sizeof(*ret));
	for (uint32_t i = 0; i < p->n; i++) {
		const struct vf_ext4_node *nd = &p->nodes[i];
		const struct vf_tree_entry *e = nd->e;
		enum vf_tree_type type = e ? e->type : VF_TREE_DIR;
		struct vf_ext4_filescan scan = { 0, 0 };
		int r;

		switch (type) {
		case VF_TREE_DIR:
			scan.blocks = nd->dir_blocks;
			scan.extents = (scan.blocks + MAX_EXTENT_LEN - 1) / MAX_EXTENT_LEN;
			break;
		case VF_TREE_FILE:
			if ((r = vf_ext4_scan_file(p->t, e, bs, exact, &scan, err)))
				return vf_err_prefix(err, "'/%s'", e->path);
			break;
		case VF_TREE_SYMLINK:
			if (e->link && strlen(e->link) >= sizeof(((struct ext2_inode *)0)->i_block))
				scan.blocks = scan.extents = 1;
			break;
		default:
			break;
		}
		blocks += scan.blocks + vf_ext4_extent_tree_blocks(scan.extents, bs);
		if (type != VF_TREE_HARDLINK && xattrs_need_block(e, prm->inode_size))
			blocks++;
	}
	ret->blocks = blocks;
	ret->inodes = p->inodes;
	return 0;
}

uint64_t vf_ext4_default_inodes(const struct vf_ext4_params *prm, uint64_t need_inodes,
				uint64_t blocks)
{
	uint64_t n = need_inodes + need_inodes / 64 + 16;

	/* a writable file system gets mke2fs's ext4 ratio: one inode per 16 KiB */
	if (prm->journal && blocks * prm->block_size / 16384 > n)
		n = blocks * prm->block_size / 16384;
	return n > UINT32_MAX ? UINT32_MAX : n;
}

uint64_t vf_ext4_total_blocks(const struct vf_ext4_need *need, const struct vf_ext4_geom *g)
{
	return need->blocks + g->used + g->slack + g->reserved;
}

bool vf_ext4_fits(const struct vf_ext4_need *need, const struct vf_ext4_geom *g)
{
	return vf_ext4_total_blocks(need, g) <= g->blocks && need->inodes <= g->inodes;
}

int vf_ext4_min_size(const struct vf_ext4_params *prm, const struct vf_ext4_need *need,
		     uint64_t *ret_size, struct vf_ext4_geom *ret_geom, struct vf_err *err)
{
	uint64_t per_mib = MIB / prm->block_size;
	uint64_t max_mib = ((UINT64_C(1) << 48) - 1) / per_mib;
	uint64_t inode_bytes = (prm->inodes ? prm->inodes : need->inodes) * prm->inode_size;
	uint64_t mib;

	if (prm->inodes && prm->inodes < need->inodes)
		return vf_err_set(err, ENOSPC, "%llu inodes requested; the tree needs %llu",
				  (unsigned long long)prm->inodes,
				  (unsigned long long)need->inodes);
	/* a lower bound: the data and the inode tables */
	mib = (need->blocks * prm->block_size + inode_bytes + MIB - 1) / MIB;
	if (!mib)
		mib = 1;
	for (unsigned iter = 0; iter < 100000 && mib <= max_mib; iter++) {
		struct vf_ext4_params q = *prm;
		struct vf_ext4_geom g;
		ext2_filsys fs = NULL;
		bool too_small = false;
		uint64_t inodes, next;
		int r;

		q.size = mib * MIB;
		q.offset = 0; /* sizing is the same wherever the file system goes */
		inodes = prm->inodes ? prm->inodes :
				       vf_ext4_default_inodes(&q, need->inodes, mib * per_mib);
		r = vf_ext4_mkfs("vforge-sizing", vf_ext4_mem_io_manager(), &q, inodes, &fs, &g,
				 &too_small, err);
		if (fs)
			ext2fs_free(fs);
		if (r && too_small) {
			vf_err_clear(err);
			mib++;
			continue;
		}
		if (r)
			return r;
		if (vf_ext4_fits(need, &g)) {
			*ret_size = mib * MIB;
			*ret_geom = g;
			return 0;
		}
		next = (vf_ext4_total_blocks(need, &g) + per_mib - 1) / per_mib;
		mib = next > mib ? next : mib + 1;
	}
	return vf_err_set(err, EFBIG, "no ext4 file system of at most %llu MiB holds the tree",
			  (unsigned long long)max_mib);
}
