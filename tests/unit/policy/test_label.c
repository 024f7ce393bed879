/* builder/tree/label.c: SELinux labels with file_contexts semantics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/tree/policy.h"
#include "builder/tree/tree.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void assert_msg(const struct vf_err *err, const char *want)
{
	if (!strstr(err->msg, want))
		print_error("message '%s' lacks '%s'\n", err->msg, want);
	assert_non_null(strstr(err->msg, want));
}

static struct vf_tree *new_tree(const char *dir)
{
	struct vf_tree_limits lim = { 0 };
	struct vf_tree *t = vf_tree_new(&lim, dir);

	assert_non_null(t);
	return t;
}

/* Add an entry of `type` at `path` (absolute or relative), 0755 root. */
static void add(struct vf_tree *t, enum vf_tree_type type, const char *path, const char *link)
{
	struct vf_tree_entry e = { 0 };
	struct vf_err err = { 0 };

	e.path = (char *)path;
	e.type = type;
	e.mode = type == VF_TREE_SYMLINK ? 0777 : 0755;
	e.link = (char *)link;
	if (type == VF_TREE_CHR || type == VF_TREE_BLK)
		e.rdev_major = 1;
	if (vf_tree_add(t, &e, type == VF_TREE_FILE ? "x" : NULL, type == VF_TREE_FILE ? 1 : 0,
			false, &err)) {
		print_error("add '%s': %s\n", path, err.msg);
		fail();
	}
}

/* The label of `path` ("" is the root), NULL when it has none. */
static const char *label_of(const struct vf_tree *t, const char *path)
{
	const struct vf_tree_entry *e = vf_tree_get(t, path);

	assert_non_null(e);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		if (strcmp(e->xattrs[i].name, "security.selinux") == 0) {
			/* stored NUL-terminated, as the kernel does */
			assert_true(e->xattrs[i].len >= 1);
			assert_int_equal(e->xattrs[i].value[e->xattrs[i].len - 1], '\0');
			assert_int_equal(strlen((const char *)e->xattrs[i].value), e->xattrs[i].len - 1);
			return (const char *)e->xattrs[i].value;
		}
	}
	return NULL;
}

static void expect_label(const struct vf_tree *t, const char *path, const char *want)
{
	const char *got = label_of(t, path);

	if (!got || strcmp(got, want))
		print_error("'%s': expected label '%s', got '%s'\n", path, want, got ? got : "(none)");
	assert_non_null(got);
	assert_string_equal(got, want);
}

/* Later rules win; the root is "/"; regexes match the whole path. */
static void test_last_match_wins(void **state)
{
	static const struct vf_label_rule rules[] = {
		{ ".*", NULL, "all" },
		{ "/usr(/.*)?", NULL, "usr" },
		{ "/usr/bin/.*", NULL, "bin" },
		{ "/usr/bin/sh", "symlink", "shlink" },
		{ "/usr/bin/s.*", "file", "sfile" },
		{ "/", NULL, "root" },
		{ "/etc", NULL, "etc" },
	};
	struct vf_tree *t = new_tree(*state);
	struct vf_err err = { 0 };

	add(t, VF_TREE_DIR, "usr/bin", NULL);
	add(t, VF_TREE_FILE, "usr/bin/ls", NULL);
	add(t, VF_TREE_FILE, "usr/bin/ssh", NULL);
	add(t, VF_TREE_SYMLINK, "usr/bin/sh", "busybox");
	add(t, VF_TREE_FILE, "etc/passwd", NULL);
	add(t, VF_TREE_FILE, "usrx", NULL);

	assert_int_equal(vf_tree_label(t, rules, sizeof(rules) / sizeof(rules[0]), NULL, &err), 0);
	expect_label(t, "", "root");
	expect_label(t, "usr", "usr");
	expect_label(t, "usr/bin", "usr");  /* "/usr/bin/.*" needs something below */
	expect_label(t, "usr/bin/ls", "bin");
	expect_label(t, "usr/bin/ssh", "sfile");
	expect_label(t, "usr/bin/sh", "shlink");
	expect_label(t, "etc", "etc");
	expect_label(t, "etc/passwd", "all");
	expect_label(t, "usrx", "all");  /* anchored: "/usr(/.*)?" is not a prefix match */

	/* labelling again replaces the label */
	assert_int_equal(vf_tree_label(t, rules, 1, NULL, &err), 0);
	expect_label(t, "usr/bin/sh", "all");
	vf_tree_free(t);
}

/* Type filters, in both spellings; a hardlink counts as a file. */
static void test_types(void **state)
{
	static const struct vf_label_rule rules[] = {
		{ "/x/.*", "file", "file" },
		{ "/x/.*", "dir", "dir" },
		{ "/x/.*", "symlink", "symlink" },
		{ "/x/.*", "char", "char" },
		{ "/x/.*", "block", "block" },
		{ "/x/.*", "fifo", "fifo" },
		{ "/x/.*", "socket", "socket" },
		{ "/y/.*", "--", "y-file" },
		{ "/y/.*", "-d", "y-dir" },
		{ "/y/.*", "-l", "y-symlink" },
		{ "/y/.*", "-c", "y-char" },
		{ "/y/.*", "-b", "y-block" },
		{ "/y/.*", "-p", "y-fifo" },
		{ "/y/.*", "-s", "y-socket" },
	};
	static const char *const dirs[] = { "x", "y" };
	struct vf_tree *t = new_tree(*state);
	struct vf_err err = { 0 };
	char p[64], want[32];

	for (size_t i = 0; i < 2; i++) {
		const char *d = dirs[i];

		snprintf(p, sizeof(p), "%s/file", d);
		add(t, VF_TREE_FILE, p, NULL);
		snprintf(p, sizeof(p), "%s/hard", d);
		snprintf(want, sizeof(want), "%s/file", d);
		add(t, VF_TREE_HARDLINK, p, want);
		snprintf(p, sizeof(p), "%s/dir", d);
		add(t, VF_TREE_DIR, p, NULL);
		snprintf(p, sizeof(p), "%s/symlink", d);
		add(t, VF_TREE_SYMLINK, p, "file");
		snprintf(p, sizeof(p), "%s/char", d);
		add(t, VF_TREE_CHR, p, NULL);
		snprintf(p, sizeof(p), "%s/block", d);
		add(t, VF_TREE_BLK, p, NULL);
		snprintf(p, sizeof(p), "%s/fifo", d);
		add(t, VF_TREE_FIFO, p, NULL);
		snprintf(p, sizeof(p), "%s/socket", d);
		add(t, VF_TREE_SOCK, p, NULL);
	}
	assert_int_equal(vf_tree_label(t, rules, sizeof(rules) / sizeof(rules[0]), "default", &err),
			 0);
	expect_label(t, "x/file", "file");
	expect_label(t, "x/hard", "file");
	expect_label(t, "x/dir", "dir");
	expect_label(t, "x/symlink", "symlink");
	expect_label(t, "x/char", "char");
	expect_label(t, "x/block", "block");
	expect_label(t, "x/fifo", "fifo");
	expect_label(t, "x/socket", "socket");
	expect_label(t, "y/file", "y-file");
	expect_label(t, "y/hard", "y-file");
	expect_label(t, "y/dir", "y-dir");
	expect_label(t, "y/symlink", "y-symlink");
	expect_label(t, "y/char", "y-char");
	expect_label(t, "y/block", "y-block");
	expect_label(t, "y/fifo", "y-fifo");
	expect_label(t, "y/socket", "y-socket");
	expect_label(t, "x", "default");
	expect_label(t, "", "default");
	vf_tree_free(t);
}

/* No match: the default label, or an error naming the path without one. */
static void test_default(void **state)
{
	static const struct vf_label_rule rules[] = {
		{ "/usr(/.*)?", NULL, "usr" },
		{ "/", NULL, "root" },
		{ "/etc", "dir", "etc" },
	};
	struct vf_tree *t = new_tree(*state);
	struct vf_err err = { 0 };

	add(t, VF_TREE_FILE, "usr/lib/a", NULL);
	add(t, VF_TREE_FILE, "etc/passwd", NULL);
	add(t, VF_TREE_FILE, "etc/shadow", NULL);
	assert_int_equal(vf_tree_label(t, rules, 3, "default_t", &err), 0);
	expect_label(t, "etc/passwd", "default_t");
	expect_label(t, "usr/lib/a", "usr");

	assert_int_equal(vf_tree_label(t, rules, 3, NULL, &err), -ENOENT);
	assert_msg(&err, "path '/etc/passwd': no file_contexts rule matches and there is no "
			 "default label");
	/* no rules at all: everything gets the default */
	assert_int_equal(vf_tree_label(t, NULL, 0, "only", &err), 0);
	expect_label(t, "", "only");
	expect_label(t, "usr/lib/a", "only");
	vf_tree_free(t);
}

/* A bad rule is an error naming its index, the regex and regerror's text. */
static void test_bad_rules(void **state)
{
	struct vf_label_rule rules[] = {
		{ "/usr(/.*)?", NULL, "usr" },
		{ "/usr/(bin", NULL, "bin" },
	};
	struct vf_tree *t = new_tree(*state);
	struct vf_err err = { 0 };
	char buf[128];
	regex_t re;
	int rc;

	add(t, VF_TREE_FILE, "usr/bin/x", NULL);
	rc = regcomp(&re, "/usr/(bin", REG_EXTENDED | REG_NOSUB);
	assert_int_not_equal(rc, 0);
	regerror(rc, &re, buf, sizeof(buf));
	regfree(&re);

	assert_int_equal(vf_tree_label(t, rules, 2, "d", &err), -EINVAL);
	assert_msg(&err, "file_contexts rule 1: regex '/usr/(bin' does not compile: ");
	assert_msg(&err, buf);

	/* balanced only by the implicit anchors ^(...)$: still refused */
	rules[1].regex = "/a)(/b";
	assert_int_equal(vf_tree_label(t, rules, 2, "d", &err), -EINVAL);
	assert_msg(&err, "file_contexts rule 1: regex '/a)(/b' does not compile");

	rules[1].regex = "/usr/bin(/.*)?";
	rules[1].type = "regular";
	assert_int_equal(vf_tree_label(t, rules, 2, "d", &err), -EINVAL);
	assert_msg(&err, "file_contexts rule 1 ('/usr/bin(/.*)?'): unknown file type 'regular'");

	rules[0].label = NULL;
	rules[1].type = NULL;
	assert_int_equal(vf_tree_label(t, rules, 2, "d", &err), -EINVAL);
	assert_msg(&err, "file_contexts rule 0: missing label");
	/* nothing was labelled by the failed calls */
	assert_null(label_of(t, "usr/bin/x"));
	vf_tree_free(t);
}

/*
 * The literal-prefix shortcut never changes a result: every regex against every
 * path agrees with plain regexec() of ^(regex)$.
 */
static void test_prefix_shortcut(void **state)
{
	static const char *const regexes[] = {
		"/usr/lib64?/.*", "/usr/s?bin/x", "/x+y", "/opt|/srv(/.*)?", "/a\\.b", "/a.b",
		"/etc/passwd", "/etc/passwd-?", "/var/run{1,2}", "/usr/lib/ld-[^/]*\\.so.*",
		"/boot(/.*)?", "/home/[^/]+/\\.ssh(/.*)?", "/dev/tty[0-9]*", "/(usr/)?bin/.*",
		"/a\\+", "/sbin/.*", "/\\w+", "/[a-z]", "", "/",
	};
	static const char *const paths[] = {
		"", "usr/lib/x", "usr/lib64/x", "usr/lib6/x", "usr/bin/x", "usr/sbin/x", "usr/ssbin/x",
		"xy", "xxxy", "y", "opt", "srv", "srv/a", "opt/a", "a.b", "aXb", "etc/passwd",
		"etc/passwd-", "etc/passwdx", "var/run1", "var/run11", "var/run111",
		"usr/lib/ld-linux.so.2", "usr/lib/x/ld-linux.so.2", "boot", "boot/efi",
		"home/u/.ssh/id", "home/u/xssh", "dev/tty", "dev/tty12", "bin/sh", "usr/bin/sh",
		"a+", "aa", "sbin/init", "ab_1", "q",
	};
	struct vf_tree *t = new_tree(*state);
	struct vf_err err = { 0 };
	int failures = 0;

	for (size_t i = 1; i < sizeof(paths) / sizeof(paths[0]); i++)
		add(t, strchr(paths[i], '.') ? VF_TREE_FILE : VF_TREE_DIR, paths[i], NULL);
	for (size_t k = 0; k < sizeof(regexes) / sizeof(regexes[0]); k++) {
		struct vf_label_rule rule = { regexes[k], NULL, "hit" };
		char *anchored = NULL;
		regex_t re;

		assert_true(asprintf(&anchored, "^(%s)$", regexes[k]) > 0);
		assert_int_equal(regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB), 0);
		assert_int_equal(vf_tree_label(t, &rule, 1, "miss", &err), 0);
		for (size_t i = 0; i < vf_tree_count(t); i++) {
			const struct vf_tree_entry *e = vf_tree_at(t, i);
			char abs[512];
			bool want, got;

			snprintf(abs, sizeof(abs), "/%s", e->path);
			want = regexec(&re, abs, 0, NULL, 0) == 0;
			got = strcmp(label_of(t, e->path), "hit") == 0;
			if (want != got) {
				print_error("regex '%s' path '%s': regexec %d, label %d\n", regexes[k],
					    abs, want, got);
				failures++;
			}
		}
		regfree(&re);
		free(anchored);
	}
	assert_int_equal(failures, 0);
	vf_tree_free(t);
}

/*
 * 120,000 entries and 50 rules: a sanity bound on the time (the literal-prefix
 * shortcut keeps most rules away from regexec). Entries are added in sorted
 * order, which is what the tree inserts cheaply.
 */
static void test_many_entries(void **state)
{
	struct vf_label_rule rules[50];
	char regex[50][64], label[50][48], path[64];
	struct vf_tree *t = new_tree(*state);
	struct vf_err err = { 0 };
	struct timespec a, b;
	double secs;

	for (int k = 0; k < 50; k++) {
		snprintf(regex[k], sizeof(regex[k]), k ? "/usr/share/p%02d(/.*)?" : ".*", k);
		snprintf(label[k], sizeof(label[k]), "system_u:object_r:p%d_t:s0", k);
		rules[k] = (struct vf_label_rule){ regex[k], NULL, label[k] };
	}
	for (int p = 0; p < 60; p++) {
		for (int d = 0; d < 20; d++) {
			for (int f = 0; f < 100; f++) {
				struct vf_tree_entry e = { 0 };

				snprintf(path, sizeof(path), "usr/share/p%02d/d%02d/f%03d", p, d, f);
				e.path = path;
				e.type = VF_TREE_SYMLINK;
				e.mode = 0777;
				e.link = (char *)"x";
				assert_int_equal(vf_tree_add(t, &e, NULL, 0, false, &err), 0);
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(vf_tree_label(t, rules, 50, NULL, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("labelled %zu entries with 50 rules in %.3f s\n", vf_tree_count(t), secs);
	expect_label(t, "usr/share/p07/d07/f007", "system_u:object_r:p7_t:s0");
	expect_label(t, "usr/share/p59/d19/f099", "system_u:object_r:p0_t:s0");
	expect_label(t, "usr/share/p49", "system_u:object_r:p49_t:s0");
	assert_true(secs < 30.0);  /* a sanity bound for sanitizer builds, not a benchmark */
	vf_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_last_match_wins, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_types, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_default, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_bad_rules, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_prefix_shortcut, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_many_entries, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
