/* Defaults equal to the seed's docker command, and validation that needs
 * no system calls beyond looking at the given paths. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
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

/* The layout 0.1.0 shipped: everything before policy_cache_dir. */
#define CONFIG_SIZE_0_1 offsetof(struct nsrun_config, policy_cache_dir)

/* Writes no further than size: the caller's struct may be an older, shorter one. */
void nsrun_config_init_sized(struct nsrun_config *cfg, size_t size)
{
	struct nsrun_config defaults;

	memset(&defaults, 0, sizeof(defaults));
	defaults.struct_size = size;
	defaults.backend = NSRUN_BACKEND_NATIVE;
	defaults.memory_bytes = NSRUN_DEFAULT_MEMORY;
	defaults.pids_limit = NSRUN_DEFAULT_PIDS;
	defaults.timeout_ms = NSRUN_DEFAULT_TIMEOUT_MS;
	defaults.nofile_limit = NSRUN_DEFAULT_NOFILE;
	defaults.output_limit = NSRUN_DEFAULT_OUTPUT_LIMIT;
	defaults.stdin_fd = -1;
	defaults.stdout_fd = -1;
	defaults.stderr_fd = -1;
	defaults.cancel_fd = -1;
	memcpy(cfg, &defaults, size < sizeof(defaults) ? size : sizeof(defaults));
}

/* Parenthesised: the function, not nsrun.h's macro of the same name. */
void(nsrun_config_init)(struct nsrun_config *cfg)
{
	nsrun_config_init_sized(cfg, CONFIG_SIZE_0_1);
}

const char *config_policy_cache_dir(const struct nsrun_config *cfg)
{
	return cfg->struct_size > offsetof(struct nsrun_config, policy_cache_dir)
		       ? cfg->policy_cache_dir
		       : NULL;
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
	if (cfg->struct_size != sizeof(*cfg) && cfg->struct_size != CONFIG_SIZE_0_1)
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
