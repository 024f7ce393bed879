/*
 * SHA-256 compression with the x86-64 SHA extensions (SHA-NI), one message
 * or two interleaved.
 *
 * One message at a time is bound by the latency of sha256rnds2: every pair
 * of rounds waits for the one before. Two independent messages interleaved
 * fill those waits, which nearly doubles the throughput per core (measured in
 * docs/performance.md). dm-verity hashes millions of independent blocks, so it
 * takes two at a time.
 *
 * The state is kept as the instructions want it, ABEF and CDGH in two
 * registers; vf_sha256_hw_* convert from and to the usual h[0..7] at the
 * start and end of each call, so one call should cover many 64-byte chunks.
 * Written from the instruction set reference (the algorithm is FIPS 180-4);
 * checked against OpenSSL in tests/unit/keys/test_digest_blocks.c.
 */
#include "keys/internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <cpuid.h>
#include <immintrin.h>

#define HW __attribute__((target("sha,ssse3,sse4.1")))

static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

bool vf_sha256_hw_available(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return false;
	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 29)) != 0; /* CPUID.(EAX=7,ECX=0):EBX.SHA */
}

/* h[0..7] (A in the lowest lane of the first load) to ABEF, CDGH */
HW static inline void state_in(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
	__m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);

	*abef = _mm_alignr_epi8(cdab, efgh, 8);
	*cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

HW static inline void state_out(uint32_t h[8], __m128i abef, __m128i cdgh)
{
	__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);

	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

/* words 4g..4g+3 of the message, big-endian */
#define LOAD(m, p, g)                                                                      \
	(m)[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((p) + 16 * (g))), bswap)

#define LOAD4(m, p)                                                                        \
	do {                                                                               \
		LOAD(m, p, 0);                                                             \
		LOAD(m, p, 1);                                                             \
		LOAD(m, p, 2);                                                             \
		LOAD(m, p, 3);                                                             \
	} while (0)

/* schedule words 4g..4g+3 from the 16 before them (m holds them, indexed mod 4) */
#define SCHED(m, g)                                                                        \
	(m)[(g) & 3] = _mm_sha256msg2_epu32(                                               \
		_mm_add_epi32(_mm_sha256msg1_epu32((m)[(g) & 3], (m)[((g) + 1) & 3]),      \
			      _mm_alignr_epi8((m)[((g) + 3) & 3], (m)[((g) + 2) & 3], 4)), \
		(m)[((g) + 3) & 3])

/* rounds 4g..4g+3 */
#define ROUNDS(abef, cdgh, m, g)                                                           \
	do {                                                                               \
		__m128i wk_ = _mm_add_epi32((m)[(g) & 3],                                  \
					    _mm_load_si128((const __m128i *)&K[4 * (g)])); \
		(cdgh) = _mm_sha256rnds2_epu32((cdgh), (abef), wk_);                       \
		wk_ = _mm_shuffle_epi32(wk_, 0x0E);                                        \
		(abef) = _mm_sha256rnds2_epu32((abef), (cdgh), wk_);                       \
	} while (0)

/* group g of one lane; of two lanes interleaved */
#define STEP1(g)                                                                           \
	do {                                                                               \
		if ((g) >= 4)                                                              \
			SCHED(m, g);                                                       \
		ROUNDS(abef, cdgh, m, g);                                                  \
	} while (0)
#define STEP2(g)                                                                           \
	do {                                                                               \
		if ((g) >= 4) {                                                            \
			SCHED(ma, g);                                                      \
			SCHED(mb, g);                                                      \
		}                                                                          \
		ROUNDS(abef_a, cdgh_a, ma, g);                                             \
		ROUNDS(abef_b, cdgh_b, mb, g);                                             \
	} while (0)

/* the 16 groups of 4 rounds, unrolled (the message words stay in registers) */
#define ALL_GROUPS(S)                                                                      \
	do {                                                                               \
		S(0); S(1); S(2); S(3); S(4); S(5); S(6); S(7);                            \
		S(8); S(9); S(10); S(11); S(12); S(13); S(14); S(15);                      \
	} while (0)

HW void vf_sha256_hw_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i abef, cdgh;

	state_in(h, &abef, &cdgh);
	for (; n > 0; n--, p += 64) {
		__m128i save_abef = abef, save_cdgh = cdgh, m[4];

		LOAD4(m, p);
		ALL_GROUPS(STEP1);
		abef = _mm_add_epi32(abef, save_abef);
		cdgh = _mm_add_epi32(cdgh, save_cdgh);
	}
	state_out(h, abef, cdgh);
}

HW void vf_sha256_hw_blocks2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8], const uint8_t *pb,
			     size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i abef_a, cdgh_a, abef_b, cdgh_b;

	state_in(ha, &abef_a, &cdgh_a);
	state_in(hb, &abef_b, &cdgh_b);
	for (; n > 0; n--, pa += 64, pb += 64) {
		__m128i sa0 = abef_a, sa1 = cdgh_a, sb0 = abef_b, sb1 = cdgh_b, ma[4], mb[4];

		LOAD4(ma, pa);
		LOAD4(mb, pb);
		ALL_GROUPS(STEP2);
		abef_a = _mm_add_epi32(abef_a, sa0);
		cdgh_a = _mm_add_epi32(cdgh_a, sa1);
		abef_b = _mm_add_epi32(abef_b, sb0);
		cdgh_b = _mm_add_epi32(cdgh_b, sb1);
	}
	state_out(ha, abef_a, cdgh_a);
	state_out(hb, abef_b, cdgh_b);
}

#else /* no SHA-NI on this architecture or compiler: the generic path only */

bool vf_sha256_hw_available(void)
{
	return false;
}

void vf_sha256_hw_blocks(uint32_t h[8], const uint8_t *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

void vf_sha256_hw_blocks2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8], const uint8_t *pb,
			  size_t n)
{
	(void)ha;
	(void)pa;
	(void)hb;
	(void)pb;
	(void)n;
}

#endif
