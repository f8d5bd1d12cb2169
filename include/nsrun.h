/* libnsrun: run an untrusted Python script in a namespace sandbox.
 *
 * The library never prints and never exits; every failure comes back as a
 * negative errno-style return with a filled struct nsrun_error.  nsrun_run()
 * forks: call it from a single-threaded process (or accept that another
 * thread may hold a malloc lock at clone time).
 */
#ifndef NSRUN_H
#define NSRUN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NSRUN_PUBLIC __attribute__((visibility("default")))
#else
#define NSRUN_PUBLIC
#endif

#define NSRUN_VERSION "0.1.0"

/* Exit-code contract of the CLI (also useful to embedders). */
enum {
	NSRUN_EXIT_TIMEOUT = 124,
	NSRUN_EXIT_SETUP = 125,
	NSRUN_EXIT_CANNOT_EXEC = 126,
	NSRUN_EXIT_NOT_FOUND = 127,
};

enum nsrun_backend { NSRUN_BACKEND_NATIVE = 0, NSRUN_BACKEND_DOCKER = 1 };

struct nsrun_bind {
	const char *source; /* host path */
	const char *target; /* absolute path inside the sandbox */
};

struct nsrun_config {
	size_t struct_size; /* set by nsrun_config_init() */
	enum nsrun_backend backend;
	const char *rootfs;	    /* host directory holding the Python rootfs; NULL = installed one */
	const char *script;	    /* host path, mounted read-only at /app/script.py */
	const char *const *args;    /* script arguments, NULL-terminated (may be NULL) */
	const char *const *env;	    /* extra "K=V" entries, NULL-terminated (may be NULL) */
	const struct nsrun_bind *binds;
	size_t n_binds;
	uint64_t memory_bytes;	    /* cgroup memory limit; swap is always off */
	uint64_t pids_limit;	    /* cgroup pids.max and RLIMIT_NPROC */
	uint64_t timeout_ms;	    /* wall clock, from the moment the sandbox is released */
	uint64_t cpu_time_ms;	    /* CPU time per process (RLIMIT_CPU); 0 = no limit */
	uint64_t output_limit;	    /* bytes kept per stream; the rest is counted and dropped; 0 = no limit */
	uint64_t nofile_limit;	    /* RLIMIT_NOFILE */
	uint64_t tmpfs_bytes;	    /* > 0: a writable tmpfs of this size at /tmp (counts as memory) */
	const char *seccomp_policy; /* OCI/Docker seccomp JSON; NULL = built-in default path */
	const char *docker_image;   /* docker backend; NULL = the image imported from rootfs */
	int allow_no_memory_limit;  /* run even when no cgroup can enforce the limits */
	int stdin_fd;		    /* relayed through a pipe; -1 = empty stdin */
	int stdout_fd;		    /* where the script's stdout is relayed; -1 = capture */
	int stderr_fd;		    /* same for stderr */
	int cancel_fd;		    /* readable => kill the sandbox (e.g. a signalfd); -1 = none */
	/* Added after 0.1.0: read only when struct_size covers it. */
	const char *policy_cache_dir; /* compiled seccomp programs kept here (docs/policy-cache.md);
				       * NULL = no cache, compile on every run */
};

enum nsrun_status {
	NSRUN_STATUS_OK = 0,
	NSRUN_STATUS_EXITED_NONZERO,
	NSRUN_STATUS_SIGNALED,
	NSRUN_STATUS_TIMEOUT,
	NSRUN_STATUS_MEMORY_LIMIT,
	NSRUN_STATUS_OUTPUT_LIMIT,
	NSRUN_STATUS_CANCELLED,
};

enum nsrun_cgroup_mode { NSRUN_CGROUP_NONE = 0, NSRUN_CGROUP_V1 = 1, NSRUN_CGROUP_V2 = 2 };

struct nsrun_result {
	enum nsrun_status status;
	int exit_code;	   /* valid when the script exited; -1 otherwise */
	int term_signal;   /* signal that ended the script, 0 if it exited */
	int cancel_signal; /* signal number read from cancel_fd, if any */
	int timed_out;	   /* wall-clock or CPU-time limit */
	int cpu_timed_out; /* the CPU-time limit (SIGXCPU / RLIMIT_CPU) ended it */
	int oom_killed;	   /* from the cgroup's OOM-kill counter, not guessed */
	uint64_t oom_kill_count;
	uint64_t wall_ms;
	uint64_t setup_ms; /* from nsrun_run() to the execve of Python */
	uint64_t cpu_ms, user_ms, sys_ms;
	int cpu_known; /* 0 after nsrun killed the sandbox (wall timeout, cancel): then the
			* kernel does not account the processes it zaps to init's usage */
	uint64_t memory_peak_bytes;
	enum nsrun_cgroup_mode cgroup_mode;
	char *stdout_buf; /* captured output when stdout_fd == -1; free with nsrun_result_free */
	size_t stdout_len;
	char *stderr_buf;
	size_t stderr_len;
	uint64_t stdout_bytes; /* everything the script wrote, counted past the limit too */
	uint64_t stderr_bytes;
	int stdout_truncated;
	int stderr_truncated;
	/* Finer than setup_ms, for measuring nsrun itself: */
	uint64_t setup_us;    /* from nsrun_run() to the execve of Python */
	uint64_t teardown_us; /* from the script's end to the sandbox removed (cgroup included) */
};

struct nsrun_error {
	int code;	/* errno value, 0 when not an OS error */
	char kind[32];	/* "usage", "input", "rootfs", "policy", "cgroup_unavailable", ... */
	char msg[240];	/* "context: detail" */
	char hint[240]; /* how to fix it, may be empty */
};

/* Fill cfg with the defaults and struct_size.  The macro passes the
 * caller's sizeof(*cfg): a program built against an older nsrun.h keeps
 * working with a newer library, which neither writes nor reads the fields
 * past its struct_size (they keep their defaults).  The function of the
 * same name remains for programs built against 0.1.0. */
NSRUN_PUBLIC void nsrun_config_init_sized(struct nsrun_config *cfg, size_t size);
NSRUN_PUBLIC void nsrun_config_init(struct nsrun_config *cfg);
#define nsrun_config_init(cfg) nsrun_config_init_sized((cfg), sizeof(*(cfg)))

/* 0: the script ran (whatever its outcome) and *res is filled.
 * <0: nsrun could not run it; *err says why and *res holds no output. */
NSRUN_PUBLIC int nsrun_run(const struct nsrun_config *cfg, struct nsrun_result *res,
			   struct nsrun_error *err);

NSRUN_PUBLIC void nsrun_result_free(struct nsrun_result *res);

/* The exit code the CLI uses for a result: the script's status, 128+N for
 * signal N (137 for an OOM kill), 124 for a timeout. */
NSRUN_PUBLIC int nsrun_result_exit_code(const struct nsrun_result *res);

NSRUN_PUBLIC const char *nsrun_status_name(enum nsrun_status status);

/* One line for people: "Execution timed out after 10 seconds.", ... */
NSRUN_PUBLIC void nsrun_result_message(const struct nsrun_config *cfg,
				       const struct nsrun_result *res, char *buf, size_t size);

/* The versioned JSON result document (see docs/result-schema.md).  err is
 * NULL for a run that happened, or nsrun_run()'s error for a setup error.
 * Returns a malloc'd string, or NULL when out of memory. */
NSRUN_PUBLIC char *nsrun_result_json(const struct nsrun_config *cfg, const struct nsrun_result *res,
				     const struct nsrun_error *err);

/* Strict parsers shared by the CLI and embedders: "128M", "1.5s", "500ms". */
NSRUN_PUBLIC int nsrun_parse_size(const char *text, uint64_t *ret_bytes);
NSRUN_PUBLIC int nsrun_parse_duration(const char *text, uint64_t *ret_ms);

#ifdef __cplusplus
}
#endif
#endif
