/*
 * Deterministic package archives: a host directory to a pax tar in zstd
 * (docs/pack.md).
 *
 * What makes the bytes a function of the directory's contents alone:
 *  - the walk lstat()s (never follows symlinks) and visits each directory's
 *    names sorted bytewise with strcmp(), depth first, whatever readdir()'s
 *    order; the directory itself is not an entry, its contents are;
 *  - entries carry type, permission bits (07777), numeric uid/gid, mtime in
 *    whole seconds (set or clamped by the options), size, link targets,
 *    device numbers and xattrs (names sorted); never user or group names,
 *    atime, ctime or birth time; the restricted pax format only adds an
 *    extended header when an entry needs one;
 *  - libarchive's pax writer names extended headers "<dir>/PaxHeader/<name>"
 *    (no pid) and stamps them with the entry's mtime;
 *  - libarchive runs under a thread-local "C" locale (uselocale), so path
 *    names are bytes: a non-ASCII name is stored raw with hdrcharset=BINARY,
 *    the same in any caller's locale;
 *  - xattrs go in SCHILY.xattr.* records only (what GNU tar and libarchive
 *    both read; libarchive's default of writing LIBARCHIVE.xattr.* too makes
 *    its own reader report every xattr twice);
 *  - zstd runs single-threaded at a fixed level, so the frame depends only on
 *    the input and the libzstd version.
 * The archive is written to a temporary file, hashed as it is written, and
 * renamed into place only when complete.
 */
#include "builder/tree/pack.h"

#include "builder/base/fs.h"
#include "keys/digest.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define DEFAULT_LEVEL 19
#define MAX_LEVEL 22
#define IO_CHUNK (64 * 1024)

/* Where the compressed bytes go: the temporary file and the running hash. */
struct sink {
	int fd;
	struct vf_digest *digest;
	int error;              /* errno of a failed write, 0 if none */
};

/* First path seen for each multiply-linked regular file (open addressing). */
struct link_slot {
	dev_t dev;
	ino_t ino;
	char *path;             /* NULL: empty slot */
};

struct links {
	struct link_slot *slots;
	size_t cap;             /* a power of two, or 0 */
	size_t used;
};

struct packer {
	const char *root;       /* the host directory */
	const char *out;        /* the archive being written (for messages) */
	const struct vf_pack_opts *opts;
	struct archive *a;
	struct archive_entry *entry;
	struct links links;
	struct sink sink;
	char *io;               /* IO_CHUNK bytes */
	struct vf_err *err;
};

/* ---- output ------------------------------------------------------------------ */

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *data, size_t len)
{
	struct sink *s = ctx;
	const char *p = data;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(s->fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->error = n < 0 ? errno : EIO;
			archive_set_error(a, s->error, "%s", strerror(s->error));
			return -1;
		}
		done += (size_t)n;
	}
	if (vf_digest_update(s->digest, data, len)) {
		s->error = EIO;
		archive_set_error(a, EIO, "hashing failed");
		return -1;
	}
	return (la_ssize_t)len;
}

/* Turn a libarchive failure into an error naming `what`. */
static int archive_fail(struct packer *p, const char *what)
{
	if (p->sink.error)
		return vf_err_sys(p->err, p->sink.error, "cannot write '%s'", p->out);
	return vf_err_set(p->err, EIO, "%s: %s", what,
			  archive_error_string(p->a) ? archive_error_string(p->a) : "libarchive failed");
}

/* ---- hardlinks ---------------------------------------------------------------- */

static size_t link_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev * 0xbf58476d1ce4e5b9ULL;

	return (size_t)(h ^ (h >> 29));
}

static struct link_slot *links_find(struct links *l, dev_t dev, ino_t ino)
{
	size_t i;

	if (!l->cap)
		return NULL;
	for (i = link_hash(dev, ino) & (l->cap - 1); l->slots[i].path; i = (i + 1) & (l->cap - 1))
		if (l->slots[i].dev == dev && l->slots[i].ino == ino)
			return &l->slots[i];
	return &l->slots[i];
}

static int links_grow(struct links *l)
{
	struct links bigger = { NULL, l->cap ? 2 * l->cap : 64, l->used };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < l->cap; i++)
		if (l->slots[i].path)
			*links_find(&bigger, l->slots[i].dev, l->slots[i].ino) = l->slots[i];
	free(l->slots);
	*l = bigger;
	return 0;
}

/* Remember `path` as the first name of (dev, ino). */
static int links_add(struct links *l, dev_t dev, ino_t ino, const char *path)
{
	struct link_slot *s;

	if ((l->used + 1) * 2 > l->cap && links_grow(l))
		return -ENOMEM;
	s = links_find(l, dev, ino);
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	s->dev = dev;
	s->ino = ino;
	l->used++;
	return 0;
}

static void links_release(struct links *l)
{
	for (size_t i = 0; i < l->cap; i++)
		free(l->slots[i].path);
	free(l->slots);
	l->slots = NULL;
	l->cap = l->used = 0;
}

/* ---- entries ------------------------------------------------------------------ */

static char *join(const char *a, const char *b)
{
	char *s = NULL;

	if (!b[0])
		return strdup(a);
	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int64_t entry_mtime(const struct vf_pack_opts *o, const struct stat *st)
{
	if (o->set_mtime)
		return o->mtime;
	if (o->clamp_mtime && st->st_mtime > o->mtime)
		return o->mtime;
	return st->st_mtime;
}

/* Read one xattr value (racing resizes retried); *ret is malloc'd. */
static int read_xattr(const char *host, const char *name, char **ret, size_t *ret_len,
		      struct vf_err *err)
{
	for (;;) {
		ssize_t n = lgetxattr(host, name, NULL, 0), m;
		char *v;

		if (n < 0)
			return vf_err_sys(err, errno, "cannot read xattr '%s' of '%s'", name, host);
		v = malloc((size_t)n + 1);
		if (!v)
			return vf_err_set(err, ENOMEM, "out of memory");
		m = lgetxattr(host, name, v, (size_t)n);
		if (m < 0 && errno == ERANGE) {
			free(v);
			continue;
		}
		if (m < 0) {
			int e = errno;

			free(v);
			return vf_err_sys(err, e, "cannot read xattr '%s' of '%s'", name, host);
		}
		*ret = v;
		*ret_len = (size_t)m;
		return 0;
	}
}

/* Add every xattr of `host` to the entry, names sorted bytewise. */
static int add_xattrs(struct packer *p, const char *host)
{
	char *list = NULL, **names = NULL, *value = NULL;
	size_t n_names = 0, len = 0;
	ssize_t n;
	int r = 0;

	for (;;) {
		n = llistxattr(host, NULL, 0);
		if (n < 0 && (errno == ENOTSUP || errno == ENOSYS))
			return 0;  /* a file system without xattrs: none */
		if (n < 0)
			return vf_err_sys(p->err, errno, "cannot list the xattrs of '%s'", host);
		if (n == 0)
			return 0;
		list = malloc((size_t)n);
		if (!list)
			return vf_err_set(p->err, ENOMEM, "out of memory");
		n = llistxattr(host, list, (size_t)n);
		if (n >= 0)
			break;
		free(list);
		list = NULL;
		if (errno != ERANGE)
			return vf_err_sys(p->err, errno, "cannot list the xattrs of '%s'", host);
	}
	names = calloc((size_t)n, sizeof(*names));
	if (!names) {
		r = vf_err_set(p->err, ENOMEM, "out of memory");
		goto out;
	}
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		if (list[i])
			names[n_names++] = list + i;
	qsort(names, n_names, sizeof(*names), cmp_str);
	/* libarchive prepends each xattr to its list: add the last name first */
	for (size_t i = n_names; i-- > 0;) {
		if ((r = read_xattr(host, names[i], &value, &len, p->err)))
			goto out;
		archive_entry_xattr_add_entry(p->entry, names[i], value, len);
		free(value);
		value = NULL;
	}
out:
	free(names);
	free(list);
	return r;
}

/* Stream `size` bytes of the regular file `host` into the current entry. */
static int copy_content(struct packer *p, const char *host, const struct stat *st)
{
	uint64_t left = (uint64_t)st->st_size;
	struct stat fst;
	int fd, r = 0;

	fd = open(host, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return vf_err_sys(p->err, errno, "cannot open '%s'", host);
	if (fstat(fd, &fst) < 0) {
		r = vf_err_sys(p->err, errno, "cannot stat '%s'", host);
		goto out;
	}
	if (fst.st_dev != st->st_dev || fst.st_ino != st->st_ino || fst.st_size != st->st_size) {
		r = vf_err_set(p->err, EAGAIN, "'%s' changed while being packed", host);
		goto out;
	}
	while (left > 0) {
		size_t want = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
		ssize_t n = read(fd, p->io, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vf_err_sys(p->err, errno, "cannot read '%s'", host);
			goto out;
		}
		if (n == 0) {
			r = vf_err_set(p->err, EAGAIN,
				       "'%s' changed while being packed: expected %llu bytes, got %llu",
				       host, (unsigned long long)st->st_size,
				       (unsigned long long)((uint64_t)st->st_size - left));
			goto out;
		}
		if (archive_write_data(p->a, p->io, (size_t)n) != n) {
			r = archive_fail(p, host);
			goto out;
		}
		left -= (uint64_t)n;
	}
out:
	close(fd);
	return r;
}

/* The target of symlink `host` (malloc'd); st_size is not trusted (0 on some file systems). */
static int read_symlink(struct packer *p, const char *host, char **ret)
{
	char *target = malloc(PATH_MAX);
	ssize_t n;

	if (!target)
		return vf_err_set(p->err, ENOMEM, "out of memory");
	n = readlink(host, target, PATH_MAX);
	if (n < 0 || n >= PATH_MAX) {
		int e = n < 0 ? errno : ENAMETOOLONG;

		free(target);
		return vf_err_sys(p->err, e, "cannot read symlink '%s'", host);
	}
	target[n] = '\0';
	*ret = target;
	return 0;
}

static int pack_dir(struct packer *p, const char *rel);

/* Write the entry at `rel` (relative to the root) and, for a directory, its contents. */
static int pack_entry(struct packer *p, const char *rel)
{
	struct archive_entry *e = p->entry;
	const char *first = NULL;
	char *host = NULL, *target = NULL;
	struct stat st;
	int r = 0, w;

	host = join(p->root, rel);
	if (!host)
		return vf_err_set(p->err, ENOMEM, "out of memory");
	if (lstat(host, &st) < 0) {
		r = vf_err_sys(p->err, errno, "cannot stat '%s'", host);
		goto out;
	}
	archive_entry_clear(e);
	archive_entry_copy_pathname(e, rel);
	archive_entry_set_perm(e, st.st_mode & 07777);
	archive_entry_set_uid(e, p->opts->set_owner ? p->opts->uid : st.st_uid);
	archive_entry_set_gid(e, p->opts->set_owner ? p->opts->gid : st.st_gid);
	archive_entry_set_mtime(e, (time_t)entry_mtime(p->opts, &st), 0);

	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		archive_entry_set_filetype(e, AE_IFREG);
		if (st.st_nlink > 1) {
			struct link_slot *s = links_find(&p->links, st.st_dev, st.st_ino);

			if (s && s->path)
				first = s->path;
			else if (links_add(&p->links, st.st_dev, st.st_ino, rel)) {
				r = vf_err_set(p->err, ENOMEM, "out of memory");
				goto out;
			}
		}
		if (first)
			archive_entry_copy_hardlink(e, first);  /* no data, no xattrs */
		else
			archive_entry_set_size(e, st.st_size);
		break;
	case S_IFDIR:
		archive_entry_set_filetype(e, AE_IFDIR);
		break;
	case S_IFLNK:
		archive_entry_set_filetype(e, AE_IFLNK);
		if ((r = read_symlink(p, host, &target)))
			goto out;
		archive_entry_copy_symlink(e, target);
		break;
	case S_IFCHR:
	case S_IFBLK:
		archive_entry_set_filetype(e, S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
		archive_entry_set_rdevmajor(e, major(st.st_rdev));
		archive_entry_set_rdevminor(e, minor(st.st_rdev));
		break;
	case S_IFIFO:
		archive_entry_set_filetype(e, AE_IFIFO);
		break;
	case S_IFSOCK:
		r = vf_err_set(p->err, EINVAL, "'%s' is a socket: sockets cannot be packed", host);
		goto out;
	default:
		r = vf_err_set(p->err, EINVAL, "'%s' has an unknown file type (mode %o)", host,
			       (unsigned)st.st_mode);
		goto out;
	}
	if (!first && (r = add_xattrs(p, host)))
		goto out;

	/* ARCHIVE_WARN: a name was not ASCII and is stored as raw bytes (hdrcharset=BINARY) */
	w = archive_write_header(p->a, e);
	if (w < ARCHIVE_WARN) {
		r = archive_fail(p, host);
		goto out;
	}
	if (S_ISREG(st.st_mode) && !first && (r = copy_content(p, host, &st)))
		goto out;
	if (archive_write_finish_entry(p->a) < ARCHIVE_WARN) {
		r = archive_fail(p, host);
		goto out;
	}
	if (S_ISDIR(st.st_mode))
		r = pack_dir(p, rel);
out:
	free(target);
	free(host);
	return r;
}

/* Pack the contents of directory `rel` ("" for the root) in bytewise name order. */
static int pack_dir(struct packer *p, const char *rel)
{
	char *host = NULL, **names = NULL, *child = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir = NULL;
	int r = 0;

	host = join(p->root, rel);
	if (!host)
		return vf_err_set(p->err, ENOMEM, "out of memory");
	dir = opendir(host);
	if (!dir) {
		r = vf_err_sys(p->err, errno, "cannot open directory '%s'", host);
		goto out;
	}
	/* read all names first so that no directory stays open while recursing */
	for (;;) {
		errno = 0;
		d = readdir(dir);
		if (!d)
			break;
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 32;
			char **bigger = realloc(names, ncap * sizeof(*names));

			if (!bigger) {
				r = vf_err_set(p->err, ENOMEM, "out of memory");
				goto out;
			}
			names = bigger;
			cap = ncap;
		}
		names[n] = strdup(d->d_name);
		if (!names[n]) {
			r = vf_err_set(p->err, ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if (errno) {
		r = vf_err_sys(p->err, errno, "cannot read directory '%s'", host);
		goto out;
	}
	closedir(dir);
	dir = NULL;
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);

	for (size_t i = 0; i < n; i++) {
		child = rel[0] ? join(rel, names[i]) : strdup(names[i]);
		if (!child) {
			r = vf_err_set(p->err, ENOMEM, "out of memory");
			goto out;
		}
		if ((r = pack_entry(p, child)))
			goto out;
		free(child);
		child = NULL;
	}
out:
	free(child);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (dir)
		closedir(dir);
	free(host);
	return r;
}

/* ---- the archive -------------------------------------------------------------- */

/* Refuse an output inside the directory being packed: it would pack itself. */
static int check_output_outside(const char *dir, const char *out, struct vf_err *err)
{
	char *real_dir = NULL, *out_copy = NULL, *real_parent = NULL, *slash;
	size_t len;
	int r = 0;

	real_dir = realpath(dir, NULL);
	if (!real_dir)
		return vf_err_sys(err, errno, "cannot resolve '%s'", dir);
	out_copy = strdup(out);
	if (!out_copy) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(out_copy, '/');
	if (slash == out_copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	real_parent = realpath(slash ? out_copy : ".", NULL);
	if (!real_parent) {
		r = vf_err_sys(err, errno, "cannot resolve the directory of '%s'", out);
		goto out;
	}
	len = strlen(real_dir);
	if (strncmp(real_parent, real_dir, len) == 0 &&
	    (real_parent[len] == '\0' || real_parent[len] == '/' || strcmp(real_dir, "/") == 0))
		r = vf_err_set(err, EINVAL, "output '%s' is inside the directory being packed '%s'",
			       out, dir);
out:
	free(real_parent);
	free(out_copy);
	free(real_dir);
	return r;
}

/*
 * Create the writer: restricted pax, SCHILY xattrs, zstd at `level`, into the
 * sink. The last block is not padded: zeros after the zstd frame would make
 * the file unreadable to the zstd tool.
 */
static int open_writer(struct packer *p, int level)
{
	char lvl[16];

	p->a = archive_write_new();
	p->entry = archive_entry_new();
	if (!p->a || !p->entry)
		return vf_err_set(p->err, ENOMEM, "out of memory");
	snprintf(lvl, sizeof(lvl), "%d", level);
	if (archive_write_set_format_pax_restricted(p->a) != ARCHIVE_OK ||
	    archive_write_set_format_option(p->a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(p->a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(p->a, "zstd", "compression-level", lvl) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(p->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(p->a, &p->sink, NULL, sink_write, NULL, NULL) != ARCHIVE_OK)
		return archive_fail(p, "cannot set up the archive writer");
	return 0;
}

int vf_pack_dir(const char *dir, const char *out, const struct vf_pack_opts *opts,
		uint8_t ret_sha256[32], struct vf_err *err)
{
	struct vf_pack_opts defaults = { 0 };
	struct packer p = { .root = dir, .out = out, .err = err, .sink = { .fd = -1 } };
	struct vf_fs_atomic atomic;
	locale_t c_locale = (locale_t)0, old_locale = (locale_t)0;
	uint8_t digest[32];
	struct stat st;
	int level, r = 0;

	vf_fs_atomic_init(&atomic);
	if (!opts)
		opts = &defaults;
	p.opts = opts;
	level = opts->level ? opts->level : DEFAULT_LEVEL;
	if (level < 1 || level > MAX_LEVEL)
		return vf_err_set(err, EINVAL, "zstd level: expected 1 to %d, got %d", MAX_LEVEL,
				  opts->level);
	if (stat(dir, &st) < 0)  /* the directory named may be a symlink; nothing below it is followed */
		return vf_err_sys(err, errno, "cannot stat '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return vf_err_set(err, ENOTDIR, "'%s' is not a directory", dir);
	if ((r = check_output_outside(dir, out, err)))
		return r;

	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	p.io = malloc(IO_CHUNK);
	p.sink.digest = vf_digest_new(vf_digest_alg_get("sha256"));
	if (!c_locale || !p.io || !p.sink.digest) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	old_locale = uselocale(c_locale);

	if ((r = vf_fs_atomic_open(&atomic, out, 0644, err)))
		goto out;
	p.sink.fd = atomic.fd;
	if ((r = open_writer(&p, level)))
		goto out;
	if ((r = pack_dir(&p, "")))
		goto out;
	if (archive_write_close(p.a) != ARCHIVE_OK) {
		r = archive_fail(&p, "cannot finish the archive");
		goto out;
	}
	if (vf_digest_final(p.sink.digest, digest)) {
		r = vf_err_set(err, EIO, "sha256 of '%s' failed", out);
		goto out;
	}
	if ((r = vf_fs_atomic_commit(&atomic, err)))
		goto out;
	memcpy(ret_sha256, digest, sizeof(digest));
out:
	if (p.a)
		archive_write_free(p.a);  /* after a failure: discards, writes nothing we keep */
	archive_entry_free(p.entry);
	vf_fs_atomic_release(&atomic);
	if (old_locale)
		uselocale(old_locale);
	if (c_locale)
		freelocale(c_locale);
	vf_digest_free(p.sink.digest);
	links_release(&p.links);
	free(p.io);
	return r;
}
