/* builder/manifest: the kernel fields (package, image, modules, init) and how includes merge them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/manifest/manifest.h"
#include "tests/unit/manifest/manifest_helpers.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HDR "\"name\": \"t\", \"version\": \"1.0.0\", \"arch\": \"x86_64\""
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PKG_A "\"package\": {\"path\": \"k.deb\", \"sha256\": \"" SHA_A "\"}"

static void expect_fail(const char *dir, const char *text, int code, const char *want)
{
	put(dir, "v.json", text);
	expect_load_fail(dir, "v.json", code, want);
}

static void test_full(void **state)
{
	struct vf_manifest *m;
	char *json = NULL, *want;
	struct vf_err err;

	put(*state, "v.json", "{" HDR ", \"kernel\": {" PKG_A ", \"image\": \"boot/bzImage\", "
	    "\"modules\": [\"virtio_blk\", \"dm-verity\"], \"init\": \"/usr/lib/vforge/vinit\", "
	    "\"cmdline\": [\"quiet\"]}}");
	m = load_named_ok(*state, "v.json");
	assert_true(m->kernel.has_package);
	assert_string_equal(m->kernel.path, "k.deb");
	want = vf_test_path(*state, "k.deb");
	assert_non_null(strstr(m->kernel.file, "/k.deb"));
	assert_int_equal(m->kernel.file[0], '/');
	free(want);
	assert_int_equal(m->kernel.sha256[0], 0xaa);
	assert_int_equal(m->kernel.sha256[31], 0xaa);
	assert_non_null(strstr(m->kernel.origin, "v.json"));
	assert_string_equal(m->kernel.image, "boot/bzImage");
	assert_int_equal(m->kernel.n_modules, 2);
	assert_string_equal(m->kernel.modules[0], "virtio_blk");
	assert_string_equal(m->kernel.modules[1], "dm-verity");
	assert_string_equal(m->kernel.init, "/usr/lib/vforge/vinit");
	assert_int_equal(m->n_cmdline, 1);
	/* the resolved document: "file" and "origin" relative to the variant */
	assert_int_equal(vf_manifest_format_json(m, &json, &err), 0);
	vf_test_assert_contains(json, "\"file\": \"k.deb\"");
	vf_test_assert_contains(json, "\"origin\": \"v.json\"");
	free(json);
	vf_manifest_free(m);
}

static void test_defaults(void **state)
{
	struct vf_manifest *m;

	put(*state, "v.json", "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/init\"}}");
	m = load_named_ok(*state, "v.json");
	assert_true(m->kernel.has_package);
	assert_string_equal(m->kernel.image, VF_MANIFEST_KERNEL_IMAGE_DEFAULT);
	assert_int_equal(m->kernel.n_modules, 0);
	vf_manifest_free(m);
	/* no kernel package: nothing set */
	put(*state, "v.json", "{" HDR ", \"kernel\": {\"cmdline\": [\"ro\"]}}");
	m = load_named_ok(*state, "v.json");
	assert_false(m->kernel.has_package);
	assert_null(m->kernel.image);
	assert_null(m->kernel.init);
	vf_manifest_free(m);
}

static void test_errors(void **state)
{
	const char *d = *state;

	expect_fail(d, "{" HDR ", \"kernel\": {\"package\": {\"path\": \"k.deb\"}, \"init\": \"/i\"}}",
		    -EINVAL, "kernel.package: missing required key 'sha256'");
	expect_fail(d, "{" HDR ", \"kernel\": {\"package\": {\"path\": \"k.deb\", \"sha256\": \"abc\"}, "
		    "\"init\": \"/i\"}}", -EINVAL,
		    "kernel.package.sha256: expected 64 lowercase hex digits, got 'abc'");
	expect_fail(d, "{" HDR ", \"kernel\": {\"package\": {\"path\": \"k.deb\", \"sha256\": \""
		    SHA_A "\", \"name\": \"x\"}, \"init\": \"/i\"}}", -EINVAL,
		    "kernel.package: unknown key 'name'");
	expect_fail(d, "{" HDR ", \"kernel\": {\"package\": {\"path\": \"dir/\", \"sha256\": \""
		    SHA_A "\"}, \"init\": \"/i\"}}", -EINVAL,
		    "kernel.package.path: path 'dir/' does not name a file");
	expect_fail(d, "{" HDR ", \"kernel\": {\"package\": \"k.deb\"}}", -EINVAL,
		    "kernel.package: expected an object, got a string");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A "}}", -EINVAL,
		    "kernel: missing required key 'init'");
	expect_fail(d, "{" HDR ", \"kernel\": {\"modules\": [\"ext4\"], \"init\": \"/i\"}}", -EINVAL,
		    "kernel.modules: needs kernel.package");
	expect_fail(d, "{" HDR ", \"kernel\": {\"init\": \"/i\"}}", -EINVAL,
		    "kernel.init: needs kernel.package");
	expect_fail(d, "{" HDR ", \"kernel\": {\"image\": \"boot/x\"}}", -EINVAL,
		    "kernel.image: needs kernel.package");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"usr/init\"}}", -EINVAL,
		    "kernel.init: path 'usr/init'");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/usr/../init\"}}", -EINVAL,
		    "kernel.init: path '/usr/../init'");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/i\", \"modules\": "
		    "[\"dm verity\"]}}", -EINVAL, "kernel.modules[0]: expected a module name");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/i\", \"modules\": "
		    "[\"\"]}}", -EINVAL, "kernel.modules[0]: expected a module name");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/i\", \"modules\": "
		    "[\"a23456789012345678901234567890123456789012345678901234567\"]}}", -EINVAL,
		    "kernel.modules[0]: expected a module name");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/i\", \"modules\": "
		    "[\"dm-verity\", \"ext4\", \"dm_verity\"]}}", -EINVAL,
		    "kernel.modules[2]: module 'dm_verity' is already named by kernel.modules[0]");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/i\", \"modules\": "
		    "\"ext4\"}}", -EINVAL, "kernel.modules: expected an array, got a string");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/i\", \"image\": \"\"}}",
		    -EINVAL, "kernel.image: expected a glob");
	expect_fail(d, "{" HDR ", \"kernel\": {" PKG_A ", \"init\": \"/i\", \"initrd\": 1}}",
		    -EINVAL, "kernel: unknown key 'initrd'");
}

static void test_too_many_modules(void **state)
{
	char text[4096];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), "{" HDR ", \"kernel\": {" PKG_A ", \"init\": "
			     "\"/i\", \"modules\": [");
	for (int i = 0; i <= VF_MANIFEST_KERNEL_MODULES_MAX; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"m%d\"", i ? ", " : "", i);
	snprintf(text + o, sizeof(text) - o, "]}}");
	expect_fail(*state, text, -EINVAL, "kernel.modules: 65 modules, more than the 64 allowed");
}

/* A fragment sets the package (relative to itself), the variant the modules and init. */
static void test_merge(void **state)
{
	struct vf_manifest *m;
	char *sub = vf_test_path(*state, "dist");
	char *json = NULL;
	struct vf_err err;

	assert_int_equal(mkdir(sub, 0755), 0);
	put(sub, "kernel.json", "{\"kernel\": {" PKG_A ", \"modules\": [\"zzz\"]}}");
	put(*state, "v.json", "{\"include\": [\"dist/kernel.json\"], " HDR ", \"kernel\": "
	    "{\"modules\": [\"virtio_blk\", \"ext4\"], \"init\": \"/usr/lib/vforge/vinit\", "
	    "\"cmdline\": [\"console=ttyS0\"]}}");
	m = load_named_ok(*state, "v.json");
	assert_true(m->kernel.has_package);
	assert_string_equal(m->kernel.path, "k.deb");
	assert_non_null(strstr(m->kernel.file, "/dist/k.deb"));
	assert_non_null(strstr(m->kernel.origin, "dist/kernel.json"));
	/* arrays other than cmdline: the later file's replaces */
	assert_int_equal(m->kernel.n_modules, 2);
	assert_string_equal(m->kernel.modules[0], "virtio_blk");
	assert_string_equal(m->kernel.modules[1], "ext4");
	assert_int_equal(vf_manifest_format_json(m, &json, &err), 0);
	vf_test_assert_contains(json, "\"file\": \"dist/k.deb\"");
	vf_test_assert_contains(json, "\"origin\": \"dist/kernel.json\"");
	free(json);
	vf_manifest_free(m);

	/* a later package replaces the earlier one as a whole, resolved against its own file */
	put(*state, "v.json", "{\"include\": [\"dist/kernel.json\"], " HDR ", \"kernel\": "
	    "{\"package\": {\"path\": \"other.deb\", \"sha256\": \"" SHA_B "\"}, "
	    "\"init\": \"/i\"}}");
	m = load_named_ok(*state, "v.json");
	assert_string_equal(m->kernel.path, "other.deb");
	assert_non_null(strstr(m->kernel.file, "/other.deb"));
	assert_null(strstr(m->kernel.file, "/dist/"));
	assert_int_equal(m->kernel.sha256[0], 0xbb);
	assert_non_null(strstr(m->kernel.origin, "v.json"));
	/* the fragment's modules stay when the variant names none */
	assert_int_equal(m->kernel.n_modules, 1);
	assert_string_equal(m->kernel.modules[0], "zzz");
	vf_manifest_free(m);

	/* a fragment's package without sha256 is refused in that fragment, naming it */
	put(sub, "kernel.json", "{\"kernel\": {\"package\": {\"path\": \"k.deb\"}}}");
	put(*state, "v.json", "{\"include\": [\"dist/kernel.json\"], " HDR ", \"kernel\": "
	    "{\"init\": \"/i\"}}");
	m = NULL;
	assert_int_equal(load_at(*state, "v.json", &m, &err), -EINVAL);
	assert_msg(&err, "kernel.json");
	assert_msg(&err, "kernel.package: missing required key 'sha256'");
	free(sub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full, vf_test_tmpdir_setup, vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_defaults, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_errors, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_too_many_modules, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_merge, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
