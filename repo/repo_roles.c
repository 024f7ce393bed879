/*
 * repo: delegated targets roles of a repository on disk: found through their
 * delegators, loaded on demand (length and hashes from snapshot, signatures
 * from the delegator's keys), created by delegations and hash bins.
 */
#include "repo/repo_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nested delegations vforge follows (python-tuf's max_delegations). */
#define MAX_DEPTH 32

void vf_repo_roles_free(struct vf_repo *r)
{
	for (size_t i = 0; i < r->n_roles; i++) {
		free(r->roles[i].name);
		free(r->roles[i].delegator);
		vf_tuf_md_free(r->roles[i].md);
	}
	free(r->roles);
	free(r->bin_role);
	r->roles = NULL;
	r->bin_role = NULL;
	r->n_roles = r->cap_roles = 0;
	r->n_bins = 0;
}

static const struct vf_tuf_succinct *bins_of(const struct vf_repo *r)
{
	const struct vf_tuf_delegations *d = r->targets->delegations;

	return d ? d->succinct : NULL;
}

/* A loaded or new delegated role by name, or NULL. */
static struct vf_repo_role *find_loaded(struct vf_repo *r, const char *name)
{
	const struct vf_tuf_succinct *s = bins_of(r);
	uint32_t idx;

	if (s && r->bin_role && vf_tuf_succinct_has_role(s, name, &idx))
		return r->bin_role[idx] == SIZE_MAX ? NULL : &r->roles[r->bin_role[idx]];
	for (size_t i = 0; i < r->n_roles; i++)
		if (strcmp(r->roles[i].name, name) == 0)
			return &r->roles[i];
	return NULL;
}

/* The document of a role by name: targets or a loaded delegated role. */
static struct vf_tuf_md *doc_of(struct vf_repo *r, const char *name)
{
	struct vf_repo_role *ro;

	if (strcmp(name, "targets") == 0)
		return r->targets;
	ro = find_loaded(r, name);
	return ro ? ro->md : NULL;
}

const struct vf_tuf_succinct *vf_repo_bins(const struct vf_repo *r)
{
	return bins_of(r);
}

struct vf_repo_role *vf_repo_bin_role(struct vf_repo *r, uint32_t index)
{
	if (!r->bin_role || index >= r->n_bins || r->bin_role[index] == SIZE_MAX)
		return NULL;
	return &r->roles[r->bin_role[index]];
}

void vf_repo_roles_compact(struct vf_repo *r, bool clean, bool unloaded)
{
	const struct vf_tuf_succinct *s = bins_of(r);
	size_t kept = 0;

	for (size_t i = 0; i < r->n_roles; i++) {
		struct vf_repo_role *ro = &r->roles[i];
		bool bin = s && vf_tuf_succinct_has_role(s, ro->name, NULL);
		bool drop = (unloaded && ro->unloaded) ||
			    (clean && bin && ro->md && !ro->changed && !ro->removed && !ro->gone &&
			     !ro->presigned);

		if (drop) {
			free(ro->name);
			free(ro->delegator);
			vf_tuf_md_free(ro->md);
			continue;
		}
		r->roles[kept++] = *ro;
	}
	r->n_roles = kept;
	if (!r->bin_role)
		return;
	for (uint32_t i = 0; i < r->n_bins; i++)
		r->bin_role[i] = SIZE_MAX;
	for (size_t i = 0; i < r->n_roles; i++) {
		uint32_t idx;

		if (s && vf_tuf_succinct_has_role(s, r->roles[i].name, &idx))
			r->bin_role[idx] = i;
	}
}

/* Keep the bin index in step with the succinct delegation of targets. */
static int bins_index(struct vf_repo *r, struct vf_err *err)
{
	const struct vf_tuf_succinct *s = bins_of(r);
	uint32_t n;

	if (!s || r->bin_role)
		return 0;
	n = (uint32_t)1 << s->bit_length;
	r->bin_role = malloc((size_t)n * sizeof(*r->bin_role));
	if (!r->bin_role)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		r->bin_role[i] = SIZE_MAX;
	r->n_bins = n;
	for (size_t i = 0; i < r->n_roles; i++) {
		uint32_t idx;

		if (vf_tuf_succinct_has_role(s, r->roles[i].name, &idx))
			r->bin_role[idx] = i;
	}
	return 0;
}

/* Append a role (the array may move: pointers into it are invalidated). */
int vf_repo_role_push(struct vf_repo *r, const char *name, const char *delegator,
		      struct vf_tuf_md *md, bool changed, struct vf_repo_role **ret,
		      struct vf_err *err)
{
	struct vf_repo_role *ro;
	uint32_t idx;

	if (r->n_roles == r->cap_roles) {
		size_t cap = r->cap_roles ? 2 * r->cap_roles : 16;
		struct vf_repo_role *v = realloc(r->roles, cap * sizeof(*v));

		if (!v)
			return vf_err_set(err, ENOMEM, "out of memory");
		r->roles = v;
		r->cap_roles = cap;
	}
	ro = &r->roles[r->n_roles];
	memset(ro, 0, sizeof(*ro));
	ro->name = strdup(name);
	ro->delegator = strdup(delegator);
	if (!ro->name || !ro->delegator) {
		free(ro->name);
		free(ro->delegator);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	ro->md = md;
	ro->changed = changed;
	if (bins_index(r, err))
		return -ENOMEM;
	if (bins_of(r) && vf_tuf_succinct_has_role(bins_of(r), name, &idx))
		r->bin_role[idx] = r->n_roles;
	r->n_roles++;
	if (ret)
		*ret = ro;
	return 0;
}

/* Whether document `d` delegates `name` (as a named role or one of its bins). */
static bool delegates(const struct vf_tuf_md *d, const char *name)
{
	if (!d->delegations)
		return false;
	if (d->delegations->succinct)
		return vf_tuf_succinct_has_role(d->delegations->succinct, name, NULL);
	return vf_tuf_md_find_role(d, name) != NULL;
}

/* Load the role `name` that `delegator` delegates, as snapshot pins it. */
static int load_role(struct vf_repo *r, const char *delegator, const char *name,
		     struct vf_repo_role **ret, struct vf_err *err)
{
	struct vf_tuf_verify_result res = { 0 };
	const struct vf_tuf_meta *m;
	struct vf_tuf_md *md = NULL, *dmd;
	char *meta_name = NULL, *file = NULL;
	int rc;

	if (asprintf(&meta_name, "%s.json", name) < 0)
		return vf_err_set(err, ENOMEM, "out of memory");
	m = vf_tuf_md_find_meta(r->snapshot, meta_name);
	if (!m) {
		rc = vf_err_set(err, VF_EVERIFY, "role '%s' (delegated by %s): snapshot version %llu "
				"lists no %s", name, delegator,
				(unsigned long long)r->snapshot->version, meta_name);
		goto out;
	}
	if ((rc = vf_tuf_role_filename(name, m->version, &file, err)) ||
	    (rc = vf_repo_load_pinned(r, file, VF_TUF_TARGETS, m, &md, err)))
		goto out;
	if (md->version != m->version) {
		rc = vf_err_set(err, VF_EVERIFY, "metadata/%s holds version %llu, snapshot says %llu",
				file, (unsigned long long)md->version,
				(unsigned long long)m->version);
		goto out;
	}
	dmd = doc_of(r, delegator);
	if ((rc = vf_tuf_verify(dmd, name, md, &res, err))) {
		vf_err_prefix(err, "metadata/%s does not verify (vforge repo validate shows every "
			      "problem)", file);
		goto out;
	}
	if ((rc = vf_repo_role_push(r, name, delegator, md, false, ret, err)))
		goto out;
	md = NULL;
out:
	vf_tuf_verify_result_release(&res);
	vf_tuf_md_free(md);
	free(meta_name);
	free(file);
	return rc;
}

/* Load the named roles `parent` delegates that are not loaded yet. */
static int load_children(struct vf_repo *r, const char *parent, struct vf_err *err)
{
	const struct vf_tuf_md *pm = doc_of(r, parent);
	const struct vf_tuf_delegations *d = pm ? pm->delegations : NULL;
	char *pname;
	int rc = 0;

	if (!d || d->succinct)
		return 0;
	pname = strdup(parent); /* `parent` may point into r->roles, which may move */
	if (!pname)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t k = 0; !rc && k < d->n_roles; k++)
		if (!find_loaded(r, d->roles[k].name))
			rc = load_role(r, pname, d->roles[k].name, NULL, err);
	free(pname);
	return rc;
}

/*
 * Find the delegator of `name`: targets, or a named role reached from it,
 * loading named roles breadth first (hash bins delegate nothing).
 */
static int find_delegator(struct vf_repo *r, const char *name, char **ret, struct vf_err *err)
{
	int rc;

	*ret = NULL;
	if (delegates(r->targets, name))
		return (*ret = strdup("targets")) ? 0 : vf_err_set(err, ENOMEM, "out of memory");
	if ((rc = load_children(r, "targets", err)))
		return rc;
	for (size_t i = 0; i < r->n_roles; i++) {
		if (r->roles[i].removed || r->roles[i].unloaded || !r->roles[i].md->delegations)
			continue;
		if (delegates(r->roles[i].md, name))
			return (*ret = strdup(r->roles[i].name)) ? 0 :
				vf_err_set(err, ENOMEM, "out of memory");
		if ((rc = load_children(r, r->roles[i].name, err)))
			return rc;
	}
	return vf_err_set(err, ENOENT, "no role delegates '%s' (targets delegates %s)", name,
			  r->targets->delegations ? (bins_of(r) ? "to hash bins" : "to named roles") :
			  "nothing");
}

int vf_repo_role_get(struct vf_repo *r, const char *name, struct vf_repo_role **ret,
		     struct vf_err *err)
{
	struct vf_repo_role *ro = find_loaded(r, name);
	char *delegator = NULL;
	int rc;

	if (ro) {
		if (ro->removed)
			return vf_err_set(err, ENOENT, "role '%s' was removed", name);
		if (ro->unloaded)
			return vf_err_set(err, EBUSY, "role '%s' is signed for the publish under way "
					  "and no longer in memory: publish first", name);
		*ret = ro;
		return 0;
	}
	if ((rc = find_delegator(r, name, &delegator, err)))
		return rc;
	ro = find_loaded(r, name);
	rc = ro ? 0 : load_role(r, delegator, name, &ro, err);
	free(delegator);
	if (!rc)
		*ret = ro;
	return rc;
}

int vf_repo_authority_of(struct vf_repo *r, const char *role, struct vf_repo_authority *ret,
			 struct vf_err *err)
{
	enum vf_tuf_type t = vf_tuf_type_from_name(role);
	const struct vf_tuf_md *d;
	struct vf_repo_role *ro;
	int rc;

	memset(ret, 0, sizeof(*ret));
	ret->role = role;
	if (t) {
		const struct vf_tuf_md *root = vf_repo_root(r);

		ret->delegator = root;
		ret->keyids = root->roles[t - 1].keyids;
		ret->n_keyids = root->roles[t - 1].n_keyids;
		ret->threshold = root->roles[t - 1].threshold;
		ret->keys = &root->keys;
		return 0;
	}
	if ((rc = vf_repo_role_get(r, role, &ro, err)))
		return rc;
	d = doc_of(r, ro->delegator);
	if (!d || !d->delegations)
		return vf_err_set(err, ENOENT, "role '%s': its delegator %s delegates nothing", role,
				  ro->delegator);
	ret->delegator = d;
	ret->keys = &d->delegations->keys;
	if (d->delegations->succinct) {
		ret->keyids = d->delegations->succinct->keyids;
		ret->n_keyids = d->delegations->succinct->n_keyids;
		ret->threshold = d->delegations->succinct->threshold;
	} else {
		const struct vf_tuf_role *dr = vf_tuf_md_find_role(d, role);

		if (!dr)
			return vf_err_set(err, ENOENT, "role '%s': %s no longer delegates it", role,
					  ro->delegator);
		ret->keyids = dr->keyids;
		ret->n_keyids = dr->n_keyids;
		ret->threshold = dr->threshold;
	}
	return 0;
}

int vf_repo_select_role(struct vf_repo *r, const char *role, struct vf_err *err)
{
	struct vf_repo_role *ro;
	char *copy = NULL;
	int rc;

	if (role && strcmp(role, "targets") != 0) {
		if (vf_tuf_type_from_name(role))
			return vf_err_set(err, EINVAL, "role '%s' holds no targets", role);
		if ((rc = vf_repo_role_get(r, role, &ro, err)))
			return rc;
	}
	if (role && !(copy = strdup(role)))
		return vf_err_set(err, ENOMEM, "out of memory");
	free(r->selected);
	r->selected = copy;
	return 0;
}

/* Whether `path` is within `role`'s delegation, and its delegator's, up to targets. */
static int check_chain(struct vf_repo *r, const char *role, const char *path, struct vf_err *err)
{
	const char *name = role;

	for (unsigned depth = 0; depth < MAX_DEPTH && strcmp(name, "targets") != 0; depth++) {
		struct vf_repo_role *ro;
		const struct vf_tuf_md *d;
		int rc;

		if ((rc = vf_repo_role_get(r, name, &ro, err)))
			return rc;
		d = doc_of(r, ro->delegator);
		if (d->delegations && d->delegations->succinct) {
			char *bin = NULL;

			if ((rc = vf_tuf_bin_name_for_path(d->delegations->succinct->name_prefix,
							   d->delegations->succinct->bit_length,
							   path, &bin, err)))
				return rc;
			rc = strcmp(bin, name) == 0 ? 0 :
				vf_err_set(err, EINVAL, "target '%s' belongs to hash bin %s, not %s",
					   path, bin, name);
			free(bin);
			if (rc)
				return rc;
		} else {
			const struct vf_tuf_role *dr = vf_tuf_md_find_role(d, name);

			rc = dr ? vf_tuf_role_has_path(dr, path) : 0;
			if (rc < 0)
				return vf_err_set(err, -rc, "target '%s': path check failed", path);
			if (rc == 0) {
				char pats[512] = "";
				size_t used = 0;

				for (size_t k = 0; dr && dr->has_paths && k < dr->n_paths; k++) {
					int w = snprintf(pats + used, sizeof(pats) - used, "%s%s",
							 k ? ", " : "", dr->paths[k]);

					if (w < 0 || (size_t)w >= sizeof(pats) - used)
						break;
					used += (size_t)w;
				}
				return vf_err_set(err, EINVAL, "target '%s' is outside the paths %s "
						  "delegates to role '%s' (paths: %s)", path,
						  ro->delegator, name, pats);
			}
		}
		name = ro->delegator;
	}
	return 0;
}

int vf_repo_doc_for_target(struct vf_repo *r, const char *path, struct vf_tuf_md **ret_md,
			   bool **ret_changed, struct vf_err *err)
{
	const struct vf_tuf_succinct *s = bins_of(r);
	struct vf_repo_role *ro;
	char *bin = NULL;
	int rc;

	if (r->selected && strcmp(r->selected, "targets") != 0) {
		if ((rc = check_chain(r, r->selected, path, err)) ||
		    (rc = vf_repo_role_get(r, r->selected, &ro, err)))
			return rc;
	} else if (!r->selected && s) {
		if ((rc = vf_tuf_bin_name_for_path(s->name_prefix, s->bit_length, path, &bin, err)))
			return rc;
		rc = vf_repo_role_get(r, bin, &ro, err);
		free(bin);
		if (rc)
			return rc;
	} else {
		*ret_md = r->targets;
		*ret_changed = &r->targets_changed;
		return 0;
	}
	*ret_md = ro->md;
	*ret_changed = &ro->changed;
	return 0;
}

/* Mark a targets-type document changed. */
static void mark_changed(struct vf_repo *r, const char *name)
{
	struct vf_repo_role *ro;

	if (strcmp(name, "targets") == 0)
		r->targets_changed = true;
	else if ((ro = find_loaded(r, name)))
		ro->changed = true;
}

/* Check a delegation's threshold against its distinct keys, before changing anything. */
static int check_threshold(const char *role, const struct vf_key *const *keys, size_t n_keys,
			   uint64_t threshold, struct vf_err *err)
{
	size_t distinct = 0;

	for (size_t i = 0; i < n_keys; i++) {
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = vf_key_equal(keys[i], keys[j]) == 1;
		distinct += !dup;
	}
	if (threshold < 1 || threshold > distinct)
		return vf_err_set(err, EINVAL, "role '%s': threshold %llu, expected 1 to %zu (its "
				  "distinct keys)", role, (unsigned long long)threshold, distinct);
	return 0;
}

/* Authorise keys for a delegation and set its threshold. */
static int delegate_keys(struct vf_tuf_md *d, const char *role, const struct vf_key *const *keys,
			 size_t n_keys, uint64_t threshold, struct vf_err *err)
{
	int rc;

	for (size_t i = 0; i < n_keys; i++)
		if ((rc = vf_tuf_md_add_key(d, role, keys[i], NULL, err)))
			return rc;
	return vf_tuf_md_set_threshold(d, role, threshold, err);
}

static int check_role_name(struct vf_repo *r, const char *role, struct vf_err *err)
{
	struct vf_repo_role *ro;
	struct vf_err ignored = { 0 };

	if (!*role || vf_tuf_type_from_name(role) || strcmp(role, "root") == 0)
		return vf_err_set(err, EINVAL, "'%s' cannot name a delegated role (empty or a "
				  "top-level role)", role);
	if (strlen(role) > 255)
		return vf_err_set(err, EINVAL, "role name '%.40s...' is longer than 255 bytes", role);
	if (vf_repo_role_get(r, role, &ro, &ignored) == 0)
		return vf_err_set(err, EEXIST, "role '%s' exists already (delegated by %s)", role,
				  ro->delegator);
	return 0;
}

int vf_repo_add_delegation(struct vf_repo *r, const char *from, const char *role,
			   const char *const *paths, size_t n_paths,
			   const struct vf_key *const *keys, size_t n_keys, uint64_t threshold,
			   bool terminating, struct vf_err *err)
{
	const char *dname = from ? from : "targets";
	struct vf_tuf_md *d, *md;
	struct vf_repo_role *ro;
	int rc;

	if (!n_paths || !n_keys)
		return vf_err_set(err, EINVAL, "role '%s': a delegation needs at least one path "
				  "pattern and one key", role);
	if ((rc = check_role_name(r, role, err)) ||
	    (rc = check_threshold(role, keys, n_keys, threshold, err)))
		return rc;
	if (strcmp(dname, "targets") != 0) {
		if ((rc = vf_repo_role_get(r, dname, &ro, err)))
			return rc;
		if (bins_of(r) && vf_tuf_succinct_has_role(bins_of(r), dname, NULL))
			return vf_err_set(err, EINVAL, "hash bin %s cannot delegate further", dname);
	}
	d = doc_of(r, dname);
	if ((rc = vf_tuf_targets_add_role(d, role, paths, n_paths, false, terminating, err)))
		return vf_err_prefix(err, "delegation from %s", dname);
	if ((rc = delegate_keys(d, role, keys, n_keys, threshold, err))) {
		vf_tuf_targets_remove_role(d, role, NULL);
		return vf_err_prefix(err, "delegation from %s", dname);
	}
	mark_changed(r, dname);
	md = vf_tuf_md_new(VF_TUF_TARGETS);
	if (!md)
		return vf_err_set(err, ENOMEM, "out of memory");
	md->version = 0;
	if ((rc = vf_repo_role_push(r, role, dname, md, true, NULL, err)))
		vf_tuf_md_free(md);
	return rc;
}

int vf_repo_add_bins(struct vf_repo *r, const char *prefix, unsigned bit_length,
		     const struct vf_key *const *keys, size_t n_keys, uint64_t threshold,
		     struct vf_err *err)
{
	struct vf_tuf_md *t = r->targets;
	uint32_t n;
	int rc;

	if (t->delegations && (t->delegations->succinct || t->delegations->n_roles))
		return vf_err_set(err, EEXIST, "targets already delegates (%s): hash bins must be "
				  "its only delegation", t->delegations->succinct ? "hash bins" :
				  "named roles");
	if (bit_length < 1 || bit_length > 16)
		return vf_err_set(err, EINVAL, "hash bins: 2 to 65536 bins (bit length 1..16), got "
				  "bit length %u", bit_length);
	if (!n_keys)
		return vf_err_set(err, EINVAL, "hash bins: at least one key");
	if ((rc = check_role_name(r, prefix, err)) ||
	    (rc = check_threshold(prefix, keys, n_keys, threshold, err)) ||
	    (rc = vf_tuf_targets_set_succinct(t, prefix, bit_length, err)) ||
	    (rc = delegate_keys(t, prefix, keys, n_keys, threshold, err)) ||
	    (rc = bins_index(r, err)))
		return rc;
	n = (uint32_t)1 << bit_length;
	for (uint32_t i = 0; i < n; i++) {
		struct vf_tuf_md *md = vf_tuf_md_new(VF_TUF_TARGETS);
		char *name = NULL;

		if (!md)
			return vf_err_set(err, ENOMEM, "out of memory");
		md->version = 0;
		if ((rc = vf_tuf_bin_name(prefix, bit_length, i, &name, err)) ||
		    (rc = vf_repo_role_push(r, name, "targets", md, true, NULL, err))) {
			free(name);
			vf_tuf_md_free(md);
			return rc;
		}
		free(name);
	}
	/* the targets targets.json listed move to their bins, in path order */
	for (size_t i = 0; i < t->n_targets; i++) {
		const struct vf_tuf_target *tg = t->targets[i];
		uint32_t idx;

		if ((rc = vf_tuf_bin_index(tg->path, bit_length, &idx, err)) ||
		    (rc = vf_tuf_targets_add_target(r->roles[r->bin_role[idx]].md, tg->path,
						    tg->length, &tg->hashes, tg->custom, err)))
			return rc;
	}
	while (t->n_targets)
		if ((rc = vf_tuf_targets_remove_target(t, t->targets[t->n_targets - 1]->path, err)))
			return rc;
	r->targets_changed = true;
	return 0;
}

int vf_repo_remove_delegation(struct vf_repo *r, const char *from, const char *role,
			      struct vf_err *err)
{
	struct vf_repo_role *ro;
	struct vf_tuf_md *d;
	int rc;

	if (bins_of(r) && (strcmp(bins_of(r)->name_prefix, role) == 0 ||
			   vf_tuf_succinct_has_role(bins_of(r), role, NULL)))
		return vf_err_set(err, EINVAL, "'%s': hash bins cannot be removed", role);
	if ((rc = vf_repo_role_get(r, role, &ro, err)))
		return rc;
	if (from && strcmp(from, ro->delegator) != 0)
		return vf_err_set(err, ENOENT, "role '%s' is delegated by %s, not %s", role,
				  ro->delegator, from);
	if (ro->md->delegations &&
	    (ro->md->delegations->n_roles || ro->md->delegations->succinct))
		return vf_err_set(err, EBUSY, "role '%s' delegates to other roles: remove those "
				  "first", role);
	d = doc_of(r, ro->delegator);
	if ((rc = vf_tuf_targets_remove_role(d, role, err)))
		return rc;
	mark_changed(r, ro->delegator);
	ro = find_loaded(r, role);
	ro->removed = true;
	ro->changed = false;
	if (r->selected && strcmp(r->selected, role) == 0) {
		free(r->selected);
		r->selected = NULL;
	}
	return 0;
}
