/* vf_gpt_check(): every refusal, with its numbers, and the edges that pass. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/uuid.h"
#include "builder/gpt/gpt.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MIB_LBA 2048u
#define DISK (64ull << 20) /* 131072 sectors, last usable 131038 */

static struct vf_gpt_part parts[VF_GPT_ENTRIES + 1];

/* A valid table of n partitions of 1 MiB each, one after the other from 1 MiB. */
static struct vf_gpt_table table(size_t n)
{
	struct vf_gpt_table t = { .disk_size = DISK, .parts = parts, .n_parts = n };

	memset(parts, 0, sizeof(parts));
	assert_int_equal(vf_uuid_parse("11111111-2222-4333-8444-555555555555", t.disk_guid), 0);
	for (size_t i = 0; i < n; i++) {
		struct vf_gpt_part *p = &parts[i];

		snprintf(p->name, sizeof(p->name), "PART-%zu", i + 1);
		assert_int_equal(vf_uuid_parse("0fc63daf-8483-4772-8e79-3d69d8477de4", p->type), 0);
		assert_int_equal(vf_uuid_parse("aaaaaaaa-0000-4000-8000-000000000000", p->uuid), 0);
		p->uuid[15] = (uint8_t)(i + 1);
		p->uuid[14] = (uint8_t)((i + 1) >> 8);
		p->first_lba = MIB_LBA * (i + 1);
		p->size_lba = MIB_LBA;
	}
	return t;
}

static void ok(const struct vf_gpt_table *t)
{
	struct vf_err err = { 0 };
	int r = vf_gpt_check(t, &err);

	if (r)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(r, 0);
}

static void fails(const struct vf_gpt_table *t, const char *want)
{
	struct vf_err err = { 0 };

	assert_int_equal(vf_gpt_check(t, &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	vf_test_assert_contains(err.msg, want);
}

static void test_valid(void **state)
{
	struct vf_gpt_table t = table(3);

	(void)state;
	ok(&t);
	t = table(0);
	ok(&t);
	/* the last partition may end exactly on the last usable sector */
	t = table(1);
	parts[0].first_lba = 2048;
	parts[0].size_lba = (131038 + 1 - 2048) / MIB_LBA * MIB_LBA;
	ok(&t);
	/* adjacent partitions do not overlap; order in the table is free */
	t = table(3);
	parts[0].first_lba = 3 * MIB_LBA;
	parts[2].first_lba = 1 * MIB_LBA;
	ok(&t);
	/* all 64 attribute bits but the reserved ones */
	parts[1].attrs = ~VF_GPT_ATTR_RESERVED;
	ok(&t);
}

static void test_last_usable(void **state)
{
	(void)state;
	assert_int_equal(vf_gpt_last_usable_lba(DISK), 131072 - 34);
	assert_int_equal(vf_gpt_last_usable_lba(2082 * 512), 2048);
	assert_int_equal(vf_gpt_last_usable_lba(2081 * 512), 0);
	assert_int_equal(vf_gpt_last_usable_lba(0), 0);
	/* a trailing partial sector does not count */
	assert_int_equal(vf_gpt_last_usable_lba(DISK + 511), 131072 - 34);
}

static void test_disk(void **state)
{
	struct vf_gpt_table t = table(0);

	(void)state;
	fails(NULL, "no partition table");
	t.disk_size = DISK + 100;
	fails(&t, "disk size of 67108964 bytes is not a multiple of 512");
	t.disk_size = 2081 * 512;
	fails(&t, "disk size of 1065472 bytes is too small for a GPT whose first usable sector "
		  "is 2048: at least 1065984 bytes needed");
	t.disk_size = 2082 * 512;
	ok(&t);
	t = table(0);
	memset(t.disk_guid, 0, 16);
	fails(&t, "disk GUID is all zeros");
	t = table(1);
	t.parts = NULL;
	fails(&t, "1 partitions but no partition array");
}

static void test_count(void **state)
{
	struct vf_gpt_table t = table(VF_GPT_ENTRIES);

	(void)state;
	t.disk_size = 256ull << 20;
	ok(&t);
	t = table(VF_GPT_ENTRIES + 1);
	t.disk_size = 256ull << 20;
	fails(&t, "129 partitions, but a GPT holds at most 128");
}

static void test_names(void **state)
{
	struct vf_gpt_table t = table(2);

	(void)state;
	memset(parts[1].name, 'x', VF_GPT_NAME_MAX);
	parts[1].name[VF_GPT_NAME_MAX] = '\0';
	ok(&t);
	memset(parts[1].name, 'y', sizeof(parts[1].name));
	fails(&t, "partition 2: name 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...' is longer than 36 "
		  "characters");
	t = table(2);
	strcpy(parts[0].name, "ro\xc3\xa9t");
	fails(&t, "partition 1: name byte 2 is 0xc3, not printable ASCII");
	strcpy(parts[0].name, "a\tb");
	fails(&t, "partition 1: name byte 1 is 0x09, not printable ASCII");
	strcpy(parts[0].name, "a\x7f");
	fails(&t, "partition 1: name byte 1 is 0x7f, not printable ASCII");
	/* empty names are allowed, twice too */
	parts[0].name[0] = parts[1].name[0] = '\0';
	ok(&t);
}

static void test_ids(void **state)
{
	struct vf_gpt_table t = table(2);

	(void)state;
	memset(parts[1].type, 0, 16);
	fails(&t, "partition 2 'PART-2': type GUID is all zeros, which marks an unused entry");
	t = table(2);
	memset(parts[1].uuid, 0, 16);
	fails(&t, "partition 2 'PART-2': partition UUID is all zeros");
	t = table(2);
	memcpy(parts[0].uuid, t.disk_guid, 16);
	fails(&t, "partition 1 'PART-1': partition UUID is the disk GUID");
}

static void test_geometry(void **state)
{
	struct vf_gpt_table t = table(2);

	(void)state;
	parts[1].size_lba = 0;
	fails(&t, "partition 2 'PART-2': size is zero");
	t = table(2);
	parts[1].first_lba = 4097;
	fails(&t, "partition 2 'PART-2': start sector 4097 is not a multiple of 2048 (1 MiB)");
	t = table(2);
	parts[1].size_lba = 2047;
	fails(&t, "partition 2 'PART-2': size of 2047 sectors is not a multiple of 2048 (1 MiB)");
	t = table(2);
	parts[0].first_lba = 0;
	fails(&t, "partition 1 'PART-1': starts at sector 0, before the first usable sector 2048");
	t = table(2);
	parts[1].first_lba = UINT64_MAX / MIB_LBA * MIB_LBA;
	parts[1].size_lba = 2 * MIB_LBA;
	fails(&t, "partition 2 'PART-2': start sector 18446744073709549568 plus 4096 sectors ends "
		  "past 2^64");
	t = table(2);
	parts[1].first_lba = 129024;
	parts[1].size_lba = MIB_LBA;
	fails(&t, "partition 2 'PART-2' (sectors 129024-131071) ends after the last usable sector "
		  "131038 of a disk of 67108864 bytes");
	t = table(2);
	parts[1].size_lba = (uint64_t)MIB_LBA << 20;
	fails(&t, "partition 2 'PART-2' (sectors 4096-2147487743) ends after the last usable "
		  "sector 131038");
}

static void test_attrs(void **state)
{
	struct vf_gpt_table t = table(2);

	(void)state;
	parts[1].attrs = VF_GPT_ATTR_SUCCESSFUL | (1ULL << 3) | (1ULL << 47);
	fails(&t, "partition 2 'PART-2': attributes 0x0100800000000008 set bits reserved by UEFI "
		  "(3-47): 0x0000800000000008");
}

static void test_overlaps(void **state)
{
	struct vf_gpt_table t = table(3);

	(void)state;
	/* partition 3 starts inside partition 2 */
	parts[1].size_lba = 2 * MIB_LBA;
	fails(&t, "partition 2 'PART-2' (sectors 4096-8191) overlaps partition 3 'PART-3' "
		  "(sectors 6144-8191)");
	/* the same, listed the other way round: still named in table order */
	t = table(3);
	parts[2].first_lba = 2048;
	parts[2].size_lba = 4 * MIB_LBA;
	fails(&t, "partition 1 'PART-1' (sectors 2048-4095) overlaps partition 3 'PART-3' "
		  "(sectors 2048-10239)");
	/* a small partition inside a big one that starts earlier, with one in between */
	t = table(3);
	parts[0].first_lba = 2048;
	parts[0].size_lba = 10 * MIB_LBA;
	parts[1].first_lba = 30 * MIB_LBA;
	parts[2].first_lba = 8 * MIB_LBA;
	fails(&t, "partition 1 'PART-1' (sectors 2048-22527) overlaps partition 3 'PART-3' "
		  "(sectors 16384-18431)");
	/* identical ranges */
	t = table(2);
	parts[1].first_lba = parts[0].first_lba;
	fails(&t, "partition 1 'PART-1' (sectors 2048-4095) overlaps partition 2 'PART-2' "
		  "(sectors 2048-4095)");
}

static void test_duplicates(void **state)
{
	struct vf_gpt_table t = table(3);

	(void)state;
	strcpy(parts[2].name, "PART-1");
	fails(&t, "partitions 1 and 3 are both named 'PART-1'");
	t = table(3);
	memcpy(parts[2].uuid, parts[1].uuid, 16);
	fails(&t, "partitions 2 'PART-2' and 3 'PART-3' have the same UUID "
		  "aaaaaaaa-0000-4000-8000-000000000002");
}

/* Per-partition problems come first, in table order; then overlaps; then duplicates. */
static void test_order(void **state)
{
	struct vf_gpt_table t = table(3);

	(void)state;
	strcpy(parts[1].name, "PART-1");
	parts[2].first_lba = parts[1].first_lba;
	parts[2].size_lba = 0;
	fails(&t, "partition 3 'PART-3': size is zero");
	parts[2].size_lba = MIB_LBA;
	fails(&t, "partition 2 'PART-1' (sectors 4096-6143) overlaps partition 3 'PART-3'");
	parts[2].first_lba = 8 * MIB_LBA;
	fails(&t, "partitions 1 and 2 are both named 'PART-1'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_last_usable),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_attrs),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
