/* builder/manifest: composition: includes, merge rules, cycles, depth, diamonds. */
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
#define SHA_A "\"sha256\": \"" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
#define SHA_B "\"sha256\": \"" \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\""

static char *cmdline_of(const struct vf_manifest *m)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < m->n_cmdline; i++)
		len += strlen(m->cmdline[i]) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < m->n_cmdline; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, m->cmdline[i]);
	}
	return s;
}

static void assert_cmdline(const struct vf_manifest *m, const char *want)
{
	char *s = cmdline_of(m);

	assert_string_equal(s, want);
	free(s);
}

/* ---- objects, scalars, other arrays ----------------------------------------------- */

static void test_objects_key_by_key(void **state)
{
	struct vf_manifest *m;

	put(*state, "base.json", "{\"name\": \"base\", \"version\": \"0.1.0\", \"arch\": \"aarch64\","
	    "\"source_date_epoch\": 5,"
	    "\"layout\": {\"root_size\": \"100MiB\", \"ab\": false, \"plan\": \"split\"},"
	    "\"selinux\": {\"default\": \"u:r:base_t\"},"
	    "\"limits\": {\"max_entries\": 10, \"max_entry_size\": 100},"
	    "\"policy\": {\"defaults\": false},"
	    "\"update\": {\"root\": \"root.json\", \"path\": \"/etc/root.json\"}}");
	put(*state, "t.json", "{\"include\": [\"base.json\"], \"name\": \"top\","
	    "\"layout\": {\"root_size\": \"200MiB\", \"ab\": true},"
	    "\"limits\": {\"max_entries\": 20},"
	    "\"update\": {\"path\": \"/usr/share/x/root.json\"}}");
	m = load_named_ok(*state, "t.json");
	/* scalars: the later file wins; unset keys come from the earlier one */
	assert_string_equal(m->name, "top");
	assert_string_equal(m->version, "0.1.0");
	assert_string_equal(m->arch, "aarch64");
	assert_int_equal(m->source_date_epoch, 5);
	/* objects merge key by key */
	assert_int_equal(m->layout.root_size, 200u << 20);
	assert_true(m->layout.ab);
	assert_string_equal(m->layout.plan, "split");
	assert_string_equal(m->default_label, "u:r:base_t");
	assert_int_equal(m->max_entries, 20);
	assert_int_equal(m->max_entry_size, 100);
	assert_false(m->default_policy);
	/* update.root keeps the directory of the file that set it */
	assert_non_null(strstr(m->update_root, "/root.json"));
	assert_string_equal(m->update_root_path, "/usr/share/x/root.json");
	vf_manifest_free(m);
}

static void test_other_arrays_replaced(void **state)
{
	struct vf_manifest *m;

	put(*state, "base.json", "{" HDR ", \"layout\": {\"ab\": false, \"partitions\": ["
	    "{\"name\": \"BOOT-A\", \"type\": \"xbootldr\", \"size\": \"1MiB\"},"
	    "{\"name\": \"ROOT-A\", \"type\": \"root\", \"size\": \"1MiB\"},"
	    "{\"name\": \"HASH-A\", \"type\": \"root-verity\", \"size\": \"1MiB\"},"
	    "{\"name\": \"EXTRA\", \"type\": \"linux\", \"size\": \"1MiB\"}]}}");
	put(*state, "t.json", "{\"include\": [\"base.json\"], \"layout\": {\"partitions\": ["
	    "{\"name\": \"BOOT-A\", \"type\": \"xbootldr\", \"size\": \"2MiB\"},"
	    "{\"name\": \"ROOT-A\", \"type\": \"root\", \"size\": \"2MiB\"},"
	    "{\"name\": \"HASH-A\", \"type\": \"root-verity\", \"size\": \"2MiB\"}]}}");
	m = load_named_ok(*state, "t.json");
	assert_int_equal(m->layout.n_parts, 3);
	assert_null(vf_manifest_layout_part(&m->layout, "EXTRA"));
	assert_int_equal(m->layout.parts[0].size, 2u << 20);
	assert_false(m->layout.ab);
	vf_manifest_free(m);
}

/* ---- packages ---------------------------------------------------------------------- */

static void test_packages_by_name(void **state)
{
	struct vf_manifest *m;

	put(*state, "base.json", "{\"packages\": ["
	    "{\"name\": \"zlib\", \"path\": \"zlib.tar\", " SHA_A "},"
	    "{\"name\": \"app\", \"path\": \"app-1.tar\", " SHA_A ", \"override\": true, "
	    "\"allow_devices\": true}]}");
	put(*state, "t.json", "{\"include\": [\"base.json\"], " HDR ", \"packages\": ["
	    "{\"name\": \"app\", \"path\": \"app-2.tar\", " SHA_B "},"
	    "{\"name\": \"busybox\", \"path\": \"bb.tar\", " SHA_B "}]}");
	m = load_named_ok(*state, "t.json");
	assert_int_equal(m->n_pkgs, 3);
	/* sorted by name */
	assert_string_equal(m->pkgs[0].name, "app");
	assert_string_equal(m->pkgs[1].name, "busybox");
	assert_string_equal(m->pkgs[2].name, "zlib");
	/* the later entry replaces the earlier one whole: flags are not inherited */
	assert_string_equal(m->pkgs[0].path, "app-2.tar");
	assert_int_equal(m->pkgs[0].sha256[0], 0xbb);
	assert_false(m->pkgs[0].override);
	assert_false(m->pkgs[0].allow_devices);
	assert_non_null(strstr(m->pkgs[0].origin, "t.json"));
	assert_non_null(strstr(m->pkgs[2].origin, "base.json"));
	vf_manifest_free(m);
}

static void test_remove_packages(void **state)
{
	struct vf_manifest *m;

	put(*state, "base.json", "{\"packages\": ["
	    "{\"name\": \"nano\", \"path\": \"nano.tar\", " SHA_A "},"
	    "{\"name\": \"vim\", \"path\": \"vim.tar\", " SHA_A "}]}");
	put(*state, "t.json", "{\"include\": [\"base.json\"], " HDR ", "
	    "\"remove_packages\": [\"nano\"]}");
	m = load_named_ok(*state, "t.json");
	assert_int_equal(m->n_pkgs, 1);
	assert_string_equal(m->pkgs[0].name, "vim");
	vf_manifest_free(m);

	/* a later file may declare it again */
	put(*state, "mid.json", "{\"include\": [\"base.json\"], \"remove_packages\": [\"nano\"]}");
	put(*state, "t.json", "{\"include\": [\"mid.json\"], " HDR ", \"packages\": ["
	    "{\"name\": \"nano\", \"path\": \"nano-2.tar\", " SHA_B "}]}");
	m = load_named_ok(*state, "t.json");
	assert_int_equal(m->n_pkgs, 2);
	assert_string_equal(m->pkgs[0].path, "nano-2.tar");
	vf_manifest_free(m);

	/* a name not merged so far */
	put(*state, "t.json", "{\"include\": [\"base.json\"], " HDR ", "
	    "\"remove_packages\": [\"vim\", \"emacs\"]}");
	expect_load_fail(*state, "t.json", -ENOENT, "t.json': remove_packages[1]: package 'emacs' is "
		    "not declared by any manifest merged before this one");
	/* removal applies to what came before, not to the file's own packages */
	put(*state, "t.json", "{" HDR ", \"packages\": [{\"name\": \"x\", \"path\": \"x\", " SHA_A
	    "}], \"remove_packages\": [\"x\"]}");
	expect_load_fail(*state, "t.json", -EINVAL, "remove_packages[0]: package 'x' is also declared "
		    "here (packages[0])");
	/* and an include that comes later cannot be removed earlier */
	put(*state, "t.json", "{\"include\": [\"mid.json\", \"base.json\"], " HDR "}");
	m = load_named_ok(*state, "t.json"); /* base.json is merged once, inside mid.json */
	assert_int_equal(m->n_pkgs, 1);
	vf_manifest_free(m);
}

/* ---- files, directories, symlinks ----------------------------------------------- */

static void test_entries_by_path(void **state)
{
	struct vf_manifest *m;

	put(*state, "base.json", "{"
	    "\"files\": [{\"path\": \"/etc/motd\", \"content\": \"base\", \"mode\": \"0600\"},"
	    "{\"path\": \"/etc/issue\", \"content\": \"base\"},"
	    "{\"path\": \"/etc/resolv.conf\", \"content\": \"nameserver 1.1.1.1\"}],"
	    "\"directories\": [{\"path\": \"/srv\", \"mode\": \"0700\"}, {\"path\": \"/opt\"}],"
	    "\"symlinks\": [{\"path\": \"/etc/mtab\", \"target\": \"../proc/mounts\"}]}");
	put(*state, "t.json", "{\"include\": [\"base.json\"], " HDR ","
	    "\"files\": [{\"path\": \"/etc/motd\", \"content\": \"top\"}, "
	    "{\"path\": \"/srv\", \"content\": \"now a file\"}],"
	    "\"symlinks\": [{\"path\": \"/etc/resolv.conf\", \"target\": \"/run/resolv.conf\"}],"
	    "\"directories\": [{\"path\": \"/etc/mtab\"}]}");
	m = load_named_ok(*state, "t.json");
	/* files by path, sorted; the later entry replaces the earlier one whole */
	assert_int_equal(m->n_files, 3);
	assert_string_equal(m->files[0].path, "/etc/issue");
	assert_string_equal(m->files[1].path, "/etc/motd");
	assert_string_equal(m->files[1].content, "top");
	assert_int_equal(m->files[1].mode, 0644);
	assert_non_null(strstr(m->files[1].origin, "t.json"));
	assert_non_null(strstr(m->files[0].origin, "base.json"));
	/* one namespace: a later declaration of another kind replaces the earlier one */
	assert_string_equal(m->files[2].path, "/srv");
	assert_int_equal(m->n_dirs, 2);
	assert_string_equal(m->dirs[0].path, "/etc/mtab");
	assert_string_equal(m->dirs[1].path, "/opt");
	assert_int_equal(m->n_symlinks, 1);
	assert_string_equal(m->symlinks[0].path, "/etc/resolv.conf");
	assert_string_equal(m->symlinks[0].target, "/run/resolv.conf");
	vf_manifest_free(m);
}

/* ---- kernel command line -------------------------------------------------------- */

static void test_cmdline(void **state)
{
	struct vf_manifest *m;

	put(*state, "a.json", "{\"kernel\": {\"cmdline\": [\"console=tty0\", \"ro\", \"quiet\", "
	    "\"loglevel=3\"]}}");
	/* append; key=value replaces in place; a flag appears once */
	put(*state, "b.json", "{\"include\": [\"a.json\"], \"kernel\": {\"cmdline\": "
	    "[\"loglevel=7\", \"quiet\", \"debug\"]}}");
	put(*state, "t.json", "{\"include\": [\"b.json\"], " HDR "}");
	m = load_named_ok(*state, "t.json");
	assert_cmdline(m, "console=tty0 ro quiet loglevel=7 debug");
	vf_manifest_free(m);

	/* several values of one key in one file replace the earlier ones as a group */
	put(*state, "t.json", "{\"include\": [\"b.json\"], " HDR ", \"kernel\": {\"cmdline\": "
	    "[\"console=ttyS0,115200\", \"console=tty1\", \"init=/sbin/init\", \"debug\", "
	    "\"debug\"]}}");
	m = load_named_ok(*state, "t.json");
	assert_cmdline(m, "console=ttyS0,115200 console=tty1 ro quiet loglevel=7 debug "
		       "init=/sbin/init");
	vf_manifest_free(m);

	/* a flag given a value later is replaced in place, and back */
	put(*state, "t.json", "{\"include\": [\"a.json\"], " HDR ", \"kernel\": {\"cmdline\": "
	    "[\"ro=1\"]}}");
	m = load_named_ok(*state, "t.json");
	assert_cmdline(m, "console=tty0 ro=1 quiet loglevel=3");
	vf_manifest_free(m);

	/* an empty list changes nothing */
	put(*state, "t.json", "{\"include\": [\"a.json\"], " HDR ", \"kernel\": {\"cmdline\": []}}");
	m = load_named_ok(*state, "t.json");
	assert_cmdline(m, "console=tty0 ro quiet loglevel=3");
	vf_manifest_free(m);

	/* within one file, order is kept and identical parameters collapse */
	put(*state, "t.json", "{" HDR ", \"kernel\": {\"cmdline\": [\"b\", \"a=1\", \"b\", "
	    "\"a=2\", \"a=1\"]}}");
	m = load_named_ok(*state, "t.json");
	assert_cmdline(m, "b a=1 a=2");
	vf_manifest_free(m);
}

/* ---- appended arrays ------------------------------------------------------------- */

static void test_appended_arrays(void **state)
{
	struct vf_manifest *m;

	put(*state, "a.json", "{\"remove\": [\"/usr/share/doc/**\", \"/x\"],"
	    "\"policy\": {\"forbid\": [\"/usr/bin/perl\"], \"allow\": [\"/usr/bin/sh\"]},"
	    "\"selinux\": {\"file_contexts\": [{\"regex\": \"/.*\", \"label\": \"u:r:a_t\"}]}}");
	put(*state, "t.json", "{\"include\": [\"a.json\"], " HDR ","
	    "\"remove\": [\"/usr/share/man/**\", \"/x\"],"
	    "\"policy\": {\"forbid\": [\"/usr/bin/python3\"], \"allow\": [\"/usr/bin/su\"]},"
	    "\"selinux\": {\"file_contexts\": [{\"regex\": \"/usr/.*\", \"label\": \"u:r:b_t\"}]}}");
	m = load_named_ok(*state, "t.json");
	assert_int_equal(m->n_remove, 4);
	assert_string_equal(m->remove[0], "/usr/share/doc/**");
	assert_string_equal(m->remove[1], "/x");
	assert_string_equal(m->remove[2], "/usr/share/man/**");
	assert_string_equal(m->remove[3], "/x");
	assert_int_equal(m->n_forbid, 2);
	assert_string_equal(m->forbid[0], "/usr/bin/perl");
	assert_string_equal(m->forbid[1], "/usr/bin/python3");
	assert_int_equal(m->n_allow, 2);
	assert_string_equal(m->allow[1], "/usr/bin/su");
	assert_int_equal(m->n_contexts, 2);
	assert_string_equal(m->contexts[0].label, "u:r:a_t");
	assert_string_equal(m->contexts[1].label, "u:r:b_t");
	vf_manifest_free(m);
}

/* ---- include order -------------------------------------------------------------- */

static void test_include_order(void **state)
{
	struct vf_manifest *m;

	/*
	 * t includes [a, b]; a includes [c]. Depth-first: c, a, b, t.
	 * Each sets "version" and appends to "remove" to show the order.
	 */
	put(*state, "c.json", "{\"version\": \"3.0.0\", \"remove\": [\"/c\"], \"arch\": \"aarch64\"}");
	put(*state, "a.json", "{\"include\": [\"c.json\"], \"version\": \"1.0.0\", "
	    "\"remove\": [\"/a\"]}");
	put(*state, "b.json", "{\"version\": \"2.0.0\", \"remove\": [\"/b\"], \"name\": \"b\"}");
	put(*state, "t.json", "{\"include\": [\"a.json\", \"b.json\"], \"remove\": [\"/t\"], "
	    "\"name\": \"t\"}");
	m = load_named_ok(*state, "t.json");
	assert_int_equal(m->n_remove, 4);
	assert_string_equal(m->remove[0], "/c");
	assert_string_equal(m->remove[1], "/a");
	assert_string_equal(m->remove[2], "/b");
	assert_string_equal(m->remove[3], "/t");
	/* later wins: b after a (and c); the file itself after its includes */
	assert_string_equal(m->version, "2.0.0");
	assert_string_equal(m->name, "t");
	assert_string_equal(m->arch, "aarch64");
	vf_manifest_free(m);

	/* swapping the includes swaps the winner */
	put(*state, "t.json", "{\"include\": [\"b.json\", \"a.json\"], \"name\": \"t\"}");
	m = load_named_ok(*state, "t.json");
	assert_string_equal(m->version, "1.0.0");
	assert_string_equal(m->remove[0], "/b");
	assert_string_equal(m->remove[1], "/c");
	vf_manifest_free(m);
}

static void test_include_paths(void **state)
{
	struct vf_manifest *m;
	struct vf_err err;
	char *d1 = vf_test_path(*state, "d1"), *d2 = vf_test_path(*state, "d1/d2");
	char *v = vf_test_path(*state, "v");

	assert_int_equal(mkdir(d1, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	assert_int_equal(mkdir(v, 0755), 0);
	/* relative to the including file, not the top-level one or the cwd */
	put(d2, "leaf.json", "{\"arch\": \"aarch64\"}");
	put(d1, "mid.json", "{\"include\": [\"d2/leaf.json\"], \"version\": \"9.9.9\"}");
	/* a directory include means its variant.json */
	put(v, "variant.json", "{\"name\": \"fromdir\"}");
	put(*state, "t.json", "{\"include\": [\"d1/mid.json\", \"v\"]}");
	m = load_named_ok(*state, "t.json");
	assert_string_equal(m->arch, "aarch64");
	assert_string_equal(m->version, "9.9.9");
	assert_string_equal(m->name, "fromdir");
	vf_manifest_free(m);

	/* a missing include: the includer, the index and the path */
	put(d1, "mid.json", "{\"include\": [\"d2/leaf.json\", \"nope.json\"]}");
	assert_int_equal(load_at(*state, "t.json", &m, &err), -ENOENT);
	assert_msg(&err, "d1/mid.json': include[1]: cannot open manifest '");
	assert_msg(&err, "d1/nope.json': No such file or directory");
	free(d1);
	free(d2);
	free(v);
}

static void test_diamond(void **state)
{
	/* t -> [l, r]; l -> common; r -> common (through another path) */
	struct vf_manifest *m;
	char *x = vf_test_path(*state, "x");

	assert_int_equal(mkdir(x, 0755), 0);
	free(x);
	put(*state, "common.json", "{" HDR ", \"remove\": [\"/common\"], "
	    "\"packages\": [{\"name\": \"c\", \"path\": \"c.tar\", " SHA_A "}],"
	    "\"kernel\": {\"cmdline\": [\"quiet\"]}}");
	put(*state, "l.json", "{\"include\": [\"common.json\"], \"remove\": [\"/l\"], "
	    "\"remove_packages\": [\"c\"]}");
	put(*state, "r.json", "{\"include\": [\"x/../common.json\"], \"remove\": [\"/r\"]}");
	put(*state, "t.json", "{\"include\": [\"l.json\", \"r.json\"]}");
	m = load_named_ok(*state, "t.json");
	/* merged once, where first reached: nothing appended twice, the removal holds */
	assert_int_equal(m->n_remove, 3);
	assert_string_equal(m->remove[0], "/common");
	assert_string_equal(m->remove[1], "/l");
	assert_string_equal(m->remove[2], "/r");
	assert_int_equal(m->n_pkgs, 0);
	assert_int_equal(m->n_cmdline, 1);
	/* every file composed, once, top-level first, in the order merged */
	assert_int_equal(m->n_sources, 4);
	assert_non_null(strstr(m->sources[0], "t.json"));
	assert_non_null(strstr(m->sources[1], "l.json"));
	assert_non_null(strstr(m->sources[2], "common.json"));
	assert_non_null(strstr(m->sources[3], "r.json"));
	vf_manifest_free(m);
}

static void test_cycles(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char want[1024];

	put(*state, "a.json", "{\"include\": [\"b.json\"]}");
	put(*state, "b.json", "{\"include\": [\"a.json\"]}");
	assert_int_equal(load_at(*state, "a.json", &m, &err), -ELOOP);
	snprintf(want, sizeof(want), "b.json': include[0]: include cycle: %s/a.json -> %s/b.json "
		 "-> %s/a.json", (char *)*state, (char *)*state, (char *)*state);
	assert_msg(&err, want);
	/* starting from a file that leads into the cycle: the chain is the cycle only */
	put(*state, "t.json", "{\"include\": [\"a.json\"]}");
	assert_int_equal(load_at(*state, "t.json", &m, &err), -ELOOP);
	assert_null(strstr(strstr(err.msg, "include cycle: "), "t.json"));

	/* a self-include */
	put(*state, "s.json", "{\"include\": [\"./s.json\"], " HDR "}");
	assert_int_equal(load_at(*state, "s.json", &m, &err), -ELOOP);
	snprintf(want, sizeof(want), "s.json': include[0]: include cycle: %s/s.json -> "
		 "%s/./s.json", (char *)*state, (char *)*state);
	assert_msg(&err, want);
	assert_null(m);
}

static void test_depth_limit(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;
	char name[32], text[128];

	/* f1 -> f2 -> ... -> fN: N files nested N deep */
	for (int i = 1; i <= VF_MANIFEST_MAX_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "f%d.json", i);
		if (i == VF_MANIFEST_MAX_DEPTH + 1)
			snprintf(text, sizeof(text), "{" HDR "}");
		else
			snprintf(text, sizeof(text), "{\"include\": [\"f%d.json\"]}", i + 1);
		put(*state, name, text);
	}
	/* 33 deep from f1 */
	assert_int_equal(load_at(*state, "f1.json", &m, &err), -ELOOP);
	assert_msg(&err, "f32.json': include[0]: '");
	assert_msg(&err, "f33.json' would be nested 33 deep, more than the 32 allowed");
	assert_null(m);
	/* 32 deep from f2 */
	assert_int_equal(load_at(*state, "f2.json", &m, &err), 0);
	assert_string_equal(m->name, "t");
	vf_manifest_free(m);
}

static void test_fragment_fields_optional(void **state)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;

	/* a fragment alone lacks the required fields, which the composed result needs */
	put(*state, "frag.json", "{\"remove\": [\"/x\"]}");
	assert_int_equal(load_at(*state, "frag.json", &m, &err), -EINVAL);
	assert_msg(&err, "variant '");
	assert_msg(&err, "frag.json': missing required key 'name' (in the variant or one of its "
		   "includes)");
	/* an included fragment's error names that fragment, even when the top is fine */
	put(*state, "frag.json", "{\"remove\": [\"x\"]}");
	put(*state, "t.json", "{\"include\": [\"frag.json\"], " HDR "}");
	assert_int_equal(load_at(*state, "t.json", &m, &err), -EINVAL);
	assert_msg(&err, "frag.json': remove[0]: glob 'x' is not absolute");
	/* include/remove_packages are not in the composed JSON */
	put(*state, "frag.json", "{\"remove\": [\"/x\"]}");
	m = load_named_ok(*state, "t.json");
	{
		char *json = NULL;

		assert_int_equal(vf_manifest_format_json(m, &json, &err), 0);
		assert_null(strstr(json, "include"));
		assert_non_null(strstr(json, "\"/x\""));
		free(json);
	}
	vf_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_objects_key_by_key, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_other_arrays_replaced, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_packages_by_name, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_remove_packages, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_entries_by_path, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_cmdline, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_appended_arrays, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_include_order, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_include_paths, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_diamond, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_cycles, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_fragment_fields_optional, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
