/* `nsrun doctor`, the library side: what this host allows, found by
 * trying it (each namespace in a cloned child whose id maps the parent
 * writes as nsrun does, a test cgroup made and removed, a seccomp filter
 * in a child, a real run through nsrun_run()), and what nsrun can enforce
 * here as a result.  Never prints; the CLI formats the report. */
#ifndef NSRUN_DOCTOR_H
#define NSRUN_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

enum doctor_status { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL };

/* Also the exit status of `nsrun doctor`. */
enum doctor_verdict { DOCTOR_USABLE = 0, DOCTOR_DEGRADED = 1, DOCTOR_UNUSABLE = 2 };

enum doctor_cap {
	DOCTOR_CAN_MEMORY,
	DOCTOR_CAN_SWAP,
	DOCTOR_CAN_PIDS,
	DOCTOR_CAN_SECCOMP,
	DOCTOR_CAN_NETWORK,
	DOCTOR_CAN_USERNS,
	DOCTOR_CAN_COUNT,
};

#define DOCTOR_MAX_CHECKS 32

struct doctor_check {
	const char *name; /* static: "user namespace", "cgroup memory", ... */
	enum doctor_status status;
	char detail[512];
	char fix[512]; /* empty when there is nothing to fix */
};

struct doctor_options {
	const char *rootfs;	    /* NULL: none found (the rootfs check fails) */
	const char *seccomp_policy; /* NULL: none found */
	const char *docker;	    /* docker CLI; NULL: "docker" from PATH */
	unsigned docker_timeout_ms; /* 0: 5 s */
};

struct doctor_report {
	struct doctor_check checks[DOCTOR_MAX_CHECKS];
	size_t n_checks;
	bool can[DOCTOR_CAN_COUNT];
	bool sandbox_runs;	 /* a script ran, with the limits or only without them */
	enum doctor_verdict verdict;
};

/* Runs every check; forks, so call it from a single-threaded process. */
void doctor_run(const struct doctor_options *opts, struct doctor_report *ret);

/* Pure. */
enum doctor_verdict doctor_verdict_of(const bool can[DOCTOR_CAN_COUNT], bool sandbox_runs);
const char *doctor_status_name(enum doctor_status status);
const char *doctor_verdict_name(enum doctor_verdict verdict);
const char *doctor_cap_name(enum doctor_cap cap);

/* Pure: where the memory and pids controllers are, from /proc/self/mountinfo,
 * the mounted cgroup2 root's cgroup.controllers and /proc/self/cgroup. */
enum doctor_cg_mode { DOCTOR_CG_NONE, DOCTOR_CG_V1, DOCTOR_CG_V2, DOCTOR_CG_HYBRID };

struct doctor_cg_place {
	int version;	   /* 0: the controller is nowhere, 1 or 2 */
	char mount[256];   /* the hierarchy's mount point (one under /sys/fs/cgroup preferred) */
	char root[256];	   /* the part of the hierarchy mounted there: "/", or a container's group */
	char current[512]; /* nsrun's cgroup, as /proc/self/cgroup names it */
	char dir[800];	   /* its directory: the mount point plus current below root */
};

struct doctor_cg_layout {
	enum doctor_cg_mode mode;
	char v2_mount[256]; /* "" when no cgroup2 is mounted */
	char v2_root[256];
	struct doctor_cg_place memory, pids;
};

void doctor_cg_parse(const char *mountinfo, const char *v2_controllers, const char *self_cgroup,
		     struct doctor_cg_layout *ret);
const char *doctor_cg_mode_name(enum doctor_cg_mode mode);

#endif
