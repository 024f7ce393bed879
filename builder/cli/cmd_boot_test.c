/*
 * vforge boot-test: boot one bank of a disk image in qemu (builder/boottest)
 * and report what the guest printed. docs/boot-test.md.
 */
#include "builder/cli/cli.h"

#include "builder/base/fs.h"
#include "builder/boottest/boottest.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

const char vf_cli_boot_test_help[] =
	"Reads the kernel (/vmlinuz), the initramfs (/initrd.img) and the kernel command\n"
	"line (/cmdline) from the bank's BOOT partition and boots them in\n"
	"qemu-system-x86_64 under TCG, with the disk attached as a virtio drive in\n"
	"snapshot mode (the image is never written) and the serial console captured.\n"
	"\" panic=-1\" is added to the command line unless it sets panic=, and qemu runs\n"
	"with -no-reboot, so a panic or a restart ends the run. The guest's interesting\n"
	"lines (vinit:, vforge-init:, dm-verity errors, kernel panics) are printed as\n"
	"they come, then one result line. docs/boot-test.md.\n"
	"\n"
	"  --bank a|b      the bank to boot (default: the one that boots next by the\n"
	"                  GPT A/B attributes)\n"
	"  --timeout S     kill qemu after S seconds without a result (default 120)\n"
	"  --qemu PATH     the qemu program (default qemu-system-x86_64 on PATH)\n"
	"  --kvm           use KVM instead of TCG when /dev/kvm can be opened\n"
	"  --console FILE  write the console output (its last MiB) to FILE\n"
	"  --json          print {bank, result, cause, reason, exit, lines, seconds, ...}\n"
	"Exit status: 0 the guest printed \"vforge-init: SUCCESS\"; 3 it printed\n"
	"\"vforge-init: FAILURE\" or \"vinit: FATAL\", dm-verity found corruption, the\n"
	"kernel panicked, or the guest powered off or restarted without success; 1 qemu\n"
	"could not run or there was no result within the timeout; 2 usage.\n";

enum { OPT_BANK = 256, OPT_TIMEOUT, OPT_QEMU, OPT_KVM, OPT_CONSOLE, OPT_JSON, OPT_HELP };

struct args {
	const char *disk, *qemu, *console;
	int bank;
	unsigned timeout_s;
	bool kvm, json;
};

static int parse(const struct vf_cli_cmd *cmd, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "bank", required_argument, NULL, OPT_BANK },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "qemu", required_argument, NULL, OPT_QEMU },
		{ "kvm", no_argument, NULL, OPT_KVM },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	a->bank = -1;
	a->timeout_s = VF_BOOTTEST_DEFAULT_TIMEOUT;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_BANK:
			if (strcasecmp(optarg, "a") == 0)
				a->bank = 0;
			else if (strcasecmp(optarg, "b") == 0)
				a->bank = 1;
			else
				return vf_cli_usage(cmd, "--bank: expected a or b, got '%s'", optarg);
			break;
		case OPT_TIMEOUT:
			if ((r = vf_cli_parse_seconds(cmd, "--timeout", optarg, &a->timeout_s)))
				return r;
			break;
		case OPT_QEMU:
			a->qemu = optarg;
			break;
		case OPT_KVM:
			a->kvm = true;
			break;
		case OPT_CONSOLE:
			a->console = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(cmd);
			return -1;
		default:
			return vf_cli_bad_option(cmd, NULL, opt, argv);
		}
	}
	if (optind == argc)
		return vf_cli_usage(cmd, "missing <disk.img>");
	if (argc - optind > 1)
		return vf_cli_usage(cmd, "too many arguments: expected one disk image, got %d",
				    argc - optind);
	a->disk = argv[optind];
	return VF_EXIT_OK;
}

static void print_line(void *ctx, enum vf_boottest_line c, const char *line)
{
	(void)ctx;
	(void)c;
	printf("%s\n", line);
	fflush(stdout);
}

static int exit_of(enum vf_boottest_outcome o)
{
	switch (o) {
	case VF_BOOTTEST_OK:
		return VF_EXIT_OK;
	case VF_BOOTTEST_BOOT_FAILED:
		return VF_EXIT_VERIFY;
	default:
		return VF_EXIT_FAIL;
	}
}

/* What went wrong, in words, for the result line. */
static void describe(const struct vf_boottest_result *res, unsigned timeout_s, char *buf,
		     size_t len)
{
	const char *why = NULL;

	switch (res->outcome) {
	case VF_BOOTTEST_OK:
		snprintf(buf, len, "the guest printed \"%s\"", VF_BOOTTEST_MARK_SUCCESS);
		return;
	case VF_BOOTTEST_TIMEOUT:
		snprintf(buf, len, "no result within %u s: qemu killed", timeout_s);
		return;
	case VF_BOOTTEST_INTERRUPTED:
		snprintf(buf, len, "interrupted by signal %d: qemu killed", res->signal);
		return;
	case VF_BOOTTEST_QEMU_FAILED:
		if (res->status >= 0 && WIFEXITED(res->status))
			snprintf(buf, len, "qemu exited with status %d without a result",
				 WEXITSTATUS(res->status));
		else if (res->status >= 0 && WIFSIGNALED(res->status))
			snprintf(buf, len, "qemu was killed by signal %d without a result",
				 WTERMSIG(res->status));
		else
			snprintf(buf, len, "qemu ended without a result");
		return;
	case VF_BOOTTEST_BOOT_FAILED:
		break;
	}
	switch (res->scan.cause) {
	case VF_BOOTTEST_LINE_INIT_FAILURE:
		why = "the init reported failure";
		break;
	case VF_BOOTTEST_LINE_VINIT_FATAL:
		why = "the initramfs init stopped the boot";
		break;
	case VF_BOOTTEST_LINE_VERITY:
		why = "dm-verity found a corrupted block";
		break;
	case VF_BOOTTEST_LINE_PANIC:
		why = "the kernel panicked";
		break;
	case VF_BOOTTEST_LINE_RESTART:
		why = "the guest restarted without reporting success";
		break;
	default:
		snprintf(buf, len, "the guest powered off without reporting success");
		return;
	}
	snprintf(buf, len, "%s: %s", why, res->scan.reason ? res->scan.reason : "");
}

static int write_console(const char *path, const struct vf_boottest_result *res)
{
	struct vf_fs_atomic f;
	struct vf_err err = { 0 };
	int r;

	vf_fs_atomic_init(&f);
	if ((r = vf_fs_atomic_open(&f, path, 0644, &err)))
		goto out;
	if ((r = vf_fs_pwrite_full(f.fd, res->console.data ? res->console.data : (const uint8_t *)"",
				   res->console.len, 0))) {
		r = vf_err_sys(&err, r, "cannot write '%s'", path);
		goto out;
	}
	r = vf_fs_atomic_commit(&f, &err);
out:
	vf_fs_atomic_release(&f);
	if (r) {
		vf_err_prefix(&err, "--console");
		return vf_cli_fail(&err);
	}
	return 0;
}

static int print_json(const struct vf_boottest_boot *b, const struct vf_boottest_result *res,
		      const char *what, int code)
{
	json_t *o = json_object(), *lines = json_array(), *rel = json_null();
	char *text;

	for (size_t i = 0; i < res->scan.n_lines; i++)
		json_array_append_new(lines, json_string(res->scan.lines[i]));
	if (b->has_release)
		rel = json_pack("{s:s,s:s,s:s}", "variant", b->release.variant, "arch",
				b->release.arch, "version", b->release.version);
	json_object_set_new(o, "disk", json_string(b->disk));
	json_object_set_new(o, "bank", json_string(b->bank ? "B" : "A"));
	json_object_set_new(o, "release", rel);
	json_object_set_new(o, "accel", json_string(res->accel));
	json_object_set_new(o, "result", json_string(vf_boottest_outcome_name(res->outcome)));
	json_object_set_new(o, "cause", res->scan.cause != VF_BOOTTEST_LINE_OTHER
					  ? json_string(vf_boottest_line_name(res->scan.cause))
					  : json_null());
	json_object_set_new(o, "reason", json_string(what));
	json_object_set_new(o, "exit", json_integer(code));
	json_object_set_new(o, "lines", lines);
	json_object_set_new(o, "lines_dropped", json_integer((json_int_t)res->scan.n_dropped));
	json_object_set_new(o, "seconds", json_real((double)(res->elapsed_ms / 100) / 10.0));
	json_object_set_new(o, "console_bytes", json_integer((json_int_t)res->scan.n_bytes));
	text = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (!text) {
		fprintf(stderr, "vforge: error: cannot build the JSON result: out of memory\n");
		return VF_EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

/* qemu's own complaint (the last console lines) when it failed without a result. */
static void print_tail(const struct vf_boottest_result *res)
{
	const char *c = res->console.data ? (const char *)res->console.data : "";
	size_t len = res->console.len, start = len, lines = 0;
	char *buf;

	while (start > 0 && lines < 10)
		if (c[--start] == '\n' && start + 1 < len)
			lines++;
	if (start < len && c[start] == '\n')
		start++;
	if (start >= len)
		return;
	buf = malloc(len - start + 1);
	if (!buf)
		return;
	fprintf(stderr, "vforge boot-test: the last output of qemu:\n");
	for (size_t i = start; i < len;) {
		const char *nl = memchr(c + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (c + i)) : len - i;

		vf_boottest_sanitize(c + i, n, buf, len - start + 1);
		fprintf(stderr, "  %s\n", buf);
		i += n + 1;
	}
	free(buf);
}

int cmd_boot_test(int argc, char **argv)
{
	const struct vf_cli_cmd *cmd = vf_cli_cmd_find("boot-test");
	struct vf_boottest_boot b;
	struct vf_boottest_result res;
	struct vf_boottest_opts o = { 0 };
	struct vf_err err = { 0 };
	struct args a = { 0 };
	char what[1200];
	int r, code, sig = 0;

	if ((r = parse(cmd, argc, argv, &a)))
		return r < 0 ? VF_EXIT_OK : r;
	vf_boottest_boot_init(&b);
	vf_boottest_result_init(&res);
	if ((r = vf_boottest_prepare(a.disk, a.bank, NULL, &b, &err))) {
		code = vf_cli_fail(&err);
		goto out;
	}
	o.qemu = a.qemu;
	o.timeout_s = a.timeout_s;
	o.kvm = a.kvm;
	if (!a.json) {
		o.on_line = print_line;
		printf("boot-test: '%s' bank %c", b.disk, 'A' + b.bank);
		if (b.has_release)
			printf(" (%s %s %s)", b.release.variant, b.release.arch, b.release.version);
		printf(": kernel %llu bytes, initramfs %llu bytes, timeout %u s\n",
		       (unsigned long long)b.kernel_size, (unsigned long long)b.initrd_size,
		       a.timeout_s);
		fflush(stdout);
	}
	if (!b.bootable)
		fprintf(stderr, "vforge boot-test: note: bank %c is not bootable by its A/B "
			"attributes; booting it as asked\n", 'A' + b.bank);
	if ((r = vf_boottest_run(&b, &o, &res, &err))) {
		code = vf_cli_fail(&err);
		goto out;
	}
	code = exit_of(res.outcome);
	describe(&res, a.timeout_s, what, sizeof(what));
	if (a.console && (r = write_console(a.console, &res)))
		code = r;
	if (res.outcome == VF_BOOTTEST_INTERRUPTED) {
		sig = res.signal;
		fprintf(stderr, "vforge boot-test: %s\n", what);
		goto out;
	}
	if (a.json) {
		if ((r = print_json(&b, &res, what, code)))
			code = r;
	} else {
		if (res.scan.n_dropped)
			printf("(%zu more interesting lines not shown)\n", res.scan.n_dropped);
		printf("boot-test: %s: bank %c: %s (%s, %.1f s)\n",
		       vf_boottest_outcome_name(res.outcome), 'A' + b.bank, what, res.accel,
		       (double)res.elapsed_ms / 1000.0);
	}
	if (res.outcome == VF_BOOTTEST_QEMU_FAILED)
		print_tail(&res);
	if (res.outcome == VF_BOOTTEST_TIMEOUT || res.outcome == VF_BOOTTEST_QEMU_FAILED)
		fprintf(stderr, "vforge: error: boot-test: bank %c: %s\n", 'A' + b.bank, what);
out:
	vf_boottest_result_release(&res);
	vf_boottest_boot_release(&b);
	if (sig) {
		/* die of the signal vforge got, now that qemu is gone and the files removed */
		fflush(stdout);
		fflush(stderr);
		signal(sig, SIG_DFL);
		raise(sig);
		return 128 + sig;
	}
	return code;
}
