/*
 * vf_verity_tree_build / _write / _verify on real files: known answers from
 * veritysetup, an independent tree computed here with OpenSSL's EVP API,
 * thread-count independence, sparse files and every kind of verify failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "builder/verity/verity.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

/* ---- helpers ------------------------------------------------------------ */

/* An anonymous temporary file (already unlinked). */
static int tmp_fd(void)
{
	char path[] = "/tmp/vf-test-tree.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	return fd;
}

static void pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
}

/* `bytes` of vf-testdata output for `seed` (vf_test_data) at offset `off` of fd. */
static void write_data(int fd, uint64_t seed, uint64_t bytes, uint64_t off)
{
	uint8_t *buf = malloc(bytes ? (size_t)bytes : 1);

	assert_non_null(buf);
	vf_test_data(seed, buf, (size_t)bytes);
	pwrite_all(fd, buf, (size_t)bytes, off);
	free(buf);
}

static int data_file(uint64_t seed, uint64_t bytes)
{
	int fd = tmp_fd();

	write_data(fd, seed, bytes, 0);
	return fd;
}

static uint8_t *read_all(int fd, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	return buf;
}

static void set_params(struct vf_verity_params *p, const char *hash, uint32_t type,
		       uint32_t dbs, uint32_t hbs, uint64_t blocks, uint16_t salt_size)
{
	vf_verity_params_init(p);
	snprintf(p->hash_name, sizeof(p->hash_name), "%s", hash);
	p->hash_type = type;
	p->data_block_size = dbs;
	p->hash_block_size = hbs;
	p->data_blocks = blocks;
	p->superblock = false;
	for (uint16_t i = 0; i < salt_size; i++)
		p->salt[i] = (uint8_t)(0x5a + 3 * i);
	p->salt_size = salt_size;
}

static void build(int dfd, const struct vf_verity_params *p, unsigned threads, uint64_t data_offset,
		  uint8_t **tree, struct vf_verity_result *res)
{
	struct vf_verity_opts opts = { .threads = threads, .data_offset = data_offset };
	struct vf_err err = { 0 };
	int r;

	*tree = NULL;
	r = vf_verity_tree_build(dfd, p, &opts, tree, res, &err);
	if (r)
		print_error("build failed: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_non_null(*tree);
}

static int hash_file(const struct vf_verity_params *p, const struct vf_verity_result *res,
		     const uint8_t *tree)
{
	struct vf_err err = { 0 };
	int fd = tmp_fd();
	int r = vf_verity_tree_write(fd, p, &res->geometry, tree, &err);

	if (r)
		print_error("write failed: %s\n", err.msg);
	assert_int_equal(r, 0);
	return fd;
}

static int verify(int dfd, int hfd, const struct vf_verity_params *p, unsigned threads,
		  uint64_t data_offset, const uint8_t *root, size_t root_size,
		  struct vf_verity_failure *fail, struct vf_err *err)
{
	struct vf_verity_opts opts = { .threads = threads, .data_offset = data_offset };

	memset(fail, 0x77, sizeof(*fail));
	vf_err_clear(err);
	return vf_verity_tree_verify(dfd, hfd, p, &opts, root, root_size, fail, err);
}

static void verify_ok(int dfd, int hfd, const struct vf_verity_params *p, unsigned threads,
		      const struct vf_verity_result *res)
{
	struct vf_verity_failure fail;
	struct vf_err err;
	int r = verify(dfd, hfd, p, threads, 0, res->root, res->root_size, &fail, &err);

	if (r)
		print_error("verify failed: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_NONE);
}

/* out = H(a || b || c) with OpenSSL directly. */
static size_t evp3(const char *name, const void *a, size_t alen, const void *b, size_t blen,
		   const void *c, size_t clen, uint8_t *out)
{
	const EVP_MD *md = EVP_get_digestbyname(name);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;

	assert_non_null(md);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, md, NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, a, alen), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, b, blen), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, c, clen), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, &n), 1);
	EVP_MD_CTX_free(ctx);
	return n;
}

/* The verity digest of one block: salt first for format 1, last for format 0. */
static size_t vdigest(const struct vf_verity_params *p, const void *block, size_t len, uint8_t *out)
{
	if (p->hash_type == 1)
		return evp3(p->hash_name, p->salt, p->salt_size, block, len, "", 0, out);
	return evp3(p->hash_name, block, len, p->salt, p->salt_size, "", 0, out);
}

/*
 * An independent verity tree of an in-memory data image, written from the
 * format description alone: returns the tree (top level first, caller frees)
 * and its size in *ret_size, and the root in `root`.
 */
static uint8_t *ref_tree(const uint8_t *data, const struct vf_verity_params *p, size_t *ret_size,
			 uint8_t *root)
{
	const size_t hbs = p->hash_block_size;
	uint8_t *levels[VF_VERITY_MAX_LEVELS];
	size_t level_bytes[VF_VERITY_MAX_LEVELS];
	size_t ds, stride, hpb = 1, nlev = 0, total = 0, pos = 0;
	const uint8_t *in = data;
	size_t in_bs = p->data_block_size;
	uint64_t n = p->data_blocks;
	uint8_t *tree;

	ds = (size_t)EVP_MD_size(EVP_get_digestbyname(p->hash_name));
	for (stride = 1; stride < ds; stride <<= 1)
		;
	if (p->hash_type == 0)
		stride = ds;
	while (hpb * 2 <= hbs / ds)
		hpb *= 2;
	if (n == 1) {
		vdigest(p, data, in_bs, root);
		*ret_size = 0;
		return malloc(1);
	}
	for (;;) {
		size_t blocks = (size_t)((n + hpb - 1) / hpb);
		uint8_t *buf = calloc(blocks, hbs);

		assert_non_null(buf);
		for (uint64_t i = 0; i < n; i++)
			vdigest(p, in + i * in_bs, in_bs, buf + (i / hpb) * hbs + (i % hpb) * stride);
		levels[nlev] = buf;
		level_bytes[nlev++] = blocks * hbs;
		total += blocks * hbs;
		if (blocks == 1)
			break;
		n = blocks;
		in = buf;
		in_bs = hbs;
	}
	vdigest(p, levels[nlev - 1], hbs, root);
	tree = malloc(total);
	assert_non_null(tree);
	for (size_t l = nlev; l-- > 0;) {
		memcpy(tree + pos, levels[l], level_bytes[l]);
		pos += level_bytes[l];
		free(levels[l]);
	}
	*ret_size = total;
	return tree;
}

static void hex_decode(const char *hex, uint8_t *out, size_t want)
{
	size_t len = 0;

	assert_int_equal(vf_hex_parse(hex, out, want, &len), 0);
	assert_int_equal(len, want);
}

/* ---- known answers from veritysetup --------------------------------------- */

/*
 * Generated with cryptsetup's veritysetup from `vf-testdata SEED BYTES`
 * (tests/tools), e.g. for the first row:
 *   vf-testdata 1 1228800 >d; veritysetup format --no-superblock --salt=0001..1f d h
 * `file` is the sha256 of the hash file veritysetup wrote.
 */
struct kat {
	uint64_t seed;      /* 0: all-zero data */
	uint64_t blocks;
	uint32_t dbs, hbs;
	const char *hash;
	uint32_t type;
	const char *salt;
	bool superblock;
	const char *root;
	const char *file;
	uint64_t file_size;
};

#define SALT32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static const struct kat kats[] = {
	{ 1, 300, 4096, 4096, "sha256", 1, SALT32, false,
	  "8814acc5af3e9e22e71ba1bbe2bdd408c2ee4b2da82d3f3f67ebe6206e507e9a",
	  "2e1ee3d6d19e0cbba9c1a62893d05d44af24a60f79bf45bdadabcaa458e255d5", 16384 },
	/* the same with a superblock and --uuid=01234567-89ab-4cde-8f01-23456789abcd */
	{ 1, 300, 4096, 4096, "sha256", 1, SALT32, true,
	  "8814acc5af3e9e22e71ba1bbe2bdd408c2ee4b2da82d3f3f67ebe6206e507e9a",
	  "74fbca8cff169370c47b4618dd37c8c85a8fe60203620b9cf0ffd46f2a39e39e", 20480 },
	{ 1, 300, 4096, 4096, "sha256", 1, "-", false,
	  "0d45cff56b59b804567c59d96fc38d4d4c73d37488e0cec7f48a3cf8e97b330f",
	  "0d4bd01b9e232a7520a2c8e50609c9e3382c75820c6938d6ad0a5f88569a0e07", 16384 },
	{ 2, 300, 4096, 4096, "sha1", 0, "a5a5a5a5", false,
	  "94edf33d91ec012458a40809577dd6deed8c6df0",
	  "3f5c7a23a5c8d6fe9a6f1fc38f4e87fa6813ce39cf272d7de434400985fa7422", 16384 },
	{ 2, 300, 4096, 4096, "sha1", 1, "a5a5a5a5", false,
	  "d65825123bbcfbce9fa34987d9e4896b9cbaef4f",
	  "69f5971b23a1812965e682ea01c55ff6d4e3e6ea618b5062dfbf7f5ea371bfb0", 16384 },
	/* four levels: 600 -> 75 -> 10 -> 2 -> 1 */
	{ 3, 600, 512, 512, "sha512", 1, SALT32, false,
	  "a05f8275025c13cf18ebf1cdd6ed840f793a2139a15ffe598ab71eee44be5625"
	  "da985fb868c67df13bcdde0111bc589245c8bdebe9b4fdc33beccbcb77f7da91",
	  "3797dd34136f2e271c75fe115aecc71f8ff93f9093bc4fde373bf6c3f68251bb", 45056 },
	{ 4, 1, 4096, 4096, "sha256", 1, SALT32, false,
	  "e4ab12e4bea90e9899db75d8d3854663840248f566f0bb7922da8d5e0c4311b8", NULL, 0 },
	{ 0, 2, 4096, 4096, "sha256", 1, SALT32, true,
	  "a14511ce3b66ac548ab3efb1eff05e0aa6e9145985f0dc6c4699a9c983ff4b2b", NULL, 8192 },
};

static void test_known_answers(void **state)
{
	static const uint8_t uuid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4c, 0xde,
					  0x8f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd };

	(void)state;
	for (size_t k = 0; k < sizeof(kats) / sizeof(kats[0]); k++) {
		const struct kat *t = &kats[k];
		struct vf_verity_params p;
		struct vf_verity_result res;
		struct vf_err err = { 0 };
		uint8_t root[VF_DIGEST_MAX], file_hash[32], want_file[32];
		uint8_t *tree, *hash;
		struct stat st;
		int dfd, hfd;

		set_params(&p, t->hash, t->type, t->dbs, t->hbs, t->blocks, 0);
		assert_int_equal(vf_verity_salt_parse(t->salt, &p, &err), 0);
		p.superblock = t->superblock;
		memcpy(p.uuid, uuid, 16);
		if (t->seed) {
			dfd = data_file(t->seed, t->blocks * t->dbs);
		} else {
			dfd = tmp_fd();
			assert_int_equal(ftruncate(dfd, (off_t)(t->blocks * t->dbs)), 0);
		}
		build(dfd, &p, 1, 0, &tree, &res);
		hex_decode(t->root, root, res.root_size);
		assert_memory_equal(res.root, root, res.root_size);

		hfd = hash_file(&p, &res, tree);
		assert_int_equal(fstat(hfd, &st), 0);
		assert_int_equal(st.st_size, t->file_size);
		assert_int_equal(res.geometry.hash_end, t->file_size);
		if (t->file) {
			hash = read_all(hfd, 0, (size_t)st.st_size);
			evp3("sha256", hash, (size_t)st.st_size, "", 0, "", 0, file_hash);
			hex_decode(t->file, want_file, 32);
			assert_memory_equal(file_hash, want_file, 32);
			free(hash);
		}
		verify_ok(dfd, hfd, &p, 1, &res);
		free(tree);
		close(hfd);
		close(dfd);
	}
}

/* ---- against an independent tree ----------------------------------------- */

static void check_against_reference(const char *hash, uint32_t type, uint32_t dbs, uint32_t hbs,
				    uint64_t blocks, uint16_t salt_size, uint64_t seed)
{
	struct vf_verity_params p;
	struct vf_verity_result res;
	uint8_t root[VF_DIGEST_MAX];
	uint8_t *data, *tree, *want;
	size_t want_size;
	int dfd;

	set_params(&p, hash, type, dbs, hbs, blocks, salt_size);
	dfd = data_file(seed, blocks * dbs);
	data = read_all(dfd, 0, (size_t)(blocks * dbs));
	want = ref_tree(data, &p, &want_size, root);
	build(dfd, &p, 2, 0, &tree, &res);
	assert_int_equal(res.root_size, (size_t)EVP_MD_size(EVP_get_digestbyname(hash)));
	assert_memory_equal(res.root, root, res.root_size);
	assert_int_equal(res.geometry.hash_blocks * hbs, want_size);
	if (want_size)
		assert_memory_equal(tree, want, want_size);
	free(want);
	free(tree);
	free(data);
	close(dfd);
}

static void test_reference_tree(void **state)
{
	(void)state;
	check_against_reference("sha256", 1, 4096, 4096, 300, 32, 11);
	check_against_reference("sha256", 0, 4096, 4096, 300, 32, 12);
	check_against_reference("sha256", 1, 4096, 4096, 129, 0, 13);
	check_against_reference("sha256", 1, 512, 4096, 2500, 256, 14);  /* 2 threads really run */
	check_against_reference("sha1", 1, 4096, 4096, 200, 7, 15);
	check_against_reference("sha1", 0, 4096, 4096, 200, 7, 16);
	check_against_reference("sha1", 0, 512, 512, 700, 3, 17);
	check_against_reference("sha512", 1, 1024, 512, 100, 32, 18);
	check_against_reference("sha512", 0, 4096, 8192, 300, 1, 19);
	check_against_reference("sha256", 1, 65536, 65536, 5, 32, 20);
	check_against_reference("sha256", 1, 4096, 512, 17, 32, 21);
}

/* ---- single and two blocks, by hand ---------------------------------------- */

static void test_single_block(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint8_t want[32], *tree, *block;
	int dfd, hfd, r;

	(void)state;
	for (uint32_t type = 0; type <= 1; type++) {
		set_params(&p, "sha256", type, 4096, 4096, 1, 32);
		dfd = data_file(31, 4096);
		block = read_all(dfd, 0, 4096);
		if (type == 1)
			evp3("sha256", p.salt, 32, block, 4096, "", 0, want);
		else
			evp3("sha256", block, 4096, p.salt, 32, "", 0, want);
		build(dfd, &p, 1, 0, &tree, &res);
		assert_int_equal(res.root_size, 32);
		assert_memory_equal(res.root, want, 32);
		assert_int_equal(res.geometry.levels, 0);
		assert_int_equal(res.geometry.hash_blocks, 0);

		hfd = hash_file(&p, &res, tree);
		verify_ok(dfd, hfd, &p, 1, &res);
		vf_test_flip_fd(dfd, 4095, 0xff);
		r = verify(dfd, hfd, &p, 1, 0, res.root, 32, &fail, &err);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(fail.kind, VF_VERITY_FAIL_DATA_BLOCK);
		assert_int_equal(fail.block, 0);
		vf_test_assert_contains(err.msg, "data block 0 (byte 0) does not match the root hash");
		free(block);
		free(tree);
		close(hfd);
		close(dfd);
	}
}

static void test_two_blocks(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_result res;
	uint8_t d[2][32], top[4096], want[32], *tree, *data;
	int dfd;

	(void)state;
	set_params(&p, "sha256", 1, 4096, 4096, 2, 32);
	dfd = data_file(32, 8192);
	data = read_all(dfd, 0, 8192);
	evp3("sha256", p.salt, 32, data, 4096, "", 0, d[0]);
	evp3("sha256", p.salt, 32, data + 4096, 4096, "", 0, d[1]);
	memset(top, 0, sizeof(top));
	memcpy(top, d[0], 32);
	memcpy(top + 32, d[1], 32);
	evp3("sha256", p.salt, 32, top, sizeof(top), "", 0, want);

	build(dfd, &p, 1, 0, &tree, &res);
	assert_memory_equal(res.root, want, 32);
	assert_int_equal(res.geometry.hash_blocks, 1);
	assert_memory_equal(tree, top, sizeof(top));
	free(tree);
	free(data);
	close(dfd);
}

/* ---- thread-count independence --------------------------------------------- */

struct progress {
	unsigned calls;
	uint64_t last_done, total;
	bool monotonic;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *pr = ctx;

	if (pr->calls && done < pr->last_done)
		pr->monotonic = false;
	pr->calls++;
	pr->last_done = done;
	pr->total = total;
}

static void check_threads(uint32_t dbs, uint64_t blocks, const unsigned *threads, size_t nthreads)
{
	struct vf_verity_params p;
	struct vf_verity_result first, res;
	uint8_t *first_tree, *tree;
	size_t tree_bytes;
	int dfd, hfd;

	set_params(&p, "sha256", 1, dbs, 4096, blocks, 32);
	dfd = data_file(40 + dbs, blocks * dbs);
	build(dfd, &p, threads[0], 0, &first_tree, &first);
	tree_bytes = (size_t)(first.geometry.hash_blocks * 4096);
	for (size_t i = 1; i < nthreads; i++) {
		build(dfd, &p, threads[i], 0, &tree, &res);
		assert_memory_equal(res.root, first.root, 32);
		assert_memory_equal(tree, first_tree, tree_bytes);
		free(tree);
	}
	hfd = hash_file(&p, &first, first_tree);
	for (size_t i = 0; i < nthreads; i++)
		verify_ok(dfd, hfd, &p, threads[i], &first);
	free(first_tree);
	close(hfd);
	close(dfd);
}

static void test_threads(void **state)
{
	static const unsigned threads[] = { 1, 2, 3, 7, 0 };

	(void)state;
	/* 10000 blocks: 7 workers of 1536 blocks and a short last one */
	check_threads(512, 10000, threads, sizeof(threads) / sizeof(threads[0]));
	/* a block count that is not a multiple of hashes per block */
	check_threads(4096, 4100, threads, 3);
}

static void test_progress(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct progress pr = { .monotonic = true };
	struct vf_verity_opts opts = { .threads = 3, .progress = on_progress, .progress_ctx = &pr };
	struct vf_err err = { 0 };
	uint8_t *tree = NULL;
	int dfd;

	(void)state;
	set_params(&p, "sha256", 1, 512, 4096, 5000, 0);
	dfd = data_file(50, 5000 * 512);
	assert_int_equal(vf_verity_tree_build(dfd, &p, &opts, &tree, &res, &err), 0);
	assert_true(pr.calls >= 1);
	assert_true(pr.monotonic);
	assert_int_equal(pr.last_done, 5000);
	assert_int_equal(pr.total, 5000);
	free(tree);
	close(dfd);
}

/* ---- sparse files ----------------------------------------------------------- */

struct chunk {
	uint64_t off, len, seed;
};

static const struct chunk chunks[] = {
	{ 0, 4096, 61 },
	{ 5 * MIB + 100, 10000, 62 },         /* unaligned, across block boundaries */
	{ 24 * MIB - 512, 1024, 67 },         /* page-aligned in the file when data_offset is 12800 */
	{ 33 * MIB, MIB, 63 },
	{ 40 * MIB + 4096 * 7 + 8, 8, 64 },    /* a few bytes inside one block */
	{ 64 * MIB - 4096, 4096, 65 },        /* the last block */
};

/* The data image: written sparsely, or as one fully written file. */
static int image_file(bool sparse, uint64_t prefix)
{
	const uint64_t size = 64 * MIB;
	int fd = tmp_fd();

	if (prefix)
		write_data(fd, 66, prefix, 0);
	if (sparse) {
		assert_int_equal(ftruncate(fd, (off_t)(prefix + size)), 0);
		for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
			write_data(fd, chunks[i].seed, chunks[i].len, prefix + chunks[i].off);
	} else {
		uint8_t *img = calloc(1, size);

		assert_non_null(img);
		for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
			vf_test_data(chunks[i].seed, img + chunks[i].off, chunks[i].len);
		pwrite_all(fd, img, size, prefix);
		free(img);
	}
	return fd;
}

static void test_sparse(void **state)
{
	static const unsigned threads[] = { 1, 2, 5 };
	struct vf_verity_params p;
	struct vf_verity_result full, res;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint8_t *full_tree, *tree;
	struct stat st;
	int full_fd, sparse_fd, hfd, r;

	(void)state;
	set_params(&p, "sha256", 1, 4096, 4096, 16384, 32);
	full_fd = image_file(false, 0);
	sparse_fd = image_file(true, 0);
	assert_int_equal(fstat(sparse_fd, &st), 0);
	if ((uint64_t)st.st_blocks * 512 > 16 * MIB) {
		close(full_fd);
		close(sparse_fd);
		skip(); /* the file system in /tmp does not make holes */
	}

	build(full_fd, &p, 1, 0, &full_tree, &full);
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		build(sparse_fd, &p, threads[i], 0, &tree, &res);
		assert_memory_equal(res.root, full.root, 32);
		assert_memory_equal(tree, full_tree, (size_t)(full.geometry.hash_blocks * 4096));
		free(tree);
	}

	/* the tree of the full file verifies the sparse one */
	hfd = hash_file(&p, &full, full_tree);
	verify_ok(sparse_fd, hfd, &p, 2, &full);

	/* a byte written into a hole is found, it is not taken for zeros */
	vf_test_flip_fd(sparse_fd, 20 * MIB + 4096 * 3 + 17, 0xff);
	r = verify(sparse_fd, hfd, &p, 2, 0, full.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_DATA_BLOCK);
	assert_int_equal(fail.block, 20 * 256 + 3);

	/*
	 * Threads claim 16 MiB chunks: with a mismatch in a later chunk too
	 * (and one in the chunk after the first bad one, which a thread may
	 * have claimed first), the one reported is still the first
	 */
	vf_test_flip_fd(sparse_fd, 50 * MIB + 9, 0x01);
	vf_test_flip_fd(sparse_fd, 40 * MIB + 4096 * 7 + 8, 0x80);
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		r = verify(sparse_fd, hfd, &p, threads[i], 0, full.root, 32, &fail, &err);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(fail.block, 20 * 256 + 3);
	}
	vf_test_flip_fd(sparse_fd, 20 * MIB + 4096 * 3 + 17, 0xff);
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		r = verify(sparse_fd, hfd, &p, threads[i], 0, full.root, 32, &fail, &err);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(fail.block, 40 * 256 + 7);
	}

	free(full_tree);
	close(hfd);
	close(full_fd);
	close(sparse_fd);
}

/* Data that starts at an offset in its file, sparse or not, gives the same tree. */
static void test_data_offset(void **state)
{
	const uint64_t prefix = 12800; /* not a multiple of the block or page size */
	struct vf_verity_params p;
	struct vf_verity_result full, res;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint8_t *full_tree, *tree;
	int full_fd, fd, hfd, r;

	(void)state;
	set_params(&p, "sha256", 1, 4096, 4096, 16384, 32);
	full_fd = image_file(false, 0);
	build(full_fd, &p, 1, 0, &full_tree, &full);
	for (int sparse = 0; sparse <= 1; sparse++) {
		fd = image_file(sparse, prefix);
		build(fd, &p, 2, prefix, &tree, &res);
		assert_memory_equal(res.root, full.root, 32);
		assert_memory_equal(tree, full_tree, (size_t)(full.geometry.hash_blocks * 4096));

		hfd = hash_file(&p, &res, tree);
		r = verify(fd, hfd, &p, 2, prefix, res.root, 32, &fail, &err);
		assert_int_equal(r, 0);
		vf_test_flip_fd(fd, prefix + 1000 * 4096 + 5, 0xff);
		r = verify(fd, hfd, &p, 2, prefix, res.root, 32, &fail, &err);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(fail.kind, VF_VERITY_FAIL_DATA_BLOCK);
		assert_int_equal(fail.block, 1000);
		free(tree);
		close(hfd);
		close(fd);
	}
	free(full_tree);
	close(full_fd);
}

/* ---- verify failures ---------------------------------------------------------- */

/* 3000 blocks with a superblock: top hash block 1, leaves in blocks 2..25. */
struct fixture {
	struct vf_verity_params p;
	struct vf_verity_result res;
	uint8_t *tree;
	int dfd, hfd;
};

static void fixture_open(struct fixture *f, const char *hash, uint32_t type, uint64_t blocks,
			 uint64_t seed)
{
	set_params(&f->p, hash, type, 4096, 4096, blocks, 32);
	f->p.superblock = true;
	f->dfd = data_file(seed, blocks * 4096);
	build(f->dfd, &f->p, 2, 0, &f->tree, &f->res);
	f->hfd = hash_file(&f->p, &f->res, f->tree);
}

static void fixture_close(struct fixture *f)
{
	free(f->tree);
	close(f->hfd);
	close(f->dfd);
}

static void test_data_block_corruption(void **state)
{
	static const uint64_t bad[] = { 0, 1500, 2999 };
	struct fixture f;
	struct vf_verity_failure fail;
	struct vf_err err;
	int r;

	(void)state;
	fixture_open(&f, "sha256", 1, 3000, 70);
	verify_ok(f.dfd, f.hfd, &f.p, 2, &f.res);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t off = bad[i] * 4096 + 123;

		vf_test_flip_fd(f.dfd, off, 0xff);
		r = verify(f.dfd, f.hfd, &f.p, 2, 0, f.res.root, 32, &fail, &err);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(err.code, -EBADMSG);
		assert_int_equal(fail.kind, VF_VERITY_FAIL_DATA_BLOCK);
		assert_int_equal(fail.block, bad[i]);
		assert_int_equal(fail.offset, bad[i] * 4096);
		vf_test_assert_containsf(err.msg, "data block %llu (byte %llu) does not match",
					 (unsigned long long)bad[i], (unsigned long long)(bad[i] * 4096));
		vf_test_assert_containsf(err.msg, "in hash block %llu",
					 (unsigned long long)(2 + bad[i] / 128));
		vf_test_flip_fd(f.dfd, off, 0xff);
		verify_ok(f.dfd, f.hfd, &f.p, 2, &f.res);
	}

	/* two bad blocks in different workers: the first one is reported */
	vf_test_flip_fd(f.dfd, 2900 * 4096, 0xff);
	vf_test_flip_fd(f.dfd, 100 * 4096 + 4095, 0xff);
	for (unsigned threads = 1; threads <= 2; threads++) {
		r = verify(f.dfd, f.hfd, &f.p, threads, 0, f.res.root, 32, &fail, &err);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(fail.kind, VF_VERITY_FAIL_DATA_BLOCK);
		assert_int_equal(fail.block, 100);
	}
	fixture_close(&f);
}

static void test_hash_block_corruption(void **state)
{
	struct fixture f;
	struct vf_verity_failure fail;
	struct vf_err err;
	int r;

	(void)state;
	fixture_open(&f, "sha256", 1, 3000, 71);
	assert_int_equal(f.res.geometry.levels, 2);
	assert_int_equal(f.res.geometry.level_start[1], 1);
	assert_int_equal(f.res.geometry.level_start[0], 2);

	/* leaf block 5 is hash block 7 */
	vf_test_flip_fd(f.hfd, 7 * 4096 + 10, 0xff);
	r = verify(f.dfd, f.hfd, &f.p, 2, 0, f.res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_HASH_BLOCK);
	assert_int_equal(fail.block, 7);
	assert_int_equal(fail.level, 0);
	assert_int_equal(fail.offset, 7 * 4096);
	vf_test_assert_contains(err.msg, "hash block 7 (level 0, byte 28672) does not match its digest in level 1");
	vf_test_flip_fd(f.hfd, 7 * 4096 + 10, 0xff);
	verify_ok(f.dfd, f.hfd, &f.p, 2, &f.res);

	/* the top block: the root no longer matches */
	vf_test_flip_fd(f.hfd, 1 * 4096 + 4000, 0xff);
	r = verify(f.dfd, f.hfd, &f.p, 2, 0, f.res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_ROOT);
	assert_int_equal(fail.block, 1);
	assert_int_equal(fail.level, 1);
	vf_test_assert_contains(err.msg, "root hash mismatch");
	vf_test_flip_fd(f.hfd, 1 * 4096 + 4000, 0xff);

	/* a different root for an intact tree */
	{
		uint8_t other[32];

		memcpy(other, f.res.root, 32);
		other[31] ^= 1;
		r = verify(f.dfd, f.hfd, &f.p, 1, 0, other, 32, &fail, &err);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(fail.kind, VF_VERITY_FAIL_ROOT);
	}
	fixture_close(&f);
}

static void test_middle_level_corruption(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_result res;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint8_t *tree;
	uint64_t blk;
	int dfd, hfd, r;

	(void)state;
	/* 16385 blocks: leaves 129, level 1 has 2 blocks, top 1 */
	set_params(&p, "sha256", 1, 512, 4096, 16385, 32);
	dfd = data_file(72, 16385 * 512);
	build(dfd, &p, 2, 0, &tree, &res);
	assert_int_equal(res.geometry.levels, 3);
	hfd = hash_file(&p, &res, tree);
	blk = res.geometry.level_start[1] + 1;
	assert_int_equal(blk, 2);
	vf_test_flip_fd(hfd, blk * 4096, 0xff);
	r = verify(dfd, hfd, &p, 2, 0, res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_HASH_BLOCK);
	assert_int_equal(fail.level, 1);
	assert_int_equal(fail.block, 2);
	vf_test_assert_contains(err.msg, "hash block 2 (level 1");
	free(tree);
	close(hfd);
	close(dfd);
}

/* Rewrite hash block `blk` of the file as `buf`. */
static void put_block(int hfd, uint64_t blk, const uint8_t *buf)
{
	pwrite_all(hfd, buf, 4096, blk * 4096);
}

static void test_padding_in_digest(void **state)
{
	struct fixture f;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint8_t *top, root[20];
	int r;

	(void)state;
	/* sha1 in format 1: 20-byte digests in 32-byte slots; one level */
	fixture_open(&f, "sha1", 1, 100, 73);
	assert_int_equal(f.res.geometry.levels, 1);
	assert_int_equal(f.res.geometry.hash_start_block, 1);
	top = read_all(f.hfd, 4096, 4096);
	for (int i = 20; i < 32; i++)
		assert_int_equal(top[i], 0);
	top[20] = 0x01;
	put_block(f.hfd, 1, top);
	/* with the root of the changed block, only the padding is wrong */
	evp3("sha1", f.p.salt, 32, top, 4096, "", 0, root);
	r = verify(f.dfd, f.hfd, &f.p, 1, 0, root, 20, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_PADDING);
	assert_int_equal(fail.block, 1);
	assert_int_equal(fail.level, 0);
	assert_int_equal(fail.offset, 4096 + 20);
	vf_test_assert_contains(err.msg, "hash block 1 (level 0) has non-zero padding at byte 4116");
	/* with the original root the changed block is caught first */
	r = verify(f.dfd, f.hfd, &f.p, 1, 0, f.res.root, 20, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_ROOT);

	/* the padding of the last digest in use */
	top[20] = 0;
	top[99 * 32 + 31] = 0x80;
	put_block(f.hfd, 1, top);
	evp3("sha1", f.p.salt, 32, top, 4096, "", 0, root);
	r = verify(f.dfd, f.hfd, &f.p, 1, 0, root, 20, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_PADDING);
	assert_int_equal(fail.offset, 4096 + 99 * 32 + 31);
	free(top);
	fixture_close(&f);
}

static void test_padding_in_leaf_tail(void **state)
{
	struct fixture f;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint8_t *top, *leaf, root[32];
	int r;

	(void)state;
	/* 200 blocks: top in block 1, leaves in 2 and 3; leaf 1 holds 72 digests */
	fixture_open(&f, "sha256", 1, 200, 74);
	assert_int_equal(f.res.geometry.levels, 2);
	top = read_all(f.hfd, 1 * 4096, 4096);
	leaf = read_all(f.hfd, 3 * 4096, 4096);
	for (int i = 72 * 32; i < 4096; i++)
		assert_int_equal(leaf[i], 0);

	/* set the first unused byte of leaf 1 and re-hash the path to the root */
	leaf[72 * 32] = 0xff;
	put_block(f.hfd, 3, leaf);
	evp3("sha256", f.p.salt, 32, leaf, 4096, "", 0, top + 32);
	put_block(f.hfd, 1, top);
	evp3("sha256", f.p.salt, 32, top, 4096, "", 0, root);
	r = verify(f.dfd, f.hfd, &f.p, 2, 0, root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_PADDING);
	assert_int_equal(fail.block, 3);
	assert_int_equal(fail.level, 0);
	assert_int_equal(fail.offset, 3 * 4096 + 72 * 32);
	vf_test_assert_contains(err.msg, "hash block 3 (level 0) has non-zero padding");

	/* the same in the tail of the top block */
	free(top);
	free(leaf);
	fixture_close(&f);
	fixture_open(&f, "sha256", 1, 200, 74);
	top = read_all(f.hfd, 1 * 4096, 4096);
	top[4095] = 1;
	put_block(f.hfd, 1, top);
	evp3("sha256", f.p.salt, 32, top, 4096, "", 0, root);
	r = verify(f.dfd, f.hfd, &f.p, 2, 0, root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_PADDING);
	assert_int_equal(fail.block, 1);
	assert_int_equal(fail.level, 1);
	assert_int_equal(fail.offset, 4096 + 4095);
	free(top);
	fixture_close(&f);
}

static void test_truncated(void **state)
{
	struct fixture f;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint64_t end;
	int r;

	(void)state;
	fixture_open(&f, "sha256", 1, 3000, 75);
	end = f.res.geometry.hash_end;
	assert_int_equal(end, 26 * 4096);

	assert_int_equal(ftruncate(f.hfd, (off_t)(end - 4096)), 0);
	r = verify(f.dfd, f.hfd, &f.p, 2, 0, f.res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_TRUNCATED);
	assert_int_equal(fail.block, 25);
	assert_int_equal(fail.offset, end - 4096);
	vf_test_assert_contains(err.msg, "hash data ends at byte 102400, but the tree ends at byte 106496");

	assert_int_equal(ftruncate(f.hfd, (off_t)(end - 100)), 0);
	r = verify(f.dfd, f.hfd, &f.p, 2, 0, f.res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_TRUNCATED);
	assert_int_equal(fail.offset, end - 100);

	assert_int_equal(ftruncate(f.hfd, 0), 0);
	r = verify(f.dfd, f.hfd, &f.p, 2, 0, f.res.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_TRUNCATED);
	fixture_close(&f);
}

static void test_wrong_root_size(void **state)
{
	struct fixture f;
	struct vf_verity_failure fail;
	struct vf_err err;
	int r;

	(void)state;
	fixture_open(&f, "sha256", 1, 10, 76);
	r = verify(f.dfd, f.hfd, &f.p, 1, 0, f.res.root, 20, &fail, &err);
	assert_int_equal(r, -EINVAL);
	vf_test_assert_contains(err.msg, "root hash is 20 bytes, but sha256 gives 32");
	r = verify(f.dfd, f.hfd, &f.p, 1, 0, f.res.root, 64, &fail, &err);
	assert_int_equal(r, -EINVAL);
	fixture_close(&f);
}

static void test_formats_differ(void **state)
{
	struct vf_verity_params p0, p1;
	struct vf_verity_result r0, r1;
	struct vf_verity_failure fail;
	struct vf_err err;
	uint8_t *t0, *t1;
	int dfd, hfd, r;

	(void)state;
	set_params(&p1, "sha256", 1, 4096, 4096, 300, 32);
	set_params(&p0, "sha256", 0, 4096, 4096, 300, 32);
	dfd = data_file(77, 300 * 4096);
	build(dfd, &p1, 1, 0, &t1, &r1);
	build(dfd, &p0, 1, 0, &t0, &r0);
	assert_memory_not_equal(r0.root, r1.root, 32);
	assert_memory_not_equal(t0, t1, 4096);

	/* a format 1 tree does not verify as format 0 */
	hfd = hash_file(&p1, &r1, t1);
	r = verify(dfd, hfd, &p0, 1, 0, r1.root, 32, &fail, &err);
	assert_int_equal(r, -EBADMSG);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_ROOT);
	verify_ok(dfd, hfd, &p1, 1, &r1);

	/* with an empty salt, too: the salt position is not the only difference */
	free(t0);
	free(t1);
	set_params(&p1, "sha1", 1, 4096, 4096, 300, 0);
	set_params(&p0, "sha1", 0, 4096, 4096, 300, 0);
	build(dfd, &p1, 1, 0, &t1, &r1);
	build(dfd, &p0, 1, 0, &t0, &r0);
	assert_memory_not_equal(r0.root, r1.root, 20);
	free(t0);
	free(t1);
	close(hfd);
	close(dfd);
}

/* ---- writing ------------------------------------------------------------------ */

static void test_write_layout(void **state)
{
	struct vf_verity_params p, q;
	struct vf_verity_result res;
	struct vf_err err = { 0 };
	uint8_t *tree, *got, junk[65536];
	struct stat st;
	int dfd, hfd;

	(void)state;
	set_params(&p, "sha256", 1, 4096, 4096, 300, 32);
	p.superblock = true;
	p.hash_offset = 8192;
	dfd = data_file(78, 300 * 4096);
	build(dfd, &p, 1, 0, &tree, &res);
	assert_int_equal(res.geometry.hash_start_block, 3);

	hfd = tmp_fd();
	memset(junk, 0xff, sizeof(junk));
	pwrite_all(hfd, junk, sizeof(junk), 0);
	assert_int_equal(vf_verity_tree_write(hfd, &p, &res.geometry, tree, &err), 0);
	got = read_all(hfd, 0, sizeof(junk));
	/* before the offset: untouched */
	for (int i = 0; i < 8192; i++)
		assert_int_equal(got[i], 0xff);
	/* the superblock; the bytes up to the tree are kept, as veritysetup keeps them */
	assert_int_equal(vf_verity_sb_decode(got + 8192, &q, &err), 0);
	assert_int_equal(q.data_blocks, 300);
	assert_memory_equal(q.salt, p.salt, 32);
	for (int i = 8192 + 512; i < 3 * 4096; i++)
		assert_int_equal(got[i], 0xff);
	assert_memory_equal(got + 3 * 4096, tree, 4 * 4096);
	/* after the tree: untouched */
	for (size_t i = 7 * 4096; i < sizeof(junk); i++)
		assert_int_equal(got[i], 0xff);
	assert_int_equal(fstat(hfd, &st), 0);
	assert_int_equal(st.st_size, sizeof(junk));

	/* and it verifies where it was written */
	verify_ok(dfd, hfd, &p, 1, &res);
	free(got);
	free(tree);
	close(hfd);
	close(dfd);
}

/* ---- short data ------------------------------------------------------------- */

/* Fewer bytes than data_blocks need: an error, never zeros for the missing blocks. */
static void test_short_data(void **state)
{
	struct vf_verity_params p;
	struct vf_verity_result res, full;
	struct vf_verity_failure fail;
	struct vf_err err = { 0 };
	uint8_t *tree = NULL, *full_tree;
	int dfd, hfd, r;

	(void)state;
	set_params(&p, "sha256", 1, 4096, 4096, 20, 32);
	dfd = data_file(79, 10 * 4096);
	r = vf_verity_tree_build(dfd, &p, NULL, &tree, &res, &err);
	assert_int_equal(r, -EIO);
	assert_null(tree);
	vf_test_assert_contains(err.msg, "need 81920 bytes");

	/* a partial last block */
	write_data(dfd, 80, 4096 * 10 - 1000, 4096 * 10);
	vf_err_clear(&err);
	r = vf_verity_tree_build(dfd, &p, NULL, &tree, &res, &err);
	assert_int_equal(r, -EIO);
	vf_test_assert_contains(err.msg, "need 81920 bytes");

	/* verification of a file cut after formatting */
	assert_int_equal(ftruncate(dfd, 20 * 4096), 0);
	build(dfd, &p, 1, 0, &full_tree, &full);
	hfd = hash_file(&p, &full, full_tree);
	assert_int_equal(ftruncate(dfd, 12 * 4096), 0);
	r = verify(dfd, hfd, &p, 1, 0, full.root, 32, &fail, &err);
	assert_true(r < 0);
	assert_int_equal(fail.kind, VF_VERITY_FAIL_NONE);
	vf_test_assert_contains(err.msg, "need 81920 bytes");

	/* a single block */
	set_params(&p, "sha256", 1, 4096, 4096, 1, 32);
	assert_int_equal(ftruncate(dfd, 100), 0);
	r = vf_verity_tree_build(dfd, &p, NULL, &tree, &res, &err);
	assert_int_equal(r, -EIO);
	vf_test_assert_contains(err.msg, "less than one data block");
	free(full_tree);
	close(hfd);
	close(dfd);
}

/*
 * Leaf digests recorded ahead (vf_verity_leaves) stand for their blocks: a
 * tree built with some runs recorded equals the one built by reading, for
 * any thread count; recorded digests of other bytes change the root (so they
 * are used, not re-read); other parameters, blocks past the end and a format
 * 0 tree are handled.
 */
static void test_leaves(void **state)
{
	static const unsigned threads[] = { 1, 2, 5 };
	const uint64_t blocks = 9000;
	struct vf_verity_params p, q;
	struct vf_verity_result full, res;
	struct vf_verity_leaves *l = NULL;
	struct vf_err err = { 0 };
	uint8_t *full_tree, *tree, *data;
	int fd;

	(void)state;
	for (uint32_t type = 0; type < 2; type++) {
		set_params(&p, "sha256", type, 4096, 4096, blocks, 32);
		fd = data_file(type + 11, blocks * 4096);
		build(fd, &p, 1, 0, &full_tree, &full);
		data = read_all(fd, 0, (size_t)(blocks * 4096));

		assert_int_equal(vf_verity_leaves_new(&p, &l, &err), 0);
		assert_int_equal(vf_verity_leaves_count(l), 0);
		/* runs here and there, across chunk and hash-block boundaries, and the last block */
		assert_int_equal(vf_verity_leaves_add(l, 0, data, 3), 0);
		assert_int_equal(vf_verity_leaves_add(l, 100, data + 100 * 4096, 4000), 0);
		assert_int_equal(vf_verity_leaves_add(l, 4127, data + 4127 * 4096, 1), 0);
		assert_int_equal(vf_verity_leaves_add(l, blocks - 1, data + (blocks - 1) * 4096, 1), 0);
		assert_int_equal(vf_verity_leaves_count(l), 4005);
		assert_int_equal(vf_verity_leaves_add(l, blocks - 1, data, 2), -ERANGE);
		assert_int_equal(vf_verity_leaves_add(l, blocks + 1, data, 0), -ERANGE);
		assert_int_equal(vf_verity_leaves_count(l), 4005);
		for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
			struct vf_verity_opts o = { .threads = threads[i], .leaves = l };

			assert_int_equal(vf_verity_tree_build(fd, &p, &o, &tree, &res, &err), 0);
			assert_memory_equal(res.root, full.root, 32);
			assert_memory_equal(tree, full_tree, (size_t)(full.geometry.hash_blocks * 4096));
			free(tree);
		}
		/* block 200's digest recorded from other bytes: the tree takes it */
		data[200 * 4096 + 5] ^= 1;
		assert_int_equal(vf_verity_leaves_add(l, 200, data + 200 * 4096, 1), 0);
		{
			struct vf_verity_opts o = { .threads = 2, .leaves = l };

			assert_int_equal(vf_verity_tree_build(fd, &p, &o, &tree, &res, &err), 0);
			assert_memory_not_equal(res.root, full.root, 32);
			free(tree);
		}
		/* leaves made for another salt are refused */
		q = p;
		q.salt[0] ^= 1;
		{
			struct vf_verity_opts o = { .leaves = l };

			tree = NULL;
			assert_int_equal(vf_verity_tree_build(fd, &q, &o, &tree, &res, &err), -EINVAL);
			vf_test_assert_contains(err.msg, "other parameters");
			assert_null(tree);
		}
		vf_verity_leaves_free(l);
		l = NULL;
		free(data);
		free(full_tree);
		close(fd);
	}
	/* no data blocks: refused */
	set_params(&p, "sha256", 1, 4096, 4096, 0, 32);
	assert_int_equal(vf_verity_leaves_new(&p, &l, &err), -EINVAL);
	vf_verity_leaves_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_reference_tree),
		cmocka_unit_test(test_single_block),
		cmocka_unit_test(test_two_blocks),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_sparse),
		cmocka_unit_test(test_leaves),
		cmocka_unit_test(test_data_offset),
		cmocka_unit_test(test_data_block_corruption),
		cmocka_unit_test(test_hash_block_corruption),
		cmocka_unit_test(test_middle_level_corruption),
		cmocka_unit_test(test_padding_in_digest),
		cmocka_unit_test(test_padding_in_leaf_tail),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_wrong_root_size),
		cmocka_unit_test(test_formats_differ),
		cmocka_unit_test(test_write_layout),
		cmocka_unit_test(test_short_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
