/* builder/initramfs: the ELF64 .modinfo reader on good, damaged and hostile files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/initramfs/initramfs.h"
#include "tests/unit/initramfs/elf_test.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOOD "license=GPL\0description=x\0depends=reed_solomon,dm-mod,dm-bufio\0" \
	     "retpoline=Y\0intree=Y\0name=dm_verity\0vermagic=6.1.0 SMP mod_unload"

static void expect_bad(const uint8_t *p, size_t len, const char *want)
{
	struct vf_modinfo mi;
	struct vf_err err = { 0 };

	assert_int_equal(vf_modinfo_parse(p, len, &mi, &err), -EINVAL);
	vf_test_assert_contains(err.msg, want);
	assert_null(mi.name);
	assert_null(mi.depends);
	assert_int_equal(mi.n_depends, 0);
}

/* A copy of the module p with `width` bytes at `at` set to v (little-endian) fails with `want`. */
static void expect_patched(const uint8_t *p, uint8_t *q, size_t len, size_t at, uint64_t v,
			   unsigned width, const char *want)
{
	memcpy(q, p, len);
	put_le(q + at, v, width, false);
	expect_bad(q, len, want);
}

static void check_good(bool be)
{
	struct vf_modinfo mi;
	struct vf_err err = { 0 };
	size_t len;
	uint8_t *p = MAKE_MODULE(GOOD, be, NULL, &len);

	assert_int_equal(vf_modinfo_parse(p, len, &mi, &err), 0);
	assert_string_equal(mi.name, "dm_verity");
	assert_int_equal(mi.n_depends, 3);
	assert_string_equal(mi.depends[0], "reed_solomon");
	assert_string_equal(mi.depends[1], "dm-mod");
	assert_string_equal(mi.depends[2], "dm-bufio");
	vf_modinfo_release(&mi);
	vf_modinfo_release(&mi); /* twice: zeroed */
	free(p);
}

static void test_good(void **state)
{
	(void)state;
	check_good(false);
	check_good(true);
}

static void test_fields(void **state)
{
	struct vf_modinfo mi;
	struct vf_err err = { 0 };
	size_t len;
	uint8_t *p;

	(void)state;
	/* empty depends=, no name=, padding NULs between strings */
	p = MAKE_MODULE("depends=\0\0\0license=GPL", false, NULL, &len);
	assert_int_equal(vf_modinfo_parse(p, len, &mi, &err), 0);
	assert_null(mi.name);
	assert_int_equal(mi.n_depends, 0);
	vf_modinfo_release(&mi);
	free(p);
	/* empty entries in the list are dropped; keys only match whole prefixes */
	p = MAKE_MODULE("xname=a\0depends=,a,,b,\0name=m", false, NULL, &len);
	assert_int_equal(vf_modinfo_parse(p, len, &mi, &err), 0);
	assert_string_equal(mi.name, "m");
	assert_int_equal(mi.n_depends, 2);
	assert_string_equal(mi.depends[0], "a");
	assert_string_equal(mi.depends[1], "b");
	vf_modinfo_release(&mi);
	free(p);
	/* an empty section */
	p = make_elf_named(".modinfo", "", 0, false, NULL, &len);
	assert_int_equal(vf_modinfo_parse(p, len, &mi, &err), 0);
	assert_null(mi.name);
	free(p);

	p = MAKE_MODULE("name=a\0name=b", false, NULL, &len);
	expect_bad(p, len, "'name=' appears twice");
	free(p);
	p = MAKE_MODULE("depends=a\0depends=b", false, NULL, &len);
	expect_bad(p, len, "'depends=' appears twice");
	free(p);
	p = MAKE_MODULE("depends=a,b c", false, NULL, &len);
	expect_bad(p, len, "depends: byte 0x20 at 1");
	free(p);
	p = MAKE_MODULE("name=../x", false, NULL, &len);
	expect_bad(p, len, "name: byte 0x2e at 0");
	free(p);
	p = MAKE_MODULE("name=", false, NULL, &len);
	expect_bad(p, len, "'name=' is empty");
	free(p);
	p = MAKE_MODULE("name=a12345678901234567890123456789012345678901234567890123456", false,
			NULL, &len);
	expect_bad(p, len, "name: expected 1 to 55 bytes, got 57");
	free(p);
	/* the last string runs to the end of the section without its NUL */
	p = make_elf_named(".modinfo", "name=abc", 8, false, NULL, &len);
	expect_bad(p, len, "the last string is not NUL-terminated");
	free(p);
}

static void test_too_many_depends(void **state)
{
	char info[VF_MODINFO_MAX_DEPENDS * 3 + 32];
	size_t o = 0, len;
	uint8_t *p;

	(void)state;
	o += (size_t)snprintf(info, sizeof(info), "depends=");
	for (int i = 0; i <= VF_MODINFO_MAX_DEPENDS; i++)
		o += (size_t)snprintf(info + o, sizeof(info) - o, "%sa", i ? "," : "");
	p = make_elf_named(".modinfo", info, o + 1, false, NULL, &len);
	expect_bad(p, len, "depends: 257 entries, more than the 256 allowed");
	free(p);
}

static void test_not_elf(void **state)
{
	size_t len;
	uint8_t *p = MAKE_MODULE(GOOD, false, NULL, &len);
	uint8_t *q = malloc(len);

	(void)state;
	expect_bad(p, 63, "not an ELF file");
	expect_bad((const uint8_t *)"", 0, "not an ELF file");
	memcpy(q, p, len);
	q[1] = 'X';
	expect_bad(q, len, "not an ELF file");
	memcpy(q, p, len);
	q[4] = 1;
	expect_bad(q, len, "not a 64-bit ELF file (class 1)");
	memcpy(q, p, len);
	q[5] = 3;
	expect_bad(q, len, "unknown ELF byte order 3");
	memcpy(q, p, len);
	q[16] = 2; /* ET_EXEC */
	expect_bad(q, len, "not a relocatable ELF object (e_type 2, expected 1)");
	memcpy(q, p, len);
	q[0x3a] = 40;
	expect_bad(q, len, "section header size 40, expected 64");
	memcpy(q, p, len);
	q[0x3c] = 0;
	expect_bad(q, len, "no section headers");
	free(q);
	free(p);
}

/* Every prefix of a good file is refused (never read past its end: ASan watches). */
static void test_truncated(void **state)
{
	struct elf_layout l;
	size_t len;
	uint8_t *p = MAKE_MODULE(GOOD, false, &l, &len);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		uint8_t *q = malloc(n ? n : 1);
		struct vf_modinfo mi;
		struct vf_err err = { 0 };

		memcpy(q, p, n);
		assert_int_equal(vf_modinfo_parse(q, n, &mi, &err), -EINVAL);
		assert_true(err.msg[0] != '\0');
		free(q);
	}
	expect_bad(p, len - 1, "the section header table (3 entries at");
	free(p);
}

static void test_hostile_offsets(void **state)
{
	struct elf_layout l;
	size_t len;
	uint8_t *p = MAKE_MODULE(GOOD, false, &l, &len);
	uint8_t *q = malloc(len);

	(void)state;
	/* section header table offset near 2^64: no overflow */
	expect_patched(p, q, len, 0x28, UINT64_MAX - 10, 8, "lies outside the file");
	/* a huge .modinfo size, and one that wraps around */
	expect_patched(p, q, len, l.shdr_modinfo + 32, UINT64_MAX, 8,
		       ".modinfo (18446744073709551615 bytes at 64) lies outside the file");
	memcpy(q, p, len);
	put_le(q + l.shdr_modinfo + 24, UINT64_MAX - 2, 8, false);
	put_le(q + l.shdr_modinfo + 32, 16, 8, false);
	expect_bad(q, len, "lies outside the file");
	/* the name table outside the file, or its index out of range */
	expect_patched(p, q, len, l.shdr_strtab + 32, 1u << 30, 8,
		       "the section name table lies outside the file");
	expect_patched(p, q, len, 0x3e, 3, 2,
		       "section name table index 3 out of range (3 sections)");
	expect_patched(p, q, len, 0x3e, 0xffff, 2, "section name table index 65535 out of range");
	/* a section name past its table, or running off its end */
	expect_patched(p, q, len, l.shdr_modinfo, 4000, 4,
		       "section 1: name offset 4000 outside the section name table");
	/* cut "modinfo" */
	expect_patched(p, q, len, l.shdr_strtab + 32, 1 + strlen(".modinfo") - 2, 8,
		       "name is not NUL-terminated");
	/* SHT_NOBITS .modinfo */
	expect_patched(p, q, len, l.shdr_modinfo + 4, 8, 4,
		       ".modinfo has no data in the file (SHT_NOBITS)");
	free(q);
	free(p);
}

static void test_overlaps(void **state)
{
	struct elf_layout l;
	size_t len;
	uint8_t *p = MAKE_MODULE(GOOD, false, &l, &len);
	uint8_t *q = malloc(len);

	(void)state;
	/* .modinfo over the ELF header */
	expect_patched(p, q, len, l.shdr_modinfo + 24, 0, 8,
		       ".modinfo overlaps the ELF header, the section header table or the "
		       "section name table");
	/* over the section header table */
	memcpy(q, p, len);
	put_le(q + l.shdr_modinfo + 24, l.shoff, 8, false);
	put_le(q + l.shdr_modinfo + 32, 64, 8, false);
	expect_bad(q, len, ".modinfo overlaps");
	/* over the name table */
	memcpy(q, p, len);
	put_le(q + l.shdr_modinfo + 24, l.strtab_off, 8, false);
	put_le(q + l.shdr_modinfo + 32, 4, 8, false);
	expect_bad(q, len, ".modinfo overlaps");
	/* the section header table over the ELF header */
	expect_patched(p, q, len, 0x28, 0, 8, "the section header table overlaps the ELF header");
	free(q);
	free(p);
}

static void test_no_modinfo(void **state)
{
	struct elf_layout l;
	size_t len;
	uint8_t *p = make_elf_named(".text", "abc", 3, false, &l, &len);
	uint8_t *q;

	(void)state;
	expect_bad(p, len, "no .modinfo section");
	free(p);
	/* two of them: the name table's entry for [2] renamed too */
	p = MAKE_MODULE(GOOD, false, &l, &len);
	q = p;
	put_le(q + l.shdr_strtab, 1, 4, false);
	expect_bad(q, len, "two .modinfo sections (1 and 2)");
	free(p);
}

/* Random damage anywhere never crashes or reads out of bounds (ASan watches). */
static void test_random_damage(void **state)
{
	uint64_t seed = 42;
	size_t len;
	uint8_t *p = MAKE_MODULE(GOOD, false, NULL, &len);
	uint8_t *q = malloc(len);

	(void)state;
	for (int round = 0; round < 20000; round++) {
		struct vf_modinfo mi;
		struct vf_err err = { 0 };
		int r;

		memcpy(q, p, len);
		for (int k = 0; k < 3; k++) {
			uint64_t x = vf_test_splitmix64(&seed);

			q[x % len] = (uint8_t)(x >> 32);
		}
		r = vf_modinfo_parse(q, len, &mi, &err);
		if (r)
			assert_true(err.msg[0] != '\0');
		vf_modinfo_release(&mi);
	}
	free(q);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_too_many_depends),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hostile_offsets),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_no_modinfo),
		cmocka_unit_test(test_random_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
