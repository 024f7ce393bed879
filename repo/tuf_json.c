/*
 * repo: TUF metadata from and to JSON: the strict reader (every rule of
 * vf_tuf_md_parse()), the writer, validation, files.
 *
 * Unknown members are kept at every level (`extra`) so that foreign metadata
 * serialises back to the same canonical bytes; vf_tuf_from_json() checks that
 * `signed` has a canonical form at all, so a document that parses can be
 * verified and re-signed.
 */
#include "repo/cjson.h"
#include "repo/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_MAX_LEN 320

/* ---- field paths for messages --------------------------------------------------- */

static bool is_ident(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Format a field path into out[PATH_MAX_LEN], truncating long ones. */
static const char * __attribute__((format(printf, 2, 3)))
fmt_path(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, PATH_MAX_LEN, fmt, ap);
	va_end(ap);
	return out;
}

/* "parent.key" for identifiers, else parent["key"] (as the cjson encoder writes paths). */
static const char *sub(char out[PATH_MAX_LEN], const char *parent, const char *key)
{
	if (is_ident(key))
		return fmt_path(out, "%s%s%s", parent, *parent ? "." : "", key);
	return fmt_path(out, "%s[\"%.100s\"]", parent, key);
}

static const char *idx(char out[PATH_MAX_LEN], const char *parent, size_t i)
{
	return fmt_path(out, "%s[%zu]", parent, i);
}

static const char *type_desc(const json_t *v)
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

static int nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

/* ---- typed getters ------------------------------------------------------------------ */

static int want_type(const json_t *v, json_type t, const char *what, const char *path,
		     struct vf_err *err)
{
	if (!v)
		return vf_err_set(err, EINVAL, "%s: missing", path);
	if (json_typeof(v) != t && !(t == JSON_TRUE && json_is_boolean(v)))
		return vf_err_set(err, EINVAL, "%s: expected %s, got %s", path, what, type_desc(v));
	return 0;
}

static int get_obj(json_t *parent, const char *key, const char *ppath, json_t **ret,
		   struct vf_err *err)
{
	char p[PATH_MAX_LEN];
	json_t *v = json_object_get(parent, key);

	*ret = v;
	return want_type(v, JSON_OBJECT, "an object", sub(p, ppath, key), err);
}

static int get_arr(json_t *parent, const char *key, const char *ppath, json_t **ret,
		   struct vf_err *err)
{
	char p[PATH_MAX_LEN];
	json_t *v = json_object_get(parent, key);

	*ret = v;
	return want_type(v, JSON_ARRAY, "an array", sub(p, ppath, key), err);
}

/* A string value without NUL bytes; `empty_ok` says whether "" is fine. */
static int str_value(const json_t *v, const char *path, bool empty_ok, const char **ret,
		     struct vf_err *err)
{
	int r;

	if ((r = want_type(v, JSON_STRING, "a string", path, err)))
		return r;
	if (strlen(json_string_value(v)) != json_string_length(v))
		return vf_err_set(err, EINVAL, "%s: contains \\u0000", path);
	if (!empty_ok && !json_string_length(v))
		return vf_err_set(err, EINVAL, "%s: empty string", path);
	*ret = json_string_value(v);
	return 0;
}

static int get_str(json_t *parent, const char *key, const char *ppath, bool empty_ok,
		   const char **ret, struct vf_err *err)
{
	char p[PATH_MAX_LEN];

	return str_value(json_object_get(parent, key), sub(p, ppath, key), empty_ok, ret, err);
}

static int dup_str(json_t *parent, const char *key, const char *ppath, bool empty_ok, char **ret,
		   struct vf_err *err)
{
	const char *s;
	int r;

	if ((r = get_str(parent, key, ppath, empty_ok, &s, err)))
		return r;
	return (*ret = strdup(s)) ? 0 : nomem(err);
}

static int get_uint(json_t *parent, const char *key, const char *ppath, uint64_t min,
		    uint64_t *ret, struct vf_err *err)
{
	char p[PATH_MAX_LEN];
	json_t *v = json_object_get(parent, key);
	json_int_t x;
	int r;

	if ((r = want_type(v, JSON_INTEGER, "an integer", sub(p, ppath, key), err)))
		return r;
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x < min)
		return vf_err_set(err, EINVAL, "%s: expected an integer of at least %llu, got %lld",
				  p, (unsigned long long)min, (long long)x);
	*ret = (uint64_t)x;
	return 0;
}

static int get_bool(json_t *parent, const char *key, const char *ppath, bool *ret,
		    struct vf_err *err)
{
	char p[PATH_MAX_LEN];
	json_t *v = json_object_get(parent, key);
	int r;

	if ((r = want_type(v, JSON_TRUE, "a boolean", sub(p, ppath, key), err)))
		return r;
	*ret = json_is_true(v);
	return 0;
}

/* The members of `obj` not named in `known` (NULL-terminated), or NULL when none. */
static int collect_extra(json_t *obj, const char *const *known, void **ret, struct vf_err *err)
{
	json_t *extra = NULL;
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; known[i]; i++)
			if (strcmp(known[i], key) == 0)
				break;
		if (known[i])
			continue;
		if ((!extra && !(extra = json_object())) || json_object_set(extra, key, v)) {
			json_decref(extra);
			return nomem(err);
		}
	}
	*ret = extra;
	return 0;
}

/* An array of non-empty strings, unique when `unique`. */
static int get_strv(json_t *parent, const char *key, const char *ppath, bool unique,
		    char ***ret, size_t *ret_n, struct vf_err *err)
{
	char p[PATH_MAX_LEN], pi[PATH_MAX_LEN];
	json_t *a;
	char **v = NULL;
	size_t n;
	int r;

	if ((r = get_arr(parent, key, ppath, &a, err)))
		return r;
	sub(p, ppath, key);
	n = json_array_size(a);
	if (n && !(v = calloc(n, sizeof(*v))))
		return nomem(err);
	for (size_t i = 0; i < n; i++) {
		const char *s;

		if ((r = str_value(json_array_get(a, i), idx(pi, p, i), false, &s, err)))
			goto fail;
		if (unique)
			for (size_t k = 0; k < i; k++)
				if (strcmp(v[k], s) == 0) {
					r = vf_err_set(err, EINVAL, "%s: duplicate entry \"%.80s\"",
						       pi, s);
					goto fail;
				}
		if (!(v[i] = strdup(s))) {
			r = nomem(err);
			goto fail;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	for (size_t i = 0; i < n && v; i++)
		free(v[i]);
	free(v);
	return r;
}

static bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static bool is_lower_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* {"sha256": hex, "sha512": hex}: non-empty, nothing else. */
static int parse_hashes(json_t *h, const char *path, struct vf_tuf_hashes *out,
			struct vf_err *err)
{
	char p[PATH_MAX_LEN];
	const char *key;
	json_t *v;
	int r;

	if ((r = want_type(h, JSON_OBJECT, "an object", path, err)))
		return r;
	if (!json_object_size(h))
		return vf_err_set(err, EINVAL, "%s: no hashes", path);
	memset(out, 0, sizeof(*out));
	json_object_foreach(h, key, v) {
		const char *s;
		size_t want;
		char *dst;

		if (strcmp(key, "sha256") == 0)
			want = 64, dst = out->sha256;
		else if (strcmp(key, "sha512") == 0)
			want = 128, dst = out->sha512;
		else
			return vf_err_set(err, EINVAL,
					  "%s: unsupported hash algorithm \"%.40s\" (vforge knows "
					  "sha256 and sha512)", path, key);
		if ((r = str_value(v, sub(p, path, key), false, &s, err)))
			return r;
		if (strlen(s) != want || !is_hex(s, want))
			return vf_err_set(err, EINVAL, "%s: expected %zu hex digits, got \"%.140s\"",
					  p, want, s);
		memcpy(dst, s, want + 1);
	}
	return 0;
}

/* ---- checks on names -------------------------------------------------------------- */

/* "X.Y" or "X.Y.Z" with X = 1, as python-tuf accepts. */
static int check_spec_version(const char *s, const char *path, struct vf_err *err)
{
	int parts = 0;
	const char *p = s;

	for (;;) {
		const char *start = p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == start)
			break;
		parts++;
		if (*p != '.')
			break;
		p++;
	}
	if (*p || parts < 2 || parts > 3)
		return vf_err_set(err, EINVAL, "%s: expected a version \"X.Y\" or \"X.Y.Z\", got \"%.40s\"",
				  path, s);
	if (strncmp(s, "1.", 2) != 0)
		return vf_err_set(err, EINVAL, "%s: unsupported specification version \"%.40s\" "
				  "(vforge implements 1.x)", path, s);
	return 0;
}

/* A target path: relative, "/"-separated, no empty, "." or ".." segment. */
static int check_target_path(const char *s, const char *path, struct vf_err *err)
{
	const char *seg = s;

	if (s[0] == '/')
		return vf_err_set(err, EINVAL, "%s: target path starts with \"/\"", path);
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 0)
			return vf_err_set(err, EINVAL, "%s: target path has an empty component", path);
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return vf_err_set(err, EINVAL, "%s: target path has a \"%.*s\" component",
					  path, (int)n, seg);
		if (!end)
			return 0;
		seg = end + 1;
	}
}

/* ---- keys, roles, delegations ---------------------------------------------------- */

static int parse_keys(json_t *obj, const char *path, unsigned flags, struct vf_tuf_keys *out,
		      struct vf_err *err)
{
	char p[PATH_MAX_LEN], pk[PATH_MAX_LEN];
	const char *keyid;
	json_t *k;
	int r;

	if ((r = want_type(obj, JSON_OBJECT, "an object", path, err)))
		return r;
	json_object_foreach(obj, keyid, k) {
		json_t *kv;
		const char *s;
		char computed[65];

		sub(p, path, keyid);
		if (!*keyid)
			return vf_err_set(err, EINVAL, "%s: empty keyid", path);
		if ((r = want_type(k, JSON_OBJECT, "a key object", p, err)) ||
		    (r = get_str(k, "keytype", p, false, &s, err)) ||
		    (r = get_str(k, "scheme", p, false, &s, err)) ||
		    (r = get_obj(k, "keyval", p, &kv, err)) ||
		    (r = get_str(kv, "public", sub(pk, p, "keyval"), false, &s, err)))
			return r;
		if (!(flags & VF_TUF_PARSE_OPAQUE_KEYIDS)) {
			if ((r = vf_tuf_keyid_of_json(k, computed, err)))
				return vf_err_prefix(err, "%s", p);
			if (strcmp(computed, keyid) != 0)
				return vf_err_set(err, EINVAL,
						  "%s: keyid does not match the key: expected %s "
						  "(sha256 of the canonical key object), got %.80s",
						  p, computed, keyid);
		}
		if ((r = vf_tuf_keys_insert_take(out, keyid, json_incref(k), err)))
			return r == -EEXIST ? vf_err_set(err, EINVAL, "%s: duplicate keyid", p) : r;
	}
	return 0;
}

/* keyids (unique, each in `keys`) and threshold (1 ≤ t ≤ number of keyids). */
static int parse_keyids_threshold(json_t *obj, const char *path, const struct vf_tuf_keys *keys,
				  const char *keys_path, char ***ret_keyids, size_t *ret_n,
				  uint64_t *ret_threshold, struct vf_err *err)
{
	char p[PATH_MAX_LEN], pi[PATH_MAX_LEN];
	int r;

	if ((r = get_strv(obj, "keyids", path, true, ret_keyids, ret_n, err)))
		return r;
	for (size_t i = 0; i < *ret_n; i++)
		if (!vf_tuf_keys_find(keys, (*ret_keyids)[i]))
			return vf_err_set(err, EINVAL, "%s: keyid %.80s is not in %s",
					  idx(pi, sub(p, path, "keyids"), i), (*ret_keyids)[i],
					  keys_path);
	if ((r = get_uint(obj, "threshold", path, 1, ret_threshold, err)))
		return r;
	if (*ret_threshold > *ret_n)
		return vf_err_set(err, EINVAL, "%s: threshold %llu is more than the %zu keyid%s of "
				  "the role", sub(p, path, "threshold"),
				  (unsigned long long)*ret_threshold, *ret_n, *ret_n == 1 ? "" : "s");
	return 0;
}

static int parse_root(json_t *s, struct vf_tuf_md *md, struct vf_err *err)
{
	static const char *const known_role[] = { "keyids", "threshold", NULL };
	json_t *keys, *roles, *v;
	const char *name;
	int r;

	if ((r = get_bool(s, "consistent_snapshot", "signed", &md->consistent_snapshot, err)) ||
	    (r = get_obj(s, "keys", "signed", &keys, err)) ||
	    (r = parse_keys(keys, "signed.keys", md->flags, &md->keys, err)) ||
	    (r = get_obj(s, "roles", "signed", &roles, err)))
		return r;
	json_object_foreach(roles, name, v) {
		char p[PATH_MAX_LEN];

		if (!vf_tuf_type_from_name(name))
			return vf_err_set(err, EINVAL, "%s: unknown top-level role (expected root, "
					  "targets, snapshot and timestamp)",
					  sub(p, "signed.roles", name));
	}
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		struct vf_tuf_role *role = &md->roles[i];
		const char *rname = vf_tuf_type_name((enum vf_tuf_type)(i + 1));
		char p[PATH_MAX_LEN];

		if (!(role->name = strdup(rname)))
			return nomem(err);
		if ((r = get_obj(roles, rname, "signed.roles", &v, err)))
			return r;
		sub(p, "signed.roles", rname);
		if ((r = parse_keyids_threshold(v, p, &md->keys, "signed.keys", &role->keyids,
						&role->n_keyids, &role->threshold, err)) ||
		    (r = collect_extra(v, known_role, &role->extra, err)))
			return r;
	}
	return 0;
}

static int parse_delegated_role(json_t *v, const char *p, const struct vf_tuf_keys *keys,
				const char *keys_path, struct vf_tuf_role *role, struct vf_err *err)
{
	static const char *const known[] = { "name", "keyids", "threshold", "terminating", "paths",
					     "path_hash_prefixes", NULL };
	char pp[PATH_MAX_LEN], pi[PATH_MAX_LEN];
	json_t *paths, *prefixes;
	int r;

	if ((r = want_type(v, JSON_OBJECT, "an object", p, err)) ||
	    (r = dup_str(v, "name", p, false, &role->name, err)))
		return r;
	if (vf_tuf_type_from_name(role->name))
		return vf_err_set(err, EINVAL, "%s: a delegated role cannot be named \"%s\"",
				  sub(pp, p, "name"), role->name);
	if ((r = parse_keyids_threshold(v, p, keys, keys_path, &role->keyids, &role->n_keyids,
					&role->threshold, err)) ||
	    (r = get_bool(v, "terminating", p, &role->terminating, err)))
		return r;
	paths = json_object_get(v, "paths");
	prefixes = json_object_get(v, "path_hash_prefixes");
	if (!!paths == !!prefixes)
		return vf_err_set(err, EINVAL, "%s: expected exactly one of paths and "
				  "path_hash_prefixes", p);
	role->has_paths = paths != NULL;
	if ((r = get_strv(v, paths ? "paths" : "path_hash_prefixes", p, false, &role->paths,
			  &role->n_paths, err)))
		return r;
	for (size_t i = 0; !paths && i < role->n_paths; i++)
		if (strlen(role->paths[i]) > 64 || !is_lower_hex(role->paths[i]))
			return vf_err_set(err, EINVAL, "%s: expected at most 64 lower-case hex digits, "
					  "got \"%.80s\"",
					  idx(pi, sub(pp, p, "path_hash_prefixes"), i), role->paths[i]);
	return collect_extra(v, known, &role->extra, err);
}

static int parse_succinct(json_t *v, const char *p, const struct vf_tuf_keys *keys,
			  const char *keys_path, struct vf_tuf_succinct *s, struct vf_err *err)
{
	static const char *const known[] = { "keyids", "threshold", "bit_length", "name_prefix",
					     NULL };
	uint64_t bits;
	int r;

	if ((r = want_type(v, JSON_OBJECT, "an object", p, err)) ||
	    (r = parse_keyids_threshold(v, p, keys, keys_path, &s->keyids, &s->n_keyids,
					&s->threshold, err)) ||
	    (r = get_uint(v, "bit_length", p, 1, &bits, err)) ||
	    (r = dup_str(v, "name_prefix", p, false, &s->name_prefix, err)))
		return r;
	if (bits > 32)
		return vf_err_set(err, EINVAL, "%s.bit_length: expected 1 to 32, got %llu", p,
				  (unsigned long long)bits);
	s->bit_length = (unsigned)bits;
	return collect_extra(v, known, &s->extra, err);
}

static int parse_delegations(json_t *v, struct vf_tuf_md *md, struct vf_err *err)
{
	static const char *const known[] = { "keys", "roles", "succinct_roles", NULL };
	static const char *const path = "signed.delegations";
	struct vf_tuf_delegations *d;
	json_t *keys, *roles, *succinct;
	int r;

	if ((r = want_type(v, JSON_OBJECT, "an object", path, err)))
		return r;
	if (!(d = md->delegations = calloc(1, sizeof(*d))))
		return nomem(err);
	if ((r = get_obj(v, "keys", path, &keys, err)) ||
	    (r = parse_keys(keys, "signed.delegations.keys", md->flags, &d->keys, err)))
		return r;
	roles = json_object_get(v, "roles");
	succinct = json_object_get(v, "succinct_roles");
	if (!!roles == !!succinct)
		return vf_err_set(err, EINVAL, "%s: expected exactly one of roles and succinct_roles",
				  path);
	if (succinct) {
		if (!(d->succinct = calloc(1, sizeof(*d->succinct))))
			return nomem(err);
		if ((r = parse_succinct(succinct, "signed.delegations.succinct_roles", &d->keys,
					"signed.delegations.keys", d->succinct, err)))
			return r;
	} else {
		size_t n;

		if ((r = get_arr(v, "roles", path, &roles, err)))
			return r;
		n = json_array_size(roles);
		if (n && !(d->roles = calloc(n, sizeof(*d->roles))))
			return nomem(err);
		for (size_t i = 0; i < n; i++) {
			char p[PATH_MAX_LEN];

			idx(p, "signed.delegations.roles", i);
			d->n_roles = i + 1;
			if ((r = parse_delegated_role(json_array_get(roles, i), p, &d->keys,
						      "signed.delegations.keys", &d->roles[i], err)))
				return r;
			for (size_t k = 0; k < i; k++)
				if (strcmp(d->roles[k].name, d->roles[i].name) == 0)
					return vf_err_set(err, EINVAL, "%s.name: duplicate role name "
							  "\"%.80s\"", p, d->roles[i].name);
		}
	}
	return collect_extra(v, known, &d->extra, err);
}

/* ---- targets, meta -------------------------------------------------------------------- */

static int cmp_target(const void *a, const void *b)
{
	return strcmp((*(struct vf_tuf_target *const *)a)->path,
		      (*(struct vf_tuf_target *const *)b)->path);
}

static int cmp_meta(const void *a, const void *b)
{
	return strcmp((*(struct vf_tuf_meta *const *)a)->name,
		      (*(struct vf_tuf_meta *const *)b)->name);
}

static int parse_targets(json_t *s, struct vf_tuf_md *md, struct vf_err *err)
{
	static const char *const known[] = { "length", "hashes", "custom", NULL };
	json_t *targets, *v, *d;
	const char *path;
	int r;

	if ((r = get_obj(s, "targets", "signed", &targets, err)))
		return r;
	if (json_object_size(targets) &&
	    !(md->targets = calloc(json_object_size(targets), sizeof(*md->targets))))
		return nomem(err);
	json_object_foreach(targets, path, v) {
		char p[PATH_MAX_LEN], ph[PATH_MAX_LEN];
		struct vf_tuf_target *t;

		sub(p, "signed.targets", path);
		if ((r = check_target_path(path, p, err)))
			return r;
		if (!(t = md->targets[md->n_targets++] = calloc(1, sizeof(*t))) ||
		    !(t->path = strdup(path)))
			return nomem(err);
		if ((r = want_type(v, JSON_OBJECT, "an object", p, err)) ||
		    (r = get_uint(v, "length", p, 0, &t->length, err)) ||
		    (r = parse_hashes(json_object_get(v, "hashes"), sub(ph, p, "hashes"), &t->hashes,
				      err)) ||
		    (r = collect_extra(v, known, &t->extra, err)))
			return r;
		if ((t->custom = json_object_get(v, "custom")))
			json_incref(t->custom);
	}
	if (md->n_targets)
		qsort(md->targets, md->n_targets, sizeof(*md->targets), cmp_target);
	if ((d = json_object_get(s, "delegations")))
		return parse_delegations(d, md, err);
	return 0;
}

static int parse_meta(json_t *s, struct vf_tuf_md *md, struct vf_err *err)
{
	static const char *const known[] = { "version", "length", "hashes", NULL };
	json_t *meta, *v;
	const char *name;
	int r;

	if ((r = get_obj(s, "meta", "signed", &meta, err)))
		return r;
	if (md->type == VF_TUF_TIMESTAMP &&
	    (json_object_size(meta) != 1 || !json_object_get(meta, "snapshot.json")))
		return vf_err_set(err, EINVAL, "signed.meta: a timestamp lists exactly "
				  "\"snapshot.json\"");
	if (json_object_size(meta) &&
	    !(md->meta = calloc(json_object_size(meta), sizeof(*md->meta))))
		return nomem(err);
	json_object_foreach(meta, name, v) {
		char p[PATH_MAX_LEN], ph[PATH_MAX_LEN];
		struct vf_tuf_meta *m;
		json_t *h;

		sub(p, "signed.meta", name);
		if (!*name)
			return vf_err_set(err, EINVAL, "%s: empty name", p);
		if (!(m = md->meta[md->n_meta++] = calloc(1, sizeof(*m))) ||
		    !(m->name = strdup(name)))
			return nomem(err);
		if ((r = want_type(v, JSON_OBJECT, "an object", p, err)) ||
		    (r = get_uint(v, "version", p, 1, &m->version, err)))
			return r;
		if (json_object_get(v, "length")) {
			if ((r = get_uint(v, "length", p, 0, &m->length, err)))
				return r;
			m->has_length = true;
		}
		if ((h = json_object_get(v, "hashes")) &&
		    (r = parse_hashes(h, sub(ph, p, "hashes"), &m->hashes, err)))
			return r;
		if ((r = collect_extra(v, known, &m->extra, err)))
			return r;
	}
	if (md->n_meta)
		qsort(md->meta, md->n_meta, sizeof(*md->meta), cmp_meta);
	return 0;
}

/* ---- documents -------------------------------------------------------------------- */

static int parse_sigs(json_t *a, struct vf_tuf_md *md, struct vf_err *err)
{
	static const char *const known[] = { "keyid", "sig", NULL };
	size_t n = json_array_size(a);
	int r;

	if (n && !(md->sigs = calloc(n, sizeof(*md->sigs))))
		return nomem(err);
	for (size_t i = 0; i < n; i++) {
		struct vf_tuf_sig *s = &md->sigs[i];
		json_t *v = json_array_get(a, i);
		char p[PATH_MAX_LEN], ps[PATH_MAX_LEN];

		idx(p, "signatures", i);
		md->n_sigs = i + 1;
		if ((r = want_type(v, JSON_OBJECT, "an object", p, err)) ||
		    (r = dup_str(v, "keyid", p, false, &s->keyid, err)) ||
		    (r = dup_str(v, "sig", p, true, &s->sig, err)) ||
		    (r = collect_extra(v, known, &s->extra, err)))
			return r;
		if (strlen(s->sig) % 2 || !is_hex(s->sig, strlen(s->sig)))
			return vf_err_set(err, EINVAL, "%s: expected hex digits", sub(ps, p, "sig"));
	}
	return 0;
}

int vf_tuf_from_json(json_t *doc, enum vf_tuf_type expect, unsigned flags,
		     struct vf_tuf_md **ret, struct vf_err *err)
{
	static const char *const known_env[] = { "signed", "signatures", NULL };
	static const char *const known[][8] = {
		[VF_TUF_ROOT] = { "_type", "spec_version", "version", "expires",
				  "consistent_snapshot", "keys", "roles", NULL },
		[VF_TUF_TARGETS] = { "_type", "spec_version", "version", "expires", "targets",
				     "delegations", NULL },
		[VF_TUF_SNAPSHOT] = { "_type", "spec_version", "version", "expires", "meta", NULL },
		[VF_TUF_TIMESTAMP] = { "_type", "spec_version", "version", "expires", "meta", NULL },
	};
	struct vf_tuf_md *md = NULL;
	struct vf_buf canon = VF_BUF_INIT;
	json_t *s, *sigs;
	const char *type, *expires;
	int r;

	if ((r = want_type(doc, JSON_OBJECT, "an object", "metadata", err)) ||
	    (r = get_obj(doc, "signed", "", &s, err)) ||
	    (r = get_arr(doc, "signatures", "", &sigs, err)) ||
	    (r = get_str(s, "_type", "signed", false, &type, err)))
		return r;
	if (!(md = calloc(1, sizeof(*md))))
		return nomem(err);
	md->flags = flags;
	md->type = vf_tuf_type_from_name(type);
	if (!md->type) {
		r = vf_err_set(err, EINVAL, "signed._type: unknown metadata type \"%.40s\"", type);
		goto out;
	}
	if (expect && md->type != expect) {
		r = vf_err_set(err, EINVAL, "signed._type: expected \"%s\", got \"%s\"",
			       vf_tuf_type_name(expect), type);
		goto out;
	}
	if ((r = collect_extra(doc, known_env, &md->envelope_extra, err)) ||
	    (r = parse_sigs(sigs, md, err)) ||
	    (r = dup_str(s, "spec_version", "signed", false, &md->spec_version, err)) ||
	    (r = check_spec_version(md->spec_version, "signed.spec_version", err)) ||
	    (r = get_uint(s, "version", "signed", 1, &md->version, err)) ||
	    (r = get_str(s, "expires", "signed", false, &expires, err)))
		goto out;
	if ((r = vf_tuf_time_parse(expires, &md->expires, err))) {
		vf_err_prefix(err, "signed.expires");
		goto out;
	}
	switch (md->type) {
	case VF_TUF_ROOT:
		r = parse_root(s, md, err);
		break;
	case VF_TUF_TARGETS:
		r = parse_targets(s, md, err);
		break;
	case VF_TUF_SNAPSHOT:
	case VF_TUF_TIMESTAMP:
		r = parse_meta(s, md, err);
		break;
	}
	if (r || (r = collect_extra(s, known[md->type], &md->extra, err)))
		goto out;
	/* what is signed must have a canonical form, or nobody can verify it */
	if ((r = vf_cjson_encode(s, &canon, err))) {
		vf_err_prefix(err, "signed");
		goto out;
	}
	*ret = md;
	md = NULL;
out:
	vf_buf_release(&canon);
	vf_tuf_md_free(md);
	return r;
}

/* ---- writer ------------------------------------------------------------------------- */

#define JSON_SAFE_MAX (((uint64_t)1 << 53) - 1)

static int put(json_t *obj, const char *key, json_t *v, struct vf_err *err)
{
	if (!v || json_object_set_new(obj, key, v))
		return nomem(err);
	return 0;
}

static int put_uint(json_t *obj, const char *key, uint64_t v, const char *what,
		    struct vf_err *err)
{
	if (v > JSON_SAFE_MAX)
		return vf_err_set(err, ERANGE, "%s: %s %llu is 2^53 or more", what, key,
				  (unsigned long long)v);
	return put(obj, key, json_integer((json_int_t)v), err);
}

static int put_extra(json_t *obj, const void *extra, struct vf_err *err)
{
	if (extra && json_object_update_missing(obj, (json_t *)extra))
		return nomem(err);
	return 0;
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string_nocheck(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *hashes_json(const struct vf_tuf_hashes *h)
{
	json_t *o = json_object();

	if (o && h->sha256[0] && json_object_set_new(o, "sha256", json_string_nocheck(h->sha256)))
		goto fail;
	if (o && h->sha512[0] && json_object_set_new(o, "sha512", json_string_nocheck(h->sha512)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *keys_json(const struct vf_tuf_keys *keys)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < keys->n; i++)
		if (json_object_set(o, keys->v[i].keyid, keys->v[i].json)) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static int role_json(const struct vf_tuf_role *r, bool delegated, json_t **ret,
		     struct vf_err *err)
{
	json_t *o = json_object();
	int e;

	if (!o)
		return nomem(err);
	if ((delegated && (e = put(o, "name", json_string_nocheck(r->name), err))) ||
	    (e = put(o, "keyids", strv_json(r->keyids, r->n_keyids), err)) ||
	    (e = put_uint(o, "threshold", r->threshold, r->name, err)) ||
	    (delegated && (e = put(o, "terminating", json_boolean(r->terminating), err))) ||
	    (delegated && (e = put(o, r->has_paths ? "paths" : "path_hash_prefixes",
				   strv_json(r->paths, r->n_paths), err))) ||
	    (e = put_extra(o, r->extra, err))) {
		json_decref(o);
		return e;
	}
	*ret = o;
	return 0;
}

static int delegations_json(const struct vf_tuf_delegations *d, json_t **ret,
			    struct vf_err *err)
{
	json_t *o = json_object(), *roles = NULL, *v = NULL;
	int e;

	if (!o)
		return nomem(err);
	if ((e = put(o, "keys", keys_json(&d->keys), err)))
		goto fail;
	if (d->succinct) {
		const struct vf_tuf_succinct *s = d->succinct;

		if (!(v = json_object()))
			goto nomem;
		if ((e = put(o, "succinct_roles", v, err)) ||
		    (e = put(v, "keyids", strv_json(s->keyids, s->n_keyids), err)) ||
		    (e = put_uint(v, "threshold", s->threshold, "succinct_roles", err)) ||
		    (e = put(v, "bit_length", json_integer(s->bit_length), err)) ||
		    (e = put(v, "name_prefix", json_string_nocheck(s->name_prefix), err)) ||
		    (e = put_extra(v, s->extra, err)))
			goto fail;
	} else {
		if (!(roles = json_array()) || (e = put(o, "roles", roles, err)))
			goto nomem;
		for (size_t i = 0; i < d->n_roles; i++) {
			if ((e = role_json(&d->roles[i], true, &v, err)))
				goto fail;
			if (json_array_append_new(roles, v))
				goto nomem;
		}
	}
	if ((e = put_extra(o, d->extra, err)))
		goto fail;
	*ret = o;
	return 0;
nomem:
	e = nomem(err);
fail:
	json_decref(o);
	return e;
}

static int signed_json(const struct vf_tuf_md *md, json_t **ret, struct vf_err *err)
{
	char expires[VF_TUF_TIME_LEN + 1];
	json_t *s = json_object(), *o, *v;
	int e;

	if (!s)
		return nomem(err);
	if (vf_tuf_time_format(md->expires, expires)) {
		e = vf_err_set(err, ERANGE, "expires: %lld is outside years 0001 to 9999",
			       (long long)md->expires);
		goto fail;
	}
	if ((e = put(s, "_type", json_string(vf_tuf_type_name(md->type)), err)) ||
	    (e = put(s, "spec_version", json_string_nocheck(md->spec_version ? md->spec_version : ""),
		     err)) ||
	    (e = put_uint(s, "version", md->version, "metadata", err)) ||
	    (e = put(s, "expires", json_string(expires), err)))
		goto fail;
	switch (md->type) {
	case VF_TUF_ROOT:
		if ((e = put(s, "consistent_snapshot", json_boolean(md->consistent_snapshot), err)) ||
		    (e = put(s, "keys", keys_json(&md->keys), err)) ||
		    (e = put(s, "roles", o = json_object(), err)))
			goto fail;
		for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
			if ((e = role_json(&md->roles[i], false, &v, err)) ||
			    (e = put(o, vf_tuf_type_name((enum vf_tuf_type)(i + 1)), v, err)))
				goto fail;
		}
		break;
	case VF_TUF_TARGETS:
		if ((e = put(s, "targets", o = json_object(), err)))
			goto fail;
		for (size_t i = 0; i < md->n_targets; i++) {
			const struct vf_tuf_target *t = md->targets[i];

			if ((e = put(o, t->path, v = json_object(), err)) ||
			    (e = put_uint(v, "length", t->length, t->path, err)) ||
			    (e = put(v, "hashes", hashes_json(&t->hashes), err)) ||
			    (t->custom && (e = put(v, "custom", json_incref(t->custom), err))) ||
			    (e = put_extra(v, t->extra, err)))
				goto fail;
		}
		if (md->delegations) {
			if ((e = delegations_json(md->delegations, &v, err)) ||
			    (e = put(s, "delegations", v, err)))
				goto fail;
		}
		break;
	case VF_TUF_SNAPSHOT:
	case VF_TUF_TIMESTAMP:
		if ((e = put(s, "meta", o = json_object(), err)))
			goto fail;
		for (size_t i = 0; i < md->n_meta; i++) {
			const struct vf_tuf_meta *m = md->meta[i];

			if ((e = put(o, m->name, v = json_object(), err)) ||
			    (e = put_uint(v, "version", m->version, m->name, err)) ||
			    (m->has_length && (e = put_uint(v, "length", m->length, m->name, err))) ||
			    ((m->hashes.sha256[0] || m->hashes.sha512[0]) &&
			     (e = put(v, "hashes", hashes_json(&m->hashes), err))) ||
			    (e = put_extra(v, m->extra, err)))
				goto fail;
		}
		break;
	default:
		e = vf_err_set(err, EINVAL, "unknown metadata type %d", (int)md->type);
		goto fail;
	}
	if ((e = put_extra(s, md->extra, err)))
		goto fail;
	*ret = s;
	return 0;
fail:
	json_decref(s);
	return e;
}

int vf_tuf_to_json(const struct vf_tuf_md *md, json_t **ret, struct vf_err *err)
{
	json_t *doc = json_object(), *sigs = json_array(), *s = NULL;
	int e;

	if (!doc || !sigs) {
		json_decref(sigs);
		e = nomem(err);
		goto fail;
	}
	if ((e = put(doc, "signatures", sigs, err)))
		goto fail;
	for (size_t i = 0; i < md->n_sigs; i++) {
		json_t *o = json_object();

		if (!o || json_array_append_new(sigs, o)) {
			e = nomem(err);
			goto fail;
		}
		if ((e = put(o, "keyid", json_string_nocheck(md->sigs[i].keyid), err)) ||
		    (e = put(o, "sig", json_string_nocheck(md->sigs[i].sig), err)) ||
		    (e = put_extra(o, md->sigs[i].extra, err)))
			goto fail;
	}
	if ((e = signed_json(md, &s, err)) || (e = put(doc, "signed", s, err)) ||
	    (e = put_extra(doc, md->envelope_extra, err)))
		goto fail;
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return e;
}

/* ---- public entry points ---------------------------------------------------------- */

int vf_tuf_md_parse(const void *text, size_t len, enum vf_tuf_type expect, unsigned flags,
		    struct vf_tuf_md **ret, struct vf_err *err)
{
	struct vf_cjson_limits lim = { .max_bytes = VF_TUF_MAX_FILE, .max_depth = 0 };
	json_t *doc = NULL;
	int r;

	if ((r = vf_cjson_parse(text, len, &lim, (void **)&doc, err)))
		return r;
	r = vf_tuf_from_json(doc, expect, flags, ret, err);
	json_decref(doc);
	return r;
}

int vf_tuf_md_load(const char *path, enum vf_tuf_type expect, unsigned flags,
		   struct vf_tuf_md **ret, struct vf_err *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd, r;
	int64_t got;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return vf_err_sys(err, errno, "'%s'", path);
	if (fstat(fd, &st) < 0) {
		r = vf_err_sys(err, errno, "'%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vf_err_set(err, EINVAL, "'%s': not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > VF_TUF_MAX_FILE) {
		r = vf_err_set(err, EFBIG, "'%s': %lld bytes, more than the limit of %llu", path,
			       (long long)st.st_size, (unsigned long long)VF_TUF_MAX_FILE);
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		r = nomem(err);
		goto out;
	}
	got = vf_fs_pread_full(fd, buf, (size_t)st.st_size + 1, 0);
	if (got < 0) {
		r = vf_err_sys(err, (int)-got, "'%s': read", path);
		goto out;
	}
	if ((uint64_t)got > VF_TUF_MAX_FILE) {
		r = vf_err_set(err, EFBIG, "'%s': grew beyond the limit while being read", path);
		goto out;
	}
	if ((r = vf_tuf_md_parse(buf, (size_t)got, expect, flags, ret, err)))
		vf_err_prefix(err, "'%s'", path);
out:
	free(buf);
	close(fd);
	return r;
}

int vf_tuf_md_validate(const struct vf_tuf_md *md, struct vf_err *err)
{
	struct vf_tuf_md *check = NULL;
	json_t *doc = NULL;
	int r;

	if ((r = vf_tuf_to_json(md, &doc, err)))
		return r;
	r = vf_tuf_from_json(doc, md->type, md->flags, &check, err);
	json_decref(doc);
	vf_tuf_md_free(check);
	return r;
}

int vf_tuf_md_format(const struct vf_tuf_md *md, enum vf_tuf_format format, struct vf_buf *out,
		     struct vf_err *err)
{
	struct vf_tuf_md *check = NULL;
	json_t *doc = NULL;
	char *text = NULL;
	int r;

	if ((r = vf_tuf_to_json(md, &doc, err)))
		return r;
	if ((r = vf_tuf_from_json(doc, md->type, md->flags, &check, err)))
		goto out;
	if (format == VF_TUF_FORMAT_CANONICAL) {
		r = vf_cjson_encode(doc, out, err);
		goto out;
	}
	if (!(text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS))) {
		r = nomem(err);
		goto out;
	}
	if (vf_buf_add_str(out, text) || vf_buf_add(out, "\n", 1))
		r = nomem(err);
out:
	free(text);
	vf_tuf_md_free(check);
	json_decref(doc);
	return r;
}

int vf_tuf_md_format_signed(const struct vf_tuf_md *md, struct vf_buf *out, struct vf_err *err)
{
	struct vf_tuf_md *check = NULL;
	json_t *doc = NULL;
	int r;

	if ((r = vf_tuf_to_json(md, &doc, err)))
		return r;
	if (!(r = vf_tuf_from_json(doc, md->type, md->flags, &check, err)))
		r = vf_cjson_encode(json_object_get(doc, "signed"), out, err);
	vf_tuf_md_free(check);
	json_decref(doc);
	return r;
}

int vf_tuf_md_save(const struct vf_tuf_md *md, const char *path, struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	struct vf_fs_atomic a;
	int r;

	vf_fs_atomic_init(&a);
	if ((r = vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &text, err)))
		goto out;
	if ((r = vf_fs_atomic_open(&a, path, 0644, err)))
		goto out;
	if ((r = vf_fs_pwrite_full(a.fd, text.data, text.len, 0))) {
		r = vf_err_sys(err, -r, "'%s': write", path);
		goto out;
	}
	r = vf_fs_atomic_commit(&a, err);
out:
	vf_fs_atomic_release(&a);
	vf_buf_release(&text);
	return r;
}
