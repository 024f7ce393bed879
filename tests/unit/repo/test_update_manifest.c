/* repo/update_manifest: SemVer precedence, wave plans (default and from a
 * file), the manifest's strict parser and deterministic format, add_update
 * with max_version, wave readiness at the boundaries and the updater's
 * choice of update. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/update_manifest.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-01-01T00:00:00Z */
#define T0 ((time_t)1767225600)
#define HOUR 3600
#define DAY 86400

/* ---- helpers ------------------------------------------------------------------------ */

static struct vf_update_manifest *parse_ok(const char *text)
{
	struct vf_update_manifest *m = NULL;
	struct vf_err err = { 0 };

	if (vf_update_manifest_parse(text, strlen(text), &m, &err))
		fail_msg("parse: %s\n%s", err.msg, text);
	assert_non_null(m);
	return m;
}

static void parse_fails(const char *text, int code, const char *msg)
{
	struct vf_update_manifest *m = (struct vf_update_manifest *)1;
	struct vf_err err = { 0 };
	int r = vf_update_manifest_parse(text, strlen(text), &m, &err);

	if (r != code)
		fail_msg("expected %d, got %d (%s) for\n%s", code, r, err.msg, text);
	assert_null(m);
	vf_test_assert_contains(err.msg, msg);
}

static char *format_ok(const struct vf_update_manifest *m)
{
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };

	if (vf_update_manifest_format(m, &b, &err))
		fail_msg("format: %s", err.msg);
	return (char *)b.data;
}

static void wave_time(const struct vf_wave *w, char out[32])
{
	assert_int_equal(vf_waves_format_time(w->time, w->nsec, out), 0);
}

/* An update of `variant`/`arch`/`version` with image names derived from them. */
struct upd {
	struct vf_update u;
	char boot[128], root[128], hash[128];
};

static const struct vf_update *make_update(struct upd *x, const char *variant, const char *arch,
					   const char *version, const char *max,
					   const struct vf_waves *waves)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->boot, sizeof(x->boot), "%s-%s-%s-boot.ext4.zst", variant, arch, version);
	snprintf(x->root, sizeof(x->root), "%s-%s-%s-root.ext4.zst", variant, arch, version);
	snprintf(x->hash, sizeof(x->hash), "%s-%s-%s-root.verity.zst", variant, arch, version);
	x->u.variant = (char *)variant;
	x->u.arch = (char *)arch;
	x->u.version = (char *)version;
	x->u.max_version = (char *)max;
	if (waves)
		x->u.waves = *waves;
	x->u.images.boot = x->boot;
	x->u.images.root = x->root;
	x->u.images.hash = x->hash;
	return &x->u;
}

static void add_ok(struct vf_update_manifest *m, const char *variant, const char *arch,
		   const char *version, const char *max, const struct vf_waves *waves)
{
	struct vf_err err = { 0 };
	struct upd x;

	if (vf_update_manifest_add_update(m, make_update(&x, variant, arch, version, max, waves),
					  &err))
		fail_msg("add %s %s %s: %s", variant, arch, version, err.msg);
}

static const char *max_of(const struct vf_update_manifest *m, const char *variant,
			  const char *arch, const char *version)
{
	const struct vf_update *u = vf_update_manifest_find(m, variant, arch, version);

	assert_non_null(u);
	return u->max_version;
}

/* ---- SemVer ------------------------------------------------------------------------- */

static void test_semver_check(void **state)
{
	static const char *const good[] = {
		"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
		"1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0+20130313144700",
		"1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD", "1.0.0-0A",
		"1.0.0+001", "99999999999999999999.0.0",
	};
	static const char *const bad[] = {
		"", "1", "1.0", "1.0.0.0", "01.0.0", "1.00.0", "1.0.00", "v1.0.0", " 1.0.0",
		"1.0.0 ", "1.0.0-", "1.0.0+", "1.0.0-01", "1.0.0-a..b", "1.0.0-a.", "1.0.0+a..b",
		"1.0.0-a_b", "1.0.0+a+b", "-1.0.0", "1.0.x", "1.0.0-ü",
	};
	char longv[VF_UPDATE_VERSION_MAX + 2];
	struct vf_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (vf_update_manifest_version_check(good[i], &err))
			fail_msg("refused %s: %s", good[i], err.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vf_err_clear(&err);
		if (vf_update_manifest_version_check(bad[i], &err) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		vf_test_assert_containsf(err.msg, "\"%s\": expected a SemVer 2.0 version", bad[i]);
	}
	/* the length limit: 256 bytes pass, 257 do not */
	memset(longv, 0, sizeof(longv));
	memcpy(longv, "1.0.0-", 6);
	memset(longv + 6, 'a', VF_UPDATE_VERSION_MAX - 6);
	assert_int_equal(vf_update_manifest_version_check(longv, NULL), 0);
	longv[VF_UPDATE_VERSION_MAX] = 'a';
	assert_int_equal(vf_update_manifest_version_check(longv, NULL), -EINVAL);
}

static void test_semver_compare(void **state)
{
	/* increasing precedence, SemVer 2.0.0 section 11's example and more */
	static const char *const order[] = {
		"0.9.9", "1.0.0-0", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1",
		"1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
		"1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.9.0", "1.10.0", "1.10.1-rc.1", "1.10.1",
		"2.0.0", "10.0.0", "18446744073709551616.0.0", "100000000000000000000.0.0",
	};
	size_t n = sizeof(order) / sizeof(order[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int c = vf_update_manifest_version_compare(order[i], order[j]);
			int want = (i > j) - (i < j);

			if (c != want)
				fail_msg("compare(%s, %s) = %d, expected %d", order[i], order[j], c,
					 want);
		}
	}
	/* build metadata does not count */
	assert_int_equal(vf_update_manifest_version_compare("1.0.0+a", "1.0.0+b"), 0);
	assert_int_equal(vf_update_manifest_version_compare("1.0.0-rc.1+x", "1.0.0-rc.1"), 0);
	assert_true(vf_update_manifest_version_compare("1.0.0-rc.1+zzz", "1.0.0") < 0);
	/* a numeric identifier below an alphanumeric one that starts with digits */
	assert_true(vf_update_manifest_version_compare("1.0.0-999", "1.0.0-1a") < 0);
	/* invalid text sorts before valid text (a programmer error, but deterministic) */
	assert_true(vf_update_manifest_version_compare("1.0", "0.0.1") < 0);
	assert_true(vf_update_manifest_version_compare("0.0.1", "1.0") > 0);
}

/* ---- waves -------------------------------------------------------------------------- */

static void test_default_waves(void **state)
{
	static const uint32_t seeds[] = { 0, 20, 102, 307, 819, 1228, 1843 };
	static const char *const times[] = {
		"2026-01-01T01:00:00Z", "2026-01-01T04:00:00Z", "2026-01-02T00:00:00Z",
		"2026-01-03T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z",
		"2026-01-07T00:00:00Z",
	};
	struct vf_waves w;
	struct vf_err err = { 0 };
	char t[32];

	(void)state;
	vf_waves_init(&w);
	assert_int_equal(vf_waves_build_default(T0, &w, &err), 0);
	assert_int_equal(w.n, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(w.v[i].seed, seeds[i]);
		assert_int_equal(w.v[i].nsec, 0);
		wave_time(&w.v[i], t);
		assert_string_equal(t, times[i]);
	}
	assert_int_equal(w.v[0].time, T0 + HOUR);
	assert_int_equal(w.v[6].time, T0 + 6 * DAY);
	/* a start so late that the plan leaves year 9999 */
	assert_int_equal(vf_waves_build_default((time_t)253402300799LL, &w, &err), -ERANGE);
	vf_test_assert_contains(err.msg, "waves[0]: time");
	assert_int_equal(w.n, 7); /* unchanged on failure */
	vf_waves_release(&w);
	assert_null(w.v);
	assert_int_equal(w.n, 0);
}

static void test_waves_build(void **state)
{
	struct vf_waves_step steps[] = {
		{ T0, 3 }, { T0 + 10, 12 }, { T0 + 20, 40 }, { T0 + 30, 80 }, { T0 + 40, 100 },
	};
	struct vf_waves w;
	struct vf_err err = { 0 };

	(void)state;
	vf_waves_init(&w);
	/* accelerated-waves.toml's percentages: keys from the previous percentage */
	assert_int_equal(vf_waves_build(steps, 5, &w, &err), 0);
	assert_int_equal(w.n, 5);
	assert_int_equal(w.v[0].seed, 0);
	assert_int_equal(w.v[1].seed, 61);   /* 3 % of 2048 = 61.44 */
	assert_int_equal(w.v[2].seed, 245);  /* 12 % = 245.76 */
	assert_int_equal(w.v[3].seed, 819);  /* 40 % = 819.2 */
	assert_int_equal(w.v[4].seed, 1638); /* 80 % = 1638.4 */
	assert_int_equal(w.v[4].time, T0 + 40);
	/* one wave of 100 %: everyone, from its time */
	assert_int_equal(vf_waves_build(&steps[4], 1, &w, &err), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.v[0].seed, 0);
	assert_int_equal(vf_waves_build(steps, 0, &w, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "at least one wave");
	vf_waves_release(&w);
}

static struct vf_waves plan_ok(const char *json)
{
	struct vf_waves w;
	struct vf_err err = { 0 };

	vf_waves_init(&w);
	if (vf_waves_parse_plan(json, strlen(json), T0, &w, &err))
		fail_msg("plan %s: %s", json, err.msg);
	return w;
}

static void test_waves_plan_good(void **state)
{
	struct vf_waves w;
	char t[32];

	(void)state;
	w = plan_ok("{\"waves\": [{\"start_after\": \"30m\", \"fleet_percentage\": 5},"
		    " {\"fleet_percentage\": 50, \"start_after\": \"2026-01-01T02:00:00+01:00\"},"
		    " {\"start_after\": \"1d12h\", \"fleet_percentage\": 100}]}");
	assert_int_equal(w.n, 3);
	assert_int_equal(w.v[0].seed, 0);
	assert_int_equal(w.v[0].time, T0 + 1800);
	assert_int_equal(w.v[1].seed, 102);
	assert_int_equal(w.v[1].time, T0 + HOUR);
	wave_time(&w.v[1], t);
	assert_string_equal(t, "2026-01-01T01:00:00Z");
	assert_int_equal(w.v[2].seed, 1024);
	assert_int_equal(w.v[2].time, T0 + DAY + 12 * HOUR);
	vf_waves_release(&w);

	/* the shipped default plan written as a file gives the default waves */
	{
		struct vf_waves d;

		w = plan_ok("{\"waves\":[{\"start_after\":\"1h\",\"fleet_percentage\":1},"
			    "{\"start_after\":\"4h\",\"fleet_percentage\":5},"
			    "{\"start_after\":\"1d\",\"fleet_percentage\":15},"
			    "{\"start_after\":\"2d\",\"fleet_percentage\":40},"
			    "{\"start_after\":\"4d\",\"fleet_percentage\":60},"
			    "{\"start_after\":\"5d\",\"fleet_percentage\":90},"
			    "{\"start_after\":\"6d\",\"fleet_percentage\":100}]}");
		vf_waves_init(&d);
		assert_int_equal(vf_waves_build_default(T0, &d, NULL), 0);
		assert_int_equal(w.n, d.n);
		assert_memory_equal(w.v, d.v, d.n * sizeof(*d.v));
		vf_waves_release(&d);
		vf_waves_release(&w);
	}
}

static void test_waves_plan_bad(void **state)
{
#define W(a, p) "{\"start_after\": \"" a "\", \"fleet_percentage\": " #p "}"
	static const struct { const char *json; int code; const char *msg; } cases[] = {
		{ "{\"waves\": [", -EINVAL, "line 1, column 12" },
		{ "[]", -EINVAL, "expected an object {\"waves\": [...]}" },
		{ "{\"waves\": []}", -EINVAL, "waves: expected an array of 1 to 100 waves" },
		{ "{\"waves\": {}}", -EINVAL, "waves: expected an array of 1 to 100 waves" },
		{ "{\"wave\": [" W("1h", 100) "]}", -EINVAL, "top level: unknown member \"wave\"" },
		{ "{}", -EINVAL, "top level: missing member \"waves\"" },
		{ "{\"waves\": [3]}", -EINVAL, "waves[0]: expected an object" },
		{ "{\"waves\": [{\"start_after\": \"1h\"}]}", -EINVAL,
		  "waves[0]: missing member \"fleet_percentage\"" },
		{ "{\"waves\": [{\"start_after\": \"1h\", \"fleet_percentage\": 100, \"x\": 1}]}",
		  -EINVAL, "waves[0]: unknown member \"x\"" },
		{ "{\"waves\": [" W("1h", 50) ", {\"start_after\": 7200, \"fleet_percentage\": 100}]}",
		  -EINVAL, "waves[1].start_after: expected a string" },
		{ "{\"waves\": [" W("1 hour", 100) "]}", -EINVAL,
		  "waves[0].start_after: \"1 hour\": expected a duration" },
		{ "{\"waves\": [" W("2026-01-01T01:00:00.5Z", 100) "]}", -EINVAL,
		  "waves[0].start_after: \"2026-01-01T01:00:00.5Z\": fractional seconds" },
		{ "{\"waves\": [" W("1h", 0) "]}", -EINVAL,
		  "waves[0].fleet_percentage: expected an integer from 1 to 100" },
		{ "{\"waves\": [" W("1h", 101) "]}", -EINVAL,
		  "waves[0].fleet_percentage: expected an integer from 1 to 100" },
		{ "{\"waves\": [{\"start_after\": \"1h\", \"fleet_percentage\": \"100\"}]}", -EINVAL,
		  "waves[0].fleet_percentage: expected an integer" },
		{ "{\"waves\": [" W("1h", 100.0) "]}", -EINVAL, "line 1" },
		{ "{\"waves\": [" W("1h", 50) ", " W("2h", 40) ", " W("3h", 100) "]}", -EINVAL,
		  "waves[1]: fleet_percentage 40 is not above waves[0]'s 50" },
		{ "{\"waves\": [" W("1h", 50) ", " W("1h", 100) "]}", -EINVAL,
		  "waves[1]: time 2026-01-01T01:00:00Z is not after waves[0]'s "
		  "2026-01-01T01:00:00Z" },
		{ "{\"waves\": [" W("2h", 50) ", " W("2026-01-01T01:00:00Z", 100) "]}", -EINVAL,
		  "waves[1]: time 2026-01-01T01:00:00Z is not after waves[0]'s "
		  "2026-01-01T02:00:00Z" },
		{ "{\"waves\": [" W("1h", 50) ", " W("2h", 90) "]}", -EINVAL,
		  "waves[1]: the last wave must reach fleet_percentage 100, got 90" },
		{ "{\"waves\": [" W("1h", 100) "], \"waves\": []}", -EINVAL, "duplicate" },
	};
#undef W
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vf_waves w = { NULL, 0 };
		struct vf_err err = { 0 };
		int r = vf_waves_parse_plan(cases[i].json, strlen(cases[i].json), T0, &w, &err);

		if (r != cases[i].code)
			fail_msg("case %zu: expected %d, got %d (%s)", i, cases[i].code, r, err.msg);
		vf_test_assert_contains(err.msg, cases[i].msg);
		assert_null(w.v);
	}
}

/* ---- readiness ---------------------------------------------------------------------- */

static void assert_ready_at(const struct vf_waves *w, uint32_t seed, time_t want)
{
	time_t t = 0;

	if (!vf_waves_get_ready_time(w, seed, &t))
		fail_msg("seed %u: always ready, expected %lld", seed, (long long)want);
	if (t != want)
		fail_msg("seed %u: ready at T0%+lld, expected T0%+lld", seed, (long long)(t - T0),
			 (long long)(want - T0));
	assert_false(vf_waves_is_ready(w, seed, want - 1));
	assert_true(vf_waves_is_ready(w, seed, want));
	assert_true(vf_waves_is_ready(w, seed, want + 1));
}

static void test_ready(void **state)
{
	struct vf_waves w, empty = { NULL, 0 };
	time_t t;

	(void)state;
	vf_waves_init(&w);
	assert_int_equal(vf_waves_build_default(T0, &w, NULL), 0);
	/* seed 0 is the initial wave: ready at once, even before its wave's time */
	assert_false(vf_waves_get_ready_time(&w, 0, &t));
	assert_true(vf_waves_is_ready(&w, 0, 0));
	/* at each wave's seed: exactly its time */
	assert_ready_at(&w, 20, T0 + 4 * HOUR);
	assert_ready_at(&w, 102, T0 + DAY);
	assert_ready_at(&w, 307, T0 + 2 * DAY);
	assert_ready_at(&w, 819, T0 + 4 * DAY);
	assert_ready_at(&w, 1228, T0 + 5 * DAY);
	assert_ready_at(&w, 1843, T0 + 6 * DAY);
	/* inside a wave: (seed - start_seed) / (end_seed - start_seed) of its span */
	assert_ready_at(&w, 1, T0 + HOUR + 3 * HOUR / 20);               /* 1h09m */
	assert_ready_at(&w, 10, T0 + HOUR + 3 * HOUR * 10 / 20);         /* 2h30m */
	assert_ready_at(&w, 21, T0 + 4 * HOUR + 20 * HOUR / 82);         /* floor(72000/82) = 878 s */
	assert_ready_at(&w, 101, T0 + 4 * HOUR + 20 * HOUR * 81 / 82);
	assert_ready_at(&w, 103, T0 + DAY + DAY / 205);
	assert_ready_at(&w, 1229, T0 + 5 * DAY + DAY / 615);
	/* Bottlerocket's absolute-seed product would put seed 21 at 4h + 72000 * 21 / 82 s */
	assert_true(vf_waves_is_ready(&w, 21, T0 + 4 * HOUR + 72000 / 82));
	/* above the last wave's seed: the last wave's time */
	assert_ready_at(&w, 1844, T0 + 6 * DAY);
	assert_ready_at(&w, 2047, T0 + 6 * DAY);
	assert_ready_at(&w, 2048, T0 + 6 * DAY);
	/* no waves: always ready */
	assert_false(vf_waves_get_ready_time(&empty, 1000, &t));
	assert_true(vf_waves_is_ready(&empty, 1000, 0));
	vf_waves_release(&w);

	/* a first wave above seed 0 (a hand-written manifest): seeds up to it at once */
	{
		struct vf_wave v[] = { { 100, T0, 0 }, { 200, T0 + 1000, 0 } };
		struct vf_waves h = { v, 2 };

		assert_false(vf_waves_get_ready_time(&h, 100, &t));
		assert_ready_at(&h, 101, T0 + 10);
		assert_ready_at(&h, 150, T0 + 500);
		assert_ready_at(&h, 200, T0 + 1000);
	}
	/* fractions of a second count as the next second */
	{
		struct vf_wave v[] = { { 0, T0, 500000000 }, { 20, T0 + 100, 0 },
				       { 40, T0 + 200, 1 } };
		struct vf_waves h = { v, 3 };

		assert_ready_at(&h, 10, T0 + 1 + 99 * 10 / 20);
		assert_ready_at(&h, 40, T0 + 201);
		assert_ready_at(&h, 41, T0 + 201);
	}
}

/* ---- add_update and max_version --------------------------------------------------------- */

static void test_add_update(void **state)
{
	struct vf_update_manifest *m = vf_update_manifest_new();
	struct vf_err err = { 0 };
	struct vf_waves w;
	struct upd x;

	(void)state;
	assert_non_null(m);
	vf_waves_init(&w);
	assert_int_equal(vf_waves_build_default(T0, &w, NULL), 0);
	add_ok(m, "demo", "x86_64", "1.0.0", NULL, &w);
	assert_string_equal(max_of(m, "demo", "x86_64", "1.0.0"), "1.0.0");
	add_ok(m, "demo", "aarch64", "1.0.0", NULL, &w);
	add_ok(m, "other", "x86_64", "2.0.0", NULL, &w);
	/* a newer version raises max_version of demo/x86_64 only */
	add_ok(m, "demo", "x86_64", "1.1.0", NULL, &w);
	assert_string_equal(max_of(m, "demo", "x86_64", "1.0.0"), "1.1.0");
	assert_string_equal(max_of(m, "demo", "x86_64", "1.1.0"), "1.1.0");
	assert_string_equal(max_of(m, "demo", "aarch64", "1.0.0"), "1.0.0");
	assert_string_equal(max_of(m, "other", "x86_64", "2.0.0"), "2.0.0");
	/* an older version keeps the greater max_version (1.10.0 > 1.9.0, numerically) */
	add_ok(m, "demo", "x86_64", "1.10.0", NULL, &w);
	add_ok(m, "demo", "x86_64", "1.9.0", NULL, &w);
	assert_string_equal(max_of(m, "demo", "x86_64", "1.9.0"), "1.10.0");
	assert_string_equal(max_of(m, "demo", "x86_64", "1.0.0"), "1.10.0");
	/* an explicit lower max_version pulls releases back, for demo/x86_64 only */
	add_ok(m, "demo", "x86_64", "1.11.0", "1.1.0", &w);
	for (size_t i = 0; i < m->n_updates; i++) {
		const struct vf_update *u = &m->updates[i];

		if (!strcmp(u->variant, "demo") && !strcmp(u->arch, "x86_64"))
			assert_string_equal(u->max_version, "1.1.0");
	}
	assert_string_equal(max_of(m, "demo", "aarch64", "1.0.0"), "1.0.0");
	assert_string_equal(max_of(m, "other", "x86_64", "2.0.0"), "2.0.0");
	assert_int_equal(m->n_updates, 7);
	/* the copy is independent of the caller's waves */
	assert_int_equal(m->updates[0].waves.n, 7);
	assert_true(m->updates[0].waves.v != w.v);

	/* duplicates: the same version, or the same precedence with other build metadata */
	assert_int_equal(vf_update_manifest_add_update(m, make_update(&x, "demo", "x86_64", "1.1.0",
								      NULL, &w), &err), -EEXIST);
	vf_test_assert_contains(err.msg, "variant demo, arch x86_64: version 1.1.0 is already in "
				"the manifest");
	assert_int_equal(vf_update_manifest_add_update(m, make_update(&x, "demo", "x86_64",
								      "1.1.0+b7", NULL, &w), &err),
			 -EEXIST);
	vf_test_assert_contains(err.msg, "version 1.1.0+b7 is already in the manifest (as 1.1.0)");
	assert_int_equal(m->n_updates, 7);
	assert_string_equal(max_of(m, "demo", "x86_64", "1.0.0"), "1.1.0");
	/* refused fields name themselves */
	assert_int_equal(vf_update_manifest_add_update(m, make_update(&x, "demo", "x86_64", "1.2",
								      NULL, &w), &err), -EINVAL);
	vf_test_assert_contains(err.msg, "update: version: \"1.2\": expected a SemVer");
	assert_int_equal(vf_update_manifest_add_update(m, make_update(&x, "demo", "x86_64", "1.2.0",
								      "latest", &w), &err), -EINVAL);
	vf_test_assert_contains(err.msg, "update: max_version: \"latest\"");
	make_update(&x, "demo", "x86_64", "1.2.0", NULL, &w);
	x.u.images.hash = (char *)"../etc/passwd";
	assert_int_equal(vf_update_manifest_add_update(m, &x.u, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "update: images.hash: target name '../etc/passwd'");
	make_update(&x, "", "x86_64", "1.2.0", NULL, &w);
	assert_int_equal(vf_update_manifest_add_update(m, &x.u, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "update: variant: expected a non-empty string");
	make_update(&x, "demo", "x86\n64", "1.2.0", NULL, &w);
	assert_int_equal(vf_update_manifest_add_update(m, &x.u, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "update: arch \"x86\n64\": control character 0x0a");
	{
		struct vf_wave v[] = { { 0, T0 + 10, 0 }, { 20, T0 + 5, 0 } };
		struct vf_waves bad = { v, 2 };

		make_update(&x, "demo", "x86_64", "1.2.0", NULL, &bad);
		assert_int_equal(vf_update_manifest_add_update(m, &x.u, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "update: waves: seed 20: time 2026-01-01T00:00:05Z "
					"is not after seed 0's 2026-01-01T00:00:10Z");
		v[1].time = T0 + 20;
		v[1].seed = 2049;
		assert_int_equal(vf_update_manifest_add_update(m, &x.u, &err), -ERANGE);
		vf_test_assert_contains(err.msg, "update: waves: seed 2049: expected 0 to 2048");
	}
	assert_int_equal(m->n_updates, 7);
	vf_waves_release(&w);
	vf_update_manifest_free(m);
	vf_update_manifest_free(NULL);
}

/* ---- parse and format ------------------------------------------------------------------- */

/* A manifest as Bottlerocket's pubsys writes it (fractions, seeds in numeric order, a
 * migration key without the space), hand-written. */
static const char bottlerocket_manifest[] =
	"{\n"
	"  \"updates\": [\n"
	"    {\n"
	"      \"variant\": \"aws-k8s-1.31\",\n"
	"      \"arch\": \"x86_64\",\n"
	"      \"version\": \"1.26.1\",\n"
	"      \"max_version\": \"1.26.1\",\n"
	"      \"waves\": {\n"
	"        \"0\": \"2024-10-24T19:00:00.123456789Z\",\n"
	"        \"20\": \"2024-10-24T22:00:00.120Z\",\n"
	"        \"102\": \"2024-10-25T18:00:00.5Z\",\n"
	"        \"307\": \"2024-10-26T18:00:00Z\",\n"
	"        \"819\": \"2024-10-28T20:00:00+02:00\",\n"
	"        \"1228\": \"2024-10-29t18:00:00z\",\n"
	"        \"1843\": \"2024-10-30T18:00:00Z\"\n"
	"      },\n"
	"      \"images\": {\n"
	"        \"boot\": \"bottlerocket-aws-k8s-1.31-x86_64-1.26.1-91632ff5-boot.ext4.lz4\",\n"
	"        \"root\": \"bottlerocket-aws-k8s-1.31-x86_64-1.26.1-91632ff5-root.ext4.lz4\",\n"
	"        \"hash\": \"bottlerocket-aws-k8s-1.31-x86_64-1.26.1-91632ff5-root.verity.lz4\"\n"
	"      }\n"
	"    },\n"
	"    {\n"
	"      \"variant\": \"aws-k8s-1.31\", \"arch\": \"aarch64\", \"version\": \"1.26.0\",\n"
	"      \"max_version\": \"1.26.0\", \"waves\": {},\n"
	"      \"images\": { \"boot\": \"a-boot\", \"root\": \"a-root\", \"hash\": \"a-hash\" }\n"
	"    }\n"
	"  ],\n"
	"  \"migrations\": {\n"
	"    \"(1.25.0,1.26.0)\": [],\n"
	"    \"(1.24.1, 1.25.0)\": [\"migrate_v1.25.0_kubernetes-service-config.lz4\",\n"
	"                          \"migrate_v1.25.0_aws-config.lz4\"],\n"
	"    \"(1.9.0,   1.10.0)\": [\"migrate_v1.10.0_x.lz4\"]\n"
	"  }\n"
	"}\n";

static void test_parse_bottlerocket(void **state)
{
	struct vf_update_manifest *m = parse_ok(bottlerocket_manifest);
	const struct vf_update *u = &m->updates[0];
	char t[32], *text, *again;
	struct vf_update_manifest *m2;

	(void)state;
	assert_int_equal(m->n_updates, 2);
	assert_string_equal(u->variant, "aws-k8s-1.31");
	assert_string_equal(u->arch, "x86_64");
	assert_string_equal(u->version, "1.26.1");
	assert_string_equal(u->max_version, "1.26.1");
	assert_string_equal(u->images.hash,
			    "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-91632ff5-root.verity.lz4");
	assert_int_equal(u->waves.n, 7);
	assert_int_equal(u->waves.v[0].seed, 0);
	assert_int_equal(u->waves.v[0].nsec, 123456789);
	assert_int_equal(u->waves.v[1].seed, 20);
	assert_int_equal(u->waves.v[1].nsec, 120000000);
	assert_int_equal(u->waves.v[2].nsec, 500000000);
	assert_int_equal(u->waves.v[6].seed, 1843);
	wave_time(&u->waves.v[0], t);
	assert_string_equal(t, "2024-10-24T19:00:00.123456789Z");
	wave_time(&u->waves.v[1], t);
	assert_string_equal(t, "2024-10-24T22:00:00.120Z");
	wave_time(&u->waves.v[4], t); /* the offset is normalised to UTC */
	assert_string_equal(t, "2024-10-28T18:00:00Z");
	wave_time(&u->waves.v[5], t);
	assert_string_equal(t, "2024-10-29T18:00:00Z");
	assert_int_equal(m->updates[1].waves.n, 0);
	/* migrations: sorted by (from, to) precedence, 1.9.0 before 1.24.1 */
	assert_int_equal(m->n_migrations, 3);
	assert_string_equal(m->migrations[0].from, "1.9.0");
	assert_string_equal(m->migrations[0].to, "1.10.0");
	assert_string_equal(m->migrations[1].from, "1.24.1");
	assert_int_equal(m->migrations[1].n_names, 2);
	assert_string_equal(m->migrations[1].names[1], "migrate_v1.25.0_aws-config.lz4");
	assert_string_equal(m->migrations[2].to, "1.26.0");
	assert_int_equal(m->migrations[2].n_names, 0);

	/* formatted: normalised keys and times, and a fixed point */
	text = format_ok(m);
	vf_test_assert_contains(text, "\"(1.25.0, 1.26.0)\": []");
	vf_test_assert_contains(text, "\"(1.9.0, 1.10.0)\": [\n      \"migrate_v1.10.0_x.lz4\"\n    ]");
	vf_test_assert_contains(text, "\"102\": \"2024-10-25T18:00:00.500Z\"");
	vf_test_assert_contains(text, "\"819\": \"2024-10-28T18:00:00Z\"");
	assert_true(strstr(text, "\"(1.9.0") < strstr(text, "\"(1.24.1"));
	assert_true(strstr(text, "\"20\":") < strstr(text, "\"102\":"));
	m2 = parse_ok(text);
	again = format_ok(m2);
	assert_string_equal(again, text);
	free(again);
	free(text);
	vf_update_manifest_free(m2);
	vf_update_manifest_free(m);
}

/* The exact bytes of a small manifest: key order, indentation, final newline. */
static void test_format_golden(void **state)
{
	static const char want[] =
		"{\n"
		"  \"migrations\": {},\n"
		"  \"updates\": [\n"
		"    {\n"
		"      \"arch\": \"x86_64\",\n"
		"      \"images\": {\n"
		"        \"boot\": \"demo-x86_64-1.0.0-boot.ext4.zst\",\n"
		"        \"hash\": \"demo-x86_64-1.0.0-root.verity.zst\",\n"
		"        \"root\": \"demo-x86_64-1.0.0-root.ext4.zst\"\n"
		"      },\n"
		"      \"max_version\": \"1.0.0\",\n"
		"      \"variant\": \"demo\",\n"
		"      \"version\": \"1.0.0\",\n"
		"      \"waves\": {\n"
		"        \"0\": \"2026-01-01T01:00:00Z\",\n"
		"        \"20\": \"2026-01-01T04:00:00Z\",\n"
		"        \"102\": \"2026-01-02T00:00:00Z\",\n"
		"        \"307\": \"2026-01-03T00:00:00Z\",\n"
		"        \"819\": \"2026-01-05T00:00:00Z\",\n"
		"        \"1228\": \"2026-01-06T00:00:00Z\",\n"
		"        \"1843\": \"2026-01-07T00:00:00Z\"\n"
		"      }\n"
		"    }\n"
		"  ]\n"
		"}\n";
	struct vf_update_manifest *m = vf_update_manifest_new(), *m2;
	struct vf_waves w;
	char *text, *text2;

	(void)state;
	vf_waves_init(&w);
	assert_int_equal(vf_waves_build_default(T0, &w, NULL), 0);
	text = format_ok(m);
	assert_string_equal(text, "{\n  \"migrations\": {},\n  \"updates\": []\n}\n");
	free(text);
	add_ok(m, "demo", "x86_64", "1.0.0", NULL, &w);
	text = format_ok(m);
	assert_string_equal(text, want);
	/* round trip: parse and format again, byte for byte */
	m2 = parse_ok(text);
	text2 = format_ok(m2);
	assert_string_equal(text2, text);
	free(text2);
	free(text);
	/* two updates, in the order they were added */
	add_ok(m2, "demo", "x86_64", "1.0.1-rc.1", NULL, NULL);
	text = format_ok(m2);
	assert_true(strstr(text, "\"version\": \"1.0.0\"") < strstr(text, "\"version\": \"1.0.1-rc.1\""));
	vf_test_assert_contains(text, "\"max_version\": \"1.0.1-rc.1\",\n      \"variant\": \"demo\",\n"
				"      \"version\": \"1.0.0\"");
	vf_test_assert_contains(text, "\"waves\": {}\n");
	vf_update_manifest_free(m);
	m = parse_ok(text);
	text2 = format_ok(m);
	assert_string_equal(text2, text);
	free(text2);
	free(text);
	vf_update_manifest_free(m2);
	vf_update_manifest_free(m);
	vf_waves_release(&w);
}

#define IMAGES "\"images\": {\"boot\": \"b\", \"root\": \"r\", \"hash\": \"h\"}"
#define UPDATE(fields) "{\"updates\": [{" fields "}], \"migrations\": {}}"
#define BASE "\"variant\": \"v\", \"arch\": \"x86_64\", \"version\": \"1.0.0\", " \
	     "\"max_version\": \"1.0.0\""
#define ONE(fields) UPDATE(BASE ", \"waves\": {}, " IMAGES fields)
#define WAVES(w) UPDATE(BASE ", \"waves\": {" w "}, " IMAGES)
#define MIGR(mg) "{\"updates\": [], \"migrations\": {" mg "}}"

static void test_parse_refused(void **state)
{
	static const struct { const char *json; int code; const char *msg; } cases[] = {
		{ "", -EINVAL, "line 1" },
		{ "[]", -EINVAL, "expected an object {\"updates\": [...], \"migrations\": {...}}" },
		{ "{\"updates\": []}", -EINVAL, "top level: missing member \"migrations\"" },
		{ "{\"migrations\": {}}", -EINVAL, "top level: missing member \"updates\"" },
		{ "{\"updates\": [], \"migrations\": {}, \"signed\": 1}", -EINVAL,
		  "top level: unknown member \"signed\"" },
		{ "{\"updates\": {}, \"migrations\": {}}", -EINVAL, "updates: expected an array" },
		{ "{\"updates\": [], \"migrations\": []}", -EINVAL, "migrations: expected an object" },
		{ "{\"updates\": [1], \"migrations\": {}}", -EINVAL, "updates[0]: expected an object" },
		{ UPDATE(BASE ", \"waves\": {}"), -EINVAL, "updates[0]: missing member \"images\"" },
		{ ONE(", \"flavor\": \"aws-k8s\""), -EINVAL, "updates[0]: unknown member \"flavor\"" },
		{ UPDATE("\"variant\": 1, \"arch\": \"x86_64\", \"version\": \"1.0.0\", "
			 "\"max_version\": \"1.0.0\", \"waves\": {}, " IMAGES),
		  -EINVAL, "updates[0].variant: expected a string" },
		{ UPDATE("\"variant\": \"v\\u0000x\", \"arch\": \"x86_64\", \"version\": \"1.0.0\", "
			 "\"max_version\": \"1.0.0\", \"waves\": {}, " IMAGES),
		  -EINVAL, "updates[0].variant: contains \\u0000" },
		{ UPDATE("\"variant\": \"\", \"arch\": \"x86_64\", \"version\": \"1.0.0\", "
			 "\"max_version\": \"1.0.0\", \"waves\": {}, " IMAGES),
		  -EINVAL, "updates[0]: variant: expected a non-empty string" },
		{ UPDATE("\"variant\": \"v\", \"arch\": \"x86_64\", \"version\": \"1.0\", "
			 "\"max_version\": \"1.0.0\", \"waves\": {}, " IMAGES),
		  -EINVAL, "updates[0]: version: \"1.0\": expected a SemVer 2.0 version" },
		{ UPDATE("\"variant\": \"v\", \"arch\": \"x86_64\", \"version\": \"1.0.0\", "
			 "\"max_version\": \"v2\", \"waves\": {}, " IMAGES),
		  -EINVAL, "updates[0]: max_version: \"v2\"" },
		{ UPDATE(BASE ", \"waves\": [], " IMAGES), -EINVAL,
		  "updates[0].waves: expected an object of seed -> time" },
		{ WAVES("\"020\": \"2026-01-01T00:00:00Z\""), -EINVAL,
		  "updates[0].waves[\"020\"]: the key must be a seed" },
		{ WAVES("\"2049\": \"2026-01-01T00:00:00Z\""), -EINVAL,
		  "updates[0].waves[\"2049\"]: the key must be a seed, a decimal integer from 0 to 2048" },
		{ WAVES("\"-1\": \"2026-01-01T00:00:00Z\""), -EINVAL, "updates[0].waves[\"-1\"]" },
		{ WAVES("\"20\": \"yesterday\""), -EINVAL,
		  "updates[0].waves[\"20\"]: \"yesterday\": expected an RFC 3339 time" },
		{ WAVES("\"20\": 1767225600"), -EINVAL,
		  "updates[0].waves[\"20\"]: expected an RFC 3339 time string" },
		{ WAVES("\"20\": \"2026-02-30T00:00:00Z\""), -EINVAL, "updates[0].waves[\"20\"]" },
		{ WAVES("\"20\": \"2026-01-01T00:00:00.1234567891Z\""), -EINVAL,
		  "updates[0].waves[\"20\"]" },
		{ WAVES("\"20\": \"2026-01-01T00:00:00+24:00\""), -EINVAL, "updates[0].waves[\"20\"]" },
		{ WAVES("\"20\": \"2026-01-01T00:00:00\""), -EINVAL, "updates[0].waves[\"20\"]" },
		{ WAVES("\"0\": \"0001-01-01T00:00:00+01:00\""), -ERANGE,
		  "outside years 0001 to 9999" },
		{ WAVES("\"20\": \"2026-01-01T00:00:00Z\", \"0\": \"2026-01-02T00:00:00Z\""), -EINVAL,
		  "updates[0]: waves: seed 20: time 2026-01-01T00:00:00Z is not after seed 0's "
		  "2026-01-02T00:00:00Z" },
		{ WAVES("\"0\": \"2026-01-01T00:00:00Z\", \"20\": \"2026-01-01T01:00:00+01:00\""),
		  -EINVAL, "updates[0]: waves: seed 20: time 2026-01-01T00:00:00Z is not after" },
		{ UPDATE(BASE ", \"waves\": {}, \"images\": {\"boot\": \"b\", \"root\": \"r\"}"),
		  -EINVAL, "updates[0].images: missing member \"hash\"" },
		{ UPDATE(BASE ", \"waves\": {}, \"images\": [\"b\"]"), -EINVAL,
		  "updates[0].images: expected an object {boot, root, hash}" },
		{ UPDATE(BASE ", \"waves\": {}, \"images\": {\"boot\": \"/b\", \"root\": \"r\", "
			 "\"hash\": \"h\"}"),
		  -EINVAL, "updates[0]: images.boot: target name '/b': must be relative" },
		{ UPDATE(BASE ", \"waves\": {}, \"images\": {\"boot\": \"b\", \"root\": \"a/../r\", "
			 "\"hash\": \"h\"}"),
		  -EINVAL, "updates[0]: images.root: target name 'a/../r'" },
		{ "{\"updates\": [{" BASE ", \"waves\": {}, " IMAGES "}, {\"variant\": \"v\", "
		  "\"arch\": \"aarch64\", \"version\": \"1.0.0\", \"max_version\": \"1.0.0\", "
		  "\"waves\": {}, " IMAGES "}, {\"variant\": \"v\", \"arch\": \"x86_64\", "
		  "\"version\": \"1.0.0+b2\", \"max_version\": \"1.0.0\", \"waves\": {}, " IMAGES "}], "
		  "\"migrations\": {}}",
		  -EINVAL, "updates[0] and updates[2]: the same update twice (variant v, arch x86_64, "
		  "version 1.0.0 and 1.0.0+b2)" },
		{ MIGR("\"1.0.0 -> 1.1.0\": []"), -EINVAL,
		  "migrations[\"1.0.0 -> 1.1.0\"]: expected a key \"(FROM, TO)\"" },
		{ MIGR("\"(1.0.0 , 1.1.0)\": []"), -EINVAL, "migrations[\"(1.0.0 , 1.1.0)\"]" },
		{ MIGR("\"(1.0.0, 1.1.0, 1.2.0)\": []"), -EINVAL, "migrations[\"(1.0.0, 1.1.0, 1.2.0)\"]" },
		{ MIGR("\"(1.0.0, )\": []"), -EINVAL, "migrations[\"(1.0.0, )\"]" },
		{ MIGR("\"(1.0, 1.1.0)\": []"), -EINVAL, "migrations[\"(1.0, 1.1.0)\"]: \"1.0\": expected a SemVer" },
		{ MIGR("\"(1.0.0, 1.1.0)\": \"m\""), -EINVAL,
		  "migrations[\"(1.0.0, 1.1.0)\"]: expected an array of target names" },
		{ MIGR("\"(1.0.0, 1.1.0)\": [\"ok\", 3]"), -EINVAL,
		  "migrations[\"(1.0.0, 1.1.0)\"][1]: expected a target name" },
		{ MIGR("\"(1.0.0, 1.1.0)\": [\"../m\"]"), -EINVAL,
		  "migrations[\"(1.0.0, 1.1.0)\"][0]: target name '../m'" },
		{ MIGR("\"(1.0.0, 1.1.0)\": [], \"(1.0.0,1.1.0)\": []"), -EINVAL,
		  "migrations: (1.0.0, 1.1.0) and (1.0.0, 1.1.0) name the same versions" },
		{ "{\"updates\": [], \"updates\": [], \"migrations\": {}}", -EINVAL, "duplicate" },
		{ ONE(", \"n\": 1.5"), -EINVAL, "line 1" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vf_update_manifest *m = (struct vf_update_manifest *)1;
		struct vf_err err = { 0 };
		int r = vf_update_manifest_parse(cases[i].json, strlen(cases[i].json), &m, &err);

		if (r != cases[i].code)
			fail_msg("case %zu: expected %d, got %d (%s)\n%s", i, cases[i].code, r,
				 err.msg, cases[i].json);
		assert_null(m);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
	}
	/* the same documents with the one thing fixed parse */
	vf_update_manifest_free(parse_ok(ONE("")));
	vf_update_manifest_free(parse_ok(WAVES("\"0\": \"2026-01-01T00:00:00Z\", "
					       "\"2048\": \"2026-01-02T00:00:00Z\"")));
	vf_update_manifest_free(parse_ok(MIGR("\"(1.0.0,1.1.0)\": [\"m\"]")));
	/* over the size limit */
	{
		size_t big = (size_t)VF_UPDATE_MANIFEST_MAX + 1;
		char *text = malloc(big + 1);

		assert_non_null(text);
		memset(text, ' ', big);
		text[big] = '\0';
		parse_fails(text, -EFBIG, "16777217 bytes, more than the 16777216 allowed");
		/* one byte less: the size passes, the JSON (all spaces) does not */
		text[big - 1] = '\0';
		parse_fails(text, -EINVAL, "line 1");
		free(text);
	}
}

/* ---- the updater's choice ----------------------------------------------------------------- */

static struct vf_update_query query(const char *current, uint32_t seed, time_t now)
{
	struct vf_update_query q = {
		.variant = "demo", .arch = "x86_64", .current = current, .version_lock = NULL,
		.seed = seed, .now = now, .ignore_waves = false,
	};
	return q;
}

static const char *chosen(const struct vf_update_manifest *m, const struct vf_update_query *q)
{
	const struct vf_update *u = (const struct vf_update *)1;
	struct vf_err err = { 0 };

	if (vf_update_manifest_find_update(m, q, &u, &err))
		fail_msg("find_update: %s", err.msg);
	return u ? u->version : "none";
}

static void test_applicable(void **state)
{
	struct vf_update_manifest *m = vf_update_manifest_new();
	struct vf_waves early, late;
	const struct vf_update **list;
	struct vf_update_query q;
	struct vf_err err = { 0 };
	size_t n;

	(void)state;
	vf_waves_init(&early);
	vf_waves_init(&late);
	assert_int_equal(vf_waves_build_default(T0, &early, NULL), 0);
	assert_int_equal(vf_waves_build_default(T0 + 30 * DAY, &late, NULL), 0);
	add_ok(m, "demo", "x86_64", "1.0.0", NULL, &early);
	add_ok(m, "demo", "x86_64", "1.1.0", NULL, &early);
	add_ok(m, "demo", "x86_64", "1.2.0", NULL, &late);
	add_ok(m, "demo", "aarch64", "1.3.0", NULL, NULL);
	add_ok(m, "other", "x86_64", "9.0.0", NULL, NULL);

	/* ten days in: 1.2.0's waves have not started for seed 500 */
	q = query("1.0.0", 500, T0 + 10 * DAY);
	assert_int_equal(vf_update_manifest_list_applicable(m, &q, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0]->version, "1.1.0");
	assert_string_equal(list[1]->version, "1.0.0");
	free(list);
	assert_string_equal(chosen(m, &q), "1.1.0");
	/* the same host, once its wave of 1.2.0 came */
	q.now = T0 + 40 * DAY;
	assert_string_equal(chosen(m, &q), "1.2.0");
	/* before its wave, --ignore-waves; seed 0 (the initial wave) at once */
	q.now = T0 + 10 * DAY;
	q.ignore_waves = true;
	assert_string_equal(chosen(m, &q), "1.2.0");
	q.ignore_waves = false;
	q.seed = 0;
	assert_string_equal(chosen(m, &q), "1.2.0");
	/* at the wave boundary: seed 819 gets 1.2.0 at exactly start + 4 days */
	q.seed = 819;
	q.now = T0 + 34 * DAY - 1;
	assert_string_equal(chosen(m, &q), "1.1.0");
	q.now = T0 + 34 * DAY;
	assert_string_equal(chosen(m, &q), "1.2.0");
	/* early in 1.0.0's rollout seed 2047 has nothing yet */
	q = query("0.9.0", 2047, T0 + 5 * DAY);
	assert_string_equal(chosen(m, &q), "none");
	q.now = T0 + 6 * DAY;
	assert_string_equal(chosen(m, &q), "1.1.0");
	/* up to date: nothing */
	q = query("1.2.0", 500, T0 + 40 * DAY);
	assert_string_equal(chosen(m, &q), "none");
	/* a pre-release of 1.2.0, newer than all that is ready and within max_version: nothing */
	q = query("1.2.0-rc.1+x", 500, T0 + 10 * DAY);
	assert_string_equal(chosen(m, &q), "none");

	/* pull back to 1.1.0: 1.3.0 is published with max_version 1.1.0 */
	add_ok(m, "demo", "x86_64", "1.3.0", "1.1.0", NULL);
	q = query("1.2.0", 500, T0 + 40 * DAY);
	assert_int_equal(vf_update_manifest_list_applicable(m, &q, &list, &n, &err), 0);
	assert_int_equal(n, 2); /* 1.2.0 and 1.3.0 are above max_version */
	assert_string_equal(list[0]->version, "1.1.0");
	free(list);
	assert_string_equal(chosen(m, &q), "1.1.0"); /* a downgrade */
	q.current = "1.1.0";
	assert_string_equal(chosen(m, &q), "none");
	q.current = "1.0.0";
	assert_string_equal(chosen(m, &q), "1.1.0");

	/* a version lock picks exactly that version, even older; not the one running */
	q = query("1.1.0", 500, T0 + 40 * DAY);
	q.version_lock = "1.0.0";
	assert_string_equal(chosen(m, &q), "1.0.0");
	q.version_lock = "1.1.0";
	assert_string_equal(chosen(m, &q), "none");
	q.version_lock = "1.2.0"; /* above max_version: not applicable */
	assert_string_equal(chosen(m, &q), "none");
	q.version_lock = "latest";
	q.current = "1.0.0";
	assert_string_equal(chosen(m, &q), "1.1.0");

	/* other arch and variant */
	q = query("1.0.0", 500, T0);
	q.arch = "aarch64";
	assert_string_equal(chosen(m, &q), "1.3.0");
	q.arch = "riscv64";
	assert_string_equal(chosen(m, &q), "none");
	assert_int_equal(vf_update_manifest_list_applicable(m, &q, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(list);

	/* bad queries */
	{
		const struct vf_update *u = (const struct vf_update *)1;

		q = query("1.0", 500, T0);
		assert_int_equal(vf_update_manifest_find_update(m, &q, &u, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "current version: \"1.0\": expected a SemVer");
		assert_null(u);
		q = query("1.0.0", 500, T0);
		q.version_lock = "newest";
		assert_int_equal(vf_update_manifest_find_update(m, &q, &u, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "version lock: \"newest\"");
		q = query(NULL, 500, T0);
		assert_int_equal(vf_update_manifest_find_update(m, &q, &u, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "the current version is required");
	}
	vf_waves_release(&early);
	vf_waves_release(&late);
	vf_update_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semver_check),
		cmocka_unit_test(test_semver_compare),
		cmocka_unit_test(test_default_waves),
		cmocka_unit_test(test_waves_build),
		cmocka_unit_test(test_waves_plan_good),
		cmocka_unit_test(test_waves_plan_bad),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_add_update),
		cmocka_unit_test(test_parse_bottlerocket),
		cmocka_unit_test(test_format_golden),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_applicable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
