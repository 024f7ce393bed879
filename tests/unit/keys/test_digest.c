/* keys/digest: known answers from FIPS 180 and RFC 4231 (independent sources). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "keys/digest.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static void hex_of(const uint8_t *d, size_t n, char *out)
{
	vf_hex_format(d, n, out);
}

static void test_known_digests(void **state)
{
	static const struct { const char *alg, *want; } cases[] = {
		{ "sha1", "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ "sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "sha384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
			    "8086072ba1e7cc2358baeca134c825a7" },
		{ "sha512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	};
	uint8_t d[VF_DIGEST_MAX];
	char hex[2 * VF_DIGEST_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vf_digest_alg *a = vf_digest_alg_get(cases[i].alg);

		assert_non_null(a);
		assert_string_equal(vf_digest_alg_name(a), cases[i].alg);
		assert_int_equal(vf_digest_alg_size(a) * 2, strlen(cases[i].want));
		assert_int_equal(vf_digest_buffer(a, "abc", 3, d), 0);
		hex_of(d, vf_digest_alg_size(a), hex);
		assert_string_equal(hex, cases[i].want);
	}
	assert_null(vf_digest_alg_get("md5"));
	assert_null(vf_digest_alg_get("SHA256"));
}

/* A prepared context copied per block gives what one-shot hashing gives. */
static void test_copy_and_reset(void **state)
{
	const struct vf_digest_alg *a = vf_digest_alg_get("sha256");
	struct vf_digest *base = vf_digest_new(a), *work = vf_digest_new(a);
	uint8_t d1[32], d2[32];

	(void)state;
	assert_non_null(base);
	assert_non_null(work);
	assert_int_equal(vf_digest_update(base, "ab", 2), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vf_digest_copy(work, base), 0);
		assert_int_equal(vf_digest_update(work, "c", 1), 0);
		assert_int_equal(vf_digest_final(work, d1), 0);
		assert_int_equal(vf_digest_buffer(a, "abc", 3, d2), 0);
		assert_memory_equal(d1, d2, 32);
	}
	assert_int_equal(vf_digest_reset(work), 0);
	assert_int_equal(vf_digest_final(work, d1), 0);
	assert_int_equal(vf_digest_buffer(a, "", 0, d2), 0);
	assert_memory_equal(d1, d2, 32);
	/* contexts of different algorithms do not copy */
	{
		struct vf_digest *other = vf_digest_new(vf_digest_alg_get("sha512"));

		assert_int_equal(vf_digest_copy(other, base), -EINVAL);
		vf_digest_free(other);
	}
	vf_digest_free(base);
	vf_digest_free(work);
	vf_digest_free(NULL);
}

/*
 * One-shot digests (SHA-256 through vforge's SHA-NI rounds where the CPU has
 * them, every other through a fetched OpenSSL digest) equal OpenSSL's own
 * EVP_Digest with the legacy EVP_MD, for every length to 300 and a few long
 * ones, from every alignment; and a stream fed the same bytes agrees.
 */
static void test_one_shot_lengths(void **state)
{
	static const char *const names[] = { "sha1", "sha256", "sha384", "sha512" };
	const EVP_MD *(*const mds[])(void) = { EVP_sha1, EVP_sha256, EVP_sha384, EVP_sha512 };
	const size_t big[] = { 511, 4096, 65537, 1000003 };
	uint8_t *data = malloc(1000003 + 8);

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < 1000003 + 8; i++)
		data[i] = (uint8_t)(i * 131 + (i >> 9));
	for (size_t a = 0; a < 4; a++) {
		const struct vf_digest_alg *alg = vf_digest_alg_get(names[a]);

		for (size_t k = 0; k < 300 + 4; k++) {
			size_t len = k < 300 ? k : big[k - 300];

			for (size_t off = 0; off < (len < 300 ? 8u : 2u); off++) {
				uint8_t got[VF_DIGEST_MAX], want[EVP_MAX_MD_SIZE];
				unsigned int n = 0;

				assert_int_equal(vf_digest_buffer(alg, data + off, len, got), 0);
				assert_int_equal(EVP_Digest(data + off, len, want, &n, mds[a](), NULL), 1);
				assert_int_equal(n, vf_digest_alg_size(alg));
				if (memcmp(got, want, n) != 0)
					fail_msg("%s of %zu bytes at offset %zu differs", names[a], len,
						 off);
			}
		}
	}
	{
		struct vf_sha256 st;
		uint8_t d1[32], d2[32];

		assert_int_equal(vf_sha256_init(&st), 0);
		assert_int_equal(vf_sha256_update(&st, data, 100), 0);
		assert_int_equal(vf_sha256_update(&st, data + 100, 900), 0);
		assert_int_equal(vf_sha256_final(&st, d1), 0);
		vf_sha256_release(&st);
		assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), data, 1000, d2), 0);
		assert_memory_equal(d1, d2, 32);
	}
	free(data);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block). */
static void test_hmac_rfc4231(void **state)
{
	uint8_t key[131], out[32];
	char hex[65];

	(void)state;
	memset(key, 0x0b, 20);
	assert_int_equal(vf_hmac_sha256(key, 20, "Hi There", 8, out), 0);
	hex_of(out, 32, hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	assert_int_equal(vf_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out), 0);
	hex_of(out, 32, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key, 0xaa, sizeof(key));
	assert_int_equal(vf_hmac_sha256(key, sizeof(key),
					"Test Using Larger Than Block-Size Key - Hash Key First", 54,
					out), 0);
	hex_of(out, 32, hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_random(void **state)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };
	struct vf_err err = { 0 };

	(void)state;
	assert_int_equal(vf_random_bytes(a, sizeof(a), &err), 0);
	assert_int_equal(vf_random_bytes(b, sizeof(b), &err), 0);
	assert_memory_not_equal(a, b, 32);
	assert_memory_not_equal(a, zero, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_digests),
		cmocka_unit_test(test_copy_and_reset),
		cmocka_unit_test(test_one_shot_lengths),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
