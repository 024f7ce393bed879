/*
 * The disk-assembly helpers of builder/image (internal.h) against independent
 * computations: zstd targets decompress (libzstd's one-shot decoder) to the
 * exact region they were made from, and their sha256 and size are the
 * file's (OpenSSL); a sparse file's digest is that of its bytes; a sparse
 * copy lands its data at the offset and leaves holes as holes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/image/internal.h"
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define MIB (1024u * 1024u)

/*
 * A 43 MiB source: incompressible runs, zeros never written (holes; 24..40
 * MiB is three whole 8 MiB frames of hole), compressible text, and an
 * odd-sized tail; `bytes` gets a copy of it.
 */
static char *make_source(const char *dir, uint8_t **bytes, size_t *len)
{
	char *path = vf_test_path(dir, "src.img");
	size_t n = 43 * MIB + 12345;
	uint8_t *b = calloc(1, n);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_non_null(b);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)n), 0);
	vf_test_data(1, b, 6 * MIB);                         /* incompressible */
	for (size_t i = 9 * MIB; i < 15 * MIB; i++)          /* compressible */
		b[i] = (uint8_t)("vforge builds images "[i % 21]);
	vf_test_data(2, b + 18 * MIB, 6 * MIB);              /* incompressible */
	vf_test_data(3, b + 40 * MIB, n - 40 * MIB);         /* incompressible, odd tail */
	/* 6..9 MiB, 15..18 MiB and 24..40 MiB stay holes */
	assert_int_equal(pwrite(fd, b, 6 * MIB, 0), 6 * MIB);
	assert_int_equal(pwrite(fd, b + 9 * MIB, 6 * MIB, 9 * MIB), 6 * MIB);
	assert_int_equal(pwrite(fd, b + 18 * MIB, 6 * MIB, 18 * MIB), 6 * MIB);
	assert_int_equal(pwrite(fd, b + 40 * MIB, n - 40 * MIB, 40 * MIB), (ssize_t)(n - 40 * MIB));
	close(fd);
	*bytes = b;
	*len = n;
	return path;
}

static void sha256_file(const char *path, uint8_t out[32], size_t *len)
{
	uint8_t *b = vf_test_read_file(path, len);

	SHA256(b, *len, out);
	free(b);
}

/*
 * The frames of a target: one per 8 MiB of the region (the last one the
 * rest, at least one), each with its content size; each decompresses alone
 * to its own 8 MiB of the region.
 */
static void check_frames(const uint8_t *z, size_t zlen, const uint8_t *region, size_t len)
{
	size_t at = 0, frames = 0, want = len ? (len + 8 * MIB - 1) / (8 * MIB) : 1;
	uint8_t *plain = malloc(8 * MIB);

	assert_non_null(plain);
	while (at < zlen) {
		size_t fl = ZSTD_findFrameCompressedSize(z + at, zlen - at);
		size_t expect = len - frames * 8 * MIB < 8 * MIB ? len - frames * 8 * MIB : 8 * MIB;

		assert_false(ZSTD_isError(fl));
		assert_int_equal(ZSTD_getFrameContentSize(z + at, fl), expect);
		assert_int_equal(ZSTD_decompress(plain, 8 * MIB, z + at, fl), expect);
		assert_memory_equal(plain, region + frames * 8 * MIB, expect);
		at += fl;
		frames++;
	}
	assert_int_equal(frames, want);
	free(plain);
}

/* Compress [off, off + len) of src and check the target against it. */
static void check_zstd(const char *dir, const char *src, const uint8_t *bytes, size_t total,
		       uint64_t off, uint64_t len, unsigned threads)
{
	char *dst = vf_test_path(dir, "t.zst");
	struct vf_err err = { 0 };
	uint8_t sha[32], want[32];
	uint64_t size;
	size_t zlen, region = len ? (size_t)len : total - (size_t)off;
	uint8_t *z, *plain = malloc(region + 1);
	int r = vf_image_zstd(src, off, len, dst, threads, sha, &size, &err);

	if (r)
		print_error("vf_image_zstd: %s\n", err.msg);
	assert_int_equal(r, 0);
	sha256_file(dst, want, &zlen);
	assert_int_equal(size, zlen);
	assert_memory_equal(sha, want, 32);
	z = vf_test_read_file(dst, &zlen);
	assert_non_null(plain);
	assert_int_equal(ZSTD_decompress(plain, region + 1, z, zlen), region);
	assert_memory_equal(plain, bytes + off, region);
	check_frames(z, zlen, bytes + off, region);
	free(plain);
	free(z);
	free(dst);
}

static void test_zstd_targets(void **state)
{
	const char *dir = *state;
	uint8_t *bytes, sha1[32], sha2[32];
	size_t n;
	char *src = make_source(dir, &bytes, &n);
	char *a = vf_test_path(dir, "a.zst"), *b = vf_test_path(dir, "b.zst");
	struct vf_err err = { 0 };
	uint64_t s1, s2;
	struct stat st;

	/* one worker meets all three frames of hole (the second and third from its cache) */
	check_zstd(dir, src, bytes, n, 0, 0, 1);
	check_zstd(dir, src, bytes, n, 0, 0, 3);
	check_zstd(dir, src, bytes, n, 0, 0, 16);
	/* a region (a partition of a disk): starts in data, ends in a hole */
	check_zstd(dir, src, bytes, n, 4 * MIB, 12 * MIB, 2);
	/*
	 * an odd offset: a frame of hole, then one that starts in the hole and
	 * ends in data (not the cached frame), then data
	 */
	check_zstd(dir, src, bytes, n, 24 * MIB + 512, 17 * MIB, 1);
	check_zstd(dir, src, bytes, n, 24 * MIB + 512, 17 * MIB, 2);
	/* small: one piece, written at the end; and nothing: one empty frame */
	check_zstd(dir, src, bytes, n, 9 * MIB, 4096 * 3 + 17, 1);
	check_zstd(dir, src, bytes, n, n, 0, 2);

	/* the same bytes for any thread count; the output is 0644 and complete */
	assert_int_equal(vf_image_zstd(src, 0, 0, a, 1, sha1, &s1, &err), 0);
	for (unsigned t = 2; t <= 9; t++) {
		assert_int_equal(vf_image_zstd(src, 0, 0, b, t, sha2, &s2, &err), 0);
		assert_int_equal(s1, s2);
		assert_memory_equal(sha1, sha2, 32);
	}
	assert_int_equal(stat(a, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal((uint64_t)st.st_size, s1);

	/* a region past the end: an error, and no output */
	unlink(a);
	assert_int_equal(vf_image_zstd(src, n - 10, 11, a, 1, sha1, &s1, &err), -EINVAL);
	assert_int_equal(access(a, F_OK), -1);
	free(a);
	free(b);
	free(src);
	free(bytes);
}

static void test_file_digest(void **state)
{
	const char *dir = *state;
	uint8_t *bytes, sha[32], want[32];
	size_t n, len;
	char *src = make_source(dir, &bytes, &n);
	struct vf_err err = { 0 };
	uint64_t size;

	assert_int_equal(vf_image_file_digest(src, sha, &size, &err), 0);
	SHA256(bytes, n, want);
	assert_int_equal(size, n);
	assert_memory_equal(sha, want, 32);
	sha256_file(src, want, &len);
	assert_memory_equal(sha, want, 32);

	/* an empty file, and a missing one */
	{
		char *e = vf_test_path(dir, "empty");
		int fd = open(e, O_RDWR | O_CREAT | O_TRUNC, 0644);

		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(vf_image_file_digest(e, sha, &size, &err), 0);
		SHA256(NULL, 0, want);
		assert_int_equal(size, 0);
		assert_memory_equal(sha, want, 32);
		unlink(e);
		assert_true(vf_image_file_digest(e, sha, &size, &err) < 0);
		vf_test_assert_contains(err.msg, "empty");
		free(e);
	}
	free(src);
	free(bytes);
}

static void test_copy_sparse(void **state)
{
	const char *dir = *state;
	uint8_t *bytes, *got;
	size_t n, len;
	char *src = make_source(dir, &bytes, &n);
	char *dst = vf_test_path(dir, "disk.img");
	struct vf_err err = { 0 };
	struct stat st;
	int fd = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(n + 3 * MIB)), 0);
	assert_int_equal(vf_image_copy_sparse(src, fd, 2 * MIB, &err), 0);
	close(fd);
	got = vf_test_read_file(dst, &len);
	assert_int_equal(len, n + 3 * MIB);
	for (size_t i = 0; i < 2 * MIB; i++)
		assert_int_equal(got[i], 0);
	assert_memory_equal(got + 2 * MIB, bytes, n);
	/* the holes stayed holes: 21 MiB and a tail of data, not 43 */
	assert_int_equal(stat(dst, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 < 24 * MIB);
	free(got);
	free(dst);
	free(src);
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		vf_test_in_tmpdir(test_zstd_targets),
		vf_test_in_tmpdir(test_file_digest),
		vf_test_in_tmpdir(test_copy_sparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
