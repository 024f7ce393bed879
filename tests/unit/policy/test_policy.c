/* builder/tree/policy.c: the attack-surface policy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/tree/policy.h"
#include "builder/tree/tree.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vf_tree *new_tree(const char *dir)
{
	struct vf_tree_limits lim = { 0 };
	struct vf_tree *t = vf_tree_new(&lim, dir);

	assert_non_null(t);
	return t;
}

/* Add `path` of `type` with `mode`, brought by `origin` (NULL: the manifest). */
static void add(struct vf_tree *t, enum vf_tree_type type, const char *path, uint32_t mode,
		const char *link, const char *origin)
{
	struct vf_tree_entry e = { 0 };
	struct vf_err err = { 0 };

	e.path = (char *)path;
	e.type = type;
	e.mode = mode;
	e.link = (char *)link;
	e.origin = (char *)origin;
	if (vf_tree_add(t, &e, type == VF_TREE_FILE ? "x" : NULL, type == VF_TREE_FILE ? 1 : 0,
			false, &err)) {
		print_error("add '%s': %s\n", path, err.msg);
		fail();
	}
}

/* The report as "path|origin|reason\n" lines, in report order (caller frees). */
static char *report_text(const struct vf_policy_report *r)
{
	char *s = calloc(1, 1);
	size_t len = 0;

	assert_non_null(s);
	for (size_t i = 0; i < r->n; i++) {
		const struct vf_policy_violation *v = &r->v[i];

		s = realloc(s, len + strlen(v->path) + strlen(v->origin) + strlen(v->reason) + 4);
		assert_non_null(s);
		len += (size_t)sprintf(s + len, "%s|%s|%s\n", v->path, v->origin, v->reason);
	}
	return s;
}

static void expect_report(const struct vf_tree *t, const struct vf_policy *p, const char *want)
{
	struct vf_policy_report r = { NULL, 0 };
	struct vf_err err = { 0 };
	char *got;

	assert_int_equal(vf_policy_check(t, p, &r, &err), 0);
	got = report_text(&r);
	if (strcmp(got, want))
		print_error("report:\n%s\nexpected:\n%s\n", got, want);
	assert_string_equal(got, want);
	free(got);
	vf_policy_report_release(&r);
}

static const struct vf_policy defaults = { .defaults = true };

/* Shells, interpreters and package managers in any bin/sbin directory. */
static void test_entry_points(void **state)
{
	struct vf_tree *t = new_tree(*state);

	/* flagged: files, symlinks and hardlinks, in any bin or sbin */
	add(t, VF_TREE_FILE, "bin/bash", 0755, NULL, "bash");
	add(t, VF_TREE_SYMLINK, "bin/sh", 0777, "bash", "bash");
	add(t, VF_TREE_HARDLINK, "usr/bin/rbash", 0755, "bin/bash", "bash");
	add(t, VF_TREE_HARDLINK, "usr/bin/dash", 0755, "bin/bash", "bash");
	add(t, VF_TREE_FILE, "usr/bin/busybox", 0755, NULL, "busybox");
	add(t, VF_TREE_FILE, "usr/local/sbin/zsh", 0755, NULL, NULL);
	add(t, VF_TREE_FILE, "opt/x/bin/python3.11", 0755, NULL, "python");
	add(t, VF_TREE_SYMLINK, "usr/bin/python", 0777, "python3.11", "python");
	add(t, VF_TREE_FILE, "usr/bin/perl5.36.0", 0755, NULL, "perl");
	add(t, VF_TREE_FILE, "usr/bin/node", 0755, NULL, "node");
	add(t, VF_TREE_FILE, "usr/bin/lua5.4", 0755, NULL, "lua");
	add(t, VF_TREE_FILE, "usr/bin/dpkg", 0755, NULL, "dpkg");
	add(t, VF_TREE_FILE, "usr/bin/dpkg-query", 0755, NULL, "dpkg");
	add(t, VF_TREE_FILE, "usr/bin/apt-get", 0755, NULL, "apt");
	add(t, VF_TREE_FILE, "usr/sbin/pip3", 0755, NULL, "pip");
	add(t, VF_TREE_FILE, "sbin/apk", 0755, NULL, "apk");
	/* not flagged: not in a bin directory, other names, directories */
	add(t, VF_TREE_FILE, "usr/lib/bash", 0755, NULL, "bash");
	add(t, VF_TREE_FILE, "bash", 0755, NULL, "bash");
	add(t, VF_TREE_FILE, "usr/bin/bashbug", 0755, NULL, "bash");
	add(t, VF_TREE_FILE, "usr/bin/shx", 0755, NULL, "x");
	add(t, VF_TREE_FILE, "usr/binx/sh", 0755, NULL, "x");
	add(t, VF_TREE_FILE, "usr/bin/xsh", 0755, NULL, "x");
	add(t, VF_TREE_DIR, "usr/bin/perl", 0755, NULL, "perl");
	add(t, VF_TREE_FILE, "usr/bin/ls", 0755, NULL, "coreutils");

	expect_report(t, &defaults,
		      "/bin/bash|bash|shell 'bash' in a bin directory\n"
		      "/bin/sh|bash|shell 'sh' in a bin directory\n"
		      "/opt/x/bin/python3.11|python|interpreter 'python3.11' in a bin directory\n"
		      "/sbin/apk|apk|package manager 'apk' in a bin directory\n"
		      "/usr/bin/apt-get|apt|package manager 'apt-get' in a bin directory\n"
		      "/usr/bin/busybox|busybox|shell 'busybox' in a bin directory\n"
		      "/usr/bin/dash|bash|shell 'dash' in a bin directory\n"
		      "/usr/bin/dpkg|dpkg|package manager 'dpkg' in a bin directory\n"
		      "/usr/bin/dpkg-query|dpkg|package manager 'dpkg-query' in a bin directory\n"
		      "/usr/bin/lua5.4|lua|interpreter 'lua5.4' in a bin directory\n"
		      "/usr/bin/node|node|interpreter 'node' in a bin directory\n"
		      "/usr/bin/perl5.36.0|perl|interpreter 'perl5.36.0' in a bin directory\n"
		      "/usr/bin/python|python|interpreter 'python' in a bin directory\n"
		      "/usr/local/sbin/zsh|manifest|shell 'zsh' in a bin directory\n"
		      "/usr/sbin/pip3|pip|package manager 'pip3' in a bin directory\n");

	/* without the defaults nothing of this is a violation */
	expect_report(t, &(struct vf_policy){ .defaults = false }, "");
	vf_tree_free(t);
}

/* World-writable files and sticky-less directories, outside tmp directories. */
static void test_world_writable(void **state)
{
	struct vf_tree *t = new_tree(*state);

	add(t, VF_TREE_FILE, "etc/x", 0666, NULL, "a");
	add(t, VF_TREE_FILE, "etc/y", 0664, NULL, "a");
	add(t, VF_TREE_HARDLINK, "etc/z", 0644, "etc/x", "a");  /* shares etc/x's inode */
	add(t, VF_TREE_DIR, "data", 0777, NULL, "b");
	add(t, VF_TREE_DIR, "data2", 01777, NULL, "b");
	add(t, VF_TREE_DIR, "tmp", 0777, NULL, "c");
	add(t, VF_TREE_FILE, "tmp/f", 0666, NULL, "c");
	add(t, VF_TREE_DIR, "var/tmp", 0777, NULL, "c");
	add(t, VF_TREE_FILE, "var/tmp/sub/f", 0666, NULL, "c");
	add(t, VF_TREE_FILE, "srv/tmp/f", 0666, NULL, "c");
	add(t, VF_TREE_FILE, "tmpx/f", 0666, NULL, "d");
	add(t, VF_TREE_FILE, "x/tmp.d/f", 0666, NULL, "d");
	add(t, VF_TREE_SYMLINK, "etc/link", 0777, "x", "e");
	add(t, VF_TREE_CHR, "dev/null", 0666, NULL, "e");
	add(t, VF_TREE_FIFO, "run/fifo", 0666, NULL, "e");

	expect_report(t, &defaults,
		      "/data|b|world-writable directory without the sticky bit\n"
		      "/etc/x|a|world-writable file\n"
		      "/etc/z|a|world-writable file\n"
		      "/tmpx/f|d|world-writable file\n"
		      "/x/tmp.d/f|d|world-writable file\n");
	vf_tree_free(t);
}

/* setuid and setgid regular files; setgid directories are fine. */
static void test_setid(void **state)
{
	struct vf_tree *t = new_tree(*state);

	add(t, VF_TREE_FILE, "usr/bin/sudo", 04755, NULL, "sudo");
	add(t, VF_TREE_FILE, "usr/bin/wall", 02755, NULL, "util");
	add(t, VF_TREE_FILE, "usr/bin/both", 06755, NULL, "util");
	add(t, VF_TREE_HARDLINK, "usr/sbin/sudo2", 0755, "usr/bin/sudo", "sudo");
	add(t, VF_TREE_DIR, "var/mail", 02775, NULL, "mail");
	add(t, VF_TREE_FILE, "usr/bin/ls", 0755, NULL, "coreutils");

	expect_report(t, &defaults,
		      "/usr/bin/both|util|setuid binary\n"
		      "/usr/bin/both|util|setgid binary\n"
		      "/usr/bin/sudo|sudo|setuid binary\n"
		      "/usr/bin/wall|util|setgid binary\n"
		      "/usr/sbin/sudo2|sudo|setuid binary\n");
	vf_tree_free(t);
}

/* Forbid globs add violations; allow globs exempt from everything. */
static void test_forbid_allow(void **state)
{
	static const char *const forbid[] = { "/usr/share/doc/**", "**/*.a", "/etc/shadow" };
	static const char *const allow[] = { "/usr/bin/sudo", "/bin/sh", "/usr/share/doc/keep/**" };
	struct vf_policy p = { true, forbid, 3, allow, 3 };
	struct vf_tree *t = new_tree(*state);

	add(t, VF_TREE_FILE, "usr/share/doc/a/README", 0644, NULL, "a");
	add(t, VF_TREE_FILE, "usr/share/doc/keep/LICENSE", 0644, NULL, "a");
	add(t, VF_TREE_FILE, "usr/lib/libc.a", 0644, NULL, "libc");
	add(t, VF_TREE_FILE, "libz.a", 0644, NULL, "zlib");
	add(t, VF_TREE_FILE, "etc/shadow", 0666, NULL, "base");
	add(t, VF_TREE_FILE, "usr/bin/sudo", 04755, NULL, "sudo");
	add(t, VF_TREE_SYMLINK, "bin/sh", 0777, "busybox", "busybox");
	add(t, VF_TREE_FILE, "bin/busybox", 04755, NULL, "busybox");

	expect_report(t, &p,
		      "/bin/busybox|busybox|shell 'busybox' in a bin directory\n"
		      "/bin/busybox|busybox|setuid binary\n"
		      "/etc/shadow|base|world-writable file\n"
		      "/etc/shadow|base|forbidden by policy rule '/etc/shadow'\n"
		      "/libz.a|zlib|forbidden by policy rule '**/*.a'\n"
		      "/usr/lib/libc.a|libc|forbidden by policy rule '**/*.a'\n"
		      "/usr/share/doc/a|a|forbidden by policy rule '/usr/share/doc/**'\n"
		      "/usr/share/doc/a/README|a|forbidden by policy rule '/usr/share/doc/**'\n"
		      "/usr/share/doc/keep|a|forbidden by policy rule '/usr/share/doc/**'\n");

	/* forbid globs apply without the defaults too */
	p.defaults = false;
	p.n_allow = 0;
	expect_report(t, &p,
		      "/etc/shadow|base|forbidden by policy rule '/etc/shadow'\n"
		      "/libz.a|zlib|forbidden by policy rule '**/*.a'\n"
		      "/usr/lib/libc.a|libc|forbidden by policy rule '**/*.a'\n"
		      "/usr/share/doc/a|a|forbidden by policy rule '/usr/share/doc/**'\n"
		      "/usr/share/doc/a/README|a|forbidden by policy rule '/usr/share/doc/**'\n"
		      "/usr/share/doc/keep|a|forbidden by policy rule '/usr/share/doc/**'\n"
		      "/usr/share/doc/keep/LICENSE|a|forbidden by policy rule '/usr/share/doc/**'\n");

	/* allowing everything */
	p.allow = (const char *const[]){ "**" };
	p.n_allow = 1;
	p.defaults = true;
	expect_report(t, &p, "");
	vf_tree_free(t);
}

/* A clean tree gives an empty report; releasing it twice is fine. */
static void test_clean(void **state)
{
	struct vf_tree *t = new_tree(*state);
	struct vf_policy_report r = { NULL, 0 };
	struct vf_err err = { 0 };

	add(t, VF_TREE_FILE, "usr/bin/app", 0755, NULL, "app");
	add(t, VF_TREE_DIR, "tmp", 01777, NULL, "base");
	add(t, VF_TREE_SYMLINK, "usr/bin/sh-completion", 0777, "x", "x");
	assert_int_equal(vf_policy_check(t, &defaults, &r, &err), 0);
	assert_int_equal(r.n, 0);
	vf_policy_report_release(&r);
	vf_policy_report_release(&r);
	vf_policy_report_release(NULL);
	vf_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entry_points, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_world_writable, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_setid, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_forbid_allow, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_clean, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
