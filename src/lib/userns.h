/* User-namespace id mapping: the sandbox user (uid/gid 1000 inside) maps to
 * the caller's own ids, or to an unprivileged host id when the caller is
 * root, so the script never runs as host root. */
#ifndef NSRUN_USERNS_H
#define NSRUN_USERNS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "nsrun.h"

#define USERNS_SANDBOX_ID 1000
#define USERNS_ROOT_HOST_ID 65534 /* nobody/nogroup: owns nothing nsrun exposes */

struct userns_plan {
	char uid_map[64];
	char gid_map[64];
	/* Unprivileged writers must deny setgroups before gid_map (CVE-2014-8989);
	 * root keeps it allowed so the workload can drop root's supplementary groups. */
	bool deny_setgroups;
	bool drop_supplementary_groups;
};

/* Pure: decide the maps for a caller with these effective ids. */
void userns_plan(uid_t caller_uid, gid_t caller_gid, struct userns_plan *ret);
/* Parent, after clone and before GO: write the maps of child pid. */
int userns_write_maps(pid_t pid, const struct userns_plan *plan, struct nsrun_error *err);

#endif
