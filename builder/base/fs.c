#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

void vf_fs_atomic_init(struct vf_fs_atomic *a)
{
	a->fd = -1;
	a->path = NULL;
	a->tmp = NULL;
}

/* Directory part of `path` ("." when there is none); caller frees. */
static char *dir_of(const char *path)
{
	char *copy = strdup(path);
	char *dir;

	if (!copy)
		return NULL;
	dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

static char *base_of(const char *path)
{
	char *copy = strdup(path);
	char *base;

	if (!copy)
		return NULL;
	base = strdup(basename(copy));
	free(copy);
	return base;
}

int vf_fs_atomic_open(struct vf_fs_atomic *a, const char *path, mode_t mode,
		      struct vf_err *err)
{
	char *dir = NULL, *base = NULL;
	size_t len;
	int r = 0;

	dir = dir_of(path);
	base = base_of(path);
	a->path = strdup(path);
	if (!dir || !base || !a->path) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	len = strlen(dir) + strlen(base) + 16;
	a->tmp = malloc(len);
	if (!a->tmp) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(a->tmp, len, "%s/.%s.tmp.XXXXXX", dir, base);
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		r = vf_err_sys(err, errno, "cannot create a temporary file next to '%s'", path);
		free(a->tmp);
		a->tmp = NULL;
		goto out;
	}
	if (fchmod(a->fd, mode) < 0) {
		r = vf_err_sys(err, errno, "cannot set the mode of '%s'", a->tmp);
		goto out;
	}
out:
	free(dir);
	free(base);
	return r;
}

int vf_fs_fsync_parent(const char *path, struct vf_err *err)
{
	char *dir = dir_of(path);
	int fd, r = 0;

	if (!dir)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open directory '%s'", dir);
	} else {
		if (fsync(fd) < 0 && errno != EINVAL)
			r = vf_err_sys(err, errno, "cannot fsync directory '%s'", dir);
		close(fd);
	}
	free(dir);
	return r;
}

int vf_fs_atomic_commit(struct vf_fs_atomic *a, struct vf_err *err)
{
	if (a->fd < 0 || !a->tmp)
		return vf_err_set(err, EINVAL, "no temporary file to commit");
	if (fsync(a->fd) < 0)
		return vf_err_sys(err, errno, "cannot fsync '%s'", a->tmp);
	if (close(a->fd) < 0) {
		a->fd = -1;
		return vf_err_sys(err, errno, "cannot close '%s'", a->tmp);
	}
	a->fd = -1;
	if (rename(a->tmp, a->path) < 0)
		return vf_err_sys(err, errno, "cannot rename '%s' to '%s'", a->tmp, a->path);
	free(a->tmp);
	a->tmp = NULL;
	return vf_fs_fsync_parent(a->path, err);
}

void vf_fs_atomic_release(struct vf_fs_atomic *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	vf_fs_atomic_init(a);
}

int64_t vf_fs_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int64_t)done;
}

int vf_fs_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int vf_fs_size(int fd, uint64_t *ret_size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;

		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return -errno;
		*ret_size = size;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int vf_fs_remove_tree(const char *path, struct vf_err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vf_err_sys(err, errno, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return vf_err_sys(err, errno, "cannot remove '%s'", path);
		return 0;
	}
	if (nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
		return vf_err_sys(err, errno, "cannot remove directory tree '%s'", path);
	return 0;
}

int vf_fs_mkdtemp(const char *dir, const char *prefix, char **ret, struct vf_err *err)
{
	const char *base = dir;
	size_t len;
	char *path;

	if (!base) {
		base = getenv("TMPDIR");
		if (!base || !*base)
			base = "/tmp";
	}
	len = strlen(base) + strlen(prefix) + 16;
	path = malloc(len);
	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	snprintf(path, len, "%s/%s.XXXXXX", base, prefix);
	if (!mkdtemp(path)) {
		int r = vf_err_sys(err, errno, "cannot create a temporary directory in '%s'", base);

		free(path);
		return r;
	}
	*ret = path;
	return 0;
}

int vf_fs_start_writeback(int fd, uint64_t off, uint64_t len)
{
	if (sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE) < 0)
		return -errno;
	return 0;
}

int vf_fs_read_file(const char *path, uint64_t max, bool nofollow, struct vf_buf *out,
		    struct vf_err *err)
{
	struct stat st;
	int64_t got;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open");
	if (fstat(fd, &st) < 0) {
		r = vf_err_sys(err, errno, "cannot stat");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vf_err_set(err, EINVAL, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = vf_err_set(err, EFBIG, "%lld bytes, more than the limit of %llu",
			       (long long)st.st_size, (unsigned long long)max);
		goto out;
	}
	out->len = 0;
	if (vf_buf_grow(out, (size_t)st.st_size + 1)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* one byte more than the size: a file that grew is seen, not cut */
	got = vf_fs_pread_full(fd, out->data, (size_t)st.st_size + 1, 0);
	if (got < 0) {
		r = vf_err_sys(err, (int)-got, "cannot read");
		goto out;
	}
	if ((uint64_t)got > max) {
		r = vf_err_set(err, EFBIG, "grew beyond the limit of %llu bytes while being read",
			       (unsigned long long)max);
		goto out;
	}
	out->len = (size_t)got;
	out->data[out->len] = '\0';
out:
	close(fd);
	return r;
}

int vf_fs_mkdir_p(const char *path, struct vf_err *err)
{
	char *p = strdup(path);
	int r = 0;

	if (!p)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (!*p) {
		free(p);
		return vf_err_set(err, EINVAL, "cannot create a directory with an empty name");
	}
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			r = vf_err_sys(err, errno, "cannot create directory '%s'", p);
			break;
		}
		if (!c)
			break;
		*s = c;
	}
	free(p);
	return r;
}
