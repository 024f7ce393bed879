/* builder/manifest: read manifests, follow includes, merge, and the public API. */
#include "builder/manifest/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file on the include stack or already merged, by identity. */
struct file_id {
	bool known;        /* false for a document read from memory */
	dev_t dev;
	ino_t ino;
};

struct frame {
	struct file_id id;
	const char *display;
};

/* Where each merged manifest's "origin" points in the output document. */
struct origin_map {
	char *display;     /* as opened; what the typed view's origin holds */
	char *rel;         /* relative to the top-level manifest's directory */
};

struct composer {
	json_t *doc;       /* merged keys but the by-key arrays */
	json_t *pkgs;      /* name -> package entry */
	json_t *files, *dirs, *links; /* path -> entry: one namespace across the three */
	char *top_dir;     /* absolute directory of the top-level manifest */
	struct file_id *seen;
	size_t n_seen;
	struct origin_map *origins;
	size_t n_origins;
	struct frame stack[VF_MANIFEST_MAX_DEPTH];
	size_t depth;
};

/* A manifest read from disk. */
struct source {
	char *display;     /* the path as opened (dir/variant.json for a directory) */
	char *data;
	size_t len;
	struct file_id id;
};

static int oom(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

static void source_release(struct source *s)
{
	free(s->display);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

/* ---- reading -------------------------------------------------------------------- */

static int open_regular(const char *path, int *ret_fd, struct stat *st, struct vf_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open manifest '%s'", path);
	if (fstat(fd, st) < 0) {
		int e = errno;

		close(fd);
		return vf_err_sys(err, e, "cannot stat manifest '%s'", path);
	}
	*ret_fd = fd;
	return 0;
}

/* Read `path`, or `path`/variant.json when it is a directory. */
static int read_source(const char *path, struct source *s, struct vf_err *err)
{
	struct stat st;
	int fd = -1, r;
	int64_t got;

	memset(s, 0, sizeof(*s));
	if ((r = open_regular(path, &fd, &st, err)))
		return r;
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		fd = -1;
		s->display = vf_manifest_path_join(path, "variant.json");
		if (!s->display)
			return oom(err);
		if ((r = open_regular(s->display, &fd, &st, err)))
			goto out;
	} else if (!(s->display = strdup(path))) {
		r = oom(err);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vf_err_set(err, EINVAL, "manifest '%s' is not a regular file", s->display);
		goto out;
	}
	if ((uint64_t)st.st_size > VF_MANIFEST_MAX_FILE) {
		r = vf_err_set(err, EFBIG, "manifest '%s' is %llu bytes, more than the %u allowed",
			       s->display, (unsigned long long)st.st_size, VF_MANIFEST_MAX_FILE);
		goto out;
	}
	s->data = malloc((size_t)st.st_size + 1);
	if (!s->data) {
		r = oom(err);
		goto out;
	}
	got = vf_fs_pread_full(fd, s->data, (size_t)st.st_size, 0);
	if (got < 0) {
		r = vf_err_sys(err, (int)-got, "cannot read manifest '%s'", s->display);
		goto out;
	}
	s->len = (size_t)got;
	s->data[s->len] = '\0';
	s->id = (struct file_id){ true, st.st_dev, st.st_ino };
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r)
		source_release(s);
	return r;
}

static int parse_json(const char *display, const char *data, size_t len, json_t **ret,
		      struct vf_err *err)
{
	json_error_t jerr;
	json_t *doc;

	if (len > VF_MANIFEST_MAX_FILE)
		return vf_err_set(err, EFBIG, "manifest '%s' is %zu bytes, more than the %u allowed",
				  display, len, VF_MANIFEST_MAX_FILE);
	doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return vf_err_set(err, EINVAL, "manifest '%s': invalid JSON at line %d, column %d: "
				  "%s", display, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return vf_err_set(err, EINVAL, "manifest '%s': expected a JSON object at the top",
				  display);
	}
	*ret = doc;
	return 0;
}

/* ---- merging -------------------------------------------------------------------- */

static bool is_append(const char *dotted)
{
	return strcmp(dotted, "remove") == 0 || strcmp(dotted, "policy.forbid") == 0 ||
	       strcmp(dotted, "policy.allow") == 0 ||
	       strcmp(dotted, "selinux.file_contexts") == 0;
}

/* Length of a kernel parameter's key (the text before '='). */
static size_t param_key_len(const char *p)
{
	return strcspn(p, "=");
}

static bool same_key(const char *a, const char *b)
{
	size_t n = param_key_len(a);

	return n == param_key_len(b) && memcmp(a, b, n) == 0;
}

/*
 * kernel.cmdline: parameters are keyed by the text before '='. The later
 * file's parameters with a key the earlier ones have replace all of those, at
 * the position of the first; the rest are appended. Within one file, keys may
 * repeat ("console=tty0 console=ttyS0") but identical parameters appear once.
 */
static int merge_cmdline(json_t *dst_parent, json_t *src, struct vf_err *err)
{
	json_t *old = json_object_get(dst_parent, "cmdline"), *out = json_array(), *add;
	bool *used = NULL;
	size_t i, j, n = json_array_size(src);
	json_t *e;
	int r = -ENOMEM;

	add = json_array();
	used = calloc(n + 1, sizeof(*used));
	if (!out || !add || !used)
		goto fail;
	/* the new parameters, identical ones once */
	json_array_foreach(src, i, e) {
		for (j = 0; j < json_array_size(add); j++)
			if (json_equal(json_array_get(add, j), e))
				break;
		if (j == json_array_size(add) && json_array_append(add, e))
			goto fail;
	}
	n = json_array_size(add);
	/* old parameters, each key the new ones have replaced by the new group */
	json_array_foreach(old, i, e) {
		const char *p = json_string_value(e);
		bool replaced = false;

		for (j = 0; j < n; j++) {
			const char *q = json_string_value(json_array_get(add, j));

			if (!same_key(p, q))
				continue;
			replaced = true;
			if (used[j])
				continue;
			for (size_t k = j; k < n; k++) {
				json_t *qk = json_array_get(add, k);

				if (!used[k] && same_key(q, json_string_value(qk))) {
					if (json_array_append(out, qk))
						goto fail;
					used[k] = true;
				}
			}
		}
		if (!replaced && json_array_append(out, e))
			goto fail;
	}
	for (j = 0; j < n; j++)
		if (!used[j] && json_array_append(out, json_array_get(add, j)))
			goto fail;
	if (json_object_set_new(dst_parent, "cmdline", out)) {
		out = NULL;
		goto fail;
	}
	out = NULL;
	r = 0;
fail:
	json_decref(out);
	json_decref(add);
	free(used);
	return r ? oom(err) : 0;
}

static int merge_key(json_t *dst, const char *key, json_t *val, const char *parent,
		     struct vf_err *err)
{
	char dotted[128];

	snprintf(dotted, sizeof(dotted), "%s%s%s", parent, *parent ? "." : "", key);
	if (strcmp(dotted, "kernel.cmdline") == 0)
		return merge_cmdline(dst, val, err);
	if (is_append(dotted)) {
		json_t *arr = json_object_get(dst, key), *copy;

		if (!arr) {
			if (json_object_set_new(dst, key, json_array()))
				return oom(err);
			arr = json_object_get(dst, key);
		}
		copy = json_deep_copy(val);
		if (!copy || json_array_extend(arr, copy)) {
			json_decref(copy);
			return oom(err);
		}
		json_decref(copy);
		return 0;
	}
	if (json_is_object(val)) {
		json_t *d = json_object_get(dst, key), *v;
		const char *k;
		int r;

		if (!json_is_object(d)) {
			if (json_object_set_new(dst, key, json_object()))
				return oom(err);
			d = json_object_get(dst, key);
		}
		json_object_foreach(val, k, v)
			if ((r = merge_key(d, k, v, dotted, err)))
				return r;
		return 0;
	}
	if (json_object_set_new(dst, key, json_deep_copy(val)))
		return oom(err);
	return 0;
}

/* A copy of `e` carrying "origin" and, when `host` names a host path, its resolved "file". */
static json_t *annotate(json_t *e, const char *origin, const char *real_dir, const char *host)
{
	json_t *copy = json_deep_copy(e);
	char *file = NULL;

	if (!copy)
		return NULL;
	if (json_object_set_new(copy, "origin", json_string(origin)))
		goto fail;
	if (host) {
		if (vf_manifest_resolve_host(real_dir, host, &file))
			goto fail;
		if (json_object_set_new(copy, "file", json_string(file)))
			goto fail;
		free(file);
	}
	return copy;
fail:
	free(file);
	json_decref(copy);
	return NULL;
}

static int remove_packages(struct composer *c, json_t *src, struct vf_err *err)
{
	json_t *list = json_object_get(src, "remove_packages"), *own, *e, *p;
	char show[VF_MANIFEST_SHOW_MAX];
	size_t i, k;

	own = json_object_get(src, "packages");
	json_array_foreach(list, i, e) {
		const char *name = json_string_value(e);

		json_array_foreach(own, k, p)
			if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
				return vf_err_set(err, EINVAL, "remove_packages[%zu]: package %s is "
						  "also declared here (packages[%zu])", i,
						  vf_manifest_show(name, show), k);
		if (!json_object_get(c->pkgs, name))
			return vf_err_set(err, ENOENT, "remove_packages[%zu]: package %s is not "
					  "declared by any manifest merged before this one", i,
					  vf_manifest_show(name, show));
		json_object_del(c->pkgs, name);
	}
	return 0;
}

/* Merge one validated file on top of what is composed so far. */
static int apply(struct composer *c, const char *display, const char *real_dir, json_t *src,
		 struct vf_err *err)
{
	static const struct {
		const char *key;
		size_t off;
	} kinds[] = {
		{ "files", offsetof(struct composer, files) },
		{ "directories", offsetof(struct composer, dirs) },
		{ "symlinks", offsetof(struct composer, links) },
	};
	const char *key;
	json_t *e, *v;
	size_t i;
	int r;

	if ((r = remove_packages(c, src, err)))
		return r;
	json_array_foreach(json_object_get(src, "packages"), i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *copy = annotate(e, display, real_dir,
					json_string_value(json_object_get(e, "path")));

		if (!copy || json_object_set_new(c->pkgs, name, copy))
			return oom(err);
	}
	for (size_t kd = 0; kd < sizeof(kinds) / sizeof(kinds[0]); kd++) {
		json_t *own = *(json_t **)((char *)c + kinds[kd].off);

		json_array_foreach(json_object_get(src, kinds[kd].key), i, e) {
			const char *path = json_string_value(json_object_get(e, "path"));
			json_t *copy = annotate(e, display, real_dir,
						json_string_value(json_object_get(e, "source")));

			/* a later declaration replaces an earlier one of any kind */
			for (size_t o = 0; o < sizeof(kinds) / sizeof(kinds[0]); o++)
				json_object_del(*(json_t **)((char *)c + kinds[o].off), path);
			if (!copy || json_object_set_new(own, path, copy))
				return oom(err);
		}
	}
	json_object_foreach(src, key, v) {
		if (strcmp(key, "include") == 0 || strcmp(key, "remove_packages") == 0 ||
		    strcmp(key, "packages") == 0 || strcmp(key, "files") == 0 ||
		    strcmp(key, "directories") == 0 || strcmp(key, "symlinks") == 0)
			continue;
		if ((r = merge_key(c->doc, key, v, "", err)))
			return r;
	}
	/* kernel.package: replaced as a whole, its path resolved against this file */
	v = json_object_get(json_object_get(src, "kernel"), "package");
	if (v) {
		json_t *copy = annotate(v, display, real_dir,
					json_string_value(json_object_get(v, "path")));

		if (!copy || json_object_set_new(json_object_get(c->doc, "kernel"), "package", copy))
			return oom(err);
	}
	v = json_object_get(json_object_get(src, "update"), "root");
	if (v) {
		char *file = NULL;

		if (vf_manifest_resolve_host(real_dir, json_string_value(v), &file))
			return oom(err);
		r = json_object_set_new(json_object_get(c->doc, "update"), "file", json_string(file));
		free(file);
		if (r)
			return oom(err);
	}
	return 0;
}

/* ---- includes ------------------------------------------------------------------- */

static bool same_id(const struct file_id *a, const struct file_id *b)
{
	return a->known && b->known && a->dev == b->dev && a->ino == b->ino;
}

static int add_origin(struct composer *c, const char *display, const char *real_dir,
		      const char *rel_override)
{
	struct origin_map *o;
	char *real = NULL;
	const char *base;

	o = realloc(c->origins, (c->n_origins + 1) * sizeof(*o));
	if (!o)
		return -ENOMEM;
	c->origins = o;
	o = &c->origins[c->n_origins];
	memset(o, 0, sizeof(*o));
	c->n_origins++;
	if (!(o->display = strdup(display)))
		return -ENOMEM;
	if (rel_override) {
		o->rel = strdup(rel_override);
		return o->rel ? 0 : -ENOMEM;
	}
	base = strrchr(display, '/');
	base = base ? base + 1 : display;
	real = vf_manifest_path_join(real_dir, base);
	if (!real)
		return -ENOMEM;
	o->rel = vf_manifest_path_relative(real, c->top_dir);
	free(real);
	return o->rel ? 0 : -ENOMEM;
}

static int merge_file(struct composer *c, const char *display, const char *open_dir,
		      const char *real_dir, json_t *src, struct vf_err *err);

/* Follow include[i] of the file on top of the stack. */
static int include_one(struct composer *c, const char *parent, size_t i, const char *path,
		       struct vf_err *err)
{
	struct source s;
	char *open_dir = NULL, *real_dir = NULL;
	json_t *doc = NULL;
	int r;

	if ((r = read_source(path, &s, err)))
		return vf_err_prefix(err, "manifest '%s': include[%zu]", parent, i);
	for (size_t k = 0; k < c->depth; k++) {
		char chain[VF_ERR_MSG_MAX];
		size_t o = 0;

		if (!same_id(&c->stack[k].id, &s.id))
			continue;
		chain[0] = '\0';
		for (size_t q = k; q < c->depth && o < sizeof(chain); q++)
			o += (size_t)snprintf(chain + o, sizeof(chain) - o, "%s -> ",
					      c->stack[q].display);
		r = vf_err_set(err, ELOOP, "manifest '%s': include[%zu]: include cycle: %s%s",
			       parent, i, chain, s.display);
		goto out;
	}
	if (c->depth >= VF_MANIFEST_MAX_DEPTH) {
		r = vf_err_set(err, ELOOP, "manifest '%s': include[%zu]: '%s' would be nested %zu "
			       "deep, more than the %d allowed", parent, i, s.display, c->depth + 1,
			       VF_MANIFEST_MAX_DEPTH);
		goto out;
	}
	for (size_t k = 0; k < c->n_seen; k++)
		if (same_id(&c->seen[k], &s.id)) {
			r = 0; /* a diamond: merged once, where first reached */
			goto out;
		}
	{
		struct file_id *n = realloc(c->seen, (c->n_seen + 1) * sizeof(*n));

		if (!n) {
			r = oom(err);
			goto out;
		}
		c->seen = n;
		c->seen[c->n_seen++] = s.id;
	}
	if ((r = parse_json(s.display, s.data, s.len, &doc, err)))
		goto out;
	open_dir = vf_manifest_path_dir(s.display);
	if (!open_dir) {
		r = oom(err);
		goto out;
	}
	if ((r = vf_manifest_abs_dir(open_dir, &real_dir))) {
		r = vf_err_set(err, r, "manifest '%s': cannot resolve its directory", s.display);
		goto out;
	}
	if (add_origin(c, s.display, real_dir, NULL)) {
		r = oom(err);
		goto out;
	}
	c->stack[c->depth++] = (struct frame){ s.id, s.display };
	r = merge_file(c, s.display, open_dir, real_dir, doc, err);
	c->depth--;
out:
	json_decref(doc);
	free(real_dir);
	free(open_dir);
	source_release(&s);
	return r;
}

/* Validate `src`, merge its includes depth-first, then `src` itself. */
static int merge_file(struct composer *c, const char *display, const char *open_dir,
		      const char *real_dir, json_t *src, struct vf_err *err)
{
	struct vf_manifest tmp;
	json_t *inc, *e;
	size_t i;
	int r;

	memset(&tmp, 0, sizeof(tmp));
	r = vf_manifest_parse_doc(src, false, &tmp, err);
	vf_manifest_release_typed(&tmp);
	if (r)
		return vf_err_prefix(err, "manifest '%s'", display);
	inc = json_object_get(src, "include");
	json_array_foreach(inc, i, e) {
		char *path = vf_manifest_path_join(open_dir, json_string_value(e));

		if (!path)
			return oom(err);
		r = include_one(c, display, i, path, err);
		free(path);
		if (r)
			return r;
	}
	if ((r = apply(c, display, real_dir, src, err)))
		return vf_err_prefix(err, "manifest '%s'", display);
	return 0;
}

/* ---- the composed document ------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Set doc[key] to obj's values sorted by their keys (left out when obj is empty). */
static int set_sorted(json_t *doc, const char *key, json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys;
	json_t *arr, *v;
	const char *k;
	int r = -ENOMEM;

	if (n == 0)
		return 0;
	keys = calloc(n, sizeof(*keys));
	arr = json_array();
	if (!keys || !arr)
		goto out;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		if (json_array_append(arr, json_object_get(obj, keys[i])))
			goto out;
	r = json_object_set(doc, key, arr) ? -ENOMEM : 0;
out:
	json_decref(arr);
	free(keys);
	return r;
}

static const char *rel_origin(const struct composer *c, const char *display)
{
	for (size_t i = 0; i < c->n_origins; i++)
		if (strcmp(c->origins[i].display, display) == 0)
			return c->origins[i].rel;
	return display;
}

/* Rewrite "origin" and "file" of one annotated object for the output document. */
static int relativize(const struct composer *c, json_t *obj)
{
	json_t *o = json_object_get(obj, "origin"), *f = json_object_get(obj, "file");

	if (o && json_object_set_new(obj, "origin",
				     json_string(rel_origin(c, json_string_value(o)))))
		return -ENOMEM;
	if (f) {
		char *rel = vf_manifest_path_relative(json_string_value(f), c->top_dir);
		int r;

		if (!rel)
			return -ENOMEM;
		r = json_object_set_new(obj, "file", json_string(rel));
		free(rel);
		if (r)
			return -ENOMEM;
	}
	return 0;
}

static json_t *output_doc(const struct composer *c, json_t *doc)
{
	static const char *const arrays[] = { "packages", "files", "directories", "symlinks" };
	json_t *out = json_deep_copy(doc), *e, *u;
	size_t i;

	if (!out)
		return NULL;
	for (size_t a = 0; a < sizeof(arrays) / sizeof(arrays[0]); a++)
		json_array_foreach(json_object_get(out, arrays[a]), i, e)
			if (relativize(c, e))
				goto fail;
	if ((u = json_object_get(out, "update")) && relativize(c, u))
		goto fail;
	if ((u = json_object_get(json_object_get(out, "kernel"), "package")) && relativize(c, u))
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}

static void composer_release(struct composer *c)
{
	json_decref(c->doc);
	json_decref(c->pkgs);
	json_decref(c->files);
	json_decref(c->dirs);
	json_decref(c->links);
	free(c->top_dir);
	free(c->seen);
	for (size_t i = 0; i < c->n_origins; i++) {
		free(c->origins[i].display);
		free(c->origins[i].rel);
	}
	free(c->origins);
}

/*
 * Compose from the top-level document `src` (named `display`; includes
 * relative to `open_dir`) and build the manifest.
 */
static int compose(const char *display, const struct file_id *id, const char *open_dir,
		   const char *rel_override, json_t *src, struct vf_manifest **ret,
		   struct vf_err *err)
{
	struct composer c;
	struct vf_manifest *m = NULL;
	json_t *doc = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	c.doc = json_object();
	c.pkgs = json_object();
	c.files = json_object();
	c.dirs = json_object();
	c.links = json_object();
	m = calloc(1, sizeof(*m));
	if (!c.doc || !c.pkgs || !c.files || !c.dirs || !c.links || !m ||
	    !(m->path = strdup(display))) {
		r = oom(err);
		goto out;
	}
	if ((r = vf_manifest_abs_dir(open_dir, &c.top_dir))) {
		r = vf_err_set(err, r, "manifest '%s': cannot resolve its directory", display);
		goto out;
	}
	if (add_origin(&c, display, c.top_dir, rel_override)) {
		r = oom(err);
		goto out;
	}
	if (id->known) {
		c.seen = malloc(sizeof(*c.seen));
		if (!c.seen) {
			r = oom(err);
			goto out;
		}
		c.seen[c.n_seen++] = *id;
	}
	c.stack[c.depth++] = (struct frame){ *id, display };
	if ((r = merge_file(&c, display, open_dir, c.top_dir, src, err)))
		goto out;
	doc = json_incref(c.doc);
	if (set_sorted(doc, "packages", c.pkgs) || set_sorted(doc, "files", c.files) ||
	    set_sorted(doc, "directories", c.dirs) || set_sorted(doc, "symlinks", c.links)) {
		r = oom(err);
		goto out;
	}
	if ((r = vf_manifest_parse_doc(doc, true, m, err))) {
		vf_err_prefix(err, "variant '%s'", display);
		goto out;
	}
	m->json = output_doc(&c, doc);
	if (!m->json || !(m->sources = calloc(c.n_origins ? c.n_origins : 1, sizeof(char *)))) {
		r = oom(err);
		goto out;
	}
	for (size_t i = 0; i < c.n_origins; i++) {
		if (!(m->sources[i] = strdup(c.origins[i].display))) {
			r = oom(err);
			goto out;
		}
		m->n_sources++;
	}
	*ret = m;
	m = NULL;
out:
	json_decref(doc);
	vf_manifest_free(m);
	composer_release(&c);
	return r;
}

/* ---- public API ------------------------------------------------------------------ */

int vf_manifest_load(const char *path, struct vf_manifest **ret, struct vf_err *err)
{
	struct source s;
	char *open_dir = NULL;
	json_t *doc = NULL;
	int r;

	if ((r = read_source(path, &s, err)))
		return r;
	if ((r = parse_json(s.display, s.data, s.len, &doc, err)))
		goto out;
	open_dir = vf_manifest_path_dir(s.display);
	if (!open_dir) {
		r = oom(err);
		goto out;
	}
	r = compose(s.display, &s.id, open_dir, NULL, doc, ret, err);
out:
	free(open_dir);
	json_decref(doc);
	source_release(&s);
	return r;
}

int vf_manifest_load_buffer(const char *name, const char *base_dir, const void *data, size_t len,
			    struct vf_manifest **ret, struct vf_err *err)
{
	struct file_id none = { false, 0, 0 };
	json_t *doc = NULL;
	int r;

	if ((r = parse_json(name, data, len, &doc, err)))
		return r;
	r = compose(name, &none, base_dir, name, doc, ret, err);
	json_decref(doc);
	return r;
}

void vf_manifest_free(struct vf_manifest *m)
{
	if (!m)
		return;
	vf_manifest_release_typed(m);
	json_decref(m->json);
	for (size_t i = 0; i < m->n_sources; i++)
		free(m->sources[i]);
	free(m->sources);
	free(m->path);
	free(m);
}

int vf_manifest_format_json(const struct vf_manifest *m, char **ret, struct vf_err *err)
{
	char *text = json_dumps(m->json, JSON_SORT_KEYS | JSON_INDENT(2)), *out;
	size_t n;

	if (!text)
		return oom(err);
	n = strlen(text);
	out = realloc(text, n + 2);
	if (!out) {
		free(text);
		return oom(err);
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	*ret = out;
	return 0;
}
