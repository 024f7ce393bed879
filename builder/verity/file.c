/* File-level format and verify: opening, size checks, atomic output. */
#include "builder/verity/verity.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BYTES (1u << 20)

/* Set or check p->data_blocks against the size of the data file. */
static int resolve_blocks(const char *data_path, struct vf_verity_params *p, uint64_t size,
			  struct vf_err *err)
{
	uint64_t dbs = p->data_block_size;

	if (p->data_blocks == 0) {
		if (size == 0)
			return vf_err_set(err, EINVAL, "data file '%s' is empty", data_path);
		if (size % dbs)
			return vf_err_set(err, EINVAL,
					  "data file '%s' is %llu bytes, not a multiple of the data "
					  "block size %llu (use --data-blocks to hash fewer blocks)",
					  data_path, (unsigned long long)size, (unsigned long long)dbs);
		p->data_blocks = size / dbs;
		return 0;
	}
	if (p->data_blocks > UINT64_MAX / dbs || p->data_blocks * dbs > size)
		return vf_err_set(err, EINVAL,
				  "data file '%s' holds %llu bytes, but %llu data blocks of %llu bytes "
				  "need %llu",
				  data_path, (unsigned long long)size, (unsigned long long)p->data_blocks,
				  (unsigned long long)dbs,
				  p->data_blocks > UINT64_MAX / dbs ? 0ULL :
				  (unsigned long long)(p->data_blocks * dbs));
	return 0;
}

static int open_data(const char *path, struct stat *st, uint64_t *size, struct vf_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open data file '%s'", path);
	if (fstat(fd, st) < 0) {
		r = vf_err_sys(err, errno, "cannot stat data file '%s'", path);
		close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		close(fd);
		return vf_err_set(err, EINVAL, "data file '%s' is not a regular file or block device",
				  path);
	}
	r = vf_fs_size(fd, size);
	if (r) {
		close(fd);
		return vf_err_sys(err, -r, "cannot get the size of data file '%s'", path);
	}
	return fd;
}

/* Copy all of src into dst (in the kernel where it can, else through a buffer). */
static int copy_all(int src, int dst, const char *path, struct vf_err *err)
{
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int r = 0;

	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, COPY_BYTES, 0);

		if (n == 0)
			return 0;
		if (n < 0)
			break;
		off += (uint64_t)n;
	}
	/* not supported here (e.g. across file systems): copy by hand */
	buf = malloc(COPY_BYTES);
	if (!buf)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (;;) {
		int64_t got = vf_fs_pread_full(src, buf, COPY_BYTES, off);

		if (got < 0) {
			r = vf_err_sys(err, (int)-got, "cannot read '%s'", path);
			break;
		}
		if (got == 0)
			break;
		if ((r = vf_fs_pwrite_full(dst, buf, (size_t)got, off))) {
			r = vf_err_sys(err, -r, "cannot copy '%s'", path);
			break;
		}
		off += (uint64_t)got;
	}
	free(buf);
	return r;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Open where the tree goes: in place for the data file itself or a block
 * device, otherwise a temporary file that replaces hash_path on commit.
 * Returns the fd; *in_place says which.
 */
static int open_hash_target(const char *hash_path, const struct stat *dst,
			    const struct vf_verity_params *p, const struct vf_verity_geometry *g,
			    struct vf_fs_atomic *a, bool *in_place, struct vf_err *err)
{
	uint64_t data_end = p->data_blocks * p->data_block_size;
	struct stat hst;
	mode_t mode = 0600;
	bool existed = false;
	int fd, r;

	*in_place = false;
	if (stat(hash_path, &hst) == 0) {
		if (same_file(dst, &hst)) {
			if (p->hash_offset < data_end)
				return vf_err_set(err, EINVAL,
						  "hash area at byte %llu of '%s' overlaps the data, "
						  "which ends at byte %llu",
						  (unsigned long long)p->hash_offset, hash_path,
						  (unsigned long long)data_end);
			*in_place = true;
		} else if (S_ISBLK(hst.st_mode)) {
			*in_place = true;
		} else if (!S_ISREG(hst.st_mode)) {
			return vf_err_set(err, EINVAL,
					  "hash file '%s' is not a regular file or block device", hash_path);
		}
		mode = hst.st_mode & 07777;
		existed = true;
	} else if (errno != ENOENT) {
		return vf_err_sys(err, errno, "cannot stat hash file '%s'", hash_path);
	}

	if (*in_place) {
		uint64_t size;

		fd = open(hash_path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return vf_err_sys(err, errno, "cannot open hash file '%s' for writing", hash_path);
		if (S_ISBLK(hst.st_mode) && (vf_fs_size(fd, &size) || size < g->hash_end)) {
			close(fd);
			return vf_err_set(err, ENOSPC, "hash device '%s' is too small: the tree ends at "
					  "byte %llu", hash_path, (unsigned long long)g->hash_end);
		}
		return fd;
	}
	if ((r = vf_fs_atomic_open(a, hash_path, mode, err)))
		return r;
	if (existed) {
		/* replace the file as a whole, but keep what veritysetup would keep:
		 * everything the superblock and the tree do not overwrite */
		int src = open(hash_path, O_RDONLY | O_CLOEXEC);

		if (src < 0)
			return vf_err_sys(err, errno, "cannot open hash file '%s'", hash_path);
		r = copy_all(src, a->fd, hash_path, err);
		close(src);
		if (r)
			return r;
	}
	return a->fd;
}

int vf_verity_format_file(const char *data_path, const char *hash_path,
			  struct vf_verity_params *p, const struct vf_verity_opts *opts,
			  struct vf_verity_result *res, struct vf_err *err)
{
	struct vf_fs_atomic a;
	struct vf_verity_geometry g;
	struct stat dst;
	uint64_t dsize;
	uint8_t *tree = NULL;
	bool in_place = false;
	int dfd = -1, hfd = -1, r;

	vf_fs_atomic_init(&a);
	if ((r = vf_verity_params_check(p, err)))
		goto out;
	if ((r = dfd = open_data(data_path, &dst, &dsize, err)) < 0)
		goto out;
	if ((r = resolve_blocks(data_path, p, dsize, err)))
		goto out;
	if ((r = vf_verity_geometry_build(p, &g, err)))
		goto out;
	if ((r = hfd = open_hash_target(hash_path, &dst, p, &g, &a, &in_place, err)) < 0)
		goto out;
	if ((r = vf_verity_tree_build(dfd, p, opts, &tree, res, err))) {
		vf_err_prefix(err, "data file '%s'", data_path);
		goto out;
	}
	if ((r = vf_verity_tree_write(hfd, p, &res->geometry, tree, err))) {
		vf_err_prefix(err, "hash file '%s'", hash_path);
		goto out;
	}
	if (in_place) {
		if (fsync(hfd) < 0)
			r = vf_err_sys(err, errno, "cannot fsync hash file '%s'", hash_path);
	} else {
		r = vf_fs_atomic_commit(&a, err);
	}
out:
	free(tree);
	if (in_place && hfd >= 0)
		close(hfd);
	vf_fs_atomic_release(&a);
	if (dfd >= 0)
		close(dfd);
	return r < 0 ? r : 0;
}

int vf_verity_sb_load(const char *hash_path, uint64_t hash_offset,
		      struct vf_verity_params *ret, struct vf_err *err)
{
	uint8_t sb[VF_VERITY_SB_SIZE];
	int fd = open(hash_path, O_RDONLY | O_CLOEXEC);
	int64_t n;
	int r;

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open hash file '%s'", hash_path);
	n = vf_fs_pread_full(fd, sb, sizeof(sb), hash_offset);
	close(fd);
	if (n < 0)
		return vf_err_sys(err, (int)-n, "cannot read hash file '%s'", hash_path);
	if (n < (int64_t)sizeof(sb))
		return vf_err_set(err, EINVAL,
				  "hash file '%s' has no verity superblock at byte %llu: it ends first",
				  hash_path, (unsigned long long)hash_offset);
	if ((r = vf_verity_sb_decode(sb, ret, err)))
		return vf_err_prefix(err, "hash file '%s' at byte %llu", hash_path,
				     (unsigned long long)hash_offset);
	ret->superblock = true;
	ret->hash_offset = hash_offset;
	return 0;
}

int vf_verity_verify_file(const char *data_path, const char *hash_path,
			  struct vf_verity_params *p, const struct vf_verity_opts *opts,
			  const uint8_t *root, size_t root_size,
			  struct vf_verity_failure *ret_fail, struct vf_err *err)
{
	struct vf_verity_failure fail = { .kind = VF_VERITY_FAIL_NONE };
	struct stat dst;
	uint64_t dsize;
	int dfd = -1, hfd = -1, r;

	if ((r = vf_verity_params_check(p, err)))
		goto out;
	if ((r = dfd = open_data(data_path, &dst, &dsize, err)) < 0)
		goto out;
	if ((r = resolve_blocks(data_path, p, dsize, err)))
		goto out;
	hfd = open(hash_path, O_RDONLY | O_CLOEXEC);
	if (hfd < 0) {
		r = vf_err_sys(err, errno, "cannot open hash file '%s'", hash_path);
		goto out;
	}
	r = vf_verity_tree_verify(dfd, hfd, p, opts, root, root_size, &fail, err);
	if (r && fail.kind == VF_VERITY_FAIL_DATA_BLOCK)
		vf_err_prefix(err, "data file '%s'", data_path);
	else if (r && fail.kind != VF_VERITY_FAIL_NONE)
		vf_err_prefix(err, "hash file '%s'", hash_path);
out:
	if (ret_fail)
		*ret_fail = fail;
	if (hfd >= 0)
		close(hfd);
	if (dfd >= 0)
		close(dfd);
	return r < 0 ? r : 0;
}
