/*
 * The plan: the tree mapped onto inodes before anything is written.
 *
 * Node i is tree entry i (sorted path order, the root first); a tree without
 * "lost+found" gets one more node for it at the end. Inode numbers: the root
 * 2, lost+found 11, then 12, 13, ... for every other entry that is not a
 * hardlink, in path order; a hardlink shares its file's number. Each
 * directory's children are linked in name order (paths sorted bytewise put
 * the children of one directory in bytewise name order), with a synthesised
 * lost+found slotted into the root's list where its name sorts.
 */
#include "builder/ext4/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of the entry whose path is the `len` bytes at `path`, or SIZE_MAX. */
static size_t find_index(const struct vf_tree *t, const char *path, size_t len)
{
	size_t lo = 0, hi = vf_tree_count(t);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = vf_tree_at(t, mid)->path;
		int c = strncmp(p, path, len);

		if (!c)
			c = p[len] ? 1 : 0;
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static bool node_is_dir(const struct vf_ext4_plan *p, uint32_t i)
{
	return !p->nodes[i].e || p->nodes[i].e->type == VF_TREE_DIR;
}

static void link_child(struct vf_ext4_plan *p, uint32_t parent, uint32_t child)
{
	struct vf_ext4_node *d = &p->nodes[parent];

	p->nodes[child].parent = parent;
	if (d->last_child == VF_EXT4_NONE)
		d->first_child = child;
	else
		p->nodes[d->last_child].next = child;
	d->last_child = child;
	if (node_is_dir(p, child))
		d->links++;
}

void vf_ext4_plan_release(struct vf_ext4_plan *p)
{
	if (!p)
		return;
	free(p->nodes);
	memset(p, 0, sizeof(*p));
}

static int check_tree(const struct vf_tree *t, size_t n, struct vf_err *err)
{
	const struct vf_tree_entry *root;

	if (!n)
		return vf_err_set(err, EINVAL, "the tree has no root directory");
	root = vf_tree_at(t, 0);
	if (*root->path || root->type != VF_TREE_DIR)
		return vf_err_set(err, EINVAL, "the tree's first entry '%s' is not the root directory",
				  root->path);
	for (size_t i = 1; i < n; i++) {
		const char *a = vf_tree_at(t, i - 1)->path, *b = vf_tree_at(t, i)->path;
		const char *slash = strrchr(b, '/');
		size_t name_len = strlen(slash ? slash + 1 : b);

		if (strcmp(a, b) >= 0)
			return vf_err_set(err, EINVAL, "the tree is not sorted: '/%s' comes before '/%s'",
					  a, b);
		if (!name_len || name_len > EXT2_NAME_LEN)
			return vf_err_set(err, ENAMETOOLONG,
					  "'/%s': a name of %zu bytes does not fit ext4 (1 to %d bytes)",
					  b, name_len, EXT2_NAME_LEN);
	}
	return 0;
}

int vf_ext4_plan_build(struct vf_ext4_plan *p, const struct vf_tree *t,
		       const struct vf_ext4_params *prm, struct vf_err *err)
{
	size_t n_tree = t ? vf_tree_count(t) : 1;
	size_t lpf_index = SIZE_MAX;
	uint64_t next_ino = VF_EXT4_FIRST_INO;
	bool lpf_linked = false;
	int r;

	memset(p, 0, sizeof(*p));
	p->t = t;
	p->block_size = prm->block_size;
	memcpy(p->hash_seed, prm->hash_seed, sizeof(p->hash_seed));
	if (t && (r = check_tree(t, n_tree, err)))
		return r;
	if (n_tree >= UINT32_MAX - 1)
		return vf_err_set(err, EFBIG, "the tree has %zu entries; ext4 holds at most %u",
				  n_tree, UINT32_MAX - 2);
	if (t && (lpf_index = find_index(t, "lost+found", 10)) != SIZE_MAX &&
	    vf_tree_at(t, lpf_index)->type != VF_TREE_DIR)
		return vf_err_set(err, EINVAL, "'/lost+found' must be a directory for ext4");

	p->n = (uint32_t)n_tree + (lpf_index == SIZE_MAX);
	p->lpf = lpf_index == SIZE_MAX ? (uint32_t)n_tree : (uint32_t)lpf_index;
	p->nodes = calloc(p->n, sizeof(*p->nodes));
	if (!p->nodes)
		return vf_err_set(err, ENOMEM, "out of memory for %u inodes", p->n);

	/* names, inode numbers, initial link counts */
	for (uint32_t i = 0; i < p->n; i++) {
		struct vf_ext4_node *nd = &p->nodes[i];

		nd->e = t && i < n_tree ? vf_tree_at(t, i) : NULL;
		nd->first_child = nd->last_child = nd->next = VF_EXT4_NONE;
		nd->parent = 0;
		if (i == 0) {
			nd->name = "";
			nd->ino = VF_EXT4_ROOT_INO;
		} else if (i == p->lpf) {
			nd->name = nd->e ? nd->e->path : "lost+found";
			nd->ino = VF_EXT4_LPF_INO;
		} else {
			const char *slash = strrchr(nd->e->path, '/');

			nd->name = slash ? slash + 1 : nd->e->path;
			if (nd->e->type != VF_TREE_HARDLINK) {
				if (next_ino > UINT32_MAX)
					return vf_err_set(err, EFBIG, "more than %u inodes", UINT32_MAX);
				nd->ino = (uint32_t)next_ino++;
			}
		}
		nd->links = node_is_dir(p, i) ? 2 : nd->e->type == VF_TREE_HARDLINK ? 0 : 1;
	}
	p->inodes = next_ino - 1;

	/* hardlinks share their file's inode */
	for (uint32_t i = 1; t && i < n_tree; i++) {
		const struct vf_tree_entry *e = p->nodes[i].e;
		size_t target;

		if (e->type != VF_TREE_HARDLINK)
			continue;
		target = e->link ? find_index(t, e->link, strlen(e->link)) : SIZE_MAX;
		if (target == SIZE_MAX || vf_tree_at(t, target)->type != VF_TREE_FILE)
			return vf_err_set(err, EINVAL, "'/%s': hardlink target '/%s' is not a regular file",
					  e->path, e->link ? e->link : "");
		p->nodes[i].ino = p->nodes[target].ino;
		if (++p->nodes[target].links > EXT2_LINK_MAX)
			return vf_err_set(err, EMLINK, "'/%s' has more than %d names", e->link,
					  EXT2_LINK_MAX);
	}

	/* parents and children in name order */
	for (uint32_t i = 1; i < p->n; i++) {
		const struct vf_ext4_node *nd = &p->nodes[i];
		size_t parent = 0;

		if (!nd->e) /* the synthesised lost+found, linked below */
			continue;
		if (nd->name != nd->e->path) {
			parent = find_index(t, nd->e->path, (size_t)(nd->name - 1 - nd->e->path));
			if (parent == SIZE_MAX || vf_tree_at(t, parent)->type != VF_TREE_DIR)
				return vf_err_set(err, EINVAL, "'/%s': the parent is not a directory",
						  nd->e->path);
		}
		if (parent == 0 && p->lpf == n_tree && !lpf_linked &&
		    strcmp(nd->name, "lost+found") > 0) {
			link_child(p, 0, p->lpf);
			lpf_linked = true;
		}
		link_child(p, (uint32_t)parent, i);
	}
	if (p->lpf == n_tree && !lpf_linked)
		link_child(p, 0, p->lpf);

	/* directories: more than EXT2_LINK_MAX links count as 1 (dir_nlink) */
	for (uint32_t i = 0; i < p->n; i++) {
		struct vf_ext4_dirlayout l;

		if (!node_is_dir(p, i))
			continue;
		if (p->nodes[i].links > EXT2_LINK_MAX)
			p->nodes[i].links = 1;
		if ((r = vf_ext4_dir_layout(p, i, &l, err)))
			return r;
		if (l.blocks > UINT32_MAX) {
			vf_ext4_dirlayout_release(&l);
			return vf_err_set(err, EFBIG, "a directory of %llu blocks is too big",
					  (unsigned long long)l.blocks);
		}
		p->nodes[i].dir_blocks = (uint32_t)l.blocks;
		vf_ext4_dirlayout_release(&l);
	}
	return 0;
}
