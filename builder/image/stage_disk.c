/* Disk assembly helpers: sparse copies, zstd update targets, file digests. */
#include "builder/image/internal.h"

#include "builder/base/fs.h"
#include "builder/base/handoff.h"
#include "keys/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define CHUNK (1u << 20)
#define ZSTD_LEVEL 3
/* start writeback of what was written every this many bytes (fsync has less left) */
#define FLUSH_EVERY (32u << 20)
/* zstd's output is written in pieces of at least this much (the last one aside) */
#define OUT_WRITE (4u << 20)

static bool is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * A sequential reader of a sparse file: data ranges are read, holes are
 * served from `zeros` without a syscall (reading a hole would make the kernel
 * zero page-cache pages for it).
 */
struct sparse_in {
	int fd;
	uint64_t size;
	uint64_t data, hole;   /* the current data range [data, hole); data == size: none left */
	uint8_t *zeros;        /* CHUNK bytes, never written (so never resident either) */
};

static int sparse_in_init(struct sparse_in *s, int fd, uint64_t size)
{
	s->fd = fd;
	s->size = size;
	s->data = s->hole = 0;
	s->zeros = calloc(1, CHUNK);
	return s->zeros ? 0 : -ENOMEM;
}

static void sparse_in_release(struct sparse_in *s)
{
	free(s->zeros);
	s->zeros = NULL;
}

/* Find the data range at or after `pos` (once pos has passed the current one). */
static int sparse_in_seek(struct sparse_in *s, uint64_t pos)
{
	off_t d, h;

	if (pos < s->hole)
		return 0;
	d = lseek(s->fd, (off_t)pos, SEEK_DATA);
	if (d < 0) {
		if (errno != ENXIO)
			return -errno;
		s->data = s->hole = s->size; /* only a hole remains */
		return 0;
	}
	h = lseek(s->fd, d, SEEK_HOLE);
	if (h < 0)
		return -errno;
	/*
	 * Clamp both to the end of the region read: data found past it (another
	 * partition of the same disk image, possibly being written by another
	 * thread right now) must not stretch the region's trailing hole.
	 */
	s->data = (uint64_t)d > s->size ? s->size : (uint64_t)d;
	s->hole = (uint64_t)h > s->size ? s->size : (uint64_t)h;
	return 0;
}

/*
 * The next at most `max` bytes at `pos` (< size): *ret points into `buf`
 * (data, read) or into `zeros` (a hole). Returns the count or a negative errno.
 */
static int64_t sparse_in_next(struct sparse_in *s, uint64_t pos, uint8_t *buf, size_t max,
			      const uint8_t **ret)
{
	uint64_t end;
	int64_t got;
	int r;

	if (max > CHUNK)
		max = CHUNK;
	if ((r = sparse_in_seek(s, pos)))
		return r;
	if (pos < s->data) { /* in a hole */
		end = s->data - pos < max ? s->data : pos + max;
		*ret = s->zeros;
		return (int64_t)(end - pos);
	}
	end = s->hole - pos < max ? s->hole : pos + max;
	got = vf_fs_pread_full(s->fd, buf, (size_t)(end - pos), pos);
	if (got >= 0 && (uint64_t)got != end - pos)
		return -EIO; /* the file shrank */
	*ret = buf;
	return got;
}

int vf_image_copy_sparse(const char *src, int dst_fd, uint64_t offset, struct vf_err *err)
{
	uint8_t *buf = malloc(CHUNK);
	/* [wb_from, wb_to): the run written last whose writeback has not started */
	uint64_t size, pos = 0, wb_from = 0, wb_to = 0;
	int fd = -1, r = 0;

	if (!buf)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open '%s'", src);
		goto out;
	}
	if ((r = vf_fs_size(fd, &size))) {
		r = vf_err_sys(err, -r, "cannot get the size of '%s'", src);
		goto out;
	}
	while (pos < size) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
		off_t h;

		if (d < 0)
			break; /* ENXIO: only a hole remains */
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			h = (off_t)size;
		for (pos = (uint64_t)d; pos < (uint64_t)h;) {
			size_t n = (uint64_t)h - pos < CHUNK ? (size_t)((uint64_t)h - pos) : CHUNK;
			int64_t got = vf_fs_pread_full(fd, buf, n, pos);

			if (got <= 0) {
				r = vf_err_sys(err, got < 0 ? (int)-got : EIO, "cannot read '%s'", src);
				goto out;
			}
			/* zero runs stay holes in the destination */
			if (!is_zero(buf, (size_t)got)) {
				if ((r = vf_fs_pwrite_full(dst_fd, buf, (size_t)got, offset + pos))) {
					r = vf_err_sys(err, -r, "cannot write the disk image");
					goto out;
				}
				if (wb_to != offset + pos) /* a new run: the last one was short */
					wb_from = offset + pos;
				wb_to = offset + pos + (uint64_t)got;
			}
			pos += (uint64_t)got;
			/*
			 * let the disk start on long runs this copy wrote, and only on
			 * those (the rest of the destination may be another thread's
			 * business): the final fsync then has less left
			 */
			if (wb_to - wb_from >= FLUSH_EVERY) {
				(void)vf_fs_start_writeback(dst_fd, wb_from, wb_to - wb_from);
				wb_from = wb_to;
			}
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

/*
 * zstd's output: hashed, counted and written in pieces of OUT_WRITE bytes.
 * Where the file system allows it, the pieces bypass the page cache
 * (O_DIRECT, whole 4 KiB units; the tail is written normally at the end): a
 * 300 MB target would otherwise fill as much new page cache, which on a VM
 * costs more CPU than the compression's own writes, and wait for it at the
 * final fsync. The bytes are the same either way.
 */
#define DIRECT_ALIGN 4096u

struct zout {
	int fd;
	const char *path;
	struct vf_digest *d;
	bool direct;            /* fd is in O_DIRECT mode */
	uint64_t size;          /* bytes written */
	size_t hashed;          /* bytes at the start of the buffer already hashed */
	uint64_t flushed;       /* buffered mode: writeback started up to here */
};

/* Try O_DIRECT on the output (it stays buffered where that is refused). */
static void zout_direct(struct zout *o)
{
	int fl = fcntl(o->fd, F_GETFL);

	o->direct = fl >= 0 && fcntl(o->fd, F_SETFL, fl | O_DIRECT) == 0;
}

/*
 * Hash what is new in buf[0, *len) and write what can go now: everything
 * (buffered, or `last`), or the whole 4 KiB units (direct), keeping the rest
 * at the start of buf.
 */
static int zout_emit(struct zout *o, uint8_t *buf, size_t *len, bool last, struct vf_err *err)
{
	size_t n = *len;
	int r;

	if (n > o->hashed && vf_digest_update(o->d, buf + o->hashed, n - o->hashed))
		return vf_err_set(err, EIO, "digest computation failed");
	o->hashed = n;
	if (o->direct) {
		size_t k = last ? n : n / DIRECT_ALIGN * DIRECT_ALIGN;
		int fl;

		/* the unaligned tail, at the end: without O_DIRECT */
		if (last && n % DIRECT_ALIGN && ((fl = fcntl(o->fd, F_GETFL)) < 0 ||
						 fcntl(o->fd, F_SETFL, fl & ~O_DIRECT) < 0))
			return vf_err_sys(err, errno, "cannot write '%s'", o->path);
		r = k ? vf_fs_pwrite_full(o->fd, buf, k, o->size) : 0;
		/* O_DIRECT accepted by fcntl, refused by the write: go on buffered */
		if (r == -EINVAL && (fl = fcntl(o->fd, F_GETFL)) >= 0 &&
		    fcntl(o->fd, F_SETFL, fl & ~O_DIRECT) == 0) {
			o->direct = false;
			r = vf_fs_pwrite_full(o->fd, buf, k, o->size);
		}
		if (r)
			return vf_err_sys(err, -r, "cannot write '%s'", o->path);
		o->size += k;
		memmove(buf, buf + k, n - k);
		*len = o->hashed = n - k;
		return 0;
	}
	if (n && (r = vf_fs_pwrite_full(o->fd, buf, n, o->size)))
		return vf_err_sys(err, -r, "cannot write '%s'", o->path);
	o->size += n;
	*len = o->hashed = 0;
	if (o->size - o->flushed >= FLUSH_EVERY) {
		vf_fs_start_writeback(o->fd, o->flushed, o->size - o->flushed);
		o->flushed = o->size;
	}
	return 0;
}

/*
 * zstd update targets in frames: the region is cut into ZCHUNK-byte chunks
 * and each chunk is compressed on its own, one-shot, into one zstd frame
 * with its content size and checksum; the target is those frames in order
 * (RFC 8878: a zstd stream is one or more frames; every decoder reads them
 * as one stream). A frame depends only on its chunk, so workers compress
 * chunks in parallel and the bytes do not depend on how many there are.
 * Against zstd's own multi-threaded mode on one frame this costs about half
 * the CPU (no overlap reloaded per job, no copy of the input into zstd's
 * buffers, small match tables that stay in cache) for output about 0.1%
 * larger: zstd at this level only looks 2 MiB back anyway. A chunk that is
 * all hole gives the same frame every time: it is compressed once per worker.
 *
 * Worker i takes chunks i, i + n, i + 2n, ... through a vf_handoff, into two
 * output slots used in turn: while the caller writes one chunk's frame out,
 * the worker compresses its next chunk into the other slot.
 */
#define ZCHUNK (8u << 20)
#define ZWORKERS_MAX 8

struct zslot {
	uint8_t *buf;           /* ZSTD_compressBound(ZCHUNK) bytes */
	const uint8_t *frame;   /* buf, or the worker's all-hole frame */
	size_t len;
	const char *zmsg;       /* zstd's message when r is -EIO */
	int r;                  /* 0, or a negative errno */
};

struct zworker {
	uint64_t offset, end;   /* the region */
	int fd;
	struct sparse_in si;
	ZSTD_CCtx *cctx;
	uint8_t *in;            /* ZCHUNK bytes */
	uint8_t *hole_frame;    /* the frame of an all-hole ZCHUNK, once made */
	size_t hole_len;
	struct zslot slot[2];
	uint64_t next;          /* the chunk the next post is for */
	struct vf_handoff h;
	bool started;
};

/* Compress chunk w->next into `item` (a slot of w). */
static int zchunk_compress(void *ctx, void *item)
{
	struct zworker *w = ctx;
	struct zslot *s = item;
	uint64_t pos = w->offset + w->next * (uint64_t)ZCHUNK;
	size_t len = w->end - pos < ZCHUNK ? (size_t)(w->end - pos) : ZCHUNK;
	size_t cap = ZSTD_compressBound(ZCHUNK), got = 0, z;
	bool hole = true;
	int r;

	s->zmsg = NULL;
	/* all hole: the cached frame (the same bytes every time) */
	if ((r = sparse_in_seek(&w->si, pos)))
		return s->r = r;
	if (len == ZCHUNK && pos < w->si.data && w->si.data - pos >= len && w->hole_frame) {
		s->frame = w->hole_frame;
		s->len = w->hole_len;
		return s->r = 0;
	}
	while (got < len) {
		const uint8_t *d;
		int64_t n = sparse_in_next(&w->si, pos + got, w->in + got, len - got, &d);

		if (n <= 0)
			return s->r = n ? (int)n : -EIO; /* 0: the file shrank */
		if (d != w->in + got)
			memset(w->in + got, 0, (size_t)n);
		else
			hole = false;
		got += (size_t)n;
	}
	z = ZSTD_compress2(w->cctx, s->buf, cap, w->in, len);
	if (ZSTD_isError(z)) {
		s->zmsg = ZSTD_getErrorName(z);
		return s->r = -EIO;
	}
	s->frame = s->buf;
	s->len = z;
	if (hole && len == ZCHUNK && !w->hole_frame && (w->hole_frame = malloc(z))) {
		memcpy(w->hole_frame, s->buf, z);
		w->hole_len = z;
	}
	return s->r = 0;
}

static int zworker_init(struct zworker *w, const char *src, uint64_t offset, uint64_t end)
{
	w->offset = offset;
	w->end = end;
	w->fd = open(src, O_RDONLY | O_CLOEXEC);
	if (w->fd < 0)
		return -errno;
	if (sparse_in_init(&w->si, w->fd, end) || !(w->cctx = ZSTD_createCCtx()) ||
	    !(w->in = malloc(ZCHUNK)) || !(w->slot[0].buf = malloc(ZSTD_compressBound(ZCHUNK))) ||
	    !(w->slot[1].buf = malloc(ZSTD_compressBound(ZCHUNK))))
		return -ENOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1)))
		return -EIO;
	return 0;
}

static void zworker_release(struct zworker *w)
{
	if (w->started)
		vf_handoff_stop(&w->h);
	if (w->fd >= 0)
		close(w->fd);
	sparse_in_release(&w->si);
	ZSTD_freeCCtx(w->cctx);
	free(w->in);
	free(w->hole_frame);
	free(w->slot[0].buf);
	free(w->slot[1].buf);
}

/* Hand worker w its next chunk (if it has one) into slot `i`. */
static int zworker_post(struct zworker *w, uint64_t chunk, uint64_t n_chunks, unsigned i)
{
	if (chunk >= n_chunks)
		return 0;
	w->next = chunk;
	return vf_handoff_post(&w->h, &w->slot[i]);
}

/* Append a frame to the output staging buffer, writing out whole pieces. */
static int zout_append(struct zout *o, uint8_t *buf, size_t cap, size_t *len,
		       const uint8_t *p, size_t n, struct vf_err *err)
{
	while (n) {
		size_t k = cap - *len < n ? cap - *len : n;
		int r;

		memcpy(buf + *len, p, k);
		*len += k;
		p += k;
		n -= k;
		if (*len >= OUT_WRITE && (r = zout_emit(o, buf, len, false, err)))
			return r;
	}
	return 0;
}

int vf_image_zstd(const char *src, uint64_t offset, uint64_t len, const char *dst,
		  unsigned threads, uint8_t sha256[32], uint64_t *ret_size, struct vf_err *err)
{
	/* output gathered into writes of OUT_WRITE bytes (plus what O_DIRECT leaves over) */
	size_t out_cap = OUT_WRITE + (64u << 10), out_len = 0;
	uint8_t *out = NULL;
	struct zout zo = { .path = dst, .d = vf_digest_new(vf_digest_alg_get("sha256")) };
	struct zworker *ws = NULL;
	struct vf_fs_atomic a;
	uint64_t size = 0, end, n_chunks = 0;
	unsigned n = threads ? (threads > ZWORKERS_MAX ? ZWORKERS_MAX : threads) : 1;
	int fd = -1, r = 0;

	vf_fs_atomic_init(&a);
	if (posix_memalign((void **)&out, DIRECT_ALIGN, out_cap))
		out = NULL;
	if (!out || !zo.d) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || vf_fs_size(fd, &size)) {
		r = vf_err_sys(err, errno, "cannot open '%s'", src);
		goto out;
	}
	end = len ? offset + len : size;
	if (end < offset || end > size) {
		r = vf_err_set(err, EINVAL, "'%s' is %llu bytes, has no %llu bytes at offset %llu",
			       src, (unsigned long long)size, (unsigned long long)len,
			       (unsigned long long)offset);
		goto out;
	}
	/* at least one frame: an empty region is one empty frame */
	n_chunks = (end - offset + ZCHUNK - 1) / ZCHUNK;
	if (n_chunks == 0)
		n_chunks = 1;
	if (n > n_chunks)
		n = (unsigned)n_chunks;
	if (!(ws = calloc(n, sizeof(*ws)))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		ws[i].fd = -1;
	for (unsigned i = 0; i < n && !r; i++) {
		if ((r = zworker_init(&ws[i], src, offset, end))) {
			r = r == -ENOMEM ? vf_err_set(err, ENOMEM, "out of memory") :
			    r == -EIO ? vf_err_set(err, EIO, "cannot configure zstd") :
					vf_err_sys(err, -r, "cannot open '%s'", src);
			goto out;
		}
		vf_handoff_start(&ws[i].h, zchunk_compress, &ws[i]);
		ws[i].started = true;
	}
	if ((r = vf_fs_atomic_open(&a, dst, 0644, err)))
		goto out;
	zo.fd = a.fd;
	zout_direct(&zo);
	/* each worker starts on its first chunk, in slot 0 */
	for (unsigned i = 0; i < n; i++)
		(void)zworker_post(&ws[i], i, n_chunks, 0);
	for (uint64_t k = 0; k < n_chunks; k++) {
		struct zworker *w = &ws[k % n];
		unsigned i = (unsigned)(k / n % 2);
		struct zslot *s = &w->slot[i];

		/* chunk k is in slot i once the worker is idle; its next goes to the other */
		(void)vf_handoff_idle(&w->h);
		if (s->r) {
			r = s->r == -EIO && s->zmsg ? vf_err_set(err, EIO, "zstd: %s", s->zmsg) :
			    vf_err_sys(err, -s->r, "cannot read '%s'", src);
			goto out;
		}
		(void)zworker_post(w, k + n, n_chunks, 1 - i);
		if ((r = zout_append(&zo, out, out_cap, &out_len, s->frame, s->len, err)))
			goto out;
	}
	if ((r = zout_emit(&zo, out, &out_len, true, err)))
		goto out;
	if (vf_digest_final(zo.d, sha256)) {
		r = vf_err_set(err, EIO, "digest computation failed");
		goto out;
	}
	*ret_size = zo.size;
	r = vf_fs_atomic_commit(&a, err);
out:
	for (unsigned i = 0; ws && i < n; i++)
		zworker_release(&ws[i]);
	free(ws);
	vf_fs_atomic_release(&a);
	if (fd >= 0)
		close(fd);
	vf_digest_free(zo.d);
	free(out);
	return r;
}

int vf_image_file_digest(const char *path, uint8_t sha256[32], uint64_t *size,
			 struct vf_err *err)
{
	struct vf_digest *d = vf_digest_new(vf_digest_alg_get("sha256"));
	struct sparse_in si = { .zeros = NULL };
	uint8_t *buf = malloc(CHUNK);
	uint64_t pos = 0, total;
	int fd = -1, r = 0;

	/*
	 * Read inline, holes from the zero buffer: the image was just written,
	 * so reading it costs little next to sha256, and a reading thread cost
	 * the digest a context switch per block (the digest ends the build)
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open '%s'", path);
		goto out;
	}
	if ((r = vf_fs_size(fd, &total))) {
		r = vf_err_sys(err, -r, "cannot get the size of '%s'", path);
		goto out;
	}
	if (!d || !buf || sparse_in_init(&si, fd, total)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	while (pos < total) {
		const uint8_t *p;
		int64_t got = sparse_in_next(&si, pos, buf, CHUNK, &p);

		if (got <= 0) {
			r = vf_err_sys(err, got ? (int)-got : EIO, "cannot read '%s'", path);
			goto out;
		}
		if (vf_digest_update(d, p, (size_t)got)) {
			r = vf_err_set(err, EIO, "digest computation failed");
			goto out;
		}
		pos += (uint64_t)got;
	}
	if (vf_digest_final(d, sha256))
		r = vf_err_set(err, EIO, "digest computation failed");
	*size = pos;
out:
	if (fd >= 0)
		close(fd);
	sparse_in_release(&si);
	free(buf);
	vf_digest_free(d);
	return r;
}
