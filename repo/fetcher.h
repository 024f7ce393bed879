/**
 * @file fetcher.h
 * @brief Downloads for the TUF client and the updater: http://, https:// and
 *        file:// through libcurl, every one bounded in size and time.
 *
 * Everything a server sends is hostile until checked, so a download never
 * grows past the caller's limit (the TUF "endless data" attack): the transfer
 * is aborted as soon as one byte more than `max_len` arrives, whatever the
 * server announced. Redirects are followed (at most VF_FETCH_MAX_REDIRECTS)
 * only to the scheme of the original URL: an https URL never lands on http
 * or file, an http URL never on file. TLS peers are verified (system CA
 * store, or opts.ca_file). There is no cookie, netrc, proxy-from-URL or
 * protocol other than the three above.
 *
 *     struct vf_fetcher *f;
 *     vf_fetcher_new(NULL, &f, err);
 *     vf_fetch_buf(f, "https://repo.example/metadata/timestamp.json", 16384, &buf, err);
 *     vf_fetcher_free(f);
 */
#ifndef VF_REPO_FETCHER_H
#define VF_REPO_FETCHER_H

#include "builder/base/buf.h"
#include "builder/base/err.h"

#include <stddef.h>
#include <stdint.h>

#define VF_FETCH_MAX_REDIRECTS 5
#define VF_FETCH_CONNECT_TIMEOUT_S 30  /**< default: connecting */
#define VF_FETCH_LOW_SPEED_S 60        /**< default: abort below 1 byte/s for this long */
#define VF_FETCH_TIMEOUT_S 0           /**< default whole-transfer limit: none (size bounds it) */

struct vf_fetcher_opts {
	long connect_timeout_s;   /**< 0: VF_FETCH_CONNECT_TIMEOUT_S */
	long low_speed_s;         /**< 0: VF_FETCH_LOW_SPEED_S */
	long timeout_s;           /**< whole transfer; 0: none */
	const char *ca_file;      /**< NULL: the system's CA store */
	const char *user_agent;   /**< NULL: "vforge/<version>" */
};

/**
 * Receives the body as it arrives. Return 0 to go on, or a negative errno
 * (with a message in err) to abort the transfer: vf_fetch() then returns it.
 */
typedef int (*vf_fetch_sink)(void *ctx, const void *data, size_t len, struct vf_err *err);

struct vf_fetcher;

/** A fetcher (one libcurl handle, reused: keep-alive). `opts` may be NULL. */
int vf_fetcher_new(const struct vf_fetcher_opts *opts, struct vf_fetcher **ret, struct vf_err *err);

/** Free a fetcher; accepts NULL. */
void vf_fetcher_free(struct vf_fetcher *f);

/**
 * GET `url`, passing the body to `sink` in order. At most `max_len` bytes:
 * more is -EFBIG ("<url>: more than <max_len> bytes (endless data?)"),
 * checked on what arrives, not on Content-Length alone (a larger announced
 * length fails before the body). Errors name the URL: -ENOENT for HTTP 404
 * and 410 and a missing file://, -EIO for other HTTP statuses ("HTTP 500"),
 * -ETIMEDOUT for timeouts, -EPROTO for a redirect to another scheme or too
 * many redirects, -EINVAL for a URL of another scheme, -EISDIR for a
 * file:// directory, -EHOSTUNREACH or -ECONNREFUSED when the server cannot be
 * reached. Only a 200 response (or a file) counts; nothing is passed to
 * `sink` for other statuses. A sink's own error is returned as it is.
 */
int vf_fetch(struct vf_fetcher *f, const char *url, uint64_t max_len, vf_fetch_sink sink,
	     void *ctx, struct vf_err *err);

/** vf_fetch() into a buffer (appended; `out` is reset to its old length on failure). */
int vf_fetch_buf(struct vf_fetcher *f, const char *url, uint64_t max_len, struct vf_buf *out,
		 struct vf_err *err);

/**
 * `base` joined with a relative path, each path segment percent-encoded
 * except A-Z a-z 0-9 - . _ ~ (so a target "a b/c" becomes "a%20b/c"); `base`
 * may or may not end in '/'. *ret is malloc'd. The path is taken as it is:
 * callers pass only names that passed the TUF path checks.
 */
int vf_fetch_url_join(const char *base, const char *path, char **ret, struct vf_err *err);

#endif
