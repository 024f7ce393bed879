/* repo: the TUF metadata model: documents, look-ups and changes (see metadata.h). */
#include "repo/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[VF_TUF_N_TOP_ROLES] = {
	"root", "targets", "snapshot", "timestamp",
};

const char *vf_tuf_type_name(enum vf_tuf_type type)
{
	if (type < VF_TUF_ROOT || type > VF_TUF_TIMESTAMP)
		return "unknown";
	return type_names[type - 1];
}

enum vf_tuf_type vf_tuf_type_from_name(const char *name)
{
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++)
		if (strcmp(name, type_names[i]) == 0)
			return (enum vf_tuf_type)(i + 1);
	return 0;
}

/* ---- release helpers ------------------------------------------------------------ */

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void vf_tuf_key_release(struct vf_tuf_key *k)
{
	free(k->keyid);
	json_decref(k->json);
	memset(k, 0, sizeof(*k));
}

void vf_tuf_keys_release(struct vf_tuf_keys *keys)
{
	for (size_t i = 0; i < keys->n; i++)
		vf_tuf_key_release(&keys->v[i]);
	free(keys->v);
	keys->v = NULL;
	keys->n = 0;
}

void vf_tuf_role_release(struct vf_tuf_role *r)
{
	free(r->name);
	strv_free(r->keyids, r->n_keyids);
	strv_free(r->paths, r->n_paths);
	json_decref(r->extra);
	memset(r, 0, sizeof(*r));
}

void vf_tuf_succinct_free(struct vf_tuf_succinct *s)
{
	if (!s)
		return;
	strv_free(s->keyids, s->n_keyids);
	free(s->name_prefix);
	json_decref(s->extra);
	free(s);
}

void vf_tuf_delegations_free(struct vf_tuf_delegations *d)
{
	if (!d)
		return;
	vf_tuf_keys_release(&d->keys);
	for (size_t i = 0; i < d->n_roles; i++)
		vf_tuf_role_release(&d->roles[i]);
	free(d->roles);
	vf_tuf_succinct_free(d->succinct);
	json_decref(d->extra);
	free(d);
}

struct vf_tuf_target *vf_tuf_target_new(const char *path, size_t len)
{
	/* one allocation: a model of 100,000 targets makes 100,000 of them */
	struct vf_tuf_target *t = calloc(1, sizeof(*t) + len + 1);

	if (!t)
		return NULL;
	t->path = (char *)(t + 1);
	memcpy(t->path, path, len);
	return t;
}

void vf_tuf_target_free(struct vf_tuf_target *t)
{
	if (!t)
		return;
	if (t->path != (char *)(t + 1))
		free(t->path);
	json_decref(t->custom);
	json_decref(t->extra);
	free(t);
}

void vf_tuf_meta_free(struct vf_tuf_meta *m)
{
	if (!m)
		return;
	free(m->name);
	json_decref(m->extra);
	free(m);
}

void vf_tuf_sig_release(struct vf_tuf_sig *s)
{
	free(s->keyid);
	free(s->sig);
	json_decref(s->extra);
	memset(s, 0, sizeof(*s));
}

void vf_tuf_md_clear_signatures(struct vf_tuf_md *md)
{
	for (size_t i = 0; i < md->n_sigs; i++)
		vf_tuf_sig_release(&md->sigs[i]);
	free(md->sigs);
	md->sigs = NULL;
	md->n_sigs = 0;
}

void vf_tuf_md_free(struct vf_tuf_md *md)
{
	if (!md)
		return;
	free(md->spec_version);
	json_decref(md->extra);
	json_decref(md->envelope_extra);
	vf_tuf_md_clear_signatures(md);
	vf_tuf_keys_release(&md->keys);
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++)
		vf_tuf_role_release(&md->roles[i]);
	for (size_t i = 0; i < md->n_targets; i++)
		vf_tuf_target_free(md->targets[i]);
	free(md->targets);
	vf_tuf_delegations_free(md->delegations);
	for (size_t i = 0; i < md->n_meta; i++)
		vf_tuf_meta_free(md->meta[i]);
	free(md->meta);
	free(md);
}

struct vf_tuf_md *vf_tuf_md_new(enum vf_tuf_type type)
{
	struct vf_tuf_md *md;

	if (type < VF_TUF_ROOT || type > VF_TUF_TIMESTAMP)
		return NULL;
	if (!(md = calloc(1, sizeof(*md))))
		return NULL;
	md->type = type;
	md->version = 1;
	if (!(md->spec_version = strdup(VF_TUF_SPEC_VERSION)))
		goto fail;
	if (type == VF_TUF_ROOT) {
		md->consistent_snapshot = true;
		for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
			if (!(md->roles[i].name = strdup(type_names[i])))
				goto fail;
			md->roles[i].threshold = 1;
		}
	}
	return md;
fail:
	vf_tuf_md_free(md);
	return NULL;
}

/* ---- searching -------------------------------------------------------------------- */

ptrdiff_t vf_tuf_bsearch(const void *base, size_t n, size_t size,
			 const char *(*get)(const void *entry), const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, get((const char *)base + mid * size));

		if (c == 0)
			return (ptrdiff_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(ptrdiff_t)lo - 1;
}

static const char *key_id(const void *e)
{
	return ((const struct vf_tuf_key *)e)->keyid;
}

static const char *target_path(const void *e)
{
	return (*(struct vf_tuf_target *const *)e)->path;
}

static const char *meta_name(const void *e)
{
	return (*(struct vf_tuf_meta *const *)e)->name;
}

const struct vf_tuf_key *vf_tuf_keys_find(const struct vf_tuf_keys *keys, const char *keyid)
{
	ptrdiff_t i;

	if (!keys)
		return NULL;
	i = vf_tuf_bsearch(keys->v, keys->n, sizeof(*keys->v), key_id, keyid);
	return i >= 0 ? &keys->v[i] : NULL;
}

const char *vf_tuf_keys_find_key(const struct vf_tuf_keys *keys, const struct vf_key *key)
{
	for (size_t i = 0; keys && i < keys->n; i++) {
		struct vf_key *k = NULL;
		bool same;

		if (vf_tuf_key_build_public(&keys->v[i], &k, NULL))
			continue;
		same = vf_key_equal(k, key);
		vf_key_free(k);
		if (same)
			return keys->v[i].keyid;
	}
	return NULL;
}

int vf_tuf_keys_insert_take(struct vf_tuf_keys *keys, const char *keyid, json_t *json,
			    struct vf_err *err)
{
	ptrdiff_t at = vf_tuf_bsearch(keys->v, keys->n, sizeof(*keys->v), key_id, keyid);
	struct vf_tuf_key k = { 0 }, *v;
	json_t *kv;
	size_t pos;

	if (at >= 0) {
		json_decref(json);
		return -EEXIST;
	}
	pos = (size_t)(-at - 1);
	kv = json_object_get(json, "keyval");
	k.keytype = json_string_value(json_object_get(json, "keytype"));
	k.scheme = json_string_value(json_object_get(json, "scheme"));
	k.public_text = json_string_value(json_object_get(kv, "public"));
	k.json = json;
	if (!k.keytype || !k.scheme || !k.public_text) {
		json_decref(json);
		return vf_err_set(err, EINVAL, "key %s: not a key object", keyid);
	}
	if (!(k.keyid = strdup(keyid)) || !(v = realloc(keys->v, (keys->n + 1) * sizeof(*v)))) {
		vf_tuf_key_release(&k);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	keys->v = v;
	memmove(v + pos + 1, v + pos, (keys->n - pos) * sizeof(*v));
	v[pos] = k;
	keys->n++;
	return 0;
}

const struct vf_tuf_role *vf_tuf_md_find_role(const struct vf_tuf_md *md, const char *name)
{
	if (md->type == VF_TUF_ROOT) {
		enum vf_tuf_type t = vf_tuf_type_from_name(name);

		return t ? &md->roles[t - 1] : NULL;
	}
	if (md->type == VF_TUF_TARGETS && md->delegations)
		for (size_t i = 0; i < md->delegations->n_roles; i++)
			if (strcmp(md->delegations->roles[i].name, name) == 0)
				return &md->delegations->roles[i];
	return NULL;
}

const struct vf_tuf_keys *vf_tuf_md_keys(const struct vf_tuf_md *md)
{
	if (md->type == VF_TUF_ROOT)
		return &md->keys;
	if (md->type == VF_TUF_TARGETS && md->delegations)
		return &md->delegations->keys;
	return NULL;
}

/* ---- keys of roles ---------------------------------------------------------------- */

/* The keyid list and threshold of a role or of the succinct bins, for changes. */
struct role_ref {
	char ***keyids;
	size_t *n_keyids;
	uint64_t *threshold;
	struct vf_tuf_keys *keys;
};

static int find_role_ref(struct vf_tuf_md *md, const char *role, struct role_ref *ref,
			 struct vf_err *err)
{
	struct vf_tuf_role *r = (struct vf_tuf_role *)vf_tuf_md_find_role(md, role);

	if (r) {
		*ref = (struct role_ref){ &r->keyids, &r->n_keyids, &r->threshold,
					  md->type == VF_TUF_ROOT ? &md->keys : &md->delegations->keys };
		return 0;
	}
	if (md->type == VF_TUF_TARGETS && md->delegations && md->delegations->succinct &&
	    strcmp(md->delegations->succinct->name_prefix, role) == 0) {
		struct vf_tuf_succinct *s = md->delegations->succinct;

		*ref = (struct role_ref){ &s->keyids, &s->n_keyids, &s->threshold,
					  &md->delegations->keys };
		return 0;
	}
	if (md->type != VF_TUF_ROOT && md->type != VF_TUF_TARGETS)
		return vf_err_set(err, EINVAL, "%s metadata delegates to no roles",
				  vf_tuf_type_name(md->type));
	return vf_err_set(err, ENOENT, "role %s: no such role in %s metadata", role,
			  vf_tuf_type_name(md->type));
}

bool vf_tuf_keyid_in_use(const struct vf_tuf_md *md, const char *keyid)
{
	const struct vf_tuf_role *roles = md->roles;
	size_t n = VF_TUF_N_TOP_ROLES;

	if (md->type == VF_TUF_TARGETS) {
		const struct vf_tuf_succinct *s;

		if (!md->delegations)
			return false;
		roles = md->delegations->roles, n = md->delegations->n_roles;
		if ((s = md->delegations->succinct))
			for (size_t k = 0; k < s->n_keyids; k++)
				if (strcmp(s->keyids[k], keyid) == 0)
					return true;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < roles[i].n_keyids; k++)
			if (strcmp(roles[i].keyids[k], keyid) == 0)
				return true;
	return false;
}

int vf_tuf_md_add_key(struct vf_tuf_md *md, const char *role, const struct vf_key *key,
		      const char **ret_keyid, struct vf_err *err)
{
	struct role_ref ref;
	const char *id;
	char keyid[65], **v;
	json_t *json = NULL;
	int r;

	if ((r = find_role_ref(md, role, &ref, err)))
		return r;
	/* a key the set holds (under whatever keyid) keeps its keyid and object */
	if (!(id = vf_tuf_keys_find_key(ref.keys, key))) {
		if ((r = vf_tuf_key_build_json(key, (void **)&json, err)))
			return r;
		if ((r = vf_tuf_keyid_of_json(json, keyid, err)) ||
		    (r = vf_tuf_keys_insert_take(ref.keys, keyid, json, err))) /* takes json */
			return r == -EEXIST ? vf_err_set(err, EEXIST, "keyid %s is already "
							 "taken by another key", keyid) : r;
		id = vf_tuf_keys_find(ref.keys, keyid)->keyid;
	}
	for (size_t i = 0; i < *ref.n_keyids; i++)
		if (strcmp((*ref.keyids)[i], id) == 0)
			goto done;
	if (!(v = realloc(*ref.keyids, (*ref.n_keyids + 1) * sizeof(*v))))
		return vf_err_set(err, ENOMEM, "out of memory");
	*ref.keyids = v;
	if (!(v[*ref.n_keyids] = strdup(id)))
		return vf_err_set(err, ENOMEM, "out of memory");
	(*ref.n_keyids)++;
done:
	if (ret_keyid)
		*ret_keyid = id;
	return 0;
}

int vf_tuf_md_remove_key(struct vf_tuf_md *md, const char *role, const char *keyid,
			 struct vf_err *err)
{
	struct role_ref ref;
	size_t i;
	ptrdiff_t at;
	int r;

	if ((r = find_role_ref(md, role, &ref, err)))
		return r;
	for (i = 0; i < *ref.n_keyids; i++)
		if (strcmp((*ref.keyids)[i], keyid) == 0)
			break;
	if (i == *ref.n_keyids)
		return vf_err_set(err, ENOENT, "role %s: keyid %s is not authorised for it", role,
				  keyid);
	free((*ref.keyids)[i]);
	memmove(*ref.keyids + i, *ref.keyids + i + 1, (*ref.n_keyids - i - 1) * sizeof(char *));
	(*ref.n_keyids)--;
	if (!vf_tuf_keyid_in_use(md, keyid)) {
		at = vf_tuf_bsearch(ref.keys->v, ref.keys->n, sizeof(*ref.keys->v), key_id, keyid);
		if (at >= 0) {
			vf_tuf_key_release(&ref.keys->v[at]);
			memmove(ref.keys->v + at, ref.keys->v + at + 1,
				(ref.keys->n - (size_t)at - 1) * sizeof(*ref.keys->v));
			ref.keys->n--;
		}
	}
	return 0;
}

int vf_tuf_md_set_threshold(struct vf_tuf_md *md, const char *role, uint64_t threshold,
			    struct vf_err *err)
{
	struct role_ref ref;
	int r;

	if ((r = find_role_ref(md, role, &ref, err)))
		return r;
	if (threshold < 1)
		return vf_err_set(err, EINVAL, "role %s: threshold must be at least 1, got %llu",
				  role, (unsigned long long)threshold);
	*ref.threshold = threshold;
	return 0;
}

/* ---- targets -------------------------------------------------------------------- */

static int check_type(const struct vf_tuf_md *md, enum vf_tuf_type want, struct vf_err *err)
{
	if (md->type != want)
		return vf_err_set(err, EINVAL, "expected %s metadata, got %s", vf_tuf_type_name(want),
				  vf_tuf_type_name(md->type));
	return 0;
}

static bool hashes_empty(const struct vf_tuf_hashes *h)
{
	return !h->sha256[0] && !h->sha512[0];
}

/* Insert (or replace) `item` at its sorted place in a pointer array. */
static int sorted_put(void ***arr, size_t *n, void *item, const char *name,
		      const char *(*get)(const void *), void (*release)(void *), struct vf_err *err)
{
	ptrdiff_t at;
	size_t pos;
	void **v;

	/* appending in order is the common case: no search */
	if (*n == 0 || strcmp(get(*arr + *n - 1), name) < 0)
		at = -(ptrdiff_t)*n - 1;
	else
		at = vf_tuf_bsearch(*arr, *n, sizeof(void *), get, name);
	if (at >= 0) {
		release((*arr)[at]);
		(*arr)[at] = item;
		return 0;
	}
	pos = (size_t)(-at - 1);
	if (!(v = realloc(*arr, (*n + 1) * sizeof(*v)))) {
		release(item);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	memmove(v + pos + 1, v + pos, (*n - pos) * sizeof(*v));
	v[pos] = item;
	*arr = v;
	(*n)++;
	return 0;
}

static void target_release(void *t)
{
	vf_tuf_target_free(t);
}

static void meta_release(void *m)
{
	vf_tuf_meta_free(m);
}

int vf_tuf_targets_add_target(struct vf_tuf_md *md, const char *path, uint64_t length,
			      const struct vf_tuf_hashes *hashes, const void *custom,
			      struct vf_err *err)
{
	struct vf_tuf_target *t;
	int r;

	if ((r = check_type(md, VF_TUF_TARGETS, err)))
		return r;
	if (!hashes || hashes_empty(hashes))
		return vf_err_set(err, EINVAL, "target %s: no hashes", path);
	if (!(t = vf_tuf_target_new(path, strlen(path))) ||
	    (custom && !(t->custom = json_deep_copy(custom)))) {
		vf_tuf_target_free(t);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	t->length = length;
	t->hashes = *hashes;
	return sorted_put((void ***)&md->targets, &md->n_targets, t, path, target_path,
			  target_release, err);
}

const struct vf_tuf_target *vf_tuf_targets_find_target(const struct vf_tuf_md *md,
							 const char *path)
{
	ptrdiff_t i = vf_tuf_bsearch(md->targets, md->n_targets, sizeof(*md->targets), target_path,
				     path);

	return i >= 0 ? md->targets[i] : NULL;
}

static int sorted_remove(void **arr, size_t *n, const char *name,
			 const char *(*get)(const void *), void (*release)(void *))
{
	ptrdiff_t i = vf_tuf_bsearch(arr, *n, sizeof(void *), get, name);

	if (i < 0)
		return -ENOENT;
	release(arr[i]);
	memmove(arr + i, arr + i + 1, (*n - (size_t)i - 1) * sizeof(void *));
	(*n)--;
	return 0;
}

int vf_tuf_targets_remove_target(struct vf_tuf_md *md, const char *path, struct vf_err *err)
{
	int r;

	if ((r = check_type(md, VF_TUF_TARGETS, err)))
		return r;
	if (sorted_remove((void **)md->targets, &md->n_targets, path, target_path, target_release))
		return vf_err_set(err, ENOENT, "target %s: not listed", path);
	return 0;
}

/* ---- delegations ------------------------------------------------------------------ */

static int ensure_delegations(struct vf_tuf_md *md, struct vf_err *err)
{
	if (!md->delegations && !(md->delegations = calloc(1, sizeof(*md->delegations))))
		return vf_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int vf_tuf_targets_add_role(struct vf_tuf_md *md, const char *name,
			    const char *const *patterns, size_t n_patterns, bool hash_prefixes,
			    bool terminating, struct vf_err *err)
{
	struct vf_tuf_role role = { 0 }, *v;
	struct vf_tuf_delegations *d;
	int r;

	if ((r = check_type(md, VF_TUF_TARGETS, err)) || (r = ensure_delegations(md, err)))
		return r;
	d = md->delegations;
	if (d->succinct)
		return vf_err_set(err, EINVAL, "role %s: the delegations are succinct hash bins",
				  name);
	if (!*name || vf_tuf_type_from_name(name))
		return vf_err_set(err, EINVAL, "role \"%s\": not a valid delegated role name", name);
	if (vf_tuf_md_find_role(md, name))
		return vf_err_set(err, EEXIST, "role %s: already delegated", name);
	role.threshold = 1;
	role.terminating = terminating;
	role.has_paths = !hash_prefixes;
	if (!(role.name = strdup(name)) ||
	    (n_patterns && !(role.paths = calloc(n_patterns, sizeof(char *)))))
		goto nomem;
	for (; role.n_paths < n_patterns; role.n_paths++)
		if (!(role.paths[role.n_paths] = strdup(patterns[role.n_paths])))
			goto nomem;
	if (!(v = realloc(d->roles, (d->n_roles + 1) * sizeof(*v))))
		goto nomem;
	d->roles = v;
	v[d->n_roles++] = role;
	return 0;
nomem:
	vf_tuf_role_release(&role);
	return vf_err_set(err, ENOMEM, "out of memory");
}

int vf_tuf_targets_remove_role(struct vf_tuf_md *md, const char *name, struct vf_err *err)
{
	struct vf_tuf_delegations *d = md->delegations;
	struct vf_tuf_role gone;
	size_t i;
	int r;

	if ((r = check_type(md, VF_TUF_TARGETS, err)))
		return r;
	for (i = 0; d && i < d->n_roles; i++)
		if (strcmp(d->roles[i].name, name) == 0)
			break;
	if (!d || i == d->n_roles)
		return vf_err_set(err, ENOENT, "role %s: not delegated", name);
	gone = d->roles[i];
	memmove(d->roles + i, d->roles + i + 1, (d->n_roles - i - 1) * sizeof(*d->roles));
	d->n_roles--;
	for (size_t k = 0; k < gone.n_keyids; k++) {
		ptrdiff_t at;

		if (vf_tuf_keyid_in_use(md, gone.keyids[k]))
			continue;
		at = vf_tuf_bsearch(d->keys.v, d->keys.n, sizeof(*d->keys.v), key_id,
				    gone.keyids[k]);
		if (at < 0)
			continue;
		vf_tuf_key_release(&d->keys.v[at]);
		memmove(d->keys.v + at, d->keys.v + at + 1,
			(d->keys.n - (size_t)at - 1) * sizeof(*d->keys.v));
		d->keys.n--;
	}
	vf_tuf_role_release(&gone);
	return 0;
}

int vf_tuf_targets_set_succinct(struct vf_tuf_md *md, const char *name_prefix,
				unsigned bit_length, struct vf_err *err)
{
	struct vf_tuf_succinct *s;
	int r;

	if ((r = check_type(md, VF_TUF_TARGETS, err)) || (r = ensure_delegations(md, err)))
		return r;
	if (md->delegations->n_roles)
		return vf_err_set(err, EINVAL, "succinct hash bins: the role already delegates to "
				  "%zu named roles", md->delegations->n_roles);
	if (bit_length < 1 || bit_length > 32)
		return vf_err_set(err, EINVAL, "succinct hash bins: bit_length must be 1..32, got %u",
				  bit_length);
	if (!*name_prefix)
		return vf_err_set(err, EINVAL, "succinct hash bins: empty name prefix");
	if (!(s = calloc(1, sizeof(*s))) || !(s->name_prefix = strdup(name_prefix))) {
		vf_tuf_succinct_free(s);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	s->bit_length = bit_length;
	s->threshold = 1;
	if (md->delegations->succinct) { /* keep the keys already authorised */
		struct vf_tuf_succinct *old = md->delegations->succinct;

		s->keyids = old->keyids, s->n_keyids = old->n_keyids, s->threshold = old->threshold;
		old->keyids = NULL, old->n_keyids = 0;
		vf_tuf_succinct_free(old);
	}
	md->delegations->succinct = s;
	return 0;
}

/* ---- meta ------------------------------------------------------------------------- */

int vf_tuf_md_set_meta(struct vf_tuf_md *md, const char *name, uint64_t version, int64_t length,
		       const struct vf_tuf_hashes *hashes, struct vf_err *err)
{
	struct vf_tuf_meta *m;

	if (md->type != VF_TUF_SNAPSHOT && md->type != VF_TUF_TIMESTAMP)
		return vf_err_set(err, EINVAL, "expected snapshot or timestamp metadata, got %s",
				  vf_tuf_type_name(md->type));
	if (md->type == VF_TUF_TIMESTAMP && strcmp(name, "snapshot.json") != 0)
		return vf_err_set(err, EINVAL, "timestamp meta: expected \"snapshot.json\", got \"%s\"",
				  name);
	if (!*name)
		return vf_err_set(err, EINVAL, "meta: empty name");
	if (version < 1)
		return vf_err_set(err, EINVAL, "meta %s: version must be at least 1", name);
	if (!(m = calloc(1, sizeof(*m))) || !(m->name = strdup(name))) {
		vf_tuf_meta_free(m);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	m->version = version;
	m->has_length = length >= 0;
	m->length = length >= 0 ? (uint64_t)length : 0;
	if (hashes)
		m->hashes = *hashes;
	return sorted_put((void ***)&md->meta, &md->n_meta, m, name, meta_name, meta_release, err);
}

const struct vf_tuf_meta *vf_tuf_md_find_meta(const struct vf_tuf_md *md, const char *name)
{
	ptrdiff_t i = vf_tuf_bsearch(md->meta, md->n_meta, sizeof(*md->meta), meta_name, name);

	return i >= 0 ? md->meta[i] : NULL;
}

int vf_tuf_md_remove_meta(struct vf_tuf_md *md, const char *name, struct vf_err *err)
{
	if (sorted_remove((void **)md->meta, &md->n_meta, name, meta_name, meta_release))
		return vf_err_set(err, ENOENT, "meta %s: not listed", name);
	return 0;
}

/* ---- signatures ----------------------------------------------------------------- */

int vf_tuf_md_remove_signature(struct vf_tuf_md *md, const char *keyid, struct vf_err *err)
{
	size_t i, kept = 0;
	bool found = false;

	for (i = 0; i < md->n_sigs; i++) {
		if (strcmp(md->sigs[i].keyid, keyid) == 0) {
			vf_tuf_sig_release(&md->sigs[i]);
			found = true;
			continue;
		}
		md->sigs[kept++] = md->sigs[i];
	}
	md->n_sigs = kept;
	if (!found)
		return vf_err_set(err, ENOENT, "no signature by keyid %s", keyid);
	return 0;
}
