/**
 * @file hex.h
 * @brief Lower-case hexadecimal encoding and strict decoding.
 */
#ifndef VF_BASE_HEX_H
#define VF_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

/**
 * Write 2*len lower-case hex digits and a NUL to `out`, which must hold
 * 2*len+1 bytes.
 */
void vf_hex_format(const uint8_t *in, size_t len, char *out);

/**
 * Decode `text` (exactly 2*n hex digits, either case, nothing else) into at
 * most `max` bytes. On success stores the byte count in *ret_len.
 * Errors: -EINVAL for an odd length or a non-hex character, -E2BIG when the
 * decoded value exceeds `max` bytes. Writes no message: callers know the field.
 */
int vf_hex_parse(const char *text, uint8_t *out, size_t max, size_t *ret_len);

#endif
