/*
 * Reproducibility: the same tree and options give the same bytes whatever
 * the working directory, time zone, umask, environment (E2FSPROGS_FAKE_TIME)
 * and clock; any change to the tree or the identifiers changes the image.
 *
 * `test_determinism --emit IMAGE` writes the fixed image the integration
 * tests compare across processes and against tests/golden/ext4/ (the typical
 * tree plus a directory of 3,000 symlinks, so the hash seed matters);
 * `--emit-journal IMAGE` the same tree in 128 MiB with a journal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/ext4/ext4_test.h"

#include <time.h>

static void fixed_tree(struct vf_tree *t)
{
	char path[64];

	t_typical_tree(t);
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "usr/share/many/n%04d", i);
		t_add(t, VF_TREE_SYMLINK, path, 0777, 0, 0, T_EPOCH - i, path + 4, NULL, 0);
	}
}

static char *write_fixed(const char *dir, const char *name, const struct vf_ext4_opts *o)
{
	char *sub = vf_test_path(dir, name);
	char *final;
	struct vf_tree *t;

	assert_int_equal(mkdir(sub, 0700), 0);
	t = t_tree(sub);
	fixed_tree(t);
	final = malloc(strlen(dir) + strlen(name) + 8);
	assert_non_null(final);
	sprintf(final, "%s/%s.img", dir, name);
	t_write(final, t, o);
	vf_tree_free(t);
	free(sub);
	return final;
}

static bool same_file(const char *a, const char *b)
{
	size_t la, lb;
	uint8_t *x = vf_test_read_file(a, &la), *y = vf_test_read_file(b, &lb);
	bool same = la == lb && !memcmp(x, y, la);

	free(x);
	free(y);
	return same;
}

static void test_same_bytes_anywhere(void **state)
{
	const char *dir = *state;
	struct vf_ext4_opts o = t_opts();
	char *cwd = getcwd(NULL, 0), *a, *b, *c;
	struct stat st;

	/* run 1: here, UTC, umask 022, no E2FSPROGS_FAKE_TIME */
	unsetenv("E2FSPROGS_FAKE_TIME");
	setenv("TZ", "UTC", 1);
	tzset();
	umask(022);
	a = write_fixed(dir, "one", &o);

	/* run 2: elsewhere, another zone and umask, libext2fs's fake time set, a second later */
	sleep(1);
	assert_int_equal(chdir(dir), 0);
	setenv("TZ", "Pacific/Kiritimati", 1);
	tzset();
	umask(077);
	setenv("E2FSPROGS_FAKE_TIME", "123456789", 1);
	b = write_fixed(dir, "two", &o);

	/* run 3: a journal does not break it either (but makes another image) */
	o.journal = true;
	o.size = UINT64_C(128) << 20;
	c = write_fixed(dir, "three", &o);

	unsetenv("E2FSPROGS_FAKE_TIME");
	umask(022);
	assert_int_equal(chdir(cwd), 0);
	assert_true(same_file(a, b));
	assert_false(same_file(a, c));
	/* the mode does not follow the umask */
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(a);
	free(b);
	free(c);
	free(cwd);
}

/* Write a tree; `change` may alter it or the options first. */
static char *variant(const char *dir, const char *name,
		     void (*change)(struct vf_tree *t, struct vf_ext4_opts *o))
{
	char *sub = vf_test_path(dir, name), *img;
	struct vf_ext4_opts o = t_opts();
	struct vf_tree *t;

	assert_int_equal(mkdir(sub, 0700), 0);
	t = t_tree(sub);
	fixed_tree(t);
	if (change)
		change(t, &o);
	img = vf_test_path(sub, "img");
	t_write(img, t, &o);
	vf_tree_free(t);
	free(sub);
	return img;
}

static void one_byte(struct vf_tree *t, struct vf_ext4_opts *o)
{
	const struct vf_tree_entry *e = vf_tree_get(t, "etc/hostname");
	struct vf_tree_entry copy = *e;
	struct vf_err err = { 0 };

	(void)o;
	assert_int_equal(vf_tree_add(t, &copy, "vforgf\n", 7, true, &err), 0);
}

static void other_uuid(struct vf_tree *t, struct vf_ext4_opts *o)
{
	(void)t;
	o->uuid[15] ^= 1;
}

static void other_seed(struct vf_tree *t, struct vf_ext4_opts *o)
{
	(void)t;
	o->hash_seed[0] ^= 1;
}

static void other_time(struct vf_tree *t, struct vf_ext4_opts *o)
{
	(void)t;
	o->timestamp++;
}

static void other_label(struct vf_tree *t, struct vf_ext4_opts *o)
{
	(void)t;
	o->label = "vforge-tesu";
}

static void other_xattr(struct vf_tree *t, struct vf_ext4_opts *o)
{
	(void)o;
	t_xattr(t, "usr/bin/wall", "security.selinux", "x", 1);
}

static void test_changes_show(void **state)
{
	const char *dir = *state;
	char *base = variant(dir, "base", NULL), *again = variant(dir, "again", NULL);
	struct {
		const char *name;
		void (*change)(struct vf_tree *, struct vf_ext4_opts *);
	} cases[] = {
		{ "byte", one_byte },   { "uuid", other_uuid },   { "seed", other_seed },
		{ "time", other_time }, { "label", other_label }, { "xattr", other_xattr },
	};

	assert_true(same_file(base, again));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *img = variant(dir, cases[i].name, cases[i].change);

		if (same_file(base, img))
			print_error("changing the %s did not change the image\n", cases[i].name);
		assert_false(same_file(base, img));
		free(img);
	}
	free(base);
	free(again);
}

static int emit(const char *path, bool journal)
{
	char *dir = vf_test_tmpdir();
	struct vf_tree *t;
	struct vf_ext4_opts o = t_opts();
	struct vf_err err = { 0 };
	char *store = vf_test_path(dir, "store");
	int r;

	if (mkdir(store, 0700) || !(t = vf_tree_new(NULL, store))) {
		fprintf(stderr, "cannot make a tree in %s\n", dir);
		return 1;
	}
	fixed_tree(t);
	if (journal) {
		o.journal = true;
		o.size = UINT64_C(128) << 20;
	}
	r = vf_ext4_write(path, t, &o, &err);
	if (r)
		fprintf(stderr, "vf_ext4_write: %s\n", err.msg);
	vf_tree_free(t);
	vf_test_rmtree(dir);
	free(store);
	free(dir);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_same_bytes_anywhere),
		vf_test_in_tmpdir(test_changes_show),
	};

	if (argc == 3 && !strcmp(argv[1], "--emit"))
		return emit(argv[2], false);
	if (argc == 3 && !strcmp(argv[1], "--emit-journal"))
		return emit(argv[2], true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
