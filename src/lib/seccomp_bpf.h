/* Turns a parsed policy into a BPF program in the supervisor (before
 * clone), and installs that program in the sandboxed process as the last
 * step before execve. */

#ifndef NSRUN_SECCOMP_BPF_H
#define NSRUN_SECCOMP_BPF_H

#include <linux/filter.h>

#include "nsrun.h"
#include "policy.h"

struct sc_program {
	struct sock_filter *filter;
	unsigned short len;
};

/* Compile with libseccomp and export to memory.  Unknown syscall names and
 * unsupported architectures are errors naming the rule's line. */
int sc_compile(const struct nsrun_policy *pol, struct sc_program *ret, struct nsrun_error *err);
/* In the child: seccomp(SECCOMP_SET_MODE_FILTER).  Needs no_new_privs set
 * before (or CAP_SYS_ADMIN); makes no allocation. */
int sc_install(const struct sc_program *prog, struct nsrun_error *err);
void sc_program_free(struct sc_program *prog);

#endif
