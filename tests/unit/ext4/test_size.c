/*
 * Sizing: vf_ext4_estimate, the smallest size (--minimize), the "does not
 * fit" error and option checks. A failed write leaves no file at the path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/ext4/ext4_test.h"

#define MIB (UINT64_C(1) << 20)

static struct vf_ext4_usage estimate(const struct vf_tree *t, const struct vf_ext4_opts *o)
{
	struct vf_ext4_usage u;
	struct vf_err err = { 0 };
	int r = vf_ext4_estimate(t, o, &u, &err);

	if (r)
		print_error("vf_ext4_estimate: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(u.min_size % MIB, 0);
	return u;
}

/* Blocks in use according to the file system itself (debugfs stats). */
static uint64_t used_blocks(const char *img)
{
	char *out = t_debugfs(img, "stats");
	uint64_t used = t_field(out, "Block count:", 10) - t_field(out, "Free blocks:", 10);

	free(out);
	return used;
}

/* The typical tree's 4095-byte symlink target does not fit blocks under 4 KiB. */
static void remove_long_symlink(struct vf_tree *t)
{
	struct vf_err err = { 0 };
	size_t n = 0;

	assert_int_equal(vf_tree_remove_glob(t, "lib/slow4095", &n, &err), 0);
	assert_int_equal(n, 1);
}

/* The exact text, numbers included; and no image (not even an old one) afterwards. */
static void test_too_small(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "small.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	struct vf_err err = { 0 };
	struct vf_ext4_usage u;
	uint8_t *data = malloc(300 * 4096);
	char want[512];

	assert_non_null(data);
	vf_test_data(7, data, 300 * 4096);
	t_file(t, "data", 0644, data, 300 * 4096);
	t_file(t, "etc/hostname", 0644, "vforge\n", 7);
	o.inodes = 64;
	o.size = MIB;
	u = estimate(t, &o);
	/* 14 inodes; 300 data blocks, 3 directories (root, etc, lost+found's 4), the hostname,
	   the group's metadata (superblock, descriptors, 2 bitmaps, 4 inode table blocks) */
	assert_int_equal(u.inodes, 14);
	assert_true(u.blocks >= 300 + 1 + 1 + 4 + 1 + 8);
	assert_true(u.blocks <= 300 + 1 + 1 + 4 + 1 + 8 + 16);
	assert_int_equal(u.min_size, 2 * MIB);

	vf_test_write_file(img, "old image", 9);
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -ENOSPC);
	/* one group either way, so the need is the estimate's */
	snprintf(want, sizeof(want),
		 "ext4 image '%s': tree does not fit: needs %llu blocks and 14 inodes; the file "
		 "system has 256 blocks and 64 inodes (the smallest size that fits is 2 MiB)",
		 img, (unsigned long long)u.blocks);
	assert_string_equal(err.msg, want);
	assert_int_equal(t_file_size(img), -1);
	vf_test_assert_listing(dir, "store"); /* no temporary file left either */

	/* too few inodes (12 is rounded up to a whole inode table block: 16): no size
	   helps, so no size is suggested */
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "etc/f%d", i);
		t_file(t, name, 0644, "", 0);
	}
	o.inodes = 12;
	o.size = 4 * MIB;
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -ENOSPC);
	vf_test_assert_contains(err.msg, " blocks and 19 inodes; the file system has 1024 blocks "
					 "and 16 inodes");
	assert_null(strstr(err.msg, "smallest"));
	assert_int_equal(t_file_size(img), -1);

	/* a size below the format's minimum */
	o.inodes = 0;
	o.size = 64 * 1024;
	assert_int_equal(vf_ext4_write(img, t, &o, &err), -ENOSPC);
	vf_test_assert_contains(err.msg, "tree does not fit: 65536 bytes is too small for a file "
					 "system of 19 inodes (the smallest size that fits is 2 MiB)");
	assert_int_equal(t_file_size(img), -1);
	free(data);
	vf_tree_free(t);
	free(img);
}

/* Writing at min_size works; 1 MiB less fails cleanly. */
static void check_min_size(const char *dir, const struct vf_tree *t, struct vf_ext4_opts o)
{
	char *img = vf_test_path(dir, "min.img");
	struct vf_ext4_usage u = estimate(t, &o);
	struct vf_err err = { 0 };
	uint64_t used;

	o.size = u.min_size;
	t_write(img, t, &o);
	assert_int_equal(t_file_size(img), (long long)u.min_size);
	t_fsck_clean(img);
	/* an upper bound, and a close one */
	used = used_blocks(img);
	if (used > u.blocks || used + 64 < u.blocks)
		print_error("used %llu blocks, estimated %llu\n", (unsigned long long)used,
			    (unsigned long long)u.blocks);
	assert_true(used <= u.blocks);
	assert_true(used + 64 >= u.blocks);
	if (u.min_size > MIB) {
		o.size = u.min_size - MIB;
		assert_int_equal(vf_ext4_write(img, t, &o, &err), -ENOSPC);
		vf_test_assert_contains(err.msg, "tree does not fit: ");
		vf_test_assert_containsf(err.msg, "(the smallest size that fits is %llu MiB)",
					 (unsigned long long)(u.min_size / MIB));
		assert_int_equal(t_file_size(img), -1);
	}
	free(img);
}

static void test_min_size(void **state)
{
	const char *dir = *state;
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	char path[64], data[3000];

	t_typical_tree(t);
	check_min_size(dir, t, o);
	/* many files and directories, some needing an external xattr block */
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "many/d%02d/file-%04d", i % 50, i);
		vf_test_data((uint64_t)i, (uint8_t *)data, sizeof(data));
		t_file(t, path, 0644, data, (size_t)(i * 7 % 3000));
		if (i % 100 == 0)
			t_xattr(t, path, "user.big", data, 200);
	}
	check_min_size(dir, t, o);
	o.journal = true;
	check_min_size(dir, t, o);
	o.journal = false;
	o.block_size = 1024;
	remove_long_symlink(t);
	check_min_size(dir, t, o);
	vf_tree_free(t);
}

static void test_min_size_empty(void **state)
{
	const char *dir = *state;
	struct vf_ext4_opts o = t_opts();
	struct vf_ext4_usage u = estimate(NULL, &o);

	assert_int_equal(u.inodes, 11);
	assert_int_equal(u.min_size, MIB);
	check_min_size(dir, NULL, o);
	o.journal = true; /* libext2fs's smallest journal (1024 blocks) needs 2048 blocks */
	u = estimate(NULL, &o);
	assert_int_equal(u.min_size, 8 * MIB);
	check_min_size(dir, NULL, o);
}

/* Holes cost nothing: a 64 MiB file of zeros fits 1 MiB. */
static void test_holes_not_counted(void **state)
{
	const char *dir = *state;
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	size_t len = (size_t)64 << 20;
	uint8_t *zero = calloc(1, len);
	struct vf_ext4_usage u;

	assert_non_null(zero);
	zero[len / 2] = 1;
	t_file(t, "sparse", 0644, zero, len);
	u = estimate(t, &o);
	assert_int_equal(u.min_size, MIB);
	check_min_size(dir, t, o);
	free(zero);
	vf_tree_free(t);
}

static void bad_opts(const char *img, struct vf_ext4_opts o, int code, const char *want)
{
	struct vf_err err = { 0 };
	struct vf_ext4_usage u;

	assert_int_equal(vf_ext4_write(img, NULL, &o, &err), code);
	vf_test_assert_contains(err.msg, want);
	assert_int_equal(t_file_size(img), -1);
	if (!strstr(want, "size")) {
		assert_int_equal(vf_ext4_estimate(NULL, &o, &u, &err), code);
		vf_test_assert_contains(err.msg, want);
	}
}

static void test_bad_options(void **state)
{
	char *img = vf_test_path(*state, "bad.img");
	struct vf_ext4_opts o = t_opts();

	o.block_size = 512;
	bad_opts(img, o, -EINVAL, "block size 512 is not 1024, 2048 or 4096");
	o = t_opts();
	o.inode_size = 512;
	bad_opts(img, o, -EINVAL, "inode size 512 is not 128 or 256");
	o = t_opts();
	o.label = "seventeen-bytes!!";
	bad_opts(img, o, -EINVAL, "label 'seventeen-bytes!!' is 17 bytes long; at most 16 fit");
	o = t_opts();
	o.reserved_percent = 51;
	bad_opts(img, o, -EINVAL, "reserved blocks 51% is more than 50%");
	o = t_opts();
	o.size = 4096 * 100 + 1;
	bad_opts(img, o, -EINVAL, "size 409601 is not a positive multiple of the block size 4096");
	o.size = 0;
	bad_opts(img, o, -EINVAL, "size 0 is not a positive multiple of the block size 4096");
	free(img);
}

/* Options that change the layout, each checked by e2fsck and dumpe2fs. */
static void test_option_variants(void **state)
{
	const char *dir = *state;
	char *img = vf_test_path(dir, "v.img");
	struct vf_tree *t = t_tree(dir);
	struct vf_ext4_opts o = t_opts();
	char *out;

	t_typical_tree(t);
	remove_long_symlink(t);
	o.block_size = 2048;
	o.reserved_percent = 5;
	o.inodes = 1000;
	o.label = NULL;
	t_write(img, t, &o);
	t_fsck_clean(img);
	out = t_run(&(int){ 0 }, "LC_ALL=C dumpe2fs -h '%s'", img);
	vf_test_assert_contains(out, "Filesystem volume name:   <none>");
	vf_test_assert_contains(out, "Block size:               2048");
	vf_test_assert_contains(out, "Reserved block count:     1638\n"); /* 5% of 32768 */
	assert_true(t_field(out, "Inode count:", 10) >= 1000);
	assert_true(t_field(out, "Inode count:", 10) < 1100);
	free(out);
	vf_tree_free(t);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_too_small),
		vf_test_in_tmpdir(test_min_size),
		vf_test_in_tmpdir(test_min_size_empty),
		vf_test_in_tmpdir(test_holes_not_counted),
		vf_test_in_tmpdir(test_bad_options),
		vf_test_in_tmpdir(test_option_variants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
