/*
 * Directory blocks, built in memory from the sorted children.
 *
 * ext2fs_link searches the directory for room on every call (quadratic for
 * 50,000 names) and leaves big directories unindexed, so directories are laid
 * out here, the way e2fsck -D lays them out:
 *
 *  - A directory whose entries fit one block is linear: ".", "..", then the
 *    children in name order. lost+found is always linear (and 16 KiB).
 *  - A bigger one gets an htree (dir_index): block 0 is the dx root ("." and
 *    ".." and the index), then interior index blocks if one level of index
 *    is not enough, then the leaves. Leaves hold the children sorted by
 *    (hash, minor hash, name) with the file system's hash seed, as many as
 *    fit; a leaf that starts in the middle of a run of equal hashes is
 *    indexed with the hash's low bit set (the continuation mark).
 *
 * In every leaf each record is as short as its name allows; a record that
 * does not fit starts the next block; the last record of a block is
 * stretched to the 12-byte checksum tail (metadata_csum). Blocks are written
 * with ext2fs_write_dir_block4, which computes the leaf and index checksums.
 *
 * Hashes: libext2fs 1.47.0's ext2fs_dirhash2 returns 0xfffffffe for names
 * whose hash the kernel maps to 0xfffffffc (EXT4_HTREE_EOF_32BIT); the
 * kernel's value is used, since the kernel does the lookups.
 */
#include "builder/ext4/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TAIL_SIZE ((uint32_t)sizeof(struct ext2_dir_entry_tail))
#define DX_ENTRY ((uint32_t)sizeof(struct ext2_dx_entry))
#define DX_TAIL ((uint32_t)sizeof(struct ext2_dx_tail))
#define ROOT_COUNT_OFFSET 32u
/* The kernel's end-of-directory hash (fs/ext4/ext4.h), not in libext2fs's headers. */
#define HTREE_EOF_32BIT 0x7fffffffu
#define NODE_COUNT_OFFSET 8u

static uint32_t root_limit(uint32_t bs)
{
	return (bs - ROOT_COUNT_OFFSET - DX_TAIL) / DX_ENTRY;
}

static uint32_t node_limit(uint32_t bs)
{
	return (bs - NODE_COUNT_OFFSET - DX_TAIL) / DX_ENTRY;
}

void vf_ext4_dirlayout_release(struct vf_ext4_dirlayout *l)
{
	if (!l)
		return;
	free(l->order);
	free(l->hash);
	free(l->leaf_start);
	memset(l, 0, sizeof(*l));
}

/* Leaves needed for order[0..n) when the first leaf already holds `first_used` bytes. */
static uint32_t pack(const struct vf_ext4_plan *p, const uint32_t *order, uint32_t n,
		     uint32_t first_used, uint32_t *leaf_start)
{
	uint32_t usable = p->block_size - TAIL_SIZE, used = first_used, leaves = 1;

	if (leaf_start)
		leaf_start[0] = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t rec = EXT2_DIR_REC_LEN(strlen(p->nodes[order[i]].name));

		if (used + rec > usable) {
			if (leaf_start)
				leaf_start[leaves] = i;
			leaves++;
			used = 0;
		}
		used += rec;
	}
	if (leaf_start)
		leaf_start[leaves] = n;
	return leaves;
}

struct keyed {
	uint32_t hash, minor, node;
	const char *name;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->minor != y->minor)
		return x->minor < y->minor ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int hash_name(const struct vf_ext4_plan *p, const char *name, uint32_t *hash,
		     uint32_t *minor, struct vf_err *err)
{
	ext2_dirhash_t h = 0, m = 0;
	errcode_t e = ext2fs_dirhash2(EXT2_HASH_HALF_MD4, name, (int)strlen(name), NULL, 0,
				      p->hash_seed, &h, &m);

	if (e)
		return vf_ext4_errcode(err, e, "cannot hash '%s'", name);
	if (h == (HTREE_EOF_32BIT << 1))
		h = (HTREE_EOF_32BIT - 1) << 1;
	*hash = h;
	*minor = m;
	return 0;
}

/* Sort the children by hash and pack them into leaves; false when too big to index. */
static int layout_indexed(const struct vf_ext4_plan *p, struct vf_ext4_dirlayout *l,
			  bool *indexed, struct vf_err *err)
{
	struct keyed *k = calloc(l->n, sizeof(*k));
	uint32_t i, c, leaves;
	int r = 0;

	*indexed = false;
	if (!k)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < l->n; i++) {
		k[i].node = l->order[i];
		k[i].name = p->nodes[l->order[i]].name;
		if ((r = hash_name(p, k[i].name, &k[i].hash, &k[i].minor, err)))
			goto out;
	}
	qsort(k, l->n, sizeof(*k), keyed_cmp);
	if (!(l->hash = calloc(l->n, sizeof(*l->hash)))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < l->n; i++) {
		l->order[i] = k[i].node;
		l->hash[i] = k[i].hash;
	}
	leaves = pack(p, l->order, l->n, 0, NULL);
	if (!(l->leaf_start = calloc((size_t)leaves + 1, sizeof(*l->leaf_start)))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	l->n_leaves = pack(p, l->order, l->n, 0, l->leaf_start);
	l->n_nodes = 0;
	if (l->n_leaves > root_limit(p->block_size)) {
		c = (l->n_leaves + node_limit(p->block_size) - 1) / node_limit(p->block_size);
		if (c > root_limit(p->block_size))
			goto out; /* more than two levels need large_dir: stay linear */
		l->n_nodes = c;
	}
	l->blocks = 1 + (uint64_t)l->n_nodes + l->n_leaves;
	*indexed = true;
out:
	free(k);
	return r;
}

int vf_ext4_dir_layout(const struct vf_ext4_plan *p, uint32_t dir, struct vf_ext4_dirlayout *ret,
		       struct vf_err *err)
{
	const uint32_t dots = 2 * EXT2_DIR_REC_LEN(2);
	uint32_t n = 0, i = 0, leaves;
	bool indexed = false;
	int r;

	memset(ret, 0, sizeof(*ret));
	for (uint32_t c = p->nodes[dir].first_child; c != VF_EXT4_NONE; c = p->nodes[c].next)
		n++;
	ret->n = n;
	if (!(ret->order = calloc(n ? n : 1, sizeof(*ret->order))))
		return vf_err_set(err, ENOMEM, "out of memory");
	for (uint32_t c = p->nodes[dir].first_child; c != VF_EXT4_NONE; c = p->nodes[c].next)
		ret->order[i++] = c;

	leaves = pack(p, ret->order, n, dots, NULL);
	if (leaves > 1 && dir != p->lpf) {
		if ((r = layout_indexed(p, ret, &indexed, err))) {
			vf_ext4_dirlayout_release(ret);
			return r;
		}
		if (indexed) {
			ret->indexed = true;
			return 0;
		}
		/* too big to index: back to name order, linear */
		free(ret->hash);
		free(ret->leaf_start);
		ret->hash = ret->leaf_start = NULL;
		i = 0;
		for (uint32_t c = p->nodes[dir].first_child; c != VF_EXT4_NONE; c = p->nodes[c].next)
			ret->order[i++] = c;
	}
	if (!(ret->leaf_start = calloc((size_t)leaves + 1, sizeof(*ret->leaf_start)))) {
		vf_ext4_dirlayout_release(ret);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	ret->n_leaves = pack(p, ret->order, n, dots, ret->leaf_start);
	ret->blocks = ret->n_leaves;
	if (dir == p->lpf) {
		uint32_t min = VF_EXT4_LPF_BYTES / p->block_size;

		min = min < 2 ? 2 : min > EXT2_NDIR_BLOCKS ? EXT2_NDIR_BLOCKS : min;
		if (ret->blocks < min)
			ret->blocks = min;
	}
	return 0;
}

/* ---- writing ---- */

static int file_type(const struct vf_ext4_node *nd)
{
	if (!nd->e)
		return EXT2_FT_DIR;
	switch (nd->e->type) {
	case VF_TREE_FILE:
	case VF_TREE_HARDLINK:
		return EXT2_FT_REG_FILE;
	case VF_TREE_DIR:
		return EXT2_FT_DIR;
	case VF_TREE_SYMLINK:
		return EXT2_FT_SYMLINK;
	case VF_TREE_CHR:
		return EXT2_FT_CHRDEV;
	case VF_TREE_BLK:
		return EXT2_FT_BLKDEV;
	case VF_TREE_FIFO:
		return EXT2_FT_FIFO;
	case VF_TREE_SOCK:
		return EXT2_FT_SOCK;
	}
	return EXT2_FT_UNKNOWN;
}

struct dirw {
	ext2_filsys fs;
	ext2_ino_t ino;
	const struct vf_ext4_dir_map *map;
	uint8_t *buf;
};

static int put_block(struct dirw *d, uint64_t lblk, struct vf_err *err)
{
	blk64_t pblk = d->map->pblk(d->map->ctx, lblk);
	errcode_t e;

	if (!pblk)
		return vf_err_set(err, EFAULT, "directory block %llu is not mapped",
				  (unsigned long long)lblk);
	if ((e = ext2fs_write_dir_block4(d->fs, pblk, d->buf, 0, d->ino)))
		return vf_ext4_errcode(err, e, "cannot write directory block %llu",
				       (unsigned long long)lblk);
	return 0;
}

/* Put a record at `off`; returns the record for stretching. */
static struct ext2_dir_entry *put_dirent(struct dirw *d, uint32_t off, ext2_ino_t ino,
					 const char *name, int type)
{
	struct ext2_dir_entry *de = (struct ext2_dir_entry *)(d->buf + off);
	size_t len = strlen(name);

	de->inode = ino;
	ext2fs_dirent_set_name_len(de, (int)len);
	ext2fs_dirent_set_file_type(de, type);
	memcpy(de->name, name, len);
	return de;
}

static int set_rec_len(struct dirw *d, struct ext2_dir_entry *de, uint32_t len,
		       struct vf_err *err)
{
	errcode_t e = ext2fs_set_rec_len(d->fs, len, de);

	return e ? vf_ext4_errcode(err, e, "cannot set a record length of %u", len) : 0;
}

/* One leaf: children order[from..to), after `first_used` bytes already placed. */
static int put_leaf(struct dirw *d, const struct vf_ext4_plan *p, const uint32_t *order,
		    uint32_t from, uint32_t to, uint32_t first_used, struct ext2_dir_entry *last,
		    uint64_t lblk, struct vf_err *err)
{
	uint32_t usable = d->fs->blocksize - TAIL_SIZE, used = first_used;
	int r;

	for (uint32_t i = from; i < to; i++) {
		const struct vf_ext4_node *c = &p->nodes[order[i]];
		uint32_t rec = EXT2_DIR_REC_LEN(strlen(c->name));

		if (used + rec > usable)
			return vf_err_set(err, EFAULT, "directory leaf %llu overflows",
					  (unsigned long long)lblk);
		last = put_dirent(d, used, c->ino, c->name, file_type(c));
		if ((r = set_rec_len(d, last, rec, err)))
			return r;
		used += rec;
	}
	if (!last) /* an empty block: one unused record spans it */
		last = put_dirent(d, 0, 0, "", 0);
	if ((r = set_rec_len(d, last, usable - (uint32_t)((uint8_t *)last - d->buf), err)))
		return r;
	ext2fs_initialize_dirent_tail(d->fs, EXT2_DIRENT_TAIL(d->buf, d->fs->blocksize));
	return put_block(d, lblk, err);
}

/* The hash a leaf is indexed under (0 for the first). */
static uint32_t leaf_hash(const struct vf_ext4_dirlayout *l, uint32_t leaf)
{
	uint32_t at = l->leaf_start[leaf];

	if (!leaf)
		return 0;
	return l->hash[at] | (l->hash[at - 1] == l->hash[at] ? 1u : 0u);
}

/* Fill a dx entry array at `off`: entries for leaves [from, to) pointing at lblk base+i. */
static void put_dx(struct dirw *d, uint32_t off, uint32_t limit, const uint32_t *hashes,
		   const uint64_t *blocks, uint32_t count)
{
	struct ext2_dx_countlimit *cl = (struct ext2_dx_countlimit *)(d->buf + off);
	struct ext2_dx_entry *ent = (struct ext2_dx_entry *)(d->buf + off);

	for (uint32_t i = 0; i < count; i++) {
		if (i)
			ent[i].hash = ext2fs_cpu_to_le32(hashes[i]);
		ent[i].block = ext2fs_cpu_to_le32((uint32_t)blocks[i]);
	}
	cl->limit = ext2fs_cpu_to_le16((uint16_t)limit);
	cl->count = ext2fs_cpu_to_le16((uint16_t)count);
}

static int write_indexed(struct dirw *d, const struct vf_ext4_plan *p, uint32_t dir,
			 const struct vf_ext4_dirlayout *l, struct vf_err *err)
{
	uint32_t bs = d->fs->blocksize, nl = node_limit(bs);
	uint32_t top = l->n_nodes ? l->n_nodes : l->n_leaves;
	uint64_t first_leaf = 1 + (uint64_t)l->n_nodes;
	uint32_t *hashes = calloc(top > nl ? top : nl, sizeof(*hashes));
	uint64_t *blocks = calloc(top > nl ? top : nl, sizeof(*blocks));
	struct ext2_dx_root_info *info;
	struct ext2_dir_entry *de;
	int r = 0;

	if (!hashes || !blocks) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* the root: ".", ".." spanning the block, the root info, the top index */
	memset(d->buf, 0, bs);
	de = put_dirent(d, 0, p->nodes[dir].ino, ".", EXT2_FT_DIR);
	if ((r = set_rec_len(d, de, EXT2_DIR_REC_LEN(1), err)))
		goto out;
	de = put_dirent(d, EXT2_DIR_REC_LEN(1), p->nodes[p->nodes[dir].parent].ino, "..",
			EXT2_FT_DIR);
	if ((r = set_rec_len(d, de, bs - EXT2_DIR_REC_LEN(1), err)))
		goto out;
	info = (struct ext2_dx_root_info *)(d->buf + 2 * EXT2_DIR_REC_LEN(1));
	info->reserved_zero = 0;
	info->hash_version = EXT2_HASH_HALF_MD4;
	info->info_length = sizeof(*info);
	info->indirect_levels = l->n_nodes ? 1 : 0;
	info->unused_flags = 0;
	for (uint32_t i = 0; i < top; i++) {
		hashes[i] = leaf_hash(l, l->n_nodes ? i * nl : i);
		blocks[i] = l->n_nodes ? 1 + i : first_leaf + i;
	}
	put_dx(d, ROOT_COUNT_OFFSET, root_limit(bs), hashes, blocks, top);
	if ((r = put_block(d, 0, err)))
		goto out;

	/* interior nodes: a fake empty record spanning the block, then the index */
	for (uint32_t j = 0; j < l->n_nodes; j++) {
		uint32_t from = j * nl, count = l->n_leaves - from < nl ? l->n_leaves - from : nl;

		memset(d->buf, 0, bs);
		de = put_dirent(d, 0, 0, "", 0);
		if ((r = set_rec_len(d, de, bs, err)))
			goto out;
		for (uint32_t i = 0; i < count; i++) {
			hashes[i] = leaf_hash(l, from + i);
			blocks[i] = first_leaf + from + i;
		}
		put_dx(d, NODE_COUNT_OFFSET, nl, hashes, blocks, count);
		if ((r = put_block(d, 1 + j, err)))
			goto out;
	}

	for (uint32_t i = 0; i < l->n_leaves; i++) {
		memset(d->buf, 0, bs);
		if ((r = put_leaf(d, p, l->order, l->leaf_start[i], l->leaf_start[i + 1], 0, NULL,
				  first_leaf + i, err)))
			goto out;
	}
out:
	free(hashes);
	free(blocks);
	return r;
}

static int write_linear(struct dirw *d, const struct vf_ext4_plan *p, uint32_t dir,
			const struct vf_ext4_dirlayout *l, struct vf_err *err)
{
	uint32_t bs = d->fs->blocksize;
	struct ext2_dir_entry *de;
	int r;

	for (uint64_t b = 0; b < l->blocks; b++) {
		uint32_t from = b < l->n_leaves ? l->leaf_start[b] : l->n;
		uint32_t to = b < l->n_leaves ? l->leaf_start[b + 1] : l->n;

		memset(d->buf, 0, bs);
		de = NULL;
		if (b == 0) {
			de = put_dirent(d, 0, p->nodes[dir].ino, ".", EXT2_FT_DIR);
			if ((r = set_rec_len(d, de, EXT2_DIR_REC_LEN(1), err)))
				return r;
			de = put_dirent(d, EXT2_DIR_REC_LEN(1), p->nodes[p->nodes[dir].parent].ino, "..",
					EXT2_FT_DIR);
			if ((r = set_rec_len(d, de, EXT2_DIR_REC_LEN(2), err)))
				return r;
		}
		if ((r = put_leaf(d, p, l->order, from, to, b ? 0 : 2 * EXT2_DIR_REC_LEN(2), de, b,
				  err)))
			return r;
	}
	return 0;
}

int vf_ext4_dir_write(ext2_filsys fs, const struct vf_ext4_plan *p, uint32_t dir,
		      const struct vf_ext4_dirlayout *l, const struct vf_ext4_dir_map *map,
		      uint8_t *buf, struct vf_err *err)
{
	struct dirw d = { fs, p->nodes[dir].ino, map, buf };

	return l->indexed ? write_indexed(&d, p, dir, l, err) : write_linear(&d, p, dir, l, err);
}
