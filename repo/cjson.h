/**
 * @file cjson.h
 * @brief Canonical JSON as securesystemslib encodes it (what TUF signs).
 *
 * Canonical form: objects with keys sorted by code point, no whitespace,
 * strings with only `"` and `\` escaped (control characters and non-ASCII
 * emitted as raw UTF-8 bytes), integers only, true/false/null. vforge
 * refuses to canonicalise what other implementations would encode
 * differently: duplicate object keys, floats, integers of 2^53 or more in
 * magnitude, strings not in Unicode NFC, object keys outside the Basic
 * Multilingual Plane (implementations sort those differently), invalid UTF-8.
 *
 * The parser is strict and bounded: it is fed metadata from servers.
 */
#ifndef VF_REPO_CJSON_H
#define VF_REPO_CJSON_H

#include "builder/base/buf.h"
#include "builder/base/err.h"

#include <stddef.h>

/** Limits for parsing untrusted JSON. */
struct vf_cjson_limits {
	size_t max_bytes;   /**< 0: 64 MiB */
	unsigned max_depth; /**< 0: 64 */
};

/**
 * Parse JSON text strictly (RFC 8259, no duplicate keys, no floats, integers
 * within ±(2^53-1), UTF-8 validated) into a jansson value (json_t *, returned
 * as void * so callers need not include jansson.h). Errors give the line,
 * column and reason.
 */
int vf_cjson_parse(const void *text, size_t len, const struct vf_cjson_limits *lim,
		   void **ret_json, struct vf_err *err);

/**
 * Append the canonical encoding of a jansson value to `out`. Refuses (with
 * the JSON path of the offending value, e.g. "signed.targets[\"a\"].length")
 * floats, big integers, non-NFC strings, non-BMP keys.
 */
int vf_cjson_encode(const void *json, struct vf_buf *out, struct vf_err *err);

#endif
