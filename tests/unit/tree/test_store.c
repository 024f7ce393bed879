/*
 * The content store (builder/tree/store.h) in both modes, through the tree:
 * contents of every size class (0, 1, the 64 KiB buffer edge, exactly 1 MiB
 * packed, 1 MiB + 1 in a file of its own), many small contents with reads
 * interleaved while the pack's writer thread is busy, handles held across
 * later appends, streamed imports with holes, deduplication across a switch
 * to pack mode, the limits, errors of the pack file (a bad store directory,
 * write failures from RLIMIT_FSIZE in a child process), and cleanup: the
 * pack file is unlinked from the start and its fd and thread are gone after
 * vf_tree_free(). Every content read back is compared byte for byte with the
 * bytes put in, and the packed tree with the plain one. The store has no
 * "close" of its own: vf_tree_free() ends it. The fd of vf_tree_open_content
 * is at offset 0 in both modes (a bug these tests found, fixed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/tree/store.h"
#include "builder/tree/tree.h"
#include "builder/tree/tree_internal.h"
#include "keys/digest.h"
#include "tests/unit/testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
/* The largest content that is packed (store.h). */
#define PACK_MAX MIB

/* ---- helpers ---- */

static void sha256_of(const void *data, size_t len, uint8_t out[32])
{
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), data, len, out), 0);
}

static void hex_of(const void *data, size_t len, char hex[65])
{
	uint8_t sha[32];

	sha256_of(data, len, sha);
	vf_hex_format(sha, 32, hex);
}

/* A tree storing into `dir`, in pack mode if `pack`. */
static struct vf_tree *new_tree(const char *dir, const struct vf_tree_limits *lim, bool pack)
{
	struct vf_tree *t = vf_tree_new(lim, dir);
	struct vf_err err = { 0 };
	int r;

	assert_non_null(t);
	if (pack) {
		r = vf_tree_set_store_pack(t, &err);
		if (r)
			print_error("vf_tree_set_store_pack '%s': %s\n", dir, err.msg);
		assert_int_equal(r, 0);
	}
	return t;
}

/* "<parent>/<name>", created. */
static char *subdir(const char *parent, const char *name)
{
	char *d = vf_test_path(parent, name);

	assert_int_equal(mkdir(d, 0700), 0);
	return d;
}

static int add(struct vf_tree *t, const char *path, const void *data, size_t len,
	       struct vf_err *err)
{
	struct vf_tree_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.type = VF_TREE_FILE;
	e.mode = 0644;
	e.origin = (char *)"test";
	return vf_tree_add(t, &e, data, len, false, err);
}

static void add_ok(struct vf_tree *t, const char *path, const void *data, size_t len)
{
	struct vf_err err = { 0 };
	int r = add(t, path, data, len, &err);

	if (r)
		print_error("vf_tree_add '%s' (%zu bytes): %s\n", path, len, err.msg);
	assert_int_equal(r, 0);
}

/* `len` deterministic bytes of stream `seed` (malloc'd, at least 1 byte). */
static uint8_t *bytes(uint64_t seed, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	vf_test_data(seed, b, len);
	return b;
}

/* Fail naming the path, the offset of the first differing byte and both values. */
static void assert_same_bytes(const char *what, const char *path, const uint8_t *got,
			      const uint8_t *want, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (got[i] != want[i])
			fail_msg("%s of '%s': byte %zu of %zu is 0x%02x, expected 0x%02x", what, path,
				 i, len, got[i], want[i]);
	}
}

/* The handle of vf_tree_content_open(): `len` bytes at its offset; returns whether owned. */
static bool check_handle(const struct vf_tree *t, const struct vf_tree_entry *e,
			 const uint8_t *want, size_t len)
{
	struct vf_tree_content c;
	struct vf_err err = { 0 };
	uint8_t *buf = calloc(1, len + 1);
	struct stat st;
	ssize_t got;
	bool owned;
	int r;

	assert_non_null(buf);
	memset(&c, 0xa5, sizeof(c));
	r = vf_tree_content_open(t, e, &c, &err);
	if (r)
		fail_msg("vf_tree_content_open '%s': %s", e->path, err.msg);
	assert_true(c.fd >= 0);
	if (c.size != len)
		fail_msg("vf_tree_content_open '%s': size %llu, expected %zu", e->path,
			 (unsigned long long)c.size, len);
	got = pread(c.fd, buf, len, (off_t)c.offset);
	if (got != (ssize_t)len)
		fail_msg("vf_tree_content_open '%s': read %zd of %zu bytes at offset %llu", e->path,
			 got, len, (unsigned long long)c.offset);
	assert_same_bytes("vf_tree_content_open", e->path, buf, want, len);
	owned = c.owned;
	if (owned) {
		/* a file of its own: offset 0 and nothing after the content */
		assert_int_equal(c.offset, 0);
		assert_int_equal(fstat(c.fd, &st), 0);
		assert_int_equal((uint64_t)st.st_size, len);
	}
	vf_tree_content_close(&c);
	assert_int_equal(c.fd, -1);
	assert_false(c.owned);
	free(buf);
	return owned;
}

/* The fd of vf_tree_open_content(): exactly `len` bytes from offset 0. */
static void check_fd(const struct vf_tree *t, const struct vf_tree_entry *e, const uint8_t *want,
		     size_t len)
{
	struct vf_err err = { 0 };
	uint8_t *buf = calloc(1, len + 1);
	struct stat st;
	ssize_t got;
	int fd;

	assert_non_null(buf);
	fd = vf_tree_open_content(t, e, &err);
	if (fd < 0)
		fail_msg("vf_tree_open_content '%s': %s", e->path, err.msg);
	assert_int_equal(fstat(fd, &st), 0);
	if ((uint64_t)st.st_size != len)
		fail_msg("vf_tree_open_content '%s': the fd holds %lld bytes, expected %zu", e->path,
			 (long long)st.st_size, len);
	got = pread(fd, buf, len + 1, 0);
	if (got != (ssize_t)len)
		fail_msg("vf_tree_open_content '%s': read %zd bytes, expected %zu", e->path, got, len);
	assert_same_bytes("vf_tree_open_content", e->path, buf, want, len);
	close(fd);
	free(buf);
}

/*
 * The entry at `path` holds exactly `want`: its size and sha256, the handle
 * of vf_tree_content_open() and the fd of vf_tree_open_content(), the one or
 * the other read first (`fd_first`), so that either must wait for a pack
 * still being written. Returns whether the handle was owned (the content
 * has its own file, i.e. is not packed).
 */
static bool check_content_order(const struct vf_tree *t, const char *path, const uint8_t *want,
				size_t len, bool fd_first)
{
	const struct vf_tree_entry *e = vf_tree_get(t, path);
	uint8_t sha[32];
	bool owned;

	if (!e)
		fail_msg("'%s' is not in the tree", path);
	if (e->size != len)
		fail_msg("'%s': size %llu, expected %zu", path, (unsigned long long)e->size, len);
	sha256_of(want, len, sha);
	assert_memory_equal(e->sha256, sha, 32);
	if (fd_first)
		check_fd(t, e, want, len);
	owned = check_handle(t, e, want, len);
	if (!fd_first)
		check_fd(t, e, want, len);
	return owned;
}

static bool check_content(const struct vf_tree *t, const char *path, const uint8_t *want,
			  size_t len)
{
	return check_content_order(t, path, want, len, false);
}

/* Entries in /proc/self/<sub> (open fds, threads). */
static int count_proc(const char *sub)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/%s", sub);
	dir = opendir(path);
	assert_non_null(dir);
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - (!strcmp(sub, "fd") ? 1 : 0); /* the DIR's own fd */
}

/* Open fds of this process that are an unlinked "<dir>/.pack-*" file. */
static int count_pack_fds(const char *dir)
{
	char real[PATH_MAX], fdpath[300], target[PATH_MAX + 32], prefix[PATH_MAX + 8];
	struct dirent *d;
	DIR *fds = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(realpath(dir, real));
	snprintf(prefix, sizeof(prefix), "%s/.pack-", real);
	assert_non_null(fds);
	while ((d = readdir(fds))) {
		ssize_t len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%s", d->d_name);
		len = readlink(fdpath, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, prefix, strlen(prefix)))
			continue;
		/* the file's name is gone from the directory from the start */
		if (!strstr(target, " (deleted)"))
			fail_msg("the pack file '%s' is not unlinked", target);
		n++;
	}
	closedir(fds);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names, sorted and joined by spaces, as vf_test_list_dir() lists them (malloc'd). */
static char *join_sorted(const char **names, size_t n)
{
	char *out = calloc(1, n * 65 + 1);

	assert_non_null(out);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, names[i]);
	}
	return out;
}

/* One size class each: the edges of the 64 KiB buffer, of a page and of the pack. */
static const size_t sizes[] = {
	0, 1, 2, 4095, 4096, 4097, 65535, 65536, 65537, 300001,
	PACK_MAX - 1, PACK_MAX, PACK_MAX + 1, 3 * MIB + 17,
};
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/* ---- tests ---- */

/* Every size class, in both modes: same bytes, digests and entries; packed up to 1 MiB only. */
static void test_sizes_both_modes(void **state)
{
	char *plain_dir = subdir(*state, "plain"), *pack_dir = subdir(*state, "pack");
	struct vf_tree *plain = new_tree(plain_dir, NULL, false);
	struct vf_tree *pack = new_tree(pack_dir, NULL, true);
	char path[64], hex[N_SIZES + 1][65], *want_plain, *want_pack;
	const char *all[N_SIZES + 1], *own[N_SIZES + 1];
	size_t n_own = 0;
	uint8_t *zeros = calloc(1, 200000);

	assert_non_null(zeros);
	for (size_t i = 0; i < N_SIZES; i++) {
		uint8_t *b = bytes(1000 + i, sizes[i]);

		snprintf(path, sizeof(path), "f/%zu", sizes[i]);
		add_ok(plain, path, b, sizes[i]);
		add_ok(pack, path, b, sizes[i]);
		hex_of(b, sizes[i], hex[i]);
		free(b);
	}
	/* all zeros, packed like any other content (no hole in the pack) */
	add_ok(plain, "f/zeros", zeros, 200000);
	add_ok(pack, "f/zeros", zeros, 200000);
	hex_of(zeros, 200000, hex[N_SIZES]);

	for (size_t i = 0; i < N_SIZES; i++) {
		uint8_t *b = bytes(1000 + i, sizes[i]);

		snprintf(path, sizeof(path), "f/%zu", sizes[i]);
		assert_true(check_content(plain, path, b, sizes[i]));
		if (check_content(pack, path, b, sizes[i]) != (sizes[i] > PACK_MAX))
			fail_msg("pack mode: the %zu-byte content %s, expected %s", sizes[i],
				 sizes[i] > PACK_MAX ? "was packed" : "has a file of its own",
				 sizes[i] > PACK_MAX ? "its own file" : "packed");
		free(b);
	}
	assert_true(check_content(plain, "f/zeros", zeros, 200000));
	assert_false(check_content(pack, "f/zeros", zeros, 200000));

	/* the same entries: paths, sizes and digests, in the same order */
	assert_int_equal(vf_tree_count(plain), vf_tree_count(pack));
	for (size_t i = 0; i < vf_tree_count(plain); i++) {
		const struct vf_tree_entry *a = vf_tree_at(plain, i), *b = vf_tree_at(pack, i);

		assert_string_equal(a->path, b->path);
		assert_int_equal(a->size, b->size);
		assert_memory_equal(a->sha256, b->sha256, 32);
	}

	/* plain: one file per content; pack: only those over 1 MiB, nothing else */
	for (size_t i = 0; i <= N_SIZES; i++) {
		all[i] = hex[i];
		if (i < N_SIZES && sizes[i] > PACK_MAX)
			own[n_own++] = hex[i];
	}
	want_plain = join_sorted(all, N_SIZES + 1);
	want_pack = join_sorted(own, n_own);
	vf_test_assert_listing(plain_dir, want_plain);
	vf_test_assert_listing(pack_dir, want_pack);

	vf_tree_free(plain);
	vf_tree_free(pack);
	/* the plain store's files stay (tree.h); the pack is gone with the tree */
	vf_test_assert_listing(plain_dir, want_plain);
	vf_test_assert_listing(pack_dir, want_pack);
	free(want_plain);
	free(want_pack);
	free(zeros);
	free(plain_dir);
	free(pack_dir);
}

/* ---- streamed contents: an archive with holes, imported in both modes ---- */

/* One file of the archive: `size` bytes, data only in `runs` (offset, length) pairs. */
struct afile {
	const char *path;
	size_t size;
	size_t runs[3][2];   /* {0, 0} ends the list; no runs at all: dense */
	bool sparse;
};

static const struct afile afiles[] = {
	{ "a/dense-0", 0, { { 0, 0 } }, false },
	{ "a/dense-1", 1, { { 0, 0 } }, false },
	{ "a/dense-64k+1", 65537, { { 0, 0 } }, false },
	{ "a/dense-1m", PACK_MAX, { { 0, 0 } }, false },
	{ "a/dense-1m+1", PACK_MAX + 1, { { 0, 0 } }, false },
	/* holes: zeros appended while buffered (packed), or a hole in a file of its own */
	{ "a/sparse-512k", 512 * KIB, { { 4096, 8192 }, { 300000, 100 }, { 0, 0 } }, true },
	{ "a/sparse-1m", PACK_MAX, { { 0, 100 }, { PACK_MAX - 4096, 4096 }, { 0, 0 } }, true },
	{ "a/sparse-1m+1-hole-end", PACK_MAX + 1, { { 0, 100 }, { 0, 0 } }, true },
	{ "a/sparse-3m", 3 * MIB, { { 4096, 8192 }, { MIB, 100 }, { 0, 0 } }, true },
	{ "a/sparse-2m-tail", 2 * MIB, { { 2 * MIB - 1, 1 }, { 0, 0 } }, true },
};
#define N_AFILES (sizeof(afiles) / sizeof(afiles[0]))

/* The bytes of archive file i: data in its runs (all of it when dense), zeros elsewhere. */
static uint8_t *afile_bytes(size_t i)
{
	const struct afile *f = &afiles[i];
	uint8_t *b;

	if (!f->sparse)
		return bytes(2000 + i, f->size);
	b = calloc(1, f->size ? f->size : 1);
	assert_non_null(b);
	for (size_t k = 0; k < 3 && f->runs[k][1]; k++)
		vf_test_data(3000 + 10 * i + k, b + f->runs[k][0], f->runs[k][1]);
	return b;
}

/* A pax archive of afiles plus a hardlink "a/link" to "a/dense-1m", in memory. */
static uint8_t *make_archive(size_t *ret_len)
{
	size_t cap = 16 * MIB, used = 0;
	uint8_t *buf = malloc(cap);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_non_null(buf);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < N_AFILES; i++) {
		const struct afile *f = &afiles[i];
		uint8_t *b = afile_bytes(i);

		archive_entry_clear(e);
		archive_entry_set_pathname(e, f->path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)f->size);
		for (size_t k = 0; f->sparse && k < 3 && f->runs[k][1]; k++)
			archive_entry_sparse_add_entry(e, (la_int64_t)f->runs[k][0],
						       (la_int64_t)f->runs[k][1]);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		/* the writer keeps only the bytes of the runs of a sparse entry */
		if (f->size)
			assert_int_equal(archive_write_data(a, b, f->size), (la_ssize_t)f->size);
		free(b);
	}
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "a/link");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_hardlink(e, "a/dense-1m");
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	*ret_len = used;
	return buf;
}

static void import_ok(struct vf_tree *t, const uint8_t *archive, size_t len)
{
	struct vf_tree_import_opts o = { .pkg_name = "pkg" };
	struct vf_err err = { 0 };
	int r = vf_tree_import_memory(t, archive, len, &o, &err);

	if (r)
		print_error("vf_tree_import_memory: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* Imports stream contents in pieces with holes (write / write_zeros): same in both modes. */
static void test_import_both_modes(void **state)
{
	char *plain_dir = subdir(*state, "plain"), *pack_dir = subdir(*state, "pack");
	struct vf_tree *plain = new_tree(plain_dir, NULL, false);
	struct vf_tree *pack = new_tree(pack_dir, NULL, true);
	size_t len;
	uint8_t *archive = make_archive(&len);

	import_ok(plain, archive, len);
	import_ok(pack, archive, len);
	assert_int_equal(vf_tree_count(plain), vf_tree_count(pack));
	for (size_t i = 0; i < vf_tree_count(plain); i++) {
		const struct vf_tree_entry *a = vf_tree_at(plain, i), *b = vf_tree_at(pack, i);

		assert_string_equal(a->path, b->path);
		assert_int_equal(a->type, b->type);
		assert_int_equal(a->size, b->size);
		assert_memory_equal(a->sha256, b->sha256, 32);
	}
	for (size_t i = 0; i < N_AFILES; i++) {
		uint8_t *b = afile_bytes(i);
		bool big = afiles[i].size > PACK_MAX;

		assert_true(check_content(plain, afiles[i].path, b, afiles[i].size));
		if (check_content(pack, afiles[i].path, b, afiles[i].size) != big)
			fail_msg("pack mode: '%s' (%zu bytes) %s", afiles[i].path, afiles[i].size,
				 big ? "was packed" : "was not packed");
		free(b);
	}
	/* a hardlink reads its file's content, from the pack */
	{
		const struct vf_tree_entry *l = vf_tree_get(pack, "a/link");
		struct vf_tree_content c;
		struct vf_err err = { 0 };
		uint8_t *want = afile_bytes(3), *got = malloc(PACK_MAX);

		assert_non_null(l);
		assert_non_null(got);
		assert_int_equal(l->type, VF_TREE_HARDLINK);
		assert_int_equal(vf_tree_content_open(pack, l, &c, &err), 0);
		assert_false(c.owned);
		assert_int_equal(c.size, PACK_MAX);
		assert_int_equal(pread(c.fd, got, PACK_MAX, (off_t)c.offset), (ssize_t)PACK_MAX);
		assert_same_bytes("hardlink", "a/link", got, want, PACK_MAX);
		vf_tree_content_close(&c);
		free(want);
		free(got);
	}
	vf_tree_free(plain);
	vf_tree_free(pack);
	free(archive);
	free(plain_dir);
	free(pack_dir);
}

/* ---- many contents, the writer thread busy meanwhile ---- */

/* Content i of the many-contents test: its size (mostly small, some up to 1 MiB) and seed. */
static size_t many_size(size_t i)
{
	uint64_t s = 77 + i;
	uint64_t x = vf_test_splitmix64(&s);

	if (i % 53 == 0)
		return (size_t)(64 * KIB + x % (PACK_MAX - 64 * KIB + 1)); /* up to exactly 1 MiB */
	if (i % 1000 == 999)
		return PACK_MAX;
	return (size_t)(x % 6000);
}

/* Every 10th content repeats an earlier one (deduplicated: same digest, stored once). */
static size_t many_seed(size_t i)
{
	return i % 10 == 9 ? i / 30 * 10 : i;
}

static void check_many(const struct vf_tree *t, size_t i)
{
	char path[32];
	size_t src = many_seed(i), len = many_size(src);
	uint8_t *b = bytes(5000 + src, len);

	snprintf(path, sizeof(path), "m/%06zu", i);
	if (check_content_order(t, path, b, len, i % 2))
		fail_msg("'%s' (%zu bytes) has a file of its own, expected packed", path, len);
	free(b);
}

/*
 * 6,000 puts (about 40 MB, ten times the writer's 4 MiB piece), with reads
 * interleaved: of the content just put (still in memory), of older ones
 * (possibly being written by the thread), and handles opened early and read
 * after many later appends to the same pack file. Then every content again.
 */
static void test_many_interleaved(void **state)
{
	enum { N = 6000, HELD = 12 };
	struct vf_tree *t = new_tree(*state, NULL, true);
	struct vf_tree_content held[HELD];
	size_t held_idx[HELD], n_held = 0;
	uint64_t total = 0;
	struct vf_err err = { 0 };
	char path[32];

	for (size_t i = 0; i < N; i++) {
		size_t src = many_seed(i), len = many_size(src);
		uint8_t *b = bytes(5000 + src, len);

		snprintf(path, sizeof(path), "m/%06zu", i);
		add_ok(t, path, b, len);
		if (src == i)
			total += len;
		free(b);
		if (i % 97 == 0)
			check_many(t, i);          /* just appended: not written yet */
		if (i % 211 == 0 && i)
			check_many(t, i - 150);    /* one stage back: maybe in flight */
		if (i % 487 == 0 && n_held < HELD) {
			const struct vf_tree_entry *e = vf_tree_get(t, path);

			assert_non_null(e);
			assert_int_equal(vf_tree_content_open(t, e, &held[n_held], &err), 0);
			assert_false(held[n_held].owned);
			held_idx[n_held++] = i;
		}
	}
	assert_true(total > 30 * (uint64_t)MIB);
	/* handles taken long ago still read their bytes, now from the file */
	for (size_t k = 0; k < n_held; k++) {
		size_t src = many_seed(held_idx[k]), len = many_size(src);
		uint8_t *want = bytes(5000 + src, len), *got = malloc(len + 1);

		assert_non_null(got);
		assert_int_equal(held[k].size, len);
		assert_int_equal(pread(held[k].fd, got, len, (off_t)held[k].offset), (ssize_t)len);
		snprintf(path, sizeof(path), "m/%06zu", held_idx[k]);
		assert_same_bytes("a handle held across later appends", path, got, want, len);
		vf_tree_content_close(&held[k]);
		free(want);
		free(got);
	}
	/* everything, newest first (the last pieces were never read before) */
	for (size_t i = N; i-- > 0;)
		check_many(t, i);
	/* duplicates are one content */
	for (size_t i = 9; i < N; i += 10) {
		char orig[32];

		snprintf(path, sizeof(path), "m/%06zu", i);
		snprintf(orig, sizeof(orig), "m/%06zu", many_seed(i));
		assert_memory_equal(vf_tree_get(t, path)->sha256, vf_tree_get(t, orig)->sha256, 32);
	}
	/* nothing over 1 MiB: nothing named in the store directory */
	vf_test_assert_listing(*state, "");
	vf_tree_free(t);
	vf_test_assert_listing(*state, "");
}

/* ---- switching modes ---- */

/*
 * Contents stored before the switch keep their files and are found again
 * (deduplicated, not packed a second time); the switch is idempotent (one
 * pack file); contents after it are packed.
 */
static void test_switch_and_dedup(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL, false);
	uint8_t *small = bytes(1, 5000), *big = bytes(2, 2 * MIB), *other = bytes(3, 7000);
	char hs[65], hb[65], he[65], *want;
	struct vf_err err = { 0 };
	const char *names[3];

	add_ok(t, "before/small", small, 5000);
	add_ok(t, "before/big", big, 2 * MIB);
	add_ok(t, "before/empty", "", 0);
	assert_int_equal(count_pack_fds(*state), 0);
	assert_int_equal(vf_tree_set_store_pack(t, &err), 0);
	assert_int_equal(count_pack_fds(*state), 1);
	assert_int_equal(vf_tree_set_store_pack(t, &err), 0);
	assert_int_equal(count_pack_fds(*state), 1);

	add_ok(t, "after/small", small, 5000);
	add_ok(t, "after/big", big, 2 * MIB);
	add_ok(t, "after/empty", "", 0);
	add_ok(t, "after/other", other, 7000);
	assert_true(check_content(t, "before/small", small, 5000));
	assert_true(check_content(t, "after/small", small, 5000));   /* the earlier file */
	assert_true(check_content(t, "before/empty", (const uint8_t *)"", 0));
	assert_true(check_content(t, "after/empty", (const uint8_t *)"", 0));
	assert_true(check_content(t, "before/big", big, 2 * MIB));
	assert_true(check_content(t, "after/big", big, 2 * MIB));
	assert_false(check_content(t, "after/other", other, 7000)); /* new: packed */

	hex_of(small, 5000, hs);
	hex_of(big, 2 * MIB, hb);
	hex_of("", 0, he);
	names[0] = hs;
	names[1] = hb;
	names[2] = he;
	want = join_sorted(names, 3);
	vf_test_assert_listing(*state, want);
	vf_tree_free(t);
	vf_test_assert_listing(*state, want);
	free(want);
	free(small);
	free(big);
	free(other);
}

/* ---- cleanup ---- */

/*
 * The pack file never has a name in the directory; vf_tree_free() closes it
 * and ends the writer thread. Closing a borrowed handle leaves the pack open;
 * closing a closed handle is fine.
 */
static void test_cleanup(void **state)
{
	int fds0 = count_proc("fd"), tasks0 = count_proc("task");
	struct vf_tree *t = new_tree(*state, NULL, true);
	struct vf_tree_content c;
	struct vf_err err = { 0 };
	char path[32];

	assert_int_equal(count_pack_fds(*state), 1);
	/* one writer thread at most (none when it could not start: same bytes) */
	assert_true(count_proc("task") <= tasks0 + 1);
	for (size_t i = 0; i < 800; i++) {
		uint8_t *b = bytes(9000 + i, 10000 + i);

		snprintf(path, sizeof(path), "c/%04zu", i);
		add_ok(t, path, b, 10000 + i);
		free(b);
	}
	vf_test_assert_listing(*state, "");
	assert_int_equal(vf_tree_content_open(t, vf_tree_get(t, "c/0000"), &c, &err), 0);
	assert_false(c.owned);
	vf_tree_content_close(&c);
	vf_tree_content_close(&c);
	assert_int_equal(c.fd, -1);
	/* the pack is still open and readable */
	assert_int_equal(count_pack_fds(*state), 1);
	for (size_t i = 0; i < 800; i += 37) {
		uint8_t *b = bytes(9000 + i, 10000 + i);

		snprintf(path, sizeof(path), "c/%04zu", i);
		assert_false(check_content(t, path, b, 10000 + i));
		free(b);
	}
	vf_tree_free(t);
	vf_test_assert_listing(*state, "");
	assert_int_equal(count_pack_fds(*state), 0);
	assert_int_equal(count_proc("fd"), fds0);
	assert_int_equal(count_proc("task"), tasks0);
	/* a tree freed right after the switch, with nothing stored */
	t = new_tree(*state, NULL, true);
	vf_tree_free(t);
	vf_test_assert_listing(*state, "");
	assert_int_equal(count_proc("fd"), fds0);
	assert_int_equal(count_proc("task"), tasks0);
}

/* ---- errors ---- */

/* The limits, in both modes: the same errors, the tree as it was after each. */
static void test_limits_both_modes(void **state)
{
	struct vf_tree_limits lim = { .max_entry_size = 2 * MIB, .max_total_size = 3 * MIB };

	for (int pack = 0; pack < 2; pack++) {
		char *dir = subdir(*state, pack ? "pack" : "plain");
		struct vf_tree *t = new_tree(dir, &lim, pack);
		uint8_t *b = bytes(42, 2 * MIB + 1);
		struct vf_err err = { 0 };
		size_t n;

		/* one byte over the entry limit */
		assert_int_equal(add(t, "too/big", b, 2 * MIB + 1, &err), -EFBIG);
		vf_test_assert_contains(err.msg, "path 'too/big': ");
		vf_test_assert_contains(err.msg, "content is larger than the limit of 2097152 bytes");
		assert_null(vf_tree_get(t, "too/big"));
		/* 1 MiB (packed) + 1 MiB + 1 (own file) + 1 MiB - 1: exactly 3 MiB in total */
		add_ok(t, "ok/1", b, MIB);
		add_ok(t, "ok/2", b + 1, MIB + 1);
		add_ok(t, "ok/3", b + 2, MIB - 1);
		n = vf_tree_count(t);
		memset(&err, 0, sizeof(err));
		assert_int_equal(add(t, "over/1", b + 3, 1, &err), -EFBIG);
		vf_test_assert_contains(err.msg, "path 'over/1': ");
		vf_test_assert_contains(err.msg,
					"distinct contents exceed the limit of 3145728 bytes in total");
		assert_int_equal(vf_tree_count(t), n);
		/* a content already stored costs nothing */
		add_ok(t, "dup/1", b, MIB);
		assert_true(check_content(t, "ok/1", b, MIB) == !pack);
		assert_true(check_content(t, "dup/1", b, MIB) == !pack);
		assert_true(check_content(t, "ok/2", b + 1, MIB + 1));
		vf_tree_free(t);
		free(b);
		free(dir);
	}
}

/* A store directory where the pack file cannot be created; a later switch works. */
static void test_bad_store_dir(void **state)
{
	char *missing = vf_test_path(*state, "missing"), *file = vf_test_path(*state, "file");
	struct vf_tree *t = vf_tree_new(NULL, missing);
	struct vf_err err = { 0 };
	char want[PATH_MAX + 128];
	uint8_t *b = bytes(7, 3000);

	assert_non_null(t);
	assert_int_equal(vf_tree_set_store_pack(t, &err), -ENOENT);
	snprintf(want, sizeof(want), "cannot create a file in the content store '%s': ", missing);
	vf_test_assert_contains(err.msg, want);
	vf_test_assert_contains(err.msg, strerror(ENOENT));
	/* once the directory exists, the switch succeeds and the store works */
	assert_int_equal(mkdir(missing, 0700), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vf_tree_set_store_pack(t, &err), 0);
	add_ok(t, "x", b, 3000);
	assert_false(check_content(t, "x", b, 3000));
	vf_test_assert_listing(missing, "");
	vf_tree_free(t);

	/* the store "directory" is a file */
	vf_test_write_file(file, "x", 1);
	t = vf_tree_new(NULL, file);
	assert_non_null(t);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vf_tree_set_store_pack(t, &err), -ENOTDIR);
	snprintf(want, sizeof(want), "cannot create a file in the content store '%s': ", file);
	vf_test_assert_contains(err.msg, want);
	vf_tree_free(t);
	free(b);
	free(missing);
	free(file);
}

/* ---- write errors: RLIMIT_FSIZE in a child process ---- */

/* What a child saw; filled without cmocka (an assertion must not unwind in the child). */
struct wres {
	int setup;                /* 0, or the line that failed before the scenario */
	int first_fail;           /* index of the first failing put, -1: none */
	int put_code;
	char put_msg[VF_ERR_MSG_MAX];
	int n_added;
	int reads_ok, reads_failed, reads_wrong;
	int last_code;            /* of reading the last content put */
	char read_msg[VF_ERR_MSG_MAX];
	int big_code;             /* of putting a content over 1 MiB */
	char big_msg[VF_ERR_MSG_MAX];
	int after_code;           /* putting and reading a small content afterwards */
	char listing[300];        /* the store directory after vf_tree_free */
};

/* Whether content `path` reads back as `want`: 1 yes, 0 wrong bytes, negative errno. */
static int child_read(const struct vf_tree *t, const char *path, const uint8_t *want, size_t len,
		      struct vf_err *err)
{
	const struct vf_tree_entry *e = vf_tree_get(t, path);
	uint8_t *buf = malloc(len + 1);
	struct vf_tree_content c;
	int fd, r;

	if (!e || !buf) {
		free(buf);
		return -ENOENT;
	}
	fd = vf_tree_open_content(t, e, err);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	r = pread(fd, buf, len + 1, 0) == (ssize_t)len && !memcmp(buf, want, len);
	close(fd);
	if (r && (r = vf_tree_content_open(t, e, &c, err)) == 0) {
		r = pread(c.fd, buf, len, (off_t)c.offset) == (ssize_t)len && !memcmp(buf, want, len);
		vf_tree_content_close(&c);
	}
	free(buf);
	return r;
}

static void copy_msg(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/*
 * In the child: a 6 MiB file size limit; a 7 MiB content, then (pack mode)
 * 200,000-byte contents until a put fails, then every one read back.
 */
static void child_pack_error(const char *dir, bool pack, struct wres *w)
{
	enum { LEN = 200000, MAX = 80 };
	struct rlimit rl;
	struct vf_err err = { 0 };
	struct vf_tree *t;
	char path[32];
	uint8_t *b = malloc(7 * MIB);
	char *names;
	int r;

	w->first_fail = -1;
	if (!b || getrlimit(RLIMIT_FSIZE, &rl) || rl.rlim_max < 6 * MIB) {
		w->setup = __LINE__;
		return;
	}
	rl.rlim_cur = 6 * MIB;
	/* past the limit, writes fail with EFBIG instead of killing the process */
	if (setrlimit(RLIMIT_FSIZE, &rl) || signal(SIGXFSZ, SIG_IGN) == SIG_ERR) {
		w->setup = __LINE__;
		return;
	}
	if (!(t = vf_tree_new(NULL, dir)) || (pack && vf_tree_set_store_pack(t, &err))) {
		w->setup = __LINE__;
		return;
	}
	/* a content over 1 MiB and over the limit: its temporary file goes */
	vf_test_data(11, b, 7 * MIB);
	w->big_code = add(t, "big", b, 7 * MIB, &err);
	copy_msg(w->big_msg, sizeof(w->big_msg), err.msg);
	if (!pack)
		goto out;
	for (int i = 0; i < MAX; i++) {
		vf_test_data(100 + (uint64_t)i, b, LEN);
		snprintf(path, sizeof(path), "p/%02d", i);
		memset(&err, 0, sizeof(err));
		if ((r = add(t, path, b, LEN, &err))) {
			w->first_fail = i;
			w->put_code = r;
			copy_msg(w->put_msg, sizeof(w->put_msg), err.msg);
			break;
		}
		w->n_added++;
	}
	/* no read may return other bytes than those put, whatever fails */
	for (int i = 0; i < w->n_added; i++) {
		vf_test_data(100 + (uint64_t)i, b, LEN);
		snprintf(path, sizeof(path), "p/%02d", i);
		memset(&err, 0, sizeof(err));
		r = child_read(t, path, b, LEN, &err);
		if (r > 0) {
			w->reads_ok++;
		} else if (r == 0) {
			w->reads_wrong++;
		} else {
			w->reads_failed++;
			copy_msg(w->read_msg, sizeof(w->read_msg), err.msg);
		}
		if (i == w->n_added - 1)
			w->last_code = r;
	}
out:
	/* small contents still work in plain mode; in pack mode after an error, not
	 * necessarily: only that no wrong bytes come back */
	vf_test_data(12, b, 100);
	memset(&err, 0, sizeof(err));
	w->after_code = add(t, "after", b, 100, &err);
	if (!w->after_code) {
		r = child_read(t, "after", b, 100, &err);
		w->after_code = r > 0 ? 0 : r == 0 ? -EILSEQ : r;
	}
	vf_tree_free(t);
	names = vf_test_list_dir(dir);
	copy_msg(w->listing, sizeof(w->listing), names);
	free(names);
	free(b);
}

static void run_child(const char *dir, bool pack, struct wres *w)
{
	int p[2], st;
	pid_t pid;
	ssize_t got;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct wres *mine = calloc(1, sizeof(*mine));

		close(p[0]);
		if (mine) {
			child_pack_error(dir, pack, mine);
			if (write(p[1], mine, sizeof(*mine)) != (ssize_t)sizeof(*mine))
				_exit(2);
		}
		_exit(mine ? 0 : 3);
	}
	close(p[1]);
	memset(w, 0, sizeof(*w));
	got = read(p[0], w, sizeof(*w));
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("the child exited with status 0x%x", st);
	assert_int_equal(got, (ssize_t)sizeof(*w));
	if (w->setup)
		fail_msg("the child's setup failed at line %d", w->setup);
}

/*
 * Writes that fail (EFBIG from RLIMIT_FSIZE, as ENOSPC would): a content of
 * its own loses its temporary file; a failed write of the pack thread fails a
 * later put or read with a message naming the store, and no read returns
 * bytes that did not reach the pack.
 */
static void test_write_errors(void **state)
{
	struct wres *w = calloc(1, sizeof(*w));
	char want[PATH_MAX + 128];

	assert_non_null(w);
	for (int pack = 0; pack < 2; pack++) {
		char *dir = subdir(*state, pack ? "pack" : "plain");

		run_child(dir, pack, w);
		/* the content of its own, in both modes */
		assert_int_equal(w->big_code, -EFBIG);
		vf_test_assert_contains(w->big_msg, "path 'big': cannot write '");
		snprintf(want, sizeof(want), "%s/.tmp-", dir);
		vf_test_assert_contains(w->big_msg, want);
		vf_test_assert_contains(w->big_msg, strerror(EFBIG));
		if (!pack) {
			/* no temporary file left; the store works on (its file is all there is) */
			uint8_t *after = bytes(12, 100);
			char hex[65];

			hex_of(after, 100, hex);
			assert_int_equal(w->after_code, 0);
			assert_string_equal(w->listing, hex);
			free(after);
			free(dir);
			continue;
		}
		/* the pack: 20 contents fit the first 4 MiB piece, the second crosses 6 MiB */
		if (w->first_fail < 0)
			fail_msg("no put failed after %d contents of 200000 bytes with a 6 MiB file "
				 "size limit", w->n_added);
		assert_true(w->first_fail >= 20);
		assert_int_equal(w->put_code, -EFBIG);
		vf_test_assert_contains(w->put_msg, "path 'p/");
		snprintf(want, sizeof(want),
			 "cannot write the pack file of the content store '%s': %s", dir,
			 strerror(EFBIG));
		vf_test_assert_contains(w->put_msg, want);
		if (w->reads_wrong)
			fail_msg("%d of %d contents read back wrong bytes after a pack write error",
				 w->reads_wrong, w->n_added);
		/* the last content put lies beyond the limit: it cannot be read */
		assert_true(w->last_code < 0);
		assert_true(w->reads_failed >= 1);
		vf_test_assert_contains(w->read_msg, want);
		/* a small content put afterwards fails or reads back right */
		assert_int_not_equal(w->after_code, -EILSEQ);
		/* nothing left behind: no temporary file, no pack file */
		assert_string_equal(w->listing, "");
		free(dir);
	}
	free(w);
}

/* ---- the position of an opened content (a bug these tests found) ---- */

/*
 * store.h: vf_tree_open_content() of a packed content "returns a memfd
 * holding a copy of its bytes (at offset 0, like a file)". The memfd is
 * filled with sendfile(), which leaves its file position at the end: it must
 * be rewound, or a caller that read()s gets 0 bytes in pack mode.
 */
static void test_open_content_read_position(void **state)
{
	uint8_t *b, got[3001];

	b = bytes(4, 3000);
	for (int pack = 0; pack < 2; pack++) {
		char *dir = subdir(*state, pack ? "pack" : "plain");
		struct vf_tree *t = new_tree(dir, NULL, pack);
		struct vf_err err = { 0 };
		int fd;

		add_ok(t, "x", b, 3000);
		fd = vf_tree_open_content(t, vf_tree_get(t, "x"), &err);
		assert_true(fd >= 0);
		if (lseek(fd, 0, SEEK_CUR) != 0)
			fail_msg("%s mode: the fd of vf_tree_open_content is at position %lld, not 0",
				 pack ? "pack" : "plain", (long long)lseek(fd, 0, SEEK_CUR));
		assert_int_equal(read(fd, got, sizeof(got)), 3000);
		assert_memory_equal(got, b, 3000);
		close(fd);
		vf_tree_free(t);
		free(dir);
	}
	free(b);
}

/*
 * vf_tree_drop_packed: the pack's blocks are freed (its file holds no data
 * any more), reading or adding a packed content fails with -ESTALE, entries
 * stay, and a content with a file of its own is still read whole.
 */
static void test_drop_packed(void **state)
{
	char *dir = subdir(*state, "store");
	struct vf_tree *t = new_tree(dir, NULL, true);
	struct vf_tree_content c = { .fd = -1 };
	struct vf_err err = { 0 };
	uint8_t *small = bytes(5, 5000), *big = bytes(6, PACK_MAX + 1), *got;
	struct stat st;
	int fd;

	add_ok(t, "small", small, 5000);
	add_ok(t, "big", big, PACK_MAX + 1);
	assert_int_equal(vf_tree_content_open(t, vf_tree_get(t, "small"), &c, &err), 0);
	assert_int_equal(fstat(c.fd, &st), 0);
	assert_true(st.st_blocks > 0);
	vf_tree_drop_packed(t);
	/* the pack's fd (kept open by the store) now holds no block */
	assert_int_equal(fstat(c.fd, &st), 0);
	assert_int_equal(st.st_blocks, 0);
	vf_tree_content_close(&c);
	vf_tree_drop_packed(t); /* again: no effect */

	assert_int_equal(vf_tree_content_open(t, vf_tree_get(t, "small"), &c, &err), -ESTALE);
	vf_test_assert_contains(err.msg, "were dropped");
	assert_int_equal(vf_tree_open_content(t, vf_tree_get(t, "small"), &err), -ESTALE);
	assert_int_equal(add(t, "another", small + 1, 100, &err), -ESTALE);
	vf_test_assert_contains(err.msg, "were dropped");
	assert_null(vf_tree_get(t, "another"));
	assert_int_equal(vf_tree_get(t, "small")->size, 5000);

	fd = vf_tree_open_content(t, vf_tree_get(t, "big"), &err);
	assert_true(fd >= 0);
	got = malloc(PACK_MAX + 2);
	assert_non_null(got);
	assert_int_equal(vf_fs_pread_full(fd, got, PACK_MAX + 2, 0), PACK_MAX + 1);
	assert_memory_equal(got, big, PACK_MAX + 1);
	close(fd);

	vf_tree_free(t);
	free(got);
	free(small);
	free(big);
	free(dir);
}

/*
 * Contents are gathered in the pack's stage itself. A content whose stage is
 * handed to the writer midway (the tree read meanwhile: every read flushes
 * the stage) still lands whole; so do contents gathered after it, a
 * duplicate of it, and one that outgrows the pack limit midway.
 */
static void test_gathered_in_stage(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL, true);
	struct vf_tree_store *s = vf_tree_store_of(t);
	struct vf_tree_content c = { .fd = -1 };
	struct vf_err err = { 0 };
	uint8_t *a = bytes(31, 300 * KIB), *b = bytes(32, 5000), *big = bytes(33, PACK_MAX + 7);
	uint8_t sha[32], want[32];
	uint64_t size;

	/* fill the stage most of the way, so that it changes hands around the next ones */
	for (int i = 0; i < 3; i++) {
		char path[16];

		snprintf(path, sizeof(path), "fill%d", i);
		add_ok(t, path, big, PACK_MAX - 1000 * (size_t)(i + 1));
	}
	add_ok(t, "b", b, 5000);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(vf_tree_store_begin(s, &err), 0);
		assert_int_equal(vf_tree_store_write(s, a, 100 * KIB, &err), 0);
		/* a read in the middle: the stage goes to the writer */
		assert_int_equal(vf_tree_content_open(t, vf_tree_get(t, "b"), &c, &err), 0);
		vf_tree_content_close(&c);
		assert_int_equal(vf_tree_store_write(s, a + 100 * KIB, 200 * KIB, &err), 0);
		assert_int_equal(vf_tree_store_end(s, sha, &size, &err), 0);
		sha256_of(a, 300 * KIB, want);
		assert_memory_equal(sha, want, 32);
		assert_int_equal(size, 300 * KIB);
	}
	add_ok(t, "a", a, 300 * KIB);
	add_ok(t, "b2", b + 1, 4999);
	add_ok(t, "a-again", a, 300 * KIB);
	/* grows past the pack limit after a read: a file of its own */
	assert_int_equal(vf_tree_store_begin(s, &err), 0);
	assert_int_equal(vf_tree_store_write(s, big, 512 * KIB, &err), 0);
	assert_int_equal(vf_tree_content_open(t, vf_tree_get(t, "b"), &c, &err), 0);
	vf_tree_content_close(&c);
	assert_int_equal(vf_tree_store_write(s, big + 512 * KIB, PACK_MAX + 7 - 512 * KIB, &err), 0);
	assert_int_equal(vf_tree_store_end(s, sha, &size, &err), 0);
	add_ok(t, "big", big, PACK_MAX + 7);

	check_handle(t, vf_tree_get(t, "a"), a, 300 * KIB);
	check_handle(t, vf_tree_get(t, "a-again"), a, 300 * KIB);
	check_handle(t, vf_tree_get(t, "b"), b, 5000);
	check_handle(t, vf_tree_get(t, "b2"), b + 1, 4999);
	check_handle(t, vf_tree_get(t, "big"), big, PACK_MAX + 7);
	check_handle(t, vf_tree_get(t, "fill1"), big, PACK_MAX - 2000);
	vf_tree_free(t);
	free(a);
	free(b);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_sizes_both_modes),
		vf_test_in_tmpdir(test_import_both_modes),
		vf_test_in_tmpdir(test_many_interleaved),
		vf_test_in_tmpdir(test_switch_and_dedup),
		vf_test_in_tmpdir(test_cleanup),
		vf_test_in_tmpdir(test_limits_both_modes),
		vf_test_in_tmpdir(test_bad_store_dir),
		vf_test_in_tmpdir(test_write_errors),
		vf_test_in_tmpdir(test_open_content_read_position),
		vf_test_in_tmpdir(test_drop_packed),
		vf_test_in_tmpdir(test_gathered_in_stage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
