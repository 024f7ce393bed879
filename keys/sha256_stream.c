/*
 * SHA-256 streams that can be fed in pairs (digest.h, struct vf_sha256).
 *
 * On a CPU with SHA-NI the stream keeps the chaining state itself: whole
 * 64-byte chunks go to vf_sha256_hw_blocks(), or, when two streams are fed
 * at once, to vf_sha256_hw_blocks2() as far as both have whole chunks; a
 * partial chunk waits in buf. The padding is FIPS 180-4's (0x80, zeros, the
 * length in bits, big-endian). Elsewhere the stream is a vf_digest.
 */
#include "keys/digest.h"
#include "keys/internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

const uint32_t vf_sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

void vf_sha256_state_digest(const uint32_t h[8], uint8_t out[32])
{
	for (unsigned i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

static pthread_once_t hw_once = PTHREAD_ONCE_INIT;
static bool hw_ok;

static void hw_probe(void)
{
	hw_ok = vf_sha256_hw_available();
}

int vf_sha256_init_opt(struct vf_sha256 *s, bool allow_hw)
{
	memset(s, 0, sizeof(*s));
	pthread_once(&hw_once, hw_probe);
	if (allow_hw && hw_ok) {
		memcpy(s->h, vf_sha256_iv, sizeof(vf_sha256_iv));
		return 0;
	}
	s->d = vf_digest_new(vf_digest_alg_get("sha256"));
	return s->d ? 0 : -ENOMEM;
}

bool vf_sha256_lanes(void)
{
	pthread_once(&hw_once, hw_probe);
	return hw_ok;
}

int vf_sha256_init(struct vf_sha256 *s)
{
	return vf_sha256_init_opt(s, true);
}

int vf_sha256_reset(struct vf_sha256 *s)
{
	if (s->d)
		return vf_digest_reset(s->d) < 0 ? -EIO : 0;
	memcpy(s->h, vf_sha256_iv, sizeof(vf_sha256_iv));
	s->len = 0;
	return 0;
}

void vf_sha256_release(struct vf_sha256 *s)
{
	vf_digest_free(s->d);
	s->d = NULL;
}

/* Complete the partial chunk from *p (SHA-NI path); afterwards buf is empty or *n is 0. */
static void fill(struct vf_sha256 *s, const uint8_t **p, size_t *n)
{
	size_t have = (size_t)(s->len % 64), take;

	if (!have || !*n)
		return;
	take = 64 - have < *n ? 64 - have : *n;
	memcpy(s->buf + have, *p, take);
	*p += take;
	*n -= take;
	s->len += take;
	if (have + take == 64)
		vf_sha256_hw_blocks(s->h, s->buf, 1);
}

/* The whole chunks and the rest of p[0..n) once buf is empty (SHA-NI path). */
static void feed(struct vf_sha256 *s, const uint8_t *p, size_t n)
{
	size_t whole = n / 64;

	if (whole)
		vf_sha256_hw_blocks(s->h, p, whole);
	memcpy(s->buf, p + whole * 64, n % 64);
	s->len += n;
}

int vf_sha256_update(struct vf_sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (s->d)
		return vf_digest_update(s->d, data, len) < 0 ? -EIO : 0;
	fill(s, &p, &len);
	if (len)
		feed(s, p, len);
	return 0;
}

int vf_sha256_update2(struct vf_sha256 *a, const void *pa, size_t na, struct vf_sha256 *b,
		      const void *pb, size_t nb)
{
	const uint8_t *xa = pa, *xb = pb;
	size_t k;

	if (a->d || b->d)
		return vf_sha256_update(a, pa, na) < 0 || vf_sha256_update(b, pb, nb) < 0 ? -EIO : 0;
	fill(a, &xa, &na);
	fill(b, &xb, &nb);
	/* a stream with bytes left has an empty buf: its chunks start at xa / xb */
	k = na / 64 < nb / 64 ? na / 64 : nb / 64;
	if (k) {
		vf_sha256_hw_blocks2(a->h, xa, b->h, xb, k);
		xa += k * 64;
		na -= k * 64;
		a->len += k * 64;
		xb += k * 64;
		nb -= k * 64;
		b->len += k * 64;
	}
	if (na)
		feed(a, xa, na);
	if (nb)
		feed(b, xb, nb);
	return 0;
}

int vf_sha256_final(struct vf_sha256 *s, uint8_t out[32])
{
	size_t have;
	uint64_t bits;

	if (s->d)
		return vf_digest_final(s->d, out) < 0 ? -EIO : 0;
	have = (size_t)(s->len % 64);
	bits = s->len * 8;
	s->buf[have++] = 0x80;
	if (have > 56) {
		memset(s->buf + have, 0, 64 - have);
		vf_sha256_hw_blocks(s->h, s->buf, 1);
		have = 0;
	}
	memset(s->buf + have, 0, 56 - have);
	for (int i = 0; i < 8; i++)
		s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	vf_sha256_hw_blocks(s->h, s->buf, 1);
	vf_sha256_state_digest(s->h, out);
	return 0;
}
