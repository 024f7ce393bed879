/**
 * @file buf.h
 * @brief A growable byte buffer.
 *
 * Invariants: `data` is NULL or points to `cap` bytes, `len < cap` whenever
 * `data` is not NULL, and `data[len]` is always '\0', so text can be read as a
 * C string. Appending never leaves the buffer in a half-written state.
 */
#ifndef VF_BASE_BUF_H
#define VF_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

/** A growable buffer; initialise with VF_BUF_INIT or vf_buf_init(). */
struct vf_buf {
	uint8_t *data; /**< owned storage, NULL while empty */
	size_t len;    /**< bytes used */
	size_t cap;    /**< bytes allocated */
};

#define VF_BUF_INIT { NULL, 0, 0 }

/** Initialise an empty buffer. */
void vf_buf_init(struct vf_buf *b);

/** Free the storage; the buffer is empty and reusable afterwards. */
void vf_buf_release(struct vf_buf *b);

/** Append `len` bytes. Returns 0 or -ENOMEM (the buffer is unchanged). */
int vf_buf_add(struct vf_buf *b, const void *data, size_t len);

/** Append a C string. Returns 0 or -ENOMEM. */
int vf_buf_add_str(struct vf_buf *b, const char *s);

/** Append formatted text. Returns 0 or -ENOMEM. */
int vf_buf_add_fmt(struct vf_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Make room for `extra` more bytes. Returns 0 or -ENOMEM. */
int vf_buf_grow(struct vf_buf *b, size_t extra);

#endif
