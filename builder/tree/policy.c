/*
 * The attack-surface policy (docs/policy.md).
 *
 * Every entry is checked in path order against, in this order: the built-in
 * rules (when p->defaults) -- a shell, interpreter or package manager in a
 * bin/sbin directory, a world-writable file or sticky-less directory outside
 * tmp, a setuid or setgid regular file -- then the first p->forbid glob it
 * matches. An entry that matches any p->allow glob is exempt from all of it.
 * Every violation is kept, with the package that brought the entry.
 */
#include "builder/tree/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entry points by kind; names are globs matched against the file name. */
static const char *const shells[] = {
	"sh", "bash", "dash", "zsh", "ash", "ksh", "csh", "tcsh", "fish", "busybox",
};
static const char *const interpreters[] = {
	"python", "python2*", "python3*", "perl", "perl5*", "ruby*", "node", "nodejs",
	"lua", "lua5*", "luajit", "php*", "tclsh*", "wish*",
};
static const char *const package_managers[] = {
	"rpm", "dpkg", "dpkg-*", "apt", "apt-get", "apt-*", "yum", "dnf", "microdnf",
	"pip", "pip2*", "pip3*", "gem", "npm", "zypper", "apk", "pacman", "opkg",
};

static const struct {
	const char *kind;
	const char *const *names;
	size_t n;
} entry_points[] = {
	{ "shell", shells, sizeof(shells) / sizeof(shells[0]) },
	{ "interpreter", interpreters, sizeof(interpreters) / sizeof(interpreters[0]) },
	{ "package manager", package_managers, sizeof(package_managers) / sizeof(package_managers[0]) },
};

struct checker {
	struct vf_policy_report rep;
	size_t cap;
	struct vf_err *err;
};

/* Record a violation; takes ownership of `reason` (NULL: out of memory). */
static int add_take(struct checker *c, const char *path, const char *origin, char *reason)
{
	struct vf_policy_violation *v;

	if (c->rep.n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 16;
		struct vf_policy_violation *bigger = realloc(c->rep.v, ncap * sizeof(*bigger));

		if (!bigger) {
			free(reason);
			return vf_err_set(c->err, ENOMEM, "out of memory");
		}
		c->rep.v = bigger;
		c->cap = ncap;
	}
	v = &c->rep.v[c->rep.n];
	v->path = strdup(path);
	v->origin = strdup(origin ? origin : "unknown");
	v->reason = reason;
	if (!v->path || !v->origin || !v->reason) {
		free(v->path);
		free(v->origin);
		free(v->reason);
		return vf_err_set(c->err, ENOMEM, "out of memory");
	}
	c->rep.n++;
	return 0;
}

static int add(struct checker *c, const char *path, const char *origin, const char *reason)
{
	return add_take(c, path, origin, strdup(reason));
}

/* Whether the directory holding `path` ("/a/b/name") is named bin or sbin. */
static bool in_bin_dir(const char *path, const char **ret_name)
{
	const char *slash = strrchr(path, '/'), *parent;
	size_t len;

	*ret_name = slash ? slash + 1 : path;
	if (!slash || slash == path)
		return false;
	for (parent = slash; parent > path && parent[-1] != '/'; parent--)
		;
	len = (size_t)(slash - parent);
	return (len == 3 && memcmp(parent, "bin", 3) == 0) ||
	       (len == 4 && memcmp(parent, "sbin", 4) == 0);
}

/* Whether any component of `path` is "tmp" (/tmp, /var/tmp, /srv/x/tmp/y ...). */
static bool in_tmp(const char *path)
{
	for (const char *p = path; (p = strstr(p, "tmp")) != NULL; p += 3)
		if ((p == path || p[-1] == '/') && (p[3] == '\0' || p[3] == '/'))
			return true;
	return false;
}

static bool any_glob(const char *const *globs, size_t n, const char *path, const char **ret)
{
	for (size_t i = 0; i < n; i++) {
		if (vf_glob_match(globs[i], path)) {
			if (ret)
				*ret = globs[i];
			return true;
		}
	}
	return false;
}

/* The violations of one entry (not allowed) at absolute path `path`. */
static int check_entry(struct checker *c, const struct vf_tree *t, const struct vf_policy *p,
		       const struct vf_tree_entry *e, const char *path)
{
	const struct vf_tree_entry *inode = e;
	bool regular = e->type == VF_TREE_FILE || e->type == VF_TREE_HARDLINK;
	const char *name, *glob;
	int r;

	/* a hardlink shares its target's mode */
	if (e->type == VF_TREE_HARDLINK && e->link) {
		const struct vf_tree_entry *target = vf_tree_get(t, e->link);

		if (target)
			inode = target;
	}
	if (p->defaults) {
		if ((regular || e->type == VF_TREE_SYMLINK) && in_bin_dir(path, &name)) {
			for (size_t k = 0; k < sizeof(entry_points) / sizeof(entry_points[0]); k++) {
				if (!any_glob(entry_points[k].names, entry_points[k].n, name, NULL))
					continue;
				char *reason = NULL;

				if (asprintf(&reason, "%s '%s' in a bin directory", entry_points[k].kind,
					     name) < 0)
					reason = NULL;
				if ((r = add_take(c, path, e->origin, reason)))
					return r;
				break;
			}
		}
		if ((inode->mode & 0002) && !in_tmp(path)) {
			if (regular && (r = add(c, path, e->origin, "world-writable file")))
				return r;
			if (e->type == VF_TREE_DIR && !(e->mode & 01000) &&
			    (r = add(c, path, e->origin, "world-writable directory without the sticky bit")))
				return r;
		}
		if (regular && (inode->mode & 04000) &&
		    (r = add(c, path, e->origin, "setuid binary")))
			return r;
		if (regular && (inode->mode & 02000) &&
		    (r = add(c, path, e->origin, "setgid binary")))
			return r;
	}
	if (any_glob(p->forbid, p->n_forbid, path, &glob)) {
		char *reason = NULL;

		if (asprintf(&reason, "forbidden by policy rule '%s'", glob) < 0)
			reason = NULL;
		if ((r = add_take(c, path, e->origin, reason)))
			return r;
	}
	return 0;
}

int vf_policy_check(const struct vf_tree *t, const struct vf_policy *p,
		    struct vf_policy_report *ret, struct vf_err *err)
{
	static const struct vf_policy defaults = { .defaults = true };
	struct checker c = { { NULL, 0 }, 0, err };
	size_t count = vf_tree_count(t), cap = 256;
	char *path = malloc(cap);
	int r = 0;

	if (!p)
		p = &defaults;
	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const struct vf_tree_entry *e = vf_tree_at(t, i);
		size_t len = strlen(e->path);

		if (len + 2 > cap) {
			char *bigger;

			while (len + 2 > cap)
				cap *= 2;
			bigger = realloc(path, cap);
			if (!bigger) {
				r = vf_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			path = bigger;
		}
		path[0] = '/';
		memcpy(path + 1, e->path, len + 1);
		if (any_glob(p->allow, p->n_allow, path, NULL))
			continue;
		if ((r = check_entry(&c, t, p, e, path)))
			goto out;
	}
out:
	free(path);
	if (r) {
		vf_policy_report_release(&c.rep);
		return r;
	}
	*ret = c.rep;
	return 0;
}

void vf_policy_report_release(struct vf_policy_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].path);
		free(r->v[i].origin);
		free(r->v[i].reason);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}
