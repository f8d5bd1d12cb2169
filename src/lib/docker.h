/* The Docker backend: the same script, rootfs (imported as an image),
 * limits and exit-code contract as the native sandbox, through the docker
 * CLI, so both can be compared on the same checks. */
#ifndef NSRUN_DOCKER_H
#define NSRUN_DOCKER_H

#include "nsrun.h"

/* Same contract as nsrun_run(). */
int docker_run(const struct nsrun_config *cfg, struct nsrun_result *res, struct nsrun_error *err);

#endif
