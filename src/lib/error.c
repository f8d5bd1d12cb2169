#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int error_return(const struct nsrun_error *err)
{
	return err->code > 0 ? -err->code : -EINVAL;
}

/* A cut message still says it was cut rather than ending mid-word. */
static void mark_truncated(char *msg, size_t size)
{
	memcpy(msg + size - 4, "...", 4);
}

int nsrun_err(struct nsrun_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->hint[0] = '\0';
	err->kind[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return error_return(err);
}

int nsrun_err_sys(struct nsrun_error *err, const char *fmt, ...)
{
	int saved = errno;
	char context[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	nsrun_err(err, saved, "%s", context);
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", context, strerror(saved)) >=
	    (int)sizeof(err->msg))
		mark_truncated(err->msg, sizeof(err->msg));
	return error_return(err);
}

int nsrun_err_wrap(struct nsrun_error *err, const char *fmt, ...)
{
	char context[sizeof(err->msg)];
	char old[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", context, old) >= (int)sizeof(err->msg))
		mark_truncated(err->msg, sizeof(err->msg));
	return error_return(err);
}

int nsrun_err_hint(struct nsrun_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	return error_return(err);
}

int nsrun_err_kind(struct nsrun_error *err, const char *kind)
{
	if (err->kind[0] == '\0')
		snprintf(err->kind, sizeof(err->kind), "%s", kind);
	return error_return(err);
}
