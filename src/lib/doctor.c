/* `nsrun doctor`: every check is tried for real where it can be, in the
 * way nsrun itself would need it, and leaves nothing behind (a test cgroup
 * is removed again, children are reaped, the test script is deleted). */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "diagnose.h"
#include "error.h"
#include "net.h"
#include "policy.h"
#include "seccomp_bpf.h"
#include "userns.h"
#include "util.h"

#define DOCTOR_STEP_MAX 96
#define DOCTOR_DOCKER_TIMEOUT_MS 5000
#define DOCTOR_FIX_ALLOW "; otherwise nsrun runs only with --allow-no-memory-limit (no limits)"

/* ---- names and the verdict (pure) ---- */

static const char *const status_names[] = {"ok", "warn", "fail"};
static const char *const verdict_names[] = {"usable", "degraded", "unusable"};
static const char *const cap_names[DOCTOR_CAN_COUNT] = {"memory",  "swap",    "pids",
							"seccomp", "network", "userns"};
static const char *const cg_mode_names[] = {"none", "v1", "v2", "hybrid"};

const char *doctor_status_name(enum doctor_status status)
{
	return (unsigned)status < ARRAY_SIZE(status_names) ? status_names[status] : "?";
}

const char *doctor_verdict_name(enum doctor_verdict verdict)
{
	return (unsigned)verdict < ARRAY_SIZE(verdict_names) ? verdict_names[verdict] : "?";
}

const char *doctor_cap_name(enum doctor_cap cap)
{
	return (unsigned)cap < DOCTOR_CAN_COUNT ? cap_names[cap] : "?";
}

const char *doctor_cg_mode_name(enum doctor_cg_mode mode)
{
	return (unsigned)mode < ARRAY_SIZE(cg_mode_names) ? cg_mode_names[mode] : "?";
}

/* Unusable: nsrun cannot run a script at all, or only without the
 * isolation it promises.  Degraded: it runs, but not every limit holds. */
enum doctor_verdict doctor_verdict_of(const bool can[DOCTOR_CAN_COUNT], bool sandbox_runs)
{
	if (!sandbox_runs || !can[DOCTOR_CAN_USERNS] || !can[DOCTOR_CAN_NETWORK] ||
	    !can[DOCTOR_CAN_SECCOMP])
		return DOCTOR_UNUSABLE;
	if (!can[DOCTOR_CAN_MEMORY] || !can[DOCTOR_CAN_SWAP] || !can[DOCTOR_CAN_PIDS])
		return DOCTOR_DEGRADED;
	return DOCTOR_USABLE;
}

/* ---- the cgroup layout (pure) ---- */

static bool list_has(const char *list, size_t len, const char *seps, const char *word)
{
	size_t wlen = strlen(word);
	size_t i = 0;

	while (i < len) {
		size_t n = strcspn(list + i, seps);

		if (i + n > len)
			n = len - i;
		if (n == wlen && strncmp(list + i, word, wlen) == 0)
			return true;
		i += n + 1;
	}
	return false;
}

static const char *next_line(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl ? nl + 1 : NULL;
}

struct mount_entry {
	char root[256], mount[256], type[32], super[512];
};

/* "36 25 0:30 /docker/1f /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory" */
static bool parse_mountinfo_line(const char *line, struct mount_entry *e)
{
	const char *end = strchr(line, '\n');
	const char *dash = strstr(line, " - ");

	if (!dash || (end && dash > end))
		return false;
	return sscanf(line, "%*s %*s %*s %255s %255s", e->root, e->mount) == 2 &&
	       sscanf(dash, " - %31s %*s %511s", e->type, e->super) == 2;
}

/* A container may show the host's hierarchies elsewhere too (a bind of /). */
static bool preferred(const char *old, const char *candidate)
{
	static const char base[] = "/sys/fs/cgroup";

	return !old[0] || (strncmp(candidate, base, strlen(base)) == 0 &&
			   strncmp(old, base, strlen(base)) != 0);
}

static void place_at(struct doctor_cg_place *place, int version, const char *mount,
		     const char *root)
{
	place->version = version;
	snprintf(place->mount, sizeof(place->mount), "%s", mount);
	snprintf(place->root, sizeof(place->root), "%s", root);
}

static void parse_mountinfo(const char *mountinfo, struct doctor_cg_layout *ret, bool *have_v1)
{
	struct doctor_cg_place *places[] = {&ret->memory, &ret->pids};
	static const char *const names[] = {"memory", "pids"};
	struct mount_entry e;

	for (const char *line = mountinfo; line && *line; line = next_line(line)) {
		if (!parse_mountinfo_line(line, &e))
			continue;
		if (strcmp(e.type, "cgroup2") == 0 && preferred(ret->v2_mount, e.mount)) {
			snprintf(ret->v2_mount, sizeof(ret->v2_mount), "%s", e.mount);
			snprintf(ret->v2_root, sizeof(ret->v2_root), "%s", e.root);
		} else if (strcmp(e.type, "cgroup") == 0) {
			*have_v1 = true;
			for (size_t i = 0; i < ARRAY_SIZE(places); i++)
				if (list_has(e.super, strlen(e.super), ",", names[i]) &&
				    preferred(places[i]->mount, e.mount))
					place_at(places[i], 1, e.mount, e.root);
		}
	}
}

/* "4:memory:/a/b" for a v1 controller, "0::/a/b" for v2. */
static void find_current(const char *self_cgroup, const char *controller, char *buf, size_t size)
{
	snprintf(buf, size, "/");
	for (const char *line = self_cgroup; line && *line; line = next_line(line)) {
		const char *c1 = strchr(line, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *end = strchr(line, '\n');
		size_t len;

		if (!c2 || (end && c2 > end))
			continue;
		len = (size_t)(c2 - c1 - 1);
		if (controller ? list_has(c1 + 1, len, ",", controller) : len == 0) {
			int path_len = end ? (int)(end - c2 - 1) : (int)strlen(c2 + 1);

			snprintf(buf, size, "%.*s", path_len, c2 + 1);
			return;
		}
	}
}

/* The mount shows the hierarchy from root down: strip it from current. */
static void place_dir(struct doctor_cg_place *place)
{
	const char *rel = place->current;
	size_t len = strlen(place->root);

	if (strcmp(place->root, "/") != 0 && strncmp(rel, place->root, len) == 0 &&
	    (rel[len] == '/' || rel[len] == '\0'))
		rel += len;
	snprintf(place->dir, sizeof(place->dir), "%s%s", place->mount,
		 strcmp(rel, "/") == 0 ? "" : rel);
}

void doctor_cg_parse(const char *mountinfo, const char *v2_controllers, const char *self_cgroup,
		     struct doctor_cg_layout *ret)
{
	struct doctor_cg_place *places[] = {&ret->memory, &ret->pids};
	static const char *const names[] = {"memory", "pids"};
	bool have_v1 = false;

	memset(ret, 0, sizeof(*ret));
	parse_mountinfo(mountinfo, ret, &have_v1);
	for (size_t i = 0; i < ARRAY_SIZE(places); i++) {
		if (places[i]->version == 0 && ret->v2_mount[0] && v2_controllers &&
		    list_has(v2_controllers, strlen(v2_controllers), " \n", names[i]))
			place_at(places[i], 2, ret->v2_mount, ret->v2_root);
		if (places[i]->version == 0)
			continue;
		find_current(self_cgroup, places[i]->version == 1 ? names[i] : NULL,
			     places[i]->current, sizeof(places[i]->current));
		place_dir(places[i]);
	}
	if (have_v1 && ret->v2_mount[0])
		ret->mode = DOCTOR_CG_HYBRID;
	else if (have_v1)
		ret->mode = DOCTOR_CG_V1;
	else if (ret->v2_mount[0])
		ret->mode = DOCTOR_CG_V2;
}

/* ---- the report ---- */

__attribute__((format(printf, 5, 6))) static void add_check(struct doctor_report *rep,
							    const char *name,
							    enum doctor_status status,
							    const char *fix, const char *fmt, ...)
{
	struct doctor_check *check;
	va_list ap;

	if (rep->n_checks == DOCTOR_MAX_CHECKS)
		return;
	check = &rep->checks[rep->n_checks++];
	check->name = name;
	check->status = status;
	va_start(ap, fmt);
	vsnprintf(check->detail, sizeof(check->detail), fmt, ap);
	va_end(ap);
	snprintf(check->fix, sizeof(check->fix), "%s", fix ? fix : "");
}

static void add_error_check(struct doctor_report *rep, const char *name, enum doctor_status status,
			    const struct nsrun_error *err, const char *default_fix)
{
	add_check(rep, name, status, err->hint[0] ? err->hint : default_fix, "%s", err->msg);
}

/* ---- host facts: kernel, user-namespace switches, container ---- */

static void check_kernel(struct doctor_report *rep)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) < 0) {
		add_check(rep, "kernel", DOCTOR_WARN, NULL, "uname: %s", strerror(errno));
		return;
	}
	if (sscanf(u.release, "%u.%u", &major, &minor) == 2 && (major < 5 || (major == 5 && minor < 3))) {
		add_check(rep, "kernel", DOCTOR_FAIL, "Linux 5.3 or later is needed (clone3)",
			  "Linux %s %s", u.release, u.machine);
		return;
	}
	add_check(rep, "kernel", DOCTOR_OK, NULL, "Linux %s %s", u.release, u.machine);
}

static void format_sysctl(char *buf, size_t size, const char *name, long value)
{
	if (value == DIAG_UNKNOWN)
		snprintf(buf, size, "%s absent", name);
	else
		snprintf(buf, size, "%s = %ld", name, value);
}

static int zero_ns_limit(const struct diag_facts *f)
{
	for (int i = 0; i < DIAG_NS_COUNT; i++)
		if (f->max_ns[i] == 0)
			return i;
	return -1;
}

static void check_userns_switches(struct doctor_report *rep, const struct diag_facts *f)
{
	char max[80], debian[80], apparmor[96], fix[160];
	int zero = zero_ns_limit(f);
	enum doctor_status status = DOCTOR_OK;
	const char *why = NULL;

	format_sysctl(max, sizeof(max), "user.max_user_namespaces", f->max_ns[DIAG_NS_USER]);
	format_sysctl(debian, sizeof(debian), "kernel.unprivileged_userns_clone",
		      f->unprivileged_userns_clone);
	format_sysctl(apparmor, sizeof(apparmor), "kernel.apparmor_restrict_unprivileged_userns",
		      f->apparmor_restrict);
	if (zero >= 0) {
		snprintf(fix, sizeof(fix), "sudo sysctl -w user.max_%s_namespaces=15000",
			 diag_ns_sysctl((enum diag_ns)zero));
		status = DOCTOR_FAIL;
		why = fix;
	} else if (f->unprivileged_userns_clone == 0) {
		status = f->privileged ? DOCTOR_WARN : DOCTOR_FAIL;
		why = DIAG_FIX_DEBIAN;
	} else if (f->apparmor_restrict == 1) {
		status = f->privileged ? DOCTOR_WARN : DOCTOR_FAIL;
		why = DIAG_FIX_APPARMOR;
	}
	add_check(rep, "userns-sysctls", status, why, "%s; %s; %s%s", max, debian, apparmor,
		  status == DOCTOR_WARN ? " (root is exempt, ordinary users are not)" : "");
}

#define DOCTOR_FIX_CHROOT "enter the root with pivot_root or switch_root instead of chroot"

static void check_container(struct doctor_report *rep, const struct diag_facts *f)
{
	const char *marker = f->dockerenv ? "/.dockerenv" : f->containerenv ? "/run/.containerenv" : NULL;
	const char *root = f->chrooted == 1 ? "; / is a chroot, where user namespaces are refused" : "";
	char where[64];

	snprintf(where, sizeof(where), "%s%s", marker ? marker : "no container marker",
		 marker ? " exists" : "");
	if (f->seccomp_mode == 2)
		add_check(rep, "container", DOCTOR_WARN, marker ? DIAG_FIX_CONTAINER : NULL,
			  "%s; nsrun runs under a seccomp filter (Seccomp: 2 in /proc/self/status), "
			  "which may forbid namespaces%s",
			  where, root);
	else
		add_check(rep, "container", f->chrooted == 1 ? DOCTOR_WARN : DOCTOR_OK,
			  f->chrooted == 1 ? DOCTOR_FIX_CHROOT : NULL,
			  "%s; no seccomp filter on nsrun (Seccomp: %d in /proc/self/status)%s", where,
			  f->seccomp_mode, root);
}

/* ---- probes: a cloned child in new namespaces, released as nsrun does ---- */

typedef int (*probe_fn)(const void *arg, char *step, size_t size);

struct probe {
	int code;		/* 0: it worked; an errno otherwise */
	struct nsrun_error err; /* the failure, explained when the host's policy is the cause */
};

static int step_failed(char *step, size_t size, const char *what)
{
	int code = errno ? errno : EINVAL;

	snprintf(step, size, "%s", what);
	return code;
}

_Noreturn static void probe_child(int go_fd, int report_fd, probe_fn fn, const void *arg)
{
	char step[DOCTOR_STEP_MAX] = "";
	char byte;
	int code;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (read(go_fd, &byte, 1) != 1)
		_exit(0); /* the parent gave up: it reports its own error */
	code = fn(arg, step, sizeof(step));
	if (code != 0 && write(report_fd, step, strlen(step)) < 0)
		code = EIO;
	_exit(code & 0xff);
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void probe_failed_in_child(struct probe *ret, int status, const char *step)
{
	if (WIFSIGNALED(status)) {
		ret->code = EINTR;
		nsrun_err(&ret->err, EINTR, "the probe was killed by signal %d", WTERMSIG(status));
		return;
	}
	ret->code = WEXITSTATUS(status);
	if (diag_explain_failure(DIAG_STAGE_SETUP, ret->code, step, &ret->err))
		return;
	errno = ret->code;
	nsrun_err_sys(&ret->err, "%s", step[0] ? step : "probe");
}

static void probe_release(pid_t pid, uint64_t flags, int go_fd, int report_fd, struct probe *ret)
{
	char step[DOCTOR_STEP_MAX];
	struct userns_plan plan = {0};
	int status = 0;

	if (flags & CLONE_NEWUSER) {
		userns_plan(geteuid(), getegid(), &plan);
		if (userns_write_maps(pid, &plan, &ret->err) < 0) {
			diag_explain_error(DIAG_STAGE_ID_MAP, &ret->err);
			ret->code = ret->err.code ? ret->err.code : EPERM;
			kill(pid, SIGKILL);
			wait_child(pid, &status);
			return;
		}
	}
	if (write(go_fd, "g", 1) != 1) {
		ret->code = -nsrun_err_sys(&ret->err, "release the probe");
		kill(pid, SIGKILL);
	}
	read_fd_to_end(report_fd, step, sizeof(step));
	if (wait_child(pid, &status) < 0)
		ret->code = -nsrun_err_sys(&ret->err, "wait for the probe");
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		probe_failed_in_child(ret, status, step);
}

/* flags 0: a plain child; with CLONE_NEWUSER the parent writes its id
 * maps exactly as nsrun_run() does before letting it go on. */
static void probe_run(uint64_t flags, probe_fn fn, const void *arg, struct probe *ret)
{
	int go[2], report[2], pidfd = -1;
	pid_t pid;

	memset(ret, 0, sizeof(*ret));
	if (pipe2(go, O_CLOEXEC) < 0) {
		ret->code = -nsrun_err_sys(&ret->err, "pipe");
		return;
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		ret->code = -nsrun_err_sys(&ret->err, "pipe");
		close(go[0]);
		close(go[1]);
		return;
	}
	pid = flags ? sys_clone3(flags, &pidfd) : fork(); /* containers may refuse clone3 */
	if (pid == 0) {
		close(go[1]);
		close(report[0]);
		probe_child(go[0], report[1], fn, arg);
	}
	close(go[0]);
	close(report[1]);
	if (pid < 0 && flags)
		ret->code = -diag_clone_failed(errno, "clone3", &ret->err);
	else if (pid < 0)
		ret->code = -nsrun_err_sys(&ret->err, "fork");
	else
		probe_release(pid, flags, go[1], report[0], ret);
	close(go[1]);
	close(report[0]);
	if (pidfd >= 0)
		close(pidfd);
}

/* ---- namespace probes (run in the child) ---- */

static int probe_userns(const void *arg, char *step, size_t size)
{
	(void)arg;
	/* A capability in the new namespace: what AppArmor's restriction takes away. */
	if (unshare(CLONE_NEWUTS) < 0)
		return step_failed(step, size, "unshare CLONE_NEWUTS");
	if (sethostname("nsrun-doctor", strlen("nsrun-doctor")) < 0)
		return step_failed(step, size, "set the hostname");
	return 0;
}

static int private_tmpfs(char *step, size_t size)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return step_failed(step, size, "make / private");
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0)
		return step_failed(step, size, "mount tmpfs on /tmp");
	return 0;
}

static int probe_mountns(const void *arg, char *step, size_t size)
{
	(void)arg;
	return private_tmpfs(step, size);
}

static int probe_pivot_root(const void *arg, char *step, size_t size)
{
	int r = private_tmpfs(step, size);

	(void)arg;
	if (r != 0)
		return r;
	if (chdir("/tmp") < 0)
		return step_failed(step, size, "chdir to the tmpfs");
	if (sys_pivot_root(".", ".") < 0)
		return step_failed(step, size, "pivot_root into the tmpfs");
	if (umount2(".", MNT_DETACH) < 0)
		return step_failed(step, size, "detach the old root");
	return chdir("/") < 0 ? step_failed(step, size, "chdir /") : 0;
}

/* The child is pid 1 of its new PID namespace. */
static int probe_proc(const void *arg, char *step, size_t size)
{
	char self[16];
	ssize_t n;

	(void)arg;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return step_failed(step, size, "make / private");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return step_failed(step, size, "mount /proc");
	n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n < 0)
		return step_failed(step, size, "read /proc/self");
	self[n] = '\0';
	errno = EINVAL;
	return strcmp(self, "1") == 0 ? 0 : step_failed(step, size, "find itself as pid 1 in /proc");
}

static int probe_netns(const void *arg, char *step, size_t size)
{
	struct nsrun_error err;
	const char *sep;

	(void)arg;
	memset(&err, 0, sizeof(err));
	if (net_loopback_up_in_child(&err) == 0)
		return 0;
	sep = strstr(err.msg, ": ");
	snprintf(step, size, "%.*s", sep ? (int)(sep - err.msg) : (int)strlen(err.msg), err.msg);
	return err.code ? err.code : EINVAL;
}

static int probe_other_ns(const void *arg, char *step, size_t size)
{
	(void)arg;
	if (sethostname("nsrun-doctor", strlen("nsrun-doctor")) < 0)
		return step_failed(step, size, "set the hostname");
	return 0;
}

struct ns_check {
	const char *name;
	uint64_t flags;
	probe_fn fn;
	const char *ok;
};

static const struct ns_check ns_checks[] = {
	{"userns", CLONE_NEWUSER, probe_userns,
	 "created one, wrote its id maps as nsrun does, used a capability in it"},
	{"mountns", CLONE_NEWUSER | CLONE_NEWNS, probe_mountns,
	 "made / private and mounted a tmpfs in a new mount namespace"},
	{"pivot_root", CLONE_NEWUSER | CLONE_NEWNS, probe_pivot_root,
	 "pivoted into a tmpfs and detached the old root"},
	{"pidns+proc", CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID, probe_proc,
	 "mounted a fresh /proc as pid 1 of a new PID namespace"},
	{"netns+loopback", CLONE_NEWUSER | CLONE_NEWNET, probe_netns,
	 "brought loopback up in a new network namespace"},
	{"ipc/uts/cgroupns", CLONE_NEWUSER | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP,
	 probe_other_ns, "created IPC, UTS and cgroup namespaces and set a hostname"},
};

/* Returns the bit set of namespace checks that passed. */
static unsigned check_namespaces(struct doctor_report *rep)
{
	unsigned passed = 0;
	struct probe probe;

	for (size_t i = 0; i < ARRAY_SIZE(ns_checks); i++) {
		const struct ns_check *c = &ns_checks[i];

		if (i > 0 && !(passed & 1U)) {
			add_check(rep, c->name, DOCTOR_FAIL, "fix userns first",
				  "not tried: needs a user namespace");
			continue;
		}
		probe_run(c->flags, c->fn, NULL, &probe);
		if (probe.code == 0) {
			passed |= 1U << i;
			add_check(rep, c->name, DOCTOR_OK, NULL, "%s", c->ok);
		} else {
			add_error_check(rep, c->name, DOCTOR_FAIL, &probe.err,
					"`nsrun doctor` shows the host's settings above");
		}
	}
	return passed;
}

#define NS_PASSED(mask, i) (((mask) >> (i)) & 1U)

/* ---- cgroups: the layout, then a test group made and removed ---- */

struct cg_probe {
	const char *controller;
	int version;
	char dir[800];	    /* nsrun's current cgroup for this controller */
	int mkdir_err;	    /* 0: a test group was made (and removed) */
	int rmdir_err;	    /* 0: and it is gone again */
	bool limit_ok;	    /* nsrun could set its limit in a group of its own */
	bool has_swap;	    /* memory.memsw.limit_in_bytes / memory.swap.max */
	bool has_peak;	    /* memory.max_usage_in_bytes / memory.peak */
	bool has_kill;	    /* cgroup.kill (v2) */
	bool looked;	    /* the files above could be looked for at all */
	bool available;	    /* v2: in the current group's cgroup.controllers */
	bool can_delegate;  /* v2: cgroup.subtree_control and cgroup.procs writable */
};

static void read_text(const char *path, char *buf, size_t size)
{
	if (read_file_at(AT_FDCWD, path, buf, size) < 0)
		buf[0] = '\0';
}

static bool file_ok(const char *dir, const char *file, int mode)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0;
}

static const char *limit_file(const struct cg_probe *p)
{
	if (strcmp(p->controller, "pids") == 0)
		return "pids.max";
	return p->version == 2 ? "memory.max" : "memory.limit_in_bytes";
}

static void probe_cg_files(struct cg_probe *p, const char *dir, bool own_group)
{
	bool v2 = p->version == 2;

	if (own_group && file_ok(dir, limit_file(p), W_OK))
		p->limit_ok = true;
	p->looked |= file_ok(dir, "cgroup.procs", F_OK);
	if (strcmp(p->controller, "memory") != 0)
		return;
	p->has_swap |= file_ok(dir, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes", F_OK);
	p->has_peak |= file_ok(dir, v2 ? "memory.peak" : "memory.max_usage_in_bytes", F_OK);
	p->has_kill |= v2 && file_ok(dir, "cgroup.kill", F_OK);
}

/* v2: nsrun enables the controller for its own leaf, so what counts is
 * that the current group offers it and lets nsrun manage children. */
static void probe_cg_v2(struct cg_probe *p)
{
	char path[900], list[256];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", p->dir);
	read_text(path, list, sizeof(list));
	p->available = list_has(list, strlen(list), " \n", p->controller);
	p->can_delegate = file_ok(p->dir, "cgroup.subtree_control", W_OK) &&
			  file_ok(p->dir, "cgroup.procs", W_OK);
	if (p->mkdir_err == 0 && p->available && p->can_delegate)
		p->limit_ok = true;
}

static void probe_cgroup(const struct doctor_cg_place *place, const char *controller,
			 struct cg_probe *p)
{
	char test[900];

	memset(p, 0, sizeof(*p));
	p->controller = controller;
	p->version = place->version;
	p->mkdir_err = ENOENT;
	if (place->version == 0)
		return;
	snprintf(p->dir, sizeof(p->dir), "%s", place->dir);
	snprintf(test, sizeof(test), "%s/nsrun-doctor-%d", p->dir, (int)getpid());
	p->mkdir_err = mkdir(test, 0755) < 0 ? errno : 0;
	if (p->mkdir_err == 0) {
		probe_cg_files(p, test, true);
		p->rmdir_err = rmdir(test) < 0 ? errno : 0;
	}
	probe_cg_files(p, p->dir, false);
	if (p->version == 2)
		probe_cg_v2(p);
}

static void read_cg_layout(struct doctor_cg_layout *layout)
{
	static char mounts[65536];
	char self[4096], controllers[256] = "";
	struct doctor_cg_layout first;

	read_text("/proc/self/mountinfo", mounts, sizeof(mounts));
	read_text("/proc/self/cgroup", self, sizeof(self));
	doctor_cg_parse(mounts, NULL, self, &first);
	if (first.v2_mount[0]) {
		char path[300];

		snprintf(path, sizeof(path), "%s/cgroup.controllers", first.v2_mount);
		read_text(path, controllers, sizeof(controllers));
	}
	doctor_cg_parse(mounts, controllers, self, layout);
}

static void describe_place(char *buf, size_t size, const char *name,
			   const struct doctor_cg_place *place)
{
	if (place->version == 0)
		snprintf(buf, size, "no %s controller", name);
	else
		snprintf(buf, size, "%s on v%d (%s)", name, place->version, place->mount);
}

static void check_cg_mode(struct doctor_report *rep, const struct doctor_cg_layout *layout)
{
	char memory[300], pids[300], unified[300] = "";
	bool complete = layout->memory.version && layout->pids.version;

	describe_place(memory, sizeof(memory), "memory", &layout->memory);
	describe_place(pids, sizeof(pids), "pids", &layout->pids);
	if (layout->mode == DOCTOR_CG_HYBRID)
		snprintf(unified, sizeof(unified), ", cgroup2 at %s", layout->v2_mount);
	add_check(rep, "cgroup-mode", complete ? DOCTOR_OK : DOCTOR_FAIL,
		  complete ? NULL
			   : "enable the memory and pids controllers (v2: the parent's "
			     "cgroup.subtree_control; v1: mount them, cgroup_enable=memory)",
		  "%s: %s, %s%s", doctor_cg_mode_name(layout->mode), memory, pids, unified);
}

#define DOCTOR_FIX_RO_CGROUP                                                                        \
	"nsrun's cgroup is missing or read-only (in a container: give it a writable, delegated "    \
	"/sys/fs/cgroup, e.g. docker run --privileged)"

static const char *delegation_fix(const struct cg_probe *p, char *buf, size_t size)
{
	if (p->version == 2)
		return "run nsrun in a delegated cgroup: systemd-run --user --scope -p Delegate=yes "
		       "nsrun ... (or a Delegate=yes drop-in for user@.service)" DOCTOR_FIX_ALLOW;
	/* A cut path still leaves the fix readable. */
	if (snprintf(buf, size,
		     "cgroup v1 is not delegated to users: have root run `mkdir D && chown -R %u D` "
		     "for D=%s/user-%u, then start nsrun from a shell in it (echo $$ > "
		     "D/cgroup.procs), or run as root" DOCTOR_FIX_ALLOW,
		     (unsigned)geteuid(), p->dir, (unsigned)geteuid()) >= (int)size)
		buf[size - 1] = '\0';
	return buf;
}

static void check_cg_group(struct doctor_report *rep, const char *name, const struct cg_probe *p)
{
	char fix[sizeof(rep->checks[0].fix)];

	if (p->version == 0) {
		add_check(rep, name, DOCTOR_FAIL, "see cgroup-mode", "no %s controller", p->controller);
	} else if (p->mkdir_err == EROFS || p->mkdir_err == ENOENT) {
		add_check(rep, name, DOCTOR_FAIL, DOCTOR_FIX_RO_CGROUP DOCTOR_FIX_ALLOW,
			  "cannot create a group in %s: %s", p->dir, strerror(p->mkdir_err));
	} else if (p->mkdir_err != 0) {
		add_check(rep, name, DOCTOR_FAIL, delegation_fix(p, fix, sizeof(fix)),
			  "cannot create a group in %s: %s (not delegated to uid %u)", p->dir,
			  strerror(p->mkdir_err), (unsigned)geteuid());
	} else if (p->rmdir_err != 0) {
		add_check(rep, name, DOCTOR_WARN, "remove it by hand (rmdir)",
			  "made a test group in %s but could not remove it: %s", p->dir,
			  strerror(p->rmdir_err));
	} else if (!p->limit_ok) {
		add_check(rep, name, DOCTOR_FAIL, delegation_fix(p, fix, sizeof(fix)),
			  "made a test group in %s, but %s", p->dir,
			  p->version == 2 ? "the controller is not offered there or cannot be enabled"
					  : "its limit file is not writable");
	} else {
		add_check(rep, name, DOCTOR_OK, NULL, "made and removed a test group in %s", p->dir);
	}
}

static bool host_has_swap(void)
{
	char swaps[1024];

	const char *nl;

	read_text("/proc/swaps", swaps, sizeof(swaps));
	nl = strchr(swaps, '\n'); /* a header line, then one line per swap area */
	return nl && nl[1] != '\0';
}

static void check_cg_files(struct doctor_report *rep, const struct cg_probe *m)
{
	bool v2 = m->version == 2;
	const char *swap_file = v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
	const char *peak_file = v2 ? "memory.peak" : "memory.max_usage_in_bytes";
	const char *swap_state = host_has_swap() ? "swap is on" : "no swap configured";

	if (m->version == 0 || !m->looked) {
		static const char *const names[] = {"swap-control", "memory-peak", "cgroup.kill"};

		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			add_check(rep, names[i], DOCTOR_WARN, "see cgroup-mode and cgroup-memory",
				  "not checked: %s", m->version ? "nsrun's memory cgroup cannot be read"
							      : "no memory controller");
		return;
	}
	if (m->has_swap)
		add_check(rep, "swap-control", DOCTOR_OK, NULL, "%s present (%s)", swap_file, swap_state);
	else
		add_check(rep, "swap-control", DOCTOR_FAIL,
			  v2 ? "enable swap accounting (CONFIG_MEMCG_SWAP; not swapaccount=0)" DOCTOR_FIX_ALLOW
			     : "boot with swapaccount=1" DOCTOR_FIX_ALLOW,
			  "%s missing: nsrun refuses a memory limit that swap could bypass (%s)",
			  swap_file, swap_state);
	add_check(rep, "memory-peak", m->has_peak ? DOCTOR_OK : DOCTOR_WARN,
		  m->has_peak ? NULL : "Linux 5.19 or later has memory.peak",
		  m->has_peak ? "%s present" : "%s missing: memory_peak_bytes will read 0", peak_file);
	if (!v2)
		add_check(rep, "cgroup.kill", DOCTOR_OK, NULL,
			  "not used with memory on cgroup v1: nsrun kills the sandbox's PID namespace");
	else
		add_check(rep, "cgroup.kill", m->has_kill ? DOCTOR_OK : DOCTOR_WARN,
			  m->has_kill ? NULL : "Linux 5.14 or later has cgroup.kill",
			  m->has_kill ? "cgroup.kill present"
				      : "cgroup.kill missing: nsrun kills the sandbox's PID namespace");
}

static void check_cgroups(struct doctor_report *rep, struct cg_probe *memory, struct cg_probe *pids)
{
	struct doctor_cg_layout layout;

	read_cg_layout(&layout);
	check_cg_mode(rep, &layout);
	probe_cgroup(&layout.memory, "memory", memory);
	probe_cgroup(&layout.pids, "pids", pids);
	check_cg_group(rep, "cgroup-memory", memory);
	check_cg_group(rep, "cgroup-pids", pids);
	check_cg_files(rep, memory);
}

/* ---- seccomp: the kernel's support, then the policy nsrun would load ---- */

#define PROBE_POLICY                                                                                \
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "        \
	"\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 25}]}"

static int probe_seccomp(const void *arg, char *step, size_t size)
{
	struct nsrun_error err;
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return step_failed(step, size, "set no_new_privs");
	if (sc_install(arg, &err) < 0) {
		errno = err.code;
		return step_failed(step, size, "install a seccomp filter");
	}
	errno = 0;
	r = syscall(SYS_getppid);
	if (r != -1 || errno != ENOTTY) {
		errno = EINVAL;
		return step_failed(step, size, "check the filter acts (getppid)");
	}
	return 0;
}

static bool check_seccomp(struct doctor_report *rep)
{
	struct nsrun_policy policy;
	struct sc_program prog = {NULL, 0};
	struct nsrun_error err;
	struct probe probe;
	int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);

	memset(&err, 0, sizeof(err));
	if (pol_load_string(PROBE_POLICY, "doctor probe", &policy, &err) == 0)
		sc_compile(&policy, &prog, &err);
	pol_free(&policy);
	if (!prog.filter) {
		add_error_check(rep, "seccomp", DOCTOR_FAIL, &err, "check libseccomp");
		return false;
	}
	probe_run(0, probe_seccomp, &prog, &probe);
	sc_program_free(&prog);
	if (probe.code != 0) {
		add_error_check(rep, "seccomp", DOCTOR_FAIL, &probe.err,
				"a kernel with CONFIG_SECCOMP_FILTER is needed");
		return false;
	}
	add_check(rep, "seccomp", DOCTOR_OK, NULL,
		  "a filter installed in a child made getppid fail as told%s",
		  mode == 2 ? " (nsrun itself already runs under a filter; they stack)" : "");
	return true;
}

static bool check_policy(struct doctor_report *rep, const char *path)
{
	struct nsrun_policy policy;
	struct sc_program prog = {NULL, 0};
	struct nsrun_error err;
	int r;

	if (!path) {
		add_check(rep, "seccomp-policy", DOCTOR_FAIL,
			  "pass --seccomp-policy FILE (policy/seccomp.json in the source tree)",
			  "no seccomp policy found");
		return false;
	}
	memset(&err, 0, sizeof(err));
	r = pol_load_file(path, &policy, &err);
	if (r == 0)
		r = sc_compile(&policy, &prog, &err);
	if (r == 0)
		add_check(rep, "seccomp-policy", DOCTOR_OK, NULL, "%s: %zu rules, %u BPF instructions",
			  path, policy.n_rules, (unsigned)prog.len);
	else
		add_error_check(rep, "seccomp-policy", DOCTOR_FAIL, &err,
				"fix the policy file, or pass another with --seccomp-policy");
	pol_free(&policy);
	sc_program_free(&prog);
	return r == 0;
}

/* ---- the rootfs, and a real run of a tiny script through nsrun_run() ---- */

#define ROOTFS_FIX "build it with scripts/build-rootfs, or pass --rootfs DIR"

static bool check_rootfs(struct doctor_report *rep, const char *rootfs)
{
	static const char *const needed[] = {"usr/bin/python3", "app", "proc", "dev", "tmp"};
	char path[PATH_MAX], target[64];
	ssize_t n;

	if (!rootfs) {
		add_check(rep, "rootfs", DOCTOR_FAIL, ROOTFS_FIX, "no Python rootfs found");
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++) {
		snprintf(path, sizeof(path), "%s/%s", rootfs, needed[i]);
		if (faccessat(AT_FDCWD, path, i == 0 ? X_OK : F_OK, AT_EACCESS) < 0) {
			add_check(rep, "rootfs", DOCTOR_FAIL, ROOTFS_FIX, "%s: /%s: %s", rootfs,
				  needed[i], strerror(errno));
			return false;
		}
	}
	snprintf(path, sizeof(path), "%s/usr/bin/python3", rootfs);
	n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	add_check(rep, "rootfs", DOCTOR_OK, NULL, "%s (/usr/bin/python3%s%s)", rootfs,
		  n > 0 ? " -> " : "", target);
	return true;
}

enum run_outcome { RUN_NOT_TRIED, RUN_FAILED, RUN_WITHOUT_LIMITS, RUN_WITH_LIMITS };

static int write_probe_script(char *path, size_t size)
{
	static const char source[] = "import platform\nprint(platform.python_version())\n";
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/nsrun-doctor-XXXXXX.py", dir && dir[0] ? dir : "/tmp");
	fd = mkstemps(path, 3);
	if (fd < 0)
		return -errno;
	if (write_all(fd, source, strlen(source)) < 0 || fchmod(fd, 0644) < 0) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int run_once(const struct doctor_options *opts, const char *script, bool unlimited,
		    struct nsrun_result *res, struct nsrun_error *err)
{
	static const char *const no_args[] = {NULL};
	struct nsrun_config cfg;

	nsrun_config_init(&cfg);
	cfg.args = no_args;
	cfg.rootfs = opts->rootfs;
	cfg.seccomp_policy = opts->seccomp_policy;
	cfg.script = script;
	cfg.allow_no_memory_limit = unlimited;
	return nsrun_run(&cfg, res, err);
}

static void report_run(struct doctor_report *rep, const struct nsrun_result *res, bool unlimited,
		       const struct nsrun_error *limited_err)
{
	const char *out = res->stdout_buf ? res->stdout_buf : "";
	int len = (int)strcspn(out, "\n");

	if (res->status != NSRUN_STATUS_OK) {
		add_check(rep, "sandbox-run", DOCTOR_FAIL, "run a script with nsrun to see its output",
			  "the test script ended with status %s (exit %d): %.120s",
			  nsrun_status_name(res->status), res->exit_code,
			  res->stderr_buf ? res->stderr_buf : "");
	} else if (unlimited) {
		add_check(rep, "sandbox-run", DOCTOR_WARN,
			  limited_err->hint[0] ? limited_err->hint : "see cgroup-memory",
			  "Python %.*s ran only WITHOUT memory and pids limits "
			  "(--allow-no-memory-limit): %s",
			  len, out, limited_err->msg);
	} else {
		add_check(rep, "sandbox-run", DOCTOR_OK, NULL,
			  "Python %.*s ran in %llu ms: memory %lluM, swap off, pids %d (cgroup v%d), "
			  "seccomp, no network",
			  len, out, (unsigned long long)res->wall_ms,
			  (unsigned long long)(NSRUN_DEFAULT_MEMORY >> 20), NSRUN_DEFAULT_PIDS,
			  (int)res->cgroup_mode);
	}
}

static enum run_outcome check_sandbox_run(struct doctor_report *rep,
					  const struct doctor_options *opts)
{
	struct nsrun_error err, limited_err;
	struct nsrun_result res;
	char script[PATH_MAX];
	bool unlimited = false;
	int r = write_probe_script(script, sizeof(script));

	memset(&limited_err, 0, sizeof(limited_err));

	if (r < 0) {
		add_check(rep, "sandbox-run", DOCTOR_FAIL, "set TMPDIR to a writable directory",
			  "cannot write a test script in %s: %s", script, strerror(-r));
		return RUN_FAILED;
	}
	r = run_once(opts, script, false, &res, &err);
	if (r < 0 && strcmp(err.kind, "cgroup_unavailable") == 0) {
		limited_err = err;
		unlimited = true;
		r = run_once(opts, script, true, &res, &err);
	}
	unlink(script);
	if (r < 0) {
		add_error_check(rep, "sandbox-run", DOCTOR_FAIL, &err, "see the checks above");
		return RUN_FAILED;
	}
	report_run(rep, &res, unlimited, &limited_err);
	r = res.status == NSRUN_STATUS_OK;
	nsrun_result_free(&res);
	if (!r)
		return RUN_FAILED;
	return unlimited ? RUN_WITHOUT_LIMITS : RUN_WITH_LIMITS;
}

/* ---- the docker engine, for --backend docker: `docker version`, bounded ---- */

_Noreturn static void exec_docker(const char *docker, int out_fd)
{
	char *const argv[] = {(char *)docker, "version", "--format", "{{.Server.Version}}", NULL};
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	execvp(docker, argv);
	_exit(127);
}

/* Reads the child's output until EOF or the deadline; false on timeout. */
static bool read_bounded(int fd, char *buf, size_t size, uint64_t deadline_ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	size_t len = 0;

	buf[0] = '\0';
	for (;;) {
		uint64_t now = monotonic_ms();
		ssize_t n;

		if (now >= deadline_ms || poll(&pfd, 1, (int)(deadline_ms - now)) == 0)
			return false;
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || len + (size_t)n + 1 >= size)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return true;
}

/* Keep the last non-empty line: docker's error follows its warnings. */
static void last_line(char *text)
{
	size_t len = strlen(text);
	char *start;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	start = strrchr(text, '\n');
	if (start)
		memmove(text, start + 1, strlen(start + 1) + 1);
}

static void report_docker(struct doctor_report *rep, const char *docker, bool finished,
			  int status, char *out)
{
	const char *fix = "install Docker and start dockerd (only --backend docker needs it)";

	last_line(out);
	if (strstr(out, "permission denied"))
		fix = "add this user to the docker group (only --backend docker needs it)";
	if (!finished)
		add_check(rep, "docker", DOCTOR_WARN, fix, "`%s version` did not answer in time", docker);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		add_check(rep, "docker", DOCTOR_WARN, fix, "%s not found in PATH", docker);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !out[0])
		add_check(rep, "docker", DOCTOR_WARN, fix, "engine unavailable: %.300s", out);
	else
		add_check(rep, "docker", DOCTOR_OK, NULL, "engine %s (for --backend docker)", out);
}

static void check_docker(struct doctor_report *rep, const struct doctor_options *opts)
{
	const char *docker = opts->docker ? opts->docker : "docker";
	unsigned timeout = opts->docker_timeout_ms ? opts->docker_timeout_ms : DOCTOR_DOCKER_TIMEOUT_MS;
	char out[512];
	int fds[2], status = 0;
	bool finished;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		add_check(rep, "docker", DOCTOR_WARN, NULL, "cannot start docker: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		exec_docker(docker, fds[1]);
	close(fds[1]);
	finished = read_bounded(fds[0], out, sizeof(out), monotonic_ms() + timeout);
	close(fds[0]);
	if (!finished)
		kill(pid, SIGKILL);
	wait_child(pid, &status);
	report_docker(rep, docker, finished, status, out);
}

/* ---- the whole run and what it means ---- */

static void summarize(struct doctor_report *rep, unsigned ns_passed, const struct cg_probe *memory,
		      const struct cg_probe *pids, bool seccomp, enum run_outcome run)
{
	bool *can = rep->can;

	can[DOCTOR_CAN_USERNS] = NS_PASSED(ns_passed, 0);
	can[DOCTOR_CAN_NETWORK] = NS_PASSED(ns_passed, 4);
	can[DOCTOR_CAN_SECCOMP] = seccomp;
	/* The cgroup code fails closed, so a limited run proves all three. */
	if (run == RUN_WITH_LIMITS || run == RUN_WITHOUT_LIMITS) {
		bool limited = run == RUN_WITH_LIMITS;

		can[DOCTOR_CAN_MEMORY] = can[DOCTOR_CAN_SWAP] = can[DOCTOR_CAN_PIDS] = limited;
	} else {
		can[DOCTOR_CAN_MEMORY] = memory->limit_ok;
		can[DOCTOR_CAN_SWAP] = memory->limit_ok && memory->has_swap;
		can[DOCTOR_CAN_PIDS] = pids->limit_ok;
	}
	rep->sandbox_runs = run == RUN_WITH_LIMITS || run == RUN_WITHOUT_LIMITS;
	rep->verdict = doctor_verdict_of(can, rep->sandbox_runs);
}

void doctor_run(const struct doctor_options *opts, struct doctor_report *ret)
{
	struct cg_probe memory, pids;
	struct diag_facts facts;
	enum run_outcome run = RUN_NOT_TRIED;
	unsigned ns_passed;
	bool seccomp, have_rootfs, have_policy;

	memset(ret, 0, sizeof(*ret));
	memset(&facts, 0, sizeof(facts));
	diag_read_facts(&facts);
	check_kernel(ret);
	check_userns_switches(ret, &facts);
	check_container(ret, &facts);
	ns_passed = check_namespaces(ret);
	check_cgroups(ret, &memory, &pids);
	seccomp = check_seccomp(ret);
	have_policy = check_policy(ret, opts->seccomp_policy);
	have_rootfs = check_rootfs(ret, opts->rootfs);
	if (have_rootfs && have_policy)
		run = check_sandbox_run(ret, opts);
	else
		add_check(ret, "sandbox-run", DOCTOR_FAIL, "see rootfs and seccomp-policy",
			  "not tried: needs the rootfs and the seccomp policy");
	check_docker(ret, opts);
	summarize(ret, ns_passed, &memory, &pids, seccomp && have_policy, run);
}
