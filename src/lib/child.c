#include "child.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "error.h"
#include "net.h"
#include "sync.h"
#include "util.h"

_Noreturn static void child_fail(int sync_fd, const struct nsrun_error *err, int exit_code)
{
	struct sync_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = SYNC_ERROR;
	msg.code = err->code;
	msg.error = *err;
	sync_send(sync_fd, &msg);
	_exit(exit_code);
}

static int reset_signals(struct nsrun_error *err)
{
	sigset_t none;

	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP and RT gaps */
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return nsrun_err_sys(err, "reset the signal mask");
	return 0;
}

static int setup_stdio(const int stdio[3], struct nsrun_error *err)
{
	for (int i = 0; i < 3; i++)
		if (dup2(stdio[i], i) < 0)
			return nsrun_err_sys(err, "set up fd %d", i);
	return 0;
}

static int set_rlimit(int resource, rlim_t soft, rlim_t hard, const char *what,
		      struct nsrun_error *err)
{
	struct rlimit limit = {soft, hard};

	if (setrlimit(resource, &limit) < 0)
		return nsrun_err_sys(err, "set the %s limit", what);
	return 0;
}

/* The largest file the script can write anywhere writable: /dev/shm's
 * size, or the --tmpfs size when that is larger. */
static rlim_t file_size_limit(uint64_t tmpfs_bytes)
{
	return (rlim_t)(tmpfs_bytes > MOUNT_SHM_BYTES ? tmpfs_bytes : MOUNT_SHM_BYTES);
}

static int set_rlimits(const struct child_limits *limits, uint64_t tmpfs_bytes,
		       struct nsrun_error *err)
{
	/* RLIMIT_CPU counts whole seconds: round up, and SIGKILL one second
	 * after the SIGXCPU in case the script catches it. */
	rlim_t cpu_s = (rlim_t)((limits->cpu_ms + 999) / 1000);
	rlim_t fsize = file_size_limit(tmpfs_bytes);
	int r;

	r = set_rlimit(RLIMIT_CORE, 0, 0, "core dump", err);
	/* Python ignores SIGXFSZ, so a write past the limit fails with EFBIG. */
	if (r == 0)
		r = set_rlimit(RLIMIT_FSIZE, fsize, fsize, "file size", err);
	/* Inherited from the caller otherwise: no real-time priority and no
	 * raised nice value, which would let the script starve the host. */
	if (r == 0)
		r = set_rlimit(RLIMIT_RTPRIO, 0, 0, "real-time priority", err);
	if (r == 0)
		r = set_rlimit(RLIMIT_NICE, 0, 0, "nice", err);
	/* Counted per user namespace, so this bounds the sandbox alone; the
	 * cgroup's pids.max is the primary limit. */
	if (r == 0)
		r = set_rlimit(RLIMIT_NPROC, limits->pids, limits->pids, "process", err);
	if (r == 0)
		r = set_rlimit(RLIMIT_NOFILE, limits->nofile, limits->nofile, "open files", err);
	if (r == 0 && cpu_s)
		r = set_rlimit(RLIMIT_CPU, cpu_s, cpu_s + 1, "CPU time", err);
	return r;
}

/* The workload, pid 2.  The last four steps keep their order: no_new_privs
 * (in caps_drop), close-on-exec on every other fd, seccomp, execve, so the
 * filter has to allow nothing of nsrun's own setup. */
_Noreturn static void workload_main(const struct child_plan *plan)
{
	struct nsrun_error err;
	int r;

	/* Signal handlers and mask come from init, which reset them all. */
	memset(&err, 0, sizeof(err));
	r = 0;
	if (setsid() < 0) /* no controlling terminal to inject into (TIOCSTI) */
		r = nsrun_err_sys(&err, "setsid");
	if (r == 0)
		r = setup_stdio(plan->stdio, &err);
	if (r == 0 && chdir("/app") < 0)
		r = nsrun_err_sys(&err, "chdir /app");
	if (r == 0)
		r = set_rlimits(&plan->limits, plan->mounts.tmpfs_bytes, &err);
	if (r == 0)
		r = caps_drop_in_child(USERNS_SANDBOX_ID, USERNS_SANDBOX_ID,
				       plan->ids.drop_supplementary_groups, &err);
	if (r == 0 && fd_cloexec_from(3) < 0)
		r = nsrun_err_sys(&err, "mark fds close-on-exec");
	if (r < 0)
		child_fail(plan->sync_fd, &err, NSRUN_EXIT_SETUP);
	sync_send_type(plan->sync_fd, SYNC_EXECUTING, 0);
	r = sc_install(&plan->seccomp, &err);
	if (r < 0)
		child_fail(plan->sync_fd, &err, NSRUN_EXIT_SETUP);
	execve(CHILD_PYTHON, plan->argv, plan->envp);
	r = errno;
	nsrun_err_sys(&err, "execute %s", CHILD_PYTHON);
	child_fail(plan->sync_fd, &err, r == ENOENT ? NSRUN_EXIT_NOT_FOUND : NSRUN_EXIT_CANNOT_EXEC);
}

static void close_all_but(int keep)
{
	if (keep > 0)
		syscall(SYS_close_range, 0U, (unsigned)keep - 1, 0U);
	syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U);
}

/* Pid 1 (not dumpable, see child_init_main) keeps only the sync socket,
 * reaps every orphan, and leaves as soon as the workload has exited: its
 * exit makes the kernel kill every process left in the namespace. */
_Noreturn static void init_reap(int sync_fd, pid_t workload)
{
	int status = 0;

	close_all_but(sync_fd);
	for (;;) {
		pid_t pid = waitpid(-1, &status, 0);

		if (pid == workload)
			break;
		if (pid < 0 && errno != EINTR)
			_exit(NSRUN_EXIT_SETUP);
	}
	sync_send_type(sync_fd, SYNC_EXIT, status);
	_exit(0);
}

/* The kernel clears PR_SET_PDEATHSIG on every change of the effective or
 * file-system ids, so the signal armed at the start is gone once init has
 * become the sandbox user: without this, a supervisor killed by SIGKILL
 * left init and the script running forever.  Armed again when the ids are
 * final, then the sync socket tells whether the supervisor died before. */
static int arm_parent_death_signal(int sync_fd, struct nsrun_error *err)
{
	struct pollfd peer = {.fd = sync_fd, .events = POLLRDHUP};

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return nsrun_err_sys(err, "set the parent-death signal");
	if (poll(&peer, 1, 0) > 0 && (peer.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		_exit(NSRUN_EXIT_SETUP); /* nobody is left to report to */
	return 0;
}

/* Writing "0" moves the calling process itself, which the kernel does
 * without waiting for an RCU grace period, unlike the supervisor writing our
 * pid.  The fds were opened by the supervisor, whose credentials the kernel
 * checks.  Done first after GO, before any setup, so all the sandbox
 * allocates is charged inside; closed at once, so the workload never holds
 * them. */
static int join_cgroups(struct child_plan *plan, struct nsrun_error *err)
{
	for (int i = 0; i < plan->n_cgroup_fds; i++) {
		if (write(plan->cgroup_fds[i], "0", 1) != 1)
			return nsrun_err_sys(err, "move the sandbox into its cgroup");
		close(plan->cgroup_fds[i]);
		plan->cgroup_fds[i] = -1;
	}
	return 0;
}

static int init_setup(struct child_plan *plan, struct nsrun_error *err)
{
	struct sync_msg go;
	int r;

	r = sync_recv(plan->sync_fd, &go);
	if (r < 0 || go.type != SYNC_GO)
		_exit(NSRUN_EXIT_SETUP); /* the supervisor is gone or gave up */
	r = join_cgroups(plan, err);
	if (r < 0)
		return r;
	/* Only now, inside its own cgroup, so the namespace is rooted there. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return nsrun_err_sys(err, "unshare the cgroup namespace");
	r = mount_open_sources_in_child(&plan->mounts, err);
	if (r < 0)
		return r;
	/* Become the sandbox user now: files made for mount points need a
	 * mapped owner.  No uid 0 is mapped in this namespace, so the change
	 * keeps the capabilities the setup below still needs. */
	r = caps_become_sandbox_user(USERNS_SANDBOX_ID, USERNS_SANDBOX_ID,
				     plan->ids.drop_supplementary_groups, err);
	if (r < 0)
		return r;
	if (sethostname(CHILD_HOSTNAME, strlen(CHILD_HOSTNAME)) < 0)
		return nsrun_err_sys(err, "set the hostname");
	r = mount_in_child(&plan->mounts, err);
	if (r == 0)
		r = net_loopback_up_in_child(err);
	if (r == 0)
		r = arm_parent_death_signal(plan->sync_fd, err);
	return r;
}

_Noreturn void child_init_main(struct child_plan *plan)
{
	struct nsrun_error err;
	pid_t workload;

	memset(&err, 0, sizeof(err));
	/* Inside a new pid namespace getppid() is 0, so the supervisor's death
	 * is seen through this signal and EOF on the sync socket. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* The kernel drops a signal sent to a namespace's init from inside only
	 * when init has no handler for it.  Handlers inherited from the caller
	 * (an embedder's, or AddressSanitizer's SIGSEGV handler) would let the
	 * script run them in pid 1 with kill(1, sig), and kill the sandbox. */
	if (reset_signals(&err) < 0)
		child_fail(plan->sync_fd, &err, NSRUN_EXIT_SETUP);
	if (init_setup(plan, &err) < 0)
		child_fail(plan->sync_fd, &err, NSRUN_EXIT_SETUP);
	/* Before the workload exists: from its first instruction it can no
	 * more ptrace, read or even see (hidepid, see mount.c) this process,
	 * whose memory, /proc/1/exe and environ are the supervisor's.  The
	 * workload inherits the flag, and its execve of Python resets it. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	workload = fork();
	if (workload < 0) {
		nsrun_err_sys(&err, "fork the workload");
		child_fail(plan->sync_fd, &err, NSRUN_EXIT_SETUP);
	}
	if (workload == 0)
		workload_main(plan);
	init_reap(plan->sync_fd, workload);
}
