/* The script handed to either backend: checked the same way by both. */
#ifndef NSRUN_SCRIPT_H
#define NSRUN_SCRIPT_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "nsrun.h"

/* Pure: may a process with these ids (and no supplementary groups) read a
 * file with this owner, group and mode? */
bool script_readable_by(uid_t uid, gid_t gid, uid_t owner, gid_t group, mode_t mode);

/* The caller must be able to read the script, and it must be a regular file,
 * not a symlink: the sandbox would otherwise be a way to read any host file.
 * With check_ids, the sandbox's own user (uid/gid on the host) must be able
 * to read it too, or Python would fail inside as if the script had failed.
 * *ret_st describes the file that was checked. */
int script_check(const char *path, bool check_ids, uid_t uid, gid_t gid, struct stat *ret_st,
		 struct nsrun_error *err);

#endif
