/*
 * vf_ext4_write and vf_ext4_estimate: the stages of internal.h in order.
 *
 *   params -> plan -> need -> mkfs -> fits? -> populate -> close -> check -> commit
 *
 * The fit check first uses the cheap upper bound (every block of every file
 * counted); only when that does not fit is the content scanned for holes. The
 * image is written to a temporary file next to `path` and renamed over it at
 * the end (vf_fs_atomic_*), so a failure leaves no partial image. In place
 * (opts->in_place), it goes straight into a region of an existing file.
 */
#include "builder/ext4/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MIB (UINT64_C(1) << 20)

int vf_ext4_estimate(const struct vf_tree *t, const struct vf_ext4_opts *opts,
		     struct vf_ext4_usage *ret, struct vf_err *err)
{
	struct vf_ext4_params prm;
	struct vf_ext4_plan plan;
	struct vf_ext4_need need;
	struct vf_ext4_geom g;
	uint64_t size;
	int r;

	memset(&plan, 0, sizeof(plan));
	if ((r = vf_ext4_params_init(&prm, opts, false, err)) ||
	    (r = vf_ext4_plan_build(&plan, t, &prm, err)) ||
	    (r = vf_ext4_need_build(&plan, &prm, true, &need, err)) ||
	    (r = vf_ext4_min_size(&prm, &need, &size, &g, err)))
		goto out;
	ret->blocks = vf_ext4_total_blocks(&need, &g);
	ret->inodes = need.inodes;
	ret->min_size = size;
out:
	vf_ext4_plan_release(&plan);
	return r;
}

/* The "does not fit" error, with the exact need and (when it helps) the smallest size. */
static int does_not_fit(const struct vf_ext4_plan *plan, const struct vf_ext4_params *prm,
			const struct vf_ext4_geom *g, struct vf_err *err)
{
	struct vf_ext4_need need;
	struct vf_ext4_geom min_g;
	uint64_t min_size = 0;
	char hint[96] = "";
	int r;

	if ((r = vf_ext4_need_build(plan, prm, true, &need, err)))
		return r;
	if (g && vf_ext4_fits(&need, g))
		return 0;
	/* too few inodes requested: no size helps, the numbers say what is wrong */
	if (!prm->inodes || prm->inodes >= need.inodes) {
		if ((r = vf_ext4_min_size(prm, &need, &min_size, &min_g, err)))
			return r;
		snprintf(hint, sizeof(hint), " (the smallest size that fits is %llu MiB)",
			 (unsigned long long)(min_size / MIB));
	}
	if (!g)
		return vf_err_set(err, ENOSPC,
				  "tree does not fit: %llu bytes is too small for a file system of "
				  "%llu inodes%s%s",
				  (unsigned long long)prm->size,
				  (unsigned long long)(prm->inodes ? prm->inodes : need.inodes),
				  prm->journal ? " with a journal" : "", hint);
	return vf_err_set(err, ENOSPC,
			  "tree does not fit: needs %llu blocks and %llu inodes; the file system "
			  "has %llu blocks and %llu inodes%s",
			  (unsigned long long)vf_ext4_total_blocks(&need, g),
			  (unsigned long long)need.inodes, (unsigned long long)g->blocks,
			  (unsigned long long)g->inodes, hint);
}

/* Read back what ext2fs_close wrote: a library reading the clock is caught here. */
static int check_super(const char *path, int fd, const struct vf_ext4_params *prm,
		       struct vf_err *err)
{
	struct ext2_super_block sb;
	int64_t got = vf_fs_pread_full(fd, &sb, sizeof(sb), prm->offset + SUPERBLOCK_OFFSET);
	int64_t wtime;

	if (got != (int64_t)sizeof(sb))
		return vf_err_sys(err, got < 0 ? (int)-got : EIO, "cannot read back '%s'", path);
	wtime = (int64_t)ext2fs_le32_to_cpu(sb.s_wtime) | (int64_t)sb.s_wtime_hi << 32;
	if (ext2fs_le16_to_cpu(sb.s_magic) != EXT2_SUPER_MAGIC || wtime != prm->timestamp ||
	    ext2fs_le64_to_cpu(sb.s_kbytes_written) != 0)
		return vf_err_set(err, EIO,
				  "libext2fs wrote a superblock that is not reproducible: "
				  "write time %lld, expected %lld; kbytes written %llu, expected 0",
				  (long long)wtime, (long long)prm->timestamp,
				  (unsigned long long)ext2fs_le64_to_cpu(sb.s_kbytes_written));
	return 0;
}

int vf_ext4_write(const char *path, const struct vf_tree *t, const struct vf_ext4_opts *opts,
		  struct vf_err *err)
{
	struct vf_ext4_params prm;
	struct vf_ext4_plan plan;
	struct vf_ext4_need need;
	struct vf_ext4_geom g;
	struct vf_fs_atomic a;
	ext2_filsys fs = NULL;
	bool too_small = false;
	uint64_t inodes, have;
	errcode_t e;
	int r;

	memset(&plan, 0, sizeof(plan));
	vf_fs_atomic_init(&a);
	if ((r = vf_ext4_params_init(&prm, opts, true, err)) ||
	    (r = vf_ext4_plan_build(&plan, t, &prm, err)) ||
	    (r = vf_ext4_need_build(&plan, &prm, false, &need, err)))
		goto out;
	inodes = prm.inodes ? prm.inodes :
			      vf_ext4_default_inodes(&prm, need.inodes, prm.size / prm.block_size);

	if (opts->in_place) {
		/* a.fd is the file itself; a.tmp stays NULL: nothing to rename or remove */
		a.fd = open(path, O_RDWR | O_CLOEXEC);
		if (a.fd < 0) {
			r = vf_err_sys(err, errno, "cannot open '%s'", path);
			goto out;
		}
		if ((r = vf_fs_size(a.fd, &have)) < 0) {
			r = vf_err_sys(err, -r, "cannot get the size of '%s'", path);
			goto out;
		}
		if (have < prm.offset || have - prm.offset < prm.size) {
			r = vf_err_set(err, EINVAL, "'%s' is %llu bytes, too small for %llu bytes "
				       "at offset %llu", path, (unsigned long long)have,
				       (unsigned long long)prm.size, (unsigned long long)prm.offset);
			goto out;
		}
	} else {
		if ((r = vf_fs_atomic_open(&a, path, 0644, err)))
			goto out;
		if (ftruncate(a.fd, (off_t)prm.size) < 0) {
			r = vf_err_sys(err, errno, "cannot size '%s' to %llu bytes", a.tmp,
				       (unsigned long long)prm.size);
			goto out;
		}
	}
	r = vf_ext4_mkfs(opts->in_place ? path : a.tmp, unix_io_manager, &prm, inodes, &fs, &g,
			 &too_small, err);
	if (r && too_small) {
		r = does_not_fit(&plan, &prm, NULL, err);
		goto out;
	}
	if (r)
		goto out;
	if (!vf_ext4_fits(&need, &g) && (r = does_not_fit(&plan, &prm, &g, err)))
		goto out;

	if ((r = vf_ext4_populate(fs, &plan, &prm, err)))
		goto out;
	if (opts->in_place) {
		/*
		 * No fsync here, the caller makes the file durable (later, once for
		 * all of it): write out libext2fs's block cache now, errors included,
		 * and close without its flush, which would fsync.
		 */
		if ((e = io_channel_set_options(fs->io, "cache=off"))) {
			r = vf_ext4_errcode(err, e, "cannot write the file system");
			goto out;
		}
		e = ext2fs_close2(fs, EXT2_FLAG_FLUSH_NO_SYNC);
		if (e)
			ext2fs_free(fs);
	} else {
		e = ext2fs_close_free(&fs);
	}
	fs = NULL;
	if (e) {
		r = vf_ext4_errcode(err, e, "cannot write the file system metadata");
		goto out;
	}
	if ((r = check_super(opts->in_place ? path : a.tmp, a.fd, &prm, err)))
		goto out;
	if (!opts->in_place)
		r = vf_fs_atomic_commit(&a, err);
out:
	if (fs)
		ext2fs_free(fs);
	vf_fs_atomic_release(&a);
	vf_ext4_plan_release(&plan);
	if (r && opts && opts->in_place) {
		vf_err_prefix(err, "ext4 file system at offset %llu of '%s'",
			      (unsigned long long)opts->offset, path);
	} else if (r) {
		/* the contract: no image at `path` after a failure (the temporary is gone too) */
		(void)unlink(path);
		vf_err_prefix(err, "ext4 image '%s'", path);
	}
	return r;
}
