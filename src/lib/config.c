/* Defaults equal to the seed's docker command, and validation that needs
 * no system calls beyond looking at the given paths. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "mount.h"

#define MIN_MEMORY_BYTES (4ULL << 20) /* below this Python cannot even start */

const char *const config_base_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"HOME=/tmp",
	"LANG=C.UTF-8",
	"PYTHONDONTWRITEBYTECODE=1",
};
const size_t config_base_env_count = sizeof(config_base_env) / sizeof(config_base_env[0]);

void nsrun_config_init(struct nsrun_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->struct_size = sizeof(*cfg);
	cfg->backend = NSRUN_BACKEND_NATIVE;
	cfg->memory_bytes = NSRUN_DEFAULT_MEMORY;
	cfg->pids_limit = NSRUN_DEFAULT_PIDS;
	cfg->timeout_ms = NSRUN_DEFAULT_TIMEOUT_MS;
	cfg->nofile_limit = NSRUN_DEFAULT_NOFILE;
	cfg->output_limit = NSRUN_DEFAULT_OUTPUT_LIMIT;
	cfg->stdin_fd = -1;
	cfg->stdout_fd = -1;
	cfg->stderr_fd = -1;
	cfg->cancel_fd = -1;
}

static int validate_binds(const struct nsrun_config *cfg, struct nsrun_error *err)
{
	for (size_t i = 0; i < cfg->n_binds; i++) {
		const struct nsrun_bind *b = &cfg->binds[i];

		if (!b->source || !b->source[0])
			return nsrun_err(err, EINVAL, "--bind-ro: empty source path");
		if (!mount_target_is_valid(b->target))
			return nsrun_err(err, EINVAL,
					 "--bind-ro %s: target must be an absolute path without '.' or '..' parts",
					 b->target ? b->target : "");
		if (strcmp(b->target, MOUNT_SCRIPT_TARGET) == 0 || strcmp(b->target, "/app") == 0)
			return nsrun_err(err, EINVAL, "--bind-ro %s: that path is reserved for the script",
					 b->target);
	}
	return 0;
}

int config_validate(const struct nsrun_config *cfg, struct nsrun_error *err)
{
	if (cfg->struct_size != sizeof(*cfg))
		return nsrun_err(err, EINVAL, "config not initialised with nsrun_config_init()");
	if (!cfg->script || !cfg->script[0])
		return nsrun_err(err, EINVAL, "no script given");
	if (cfg->rootfs && !cfg->rootfs[0])
		return nsrun_err(err, EINVAL, "empty rootfs path");
	if (cfg->memory_bytes < MIN_MEMORY_BYTES)
		return nsrun_err(err, EINVAL, "memory limit must be at least 4M");
	if (cfg->pids_limit < 1 || cfg->pids_limit > 4194304)
		return nsrun_err(err, EINVAL, "pids limit must be between 1 and 4194304");
	if (cfg->timeout_ms < 1 || cfg->timeout_ms > NSRUN_MAX_TIMEOUT_MS)
		return nsrun_err(err, EINVAL, "timeout must be between 1ms and 24h");
	if (cfg->cpu_time_ms > NSRUN_MAX_TIMEOUT_MS)
		return nsrun_err(err, EINVAL, "CPU-time limit must be at most 24h");
	if (cfg->cpu_time_ms % 1000)
		return nsrun_err(err, EINVAL, "CPU-time limit must be whole seconds (RLIMIT_CPU counts seconds)");
	if (cfg->nofile_limit < 16 || cfg->nofile_limit > 1048576)
		return nsrun_err(err, EINVAL, "open-files limit must be between 16 and 1048576");

	return validate_binds(cfg, err);
}
