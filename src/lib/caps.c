#include "caps.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "error.h"

int caps_become_sandbox_user(unsigned uid, unsigned gid, bool drop_groups, struct nsrun_error *err)
{
	if (setresgid(gid, gid, gid) < 0)
		return nsrun_err_sys(err, "setresgid %u", gid);
	/* Only possible when root wrote gid_map (setgroups left "allow"); it
	 * removes root's host groups, which would otherwise still grant access. */
	if (drop_groups && setgroups(0, NULL) < 0)
		return nsrun_err_sys(err, "drop supplementary groups");
	if (setresuid(uid, uid, uid) < 0)
		return nsrun_err_sys(err, "setresuid %u", uid);
	return 0;
}

int caps_drop_in_child(unsigned uid, unsigned gid, bool drop_supplementary_groups,
		       struct nsrun_error *err)
{
	int r;

	/* Keep capabilities across the uid change so the bounding set can
	 * still be cleared (that needs CAP_SETPCAP), then drop everything. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return nsrun_err_sys(err, "keep capabilities");
	r = caps_become_sandbox_user(uid, gid, drop_supplementary_groups, err);
	if (r < 0)
		return r;
	capng_clear(CAPNG_SELECT_ALL);
	r = capng_apply(CAPNG_SELECT_ALL);
	if (r < 0)
		return nsrun_err(err, EPERM, "drop capabilities: libcap-ng step %d failed", r);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return nsrun_err_sys(err, "reset keepcaps");
	/* Before seccomp: the filter then needs no privilege to install, and
	 * nothing exec'd later can gain privileges through setuid files. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nsrun_err_sys(err, "set no_new_privs");
	return 0;
}
