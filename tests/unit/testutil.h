/**
 * @file testutil.h
 * @brief Helpers shared by the unit tests (linked into every test binary).
 *
 * All helpers fail the current cmocka test on error instead of returning one.
 */
#ifndef VF_TESTS_TESTUTIL_H
#define VF_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/** Deterministic test bytes: the same splitmix64 stream as `vf-testdata SEED N`. */
void vf_test_data(uint64_t seed, uint8_t *out, size_t len);

/** A new private directory under $TMPDIR (or /tmp); caller frees the path. */
char *vf_test_tmpdir(void);

/** Remove a directory tree (or a file); missing paths are fine. */
void vf_test_rmtree(const char *path);

/** "dir/name", malloc'd. */
char *vf_test_path(const char *dir, const char *name);

/** Create or replace a file with `len` bytes (mode 0644). */
void vf_test_write_file(const char *path, const void *data, size_t len);

/** Read a whole file; *len gets its size; the buffer is NUL-terminated; caller frees. */
uint8_t *vf_test_read_file(const char *path, size_t *len);

/** Names in a directory, sorted, joined by single spaces (caller frees). */
char *vf_test_list_dir(const char *dir);

/** cmocka fixtures: *state becomes a fresh temporary directory path (char *). */
int vf_test_tmpdir_setup(void **state);
int vf_test_tmpdir_teardown(void **state);

/** A cmocka test entry run with the fixtures above: `*state` is its own new directory. */
#define vf_test_in_tmpdir(f) \
	cmocka_unit_test_setup_teardown(f, vf_test_tmpdir_setup, vf_test_tmpdir_teardown)

/**
 * One splitmix64 step: advances *state and returns the next output.
 * vf_test_data() lays out each output as 8 bytes, low byte first.
 */
uint64_t vf_test_splitmix64(uint64_t *state);

/** Create or replace a file with the `len` bytes of vf_test_data(seed) (mode 0644). */
void vf_test_make_file(const char *path, uint64_t seed, size_t len);

/** XOR the byte at offset `off` of an open file with `mask`; doing it again restores it. */
void vf_test_flip_fd(int fd, uint64_t off, uint8_t mask);

/** vf_test_flip_fd() on the file at `path`. */
void vf_test_flip_file(const char *path, uint64_t off, uint8_t mask);

/** Fail unless `text` contains `want`; both are printed when it does not. */
void vf_test_assert_contains(const char *text, const char *want);

/** vf_test_assert_contains() with `want` formatted by printf from `fmt` and the rest. */
void vf_test_assert_containsf(const char *text, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Fail unless vf_test_list_dir(dir) is exactly `want` ("" for an empty directory). */
void vf_test_assert_listing(const char *dir, const char *want);

/** Signing keys for TUF tests: key<i>.pem files in a fresh temporary directory. */
struct vf_test_keys {
	char *dir;                /**< the directory holding the key files */
	struct vf_signer **s;     /**< n open signers */
	char (*keyid)[65];        /**< their TUF keyids */
	size_t n;
};

/**
 * Generate n keys of the given types ("ed25519", "ecdsa-p256", "rsa-3072";
 * types NULL: all ed25519) and open them. Returns 0, or -1 after printing why.
 */
int vf_test_keys_make(struct vf_test_keys *k, const char *const *types, size_t n);

/** Close the signers and remove the directory. */
void vf_test_keys_free(struct vf_test_keys *k);

#endif
