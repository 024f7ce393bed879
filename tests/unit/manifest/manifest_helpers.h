/* Helpers shared by the manifest unit tests (write fixtures, load, check messages). */
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

#endif
