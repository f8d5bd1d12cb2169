#include "format.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "nsrun.h"

void format_duration(uint64_t ms, char *buf, size_t size)
{
	uint64_t whole = ms / 1000, frac = ms % 1000;
	int digits = 3;

	while (frac && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	if (frac)
		snprintf(buf, size, "%" PRIu64 ".%0*" PRIu64 " seconds", whole, digits, frac);
	else
		snprintf(buf, size, "%" PRIu64 " second%s", whole, whole == 1 ? "" : "s");
}

void format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGT";
	int unit = -1;

	while (unit < 3 && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		unit++;
	}
	if (unit < 0)
		snprintf(buf, size, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, size, "%" PRIu64 "%c", bytes, units[unit]);
}

static const char *signal_text(int sig)
{
	const char *abbrev = sigabbrev_np(sig);

	return abbrev ? abbrev : "?";
}

void nsrun_result_message(const struct nsrun_config *cfg, const struct nsrun_result *res, char *buf,
			  size_t size)
{
	char amount[48];

	switch (res->status) {
	case NSRUN_STATUS_OK:
		snprintf(buf, size, "Exited normally.");
		break;
	case NSRUN_STATUS_EXITED_NONZERO:
		snprintf(buf, size, "Exited with status %d.", res->exit_code);
		break;
	case NSRUN_STATUS_SIGNALED:
		snprintf(buf, size, "Killed by signal SIG%s.", signal_text(res->term_signal));
		break;
	case NSRUN_STATUS_TIMEOUT:
		format_duration(res->cpu_timed_out ? cfg->cpu_time_ms : cfg->timeout_ms, amount,
				sizeof(amount));
		snprintf(buf, size, "Execution timed out after %s%s.", amount,
			 res->cpu_timed_out ? " of CPU time" : "");
		break;
	case NSRUN_STATUS_MEMORY_LIMIT:
		format_size(cfg->memory_bytes, amount, sizeof(amount));
		snprintf(buf, size, "Memory limit of %s reached: the script was killed (OOM).", amount);
		break;
	case NSRUN_STATUS_OUTPUT_LIMIT:
		format_size(cfg->output_limit, amount, sizeof(amount));
		snprintf(buf, size, "Output limit of %s per stream reached: the rest was dropped.", amount);
		break;
	case NSRUN_STATUS_CANCELLED:
		snprintf(buf, size, "Interrupted by SIG%s: the sandbox was killed.",
			 signal_text(res->cancel_signal));
		break;
	}
}
