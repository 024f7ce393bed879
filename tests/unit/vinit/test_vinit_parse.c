/*
 * vinit's parsing half (variants/packages/vinit/vinit_parse.c), compiled on the host the same
 * way vinit.c compiles it: by #including the source. The kernel command line, the dm-mod.create=
 * table, device words, CRC-32 and GPT headers and entries: what is accepted, every refusal with
 * its message, and the bounds. GPTs come from two sources: hand-built in memory (to damage
 * them field by field) and written by libfdisk through vf_gpt_write() (an independent encoder
 * of the mixed-endian GUIDs and UTF-16LE names).
 */
#include "variants/packages/vinit/vinit_parse.c"

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
#include <stdlib.h>
#include <string.h>

/* What vforge's build writes (builder/image/stage_build.c build_cmdline), for a real image. */
#define DATA_UUID "89876003-98e3-7ef9-7332-7d75c5adf70f"
#define HASH_UUID "6da43f77-baa8-9ba4-d37f-72587a5231b5"
#define ROOT_HASH "8987600398e37ef973327d75c5adf70f6da43f77baa89ba4d37f72587a5231b5"
#define SALT "932472a5c420fdd595b7e6712df20e7f064f4cc14a2c0ba4e334e71f6c8a4b10"
#define PARAMS "1 PARTUUID=" DATA_UUID " PARTUUID=" HASH_UUID " 4096 4096 16384 1 sha256 " \
	ROOT_HASH " " SALT " 2 restart_on_corruption ignore_zero_blocks"
#define VALUE "root,,,ro,0 131072 verity " PARAMS
#define CMDLINE "dm-mod.create=\"" VALUE "\" root=/dev/dm-0 rootwait ro lockdown=integrity " \
	"console=ttyS0\n"

static char out[VINIT_VALUE_MAX];

static int value_of(const char *cmdline, struct vinit_err *err)
{
	memset(out, 'x', sizeof(out));
	return vinit_cmdline_value(cmdline, strlen(cmdline), "dm-mod.create", out, sizeof(out),
				   err);
}

static void value_refused(const char *cmdline, int code, const char *want)
{
	struct vinit_err err = { "" };

	assert_int_equal(value_of(cmdline, &err), code);
	vf_test_assert_contains(err.msg, want);
	assert_int_equal(out[0], 'x'); /* nothing written */
}

static void test_cmdline_value(void **state)
{
	struct vinit_err err = { "" };

	(void)state;
	assert_int_equal(value_of(CMDLINE, &err), 0);
	assert_string_equal(out, VALUE);
	/* anywhere on the line, bare or quoted, '_' for '-' in the name */
	assert_int_equal(value_of("quiet dm_mod.create=\"a,,,ro,0 1 verity x\"", &err), 0);
	assert_string_equal(out, "a,,,ro,0 1 verity x");
	assert_int_equal(value_of("dm-mod.create=bare,,,ro,0\tother=1", &err), 0);
	assert_string_equal(out, "bare,,,ro,0");
	assert_int_equal(value_of("\t a=\"x y\"  dm-mod.create=\"\" b", &err), 0);
	assert_string_equal(out, "");
	/* quoted spaces of another parameter do not split it */
	assert_int_equal(value_of("x=\"dm-mod.create=no\" dm-mod.create=yes", &err), 0);
	assert_string_equal(out, "yes");
}

static void test_cmdline_refusals(void **state)
{
	(void)state;
	value_refused("root=/dev/vda ro", -ENOENT, "no dm-mod.create=");
	/* names that only start or end like it */
	value_refused("dm-mod.created=x xdm-mod.create=y dm-mod.create", -ENOENT, "no dm-mod.create=");
	value_refused("dm-mod.create=\"a\" dm-mod.create=\"b\"", -EINVAL, "more than once");
	value_refused("dm-mod.create=a dm_mod.create=b", -EINVAL, "more than once");
	value_refused("dm-mod.create=\"a,,,ro,0 1 verity", -EINVAL,
		      "double quote opened at offset 0 of the kernel command line is not closed");
	value_refused("ro x=\"open dm-mod.create=\"a\"", -EINVAL, "offset 3");
	value_refused("dm-mod.create=a\"b\"", -EINVAL, "double quote inside");
	value_refused("dm-mod.create=\"a\"b\"c\"", -EINVAL, "double quote inside");
	/* after "--" the words belong to init */
	value_refused("ro -- dm-mod.create=\"x\"", -ENOENT, "no dm-mod.create=");
}

static void test_cmdline_bounds(void **state)
{
	static char line[VINIT_CMDLINE_MAX + 64];
	struct vinit_err err = { "" };
	char small[8];
	size_t n;

	(void)state;
	/* the length given is the end: what follows is not read */
	snprintf(line, sizeof(line), "dm-mod.create=one dm-mod.create=two");
	assert_int_equal(vinit_cmdline_value(line, 17, "dm-mod.create", small, sizeof(small), &err),
			 0);
	assert_string_equal(small, "one");
	/* a value of outsz - 1 bytes fits, one more does not */
	assert_int_equal(vinit_cmdline_value("dm-mod.create=\"1234567\"", 23, "dm-mod.create", small,
					     sizeof(small), &err), 0);
	assert_string_equal(small, "1234567");
	memset(small, 'x', sizeof(small));
	assert_int_equal(vinit_cmdline_value("dm-mod.create=\"12345678\"", 24, "dm-mod.create",
					     small, sizeof(small), &err), -ENAMETOOLONG);
	vf_test_assert_contains(err.msg, "has a value of 8 bytes, more than 7");
	assert_int_equal(small[0], 'x');
	/* an overlong command line is refused whole */
	memset(line, ' ', sizeof(line));
	memcpy(line, "dm-mod.create=x", 15);
	assert_int_equal(vinit_cmdline_value(line, VINIT_CMDLINE_MAX, "dm-mod.create", small,
					     sizeof(small), &err), 0);
	assert_int_equal(vinit_cmdline_value(line, VINIT_CMDLINE_MAX + 1, "dm-mod.create", small,
					     sizeof(small), &err), -ENAMETOOLONG);
	vf_test_assert_containsf(err.msg, "has %d bytes, more than %d", VINIT_CMDLINE_MAX + 1,
				 VINIT_CMDLINE_MAX);
	/* a NUL inside the given length */
	memcpy(line, "ro\0dm-mod.create=x", 18);
	assert_int_equal(vinit_cmdline_value(line, 18, "dm-mod.create", small, sizeof(small), &err),
			 -EINVAL);
	vf_test_assert_contains(err.msg, "NUL byte at 2");
	/* a value of VINIT_VALUE_MAX - 1 bytes fills `out` exactly */
	n = (size_t)snprintf(line, sizeof(line), "dm-mod.create=\"%0*d\"", VINIT_VALUE_MAX - 1, 0);
	assert_int_equal(vinit_cmdline_value(line, n, "dm-mod.create", out, sizeof(out), &err), 0);
	assert_int_equal(strlen(out), VINIT_VALUE_MAX - 1);
	n = (size_t)snprintf(line, sizeof(line), "dm-mod.create=\"%0*d\"", VINIT_VALUE_MAX, 0);
	assert_int_equal(vinit_cmdline_value(line, n, "dm-mod.create", out, sizeof(out), &err),
			 -ENAMETOOLONG);
}

static struct vinit_dm_create dm, before;

static void dm_refused(const char *value, int code, const char *want)
{
	struct vinit_err err = { "" };

	memset(&dm, 0x5a, sizeof(dm));
	before = dm;
	assert_int_equal(vinit_dm_create_parse(value, &dm, &err), code);
	vf_test_assert_contains(err.msg, want);
	assert_memory_equal(&dm, &before, sizeof(dm)); /* *ret written only on success */
}

static void test_dm_create(void **state)
{
	struct vinit_err err = { "" };

	(void)state;
	assert_int_equal(vinit_dm_create_parse(VALUE, &dm, &err), 0);
	assert_string_equal(dm.name, "root");
	assert_string_equal(dm.uuid, "");
	assert_false(dm.has_minor);
	assert_true(dm.read_only);
	assert_int_equal(dm.start, 0);
	assert_int_equal(dm.length, 131072);
	assert_string_equal(dm.target, "verity");
	assert_int_equal(dm.n_words, 13);
	assert_string_equal(dm.words[0], "1");
	assert_string_equal(dm.words[1], "PARTUUID=" DATA_UUID);
	assert_string_equal(dm.words[2], "PARTUUID=" HASH_UUID);
	assert_string_equal(dm.words[8], ROOT_HASH);
	assert_string_equal(dm.words[12], "ignore_zero_blocks");

	assert_int_equal(vinit_dm_create_parse("r,CRYPT-VERITY-1,7,rw, 8\t 16  linear  1:2 0 ", &dm,
					       &err), 0);
	assert_string_equal(dm.uuid, "CRYPT-VERITY-1");
	assert_true(dm.has_minor);
	assert_int_equal(dm.minor, 7);
	assert_false(dm.read_only);
	assert_int_equal(dm.start, 8);
	assert_int_equal(dm.length, 16);
	assert_string_equal(dm.target, "linear");
	assert_int_equal(dm.n_words, 2);
	assert_string_equal(dm.words[0], "1:2");
	assert_string_equal(dm.words[1], "0");
	assert_int_equal(vinit_dm_create_parse("r,,1048575,ro,18446744073709551615 1 x", &dm, &err), 0);
	assert_int_equal(dm.minor, VINIT_MINOR_MAX);
	assert_int_equal(dm.start, UINT64_MAX);
}

static void test_dm_create_refusals(void **state)
{
	(void)state;
	dm_refused("a,,,ro,0 1 verity x;b,,,ro,0 1 verity y", -EINVAL, "several devices");
	dm_refused("a,,,ro,0 1 verity x,0 1 verity y", -EINVAL, "several table lines");
	dm_refused("a,,,ro", -EINVAL, "has 4 fields, expected <name>,<uuid>,<minor>,<flags>,<table>");
	dm_refused("a", -EINVAL, "has 1 fields");
	dm_refused(",,,ro,0 1 verity", -EINVAL, "device name has 0 bytes, expected 1..127");
	dm_refused("a/b,,,ro,0 1 verity", -EINVAL, "'a/b' contains '/'");
	dm_refused("a,,x,ro,0 1 verity", -EINVAL, "minor 'x' is not a number up to 1048575");
	dm_refused("a,,1048576,ro,0 1 verity", -EINVAL, "minor '1048576'");
	dm_refused("a,,-1,ro,0 1 verity", -EINVAL, "minor '-1'");
	dm_refused("a,,,RO,0 1 verity", -EINVAL, "flags 'RO', expected ro or rw");
	dm_refused("a,,,,0 1 verity", -EINVAL, "flags ''");
	dm_refused("a,,,ro,", -EINVAL, "start sector is missing");
	dm_refused("a,,,ro,x 1 verity", -EINVAL, "start sector is missing or not a number");
	dm_refused("a,,,ro,18446744073709551616 1 verity", -EINVAL, "start sector");
	dm_refused("a,,,ro,0", -EINVAL, "length is missing, zero or not a number");
	dm_refused("a,,,ro,0 0 verity", -EINVAL, "length is missing, zero");
	dm_refused("a,,,ro,0 1", -EINVAL, "no target type");
	dm_refused("a,,,ro,0 1 verityverityverity", -EINVAL, "target type has 18 bytes, more than 15");
}

static void test_dm_create_bounds(void **state)
{
	static char value[VINIT_VALUE_MAX * 2];
	struct vinit_err err = { "" };
	int n;

	(void)state;
	/* a name of 127 bytes fits, 128 does not; a uuid of 128 fits, 129 does not */
	snprintf(value, sizeof(value), "%0127d,%0128d,,ro,0 1 verity", 0, 0);
	assert_int_equal(vinit_dm_create_parse(value, &dm, &err), 0);
	assert_int_equal(strlen(dm.name), 127);
	assert_int_equal(strlen(dm.uuid), 128);
	snprintf(value, sizeof(value), "%0128d,,,ro,0 1 verity", 0);
	dm_refused(value, -EINVAL, "device name has 128 bytes, expected 1..127");
	snprintf(value, sizeof(value), "a,%0129d,,ro,0 1 verity", 0);
	dm_refused(value, -EINVAL, "uuid has 129 bytes, more than 128");
	/* VINIT_MAX_WORDS parameters fit, one more does not */
	n = snprintf(value, sizeof(value), "a,,,ro,0 1 verity");
	for (int i = 0; i < VINIT_MAX_WORDS; i++)
		n += snprintf(value + n, sizeof(value) - (size_t)n, " w%d", i);
	assert_int_equal(vinit_dm_create_parse(value, &dm, &err), 0);
	assert_int_equal(dm.n_words, VINIT_MAX_WORDS);
	assert_string_equal(dm.words[VINIT_MAX_WORDS - 1], "w31");
	snprintf(value + n, sizeof(value) - (size_t)n, " one-more");
	dm_refused(value, -E2BIG, "more than 32 target parameters");
	/* a word of VINIT_WORD_MAX - 1 bytes fits, one more does not */
	snprintf(value, sizeof(value), "a,,,ro,0 1 verity 1 %0*d", VINIT_WORD_MAX - 1, 0);
	assert_int_equal(vinit_dm_create_parse(value, &dm, &err), 0);
	assert_int_equal(strlen(dm.words[1]), VINIT_WORD_MAX - 1);
	snprintf(value, sizeof(value), "a,,,ro,0 1 verity 1 %0*d", VINIT_WORD_MAX, 0);
	dm_refused(value, -E2BIG, "target parameter 2 has 520 bytes, more than 519");
}

static void verity_refused(const char *value, const char *want)
{
	struct vinit_err err = { "" };
	struct vinit_verity v = { "x", "y", "z" };

	assert_int_equal(vinit_dm_create_parse(value, &dm, &err), 0);
	assert_int_equal(vinit_verity_check(&dm, &v, &err), -EINVAL);
	vf_test_assert_contains(err.msg, want);
	assert_string_equal(v.data_dev, "x");
}

#define V(params) "root,,,ro,0 8 verity " params

static void test_verity_check(void **state)
{
	struct vinit_err err = { "" };
	struct vinit_verity v;

	(void)state;
	assert_int_equal(vinit_dm_create_parse(VALUE, &dm, &err), 0);
	assert_int_equal(vinit_verity_check(&dm, &v, &err), 0);
	assert_string_equal(v.data_dev, "PARTUUID=" DATA_UUID);
	assert_string_equal(v.hash_dev, "PARTUUID=" HASH_UUID);
	assert_string_equal(v.root_hash, ROOT_HASH);
	/* version 0, no salt, no optional parameters, upper-case hex */
	assert_int_equal(vinit_dm_create_parse(V("0 1:2 1:3 4096 4096 2 1 sha1 ABCDEF -"), &dm,
					       &err), 0);
	assert_int_equal(vinit_verity_check(&dm, &v, &err), 0);
	assert_string_equal(v.root_hash, "ABCDEF");

	verity_refused("root,,,ro,0 8 linear 1:2 0", "target is 'linear', expected verity");
	verity_refused(V("1 1:2 1:3 4096 4096 2 1 sha256 ab"), "has 9 parameters, expected at least 10");
	verity_refused(V("2 1:2 1:3 4096 4096 2 1 sha256 ab -"), "version is '2', expected 0 or 1");
	verity_refused(V("1 1:2 1:3 4k 4096 2 1 sha256 ab -"), "data block size '4k' is not a number");
	verity_refused(V("1 1:2 1:3 4096 4096 2 x sha256 ab -"), "hash start block 'x'");
	verity_refused(V("1 1:2 1:3 4096 4096 2 1 sha256 abc -"), "root hash 'abc' is not 1..64");
	verity_refused(V("1 1:2 1:3 4096 4096 2 1 sha256 zz -"), "root hash 'zz'");
	verity_refused(V("1 1:2 1:3 4096 4096 2 1 sha256 ab salt"), "salt 'salt' is not hex or '-'");
	verity_refused(V("1 1:2 1:3 4096 4096 2 1 sha256 ab - 2 restart_on_corruption"),
		       "announces '2' optional parameters and has 1");
	verity_refused(V("1 1:2 1:3 4096 4096 2 1 sha256 ab - x y"), "announces 'x'");
}

static void test_params_format(void **state)
{
	struct vinit_err err = { "" };
	char buf[sizeof(PARAMS)];

	(void)state;
	assert_int_equal(vinit_dm_create_parse("root,,,ro,0 8 verity  " PARAMS "  ", &dm, &err), 0);
	assert_int_equal(vinit_dm_params_format(&dm, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, PARAMS);
	/* exactly the size with its NUL fits; one byte less does not */
	assert_int_equal(vinit_dm_params_format(&dm, buf, sizeof(buf) - 1, &err), -ENAMETOOLONG);
	vf_test_assert_containsf(err.msg, "do not fit in %zu bytes", sizeof(buf) - 1);
	snprintf(dm.words[1], sizeof(dm.words[1]), "254:2");
	assert_int_equal(vinit_dm_params_format(&dm, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "1 254:2 PARTUUID=" HASH_UUID " 4096 4096 16384 1 sha256 " ROOT_HASH
			    " " SALT " 2 restart_on_corruption ignore_zero_blocks");
	dm.n_words = 0;
	assert_int_equal(vinit_dm_params_format(&dm, buf, 1, &err), 0);
	assert_string_equal(buf, "");
	assert_int_equal(vinit_dm_params_format(&dm, buf, 0, &err), -ENAMETOOLONG);
}

static void test_dev_parse(void **state)
{
	static const uint8_t want[16] = { 0x89, 0x87, 0x60, 0x03, 0x98, 0xe3, 0x7e, 0xf9,
					  0x73, 0x32, 0x7d, 0x75, 0xc5, 0xad, 0xf7, 0x0f };
	struct vinit_err err = { "" };
	struct vinit_dev d;

	(void)state;
	assert_int_equal(vinit_dev_parse("PARTUUID=" DATA_UUID, &d, &err), 0);
	assert_int_equal(d.kind, VINIT_DEV_PARTUUID);
	assert_memory_equal(d.uuid, want, 16);
	/* either case names the same partition */
	assert_int_equal(vinit_dev_parse("PARTUUID=89876003-98E3-7EF9-7332-7D75C5ADF70F", &d, &err),
			 0);
	assert_memory_equal(d.uuid, want, 16);
	assert_int_equal(vinit_dev_parse("254:2", &d, &err), 0);
	assert_int_equal(d.kind, VINIT_DEV_NUMBER);
	assert_int_equal(d.major, 254);
	assert_int_equal(d.minor, 2);
	assert_int_equal(vinit_dev_parse("4095:1048575", &d, &err), 0);

	assert_int_equal(vinit_dev_parse("PARTUUID=" DATA_UUID "/PARTNROFF=1", &d, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "is not PARTUUID=<uuid> with a 36-character uuid");
	assert_int_equal(vinit_dev_parse("partuuid=" DATA_UUID, &d, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "neither PARTUUID=<uuid> nor <major>:<minor>");
	assert_int_equal(vinit_dev_parse("/dev/vda2", &d, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "device '/dev/vda2'");
	assert_int_equal(vinit_dev_parse("254:", &d, &err), -EINVAL);
	assert_int_equal(vinit_dev_parse(":2", &d, &err), -EINVAL);
	assert_int_equal(vinit_dev_parse("4096:0", &d, &err), -EINVAL);
	assert_int_equal(vinit_dev_parse("1:1048576", &d, &err), -EINVAL);
	assert_int_equal(vinit_dev_parse("1:2:3", &d, &err), -EINVAL);
}

static void test_uuid_parse(void **state)
{
	uint8_t u[16], keep[16];

	(void)state;
	assert_int_equal(vinit_uuid_parse("00112233-4455-6677-8899-aabbccddeeff", u), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(u[i], (i << 4) | i);
	memcpy(keep, u, 16);
	assert_int_equal(vinit_uuid_parse("00112233-4455-6677-8899-aabbccddeef", u), -EINVAL);
	assert_int_equal(vinit_uuid_parse("00112233-4455-6677-8899-aabbccddeeff0", u), -EINVAL);
	assert_int_equal(vinit_uuid_parse("001122334-455-6677-8899-aabbccddeeff", u), -EINVAL);
	assert_int_equal(vinit_uuid_parse("00112233-4455-6677-8899_aabbccddeeff", u), -EINVAL);
	assert_int_equal(vinit_uuid_parse("00112233-4455-6677-8899-aabbccddeefg", u), -EINVAL);
	assert_int_equal(vinit_uuid_parse("", u), -EINVAL);
	assert_memory_equal(u, keep, 16);
}

static void test_crc32(void **state)
{
	(void)state;
	/* the check value of CRC-32/ISO-HDLC */
	assert_int_equal(vinit_crc32(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(vinit_crc32(0, "", 0), 0);
	assert_int_equal(vinit_crc32(vinit_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
	assert_int_equal(vinit_crc32(0, "The quick brown fox jumps over the lazy dog", 43),
			 0x414fa339u);
}

/* ---- GPT, hand-built --------------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A disk: LBA 0, the header at LBA 1, the entries from LBA 2. */
struct disk {
	size_t ss;
	uint8_t *bytes;
	size_t size;
	uint8_t *hdr, *entries;
};

static void put_name(uint8_t *entry, const char *name)
{
	for (size_t i = 0; name[i] && i < 36; i++)
		entry[56 + 2 * i] = (uint8_t)name[i];
}

/* Recompute both CRCs from the fields as they are. */
static void seal(struct disk *d)
{
	uint32_t n = le32(d->hdr + 80), size = le32(d->hdr + 84), hsize = le32(d->hdr + 12);

	if ((uint64_t)n * size <= d->size - 2 * d->ss)
		put32(d->hdr + 88, vinit_crc32(0, d->entries, (size_t)n * size));
	put32(d->hdr + 16, 0);
	if (hsize <= d->ss)
		put32(d->hdr + 16, vinit_crc32(0, d->hdr, hsize));
}

/*
 * 128 entries of 128 bytes: entry 0 ROOT-A (unique GUID 01020304-0506-0708-090a-0b0c0d0e0f10),
 * entry 1 unused, entry 2 ROOT-B, entry 3 with a name of 36 characters and non-ASCII units.
 */
static struct disk make_disk(size_t ss)
{
	static const uint8_t type[16] = { 0xe3, 0xbc, 0x68, 0x4f, 0xcd, 0xe8, 0xb1, 0x4d,
					  0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7, 0x09 };
	static const uint8_t guid_a[16] = { 0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x08, 0x07,
					    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };
	struct disk d;
	size_t array_sectors = (128 * 128 + ss - 1) / ss;
	uint8_t *e;

	d.ss = ss;
	d.size = (2 + array_sectors) * ss;
	d.bytes = calloc(1, d.size);
	assert_non_null(d.bytes);
	d.hdr = d.bytes + ss;
	d.entries = d.bytes + 2 * ss;
	memcpy(d.hdr, "EFI PART", 8);
	put32(d.hdr + 8, 0x00010000);
	put32(d.hdr + 12, 92);
	put64(d.hdr + 24, 1);
	put64(d.hdr + 32, 99999);
	put64(d.hdr + 40, 2 + array_sectors);
	put64(d.hdr + 48, 99000);
	memset(d.hdr + 56, 0x77, 16);
	put64(d.hdr + 72, 2);
	put32(d.hdr + 80, 128);
	put32(d.hdr + 84, 128);
	e = d.entries;
	memcpy(e, type, 16);
	memcpy(e + 16, guid_a, 16);
	put64(e + 32, 2048);
	put64(e + 40, 4095);
	put64(e + 48, 1ull << 60);
	put_name(e, "ROOT-A");
	e = d.entries + 2 * 128;
	memcpy(e, type, 16);
	memset(e + 16, 0xbb, 16);
	put_name(e, "ROOT-B");
	e = d.entries + 3 * 128;
	memcpy(e, type, 16);
	memset(e + 16, 0xcc, 16);
	put_name(e, "0123456789abcdefghijklmnopqrstuvwxyz");
	e[56 + 2 * 1 + 1] = 0x01; /* unit 1: U+0131 */
	e[56 + 2 * 2] = 0x07;     /* unit 2: a control character */
	seal(&d);
	return d;
}

static void header_refused(struct disk *d, bool reseal, const char *want)
{
	struct vinit_gpt_header h;
	struct vinit_err err = { "" };

	memset(&h, 0x5a, sizeof(h));
	if (reseal)
		seal(d);
	assert_int_equal(vinit_gpt_header_parse(d->hdr, d->ss, &h, &err), -EINVAL);
	vf_test_assert_contains(err.msg, want);
	assert_int_equal(h.n_entries, 0x5a5a5a5a); /* *ret written only on success */
	free(d->bytes);
}

static void test_gpt_good(void **state)
{
	static const uint8_t text_a[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct vinit_err err = { "" };
	struct vinit_gpt_header h;
	struct vinit_gpt_entry e;
	uint8_t u[16];

	(void)state;
	for (size_t ss = 512; ss <= 4096; ss *= 8) {
		struct disk d = make_disk(ss);

		assert_int_equal(vinit_gpt_header_parse(d.hdr, ss, &h, &err), 0);
		assert_int_equal(h.my_lba, 1);
		assert_int_equal(h.entries_lba, 2);
		assert_int_equal(h.n_entries, 128);
		assert_int_equal(h.entry_size, 128);
		assert_int_equal(h.first_usable_lba, 2 + (16384 + ss - 1) / ss);
		assert_int_equal(vinit_gpt_entries_size(&h), 16384);
		assert_int_equal(vinit_gpt_entries_check(&h, d.entries, 16384, &err), 0);

		assert_int_equal(vinit_gpt_entry_get(&h, d.entries, 16384, 0, &e), 1);
		assert_string_equal(e.name, "ROOT-A");
		assert_memory_equal(e.uuid, text_a, 16); /* mixed-endian on disk, text order here */
		assert_int_equal(vinit_uuid_parse("01020304-0506-0708-090A-0B0C0D0E0F10", u), 0);
		assert_memory_equal(e.uuid, u, 16);
		assert_int_equal(e.first_lba, 2048);
		assert_int_equal(e.last_lba, 4095);
		assert_int_equal(e.attrs, 1ull << 60);
		assert_int_equal(vinit_bank_of(e.name), 'A');

		assert_int_equal(vinit_gpt_entry_get(&h, d.entries, 16384, 1, &e), 0);
		assert_int_equal(vinit_gpt_entry_get(&h, d.entries, 16384, 2, &e), 1);
		assert_string_equal(e.name, "ROOT-B");
		assert_int_equal(vinit_bank_of(e.name), 'B');
		assert_int_equal(vinit_gpt_entry_get(&h, d.entries, 16384, 3, &e), 1);
		assert_string_equal(e.name, "0??3456789abcdefghijklmnopqrstuvwxyz");
		assert_int_equal(vinit_bank_of(e.name), 0);
		assert_int_equal(vinit_gpt_entry_get(&h, d.entries, 16384, 127, &e), 0);
		assert_int_equal(vinit_gpt_entry_get(&h, d.entries, 16384, 128, &e), -EINVAL);
		assert_int_equal(vinit_gpt_entry_get(&h, d.entries, 16383, 0, &e), -EINVAL);
		free(d.bytes);
	}
	assert_int_equal(vinit_bank_of("ROOT-C"), 0);
	assert_int_equal(vinit_bank_of("root-a"), 0);
	assert_int_equal(vinit_bank_of("ROOT-A "), 0);
}

static void test_gpt_header_refusals(void **state)
{
	struct vinit_err err = { "" };
	struct vinit_gpt_header h;
	struct disk d;

	(void)state;
	d = make_disk(512);
	d.hdr[0] = 'e';
	header_refused(&d, true, "no GPT signature 'EFI PART' at LBA 1");
	d = make_disk(512);
	d.hdr[60] ^= 1; /* the disk GUID: covered by the CRC */
	header_refused(&d, false, "GPT header CRC32 is");
	/* bytes past 92 count when the header says it is longer */
	d = make_disk(512);
	put32(d.hdr + 12, 96);
	seal(&d);
	assert_int_equal(vinit_gpt_header_parse(d.hdr, 512, &h, &err), 0);
	d.hdr[94] = 1;
	header_refused(&d, false, "GPT header CRC32");
	d = make_disk(512);
	put32(d.hdr + 12, 91);
	header_refused(&d, true, "GPT header size 91 is outside 92..512");
	d = make_disk(512);
	put32(d.hdr + 12, 513);
	header_refused(&d, true, "GPT header size 513 is outside 92..512");
	d = make_disk(512);
	put64(d.hdr + 24, 2);
	header_refused(&d, true, "GPT header at LBA 1 says it is at LBA 2");
	d = make_disk(512);
	put32(d.hdr + 84, 64);
	header_refused(&d, true, "GPT entry size 64 is not a multiple of 128 up to 1024");
	d = make_disk(512);
	put32(d.hdr + 84, 130);
	header_refused(&d, true, "GPT entry size 130");
	d = make_disk(512);
	put32(d.hdr + 84, 2048);
	header_refused(&d, true, "GPT entry size 2048");
	d = make_disk(512);
	put32(d.hdr + 80, 0);
	header_refused(&d, true, "GPT has 0 entries of 128 bytes, expected 1..1024 entries");
	d = make_disk(512);
	put32(d.hdr + 80, 1025);
	header_refused(&d, true, "GPT has 1025 entries");
	d = make_disk(512);
	put32(d.hdr + 80, 0xffffffffu);
	put32(d.hdr + 84, 1024);
	header_refused(&d, true, "GPT has 4294967295 entries of 1024 bytes");
	d = make_disk(512);
	put32(d.hdr + 80, 1024);
	put32(d.hdr + 84, 1024);
	header_refused(&d, true, "overlap"); /* 1 MiB of entries fits the bound, not the disk */
	d = make_disk(512);
	put64(d.hdr + 72, 1);
	header_refused(&d, true, "GPT entries at LBA 1 (32 sectors) overlap the header or the first "
		       "usable LBA 34");
	d = make_disk(512);
	put64(d.hdr + 72, 3);
	header_refused(&d, true, "GPT entries at LBA 3");
	d = make_disk(512);
	put64(d.hdr + 72, UINT64_MAX - 5);
	header_refused(&d, true, "overlap");
	d = make_disk(512);
	put64(d.hdr + 48, 33);
	header_refused(&d, true, "GPT last usable LBA 33 is before the first 34");
	/* the sector size itself */
	d = make_disk(512);
	assert_int_equal(vinit_gpt_header_parse(d.hdr, 256, &h, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "sector size 256 is not a power of two in 512..65536");
	assert_int_equal(vinit_gpt_header_parse(d.hdr, 768, &h, &err), -EINVAL);
	assert_int_equal(vinit_gpt_header_parse(d.hdr, 131072, &h, &err), -EINVAL);
	free(d.bytes);
}

static void test_gpt_entries_refusals(void **state)
{
	struct vinit_err err = { "" };
	struct vinit_gpt_header h;
	struct disk d = make_disk(512);

	(void)state;
	assert_int_equal(vinit_gpt_header_parse(d.hdr, 512, &h, &err), 0);
	/* a renamed partition: its name is covered by the entries' CRC */
	d.entries[56] = 'X';
	assert_int_equal(vinit_gpt_entries_check(&h, d.entries, 16384, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "GPT entries CRC32 is");
	vf_test_assert_containsf(err.msg, "the header says %08x", h.entries_crc);
	d.entries[56] = 'R';
	assert_int_equal(vinit_gpt_entries_check(&h, d.entries, 16384, &err), 0);
	/* an unused entry's bytes count too */
	d.entries[128 * 100 + 7] = 1;
	assert_int_equal(vinit_gpt_entries_check(&h, d.entries, 16384, &err), -EINVAL);
	assert_int_equal(vinit_gpt_entries_check(&h, d.entries, 16383, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "GPT entries array has 16383 bytes, the header needs 16384");
	free(d.bytes);
}

/* ---- GPT, written by libfdisk ------------------------------------------------------------ */

static void test_gpt_libfdisk(void **state)
{
	static const char *const names[] = { "BOOT-A", "ROOT-A", "HASH-A", "ROOT-B" };
	static const char *const uuids[] = {
		"e35a23ae-5d30-4128-a362-cde89f341e28", DATA_UUID, HASH_UUID,
		"0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3",
	};
	struct vf_gpt_part parts[4];
	struct vf_gpt_table t = { .disk_size = 8u << 20, .parts = parts, .n_parts = 4 };
	struct vf_err verr = { 0 };
	struct vinit_err err = { "" };
	struct vinit_gpt_header h;
	struct vinit_gpt_entry e;
	struct vinit_dev dev;
	char *path = vf_test_path(*state, "disk.img");
	uint8_t *img, *buf;
	size_t len;

	memset(parts, 0, sizeof(parts));
	assert_int_equal(vf_uuid_parse("3e885857-d658-41ea-b6de-318e6e5467f6", t.disk_guid), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(parts[i].name, sizeof(parts[i].name), "%s", names[i]);
		assert_int_equal(vf_uuid_parse("0fc63daf-8483-4772-8e79-3d69d8477de4", parts[i].type),
				 0);
		assert_int_equal(vf_uuid_parse(uuids[i], parts[i].uuid), 0);
		parts[i].first_lba = 2048u * (uint64_t)(i + 1);
		parts[i].size_lba = 2048;
	}
	buf = calloc(1, t.disk_size);
	assert_non_null(buf);
	vf_test_write_file(path, buf, t.disk_size);
	free(buf);
	if (vf_gpt_write(path, &t, &verr))
		fail_msg("vf_gpt_write: %s", verr.msg);
	img = vf_test_read_file(path, &len);
	assert_int_equal(len, t.disk_size);

	assert_int_equal(vinit_gpt_header_parse(img + 512, 512, &h, &err), 0);
	assert_int_equal(h.entries_lba, 2);
	assert_int_equal(h.first_usable_lba, 2048);
	assert_int_equal(h.alternate_lba, t.disk_size / 512 - 1);
	assert_int_equal(vinit_gpt_entries_check(&h, img + 1024, len - 1024, &err), 0);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(vinit_gpt_entry_get(&h, img + 1024, len - 1024, i, &e), 1);
		assert_string_equal(e.name, names[i]);
		assert_memory_equal(e.uuid, parts[i].uuid, 16);
		assert_int_equal(e.first_lba, parts[i].first_lba);
		assert_int_equal(e.last_lba, parts[i].first_lba + 2047);
	}
	assert_int_equal(vinit_gpt_entry_get(&h, img + 1024, len - 1024, 4, &e), 0);
	/* the table word, in either case, names entry 1, which is bank A's data partition */
	assert_int_equal(vinit_dev_parse("PARTUUID=89876003-98E3-7ef9-7332-7D75C5ADF70F", &dev, &err),
			 0);
	assert_int_equal(vinit_gpt_entry_get(&h, img + 1024, len - 1024, 1, &e), 1);
	assert_memory_equal(dev.uuid, e.uuid, 16);
	assert_int_equal(vinit_bank_of(e.name), 'A');
	assert_int_equal(vinit_gpt_entry_get(&h, img + 1024, len - 1024, 3, &e), 1);
	assert_int_equal(vinit_bank_of(e.name), 'B');
	assert_memory_not_equal(dev.uuid, e.uuid, 16);
	free(img);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_value),
		cmocka_unit_test(test_cmdline_refusals),
		cmocka_unit_test(test_cmdline_bounds),
		cmocka_unit_test(test_dm_create),
		cmocka_unit_test(test_dm_create_refusals),
		cmocka_unit_test(test_dm_create_bounds),
		cmocka_unit_test(test_verity_check),
		cmocka_unit_test(test_params_format),
		cmocka_unit_test(test_dev_parse),
		cmocka_unit_test(test_uuid_parse),
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_gpt_good),
		cmocka_unit_test(test_gpt_header_refusals),
		cmocka_unit_test(test_gpt_entries_refusals),
		vf_test_in_tmpdir(test_gpt_libfdisk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
