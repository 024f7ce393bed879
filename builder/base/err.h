/**
 * @file err.h
 * @brief The error convention shared by every vforge module.
 *
 * Fallible functions return 0 on success and a negative errno on failure, and
 * take a caller-owned `struct vf_err *` as their last argument. The function
 * that detects the root cause writes the message with vf_err_set(); each layer
 * above may prepend one noun phrase with vf_err_prefix(). The CLI prints the
 * resulting chain, e.g. "verity: data file 'x.img': short read at offset 4096".
 *
 * Messages are lowercase, without a final full stop, quote paths and show
 * expected and actual values. `err` may be NULL: the message is then dropped.
 */
#ifndef VF_BASE_ERR_H
#define VF_BASE_ERR_H

#include <errno.h>
#include <stddef.h>

/** Longest message kept; longer chains are truncated with "...". */
#define VF_ERR_MSG_MAX 1024

/** Error code meaning "a verification failed" (maps to exit code 3). */
#define VF_EVERIFY EBADMSG

/** An error: the negative errno and the message chain. */
struct vf_err {
	int code;                 /**< negative errno, 0 when unset */
	char msg[VF_ERR_MSG_MAX]; /**< NUL-terminated message chain */
};

/** Clear an error so that it can be reused. */
void vf_err_clear(struct vf_err *err);

/**
 * Set the root-cause message. `code` is a positive or negative errno; the
 * return value is always the negative errno, so callers can write
 * `return vf_err_set(err, EINVAL, "...")`.
 */
int vf_err_set(struct vf_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Like vf_err_set() and append ": <strerror(code)>" to the message; for
 * failures of system calls.
 */
int vf_err_sys(struct vf_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Prepend a context phrase ("<phrase>: <existing message>") and return the
 * stored negative code. Does nothing to an unset error but return -EIO.
 */
int vf_err_prefix(struct vf_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
