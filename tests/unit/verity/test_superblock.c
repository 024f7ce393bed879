/* The 512-byte verity superblock: byte layout, round trip and rejects. */
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

static void sample_params(struct vf_verity_params *p, uint16_t salt_size)
{
	vf_verity_params_init(p);
	p->hash_type = 1;
	p->data_block_size = 4096;
	p->hash_block_size = 1024;
	p->data_blocks = 0x0000000102030405ull;
	for (int i = 0; i < 16; i++)
		p->uuid[i] = (uint8_t)(0x10 + i);
	for (int i = 0; i < VF_VERITY_MAX_SALT; i++)
		p->salt[i] = i < salt_size ? (uint8_t)(0xa0 ^ i) : 0;
	p->salt_size = salt_size;
}

/* The superblock as veritysetup lays it out, written by hand. */
static void expected_sb(uint8_t sb[VF_VERITY_SB_SIZE], uint16_t salt_size)
{
	static const uint8_t head[] = {
		'v', 'e', 'r', 'i', 't', 'y', 0, 0, /* signature */
		1, 0, 0, 0,                         /* version */
		1, 0, 0, 0,                         /* hash_type */
	};

	memset(sb, 0, VF_VERITY_SB_SIZE);
	memcpy(sb, head, sizeof(head));
	for (int i = 0; i < 16; i++)
		sb[16 + i] = (uint8_t)(0x10 + i);
	memcpy(sb + 32, "sha256", 6);
	sb[64] = 0x00; sb[65] = 0x10; /* 4096 */
	sb[68] = 0x00; sb[69] = 0x04; /* 1024 */
	sb[72] = 0x05; sb[73] = 0x04; sb[74] = 0x03; sb[75] = 0x02; sb[76] = 0x01;
	sb[80] = (uint8_t)(salt_size & 0xff);
	sb[81] = (uint8_t)(salt_size >> 8);
	for (int i = 0; i < salt_size; i++)
		sb[88 + i] = (uint8_t)(0xa0 ^ i);
}

static void test_layout(void **state)
{
	static const uint16_t sizes[] = { 0, 5, 32, 256 };
	struct vf_verity_params p;
	uint8_t sb[VF_VERITY_SB_SIZE], want[VF_VERITY_SB_SIZE];

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		sample_params(&p, sizes[k]);
		memset(sb, 0xee, sizeof(sb));
		vf_verity_sb_encode(&p, sb);
		expected_sb(want, sizes[k]);
		assert_memory_equal(sb, want, sizeof(sb));
	}

	/* spot checks of the fixed offsets */
	sample_params(&p, 256);
	vf_verity_sb_encode(&p, sb);
	assert_memory_equal(sb, "verity\0\0", 8);
	assert_int_equal(sb[8], 1);
	assert_int_equal(sb[12], 1);
	assert_int_equal(sb[16], 0x10);
	assert_int_equal(sb[31], 0x1f);
	assert_string_equal((const char *)sb + 32, "sha256");
	assert_int_equal(sb[80], 0x00);
	assert_int_equal(sb[81], 0x01); /* 256, little-endian */
	assert_int_equal(sb[88], 0xa0);
	assert_int_equal(sb[88 + 255], 0xa0 ^ 255);
	for (int i = 344; i < VF_VERITY_SB_SIZE; i++)
		assert_int_equal(sb[i], 0);
}

static void test_layout_format0_sha1(void **state)
{
	struct vf_verity_params p;
	uint8_t sb[VF_VERITY_SB_SIZE];

	(void)state;
	sample_params(&p, 0);
	snprintf(p.hash_name, sizeof(p.hash_name), "sha1");
	p.hash_type = 0;
	vf_verity_sb_encode(&p, sb);
	assert_int_equal(sb[12], 0);
	assert_memory_equal(sb + 32, "sha1\0\0\0\0", 8);
	for (int i = 36; i < 64; i++)
		assert_int_equal(sb[i], 0);
}

/*
 * The first 128 bytes of the superblock written by
 *   veritysetup format --uuid=01234567-89ab-4cde-8f01-23456789abcd \
 *     --salt=000102...1f <8192-byte data> <hash>
 * (cryptsetup 2.x); the remaining 384 bytes are zero.
 */
static const uint8_t veritysetup_sb[128] = {
	0x76, 0x65, 0x72, 0x69, 0x74, 0x79, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4c, 0xde, 0x8f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
	0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_matches_veritysetup(void **state)
{
	static const uint8_t uuid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4c, 0xde,
					  0x8f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd };
	struct vf_verity_params p, q;
	uint8_t sb[VF_VERITY_SB_SIZE], want[VF_VERITY_SB_SIZE];
	struct vf_err err = { 0 };

	(void)state;
	vf_verity_params_init(&p);
	p.data_blocks = 2;
	memcpy(p.uuid, uuid, 16);
	for (int i = 0; i < 32; i++)
		p.salt[i] = (uint8_t)i;
	p.salt_size = 32;
	vf_verity_sb_encode(&p, sb);
	memset(want, 0, sizeof(want));
	memcpy(want, veritysetup_sb, sizeof(veritysetup_sb));
	assert_memory_equal(sb, want, sizeof(sb));

	assert_int_equal(vf_verity_sb_decode(want, &q, &err), 0);
	assert_string_equal(q.hash_name, "sha256");
	assert_int_equal(q.hash_type, 1);
	assert_int_equal(q.data_block_size, 4096);
	assert_int_equal(q.hash_block_size, 4096);
	assert_int_equal(q.data_blocks, 2);
	assert_int_equal(q.salt_size, 32);
	assert_memory_equal(q.salt, p.salt, 32);
	assert_memory_equal(q.uuid, uuid, 16);
}

static void test_round_trip(void **state)
{
	struct vf_verity_params p, q;
	uint8_t sb[VF_VERITY_SB_SIZE];
	struct vf_err err = { 0 };

	(void)state;
	sample_params(&p, 77);
	snprintf(p.hash_name, sizeof(p.hash_name), "sha512");
	p.hash_type = 0;
	p.data_block_size = 512;
	p.hash_block_size = 65536;
	vf_verity_sb_encode(&p, sb);
	memset(&q, 0x33, sizeof(q));
	assert_int_equal(vf_verity_sb_decode(sb, &q, &err), 0);
	assert_string_equal(q.hash_name, "sha512");
	assert_int_equal(q.hash_type, 0);
	assert_int_equal(q.data_block_size, 512);
	assert_int_equal(q.hash_block_size, 65536);
	assert_int_equal(q.data_blocks, 0x0000000102030405ull);
	assert_int_equal(q.salt_size, 77);
	assert_memory_equal(q.salt, p.salt, 77);
	assert_memory_equal(q.uuid, p.uuid, 16);
	/* left to the caller: the defaults */
	assert_int_equal(q.hash_offset, 0);

	/* and back to the same bytes */
	{
		uint8_t again[VF_VERITY_SB_SIZE];

		vf_verity_sb_encode(&q, again);
		assert_memory_equal(again, sb, sizeof(sb));
	}
}

static void test_uppercase_algorithm(void **state)
{
	struct vf_verity_params p, q;
	uint8_t sb[VF_VERITY_SB_SIZE];
	struct vf_err err = { 0 };

	(void)state;
	sample_params(&p, 4);
	vf_verity_sb_encode(&p, sb);
	memcpy(sb + 32, "SHA256", 6);
	assert_int_equal(vf_verity_sb_decode(sb, &q, &err), 0);
	assert_string_equal(q.hash_name, "sha256");

	/* encoding writes the name in lower case */
	snprintf(p.hash_name, sizeof(p.hash_name), "Sha256");
	vf_verity_sb_encode(&p, sb);
	assert_memory_equal(sb + 32, "sha256\0", 7);
}

/* Decoding `sb` must fail with -EINVAL, a message containing `want`, and leave *ret alone. */
static void decode_fails(const uint8_t sb[VF_VERITY_SB_SIZE], const char *want)
{
	struct vf_verity_params q, before;
	struct vf_err err = { 0 };
	int r;

	memset(&q, 0x5c, sizeof(q));
	before = q;
	r = vf_verity_sb_decode(sb, &q, &err);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	vf_test_assert_contains(err.msg, want);
	assert_memory_equal(&q, &before, sizeof(q));
}

static void test_rejects(void **state)
{
	struct vf_verity_params p;
	uint8_t good[VF_VERITY_SB_SIZE], sb[VF_VERITY_SB_SIZE];

	(void)state;
	sample_params(&p, 32);
	vf_verity_sb_encode(&p, good);

	memcpy(sb, good, sizeof(sb));
	sb[0] = 'V';
	decode_fails(sb, "signature is not \"verity\"");
	memcpy(sb, good, sizeof(sb));
	sb[7] = 1;
	decode_fails(sb, "signature");

	memcpy(sb, good, sizeof(sb));
	sb[8] = 2;
	decode_fails(sb, "superblock version 2 is unsupported");
	memcpy(sb, good, sizeof(sb));
	sb[8] = 1;
	sb[11] = 1; /* 0x01000001: only little-endian 1 is version 1 */
	decode_fails(sb, "superblock version 16777217");

	memcpy(sb, good, sizeof(sb));
	sb[80] = 300 & 0xff;
	sb[81] = 300 >> 8;
	decode_fails(sb, "salt size 300");

	memcpy(sb, good, sizeof(sb));
	memset(sb + 32, 0, 32);
	memcpy(sb + 32, "md5", 3);
	decode_fails(sb, "superblock: unknown hash 'md5'");

	memcpy(sb, good, sizeof(sb));
	memset(sb + 32, 'a', 32); /* no terminating NUL */
	decode_fails(sb, "hash algorithm is not a valid name");

	memcpy(sb, good, sizeof(sb));
	memset(sb + 72, 0, 8);
	decode_fails(sb, "0 data blocks");

	memcpy(sb, good, sizeof(sb));
	sb[64] = 0x01; /* 4097 */
	decode_fails(sb, "superblock: data block size 4097 is invalid: expected a power of two");

	memcpy(sb, good, sizeof(sb));
	sb[68] = 0x00; sb[69] = 0x00; sb[70] = 0x02; /* 131072 */
	decode_fails(sb, "superblock: hash block size 131072 is invalid");

	memcpy(sb, good, sizeof(sb));
	sb[12] = 2;
	decode_fails(sb, "superblock: format 2 is invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_layout_format0_sha1),
		cmocka_unit_test(test_matches_veritysetup),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_uppercase_algorithm),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
