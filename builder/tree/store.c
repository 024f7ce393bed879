/*
 * The content store: `<dir>/<sha256-hex>`, one file per distinct content.
 *
 * A content is streamed in and kept in a small buffer while it fits, so
 * that small contents already stored cost no file I/O at all; a larger one
 * goes to a temporary file "<dir>/.tmp-XXXXXX" (holes stay holes) that is
 * renamed to its digest at the end, or removed when the content is already
 * stored. A buffered content is hashed whole at its end, a spilled one as
 * it arrives; both through the hasher an importer may set (it pairs the
 * content's chunks with a stream of its own, tree_internal.h). Nothing is
 * fsynced: the store is build scratch. Every distinct content is counted
 * against the total limit once.
 *
 * Pack mode (store.h, for builds): contents up to PACK_MAX bytes are appended
 * to one unlinked pack file instead, so that tens of thousands of small
 * contents cost no file creations, renames and unlinks; opening one gives a
 * memfd holding a copy of its bytes. Larger contents still get their own
 * files. Appends are staged in memory and written by a thread of the store
 * (in STAGE_MAX pieces), so that importing goes on meanwhile; anything that
 * reads the pack first waits until all of it is written.
 */
#include "builder/tree/store.h"
#include "builder/tree/tree_internal.h"

#include "builder/base/fs.h"
#include "builder/base/handoff.h"
#include "builder/base/hex.h"
#include "keys/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

/* Contents up to this size are buffered before a file is created. */
#define SMALL_MAX (64 * 1024)
/* In pack mode, contents up to this size are buffered and go to the pack file. */
#define PACK_MAX (1024 * 1024)
/* Pack appends are handed to the writer thread in pieces of this size. */
#define STAGE_MAX (4 * 1024 * 1024)

/* One known digest, in an open-addressing set. */
struct known {
	uint8_t sha256[32];
	bool used;
	bool packed;            /* in the pack file, at `off` */
	uint64_t off, size;
};

struct vf_tree_store {
	char *dir;
	uint64_t max_entry, max_total, total;

	struct known *set;      /* digests already stored */
	size_t set_cap, set_used;

	struct pack *pack;      /* pack mode, else NULL */

	/* the content being written */
	bool active;
	struct vf_sha256 d;     /* its digest: of the file's bytes once spilled, else at the end */
	vf_tree_store_hash_fn hash_fn;  /* feeds d, or NULL: vf_sha256_update() */
	void *hash_ctx;
	uint8_t *buf;           /* buf_max bytes, owned */
	uint8_t *area;          /* where the content is gathered: buf, or (pack mode)
	                           the pack's stage right after what it holds, so a new
	                           content needs no copy to join the pack */
	size_t buf_len, buf_max;
	int fd;                 /* temporary file, -1 while buffered */
	char *tmp;              /* its path */
	uint64_t size;
};

static const uint8_t zeros[64 * 1024];

/*
 * The pack file and its writer: contents are appended to `stage`; a full
 * stage is handed over (`flight`) to the writer thread (builder/base/
 * handoff.h), which writes it while the next one fills. Without a thread (it
 * could not start) stages are written directly.
 */
struct pack {
	int fd;
	uint64_t end;            /* bytes appended so far */
	uint8_t *stage;          /* STAGE_MAX bytes: appended, not handed over yet */
	size_t stage_len;
	uint64_t stage_off;      /* where stage[0] goes in the file */
	bool dropped;            /* vf_tree_drop_packed(): the bytes are gone */

	struct vf_handoff writer;
	uint8_t *flight;         /* STAGE_MAX bytes, written by the writer while busy */
	size_t flight_len;
	uint64_t flight_off;
};

/* The writer's work: the stage handed over. */
static int pack_write(void *ctx, void *item)
{
	struct pack *p = ctx;

	(void)item;
	return vf_fs_pwrite_full(p->fd, p->flight, p->flight_len, p->flight_off);
}

/* Hand the stage to the writer (or write it). Returns 0 or the first write error. */
static int pack_submit(struct pack *p)
{
	uint8_t *t;
	int r;

	if (!p->stage_len)
		return 0;
	/* the flight buffer is free once the writer is idle */
	if ((r = vf_handoff_idle(&p->writer)))
		return r;
	t = p->flight;
	p->flight = p->stage;
	p->stage = t;
	p->flight_len = p->stage_len;
	p->flight_off = p->stage_off;
	if ((r = vf_handoff_post(&p->writer, p)))
		return r;
	p->stage_len = 0;
	p->stage_off = p->end;
	return 0;
}

/* Everything appended is in the file (before reading it). */
static int pack_flush(struct pack *p)
{
	int r = pack_submit(p);

	return r ? r : vf_handoff_idle(&p->writer);
}

/* Append `len` (at most STAGE_MAX) bytes; *ret_off is where they go. */
static int pack_append(struct pack *p, const void *data, size_t len, uint64_t *ret_off)
{
	int r;

	if (p->stage_len + len > STAGE_MAX && (r = pack_submit(p)) < 0)
		return r;
	memcpy(p->stage + p->stage_len, data, len);
	p->stage_len += len;
	*ret_off = p->end;
	p->end += len;
	return 0;
}

static void pack_free(struct pack *p)
{
	if (!p)
		return;
	vf_handoff_stop(&p->writer);
	if (p->fd >= 0)
		close(p->fd);
	free(p->stage);
	free(p->flight);
	free(p);
}

static struct pack *pack_new(int fd)
{
	struct pack *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fd = fd;
	p->stage = malloc(STAGE_MAX);
	p->flight = malloc(STAGE_MAX);
	if (!p->stage || !p->flight) {
		p->fd = -1;
		pack_free(p);
		return NULL;
	}
	/* without the thread, stages are written directly: slower, same bytes */
	vf_handoff_start(&p->writer, pack_write, p);
	return p;
}

struct vf_tree_store *vf_tree_store_new(const char *dir, uint64_t max_entry_size,
					uint64_t max_total_size)
{
	struct vf_tree_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = -1;
	s->buf_max = SMALL_MAX;
	s->max_entry = max_entry_size;
	s->max_total = max_total_size;
	s->dir = strdup(dir);
	s->buf = malloc(SMALL_MAX);
	s->set_cap = 1024;
	s->set = calloc(s->set_cap, sizeof(*s->set));
	if (vf_sha256_init(&s->d) < 0 || !s->dir || !s->buf || !s->set) {
		vf_tree_store_free(s);
		return NULL;
	}
	return s;
}

void vf_tree_store_free(struct vf_tree_store *s)
{
	if (!s)
		return;
	vf_tree_store_abort(s);
	pack_free(s->pack);
	vf_sha256_release(&s->d);
	free(s->buf);
	free(s->set);
	free(s->dir);
	free(s);
}

static size_t slot_of(const uint8_t sha256[32], size_t cap)
{
	uint64_t h;

	memcpy(&h, sha256, sizeof(h));
	return (size_t)h & (cap - 1);
}

static const struct known *set_find(const struct vf_tree_store *s, const uint8_t sha256[32])
{
	for (size_t i = slot_of(sha256, s->set_cap); s->set[i].used; i = (i + 1) & (s->set_cap - 1))
		if (!memcmp(s->set[i].sha256, sha256, 32))
			return &s->set[i];
	return NULL;
}

static void set_put(struct known *set, size_t cap, const struct known *k)
{
	size_t i = slot_of(k->sha256, cap);

	while (set[i].used)
		i = (i + 1) & (cap - 1);
	set[i] = *k;
	set[i].used = true;
}

/* Make room for one more digest (load factor at most 1/2). */
static int set_reserve(struct vf_tree_store *s)
{
	struct known *n;
	size_t cap;

	if ((s->set_used + 1) * 2 <= s->set_cap)
		return 0;
	cap = s->set_cap * 2;
	n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->set_cap; i++)
		if (s->set[i].used)
			set_put(n, cap, &s->set[i]);
	free(s->set);
	s->set = n;
	s->set_cap = cap;
	return 0;
}

static char *path_in(const struct vf_tree_store *s, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", s->dir, name) < 0)
		return NULL;
	return p;
}

int vf_tree_store_begin(struct vf_tree_store *s, struct vf_err *err)
{
	int r;

	vf_tree_store_abort(s);
	if (vf_sha256_reset(&s->d) < 0)
		return vf_err_set(err, EIO, "cannot start a sha256 digest");
	s->area = s->buf;
	if (s->pack && !s->pack->dropped) {
		/* room for a whole packed content (buf_max) after what the stage holds */
		if (s->pack->stage_len + s->buf_max > STAGE_MAX && (r = pack_submit(s->pack)) < 0)
			return vf_err_sys(err, -r,
					  "cannot write the pack file of the content store '%s'",
					  s->dir);
		s->area = s->pack->stage + s->pack->stage_len;
	}
	s->buf_len = 0;
	s->size = 0;
	s->active = true;
	return 0;
}

void vf_tree_store_set_hasher(struct vf_tree_store *s, vf_tree_store_hash_fn fn, void *ctx)
{
	s->hash_fn = fn;
	s->hash_ctx = ctx;
}

/* Feed the content's digest. */
static int hash(struct vf_tree_store *s, const void *data, size_t len, struct vf_err *err)
{
	int r = s->hash_fn ? s->hash_fn(s->hash_ctx, &s->d, data, len) :
			     vf_sha256_update(&s->d, data, len);

	return r < 0 ? vf_err_set(err, EIO, "sha256 digest failed") : 0;
}

/* Move from the buffer to a temporary file. */
static int spill(struct vf_tree_store *s, struct vf_err *err)
{
	int r;

	s->tmp = path_in(s, ".tmp-XXXXXX");
	if (!s->tmp)
		return vf_err_set(err, ENOMEM, "out of memory");
	s->fd = mkostemp(s->tmp, O_CLOEXEC);
	if (s->fd < 0) {
		r = vf_err_sys(err, errno, "cannot create a file in the content store '%s'", s->dir);
		free(s->tmp);
		s->tmp = NULL;
		return r;
	}
	r = vf_fs_pwrite_full(s->fd, s->area, s->buf_len, 0);
	if (r < 0)
		return vf_err_sys(err, r, "cannot write '%s'", s->tmp);
	return 0;
}

static int check_size(struct vf_tree_store *s, uint64_t more, struct vf_err *err)
{
	if (more > s->max_entry || s->size > s->max_entry - more)
		return vf_err_set(err, EFBIG, "content is larger than the limit of %" PRIu64 " bytes",
				  s->max_entry);
	return 0;
}

int vf_tree_store_write(struct vf_tree_store *s, const void *data, size_t len,
			struct vf_err *err)
{
	int r;

	if ((r = check_size(s, len, err)))
		return r;
	if (s->fd < 0 && s->buf_len + len <= s->buf_max) {
		memcpy(s->area + s->buf_len, data, len);
		s->buf_len += len;
	} else {
		/* from here on, the content is hashed as it comes */
		if (s->fd < 0 && ((r = hash(s, s->area, s->buf_len, err)) || (r = spill(s, err))))
			return r;
		if ((r = hash(s, data, len, err)))
			return r;
		r = vf_fs_pwrite_full(s->fd, data, len, s->size);
		if (r < 0)
			return vf_err_sys(err, r, "cannot write '%s'", s->tmp);
	}
	s->size += len;
	return 0;
}

int vf_tree_store_write_zeros(struct vf_tree_store *s, uint64_t n, struct vf_err *err)
{
	int r;

	if ((r = check_size(s, n, err)))
		return r;
	if (s->fd < 0 && s->buf_len + n <= s->buf_max) {
		memset(s->area + s->buf_len, 0, (size_t)n);
		s->buf_len += (size_t)n;
		s->size += n;
		return 0;
	}
	if (s->fd < 0 && ((r = hash(s, s->area, s->buf_len, err)) || (r = spill(s, err))))
		return r;
	for (uint64_t left = n; left;) {
		size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);

		if ((r = hash(s, zeros, k, err)))
			return r;
		left -= k;
	}
	/* in the file, the zeros are a hole: the next write or the end extends it */
	s->size += n;
	return 0;
}

uint64_t vf_tree_store_size(const struct vf_tree_store *s)
{
	return s->size;
}

int vf_tree_store_end(struct vf_tree_store *s, uint8_t ret_sha256[32], uint64_t *ret_size,
		      struct vf_err *err)
{
	struct known k = { .size = s->size };
	uint8_t sha[32];
	char hex[65];
	char *final = NULL;
	int r;

	/* a buffered content is hashed now, whole */
	if ((s->fd < 0 && (r = hash(s, s->area, s->buf_len, err))))
		goto out;
	if (vf_sha256_final(&s->d, sha) < 0) {
		r = vf_err_set(err, EIO, "sha256 digest failed");
		goto out;
	}
	if (set_find(s, sha))
		goto done;
	if (s->size > s->max_total - s->total) {
		r = vf_err_set(err, EFBIG,
			       "distinct contents exceed the limit of %" PRIu64 " bytes in total",
			       s->max_total);
		goto out;
	}
	if (set_reserve(s) < 0) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(k.sha256, sha, 32);
	if (s->pack && s->pack->dropped) {
		r = vf_err_set(err, ESTALE, "the packed contents of the store '%s' were dropped",
			       s->dir);
		goto out;
	}
	if (s->pack && s->fd < 0 && s->area == s->pack->stage + s->pack->stage_len) {
		/* gathered whole in the stage, where it belongs: it joins the pack as it is */
		k.off = s->pack->end;
		s->pack->stage_len += s->buf_len;
		s->pack->end += s->buf_len;
		k.packed = true;
		goto put;
	}
	if (s->pack && s->fd < 0) {
		/*
		 * The stage was handed to the writer meanwhile (the tree was read
		 * during the content): append a copy (the area may become the
		 * stage again while it is appended)
		 */
		if (s->area != s->buf)
			memcpy(s->buf, s->area, s->buf_len);
		if ((r = pack_append(s->pack, s->buf, s->buf_len, &k.off)) < 0) {
			r = vf_err_sys(err, -r, "cannot write the pack file of the content store '%s'",
				       s->dir);
			goto out;
		}
		k.packed = true;
		goto put;
	}
	vf_hex_format(sha, 32, hex);
	final = path_in(s, hex);
	if (!final) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (s->fd < 0 && (r = spill(s, err)))
		goto out;
	if (ftruncate(s->fd, (off_t)s->size) < 0) {
		r = vf_err_sys(err, errno, "cannot write '%s'", s->tmp);
		goto out;
	}
	if (close(s->fd) < 0) {
		s->fd = -1;
		r = vf_err_sys(err, errno, "cannot write '%s'", s->tmp);
		goto out;
	}
	s->fd = -1;
	/* replaces a file of an earlier build in the same directory: same bytes */
	if (rename(s->tmp, final) < 0) {
		r = vf_err_sys(err, errno, "cannot rename '%s' to '%s'", s->tmp, final);
		goto out;
	}
	free(s->tmp);
	s->tmp = NULL;
put:
	set_put(s->set, s->set_cap, &k);
	s->set_used++;
	s->total += s->size;
done:
	memcpy(ret_sha256, sha, 32);
	*ret_size = s->size;
	r = 0;
out:
	free(final);
	vf_tree_store_abort(s);
	return r;
}

void vf_tree_store_abort(struct vf_tree_store *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	s->tmp = NULL;
	s->buf_len = 0;
	s->active = false;
}

int vf_tree_store_put(struct vf_tree_store *s, const void *data, size_t len,
		      uint8_t ret_sha256[32], uint64_t *ret_size, struct vf_err *err)
{
	int r;

	if ((r = vf_tree_store_begin(s, err)) || (r = vf_tree_store_write(s, data, len, err))) {
		vf_tree_store_abort(s);
		return r;
	}
	return vf_tree_store_end(s, ret_sha256, ret_size, err);
}

/* A packed content: a memfd holding a copy of its bytes. */
static int open_packed(const struct vf_tree_store *s, const struct known *k, struct vf_err *err)
{
	off_t off = (off_t)k->off;
	uint64_t left = k->size;
	int fd, r;

	if (s->pack->dropped)
		return vf_err_set(err, ESTALE, "the packed contents of the store '%s' were dropped",
				  s->dir);
	if ((r = pack_flush(s->pack)) < 0)
		return vf_err_sys(err, -r, "cannot write the pack file of the content store '%s'",
				  s->dir);
	fd = memfd_create("vforge-content", MFD_CLOEXEC);
	if (fd < 0)
		return vf_err_sys(err, errno, "cannot create a memfd for a stored content");
	while (left) {
		ssize_t n = sendfile(fd, s->pack->fd, &off, (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = vf_err_sys(err, n < 0 ? errno : EIO,
				       "cannot read the pack file of the content store '%s'", s->dir);
			close(fd);
			return r;
		}
		left -= (uint64_t)n;
	}
	/* the promised copy "at offset 0, like a file": sendfile moved the position */
	if (lseek(fd, 0, SEEK_SET) < 0) {
		r = vf_err_sys(err, errno, "cannot rewind a stored content");
		close(fd);
		return r;
	}
	return fd;
}

int vf_tree_store_open(const struct vf_tree_store *s, const uint8_t sha256[32],
		       struct vf_err *err)
{
	const struct known *k = set_find(s, sha256);
	char hex[65];
	char *path;
	int fd, r;

	if (k && k->packed)
		return open_packed(s, k, err);
	vf_hex_format(sha256, 32, hex);
	path = path_in(s, hex);
	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open the stored content '%s'", path);
		free(path);
		return r;
	}
	free(path);
	return fd;
}

static int set_pack(struct vf_tree_store *s, struct vf_err *err)
{
	char *path;
	uint8_t *buf;
	int fd;

	if (s->pack)
		return 0;
	if (s->active)
		return vf_err_set(err, EBUSY, "a content is being written");
	if (!(buf = realloc(s->buf, PACK_MAX)))
		return vf_err_set(err, ENOMEM, "out of memory");
	s->buf = buf;
	if (!(path = path_in(s, ".pack-XXXXXX")))
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		int r = vf_err_sys(err, errno, "cannot create a file in the content store '%s'", s->dir);

		free(path);
		return r;
	}
	/* nothing to clean up later: the file lives as long as the fd */
	(void)unlink(path);
	free(path);
	if (!(s->pack = pack_new(fd))) {
		close(fd);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	s->buf_max = PACK_MAX;
	return 0;
}

int vf_tree_set_store_pack(struct vf_tree *t, struct vf_err *err)
{
	return set_pack(vf_tree_store_of(t), err);
}

int vf_tree_content_open(const struct vf_tree *t, const struct vf_tree_entry *e,
			 struct vf_tree_content *ret, struct vf_err *err)
{
	const struct vf_tree_entry *f = e;
	/* only looked up: the tree's store is not changed through this pointer */
	const struct vf_tree_store *s = vf_tree_store_of((struct vf_tree *)t);
	const struct known *k;
	int fd, r;

	if (e->type == VF_TREE_HARDLINK)
		f = vf_tree_get(t, e->link);
	if (f && f->type == VF_TREE_FILE && s->pack &&
	    (k = set_find(s, f->sha256)) && k->packed) {
		if (s->pack->dropped)
			return vf_err_set(err, ESTALE,
					  "the packed contents of the store '%s' were dropped", s->dir);
		if ((r = pack_flush(s->pack)) < 0)
			return vf_err_sys(err, -r, "cannot write the pack file of the content store '%s'",
					  s->dir);
		ret->fd = s->pack->fd;
		ret->offset = k->off;
		ret->size = k->size;
		ret->owned = false;
		return 0;
	}
	/* a content with its own file, or an error naming what is wrong */
	if ((fd = vf_tree_open_content(t, e, err)) < 0)
		return fd;
	ret->fd = fd;
	ret->offset = 0;
	ret->size = f ? f->size : 0;
	ret->owned = true;
	return 0;
}

void vf_tree_drop_packed(struct vf_tree *t)
{
	struct vf_tree_store *s = vf_tree_store_of(t);

	if (!s->pack || s->pack->dropped)
		return;
	/* nothing in flight may land after the punch */
	(void)pack_flush(s->pack);
	s->pack->dropped = true;
	/* rounded up: a partial last block would only be zeroed, not freed */
	if (s->pack->end)
		(void)fallocate(s->pack->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				(off_t)((s->pack->end + 65535) / 65536 * 65536));
}

int vf_tree_content_pack_range(const struct vf_tree *t, const struct vf_tree_entry *e,
			       uint64_t *off, uint64_t *len)
{
	const struct vf_tree_store *s = vf_tree_store_of((struct vf_tree *)t);
	const struct vf_tree_entry *f = e->type == VF_TREE_HARDLINK ? vf_tree_get(t, e->link) : e;
	const struct known *k;

	if (!f || f->type != VF_TREE_FILE || !s->pack || !(k = set_find(s, f->sha256)) ||
	    !k->packed)
		return -ENOENT;
	*off = k->off;
	*len = k->size;
	return 0;
}

void vf_tree_pack_release(const struct vf_tree *t, uint64_t off, uint64_t len)
{
	/* only the pack file's blocks change, never what the store knows */
	struct vf_tree_store *s = vf_tree_store_of((struct vf_tree *)t);
	uint64_t from = (off + PACK_RELEASE_UNIT - 1) / PACK_RELEASE_UNIT * PACK_RELEASE_UNIT;
	uint64_t to = (off + len) / PACK_RELEASE_UNIT * PACK_RELEASE_UNIT;

	if (!s->pack || s->pack->dropped || to <= from)
		return;
	/* appended bytes must be in the file before a punch can free them */
	if (pack_flush(s->pack) < 0)
		return;
	(void)fallocate(s->pack->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from,
			(off_t)(to - from));
}

void vf_tree_content_close(struct vf_tree_content *c)
{
	if (c->owned && c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->owned = false;
}
