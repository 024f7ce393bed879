/* repo/fetcher: bounded downloads against a tiny HTTP/1.1 server running in a
 * thread of this test (127.0.0.1, ephemeral port): status mapping, the size
 * limit on what arrives (close-delimited, chunked) and on Content-Length,
 * redirects (same scheme only, at most 5), timeouts, file:// URLs, and the
 * percent-encoding of vf_fetch_url_join(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/fetcher.h"
#include "tests/unit/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the server ------------------------------------------------------------------------ */

#define MAX_STALLED 16

static int listen_fd = -1;
static unsigned short port;
static pthread_t server_thread;
static int stalled[MAX_STALLED]; /* connections left open without an answer */
static int n_stalled;

static void send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return; /* the client gave up: fine */
		p += n;
		len -= (size_t)n;
	}
}

static void sendf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		send_all(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void send_filler(int fd, size_t len)
{
	char chunk[4096];

	memset(chunk, 'x', sizeof(chunk));
	while (len) {
		size_t n = len < sizeof(chunk) ? len : sizeof(chunk);

		send_all(fd, chunk, n);
		len -= n;
	}
}

static void reply(int fd, const char *status, const char *headers, const char *body)
{
	sendf(fd, "HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n", status,
	      strlen(body), headers);
	send_all(fd, body, strlen(body));
}

static void redirect(int fd, const char *location)
{
	char h[512];

	snprintf(h, sizeof(h), "Location: %s\r\n", location);
	reply(fd, "302 Found", h, "moved\n");
}

/* Answer one request; returns true when the connection must stay open. */
static bool serve(int fd, const char *path)
{
	char loc[256];
	int n;

	if (!strcmp(path, "/ok")) {
		reply(fd, "200 OK", "", "hello");
	} else if (!strcmp(path, "/thousand")) {
		sendf(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n");
		send_filler(fd, 1000);
	} else if (!strcmp(path, "/big-close")) {
		/* No length: the body ends when the connection does. */
		sendf(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		send_filler(fd, 1 << 20);
	} else if (!strcmp(path, "/big-chunked")) {
		sendf(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 64; i++) {
			sendf(fd, "200\r\n"); /* 512 bytes */
			send_filler(fd, 512);
			sendf(fd, "\r\n");
		}
		sendf(fd, "0\r\n\r\n");
	} else if (!strcmp(path, "/big-length")) {
		/* Announces a huge body and never sends it: only the header can fail it. */
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n");
		return true;
	} else if (!strcmp(path, "/404")) {
		reply(fd, "404 Not Found", "", "<html>no such file</html>");
	} else if (!strcmp(path, "/404-big")) {
		sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 1000000000\r\n\r\n");
		return true;
	} else if (!strcmp(path, "/410")) {
		reply(fd, "410 Gone", "", "gone");
	} else if (!strcmp(path, "/500")) {
		reply(fd, "500 Internal Server Error", "", "oops");
	} else if (!strcmp(path, "/204")) {
		sendf(fd, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	} else if (!strcmp(path, "/redir-abs")) {
		snprintf(loc, sizeof(loc), "http://127.0.0.1:%u/ok", port);
		redirect(fd, loc);
	} else if (!strcmp(path, "/redir-rel")) {
		redirect(fd, "/ok");
	} else if (!strcmp(path, "/redir-file")) {
		redirect(fd, "file:///etc/passwd");
	} else if (!strcmp(path, "/redir-https")) {
		redirect(fd, "https://127.0.0.1:1/ok");
	} else if (!strcmp(path, "/loop")) {
		redirect(fd, "/loop");
	} else if (sscanf(path, "/r/%d", &n) == 1) {
		/* /r/N takes N redirects to reach /ok */
		snprintf(loc, sizeof(loc), n > 1 ? "/r/%d" : "/ok", n - 1);
		redirect(fd, loc);
	} else if (!strcmp(path, "/stall")) {
		return true;
	} else if (!strcmp(path, "/slow-body")) {
		sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
		return true;
	} else if (!strcmp(path, "/a%20b%25.txt")) {
		reply(fd, "200 OK", "", "encoded");
	} else {
		reply(fd, "404 Not Found", "", "unknown");
	}
	return false;
}

static void *server_main(void *arg)
{
	(void)arg;
	for (;;) {
		char req[8192], path[1024];
		size_t len = 0;
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0)
			return NULL; /* shut down */
		while (len < sizeof(req) - 1) {
			ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);

			if (n <= 0)
				break;
			len += (size_t)n;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[len] = '\0';
		if (sscanf(req, "GET %1023s HTTP/1.1", path) == 1 && serve(fd, path) &&
		    n_stalled < MAX_STALLED) {
			stalled[n_stalled++] = fd;
			continue;
		}
		shutdown(fd, SHUT_WR);
		close(fd);
	}
}

static int server_start(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int one = 1;

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) || listen(listen_fd, 16) ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &alen))
		return -1;
	port = ntohs(a.sin_port);
	return pthread_create(&server_thread, NULL, server_main, NULL) ? -1 : 0;
}

static int server_stop(void **state)
{
	(void)state;
	shutdown(listen_fd, SHUT_RDWR); /* wakes accept() */
	pthread_join(server_thread, NULL);
	close(listen_fd);
	for (int i = 0; i < n_stalled; i++)
		close(stalled[i]);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static char *url(const char *path)
{
	char *u = NULL;

	assert_true(asprintf(&u, "http://127.0.0.1:%u%s", port, path) > 0);
	return u;
}

/* Short timeouts: no test may wait long even when the fetcher is wrong. */
static struct vf_fetcher *fetcher(long timeout_s)
{
	struct vf_fetcher_opts o = { .connect_timeout_s = 2, .low_speed_s = timeout_s,
				     .timeout_s = timeout_s };
	struct vf_fetcher *f = NULL;
	struct vf_err err = { 0 };

	if (vf_fetcher_new(&o, &f, &err))
		fail_msg("vf_fetcher_new: %s", err.msg);
	return f;
}

struct counting {
	uint64_t calls, bytes;
};

static int count_sink(void *ctx, const void *data, size_t len, struct vf_err *err)
{
	struct counting *c = ctx;

	(void)data;
	(void)err;
	c->calls++;
	c->bytes += len;
	return 0;
}

/* GET path (on the server) into a buffer; checks the code and message; returns the buffer. */
static struct vf_buf get(struct vf_fetcher *f, const char *u, uint64_t max_len, int code,
			 const char *msg)
{
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };
	int r = vf_fetch_buf(f, u, max_len, &b, &err);

	if (r != code)
		fail_msg("'%s': expected %d, got %d (%s)", u, code, r, err.msg);
	if (msg)
		vf_test_assert_contains(err.msg, msg);
	if (code)
		assert_int_equal(b.len, 0);
	return b;
}

static void get_path(struct vf_fetcher *f, const char *path, uint64_t max_len, int code,
		     const char *msg)
{
	char *u = url(path);
	struct vf_buf b = get(f, u, max_len, code, msg);

	vf_buf_release(&b);
	free(u);
}

/* Fetch with a counting sink: nothing may reach it on failure. */
static void get_nothing(struct vf_fetcher *f, const char *path, uint64_t max_len, int code,
			const char *msg, struct counting *c)
{
	char *u = url(path);
	struct vf_err err = { 0 };
	int r = vf_fetch(f, u, max_len, count_sink, c, &err);

	if (r != code)
		fail_msg("'%s': expected %d, got %d (%s)", u, code, r, err.msg);
	vf_test_assert_contains(err.msg, msg);
	vf_test_assert_contains(err.msg, u); /* every message names the URL */
	free(u);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_ok(void **state)
{
	struct vf_fetcher *f = fetcher(5);
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };
	char *u = url("/ok");

	(void)state;
	/* appended to what the buffer holds */
	assert_int_equal(vf_buf_add_str(&b, "abc:"), 0);
	assert_int_equal(vf_fetch_buf(f, u, 5, &b, &err), 0);
	assert_string_equal((char *)b.data, "abc:hello");
	/* the handle is reused: again, and a body of exactly the limit */
	assert_int_equal(vf_fetch_buf(f, u, 1000, &b, &err), 0);
	assert_string_equal((char *)b.data, "abc:hellohello");
	vf_buf_release(&b);
	b = get(f, (free(u), u = url("/thousand")), 1000, 0, NULL);
	assert_int_equal(b.len, 1000);
	vf_buf_release(&b);
	free(u);
	vf_fetcher_free(f);
	vf_fetcher_free(NULL);
}

static void test_endless_data(void **state)
{
	struct vf_fetcher *f = fetcher(5);
	struct counting c = { 0 };
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };
	char *u = url("/big-close");

	(void)state;
	/* one byte over the limit, with Content-Length */
	get_path(f, "/thousand", 999, -EFBIG, "more than 999 bytes (endless data?)");
	/* no Content-Length, body up to the connection's end */
	assert_int_equal(vf_fetch(f, u, 1000, count_sink, &c, &err), -EFBIG);
	vf_test_assert_containsf(err.msg, "'%s': more than 1000 bytes (endless data?)", u);
	assert_true(c.bytes <= 1000);
	/* chunked: 64 chunks of 512 */
	free(u);
	u = url("/big-chunked");
	memset(&c, 0, sizeof(c));
	assert_int_equal(vf_fetch(f, u, 1000, count_sink, &c, &err), -EFBIG);
	vf_test_assert_contains(err.msg, "more than 1000 bytes");
	assert_true(c.bytes <= 1000);
	/* the same, whole, when the limit allows it */
	b = get(f, u, 64 * 512, 0, NULL);
	assert_int_equal(b.len, 64 * 512);
	vf_buf_release(&b);
	/* limit 0: not a single byte */
	get_path(f, "/ok", 0, -EFBIG, "more than 0 bytes");
	free(u);
	vf_fetcher_free(f);
}

static void test_announced_length(void **state)
{
	/* The server sends the header and then nothing: failing fast proves
	 * Content-Length was checked before any body. */
	struct vf_fetcher *f = fetcher(3);
	struct counting c = { 0 };
	double t0 = now_s();

	(void)state;
	get_nothing(f, "/big-length", 4096, -EFBIG, "more than 4096 bytes", &c);
	assert_true(now_s() - t0 < 1.5);
	assert_int_equal(c.calls, 0);
	/* an error page announcing a large body is still reported by its status */
	get_nothing(f, "/404-big", 4096, -ENOENT, "HTTP 404", &c);
	assert_int_equal(c.calls, 0);
	vf_fetcher_free(f);
}

static void test_status(void **state)
{
	struct vf_fetcher *f = fetcher(5);
	struct counting c = { 0 };

	(void)state;
	get_nothing(f, "/404", 1000, -ENOENT, "HTTP 404", &c);
	get_nothing(f, "/410", 1000, -ENOENT, "HTTP 410", &c);
	get_nothing(f, "/500", 1000, -EIO, "HTTP 500", &c);
	get_nothing(f, "/204", 1000, -EIO, "HTTP 204", &c);
	assert_int_equal(c.calls, 0);
	vf_fetcher_free(f);
}

static void test_redirects(void **state)
{
	struct vf_fetcher *f = fetcher(5);
	struct counting c = { 0 };
	struct vf_buf b;
	char *u = url("/redir-abs");

	(void)state;
	b = get(f, u, 100, 0, NULL);
	assert_string_equal((char *)b.data, "hello");
	vf_buf_release(&b);
	free(u);
	u = url("/redir-rel");
	b = get(f, u, 100, 0, NULL);
	assert_string_equal((char *)b.data, "hello");
	vf_buf_release(&b);
	free(u);
	/* exactly VF_FETCH_MAX_REDIRECTS is fine, one more is not */
	u = url("/r/5");
	b = get(f, u, 100, 0, NULL);
	assert_string_equal((char *)b.data, "hello");
	vf_buf_release(&b);
	free(u);
	get_nothing(f, "/r/6", 100, -EPROTO, "more than 5 redirects", &c);
	get_nothing(f, "/loop", 100, -EPROTO, "more than 5 redirects", &c);
	/* never to another scheme */
	get_nothing(f, "/redir-file", 100000, -EPROTO, "redirected to another scheme", &c);
	get_nothing(f, "/redir-https", 100000, -EPROTO, "redirected to another scheme", &c);
	assert_int_equal(c.calls, 0);
	vf_fetcher_free(f);
}

static void test_timeouts(void **state)
{
	struct vf_fetcher *f = fetcher(1);
	struct counting c = { 0 };
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };
	double t0 = now_s();
	char *u = url("/slow-body");

	(void)state;
	get_nothing(f, "/stall", 100, -ETIMEDOUT, "timed out", &c);
	assert_int_equal(c.calls, 0);
	/* a body that stops half way: the buffer goes back to what it held */
	assert_int_equal(vf_buf_add_str(&b, "keep"), 0);
	assert_int_equal(vf_fetch_buf(f, u, 100, &b, &err), -ETIMEDOUT);
	vf_test_assert_contains(err.msg, "timed out");
	assert_string_equal((char *)b.data, "keep");
	assert_int_equal(b.len, 4);
	assert_true(now_s() - t0 < 4.5);
	vf_buf_release(&b);
	free(u);
	vf_fetcher_free(f);
}

static void get_fails(struct vf_fetcher *f, const char *u, int code, const char *msg)
{
	struct vf_buf b = get(f, u, 100, code, msg);

	vf_buf_release(&b);
}

static void test_unreachable_and_bad_urls(void **state)
{
	struct vf_fetcher *f = fetcher(2);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	struct vf_err err = { 0 };
	struct vf_buf b = VF_BUF_INIT;
	char *u = NULL;
	int s;

	(void)state;
	/* a port nobody listens on: bind one, then close it */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	close(s);
	assert_true(asprintf(&u, "http://127.0.0.1:%u/ok", ntohs(a.sin_port)) > 0);
	get_fails(f, u, -ECONNREFUSED, u);
	free(u);

	get_fails(f, "ftp://127.0.0.1/x", -EINVAL, "'ftp://127.0.0.1/x': not an http://");
	get_fails(f, "/etc/passwd", -EINVAL, "not an http://, https:// or file:// URL");
	get_fails(f, "httpx://a/b", -EINVAL, "not an http://");
	/* credentials in a URL are not repeated in messages */
	assert_true(asprintf(&u, "http://user:s3cret@127.0.0.1:%u/404", port) > 0);
	assert_int_equal(vf_fetch_buf(f, u, 100, &b, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "'http://***@127.0.0.1:");
	assert_null(strstr(err.msg, "s3cret"));
	free(u);
	/* an upper-case scheme is a scheme */
	assert_true(asprintf(&u, "HTTP://127.0.0.1:%u/ok", port) > 0);
	b = get(f, u, 100, 0, NULL);
	assert_string_equal((char *)b.data, "hello");
	vf_buf_release(&b);
	free(u);
	vf_fetcher_free(f);
}

static int failing_sink(void *ctx, const void *data, size_t len, struct vf_err *err)
{
	(void)ctx;
	(void)data;
	(void)len;
	return vf_err_set(err, ENOSPC, "disk full");
}

static void test_sink_error(void **state)
{
	struct vf_fetcher *f = fetcher(5);
	struct vf_err err = { 0 };
	char *u = url("/thousand");

	(void)state;
	assert_int_equal(vf_fetch(f, u, 1000, failing_sink, NULL, &err), -ENOSPC);
	assert_string_equal(err.msg, "disk full");
	free(u);
	vf_fetcher_free(f);
}

static void test_file(void **state)
{
	const char *dir = *state;
	struct vf_fetcher *f = fetcher(5);
	char *p = vf_test_path(dir, "a b%.txt"), *base = NULL, *u = NULL;
	struct vf_err err = { 0 };
	struct vf_buf b;
	uint8_t data[2000];

	vf_test_data(7, data, sizeof(data));
	vf_test_write_file(p, data, sizeof(data));
	assert_true(asprintf(&base, "file://%s", dir) > 0);
	/* the joined URL is encoded and libcurl decodes it back to the name */
	assert_int_equal(vf_fetch_url_join(base, "a b%.txt", &u, &err), 0);
	vf_test_assert_contains(u, "/a%20b%25.txt");
	b = get(f, u, 2000, 0, NULL);
	assert_int_equal(b.len, 2000);
	assert_memory_equal(b.data, data, 2000);
	vf_buf_release(&b);
	/* too long */
	b = get(f, u, 1999, -EFBIG, "more than 1999 bytes");
	vf_buf_release(&b);
	free(u);
	/* missing */
	assert_int_equal(vf_fetch_url_join(base, "missing.json", &u, &err), 0);
	get_fails(f, u, -ENOENT, "missing.json");
	free(u);
	/* a directory is not an empty file */
	get_fails(f, base, -EISDIR, "is a directory");
	free(base);
	free(p);
	vf_fetcher_free(f);
}

static void test_encoded_over_http(void **state)
{
	struct vf_fetcher *f = fetcher(5);
	struct vf_err err = { 0 };
	char *base = url("/"), *u = NULL;
	struct vf_buf b;

	(void)state;
	/* the server sees the name percent-encoded */
	assert_int_equal(vf_fetch_url_join(base, "a b%.txt", &u, &err), 0);
	b = get(f, u, 100, 0, NULL);
	assert_string_equal((char *)b.data, "encoded");
	vf_buf_release(&b);
	free(u);
	free(base);
	vf_fetcher_free(f);
}

static void join_is(const char *base, const char *path, const char *want)
{
	struct vf_err err = { 0 };
	char *u = NULL;

	assert_int_equal(vf_fetch_url_join(base, path, &u, &err), 0);
	if (strcmp(u, want))
		fail_msg("join('%s', '%s'): expected '%s', got '%s'", base, path, want, u);
	free(u);
}

static void test_url_join(void **state)
{
	(void)state;
	join_is("https://r.example/metadata", "root.json", "https://r.example/metadata/root.json");
	join_is("https://r.example/metadata/", "root.json", "https://r.example/metadata/root.json");
	join_is("http://h/t", "a b/c", "http://h/t/a%20b/c");
	join_is("http://h/t", "100%.txt", "http://h/t/100%25.txt");
	join_is("http://h/t", "\xc3\xa9t\xc3\xa9", "http://h/t/%C3%A9t%C3%A9");
	join_is("http://h/t/", "dir/sub/A-z_0.9~", "http://h/t/dir/sub/A-z_0.9~");
	join_is("http://h/t", "a+b&c?d#e=f;g:h@i", "http://h/t/a%2Bb%26c%3Fd%23e%3Df%3Bg%3Ah%40i");
	/* a role file name already percent-encoded is encoded once more */
	join_is("http://h/m", "a%2Fb.json", "http://h/m/a%252Fb.json");
	join_is("file:///srv/t", "x\x01\x7f\xff", "file:///srv/t/x%01%7F%FF");
	join_is("http://h", "", "http://h/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_endless_data),
		cmocka_unit_test(test_announced_length),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_unreachable_and_bad_urls),
		cmocka_unit_test(test_sink_error),
		vf_test_in_tmpdir(test_file),
		cmocka_unit_test(test_encoded_over_http),
		cmocka_unit_test(test_url_join),
	};

	alarm(30); /* a hang is a failure, not a stuck build */
	return cmocka_run_group_tests(tests, server_start, server_stop);
}
