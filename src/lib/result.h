/* Turns what the supervisor observed into a verdict.  Pure. */
#ifndef NSRUN_RESULT_H
#define NSRUN_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "nsrun.h"

struct run_facts {
	bool timed_out;
	int cancel_signal;	  /* 0 unless the caller cancelled the run */
	bool have_workload_status; /* init reported the workload's raw wait status */
	int workload_status;
	int init_status;	  /* raw wait status of the sandbox's init */
	uint64_t oom_kill_count;
	bool output_truncated;
	uint64_t cpu_limit_ms; /* 0 = none */
	uint64_t cpu_ms;
};

/* Precedence: cancelled, timeout (wall or CPU), memory limit, output limit,
 * signal, non-zero exit. */
void result_from_facts(const struct run_facts *facts, struct nsrun_result *res);

#endif
