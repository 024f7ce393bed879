/* Decompressing a zstd input into the comparison's private directory, bounded and sparse. */
#include "builder/diff/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define ZBLOCK 4096u

static bool all_zero(const uint8_t *p, size_t n)
{
	return n && p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

/* Write `n` bytes at `off`, leaving holes for all-zero 4 KiB blocks. */
static int write_sparse(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	size_t i = 0;

	while (i < n) {
		size_t k = n - i < ZBLOCK ? n - i : ZBLOCK;
		int r;

		if (!all_zero(p + i, k) && (r = vf_fs_pwrite_full(fd, p + i, k, off + i)))
			return r;
		i += k;
	}
	return 0;
}

int vf_diff_unzstd(struct vf_diff_ctx *c, const char *path, int fd, char **ret, struct vf_err *err)
{
	ZSTD_DCtx *z = NULL;
	size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize();
	uint8_t *ib = malloc(in_cap), *ob = malloc(out_cap);
	uint64_t in_off = 0, total = 0;
	size_t last = 0;
	char *tmp = NULL;
	int out = -1, r = 0;
	bool any = false;

	if (!ib || !ob || !(z = ZSTD_createDCtx())) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* no window larger than 2^31 (the largest zstd's own tools make with --long=31) */
	ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, 31);
	if (!c->tmp_dir && (r = vf_fs_mkdtemp(c->o.tmp_dir, "vforge-diff", &c->tmp_dir, err)))
		goto out;
	if (asprintf(&tmp, "%s/%llu", c->tmp_dir, (unsigned long long)++c->tmp_seq) < 0) {
		tmp = NULL;
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		r = vf_err_sys(err, errno, "cannot create '%s'", tmp);
		goto out;
	}
	for (bool eof = false; !eof;) {
		int64_t n = vf_fs_pread_full(fd, ib, in_cap, in_off);
		ZSTD_inBuffer in = { ib, 0, 0 };

		if (n < 0) {
			r = vf_err_sys(err, (int)-n, "'%s': cannot read at byte %llu", path,
				       (unsigned long long)in_off);
			goto out;
		}
		eof = n == 0;
		in.size = (size_t)n;
		in_off += (uint64_t)n;
		/* until the input is used up and the output no longer fills the buffer (or the
		 * frame is complete: a call after that would ask for the next frame) */
		for (;;) {
			ZSTD_outBuffer o = { ob, out_cap, 0 };

			if (eof && (!any || last == 0))
				break;
			last = ZSTD_decompressStream(z, &o, &in);
			if (ZSTD_isError(last)) {
				r = vf_err_set(err, EINVAL, "'%s' is not valid zstd: %s", path,
					       ZSTD_getErrorName(last));
				goto out;
			}
			any = true;
			if (o.pos > c->o.max_decompressed - total) {
				r = vf_err_set(err, EFBIG, "'%s' decompresses to more than %llu bytes", path,
					       (unsigned long long)c->o.max_decompressed);
				goto out;
			}
			if ((r = write_sparse(out, ob, o.pos, total))) {
				r = vf_err_sys(err, -r, "cannot write '%s'", tmp);
				goto out;
			}
			total += o.pos;
			if (in.pos == in.size && (o.pos < out_cap || last == 0))
				break;
		}
	}
	if (!any || last != 0) {
		r = vf_err_set(err, EINVAL, "'%s' is not valid zstd: the last frame is truncated", path);
		goto out;
	}
	if (ftruncate(out, (off_t)total) < 0) {
		r = vf_err_sys(err, errno, "cannot size '%s'", tmp);
		goto out;
	}
	*ret = tmp;
	tmp = NULL;
out:
	if (out >= 0)
		close(out);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	ZSTD_freeDCtx(z);
	free(ib);
	free(ob);
	return r;
}
