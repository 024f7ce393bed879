/* builder/initramfs: module names and dependency resolution (order, '-'/'_', missing, cycles). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/initramfs/initramfs.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "file:dep,dep" specs into a set whose modules are all known. */
static void make_set(struct vf_kmod_set *s, const char *const *specs, size_t n)
{
	vf_kmod_set_init(s, "k.deb", NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		char buf[512], *deps[16], *colon, *p;
		size_t nd = 0;
		struct vf_err err = { 0 };

		snprintf(buf, sizeof(buf), "%s", specs[i]);
		colon = strchr(buf, ':');
		if (colon) {
			*colon = '\0';
			for (p = strtok(colon + 1, ","); p && nd < 16; p = strtok(NULL, ","))
				deps[nd++] = p;
		}
		if (vf_kmod_set_add(s, buf, (const char *const *)deps, nd, true, NULL, &err))
			fail_msg("%s", err.msg);
	}
}

/* The resolved order as "a b c" (module names from their files). */
static char *resolve(struct vf_kmod_set *s, const char *const *want, size_t n, int *ret,
		     struct vf_err *err)
{
	size_t *order = NULL, n_order = 0;
	char *text = calloc(1, 4096);

	assert_non_null(text);
	vf_err_clear(err);
	*ret = vf_kmod_resolve(s, want, n, &order, &n_order, err);
	for (size_t i = 0; !*ret && i < n_order; i++) {
		const char *base = strrchr(s->mods[order[i]].file, '/');

		base = base ? base + 1 : s->mods[order[i]].file;
		size_t at = strlen(text);

		snprintf(text + at, 4096 - at, "%s%.*s", i ? " " : "", (int)(strlen(base) - 3), base);
	}
	free(order);
	return text;
}

static const char *const PKG[] = {
	"lib/modules/6.1/kernel/drivers/md/dm-verity.ko:reed_solomon,dm-mod,dm-bufio",
	"lib/modules/6.1/kernel/drivers/md/dm-bufio.ko:dm-mod",
	"lib/modules/6.1/kernel/drivers/md/dm-mod.ko",
	"lib/modules/6.1/kernel/lib/reed_solomon/reed_solomon.ko",
	"lib/modules/6.1/kernel/fs/ext4/ext4.ko:jbd2,mbcache,crc16",
	"lib/modules/6.1/kernel/fs/jbd2/jbd2.ko",
	"lib/modules/6.1/kernel/fs/mbcache.ko",
	"lib/modules/6.1/kernel/lib/crc16.ko",
	"lib/modules/6.1/kernel/drivers/virtio/virtio.ko",
	"lib/modules/6.1/kernel/drivers/virtio/virtio_ring.ko",
	"lib/modules/6.1/kernel/drivers/block/virtio_blk.ko:virtio,virtio_ring",
	"lib/modules/6.1/kernel/drivers/virtio/virtio_pci.ko:virtio_ring,virtio,virtio_pci_modern_dev",
	"lib/modules/6.1/kernel/drivers/virtio/virtio_pci_modern_dev.ko",
	"lib/modules/6.1/kernel/drivers/loop.ko.xz",
};
#define N_PKG (sizeof(PKG) / sizeof(PKG[0]))

static void test_names(void **state)
{
	char out[VF_KMOD_NAME_MAX + 1];

	(void)state;
	assert_true(vf_kmod_is_name("dm-verity"));
	assert_true(vf_kmod_is_name("A_b-9"));
	assert_false(vf_kmod_is_name(""));
	assert_false(vf_kmod_is_name("dm verity"));
	assert_false(vf_kmod_is_name("../x"));
	assert_false(vf_kmod_is_name("a23456789012345678901234567890123456789012345678901234567"));
	vf_kmod_name_normalize("dm-verity-x_y", out);
	assert_string_equal(out, "dm_verity_x_y");
}

static void test_order(void **state)
{
	static const char *const want[] = { "virtio_pci", "virtio-blk", "dm_verity", "ext4" };
	struct vf_kmod_set s;
	struct vf_err err;
	char *t;
	int r;

	(void)state;
	make_set(&s, PKG, N_PKG);
	t = resolve(&s, want, 4, &r, &err);
	assert_int_equal(r, 0);
	assert_string_equal(t, "virtio_ring virtio virtio_pci_modern_dev virtio_pci virtio_blk "
			       "reed_solomon dm-mod dm-bufio dm-verity jbd2 mbcache crc16 ext4");
	free(t);
	/* the requested order decides; a dependency named too comes once, where first needed */
	{
		static const char *const w2[] = { "ext4", "dm-mod", "dm-bufio" };

		t = resolve(&s, w2, 3, &r, &err);
		assert_int_equal(r, 0);
		assert_string_equal(t, "jbd2 mbcache crc16 ext4 dm-mod dm-bufio");
		free(t);
	}
	/* nothing requested: nothing */
	t = resolve(&s, want, 0, &r, &err);
	assert_int_equal(r, 0);
	assert_string_equal(t, "");
	free(t);
	vf_kmod_set_release(&s);
}

/* The same modules added in another order give the same load order. */
static void test_deterministic(void **state)
{
	static const char *const want[] = { "dm-verity", "ext4" };
	const char *rev[N_PKG];
	struct vf_kmod_set a, b;
	struct vf_err err;
	char *ta, *tb;
	int r;

	(void)state;
	for (size_t i = 0; i < N_PKG; i++)
		rev[i] = PKG[N_PKG - 1 - i];
	make_set(&a, PKG, N_PKG);
	make_set(&b, rev, N_PKG);
	ta = resolve(&a, want, 2, &r, &err);
	assert_int_equal(r, 0);
	tb = resolve(&b, want, 2, &r, &err);
	assert_int_equal(r, 0);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	vf_kmod_set_release(&a);
	vf_kmod_set_release(&b);
}

static void test_missing(void **state)
{
	static const char *const no[] = { "ext4", "nosuch" };
	static const char *const dep[] = { "dm-verity" };
	static const char *const bad[] = { "dm verity" };
	const char *pkg[N_PKG];
	struct vf_kmod_set s;
	struct vf_err err;
	size_t n = 0;
	char *t;
	int r;

	(void)state;
	make_set(&s, PKG, N_PKG);
	t = resolve(&s, no, 2, &r, &err);
	free(t);
	assert_int_equal(r, -ENOENT);
	vf_test_assert_contains(err.msg, "module 'nosuch' is not in the kernel package 'k.deb'");
	t = resolve(&s, bad, 1, &r, &err);
	free(t);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "'dm verity' is not a module name");
	vf_kmod_set_release(&s);
	/* without dm-bufio */
	for (size_t i = 0; i < N_PKG; i++)
		if (!strstr(PKG[i], "dm-bufio.ko"))
			pkg[n++] = PKG[i];
	make_set(&s, pkg, n);
	t = resolve(&s, dep, 1, &r, &err);
	free(t);
	assert_int_equal(r, -ENOENT);
	vf_test_assert_contains(err.msg, "module 'dm-verity': depends on 'dm-bufio', which is not "
				"in the kernel package 'k.deb'");
	vf_kmod_set_release(&s);
}

static void test_cycles(void **state)
{
	static const char *const cyc[] = { "a.ko:b", "b.ko:c", "c.ko:a", "d.ko:a" };
	static const char *const self[] = { "s.ko:s" };
	static const char *const wd[] = { "d" };
	static const char *const ws[] = { "s" };
	struct vf_kmod_set s;
	struct vf_err err;
	char *t;
	int r;

	(void)state;
	make_set(&s, cyc, 4);
	t = resolve(&s, wd, 1, &r, &err);
	free(t);
	assert_int_equal(r, -ELOOP);
	vf_test_assert_contains(err.msg, "module 'a': dependency cycle: a -> b -> c -> a");
	vf_kmod_set_release(&s);
	make_set(&s, self, 1);
	t = resolve(&s, ws, 1, &r, &err);
	free(t);
	assert_int_equal(r, -ELOOP);
	vf_test_assert_contains(err.msg, "module 's': dependency cycle: s -> s");
	vf_kmod_set_release(&s);
}

static void test_limits(void **state)
{
	char specs[VF_KMOD_MAX_ORDER + 1][32];
	const char *ptr[VF_KMOD_MAX_ORDER + 1];
	static const char *const w[] = { "m0" };
	struct vf_kmod_set s;
	struct vf_err err;
	char *t;
	int r;

	(void)state;
	/* a chain m0 -> m1 -> ... deeper than allowed */
	for (int i = 0; i <= VF_KMOD_MAX_ORDER; i++) {
		if (i < VF_KMOD_MAX_ORDER)
			snprintf(specs[i], sizeof(specs[i]), "m%d.ko:m%d", i, i + 1);
		else
			snprintf(specs[i], sizeof(specs[i]), "m%d.ko", i);
		ptr[i] = specs[i];
	}
	make_set(&s, ptr, VF_KMOD_MAX_ORDER + 1);
	t = resolve(&s, w, 1, &r, &err);
	free(t);
	assert_int_equal(r, -ELOOP);
	vf_test_assert_contains(err.msg, "dependency chain deeper than 64");
	vf_kmod_set_release(&s);
	/* a wide fan-out: more than an initramfs holds */
	{
		for (int i = 1; i <= VF_KMOD_MAX_ORDER; i++)
			snprintf(specs[i], sizeof(specs[i]), "m%d.ko", i);
		vf_kmod_set_init(&s, "k.deb", NULL, NULL);
		/* m0 depends on m1..m100 (make_set caps the deps at 16: by hand) */
		{
			char *deps[VF_KMOD_MAX_ORDER];
			char names[VF_KMOD_MAX_ORDER][16];

			for (int i = 0; i < VF_KMOD_MAX_ORDER; i++) {
				snprintf(names[i], sizeof(names[i]), "m%d", i + 1);
				deps[i] = names[i];
			}
			assert_int_equal(vf_kmod_set_add(&s, "m0.ko", (const char *const *)deps,
							 VF_KMOD_MAX_ORDER, true, NULL, &err), 0);
			for (int i = 1; i <= VF_KMOD_MAX_ORDER; i++)
				assert_int_equal(vf_kmod_set_add(&s, specs[i], NULL, 0, true, NULL,
								 &err), 0);
		}
		t = resolve(&s, w, 1, &r, &err);
		free(t);
		assert_int_equal(r, -E2BIG);
		vf_test_assert_contains(err.msg, "more than the 100 an initramfs holds");
		vf_kmod_set_release(&s);
	}
}

static void test_duplicates_and_files(void **state)
{
	static const char *const dup[] = { "lib/modules/a/x/dm-mod.ko", "lib/modules/a/y/dm_mod.ko" };
	static const char *const w[] = { "dm-mod" };
	struct vf_kmod_set s;
	struct vf_err err = { 0 };
	char *t;
	int r;

	(void)state;
	make_set(&s, dup, 2);
	t = resolve(&s, w, 1, &r, &err);
	free(t);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "module 'dm-mod' is in the kernel package 'k.deb' twice: "
				"'lib/modules/a/x/dm-mod.ko' and 'lib/modules/a/y/dm_mod.ko'");
	assert_int_equal(vf_kmod_set_add(&s, "lib/x/readme.txt", NULL, 0, true, NULL, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "module file 'lib/x/readme.txt': expected <name>.ko");
	assert_int_equal(vf_kmod_set_add(&s, "lib/x/a b.ko", NULL, 0, true, NULL, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "'a b' is not a module name");
	assert_int_equal(vf_kmod_set_add(&s, "lib/x/.ko", NULL, 0, true, NULL, &err), -EINVAL);
	vf_kmod_set_release(&s);
}

/* Dependencies read on demand, once per module, only for the modules needed. */
struct loads {
	int calls[8];
};

static int load_fn(void *ctx, struct vf_kmod_set *set, struct vf_kmod *k, struct vf_err *err)
{
	struct loads *l = ctx;

	(void)set;
	l->calls[k->name[0] - 'a']++;
	if (strcmp(k->name, "a") == 0) {
		k->depends = calloc(1, sizeof(char *));
		k->depends[0] = strdup("b");
		k->n_depends = 1;
	}
	if (strcmp(k->name, "c") == 0)
		return vf_err_set(err, EINVAL, "module file 'c.ko': no .modinfo section");
	return 0;
}

static void test_lazy_load(void **state)
{
	static const char *const w[] = { "a", "b" };
	static const char *const wc[] = { "c" };
	struct loads l = { { 0 } };
	struct vf_kmod_set s;
	size_t *order = NULL, n = 0;
	struct vf_err err = { 0 };

	(void)state;
	vf_kmod_set_init(&s, "k.deb", load_fn, &l);
	assert_int_equal(vf_kmod_set_add(&s, "a.ko", NULL, 0, false, NULL, &err), 0);
	assert_int_equal(vf_kmod_set_add(&s, "b.ko", NULL, 0, false, NULL, &err), 0);
	assert_int_equal(vf_kmod_set_add(&s, "c.ko", NULL, 0, false, NULL, &err), 0);
	assert_int_equal(vf_kmod_resolve(&s, w, 2, &order, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s.mods[order[0]].name, "b");
	assert_string_equal(s.mods[order[1]].name, "a");
	assert_int_equal(l.calls[0], 1);
	assert_int_equal(l.calls[1], 1);
	assert_int_equal(l.calls[2], 0);
	free(order);
	order = NULL;
	assert_int_equal(vf_kmod_resolve(&s, wc, 1, &order, &n, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "module file 'c.ko': no .modinfo section");
	assert_null(order);
	vf_kmod_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_duplicates_and_files),
		cmocka_unit_test(test_lazy_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
