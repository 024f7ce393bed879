/*
 * keys/exec: "exec:<command>" signers. The command line is split into words
 * (no shell) and run with fork/execvp: "<command> --public-key" prints the PEM
 * public key; "<command>" reads the bytes to sign on stdin and writes the raw
 * signature on stdout. Both runs are bounded in output and time; a non-zero
 * exit is an error that quotes the tail of the command's stderr.
 */
#include "keys/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Largest "--public-key" output. */
#define PUBLIC_OUT_MAX (64 * 1024)
/* How much of the command's stderr we keep, and quote. */
#define STDERR_KEEP 4096
#define STDERR_QUOTE 300

struct vf_exec {
	char **argv;  /**< NULL-terminated words, one spare slot for "--public-key" */
	size_t argc;
	char *words;  /**< storage of the words */
};

/* Split like a shell would without expanding anything: blanks separate words,
 * '...' quotes literally, "..." and \ quote the next character. */
static int split_words(const char *cmd, struct vf_exec *x, struct vf_err *err)
{
	size_t n = strlen(cmd), argc = 0, cap = 8;
	char *out, **argv;
	const char *p = cmd;
	char quote = 0;
	bool in_word = false;

	out = x->words = malloc(n + 1);
	argv = x->argv = calloc(cap, sizeof(*argv));
	if (!out || !argv)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (;; p++) {
		char c = *p;

		if (!quote && (c == '\0' || c == ' ' || c == '\t' || c == '\n')) {
			if (in_word) {
				*out++ = '\0';
				in_word = false;
			}
			if (c == '\0')
				break;
			continue;
		}
		if (c == '\0')
			return vf_err_set(err, EINVAL, "unterminated %c quote in the command", quote);
		if (!in_word) {
			if (argc + 2 >= cap) {
				char **grown = realloc(argv, 2 * cap * sizeof(*argv));

				if (!grown)
					return vf_err_set(err, ENOMEM, "out of memory");
				argv = x->argv = grown;
				cap *= 2;
			}
			argv[argc++] = out;
			argv[argc] = NULL;
			in_word = true;
		}
		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else
				*out++ = c;
		} else if (c == '\\' && (!quote || p[1] == '"' || p[1] == '\\')) {
			if (p[1] == '\0')
				return vf_err_set(err, EINVAL, "the command ends with a backslash");
			*out++ = *++p;
		} else if (quote == '"') {
			if (c == '"')
				quote = 0;
			else
				*out++ = c;
		} else if (c == '\'' || c == '"') {
			quote = c;
		} else {
			*out++ = c;
		}
	}
	x->argc = argc;
	if (argc == 0)
		return vf_err_set(err, EINVAL, "empty command");
	return 0;
}

static void exec_free(struct vf_exec *x)
{
	if (!x)
		return;
	free(x->argv);
	free(x->words);
	free(x);
}

/* What one run of the command produced. */
struct run {
	uint8_t *out;
	size_t out_len;
	char err_tail[STDERR_KEEP];
	size_t err_len;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void keep_stderr(struct run *run, const char *buf, size_t n)
{
	if (n >= STDERR_KEEP) {
		memcpy(run->err_tail, buf + n - STDERR_KEEP, STDERR_KEEP);
		run->err_len = STDERR_KEEP;
		return;
	}
	if (run->err_len + n > STDERR_KEEP) {
		size_t drop = run->err_len + n - STDERR_KEEP;

		memmove(run->err_tail, run->err_tail + drop, run->err_len - drop);
		run->err_len -= drop;
	}
	memcpy(run->err_tail + run->err_len, buf, n);
	run->err_len += n;
}

/* ": <last lines of stderr>" on one line, printable ASCII only; "" when it was silent. */
static void stderr_quote(const struct run *run, char *buf, size_t size)
{
	size_t start = 0, end = run->err_len, o = 0;

	while (end > 0 && (run->err_tail[end - 1] == '\n' || run->err_tail[end - 1] == ' ' ||
			   run->err_tail[end - 1] == '\r' || run->err_tail[end - 1] == '\t'))
		end--;
	if (end > STDERR_QUOTE) {
		start = end - STDERR_QUOTE;
		/* start at a line boundary when one is near */
		for (size_t i = start; i < end; i++)
			if (run->err_tail[i] == '\n') {
				start = i + 1;
				break;
			}
	}
	buf[0] = '\0';
	if (start >= end || size < 8)
		return;
	o = (size_t)snprintf(buf, size, ": %s", start > 0 ? "..." : "");
	for (size_t i = start; i < end && o + 3 < size; i++) {
		unsigned char c = (unsigned char)run->err_tail[i];

		if (c == '\n') {
			buf[o++] = ';';
			buf[o++] = ' ';
		} else {
			buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
	}
	buf[o] = '\0';
}

static void child(char **argv, int in, int out, int errfd, int report)
{
	sigset_t all;
	int e;

	/* dup2 clears FD_CLOEXEC on the targets; everything else closes at exec */
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(errfd, STDERR_FILENO) < 0) {
		e = errno;
		(void)!write(report, &e, sizeof(e));
		_exit(127);
	}
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	execvp(argv[0], argv);
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(127);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Run argv with `in` on stdin; collect at most out_max bytes of stdout into
 * run->out and the tail of stderr. Errors do not name the command (the
 * caller prefixes it). stdin is a socket so that a command that exits
 * without reading cannot SIGPIPE us (send with MSG_NOSIGNAL).
 */
static int run_command(char **argv, const void *in, size_t in_len, size_t out_max,
		       unsigned timeout_ms, struct run *run, struct vf_err *err)
{
	int sv[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
	size_t in_off = 0, out_cap = 0;
	int64_t deadline = now_ms() + timeout_ms;
	bool timed_out = false, too_big = false, exec_failed = false;
	int exec_errno = 0, status = 0, r;
	pid_t pid = -1;
	char buf[4096], tail[STDERR_QUOTE * 2 + 16];

	memset(run, 0, sizeof(*run));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		r = vf_err_sys(err, errno, "cannot create pipes");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = vf_err_sys(err, errno, "cannot fork");
		goto out;
	}
	if (pid == 0)
		child(argv, sv[1], outp[1], errp[1], rep[1]);
	close_fd(&sv[1]);
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&rep[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	if (in_len == 0)
		close_fd(&sv[0]);

	while (outp[0] >= 0 || errp[0] >= 0 || rep[0] >= 0) {
		struct pollfd pfd[4];
		int np = 0, left = (int)(deadline - now_ms()), n;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (sv[0] >= 0)
			pfd[np++] = (struct pollfd){ .fd = sv[0], .events = POLLOUT };
		if (outp[0] >= 0)
			pfd[np++] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
		if (errp[0] >= 0)
			pfd[np++] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
		if (rep[0] >= 0)
			pfd[np++] = (struct pollfd){ .fd = rep[0], .events = POLLIN };
		n = poll(pfd, (nfds_t)np, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vf_err_sys(err, errno, "poll");
			goto out;
		}
		for (int i = 0; i < np; i++) {
			int fd = pfd[i].fd;
			ssize_t k;

			if (!pfd[i].revents)
				continue;
			if (fd == sv[0]) {
				k = send(fd, (const uint8_t *)in + in_off, in_len - in_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (k < 0) /* it stopped reading (EPIPE): its exit status tells */
					in_off = in_len;
				else
					in_off += (size_t)k;
				if (in_off == in_len)
					close_fd(&sv[0]); /* EOF for the command */
			} else if (fd == rep[0]) {
				k = read(fd, &exec_errno, sizeof(exec_errno));
				if (k == (ssize_t)sizeof(exec_errno))
					exec_failed = true;
				close_fd(&rep[0]);
			} else {
				k = read(fd, buf, sizeof(buf));
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (k <= 0) {
					close_fd(fd == outp[0] ? &outp[0] : &errp[0]);
					continue;
				}
				if (fd == errp[0]) {
					keep_stderr(run, buf, (size_t)k);
					continue;
				}
				if (run->out_len + (size_t)k > out_max) {
					too_big = true;
					break;
				}
				if (run->out_len + (size_t)k > out_cap) {
					size_t cap = out_cap ? out_cap * 2 : 4096;
					uint8_t *grown;

					while (cap < run->out_len + (size_t)k)
						cap *= 2;
					grown = realloc(run->out, cap);
					if (!grown) {
						r = vf_err_set(err, ENOMEM, "out of memory");
						goto out;
					}
					run->out = grown;
					out_cap = cap;
				}
				memcpy(run->out + run->out_len, buf, (size_t)k);
				run->out_len += (size_t)k;
			}
		}
		if (too_big)
			break;
	}
	if (timed_out || too_big) {
		kill(pid, SIGKILL);
	} else {
		/* the output is closed; give the command the rest of its time to exit */
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (now_ms() >= deadline) {
				timed_out = true;
				kill(pid, SIGKILL);
				break;
			}
			poll(NULL, 0, 5);
		}
		if (!timed_out) {
			pid = -1;
			goto reaped;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
reaped:
	stderr_quote(run, tail, sizeof(tail));
	if (exec_failed)
		r = vf_err_set(err, exec_errno, "cannot run '%s': %s", argv[0], strerror(exec_errno));
	else if (timed_out)
		r = vf_err_set(err, ETIMEDOUT, "took longer than %u.%03u s and was killed%s",
			       timeout_ms / 1000, timeout_ms % 1000, tail);
	else if (too_big)
		r = vf_err_set(err, EMSGSIZE, "wrote more than %zu bytes to stdout", out_max);
	else if (WIFSIGNALED(status))
		r = vf_err_set(err, EIO, "was killed by signal %d%s", WTERMSIG(status), tail);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = vf_err_set(err, EIO, "exited with status %d%s",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1, tail);
	else
		r = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++) {
		close_fd(&sv[i]);
		close_fd(&outp[i]);
		close_fd(&errp[i]);
		close_fd(&rep[i]);
	}
	if (r) {
		free(run->out);
		run->out = NULL;
		run->out_len = 0;
	}
	return r;
}

int vf_keys_exec_open(struct vf_signer *s, const char *command, struct vf_err *err)
{
	struct vf_exec *x;
	struct run run = { 0 };
	EVP_PKEY *pkey = NULL;
	char *text = NULL;
	int r;

	if (asprintf(&s->name, "exec:%s", command) < 0) {
		s->name = NULL;
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	x = s->exec = calloc(1, sizeof(*x));
	if (!x)
		return vf_err_set(err, ENOMEM, "out of memory");
	r = split_words(command, x, err);
	if (r)
		return vf_err_prefix(err, "signer '%s'", s->name);

	x->argv[x->argc] = (char *)"--public-key";
	x->argv[x->argc + 1] = NULL;
	r = run_command(x->argv, NULL, 0, PUBLIC_OUT_MAX, s->timeout_ms, &run, err);
	x->argv[x->argc] = NULL;
	if (r)
		return vf_err_prefix(err, "signer '%s': --public-key", s->name);
	text = malloc(run.out_len + 1);
	if (!text) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(text, run.out, run.out_len);
	text[run.out_len] = '\0';
	if (strlen(text) != run.out_len) {
		r = vf_err_set(err, EINVAL, "signer '%s': --public-key printed a NUL byte", s->name);
		goto out;
	}
	r = vf_keys_parse_spki_pem(text, run.out_len, "--public-key output", &pkey, err);
	if (!r)
		r = vf_keys_key_from_pkey(pkey, "--public-key output", &s->key, err);
	if (r)
		vf_err_prefix(err, "signer '%s'", s->name);
out:
	EVP_PKEY_free(pkey);
	free(text);
	free(run.out);
	return r;
}

int vf_keys_exec_sign(struct vf_signer *s, const void *msg, size_t len, uint8_t **ret_sig,
		      size_t *ret_len, struct vf_err *err)
{
	struct run run = { 0 };
	int r;

	r = run_command(s->exec->argv, msg, len, VF_KEYS_SIG_MAX, s->timeout_ms, &run, err);
	if (r)
		return r;
	if (run.out_len == 0) {
		free(run.out);
		return vf_err_set(err, EIO, "printed no signature");
	}
	*ret_sig = run.out;
	*ret_len = run.out_len;
	return 0;
}

void vf_keys_exec_release(struct vf_signer *s)
{
	exec_free(s->exec);
	s->exec = NULL;
}
