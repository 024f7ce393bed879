/**
 * @file ext4_test.h
 * @brief Helpers shared by the ext4 unit tests (header-only: every test file
 * is its own binary, linked with tests/unit/testutil.c only).
 *
 * Trees are built with the tree API; images are checked with the independent
 * tools e2fsck, debugfs and dumpe2fs, run through popen with LC_ALL=C TZ=UTC.
 * Every helper fails the running cmocka test on error.
 */
#ifndef VF_TESTS_EXT4_TEST_H
#define VF_TESTS_EXT4_TEST_H

#include "builder/ext4/ext4.h"
#include "builder/tree/tree.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_UNUSED __attribute__((unused))

/** The timestamp every test image gets (2023-11-14 22:13:20 UTC). */
#define T_EPOCH INT64_C(1700000000)

/** A new tree whose store is "<dir>/store". */
T_UNUSED static struct vf_tree *t_tree(const char *dir)
{
	char *store = vf_test_path(dir, "store");
	struct vf_tree *t;

	assert_int_equal(mkdir(store, 0700), 0);
	t = vf_tree_new(NULL, store);
	assert_non_null(t);
	free(store);
	return t;
}

/** Add one entry; `link` is the symlink or hardlink target. */
T_UNUSED static void t_add(struct vf_tree *t, enum vf_tree_type type, const char *path,
			   uint32_t mode, uint32_t uid, uint32_t gid, int64_t mtime,
			   const char *link, const void *data, size_t len)
{
	struct vf_tree_entry e;
	struct vf_err err = { 0 };
	int r;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.type = type;
	e.mode = mode;
	e.uid = uid;
	e.gid = gid;
	e.mtime = mtime;
	e.link = (char *)link;
	e.origin = (char *)"test";
	r = vf_tree_add(t, &e, data, len, false, &err);
	if (r)
		print_error("vf_tree_add '%s': %s\n", path, err.msg);
	assert_int_equal(r, 0);
}

T_UNUSED static void t_file(struct vf_tree *t, const char *path, uint32_t mode, const void *data,
			    size_t len)
{
	t_add(t, VF_TREE_FILE, path, mode, 0, 0, T_EPOCH - 1000, NULL, data, len);
}

T_UNUSED static void t_dev(struct vf_tree *t, enum vf_tree_type type, const char *path,
			   uint32_t major, uint32_t minor)
{
	struct vf_tree_entry e;
	struct vf_err err = { 0 };
	int r;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.type = type;
	e.mode = 0660;
	e.gid = 6;
	e.mtime = T_EPOCH - 2000;
	e.rdev_major = major;
	e.rdev_minor = minor;
	e.origin = (char *)"test";
	r = vf_tree_add(t, &e, NULL, 0, false, &err);
	if (r)
		print_error("vf_tree_add '%s': %s\n", path, err.msg);
	assert_int_equal(r, 0);
}

T_UNUSED static void t_xattr(struct vf_tree *t, const char *path, const char *name,
			     const void *value, size_t len)
{
	struct vf_err err = { 0 };
	int r = vf_tree_set_xattr(t, path, name, value, len, &err);

	if (r)
		print_error("vf_tree_set_xattr '%s' %s: %s\n", path, name, err.msg);
	assert_int_equal(r, 0);
}

/** Options every test starts from: 64 MiB, fixed UUID, seed, time and label. */
T_UNUSED static struct vf_ext4_opts t_opts(void)
{
	struct vf_ext4_opts o;

	memset(&o, 0, sizeof(o));
	o.size = UINT64_C(64) << 20;
	o.timestamp = T_EPOCH;
	o.label = "vforge-test";
	for (int i = 0; i < 16; i++) {
		o.uuid[i] = (uint8_t)(0x10 + i);
		o.hash_seed[i] = (uint8_t)(0xa0 + i);
	}
	return o;
}

/** vf_ext4_write that must succeed. */
T_UNUSED static void t_write(const char *img, const struct vf_tree *t,
			     const struct vf_ext4_opts *o)
{
	struct vf_err err = { 0 };
	int r = vf_ext4_write(img, t, o, &err);

	if (r)
		print_error("vf_ext4_write: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/** Run a shell command; returns its output (stdout and stderr), *status its exit code. */
T_UNUSED static char *t_run(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
T_UNUSED static char *t_run(int *status, const char *fmt, ...)
{
	char cmd[8192], chunk[4096];
	size_t len = 0, cap = 4096, n;
	char *out = malloc(cap);
	va_list ap;
	FILE *f;
	int st;

	assert_non_null(out);
	va_start(ap, fmt);
	memcpy(cmd, "{ ", 2);
	n = (size_t)vsnprintf(cmd + 2, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	assert_true(n < sizeof(cmd) - 32);
	strcat(cmd, "; } 2>&1");
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		while (len + n + 1 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + len, chunk, n);
		len += n;
	}
	out[len] = '\0';
	st = pclose(f);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	return out;
}

/** debugfs -R request on an image (output without the version banner). */
T_UNUSED static char *t_debugfs(const char *img, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
T_UNUSED static char *t_debugfs(const char *img, const char *fmt, ...)
{
	char req[4096];
	va_list ap;
	int st;
	char *out;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	out = t_run(&st, "LC_ALL=C TZ=UTC debugfs -R '%s' '%s' 2>/dev/null", req, img);
	assert_int_equal(st, 0);
	return out;
}

/** e2fsck -fn must exit 0 and report nothing but its passes and summary. */
T_UNUSED static void t_fsck_clean(const char *img)
{
	int st;
	char *out = t_run(&st, "LC_ALL=C e2fsck -fn '%s'", img);
	char *line, *save = NULL;

	if (st)
		print_error("e2fsck -fn %s exited %d:\n%s\n", img, st, out);
	assert_int_equal(st, 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "Pass ", 5) || !strncmp(line, "e2fsck ", 7) ||
		    strstr(line, " files (") || !*line)
			continue;
		print_error("e2fsck -fn %s reported: %s\n", img, line);
		fail();
	}
	free(out);
}

/** A number after `key` in `text` (base 0: "0x" for hex), failing when absent. */
T_UNUSED static unsigned long long t_field(const char *text, const char *key, int base)
{
	const char *p = strstr(text, key);

	if (!p)
		print_error("no '%s' in:\n%s\n", key, text);
	assert_non_null(p);
	return strtoull(p + strlen(key), NULL, base);
}

/** The stat of one path (debugfs "stat"). */
T_UNUSED static char *t_stat(const char *img, const char *path)
{
	char *out = t_debugfs(img, "stat \"%s\"", path);

	if (!strstr(out, "Inode:"))
		print_error("debugfs stat %s:\n%s\n", path, out);
	assert_non_null(strstr(out, "Inode:"));
	return out;
}

/** Size of a file, or -1 when it does not exist. */
T_UNUSED static long long t_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_size;
}

/* ---- the typical tree: one of everything ---- */

/** A symlink target of `len` bytes ("t/0123..."), static storage. */
T_UNUSED static const char *t_target(size_t len)
{
	static char buf[4][4096];
	static int which;
	char *b = buf[which++ % 4];

	assert_true(len < sizeof(buf[0]));
	for (size_t i = 0; i < len; i++)
		b[i] = i == 1 ? '/' : (char)('0' + i % 10);
	b[len] = '\0';
	return b;
}

/** Content kinds of the typical tree's files. */
enum t_content { T_TEXT, T_RANDOM, T_ZERO, T_ENDS };

/** One entry of the typical tree. */
struct t_entry {
	const char *path;
	enum vf_tree_type type;
	uint32_t mode, uid, gid;
	int64_t mtime;
	const char *link;          /* symlink/hardlink target */
	enum t_content content;
	size_t size;
	uint32_t major, minor;
};

/* Paths are in sorted order, so inode numbers follow the table (hardlinks excepted). */
T_UNUSED static const struct t_entry t_typical[] = {
	{ "dev", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 10, NULL, T_TEXT, 0, 0, 0 },
	{ "dev/big", VF_TREE_CHR, 0600, 0, 0, T_EPOCH - 11, NULL, T_TEXT, 0, 300, 70000 },
	{ "dev/fifo", VF_TREE_FIFO, 0620, 0, 5, T_EPOCH - 12, NULL, T_TEXT, 0, 0, 0 },
	{ "dev/null", VF_TREE_CHR, 0666, 0, 0, T_EPOCH - 13, NULL, T_TEXT, 0, 1, 3 },
	{ "dev/sda", VF_TREE_BLK, 0660, 0, 6, T_EPOCH - 14, NULL, T_TEXT, 0, 8, 0 },
	{ "etc", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 20, NULL, T_TEXT, 0, 0, 0 },
	{ "etc/hostname", VF_TREE_FILE, 0644, 0, 0, T_EPOCH - 21, NULL, T_TEXT, 7, 0, 0 },
	{ "etc/shadow", VF_TREE_FILE, 0640, 0, 42, T_EPOCH - 22, NULL, T_TEXT, 15, 0, 0 },
	{ "home", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 30, NULL, T_TEXT, 0, 0, 0 },
	{ "home/user", VF_TREE_DIR, 0700, 100000, 100001, T_EPOCH - 31, NULL, T_TEXT, 0, 0, 0 },
	{ "home/user/big.bin", VF_TREE_FILE, 0600, 100000, 100001, T_EPOCH - 32, NULL, T_RANDOM,
	  300001, 0, 0 },
	{ "lib", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 40, NULL, T_TEXT, 0, 0, 0 },
	{ "lib/fast59", VF_TREE_SYMLINK, 0777, 0, 0, T_EPOCH - 41, NULL, T_TEXT, 59, 0, 0 },
	{ "lib/slow4095", VF_TREE_SYMLINK, 0777, 0, 0, T_EPOCH - 42, NULL, T_TEXT, 4095, 0, 0 },
	{ "lib/slow60", VF_TREE_SYMLINK, 0777, 7, 8, T_EPOCH - 43, NULL, T_TEXT, 60, 0, 0 },
	{ "run", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 50, NULL, T_TEXT, 0, 0, 0 },
	{ "run/sock", VF_TREE_SOCK, 0666, 0, 0, T_EPOCH - 51, NULL, T_TEXT, 0, 0, 0 },
	{ "tmp", VF_TREE_DIR, 01777, 0, 0, T_EPOCH - 60, NULL, T_TEXT, 0, 0, 0 },
	{ "usr", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 70, NULL, T_TEXT, 0, 0, 0 },
	{ "usr/bin", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 71, NULL, T_TEXT, 0, 0, 0 },
	{ "usr/bin/passwd", VF_TREE_HARDLINK, 04755, 0, 0, T_EPOCH - 72, "usr/bin/su", T_TEXT, 0,
	  0, 0 },
	{ "usr/bin/su", VF_TREE_FILE, 04755, 0, 0, T_EPOCH - 73, NULL, T_RANDOM, 5000, 0, 0 },
	{ "usr/bin/wall", VF_TREE_FILE, 02755, 0, 5, T_EPOCH - 74, NULL, T_RANDOM, 4096, 0, 0 },
	{ "var", VF_TREE_DIR, 0755, 0, 0, T_EPOCH - 80, NULL, T_TEXT, 0, 0, 0 },
	{ "var/empty", VF_TREE_FILE, 0644, 0, 0, 0, NULL, T_TEXT, 0, 0, 0 },
	{ "var/ends", VF_TREE_FILE, 0644, 0, 0, T_EPOCH - 81, NULL, T_ENDS, 1 << 20, 0, 0 },
	{ "var/zero", VF_TREE_FILE, 0644, 0, 0, T_EPOCH - 82, NULL, T_ZERO, 1 << 20, 0, 0 },
};

#define T_TYPICAL_N (sizeof(t_typical) / sizeof(t_typical[0]))

/** The content of a typical-tree file (malloc'd, `e->size` bytes). */
T_UNUSED static uint8_t *t_content(const struct t_entry *e)
{
	uint8_t *b = calloc(1, e->size ? e->size : 1);

	assert_non_null(b);
	switch (e->content) {
	case T_TEXT:
		for (size_t i = 0; i < e->size; i++)
			b[i] = (uint8_t)"vforge\nroot:*:1::::::\n"[i % 22];
		break;
	case T_RANDOM:
		vf_test_data(e->size, b, e->size);
		break;
	case T_ZERO:
		break;
	case T_ENDS:
		b[0] = 1;
		b[e->size - 1] = 2;
		break;
	}
	return b;
}

/** An ACL in the kernel's xattr format: user::rwx, user:1000:r-x, group::r-x, mask::r-x, other::r--. */
T_UNUSED static const uint8_t t_acl[] = {
	2, 0, 0, 0,                                    /* version 2 */
	1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,            /* ACL_USER_OBJ rwx */
	2, 0, 5, 0, 0xe8, 0x03, 0, 0,                  /* ACL_USER 1000 r-x */
	4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,            /* ACL_GROUP_OBJ r-x */
	0x10, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,         /* ACL_MASK r-x */
	0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,         /* ACL_OTHER r-- */
};

/** A v2 file capability: cap_net_raw (bit 13) permitted and effective. */
T_UNUSED static const uint8_t t_cap[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0,
				   0, 0, 0, 0, 0, 0 };

/** Fill `t` with the typical tree, xattrs included; the root gets mode 0751 and uid 1. */
T_UNUSED static void t_typical_tree(struct vf_tree *t)
{
	/* hardlinks last: their targets must be in the tree */
	for (size_t k = 0; k < 2 * T_TYPICAL_N; k++) {
		const struct t_entry *e = &t_typical[k % T_TYPICAL_N];
		const char *link = e->type == VF_TREE_SYMLINK ? t_target(e->size) : e->link;
		uint8_t *data;

		if ((e->type == VF_TREE_HARDLINK) != (k >= T_TYPICAL_N))
			continue;
		data = e->type == VF_TREE_FILE ? t_content(e) : NULL;
		if (e->type == VF_TREE_CHR || e->type == VF_TREE_BLK) {
			struct vf_tree_entry x;
			struct vf_err err = { 0 };

			memset(&x, 0, sizeof(x));
			x.path = (char *)e->path;
			x.type = e->type;
			x.mode = e->mode;
			x.uid = e->uid;
			x.gid = e->gid;
			x.mtime = e->mtime;
			x.rdev_major = e->major;
			x.rdev_minor = e->minor;
			x.origin = (char *)"test";
			assert_int_equal(vf_tree_add(t, &x, NULL, 0, false, &err), 0);
		} else {
			t_add(t, e->type, e->path, e->mode, e->uid, e->gid, e->mtime, link, data,
			      e->type == VF_TREE_FILE ? e->size : 0);
		}
		free(data);
	}
	{
		struct vf_tree_entry root;
		struct vf_err err = { 0 };

		memset(&root, 0, sizeof(root));
		root.path = (char *)"";
		root.type = VF_TREE_DIR;
		root.mode = 0751;
		root.uid = 1;
		root.gid = 2;
		root.mtime = T_EPOCH - 5;
		root.origin = (char *)"test";
		assert_int_equal(vf_tree_add(t, &root, NULL, 0, true, &err), 0);
	}
	t_xattr(t, "usr/bin/su", "security.selinux", "system_u:object_r:su_exec_t:s0", 31);
	t_xattr(t, "usr/bin/su", "security.capability", t_cap, sizeof(t_cap));
	t_xattr(t, "usr/bin/su", "user.note", "set-uid", 7);
	t_xattr(t, "usr/bin/su", "trusted.md5", "0123456789abcdef", 16);
	t_xattr(t, "etc/shadow", "system.posix_acl_access", t_acl, sizeof(t_acl));
	t_xattr(t, "etc", "security.selinux", "system_u:object_r:etc_t:s0", 27);
	t_xattr(t, "", "security.selinux", "system_u:object_r:root_t:s0", 28);
	t_xattr(t, "dev/null", "security.selinux", "system_u:object_r:null_device_t:s0", 35);
}

#endif
