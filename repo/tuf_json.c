/*
 * repo: TUF metadata from JSON: the strict reader (every rule of
 * vf_tuf_md_parse(), the targets map read without jansson) and loading files.
 * The writer, validation, formatting and saving are in tuf_write.c.
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
		if (strlen(s) != want || !vf_tuf_is_hex(s, want))
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

/* One entry of the targets map, parsed from its jansson value. */
static int parse_target(const char *path, json_t *v, struct vf_tuf_target **ret,
			struct vf_err *err)
{
	static const char *const known[] = { "length", "hashes", "custom", NULL };
	char p[PATH_MAX_LEN], ph[PATH_MAX_LEN];
	struct vf_tuf_target *t;
	int r;

	sub(p, "signed.targets", path);
	if ((r = check_target_path(path, p, err)))
		return r;
	if (!(t = vf_tuf_target_new(path, strlen(path))))
		return nomem(err);
	if ((r = want_type(v, JSON_OBJECT, "an object", p, err)) ||
	    (r = get_uint(v, "length", p, 0, &t->length, err)) ||
	    (r = parse_hashes(json_object_get(v, "hashes"), sub(ph, p, "hashes"), &t->hashes,
			      err)) ||
	    (r = collect_extra(v, known, &t->extra, err))) {
		vf_tuf_target_free(t);
		return r;
	}
	if ((t->custom = json_object_get(v, "custom")))
		json_incref(t->custom);
	*ret = t;
	return 0;
}

/*
 * The targets map as the reader parsed it itself (targets_hook()), in document
 * order: plain entries straight into the model, the others as jansson values
 * for parse_target(). `signed.targets` holds `sentinel` in the document.
 */
struct pentry {
	struct vf_tuf_target *t; /* holds the path; all of a plain entry, checked but for its path */
	size_t len;              /* of the path */
	json_t *slow;            /* the entry's value when it is not plain (t holds only the path) */
	bool path_ok;            /* vf_tuf_target_path_ok(), worked out while the key was at hand */
	bool plain_path;         /* vf_cjson_is_plain() of the path */
};

struct vf_tuf_ptargets {
	json_t *sentinel;
	bool plain;              /* take_parsed_targets(): all entries plain (struct vf_tuf_tmap) */
	struct pentry *v;
	size_t n, cap;
	bool unsorted;           /* keys were not strictly increasing: `set` finds duplicates */
	uint32_t *set;           /* open addressing: index + 1 of entries, 0 when free */
	size_t set_cap;
};

static void ptargets_release(struct vf_tuf_ptargets *pt)
{
	for (size_t i = 0; i < pt->n; i++) {
		vf_tuf_target_free(pt->v[i].t);
		json_decref(pt->v[i].slow);
	}
	free(pt->v);
	free(pt->set);
	memset(pt, 0, sizeof(*pt));
}

/* The checks parse_hashes() makes on the object a model's hashes are written as. */
static int check_model_hashes(const struct vf_tuf_hashes *h, const char *path,
			      struct vf_err *err)
{
	static const struct { const char *name; size_t want, off; } alg[] = {
		{ "sha256", 64, offsetof(struct vf_tuf_hashes, sha256) },
		{ "sha512", 128, offsetof(struct vf_tuf_hashes, sha512) },
	};
	bool any = false;

	for (size_t i = 0; i < 2; i++) {
		const char *s = (const char *)h + alg[i].off;
		size_t n = strnlen(s, alg[i].want + 1);
		char p[PATH_MAX_LEN];

		if (!n)
			continue;
		any = true;
		if (n != alg[i].want || !vf_tuf_is_hex(s, n))
			return vf_err_set(err, EINVAL, "%s: expected %zu hex digits, got \"%.140s\"",
					  sub(p, path, alg[i].name), alg[i].want, s);
	}
	return any ? 0 : vf_err_set(err, EINVAL, "%s: no hashes", path);
}

/* vf_tuf_md_validate() of a model's targets from `from` on: what parse_target() would say. */
static int check_model_targets(const struct vf_tuf_md *src, size_t from, struct vf_err *err)
{
	for (size_t i = from; i < src->n_targets; i++) {
		const struct vf_tuf_target *t = src->targets[i];
		char p[PATH_MAX_LEN], ph[PATH_MAX_LEN];
		const struct vf_tuf_hashes *h = &t->hashes;
		bool ok;

		ok = vf_tuf_target_path_ok(t->path) && (h->sha256[0] || h->sha512[0]) &&
		     (!h->sha256[0] ||
		      (strnlen(h->sha256, 65) == 64 && vf_tuf_is_hex(h->sha256, 64))) &&
		     (!h->sha512[0] ||
		      (strnlen(h->sha512, 129) == 128 && vf_tuf_is_hex(h->sha512, 128)));
		if (ok)
			continue;
		sub(p, "signed.targets", t->path);
		if (!vf_tuf_target_path_ok(t->path))
			return check_target_path(t->path, p, err);
		return check_model_hashes(h, sub(ph, p, "hashes"), err);
	}
	return 0;
}

/* Move the entries targets_hook() parsed into md, checking them as parse_target() would. */
static int take_parsed_targets(struct vf_tuf_ptargets *pt, struct vf_tuf_md *md, struct vf_err *err)
{
	int r;

	if (pt->n && !(md->targets = calloc(pt->n, sizeof(*md->targets))))
		return nomem(err);
	pt->plain = true;
	for (size_t i = 0; i < pt->n; i++) {
		struct pentry *e = &pt->v[i];

		if (e->slow) {
			pt->plain = false;
			if ((r = parse_target(e->t->path, e->slow, &md->targets[md->n_targets], err)))
				return r;
			md->n_targets++;
			continue;
		}
		if (!e->path_ok) {
			char p[PATH_MAX_LEN];

			return check_target_path(e->t->path, sub(p, "signed.targets", e->t->path), err);
		}
		pt->plain = pt->plain && !e->t->custom && !e->t->extra && e->plain_path;
		md->targets[md->n_targets++] = e->t;
		e->t = NULL;
	}
	return 0;
}

static bool targets_sorted(struct vf_tuf_target *const *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1]->path, v[i]->path) >= 0)
			return false;
	return true;
}

static int parse_targets(json_t *s, struct vf_tuf_md *md, struct vf_tuf_tsrc *src,
			 struct vf_err *err)
{
	json_t *targets, *v, *d;
	const char *path;
	int r;

	if ((r = get_obj(s, "targets", "signed", &targets, err)))
		return r;
	if (src && src->sentinel && targets == src->sentinel) {
		if ((r = src->model ? check_model_targets(src->model, src->map->check_bad, err)
				    : take_parsed_targets(src->parsed, md, err)))
			return r;
	} else {
		if (json_object_size(targets) &&
		    !(md->targets = calloc(json_object_size(targets), sizeof(*md->targets))))
			return nomem(err);
		json_object_foreach(targets, path, v) {
			if ((r = parse_target(path, v, &md->targets[md->n_targets], err)))
				return r;
			md->n_targets++;
		}
	}
	/* keys the reader saw in increasing order are sorted already */
	if (md->n_targets > 1 && !(src && src->parsed && targets == src->sentinel &&
				   !src->parsed->unsorted) &&
	    !targets_sorted(md->targets, md->n_targets))
		qsort(md->targets, md->n_targets, sizeof(*md->targets), cmp_target);
	if ((d = json_object_get(s, "delegations")))
		return parse_delegations(d, md, err);
	return 0;
}

/* ---- the targets map, read without jansson ------------------------------------------- */

/*
 * A string of printable ASCII without escapes at p->pos (its opening quote):
 * its bytes, p->pos moved past it. NULL (p->pos unchanged) for anything else.
 */
static const char *plain_string(struct vf_cjson_parser *p, size_t *ret_len)
{
	const char *s = (const char *)p->s + p->pos + 1;
	const char *end = memchr(s, '"', p->len - p->pos - 1);

	/* printable ASCII without '\\' (0x7f too is declined: the parser takes it) */
	if (!end || !vf_cjson_is_plain(s, (size_t)(end - s)))
		return NULL;
	*ret_len = (size_t)(end - s);
	p->pos += *ret_len + 2;
	return s;
}

/* vf_cjson_p_skip_ws(), inlined: it runs a dozen times for every entry. */
static inline void skip_ws(struct vf_cjson_parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\n' ||
				   p->s[p->pos] == '\t' || p->s[p->pos] == '\r'))
		p->pos++;
}

/* A non-negative integer below 2^53 (what the parser would accept as a length). */
static int plain_uint(struct vf_cjson_parser *p, uint64_t *ret)
{
	size_t i = p->pos;
	uint64_t v = 0;

	if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')
		return -1;
	if (p->s[i] == '0' && i + 1 < p->len && p->s[i + 1] >= '0' && p->s[i + 1] <= '9')
		return -1;
	for (; i < p->len && p->s[i] >= '0' && p->s[i] <= '9'; i++)
		if ((v = v * 10 + (uint64_t)(p->s[i] - '0')) > VF_TUF_JSON_SAFE_MAX)
			return -1;
	if (i < p->len && (p->s[i] == '.' || p->s[i] == 'e' || p->s[i] == 'E'))
		return -1;
	p->pos = i;
	*ret = v;
	return 0;
}

/* {"sha256": hex, "sha512": hex}, non-empty, exactly as parse_hashes() accepts it. */
static int plain_hashes(struct vf_cjson_parser *p, unsigned depth, struct vf_tuf_hashes *h)
{
	if (p->pos >= p->len || p->s[p->pos] != '{' || depth >= p->max_depth)
		return -1;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}')
		return -1;
	for (;;) {
		const char *key, *hex;
		size_t n, want;
		char *dst;

		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"' || !(key = plain_string(p, &n)) ||
		    n != 6)
			return -1;
		if (memcmp(key, "sha256", 6) == 0)
			dst = h->sha256, want = 64;
		else if (memcmp(key, "sha512", 6) == 0)
			dst = h->sha512, want = 128;
		else
			return -1;
		if (dst[0])
			return -1; /* a duplicate key */
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return -1;
		p->pos++;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"' || !(hex = plain_string(p, &n)) ||
		    n != want || !vf_tuf_is_hex(hex, n))
			return -1;
		memcpy(dst, hex, n);
		dst[n] = '\0';
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			return 0;
		}
		return -1;
	}
}

/*
 * A targets entry that parse_target() would accept as it is (length, hashes,
 * custom and other members with plain keys), read straight into `t` (which
 * holds only its path); `depth` is the targets map's. Anything else, valid or
 * not, is declined (-1, `t` as it was): the caller then parses the value as the
 * parser does, so that every message stays the parser's or parse_target()'s.
 */
static int plain_target(struct vf_cjson_parser *p, unsigned depth, struct vf_tuf_target *t)
{
	struct vf_err *saved = p->err, scratch;
	bool have_length = false, have_hashes = false;
	int r = -1;

	if (p->pos >= p->len || p->s[p->pos] != '{' || depth >= p->max_depth)
		return -1;
	p->err = &scratch;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}')
		goto out;
	for (;;) {
		const char *key;
		size_t n;

		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"' || !(key = plain_string(p, &n)))
			goto out;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			goto out;
		p->pos++;
		skip_ws(p);
		if (n == 6 && memcmp(key, "length", 6) == 0) {
			if (have_length || plain_uint(p, &t->length))
				goto out;
			have_length = true;
		} else if (n == 6 && memcmp(key, "hashes", 6) == 0) {
			if (have_hashes || plain_hashes(p, depth + 1, &t->hashes))
				goto out;
			have_hashes = true;
		} else if (n == 6 && memcmp(key, "custom", 6) == 0) {
			if (t->custom || vf_cjson_p_value(p, depth + 1, (json_t **)&t->custom))
				goto out;
		} else {
			json_t *v = NULL;

			if ((!t->extra && !(t->extra = json_object())) ||
			    json_object_getn(t->extra, key, n) || vf_cjson_p_value(p, depth + 1, &v) ||
			    json_object_setn_new_nocheck(t->extra, key, n, v))
				goto out;
		}
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			break;
		}
		goto out;
	}
	r = have_length && have_hashes ? 0 : -1;
out:
	p->err = saved;
	if (r) {
		/* declined: back to a target holding only its path */
		json_decref(t->custom);
		json_decref(t->extra);
		t->custom = t->extra = NULL;
		t->length = 0;
		memset(&t->hashes, 0, sizeof(t->hashes));
	}
	return r;
}

static uint64_t hash_key(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return h;
}

/* Insert entry i into the duplicate set (growing it); 0 or -ENOMEM. */
static int set_insert(struct vf_tuf_ptargets *pt, size_t i)
{
	size_t mask;

	if (2 * (i + 1) >= pt->set_cap) {
		size_t cap = pt->set_cap ? 2 * pt->set_cap : 1024;
		uint32_t *set;

		while (2 * (i + 1) >= cap)
			cap *= 2;
		if (i >= UINT32_MAX - 1 || !(set = calloc(cap, sizeof(*set))))
			return -ENOMEM;
		free(pt->set);
		pt->set = set;
		pt->set_cap = cap;
		for (size_t k = 0; k < i; k++)
			if (set_insert(pt, k))
				return -ENOMEM;
	}
	mask = pt->set_cap - 1;
	for (size_t h = hash_key(pt->v[i].t->path, pt->v[i].len) & mask;; h = (h + 1) & mask)
		if (!pt->set[h]) {
			pt->set[h] = (uint32_t)(i + 1);
			return 0;
		}
}

/* Whether `key` sorts after the last key (memcmp order, shorter first). */
static bool after_last(const struct vf_tuf_ptargets *pt, const char *key, size_t len)
{
	const struct pentry *last = &pt->v[pt->n - 1];
	size_t n = len < last->len ? len : last->len;
	int c = memcmp(last->t->path, key, n);

	return c < 0 || (c == 0 && last->len < len);
}

/*
 * Add a key of the map: 0, 1 when it is a duplicate (nothing added), or
 * -ENOMEM. Keys in increasing order (as vforge writes them) cannot repeat an
 * earlier one; from the first key out of order on, a hash set finds them.
 */
static int ptargets_add(struct vf_tuf_ptargets *pt, const char *key, size_t len)
{
	struct pentry *e;

	if (!pt->unsorted && pt->n && !after_last(pt, key, len)) {
		pt->unsorted = true;
		for (size_t i = 0; i < pt->n; i++)
			if (set_insert(pt, i))
				return -ENOMEM;
	}
	if (pt->unsorted) {
		size_t mask = pt->set_cap - 1;

		for (size_t h = hash_key(key, len) & mask; pt->set[h]; h = (h + 1) & mask) {
			const struct pentry *o = &pt->v[pt->set[h] - 1];

			if (o->len == len && memcmp(o->t->path, key, len) == 0)
				return 1;
		}
	}
	if (pt->n == pt->cap) {
		size_t cap = pt->cap ? 2 * pt->cap : 1024;
		struct pentry *v = realloc(pt->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		pt->v = v;
		pt->cap = cap;
	}
	e = &pt->v[pt->n];
	memset(e, 0, sizeof(*e));
	if (!(e->t = vf_tuf_target_new(key, len)))
		return -ENOMEM;
	e->len = len;
	e->path_ok = vf_tuf_target_path_ok(e->t->path);
	e->plain_path = vf_cjson_is_plain(key, len);
	pt->n++;
	return pt->unsorted ? set_insert(pt, pt->n - 1) : 0;
}

/*
 * The parser's hook for `signed.targets` (an object at `depth`): the same
 * syntax rules and messages as its object parser, but plain entries go
 * straight into targets of the model, with no jansson values in between.
 */
static int targets_hook(struct vf_cjson_parser *p, unsigned depth, void *ctx, json_t **ret)
{
	struct vf_tuf_ptargets *pt = ctx;
	char show[16];
	int r;

	p->pos++; /* '{' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		goto done;
	}
	for (;;) {
		struct pentry *e;
		size_t key_at, key_len, value_at;
		const char *key;

		skip_ws(p);
		key_at = p->pos;
		if (p->pos >= p->len || p->s[p->pos] != '"')
			return vf_cjson_p_fail(p, p->pos, EINVAL,
					       "expected a string key in object, got %s",
					       vf_cjson_p_show(p, p->pos, show));
		if (!(key = plain_string(p, &key_len))) {
			if ((r = vf_cjson_p_string(p)))
				return r;
			key = (const char *)p->str.data;
			key_len = p->str.len;
			if (memchr(key, 0, key_len))
				return vf_cjson_p_fail(p, key_at, EINVAL, "object key contains \\u0000");
		}
		if ((r = ptargets_add(pt, key, key_len)) < 0)
			return vf_err_set(p->err, ENOMEM, "out of memory");
		if (r)
			return vf_cjson_p_fail(p, key_at, EINVAL, "duplicate object key \"%.*s\"",
					       key_len > 80 ? 80 : (int)key_len, key);
		e = &pt->v[pt->n - 1];
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return vf_cjson_p_fail(p, p->pos, EINVAL, "expected ':' after object key, got %s",
					       vf_cjson_p_show(p, p->pos, show));
		p->pos++;
		skip_ws(p);
		value_at = p->pos;
		if (plain_target(p, depth, e->t)) {
			p->pos = value_at;
			if ((r = vf_cjson_p_value(p, depth, &e->slow)))
				return r;
		}
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			break;
		}
		return vf_cjson_p_fail(p, p->pos, EINVAL, "expected ',' or '}' in object, got %s",
				       vf_cjson_p_show(p, p->pos, show));
	}
done:
	if (!(pt->sentinel = json_object()))
		return vf_err_set(p->err, ENOMEM, "out of memory");
	*ret = pt->sentinel;
	return 0;
}

/*
 * A document whose `signed` is not targets metadata but holds a `targets`
 * member: that member is an unknown one, kept as jansson. Build it as the
 * parser would have.
 */
static int materialize_targets(json_t *s, struct vf_tuf_ptargets *pt, struct vf_err *err)
{
	json_t *o = json_object();

	if (!o)
		return nomem(err);
	for (size_t i = 0; i < pt->n; i++) {
		struct pentry *e = &pt->v[i];
		json_t *v = e->slow;

		e->slow = NULL;
		if (!v) {
			const struct vf_tuf_target *t = e->t;

			v = json_pack("{s:I}", "length", (json_int_t)t->length);
			if (v && json_object_set_new(v, "hashes", vf_tuf_hashes_json(&t->hashes)))
				goto fail_v;
			if (v && t->custom && json_object_set(v, "custom", t->custom))
				goto fail_v;
			if (v && t->extra && json_object_update(v, t->extra))
				goto fail_v;
		}
		if (!v || json_object_setn_new_nocheck(o, e->t->path, e->len, v))
			goto fail;
		continue;
fail_v:
		json_decref(v);
		goto fail;
	}
	pt->sentinel = NULL;
	if (json_object_set_new(s, "targets", o))
		return nomem(err);
	return 0;
fail:
	json_decref(o);
	return nomem(err);
}

/* vf_tuf_md_validate() of a model's meta: what parse_meta() would say of the jansson map. */
static int check_model_meta(const struct vf_tuf_md *src, struct vf_err *err)
{
	if (src->type == VF_TUF_TIMESTAMP &&
	    (src->n_meta != 1 || strcmp(src->meta[0]->name, "snapshot.json") != 0))
		return vf_err_set(err, EINVAL, "signed.meta: a timestamp lists exactly "
				  "\"snapshot.json\"");
	for (size_t i = 0; i < src->n_meta; i++) {
		const struct vf_tuf_meta *m = src->meta[i];
		char p[PATH_MAX_LEN], pv[PATH_MAX_LEN];
		const struct vf_tuf_hashes *h = &m->hashes;

		if (m->name[0] && m->version >= 1 &&
		    (!h->sha256[0] ||
		     (strnlen(h->sha256, 65) == 64 && vf_tuf_is_hex(h->sha256, 64))) &&
		    (!h->sha512[0] ||
		     (strnlen(h->sha512, 129) == 128 && vf_tuf_is_hex(h->sha512, 128))))
			continue;
		sub(p, "signed.meta", m->name);
		if (!m->name[0])
			return vf_err_set(err, EINVAL, "%s: empty name", p);
		if (m->version < 1)
			return vf_err_set(err, EINVAL, "%s: expected an integer of at least 1, got 0",
					  sub(pv, p, "version"));
		return check_model_hashes(h, sub(pv, p, "hashes"), err);
	}
	return 0;
}

static int parse_meta(json_t *s, struct vf_tuf_md *md, struct vf_tuf_tsrc *src,
		      struct vf_err *err)
{
	static const char *const known[] = { "version", "length", "hashes", NULL };
	json_t *meta, *v;
	const char *name;
	int r;

	if ((r = get_obj(s, "meta", "signed", &meta, err)))
		return r;
	if (src && src->sentinel && src->model && meta == src->sentinel)
		return check_model_meta(src->model, err);
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
		if (strlen(s->sig) % 2 || !vf_tuf_is_hex(s->sig, strlen(s->sig)))
			return vf_err_set(err, EINVAL, "%s: expected hex digits", sub(ps, p, "sig"));
	}
	return 0;
}

/*
 * vf_tuf_from_json() where `signed.targets` may be src->sentinel (see struct
 * vf_tuf_tsrc). With `check_canonical`, the canonical form of `signed` is
 * written to `canon` (NULL: only checked), as the last check.
 */
int vf_tuf_from_json_src(json_t *doc, enum vf_tuf_type expect, unsigned flags,
			 struct vf_tuf_tsrc *src, bool check_canonical, struct vf_buf *canon,
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
	/* the reader took `targets` for a targets map, but it is an unknown member here */
	if (md->type != VF_TUF_TARGETS && src && src->parsed && src->sentinel &&
	    json_object_get(s, "targets") == src->sentinel) {
		if ((r = materialize_targets(s, src->parsed, err)))
			goto out;
		src->sentinel = NULL;
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
		r = parse_targets(s, md, src, err);
		break;
	case VF_TUF_SNAPSHOT:
	case VF_TUF_TIMESTAMP:
		r = parse_meta(s, md, src, err);
		break;
	}
	if (r || (r = collect_extra(s, known[md->type], &md->extra, err)))
		goto out;
	/* what is signed must have a canonical form, or nobody can verify it */
	if (check_canonical) {
		struct vf_cjson_frame top = { NULL, NULL, 0, 0, 0 };
		struct vf_cjson_writer w = { .out = canon, .err = err };
		size_t start = canon ? canon->len : 0;
		struct vf_tuf_tmap parsed = { md, true, src && src->parsed && src->parsed->plain,
					       0, 0 };

		if (src && src->sentinel) {
			w.hook_value = src->sentinel;
			w.hook = md->type == VF_TUF_TARGETS ? vf_tuf_targets_write
							    : vf_tuf_meta_write;
			w.hook_ctx = (void *)(src->model ? src->map : &parsed);
		}
		if ((r = vf_cjson_write(&w, s, &top))) {
			if (canon && canon->data)
				canon->data[canon->len = start] = '\0';
			vf_err_prefix(err, "signed");
			goto out;
		}
	}
	*ret = md;
	md = NULL;
out:
	vf_tuf_md_free(md);
	return r;
}

int vf_tuf_from_json(json_t *doc, enum vf_tuf_type expect, unsigned flags,
		     struct vf_tuf_md **ret, struct vf_err *err)
{
	return vf_tuf_from_json_src(doc, expect, flags, NULL, true, NULL, ret, err);
}

/* ---- public entry points ---------------------------------------------------------- */

int vf_tuf_md_parse(const void *text, size_t len, enum vf_tuf_type expect, unsigned flags,
		    struct vf_tuf_md **ret, struct vf_err *err)
{
	static const char *const path[] = { "signed", "targets" };
	struct vf_cjson_limits lim = { .max_bytes = VF_TUF_MAX_FILE, .max_depth = 0 };
	struct vf_tuf_ptargets pt = { 0 };
	struct vf_tuf_tsrc src = { NULL, NULL, NULL, &pt };
	json_t *doc = NULL;
	int r;

	if (!(r = vf_cjson_parse_hooked(text, len, &lim, path, 2, targets_hook, &pt, &doc, err))) {
		src.sentinel = pt.sentinel;
		r = vf_tuf_from_json_src(doc, expect, flags, &src, true, NULL, ret, err);
	}
	json_decref(doc);
	ptargets_release(&pt);
	return r;
}

int vf_tuf_md_load(const char *path, enum vf_tuf_type expect, unsigned flags,
		   struct vf_tuf_md **ret, struct vf_err *err)
{
	struct vf_buf buf = VF_BUF_INIT;
	int r;

	if ((r = vf_fs_read_file(path, VF_TUF_MAX_FILE, false, &buf, err)) == 0 &&
	    (r = vf_tuf_md_parse(buf.data ? buf.data : (const uint8_t *)"", buf.len, expect, flags,
				 ret, err)) == 0) {
		vf_buf_release(&buf);
		return 0;
	}
	vf_err_prefix(err, "'%s'", path);
	vf_buf_release(&buf);
	return r;
}
