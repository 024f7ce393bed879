/*
 * libFuzzer target: import an archive from memory into a fresh tree (content
 * store in a private directory under /tmp, removed after every input) and
 * check the tree's invariants. Built by `make check-fuzz`.
 *
 * On failure: a message, a negative code, and the tree as it was (the root
 * only). On success: paths strictly sorted, every entry below a directory,
 * hardlinks pointing at regular files, every file's content readable with
 * its recorded size; importing the same bytes into a second tree gives the
 * same tree; removing a glob keeps all of that true.
 *
 * Input that starts with zstd's magic is also imported from a file with its
 * pin, where the pin's thread decompresses it (not libarchive): the same
 * checks, and when both imports succeed, the same tree.
 */
#include "builder/tree/tree.h"
#include "keys/digest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * libarchive 3.6's cpio reader reserves the name size a header declares (up
 * to 4 GiB) before it finds the input too short; the reservation is address
 * space, not memory (RSS stays bounded by -rss_limit_mb). Allow such single
 * mallocs instead of reporting them as out-of-memory.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char flag[] = "-malloc_limit_mb=8192";
	char **v = calloc((size_t)*argc + 2, sizeof(*v));

	if (!v)
		abort();
	memcpy(v, *argv, (size_t)*argc * sizeof(*v));
	/* flags must come before the corpus directories */
	memmove(v + 2, v + 1, (size_t)(*argc - 1) * sizeof(*v));
	v[1] = flag;
	(*argc)++;
	*argv = v;
	return 0;
}

static char store[64];

static void empty_store(void)
{
	DIR *d = opendir(store);
	struct dirent *e;
	char path[sizeof(store) + 300];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", store, e->d_name);
		unlink(path);
	}
	closedir(d);
}

static void remove_store(void)
{
	empty_store();
	rmdir(store);
}

static void check(const struct vf_tree *t)
{
	struct vf_err err = { 0 };

	if (vf_tree_count(t) < 1 || vf_tree_at(t, 0)->path[0] || vf_tree_at(t, 0)->type != VF_TREE_DIR)
		abort();
	for (size_t i = 0; i < vf_tree_count(t); i++) {
		const struct vf_tree_entry *e = vf_tree_at(t, i);
		const struct vf_tree_entry *p;
		char *parent, *slash;
		struct stat st;
		int fd;

		if (i && strcmp(vf_tree_at(t, i - 1)->path, e->path) >= 0)
			abort();
		if (vf_tree_get(t, e->path) != e || !e->origin || e->mode & ~07777u)
			abort();
		for (size_t k = 1; k < e->n_xattrs; k++)
			if (strcmp(e->xattrs[k - 1].name, e->xattrs[k].name) >= 0)
				abort();
		if (i) {
			parent = strdup(e->path);
			if (!parent)
				abort();
			slash = strrchr(parent, '/');
			*(slash ? slash : parent) = '\0';
			p = vf_tree_get(t, parent);
			if (!p || p->type != VF_TREE_DIR)
				abort();
			free(parent);
		}
		if (e->type == VF_TREE_HARDLINK &&
		    (!e->link || !(p = vf_tree_get(t, e->link)) || p->type != VF_TREE_FILE))
			abort();
		if (e->type == VF_TREE_SYMLINK && (!e->link || !e->link[0]))
			abort();
		if (e->type == VF_TREE_FILE) {
			fd = vf_tree_open_content(t, e, &err);
			if (fd < 0 || fstat(fd, &st) || (uint64_t)st.st_size != e->size)
				abort();
			close(fd);
		}
	}
}

static char *dump(const struct vf_tree *t)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		abort();
	for (size_t i = 0; i < vf_tree_count(t); i++) {
		const struct vf_tree_entry *e = vf_tree_at(t, i);

		fprintf(f, "%s %d %o %u %u %lld %llu %s %u %u %zu %s\n", e->path, (int)e->type, e->mode,
			e->uid, e->gid, (long long)e->mtime, (unsigned long long)e->size,
			e->link ? e->link : "-", e->rdev_major, e->rdev_minor, e->n_xattrs, e->origin);
		fwrite(e->sha256, 1, 32, f);
	}
	fclose(f);
	return s;
}

/* A failed import: a message naming the package, a negative code, the root only. */
static void check_failed(const struct vf_tree *t, const struct vf_err *err)
{
	if (!err->msg[0] || err->code >= 0 || strncmp(err->msg, "package 'fuzz': ", 16) ||
	    vf_tree_count(t) != 1)
		abort();
}

/*
 * zstd input through a pinned file (decompressed by the pin's thread); `mem`
 * is the tree libarchive made of the same bytes in memory, or NULL.
 */
static void import_pinned_zstd(const uint8_t *data, size_t size, const struct vf_tree_limits *lim,
			       const struct vf_tree *mem)
{
	static const uint8_t magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	uint8_t sha[32];
	struct vf_tree_import_opts o = { .pkg_name = "fuzz", .allow_devices = true, .sha256 = sha };
	struct vf_err err = { 0 };
	char path[sizeof(store) + 16], *a, *b;
	struct vf_tree *v;
	int fd;

	if (size < sizeof(magic) || memcmp(data, magic, sizeof(magic)))
		return;
	snprintf(path, sizeof(path), "%s/pkg.zst", store);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) ||
	    vf_digest_buffer(vf_digest_alg_get("sha256"), data, size, sha))
		abort();
	v = vf_tree_new(lim, store);
	if (!v)
		abort();
	if (vf_tree_import_archive(v, path, &o, &err)) {
		check_failed(v, &err);
	} else {
		check(v);
		if (mem) {
			a = dump(mem);
			b = dump(v);
			if (strcmp(a, b))
				abort();
			free(a);
			free(b);
		}
	}
	vf_tree_free(v);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vf_tree_limits lim = {
		.max_entry_size = 1 << 20, .max_entries = 4096, .max_total_size = 8 << 20,
	};
	struct vf_tree_import_opts o = { .pkg_name = "fuzz", .allow_devices = true };
	struct vf_err err = { 0 };
	struct vf_tree *t, *u;
	char *a, *b;
	size_t n;

	/* a new directory per input: libFuzzer may end the process without atexit */
	snprintf(store, sizeof(store), "/tmp/vf-fuzz-archive.XXXXXX");
	if (!mkdtemp(store))
		abort();
	t = vf_tree_new(&lim, store);
	if (!t)
		abort();
	if (vf_tree_import_memory(t, data, size, &o, &err)) {
		check_failed(t, &err);
		import_pinned_zstd(data, size, &lim, NULL);
		goto out;
	}
	check(t);
	import_pinned_zstd(data, size, &lim, t);
	/* deterministic: a second tree from the same bytes is the same */
	u = vf_tree_new(&lim, store);
	if (!u || vf_tree_import_memory(u, data, size, &o, &err))
		abort();
	a = dump(t);
	b = dump(u);
	if (strcmp(a, b))
		abort();
	free(a);
	free(b);
	vf_tree_free(u);
	if (vf_tree_remove_glob(t, "/**/[a-m]*", &n, &err))
		abort();
	check(t);
out:
	vf_tree_free(t);
	remove_store();
	return 0;
}
