/* Credentials of the workload: the sandbox user, no capabilities in any
 * set, no_new_privs. */
#ifndef NSRUN_CAPS_H
#define NSRUN_CAPS_H

#include <stdbool.h>

#include "nsrun.h"

/* In init, right after the id maps exist: switch to the sandbox user,
 * keeping capabilities (no uid 0 is mapped, so the kernel does not drop them). */
int caps_become_sandbox_user(unsigned uid, unsigned gid, bool drop_supplementary_groups,
			     struct nsrun_error *err);
/* In the workload, after all privileged setup and before seccomp. */
int caps_drop_in_child(unsigned uid, unsigned gid, bool drop_supplementary_groups,
		       struct nsrun_error *err);

#endif
