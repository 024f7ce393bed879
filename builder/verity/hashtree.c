/* Building and checking a verity tree in memory; the leaf level in threads. */
#include "builder/verity/verity.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_BYTES (1u << 20)        /* data read per pread */
#define MAP_BYTES (1u << 24)         /* data mapped at once (fewer, larger mappings are faster) */
#define MIN_BLOCKS_PER_THREAD 1024u  /* below this, extra threads cost more than they save */
#define NO_BLOCK UINT64_MAX

/*
 * The salted digests of data blocks and of hash blocks (their sizes may
 * differ): keys/digest's block hasher, which absorbs a format 1 salt once
 * and hashes two blocks at a time where the CPU allows.
 */
struct hasher {
	struct vf_digest_blocks *data;
	struct vf_digest_blocks *hash;
	const struct vf_verity_params *p;
};

#define BATCH 64u  /* data blocks hashed per call */

static void hasher_release(struct hasher *h)
{
	vf_digest_blocks_free(h->data);
	vf_digest_blocks_free(h->hash);
	h->data = h->hash = NULL;
}

static struct vf_digest_blocks *hasher_new(const struct vf_verity_params *p, size_t block_size)
{
	const struct vf_digest_alg *alg = vf_digest_alg_get(p->hash_name);

	/* format 1 salts before the block, format 0 (Chrome OS) after it */
	if (p->hash_type == 1)
		return vf_digest_blocks_new(alg, p->salt, p->salt_size, NULL, 0, block_size);
	return vf_digest_blocks_new(alg, NULL, 0, p->salt, p->salt_size, block_size);
}

static int hasher_init(struct hasher *h, const struct vf_verity_params *p)
{
	h->p = p;
	h->data = hasher_new(p, p->data_block_size);
	h->hash = hasher_new(p, p->hash_block_size);
	if (!h->data || !h->hash) {
		hasher_release(h);
		return -ENOMEM;
	}
	return 0;
}

/* The digest of one block of `len` bytes: a data block or a hash block. */
static int hasher_run(struct hasher *h, const void *block, size_t len, uint8_t *out)
{
	return vf_digest_blocks_run(len == h->p->data_block_size ? h->data : h->hash, block, 1, out);
}

struct vf_verity_leaves {
	struct vf_verity_params p;   /* a copy: the build must use the same */
	struct vf_digest_blocks *h;  /* data block digests */
	size_t ds;                   /* digest size */
	uint64_t *have;              /* a bit per data block */
	uint8_t *digests;            /* ds bytes per data block */
};

int vf_verity_leaves_new(const struct vf_verity_params *p, struct vf_verity_leaves **ret,
			 struct vf_err *err)
{
	struct vf_verity_leaves *l;
	const struct vf_digest_alg *alg;
	int r;

	if ((r = vf_verity_params_check(p, err)))
		return r;
	alg = vf_digest_alg_get(p->hash_name);
	if (!p->data_blocks || !alg)
		return vf_err_set(err, EINVAL, "no data blocks, or an unknown hash");
	if (p->data_blocks > SIZE_MAX / VF_DIGEST_MAX)
		return vf_err_set(err, ENOMEM, "%llu data blocks do not fit in memory",
				  (unsigned long long)p->data_blocks);
	if (!(l = calloc(1, sizeof(*l))))
		return vf_err_set(err, ENOMEM, "out of memory");
	l->p = *p;
	l->ds = vf_digest_alg_size(alg);
	l->h = hasher_new(&l->p, p->data_block_size);
	l->have = calloc((size_t)((p->data_blocks + 63) / 64), sizeof(uint64_t));
	l->digests = malloc((size_t)p->data_blocks * l->ds);
	if (!l->h || !l->have || !l->digests) {
		vf_verity_leaves_free(l);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	*ret = l;
	return 0;
}

int vf_verity_leaves_add(struct vf_verity_leaves *l, uint64_t first, const void *data, uint64_t n)
{
	const uint8_t *d = data;

	if (first > l->p.data_blocks || n > l->p.data_blocks - first)
		return -ERANGE;
	for (uint64_t i = 0; i < n; i += BATCH) {
		uint64_t k = n - i < BATCH ? n - i : BATCH;

		if (vf_digest_blocks_run(l->h, d + i * l->p.data_block_size, k,
					 l->digests + (size_t)(first + i) * l->ds))
			return -EIO;
	}
	for (uint64_t b = first; b < first + n; b++)
		l->have[b / 64] |= UINT64_C(1) << (b % 64);
	return 0;
}

uint64_t vf_verity_leaves_count(const struct vf_verity_leaves *l)
{
	uint64_t c = 0;

	for (uint64_t i = 0; i < (l->p.data_blocks + 63) / 64; i++)
		c += (uint64_t)__builtin_popcountll(l->have[i]);
	return c;
}

void vf_verity_leaves_free(struct vf_verity_leaves *l)
{
	if (!l)
		return;
	vf_digest_blocks_free(l->h);
	free(l->have);
	free(l->digests);
	free(l);
}

static bool leaves_have(const struct vf_verity_leaves *l, uint64_t b)
{
	return (l->have[b / 64] >> (b % 64)) & 1;
}

static const uint8_t *leaves_digest(const struct vf_verity_leaves *l, uint64_t b)
{
	return l->digests + (size_t)b * l->ds;
}

/* Whether `l` was made for exactly these parameters. */
static bool leaves_match(const struct vf_verity_leaves *l, const struct vf_verity_params *p)
{
	return l->p.hash_type == p->hash_type && l->p.data_block_size == p->data_block_size &&
	       l->p.data_blocks == p->data_blocks && l->p.salt_size == p->salt_size &&
	       !memcmp(l->p.salt, p->salt, p->salt_size) && !strcmp(l->p.hash_name, p->hash_name);
}

/* Pointer to hash block `j` of level `lvl` inside an in-memory tree. */
static uint8_t *tree_block(uint8_t *tree, const struct vf_verity_geometry *g,
			   const struct vf_verity_params *p, unsigned lvl, uint64_t j)
{
	return tree + (size_t)(g->level_start[lvl] - g->hash_start_block + j) * p->hash_block_size;
}

/* Pointer to digest slot `i` of level `lvl` (the digest of the i-th block below). */
static uint8_t *tree_slot(uint8_t *tree, const struct vf_verity_geometry *g,
			  const struct vf_verity_params *p, unsigned lvl, uint64_t i)
{
	return tree_block(tree, g, p, lvl, i / g->hashes_per_block) +
	       (size_t)(i % g->hashes_per_block) * g->digest_stride;
}

enum leaf_mode { LEAF_BUILD, LEAF_VERIFY };

struct leaf_shared {
	int fd;
	const struct vf_verity_params *p;
	const struct vf_verity_geometry *g;
	uint64_t data_offset;
	uint64_t fd_size;      /* size of the data file or device when run started */
	uint8_t *tree;
	enum leaf_mode mode;
	const struct vf_verity_leaves *leaves; /* build: digests known already, or NULL */
	uint8_t zero_digest[VF_DIGEST_MAX];
	uint64_t chunk;        /* data blocks per claim, whole hash blocks */
	_Atomic uint64_t next; /* first block of the next unclaimed chunk */
	_Atomic uint64_t bad;  /* verify: the lowest mismatching block found so far */
	_Atomic uint64_t done;
	_Atomic unsigned running;
};

struct leaf_worker {
	struct leaf_shared *s;
	uint64_t first, last;  /* the chunk being hashed: data blocks [first, last) */
	uint64_t bad;          /* first mismatching block (verify), NO_BLOCK if none */
	int rc;
	struct vf_err err;
	pthread_t tid;
	bool started;
};

/* Store (build) or compare (verify) the digest of data block `b`. */
static bool leaf_emit(struct leaf_worker *w, uint64_t b, const uint8_t *digest)
{
	struct leaf_shared *s = w->s;
	uint8_t *slot = tree_slot(s->tree, s->g, s->p, 0, b);

	if (s->mode == LEAF_BUILD) {
		memcpy(slot, digest, s->g->digest_size);
		return true;
	}
	if (memcmp(slot, digest, s->g->digest_size) != 0) {
		uint64_t seen = atomic_load(&s->bad);

		w->bad = b;
		while (b < seen && !atomic_compare_exchange_weak(&s->bad, &seen, b))
			;
		return false;
	}
	return true;
}

/* Hash n blocks that are in memory at `data`, first block number b. */
static int hash_blocks(struct leaf_worker *w, struct hasher *h, const uint8_t *data,
		       uint64_t b, uint64_t n)
{
	const uint64_t dbs = w->s->p->data_block_size;
	const size_t ds = w->s->g->digest_size;
	uint8_t digests[BATCH * VF_DIGEST_MAX];

	for (uint64_t i = 0; i < n; i += BATCH) {
		uint64_t k = n - i < BATCH ? n - i : BATCH;

		if (vf_digest_blocks_run(h->data, data + i * dbs, k, digests))
			return vf_err_set(&w->err, EIO, "digest computation failed");
		for (uint64_t j = 0; j < k; j++)
			if (!leaf_emit(w, b + i + j, digests + j * ds))
				return 1;
	}
	return 0;
}

/*
 * Hash data blocks [b, end) in large chunks: mapped read-only from the page
 * cache (no copy), or read into `buf` where the data cannot be mapped.
 */
static int leaf_hash_run(struct leaf_worker *w, struct hasher *h, uint8_t *buf,
			 uint64_t b, uint64_t end)
{
	struct leaf_shared *s = w->s;
	const uint64_t dbs = s->p->data_block_size;
	const uint64_t per_read = READ_BYTES / dbs ? READ_BYTES / dbs : 1;
	const uint64_t per_map = MAP_BYTES / dbs;
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	bool use_map = true;
	int r;

	while (b < end) {
		uint64_t per_chunk = use_map ? per_map : per_read;
		uint64_t n = end - b < per_chunk ? end - b : per_chunk;
		uint64_t off = s->data_offset + b * dbs;
		int64_t got;

		/* never map past the end of the file: that would fault, not fail */
		if (use_map && off + n * dbs > s->fd_size)
			use_map = false;
		if (use_map) {
			uint64_t start = off / page * page;
			size_t len = (size_t)(off + n * dbs - start);
			void *map = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, s->fd,
					 (off_t)start);

			if (map == MAP_FAILED) {
				use_map = false;
				continue;
			}
			r = hash_blocks(w, h, (const uint8_t *)map + (off - start), b, n);
			munmap(map, len);
			if (r)
				return r < 0 ? r : 0;
			b += n;
			atomic_fetch_add(&s->done, n);
			continue;
		}
		got = vf_fs_pread_full(s->fd, buf, (size_t)(n * dbs), off);
		if (got < 0)
			return vf_err_sys(&w->err, (int)-got, "cannot read data at byte %llu",
					  (unsigned long long)off);
		if ((uint64_t)got < n * dbs)
			return vf_err_set(&w->err, EIO,
					  "data ends at byte %llu, but %llu data blocks of %llu bytes "
					  "need %llu bytes",
					  (unsigned long long)(off + (uint64_t)got),
					  (unsigned long long)s->p->data_blocks,
					  (unsigned long long)dbs,
					  (unsigned long long)(s->data_offset + s->p->data_blocks * dbs));
		r = hash_blocks(w, h, buf, b, n);
		if (r)
			return r < 0 ? r : 0;
		b += n;
		atomic_fetch_add(&s->done, n);
	}
	return 0;
}

/*
 * Walk [from, to) of the data: blocks that lie entirely in a hole of a sparse
 * file are all zeros, so they take the precomputed zero digest without being
 * read.
 */
static int leaf_read_range(struct leaf_worker *w, struct hasher *h, uint8_t *buf, uint64_t from,
			   uint64_t to)
{
	struct leaf_shared *s = w->s;
	const uint64_t dbs = s->p->data_block_size;
	bool holes = true;
	uint64_t b = from;

	while (b < to && w->bad == NO_BLOCK) {
		uint64_t end = to;
		int r;

		if (holes) {
			uint64_t off = s->data_offset + b * dbs;
			off_t d = lseek(s->fd, (off_t)off, SEEK_DATA);
			uint64_t first_data;

			if (d < 0 && errno == ENXIO) {
				/* no data from here on: zeros up to the end of the file, not past it */
				uint64_t eof = s->fd_size > s->data_offset ?
					       (s->fd_size - s->data_offset) / dbs : 0;

				first_data = eof < to ? eof : to;
			} else if (d < 0) {
				holes = false;
				continue;
			} else {
				first_data = ((uint64_t)d - s->data_offset) / dbs;
			}
			if (first_data > b) {
				uint64_t stop = first_data < to ? first_data : to;
				uint64_t start = b;

				for (; b < stop; b++)
					if (!leaf_emit(w, b, s->zero_digest))
						return 0;
				atomic_fetch_add(&s->done, stop - start);
				continue;
			}
			d = lseek(s->fd, (off_t)off, SEEK_HOLE);
			if (d < 0) {
				holes = false;
			} else {
				uint64_t hole = (uint64_t)d - s->data_offset;

				end = (hole + dbs - 1) / dbs;
				if (end <= b)
					end = b + 1;
				if (end > to)
					end = to;
			}
		}
		r = leaf_hash_run(w, h, buf, b, end);
		if (r)
			return r;
		b = end;
	}
	return 0;
}


/* Walk the worker's chunk: recorded leaves (opts->leaves) are taken, the rest read. */
static int leaf_range(struct leaf_worker *w, struct hasher *h, uint8_t *buf)
{
	const struct vf_verity_leaves *l = w->s->mode == LEAF_BUILD ? w->s->leaves : NULL;
	uint64_t b = w->first;

	if (!l)
		return leaf_read_range(w, h, buf, w->first, w->last);
	while (b < w->last && w->bad == NO_BLOCK) {
		uint64_t e = b;
		int r;

		if (leaves_have(l, b)) {
			for (; e < w->last && leaves_have(l, e); e++)
				leaf_emit(w, e, leaves_digest(l, e));
			atomic_fetch_add(&w->s->done, e - b);
			b = e;
			continue;
		}
		while (e < w->last && !leaves_have(l, e))
			e++;
		if ((r = leaf_read_range(w, h, buf, b, e)))
			return r;
		b = e;
	}
	return 0;
}

/*
 * Threads claim chunks of whole hash blocks in order, so the work spreads
 * over them wherever the data lies (a new ext4 image holds its data at the
 * start and holes after it). In verify mode a chunk starting past a
 * mismatch already found is not needed: every block below the lowest
 * mismatch is still checked, so the one reported is the first.
 */
static void *leaf_main(void *arg)
{
	struct leaf_worker *w = arg;
	struct leaf_shared *s = w->s;
	struct hasher h = { 0 };
	uint8_t *buf = NULL;
	uint64_t dbs = s->p->data_block_size;
	size_t size = (size_t)(READ_BYTES > dbs ? READ_BYTES : dbs);

	buf = malloc(size);
	if (!buf || hasher_init(&h, s->p)) {
		w->rc = vf_err_set(&w->err, ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		uint64_t first = atomic_fetch_add(&s->next, s->chunk);

		if (first >= s->p->data_blocks || first >= atomic_load(&s->bad))
			break;
		w->first = first;
		w->last = s->p->data_blocks - first < s->chunk ? s->p->data_blocks : first + s->chunk;
		if ((w->rc = leaf_range(w, &h, buf)) || w->bad != NO_BLOCK)
			break;
	}
out:
	hasher_release(&h);
	free(buf);
	atomic_fetch_sub(&s->running, 1);
	return NULL;
}

static void report_progress(const struct vf_verity_opts *opts, struct leaf_shared *s)
{
	const struct timespec tick = { 0, 100 * 1000 * 1000 };

	if (!opts->progress)
		return;
	while (atomic_load(&s->running) > 0) {
		opts->progress(opts->progress_ctx, atomic_load(&s->done), s->p->data_blocks);
		nanosleep(&tick, NULL);
	}
	opts->progress(opts->progress_ctx, atomic_load(&s->done), s->p->data_blocks);
}

/*
 * Hash every data block into level 0 (build) or compare against it (verify).
 * In verify mode *ret_bad receives the first mismatching block or NO_BLOCK.
 */
static int run_leaves(int fd, const struct vf_verity_params *p, const struct vf_verity_geometry *g,
		      const struct vf_verity_opts *opts, uint8_t *tree, enum leaf_mode mode,
		      uint64_t *ret_bad, struct vf_err *err)
{
	struct leaf_shared s = { .fd = fd, .p = p, .g = g, .data_offset = opts->data_offset,
				 .tree = tree, .mode = mode, .leaves = opts->leaves };
	struct leaf_worker *workers = NULL;
	struct hasher h = { 0 };
	uint8_t *zero = NULL;
	unsigned n = opts->threads ? opts->threads : 1, i;
	uint64_t bad = NO_BLOCK;
	int r = 0;

	if (vf_fs_size(fd, &s.fd_size))
		s.fd_size = 0; /* not a file or device: read, never map */
	if (p->data_blocks / MIN_BLOCKS_PER_THREAD < n)
		n = (unsigned)(p->data_blocks / MIN_BLOCKS_PER_THREAD);
	if (n == 0)
		n = 1;
	zero = calloc(1, p->data_block_size);
	workers = calloc(n, sizeof(*workers));
	if (!zero || !workers || hasher_init(&h, p)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (hasher_run(&h, zero, p->data_block_size, s.zero_digest)) {
		r = vf_err_set(err, EIO, "digest computation failed");
		goto out;
	}
	/* chunks of whole hash blocks, so no two threads share one */
	s.chunk = MAP_BYTES / p->data_block_size / g->hashes_per_block * g->hashes_per_block;
	if (s.chunk == 0)
		s.chunk = g->hashes_per_block;
	atomic_store(&s.next, 0);
	atomic_store(&s.bad, NO_BLOCK);
	atomic_store(&s.running, n);
	for (i = 0; i < n; i++) {
		struct leaf_worker *w = &workers[i];

		w->s = &s;
		w->bad = NO_BLOCK;
		if (n == 1) {
			leaf_main(w);
			continue;
		}
		if (pthread_create(&w->tid, NULL, leaf_main, w) != 0) {
			/* run it here instead: correctness does not depend on threads */
			leaf_main(w);
			continue;
		}
		w->started = true;
	}
	report_progress(opts, &s);
	for (i = 0; i < n; i++) {
		if (workers[i].started)
			pthread_join(workers[i].tid, NULL);
	}
	for (i = 0; i < n; i++) {
		if (workers[i].rc && !r) {
			*err = workers[i].err;
			r = workers[i].rc;
		}
		if (workers[i].bad < bad)
			bad = workers[i].bad;
	}
	if (ret_bad)
		*ret_bad = bad;
out:
	hasher_release(&h);
	free(workers);
	free(zero);
	return r;
}

static int alloc_tree(const struct vf_verity_params *p, const struct vf_verity_geometry *g,
		      uint8_t **ret, struct vf_err *err)
{
	uint64_t size;

	if (g->hash_blocks > SIZE_MAX / p->hash_block_size)
		return vf_err_set(err, ENOMEM, "a hash tree of %llu blocks does not fit in memory",
				  (unsigned long long)g->hash_blocks);
	size = g->hash_blocks * p->hash_block_size;
	*ret = calloc(1, size ? (size_t)size : 1);
	if (!*ret)
		return vf_err_set(err, ENOMEM, "out of memory for a hash tree of %llu bytes",
				  (unsigned long long)size);
	return 0;
}

/* Digest of data block 0: the root hash of a single-block tree. */
static int hash_first_block(int fd, const struct vf_verity_params *p,
			    const struct vf_verity_opts *opts, uint8_t *out, struct vf_err *err)
{
	struct hasher h = { 0 };
	uint8_t *buf = malloc(p->data_block_size);
	int64_t got;
	int r = 0;

	if (!buf || hasher_init(&h, p)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	got = vf_fs_pread_full(fd, buf, p->data_block_size, opts->data_offset);
	if (got < 0) {
		r = vf_err_sys(err, (int)-got, "cannot read data block 0");
		goto out;
	}
	if (got < (int64_t)p->data_block_size) {
		r = vf_err_set(err, EIO, "data holds %lld bytes, less than one data block of %u",
			       (long long)got, p->data_block_size);
		goto out;
	}
	if (hasher_run(&h, buf, p->data_block_size, out))
		r = vf_err_set(err, EIO, "digest computation failed");
out:
	hasher_release(&h);
	free(buf);
	return r;
}

int vf_verity_tree_build(int data_fd, const struct vf_verity_params *p,
			 const struct vf_verity_opts *opts, uint8_t **ret_tree,
			 struct vf_verity_result *res, struct vf_err *err)
{
	static const struct vf_verity_opts no_opts;
	struct vf_verity_geometry g;
	struct hasher h = { 0 };
	uint8_t *tree = NULL;
	int r;

	if (!opts)
		opts = &no_opts;
	if (opts->leaves && !leaves_match(opts->leaves, p))
		return vf_err_set(err, EINVAL,
				  "the leaf digests given were made with other parameters");
	if ((r = vf_verity_geometry_build(p, &g, err)))
		return r;
	if ((r = alloc_tree(p, &g, &tree, err)))
		return r;
	if (hasher_init(&h, p)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (g.levels == 0) {
		r = hash_first_block(data_fd, p, opts, res->root, err);
		if (r)
			goto out;
	} else {
		r = run_leaves(data_fd, p, &g, opts, tree, LEAF_BUILD, NULL, err);
		if (r)
			goto out;
		for (unsigned lvl = 1; lvl < g.levels; lvl++) {
			for (uint64_t j = 0; j < g.level_blocks[lvl - 1]; j++) {
				if (hasher_run(&h, tree_block(tree, &g, p, lvl - 1, j), p->hash_block_size,
					       tree_slot(tree, &g, p, lvl, j))) {
					r = vf_err_set(err, EIO, "digest computation failed");
					goto out;
				}
			}
		}
		if (hasher_run(&h, tree_block(tree, &g, p, g.levels - 1, 0), p->hash_block_size,
			       res->root)) {
			r = vf_err_set(err, EIO, "digest computation failed");
			goto out;
		}
	}
	res->root_size = g.digest_size;
	res->geometry = g;
	*ret_tree = tree;
	tree = NULL;
out:
	hasher_release(&h);
	free(tree);
	return r;
}

int vf_verity_tree_write(int hash_fd, const struct vf_verity_params *p,
			 const struct vf_verity_geometry *g, const uint8_t *tree,
			 struct vf_err *err)
{
	uint64_t tree_off = g->hash_start_block * p->hash_block_size;
	struct stat st;
	int r;

	/* Like veritysetup, write the superblock and the tree and nothing else:
	 * bytes between them keep what the file held (zeros in a new file). */
	if (p->superblock) {
		uint8_t sb[VF_VERITY_SB_SIZE];

		vf_verity_sb_encode(p, sb);
		r = vf_fs_pwrite_full(hash_fd, sb, sizeof(sb), p->hash_offset);
		if (r)
			return vf_err_sys(err, -r, "cannot write the superblock at byte %llu",
					  (unsigned long long)p->hash_offset);
	}
	if (g->levels == 0) {
		/* no tree: the file still spans the superblock's block */
		if (fstat(hash_fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size < g->hash_end && ftruncate(hash_fd, (off_t)g->hash_end) < 0)
			return vf_err_sys(err, errno, "cannot extend the hash file to %llu bytes",
					  (unsigned long long)g->hash_end);
		return 0;
	}
	r = vf_fs_pwrite_full(hash_fd, tree, (size_t)(g->hash_blocks * p->hash_block_size), tree_off);
	if (r)
		return vf_err_sys(err, -r, "cannot write the hash tree at byte %llu",
				  (unsigned long long)tree_off);
	return 0;
}

/* Byte offset of the first non-zero padding in hash block j of level lvl, or -1. */
static int64_t padding_error(uint8_t *tree, const struct vf_verity_params *p,
			     const struct vf_verity_geometry *g, unsigned lvl, uint64_t j)
{
	uint64_t entries = lvl == 0 ? p->data_blocks : g->level_blocks[lvl - 1];
	uint64_t used = entries - j * g->hashes_per_block;
	const uint8_t *blk = tree_block(tree, g, p, lvl, j);
	size_t i, k;

	if (used > g->hashes_per_block)
		used = g->hashes_per_block;
	for (i = 0; i < used; i++)
		for (k = g->digest_size; k < g->digest_stride; k++)
			if (blk[i * g->digest_stride + k])
				return (int64_t)(i * g->digest_stride + k);
	for (k = (size_t)used * g->digest_stride; k < p->hash_block_size; k++)
		if (blk[k])
			return (int64_t)k;
	return -1;
}

static int fail_hash(struct vf_verity_failure *f, enum vf_verity_failure_kind kind,
		     const struct vf_verity_params *p, const struct vf_verity_geometry *g,
		     unsigned lvl, uint64_t j, int64_t byte, struct vf_err *err)
{
	f->kind = kind;
	f->level = lvl;
	f->block = g->level_start[lvl] + j;
	f->offset = f->block * p->hash_block_size + (uint64_t)(byte > 0 ? byte : 0);
	if (kind == VF_VERITY_FAIL_PADDING)
		return vf_err_set(err, VF_EVERIFY,
				  "hash block %llu (level %u) has non-zero padding at byte %llu",
				  (unsigned long long)f->block, lvl, (unsigned long long)f->offset);
	return vf_err_set(err, VF_EVERIFY,
			  "hash block %llu (level %u, byte %llu) does not match its digest in level %u",
			  (unsigned long long)f->block, lvl,
			  (unsigned long long)(f->block * p->hash_block_size), lvl + 1);
}

int vf_verity_tree_verify(int data_fd, int hash_fd, const struct vf_verity_params *p,
			  const struct vf_verity_opts *opts, const uint8_t *root, size_t root_size,
			  struct vf_verity_failure *ret_fail, struct vf_err *err)
{
	static const struct vf_verity_opts no_opts;
	struct vf_verity_failure fail = { .kind = VF_VERITY_FAIL_NONE };
	struct vf_verity_geometry g;
	struct hasher h = { 0 };
	uint8_t digest[VF_DIGEST_MAX];
	char want[2 * VF_DIGEST_MAX + 1], got[2 * VF_DIGEST_MAX + 1];
	uint8_t *tree = NULL;
	uint64_t tree_bytes, bad = NO_BLOCK;
	int64_t n, pad;
	int r;

	if (!opts)
		opts = &no_opts;
	if ((r = vf_verity_geometry_build(p, &g, err)))
		return r;
	if (root_size != g.digest_size)
		return vf_err_set(err, EINVAL, "root hash is %zu bytes, but %s gives %zu",
				  root_size, p->hash_name, g.digest_size);
	if ((r = alloc_tree(p, &g, &tree, err)))
		return r;
	if (hasher_init(&h, p)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	tree_bytes = g.hash_blocks * p->hash_block_size;
	n = vf_fs_pread_full(hash_fd, tree, (size_t)tree_bytes, g.hash_start_block * p->hash_block_size);
	if (n < 0) {
		r = vf_err_sys(err, (int)-n, "cannot read the hash tree");
		goto out;
	}
	if ((uint64_t)n < tree_bytes) {
		fail.kind = VF_VERITY_FAIL_TRUNCATED;
		fail.block = g.hash_start_block + (uint64_t)n / p->hash_block_size;
		fail.offset = g.hash_start_block * p->hash_block_size + (uint64_t)n;
		r = vf_err_set(err, VF_EVERIFY,
			       "hash data ends at byte %llu, but the tree ends at byte %llu",
			       (unsigned long long)fail.offset, (unsigned long long)g.hash_end);
		goto out;
	}
	vf_hex_format(root, root_size, want);
	if (g.levels == 0) {
		if ((r = hash_first_block(data_fd, p, opts, digest, err)))
			goto out;
		if (memcmp(digest, root, root_size) != 0) {
			fail.kind = VF_VERITY_FAIL_DATA_BLOCK;
			vf_hex_format(digest, root_size, got);
			r = vf_err_set(err, VF_EVERIFY,
				       "data block 0 (byte 0) does not match the root hash: "
				       "expected %s, got %s", want, got);
		}
		goto out;
	}
	if (hasher_run(&h, tree_block(tree, &g, p, g.levels - 1, 0), p->hash_block_size, digest)) {
		r = vf_err_set(err, EIO, "digest computation failed");
		goto out;
	}
	if (memcmp(digest, root, root_size) != 0) {
		fail.kind = VF_VERITY_FAIL_ROOT;
		fail.level = g.levels - 1;
		fail.block = g.hash_start_block;
		fail.offset = g.hash_start_block * p->hash_block_size;
		vf_hex_format(digest, root_size, got);
		r = vf_err_set(err, VF_EVERIFY,
			       "root hash mismatch: expected %s, the top hash block (block %llu) gives %s",
			       want, (unsigned long long)fail.block, got);
		goto out;
	}
	if ((pad = padding_error(tree, p, &g, g.levels - 1, 0)) >= 0) {
		r = fail_hash(&fail, VF_VERITY_FAIL_PADDING, p, &g, g.levels - 1, 0, pad, err);
		goto out;
	}
	for (unsigned lvl = g.levels - 1; lvl >= 1; lvl--) {
		for (uint64_t j = 0; j < g.level_blocks[lvl - 1]; j++) {
			if (hasher_run(&h, tree_block(tree, &g, p, lvl - 1, j), p->hash_block_size, digest)) {
				r = vf_err_set(err, EIO, "digest computation failed");
				goto out;
			}
			if (memcmp(digest, tree_slot(tree, &g, p, lvl, j), g.digest_size) != 0) {
				r = fail_hash(&fail, VF_VERITY_FAIL_HASH_BLOCK, p, &g, lvl - 1, j, 0, err);
				goto out;
			}
			if ((pad = padding_error(tree, p, &g, lvl - 1, j)) >= 0) {
				r = fail_hash(&fail, VF_VERITY_FAIL_PADDING, p, &g, lvl - 1, j, pad, err);
				goto out;
			}
		}
	}
	r = run_leaves(data_fd, p, &g, opts, tree, LEAF_VERIFY, &bad, err);
	if (r)
		goto out;
	if (bad != NO_BLOCK) {
		fail.kind = VF_VERITY_FAIL_DATA_BLOCK;
		fail.block = bad;
		fail.offset = opts->data_offset + bad * p->data_block_size;
		r = vf_err_set(err, VF_EVERIFY,
			       "data block %llu (byte %llu) does not match its digest in hash block %llu",
			       (unsigned long long)bad, (unsigned long long)fail.offset,
			       (unsigned long long)(g.level_start[0] + bad / g.hashes_per_block));
	}
out:
	if (ret_fail)
		*ret_fail = fail;
	hasher_release(&h);
	free(tree);
	return r;
}
