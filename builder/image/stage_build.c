/* The image pipeline (build.h): orchestration, identifiers, build.json. */
#include "builder/image/build.h"

#include "builder/base/buf.h"
#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/ext4/ext4.h"
#include "builder/gpt/gpt.h"
#include "builder/image/internal.h"
#include "builder/initramfs/initramfs.h"
#include "builder/tree/store.h"
#include "builder/verity/verity.h"
#include "keys/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024ULL * 1024ULL)
#define BLOCK 4096u
#define CMDLINE_FILE "cmdline"
#define RELEASE_FILE "vforge-release"
#define KERNEL_FILE "vmlinuz"
#define INITRD_FILE "initrd.img"

/* One partition of the plan, with what goes into it. */
struct slot {
	const struct vf_manifest_part *mp;
	struct vf_gpt_part gp;
	char *image;        /* content image (a scratch image: scratch_new), or NULL
	                       (left empty, or written in place: ROOT-A) */
	int image_fd;       /* the memfd behind `image`, or -1 */
};

struct build {
	const struct vf_manifest *m;
	const struct vf_build_opts *o;
	uint8_t seed[VF_BUILD_SEED_MAX];
	size_t seed_len;
	char *work;         /* <outdir>/.vforge-build.XXXXXX */
	char *disk;         /* <work>/disk.img: ROOT-A is written straight into it */
	char *base;         /* "<name>-<arch>-<version>" */
	struct vf_compose_result comp;
	struct vf_tree *boot;
	struct slot *slots;
	size_t n_slots;
	uint64_t disk_size;
	uint8_t disk_guid[16];
	struct vf_verity_params vp;
	struct vf_verity_result vr;
	char *cmdline;
	json_t *report;
	struct bg_zstd *rootz; /* ROOT's update target, compressed in a thread */
	struct vf_verity_leaves *leaves; /* ROOT-A's file data, hashed as it is written */
	pthread_t wb_tid;      /* starting ROOT-A's writeback: */
	bool wb_started;
	uint64_t wb_off, wb_len; /* its region of the disk */
};

/*
 * An update target compressed in its own thread while the pipeline goes on
 * (zstd's output does not depend on what else runs, so neither do the bytes).
 */
struct bg_zstd {
	pthread_t tid;
	char *src, *dst;
	uint64_t offset, len;   /* the region of src */
	unsigned threads;
	uint8_t sha256[32];
	uint64_t size;
	struct vf_err err;
	int r;
};

static void *bg_zstd_main(void *arg)
{
	struct bg_zstd *z = arg;

	/*
	 * Spare CPU only: this thread and zstd's workers (which inherit its nice
	 * value) must not slow verity, BOOT and the disk's digest, which lead to
	 * the end of the build. Scheduling only: no byte depends on it.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);

	z->r = vf_image_zstd(z->src, z->offset, z->len, z->dst, z->threads, z->sha256, &z->size,
			     &z->err);
	return NULL;
}

/* Wait for it and free it; its result goes to *ret (when given). */
static int bg_zstd_join(struct bg_zstd *z, uint8_t sha256[32], uint64_t *size, struct vf_err *err)
{
	int r;

	if (!z)
		return 0;
	pthread_join(z->tid, NULL);
	r = z->r;
	if (r && err)
		*err = z->err;
	if (!r && sha256) {
		memcpy(sha256, z->sha256, 32);
		*size = z->size;
	}
	free(z->src);
	free(z->dst);
	free(z);
	return r;
}

static void progress(struct build *b, const char *stage, double done)
{
	if (b->o->progress)
		b->o->progress(b->o->progress_ctx, stage, done);
}

static char *path_in(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);

	if (p)
		snprintf(p, len, "%s/%s", dir, name);
	return p;
}

/*
 * A scratch image for one step (BOOT, PRIVATE, DATA, HASH-A, the GPT),
 * `size` bytes of zeros: a memfd, named by its /proc/self/fd path so that
 * libext2fs and libfdisk can open it, or, without memfds or /proc, a file
 * of the work dir. In memory their fsyncs cost nothing: an fsync of a file
 * on the output's file system would wait for ROOT-A's writeback, started
 * once verity is done (the journal commits ROOT-A's new blocks first), so
 * every step after it would stall. The images are copied into the disk and
 * compressed into targets, which are made durable in stage 7.
 * *ret_fd is the memfd (keep it open while `path` is used) or -1.
 */
static int scratch_new(const struct build *b, const char *name, uint64_t size, char **ret_path,
		       int *ret_fd, struct vf_err *err)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	char *path = NULL;

	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) == 0 && asprintf(&path, "/proc/self/fd/%d", fd) > 0 &&
		    access(path, R_OK | W_OK) == 0) {
			*ret_path = path;
			*ret_fd = fd;
			return 0;
		}
		free(path);
		close(fd);
	}
	path = path_in(b->work, name);
	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		int r = vf_err_sys(err, errno, "cannot create '%s'", path);

		if (fd >= 0)
			close(fd);
		free(path);
		return r;
	}
	close(fd);
	*ret_path = path;
	*ret_fd = -1;
	return 0;
}

/* The scratch image of a slot. */
static int slot_scratch(const struct build *b, struct slot *s, const char *name,
			struct vf_err *err)
{
	return scratch_new(b, name, s->gp.size_lba * VF_GPT_SECTOR, &s->image, &s->image_fd, err);
}

/* HMAC-SHA256(seed, label): every identifier of the build comes from here. */
static int derive(const struct build *b, const char *label, uint8_t out[32], struct vf_err *err)
{
	if (vf_hmac_sha256(b->seed, b->seed_len, label, strlen(label), out))
		return vf_err_set(err, EIO, "cannot derive '%s' from the seed", label);
	return 0;
}

static int derive_uuid(const struct build *b, const char *what, const char *name, uint8_t out[16],
		       struct vf_err *err)
{
	char label[128];
	uint8_t mac[32];
	int r;

	snprintf(label, sizeof(label), "%s:%s", what, name);
	if ((r = derive(b, label, mac, err)))
		return r;
	memcpy(out, mac, 16);
	vf_uuid_make_v4(out);
	return 0;
}

int vf_build_default_seed(const struct vf_manifest *m, uint8_t out[32], struct vf_err *err)
{
	size_t n = strlen(m->name) + strlen(m->arch) + strlen(m->version) + 16;
	char *text = malloc(n);
	int len, r = 0;

	if (!text)
		return vf_err_set(err, ENOMEM, "out of memory");
	len = snprintf(text, n, "vforge-seed%c%s%c%s%c%s", 0, m->name, 0, m->arch, 0, m->version);
	if (vf_digest_buffer(vf_digest_alg_get("sha256"), text, (size_t)len, out))
		r = vf_err_set(err, EIO, "digest computation failed");
	free(text);
	return r;
}

void vf_build_result_release(struct vf_build_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_outputs; i++)
		free(r->outputs[i].name);
	free(r->outputs);
	free(r->report);
	memset(r, 0, sizeof(*r));
}

static struct slot *slot_named(struct build *b, const char *name)
{
	for (size_t i = 0; i < b->n_slots; i++)
		if (strcmp(b->slots[i].mp->name, name) == 0)
			return &b->slots[i];
	return NULL;
}

/*
 * ROOT-A is not fsynced yet (stage 7 does it): the writeback of its region
 * of the disk is started from a thread of its own, at normal priority, as
 * starting it takes CPU and may wait for the device. It starts once the disk
 * is assembled, as stage 7 begins: started after verity, it made writes to
 * the file system during the assembly (the GPT's) wait 20-45 ms behind its
 * block allocation and journal commits, in some runs.
 */
static void *writeback_main(void *arg)
{
	const struct build *b = arg;
	int fd = open(b->disk, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)vf_fs_start_writeback(fd, b->wb_off, b->wb_len);
		close(fd);
	}
	return NULL;
}

static void start_root_writeback(struct build *b)
{
	const struct slot *root = slot_named(b, "ROOT-A");

	/* the thread reads only these and b->disk, which stay as they are */
	b->wb_off = root->gp.first_lba * VF_GPT_SECTOR;
	b->wb_len = root->gp.size_lba * VF_GPT_SECTOR;
	b->wb_started = pthread_create(&b->wb_tid, NULL, writeback_main, b) == 0;
}

/* The role of a partition by its name: "boot", "root", "hash", ... */
static const char *role_of(const char *name)
{
	static const char *const roles[] = { "boot", "root", "hash", "reserved", "private", "data" };
	static const char *const prefixes[] = { "BOOT", "ROOT", "HASH", "RESERVED", "PRIVATE", "DATA" };

	for (size_t i = 0; i < 6; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return roles[i];
	return NULL;
}

/* Stage 0: the partition plan, with types, derived UUIDs and attributes. */
static int plan_partitions(struct build *b, struct vf_err *err)
{
	const struct vf_manifest_layout *l = &b->m->layout;
	int r;

	b->slots = calloc(l->n_parts ? l->n_parts : 1, sizeof(*b->slots));
	for (size_t i = 0; b->slots && i < l->n_parts; i++)
		b->slots[i].image_fd = -1;
	if (!b->slots)
		return vf_err_set(err, ENOMEM, "out of memory");
	b->n_slots = l->n_parts;
	for (size_t i = 0; i < l->n_parts; i++) {
		const struct vf_manifest_part *mp = &l->parts[i];
		struct slot *s = &b->slots[i];
		const char *type = mp->type;

		s->mp = mp;
		snprintf(s->gp.name, sizeof(s->gp.name), "%s", mp->name);
		if (strcmp(l->type_set, "bottlerocket") == 0 && role_of(mp->name))
			type = role_of(mp->name);
		if ((r = vf_gpt_type_lookup(type, b->m->arch, l->type_set, s->gp.type, err)))
			return vf_err_prefix(err, "partition '%s'", mp->name);
		if ((r = derive_uuid(b, "partition-uuid", mp->name, s->gp.uuid, err)))
			return r;
		s->gp.first_lba = mp->start / VF_GPT_SECTOR;
		s->gp.size_lba = mp->size / VF_GPT_SECTOR;
	}
	if ((r = derive_uuid(b, "disk-guid", "os", b->disk_guid, err)))
		return r;
	if (!slot_named(b, "BOOT-A") || !slot_named(b, "ROOT-A") || !slot_named(b, "HASH-A"))
		return vf_err_set(err, EINVAL, "the layout has no BOOT-A, ROOT-A and HASH-A partitions");
	/* bank A boots first: priority 1, no tries needed, known good */
	slot_named(b, "BOOT-A")->gp.attrs = (1ULL << VF_GPT_ATTR_PRIORITY_SHIFT) |
					    VF_GPT_ATTR_SUCCESSFUL;
	return 0;
}

/* Recompute the starts after ROOT-A was resized (explicit starts stay). */
static int replan_starts(struct build *b, struct vf_err *err)
{
	uint64_t next = MIB;

	for (size_t i = 0; i < b->n_slots; i++) {
		struct slot *s = &b->slots[i];
		uint64_t start = s->mp->has_start ? s->mp->start : next;

		s->gp.first_lba = start / VF_GPT_SECTOR;
		next = start + s->gp.size_lba * VF_GPT_SECTOR;
	}
	if (b->m->layout.disk_size && next + MIB > b->m->layout.disk_size)
		return vf_err_set(err, ENOSPC, "the partitions need %llu bytes, the disk has %llu",
				  (unsigned long long)(next + MIB),
				  (unsigned long long)b->m->layout.disk_size);
	b->disk_size = b->m->layout.disk_size ? b->m->layout.disk_size : next + MIB;
	return 0;
}

/* Stage 2: move /boot's contents into their own tree (the BOOT file system). */
static int split_boot(struct build *b, struct vf_err *err)
{
	const struct vf_tree *t = b->comp.tree;
	const struct vf_tree_entry *bootdir = vf_tree_get(t, "boot");
	struct vf_tree_limits lim = { .max_entry_size = b->m->max_entry_size,
				      .max_entries = b->m->max_entries };
	char *store = path_in(b->work, "store");
	size_t removed = 0;
	int r = 0;

	if (!store)
		return vf_err_set(err, ENOMEM, "out of memory");
	b->boot = vf_tree_new(&lim, store);
	free(store);
	if (!b->boot)
		return vf_err_set(err, ENOMEM, "out of memory");
	if ((r = vf_tree_set_store_pack(b->boot, err)))
		return r;
	for (size_t i = 0; i < vf_tree_count(t) && !r; i++) {
		const struct vf_tree_entry *e = vf_tree_at(t, i);
		struct vf_tree_entry c;
		uint8_t *data = NULL;
		size_t len = 0;

		if (strncmp(e->path, "boot/", 5) != 0)
			continue;
		c = *e;
		c.path = e->path + 5;
		if (e->type == VF_TREE_HARDLINK) {
			if (strncmp(e->link, "boot/", 5) == 0) {
				c.link = e->link + 5;
			} else {
				/* a name for a file outside /boot: BOOT gets a copy */
				c.type = VF_TREE_FILE;
				c.link = NULL;
			}
		}
		if (c.type == VF_TREE_FILE) {
			const struct vf_tree_entry *src = e->type == VF_TREE_HARDLINK ?
							  vf_tree_get(t, e->link) : e;
			struct vf_tree_content tc;
			int64_t got;

			if (!src)
				return vf_err_set(err, ENOENT, "'%s': no content", e->path);
			if ((r = vf_tree_content_open(t, src, &tc, err)))
				return r;
			data = malloc(src->size ? src->size : 1);
			got = data ? vf_fs_pread_full(tc.fd, data, src->size, tc.offset) : -ENOMEM;
			vf_tree_content_close(&tc);
			if (got < 0 || (uint64_t)got != src->size) {
				free(data);
				return vf_err_set(err, EIO, "cannot read the content of '/%s'", e->path);
			}
			len = src->size;
			c.xattrs = e->xattrs;
			c.n_xattrs = e->n_xattrs;
		}
		r = vf_tree_add(b->boot, &c, data, len, true, err);
		free(data);
	}
	if (r)
		return vf_err_prefix(err, "BOOT");
	if (bootdir) {
		/* BOOT's root directory is /boot itself */
		for (size_t i = 0; i < bootdir->n_xattrs && !r; i++)
			r = vf_tree_set_xattr(b->boot, "", bootdir->xattrs[i].name,
					      bootdir->xattrs[i].value, bootdir->xattrs[i].len, err);
		if (!r)
			r = vf_tree_remove_glob(b->comp.tree, "/boot/**", &removed, err);
	}
	return r;
}

static int ext4_opts(struct build *b, const char *name, uint64_t size, bool journal,
		     struct vf_ext4_opts *o, struct vf_err *err)
{
	uint8_t mac[32];
	int r;

	memset(o, 0, sizeof(*o));
	o->size = size;
	o->block_size = BLOCK;
	o->inode_size = 256;
	o->journal = journal;
	o->timestamp = b->comp.sde;
	o->label = name;
	if ((r = derive_uuid(b, "fs-uuid", name, o->uuid, err)))
		return r;
	if ((r = derive_uuid(b, "fs-hash-seed", name, mac, err)))
		return r;
	memcpy(o->hash_seed, mac, 16);
	return 0;
}

static int write_fs(struct build *b, const char *part, const struct vf_tree *t, bool journal,
		    const char *file, struct vf_err *err)
{
	struct slot *s = slot_named(b, part);
	struct vf_ext4_opts o;
	char label[17];
	int r;

	if (!s)
		return 0;
	snprintf(label, sizeof(label), "%s", part);
	if ((r = ext4_opts(b, label, s->gp.size_lba * VF_GPT_SECTOR, journal, &o, err)))
		return r;
	if ((r = slot_scratch(b, s, file, err)))
		return r;
	o.in_place = true; /* into the scratch image, which is its size */
	if ((r = vf_ext4_write(s->image, t, &o, err)))
		return vf_err_prefix(err, "%s", part);
	return 0;
}

/* The verity parameters of ROOT-A (its size is final): salt and UUID derived from the seed. */
static int verity_params(struct build *b, struct vf_err *err)
{
	struct slot *root = slot_named(b, "ROOT-A");
	uint8_t mac[32];
	int r;

	vf_verity_params_init(&b->vp);
	b->vp.data_blocks = root->gp.size_lba * VF_GPT_SECTOR / BLOCK;
	if ((r = derive(b, "verity-salt", mac, err)))
		return r;
	memcpy(b->vp.salt, mac, 32);
	b->vp.salt_size = 32;
	return derive_uuid(b, "verity-uuid", "HASH-A", b->vp.uuid, err);
}

/*
 * The ext4 writer's file data, hashed into verity leaves on a thread of the
 * writer's while the rest of ROOT-A is written (a CPU idles then). A run that
 * cannot be recorded is simply read again by verity.
 */
static void root_data(void *ctx, uint64_t offset, const void *data, size_t len)
{
	struct build *b = ctx;
	uint32_t dbs = b->vp.data_block_size;

	if (offset % dbs == 0 && len % dbs == 0)
		(void)vf_verity_leaves_add(b->leaves, offset / dbs, data, len / dbs);
}

/*
 * ROOT-A goes straight into its partition of the (new, sparse) disk image:
 * no separate image to write, fsync and copy. Verity and the update target
 * read it from there.
 */
static int write_root(struct build *b, struct vf_err *err)
{
	struct slot *s = slot_named(b, "ROOT-A");
	struct vf_ext4_opts o;
	int fd, r;

	if (!(b->disk = path_in(b->work, "disk.img")))
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(b->disk, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	/* an output: 0644 like the others, whatever the umask */
	if (fd < 0 || fchmod(fd, 0644) < 0 || ftruncate(fd, (off_t)b->disk_size) < 0) {
		r = vf_err_sys(err, errno, "cannot create '%s'", b->disk);
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	if ((r = ext4_opts(b, "ROOT-A", s->gp.size_lba * VF_GPT_SECTOR, false, &o, err)))
		return r;
	o.in_place = true;
	o.offset = s->gp.first_lba * VF_GPT_SECTOR;
	if ((r = verity_params(b, err)) || (r = vf_verity_leaves_new(&b->vp, &b->leaves, err)))
		return r;
	o.on_data = root_data;
	o.on_data_ctx = b;
	/*
	 * Nothing reads the tree's contents after ROOT (BOOT has its own store):
	 * their pages are better used by ROOT itself (released behind the
	 * writer) and by what comes next (the rest, dropped after it)
	 */
	o.release_contents = true;
	if ((r = vf_ext4_write(b->disk, b->comp.tree, &o, err)))
		return vf_err_prefix(err, "ROOT-A");
	vf_tree_drop_packed(b->comp.tree);
	return 0;
}

/* Stage 3: ROOT's file system, minimised if asked. */
static int build_root(struct build *b, struct vf_err *err)
{
	struct slot *root = slot_named(b, "ROOT-A");
	int r;

	if (b->o->minimize || b->m->layout.minimize_root) {
		struct vf_ext4_opts o;
		struct vf_ext4_usage u;

		if ((r = ext4_opts(b, "ROOT-A", 0, false, &o, err)) ||
		    (r = vf_ext4_estimate(b->comp.tree, &o, &u, err)))
			return vf_err_prefix(err, "ROOT-A");
		root->gp.size_lba = (u.min_size + MIB - 1) / MIB * MIB / VF_GPT_SECTOR;
		if (slot_named(b, "ROOT-B"))
			slot_named(b, "ROOT-B")->gp.size_lba = root->gp.size_lba;
	}
	if ((r = replan_starts(b, err)))
		return r;
	return write_root(b, err);
}

/* Stage 3b: the verity tree of ROOT-A into HASH-A; the root hash names both partitions. */
static int build_verity(struct build *b, struct vf_err *err)
{
	struct slot *root = slot_named(b, "ROOT-A"), *hash = slot_named(b, "HASH-A");
	struct vf_verity_opts vo = { .threads = b->o->threads,
				     .data_offset = root->gp.first_lba * VF_GPT_SECTOR,
				     .leaves = b->leaves };
	uint64_t hash_size = hash->gp.size_lba * VF_GPT_SECTOR;
	uint8_t *tree = NULL;
	int fd = -1, r;

	/* b->vp: set by write_root */
	fd = open(b->disk, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", b->disk);
	r = vf_verity_tree_build(fd, &b->vp, &vo, &tree, &b->vr, err);
	close(fd);
	vf_verity_leaves_free(b->leaves);
	b->leaves = NULL;
	if (r)
		return vf_err_prefix(err, "verity of ROOT-A");
	if (b->vr.geometry.hash_end > hash_size) {
		r = vf_err_set(err, ENOSPC, "HASH-A holds %llu bytes, the verity tree of ROOT-A needs %llu",
			       (unsigned long long)hash_size,
			       (unsigned long long)b->vr.geometry.hash_end);
		goto out;
	}
	if ((r = slot_scratch(b, hash, "hash.img", err)))
		goto out;
	if ((fd = open(hash->image, O_RDWR | O_CLOEXEC)) < 0) {
		r = vf_err_sys(err, errno, "cannot open '%s'", hash->image);
		goto out;
	}
	r = vf_verity_tree_write(fd, &b->vp, &b->vr.geometry, tree, err);
	if (close(fd) < 0 && !r)
		r = vf_err_sys(err, errno, "cannot write '%s'", hash->image);
	if (r)
		goto out;
	/* content-addressed partition UUIDs, as systemd does: the halves of the root hash */
	memcpy(root->gp.uuid, b->vr.root, 16);
	memcpy(hash->gp.uuid, b->vr.root + 16, 16);
out:
	free(tree);
	return r;
}

/* Stage 4: the kernel command line, with the verity table. */
static int build_cmdline(struct build *b, struct vf_err *err)
{
	struct slot *root = slot_named(b, "ROOT-A"), *hash = slot_named(b, "HASH-A");
	char ru[VF_UUID_TEXT_LEN + 1], hu[VF_UUID_TEXT_LEN + 1];
	char rh[2 * VF_DIGEST_MAX + 1], salt[2 * VF_VERITY_MAX_SALT + 1];
	struct vf_buf buf = VF_BUF_INIT;
	int r = 0;

	vf_uuid_format(root->gp.uuid, ru);
	vf_uuid_format(hash->gp.uuid, hu);
	vf_hex_format(b->vr.root, b->vr.root_size, rh);
	vf_hex_format(b->vp.salt, b->vp.salt_size, salt);
	r |= vf_buf_add_fmt(&buf,
			    "dm-mod.create=\"root,,,ro,0 %llu verity 1 PARTUUID=%s PARTUUID=%s %u %u "
			    "%llu %llu %s %s %s 2 restart_on_corruption ignore_zero_blocks\" "
			    "root=/dev/dm-0 rootwait ro",
			    (unsigned long long)(b->vp.data_blocks * BLOCK / 512), ru, hu,
			    b->vp.data_block_size, b->vp.hash_block_size,
			    (unsigned long long)b->vp.data_blocks,
			    (unsigned long long)b->vr.geometry.hash_start_block, b->vp.hash_name, rh,
			    salt);
	for (size_t i = 0; i < b->m->n_cmdline; i++)
		r |= vf_buf_add_fmt(&buf, " %s", b->m->cmdline[i]);
	if (r) {
		vf_buf_release(&buf);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	b->cmdline = (char *)buf.data;
	return 0;
}

/* A file vforge adds to BOOT's root: mode 0644, SOURCE_DATE_EPOCH, /boot's labels. */
static int add_boot_data(struct build *b, const char *name, const void *data, size_t len,
			 struct vf_err *err)
{
	const struct vf_tree_entry *bootdir = vf_tree_get(b->comp.tree, "boot");
	struct vf_tree_entry e = { .path = (char *)name, .type = VF_TREE_FILE, .mode = 0644,
				   .mtime = b->comp.sde, .origin = (char *)"vforge" };

	if (bootdir) {
		e.xattrs = bootdir->xattrs;
		e.n_xattrs = bootdir->n_xattrs;
	}
	if (vf_tree_add(b->boot, &e, data, len, true, err))
		return vf_err_prefix(err, "BOOT: /%s", name);
	return 0;
}

static int add_boot_file(struct build *b, const char *name, const char *text, struct vf_err *err)
{
	return add_boot_data(b, name, text, strlen(text), err);
}

/* The initramfs's /init: the file at kernel.init in the composed tree. */
static int read_init(struct build *b, uint8_t **ret, size_t *ret_len, struct vf_err *err)
{
	const char *path = b->m->kernel.init;
	const struct vf_tree_entry *e = vf_tree_get(b->comp.tree, path + 1);
	struct vf_tree_content tc;
	uint8_t *data;
	int64_t got;
	int r;

	if (e && e->type == VF_TREE_HARDLINK)
		e = vf_tree_get(b->comp.tree, e->link);
	if (!e || e->type != VF_TREE_FILE)
		return vf_err_set(err, ENOENT, "kernel.init: '%s' is %s in the composed tree (expected "
				  "the initramfs's init program there)", path,
				  e ? "not a regular file" : "not");
	if (e->size > VF_INITRAMFS_MAX_SIZE)
		return vf_err_set(err, EFBIG, "kernel.init: '%s' is %llu bytes, more than %llu", path,
				  (unsigned long long)e->size,
				  (unsigned long long)VF_INITRAMFS_MAX_SIZE);
	if ((r = vf_tree_content_open(b->comp.tree, e, &tc, err)))
		return vf_err_prefix(err, "kernel.init '%s'", path);
	data = malloc(e->size ? (size_t)e->size : 1);
	got = data ? vf_fs_pread_full(tc.fd, data, (size_t)e->size, tc.offset) : -ENOMEM;
	vf_tree_content_close(&tc);
	if (got < 0 || (uint64_t)got != e->size) {
		free(data);
		return vf_err_set(err, EIO, "kernel.init: cannot read '%s'", path);
	}
	*ret = data;
	*ret_len = (size_t)e->size;
	return 0;
}

/* The kernel package as an input of build.json: its path relative to the variant, as resolve shows it. */
static int add_kernel_input(struct build *b, struct vf_err *err)
{
	json_t *pkg = json_object_get(json_object_get(b->m->json, "kernel"), "package");
	const char *rel = json_string_value(json_object_get(pkg, "file"));
	struct vf_compose_result *c = &b->comp;
	struct vf_compose_input *grown = realloc(c->inputs, (c->n_inputs + 1) * sizeof(*grown));
	struct vf_compose_input *in;

	if (!grown)
		return vf_err_set(err, ENOMEM, "out of memory");
	c->inputs = grown;
	in = &c->inputs[c->n_inputs];
	in->kind = strdup("kernel");
	in->name = strdup("kernel");
	in->path = strdup(rel ? rel : b->m->kernel.path);
	memcpy(in->sha256, b->m->kernel.sha256, 32);
	if (!in->kind || !in->name || !in->path) {
		free(in->kind);
		free(in->name);
		free(in->path);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	c->n_inputs++;
	return 0;
}

/*
 * Stage 2b: a variant with a kernel package gets BOOT's /vmlinuz (the
 * package's kernel image) and /initrd.img (the initramfs: kernel.init as
 * /init and kernel.modules with their dependencies; builder/initramfs).
 */
static int build_kernel(struct build *b, struct vf_err *err)
{
	const struct vf_manifest_kernel *k = &b->m->kernel;
	struct vf_initramfs_result res = { 0 };
	struct vf_initramfs_opts o = {
		.pkg_file = k->file, .pkg_sha256 = k->sha256, .image_glob = k->image,
		.modules = (const char *const *)k->modules, .n_modules = k->n_modules,
		.mtime = b->comp.sde, .max_entry_size = b->m->max_entry_size,
		.max_entries = b->m->max_entries,
	};
	uint8_t *init = NULL;
	char *store = NULL;
	int r;

	if (!k->has_package)
		return 0;
	if ((r = read_init(b, &init, &o.init_len, err)))
		goto out;
	o.init = init;
	if (!(store = path_in(b->work, "kernel-store"))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(store, 0700) < 0) {
		r = vf_err_sys(err, errno, "cannot create '%s'", store);
		goto out;
	}
	o.store_dir = store;
	if ((r = vf_initramfs_build(&o, &res, err)))
		goto out;
	if ((r = add_boot_data(b, KERNEL_FILE, res.kernel, res.kernel_len, err)) ||
	    (r = add_boot_data(b, INITRD_FILE, res.initrd, res.initrd_len, err)) ||
	    (r = add_kernel_input(b, err)))
		goto out;
out:
	if (r)
		vf_err_prefix(err, "kernel");
	vf_initramfs_result_release(&res);
	if (store)
		vf_fs_remove_tree(store, NULL); /* the package's unpacked contents */
	free(store);
	free(init);
	return r;
}

/*
 * Stage 5: BOOT (with the command line and the release file, which the
 * updater reads: docs/update.md), PRIVATE, DATA.
 */
static int build_other_fs(struct build *b, struct vf_err *err)
{
	struct vf_buf cmdline = VF_BUF_INIT, release = VF_BUF_INIT;
	int r;

	if (vf_buf_add_fmt(&cmdline, "%s\n", b->cmdline) ||
	    vf_buf_add_fmt(&release, "VARIANT=%s\nARCH=%s\nVERSION=%s\n", b->m->name, b->m->arch,
			   b->m->version)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = add_boot_file(b, CMDLINE_FILE, (const char *)cmdline.data, err)) ||
	    (r = add_boot_file(b, RELEASE_FILE, (const char *)release.data, err)))
		goto out;
	if ((r = write_fs(b, "BOOT-A", b->boot, false, "boot.ext4", err)) ||
	    (r = write_fs(b, "PRIVATE", NULL, false, "private.ext4", err)) ||
	    (r = write_fs(b, "DATA", NULL, true, "data.ext4", err)))
		goto out;
out:
	vf_buf_release(&cmdline);
	vf_buf_release(&release);
	return r;
}

static char *output_name(const struct build *b, const char *suffix)
{
	size_t len = strlen(b->base) + strlen(suffix) + 1;
	char *p = malloc(len);

	if (p)
		snprintf(p, len, "%s%s", b->base, suffix);
	return p;
}

/* ROOT's update target: compressed in a thread from now on, while verity, BOOT and the disk go on. */
static int start_root_target(struct build *b, struct vf_err *err)
{
	struct slot *root = slot_named(b, "ROOT-A");
	struct bg_zstd *z = calloc(1, sizeof(*z));
	char *name = output_name(b, "-root.ext4.zst");

	if (!z || !name || !(z->src = strdup(b->disk)) || !(z->dst = path_in(b->work, name))) {
		free(name);
		if (z) {
			free(z->src);
			free(z);
		}
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	free(name);
	z->offset = root->gp.first_lba * VF_GPT_SECTOR;
	z->len = root->gp.size_lba * VF_GPT_SECTOR;
	z->threads = b->o->threads;
	if (pthread_create(&z->tid, NULL, bg_zstd_main, z) != 0) {
		/* no thread: compressed in stage 7 as the others are */
		free(z->src);
		free(z->dst);
		free(z);
		return 0;
	}
	b->rootz = z;
	return 0;
}

/* Stage 6: the GPT and the disk image (sparse). */
static int build_disk(struct build *b, const char *file, struct vf_err *err)
{
	struct vf_gpt_table t = { .disk_size = b->disk_size };
	char *path = path_in(b->work, file), *gpt = NULL;
	int fd = -1, gpt_fd = -1, r;

	if (!path)
		return vf_err_set(err, ENOMEM, "out of memory");
	memcpy(t.disk_guid, b->disk_guid, 16);
	t.parts = calloc(b->n_slots ? b->n_slots : 1, sizeof(*t.parts));
	if (!t.parts) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < b->n_slots; i++)
		t.parts[i] = b->slots[i].gp;
	t.n_parts = b->n_slots;
	if ((r = vf_gpt_check(&t, err)))
		goto out;
	/*
	 * The GPT goes to a scratch image of the disk's size, then its sectors
	 * into the disk (the partitions do not overlap them): libfdisk fsyncs
	 * what it writes, which on disk.img would wait for all of ROOT-A
	 */
	if ((r = scratch_new(b, "gpt.img", b->disk_size, &gpt, &gpt_fd, err)) ||
	    (r = vf_gpt_write(gpt, &t, err)))
		goto out;
	/* made by write_root, with ROOT-A in it */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot open '%s'", path);
		goto out;
	}
	if ((r = vf_image_copy_sparse(gpt, fd, 0, err)))
		goto out;
	for (size_t i = 0; i < b->n_slots; i++) {
		const struct slot *s = &b->slots[i];

		if (s->image && (r = vf_image_copy_sparse(s->image, fd, s->gp.first_lba * VF_GPT_SECTOR,
							  err)))
			goto out;
	}
	/* fsynced in stage 7, after it was hashed from the page cache */
	if (close(fd) < 0) {
		fd = -1;
		r = vf_err_sys(err, errno, "cannot write '%s'", path);
		goto out;
	}
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (gpt_fd >= 0)
		close(gpt_fd);
	else if (gpt)
		(void)unlink(gpt);
	free(gpt);
	free(t.parts);
	free(path);
	return r;
}

/* The data disk of a split layout: its own GPT with one DATA partition. */
static int build_data_disk(struct build *b, const char *file, struct vf_err *err)
{
	struct vf_gpt_table t = { .disk_size = b->m->layout.data_size };
	struct vf_gpt_part p = { .name = "DATA" };
	struct vf_ext4_opts o;
	char *path = path_in(b->work, file), *fs = path_in(b->work, "data.ext4");
	int fd = -1, r;

	if (!path || !fs) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (t.disk_size < 3 * MIB) {
		r = vf_err_set(err, EINVAL, "the data disk of %llu bytes is too small: at least 3 MiB",
			       (unsigned long long)t.disk_size);
		goto out;
	}
	p.first_lba = MIB / VF_GPT_SECTOR;
	p.size_lba = (t.disk_size - 2 * MIB) / VF_GPT_SECTOR;
	if ((r = vf_gpt_type_lookup(strcmp(b->m->layout.type_set, "bottlerocket") ? "linux" : "data",
				    b->m->arch, b->m->layout.type_set, p.type, err)) ||
	    (r = derive_uuid(b, "partition-uuid", "DATA", p.uuid, err)) ||
	    (r = derive_uuid(b, "disk-guid", "data", t.disk_guid, err)) ||
	    (r = ext4_opts(b, "DATA", p.size_lba * VF_GPT_SECTOR, true, &o, err)) ||
	    (r = vf_ext4_write(fs, NULL, &o, err)))
		goto out;
	t.parts = &p;
	t.n_parts = 1;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0 || ftruncate(fd, (off_t)t.disk_size) < 0) {
		r = vf_err_sys(err, errno, "cannot create '%s'", path);
		goto out;
	}
	if ((r = vf_image_copy_sparse(fs, fd, MIB, err)))
		goto out;
	close(fd);
	fd = -1;
	r = vf_gpt_write(path, &t, err);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(fs);
	return r;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];

	vf_hex_format(p, n, hex);
	return json_string(hex);
}

static json_t *uuid_json(const uint8_t u[16])
{
	char text[VF_UUID_TEXT_LEN + 1];

	vf_uuid_format(u, text);
	return json_string(text);
}

/* build.json without the outputs (added once they exist). */
static int build_report(struct build *b, struct vf_err *err)
{
	json_t *r = json_object(), *inputs = json_array(), *parts = json_array(), *v;
	char root[2 * VF_DIGEST_MAX + 1], salt[2 * VF_VERITY_MAX_SALT + 1];
	const struct vf_verity_geometry *g = &b->vr.geometry;

	if (!r || !inputs || !parts) {
		json_decref(r);
		json_decref(inputs);
		json_decref(parts);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	json_object_set_new(r, "variant", json_pack("{s:s,s:s,s:s}", "name", b->m->name,
						    "version", b->m->version, "arch", b->m->arch));
	json_object_set_new(r, "tool", json_pack("{s:s,s:s}", "name", "vforge", "version",
						 b->o->tool_version ? b->o->tool_version : "unknown"));
	json_object_set_new(r, "seed", hex_json(b->seed, b->seed_len));
	json_object_set_new(r, "source_date_epoch", json_integer(b->comp.sde));
	for (size_t i = 0; i < b->comp.n_inputs; i++) {
		const struct vf_compose_input *in = &b->comp.inputs[i];

		json_array_append_new(inputs, json_pack("{s:s,s:s,s:s,s:o}", "kind", in->kind,
							"name", in->name, "path", in->path, "sha256",
							hex_json(in->sha256, 32)));
	}
	json_object_set_new(r, "inputs", inputs);
	for (size_t i = 0; i < b->n_slots; i++) {
		const struct vf_gpt_part *p = &b->slots[i].gp;
		const char *tn = vf_gpt_type_name(p->type);

		json_array_append_new(parts, json_pack("{s:s,s:o,s:s,s:o,s:I,s:I,s:I,s:I}", "name",
						       p->name, "type", uuid_json(p->type), "type_name",
						       tn ? tn : "", "uuid", uuid_json(p->uuid),
						       "first_lba", (json_int_t)p->first_lba,
						       "size", (json_int_t)(p->size_lba * VF_GPT_SECTOR),
						       "size_lba", (json_int_t)p->size_lba,
						       "attributes", (json_int_t)p->attrs));
	}
	json_object_set_new(r, "disk", json_pack("{s:I,s:o}", "size", (json_int_t)b->disk_size,
						 "guid", uuid_json(b->disk_guid)));
	json_object_set_new(r, "partitions", parts);
	vf_hex_format(b->vr.root, b->vr.root_size, root);
	vf_hex_format(b->vp.salt, b->vp.salt_size, salt);
	v = json_pack("{s:o,s:i,s:I,s:i,s:i,s:s,s:s,s:s,s:I,s:I,s:I,s:I}",
		      "uuid", uuid_json(b->vp.uuid), "hash_type", (int)b->vp.hash_type,
		      "data_blocks", (json_int_t)b->vp.data_blocks,
		      "data_block_size", (int)b->vp.data_block_size,
		      "hash_block_size", (int)b->vp.hash_block_size,
		      "hash_algorithm", b->vp.hash_name, "salt", salt, "root_hash", root,
		      "hash_offset", (json_int_t)0,
		      "hash_size", (json_int_t)g->hash_end,
		      "hash_blocks", (json_int_t)g->hash_blocks,
		      "hash_start", (json_int_t)g->hash_start_block);
	json_object_set_new(v, "superblock", json_true());
	json_object_set_new(r, "verity", v);
	json_object_set_new(r, "kernel_cmdline", json_string(b->cmdline));
	b->report = r;
	return 0;
}

/* One output of stage 7: where it comes from, and its size and digest once made. */
struct out_job {
	const char *suffix;
	const char *src;    /* a file of the work dir, or NULL: */
	const char *slot;   /* the image of this slot, or NULL: ROOT-A of disk.img */
	bool compress;
	bool present;       /* src exists, or the slot has an image (ROOT-A always) */
	char *name;         /* file name in the work dir and outdir */
	uint64_t size;
	uint8_t sha256[32];
	struct vf_err err;
	int r;
};

/* Make a file of the work dir durable (before it is published by rename). */
static int fsync_path(const char *path, struct vf_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", path);
	if (fsync(fd) < 0)
		r = vf_err_sys(err, errno, "cannot fsync '%s'", path);
	close(fd);
	return r;
}

/* The digests of the outputs that are not compressed (the disk images), then their fsync. */
struct digest_thread {
	struct out_job *jobs;
	size_t n;
	const struct build *b;
};

static void *digest_main(void *arg)
{
	struct digest_thread *t = arg;

	for (size_t i = 0; i < t->n; i++) {
		struct out_job *j = &t->jobs[i];
		char *dst;

		if (!j->present || j->compress)
			continue;
		dst = path_in(t->b->work, j->src);
		j->r = dst ? vf_image_file_digest(dst, j->sha256, &j->size, &j->err) :
			     vf_err_set(&j->err, ENOMEM, "out of memory");
		if (!j->r)
			j->r = fsync_path(dst, &j->err);
		free(dst);
		if (j->r)
			break;
	}
	return NULL;
}

/*
 * Stage 7: update targets, digests of every output, build.json; then publish.
 * The disk images are hashed in a thread while the update targets are
 * compressed (each hashed as it is written); the outputs keep their order.
 */
static int finish(struct build *b, const char *outdir, struct vf_build_result *res,
		  struct vf_err *err)
{
	/* in build.json's order; src is a file of the work dir */
	struct out_job outs[] = {
		{ .suffix = ".img", .src = "disk.img" },
		{ .suffix = "-boot.ext4.zst", .slot = "BOOT-A", .compress = true },
		{ .suffix = "-root.ext4.zst", .src = NULL, .compress = true }, /* ROOT-A of disk.img */
		{ .suffix = "-root.verity.zst", .slot = "HASH-A", .compress = true },
		{ .suffix = "-data.img", .src = "datadisk.img" },
	};
	const size_t n_outs = sizeof(outs) / sizeof(outs[0]);
	struct digest_thread dt = { .jobs = outs, .n = n_outs, .b = b };
	pthread_t tid;
	bool started = false;
	json_t *list = json_array();
	char *text = NULL;
	int r = 0;

	res->outputs = calloc(n_outs + 1, sizeof(*res->outputs));
	if (!list || !res->outputs) {
		json_decref(list);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	/* which outputs this layout has (ROOT-A's target always) */
	for (size_t i = 0; i < n_outs && !r; i++) {
		struct out_job *j = &outs[i];
		char *src = j->src ? path_in(b->work, j->src) : NULL;
		const struct slot *sl = j->slot ? slot_named(b, j->slot) : NULL;
		struct stat st;

		j->name = output_name(b, j->suffix);
		if (!j->name || (j->src && !src))
			r = vf_err_set(err, ENOMEM, "out of memory");
		else if (j->src)
			j->present = stat(src, &st) == 0;
		else
			j->present = j->slot ? sl && sl->image : true;
		free(src);
	}
	if (!r) {
		progress(b, "hashing outputs", 0);
		if (pthread_create(&tid, NULL, digest_main, &dt) == 0)
			started = true;
		else
			digest_main(&dt);
	}
	/* ROOT's target, compressed in a thread since ROOT was written, ends last: the others first */
	for (size_t i = 0; i < n_outs && !r; i++) {
		struct out_job *j = &outs[i];
		char *src, *dst;

		if (!j->present || !j->compress || (!j->src && !j->slot && b->rootz))
			continue;
		progress(b, "compressing update targets", (double)i / (double)n_outs);
		src = j->src ? path_in(b->work, j->src) :
		      j->slot ? strdup(slot_named(b, j->slot)->image) : NULL;
		dst = path_in(b->work, j->name);
		if (!dst || ((j->src || j->slot) && !src)) {
			r = vf_err_set(err, ENOMEM, "out of memory");
		} else if (src) {
			r = vf_image_zstd(src, 0, 0, dst, b->o->threads, j->sha256, &j->size, err);
		} else {
			/* ROOT-A, when it could not be compressed in a thread */
			const struct slot *root = slot_named(b, "ROOT-A");

			r = vf_image_zstd(b->disk, root->gp.first_lba * VF_GPT_SECTOR,
					  root->gp.size_lba * VF_GPT_SECTOR, dst, b->o->threads,
					  j->sha256, &j->size, err);
		}
		free(src);
		free(dst);
	}
	for (size_t i = 0; i < n_outs && !r && b->rootz; i++) {
		if (outs[i].present && outs[i].compress && !outs[i].src && !outs[i].slot) {
			r = bg_zstd_join(b->rootz, outs[i].sha256, &outs[i].size, err);
			b->rootz = NULL;
		}
	}
	/*
	 * Flush the disk image now, while its digest is computed (the thread's
	 * own fsync after the digest then finds little left to do): this thread
	 * only waits for the device here
	 */
	if (!r && started)
		r = fsync_path(b->disk, err);
	if (started)
		pthread_join(tid, NULL);
	/* the disk images get their names once nothing reads them by path */
	for (size_t i = 0; i < n_outs && !r; i++) {
		struct out_job *j = &outs[i];
		char *src, *dst;

		if (!j->present || j->compress)
			continue;
		if (j->r) {
			*err = j->err;
			r = j->r;
			break;
		}
		src = path_in(b->work, j->src);
		dst = path_in(b->work, j->name);
		if (!src || !dst)
			r = vf_err_set(err, ENOMEM, "out of memory");
		else if (rename(src, dst) < 0)
			r = vf_err_sys(err, errno, "cannot rename '%s'", src);
		free(src);
		free(dst);
	}
	for (size_t i = 0; i < n_outs && !r; i++) {
		struct out_job *j = &outs[i];
		struct vf_build_output *o = &res->outputs[res->n_outputs];

		if (!j->present)
			continue;
		o->name = j->name;
		j->name = NULL;
		o->size = j->size;
		memcpy(o->sha256, j->sha256, 32);
		res->n_outputs++;
		json_array_append_new(list, json_pack("{s:s,s:I,s:o}", "name", o->name,
						      "size", (json_int_t)o->size,
						      "sha256", hex_json(o->sha256, 32)));
	}
	for (size_t i = 0; i < n_outs; i++)
		free(outs[i].name);
	if (r) {
		json_decref(list);
		return r;
	}
	json_object_set_new(b->report, "outputs", list);
	text = json_dumps(b->report, JSON_SORT_KEYS | JSON_INDENT(2));
	if (!text)
		return vf_err_set(err, ENOMEM, "out of memory");
	res->report = text;
	{
		char *path = path_in(b->work, "build.json");
		struct vf_fs_atomic a;
		size_t len = strlen(text);

		vf_fs_atomic_init(&a);
		if (!path)
			return vf_err_set(err, ENOMEM, "out of memory");
		r = vf_fs_atomic_open(&a, path, 0644, err);
		if (!r && (vf_fs_pwrite_full(a.fd, text, len, 0) || vf_fs_pwrite_full(a.fd, "\n", 1, len)))
			r = vf_err_sys(err, EIO, "cannot write '%s'", path);
		if (!r)
			r = vf_fs_atomic_commit(&a, err);
		vf_fs_atomic_release(&a);
		free(path);
		if (r)
			return r;
	}
	/* publish: every output appears only now, each by rename */
	for (size_t i = 0; i <= res->n_outputs && !r; i++) {
		const char *name = i < res->n_outputs ? res->outputs[i].name : "build.json";
		char *from = path_in(b->work, name), *to = path_in(outdir, name);

		if (!from || !to)
			r = vf_err_set(err, ENOMEM, "out of memory");
		else if (rename(from, to) < 0)
			r = vf_err_sys(err, errno, "cannot move '%s' into '%s'", name, outdir);
		free(from);
		free(to);
	}
	if (!r) {
		char *any = path_in(outdir, "build.json");

		r = any ? vf_fs_fsync_parent(any, err) : vf_err_set(err, ENOMEM, "out of memory");
		free(any);
	}
	return r;
}

static void release(struct build *b)
{
	/* before the work dir goes: the thread may still be writing into it */
	(void)bg_zstd_join(b->rootz, NULL, NULL, NULL);
	b->rootz = NULL;
	if (b->wb_started)
		pthread_join(b->wb_tid, NULL);
	vf_compose_result_release(&b->comp);
	vf_verity_leaves_free(b->leaves);
	vf_tree_free(b->boot);
	for (size_t i = 0; i < b->n_slots; i++) {
		if (b->slots[i].image_fd >= 0)
			close(b->slots[i].image_fd);
		free(b->slots[i].image);
	}
	free(b->slots);
	free(b->cmdline);
	free(b->base);
	free(b->disk);
	json_decref(b->report);
	if (b->work) {
		vf_fs_remove_tree(b->work, NULL);
		free(b->work);
	}
}

int vf_build(const struct vf_manifest *m, const char *outdir, const struct vf_build_opts *opts,
	     struct vf_build_result *ret, struct vf_err *err)
{
	struct vf_build_result res = { 0 };
	struct build b;
	size_t len;
	int r;

	memset(&b, 0, sizeof(b));
	b.m = m;
	b.o = opts;
	if (m->layout.n_parts == 0)
		return vf_err_set(err, EINVAL, "variant '%s' has no layout", m->name);
	if (opts->seed_len) {
		memcpy(b.seed, opts->seed, opts->seed_len);
		b.seed_len = opts->seed_len;
	} else {
		if ((r = vf_build_default_seed(m, b.seed, err)))
			return r;
		b.seed_len = 32;
	}
	len = strlen(m->name) + strlen(m->arch) + strlen(m->version) + 3;
	b.base = malloc(len);
	if (!b.base)
		return vf_err_set(err, ENOMEM, "out of memory");
	snprintf(b.base, len, "%s-%s-%s", m->name, m->arch, m->version);
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		r = vf_err_sys(err, errno, "cannot create the output directory '%s'", outdir);
		goto out;
	}
	if ((r = vf_fs_mkdtemp(outdir, ".vforge-build", &b.work, err)))
		goto out;

	progress(&b, "planning partitions", 0);
	if ((r = plan_partitions(&b, err)))
		goto out;
	progress(&b, "composing the file tree", 0);
	if ((r = vf_compose(m, b.work, &opts->compose, &b.comp, err)))
		goto out;
	if (b.comp.policy.n) {
		r = vf_err_set(err, VF_EVERIFY,
			       "variant '%s': %zu policy violation(s), the first: '%s' (package '%s'): %s "
			       "(run 'vforge lint' for all)",
			       m->name, b.comp.policy.n, b.comp.policy.v[0].path,
			       b.comp.policy.v[0].origin, b.comp.policy.v[0].reason);
		goto out;
	}
	if ((r = split_boot(&b, err)))
		goto out;
	progress(&b, "building the initramfs", 0);
	if ((r = build_kernel(&b, err)))
		goto out;
	progress(&b, "writing ROOT", 0);
	if ((r = build_root(&b, err)) || (r = start_root_target(&b, err)))
		goto out;
	progress(&b, "hashing ROOT (dm-verity)", 0);
	if ((r = build_verity(&b, err)) || (r = build_cmdline(&b, err)))
		goto out;
	progress(&b, "writing BOOT, PRIVATE, DATA", 0);
	if ((r = build_other_fs(&b, err)))
		goto out;
	progress(&b, "assembling the disk", 0);
	if ((r = build_disk(&b, "disk.img", err)))
		goto out;
	if (strcmp(m->layout.plan, "split") == 0 && (r = build_data_disk(&b, "datadisk.img", err)))
		goto out;
	if ((r = build_report(&b, err)))
		goto out;
	start_root_writeback(&b);
	if ((r = finish(&b, outdir, &res, err)))
		goto out;
	vf_hex_format(b.vr.root, b.vr.root_size, res.root_hash);
	progress(&b, "done", 1);
	*ret = res;
	memset(&res, 0, sizeof(res));
out:
	vf_build_result_release(&res);
	release(&b);
	return r;
}
