/**
 * @file uuid.h
 * @brief RFC 4122 UUIDs in their binary (big-endian, uuid_parse order) form.
 */
#ifndef VF_BASE_UUID_H
#define VF_BASE_UUID_H

#include <stdint.h>

/** Length of the text form, without the NUL. */
#define VF_UUID_TEXT_LEN 36

/**
 * Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case) into 16 bytes.
 * Returns 0 or -EINVAL; writes no message.
 */
int vf_uuid_parse(const char *text, uint8_t out[16]);

/** Format 16 bytes as a lower-case UUID; `out` holds 37 bytes. */
void vf_uuid_format(const uint8_t in[16], char out[VF_UUID_TEXT_LEN + 1]);

/** Set the version (4) and RFC 4122 variant bits of 16 random bytes. */
void vf_uuid_make_v4(uint8_t uuid[16]);

/** Whether all 16 bytes are zero. */
int vf_uuid_is_null(const uint8_t uuid[16]);

#endif
