/*
 * vf-digest-speed: one core's throughput of salted 4 KiB block digests
 * (dm-verity's leaf level), OpenSSL one block at a time against vforge's
 * SHA-NI path two blocks at a time, on the same 64 MiB in memory. Prints
 * "generic GB/s, two-at-a-time GB/s" for make bench-verity. Not a test.
 */
#include "keys/digest.h"
#include "keys/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* best of 3 passes, in GB/s */
static double speed(bool allow_hw, const uint8_t *data, uint64_t n, uint8_t *out)
{
	static const uint8_t salt[32] = { 1 };
	struct vf_digest_blocks *h = vf_keys_digest_blocks_new(vf_digest_alg_get("sha256"), salt,
							       sizeof(salt), NULL, 0, 4096,
							       allow_hw);
	double best = 0;

	if (!h)
		return 0;
	for (int pass = 0; pass < 3; pass++) {
		double t = seconds();

		if (vf_digest_blocks_run(h, data, n, out))
			break;
		t = seconds() - t;
		if (t > 0 && (double)n * 4096 / t / 1e9 > best)
			best = (double)n * 4096 / t / 1e9;
	}
	vf_digest_blocks_free(h);
	return best;
}

int main(void)
{
	const uint64_t n = 16384;
	uint8_t *data = malloc(n * 4096), *out = malloc(n * 32);

	if (!data || !out)
		return 1;
	for (uint64_t i = 0; i < n * 4096; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	printf("one core, salted 4 KiB blocks: OpenSSL one at a time %.2f GB/s",
	       speed(false, data, n, out));
	if (vf_sha256_hw_available())
		printf(", vforge SHA-NI two at a time %.2f GB/s\n", speed(true, data, n, out));
	else
		printf(" (this CPU has no SHA-NI: vforge uses the same)\n");
	free(data);
	free(out);
	return 0;
}
