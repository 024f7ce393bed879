/* The tree itself: paths, order, parents, conflicts, the store, limits, removal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "builder/tree/tree.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct vf_tree *new_tree(const char *dir, const struct vf_tree_limits *lim)
{
	struct vf_tree *t = vf_tree_new(lim, dir);

	assert_non_null(t);
	return t;
}

static struct vf_tree_entry ent(enum vf_tree_type type, const char *path, const char *origin)
{
	struct vf_tree_entry e = { .path = (char *)path, .type = type, .origin = (char *)origin };

	e.mode = type == VF_TREE_DIR ? 0755 : type == VF_TREE_SYMLINK ? 0777 : 0644;
	return e;
}

static void add_ok(struct vf_tree *t, const struct vf_tree_entry *e, const char *content,
		   bool replace)
{
	struct vf_err err = { 0 };
	int r = vf_tree_add(t, e, content, content ? strlen(content) : 0, replace, &err);

	if (r)
		print_error("vf_tree_add '%s': %s\n", e->path, err.msg);
	assert_int_equal(r, 0);
}

static void file_ok(struct vf_tree *t, const char *path, const char *origin, const char *content)
{
	struct vf_tree_entry e = ent(VF_TREE_FILE, path, origin);

	add_ok(t, &e, content, false);
}

/* vf_tree_add fails with `code` and a message containing `want`. */
static void add_fails(struct vf_tree *t, const struct vf_tree_entry *e, const char *content,
		      bool replace, int code, const char *want)
{
	struct vf_err err = { 0 };
	size_t n = vf_tree_count(t);

	assert_int_equal(vf_tree_add(t, e, content, content ? strlen(content) : 0, replace, &err), code);
	vf_test_assert_contains(err.msg, want);
	assert_int_equal(vf_tree_count(t), n); /* nothing half-added */
}

/* Every path in order, joined by spaces (the root as "/"). */
static char *listing(const struct vf_tree *t)
{
	size_t len = 0;
	char *s = calloc(1, 1);

	for (size_t i = 0; i < vf_tree_count(t); i++) {
		const char *p = vf_tree_at(t, i)->path;

		s = realloc(s, len + strlen(p) + 3);
		assert_non_null(s);
		len += (size_t)sprintf(s + len, "%s%s", i ? " " : "", *p ? p : "/");
	}
	return s;
}

static void assert_listing(const struct vf_tree *t, const char *want)
{
	char *got = listing(t);

	if (strcmp(got, want))
		print_error("tree: '%s'\nwant: '%s'\n", got, want);
	assert_string_equal(got, want);
	free(got);
}

/* ---- paths ---- */

static void test_normalize(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "/usr/bin/", "usr/bin" },   { "./a//b/./c/", "a/b/c" }, { ".", "" },
		{ "", "" },                   { "/", "" },                { "././/", "" },
		{ ".hidden", ".hidden" },     { "a/.../b", "a/.../b" },   { "..a/b..", "..a/b.." },
		{ "//etc///passwd", "etc/passwd" }, { "a/./b/.", "a/b" },
	};
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "../etc/passwd", "path '../etc/passwd': path escapes the root" },
		{ "a/../b", "path 'a/../b': path escapes the root" },
		{ "/..", "path escapes the root" },
		{ "a/..", "path escapes the root" },
		{ "./../x", "path escapes the root" },
	};
	struct vf_err err = { 0 };
	char *out, long_ok[4096], long_bad[4097], comp[300];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(vf_tree_path_normalize(ok[i].in, &out, &err), 0);
		assert_string_equal(out, ok[i].out);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vf_tree_path_normalize(bad[i].in, &out, &err), -EINVAL);
		assert_null(out);
		vf_test_assert_contains(err.msg, bad[i].msg);
	}
	/* PATH_MAX: 4095 bytes fit, 4096 do not */
	for (size_t i = 0; i < sizeof(long_ok) - 1; i++)
		long_ok[i] = i % 100 == 99 ? '/' : 'a';
	long_ok[sizeof(long_ok) - 1] = '\0';
	assert_int_equal(vf_tree_path_normalize(long_ok, &out, &err), 0);
	assert_int_equal(strlen(out), 4095);
	free(out);
	memcpy(long_bad, long_ok, 4095);
	long_bad[4095] = 'b';
	long_bad[4096] = '\0';
	assert_int_equal(vf_tree_path_normalize(long_bad, &out, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "path is 4096 bytes long, more than 4095");
	/* one component: 255 bytes fit (ext4's limit), 256 do not */
	memset(comp, 'c', 255);
	comp[255] = '\0';
	assert_int_equal(vf_tree_path_normalize(comp, &out, &err), 0);
	free(out);
	comp[255] = 'c';
	comp[256] = '\0';
	assert_int_equal(vf_tree_path_normalize(comp, &out, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "path component is 256 bytes long, more than 255");
	/* odd bytes are kept, and escaped in messages */
	assert_int_equal(vf_tree_path_normalize("a\xff/\x01", &out, &err), 0);
	assert_string_equal(out, "a\xff/\x01");
	free(out);
	assert_int_equal(vf_tree_path_normalize("\xff/..", &out, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "path '\\xff/..'");
}

/* ---- order and lookups ---- */

static void test_bytewise_order(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	const char *names[] = { "a0", "a/b", "a-b", "B", "\xc3\xa9", "a/b/c", "a.b", "A", "a" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct vf_tree_entry e = ent(!strcmp(names[i], "a") || !strcmp(names[i], "a/b")
					     ? VF_TREE_DIR : VF_TREE_FILE, names[i], "p");

		add_ok(t, &e, e.type == VF_TREE_FILE ? names[i] : NULL, false);
	}
	/* strcmp order: '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < '0' (0x30); 'A' < 'B' < 'a' < 0xc3 */
	assert_true(strcmp("a-b", "a/b") < 0 && strcmp("a/b", "a0") < 0);
	assert_listing(t, "/ A B a a-b a.b a/b a/b/c a0 \xc3\xa9");
	assert_int_equal(vf_tree_count(t), 10);
	assert_null(vf_tree_at(t, 10));
	assert_string_equal(vf_tree_get(t, "a/b/c")->path, "a/b/c");
	assert_null(vf_tree_get(t, "a/b/"));
	assert_null(vf_tree_get(t, "missing"));
	assert_int_equal(vf_tree_get(t, "")->type, VF_TREE_DIR);
	vf_tree_free(t);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Many entries added one by one and in bulk-like order: always sorted, all found. */
static void test_many_sorted(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	enum { N = 3000 };
	char **names = calloc(N, sizeof(*names));
	uint64_t seed = 42;

	assert_non_null(names);
	for (size_t i = 0; i < N; i++) {
		uint64_t v = vf_test_splitmix64(&seed);
		struct vf_tree_entry e;

		assert_true(asprintf(&names[i], "d%u/f%016llx", (unsigned)(v % 37),
				     (unsigned long long)v) > 0);
		e = ent(VF_TREE_SYMLINK, names[i], "p");
		e.link = (char *)"target";
		add_ok(t, &e, NULL, false);
	}
	qsort(names, N, sizeof(*names), cmp_str);
	for (size_t i = 1; i < vf_tree_count(t); i++)
		assert_true(strcmp(vf_tree_at(t, i - 1)->path, vf_tree_at(t, i)->path) < 0);
	for (size_t i = 0; i < N; i++) {
		assert_non_null(vf_tree_get(t, names[i]));
		free(names[i]);
	}
	assert_int_equal(vf_tree_count(t), 1 + 37 + N);
	free(names);
	vf_tree_free(t);
}

/* ---- parents ---- */

static void test_parents(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	const struct vf_tree_entry *e;
	struct vf_tree_entry d;

	file_ok(t, "/usr/share/doc/x", "pkg", "x");
	assert_listing(t, "/ usr usr/share usr/share/doc usr/share/doc/x");
	e = vf_tree_get(t, "usr/share");
	assert_int_equal(e->type, VF_TREE_DIR);
	assert_int_equal(e->mode, 0755);
	assert_int_equal(e->uid, 0);
	assert_int_equal(e->gid, 0);
	assert_int_equal(e->mtime, 0);
	assert_string_equal(e->origin, "pkg");

	/* an auto-created parent gives way to an explicit directory, silently */
	d = ent(VF_TREE_DIR, "usr/share", "other");
	d.mode = 0700;
	d.uid = 5;
	d.mtime = 77;
	add_ok(t, &d, NULL, false);
	e = vf_tree_get(t, "usr/share");
	assert_int_equal(e->mode, 0700);
	assert_int_equal(e->uid, 5);
	assert_int_equal(e->mtime, 77);
	assert_string_equal(e->origin, "other");
	/* but once explicit, a different one conflicts */
	d = ent(VF_TREE_DIR, "usr/share", "third");
	add_fails(t, &d, NULL, false, -EEXIST,
		  "path 'usr/share': package 'third' conflicts with package 'other' "
		  "(mode differs: 0700 in 'other', 0755 in 'third')");
	/* the same explicit directory again is fine */
	d.mode = 0700;
	d.uid = 5;
	d.mtime = 1;
	add_ok(t, &d, NULL, false);
	assert_string_equal(vf_tree_get(t, "usr/share")->origin, "other");
	vf_tree_free(t);
}

static void test_root(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_entry e = ent(VF_TREE_DIR, "/", "manifest");

	assert_int_equal(vf_tree_count(t), 1);
	assert_int_equal(vf_tree_at(t, 0)->mode, 0755);
	e.mode = 0700;
	add_ok(t, &e, NULL, false);
	assert_int_equal(vf_tree_get(t, "")->mode, 0700);
	e = ent(VF_TREE_FILE, ".", "p");
	add_fails(t, &e, "x", true, -EINVAL, "path '': the root must be a directory, not a file");
	vf_tree_free(t);
}

/* ---- conflicts ---- */

static void test_conflict_kinds(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_xattr xa = { (char *)"security.capability", (uint8_t *)"\x01\x02", 2 };
	struct vf_tree_xattr xb = { (char *)"security.capability", (uint8_t *)"\x01\x03", 2 };
	struct vf_tree_entry a, b;

	file_ok(t, "usr/bin/tool", "a", "one");
	b = ent(VF_TREE_FILE, "usr/bin/tool", "b");
	add_fails(t, &b, "two", false, -EEXIST,
		  "path 'usr/bin/tool': package 'b' conflicts with package 'a' (content differs)");
	b = ent(VF_TREE_SYMLINK, "usr/bin/tool", "b");
	b.link = (char *)"x";
	add_fails(t, &b, NULL, false, -EEXIST, "(type differs: file in 'a', symlink in 'b')");
	b = ent(VF_TREE_FILE, "usr/bin/tool", "b");
	b.mode = 04755;
	add_fails(t, &b, "one", false, -EEXIST, "(mode differs: 0644 in 'a', 4755 in 'b')");
	b = ent(VF_TREE_FILE, "usr/bin/tool", "b");
	b.uid = 1000;
	b.gid = 100;
	add_fails(t, &b, "one", false, -EEXIST, "(owner differs: 0:0 in 'a', 1000:100 in 'b')");

	a = ent(VF_TREE_SYMLINK, "lib", "a");
	a.link = (char *)"usr/lib";
	add_ok(t, &a, NULL, false);
	b = ent(VF_TREE_SYMLINK, "lib", "b");
	b.link = (char *)"usr/lib64";
	add_fails(t, &b, NULL, false, -EEXIST,
		  "(link target differs: 'usr/lib' in 'a', 'usr/lib64' in 'b')");

	a = ent(VF_TREE_CHR, "dev/null", "a");
	a.rdev_major = 1;
	a.rdev_minor = 3;
	add_ok(t, &a, NULL, false);
	b = a;
	b.origin = (char *)"b";
	b.rdev_minor = 5;
	add_fails(t, &b, NULL, false, -EEXIST, "(device number differs: 1:3 in 'a', 1:5 in 'b')");

	a = ent(VF_TREE_FILE, "usr/bin/ping", "a");
	a.xattrs = &xa;
	a.n_xattrs = 1;
	add_ok(t, &a, "ping", false);
	b = a;
	b.origin = (char *)"b";
	b.xattrs = &xb;
	add_fails(t, &b, "ping", false, -EEXIST, "(xattr 'security.capability' differs)");
	b.n_xattrs = 0;
	add_fails(t, &b, "ping", false, -EEXIST, "(xattr 'security.capability' differs)");

	a = ent(VF_TREE_DIR, "etc", "a");
	add_ok(t, &a, NULL, false);
	b = ent(VF_TREE_FILE, "etc", "b");
	add_fails(t, &b, "x", false, -EEXIST, "(type differs: directory in 'a', file in 'b')");
	/* the same package twice with different content */
	b = ent(VF_TREE_FILE, "usr/bin/tool", "a");
	add_fails(t, &b, "three", false, -EEXIST, "appears twice in package 'a' (content differs)");
	/* the manifest is named as such */
	b = ent(VF_TREE_FILE, "usr/bin/tool", "manifest");
	add_fails(t, &b, "four", false, -EEXIST, "the manifest conflicts with package 'a'");
	b.origin = NULL; /* default origin: the manifest */
	add_fails(t, &b, "four", false, -EEXIST, "the manifest conflicts with package 'a'");
	vf_tree_free(t);
}

static void test_identical_duplicates(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_entry e = ent(VF_TREE_FILE, "usr/bin/tool", "a");

	e.mtime = 100;
	add_ok(t, &e, "same", false);
	e.origin = (char *)"b";
	e.mtime = 200; /* mtimes do not matter */
	add_ok(t, &e, "same", false);
	assert_string_equal(vf_tree_get(t, "usr/bin/tool")->origin, "a");
	assert_int_equal(vf_tree_get(t, "usr/bin/tool")->mtime, 100);
	e = ent(VF_TREE_DIR, "usr", "b");
	add_ok(t, &e, NULL, false); /* replaces the implicit parent */
	e.origin = (char *)"c";
	add_ok(t, &e, NULL, false);
	assert_string_equal(vf_tree_get(t, "usr")->origin, "b");
	assert_int_equal(vf_tree_count(t), 4);
	vf_tree_free(t);
}

static void test_replace(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_entry e = ent(VF_TREE_FILE, "etc/motd", "a"), h;
	const struct vf_tree_entry *g;

	add_ok(t, &e, "hello", false);
	e.origin = (char *)"b";
	e.mode = 0600;
	add_ok(t, &e, "bye", true);
	g = vf_tree_get(t, "etc/motd");
	assert_string_equal(g->origin, "b");
	assert_int_equal(g->mode, 0600);
	assert_int_equal(g->size, 3);

	/* a directory with entries cannot become something else */
	e = ent(VF_TREE_SYMLINK, "etc", "b");
	e.link = (char *)"/x";
	add_fails(t, &e, NULL, true, -ENOTEMPTY,
		  "path 'etc': cannot replace a directory with 1 entries (from package 'a') by a symlink");
	/* an empty one can */
	e = ent(VF_TREE_DIR, "opt", "a");
	add_ok(t, &e, NULL, false);
	e = ent(VF_TREE_SYMLINK, "opt", "b");
	e.link = (char *)"usr/opt";
	add_ok(t, &e, NULL, true);
	assert_int_equal(vf_tree_get(t, "opt")->type, VF_TREE_SYMLINK);
	/* and back */
	e = ent(VF_TREE_DIR, "opt", "c");
	add_ok(t, &e, NULL, true);
	assert_int_equal(vf_tree_get(t, "opt")->type, VF_TREE_DIR);
	assert_string_equal(vf_tree_get(t, "opt")->origin, "c");

	/* a file with hardlinks stays a file */
	h = ent(VF_TREE_HARDLINK, "etc/motd2", "b");
	h.link = (char *)"/etc/motd";
	add_ok(t, &h, NULL, false);
	e = ent(VF_TREE_FIFO, "etc/motd", "c");
	add_fails(t, &e, NULL, true, -EMLINK, "cannot replace a file with 1 hardlinks (from package 'b') by a fifo");
	/* but may get new content, which the hardlink shares */
	e = ent(VF_TREE_FILE, "etc/motd", "c");
	add_ok(t, &e, "new content", true);
	assert_int_equal(vf_tree_get(t, "etc/motd")->size, 11);
	vf_tree_free(t);
}

static void test_beneath_non_dirs(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_entry e = ent(VF_TREE_SYMLINK, "lib", "y");

	e.link = (char *)"/tmp";
	add_ok(t, &e, NULL, false);
	e = ent(VF_TREE_FILE, "lib/x", "x");
	add_fails(t, &e, "x", false, -ENOTDIR,
		  "path 'lib/x': 'lib' is a symlink (from package 'y'), not a directory");
	e.path = (char *)"lib/a/b/c";
	add_fails(t, &e, "x", false, -ENOTDIR, "'lib' is a symlink (from package 'y')");
	file_ok(t, "etc/passwd", "a", "root");
	e.path = (char *)"etc/passwd/y";
	add_fails(t, &e, "x", false, -ENOTDIR,
		  "path 'etc/passwd/y': 'etc/passwd' is a file (from package 'a'), not a directory");
	e = ent(VF_TREE_DIR, "etc/passwd/d/e", "x");
	add_fails(t, &e, NULL, true, -ENOTDIR, "'etc/passwd' is a file");
	assert_null(vf_tree_get(t, "etc/passwd/d"));
	vf_tree_free(t);
}

static void test_hardlinks(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_entry e = ent(VF_TREE_HARDLINK, "bin/b", "p");
	const struct vf_tree_entry *g;

	e.link = (char *)"bin/a";
	add_fails(t, &e, NULL, false, -ENOENT, "path 'bin/b': points to 'bin/a', which is not in the tree");
	e.link = (char *)"../a";
	add_fails(t, &e, NULL, false, -EINVAL, "path '../a': path escapes the root");
	file_ok(t, "bin/a", "p", "binary");
	e.link = (char *)"/bin/a";
	add_ok(t, &e, NULL, false);
	g = vf_tree_get(t, "bin/b");
	assert_int_equal(g->type, VF_TREE_HARDLINK);
	assert_string_equal(g->link, "bin/a");
	assert_int_equal(g->size, 0);
	/* a hardlink to a hardlink points at the file */
	e.path = (char *)"bin/c";
	e.link = (char *)"bin/b";
	add_ok(t, &e, NULL, false);
	assert_string_equal(vf_tree_get(t, "bin/c")->link, "bin/a");
	/* not to a directory, symlink or itself */
	e.link = (char *)"bin";
	e.path = (char *)"bin/d";
	add_fails(t, &e, NULL, false, -EINVAL, "points to 'bin', which is a directory, not a regular file");
	e.path = (char *)"bin/a";
	e.link = (char *)"bin/a";
	add_fails(t, &e, NULL, true, -EINVAL, "points to itself");
	/* the same hardlink again is fine; another target conflicts */
	file_ok(t, "bin/z", "p", "other");
	e.path = (char *)"bin/b";
	e.link = (char *)"bin/a";
	e.origin = (char *)"q";
	add_ok(t, &e, NULL, false);
	e.link = (char *)"bin/z";
	add_fails(t, &e, NULL, false, -EEXIST, "(hardlink target differs: 'bin/a' in 'p', 'bin/z' in 'q')");
	vf_tree_free(t);
}

/* ---- the store ---- */

static void read_content(const struct vf_tree *t, const char *path, const char *want)
{
	struct vf_err err = { 0 };
	char buf[256] = "";
	int fd = vf_tree_open_content(t, vf_tree_get(t, path), &err);
	ssize_t n;

	if (fd < 0)
		print_error("open_content '%s': %s\n", path, err.msg);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_int_equal(n, (ssize_t)strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
	close(fd);
}

static void test_store_dedupe(void **state)
{
	char *store = vf_test_path(*state, "store");
	struct vf_tree *t;
	struct vf_err err = { 0 };
	struct vf_tree_entry h = ent(VF_TREE_HARDLINK, "c", "p");
	uint8_t big[200000];
	char hex[65];

	assert_int_equal(mkdir(store, 0700), 0);
	t = new_tree(store, NULL);
	file_ok(t, "a", "p", "same bytes");
	file_ok(t, "d/b", "q", "same bytes");
	file_ok(t, "empty", "q", "");
	vf_hex_format(vf_tree_get(t, "a")->sha256, 32, hex);
	assert_string_equal(hex, "58100dc8fc06562ce3e578231dc948e083520ee49c4b4ee5a5a28bb4b4003feb");
	assert_memory_equal(vf_tree_get(t, "a")->sha256, vf_tree_get(t, "d/b")->sha256, 32);
	assert_int_equal(vf_tree_get(t, "a")->size, 10);
	/* one file per distinct content, named by its digest (and no temporary files) */
	vf_test_assert_listing(store, "58100dc8fc06562ce3e578231dc948e083520ee49c4b4ee5a5a28bb4b4003feb "
				      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	read_content(t, "a", "same bytes");
	read_content(t, "empty", "");
	h.link = (char *)"a";
	add_ok(t, &h, NULL, false);
	read_content(t, "c", "same bytes");
	assert_int_equal(vf_tree_open_content(t, vf_tree_get(t, "d"), &err), -EINVAL);
	vf_test_assert_contains(err.msg, "'d' is a directory, not a regular file");
	/* a large content is streamed to a file and renamed */
	vf_test_data(7, big, sizeof(big));
	{
		struct vf_tree_entry e = ent(VF_TREE_FILE, "big", "p");
		uint8_t sha[32];
		size_t n;
		char *path;
		uint8_t *got;

		assert_int_equal(vf_tree_add(t, &e, big, sizeof(big), false, &err), 0);
		memcpy(sha, vf_tree_get(t, "big")->sha256, 32);
		vf_hex_format(sha, 32, hex);
		path = vf_test_path(store, hex);
		got = vf_test_read_file(path, &n);
		assert_int_equal(n, sizeof(big));
		assert_memory_equal(got, big, sizeof(big));
		free(got);
		free(path);
	}
	vf_tree_free(t);
	free(store);
}

/* ---- limits ---- */

static void test_limit_entry_size(void **state)
{
	struct vf_tree_limits lim = { .max_entry_size = 10 };
	struct vf_tree *t = new_tree(*state, &lim);
	struct vf_tree_entry e = ent(VF_TREE_FILE, "big", "p");

	file_ok(t, "ten", "p", "0123456789");
	add_fails(t, &e, "0123456789a", false, -EFBIG,
		  "path 'big': content is larger than the limit of 10 bytes");
	/* only the ten-byte file's content is in the store */
	vf_test_assert_listing(*state, "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882");
	vf_tree_free(t);
}

static void test_limit_entries(void **state)
{
	struct vf_tree_limits lim = { .max_entries = 5 };
	struct vf_tree *t = new_tree(*state, &lim);
	struct vf_tree_entry e = ent(VF_TREE_FILE, "a/b/c/d", "p");

	file_ok(t, "x/y", "p", "1"); /* root, x, x/y */
	add_fails(t, &e, "1", false, -E2BIG, "path 'a/b/c/d': too many entries: the limit is 5");
	/* the parents the failed call created are gone again */
	assert_null(vf_tree_get(t, "a"));
	assert_listing(t, "/ x x/y");
	file_ok(t, "x/z", "p", "1");
	file_ok(t, "w", "p", "1");
	e.path = (char *)"v";
	add_fails(t, &e, "1", false, -E2BIG, "too many entries");
	vf_tree_free(t);
}

static void test_limit_total(void **state)
{
	struct vf_tree_limits lim = { .max_total_size = 10 };
	struct vf_tree *t = new_tree(*state, &lim);
	struct vf_tree_entry e = ent(VF_TREE_FILE, "b", "p");

	file_ok(t, "a", "p", "123456");
	add_fails(t, &e, "abcdef", false, -EFBIG,
		  "distinct contents exceed the limit of 10 bytes in total");
	file_ok(t, "c", "p", "123456"); /* the same content costs nothing */
	file_ok(t, "d", "p", "1234");
	vf_tree_free(t);
}

/* ---- mtimes and xattrs ---- */

static void test_mtimes(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_entry e = ent(VF_TREE_FILE, "old", "p");

	assert_int_equal(vf_tree_newest_mtime(t), 0);
	e.mtime = -100;
	add_ok(t, &e, "x", false);
	assert_int_equal(vf_tree_get(t, "old")->mtime, 0);
	e.path = (char *)"new";
	e.mtime = 2000000000;
	add_ok(t, &e, "y", false);
	e.path = (char *)"mid";
	e.mtime = 1500000000;
	add_ok(t, &e, "z", false);
	assert_int_equal(vf_tree_newest_mtime(t), 2000000000);
	vf_tree_clamp_mtimes(t, 1600000000);
	assert_int_equal(vf_tree_get(t, "new")->mtime, 1600000000);
	assert_int_equal(vf_tree_get(t, "mid")->mtime, 1500000000);
	assert_int_equal(vf_tree_get(t, "old")->mtime, 0);
	assert_int_equal(vf_tree_newest_mtime(t), 1600000000);
	vf_tree_free(t);
}

static void test_xattrs(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_xattr x[] = {
		{ (char *)"user.b", (uint8_t *)"2", 1 },
		{ (char *)"security.capability", (uint8_t *)"\x01\x00\x00\x02", 4 },
		{ (char *)"user.a", (uint8_t *)"", 0 },
	};
	struct vf_tree_xattr dup[] = {
		{ (char *)"user.a", (uint8_t *)"1", 1 },
		{ (char *)"user.a", (uint8_t *)"2", 1 },
	};
	struct vf_tree_entry e = ent(VF_TREE_FILE, "f", "p");
	const struct vf_tree_entry *g;
	struct vf_err err = { 0 };

	e.xattrs = x;
	e.n_xattrs = 3;
	add_ok(t, &e, "x", false);
	g = vf_tree_get(t, "f");
	assert_int_equal(g->n_xattrs, 3);
	assert_string_equal(g->xattrs[0].name, "security.capability");
	assert_string_equal(g->xattrs[1].name, "user.a");
	assert_string_equal(g->xattrs[2].name, "user.b");
	assert_memory_equal(g->xattrs[0].value, "\x01\x00\x00\x02", 4);
	/* the caller's array is untouched */
	assert_string_equal(x[0].name, "user.b");

	e.path = (char *)"g";
	e.xattrs = dup;
	e.n_xattrs = 2;
	add_fails(t, &e, "x", false, -EINVAL, "xattr 'user.a' appears twice with different values");
	dup[1].value = (uint8_t *)"1";
	add_ok(t, &e, "x", false);
	assert_int_equal(vf_tree_get(t, "g")->n_xattrs, 1);

	/* set: insert in order, replace in place */
	assert_int_equal(vf_tree_set_xattr(t, "/f", "security.selinux", "system_u:object_r:bin_t:s0", 27, &err), 0);
	assert_int_equal(vf_tree_set_xattr(t, "f", "user.b", "new", 3, &err), 0);
	assert_int_equal(vf_tree_set_xattr(t, "f", "a.first", "", 0, &err), 0);
	g = vf_tree_get(t, "f");
	assert_int_equal(g->n_xattrs, 5);
	assert_string_equal(g->xattrs[0].name, "a.first");
	assert_string_equal(g->xattrs[1].name, "security.capability");
	assert_string_equal(g->xattrs[2].name, "security.selinux");
	assert_string_equal(g->xattrs[3].name, "user.a");
	assert_string_equal(g->xattrs[4].name, "user.b");
	assert_int_equal(g->xattrs[4].len, 3);
	assert_memory_equal(g->xattrs[4].value, "new", 3);
	assert_int_equal(vf_tree_set_xattr(t, "", "security.selinux", "x", 2, &err), 0);
	assert_int_equal(vf_tree_get(t, "")->n_xattrs, 1);
	assert_int_equal(vf_tree_set_xattr(t, "nope", "user.x", "x", 1, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "path 'nope': not in the tree");
	assert_int_equal(vf_tree_set_xattr(t, "f", "", "x", 1, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "xattr with an empty name");
	vf_tree_free(t);
}

/* ---- removal ---- */

static void test_remove_glob(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_err err = { 0 };
	struct vf_tree_entry e;
	size_t n = 99;

	file_ok(t, "usr/share/doc/a/README", "p", "r");
	file_ok(t, "usr/share/doc/b", "p", "b");
	file_ok(t, "usr/share/doc-base/x", "p", "x");
	file_ok(t, "usr/share/doc0", "p", "0");
	file_ok(t, "usr/bin/tool", "p", "t");
	assert_int_equal(vf_tree_remove_glob(t, "/usr/share/doc/**", &n, &err), 0);
	assert_int_equal(n, 3);
	assert_listing(t, "/ usr usr/bin usr/bin/tool usr/share usr/share/doc usr/share/doc-base "
			  "usr/share/doc-base/x usr/share/doc0");
	/* a directory goes with its subtree; siblings sharing the prefix stay */
	assert_int_equal(vf_tree_remove_glob(t, "/usr/share", &n, &err), 0);
	assert_int_equal(n, 5);
	assert_listing(t, "/ usr usr/bin usr/bin/tool");
	assert_null(vf_tree_get(t, "usr/share/doc0"));
	/* relative globs match relative paths; nothing matching is fine */
	assert_int_equal(vf_tree_remove_glob(t, "usr/*/tool", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vf_tree_remove_glob(t, "/nothing/**", &n, &err), 0);
	assert_int_equal(n, 0);
	/* the now empty directory may become a file */
	e = ent(VF_TREE_FILE, "usr/bin", "q");
	add_ok(t, &e, "x", true);
	/* the root itself stays */
	assert_int_equal(vf_tree_remove_glob(t, "/**", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_listing(t, "/");
	file_ok(t, "again/x", "p", "x");
	assert_listing(t, "/ again again/x");
	assert_int_equal(vf_tree_remove_glob(t, "", &n, &err), -EINVAL);
	vf_tree_free(t);
}

static void test_remove_hardlinked_file(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_xattr x = { (char *)"user.k", (uint8_t *)"v", 1 };
	struct vf_tree_entry e = ent(VF_TREE_FILE, "bin/busybox", "p"), h;
	const struct vf_tree_entry *g;
	struct vf_err err = { 0 };
	size_t n;

	e.mode = 04755;
	e.xattrs = &x;
	e.n_xattrs = 1;
	add_ok(t, &e, "busybox!", false);
	h = ent(VF_TREE_HARDLINK, "bin/sh", "p");
	h.link = (char *)"bin/busybox";
	add_ok(t, &h, NULL, false);
	h.path = (char *)"bin/ls";
	add_ok(t, &h, NULL, false);
	assert_int_equal(vf_tree_remove_glob(t, "/bin/busybox", &n, &err), 0);
	assert_int_equal(n, 1);
	/* the first remaining name (bin/ls) becomes the file, the others point to it */
	g = vf_tree_get(t, "bin/ls");
	assert_int_equal(g->type, VF_TREE_FILE);
	assert_null(g->link);
	assert_int_equal(g->mode, 04755);
	assert_int_equal(g->size, 8);
	assert_int_equal(g->n_xattrs, 1);
	assert_string_equal(g->xattrs[0].name, "user.k");
	g = vf_tree_get(t, "bin/sh");
	assert_int_equal(g->type, VF_TREE_HARDLINK);
	assert_string_equal(g->link, "bin/ls");
	read_content(t, "bin/sh", "busybox!");
	/* removing the new file again promotes the last name */
	assert_int_equal(vf_tree_remove_glob(t, "/bin/l?", &n, &err), 0);
	assert_int_equal(vf_tree_get(t, "bin/sh")->type, VF_TREE_FILE);
	read_content(t, "bin/sh", "busybox!");
	/* file and links removed together: nothing to promote */
	h.path = (char *)"bin/sh2";
	h.link = (char *)"bin/sh";
	add_ok(t, &h, NULL, false);
	assert_int_equal(vf_tree_remove_glob(t, "/bin/**", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_listing(t, "/ bin");
	vf_tree_free(t);
}

static void test_bad_entries(void **state)
{
	struct vf_tree *t = new_tree(*state, NULL);
	struct vf_tree_entry e = ent(VF_TREE_FILE, "f", "p");

	e.mode = 0100644;
	add_fails(t, &e, "x", false, -EINVAL, "mode 0100644 has bits outside 07777");
	e = ent(VF_TREE_SYMLINK, "s", "p");
	e.link = (char *)"";
	add_fails(t, &e, NULL, false, -EINVAL, "symlink target is empty");
	e = ent((enum vf_tree_type)42, "x", "p");
	add_fails(t, &e, NULL, false, -EINVAL, "unknown entry type 42");
	e = ent(VF_TREE_FILE, "../f", "p");
	add_fails(t, &e, "x", false, -EINVAL, "path '../f': path escapes the root");
	vf_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		vf_test_in_tmpdir(test_bytewise_order),
		vf_test_in_tmpdir(test_many_sorted),
		vf_test_in_tmpdir(test_parents),
		vf_test_in_tmpdir(test_root),
		vf_test_in_tmpdir(test_conflict_kinds),
		vf_test_in_tmpdir(test_identical_duplicates),
		vf_test_in_tmpdir(test_replace),
		vf_test_in_tmpdir(test_beneath_non_dirs),
		vf_test_in_tmpdir(test_hardlinks),
		vf_test_in_tmpdir(test_store_dedupe),
		vf_test_in_tmpdir(test_limit_entry_size),
		vf_test_in_tmpdir(test_limit_entries),
		vf_test_in_tmpdir(test_limit_total),
		vf_test_in_tmpdir(test_mtimes),
		vf_test_in_tmpdir(test_xattrs),
		vf_test_in_tmpdir(test_remove_glob),
		vf_test_in_tmpdir(test_remove_hardlinked_file),
		vf_test_in_tmpdir(test_bad_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
