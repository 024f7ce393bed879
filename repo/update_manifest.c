/*
 * repo: the update manifest (manifest.json) in Bottlerocket's shape: SemVer,
 * rollout waves, the model, its strict parser and deterministic formatter,
 * and the updater's choice of update (see update_manifest.h).
 */
#include "repo/update_manifest.h"

#include "repo/cjson.h"
#include "repo/metadata.h"
#include "repo/repo.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SemVer ----------------------------------------------------------------------- */

/* A parsed version: pointers into the text. */
struct semver {
	const char *num[3];
	size_t num_len[3];
	const char *pre; /* pre-release identifiers, NULL when none */
	size_t pre_len;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* Dot-separated identifiers, each non-empty; in a pre-release no leading zeros on numbers. */
static bool check_idents(const char *s, size_t len, bool pre)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_ident_char(s[i]))
				return false;
			continue;
		}
		if (i == start)
			return false;
		if (pre && i - start > 1 && s[start] == '0' && all_digits(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

static bool semver_parse(const char *s, struct semver *v)
{
	size_t len = strlen(s);
	const char *p = s, *start;

	if (len == 0 || len > VF_UPDATE_VERSION_MAX)
		return false;
	for (int i = 0; i < 3; i++) {
		start = p;
		while (is_digit(*p))
			p++;
		if (p == start || (p - start > 1 && *start == '0'))
			return false;
		v->num[i] = start;
		v->num_len[i] = (size_t)(p - start);
		if (i < 2 && *p++ != '.')
			return false;
	}
	v->pre = NULL;
	v->pre_len = 0;
	if (*p == '-') {
		start = ++p;
		while (*p && *p != '+')
			p++;
		if (!check_idents(start, (size_t)(p - start), true))
			return false;
		v->pre = start;
		v->pre_len = (size_t)(p - start);
	}
	if (*p == '+') {
		start = ++p;
		p += strlen(p);
		if (!check_idents(start, (size_t)(p - start), false))
			return false;
	}
	return *p == '\0';
}

/* Numbers without leading zeros: the longer is greater, else by bytes. */
static int num_compare(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

static int sign_of(int v)
{
	return (v > 0) - (v < 0);
}

static int pre_compare(const struct semver *a, const struct semver *b)
{
	size_t i = 0, j = 0;

	if (!a->pre || !b->pre)
		return a->pre ? -1 : b->pre ? 1 : 0; /* a release outranks its pre-releases */
	for (;;) {
		size_t ie = i, je = j;
		bool an, bn;
		int c;

		if (i >= a->pre_len || j >= b->pre_len)
			return i >= a->pre_len ? (j >= b->pre_len ? 0 : -1) : 1;
		while (ie < a->pre_len && a->pre[ie] != '.')
			ie++;
		while (je < b->pre_len && b->pre[je] != '.')
			je++;
		an = all_digits(a->pre + i, ie - i);
		bn = all_digits(b->pre + j, je - j);
		if (an && bn) {
			c = num_compare(a->pre + i, ie - i, b->pre + j, je - j);
		} else if (an != bn) {
			c = an ? -1 : 1; /* numeric identifiers sort first */
		} else {
			size_t n = ie - i < je - j ? ie - i : je - j;

			c = memcmp(a->pre + i, b->pre + j, n);
			if (!c && ie - i != je - j)
				c = ie - i < je - j ? -1 : 1;
		}
		if (c)
			return sign_of(c);
		i = ie + 1;
		j = je + 1;
	}
}

int vf_update_manifest_version_check(const char *version, struct vf_err *err)
{
	struct semver v;

	if (!semver_parse(version, &v))
		return vf_err_set(err, EINVAL, "\"%.80s\": expected a SemVer 2.0 version "
				  "MAJOR.MINOR.PATCH[-pre][+build] without leading zeros, at most "
				  "%d bytes", version, VF_UPDATE_VERSION_MAX);
	return 0;
}

int vf_update_manifest_version_compare(const char *a, const char *b)
{
	struct semver va, vb;
	bool oka = semver_parse(a, &va), okb = semver_parse(b, &vb);

	if (!oka || !okb)
		return oka == okb ? sign_of(strcmp(a, b)) : oka ? 1 : -1;
	for (int i = 0; i < 3; i++) {
		int c = num_compare(va.num[i], va.num_len[i], vb.num[i], vb.num_len[i]);

		if (c)
			return sign_of(c);
	}
	return pre_compare(&va, &vb);
}

/* ---- times ------------------------------------------------------------------------ */

int vf_waves_format_time(time_t t, uint32_t nsec, char out[32])
{
	char base[VF_TUF_TIME_LEN + 1];
	unsigned digits = 9;
	uint32_t frac = nsec;

	if (nsec > 999999999u || vf_tuf_time_format(t, base))
		return -ERANGE;
	if (!nsec) {
		memcpy(out, base, sizeof(base));
		return 0;
	}
	/* chrono's AutoSi: milli, micro or nanoseconds, whichever is exact */
	if (nsec % 1000000u == 0)
		digits = 3, frac = nsec / 1000000u;
	else if (nsec % 1000u == 0)
		digits = 6, frac = nsec / 1000u;
	snprintf(out, 32, "%.19s.%0*uZ", base, (int)digits, (unsigned)frac);
	return 0;
}

/* RFC 3339: "YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|+HH:MM|-HH:MM)", T and Z in either case. */
static int parse_time(const char *text, time_t *ret, uint32_t *ret_nsec, struct vf_err *err)
{
	char utc[VF_TUF_TIME_LEN + 1];
	size_t len = strlen(text), pos = 19;
	uint32_t nsec = 0;
	int sign = 0, off = 0;
	time_t t;

	if (len < 20)
		goto bad;
	memcpy(utc, text, 19);
	if (utc[10] == 't')
		utc[10] = 'T';
	utc[19] = 'Z';
	utc[20] = '\0';
	if (text[pos] == '.') {
		unsigned n = 0;

		pos++;
		while (is_digit(text[pos]) && n < 9) {
			nsec = nsec * 10 + (uint32_t)(text[pos++] - '0');
			n++;
		}
		if (n == 0 || is_digit(text[pos]))
			goto bad;
		while (n++ < 9)
			nsec *= 10;
	}
	if ((text[pos] == 'Z' || text[pos] == 'z') && text[pos + 1] == '\0') {
		sign = 0;
	} else if ((text[pos] == '+' || text[pos] == '-') && len - pos == 6 &&
		   is_digit(text[pos + 1]) && is_digit(text[pos + 2]) && text[pos + 3] == ':' &&
		   is_digit(text[pos + 4]) && is_digit(text[pos + 5])) {
		int h = (text[pos + 1] - '0') * 10 + (text[pos + 2] - '0');
		int m = (text[pos + 4] - '0') * 10 + (text[pos + 5] - '0');

		if (h > 23 || m > 59)
			goto bad;
		sign = text[pos] == '+' ? 1 : -1;
		off = h * 3600 + m * 60;
	} else {
		goto bad;
	}
	if (vf_tuf_time_parse(utc, &t, NULL))
		goto bad;
	t -= (time_t)sign * off;
	{
		char check[32];

		if (vf_waves_format_time(t, nsec, check))
			return vf_err_set(err, ERANGE, "\"%.60s\": outside years 0001 to 9999 in UTC",
					  text);
	}
	*ret = t;
	*ret_nsec = nsec;
	return 0;
bad:
	return vf_err_set(err, EINVAL, "\"%.60s\": expected an RFC 3339 time such as "
			  "2026-01-01T00:00:00Z", text);
}

/* ---- waves ------------------------------------------------------------------------ */

void vf_waves_init(struct vf_waves *w)
{
	w->v = NULL;
	w->n = 0;
}

void vf_waves_release(struct vf_waves *w)
{
	free(w->v);
	vf_waves_init(w);
}

int vf_waves_copy(struct vf_waves *dst, const struct vf_waves *src, struct vf_err *err)
{
	struct vf_wave *v = NULL;

	if (src->n) {
		v = malloc(src->n * sizeof(*v));
		if (!v)
			return vf_err_set(err, ENOMEM, "out of memory");
		memcpy(v, src->v, src->n * sizeof(*v));
	}
	free(dst->v);
	dst->v = v;
	dst->n = src->n;
	return 0;
}

/* (time, nsec) order. */
static int time_compare(const struct vf_wave *a, const struct vf_wave *b)
{
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return a->nsec < b->nsec ? -1 : a->nsec > b->nsec;
}

/* The invariants of struct vf_waves. */
static int check_waves(const struct vf_waves *w, struct vf_err *err)
{
	char a[32], b[32];

	for (size_t i = 0; i < w->n; i++) {
		const struct vf_wave *x = &w->v[i];

		if (x->seed > VF_WAVES_MAX_SEED)
			return vf_err_set(err, ERANGE, "seed %u: expected 0 to %u", x->seed,
					  VF_WAVES_MAX_SEED);
		if (vf_waves_format_time(x->time, x->nsec, a))
			return vf_err_set(err, ERANGE, "seed %u: time %lld outside years 0001 to "
					  "9999", x->seed, (long long)x->time);
		if (i == 0)
			continue;
		if (x->seed <= w->v[i - 1].seed)
			return vf_err_set(err, EINVAL, "seeds not increasing: %u after %u", x->seed,
					  w->v[i - 1].seed);
		if (time_compare(x, &w->v[i - 1]) <= 0) {
			vf_waves_format_time(w->v[i - 1].time, w->v[i - 1].nsec, b);
			return vf_err_set(err, EINVAL, "seed %u: time %s is not after seed %u's %s "
					  "(times must increase with the seeds)", x->seed, a,
					  w->v[i - 1].seed, b);
		}
	}
	return 0;
}

int vf_waves_build(const struct vf_waves_step *steps, size_t n, struct vf_waves *ret,
		   struct vf_err *err)
{
	struct vf_waves w = { NULL, 0 };
	char a[32], b[32];

	if (n == 0)
		return vf_err_set(err, EINVAL, "waves: expected at least one wave");
	for (size_t i = 0; i < n; i++) {
		if (steps[i].percentage < 1 || steps[i].percentage > 100)
			return vf_err_set(err, ERANGE, "waves[%zu]: fleet_percentage %u, expected "
					  "1 to 100", i, steps[i].percentage);
		if (vf_waves_format_time(steps[i].time, 0, a))
			return vf_err_set(err, ERANGE, "waves[%zu]: time %lld outside years 0001 to "
					  "9999", i, (long long)steps[i].time);
		if (i == 0)
			continue;
		if (steps[i].percentage <= steps[i - 1].percentage)
			return vf_err_set(err, EINVAL, "waves[%zu]: fleet_percentage %u is not above "
					  "waves[%zu]'s %u", i, steps[i].percentage, i - 1,
					  steps[i - 1].percentage);
		if (steps[i].time <= steps[i - 1].time) {
			vf_waves_format_time(steps[i - 1].time, 0, b);
			return vf_err_set(err, EINVAL, "waves[%zu]: time %s is not after waves[%zu]'s "
					  "%s", i, a, i - 1, b);
		}
	}
	if (steps[n - 1].percentage != 100)
		return vf_err_set(err, EINVAL, "waves[%zu]: the last wave must reach "
				  "fleet_percentage 100, got %u", n - 1, steps[n - 1].percentage);
	w.v = calloc(n, sizeof(*w.v));
	if (!w.v)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		w.v[i].seed = i ? steps[i - 1].percentage * VF_WAVES_MAX_SEED / 100u : 0;
		w.v[i].time = steps[i].time;
	}
	w.n = n;
	vf_waves_release(ret);
	*ret = w;
	return 0;
}

int vf_waves_build_default(time_t start, struct vf_waves *ret, struct vf_err *err)
{
	static const struct { int64_t after; unsigned pct; } plan[] = {
		{ 3600, 1 }, { 4 * 3600, 5 }, { 86400, 15 }, { 2 * 86400, 40 },
		{ 4 * 86400, 60 }, { 5 * 86400, 90 }, { 6 * 86400, 100 },
	};
	struct vf_waves_step steps[sizeof(plan) / sizeof(plan[0])];

	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
		steps[i].time = start + (time_t)plan[i].after;
		steps[i].percentage = plan[i].pct;
	}
	return vf_waves_build(steps, sizeof(plan) / sizeof(plan[0]), ret, err);
}

/* Exactly the members `names` (NULL-terminated) and no others; `path` names the object. */
static int check_members(json_t *obj, const char *path, const char *const *names,
			 struct vf_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i = 0;

		while (names[i] && strcmp(names[i], key))
			i++;
		if (!names[i])
			return vf_err_set(err, EINVAL, "%s: unknown member \"%.80s\"", path, key);
	}
	for (size_t i = 0; names[i]; i++)
		if (!json_object_get(obj, names[i]))
			return vf_err_set(err, EINVAL, "%s: missing member \"%s\"", path, names[i]);
	return 0;
}

int vf_waves_parse_plan(const void *text, size_t len, time_t start, struct vf_waves *ret,
			struct vf_err *err)
{
	static const char *const top[] = { "waves", NULL };
	static const char *const item[] = { "start_after", "fleet_percentage", NULL };
	struct vf_cjson_limits lim = { 1 << 20, 8 };
	struct vf_waves_step *steps = NULL;
	json_t *doc = NULL, *arr;
	size_t n = 0;
	int r;

	if ((r = vf_cjson_parse(text, len, &lim, (void **)&doc, err)))
		return r;
	if (!json_is_object(doc)) {
		r = vf_err_set(err, EINVAL, "expected an object {\"waves\": [...]}");
		goto out;
	}
	if ((r = check_members(doc, "top level", top, err)))
		goto out;
	arr = json_object_get(doc, "waves");
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 100) {
		r = vf_err_set(err, EINVAL, "waves: expected an array of 1 to 100 waves");
		goto out;
	}
	n = json_array_size(arr);
	steps = calloc(n, sizeof(*steps));
	if (!steps) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *w = json_array_get(arr, i), *after, *pct;
		char path[32];

		snprintf(path, sizeof(path), "waves[%zu]", i);
		if (!json_is_object(w)) {
			r = vf_err_set(err, EINVAL, "%s: expected an object", path);
			goto out;
		}
		if ((r = check_members(w, path, item, err)))
			goto out;
		after = json_object_get(w, "start_after");
		pct = json_object_get(w, "fleet_percentage");
		if (!json_is_string(after)) {
			r = vf_err_set(err, EINVAL, "%s.start_after: expected a string (a duration "
				       "such as \"4h\" or an RFC 3339 time)", path);
			goto out;
		}
		if ((r = vf_repo_parse_when(json_string_value(after), start, &steps[i].time, err))) {
			vf_err_prefix(err, "%s.start_after", path);
			goto out;
		}
		if (!json_is_integer(pct) || json_integer_value(pct) < 1 ||
		    json_integer_value(pct) > 100) {
			r = vf_err_set(err, EINVAL, "%s.fleet_percentage: expected an integer from 1 "
				       "to 100", path);
			goto out;
		}
		steps[i].percentage = (unsigned)json_integer_value(pct);
	}
	r = vf_waves_build(steps, n, ret, err);
out:
	free(steps);
	json_decref(doc);
	return r;
}

/* A wave's time as a whole second: a fraction counts as the next second. */
static time_t wave_second(const struct vf_wave *w)
{
	return w->time + (w->nsec ? 1 : 0);
}

bool vf_waves_get_ready_time(const struct vf_waves *w, uint32_t seed, time_t *ret_time)
{
	size_t e = 0;

	if (w->n == 0 || seed <= w->v[0].seed)
		return false;
	while (e < w->n && w->v[e].seed < seed)
		e++;
	if (e == w->n) {
		*ret_time = wave_second(&w->v[w->n - 1]);
	} else {
		const struct vf_wave *s = &w->v[e - 1], *end = &w->v[e];
		int64_t span = (int64_t)(wave_second(end) - wave_second(s));

		/* end->seed >= seed > s->seed: never a division by 0 */
		*ret_time = wave_second(s) +
			    (time_t)(span * (int64_t)(seed - s->seed) / (int64_t)(end->seed - s->seed));
	}
	return true;
}

bool vf_waves_is_ready(const struct vf_waves *w, uint32_t seed, time_t now)
{
	time_t t;

	return !vf_waves_get_ready_time(w, seed, &t) || now >= t;
}

/* ---- the model ---------------------------------------------------------------------- */

static void update_release(struct vf_update *u)
{
	free(u->variant);
	free(u->arch);
	free(u->version);
	free(u->max_version);
	vf_waves_release(&u->waves);
	free(u->images.boot);
	free(u->images.root);
	free(u->images.hash);
	memset(u, 0, sizeof(*u));
}

static void migration_release(struct vf_update_migration *mg)
{
	free(mg->from);
	free(mg->to);
	for (size_t i = 0; i < mg->n_names; i++)
		free(mg->names[i]);
	free(mg->names);
	memset(mg, 0, sizeof(*mg));
}

struct vf_update_manifest *vf_update_manifest_new(void)
{
	return calloc(1, sizeof(struct vf_update_manifest));
}

void vf_update_manifest_free(struct vf_update_manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_updates; i++)
		update_release(&m->updates[i]);
	free(m->updates);
	for (size_t i = 0; i < m->n_migrations; i++)
		migration_release(&m->migrations[i]);
	free(m->migrations);
	free(m);
}

/* A text field: present, non-empty, no control characters, at most 4095 bytes. */
static int check_text(const char *field, const char *s, struct vf_err *err)
{
	size_t len;

	if (!s || !*s)
		return vf_err_set(err, EINVAL, "%s: expected a non-empty string", field);
	len = strlen(s);
	if (len > 4095)
		return vf_err_set(err, EINVAL, "%s: %zu bytes, at most 4095 allowed", field, len);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return vf_err_set(err, EINVAL, "%s \"%.80s\": control character 0x%02x at "
					  "offset %zu", field, s, (unsigned char)s[i], i);
	return 0;
}

/* Every field of an update as the parser requires it; messages start with the field. */
static int check_update(const struct vf_update *u, struct vf_err *err)
{
	const struct { const char *name; const char *value; } images[] = {
		{ "images.boot", u->images.boot },
		{ "images.root", u->images.root },
		{ "images.hash", u->images.hash },
	};
	int r;

	if ((r = check_text("variant", u->variant, err)) || (r = check_text("arch", u->arch, err)))
		return r;
	if (!u->version)
		return vf_err_set(err, EINVAL, "version: missing");
	if ((r = vf_update_manifest_version_check(u->version, err)))
		return vf_err_prefix(err, "version");
	if (u->max_version && (r = vf_update_manifest_version_check(u->max_version, err)))
		return vf_err_prefix(err, "max_version");
	if ((r = check_waves(&u->waves, err)))
		return vf_err_prefix(err, "waves");
	for (size_t i = 0; i < 3; i++) {
		if (!images[i].value)
			return vf_err_set(err, EINVAL, "%s: missing", images[i].name);
		if ((r = vf_repo_check_target_name(images[i].value, err)))
			return vf_err_prefix(err, "%s", images[i].name);
	}
	return 0;
}

static int dup_str(const char *s, char **ret, struct vf_err *err)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : vf_err_set(err, ENOMEM, "out of memory");
}

/* Deep copy; `src->max_version` NULL is copied as NULL. */
static int update_copy(struct vf_update *dst, const struct vf_update *src, struct vf_err *err)
{
	int r;

	memset(dst, 0, sizeof(*dst));
	if ((r = dup_str(src->variant, &dst->variant, err)) ||
	    (r = dup_str(src->arch, &dst->arch, err)) ||
	    (r = dup_str(src->version, &dst->version, err)) ||
	    (r = dup_str(src->max_version, &dst->max_version, err)) ||
	    (r = vf_waves_copy(&dst->waves, &src->waves, err)) ||
	    (r = dup_str(src->images.boot, &dst->images.boot, err)) ||
	    (r = dup_str(src->images.root, &dst->images.root, err)) ||
	    (r = dup_str(src->images.hash, &dst->images.hash, err))) {
		update_release(dst);
		return r;
	}
	return 0;
}

static bool same_target(const struct vf_update *u, const char *variant, const char *arch)
{
	return strcmp(u->variant, variant) == 0 && strcmp(u->arch, arch) == 0;
}

const struct vf_update *vf_update_manifest_find(const struct vf_update_manifest *m,
						const char *variant, const char *arch,
						const char *version)
{
	for (size_t i = 0; i < m->n_updates; i++) {
		const struct vf_update *u = &m->updates[i];

		if (same_target(u, variant, arch) &&
		    vf_update_manifest_version_compare(u->version, version) == 0)
			return u;
	}
	return NULL;
}

int vf_update_manifest_add_update(struct vf_update_manifest *m, const struct vf_update *u,
				  struct vf_err *err)
{
	const struct vf_update *dup;
	struct vf_update *grown, copy;
	const char *max;
	char **maxes = NULL;
	size_t n_same = 0, k = 0;
	int r;

	if ((r = check_update(u, err)))
		return vf_err_prefix(err, "update");
	dup = vf_update_manifest_find(m, u->variant, u->arch, u->version);
	if (dup)
		return vf_err_set(err, EEXIST, "variant %s, arch %s: version %s is already in the "
				  "manifest (as %s)", u->variant, u->arch, u->version, dup->version);
	max = u->max_version;
	for (size_t i = 0; i < m->n_updates; i++) {
		if (!same_target(&m->updates[i], u->variant, u->arch))
			continue;
		n_same++;
		if (!u->max_version &&
		    vf_update_manifest_version_compare(m->updates[i].max_version, max ? max : u->version) > 0)
			max = m->updates[i].max_version;
	}
	if (!max)
		max = u->version;
	/* allocate everything first: the manifest changes only once nothing can fail */
	if ((r = update_copy(&copy, u, err)))
		return r;
	free(copy.max_version);
	copy.max_version = strdup(max);
	maxes = calloc(n_same + 1, sizeof(*maxes));
	if (!copy.max_version || !maxes)
		goto nomem;
	for (k = 0; k < n_same; k++)
		if (!(maxes[k] = strdup(max)))
			goto nomem;
	grown = realloc(m->updates, (m->n_updates + 1) * sizeof(*grown));
	if (!grown)
		goto nomem;
	m->updates = grown;
	k = 0;
	for (size_t i = 0; i < m->n_updates; i++) {
		struct vf_update *x = &m->updates[i];

		if (!same_target(x, u->variant, u->arch))
			continue;
		free(x->max_version);
		x->max_version = maxes[k++];
	}
	free(maxes);
	m->updates[m->n_updates++] = copy;
	return 0;
nomem:
	for (size_t i = 0; maxes && i < n_same; i++)
		free(maxes[i]);
	free(maxes);
	update_release(&copy);
	return vf_err_set(err, ENOMEM, "out of memory");
}

/* ---- parse ------------------------------------------------------------------------- */

/* A string member (no "\u0000" inside); *ret is malloc'd. */
static int get_string(json_t *obj, const char *key, const char *path, char **ret,
		      struct vf_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return vf_err_set(err, EINVAL, "%s.%s: expected a string", path, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return vf_err_set(err, EINVAL, "%s.%s: contains \\u0000", path, key);
	return dup_str(json_string_value(v), ret, err);
}

/* A decimal seed: "0" or digits without a leading zero, at most VF_WAVES_MAX_SEED. */
static bool parse_seed(const char *s, uint32_t *ret)
{
	uint32_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 4 || (n > 1 && s[0] == '0') || !all_digits(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint32_t)(s[i] - '0');
	if (v > VF_WAVES_MAX_SEED)
		return false;
	*ret = v;
	return true;
}

static int wave_seed_compare(const void *a, const void *b)
{
	const struct vf_wave *x = a, *y = b;

	return (x->seed > y->seed) - (x->seed < y->seed);
}

static int parse_waves(json_t *obj, const char *path, struct vf_waves *ret, struct vf_err *err)
{
	size_t n = json_object_size(obj), i = 0;
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(obj))
		return vf_err_set(err, EINVAL, "%s.waves: expected an object of seed -> time", path);
	if (n > VF_WAVES_MAX_SEED + 1)
		return vf_err_set(err, EINVAL, "%s.waves: %zu waves, at most %u allowed", path, n,
				  VF_WAVES_MAX_SEED + 1);
	if (n == 0)
		return 0;
	if (!(ret->v = calloc(n, sizeof(*ret->v))))
		return vf_err_set(err, ENOMEM, "out of memory");
	json_object_foreach(obj, key, v) {
		struct vf_wave *w = &ret->v[i];

		if (!parse_seed(key, &w->seed))
			return vf_err_set(err, EINVAL, "%s.waves[\"%.40s\"]: the key must be a seed, a "
					  "decimal integer from 0 to %u without leading zeros", path,
					  key, VF_WAVES_MAX_SEED);
		if (!json_is_string(v))
			return vf_err_set(err, EINVAL, "%s.waves[\"%s\"]: expected an RFC 3339 time "
					  "string", path, key);
		if ((r = parse_time(json_string_value(v), &w->time, &w->nsec, err)))
			return vf_err_prefix(err, "%s.waves[\"%s\"]", path, key);
		ret->n = ++i;
	}
	qsort(ret->v, ret->n, sizeof(*ret->v), wave_seed_compare);
	return 0;
}

static int parse_update(json_t *obj, const char *path, struct vf_update *u, struct vf_err *err)
{
	static const char *const members[] = {
		"variant", "arch", "version", "max_version", "waves", "images", NULL,
	};
	static const char *const image_members[] = { "boot", "root", "hash", NULL };
	char ipath[64];
	json_t *images;
	int r;

	if (!json_is_object(obj))
		return vf_err_set(err, EINVAL, "%s: expected an object", path);
	if ((r = check_members(obj, path, members, err)) ||
	    (r = get_string(obj, "variant", path, &u->variant, err)) ||
	    (r = get_string(obj, "arch", path, &u->arch, err)) ||
	    (r = get_string(obj, "version", path, &u->version, err)) ||
	    (r = get_string(obj, "max_version", path, &u->max_version, err)) ||
	    (r = parse_waves(json_object_get(obj, "waves"), path, &u->waves, err)))
		return r;
	images = json_object_get(obj, "images");
	snprintf(ipath, sizeof(ipath), "%s.images", path);
	if (!json_is_object(images))
		return vf_err_set(err, EINVAL, "%s: expected an object {boot, root, hash}", ipath);
	if ((r = check_members(images, ipath, image_members, err)) ||
	    (r = get_string(images, "boot", ipath, &u->images.boot, err)) ||
	    (r = get_string(images, "root", ipath, &u->images.root, err)) ||
	    (r = get_string(images, "hash", ipath, &u->images.hash, err)))
		return r;
	if ((r = check_update(u, err)))
		return vf_err_prefix(err, "%s", path);
	return 0;
}

/* "(FROM, TO)" as Bottlerocket's \((?P<from>[^ ,]+),[ ]*(?P<to>[^ ,]+)\), whole key. */
static int parse_migration_key(const char *key, struct vf_update_migration *mg,
			       struct vf_err *err)
{
	size_t len = strlen(key), a, b, c;

	if (len < 2 || key[0] != '(' || key[len - 1] != ')')
		goto bad;
	a = 1;
	b = a;
	while (b < len - 1 && key[b] != ',' && key[b] != ' ')
		b++;
	if (b == a || key[b] != ',')
		goto bad;
	c = b + 1;
	while (key[c] == ' ')
		c++;
	for (size_t i = c; i < len - 1; i++)
		if (key[i] == ',' || key[i] == ' ')
			goto bad;
	if (c >= len - 1)
		goto bad;
	mg->from = strndup(key + a, b - a);
	mg->to = strndup(key + c, len - 1 - c);
	if (!mg->from || !mg->to)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (vf_update_manifest_version_check(mg->from, err) ||
	    vf_update_manifest_version_check(mg->to, err))
		return vf_err_prefix(err, "migrations[\"%.80s\"]", key);
	return 0;
bad:
	return vf_err_set(err, EINVAL, "migrations[\"%.80s\"]: expected a key \"(FROM, TO)\" "
			  "such as \"(1.0.0, 1.1.0)\"", key);
}

static int migration_compare(const void *a, const void *b)
{
	const struct vf_update_migration *x = a, *y = b;
	int c = vf_update_manifest_version_compare(x->from, y->from);

	return c ? c : vf_update_manifest_version_compare(x->to, y->to);
}

static int parse_migrations(json_t *obj, struct vf_update_manifest *m, struct vf_err *err)
{
	size_t n = json_object_size(obj);
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(obj))
		return vf_err_set(err, EINVAL, "migrations: expected an object "
				  "{\"(FROM, TO)\": [names...]}");
	if (n == 0)
		return 0;
	if (!(m->migrations = calloc(n, sizeof(*m->migrations))))
		return vf_err_set(err, ENOMEM, "out of memory");
	json_object_foreach(obj, key, v) {
		struct vf_update_migration *mg = &m->migrations[m->n_migrations++];
		size_t k = json_array_size(v);

		if ((r = parse_migration_key(key, mg, err)))
			return r;
		if (!json_is_array(v))
			return vf_err_set(err, EINVAL, "migrations[\"%s\"]: expected an array of "
					  "target names", key);
		if (k && !(mg->names = calloc(k, sizeof(*mg->names))))
			return vf_err_set(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < k; i++) {
			json_t *s = json_array_get(v, i);

			if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
				return vf_err_set(err, EINVAL, "migrations[\"%s\"][%zu]: expected a "
						  "target name", key, i);
			if ((r = vf_repo_check_target_name(json_string_value(s), err)))
				return vf_err_prefix(err, "migrations[\"%s\"][%zu]", key, i);
			if ((r = dup_str(json_string_value(s), &mg->names[i], err)))
				return r;
			mg->n_names = i + 1;
		}
	}
	qsort(m->migrations, n, sizeof(*m->migrations), migration_compare);
	for (size_t i = 1; i < n; i++)
		if (migration_compare(&m->migrations[i - 1], &m->migrations[i]) == 0)
			return vf_err_set(err, EINVAL, "migrations: (%s, %s) and (%s, %s) name the same "
					  "versions", m->migrations[i - 1].from,
					  m->migrations[i - 1].to, m->migrations[i].from,
					  m->migrations[i].to);
	return 0;
}

/* Order updates by variant, arch and version precedence (for the duplicate check). */
static int update_ptr_compare(const void *a, const void *b)
{
	const struct vf_update *x = *(const struct vf_update *const *)a;
	const struct vf_update *y = *(const struct vf_update *const *)b;
	int c = strcmp(x->variant, y->variant);

	if (!c)
		c = strcmp(x->arch, y->arch);
	if (!c)
		c = vf_update_manifest_version_compare(x->version, y->version);
	return c;
}

static int check_duplicates(const struct vf_update_manifest *m, struct vf_err *err)
{
	const struct vf_update **v;
	int r = 0;

	if (m->n_updates < 2)
		return 0;
	v = malloc(m->n_updates * sizeof(*v));
	if (!v)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n_updates; i++)
		v[i] = &m->updates[i];
	qsort(v, m->n_updates, sizeof(*v), update_ptr_compare);
	for (size_t i = 1; i < m->n_updates && !r; i++) {
		if (update_ptr_compare(&v[i - 1], &v[i]))
			continue;
		/* report in document order */
		const struct vf_update *a = v[i - 1] < v[i] ? v[i - 1] : v[i];
		const struct vf_update *b = a == v[i] ? v[i - 1] : v[i];

		r = vf_err_set(err, EINVAL, "updates[%zu] and updates[%zu]: the same update twice "
			       "(variant %s, arch %s, version %s and %s)",
			       (size_t)(a - m->updates), (size_t)(b - m->updates), a->variant,
			       a->arch, a->version, b->version);
	}
	free(v);
	return r;
}

int vf_update_manifest_parse(const void *text, size_t len, struct vf_update_manifest **ret,
			     struct vf_err *err)
{
	static const char *const top[] = { "updates", "migrations", NULL };
	struct vf_cjson_limits lim = { (size_t)VF_UPDATE_MANIFEST_MAX, 16 };
	struct vf_update_manifest *m = NULL;
	json_t *doc = NULL, *updates;
	size_t n;
	int r;

	*ret = NULL;
	if (len > VF_UPDATE_MANIFEST_MAX)
		return vf_err_set(err, EFBIG, "%zu bytes, more than the %llu allowed", len,
				  (unsigned long long)VF_UPDATE_MANIFEST_MAX);
	if ((r = vf_cjson_parse(text, len, &lim, (void **)&doc, err)))
		return r;
	if (!json_is_object(doc)) {
		r = vf_err_set(err, EINVAL, "expected an object {\"updates\": [...], "
			       "\"migrations\": {...}}");
		goto out;
	}
	if ((r = check_members(doc, "top level", top, err)))
		goto out;
	updates = json_object_get(doc, "updates");
	if (!json_is_array(updates)) {
		r = vf_err_set(err, EINVAL, "updates: expected an array");
		goto out;
	}
	if (!(m = vf_update_manifest_new())) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	n = json_array_size(updates);
	if (n && !(m->updates = calloc(n, sizeof(*m->updates)))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[40];

		snprintf(path, sizeof(path), "updates[%zu]", i);
		m->n_updates = i + 1;
		if ((r = parse_update(json_array_get(updates, i), path, &m->updates[i], err)))
			goto out;
	}
	if ((r = check_duplicates(m, err)) ||
	    (r = parse_migrations(json_object_get(doc, "migrations"), m, err)))
		goto out;
	*ret = m;
	m = NULL;
out:
	vf_update_manifest_free(m);
	json_decref(doc);
	return r;
}

/* ---- format ------------------------------------------------------------------------ */

/* Set a string member; refuses text jansson does not take as UTF-8. */
static int set_str(json_t *obj, const char *key, const char *s, struct vf_err *err)
{
	json_t *v = json_string(s);

	if (!v || json_object_set_new(obj, key, v) < 0)
		return vf_err_set(err, EINVAL, "%s \"%.80s\": not valid UTF-8 (or out of memory)",
				  key, s);
	return 0;
}

static int format_update(const struct vf_update *u, json_t **ret, struct vf_err *err)
{
	json_t *o = json_object(), *images = json_object(), *waves = json_object();
	int r = 0;

	*ret = NULL;
	if (!o || !images || !waves) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	/* members in byte order; seeds in numeric order */
	if ((r = set_str(images, "boot", u->images.boot, err)) ||
	    (r = set_str(images, "hash", u->images.hash, err)) ||
	    (r = set_str(images, "root", u->images.root, err)))
		goto fail;
	for (size_t i = 0; i < u->waves.n; i++) {
		char key[16], t[32];

		snprintf(key, sizeof(key), "%u", u->waves.v[i].seed);
		if (vf_waves_format_time(u->waves.v[i].time, u->waves.v[i].nsec, t)) {
			r = vf_err_set(err, ERANGE, "waves: seed %s: time out of range", key);
			goto fail;
		}
		if ((r = set_str(waves, key, t, err)))
			goto fail;
	}
	if ((r = set_str(o, "arch", u->arch, err)))
		goto fail;
	if (json_object_set_new(o, "images", images) < 0) {
		images = NULL;
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	images = NULL;
	if ((r = set_str(o, "max_version", u->max_version, err)) ||
	    (r = set_str(o, "variant", u->variant, err)) ||
	    (r = set_str(o, "version", u->version, err)))
		goto fail;
	if (json_object_set_new(o, "waves", waves) < 0) {
		waves = NULL;
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	*ret = o;
	return 0;
fail:
	json_decref(images);
	json_decref(waves);
	json_decref(o);
	return r;
}

int vf_update_manifest_format(const struct vf_update_manifest *m, struct vf_buf *out,
			      struct vf_err *err)
{
	json_t *doc = json_object(), *migrations = json_object(), *updates = json_array();
	char *text = NULL;
	size_t len;
	int r = 0;

	if (!doc || !migrations || !updates) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n_migrations; i++) {
		const struct vf_update_migration *mg = &m->migrations[i];
		json_t *names = json_array();
		char *key = NULL;

		if (!names || asprintf(&key, "(%s, %s)", mg->from, mg->to) < 0 ||
		    json_object_set_new(migrations, key, names) < 0) {
			free(key);
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		free(key);
		for (size_t k = 0; k < mg->n_names; k++) {
			json_t *s = json_string(mg->names[k]);

			if (!s || json_array_append_new(names, s) < 0) {
				r = vf_err_set(err, EINVAL, "migrations: name \"%.80s\": not valid "
					       "UTF-8", mg->names[k]);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < m->n_updates; i++) {
		json_t *u;

		if ((r = check_update(&m->updates[i], err)) ||
		    (r = (m->updates[i].max_version ? 0
			  : vf_err_set(err, EINVAL, "max_version: missing"))) ||
		    (r = format_update(&m->updates[i], &u, err))) {
			vf_err_prefix(err, "updates[%zu]", i);
			goto out;
		}
		if (json_array_append_new(updates, u) < 0) {
			r = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	if (json_object_set(doc, "migrations", migrations) < 0 ||
	    json_object_set(doc, "updates", updates) < 0) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* jansson writes members in insertion order, which is the order above */
	text = json_dumps(doc, JSON_INDENT(2));
	if (!text) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	len = strlen(text);
	if (len + 1 > VF_UPDATE_MANIFEST_MAX) {
		r = vf_err_set(err, EFBIG, "manifest would be %zu bytes, more than the %llu "
			       "allowed", len + 1, (unsigned long long)VF_UPDATE_MANIFEST_MAX);
		goto out;
	}
	if (vf_buf_add(out, text, len) || vf_buf_add(out, "\n", 1))
		r = vf_err_set(err, ENOMEM, "out of memory");
out:
	free(text);
	json_decref(updates);
	json_decref(migrations);
	json_decref(doc);
	return r;
}

/* ---- the updater's choice -------------------------------------------------------------- */

/* Newest first; equal precedence keeps document order (pointers into one array). */
static int newest_first(const void *a, const void *b)
{
	const struct vf_update *x = *(const struct vf_update *const *)a;
	const struct vf_update *y = *(const struct vf_update *const *)b;
	int c = vf_update_manifest_version_compare(y->version, x->version);

	return c ? c : (x > y) - (x < y);
}

static int check_query(const struct vf_update_query *q, struct vf_err *err)
{
	int r;

	if (!q->variant || !q->arch)
		return vf_err_set(err, EINVAL, "query: variant and arch are required");
	if (q->current && (r = vf_update_manifest_version_check(q->current, err)))
		return vf_err_prefix(err, "current version");
	if (q->version_lock && strcmp(q->version_lock, "latest") != 0 &&
	    (r = vf_update_manifest_version_check(q->version_lock, err)))
		return vf_err_prefix(err, "version lock");
	return 0;
}

int vf_update_manifest_list_applicable(const struct vf_update_manifest *m,
				       const struct vf_update_query *q,
				       const struct vf_update ***ret, size_t *ret_n,
				       struct vf_err *err)
{
	const struct vf_update **v = NULL;
	size_t n = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if ((r = check_query(q, err)))
		return r;
	for (size_t i = 0; i < m->n_updates; i++) {
		const struct vf_update *u = &m->updates[i];

		if (!same_target(u, q->variant, q->arch) ||
		    vf_update_manifest_version_compare(u->version, u->max_version) > 0 ||
		    (!q->ignore_waves && !vf_waves_is_ready(&u->waves, q->seed, q->now)))
			continue;
		if (!v && !(v = malloc(m->n_updates * sizeof(*v))))
			return vf_err_set(err, ENOMEM, "out of memory");
		v[n++] = u;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), newest_first);
	*ret = v;
	*ret_n = n;
	return 0;
}

int vf_update_manifest_find_update(const struct vf_update_manifest *m,
				   const struct vf_update_query *q, const struct vf_update **ret,
				   struct vf_err *err)
{
	const struct vf_update **v;
	size_t n;
	int r;

	*ret = NULL;
	if (!q->current)
		return vf_err_set(err, EINVAL, "query: the current version is required");
	if ((r = vf_update_manifest_list_applicable(m, q, &v, &n, err)))
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct vf_update *u = v[i];

		if (q->version_lock && strcmp(q->version_lock, "latest") != 0) {
			if (vf_update_manifest_version_compare(u->version, q->version_lock) == 0 &&
			    vf_update_manifest_version_compare(u->version, q->current) != 0)
				*ret = u;
			if (vf_update_manifest_version_compare(u->version, q->version_lock) == 0)
				break;
			continue;
		}
		if (vf_update_manifest_version_compare(q->current, u->version) < 0 ||
		    vf_update_manifest_version_compare(q->current, u->max_version) > 0) {
			*ret = u;
			break;
		}
	}
	free(v);
	return 0;
}
