/* The findings of a comparison: adding, ordering, text and JSON forms. */
#include "builder/diff/internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vf_diff_kind_name(enum vf_diff_kind k)
{
	switch (k) {
	case VF_DIFF_GPT:
		return "gpt";
	case VF_DIFF_EXT4:
		return "ext4";
	case VF_DIFF_VERITY:
		return "verity";
	case VF_DIFF_ZSTD:
		return "zstd";
	case VF_DIFF_JSON:
		return "json";
	case VF_DIFF_RAW:
		break;
	}
	return "raw";
}

static void finding_release(struct vf_diff_finding *f)
{
	free(f->scope);
	free(f->object);
	free(f->field);
	free(f->a);
	free(f->b);
	free(f->detail);
	free(f->message);
	memset(f, 0, sizeof(*f));
}

void vf_diff_report_release(struct vf_diff_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_findings; i++)
		finding_release(&r->findings[i]);
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

bool vf_diff_full(const struct vf_diff_ctx *c)
{
	return c->r->n_findings >= c->o.max_findings;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

int vf_diff_add(struct vf_diff_ctx *c, const char *object, const char *field, const char *a,
		const char *b, const char *detail, const char *message)
{
	struct vf_diff_report *r = c->r;
	struct vf_diff_finding f;
	struct vf_buf m = VF_BUF_INIT;
	bool oom = false;

	if (vf_diff_full(c)) {
		r->truncated = true;
		return 0;
	}
	if (!message) {
		int e = vf_buf_add_str(&m, field);

		if (!e && a && b)
			e = vf_buf_add_fmt(&m, " %s vs %s", a, b);
		if (!e && detail)
			e = vf_buf_add_fmt(&m, " (%s)", detail);
		if (e) {
			vf_buf_release(&m);
			return -ENOMEM;
		}
		message = (const char *)m.data;
	}
	if (r->n_findings % 64 == 0) {
		struct vf_diff_finding *n = realloc(r->findings, (r->n_findings + 64) * sizeof(*n));

		if (!n) {
			vf_buf_release(&m);
			return -ENOMEM;
		}
		r->findings = n;
	}
	memset(&f, 0, sizeof(f));
	f.scope = dup_or_null(c->scope ? c->scope : "", &oom);
	f.object = dup_or_null(object ? object : "", &oom);
	f.field = dup_or_null(field, &oom);
	f.a = dup_or_null(a, &oom);
	f.b = dup_or_null(b, &oom);
	f.detail = dup_or_null(detail, &oom);
	f.message = dup_or_null(message, &oom);
	vf_buf_release(&m);
	if (oom) {
		finding_release(&f);
		return -ENOMEM;
	}
	r->findings[r->n_findings++] = f;
	return 0;
}

int vf_diff_addf(struct vf_diff_ctx *c, const char *object, const char *field, const char *a,
		 const char *b, const char *detail, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vf_diff_add(c, object, field, a, b, detail, msg);
}

/* Stable merge sort by object; findings of one object keep their order. */
static void sort_range(struct vf_diff_finding *v, struct vf_diff_finding *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	sort_range(v, tmp, h);
	sort_range(v + h, tmp, n - h);
	while (i < h && j < n)
		tmp[k++] = strcmp(v[j].object, v[i].object) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

void vf_diff_sort_from(struct vf_diff_ctx *c, size_t from)
{
	struct vf_diff_report *r = c->r;
	size_t n = r->n_findings - from;
	struct vf_diff_finding *tmp;

	if (n < 2)
		return;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return; /* left in walk order: still deterministic */
	sort_range(r->findings + from, tmp, n);
	free(tmp);
}

int vf_diff_report_format_text(const struct vf_diff_report *r, struct vf_buf *out)
{
	int e = 0;

	for (size_t i = 0; i < r->n_findings && !e; i++) {
		const struct vf_diff_finding *f = &r->findings[i];
		const struct vf_diff_finding *prev = i ? &r->findings[i - 1] : NULL;

		if (prev && !strcmp(prev->scope, f->scope) && !strcmp(prev->object, f->object)) {
			e = vf_buf_add_fmt(out, "; %s", f->message);
			continue;
		}
		if (prev)
			e = vf_buf_add_str(out, "\n");
		if (!e && *f->scope)
			e = vf_buf_add_fmt(out, "%s: ", f->scope);
		if (!e && *f->object)
			e = vf_buf_add_fmt(out, "%s: ", f->object);
		if (!e)
			e = vf_buf_add_str(out, f->message);
	}
	if (!e && r->n_findings)
		e = vf_buf_add_str(out, "\n");
	if (!e && r->truncated)
		e = vf_buf_add_fmt(out, "... more differences not shown (the first %zu are)\n",
				   r->n_findings);
	return e;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *vf_diff_report_json(const struct vf_diff_report *r, const char *path_a, const char *path_b)
{
	json_t *root = NULL, *list = json_array();

	if (!list)
		return NULL;
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct vf_diff_finding *f = &r->findings[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s}", "scope", f->scope, "object",
				      f->object, "field", f->field, "a", str_or_null(f->a), "b",
				      str_or_null(f->b), "detail", str_or_null(f->detail), "message",
				      f->message);

		if (!o || json_array_append_new(list, o)) {
			json_decref(list);
			return NULL;
		}
	}
	root = json_pack("{s:b,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},s:b,s:o}", "identical",
			 r->n_findings == 0 && !r->truncated, "a", "path", path_a, "kind",
			 vf_diff_kind_name(r->kind_a), "content", vf_diff_kind_name(r->inner_a), "b",
			 "path", path_b, "kind", vf_diff_kind_name(r->kind_b), "content",
			 vf_diff_kind_name(r->inner_b), "truncated", r->truncated, "findings", list);
	return root;
}

void vf_diff_value_text(const uint8_t *v, size_t len, char *out, size_t cap)
{
	bool text = true;
	size_t n = len, o = 0;

	if (n && v[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e) {
			if (v[i] != '\n' && v[i] != '\t') {
				text = false;
				break;
			}
		}
	if (text) {
		out[o++] = '"';
		for (size_t i = 0; i < n && o + 8 < cap; i++) {
			if (i == VF_DIFF_VALUE_MAX) {
				o += (size_t)snprintf(out + o, cap - o, "...");
				break;
			}
			if (v[i] == '\n')
				o += (size_t)snprintf(out + o, cap - o, "\\n");
			else if (v[i] == '\t')
				o += (size_t)snprintf(out + o, cap - o, "\\t");
			else if (v[i] == '"' || v[i] == '\\')
				o += (size_t)snprintf(out + o, cap - o, "\\%c", v[i]);
			else
				out[o++] = (char)v[i];
		}
		out[o++] = '"';
		out[o] = '\0';
		return;
	}
	o = (size_t)snprintf(out, cap, "0x");
	for (size_t i = 0; i < len && o + 8 < cap; i++) {
		if (i == VF_DIFF_VALUE_MAX / 2) {
			o += (size_t)snprintf(out + o, cap - o, "...");
			break;
		}
		o += (size_t)snprintf(out + o, cap - o, "%02x", v[i]);
	}
}

void vf_diff_num(char *out, size_t cap, uint64_t v, enum vf_diff_numfmt f)
{
	unsigned long long x = (unsigned long long)v;

	switch (f) {
	case VF_DIFF_OCT4:
		snprintf(out, cap, "%04llo", x);
		break;
	case VF_DIFF_HEX4:
		snprintf(out, cap, "0x%04llx", x);
		break;
	case VF_DIFF_HEX8:
		snprintf(out, cap, "0x%08llx", x);
		break;
	case VF_DIFF_HEX16:
		snprintf(out, cap, "0x%016llx", x);
		break;
	case VF_DIFF_DEC:
		snprintf(out, cap, "%llu", x);
		break;
	}
}
