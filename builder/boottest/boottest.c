/*
 * boot-test: the console classifier, the choice of bank, the kernel command
 * line and qemu's arguments, and the extraction of BOOT's files. Running qemu
 * is in boottest_run.c.
 */
#include "builder/boottest/boottest.h"

#include "builder/base/fs.h"
#include "builder/ext4/ext4.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the console classifier ------------------------------------------------------------ */

static bool has(const char *line, size_t len, const char *needle)
{
	return memmem(line, len, needle, strlen(needle)) != NULL;
}

/* Whether `needle` occurs in line after the first occurrence of `first`. */
static bool has_after(const char *line, size_t len, const char *first, const char *needle)
{
	const char *p = memmem(line, len, first, strlen(first));

	if (!p)
		return false;
	p += strlen(first);
	return memmem(p, len - (size_t)(p - line), needle, strlen(needle)) != NULL;
}

enum vf_boottest_line vf_boottest_line_classify(const char *line, size_t len)
{
	/* failures first: one of them on a line decides against a success on it */
	if (has(line, len, VF_BOOTTEST_MARK_FAILURE))
		return VF_BOOTTEST_LINE_INIT_FAILURE;
	if (has(line, len, VF_BOOTTEST_MARK_FATAL))
		return VF_BOOTTEST_LINE_VINIT_FATAL;
	if (has_after(line, len, "device-mapper: verity", "block") &&
	    has_after(line, len, "device-mapper: verity", "is corrupted"))
		return VF_BOOTTEST_LINE_VERITY;
	if (has(line, len, "Kernel panic"))
		return VF_BOOTTEST_LINE_PANIC;
	if (has(line, len, "reboot: Restarting system"))
		return VF_BOOTTEST_LINE_RESTART;
	if (has(line, len, VF_BOOTTEST_MARK_SUCCESS))
		return VF_BOOTTEST_LINE_SUCCESS;
	if (has(line, len, "vinit:") || has(line, len, "vforge-init:") ||
	    has(line, len, "device-mapper: verity") || has(line, len, "device-mapper: table") ||
	    has(line, len, "reboot: Power down"))
		return VF_BOOTTEST_LINE_INFO;
	return VF_BOOTTEST_LINE_OTHER;
}

const char *vf_boottest_line_name(enum vf_boottest_line c)
{
	switch (c) {
	case VF_BOOTTEST_LINE_INFO:
		return "info";
	case VF_BOOTTEST_LINE_SUCCESS:
		return "success";
	case VF_BOOTTEST_LINE_INIT_FAILURE:
		return "init-failure";
	case VF_BOOTTEST_LINE_VINIT_FATAL:
		return "vinit-fatal";
	case VF_BOOTTEST_LINE_VERITY:
		return "verity";
	case VF_BOOTTEST_LINE_PANIC:
		return "panic";
	case VF_BOOTTEST_LINE_RESTART:
		return "restart";
	case VF_BOOTTEST_LINE_OTHER:
		break;
	}
	return "";
}

size_t vf_boottest_sanitize(const char *line, size_t len, char *out, size_t out_size)
{
	size_t n = 0;

	if (!out_size)
		return 0;
	for (size_t i = 0; i < len && n + 1 < out_size; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == 0x1b) {
			/* ESC [ params final, or ESC and one more byte */
			if (i + 1 < len && line[i + 1] == '[') {
				i += 2;
				while (i < len && !((unsigned char)line[i] >= 0x40 &&
						    (unsigned char)line[i] <= 0x7e))
					i++;
			} else {
				i++;
			}
			continue;
		}
		if (c == '\t' || (c >= 0x20 && c < 0x7f))
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return n;
}

void vf_boottest_scan_init(struct vf_boottest_scan *s)
{
	memset(s, 0, sizeof(*s));
	vf_buf_init(&s->partial);
}

void vf_boottest_scan_release(struct vf_boottest_scan *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_lines; i++)
		free(s->lines[i]);
	free(s->lines);
	free(s->reason);
	vf_buf_release(&s->partial);
	s->lines = NULL;
	s->reason = NULL;
	s->n_lines = s->n_dropped = 0;
}

static bool is_failure(enum vf_boottest_line c)
{
	return c == VF_BOOTTEST_LINE_INIT_FAILURE || c == VF_BOOTTEST_LINE_VINIT_FATAL ||
	       c == VF_BOOTTEST_LINE_VERITY || c == VF_BOOTTEST_LINE_PANIC ||
	       c == VF_BOOTTEST_LINE_RESTART;
}

/* One line (already split): classify, keep and report it. */
static int scan_line(struct vf_boottest_scan *s, const char *line, size_t len)
{
	enum vf_boottest_line c = len ? vf_boottest_line_classify(line, len) : VF_BOOTTEST_LINE_OTHER;
	char *text;

	if (!len || c == VF_BOOTTEST_LINE_OTHER)
		return 0;
	text = malloc(len + 1);
	if (!text)
		return -ENOMEM;
	vf_boottest_sanitize(line, len, text, len + 1);
	if (is_failure(c) && s->verdict != VF_BOOTTEST_FAILED) {
		char *r = strdup(text);

		if (!r) {
			free(text);
			return -ENOMEM;
		}
		free(s->reason);
		s->reason = r;
		s->verdict = VF_BOOTTEST_FAILED;
		s->cause = c;
	} else if (c == VF_BOOTTEST_LINE_SUCCESS && s->verdict == VF_BOOTTEST_UNDECIDED) {
		char *r = strdup(text);

		if (!r) {
			free(text);
			return -ENOMEM;
		}
		s->reason = r;
		s->verdict = VF_BOOTTEST_PASSED;
		s->cause = c;
	}
	if (s->on_line)
		s->on_line(s->ctx, c, text);
	if (s->n_lines >= VF_BOOTTEST_LINES_MAX) {
		s->n_dropped++;
		free(text);
		return 0;
	}
	if (!(s->n_lines & (s->n_lines - 1))) {
		/* the capacity is the next power of two: grow when n_lines is 0 or one */
		size_t cap = s->n_lines ? 2 * s->n_lines : 1;
		char **v = realloc(s->lines, cap * sizeof(*v));

		if (!v) {
			free(text);
			return -ENOMEM;
		}
		s->lines = v;
	}
	s->lines[s->n_lines++] = text;
	return 0;
}

/* The length of a kernel message header "[ <digits>.<digits>]" at p, 0 if none. */
static size_t kernel_header(const char *p, size_t len)
{
	size_t i = 1, digits = 0;

	if (len < 4 || p[0] != '[')
		return 0;
	while (i < len && p[i] == ' ')
		i++;
	while (i < len && p[i] >= '0' && p[i] <= '9')
		i++, digits++;
	if (!digits || i >= len || p[i] != '.')
		return 0;
	i++;
	digits = 0;
	while (i < len && p[i] >= '0' && p[i] <= '9')
		i++, digits++;
	if (!digits || i >= len || p[i] != ']')
		return 0;
	return i + 1;
}

/* A complete console line: split it before kernel headers that do not start it. */
static int scan_split(struct vf_boottest_scan *s, const char *line, size_t len)
{
	size_t start = 0;
	int r;

	for (size_t i = 1; i < len; i++)
		if (line[i] == '[' && kernel_header(line + i, len - i)) {
			if ((r = scan_line(s, line + start, i - start)))
				return r;
			start = i;
		}
	return scan_line(s, line + start, len - start);
}

int vf_boottest_scan_feed(struct vf_boottest_scan *s, const void *data, size_t len)
{
	const char *p = data;
	int r;

	s->n_bytes += len;
	while (len) {
		const char *nl = memchr(p, '\n', len);
		size_t take = nl ? (size_t)(nl - p) : len;
		size_t room = VF_BOOTTEST_LINE_MAX - s->partial.len;
		bool full = false;

		if (take >= room) {
			take = room;
			full = true;
			nl = NULL;
		}
		if (take && (r = vf_buf_add(&s->partial, p, take)))
			return r;
		p += take;
		len -= take;
		if (nl) {
			p++;
			len--;
		}
		if (nl || full) {
			r = scan_split(s, (const char *)s->partial.data, s->partial.len);
			s->partial.len = 0;
			if (s->partial.data)
				s->partial.data[0] = '\0';
			if (r)
				return r;
		}
	}
	return 0;
}

int vf_boottest_scan_finish(struct vf_boottest_scan *s)
{
	int r = 0;

	if (s->partial.len)
		r = scan_split(s, (const char *)s->partial.data, s->partial.len);
	s->partial.len = 0;
	if (s->partial.data)
		s->partial.data[0] = '\0';
	return r;
}

int vf_boottest_classify(const void *text, size_t len, struct vf_boottest_scan *s)
{
	int r;

	vf_boottest_scan_init(s);
	if ((r = vf_boottest_scan_feed(s, text, len)))
		return r;
	return vf_boottest_scan_finish(s);
}

/* ---- what to boot ---------------------------------------------------------------------- */

int vf_boottest_bank_choose(const struct vf_updater_status *st, int want, int *ret,
			    struct vf_err *err)
{
	if (want < 0) {
		if (st->next < 0)
			return vf_err_set(err, ENOENT, "no bank boots by the A/B attributes "
					  "(A: %s; B: %s): choose one with --bank",
					  st->bank[0].present ? "not bootable" : "missing",
					  st->bank[1].present ? "not bootable" : "missing");
		want = st->next;
	}
	if (want > 1)
		return vf_err_set(err, EINVAL, "bank %d: expected 0 (A) or 1 (B)", want);
	if (!st->bank[want].present)
		return vf_err_set(err, ENOENT, "bank %c: %s", 'A' + want, st->bank[want].why_empty);
	*ret = want;
	return 0;
}

int vf_boottest_cmdline_build(const void *text, size_t len, char **ret, struct vf_err *err)
{
	const char *t = text;
	bool has_panic = false;
	char *out;

	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' ' ||
		       t[len - 1] == '\t'))
		len--;
	if (!len)
		return vf_err_set(err, EINVAL, "the kernel command line is empty");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x20 && c != '\t')
			return vf_err_set(err, EINVAL, "the kernel command line has a %s at byte %zu "
					  "of %zu: expected one line",
					  c == '\n' ? "newline" : c == 0 ? "NUL" : "control character",
					  i, len);
		if ((i == 0 || t[i - 1] == ' ' || t[i - 1] == '\t') && len - i >= 6 &&
		    memcmp(t + i, "panic=", 6) == 0)
			has_panic = true;
	}
	out = malloc(len + sizeof(" panic=-1"));
	if (!out)
		return vf_err_set(err, ENOMEM, "out of memory");
	memcpy(out, t, len);
	out[len] = '\0';
	if (!has_panic)
		strcat(out, " panic=-1");
	*ret = out;
	return 0;
}

void vf_boottest_boot_init(struct vf_boottest_boot *b)
{
	memset(b, 0, sizeof(*b));
	b->bank = -1;
}

void vf_boottest_boot_release(struct vf_boottest_boot *b)
{
	if (!b)
		return;
	if (b->dir)
		vf_fs_remove_tree(b->dir, NULL);
	free(b->disk);
	free(b->dir);
	free(b->kernel);
	free(b->initrd);
	free(b->cmdline);
	vf_boottest_boot_init(b);
}

/* Read one file of BOOT-x into memory; a missing kernel or initramfs gets the clear message. */
static int read_boot_file(const char *disk, const struct vf_updater_bank *bk, const char *file,
			  size_t max, uint8_t **data, size_t *len, struct vf_err *err)
{
	uint64_t off = bk->part[VF_UPDATER_BOOT].first_lba * VF_GPT_SECTOR;
	int r = vf_ext4_read_file(disk, off, file, max, data, len, err);

	if (r == -ENOENT && strcmp(file, VF_UPDATER_CMDLINE_FILE) != 0)
		return vf_err_set(err, ENOENT, "BOOT-%c has no %s: not a bootable bank (build the "
				  "variant with a kernel package)", bk->name, file);
	if (r == -ENOENT)
		return vf_err_set(err, ENOENT, "BOOT-%c has no %s", bk->name, file);
	if (r)
		return vf_err_prefix(err, "BOOT-%c: %s", bk->name, file);
	return 0;
}

/* Write `len` bytes to a new file dir/name (0600); *ret gets its path. */
static int put_file(const char *dir, const char *name, const uint8_t *data, size_t len,
		    char **ret, struct vf_err *err)
{
	char *path = NULL;
	int fd, r;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = vf_err_sys(err, errno, "cannot create '%s'", path);
		free(path);
		return r;
	}
	r = vf_fs_pwrite_full(fd, data, len, 0);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r) {
		r = vf_err_sys(err, r, "cannot write '%s'", path);
		free(path);
		return r;
	}
	*ret = path;
	return 0;
}

int vf_boottest_prepare(const char *disk, int bank, const char *tmpdir,
			struct vf_boottest_boot *b, struct vf_err *err)
{
	struct vf_updater_status st;
	const struct vf_updater_bank *bk;
	uint8_t *kernel = NULL, *initrd = NULL, *cmd = NULL;
	size_t kernel_len = 0, initrd_len = 0, cmd_len = 0;
	int k, r;

	vf_boottest_boot_release(b);
	if ((r = vf_updater_status_read(disk, &st, err)))
		return r;
	if ((r = vf_boottest_bank_choose(&st, bank, &k, err)))
		return vf_err_prefix(err, "'%s'", disk);
	bk = &st.bank[k];
	if ((r = read_boot_file(disk, bk, VF_BOOTTEST_KERNEL_FILE, VF_BOOTTEST_FILE_MAX, &kernel,
				&kernel_len, err)) ||
	    (r = read_boot_file(disk, bk, VF_BOOTTEST_INITRD_FILE, VF_BOOTTEST_FILE_MAX, &initrd,
				&initrd_len, err)) ||
	    (r = read_boot_file(disk, bk, VF_UPDATER_CMDLINE_FILE, VF_UPDATER_CMDLINE_MAX, &cmd,
				&cmd_len, err))) {
		vf_err_prefix(err, "'%s'", disk);
		goto out;
	}
	if ((r = vf_boottest_cmdline_build(cmd, cmd_len, &b->cmdline, err))) {
		vf_err_prefix(err, "'%s': BOOT-%c: %s", disk, bk->name, VF_UPDATER_CMDLINE_FILE);
		goto out;
	}
	b->disk = strdup(disk);
	if (!b->disk) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = vf_fs_mkdtemp(tmpdir, "vforge-boot", &b->dir, err)))
		goto out;
	if ((r = put_file(b->dir, "vmlinuz", kernel, kernel_len, &b->kernel, err)) ||
	    (r = put_file(b->dir, "initrd.img", initrd, initrd_len, &b->initrd, err)))
		goto out;
	b->bank = k;
	b->bootable = bk->bootable;
	b->next = st.next == k;
	b->has_release = bk->has_release;
	if (bk->has_release)
		b->release = bk->release;
	b->kernel_size = kernel_len;
	b->initrd_size = initrd_len;
out:
	free(kernel);
	free(initrd);
	free(cmd);
	if (r)
		vf_boottest_boot_release(b);
	return r;
}

/* ---- qemu's arguments ------------------------------------------------------------------ */

void vf_boottest_argv_free(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* "file=<disk with ',' doubled>,format=raw,if=virtio,snapshot=on" */
static char *drive_arg(const char *disk)
{
	struct vf_buf b = VF_BUF_INIT;

	if (vf_buf_add_str(&b, "file="))
		return NULL;
	for (const char *p = disk; *p; p++)
		if (vf_buf_add(&b, p, 1) || (*p == ',' && vf_buf_add(&b, ",", 1))) {
			vf_buf_release(&b);
			return NULL;
		}
	if (vf_buf_add_str(&b, ",format=raw,if=virtio,snapshot=on")) {
		vf_buf_release(&b);
		return NULL;
	}
	return (char *)b.data;
}

int vf_boottest_argv_build(const struct vf_boottest_boot *b, const char *qemu, const char *accel,
			   char ***ret, struct vf_err *err)
{
	char mem[16];
	const char *fixed[] = {
		qemu ? qemu : VF_BOOTTEST_QEMU, "-accel", accel, "-m", mem, "-nographic",
		"-no-reboot", "-kernel", b->kernel, "-initrd", b->initrd, "-append", b->cmdline,
		"-drive", NULL /* drive_arg */, "-serial", "stdio", "-monitor", "none", "-nodefaults",
	};
	size_t n = sizeof(fixed) / sizeof(fixed[0]);
	char **v = calloc(n + 1, sizeof(*v));

	snprintf(mem, sizeof(mem), "%u", VF_BOOTTEST_MEMORY_MIB);
	if (!v)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		v[i] = fixed[i] ? strdup(fixed[i]) : drive_arg(b->disk);
		if (!v[i]) {
			vf_boottest_argv_free(v);
			return vf_err_set(err, ENOMEM, "out of memory");
		}
	}
	*ret = v;
	return 0;
}

bool vf_boottest_kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
