/*
 * vf_ext4_write with opts.in_place: the file system written straight into a
 * region of a bigger file (a partition of a disk image) at opts.offset. The
 * region must be byte for byte the image vf_ext4_write makes on its own for
 * the same tree and options, the bytes before and after it must be left
 * alone, and e2fsck -fn must accept the region once cut out. Also with a
 * journal and 1 KiB blocks at an offset that is only 1 KiB aligned, from a
 * tree whose store packs its contents (as a build's does), and the errors
 * the header promises: an unaligned offset, a region past the end of the
 * file, a missing file, a tree that does not fit (see the known bug below).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/tree/store.h"
#include "tests/unit/ext4/ext4_test.h"

#include <fcntl.h>

#define MIB (UINT64_C(1) << 20)
/* Seeds of the bytes around the region. */
#define SEED_BEFORE 71
#define SEED_AFTER 72

/* A file of `before` pattern bytes, a hole of `size` bytes, `after` pattern bytes. */
static char *make_disk(const char *dir, const char *name, uint64_t before, uint64_t size,
		       uint64_t after)
{
	char *path = vf_test_path(dir, name);
	uint8_t *b = malloc(before > after ? before + 1 : after + 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_non_null(b);
	assert_true(fd >= 0);
	vf_test_data(SEED_BEFORE, b, before);
	assert_int_equal(pwrite(fd, b, before, 0), (ssize_t)before);
	vf_test_data(SEED_AFTER, b, after);
	assert_int_equal(ftruncate(fd, (off_t)(before + size)), 0);
	assert_int_equal(pwrite(fd, b, after, (off_t)(before + size)), (ssize_t)after);
	assert_int_equal(close(fd), 0);
	free(b);
	return path;
}

/* `len` bytes of `path` from `off` (malloc'd); the file must have them. */
static uint8_t *read_at(const char *path, uint64_t off, uint64_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	assert_non_null(b);
	assert_true(fd >= 0);
	got = pread(fd, b, len, (off_t)off);
	if (got != (ssize_t)len)
		fail_msg("'%s': read %zd of %llu bytes at offset %llu", path, got,
			 (unsigned long long)len, (unsigned long long)off);
	close(fd);
	return b;
}

/* Fail naming the first differing byte. */
static void assert_bytes(const char *what, const uint8_t *got, const uint8_t *want, uint64_t len)
{
	if (!memcmp(got, want, len))
		return;
	for (uint64_t i = 0; i < len; i++)
		if (got[i] != want[i])
			fail_msg("%s: byte %llu of %llu is 0x%02x, expected 0x%02x", what,
				 (unsigned long long)i, (unsigned long long)len, got[i], want[i]);
}

/* The disk is still `before` + `size` + `after` bytes and both patterns are intact. */
static void assert_outside_intact(const char *disk, uint64_t before, uint64_t size, uint64_t after)
{
	uint8_t *want = malloc(before > after ? before + 1 : after + 1), *got;

	assert_non_null(want);
	assert_int_equal(t_file_size(disk), (long long)(before + size + after));
	got = read_at(disk, 0, before);
	vf_test_data(SEED_BEFORE, want, before);
	assert_bytes("the bytes before the region", got, want, before);
	free(got);
	got = read_at(disk, before + size, after);
	vf_test_data(SEED_AFTER, want, after);
	assert_bytes("the bytes after the region", got, want, after);
	free(got);
	free(want);
}

/* The region [off, off + size) of `disk` is byte for byte the image file `img`. */
static void assert_region_is(const char *disk, uint64_t off, const char *img, uint64_t size)
{
	uint8_t *got = read_at(disk, off, size), *want;
	size_t len;

	want = vf_test_read_file(img, &len);
	assert_int_equal(len, size);
	assert_bytes("the file system written in place, against the image written alone", got,
		     want, size);
	free(got);
	free(want);
}

/* e2fsck -fn of the region, cut out into "<dir>/<name>". Skipped without e2fsck. */
static void fsck_region(const char *dir, const char *name, const char *disk, uint64_t off,
			uint64_t size)
{
	char *cut = vf_test_path(dir, name);
	uint8_t *b;
	int st;
	char *out = t_run(&st, "command -v e2fsck");

	free(out);
	if (st) {
		print_message("e2fsck is not installed: region of '%s' not checked\n", disk);
		free(cut);
		return;
	}
	b = read_at(disk, off, size);
	vf_test_write_file(cut, b, size);
	free(b);
	t_fsck_clean(cut);
	free(cut);
}

static void write_in_place(const char *disk, const struct vf_tree *t, struct vf_ext4_opts o,
			   uint64_t offset)
{
	o.in_place = true;
	o.offset = offset;
	t_write(disk, t, &o);
}

/* The typical tree plus files over the pack's 1 MiB: some contents packed, some not. */
static void fill_tree(struct vf_tree *t)
{
	uint8_t *b = malloc(3 * MIB);

	assert_non_null(b);
	t_typical_tree(t);
	vf_test_data(5, b, 3 * MIB);
	t_file(t, "opt/big-1m+1", 0644, b, MIB + 1);
	t_file(t, "opt/big-3m", 0755, b + 7, 3 * MIB - 7);
	t_file(t, "opt/small", 0644, b + 11, 1000);
	free(b);
}

/* One case: standalone image, the same in place at `offset` between patterns, compared. */
static void check_case(const char *dir, const struct vf_tree *standalone_tree,
		       const struct vf_tree *inplace_tree, struct vf_ext4_opts o, uint64_t offset,
		       uint64_t after)
{
	char *img = vf_test_path(dir, "alone.img");
	char *disk = make_disk(dir, "disk.img", offset, o.size, after);
	struct vf_ext4_info alone, inplace;
	struct vf_err err = { 0 };

	t_write(img, standalone_tree, &o);
	write_in_place(disk, inplace_tree, o, offset);
	assert_outside_intact(disk, offset, o.size, after);
	assert_region_is(disk, offset, img, o.size);
	fsck_region(dir, "cut.img", disk, offset, o.size);
	/* read back in place, as `vforge inspect` does */
	assert_int_equal(vf_ext4_read_info(img, 0, &alone, &err), 0);
	assert_int_equal(vf_ext4_read_info(disk, offset, &inplace, &err), 0);
	assert_memory_equal(&alone, &inplace, sizeof(alone));
	assert_int_equal(inplace.blocks * inplace.block_size, o.size);
	free(img);
	free(disk);
}

/* The typical tree at 1 MiB inside a disk, with an odd tail after the region. */
static void test_typical_at_1mib(void **state)
{
	struct vf_tree *t = t_tree(*state);

	fill_tree(t);
	check_case(*state, t, t, t_opts(), MIB, MIB + 512);
	vf_tree_free(t);
}

/* A tree for 1 KiB blocks (no symlink longer than a block): every other kind of entry. */
static void small_block_tree(struct vf_tree *t)
{
	uint8_t *b = malloc(2 * MIB);

	assert_non_null(b);
	vf_test_data(8, b, 2 * MIB);
	memset(b + 100000, 0, 300000); /* holes inside a file */
	t_file(t, "etc/hostname", 0644, "vforge\n", 7);
	t_file(t, "usr/bin/tool", 04755, b, 5000);
	t_file(t, "usr/lib/blob", 0644, b, 2 * MIB);
	t_file(t, "usr/lib/empty", 0644, "", 0);
	t_add(t, VF_TREE_HARDLINK, "usr/bin/tool-alias", 04755, 0, 0, T_EPOCH - 1000,
	      "usr/bin/tool", NULL, 0);
	t_add(t, VF_TREE_SYMLINK, "usr/bin/fast", 0777, 0, 0, T_EPOCH - 1000, t_target(59), NULL,
	      0);
	t_add(t, VF_TREE_SYMLINK, "usr/bin/slow", 0777, 0, 0, T_EPOCH - 1000, t_target(1000),
	      NULL, 0);
	t_dev(t, VF_TREE_CHR, "dev/null", 1, 3);
	t_dev(t, VF_TREE_BLK, "dev/big", 300, 70000);
	t_xattr(t, "usr/bin/tool", "security.selinux", "system_u:object_r:bin_t:s0", 27);
	t_xattr(t, "usr/bin/tool", "security.capability", t_cap, sizeof(t_cap));
	free(b);
}

/* A journal (made lazily: it relies on the zeros of the region) and 1 KiB blocks. */
static void test_journal_1k_blocks(void **state)
{
	struct vf_tree *t = t_tree(*state);
	struct vf_ext4_opts o = t_opts();

	small_block_tree(t);
	o.journal = true;
	o.block_size = 1024;
	o.inode_size = 128;
	/* 1 KiB aligned, not 4 KiB: the superblock is block 1, at offset + 1024 */
	check_case(*state, t, t, o, MIB + 3 * 1024, 4096);
	vf_tree_free(t);
}

/*
 * What a build does: a tree whose store packs small contents, written in
 * place; the same bytes as a plain tree's image written alone.
 */
static void test_packed_tree_in_place(void **state)
{
	char *pdir = vf_test_path(*state, "p"), *qdir = vf_test_path(*state, "q");
	struct vf_tree *plain, *packed;
	struct vf_err err = { 0 };

	assert_int_equal(mkdir(pdir, 0700), 0);
	assert_int_equal(mkdir(qdir, 0700), 0);
	plain = t_tree(pdir);
	packed = t_tree(qdir);
	assert_int_equal(vf_tree_set_store_pack(packed, &err), 0);
	fill_tree(plain);
	fill_tree(packed);
	check_case(*state, plain, packed, t_opts(), 2 * MIB, MIB);
	vf_tree_free(plain);
	vf_tree_free(packed);
	free(pdir);
	free(qdir);
}

/* At offset 0 of a file of exactly the size: the image itself, the file not resized. */
static void test_offset_zero_exact(void **state)
{
	struct vf_tree *t = t_tree(*state);
	char *img = vf_test_path(*state, "alone.img");
	char *disk = make_disk(*state, "disk.img", 0, UINT64_C(16) << 20, 0);
	struct vf_ext4_opts o = t_opts();

	t_typical_tree(t);
	o.size = UINT64_C(16) << 20;
	t_write(img, t, &o);
	write_in_place(disk, t, o, 0);
	assert_int_equal(t_file_size(disk), (long long)o.size);
	assert_region_is(disk, 0, img, o.size);
	vf_tree_free(t);
	free(img);
	free(disk);
}

/* Without in_place the offset means nothing: a new image file, as with offset 0. */
static void test_offset_ignored_without_in_place(void **state)
{
	struct vf_tree *t = t_tree(*state);
	char *a = vf_test_path(*state, "a.img"), *b = vf_test_path(*state, "b.img");
	struct vf_ext4_opts o = t_opts();
	uint8_t *ba, *bb;
	size_t la, lb;

	t_typical_tree(t);
	t_write(a, t, &o);
	o.offset = MIB + 123;
	t_write(b, t, &o);
	ba = vf_test_read_file(a, &la);
	bb = vf_test_read_file(b, &lb);
	assert_int_equal(la, o.size);
	assert_int_equal(lb, o.size);
	assert_bytes("an image with opts.offset set but not in_place", bb, ba, la);
	free(ba);
	free(bb);
	vf_tree_free(t);
	free(a);
	free(b);
}

/* vf_ext4_write in place fails with `code` and both texts in the message. */
static void write_fails(const char *disk, const struct vf_tree *t, struct vf_ext4_opts o,
			uint64_t offset, int code, const char *want1, const char *want2)
{
	struct vf_err err = { 0 };

	int r;

	o.in_place = true;
	o.offset = offset;
	r = vf_ext4_write(disk, t, &o, &err);
	if (r != code)
		fail_msg("vf_ext4_write in place at offset %llu of '%s' returned %d, expected %d: %s",
			 (unsigned long long)offset, disk, r, code, err.msg);
	vf_test_assert_containsf(err.msg, "ext4 file system at offset %llu of '%s': ",
				 (unsigned long long)offset, disk);
	vf_test_assert_contains(err.msg, want1);
	if (want2)
		vf_test_assert_contains(err.msg, want2);
}

/* Option and file errors: nothing written, the file exactly as it was. */
static void test_errors_leave_file_alone(void **state)
{
	struct vf_tree *t = t_tree(*state);
	struct vf_ext4_opts o = t_opts();
	uint64_t size = o.size;
	char *disk = make_disk(*state, "disk.img", MIB, size, MIB);
	char *missing = vf_test_path(*state, "missing.img");
	char want[512];
	size_t len_before, len_after;
	uint8_t *before, *after;

	t_typical_tree(t);
	before = vf_test_read_file(disk, &len_before);

	/* not a multiple of the block size */
	write_fails(disk, t, o, MIB + 512, -EINVAL,
		    "offset 1049088 is not a multiple of the block size 4096", NULL);
	o.block_size = 1024;
	write_fails(disk, t, o, MIB + 512, -EINVAL,
		    "offset 1049088 is not a multiple of the block size 1024", NULL);
	o.block_size = 2048;
	write_fails(disk, t, o, MIB + 1024, -EINVAL,
		    "offset 1049600 is not a multiple of the block size 2048", NULL);
	o.block_size = 0;

	/* the region does not end inside the file: one block short, far past the end */
	snprintf(want, sizeof(want), "'%s' is %llu bytes, too small for %llu bytes at offset %llu",
		 disk, (unsigned long long)(size + 2 * MIB), (unsigned long long)size,
		 (unsigned long long)(2 * MIB + 4096));
	write_fails(disk, t, o, 2 * MIB + 4096, -EINVAL, want, NULL);
	snprintf(want, sizeof(want), "'%s' is %llu bytes, too small for %llu bytes at offset %llu",
		 disk, (unsigned long long)(size + 2 * MIB), (unsigned long long)size,
		 (unsigned long long)(256 * MIB));
	write_fails(disk, t, o, 256 * MIB, -EINVAL, want, NULL);
	/* an offset near 2^64: no wrap-around in the check */
	snprintf(want, sizeof(want), "'%s' is %llu bytes, too small for %llu bytes at offset %llu",
		 disk, (unsigned long long)(size + 2 * MIB), (unsigned long long)size,
		 (unsigned long long)(UINT64_MAX & ~UINT64_C(4095)));
	write_fails(disk, t, o, UINT64_MAX & ~UINT64_C(4095), -EINVAL, want, NULL);

	/* no such file: none is created */
	snprintf(want, sizeof(want), "cannot open '%s': %s", missing, strerror(ENOENT));
	write_fails(missing, t, o, MIB, -ENOENT, want, NULL);
	assert_int_equal(t_file_size(missing), -1);
	/* a directory */
	snprintf(want, sizeof(want), "cannot open '%s': %s", (const char *)*state, strerror(EISDIR));
	write_fails(*state, t, o, MIB, -EISDIR, want, NULL);

	after = vf_test_read_file(disk, &len_after);
	assert_int_equal(len_after, len_before);
	assert_bytes("the disk after failed in-place writes", after, before, len_before);
	/* and the region is still usable */
	write_in_place(disk, t, t_opts(), MIB);
	assert_outside_intact(disk, MIB, size, MIB);
	free(before);
	free(after);
	free(missing);
	free(disk);
	vf_tree_free(t);
}

/* The typical tree and 12 MiB of data: more than an 8 MiB file system holds. */
static struct vf_tree *too_big_tree(const char *dir)
{
	struct vf_tree *t = t_tree(dir);
	uint8_t *b = malloc(12 * MIB);

	assert_non_null(b);
	vf_test_data(6, b, 12 * MIB);
	t_typical_tree(t);
	t_file(t, "opt/huge", 0644, b, 12 * MIB);
	free(b);
	return t;
}

/*
 * A tree that does not fit, with and without a journal: the write fails, the
 * file stays (nothing is removed in place) and nothing outside the region is
 * touched; then the region takes a tree that fits.
 */
static void test_failure_leaves_outside_alone(void **state)
{
	struct vf_tree *t = too_big_tree(*state);
	struct vf_ext4_opts o = t_opts();
	struct vf_err err = { 0 };
	char *disk;

	o.size = 8 * MIB;
	disk = make_disk(*state, "disk.img", MIB, o.size, 3 * MIB);
	for (int journal = 0; journal < 2; journal++) {
		o.journal = journal;
		o.in_place = true;
		o.offset = MIB;
		memset(&err, 0, sizeof(err));
		assert_true(vf_ext4_write(disk, t, &o, &err) < 0);
		vf_test_assert_containsf(err.msg, "ext4 file system at offset %llu of '%s': ",
					 (unsigned long long)MIB, disk);
		assert_outside_intact(disk, MIB, o.size, 3 * MIB);
	}
	vf_tree_free(t);
	free(disk);
}

/*
 * A bug these tests found (fixed): in place at a
 * non-zero offset, a tree that does not fit must fail as it does alone
 * (ext4.h: -ENOSPC, "tree does not fit: needs N blocks and M inodes; ...
 * (the smallest size that fits is S MiB)"). It fails with -EINVAL "cannot set
 * the offset N: Invalid argument passed to ext2 library" before the fix: the sizing
 * in does_not_fit() runs vf_ext4_mkfs() on the in-memory io_manager with the
 * offset of the params, and that io_manager has no "offset" option. The
 * same happens to vf_ext4_estimate() given in-place options.
 */
static void test_does_not_fit_in_place(void **state)
{
	struct vf_tree *t;
	struct vf_ext4_opts o = t_opts();
	struct vf_ext4_usage alone_u, inplace_u;
	struct vf_err alone = { 0 }, err = { 0 };
	char *img, *disk;
	const char *msg;

	t = too_big_tree(*state);
	img = vf_test_path(*state, "alone.img");
	o.size = 8 * MIB;
	disk = make_disk(*state, "disk.img", MIB, o.size, 3 * MIB);
	for (int journal = 0; journal < 2; journal++) {
		o.journal = journal;
		o.in_place = false;
		o.offset = 0;
		memset(&alone, 0, sizeof(alone));
		assert_int_equal(vf_ext4_write(img, t, &o, &alone), -ENOSPC);
		msg = strstr(alone.msg, "tree does not fit: ");
		assert_non_null(msg);
		o.in_place = true;
		o.offset = MIB;
		write_fails(disk, t, o, MIB, -ENOSPC, msg, NULL);
		assert_outside_intact(disk, MIB, o.size, 3 * MIB);
		/* the estimate does not depend on where the file system goes */
		o.in_place = false;
		assert_int_equal(vf_ext4_estimate(t, &o, &alone_u, &err), 0);
		o.in_place = true;
		if (vf_ext4_estimate(t, &o, &inplace_u, &err))
			fail_msg("vf_ext4_estimate with in_place at offset %llu: %s",
				 (unsigned long long)o.offset, err.msg);
		assert_memory_equal(&alone_u, &inplace_u, sizeof(alone_u));
	}
	free(img);
	free(disk);
	vf_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_typical_at_1mib),
		vf_test_in_tmpdir(test_journal_1k_blocks),
		vf_test_in_tmpdir(test_packed_tree_in_place),
		vf_test_in_tmpdir(test_offset_zero_exact),
		vf_test_in_tmpdir(test_offset_ignored_without_in_place),
		vf_test_in_tmpdir(test_errors_leave_file_alone),
		vf_test_in_tmpdir(test_failure_leaves_outside_alone),
		vf_test_in_tmpdir(test_does_not_fit_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
