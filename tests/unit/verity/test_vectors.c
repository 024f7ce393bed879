/*
 * Known answers from veritysetup (tests/vectors/verity/vectors.txt, made by
 * tests/vectors/verity/make-vectors): for each line, regenerate the data,
 * format it with vforge and compare the root hash and the whole hash file
 * (size and sha256) with what veritysetup wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/verity/verity.h"
#include "keys/digest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VECTORS "tests/vectors/verity/vectors.txt"

/* The same generator as tests/tools/vf-testdata.c (splitmix64). */
static void testdata(uint64_t seed, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		for (size_t k = 0; k < 8 && i + k < len; k++)
			out[i + k] = (uint8_t)(z >> (8 * k));
	}
}

static void file_sha256(const char *path, char hex[65], uint64_t *size)
{
	struct stat st;
	uint8_t *buf, d[32];
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), buf, (size_t)st.st_size, d), 0);
	vf_hex_format(d, 32, hex);
	*size = (uint64_t)st.st_size;
	free(buf);
}

static void run_vector(const char *line, const char *dir)
{
	char name[64], hash[16], salt[600], uuid[64], root_hex[200], sum_hex[80];
	unsigned long long seed, bytes, fmt, dbs, hbs, sb, want_size;
	char data_path[512], hash_path[512], got_sum[65], got_root[2 * VF_DIGEST_MAX + 1];
	struct vf_verity_params p;
	struct vf_verity_opts opts = { .threads = 2 };
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	uint64_t got_size;
	uint8_t *data;
	FILE *f;

	assert_int_equal(sscanf(line, "%63s %llu %llu %llu %15s %llu %llu %llu %599s %63s %199s %llu %79s",
				name, &seed, &bytes, &fmt, hash, &dbs, &hbs, &sb, salt, uuid, root_hex,
				&want_size, sum_hex), 13);
	snprintf(data_path, sizeof(data_path), "%s/data", dir);
	snprintf(hash_path, sizeof(hash_path), "%s/hash", dir);
	unlink(hash_path);
	data = malloc(bytes);
	assert_non_null(data);
	testdata(seed, data, bytes);
	f = fopen(data_path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, bytes, f), bytes);
	assert_int_equal(fclose(f), 0);
	free(data);

	vf_verity_params_init(&p);
	snprintf(p.hash_name, sizeof(p.hash_name), "%s", hash);
	p.hash_type = (uint32_t)fmt;
	p.data_block_size = (uint32_t)dbs;
	p.hash_block_size = (uint32_t)hbs;
	p.superblock = sb == 1;
	assert_int_equal(vf_verity_salt_parse(salt, &p, &err), 0);
	if (p.superblock)
		assert_int_equal(vf_uuid_parse(uuid, p.uuid), 0);
	if (vf_verity_format_file(data_path, hash_path, &p, &opts, &res, &err) != 0)
		fail_msg("vector %s: %s", name, err.msg);
	vf_hex_format(res.root, res.root_size, got_root);
	if (strcmp(got_root, root_hex) != 0)
		fail_msg("vector %s: root %s, veritysetup %s", name, got_root, root_hex);
	file_sha256(hash_path, got_sum, &got_size);
	if (got_size != want_size || strcmp(got_sum, sum_hex) != 0)
		fail_msg("vector %s: hash file %llu bytes sha256 %s, veritysetup %llu bytes %s", name,
			 (unsigned long long)got_size, got_sum, want_size, sum_hex);
	unlink(data_path);
	unlink(hash_path);
}

static void test_vectors(void **state)
{
	char line[2048], dir[] = "/tmp/vf-vectors.XXXXXX";
	FILE *f = fopen(VECTORS, "r");
	int n = 0;

	(void)state;
	assert_non_null(f);
	assert_non_null(mkdtemp(dir));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		run_vector(line, dir);
		n++;
	}
	fclose(f);
	rmdir(dir);
	assert_true(n >= 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
