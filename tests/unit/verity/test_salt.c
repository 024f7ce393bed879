/* Salt parsing, random salts and random superblock UUIDs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/verity/verity.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void parse_ok(const char *text, struct vf_verity_params *p)
{
	struct vf_err err = { 0 };
	int r = vf_verity_salt_parse(text, p, &err);

	if (r)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* Parsing must fail with -EINVAL and `want` in the message; the old salt stays. */
static void parse_fails(const char *text, const char *want)
{
	struct vf_verity_params p;
	struct vf_err err = { 0 };
	int r;

	vf_verity_params_init(&p);
	p.salt[0] = 0x12;
	p.salt[1] = 0x34;
	p.salt_size = 2;
	r = vf_verity_salt_parse(text, &p, &err);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	vf_test_assert_contains(err.msg, want);
	assert_int_equal(p.salt_size, 2);
	assert_int_equal(p.salt[0], 0x12);
	assert_int_equal(p.salt[1], 0x34);
}

static void test_dash_is_empty(void **state)
{
	struct vf_verity_params p;

	(void)state;
	vf_verity_params_init(&p);
	p.salt_size = 9;
	parse_ok("-", &p);
	assert_int_equal(p.salt_size, 0);
}

static void test_hex(void **state)
{
	struct vf_verity_params p;

	(void)state;
	vf_verity_params_init(&p);
	parse_ok("00ff", &p);
	assert_int_equal(p.salt_size, 2);
	assert_int_equal(p.salt[0], 0x00);
	assert_int_equal(p.salt[1], 0xff);

	parse_ok("DEADbeef", &p);
	assert_int_equal(p.salt_size, 4);
	assert_memory_equal(p.salt, "\xde\xad\xbe\xef", 4);
}

static void test_rejects(void **state)
{
	char *long_salt = malloc(2 * 257 + 1);

	(void)state;
	assert_non_null(long_salt);
	parse_fails("abc", "salt 'abc' is not an even number of hex digits");
	parse_fails("zz", "salt 'zz' is not an even number of hex digits");
	parse_fails("0x00", "not an even number of hex digits");
	parse_fails("00 1", "not an even number of hex digits");
	parse_fails("--", "not an even number of hex digits");

	memset(long_salt, 'a', 2 * 257);
	long_salt[2 * 257] = '\0';
	parse_fails(long_salt, "salt of 257 bytes is too long: at most 256");
	free(long_salt);
}

static void test_max_size(void **state)
{
	struct vf_verity_params p;
	char text[2 * VF_VERITY_MAX_SALT + 1];
	static const char digits[] = "0123456789abcdef";

	(void)state;
	for (int i = 0; i < VF_VERITY_MAX_SALT; i++) {
		text[2 * i] = digits[(i >> 4) & 15];
		text[2 * i + 1] = digits[i & 15];
	}
	text[2 * VF_VERITY_MAX_SALT] = '\0';
	vf_verity_params_init(&p);
	parse_ok(text, &p);
	assert_int_equal(p.salt_size, 256);
	for (int i = 0; i < VF_VERITY_MAX_SALT; i++)
		assert_int_equal(p.salt[i], i);
}

static void test_random_salt(void **state)
{
	struct vf_verity_params a, b;
	struct vf_err err = { 0 };
	static const uint8_t zero[32];

	(void)state;
	vf_verity_params_init(&a);
	vf_verity_params_init(&b);
	assert_int_equal(vf_verity_salt_random(&a, 32, &err), 0);
	assert_int_equal(vf_verity_salt_random(&b, 32, &err), 0);
	assert_int_equal(a.salt_size, 32);
	assert_int_equal(b.salt_size, 32);
	assert_memory_not_equal(a.salt, b.salt, 32);
	assert_memory_not_equal(a.salt, zero, 32);
	/* nothing beyond the requested size is touched */
	for (int i = 32; i < VF_VERITY_MAX_SALT; i++)
		assert_int_equal(a.salt[i], 0);

	assert_int_equal(vf_verity_salt_random(&a, 257, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "salt of 257 bytes is too long");
	assert_int_equal(a.salt_size, 32);
}

static void test_random_uuid(void **state)
{
	struct vf_verity_params a, b;
	struct vf_err err = { 0 };

	(void)state;
	vf_verity_params_init(&a);
	vf_verity_params_init(&b);
	for (int round = 0; round < 16; round++) {
		assert_int_equal(vf_verity_uuid_random(&a, &err), 0);
		assert_int_equal(a.uuid[6] >> 4, 4);        /* version 4 */
		assert_int_equal(a.uuid[8] & 0xc0, 0x80);   /* RFC 4122 variant */
	}
	assert_int_equal(vf_verity_uuid_random(&b, &err), 0);
	assert_memory_not_equal(a.uuid, b.uuid, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dash_is_empty),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_random_salt),
		cmocka_unit_test(test_random_uuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
