/* builder/initramfs: kernel module names, the set of a package's modules, load order. */
#include "builder/initramfs/initramfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool vf_kmod_is_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= VF_KMOD_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

void vf_kmod_name_normalize(const char *s, char out[VF_KMOD_NAME_MAX + 1])
{
	size_t i;

	for (i = 0; s[i] && i < VF_KMOD_NAME_MAX; i++)
		out[i] = s[i] == '-' ? '_' : s[i];
	out[i] = '\0';
}

void vf_kmod_set_init(struct vf_kmod_set *s, const char *origin, vf_kmod_load_fn load, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->origin = origin;
	s->load = load;
	s->ctx = ctx;
}

static void kmod_release(struct vf_kmod *k)
{
	free(k->name);
	free(k->file);
	for (size_t i = 0; i < k->n_depends; i++)
		free(k->depends[i]);
	free(k->depends);
}

void vf_kmod_set_release(struct vf_kmod_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		kmod_release(&s->mods[i]);
	free(s->mods);
	s->mods = NULL;
	s->n = 0;
}

/* Length of the module name in a file's base name ("x.ko", "x.ko.xz", ...), 0 for none. */
static size_t module_name_len(const char *base)
{
	static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	size_t n = strlen(base);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t m = strlen(suffixes[i]);

		if (n > m && strcmp(base + n - m, suffixes[i]) == 0)
			return n - m;
	}
	return 0;
}

int vf_kmod_set_add(struct vf_kmod_set *s, const char *file, const char *const *depends,
		    size_t n_depends, bool known, const void *priv, struct vf_err *err)
{
	char name[VF_KMOD_NAME_MAX + 1];
	const char *base = strrchr(file, '/');
	struct vf_kmod *grown, *k;
	size_t n;

	base = base ? base + 1 : file;
	n = module_name_len(base);
	if (n == 0 || n > VF_KMOD_NAME_MAX)
		return vf_err_set(err, EINVAL, "module file '%s': expected <name>.ko (or .ko.xz, "
				  ".ko.zst, .ko.gz) with a name of 1 to %d bytes", file,
				  VF_KMOD_NAME_MAX);
	memcpy(name, base, n);
	name[n] = '\0';
	if (!vf_kmod_is_name(name))
		return vf_err_set(err, EINVAL, "module file '%s': '%s' is not a module name ([A-Za-z0-9_-])",
				  file, name);
	vf_kmod_name_normalize(name, name);
	grown = realloc(s->mods, (s->n + 1) * sizeof(*grown));
	if (!grown)
		return vf_err_set(err, ENOMEM, "out of memory");
	s->mods = grown;
	k = &s->mods[s->n];
	memset(k, 0, sizeof(*k));
	k->known = known;
	k->priv = priv;
	if (!(k->name = strdup(name)) || !(k->file = strdup(file)))
		goto oom;
	if (n_depends) {
		if (!(k->depends = calloc(n_depends, sizeof(*k->depends))))
			goto oom;
		for (size_t i = 0; i < n_depends; i++, k->n_depends++)
			if (!(k->depends[i] = strdup(depends[i])))
				goto oom;
	}
	s->n++;
	s->sorted = false;
	return 0;
oom:
	kmod_release(k);
	return vf_err_set(err, ENOMEM, "out of memory");
}

static int cmp_kmod(const void *a, const void *b)
{
	const struct vf_kmod *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->file, y->file);
}

/* The module's name for messages: its file's base name without ".ko". */
static const char *shown(const struct vf_kmod *k, char out[VF_KMOD_NAME_MAX + 1])
{
	const char *base = strrchr(k->file, '/');
	size_t n;

	base = base ? base + 1 : k->file;
	n = module_name_len(base);
	if (n > VF_KMOD_NAME_MAX)
		n = VF_KMOD_NAME_MAX;
	memcpy(out, base, n);
	out[n] = '\0';
	return out;
}

/* Index of the module called `name` ('-' == '_'), or -ENOENT; -EINVAL for two files of one name. */
static int find(const struct vf_kmod_set *s, const char *name, size_t *ret, struct vf_err *err)
{
	char want[VF_KMOD_NAME_MAX + 1];
	size_t lo = 0, hi = s->n;

	vf_kmod_name_normalize(name, want);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->mods[mid].name, want);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= s->n || strcmp(s->mods[lo].name, want) != 0)
		return -ENOENT;
	if (lo + 1 < s->n && strcmp(s->mods[lo + 1].name, want) == 0)
		return vf_err_set(err, EINVAL, "module '%s' is in the kernel package '%s' twice: '%s' "
				  "and '%s'", name, s->origin, s->mods[lo].file, s->mods[lo + 1].file);
	*ret = lo;
	return 0;
}

enum { UNSEEN = 0, ACTIVE, DONE };

struct walk {
	struct vf_kmod_set *s;
	unsigned char *state;
	size_t *stack;          /* the chain being visited, for cycle messages */
	size_t depth;
	size_t *order;
	size_t n_order;
};

static int cycle_err(struct walk *w, size_t at, struct vf_err *err)
{
	char msg[VF_ERR_MSG_MAX], a[VF_KMOD_NAME_MAX + 1];
	size_t first = 0, o = 0;

	for (size_t i = 0; i < w->depth; i++)
		if (w->stack[i] == at)
			first = i;
	msg[0] = '\0';
	for (size_t i = first; i < w->depth && o < sizeof(msg); i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s -> ",
				      shown(&w->s->mods[w->stack[i]], a));
	if (o < sizeof(msg))
		snprintf(msg + o, sizeof(msg) - o, "%s", shown(&w->s->mods[at], a));
	return vf_err_set(err, ELOOP, "module '%s': dependency cycle: %s",
			  shown(&w->s->mods[w->stack[first]], a), msg);
}

static int visit(struct walk *w, size_t i, struct vf_err *err)
{
	struct vf_kmod *k = &w->s->mods[i];
	char a[VF_KMOD_NAME_MAX + 1];
	int r;

	if (w->state[i] == DONE)
		return 0;
	if (w->state[i] == ACTIVE)
		return cycle_err(w, i, err);
	if (w->depth >= VF_KMOD_MAX_DEPTH)
		return vf_err_set(err, ELOOP, "module '%s': dependency chain deeper than %d",
				  shown(k, a), VF_KMOD_MAX_DEPTH);
	if (!k->known) {
		if (!w->s->load)
			return vf_err_set(err, EINVAL, "module '%s': dependencies unknown", shown(k, a));
		if ((r = w->s->load(w->s->ctx, w->s, k, err)))
			return r;
		k = &w->s->mods[i];
		k->known = true;
	}
	w->state[i] = ACTIVE;
	w->stack[w->depth++] = i;
	for (size_t d = 0; d < k->n_depends; d++) {
		size_t j;

		r = find(w->s, k->depends[d], &j, err);
		if (r == -ENOENT)
			return vf_err_set(err, ENOENT, "module '%s': depends on '%s', which is not in "
					  "the kernel package '%s'", shown(k, a), k->depends[d],
					  w->s->origin);
		if (r || (r = visit(w, j, err)))
			return r;
	}
	w->depth--;
	w->state[i] = DONE;
	if (w->n_order >= VF_KMOD_MAX_ORDER)
		return vf_err_set(err, E2BIG, "module '%s': the modules and their dependencies are "
				  "more than the %d an initramfs holds", shown(k, a),
				  VF_KMOD_MAX_ORDER);
	w->order[w->n_order++] = i;
	return 0;
}

int vf_kmod_resolve(struct vf_kmod_set *s, const char *const *want, size_t n_want,
		    size_t **ret_order, size_t *ret_n, struct vf_err *err)
{
	struct walk w = { .s = s };
	int r = 0;

	if (!s->sorted && s->n) {
		qsort(s->mods, s->n, sizeof(*s->mods), cmp_kmod);
		s->sorted = true;
	}
	w.state = calloc(s->n + 1, 1);
	w.stack = calloc(VF_KMOD_MAX_DEPTH + 1, sizeof(*w.stack));
	w.order = calloc(VF_KMOD_MAX_ORDER, sizeof(*w.order));
	if (!w.state || !w.stack || !w.order) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_want && !r; i++) {
		size_t j;

		if (!vf_kmod_is_name(want[i])) {
			r = vf_err_set(err, EINVAL, "'%s' is not a module name", want[i]);
			break;
		}
		r = find(s, want[i], &j, err);
		if (r == -ENOENT)
			r = vf_err_set(err, ENOENT, "module '%s' is not in the kernel package '%s'",
				       want[i], s->origin);
		if (!r)
			r = visit(&w, j, err);
	}
	if (!r) {
		*ret_order = w.order;
		*ret_n = w.n_order;
		w.order = NULL;
	}
out:
	free(w.state);
	free(w.stack);
	free(w.order);
	return r;
}
