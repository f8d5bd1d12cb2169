#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int exe_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

static const char *first_existing(const char *const candidates[], size_t n, char *buf, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		if (candidates[i] && access(candidates[i], F_OK) == 0) {
			snprintf(buf, size, "%s", candidates[i]);
			return buf;
		}
	}
	return NULL;
}

static const char *find(const char *env_name, const char *next_to_exe, const char *in_source,
			const char *installed, char *buf, size_t size)
{
	char dir[PATH_MAX], beside[PATH_MAX + 64];
	const char *env = getenv(env_name);
	const char *candidates[3];

	if (env && env[0]) {
		snprintf(buf, size, "%s", env);
		return buf; /* an explicit choice is used as given, even if wrong */
	}
	candidates[0] = NULL;
	if (exe_dir(dir, sizeof(dir)) == 0) {
		snprintf(beside, sizeof(beside), "%s/%s", dir, next_to_exe);
		candidates[0] = beside;
	}
	candidates[1] = in_source;
	candidates[2] = installed;
	return first_existing(candidates, 3, buf, size);
}

const char *paths_find_rootfs(char *buf, size_t size)
{
	return find("NSRUN_ROOTFS", "rootfs", NSRUN_SOURCE_DIR "/build/rootfs",
		    NSRUN_DATADIR "/rootfs", buf, size);
}

const char *paths_find_policy(char *buf, size_t size)
{
	return find("NSRUN_SECCOMP_POLICY", "../policy/seccomp.json",
		    NSRUN_SOURCE_DIR "/policy/seccomp.json", NSRUN_DATADIR "/seccomp.json", buf,
		    size);
}

const char *paths_find_checks(char *buf, size_t size)
{
	return find("NSRUN_CHECKS", "../tests/checks", NSRUN_SOURCE_DIR "/tests/checks",
		    NSRUN_DATADIR "/checks", buf, size);
}

const char *paths_policy_cache(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n = -1;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/nsrun", xdg);
	else if (home && home[0] == '/')
		n = snprintf(buf, size, "%s/.cache/nsrun", home);
	return n > 0 && (size_t)n < size ? buf : NULL;
}
