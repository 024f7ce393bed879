/*
 * The A/B updater (builder/update/update.h) on real disk images: a tiny
 * variant built by vf_build() in versions 1.0.0 and 1.1.0 (and 1.2.0 with a
 * ROOT too big for the 1.0.0 disk), its update targets pulled from local
 * files through a test pull callback (no HTTP): status, seed, selection,
 * apply (attributes, content-addressed UUIDs, verity of the new bank, bank A
 * untouched), refusals (corrupt root, a target failing its check, an
 * oversized image, a wrong release, the same root hash), rollback rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/gpt/gpt.h"
#include "builder/image/build.h"
#include "builder/manifest/manifest.h"
#include "builder/update/update.h"
#include "builder/verity/verity.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */
#define MIB (1024u * 1024u)

/* The builds, made once for the whole file. */
static char *top;                 /* temporary directory of the group */
static char *out[3];              /* build directories: 1.0.0, 1.1.0, 1.2.0 */
static char root_hash[3][129];    /* their root hashes (hex) */
static const char *const versions[3] = { "1.0.0", "1.1.0", "1.2.0" };

static void build_version(int i)
{
	char *dir = vf_test_path(top, versions[i]), json[2048];
	struct vf_build_opts bo = { .tool_version = "test", .threads = 1 };
	struct vf_build_result res = { 0 };
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };
	int n, r;

	/* 1.2.0's ROOT is bigger than the partition of the 1.0.0 disk */
	n = snprintf(json, sizeof(json),
		     "{\"name\": \"tiny\", \"version\": \"%s\", \"arch\": \"x86_64\", "
		     "\"source_date_epoch\": %d, "
		     "\"files\": [ {\"path\": \"/etc/os-release\", \"content\": \"ID=tiny\\nVERSION_ID=%s\\n\"}, "
		     "{\"path\": \"/boot/vmlinuz\", \"content\": \"kernel %s\"} ], "
		     "\"selinux\": {\"default\": \"system_u:object_r:os_t:s0\"}, "
		     "\"layout\": {\"boot_size\": \"1MiB\", \"root_size\": \"%s\", \"hash_size\": \"1MiB\", "
		     "\"reserved_size\": \"1MiB\", \"private_size\": \"1MiB\", \"data_size\": \"8MiB\"}}",
		     versions[i], NOW, versions[i], versions[i], i == 2 ? "3MiB" : "2MiB");
	assert_true(n > 0 && (size_t)n < sizeof(json));
	r = vf_manifest_load_buffer("tiny.json", top, json, (size_t)n, &m, &err);
	if (r)
		print_error("manifest: %s\n", err.msg);
	assert_int_equal(r, 0);
	bo.compose.has_sde = true;
	bo.compose.sde = NOW;
	r = vf_build(m, dir, &bo, &res, &err);
	if (r)
		print_error("build: %s\n", err.msg);
	assert_int_equal(r, 0);
	snprintf(root_hash[i], sizeof(root_hash[i]), "%s", res.root_hash);
	out[i] = dir;
	vf_build_result_release(&res);
	vf_manifest_free(m);
}

static int group_setup(void **state)
{
	(void)state;
	top = vf_test_tmpdir();
	for (int i = 0; i < 3; i++)
		build_version(i);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	vf_test_rmtree(top);
	free(top);
	for (int i = 0; i < 3; i++)
		free(out[i]);
	return 0;
}

/* "<build dir of version i>/tiny-x86_64-<v><suffix>", malloc'd. */
static char *output(int i, const char *suffix)
{
	char name[128];

	snprintf(name, sizeof(name), "tiny-x86_64-%s%s", versions[i], suffix);
	return vf_test_path(out[i], name);
}

/* A fresh copy of the 1.0.0 disk in the test's directory. */
static char *fresh_disk(const char *dir)
{
	char *src = output(0, ".img"), *dst = vf_test_path(dir, "disk.img");
	size_t len;
	uint8_t *data = vf_test_read_file(src, &len);

	vf_test_write_file(dst, data, len);
	free(data);
	free(src);
	return dst;
}

/* ---- the pull callback: local files, optionally replaced or failing ---- */

struct pull {
	const char *dir;          /* targets by name in this directory */
	const char *replace_name; /* this target ... */
	const char *replace_path; /* ... comes from this file instead */
	bool fail_check;          /* after streaming, fail like a TUF hash mismatch */
	unsigned calls;
};

static int pull_local(void *ctx, const char *name, vf_fetch_sink sink, void *sink_ctx,
		      struct vf_err *err)
{
	struct pull *p = ctx;
	char *path = p->replace_name && strcmp(name, p->replace_name) == 0 ?
		     strdup(p->replace_path) : vf_test_path(p->dir, name);
	uint8_t buf[65536];
	int fd, r = 0;
	ssize_t n;

	p->calls++;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open '%s'", path);
		free(path);
		return r;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if ((r = sink(sink_ctx, buf, (size_t)n, err)))
			break;
	close(fd);
	free(path);
	if (!r && p->fail_check)
		r = vf_err_set(err, VF_EVERIFY, "sha256 mismatch (test)");
	return r;
}

static struct vf_updater_apply_opts apply_opts(int i, struct pull *p)
{
	static char names[3][128];
	static const char *const suffixes[3] = { "-boot.ext4.zst", "-root.ext4.zst",
						 "-root.verity.zst" };
	struct vf_updater_apply_opts o;

	memset(&o, 0, sizeof(o));
	memset(p, 0, sizeof(*p));
	p->dir = out[i];
	for (int k = 0; k < 3; k++) {
		snprintf(names[k], sizeof(names[k]), "tiny-x86_64-%s%s", versions[i], suffixes[k]);
		o.target[k] = names[k];
	}
	o.variant = "tiny";
	o.arch = "x86_64";
	o.version = versions[i];
	o.pull = pull_local;
	o.pull_ctx = p;
	o.threads = 2;
	return o;
}

/* ---- helpers ---- */

static void status_ok(const char *img, struct vf_updater_status *st)
{
	struct vf_err err = { 0 };
	int r = vf_updater_status_read(img, st, &err);

	if (r)
		print_error("status: %s\n", err.msg);
	assert_int_equal(r, 0);
}

static uint8_t *read_region(const char *path, uint64_t off, uint64_t len)
{
	uint8_t *b = malloc(len);
	int fd = open(path, O_RDONLY);

	assert_non_null(b);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, len, (off_t)off), (ssize_t)len);
	close(fd);
	return b;
}

/* Bank A's three partitions, concatenated. */
static uint8_t *bank_bytes(const char *img, const struct vf_updater_bank *b, size_t *ret_len)
{
	size_t total = 0, at = 0;
	uint8_t *all;

	for (int k = 0; k < VF_UPDATER_ROLES; k++)
		total += b->part[k].size_lba * VF_GPT_SECTOR;
	all = malloc(total);
	assert_non_null(all);
	for (int k = 0; k < VF_UPDATER_ROLES; k++) {
		uint64_t len = b->part[k].size_lba * VF_GPT_SECTOR;
		uint8_t *p = read_region(img, b->part[k].first_lba * VF_GPT_SECTOR, len);

		memcpy(all + at, p, len);
		at += len;
		free(p);
	}
	*ret_len = total;
	return all;
}

static uint64_t attrs_of(const struct vf_updater_bank *b)
{
	return b->part[VF_UPDATER_BOOT].attrs;
}

/* Verify ROOT-x against HASH-x of `img` with a root hash (hex), through the verity module. */
static int verify_root(const char *img, const struct vf_updater_bank *b, const char *hex)
{
	struct vf_verity_params p;
	struct vf_verity_failure f;
	struct vf_verity_opts o = { .data_offset = b->part[VF_UPDATER_ROOT].first_lba * 512 };
	struct vf_err err = { 0 };
	uint8_t root[64];
	size_t len;
	int fd, r;

	assert_int_equal(vf_hex_parse(hex, root, sizeof(root), &len), 0);
	r = vf_verity_sb_load(img, b->part[VF_UPDATER_HASH].first_lba * 512, &p, &err);
	if (r)
		return r;
	fd = open(img, O_RDONLY);
	assert_true(fd >= 0);
	r = vf_verity_tree_verify(fd, fd, &p, &o, root, len, &f, &err);
	close(fd);
	return r;
}

/* A file holding the zstd of `len` bytes. */
static char *zstd_file(const char *dir, const char *name, const void *data, size_t len)
{
	size_t cap = ZSTD_compressBound(len), n;
	uint8_t *z = malloc(cap);
	char *path = vf_test_path(dir, name);

	assert_non_null(z);
	n = ZSTD_compress(z, cap, data, len, 1);
	assert_false(ZSTD_isError(n));
	vf_test_write_file(path, z, n);
	free(z);
	return path;
}

static void apply_ok(const char *img, const struct vf_updater_apply_opts *o,
		     struct vf_updater_apply_result *res)
{
	struct vf_err err = { 0 };
	int r = vf_updater_apply(img, o, res, &err);

	if (r)
		print_error("apply: %s\n", err.msg);
	assert_int_equal(r, 0);
}

static void apply_fails(const char *img, const struct vf_updater_apply_opts *o, int code,
			const char *want)
{
	struct vf_updater_apply_result res;
	struct vf_err err = { 0 };

	assert_int_equal(vf_updater_apply(img, o, &res, &err), code);
	assert_int_equal(err.code, code);
	vf_test_assert_contains(err.msg, want);
}

/* ---- tests ---- */

static void test_status(void **state)
{
	char *img = fresh_disk(*state);
	struct vf_updater_status st;
	struct vf_gpt_table t;
	struct vf_err err = { 0 };
	char hex[65];

	status_ok(img, &st);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.next, 0);
	assert_true(st.bank[0].present);
	assert_int_equal(st.bank[0].name, 'A');
	assert_true(st.bank[0].has_release);
	assert_string_equal(st.bank[0].release.variant, "tiny");
	assert_string_equal(st.bank[0].release.arch, "x86_64");
	assert_string_equal(st.bank[0].release.version, "1.0.0");
	assert_int_equal(st.bank[0].priority, 1);
	assert_int_equal(st.bank[0].tries, 0);
	assert_true(st.bank[0].successful);
	assert_true(st.bank[0].bootable);
	assert_true(st.bank[0].has_root_hash);
	assert_int_equal(st.bank[0].root_hash_size, 32);
	vf_hex_format(st.bank[0].root_hash, 32, hex);
	assert_string_equal(hex, root_hash[0]);
	/* the builder's UUID rule, as read back */
	assert_memory_equal(st.bank[0].part[VF_UPDATER_ROOT].uuid, st.bank[0].root_hash, 16);
	assert_memory_equal(st.bank[0].part[VF_UPDATER_HASH].uuid, st.bank[0].root_hash + 16, 16);
	assert_string_equal(st.bank[0].part[VF_UPDATER_BOOT].name, "BOOT-A");

	/* bank B: there, empty, not bootable */
	assert_true(st.bank[1].present);
	assert_int_equal(st.bank[1].name, 'B');
	assert_false(st.bank[1].has_release);
	vf_test_assert_contains(st.bank[1].why_empty, "BOOT-B: /vforge-release");
	assert_false(st.bank[1].bootable);
	assert_int_equal(st.bank[1].priority, 0);
	assert_false(st.bank[1].has_root_hash);

	/* the disk GUID is the table's; the seed comes from its first 4 bytes */
	assert_int_equal(vf_gpt_read(img, &t, &err), 0);
	assert_memory_equal(st.disk_guid, t.disk_guid, 16);
	assert_int_equal(vf_updater_seed(st.disk_guid),
			 ((uint32_t)t.disk_guid[0] << 24 | (uint32_t)t.disk_guid[1] << 16 |
			  (uint32_t)t.disk_guid[2] << 8 | t.disk_guid[3]) % 2048);
	vf_gpt_table_release(&t);

	/* not a disk with banks */
	{
		char *plain = vf_test_path(*state, "plain.img");
		struct vf_gpt_table one = { .disk_size = 4 * MIB, .n_parts = 1 };
		struct vf_gpt_part p = { .name = "DATA", .first_lba = 2048, .size_lba = 2048 };

		vf_test_write_file(plain, "", 0);
		assert_int_equal(truncate(plain, 4 * MIB), 0);
		assert_int_equal(vf_uuid_parse("0fc63daf-8483-4772-8e79-3d69d8477de4", p.type), 0);
		assert_int_equal(vf_uuid_parse("11111111-2222-4333-8444-555555555555", p.uuid), 0);
		assert_int_equal(vf_uuid_parse("21111111-2222-4333-8444-555555555555", one.disk_guid),
				 0);
		one.parts = &p;
		assert_int_equal(vf_gpt_write(plain, &one, &err), 0);
		assert_int_equal(vf_updater_status_read(plain, &st, &err), -ENOENT);
		vf_test_assert_contains(err.msg, "has no A/B banks");
		free(plain);
	}
	free(img);
}

static void test_seed(void **state)
{
	uint8_t g[16];

	(void)state;
	assert_int_equal(vf_uuid_parse("12345678-9abc-4def-8123-456789abcdef", g), 0);
	assert_int_equal(vf_updater_seed(g), 0x12345678u % 2048u); /* 0x678 = 1656 */
	assert_int_equal(vf_updater_seed(g), 1656);
	assert_int_equal(vf_uuid_parse("000007ff-0000-4000-8000-000000000000", g), 0);
	assert_int_equal(vf_updater_seed(g), 2047);
	assert_int_equal(vf_uuid_parse("ffffffff-0000-4000-8000-000000000000", g), 0);
	assert_int_equal(vf_updater_seed(g), 2047);
	assert_int_equal(vf_uuid_parse("00000800-ffff-4fff-8fff-ffffffffffff", g), 0);
	assert_int_equal(vf_updater_seed(g), 0);
}

static void release_fails(const char *text, const char *want)
{
	struct vf_updater_release rel;
	struct vf_err err = { 0 };

	assert_int_equal(vf_updater_release_parse(text, strlen(text), &rel, &err), -EINVAL);
	vf_test_assert_contains(err.msg, want);
}

static void test_release_parse(void **state)
{
	struct vf_updater_release rel;
	struct vf_err err = { 0 };
	const char *ok = "VARIANT=demo\nARCH=aarch64\nNAME=ignored\nVERSION=1.2.3-rc.1+b5\n";

	(void)state;
	assert_int_equal(vf_updater_release_parse(ok, strlen(ok), &rel, &err), 0);
	assert_string_equal(rel.variant, "demo");
	assert_string_equal(rel.arch, "aarch64");
	assert_string_equal(rel.version, "1.2.3-rc.1+b5");
	release_fails("VARIANT=demo\nARCH=x86_64\n", "no VERSION= line");
	release_fails("VARIANT=demo\nARCH=x86_64\nVERSION=1.0.0", "line 3 does not end with a newline");
	release_fails("VARIANT=demo\nVARIANT=x\n", "line 2: VARIANT given twice");
	release_fails("VARIANT=Demo\n", "line 1: VARIANT 'Demo' is not a valid variant name");
	release_fails("VARIANT=demo\nARCH=x86 64\n", "line 2: ARCH 'x86 64' is not a valid architecture");
	release_fails("VARIANT=demo\nARCH=x86_64\nVERSION=1.0\n", "line 3: VERSION");
	release_fails("junk\n", "line 1: expected KEY=VALUE, got 'junk'");
	release_fails("\n", "line 1: expected KEY=VALUE");
	assert_int_equal(vf_updater_release_parse("A=\0\n", 4, &rel, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "NUL byte");
}

static void test_cmdline_parse(void **state)
{
	struct vf_updater_verity_table t;
	struct vf_err err = { 0 };
	const char *cmd = "dm-mod.create=\"root,,,ro,0 4096 verity 1 PARTUUID=a PARTUUID=b 4096 4096 "
			  "512 1 sha256 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
			  "- 2 restart_on_corruption ignore_zero_blocks\" root=/dev/dm-0 ro";
	uint8_t ru[16], hu[16];

	(void)state;
	assert_int_equal(vf_updater_cmdline_parse(cmd, &t, &err), 0);
	assert_string_equal(t.data_dev, "PARTUUID=a");
	assert_string_equal(t.hash_dev, "PARTUUID=b");
	assert_int_equal(t.version, 1);
	assert_int_equal(t.data_block_size, 4096);
	assert_int_equal(t.data_blocks, 512);
	assert_int_equal(t.hash_start, 1);
	assert_string_equal(t.hash_name, "sha256");
	assert_int_equal(t.root_hash_size, 32);
	assert_int_equal(t.root_hash[1], 0x11);
	assert_int_equal(t.salt_size, 0);
	assert_int_equal(vf_updater_uuids(t.root_hash, t.root_hash_size, ru, hu, &err), 0);
	assert_memory_equal(ru, t.root_hash, 16);
	assert_memory_equal(hu, t.root_hash + 16, 16);
	assert_int_equal(vf_updater_uuids(t.root_hash, 20, ru, hu, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "a root hash of 20 bytes cannot name ROOT and HASH");

	assert_int_equal(vf_updater_cmdline_parse("root=/dev/sda2 ro", &t, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "no dm-mod.create=");
	assert_int_equal(vf_updater_cmdline_parse("dm-mod.create=\"root,,,ro,0 8 linear x 0\" "
						  "verity 1", &t, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "has no verity target");
	assert_int_equal(vf_updater_cmdline_parse("dm-mod.create=\"r,,,ro,0 8 verity 1 a b 4096 x "
						  "1 1 sha256 00 -\"", &t, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "hash block size is missing or not a number");
	assert_int_equal(vf_updater_cmdline_parse("dm-mod.create=\"r,,,ro,0 8 verity 1 a b 4096 4096 "
						  "1 1 sha256 zz -\"", &t, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "root hash 'zz' is not hex");
}

/* Which update the 1.0.0 disk takes from a manifest, by seed, time and lock. */
static void test_find(void **state)
{
	char *img = fresh_disk(*state);
	struct vf_updater_status st;
	struct vf_update_manifest *m = NULL;
	const struct vf_update *u = NULL;
	struct vf_err err = { 0 };
	/* 1.1.0 from seed 0 at NOW + 1 h to seed 1024 at NOW + 2 h */
	const char *text =
		"{\"migrations\": {}, \"updates\": ["
		"{\"arch\": \"x86_64\", \"images\": {\"boot\": \"b0\", \"hash\": \"h0\", \"root\": \"r0\"},"
		" \"max_version\": \"1.1.0\", \"variant\": \"tiny\", \"version\": \"1.0.0\", \"waves\": {}},"
		"{\"arch\": \"x86_64\", \"images\": {\"boot\": \"b1\", \"hash\": \"h1\", \"root\": \"r1\"},"
		" \"max_version\": \"1.1.0\", \"variant\": \"tiny\", \"version\": \"1.1.0\","
		" \"waves\": {\"0\": \"2026-01-01T01:00:00Z\", \"1024\": \"2026-01-01T02:00:00Z\"}},"
		"{\"arch\": \"aarch64\", \"images\": {\"boot\": \"b2\", \"hash\": \"h2\", \"root\": \"r2\"},"
		" \"max_version\": \"2.0.0\", \"variant\": \"tiny\", \"version\": \"2.0.0\", \"waves\": {}}]}";

	status_ok(img, &st);
	/* seed 0 is in the initial wave: at once */
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 0, NOW, false, NULL, &m, &u, &err), 0);
	assert_non_null(u);
	assert_string_equal(u->version, "1.1.0");
	assert_string_equal(u->images.root, "r1");
	vf_update_manifest_free(m);
	/* seed 512, half way through the wave: at NOW + 1.5 h, not a second before */
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 512, NOW + 5399, false, NULL, &m,
					 &u, &err), 0);
	assert_null(u);
	vf_update_manifest_free(m);
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 512, NOW + 5400, false, NULL, &m,
					 &u, &err), 0);
	assert_non_null(u);
	assert_string_equal(u->version, "1.1.0");
	vf_update_manifest_free(m);
	/* seed 2000, after the last wave: from its time on, or with --ignore-waves */
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 2000, NOW + 7199, false, NULL, &m,
					 &u, &err), 0);
	assert_null(u);
	vf_update_manifest_free(m);
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 2000, NOW + 7199, true, NULL, &m,
					 &u, &err), 0);
	assert_non_null(u);
	vf_update_manifest_free(m);
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 2000, NOW + 7200, false, NULL, &m,
					 &u, &err), 0);
	assert_non_null(u);
	assert_string_equal(u->version, "1.1.0");
	vf_update_manifest_free(m);
	/* a lock on the running version: nothing to do */
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 0, NOW + 7200, false, "1.0.0", &m,
					 &u, &err), 0);
	assert_null(u);
	vf_update_manifest_free(m);
	/* a broken manifest is named */
	assert_int_equal(vf_updater_find(&st, "{}", 2, 0, NOW, false, NULL, &m, &u, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "manifest.json: ");
	/* an active bank without a release file */
	st.bank[0].has_release = false;
	snprintf(st.bank[0].why_empty, sizeof(st.bank[0].why_empty), "gone");
	assert_int_equal(vf_updater_find(&st, text, strlen(text), 0, NOW, false, NULL, &m, &u, &err),
			 -EINVAL);
	vf_test_assert_contains(err.msg, "the active bank A has no release file: gone");
	free(img);
}

static void test_apply(void **state)
{
	char *img = fresh_disk(*state);
	struct vf_updater_status before, st;
	struct vf_updater_apply_result res;
	struct pull p;
	struct vf_updater_apply_opts o = apply_opts(1, &p);
	uint8_t *a0, *a1;
	size_t n0, n1;
	char hex[65];

	status_ok(img, &before);
	a0 = bank_bytes(img, &before.bank[0], &n0);
	apply_ok(img, &o, &res);
	assert_int_equal(p.calls, 3);
	assert_int_equal(res.bank, 1);
	assert_int_equal(res.root_hash_size, 32);
	vf_hex_format(res.root_hash, 32, hex);
	assert_string_equal(hex, root_hash[1]);
	assert_int_equal(res.written[VF_UPDATER_ROOT], 2 * MIB);
	assert_int_equal(res.written[VF_UPDATER_BOOT], 1 * MIB);
	assert_true(res.written[VF_UPDATER_HASH] > 0);

	status_ok(img, &st);
	/* bank B: 1.1.0, priority 2, one try, not yet successful: boots next */
	assert_true(st.bank[1].has_release);
	assert_string_equal(st.bank[1].release.version, "1.1.0");
	assert_int_equal(st.bank[1].priority, 2);
	assert_int_equal(st.bank[1].tries, 1);
	assert_false(st.bank[1].successful);
	assert_int_equal(attrs_of(&st.bank[1]), (2ULL << 48) | (1ULL << 52));
	/* bank A: priority 1, still successful, still the active (running) bank */
	assert_int_equal(attrs_of(&st.bank[0]), (1ULL << 48) | VF_GPT_ATTR_SUCCESSFUL);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.next, 1);
	/* ROOT-B and HASH-B are named by the new root hash's halves */
	assert_memory_equal(st.bank[1].part[VF_UPDATER_ROOT].uuid, res.root_hash, 16);
	assert_memory_equal(st.bank[1].part[VF_UPDATER_HASH].uuid, res.root_hash + 16, 16);
	assert_memory_equal(st.bank[1].root_hash, res.root_hash, 32);
	/* the other UUIDs and the disk GUID are unchanged */
	assert_memory_equal(st.bank[1].part[VF_UPDATER_BOOT].uuid,
			    before.bank[1].part[VF_UPDATER_BOOT].uuid, 16);
	assert_memory_equal(st.disk_guid, before.disk_guid, 16);
	/* the new bank verifies; bank A's bytes are what they were */
	assert_int_equal(verify_root(img, &st.bank[1], root_hash[1]), 0);
	assert_int_equal(verify_root(img, &st.bank[1], root_hash[0]), -VF_EVERIFY);
	a1 = bank_bytes(img, &st.bank[0], &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(a0, a1, n0);
	free(a1);

	/* again before a reboot: bank B is rewritten, bank A (active) never */
	apply_ok(img, &o, &res);
	status_ok(img, &st);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.next, 1);
	a1 = bank_bytes(img, &st.bank[0], &n1);
	assert_memory_equal(a0, a1, n0);
	free(a1);
	free(a0);
	free(img);
}

/* A root target whose content is not what the verity tree says. */
static void test_apply_corrupt_root(void **state)
{
	char *img = fresh_disk(*state), *disk11 = output(1, ".img"), *bad;
	struct vf_updater_status before, st, st11;
	struct pull p;
	struct vf_updater_apply_opts o = apply_opts(1, &p);
	uint8_t *root, *a0, *a1;
	size_t n0, n1;

	/* ROOT-A of the 1.1.0 disk is the root target's content: one byte changed */
	status_ok(disk11, &st11);
	root = read_region(disk11, st11.bank[0].part[VF_UPDATER_ROOT].first_lba * 512, 2 * MIB);
	root[MIB + 5] ^= 0x40;
	bad = zstd_file(*state, "bad-root.zst", root, 2 * MIB);
	p.replace_name = o.target[VF_UPDATER_ROOT];
	p.replace_path = bad;

	status_ok(img, &before);
	a0 = bank_bytes(img, &before.bank[0], &n0);
	apply_fails(img, &o, -VF_EVERIFY, "ROOT-B against HASH-B: ");
	status_ok(img, &st);
	/* bank B left unbootable, bank A untouched and still the one that boots */
	assert_false(st.bank[1].bootable);
	assert_int_equal(st.bank[1].priority, 0);
	assert_int_equal(st.bank[1].tries, 0);
	assert_false(st.bank[1].successful);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.next, 0);
	assert_int_equal(attrs_of(&st.bank[0]), attrs_of(&before.bank[0]));
	/* ROOT-B/HASH-B keep their old UUIDs: the switch never happened */
	assert_memory_equal(st.bank[1].part[VF_UPDATER_ROOT].uuid,
			    before.bank[1].part[VF_UPDATER_ROOT].uuid, 16);
	a1 = bank_bytes(img, &st.bank[0], &n1);
	assert_memory_equal(a0, a1, n0);
	free(a1);

	/* a target failing its TUF check: stops there, same state */
	p.replace_name = NULL;
	p.fail_check = true;
	p.calls = 0;
	apply_fails(img, &o, -VF_EVERIFY, "target 'tiny-x86_64-1.1.0-boot.ext4.zst': sha256 mismatch");
	assert_int_equal(p.calls, 1);
	status_ok(img, &st);
	assert_false(st.bank[1].bootable);
	assert_int_equal(st.next, 0);
	a1 = bank_bytes(img, &st.bank[0], &n1);
	assert_memory_equal(a0, a1, n0);
	free(a1);

	/* a target that is not zstd at all, which passes its check: named */
	p.fail_check = false;
	p.replace_name = o.target[VF_UPDATER_HASH];
	p.replace_path = disk11;
	apply_fails(img, &o, -EINVAL, "target 'tiny-x86_64-1.1.0-root.verity.zst' is not a valid "
		    "zstd stream");
	/* ... and the same garbage failing its check: the check's error wins */
	p.fail_check = true;
	p.calls = 0;
	apply_fails(img, &o, -VF_EVERIFY, "sha256 mismatch (test)");
	free(root);
	free(a0);
	free(bad);
	free(disk11);
	free(img);
}

static void test_apply_refusals(void **state)
{
	char *img = fresh_disk(*state), *big, *trunc;
	struct vf_updater_status st;
	struct pull p;
	struct vf_updater_apply_opts o = apply_opts(1, &p);
	uint8_t *zeros = calloc(1, MIB + 4096), *z;
	size_t len;
	char want[256];

	/* an image bigger than its partition: BOOT-B holds 1 MiB */
	assert_non_null(zeros);
	big = zstd_file(*state, "big.zst", zeros, MIB + 4096);
	p.replace_name = o.target[VF_UPDATER_BOOT];
	p.replace_path = big;
	apply_fails(img, &o, -EFBIG, "BOOT-B: the image is larger than the partition: more than");
	apply_fails(img, &o, -EFBIG, "the partition has 1048576");
	/* a truncated stream */
	z = vf_test_read_file(big, &len);
	trunc = vf_test_path(*state, "trunc.zst");
	vf_test_write_file(trunc, z, len / 2);
	p.replace_path = trunc;
	apply_fails(img, &o, -EINVAL, "target 'tiny-x86_64-1.1.0-boot.ext4.zst' is a truncated zstd "
		    "stream");
	free(z);

	/* 1.2.0's ROOT (3 MiB) does not fit ROOT-B (2 MiB) */
	o = apply_opts(2, &p);
	apply_fails(img, &o, -EFBIG, "ROOT-B: the image is larger than the partition");

	/* the release file must say what the manifest says */
	o = apply_opts(1, &p);
	o.version = "1.1.1";
	apply_fails(img, &o, -VF_EVERIFY, "BOOT-B's /vforge-release says tiny x86_64 1.1.0, the "
		    "update manifest tiny x86_64 1.1.1");
	/* the running version's own image: the same root hash */
	o = apply_opts(0, &p);
	apply_fails(img, &o, -EEXIST, "the update's root hash is the one of the active bank A: "
		    "already installed");
	status_ok(img, &st);
	assert_false(st.bank[1].bootable);
	assert_int_equal(st.next, 0);

	/* no bank boots */
	assert_int_equal(vf_gpt_set_attrs(img, st.bank[0].index[VF_UPDATER_BOOT], 0, NULL), 0);
	o = apply_opts(1, &p);
	snprintf(want, sizeof(want), "'%s': no bank boots: nothing to update from", img);
	apply_fails(img, &o, -ENOENT, want);
	assert_int_equal(p.calls, 0);
	free(zeros);
	free(big);
	free(trunc);
	free(img);
}

static void rollback_fails(const char *img, const char *want)
{
	struct vf_err err = { 0 };
	int bank = -7;

	assert_int_equal(vf_updater_rollback(img, &bank, &err), -EINVAL);
	vf_test_assert_contains(err.msg, want);
	assert_int_equal(bank, -7);
}

static void rollback_ok(const char *img, int want_bank)
{
	struct vf_err err = { 0 };
	int bank = -1, r = vf_updater_rollback(img, &bank, &err);

	if (r)
		print_error("rollback: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(bank, want_bank);
}

static void test_rollback(void **state)
{
	char *img = fresh_disk(*state);
	struct vf_updater_status st;
	struct vf_updater_apply_result res;
	struct pull p;
	struct vf_updater_apply_opts o = apply_opts(1, &p);
	uint8_t *before, *after;
	size_t n;

	/* a fresh disk: bank B holds nothing */
	before = vf_test_read_file(img, &n);
	rollback_fails(img, "cannot roll back to bank B: it holds no image (BOOT-B: /vforge-release");
	after = vf_test_read_file(img, &n);
	assert_memory_equal(before, after, n);
	free(before);
	free(after);

	/* after an update, before its first boot: back to A, B no longer boots */
	apply_ok(img, &o, &res);
	rollback_ok(img, 0);
	status_ok(img, &st);
	assert_int_equal(attrs_of(&st.bank[0]), (2ULL << 48) | VF_GPT_ATTR_SUCCESSFUL);
	assert_int_equal(attrs_of(&st.bank[1]), 1ULL << 52); /* priority 0, its try kept */
	assert_int_equal(st.active, 0);
	assert_int_equal(st.next, 0);

	/* B with its try left may be chosen again */
	rollback_ok(img, 1);
	status_ok(img, &st);
	assert_int_equal(attrs_of(&st.bank[1]), (2ULL << 48) | (1ULL << 52));
	assert_int_equal(attrs_of(&st.bank[0]), (1ULL << 48) | VF_GPT_ATTR_SUCCESSFUL);

	/* B booted and failed (its try used, never successful): the loader falls back to A;
	 * rolling "back" to B is refused */
	assert_int_equal(vf_gpt_set_attrs(img, st.bank[1].index[VF_UPDATER_BOOT], 2ULL << 48, NULL), 0);
	status_ok(img, &st);
	assert_int_equal(st.next, 0);
	rollback_fails(img, "cannot roll back to bank B (tiny 1.1.0): it never booted successfully "
		       "and has no tries left");

	/* B booted and was marked successful: it is active; rollback returns to A */
	assert_int_equal(vf_gpt_set_attrs(img, st.bank[1].index[VF_UPDATER_BOOT],
					  (2ULL << 48) | VF_GPT_ATTR_SUCCESSFUL, NULL), 0);
	status_ok(img, &st);
	assert_int_equal(st.active, 1);
	assert_int_equal(st.next, 1);
	rollback_ok(img, 0);
	status_ok(img, &st);
	assert_int_equal(attrs_of(&st.bank[0]), (2ULL << 48) | VF_GPT_ATTR_SUCCESSFUL);
	assert_int_equal(attrs_of(&st.bank[1]), (1ULL << 48) | VF_GPT_ATTR_SUCCESSFUL);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.next, 0);

	/* with B active, an update goes to A, never to B */
	assert_int_equal(vf_gpt_set_attrs(img, st.bank[1].index[VF_UPDATER_BOOT],
					  (3ULL << 48) | VF_GPT_ATTR_SUCCESSFUL, NULL), 0);
	o = apply_opts(0, &p);
	apply_ok(img, &o, &res);
	assert_int_equal(res.bank, 0);
	status_ok(img, &st);
	assert_int_equal(st.active, 1);
	assert_int_equal(st.next, 0);
	assert_string_equal(st.bank[0].release.version, "1.0.0");
	assert_int_equal(attrs_of(&st.bank[1]), (1ULL << 48) | VF_GPT_ATTR_SUCCESSFUL);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_release_parse),
		cmocka_unit_test(test_cmdline_parse),
		vf_test_in_tmpdir(test_status),
		vf_test_in_tmpdir(test_find),
		vf_test_in_tmpdir(test_apply),
		vf_test_in_tmpdir(test_apply_corrupt_root),
		vf_test_in_tmpdir(test_apply_refusals),
		vf_test_in_tmpdir(test_rollback),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
