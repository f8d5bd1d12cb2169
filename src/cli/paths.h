/* Where the CLI finds its rootfs, seccomp policy and checks when not told. */
#ifndef NSRUN_CLI_PATHS_H
#define NSRUN_CLI_PATHS_H

#include <stddef.h>

/* First existing candidate: $env_name, next to the executable, the source
 * tree's build output, the installed data directory.  NULL if none. */
const char *paths_find_rootfs(char *buf, size_t size);
const char *paths_find_policy(char *buf, size_t size);
/* The security checks `nsrun compare` runs by default (tests/checks). */
const char *paths_find_checks(char *buf, size_t size);

/* The per-user policy cache: $XDG_CACHE_HOME/nsrun, else $HOME/.cache/nsrun
 * (each only when absolute, as the XDG spec says); NULL for none. */
const char *paths_policy_cache(char *buf, size_t size);

#endif
