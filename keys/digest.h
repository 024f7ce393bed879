/**
 * @file digest.h
 * @brief Message digests and random bytes: vforge's seam to the crypto backend.
 *
 * Every hash vforge computes goes through this header; only keys/ includes
 * OpenSSL. A `struct vf_digest` is one running hash context:
 *
 *     struct vf_digest *d = vf_digest_new(alg);      // NULL on ENOMEM
 *     vf_digest_update(d, salt, n);                   // prepare once
 *     vf_digest_copy(tmp, d); vf_digest_update(tmp, block, bs);
 *     vf_digest_final(tmp, out);                      // tmp must be reset/copied before reuse
 *     vf_digest_free(d);
 *
 * Contexts are not shared between threads; each thread copies its own.
 */
#ifndef VF_KEYS_DIGEST_H
#define VF_KEYS_DIGEST_H

#include "builder/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest digest size of any supported algorithm, in bytes. */
#define VF_DIGEST_MAX 64

/** A digest algorithm (static, never freed). */
struct vf_digest_alg;

/** A running digest context (opaque). */
struct vf_digest;

/**
 * Find an algorithm by its lower-case name: "sha1", "sha256", "sha384" or
 * "sha512". Returns NULL for an unknown name.
 */
const struct vf_digest_alg *vf_digest_alg_get(const char *name);

/** The canonical (lower-case) name of an algorithm. */
const char *vf_digest_alg_name(const struct vf_digest_alg *alg);

/** The digest size in bytes. */
size_t vf_digest_alg_size(const struct vf_digest_alg *alg);

/** A new context, already initialised. NULL on allocation failure. */
struct vf_digest *vf_digest_new(const struct vf_digest_alg *alg);

/** Free a context; accepts NULL. */
void vf_digest_free(struct vf_digest *d);

/** Restart the context with no input. Returns 0 or -EIO. */
int vf_digest_reset(struct vf_digest *d);

/** Feed bytes. Returns 0 or -EIO. */
int vf_digest_update(struct vf_digest *d, const void *data, size_t len);

/**
 * Finish and write vf_digest_alg_size() bytes to `out`. The context must be
 * reset or overwritten with vf_digest_copy() before it is used again.
 * Returns 0 or -EIO.
 */
int vf_digest_final(struct vf_digest *d, uint8_t *out);

/** Make `dst` (of the same algorithm) a copy of `src`'s state. 0 or -EIO. */
int vf_digest_copy(struct vf_digest *dst, const struct vf_digest *src);

/** One-shot digest of a buffer. Returns 0, -ENOMEM or -EIO. */
int vf_digest_buffer(const struct vf_digest_alg *alg, const void *data, size_t len,
		     uint8_t *out);

/** Most bytes of prefix plus suffix a vf_digest_blocks takes (a verity salt is at most 256). */
#define VF_DIGEST_BLOCKS_SALT_MAX 1024

/**
 * Many digests of equal-size blocks, each salted: the digest of
 * prefix || block || suffix for every block, as dm-verity computes its tree
 * (format 1 salts before the block, format 0 after):
 *
 *     struct vf_digest_blocks *h = vf_digest_blocks_new(alg, salt, n, NULL, 0, 4096);
 *     vf_digest_blocks_run(h, data, count, out);  // out: count * vf_digest_alg_size(alg) bytes
 *     vf_digest_blocks_free(h);
 *
 * With sha256 on a CPU with SHA-256 instructions, blocks are hashed two at
 * a time, interleaved (nearly twice the throughput of one at a time);
 * otherwise one at a time through the backend. The digests are the same.
 * An object is used by one thread at a time; prefix and suffix are copied.
 */
struct vf_digest_blocks;

/**
 * A new block hasher. NULL on allocation failure, or when prefix plus suffix
 * exceed VF_DIGEST_BLOCKS_SALT_MAX or block_size is 0.
 */
struct vf_digest_blocks *vf_digest_blocks_new(const struct vf_digest_alg *alg, const void *prefix,
					      size_t prefix_len, const void *suffix,
					      size_t suffix_len, size_t block_size);

/** Free it; accepts NULL. */
void vf_digest_blocks_free(struct vf_digest_blocks *h);

/**
 * Hash `count` consecutive blocks at `blocks` (count * block_size bytes)
 * into out (count digests, back to back). Returns 0 or -EIO.
 */
int vf_digest_blocks_run(struct vf_digest_blocks *h, const uint8_t *blocks, uint64_t count,
			 uint8_t *out);

/**
 * A SHA-256 stream that can be updated in pairs: vf_sha256_update2() feeds
 * two independent streams at once, their 64-byte chunks interleaved (SHA-NI
 * lanes, as vf_digest_blocks), at little more than the cost of one. Used
 * where two threads each hash a stream of their own and one of them can take
 * both (importing a package: its contents and its pin). Without SHA-NI each
 * stream is a plain vf_digest and a pair is two updates. The digests are
 * FIPS 180-4's whichever way they are fed. A stream is used by one thread at
 * a time.
 */
struct vf_sha256 {
	uint32_t h[8];          /**< the chaining state (SHA-NI path) */
	uint64_t len;           /**< bytes fed so far */
	uint8_t buf[64];        /**< the partial chunk: len % 64 bytes */
	struct vf_digest *d;    /**< without SHA-NI: the backend does it all */
};

/** Whether vf_sha256_update2() interleaves two streams here (SHA-NI), not one after the other. */
bool vf_sha256_lanes(void);

/** Start a stream. Returns 0 or -ENOMEM. Release with vf_sha256_release(). */
int vf_sha256_init(struct vf_sha256 *s);

/** Start over (the same stream, nothing fed). Returns 0 or -EIO. */
int vf_sha256_reset(struct vf_sha256 *s);

/** Feed `len` bytes. Returns 0 or -EIO. */
int vf_sha256_update(struct vf_sha256 *s, const void *data, size_t len);

/**
 * Feed `na` bytes to `a` and `nb` to `b` (two different streams), as far as
 * they go two chunks at a time. Returns 0 or -EIO.
 */
int vf_sha256_update2(struct vf_sha256 *a, const void *pa, size_t na, struct vf_sha256 *b,
		      const void *pb, size_t nb);

/** The digest of what was fed into out[32]; reset before feeding more. 0 or -EIO. */
int vf_sha256_final(struct vf_sha256 *s, uint8_t out[32]);

/** Free what the stream holds; accepts a zeroed or released stream. */
void vf_sha256_release(struct vf_sha256 *s);

/**
 * HMAC-SHA256 of `data` under `key` into out[32]. Returns 0 or -EIO.
 * Used to derive identifiers (UUIDs, salts, seeds) from a build seed.
 */
int vf_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		   uint8_t out[32]);

/**
 * Fill `buf` with `len` bytes from the system's cryptographic random source.
 * Returns 0 or -EIO with a message.
 */
int vf_random_bytes(void *buf, size_t len, struct vf_err *err);

#endif
