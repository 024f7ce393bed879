/*
 * vf_diff_files(): inputs that differ in exactly one thing each must be
 * reported as exactly that thing. ext4 images come from the project's own
 * writer (a small tree, written twice with one change), disks from
 * vf_gpt_write() with ext4 written in place into ROOT-A and a dm-verity tree
 * of it in HASH-A, JSON and raw files from literals, zstd from libzstd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/uuid.h"
#include "builder/diff/diff.h"
#include "builder/gpt/gpt.h"
#include "builder/verity/verity.h"
#include "tests/unit/ext4/ext4_test.h"

#include <fcntl.h>
#include <jansson.h>
#include <zstd.h>

#define MIB (UINT64_C(1) << 20)

/* ---- helpers ---- */

static void diff_ok(const char *a, const char *b, struct vf_diff_report *r)
{
	struct vf_err err = { 0 };
	int rc = vf_diff_files(a, b, NULL, r, &err);

	if (rc)
		print_error("vf_diff_files: %s\n", err.msg);
	assert_int_equal(rc, 0);
}

static char *text_of(const struct vf_diff_report *r)
{
	struct vf_buf b = VF_BUF_INIT;

	assert_int_equal(vf_diff_report_format_text(r, &b), 0);
	return b.data ? (char *)b.data : strdup("");
}

static void dump(const struct vf_diff_report *r)
{
	char *t = text_of(r);

	print_message("--- %zu findings:\n%s", r->n_findings, t);
	free(t);
}

/* The finding with this object and field, or NULL. */
static const struct vf_diff_finding *find(const struct vf_diff_report *r, const char *scope,
					  const char *object, const char *field)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (!strcmp(r->findings[i].scope, scope) && !strcmp(r->findings[i].object, object) &&
		    !strcmp(r->findings[i].field, field))
			return &r->findings[i];
	return NULL;
}

static const struct vf_diff_finding *must_find(const struct vf_diff_report *r, const char *scope,
					       const char *object, const char *field)
{
	const struct vf_diff_finding *f = find(r, scope, object, field);

	if (!f) {
		print_error("no finding '%s' '%s' '%s'\n", scope, object, field);
		dump(r);
	}
	assert_non_null(f);
	return f;
}

/* Findings about paths (object starting with '/') in scope. */
static size_t path_findings(const struct vf_diff_report *r, const char *scope)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_findings; i++)
		n += !strcmp(r->findings[i].scope, scope) && r->findings[i].object[0] == '/';
	return n;
}

/* ---- ext4 images differing in one thing ---- */

static void base_tree(struct vf_tree *t)
{
	t_add(t, VF_TREE_DIR, "etc", 0755, 0, 0, T_EPOCH - 10, NULL, NULL, 0);
	t_file(t, "etc/hostname", 0644, "vforge\n", 7);
	t_file(t, "etc/os-release", 0644, "NAME=vforge\nVERSION_ID=1.0.0\n", 29);
	t_add(t, VF_TREE_DIR, "usr", 0755, 0, 0, T_EPOCH - 10, NULL, NULL, 0);
	t_add(t, VF_TREE_DIR, "usr/bin", 0755, 0, 0, T_EPOCH - 10, NULL, NULL, 0);
	t_add(t, VF_TREE_SYMLINK, "usr/bin/sh", 0777, 0, 0, T_EPOCH - 10, "busybox", NULL, 0);
	t_file(t, "usr/bin/busybox", 0755, "\x7f" "ELF-binary-bytes", 17);
	t_dev(t, VF_TREE_CHR, "null", 1, 3);
	t_xattr(t, "etc/hostname", "security.selinux", "system_u:object_r:etc_t:s0", 27);
	t_xattr(t, "usr/bin/busybox", "security.selinux", "system_u:object_r:bin_t:s0", 27);
}

typedef void (*change_fn)(struct vf_tree *t);

static char *write_image(const char *dir, const char *name, change_fn change)
{
	char *sub = vf_test_path(dir, name), *img;
	struct vf_ext4_opts o = t_opts();
	struct vf_tree *t;

	assert_int_equal(mkdir(sub, 0700), 0);
	t = t_tree(sub);
	base_tree(t);
	if (change)
		change(t);
	o.size = 8 * MIB;
	img = vf_test_path(sub, "fs.img");
	t_write(img, t, &o);
	vf_tree_free(t);
	free(sub);
	return img;
}

static void replace_file(struct vf_tree *t, const char *path, uint32_t mode, int64_t mtime,
			 const void *data, size_t len)
{
	struct vf_tree_entry e = *vf_tree_get(t, path);
	struct vf_err err = { 0 };

	e.mode = mode;
	e.mtime = mtime;
	assert_int_equal(vf_tree_add(t, &e, data, len, true, &err), 0);
}

static void change_mode(struct vf_tree *t)
{
	replace_file(t, "etc/hostname", 0600, T_EPOCH - 1000, "vforge\n", 7);
}

static void change_content(struct vf_tree *t)
{
	/* bytes 24..26 change ("1.0" -> "2-1") */
	replace_file(t, "etc/os-release", 0644, T_EPOCH - 1000, "NAME=vforge\nVERSION_ID=2-1.0\n", 29);
}

static void change_xattr(struct vf_tree *t)
{
	t_xattr(t, "usr/bin/busybox", "security.selinux", "system_u:object_r:sh_t:s0", 26);
}

static void change_mtime(struct vf_tree *t)
{
	struct vf_err err = { 0 };
	size_t n = 0;

	/* a duplicate differing only in mtime is no change to the tree: remove, add */
	assert_int_equal(vf_tree_remove_glob(t, "etc/os-release", &n, &err), 0);
	assert_int_equal(n, 1);
	t_add(t, VF_TREE_FILE, "etc/os-release", 0644, 0, 0, T_EPOCH - 1, NULL,
	      "NAME=vforge\nVERSION_ID=1.0.0\n", 29);
}

static void add_file(struct vf_tree *t)
{
	/* sorts after everything: no inode number shifts */
	t_file(t, "zz-added", 0644, "new\n", 4);
}

static void change_target(struct vf_tree *t)
{
	struct vf_tree_entry e = *vf_tree_get(t, "usr/bin/sh");
	struct vf_err err = { 0 };

	e.link = (char *)"toybox!";
	assert_int_equal(vf_tree_add(t, &e, NULL, 0, true, &err), 0);
}

/*
 * Two images, the second changed by `change`: exactly one finding, for `path`
 * and `field`, with `message` (unless NULL). one_close() releases what
 * one_open() made.
 */
struct one {
	char *a, *b;
	struct vf_diff_report r;
	const struct vf_diff_finding *f;
};

static void one_open(void **state, change_fn change, const char *path, const char *field,
		     const char *message, struct one *o)
{
	o->a = write_image(*state, "a", NULL);
	o->b = write_image(*state, "b", change);
	diff_ok(o->a, o->b, &o->r);
	o->f = must_find(&o->r, "", path, field);
	if (message)
		assert_string_equal(o->f->message, message);
	if (o->r.n_findings != 1)
		dump(&o->r);
	assert_int_equal(o->r.n_findings, 1);
}

static void one_close(struct one *o)
{
	vf_diff_report_release(&o->r);
	free(o->a);
	free(o->b);
}

static void test_ext4_identical(void **state)
{
	char *a = write_image(*state, "a", NULL), *b = write_image(*state, "b", NULL);
	struct vf_diff_report r;

	diff_ok(a, b, &r);
	assert_int_equal(r.kind_a, VF_DIFF_EXT4);
	assert_int_equal(r.kind_b, VF_DIFF_EXT4);
	assert_int_equal(r.n_findings, 0);
	assert_false(r.truncated);
	vf_diff_report_release(&r);
	free(a);
	free(b);
}

static void test_ext4_mode(void **state)
{
	struct one o;
	char *t;

	/* exactly that: nothing else differs (the inode's checksum is in its own bytes) */
	one_open(state, change_mode, "/etc/hostname", "mode", "mode 0644 vs 0600", &o);
	assert_string_equal(o.f->a, "0644");
	assert_string_equal(o.f->b, "0600");
	t = text_of(&o.r);
	assert_string_equal(t, "/etc/hostname: mode 0644 vs 0600\n");
	free(t);
	one_close(&o);
}

static void test_ext4_content(void **state)
{
	struct one o;

	one_open(state, change_content, "/etc/os-release", "content",
		 "content differs (bytes 23\u201325)", &o);
	assert_string_equal(o.f->detail, "bytes 23\u201325");
	one_close(&o);
}

static void test_ext4_xattr(void **state)
{
	struct one o;

	one_open(state, change_xattr, "/usr/bin/busybox", "xattr security.selinux", NULL, &o);
	assert_string_equal(o.f->a, "\"system_u:object_r:bin_t:s0\"");
	assert_string_equal(o.f->b, "\"system_u:object_r:sh_t:s0\"");
	one_close(&o);
}

static void test_ext4_mtime(void **state)
{
	struct one o;

	one_open(state, change_mtime, "/etc/os-release", "mtime", "mtime 1699999000 vs 1699999999",
		 &o);
	one_close(&o);
}

static void test_ext4_added(void **state)
{
	char *a = write_image(*state, "a", NULL), *b = write_image(*state, "b", add_file);
	struct vf_diff_report r;
	const struct vf_diff_finding *f;

	diff_ok(a, b, &r);
	f = must_find(&r, "", "/zz-added", "added");
	assert_string_equal(f->message, "added (regular file, inode 20)");
	/* the root directory changed with it: size/content or blocks, and the counts */
	must_find(&r, "", "superblock", "free_inodes_count");
	must_find(&r, "", "group 0", "free_inodes_count");
	must_find(&r, "", "group 0", "inode bitmap");
	assert_null(find(&r, "", "/etc/hostname", "inode"));
	for (size_t i = 0; i < r.n_findings; i++)
		assert_string_not_equal(r.findings[i].field, "removed");
	/* paths are sorted after the file-system structures */
	assert_int_equal(path_findings(&r, ""), 1 + (find(&r, "", "/", "content") != NULL) +
						       (find(&r, "", "/", "layout") != NULL));
	vf_diff_report_release(&r);

	/* the other way round it is removed */
	diff_ok(b, a, &r);
	must_find(&r, "", "/zz-added", "removed");
	vf_diff_report_release(&r);
	free(a);
	free(b);
}

static void test_ext4_symlink(void **state)
{
	struct one o;

	one_open(state, change_target, "/usr/bin/sh", "target", "target \"busybox\" vs \"toybox!\"",
		 &o);
	one_close(&o);
}

/* One byte flipped where no file is: named as a structure, not a path. */
static void test_ext4_structure(void **state)
{
	char *a = write_image(*state, "a", NULL), *b = write_image(*state, "b", NULL);
	struct vf_diff_report r;
	const struct vf_diff_finding *f;
	uint64_t last = 8 * MIB - 4096; /* the last block: free */

	vf_test_flip_file(b, last + 100, 0x40);
	diff_ok(a, b, &r);
	f = must_find(&r, "", "block 2047", "structure");
	assert_string_equal(f->message, "differs: a free block (part of no file)");
	assert_int_equal(r.n_findings, 1);
	vf_diff_report_release(&r);

	/* a flipped byte inside /etc/hostname's data is its content */
	vf_test_flip_file(b, last + 100, 0x40);
	{
		char *out = t_debugfs(b, "blocks /etc/hostname");
		unsigned long blk = strtoul(out, NULL, 10);

		assert_true(blk > 0);
		vf_test_flip_file(b, (uint64_t)blk * 4096 + 2, 0x01);
		free(out);
	}
	diff_ok(a, b, &r);
	f = must_find(&r, "", "/etc/hostname", "content");
	assert_string_equal(f->detail, "bytes 2\u20132");
	vf_diff_report_release(&r);
	free(a);
	free(b);
}

/* ---- disks ---- */

struct disk {
	char *path;
	struct vf_gpt_part parts[3];
};

/* BOOT-A (raw), ROOT-A (ext4 of the tree), HASH-A (verity of ROOT-A). */
static char *make_disk(const char *dir, const char *name, change_fn change, const char *root_uuid)
{
	char *sub = vf_test_path(dir, name), *path;
	struct vf_gpt_part parts[3];
	struct vf_gpt_table t = { .disk_size = 32 * MIB, .parts = parts, .n_parts = 3 };
	struct vf_ext4_opts o = t_opts();
	struct vf_verity_params p;
	struct vf_verity_opts vo = { 0 };
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	struct vf_tree *tree;
	uint8_t *hash = NULL;
	int fd;

	assert_int_equal(mkdir(sub, 0700), 0);
	path = vf_test_path(sub, "disk.img");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)t.disk_size), 0);
	memset(parts, 0, sizeof(parts));
	assert_int_equal(vf_uuid_parse("5c7a9e3d-1b2f-4a60-8d4e-0f1a2b3c4d5e", t.disk_guid), 0);
	strcpy(parts[0].name, "BOOT-A");
	strcpy(parts[1].name, "ROOT-A");
	strcpy(parts[2].name, "HASH-A");
	assert_int_equal(vf_gpt_type_lookup("xbootldr", NULL, "dps", parts[0].type, &err), 0);
	assert_int_equal(vf_gpt_type_lookup("root", "x86_64", "dps", parts[1].type, &err), 0);
	assert_int_equal(vf_gpt_type_lookup("root-verity", "x86_64", "dps", parts[2].type, &err), 0);
	assert_int_equal(vf_uuid_parse("01234567-89ab-4cde-8f01-23456789abcd", parts[0].uuid), 0);
	assert_int_equal(vf_uuid_parse(root_uuid, parts[1].uuid), 0);
	assert_int_equal(vf_uuid_parse("a0a1a2a3-b0b1-4c0c-8d0d-e0e1e2e3e4e5", parts[2].uuid), 0);
	parts[0].first_lba = 2048;
	parts[0].size_lba = 2048;
	parts[1].first_lba = 4096;
	parts[1].size_lba = 16384; /* 8 MiB */
	parts[2].first_lba = 20480;
	parts[2].size_lba = 2048;
	assert_int_equal(vf_gpt_write(path, &t, &err), 0);
	/* BOOT-A: some bytes */
	assert_int_equal(pwrite(fd, "boot loader", 11, 2048 * 512 + 100), 11);
	/* ROOT-A */
	tree = t_tree(sub);
	base_tree(tree);
	if (change)
		change(tree);
	o.size = 8 * MIB;
	o.in_place = true;
	o.offset = 4096 * 512;
	t_write(path, tree, &o);
	vf_tree_free(tree);
	/* HASH-A */
	vf_verity_params_init(&p);
	p.data_blocks = 8 * MIB / 4096;
	p.salt_size = 4;
	memcpy(p.salt, "salt", 4);
	p.hash_offset = 20480 * 512;
	vo.data_offset = 4096 * 512;
	assert_int_equal(vf_verity_tree_build(fd, &p, &vo, &hash, &res, &err), 0);
	assert_int_equal(vf_verity_tree_write(fd, &p, &res.geometry, hash, &err), 0);
	free(hash);
	assert_int_equal(close(fd), 0);
	free(sub);
	return path;
}

#define UUID_A "fedcba98-7654-4321-8fed-cba987654321"
#define UUID_B "fedcba98-7654-4321-8fed-cba987654322"

static void test_gpt_identical(void **state)
{
	char *a = make_disk(*state, "a", NULL, UUID_A), *b = make_disk(*state, "b", NULL, UUID_A);
	struct vf_diff_report r;

	diff_ok(a, b, &r);
	assert_int_equal(r.kind_a, VF_DIFF_GPT);
	if (r.n_findings)
		dump(&r);
	assert_int_equal(r.n_findings, 0);
	vf_diff_report_release(&r);
	free(a);
	free(b);
}

static void test_gpt_uuid(void **state)
{
	char *a = make_disk(*state, "a", NULL, UUID_A), *b = make_disk(*state, "b", NULL, UUID_B), *t;
	struct vf_diff_report r;
	const struct vf_diff_finding *f;

	diff_ok(a, b, &r);
	f = must_find(&r, "ROOT-A", "partition table", "uuid");
	assert_string_equal(f->a, UUID_A);
	assert_string_equal(f->b, UUID_B);
	/* the table's bytes outside the partitions differ with it (entry, CRCs) */
	must_find(&r, "", "disk", "outside the partitions");
	assert_int_equal(r.n_findings, 2);
	t = text_of(&r);
	vf_test_assert_contains(t, "ROOT-A: partition table: uuid " UUID_A " vs " UUID_B "\n");
	free(t);
	vf_diff_report_release(&r);
	free(a);
	free(b);
}

static void test_gpt_root_content(void **state)
{
	char *a = make_disk(*state, "a", NULL, UUID_A), *b = make_disk(*state, "b", change_content, UUID_A);
	struct vf_diff_report r;
	const struct vf_diff_finding *f;
	char *t;

	diff_ok(a, b, &r);
	f = must_find(&r, "ROOT-A", "/etc/os-release", "content");
	assert_string_equal(f->detail, "bytes 23\u201325");
	assert_int_equal(path_findings(&r, "ROOT-A"), 1);
	f = must_find(&r, "HASH-A", "hash tree", "content");
	vf_test_assert_contains(f->message, "only the tree differs, because the data did (ROOT-A differs)");
	assert_null(find(&r, "HASH-A", "verity superblock", "salt"));
	assert_null(find(&r, "BOOT-A", "", "content"));
	/* partition table order: ROOT-A's findings come before HASH-A's */
	t = text_of(&r);
	assert_true(strstr(t, "ROOT-A: /etc/os-release") < strstr(t, "HASH-A: hash tree"));
	free(t);
	vf_diff_report_release(&r);

	/* BOOT-A's bytes: raw, offsets inside the partition */
	vf_test_flip_file(b, 2048 * 512 + 100, 0x20);
	diff_ok(a, b, &r);
	f = must_find(&r, "BOOT-A", "", "content");
	assert_string_equal(f->detail, "bytes 100\u2013100");
	vf_diff_report_release(&r);
	free(a);
	free(b);
}

/* ---- JSON ---- */

static char *write_text(const char *dir, const char *name, const char *text)
{
	char *p = vf_test_path(dir, name);

	vf_test_write_file(p, text, strlen(text));
	return p;
}

static void test_json(void **state)
{
	char *a = write_text(*state, "a.json",
			     "{\"seed\": \"00\", \"partitions\": [{\"name\": \"A\", \"uuid\": \"a\"},"
			     " {\"name\": \"B\", \"uuid\": \"b\"}], \"gone\": 1, \"n\": 1,"
			     " \"odd key\": true}");
	char *b = write_text(*state, "b.json",
			     "{\"seed\": \"00\", \"partitions\": [{\"name\": \"A\", \"uuid\": \"a\"},"
			     " {\"name\": \"B\", \"uuid\": \"c\"}, {\"name\": \"C\"}], \"new\": [1], \"n\": 1.0,"
			     " \"odd key\": false}");
	struct vf_diff_report r;
	const struct vf_diff_finding *f;
	char *t;

	diff_ok(a, b, &r);
	assert_int_equal(r.kind_a, VF_DIFF_JSON);
	f = must_find(&r, "", "partitions[1].uuid", "value");
	assert_string_equal(f->message, "\"b\" vs \"c\"");
	f = must_find(&r, "", "partitions[2]", "added");
	assert_string_equal(f->message, "added ({\"name\":\"C\"})");
	must_find(&r, "", "gone", "removed");
	must_find(&r, "", "new", "added");
	f = must_find(&r, "", "n", "value");
	assert_string_equal(f->message, "1 vs 1.0");
	f = must_find(&r, "", "[\"odd key\"]", "value");
	assert_string_equal(f->message, "true vs false");
	assert_null(find(&r, "", "seed", "value"));
	assert_int_equal(r.n_findings, 6);
	t = text_of(&r);
	vf_test_assert_contains(t, "partitions[1].uuid: \"b\" vs \"c\"\n");
	free(t);
	vf_diff_report_release(&r);
	free(a);
	free(b);
}

static void test_json_format_only_and_deep(void **state)
{
	char *a = write_text(*state, "a.json", "{\"a\": 1, \"b\": [1, 2]}");
	char *b = write_text(*state, "b.json", "{\n  \"b\": [1,2],\n  \"a\": 1\n}\n");
	struct vf_buf deep_a = VF_BUF_INIT, deep_b = VF_BUF_INIT;
	struct vf_diff_report r;
	const struct vf_diff_finding *f;
	char *da, *db;

	diff_ok(a, b, &r);
	must_find(&r, "", "", "formatting");
	assert_int_equal(r.n_findings, 1);
	vf_diff_report_release(&r);

	/* 400 levels: compared as a whole past 256, no crash */
	for (int i = 0; i < 400; i++) {
		vf_buf_add_str(&deep_a, "[");
		vf_buf_add_str(&deep_b, "[");
	}
	vf_buf_add_str(&deep_a, "1");
	vf_buf_add_str(&deep_b, "2");
	for (int i = 0; i < 400; i++) {
		vf_buf_add_str(&deep_a, "]");
		vf_buf_add_str(&deep_b, "]");
	}
	da = write_text(*state, "da.json", (char *)deep_a.data);
	db = write_text(*state, "db.json", (char *)deep_b.data);
	diff_ok(da, db, &r);
	assert_int_equal(r.n_findings, 1);
	f = &r.findings[0];
	vf_test_assert_contains(f->message, "nested deeper than 256 levels");
	vf_test_assert_contains(f->object, "[0][0][0]");
	vf_diff_report_release(&r);
	vf_buf_release(&deep_a);
	vf_buf_release(&deep_b);
	free(a);
	free(b);
	free(da);
	free(db);
}

/* ---- zstd, raw, errors ---- */

static char *zstd_file(const char *in, int level)
{
	size_t len, cap, n;
	uint8_t *data = vf_test_read_file(in, &len), *z;
	char *out = malloc(strlen(in) + 8);

	assert_non_null(out);
	sprintf(out, "%s.zst", in);
	cap = ZSTD_compressBound(len);
	z = malloc(cap);
	assert_non_null(z);
	n = ZSTD_compress(z, cap, data, len, level);
	assert_false(ZSTD_isError(n));
	vf_test_write_file(out, z, n);
	free(z);
	free(data);
	return out;
}

static void test_zstd(void **state)
{
	char *a = write_image(*state, "a", NULL), *b = write_image(*state, "b", change_mode);
	char *za19 = malloc(strlen(a) + 16), *za, *zb;
	struct vf_diff_report r;
	const struct vf_diff_finding *f;
	size_t len;
	uint8_t *bytes;

	/* the same content compressed at another level (made first: same name) */
	assert_non_null(za19);
	sprintf(za19, "%s.19", a);
	{
		char *tmp = zstd_file(a, 19);

		assert_int_equal(rename(tmp, za19), 0);
		free(tmp);
	}
	za = zstd_file(a, 3);
	zb = zstd_file(b, 3);

	diff_ok(za, zb, &r);
	assert_int_equal(r.kind_a, VF_DIFF_ZSTD);
	assert_int_equal(r.inner_a, VF_DIFF_EXT4);
	must_find(&r, "", "/etc/hostname", "mode");
	if (r.n_findings != 1)
		dump(&r);
	assert_int_equal(r.n_findings, 1);
	vf_diff_report_release(&r);

	diff_ok(za, za19, &r);
	f = must_find(&r, "", "", "compressed content");
	vf_test_assert_contains(f->message, "but the decompressed contents are identical");
	assert_int_equal(r.n_findings, 1);
	vf_diff_report_release(&r);

	/* identical zstd files */
	diff_ok(za, za, &r);
	assert_int_equal(r.n_findings, 0);
	vf_diff_report_release(&r);

	/* a truncated one: said, then compared as bytes */
	bytes = vf_test_read_file(zb, &len);
	vf_test_write_file(zb, bytes, len / 2);
	free(bytes);
	diff_ok(za, zb, &r);
	f = must_find(&r, "", "", "zstd");
	vf_test_assert_contains(f->message, "is not valid zstd");
	must_find(&r, "", "", "content");
	vf_diff_report_release(&r);
	free(a);
	free(b);
	free(za);
	free(zb);
	free(za19);
}

static void test_raw_and_kinds(void **state)
{
	char *a = write_text(*state, "a.bin", "0123456789abcdefXYZ-tail");
	char *b = write_text(*state, "b.bin", "0123456789ABCdefXYZ-tai");
	char *j = write_text(*state, "c.json", "{}");
	struct vf_diff_report r;
	const struct vf_diff_finding *f;

	diff_ok(a, b, &r);
	assert_int_equal(r.kind_a, VF_DIFF_RAW);
	f = must_find(&r, "", "", "content");
	assert_string_equal(f->message, "content differs (bytes 10\u201312, 4 bytes in 2 ranges)");
	assert_int_equal(r.n_findings, 1);
	vf_diff_report_release(&r);

	diff_ok(a, j, &r);
	f = must_find(&r, "", "", "kind");
	assert_string_equal(f->message, "kind raw vs json");
	vf_diff_report_release(&r);
	free(a);
	free(b);
	free(j);
}

static void test_errors_and_json_report(void **state)
{
	char *a = write_text(*state, "a.json", "{\"x\": 1}");
	char *b = write_text(*state, "b.json", "{\"x\": 2}");
	char *missing = vf_test_path(*state, "missing");
	struct vf_diff_report r;
	struct vf_diff_opts o = { .max_findings = 1 };
	struct vf_err err = { 0 };
	json_t *j;
	char *s;

	assert_int_equal(vf_diff_files(a, missing, NULL, &r, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "cannot open '%s'", missing);
	err = (struct vf_err){ 0 };
	assert_int_equal(vf_diff_files(*state, a, NULL, &r, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "is not a regular file or block device");

	diff_ok(a, b, &r);
	j = vf_diff_report_json(&r, "a.json", "b.json");
	assert_non_null(j);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"a\":{\"content\":\"json\",\"kind\":\"json\",\"path\":\"a.json\"},"
			       "\"b\":{\"content\":\"json\",\"kind\":\"json\",\"path\":\"b.json\"},"
			       "\"findings\":[{\"a\":\"1\",\"b\":\"2\",\"detail\":null,\"field\":\"value\","
			       "\"message\":\"1 vs 2\",\"object\":\"x\",\"scope\":\"\"}],"
			       "\"identical\":false,\"truncated\":false}");
	free(s);
	json_decref(j);
	vf_diff_report_release(&r);

	/* a bound on findings: truncated, said in the text */
	{
		char *c = write_text(*state, "c.json", "[1,2,3]"), *d = write_text(*state, "d.json", "[4,5,6]");
		char *t;

		assert_int_equal(vf_diff_files(c, d, &o, &r, &err), 0);
		assert_int_equal(r.n_findings, 1);
		assert_true(r.truncated);
		t = text_of(&r);
		vf_test_assert_contains(t, "more differences not shown");
		free(t);
		vf_diff_report_release(&r);
		free(c);
		free(d);
	}
	free(a);
	free(b);
	free(missing);
}

/* Damaged inputs end in findings, not errors or crashes. */
static void test_damaged(void **state)
{
	char *a = write_image(*state, "a", NULL), *b = write_image(*state, "b", change_target);
	char *g1 = vf_test_path(*state, "g1"), *g2 = vf_test_path(*state, "g2");
	char *out = t_debugfs(b, "blocks /etc");
	unsigned long blk = strtoul(out, NULL, 10);
	uint8_t junk[4096];
	struct vf_diff_report r;
	const struct vf_diff_finding *f;
	int fd;

	/* /etc's directory block overwritten */
	assert_true(blk > 0);
	vf_test_data(9, junk, sizeof(junk));
	fd = open(b, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)blk * 4096), (ssize_t)sizeof(junk));
	assert_int_equal(close(fd), 0);
	diff_ok(a, b, &r);
	f = must_find(&r, "", "/etc", "unreadable");
	vf_test_assert_contains(f->message, "cannot be compared: cannot read directory '/etc'");
	/* the walk went on past it */
	must_find(&r, "", "/usr/bin/sh", "target");
	vf_diff_report_release(&r);

	/* a GPT signature without a table: the bytes, and why */
	vf_test_data(3, junk, sizeof(junk));
	memcpy(junk + 512, "EFI PART", 8);
	vf_test_write_file(g1, junk, sizeof(junk));
	diff_ok(g1, g1, &r);
	assert_int_equal(r.n_findings, 0);
	vf_diff_report_release(&r);
	junk[3000] ^= 1;
	vf_test_write_file(g2, junk, sizeof(junk));
	diff_ok(g1, g2, &r);
	assert_int_equal(r.kind_a, VF_DIFF_GPT);
	must_find(&r, "", "partition table", "unreadable");
	f = must_find(&r, "", "", "content");
	assert_string_equal(f->detail, "bytes 3000\u20133000");
	vf_diff_report_release(&r);
	free(out);
	free(a);
	free(b);
	free(g1);
	free(g2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_ext4_identical),
		vf_test_in_tmpdir(test_ext4_mode),
		vf_test_in_tmpdir(test_ext4_content),
		vf_test_in_tmpdir(test_ext4_xattr),
		vf_test_in_tmpdir(test_ext4_mtime),
		vf_test_in_tmpdir(test_ext4_added),
		vf_test_in_tmpdir(test_ext4_symlink),
		vf_test_in_tmpdir(test_ext4_structure),
		vf_test_in_tmpdir(test_gpt_identical),
		vf_test_in_tmpdir(test_gpt_uuid),
		vf_test_in_tmpdir(test_gpt_root_content),
		vf_test_in_tmpdir(test_json),
		vf_test_in_tmpdir(test_json_format_only_and_deep),
		vf_test_in_tmpdir(test_zstd),
		vf_test_in_tmpdir(test_raw_and_kinds),
		vf_test_in_tmpdir(test_errors_and_json_report),
		vf_test_in_tmpdir(test_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
