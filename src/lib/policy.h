/* The seccomp policy as plain data, parsed from an OCI / Docker seccomp
 * JSON profile.  Pure: no libseccomp here, so it is unit-testable and the
 * same file can be handed to `docker run --security-opt seccomp=FILE`. */
#ifndef NSRUN_POLICY_H
#define NSRUN_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "nsrun.h"

enum pol_action {
	POL_ACT_ALLOW,
	POL_ACT_ERRNO,
	POL_ACT_KILL_PROCESS,
	POL_ACT_KILL_THREAD,
	POL_ACT_TRAP,
	POL_ACT_LOG,
};

enum pol_op { POL_OP_NE, POL_OP_LT, POL_OP_LE, POL_OP_EQ, POL_OP_GE, POL_OP_GT, POL_OP_MASKED_EQ };

#define POL_MAX_ARGS 6
#define POL_NAME_MAX 64

struct pol_arg {
	unsigned index;
	enum pol_op op;
	uint64_t value;
	uint64_t value_two;
};

struct pol_rule {
	char name[POL_NAME_MAX]; /* one syscall name per rule ("names" arrays are expanded) */
	enum pol_action action;
	int errno_ret;
	struct pol_arg args[POL_MAX_ARGS];
	unsigned n_args;
	int line; /* line of the rule's object in the file, for messages */
};

struct nsrun_policy {
	enum pol_action default_action;
	int default_errno;
	unsigned n_arches;
	char arches[8][24];	 /* "SCMP_ARCH_X86_64", ... */
	struct pol_rule *rules;
	size_t n_rules;
	char *source; /* name given to pol_load_*, owned; prefixes sc_compile's messages */
};

/* Parse path; on error err->msg is "FILE:LINE: reason" and *ret is left
 * empty (pol_free() on it is harmless). */
int pol_load_file(const char *path, struct nsrun_policy *ret, struct nsrun_error *err);
/* Read the whole file into *ret (malloc'd, NUL-terminated, *ret_len bytes
 * without the NUL); errors name the path as pol_load_file's do. */
int pol_read_file(const char *path, char **ret, size_t *ret_len, struct nsrun_error *err);
/* Parse exactly len bytes of text (a NUL among them is an error, as it is
 * in a file); name is used in messages. */
int pol_load_buffer(const char *text, size_t len, const char *name, struct nsrun_policy *ret,
		    struct nsrun_error *err);
/* Same from a C string; name is used in messages. */
int pol_load_string(const char *json, const char *name, struct nsrun_policy *ret,
		    struct nsrun_error *err);
void pol_free(struct nsrun_policy *pol);

#endif
