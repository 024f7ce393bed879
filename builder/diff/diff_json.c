/*
 * Structural JSON diff: objects by sorted key, arrays by index; every
 * finding names its JSON path ("partitions[3].uuid", "signed.keys[\"a b\"]").
 */
#include "builder/diff/internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jwalk {
	struct vf_diff_ctx *c;
	struct vf_buf path;
};

/* Compact JSON of a value, cut to VF_DIFF_VALUE_MAX bytes. */
static char *value_text(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);

	if (s && strlen(s) > VF_DIFF_VALUE_MAX)
		strcpy(s + VF_DIFF_VALUE_MAX - 3, "...");
	return s;
}

static const char *where(const struct jwalk *w)
{
	return w->path.len ? (const char *)w->path.data : "(top level)";
}

static int report(struct jwalk *w, const char *field, const json_t *a, const json_t *b)
{
	char *ta = a ? value_text(a) : NULL, *tb = b ? value_text(b) : NULL;
	int r;

	if ((a && !ta) || (b && !tb))
		r = -ENOMEM;
	else if (a && b)
		r = vf_diff_addf(w->c, where(w), field, ta, tb, NULL, "%s vs %s", ta, tb);
	else
		r = vf_diff_addf(w->c, where(w), field, ta, tb, NULL, "%s (%s)", field, a ? ta : tb);
	free(ta);
	free(tb);
	return r;
}

static bool plain_key(const char *k)
{
	if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
		      *k == '_' || *k == '-'))
			return false;
	return true;
}

static int push_key(struct jwalk *w, const char *key)
{
	json_t *s;
	char *q;
	int r;

	if (plain_key(key))
		return vf_buf_add_fmt(&w->path, "%s%s", w->path.len ? "." : "", key);
	if (!(s = json_string(key)))
		return -ENOMEM;
	q = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	if (!q)
		return -ENOMEM;
	r = vf_buf_add_fmt(&w->path, "[%s]", q);
	free(q);
	return r;
}

static void pop(struct jwalk *w, size_t len)
{
	w->path.len = len;
	if (w->path.data)
		w->path.data[len] = '\0';
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static const char **sorted_keys(const json_t *o, size_t *n)
{
	const char **v = malloc((json_object_size(o) + 1) * sizeof(*v));
	const char *k;
	json_t *val;
	size_t i = 0;

	if (!v)
		return NULL;
	json_object_foreach((json_t *)o, k, val)
		v[i++] = k;
	qsort(v, i, sizeof(*v), cmp_str);
	*n = i;
	return v;
}

static int walk(struct jwalk *w, const json_t *a, const json_t *b, unsigned depth);

static int walk_object(struct jwalk *w, const json_t *a, const json_t *b, unsigned depth)
{
	size_t na = 0, nb = 0, i = 0, j = 0, len = w->path.len;
	const char **ka = sorted_keys(a, &na), **kb = sorted_keys(b, &nb);
	int r = 0;

	if (!ka || !kb) {
		r = -ENOMEM;
		goto out;
	}
	while ((i < na || j < nb) && !r && !vf_diff_full(w->c)) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(ka[i], kb[j]);
		const char *key = c <= 0 ? ka[i] : kb[j];

		if ((r = push_key(w, key)))
			break;
		if (c < 0)
			r = report(w, "removed", json_object_get(a, key), NULL);
		else if (c > 0)
			r = report(w, "added", NULL, json_object_get(b, key));
		else
			r = walk(w, json_object_get(a, key), json_object_get(b, key), depth + 1);
		pop(w, len);
		i += c <= 0;
		j += c >= 0;
	}
out:
	free(ka);
	free(kb);
	return r;
}

static int walk_array(struct jwalk *w, const json_t *a, const json_t *b, unsigned depth)
{
	size_t na = json_array_size(a), nb = json_array_size(b), len = w->path.len;
	int r = 0;

	for (size_t i = 0; i < (na > nb ? na : nb) && !r && !vf_diff_full(w->c); i++) {
		if ((r = vf_buf_add_fmt(&w->path, "[%zu]", i)))
			break;
		if (i >= nb)
			r = report(w, "removed", json_array_get(a, i), NULL);
		else if (i >= na)
			r = report(w, "added", NULL, json_array_get(b, i));
		else
			r = walk(w, json_array_get(a, i), json_array_get(b, i), depth + 1);
		pop(w, len);
	}
	if (!r && vf_diff_full(w->c))
		w->c->r->truncated = true;
	return r;
}

static int walk(struct jwalk *w, const json_t *a, const json_t *b, unsigned depth)
{
	if (json_typeof(a) != json_typeof(b) &&
	    !(json_is_boolean(a) && json_is_boolean(b)))
		return report(w, "value", a, b);
	if (json_is_object(a) || json_is_array(a)) {
		if (depth >= w->c->o.max_depth) {
			if (json_equal((json_t *)a, (json_t *)b))
				return 0;
			return vf_diff_addf(w->c, where(w), "value", NULL, NULL, NULL,
					    "differs (nested deeper than %u levels: not compared further)",
					    w->c->o.max_depth);
		}
		return json_is_object(a) ? walk_object(w, a, b, depth) : walk_array(w, a, b, depth);
	}
	if (json_equal((json_t *)a, (json_t *)b))
		return 0;
	/* 1 and 1.0 are different JSON texts: say so through their types */
	return report(w, "value", a, b);
}

int vf_diff_json(struct vf_diff_ctx *c, const char *pa, const char *pb, struct vf_err *err)
{
	struct jwalk w = { c, VF_BUF_INIT };
	json_error_t je;
	json_t *a = NULL, *b = NULL;
	int r = 0;

	a = json_load_file(pa, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!a) {
		r = vf_err_set(err, EINVAL, "'%s': line %d: %s", pa, je.line, je.text);
		goto out;
	}
	b = json_load_file(pb, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!b) {
		r = vf_err_set(err, EINVAL, "'%s': line %d: %s", pb, je.line, je.text);
		goto out;
	}
	r = walk(&w, a, b, 0);
	if (r == -ENOMEM)
		vf_err_set(err, ENOMEM, "out of memory");
out:
	vf_buf_release(&w.path);
	json_decref(a);
	json_decref(b);
	return r;
}
