/* Disk assembly helpers: sparse copies, zstd update targets, file digests. */
#include "builder/image/internal.h"

#include "builder/base/fs.h"
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

static bool is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

int vf_image_copy_sparse(const char *src, int dst_fd, uint64_t offset, struct vf_err *err)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t size, pos = 0;
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
			if (!is_zero(buf, (size_t)got) &&
			    (r = vf_fs_pwrite_full(dst_fd, buf, (size_t)got, offset + pos))) {
				r = vf_err_sys(err, -r, "cannot write the disk image");
				goto out;
			}
			pos += (uint64_t)got;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

int vf_image_zstd(const char *src, const char *dst, unsigned threads, struct vf_err *err)
{
	size_t in_cap = ZSTD_CStreamInSize(), out_cap = ZSTD_CStreamOutSize();
	uint8_t *in = malloc(in_cap), *out = malloc(out_cap);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	struct vf_fs_atomic a;
	uint64_t size, pos = 0;
	int fd = -1, r = 0;

	vf_fs_atomic_init(&a);
	if (!in || !out || !cctx) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || vf_fs_size(fd, &size)) {
		r = vf_err_sys(err, errno, "cannot open '%s'", src);
		goto out;
	}
	if ((r = vf_fs_atomic_open(&a, dst, 0644, err)))
		goto out;
	/*
	 * Always zstd's multi-threaded mode (at least one worker): its output
	 * is the same for any number of workers, unlike single-threaded mode's.
	 */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers,
						(int)(threads ? (threads > 64 ? 64 : threads) : 1))) ||
	    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, size))) {
		r = vf_err_set(err, EIO, "cannot configure zstd");
		goto out;
	}
	/* all input with ZSTD_e_continue, then ZSTD_e_end with none: the first call
	 * must not be ZSTD_e_end, or the job split would depend on the workers */
	for (;;) {
		size_t n = size - pos < in_cap ? (size_t)(size - pos) : in_cap;
		int64_t got = n ? vf_fs_pread_full(fd, in, n, pos) : 0;
		ZSTD_EndDirective mode = n ? ZSTD_e_continue : ZSTD_e_end;
		ZSTD_inBuffer ib = { in, n, 0 };
		bool done = false;

		if (got < 0 || (size_t)got != n) {
			r = vf_err_sys(err, got < 0 ? (int)-got : EIO, "cannot read '%s'", src);
			goto out;
		}
		pos += n;
		do {
			ZSTD_outBuffer ob = { out, out_cap, 0 };
			size_t left = ZSTD_compressStream2(cctx, &ob, &ib, mode);

			if (ZSTD_isError(left)) {
				r = vf_err_set(err, EIO, "zstd: %s", ZSTD_getErrorName(left));
				goto out;
			}
			if (ob.pos && write(a.fd, out, ob.pos) != (ssize_t)ob.pos) {
				r = vf_err_sys(err, errno, "cannot write '%s'", dst);
				goto out;
			}
			done = mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size;
		} while (!done);
		if (mode == ZSTD_e_end)
			break;
	}
	r = vf_fs_atomic_commit(&a, err);
out:
	vf_fs_atomic_release(&a);
	if (fd >= 0)
		close(fd);
	ZSTD_freeCCtx(cctx);
	free(in);
	free(out);
	return r;
}

int vf_image_file_digest(const char *path, uint8_t sha256[32], uint64_t *size,
			 struct vf_err *err)
{
	struct vf_digest *d = vf_digest_new(vf_digest_alg_get("sha256"));
	uint8_t *buf = malloc(CHUNK);
	uint64_t pos = 0;
	int fd = -1, r = 0;

	if (!d || !buf) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open '%s'", path);
		goto out;
	}
	for (;;) {
		int64_t got = vf_fs_pread_full(fd, buf, CHUNK, pos);

		if (got < 0) {
			r = vf_err_sys(err, (int)-got, "cannot read '%s'", path);
			goto out;
		}
		if (got == 0)
			break;
		if (vf_digest_update(d, buf, (size_t)got)) {
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
	free(buf);
	vf_digest_free(d);
	return r;
}
