/* A cgroup per run, nested under the cgroup nsrun itself runs in, holding
 * the memory (swap off) and pids limits.  Lifecycle through libcgroup;
 * counters read straight from the group's directory.  Works on cgroup v1
 * (memory with memsw), v2, and hybrid hosts where each controller may sit
 * in a different hierarchy.
 *
 * On v2 the no-internal-processes rule decides where the group can go (see
 * cg_v2_choose): under nsrun's own cgroup when that is the root or nsrun is
 * alone in it (nsrun first moves itself into a leaf, nsrun.supervisor-PID,
 * then enables the controllers; both undone by cg_destroy), else next to
 * it, under the parent, when the parent is delegated to the caller (the
 * caller's shell sits in a leaf of a delegated subtree). */
#ifndef NSRUN_CGROUP_H
#define NSRUN_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nsrun.h"

enum cg_version { CG_V1 = 1, CG_V2 = 2 };

struct cg_limits {
	uint64_t memory_bytes;
	uint64_t pids;
};

struct cg_setting {
	const char *controller;
	const char *file;
	char value[32];
	int required; /* refuse to run if the file is missing (fail closed) */
};

#define CG_MAX_SETTINGS 4
#define CG_MAX_PARTS 2

/* The group in one hierarchy: on v2 one part holds both controllers. */
struct cg_part {
	enum cg_version version;
	const char *controllers[2];
	size_t n_controllers;
	char path[512];	   /* relative to the hierarchy root, as libcgroup names it */
	char dir[768];	   /* absolute directory of the group */
	int dirfd;	   /* the group's directory, for counters */
	int self_fd;	   /* v1: its "tasks", for the sandbox to move itself in; or -1 */
	int cloned_into;   /* v2: the sandbox was cloned straight into it */
	void *handle;	   /* struct cgroup * */
	char mount[256];   /* the hierarchy's mount point */
	char own[512];	   /* nsrun's cgroup in it when the run started */
	char leaf[768];	   /* v2: the leaf nsrun moved itself into, "" if none */
	unsigned enabled;  /* v2: bit i: nsrun enabled controllers[i] in own (undone) */
};

struct cg_run {
	struct cg_part parts[CG_MAX_PARTS];
	size_t n_parts;
	enum cg_version memory_version;
};

struct cg_stats {
	uint64_t oom_kill_count;
	uint64_t memory_peak_bytes;
};

/* Pure: what to write for a controller on a given version, in write order. */
size_t cg_plan_settings(enum cg_version version, const char *controller,
			const struct cg_limits *limits, struct cg_setting out[CG_MAX_SETTINGS]);
/* Pure: find "key N" in a flat-keyed file (memory.events, memory.oom_control). */
int cg_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* Groups whose owner died are removed after this long (see sweep_stale). */
#define CG_STALE_AGE_S 60

/* Pure: the nsrun pid in a group name it made ("nsrun-PID-N-HEX",
 * "nsrun.supervisor-PID", "nsrun-doctor-PID"), 0 for other names. */
int cg_stale_owner(const char *name);
/* Pure: nsrun's own group in a v1 hierarchy, from /proc/self/cgroup text. */
int cg_parse_v1_path(const char *text, const char *controller, char *buf, size_t size);
/* Pure: the per-version file names of the counters. */
const char *cg_oom_file(enum cg_version version);
const char *cg_peak_file(enum cg_version version);

/* Pure: the path of the "0::PATH" line of /proc/PID/cgroup (cgroup v2). */
int cg_parse_unified_path(const char *text, char *buf, size_t size);
/* Pure: what to write to cgroup.subtree_control so that each of names is
 * enabled (sign '+', listed when missing from the space-separated list
 * `enabled`) or disabled ('-', listed when present).  buf gets e.g.
 * "+memory +pids" ("" when nothing is to change); returns how many. */
size_t cg_subtree_delta(const char *enabled, const char *const names[], size_t n, char sign,
			char *buf, size_t size);
/* Pure: 1 if a cgroup.procs text lists exactly pid and nothing else. */
int cg_procs_only(const char *procs, pid_t pid);

/* What nsrun finds about its own v2 cgroup, and where the run's group goes. */
struct cg_v2_facts {
	int is_root;	      /* nsrun's cgroup is the hierarchy's root */
	int own_enabled;      /* its subtree_control already has the controllers */
	int alone;	      /* nsrun is the only process in it */
	int own_delegated;    /* nsrun may write its dir, cgroup.procs, cgroup.subtree_control */
	int parent_delegated; /* nsrun may write the parent's dir and cgroup.procs */
};
enum cg_v2_place {
	CG_PLACE_OWN,		/* <own>/nsrun-... */
	CG_PLACE_OWN_AFTER_LEAF, /* move into <own>/nsrun.supervisor-PID, then <own>/nsrun-... */
	CG_PLACE_PARENT,	/* <parent>/nsrun-..., next to nsrun's cgroup */
	CG_PLACE_NONE,		/* nowhere: refuse, with a hint */
};
/* Pure: the no-internal-processes decision. */
enum cg_v2_place cg_v2_choose(const struct cg_v2_facts *facts);

int cg_create(const struct cg_limits *limits, struct cg_run *ret, struct nsrun_error *err);
/* Open, for every v1 group, the "tasks" file the sandbox's init writes "0"
 * to: a process moving itself skips the RCU grace period (7-15 ms when runs
 * are spaced out) that moving another process by pid waits for.  Returns how
 * many fds it put in fds (one per v1 group), or -errno. */
int cg_open_self_attach(struct cg_run *run, int fds[CG_MAX_PARTS], struct nsrun_error *err);
/* A directory fd of the run's v2 group for clone3(CLONE_INTO_CGROUP), which
 * starts the sandbox inside it instead of moving it there (a move waits for
 * an RCU grace period); -1 if there is no v2 group.  Close it after clone. */
int cg_open_clone_target(const struct cg_run *run);
/* clone3 put the sandbox into the v2 group: cg_attach skips it. */
void cg_cloned_into(struct cg_run *run);
/* v2: kill every process of the run's group (cgroup.kill, Linux 5.14);
 * -errno when there is no such file or no v2 group. */
int cg_kill(const struct cg_run *run);
/* Move pid into the groups it does not move itself into. */
int cg_attach(const struct cg_run *run, pid_t pid, struct nsrun_error *err);
void cg_read_stats(const struct cg_run *run, struct cg_stats *ret);
/* Remove the groups; safe to call on a partly created or zeroed run. */
int cg_destroy(struct cg_run *run);

#endif
