/* builder/manifest: validate one document and build the typed view. */
#include "builder/manifest/internal.h"

#include "builder/base/hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX 160

/* ---- helpers ------------------------------------------------------------------- */

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

int vf_manifest_type_err(struct vf_err *err, const char *field, const char *want, json_t *v)
{
	return vf_err_set(err, EINVAL, "%s: expected %s, got %s", field, want, type_name(v));
}

/* "parent.key" or just "key" at the top. */
static const char *sub(char out[FIELD_MAX], const char *parent, const char *key)
{
	return vf_manifest_fmt(out, FIELD_MAX, "%s%s%s", parent, *parent ? "." : "", key);
}

static const char *idx(char out[FIELD_MAX], const char *parent, size_t i)
{
	return vf_manifest_fmt(out, FIELD_MAX, "%s[%zu]", parent, i);
}

int vf_manifest_check_keys(json_t *obj, const char *field, const char *const *keys,
			   struct vf_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;
		char show[VF_MANIFEST_SHOW_MAX];

		for (i = 0; keys[i]; i++)
			if (strcmp(keys[i], key) == 0)
				break;
		if (!keys[i])
			return vf_err_set(err, EINVAL, "%s%sunknown key %s", field,
					  *field ? ": " : "", vf_manifest_show(key, show));
	}
	return 0;
}

int vf_manifest_get_string(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	if (!json_is_string(v))
		return vf_manifest_type_err(err, field, "a string", v);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return vf_err_set(err, EINVAL, "%s: contains a NUL byte", field);
	*ret = json_string_value(v);
	return 0;
}

int vf_manifest_get_bool(json_t *v, const char *field, bool *ret, struct vf_err *err)
{
	if (!json_is_boolean(v))
		return vf_manifest_type_err(err, field, "a boolean", v);
	*ret = json_is_true(v);
	return 0;
}

int vf_manifest_get_uint(json_t *v, const char *field, uint64_t max, uint64_t *ret,
			 struct vf_err *err)
{
	json_int_t x;

	if (!json_is_integer(v))
		return vf_manifest_type_err(err, field, "an integer", v);
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x > max)
		return vf_err_set(err, ERANGE, "%s: expected an integer from 0 to %llu, got %lld",
				  field, (unsigned long long)max, (long long)x);
	*ret = (uint64_t)x;
	return 0;
}

int vf_manifest_get_size(json_t *v, const char *field, uint64_t *ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	int r;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return vf_err_set(err, EINVAL, "%s: expected a size, got %lld", field,
					  (long long)json_integer_value(v));
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return vf_manifest_type_err(err, field,
					    "a size (bytes, or a string like \"40MiB\")", v);
	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	r = vf_manifest_parse_size(s, ret);
	if (r == -ERANGE)
		return vf_err_set(err, ERANGE, "%s: size %s does not fit in 64 bits", field,
				  vf_manifest_show(s, show));
	if (r)
		return vf_err_set(err, EINVAL, "%s: expected a size (digits, then B, KiB, MiB, "
				  "GiB or TiB), got %s", field, vf_manifest_show(s, show));
	return 0;
}

static int get_mode(json_t *v, const char *field, uint32_t *ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	uint64_t x;
	int r;

	if (json_is_integer(v)) {
		if ((r = vf_manifest_get_uint(v, field, 07777, &x, err)))
			return r;
		*ret = (uint32_t)x;
		return 0;
	}
	if (!json_is_string(v))
		return vf_manifest_type_err(err, field, "a mode (a string like \"0644\")", v);
	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	if (vf_manifest_parse_mode(s, ret))
		return vf_err_set(err, EINVAL, "%s: expected 1 to 4 octal digits (at most "
				  "\"7777\"), got %s", field, vf_manifest_show(s, show));
	return 0;
}

static int get_id(json_t *v, const char *field, uint32_t *ret, struct vf_err *err)
{
	uint64_t x;
	int r;

	if ((r = vf_manifest_get_uint(v, field, UINT32_MAX, &x, err)))
		return r;
	*ret = (uint32_t)x;
	return 0;
}

static int get_array(json_t *v, const char *field, struct vf_err *err)
{
	if (!json_is_array(v))
		return vf_manifest_type_err(err, field, "an array", v);
	return 0;
}

static int get_object(json_t *v, const char *field, struct vf_err *err)
{
	if (!json_is_object(v))
		return vf_manifest_type_err(err, field, "an object", v);
	return 0;
}

static int dup_str(const char *s, char **ret, struct vf_err *err)
{
	char *c = strdup(s);

	if (!c)
		return vf_err_set(err, ENOMEM, "out of memory");
	free(*ret);
	*ret = c;
	return 0;
}

static int oom(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

/* A required key of an object. */
static int need(json_t *obj, const char *key, const char *field, json_t **ret,
		struct vf_err *err)
{
	*ret = json_object_get(obj, key);
	if (!*ret)
		return vf_err_set(err, EINVAL, "%s: missing required key '%s'", field, key);
	return 0;
}

/* An in-image path: string, normalised, absolute. */
static int get_image_path(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *why;

	if (!json_is_string(v))
		return vf_manifest_type_err(err, field, "a string", v);
	why = vf_manifest_image_path_problem(json_string_value(v), json_string_length(v));
	if (why)
		return vf_err_set(err, EINVAL, "%s: path %s %s (expected a normalised absolute "
				  "path like \"/etc/motd\")", field,
				  vf_manifest_show(json_string_value(v), show), why);
	*ret = json_string_value(v);
	return 0;
}

/* A host path naming a file: non-empty, not a directory form. */
static int get_host_path(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s, *base;
	size_t n;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	n = strlen(s);
	if (n == 0)
		return vf_err_set(err, EINVAL, "%s: expected a path, got ''", field);
	if (n > VF_MANIFEST_PATH_MAX)
		return vf_err_set(err, EINVAL, "%s: path is longer than %d bytes", field,
				  VF_MANIFEST_PATH_MAX);
	base = strrchr(s, '/');
	base = base ? base + 1 : s;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return vf_err_set(err, EINVAL, "%s: path %s does not name a file", field,
				  vf_manifest_show(s, show));
	*ret = s;
	return 0;
}

/* A glob over absolute in-image paths. */
static int get_glob(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	if (s[0] != '/')
		return vf_err_set(err, EINVAL, "%s: glob %s is not absolute (expected one like "
				  "\"/usr/share/doc/**\")", field, vf_manifest_show(s, show));
	if (strlen(s) > VF_MANIFEST_PATH_MAX)
		return vf_err_set(err, EINVAL, "%s: glob is longer than %d bytes", field,
				  VF_MANIFEST_PATH_MAX);
	*ret = s;
	return 0;
}

static int get_label(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s, *why;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	why = vf_manifest_label_problem(s);
	if (why)
		return vf_err_set(err, EINVAL, "%s: SELinux label %s %s", field,
				  vf_manifest_show(s, show), why);
	*ret = s;
	return 0;
}

/* An array of strings checked by `get`, copied into *ret / *ret_n. */
static int get_str_list(json_t *v, const char *field,
			int (*get)(json_t *, const char *, const char **, struct vf_err *),
			char ***ret, size_t *ret_n, struct vf_err *err)
{
	char f[FIELD_MAX];
	size_t i, n;
	json_t *e;
	int r;

	if ((r = get_array(v, field, err)))
		return r;
	n = json_array_size(v);
	if (n == 0)
		return 0;
	*ret = calloc(n, sizeof(**ret));
	if (!*ret)
		return oom(err);
	*ret_n = n;
	json_array_foreach(v, i, e) {
		const char *s;

		if ((r = get(e, idx(f, field, i), &s, err)))
			return r;
		if ((r = dup_str(s, &(*ret)[i], err)))
			return r;
	}
	return 0;
}

/* ---- duplicates ---------------------------------------------------------------- */

struct key_ref {
	const char *key;
	const char *array; /* "packages", "files", ... */
	size_t index;
};

static int cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	c = strcmp(x->array, y->array);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Refuse the same key twice among refs (sorted here). */
static int check_unique(struct key_ref *refs, size_t n, const char *what, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];

	if (n < 2)
		return 0;
	qsort(refs, n, sizeof(*refs), cmp_key_ref);
	for (size_t i = 1; i < n; i++)
		if (strcmp(refs[i - 1].key, refs[i].key) == 0)
			return vf_err_set(err, EINVAL, "%s %s is declared twice in one manifest "
					  "(%s[%zu] and %s[%zu])", what,
					  vf_manifest_show(refs[i].key, show), refs[i - 1].array,
					  refs[i - 1].index, refs[i].array, refs[i].index);
	return 0;
}

/* ---- sections ------------------------------------------------------------------- */

static int parse_packages(json_t *v, bool composed, struct vf_manifest *m, struct vf_err *err)
{
	static const char *const keys[] = { "name", "path", "sha256", "override", "allow_devices",
					    NULL };
	static const char *const keys_c[] = { "name", "path", "sha256", "override",
					      "allow_devices", "origin", "file", NULL };
	struct key_ref *refs = NULL;
	char show[VF_MANIFEST_SHOW_MAX], f[FIELD_MAX], g[FIELD_MAX];
	size_t i, n;
	json_t *e, *x;
	int r;

	if ((r = get_array(v, "packages", err)))
		return r;
	n = json_array_size(v);
	if (n == 0)
		return 0;
	m->pkgs = calloc(n, sizeof(*m->pkgs));
	refs = calloc(n, sizeof(*refs));
	if (!m->pkgs || !refs) {
		r = oom(err);
		goto out;
	}
	m->n_pkgs = n;
	json_array_foreach(v, i, e) {
		struct vf_manifest_pkg *p = &m->pkgs[i];
		const char *s;
		size_t len = 0;

		idx(f, "packages", i);
		if ((r = get_object(e, f, err)) ||
		    (r = vf_manifest_check_keys(e, f, composed ? keys_c : keys, err)))
			goto out;
		if ((r = need(e, "name", f, &x, err)) ||
		    (r = vf_manifest_get_string(x, sub(g, f, "name"), &s, err)))
			goto out;
		if (!vf_manifest_is_name(s, true)) {
			r = vf_err_set(err, EINVAL, "%s: expected a package name ([a-z0-9] then up "
				       "to 63 of [a-z0-9._+-]), got %s", g, vf_manifest_show(s, show));
			goto out;
		}
		if ((r = dup_str(s, &p->name, err)))
			goto out;
		refs[i] = (struct key_ref){ p->name, "packages", i };
		if ((r = need(e, "path", f, &x, err)) ||
		    (r = get_host_path(x, sub(g, f, "path"), &s, err)) ||
		    (r = dup_str(s, &p->path, err)))
			goto out;
		if ((r = need(e, "sha256", f, &x, err)) ||
		    (r = vf_manifest_get_string(x, sub(g, f, "sha256"), &s, err)))
			goto out;
		if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64 ||
		    vf_hex_parse(s, p->sha256, sizeof(p->sha256), &len) || len != 32) {
			r = vf_err_set(err, EINVAL, "%s: expected 64 lowercase hex digits, got %s", g,
				       vf_manifest_show(s, show));
			goto out;
		}
		if ((x = json_object_get(e, "override")) &&
		    (r = vf_manifest_get_bool(x, sub(g, f, "override"), &p->override, err)))
			goto out;
		if ((x = json_object_get(e, "allow_devices")) &&
		    (r = vf_manifest_get_bool(x, sub(g, f, "allow_devices"), &p->allow_devices,
					      err)))
			goto out;
		if (composed) {
			if ((r = need(e, "origin", f, &x, err)) ||
			    (r = vf_manifest_get_string(x, sub(g, f, "origin"), &s, err)) ||
			    (r = dup_str(s, &p->origin, err)) ||
			    (r = need(e, "file", f, &x, err)) ||
			    (r = vf_manifest_get_string(x, sub(g, f, "file"), &s, err)) ||
			    (r = dup_str(s, &p->file, err)))
				goto out;
		}
	}
	r = check_unique(refs, n, "package", err);
out:
	free(refs);
	return r;
}

static int parse_owner(json_t *e, const char *f, uint32_t *uid, uint32_t *gid,
		       struct vf_err *err)
{
	char g[FIELD_MAX];
	json_t *x;
	int r;

	if ((x = json_object_get(e, "uid")) && (r = get_id(x, sub(g, f, "uid"), uid, err)))
		return r;
	if ((x = json_object_get(e, "gid")) && (r = get_id(x, sub(g, f, "gid"), gid, err)))
		return r;
	return 0;
}

static int parse_origin(json_t *e, const char *f, bool composed, char **ret, struct vf_err *err)
{
	char g[FIELD_MAX];
	const char *s;
	json_t *x;
	int r;

	if (!composed)
		return 0;
	if ((r = need(e, "origin", f, &x, err)) ||
	    (r = vf_manifest_get_string(x, sub(g, f, "origin"), &s, err)))
		return r;
	return dup_str(s, ret, err);
}

static int parse_files(json_t *v, bool composed, struct vf_manifest *m, struct key_ref *refs,
		       struct vf_err *err)
{
	static const char *const keys[] = { "path", "content", "source", "mode", "uid", "gid",
					    NULL };
	static const char *const keys_c[] = { "path", "content", "source", "mode", "uid", "gid",
					      "origin", "file", NULL };
	char f[FIELD_MAX], g[FIELD_MAX];
	size_t i, n;
	json_t *e, *x;
	int r;

	if ((r = get_array(v, "files", err)))
		return r;
	n = json_array_size(v);
	if (n == 0)
		return 0;
	m->files = calloc(n, sizeof(*m->files));
	if (!m->files)
		return oom(err);
	m->n_files = n;
	json_array_foreach(v, i, e) {
		struct vf_manifest_file *fl = &m->files[i];
		json_t *content, *source;
		const char *s;

		fl->mode = 0644;
		idx(f, "files", i);
		if ((r = get_object(e, f, err)) ||
		    (r = vf_manifest_check_keys(e, f, composed ? keys_c : keys, err)) ||
		    (r = need(e, "path", f, &x, err)) ||
		    (r = get_image_path(x, sub(g, f, "path"), &s, err)) ||
		    (r = dup_str(s, &fl->path, err)))
			return r;
		refs[i] = (struct key_ref){ fl->path, "files", i };
		content = json_object_get(e, "content");
		source = json_object_get(e, "source");
		if (!content == !source)
			return vf_err_set(err, EINVAL, "%s: expected exactly one of 'content' and "
					  "'source', got %s", f, content ? "both" : "neither");
		if (content) {
			if ((r = vf_manifest_get_string(content, sub(g, f, "content"), &s, err)) ||
			    (r = dup_str(s, &fl->content, err)))
				return r;
			fl->content_len = strlen(s);
		} else {
			if ((r = get_host_path(source, sub(g, f, "source"), &s, err)))
				return r;
			if (composed &&
			    ((r = need(e, "file", f, &x, err)) ||
			     (r = vf_manifest_get_string(x, sub(g, f, "file"), &s, err)) ||
			     (r = dup_str(s, &fl->source, err))))
				return r;
		}
		if ((x = json_object_get(e, "mode")) &&
		    (r = get_mode(x, sub(g, f, "mode"), &fl->mode, err)))
			return r;
		if ((r = parse_owner(e, f, &fl->uid, &fl->gid, err)) ||
		    (r = parse_origin(e, f, composed, &fl->origin, err)))
			return r;
	}
	return 0;
}

static int parse_dirs(json_t *v, bool composed, struct vf_manifest *m, struct key_ref *refs,
		      struct vf_err *err)
{
	static const char *const keys[] = { "path", "mode", "uid", "gid", NULL };
	static const char *const keys_c[] = { "path", "mode", "uid", "gid", "origin", NULL };
	char f[FIELD_MAX], g[FIELD_MAX];
	size_t i, n;
	json_t *e, *x;
	int r;

	if ((r = get_array(v, "directories", err)))
		return r;
	n = json_array_size(v);
	if (n == 0)
		return 0;
	m->dirs = calloc(n, sizeof(*m->dirs));
	if (!m->dirs)
		return oom(err);
	m->n_dirs = n;
	json_array_foreach(v, i, e) {
		struct vf_manifest_dir *d = &m->dirs[i];
		const char *s;

		d->mode = 0755;
		idx(f, "directories", i);
		if ((r = get_object(e, f, err)) ||
		    (r = vf_manifest_check_keys(e, f, composed ? keys_c : keys, err)) ||
		    (r = need(e, "path", f, &x, err)) ||
		    (r = get_image_path(x, sub(g, f, "path"), &s, err)) ||
		    (r = dup_str(s, &d->path, err)))
			return r;
		refs[i] = (struct key_ref){ d->path, "directories", i };
		if ((x = json_object_get(e, "mode")) &&
		    (r = get_mode(x, sub(g, f, "mode"), &d->mode, err)))
			return r;
		if ((r = parse_owner(e, f, &d->uid, &d->gid, err)) ||
		    (r = parse_origin(e, f, composed, &d->origin, err)))
			return r;
	}
	return 0;
}

static int parse_symlinks(json_t *v, bool composed, struct vf_manifest *m,
			  struct key_ref *refs, struct vf_err *err)
{
	static const char *const keys[] = { "path", "target", "uid", "gid", NULL };
	static const char *const keys_c[] = { "path", "target", "uid", "gid", "origin", NULL };
	char f[FIELD_MAX], g[FIELD_MAX];
	size_t i, n;
	json_t *e, *x;
	int r;

	if ((r = get_array(v, "symlinks", err)))
		return r;
	n = json_array_size(v);
	if (n == 0)
		return 0;
	m->symlinks = calloc(n, sizeof(*m->symlinks));
	if (!m->symlinks)
		return oom(err);
	m->n_symlinks = n;
	json_array_foreach(v, i, e) {
		struct vf_manifest_symlink *l = &m->symlinks[i];
		const char *s;

		idx(f, "symlinks", i);
		if ((r = get_object(e, f, err)) ||
		    (r = vf_manifest_check_keys(e, f, composed ? keys_c : keys, err)) ||
		    (r = need(e, "path", f, &x, err)) ||
		    (r = get_image_path(x, sub(g, f, "path"), &s, err)) ||
		    (r = dup_str(s, &l->path, err)))
			return r;
		refs[i] = (struct key_ref){ l->path, "symlinks", i };
		if ((r = need(e, "target", f, &x, err)) ||
		    (r = vf_manifest_get_string(x, sub(g, f, "target"), &s, err)))
			return r;
		if (!*s || strlen(s) > VF_MANIFEST_PATH_MAX)
			return vf_err_set(err, EINVAL, "%s: expected 1 to %d bytes, got %zu", g,
					  VF_MANIFEST_PATH_MAX, strlen(s));
		if ((r = dup_str(s, &l->target, err)) ||
		    (r = parse_owner(e, f, &l->uid, &l->gid, err)) ||
		    (r = parse_origin(e, f, composed, &l->origin, err)))
			return r;
	}
	return 0;
}

/* files, directories and symlinks: one namespace of paths per manifest. */
static int parse_entries(json_t *doc, bool composed, struct vf_manifest *m, struct vf_err *err)
{
	json_t *files = json_object_get(doc, "files"), *dirs = json_object_get(doc, "directories");
	json_t *links = json_object_get(doc, "symlinks");
	size_t nf = json_array_size(files), nd = json_array_size(dirs);
	size_t nl = json_array_size(links);
	struct key_ref *refs = calloc(nf + nd + nl + 1, sizeof(*refs));
	int r = 0;

	if (!refs)
		return oom(err);
	if ((files && (r = parse_files(files, composed, m, refs, err))) ||
	    (dirs && (r = parse_dirs(dirs, composed, m, refs + nf, err))) ||
	    (links && (r = parse_symlinks(links, composed, m, refs + nf + nd, err))))
		goto out;
	r = check_unique(refs, nf + nd + nl, "path", err);
out:
	free(refs);
	return r;
}

static int get_cmdline_param(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	if (!*s || *s == '=')
		return vf_err_set(err, EINVAL, "%s: expected \"key\" or \"key=value\", got %s",
				  field, vf_manifest_show(s, show));
	if (strlen(s) > VF_MANIFEST_PATH_MAX)
		return vf_err_set(err, EINVAL, "%s: parameter is longer than %d bytes", field,
				  VF_MANIFEST_PATH_MAX);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return vf_err_set(err, EINVAL, "%s: parameter %s contains whitespace or a "
					  "control character", field, vf_manifest_show(s, show));
	*ret = s;
	return 0;
}

/* A kernel module name: [A-Za-z0-9_-], 1 to VF_MANIFEST_MODULE_NAME_MAX bytes. */
static int get_module_name(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	size_t n;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	n = strlen(s);
	if (n == 0 || n > VF_MANIFEST_MODULE_NAME_MAX ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return vf_err_set(err, EINVAL, "%s: expected a module name (1 to %d of "
				  "[A-Za-z0-9_-], e.g. \"dm-verity\"), got %s", field,
				  VF_MANIFEST_MODULE_NAME_MAX, vf_manifest_show(s, show));
	*ret = s;
	return 0;
}

/* Module names compare with '-' and '_' equivalent. */
static bool same_module(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static int parse_kernel_package(json_t *v, bool composed, struct vf_manifest_kernel *k,
				struct vf_err *err)
{
	static const char *const keys[] = { "path", "sha256", NULL };
	static const char *const keys_c[] = { "path", "sha256", "origin", "file", NULL };
	char show[VF_MANIFEST_SHOW_MAX];
	size_t len = 0;
	const char *s;
	json_t *x;
	int r;

	if ((r = get_object(v, "kernel.package", err)) ||
	    (r = vf_manifest_check_keys(v, "kernel.package", composed ? keys_c : keys, err)))
		return r;
	if ((r = need(v, "path", "kernel.package", &x, err)) ||
	    (r = get_host_path(x, "kernel.package.path", &s, err)) ||
	    (r = dup_str(s, &k->path, err)))
		return r;
	if ((r = need(v, "sha256", "kernel.package", &x, err)) ||
	    (r = vf_manifest_get_string(x, "kernel.package.sha256", &s, err)))
		return r;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64 ||
	    vf_hex_parse(s, k->sha256, sizeof(k->sha256), &len) || len != 32)
		return vf_err_set(err, EINVAL, "kernel.package.sha256: expected 64 lowercase hex "
				  "digits, got %s", vf_manifest_show(s, show));
	if (composed &&
	    ((r = need(v, "origin", "kernel.package", &x, err)) ||
	     (r = vf_manifest_get_string(x, "kernel.package.origin", &s, err)) ||
	     (r = dup_str(s, &k->origin, err)) ||
	     (r = need(v, "file", "kernel.package", &x, err)) ||
	     (r = vf_manifest_get_string(x, "kernel.package.file", &s, err)) ||
	     (r = dup_str(s, &k->file, err))))
		return r;
	k->has_package = true;
	return 0;
}

/* kernel.image: a glob over the package's paths (relative; a leading '/' is allowed). */
static int get_package_glob(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	if (!*s || strlen(s) > VF_MANIFEST_PATH_MAX || strcmp(s, "/") == 0)
		return vf_err_set(err, EINVAL, "%s: expected a glob of 1 to %d bytes naming a file "
				  "in the package (like \"boot/vmlinuz-*\"), got %s", field,
				  VF_MANIFEST_PATH_MAX, vf_manifest_show(s, show));
	*ret = s;
	return 0;
}

static int parse_kernel(json_t *v, bool composed, struct vf_manifest *m, struct vf_err *err)
{
	static const char *const keys[] = { "cmdline", "package", "image", "modules", "init", NULL };
	struct vf_manifest_kernel *k = &m->kernel;
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	json_t *x;
	int r;

	if ((r = get_object(v, "kernel", err)) ||
	    (r = vf_manifest_check_keys(v, "kernel", keys, err)))
		return r;
	if ((x = json_object_get(v, "cmdline")) &&
	    (r = get_str_list(x, "kernel.cmdline", get_cmdline_param, &m->cmdline, &m->n_cmdline,
			      err)))
		return r;
	if ((x = json_object_get(v, "package")) &&
	    (r = parse_kernel_package(x, composed, k, err)))
		return r;
	if ((x = json_object_get(v, "image")) &&
	    ((r = get_package_glob(x, "kernel.image", &s, err)) || (r = dup_str(s, &k->image, err))))
		return r;
	if ((x = json_object_get(v, "modules"))) {
		if ((r = get_str_list(x, "kernel.modules", get_module_name, &k->modules,
				      &k->n_modules, err)))
			return r;
		if (k->n_modules > VF_MANIFEST_KERNEL_MODULES_MAX)
			return vf_err_set(err, EINVAL, "kernel.modules: %zu modules, more than the "
					  "%d allowed", k->n_modules, VF_MANIFEST_KERNEL_MODULES_MAX);
		for (size_t i = 0; i < k->n_modules; i++)
			for (size_t j = 0; j < i; j++)
				if (same_module(k->modules[i], k->modules[j]))
					return vf_err_set(err, EINVAL, "kernel.modules[%zu]: module "
							  "%s is already named by kernel.modules[%zu] "
							  "('-' and '_' are the same in module names)",
							  i, vf_manifest_show(k->modules[i], show), j);
	}
	if ((x = json_object_get(v, "init")) &&
	    ((r = get_image_path(x, "kernel.init", &s, err)) || (r = dup_str(s, &k->init, err))))
		return r;
	if (!composed)
		return 0;
	/* the composed kernel: the initramfs needs a package and an init */
	if (!k->has_package) {
		const char *given = k->n_modules ? "modules" : k->init ? "init" :
				    k->image ? "image" : NULL;

		if (given)
			return vf_err_set(err, EINVAL, "kernel.%s: needs kernel.package (the kernel "
					  "package the initramfs is built from)", given);
		return 0;
	}
	if (!k->init)
		return vf_err_set(err, EINVAL, "kernel: missing required key 'init' (the path in "
				  "the image of the program that becomes the initramfs's /init, e.g. "
				  "\"/usr/lib/vforge/vinit\"), needed with kernel.package");
	if (!k->image && (r = dup_str(VF_MANIFEST_KERNEL_IMAGE_DEFAULT, &k->image, err)))
		return r;
	return 0;
}

static int parse_selinux(json_t *v, struct vf_manifest *m, struct vf_err *err)
{
	static const char *const keys[] = { "default", "file_contexts", NULL };
	static const char *const rule_keys[] = { "regex", "label", "type", NULL };
	static const char *const types[] = { "file", "dir", "symlink", "char", "block", "fifo",
					     "socket", NULL };
	char show[VF_MANIFEST_SHOW_MAX], f[FIELD_MAX], g[FIELD_MAX];
	const char *s;
	json_t *x, *e;
	size_t i, n;
	int r;

	if ((r = get_object(v, "selinux", err)) ||
	    (r = vf_manifest_check_keys(v, "selinux", keys, err)))
		return r;
	if ((x = json_object_get(v, "default")) &&
	    ((r = get_label(x, "selinux.default", &s, err)) ||
	     (r = dup_str(s, &m->default_label, err))))
		return r;
	if (!(x = json_object_get(v, "file_contexts")))
		return 0;
	if ((r = get_array(x, "selinux.file_contexts", err)))
		return r;
	n = json_array_size(x);
	if (n == 0)
		return 0;
	m->contexts = calloc(n, sizeof(*m->contexts));
	if (!m->contexts)
		return oom(err);
	m->n_contexts = n;
	json_array_foreach(x, i, e) {
		struct vf_manifest_context *c = &m->contexts[i];
		char why[200];
		json_t *y;

		idx(f, "selinux.file_contexts", i);
		if ((r = get_object(e, f, err)) || (r = vf_manifest_check_keys(e, f, rule_keys, err)))
			return r;
		if ((r = need(e, "regex", f, &y, err)) ||
		    (r = vf_manifest_get_string(y, sub(g, f, "regex"), &s, err)))
			return r;
		if (!vf_manifest_regex_ok(s, why, sizeof(why)))
			return vf_err_set(err, EINVAL, "%s: regex %s %s", g,
					  vf_manifest_show(s, show), why);
		if ((r = dup_str(s, &c->regex, err)))
			return r;
		if ((r = need(e, "label", f, &y, err)) ||
		    (r = get_label(y, sub(g, f, "label"), &s, err)) ||
		    (r = dup_str(s, &c->label, err)))
			return r;
		if ((y = json_object_get(e, "type"))) {
			size_t k;

			if ((r = vf_manifest_get_string(y, sub(g, f, "type"), &s, err)))
				return r;
			for (k = 0; types[k]; k++)
				if (strcmp(types[k], s) == 0)
					break;
			if (!types[k])
				return vf_err_set(err, EINVAL, "%s: expected file, dir, symlink, "
						  "char, block, fifo or socket, got %s", g,
						  vf_manifest_show(s, show));
			if ((r = dup_str(s, &c->type, err)))
				return r;
		}
	}
	return 0;
}

static int parse_policy(json_t *v, struct vf_manifest *m, struct vf_err *err)
{
	static const char *const keys[] = { "defaults", "forbid", "allow", NULL };
	json_t *x;
	int r;

	if ((r = get_object(v, "policy", err)) ||
	    (r = vf_manifest_check_keys(v, "policy", keys, err)))
		return r;
	if ((x = json_object_get(v, "defaults")) &&
	    (r = vf_manifest_get_bool(x, "policy.defaults", &m->default_policy, err)))
		return r;
	if ((x = json_object_get(v, "forbid")) &&
	    (r = get_str_list(x, "policy.forbid", get_glob, &m->forbid, &m->n_forbid, err)))
		return r;
	if ((x = json_object_get(v, "allow")) &&
	    (r = get_str_list(x, "policy.allow", get_glob, &m->allow, &m->n_allow, err)))
		return r;
	return 0;
}

static int parse_limits(json_t *v, struct vf_manifest *m, struct vf_err *err)
{
	static const char *const keys[] = { "max_entry_size", "max_entries", NULL };
	json_t *x;
	int r;

	if ((r = get_object(v, "limits", err)) ||
	    (r = vf_manifest_check_keys(v, "limits", keys, err)))
		return r;
	if ((x = json_object_get(v, "max_entry_size"))) {
		if ((r = vf_manifest_get_size(x, "limits.max_entry_size", &m->max_entry_size, err)))
			return r;
		if (m->max_entry_size == 0)
			return vf_err_set(err, EINVAL, "limits.max_entry_size: must be at least 1");
	}
	if ((x = json_object_get(v, "max_entries"))) {
		if ((r = vf_manifest_get_uint(x, "limits.max_entries", INT64_MAX, &m->max_entries,
					      err)))
			return r;
		if (m->max_entries == 0)
			return vf_err_set(err, EINVAL, "limits.max_entries: must be at least 1");
	}
	return 0;
}

static int parse_update(json_t *v, bool composed, struct vf_manifest *m, struct vf_err *err)
{
	static const char *const keys[] = { "root", "path", NULL };
	static const char *const keys_c[] = { "root", "path", "file", NULL };
	const char *s, *path = VF_MANIFEST_UPDATE_PATH_DEFAULT;
	json_t *x;
	int r;

	if ((r = get_object(v, "update", err)) ||
	    (r = vf_manifest_check_keys(v, "update", composed ? keys_c : keys, err)))
		return r;
	if ((x = json_object_get(v, "path")) && (r = get_image_path(x, "update.path", &path, err)))
		return r;
	x = json_object_get(v, "root");
	if (!x) {
		if (composed)
			return vf_err_set(err, EINVAL, "update: missing required key 'root' (the "
					  "TUF root.json to embed)");
		return 0;
	}
	if ((r = get_host_path(x, "update.root", &s, err)))
		return r;
	if (!composed)
		return 0;
	if ((r = need(v, "file", "update", &x, err)) ||
	    (r = vf_manifest_get_string(x, "update.file", &s, err)) ||
	    (r = dup_str(s, &m->update_root, err)) || (r = dup_str(path, &m->update_root_path, err)))
		return r;
	return 0;
}

static int get_include(json_t *v, const char *field, const char **ret, struct vf_err *err)
{
	const char *s;
	int r;

	if ((r = vf_manifest_get_string(v, field, &s, err)))
		return r;
	if (!*s || strlen(s) > VF_MANIFEST_PATH_MAX)
		return vf_err_set(err, EINVAL, "%s: expected a path of 1 to %d bytes", field,
				  VF_MANIFEST_PATH_MAX);
	*ret = s;
	return 0;
}

/* include and remove_packages: checked, not kept (composition applies them). */
static int parse_file_only(json_t *doc, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX], f[FIELD_MAX];
	struct key_ref *refs = NULL;
	json_t *x, *e;
	size_t i;
	int r = 0;

	if ((x = json_object_get(doc, "include"))) {
		if ((r = get_array(x, "include", err)))
			return r;
		json_array_foreach(x, i, e) {
			const char *s;

			if ((r = get_include(e, idx(f, "include", i), &s, err)))
				return r;
		}
	}
	if (!(x = json_object_get(doc, "remove_packages")))
		return 0;
	if ((r = get_array(x, "remove_packages", err)))
		return r;
	refs = calloc(json_array_size(x) + 1, sizeof(*refs));
	if (!refs)
		return oom(err);
	json_array_foreach(x, i, e) {
		const char *s;

		if ((r = vf_manifest_get_string(e, idx(f, "remove_packages", i), &s, err)))
			goto out;
		if (!vf_manifest_is_name(s, true)) {
			r = vf_err_set(err, EINVAL, "%s: expected a package name, got %s", f,
				       vf_manifest_show(s, show));
			goto out;
		}
		refs[i] = (struct key_ref){ s, "remove_packages", i };
	}
	r = check_unique(refs, json_array_size(x), "removed package", err);
out:
	free(refs);
	return r;
}

/* ---- the document --------------------------------------------------------------- */

static int cmp_pkg(const void *a, const void *b)
{
	return strcmp(((const struct vf_manifest_pkg *)a)->name,
		      ((const struct vf_manifest_pkg *)b)->name);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct vf_manifest_file *)a)->path,
		      ((const struct vf_manifest_file *)b)->path);
}

static int cmp_dir(const void *a, const void *b)
{
	return strcmp(((const struct vf_manifest_dir *)a)->path,
		      ((const struct vf_manifest_dir *)b)->path);
}

static int cmp_symlink(const void *a, const void *b)
{
	return strcmp(((const struct vf_manifest_symlink *)a)->path,
		      ((const struct vf_manifest_symlink *)b)->path);
}

static int parse_identity(json_t *doc, bool composed, struct vf_manifest *m, struct vf_err *err)
{
	char show[VF_MANIFEST_SHOW_MAX];
	const char *s;
	uint64_t sde;
	json_t *x;
	int r;

	if ((x = json_object_get(doc, "name"))) {
		if ((r = vf_manifest_get_string(x, "name", &s, err)))
			return r;
		if (!vf_manifest_is_name(s, false))
			return vf_err_set(err, EINVAL, "name: expected [a-z0-9] then up to 63 of "
					  "[a-z0-9-], got %s", vf_manifest_show(s, show));
		if ((r = dup_str(s, &m->name, err)))
			return r;
	} else if (composed) {
		return vf_err_set(err, EINVAL, "missing required key 'name' (in the variant or "
				  "one of its includes)");
	}
	if ((x = json_object_get(doc, "version"))) {
		if ((r = vf_manifest_get_string(x, "version", &s, err)))
			return r;
		if (!vf_manifest_is_semver(s))
			return vf_err_set(err, EINVAL, "version: expected a SemVer 2.0 version "
					  "(MAJOR.MINOR.PATCH[-pre][+build], no leading zeros), "
					  "got %s", vf_manifest_show(s, show));
		if ((r = dup_str(s, &m->version, err)))
			return r;
	} else if (composed) {
		return vf_err_set(err, EINVAL, "missing required key 'version' (in the variant "
				  "or one of its includes)");
	}
	if ((x = json_object_get(doc, "arch"))) {
		if ((r = vf_manifest_get_string(x, "arch", &s, err)))
			return r;
		if (strcmp(s, "x86_64") && strcmp(s, "aarch64"))
			return vf_err_set(err, EINVAL, "arch: expected \"x86_64\" or \"aarch64\", "
					  "got %s", vf_manifest_show(s, show));
		if ((r = dup_str(s, &m->arch, err)))
			return r;
	} else if (composed) {
		return vf_err_set(err, EINVAL, "missing required key 'arch' (in the variant or "
				  "one of its includes)");
	}
	if ((x = json_object_get(doc, "source_date_epoch"))) {
		if ((r = vf_manifest_get_uint(x, "source_date_epoch", (UINT64_C(1) << 53) - 1, &sde,
					      err)))
			return r;
		m->has_source_date_epoch = true;
		m->source_date_epoch = (int64_t)sde;
	}
	return 0;
}

int vf_manifest_parse_doc(json_t *doc, bool composed, struct vf_manifest *m,
			  struct vf_err *err)
{
	static const char *const keys[] = {
		"name", "version", "arch", "source_date_epoch", "include", "packages",
		"remove_packages", "files", "directories", "symlinks", "remove", "kernel",
		"selinux", "policy", "limits", "layout", "update", NULL,
	};
	static const char *const keys_c[] = {
		"name", "version", "arch", "source_date_epoch", "packages", "files",
		"directories", "symlinks", "remove", "kernel", "selinux", "policy", "limits",
		"layout", "update", NULL,
	};
	json_t *x;
	int r;

	m->default_policy = true;
	m->max_entry_size = UINT64_C(1) << 30;
	m->max_entries = 1000000;
	if (!json_is_object(doc))
		return vf_manifest_type_err(err, "manifest", "an object", doc);
	if ((r = vf_manifest_check_keys(doc, "", composed ? keys_c : keys, err)) ||
	    (r = parse_identity(doc, composed, m, err)))
		return r;
	if (!composed && (r = parse_file_only(doc, err)))
		return r;
	if ((x = json_object_get(doc, "packages")) && (r = parse_packages(x, composed, m, err)))
		return r;
	if ((r = parse_entries(doc, composed, m, err)))
		return r;
	if ((x = json_object_get(doc, "remove")) &&
	    (r = get_str_list(x, "remove", get_glob, &m->remove, &m->n_remove, err)))
		return r;
	if ((x = json_object_get(doc, "kernel")) && (r = parse_kernel(x, composed, m, err)))
		return r;
	if ((x = json_object_get(doc, "selinux")) && (r = parse_selinux(x, m, err)))
		return r;
	if ((x = json_object_get(doc, "policy")) && (r = parse_policy(x, m, err)))
		return r;
	if ((x = json_object_get(doc, "limits")) && (r = parse_limits(x, m, err)))
		return r;
	x = json_object_get(doc, "layout");
	m->has_layout = x != NULL;
	if (x || composed) {
		if ((r = vf_manifest_parse_layout(x, composed, &m->layout, err)))
			return r;
	}
	if ((x = json_object_get(doc, "update")) && (r = parse_update(x, composed, m, err)))
		return r;
	if (m->n_pkgs)
		qsort(m->pkgs, m->n_pkgs, sizeof(*m->pkgs), cmp_pkg);
	if (m->n_files)
		qsort(m->files, m->n_files, sizeof(*m->files), cmp_file);
	if (m->n_dirs)
		qsort(m->dirs, m->n_dirs, sizeof(*m->dirs), cmp_dir);
	if (m->n_symlinks)
		qsort(m->symlinks, m->n_symlinks, sizeof(*m->symlinks), cmp_symlink);
	return 0;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void vf_manifest_release_typed(struct vf_manifest *m)
{
	free(m->name);
	free(m->version);
	free(m->arch);
	for (size_t i = 0; i < m->n_pkgs; i++) {
		free(m->pkgs[i].name);
		free(m->pkgs[i].path);
		free(m->pkgs[i].file);
		free(m->pkgs[i].origin);
	}
	free(m->pkgs);
	for (size_t i = 0; i < m->n_files; i++) {
		free(m->files[i].path);
		free(m->files[i].content);
		free(m->files[i].source);
		free(m->files[i].origin);
	}
	free(m->files);
	for (size_t i = 0; i < m->n_dirs; i++) {
		free(m->dirs[i].path);
		free(m->dirs[i].origin);
	}
	free(m->dirs);
	for (size_t i = 0; i < m->n_symlinks; i++) {
		free(m->symlinks[i].path);
		free(m->symlinks[i].target);
		free(m->symlinks[i].origin);
	}
	free(m->symlinks);
	free_list(m->remove, m->n_remove);
	free_list(m->cmdline, m->n_cmdline);
	free(m->kernel.path);
	free(m->kernel.file);
	free(m->kernel.origin);
	free(m->kernel.image);
	free_list(m->kernel.modules, m->kernel.n_modules);
	free(m->kernel.init);
	for (size_t i = 0; i < m->n_contexts; i++) {
		free(m->contexts[i].regex);
		free(m->contexts[i].type);
		free(m->contexts[i].label);
	}
	free(m->contexts);
	free(m->default_label);
	free_list(m->forbid, m->n_forbid);
	free_list(m->allow, m->n_allow);
	vf_manifest_layout_release(&m->layout);
	free(m->update_root);
	free(m->update_root_path);
	{
		char *path = m->path, **sources = m->sources;
		size_t n_sources = m->n_sources;
		void *json = m->json;

		/* what the loader owns (path, json, sources) stays for vf_manifest_free() */
		memset(m, 0, sizeof(*m));
		m->path = path;
		m->json = json;
		m->sources = sources;
		m->n_sources = n_sources;
	}
}
