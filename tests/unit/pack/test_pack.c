/* builder/tree/pack.c: deterministic package archives, read back independently. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "builder/tree/pack.h"
#include "builder/tree/tree.h"
#include "tests/unit/testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define EPOCH 1700000000

static void assert_msg(const struct vf_err *err, const char *want)
{
	if (!strstr(err->msg, want))
		print_error("message '%s' lacks '%s'\n", err->msg, want);
	assert_non_null(strstr(err->msg, want));
}

/* ---- fixtures ------------------------------------------------------------------ */

static void mkdir_p(const char *path, mode_t mode)
{
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void put(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *p = vf_test_path(dir, name);

	vf_test_write_file(p, text, strlen(text));
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void put_xattr(const char *dir, const char *name, const char *xname, const void *v,
		      size_t len)
{
	char *p = vf_test_path(dir, name);

	if (lsetxattr(p, xname, v, len, 0) != 0) {
		print_error("setxattr '%s' on '%s': %s\n", xname, p, strerror(errno));
		fail();
	}
	free(p);
}

/*
 * The reference tree. `reverse` creates everything in the opposite order (so
 * readdir order differs) and `touch` gives every file a different, newer mtime.
 */
static void make_tree(const char *dir, bool reverse)
{
	static const char *const names[] = { "B", "a-c", "a.txt", "z", "\xc3\xa9t\xc3\xa9" };
	char *p, *q;

	for (size_t k = 0; k < 5; k++) {
		size_t i = reverse ? 4 - k : k;

		put(dir, names[i], names[i], 0644);
	}
	p = vf_test_path(dir, "a");
	mkdir_p(p, 0755);
	free(p);
	if (reverse) {
		put(dir, "a/y", "y", 0600);
		put(dir, "a/x", "x", 0600);
	} else {
		put(dir, "a/x", "x", 0600);
		put(dir, "a/y", "y", 0600);
	}
	put(dir, "su", "#!/bin/true\n", 04755);
	put(dir, "sg", "sg", 02711);
	p = vf_test_path(dir, "a/tmp");
	mkdir_p(p, 01777);
	free(p);
	p = vf_test_path(dir, "link");
	assert_int_equal(symlink("a/x", p), 0);
	free(p);
	/* a hardlink pair: "hard" sorts before "z", so "hard" carries the data */
	p = vf_test_path(dir, "z");
	q = vf_test_path(dir, "hard");
	assert_int_equal(link(p, q), 0);
	free(p);
	free(q);
	p = vf_test_path(dir, "fifo");
	assert_int_equal(mkfifo(p, 0640), 0);
	assert_int_equal(chmod(p, 0640), 0);
	free(p);
	p = vf_test_path(dir, "null");
	assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
	assert_int_equal(chmod(p, 0666), 0);
	free(p);
	if (reverse) {
		put_xattr(dir, "z", "user.b", "2", 1);
		put_xattr(dir, "z", "user.a", "\0\1\2", 3);
	} else {
		put_xattr(dir, "z", "user.a", "\0\1\2", 3);
		put_xattr(dir, "z", "user.b", "2", 1);
	}
	put_xattr(dir, "a", "user.dir", "", 0);
	p = vf_test_path(dir, "a/x");
	assert_int_equal(chown(p, 1234, 5678), 0);
	free(p);
}

static void touch_all(const char *dir, time_t when)
{
	static const char *const names[] = { "B", "a", "a-c", "a.txt", "a/x", "a/y", "z", "su",
					     "sg", "fifo", "hard", "a/tmp" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct timespec ts[2] = { { when + (time_t)i, 0 }, { when + (time_t)i, 0 } };
		char *p = vf_test_path(dir, names[i]);

		assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
		free(p);
	}
}

/* ---- reading archives back with libarchive --------------------------------------- */

struct ent {
	char *name;
	unsigned type, mode, uid, gid;
	int64_t mtime, size;
	bool has_atime, has_ctime, has_birthtime, has_uname, has_gname;
	char *symlink, *hardlink;
	unsigned rmajor, rminor;
	char *xattrs;    /* "name=hex;..." in archive order */
	char *data;      /* content (small files) */
};

struct listing {
	struct ent *e;
	size_t n;
};

static void free_listing(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].name);
		free(l->e[i].symlink);
		free(l->e[i].hardlink);
		free(l->e[i].xattrs);
		free(l->e[i].data);
	}
	free(l->e);
}

static struct listing read_back(const char *path)
{
	struct listing l = { NULL, 0 };
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r;

	assert_non_null(a);
	assert_int_equal(archive_read_support_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_filename(a, path, 16384), ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		struct ent *e;
		const char *xn;
		const void *xv;
		size_t xl;
		char *xs = calloc(1, 1);
		size_t xslen = 0;

		l.e = realloc(l.e, (l.n + 1) * sizeof(*l.e));
		assert_non_null(l.e);
		e = &l.e[l.n++];
		memset(e, 0, sizeof(*e));
		e->name = strdup(archive_entry_pathname(ae));
		e->type = archive_entry_filetype(ae);
		e->mode = archive_entry_perm(ae);
		e->uid = (unsigned)archive_entry_uid(ae);
		e->gid = (unsigned)archive_entry_gid(ae);
		e->mtime = archive_entry_mtime(ae);
		assert_int_equal(archive_entry_mtime_nsec(ae), 0);
		e->size = archive_entry_size(ae);
		e->has_atime = archive_entry_atime_is_set(ae);
		e->has_ctime = archive_entry_ctime_is_set(ae);
		e->has_birthtime = archive_entry_birthtime_is_set(ae);
		e->has_uname = archive_entry_uname(ae) && archive_entry_uname(ae)[0];
		e->has_gname = archive_entry_gname(ae) && archive_entry_gname(ae)[0];
		if (archive_entry_symlink(ae))
			e->symlink = strdup(archive_entry_symlink(ae));
		if (archive_entry_hardlink(ae))
			e->hardlink = strdup(archive_entry_hardlink(ae));
		e->rmajor = (unsigned)archive_entry_rdevmajor(ae);
		e->rminor = (unsigned)archive_entry_rdevminor(ae);
		archive_entry_xattr_reset(ae);
		while (archive_entry_xattr_next(ae, &xn, &xv, &xl) == ARCHIVE_OK) {
			char hex[64];

			assert_true(xl < sizeof(hex) / 2);
			vf_hex_format(xv, xl, hex);
			xs = realloc(xs, xslen + strlen(xn) + strlen(hex) + 3);
			assert_non_null(xs);
			xslen += (size_t)sprintf(xs + xslen, "%s=%s;", xn, hex);
		}
		e->xattrs = xs;
		if (e->type == AE_IFREG && e->size > 0 && e->size < 1 << 24) {
			e->data = malloc((size_t)e->size + 1);
			assert_non_null(e->data);
			assert_int_equal(archive_read_data(a, e->data, (size_t)e->size), e->size);
			e->data[e->size] = '\0';
		}
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
	return l;
}

static const struct ent *find(const struct listing *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->e[i].name, name) == 0)
			return &l->e[i];
	print_error("archive has no entry '%s'\n", name);
	fail();
	return NULL;
}

/* ---- packing in a child process with its own umask, TZ and locale -------------------- */

struct child_env {
	mode_t umask;
	const char *tz, *locale;
};

static void pack_in_child(const char *dir, const char *out, const struct vf_pack_opts *o,
			  const struct child_env *env, uint8_t sha[32])
{
	int fds[2];
	pid_t pid;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vf_err err = { 0 };
		uint8_t h[32];

		close(fds[0]);
		umask(env->umask);
		setenv("TZ", env->tz, 1);
		tzset();
		setenv("LC_ALL", env->locale, 1);
		if (!setlocale(LC_ALL, env->locale))
			_exit(3);
		if (vf_pack_dir(dir, out, o, h, &err) != 0) {
			(void)!write(2, err.msg, strlen(err.msg));
			_exit(1);
		}
		_exit(write(fds[1], h, 32) == 32 ? 0 : 2);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], sha, 32), 32);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void sha256_file(const char *path, uint8_t out[32])
{
	char cmd[4200], line[128];
	FILE *f;
	size_t len;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	pclose(f);
	assert_true(strlen(line) > 64);
	line[64] = '\0';
	assert_int_equal(vf_hex_parse(line, out, 32, &len), 0);
	assert_int_equal(len, 32);
}

/* ---- tests -------------------------------------------------------------------- */

/*
 * Two trees with the same contents, created in opposite orders, one touched
 * after the fact, packed by two processes with different umask, TZ and locale:
 * the same bytes, and the returned sha256 is that of the file.
 */
/* Names in readdir() order, joined by spaces (caller frees). */
static char *readdir_order(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *out = calloc(1, 1);
	size_t len = 0;

	assert_non_null(d);
	assert_non_null(out);
	while ((de = readdir(d))) {
		out = realloc(out, len + strlen(de->d_name) + 2);
		assert_non_null(out);
		len += (size_t)sprintf(out + len, "%s ", de->d_name);
	}
	closedir(d);
	return out;
}

/* The tmpfs directory of test_deterministic, removed by its teardown even on failure. */
static char *shm;

static int teardown_shm(void **state)
{
	if (shm) {
		vf_test_rmtree(shm);
		free(shm);
		shm = NULL;
	}
	return vf_test_tmpdir_teardown(state);
}

static void test_deterministic(void **state)
{
	const char *tmp = *state;
	char *d1 = vf_test_path(tmp, "one"), *d2, *r1, *r2;
	char *o1 = vf_test_path(tmp, "one.tar.zst"), *o2 = vf_test_path(tmp, "two.tar.zst");
	struct vf_pack_opts o = { .clamp_mtime = true, .mtime = EPOCH };
	struct child_env e1 = { 022, "UTC", "C" }, e2 = { 077, "Pacific/Chatham", "C.UTF-8" };
	uint8_t h1[32], h2[32], hf[32];
	uint8_t *b1, *b2;
	size_t l1, l2;
	struct stat st;

	/* the second tree on tmpfs when there is one: its readdir order differs from ext4's */
	if (access("/dev/shm", W_OK) == 0) {
		shm = strdup("/dev/shm/vf-unit-pack.XXXXXX");
		assert_non_null(shm);
		assert_non_null(mkdtemp(shm));
		d2 = vf_test_path(shm, "two");
	} else {
		d2 = vf_test_path(tmp, "two");
	}
	mkdir_p(d1, 0755);
	mkdir_p(d2, 0755);
	make_tree(d1, false);
	make_tree(d2, true);
	touch_all(d2, time(NULL));
	r1 = readdir_order(d1);
	r2 = readdir_order(d2);
	if (strcmp(r1, r2) == 0)
		print_message("note: both trees list in the same readdir order: '%s'\n", r1);
	free(r1);
	free(r2);
	pack_in_child(d1, o1, &o, &e1, h1);
	pack_in_child(d2, o2, &o, &e2, h2);

	b1 = vf_test_read_file(o1, &l1);
	b2 = vf_test_read_file(o2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_memory_equal(h1, h2, 32);
	sha256_file(o1, hf);
	assert_memory_equal(h1, hf, 32);
	/* the output's mode does not follow the umask */
	assert_int_equal(stat(o2, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* and any change to the contents changes the bytes */
	put(d2, "a/x", "X", 0600);
	pack_in_child(d2, o2, &o, &e2, h2);
	assert_memory_not_equal(h1, h2, 32);
	free(b1);
	free(b2);
	free(d1);
	free(d2);
	free(o1);
	free(o2);
}

/* Names, order, types, modes, owners, times, links, devices and xattrs survive. */
static void test_round_trip(void **state)
{
	const char *tmp = *state;
	char *d = vf_test_path(tmp, "tree"), *out = vf_test_path(tmp, "p.tar.zst");
	struct vf_pack_opts o = { .clamp_mtime = true, .mtime = EPOCH };
	static const char *const order[] = {
		"B", "a/", "a/tmp/", "a/x", "a/y", "a-c", "a.txt", "fifo", "hard", "link", "null",
		"sg", "su", "z", "\xc3\xa9t\xc3\xa9",
	};
	struct vf_err err = { 0 };
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	struct listing l;
	const struct ent *e;
	uint8_t sha[32];
	char *p;

	mkdir_p(d, 0755);
	make_tree(d, false);
	touch_all(d, EPOCH + 100);  /* newer than EPOCH: clamped */
	p = vf_test_path(d, "B");
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);  /* older: kept */
	free(p);

	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), 0);
	l = read_back(out);
	assert_int_equal(l.n, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.e[i].name, order[i]))
			print_error("entry %zu: expected '%s', got '%s'\n", i, order[i], l.e[i].name);
		assert_string_equal(l.e[i].name, order[i]);
		assert_false(l.e[i].has_atime);
		assert_false(l.e[i].has_ctime);
		assert_false(l.e[i].has_birthtime);
		assert_false(l.e[i].has_uname);
		assert_false(l.e[i].has_gname);
		assert_int_equal(l.e[i].mtime, strcmp(order[i], "B") ? EPOCH : 1000);
	}
	e = find(&l, "su");
	assert_int_equal(e->type, AE_IFREG);
	assert_int_equal(e->mode, 04755);
	assert_string_equal(e->data, "#!/bin/true\n");
	assert_int_equal(find(&l, "sg")->mode, 02711);
	assert_int_equal(find(&l, "a/tmp/")->mode, 01777);
	assert_int_equal(find(&l, "a/tmp/")->type, AE_IFDIR);
	e = find(&l, "a/x");
	assert_int_equal(e->uid, 1234);
	assert_int_equal(e->gid, 5678);
	assert_int_equal(e->mode, 0600);
	assert_string_equal(e->data, "x");
	e = find(&l, "link");
	assert_int_equal(e->type, AE_IFLNK);
	assert_string_equal(e->symlink, "a/x");
	/* "hard" < "z": the first name in sorted order holds the data, the other links to it */
	e = find(&l, "hard");
	assert_int_equal(e->type, AE_IFREG);
	assert_null(e->hardlink);
	assert_string_equal(e->data, "z");
	/* libarchive's reader lists xattrs last-first; the archive order (sorted) is
	 * checked with GNU tar in test_gnu_tar_lists */
	assert_string_equal(e->xattrs, "user.b=32;user.a=000102;");
	e = find(&l, "z");
	assert_non_null(e->hardlink);
	assert_string_equal(e->hardlink, "hard");
	assert_int_equal(e->size, 0);
	e = find(&l, "fifo");
	assert_int_equal(e->type, AE_IFIFO);
	assert_int_equal(e->mode, 0640);
	e = find(&l, "null");
	assert_int_equal(e->type, AE_IFCHR);
	assert_int_equal(e->rmajor, 1);
	assert_int_equal(e->rminor, 3);
	assert_string_equal(find(&l, "a/")->xattrs, "user.dir=;");
	assert_string_equal(find(&l, "\xc3\xa9t\xc3\xa9")->data, "\xc3\xa9t\xc3\xa9");
	free_listing(&l);

	/* set_owner and set_mtime override everything */
	o = (struct vf_pack_opts){ .set_owner = true, .uid = 7, .gid = 3000000, .set_mtime = true,
				   .mtime = 42, .level = 3 };
	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), 0);
	l = read_back(out);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(l.e[i].uid, 7);
		assert_int_equal(l.e[i].gid, 3000000);
		assert_int_equal(l.e[i].mtime, 42);
	}
	free_listing(&l);
	free(d);
	free(out);
}

/* A file larger than the copy buffer streams through intact. */
static void test_large_file(void **state)
{
	const char *tmp = *state;
	char *d = vf_test_path(tmp, "big"), *out = vf_test_path(tmp, "big.tar.zst"), *f;
	const size_t len = 3 * 65536 + 123;
	uint8_t *data = malloc(len), sha[32];
	struct vf_pack_opts o = { .set_mtime = true, .level = 1 };
	struct vf_err err = { 0 };
	struct listing l;

	assert_non_null(data);
	mkdir_p(d, 0755);
	vf_test_data(7, data, len);
	f = vf_test_path(d, "blob");
	vf_test_write_file(f, data, len);
	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), 0);
	l = read_back(out);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.e[0].size, (int64_t)len);
	assert_memory_equal(l.e[0].data, data, len);
	free_listing(&l);
	free(f);
	free(data);
	free(d);
	free(out);
}

/* Collapse runs of spaces: GNU tar's column widths are not part of the check. */
static void squeeze(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++)
		if (!(*r == ' ' && w > s && w[-1] == ' '))
			*w++ = *r;
	*w = '\0';
}

/* GNU tar and the zstd tool, written by others, read the archive. */
static void test_gnu_tar_lists(void **state)
{
	const char *tmp = *state;
	struct vf_pack_opts o = { .clamp_mtime = true, .mtime = EPOCH };
	struct vf_err err = { 0 };
	char cmd[8192], d[4096], out[4096], *text;
	uint8_t sha[32];
	size_t len;

	if (system("command -v tar >/dev/null && command -v zstd >/dev/null") != 0) {
		skip();
		return;
	}
	snprintf(d, sizeof(d), "%s/t", tmp);
	snprintf(out, sizeof(out), "%s/t.tar.zst", tmp);
	mkdir_p(d, 0755);
	make_tree(d, false);
	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), 0);
	snprintf(cmd, sizeof(cmd), "zstd -q -t '%s'", out);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "TZ=UTC tar --zstd --xattrs --xattrs-include='*' --numeric-owner -tvvf '%s' "
		 ">'%s/list' 2>'%s/stderr'", out, tmp, tmp);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/list", tmp);
	text = (char *)vf_test_read_file(cmd, &len);
	squeeze(text);
	vf_test_assert_contains(text, "-rwsr-xr-x 0/0 12 2023-11-14 22:13 su\n");
	vf_test_assert_contains(text, "-rwx--s--x 0/0 2 2023-11-14 22:13 sg\n");
	vf_test_assert_contains(text, "-rw------- 1234/5678 1 2023-11-14 22:13 a/x\n");
	vf_test_assert_contains(text, "drwxrwxrwt 0/0 0 2023-11-14 22:13 a/tmp/\n");
	vf_test_assert_contains(text, " 2023-11-14 22:13 link -> a/x\n");
	vf_test_assert_contains(text, " 2023-11-14 22:13 z link to hard\n");
	vf_test_assert_contains(text, "crw-rw-rw- 0/0 1,3 2023-11-14 22:13 null\n");
	vf_test_assert_contains(text, "prw-r----- 0/0 0 2023-11-14 22:13 fifo\n");
	vf_test_assert_contains(text, " 2023-11-14 22:13 hard\n x: 3 user.a\n x: 1 user.b\n");
	free(text);
}

/* Errors name the path; nothing is left behind. */
static void test_errors(void **state)
{
	const char *tmp = *state;
	char *d = vf_test_path(tmp, "src"), *outdir = vf_test_path(tmp, "out");
	char *out = vf_test_path(outdir, "p.tar.zst"), *missing = vf_test_path(tmp, "nope");
	char *file = vf_test_path(tmp, "plain"), *sock = vf_test_path(d, "sock");
	char *inside = vf_test_path(d, "self.tar.zst");
	struct vf_pack_opts o = { .set_mtime = true };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vf_err err = { 0 };
	uint8_t sha[32], *old;
	size_t len;
	int fd;

	mkdir_p(d, 0755);
	mkdir_p(outdir, 0755);
	put(d, "f", "f", 0644);
	vf_test_write_file(file, "x", 1);

	assert_int_equal(vf_pack_dir(missing, out, &o, sha, &err), -ENOENT);
	assert_msg(&err, "cannot stat '");
	assert_msg(&err, "/nope'");

	assert_int_equal(vf_pack_dir(file, out, &o, sha, &err), -ENOTDIR);
	assert_msg(&err, "/plain' is not a directory");

	assert_int_equal(vf_pack_dir(d, inside, &o, sha, &err), -EINVAL);
	assert_msg(&err, "is inside the directory being packed");

	o.level = 23;
	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), -EINVAL);
	assert_msg(&err, "zstd level: expected 1 to 22, got 23");
	o.level = 0;

	/* a missing output directory */
	assert_int_equal(vf_pack_dir(d, "/nonexistent-dir/p.tar.zst", &o, sha, &err), -ENOENT);
	assert_msg(&err, "/nonexistent-dir/p.tar.zst");

	/* a socket: refused, naming it; the old output stays, no temporary file is left */
	vf_test_write_file(out, "old", 3);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), -EINVAL);
	assert_msg(&err, "/src/sock' is a socket: sockets cannot be packed");
	vf_test_assert_listing(outdir, "p.tar.zst");
	old = vf_test_read_file(out, &len);
	assert_string_equal((char *)old, "old");
	free(old);
	close(fd);
	unlink(sock);

	/* fifos are fine; the output is replaced on success */
	assert_int_equal(mkfifo(sock, 0644), 0);
	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), 0);
	vf_test_assert_listing(outdir, "p.tar.zst");
	old = vf_test_read_file(out, &len);
	assert_true(len > 4);
	assert_memory_equal(old, "\x28\xb5\x2f\xfd", 4);  /* a zstd frame */
	free(old);

	free(d);
	free(outdir);
	free(out);
	free(missing);
	free(file);
	free(sock);
	free(inside);
}

/* An unreadable file (for an unprivileged user) fails naming it, leaving nothing. */
static void test_unreadable(void **state)
{
	const char *tmp = *state;
	char *d = vf_test_path(tmp, "src"), *outdir = vf_test_path(tmp, "out");
	char *out = vf_test_path(outdir, "p.tar.zst");
	int fds[2], status;
	char msg[VF_ERR_MSG_MAX + 1] = "";
	ssize_t n;
	pid_t pid;

	mkdir_p(d, 0755);
	mkdir_p(outdir, 0777);
	assert_int_equal(chmod(tmp, 0755), 0);
	put(d, "ok", "ok", 0644);
	put(d, "secret", "s", 0000);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vf_pack_opts o = { .set_mtime = true };
		struct vf_err err = { 0 };
		uint8_t sha[32];
		int r;

		close(fds[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		r = vf_pack_dir(d, out, &o, sha, &err);
		(void)!write(fds[1], err.msg, strlen(err.msg));
		_exit(r == -EACCES ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	assert_true(n >= 0);
	msg[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 3) {
		free(d);
		free(outdir);
		free(out);
		skip();  /* not allowed to drop privileges here */
		return;
	}
	if (WEXITSTATUS(status) != 0)
		print_error("child: '%s'\n", msg);
	assert_int_equal(WEXITSTATUS(status), 0);
	vf_test_assert_contains(msg, "cannot open '");
	vf_test_assert_contains(msg, "/src/secret': Permission denied");
	vf_test_assert_listing(outdir, "");
	free(d);
	free(outdir);
	free(out);
}

/* The caller's locale does not change how non-ASCII names are stored. */
static void test_locale_independent(void **state)
{
	const char *tmp = *state;
	char *d = vf_test_path(tmp, "l"), *o1 = vf_test_path(tmp, "1.tar.zst");
	char *o2 = vf_test_path(tmp, "2.tar.zst");
	struct vf_pack_opts o = { .set_mtime = true };
	struct vf_err err = { 0 };
	uint8_t h1[32], h2[32];

	mkdir_p(d, 0755);
	put(d, "caf\xc3\xa9", "1", 0644);
	put(d, "latin1-\xe9", "2", 0644);  /* not UTF-8 */
	assert_non_null(setlocale(LC_ALL, "C"));
	assert_int_equal(vf_pack_dir(d, o1, &o, h1, &err), 0);
	if (!setlocale(LC_ALL, "C.UTF-8")) {
		free(d);
		free(o1);
		free(o2);
		skip();
		return;
	}
	assert_int_equal(vf_pack_dir(d, o2, &o, h2, &err), 0);
	setlocale(LC_ALL, "C");
	assert_memory_equal(h1, h2, 32);
	free(d);
	free(o1);
	free(o2);
}

/* What vforge packs, vforge's own importer takes back: the builder's round trip. */
static void test_import_round_trip(void **state)
{
	const char *tmp = *state;
	char *d = vf_test_path(tmp, "tree"), *out = vf_test_path(tmp, "p.tar.zst");
	char *store = vf_test_path(tmp, "store");
	struct vf_pack_opts o = { .set_owner = true, .uid = 0, .gid = 0, .clamp_mtime = true,
				  .mtime = EPOCH };
	struct vf_tree_import_opts io = { .pkg_name = "demo", .allow_devices = true };
	struct vf_tree_limits lim = { 0 };
	const struct vf_tree_entry *e;
	struct vf_err err = { 0 };
	struct vf_tree *t;
	uint8_t sha[32];

	mkdir_p(d, 0755);
	mkdir_p(store, 0700);
	make_tree(d, false);
	assert_int_equal(vf_pack_dir(d, out, &o, sha, &err), 0);
	t = vf_tree_new(&lim, store);
	assert_non_null(t);
	if (vf_tree_import_archive(t, out, &io, &err)) {
		print_error("import: %s\n", err.msg);
		fail();
	}
	e = vf_tree_get(t, "su");
	assert_non_null(e);
	assert_int_equal(e->type, VF_TREE_FILE);
	assert_int_equal(e->mode, 04755);
	assert_int_equal(e->mtime, EPOCH);
	assert_string_equal(e->origin, "demo");
	e = vf_tree_get(t, "a/tmp");
	assert_non_null(e);
	assert_int_equal(e->type, VF_TREE_DIR);
	assert_int_equal(e->mode, 01777);
	e = vf_tree_get(t, "z");
	assert_non_null(e);
	assert_int_equal(e->type, VF_TREE_HARDLINK);
	assert_string_equal(e->link, "hard");
	e = vf_tree_get(t, "hard");
	assert_non_null(e);
	assert_int_equal(e->type, VF_TREE_FILE);
	assert_int_equal(e->n_xattrs, 2);
	assert_string_equal(e->xattrs[0].name, "user.a");
	assert_int_equal(e->xattrs[0].len, 3);
	assert_memory_equal(e->xattrs[0].value, "\0\1\2", 3);
	assert_string_equal(e->xattrs[1].name, "user.b");
	e = vf_tree_get(t, "link");
	assert_non_null(e);
	assert_int_equal(e->type, VF_TREE_SYMLINK);
	assert_string_equal(e->link, "a/x");
	e = vf_tree_get(t, "null");
	assert_non_null(e);
	assert_int_equal(e->type, VF_TREE_CHR);
	assert_int_equal(e->rdev_major, 1);
	assert_int_equal(e->rdev_minor, 3);
	assert_int_equal(vf_tree_get(t, "fifo")->type, VF_TREE_FIFO);
	assert_non_null(vf_tree_get(t, "\xc3\xa9t\xc3\xa9"));
	/* the root, the 15 entries, nothing else */
	assert_int_equal(vf_tree_count(t), 16);
	vf_tree_free(t);
	free(d);
	free(out);
	free(store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deterministic, vf_test_tmpdir_setup, teardown_shm),
		cmocka_unit_test_setup_teardown(test_round_trip, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_import_round_trip, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_large_file, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_gnu_tar_lists, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_errors, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_locale_independent, vf_test_tmpdir_setup,
						vf_test_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
