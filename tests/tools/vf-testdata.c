/*
 * vf-testdata: deterministic pseudo-random test data (splitmix64), so tests
 * and known-answer vectors can regenerate the same bytes anywhere.
 *   vf-testdata <seed> <bytes>      write the bytes to stdout
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	uint8_t buf[65536];
	uint64_t seed, left;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: vf-testdata <seed> <bytes>\n");
		return 2;
	}
	errno = 0;
	seed = strtoull(argv[1], &end, 0);
	if (errno || *end)
		return 2;
	left = strtoull(argv[2], &end, 0);
	if (errno || *end)
		return 2;
	while (left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = next(&seed);

			for (size_t k = 0; k < 8 && i + k < n; k++)
				buf[i + k] = (uint8_t)(v >> (8 * k));
		}
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
		left -= n;
	}
	return fflush(stdout) ? 1 : 0;
}
