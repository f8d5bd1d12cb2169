/* The docker backend: the same script, rootfs (imported as an image by
 * scripts/docker-image), limits and exit-code contract as the native
 * sandbox, through the docker CLI.
 *
 * Sequence, and why:
 *   1. check the script, policy and image name like the native backend;
 *   2. `docker image inspect` the image (and `docker version` when that
 *      fails) so a missing image or an unreachable engine is a setup error
 *      with a hint, never a registry pull;
 *   3. `docker create` a uniquely named container: creation is the slow,
 *      failure-prone part, and doing it apart from the start lets the timer
 *      start when the container has started, as the native timer starts
 *      when the sandbox is released;
 *   4. `docker start -a -i` it, wait until the engine reports it started,
 *      then run the shared monitor, which relays stdio and, on timeout or
 *      cancel, calls docker_kill_hook (`docker kill`);
 *   5. `docker inspect` for State.OOMKilled and State.ExitCode (no --rm:
 *      the verdict needs them), then
 *   6. `docker rm -f` on every path, including errors, timeouts and cancels.
 * The docker CLI processes run in their own process group with default
 * signal dispositions, so a terminal's Ctrl-C reaches nsrun only, and nsrun
 * alone decides how the container dies. */
#include "docker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "config.h"
#include "error.h"
#include "monitor.h"
#include "mount.h"
#include "policy.h"
#include "result.h"
#include "script.h"
#include "sync.h"
#include "util.h"

extern char **environ;

#define DOCKER_CLI "docker"
#define DOCKER_REPOSITORY "nsrun-rootfs"
#define DOCKER_MARKER ".nsrun-rootfs"
#define DOCKER_HASH_KEY "content-sha256: "
#define DOCKER_UID 1000 /* the sandbox user of the rootfs; docker maps no user namespace */
#define DOCKER_USER "1000:1000"
#define DOCKER_LABEL "org.nsrun.managed=1"
#define DOCKER_QUERY_MS 20000ULL
#define DOCKER_CREATE_MS 120000ULL
#define DOCKER_KILL_MS 20000ULL
#define DOCKER_REMOVE_MS 60000ULL
#define DOCKER_TEXT_MAX 2048
/* State.Error last: it is free text. */
#define DOCKER_STATE_FORMAT                                                                        \
	"{{.State.OOMKilled}} {{.State.Running}} {{.State.ExitCode}} {{.State.StartedAt}} {{.State.Error}}"
#define DOCKER_HINT_ENGINE                                                                         \
	"start dockerd (as root: scripts/start-dockerd), or point DOCKER_HOST at a running engine"

/* What a short docker CLI call printed and how it ended. */
struct docker_text {
	char buf[DOCKER_TEXT_MAX];
	size_t len;
};

struct docker_call {
	struct docker_text out, err;
	int status; /* raw wait status */
	bool timed_out;
};

/* A growing argv of owned strings. */
struct docker_args {
	char **v;
	size_t n, cap;
	bool failed;
};

struct docker_ctx {
	const struct nsrun_config *cfg;
	int cancel_fd; /* cfg->cancel_fd until a cancel request was read from it */
	int cancel_signal;
	char script[PATH_MAX];
	dev_t script_dev;
	ino_t script_ino;
	char policy[PATH_MAX];
	char image[256];
	bool default_image;
	char name[64];
	bool created;
	enum nsrun_cgroup_mode cgroup_mode;
	struct docker_args create;
	pid_t pid; /* the `docker start -a -i` process */
	pid_t watchdog; /* removes the container if nsrun is killed; 0 = none */
	int pidfd;
	int sync[2], in[2], out[2], err[2];
	uint64_t start_us, started_us, ended_us;
};

/* ------------------------------------------------------------------ */
/* argv building                                                       */

static void docker_args_add(struct docker_args *args, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void docker_args_add(struct docker_args *args, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;

	if (args->failed)
		return;
	if (args->n + 2 > args->cap) {
		size_t cap = args->cap ? args->cap * 2 : 64;
		char **grown = realloc(args->v, cap * sizeof(char *));

		if (!grown) {
			args->failed = true;
			return;
		}
		args->v = grown;
		args->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text) {
		args->failed = true;
		return;
	}
	args->v[args->n++] = text;
	args->v[args->n] = NULL;
}

static void docker_args_free(struct docker_args *args)
{
	for (size_t i = 0; i < args->n; i++)
		free(args->v[i]);
	free(args->v);
	memset(args, 0, sizeof(*args));
}

/* "KEY=VALUE" as one CSV field: quoted, inner quotes doubled, so commas
 * and quotes in paths survive docker's --mount parser. */
static char *docker_csv_field(const char *key, const char *value)
{
	char *field = malloc(strlen(key) + strlen(value) * 2 + 4);
	char *p = field;

	if (!field)
		return NULL;
	*p++ = '"';
	p = stpcpy(p, key);
	for (const char *s = value; *s; s++) {
		if (*s == '"')
			*p++ = '"';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return field;
}

static void docker_args_add_mount(struct docker_args *args, const char *source, const char *target)
{
	char *src = docker_csv_field("source=", source);
	char *dst = docker_csv_field("target=", target);

	if (src && dst)
		docker_args_add(args, "--mount=type=bind,%s,%s,readonly", src, dst);
	else
		args->failed = true;
	free(src);
	free(dst);
}

/* ------------------------------------------------------------------ */
/* running the docker CLI                                              */

static int docker_spawn(char *const argv[], const int stdio[3], pid_t *ret_pid, int *ret_pidfd)
{
	static const int defaults[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	pid_t pid;
	int r;

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		sigaddset(&dfl, defaults[i]);
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	for (int fd = 0; fd < 3; fd++) {
		if (stdio[fd] >= 0)
			posix_spawn_file_actions_adddup2(&actions, stdio[fd], fd);
		else
			posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
	}
	posix_spawn_file_actions_addclosefrom_np(&actions, 3);
	/* Own process group: a terminal's SIGINT must reach nsrun, not docker
	 * (`docker start -a` would forward it into the container). */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	r = posix_spawnp(&pid, argv[0], &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return -r;
	*ret_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (*ret_pidfd < 0) {
		r = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r;
	}
	*ret_pid = pid;
	return 0;
}

static int docker_spawn_error(int r, struct nsrun_error *err)
{
	if (r == -ENOENT) {
		nsrun_err(err, ENOENT, "the docker CLI (%s) was not found on PATH", DOCKER_CLI);
		nsrun_err_kind(err, "docker_unavailable");
		return nsrun_err_hint(err, "install it: scripts/start-dockerd installs Debian's docker.io "
					   "and starts the engine");
	}
	errno = -r;
	nsrun_err_sys(err, "run the docker CLI (%s)", DOCKER_CLI);
	return nsrun_err_kind(err, "docker_unavailable");
}

/* Reap a CLI process; a status is invented only if someone else reaped it. */
static int docker_reap(int pidfd)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0)
		if (errno != EINTR)
			return W_EXITCODE(0, SIGKILL);
	if (info.si_code == CLD_EXITED)
		return W_EXITCODE(info.si_status, 0);
	return W_EXITCODE(0, info.si_status);
}

static int docker_read_cancel(int fd)
{
	struct signalfd_siginfo info;
	ssize_t n = read(fd, &info, sizeof(info));

	/* As the monitor does: a signalfd names the signal, any fd means SIGTERM. */
	return n == (ssize_t)sizeof(info) ? (int)info.ssi_signo : SIGTERM;
}

/* A cancel request that arrived while nothing watched for it. */
static bool docker_poll_cancel(struct docker_ctx *ctx)
{
	struct pollfd p = {ctx->cancel_fd, POLLIN, 0};

	if (ctx->cancel_fd >= 0 && poll(&p, 1, 0) > 0) {
		ctx->cancel_signal = docker_read_cancel(ctx->cancel_fd);
		ctx->cancel_fd = -1;
	}
	return ctx->cancel_signal != 0;
}

/* Read what is there; returns false at EOF or on an error. */
static bool docker_drain(int fd, struct docker_text *text)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	size_t room = sizeof(text->buf) - 1 - text->len;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if ((size_t)n < room)
		room = (size_t)n;
	memcpy(text->buf + text->len, chunk, room);
	text->len += room;
	text->buf[text->len] = '\0';
	return true;
}

struct docker_wait {
	int fds[2]; /* stdout, stderr read ends; -1 once at EOF */
	int pidfd;
	int cancel_fd;
	uint64_t deadline_ms;
	bool exited;
	int cancel_signal;
};

enum { DOCKER_WAIT_DONE = 0, DOCKER_WAIT_MORE = 1, DOCKER_WAIT_CANCELLED = 2 };

/* One poll round: DOCKER_WAIT_*, or -ETIMEDOUT / -errno. */
static int docker_wait_round(struct docker_wait *w, struct docker_call *call)
{
	struct pollfd p[4] = {{w->fds[0], POLLIN, 0}, {w->fds[1], POLLIN, 0},
			      {w->exited ? -1 : w->pidfd, POLLIN, 0}, {w->cancel_fd, POLLIN, 0}};
	uint64_t now = monotonic_ms();
	int n;

	if (w->exited && w->fds[0] < 0 && w->fds[1] < 0)
		return DOCKER_WAIT_DONE;
	if (now >= w->deadline_ms)
		return -ETIMEDOUT;
	n = poll(p, ARRAY_SIZE(p), (int)(w->deadline_ms - now));
	if (n < 0)
		return errno == EINTR ? DOCKER_WAIT_MORE : -errno;
	if (p[3].revents) {
		w->cancel_signal = docker_read_cancel(w->cancel_fd);
		return DOCKER_WAIT_CANCELLED;
	}
	for (int i = 0; i < 2; i++) {
		if (p[i].revents && !docker_drain(w->fds[i], i ? &call->err : &call->out)) {
			close(w->fds[i]);
			w->fds[i] = -1;
		}
	}
	if (p[2].revents)
		w->exited = true;
	return DOCKER_WAIT_MORE;
}

/* Run `docker ARGS` to completion with its output kept (bounded), within
 * timeout_ms.  When cancellable, a readable cancel fd kills it and records
 * the signal in ctx->cancel_signal.  0: it ran (see call->status). */
static int docker_call(struct docker_ctx *ctx, char *const argv[], uint64_t timeout_ms,
		       bool cancellable, struct docker_call *call, struct nsrun_error *err)
{
	struct docker_wait w = {{-1, -1}, -1, cancellable ? ctx->cancel_fd : -1, 0, false, 0};
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	pid_t pid;
	int r;

	memset(call, 0, sizeof(*call));
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		r = nsrun_err_sys(err, "create pipes for the docker CLI");
		goto out;
	}
	r = docker_spawn(argv, (const int[3]){-1, out[1], errp[1]}, &pid, &w.pidfd);
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;
	if (r < 0) {
		r = docker_spawn_error(r, err);
		goto out;
	}
	w.fds[0] = out[0];
	w.fds[1] = errp[0];
	out[0] = errp[0] = -1;
	w.deadline_ms = monotonic_ms() + timeout_ms;
	while ((r = docker_wait_round(&w, call)) == DOCKER_WAIT_MORE)
		;
	if (r != DOCKER_WAIT_DONE) { /* timed out, cancelled or poll failed: stop the CLI */
		sys_pidfd_send_signal(w.pidfd, SIGKILL);
		call->timed_out = r == -ETIMEDOUT;
		if (r == DOCKER_WAIT_CANCELLED) {
			ctx->cancel_signal = w.cancel_signal;
			ctx->cancel_fd = -1; /* read: the monitor must not wait for it again */
		}
		r = r < 0 && r != -ETIMEDOUT ? nsrun_err(err, -r, "wait for the docker CLI") : 0;
	}
	call->status = docker_reap(w.pidfd);
	close(w.pidfd);
out:
	for (int i = 0; i < 2; i++) {
		if (w.fds[i] >= 0)
			close(w.fds[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return r;
}

static bool docker_call_ok(const struct docker_call *call)
{
	return !call->timed_out && WIFEXITED(call->status) && WEXITSTATUS(call->status) == 0;
}

/* The first line of what docker said, for a one-line error message. */
static const char *docker_first_line(struct docker_text *text)
{
	char *nl;

	if (text->len == 0)
		return "(no message)";
	nl = strchr(text->buf, '\n');
	if (nl)
		*nl = '\0';
	return strncmp(text->buf, "Error response from daemon: ", 28) == 0 ? text->buf + 28
									   : text->buf;
}

/* ------------------------------------------------------------------ */
/* preparation: the same checks as the native backend                  */

/* The same checks as the native backend; the container's user is 1000:1000
 * on the host (no user namespace), and must be able to read the script. */
static int docker_check_script(struct docker_ctx *ctx, struct nsrun_error *err)
{
	const char *path = ctx->cfg->script;
	struct stat st;

	if (script_check(path, true, DOCKER_UID, DOCKER_UID, &st, err) < 0)
		return -(err->code ? err->code : EINVAL);
	ctx->script_dev = st.st_dev;
	ctx->script_ino = st.st_ino;
	/* The engine needs an absolute path; only directories above it may be
	 * links here, the file itself was checked above. */
	if (!realpath(path, ctx->script))
		return nsrun_err_sys(err, "script %s", path);
	return 0;
}

/* The engine reads the path when it creates the container: it must still
 * be the file that was checked. */
static int docker_recheck_script(struct docker_ctx *ctx, struct nsrun_error *err)
{
	struct stat st;

	if (lstat(ctx->script, &st) < 0)
		return nsrun_err_sys(err, "script %s", ctx->script);
	if (!S_ISREG(st.st_mode) || st.st_dev != ctx->script_dev || st.st_ino != ctx->script_ino)
		return nsrun_err(err, EBUSY, "script %s was replaced while nsrun was starting",
				 ctx->script);
	return 0;
}

/* The same JSON file the native backend compiles: checked by the same
 * parser, so both backends accept and refuse the same policies. */
static int docker_check_policy(struct docker_ctx *ctx, struct nsrun_error *err)
{
	const char *path = ctx->cfg->seccomp_policy ? ctx->cfg->seccomp_policy : NSRUN_DEFAULT_POLICY;
	struct nsrun_policy policy;
	int r;

	r = pol_load_file(path, &policy, err);
	pol_free(&policy);
	if (r < 0)
		return r;
	if (!realpath(path, ctx->policy))
		return nsrun_err_sys(err, "seccomp policy %s", path);
	return 0;
}

static int docker_image_error(struct docker_ctx *ctx, const char *detail, struct nsrun_error *err)
{
	nsrun_err(err, ENOENT, "rootfs %s: %s, so its docker image is unknown", ctx->cfg->rootfs,
		  detail);
	nsrun_err_kind(err, "rootfs");
	return nsrun_err_hint(err, "run scripts/docker-image (it builds the rootfs and imports it), "
				   "or pass --docker-image IMAGE");
}

/* Default image: nsrun-rootfs:<12 hex digits of the rootfs's content hash>,
 * the tag scripts/docker-image gives it, so a stale image never matches. */
static int docker_resolve_image(struct docker_ctx *ctx, struct nsrun_error *err)
{
	char path[PATH_MAX], text[16384];
	const char *line;
	ssize_t n;

	if (ctx->cfg->docker_image) {
		if (!ctx->cfg->docker_image[0] || ctx->cfg->docker_image[0] == '-' ||
		    strlen(ctx->cfg->docker_image) >= sizeof(ctx->image))
			return nsrun_err(err, EINVAL, "invalid docker image name '%s'",
					 ctx->cfg->docker_image);
		snprintf(ctx->image, sizeof(ctx->image), "%s", ctx->cfg->docker_image);
		return 0;
	}
	ctx->default_image = true;
	snprintf(path, sizeof(path), "%s/%s", ctx->cfg->rootfs, DOCKER_MARKER);
	n = read_file_at(AT_FDCWD, path, text, sizeof(text));
	if (n < 0)
		return docker_image_error(ctx, "no " DOCKER_MARKER " marker", err);
	line = strstr(text, "\n" DOCKER_HASH_KEY);
	if (!line)
		return docker_image_error(ctx, "no content hash in " DOCKER_MARKER, err);
	line += strlen("\n" DOCKER_HASH_KEY);
	for (int i = 0; i < 64; i++)
		if (!line[i] || !strchr("0123456789abcdef", line[i]))
			return docker_image_error(ctx, "malformed content hash in " DOCKER_MARKER, err);
	snprintf(ctx->image, sizeof(ctx->image), "%s:%.12s", DOCKER_REPOSITORY, line);
	return 0;
}

static void docker_make_name(struct docker_ctx *ctx)
{
	unsigned random_part = 0;

	if (getrandom(&random_part, sizeof(random_part), GRND_NONBLOCK) != sizeof(random_part)) {
		static unsigned counter;

		random_part = ++counter ^ (unsigned)monotonic_ms();
	}
	snprintf(ctx->name, sizeof(ctx->name), "nsrun-%d-%08x", (int)getpid(), random_part);
}

static enum nsrun_cgroup_mode docker_cgroup_mode(void)
{
	struct statfs fs;

	if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return NSRUN_CGROUP_V2;
	return NSRUN_CGROUP_V1;
}

/* ------------------------------------------------------------------ */
/* the engine and the image                                            */

static int docker_engine_error(struct docker_call *call, struct nsrun_error *err)
{
	if (call->timed_out)
		nsrun_err(err, ETIMEDOUT, "the Docker engine did not answer within %llu seconds",
			  DOCKER_QUERY_MS / 1000);
	else
		nsrun_err(err, ECONNREFUSED, "the Docker engine is unreachable: %s",
			  docker_first_line(&call->err));
	nsrun_err_kind(err, "docker_unavailable");
	return nsrun_err_hint(err, DOCKER_HINT_ENGINE);
}

/* One call on the happy path; a second only to say why the first failed. */
static int docker_check_image(struct docker_ctx *ctx, struct nsrun_error *err)
{
	char *inspect[] = {DOCKER_CLI, "image", "inspect", "--format", "{{.Id}}", ctx->image, NULL};
	char *version[] = {DOCKER_CLI, "version", "--format", "{{.Server.Version}}", NULL};
	struct docker_call call;
	int r;

	r = docker_call(ctx, inspect, DOCKER_QUERY_MS, true, &call, err);
	if (r < 0 || ctx->cancel_signal || docker_call_ok(&call))
		return r;
	if (call.timed_out)
		return docker_engine_error(&call, err);
	r = docker_call(ctx, version, DOCKER_QUERY_MS, true, &call, err);
	if (r < 0 || ctx->cancel_signal)
		return r;
	if (!docker_call_ok(&call))
		return docker_engine_error(&call, err);
	nsrun_err(err, ENOENT, "docker image %s is missing", ctx->image);
	nsrun_err_kind(err, "docker_image_missing");
	if (ctx->default_image)
		return nsrun_err_hint(err, "run scripts/docker-image --rootfs %s to import it as %s",
				      ctx->cfg->rootfs, ctx->image);
	return nsrun_err_hint(err, "import or build %s first: nsrun never pulls from a registry",
			      ctx->image);
}

/* ------------------------------------------------------------------ */
/* docker create                                                       */

static void docker_add_limits(struct docker_args *a, const struct nsrun_config *cfg)
{
	unsigned long long fsize = cfg->tmpfs_bytes > MOUNT_SHM_BYTES ? cfg->tmpfs_bytes
								      : MOUNT_SHM_BYTES;

	/* Swap off: memory-swap equal to memory, as the native memsw/swap.max. */
	docker_args_add(a, "--memory=%llub", (unsigned long long)cfg->memory_bytes);
	docker_args_add(a, "--memory-swap=%llub", (unsigned long long)cfg->memory_bytes);
	docker_args_add(a, "--pids-limit=%llu", (unsigned long long)cfg->pids_limit);
	docker_args_add(a, "--shm-size=%llub", MOUNT_SHM_BYTES);
	/* The native workload's rlimits (child.c): no core, files no larger
	 * than the largest writable tmpfs, no real-time or raised priority. */
	docker_args_add(a, "--ulimit=core=0:0");
	docker_args_add(a, "--ulimit=fsize=%llu:%llu", fsize, fsize);
	docker_args_add(a, "--ulimit=rtprio=0:0");
	docker_args_add(a, "--ulimit=nice=0:0");
	docker_args_add(a, "--ulimit=nofile=%llu:%llu", (unsigned long long)cfg->nofile_limit,
			(unsigned long long)cfg->nofile_limit);
	if (cfg->cpu_time_ms) { /* as the native backend: whole seconds, rounded up */
		unsigned long long s = (cfg->cpu_time_ms + 999) / 1000;

		docker_args_add(a, "--ulimit=cpu=%llu:%llu", s, s + 1);
	}
	if (cfg->tmpfs_bytes)
		docker_args_add(a, "--tmpfs=/tmp:rw,nosuid,nodev,size=%llu,mode=1777",
				(unsigned long long)cfg->tmpfs_bytes);
}

static int docker_add_env(struct docker_args *a, const struct nsrun_config *cfg,
			  struct nsrun_error *err)
{
	/* Exactly the base environment plus the caller's entries: "--env=K"
	 * without a value would copy K from nsrun's own environment. */
	for (size_t i = 0; i < config_base_env_count; i++)
		docker_args_add(a, "--env=%s", config_base_env[i]);
	for (size_t i = 0; cfg->env && cfg->env[i]; i++) {
		const char *entry = cfg->env[i];

		if (!strchr(entry, '=') || entry[0] == '=')
			return nsrun_err(err, EINVAL, "environment entry '%s' is not NAME=VALUE", entry);
		docker_args_add(a, "--env=%s", entry);
	}
	return 0;
}

static int docker_add_mounts(struct docker_ctx *ctx, struct nsrun_error *err)
{
	const struct nsrun_config *cfg = ctx->cfg;
	char source[PATH_MAX];

	docker_args_add_mount(&ctx->create, ctx->script, MOUNT_SCRIPT_TARGET);
	for (size_t i = 0; i < cfg->n_binds; i++) {
		if (!realpath(cfg->binds[i].source, source))
			return nsrun_err_sys(err, "--bind-ro %s", cfg->binds[i].source);
		docker_args_add_mount(&ctx->create, source, cfg->binds[i].target);
	}
	return 0;
}

static int docker_build_create(struct docker_ctx *ctx, struct nsrun_error *err)
{
	struct docker_args *a = &ctx->create;
	int r;

	docker_args_add(a, "%s", DOCKER_CLI);
	docker_args_add(a, "create");
	docker_args_add(a, "--name=%s", ctx->name);
	docker_args_add(a, "--label=%s", DOCKER_LABEL);
	docker_args_add(a, "--pull=never");
	docker_args_add(a, "--interactive");
	docker_args_add(a, "--log-driver=none"); /* output goes through the attach only */
	docker_args_add(a, "--network=none");
	docker_args_add(a, "--read-only");
	docker_add_limits(a, ctx->cfg);
	docker_args_add(a, "--cap-drop=ALL");
	docker_args_add(a, "--security-opt=no-new-privileges");
	docker_args_add(a, "--security-opt=seccomp=%s", ctx->policy);
	docker_args_add(a, "--user=%s", DOCKER_USER);
	docker_args_add(a, "--hostname=%s", CHILD_HOSTNAME);
	docker_args_add(a, "--workdir=/app");
	r = docker_add_env(a, ctx->cfg, err);
	if (r == 0)
		r = docker_add_mounts(ctx, err);
	if (r < 0)
		return r;
	docker_args_add(a, "%s", ctx->image);
	docker_args_add(a, "%s", CHILD_PYTHON);
	docker_args_add(a, "-u");
	docker_args_add(a, "%s", MOUNT_SCRIPT_TARGET);
	for (size_t i = 0; ctx->cfg->args && ctx->cfg->args[i]; i++)
		docker_args_add(a, "%s", ctx->cfg->args[i]);
	return a->failed ? nsrun_err(err, ENOMEM, "out of memory") : 0;
}

/* Docker runs a container even when the kernel cannot enforce a limit,
 * with only a warning: fail closed like the native backend instead. */
static int docker_check_warnings(struct docker_ctx *ctx, struct docker_call *call,
				 struct nsrun_error *err)
{
	const char *warning = strstr(call->err.buf, "WARNING");

	if (!warning || !(strstr(warning, "memory") || strstr(warning, "swap") ||
			  strstr(warning, "PIDs") || strstr(warning, "pids")))
		return 0;
	if (ctx->cfg->allow_no_memory_limit) {
		ctx->cgroup_mode = NSRUN_CGROUP_NONE;
		return 0;
	}
	nsrun_err(err, ENOTSUP, "docker cannot enforce the limits: %s", docker_first_line(&call->err));
	nsrun_err_kind(err, "cgroup_unavailable");
	return nsrun_err_hint(err, "enable the memory (and swap accounting) and pids cgroup "
				   "controllers for the engine, or pass --allow-no-memory-limit");
}

/* In the watchdog: wait for the supervisor's death, then remove the
 * container.  Only async-signal-safe calls: nsrun may have threads. */
_Noreturn static void docker_watchdog_main(pid_t supervisor, char *const rm_argv[])
{
	sigset_t wake;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	sigemptyset(&wake);
	sigaddset(&wake, SIGUSR1);
	sigprocmask(SIG_BLOCK, &wake, NULL);
	/* Detached from the terminal (no Ctrl-C) and from the caller's fds (a
	 * caller reading nsrun's output must see EOF when nsrun ends). */
	setsid();
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
	if (getppid() == supervisor)
		sigwaitinfo(&wake, NULL);
	execvp(rm_argv[0], rm_argv);
	_exit(127);
}

/* A SIGKILLed nsrun cannot remove its container, which would then run on
 * without a timeout (found by the red team): a watchdog child, woken by the
 * kernel when nsrun dies, removes it instead.  nsrun kills the watchdog
 * once it has cleaned up itself. */
static int docker_start_watchdog(struct docker_ctx *ctx, struct nsrun_error *err)
{
	pid_t supervisor = getpid();
	pid_t pid = fork();

	if (pid < 0)
		return nsrun_err_sys(err, "fork the container watchdog");
	if (pid == 0) {
		char *rm_argv[] = {DOCKER_CLI, "rm", "--force", "--volumes", ctx->name, NULL};

		docker_watchdog_main(supervisor, rm_argv);
	}
	ctx->watchdog = pid;
	return 0;
}

static void docker_stop_watchdog(struct docker_ctx *ctx)
{
	if (ctx->watchdog <= 0)
		return;
	kill(ctx->watchdog, SIGKILL);
	while (waitpid(ctx->watchdog, NULL, 0) < 0 && errno == EINTR)
		;
	ctx->watchdog = 0;
}

static int docker_create(struct docker_ctx *ctx, struct nsrun_error *err)
{
	struct docker_call call;
	int r;

	/* Not cancellable: killing the CLI would not stop the engine, which
	 * could then finish creating the container after cleanup's docker rm.
	 * A cancel request waits in its fd until the create is done.  Set
	 * before the call: a create that timed out may still have made the
	 * container, and cleanup removes it by name. */
	ctx->created = true;
	r = docker_start_watchdog(ctx, err);
	if (r < 0)
		return r;
	r = docker_call(ctx, ctx->create.v, DOCKER_CREATE_MS, false, &call, err);
	if (r < 0 || docker_poll_cancel(ctx))
		return r;
	if (call.timed_out)
		return docker_engine_error(&call, err);
	if (!docker_call_ok(&call)) {
		nsrun_err(err, EINVAL, "docker create: %s", docker_first_line(&call.err));
		return nsrun_err_kind(err, "docker");
	}
	r = docker_check_warnings(ctx, &call, err);
	if (r == 0)
		r = docker_recheck_script(ctx, err);
	return r;
}

/* ------------------------------------------------------------------ */
/* docker start, under the monitor                                     */

static int docker_open_channels(struct docker_ctx *ctx, struct nsrun_error *err)
{
	/* The monitor watches a sync socket; the docker CLI sends nothing on it,
	 * so the other end is closed at once and the monitor sees EOF. */
	if (sync_pair(ctx->sync) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctx->in) < 0 ||
	    pipe2(ctx->out, O_CLOEXEC) < 0 || pipe2(ctx->err, O_CLOEXEC) < 0)
		return nsrun_err_sys(err, "create the container's channels");
	close(ctx->sync[1]);
	ctx->sync[1] = -1;
	shutdown(ctx->in[1], SHUT_WR);
	fcntl(ctx->out[0], F_SETFL, O_NONBLOCK);
	fcntl(ctx->err[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static void docker_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int docker_start(struct docker_ctx *ctx, struct nsrun_error *err)
{
	char *argv[] = {DOCKER_CLI, "start", "--attach", "--interactive", ctx->name, NULL};
	int r;

	r = docker_open_channels(ctx, err);
	if (r < 0)
		return r;
	r = docker_spawn(argv, (const int[3]){ctx->in[1], ctx->out[1], ctx->err[1]}, &ctx->pid,
			 &ctx->pidfd);
	docker_close(&ctx->in[1]);
	docker_close(&ctx->out[1]);
	docker_close(&ctx->err[1]);
	if (r < 0) {
		ctx->pid = 0;
		return docker_spawn_error(r, err);
	}
	return 0;
}

/* nsrun's timer starts when the container has started, as the native one
 * starts when the sandbox is released: the engine's own start latency
 * (runc, mounts; a few hundred ms, more on a loaded host) is not the
 * script's time.  Output meanwhile waits in the pipes.  Stops waiting
 * when the CLI exits (the start failed, or the script already finished). */
static int docker_wait_started(struct docker_ctx *ctx, struct nsrun_error *err)
{
	char *argv[] = {DOCKER_CLI, "inspect", "--type=container", "--format", "{{.State.StartedAt}}",
			ctx->name, NULL};
	uint64_t deadline = monotonic_ms() + DOCKER_CREATE_MS;
	struct pollfd cli = {ctx->pidfd, POLLIN, 0};
	struct docker_call call;
	int r = 0;

	while (r == 0 && !ctx->cancel_signal && monotonic_ms() < deadline) {
		if (poll(&cli, 1, 5) > 0)
			break;
		r = docker_call(ctx, argv, DOCKER_QUERY_MS, true, &call, err);
		if (r < 0 || call.timed_out ||
		    (docker_call_ok(&call) && strncmp(call.out.buf, "0001-01-01", 10) != 0))
			break;
	}
	ctx->started_us = monotonic_us();
	return r;
}

/* The monitor's kill: docker kill, and if that fails (the engine hangs, or
 * the container is not running yet) end the attached CLI so the monitor
 * finishes; cleanup's docker rm -f then removes the container anyway. */
static void docker_kill_hook(struct monitor *mon, void *data)
{
	struct docker_ctx *ctx = data;
	char *argv[] = {DOCKER_CLI, "kill", ctx->name, NULL};
	struct nsrun_error ignored;
	struct docker_call call;

	if (docker_call(ctx, argv, DOCKER_KILL_MS, false, &call, &ignored) < 0 ||
	    !docker_call_ok(&call))
		sys_pidfd_send_signal(mon->pidfd, SIGKILL);
}

static void docker_init_monitor(struct docker_ctx *ctx, struct monitor *mon)
{
	const struct nsrun_config *cfg = ctx->cfg;
	uint64_t limit = cfg->output_limit ? cfg->output_limit : UINT64_MAX;

	memset(mon, 0, sizeof(*mon));
	mon->epfd = mon->timer_fd = -1;
	mon->pidfd = ctx->pidfd;
	mon->sync_fd = ctx->sync[0];
	mon->cancel_fd = ctx->cancel_fd;
	mon->timeout_ms = cfg->timeout_ms;
	mon->kill_sandbox = docker_kill_hook;
	mon->kill_data = ctx;
	mon->out[0] = (struct mon_output){.fd = ctx->out[0], .sink_fd = cfg->stdout_fd, .limit = limit};
	mon->out[1] = (struct mon_output){.fd = ctx->err[0], .sink_fd = cfg->stderr_fd, .limit = limit};
	mon->in.src_fd = cfg->stdin_fd;
	mon->in.dst_fd = ctx->in[0];
	/* The monitor owns and closes these from now on. */
	ctx->out[0] = ctx->err[0] = ctx->in[0] = ctx->sync[0] = -1;
}

/* ------------------------------------------------------------------ */
/* the verdict                                                         */

struct docker_state {
	bool oom_killed;
	bool started, running;
	int exit_code;
	char error[200];
};

/* A container's ExitCode is 128+N when signal N ended it (docker cannot
 * tell that from a script's own exit(128+N); the CLI's exit code is the
 * same either way). */
static int docker_wait_status(int exit_code)
{
	if (exit_code > 128 && exit_code <= 128 + 64)
		return W_EXITCODE(0, exit_code - 128);
	if (exit_code < 0 || exit_code > 255)
		return W_EXITCODE(255, 0);
	return W_EXITCODE(exit_code, 0);
}

static int docker_inspect(struct docker_ctx *ctx, struct docker_state *state,
			  struct nsrun_error *err)
{
	char *argv[] = {DOCKER_CLI, "inspect", "--type=container", "--format", DOCKER_STATE_FORMAT,
			ctx->name, NULL};
	char oom[8] = "", running[8] = "", started[64] = "";
	struct docker_call call;
	int used = 0, r;

	memset(state, 0, sizeof(*state));
	r = docker_call(ctx, argv, DOCKER_QUERY_MS, false, &call, err);
	if (r < 0)
		return r;
	if (!docker_call_ok(&call) ||
	    sscanf(call.out.buf, "%7s %7s %d %63s %n", oom, running, &state->exit_code, started,
		   &used) < 4) {
		nsrun_err(err, EIO, "docker inspect %s: %s", ctx->name, docker_first_line(&call.err));
		nsrun_err_kind(err, "docker");
		return nsrun_err_hint(err, DOCKER_HINT_ENGINE);
	}
	state->oom_killed = strcmp(oom, "true") == 0;
	state->running = strcmp(running, "true") == 0;
	state->started = strncmp(started, "0001-01-01", 10) != 0;
	snprintf(state->error, sizeof(state->error), "%s", call.out.buf + used);
	state->error[strcspn(state->error, "\n")] = '\0';
	return 0;
}

/* Facts from the engine; when nsrun itself killed the container the
 * verdict is ours whatever the engine says, or cannot say. */
static int docker_facts(struct docker_ctx *ctx, const struct monitor *mon, struct run_facts *facts,
			struct nsrun_error *err)
{
	struct docker_state state;
	bool ours = mon->timed_out || mon->cancel_signal;
	int r;

	memset(facts, 0, sizeof(*facts));
	facts->timed_out = mon->timed_out;
	facts->cancel_signal = mon->cancel_signal;
	facts->init_status = W_EXITCODE(0, SIGKILL);
	facts->output_truncated = mon->out[0].truncated || mon->out[1].truncated;
	facts->cpu_limit_ms = ctx->cfg->cpu_time_ms;
	r = docker_inspect(ctx, &state, err);
	if (r < 0)
		return ours ? 0 : r;
	if (ours) { /* the kill may have failed or raced a start: SIGKILL stands */
		if (state.started && !state.running)
			facts->init_status = docker_wait_status(state.exit_code);
		facts->oom_kill_count = state.oom_killed ? 1 : 0;
		return 0;
	}
	if (state.running) {
		nsrun_err(err, EPIPE, "the docker CLI attached to %s exited while the container ran",
			  ctx->name);
		return nsrun_err_kind(err, "docker");
	}
	if (!state.started && state.exit_code != 126 && state.exit_code != 127) {
		nsrun_err(err, EINVAL, "docker start %s: %s", ctx->name,
			  state.error[0] ? state.error : "the container did not start");
		return nsrun_err_kind(err, "docker");
	}
	facts->init_status = docker_wait_status(state.exit_code);
	facts->oom_kill_count = state.oom_killed ? 1 : 0;
	return 0;
}

static void docker_take_output(struct mon_output *out, char **ret_buf, size_t *ret_len)
{
	*ret_buf = out->buf;
	*ret_len = out->len;
	out->buf = NULL;
}

static void docker_fill_result(struct monitor *mon, const struct run_facts *facts,
			       struct nsrun_result *res)
{
	result_from_facts(facts, res);
	res->stdout_bytes = mon->out[0].total;
	res->stderr_bytes = mon->out[1].total;
	res->stdout_truncated = mon->out[0].truncated;
	res->stderr_truncated = mon->out[1].truncated;
	docker_take_output(&mon->out[0], &res->stdout_buf, &res->stdout_len);
	docker_take_output(&mon->out[1], &res->stderr_buf, &res->stderr_len);
}

static int docker_supervise(struct docker_ctx *ctx, struct nsrun_result *res,
			    struct nsrun_error *err)
{
	struct run_facts facts;
	struct monitor mon;
	int r;

	docker_init_monitor(ctx, &mon);
	r = mon_init(&mon, err);
	if (r == 0)
		r = mon_run(&mon, err);
	if (r < 0)
		sys_pidfd_send_signal(ctx->pidfd, SIGKILL);
	docker_reap(ctx->pidfd);
	ctx->pid = 0;
	docker_close(&mon.sync_fd); /* closed by the monitor only when it saw EOF */
	ctx->ended_us = monotonic_us();
	res->setup_us = ctx->started_us - ctx->start_us;
	res->setup_ms = res->setup_us / 1000;
	if (r == 0)
		r = docker_facts(ctx, &mon, &facts, err);
	if (r == 0)
		docker_fill_result(&mon, &facts, res);
	free(mon.out[0].buf);
	free(mon.out[1].buf);
	mon_close(&mon);
	return r;
}

/* Cancelled before the container ran: the same verdict the native
 * backend gives when the caller's signal arrives at once. */
static void docker_cancelled_result(struct docker_ctx *ctx, struct nsrun_result *res)
{
	struct run_facts facts;

	memset(&facts, 0, sizeof(facts));
	facts.cancel_signal = ctx->cancel_signal;
	facts.init_status = W_EXITCODE(0, SIGKILL);
	result_from_facts(&facts, res);
	ctx->ended_us = monotonic_us();
}

/* ------------------------------------------------------------------ */
/* cleanup: nothing of a run is left in the engine                     */

static int docker_remove(struct docker_ctx *ctx, struct nsrun_error *err)
{
	char *argv[] = {DOCKER_CLI, "rm", "--force", "--volumes", ctx->name, NULL};
	struct docker_call call;
	int r;

	if (!ctx->created)
		return 0;
	r = docker_call(ctx, argv, DOCKER_REMOVE_MS, false, &call, err);
	if (r < 0)
		return r;
	if (docker_call_ok(&call) || strstr(call.err.buf, "No such container"))
		return 0;
	nsrun_err(err, EIO, "docker rm --force %s: %s", ctx->name,
		  call.timed_out ? "timed out" : docker_first_line(&call.err));
	nsrun_err_kind(err, "docker_cleanup");
	return nsrun_err_hint(err, "the container was left behind: remove it with docker rm -f %s",
			      ctx->name);
}

static void docker_cleanup(struct docker_ctx *ctx)
{
	int *fds[] = {&ctx->sync[0], &ctx->sync[1], &ctx->in[0],  &ctx->in[1],
		      &ctx->out[0],  &ctx->out[1],  &ctx->err[0], &ctx->err[1]};

	if (ctx->pid > 0) {
		sys_pidfd_send_signal(ctx->pidfd, SIGKILL);
		docker_reap(ctx->pidfd);
		ctx->pid = 0;
	}
	docker_close(&ctx->pidfd);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		docker_close(fds[i]);
	docker_args_free(&ctx->create);
}

static int docker_prepare(struct docker_ctx *ctx, struct nsrun_error *err)
{
	if (config_validate(ctx->cfg, err) < 0)
		return nsrun_err_kind(err, "config");
	if (docker_check_script(ctx, err) < 0)
		return nsrun_err_kind(err, "input");
	if (docker_check_policy(ctx, err) < 0)
		return nsrun_err_kind(err, "policy");
	if (docker_resolve_image(ctx, err) < 0)
		return nsrun_err_kind(err, "config");
	docker_make_name(ctx);
	if (docker_build_create(ctx, err) < 0)
		return nsrun_err_kind(err, "config");
	return 0;
}

static void docker_ctx_init(struct docker_ctx *ctx, const struct nsrun_config *cfg)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->cancel_fd = cfg->cancel_fd;
	ctx->pidfd = -1;
	for (int i = 0; i < 2; i++)
		ctx->sync[i] = ctx->in[i] = ctx->out[i] = ctx->err[i] = -1;
	ctx->cgroup_mode = docker_cgroup_mode();
	ctx->start_us = monotonic_us();
}

int docker_run(const struct nsrun_config *cfg, struct nsrun_result *res, struct nsrun_error *err)
{
	struct nsrun_error cleanup_err;
	struct docker_ctx ctx;
	int r;

	memset(res, 0, sizeof(*res));
	memset(err, 0, sizeof(*err));
	docker_ctx_init(&ctx, cfg);
	r = docker_prepare(&ctx, err);
	if (r == 0)
		r = docker_check_image(&ctx, err);
	if (r == 0 && !ctx.cancel_signal)
		r = docker_create(&ctx, err);
	if (r == 0 && !ctx.cancel_signal)
		r = docker_start(&ctx, err);
	if (r == 0 && !ctx.cancel_signal)
		r = docker_wait_started(&ctx, err);
	if (r == 0 && !ctx.cancel_signal)
		r = docker_supervise(&ctx, res, err);
	else if (r == 0)
		docker_cancelled_result(&ctx, res);
	res->cgroup_mode = ctx.cgroup_mode;
	docker_cleanup(&ctx);
	memset(&cleanup_err, 0, sizeof(cleanup_err));
	if (docker_remove(&ctx, &cleanup_err) < 0 && r == 0) {
		*err = cleanup_err;
		r = -(err->code ? err->code : EIO);
	}
	docker_stop_watchdog(&ctx);
	if (ctx.ended_us) {
		uint64_t now = monotonic_us();

		res->teardown_us = now - ctx.ended_us;
		res->wall_ms = (now - ctx.start_us) / 1000;
	}
	if (r < 0)
		nsrun_result_free(res);
	return r;
}
