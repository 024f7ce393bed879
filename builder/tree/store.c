/*
 * The content store: `<dir>/<sha256-hex>`, one file per distinct content.
 *
 * A content is streamed in: it is hashed as it arrives and kept in a small
 * buffer while it fits, so that small contents already stored cost no file
 * I/O at all; a larger one goes to a temporary file "<dir>/.tmp-XXXXXX"
 * (holes stay holes) that is renamed to its digest at the end, or removed
 * when the content is already stored. Nothing is fsynced: the store is build
 * scratch. Every distinct content is counted against the total limit once.
 */
#include "builder/tree/tree_internal.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "keys/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Contents up to this size are buffered before a file is created. */
#define SMALL_MAX (64 * 1024)

/* One known digest, in an open-addressing set. */
struct known {
	uint8_t sha256[32];
	bool used;
};

struct vf_tree_store {
	char *dir;
	uint64_t max_entry, max_total, total;

	struct known *set;      /* digests already stored */
	size_t set_cap, set_used;

	/* the content being written */
	bool active;
	struct vf_digest *d;
	uint8_t *buf;           /* SMALL_MAX bytes */
	size_t buf_len;
	int fd;                 /* temporary file, -1 while buffered */
	char *tmp;              /* its path */
	uint64_t size;
};

static const uint8_t zeros[64 * 1024];

struct vf_tree_store *vf_tree_store_new(const char *dir, uint64_t max_entry_size,
					uint64_t max_total_size)
{
	struct vf_tree_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = -1;
	s->max_entry = max_entry_size;
	s->max_total = max_total_size;
	s->dir = strdup(dir);
	s->d = vf_digest_new(vf_digest_alg_get("sha256"));
	s->buf = malloc(SMALL_MAX);
	s->set_cap = 1024;
	s->set = calloc(s->set_cap, sizeof(*s->set));
	if (!s->dir || !s->d || !s->buf || !s->set) {
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
	vf_digest_free(s->d);
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

static bool set_has(const struct vf_tree_store *s, const uint8_t sha256[32])
{
	for (size_t i = slot_of(sha256, s->set_cap); s->set[i].used; i = (i + 1) & (s->set_cap - 1))
		if (!memcmp(s->set[i].sha256, sha256, 32))
			return true;
	return false;
}

static void set_put(struct known *set, size_t cap, const uint8_t sha256[32])
{
	size_t i = slot_of(sha256, cap);

	while (set[i].used)
		i = (i + 1) & (cap - 1);
	memcpy(set[i].sha256, sha256, 32);
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
			set_put(n, cap, s->set[i].sha256);
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
	vf_tree_store_abort(s);
	if (vf_digest_reset(s->d) < 0)
		return vf_err_set(err, EIO, "cannot start a sha256 digest");
	s->buf_len = 0;
	s->size = 0;
	s->active = true;
	return 0;
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
	r = vf_fs_pwrite_full(s->fd, s->buf, s->buf_len, 0);
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
	if (vf_digest_update(s->d, data, len) < 0)
		return vf_err_set(err, EIO, "sha256 digest failed");
	if (s->fd < 0 && s->buf_len + len <= SMALL_MAX) {
		memcpy(s->buf + s->buf_len, data, len);
		s->buf_len += len;
	} else {
		if (s->fd < 0 && (r = spill(s, err)))
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
	for (uint64_t left = n; left;) {
		size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);

		if (vf_digest_update(s->d, zeros, k) < 0)
			return vf_err_set(err, EIO, "sha256 digest failed");
		left -= k;
	}
	if (s->fd < 0 && s->buf_len + n <= SMALL_MAX) {
		memset(s->buf + s->buf_len, 0, (size_t)n);
		s->buf_len += (size_t)n;
	} else if (s->fd < 0 && (r = spill(s, err))) {
		return r;
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
	uint8_t sha[32];
	char hex[65];
	char *final = NULL;
	int r;

	if (vf_digest_final(s->d, sha) < 0) {
		r = vf_err_set(err, EIO, "sha256 digest failed");
		goto out;
	}
	if (set_has(s, sha))
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
	set_put(s->set, s->set_cap, sha);
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

int vf_tree_store_open(const struct vf_tree_store *s, const uint8_t sha256[32],
		       struct vf_err *err)
{
	char hex[65];
	char *path;
	int fd, r;

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
