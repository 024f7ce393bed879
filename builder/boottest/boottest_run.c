/*
 * boot-test: running qemu. fork/exec without a shell, the console through a
 * pipe, a deadline, and qemu killed (its whole process group) on every way
 * out: timeout, a verdict qemu does not act on, a signal to vforge.
 */
#include "builder/boottest/boottest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *vf_boottest_outcome_name(enum vf_boottest_outcome o)
{
	switch (o) {
	case VF_BOOTTEST_OK:
		return "success";
	case VF_BOOTTEST_BOOT_FAILED:
		return "failure";
	case VF_BOOTTEST_TIMEOUT:
		return "timeout";
	case VF_BOOTTEST_QEMU_FAILED:
		return "qemu-error";
	case VF_BOOTTEST_INTERRUPTED:
		return "interrupted";
	}
	return "unknown";
}

enum vf_boottest_outcome vf_boottest_outcome_decide(enum vf_boottest_verdict verdict,
						    bool timed_out, int status)
{
	if (verdict == VF_BOOTTEST_PASSED)
		return VF_BOOTTEST_OK;
	if (verdict == VF_BOOTTEST_FAILED)
		return VF_BOOTTEST_BOOT_FAILED;
	if (timed_out)
		return VF_BOOTTEST_TIMEOUT;
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return VF_BOOTTEST_BOOT_FAILED;
	return VF_BOOTTEST_QEMU_FAILED;
}

void vf_boottest_result_init(struct vf_boottest_result *r)
{
	memset(r, 0, sizeof(*r));
	vf_boottest_scan_init(&r->scan);
	vf_buf_init(&r->console);
	r->accel = "tcg";
	r->status = -1;
}

void vf_boottest_result_release(struct vf_boottest_result *r)
{
	if (!r)
		return;
	vf_boottest_scan_release(&r->scan);
	vf_buf_release(&r->console);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Keep the last VF_BOOTTEST_CONSOLE_MAX bytes (trimmed when twice that is held). */
static int keep_console(struct vf_boottest_result *res, const void *data, size_t len, bool final)
{
	struct vf_buf *c = &res->console;
	int r;

	if (len && (r = vf_buf_add(c, data, len)))
		return r;
	if (c->len > (final ? VF_BOOTTEST_CONSOLE_MAX : 2u * VF_BOOTTEST_CONSOLE_MAX)) {
		size_t drop = c->len - VF_BOOTTEST_CONSOLE_MAX;

		memmove(c->data, c->data + drop, VF_BOOTTEST_CONSOLE_MAX);
		c->len = VF_BOOTTEST_CONSOLE_MAX;
		c->data[c->len] = '\0';
		res->console_truncated = true;
	}
	return 0;
}

/* Read what the pipe holds now. Returns 1 at end of file, 0 when drained, or -errno. */
static int drain(int fd, struct vf_boottest_result *res)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		int r;

		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		if ((r = keep_console(res, buf, (size_t)n, false)) ||
		    (r = vf_boottest_scan_feed(&res->scan, buf, (size_t)n)))
			return r;
	}
}

/* Kill qemu's process group (and qemu itself, should it have left it) and reap it. */
static void kill_and_reap(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* A pending SIGINT/SIGTERM/... taken from the signalfd: its number, or 0. */
static int take_signal(int sfd)
{
	struct signalfd_siginfo si;
	int sig = 0;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (!sig)
			sig = (int)si.ssi_signo;
	return sig;
}

/* In the child: set up and exec qemu; on failure report errno through `report`. */
static void __attribute__((noreturn)) child(char **argv, int out, int devnull, int report,
					     pid_t parent, const sigset_t *mask)
{
	int e;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		goto fail;
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(argv[0], argv);
fail:
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

int vf_boottest_run(const struct vf_boottest_boot *b, const struct vf_boottest_opts *opts,
		    struct vf_boottest_result *ret, struct vf_err *err)
{
	unsigned timeout_s = opts->timeout_s ? opts->timeout_s : VF_BOOTTEST_DEFAULT_TIMEOUT;
	unsigned grace_s = opts->grace_s ? opts->grace_s : VF_BOOTTEST_GRACE_S;
	int out[2] = { -1, -1 }, report[2] = { -1, -1 }, sfd = -1, devnull = -1;
	uint64_t start, deadline, grace = 0;
	bool eof = false, timed_out = false, reaped = false, masked = false;
	sigset_t block, old;
	char **argv = NULL;
	pid_t pid = -1;
	int status = -1, sig = 0, r;

	vf_boottest_result_release(ret);
	vf_boottest_result_init(ret);
	ret->accel = opts->kvm && vf_boottest_kvm_usable() ? "kvm" : "tcg";
	ret->scan.on_line = opts->on_line;
	ret->scan.ctx = opts->ctx;
	if ((r = vf_boottest_argv_build(b, opts->qemu, ret->accel, &argv, err)))
		return r;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0) {
		r = vf_err_sys(err, errno, "cannot make a pipe for qemu");
		goto out;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		r = vf_err_sys(err, errno, "cannot open '/dev/null'");
		goto out;
	}
	/* the signals that would end the caller (not those it ignores) come through sfd */
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		struct sigaction sa;

		if (sigaction(stop_signals[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			sigaddset(&block, stop_signals[i]);
	}
	if (sigprocmask(SIG_BLOCK, &block, &old) < 0) {
		r = vf_err_sys(err, errno, "cannot block signals");
		goto out;
	}
	masked = true;
	sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		r = vf_err_sys(err, errno, "cannot make a signalfd");
		goto out;
	}

	start = now_ms();
	{
		pid_t parent = getpid();

		pid = fork();
		if (pid == 0)
			child(argv, out[1], devnull, report[1], parent, &old);
	}
	if (pid < 0) {
		r = vf_err_sys(err, errno, "cannot fork to run '%s'", argv[0]);
		goto out;
	}
	setpgid(pid, pid); /* also here: no window in which a kill(-pid) misses it */
	close(out[1]);
	close(report[1]);
	out[1] = report[1] = -1;
	{
		int e = 0;
		ssize_t n;

		while ((n = read(report[0], &e, sizeof(e))) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof(e)) {
			kill_and_reap(pid, &status);
			reaped = true;
			r = vf_err_set(err, e, "cannot run '%s': %s%s", argv[0], strerror(e),
				       e == ENOENT && !opts->qemu
					       ? " (install qemu-system-x86 or give --qemu)" : "");
			goto out;
		}
	}
	if (fcntl(out[0], F_SETFL, O_NONBLOCK) < 0) {
		r = vf_err_sys(err, errno, "cannot set up qemu's output pipe");
		goto out;
	}

	deadline = start + (uint64_t)timeout_s * 1000u;
	/* the console until qemu closes it, a signal, or a deadline */
	while (!eof) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { sfd, POLLIN, 0 } };
		uint64_t now = now_ms(), limit = deadline;

		if (grace && grace < limit)
			limit = grace;
		if (now >= limit) {
			timed_out = ret->scan.verdict == VF_BOOTTEST_UNDECIDED;
			break;
		}
		if (poll(p, 2, (int)(limit - now > 1000 ? 1000 : limit - now)) < 0) {
			if (errno == EINTR)
				continue;
			r = vf_err_sys(err, errno, "cannot poll qemu's output");
			goto out;
		}
		if (p[1].revents && (sig = take_signal(sfd)))
			break;
		if (p[0].revents) {
			r = drain(out[0], ret);
			if (r < 0) {
				r = r == -ENOMEM ? vf_err_set(err, ENOMEM, "out of memory")
						 : vf_err_sys(err, r, "cannot read qemu's output");
				goto out;
			}
			eof = r == 1;
			r = 0;
		}
		if (!grace && ret->scan.verdict != VF_BOOTTEST_UNDECIDED)
			grace = now_ms() + (uint64_t)grace_s * 1000u;
	}
	/* qemu closed its output: it is exiting; wait for it within the same limits */
	while (eof && !sig) {
		uint64_t now = now_ms(), limit = deadline;
		struct pollfd p = { sfd, POLLIN, 0 };
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			reaped = true;
			break;
		}
		if (w < 0 && errno != EINTR) {
			r = vf_err_sys(err, errno, "cannot wait for qemu");
			goto out;
		}
		if (grace && grace < limit)
			limit = grace;
		if (now >= limit) {
			timed_out = ret->scan.verdict == VF_BOOTTEST_UNDECIDED;
			break;
		}
		if (poll(&p, 1, 20) > 0)
			sig = take_signal(sfd);
	}
	if (!reaped) {
		kill_and_reap(pid, &status);
		reaped = true;
		ret->killed = true;
	}
	ret->elapsed_ms = now_ms() - start;
	if (!eof && drain(out[0], ret) < 0) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (vf_boottest_scan_finish(&ret->scan) || keep_console(ret, NULL, 0, true)) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (!sig)
		sig = take_signal(sfd);
	ret->status = ret->killed ? -1 : status;
	ret->signal = sig;
	ret->outcome = sig ? VF_BOOTTEST_INTERRUPTED
			   : vf_boottest_outcome_decide(ret->scan.verdict, timed_out, ret->status);
	r = 0;
out:
	if (pid > 0 && !reaped) {
		kill_and_reap(pid, &status);
		ret->killed = true;
	}
	if (sfd >= 0)
		close(sfd);
	if (masked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	if (devnull >= 0)
		close(devnull);
	vf_boottest_argv_free(argv);
	return r;
}
