/* vf_verity_geometry_build(): level sizes and offsets, checked against veritysetup. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/verity/verity.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* sha256, format 1, no superblock, hash_offset 0, the given sizes. */
static void params(struct vf_verity_params *p, const char *hash, uint32_t dbs, uint32_t hbs,
		   uint64_t blocks)
{
	vf_verity_params_init(p);
	snprintf(p->hash_name, sizeof(p->hash_name), "%s", hash);
	p->data_block_size = dbs;
	p->hash_block_size = hbs;
	p->data_blocks = blocks;
	p->superblock = false;
	p->hash_offset = 0;
}

static void build_ok(const struct vf_verity_params *p, struct vf_verity_geometry *g)
{
	struct vf_err err = { 0 };
	int r;

	memset(g, 0xa5, sizeof(*g));
	r = vf_verity_geometry_build(p, g, &err);
	if (r)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* The geometry must fail with -EINVAL (or `code`) and a message containing `want`. */
static void build_fails(const struct vf_verity_params *p, int code, const char *want)
{
	struct vf_verity_geometry g, before;
	struct vf_err err = { 0 };
	int r;

	memset(&g, 0x5a, sizeof(g));
	before = g;
	r = vf_verity_geometry_build(p, &g, &err);
	assert_int_equal(r, -code);
	assert_int_equal(err.code, -code);
	vf_test_assert_contains(err.msg, want);
	/* ret is written only on success */
	assert_memory_equal(&g, &before, sizeof(g));
}

static void test_one_block(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 1);
	build_ok(&p, &g);
	assert_int_equal(g.levels, 0);
	assert_int_equal(g.hash_blocks, 0);
	assert_int_equal(g.hash_end, 0);
	assert_int_equal(g.hash_start_block, 0);
	assert_int_equal(g.digest_size, 32);
	assert_int_equal(g.digest_stride, 32);
	assert_int_equal(g.hashes_per_block, 128);
}

static void test_two_blocks(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 2);
	build_ok(&p, &g);
	assert_int_equal(g.levels, 1);
	assert_int_equal(g.level_blocks[0], 1);
	assert_int_equal(g.level_start[0], 0);
	assert_int_equal(g.hash_blocks, 1);
	assert_int_equal(g.hash_end, 4096);
}

static void test_one_full_leaf_block(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 128);
	build_ok(&p, &g);
	assert_int_equal(g.levels, 1);
	assert_int_equal(g.level_blocks[0], 1);
	assert_int_equal(g.hash_blocks, 1);
	assert_int_equal(g.hash_end, 4096);
}

static void test_129_blocks_two_levels(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 129);
	build_ok(&p, &g);
	assert_int_equal(g.levels, 2);
	assert_int_equal(g.level_blocks[0], 2);
	assert_int_equal(g.level_blocks[1], 1);
	/* top level first */
	assert_int_equal(g.level_start[1], 0);
	assert_int_equal(g.level_start[0], 1);
	assert_int_equal(g.hash_blocks, 3);
	assert_int_equal(g.hash_end, 12288);
}

static void test_16385_blocks_three_levels(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 16385);
	build_ok(&p, &g);
	assert_int_equal(g.levels, 3);
	assert_int_equal(g.level_blocks[0], 129);
	assert_int_equal(g.level_blocks[1], 2);
	assert_int_equal(g.level_blocks[2], 1);
	assert_int_equal(g.hash_blocks, 132);
	assert_int_equal(g.hash_end, 540672); /* veritysetup --no-superblock writes this much */
}

static void test_one_gib(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 262144);
	build_ok(&p, &g);
	assert_int_equal(g.levels, 3);
	assert_int_equal(g.level_blocks[0], 2048);
	assert_int_equal(g.level_blocks[1], 16);
	assert_int_equal(g.level_blocks[2], 1);
	assert_int_equal(g.hash_blocks, 2065);
	assert_int_equal(g.hash_start_block, 0);
	assert_int_equal(g.level_start[2], 0);
	assert_int_equal(g.level_start[1], 1);
	assert_int_equal(g.level_start[0], 17);
	assert_int_equal(g.hash_end, 2065ull * 4096);
}

static void test_one_gib_superblock(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 262144);
	p.superblock = true;
	build_ok(&p, &g);
	assert_int_equal(g.levels, 3);
	assert_int_equal(g.hash_start_block, 1);
	assert_int_equal(g.level_start[2], 1);
	assert_int_equal(g.level_start[1], 2);
	assert_int_equal(g.level_start[0], 18);
	assert_int_equal(g.hash_blocks, 2065);
	assert_int_equal(g.hash_end, 8462336); /* (1 + 2065) * 4096 */
}

static void test_four_levels_small_hash_blocks(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 512, 4097);
	build_ok(&p, &g);
	assert_int_equal(g.hashes_per_block, 16);
	assert_int_equal(g.levels, 4);
	assert_int_equal(g.level_blocks[0], 257);
	assert_int_equal(g.level_blocks[1], 17);
	assert_int_equal(g.level_blocks[2], 2);
	assert_int_equal(g.level_blocks[3], 1);
	assert_int_equal(g.level_start[3], 0);
	assert_int_equal(g.level_start[2], 1);
	assert_int_equal(g.level_start[1], 3);
	assert_int_equal(g.level_start[0], 20);
	assert_int_equal(g.hash_blocks, 277);
	assert_int_equal(g.hash_end, 141824); /* veritysetup --hash-block-size=512 */

	/* 4096 = 16^3 blocks still fit in three levels */
	p.data_blocks = 4096;
	build_ok(&p, &g);
	assert_int_equal(g.levels, 3);
	assert_int_equal(g.level_blocks[0], 256);
	assert_int_equal(g.level_blocks[1], 16);
	assert_int_equal(g.level_blocks[2], 1);
}

static void test_512_byte_blocks(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 512, 512, 1000);
	build_ok(&p, &g);
	assert_int_equal(g.hashes_per_block, 16);
	assert_int_equal(g.levels, 3);
	assert_int_equal(g.level_blocks[0], 63);
	assert_int_equal(g.level_blocks[1], 4);
	assert_int_equal(g.level_blocks[2], 1);
	assert_int_equal(g.hash_blocks, 68);
	assert_int_equal(g.hash_end, 34816);
}

static void test_64k_blocks(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 65536, 65536, 2048);
	build_ok(&p, &g);
	assert_int_equal(g.hashes_per_block, 2048);
	assert_int_equal(g.levels, 1);
	assert_int_equal(g.hash_end, 65536);

	p.data_blocks = 2049;
	build_ok(&p, &g);
	assert_int_equal(g.levels, 2);
	assert_int_equal(g.level_blocks[0], 2);
	assert_int_equal(g.level_blocks[1], 1);
	assert_int_equal(g.hash_end, 196608);
}

static void test_sha512(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha512", 4096, 4096, 64);
	build_ok(&p, &g);
	assert_int_equal(g.digest_size, 64);
	assert_int_equal(g.digest_stride, 64);
	assert_int_equal(g.hashes_per_block, 64);
	assert_int_equal(g.levels, 1);

	p.data_blocks = 65;
	build_ok(&p, &g);
	assert_int_equal(g.levels, 2);
	assert_int_equal(g.level_blocks[0], 2);
	assert_int_equal(g.hash_end, 12288);
}

static void test_sha1_formats(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha1", 4096, 4096, 129);
	p.hash_type = 1;
	build_ok(&p, &g);
	assert_int_equal(g.digest_size, 20);
	assert_int_equal(g.digest_stride, 32); /* padded to a power of two */
	assert_int_equal(g.hashes_per_block, 128);
	assert_int_equal(g.levels, 2);
	assert_int_equal(g.hash_end, 12288);

	p.hash_type = 0;
	build_ok(&p, &g);
	assert_int_equal(g.digest_size, 20);
	assert_int_equal(g.digest_stride, 20); /* packed */
	assert_int_equal(g.hashes_per_block, 128); /* still 4096 / 20 rounded down to 2^n */
	assert_int_equal(g.levels, 2);
	assert_int_equal(g.hash_end, 12288);

	p.data_blocks = 128;
	build_ok(&p, &g);
	assert_int_equal(g.levels, 1);
}

static void test_superblock_hash_offset(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	params(&p, "sha256", 4096, 4096, 129);
	p.superblock = true;
	p.hash_offset = 8192;
	build_ok(&p, &g);
	assert_int_equal(g.hash_start_block, 3);
	assert_int_equal(g.level_start[1], 3);
	assert_int_equal(g.level_start[0], 4);
	assert_int_equal(g.hash_end, 24576); /* veritysetup --hash-offset 8192 */

	/* superblock with small hash blocks: the tree starts right after it */
	params(&p, "sha256", 4096, 512, 129);
	p.superblock = true;
	build_ok(&p, &g);
	assert_int_equal(g.hash_start_block, 1);

	/* offset not aligned to the hash block: round up past the superblock */
	params(&p, "sha256", 4096, 4096, 129);
	p.superblock = true;
	p.hash_offset = 3584;
	build_ok(&p, &g);
	assert_int_equal(g.hash_start_block, 1);
	p.hash_offset = 3584 + 512;
	build_ok(&p, &g);
	assert_int_equal(g.hash_start_block, 2);

	/* without a superblock the tree starts at the offset itself */
	params(&p, "sha256", 4096, 4096, 129);
	p.hash_offset = 8192;
	build_ok(&p, &g);
	assert_int_equal(g.hash_start_block, 2);
	assert_int_equal(g.hash_end, 5 * 4096);
}

static void test_single_block_superblock(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_geometry g;

	(void)state;
	/* veritysetup writes one block of at most 4096 bytes when there is no tree */
	params(&p, "sha256", 4096, 8192, 1);
	p.superblock = true;
	build_ok(&p, &g);
	assert_int_equal(g.levels, 0);
	assert_int_equal(g.hash_blocks, 0);
	assert_int_equal(g.hash_end, 4096);

	params(&p, "sha256", 4096, 512, 1);
	p.superblock = true;
	build_ok(&p, &g);
	assert_int_equal(g.hash_end, 512);

	params(&p, "sha256", 4096, 4096, 1);
	p.superblock = true;
	p.hash_offset = 1024;
	build_ok(&p, &g);
	assert_int_equal(g.hash_end, 1024 + 4096);
}

static void test_errors(void **state)
{
	struct vf_verity_params p;

	(void)state;
	params(&p, "sha256", 4096, 4096, 0);
	build_fails(&p, EINVAL, "no data blocks");

	params(&p, "md5", 4096, 4096, 10);
	build_fails(&p, EINVAL, "unknown hash 'md5'");
	/* the digest backend knows sha384, but veritysetup does not accept it */
	params(&p, "sha384", 4096, 4096, 10);
	build_fails(&p, EINVAL, "unknown hash 'sha384'");
	params(&p, "SHA256", 4096, 4096, 10);
	build_fails(&p, EINVAL, "unknown hash 'SHA256'");

	params(&p, "sha256", 1000, 4096, 10);
	build_fails(&p, EINVAL, "data block size 1000 is invalid: expected a power of two");
	params(&p, "sha256", 256, 4096, 10);
	build_fails(&p, EINVAL, "data block size 256 is invalid: expected a power of two");
	params(&p, "sha256", 131072, 4096, 10);
	build_fails(&p, EINVAL, "data block size 131072 is invalid: expected a power of two");
	params(&p, "sha256", 4096, 1000, 10);
	build_fails(&p, EINVAL, "hash block size 1000 is invalid: expected a power of two");
	params(&p, "sha256", 4096, 256, 10);
	build_fails(&p, EINVAL, "hash block size 256");
	params(&p, "sha256", 4096, 131072, 10);
	build_fails(&p, EINVAL, "hash block size 131072");
	params(&p, "sha256", 4096, 0, 10);
	build_fails(&p, EINVAL, "power of two");

	params(&p, "sha256", 4096, 4096, 10);
	p.hash_type = 2;
	build_fails(&p, EINVAL, "format 2 is invalid");

	params(&p, "sha256", 4096, 4096, 10);
	p.salt_size = 257;
	build_fails(&p, EINVAL, "salt of 257 bytes is too long");

	params(&p, "sha256", 4096, 4096, 10);
	p.superblock = true;
	p.hash_offset = 100;
	build_fails(&p, EINVAL, "hash offset 100 is not a multiple of 512");

	params(&p, "sha256", 4096, 4096, 10);
	p.hash_offset = 512;
	build_fails(&p, EINVAL, "hash offset 512 is not a multiple of the hash block size 4096");
}

static void test_overflow(void **state)
{
	struct vf_verity_params p;

	(void)state;
	params(&p, "sha256", 4096, 4096, UINT64_MAX);
	build_fails(&p, EOVERFLOW, "overflows 64 bits");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_block),
		cmocka_unit_test(test_two_blocks),
		cmocka_unit_test(test_one_full_leaf_block),
		cmocka_unit_test(test_129_blocks_two_levels),
		cmocka_unit_test(test_16385_blocks_three_levels),
		cmocka_unit_test(test_one_gib),
		cmocka_unit_test(test_one_gib_superblock),
		cmocka_unit_test(test_four_levels_small_hash_blocks),
		cmocka_unit_test(test_512_byte_blocks),
		cmocka_unit_test(test_64k_blocks),
		cmocka_unit_test(test_sha512),
		cmocka_unit_test(test_sha1_formats),
		cmocka_unit_test(test_superblock_hash_offset),
		cmocka_unit_test(test_single_block_superblock),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
