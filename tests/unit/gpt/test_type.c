/*
 * Partition type names. The expected GUIDs are copied from the Discoverable
 * Partitions Specification's table and from Bottlerocket's partyplanner (via
 * the project's reference notes), not from builder/gpt.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/uuid.h"
#include "builder/gpt/gpt.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <string.h>

struct want {
	const char *name, *arch, *set, *guid, *display;
};

static const struct want known[] = {
	/* the contract's DPS list */
	{ "esp", NULL, "dps", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp" },
	{ "xbootldr", NULL, "dps", "bc13c2ff-59e6-4262-a352-b275fd6f7172", "xbootldr" },
	{ "linux", NULL, "dps", "0fc63daf-8483-4772-8e79-3d69d8477de4", "linux-generic" },
	{ "var", NULL, "dps", "4d21b016-b534-45c2-a9fb-5c16e091fd2d", "var" },
	{ "root", "x86_64", "dps", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "root-x86-64" },
	{ "root-verity", "x86_64", "dps", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
	  "root-verity-x86-64" },
	{ "root", "aarch64", "dps", "b921b045-1df0-41c3-af44-4c6f280d3fae", "root-arm64" },
	{ "root-verity", "aarch64", "dps", "df3300ce-d69f-4c92-978c-9bfb0f38d820",
	  "root-verity-arm64" },
	/* more DPS names */
	{ "swap", NULL, "dps", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "swap" },
	{ "home", NULL, "dps", "933ac7e1-2eb4-4f13-b844-0e14e2aef915", "home" },
	{ "srv", NULL, "dps", "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", "srv" },
	{ "tmp", NULL, "dps", "7ec6f557-3bc5-4aca-b293-16ef5df639d1", "tmp" },
	{ "root-verity-sig", "x86_64", "dps", "41092b05-9fc8-4523-994f-2def0408b176",
	  "root-verity-sig-x86-64" },
	{ "root-verity-sig", "aarch64", "dps", "6db69de6-29f4-4758-a7a5-962190f00ce3",
	  "root-verity-sig-arm64" },
	{ "usr", "x86_64", "dps", "8484680c-9521-48c6-9c11-b0720656f69e", "usr-x86-64" },
	{ "usr", "aarch64", "dps", "b0e01050-ee5f-4390-949a-9101b17104e9", "usr-arm64" },
	{ "usr-verity", "x86_64", "dps", "77ff5f63-e7b6-4633-acf4-1565b864c0e6",
	  "usr-verity-x86-64" },
	{ "usr-verity", "aarch64", "dps", "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e",
	  "usr-verity-arm64" },
	{ "usr-verity-sig", "x86_64", "dps", "e7bb33fb-06cf-4e81-8273-e543b413e2e2",
	  "usr-verity-sig-x86-64" },
	{ "usr-verity-sig", "aarch64", "dps", "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a",
	  "usr-verity-sig-arm64" },
	/* Bottlerocket's own */
	{ "boot", NULL, "bottlerocket", "6b636168-7420-6568-2070-6c616e657421",
	  "bottlerocket-boot" },
	{ "root", "x86_64", "bottlerocket", "5526016a-1a97-4ea4-b39a-b7c8c6ca4502",
	  "bottlerocket-root" },
	{ "root", "aarch64", "bottlerocket", "5526016a-1a97-4ea4-b39a-b7c8c6ca4502",
	  "bottlerocket-root" },
	{ "hash", NULL, "bottlerocket", "598f10af-c955-4456-6a99-7720068a6cea",
	  "bottlerocket-hash" },
	{ "reserved", NULL, "bottlerocket", "0c5d99a5-d331-4147-baef-08e2b855bdc9",
	  "bottlerocket-reserved" },
	{ "private", NULL, "bottlerocket", "440408bb-eb0b-4328-a6e5-a29038fad706",
	  "bottlerocket-private" },
	{ "data", NULL, "bottlerocket", "626f7474-6c65-6474-6861-726d61726b73",
	  "bottlerocket-data" },
	{ "efi-backup", NULL, "bottlerocket", "b39ce39c-0a00-b4ab-2d11-f18f8237a21c",
	  "bottlerocket-efi-backup" },
	{ "bios-boot", NULL, "bottlerocket", "21686148-6449-6e6f-744e-656564454649", "bios-boot" },
	/* the Bottlerocket set falls back to DPS names */
	{ "esp", NULL, "bottlerocket", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp" },
	{ "linux", "aarch64", "bottlerocket", "0fc63daf-8483-4772-8e79-3d69d8477de4",
	  "linux-generic" },
	{ "root-verity", "x86_64", "bottlerocket", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
	  "root-verity-x86-64" },
	/* a NULL set is "dps"; an arch-free type ignores the arch */
	{ "root", "x86_64", NULL, "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "root-x86-64" },
	{ "esp", "riscv64", "dps", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp" },
};

static void lookup_ok(const struct want *w)
{
	struct vf_err err = { 0 };
	uint8_t got[16], want[16];
	int r = vf_gpt_type_lookup(w->name, w->arch, w->set, got, &err);

	if (r)
		print_error("%s/%s/%s: %s\n", w->name, w->arch ? w->arch : "-",
			    w->set ? w->set : "-", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(vf_uuid_parse(w->guid, want), 0);
	assert_memory_equal(got, want, 16);
	assert_non_null(vf_gpt_type_name(got));
	assert_string_equal(vf_gpt_type_name(got), w->display);
}

static void lookup_fails(const char *name, const char *arch, const char *set, const char *want)
{
	struct vf_err err = { 0 };
	uint8_t out[16];

	memset(out, 0x5a, sizeof(out));
	assert_int_equal(vf_gpt_type_lookup(name, arch, set, out, &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	vf_test_assert_contains(err.msg, want);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x5a);
}

static void test_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		lookup_ok(&known[i]);
}

static void test_guid_text(void **state)
{
	struct vf_err err = { 0 };
	uint8_t got[16], want[16];

	(void)state;
	assert_int_equal(vf_uuid_parse("0123abcd-4567-89ab-cdef-0123456789ab", want), 0);
	assert_int_equal(vf_gpt_type_lookup("0123ABCD-4567-89AB-CDEF-0123456789AB", NULL, "dps",
					    got, &err), 0);
	assert_memory_equal(got, want, 16);
	assert_null(vf_gpt_type_name(got));
	assert_int_equal(vf_gpt_type_lookup("0123abcd-4567-89ab-cdef-0123456789ab", NULL,
					    "bottlerocket", got, &err), 0);
	assert_memory_equal(got, want, 16);
	/* the text of a known type is that type */
	assert_int_equal(vf_gpt_type_lookup("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", NULL, NULL,
					    got, &err), 0);
	assert_string_equal(vf_gpt_type_name(got), "root-x86-64");
	lookup_fails("00000000-0000-0000-0000-000000000000", NULL, "dps",
		     "partition type 00000000-0000-0000-0000-000000000000 is the all-zero GUID, "
		     "which marks an unused entry");
}

static void test_unknown(void **state)
{
	(void)state;
	lookup_fails("rooot", "x86_64", "dps",
		     "unknown partition type 'rooot' in type set 'dps' (expected one of esp, "
		     "xbootldr, swap, home, srv, var, tmp, linux, root, root-verity, "
		     "root-verity-sig, usr, usr-verity, usr-verity-sig, or a GUID "
		     "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
	lookup_fails("bios", NULL, "bottlerocket",
		     "unknown partition type 'bios' in type set 'bottlerocket' (expected one of "
		     "boot, root, hash, reserved, private, data, efi-backup, bios-boot, esp, "
		     "xbootldr, swap, home, srv, var, tmp, linux, root-verity, root-verity-sig, "
		     "usr, usr-verity, usr-verity-sig, or a GUID");
	/* Bottlerocket's role names are not DPS names */
	lookup_fails("boot", NULL, "dps", "unknown partition type 'boot' in type set 'dps'");
	lookup_fails("ESP", NULL, "dps", "unknown partition type 'ESP'");
	lookup_fails("4f68bce3-e8cd-4db1-96e7-fbcaf984b70", NULL, "dps",
		     "unknown partition type '4f68bce3-e8cd-4db1-96e7-fbcaf984b70'");
	lookup_fails("", NULL, "dps", "empty partition type name");
	lookup_fails(NULL, NULL, "dps", "empty partition type name");
	lookup_fails("esp", NULL, "DPS",
		     "unknown partition type set 'DPS' (expected \"dps\" or \"bottlerocket\")");
	lookup_fails("4f68bce3-e8cd-4db1-96e7-fbcaf984b709", NULL, "gpt",
		     "unknown partition type set 'gpt'");
}

static void test_arch(void **state)
{
	(void)state;
	lookup_fails("root", NULL, "dps", "partition type 'root' depends on the architecture, "
		     "but none was given (expected \"x86_64\" or \"aarch64\")");
	lookup_fails("root-verity", "riscv64", "dps", "partition type 'root-verity' has no GUID "
		     "for architecture 'riscv64' (expected \"x86_64\" or \"aarch64\")");
	lookup_fails("usr", "amd64", "dps", "has no GUID for architecture 'amd64'");
	lookup_fails("root-verity", NULL, "bottlerocket", "partition type 'root-verity' depends "
		     "on the architecture");
}

static void test_names(void **state)
{
	uint8_t guid[16];

	(void)state;
	memset(guid, 0, sizeof(guid));
	assert_null(vf_gpt_type_name(guid));
	/* a GUID with the bytes of a known one in GPT's mixed-endian order is not it */
	assert_int_equal(vf_uuid_parse("28732ac1-1ff8-d211-ba4b-00a0c93ec93b", guid), 0);
	assert_null(vf_gpt_type_name(guid));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_guid_text),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_arch),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
