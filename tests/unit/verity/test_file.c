/* vf_verity_format_file / vf_verity_verify_file / vf_verity_sb_load on files in a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/verity/verity.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Write `len` pseudo-random bytes to a new file: the low byte of each
 * splitmix64 output, so not the vf-testdata stream of vf_test_make_file().
 */
static void make_file(const char *path, uint64_t seed, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)vf_test_splitmix64(&seed);
	vf_test_write_file(path, buf, len);
	free(buf);
}

/* The file holds exactly the `len` bytes at `want`. */
static void assert_file_is(const char *path, const uint8_t *want, size_t len)
{
	size_t got_len;
	uint8_t *got = vf_test_read_file(path, &got_len);

	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

static void default_params(struct vf_verity_params *p)
{
	vf_verity_params_init(p);
	for (int i = 0; i < 32; i++)
		p->salt[i] = (uint8_t)(0x30 + i);
	p->salt_size = 32;
}

static void format_ok(const char *data, const char *hash, struct vf_verity_params *p,
		      struct vf_verity_result *res)
{
	struct vf_err err = { 0 };
	int r = vf_verity_format_file(data, hash, p, NULL, res, &err);

	if (r)
		print_error("format failed: %s\n", err.msg);
	assert_int_equal(r, 0);
}

static void verify_ok(const char *data, const char *hash, struct vf_verity_params *p,
		      const struct vf_verity_result *res)
{
	struct vf_verity_failure fail;
	struct vf_err err = { 0 };
	struct vf_verity_opts opts = { .threads = 2 };
	int r = vf_verity_verify_file(data, hash, p, &opts, res->root, res->root_size, &fail, &err);

	if (r)
		print_error("verify failed: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_NONE);
}

/* ---- format, load, verify ----------------------------------------------------- */

static void test_format_and_verify(void **state)
{
	char *data = vf_test_path(*state, "data.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p, q;
	struct vf_verity_result res;
	struct vf_verity_failure fail;
	struct vf_err err = { 0 };
	int r;

	make_file(data, 1, 40 * 4096);
	default_params(&p);
	format_ok(data, hash, &p, &res);
	assert_int_equal(p.data_blocks, 40); /* set from the file size */
	assert_int_equal(res.root_size, 32);
	vf_test_assert_listing(*state, "data.img hash.img");

	assert_int_equal(vf_verity_sb_load(hash, 0, &q, &err), 0);
	assert_true(q.superblock);
	assert_int_equal(q.hash_offset, 0);
	assert_int_equal(q.data_blocks, 40);
	assert_int_equal(q.salt_size, 32);
	assert_memory_equal(q.salt, p.salt, 32);
	verify_ok(data, hash, &q, &res);

	/* a changed data block: the message names the data file and the block */
	vf_test_flip_file(data, 17 * 4096 + 99, 0x01);
	r = vf_verity_verify_file(data, hash, &q, NULL, res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_DATA_BLOCK);
	assert_int_equal(fail.block, 17);
	vf_test_assert_containsf(err.msg, "data file '%s': data block 17 (byte 69632)", data);
	vf_test_flip_file(data, 17 * 4096 + 99, 0x01);

	/* a changed hash block: the message names the hash file */
	vf_test_flip_file(hash, 4096 + 5, 0x01);
	r = vf_verity_verify_file(data, hash, &q, NULL, res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_ROOT);
	vf_test_assert_containsf(err.msg, "hash file '%s': root hash mismatch", hash);
	free(data);
	free(hash);
}

static void test_matches_tree_build(void **state)
{
	char *data = vf_test_path(*state, "data.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p;
	struct vf_verity_result res, direct;
	struct vf_err err = { 0 };
	uint8_t *tree = NULL, *file;
	size_t len;
	int fd;

	make_file(data, 2, 300 * 4096);
	default_params(&p);
	format_ok(data, hash, &p, &res);

	fd = open(data, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vf_verity_tree_build(fd, &p, NULL, &tree, &direct, &err), 0);
	close(fd);
	assert_memory_equal(res.root, direct.root, 32);
	file = vf_test_read_file(hash, &len);
	assert_int_equal(len, direct.geometry.hash_end);
	assert_memory_equal(file + 4096, tree, (size_t)(direct.geometry.hash_blocks * 4096));
	free(file);
	free(tree);
	free(data);
	free(hash);
}

/* ---- errors ---------------------------------------------------------------------- */

static void test_not_a_multiple(void **state)
{
	char *data = vf_test_path(*state, "odd.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	int r;

	make_file(data, 3, 3 * 4096 + 100);
	default_params(&p);
	r = vf_verity_format_file(data, hash, &p, NULL, &res, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_containsf(err.msg, "data file '%s' is 12388 bytes, not a multiple of the data "
				 "block size 4096", data);
	vf_test_assert_listing(*state, "odd.img");

	/* an explicit block count that fits is fine */
	p.data_blocks = 3;
	format_ok(data, hash, &p, &res);
	verify_ok(data, hash, &p, &res);

	/* and verify without a count refuses the same file */
	{
		struct vf_verity_failure fail;

		p.data_blocks = 0;
		r = vf_verity_verify_file(data, hash, &p, NULL, res.root, 32, &fail, &err);
		assert_int_equal(r, -EINVAL);
		vf_test_assert_contains(err.msg, "not a multiple");
		vf_test_assert_contains(err.msg, data);
	}
	free(data);
	free(hash);
}

static void test_too_many_blocks(void **state)
{
	char *data = vf_test_path(*state, "data.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct vf_verity_failure fail;
	struct vf_err err = { 0 };
	int r;

	make_file(data, 4, 3 * 4096);
	default_params(&p);
	p.data_blocks = 5;
	r = vf_verity_format_file(data, hash, &p, NULL, &res, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_containsf(err.msg, "data file '%s' holds 12288 bytes, but 5 data blocks of 4096 "
				 "bytes need 20480", data);
	vf_test_assert_listing(*state, "data.img");

	memset(res.root, 0, sizeof(res.root));
	r = vf_verity_verify_file(data, hash, &p, NULL, res.root, 32, &fail, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "need 20480");

	/* a count whose byte size overflows */
	p.data_blocks = UINT64_MAX / 2;
	r = vf_verity_format_file(data, hash, &p, NULL, &res, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "need");
	free(data);
	free(hash);
}

static void test_missing_and_empty_data(void **state)
{
	char *data = vf_test_path(*state, "nope.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct vf_verity_failure fail;
	struct vf_err err = { 0 };
	uint8_t root[32] = { 0 };
	int r;

	default_params(&p);
	r = vf_verity_format_file(data, hash, &p, NULL, &res, &err);
	assert_int_equal(r, -ENOENT);
	vf_test_assert_containsf(err.msg, "cannot open data file '%s': %s", data, strerror(ENOENT));
	vf_test_assert_listing(*state, "");

	r = vf_verity_verify_file(data, hash, &p, NULL, root, 32, &fail, &err);
	assert_int_equal(r, -ENOENT);
	vf_test_assert_contains(err.msg, "cannot open data file");

	make_file(data, 5, 0);
	r = vf_verity_format_file(data, hash, &p, NULL, &res, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "is empty");

	/* a directory is not a data file */
	r = vf_verity_format_file(*state, hash, &p, NULL, &res, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "not a regular file or block device");

	/* a missing hash file on verify */
	make_file(data, 5, 4096 * 2);
	p.data_blocks = 0;
	r = vf_verity_verify_file(data, hash, &p, NULL, root, 32, &fail, &err);
	assert_int_equal(r, -ENOENT);
	vf_test_assert_contains(err.msg, "cannot open hash file");
	vf_test_assert_contains(err.msg, hash);
	free(data);
	free(hash);
}

static void test_same_file_overlap(void **state)
{
	char *data = vf_test_path(*state, "disk.img"), *link = vf_test_path(*state, "link.img");
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	uint8_t *before;
	size_t blen;
	int r;

	make_file(data, 6, 8 * 4096);
	before = vf_test_read_file(data, &blen);
	default_params(&p);
	p.hash_offset = 4096;
	r = vf_verity_format_file(data, data, &p, NULL, &res, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_containsf(err.msg, "hash area at byte 4096 of '%s' overlaps the data, which ends "
				 "at byte 32768", data);
	assert_file_is(data, before, blen);

	/* the same file under another name is detected too */
	assert_int_equal(symlink(data, link), 0);
	default_params(&p);
	p.hash_offset = 0;
	r = vf_verity_format_file(data, link, &p, NULL, &res, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "overlaps the data");
	assert_file_is(data, before, blen);
	free(before);
	free(data);
	free(link);
}

static void test_same_file_after_data(void **state)
{
	char *data = vf_test_path(*state, "disk.img");
	struct vf_verity_params p, q;
	struct vf_verity_result res;
	struct vf_verity_failure fail;
	struct vf_err err = { 0 };
	uint8_t *before, *after;
	size_t blen, alen;
	int r;

	make_file(data, 7, 200 * 4096);
	before = vf_test_read_file(data, &blen);
	default_params(&p);
	p.hash_offset = 200 * 4096;
	format_ok(data, data, &p, &res);
	assert_int_equal(p.data_blocks, 200);
	vf_test_assert_listing(*state, "disk.img");

	after = vf_test_read_file(data, &alen);
	assert_int_equal(alen, res.geometry.hash_end);
	assert_int_equal(alen, (200 + 1 + 3) * 4096); /* data, superblock block, top + 2 leaves */
	assert_memory_equal(after, before, blen); /* the data is unchanged */
	assert_memory_equal(after + blen, "verity\0\0", 8);
	free(after);

	assert_int_equal(vf_verity_sb_load(data, p.hash_offset, &q, &err), 0);
	assert_int_equal(q.hash_offset, 200 * 4096);
	assert_int_equal(q.data_blocks, 200);
	verify_ok(data, data, &q, &res);

	vf_test_flip_file(data, 150 * 4096, 0x01);
	r = vf_verity_verify_file(data, data, &q, NULL, res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_DATA_BLOCK);
	assert_int_equal(fail.block, 150);
	free(before);
	free(data);
}

/* A failure after the temporary file exists removes it again. */
static void test_failure_leaves_nothing(void **state)
{
	char *data = vf_test_path(*state, "data.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	struct rlimit old, lim;
	void (*old_handler)(int);
	uint8_t *before;
	size_t blen;
	int r;

	make_file(data, 8, 10 * 4096);
	default_params(&p);
	p.hash_offset = 1 << 20; /* past the file size limit set below */

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 65536;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = vf_verity_format_file(data, hash, &p, NULL, &res, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);

	assert_int_equal(r, -EFBIG);
	vf_test_assert_containsf(err.msg, "hash file '%s': cannot write the superblock at byte 1048576",
				 hash);
	vf_test_assert_listing(*state, "data.img");

	/* an existing hash file stays as it was */
	make_file(hash, 9, 5000);
	before = vf_test_read_file(hash, &blen);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	old_handler = signal(SIGXFSZ, SIG_IGN);
	r = vf_verity_format_file(data, hash, &p, NULL, &res, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	assert_int_equal(r, -EFBIG);
	vf_test_assert_listing(*state, "data.img hash.img");
	assert_file_is(hash, before, blen);
	free(before);
	free(data);
	free(hash);
}

static void test_mode_ignores_umask(void **state)
{
	static const mode_t masks[] = { 0, 077, 0777 };
	char *data = vf_test_path(*state, "data.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct stat st;

	make_file(data, 10, 4 * 4096);
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		mode_t old = umask(masks[i]);

		unlink(hash);
		default_params(&p);
		format_ok(data, hash, &p, &res);
		umask(old);
		assert_int_equal(stat(hash, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}

	/* an existing file keeps its mode */
	assert_int_equal(chmod(hash, 0644), 0);
	{
		mode_t old = umask(077);

		default_params(&p);
		format_ok(data, hash, &p, &res);
		umask(old);
	}
	assert_int_equal(stat(hash, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	vf_test_assert_listing(*state, "data.img hash.img");
	free(data);
	free(hash);
}

static void test_existing_prefix_kept(void **state)
{
	char *data = vf_test_path(*state, "data.img"), *hash = vf_test_path(*state, "hash.img");
	struct vf_verity_params p, q;
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	uint8_t *before, *after;
	size_t blen, alen;

	make_file(data, 11, 20 * 4096);
	make_file(hash, 12, 3 * 4096 + 123);
	before = vf_test_read_file(hash, &blen);
	default_params(&p);
	p.hash_offset = 8192;
	format_ok(data, hash, &p, &res);
	after = vf_test_read_file(hash, &alen);
	assert_int_equal(alen, res.geometry.hash_end);
	assert_int_equal(alen, 3 * 4096 + 4096); /* superblock at 8192, one tree block at 12288 */
	assert_memory_equal(after, before, 8192);
	assert_memory_equal(after + 8192, "verity\0\0", 8);
	/* as veritysetup does: the bytes between superblock and tree are kept */
	assert_memory_equal(after + 8192 + 512, before + 8192 + 512, 3 * 4096 - 8192 - 512);
	vf_test_assert_listing(*state, "data.img hash.img");

	assert_int_equal(vf_verity_sb_load(hash, 8192, &q, &err), 0);
	verify_ok(data, hash, &q, &res);

	/* without a superblock, too */
	default_params(&p);
	p.superblock = false;
	p.hash_offset = 4096;
	format_ok(data, hash, &p, &res);
	{
		uint8_t *prev = after;
		size_t plen = alen;

		after = vf_test_read_file(hash, &alen);
		/* the tree ends at 8192, the file keeps its 16384 bytes as veritysetup does */
		assert_int_equal(res.geometry.hash_end, 2 * 4096);
		assert_int_equal(alen, plen);
		assert_memory_equal(after, before, 4096);
		assert_memory_equal(after + 8192, prev + 8192, plen - 8192);
		free(prev);
	}
	verify_ok(data, hash, &p, &res);
	free(after);
	free(before);
	free(data);
	free(hash);
}

static void test_sb_load_errors(void **state)
{
	char *hash = vf_test_path(*state, "hash.img"), *missing = vf_test_path(*state, "missing.img");
	struct vf_verity_params q;
	struct vf_err err = { 0 };
	int r;

	make_file(hash, 13, 300);
	r = vf_verity_sb_load(hash, 0, &q, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_containsf(err.msg, "hash file '%s' has no verity superblock at byte 0: it ends "
				 "first", hash);

	make_file(hash, 13, 4096);
	r = vf_verity_sb_load(hash, 512, &q, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_containsf(err.msg, "hash file '%s' at byte 512: no verity superblock", hash);

	r = vf_verity_sb_load(missing, 0, &q, &err);
	assert_int_equal(r, -ENOENT);
	vf_test_assert_contains(err.msg, "cannot open hash file");
	vf_test_assert_contains(err.msg, missing);
	free(hash);
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_format_and_verify),
		vf_test_in_tmpdir(test_matches_tree_build),
		vf_test_in_tmpdir(test_not_a_multiple),
		vf_test_in_tmpdir(test_too_many_blocks),
		vf_test_in_tmpdir(test_missing_and_empty_data),
		vf_test_in_tmpdir(test_same_file_overlap),
		vf_test_in_tmpdir(test_same_file_after_data),
		vf_test_in_tmpdir(test_failure_leaves_nothing),
		vf_test_in_tmpdir(test_mode_ignores_umask),
		vf_test_in_tmpdir(test_existing_prefix_kept),
		vf_test_in_tmpdir(test_sb_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
