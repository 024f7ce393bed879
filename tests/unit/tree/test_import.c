/*
 * vf_tree_import_archive / vf_tree_import_memory on archives written here
 * with libarchive's writer: formats, filters, hostile entries, rollback,
 * limits, sparse files, cpio hardlinks, .deb, the sha256 pin, locales.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "builder/tree/store.h"
#include "builder/tree/tree.h"
#include "builder/tree/tree_internal.h"
#include "keys/digest.h"
#include "tests/unit/testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writing archives ---- */

struct wr {
	struct archive *a;
	struct archive_entry *e;
	char *path;
};

static struct wr *wr_new(const char *dir, const char *name, const char *format, const char *filter)
{
	struct wr *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->a = archive_write_new();
	w->e = archive_entry_new();
	w->path = vf_test_path(dir, name);
	assert_int_equal(archive_write_set_format_by_name(w->a, format), ARCHIVE_OK);
	if (filter)
		assert_int_equal(archive_write_add_filter_by_name(w->a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(w->a, w->path), ARCHIVE_OK);
	return w;
}

/* Close and return the archive's path (caller frees). */
static char *wr_close(struct wr *w)
{
	char *p = w->path;

	assert_int_equal(archive_write_close(w->a), ARCHIVE_OK);
	archive_write_free(w->a);
	archive_entry_free(w->e);
	free(w);
	return p;
}

static struct archive_entry *wr_start(struct wr *w, const char *path, unsigned type, unsigned mode)
{
	archive_entry_clear(w->e);
	archive_entry_set_pathname(w->e, path);
	archive_entry_set_filetype(w->e, type);
	archive_entry_set_perm(w->e, mode);
	archive_entry_set_size(w->e, 0);
	return w->e;
}

static void wr_header(struct wr *w)
{
	int r = archive_write_header(w->a, w->e);

	/* ARCHIVE_WARN: e.g. a name that is no UTF-8, stored as binary */
	if (r < ARCHIVE_WARN)
		print_error("write_header: %s\n", archive_error_string(w->a));
	assert_true(r >= ARCHIVE_WARN);
}

static void wr_data(struct wr *w, const void *data, size_t len)
{
	if (len)
		assert_int_equal(archive_write_data(w->a, data, len), (la_ssize_t)len);
}

static void wr_file(struct wr *w, const char *path, unsigned mode, const char *content)
{
	wr_start(w, path, AE_IFREG, mode);
	archive_entry_set_size(w->e, (la_int64_t)strlen(content));
	wr_header(w);
	wr_data(w, content, strlen(content));
}

static void wr_dir(struct wr *w, const char *path, unsigned mode)
{
	wr_start(w, path, AE_IFDIR, mode);
	wr_header(w);
}

static void wr_symlink(struct wr *w, const char *path, const char *target)
{
	wr_start(w, path, AE_IFLNK, 0777);
	archive_entry_set_symlink(w->e, target);
	wr_header(w);
}

static void wr_hardlink(struct wr *w, const char *path, const char *target)
{
	wr_start(w, path, AE_IFREG, 0644);
	archive_entry_set_hardlink(w->e, target);
	wr_header(w);
}

static void wr_node(struct wr *w, const char *path, unsigned type, unsigned maj, unsigned min)
{
	wr_start(w, path, type, 0600);
	archive_entry_set_rdevmajor(w->e, maj);
	archive_entry_set_rdevminor(w->e, min);
	wr_header(w);
}

/* ---- importing ---- */

static struct vf_tree *new_tree(const char *dir, const struct vf_tree_limits *lim)
{
	struct vf_tree *t = vf_tree_new(lim, dir);

	assert_non_null(t);
	return t;
}

static void import_ok(struct vf_tree *t, const char *path, const char *pkg)
{
	struct vf_tree_import_opts o = { .pkg_name = pkg };
	struct vf_err err = { 0 };
	int r = vf_tree_import_archive(t, path, &o, &err);

	if (r)
		print_error("import '%s': %s\n", path, err.msg);
	assert_int_equal(r, 0);
}

/* Every entry with its metadata, one per line (the tree as a string). */
static char *dump(const struct vf_tree *t)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	for (size_t i = 0; i < vf_tree_count(t); i++) {
		const struct vf_tree_entry *e = vf_tree_at(t, i);
		char hex[65];

		vf_hex_format(e->sha256, 32, hex);
		fprintf(f, "/%s %d %04o %u:%u %lld %llu %.12s %s %u:%u", e->path, (int)e->type,
			(unsigned)e->mode, (unsigned)e->uid, (unsigned)e->gid, (long long)e->mtime,
			(unsigned long long)e->size, hex, e->link ? e->link : "-",
			(unsigned)e->rdev_major, (unsigned)e->rdev_minor);
		for (size_t k = 0; k < e->n_xattrs; k++)
			fprintf(f, " %s=%zu", e->xattrs[k].name, e->xattrs[k].len);
		fprintf(f, " (%s)\n", e->origin);
	}
	fclose(f);
	return s;
}

/* The import fails with `code`, `want` in the message, and the tree as it was. */
static void import_fails(struct vf_tree *t, const char *path, const struct vf_tree_import_opts *o,
			 int code, const char *want)
{
	struct vf_err err = { 0 };
	char *before = dump(t), *after;
	int r = vf_tree_import_archive(t, path, o, &err);

	if (r != code || !strstr(err.msg, want))
		print_error("import '%s': %d '%s', want %d '%s'\n", path, r, err.msg, code, want);
	assert_int_equal(r, code);
	vf_test_assert_contains(err.msg, want);
	after = dump(t);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void assert_content(const struct vf_tree *t, const char *path, const void *want, size_t len)
{
	struct vf_err err = { 0 };
	const struct vf_tree_entry *e = vf_tree_get(t, path);
	uint8_t *buf = malloc(len + 1);
	int fd;

	assert_non_null(e);
	assert_non_null(buf);
	fd = vf_tree_open_content(t, e, &err);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, len + 1), (ssize_t)len);
	assert_memory_equal(buf, want, len);
	close(fd);
	free(buf);
}

/* The directory holds only content files (64 hex digits), no temporary files. */
static void assert_store_clean(const char *dir)
{
	char *names = vf_test_list_dir(dir), *save = NULL;

	for (char *n = strtok_r(names, " ", &save); n; n = strtok_r(NULL, " ", &save))
		if (strlen(n) != 64 && strcmp(n, "pkg"))
			fail_msg("unexpected file '%s' in the store", n);
	free(names);
}

/* The package every format test writes. */
static char *write_sample(const char *dir, const char *name, const char *format, const char *filter)
{
	struct wr *w = wr_new(dir, name, format, filter);
	bool cpio = !strcmp(format, "cpio") || !strcmp(format, "newc");

	wr_dir(w, "./", 0755);
	wr_dir(w, "./usr", 0755);
	wr_dir(w, "./usr/bin", 0755);
	if (cpio) {
		/* cpio links names by inode number */
		wr_start(w, "./usr/bin/tool", AE_IFREG, 04755);
		archive_entry_set_ino(w->e, 100);
		archive_entry_set_nlink(w->e, 2);
		archive_entry_set_size(w->e, 7);
		wr_header(w);
		wr_data(w, "#!tool\n", 7);
		wr_start(w, "./usr/bin/tool2", AE_IFREG, 04755);
		archive_entry_set_ino(w->e, 100);
		archive_entry_set_nlink(w->e, 2);
		wr_header(w);
	} else {
		wr_file(w, "./usr/bin/tool", 04755, "#!tool\n");
		wr_hardlink(w, "./usr/bin/tool2", "./usr/bin/tool");
	}
	wr_file(w, "./usr/bin/other", 0755, "other\n");
	wr_symlink(w, "./usr/lib64", "lib");
	wr_start(w, "./etc/shadow", AE_IFREG, 0640);
	archive_entry_set_uid(w->e, 0);
	archive_entry_set_gid(w->e, 42);
	archive_entry_set_mtime(w->e, 1700000000, 0);
	archive_entry_set_size(w->e, 5);
	wr_header(w);
	wr_data(w, "root\n", 5);
	wr_start(w, "./run/ctl", AE_IFIFO, 0600);
	wr_header(w);
	return wr_close(w);
}

/* ---- tests ---- */

static void test_formats_and_filters(void **state)
{
	static const char *formats[] = { "pax", "ustar", "gnutar", "cpio", "newc" };
	static const char *filters[] = { NULL, "gzip", "bzip2", "xz", "lzma", "zstd" };
	char *want = NULL, *store = vf_test_path(*state, "store");

	assert_int_equal(mkdir(store, 0700), 0);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]); k++) {
			struct vf_tree *t = new_tree(store, NULL);
			char *path = write_sample(*state, "pkg", formats[i], filters[k]), *got;

			import_ok(t, path, "p");
			got = dump(t);
			if (!want)
				want = got;
			else if (strcmp(got, want))
				fail_msg("%s/%s differs:\n%s\nfrom pax:\n%s", formats[i],
					 filters[k] ? filters[k] : "none", got, want);
			else
				free(got);
			assert_content(t, "usr/bin/tool", "#!tool\n", 7);
			assert_content(t, "usr/bin/tool2", "#!tool\n", 7);
			vf_tree_free(t);
			unlink(path);
			free(path);
		}
	}
	vf_test_assert_contains(want, "/usr/bin/tool 1 4755 0:0 ");
	vf_test_assert_contains(want, "/usr/bin/tool2 4 4755 0:0 0 0 000000000000 usr/bin/tool");
	vf_test_assert_contains(want, "/etc/shadow 1 0640 0:42 1700000000 5 ");
	vf_test_assert_contains(want, "/usr/lib64 3 0777 0:0 0 0 000000000000 lib 0:0 (p)");
	vf_test_assert_contains(want, "/run/ctl 7 0600");
	vf_test_assert_contains(want, "/ 2 0755 0:0 0 0 000000000000 - 0:0 (manifest)\n/etc 2 0755");
	assert_store_clean(store);
	free(want);
	free(store);
}

static void test_metadata(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct wr *w = wr_new(*state, "pkg", "pax", "zstd");
	const struct vf_tree_entry *e;
	char *path;

	/* xattrs in reverse order; the pax writer stores each under two keys */
	wr_start(w, "usr/bin/ping", AE_IFREG, 04711);
	archive_entry_xattr_add_entry(w->e, "user.z", "z", 1);
	archive_entry_xattr_add_entry(w->e, "security.capability",
				      "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
	archive_entry_set_uid(w->e, 4000000000u);
	archive_entry_set_gid(w->e, 7);
	archive_entry_set_uname(w->e, "nobody-here");
	archive_entry_set_gname(w->e, "root");
	archive_entry_set_mtime(w->e, -5, 0);
	archive_entry_set_size(w->e, 4);
	wr_header(w);
	wr_data(w, "ping", 4);
	wr_symlink(w, "/lib/ld.so", "../../../outside/ld.so");
	wr_start(w, "tmp", AE_IFDIR, 01777);
	wr_header(w);
	path = wr_close(w);
	import_ok(t, path, "iputils");
	e = vf_tree_get(t, "usr/bin/ping");
	assert_non_null(e);
	assert_int_equal(e->mode, 04711);
	assert_int_equal(e->uid, 4000000000u); /* numeric, names ignored */
	assert_int_equal(e->gid, 7);
	assert_int_equal(e->mtime, 0);
	assert_int_equal(e->n_xattrs, 2);
	assert_string_equal(e->xattrs[0].name, "security.capability");
	assert_int_equal(e->xattrs[0].len, 20);
	assert_memory_equal(e->xattrs[0].value, "\x01\x00\x00\x02\x00\x20", 6);
	assert_string_equal(e->xattrs[1].name, "user.z");
	assert_string_equal(e->origin, "iputils");
	/* symlink targets are data: kept as given, never followed */
	assert_string_equal(vf_tree_get(t, "lib/ld.so")->link, "../../../outside/ld.so");
	assert_int_equal(vf_tree_get(t, "tmp")->mode, 01777);
	assert_string_equal(vf_tree_get(t, "lib")->origin, "iputils");
	vf_tree_free(t);
	free(path);
}

static void test_hostile(void **state)
{
	static const struct {
		int code;
		const char *msg;
	} cases[] = {
		{ -EINVAL, "package 'evil': entry '../etc/passwd': path escapes the root" },
		{ -ENOTDIR, "package 'evil': entry 'lib/x': 'lib' is a symlink (from package 'evil'), not a directory" },
		{ -ENOTDIR, "package 'evil': entry 'etc/passwd/y': 'etc/passwd' is a file (from package 'evil'), not a directory" },
		{ -ENOTDIR, "package 'evil': entry 'bin/x': 'bin' is a symlink (from package 'base'), not a directory" },
		{ -ENOENT, "package 'evil': hardlink 'x' points to 'etc/shadow', which is not in the tree" },
		{ -EINVAL, "package 'evil': hardlink 'x' points to 'etc', which is a directory, not a regular file" },
		{ -EINVAL, "package 'evil': hardlink 'x' points to '../y': path escapes the root" },
		{ -EPERM, "package 'evil': device node 'dev/sda' is not allowed: set allow_devices for package 'evil'" },
		{ -EPERM, "device node 'dev/sdb' is not allowed" },
		{ -EPERM, "package 'evil': socket 'run/s' is not allowed" },
		{ -EINVAL, "package 'evil': symlink 's' has an empty target" },
		{ -EEXIST, "package 'evil': entry 'sbin/sh': conflicts with package 'base' (content differs)" },
		{ -EINVAL, "package 'evil': entry 'aaaa" },
		{ -ERANGE, "package 'evil': entry 'f': uid 4294967295 is out of range" },
		{ -EINVAL, "package 'evil': entry '.': the root must be a directory, not a file" },
		{ -ENAMETOOLONG, "package 'evil': symlink 'long': target is 5000 bytes long, more than 4095" },
	};
	char *store = vf_test_path(*state, "store"), *base;
	struct vf_tree_import_opts o = { .pkg_name = "evil" };
	struct vf_tree *t;
	struct wr *w;

	assert_int_equal(mkdir(store, 0700), 0);
	t = new_tree(store, NULL);
	w = wr_new(*state, "base", "pax", NULL);
	wr_symlink(w, "bin", "usr/bin");
	wr_file(w, "usr/bin/sh", 0755, "sh");
	wr_file(w, "usr/bin/sh2", 0755, "sh");
	base = wr_close(w);
	/* a sh that conflicts: in a real directory, not beneath the symlink */
	{
		struct wr *b = wr_new(*state, "base2", "pax", NULL);
		char *p;

		wr_file(b, "sbin/sh", 0755, "base sh");
		p = wr_close(b);
		import_ok(t, base, "base");
		import_ok(t, p, "base");
		free(p);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path;

		w = wr_new(*state, "evil", i == 9 ? "newc" : "pax", "gzip");
		wr_file(w, "ok/before", 0644, "fine"); /* rolled back with the rest */
		switch (i) {
		case 0: wr_file(w, "../etc/passwd", 0644, "x"); break;
		case 1: wr_symlink(w, "lib", "/etc"); wr_file(w, "lib/x", 0644, "x"); break;
		case 2: wr_file(w, "etc/passwd", 0644, "x"); wr_file(w, "etc/passwd/y", 0644, "x"); break;
		case 3: wr_file(w, "bin/x", 0644, "x"); break;
		case 4: wr_hardlink(w, "x", "etc/shadow"); break;
		case 5: wr_dir(w, "etc", 0755); wr_hardlink(w, "x", "etc"); break;
		case 6: wr_hardlink(w, "x", "../y"); break;
		case 7: wr_node(w, "dev/sda", AE_IFCHR, 8, 0); break;
		case 8: wr_node(w, "dev/sdb", AE_IFBLK, 8, 16); break;
		case 9: wr_start(w, "run/s", AE_IFSOCK, 0644); wr_header(w); break;
		case 10: wr_symlink(w, "s", ""); break;
		case 11: wr_dir(w, "sbin", 0755); wr_file(w, "sbin/sh", 0755, "evil sh"); break;
		case 12: {
			char name[5000];

			memset(name, 'a', sizeof(name) - 1);
			name[sizeof(name) - 1] = '\0';
			wr_file(w, name, 0644, "x");
			break;
		}
		case 13:
			wr_start(w, "f", AE_IFREG, 0644);
			archive_entry_set_uid(w->e, 4294967295LL);
			wr_header(w);
			break;
		case 14: wr_file(w, ".", 0644, "x"); break;
		case 15: {
			char target[5001];

			memset(target, 't', sizeof(target) - 1);
			target[sizeof(target) - 1] = '\0';
			wr_symlink(w, "long", target);
			break;
		}
		}
		path = wr_close(w);
		import_fails(t, path, &o, cases[i].code, cases[i].msg);
		assert_null(vf_tree_get(t, "ok"));
		unlink(path);
		free(path);
	}
	/* nothing was written but the store's content files */
	assert_store_clean(store);
	vf_test_assert_listing(*state, "base base2 store");
	/* devices are fine when allowed */
	w = wr_new(*state, "dev", "pax", NULL);
	wr_node(w, "dev/sda", AE_IFBLK, 8, 0);
	wr_node(w, "dev/null", AE_IFCHR, 1, 3);
	{
		char *p = wr_close(w);
		struct vf_err err = { 0 };

		o.allow_devices = true;
		assert_int_equal(vf_tree_import_archive(t, p, &o, &err), 0);
		assert_int_equal(vf_tree_get(t, "dev/sda")->type, VF_TREE_BLK);
		assert_int_equal(vf_tree_get(t, "dev/null")->rdev_major, 1);
		assert_int_equal(vf_tree_get(t, "dev/null")->rdev_minor, 3);
		free(p);
	}
	vf_tree_free(t);
	free(base);
	free(store);
}

/* A failed import undoes everything, including what `override` replaced. */
static void test_rollback_override(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_import_opts o = { .pkg_name = "b", .override = true };
	struct wr *w = wr_new(*state, "a", "pax", NULL);
	char *a, *b, *before;

	wr_file(w, "etc/motd", 0644, "from a");
	wr_dir(w, "opt", 0755);
	a = wr_close(w);
	import_ok(t, a, "a");
	before = dump(t);

	w = wr_new(*state, "b", "pax", NULL);
	wr_file(w, "etc/motd", 0600, "from b");   /* replaces a's */
	wr_symlink(w, "opt", "usr/opt");          /* replaces the empty directory */
	wr_file(w, "new/file", 0644, "new");
	wr_file(w, "etc/motd/x", 0644, "fails");  /* beneath a file */
	b = wr_close(w);
	import_fails(t, b, &o, -ENOTDIR, "package 'b': entry 'etc/motd/x': 'etc/motd' is a file (from package 'b')");
	assert_content(t, "etc/motd", "from a", 6);
	assert_string_equal(vf_tree_get(t, "etc/motd")->origin, "a");
	assert_int_equal(vf_tree_get(t, "opt")->type, VF_TREE_DIR);
	{
		char *after = dump(t);

		assert_string_equal(before, after);
		free(after);
	}
	/* and the same package without the bad entry wins */
	w = wr_new(*state, "b", "pax", NULL);
	wr_file(w, "etc/motd", 0600, "from b");
	b = (free(b), wr_close(w));
	{
		struct vf_err err = { 0 };

		assert_int_equal(vf_tree_import_archive(t, b, &o, &err), 0);
	}
	assert_content(t, "etc/motd", "from b", 6);
	assert_string_equal(vf_tree_get(t, "etc/motd")->origin, "b");
	vf_tree_free(t);
	free(before);
	free(a);
	free(b);
}

static void test_limits(void **state)
{
	struct vf_tree_limits lim = { .max_entries = 10, .max_entry_size = 1 << 20 };
	struct vf_tree_import_opts o = { .pkg_name = "p" };
	char *store = vf_test_path(*state, "store");
	struct vf_tree *t = (mkdir(store, 0700), new_tree(store, &lim));
	struct wr *w = wr_new(*state, "many", "gnutar", "xz");
	uint8_t *zero = calloc(1, 2 << 20);
	char *p, name[32];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		wr_file(w, name, 0644, "x");
	}
	p = wr_close(w);
	import_fails(t, p, &o, -E2BIG, "package 'p': entry 'f09': too many entries: the limit is 10");
	free(p);

	w = wr_new(*state, "big", "gnutar", "xz");
	wr_start(w, "big", AE_IFREG, 0644);
	archive_entry_set_size(w->e, 2 << 20);
	wr_header(w);
	wr_data(w, zero, 2 << 20);
	p = wr_close(w);
	import_fails(t, p, &o, -EFBIG,
		     "package 'p': entry 'big': file is 2097152 bytes, more than the limit of 1048576 bytes");
	assert_store_clean(store);
	free(p);
	free(zero);
	free(store);
	vf_tree_free(t);
}

static void test_sparse(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct wr *w = wr_new(*state, "sparse", "pax", "gzip");
	enum { SIZE = 3 << 20 };
	uint8_t *want = calloc(1, SIZE), sha[32];
	char *p;

	assert_non_null(want);
	wr_start(w, "var/sparse", AE_IFREG, 0644);
	archive_entry_set_size(w->e, SIZE);
	archive_entry_sparse_add_entry(w->e, 4096, 8192);
	archive_entry_sparse_add_entry(w->e, 1 << 20, 100);
	wr_header(w);
	memset(want + 4096, 0xab, 8192);
	memset(want + (1 << 20), 0xcd, 100);
	wr_data(w, want, SIZE); /* the writer drops the holes */
	p = wr_close(w);
	import_ok(t, p, "p");
	assert_int_equal(vf_tree_get(t, "var/sparse")->size, SIZE);
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), want, SIZE, sha), 0);
	assert_memory_equal(vf_tree_get(t, "var/sparse")->sha256, sha, 32);
	assert_content(t, "var/sparse", want, SIZE);
	free(want);
	free(p);
	vf_tree_free(t);
}

/* One tar block of a ustar header. */
static void ustar_header(uint8_t b[512], const char *name, char type, const char *link, size_t size)
{
	unsigned sum = 0;

	memset(b, 0, 512);
	snprintf((char *)b, 100, "%s", name);
	memcpy(b + 100, "0000644", 8);
	memcpy(b + 108, "0000000", 8);
	memcpy(b + 116, "0000000", 8);
	snprintf((char *)b + 124, 12, "%011o", (unsigned)size);
	memcpy(b + 136, "00000000000", 12);
	b[156] = (uint8_t)type;
	if (link)
		snprintf((char *)b + 157, 100, "%s", link);
	memcpy(b + 257, "ustar", 6);
	memcpy(b + 263, "00", 2);
	memset(b + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
}

/*
 * A pax archive whose only entry is a hardlink carrying data (POSIX.1-2001
 * allows it; libarchive's writers never make one, so it is built by hand).
 */
static void write_hardlink_with_data(const char *path, const char *name, const char *target,
				     const char *data)
{
	uint8_t tar[512 * 6] = { 0 };
	char rec[32];
	size_t n = strlen(data);

	/* the extended header: "<len> size=<n>\n", where len counts itself */
	snprintf(rec, sizeof(rec), "%zu size=%zu\n", (size_t)9, n);
	assert_true(n < 10);
	ustar_header(tar, "PaxHeader", 'x', NULL, strlen(rec));
	memcpy(tar + 512, rec, strlen(rec));
	ustar_header(tar + 1024, name, '1', target, n);
	memcpy(tar + 1536, data, n);
	vf_test_write_file(path, tar, sizeof(tar));
}

/* cpio expresses hardlinks by inode number; the last name may carry the data. */
static void test_cpio_hardlinks(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct wr *w = wr_new(*state, "links", "newc", NULL);
	char *p;

	wr_start(w, "bin/busybox", AE_IFREG, 0755);
	archive_entry_set_ino(w->e, 7);
	archive_entry_set_nlink(w->e, 3);
	archive_entry_set_size(w->e, 0);
	wr_header(w);
	wr_start(w, "bin/sh", AE_IFREG, 0755);
	archive_entry_set_ino(w->e, 7);
	archive_entry_set_nlink(w->e, 3);
	archive_entry_set_size(w->e, 0);
	wr_header(w);
	wr_start(w, "bin/ls", AE_IFREG, 0755);
	archive_entry_set_ino(w->e, 7);
	archive_entry_set_nlink(w->e, 3);
	archive_entry_set_size(w->e, 8);
	wr_header(w);
	wr_data(w, "busybox!", 8);
	p = wr_close(w);
	import_ok(t, p, "busybox");
	assert_int_equal(vf_tree_get(t, "bin/busybox")->type, VF_TREE_FILE);
	assert_int_equal(vf_tree_get(t, "bin/busybox")->size, 8);
	assert_content(t, "bin/busybox", "busybox!", 8);
	assert_int_equal(vf_tree_get(t, "bin/sh")->type, VF_TREE_HARDLINK);
	assert_string_equal(vf_tree_get(t, "bin/sh")->link, "bin/busybox");
	assert_content(t, "bin/ls", "busybox!", 8);
	free(p);

	/* hardlink data (pax allows it) may not rewrite another package's file */
	p = vf_test_path(*state, "evil.tar");
	write_hardlink_with_data(p, "bin/evil", "bin/busybox", "evil");
	{
		struct vf_tree_import_opts o = { .pkg_name = "evil" };

		import_fails(t, p, &o, -EPERM,
			     "package 'evil': entry 'bin/evil': hardlink data would change 'bin/busybox' of package 'busybox'");
	}
	/* within one package, it is how the data arrives */
	write_hardlink_with_data(p, "bin/cat", "bin/busybox", "new!");
	import_ok(t, p, "busybox");
	assert_content(t, "bin/cat", "new!", 4);
	assert_content(t, "bin/sh", "new!", 4);
	write_hardlink_with_data(p, "bin/cat", "bin/busybox", "busybox!");
	import_ok(t, p, "busybox");
	assert_content(t, "bin/busybox", "busybox!", 8);
	free(p);
	vf_tree_free(t);
}

static char *write_truncatable(const char *dir)
{
	struct wr *w = wr_new(dir, "pkg.tar.gz", "pax", "gzip");
	uint8_t data[100000];

	/* text-like, so deflate codes it (stored blocks would hide a flipped byte:
	 * libarchive does not check gzip's CRC; the sha256 pin does) */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)"abcdefgh\n"[(i * 7 + i / 13) % 9];
	wr_start(w, "data", AE_IFREG, 0644);
	archive_entry_set_size(w->e, sizeof(data));
	wr_header(w);
	wr_data(w, data, sizeof(data));
	wr_file(w, "after", 0644, "after");
	return wr_close(w);
}

static void test_truncated_and_corrupt(void **state)
{
	struct vf_tree_import_opts o = { .pkg_name = "p" };
	struct vf_tree *t = new_tree(*state, NULL);
	char *p = write_truncatable(*state);
	size_t len;
	uint8_t *bytes = vf_test_read_file(p, &len);

	vf_test_write_file(p, bytes, len / 2);
	import_fails(t, p, &o, -EIO, "package 'p': ");
	import_fails(t, p, &o, -EIO, "truncated gzip input");
	vf_test_write_file(p, bytes, len);
	vf_test_flip_file(p, len / 2, 0xff);
	import_fails(t, p, &o, -EIO, "package 'p': ");
	vf_test_write_file(p, bytes, 5);
	import_fails(t, p, &o, -EIO, "package 'p': cannot read '");
	vf_test_write_file(p, "hello, not an archive", 21);
	import_fails(t, p, &o, -EIO, "unrecognized archive format");
	vf_test_write_file(p, "", 0);
	{
		/* an empty file is no archive at all */
		struct vf_err err = { 0 };
		int r = vf_tree_import_archive(t, p, &o, &err);

		assert_true(r == 0 || strstr(err.msg, "package 'p'"));
	}
	unlink(p);
	import_fails(t, p, &o, -ENOENT, "package 'p': cannot open '");
	assert_store_clean(*state);
	free(bytes);
	free(p);
	vf_tree_free(t);
}

/* An ar archive in the .deb layout, with the given members. */
static char *write_deb(const char *dir, const char *name, const char *first, bool data,
		       bool second_data, const char *bad_path)
{
	struct wr *w = wr_new(dir, name, "arsvr4", NULL);
	struct wr *c = wr_new(dir, "control.tar.gz", "gnutar", "gzip");
	struct wr *d = wr_new(dir, "data.tar.xz", "gnutar", "xz");
	char *cp, *dp;
	uint8_t *cb, *db;
	size_t cl, dl;

	wr_file(c, "./control", 0644, "Package: demo\n");
	wr_file(c, "./postinst", 0755, "#!/bin/sh\ntouch /tmp/vforge-postinst-ran\n");
	cp = wr_close(c);
	wr_dir(d, "./", 0755);
	wr_dir(d, "./usr/", 0755);
	wr_file(d, "./usr/bin/demo", 0755, "demo\n");
	if (bad_path)
		wr_file(d, bad_path, 0644, "x");
	dp = wr_close(d);
	cb = vf_test_read_file(cp, &cl);
	db = vf_test_read_file(dp, &dl);

	wr_start(w, first, AE_IFREG, 0644);
	archive_entry_set_size(w->e, 4);
	wr_header(w);
	wr_data(w, "2.0\n", 4);
	wr_start(w, "control.tar.gz", AE_IFREG, 0644);
	archive_entry_set_size(w->e, (la_int64_t)cl);
	wr_header(w);
	wr_data(w, cb, cl);
	for (int i = 0; i < (data ? 1 : 0) + (second_data ? 1 : 0); i++) {
		wr_start(w, i ? "data.tar.gz" : "data.tar.xz", AE_IFREG, 0644);
		archive_entry_set_size(w->e, (la_int64_t)dl);
		wr_header(w);
		wr_data(w, db, dl);
	}
	unlink(cp);
	unlink(dp);
	free(cp);
	free(dp);
	free(cb);
	free(db);
	return wr_close(w);
}

static void test_deb(void **state)
{
	struct vf_tree_import_opts o = { .pkg_name = "demo" };
	struct vf_tree *t = new_tree(*state, NULL);
	char *p = write_deb(*state, "demo.deb", "debian-binary", true, false, NULL);

	import_ok(t, p, "demo");
	assert_int_equal(vf_tree_get(t, "usr/bin/demo")->mode, 0755);
	assert_content(t, "usr/bin/demo", "demo\n", 5);
	assert_null(vf_tree_get(t, "postinst"));
	assert_null(vf_tree_get(t, "control"));
	assert_int_equal(vf_tree_count(t), 4);
	free(p);

	p = write_deb(*state, "bad.deb", "debian-binary", true, false, "./../../etc/cron.d/x");
	import_fails(t, p, &o, -EINVAL, "package 'demo': entry './../../etc/cron.d/x': path escapes the root");
	free(p);
	p = write_deb(*state, "bad.deb", "debian-binary", false, false, NULL);
	import_fails(t, p, &o, -EINVAL, "package 'demo': no data.tar member in the .deb");
	free(p);
	p = write_deb(*state, "bad.deb", "debian-binary", true, true, NULL);
	import_fails(t, p, &o, -EINVAL, "package 'demo': a second data member 'data.tar.gz' in a .deb");
	free(p);
	p = write_deb(*state, "bad.deb", "libfoo.o", true, false, NULL);
	import_fails(t, p, &o, -EINVAL,
		     "not a Debian package: an ar archive whose first member is 'libfoo.o', not 'debian-binary'");
	free(p);
	vf_tree_free(t);
}

/* The archive at `path` (whose bytes are `bytes`) imports the same from the file and from memory. */
static void import_file_and_memory(struct vf_tree *t, struct vf_tree *u, const char *path,
				   const uint8_t *bytes, size_t len,
				   const struct vf_tree_import_opts *o)
{
	struct vf_err err = { 0 };
	char *a, *b;

	assert_int_equal(vf_tree_import_archive(t, path, o, &err), 0);
	assert_int_equal(vf_tree_import_memory(u, bytes, len, o, &err), 0);
	a = dump(t);
	b = dump(u);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_pin_and_memory(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL), *u = new_tree(*state, NULL);
	char *p = write_sample(*state, "pkg", "pax", "xz");
	size_t len;
	uint8_t *bytes = vf_test_read_file(p, &len), sha[32], wrong[32];
	struct vf_tree_import_opts o = { .pkg_name = "p", .sha256 = wrong };
	struct vf_err err = { 0 };

	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), bytes, len, sha), 0);
	memcpy(wrong, sha, 32);
	wrong[31] ^= 1;
	import_fails(t, p, &o, -VF_EVERIFY, "package 'p': sha256 mismatch: expected ");
	assert_int_equal(vf_tree_count(t), 1);
	o.sha256 = sha;
	import_file_and_memory(t, u, p, bytes, len, &o);
	/* bytes libarchive never reads (after a tar's end) are covered by the pin too */
	free(bytes);
	free(p);
	p = write_sample(*state, "pkg", "pax", NULL);
	bytes = vf_test_read_file(p, &len);
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), bytes, len, sha), 0);
	vf_tree_free(u);
	u = new_tree(*state, NULL);
	assert_int_equal(vf_tree_import_memory(u, bytes, len, &o, &err), 0);
	bytes = realloc(bytes, len + 3);
	memcpy(bytes + len, "xyz", 3);
	vf_tree_free(u);
	u = new_tree(*state, NULL);
	assert_int_equal(vf_tree_import_memory(u, bytes, len + 3, &o, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "sha256 mismatch");
	assert_int_equal(vf_tree_count(u), 1);
	o.pkg_name = NULL;
	assert_int_equal(vf_tree_import_memory(u, bytes, len, &o, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "import without a package name");
	vf_tree_free(t);
	vf_tree_free(u);
	free(bytes);
	free(p);
}

/* A regular file usr/lib/big.bin of `len` bytes of data. */
static void wr_big(struct wr *w, const uint8_t *data, size_t len)
{
	wr_start(w, "usr/lib/big.bin", AE_IFREG, 0644);
	archive_entry_set_size(w->e, (la_int64_t)len);
	wr_header(w);
	wr_data(w, data, len);
}

/*
 * A file's pin is hashed in a thread through a ring of 1 MiB read buffers:
 * an archive of many blocks (the ring wraps several times) imports the same
 * as from memory with the right pin; one flipped byte late in the file, or
 * bytes after the archive's end, fail it.
 */
static void test_pin_thread_many_blocks(void **state)
{
	const size_t big = 9 * 1024 * 1024 + 12345;
	struct vf_tree *t = new_tree(*state, NULL), *u = new_tree(*state, NULL);
	struct wr *w = wr_new(*state, "big", "pax", NULL);
	struct vf_tree_import_opts o = { .pkg_name = "big" };
	uint8_t *data = malloc(big), *bytes, sha[32];
	struct vf_err err = { 0 };
	char *p;
	size_t len;

	assert_non_null(data);
	vf_test_data(91, data, big);
	wr_big(w, data, big);
	wr_file(w, "usr/lib/small", 0644, "after the big one\n");
	p = wr_close(w);
	bytes = vf_test_read_file(p, &len);
	assert_true(len > 8 * 1024 * 1024);
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), bytes, len, sha), 0);
	o.sha256 = sha;
	import_file_and_memory(t, u, p, bytes, len, &o);
	vf_tree_free(t);
	t = new_tree(*state, NULL);

	/* one byte of the big file's data, late in the archive */
	bytes[len - 40000] ^= 0x20;
	vf_test_write_file(p, bytes, len);
	import_fails(t, p, &o, -VF_EVERIFY, "package 'big': sha256 mismatch: expected ");
	bytes[len - 40000] ^= 0x20;

	/* bytes after the end of the tar, which libarchive never asks for */
	bytes = realloc(bytes, len + 5);
	assert_non_null(bytes);
	memcpy(bytes + len, "extra", 5);
	vf_test_write_file(p, bytes, len + 5);
	import_fails(t, p, &o, -VF_EVERIFY, "sha256 mismatch");
	vf_test_write_file(p, bytes, len);
	assert_int_equal(vf_tree_import_archive(t, p, &o, &err), 0);
	free(p);

	/*
	 * an entry refused at the start of a big archive: the thread, which
	 * read the ring full ahead and waits for a free slot, is stopped
	 */
	w = wr_new(*state, "evil", "pax", NULL);
	wr_file(w, "../etc/passwd", 0644, "x");
	wr_big(w, data, big);
	p = wr_close(w);
	free(bytes);
	bytes = vf_test_read_file(p, &len);
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), bytes, len, sha), 0);
	vf_tree_free(t);
	t = new_tree(*state, NULL);
	import_fails(t, p, &o, -EINVAL, "entry '../etc/passwd': path escapes the root");

	vf_tree_free(t);
	vf_tree_free(u);
	free(bytes);
	free(data);
	free(p);
}

/* Names are the archive's bytes whatever the process's locale. */
static void test_locale_independent(void **state)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old;
	struct wr *w;
	char *p, *raw, *a = NULL, *b;

	if (!utf8)
		skip();
	/* written in a UTF-8 locale, the pax writer stores UTF-8 "path" records */
	old = uselocale(utf8);
	w = wr_new(*state, "utf8.tar", "pax", NULL);
	wr_file(w, "\xc3\xa9t\xc3\xa9/\xe2\x82\xac", 0644, "euro");
	p = wr_close(w);
	uselocale(old);
	/* names that are no UTF-8: the C-locale writer marks them binary */
	w = wr_new(*state, "raw.tar", "pax", NULL);
	wr_file(w, "raw/\xff\xfe", 0644, "raw");
	raw = wr_close(w);
	for (int i = 0; i < 2; i++) {
		struct vf_tree *t = new_tree(*state, NULL);

		if (i)
			old = uselocale(utf8);
		import_ok(t, p, "p");
		import_ok(t, raw, "p");
		if (i)
			uselocale(old);
		b = dump(t);
		vf_test_assert_contains(b, "/\xc3\xa9t\xc3\xa9/\xe2\x82\xac 1 0644");
		vf_test_assert_contains(b, "/raw/\xff\xfe 1 0644");
		if (a)
			assert_string_equal(a, b);
		free(a);
		a = b;
		vf_tree_free(t);
	}
	free(a);
	free(p);
	free(raw);
	freelocale(utf8);
}

static void test_root_entry_ignored(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct wr *w = wr_new(*state, "root", "gnutar", NULL);
	char *p;

	wr_dir(w, ".", 0700);
	wr_dir(w, "/", 0777);
	wr_file(w, "x", 0644, "x");
	p = wr_close(w);
	import_ok(t, p, "p");
	assert_int_equal(vf_tree_get(t, "")->mode, 0755);
	assert_string_equal(vf_tree_get(t, "")->origin, "manifest");
	assert_int_equal(vf_tree_count(t), 2);
	free(p);
	vf_tree_free(t);
}

/* zstd frames of tar[from, to) with checksums, appended to *out. */
static void add_frames(uint8_t **out, size_t *out_len, const uint8_t *tar, size_t from, size_t to)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(to - from), z;

	assert_non_null(c);
	*out = realloc(*out, *out_len + cap);
	assert_non_null(*out);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
	z = ZSTD_compress2(c, *out + *out_len, cap, tar + from, to - from);
	assert_false(ZSTD_isError(z));
	*out_len += z;
	ZSTD_freeCCtx(c);
}

/* Write `bytes` to path, pin them, and import: 0 or the error (its message in err). */
static int import_pinned(struct vf_tree *t, const char *path, const uint8_t *bytes, size_t len,
			 struct vf_err *err)
{
	uint8_t sha[32];
	struct vf_tree_import_opts o = { .pkg_name = "z", .sha256 = sha };

	vf_test_write_file(path, bytes, len);
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), bytes, len, sha), 0);
	return vf_tree_import_archive(t, path, &o, err);
}

/*
 * A pinned zstd file is decompressed by the pin's thread (libzstd), not by
 * libarchive: the tree is the one libarchive makes of the same bytes in
 * memory, for one frame and for several (the tar cut across frames), with a
 * 9 MiB file (the ring wraps). Truncated, corrupt (checksum), or followed by
 * bytes that are no frame, it is refused with zstd's reason, even when the
 * pin is right for those bytes.
 */
static void test_pin_thread_zstd(void **state)
{
	const size_t big = 9 * 1024 * 1024 + 12345;
	struct wr *w = wr_new(*state, "plain", "pax", NULL);
	uint8_t *data = malloc(big), *tar, *z = NULL, *bad;
	size_t tar_len, z_len = 0, cuts[] = { 0, 0, 0, 0 };
	char *plain, *path = vf_test_path(*state, "z.tar.zst");
	struct vf_err err = { 0 };

	assert_non_null(data);
	vf_test_data(92, data, big);
	memset(data + 4096, 0, 3 * 1024 * 1024); /* compressible too */
	wr_file(w, "etc/first", 0644, "the first file\n");
	wr_big(w, data, big);
	wr_file(w, "usr/lib/after", 0644, "after the big one\n");
	plain = wr_close(w);
	tar = vf_test_read_file(plain, &tar_len);
	cuts[1] = 777;
	cuts[2] = tar_len / 2 + 3;
	cuts[3] = tar_len;
	for (int frames = 1; frames <= 3; frames += 2) {
		struct vf_tree *t = new_tree(*state, NULL), *u = new_tree(*state, NULL);
		uint8_t sha[32];
		struct vf_tree_import_opts o = { .pkg_name = "z", .sha256 = sha };

		z_len = 0;
		if (frames == 1)
			add_frames(&z, &z_len, tar, 0, tar_len);
		else
			for (int i = 0; i < 3; i++)
				add_frames(&z, &z_len, tar, cuts[i], cuts[i + 1]);
		vf_test_write_file(path, z, z_len);
		assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), z, z_len, sha), 0);
		import_file_and_memory(t, u, path, z, z_len, &o);
		assert_non_null(vf_tree_get(t, "usr/lib/after"));
		vf_tree_free(t);
		vf_tree_free(u);
	}
	/* z: three frames now; cut in the middle of the second */
	{
		struct vf_tree *t = new_tree(*state, NULL);

		assert_true(import_pinned(t, path, z, z_len / 2, &err) < 0);
		vf_test_assert_contains(err.msg, "zstd: truncated stream");
		vf_tree_free(t);
	}
	/* one byte of the big file's data changed: its frame's checksum fails */
	bad = malloc(z_len + 8);
	assert_non_null(bad);
	memcpy(bad, z, z_len);
	bad[z_len / 2] ^= 0x40;
	{
		struct vf_tree *t = new_tree(*state, NULL);

		assert_true(import_pinned(t, path, bad, z_len, &err) < 0);
		vf_test_assert_contains(err.msg, "zstd: ");
		vf_tree_free(t);
	}
	/* bytes after the last frame that are no frame */
	memcpy(bad, z, z_len);
	memcpy(bad + z_len, "garbage!", 8);
	{
		struct vf_tree *t = new_tree(*state, NULL);

		assert_true(import_pinned(t, path, bad, z_len + 8, &err) < 0);
		vf_test_assert_contains(err.msg, "zstd: ");
		vf_tree_free(t);
	}
	free(bad);
	free(z);
	free(tar);
	free(plain);
	free(path);
	free(data);
}

/* One file of `len` bytes of data, as given. */
static void wr_bytes(struct wr *w, const char *path, const uint8_t *data, size_t len)
{
	wr_start(w, path, AE_IFREG, 0644);
	archive_entry_set_size(w->e, (la_int64_t)len);
	wr_header(w);
	wr_data(w, data, len);
}

/*
 * Import `path` (pinned) into a fresh tree, with a pack store or not, and
 * compare it with `u`, imported from memory; every file's digest is the
 * sha256 of the data it was written from (file i: data + off[i], len[i]).
 */
static void pairs_check(const char *dir, const char *path, const struct vf_tree *u, bool pack,
			const struct vf_tree_import_opts *o, const uint8_t *data,
			const size_t *off, const size_t *len, size_t n)
{
	struct vf_tree *t = new_tree(dir, NULL);
	struct vf_err err = { 0 };
	char *a, *b, name[32];
	uint8_t want[32];

	if (pack)
		assert_int_equal(vf_tree_set_store_pack(t, &err), 0);
	if (vf_tree_import_archive(t, path, o, &err))
		fail_msg("import '%s': %s", path, err.msg);
	a = dump(t);
	b = dump(u);
	assert_string_equal(a, b);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "d/f%04zu", i);
		assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), data + off[i], len[i],
						  want),
				 0);
		assert_memory_equal(vf_tree_get(t, name)->sha256, want, 32);
	}
	free(a);
	free(b);
	vf_tree_free(t);
}

/*
 * With SHA-NI, the importer hashes the pin's blocks beside each content (two
 * lanes), and the pin's thread only what it needs back; otherwise (pairing
 * off) the thread hashes every block. Either way, for a plain tar and a zstd
 * one of 1,500 files from 0 bytes to 40 KiB and two of 1 and 2 MiB (the
 * rings wrap many times; large contents are hashed as they come), every
 * content's digest is its data's sha256 and the tree is the one imported
 * from memory (hashed inline), with a pack store or not; a flipped byte
 * late in the file fails the pin.
 */
static void test_pin_pairs_contents(void **state)
{
	const size_t n = 1503, total = 64 << 20;
	uint8_t *data = malloc(total), *bytes, sha[32];
	size_t *off = calloc(n, sizeof(*off)), *len = calloc(n, sizeof(*len)), blen, pos = 0;
	struct vf_tree_import_opts o = { .pkg_name = "many", .sha256 = sha };
	struct vf_err err = { 0 };
	const char *filters[] = { NULL, "zstd" };
	char name[32];

	assert_non_null(data);
	assert_non_null(off);
	assert_non_null(len);
	vf_test_data(93, data, total);
	for (size_t i = 0; i < n; i++) {
		len[i] = i % 1000 == 500 ? (1 + i / 1000) << 20 : (i * 7919) % 40961;
		off[i] = (i * 104729) % (total - len[i]);
		pos += len[i];
	}
	assert_true(pos > 30 << 20);
	for (size_t f = 0; f < 2; f++) {
		struct wr *w = wr_new(*state, "many", "pax", filters[f]);
		struct vf_tree *u = new_tree(*state, NULL);
		char *p;

		assert_int_equal(vf_tree_set_store_pack(u, &err), 0);
		wr_dir(w, "d", 0755);
		for (size_t i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "d/f%04zu", i);
			wr_bytes(w, name, data + off[i], len[i]);
		}
		p = wr_close(w);
		bytes = vf_test_read_file(p, &blen);
		assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), bytes, blen, sha), 0);
		assert_int_equal(vf_tree_import_memory(u, bytes, blen, &o, &err), 0);
		/* a store of files of their own costs more: one import of it */
		for (int pairing = 1; pairing >= 0; pairing--) {
			vf_tree_import_set_pairing(pairing);
			pairs_check(*state, p, u, true, &o, data, off, len, n);
		}
		vf_tree_import_set_pairing(true);
		pairs_check(*state, p, u, false, &o, data, off, len, n);
		vf_tree_import_set_pairing(true);
		/* in a zstd file the frame may no longer decode: zstd's error comes first */
		bytes[blen - 30000] ^= 0x08;
		vf_test_write_file(p, bytes, blen);
		vf_tree_free(u);
		u = new_tree(*state, NULL);
		{
			int r = vf_tree_import_archive(u, p, &o, &err);

			if (!(r == -VF_EVERIFY && strstr(err.msg, "sha256 mismatch")) &&
			    !(f && r == -EIO && strstr(err.msg, "zstd: ")))
				fail_msg("flipped byte: %d '%s'", r, err.msg);
		}
		assert_int_equal(vf_tree_count(u), 1);
		vf_tree_free(u);
		free(bytes);
		free(p);
	}
	/*
	 * 200 directories with 60 KiB random xattrs: 12 MiB with no content to
	 * pair with, so the pin's thread must hash each block itself before it
	 * reuses its buffer
	 */
	for (size_t f = 0; f < 2; f++) {
		struct wr *w = wr_new(*state, "dirs", "pax", filters[f]);
		struct vf_tree *t = new_tree(*state, NULL), *u = new_tree(*state, NULL);
		char *p, *a, *b;

		for (size_t i = 0; i < 200; i++) {
			snprintf(name, sizeof(name), "dir%03zu", i);
			wr_start(w, name, AE_IFDIR, 0755);
			archive_entry_xattr_add_entry(w->e, "user.blob", data + i * 61440, 61440);
			wr_header(w);
		}
		p = wr_close(w);
		bytes = vf_test_read_file(p, &blen);
		assert_true(blen > 12 << 20);
		assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), bytes, blen, sha), 0);
		assert_int_equal(vf_tree_import_memory(u, bytes, blen, &o, &err), 0);
		if (vf_tree_import_archive(t, p, &o, &err))
			fail_msg("import '%s': %s", p, err.msg);
		a = dump(t);
		b = dump(u);
		assert_string_equal(a, b);
		vf_test_assert_contains(a, "user.blob=61440");
		free(a);
		free(b);
		vf_tree_free(t);
		vf_tree_free(u);
		free(bytes);
		free(p);
	}
	free(data);
	free(off);
	free(len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_formats_and_filters),
		vf_test_in_tmpdir(test_metadata),
		vf_test_in_tmpdir(test_hostile),
		vf_test_in_tmpdir(test_rollback_override),
		vf_test_in_tmpdir(test_limits),
		vf_test_in_tmpdir(test_sparse),
		vf_test_in_tmpdir(test_cpio_hardlinks),
		vf_test_in_tmpdir(test_truncated_and_corrupt),
		vf_test_in_tmpdir(test_deb),
		vf_test_in_tmpdir(test_pin_and_memory),
		vf_test_in_tmpdir(test_pin_thread_many_blocks),
		vf_test_in_tmpdir(test_pin_thread_zstd),
		vf_test_in_tmpdir(test_pin_pairs_contents),
		vf_test_in_tmpdir(test_locale_independent),
		vf_test_in_tmpdir(test_root_entry_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
