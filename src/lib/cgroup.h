/* A cgroup per run, nested under the cgroup nsrun itself runs in, holding
 * the memory (swap off) and pids limits.  Lifecycle through libcgroup;
 * counters read straight from the group's directory.  Works on cgroup v1
 * (memory with memsw), v2, and hybrid hosts where each controller may sit
 * in a different hierarchy. */
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
	char path[512]; /* relative to the hierarchy root, as libcgroup names it */
	char dir[768];	/* absolute directory of the group */
	int dirfd;	/* the group's directory, for counters */
	void *handle;	/* struct cgroup * */
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
/* Pure: the per-version file names of the counters. */
const char *cg_oom_file(enum cg_version version);
const char *cg_peak_file(enum cg_version version);

int cg_create(const struct cg_limits *limits, struct cg_run *ret, struct nsrun_error *err);
int cg_attach(const struct cg_run *run, pid_t pid, struct nsrun_error *err);
void cg_read_stats(const struct cg_run *run, struct cg_stats *ret);
/* Remove the groups; safe to call on a partly created or zeroed run. */
int cg_destroy(struct cg_run *run);

#endif
