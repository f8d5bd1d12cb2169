/* What runs inside the new namespaces: the sandbox's init (pid 1), which
 * sets up the filesystem and network and then reaps, and the workload
 * (pid 2), which drops privileges and execs Python. */
#ifndef NSRUN_CHILD_H
#define NSRUN_CHILD_H

#include <stdint.h>

#include "mount.h"
#include "seccomp_bpf.h"
#include "userns.h"

#define CHILD_PYTHON "/usr/bin/python3"
#define CHILD_HOSTNAME "nsrun"

/* Everything the child needs, prepared by the supervisor before clone so the
 * child only replays syscalls: no parsing, no allocation. */
struct child_limits {
	uint64_t pids;
	uint64_t cpu_ms; /* 0 = none */
	uint64_t nofile;
};

struct child_plan {
	struct mount_plan mounts;
	struct userns_plan ids;
	struct sc_program seccomp;
	char **argv;
	char **envp;
	struct child_limits limits;
	int sync_fd;
	int cgroup_fds[2]; /* v1 "tasks" files init writes "0" to, then closes */
	int n_cgroup_fds;
	int stdio[3]; /* the sandbox's ends: stdin, stdout, stderr */
};

/* Runs as the cloned init; never returns. */
_Noreturn void child_init_main(struct child_plan *plan);

#endif
