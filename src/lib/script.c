#include "script.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "error.h"

bool script_readable_by(uid_t uid, gid_t gid, uid_t owner, gid_t group, mode_t mode)
{
	if (owner == uid)
		return mode & S_IRUSR;
	if (group == gid)
		return mode & S_IRGRP;
	return mode & S_IROTH;
}

static int open_checked(const char *path, struct stat *st, struct nsrun_error *err)
{
	int fd;

	if (lstat(path, st) < 0)
		return nsrun_err_sys(err, "script %s", path);
	if (S_ISLNK(st->st_mode))
		return nsrun_err(err, ELOOP, "script %s is a symbolic link; nsrun does not follow them",
				 path);
	if (!S_ISREG(st->st_mode))
		return nsrun_err(err, EINVAL, "script %s is not a regular file", path);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return nsrun_err_sys(err, "script %s", path);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return nsrun_err(err, EINVAL, "script %s is not a regular file", path);
	}
	close(fd);
	return 0;
}

int script_check(const char *path, bool check_ids, uid_t uid, gid_t gid, struct stat *ret_st,
		 struct nsrun_error *err)
{
	int r = open_checked(path, ret_st, err);

	if (r < 0 || !check_ids || script_readable_by(uid, gid, ret_st->st_uid, ret_st->st_gid,
						      ret_st->st_mode))
		return r;
	nsrun_err(err, EACCES, "script %s is not readable by the sandbox's unprivileged user (mode %04o)",
		  path, (unsigned)(ret_st->st_mode & 07777));
	return nsrun_err_hint(err, "make it readable by others: chmod o+r %s", path);
}
