#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom"};

int mount_target_is_valid(const char *target)
{
	const char *p;

	if (!target || target[0] != '/' || target[1] == '\0' || strlen(target) >= PATH_MAX / 2)
		return 0;
	for (p = target; *p; p++) {
		if (p[0] == '/' && (p[1] == '/' || p[1] == '\0'))
			return 0;
		if (p[0] == '/' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return 0;
		if (p[0] == '/' && p[1] == '.' && p[2] == '.' && (p[3] == '/' || p[3] == '\0'))
			return 0;
	}
	return 1;
}

/* Flags a remount inside a user namespace must keep: the kernel locks them
 * on mounts inherited from a more privileged namespace (EPERM otherwise). */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long flags = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	return flags;
}

static int remount_ro(const char *path, unsigned long extra, struct nsrun_error *err)
{
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | extra;

	if (mount(NULL, path, NULL, flags | locked_flags(path), NULL) < 0)
		return nsrun_err_sys(err, "remount %s read-only", path);
	return 0;
}

static int bind_ro(const char *source, const char *target, struct nsrun_error *err)
{
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return nsrun_err_sys(err, "bind %s", target);
	return remount_ro(target, MS_NODEV, err);
}

static int make_mount_target(const char *path, int directory, struct nsrun_error *err)
{
	int fd;

	if (directory) {
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return nsrun_err_sys(err, "create mount point %s", path);
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return nsrun_err_sys(err, "create mount point %s", path);
	close(fd);
	return 0;
}

/* The script is opened again here, in the sandbox's own mount namespace (a
 * bind source must belong to it), and must still be the file the
 * supervisor checked: a symlink swapped in meanwhile is refused. */
int mount_open_sources_in_child(struct mount_plan *plan, struct nsrun_error *err)
{
	struct stat st;

	plan->script_fd = open(plan->script, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (plan->script_fd < 0)
		return nsrun_err_sys(err, "open script %s", plan->script);
	if (fstat(plan->script_fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_dev != plan->script_dev || st.st_ino != plan->script_ino)
		return nsrun_err(err, EPERM, "script %s changed while the sandbox was set up",
				 plan->script);
	for (size_t i = 0; i < plan->n_binds; i++) {
		plan->bind_fds[i] = open(plan->binds[i].source, O_PATH | O_CLOEXEC);
		if (plan->bind_fds[i] < 0)
			return nsrun_err_sys(err, "--bind-ro source %s", plan->binds[i].source);
	}
	return 0;
}

static void fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* Targets under /app live on nsrun's own tmpfs: make their directories. */
static int make_parents(char *target, size_t from, struct nsrun_error *err)
{
	for (char *slash = strchr(target + from, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		int r = mkdir(target, 0755) < 0 && errno != EEXIST ? -errno : 0;

		*slash = '/';
		if (r < 0) {
			errno = -r;
			return nsrun_err_sys(err, "create the directories of mount point %s", target);
		}
	}
	return 0;
}

static int prepare_bind_target(const struct mount_plan *plan, const struct nsrun_bind *b,
			       const struct stat *source, char *target, size_t size,
			       struct nsrun_error *err)
{
	size_t app = strlen(plan->rootfs) + strlen("/app/");
	int r;

	snprintf(target, size, "%s%s", plan->rootfs, b->target);
	if (strncmp(b->target, "/app/", 5) != 0) {
		if (access(target, F_OK) < 0)
			return nsrun_err(err, ENOENT, "--bind-ro %s:%s: the target does not exist in the "
						      "rootfs (only targets under /app are created)",
					 b->source, b->target);
		return 0;
	}
	r = make_parents(target, app, err);
	if (r == 0)
		r = make_mount_target(target, S_ISDIR(source->st_mode), err);
	return r;
}

static int mount_binds(const struct mount_plan *plan, struct nsrun_error *err)
{
	char target[PATH_MAX], source[64];
	struct stat st;

	for (size_t i = 0; i < plan->n_binds; i++) {
		const struct nsrun_bind *b = &plan->binds[i];
		int r;

		if (fstat(plan->bind_fds[i], &st) < 0)
			return nsrun_err_sys(err, "--bind-ro source %s", b->source);
		r = prepare_bind_target(plan, b, &st, target, sizeof(target), err);
		if (r < 0)
			return r;
		fd_path(plan->bind_fds[i], source, sizeof(source));
		r = bind_ro(source, target, err);
		if (r < 0)
			return nsrun_err_wrap(err, "--bind-ro %s:%s", b->source, b->target);
	}
	return 0;
}

/* /app is a small tmpfs so mount points for the script and extra files can
 * be made without touching the shared rootfs; it is made read-only after. */
static int mount_app(const struct mount_plan *plan, struct nsrun_error *err)
{
	char app[PATH_MAX], script[PATH_MAX], source[64];
	int r;

	snprintf(app, sizeof(app), "%s/app", plan->rootfs);
	snprintf(script, sizeof(script), "%s%s", plan->rootfs, MOUNT_SCRIPT_TARGET);
	if (mount("tmpfs", app, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=256,mode=0755") < 0)
		return nsrun_err_sys(err, "mount tmpfs on /app");
	fd_path(plan->script_fd, source, sizeof(source));
	r = make_mount_target(script, 0, err);
	if (r == 0)
		r = bind_ro(source, script, err);
	if (r == 0)
		r = mount_binds(plan, err);
	if (r == 0)
		r = remount_ro(app, MS_NODEV, err);
	return r;
}

/* multiprocessing's locks and queues need POSIX shared memory.  As under
 * docker --read-only, /dev/shm stays writable; its pages are charged to the
 * writer's memory cgroup, so it cannot get around the memory limit. */
static int mount_shm(const char *dev, struct nsrun_error *err)
{
	char shm[PATH_MAX + 8], options[64];

	snprintf(shm, sizeof(shm), "%s/shm", dev);
	snprintf(options, sizeof(options), "size=%llu,mode=1777",
		 (unsigned long long)MOUNT_SHM_BYTES);
	if (mkdir(shm, 01777) < 0)
		return nsrun_err_sys(err, "create /dev/shm");
	if (mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options) < 0)
		return nsrun_err_sys(err, "mount /dev/shm");
	return 0;
}

static int mount_dev(const char *rootfs, struct nsrun_error *err)
{
	char dev[PATH_MAX], node[PATH_MAX + 16], host[64];
	static const char *const links[][2] = {
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	};
	int r;

	snprintf(dev, sizeof(dev), "%s/dev", rootfs);
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755") < 0)
		return nsrun_err_sys(err, "mount tmpfs on /dev");
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		snprintf(node, sizeof(node), "%s/%s", dev, dev_nodes[i]);
		snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
		r = make_mount_target(node, 0, err);
		if (r == 0 && mount(host, node, NULL, MS_BIND, NULL) < 0)
			r = nsrun_err_sys(err, "bind %s", host);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(node, sizeof(node), "%s/%s", dev, links[i][1]);
		if (symlink(links[i][0], node) < 0)
			return nsrun_err_sys(err, "symlink /dev/%s", links[i][1]);
	}
	r = mount_shm(dev, err);
	if (r < 0)
		return r;
	return remount_ro(dev, MS_NOEXEC, err);
}

/* Only on request: the default is a read-only /tmp, as docker --read-only. */
static int mount_tmp(const char *rootfs, uint64_t size, struct nsrun_error *err)
{
	char tmp[PATH_MAX], options[64];

	if (size == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/tmp", rootfs);
	snprintf(options, sizeof(options), "size=%llu,mode=1777", (unsigned long long)size);
	if (mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0)
		return nsrun_err_sys(err, "mount tmpfs on /tmp");
	return 0;
}

/* Entries of /proc that show the host rather than the sandbox, hidden as
 * Docker hides them (its default maskedPaths/readonlyPaths), plus the
 * kernel's symbol and module addresses, which are real (a KASLR leak) on
 * hosts with kptr_restrict=0 and a permissive perf_event_paranoid.
 * Files get /dev/null bound over them, directories an empty read-only
 * tmpfs; names this kernel does not have are skipped. */
static const char *const proc_masked[] = {
	"kcore",	 "keys",	  "key-users",	"timer_list", "timer_stats",
	"sched_debug",	 "latency_stats", "sysrq-trigger", "kpagecount", "kpageflags",
	"kpagecgroup",	 "kallsyms",	  "modules",	"acpi",	      "asound",
	"scsi",
};
/* Host-wide kernel settings and hardware: readable, never writable. */
static const char *const proc_read_only[] = {"sys", "irq", "bus", "fs"};

static int mask_proc_entry(const char *path, struct nsrun_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : nsrun_err_sys(err, "mask %s", path);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,nr_inodes=2,mode=0555") < 0)
			return nsrun_err_sys(err, "mask %s", path);
		return 0;
	}
	/* The host's /dev/null: still reachable, as pivot_root comes later. */
	if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
		return nsrun_err_sys(err, "mask %s", path);
	return 0;
}

static int read_only_proc_entry(const char *path, struct nsrun_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : nsrun_err_sys(err, "make %s read-only", path);
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return nsrun_err_sys(err, "bind %s", path);
	return remount_ro(path, MS_NODEV | MS_NOEXEC, err);
}

static int harden_proc(const char *proc, struct nsrun_error *err)
{
	char path[PATH_MAX + 32];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(proc_masked); i++) {
		snprintf(path, sizeof(path), "%s/%s", proc, proc_masked[i]);
		r = mask_proc_entry(path, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(proc_read_only); i++) {
		snprintf(path, sizeof(path), "%s/%s", proc, proc_read_only[i]);
		r = read_only_proc_entry(path, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* hidepid=invisible hides every process the viewer may not ptrace: the
 * sandbox's init is not dumpable, so the script cannot see it at all, and
 * with it its /proc/1/exe (the host's nsrun binary, since init is forked
 * from the supervisor, never exec'd), cmdline and environ, which are the
 * supervisor's.  The script's own processes stay visible.  Kernels before
 * 5.8 only know the numeric form. */
static int mount_proc(const char *rootfs, struct nsrun_error *err)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char proc[PATH_MAX];

	snprintf(proc, sizeof(proc), "%s/proc", rootfs);
	if (mount("proc", proc, "proc", flags, "hidepid=invisible") < 0 &&
	    (errno != EINVAL || mount("proc", proc, "proc", flags, "hidepid=2") < 0))
		return nsrun_err_sys(err, "mount /proc");
	return harden_proc(proc, err);
}

/* pivot_root(".", ".") stacks the old root under the new one; detaching
 * it leaves nothing of the host reachable. */
static int enter_rootfs(const char *rootfs, struct nsrun_error *err)
{
	if (chdir(rootfs) < 0)
		return nsrun_err_sys(err, "chdir %s", rootfs);
	if (sys_pivot_root(".", ".") < 0)
		return nsrun_err_sys(err, "pivot_root %s", rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return nsrun_err_sys(err, "detach the old root");
	if (chdir("/") < 0)
		return nsrun_err_sys(err, "chdir /");
	return remount_ro("/", MS_NODEV, err);
}

int mount_in_child(const struct mount_plan *plan, struct nsrun_error *err)
{
	int r;

	/* First of all: nothing mounted below may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return nsrun_err_sys(err, "make / private");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(plan->rootfs, plan->rootfs, NULL, MS_BIND, NULL) < 0)
		return nsrun_err_sys(err, "bind rootfs %s", plan->rootfs);
	r = mount_app(plan, err);
	if (r == 0)
		r = mount_dev(plan->rootfs, err);
	if (r == 0)
		r = mount_tmp(plan->rootfs, plan->tmpfs_bytes, err);
	/* proc can only be mounted while the host's fully visible /proc is still reachable. */
	if (r == 0)
		r = mount_proc(plan->rootfs, err);
	if (r == 0)
		r = enter_rootfs(plan->rootfs, err);
	return r;
}
