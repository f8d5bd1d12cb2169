/* The sandbox's filesystem: the rootfs bound read-only and pivoted into,
 * a fresh /proc, a minimal /dev, /app holding the script read-only. */
#ifndef NSRUN_MOUNT_H
#define NSRUN_MOUNT_H

#include <stddef.h>
#include <sys/types.h>

#include "nsrun.h"

#define MOUNT_SCRIPT_TARGET "/app/script.py"
#define MOUNT_SHM_BYTES (64ULL << 20) /* /dev/shm, counted in the memory limit */

struct mount_plan {
	const char *rootfs; /* absolute host path */
	const char *script; /* host path, opened again in the child without following symlinks */
	dev_t script_dev;   /* identity checked by the supervisor, re-checked in the child */
	ino_t script_ino;
	const struct nsrun_bind *binds;
	size_t n_binds;
	uint64_t tmpfs_bytes; /* > 0: writable tmpfs at /tmp */
	/* Filled in the child by mount_open_sources_in_child(). */
	int script_fd;
	int *bind_fds; /* n_binds slots, allocated by the supervisor */
};

/* In the child, while it still has the caller's file access (before it
 * becomes the sandbox user): open the script and bind sources as O_PATH. */
int mount_open_sources_in_child(struct mount_plan *plan, struct nsrun_error *err);
/* In the child (init), inside the new user and mount namespaces. */
int mount_in_child(const struct mount_plan *plan, struct nsrun_error *err);

/* Pure: is target an absolute, normalised path ("/a/b", no "..", no "//")? */
int mount_target_is_valid(const char *target);

#endif
