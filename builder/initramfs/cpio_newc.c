/* builder/initramfs: a deterministic, uncompressed newc cpio archive through libarchive. */
#include "builder/initramfs/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct sink {
	struct vf_buf *out;
	size_t start;       /* out->len before this archive */
	bool too_big;
};

static la_ssize_t sink_write(struct archive *a, void *data, const void *buf, size_t len)
{
	struct sink *s = data;

	if (s->out->len - s->start + len > VF_INITRAMFS_MAX_SIZE) {
		s->too_big = true;
		archive_set_error(a, E2BIG, "more than %llu bytes",
				  (unsigned long long)VF_INITRAMFS_MAX_SIZE);
		return -1;
	}
	if (vf_buf_add(s->out, buf, len)) {
		archive_set_error(a, ENOMEM, "out of memory");
		return -1;
	}
	return (la_ssize_t)len;
}

static int la_err(struct archive *a, struct sink *s, const char *what, struct vf_err *err)
{
	const char *m = archive_error_string(a);

	if (s->too_big)
		return vf_err_set(err, E2BIG, "the initramfs would be more than %llu bytes",
				  (unsigned long long)VF_INITRAMFS_MAX_SIZE);
	return vf_err_set(err, EIO, "cpio: %s: %s", what, m ? m : "libarchive error");
}

int vf_cpio_newc_write(const struct vf_cpio_entry *entries, size_t n, int64_t mtime,
		       struct vf_buf *out, struct vf_err *err)
{
	struct sink s = { out, out->len, false };
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	int r = 0;

	if (!a || !ae) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* unblocked: the archive ends right after its trailer, nothing padded */
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK) {
		r = la_err(a, &s, "cannot start the archive", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vf_cpio_entry *e = &entries[i];

		if (!e->path[0] || e->path[0] == '/' || (e->dir && e->len)) {
			r = vf_err_set(err, EINVAL, "cpio: entry '%s': expected a relative path%s",
				       e->path, e->dir ? " and no data for a directory" : "");
			goto out;
		}
		if (e->len > VF_INITRAMFS_MAX_SIZE) {
			r = vf_err_set(err, E2BIG, "the initramfs would be more than %llu bytes",
				       (unsigned long long)VF_INITRAMFS_MAX_SIZE);
			goto out;
		}
		archive_entry_clear(ae);
		archive_entry_copy_pathname(ae, e->path);
		archive_entry_set_filetype(ae, e->dir ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(ae, e->mode & 07777);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		archive_entry_set_nlink(ae, e->dir ? 2 : 1);
		archive_entry_set_ino64(ae, (la_int64_t)(i + 1));
		archive_entry_set_dev(ae, 0);
		archive_entry_set_rdev(ae, 0);
		archive_entry_set_mtime(ae, (time_t)mtime, 0);
		archive_entry_set_size(ae, e->dir ? 0 : (la_int64_t)e->len);
		if (archive_write_header(a, ae) != ARCHIVE_OK) {
			r = la_err(a, &s, e->path, err);
			goto out;
		}
		if (!e->dir && e->len &&
		    archive_write_data(a, e->data, e->len) != (la_ssize_t)e->len) {
			r = la_err(a, &s, e->path, err);
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = la_err(a, &s, "cannot finish the archive", err);
		goto out;
	}
out:
	archive_entry_free(ae);
	if (a)
		archive_write_free(a); /* after a failure, this may still write the trailer */
	if (r)
		out->len = s.start; /* nothing half-written stays */
	if (out->data)
		out->data[out->len] = '\0';
	return r;
}
