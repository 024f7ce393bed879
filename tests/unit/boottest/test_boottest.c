/*
 * boot-test (builder/boottest/boottest.h) without a real qemu: the console
 * classifier on recorded console transcripts (success with the kernel's
 * messages interleaved, the init's failure, vinit: FATAL, dm-verity corruption
 * with the restart, a kernel panic, silence), fed whole and byte by byte; the
 * outcome table; the command line and qemu's arguments; the choice of bank;
 * extraction from a disk made here (GPT + ext4 BOOT-A with a kernel, BOOT-B
 * without); and the runner with a stand-in "qemu" shell script: its argv, the
 * console, a silent power-off, a qemu error, the timeout killing its process
 * group, the grace after a verdict, a signal to the caller, a missing program.
 * Real boots are tests/integration/890-boot-runner.sh and 900-boot.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/uuid.h"
#include "builder/boottest/boottest.h"
#include "builder/gpt/gpt.h"
#include "tests/unit/ext4/ext4_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- transcripts (shortened from real boots of Debian 6.1 under qemu) ------------------ */

static const char t_success[] =
	"\033c\033[?7l\033[2JSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n"
	"Booting from ROM...\r\n"
	"[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)\r\n"
	"[    0.000000] Command line: console=ttyS0 dm-mod.create=\"root,,,ro,0 8 verity 1 a b\" panic=-1\r\n"
	"[    2.497197] Run /init as init process\r\n"
	"vinit: loaded 9 modules\r\n"
	"vinit: root PARTUUID=0f0e is bank A\r\n"
	"vforge-init: variant demo version 1.0.0\r\n"
	"vforge-init: root file system is read-only\r\n"
	"vforge-init: FAIL-free labels: /usr/sbin/init is labelled system_u:object_r:init_exec_t:s0\r\n"
	"vforge-init: bank A\r\n"
	"vforge-init: SUCCESS[    2.596545] tsc: Refined TSC clocksource calibration: 2596.146 MHz\r\n"
	"\r\n"
	"[    2.599880] ACPI: PM: Preparing to enter system sleep state S5\r\n"
	"[    2.600477] reboot: Power down\r\n";

static const char t_failure[] =
	"[    2.4] Run /init as init process\r\n"
	"vforge-init: variant demo version 1.0.0\r\n"
	"vforge-init: FAIL: root file system is writable\r\n"
	"vforge-init: FAILURE\r\n"
	"[    2.6] reboot: Power down\r\n";

static const char t_fatal[] =
	"[    2.4] Run /init as init process\r\n"
	"vinit: FATAL: no device PARTUUID=0123 after 10 s\r\n"
	"[   12.6] reboot: Power down\r\n";

static const char t_verity[] =
	"[    2.4] Run /init as init process\r\n"
	"vinit: root PARTUUID=0f0e is bank A\r\n"
	"[    2.9] device-mapper: verity: 254:0: data block 3 is corrupted\r\n"
	"[    2.9] device-mapper: verity: 254:0: data block 3 is corrupted\r\n"
	"[    2.9] reboot: Restarting system with command 'dm-verity device corrupted'\r\n";

static const char t_panic[] =
	"[    2.4] Run /init as init process\r\n"
	"[    2.5] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\r\n"
	"[    2.5] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2\r\n"
	"[    2.5] Rebooting in 1 seconds..\r\n";

static const char t_silence[] =
	"[    0.000000] Linux version 6.1.0-56-amd64\r\n"
	"[    2.6] reboot: Power down\r\n";

static void classify(const char *text, struct vf_boottest_scan *s)
{
	assert_int_equal(vf_boottest_classify(text, strlen(text), s), 0);
}

/* The interesting lines, joined by '|'. */
static char *joined(const struct vf_boottest_scan *s)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < s->n_lines; i++)
		len += strlen(s->lines[i]) + 1;
	out = calloc(1, len);
	assert_non_null(out);
	for (size_t i = 0; i < s->n_lines; i++) {
		if (i)
			strcat(out, "|");
		strcat(out, s->lines[i]);
	}
	return out;
}

static void test_classify_success(void **state)
{
	struct vf_boottest_scan s;
	char *j;

	(void)state;
	classify(t_success, &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_PASSED);
	assert_int_equal(s.cause, VF_BOOTTEST_LINE_SUCCESS);
	/* split before the kernel's message on the same line; \r dropped */
	assert_string_equal(s.reason, "vforge-init: SUCCESS");
	j = joined(&s);
	assert_string_equal(j, "vinit: loaded 9 modules|vinit: root PARTUUID=0f0e is bank A|"
			       "vforge-init: variant demo version 1.0.0|"
			       "vforge-init: root file system is read-only|"
			       "vforge-init: FAIL-free labels: /usr/sbin/init is labelled "
			       "system_u:object_r:init_exec_t:s0|vforge-init: bank A|"
			       "vforge-init: SUCCESS|[    2.600477] reboot: Power down");
	free(j);
	assert_int_equal(s.n_dropped, 0);
	assert_int_equal(s.n_bytes, strlen(t_success));
	vf_boottest_scan_release(&s);
}

static void test_classify_failures(void **state)
{
	static const struct {
		const char *text;
		enum vf_boottest_line cause;
		const char *reason;
	} cases[] = {
		{ t_failure, VF_BOOTTEST_LINE_INIT_FAILURE, "vforge-init: FAILURE" },
		{ t_fatal, VF_BOOTTEST_LINE_VINIT_FATAL,
		  "vinit: FATAL: no device PARTUUID=0123 after 10 s" },
		{ t_verity, VF_BOOTTEST_LINE_VERITY,
		  "[    2.9] device-mapper: verity: 254:0: data block 3 is corrupted" },
		{ t_panic, VF_BOOTTEST_LINE_PANIC,
		  "[    2.5] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vf_boottest_scan s;

		classify(cases[i].text, &s);
		assert_int_equal(s.verdict, VF_BOOTTEST_FAILED);
		assert_int_equal(s.cause, cases[i].cause);
		assert_string_equal(s.reason, cases[i].reason);
		vf_boottest_scan_release(&s);
	}
}

static void test_classify_verity_lines(void **state)
{
	struct vf_boottest_scan s;
	char *j;

	(void)state;
	classify(t_verity, &s);
	j = joined(&s);
	vf_test_assert_contains(j, "data block 3 is corrupted|[    2.9] device-mapper: verity");
	vf_test_assert_contains(j, "reboot: Restarting system with command 'dm-verity device corrupted'");
	assert_string_equal(vf_boottest_line_name(s.cause), "verity");
	free(j);
	vf_boottest_scan_release(&s);

	/* a restart alone (restart_on_corruption's message lost) still fails */
	classify("vinit: root is bank A\n[ 3.1] reboot: Restarting system\n", &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_FAILED);
	assert_int_equal(s.cause, VF_BOOTTEST_LINE_RESTART);
	vf_boottest_scan_release(&s);
	/* a verity line that reports no corruption decides nothing */
	classify("[ 1.0] device-mapper: verity: sha256 using implementation \"sha256-generic\"\n", &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_UNDECIDED);
	assert_int_equal(s.n_lines, 1);
	vf_boottest_scan_release(&s);
}

static void test_classify_silence(void **state)
{
	struct vf_boottest_scan s;

	(void)state;
	classify(t_silence, &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_UNDECIDED);
	assert_int_equal(s.cause, VF_BOOTTEST_LINE_OTHER);
	assert_null(s.reason);
	assert_int_equal(s.n_lines, 1); /* reboot: Power down */
	vf_boottest_scan_release(&s);
	classify("", &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_UNDECIDED);
	assert_int_equal(s.n_lines, 0);
	vf_boottest_scan_release(&s);
}

/* A failure after a success wins; a success after a failure changes nothing. */
static void test_classify_failure_wins(void **state)
{
	struct vf_boottest_scan s;

	(void)state;
	classify("vforge-init: SUCCESS\n[ 3.0] Kernel panic - not syncing: oops\n", &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_FAILED);
	assert_int_equal(s.cause, VF_BOOTTEST_LINE_PANIC);
	vf_boottest_scan_release(&s);
	classify("vinit: FATAL: x\nvforge-init: SUCCESS\n", &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_FAILED);
	assert_int_equal(s.cause, VF_BOOTTEST_LINE_VINIT_FATAL);
	assert_string_equal(s.reason, "vinit: FATAL: x");
	vf_boottest_scan_release(&s);
	/* both on one line: the failure */
	assert_int_equal(vf_boottest_line_classify("vforge-init: SUCCESS vforge-init: FAILURE", 41),
			 VF_BOOTTEST_LINE_INIT_FAILURE);
	/* "FAIL:" is a check's message, not the verdict */
	assert_int_equal(vf_boottest_line_classify("vforge-init: FAIL: x", 20), VF_BOOTTEST_LINE_INFO);
	assert_int_equal(vf_boottest_line_classify("random text", 11), VF_BOOTTEST_LINE_OTHER);
}

/* Fed one byte at a time, or in odd pieces, the result is the same. */
static void test_classify_pieces(void **state)
{
	const char *texts[] = { t_success, t_failure, t_fatal, t_verity, t_panic, t_silence };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct vf_boottest_scan whole, bytes, odd;
		size_t len = strlen(texts[i]);
		char *a, *b, *c;

		classify(texts[i], &whole);
		vf_boottest_scan_init(&bytes);
		vf_boottest_scan_init(&odd);
		for (size_t k = 0; k < len; k++)
			assert_int_equal(vf_boottest_scan_feed(&bytes, texts[i] + k, 1), 0);
		for (size_t k = 0; k < len; k += 7)
			assert_int_equal(vf_boottest_scan_feed(&odd, texts[i] + k,
							       len - k < 7 ? len - k : 7), 0);
		assert_int_equal(vf_boottest_scan_finish(&bytes), 0);
		assert_int_equal(vf_boottest_scan_finish(&odd), 0);
		assert_int_equal(bytes.verdict, whole.verdict);
		assert_int_equal(odd.verdict, whole.verdict);
		assert_int_equal(bytes.cause, whole.cause);
		a = joined(&whole);
		b = joined(&bytes);
		c = joined(&odd);
		assert_string_equal(a, b);
		assert_string_equal(a, c);
		free(a);
		free(b);
		free(c);
		vf_boottest_scan_release(&whole);
		vf_boottest_scan_release(&bytes);
		vf_boottest_scan_release(&odd);
	}
}

/* The last line without a newline counts; long lines are split; lines are bounded. */
static void test_classify_bounds(void **state)
{
	struct vf_boottest_scan s;
	char *big = malloc(3 * VF_BOOTTEST_LINE_MAX);
	struct vf_buf many = VF_BUF_INIT;

	(void)state;
	classify("vforge-init: SUCCESS", &s);
	assert_int_equal(s.verdict, VF_BOOTTEST_PASSED);
	vf_boottest_scan_release(&s);

	/* a marker past a 4 KiB run of junk on the same "line" is still found */
	assert_non_null(big);
	memset(big, 'x', 3 * VF_BOOTTEST_LINE_MAX);
	memcpy(big + VF_BOOTTEST_LINE_MAX + 5, "vinit: FATAL: deep", 18);
	big[3 * VF_BOOTTEST_LINE_MAX - 1] = '\0';
	classify(big, &s);
	assert_int_equal(s.cause, VF_BOOTTEST_LINE_VINIT_FATAL);
	assert_true(strlen(s.reason) <= VF_BOOTTEST_LINE_MAX);
	vf_boottest_scan_release(&s);
	free(big);

	for (unsigned i = 0; i < VF_BOOTTEST_LINES_MAX + 10; i++)
		assert_int_equal(vf_buf_add_fmt(&many, "vinit: line %u\n", i), 0);
	classify((const char *)many.data, &s);
	assert_int_equal(s.n_lines, VF_BOOTTEST_LINES_MAX);
	assert_int_equal(s.n_dropped, 10);
	assert_string_equal(s.lines[0], "vinit: line 0");
	vf_boottest_scan_release(&s);
	vf_buf_release(&many);
}

static void test_sanitize(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(vf_boottest_sanitize("\033[1;31mred\033[0m\r\x01ok\tx", 20, out, sizeof(out)),
			 7);
	assert_string_equal(out, "redok\tx");
	assert_int_equal(vf_boottest_sanitize("\033cabc\xff", 6, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(vf_boottest_sanitize("abcdef", 6, out, 4), 3);
	assert_string_equal(out, "abc");
}

/* on_line sees each interesting line once, as it is read. */
struct seen {
	int n;
	char last[128];
	enum vf_boottest_line last_class;
};

static void on_line(void *ctx, enum vf_boottest_line c, const char *line)
{
	struct seen *s = ctx;

	s->n++;
	snprintf(s->last, sizeof(s->last), "%s", line);
	s->last_class = c;
}

static void test_on_line(void **state)
{
	struct vf_boottest_scan s;
	struct seen seen = { 0 };

	(void)state;
	vf_boottest_scan_init(&s);
	s.on_line = on_line;
	s.ctx = &seen;
	assert_int_equal(vf_boottest_scan_feed(&s, t_failure, strlen(t_failure)), 0);
	assert_int_equal(vf_boottest_scan_finish(&s), 0);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.last, "[    2.6] reboot: Power down");
	assert_int_equal(seen.last_class, VF_BOOTTEST_LINE_INFO);
	vf_boottest_scan_release(&s);
}

/* ---- outcome, command line, bank, argv ------------------------------------------------- */

static void test_outcome(void **state)
{
	int ok = 0, err1 = 1 << 8, sigkill = SIGKILL; /* wait statuses: exit 0, exit 1, killed */

	(void)state;
	assert_true(WIFEXITED(ok) && WEXITSTATUS(ok) == 0);
	assert_true(WIFEXITED(err1) && WEXITSTATUS(err1) == 1);
	assert_true(WIFSIGNALED(sigkill));
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_PASSED, false, ok), VF_BOOTTEST_OK);
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_PASSED, false, -1), VF_BOOTTEST_OK);
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_FAILED, false, ok),
			 VF_BOOTTEST_BOOT_FAILED);
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_FAILED, true, -1),
			 VF_BOOTTEST_BOOT_FAILED);
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_UNDECIDED, true, -1),
			 VF_BOOTTEST_TIMEOUT);
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_UNDECIDED, false, ok),
			 VF_BOOTTEST_BOOT_FAILED);
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_UNDECIDED, false, err1),
			 VF_BOOTTEST_QEMU_FAILED);
	assert_int_equal(vf_boottest_outcome_decide(VF_BOOTTEST_UNDECIDED, false, sigkill),
			 VF_BOOTTEST_QEMU_FAILED);
	assert_string_equal(vf_boottest_outcome_name(VF_BOOTTEST_QEMU_FAILED), "qemu-error");
	assert_string_equal(vf_boottest_outcome_name(VF_BOOTTEST_BOOT_FAILED), "failure");
}

static void cmdline_ok(const char *in, const char *want)
{
	struct vf_err err = { 0 };
	char *out = NULL;

	assert_int_equal(vf_boottest_cmdline_build(in, strlen(in), &out, &err), 0);
	assert_string_equal(out, want);
	free(out);
}

static void cmdline_bad(const char *in, size_t len, const char *msg)
{
	struct vf_err err = { 0 };
	char *out = NULL;

	assert_int_equal(vf_boottest_cmdline_build(in, len, &out, &err), -EINVAL);
	assert_null(out);
	vf_test_assert_contains(err.msg, msg);
}

static void test_cmdline(void **state)
{
	(void)state;
	cmdline_ok("console=ttyS0 ro\n", "console=ttyS0 ro panic=-1");
	cmdline_ok("root=/dev/dm-0 rootwait ro console=ttyS0 \r\n\n",
		   "root=/dev/dm-0 rootwait ro console=ttyS0 panic=-1");
	cmdline_ok("panic=5 console=ttyS0", "panic=5 console=ttyS0");
	cmdline_ok("console=ttyS0 panic=0\n", "console=ttyS0 panic=0");
	cmdline_ok("nopanic=1 oops=panic", "nopanic=1 oops=panic panic=-1");
	cmdline_bad("\n \n", 3, "the kernel command line is empty");
	cmdline_bad("a\nb\n", 4, "has a newline at byte 1 of 3: expected one line");
	cmdline_bad("a\0b", 3, "has a NUL at byte 1 of 3");
}

static void test_bank_choose(void **state)
{
	struct vf_updater_status st;
	struct vf_err err = { 0 };
	int k = -7;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.bank[0].name = 'A';
	st.bank[1].name = 'B';
	st.bank[0].present = st.bank[1].present = true;
	st.next = 1;
	st.active = 0;
	assert_int_equal(vf_boottest_bank_choose(&st, -1, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_int_equal(vf_boottest_bank_choose(&st, 0, &k, &err), 0);
	assert_int_equal(k, 0);
	st.bank[1].present = false;
	snprintf(st.bank[1].why_empty, sizeof(st.bank[1].why_empty), "the disk has no ROOT-B partition");
	k = -7;
	assert_int_equal(vf_boottest_bank_choose(&st, 1, &k, &err), -ENOENT);
	assert_string_equal(err.msg, "bank B: the disk has no ROOT-B partition");
	assert_int_equal(k, -7);
	st.next = -1;
	assert_int_equal(vf_boottest_bank_choose(&st, -1, &k, &err), -ENOENT);
	assert_string_equal(err.msg, "no bank boots by the A/B attributes (A: not bootable; "
				     "B: missing): choose one with --bank");
	assert_int_equal(vf_boottest_bank_choose(&st, 0, &k, &err), 0);
	assert_int_equal(k, 0);
}

static void test_argv(void **state)
{
	static const char *const want[] = {
		"qemu-system-x86_64", "-accel", "tcg", "-m", "512", "-nographic", "-no-reboot",
		"-kernel", "/t/k", "-initrd", "/t/i", "-append", "console=ttyS0 panic=-1", "-drive",
		"file=/d/a,,b.img,format=raw,if=virtio,snapshot=on", "-serial", "stdio", "-monitor",
		"none", "-nodefaults", NULL,
	};
	struct vf_boottest_boot b;
	struct vf_err err = { 0 };
	char **v = NULL;
	size_t n;

	(void)state;
	vf_boottest_boot_init(&b);
	b.disk = (char *)"/d/a,b.img";
	b.kernel = (char *)"/t/k";
	b.initrd = (char *)"/t/i";
	b.cmdline = (char *)"console=ttyS0 panic=-1";
	assert_int_equal(vf_boottest_argv_build(&b, NULL, "tcg", &v, &err), 0);
	for (n = 0; want[n]; n++) {
		assert_non_null(v[n]);
		assert_string_equal(v[n], want[n]);
	}
	assert_null(v[n]);
	vf_boottest_argv_free(v);
	assert_int_equal(vf_boottest_argv_build(&b, "/opt/q", "kvm", &v, &err), 0);
	assert_string_equal(v[0], "/opt/q");
	assert_string_equal(v[2], "kvm");
	vf_boottest_argv_free(v);
	vf_boottest_argv_free(NULL);
}

/* ---- prepare: a disk made here --------------------------------------------------------- */

#define MIB (1024u * 1024u)

/* BOOT-A (LBA 2048, 8 MiB) with every file, ROOT-A, HASH-A, BOOT-B (without /vmlinuz), ROOT-B, HASH-B. */
static char *make_disk(const char *dir, uint64_t boot_a_attrs, uint64_t boot_b_attrs)
{
	static const char *const names[6] = { "BOOT-A", "ROOT-A", "HASH-A", "BOOT-B", "ROOT-B", "HASH-B" };
	static const uint64_t sizes[6] = { 16384, 2048, 2048, 16384, 2048, 2048 };
	struct vf_gpt_part parts[6];
	struct vf_gpt_table t = { .parts = parts, .n_parts = 6 };
	struct vf_err err = { 0 };
	uint64_t lba = 2048;
	char *path = vf_test_path(dir, "disk.img");
	uint8_t *kernel = malloc(3 * MIB);
	int fd;

	memset(parts, 0, sizeof(parts));
	t.disk_size = 64 * MIB;
	assert_int_equal(vf_uuid_parse("5c7a9e3d-1b2f-4a60-8d4e-0f1a2b3c4d5e", t.disk_guid), 0);
	for (int i = 0; i < 6; i++) {
		strcpy(parts[i].name, names[i]);
		assert_int_equal(vf_gpt_type_lookup("linux", NULL, "dps", parts[i].type, &err), 0);
		for (int k = 0; k < 16; k++)
			parts[i].uuid[k] = (uint8_t)(0x30 + 16 * i + k);
		parts[i].first_lba = lba;
		parts[i].size_lba = sizes[i];
		lba += sizes[i];
	}
	parts[0].attrs = boot_a_attrs;
	parts[3].attrs = boot_b_attrs;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)t.disk_size), 0);
	close(fd);
	assert_int_equal(vf_gpt_write(path, &t, &err), 0);

	assert_non_null(kernel);
	vf_test_data(42, kernel, 3 * MIB);
	for (int bank = 0; bank < 2; bank++) {
		char *sub = vf_test_path(dir, bank ? "tb" : "ta");
		struct vf_ext4_opts o = t_opts();
		struct vf_tree *tree;

		assert_int_equal(mkdir(sub, 0700), 0);
		tree = t_tree(sub);
		if (!bank)
			t_file(tree, "vmlinuz", 0644, kernel, 3 * MIB);
		t_file(tree, "initrd.img", 0644, "070701 initramfs", 16);
		t_file(tree, "cmdline", 0644, "console=ttyS0 ro\n", 17);
		t_file(tree, "vforge-release", 0644, bank ? "VARIANT=t\nARCH=x86_64\nVERSION=2.0.0\n"
							  : "VARIANT=t\nARCH=x86_64\nVERSION=1.0.0\n",
		       36);
		o.size = 8 * MIB;
		o.in_place = true;
		o.offset = parts[bank ? 3 : 0].first_lba * 512;
		t_write(path, tree, &o);
		vf_tree_free(tree);
		free(sub);
	}
	free(kernel);
	return path;
}

#define AB(prio, tries, ok) \
	(((uint64_t)(prio) << VF_GPT_ATTR_PRIORITY_SHIFT) | ((uint64_t)(tries) << VF_GPT_ATTR_TRIES_SHIFT) | \
	 ((ok) ? VF_GPT_ATTR_SUCCESSFUL : 0))

static void test_prepare(void **state)
{
	const char *dir = *state;
	char *disk = make_disk(dir, AB(1, 0, 1), AB(2, 1, 0));
	char *tmp = vf_test_path(dir, "tmp");
	struct vf_boottest_boot b;
	struct vf_err err = { 0 };
	uint8_t *want = malloc(3 * MIB), *got;
	size_t len;
	char *saved;

	assert_int_equal(mkdir(tmp, 0700), 0);
	vf_boottest_boot_init(&b);
	/* the default is the bank that boots next: B, which has no kernel */
	assert_int_equal(vf_boottest_prepare(disk, -1, tmp, &b, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "'%s': BOOT-B has no /vmlinuz: not a bootable bank (build "
				 "the variant with a kernel package)", disk);
	vf_test_assert_listing(tmp, "");
	assert_null(b.dir);

	assert_int_equal(vf_boottest_prepare(disk, 0, tmp, &b, &err), 0);
	assert_int_equal(b.bank, 0);
	assert_true(b.bootable);
	assert_false(b.next);
	assert_true(b.has_release);
	assert_string_equal(b.release.version, "1.0.0");
	assert_string_equal(b.cmdline, "console=ttyS0 ro panic=-1");
	assert_string_equal(b.disk, disk);
	assert_int_equal(b.kernel_size, 3 * MIB);
	assert_int_equal(b.initrd_size, 16);
	vf_test_assert_containsf(b.dir, "%s/vforge-boot.", tmp);
	vf_test_assert_listing(b.dir, "initrd.img vmlinuz");
	assert_non_null(want);
	vf_test_data(42, want, 3 * MIB);
	got = vf_test_read_file(b.kernel, &len);
	assert_int_equal(len, 3 * MIB);
	assert_memory_equal(got, want, 3 * MIB);
	free(got);
	got = vf_test_read_file(b.initrd, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(got, "070701 initramfs", 16);
	free(got);
	saved = strdup(b.dir);
	vf_boottest_boot_release(&b);
	assert_int_equal(access(saved, F_OK), -1);
	vf_test_assert_listing(tmp, "");
	free(saved);
	free(want);

	vf_test_rmtree(disk);
	free(disk);
	free(tmp);
}

/* With A the next bank, the default is A; with no bank bootable, --bank is needed. */
static void test_prepare_default(void **state)
{
	char *sub1 = vf_test_path(*state, "1"), *sub2 = vf_test_path(*state, "2");
	struct vf_boottest_boot b;
	struct vf_err err = { 0 };
	char *disk;

	vf_boottest_boot_init(&b);
	assert_int_equal(mkdir(sub1, 0700), 0);
	disk = make_disk(sub1, AB(2, 0, 1), AB(1, 0, 0));
	assert_int_equal(vf_boottest_prepare(disk, -1, *state, &b, &err), 0);
	assert_int_equal(b.bank, 0);
	assert_true(b.next);
	vf_boottest_boot_release(&b);
	free(disk);

	assert_int_equal(mkdir(sub2, 0700), 0);
	disk = make_disk(sub2, AB(0, 0, 0), AB(0, 0, 0));
	assert_int_equal(vf_boottest_prepare(disk, -1, *state, &b, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "'%s': no bank boots by the A/B attributes", disk);
	/* asked for, an unbootable bank is booted all the same */
	assert_int_equal(vf_boottest_prepare(disk, 0, *state, &b, &err), 0);
	assert_false(b.bootable);
	vf_boottest_boot_release(&b);
	free(disk);
	free(sub1);
	free(sub2);
}

/* ---- the runner, with a stand-in qemu -------------------------------------------------- */

/* A boot whose "qemu" is the shell script `body` in dir (its argv goes to dir/args). */
static char *fake_qemu(const char *dir, const char *body)
{
	char *path = vf_test_path(dir, "qemu.sh");
	char *text = NULL;

	assert_true(asprintf(&text, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done >'%s/args'\n%s\n",
			     dir, body) > 0);
	vf_test_write_file(path, text, strlen(text));
	assert_int_equal(chmod(path, 0755), 0);
	free(text);
	return path;
}

static void fake_boot(const char *dir, struct vf_boottest_boot *b)
{
	vf_boottest_boot_init(b);
	b->disk = vf_test_path(dir, "disk.img");
	b->kernel = vf_test_path(dir, "vmlinuz");
	b->initrd = vf_test_path(dir, "initrd.img");
	b->cmdline = strdup("console=ttyS0 panic=-1");
	b->bank = 1;
}

/* Run `body` as qemu; returns the run's return value, *res filled (caller releases). */
static int run_fake(const char *dir, const char *body, unsigned timeout_s, unsigned grace_s,
		    struct vf_boottest_result *res, struct vf_err *err)
{
	struct vf_boottest_boot b;
	struct vf_boottest_opts o = { 0 };
	char *q = fake_qemu(dir, body);
	int r;

	fake_boot(dir, &b);
	o.qemu = q;
	o.timeout_s = timeout_s;
	o.grace_s = grace_s;
	vf_boottest_result_init(res);
	r = vf_boottest_run(&b, &o, res, err);
	vf_boottest_boot_release(&b);
	free(q);
	return r;
}

static void test_run_success(void **state)
{
	const char *dir = *state;
	char *transcript = vf_test_path(dir, "console.txt"), *body = NULL, *args_path, *args, *want;
	struct vf_boottest_result res;
	struct vf_err err = { 0 };
	size_t len;

	vf_test_write_file(transcript, t_success, strlen(t_success));
	assert_true(asprintf(&body, "cat '%s'; echo 'qemu: a note on stderr' >&2; exit 0",
			     transcript) > 0);
	assert_int_equal(run_fake(dir, body, 30, 0, &res, &err), 0);
	assert_int_equal(res.outcome, VF_BOOTTEST_OK);
	assert_int_equal(res.scan.verdict, VF_BOOTTEST_PASSED);
	assert_false(res.killed);
	assert_true(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	assert_string_equal(res.accel, "tcg");
	/* the console holds stdout and stderr */
	vf_test_assert_contains((const char *)res.console.data, "vforge-init: SUCCESS[    2.596545]");
	vf_test_assert_contains((const char *)res.console.data, "qemu: a note on stderr");
	assert_false(res.console_truncated);
	/* the arguments as qemu got them */
	args_path = vf_test_path(dir, "args");
	args = (char *)vf_test_read_file(args_path, &len);
	assert_true(asprintf(&want, "-accel\ntcg\n-m\n512\n-nographic\n-no-reboot\n-kernel\n%s/vmlinuz\n"
			     "-initrd\n%s/initrd.img\n-append\nconsole=ttyS0 panic=-1\n-drive\n"
			     "file=%s/disk.img,format=raw,if=virtio,snapshot=on\n-serial\nstdio\n"
			     "-monitor\nnone\n-nodefaults\n", dir, dir, dir) > 0);
	assert_string_equal(args, want);
	free(want);
	free(args);
	free(args_path);
	vf_boottest_result_release(&res);
	free(body);
	free(transcript);
}

static void test_run_verdicts(void **state)
{
	static const struct {
		const char *body;
		enum vf_boottest_outcome outcome;
		enum vf_boottest_line cause;
		int exit_status; /* -1: not checked */
	} cases[] = {
		{ "printf 'vforge-init: FAILURE\\n'", VF_BOOTTEST_BOOT_FAILED,
		  VF_BOOTTEST_LINE_INIT_FAILURE, 0 },
		{ "printf '[ 2.9] device-mapper: verity: 254:0: data block 3 is corrupted\\n"
		  "[ 2.9] reboot: Restarting system\\n'", VF_BOOTTEST_BOOT_FAILED,
		  VF_BOOTTEST_LINE_VERITY, 0 },
		/* the guest powers off without a word */
		{ "exit 0", VF_BOOTTEST_BOOT_FAILED, VF_BOOTTEST_LINE_OTHER, 0 },
		/* qemu complains and exits 1 */
		{ "echo 'qemu-system-x86_64: -drive file=x: Could not open' >&2; exit 1",
		  VF_BOOTTEST_QEMU_FAILED, VF_BOOTTEST_LINE_OTHER, 1 },
		/* a verdict decides even when qemu fails afterwards */
		{ "echo 'vforge-init: SUCCESS'; exit 3", VF_BOOTTEST_OK, VF_BOOTTEST_LINE_SUCCESS, 3 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vf_boottest_result res;
		struct vf_err err = { 0 };

		assert_int_equal(run_fake(*state, cases[i].body, 30, 0, &res, &err), 0);
		assert_int_equal(res.outcome, cases[i].outcome);
		assert_int_equal(res.scan.cause, cases[i].cause);
		assert_false(res.killed);
		assert_true(WIFEXITED(res.status));
		assert_int_equal(WEXITSTATUS(res.status), cases[i].exit_status);
		vf_boottest_result_release(&res);
	}
}

/* Whether process `pid` is gone (or a zombie waiting for init), within 3 s. */
static bool gone(pid_t pid)
{
	for (int i = 0; i < 300; i++) {
		char path[64], *stat;
		size_t len;
		FILE *f;

		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (f) {
			char buf[512] = "";
			bool zombie;

			len = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[len] = '\0';
			stat = strrchr(buf, ')');
			zombie = stat && stat[1] == ' ' && stat[2] == 'Z';
			if (zombie)
				return true;
		}
		usleep(10000);
	}
	return false;
}

static pid_t read_pid(const char *dir)
{
	char *path = vf_test_path(dir, "child.pid");
	size_t len;
	char *text = (char *)vf_test_read_file(path, &len);
	pid_t pid = (pid_t)atoi(text);

	free(text);
	free(path);
	assert_true(pid > 1);
	return pid;
}

/* No verdict by the timeout: qemu and everything in its process group killed. */
static void test_run_timeout(void **state)
{
	const char *dir = *state;
	char *body = NULL;
	struct vf_boottest_result res;
	struct vf_err err = { 0 };
	struct timespec t0, t1;
	double secs;

	assert_true(asprintf(&body, "echo 'vinit: waiting'; sleep 60 & echo $! >'%s/child.pid'; wait",
			     dir) > 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run_fake(dir, body, 1, 0, &res, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.9 && secs < 5);
	assert_int_equal(res.outcome, VF_BOOTTEST_TIMEOUT);
	assert_true(res.killed);
	assert_int_equal(res.status, -1);
	assert_int_equal(res.scan.n_lines, 1);
	assert_string_equal(res.scan.lines[0], "vinit: waiting");
	assert_true(res.elapsed_ms >= 900);
	assert_true(gone(read_pid(dir)));
	vf_boottest_result_release(&res);
	free(body);
}

/* A verdict, and qemu does not exit: killed after the grace, the verdict stands. */
static void test_run_grace(void **state)
{
	const char *dir = *state;
	char *body = NULL;
	struct vf_boottest_result res;
	struct vf_err err = { 0 };

	assert_true(asprintf(&body, "echo 'vforge-init: SUCCESS'; sleep 60 & echo $! >'%s/child.pid'; "
			     "wait", dir) > 0);
	assert_int_equal(run_fake(dir, body, 60, 1, &res, &err), 0);
	assert_int_equal(res.outcome, VF_BOOTTEST_OK);
	assert_true(res.killed);
	assert_true(res.elapsed_ms < 10000);
	assert_true(gone(read_pid(dir)));
	vf_boottest_result_release(&res);
	free(body);
}

/* SIGTERM to the caller during the run: taken, qemu killed, reported; the caller lives. */
static void test_run_signal(void **state)
{
	const char *dir = *state;
	char *body = NULL;
	struct vf_boottest_result res;
	struct vf_err err = { 0 };
	sigset_t mask;

	assert_true(asprintf(&body, "echo 'vinit: up'; sleep 60 & echo $! >'%s/child.pid'; "
			     "kill -TERM %d; wait", dir, (int)getpid()) > 0);
	assert_int_equal(run_fake(dir, body, 60, 0, &res, &err), 0);
	assert_int_equal(res.outcome, VF_BOOTTEST_INTERRUPTED);
	assert_int_equal(res.signal, SIGTERM);
	assert_true(res.killed);
	assert_true(gone(read_pid(dir)));
	/* the signal mask is as it was */
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &mask), 0);
	assert_false(sigismember(&mask, SIGTERM));
	assert_false(sigismember(&mask, SIGINT));
	vf_boottest_result_release(&res);
	free(body);
}

/* More console than kept: the last VF_BOOTTEST_CONSOLE_MAX bytes, the markers still seen. */
static void test_run_big_console(void **state)
{
	struct vf_boottest_result res;
	struct vf_err err = { 0 };
	const char *tail;

	assert_int_equal(run_fake(*state, "echo 'vinit: first'; head -c 3000000 /dev/zero | tr '\\0' 'x'; "
					  "echo; echo 'vforge-init: SUCCESS'", 30, 0, &res, &err), 0);
	assert_int_equal(res.outcome, VF_BOOTTEST_OK);
	assert_true(res.console_truncated);
	assert_int_equal(res.console.len, VF_BOOTTEST_CONSOLE_MAX);
	assert_int_equal(res.scan.n_bytes, 3000000 + strlen("vinit: first\n\nvforge-init: SUCCESS\n"));
	tail = (const char *)res.console.data + res.console.len - 21;
	assert_string_equal(tail, "vforge-init: SUCCESS\n");
	assert_string_equal(res.scan.lines[0], "vinit: first");
	vf_boottest_result_release(&res);
}

static void test_run_missing(void **state)
{
	struct vf_boottest_boot b;
	struct vf_boottest_result res;
	struct vf_boottest_opts o = { 0 };
	struct vf_err err = { 0 };
	char *q = vf_test_path(*state, "no-qemu");

	fake_boot(*state, &b);
	o.qemu = q;
	vf_boottest_result_init(&res);
	assert_int_equal(vf_boottest_run(&b, &o, &res, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "cannot run '%s': No such file or directory", q);
	assert_null(strstr(err.msg, "install"));
	vf_boottest_result_release(&res);

	/* a file that is not executable */
	vf_test_write_file(q, "x", 1);
	assert_int_equal(vf_boottest_run(&b, &o, &res, &err), -EACCES);
	vf_test_assert_containsf(err.msg, "cannot run '%s': Permission denied", q);
	vf_boottest_result_release(&res);
	vf_boottest_boot_release(&b);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_success),
		cmocka_unit_test(test_classify_failures),
		cmocka_unit_test(test_classify_verity_lines),
		cmocka_unit_test(test_classify_silence),
		cmocka_unit_test(test_classify_failure_wins),
		cmocka_unit_test(test_classify_pieces),
		cmocka_unit_test(test_classify_bounds),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_on_line),
		cmocka_unit_test(test_outcome),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_bank_choose),
		cmocka_unit_test(test_argv),
		vf_test_in_tmpdir(test_prepare),
		vf_test_in_tmpdir(test_prepare_default),
		vf_test_in_tmpdir(test_run_success),
		vf_test_in_tmpdir(test_run_verdicts),
		vf_test_in_tmpdir(test_run_timeout),
		vf_test_in_tmpdir(test_run_grace),
		vf_test_in_tmpdir(test_run_signal),
		vf_test_in_tmpdir(test_run_big_console),
		vf_test_in_tmpdir(test_run_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
