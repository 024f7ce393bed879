/*
 * keys/digest_blocks: salted block digests, SHA-NI two at a time and the
 * generic path, both against one-shot digests of prefix || block || suffix
 * (OpenSSL's own SHA-256), over every edge of the chunk arithmetic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keys/digest.h"
#include "keys/internal.h"

#include <stdlib.h>
#include <string.h>

/* deterministic bytes (xorshift), so a failure can be rerun */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* the expected digest of one block, the slow and obvious way */
static void expect_one(const struct vf_digest_alg *alg, const uint8_t *pre, size_t pre_len,
		       const uint8_t *blk, size_t bs, const uint8_t *suf, size_t suf_len,
		       uint8_t *out)
{
	uint8_t *msg = malloc(pre_len + bs + suf_len + 1);

	assert_non_null(msg);
	memcpy(msg, pre, pre_len);
	memcpy(msg + pre_len, blk, bs);
	memcpy(msg + pre_len + bs, suf, suf_len);
	assert_int_equal(vf_digest_buffer(alg, msg, pre_len + bs + suf_len, out), 0);
	free(msg);
}

/* every block of `count` through a hasher made with allow_hw, compared with expect_one */
static void check_case(const char *alg_name, size_t pre_len, size_t suf_len, size_t bs,
		       uint64_t count, bool allow_hw)
{
	const struct vf_digest_alg *alg = vf_digest_alg_get(alg_name);
	const size_t ds = vf_digest_alg_size(alg);
	uint8_t pre[VF_DIGEST_BLOCKS_SALT_MAX], suf[VF_DIGEST_BLOCKS_SALT_MAX], want[VF_DIGEST_MAX];
	uint8_t *data = malloc(bs * count + 1), *out = malloc(ds * count + 1);
	struct vf_digest_blocks *h;

	assert_non_null(data);
	assert_non_null(out);
	fill(pre, pre_len, pre_len * 7 + 1);
	fill(suf, suf_len, suf_len * 11 + 2);
	fill(data, bs * count, bs + count);
	h = vf_keys_digest_blocks_new(alg, pre, pre_len, suf, suf_len, bs, allow_hw);
	assert_non_null(h);
	if (allow_hw && strcmp(alg_name, "sha256") == 0 && bs >= 64)
		assert_int_equal(vf_keys_digest_blocks_is_hw(h), vf_sha256_hw_available());
	else
		assert_false(vf_keys_digest_blocks_is_hw(h));
	assert_int_equal(vf_digest_blocks_run(h, data, count, out), 0);
	for (uint64_t i = 0; i < count; i++) {
		expect_one(alg, pre, pre_len, data + i * bs, bs, suf, suf_len, want);
		if (memcmp(out + i * ds, want, ds) != 0)
			fail_msg("%s prefix %zu suffix %zu block %zu: block %llu of %llu differs "
				 "(hw %d)", alg_name, pre_len, suf_len, bs, (unsigned long long)i,
				 (unsigned long long)count, vf_keys_digest_blocks_is_hw(h));
	}
	/* the object is reusable: a second run over other data is right too */
	fill(data, bs * count, bs + count + 99);
	assert_int_equal(vf_digest_blocks_run(h, data, count, out), 0);
	for (uint64_t i = 0; i < count; i++) {
		expect_one(alg, pre, pre_len, data + i * bs, bs, suf, suf_len, want);
		assert_memory_equal(out + i * ds, want, ds);
	}
	vf_digest_blocks_free(h);
	free(data);
	free(out);
}

/* prefix and suffix lengths around every chunk boundary and the padding's */
static const size_t salt_lens[] = { 0, 1, 23, 32, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 256 };
#define N_SALT (sizeof(salt_lens) / sizeof(salt_lens[0]))

static void run_grid(bool allow_hw)
{
	static const size_t sizes[] = { 64, 65, 100, 119, 120, 127, 512, 4096 };
	static const uint64_t counts[] = { 0, 1, 2, 3, 5 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t p = 0; p < N_SALT; p++)
			for (size_t q = 0; q < N_SALT; q += 3)
				check_case("sha256", salt_lens[p], salt_lens[q], sizes[s],
					   counts[(s + p + q) % 5], allow_hw);
}

static void test_hw_path_matches_openssl(void **state)
{
	(void)state;
	if (!vf_sha256_hw_available())
		skip();
	run_grid(true);
	/* dm-verity's shapes: format 1 (salt first) and 0 (salt last), 512 B to 64 KiB */
	for (size_t bs = 512; bs <= 65536; bs *= 2) {
		check_case("sha256", 32, 0, bs, 9, true);
		check_case("sha256", 0, 32, bs, 4, true);
		check_case("sha256", 256, 0, bs, 2, true);
		check_case("sha256", 0, 0, bs, 3, true);
	}
	/* the largest prefix plus suffix */
	check_case("sha256", 1000, 24, 4096, 3, true);
	check_case("sha256", 0, VF_DIGEST_BLOCKS_SALT_MAX, 4096, 3, true);
}

static void test_generic_path(void **state)
{
	(void)state;
	run_grid(false);
	check_case("sha1", 32, 0, 4096, 3, true);
	check_case("sha512", 0, 32, 4096, 3, true);
	check_case("sha512", 77, 0, 1024, 2, true);
	/* below one chunk, sha256 takes the generic path even with SHA-NI */
	check_case("sha256", 32, 0, 63, 3, true);
	check_case("sha256", 5, 7, 1, 4, true);
}

static void test_hw_lanes_independent(void **state)
{
	/* two blocks hashed together must not mix: equal blocks, equal digests; one byte apart, not */
	const struct vf_digest_alg *alg = vf_digest_alg_get("sha256");
	uint8_t salt[32], data[4 * 4096], out[4 * 32];
	struct vf_digest_blocks *h;

	(void)state;
	fill(salt, sizeof(salt), 5);
	fill(data, 4096, 6);
	memcpy(data + 4096, data, 4096);
	memcpy(data + 8192, data, 4096);
	memcpy(data + 12288, data, 4096);
	data[12288 + 4095] ^= 1;
	h = vf_digest_blocks_new(alg, salt, sizeof(salt), NULL, 0, 4096);
	assert_non_null(h);
	assert_int_equal(vf_digest_blocks_run(h, data, 4, out), 0);
	assert_memory_equal(out, out + 32, 32);
	assert_memory_equal(out, out + 64, 32);
	assert_memory_not_equal(out + 64, out + 96, 32);
	vf_digest_blocks_free(h);
}

static void test_limits(void **state)
{
	const struct vf_digest_alg *alg = vf_digest_alg_get("sha256");
	uint8_t salt[VF_DIGEST_BLOCKS_SALT_MAX + 1] = { 0 };

	(void)state;
	assert_null(vf_digest_blocks_new(alg, salt, VF_DIGEST_BLOCKS_SALT_MAX + 1, NULL, 0, 4096));
	assert_null(vf_digest_blocks_new(alg, salt, 600, salt, 600, 4096));
	assert_null(vf_digest_blocks_new(alg, salt, 32, NULL, 0, 0));
	assert_null(vf_digest_blocks_new(NULL, salt, 32, NULL, 0, 4096));
	vf_digest_blocks_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hw_path_matches_openssl),
		cmocka_unit_test(test_generic_path),
		cmocka_unit_test(test_hw_lanes_independent),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
