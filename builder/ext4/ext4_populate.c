/*
 * Writing the plan's inodes into an empty file system (from ext4_mkfs.c).
 *
 * Order: inode 1 (stamped like mke2fs's bad-blocks inode), the root, then
 * lost+found, then every other entry in path order. Hardlinks only add a
 * directory entry (the link count was counted in the plan).
 *
 * Blocks come from one cursor that only moves forward over the block bitmap
 * (alloc_range): each inode's data or directory blocks, then its extent tree
 * blocks and xattr block, in the order they are written. libext2fs's own
 * allocations (extent tree nodes, xattr blocks) go through the same cursor
 * via ext2fs_set_alloc_block_callback. So the layout depends on nothing but
 * the tree and the options.
 *
 * File data is read in 1 MiB pieces; all-zero blocks are skipped (holes).
 * Runs of non-zero blocks are gathered while they follow each other on disk
 * (consecutive small files usually do) and written with one
 * io_channel_write_blk64 per WC_BYTES at most: one small write per file made
 * the kernel's per-write cost the larger part of writing a tree of small
 * files. With an on_data callback, a thread of its own (struct reporter)
 * reports each piece while it is written and the next one is gathered in a
 * second buffer. Nothing reads those blocks back before the end of
 * population, where the rest is written.
 * Extents are collected in memory (at most 32768 blocks each) and inserted
 * once per extent. Directory blocks are laid out by ext4_dir.c.
 *
 * Every inode is written whole from a zeroed buffer: i_generation 0, atime,
 * ctime and crtime the timestamp, mtime the entry's, *_extra only the epoch
 * bits past 2038 (nanoseconds 0), uid/gid with their high 16 bits.
 */
#include "builder/ext4/internal.h"

#include "builder/base/fs.h"
#include "builder/base/handoff.h"
#include "builder/tree/store.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define MAX_EXTENT_LEN 32768u
#define WC_BYTES (4u << 20)
#define PW_BYTES (4u << 20)

struct extent {
	blk64_t lblk, pblk;
	uint32_t len;
};

/*
 * The reporter: a thread (builder/base/handoff.h) that passes a written
 * piece (`flight`) to prm->on_data while the next piece is gathered.
 */
struct reporter {
	bool on;                  /* there is a callback */
	struct vf_handoff h;
	uint8_t *flight;          /* WC_BYTES, being reported while busy */
	blk64_t f_start;
	uint64_t f_n;
	size_t rel_from, rel_to;  /* then releases the pack's units rl.u[rel_from, rel_to) */
};

/*
 * Releasing the pack behind the writer (prm->release_contents): for each
 * PACK_RELEASE_UNIT of the pack, the last node whose content lies in it;
 * units in that order, released once that node is written.
 */
struct release_unit {
	uint32_t last;            /* node index + 1 of its last use, 0: none */
	uint32_t unit;            /* which PACK_RELEASE_UNIT of the pack */
};

struct releaser {
	struct release_unit *u;   /* every unit, then sorted by `last` */
	size_t n, next;           /* units; the next one free to release */
	size_t handed;            /* units before it are released or handed to the reporter */
};

struct wctx {
	ext2_filsys fs;
	const struct vf_ext4_plan *p;
	const struct vf_ext4_params *prm;
	uint32_t bs;
	blk64_t cursor;           /* every block below it is in use */
	blk64_t end;              /* blocks count */
	uint8_t *buf;             /* CHUNK bytes */
	struct ext2_inode_large *inode; /* inode_size bytes (at least the large struct) */
	struct extent *ext;       /* the current inode's extents */
	size_t n_ext, cap_ext;
	uint64_t data_blocks;     /* the current inode's blocks (not extent tree nodes) */
	uint8_t *wc;              /* WC_BYTES: data blocks gathered, not written yet: */
	blk64_t wc_start;         /* the first one's block number */
	uint64_t wc_n, wc_cap;    /* how many are gathered, and fit */
	struct reporter rp;
	struct releaser rl;
	const struct vf_tree_xattr **xo; /* the current entry's xattrs, sorted (xattrs_sort) */
	size_t xo_cap;
	uint8_t *pw;              /* PW_BYTES: a window over the pack (packed contents */
	int pw_fd;                /* follow each other there): its fd (-1: none), */
	uint64_t pw_off, pw_len;  /* where the window starts, and its bytes */
};

static bool block_is_zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/* Take up to `want` free blocks at the cursor. */
static int alloc_range(struct wctx *w, uint64_t want, blk64_t *ret_blk, uint64_t *ret_len,
		       struct vf_err *err)
{
	blk64_t start, stop, last;

	if (w->cursor >= w->end ||
	    ext2fs_find_first_zero_block_bitmap2(w->fs->block_map, w->cursor, w->end - 1, &start))
		return vf_err_set(err, ENOSPC, "the file system is full (%llu blocks)",
				  (unsigned long long)w->end);
	last = start + want - 1 < w->end - 1 ? start + want - 1 : w->end - 1;
	if (ext2fs_find_first_set_block_bitmap2(w->fs->block_map, start, last, &stop))
		stop = last + 1;
	ext2fs_block_alloc_stats_range(w->fs, start, (blk_t)(stop - start), +1);
	w->cursor = stop;
	*ret_blk = start;
	*ret_len = stop - start;
	return 0;
}

/* libext2fs's own single-block allocations (it marks the block in use itself). */
static errcode_t alloc_block_cb(ext2_filsys fs, blk64_t goal, blk64_t *ret)
{
	struct wctx *w = fs->priv_data;
	blk64_t start;

	(void)goal;
	if (w->cursor >= w->end ||
	    ext2fs_find_first_zero_block_bitmap2(fs->block_map, w->cursor, w->end - 1, &start))
		return EXT2_ET_BLOCK_ALLOC_FAIL;
	w->cursor = start + 1;
	*ret = start;
	return 0;
}

static int add_extent(struct wctx *w, blk64_t lblk, blk64_t pblk, uint64_t len,
		      struct vf_err *err)
{
	while (len) {
		struct extent *last = w->n_ext ? &w->ext[w->n_ext - 1] : NULL;
		uint32_t take;

		if (last && last->lblk + last->len == lblk && last->pblk + last->len == pblk &&
		    last->len < MAX_EXTENT_LEN) {
			take = MAX_EXTENT_LEN - last->len < len ? MAX_EXTENT_LEN - last->len :
								  (uint32_t)len;
			last->len += take;
		} else {
			if (w->n_ext == w->cap_ext) {
				size_t cap = w->cap_ext ? 2 * w->cap_ext : 64;
				struct extent *x = realloc(w->ext, cap * sizeof(*x));

				if (!x)
					return vf_err_set(err, ENOMEM, "out of memory");
				w->ext = x;
				w->cap_ext = cap;
			}
			take = len < MAX_EXTENT_LEN ? (uint32_t)len : MAX_EXTENT_LEN;
			w->ext[w->n_ext++] = (struct extent){ lblk, pblk, take };
		}
		lblk += take;
		pblk += take;
		len -= take;
	}
	return 0;
}

static void report(const struct wctx *w, const uint8_t *data, blk64_t start, uint64_t n)
{
	w->prm->on_data(w->prm->on_data_ctx, start * w->bs, data, (size_t)(n * w->bs));
}

/* Punch the pack's units rl.u[from, to) (their contents are all written). */
static void release_units(const struct wctx *w, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		vf_tree_pack_release(w->p->t, (uint64_t)w->rl.u[i].unit * PACK_RELEASE_UNIT,
				     PACK_RELEASE_UNIT);
}

/*
 * The reporter's work: the piece handed over, then the pack's units freed
 * meanwhile (a punch costs the writer's thread ~1 us per 4 KiB page).
 */
static int report_flight(void *ctx, void *item)
{
	struct wctx *w = ctx;

	(void)item;
	report(w, w->rp.flight, w->rp.f_start, w->rp.f_n);
	release_units(w, w->rp.rel_from, w->rp.rel_to);
	return 0;
}

/* Start the reporter when there is a callback. */
static int reporter_start(struct wctx *w)
{
	struct reporter *d = &w->rp;

	if (!w->prm->on_data)
		return 0;
	if (!(d->flight = malloc(WC_BYTES)))
		return -ENOMEM;
	d->on = true;
	vf_handoff_start(&d->h, report_flight, w);
	return 0;
}

/* Wait until the reporter has passed on everything handed to it. */
static void reporter_idle(struct wctx *w)
{
	if (w->rp.on)
		(void)vf_handoff_idle(&w->rp.h);
}

static void reporter_stop(struct wctx *w)
{
	struct reporter *d = &w->rp;

	if (d->on)
		vf_handoff_stop(&d->h);
	d->on = false;
	free(d->flight);
	d->flight = NULL;
}

/*
 * Write `n` data blocks at block `start` and report them: by the reporter
 * when `data` is the gathering buffer (which then trades places with the
 * reporter's), else here.
 */
static int data_out(struct wctx *w, const uint8_t *data, blk64_t start, uint64_t n,
		    struct vf_err *err)
{
	struct reporter *d = &w->rp;
	errcode_t e = io_channel_write_blk64(w->fs->io, start, (int)n, data);
	uint8_t *t;

	if (e)
		return vf_ext4_errcode(err, e, "cannot write blocks %llu-%llu",
				       (unsigned long long)start,
				       (unsigned long long)(start + n - 1));
	if (!d->on)
		return 0;
	reporter_idle(w);
	if (data != w->wc) {
		report(w, data, start, n);
		return 0;
	}
	t = d->flight; /* idle: free to gather into */
	d->flight = w->wc;
	w->wc = t;
	d->f_start = start;
	d->f_n = n;
	d->rel_from = w->rl.handed;
	d->rel_to = w->rl.handed = w->rl.next;
	return vf_handoff_post(&d->h, d);
}

/* Write the data blocks gathered so far. */
static int wc_flush(struct wctx *w, struct vf_err *err)
{
	int r;

	if (!w->wc_n)
		return 0;
	if ((r = data_out(w, w->wc, w->wc_start, w->wc_n, err)))
		return r;
	w->wc_n = 0;
	return 0;
}

/* Write `count` data blocks at block pblk: gathered with those before them when they follow. */
static int wc_write(struct wctx *w, blk64_t pblk, uint64_t count, const uint8_t *data,
		    struct vf_err *err)
{
	int r;

	if (w->wc_n && (pblk != w->wc_start + w->wc_n || w->wc_n + count > w->wc_cap) &&
	    (r = wc_flush(w, err)))
		return r;
	if (count <= w->wc_cap) {
		if (!w->wc_n)
			w->wc_start = pblk;
		memcpy(w->wc + w->wc_n * w->bs, data, count * w->bs);
		w->wc_n += count;
		return 0;
	}
	return data_out(w, data, pblk, count, err);
}

/* Allocate and write `count` blocks of `data` as logical blocks lblk... */
static int write_run(struct wctx *w, const uint8_t *data, blk64_t lblk, uint64_t count,
		     struct vf_err *err)
{
	while (count) {
		blk64_t pblk = 0;
		uint64_t got = 0;
		int r;

		if ((r = alloc_range(w, count, &pblk, &got, err)))
			return r;
		if (data) {
			if ((r = wc_write(w, pblk, got, data, err)))
				return r;
			data += got * w->bs;
		}
		if ((r = add_extent(w, lblk, pblk, got, err)))
			return r;
		w->data_blocks += got;
		lblk += got;
		count -= got;
	}
	return 0;
}

/* Write the non-zero blocks among `nb` blocks at logical block lblk0. */
static int write_blocks(struct wctx *w, const uint8_t *buf, uint64_t nb, blk64_t lblk0,
			struct vf_err *err)
{
	uint64_t i = 0;

	while (i < nb) {
		uint64_t j;
		int r;

		if (block_is_zero(buf + i * w->bs, w->bs)) {
			i++;
			continue;
		}
		for (j = i + 1; j < nb && !block_is_zero(buf + j * w->bs, w->bs); j++)
			;
		if ((r = write_run(w, buf + i * w->bs, lblk0 + i, j - i, err)))
			return r;
		i = j;
	}
	return 0;
}

static void inode_times(struct wctx *w, struct ext2_inode_large *in, int64_t mtime)
{
	uint32_t lo, extra, mlo, mextra;

	vf_ext4_time_encode(w->prm->timestamp, &lo, &extra);
	vf_ext4_time_encode(mtime, &mlo, &mextra);
	in->i_atime = in->i_ctime = lo;
	in->i_mtime = mlo;
	if (w->prm->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		in->i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
		in->i_crtime = lo;
		in->i_atime_extra = in->i_ctime_extra = in->i_crtime_extra = extra;
		in->i_mtime_extra = mextra;
	}
}

/* A fresh inode in w->inode: every field zero but these. */
static struct ext2_inode_large *inode_init(struct wctx *w, uint16_t mode, uint32_t uid,
					   uint32_t gid, int64_t mtime, uint32_t links)
{
	struct ext2_inode_large *in = w->inode;

	memset(in, 0, w->prm->inode_size > sizeof(*in) ? w->prm->inode_size : sizeof(*in));
	in->i_mode = mode;
	in->i_uid = (uint16_t)uid;
	in->i_gid = (uint16_t)gid;
	ext2fs_set_i_uid_high(*in, uid >> 16);
	ext2fs_set_i_gid_high(*in, gid >> 16);
	in->i_links_count = (uint16_t)links;
	inode_times(w, in, mtime);
	return in;
}

/* Mark an inode as mapped by an (empty) extent tree. */
static void inode_extents_init(struct ext2_inode_large *in)
{
	struct ext3_extent_header *eh = (struct ext3_extent_header *)in->i_block;

	in->i_flags |= EXT4_EXTENTS_FL;
	eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
	eh->eh_entries = 0;
	eh->eh_max = ext2fs_cpu_to_le16((sizeof(in->i_block) - sizeof(*eh)) /
					sizeof(struct ext3_extent));
	eh->eh_depth = 0;
	eh->eh_generation = 0;
}

static int put_inode(struct wctx *w, ext2_ino_t ino, struct vf_err *err)
{
	errcode_t e = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)w->inode,
					      w->prm->inode_size);

	return e ? vf_ext4_errcode(err, e, "cannot write inode %u", ino) : 0;
}

/* Whether up to four extents go in the inode directly (vf_ext4_set_inline_extents(), tests). */
static atomic_bool inline_extents = true;

void vf_ext4_set_inline_extents(bool on)
{
	atomic_store(&inline_extents, on);
}

/*
 * Write the inode (with i_size and i_blocks for the data set by the caller),
 * then insert the collected extents into its tree; the tree's own blocks are
 * added to i_blocks by libext2fs. Up to four extents fit in the inode
 * itself (most files): they are put there directly and the inode written
 * once, with the bytes libext2fs's inserts leave (test_write compares the
 * two), instead of its extent handle writing and checksumming the inode
 * again for every insert: 0.014 s less of ROOT's 0.18 s on the bench.
 */
static int put_inode_with_extents(struct wctx *w, ext2_ino_t ino, struct vf_err *err)
{
	struct ext3_extent_header *eh = (struct ext3_extent_header *)w->inode->i_block;
	ext2_extent_handle_t h = NULL;
	errcode_t e;
	int r;

	inode_extents_init(w->inode);
	if ((e = ext2fs_iblk_set(w->fs, (struct ext2_inode *)w->inode, w->data_blocks)))
		return vf_ext4_errcode(err, e, "cannot count %llu blocks",
				       (unsigned long long)w->data_blocks);
	if (w->n_ext <= ext2fs_le16_to_cpu(eh->eh_max) && atomic_load(&inline_extents)) {
		struct ext3_extent *x = (struct ext3_extent *)(eh + 1);

		for (size_t k = 0; k < w->n_ext; k++) {
			x[k].ee_block = ext2fs_cpu_to_le32((uint32_t)w->ext[k].lblk);
			x[k].ee_len = ext2fs_cpu_to_le16((uint16_t)w->ext[k].len);
			x[k].ee_start_hi = ext2fs_cpu_to_le16((uint16_t)(w->ext[k].pblk >> 32));
			x[k].ee_start = ext2fs_cpu_to_le32((uint32_t)w->ext[k].pblk);
		}
		eh->eh_entries = ext2fs_cpu_to_le16((uint16_t)w->n_ext);
		return put_inode(w, ino, err);
	}
	if ((r = put_inode(w, ino, err)))
		return r;
	if (!w->n_ext)
		return 0;
	if ((e = ext2fs_extent_open2(w->fs, ino, (struct ext2_inode *)w->inode, &h)))
		return vf_ext4_errcode(err, e, "cannot open the extent tree of inode %u", ino);
	for (size_t k = 0; k < w->n_ext; k++) {
		struct ext2fs_extent x = {
			.e_pblk = w->ext[k].pblk,
			.e_lblk = w->ext[k].lblk,
			.e_len = w->ext[k].len,
			.e_flags = 0,
		};

		/* append after the previous extent (found again: a split moves the handle) */
		if (k && (e = ext2fs_extent_goto2(h, 0, w->ext[k - 1].lblk)))
			break;
		if ((e = ext2fs_extent_insert(h, k ? EXT2_EXTENT_INSERT_AFTER : 0, &x)))
			break;
		if ((e = ext2fs_extent_fix_parents(h)))
			break;
	}
	ext2fs_extent_free(h);
	return e ? vf_ext4_errcode(err, e, "cannot map %zu extents of inode %u", w->n_ext, ino) :
		   0;
}

static void reset_extents(struct wctx *w)
{
	w->n_ext = 0;
	w->data_blocks = 0;
}

/*
 * `want` (at most CHUNK) bytes of a content at byte `pos` of its fd: for a
 * packed content from the window over the pack (refilled by one read of
 * PW_BYTES when it does not hold them: 20,000 small contents cost 5 reads per
 * 20 MB, not 20,000), else read into w->buf. NULL on error (err set); the
 * bytes are valid until the next call.
 */
static const uint8_t *content_bytes(struct wctx *w, const struct vf_tree_content *c, uint64_t pos,
				    size_t want, const struct vf_tree_entry *e, struct vf_err *err)
{
	uint8_t *dst = w->buf;
	int64_t got;

	if (!c->owned && w->pw) {
		if (c->fd == w->pw_fd && pos >= w->pw_off && pos + want <= w->pw_off + w->pw_len)
			return w->pw + (pos - w->pw_off);
		w->pw_fd = -1;
		w->pw_off = pos / 4096 * 4096;
		got = vf_fs_pread_full(c->fd, w->pw, PW_BYTES, w->pw_off);
		if (got >= 0) {
			w->pw_fd = c->fd;
			w->pw_len = (uint64_t)got;
		}
		if (got >= 0 && pos + want <= w->pw_off + w->pw_len)
			return w->pw + (pos - w->pw_off);
		if (got >= 0)
			got = (int64_t)(w->pw_off + w->pw_len > pos ? w->pw_off + w->pw_len - pos : 0);
	} else {
		got = vf_fs_pread_full(c->fd, dst, want, pos);
		if (got >= 0 && (size_t)got == want)
			return dst;
	}
	if (got < 0)
		vf_err_sys(err, (int)-got, "cannot read the content");
	else
		vf_err_set(err, EIO, "the content is %llu bytes, not %llu",
			   (unsigned long long)(pos - c->offset + (uint64_t)got),
			   (unsigned long long)e->size);
	return NULL;
}

static int write_file(struct wctx *w, const struct vf_ext4_node *nd, struct vf_err *err)
{
	const struct vf_tree_entry *e = nd->e;
	struct vf_tree_content c;
	uint64_t off = 0;
	blk64_t lblk = 0;
	uint8_t extra;
	int64_t got_extra;
	errcode_t ec;
	int r = 0;

	if (!e->size) /* nothing to read: an empty extent tree */
		return put_inode_with_extents(w, nd->ino, err);
	/* read in place (a packed content is not copied out of its pack first) */
	if ((r = vf_tree_content_open(w->p->t, e, &c, err)))
		return r;
	if (c.size != e->size) {
		r = vf_err_set(err, EIO, "the content is %llu bytes, not %llu",
			       (unsigned long long)c.size, (unsigned long long)e->size);
		goto out;
	}
	while (off < e->size) {
		size_t want = e->size - off < CHUNK ? (size_t)(e->size - off) : CHUNK;
		const uint8_t *src = content_bytes(w, &c, c.offset + off, want, e, err);
		uint64_t full = want / w->bs, nb = (want + w->bs - 1) / w->bs;

		if (!src) {
			r = -EIO;
			goto out;
		}
		/* whole blocks where they are; a partial last block padded with zeros in w->buf */
		if (full && (r = write_blocks(w, src, full, lblk, err)))
			goto out;
		if (nb > full) {
			memmove(w->buf, src + full * w->bs, want - full * w->bs);
			memset(w->buf + (want - full * w->bs), 0, w->bs - (want - full * w->bs));
			if ((r = write_blocks(w, w->buf, 1, lblk + full, err)))
				goto out;
		}
		lblk += nb;
		off += want;
	}
	/* a content file of its own ends here (in a pack, the next content follows) */
	got_extra = c.owned ? vf_fs_pread_full(c.fd, &extra, 1, off) : 0;
	if (got_extra < 0) {
		r = vf_err_sys(err, (int)-got_extra, "cannot read the content");
		goto out;
	}
	if (got_extra) {
		r = vf_err_set(err, EIO, "the content is longer than %llu bytes",
			       (unsigned long long)e->size);
		goto out;
	}
	if ((ec = ext2fs_inode_size_set(w->fs, (struct ext2_inode *)w->inode, e->size))) {
		r = vf_ext4_errcode(err, ec, "cannot set the size %llu",
				    (unsigned long long)e->size);
		goto out;
	}
	r = put_inode_with_extents(w, nd->ino, err);
out:
	vf_tree_content_close(&c);
	return r;
}

static int write_symlink(struct wctx *w, const struct vf_ext4_node *nd, struct vf_err *err)
{
	struct ext2_inode_large *in = w->inode;
	size_t len = strlen(nd->e->link);

	in->i_size = (uint32_t)len;
	if (len < sizeof(in->i_block)) { /* fast: the target lives in i_block */
		memcpy(in->i_block, nd->e->link, len);
		return put_inode(w, nd->ino, err);
	}
	if (len >= w->bs)
		return vf_err_set(err, ENAMETOOLONG,
				  "symlink target of %zu bytes does not fit a %u-byte block", len,
				  w->bs);
	memset(w->buf, 0, w->bs);
	memcpy(w->buf, nd->e->link, len);
	{
		int r = write_run(w, w->buf, 0, 1, err);

		if (r)
			return r;
	}
	return put_inode_with_extents(w, nd->ino, err);
}

static int write_device(struct wctx *w, const struct vf_ext4_node *nd, struct vf_err *err)
{
	struct ext2_inode_large *in = w->inode;
	uint32_t major = nd->e->rdev_major, minor = nd->e->rdev_minor;

	/* the kernel's encoding: old (i_block[0]) when both fit a byte, else new (i_block[1]) */
	if (major < 256 && minor < 256) {
		in->i_block[0] = ext2fs_cpu_to_le32(major << 8 | minor);
	} else if (major <= 0xfff && minor <= 0xfffff) {
		in->i_block[1] = ext2fs_cpu_to_le32((minor & 0xff) | major << 8 |
						    (minor & ~0xffu) << 12);
	} else {
		return vf_err_set(err, ERANGE,
				  "device number %u:%u does not fit ext4 (at most 4095:1048575)",
				  major, minor);
	}
	return put_inode(w, nd->ino, err);
}

/* Physical block of a directory's logical block `b` (from the collected extents). */
static blk64_t dir_pblk(void *ctx, uint64_t b)
{
	const struct wctx *w = ctx;

	for (size_t k = 0; k < w->n_ext; k++)
		if (b >= w->ext[k].lblk && b < w->ext[k].lblk + w->ext[k].len)
			return w->ext[k].pblk + (b - w->ext[k].lblk);
	return 0;
}

static int write_dir(struct wctx *w, uint32_t idx, struct vf_err *err)
{
	const struct vf_ext4_node *nd = &w->p->nodes[idx];
	struct vf_ext4_dir_map map = { dir_pblk, w };
	struct vf_ext4_dirlayout l;
	int r;

	if ((r = vf_ext4_dir_layout(w->p, idx, &l, err)))
		return r;
	if (l.blocks != nd->dir_blocks) {
		r = vf_err_set(err, EFAULT, "directory of %llu blocks, %u planned",
			       (unsigned long long)l.blocks, nd->dir_blocks);
		goto out;
	}
	if ((r = write_run(w, NULL, 0, l.blocks, err)))
		goto out;
	if (l.indexed)
		w->inode->i_flags |= EXT2_INDEX_FL;
	w->inode->i_size = (uint32_t)(l.blocks * w->bs);
	w->inode->i_size_high = (uint32_t)((l.blocks * w->bs) >> 32);
	/* the inode first: the blocks' checksums read its generation */
	if ((r = put_inode_with_extents(w, nd->ino, err)))
		goto out;
	r = vf_ext4_dir_write(w->fs, w->p, idx, &l, &map, w->buf, err);
out:
	vf_ext4_dirlayout_release(&l);
	return r;
}

static int xattr_cmp(const void *a, const void *b)
{
	const struct vf_tree_xattr *x = *(const struct vf_tree_xattr *const *)a;
	const struct vf_tree_xattr *y = *(const struct vf_tree_xattr *const *)b;
	const char *xs, *ys;
	int xi = vf_ext4_xattr_index(x->name, &xs), yi = vf_ext4_xattr_index(y->name, &ys);

	return xi != yi ? (xi < yi ? -1 : 1) : strcmp(xs, ys);
}

/*
 * Check the entry's xattr names and sort them into w->xo by (name index,
 * name), so that placement never depends on input order.
 */
static int xattrs_sort(struct wctx *w, const struct vf_tree_entry *e, struct vf_err *err)
{
	if (!e || !e->n_xattrs)
		return 0;
	if (e->n_xattrs > w->xo_cap) {
		const struct vf_tree_xattr **n = realloc(w->xo, e->n_xattrs * sizeof(*n));

		if (!n)
			return vf_err_set(err, ENOMEM, "out of memory");
		w->xo = n;
		w->xo_cap = e->n_xattrs;
	}
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const char *suffix;
		int index = vf_ext4_xattr_index(e->xattrs[i].name, &suffix);

		w->xo[i] = &e->xattrs[i];
		/* the ACLs' names are their whole prefix; other namespaces need a name */
		if (index < 0 || (!*suffix && index != 2 && index != 3))
			return vf_err_set(err, EOPNOTSUPP,
					  "xattr '%s' is not in a namespace ext4 stores (user., "
					  "trusted., security., system.posix_acl_*)",
					  e->xattrs[i].name);
	}
	qsort(w->xo, e->n_xattrs, sizeof(*w->xo), xattr_cmp);
	return 0;
}

/* Whether xattrs that fit go into the inode directly (vf_ext4_set_inline_xattrs(), tests). */
static atomic_bool inline_xattrs = true;

void vf_ext4_set_inline_xattrs(bool on)
{
	atomic_store(&inline_xattrs, on);
}

/*
 * Put the entry's xattrs (w->xo) into the fresh inode's body, when all of
 * them fit there and none needs converting (user., trusted., security.):
 * the bytes ext2fs_xattr_set() makes when they are set one by one, in this
 * order, into an inode without xattrs (lib/ext2fs/ext_attr.c: each goes to
 * the body while it has room for it and a final null entry; the magic, then
 * the entries, the values from the end of the area down, e_hash 0). The
 * inode is then written once, instead of read and written again for every
 * xattr. False when libext2fs must do it (write_xattrs).
 */
static bool xattrs_inline(struct wctx *w, const struct vf_tree_entry *e)
{
	struct ext2_inode_large *in = w->inode;
	size_t isz = w->prm->inode_size, extra = in->i_extra_isize, room, used = 0;
	uint8_t *base, *start, *end;
	struct ext2_ext_attr_entry *x;
	uint32_t magic = ext2fs_cpu_to_le32(EXT2_EXT_ATTR_MAGIC);

	if (!atomic_load(&inline_xattrs) || isz <= EXT2_GOOD_OLD_INODE_SIZE || (extra & 3) ||
	    isz < EXT2_GOOD_OLD_INODE_SIZE + extra + 2 * sizeof(uint32_t))
		return false;
	/* the magic and a final null entry */
	room = isz - EXT2_GOOD_OLD_INODE_SIZE - extra - 2 * sizeof(uint32_t);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const char *suffix;
		int index = vf_ext4_xattr_index(w->xo[i]->name, &suffix);

		if (index != 1 && index != 4 && index != 6)
			return false;
		used += EXT2_EXT_ATTR_LEN(strlen(suffix)) + EXT2_EXT_ATTR_SIZE(w->xo[i]->len);
		if (used > room)
			return false;
	}
	base = (uint8_t *)in + EXT2_GOOD_OLD_INODE_SIZE + extra;
	memcpy(base, &magic, sizeof(magic));
	start = base + sizeof(magic);
	end = (uint8_t *)in + isz;
	memset(start, 0, (size_t)(end - start));
	x = (struct ext2_ext_attr_entry *)start;
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const char *suffix;
		int index = vf_ext4_xattr_index(w->xo[i]->name, &suffix);
		size_t name_len = strlen(suffix);

		x->e_name_len = (uint8_t)name_len;
		x->e_name_index = (uint8_t)index;
		x->e_value_size = ext2fs_cpu_to_le32((uint32_t)w->xo[i]->len);
		memcpy((char *)x + sizeof(*x), suffix, name_len);
		end -= EXT2_EXT_ATTR_SIZE(w->xo[i]->len);
		x->e_value_offs = ext2fs_cpu_to_le16((uint16_t)(end - start));
		if (w->xo[i]->len)
			memcpy(end, w->xo[i]->value, w->xo[i]->len);
		x = EXT2_EXT_ATTR_NEXT(x);
	}
	return true;
}

/* Set every xattr (w->xo) through libext2fs. */
static int write_xattrs(struct wctx *w, ext2_ino_t ino, const struct vf_tree_entry *e,
			struct vf_err *err)
{
	struct ext2_xattr_handle *h = NULL;
	errcode_t ec = 0;
	int r = 0;

	if (!e || !e->n_xattrs)
		return 0;
	if ((ec = ext2fs_xattrs_open(w->fs, ino, &h)))
		return vf_ext4_errcode(err, ec, "cannot open the xattrs");
	for (size_t i = 0; i < e->n_xattrs; i++) {
		ec = ext2fs_xattr_set(h, w->xo[i]->name, w->xo[i]->value, w->xo[i]->len);
		if (ec) {
			r = vf_ext4_errcode(err, ec, "cannot set xattr '%s' (%zu bytes)",
					    w->xo[i]->name, w->xo[i]->len);
			break;
		}
	}
	if ((ec = ext2fs_xattrs_close(&h)) && !r)
		r = vf_ext4_errcode(err, ec, "cannot write the xattrs");
	return r;
}

static uint16_t type_bits(enum vf_tree_type type)
{
	switch (type) {
	case VF_TREE_DIR:
		return LINUX_S_IFDIR;
	case VF_TREE_SYMLINK:
		return LINUX_S_IFLNK;
	case VF_TREE_CHR:
		return LINUX_S_IFCHR;
	case VF_TREE_BLK:
		return LINUX_S_IFBLK;
	case VF_TREE_FIFO:
		return LINUX_S_IFIFO;
	case VF_TREE_SOCK:
		return LINUX_S_IFSOCK;
	case VF_TREE_FILE:
	case VF_TREE_HARDLINK:
		break;
	}
	return LINUX_S_IFREG;
}

static int write_node(struct wctx *w, uint32_t idx, struct vf_err *err)
{
	const struct vf_ext4_node *nd = &w->p->nodes[idx];
	const struct vf_tree_entry *e = nd->e;
	enum vf_tree_type type = e ? e->type : VF_TREE_DIR;
	/* without an entry: the root of an empty tree (0755) or lost+found (0700, as mke2fs) */
	uint32_t perm = e ? e->mode & 07777 : idx == 0 ? 0755 : 0700;
	int64_t mtime = e ? e->mtime : w->prm->timestamp;
	bool xattrs_done;
	int r;

	if (type == VF_TREE_HARDLINK)
		return 0;
	if (mtime < VF_EXT4_TIME_MIN || mtime > VF_EXT4_TIME_MAX ||
	    (w->prm->inode_size <= EXT2_GOOD_OLD_INODE_SIZE &&
	     (mtime < INT32_MIN || mtime > INT32_MAX)))
		return vf_err_set(err, ERANGE, "mtime %lld cannot be stored in an ext4 inode",
				  (long long)mtime);
	reset_extents(w);
	inode_init(w, (uint16_t)(type_bits(type) | perm), e ? e->uid : 0, e ? e->gid : 0, mtime,
		   nd->links);
	ext2fs_inode_alloc_stats2(w->fs, nd->ino, +1, type == VF_TREE_DIR);
	if ((r = xattrs_sort(w, e, err)))
		return r;
	/* in the inode's body from the start: the inode is written once, with them */
	xattrs_done = !e || !e->n_xattrs || xattrs_inline(w, e);

	switch (type) {
	case VF_TREE_DIR:
		r = write_dir(w, idx, err);
		break;
	case VF_TREE_FILE:
		r = write_file(w, nd, err);
		break;
	case VF_TREE_SYMLINK:
		r = write_symlink(w, nd, err);
		break;
	case VF_TREE_CHR:
	case VF_TREE_BLK:
		r = write_device(w, nd, err);
		break;
	default:
		r = put_inode(w, nd->ino, err);
		break;
	}
	if (!r && !xattrs_done)
		r = write_xattrs(w, nd->ino, e, err);
	return r;
}

static int unit_cmp(const void *a, const void *b)
{
	const struct release_unit *x = a, *y = b;

	return x->last != y->last ? (x->last < y->last ? -1 : 1) : (x->unit < y->unit ? -1 : 1);
}

/* Find the last use of every unit of the pack (nodes are written in index order). */
static int releaser_init(struct wctx *w)
{
	struct releaser *rl = &w->rl;
	uint64_t end = 0, off, len;

	for (uint32_t i = 0; i < w->p->n; i++) {
		const struct vf_tree_entry *e = w->p->nodes[i].e;

		if (e && e->type == VF_TREE_FILE && !vf_tree_content_pack_range(w->p->t, e, &off, &len) &&
		    off + len > end)
			end = off + len;
	}
	rl->n = (size_t)((end + PACK_RELEASE_UNIT - 1) / PACK_RELEASE_UNIT);
	if (!rl->n)
		return 0;
	if (!(rl->u = calloc(rl->n, sizeof(*rl->u))))
		return -ENOMEM;
	for (size_t u = 0; u < rl->n; u++)
		rl->u[u].unit = (uint32_t)u;
	for (uint32_t i = 0; i < w->p->n; i++) {
		const struct vf_tree_entry *e = w->p->nodes[i].e;

		if (!e || e->type != VF_TREE_FILE || !e->size ||
		    vf_tree_content_pack_range(w->p->t, e, &off, &len) || !len)
			continue;
		for (uint64_t u = off / PACK_RELEASE_UNIT; u <= (off + len - 1) / PACK_RELEASE_UNIT; u++)
			rl->u[u].last = i + 1;
	}
	qsort(rl->u, rl->n, sizeof(*rl->u), unit_cmp);
	return 0;
}

/*
 * Node `done` (index + 1; 0 before any) is written: the units nothing needs
 * any more are free. With a reporter, the next piece handed to it takes them
 * along (data_out); else, or with `now`, they are released here.
 */
static void releaser_advance(struct wctx *w, uint32_t done, bool now)
{
	struct releaser *rl = &w->rl;

	for (; rl->next < rl->n && rl->u[rl->next].last <= done; rl->next++)
		;
	if (now || !w->rp.on) {
		release_units(w, rl->handed, rl->next);
		rl->handed = rl->next;
	}
}

int vf_ext4_populate(ext2_filsys fs, const struct vf_ext4_plan *p,
		     const struct vf_ext4_params *prm, struct vf_err *err)
{
	struct wctx w;
	size_t inode_buf = prm->inode_size > sizeof(struct ext2_inode_large) ?
				   prm->inode_size :
				   sizeof(struct ext2_inode_large);
	int r = 0;

	memset(&w, 0, sizeof(w));
	w.fs = fs;
	w.p = p;
	w.prm = prm;
	w.bs = fs->blocksize;
	w.cursor = fs->super->s_first_data_block;
	w.end = ext2fs_blocks_count(fs->super);
	w.buf = malloc(CHUNK);
	w.pw = malloc(PW_BYTES); /* without it, each content is read on its own */
	w.pw_fd = -1;
	w.wc = malloc(WC_BYTES);
	w.wc_cap = WC_BYTES / w.bs;
	w.inode = calloc(1, inode_buf);
	if (reporter_start(&w) < 0 || !w.buf || !w.wc || !w.inode) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (prm->release_contents) {
		if (releaser_init(&w) < 0) {
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		releaser_advance(&w, 0, true); /* pieces no file of this tree uses */
	}
	fs->priv_data = &w;
	ext2fs_set_alloc_block_callback(fs, alloc_block_cb, NULL);

	/* inode 1 as mke2fs leaves it: no blocks, only the times */
	inode_init(&w, 0, 0, 0, prm->timestamp, 0);
	if ((r = put_inode(&w, EXT2_BAD_INO, err)))
		goto out;

	/* the root, lost+found, then the rest in path order */
	if ((r = write_node(&w, 0, err))) {
		vf_err_prefix(err, "'/'");
		goto out;
	}
	if ((r = write_node(&w, p->lpf, err))) {
		vf_err_prefix(err, "'/lost+found'");
		goto out;
	}
	for (uint32_t i = 1; i < p->n; i++) {
		if (i == p->lpf)
			continue;
		if ((r = write_node(&w, i, err))) {
			vf_err_prefix(err, "'/%s'", p->nodes[i].e->path);
			goto out;
		}
		if (prm->release_contents)
			releaser_advance(&w, i + 1, false);
	}
	r = wc_flush(&w, err);
	reporter_idle(&w);
	if (!r && prm->release_contents)
		releaser_advance(&w, p->n, true); /* what the last pieces did not take along */
out:
	reporter_stop(&w); /* before what its work reads is freed */
	free(w.xo);
	free(w.rl.u);
	free(w.pw);
	ext2fs_set_alloc_block_callback(fs, NULL, NULL);
	fs->priv_data = NULL;
	free(w.ext);
	free(w.inode);
	free(w.wc);
	free(w.buf);
	return r;
}
