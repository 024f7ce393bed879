#include "builder/base/uuid.h"

#include "builder/base/hex.h"

#include <errno.h>
#include <string.h>

int vf_uuid_parse(const char *text, uint8_t out[16])
{
	char digits[33];
	size_t n = 0, i, len;

	if (strlen(text) != VF_UUID_TEXT_LEN)
		return -EINVAL;
	for (i = 0; i < VF_UUID_TEXT_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return -EINVAL;
			continue;
		}
		digits[n++] = text[i];
	}
	digits[n] = '\0';
	if (vf_hex_parse(digits, out, 16, &len) || len != 16)
		return -EINVAL;
	return 0;
}

void vf_uuid_format(const uint8_t in[16], char out[VF_UUID_TEXT_LEN + 1])
{
	char hex[33];

	vf_hex_format(in, 16, hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
}

void vf_uuid_make_v4(uint8_t uuid[16])
{
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

int vf_uuid_is_null(const uint8_t uuid[16])
{
	int i;

	for (i = 0; i < 16; i++)
		if (uuid[i])
			return 0;
	return 1;
}
