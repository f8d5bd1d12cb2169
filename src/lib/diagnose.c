#include "diagnose.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "userns.h"
#include "util.h"

#define KIND_USERNS "userns_denied"
#define KIND_SETUP "sandbox_setup"

#define DOCTOR_FIX "`nsrun doctor` tries each namespace on its own"

static const char *const ns_sysctl[DIAG_NS_COUNT] = {"user", "mnt", "pid",   "net",
						     "ipc",  "uts", "cgroup"};
static const char *const ns_human[DIAG_NS_COUNT] = {"a user", "a mount", "a PID",   "a network",
						    "an IPC", "a UTS",	 "a cgroup"};

const char *diag_ns_sysctl(enum diag_ns ns)
{
	return ns < DIAG_NS_COUNT ? ns_sysctl[ns] : "?";
}

bool diag_map_has(const char *map, unsigned id)
{
	unsigned long triple[3];
	int n = 0;

	while (map && *map) {
		char *end;

		if (*map < '0' || *map > '9') {
			map++;
			continue;
		}
		triple[n++] = strtoul(map, &end, 10);
		map = end;
		if (n == 3) {
			if (id >= triple[0] && id - triple[0] < triple[2])
				return true;
			n = 0;
		}
	}
	return false;
}

/* One message: "<what>: <cause> (<evidence>; <step>: <strerror>)" + the fix. */
__attribute__((format(printf, 5, 6))) static bool say(struct nsrun_error *err,
						      const struct diag_facts *f, const char *kind,
						      const char *hint, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nsrun_err(err, f->err_no, "%s", msg);
	nsrun_err_hint(err, "%s", hint);
	nsrun_err_kind(err, kind);
	return true;
}

static const char *container_marker(const struct diag_facts *f)
{
	if (f->dockerenv)
		return "/.dockerenv";
	if (f->containerenv)
		return "/run/.containerenv";
	return NULL;
}

static bool explain_limits(const struct diag_facts *f, struct nsrun_error *err)
{
	const char *why = strerror(f->err_no);
	char hint[sizeof(err->hint)];

	for (int i = 0; i < DIAG_NS_COUNT; i++) {
		if (f->max_ns[i] != 0)
			continue;
		snprintf(hint, sizeof(hint),
			 "sudo sysctl -w user.max_%s_namespaces=15000 (to keep it, add it to "
			 "/etc/sysctl.d/)",
			 ns_sysctl[i]);
		return say(err, f, KIND_USERNS, hint,
			   "cannot create %s namespace: user.max_%s_namespaces is 0 (%s: %s)",
			   ns_human[i], ns_sysctl[i], f->step, why);
	}
	return say(err, f, KIND_USERNS,
		   "raise the limit (sudo sysctl -w user.max_user_namespaces=15000), or run nsrun in "
		   "a less deeply nested namespace",
		   "cannot create the sandbox's namespaces: a per-user namespace limit is reached or "
		   "namespaces are nested over 32 deep (user.max_user_namespaces = %ld; %s: %s)",
		   f->max_ns[DIAG_NS_USER], f->step, why);
}

static bool explain_seccomp(const struct diag_facts *f, struct nsrun_error *err)
{
	const char *marker = container_marker(f);

	if (marker)
		return say(err, f, KIND_USERNS, DIAG_FIX_CONTAINER,
			   "cannot create a user namespace: the container's seccomp profile forbids it "
			   "(Seccomp: 2 in /proc/self/status, %s exists; %s: %s)",
			   marker, f->step, strerror(f->err_no));
	return say(err, f, KIND_USERNS,
		   "run nsrun outside that filter (a container's or service's seccomp profile, "
		   "systemd's SystemCallFilter= or RestrictNamespaces=)",
		   "cannot create a user namespace: a seccomp filter on nsrun's own process forbids "
		   "it (Seccomp: 2 in /proc/self/status; %s: %s)",
		   f->step, strerror(f->err_no));
}

static bool explain_apparmor(const struct diag_facts *f, struct nsrun_error *err)
{
	const char *what = f->stage == DIAG_STAGE_SETUP
				   ? "cannot set up the sandbox: AppArmor denies capabilities in"
				   : "cannot create a user namespace: AppArmor restricts";

	return say(err, f, KIND_USERNS, DIAG_FIX_APPARMOR,
		   "%s unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1, "
		   "Ubuntu 23.10+; %s: %s)",
		   what, f->step, strerror(f->err_no));
}

static bool explain_debian(const struct diag_facts *f, struct nsrun_error *err)
{
	return say(err, f, KIND_USERNS, DIAG_FIX_DEBIAN,
		   "cannot create a user namespace: kernel.unprivileged_userns_clone is 0, which "
		   "forbids them to ordinary users (%s: %s)",
		   f->step, strerror(f->err_no));
}

static bool explain_chroot(const struct diag_facts *f, struct nsrun_error *err)
{
	return say(err, f, KIND_USERNS,
		   "enter that root with pivot_root or switch_root instead of chroot, or run nsrun "
		   "outside the chroot",
		   "cannot create a user namespace: nsrun runs in a chroot, where the kernel refuses "
		   "them (/ is not the mount namespace's root; %s: %s)",
		   f->step, strerror(f->err_no));
}

static bool explain_unknown_denial(const struct diag_facts *f, struct nsrun_error *err)
{
	const char *marker = container_marker(f);

	if (marker)
		return say(err, f, KIND_USERNS, DIAG_FIX_CONTAINER,
			   "cannot create a user namespace: the container does not allow it (%s "
			   "exists; %s: %s)",
			   marker, f->step, strerror(f->err_no));
	return say(err, f, KIND_USERNS,
		   "an LSM (SELinux, AppArmor) or a sandbox around nsrun may forbid it; " DOCTOR_FIX,
		   "cannot create a user namespace: %s: %s (user.max_user_namespaces = %ld, no known "
		   "restriction found)",
		   f->step, strerror(f->err_no), f->max_ns[DIAG_NS_USER]);
}

/* EPERM/EACCES from clone3: the known switches, most specific first. */
static bool explain_clone_denied(const struct diag_facts *f, struct nsrun_error *err)
{
	if (f->seccomp_mode == 2 && container_marker(f))
		return explain_seccomp(f, err);
	if (f->chrooted == 1)
		return explain_chroot(f, err);
	if (!f->privileged && f->unprivileged_userns_clone == 0)
		return explain_debian(f, err);
	if (!f->privileged && f->apparmor_restrict == 1)
		return explain_apparmor(f, err);
	if (f->seccomp_mode == 2)
		return explain_seccomp(f, err);
	return explain_unknown_denial(f, err);
}

static bool explain_clone(const struct diag_facts *f, struct nsrun_error *err)
{
	const char *why = strerror(f->err_no);

	switch (f->err_no) {
	case ENOSPC:
	case EUSERS:
		return explain_limits(f, err);
	case EPERM:
	case EACCES:
		return explain_clone_denied(f, err);
	case ENOSYS:
		if (f->seccomp_mode == 2)
			return explain_seccomp(f, err);
		return say(err, f, KIND_SETUP, "upgrade the kernel",
			   "cannot create the sandbox: this kernel has no clone3 (Linux 5.3 or later "
			   "is needed; %s: %s)",
			   f->step, why);
	case EAGAIN:
		return say(err, f, KIND_SETUP,
			   "this user runs too many processes (ulimit -u), or nsrun's own cgroup "
			   "reached its pids.max",
			   "cannot create the sandbox's process: %s: %s", f->step, why);
	default:
		return say(err, f, KIND_USERNS, DOCTOR_FIX,
			   "cannot create the sandbox's namespaces: %s: %s", f->step, why);
	}
}

static bool explain_id_map(const struct diag_facts *f, struct nsrun_error *err)
{
	bool gid = strstr(f->step, "gid_map") != NULL;
	const char *map = gid ? f->self_gid_map : f->self_uid_map;
	unsigned id = gid ? f->map_gid : f->map_uid;

	if (f->err_no != EPERM && f->err_no != EACCES)
		return false;
	if (!f->privileged && f->apparmor_restrict == 1)
		return explain_apparmor(f, err);
	if (!f->privileged || map[0] == '\0' || diag_map_has(map, id))
		return false;
	return say(err, f, KIND_USERNS,
		   "map uids and gids 0-65535 into that namespace (e.g. unshare --map-users=0,0,65536 "
		   "--map-groups=0,0,65536, which needs newuidmap), or run nsrun outside it",
		   "cannot map the sandbox user: nsrun runs as root in a user namespace that does not "
		   "map id %u (/proc/self/%s: %s; %s: %s)",
		   id, gid ? "gid_map" : "uid_map", map, f->step, strerror(f->err_no));
}

/* Only steps that need a capability in the new namespaces, never the
 * opening of the caller's own files (their EACCES is the caller's). */
static bool privileged_step(const char *step)
{
	static const char *const prefixes[] = {
		"make /", "mount ", "bind ", "remount ", "mask ", "pivot_root", "detach the old root",
		"set the hostname", "unshare ", "bring loopback up",
	};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(step, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static bool explain_setup(const struct diag_facts *f, struct nsrun_error *err)
{
	const char *marker = container_marker(f);
	bool proc = strncmp(f->step, "mount /proc", 11) == 0;

	if ((f->err_no != EPERM && f->err_no != EACCES) || !privileged_step(f->step))
		return false;
	if (!f->privileged && f->apparmor_restrict == 1)
		return explain_apparmor(f, err);
	if (!marker || !(f->seccomp_mode == 2 || f->err_no == EACCES || proc))
		return false;
	return say(err, f, KIND_USERNS, DIAG_FIX_CONTAINER,
		   "cannot set up the sandbox: the container's %s forbids it (%s exists; %s: %s)",
		   proc ? "masked /proc" : "security profile", marker, f->step, strerror(f->err_no));
}

bool diag_explain(const struct diag_facts *facts, struct nsrun_error *err)
{
	switch (facts->stage) {
	case DIAG_STAGE_CLONE:
		return explain_clone(facts, err);
	case DIAG_STAGE_ID_MAP:
		return explain_id_map(facts, err);
	default:
		return explain_setup(facts, err);
	}
}

/* The reader: everything it reads may be absent, which is a fact too. */

static long read_number(const char *path)
{
	char buf[64], *end;
	long value;

	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return DIAG_UNKNOWN;
	errno = 0;
	value = strtol(buf, &end, 10);
	if (errno != 0 || end == buf)
		return DIAG_UNKNOWN;
	return value;
}

static int read_seccomp_mode(void)
{
	char buf[4096];
	const char *line;

	if (read_file_at(AT_FDCWD, "/proc/self/status", buf, sizeof(buf)) <= 0)
		return -1;
	line = strstr(buf, "\nSeccomp:");
	return line ? atoi(line + strlen("\nSeccomp:")) : -1;
}

#define ROOT_MASK (STATX_INO | STATX_MNT_ID)

/* In a child: setns() into its own mount namespace resets its root to the
 * namespace's root (root only; others get EPERM and this returns -1). */
static int ns_root_identity(struct statx *ret)
{
	int fds[2], status;
	bool ok;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct statx st;
		int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

		if (ns < 0 || setns(ns, CLONE_NEWNS) < 0 || statx(AT_FDCWD, "/", 0, ROOT_MASK, &st) < 0)
			_exit(1);
		_exit(write(fds[1], &st, sizeof(st)) == (ssize_t)sizeof(st) ? 0 : 1);
	}
	close(fds[1]);
	ok = pid > 0 && read(fds[0], ret, sizeof(*ret)) == (ssize_t)sizeof(*ret);
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return ok ? 0 : -1;
}

static bool same_root(const struct statx *a, const struct statx *b)
{
	if (a->stx_dev_major != b->stx_dev_major || a->stx_dev_minor != b->stx_dev_minor ||
	    a->stx_ino != b->stx_ino)
		return false;
	return !(a->stx_mask & b->stx_mask & STATX_MNT_ID) || a->stx_mnt_id == b->stx_mnt_id;
}

/* The kernel refuses user namespaces when / is not the mount namespace's
 * root.  Compared with that root (or, failing that, with pid 1's), mount
 * id included, so a bind-mounted copy of / used as a chroot counts too. */
static int read_chrooted(void)
{
	struct statx root, other;

	if (statx(AT_FDCWD, "/", 0, ROOT_MASK, &root) < 0)
		return -1;
	if (ns_root_identity(&other) == 0 ||
	    statx(AT_FDCWD, "/proc/1/root", 0, ROOT_MASK, &other) == 0)
		return !same_root(&root, &other);
	return -1;
}

/* "         0          0 4294967295\n" -> "0 0 4294967295" */
static void read_map(const char *path, char *buf, size_t size)
{
	char raw[512];
	size_t n = 0;

	buf[0] = '\0';
	if (read_file_at(AT_FDCWD, path, raw, sizeof(raw)) <= 0)
		return;
	for (const char *p = raw; *p && n + 2 < size; p++) {
		bool space = *p == ' ' || *p == '\t' || *p == '\n';

		if (!space)
			buf[n++] = *p;
		else if (n > 0 && buf[n - 1] != ' ' && buf[n - 1] != ',')
			buf[n++] = *p == '\n' ? ',' : ' ';
	}
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == ','))
		n--;
	buf[n] = '\0';
}

void diag_read_facts(struct diag_facts *facts)
{
	char path[64];

	for (int i = 0; i < DIAG_NS_COUNT; i++) {
		snprintf(path, sizeof(path), "/proc/sys/user/max_%s_namespaces", ns_sysctl[i]);
		facts->max_ns[i] = read_number(path);
	}
	facts->unprivileged_userns_clone = read_number("/proc/sys/kernel/unprivileged_userns_clone");
	facts->apparmor_restrict =
		read_number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	facts->seccomp_mode = read_seccomp_mode();
	facts->dockerenv = access("/.dockerenv", F_OK) == 0;
	facts->containerenv = access("/run/.containerenv", F_OK) == 0;
	facts->chrooted = read_chrooted();
	facts->privileged = geteuid() == 0;
	facts->map_uid = facts->privileged ? USERNS_ROOT_HOST_ID : (unsigned)geteuid();
	facts->map_gid = facts->privileged ? USERNS_ROOT_HOST_ID : (unsigned)getegid();
	read_map("/proc/self/uid_map", facts->self_uid_map, sizeof(facts->self_uid_map));
	read_map("/proc/self/gid_map", facts->self_gid_map, sizeof(facts->self_gid_map));
}

static void failure_facts(struct diag_facts *facts, enum diag_stage stage, int err_no,
			  const char *step)
{
	memset(facts, 0, sizeof(*facts));
	diag_read_facts(facts);
	facts->stage = stage;
	facts->err_no = err_no;
	if (snprintf(facts->step, sizeof(facts->step), "%s", step) >= (int)sizeof(facts->step))
		facts->step[sizeof(facts->step) - 2] = '~'; /* cut: a step name is context only */
}

int diag_clone_failed(int err_no, const char *step, struct nsrun_error *err)
{
	struct diag_facts facts;

	failure_facts(&facts, DIAG_STAGE_CLONE, err_no, step);
	diag_explain(&facts, err);
	return -(err_no > 0 ? err_no : EINVAL);
}

bool diag_explain_failure(enum diag_stage stage, int err_no, const char *step,
			  struct nsrun_error *err)
{
	struct diag_facts facts;

	failure_facts(&facts, stage, err_no, step);
	return diag_explain(&facts, err);
}

bool diag_explain_error(enum diag_stage stage, struct nsrun_error *err)
{
	char step[sizeof(err->msg)];
	const char *sep = NULL;
	bool denied = err->code == EPERM || err->code == EACCES;

	for (const char *p = strstr(err->msg, ": "); p; p = strstr(p + 2, ": "))
		sep = p;
	if (!sep || err->code <= 0)
		return false;
	snprintf(step, sizeof(step), "%.*s", (int)(sep - err->msg), err->msg);
	if (diag_explain_failure(stage, err->code, step, err))
		return true;
	if (stage == DIAG_STAGE_ID_MAP && denied)
		nsrun_err_kind(err, KIND_USERNS);
	return false;
}
