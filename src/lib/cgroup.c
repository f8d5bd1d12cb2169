#include "cgroup.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	/* v1 charges TCP buffers to a group only once this limit is set (v2
	 * always counts them in memory.max); where the kernel still has it. */
	add_setting(out, &n, "memory", "memory.kmem.tcp.limit_in_bytes", limits->memory_bytes, 0);
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

int cg_parse_unified_path(const char *text, char *buf, size_t size)
{
	const char *line = text;

	while (line && *line) {
		if (strncmp(line, "0::", 3) == 0) {
			const char *start = line + 3;
			size_t len = strcspn(start, "\n");

			if (len == 0 || start[0] != '/')
				return -EBADMSG;
			if (len >= size)
				return -ENAMETOOLONG;
			memcpy(buf, start, len);
			buf[len] = '\0';
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

static int list_has(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (n == len && strncmp(p, name, len) == 0)
			return 1;
		p += n;
	}
	return 0;
}

static int comma_list_has(const char *list, size_t list_len, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list, *end = list + list_len; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);

		if (n == len && strncmp(p, name, len) == 0)
			return 1;
		p += n + 1;
	}
	return 0;
}

/* The v1 line of /proc/self/cgroup whose controller list names controller:
 * "4:memory:/a/b", "5:cpu,cpuacct:/x".  Read from /proc/self rather than by
 * pid, which is wrong when nsrun runs in a PID namespace of its own. */
int cg_parse_v1_path(const char *text, const char *controller, char *buf, size_t size)
{
	for (const char *line = text; *line;) {
		size_t line_len = strcspn(line, "\n");
		const char *list = memchr(line, ':', line_len);
		const char *path = list ? memchr(list + 1, ':', line_len - (size_t)(list + 1 - line)) : NULL;

		if (path && comma_list_has(list + 1, (size_t)(path - list - 1), controller)) {
			size_t len = line_len - (size_t)(path + 1 - line);

			if (len == 0 || path[1] != '/')
				return -EBADMSG;
			if (len >= size)
				return -ENAMETOOLONG;
			memcpy(buf, path + 1, len);
			buf[len] = '\0';
			return 0;
		}
		line += line_len + (line[line_len] == '\n');
	}
	return -ENOENT;
}

size_t cg_subtree_delta(const char *enabled, const char *const names[], size_t n, char sign,
			char *buf, size_t size)
{
	size_t count = 0, used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int present = list_has(enabled, names[i]);

		if ((sign == '+' && present) || (sign == '-' && !present))
			continue;
		if (used < size) {
			int w = snprintf(buf + used, size - used, "%s%c%s", count ? " " : "", sign, names[i]);

			used += w > 0 ? (size_t)w : 0;
		}
		count++;
	}
	return count;
}

int cg_procs_only(const char *procs, pid_t pid)
{
	char *end;
	long first;

	errno = 0;
	first = strtol(procs, &end, 10);
	if (errno || end == procs || first != (long)pid)
		return 0;
	end += strspn(end, " \t\n");
	return *end == '\0';
}

enum cg_v2_place cg_v2_choose(const struct cg_v2_facts *facts)
{
	/* The root may hold processes and still enable controllers for its
	 * children; so may a group whose subtree_control is already set. */
	if (facts->is_root || facts->own_enabled)
		return CG_PLACE_OWN;
	/* A non-root group with processes cannot enable them (EBUSY).  Alone in
	 * it (systemd-run --scope -p Delegate=yes nsrun ...), nsrun empties it
	 * by moving into a leaf of its own. */
	if (facts->alone && facts->own_delegated)
		return CG_PLACE_OWN_AFTER_LEAF;
	/* Others share its group (a shell in the leaf of a delegated subtree):
	 * the group next to it, under the delegated parent. */
	if (facts->parent_delegated)
		return CG_PLACE_PARENT;
	return CG_PLACE_NONE;
}

/* libcgroup speaks ECG* codes; ECGOTHER defers to the saved errno. */
static int cg_err(struct nsrun_error *err, int ecg, const char *what)
{
	int code = ecg == ECGOTHER ? cgroup_get_last_errno() : EIO;

	if (ecg == ECGROUPNOTALLOWED || ecg == ECGROUPNOTOWNER)
		code = EACCES; /* libcgroup's own wording hides the plain cause */
	if (ecg == ECGOTHER || code == EACCES)
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

/* snprintf for paths: -ENAMETOOLONG instead of a silently cut path. */
static int __attribute__((format(printf, 3, 4))) path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* nsrun's own cgroup in a hierarchy.  libcgroup 2.0.2 finds no controller
 * in the "0::" line of a pure v2 host, so v2 reads it directly. */
/* nsrun's own group in the hierarchy, from /proc/self/cgroup. */
static int own_cgroup(const char *controller, enum cg_version version, char *buf, size_t size,
		      struct nsrun_error *err)
{
	char text[4096];
	ssize_t n = read_file_at(AT_FDCWD, "/proc/self/cgroup", text, sizeof(text));
	int r;

	if (n < 0)
		return nsrun_err(err, (int)-n, "read /proc/self/cgroup: %s", strerror((int)-n));
	r = version == CG_V2 ? cg_parse_unified_path(text, buf, size)
			     : cg_parse_v1_path(text, controller, buf, size);
	if (r < 0)
		return nsrun_err(err, -r, "no %s entry for %s in /proc/self/cgroup",
				 version == CG_V2 ? "cgroup v2" : "cgroup v1", controller);
	return 0;
}

/* Find (or add) the part for the hierarchy that holds controller.  The
 * group's path is set here on v1; on v2 by v2_place, which may move nsrun. */
static int locate_part(struct cg_run *run, const char *controller, const char *name,
		       struct nsrun_error *err)
{
	char *mount_point = NULL;
	struct cg_part *part;
	int r;

	r = cgroup_get_subsys_mount_point(controller, &mount_point);
	if (r != 0)
		return cg_err(err, r, controller);
	enum cg_version version = hierarchy_version(mount_point);

	for (size_t i = 0; i < run->n_parts; i++) {
		part = &run->parts[i];
		if (part->version == version && version == CG_V2 &&
		    strcmp(part->mount, mount_point) == 0) {
			part->controllers[part->n_controllers++] = controller;
			free(mount_point);
			return 0;
		}
	}
	part = &run->parts[run->n_parts];
	memset(part, 0, sizeof(*part));
	part->dirfd = -1;
	part->self_fd = -1;
	part->version = version;
	part->controllers[part->n_controllers++] = controller;
	path_fmt(part->mount, sizeof(part->mount), "%s", mount_point);
	free(mount_point);
	r = own_cgroup(controller, version, part->own, sizeof(part->own), err);
	if (r < 0)
		return r;
	run->n_parts++;
	if (version == CG_V1) {
		path_fmt(part->path, sizeof(part->path), "%s/%s",
			 strcmp(part->own, "/") == 0 ? "" : part->own, name);
		path_fmt(part->dir, sizeof(part->dir), "%s%s", part->mount, part->path);
	}
	return 0;
}

/* ---- cgroup v2: where the run's group can go ---- */

static void v2_dir(const struct cg_part *part, const char *rel, char *buf, size_t size)
{
	path_fmt(buf, size, "%s%s", part->mount, strcmp(rel, "/") == 0 ? "" : rel);
}

static int may_write(const char *dir, const char *file)
{
	char path[1024];

	path_fmt(path, sizeof(path), "%s/%s", dir, file);
	return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

static int delegated(const char *dir, int need_subtree_control)
{
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0 && may_write(dir, "cgroup.procs") &&
	       (!need_subtree_control || may_write(dir, "cgroup.subtree_control"));
}

static int write_pid(const char *dir, pid_t pid)
{
	char path[1024], text[32];

	path_fmt(path, sizeof(path), "%s/cgroup.procs", dir);
	path_fmt(text, sizeof(text), "%d", (int)pid);
	return write_file_at(AT_FDCWD, path, text);
}

/* Enable part's controllers in dir's subtree_control (those missing). */
static int v2_enable(struct cg_part *part, const char *dir, int record, struct nsrun_error *err)
{
	char path[1024], list[512] = "", delta[128];
	int r;

	path_fmt(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	r = (int)read_file_at(AT_FDCWD, path, list, sizeof(list));
	if (r < 0)
		return nsrun_err(err, -r, "read %s: %s", path, strerror(-r));
	if (cg_subtree_delta(list, part->controllers, part->n_controllers, '+', delta, sizeof(delta)) == 0)
		return 0;
	r = write_file_at(AT_FDCWD, path, delta);
	if (r == -EBUSY) {
		nsrun_err(err, EBUSY, "cannot enable %s in %s: it holds processes", delta, path);
		return nsrun_err_hint(err, "cgroup v2 allows controllers only for groups without "
					   "processes of their own; run nsrun in a cgroup of its own "
					   "(systemd-run --user --scope -p Delegate=yes nsrun ...)");
	}
	if (r < 0)
		return nsrun_err(err, -r, "cannot enable %s in %s: %s", delta, path, strerror(-r));
	if (record)
		for (size_t i = 0; i < part->n_controllers; i++)
			if (!list_has(list, part->controllers[i]))
				part->enabled |= 1u << i;
	return 0;
}

/* 1 if the only child group of dir is child (a full path). */
static int only_child(const char *dir, const char *child)
{
	const char *base = strrchr(child, '/') + 1;
	DIR *d = opendir(dir);
	struct dirent *e;
	int only = 1;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, base) != 0)
			only = 0;
	}
	closedir(d);
	return only;
}

/* Back to where nsrun was: disable what it enabled (only if its leaf is the
 * last child, so no other group loses a controller), move back, drop the leaf. */
static void v2_leave_leaf(struct cg_part *part)
{
	char own_dir[768];
	const char *names[2];
	size_t n = 0;

	if (!part->leaf[0])
		return;
	v2_dir(part, part->own, own_dir, sizeof(own_dir));
	for (size_t i = 0; i < part->n_controllers; i++)
		if (part->enabled & (1u << i))
			names[n++] = part->controllers[i];
	if (n > 0) {
		char path[1024], list[512] = "", delta[128];

		path_fmt(path, sizeof(path), "%s/cgroup.subtree_control", own_dir);
		if (read_file_at(AT_FDCWD, path, list, sizeof(list)) < 0 || !only_child(own_dir, part->leaf))
			return; /* leave the leaf: moving back would break the rule */
		if (cg_subtree_delta(list, names, n, '-', delta, sizeof(delta)) > 0 &&
		    write_file_at(AT_FDCWD, path, delta) < 0)
			return;
		part->enabled = 0;
	}
	if (write_pid(own_dir, getpid()) < 0)
		return;
	rmdir(part->leaf);
	part->leaf[0] = '\0';
}

static int v2_move_to_leaf(struct cg_part *part, const char *own_dir, struct nsrun_error *err)
{
	int r;

	if (path_fmt(part->leaf, sizeof(part->leaf), "%s/nsrun.supervisor-%d", own_dir, (int)getpid()) < 0) {
		part->leaf[0] = '\0';
		return nsrun_err(err, ENAMETOOLONG, "cgroup path too long: %s", own_dir);
	}
	if (mkdir(part->leaf, 0755) < 0 && errno != EEXIST) {
		nsrun_err_sys(err, "create %s", part->leaf);
		part->leaf[0] = '\0';
		return -err->code;
	}
	r = write_pid(part->leaf, getpid());
	if (r < 0) {
		nsrun_err(err, -r, "move nsrun into %s: %s", part->leaf, strerror(-r));
		rmdir(part->leaf);
		part->leaf[0] = '\0';
		return r;
	}
	return 0;
}

static int v2_place(struct cg_part *part, const char *name, struct nsrun_error *err)
{
	char own_dir[768], parent[512], parent_dir[768], path[1024], list[4096] = "";
	struct cg_v2_facts facts = {0};
	const char *base = part->own;
	int r;

	v2_dir(part, part->own, own_dir, sizeof(own_dir));
	path_fmt(parent, sizeof(parent), "%s", part->own);
	*strrchr(parent, '/') = '\0';
	if (parent[0] == '\0')
		strcpy(parent, "/");
	v2_dir(part, parent, parent_dir, sizeof(parent_dir));

	facts.is_root = strcmp(part->own, "/") == 0;
	path_fmt(path, sizeof(path), "%s/cgroup.subtree_control", own_dir);
	if (read_file_at(AT_FDCWD, path, list, sizeof(list)) >= 0) {
		char delta[128];
		size_t missing = cg_subtree_delta(list, part->controllers, part->n_controllers, '+',
						  delta, sizeof(delta));

		facts.own_enabled = missing == 0;
	}
	path_fmt(path, sizeof(path), "%s/cgroup.procs", own_dir);
	if (read_file_at(AT_FDCWD, path, list, sizeof(list)) >= 0)
		facts.alone = cg_procs_only(list, getpid());
	facts.own_delegated = delegated(own_dir, 1);
	facts.parent_delegated = !facts.is_root && delegated(parent_dir, 0);

	switch (cg_v2_choose(&facts)) {
	case CG_PLACE_OWN:
		r = v2_enable(part, own_dir, 0, err);
		break;
	case CG_PLACE_OWN_AFTER_LEAF:
		r = v2_move_to_leaf(part, own_dir, err);
		if (r == 0)
			r = v2_enable(part, own_dir, 1, err);
		break;
	case CG_PLACE_PARENT:
		base = parent;
		r = v2_enable(part, parent_dir, 0, err);
		break;
	default:
		if (facts.alone)
			nsrun_err(err, EACCES, "no cgroup to nest under: %s is not delegated to you",
				  own_dir);
		else
			nsrun_err(err, EACCES, "no cgroup to nest under: %s holds other processes and "
					       "its parent is not delegated to you", own_dir);
		return nsrun_err_hint(err, "cgroup v2 allows controllers only for groups without "
					   "processes; run nsrun in a delegated cgroup of its own "
					   "(systemd-run --user --scope -p Delegate=yes nsrun ...), or pass "
					   "--allow-no-memory-limit");
	}
	if (r < 0)
		return r;
	if (path_fmt(part->path, sizeof(part->path), "%s/%s", strcmp(base, "/") == 0 ? "" : base, name) < 0 ||
	    path_fmt(part->dir, sizeof(part->dir), "%s%s", part->mount, part->path) < 0)
		return nsrun_err(err, ENAMETOOLONG, "cgroup path too long: %s", own_dir);
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
			if (!settings[j].required && faccessat(part->dirfd, settings[j].file, W_OK, 0) < 0)
				continue;
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

int cg_stale_owner(const char *name)
{
	static const char *const patterns[] = {"nsrun-doctor-%d%n", "nsrun.supervisor-%d%n",
					       "nsrun-%d-%*u-%*x%n"};

	for (size_t i = 0; i < ARRAY_SIZE(patterns); i++) {
		int pid = 0, end = 0;

		if (sscanf(name, patterns[i], &pid, &end) == 1 && end > 0 && name[end] == '\0' &&
		    pid > 0)
			return pid;
	}
	return 0;
}

/* A SIGKILLed nsrun cannot remove its group: the next run beside it does,
 * once the owner is gone.  rmdir only takes empty groups, and only groups
 * older than a minute are tried, so one that an nsrun in another PID
 * namespace (whose pid we cannot see) has just made is never touched. */
static void sweep_stale(const char *parent_dir)
{
	DIR *dir = opendir(parent_dir);
	time_t now = time(NULL);
	struct dirent *entry;
	struct stat st;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		int owner = cg_stale_owner(entry->d_name);

		if (owner == 0 || kill(owner, 0) == 0 || errno != ESRCH)
			continue;
		if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now - st.st_mtime >= CG_STALE_AGE_S)
			unlinkat(dirfd(dir), entry->d_name, AT_REMOVEDIR);
	}
	closedir(dir);
}

static int create_part(struct cg_part *part, const struct cg_limits *limits, struct nsrun_error *err)
{
	char parent[sizeof(part->dir)];

	path_fmt(parent, sizeof(parent), "%s", part->dir);
	*strrchr(parent, '/') = '\0';
	sweep_stale(parent);

	struct cgroup *cg = cgroup_new_cgroup(part->path);

	if (!cg)
		return nsrun_err(err, ENOMEM, "cgroup %s: out of memory", part->path);
	part->handle = cg;
	for (size_t i = 0; i < part->n_controllers; i++)
		if (!cgroup_add_controller(cg, part->controllers[i]))
			return nsrun_err(err, ENOMEM, "cgroup %s: add %s", part->path, part->controllers[i]);
	if (part->version == CG_V2) {
		/* A plain mkdir: v2_place has enabled what the group needs.  libcgroup's
		 * cgroup_create_cgroup() writes "+controller" to the subtree_control
		 * of every ancestor from the hierarchy root down (libcgroup 3), which
		 * a user with a delegated subtree may not even open. */
		if (mkdir(part->dir, 0755) < 0)
			return nsrun_err_sys(err, "create cgroup %s", part->dir);
	} else {
		int r = cgroup_create_cgroup(cg, 1);

		if (r != 0) {
			cg_err(err, r, "create cgroup");
			return nsrun_err_wrap(err, "%s", part->dir);
		}
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

/* systemd delegates cgroup v2 subtrees to users; nothing delegates v1. */
static int cgroup_unavailable(struct nsrun_error *err, const struct cg_run *run)
{
	bool v1 = run->n_parts > 0 && run->parts[0].version == CG_V1;

	nsrun_err_wrap(err, "cannot set up a cgroup for the memory limit");
	if (err->hint[0] == '\0' && v1)
		nsrun_err_hint(err, "cgroup v1 is not delegated to users: run as root, or have root make "
				    "you a group of your own in the memory and pids hierarchies and start "
				    "nsrun from it (nsrun doctor prints the commands), or pass "
				    "--allow-no-memory-limit");
	else if (err->hint[0] == '\0')
		nsrun_err_hint(err, "run as root or inside a delegated cgroup (systemd-run --user --scope -p "
				    "Delegate=yes nsrun ...), or pass --allow-no-memory-limit");
	return -(err->code ? err->code : EINVAL);
}

static int abandon(struct cg_run *run, struct nsrun_error *err)
{
	int r = cgroup_unavailable(err, run); /* while the parts still say which version */

	cg_destroy(run);
	return r;
}

int cg_create(const struct cg_limits *limits, struct cg_run *ret, struct nsrun_error *err)
{
	char name[64];
	int r;

	memset(ret, 0, sizeof(*ret));
	r = cg_init_once(err);
	if (r < 0)
		return cgroup_unavailable(err, ret);
	unique_name(name, sizeof(name));
	for (size_t i = 0; i < ARRAY_SIZE(wanted_controllers); i++) {
		r = locate_part(ret, wanted_controllers[i], name, err);
		if (r < 0)
			return cgroup_unavailable(err, ret);
	}
	for (size_t i = 0; i < ret->n_parts; i++) {
		if (ret->parts[i].version != CG_V2)
			continue;
		r = v2_place(&ret->parts[i], name, err);
		if (r < 0)
			return abandon(ret, err);
	}
	for (size_t i = 0; i < ret->n_parts; i++) {
		if (strcmp(ret->parts[i].controllers[0], "memory") == 0)
			ret->memory_version = ret->parts[i].version;
		r = create_part(&ret->parts[i], limits, err);
		if (r < 0)
			return abandon(ret, err);
	}
	return 0;
}

int cg_open_self_attach(struct cg_run *run, int fds[CG_MAX_PARTS], struct nsrun_error *err)
{
	int n = 0;

	for (size_t i = 0; i < run->n_parts; i++) {
		struct cg_part *part = &run->parts[i];

		if (part->version != CG_V1)
			continue;
		part->self_fd = openat(part->dirfd, "tasks", O_WRONLY | O_CLOEXEC);
		if (part->self_fd < 0)
			return nsrun_err_sys(err, "open %s/tasks", part->dir);
		fds[n++] = part->self_fd;
	}
	return n;
}

static const struct cg_part *v2_part(const struct cg_run *run)
{
	for (size_t i = 0; i < run->n_parts; i++)
		if (run->parts[i].version == CG_V2 && run->parts[i].dirfd >= 0)
			return &run->parts[i];
	return NULL;
}

int cg_open_clone_target(const struct cg_run *run)
{
	const struct cg_part *part = v2_part(run);

	/* clone3 wants a real directory fd: the part's own is O_PATH. */
	return part ? openat(part->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
}

void cg_cloned_into(struct cg_run *run)
{
	struct cg_part *part = (struct cg_part *)v2_part(run);

	if (part)
		part->cloned_into = 1;
}

int cg_kill(const struct cg_run *run)
{
	const struct cg_part *part = v2_part(run);

	return part ? write_file_at(part->dirfd, "cgroup.kill", "1") : -ENOENT;
}

int cg_attach(const struct cg_run *run, pid_t pid, struct nsrun_error *err)
{
	for (size_t i = 0; i < run->n_parts; i++) {
		if (run->parts[i].self_fd >= 0 || run->parts[i].cloned_into)
			continue; /* the sandbox moves itself in, or started there */
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
		if (part->self_fd >= 0)
			close(part->self_fd);
		part->self_fd = -1;
		if (part->handle) {
			if (faccessat(AT_FDCWD, part->dir, F_OK, 0) == 0 && remove_dir_with_retry(part) < 0)
				result = -EBUSY;
			cgroup_free((struct cgroup **)&part->handle);
		}
		v2_leave_leaf(part);
	}
	run->n_parts = 0;
	return result;
}
