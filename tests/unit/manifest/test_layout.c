/* builder/manifest: the partition layout: derivation, explicit lists, every check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/manifest/manifest.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (UINT64_C(1) << 20)
#define HDR "\"name\": \"t\", \"version\": \"1.0.0\", \"arch\": \"x86_64\""

static void assert_msg(const struct vf_err *err, const char *want)
{
	if (!strstr(err->msg, want))
		print_error("message '%s' lacks '%s'\n", err->msg, want);
	assert_non_null(strstr(err->msg, want));
}

/* Load {HDR, "layout": <layout>} from memory. */
static int load_layout(const char *layout, struct vf_manifest **m, struct vf_err *err)
{
	char *text = NULL;
	int r;

	assert_true(asprintf(&text, "{" HDR "%s%s}", layout ? ", \"layout\": " : "",
			     layout ? layout : "") > 0);
	vf_err_clear(err);
	*m = NULL;
	r = vf_manifest_load_buffer("layout.json", "/nonexistent-unit", text, strlen(text), m, err);
	free(text);
	return r;
}

static struct vf_manifest *layout_ok(const char *layout)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;

	if (load_layout(layout, &m, &err))
		print_error("unexpected error: %s\n", err.msg);
	assert_non_null(m);
	return m;
}

static void layout_fail(const char *layout, int code, const char *want)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;

	assert_int_equal(load_layout(layout, &m, &err), code);
	assert_null(m);
	assert_msg(&err, want);
}

struct want_part {
	const char *name, *type;
	uint64_t start_mib, size_mib;
};

static void assert_parts(const struct vf_manifest_layout *l, const struct want_part *w, size_t n)
{
	assert_int_equal(l->n_parts, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(l->parts[i].name, w[i].name);
		assert_string_equal(l->parts[i].type, w[i].type);
		assert_int_equal(l->parts[i].start, w[i].start_mib * MIB);
		assert_int_equal(l->parts[i].size, w[i].size_mib * MIB);
		assert_false(l->parts[i].grow);
		assert_false(l->parts[i].has_start);
	}
}

/* ---- derivation -------------------------------------------------------------------- */

static void test_defaults_ab_unified(void **state)
{
	static const struct want_part want[] = {
		{ "BOOT-A", "xbootldr", 1, 40 },        { "ROOT-A", "root", 41, 920 },
		{ "HASH-A", "root-verity", 961, 10 },   { "RESERVED-A", "linux", 971, 30 },
		{ "BOOT-B", "xbootldr", 1001, 40 },     { "ROOT-B", "root", 1041, 920 },
		{ "HASH-B", "root-verity", 1961, 10 },  { "RESERVED-B", "linux", 1971, 30 },
		{ "PRIVATE", "linux", 2001, 20 },       { "DATA", "linux", 2021, 1024 },
	};
	struct vf_manifest *m = layout_ok("{}");
	const struct vf_manifest_layout *l = &m->layout;

	(void)state;
	assert_true(m->has_layout);
	assert_string_equal(l->plan, "unified");
	assert_string_equal(l->type_set, "dps");
	assert_true(l->ab);
	assert_false(l->minimize_root);
	assert_int_equal(l->disk_size, 0); /* not given: the partitions plus the GPT */
	assert_int_equal(l->boot_size, 40 * MIB);
	assert_int_equal(l->root_size, 920 * MIB);
	assert_int_equal(l->hash_size, 10 * MIB);
	assert_int_equal(l->reserved_size, 30 * MIB);
	assert_int_equal(l->private_size, 20 * MIB);
	assert_int_equal(l->data_size, 1024 * MIB);
	assert_parts(l, want, sizeof(want) / sizeof(want[0]));
	assert_ptr_equal(vf_manifest_layout_part(l, "HASH-B"), &l->parts[6]);
	assert_null(vf_manifest_layout_part(l, "ROOT-C"));
	vf_manifest_free(m);

	/* no layout at all: the same defaults, has_layout false */
	m = layout_ok(NULL);
	assert_false(m->has_layout);
	assert_parts(&m->layout, want, sizeof(want) / sizeof(want[0]));
	vf_manifest_free(m);
}

static void test_single_bank(void **state)
{
	static const struct want_part want[] = {
		{ "BOOT-A", "xbootldr", 1, 50 },       { "ROOT-A", "root", 51, 100 },
		{ "HASH-A", "root-verity", 151, 2 },   { "RESERVED-A", "linux", 153, 1 },
		{ "PRIVATE", "linux", 154, 20 },       { "DATA", "linux", 174, 4096 },
	};
	struct vf_manifest *m = layout_ok("{\"ab\": false, \"boot_size\": \"50MiB\", "
					  "\"root_size\": 104857600, \"hash_size\": \"2048KiB\", "
					  "\"reserved_size\": \"1MiB\", \"data_size\": \"4GiB\", "
					  "\"type_set\": \"bottlerocket\", \"minimize_root\": true}");

	(void)state;
	assert_false(m->layout.ab);
	assert_true(m->layout.minimize_root);
	assert_string_equal(m->layout.type_set, "bottlerocket");
	assert_parts(&m->layout, want, sizeof(want) / sizeof(want[0]));
	vf_manifest_free(m);
}

static void test_split(void **state)
{
	static const struct want_part want_ab[] = {
		{ "BOOT-A", "xbootldr", 1, 40 },        { "ROOT-A", "root", 41, 920 },
		{ "HASH-A", "root-verity", 961, 10 },   { "RESERVED-A", "linux", 971, 30 },
		{ "BOOT-B", "xbootldr", 1001, 40 },     { "ROOT-B", "root", 1041, 920 },
		{ "HASH-B", "root-verity", 1961, 10 },  { "RESERVED-B", "linux", 1971, 30 },
		{ "PRIVATE", "linux", 2001, 20 },
	};
	static const struct want_part want_a[] = {
		{ "BOOT-A", "xbootldr", 1, 40 },        { "ROOT-A", "root", 41, 920 },
		{ "HASH-A", "root-verity", 961, 10 },   { "RESERVED-A", "linux", 971, 30 },
		{ "PRIVATE", "linux", 1001, 20 },
	};
	struct vf_manifest *m = layout_ok("{\"plan\": \"split\", \"data_size\": \"20GiB\"}");

	(void)state;
	/* split: no DATA partition; data_size is the data disk's */
	assert_string_equal(m->layout.plan, "split");
	assert_int_equal(m->layout.data_size, UINT64_C(20) << 30);
	assert_parts(&m->layout, want_ab, sizeof(want_ab) / sizeof(want_ab[0]));
	vf_manifest_free(m);
	m = layout_ok("{\"plan\": \"split\", \"ab\": false}");
	assert_parts(&m->layout, want_a, sizeof(want_a) / sizeof(want_a[0]));
	vf_manifest_free(m);
}

static void test_disk_size(void **state)
{
	struct vf_manifest *m;
	struct vf_err err;

	(void)state;
	/* exactly enough: 1 MiB + 3044 MiB of partitions + 1 MiB */
	m = layout_ok("{\"disk_size\": \"3046MiB\"}");
	assert_int_equal(m->layout.disk_size, 3046 * MIB);
	vf_manifest_free(m);
	/* one MiB short: the numbers are in the message */
	layout_fail("{\"disk_size\": \"3045MiB\"}", -ENOSPC,
		    "layout: the partitions need 3193962496 bytes (3046 MiB, with 1 MiB before them "
		    "and 1 MiB after them for the GPT) but disk_size is 3192913920 bytes");
	layout_fail("{\"ab\": false, \"plan\": \"split\", \"disk_size\": \"1021MiB\"}", -ENOSPC,
		    "need 1071644672 bytes");
	assert_int_equal(load_layout("{\"ab\": false, \"plan\": \"split\", \"disk_size\": "
				     "\"1022MiB\"}", &m, &err), 0);
	vf_manifest_free(m);
	layout_fail("{\"disk_size\": 1000}", -EINVAL,
		    "layout.disk_size: must be a positive multiple of 512 bytes, got 1000");
	layout_fail("{\"disk_size\": 0}", -EINVAL, "layout.disk_size: must be a positive multiple");
}

/* ---- value errors (per file) ---------------------------------------------------------- */

static void test_size_errors(void **state)
{
	(void)state;
	layout_fail("{\"root_size\": 0}", -EINVAL, "layout.root_size: must be a positive multiple "
		    "of 1 MiB (1048576 bytes), got 0");
	layout_fail("{\"boot_size\": \"1000KiB\"}", -EINVAL, "layout.boot_size: must be a positive "
		    "multiple of 1 MiB (1048576 bytes), got 1024000");
	layout_fail("{\"data_size\": \"4097\"}", -EINVAL, "layout.data_size: must be a positive");
	layout_fail("{\"hash_size\": \"10 MiB\"}", -EINVAL, "layout.hash_size: expected a size");
	layout_fail("{\"private_size\": \"99999999999TiB\"}", -ERANGE,
		    "layout.private_size: size '99999999999TiB' does not fit in 64 bits");
	layout_fail("{\"plan\": \"hybrid\"}", -EINVAL,
		    "layout.plan: expected \"unified\" or \"split\", got 'hybrid'");
	layout_fail("{\"type_set\": \"gpt\"}", -EINVAL,
		    "layout.type_set: expected \"dps\" or \"bottlerocket\", got 'gpt'");
	layout_fail("{\"ab\": \"yes\"}", -EINVAL, "layout.ab: expected a boolean, got a string");
	/* sizes large enough to wrap around when added up */
	layout_fail("{\"root_size\": \"16777215TiB\", \"data_size\": \"16777215TiB\"}", -ERANGE,
		    "ends beyond 2^64 bytes");
}

/* ---- explicit partitions -------------------------------------------------------------- */

#define BHR_A "{\"name\": \"BOOT-A\", \"type\": \"xbootldr\", \"size\": \"8MiB\"}," \
	      "{\"name\": \"ROOT-A\", \"type\": \"root\", \"size\": \"64MiB\"}," \
	      "{\"name\": \"HASH-A\", \"type\": \"root-verity\", \"size\": \"1MiB\"}"

static void test_explicit(void **state)
{
	struct vf_manifest *m = layout_ok("{\"ab\": false, \"disk_size\": \"1GiB\", \"partitions\": ["
		"{\"name\": \"EFI\", \"type\": \"esp\", \"size\": \"16MiB\", \"start\": \"4MiB\"},"
		BHR_A ","
		"{\"name\": \"VAR\", \"type\": \"var\", \"size\": 1048576, \"start\": \"512MiB\"},"
		"{\"name\": \"X\", \"type\": \"0FC63DAF-8483-4772-8E79-3D69D8477DE4\", "
		"\"size\": \"2MiB\"},"
		"{\"name\": \"REST\", \"type\": \"linux\", \"grow\": true}]}");
	const struct vf_manifest_layout *l = &m->layout;

	(void)state;
	assert_int_equal(l->n_parts, 7);
	/* explicit start, then each after the previous in the list */
	assert_true(l->parts[0].has_start);
	assert_int_equal(l->parts[0].start, 4 * MIB);
	assert_false(l->parts[1].has_start);
	assert_int_equal(l->parts[1].start, 20 * MIB);
	assert_int_equal(l->parts[2].start, 28 * MIB);
	assert_int_equal(l->parts[3].start, 92 * MIB);
	assert_int_equal(l->parts[4].start, 512 * MIB);
	assert_string_equal(l->parts[4].type, "var");
	/* GUIDs are kept, lowercased */
	assert_string_equal(l->parts[5].type, "0fc63daf-8483-4772-8e79-3d69d8477de4");
	assert_int_equal(l->parts[5].start, 513 * MIB);
	/* the last partition grows to the end, less the backup GPT */
	assert_true(l->parts[6].grow);
	assert_int_equal(l->parts[6].start, 515 * MIB);
	assert_int_equal(l->parts[6].size, (1023 - 515) * MIB);
	vf_manifest_free(m);

	/* with A/B, bank B's BOOT, ROOT and HASH are needed too */
	m = layout_ok("{\"partitions\": [" BHR_A ","
		      "{\"name\": \"BOOT-B\", \"type\": \"xbootldr\", \"size\": \"8MiB\"},"
		      "{\"name\": \"ROOT-B\", \"type\": \"root\", \"size\": \"64MiB\"},"
		      "{\"name\": \"HASH-B\", \"type\": \"root-verity\", \"size\": \"1MiB\"}]}");
	assert_int_equal(m->layout.n_parts, 6);
	assert_int_equal(m->layout.parts[5].start, (1 + 8 + 64 + 1 + 8 + 64) * MIB);
	vf_manifest_free(m);
}

static void test_explicit_errors(void **state)
{
	(void)state;
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"size\": 0}]}", -EINVAL,
		    "layout.partitions[3].size: must be a positive multiple of 1 MiB (1048576 "
		    "bytes), got 0");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"size\": \"1536KiB\"}]}", -EINVAL,
		    "layout.partitions[3].size: must be a positive multiple of 1 MiB (1048576 "
		    "bytes), got 1572864");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"size\": \"1MiB\", \"start\": "
		    "\"1536KiB\"}]}", -EINVAL, "layout.partitions[3].start: must be a multiple of "
		    "1 MiB, at least 1 MiB (the primary GPT is before it), got 1572864");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"size\": \"1MiB\", \"start\": 0}]}",
		    -EINVAL, "layout.partitions[3].start: must be a multiple of 1 MiB, at least");
	/* overlap: ROOT-A runs from 9 to 73 MiB */
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"size\": \"4MiB\", \"start\": "
		    "\"70MiB\"}]}", -EINVAL, "layout: partitions ROOT-A (at 9 MiB, 64 MiB) and X "
		    "(at 70 MiB, 4 MiB) overlap");
	/* a partition placed after one with an explicit start may run into a later one */
	layout_fail("{\"ab\": false, \"partitions\": ["
		    "{\"name\": \"ROOT-A\", \"type\": \"root\", \"size\": \"64MiB\", \"start\": "
		    "\"100MiB\"},"
		    "{\"name\": \"HASH-A\", \"type\": \"root-verity\", \"size\": \"1MiB\"},"
		    "{\"name\": \"BOOT-A\", \"type\": \"xbootldr\", \"size\": \"8MiB\", \"start\": "
		    "\"160MiB\"}]}", -EINVAL, "layout: partitions ROOT-A (at 100 MiB, 64 MiB) and "
		    "BOOT-A (at 160 MiB, 8 MiB) overlap");
	layout_fail("{\"ab\": false, \"disk_size\": \"64MiB\", \"partitions\": [" BHR_A "]}", -ENOSPC,
		    "layout: the partitions need 78643200 bytes (75 MiB, with 1 MiB before them and 1 "
		    "MiB after them for the GPT) but disk_size is 67108864 bytes");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"swap\", \"size\": \"1MiB\"}]}", -EINVAL,
		    "layout.partitions[3].type: expected esp, xbootldr, root, root-verity, linux, "
		    "var or a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), got 'swap'");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"0fc63daf-8483-4772-8e79-3d69d8477de\", "
		    "\"size\": \"1MiB\"}]}", -EINVAL, "or a GUID");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"ROOT-A\", \"type\": \"root\", \"size\": \"1MiB\"}]}", -EINVAL,
		    "layout.partitions: duplicate name 'ROOT-A' (partitions[1] and [3])");
	layout_fail("{\"ab\": false, \"partitions\": ["
		    "{\"name\": \"BOOT-A\", \"type\": \"xbootldr\", \"size\": \"8MiB\"},"
		    "{\"name\": \"HASH-A\", \"type\": \"root-verity\", \"size\": \"1MiB\"}]}", -EINVAL,
		    "layout.partitions: no partition named ROOT-A (an explicit list needs BOOT-A, "
		    "ROOT-A and HASH-A)");
	layout_fail("{\"partitions\": [" BHR_A "]}", -EINVAL,
		    "layout.partitions: no partition named BOOT-B (\"ab\" is true");
	layout_fail("{\"partitions\": []}", -EINVAL,
		    "layout.partitions: expected at least one partition");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789x\", \"type\": \"linux\", "
		    "\"size\": \"1MiB\"}]}", -EINVAL, "layout.partitions[3].name: expected 1 to 36 "
		    "characters, got 37");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\"}]}", -EINVAL,
		    "layout.partitions[3]: missing required key 'size'");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"size\": \"1MiB\", \"grow\": true}]}",
		    -EINVAL, "layout.partitions[3]: 'size' and \"grow\": true exclude each other");
	layout_fail("{\"ab\": false, \"partitions\": ["
		    "{\"name\": \"X\", \"type\": \"linux\", \"grow\": true}," BHR_A "]}", -EINVAL,
		    "layout.partitions[0]: only the last partition may grow");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"grow\": true}]}", -EINVAL,
		    "layout: partition X grows to fill the disk, so 'disk_size' is required");
	layout_fail("{\"ab\": false, \"disk_size\": \"75MiB\", \"partitions\": [" BHR_A ","
		    "{\"name\": \"X\", \"type\": \"linux\", \"grow\": true}]}", -EINVAL,
		    "layout: partition X (grow) starts at 77594624, leaving it no room on a disk of "
		    "78643200 bytes");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ", {\"name\": \"X\", \"size\": 1}]}",
		    -EINVAL, "layout.partitions[3]: missing required key 'type'");
	layout_fail("{\"ab\": false, \"partitions\": [" BHR_A ", {\"name\": \"X\", \"type\": "
		    "\"linux\", \"size\": \"1MiB\", \"flags\": 1}]}", -EINVAL,
		    "layout.partitions[3]: unknown key 'flags'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_ab_unified),
		cmocka_unit_test(test_single_bank),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_disk_size),
		cmocka_unit_test(test_size_errors),
		cmocka_unit_test(test_explicit),
		cmocka_unit_test(test_explicit_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
