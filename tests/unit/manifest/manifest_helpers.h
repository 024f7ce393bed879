/* Helpers shared by the manifest unit tests (write fixtures, load, check messages); include cmocka first. */
#ifndef VF_TESTS_MANIFEST_HELPERS_H
#define VF_TESTS_MANIFEST_HELPERS_H

#include "builder/manifest/manifest.h"
#include "tests/unit/testutil.h"

#include <stdlib.h>
#include <string.h>

/** The error message contains `want`. */
static inline void assert_msg(const struct vf_err *err, const char *want)
{
	vf_test_assert_contains(err->msg, want);
}

/** Write `text` to dir/name. */
static inline void put(const char *dir, const char *name, const char *text)
{
	char *p = vf_test_path(dir, name);

	vf_test_write_file(p, text, strlen(text));
	free(p);
}

/** vf_manifest_load() of dir/name with a cleared error and *m reset. */
static inline int load_at(const char *dir, const char *name, struct vf_manifest **m,
			  struct vf_err *err)
{
	char *p = vf_test_path(dir, name);
	int r;

	vf_err_clear(err);
	*m = NULL;
	r = vf_manifest_load(p, m, err);
	free(p);
	return r;
}

/** Load dir/name, which must succeed (the error is printed if not). */
static inline struct vf_manifest *load_named_ok(const char *dir, const char *name)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;

	if (load_at(dir, name, &m, &err))
		print_error("unexpected error: %s\n", err.msg);
	assert_non_null(m);
	return m;
}

/** Loading dir/name fails with `code`, `want` in the message and no manifest. */
static inline void expect_load_fail(const char *dir, const char *name, int code,
				    const char *want)
{
	struct vf_manifest *m = NULL;
	struct vf_err err;

	assert_int_equal(load_at(dir, name, &m, &err), code);
	assert_null(m);
	assert_msg(&err, want);
}

#endif
