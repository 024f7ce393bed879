#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"

#include "builder/base/fs.h"
#include "keys/key.h"
#include "repo/metadata.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t vf_test_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void vf_test_data(uint64_t seed, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t z = vf_test_splitmix64(&seed);

		for (size_t k = 0; k < 8 && i + k < len; k++)
			out[i + k] = (uint8_t)(z >> (8 * k));
	}
}

char *vf_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = NULL;

	assert_true(asprintf(&path, "%s/vf-unit.XXXXXX", base && *base ? base : "/tmp") > 0);
	assert_non_null(mkdtemp(path));
	return path;
}

void vf_test_rmtree(const char *path)
{
	/* the library's own removal (never follows symlinks); failures are ignored */
	vf_fs_remove_tree(path, NULL);
}

char *vf_test_path(const char *dir, const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

void vf_test_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;

	assert_true(fd >= 0);
	while (done < len) {
		ssize_t n = write(fd, (const char *)data + done, len - done);

		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

uint8_t *vf_test_read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		assert_true(n > 0);
		done += (size_t)n;
	}
	close(fd);
	buf[done] = '\0';
	if (len)
		*len = done;
	return buf;
}

char *vf_test_list_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	char *out = calloc(1, 1);
	size_t len = 0;

	assert_true(n >= 0);
	assert_non_null(out);
	for (int i = 0; i < n; i++) {
		const char *s = names[i]->d_name;

		if (strcmp(s, ".") && strcmp(s, "..")) {
			out = realloc(out, len + strlen(s) + 2);
			assert_non_null(out);
			len += (size_t)sprintf(out + len, "%s%s", len ? " " : "", s);
		}
		free(names[i]);
	}
	free(names);
	return out;
}

int vf_test_tmpdir_setup(void **state)
{
	*state = vf_test_tmpdir();
	return 0;
}

int vf_test_tmpdir_teardown(void **state)
{
	vf_test_rmtree(*state);
	free(*state);
	*state = NULL;
	return 0;
}

void vf_test_make_file(const char *path, uint64_t seed, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	vf_test_data(seed, buf, len);
	vf_test_write_file(path, buf, len);
	free(buf);
}

void vf_test_flip_fd(int fd, uint64_t off, uint8_t mask)
{
	uint8_t b;

	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
}

void vf_test_flip_file(const char *path, uint64_t off, uint8_t mask)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	vf_test_flip_fd(fd, off, mask);
	assert_int_equal(close(fd), 0);
}

void vf_test_assert_contains(const char *text, const char *want)
{
	if (!strstr(text, want))
		print_error("'%s' lacks '%s'\n", text, want);
	assert_non_null(strstr(text, want));
}

void vf_test_assert_containsf(const char *text, const char *fmt, ...)
{
	char *want = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&want, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	vf_test_assert_contains(text, want);
	free(want);
}

void vf_test_assert_listing(const char *dir, const char *want)
{
	char *names = vf_test_list_dir(dir);

	assert_string_equal(names, want);
	free(names);
}

int vf_test_keys_make(struct vf_test_keys *k, const char *const *types, size_t n)
{
	struct vf_err err = { 0 };

	k->dir = vf_test_tmpdir();
	k->s = calloc(n, sizeof(*k->s));
	k->keyid = calloc(n, sizeof(*k->keyid));
	k->n = n;
	if (!k->s || !k->keyid)
		return -1;
	for (size_t i = 0; i < n; i++) {
		enum vf_key_type t = VF_KEY_ED25519;
		char name[32], *path;

		snprintf(name, sizeof(name), "key%zu.pem", i);
		path = vf_test_path(k->dir, name);
		if ((types && vf_key_type_parse(types[i], &t, &err)) ||
		    vf_key_generate(t, path, &err) || vf_signer_open(path, &k->s[i], &err) ||
		    vf_tuf_keyid(vf_signer_key(k->s[i]), k->keyid[i], &err)) {
			fprintf(stderr, "key %zu: %s\n", i, err.msg);
			free(path);
			return -1;
		}
		free(path);
	}
	return 0;
}

void vf_test_keys_free(struct vf_test_keys *k)
{
	for (size_t i = 0; k->s && i < k->n; i++)
		vf_signer_free(k->s[i]);
	free(k->s);
	free(k->keyid);
	if (k->dir)
		vf_test_rmtree(k->dir);
	free(k->dir);
	memset(k, 0, sizeof(*k));
}
