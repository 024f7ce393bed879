#include "builder/base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vf_err_clear(struct vf_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

static int neg(int code)
{
	if (code == 0)
		return -EIO;
	return code < 0 ? code : -code;
}

static void mark_truncated(struct vf_err *err, int n)
{
	if (n >= (int)sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
}

int vf_err_set(struct vf_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return neg(code);
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	mark_truncated(err, n);
	err->code = neg(code);
	return err->code;
}

int vf_err_sys(struct vf_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	size_t len;
	int n;

	if (!err)
		return neg(code);
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		n = snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
			     strerror(code < 0 ? -code : code)) + (int)len;
	mark_truncated(err, n);
	err->code = neg(code);
	return err->code;
}

int vf_err_prefix(struct vf_err *err, const char *fmt, ...)
{
	char head[VF_ERR_MSG_MAX];
	char tail[VF_ERR_MSG_MAX];
	va_list ap;
	int n;

	if (!err)
		return -EIO;
	if (err->code == 0)
		return -EIO;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(tail, err->msg, sizeof(tail));
	n = snprintf(err->msg, sizeof(err->msg), "%s: %s", head, tail);
	mark_truncated(err, n);
	return err->code;
}
