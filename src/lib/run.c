/* nsrun_run(): the supervisor.  Plans everything before clone (paths,
 * policy, BPF, cgroup, id maps), releases the sandbox, watches it, and
 * cleans up whatever happened. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "child.h"
#include "config.h"
#include "diagnose.h"
#include "docker.h"
#include "error.h"
#include "monitor.h"
#include "policy.h"
#include "policy_cache.h"
#include "result.h"
#include "script.h"
#include "sync.h"
#include "util.h"

#define CLONE_SANDBOX_FLAGS                                                                          \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)

struct run_ctx {
	const struct nsrun_config *cfg;
	char rootfs[PATH_MAX];
	struct child_plan plan;
	struct cg_run cgroup;
	bool have_cgroup;
	int sync[2], in[2], out[2], err[2];
	pid_t pid;
	int pidfd;
	uint64_t start_us;
	uint64_t ended_us; /* the script's end, as the supervisor learnt it */
	bool policy_cached; /* the seccomp program was read from the policy cache */
};

static int rootfs_error(struct nsrun_error *err, const char *fmt, const char *a, const char *b)
{
	nsrun_err_sys(err, fmt, a, b);
	return nsrun_err_hint(err, "build the rootfs with scripts/build-rootfs, or point --rootfs at one");
}

static int check_rootfs(struct run_ctx *ctx, struct nsrun_error *err)
{
	static const char *const needed[] = {"usr/bin/python3", "app", "proc", "dev", "tmp"};
	int dirfd, missing = -1;

	const char *rootfs = ctx->cfg->rootfs ? ctx->cfg->rootfs : NSRUN_DEFAULT_ROOTFS;

	if (!realpath(rootfs, ctx->rootfs))
		return rootfs_error(err, "rootfs %s%s", rootfs, "");
	dirfd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return rootfs_error(err, "rootfs %s%s", ctx->rootfs, "");
	for (size_t i = 0; i < ARRAY_SIZE(needed) && missing < 0; i++)
		if (faccessat(dirfd, needed[i], i == 0 ? X_OK : F_OK, 0) < 0)
			missing = (int)i;
	close(dirfd);
	if (missing >= 0)
		return rootfs_error(err, "rootfs %s: /%s", ctx->rootfs, needed[missing]);
	ctx->plan.mounts.rootfs = ctx->rootfs;
	return 0;
}

/* A bind source given as a symlink could point anywhere on the host (a
 * service may build these paths from its users' input): refused, as for
 * the script. */
static int check_binds(const struct nsrun_config *cfg, struct nsrun_error *err)
{
	struct stat st;

	for (size_t i = 0; i < cfg->n_binds; i++) {
		const char *source = cfg->binds[i].source;

		if (lstat(source, &st) < 0)
			return nsrun_err_sys(err, "--bind-ro source %s", source);
		if (S_ISLNK(st.st_mode))
			return nsrun_err(err, ELOOP, "--bind-ro source %s is a symbolic link; nsrun does "
						     "not follow them", source);
	}
	return 0;
}

/* As root, the sandbox's user is nobody on the host (see userns.h). */
static int check_script(struct run_ctx *ctx, struct nsrun_error *err)
{
	const char *path = ctx->cfg->script;
	struct stat st;

	if (script_check(path, geteuid() == 0, USERNS_ROOT_HOST_ID, USERNS_ROOT_HOST_ID, &st, err) < 0)
		return -(err->code ? err->code : EINVAL);
	ctx->plan.mounts.script = path;
	ctx->plan.mounts.script_dev = st.st_dev;
	ctx->plan.mounts.script_ino = st.st_ino;
	ctx->plan.mounts.binds = ctx->cfg->binds;
	ctx->plan.mounts.n_binds = ctx->cfg->n_binds;
	ctx->plan.mounts.script_fd = -1;
	ctx->plan.mounts.bind_fds = calloc(ctx->cfg->n_binds + 1, sizeof(int));
	if (!ctx->plan.mounts.bind_fds)
		return nsrun_err(err, ENOMEM, "out of memory");
	return 0;
}

static size_t count_strings(const char *const *list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	return n;
}

static int build_command(struct run_ctx *ctx, struct nsrun_error *err)
{
	static const char *const head[] = {"python3", "-u", MOUNT_SCRIPT_TARGET};
	size_t n_args = count_strings(ctx->cfg->args), n_env = count_strings(ctx->cfg->env);
	char **argv = calloc(ARRAY_SIZE(head) + n_args + 1, sizeof(char *));
	char **envp = calloc(config_base_env_count + n_env + 1, sizeof(char *));

	ctx->plan.argv = argv;
	ctx->plan.envp = envp;
	if (!argv || !envp)
		return nsrun_err(err, ENOMEM, "out of memory");
	memcpy(argv, head, sizeof(head));
	for (size_t i = 0; i < n_args; i++)
		argv[ARRAY_SIZE(head) + i] = (char *)ctx->cfg->args[i];
	memcpy(envp, config_base_env, config_base_env_count * sizeof(char *));
	for (size_t i = 0; i < n_env; i++) {
		const char *entry = ctx->cfg->env[i];

		if (!strchr(entry, '=') || entry[0] == '=')
			return nsrun_err(err, EINVAL, "environment entry '%s' is not NAME=VALUE", entry);
		envp[config_base_env_count + i] = (char *)entry;
	}
	return 0;
}

/* The policy file is read once: the cache compares these bytes, and on a
 * miss the parser gets the same ones, so what is stored is what they
 * compile to.  A cache problem of any kind only means compiling. */
static int compile_policy(struct run_ctx *ctx, struct nsrun_error *err)
{
	const char *path = ctx->cfg->seccomp_policy ? ctx->cfg->seccomp_policy : NSRUN_DEFAULT_POLICY;
	const char *cache = config_policy_cache_dir(ctx->cfg);
	struct nsrun_policy policy;
	struct nsrun_error miss; /* why the cache did not serve: no concern of the run's */
	struct pc_key key = {0}; /* not read before pc_key_native() fills it */
	char *text = NULL;
	size_t len = 0;
	int r;

	r = pol_read_file(path, &text, &len, err);
	if (r < 0)
		return r;
	if (cache && pc_key_native(&key, text, len, &miss) < 0)
		cache = NULL;
	if (cache && pc_load(cache, &key, &ctx->plan.seccomp, &miss) == 0) {
		ctx->policy_cached = true;
		free(text);
		return 0;
	}
	r = pol_load_buffer(text, len, path, &policy, err);
	if (r == 0)
		r = sc_compile(&policy, &ctx->plan.seccomp, err);
	if (r == 0 && cache)
		pc_store(cache, &key, &ctx->plan.seccomp, &miss);
	pol_free(&policy);
	free(text);
	return r;
}

static int setup_cgroup(struct run_ctx *ctx, struct nsrun_result *res, struct nsrun_error *err)
{
	struct cg_limits limits = {ctx->cfg->memory_bytes, ctx->cfg->pids_limit};
	int r = cg_create(&limits, &ctx->cgroup, err);

	if (r == 0) {
		ctx->have_cgroup = true;
		r = cg_open_self_attach(&ctx->cgroup, ctx->plan.cgroup_fds, err);
		if (r < 0)
			return r;
		ctx->plan.n_cgroup_fds = r;
		res->cgroup_mode = ctx->cgroup.memory_version == CG_V2 ? NSRUN_CGROUP_V2 : NSRUN_CGROUP_V1;
		return 0;
	}
	if (!ctx->cfg->allow_no_memory_limit)
		return r;
	/* Opted out explicitly: reported through cgroup_mode NONE. */
	res->cgroup_mode = NSRUN_CGROUP_NONE;
	memset(err, 0, sizeof(*err));
	return 0;
}

static int open_channels(struct run_ctx *ctx, struct nsrun_error *err)
{
	/* stdin is a socket so a write to an exited sandbox is EPIPE, not SIGPIPE. */
	if (sync_pair(ctx->sync) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctx->in) < 0 ||
	    pipe2(ctx->out, O_CLOEXEC) < 0 || pipe2(ctx->err, O_CLOEXEC) < 0)
		return nsrun_err_sys(err, "create the sandbox's channels");
	ctx->plan.sync_fd = ctx->sync[1];
	ctx->plan.stdio[0] = ctx->in[1];
	ctx->plan.stdio[1] = ctx->out[1];
	ctx->plan.stdio[2] = ctx->err[1];
	shutdown(ctx->in[1], SHUT_WR);
	fcntl(ctx->out[0], F_SETFL, O_NONBLOCK);
	fcntl(ctx->err[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_child_ends(struct run_ctx *ctx)
{
	close_fd(&ctx->sync[1]);
	close_fd(&ctx->in[1]);
	close_fd(&ctx->out[1]);
	close_fd(&ctx->err[1]);
}

/* On v2 the sandbox starts inside its group (CLONE_INTO_CGROUP); where the
 * kernel refuses that, it is cloned as usual and moved there before GO. */
static pid_t clone_into_cgroup(struct run_ctx *ctx)
{
	int cgroup_fd = ctx->have_cgroup ? cg_open_clone_target(&ctx->cgroup) : -1;
	pid_t pid = -1;

	if (cgroup_fd >= 0) {
		pid = sys_clone3_into(CLONE_SANDBOX_FLAGS, &ctx->pidfd, cgroup_fd);
		if (pid > 0)
			cg_cloned_into(&ctx->cgroup);
		close(cgroup_fd); /* in the child too: it needs no handle on its group */
	}
	if (pid < 0)
		pid = sys_clone3(CLONE_SANDBOX_FLAGS, &ctx->pidfd);
	return pid;
}

static int clone_sandbox(struct run_ctx *ctx, struct nsrun_error *err)
{
	ctx->pid = clone_into_cgroup(ctx);
	if (ctx->pid < 0)
		return diag_clone_failed(errno, "clone3", err);
	if (ctx->pid == 0) {
		close(ctx->sync[0]);
		close(ctx->in[0]);
		close(ctx->out[0]);
		close(ctx->err[0]);
		child_init_main(&ctx->plan);
	}
	close_child_ends(ctx);
	return 0;
}

/* The child waits for GO, so it is in its cgroup and has its id maps
 * before it runs a single step of setup, let alone the script. */
static int release_sandbox(struct run_ctx *ctx, struct nsrun_error *err)
{
	int r = 0;

	if (ctx->have_cgroup)
		r = cg_attach(&ctx->cgroup, ctx->pid, err);
	if (r == 0 && (r = userns_write_maps(ctx->pid, &ctx->plan.ids, err)) < 0)
		diag_explain_error(DIAG_STAGE_ID_MAP, err);
	if (r == 0 && sync_send_type(ctx->sync[0], SYNC_GO, 0) < 0)
		r = nsrun_err_sys(err, "release the sandbox");
	if (r == 0)
		fcntl(ctx->sync[0], F_SETFL, O_NONBLOCK);
	return r;
}

static uint64_t timeval_ms(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* The raw waitid also returns init's rusage, which includes every process
 * of the sandbox: init reaped them all, the kernel zapping included. */
static int reap_init(struct run_ctx *ctx, struct nsrun_result *res)
{
	struct rusage usage;
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	memset(&usage, 0, sizeof(usage));
	while (syscall(SYS_waitid, P_PIDFD, ctx->pidfd, &info, WEXITED, &usage) < 0)
		if (errno != EINTR)
			return W_EXITCODE(0, SIGKILL); /* reaped elsewhere (SIGCHLD ignored) */
	if (res) {
		res->user_ms = timeval_ms(usage.ru_utime);
		res->sys_ms = timeval_ms(usage.ru_stime);
		res->cpu_ms = res->user_ms + res->sys_ms;
	}
	if (info.si_code == CLD_EXITED)
		return W_EXITCODE(info.si_status, 0);
	return W_EXITCODE(0, info.si_status);
}

static void kill_and_reap(struct run_ctx *ctx)
{
	if (ctx->pid <= 0)
		return;
	sys_pidfd_send_signal(ctx->pidfd, SIGKILL);
	reap_init(ctx, NULL);
	ctx->pid = 0;
}

/* SIGKILL to the sandbox's init empties its PID namespace; on v2 the
 * cgroup's kill switch takes every process of the group at once as well. */
static void kill_native_sandbox(struct monitor *mon, void *data)
{
	const struct run_ctx *ctx = data;

	if (ctx->have_cgroup)
		cg_kill(&ctx->cgroup);
	sys_pidfd_send_signal(mon->pidfd, SIGKILL);
}

static void init_monitor(struct run_ctx *ctx, struct monitor *mon)
{
	const struct nsrun_config *cfg = ctx->cfg;

	memset(mon, 0, sizeof(*mon));
	mon->epfd = mon->timer_fd = -1;
	mon->pidfd = ctx->pidfd;
	mon->kill_sandbox = kill_native_sandbox;
	mon->kill_data = ctx;
	mon->sync_fd = ctx->sync[0];
	mon->cancel_fd = cfg->cancel_fd;
	mon->timeout_ms = cfg->timeout_ms;
	uint64_t limit = cfg->output_limit ? cfg->output_limit : UINT64_MAX;

	mon->out[0] = (struct mon_output){.fd = ctx->out[0], .sink_fd = cfg->stdout_fd, .limit = limit};
	mon->out[1] = (struct mon_output){.fd = ctx->err[0], .sink_fd = cfg->stderr_fd, .limit = limit};
	mon->in.src_fd = cfg->stdin_fd;
	mon->in.dst_fd = ctx->in[0];
	/* The monitor owns and closes these from now on. */
	ctx->out[0] = ctx->err[0] = ctx->in[0] = ctx->sync[0] = -1;
}

static void take_output(struct mon_output *out, char **ret_buf, size_t *ret_len)
{
	*ret_buf = out->buf;
	*ret_len = out->len;
	out->buf = NULL;
}

/* An error the sandbox sent is nsrun's, not the script's: only nsrun's code
 * holds the sync socket, which closes at execve.  The workload leaves with
 * NSRUN_EXIT_SETUP when a step fails (the seccomp install included), and
 * with 126 or 127 when Python cannot be executed: those stay exit codes. */
static bool workload_failed_setup(const struct monitor *mon)
{
	int status = mon->workload_status;

	return !mon->have_status || (WIFEXITED(status) && WEXITSTATUS(status) == NSRUN_EXIT_SETUP);
}

static int supervise(struct run_ctx *ctx, struct nsrun_result *res, struct nsrun_error *err)
{
	struct run_facts facts;
	struct cg_stats stats;
	struct monitor mon;
	int r;

	init_monitor(ctx, &mon);
	r = mon_init(&mon, err);
	if (r == 0)
		r = mon_run(&mon, err);
	if (r < 0)
		kill_and_reap(ctx);
	memset(&facts, 0, sizeof(facts));
	if (ctx->pid > 0)
		facts.init_status = reap_init(ctx, res);
	ctx->pid = 0;
	ctx->ended_us = mon.exit_at_us ? mon.exit_at_us : monotonic_us();
	res->setup_us = mon.exec_at_us ? mon.exec_at_us - ctx->start_us : 0;
	res->setup_ms = res->setup_us / 1000;
	if (r == 0 && mon.have_error && workload_failed_setup(&mon)) {
		*err = mon.child_error;
		diag_explain_error(DIAG_STAGE_SETUP, err);
		/* Only the owner can have put a program the kernel refuses there. */
		if (ctx->policy_cached && strncmp(err->msg, "seccomp:", 8) == 0)
			nsrun_err_hint(err, "the program came from the policy cache %s: delete that "
					    "directory, and the next run compiles the policy again",
				       config_policy_cache_dir(ctx->cfg));
		r = nsrun_err_kind(err, "sandbox_setup");
	}
	if (ctx->have_cgroup) {
		cg_read_stats(&ctx->cgroup, &stats);
		facts.oom_kill_count = stats.oom_kill_count;
		res->memory_peak_bytes = stats.memory_peak_bytes;
	}
	facts.timed_out = mon.timed_out;
	facts.cancel_signal = mon.cancel_signal;
	facts.have_workload_status = mon.have_status;
	facts.workload_status = mon.workload_status;
	facts.output_truncated = mon.out[0].truncated || mon.out[1].truncated;
	facts.cpu_limit_ms = ctx->cfg->cpu_time_ms;
	facts.cpu_ms = res->cpu_ms;
	result_from_facts(&facts, res);
	res->cpu_known = !facts.timed_out && !facts.cancel_signal;
	res->stdout_bytes = mon.out[0].total;
	res->stderr_bytes = mon.out[1].total;
	res->stdout_truncated = mon.out[0].truncated;
	res->stderr_truncated = mon.out[1].truncated;
	take_output(&mon.out[0], &res->stdout_buf, &res->stdout_len);
	take_output(&mon.out[1], &res->stderr_buf, &res->stderr_len);
	free(mon.out[0].buf);
	free(mon.out[1].buf);
	mon_close(&mon);
	return r;
}

static int prepare(struct run_ctx *ctx, struct nsrun_result *res, struct nsrun_error *err)
{
	if (config_validate(ctx->cfg, err) < 0)
		return nsrun_err_kind(err, "config");
	if (check_rootfs(ctx, err) < 0)
		return nsrun_err_kind(err, "rootfs");
	if (check_script(ctx, err) < 0 || check_binds(ctx->cfg, err) < 0)
		return nsrun_err_kind(err, "input");
	if (build_command(ctx, err) < 0)
		return nsrun_err_kind(err, "config");
	if (compile_policy(ctx, err) < 0)
		return nsrun_err_kind(err, "policy");
	if (setup_cgroup(ctx, res, err) < 0)
		return nsrun_err_kind(err, "cgroup_unavailable");
	userns_plan(geteuid(), getegid(), &ctx->plan.ids);
	ctx->plan.limits = (struct child_limits){ctx->cfg->pids_limit, ctx->cfg->cpu_time_ms,
						 ctx->cfg->nofile_limit};
	ctx->plan.mounts.tmpfs_bytes = ctx->cfg->tmpfs_bytes;
	if (open_channels(ctx, err) < 0)
		return nsrun_err_kind(err, "internal");
	return 0;
}

static void cleanup(struct run_ctx *ctx)
{
	int *fds[] = {&ctx->sync[0], &ctx->sync[1], &ctx->in[0], &ctx->in[1],
		      &ctx->out[0],  &ctx->out[1],  &ctx->err[0], &ctx->err[1]};

	kill_and_reap(ctx);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		close_fd(fds[i]);
	close_fd(&ctx->pidfd);
	if (ctx->have_cgroup)
		cg_destroy(&ctx->cgroup);
	sc_program_free(&ctx->plan.seccomp);
	free(ctx->plan.argv);
	free(ctx->plan.envp);
	free(ctx->plan.mounts.bind_fds);
}

int nsrun_run(const struct nsrun_config *cfg, struct nsrun_result *res, struct nsrun_error *err)
{
	struct run_ctx ctx;
	int r;

	if (cfg->backend == NSRUN_BACKEND_DOCKER)
		return docker_run(cfg, res, err);
	memset(&ctx, 0, sizeof(ctx));
	memset(res, 0, sizeof(*res));
	memset(err, 0, sizeof(*err));
	ctx.cfg = cfg;
	ctx.pidfd = -1;
	for (int i = 0; i < 2; i++)
		ctx.sync[i] = ctx.in[i] = ctx.out[i] = ctx.err[i] = -1;
	ctx.start_us = monotonic_us();
	r = prepare(&ctx, res, err);
	if (r == 0)
		r = clone_sandbox(&ctx, err);
	if (r == 0)
		r = release_sandbox(&ctx, err);
	if (r == 0)
		r = supervise(&ctx, res, err);
	cleanup(&ctx);
	if (ctx.ended_us) {
		uint64_t now = monotonic_us();

		res->teardown_us = now - ctx.ended_us;
		res->wall_ms = (now - ctx.start_us) / 1000;
	}
	if (r < 0)
		nsrun_result_free(res);
	return r;
}
