/*
 * keys/sha256_stream: SHA-256 streams fed alone and in pairs, on the SHA-NI
 * path and the backend's, against OpenSSL's one-shot digest of the whole
 * message: every length around the 64-byte chunk and the 56-byte padding
 * edge, messages cut at every kind of offset, pairs of unequal pieces, and
 * FIPS 180-4's own examples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "keys/digest.h"
#include "keys/internal.h"
#include "tests/unit/testutil.h"

#include <stdlib.h>
#include <string.h>

static void oneshot(const uint8_t *p, size_t n, uint8_t out[32])
{
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), p, n, out), 0);
}

static void check_equal(const uint8_t got[32], const uint8_t want[32], const char *what,
			size_t a, size_t b)
{
	char g[65], w[65];

	if (memcmp(got, want, 32)) {
		vf_hex_format(got, 32, g);
		vf_hex_format(want, 32, w);
		fail_msg("%s (%zu, %zu): got %s, want %s", what, a, b, g, w);
	}
}

/* FIPS 180-4's examples: "abc" and the 448-bit message, which pads into a second chunk */
static void fips_examples(bool hw)
{
	static const char *const msg[] = {
		"abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "",
	};
	static const char *const want[] = {
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	};
	for (size_t i = 0; i < 3; i++) {
		struct vf_sha256 s;
		uint8_t out[32];
		char hex[65];

		assert_int_equal(vf_sha256_init_opt(&s, hw), 0);
		assert_int_equal(vf_sha256_update(&s, msg[i], strlen(msg[i])), 0);
		assert_int_equal(vf_sha256_final(&s, out), 0);
		vf_hex_format(out, 32, hex);
		assert_string_equal(hex, want[i]);
		vf_sha256_release(&s);
	}
}

static void test_fips(void **state)
{
	(void)state;
	fips_examples(true);
	fips_examples(false);
}

/*
 * Every length 0..300 fed in pieces of every size 1..130 (so the partial
 * chunk is filled from every offset), after a reset of the same stream.
 */
static void pieces(bool hw)
{
	uint8_t msg[300], want[32], got[32];
	struct vf_sha256 s;

	vf_test_data(1, msg, sizeof(msg));
	assert_int_equal(vf_sha256_init_opt(&s, hw), 0);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		oneshot(msg, len, want);
		for (size_t piece = 1; piece <= 130; piece += len > 140 ? 7 : 1) {
			assert_int_equal(vf_sha256_reset(&s), 0);
			for (size_t off = 0; off < len; off += piece)
				assert_int_equal(vf_sha256_update(&s, msg + off,
								  len - off < piece ? len - off : piece),
						 0);
			assert_int_equal(vf_sha256_final(&s, got), 0);
			check_equal(got, want, "pieces", len, piece);
		}
	}
	vf_sha256_release(&s);
}

static void test_pieces(void **state)
{
	(void)state;
	pieces(true);
	pieces(false);
}

/*
 * Two streams fed together in unequal pieces: a with pieces of pa bytes, b
 * with pieces of pb bytes, each also after a head start of its own (so the
 * two partial chunks differ), one stream running out before the other; both
 * digests match their one-shot ones. Mixed paths (one stream on the backend)
 * too.
 */
static void pairs(bool hw_a, bool hw_b)
{
	static const size_t sizes[] = { 0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4096, 70001 };
	const size_t na = 300000, nb = 250000;
	uint8_t *a = malloc(na), *b = malloc(nb), wa[32], wb[32], ga[32], gb[32];
	struct vf_sha256 sa, sb;

	assert_non_null(a);
	assert_non_null(b);
	vf_test_data(2, a, na);
	vf_test_data(3, b, nb);
	assert_int_equal(vf_sha256_init_opt(&sa, hw_a), 0);
	assert_int_equal(vf_sha256_init_opt(&sb, hw_b), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			size_t la = na - i * 977, lb = nb - j * 1231, head_a = i * 13, head_b = j * 29;
			size_t pa = sizes[i] ? sizes[i] : 1, pb = sizes[j] ? sizes[j] : 3;
			size_t oa = head_a, ob = head_b;

			oneshot(a, la, wa);
			oneshot(b, lb, wb);
			assert_int_equal(vf_sha256_reset(&sa), 0);
			assert_int_equal(vf_sha256_reset(&sb), 0);
			assert_int_equal(vf_sha256_update(&sa, a, head_a), 0);
			assert_int_equal(vf_sha256_update(&sb, b, head_b), 0);
			while (oa < la || ob < lb) {
				size_t ka = la - oa < pa ? la - oa : pa, kb = lb - ob < pb ? lb - ob : pb;

				assert_int_equal(vf_sha256_update2(&sa, a + oa, ka, &sb, b + ob, kb), 0);
				oa += ka;
				ob += kb;
			}
			assert_int_equal(vf_sha256_final(&sa, ga), 0);
			assert_int_equal(vf_sha256_final(&sb, gb), 0);
			check_equal(ga, wa, "pair a", pa, pb);
			check_equal(gb, wb, "pair b", pa, pb);
		}
	}
	vf_sha256_release(&sa);
	vf_sha256_release(&sb);
	free(a);
	free(b);
}

static void test_pairs(void **state)
{
	(void)state;
	pairs(true, true);
	pairs(false, false);
	pairs(true, false);
	pairs(false, true);
}

/* A long stream with another one fed alongside it in pieces, as a pin beside contents. */
static void test_long_pair(void **state)
{
	const size_t n = (size_t)9 << 20;
	uint8_t *big = malloc(n), small[20000], w[32], g[32], ws[32], gs[32];
	struct vf_sha256 sb, ss;
	size_t off = 0;

	(void)state;
	assert_non_null(big);
	vf_test_data(4, big, n);
	vf_test_data(5, small, sizeof(small));
	oneshot(big, n, w);
	assert_int_equal(vf_sha256_init(&sb), 0);
	assert_int_equal(vf_sha256_init(&ss), 0);
	for (size_t k = 1; off < n; k++) {
		size_t len = k * 3331 % sizeof(small) + 1;

		if (len > n - off)
			len = n - off;
		assert_int_equal(vf_sha256_reset(&ss), 0);
		assert_int_equal(vf_sha256_update2(&ss, small, len, &sb, big + off, len), 0);
		assert_int_equal(vf_sha256_final(&ss, gs), 0);
		oneshot(small, len, ws);
		check_equal(gs, ws, "content", k, len);
		off += len;
	}
	assert_int_equal(vf_sha256_final(&sb, g), 0);
	check_equal(g, w, "stream", n, 0);
	vf_sha256_release(&sb);
	vf_sha256_release(&ss);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_long_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
