/*
 * vf_ext4_write checked by independent tools: e2fsck -fn must find nothing,
 * and debugfs must show exactly the tree (content, modes, owners, times,
 * symlinks, hardlinks, devices, xattrs, inode order, holes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/tree/store.h"
#include "builder/ext4/internal.h"
#include "tests/unit/ext4/ext4_test.h"

#include <fcntl.h>
#include <time.h>

/* Inode numbers of the typical tree: lost+found is 11, then path order; hardlinks share. */
static uint32_t typical_ino(size_t i)
{
	uint32_t ino = 12;

	for (size_t j = 0; j < i; j++)
		if (t_typical[j].type != VF_TREE_HARDLINK)
			ino++;
	if (t_typical[i].type == VF_TREE_HARDLINK)
		for (size_t j = 0; j < T_TYPICAL_N; j++)
			if (!strcmp(t_typical[j].path, t_typical[i].link))
				return typical_ino(j);
	return ino;
}

/* debugfs's name for a type ("Type: ..."). */
static const char *type_name(enum vf_tree_type type)
{
	switch (type) {
	case VF_TREE_DIR: return "Type: directory ";
	case VF_TREE_SYMLINK: return "Type: symlink ";
	case VF_TREE_CHR: return "Type: character special ";
	case VF_TREE_BLK: return "Type: block special ";
	case VF_TREE_FIFO: return "Type: FIFO ";
	case VF_TREE_SOCK: return "Type: socket ";
	default: return "Type: regular ";
	}
}

/* "<name>: 0x%08x:%08x" of a debugfs stat, as seconds and extra. */
static void stat_time(const char *st, const char *name, uint32_t *lo, uint32_t *extra)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "%s: 0x", name);
	p = strstr(st, key);
	if (!p)
		print_error("no %s in:\n%s\n", key, st);
	assert_non_null(p);
	assert_int_equal(sscanf(p + strlen(key), "%8x:%8x", lo, extra), 2);
}

static void check_times(const char *st, int64_t mtime)
{
	uint32_t lo, extra;

	stat_time(st, " ctime", &lo, &extra);
	assert_int_equal(lo, (uint32_t)T_EPOCH);
	assert_int_equal(extra, 0);
	stat_time(st, " atime", &lo, &extra);
	assert_int_equal(lo, (uint32_t)T_EPOCH);
	assert_int_equal(extra, 0);
	stat_time(st, "crtime", &lo, &extra);
	assert_int_equal(lo, (uint32_t)T_EPOCH);
	assert_int_equal(extra, 0);
	stat_time(st, " mtime", &lo, &extra);
	assert_int_equal(lo, (uint32_t)mtime);
	assert_int_equal(extra, 0);
	assert_non_null(strstr(st, "Generation: 0 "));
}

/* The value of one xattr, through debugfs ea_get -f. */
static uint8_t *ea_get(const char *dir, const char *img, const char *path, const char *name,
		       size_t *len)
{
	char *out_path = vf_test_path(dir, "ea.out");
	char *out;
	uint8_t *v;

	unlink(out_path);
	out = t_debugfs(img, "ea_get -f %s %s %s", out_path, path, name);
	free(out);
	v = vf_test_read_file(out_path, len);
	free(out_path);
	return v;
}

static void check_ea(const char *dir, const char *img, const char *path, const char *name,
		     const void *want, size_t want_len)
{
	size_t len;
	uint8_t *v = ea_get(dir, img, path, name, &len);

	if (len != want_len || memcmp(v, want, len))
		print_error("%s %s: %zu bytes, want %zu\n", path, name, len, want_len);
	assert_int_equal(len, want_len);
	assert_memory_equal(v, want, len);
	free(v);
}

/* A second tree on the store of the first (already made by t_tree). */
static struct vf_tree *t_tree_again(const char *dir)
{
	char *store = vf_test_path(dir, "store");
	struct vf_tree *t = vf_tree_new(NULL, store);

	assert_non_null(t);
	free(store);
	return t;
}

static void test_empty(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "empty.img");
	struct vf_ext4_opts o = t_opts();
	char *out, *st;

	t_write(img, NULL, &o);
	assert_int_equal(t_file_size(img), (long long)o.size);
	t_fsck_clean(img);
	out = t_debugfs(img, "ls -p /");
	assert_string_equal(out, "/2/040755/0/0/.//\n/2/040755/0/0/..//\n"
				 "/11/040700/0/0/lost+found//\n\n");
	free(out);
	st = t_stat(img, "lost+found");
	assert_int_equal(t_field(st, "Size: ", 10), 16384);
	assert_int_equal(t_field(st, "Links: ", 10), 2);
	check_times(st, T_EPOCH);
	free(st);
	st = t_stat(img, "/");
	assert_int_equal(t_field(st, "Links: ", 10), 3);
	free(st);
	/* the reserved inodes are marked used: 11 in use, nothing else */
	out = t_debugfs(img, "stats");
	assert_int_equal(t_field(out, "Inode count:", 10) - t_field(out, "Free inodes:", 10), 11);
	free(out);
	free(img);
}

static void test_typical_tree(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "typical.img");
	char *rd = vf_test_path(dir, "rdump");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	char *out, *st;
	int status;

	t_typical_tree(t);
	t_write(img, t, &o);
	t_fsck_clean(img);

	/* every entry: inode number in path order, type, mode, owner, times, links */
	for (size_t i = 0; i < T_TYPICAL_N; i++) {
		const struct t_entry *e = &t_typical[i];
		const struct t_entry *f = e;
		char mode[32];

		if (e->type == VF_TREE_HARDLINK)
			for (size_t j = 0; j < T_TYPICAL_N; j++)
				if (!strcmp(t_typical[j].path, e->link))
					f = &t_typical[j];
		st = t_stat(img, e->path);
		if (t_field(st, "Inode: ", 10) != typical_ino(i))
			print_error("%s: %s", e->path, st);
		assert_int_equal(t_field(st, "Inode: ", 10), typical_ino(i));
		vf_test_assert_contains(st, type_name(f->type));
		snprintf(mode, sizeof(mode), "Mode:  0%03o ", f->mode);
		vf_test_assert_contains(st, mode);
		assert_int_equal(t_field(st, "User: ", 10), f->uid);
		assert_int_equal(t_field(st, "Group: ", 10), f->gid);
		check_times(st, f->mtime);
		if (f->type == VF_TREE_FILE || f->type == VF_TREE_SYMLINK)
			assert_int_equal(t_field(st, "Size: ", 10), f->size);
		if (f->type == VF_TREE_FILE)
			assert_int_equal(t_field(st, "Links: ", 10),
					 !strcmp(f->path, "usr/bin/su") ? 2 : 1);
		free(st);
	}

	/* directory listings: entries in name order, with the right modes and owners */
	out = t_debugfs(img, "ls -p /");
	assert_string_equal(out, "/2/040751/1/2/.//\n/2/040751/1/2/..//\n"
				 "/12/040755/0/0/dev//\n/17/040755/0/0/etc//\n"
				 "/20/040755/0/0/home//\n/23/040755/0/0/lib//\n"
				 "/11/040700/0/0/lost+found//\n/27/040755/0/0/run//\n"
				 "/29/041777/0/0/tmp//\n/30/040755/0/0/usr//\n"
				 "/34/040755/0/0/var//\n\n");
	free(out);
	st = t_stat(img, "/");
	assert_int_equal(t_field(st, "Links: ", 10), 11); /* 2 + 9 subdirectories */
	check_times(st, T_EPOCH - 5);
	free(st);

	/* content, through debugfs rdump */
	assert_int_equal(mkdir(rd, 0700), 0);
	out = t_debugfs(img, "rdump / %s", rd);
	free(out);
	for (size_t i = 0; i < T_TYPICAL_N; i++) {
		const struct t_entry *e = &t_typical[i];
		char *p = vf_test_path(rd, e->path);

		if (e->type == VF_TREE_FILE) {
			size_t len;
			uint8_t *got = vf_test_read_file(p, &len), *want = t_content(e);

			assert_int_equal(len, e->size);
			assert_memory_equal(got, want, len);
			free(got);
			free(want);
		} else if (e->type == VF_TREE_SYMLINK) {
			char buf[4200];
			ssize_t n = readlink(p, buf, sizeof(buf));

			assert_int_equal(n, (ssize_t)e->size);
			assert_memory_equal(buf, t_target(e->size), e->size);
		}
		free(p);
	}
	out = t_run(&status, "cmp '%s/usr/bin/su' '%s/usr/bin/passwd'", rd, rd);
	assert_int_equal(status, 0);
	free(out);

	/* symlinks: up to 59 bytes inline, from 60 in a block */
	st = t_stat(img, "lib/fast59");
	vf_test_assert_containsf(st, "Fast link dest: \"%s\"", t_target(59));
	assert_int_equal(t_field(st, "Blockcount: ", 10), 0);
	free(st);
	st = t_stat(img, "lib/slow60");
	assert_null(strstr(st, "Fast link dest"));
	assert_int_equal(t_field(st, "Blockcount: ", 10), 8);
	free(st);

	/* devices: old encoding when major and minor fit a byte, new otherwise */
	st = t_stat(img, "dev/null");
	vf_test_assert_contains(st, "Type: character special");
	vf_test_assert_contains(st, "Device major/minor number: 01:03 (hex 01:03)");
	free(st);
	st = t_stat(img, "dev/sda");
	vf_test_assert_contains(st, "Type: block special");
	vf_test_assert_contains(st, "Device major/minor number: 08:00 (hex 08:00)");
	free(st);
	st = t_stat(img, "dev/big");
	vf_test_assert_contains(st, "(New-style) Device major/minor number: 300:70000");
	free(st);
	st = t_stat(img, "dev/fifo");
	vf_test_assert_contains(st, "Type: FIFO");
	free(st);
	st = t_stat(img, "run/sock");
	vf_test_assert_contains(st, "Type: socket");
	free(st);

	/* holes: all-zero blocks are not allocated */
	st = t_stat(img, "var/zero");
	assert_int_equal(t_field(st, "Blockcount: ", 10), 0);
	free(st);
	st = t_stat(img, "var/ends");
	assert_int_equal(t_field(st, "Blockcount: ", 10), 16);
	free(st);
	out = t_debugfs(img, "ex var/ends");
	vf_test_assert_contains(out, "     0 -     0");
	vf_test_assert_contains(out, "   255 -   255");
	free(out);

	/* xattrs, byte for byte (the ACL converted to disk format and back) */
	check_ea(dir, img, "usr/bin/su", "security.selinux", "system_u:object_r:su_exec_t:s0", 31);
	check_ea(dir, img, "usr/bin/su", "security.capability", t_cap, sizeof(t_cap));
	check_ea(dir, img, "usr/bin/su", "user.note", "set-uid", 7);
	check_ea(dir, img, "usr/bin/su", "trusted.md5", "0123456789abcdef", 16);
	check_ea(dir, img, "usr/bin/passwd", "user.note", "set-uid", 7);
	/* the ACL in ext4's disk format (fs/ext4/acl.h): version 1, short entries without ids */
	{
		static const uint8_t disk_acl[] = { 1, 0, 0, 0,     1, 0, 7, 0,
						    2, 0, 5, 0, 0xe8, 3, 0, 0,
						    4, 0, 5, 0,     0x10, 0, 5, 0,
						    0x20, 0, 4, 0 };

		check_ea(dir, img, "-r etc/shadow", "system.posix_acl_access", disk_acl,
			 sizeof(disk_acl));
	}
	check_ea(dir, img, "etc", "security.selinux", "system_u:object_r:etc_t:s0", 27);
	check_ea(dir, img, "/", "security.selinux", "system_u:object_r:root_t:s0", 28);
	check_ea(dir, img, "dev/null", "security.selinux", "system_u:object_r:null_device_t:s0",
		 35);
	out = t_debugfs(img, "ea_list etc/hostname");
	assert_null(strstr(out, "="));
	free(out);

	/* e2fsck -fy finds nothing to change: only the superblock's check time moves */
	out = t_run(&status, "cp '%s' '%s.fy' && e2fsck -fy '%s.fy' >/dev/null && "
			     "cmp -i 4096 '%s' '%s.fy'", img, img, img, img, img);
	if (status)
		print_error("%s\n", out);
	assert_int_equal(status, 0);
	free(out);

	vf_tree_free(t);
	free(rd);
	free(img);
}

static void test_big_directory(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "big.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	struct timespec a, b;
	char path[64], *out, *st;
	int status;

	for (int i = 0; i < 50000; i++) {
		snprintf(path, sizeof(path), "d/entry-%05d", i);
		t_add(t, VF_TREE_FIFO, path, 0644, 0, 0, T_EPOCH, NULL, NULL, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	t_write(img, t, &o);
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* linear in the entries: well under a second on any machine that runs the tests */
	assert_true((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < 5.0);
	t_fsck_clean(img);

	st = t_stat(img, "d");
	vf_test_assert_contains(st, "Flags: 0x81000"); /* extents, htree index */
	free(st);
	out = t_debugfs(img, "htree d");
	vf_test_assert_contains(out, "Indirect levels: 0");
	free(out);
	out = t_run(&status, "LC_ALL=C debugfs -R 'ls -p d' '%s' 2>/dev/null | grep -c /", img);
	assert_int_equal(atoi(out), 50002);
	free(out);
	/* lookups through the index find each entry, numbered in path order (d is 12) */
	for (int i = 0; i < 50000; i += 4999) {
		snprintf(path, sizeof(path), "d/entry-%05d", i);
		st = t_stat(img, path);
		assert_int_equal(t_field(st, "Inode: ", 10), 13 + i);
		free(st);
	}
	out = t_run(&status, "cp '%s' '%s.fy' && e2fsck -fy '%s.fy' >/dev/null && "
			     "cmp -i 4096 '%s' '%s.fy'", img, img, img, img, img);
	assert_int_equal(status, 0);
	free(out);
	vf_tree_free(t);
	free(img);
}

static void test_two_level_htree(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "htree2.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	char path[300], *out, *st;
	int status;

	/* 200-byte names: 19 per block, so 12,000 need more leaves than one index holds */
	for (int i = 0; i < 12000; i++) {
		snprintf(path, sizeof(path), "long/%0200d", i);
		t_add(t, VF_TREE_SOCK, path, 0644, 0, 0, T_EPOCH, NULL, NULL, 0);
	}
	t_write(img, t, &o);
	t_fsck_clean(img);
	out = t_debugfs(img, "htree long");
	vf_test_assert_contains(out, "Indirect levels: 1");
	free(out);
	snprintf(path, sizeof(path), "long/%0200d", 7777);
	st = t_stat(img, path);
	assert_int_equal(t_field(st, "Inode: ", 10), 13 + 7777);
	free(st);
	out = t_run(&status, "cp '%s' '%s.fy' && e2fsck -fy '%s.fy' >/dev/null && "
			     "cmp -i 4096 '%s' '%s.fy'", img, img, img, img, img);
	assert_int_equal(status, 0);
	free(out);
	vf_tree_free(t);
	free(img);
}

static void test_journal(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "journal.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	char *out, *st;
	int status;

	t_typical_tree(t);
	o.journal = true;
	o.size = UINT64_C(256) << 20;
	t_write(img, t, &o);
	t_fsck_clean(img);
	out = t_run(&status, "LC_ALL=C TZ=UTC dumpe2fs -h '%s'", img);
	assert_int_equal(status, 0);
	vf_test_assert_contains(out, "Filesystem features:      has_journal ext_attr dir_index");
	/* ext2fs_default_journal_size: 4096 blocks below 1 GiB */
	vf_test_assert_contains(out, "Total journal blocks:     4096");
	vf_test_assert_contains(out, "Journal inode:            8");
	/* a writable file system gets one inode per 16 KiB */
	assert_int_equal(t_field(out, "Inode count:", 10), 16384);
	free(out);
	st = t_stat(img, "<8>");
	check_times(st, T_EPOCH);
	free(st);
	vf_tree_free(t);
	free(img);
}

/* Two images, block by block: `what` names the two ways they were written. */
static void same_images(const char *a, const char *b, const char *what)
{
	size_t la, lb;
	uint8_t *ia = vf_test_read_file(a, &la), *ib = vf_test_read_file(b, &lb);

	assert_int_equal(la, lb);
	for (size_t i = 0; i < la; i += 4096)
		if (memcmp(ia + i, ib + i, la - i < 4096 ? la - i : 4096))
			fail_msg("block %zu differs between %s", i / 4096, what);
	free(ia);
	free(ib);
}

/*
 * Count debugfs `ex` lines: extents in the inode (" 0/ 0"), index entries in
 * the inode (" 0/ 1") and extents in leaves (" 1/ 1").
 */
static void count_extents(const char *out, int *in_inode, int *index, int *in_leaf)
{
	*in_inode = *index = *in_leaf = 0;
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		*in_inode += !strncmp(l, " 0/ 0 ", 6);
		*index += !strncmp(l, " 0/ 1 ", 6);
		*in_leaf += !strncmp(l, " 1/ 1 ", 6);
	}
}

/*
 * Files of 1 to 6 runs of data (holes between them, a partial last block,
 * a trailing hole), and three of four one-block runs: up to four extents
 * are put in the inode directly, more go through libext2fs's extent handle.
 * The image is byte for byte the one libext2fs's inserts make for all of
 * them, e2fsck is clean, and debugfs shows each file's bytes, its extents in
 * the inode when they fit (four for the one-block runs) and in a leaf when
 * they do not.
 */
static void test_inline_extents(void **state)
{
	const char *dir = *state;
	char *a = vf_test_path(dir, "inline.img"), *b = vf_test_path(dir, "handle.img");
	char *p = vf_test_path(dir, "dumped");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	const char *names[9] = { "x1", "x2", "x3", "x4", "x5", "x6", "a4", "b4", "c4" };
	uint8_t *data[9];
	size_t size[9];
	char *out;

	for (int f = 0; f < 9; f++) {
		/*
		 * xn: run k (of n) starts 16 blocks after the one before, after a
		 * hole of 2 blocks (but the first), and is n + k blocks long (the
		 * last of an odd n has 1000 bytes more); x3 ends with a hole of 3
		 * blocks. a4, b4, c4: four one-block runs a block apart.
		 */
		int n = f < 6 ? f + 1 : 4, step = f < 6 ? 16 : 2;
		size_t last = (size_t)(n - 1) * step * 4096 + (f < 6 && n > 1 ? 2 * 4096 : 0);
		size_t run_last = f < 6 ? (size_t)(2 * n - 1) * 4096 + (n % 2 ? 1000 : 0) : 4096;

		size[f] = last + run_last + (f == 2 ? 3 * 4096 : 0);
		data[f] = calloc(1, size[f]);
		assert_non_null(data[f]);
		for (int k = 0; k < n; k++)
			vf_test_data((uint64_t)(f * 10 + k),
				     data[f] + (size_t)k * step * 4096 + (f < 6 && k ? 2 * 4096 : 0),
				     f < 6 ? (size_t)(n + k) * 4096 + (k == n - 1 && n % 2 ? 1000 : 0) :
					     4096);
		t_file(t, names[f], 0644, data[f], size[f]);
	}
	t_write(a, t, &o);
	vf_ext4_set_inline_extents(false);
	t_write(b, t, &o);
	vf_ext4_set_inline_extents(true);
	t_fsck_clean(a);
	same_images(a, b, "inline extents and libext2fs's");
	for (int f = 0; f < 9; f++) {
		size_t len;
		uint8_t *got;
		int in_inode, index, in_leaf;

		out = t_debugfs(a, "ex %s", names[f]);
		count_extents(out, &in_inode, &index, &in_leaf);
		if (!((in_inode >= 1 && in_inode <= 4 && !index && !in_leaf) ||
		      (!in_inode && index == 1 && in_leaf > 4)))
			fail_msg("'%s': %d extents in the inode, %d index entries, %d in a leaf:\n%s",
				 names[f], in_inode, index, in_leaf, out);
		if (f >= 6)
			assert_int_equal(in_inode, 4);
		if (f == 5)
			assert_true(in_leaf >= 6);
		free(out);
		out = t_debugfs(a, "dump %s %s", names[f], p);
		free(out);
		got = vf_test_read_file(p, &len);
		assert_int_equal(len, size[f]);
		assert_memory_equal(got, data[f], len);
		free(got);
		free(data[f]);
	}
	vf_tree_free(t);
	free(a);
	free(b);
	free(p);
}

/* Write `t` with inline xattrs and through libext2fs; the images must be the same bytes. */
static void same_both_xattr_ways(const char *dir, struct vf_tree *t,
				 const struct vf_ext4_opts *o, const char *img)
{
	char *other = vf_test_path(dir, "xattr-handle.img");

	t_write(img, t, o);
	vf_ext4_set_inline_xattrs(false);
	t_write(other, t, o);
	vf_ext4_set_inline_xattrs(true);
	t_fsck_clean(img);
	same_images(img, other, "inline xattrs and libext2fs's");
	free(other);
}

/*
 * Xattrs written into the inode's body directly, when all of them fit there
 * (the rest through libext2fs): on every kind of inode, with values of 0 to
 * 9 bytes (every padding), as many as fit (user.a0 .. user.aN), one too many,
 * one that fills the room exactly and one 4 bytes over, a large one beside
 * small ones, an ACL. Each tree is written both ways and
 * the images compared byte for byte; debugfs reads the values back; and
 * with 128-byte inodes (no room in the body) both ways agree too.
 */
static void test_inline_xattrs(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "xattr.img");
	struct vf_ext4_opts o = t_opts();
	struct vf_tree *t = t_tree(dir);
	static const char *const selinux = "system_u:object_r:etc_t:s0";
	static uint8_t big[700];
	char name[32], val[16];
	uint8_t blocks[6 * 4096];

	memset(big, 0x5c, sizeof(big));
	memset(blocks, 0, sizeof(blocks));
	for (int k = 0; k < 6; k++)
		vf_test_data((uint64_t)k + 7, blocks + k * 4096, k % 2 ? 0 : 4096);
	t_add(t, VF_TREE_DIR, "d", 0755, 0, 0, T_EPOCH, NULL, NULL, 0);
	t_file(t, "d/file", 0644, "content\n", 8);
	t_file(t, "d/holes", 0644, blocks, sizeof(blocks));
	t_add(t, VF_TREE_SYMLINK, "d/fast", 0777, 0, 0, T_EPOCH, "file", NULL, 0);
	t_add(t, VF_TREE_SYMLINK, "d/slow", 0777, 0, 0, T_EPOCH,
	      "a-long-target-a-long-target-a-long-target-a-long-target-a-long-target", NULL, 0);
	t_dev(t, VF_TREE_CHR, "d/null", 1, 3);
	t_add(t, VF_TREE_FIFO, "d/fifo", 0600, 0, 0, T_EPOCH, NULL, NULL, 0);
	for (const char *const *p = (const char *const[]){ "", "d", "d/file", "d/holes", "d/fast",
							   "d/slow", "d/null", "d/fifo", NULL };
	     *p; p++)
		t_xattr(t, *p, "security.selinux", selinux, strlen(selinux) + 1);
	/* every padding of a value, and an empty one */
	for (int n = 0; n <= 9; n++) {
		snprintf(name, sizeof(name), "d/v%d", n);
		t_file(t, name, 0644, "v", 1);
		memset(val, 'a' + n, sizeof(val));
		t_xattr(t, name, "user.v", val, (size_t)n);
		t_xattr(t, name, "trusted.t", val, (size_t)(9 - n));
	}
	/* user.a0.. of 4-byte values: 20 + 4 bytes each, 88 bytes of room: three fit, not four */
	for (int n = 3; n <= 4; n++) {
		snprintf(name, sizeof(name), "d/many%d", n);
		t_file(t, name, 0644, "m", 1);
		for (int i = 0; i < n; i++) {
			char xn[24];

			snprintf(xn, sizeof(xn), "user.a%d", i);
			t_xattr(t, name, xn, "1234", 4);
		}
	}
	/* one xattr of 20 + 68 bytes fills the 88 bytes of room exactly; 20 + 72 does not fit */
	t_file(t, "d/edge88", 0644, "e", 1);
	t_xattr(t, "d/edge88", "user.x", big, 68);
	t_file(t, "d/edge92", 0644, "e", 1);
	t_xattr(t, "d/edge92", "user.x", big, 69);
	/* too big for the body: to a block, with small ones beside it */
	t_file(t, "d/big", 0644, "b", 1);
	t_xattr(t, "d/big", "user.big", big, sizeof(big));
	t_xattr(t, "d/big", "user.small", "s", 1);
	t_xattr(t, "d/big", "security.selinux", selinux, strlen(selinux) + 1);
	t_file(t, "d/acl", 0644, "a", 1);
	t_xattr(t, "d/acl", "system.posix_acl_access", t_acl, sizeof(t_acl));

	same_both_xattr_ways(dir, t, &o, img);
	check_ea(dir, img, "d/slow", "security.selinux", selinux, strlen(selinux) + 1);
	check_ea(dir, img, "d/null", "security.selinux", selinux, strlen(selinux) + 1);
	for (int n = 0; n <= 9; n++) {
		snprintf(name, sizeof(name), "d/v%d", n);
		memset(val, 'a' + n, sizeof(val));
		if (n)
			check_ea(dir, img, name, "user.v", val, (size_t)n);
		if (n != 9)
			check_ea(dir, img, name, "trusted.t", val, (size_t)(9 - n));
	}
	check_ea(dir, img, "d/many3", "user.a2", "1234", 4);
	check_ea(dir, img, "d/many4", "user.a3", "1234", 4);
	check_ea(dir, img, "d/big", "user.big", big, sizeof(big));
	check_ea(dir, img, "d/edge88", "user.x", big, 68);
	check_ea(dir, img, "d/edge92", "user.x", big, 69);

	o.inode_size = 128;
	same_both_xattr_ways(dir, t, &o, img);
	vf_tree_free(t);
	free(img);
}

/* A file of `blocks` blocks with every other block non-zero: blocks/2 extents. */
static void test_fragmented(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "frag.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	const size_t sizes[] = { 9 * 4096, 700 * 4096, 3001 * 4096 };
	const char *names[] = { "f5", "f350", "f1501" };
	uint8_t *data[3];
	char *out, *st, *p;

	for (int k = 0; k < 3; k++) {
		data[k] = calloc(1, sizes[k]);
		assert_non_null(data[k]);
		for (size_t b = 0; b < sizes[k] / 4096; b += 2)
			vf_test_data(b + 1, data[k] + b * 4096, 100);
		t_file(t, names[k], 0644, data[k], sizes[k]);
	}
	t_write(img, t, &o);
	t_fsck_clean(img);
	/* 5 extents need one leaf; 1501 need more leaves than the inode holds: depth 2 */
	out = t_debugfs(img, "ex f5");
	vf_test_assert_contains(out, " 0/ 1 ");
	free(out);
	out = t_debugfs(img, "ex f1501");
	vf_test_assert_contains(out, " 0/ 2 ");
	free(out);
	for (int k = 0; k < 3; k++) {
		size_t len;
		uint8_t *got;

		p = vf_test_path(dir, "dumped");
		out = t_debugfs(img, "dump %s %s", names[k], p);
		free(out);
		got = vf_test_read_file(p, &len);
		assert_int_equal(len, sizes[k]);
		assert_memory_equal(got, data[k], len);
		st = t_stat(img, names[k]);
		/* data blocks plus the extent tree's own blocks */
		assert_true(t_field(st, "Blockcount: ", 10) >= (sizes[k] / 4096 + 1) / 2 * 8);
		free(st);
		free(got);
		unlink(p);
		free(p);
		free(data[k]);
	}
	vf_tree_free(t);
	free(img);
}

/* The file `path` dumped under `rd` (debugfs rdump) holds exactly want[0, len). */
static void expect_dumped(const char *rd, const char *path, const uint8_t *want, size_t len)
{
	char *p = vf_test_path(rd, path);
	size_t got_len;
	uint8_t *got = vf_test_read_file(p, &got_len);

	if (got_len != len || memcmp(got, want, len))
		print_error("%s differs\n", path);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
	free(p);
}

/*
 * Data blocks are gathered while they follow each other and written in
 * pieces of at most 4 MiB: 1,500 small files (about 7 MiB, so several
 * pieces), some with an all-zero block in the middle (a hole that breaks the
 * run), slow symlinks and a file of 300 extents (an extent tree block of
 * libext2fs's own between them) must all read back exactly.
 */
static void test_gathered_writes(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "many.img");
	char *rd = vf_test_path(dir, "rdump");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	const size_t n = 1500, frag = 600 * 4096;
	uint8_t *buf = malloc(3 * 4096), *fr = calloc(1, frag);
	char path[64], *out;

	assert_non_null(buf);
	assert_non_null(fr);
	t_add(t, VF_TREE_DIR, "d", 0755, 0, 0, T_EPOCH, NULL, NULL, 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = 1 + (i * 7919) % (3 * 4096);

		vf_test_data(i + 1, buf, len);
		if (i % 5 == 0 && len > 2 * 4096)
			memset(buf + 4096, 0, 4096);
		snprintf(path, sizeof(path), "d/f%04zu", i);
		t_file(t, path, 0644, buf, len);
		if (i % 300 == 150) {
			char target[3000];

			memset(target, 'a' + (int)(i % 26), sizeof(target) - 1);
			target[sizeof(target) - 1] = 0;
			snprintf(path, sizeof(path), "d/f%04zu-link", i);
			t_add(t, VF_TREE_SYMLINK, path, 0777, 0, 0, T_EPOCH, target, NULL, 0);
		}
		if (i == 700) {
			for (size_t b = 0; b < frag / 4096; b += 2)
				vf_test_data(b + 7, fr + b * 4096, 100);
			t_file(t, "d/f0700-frag", 0644, fr, frag);
		}
	}
	t_write(img, t, &o);
	t_fsck_clean(img);
	assert_int_equal(mkdir(rd, 0700), 0);
	out = t_debugfs(img, "rdump /d %s", rd);
	free(out);
	for (size_t i = 0; i < n; i++) {
		size_t len = 1 + (i * 7919) % (3 * 4096);
		char *p;

		vf_test_data(i + 1, buf, len);
		if (i % 5 == 0 && len > 2 * 4096)
			memset(buf + 4096, 0, 4096);
		snprintf(path, sizeof(path), "d/f%04zu", i);
		expect_dumped(rd, path, buf, len);
		if (i % 300 == 150) {
			char target[3000];
			ssize_t k;

			snprintf(path, sizeof(path), "d/f%04zu-link", i);
			p = vf_test_path(rd, path);
			k = readlink(p, target, sizeof(target));
			assert_int_equal(k, 2999);
			assert_int_equal(target[0], 'a' + (int)(i % 26));
			assert_int_equal(target[2998], 'a' + (int)(i % 26));
			free(p);
		}
	}
	expect_dumped(rd, "d/f0700-frag", fr, frag);
	vf_tree_free(t);
	free(fr);
	free(buf);
	free(rd);
	free(img);
}

/* What on_data reported: the bytes at their offsets, each block once. */
struct reported {
	uint8_t *bytes;     /* the file system's size */
	uint8_t *seen;      /* a byte per block */
	uint64_t size, blocks, twice, calls;
};

static void on_data(void *ctx, uint64_t offset, const void *data, size_t len)
{
	struct reported *r = ctx;

	r->calls++;
	if (offset > r->size || len > r->size - offset || offset % 4096 || len % 4096) {
		r->twice = UINT64_MAX; /* out of range or unaligned: fails below */
		return;
	}
	memcpy(r->bytes + offset, data, len);
	for (uint64_t b = offset / 4096; b < (offset + len) / 4096; b++) {
		r->twice += r->seen[b];
		r->seen[b] = 1;
		r->blocks++;
	}
}

/*
 * on_data reports every non-zero data block of every file and slow symlink,
 * once, with the bytes the image holds there, and nothing else (not
 * directories or metadata); in place at an offset too.
 */
static void test_on_data(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "od.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	struct reported rep = { .size = o.size };
	uint8_t *buf = malloc(40 * 4096), *image;
	uint64_t want = 0;
	size_t len;
	char path[64];

	assert_non_null(buf);
	rep.bytes = calloc(1, (size_t)o.size);
	rep.seen = calloc(1, (size_t)(o.size / 4096));
	assert_non_null(rep.bytes);
	assert_non_null(rep.seen);
	t_add(t, VF_TREE_DIR, "d", 0755, 0, 0, T_EPOCH, NULL, NULL, 0);
	for (size_t i = 0; i < 300; i++) {
		size_t n = 1 + (i * 7919) % (40 * 4096);

		vf_test_data(i + 1, buf, n);
		if (i % 7 == 0 && n > 3 * 4096)
			memset(buf + 4096, 0, 2 * 4096); /* two zero blocks: holes */
		for (size_t b = 0; b < (n + 4095) / 4096; b++) {
			size_t k = n - b * 4096 < 4096 ? n - b * 4096 : 4096;
			bool zero = true;

			for (size_t j = 0; j < k && zero; j++)
				zero = buf[b * 4096 + j] == 0;
			want += !zero;
		}
		snprintf(path, sizeof(path), "d/f%03zu", i);
		t_file(t, path, 0644, buf, n);
	}
	t_add(t, VF_TREE_SYMLINK, "d/slow", 0777, 0, 0, T_EPOCH,
	      "a-long-target-a-long-target-a-long-target-a-long-target-a-long-target", NULL, 0);
	want++; /* its target's block */
	o.on_data = on_data;
	o.on_data_ctx = &rep;
	for (int in_place = 0; in_place < 2; in_place++) {
		uint64_t off = in_place ? 3 * 4096 : 0;

		memset(rep.bytes, 0, (size_t)o.size);
		memset(rep.seen, 0, (size_t)(o.size / 4096));
		rep.blocks = rep.twice = rep.calls = 0;
		if (in_place) {
			int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);

			assert_true(fd >= 0);
			assert_int_equal(ftruncate(fd, (off_t)(off + o.size)), 0);
			close(fd);
			o.in_place = true;
			o.offset = off;
		}
		t_write(img, t, &o);
		if (!in_place)
			t_fsck_clean(img);
		assert_int_equal(rep.twice, 0);
		assert_int_equal(rep.blocks, want);
		/* gathered: far fewer calls than files */
		assert_true(rep.calls > 0 && rep.calls < 100);
		image = vf_test_read_file(img, &len);
		assert_int_equal(len, off + o.size);
		for (uint64_t b = 0; b < o.size / 4096; b++)
			if (rep.seen[b] && memcmp(image + off + b * 4096, rep.bytes + b * 4096, 4096))
				fail_msg("block %llu: reported bytes differ from the image's",
					 (unsigned long long)b);
		free(image);
	}
	vf_tree_free(t);
	free(rep.bytes);
	free(rep.seen);
	free(buf);
	free(img);
}

/*
 * release_contents frees the pack behind the writer, by each piece's last
 * use: contents added in reverse path order, the same content under two
 * paths far apart, a hardlink, and contents of 1 MiB across pieces still
 * read back exactly, and afterwards the pack holds next to nothing. With
 * `report`, an on_data callback runs, and the pieces are released from its
 * thread; every block is still reported once, with the image's bytes.
 */
static void release_contents(const char *dir, bool report)
{
	char *img = vf_test_path(dir, "rel.img"), *rd = vf_test_path(dir, "rdump");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	struct vf_tree_content c = { .fd = -1 };
	struct vf_err err = { 0 };
	struct reported rep = { .size = o.size };
	const size_t n = 120;
	uint8_t *buf = malloc(1024 * 1024), *image;
	struct stat st;
	size_t len;
	char path[64];

	assert_non_null(buf);
	if (report) {
		rep.bytes = calloc(1, (size_t)o.size);
		rep.seen = calloc(1, (size_t)(o.size / 4096));
		assert_non_null(rep.bytes);
		assert_non_null(rep.seen);
		o.on_data = on_data;
		o.on_data_ctx = &rep;
	}
	assert_int_equal(vf_tree_set_store_pack(t, &err), 0);
	t_add(t, VF_TREE_DIR, "d", 0755, 0, 0, T_EPOCH, NULL, NULL, 0);
	for (size_t k = n; k-- > 0;) {
		size_t sz = k % 10 == 3 ? 1024 * 1024 : 1 + (k * 7919) % 200000;

		vf_test_data(k % 40 == 7 ? 7 : k + 100, buf, sz); /* k = 7, 47, 87: one content */
		snprintf(path, sizeof(path), "d/f%03zu", k);
		t_file(t, path, 0644, buf, sz);
	}
	t_add(t, VF_TREE_HARDLINK, "d/zz-link", 0644, 0, 0, T_EPOCH, "d/f005", NULL, 0);
	/* the pack's fd, to see its blocks */
	assert_int_equal(vf_tree_content_open(t, vf_tree_get(t, "d/f000"), &c, &err), 0);
	assert_false(c.owned);
	assert_int_equal(fstat(c.fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 > 20 * 1024 * 1024);

	o.release_contents = true;
	t_write(img, t, &o);
	t_fsck_clean(img);
	assert_int_equal(fstat(c.fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 <= 1024 * 1024);
	vf_tree_content_close(&c);
	if (report) {
		assert_int_equal(rep.twice, 0);
		assert_true(rep.blocks > 20 * 256);
		image = vf_test_read_file(img, &len);
		assert_int_equal(len, o.size);
		for (uint64_t b = 0; b < o.size / 4096; b++)
			if (rep.seen[b] && memcmp(image + b * 4096, rep.bytes + b * 4096, 4096))
				fail_msg("block %llu: reported bytes differ from the image's",
					 (unsigned long long)b);
		free(image);
	}

	assert_int_equal(mkdir(rd, 0700), 0);
	free(t_debugfs(img, "rdump /d %s", rd));
	for (size_t k = 0; k <= n; k++) {
		size_t sz = k == n ? 1 + (5 * 7919) % 200000 : k % 10 == 3 ? 1024 * 1024 : 1 + (k * 7919) % 200000;

		vf_test_data(k == n ? 105 : k % 40 == 7 ? 7 : k + 100, buf, sz);
		if (k == n)
			snprintf(path, sizeof(path), "d/zz-link");
		else
			snprintf(path, sizeof(path), "d/f%03zu", k);
		expect_dumped(rd, path, buf, sz);
	}
	vf_tree_free(t);
	free(rep.bytes);
	free(rep.seen);
	free(buf);
	free(rd);
	free(img);
}

static void test_release_contents(void **state)
{
	release_contents(*state, false);
}

static void test_release_contents_reported(void **state)
{
	release_contents(*state, true);
}

/*
 * 1 KiB blocks and 128-byte inodes; a file longer than one extent can map.
 * With 1 KiB blocks, groups 10-15 (8 MiB each) have no superblock backup and
 * no tables (flex_bg keeps them in group 0): an 82 MiB filler puts the next
 * file there, with 48 MiB of free blocks in a row.
 */
static void test_small_blocks(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "small.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	size_t big = (size_t)33 << 20, filler = (size_t)82 << 20;
	uint8_t *data = malloc(filler);
	struct vf_err err = { 0 };
	char *out, *st, *p;
	size_t len;
	uint8_t *got;

	assert_non_null(data);
	memset(data, 0xa5, filler);
	t_file(t, "a-filler", 0644, data, filler);
	memset(data, 0x5a, big);
	t_file(t, "big", 0644, data, big);
	t_file(t, "small", 0644, "x", 1);
	t_xattr(t, "small", "security.selinux", "system_u:object_r:etc_t:s0", 27);
	t_add(t, VF_TREE_SYMLINK, "link", 0777, 0, 0, T_EPOCH, t_target(1000), NULL, 0);
	o.block_size = 1024;
	o.inode_size = 128;
	o.size = UINT64_C(160) << 20;
	t_write(img, t, &o);
	t_fsck_clean(img);
	out = t_run(&(int){ 0 }, "LC_ALL=C TZ=UTC dumpe2fs -h '%s'", img);
	vf_test_assert_contains(out, "Block size:               1024");
	vf_test_assert_contains(out, "Inode size:\t          128");
	assert_null(strstr(out, "extra_isize"));
	free(out);
	/* 33 MiB of 1 KiB blocks: longer than the longest extent (32768 blocks) */
	out = t_debugfs(img, "ex big");
	vf_test_assert_contains(out, "     0 - 32767 ");
	vf_test_assert_contains(out, " 32768 - 33791 ");
	free(out);
	p = vf_test_path(dir, "dumped");
	free(t_debugfs(img, "dump big %s", p));
	got = vf_test_read_file(p, &len);
	assert_int_equal(len, big);
	assert_memory_equal(got, data, len);
	free(got);
	free(p);
	st = t_stat(img, "small");
	assert_true(t_field(st, "File ACL: ", 10) > 0); /* no room in a 128-byte inode */
	free(st);
	check_ea(dir, img, "small", "security.selinux", "system_u:object_r:etc_t:s0", 27);

	/* a symlink target must fit one block */
	t_add(t, VF_TREE_SYMLINK, "longlink", 0777, 0, 0, T_EPOCH, t_target(1024), NULL, 0);
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -ENAMETOOLONG);
	vf_test_assert_contains(err.msg, "'/longlink': symlink target of 1024 bytes does not fit "
					 "a 1024-byte block");
	assert_int_equal(t_file_size(img), -1);
	free(data);
	vf_tree_free(t);
	free(img);
}

static void test_times(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "times.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	struct vf_err err = { 0 };
	uint32_t lo, extra;
	char *st;

	/* timestamp 0 stays 0 (libext2fs reads 0 as "now") */
	o.timestamp = 0;
	t_add(t, VF_TREE_FILE, "y2038", 0644, 0, 0, INT64_C(1) << 31, NULL, "a", 1);
	t_add(t, VF_TREE_FILE, "y2446", 0644, 0, 0, (INT64_C(1) << 34) - (INT64_C(1) << 31) - 1,
	      NULL, "b", 1);
	t_write(img, t, &o);
	t_fsck_clean(img);
	st = t_stat(img, "y2038");
	stat_time(st, " ctime", &lo, &extra);
	assert_int_equal(lo, 0);
	assert_int_equal(extra, 0);
	stat_time(st, " mtime", &lo, &extra);
	assert_int_equal(lo, 0x80000000u); /* -2^31 plus one epoch of 2^32 */
	assert_int_equal(extra, 1);
	free(st);
	st = t_stat(img, "y2446");
	stat_time(st, " mtime", &lo, &extra);
	assert_int_equal(lo, 0x7fffffffu);
	assert_int_equal(extra, 3);
	free(st);
	st = t_run(&(int){ 0 }, "LC_ALL=C TZ=UTC dumpe2fs -h '%s'", img);
	/* dumpe2fs leaves out a creation time of 0 and shows a mount time of 0 as n/a */
	assert_null(strstr(st, "Filesystem created:"));
	vf_test_assert_contains(st, "Last mount time:          n/a");
	vf_test_assert_contains(st, "Last write time:          Thu Jan  1 00:00:00 1970");
	vf_test_assert_contains(st, "Last checked:             Thu Jan  1 00:00:00 1970");
	free(st);

	/* a timestamp after 2106 needs the superblock's high bytes */
	o.timestamp = (INT64_C(1) << 32) + 5;
	t_write(img, t, &o);
	t_fsck_clean(img);
	st = t_stat(img, "y2038");
	stat_time(st, " atime", &lo, &extra);
	assert_int_equal(lo, 5);
	assert_int_equal(extra, 1);
	free(st);

	/* out of range */
	o.timestamp = -1;
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "timestamp -1 is outside 0..15032385535");
	assert_int_equal(t_file_size(img), -1);
	o.timestamp = T_EPOCH;
	o.inode_size = 128;
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -ERANGE);
	vf_test_assert_contains(err.msg, "'/y2038': mtime 2147483648 cannot be stored");
	vf_tree_free(t);
	free(img);
}

static void test_lost_found_in_tree(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "lpf.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	struct vf_err err = { 0 };
	char *out, *st;

	t_add(t, VF_TREE_DIR, "lost+found", 0750, 3, 4, T_EPOCH - 9, NULL, NULL, 0);
	t_file(t, "lost+found/kept", 0644, "k", 1);
	t_file(t, "a", 0644, "a", 1);
	t_write(img, t, &o);
	t_fsck_clean(img);
	out = t_debugfs(img, "ls -p /");
	assert_string_equal(out, "/2/040755/0/0/.//\n/2/040755/0/0/..//\n/12/100644/0/0/a/1/\n"
				 "/11/040750/3/4/lost+found//\n\n");
	free(out);
	st = t_stat(img, "lost+found/kept");
	assert_int_equal(t_field(st, "Inode: ", 10), 13);
	free(st);
	st = t_stat(img, "lost+found");
	assert_int_equal(t_field(st, "Size: ", 10), 16384);
	free(st);
	vf_tree_free(t);

	/* lost+found that is not a directory cannot be written */
	t = t_tree_again(dir);
	t_file(t, "lost+found", 0644, "x", 1);
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "'/lost+found' must be a directory for ext4");
	assert_int_equal(t_file_size(img), -1);
	vf_tree_free(t);
	free(img);
}

static void test_entry_errors(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "xattr.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	struct vf_err err = { 0 };
	static uint8_t big[5000];

	t_file(t, "f", 0644, "x", 1);
	t_xattr(t, "f", "user.big", big, sizeof(big));
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -ENOSPC);
	vf_test_assert_contains(err.msg, "ext4 image '");
	vf_test_assert_contains(err.msg, "'/f': cannot set xattr 'user.big' (5000 bytes): "
					 "Insufficient space to store extended attribute data");
	assert_int_equal(t_file_size(img), -1);
	vf_tree_free(t);

	t = t_tree_again(dir);
	t_file(t, "g", 0644, "x", 1);
	t_xattr(t, "g", "os2.name", "v", 1);
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -EOPNOTSUPP);
	vf_test_assert_contains(err.msg, "'/g': xattr 'os2.name' is not in a namespace ext4 stores");
	vf_tree_free(t);

	/* device numbers beyond ext4's 12-bit major, 20-bit minor */
	t = t_tree_again(dir);
	t_dev(t, VF_TREE_CHR, "dev/huge", 4096, 1);
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -ERANGE);
	vf_test_assert_contains(err.msg, "'/dev/huge': device number 4096:1 does not fit ext4");
	assert_int_equal(t_file_size(img), -1);
	vf_tree_free(t);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_empty),
		vf_test_in_tmpdir(test_typical_tree),
		vf_test_in_tmpdir(test_big_directory),
		vf_test_in_tmpdir(test_two_level_htree),
		vf_test_in_tmpdir(test_journal),
		vf_test_in_tmpdir(test_inline_extents),
		vf_test_in_tmpdir(test_inline_xattrs),
		vf_test_in_tmpdir(test_fragmented),
		vf_test_in_tmpdir(test_gathered_writes),
		vf_test_in_tmpdir(test_on_data),
		vf_test_in_tmpdir(test_release_contents),
		vf_test_in_tmpdir(test_release_contents_reported),
		vf_test_in_tmpdir(test_small_blocks),
		vf_test_in_tmpdir(test_times),
		vf_test_in_tmpdir(test_lost_found_in_tree),
		vf_test_in_tmpdir(test_entry_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
