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
#include "tests/unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VECTORS "tests/vectors/verity/vectors.txt"

static void file_sha256(const char *path, char hex[65], uint64_t *size)
{
	uint8_t d[32];
	size_t len;
	uint8_t *buf = vf_test_read_file(path, &len);

	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), buf, len, d), 0);
	vf_hex_format(d, 32, hex);
	*size = len;
	free(buf);
}

static void run_vector(const char *line, const char *dir)
{
	char name[64], hash[16], salt[600], uuid[64], root_hex[200], sum_hex[80];
	unsigned long long seed, bytes, fmt, dbs, hbs, sb, want_size;
	char *data_path, *hash_path, got_sum[65], got_root[2 * VF_DIGEST_MAX + 1];
	struct vf_verity_params p;
	struct vf_verity_opts opts = { .threads = 2 };
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	uint64_t got_size;

	assert_int_equal(sscanf(line, "%63s %llu %llu %llu %15s %llu %llu %llu %599s %63s %199s %llu %79s",
				name, &seed, &bytes, &fmt, hash, &dbs, &hbs, &sb, salt, uuid, root_hex,
				&want_size, sum_hex), 13);
	data_path = vf_test_path(dir, "data");
	hash_path = vf_test_path(dir, "hash");
	unlink(hash_path);
	vf_test_make_file(data_path, seed, bytes);

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
	free(data_path);
	free(hash_path);
}

static void test_vectors(void **state)
{
	char line[2048];
	FILE *f = fopen(VECTORS, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		run_vector(line, *state);
		n++;
	}
	fclose(f);
	assert_true(n >= 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
