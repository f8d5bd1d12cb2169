#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

static const char *const wanted_controllers[] = {"memory", "pids"};

static void add_setting(struct cg_setting out[], size_t *n, const char *controller, const char *file,
			uint64_t value, int required)
{
	out[*n].controller = controller;
	out[*n].file = file;
	out[*n].required = required;
	snprintf(out[*n].value, sizeof(out[*n].value), "%" PRIu64, value);
	(*n)++;
}

size_t cg_plan_settings(enum cg_version version, const char *controller,
			const struct cg_limits *limits, struct cg_setting out[CG_MAX_SETTINGS])
{
	size_t n = 0;

	if (strcmp(controller, "pids") == 0) {
		add_setting(out, &n, "pids", "pids.max", limits->pids, 1);
		return n;
	}
	if (version == CG_V2) {
		add_setting(out, &n, "memory", "memory.max", limits->memory_bytes, 1);
		add_setting(out, &n, "memory", "memory.swap.max", 0, 1);
		return n;
	}
	/* v1: memsw may not be below the memory limit, so the memory limit goes
	 * first; memsw == limit means no swap. */
	add_setting(out, &n, "memory", "memory.limit_in_bytes", limits->memory_bytes, 1);
	add_setting(out, &n, "memory", "memory.memsw.limit_in_bytes", limits->memory_bytes, 1);
	return n;
}

int cg_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
	size_t key_len = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ' ') {
			char *end;

			errno = 0;
			*ret = strtoull(line + key_len + 1, &end, 10);
			if (errno == 0 && end != line + key_len + 1 && (*end == '\n' || *end == '\0'))
				return 0;
			return -EBADMSG;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

const char *cg_oom_file(enum cg_version version)
{
	return version == CG_V2 ? "memory.events" : "memory.oom_control";
}

const char *cg_peak_file(enum cg_version version)
{
	return version == CG_V2 ? "memory.peak" : "memory.max_usage_in_bytes";
}

/* libcgroup speaks ECG* codes; ECGOTHER defers to the saved errno. */
static int cg_err(struct nsrun_error *err, int ecg, const char *what)
{
	int code = ecg == ECGOTHER ? cgroup_get_last_errno() : EIO;

	if (ecg == ECGOTHER)
		return nsrun_err(err, code, "%s: %s", what, strerror(code));
	return nsrun_err(err, code, "%s: %s", what, cgroup_strerror(ecg));
}

static int cg_init_once(struct nsrun_error *err)
{
	static int initialised;
	int r;

	if (initialised)
		return 0;
	r = cgroup_init();
	if (r != 0)
		return cg_err(err, r, "initialise libcgroup");
	initialised = 1;
	return 0;
}

static enum cg_version hierarchy_version(const char *mount_point)
{
	struct statfs sf;

	if (statfs(mount_point, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		return CG_V2;
	return CG_V1;
}

static const char *fail_closed_hint(const char *file)
{
	if (strstr(file, "memsw"))
		return "swap accounting is off on this cgroup v1 host: boot with swapaccount=1, or "
		       "pass --allow-no-memory-limit to run without the limit";
	if (strstr(file, "swap"))
		return "the cgroup v2 memory controller has no swap control here, or pass "
		       "--allow-no-memory-limit to run without the limit";
	return "enable the controller for nsrun's cgroup, or pass --allow-no-memory-limit to run "
	       "without limits";
}

/* Find (or add) the part for the hierarchy that holds controller. */
static int locate_part(struct cg_run *run, const char *controller, const char *name,
		       struct nsrun_error *err)
{
	char *mount_point = NULL, *current = NULL;
	struct cg_part *part;
	int r;

	r = cgroup_get_subsys_mount_point(controller, &mount_point);
	if (r != 0)
		return cg_err(err, r, controller);
	r = cgroup_get_current_controller_path(getpid(), controller, &current);
	if (r != 0) {
		free(mount_point);
		return cg_err(err, r, controller);
	}
	enum cg_version version = hierarchy_version(mount_point);
	char path[sizeof(part->path)];

	snprintf(path, sizeof(path), "%s/%s", strcmp(current, "/") == 0 ? "" : current, name);
	for (size_t i = 0; i < run->n_parts; i++) {
		part = &run->parts[i];
		if (part->version == version && version == CG_V2 && strcmp(part->path, path) == 0) {
			part->controllers[part->n_controllers++] = controller;
			free(mount_point);
			free(current);
			return 0;
		}
	}
	part = &run->parts[run->n_parts++];
	part->version = version;
	part->controllers[part->n_controllers++] = controller;
	snprintf(part->dir, sizeof(part->dir), "%s%s", mount_point, path);
	memcpy(part->path, path, sizeof(path));
	part->dirfd = -1;
	free(mount_point);
	free(current);
	return 0;
}

static int check_required(const struct cg_part *part, const struct cg_setting *s,
			  struct nsrun_error *err)
{
	if (faccessat(part->dirfd, s->file, W_OK, 0) == 0)
		return 0;
	nsrun_err(err, errno, "cannot enforce %s: %s/%s is missing or not writable", s->controller,
		  part->dir, s->file);
	return nsrun_err_hint(err, "%s", fail_closed_hint(s->file));
}

static int apply_settings(struct cg_part *part, const struct cg_limits *limits,
			  struct nsrun_error *err)
{
	struct cgroup *cg = part->handle;
	int r;

	for (size_t i = 0; i < part->n_controllers; i++) {
		struct cg_setting settings[CG_MAX_SETTINGS];
		size_t n = cg_plan_settings(part->version, part->controllers[i], limits, settings);
		struct cgroup_controller *ctl = cgroup_get_controller(cg, part->controllers[i]);

		for (size_t j = 0; j < n; j++) {
			r = check_required(part, &settings[j], err);
			if (r < 0)
				return r;
			r = cgroup_add_value_string(ctl, settings[j].file, settings[j].value);
			if (r != 0)
				return cg_err(err, r, settings[j].file);
		}
	}
	r = cgroup_modify_cgroup(cg);
	if (r != 0)
		return cg_err(err, r, part->dir);
	return 0;
}

static int create_part(struct cg_part *part, const struct cg_limits *limits, struct nsrun_error *err)
{
	struct cgroup *cg = cgroup_new_cgroup(part->path);
	int r;

	if (!cg)
		return nsrun_err(err, ENOMEM, "cgroup %s: out of memory", part->path);
	part->handle = cg;
	for (size_t i = 0; i < part->n_controllers; i++)
		if (!cgroup_add_controller(cg, part->controllers[i]))
			return nsrun_err(err, ENOMEM, "cgroup %s: add %s", part->path, part->controllers[i]);
	r = cgroup_create_cgroup(cg, 1);
	if (r != 0) {
		cg_err(err, r, "create cgroup");
		return nsrun_err_wrap(err, "%s", part->dir);
	}
	part->dirfd = open(part->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (part->dirfd < 0)
		return nsrun_err_sys(err, "open %s", part->dir);
	return apply_settings(part, limits, err);
}

static void unique_name(char *buf, size_t size)
{
	static atomic_uint counter;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, size, "nsrun-%d-%u-%lx", (int)getpid(), atomic_fetch_add(&counter, 1),
		 (unsigned long)ts.tv_nsec);
}

static int cgroup_unavailable(struct nsrun_error *err)
{
	nsrun_err_wrap(err, "cannot set up a cgroup for the memory limit");
	if (err->hint[0] == '\0')
		nsrun_err_hint(err, "run as root or inside a delegated cgroup (systemd-run --user --scope -p "
				    "Delegate=yes nsrun ...), or pass --allow-no-memory-limit");
	return -(err->code ? err->code : EINVAL);
}

int cg_create(const struct cg_limits *limits, struct cg_run *ret, struct nsrun_error *err)
{
	char name[64];
	int r;

	memset(ret, 0, sizeof(*ret));
	r = cg_init_once(err);
	if (r < 0)
		return cgroup_unavailable(err);
	unique_name(name, sizeof(name));
	for (size_t i = 0; i < ARRAY_SIZE(wanted_controllers); i++) {
		r = locate_part(ret, wanted_controllers[i], name, err);
		if (r < 0)
			return cgroup_unavailable(err);
	}
	for (size_t i = 0; i < ret->n_parts; i++) {
		if (strcmp(ret->parts[i].controllers[0], "memory") == 0)
			ret->memory_version = ret->parts[i].version;
		r = create_part(&ret->parts[i], limits, err);
		if (r < 0) {
			cg_destroy(ret);
			return cgroup_unavailable(err);
		}
	}
	return 0;
}

int cg_attach(const struct cg_run *run, pid_t pid, struct nsrun_error *err)
{
	for (size_t i = 0; i < run->n_parts; i++) {
		int r = cgroup_attach_task_pid(run->parts[i].handle, pid);

		if (r != 0) {
			cg_err(err, r, "move the sandbox into its cgroup");
			return nsrun_err_wrap(err, "%s", run->parts[i].dir);
		}
	}
	return 0;
}

static const struct cg_part *memory_part(const struct cg_run *run)
{
	for (size_t i = 0; i < run->n_parts; i++)
		for (size_t j = 0; j < run->parts[i].n_controllers; j++)
			if (strcmp(run->parts[i].controllers[j], "memory") == 0)
				return &run->parts[i];
	return NULL;
}

void cg_read_stats(const struct cg_run *run, struct cg_stats *ret)
{
	const struct cg_part *part = memory_part(run);
	char buf[1024];

	memset(ret, 0, sizeof(*ret));
	if (!part || part->dirfd < 0)
		return;
	if (read_file_at(part->dirfd, cg_oom_file(part->version), buf, sizeof(buf)) > 0)
		cg_parse_keyed(buf, "oom_kill", &ret->oom_kill_count);
	if (read_file_at(part->dirfd, cg_peak_file(part->version), buf, sizeof(buf)) > 0)
		ret->memory_peak_bytes = strtoull(buf, NULL, 10);
}

/* The sandbox's processes are gone once its init is reaped, but the kernel
 * may report the group busy for a moment while it finishes tearing down. */
static int remove_dir_with_retry(struct cg_part *part)
{
	struct timespec pause = {0, 1000000};

	for (int attempt = 0; attempt < 1000; attempt++) {
		int r = cgroup_delete_cgroup_ext(part->handle, CGFLAG_DELETE_EMPTY_ONLY);
		if (r == 0 || (r == ECGOTHER && cgroup_get_last_errno() == ENOENT))
			return 0;
		nanosleep(&pause, NULL);
	}
	return -EBUSY;
}

int cg_destroy(struct cg_run *run)
{
	int result = 0;

	for (size_t i = 0; i < run->n_parts; i++) {
		struct cg_part *part = &run->parts[i];

		if (part->dirfd >= 0)
			close(part->dirfd);
		part->dirfd = -1;
		if (!part->handle)
			continue;
		if (faccessat(AT_FDCWD, part->dir, F_OK, 0) == 0 && remove_dir_with_retry(part) < 0)
			result = -EBUSY;
		cgroup_free((struct cgroup **)&part->handle);
	}
	run->n_parts = 0;
	return result;
}
