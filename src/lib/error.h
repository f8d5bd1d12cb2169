/* One error convention for the whole library: functions return 0 or a
 * negative errno and fill a struct nsrun_error that the CLI prints once. */
#ifndef NSRUN_ERROR_H
#define NSRUN_ERROR_H

#include "nsrun.h"

/* Fill err with code and a formatted message; returns -code (-EINVAL when code is 0). */
int nsrun_err(struct nsrun_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same with code = errno, and ": strerror(errno)" appended. */
int nsrun_err_sys(struct nsrun_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the existing message with context; returns -code. */
int nsrun_err_wrap(struct nsrun_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Attach a one-line hint on how to fix the problem; returns -code. */
int nsrun_err_hint(struct nsrun_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Classify the error for machine readers, unless a deeper layer already did. */
int nsrun_err_kind(struct nsrun_error *err, const char *kind);

#endif
