#ifndef NSRUN_CONFIG_H
#define NSRUN_CONFIG_H

#include "nsrun.h"

#define NSRUN_DEFAULT_MEMORY (128ULL << 20)
#define NSRUN_DEFAULT_PIDS 64
#define NSRUN_DEFAULT_TIMEOUT_MS 10000
#define NSRUN_MAX_TIMEOUT_MS (24ULL * 3600 * 1000)
#define NSRUN_DEFAULT_OUTPUT_LIMIT (1ULL << 20)
#define NSRUN_DEFAULT_NOFILE 1024

/* The environment every script starts with, whatever the backend; the
 * caller's own variables never leak in. */
extern const char *const config_base_env[];
extern const size_t config_base_env_count;

/* cfg->policy_cache_dir, or NULL when cfg predates the field. */
const char *config_policy_cache_dir(const struct nsrun_config *cfg);

/* Pure checks of a caller's config; the first problem found is reported. */
int config_validate(const struct nsrun_config *cfg, struct nsrun_error *err);

#endif
