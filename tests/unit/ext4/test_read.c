/*
 * vf_ext4_read_info and vf_ext4_read_file on a file system embedded at an
 * offset inside a bigger file (a partition inside a disk image); the
 * superblock summary is compared with dumpe2fs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/ext4/ext4_test.h"

#include <fcntl.h>

#define OFFSET (UINT64_C(3) << 20)

/* "<dir>/disk": 3 MiB of noise, the image, 1 MiB of noise. */
static char *embed(const char *dir, const char *img)
{
	char *disk = vf_test_path(dir, "disk");
	size_t len;
	uint8_t *fs = vf_test_read_file(img, &len);
	uint8_t *buf = malloc(OFFSET + len + (1 << 20));

	assert_non_null(buf);
	vf_test_data(99, buf, OFFSET);
	memcpy(buf + OFFSET, fs, len);
	vf_test_data(100, buf + OFFSET + len, 1 << 20);
	vf_test_write_file(disk, buf, OFFSET + len + (1 << 20));
	free(buf);
	free(fs);
	return disk;
}

static char *write_image(const char *dir, struct vf_tree *t, bool journal)
{
	char *img = vf_test_path(dir, journal ? "j.img" : "fs.img");
	struct vf_ext4_opts o = t_opts();

	o.journal = journal;
	t_write(img, t, &o);
	return img;
}

static void check_info(const char *img, const char *disk, bool journal)
{
	struct vf_ext4_info info;
	struct vf_ext4_opts o = t_opts();
	struct vf_err err = { 0 };
	char *dump;
	int st;

	assert_int_equal(vf_ext4_read_info(disk, OFFSET, &info, &err), 0);
	dump = t_run(&st, "LC_ALL=C dumpe2fs -h '%s' 2>/dev/null", img);
	assert_int_equal(st, 0);
	assert_memory_equal(info.uuid, o.uuid, 16);
	assert_string_equal(info.label, "vforge-test");
	assert_int_equal(info.block_size, 4096);
	assert_int_equal(info.blocks, t_field(dump, "Block count:", 10));
	assert_int_equal(info.free_blocks, t_field(dump, "Free blocks:", 10));
	assert_int_equal(info.inodes, t_field(dump, "Inode count:", 10));
	assert_int_equal(info.free_inodes, t_field(dump, "Free inodes:", 10));
	assert_int_equal(info.mkfs_time, T_EPOCH);
	assert_int_equal(info.write_time, T_EPOCH);
	assert_int_equal(info.journal, journal);
	vf_test_assert_containsf(dump, "Filesystem features:      %s\n", info.features);
	assert_string_equal(info.features,
			    journal ? "has_journal ext_attr dir_index filetype extent 64bit flex_bg "
				      "sparse_super large_file huge_file dir_nlink extra_isize "
				      "metadata_csum" :
				      "ext_attr dir_index filetype extent 64bit flex_bg sparse_super "
				      "large_file huge_file dir_nlink extra_isize metadata_csum");
	free(dump);
}

static void test_info(void **state)
{
	const char *dir = *state;
	struct vf_tree *t = t_tree(dir);
	char *img, *disk;

	t_typical_tree(t);
	img = write_image(dir, t, false);
	disk = embed(dir, img);
	check_info(img, disk, false);
	/* the image itself at offset 0 */
	{
		struct vf_ext4_info info;
		struct vf_err err = { 0 };

		assert_int_equal(vf_ext4_read_info(img, 0, &info, &err), 0);
		assert_string_equal(info.label, "vforge-test");
	}
	free(disk);
	free(img);
	img = write_image(dir, t, true);
	disk = embed(dir, img);
	check_info(img, disk, true);
	free(disk);
	free(img);
	vf_tree_free(t);
}

static void read_ok(const char *disk, const char *path, const void *want, size_t want_len)
{
	struct vf_err err = { 0 };
	uint8_t *buf = NULL;
	size_t len = 12345;
	int r = vf_ext4_read_file(disk, OFFSET, path, 1 << 20, &buf, &len, &err);

	if (r)
		print_error("vf_ext4_read_file %s: %s\n", path, err.msg);
	assert_int_equal(r, 0);
	assert_non_null(buf);
	assert_int_equal(len, want_len);
	assert_memory_equal(buf, want, len);
	free(buf);
}

static void read_fails(const char *disk, uint64_t offset, const char *path, size_t max,
		       int code, const char *want)
{
	struct vf_err err = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(vf_ext4_read_file(disk, offset, path, max, &buf, &len, &err), code);
	vf_test_assert_contains(err.msg, want);
	assert_null(buf);
}

static void test_read_file(void **state)
{
	const char *dir = *state;
	struct vf_tree *t = t_tree(dir);
	char *img, *disk, msg[512];
	struct vf_ext4_info info;
	struct vf_err err = { 0 };
	const struct t_entry *su = NULL;
	uint8_t *want;

	t_typical_tree(t);
	t_file(t, "boot/cmdline", 0644, "root=PARTUUID=1 ro\n", 19);
	t_add(t, VF_TREE_SYMLINK, "cmdline", 0777, 0, 0, T_EPOCH, "boot/cmdline", NULL, 0);
	t_add(t, VF_TREE_SYMLINK, "abs", 0777, 0, 0, T_EPOCH, "/boot/cmdline", NULL, 0);
	img = write_image(dir, t, false);
	disk = embed(dir, img);

	read_ok(disk, "boot/cmdline", "root=PARTUUID=1 ro\n", 19);
	read_ok(disk, "/boot/cmdline", "root=PARTUUID=1 ro\n", 19);
	read_ok(disk, "cmdline", "root=PARTUUID=1 ro\n", 19);
	read_ok(disk, "abs", "root=PARTUUID=1 ro\n", 19); /* absolute: from the image's root */
	read_ok(disk, "var/empty", "", 0);
	for (size_t i = 0; i < T_TYPICAL_N; i++)
		if (!strcmp(t_typical[i].path, "usr/bin/su"))
			su = &t_typical[i];
	assert_non_null(su);
	want = t_content(su);
	read_ok(disk, "usr/bin/su", want, su->size);
	read_ok(disk, "usr/bin/passwd", want, su->size);
	free(want);

	read_fails(disk, OFFSET, "nope", 100, -ENOENT, "'nope': File not found by ext2_lookup");
	read_fails(disk, OFFSET, "etc", 100, -EINVAL, "'etc' is not a regular file");
	read_fails(disk, OFFSET, "usr/bin/su", 4999, -EFBIG,
		   "'usr/bin/su' is 5000 bytes; at most 4999 are read");
	snprintf(msg, sizeof(msg),
		 "cannot open an ext4 file system in '%s' at offset 1048576: Bad magic number in "
		 "super-block", disk);
	read_fails(disk, 1 << 20, "boot/cmdline", 100, -EINVAL, msg);
	assert_int_equal(vf_ext4_read_info(disk, 1 << 20, &info, &err), -EINVAL);
	assert_string_equal(err.msg, msg);
	read_fails("/nonexistent/disk", 0, "x", 100, -ENOENT, "No such file or directory");

	vf_tree_free(t);
	free(disk);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_info),
		vf_test_in_tmpdir(test_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
