/*
 * The per-path part of the ext4 diff: both trees are walked by directory
 * entry from the root, names merged in sorted order; for every path in both,
 * the inodes are compared attribute by attribute (type, mode, owner, size,
 * content, times, links, symlink target, device, xattrs, inode number and
 * flags, block layout). Bounded by depth and entry count.
 */
#include "builder/diff/internal.h"

#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK (1u << 20)
#define MAX_RUNS 100000u /* block runs remembered per file for the layout comparison */

struct dent {
	char *name;
	ext2_ino_t ino;
};

struct dlist {
	struct dent *v;
	size_t n, cap;
	int err;
};

struct walk {
	struct vf_diff_ctx *c;
	ext2_filsys fa, fb;
	struct vf_diff_inode_map *map;
	uint64_t entries;
	bool stopped;
	struct vf_err *err;
};

/* ---- inode map ---- */

static int cmp_ino(const void *x, const void *y)
{
	const struct vf_diff_inode_path *a = x, *b = y;

	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

const char *vf_diff_inode_map_get(struct vf_diff_inode_map *m, uint32_t ino)
{
	struct vf_diff_inode_path key = { ino, NULL }, *hit;

	if (!m->n)
		return NULL;
	if (!m->sorted) {
		qsort(m->v, m->n, sizeof(*m->v), cmp_ino);
		m->sorted = true;
	}
	hit = bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_ino);
	/* hardlinks: the first entry of a run of equal numbers is fine */
	return hit ? hit->path : NULL;
}

void vf_diff_inode_map_release(struct vf_diff_inode_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int map_add(struct vf_diff_inode_map *m, uint32_t ino, const char *path)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;
		struct vf_diff_inode_path *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	if (!(m->v[m->n].path = strdup(path)))
		return -ENOMEM;
	m->v[m->n++].ino = ino;
	m->sorted = false;
	return 0;
}

/* ---- directories ---- */

static int collect(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset, int blocksize,
		   char *buf, void *priv)
{
	struct dlist *l = priv;
	int len = ext2fs_dirent_name_len(d);

	(void)dir;
	(void)entry;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || !d->inode)
		return 0;
	if (len == 1 && d->name[0] == '.')
		return 0;
	if (len == 2 && d->name[0] == '.' && d->name[1] == '.')
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct dent *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return DIRENT_ABORT;
		}
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].name = strndup(d->name, (size_t)len))) {
		l->err = -ENOMEM;
		return DIRENT_ABORT;
	}
	l->v[l->n++].ino = d->inode;
	return 0;
}

static int cmp_dent(const void *x, const void *y)
{
	return strcmp(((const struct dent *)x)->name, ((const struct dent *)y)->name);
}

static void dlist_release(struct dlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int list_dir(ext2_filsys fs, ext2_ino_t ino, const char *path, struct dlist *ret,
		    struct vf_err *err)
{
	errcode_t e;

	memset(ret, 0, sizeof(*ret));
	e = ext2fs_dir_iterate2(fs, ino, 0, NULL, collect, ret);
	if (ret->err || e)
		dlist_release(ret);
	if (ret->err)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (e)
		return vf_diff_ext2_err(err, e, "cannot read directory '%s'", path);
	if (ret->n)
		qsort(ret->v, ret->n, sizeof(*ret->v), cmp_dent);
	return 0;
}

/* ---- inode attributes ---- */

struct inode {
	ext2_ino_t ino;
	struct ext2_inode_large in;
	unsigned extra;  /* bytes of the large part present (i_extra_isize), 0 for 128-byte inodes */
};

static int read_inode(ext2_filsys fs, ext2_ino_t ino, const char *path, struct inode *ret,
		      struct vf_err *err)
{
	errcode_t e;

	memset(ret, 0, sizeof(*ret));
	ret->ino = ino;
	e = ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&ret->in, sizeof(ret->in));
	if (e)
		return vf_diff_ext2_err(err, e, "'%s': cannot read inode %u", path, ino);
	if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE)
		ret->extra = ret->in.i_extra_isize;
	return 0;
}

static const char *type_name(unsigned mode)
{
	switch (mode & 0170000) {
	case 0100000:
		return "regular file";
	case 0040000:
		return "directory";
	case 0120000:
		return "symlink";
	case 0020000:
		return "character device";
	case 0060000:
		return "block device";
	case 0010000:
		return "fifo";
	case 0140000:
		return "socket";
	}
	return "unknown type";
}

static uint32_t uid_of(const struct ext2_inode_large *i)
{
	return i->i_uid | (uint32_t)i->osd2.linux2.l_i_uid_high << 16;
}

static uint32_t gid_of(const struct ext2_inode_large *i)
{
	return i->i_gid | (uint32_t)i->osd2.linux2.l_i_gid_high << 16;
}

/* A time with its extra field when the inode has it: "1700000000" or "1700000000.000000123". */
static void time_text(uint32_t lo, const uint32_t *extra, char *out, size_t cap)
{
	int64_t s = (int64_t)(int32_t)lo;
	uint32_t ns = 0;

	if (extra) {
		s += (int64_t)(*extra & 3) << 32;
		ns = *extra >> 2;
	}
	if (ns)
		snprintf(out, cap, "%lld.%09u", (long long)s, ns);
	else
		snprintf(out, cap, "%lld", (long long)s);
}

static int cmp_time(struct walk *w, const char *path, const char *field, const struct inode *a,
		    const struct inode *b, size_t lo_off, size_t extra_off)
{
	uint32_t la, lb;
	const uint32_t *xa = NULL, *xb = NULL;
	char ta[40], tb[40];

	memcpy(&la, (const uint8_t *)&a->in + lo_off, 4);
	memcpy(&lb, (const uint8_t *)&b->in + lo_off, 4);
	if (extra_off && a->extra + EXT2_GOOD_OLD_INODE_SIZE >= extra_off + 4)
		xa = (const uint32_t *)((const uint8_t *)&a->in + extra_off);
	if (extra_off && b->extra + EXT2_GOOD_OLD_INODE_SIZE >= extra_off + 4)
		xb = (const uint32_t *)((const uint8_t *)&b->in + extra_off);
	time_text(la, xa, ta, sizeof(ta));
	time_text(lb, xb, tb, sizeof(tb));
	if (!strcmp(ta, tb))
		return 0;
	return vf_diff_add(w->c, path, field, ta, tb, NULL, NULL);
}

static int cmp_u(struct walk *w, const char *path, const char *field, uint64_t a, uint64_t b,
		 enum vf_diff_numfmt fmt)
{
	char ta[40], tb[40];

	if (a == b)
		return 0;
	vf_diff_num(ta, sizeof(ta), a, fmt);
	vf_diff_num(tb, sizeof(tb), b, fmt);
	return vf_diff_add(w->c, path, field, ta, tb, NULL, NULL);
}

/* The bytes of a file (or slow symlink), compared piece by piece. */
static int cmp_content(struct walk *w, const char *path, const struct inode *a, const struct inode *b,
		       bool *ret_differ)
{
	uint64_t sa = EXT2_I_SIZE(&a->in), sb = EXT2_I_SIZE(&b->in), common = sa < sb ? sa : sb;
	uint64_t max = w->c->o.max_decompressed, got = 0;
	ext2_file_t xa = NULL, xb = NULL;
	uint8_t *ba = NULL, *bb = NULL;
	struct vf_diff_range d;
	bool cut = false;
	errcode_t e;
	int r = 0;

	memset(&d, 0, sizeof(d));
	*ret_differ = false;
	if (common > max) {
		common = max;
		cut = true;
	}
	if (!(ba = malloc(READ_CHUNK)) || !(bb = malloc(READ_CHUNK))) {
		r = vf_err_set(w->err, ENOMEM, "out of memory");
		goto out;
	}
	if ((e = ext2fs_file_open2(w->fa, a->ino, (struct ext2_inode *)&a->in, 0, &xa)) ||
	    (e = ext2fs_file_open2(w->fb, b->ino, (struct ext2_inode *)&b->in, 0, &xb))) {
		r = vf_diff_ext2_err(w->err, e, "'%s': cannot open", path);
		goto out;
	}
	while (got < common) {
		unsigned want = common - got > READ_CHUNK ? READ_CHUNK : (unsigned)(common - got);
		unsigned na = 0, nb = 0;

		if ((e = ext2fs_file_read(xa, ba, want, &na)) || (e = ext2fs_file_read(xb, bb, want, &nb))) {
			r = vf_diff_ext2_err(w->err, e, "'%s': cannot read at byte %llu", path,
					     (unsigned long long)got);
			goto out;
		}
		if (na != want || nb != want) {
			r = vf_err_set(w->err, EIO, "'%s': ends at byte %llu of %llu", path,
				       (unsigned long long)(got + (na < nb ? na : nb)),
				       (unsigned long long)common);
			goto out;
		}
		vf_diff_range_feed(&d, ba, bb, want);
		got += want;
	}
	if (!cut)
		vf_diff_range_skip(&d, (sa > sb ? sa : sb) - common, false);
	if (d.differ) {
		*ret_differ = true;
		r = vf_diff_add_range(w->c, path, "content", &d);
	} else if (cut && sa == sb) {
		r = vf_diff_addf(w->c, path, "content", NULL, NULL, NULL,
				 "content not compared past byte %llu (the limit)",
				 (unsigned long long)max);
	}
out:
	if (xa)
		ext2fs_file_close(xa);
	if (xb)
		ext2fs_file_close(xb);
	free(ba);
	free(bb);
	return r;
}

static int symlink_target(ext2_filsys fs, const struct inode *x, const char *path, char *out,
			  size_t cap, struct vf_err *err)
{
	uint64_t size = EXT2_I_SIZE(&x->in);
	ext2_file_t f = NULL;
	unsigned n = 0;
	errcode_t e;

	if (size >= cap)
		size = cap - 1;
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&x->in)) {
		if (size > sizeof(x->in.i_block))
			size = sizeof(x->in.i_block);
		memcpy(out, x->in.i_block, (size_t)size);
		out[size] = '\0';
		return 0;
	}
	if ((e = ext2fs_file_open2(fs, x->ino, (struct ext2_inode *)&x->in, 0, &f)))
		return vf_diff_ext2_err(err, e, "'%s': cannot open the symlink", path);
	e = ext2fs_file_read(f, out, (unsigned)size, &n);
	ext2fs_file_close(f);
	if (e)
		return vf_diff_ext2_err(err, e, "'%s': cannot read the symlink", path);
	out[n] = '\0';
	return 0;
}

static void device_text(const struct ext2_inode_large *i, char *out, size_t cap)
{
	unsigned major, minor;

	if (i->i_block[0]) {
		major = (i->i_block[0] >> 8) & 255;
		minor = i->i_block[0] & 255;
	} else {
		major = (i->i_block[1] & 0xfff00) >> 8;
		minor = (i->i_block[1] & 0xff) | ((i->i_block[1] >> 12) & 0xfff00);
	}
	snprintf(out, cap, "%u:%u", major, minor);
}

/* ---- xattrs ---- */

struct xa {
	char *name;
	uint8_t *value;
	size_t len;
};

struct xlist {
	struct xa *v;
	size_t n;
	int err;
};

static int xa_collect(char *name, char *value, size_t len, void *priv)
{
	struct xlist *l = priv;
	struct xa *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v) {
		l->err = -ENOMEM;
		return XATTR_ABORT;
	}
	l->v = v;
	v[l->n].name = strdup(name);
	v[l->n].value = malloc(len ? len : 1);
	v[l->n].len = len;
	if (!v[l->n].name || !v[l->n].value) {
		free(v[l->n].name);
		free(v[l->n].value);
		l->err = -ENOMEM;
		return XATTR_ABORT;
	}
	if (len)
		memcpy(v[l->n].value, value, len);
	l->n++;
	return 0;
}

static int cmp_xa(const void *x, const void *y)
{
	return strcmp(((const struct xa *)x)->name, ((const struct xa *)y)->name);
}

static void xlist_release(struct xlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int read_xattrs(ext2_filsys fs, ext2_ino_t ino, const char *path, struct xlist *ret,
		       struct vf_err *err)
{
	struct ext2_xattr_handle *h = NULL;
	errcode_t e;

	memset(ret, 0, sizeof(*ret));
	if ((e = ext2fs_xattrs_open(fs, ino, &h)))
		return vf_diff_ext2_err(err, e, "'%s': cannot read xattrs", path);
	if (!(e = ext2fs_xattrs_read(h)))
		e = ext2fs_xattrs_iterate(h, xa_collect, ret);
	ext2fs_xattrs_close(&h);
	if (ret->err) {
		xlist_release(ret);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	if (e) {
		xlist_release(ret);
		return vf_diff_ext2_err(err, e, "'%s': cannot read xattrs", path);
	}
	if (ret->n)
		qsort(ret->v, ret->n, sizeof(*ret->v), cmp_xa);
	return 0;
}

static int cmp_xattrs(struct walk *w, const char *path, const struct inode *a, const struct inode *b,
		      bool *ret_differ)
{
	struct xlist la, lb;
	size_t i = 0, j = 0;
	char field[300], ta[2 * VF_DIFF_VALUE_MAX + 16], tb[2 * VF_DIFF_VALUE_MAX + 16];
	int r;

	*ret_differ = false;
	if ((r = read_xattrs(w->fa, a->ino, path, &la, w->err)))
		return r;
	if ((r = read_xattrs(w->fb, b->ino, path, &lb, w->err))) {
		xlist_release(&la);
		return r;
	}
	while ((i < la.n || j < lb.n) && !r) {
		int c = i == la.n ? 1 : j == lb.n ? -1 : strcmp(la.v[i].name, lb.v[j].name);
		const struct xa *x = c <= 0 ? &la.v[i] : &lb.v[j];

		snprintf(field, sizeof(field), "xattr %s", x->name);
		if (c < 0) {
			vf_diff_value_text(x->value, x->len, ta, sizeof(ta));
			r = vf_diff_addf(w->c, path, field, ta, NULL, NULL, "xattr %s removed (%s)",
					 x->name, ta);
			*ret_differ = true;
		} else if (c > 0) {
			vf_diff_value_text(x->value, x->len, tb, sizeof(tb));
			r = vf_diff_addf(w->c, path, field, NULL, tb, NULL, "xattr %s added (%s)", x->name,
					 tb);
			*ret_differ = true;
		} else if (la.v[i].len != lb.v[j].len ||
			   memcmp(la.v[i].value, lb.v[j].value, la.v[i].len)) {
			vf_diff_value_text(la.v[i].value, la.v[i].len, ta, sizeof(ta));
			vf_diff_value_text(lb.v[j].value, lb.v[j].len, tb, sizeof(tb));
			r = vf_diff_add(w->c, path, field, ta, tb, NULL, NULL);
			*ret_differ = true;
		}
		i += c <= 0;
		j += c >= 0;
	}
	xlist_release(&la);
	xlist_release(&lb);
	return r;
}

/* ---- block layout ---- */

struct run {
	int64_t logical; /* negative: a metadata block (extent tree, indirect) */
	uint64_t physical, len;
};

struct runs {
	struct run *v;
	size_t n;
	bool overflow;
	int err;
};

static int add_block(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t cnt, blk64_t ref, int off, void *priv)
{
	struct runs *l = priv;
	struct run *last = l->n ? &l->v[l->n - 1] : NULL;

	(void)fs;
	(void)ref;
	(void)off;
	if (cnt >= 0 && last && last->logical >= 0 && last->logical + (int64_t)last->len == cnt &&
	    last->physical + last->len == *blk) {
		last->len++;
		return 0;
	}
	if (l->n == MAX_RUNS) {
		l->overflow = true;
		return BLOCK_ABORT;
	}
	if (l->n % 256 == 0) {
		struct run *v = realloc(l->v, (l->n + 256) * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return BLOCK_ABORT;
		}
		l->v = v;
	}
	l->v[l->n++] = (struct run){ cnt, *blk, 1 };
	return 0;
}

static int read_runs(ext2_filsys fs, const struct inode *x, struct runs *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)&x->in))
		return 0;
	if (ext2fs_block_iterate3(fs, x->ino, BLOCK_FLAG_READ_ONLY, NULL, add_block, ret))
		ret->overflow = true; /* unreadable: not compared */
	return ret->err;
}

static void run_text(const struct runs *l, size_t i, char *out, size_t cap)
{
	if (i >= l->n) {
		snprintf(out, cap, "none");
		return;
	}
	if (l->v[i].len > 1)
		snprintf(out, cap, "%llu\u2013%llu", (unsigned long long)l->v[i].physical,
			 (unsigned long long)(l->v[i].physical + l->v[i].len - 1));
	else
		snprintf(out, cap, "%llu", (unsigned long long)l->v[i].physical);
}

static int cmp_layout(struct walk *w, const char *path, const struct inode *a, const struct inode *b)
{
	struct runs la, lb;
	size_t i = 0;
	char ta[64], tb[64], detail[96];
	int r;

	if ((r = read_runs(w->fa, a, &la)) || (r = read_runs(w->fb, b, &lb)))
		goto out;
	if (la.overflow || lb.overflow)
		goto out;
	while (i < la.n && i < lb.n && !memcmp(&la.v[i], &lb.v[i], sizeof(la.v[i])))
		i++;
	if (i == la.n && i == lb.n)
		goto out;
	run_text(&la, i, ta, sizeof(ta));
	run_text(&lb, i, tb, sizeof(tb));
	snprintf(detail, sizeof(detail), "%zu vs %zu extents", la.n, lb.n);
	r = vf_diff_addf(w->c, path, "layout", ta, tb, detail,
			 "same content in other blocks (blocks %s vs %s; %s)", ta, tb, detail);
out:
	if (r == -ENOMEM)
		vf_err_set(w->err, ENOMEM, "out of memory");
	free(la.v);
	free(lb.v);
	return r;
}

/* ---- one path ---- */

static int cmp_inodes(struct walk *w, const char *path, const struct inode *a, const struct inode *b)
{
	const struct ext2_inode_large *x = &a->in, *y = &b->in;
	unsigned ta = x->i_mode & 0170000, tb = y->i_mode & 0170000;
	bool content_differs = false, xattrs_differ = false;
	int r;

	if (ta != tb)
		return vf_diff_add(w->c, path, "type", type_name(ta), type_name(tb), NULL, NULL);
	if ((r = cmp_u(w, path, "mode", x->i_mode & 07777, y->i_mode & 07777, VF_DIFF_OCT4)) ||
	    (r = cmp_u(w, path, "uid", uid_of(x), uid_of(y), VF_DIFF_DEC)) ||
	    (r = cmp_u(w, path, "gid", gid_of(x), gid_of(y), VF_DIFF_DEC)) ||
	    (r = cmp_u(w, path, "size", EXT2_I_SIZE(x), EXT2_I_SIZE(y), VF_DIFF_DEC)))
		return r;
	if (ta == 0100000 && (r = cmp_content(w, path, a, b, &content_differs)))
		return r;
	if (ta == 0120000) {
		char la[4096], lb[4096];

		if ((r = symlink_target(w->fa, a, path, la, sizeof(la), w->err)) ||
		    (r = symlink_target(w->fb, b, path, lb, sizeof(lb), w->err)))
			return r;
		if (strcmp(la, lb)) {
			char qa[2 * VF_DIFF_VALUE_MAX + 16], qb[2 * VF_DIFF_VALUE_MAX + 16];

			vf_diff_value_text((const uint8_t *)la, strlen(la), qa, sizeof(qa));
			vf_diff_value_text((const uint8_t *)lb, strlen(lb), qb, sizeof(qb));
			content_differs = true;
			if ((r = vf_diff_add(w->c, path, "target", qa, qb, NULL, NULL)))
				return r;
		}
	}
	if (ta == 0020000 || ta == 0060000) {
		char da[32], db[32];

		device_text(x, da, sizeof(da));
		device_text(y, db, sizeof(db));
		if (strcmp(da, db) && (r = vf_diff_add(w->c, path, "device", da, db, NULL, NULL)))
			return r;
	}
	if ((r = cmp_time(w, path, "mtime", a, b, offsetof(struct ext2_inode_large, i_mtime),
			  offsetof(struct ext2_inode_large, i_mtime_extra))) ||
	    (r = cmp_time(w, path, "ctime", a, b, offsetof(struct ext2_inode_large, i_ctime),
			  offsetof(struct ext2_inode_large, i_ctime_extra))) ||
	    (r = cmp_time(w, path, "atime", a, b, offsetof(struct ext2_inode_large, i_atime),
			  offsetof(struct ext2_inode_large, i_atime_extra))))
		return r;
	if (a->extra >= 24 || b->extra >= 24) {
		struct inode ca = *a, cb = *b;

		/* crtime lives in the large part only */
		if (a->extra < 24)
			ca.in.i_crtime = ca.in.i_crtime_extra = 0;
		if (b->extra < 24)
			cb.in.i_crtime = cb.in.i_crtime_extra = 0;
		if ((r = cmp_time(w, path, "crtime", &ca, &cb, offsetof(struct ext2_inode_large, i_crtime),
				  offsetof(struct ext2_inode_large, i_crtime_extra))))
			return r;
	}
	if ((r = cmp_u(w, path, "links", x->i_links_count, y->i_links_count, VF_DIFF_DEC)) ||
	    (r = cmp_xattrs(w, path, a, b, &xattrs_differ)) ||
	    (r = cmp_u(w, path, "inode", a->ino, b->ino, VF_DIFF_DEC)) ||
	    (r = cmp_u(w, path, "flags", x->i_flags, y->i_flags, VF_DIFF_HEX8)) ||
	    (r = cmp_u(w, path, "generation", x->i_generation, y->i_generation, VF_DIFF_DEC)))
		return r;
	if (!content_differs && EXT2_I_SIZE(x) == EXT2_I_SIZE(y) &&
	    (r = cmp_layout(w, path, a, b)))
		return r;
	if (!xattrs_differ &&
	    (r = cmp_u(w, path, "xattr block", ext2fs_file_acl_block(w->fa, (struct ext2_inode *)x),
		       ext2fs_file_acl_block(w->fb, (struct ext2_inode *)y), VF_DIFF_DEC)))
		return r;
	return 0;
}

static int one_side(struct walk *w, const char *path, ext2_filsys fs, ext2_ino_t ino, bool added)
{
	struct inode x;
	char detail[64];
	int r;

	if ((r = read_inode(fs, ino, path, &x, w->err)))
		return r;
	snprintf(detail, sizeof(detail), "%s, inode %u", type_name(x.in.i_mode), ino);
	return vf_diff_add(w->c, path, added ? "added" : "removed", NULL, NULL, detail, NULL);
}

/*
 * A path that cannot be read on one side (a damaged file system) is a
 * difference, not a reason to stop: say so and go on. Running out of memory
 * still stops the walk.
 */
static int damaged(struct walk *w, const char *path, int r)
{
	char msg[VF_ERR_MSG_MAX + 32];

	if (r != -EIO && r != -EINVAL)
		return r;
	snprintf(msg, sizeof(msg), "cannot be compared: %s", w->err ? w->err->msg : "damaged");
	if (w->err)
		vf_err_clear(w->err);
	return vf_diff_add(w->c, path, "unreadable", NULL, NULL, NULL, msg);
}

static int walk_dir(struct walk *w, const char *path, ext2_ino_t da, ext2_ino_t db, unsigned depth)
{
	struct dlist la, lb;
	size_t i = 0, j = 0;
	char *child = NULL;
	int r;

	if (depth >= w->c->o.max_depth) {
		w->stopped = true;
		return vf_diff_addf(w->c, path, "walk", NULL, NULL, NULL,
				    "not compared: deeper than %u directories", w->c->o.max_depth);
	}
	if ((r = list_dir(w->fa, da, path, &la, w->err)))
		return damaged(w, path, r);
	if ((r = list_dir(w->fb, db, path, &lb, w->err))) {
		dlist_release(&la);
		return damaged(w, path, r);
	}
	w->entries += la.n + lb.n;
	if (w->entries > w->c->o.max_entries) {
		w->stopped = true;
		r = vf_diff_addf(w->c, path, "walk", NULL, NULL, NULL,
				 "not compared: more than %llu directory entries in the file systems",
				 (unsigned long long)w->c->o.max_entries);
		goto out;
	}
	while ((i < la.n || j < lb.n) && !r && !vf_diff_full(w->c) && !w->stopped) {
		int c = i == la.n ? 1 : j == lb.n ? -1 : strcmp(la.v[i].name, lb.v[j].name);
		const char *name = c <= 0 ? la.v[i].name : lb.v[j].name;

		free(child);
		if (asprintf(&child, "%s/%s", strcmp(path, "/") ? path : "", name) < 0) {
			child = NULL;
			r = vf_err_set(w->err, ENOMEM, "out of memory");
			break;
		}
		if (c < 0) {
			if (!(r = map_add(w->map, la.v[i].ino, child)))
				r = damaged(w, child, one_side(w, child, w->fa, la.v[i].ino, false));
		} else if (c > 0) {
			r = damaged(w, child, one_side(w, child, w->fb, lb.v[j].ino, true));
		} else {
			struct inode a, b;

			if ((r = map_add(w->map, la.v[i].ino, child)))
				break;
			if ((r = read_inode(w->fa, la.v[i].ino, child, &a, w->err)) ||
			    (r = read_inode(w->fb, lb.v[j].ino, child, &b, w->err)) ||
			    (r = cmp_inodes(w, child, &a, &b))) {
				r = damaged(w, child, r);
			} else if (LINUX_S_ISDIR(a.in.i_mode) && LINUX_S_ISDIR(b.in.i_mode)) {
				r = walk_dir(w, child, a.ino, b.ino, depth + 1);
			}
		}
		i += c <= 0;
		j += c >= 0;
	}
out:
	if (r == -ENOMEM && w->err && !w->err->msg[0])
		vf_err_set(w->err, ENOMEM, "out of memory");
	free(child);
	dlist_release(&la);
	dlist_release(&lb);
	return r;
}

int vf_diff_ext4_tree(struct vf_diff_ctx *c, struct struct_ext2_filsys *fa,
		      struct struct_ext2_filsys *fb, struct vf_diff_inode_map *map, struct vf_err *err)
{
	struct walk w = { c, fa, fb, map, 0, false, err };
	struct inode a, b;
	size_t from = c->r->n_findings;
	int r;

	if ((r = map_add(map, EXT2_ROOT_INO, "/")))
		return vf_err_set(err, ENOMEM, "out of memory");
	if ((r = read_inode(fa, EXT2_ROOT_INO, "/", &a, err)) ||
	    (r = read_inode(fb, EXT2_ROOT_INO, "/", &b, err)) || (r = cmp_inodes(&w, "/", &a, &b)))
		r = damaged(&w, "/", r);
	else if (LINUX_S_ISDIR(a.in.i_mode) && LINUX_S_ISDIR(b.in.i_mode))
		r = walk_dir(&w, "/", EXT2_ROOT_INO, EXT2_ROOT_INO, 0);
	vf_diff_sort_from(c, from);
	return r;
}
