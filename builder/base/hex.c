#include "builder/base/hex.h"

#include <errno.h>
#include <string.h>

void vf_hex_format(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vf_hex_parse(const char *text, uint8_t *out, size_t max, size_t *ret_len)
{
	size_t len = strlen(text);
	size_t i;

	if (len % 2)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (nibble(text[i]) < 0)
			return -EINVAL;
	if (len / 2 > max)
		return -E2BIG;
	for (i = 0; i < len / 2; i++)
		out[i] = (uint8_t)(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
	*ret_len = len / 2;
	return 0;
}
