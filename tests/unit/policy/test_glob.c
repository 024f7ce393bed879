/* builder/tree/glob.c: vf_glob_match(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/tree/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct glob_case {
	const char *glob, *path;
	bool match;
};

static const struct glob_case cases[] = {
	/* ** crosses '/', a trailing / ** needs at least something below */
	{ "/usr/share/doc/**", "/usr/share/doc/a", true },
	{ "/usr/share/doc/**", "/usr/share/doc/a/b/c.gz", true },
	{ "/usr/share/doc/**", "/usr/share/doc", false },
	{ "/usr/share/doc/**", "/usr/share/docs/a", false },
	{ "/usr/**", "/usr/a/b", true },
	{ "**", "", true },
	{ "**", "/anything/at/all", true },
	{ "***", "a/b", true },
	/* a leading ** and / also match zero components */
	{ "**/bin/sh", "/bin/sh", true },
	{ "**/bin/sh", "/usr/bin/sh", true },
	{ "**/bin/sh", "/usr/local/bin/sh", true },
	{ "**/bin/sh", "bin/sh", true },
	{ "**/bin/sh", "/usr/sbin/sh", false },
	{ "**/bin/sh", "/usr/bin/shx", false },
	{ "/usr/**/bin", "/usr/bin", true },
	{ "/usr/**/bin", "/usr/local/bin", true },
	{ "/usr/**/bin", "/usr/a/b/bin", true },
	{ "/usr/**/bin", "/usrbin", false },
	{ "/usr/**/bin", "/usr/xbin", false },
	{ "/a/**/b/**/c", "/a/b/c", true },
	{ "/a/**/b/**/c", "/a/x/b/y/z/c", true },
	{ "/a/**/b/**/c", "/a/x/c", false },
	{ "a**/b", "ab", false },  /* zero components only right after '/' or at the start */
	{ "a**/b", "ax/y/b", true },
	/* * and ? stay within one component */
	{ "/usr/bin/*", "/usr/bin/ls", true },
	{ "/usr/bin/*", "/usr/bin/sub/ls", false },
	{ "/*/bin", "/usr/bin", true },
	{ "/*/bin", "/usr/local/bin", false },
	{ "/usr/lib/*.so", "/usr/lib/libc.so", true },
	{ "/usr/lib/*.so", "/usr/lib/x/libc.so", false },
	{ "*", "", true },
	{ "*", "a/b", false },
	{ "?", "a", true },
	{ "?", "/", false },
	{ "?", "", false },
	{ "a?c", "abc", true },
	{ "a?c", "a/c", false },
	{ "python3*", "python3.11", true },
	{ "dpkg-*", "dpkg", false },
	/* classes */
	{ "[abc]", "b", true },
	{ "[abc]", "d", false },
	{ "[a-z]x", "qx", true },
	{ "[a-z]x", "Qx", false },
	{ "[!x]", "y", true },
	{ "[!x]", "x", false },
	{ "[^x]", "x", false },
	{ "[!x]", "/", false },
	{ "a[/]b", "a/b", false },
	{ "[]]", "]", true },
	{ "[!]]", "a", true },
	{ "[!]]", "]", false },
	{ "[a-]", "-", true },
	{ "[\\]]", "]", true },
	{ "[0-9][0-9]", "42", true },
	{ "[abc", "[abc", true },  /* unterminated: literal '[' */
	{ "[abc", "a", false },
	/* escapes */
	{ "\\*", "*", true },
	{ "\\*", "a", false },
	{ "\\?", "?", true },
	{ "\\[a]", "[a]", true },
	{ "a\\", "a\\", true },  /* a trailing backslash is literal */
	/* literals */
	{ "", "", true },
	{ "", "a", false },
	{ "/etc/passwd", "/etc/passwd", true },
	{ "/etc/passwd", "/etc/passwd-", false },
	{ "/etc/passwd", "/etc/passw", false },
};

static void test_table(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = vf_glob_match(cases[i].glob, cases[i].path);

		if (got != cases[i].match) {
			print_error("glob '%s' path '%s': expected %s, got %s\n", cases[i].glob,
				    cases[i].path, cases[i].match ? "match" : "no match",
				    got ? "match" : "no match");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns that make a backtracking matcher exponential stay fast. */
static void test_pathological(void **state)
{
	const size_t len = 4096;
	char *path = malloc(len + 1), *slashy = malloc(len + 1);
	double start;

	(void)state;
	assert_non_null(path);
	assert_non_null(slashy);
	memset(path, 'a', len);
	path[len] = '\0';
	for (size_t i = 0; i < len; i++)
		slashy[i] = (i % 2) ? '/' : 'a';
	slashy[len] = '\0';

	start = now();
	for (int k = 0; k < 10; k++) {
		assert_false(vf_glob_match("*a*a*a*a*a*b", path));
		assert_false(vf_glob_match("**a**a**a**a**a**b", slashy));
		assert_false(vf_glob_match("**/a/**/a/**/a/**/a/**/b", slashy));
		assert_false(vf_glob_match("*?*?*?*?*?*?*?*?b", path));
	}
	path[len - 1] = 'b';
	assert_true(vf_glob_match("*a*a*a*a*a*b", path));
	slashy[len - 1] = 'b';
	assert_true(vf_glob_match("**a**a**a**a**a**b", slashy));
	/* linear-ish: 40 runs over 4 KB take microseconds to milliseconds, never seconds */
	assert_true(now() - start < 2.0);
	free(path);
	free(slashy);
}

/* A glob longer than the on-stack state set takes the heap path. */
static void test_long_glob(void **state)
{
	const size_t len = 3000;
	char *glob = malloc(len + 1), *path = malloc(len + 1);

	(void)state;
	assert_non_null(glob);
	assert_non_null(path);
	memset(glob, '?', len);
	glob[len] = '\0';
	memset(path, 'x', len);
	path[len] = '\0';
	assert_true(vf_glob_match(glob, path));
	path[len - 1] = '\0';
	assert_false(vf_glob_match(glob, path));
	glob[len / 2] = '/';
	memset(path, 'x', len);
	path[len] = '\0';
	assert_false(vf_glob_match(glob, path));
	path[len / 2] = '/';
	assert_true(vf_glob_match(glob, path));
	free(glob);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_pathological),
		cmocka_unit_test(test_long_glob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
