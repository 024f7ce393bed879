/* builder/initramfs: the newc writer, the initramfs layout and the build from a package. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/initramfs/initramfs.h"
#include "keys/digest.h"
#include "tests/unit/initramfs/elf_test.h"
#include "tests/unit/testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MTIME 1767225600

/* One parsed newc header (our own reader, independent of libarchive's). */
struct hdr {
	unsigned long f[13]; /* ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj rdevmin namesize check */
	char name[256];
	const uint8_t *data;
};

static unsigned long hex8(const uint8_t *p)
{
	char t[9];

	memcpy(t, p, 8);
	t[8] = '\0';
	for (int i = 0; i < 8; i++)
		assert_non_null(strchr("0123456789ABCDEFabcdef", t[i]));
	return strtoul(t, NULL, 16);
}

/* Parse every entry up to the trailer; returns the count, checks the framing. */
static size_t parse(const uint8_t *p, size_t len, struct hdr *out, size_t max)
{
	size_t off = 0, n = 0;

	for (;;) {
		struct hdr h;

		assert_true(off + 110 <= len);
		assert_memory_equal(p + off, "070701", 6);
		for (int i = 0; i < 13; i++)
			h.f[i] = hex8(p + off + 6 + 8 * (size_t)i);
		assert_true(h.f[11] >= 2 && h.f[11] < sizeof(h.name));
		memcpy(h.name, p + off + 110, h.f[11]);
		assert_int_equal(h.name[h.f[11] - 1], '\0');
		off = (off + 110 + h.f[11] + 3) & ~(size_t)3;
		h.data = p + off;
		off = (off + h.f[6] + 3) & ~(size_t)3;
		assert_true(off <= len);
		if (strcmp(h.name, "TRAILER!!!") == 0)
			break;
		assert_true(n < max);
		out[n++] = h;
	}
	/* nothing after the trailer's padding */
	assert_int_equal(off, len);
	return n;
}

static void test_newc_fields(void **state)
{
	static const char data[] = "hello, world\n";
	const struct vf_cpio_entry e[] = {
		{ .path = "d", .dir = true, .mode = 0755 },
		{ .path = "d/f", .mode = 0640, .data = data, .len = sizeof(data) - 1 },
		{ .path = "empty", .mode = 04755 },
	};
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct hdr h[8];

	(void)state;
	assert_int_equal(vf_cpio_newc_write(e, 3, MTIME, &out, &err), 0);
	assert_int_equal(parse(out.data, out.len, h, 8), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(h[i].name, e[i].path);
		assert_int_equal(h[i].f[0], i + 1);                 /* ino */
		assert_int_equal(h[i].f[2], 0);                     /* uid */
		assert_int_equal(h[i].f[3], 0);                     /* gid */
		assert_int_equal(h[i].f[4], e[i].dir ? 2 : 1);      /* nlink */
		assert_int_equal(h[i].f[5], MTIME);
		for (int k = 7; k <= 10; k++)
			assert_int_equal(h[i].f[k], 0);              /* dev, rdev */
		assert_int_equal(h[i].f[12], 0);                    /* check */
	}
	assert_int_equal(h[0].f[1], 040755);
	assert_int_equal(h[1].f[1], 0100640);
	assert_int_equal(h[2].f[1], 0104755);
	assert_int_equal(h[1].f[6], sizeof(data) - 1);
	assert_memory_equal(h[1].data, data, sizeof(data) - 1);
	assert_int_equal(h[2].f[6], 0);
	vf_buf_release(&out);

	/* refused: absolute paths, data on a directory; the buffer is left as it was */
	{
		const struct vf_cpio_entry bad[] = { { .path = "/abs", .mode = 0644 } };
		const struct vf_cpio_entry bad2[] = { { .path = "d", .dir = true, .data = data, .len = 1 } };

		assert_int_equal(vf_buf_add(&out, "x", 1), 0);
		assert_int_equal(vf_cpio_newc_write(bad, 1, MTIME, &out, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "cpio: entry '/abs': expected a relative path");
		assert_int_equal(out.len, 1);
		assert_int_equal(vf_cpio_newc_write(bad2, 1, MTIME, &out, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "no data for a directory");
		assert_int_equal(out.len, 1);
		vf_buf_release(&out);
	}
}

/* GNU cpio and libarchive read it back as written. */
static void test_newc_libarchive_reads(void **state)
{
	static const char data[] = "content";
	const struct vf_cpio_entry e[] = {
		{ .path = "a", .dir = true, .mode = 0700 },
		{ .path = "a/b", .mode = 0600, .data = data, .len = 7 },
	};
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	char buf[16];

	(void)state;
	assert_int_equal(vf_cpio_newc_write(e, 2, MTIME, &out, &err), 0);
	archive_read_support_format_cpio(a);
	assert_int_equal(archive_read_open_memory(a, out.data, out.len), ARCHIVE_OK);
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_string_equal(archive_format_name(a), "ASCII cpio (SVR4 with no CRC)");
	assert_string_equal(archive_entry_pathname(ae), "a");
	assert_int_equal(archive_entry_filetype(ae), AE_IFDIR);
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(ae), "a/b");
	assert_int_equal(archive_entry_mtime(ae), MTIME);
	assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, data, 7);
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_EOF);
	archive_read_free(a);
	vf_buf_release(&out);
}

static void test_layout(void **state)
{
	static const char init[] = "\x7f" "ELF-init";
	const struct vf_initramfs_module mods[] = {
		{ "dm-mod.ko", "MOD-A", 5 },
		{ "dm-bufio.ko", "MOD-BB", 6 },
	};
	static const char *const names[] = {
		"dev", "init", "modules", "modules/00-dm-mod.ko", "modules/01-dm-bufio.ko",
		"modules/order", "newroot", "proc", "sys",
	};
	struct vf_buf a = VF_BUF_INIT, b = VF_BUF_INIT, c = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct hdr h[16];
	size_t n;

	(void)state;
	assert_int_equal(vf_initramfs_build_cpio(init, sizeof(init) - 1, mods, 2, MTIME, &a, &err), 0);
	n = parse(a.data, a.len, h, 16);
	assert_int_equal(n, 9);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(h[i].name, names[i]);
		assert_int_equal(h[i].f[0], i + 1);
	}
	assert_int_equal(h[0].f[1], 040755);
	assert_int_equal(h[1].f[1], 0100755);
	assert_memory_equal(h[1].data, init, sizeof(init) - 1);
	assert_int_equal(h[3].f[1], 0100644);
	assert_int_equal(h[3].f[6], 5);
	assert_memory_equal(h[3].data, "MOD-A", 5);
	assert_memory_equal(h[4].data, "MOD-BB", 6);
	assert_int_equal(h[5].f[6], strlen("00-dm-mod.ko\n01-dm-bufio.ko\n"));
	assert_memory_equal(h[5].data, "00-dm-mod.ko\n01-dm-bufio.ko\n", h[5].f[6]);
	for (size_t i = 6; i < 9; i++)
		assert_int_equal(h[i].f[1], 040755);
	/* same inputs, same bytes; another mtime, other bytes */
	assert_int_equal(vf_initramfs_build_cpio(init, sizeof(init) - 1, mods, 2, MTIME, &b, &err), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_int_equal(vf_initramfs_build_cpio(init, sizeof(init) - 1, mods, 2, MTIME + 1, &c,
						 &err), 0);
	assert_int_equal(a.len, c.len);
	assert_true(memcmp(a.data, c.data, a.len) != 0);
	vf_buf_release(&a);
	vf_buf_release(&b);
	vf_buf_release(&c);
	/* no modules: an empty order file */
	assert_int_equal(vf_initramfs_build_cpio(init, 1, NULL, 0, MTIME, &a, &err), 0);
	n = parse(a.data, a.len, h, 16);
	assert_int_equal(n, 7);
	assert_string_equal(h[3].name, "modules/order");
	assert_int_equal(h[3].f[6], 0);
	vf_buf_release(&a);
	/* a module file name that is a path */
	{
		const struct vf_initramfs_module bad[] = { { "../x.ko", "x", 1 } };

		assert_int_equal(vf_initramfs_build_cpio(init, 1, bad, 1, MTIME, &a, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "module file name '../x.ko' is not a plain file name");
		vf_buf_release(&a);
	}
}

/* ---- the build from a package ------------------------------------------------------ */

static void tar_add(struct archive *a, const char *path, const void *data, size_t len, bool dir)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)len);
	archive_entry_set_mtime(e, 1000, 0);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (!dir && len)
		assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

/* A kernel package: boot/vmlinuz-6.1-test, three modules (c depends on b, b on a). */
static void make_pkg(const char *path, bool second_image, bool compressed_b)
{
	struct archive *a = archive_write_new();
	size_t la, lb, lc;
	uint8_t *ma = MAKE_MODULE("name=mod_a\0license=GPL", false, NULL, &la);
	uint8_t *mb = MAKE_MODULE("depends=mod-a\0name=mod_b", false, NULL, &lb);
	uint8_t *mc = MAKE_MODULE("name=mod_c\0depends=mod_b", true, NULL, &lc);

	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	tar_add(a, "./boot/", NULL, 0, true);
	tar_add(a, "./boot/vmlinuz-6.1-test", "KERNEL-IMAGE", 12, false);
	if (second_image)
		tar_add(a, "./boot/vmlinuz-6.1-old", "OLD", 3, false);
	tar_add(a, "./boot/config-6.1-test", "CONFIG", 6, false);
	tar_add(a, "./usr/lib/modules/6.1-test/kernel/a/mod-a.ko", ma, la, false);
	tar_add(a, compressed_b ? "./usr/lib/modules/6.1-test/kernel/b/mod_b.ko.xz" :
				  "./usr/lib/modules/6.1-test/kernel/b/mod_b.ko", mb, lb, false);
	tar_add(a, "./usr/lib/modules/6.1-test/kernel/c/mod_c.ko", mc, lc, false);
	tar_add(a, "./usr/lib/modules/6.1-test/modules.order", "x", 1, false);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	free(ma);
	free(mb);
	free(mc);
}

static void file_sha256(const char *path, uint8_t out[32])
{
	size_t len;
	uint8_t *data = vf_test_read_file(path, &len);

	assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), data, len, out), 0);
	free(data);
}

static int build(const char *dir, const char *pkg, const uint8_t *sha, const char *const *mods,
		 size_t n, const char *glob, struct vf_initramfs_result *res, struct vf_err *err)
{
	char *store = vf_test_path(dir, "store");
	struct vf_initramfs_opts o = {
		.pkg_file = pkg, .pkg_sha256 = sha, .image_glob = glob, .modules = mods,
		.n_modules = n, .init = "INIT", .init_len = 4, .mtime = MTIME, .store_dir = store,
	};
	int r;

	vf_test_rmtree(store);
	assert_int_equal(mkdir(store, 0700), 0);
	memset(res, 0, sizeof(*res));
	vf_err_clear(err);
	r = vf_initramfs_build(&o, res, err);
	free(store);
	return r;
}

static void test_build_from_package(void **state)
{
	static const char *const want[] = { "mod-c", "mod_a" };
	char *pkg = vf_test_path(*state, "k.tar");
	struct vf_initramfs_result res, res2;
	struct vf_err err;
	struct hdr h[16];
	uint8_t sha[32];
	size_t n;

	make_pkg(pkg, false, false);
	file_sha256(pkg, sha);
	assert_int_equal(build(*state, pkg, sha, want, 2, NULL, &res, &err), 0);
	assert_string_equal(res.kernel_path, "boot/vmlinuz-6.1-test");
	assert_int_equal(res.kernel_len, 12);
	assert_memory_equal(res.kernel, "KERNEL-IMAGE", 12);
	assert_int_equal(res.n_modules, 3);
	assert_string_equal(res.modules[0], "00-mod-a.ko");
	assert_string_equal(res.modules[1], "01-mod_b.ko");
	assert_string_equal(res.modules[2], "02-mod_c.ko");
	n = parse(res.initrd, res.initrd_len, h, 16);
	assert_int_equal(n, 10);
	assert_string_equal(h[1].name, "init");
	assert_memory_equal(h[1].data, "INIT", 4);
	assert_string_equal(h[3].name, "modules/00-mod-a.ko");
	assert_memory_equal(h[3].data + 0, "\x7f" "ELF", 4);
	assert_string_equal(h[6].name, "modules/order");
	assert_memory_equal(h[6].data, "00-mod-a.ko\n01-mod_b.ko\n02-mod_c.ko\n", h[6].f[6]);
	/* twice: the same bytes */
	assert_int_equal(build(*state, pkg, sha, want, 2, "/boot/vmlinuz-*", &res2, &err), 0);
	assert_int_equal(res.initrd_len, res2.initrd_len);
	assert_memory_equal(res.initrd, res2.initrd, res.initrd_len);
	vf_initramfs_result_release(&res);
	vf_initramfs_result_release(&res2);
	vf_initramfs_result_release(&res2);
	free(pkg);
}

static void test_build_errors(void **state)
{
	static const char *const want[] = { "mod_c" };
	static const char *const none[] = { "nosuch" };
	char *pkg = vf_test_path(*state, "k.tar");
	struct vf_initramfs_result res;
	struct vf_err err;
	uint8_t sha[32];

	make_pkg(pkg, false, false);
	file_sha256(pkg, sha);
	/* the pin */
	sha[0] ^= 1;
	assert_int_equal(build(*state, pkg, sha, want, 1, NULL, &res, &err), -VF_EVERIFY);
	vf_test_assert_containsf(err.msg, "package '%s': sha256 mismatch: expected ", pkg);
	assert_null(res.initrd);
	sha[0] ^= 1;
	/* a missing module */
	assert_int_equal(build(*state, pkg, sha, none, 1, NULL, &res, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "kernel package '%s': module 'nosuch' is not in the "
				 "kernel package '%s'", pkg, pkg);
	/* the image glob: none, or several */
	assert_int_equal(build(*state, pkg, sha, want, 1, "boot/bzImage", &res, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "kernel.image 'boot/bzImage' matches 0 files of the package "
				"(expected exactly one)");
	make_pkg(pkg, true, false);
	file_sha256(pkg, sha);
	assert_int_equal(build(*state, pkg, sha, want, 1, NULL, &res, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "kernel.image 'boot/vmlinuz-*' matches 2 files of the "
				"package: 'boot/vmlinuz-6.1-old', 'boot/vmlinuz-6.1-test'");
	/* a compressed module that is needed */
	make_pkg(pkg, false, true);
	file_sha256(pkg, sha);
	assert_int_equal(build(*state, pkg, sha, want, 1, NULL, &res, &err), -ENOTSUP);
	vf_test_assert_contains(err.msg, "module file 'usr/lib/modules/6.1-test/kernel/b/mod_b.ko.xz' "
				"is compressed: vforge reads only uncompressed .ko modules");
	/* ... but not when it is not needed */
	{
		static const char *const a_only[] = { "mod-a" };

		assert_int_equal(build(*state, pkg, sha, a_only, 1, NULL, &res, &err), 0);
		assert_int_equal(res.n_modules, 1);
		vf_initramfs_result_release(&res);
	}
	free(pkg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newc_fields),
		cmocka_unit_test(test_newc_libarchive_reads),
		cmocka_unit_test(test_layout),
		cmocka_unit_test_setup_teardown(test_build_from_package, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_build_errors, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
