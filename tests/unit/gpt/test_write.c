/*
 * vf_gpt_write(), vf_gpt_read(), vf_gpt_set_attrs() and vf_gpt_update() on image files. The
 * bytes are checked by this file's own GPT parser (with its own CRC32), not
 * by libfdisk; sfdisk is the oracle of the integration tests.
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512u
#define DISK (8ull << 20)          /* 16384 sectors */
#define SECTORS (DISK / SECTOR)
#define ARRAY_BYTES (128u * 128u)

static struct vf_gpt_part parts[3];

static struct vf_gpt_table table(void)
{
	struct vf_gpt_table t = { .disk_size = DISK, .parts = parts, .n_parts = 3 };
	struct vf_err err = { 0 };

	memset(parts, 0, sizeof(parts));
	assert_int_equal(vf_uuid_parse("5c7a9e3d-1b2f-4a60-8d4e-0f1a2b3c4d5e", t.disk_guid), 0);

	strcpy(parts[0].name, "ESP");
	assert_int_equal(vf_gpt_type_lookup("esp", NULL, "dps", parts[0].type, &err), 0);
	assert_int_equal(vf_uuid_parse("01234567-89ab-4cde-8f01-23456789abcd", parts[0].uuid), 0);
	parts[0].first_lba = 2048;
	parts[0].size_lba = 2048;
	parts[0].attrs = VF_GPT_ATTR_REQUIRED | VF_GPT_ATTR_LEGACY_BOOT;

	strcpy(parts[1].name, "ROOT-A-with-a-name-of-36-characters!");
	assert_int_equal(strlen(parts[1].name), VF_GPT_NAME_MAX);
	assert_int_equal(vf_gpt_type_lookup("root", "x86_64", "dps", parts[1].type, &err), 0);
	assert_int_equal(vf_uuid_parse("fedcba98-7654-4321-8fed-cba987654321", parts[1].uuid), 0);
	parts[1].first_lba = 4096;
	parts[1].size_lba = 4096;
	parts[1].attrs = (15ULL << VF_GPT_ATTR_PRIORITY_SHIFT) | (7ULL << VF_GPT_ATTR_TRIES_SHIFT) |
			 VF_GPT_ATTR_SUCCESSFUL | VF_GPT_ATTR_READ_ONLY | (1ULL << 63);

	/* an empty name, and a gap before it */
	assert_int_equal(vf_gpt_type_lookup("linux", NULL, "dps", parts[2].type, &err), 0);
	assert_int_equal(vf_uuid_parse("a0a1a2a3-b0b1-4c0c-8d0d-e0e1e2e3e4e5", parts[2].uuid), 0);
	parts[2].first_lba = 10240;
	parts[2].size_lba = 2048;
	return t;
}

/* ---- an independent reading of the bytes ---- */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* GUID text order to GPT's on-disk order (the first three fields little-endian). */
static void disk_guid(const uint8_t in[16], uint8_t out[16])
{
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

	for (int i = 0; i < 16; i++)
		out[i] = in[order[i]];
}

static uint8_t *read_at(const char *path, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	int fd = open(path, O_RDONLY);

	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
	return buf;
}

static void write_at(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static char *new_image(const char *dir, const char *name, uint64_t size)
{
	char *path = vf_test_path(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
	return path;
}

static void write_ok(const char *path, const struct vf_gpt_table *t)
{
	struct vf_err err = { 0 };
	int r = vf_gpt_write(path, t, &err);

	if (r)
		print_error("vf_gpt_write: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* Check one header (at `lba`) and its array against the table. */
static void check_header(const char *path, const struct vf_gpt_table *t, uint64_t sectors,
			 bool primary)
{
	uint64_t lba = primary ? 1 : sectors - 1, array_lba = primary ? 2 : sectors - 33;
	uint8_t *h = read_at(path, lba * SECTOR, SECTOR);
	uint8_t *a = read_at(path, array_lba * SECTOR, ARRAY_BYTES);
	uint8_t copy[92], guid[16];

	assert_memory_equal(h, "EFI PART", 8);
	assert_int_equal(le32(h + 8), 0x00010000);        /* revision 1.0 */
	assert_int_equal(le32(h + 12), 92);               /* header size */
	assert_int_equal(le32(h + 20), 0);                /* reserved */
	assert_int_equal(le64(h + 24), lba);              /* my LBA */
	assert_int_equal(le64(h + 32), primary ? sectors - 1 : 1);
	assert_int_equal(le64(h + 40), 2048);             /* first usable */
	assert_int_equal(le64(h + 48), sectors - 34);     /* last usable */
	disk_guid(t->disk_guid, guid);
	assert_memory_equal(h + 56, guid, 16);
	assert_int_equal(le64(h + 72), array_lba);
	assert_int_equal(le32(h + 80), 128);
	assert_int_equal(le32(h + 84), 128);
	assert_int_equal(le32(h + 88), crc32_ieee(a, ARRAY_BYTES));
	memcpy(copy, h, 92);
	memset(copy + 16, 0, 4);
	assert_int_equal(le32(h + 16), crc32_ieee(copy, 92));
	for (size_t i = 92; i < SECTOR; i++)
		assert_int_equal(h[i], 0);

	for (size_t i = 0; i < 128; i++) {
		const uint8_t *e = a + i * 128;

		if (i >= t->n_parts) {
			for (size_t k = 0; k < 128; k++)
				assert_int_equal(e[k], 0);
			continue;
		}
		disk_guid(t->parts[i].type, guid);
		assert_memory_equal(e, guid, 16);
		disk_guid(t->parts[i].uuid, guid);
		assert_memory_equal(e + 16, guid, 16);
		assert_int_equal(le64(e + 32), t->parts[i].first_lba);
		assert_int_equal(le64(e + 40), t->parts[i].first_lba + t->parts[i].size_lba - 1);
		assert_int_equal(le64(e + 48), t->parts[i].attrs);
		for (size_t k = 0; k < 36; k++) {   /* UTF-16LE, zero-padded */
			char c = k < strlen(t->parts[i].name) ? t->parts[i].name[k] : 0;

			assert_int_equal(e[56 + 2 * k], (uint8_t)c);
			assert_int_equal(e[56 + 2 * k + 1], 0);
		}
	}
	free(h);
	free(a);
}

/* The protective MBR libfdisk writes: no boot code, no disk signature, one entry. */
static void check_pmbr(const char *path, uint32_t size_lba)
{
	uint8_t *m = read_at(path, 0, SECTOR);
	const uint8_t entry[12] = { 0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff,
				    0x01, 0x00, 0x00, 0x00 };

	for (size_t i = 0; i < 446; i++)
		assert_int_equal(m[i], 0);
	assert_memory_equal(m + 446, entry, sizeof(entry));
	assert_int_equal(le32(m + 458), size_lba);
	for (size_t i = 462; i < 510; i++)
		assert_int_equal(m[i], 0);
	assert_int_equal(m[510], 0x55);
	assert_int_equal(m[511], 0xaa);
	free(m);
}

/* Recompute both array CRCs and header CRCs after editing an image by hand. */
static void fix_crcs(const char *path, uint64_t sectors)
{
	for (int copy = 0; copy < 2; copy++) {
		uint64_t lba = copy ? sectors - 1 : 1;
		uint8_t *h = read_at(path, lba * SECTOR, SECTOR);
		uint8_t *a = read_at(path, le64(h + 72) * SECTOR, ARRAY_BYTES);

		put_le32(h + 88, crc32_ieee(a, ARRAY_BYTES));
		put_le32(h + 16, 0);
		put_le32(h + 16, crc32_ieee(h, 92));
		write_at(path, lba * SECTOR, h, SECTOR);
		free(h);
		free(a);
	}
}

/* Edit entry `i` in both arrays through `edit`, then fix the CRCs. */
static void edit_entry(const char *path, size_t i, void (*edit)(uint8_t entry[128]))
{
	uint64_t arrays[2] = { 2, SECTORS - 33 };

	for (int k = 0; k < 2; k++) {
		uint8_t *e = read_at(path, arrays[k] * SECTOR + i * 128, 128);

		edit(e);
		write_at(path, arrays[k] * SECTOR + i * 128, e, 128);
		free(e);
	}
	fix_crcs(path, SECTORS);
}

static void assert_same_table(const struct vf_gpt_table *a, const struct vf_gpt_table *b)
{
	assert_int_equal(a->disk_size, b->disk_size);
	assert_memory_equal(a->disk_guid, b->disk_guid, 16);
	assert_int_equal(a->n_parts, b->n_parts);
	for (size_t i = 0; i < a->n_parts; i++) {
		assert_string_equal(a->parts[i].name, b->parts[i].name);
		assert_memory_equal(a->parts[i].type, b->parts[i].type, 16);
		assert_memory_equal(a->parts[i].uuid, b->parts[i].uuid, 16);
		assert_int_equal(a->parts[i].first_lba, b->parts[i].first_lba);
		assert_int_equal(a->parts[i].size_lba, b->parts[i].size_lba);
		assert_int_equal(a->parts[i].attrs, b->parts[i].attrs);
	}
}

static void read_ok(const char *path, struct vf_gpt_table *ret)
{
	struct vf_err err = { 0 };
	int r = vf_gpt_read(path, ret, &err);

	if (r)
		print_error("vf_gpt_read: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
	struct vf_gpt_table t = table(), got;
	char *img = new_image(*state, "disk.img", DISK);

	write_ok(img, &t);
	read_ok(img, &got);
	assert_same_table(&t, &got);
	vf_gpt_table_release(&got);
	assert_null(got.parts);
	assert_int_equal(got.n_parts, 0);
	vf_gpt_table_release(&got);
	vf_gpt_table_release(NULL);

	/* no partitions at all */
	t.n_parts = 0;
	write_ok(img, &t);
	read_ok(img, &got);
	assert_int_equal(got.n_parts, 0);
	assert_memory_equal(got.disk_guid, t.disk_guid, 16);
	vf_gpt_table_release(&got);
	free(img);
}

static void test_bytes(void **state)
{
	struct vf_gpt_table t = table();
	char *img = new_image(*state, "disk.img", DISK);
	uint8_t *gap;

	write_ok(img, &t);
	check_pmbr(img, (uint32_t)(SECTORS - 1));
	check_header(img, &t, SECTORS, true);
	check_header(img, &t, SECTORS, false);
	/* nothing else was written: the gap and every partition are still zeros */
	gap = read_at(img, 34 * SECTOR, (SECTORS - 34 - 33) * SECTOR);
	for (size_t i = 0; i < (SECTORS - 34 - 33) * SECTOR; i++)
		if (gap[i])
			fail_msg("byte %zu written", 34 * SECTOR + i);
	free(gap);
	free(img);
}

/* A disk over 2 TiB: the protective entry's size saturates at 0xffffffff. */
static void test_big_disk(void **state)
{
	struct vf_gpt_table t = table();
	uint64_t size = 3ull << 40;
	char *img = vf_test_path(*state, "big.img");
	int fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		free(img);
		skip();
	}
	close(fd);
	t.disk_size = size;
	parts[2].size_lba = size / SECTOR - 34 - parts[2].first_lba + 1;
	parts[2].size_lba -= parts[2].size_lba % 2048;
	write_ok(img, &t);
	check_pmbr(img, 0xffffffffu);
	check_header(img, &t, size / SECTOR, true);
	check_header(img, &t, size / SECTOR, false);
	free(img);
}

/* The same table gives the same bytes: fresh file, junk file, rewritten table. */
static void test_determinism(void **state)
{
	struct vf_gpt_table t = table(), other = table();
	char *a = new_image(*state, "a.img", DISK), *b = new_image(*state, "b.img", DISK);
	char *junk = vf_test_path(*state, "junk.img");
	uint8_t *x, *y, *j0, *j1;
	size_t n, m;

	write_ok(a, &t);
	write_ok(b, &t);
	x = vf_test_read_file(a, &n);
	y = vf_test_read_file(b, &m);
	assert_int_equal(n, DISK);
	assert_int_equal(m, DISK);
	assert_memory_equal(x, y, DISK);
	free(y);

	/* over another GPT (other GUIDs, other partitions) */
	other.disk_guid[0] ^= 0xff;
	other.n_parts = 1;
	parts[0].first_lba = 6144;
	write_ok(b, &other);
	other = table();
	write_ok(b, &t);
	y = vf_test_read_file(b, &m);
	assert_memory_equal(x, y, DISK);
	free(y);

	/* over junk: the table's sectors are the same, every other byte stays junk */
	vf_test_make_file(junk, 77, DISK);
	j0 = vf_test_read_file(junk, &m);
	write_ok(junk, &t);
	j1 = vf_test_read_file(junk, &m);
	assert_memory_equal(j1, x, 34 * SECTOR);
	assert_memory_equal(j1 + DISK - 33 * SECTOR, x + DISK - 33 * SECTOR, 33 * SECTOR);
	assert_memory_equal(j1 + 34 * SECTOR, j0 + 34 * SECTOR, DISK - 67 * SECTOR);
	free(j0);
	free(j1);
	free(x);
	free(a);
	free(b);
	free(junk);
}

static void test_write_errors(void **state)
{
	struct vf_gpt_table t = table();
	struct vf_err err = { 0 };
	char *img = new_image(*state, "disk.img", DISK), *missing = vf_test_path(*state, "no.img");
	uint8_t *data;
	size_t n;

	t.disk_size = DISK + (1 << 20);
	assert_int_equal(vf_gpt_write(img, &t, &err), -EINVAL);
	vf_test_assert_containsf(err.msg, "'%s' is 8388608 bytes, but the table is for a disk of "
				 "9437184 bytes", img);

	t = table();
	assert_int_equal(vf_gpt_write(missing, &t, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "cannot open '%s': No such file or directory", missing);
	assert_int_equal(access(missing, F_OK), -1);

	assert_int_equal(vf_gpt_write(*state, &t, &err), -EISDIR);
	vf_test_assert_containsf(err.msg, "cannot open '%s': Is a directory", (const char *)*state);

	/* a table vf_gpt_check() refuses writes nothing */
	parts[1].first_lba = 3072;
	assert_int_equal(vf_gpt_write(img, &t, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "partition 2 'ROOT-A-with-a-name-of-36-characters!': "
				"start sector 3072 is not a multiple of 2048 (1 MiB)");
	data = vf_test_read_file(img, &n);
	assert_int_equal(n, DISK);
	for (size_t i = 0; i < n; i++)
		if (data[i])
			fail_msg("byte %zu written", i);
	free(data);
	free(img);
	free(missing);
}

static void read_fails(const char *path, int code, const char *want)
{
	struct vf_gpt_table got = { .n_parts = 99 };
	struct vf_err err = { 0 };

	assert_int_equal(vf_gpt_read(path, &got, &err), code);
	assert_int_equal(err.code, code);
	vf_test_assert_contains(err.msg, want);
	assert_int_equal(got.n_parts, 99);
	assert_null(got.parts);
}

static void name_e_acute(uint8_t e[128])
{
	e[56 + 2] = 0xe9; /* U+00E9 */
}

static void name_36(uint8_t e[128])
{
	for (size_t k = 0; k < 36; k++)
		e[56 + 2 * k] = 'n';
}

static void unused(uint8_t e[128])
{
	memset(e, 0, 128);
}

static void test_read_errors(void **state)
{
	struct vf_gpt_table t = table(), got;
	char *img = new_image(*state, "disk.img", DISK), *missing = vf_test_path(*state, "no.img");

	read_fails(img, -ENODATA, "has no partition table");
	read_fails(missing, -ENOENT, "No such file or directory");

	write_ok(img, &t);
	edit_entry(img, 0, name_e_acute);
	read_fails(img, -EINVAL, "partition 1: name byte 1 is 0xc3, not printable ASCII");
	/* a name filling all 72 bytes (no terminating zero) is read whole */
	write_ok(img, &t);
	edit_entry(img, 2, name_36);
	read_ok(img, &got);
	assert_string_equal(got.parts[2].name, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	vf_gpt_table_release(&got);
	free(img);
	free(missing);
}

/* An unused entry before a used one reads as an all-zero partition. */
static void test_read_gap(void **state)
{
	struct vf_gpt_table t = table(), got;
	char *img = new_image(*state, "disk.img", DISK);
	struct vf_gpt_part zero;

	memset(&zero, 0, sizeof(zero));
	write_ok(img, &t);
	edit_entry(img, 1, unused);
	read_ok(img, &got);
	assert_int_equal(got.n_parts, 3);
	assert_memory_equal(&got.parts[1], &zero, sizeof(zero));
	assert_string_equal(got.parts[2].name, "");
	assert_int_equal(got.parts[2].first_lba, 10240);
	assert_string_equal(got.parts[0].name, "ESP");
	vf_gpt_table_release(&got);

	/* trailing unused entries are not returned */
	edit_entry(img, 2, unused);
	read_ok(img, &got);
	assert_int_equal(got.n_parts, 1);
	vf_gpt_table_release(&got);
	free(img);
}

/* A damaged primary header: read falls back to the backup, like sfdisk. */
static void test_read_backup(void **state)
{
	struct vf_gpt_table t = table(), got;
	char *img = new_image(*state, "disk.img", DISK);

	write_ok(img, &t);
	write_at(img, SECTOR + 60, "\x01", 1);
	read_ok(img, &got);
	assert_same_table(&t, &got);
	vf_gpt_table_release(&got);
	free(img);
}

static void set_ok(const char *path, size_t index, uint64_t attrs)
{
	struct vf_err err = { 0 };
	int r = vf_gpt_set_attrs(path, index, attrs, &err);

	if (r)
		print_error("vf_gpt_set_attrs: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* Whether offset `off` may change when entry `index` gets new attributes. */
static bool may_change(uint64_t off, size_t index)
{
	const uint64_t ranges[][2] = {
		{ SECTOR + 16, 4 }, { SECTOR + 88, 4 },                          /* primary CRCs */
		{ 2 * SECTOR + index * 128 + 48, 8 },                            /* primary entry */
		{ (SECTORS - 33) * SECTOR + index * 128 + 48, 8 },               /* backup entry */
		{ (SECTORS - 1) * SECTOR + 16, 4 }, { (SECTORS - 1) * SECTOR + 88, 4 },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (off >= ranges[i][0] && off < ranges[i][0] + ranges[i][1])
			return true;
	return false;
}

static void test_set_attrs(void **state)
{
	struct vf_gpt_table t = table(), got;
	char *img = new_image(*state, "disk.img", DISK);
	uint64_t bank_b = (2ULL << VF_GPT_ATTR_PRIORITY_SHIFT) | (1ULL << VF_GPT_ATTR_TRIES_SHIFT);
	uint8_t *before, *after;
	size_t n, changed = 0;

	write_ok(img, &t);
	before = vf_test_read_file(img, &n);
	set_ok(img, 2, bank_b);
	after = vf_test_read_file(img, &n);
	for (size_t i = 0; i < DISK; i++) {
		if (before[i] == after[i])
			continue;
		changed++;
		if (!may_change(i, 2))
			fail_msg("byte %zu changed", i);
	}
	/* the two attribute bytes that differ in each array, and the four CRCs */
	assert_in_range(changed, 2 * 2 + 4, 2 * 2 + 4 * 4);
	parts[2].attrs = bank_b;
	check_header(img, &t, SECTORS, true);
	check_header(img, &t, SECTORS, false);
	read_ok(img, &got);
	assert_same_table(&t, &got);
	vf_gpt_table_release(&got);
	free(before);
	free(after);

	/* setting what is already there writes nothing */
	before = vf_test_read_file(img, &n);
	set_ok(img, 2, bank_b);
	after = vf_test_read_file(img, &n);
	assert_memory_equal(before, after, DISK);
	free(before);
	free(after);

	/* all bits off, then all allowed bits on */
	set_ok(img, 1, 0);
	set_ok(img, 0, ~VF_GPT_ATTR_RESERVED);
	parts[1].attrs = 0;
	parts[0].attrs = ~VF_GPT_ATTR_RESERVED;
	check_header(img, &t, SECTORS, true);
	check_header(img, &t, SECTORS, false);
	free(img);
}

/* Sector 0 keeps its bytes: boot code and another tool's protective entry. */
static void test_set_attrs_keeps_mbr(void **state)
{
	struct vf_gpt_table t = table();
	char *img = new_image(*state, "disk.img", DISK);
	uint8_t *mbr, *after;

	write_ok(img, &t);
	write_at(img, 0, "\xeb\x63\x90 boot code", 12);
	write_at(img, 440, "\x12\x34\x56\x78", 4);       /* an MBR disk signature */
	write_at(img, 446 + 5, "\xfe\x3f\x07", 3);       /* a computed CHS end, as sgdisk writes */
	mbr = read_at(img, 0, SECTOR);
	set_ok(img, 0, 0);
	after = read_at(img, 0, SECTOR);
	assert_memory_equal(mbr, after, SECTOR);
	free(mbr);
	free(after);
	free(img);
}

static void set_fails(const char *path, size_t index, uint64_t attrs, int code, const char *want)
{
	struct vf_err err = { 0 };

	assert_int_equal(vf_gpt_set_attrs(path, index, attrs, &err), code);
	assert_int_equal(err.code, code);
	vf_test_assert_contains(err.msg, want);
}

static void test_set_attrs_errors(void **state)
{
	struct vf_gpt_table t = table();
	char *img = new_image(*state, "disk.img", DISK);
	uint8_t *before, *after;
	size_t n;

	set_fails(img, 0, 0, -ENODATA, "has no partition table");
	write_ok(img, &t);
	before = vf_test_read_file(img, &n);
	set_fails(img, 3, 0, -EINVAL, "partition 4 is not in use");
	set_fails(img, 128, 0, -EINVAL, "no partition 129: the table has 128 entries");
	set_fails(img, 0, 1ULL << 30, -EINVAL, "attributes 0x0000000040000000 set bits reserved "
		  "by UEFI (3-47): 0x0000000040000000");
	after = vf_test_read_file(img, &n);
	assert_memory_equal(before, after, DISK);
	free(before);
	free(after);

	/* damaged copies: refused, nothing written */
	write_at(img, (SECTORS - 1) * SECTOR + 60, "\x01", 1);
	before = vf_test_read_file(img, &n);
	set_fails(img, 0, 0, -EUCLEAN, "refusing to change a damaged GPT (libfdisk: \"The backup "
		  "GPT table is corrupt, but the primary appears OK, so that will be used.\")");
	after = vf_test_read_file(img, &n);
	assert_memory_equal(before, after, DISK);
	free(before);
	free(after);

	write_ok(img, &t);
	write_at(img, 2 * SECTOR + 200, "\x01", 1);
	set_fails(img, 0, 0, -EUCLEAN, "refusing to change a damaged GPT (libfdisk: \"The primary "
		  "GPT table is corrupt, but the backup appears OK, so that will be used.\")");

	/* a disk grown after the table was written */
	write_ok(img, &t);
	assert_int_equal(truncate(img, DISK + (1 << 20)), 0);
	set_fails(img, 0, 0, -EUCLEAN, "the backup GPT header is at sector 16383, not at the last "
		  "sector 18431 (was the disk resized?)");
	free(img);
}

/* Whether offset `off` may change when entry `index` gets a new UUID. */
static bool may_change_uuid(uint64_t off, size_t index)
{
	const uint64_t ranges[][2] = {
		{ 2 * SECTOR + index * 128 + 16, 16 },                           /* primary entry */
		{ (SECTORS - 33) * SECTOR + index * 128 + 16, 16 },              /* backup entry */
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (off >= ranges[i][0] && off < ranges[i][0] + ranges[i][1])
			return true;
	return false;
}

static void update_ok(const char *path, const struct vf_gpt_change *c, size_t n)
{
	struct vf_err err = { 0 };
	int r = vf_gpt_update(path, c, n, &err);

	if (r)
		print_error("vf_gpt_update: %s\n", err.msg);
	assert_int_equal(r, 0);
}

/* Several UUIDs and attributes in one write: only their bytes and the CRCs change. */
static void test_update(void **state)
{
	struct vf_gpt_table t = table(), got;
	char *img = new_image(*state, "disk.img", DISK);
	struct vf_gpt_change c[3] = {
		{ .index = 0, .set_attrs = true, .attrs = 1ULL << VF_GPT_ATTR_PRIORITY_SHIFT },
		{ .index = 1, .set_uuid = true },
		{ .index = 2, .set_uuid = true, .set_attrs = true,
		  .attrs = (2ULL << VF_GPT_ATTR_PRIORITY_SHIFT) | (1ULL << VF_GPT_ATTR_TRIES_SHIFT) },
	};
	uint8_t *before, *after;
	size_t n, changed = 0;

	assert_int_equal(vf_uuid_parse("11111111-2222-4333-8444-555555555555", c[1].uuid), 0);
	assert_int_equal(vf_uuid_parse("66666666-7777-4888-9999-aaaaaaaaaaaa", c[2].uuid), 0);
	write_ok(img, &t);
	before = vf_test_read_file(img, &n);
	update_ok(img, c, 3);
	after = vf_test_read_file(img, &n);
	for (size_t i = 0; i < DISK; i++) {
		if (before[i] == after[i])
			continue;
		changed++;
		if (!may_change(i, 0) && !may_change(i, 2) && !may_change_uuid(i, 1) &&
		    !may_change_uuid(i, 2))
			fail_msg("byte %zu changed", i);
	}
	/* two UUIDs of 16 bytes in two copies at least (most bytes differ) */
	assert_true(changed >= 2 * 2 * 12);
	parts[0].attrs = c[0].attrs;
	memcpy(parts[1].uuid, c[1].uuid, 16);
	memcpy(parts[2].uuid, c[2].uuid, 16);
	parts[2].attrs = c[2].attrs;
	check_header(img, &t, SECTORS, true);
	check_header(img, &t, SECTORS, false);
	read_ok(img, &got);
	assert_same_table(&t, &got);
	vf_gpt_table_release(&got);
	free(before);
	free(after);

	/* the same values again: nothing written */
	before = vf_test_read_file(img, &n);
	update_ok(img, c, 3);
	update_ok(img, c, 0);
	after = vf_test_read_file(img, &n);
	assert_memory_equal(before, after, DISK);
	free(before);
	free(after);

	/* two UUIDs swapped in one write: unique afterwards, so allowed */
	memcpy(c[0].uuid, parts[2].uuid, 16);
	memcpy(c[2].uuid, parts[0].uuid, 16);
	c[0].set_uuid = true;
	update_ok(img, c, 3);
	memcpy(parts[0].uuid, c[0].uuid, 16);
	memcpy(parts[2].uuid, c[2].uuid, 16);
	check_header(img, &t, SECTORS, true);
	check_header(img, &t, SECTORS, false);
	free(img);
}

static void update_fails(const char *path, const struct vf_gpt_change *c, size_t n, int code,
			 const char *want)
{
	struct vf_err err = { 0 };
	uint8_t *before, *after;
	size_t len, len2;

	before = vf_test_read_file(path, &len);
	assert_int_equal(vf_gpt_update(path, c, n, &err), code);
	assert_int_equal(err.code, code);
	vf_test_assert_contains(err.msg, want);
	after = vf_test_read_file(path, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(before, after, len);
	free(before);
	free(after);
}

static void test_update_errors(void **state)
{
	struct vf_gpt_table t = table();
	char *img = new_image(*state, "disk.img", DISK);
	struct vf_gpt_change c[2] = { { .index = 0, .set_uuid = true },
				      { .index = 2, .set_attrs = true } };
	char want[256];

	update_fails(img, c, 1, -ENODATA, "has no partition table");
	write_ok(img, &t);
	/* a UUID another partition has (partition 2's), unless that one changes too */
	memcpy(c[0].uuid, parts[1].uuid, 16);
	update_fails(img, c, 1, -EINVAL, "partitions 1 and 2 would both have UUID "
		     "fedcba98-7654-4321-8fed-cba987654321");
	/* the disk GUID, all zeros */
	memcpy(c[0].uuid, t.disk_guid, 16);
	snprintf(want, sizeof(want), "'%s': partition 1: UUID 5c7a9e3d-1b2f-4a60-8d4e-0f1a2b3c4d5e "
		 "is the disk GUID", img);
	update_fails(img, c, 1, -EINVAL, want);
	memset(c[0].uuid, 0, 16);
	update_fails(img, c, 1, -EINVAL, "partition 1: the all-zero UUID is not allowed");
	/* one entry twice; reserved bits; unused and missing entries */
	assert_int_equal(vf_uuid_parse("11111111-2222-4333-8444-555555555555", c[0].uuid), 0);
	c[1].index = 0;
	update_fails(img, c, 2, -EINVAL, "partition 1 is changed twice (changes 1 and 2)");
	c[1].index = 2;
	c[1].attrs = 1ULL << 47;
	update_fails(img, c, 2, -EINVAL, "attributes 0x0000800000000000 set bits reserved by UEFI "
		     "(3-47): 0x0000800000000000");
	c[1].attrs = 0;
	c[1].index = 3;
	update_fails(img, c, 2, -EINVAL, "partition 4 is not in use");
	c[1].index = 200;
	update_fails(img, c, 2, -EINVAL, "no partition 201: the table has 128 entries");

	/* a damaged backup: refused as a whole */
	c[1].index = 2;
	write_at(img, (SECTORS - 1) * SECTOR + 60, "\x01", 1);
	update_fails(img, c, 2, -EUCLEAN, "refusing to change a damaged GPT");
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_round_trip),
		vf_test_in_tmpdir(test_bytes),
		vf_test_in_tmpdir(test_big_disk),
		vf_test_in_tmpdir(test_determinism),
		vf_test_in_tmpdir(test_write_errors),
		vf_test_in_tmpdir(test_read_errors),
		vf_test_in_tmpdir(test_read_gap),
		vf_test_in_tmpdir(test_read_backup),
		vf_test_in_tmpdir(test_set_attrs),
		vf_test_in_tmpdir(test_set_attrs_keeps_mbr),
		vf_test_in_tmpdir(test_set_attrs_errors),
		vf_test_in_tmpdir(test_update),
		vf_test_in_tmpdir(test_update_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
