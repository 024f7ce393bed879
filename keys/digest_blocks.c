/*
 * vf_digest_blocks: digest(prefix || block || suffix) for many equal-size
 * blocks. With sha256 and SHA-NI, two blocks go through the compression
 * function together (sha256_x86.c); otherwise one at a time through OpenSSL.
 *
 * The SHA-NI path precomputes what every block shares: the state after the
 * prefix's whole 64-byte chunks, and the constant parts of the first chunk
 * (the prefix's last bytes) and of the last chunks (suffix and padding).
 * Per block only the block's own bytes are copied into those two edges; the
 * chunks in between are read straight from the block.
 */
#include "keys/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 64u
/* the block's last bytes (< 64), the suffix, 0x80 and the 8-byte length, in whole chunks */
#define TAIL_MAX ((CHUNK - 1 + VF_DIGEST_BLOCKS_SALT_MAX + 9 + CHUNK - 1) / CHUNK * CHUNK)

struct vf_digest_blocks {
	size_t block_size;
	size_t digest_size;
	bool hw;
	/* the generic path */
	struct vf_digest *base;   /* the prefix absorbed */
	struct vf_digest *work;
	uint8_t suffix[VF_DIGEST_BLOCKS_SALT_MAX];
	size_t suffix_len;
	/* the SHA-NI path */
	uint32_t mid[8];          /* the state after the prefix's whole chunks */
	size_t head;              /* prefix bytes in the first chunk (0: no such chunk) */
	size_t direct_off;        /* where in the block the whole chunks start */
	size_t n_direct;          /* whole chunks read from the block */
	size_t tail_from;         /* where in the block the tail starts */
	size_t tail_len;          /* block bytes in the tail (< 64) */
	size_t n_tail;            /* chunks in the tail */
	uint8_t first[2][CHUNK];  /* per lane: prefix end, then the block's first bytes */
	uint8_t last[2][TAIL_MAX];/* per lane: the block's last bytes, suffix, padding */
};

static void hw_plan(struct vf_digest_blocks *h, const uint8_t *prefix, size_t prefix_len,
		    const uint8_t *suffix, size_t suffix_len)
{
	const size_t whole = prefix_len / CHUNK;
	const uint64_t bits = (uint64_t)(prefix_len + h->block_size + suffix_len) * 8;
	size_t used, tail_bytes;

	memcpy(h->mid, vf_sha256_iv, sizeof(h->mid));
	if (whole)
		vf_sha256_hw_blocks(h->mid, prefix, whole);
	h->head = prefix_len % CHUNK;
	used = h->head ? CHUNK - h->head : 0;    /* block bytes in the first chunk */
	h->direct_off = used;
	h->n_direct = (h->block_size - used) / CHUNK;
	h->tail_from = used + h->n_direct * CHUNK;
	h->tail_len = h->block_size - h->tail_from;
	tail_bytes = h->tail_len + suffix_len + 9;
	h->n_tail = (tail_bytes + CHUNK - 1) / CHUNK;
	for (unsigned lane = 0; lane < 2; lane++) {
		uint8_t *t = h->last[lane];

		if (h->head)
			memcpy(h->first[lane], prefix + whole * CHUNK, h->head);
		memset(t, 0, sizeof(h->last[lane]));
		if (suffix_len)
			memcpy(t + h->tail_len, suffix, suffix_len);
		t[h->tail_len + suffix_len] = 0x80;
		for (unsigned i = 0; i < 8; i++)
			t[h->n_tail * CHUNK - 1 - i] = (uint8_t)(bits >> (8 * i));
	}
}

struct vf_digest_blocks *vf_keys_digest_blocks_new(const struct vf_digest_alg *alg,
						   const void *prefix, size_t prefix_len,
						   const void *suffix, size_t suffix_len,
						   size_t block_size, bool allow_hw)
{
	struct vf_digest_blocks *h;

	if (!alg || block_size == 0 || prefix_len > VF_DIGEST_BLOCKS_SALT_MAX ||
	    suffix_len > VF_DIGEST_BLOCKS_SALT_MAX - prefix_len)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->block_size = block_size;
	h->digest_size = vf_digest_alg_size(alg);
	h->hw = allow_hw && block_size >= CHUNK && strcmp(vf_digest_alg_name(alg), "sha256") == 0 &&
		vf_sha256_hw_available();
	if (h->hw) {
		hw_plan(h, prefix, prefix_len, suffix, suffix_len);
		return h;
	}
	h->base = vf_digest_new(alg);
	h->work = vf_digest_new(alg);
	if (!h->base || !h->work || (prefix_len && vf_digest_update(h->base, prefix, prefix_len))) {
		vf_digest_blocks_free(h);
		return NULL;
	}
	if (suffix_len)
		memcpy(h->suffix, suffix, suffix_len);
	h->suffix_len = suffix_len;
	return h;
}

struct vf_digest_blocks *vf_digest_blocks_new(const struct vf_digest_alg *alg, const void *prefix,
					      size_t prefix_len, const void *suffix,
					      size_t suffix_len, size_t block_size)
{
	return vf_keys_digest_blocks_new(alg, prefix, prefix_len, suffix, suffix_len, block_size,
					 true);
}

bool vf_keys_digest_blocks_is_hw(const struct vf_digest_blocks *h)
{
	return h->hw;
}

void vf_digest_blocks_free(struct vf_digest_blocks *h)
{
	if (!h)
		return;
	vf_digest_free(h->base);
	vf_digest_free(h->work);
	free(h);
}

/* Two blocks through SHA-NI together: their chunks in lock step. */
static void hw_two(struct vf_digest_blocks *h, const uint8_t *a, const uint8_t *b, uint8_t *out)
{
	uint32_t sa[8], sb[8];

	memcpy(sa, h->mid, sizeof(sa));
	memcpy(sb, h->mid, sizeof(sb));
	if (h->head) {
		memcpy(h->first[0] + h->head, a, CHUNK - h->head);
		memcpy(h->first[1] + h->head, b, CHUNK - h->head);
		vf_sha256_hw_blocks2(sa, h->first[0], sb, h->first[1], 1);
	}
	if (h->n_direct)
		vf_sha256_hw_blocks2(sa, a + h->direct_off, sb, b + h->direct_off, h->n_direct);
	memcpy(h->last[0], a + h->tail_from, h->tail_len);
	memcpy(h->last[1], b + h->tail_from, h->tail_len);
	vf_sha256_hw_blocks2(sa, h->last[0], sb, h->last[1], h->n_tail);
	vf_sha256_state_digest(sa, out);
	vf_sha256_state_digest(sb, out + 32);
}

static void hw_one(struct vf_digest_blocks *h, const uint8_t *a, uint8_t *out)
{
	uint32_t s[8];

	memcpy(s, h->mid, sizeof(s));
	if (h->head) {
		memcpy(h->first[0] + h->head, a, CHUNK - h->head);
		vf_sha256_hw_blocks(s, h->first[0], 1);
	}
	if (h->n_direct)
		vf_sha256_hw_blocks(s, a + h->direct_off, h->n_direct);
	memcpy(h->last[0], a + h->tail_from, h->tail_len);
	vf_sha256_hw_blocks(s, h->last[0], h->n_tail);
	vf_sha256_state_digest(s, out);
}

int vf_digest_blocks_run(struct vf_digest_blocks *h, const uint8_t *blocks, uint64_t count,
			 uint8_t *out)
{
	const size_t bs = h->block_size, ds = h->digest_size;
	uint64_t i = 0;

	if (h->hw) {
		for (; i + 1 < count; i += 2)
			hw_two(h, blocks + i * bs, blocks + (i + 1) * bs, out + i * ds);
		if (i < count)
			hw_one(h, blocks + i * bs, out + i * ds);
		return 0;
	}
	for (; i < count; i++) {
		if (vf_digest_copy(h->work, h->base) ||
		    vf_digest_update(h->work, blocks + i * bs, bs) ||
		    (h->suffix_len && vf_digest_update(h->work, h->suffix, h->suffix_len)) ||
		    vf_digest_final(h->work, out + i * ds))
			return -EIO;
	}
	return 0;
}
