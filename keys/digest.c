#include "keys/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct vf_digest_alg {
	const char *name;
	size_t size;
	const EVP_MD *(*md)(void);
};

struct vf_digest {
	const struct vf_digest_alg *alg;
	EVP_MD_CTX *ctx;
};

static const struct vf_digest_alg algs[] = {
	{ "sha1", 20, EVP_sha1 },
	{ "sha256", 32, EVP_sha256 },
	{ "sha384", 48, EVP_sha384 },
	{ "sha512", 64, EVP_sha512 },
};

/* Process-wide: so that hashing a short buffer is not mostly its setup. */
static const EVP_MD *fetched[sizeof(algs) / sizeof(algs[0])];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

/*
 * OpenSSL 3 looks a legacy EVP_MD (EVP_sha256()) up in its provider tables,
 * under a lock, on every EVP_DigestInit_ex; an EVP_MD fetched once is used
 * as it is. Not freed: they live as long as the process (reachable, so no
 * leak report). Where a fetch fails the legacy one is used.
 */
static void fetch_all(void)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		fetched[i] = EVP_MD_fetch(NULL, algs[i].name, NULL);
}

static const EVP_MD *md_of(const struct vf_digest_alg *alg)
{
	const EVP_MD *m;

	pthread_once(&fetch_once, fetch_all);
	m = fetched[alg - algs];
	return m ? m : alg->md();
}

const struct vf_digest_alg *vf_digest_alg_get(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

const char *vf_digest_alg_name(const struct vf_digest_alg *alg)
{
	return alg->name;
}

size_t vf_digest_alg_size(const struct vf_digest_alg *alg)
{
	return alg->size;
}

struct vf_digest *vf_digest_new(const struct vf_digest_alg *alg)
{
	struct vf_digest *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->alg = alg;
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || vf_digest_reset(d)) {
		vf_digest_free(d);
		return NULL;
	}
	return d;
}

void vf_digest_free(struct vf_digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

int vf_digest_reset(struct vf_digest *d)
{
	return EVP_DigestInit_ex(d->ctx, md_of(d->alg), NULL) == 1 ? 0 : -EIO;
}

int vf_digest_update(struct vf_digest *d, const void *data, size_t len)
{
	return EVP_DigestUpdate(d->ctx, data, len) == 1 ? 0 : -EIO;
}

int vf_digest_final(struct vf_digest *d, uint8_t *out)
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(d->ctx, out, &n) != 1 || n != d->alg->size)
		return -EIO;
	return 0;
}

int vf_digest_copy(struct vf_digest *dst, const struct vf_digest *src)
{
	if (dst->alg != src->alg)
		return -EINVAL;
	return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) == 1 ? 0 : -EIO;
}

int vf_digest_buffer(const struct vf_digest_alg *alg, const void *data, size_t len,
		     uint8_t *out)
{
	unsigned int n = 0;

	/* SHA-256 as a stream: on SHA-NI vforge's own rounds, no context to allocate */
	if (alg->md == EVP_sha256) {
		struct vf_sha256 s;
		int r = vf_sha256_init(&s);

		if (!r)
			r = vf_sha256_update(&s, data, len);
		if (!r)
			r = vf_sha256_final(&s, out);
		vf_sha256_release(&s);
		return r;
	}
	if (EVP_Digest(data, len, out, &n, md_of(alg), NULL) != 1 || n != alg->size)
		return -EIO;
	return 0;
}

int vf_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		   uint8_t out[32])
{
	unsigned int n = 0;

	if (key_len > INT32_MAX)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != 32)
		return -EIO;
	return 0;
}

int vf_random_bytes(void *buf, size_t len, struct vf_err *err)
{
	if (len > (size_t)INT32_MAX)
		return vf_err_set(err, EINVAL, "random request of %zu bytes is too large", len);
	if (RAND_bytes(buf, (int)len) != 1)
		return vf_err_set(err, EIO, "the system random source failed");
	return 0;
}
