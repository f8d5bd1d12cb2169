#include "result.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

/* RLIMIT_CPU sends SIGXCPU at the limit.  A script can raise SIGXCPU
 * itself, so the CPU must also have been used: at least half the limit,
 * since the rusage nsrun reads is tick-sampled and, in a VM, loses steal
 * time, while the kernel's limit counts precise runtime.  A script that ignores SIGXCPU is killed a
 * second later with SIGKILL and is reported as signaled: a SIGKILL alone
 * cannot be told from one the script sent. */
static bool cpu_limit_hit(const struct run_facts *facts, int term_signal)
{
	if (!facts->cpu_limit_ms || facts->timed_out)
		return false;
	return term_signal == SIGXCPU && facts->cpu_ms >= facts->cpu_limit_ms / 2;
}

void result_from_facts(const struct run_facts *facts, struct nsrun_result *res)
{
	/* Without the workload's own status (init itself was killed: timeout,
	 * cancel, or the OOM killer chose it) init's status stands for it. */
	int status = facts->have_workload_status ? facts->workload_status : facts->init_status;

	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	res->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	res->cancel_signal = facts->cancel_signal;
	res->oom_kill_count = facts->oom_kill_count;
	res->oom_killed = facts->oom_kill_count > 0;
	res->cpu_timed_out = cpu_limit_hit(facts, res->term_signal);
	res->timed_out = facts->timed_out || res->cpu_timed_out;
	if (facts->cancel_signal)
		res->status = NSRUN_STATUS_CANCELLED;
	else if (res->timed_out)
		res->status = NSRUN_STATUS_TIMEOUT;
	else if (res->oom_killed && res->term_signal == SIGKILL)
		res->status = NSRUN_STATUS_MEMORY_LIMIT;
	else if (facts->output_truncated)
		res->status = NSRUN_STATUS_OUTPUT_LIMIT;
	else if (res->term_signal)
		res->status = NSRUN_STATUS_SIGNALED;
	else if (res->exit_code != 0)
		res->status = NSRUN_STATUS_EXITED_NONZERO;
	else
		res->status = NSRUN_STATUS_OK;
}

int nsrun_result_exit_code(const struct nsrun_result *res)
{
	switch (res->status) {
	case NSRUN_STATUS_TIMEOUT:
		return NSRUN_EXIT_TIMEOUT;
	case NSRUN_STATUS_CANCELLED:
		return 128 + res->cancel_signal;
	case NSRUN_STATUS_MEMORY_LIMIT:
	case NSRUN_STATUS_SIGNALED:
		return 128 + res->term_signal;
	case NSRUN_STATUS_OUTPUT_LIMIT:
		return res->term_signal ? 128 + res->term_signal : res->exit_code;
	default:
		return res->exit_code;
	}
}

const char *nsrun_status_name(enum nsrun_status status)
{
	static const char *const names[] = {
		[NSRUN_STATUS_OK] = "ok",
		[NSRUN_STATUS_EXITED_NONZERO] = "exited_nonzero",
		[NSRUN_STATUS_SIGNALED] = "signaled",
		[NSRUN_STATUS_TIMEOUT] = "timeout",
		[NSRUN_STATUS_MEMORY_LIMIT] = "memory_limit",
		[NSRUN_STATUS_OUTPUT_LIMIT] = "output_limit",
		[NSRUN_STATUS_CANCELLED] = "cancelled",
	};

	if ((unsigned)status >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[status];
}

void nsrun_result_free(struct nsrun_result *res)
{
	if (!res)
		return;
	free(res->stdout_buf);
	free(res->stderr_buf);
	res->stdout_buf = res->stderr_buf = NULL;
	res->stdout_len = res->stderr_len = 0;
}
