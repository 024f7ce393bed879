/*
 * repo: staged offline signing. Changed targets-type documents are written
 * unsigned to <repo>/staged/, signed by key holders on their own machines,
 * and published once every threshold holds.
 */
#include "repo/repo_internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE_JSON "stage.json"
#define STAGE_MAX ((size_t)64 << 20)

static char *stage_path(const struct vf_repo *r, const char *rel)
{
	char *s;

	if (asprintf(&s, "%s/%s%s%s", r->dir, VF_REPO_STAGE_DIR, rel ? "/" : "", rel ? rel : "") < 0)
		return NULL;
	return s;
}

/* Push a path onto a NULL-terminated list. */
static int list_add(char ***list, size_t *n, const char *s)
{
	char **v = realloc(*list, (*n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	*list = v;
	if (!(v[*n] = strdup(s)))
		return -ENOMEM;
	v[++*n] = NULL;
	return 0;
}

/* Write one document unsigned as staged/metadata/<N>.<role>.json; record it. */
static int stage_doc(struct vf_repo *r, const char *role, const char *delegator,
		     struct vf_tuf_md *md, json_t *roles, char ***files, size_t *n_files,
		     struct vf_err *err)
{
	time_t expires = r->opts.expires[VF_TUF_TARGETS - 1] ?
		r->opts.expires[VF_TUF_TARGETS - 1] :
		r->opts.now + (time_t)vf_repo_default_lifetime(VF_TUF_TARGETS);
	struct vf_buf text = VF_BUF_INIT;
	char *name = NULL, *rel = NULL, *path = NULL;
	int rc;

	if (expires <= r->opts.now)
		return vf_err_set(err, EINVAL, "%s: expiry %lld is not after now (%lld)", role,
				  (long long)expires, (long long)r->opts.now);
	md->version++;
	md->expires = expires;
	vf_tuf_md_clear_signatures(md);
	if ((rc = vf_tuf_role_filename(role, md->version, &name, err)))
		goto out;
	if (asprintf(&rel, "metadata/%s", name) < 0 || !(path = stage_path(r, rel))) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &text, err)) ||
	    (rc = vf_repo_write_file(path, &text, err)))
		goto out;
	if (json_array_append_new(roles, json_pack("{s:s, s:s?, s:s}", "role", role, "delegator",
						   delegator, "file", rel)) < 0 ||
	    list_add(files, n_files, path + strlen(r->dir) + 1)) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
out:
	vf_buf_release(&text);
	free(name);
	free(rel);
	free(path);
	return rc;
}

int vf_repo_stage(struct vf_repo *r, unsigned refresh, char ***ret_files, struct vf_err *err)
{
	char *sdir = stage_path(r, NULL), *mdir = stage_path(r, "metadata");
	char *tdir = stage_path(r, "targets"), *json_path = stage_path(r, STAGE_JSON);
	json_t *doc = NULL, *roles = json_array(), *removed = json_array(), *files_json = json_array();
	struct vf_buf text = VF_BUF_INIT;
	char **files = NULL, *dumped = NULL;
	size_t n_files = 0;
	bool any = false;
	struct stat st;
	int rc = 0;

	if (ret_files)
		*ret_files = NULL;
	if (!sdir || !mdir || !tdir || !json_path || !roles || !removed || !files_json) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (lstat(sdir, &st) == 0) {
		rc = vf_err_set(err, EEXIST, "'%s' holds a stage already: publish it (vforge repo "
				"publish-staged) or discard it (vforge repo discard-staged)", sdir);
		goto out;
	}
	if (refresh & VF_REPO_ROLE(VF_TUF_TARGETS))
		r->targets_changed = true;
	any = r->targets_changed || r->n_staged;
	for (size_t i = 0; i < r->n_roles; i++)
		any |= !r->roles[i].gone && (r->roles[i].changed || r->roles[i].removed);
	if (!any) {
		rc = vf_err_set(err, ENODATA, "nothing to stage: no target or delegation changed");
		goto out;
	}
	if ((rc = vf_fs_mkdir_p(mdir, err)) || (rc = vf_fs_mkdir_p(tdir, err)))
		goto out;
	if (r->targets_changed &&
	    (rc = stage_doc(r, "targets", NULL, r->targets, roles, &files, &n_files, err)))
		goto fail;
	for (size_t i = 0; i < r->n_roles; i++) {
		struct vf_repo_role *ro = &r->roles[i];

		if (ro->gone)
			continue;
		if (ro->removed) {
			if (json_array_append_new(removed, json_string(ro->name)) < 0) {
				rc = vf_err_set(err, ENOMEM, "out of memory");
				goto fail;
			}
		} else if (ro->changed &&
			   (rc = stage_doc(r, ro->name, ro->delegator, ro->md, roles, &files,
					   &n_files, err))) {
			goto fail;
		}
	}
	for (size_t i = 0; i < r->n_staged; i++) {
		struct vf_repo_staged *s = &r->staged[i];
		char rel[64], *dst;

		snprintf(rel, sizeof(rel), "targets/%zu", i + 1);
		if (!(dst = stage_path(r, rel))) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		if (rename(s->tmp, dst) < 0) {
			rc = vf_err_sys(err, errno, "cannot move '%s' to '%s'", s->tmp, dst);
			free(dst);
			goto fail;
		}
		free(s->tmp);
		s->tmp = dst;
		s->borrowed = true;
		if (json_array_append_new(files_json, json_pack("{s:s, s:s}", "staged", rel, "final",
								  s->final + strlen(r->dir) + 1)) < 0) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
	}
	doc = json_pack("{s:{s:I, s:I}, s:O, s:O, s:O}", "base", "root",
			(json_int_t)vf_repo_root(r)->version, "timestamp",
			(json_int_t)r->timestamp->version, "roles", roles, "removed", removed,
			"target_files", files_json);
	dumped = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	if (!dumped || vf_buf_add_str(&text, dumped) || vf_buf_add(&text, "\n", 1)) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	/* stage.json last: a stage without it is incomplete and discarded */
	if ((rc = vf_repo_write_file(json_path, &text, err)))
		goto fail;
	if (ret_files) {
		*ret_files = files;
		files = NULL;
	}
	goto out;
fail:
	vf_fs_remove_tree(sdir, NULL);
out:
	for (size_t i = 0; files && files[i]; i++)
		free(files[i]);
	free(files);
	free(dumped);
	vf_buf_release(&text);
	json_decref(doc);
	json_decref(roles);
	json_decref(removed);
	json_decref(files_json);
	free(sdir);
	free(mdir);
	free(tdir);
	free(json_path);
	return rc;
}

int vf_repo_discard_staged(struct vf_repo *r, struct vf_err *err)
{
	char *sdir = stage_path(r, NULL);
	struct stat st;
	int rc;

	if (!sdir)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (lstat(sdir, &st) < 0)
		rc = vf_err_set(err, ENOENT, "'%s': there is no stage", sdir);
	else
		rc = vf_fs_remove_tree(sdir, err);
	free(sdir);
	return rc;
}

/* A relative path inside the stage or repository: no "..", no leading "/". */
static bool safe_rel(const char *p, const char *prefix)
{
	return strncmp(p, prefix, strlen(prefix)) == 0 && !strstr(p, "..") && !strstr(p, "//") &&
	       p[strlen(p) - 1] != '/';
}

static const char *str_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Put one staged document in place of the repository's (or as a new role). */
static int install_doc(struct vf_repo *r, json_t *entry, size_t index, struct vf_err *err)
{
	const char *role = str_member(entry, "role"), *file = str_member(entry, "file");
	const char *delegator = str_member(entry, "delegator");
	struct vf_tuf_md *md = NULL, *old;
	struct vf_repo_role *ro = NULL;
	char *path = NULL, *meta = NULL;
	int rc;

	if (!role || !file || !safe_rel(file, "metadata/"))
		return vf_err_set(err, EINVAL, "stage.json: roles[%zu]: expected {role, file "
				  "\"metadata/...\"}", index);
	if (!(path = stage_path(r, file)) || asprintf(&meta, "%s.json", role) < 0) {
		meta = NULL;
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vf_tuf_md_load(path, VF_TUF_TARGETS, VF_TUF_PARSE_OPAQUE_KEYIDS, &md, err)))
		goto out;
	if (strcmp(role, "targets") == 0) {
		old = r->targets;
	} else if (vf_tuf_md_find_meta(r->snapshot, meta)) {
		if ((rc = vf_repo_role_get(r, role, &ro, err)))
			goto out;
		old = ro->md;
	} else {
		if (!delegator) {
			rc = vf_err_set(err, EINVAL, "stage.json: roles[%zu]: new role '%s' without "
					"a delegator", index, role);
			goto out;
		}
		if ((rc = vf_repo_role_push(r, role, delegator, md, true, &ro, err)))
			goto out;
		ro->presigned = true;
		md = NULL;
		goto out;
	}
	if (md->version <= old->version) {
		rc = vf_err_set(err, ESTALE, "staged %s has version %llu, the repository's is %llu",
				path, (unsigned long long)md->version,
				(unsigned long long)old->version);
		goto out;
	}
	vf_tuf_md_free(old);
	if (ro) {
		ro->md = md;
		ro->changed = ro->presigned = true;
	} else {
		r->targets = md;
		r->targets_changed = r->targets_presigned = true;
	}
	md = NULL;
out:
	vf_tuf_md_free(md);
	free(path);
	free(meta);
	return rc;
}

int vf_repo_publish_staged(struct vf_repo *r, struct vf_signer *const *signers, size_t n,
			   struct vf_err *err)
{
	char *json_path = stage_path(r, STAGE_JSON), *sdir = stage_path(r, NULL);
	json_t *doc = NULL, *base, *roles, *removed, *files, *v;
	json_error_t jerr;
	size_t i;
	int rc;

	if (!json_path || !sdir) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	doc = json_load_file(json_path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		rc = access(json_path, F_OK) < 0 ?
			vf_err_set(err, ENOENT, "'%s': there is no stage (vforge repo stage makes "
				   "one)", sdir) :
			vf_err_set(err, EINVAL, "'%s': line %d: %s", json_path, jerr.line, jerr.text);
		goto out;
	}
	base = json_object_get(doc, "base");
	roles = json_object_get(doc, "roles");
	removed = json_object_get(doc, "removed");
	files = json_object_get(doc, "target_files");
	if (!json_is_object(base) || !json_is_array(roles) || !json_is_array(removed) ||
	    !json_is_array(files) || !json_is_integer(json_object_get(base, "root")) ||
	    !json_is_integer(json_object_get(base, "timestamp"))) {
		rc = vf_err_set(err, EINVAL, "'%s': expected {base: {root, timestamp}, roles, "
				"removed, target_files}", json_path);
		goto out;
	}
	if ((uint64_t)json_integer_value(json_object_get(base, "root")) != vf_repo_root(r)->version ||
	    (uint64_t)json_integer_value(json_object_get(base, "timestamp")) !=
		    r->timestamp->version) {
		rc = vf_err_set(err, ESTALE, "the repository changed since the stage was made "
				"(staged against root %lld and timestamp %lld, now root %llu and "
				"timestamp %llu): discard it (vforge repo discard-staged) and stage "
				"again", (long long)json_integer_value(json_object_get(base, "root")),
				(long long)json_integer_value(json_object_get(base, "timestamp")),
				(unsigned long long)vf_repo_root(r)->version,
				(unsigned long long)r->timestamp->version);
		goto out;
	}
	json_array_foreach(roles, i, v)
		if ((rc = install_doc(r, v, i, err)))
			goto out;
	json_array_foreach(removed, i, v) {
		struct vf_repo_role *ro;

		if (!json_is_string(v)) {
			rc = vf_err_set(err, EINVAL, "stage.json: removed[%zu]: expected a role name", i);
			goto out;
		}
		if ((rc = vf_repo_role_get(r, json_string_value(v), &ro, err)))
			goto out;
		ro->removed = true;
	}
	json_array_foreach(files, i, v) {
		const char *staged = str_member(v, "staged"), *final = str_member(v, "final");
		struct vf_repo_staged *s;

		if (!staged || !final || !safe_rel(staged, "targets/") || !safe_rel(final, "targets/")) {
			rc = vf_err_set(err, EINVAL, "stage.json: target_files[%zu]: expected {staged, "
					"final} under targets/", i);
			goto out;
		}
		s = realloc(r->staged, (r->n_staged + 1) * sizeof(*s));
		if (!s) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		r->staged = s;
		s = &r->staged[r->n_staged];
		s->tmp = stage_path(r, staged);
		s->final = vf_repo_join(r->dir, final);
		s->borrowed = true;
		r->n_staged++;
		if (!s->tmp || !s->final) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((rc = vf_repo_publish(r, signers, n, 0, err)))
		goto out;
	rc = vf_fs_remove_tree(sdir, err);
out:
	json_decref(doc);
	free(json_path);
	free(sdir);
	return rc;
}
