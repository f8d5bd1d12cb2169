#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

void userns_plan(uid_t caller_uid, gid_t caller_gid, struct userns_plan *ret)
{
	bool root = caller_uid == 0;
	unsigned host_uid = root ? USERNS_ROOT_HOST_ID : (unsigned)caller_uid;
	unsigned host_gid = root ? USERNS_ROOT_HOST_ID : (unsigned)caller_gid;

	snprintf(ret->uid_map, sizeof(ret->uid_map), "%u %u 1\n", (unsigned)USERNS_SANDBOX_ID, host_uid);
	snprintf(ret->gid_map, sizeof(ret->gid_map), "%u %u 1\n", (unsigned)USERNS_SANDBOX_ID, host_gid);
	ret->deny_setgroups = !root;
	ret->drop_supplementary_groups = root;
}

int userns_write_maps(pid_t pid, const struct userns_plan *plan, struct nsrun_error *err)
{
	char path[64];
	int dirfd, r;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return nsrun_err_sys(err, "open %s", path);
	r = write_file_at(dirfd, "uid_map", plan->uid_map);
	if (r < 0) {
		close(dirfd);
		errno = -r;
		return nsrun_err_sys(err, "write %s/uid_map", path);
	}
	/* Order matters: setgroups must say "deny" before an unprivileged gid_map write. */
	if (plan->deny_setgroups && (r = write_file_at(dirfd, "setgroups", "deny\n")) < 0) {
		close(dirfd);
		errno = -r;
		return nsrun_err_sys(err, "write %s/setgroups", path);
	}
	r = write_file_at(dirfd, "gid_map", plan->gid_map);
	close(dirfd);
	if (r < 0) {
		errno = -r;
		return nsrun_err_sys(err, "write %s/gid_map", path);
	}
	return 0;
}
