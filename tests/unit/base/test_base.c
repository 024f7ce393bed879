/* builder/base: hex, uuid, err, buf and fs helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/buf.h"
#include "builder/base/err.h"
#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- hex ----------------------------------------------------------------------- */

static void test_hex_format(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(in) + 1];

	(void)state;
	memset(out, 'x', sizeof(out));
	vf_hex_format(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");

	memset(out, 'x', sizeof(out));
	vf_hex_format(in, 0, out);
	assert_string_equal(out, "");
}

static void test_hex_parse(void **state)
{
	uint8_t out[8];
	size_t len = 99;

	(void)state;
	assert_int_equal(vf_hex_parse("0001ABff7F", out, sizeof(out), &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "\x00\x01\xab\xff\x7f", 5);

	assert_int_equal(vf_hex_parse("", out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);

	/* exactly max bytes */
	assert_int_equal(vf_hex_parse("0102030405060708", out, 8, &len), 0);
	assert_int_equal(len, 8);
	assert_int_equal(out[7], 8);
}

static void test_hex_parse_rejects(void **state)
{
	uint8_t out[4];
	size_t len = 99;

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(vf_hex_parse("abc", out, sizeof(out), &len), -EINVAL);
	assert_int_equal(vf_hex_parse("0g", out, sizeof(out), &len), -EINVAL);
	assert_int_equal(vf_hex_parse("zz", out, sizeof(out), &len), -EINVAL);
	assert_int_equal(vf_hex_parse("0x12", out, sizeof(out), &len), -EINVAL);
	assert_int_equal(vf_hex_parse(" 12 ", out, sizeof(out), &len), -EINVAL);
	assert_int_equal(vf_hex_parse("aabbccddee", out, sizeof(out), &len), -E2BIG);
	/* a bad digit wins over the size */
	assert_int_equal(vf_hex_parse("aabbccddeg", out, sizeof(out), &len), -EINVAL);
	/* nothing written on failure */
	assert_int_equal(len, 99);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xee);
}

/* ---- uuid ---------------------------------------------------------------------- */

static void test_uuid_round_trip(void **state)
{
	static const uint8_t want[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4c, 0xde,
					  0x8f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd };
	uint8_t u[16];
	char text[VF_UUID_TEXT_LEN + 1];

	(void)state;
	assert_int_equal(vf_uuid_parse("01234567-89AB-4cde-8F01-23456789abCD", u), 0);
	assert_memory_equal(u, want, 16);
	vf_uuid_format(u, text);
	assert_string_equal(text, "01234567-89ab-4cde-8f01-23456789abcd");
	assert_int_equal(vf_uuid_parse(text, u), 0);
	assert_memory_equal(u, want, 16);
	assert_false(vf_uuid_is_null(u));

	memset(u, 0, sizeof(u));
	assert_true(vf_uuid_is_null(u));
	vf_uuid_format(u, text);
	assert_string_equal(text, "00000000-0000-0000-0000-000000000000");
	u[15] = 1;
	assert_false(vf_uuid_is_null(u));
}

static void test_uuid_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"01234567-89ab-4cde-8f01-23456789abc",    /* 35 characters */
		"01234567-89ab-4cde-8f01-23456789abcde",  /* 37 characters */
		"0123456789ab-4cde-8f01-23456789abcd",    /* a dash missing */
		"01234567089ab-4cde-8f01-23456789abcd",   /* a digit where a dash goes */
		"0123456-789ab-4cde-8f01-23456789abcd",   /* dash one place early */
		"01234567-89ab-4cde-8f0123456789abcd-",   /* dash at the end */
		"01234567-89ab-4cde-8f01-23456789abcg",   /* not hex */
		"0123456 -89ab-4cde-8f01-23456789abcd",
		"{1234567-89ab-4cde-8f01-23456789abcd",
	};
	uint8_t u[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(u, 0x11, sizeof(u));
		if (vf_uuid_parse(bad[i], u) != -EINVAL)
			print_error("accepted '%s'\n", bad[i]);
		assert_int_equal(vf_uuid_parse(bad[i], u), -EINVAL);
	}
}

static void test_uuid_v4(void **state)
{
	uint8_t u[16];

	(void)state;
	memset(u, 0xff, sizeof(u));
	vf_uuid_make_v4(u);
	assert_int_equal(u[6], 0x4f);
	assert_int_equal(u[8], 0xbf);
	assert_int_equal(u[7], 0xff);
	assert_int_equal(u[9], 0xff);

	memset(u, 0x00, sizeof(u));
	vf_uuid_make_v4(u);
	assert_int_equal(u[6], 0x40);
	assert_int_equal(u[8], 0x80);
}

/* ---- err ----------------------------------------------------------------------- */

static void test_err_set(void **state)
{
	struct vf_err err;

	(void)state;
	vf_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");

	assert_int_equal(vf_err_set(&err, EINVAL, "bad %s %d", "value", 7), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	assert_string_equal(err.msg, "bad value 7");

	/* either sign, always negative */
	assert_int_equal(vf_err_set(&err, -ENOENT, "x"), -ENOENT);
	assert_int_equal(err.code, -ENOENT);
	/* 0 is not a valid failure: it becomes -EIO */
	assert_int_equal(vf_err_set(&err, 0, "x"), -EIO);

	assert_int_equal(vf_err_sys(&err, ENOENT, "cannot open '%s'", "a.img"), -ENOENT);
	assert_string_equal(err.msg, "cannot open 'a.img': No such file or directory");
	assert_int_equal(vf_err_sys(&err, -EACCES, "x"), -EACCES);
	assert_string_equal(err.msg, "x: Permission denied");

	vf_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
}

static void test_err_prefix_chain(void **state)
{
	struct vf_err err;

	(void)state;
	vf_err_clear(&err);
	/* nothing to prefix */
	assert_int_equal(vf_err_prefix(&err, "a"), -EIO);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");

	vf_err_set(&err, EBADMSG, "root cause");
	assert_int_equal(vf_err_prefix(&err, "%s", "b"), -EBADMSG);
	assert_int_equal(vf_err_prefix(&err, "a"), -EBADMSG);
	assert_string_equal(err.msg, "a: b: root cause");
	assert_int_equal(err.code, -EBADMSG);

	vf_err_set(&err, ENOSPC, "disk full");
	assert_int_equal(vf_err_prefix(&err, "variant %s: package %d", "demo", 3), -ENOSPC);
	assert_string_equal(err.msg, "variant demo: package 3: disk full");
}

static void test_err_null(void **state)
{
	(void)state;
	assert_int_equal(vf_err_set(NULL, ENOENT, "x %d", 1), -ENOENT);
	assert_int_equal(vf_err_set(NULL, -EPERM, "x"), -EPERM);
	assert_int_equal(vf_err_sys(NULL, EACCES, "x"), -EACCES);
	assert_int_equal(vf_err_prefix(NULL, "x"), -EIO);
	vf_err_clear(NULL);
}

static void test_err_truncation(void **state)
{
	struct vf_err err;
	char *big = malloc(3000);
	size_t len;

	(void)state;
	assert_non_null(big);
	memset(big, 'm', 2999);
	big[2999] = '\0';

	vf_err_set(&err, EINVAL, "%s", big);
	len = strlen(err.msg);
	assert_int_equal(len, VF_ERR_MSG_MAX - 1);
	assert_string_equal(err.msg + len - 3, "...");
	assert_int_equal(err.msg[len - 4], 'm');
	assert_int_equal(err.code, -EINVAL);

	/* exactly fits: no marker */
	big[VF_ERR_MSG_MAX - 1] = '\0';
	vf_err_set(&err, EINVAL, "%s", big);
	assert_int_equal(strlen(err.msg), VF_ERR_MSG_MAX - 1);
	assert_int_equal(err.msg[VF_ERR_MSG_MAX - 2], 'm');
	big[VF_ERR_MSG_MAX - 1] = 'm';

	/* a prefix that pushes the chain over the limit keeps the head */
	vf_err_set(&err, EIO, "root cause at the end");
	for (int i = 0; i < 60; i++)
		assert_int_equal(vf_err_prefix(&err, "layer %02d with a long name", i), -EIO);
	len = strlen(err.msg);
	assert_int_equal(len, VF_ERR_MSG_MAX - 1);
	assert_memory_equal(err.msg, "layer 59 with a long name: layer 58", 35);
	assert_string_equal(err.msg + len - 3, "...");

	/* a system error whose text does not fit */
	vf_err_sys(&err, ENOENT, "%s", big);
	len = strlen(err.msg);
	assert_int_equal(len, VF_ERR_MSG_MAX - 1);
	assert_string_equal(err.msg + len - 3, "...");
	assert_int_equal(err.code, -ENOENT);
	free(big);
}

/* ---- buf ----------------------------------------------------------------------- */

static void test_buf_add(void **state)
{
	struct vf_buf b = VF_BUF_INIT;

	(void)state;
	assert_null(b.data);
	assert_int_equal(vf_buf_add(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_true(b.cap > b.len);
	assert_string_equal((char *)b.data, "abc");

	assert_int_equal(vf_buf_add_fmt(&b, "%d-%s", 42, "x"), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal((char *)b.data, "abc42-x");

	assert_int_equal(vf_buf_add_str(&b, "!"), 0);
	assert_string_equal((char *)b.data, "abc42-x!");

	/* binary data with a NUL inside */
	assert_int_equal(vf_buf_add(&b, "\0z", 2), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "abc42-x!\0z", 10);
	assert_int_equal(b.data[10], '\0');

	vf_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);

	/* reusable after release; empty appends still give a C string */
	assert_int_equal(vf_buf_add(&b, NULL, 0), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.data, "");
	assert_int_equal(vf_buf_add_fmt(&b, "%s", ""), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal((char *)b.data, "");
	vf_buf_release(&b);
	vf_buf_release(NULL);
}

static void test_buf_growth(void **state)
{
	struct vf_buf b;
	uint8_t chunk[1000];
	const size_t target = 1024 * 1024;
	size_t total = 0;

	(void)state;
	vf_buf_init(&b);
	while (total < target) {
		size_t n = target - total < sizeof(chunk) ? target - total : sizeof(chunk);

		for (size_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((total + i) % 251 + 1);
		assert_int_equal(vf_buf_add(&b, chunk, n), 0);
		total += n;
		assert_int_equal(b.len, total);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
	}
	for (size_t i = 0; i < target; i++)
		if (b.data[i] != (uint8_t)(i % 251 + 1))
			fail_msg("byte %zu is %u", i, b.data[i]);

	/* formatted text larger than the first allocation */
	vf_buf_release(&b);
	assert_int_equal(vf_buf_add_fmt(&b, "<%5000d>", 7), 0);
	assert_int_equal(b.len, 5002);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[4999], ' ');
	assert_memory_equal(b.data + 5000, "7>", 3);

	/* grow reserves without changing the contents */
	assert_int_equal(vf_buf_grow(&b, 100000), 0);
	assert_true(b.cap >= 5002 + 100000 + 1);
	assert_int_equal(b.len, 5002);
	assert_string_equal((char *)b.data + 5000, "7>");
	/* impossible sizes fail cleanly */
	assert_int_equal(vf_buf_grow(&b, SIZE_MAX), -ENOMEM);
	assert_int_equal(vf_buf_add(&b, "x", SIZE_MAX - 2), -ENOMEM);
	assert_int_equal(b.len, 5002);
	assert_string_equal((char *)b.data + 5000, "7>");
	vf_buf_release(&b);
}

/* ---- fs ------------------------------------------------------------------------ */

/* The file holds exactly the text `want`. */
static void assert_file_text(const char *path, const char *want)
{
	char *text = (char *)vf_test_read_file(path, NULL);

	assert_string_equal(text, want);
	free(text);
}

/* vf_fs_read_file: whole regular files up to a limit, nothing else. */
static void test_read_file(void **state)
{
	char *path = vf_test_path(*state, "f.txt"), *link = vf_test_path(*state, "l.txt");
	char *empty = vf_test_path(*state, "empty");
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };

	vf_test_write_file(path, "hello", 5);
	vf_test_write_file(empty, "", 0);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(vf_fs_read_file(path, 5, true, &b, &err), 0);
	assert_int_equal(b.len, 5);
	assert_string_equal((char *)b.data, "hello");
	/* replaces what the buffer held */
	assert_int_equal(vf_fs_read_file(path, 100, false, &b, &err), 0);
	assert_int_equal(b.len, 5);
	assert_int_equal(vf_fs_read_file(empty, 0, false, &b, &err), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(vf_fs_read_file(path, 4, false, &b, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "5 bytes, more than the limit of 4"));
	assert_int_equal(vf_fs_read_file(link, 100, false, &b, &err), 0);
	assert_int_equal(vf_fs_read_file(link, 100, true, &b, &err), -ELOOP);
	assert_int_equal(vf_fs_read_file(*state, 100, false, &b, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(vf_fs_read_file("/nonexistent/x", 100, false, &b, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "No such file"));
	vf_buf_release(&b);
	free(path);
	free(link);
	free(empty);
}

/* vf_fs_mkdir_p: every missing level, existing ones fine, a file in the way named. */
static void test_mkdir_p(void **state)
{
	char *deep = vf_test_path(*state, "a/b/c"), *file = vf_test_path(*state, "f");
	char *under = vf_test_path(*state, "f/x");
	struct vf_err err = { 0 };
	struct stat st;

	assert_int_equal(vf_fs_mkdir_p(deep, &err), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(vf_fs_mkdir_p(deep, &err), 0);
	vf_test_write_file(file, "x", 1);
	assert_int_equal(vf_fs_mkdir_p(under, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "cannot create directory"));
	assert_int_equal(vf_fs_mkdir_p("", &err), -EINVAL);
	free(deep);
	free(file);
	free(under);
}

static void test_atomic_commit(void **state)
{
	char *path = vf_test_path(*state, "out.txt");
	struct vf_fs_atomic a;
	struct vf_err err = { 0 };
	struct stat st;
	char *names;
	mode_t old;

	vf_fs_atomic_init(&a);
	assert_int_equal(a.fd, -1);
	old = umask(077);
	assert_int_equal(vf_fs_atomic_open(&a, path, 0640, &err), 0);
	umask(old);
	assert_true(a.fd >= 0);
	assert_int_equal(write(a.fd, "hello\n", 6), 6);

	/* before the commit only the temporary file exists */
	names = vf_test_list_dir(*state);
	assert_int_equal(strncmp(names, ".out.txt.tmp.", 13), 0);
	assert_int_equal(strlen(names), 13 + 6);
	free(names);
	assert_int_equal(stat(path, &st), -1);

	assert_int_equal(vf_fs_atomic_commit(&a, &err), 0);
	assert_int_equal(a.fd, -1);
	assert_null(a.tmp);
	vf_test_assert_listing(*state, "out.txt");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_file_text(path, "hello\n");

	/* a second commit has nothing to do */
	assert_int_equal(vf_fs_atomic_commit(&a, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "no temporary file to commit");

	/* release after commit leaves the file alone */
	vf_fs_atomic_release(&a);
	assert_file_text(path, "hello\n");

	/* replacing an existing file */
	vf_fs_atomic_init(&a);
	assert_int_equal(vf_fs_atomic_open(&a, path, 0600, &err), 0);
	assert_int_equal(write(a.fd, "new", 3), 3);
	assert_file_text(path, "hello\n"); /* still the old one */
	assert_int_equal(vf_fs_atomic_commit(&a, &err), 0);
	vf_fs_atomic_release(&a);
	assert_file_text(path, "new");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	vf_test_assert_listing(*state, "out.txt");
	free(path);
}

static void test_atomic_release_without_commit(void **state)
{
	char *path = vf_test_path(*state, "out.txt");
	struct vf_fs_atomic a;
	struct vf_err err = { 0 };
	char *names;

	vf_fs_atomic_init(&a);
	assert_int_equal(vf_fs_atomic_open(&a, path, 0644, &err), 0);
	assert_int_equal(write(a.fd, "partial", 7), 7);
	names = vf_test_list_dir(*state);
	assert_int_equal(strncmp(names, ".out.txt.tmp.", 13), 0);
	free(names);
	vf_fs_atomic_release(&a);
	assert_int_equal(a.fd, -1);
	assert_null(a.tmp);
	assert_null(a.path);
	vf_test_assert_listing(*state, "");

	/* releasing twice, an unopened handle, or NULL is harmless */
	vf_fs_atomic_release(&a);
	vf_fs_atomic_init(&a);
	vf_fs_atomic_release(&a);
	vf_fs_atomic_release(NULL);
	free(path);
}

static void test_atomic_open_fails(void **state)
{
	char *path = vf_test_path(*state, "no-such-dir/out.txt");
	struct vf_fs_atomic a;
	struct vf_err err = { 0 };

	vf_fs_atomic_init(&a);
	assert_int_equal(vf_fs_atomic_open(&a, path, 0600, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "cannot create a temporary file next to '%s'", path);
	assert_int_equal(a.fd, -1);
	vf_fs_atomic_release(&a);
	free(path);
}

static void test_pread_pwrite(void **state)
{
	char *path = vf_test_path(*state, "data.bin");
	uint8_t buf[64];
	uint64_t size = 0;
	int fd, pipefd[2];

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(vf_fs_pwrite_full(fd, "0123456789", 10, 0), 0);
	assert_int_equal(vf_fs_size(fd, &size), 0);
	assert_int_equal(size, 10);

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(vf_fs_pread_full(fd, buf, 16, 0), 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(buf[10], 0xee);
	assert_int_equal(vf_fs_pread_full(fd, buf, sizeof(buf), 4), 6);
	assert_memory_equal(buf, "456789", 6);
	assert_int_equal(vf_fs_pread_full(fd, buf, 4, 3), 4);
	assert_memory_equal(buf, "3456", 4);
	assert_int_equal(vf_fs_pread_full(fd, buf, 4, 10), 0);
	assert_int_equal(vf_fs_pread_full(fd, buf, 4, 1000), 0);
	assert_int_equal(vf_fs_pread_full(fd, buf, 0, 0), 0);

	/* writing past the end leaves a zero gap */
	assert_int_equal(vf_fs_pwrite_full(fd, "AB", 2, 20), 0);
	assert_int_equal(vf_fs_size(fd, &size), 0);
	assert_int_equal(size, 22);
	assert_int_equal(vf_fs_pread_full(fd, buf, sizeof(buf), 8), 14);
	assert_memory_equal(buf, "89\0\0\0\0\0\0\0\0\0\0AB", 14);
	close(fd);

	assert_int_equal(vf_fs_pread_full(-1, buf, 4, 0), -EBADF);
	assert_int_equal(vf_fs_pwrite_full(-1, buf, 4, 0), -EBADF);
	assert_int_equal(vf_fs_size(-1, &size), -EBADF);

	/* a pipe has no size */
	assert_int_equal(pipe(pipefd), 0);
	size = 77;
	assert_int_equal(vf_fs_size(pipefd[0], &size), -EINVAL);
	assert_int_equal(size, 77);
	close(pipefd[0]);
	close(pipefd[1]);
	free(path);
}

static void test_fsync_parent(void **state)
{
	char *path = vf_test_path(*state, "x"), *missing = vf_test_path(*state, "gone/x");
	struct vf_err err = { 0 };

	assert_int_equal(vf_fs_fsync_parent(path, &err), 0);
	assert_int_equal(vf_fs_fsync_parent(missing, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "cannot open directory");
	vf_test_assert_contains(err.msg, "/gone'");
	free(path);
	free(missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_format),
		cmocka_unit_test(test_hex_parse),
		cmocka_unit_test(test_hex_parse_rejects),
		cmocka_unit_test(test_uuid_round_trip),
		cmocka_unit_test(test_uuid_rejects),
		cmocka_unit_test(test_uuid_v4),
		cmocka_unit_test(test_err_set),
		cmocka_unit_test(test_err_prefix_chain),
		cmocka_unit_test(test_err_null),
		cmocka_unit_test(test_err_truncation),
		cmocka_unit_test(test_buf_add),
		cmocka_unit_test(test_buf_growth),
		vf_test_in_tmpdir(test_read_file),
		vf_test_in_tmpdir(test_mkdir_p),
		vf_test_in_tmpdir(test_atomic_commit),
		vf_test_in_tmpdir(test_atomic_release_without_commit),
		vf_test_in_tmpdir(test_atomic_open_fails),
		vf_test_in_tmpdir(test_pread_pwrite),
		vf_test_in_tmpdir(test_fsync_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
