/* builder/manifest: the partition layout, derived or explicit, and its checks. */
#include "builder/base/uuid.h"
#include "builder/manifest/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB VF_MANIFEST_MIB
#define FIELD_MAX 96

static const char *const type_names[] = { "esp", "xbootldr", "root", "root-verity", "linux",
					  "var", NULL };

/* A GUID in its text form (parsed by the same code that reads UUIDs everywhere). */
static bool is_guid(const char *s)
{
	uint8_t guid[16];

	return vf_uuid_parse(s, guid) == 0;
}

static bool is_type(const char *s)
{
	for (size_t i = 0; type_names[i]; i++)
		if (strcmp(type_names[i], s) == 0)
			return true;
	return is_guid(s);
}

/* A positive multiple of 1 MiB. */
static int get_part_size(json_t *v, const char *field, uint64_t *ret, struct vf_err *err)
{
	int r = vf_manifest_get_size(v, field, ret, err);

	if (r)
		return r;
	if (*ret == 0 || *ret % MIB)
		return vf_err_set(err, EINVAL, "%s: must be a positive multiple of 1 MiB (%llu "
				  "bytes), got %llu", field, (unsigned long long)MIB,
				  (unsigned long long)*ret);
	return 0;
}

static int set_str(char **dst, const char *s, struct vf_err *err)
{
	char *c = strdup(s);

	if (!c)
		return vf_err_set(err, ENOMEM, "out of memory");
	free(*dst);
	*dst = c;
	return 0;
}

static int parse_enum(json_t *v, const char *field, const char *a, const char *b, char **dst,
		      struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	if (strcmp(s, a) && strcmp(s, b))
		return vf_err_set(err, EINVAL, "%s: expected \"%s\" or \"%s\", got %s", field, a, b,
				  vf_manifest_show(s, show));
	return set_str(dst, s, err);
}

/* One explicit partition entry into `p`. */
static int parse_part(json_t *e, const char *f, struct vf_manifest_part *p, struct vf_err *err)
{
	static const char *const keys[] = { "name", "type", "size", "start", "grow", NULL };
	char show[VF_MANIFEST_SHOW_MAX], g[FIELD_MAX];
	json_t *x, *size;
	const char *s;
	int r;

	if (!json_is_object(e))
		return vf_manifest_type_err(err, f, "an object", e);
	if ((r = vf_manifest_check_keys(e, f, keys, err)))
		return r;
	vf_manifest_fmt(g, sizeof(g), "%s.name", f);
	if (!(x = json_object_get(e, "name")))
		return vf_err_set(err, EINVAL, "%s: missing required key 'name'", f);
	if ((r = vf_manifest_get_string(x, g, &s, err)))
		return r;
	if (!*s || strlen(s) > VF_MANIFEST_PART_NAME_MAX)
		return vf_err_set(err, EINVAL, "%s: expected 1 to %d characters, got %zu", g,
				  VF_MANIFEST_PART_NAME_MAX, strlen(s));
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return vf_err_set(err, EINVAL, "%s: %s has a character that is not "
					  "printable ASCII", g, vf_manifest_show(s, show));
	if ((r = set_str(&p->name, s, err)))
		return r;

	vf_manifest_fmt(g, sizeof(g), "%s.type", f);
	if (!(x = json_object_get(e, "type")))
		return vf_err_set(err, EINVAL, "%s: missing required key 'type'", f);
	if ((r = vf_manifest_get_string(x, g, &s, err)))
		return r;
	if (!is_type(s))
		return vf_err_set(err, EINVAL, "%s: expected esp, xbootldr, root, root-verity, "
				  "linux, var or a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), "
				  "got %s", g, vf_manifest_show(s, show));
	if ((r = set_str(&p->type, s, err)))
		return r;
	for (char *c = p->type; *c; c++)
		*c = (char)tolower((unsigned char)*c);

	if ((x = json_object_get(e, "grow"))) {
		vf_manifest_fmt(g, sizeof(g), "%s.grow", f);
		if ((r = vf_manifest_get_bool(x, g, &p->grow, err)))
			return r;
	}
	size = json_object_get(e, "size");
	if (p->grow && size)
		return vf_err_set(err, EINVAL, "%s: 'size' and \"grow\": true exclude each other",
				  f);
	if (!p->grow) {
		if (!size)
			return vf_err_set(err, EINVAL, "%s: missing required key 'size'", f);
		vf_manifest_fmt(g, sizeof(g), "%s.size", f);
		if ((r = get_part_size(size, g, &p->size, err)))
			return r;
	}
	if ((x = json_object_get(e, "start"))) {
		vf_manifest_fmt(g, sizeof(g), "%s.start", f);
		if ((r = vf_manifest_get_size(x, g, &p->start, err)))
			return r;
		if (p->start < MIB || p->start % MIB)
			return vf_err_set(err, EINVAL, "%s: must be a multiple of 1 MiB, at least 1 "
					  "MiB (the primary GPT is before it), got %llu", g,
					  (unsigned long long)p->start);
		p->has_start = true;
	}
	return 0;
}

static int parse_parts(json_t *v, struct vf_manifest_layout *l, struct vf_err *err)
{
	char f[FIELD_MAX];
	size_t i, n;
	json_t *e;
	int r;

	if (!json_is_array(v))
		return vf_manifest_type_err(err, "layout.partitions", "an array", v);
	n = json_array_size(v);
	if (n == 0)
		return vf_err_set(err, EINVAL, "layout.partitions: expected at least one partition "
				  "(or leave 'partitions' out to derive them)");
	l->parts = calloc(n, sizeof(*l->parts));
	if (!l->parts)
		return vf_err_set(err, ENOMEM, "out of memory");
	l->n_parts = n;
	json_array_foreach(v, i, e) {
		vf_manifest_fmt(f, sizeof(f), "layout.partitions[%zu]", i);
		if ((r = parse_part(e, f, &l->parts[i], err)))
			return r;
		if (l->parts[i].grow && i != n - 1)
			return vf_err_set(err, EINVAL, "%s: only the last partition may grow", f);
		for (size_t k = 0; k < i; k++)
			if (strcmp(l->parts[k].name, l->parts[i].name) == 0)
				return vf_err_set(err, EINVAL, "layout.partitions: duplicate name "
						  "'%s' (partitions[%zu] and [%zu])",
						  l->parts[i].name, k, i);
	}
	return 0;
}

static int add_part(struct vf_manifest_layout *l, const char *name, const char *type,
		    uint64_t size, struct vf_err *err)
{
	struct vf_manifest_part *p = &l->parts[l->n_parts];

	if (!(p->name = strdup(name)) || !(p->type = strdup(type))) {
		l->n_parts++;
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	p->size = size;
	l->n_parts++;
	return 0;
}

/* BOOT/ROOT/HASH/RESERVED per bank, PRIVATE, then DATA when unified. */
static int derive_parts(struct vf_manifest_layout *l, struct vf_err *err)
{
	static const char *const banks[] = { "A", "B" };
	size_t nbanks = l->ab ? 2 : 1;
	char name[16];
	int r;

	l->parts = calloc(4 * 2 + 2, sizeof(*l->parts));
	if (!l->parts)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t b = 0; b < nbanks; b++) {
		snprintf(name, sizeof(name), "BOOT-%s", banks[b]);
		if ((r = add_part(l, name, "xbootldr", l->boot_size, err)))
			return r;
		snprintf(name, sizeof(name), "ROOT-%s", banks[b]);
		if ((r = add_part(l, name, "root", l->root_size, err)))
			return r;
		snprintf(name, sizeof(name), "HASH-%s", banks[b]);
		if ((r = add_part(l, name, "root-verity", l->hash_size, err)))
			return r;
		snprintf(name, sizeof(name), "RESERVED-%s", banks[b]);
		if ((r = add_part(l, name, "linux", l->reserved_size, err)))
			return r;
	}
	if ((r = add_part(l, "PRIVATE", "linux", l->private_size, err)))
		return r;
	if (strcmp(l->plan, "unified") == 0 && (r = add_part(l, "DATA", "linux", l->data_size, err)))
		return r;
	return 0;
}

static int require_parts(const struct vf_manifest_layout *l, struct vf_err *err)
{
	static const char *const need_a[] = { "BOOT-A", "ROOT-A", "HASH-A", NULL };
	static const char *const need_b[] = { "BOOT-B", "ROOT-B", "HASH-B", NULL };

	for (size_t i = 0; need_a[i]; i++)
		if (!vf_manifest_layout_part(l, need_a[i]))
			return vf_err_set(err, EINVAL, "layout.partitions: no partition named %s "
					  "(an explicit list needs BOOT-A, ROOT-A and HASH-A)",
					  need_a[i]);
	if (!l->ab)
		return 0;
	for (size_t i = 0; need_b[i]; i++)
		if (!vf_manifest_layout_part(l, need_b[i]))
			return vf_err_set(err, EINVAL, "layout.partitions: no partition named %s "
					  "(\"ab\" is true, so bank B needs BOOT-B, ROOT-B and "
					  "HASH-B; set \"ab\": false for one bank)", need_b[i]);
	return 0;
}

static int cmp_start(const void *a, const void *b)
{
	const struct vf_manifest_part *x = *(const struct vf_manifest_part *const *)a;
	const struct vf_manifest_part *y = *(const struct vf_manifest_part *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Give every partition a start, size the growing one, refuse overlaps and a small disk. */
static int place_parts(struct vf_manifest_layout *l, struct vf_err *err)
{
	struct vf_manifest_part **order = NULL;
	uint64_t cursor = MIB, end = 0, need;
	int r = 0;

	for (size_t i = 0; i < l->n_parts; i++) {
		struct vf_manifest_part *p = &l->parts[i];

		if (!p->has_start)
			p->start = cursor;
		if (p->grow) {
			uint64_t last;

			if (!l->disk_size)
				return vf_err_set(err, EINVAL, "layout: partition %s grows to fill "
						  "the disk, so 'disk_size' is required", p->name);
			last = l->disk_size >= MIB ? (l->disk_size - MIB) / MIB * MIB : 0;
			if (last <= p->start)
				return vf_err_set(err, EINVAL, "layout: partition %s (grow) starts at "
						  "%llu, leaving it no room on a disk of %llu bytes",
						  p->name, (unsigned long long)p->start,
						  (unsigned long long)l->disk_size);
			p->size = last - p->start;
		}
		if (p->start > UINT64_MAX - MIB - p->size)
			return vf_err_set(err, ERANGE, "layout: partition %s ends beyond 2^64 bytes",
					  p->name);
		cursor = p->start + p->size;
		if (cursor > end)
			end = cursor;
	}
	order = calloc(l->n_parts, sizeof(*order));
	if (!order)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < l->n_parts; i++)
		order[i] = &l->parts[i];
	qsort(order, l->n_parts, sizeof(*order), cmp_start);
	for (size_t i = 1; i < l->n_parts; i++) {
		const struct vf_manifest_part *a = order[i - 1], *b = order[i];

		if (a->start + a->size > b->start) {
			r = vf_err_set(err, EINVAL, "layout: partitions %s (at %llu MiB, %llu MiB) "
				       "and %s (at %llu MiB, %llu MiB) overlap", a->name,
				       (unsigned long long)(a->start / MIB),
				       (unsigned long long)(a->size / MIB), b->name,
				       (unsigned long long)(b->start / MIB),
				       (unsigned long long)(b->size / MIB));
			goto out;
		}
	}
	need = end + MIB;
	if (l->disk_size && l->disk_size < need)
		r = vf_err_set(err, ENOSPC, "layout: the partitions need %llu bytes (%llu MiB, "
			       "with 1 MiB before them and 1 MiB after them for the GPT) but "
			       "disk_size is %llu bytes", (unsigned long long)need,
			       (unsigned long long)(need / MIB), (unsigned long long)l->disk_size);
out:
	free(order);
	return r;
}

int vf_manifest_parse_layout(json_t *v, bool composed, struct vf_manifest_layout *l,
			     struct vf_err *err)
{
	static const char *const keys[] = {
		"plan", "ab", "disk_size", "boot_size", "root_size", "hash_size", "reserved_size",
		"private_size", "data_size", "type_set", "minimize_root", "partitions", NULL,
	};
	static const struct {
		const char *key;
		size_t off;
	} sizes[] = {
		{ "boot_size", offsetof(struct vf_manifest_layout, boot_size) },
		{ "root_size", offsetof(struct vf_manifest_layout, root_size) },
		{ "hash_size", offsetof(struct vf_manifest_layout, hash_size) },
		{ "reserved_size", offsetof(struct vf_manifest_layout, reserved_size) },
		{ "private_size", offsetof(struct vf_manifest_layout, private_size) },
		{ "data_size", offsetof(struct vf_manifest_layout, data_size) },
	};
	char f[FIELD_MAX];
	json_t *x;
	int r;

	l->ab = true;
	l->boot_size = 40 * MIB;
	l->root_size = 920 * MIB;
	l->hash_size = 10 * MIB;
	l->reserved_size = 30 * MIB;
	l->private_size = 20 * MIB;
	l->data_size = 1024 * MIB;
	if ((r = set_str(&l->plan, "unified", err)) || (r = set_str(&l->type_set, "dps", err)))
		return r;
	if (v) {
		if (!json_is_object(v))
			return vf_manifest_type_err(err, "layout", "an object", v);
		if ((r = vf_manifest_check_keys(v, "layout", keys, err)))
			return r;
		if ((x = json_object_get(v, "plan")) &&
		    (r = parse_enum(x, "layout.plan", "unified", "split", &l->plan, err)))
			return r;
		if ((x = json_object_get(v, "type_set")) &&
		    (r = parse_enum(x, "layout.type_set", "dps", "bottlerocket", &l->type_set, err)))
			return r;
		if ((x = json_object_get(v, "ab")) &&
		    (r = vf_manifest_get_bool(x, "layout.ab", &l->ab, err)))
			return r;
		if ((x = json_object_get(v, "minimize_root")) &&
		    (r = vf_manifest_get_bool(x, "layout.minimize_root", &l->minimize_root, err)))
			return r;
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			if (!(x = json_object_get(v, sizes[i].key)))
				continue;
			vf_manifest_fmt(f, sizeof(f), "layout.%s", sizes[i].key);
			if ((r = get_part_size(x, f, (uint64_t *)((char *)l + sizes[i].off), err)))
				return r;
		}
		if ((x = json_object_get(v, "disk_size"))) {
			if ((r = vf_manifest_get_size(x, "layout.disk_size", &l->disk_size, err)))
				return r;
			if (l->disk_size == 0 || l->disk_size % 512)
				return vf_err_set(err, EINVAL, "layout.disk_size: must be a positive "
						  "multiple of 512 bytes, got %llu",
						  (unsigned long long)l->disk_size);
		}
		if ((x = json_object_get(v, "partitions")) && (r = parse_parts(x, l, err)))
			return r;
	}
	if (!composed)
		return 0;
	if (l->parts) {
		if ((r = require_parts(l, err)))
			return r;
	} else if ((r = derive_parts(l, err))) {
		return r;
	}
	return place_parts(l, err);
}

void vf_manifest_layout_release(struct vf_manifest_layout *l)
{
	for (size_t i = 0; i < l->n_parts; i++) {
		free(l->parts[i].name);
		free(l->parts[i].type);
	}
	free(l->parts);
	free(l->plan);
	free(l->type_set);
	memset(l, 0, sizeof(*l));
}

const struct vf_manifest_part *vf_manifest_layout_part(const struct vf_manifest_layout *l,
							const char *name)
{
	for (size_t i = 0; i < l->n_parts; i++)
		if (strcmp(l->parts[i].name, name) == 0)
			return &l->parts[i];
	return NULL;
}
