#include "builder/base/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vf_buf_init(struct vf_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void vf_buf_release(struct vf_buf *b)
{
	if (!b)
		return;
	free(b->data);
	vf_buf_init(b);
}

int vf_buf_grow(struct vf_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	if (!b->data)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int vf_buf_add(struct vf_buf *b, const void *data, size_t len)
{
	if (vf_buf_grow(b, len))
		return -ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int vf_buf_add_str(struct vf_buf *b, const char *s)
{
	return vf_buf_add(b, s, strlen(s));
}

int vf_buf_add_fmt(struct vf_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (vf_buf_grow(b, (size_t)n))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}
