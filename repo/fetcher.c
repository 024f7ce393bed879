/* Bounded downloads through libcurl (see fetcher.h). */
#include "repo/fetcher.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#ifndef VF_VERSION
#define VF_VERSION "0.0.0-unknown"
#endif

struct vf_fetcher {
	CURL *h;
	struct vf_fetcher_opts opts; /* strings owned */
	char errbuf[CURL_ERROR_SIZE];
};

/* One transfer in progress. */
struct xfer {
	struct vf_fetcher *f;
	const char *url;       /* as shown in messages (credentials hidden) */
	bool is_http;
	uint64_t max_len;
	uint64_t got;
	vf_fetch_sink sink;
	void *ctx;
	struct vf_err *err;
	int rc;                /* set when the write callback aborted */
	long bad_status;       /* a non-200 status seen by the write callback */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The scheme of a URL we accept ("http", "https", "file"), or NULL. */
static const char *url_scheme(const char *url)
{
	static const char *const schemes[] = { "http", "https", "file" };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);

		if (!strncasecmp(url, schemes[i], n) && !strncmp(url + n, "://", 3))
			return schemes[i];
	}
	return NULL;
}

/*
 * The URL as messages may show it: "user:password@" hidden. Writes into
 * `out` (at most `len` bytes with the NUL), truncating very long URLs.
 */
static void url_label(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://"), *at, *end;

	if (p) {
		p += 3;
		end = p + strcspn(p, "/?#");
		at = memchr(p, '@', (size_t)(end - p));
		if (at) {
			snprintf(out, len, "%.*s***%s", (int)(p - url), url, at);
			return;
		}
	}
	snprintf(out, len, "%s", url);
}

/*
 * libcurl reads a file:// directory as an empty body: refuse it, so that a
 * wrong path is reported as such and not as empty, unverifiable data.
 */
static int check_file_url(const char *url, const char *label, struct vf_err *err)
{
	CURLU *u = curl_url();
	char *path = NULL;
	struct stat st;
	int r = 0;

	if (!u)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE)) {
		r = vf_err_set(err, EINVAL, "'%s': not a valid file:// URL", label);
	} else if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		r = vf_err_set(err, EISDIR, "'%s': is a directory", label);
	}
	curl_free(path);
	curl_url_cleanup(u);
	return r;
}

static int set_str_opt(CURL *h, CURLoption o, const char *v)
{
	return curl_easy_setopt(h, o, v) == CURLE_OK ? 0 : -1;
}

int vf_fetcher_new(const struct vf_fetcher_opts *opts, struct vf_fetcher **ret, struct vf_err *err)
{
	struct vf_fetcher *f = NULL;
	CURL *h;
	int r = 0;

	*ret = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return vf_err_set(err, EIO, "libcurl: %s", curl_easy_strerror(global_rc));
	f = calloc(1, sizeof(*f));
	if (!f)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (opts)
		f->opts = *opts;
	f->opts.ca_file = NULL;
	f->opts.user_agent = NULL;
	if (opts && opts->ca_file && !(f->opts.ca_file = strdup(opts->ca_file)))
		goto oom;
	if (!(f->opts.user_agent = strdup(opts && opts->user_agent ? opts->user_agent
						 : "vforge/" VF_VERSION)))
		goto oom;
	if (f->opts.connect_timeout_s <= 0)
		f->opts.connect_timeout_s = VF_FETCH_CONNECT_TIMEOUT_S;
	if (f->opts.low_speed_s <= 0)
		f->opts.low_speed_s = VF_FETCH_LOW_SPEED_S;
	if (f->opts.timeout_s < 0)
		f->opts.timeout_s = VF_FETCH_TIMEOUT_S;

	f->h = h = curl_easy_init();
	if (!h) {
		r = vf_err_set(err, ENOMEM, "libcurl: cannot create a handle");
		goto fail;
	}
	if (curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    set_str_opt(h, CURLOPT_PROTOCOLS_STR, "http,https,file") ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) ||
	    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)VF_FETCH_MAX_REDIRECTS) ||
	    curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, f->opts.connect_timeout_s) ||
	    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L) ||
	    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, f->opts.low_speed_s) ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, f->opts.timeout_s) ||
	    set_str_opt(h, CURLOPT_USERAGENT, f->opts.user_agent) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf) ||
	    (f->opts.ca_file && set_str_opt(h, CURLOPT_CAINFO, f->opts.ca_file))) {
		r = vf_err_set(err, EIO, "libcurl: an option is not supported by libcurl %s",
			       curl_version_info(CURLVERSION_NOW)->version);
		goto fail;
	}
	*ret = f;
	return 0;
oom:
	r = vf_err_set(err, ENOMEM, "out of memory");
fail:
	vf_fetcher_free(f);
	return r;
}

void vf_fetcher_free(struct vf_fetcher *f)
{
	if (!f)
		return;
	if (f->h)
		curl_easy_cleanup(f->h);
	free((char *)f->opts.ca_file);
	free((char *)f->opts.user_agent);
	free(f);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t len = size * nmemb;
	int r;

	if (x->is_http) {
		long status = 0;

		curl_easy_getinfo(x->f->h, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200) {
			/* Not what we asked for: stop reading it, report the status. */
			x->bad_status = status ? status : -1;
			return 0;
		}
	}
	if (len > x->max_len - x->got) {
		x->rc = vf_err_set(x->err, EFBIG, "'%s': more than %llu bytes (endless data?)",
				   x->url, (unsigned long long)x->max_len);
		return 0;
	}
	x->got += len;
	if (len && (r = x->sink(x->ctx, data, len, x->err)) < 0) {
		x->rc = r;
		return 0;
	}
	return len;
}

static int status_error(const struct xfer *x, long status)
{
	if (status == 404 || status == 410)
		return vf_err_set(x->err, ENOENT, "'%s': not found (HTTP %ld)", x->url, status);
	return vf_err_set(x->err, EIO, "'%s': HTTP %ld", x->url, status);
}

/* Map a libcurl failure to an errno and a message naming the URL. */
static int curl_error(struct xfer *x, CURLcode cc)
{
	const char *why = x->f->errbuf[0] ? x->f->errbuf : curl_easy_strerror(cc);
	long status = 0, os_errno = 0;

	switch (cc) {
	case CURLE_FILESIZE_EXCEEDED:
		/* An announced length above the limit: say so unless it was an error page. */
		if (x->is_http)
			curl_easy_getinfo(x->f->h, CURLINFO_RESPONSE_CODE, &status);
		if (status && status != 200)
			return status_error(x, status);
		return vf_err_set(x->err, EFBIG, "'%s': more than %llu bytes (endless data?): %s",
				  x->url, (unsigned long long)x->max_len, why);
	case CURLE_OPERATION_TIMEDOUT:
		return vf_err_set(x->err, ETIMEDOUT, "'%s': timed out: %s", x->url, why);
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* The URL's own scheme was checked: this is where a redirect led. */
		return vf_err_set(x->err, EPROTO, "'%s': redirected to another scheme: %s", x->url,
				  why);
	case CURLE_TOO_MANY_REDIRECTS:
		return vf_err_set(x->err, EPROTO, "'%s': more than %d redirects: %s", x->url,
				  VF_FETCH_MAX_REDIRECTS, why);
	case CURLE_FILE_COULDNT_READ_FILE:
		return vf_err_set(x->err, ENOENT, "'%s': cannot read: %s", x->url, why);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return vf_err_set(x->err, EHOSTUNREACH, "'%s': %s", x->url, why);
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(x->f->h, CURLINFO_OS_ERRNO, &os_errno);
		return vf_err_set(x->err, os_errno == ECONNREFUSED ? ECONNREFUSED : EHOSTUNREACH,
				  "'%s': %s", x->url, why);
	case CURLE_OUT_OF_MEMORY:
		return vf_err_set(x->err, ENOMEM, "'%s': out of memory", x->url);
	default:
		return vf_err_set(x->err, EIO, "'%s': %s", x->url, why);
	}
}

int vf_fetch(struct vf_fetcher *f, const char *url, uint64_t max_len, vf_fetch_sink sink,
	     void *ctx, struct vf_err *err)
{
	char label[512];
	const char *scheme = url_scheme(url);
	struct xfer x = {
		.f = f, .url = label, .max_len = max_len, .sink = sink, .ctx = ctx, .err = err,
	};
	curl_off_t limit = max_len < (uint64_t)INT64_MAX ? (curl_off_t)max_len : 0;
	CURLcode cc;
	long status = 0;

	url_label(url, label, sizeof(label));
	if (!scheme)
		return vf_err_set(err, EINVAL, "'%s': not an http://, https:// or file:// URL",
				  label);
	x.is_http = strcmp(scheme, "file") != 0;
	if (!x.is_http) {
		int r = check_file_url(url, label, err);

		if (r)
			return r;
	}
	f->errbuf[0] = '\0';
	/*
	 * A limit of 0 means "none" to libcurl: the write callback still
	 * refuses the first byte then.
	 */
	if (curl_easy_setopt(f->h, CURLOPT_URL, url) ||
	    set_str_opt(f->h, CURLOPT_REDIR_PROTOCOLS_STR, scheme) ||
	    curl_easy_setopt(f->h, CURLOPT_MAXFILESIZE_LARGE, limit) ||
	    curl_easy_setopt(f->h, CURLOPT_WRITEFUNCTION, on_write) ||
	    curl_easy_setopt(f->h, CURLOPT_WRITEDATA, &x))
		return vf_err_set(err, EINVAL, "'%s': libcurl refused the URL or an option",
				  label);
	cc = curl_easy_perform(f->h);
	curl_easy_setopt(f->h, CURLOPT_WRITEDATA, NULL);
	if (x.rc)
		return x.rc;
	if (x.bad_status)
		return x.bad_status > 0 ? status_error(&x, x.bad_status)
					: vf_err_set(err, EIO, "'%s': no HTTP status", label);
	if (cc != CURLE_OK)
		return curl_error(&x, cc);
	if (x.is_http) {
		curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200)
			return status_error(&x, status);
	}
	return 0;
}

static int buf_sink(void *ctx, const void *data, size_t len, struct vf_err *err)
{
	if (vf_buf_add(ctx, data, len))
		return vf_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int vf_fetch_buf(struct vf_fetcher *f, const char *url, uint64_t max_len, struct vf_buf *out,
		 struct vf_err *err)
{
	size_t old = out->len;
	int r = vf_fetch(f, url, max_len, buf_sink, out, err);

	if (r < 0 && out->data) {
		out->len = old;
		out->data[old] = '\0';
	}
	return r;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int vf_fetch_url_join(const char *base, const char *path, char **ret, struct vf_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t bl = strlen(base), pl = strlen(path);
	char *s, *p;

	*ret = NULL;
	if (pl > (SIZE_MAX - bl - 2) / 3)
		return vf_err_set(err, ENOMEM, "out of memory");
	s = malloc(bl + 1 + 3 * pl + 1);
	if (!s)
		return vf_err_set(err, ENOMEM, "out of memory");
	memcpy(s, base, bl);
	p = s + bl;
	if (!bl || base[bl - 1] != '/')
		*p++ = '/';
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if (is_unreserved(*c) || *c == '/') {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	*p = '\0';
	*ret = s;
	return 0;
}
