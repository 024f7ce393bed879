/*
 * The in-memory file tree.
 *
 * Every entry is a `struct node` (the public entry, its path inline, and a
 * little bookkeeping). Nodes live in an open-addressing hash table keyed by
 * path (linear probing, backward-shift deletion) for O(1) lookups, and the
 * committed ones in an array sorted bytewise (strcmp) for vf_tree_at().
 *
 * Changes happen in transactions (tree_internal.h): new nodes go to a pending
 * list, changed nodes get their old entry saved in a journal. Commit sorts the
 * pending nodes and merges them into the array from the back (room for them is
 * reserved as they are created, so commit cannot fail); rollback restores the
 * saved entries and frees the new nodes. So a failed vf_tree_add() or import
 * leaves the tree exactly as it was (the store keeps any contents written).
 *
 * Invariants: every node but the root has a parent directory node; a node's
 * n_children counts the nodes directly below it, its n_links the hardlinks
 * that point to it (hardlinks always point to a regular file).
 */
#include "builder/tree/tree_internal.h"

#include "builder/tree/policy.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F_IMPLICIT 1u  /* a directory created as a parent, not by any entry */
#define F_NEW 2u       /* created in the open transaction */
#define F_MARK 4u      /* to be removed (vf_tree_remove_glob) */

struct node {
	struct vf_tree_entry e;   /* e.path points at path[] below */
	struct node *parent;
	struct node *target;      /* hardlinks: the regular file */
	struct node *promoted;    /* remove: the hardlink that takes this file's place */
	uint64_t hash;
	uint32_t n_children;
	uint32_t n_links;
	uint32_t flags;
	char path[];
};

/* A changed node's previous state; owns old.link and old.xattrs. */
struct mod {
	struct node *n;
	struct vf_tree_entry old;
	struct node *old_target;
	uint32_t old_flags;
};

struct vf_tree {
	struct vf_tree_limits lim;
	struct vf_tree_store *store;

	struct node **ents;       /* committed, sorted by path */
	size_t n, cap;
	struct node **pend;       /* created in the open transaction */
	size_t n_pend, cap_pend;
	struct mod *mods;         /* changed in the open transaction */
	size_t n_mods, cap_mods;
	bool in_txn;

	struct node **tab;        /* hash table, power-of-two size */
	uint32_t *tags;           /* the high half of each slot's hash: probes skip most nodes */
	size_t tab_cap, tab_used;

	char **origins;           /* interned origin names */
	size_t n_origins, cap_origins;
};

#define DEFAULT_MAX_ENTRY_SIZE (UINT64_C(1) << 30)
#define DEFAULT_MAX_ENTRIES UINT64_C(1000000)
#define DEFAULT_MAX_TOTAL_SIZE (UINT64_C(64) << 30)

/* ---- small helpers ---- */

/* Grow *arr to hold at least `need` elements. */
static int reserve(void **arr, size_t *cap, size_t need, size_t elsize)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elsize)
			return -ENOMEM;
		n *= 2;
	}
	p = realloc(*arr, n * elsize);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

const char *vf_tree_escape(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	assert(size >= 8);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (o + 4 + 4 >= size) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (*p >= 0x20 && *p < 0x7f && *p != '\'' && *p != '\\')
			buf[o++] = (char)*p;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
	}
	buf[o] = '\0';
	return buf;
}

const char *vf_tree_origin_desc(const char *origin, char *buf, size_t size)
{
	char esc[VF_TREE_ESC_MAX];

	if (!strcmp(origin, "manifest"))
		snprintf(buf, size, "the manifest");
	else
		snprintf(buf, size, "package '%s'", vf_tree_escape(origin, esc, sizeof(esc)));
	return buf;
}

const char *vf_tree_type_name(enum vf_tree_type type)
{
	switch (type) {
	case VF_TREE_FILE: return "file";
	case VF_TREE_DIR: return "directory";
	case VF_TREE_SYMLINK: return "symlink";
	case VF_TREE_HARDLINK: return "hardlink";
	case VF_TREE_CHR: return "character device";
	case VF_TREE_BLK: return "block device";
	case VF_TREE_FIFO: return "fifo";
	case VF_TREE_SOCK: return "socket";
	}
	return "unknown entry";
}

static uint64_t hash_path(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	h ^= h >> 31;
	h *= UINT64_C(0x9e3779b97f4a7c15);
	return h ^ (h >> 29);
}

static void xattrs_free(struct vf_tree_xattr *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].name);
		free(x[i].value);
	}
	free(x);
}

/* Free what an entry owns: link and xattrs (not path or origin). */
static void entry_release(struct vf_tree_entry *e)
{
	free(e->link);
	xattrs_free(e->xattrs, e->n_xattrs);
	e->link = NULL;
	e->xattrs = NULL;
	e->n_xattrs = 0;
}

static int xattrs_copy(const struct vf_tree_xattr *src, size_t n, struct vf_tree_xattr **ret)
{
	struct vf_tree_xattr *x;

	*ret = NULL;
	if (!n)
		return 0;
	x = calloc(n, sizeof(*x));
	if (!x)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		x[i].name = strdup(src[i].name);
		x[i].value = malloc(src[i].len ? src[i].len : 1);
		x[i].len = src[i].len;
		if (!x[i].name || !x[i].value) {
			xattrs_free(x, n);
			return -ENOMEM;
		}
		if (src[i].len)
			memcpy(x[i].value, src[i].value, src[i].len);
	}
	*ret = x;
	return 0;
}

/* Deep copy of src's link and xattrs into dst (other fields copied as is). */
static int entry_copy(struct vf_tree_entry *dst, const struct vf_tree_entry *src)
{
	*dst = *src;
	dst->link = NULL;
	dst->xattrs = NULL;
	if (src->link && !(dst->link = strdup(src->link)))
		return -ENOMEM;
	if (xattrs_copy(src->xattrs, src->n_xattrs, &dst->xattrs) < 0) {
		free(dst->link);
		dst->link = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vf_tree_xattr *)a)->name, ((const struct vf_tree_xattr *)b)->name);
}

int vf_tree_xattrs_sort(struct vf_tree_xattr *x, size_t *n, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX];
	size_t o = 0;

	if (*n < 2)
		return 0;
	qsort(x, *n, sizeof(*x), xattr_cmp);
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(x[o].name, x[i].name)) {
			x[++o] = x[i];
			continue;
		}
		if (x[o].len != x[i].len || memcmp(x[o].value, x[i].value, x[i].len)) {
			vf_err_set(err, EINVAL, "xattr '%s' appears twice with different values",
				   vf_tree_escape(x[i].name, esc, sizeof(esc)));
			/* keep every remaining xattr owned by the array */
			memmove(x + o + 1, x + i, (*n - i) * sizeof(*x));
			*n = o + 1 + (*n - i);
			return -EINVAL;
		}
		free(x[i].name);
		free(x[i].value);
	}
	*n = o + 1;
	return 0;
}

static int check_xattrs(const struct vf_tree_xattr *x, size_t n, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX];

	for (size_t i = 0; i < n; i++) {
		size_t len = x[i].name ? strlen(x[i].name) : 0;

		if (!len)
			return vf_err_set(err, EINVAL, "xattr with an empty name");
		if (len > VF_TREE_XATTR_NAME_MAX)
			return vf_err_set(err, EINVAL, "xattr name '%s' is %zu bytes long, more than %d",
					  vf_tree_escape(x[i].name, esc, sizeof(esc)), len,
					  VF_TREE_XATTR_NAME_MAX);
		if (x[i].len > VF_TREE_XATTR_SIZE_MAX)
			return vf_err_set(err, EINVAL, "xattr '%s' is %zu bytes, more than %d",
					  vf_tree_escape(x[i].name, esc, sizeof(esc)), x[i].len,
					  VF_TREE_XATTR_SIZE_MAX);
		if (x[i].len && !x[i].value)
			return vf_err_set(err, EINVAL, "xattr '%s' has no value",
					  vf_tree_escape(x[i].name, esc, sizeof(esc)));
		if (i && strcmp(x[i - 1].name, x[i].name) >= 0)
			return vf_err_set(err, EINVAL, "xattrs are not sorted by name, or repeat '%s'",
					  vf_tree_escape(x[i].name, esc, sizeof(esc)));
	}
	return 0;
}

/* ---- hash table ---- */

#define TAG(h) ((uint32_t)((h) >> 32))

static struct node *find(const struct vf_tree *t, const char *path)
{
	uint64_t h = hash_path(path);
	size_t mask = t->tab_cap - 1;

	for (size_t i = (size_t)h & mask; t->tab[i]; i = (i + 1) & mask)
		if (t->tags[i] == TAG(h) && t->tab[i]->hash == h && !strcmp(t->tab[i]->path, path))
			return t->tab[i];
	return NULL;
}

static void tab_put(struct node **tab, uint32_t *tags, size_t cap, struct node *n)
{
	size_t i = (size_t)n->hash & (cap - 1);

	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = n;
	tags[i] = TAG(n->hash);
}

/* Room for one more node (load factor at most 1/2). */
static int tab_reserve(struct vf_tree *t)
{
	struct node **tab;
	uint32_t *tags;
	size_t cap;

	if ((t->tab_used + 1) * 2 <= t->tab_cap)
		return 0;
	cap = t->tab_cap * 2;
	tab = calloc(cap, sizeof(*tab));
	tags = malloc(cap * sizeof(*tags));
	if (!tab || !tags) {
		free(tab);
		free(tags);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->tab_cap; i++)
		if (t->tab[i])
			tab_put(tab, tags, cap, t->tab[i]);
	free(t->tab);
	free(t->tags);
	t->tab = tab;
	t->tags = tags;
	t->tab_cap = cap;
	return 0;
}

static void tab_delete(struct vf_tree *t, struct node *n)
{
	size_t mask = t->tab_cap - 1;
	size_t i = (size_t)n->hash & mask;

	while (t->tab[i] != n) {
		assert(t->tab[i]);
		i = (i + 1) & mask;
	}
	t->tab[i] = NULL;
	t->tab_used--;
	/* shift back the nodes of the probe run that follows */
	for (size_t j = (i + 1) & mask; t->tab[j]; j = (j + 1) & mask) {
		size_t k = (size_t)t->tab[j]->hash & mask;
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);

		if (!stays) {
			t->tab[i] = t->tab[j];
			t->tags[i] = t->tags[j];
			t->tab[j] = NULL;
			i = j;
		}
	}
}

/* ---- nodes ---- */

static struct node *node_new(const char *path)
{
	size_t len = strlen(path);
	struct node *n = calloc(1, sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	memcpy(n->path, path, len + 1);
	n->e.path = n->path;
	n->hash = hash_path(path);
	return n;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	entry_release(&n->e);
	free(n);
}

static const char *intern(struct vf_tree *t, const char *origin)
{
	char *s;

	for (size_t i = 0; i < t->n_origins; i++)
		if (!strcmp(t->origins[i], origin))
			return t->origins[i];
	if (reserve((void **)&t->origins, &t->cap_origins, t->n_origins + 1, sizeof(char *)) < 0)
		return NULL;
	if (!(s = strdup(origin)))
		return NULL;
	t->origins[t->n_origins++] = s;
	return s;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->path, (*(struct node *const *)b)->path);
}

/* ---- lifetime ---- */

struct vf_tree *vf_tree_new(const struct vf_tree_limits *limits, const char *store_dir)
{
	struct vf_tree *t = calloc(1, sizeof(*t));
	struct node *root;

	if (!t)
		return NULL;
	if (limits)
		t->lim = *limits;
	if (!t->lim.max_entry_size)
		t->lim.max_entry_size = DEFAULT_MAX_ENTRY_SIZE;
	if (!t->lim.max_entries)
		t->lim.max_entries = DEFAULT_MAX_ENTRIES;
	if (!t->lim.max_total_size)
		t->lim.max_total_size = DEFAULT_MAX_TOTAL_SIZE;
	t->store = vf_tree_store_new(store_dir, t->lim.max_entry_size, t->lim.max_total_size);
	t->tab_cap = 1024;
	t->tab = calloc(t->tab_cap, sizeof(*t->tab));
	t->tags = malloc(t->tab_cap * sizeof(*t->tags));
	root = node_new("");
	if (!t->store || !t->tab || !t->tags || !root ||
	    reserve((void **)&t->ents, &t->cap, 1, sizeof(*t->ents)) < 0 ||
	    !(root->e.origin = (char *)intern(t, "manifest"))) {
		free(root);
		vf_tree_free(t);
		return NULL;
	}
	root->e.type = VF_TREE_DIR;
	root->e.mode = 0755;
	root->flags = F_IMPLICIT;
	tab_put(t->tab, t->tags, t->tab_cap, root);
	t->tab_used = 1;
	t->ents[t->n++] = root;
	return t;
}

void vf_tree_free(struct vf_tree *t)
{
	if (!t)
		return;
	if (t->in_txn)
		vf_tree_txn_rollback(t);
	for (size_t i = 0; i < t->n; i++)
		node_free(t->ents[i]);
	for (size_t i = 0; i < t->n_origins; i++)
		free(t->origins[i]);
	free(t->origins);
	free(t->ents);
	free(t->pend);
	free(t->mods);
	free(t->tab);
	free(t->tags);
	vf_tree_store_free(t->store);
	free(t);
}

struct vf_tree_store *vf_tree_store_of(struct vf_tree *t)
{
	return t->store;
}

const struct vf_tree_limits *vf_tree_limits_of(const struct vf_tree *t)
{
	return &t->lim;
}

/* ---- transactions ---- */

int vf_tree_txn_begin(struct vf_tree *t, struct vf_err *err)
{
	(void)err;
	assert(!t->in_txn);
	t->in_txn = true;
	t->n_pend = 0;
	t->n_mods = 0;
	return 0;
}

void vf_tree_txn_commit(struct vf_tree *t)
{
	size_t i, j, k;

	assert(t->in_txn);
	for (i = 0; i < t->n_pend; i++)
		t->pend[i]->flags &= ~F_NEW;
	if (t->n_pend > 1)
		qsort(t->pend, t->n_pend, sizeof(*t->pend), node_cmp);
	/* merge from the back; t->cap >= t->n + t->n_pend was reserved */
	i = t->n;
	j = t->n_pend;
	k = t->n + t->n_pend;
	while (j > 0) {
		if (i > 0 && strcmp(t->ents[i - 1]->path, t->pend[j - 1]->path) > 0)
			t->ents[--k] = t->ents[--i];
		else
			t->ents[--k] = t->pend[--j];
	}
	t->n += t->n_pend;
	for (i = 0; i < t->n_mods; i++)
		entry_release(&t->mods[i].old);
	t->n_pend = 0;
	t->n_mods = 0;
	t->in_txn = false;
	/* a big import's bookkeeping is not kept for the rest of the build */
	if (t->cap_pend > 4096) {
		free(t->pend);
		t->pend = NULL;
		t->cap_pend = 0;
	}
}

void vf_tree_txn_rollback(struct vf_tree *t)
{
	assert(t->in_txn);
	for (size_t i = t->n_mods; i-- > 0;) {
		struct mod *m = &t->mods[i];
		struct node *n = m->n;

		if (n->target)
			n->target->n_links--;
		entry_release(&n->e);
		n->e = m->old;
		n->target = m->old_target;
		if (n->target)
			n->target->n_links++;
		n->flags = m->old_flags;
	}
	for (size_t i = t->n_pend; i-- > 0;) {
		struct node *n = t->pend[i];

		tab_delete(t, n);
		if (n->parent)
			n->parent->n_children--;
		if (n->target)
			n->target->n_links--;
		node_free(n);
	}
	t->n_pend = 0;
	t->n_mods = 0;
	t->in_txn = false;
}

/*
 * Create a node for `e` (fields deep-copied; path and origin given) below
 * `parent`. Checks the entry limit.
 */
static int add_new(struct vf_tree *t, const char *path, const struct vf_tree_entry *e,
		   const char *origin, struct node *parent, struct node *target, uint32_t flags,
		   struct node **ret, struct vf_err *err)
{
	struct node *n;

	assert(t->in_txn);
	if (t->n + t->n_pend >= t->lim.max_entries)
		return vf_err_set(err, E2BIG, "too many entries: the limit is %" PRIu64,
				  t->lim.max_entries);
	if (reserve((void **)&t->pend, &t->cap_pend, t->n_pend + 1, sizeof(*t->pend)) < 0 ||
	    reserve((void **)&t->ents, &t->cap, t->n + t->n_pend + 1, sizeof(*t->ents)) < 0 ||
	    tab_reserve(t) < 0 || !(n = node_new(path)))
		return vf_err_set(err, ENOMEM, "out of memory");
	if (entry_copy(&n->e, e) < 0) {
		free(n);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	n->e.path = n->path;
	n->e.origin = (char *)origin;
	n->parent = parent;
	n->target = target;
	n->flags = flags | F_NEW;
	tab_put(t->tab, t->tags, t->tab_cap, n);
	t->tab_used++;
	t->pend[t->n_pend++] = n;
	if (parent)
		parent->n_children++;
	if (target)
		target->n_links++;
	if (ret)
		*ret = n;
	return 0;
}

/*
 * Give node `n` the entry `ne` (taking ownership of its link and xattrs),
 * journalling the old one unless `n` is new in this transaction.
 */
static int set_entry(struct vf_tree *t, struct node *n, struct vf_tree_entry *ne,
		     struct node *target, struct vf_err *err)
{
	assert(t->in_txn);
	if (!(n->flags & F_NEW)) {
		if (reserve((void **)&t->mods, &t->cap_mods, t->n_mods + 1, sizeof(*t->mods)) < 0) {
			entry_release(ne);
			return vf_err_set(err, ENOMEM, "out of memory");
		}
		t->mods[t->n_mods++] = (struct mod){ n, n->e, n->target, n->flags };
	} else {
		entry_release(&n->e);
	}
	if (n->target)
		n->target->n_links--;
	n->e = *ne;
	n->e.path = n->path;
	n->target = target;
	if (target)
		target->n_links++;
	n->flags &= ~F_IMPLICIT;
	return 0;
}

/* Error for an ancestor that is not a directory. */
static int not_a_dir(const struct node *a, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX], desc[VF_TREE_ESC_MAX + 16];

	vf_tree_escape(a->path, esc, sizeof(esc));
	vf_tree_origin_desc(a->e.origin, desc, sizeof(desc));
	if (a->e.type == VF_TREE_SYMLINK)
		return vf_err_set(err, ENOTDIR,
				  "'%s' is a symlink (from %s), not a directory: refusing to write through it",
				  esc, desc);
	return vf_err_set(err, ENOTDIR, "'%s' is a %s (from %s), not a directory", esc,
			  vf_tree_type_name(a->e.type), desc);
}

/* Ensure the ancestors of `path` exist as directories; *ret gets the parent. */
static int make_parents(struct vf_tree *t, const char *path, const char *origin,
			struct node **ret, struct vf_err *err)
{
	static const struct vf_tree_entry dir = { .type = VF_TREE_DIR, .mode = 0755 };
	struct node *anc = NULL;
	size_t len = strlen(path), start = 0;
	char *buf;
	int r = 0;

	if (!len) {
		*ret = NULL;
		return 0;
	}
	if (!(buf = strdup(path)))
		return vf_err_set(err, ENOMEM, "out of memory");
	/* the deepest ancestor that exists */
	for (size_t i = len; i-- > 0;) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		anc = find(t, buf);
		buf[i] = '/';
		if (anc) {
			start = i + 1;
			break;
		}
	}
	if (!anc)
		anc = find(t, "");
	if (anc->e.type != VF_TREE_DIR) {
		r = not_a_dir(anc, err);
		goto out;
	}
	/* create the missing ones below it */
	for (size_t i = start; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		r = add_new(t, buf, &dir, origin, anc, NULL, F_IMPLICIT, &anc, err);
		buf[i] = '/';
		if (r)
			goto out;
	}
	*ret = anc;
out:
	free(buf);
	return r;
}

int vf_tree_make_parents(struct vf_tree *t, const char *path, const char *origin,
			 struct vf_err *err)
{
	struct node *parent;
	const char *o = intern(t, origin);

	if (!o)
		return vf_err_set(err, ENOMEM, "out of memory");
	return make_parents(t, path, o, &parent, err);
}

/*
 * How `e` (from `origin`, hardlinking to `target`) differs from node `x`:
 * writes a phrase to `buf` and returns true, or returns false when identical.
 */
static bool differs(const struct node *x, const struct vf_tree_entry *e, const char *origin,
		    const struct node *target, char *buf, size_t size)
{
	char a[VF_TREE_ESC_MAX], b[VF_TREE_ESC_MAX], ox[VF_TREE_ESC_MAX], oe[VF_TREE_ESC_MAX];
	const struct vf_tree_entry *o = &x->e;

	vf_tree_escape(o->origin, ox, sizeof(ox));
	vf_tree_escape(origin, oe, sizeof(oe));
	if (o->type != e->type) {
		snprintf(buf, size, "type differs: %s in '%s', %s in '%s'", vf_tree_type_name(o->type),
			 ox, vf_tree_type_name(e->type), oe);
		return true;
	}
	switch (e->type) {
	case VF_TREE_FILE:
		if (o->size != e->size || memcmp(o->sha256, e->sha256, 32)) {
			snprintf(buf, size, "content differs");
			return true;
		}
		break;
	case VF_TREE_SYMLINK:
		if (strcmp(o->link, e->link)) {
			snprintf(buf, size, "link target differs: '%s' in '%s', '%s' in '%s'",
				 vf_tree_escape(o->link, a, sizeof(a)), ox,
				 vf_tree_escape(e->link, b, sizeof(b)), oe);
			return true;
		}
		break;
	case VF_TREE_HARDLINK:
		if (x->target != target) {
			snprintf(buf, size, "hardlink target differs: '%s' in '%s', '%s' in '%s'",
				 vf_tree_escape(o->link, a, sizeof(a)), ox,
				 vf_tree_escape(target->path, b, sizeof(b)), oe);
			return true;
		}
		return false; /* the rest is the target's */
	case VF_TREE_CHR:
	case VF_TREE_BLK:
		if (o->rdev_major != e->rdev_major || o->rdev_minor != e->rdev_minor) {
			snprintf(buf, size, "device number differs: %" PRIu32 ":%" PRIu32 " in '%s', %"
				 PRIu32 ":%" PRIu32 " in '%s'", o->rdev_major, o->rdev_minor, ox,
				 e->rdev_major, e->rdev_minor, oe);
			return true;
		}
		break;
	default:
		break;
	}
	if (o->mode != e->mode) {
		snprintf(buf, size, "mode differs: %04" PRIo32 " in '%s', %04" PRIo32 " in '%s'",
			 o->mode, ox, e->mode, oe);
		return true;
	}
	if (o->uid != e->uid || o->gid != e->gid) {
		snprintf(buf, size, "owner differs: %" PRIu32 ":%" PRIu32 " in '%s', %" PRIu32 ":%"
			 PRIu32 " in '%s'", o->uid, o->gid, ox, e->uid, e->gid, oe);
		return true;
	}
	for (size_t i = 0; i < o->n_xattrs || i < e->n_xattrs; i++) {
		const struct vf_tree_xattr *p = i < o->n_xattrs ? &o->xattrs[i] : NULL;
		const struct vf_tree_xattr *q = i < e->n_xattrs ? &e->xattrs[i] : NULL;
		const char *name;

		if (p && q && !strcmp(p->name, q->name) && p->len == q->len &&
		    !memcmp(p->value, q->value, p->len))
			continue;
		/* the first name that is missing on one side or differs */
		name = !p ? q->name : !q ? p->name : strcmp(p->name, q->name) < 0 ? p->name : q->name;
		snprintf(buf, size, "xattr '%s' differs", vf_tree_escape(name, a, sizeof(a)));
		return true;
	}
	return false;
}

int vf_tree_insert(struct vf_tree *t, const struct vf_tree_entry *e,
		   const struct vf_tree_insert_opts *o, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX], desc[VF_TREE_ESC_MAX + 16], what[4 * VF_TREE_ESC_MAX + 128];
	struct node *parent = NULL, *target = NULL, *x;
	struct vf_tree_entry ne;
	const char *origin;
	int r;

	assert(t->in_txn && e->path && e->origin);
	if ((r = check_xattrs(e->xattrs, e->n_xattrs, err)))
		return r;
	if (e->mode & ~UINT32_C(07777))
		return vf_err_set(err, EINVAL, "mode 0%" PRIo32 " has bits outside 07777", e->mode);
	if (e->type < VF_TREE_FILE || e->type > VF_TREE_SOCK)
		return vf_err_set(err, EINVAL, "unknown entry type %d", (int)e->type);
	if (!*e->path && e->type != VF_TREE_DIR)
		return vf_err_set(err, EINVAL, "the root must be a directory, not a %s",
				  vf_tree_type_name(e->type));
	if (e->type == VF_TREE_SYMLINK &&
	    (!e->link || !*e->link || strlen(e->link) > VF_TREE_PATH_MAX))
		return vf_err_set(err, EINVAL, "symlink target is empty or longer than %d bytes",
				  VF_TREE_PATH_MAX);
	if (!(origin = intern(t, e->origin)))
		return vf_err_set(err, ENOMEM, "out of memory");
	if (e->type == VF_TREE_HARDLINK) {
		if (!e->link || !(target = find(t, e->link)))
			return vf_err_set(err, ENOENT, "points to '%s', which is not in the tree",
					  vf_tree_escape(e->link ? e->link : "", esc, sizeof(esc)));
		if (target->e.type == VF_TREE_HARDLINK)
			target = target->target;
		if (target->e.type != VF_TREE_FILE)
			return vf_err_set(err, EINVAL, "points to '%s', which is a %s, not a regular file",
					  vf_tree_escape(e->link, esc, sizeof(esc)),
					  vf_tree_type_name(target->e.type));
		if (!strcmp(target->path, e->path))
			return vf_err_set(err, EINVAL, "points to itself");
	}
	if ((r = make_parents(t, e->path, origin, &parent, err)))
		return r;

	/* the entry as stored: normalised fields, link resolved for hardlinks */
	ne = *e;
	ne.link = e->type == VF_TREE_SYMLINK ? e->link : NULL;
	ne.origin = (char *)origin;
	if (ne.mtime < 0)
		ne.mtime = 0;
	if (e->type != VF_TREE_FILE) {
		ne.size = 0;
		memset(ne.sha256, 0, sizeof(ne.sha256));
	}
	if (e->type != VF_TREE_CHR && e->type != VF_TREE_BLK)
		ne.rdev_major = ne.rdev_minor = 0;
	if (target) {
		ne.link = target->path;
		ne.mode = target->e.mode;
		ne.uid = target->e.uid;
		ne.gid = target->e.gid;
		ne.mtime = target->e.mtime;
		ne.xattrs = NULL;
		ne.n_xattrs = 0;
	}

	x = find(t, e->path);
	if (!x)
		return add_new(t, e->path, &ne, origin, parent, target, 0, NULL, err);
	if (x->flags & F_IMPLICIT && e->type == VF_TREE_DIR) {
		/* an auto-created parent gives way silently */
	} else if (!differs(x, &ne, origin, target, what, sizeof(what))) {
		return 0; /* identical: the first origin stays */
	} else if (!o->replace) {
		vf_tree_origin_desc(x->e.origin, desc, sizeof(desc));
		if (x->e.origin == origin)
			return vf_err_set(err, EEXIST, "appears twice in %s (%s)", desc, what);
		if (o->who)
			return vf_err_set(err, EEXIST, "%s conflicts with %s (%s)", o->who, desc, what);
		return vf_err_set(err, EEXIST, "conflicts with %s (%s)", desc, what);
	}
	vf_tree_origin_desc(x->e.origin, desc, sizeof(desc));
	if (x->e.type == VF_TREE_DIR && e->type != VF_TREE_DIR && x->n_children)
		return vf_err_set(err, ENOTEMPTY,
				  "cannot replace a directory with %" PRIu32 " entries (from %s) by a %s",
				  x->n_children, desc, vf_tree_type_name(e->type));
	if (x->e.type == VF_TREE_FILE && e->type != VF_TREE_FILE && x->n_links)
		return vf_err_set(err, EMLINK,
				  "cannot replace a file with %" PRIu32 " hardlinks (from %s) by a %s",
				  x->n_links, desc, vf_tree_type_name(e->type));
	{
		struct vf_tree_entry copy;

		if (entry_copy(&copy, &ne) < 0)
			return vf_err_set(err, ENOMEM, "out of memory");
		return set_entry(t, x, &copy, target, err);
	}
}

int vf_tree_set_content(struct vf_tree *t, const char *path, const char *origin,
			const uint8_t sha256[32], uint64_t size, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX], desc[VF_TREE_ESC_MAX + 16];
	struct vf_tree_entry copy;
	struct node *n = find(t, path);

	if (!n || n->e.type != VF_TREE_FILE)
		return vf_err_set(err, ENOENT, "'%s' is not a regular file in the tree",
				  vf_tree_escape(path, esc, sizeof(esc)));
	if (strcmp(n->e.origin, origin))
		return vf_err_set(err, EPERM, "hardlink data would change '%s' of %s",
				  vf_tree_escape(path, esc, sizeof(esc)),
				  vf_tree_origin_desc(n->e.origin, desc, sizeof(desc)));
	if (entry_copy(&copy, &n->e) < 0)
		return vf_err_set(err, ENOMEM, "out of memory");
	copy.size = size;
	memcpy(copy.sha256, sha256, 32);
	return set_entry(t, n, &copy, NULL, err);
}

/* ---- paths ---- */

int vf_tree_path_normalize_raw(const char *in, char **out, struct vf_err *err)
{
	size_t len, o = 0;
	const char *p;
	char *s;

	*out = NULL;
	if (!in)
		return vf_err_set(err, EINVAL, "no path");
	len = strlen(in);
	if (len > VF_TREE_PATH_MAX)
		return vf_err_set(err, EINVAL, "path is %zu bytes long, more than %d", len,
				  VF_TREE_PATH_MAX);
	if (!(s = malloc(len + 1)))
		return vf_err_set(err, ENOMEM, "out of memory");
	for (p = in; *p;) {
		const char *seg;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		for (seg = p; *p && *p != '/'; p++)
			;
		n = (size_t)(p - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			free(s);
			return vf_err_set(err, EINVAL, "path escapes the root ('..' component)");
		}
		if (n > VF_TREE_NAME_MAX) {
			free(s);
			return vf_err_set(err, EINVAL,
					  "path component is %zu bytes long, more than %d", n,
					  VF_TREE_NAME_MAX);
		}
		if (o)
			s[o++] = '/';
		memcpy(s + o, seg, n);
		o += n;
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

int vf_tree_path_normalize(const char *in, char **out, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX];
	int r = vf_tree_path_normalize_raw(in, out, err);

	if (r && in)
		vf_err_prefix(err, "path '%s'", vf_tree_escape(in, esc, sizeof(esc)));
	return r;
}

/* ---- public mutations ---- */

int vf_tree_add(struct vf_tree *t, const struct vf_tree_entry *e, const void *content,
		size_t len, bool replace, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX], who[VF_TREE_ESC_MAX + 16];
	struct vf_tree_insert_opts o = { .replace = replace, .who = who };
	struct vf_tree_entry ne;
	char *path = NULL, *link = NULL;
	int r;

	if (!e)
		return vf_err_set(err, EINVAL, "no entry");
	if ((r = vf_tree_path_normalize(e->path, &path, err)))
		return r;
	ne = *e;
	ne.path = path;
	ne.origin = e->origin ? e->origin : (char *)"manifest";
	ne.xattrs = NULL;
	ne.n_xattrs = 0;
	vf_tree_origin_desc(ne.origin, who, sizeof(who));
	if (e->type == VF_TREE_HARDLINK) {
		if ((r = vf_tree_path_normalize(e->link, &link, err)))
			goto out;
		ne.link = link;
	}
	if (xattrs_copy(e->xattrs, e->n_xattrs, &ne.xattrs) < 0) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	ne.n_xattrs = e->n_xattrs;
	if ((r = vf_tree_xattrs_sort(ne.xattrs, &ne.n_xattrs, err)))
		goto out;
	if (e->type == VF_TREE_FILE) {
		if (!content && len) {
			r = vf_err_set(err, EINVAL, "no content");
			goto out;
		}
		if ((r = vf_tree_store_put(t->store, content ? content : "", len, ne.sha256,
					   &ne.size, err)))
			goto out;
	}
	if ((r = vf_tree_txn_begin(t, err)))
		goto out;
	r = vf_tree_insert(t, &ne, &o, err);
	if (r)
		vf_tree_txn_rollback(t);
	else
		vf_tree_txn_commit(t);
out:
	if (r)
		vf_err_prefix(err, "path '%s'", vf_tree_escape(path ? path : "", esc, sizeof(esc)));
	xattrs_free(ne.xattrs, ne.n_xattrs);
	free(link);
	free(path);
	return r;
}

/* Index of the first committed node whose path is >= key. */
static size_t lower_bound(const struct vf_tree *t, const char *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->ents[mid]->path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Mark the committed nodes strictly below directory `dir`. */
static void mark_subtree(struct vf_tree *t, const struct node *dir, char *buf)
{
	size_t len = strlen(dir->path);

	memcpy(buf, dir->path, len);
	buf[len] = '/';
	buf[len + 1] = '\0';
	for (size_t j = lower_bound(t, buf); j < t->n; j++) {
		if (strncmp(t->ents[j]->path, buf, len + 1))
			break;
		t->ents[j]->flags |= F_MARK;
	}
}

/*
 * A hardlink whose file is removed: the first such hardlink (in path order)
 * becomes the file, and the others point to it.
 */
static bool orphaned(const struct node *n)
{
	return n->e.type == VF_TREE_HARDLINK && !(n->flags & F_MARK) && n->target->flags & F_MARK;
}

int vf_tree_remove_glob(struct vf_tree *t, const char *glob, size_t *ret_removed,
			struct vf_err *err)
{
	char **links = NULL;
	char *buf = NULL;
	size_t n_links = 0, k = 0, removed = 0, o;
	bool abs;
	int r = 0;

	if (!glob || !*glob)
		return vf_err_set(err, EINVAL, "empty glob");
	assert(!t->in_txn);
	abs = glob[0] == '/';
	if (!(buf = malloc(VF_TREE_PATH_MAX + 3)))
		return vf_err_set(err, ENOMEM, "out of memory");
	/* mark the matches and their subtrees (the root itself stays) */
	for (size_t i = 1; i < t->n; i++) {
		struct node *n = t->ents[i];

		if (n->flags & F_MARK)
			continue;
		buf[0] = '/';
		strcpy(buf + 1, n->path);
		if (!vf_glob_match(glob, abs ? buf : buf + 1))
			continue;
		n->flags |= F_MARK;
		if (n->e.type == VF_TREE_DIR)
			mark_subtree(t, n, buf);
	}
	/* hardlinks that lose their file: pick the successors, allocate new links */
	for (size_t i = 0; i < t->n; i++) {
		struct node *n = t->ents[i];

		if (!orphaned(n))
			continue;
		if (!n->target->promoted)
			n->target->promoted = n;
		else
			n_links++;
	}
	if (n_links && !(links = calloc(n_links, sizeof(*links))))
		r = -ENOMEM;
	for (size_t i = 0; !r && i < t->n; i++) {
		struct node *n = t->ents[i];

		if (orphaned(n) && n->target->promoted != n &&
		    !(links[k++] = strdup(n->target->promoted->path)))
			r = -ENOMEM;
	}
	if (r) {
		for (size_t i = 0; i < t->n; i++) {
			t->ents[i]->flags &= ~F_MARK;
			t->ents[i]->promoted = NULL;
		}
		for (size_t i = 0; i < n_links; i++)
			free(links[i]);
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	k = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct node *n = t->ents[i], *file;

		if (!orphaned(n))
			continue;
		file = n->target;
		if (file->promoted == n) {
			/* becomes the file: its content, metadata and xattrs */
			free(n->e.link);
			xattrs_free(n->e.xattrs, n->e.n_xattrs);
			n->e.type = VF_TREE_FILE;
			n->e.link = NULL;
			n->e.mode = file->e.mode;
			n->e.uid = file->e.uid;
			n->e.gid = file->e.gid;
			n->e.mtime = file->e.mtime;
			n->e.size = file->e.size;
			memcpy(n->e.sha256, file->e.sha256, 32);
			n->e.xattrs = file->e.xattrs;
			n->e.n_xattrs = file->e.n_xattrs;
			file->e.xattrs = NULL;
			file->e.n_xattrs = 0;
			n->target = NULL;
		} else {
			free(n->e.link);
			n->e.link = links[k++];
			n->target = file->promoted;
			n->target->n_links++;
		}
		file->n_links--;
	}
	/* drop the marked nodes: counts first (parents are still there), then free */
	for (size_t i = 0; i < t->n; i++) {
		struct node *n = t->ents[i];

		if (!(n->flags & F_MARK))
			continue;
		tab_delete(t, n);
		if (n->parent && !(n->parent->flags & F_MARK))
			n->parent->n_children--;
		if (n->target && !(n->target->flags & F_MARK))
			n->target->n_links--;
	}
	o = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct node *n = t->ents[i];

		if (n->flags & F_MARK) {
			node_free(n);
			removed++;
		} else {
			t->ents[o++] = n;
		}
	}
	t->n = o;
out:
	free(links);
	free(buf);
	if (!r && ret_removed)
		*ret_removed = removed;
	return r;
}

/* ---- queries and small changes ---- */

size_t vf_tree_count(const struct vf_tree *t)
{
	return t->n;
}

const struct vf_tree_entry *vf_tree_at(const struct vf_tree *t, size_t i)
{
	return i < t->n ? &t->ents[i]->e : NULL;
}

const struct vf_tree_entry *vf_tree_get(const struct vf_tree *t, const char *path)
{
	const struct node *n = path ? find(t, path) : NULL;

	return n ? &n->e : NULL;
}

int vf_tree_set_xattr(struct vf_tree *t, const char *path, const char *name,
		      const void *value, size_t len, struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX];
	struct vf_tree_xattr x = { (char *)name, (uint8_t *)value, len }, *arr;
	struct vf_tree_entry *e;
	struct node *n;
	char *norm = NULL;
	uint8_t *v;
	size_t i;
	int r;

	if ((r = vf_tree_path_normalize(path, &norm, err)))
		return r;
	if (!(n = find(t, norm))) {
		r = vf_err_set(err, ENOENT, "path '%s': not in the tree",
			       vf_tree_escape(norm, esc, sizeof(esc)));
		goto out;
	}
	if ((r = check_xattrs(&x, 1, err))) {
		vf_err_prefix(err, "path '%s'", vf_tree_escape(norm, esc, sizeof(esc)));
		goto out;
	}
	if (!(v = malloc(len ? len : 1))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (len)
		memcpy(v, value, len);
	e = &n->e;
	for (i = 0; i < e->n_xattrs && strcmp(e->xattrs[i].name, name) < 0; i++)
		;
	if (i < e->n_xattrs && !strcmp(e->xattrs[i].name, name)) {
		free(e->xattrs[i].value);
		e->xattrs[i].value = v;
		e->xattrs[i].len = len;
		goto out;
	}
	arr = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(*arr));
	if (!arr || !(x.name = strdup(name))) {
		if (arr)
			e->xattrs = arr;
		free(v);
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	e->xattrs = arr;
	memmove(arr + i + 1, arr + i, (e->n_xattrs - i) * sizeof(*arr));
	arr[i] = (struct vf_tree_xattr){ x.name, v, len };
	e->n_xattrs++;
out:
	free(norm);
	return r;
}

void vf_tree_clamp_mtimes(struct vf_tree *t, int64_t epoch)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->ents[i]->e.mtime > epoch)
			t->ents[i]->e.mtime = epoch;
}

int64_t vf_tree_newest_mtime(const struct vf_tree *t)
{
	int64_t newest = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->ents[i]->e.mtime > newest)
			newest = t->ents[i]->e.mtime;
	return newest;
}

int vf_tree_open_content(const struct vf_tree *t, const struct vf_tree_entry *e,
			 struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX];
	const struct vf_tree_entry *f = e;

	if (e->type == VF_TREE_HARDLINK)
		f = vf_tree_get(t, e->link);
	if (!f || f->type != VF_TREE_FILE)
		return vf_err_set(err, EINVAL, "'%s' is a %s, not a regular file",
				  vf_tree_escape(e->path, esc, sizeof(esc)), vf_tree_type_name(e->type));
	return vf_tree_store_open(t->store, f->sha256, err);
}
