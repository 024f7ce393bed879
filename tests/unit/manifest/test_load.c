/* builder/manifest: reading, per-file validation, value grammars, host paths, JSON output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/manifest/manifest.h"
#include "tests/unit/manifest/manifest_helpers.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR "\"name\": \"t\", \"version\": \"1.0.0\", \"arch\": \"x86_64\""
#define SHA "\"sha256\": \"" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""

/* Load `text` as <dir>/t.json; expect failure with `code` and `want` in the message. */
static void expect_fail(const char *dir, const char *text, int code, const char *want)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;

	put(dir, "t.json", text);
	assert_int_equal(load_at(dir, "t.json", &m, &err), code);
	assert_null(m);
	assert_int_equal(err.code, code);
	assert_msg(&err, want);
}

/* The same from memory (no include resolution needed). */
static void expect_fail_buf(const char *text, int code, const char *want)
{
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };

	assert_int_equal(vf_manifest_load_buffer("mem.json", "/nonexistent-unit", text,
						 strlen(text), &m, &err), code);
	assert_null(m);
	assert_msg(&err, want);
}

static struct vf_manifest *load_ok(const char *dir, const char *text)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;

	put(dir, "t.json", text);
	if (load_at(dir, "t.json", &m, &err))
		print_error("unexpected error: %s\n", err.msg);
	assert_non_null(m);
	return m;
}

/* ---- reading -------------------------------------------------------------------- */

static void test_minimal(void **state)
{
	struct vf_manifest *m = load_ok(*state, "{" HDR "}");

	assert_string_equal(m->name, "t");
	assert_string_equal(m->version, "1.0.0");
	assert_string_equal(m->arch, "x86_64");
	assert_false(m->has_source_date_epoch);
	assert_int_equal(m->n_pkgs, 0);
	assert_true(m->default_policy);
	assert_int_equal(m->max_entry_size, 1u << 30);
	assert_int_equal(m->max_entries, 1000000);
	assert_null(m->default_label);
	assert_null(m->update_root);
	assert_null(m->update_root_path);
	assert_false(m->has_layout);
	assert_int_equal(m->layout.n_parts, 10); /* the defaults, derived */
	assert_non_null(strstr(m->path, "t.json"));
	vf_manifest_free(m);
	vf_manifest_free(NULL);
}

static void test_directory_argument(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char *sub = vf_test_path(*state, "v");

	assert_int_equal(mkdir(sub, 0755), 0);
	/* a directory without variant.json */
	assert_int_equal(load_at(*state, "v", &m, &err), -ENOENT);
	assert_msg(&err, "cannot open manifest '");
	assert_msg(&err, "v/variant.json': No such file or directory");
	put(sub, "variant.json", "{" HDR "}");
	assert_int_equal(load_at(*state, "v", &m, &err), 0);
	assert_string_equal(m->name, "t");
	assert_non_null(strstr(m->path, "v/variant.json"));
	vf_manifest_free(m);
	free(sub);
}

static void test_missing_and_not_regular(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char *fifo = vf_test_path(*state, "fifo.json");

	assert_int_equal(load_at(*state, "nope.json", &m, &err), -ENOENT);
	assert_msg(&err, "cannot open manifest '");
	assert_msg(&err, "nope.json': No such file or directory");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(load_at(*state, "fifo.json", &m, &err), -EINVAL);
	assert_msg(&err, "fifo.json' is not a regular file");
	free(fifo);
}

static void test_too_large(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char *p = vf_test_path(*state, "big.json");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, VF_MANIFEST_MAX_FILE + 1), 0);
	close(fd);
	assert_int_equal(load_at(*state, "big.json", &m, &err), -EFBIG);
	assert_msg(&err, "big.json' is 16777217 bytes, more than the 16777216 allowed");
	/* the limit applies to buffers too */
	assert_int_equal(vf_manifest_load_buffer("b", "/", "{}", VF_MANIFEST_MAX_FILE + 1, &m,
						 &err), -EFBIG);
	assert_msg(&err, "manifest 'b' is 16777217 bytes");
	free(p);
}

static void test_json_syntax(void **state)
{
	expect_fail(*state, "{\n  \"name\": \"t\",\n  oops\n}", -EINVAL, "invalid JSON at line 3");
	expect_fail(*state, "[1, 2]", -EINVAL, "expected a JSON object at the top");
	expect_fail(*state, "{" HDR "} trailing", -EINVAL, "invalid JSON");
	expect_fail(*state, "", -EINVAL, "invalid JSON");
	/* duplicate keys are refused, at the top and nested */
	expect_fail(*state, "{" HDR ", \"name\": \"u\"}", -EINVAL, "duplicate object key");
	expect_fail(*state, "{" HDR ", \"layout\": {\"ab\": true, \"ab\": false}}", -EINVAL,
		    "duplicate object key");
	/* NUL in strings is not accepted by the parser */
	expect_fail(*state, "{" HDR ", \"remove\": [\"/a\\u0000b\"]}", -EINVAL, "invalid JSON");
}

static void test_unknown_keys(void **state)
{
	expect_fail(*state, "{" HDR ", \"colour\": 1}", -EINVAL, "t.json': unknown key 'colour'");
	expect_fail(*state, "{" HDR ", \"layout\": {\"disk\": 1}}", -EINVAL,
		    "layout: unknown key 'disk'");
	expect_fail(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": \"a\", " SHA
		    ", \"origin\": \"x\"}]}", -EINVAL, "packages[0]: unknown key 'origin'");
	expect_fail(*state, "{" HDR ", \"update\": {\"root\": \"r.json\", \"file\": \"x\"}}",
		    -EINVAL, "update: unknown key 'file'");
	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": [{\"regex\": \"/a\", "
		    "\"label\": \"u:r:t\", \"kind\": \"file\"}]}}", -EINVAL,
		    "selinux.file_contexts[0]: unknown key 'kind'");
	expect_fail(*state, "{" HDR ", \"kernel\": {\"initrd\": \"x\"}}", -EINVAL,
		    "kernel: unknown key 'initrd'");
}

static void test_wrong_types(void **state)
{
	expect_fail(*state, "{\"name\": 7, \"version\": \"1.0.0\", \"arch\": \"x86_64\"}", -EINVAL,
		    "name: expected a string, got an integer");
	expect_fail(*state, "{" HDR ", \"packages\": {}}", -EINVAL,
		    "packages: expected an array, got an object");
	expect_fail(*state, "{" HDR ", \"packages\": [\"busybox\"]}", -EINVAL,
		    "packages[0]: expected an object, got a string");
	expect_fail(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": \"a\", " SHA
		    ", \"override\": \"yes\"}]}", -EINVAL,
		    "packages[0].override: expected a boolean, got a string");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"content\": \"x\", "
		    "\"mode\": true}]}", -EINVAL, "files[0].mode: expected a mode");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"content\": \"x\", "
		    "\"uid\": 1.5}]}", -EINVAL, "files[0].uid: expected an integer, got a real number");
	expect_fail(*state, "{" HDR ", \"source_date_epoch\": \"now\"}", -EINVAL,
		    "source_date_epoch: expected an integer, got a string");
	expect_fail(*state, "{" HDR ", \"kernel\": {\"cmdline\": \"quiet\"}}", -EINVAL,
		    "kernel.cmdline: expected an array, got a string");
	expect_fail(*state, "{" HDR ", \"policy\": {\"defaults\": null}}", -EINVAL,
		    "policy.defaults: expected a boolean, got null");
	expect_fail(*state, "{" HDR ", \"layout\": {\"root_size\": 1.5}}", -EINVAL,
		    "layout.root_size: expected a size");
	expect_fail(*state, "{" HDR ", \"include\": [3]}", -EINVAL,
		    "include[0]: expected a string, got an integer");
	expect_fail(*state, "{" HDR ", \"layout\": []}", -EINVAL,
		    "layout: expected an object, got an array");
	expect_fail(*state, "{" HDR ", \"limits\": {\"max_entries\": -1}}", -ERANGE,
		    "limits.max_entries: expected an integer from 0 to");
}

static void test_required(void **state)
{
	expect_fail(*state, "{\"version\": \"1.0.0\", \"arch\": \"x86_64\"}", -EINVAL,
		    "variant '");
	expect_fail(*state, "{\"version\": \"1.0.0\", \"arch\": \"x86_64\"}", -EINVAL,
		    "missing required key 'name'");
	expect_fail(*state, "{\"name\": \"t\", \"arch\": \"x86_64\"}", -EINVAL,
		    "missing required key 'version'");
	expect_fail(*state, "{\"name\": \"t\", \"version\": \"1.0.0\"}", -EINVAL,
		    "missing required key 'arch'");
	expect_fail(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", " SHA "}]}", -EINVAL,
		    "packages[0]: missing required key 'path'");
	expect_fail(*state, "{" HDR ", \"update\": {\"path\": \"/etc/root.json\"}}", -EINVAL,
		    "update: missing required key 'root'");
	expect_fail(*state, "{" HDR ", \"symlinks\": [{\"path\": \"/a\"}]}", -EINVAL,
		    "symlinks[0]: missing required key 'target'");
}

/* ---- value grammars -------------------------------------------------------------- */

static void test_names(void **state)
{
	static const char *const good[] = { "a", "0", "demo", "my-variant-2",
		"a123456789012345678901234567890123456789012345678901234567890123" };
	static const char *const bad[] = { "", "Demo", "-a", "a_b", "a.b", "a b", "é",
		"a1234567890123456789012345678901234567890123456789012345678901234" };
	char text[512];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vf_manifest *m;

		snprintf(text, sizeof(text), "{\"name\": \"%s\", \"version\": \"1.0.0\", "
			 "\"arch\": \"x86_64\"}", good[i]);
		m = load_ok(*state, text);
		assert_string_equal(m->name, good[i]);
		vf_manifest_free(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"name\": \"%s\", \"version\": \"1.0.0\", "
			 "\"arch\": \"x86_64\"}", bad[i]);
		expect_fail(*state, text, -EINVAL, "name: expected [a-z0-9] then up to 63 of "
			    "[a-z0-9-], got '");
	}
	/* packages may also use . _ + */
	expect_fail_buf("{" HDR ", \"packages\": [{\"name\": \"Busy\", \"path\": \"a\", " SHA "}]}",
			-EINVAL, "packages[0].name: expected a package name ([a-z0-9] then up to 63 "
			"of [a-z0-9._+-]), got 'Busy'");
	expect_fail_buf("{" HDR ", \"packages\": [{\"name\": \".a\", \"path\": \"a\", " SHA "}]}",
			-EINVAL, "got '.a'");
	{
		static const char text2[] = "{" HDR ", \"packages\": [{\"name\": \"libstdc++_6.x\", "
					    "\"path\": \"a\", " SHA "}]}";
		struct vf_manifest *m = load_ok(*state, text2);

		assert_string_equal(m->pkgs[0].name, "libstdc++_6.x");
		vf_manifest_free(m);
	}
}

static void test_versions(void **state)
{
	static const char *const good[] = { "0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha",
		"1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0+20130313144700",
		"1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3---117B344092BD", "1.0.0-rc.1+001" };
	static const char *const bad[] = { "", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3",
		"1.2.03", "1.2.3-", "1.2.3+", "1.2.3-01", "1.2.3-a..b", "1.2.3-a_b", "v1.2.3",
		"1.2.3 ", "-1.2.3", "1.2.3-+" };
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vf_manifest *m;

		snprintf(text, sizeof(text), "{\"name\": \"t\", \"version\": \"%s\", "
			 "\"arch\": \"aarch64\"}", good[i]);
		m = load_ok(*state, text);
		assert_string_equal(m->version, good[i]);
		assert_string_equal(m->arch, "aarch64");
		vf_manifest_free(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"name\": \"t\", \"version\": \"%s\", "
			 "\"arch\": \"x86_64\"}", bad[i]);
		expect_fail(*state, text, -EINVAL, "version: expected a SemVer 2.0 version");
	}
}

static void test_arch(void **state)
{
	expect_fail(*state, "{\"name\": \"t\", \"version\": \"1.0.0\", \"arch\": \"amd64\"}",
		    -EINVAL, "arch: expected \"x86_64\" or \"aarch64\", got 'amd64'");
}

static void test_sha256(void **state)
{
	static const char *const bad[] = { "abc",
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0" };
	char text[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": "
			 "\"a.tar\", \"sha256\": \"%s\"}]}", bad[i]);
		expect_fail(*state, text, -EINVAL,
			    "packages[0].sha256: expected 64 lowercase hex digits, got '");
	}
	expect_fail(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": \"a\", "
		    "\"sha256\": \"abc\"}]}", -EINVAL, "got 'abc'");
	{
		struct vf_manifest *m = load_ok(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", "
						"\"path\": \"a.tar\", " SHA "}]}");

		assert_int_equal(m->pkgs[0].sha256[0], 0x01);
		assert_int_equal(m->pkgs[0].sha256[31], 0xef);
		assert_false(m->pkgs[0].override);
		assert_false(m->pkgs[0].allow_devices);
		vf_manifest_free(m);
	}
}

static void test_modes_and_ids(void **state)
{
	struct vf_manifest *m = load_ok(*state,
		"{" HDR ", \"files\": ["
		"{\"path\": \"/a\", \"content\": \"\"},"
		"{\"path\": \"/b\", \"content\": \"x\", \"mode\": \"4755\", \"uid\": 4294967295},"
		"{\"path\": \"/c\", \"content\": \"x\", \"mode\": 420, \"gid\": 7},"
		"{\"path\": \"/d\", \"content\": \"x\", \"mode\": \"0\"}],"
		"\"directories\": [{\"path\": \"/e\"}, {\"path\": \"/f\", \"mode\": \"1777\"}]}");

	assert_int_equal(m->n_files, 4);
	assert_int_equal(m->files[0].mode, 0644);
	assert_int_equal(m->files[0].content_len, 0);
	assert_int_equal(m->files[1].mode, 04755);
	assert_int_equal(m->files[1].uid, UINT32_MAX);
	assert_int_equal(m->files[2].mode, 0644);
	assert_int_equal(m->files[2].gid, 7);
	assert_int_equal(m->files[3].mode, 0);
	assert_int_equal(m->dirs[0].mode, 0755);
	assert_int_equal(m->dirs[1].mode, 01777);
	vf_manifest_free(m);

	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"content\": \"x\", "
		    "\"mode\": \"0648\"}]}", -EINVAL, "files[0].mode: expected 1 to 4 octal digits "
		    "(at most \"7777\"), got '0648'");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"content\": \"x\", "
		    "\"mode\": \"10644\"}]}", -EINVAL, "got '10644'");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"content\": \"x\", "
		    "\"mode\": \"\"}]}", -EINVAL, "got ''");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"content\": \"x\", "
		    "\"mode\": 4096}]}", -ERANGE, "files[0].mode: expected an integer from 0 to "
		    "4095, got 4096");
	expect_fail(*state, "{" HDR ", \"directories\": [{\"path\": \"/a\", \"uid\": 4294967296}]}",
		    -ERANGE, "directories[0].uid: expected an integer from 0 to 4294967295, got "
		    "4294967296");
	expect_fail(*state, "{" HDR ", \"symlinks\": [{\"path\": \"/a\", \"target\": \"b\", "
		    "\"gid\": -1}]}", -ERANGE, "symlinks[0].gid");
}

static void test_source_date_epoch(void **state)
{
	struct vf_manifest *m = load_ok(*state, "{" HDR ", \"source_date_epoch\": "
					"9007199254740991}");

	assert_true(m->has_source_date_epoch);
	assert_int_equal(m->source_date_epoch, 9007199254740991LL);
	vf_manifest_free(m);
	m = load_ok(*state, "{" HDR ", \"source_date_epoch\": 0}");
	assert_true(m->has_source_date_epoch);
	assert_int_equal(m->source_date_epoch, 0);
	vf_manifest_free(m);
	expect_fail(*state, "{" HDR ", \"source_date_epoch\": 9007199254740992}", -ERANGE,
		    "source_date_epoch: expected an integer from 0 to 9007199254740991, got "
		    "9007199254740992");
	expect_fail(*state, "{" HDR ", \"source_date_epoch\": -1}", -ERANGE, "got -1");
}

static void test_image_paths(void **state)
{
	static const struct {
		const char *path, *why;
	} bad[] = {
		{ "etc/motd", "is not absolute" },
		{ "", "is empty" },
		{ "/", "is the root directory itself" },
		{ "/etc/", "ends with '/'" },
		{ "/etc//motd", "has an empty component ('//')" },
		{ "/etc/./motd", "has a '.' component" },
		{ "/etc/..", "has a '..' component" },
		{ "/../etc", "has a '..' component" },
	};
	char text[512], want[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{" HDR ", \"directories\": [{\"path\": \"/ok\"}, "
			 "{\"path\": \"%s\"}]}", bad[i].path);
		snprintf(want, sizeof(want), "directories[1].path: path '%s' %s", bad[i].path,
			 bad[i].why);
		expect_fail(*state, text, -EINVAL, want);
	}
	{
		char *longp = malloc(5000), *t = malloc(5200);

		memset(longp, 'a', 4999);
		longp[0] = '/';
		longp[4999] = '\0';
		for (size_t i = 100; i < 4999; i += 100)
			longp[i] = '/';
		snprintf(t, 5200, "{" HDR ", \"files\": [{\"path\": \"%s\", \"content\": \"\"}]}",
			 longp);
		expect_fail(*state, t, -EINVAL, "is longer than 4095 bytes");
		memset(longp, 'a', 300);
		longp[0] = '/';
		longp[300] = '\0';
		snprintf(t, 5200, "{" HDR ", \"files\": [{\"path\": \"%s\", \"content\": \"\"}]}",
			 longp);
		expect_fail(*state, t, -EINVAL, "has a component longer than 255 bytes");
		free(longp);
		free(t);
	}
	expect_fail(*state, "{" HDR ", \"update\": {\"root\": \"r.json\", \"path\": \"root.json\"}}",
		    -EINVAL, "update.path: path 'root.json' is not absolute");
	/* globs must be absolute */
	expect_fail(*state, "{" HDR ", \"remove\": [\"usr/share/doc\"]}", -EINVAL,
		    "remove[0]: glob 'usr/share/doc' is not absolute");
	expect_fail(*state, "{" HDR ", \"policy\": {\"allow\": [\"/ok\", \"bin/sh\"]}}", -EINVAL,
		    "policy.allow[1]: glob 'bin/sh' is not absolute");
	/* host paths must name a file */
	expect_fail(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": \"pkgs/\", " SHA
		    "}]}", -EINVAL, "packages[0].path: path 'pkgs/' does not name a file");
	expect_fail(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": \"\", " SHA
		    "}]}", -EINVAL, "packages[0].path: expected a path, got ''");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"source\": \"..\"}]}",
		    -EINVAL, "files[0].source: path '..' does not name a file");
	/* symlink targets */
	expect_fail(*state, "{" HDR ", \"symlinks\": [{\"path\": \"/a\", \"target\": \"\"}]}",
		    -EINVAL, "symlinks[0].target: expected 1 to 4095 bytes, got 0");
}

static void test_content_xor_source(void **state)
{
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\"}]}", -EINVAL,
		    "files[0]: expected exactly one of 'content' and 'source', got neither");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/a\", \"content\": \"x\", "
		    "\"source\": \"a.txt\"}]}", -EINVAL,
		    "files[0]: expected exactly one of 'content' and 'source', got both");
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{ "\"4096\"", 4096 }, { "\"1B\"", 1 }, { "\"512KiB\"", 512u << 10 },
		{ "\"40MiB\"", 40u << 20 }, { "\"2GiB\"", UINT64_C(2) << 30 },
		{ "\"1TiB\"", UINT64_C(1) << 40 }, { "12345", 12345 },
		{ "\"16777215TiB\"", UINT64_C(16777215) << 40 },
		{ "\"18446744073709551615\"", UINT64_MAX },
	};
	static const char *const bad[] = { "\"\"", "\"MiB\"", "\"40 MiB\"", "\"40mib\"",
		"\"40M\"", "\"40MB\"", "\"-1\"", "\"+1\"", "\"1.5GiB\"", "\"0x10\"", "\"40MiBs\"" };
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vf_manifest *m;

		snprintf(text, sizeof(text), "{" HDR ", \"limits\": {\"max_entry_size\": %s}}",
			 good[i].text);
		m = load_ok(*state, text);
		assert_int_equal(m->max_entry_size, good[i].bytes);
		vf_manifest_free(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{" HDR ", \"limits\": {\"max_entry_size\": %s}}",
			 bad[i]);
		expect_fail(*state, text, -EINVAL, "limits.max_entry_size: expected a size (digits, "
			    "then B, KiB, MiB, GiB or TiB), got '");
	}
	expect_fail(*state, "{" HDR ", \"limits\": {\"max_entry_size\": \"16777216TiB\"}}", -ERANGE,
		    "limits.max_entry_size: size '16777216TiB' does not fit in 64 bits");
	expect_fail(*state, "{" HDR ", \"limits\": {\"max_entry_size\": \"18446744073709551616\"}}",
		    -ERANGE, "does not fit in 64 bits");
	expect_fail(*state, "{" HDR ", \"limits\": {\"max_entry_size\": -5}}", -EINVAL,
		    "limits.max_entry_size: expected a size, got -5");
	expect_fail(*state, "{" HDR ", \"limits\": {\"max_entry_size\": 0}}", -EINVAL,
		    "limits.max_entry_size: must be at least 1");
	expect_fail(*state, "{" HDR ", \"limits\": {\"max_entries\": 0}}", -EINVAL,
		    "limits.max_entries: must be at least 1");
}

static void test_cmdline_values(void **state)
{
	static const char *const bad[] = { "", "=x", "a b", "a\\tb", "a\\nb" };
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{" HDR ", \"kernel\": {\"cmdline\": [\"ro\", \"%s\"]}}",
			 bad[i]);
		expect_fail(*state, text, -EINVAL, "kernel.cmdline[1]: ");
	}
	expect_fail(*state, "{" HDR ", \"kernel\": {\"cmdline\": [\"a b\"]}}", -EINVAL,
		    "parameter 'a b' contains whitespace or a control character");
	expect_fail(*state, "{" HDR ", \"kernel\": {\"cmdline\": [\"=x\"]}}", -EINVAL,
		    "expected \"key\" or \"key=value\", got '=x'");
}

/* ---- selinux --------------------------------------------------------------------- */

static void test_labels(void **state)
{
	static const char *const good[] = { "system_u:object_r:os_t:s0", "u:r:t",
		"system_u:object_r:os_t:s0-s15:c0.c1023", "u:r:t:s0:c1,c2", "user.x:role-y:t_z" };
	static const char *const bad[] = { "", "u:r", "u::t", ":r:t", "u:r:t:", "u:r:t ",
		"u r:t", "u:r:t:s0 ", "u:r:t:s0\\n", "u:r:t$" };
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vf_manifest *m;

		snprintf(text, sizeof(text), "{" HDR ", \"selinux\": {\"default\": \"%s\"}}", good[i]);
		m = load_ok(*state, text);
		assert_string_equal(m->default_label, good[i]);
		vf_manifest_free(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{" HDR ", \"selinux\": {\"file_contexts\": [{\"regex\": "
			 "\"/a\", \"label\": \"%s\"}]}}", bad[i]);
		expect_fail(*state, text, -EINVAL, "selinux.file_contexts[0].label: SELinux label '");
	}
	expect_fail(*state, "{" HDR ", \"selinux\": {\"default\": \"u:r\"}}", -EINVAL,
		    "selinux.default: SELinux label 'u:r' has fewer than 3 fields");
}

static void test_contexts(void **state)
{
	struct vf_manifest *m = load_ok(*state,
		"{" HDR ", \"selinux\": {\"default\": \"u:r:default_t:s0\", \"file_contexts\": ["
		"{\"regex\": \"/.*\", \"label\": \"u:r:os_t:s0\"},"
		"{\"regex\": \"/usr/bin/[^/]+\", \"label\": \"u:r:bin_t:s0\", \"type\": \"file\"},"
		"{\"regex\": \"/(a|b){1,3}\", \"label\": \"u:r:x_t\", \"type\": \"dir\"}]}}");

	assert_int_equal(m->n_contexts, 3);
	assert_string_equal(m->contexts[0].regex, "/.*");
	assert_null(m->contexts[0].type);
	assert_string_equal(m->contexts[1].type, "file");
	assert_string_equal(m->contexts[1].label, "u:r:bin_t:s0");
	assert_string_equal(m->contexts[2].type, "dir");
	vf_manifest_free(m);

	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
		    "{\"regex\": \"/ok\", \"label\": \"u:r:t\"},"
		    "{\"regex\": \"/usr/(bin\", \"label\": \"u:r:t\"}]}}", -EINVAL,
		    "selinux.file_contexts[1].regex: regex '/usr/(bin' does not compile: ");
	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
		    "{\"regex\": \"[z-a]\", \"label\": \"u:r:t\"}]}}", -EINVAL,
		    "selinux.file_contexts[0].regex: regex '[z-a]' does not compile: ");
	/* an unbalanced ')' would escape the ^(...)$ anchoring */
	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
		    "{\"regex\": \"/a)|(.*\", \"label\": \"u:r:t\"}]}}", -EINVAL,
		    "regex '/a)|(.*' has a ')' without a matching '(' at offset 2");
	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
		    "{\"regex\": \"/a(b))\", \"label\": \"u:r:t\"}]}}", -EINVAL,
		    "without a matching '('");
	/* escaped and bracketed parentheses are literals */
	{
		struct vf_manifest *m2 = load_ok(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
						 "{\"regex\": \"/a\\\\)[)(]\", \"label\": \"u:r:t\"}]}}");

		assert_string_equal(m2->contexts[0].regex, "/a\\)[)(]");
		vf_manifest_free(m2);
	}
	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
		    "{\"regex\": \"/a\", \"label\": \"u:r:t\", \"type\": \"pipe\"}]}}", -EINVAL,
		    "selinux.file_contexts[0].type: expected file, dir, symlink, char, block, fifo "
		    "or socket, got 'pipe'");
	/* regexes that would make regcomp take gigabytes are refused before it runs */
	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
		    "{\"regex\": \"a{1,32767}\", \"label\": \"u:r:t\"}]}}", -EINVAL,
		    "regex 'a{1,32767}' has a repetition bound over 255");
	expect_fail(*state, "{" HDR ", \"selinux\": {\"file_contexts\": ["
		    "{\"regex\": \"((a{1,100}){1,100}){1,100}\", \"label\": \"u:r:t\"}]}}", -EINVAL,
		    "expands too much");
}

/* ---- duplicates within one file -------------------------------------------------- */

static void test_duplicates_in_one_file(void **state)
{
	expect_fail(*state, "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": \"a\", " SHA "},"
		    "{\"name\": \"b\", \"path\": \"b\", " SHA "}, {\"name\": \"a\", \"path\": \"c\", "
		    SHA "}]}", -EINVAL, "package 'a' is declared twice in one manifest (packages[0] "
		    "and packages[2])");
	expect_fail(*state, "{" HDR ", \"files\": [{\"path\": \"/x\", \"content\": \"\"}], "
		    "\"symlinks\": [{\"path\": \"/x\", \"target\": \"y\"}]}", -EINVAL,
		    "path '/x' is declared twice in one manifest (files[0] and symlinks[0])");
	expect_fail(*state, "{" HDR ", \"remove_packages\": [\"a\", \"a\"]}", -EINVAL,
		    "removed package 'a' is declared twice");
}

/* ---- errors name the file that holds the bad value ----------------------------- */

static void test_error_names_fragment(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char *sub = vf_test_path(*state, "common");

	assert_int_equal(mkdir(sub, 0755), 0);
	put(sub, "base.json", "{\"packages\": [{\"name\": \"a\", \"path\": \"a\", " SHA "},"
	    "{\"name\": \"b\", \"path\": \"b\", " SHA "},"
	    "{\"name\": \"c\", \"path\": \"c\", \"sha256\": \"abc\"}]}");
	put(*state, "t.json", "{\"include\": [\"common/base.json\"], " HDR "}");
	assert_int_equal(load_at(*state, "t.json", &m, &err), -EINVAL);
	assert_msg(&err, "manifest '");
	assert_msg(&err, "/common/base.json': packages[2].sha256: expected 64 lowercase hex "
		   "digits, got 'abc'");
	/* only that file is named */
	assert_null(strstr(err.msg, "t.json"));
	free(sub);
}

/* ---- host paths -------------------------------------------------------------------- */

static void test_host_paths(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char *sub = vf_test_path(*state, "frag"), *real = realpath(*state, NULL), *want;
	char *json = NULL;

	assert_non_null(real);
	assert_int_equal(mkdir(sub, 0755), 0);
	put(sub, "f.json", "{\"packages\": [{\"name\": \"a\", \"path\": \"../pkgs/a.tar\", " SHA
	    "}], \"files\": [{\"path\": \"/etc/x\", \"source\": \"x.txt\"}],"
	    "\"update\": {\"root\": \"keys/root.json\"}}");
	put(*state, "t.json", "{\"include\": [\"frag/f.json\"], " HDR ", "
	    "\"packages\": [{\"name\": \"b\", \"path\": \"b.tar\", " SHA "}]}");
	assert_int_equal(load_at(*state, "t.json", &m, &err), 0);
	assert_int_equal(m->n_pkgs, 2);
	/* as written, resolved against the declaring file's directory, and the origin */
	assert_string_equal(m->pkgs[0].name, "a");
	assert_string_equal(m->pkgs[0].path, "../pkgs/a.tar");
	assert_true(asprintf(&want, "%s/pkgs/a.tar", real) > 0);
	assert_string_equal(m->pkgs[0].file, want);
	free(want);
	assert_non_null(strstr(m->pkgs[0].origin, "frag/f.json"));
	assert_true(asprintf(&want, "%s/b.tar", real) > 0);
	assert_string_equal(m->pkgs[1].file, want);
	free(want);
	assert_non_null(strstr(m->pkgs[1].origin, "t.json"));
	assert_true(asprintf(&want, "%s/frag/x.txt", real) > 0);
	assert_string_equal(m->files[0].source, want);
	assert_null(m->files[0].content);
	free(want);
	assert_true(asprintf(&want, "%s/frag/keys/root.json", real) > 0);
	assert_string_equal(m->update_root, want);
	free(want);
	assert_string_equal(m->update_root_path, "/usr/share/vforge/root.json");

	/* the JSON output is relative to the top-level manifest's directory */
	assert_int_equal(vf_manifest_format_json(m, &json, &err), 0);
	assert_non_null(strstr(json, "\"file\": \"pkgs/a.tar\""));
	assert_non_null(strstr(json, "\"origin\": \"frag/f.json\""));
	assert_non_null(strstr(json, "\"file\": \"b.tar\""));
	assert_non_null(strstr(json, "\"origin\": \"t.json\""));
	assert_non_null(strstr(json, "\"file\": \"frag/x.txt\""));
	assert_non_null(strstr(json, "\"file\": \"frag/keys/root.json\""));
	assert_null(strstr(json, real));
	assert_null(strstr(json, "include"));
	free(json);
	vf_manifest_free(m);
	free(real);
	free(sub);
}

static void test_host_paths_through_symlinked_dir(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char *real_dir = vf_test_path(*state, "real"), *link = vf_test_path(*state, "link");
	char *real = realpath(*state, NULL), *want;

	assert_int_equal(mkdir(real_dir, 0755), 0);
	assert_int_equal(symlink("real", link), 0);
	put(real_dir, "t.json", "{" HDR ", \"packages\": [{\"name\": \"a\", \"path\": "
	    "\"./sub/../a.tar\", " SHA "}]}");
	assert_int_equal(load_at(link, "t.json", &m, &err), 0);
	assert_true(asprintf(&want, "%s/real/a.tar", real) > 0);
	assert_string_equal(m->pkgs[0].file, want);
	free(want);
	vf_manifest_free(m);
	free(real);
	free(link);
	free(real_dir);
}

/* ---- output ------------------------------------------------------------------------ */

static void test_format_json(void **state)
{
	struct vf_manifest *m = load_ok(*state,
		"{\"version\": \"1.0.0\", \"name\": \"t\", \"arch\": \"x86_64\","
		"\"packages\": [{\"path\": \"z.tar\", \"name\": \"zz\", " SHA "},"
		"{\"name\": \"aa\", \"path\": \"a.tar\", " SHA "}]}");
	struct vf_err err = { 0 };
	char *a = NULL, *b = NULL;

	assert_int_equal(vf_manifest_format_json(m, &a, &err), 0);
	assert_int_equal(vf_manifest_format_json(m, &b, &err), 0);
	assert_string_equal(a, b);
	/* sorted keys, two-space indent, final newline, packages by name */
	{
		static const char head[] = "{\n  \"arch\": \"x86_64\",\n  \"name\": \"t\",\n"
					   "  \"packages\": [\n    {\n      \"file\": \"a.tar\",\n"
					   "      \"name\": \"aa\",\n      \"origin\": \"t.json\",\n";

		assert_true(strncmp(a, head, strlen(head)) == 0);
	}
	assert_non_null(strstr(a, "\"version\": \"1.0.0\"\n}\n"));
	assert_true(strstr(a, "\"aa\"") < strstr(a, "\"zz\""));
	assert_int_equal(a[strlen(a) - 1], '\n');
	/* the typed array is sorted too */
	assert_string_equal(m->pkgs[0].name, "aa");
	assert_string_equal(m->pkgs[1].name, "zz");
	free(a);
	free(b);
	vf_manifest_free(m);
}

static void test_load_buffer(void **state)
{
	static const char text[] = "{\"include\": [\"other.json\"], " HDR "}";
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };
	char *json = NULL;

	(void)state;
	/* includes resolve against base_dir: a missing one fails cleanly */
	assert_int_equal(vf_manifest_load_buffer("mem.json", "/nonexistent-unit", text,
						 strlen(text), &m, &err), -ENOENT);
	assert_null(m);
	assert_msg(&err, "manifest 'mem.json': include[0]: cannot open manifest "
		   "'/nonexistent-unit/other.json': No such file or directory");
	/* a buffer need not be NUL-terminated */
	assert_int_equal(vf_manifest_load_buffer("mem.json", "/nonexistent-unit", "{" HDR "}xyz",
						 strlen("{" HDR "}"), &m, &err), 0);
	assert_string_equal(m->path, "mem.json");
	vf_manifest_free(m);
	m = NULL;
	/* with a real base_dir, includes and host paths resolve there */
	put(*state, "other.json", "{\"packages\": [{\"name\": \"a\", \"path\": \"a.tar\", " SHA
	    "}]}");
	assert_int_equal(vf_manifest_load_buffer("mem.json", *state, text, strlen(text), &m, &err),
			 0);
	assert_int_equal(m->n_pkgs, 1);
	assert_non_null(strstr(m->pkgs[0].origin, "other.json"));
	assert_int_equal(vf_manifest_format_json(m, &json, &err), 0);
	assert_non_null(strstr(json, "\"origin\": \"other.json\""));
	assert_non_null(strstr(json, "\"file\": \"a.tar\""));
	free(json);
	vf_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_minimal, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_directory_argument, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_not_regular, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_too_large, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_json_syntax, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_keys, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_types, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_required, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_names, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_versions, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_arch, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_sha256, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_modes_and_ids, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_source_date_epoch, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_image_paths, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_content_xor_source, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_sizes, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_values, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_labels, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_contexts, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_in_one_file, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_error_names_fragment, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_host_paths, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_host_paths_through_symlinked_dir,
						vf_test_tmpdir_setup, vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_format_json, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_load_buffer, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
