/* nsrun: the command-line client of libnsrun.  Parses options, finds the
 * rootfs and policy, relays the caller's signals as a cancel request, and
 * turns the result into messages and the documented exit code. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "nsrun.h"
#include "check_policy.h"
#include "compare.h"
#include "doctor_cli.h"
#include "paths.h"

#define MAX_BINDS 64

#define MAX_ENV 256

enum output_mode { OUTPUT_RELAY, OUTPUT_JSON };

struct cli {
	struct nsrun_config cfg;
	struct nsrun_bind binds[MAX_BINDS];
	const char *env[MAX_ENV + 1];
	size_t n_env;
	char rootfs[PATH_MAX];
	char policy[PATH_MAX];
	char policy_cache[PATH_MAX];
	bool no_policy_cache;
	enum output_mode mode;
	bool output_limit_given;
	int result_fd;	     /* -1: no result document besides --json */
	const char *stdin_path;
};

enum {
	OPT_MEMORY = 256,
	OPT_TIMEOUT,
	OPT_PIDS,
	OPT_ROOTFS,
	OPT_BIND_RO,
	OPT_POLICY,
	OPT_ALLOW_NO_MEMORY_LIMIT,
	OPT_BACKEND,
	OPT_DOCKER_IMAGE,
	OPT_JSON,
	OPT_RESULT_FD,
	OPT_RESULT_FILE,
	OPT_OUTPUT_LIMIT,
	OPT_CPU_TIME,
	OPT_NOFILE,
	OPT_TMPFS,
	OPT_ENV,
	OPT_STDIN,
	OPT_VERSION,
	OPT_NO_POLICY_CACHE,
};

static const struct option long_options[] = {
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"pids-limit", required_argument, NULL, OPT_PIDS},
	{"rootfs", required_argument, NULL, OPT_ROOTFS},
	{"bind-ro", required_argument, NULL, OPT_BIND_RO},
	{"seccomp-policy", required_argument, NULL, OPT_POLICY},
	{"no-policy-cache", no_argument, NULL, OPT_NO_POLICY_CACHE},
	{"allow-no-memory-limit", no_argument, NULL, OPT_ALLOW_NO_MEMORY_LIMIT},
	{"backend", required_argument, NULL, OPT_BACKEND},
	{"docker-image", required_argument, NULL, OPT_DOCKER_IMAGE},
	{"json", no_argument, NULL, OPT_JSON},
	{"result-fd", required_argument, NULL, OPT_RESULT_FD},
	{"result", required_argument, NULL, OPT_RESULT_FILE},
	{"output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT},
	{"cpu-time", required_argument, NULL, OPT_CPU_TIME},
	{"nofile", required_argument, NULL, OPT_NOFILE},
	{"tmpfs", required_argument, NULL, OPT_TMPFS},
	{"env", required_argument, NULL, OPT_ENV},
	{"stdin", required_argument, NULL, OPT_STDIN},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fputs("Usage: nsrun [OPTIONS] SCRIPT.py [ARGS...]\n"
	      "       nsrun compare [--timeout D] [DIR]   native vs docker on check scripts\n"
	      "       nsrun doctor [--json]               what this host lets nsrun enforce\n"
	      "Run an untrusted Python script in a read-only, network-less sandbox.\n\n"
	      "  --memory SIZE            memory limit, swap off (default 128M; K, M, G suffixes)\n"
	      "  --timeout DURATION       wall-clock limit (default 10s; ms, s, m, h suffixes)\n"
	      "  --pids-limit N           maximum number of processes (default 64)\n"
	      "  --rootfs DIR             Python root filesystem (default: found automatically,\n"
	      "                           or $NSRUN_ROOTFS)\n"
	      "  --bind-ro SRC:DST        also mount host path SRC read-only at DST (repeatable;\n"
	      "                           DST under /app is created)\n"
	      "  --seccomp-policy FILE    OCI/Docker seccomp profile (default: policy/seccomp.json,\n"
	      "                           or $NSRUN_SECCOMP_POLICY)\n"
	      "  --check-policy FILE...   validate seccomp profiles, run nothing (exit 0 or 125)\n"
	      "  --no-policy-cache        compile the seccomp profile, do not use or fill the\n"
	      "                           cache of compiled ones ($XDG_CACHE_HOME/nsrun or\n"
	      "                           ~/.cache/nsrun)\n"
	      "  --allow-no-memory-limit  run even when no cgroup can enforce the memory and pids\n"
	      "                           limits (UNSAFE: the script may use all memory)\n"
	      "  --cpu-time DURATION      CPU-time limit per process (whole seconds, RLIMIT_CPU)\n"
	      "  --output-limit SIZE      bytes kept per output stream; the rest is counted and\n"
	      "                           dropped (default: 1M with --json, unlimited otherwise)\n"
	      "  --nofile N               open-files limit (default 1024)\n"
	      "  --tmpfs /tmp:SIZE        a writable /tmp of SIZE, counted in the memory limit\n"
	      "                           (default: /tmp read-only, as docker --read-only)\n"
	      "  --env NAME=VALUE         add to the script's clean environment (repeatable)\n"
	      "  --stdin FILE             read the script's stdin from FILE (default: nsrun's stdin)\n"
	      "  --json                   capture the output and print a JSON result document\n"
	      "  --result-fd N            relay the output and write the JSON document to fd N\n"
	      "  --result FILE            relay the output and write the JSON document to FILE\n"
	      "  --backend native|docker  sandbox with kernel primitives (default) or docker run\n"
	      "  --docker-image IMAGE     image for the docker backend (default: the rootfs's)\n"
	      "  -h, --help               show this help\n"
	      "      --version            show the version\n\n"
	      "Exit status: the script's own; 128+N if killed by signal N (137: memory limit);\n"
	      "124 on timeout; 125 if nsrun itself failed; 126/127 if Python could not start.\n",
	      out);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("nsrun: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'nsrun --help' for more information.\n", stderr);
	return -1;
}

/* SRC:DST is split in place: argv strings are ours to modify, and nothing
 * needs to be allocated or freed. */
static int add_bind(struct cli *cli, char *spec)
{
	char *colon = strchr(spec, ':');
	size_t n = cli->cfg.n_binds;

	if (!colon || colon == spec || colon[1] == '\0')
		return usage_error("--bind-ro '%s': expected SRC:DST", spec);
	if (n == MAX_BINDS)
		return usage_error("too many --bind-ro options (at most 64): '%s'", spec);
	*colon = '\0';
	cli->binds[n].source = spec;
	cli->binds[n].target = colon + 1;
	cli->cfg.binds = cli->binds;
	cli->cfg.n_binds = n + 1;
	return 0;
}

static int parse_count(const char *text, uint64_t *ret)
{
	char *end;

	if (!text[0] || text[0] == '-')
		return -1;
	errno = 0;
	*ret = strtoull(text, &end, 10);
	return errno || *end ? -1 : 0;
}

static int parse_tmpfs(struct nsrun_config *cfg, const char *arg)
{
	if (strncmp(arg, "/tmp:", 5) != 0 || nsrun_parse_size(arg + 5, &cfg->tmpfs_bytes) < 0 ||
	    cfg->tmpfs_bytes == 0)
		return usage_error("--tmpfs '%s': expected /tmp:SIZE (e.g. /tmp:16M)", arg);
	return 0;
}

static int apply_limit_option(struct cli *cli, int opt, const char *arg)
{
	struct nsrun_config *cfg = &cli->cfg;

	switch (opt) {
	case OPT_MEMORY:
		return nsrun_parse_size(arg, &cfg->memory_bytes) < 0
			       ? usage_error("--memory: invalid size '%s' (e.g. 128M, 1G)", arg)
			       : 0;
	case OPT_TIMEOUT:
		return nsrun_parse_duration(arg, &cfg->timeout_ms) < 0 || cfg->timeout_ms == 0
			       ? usage_error("--timeout: invalid duration '%s' (e.g. 10s, 1.5s, 500ms)", arg)
			       : 0;
	case OPT_CPU_TIME:
		return nsrun_parse_duration(arg, &cfg->cpu_time_ms) < 0 || cfg->cpu_time_ms == 0
			       ? usage_error("--cpu-time: invalid duration '%s' (e.g. 2s)", arg)
			       : 0;
	case OPT_PIDS:
		return parse_count(arg, &cfg->pids_limit) < 0
			       ? usage_error("--pids-limit: invalid number '%s'", arg)
			       : 0;
	case OPT_NOFILE:
		return parse_count(arg, &cfg->nofile_limit) < 0
			       ? usage_error("--nofile: invalid number '%s'", arg)
			       : 0;
	case OPT_OUTPUT_LIMIT:
		cli->output_limit_given = true;
		return nsrun_parse_size(arg, &cfg->output_limit) < 0
			       ? usage_error("--output-limit: invalid size '%s' (e.g. 1M)", arg)
			       : 0;
	default:
		return parse_tmpfs(cfg, arg);
	}
}

static int open_result_file(struct cli *cli, const char *arg, int opt)
{
	uint64_t fd;

	if (opt == OPT_RESULT_FILE)
		cli->result_fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	else if (parse_count(arg, &fd) == 0 && fd > 2 && fd < INT32_MAX &&
		 fcntl((int)fd, F_GETFD) >= 0)
		cli->result_fd = (int)fd;
	else
		return usage_error("--result-fd: '%s' is not an open file descriptor above 2", arg);
	if (cli->result_fd < 0) {
		fprintf(stderr, "nsrun: --result: cannot open '%s': %s\n", arg, strerror(errno));
		return -1;
	}
	return 0;
}

static int apply_io_option(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case OPT_JSON:
		cli->mode = OUTPUT_JSON;
		return 0;
	case OPT_RESULT_FD:
	case OPT_RESULT_FILE:
		return open_result_file(cli, arg, opt);
	case OPT_ENV:
		if (!strchr(arg, '=') || arg[0] == '=')
			return usage_error("--env '%s': expected NAME=VALUE", arg);
		if (cli->n_env == MAX_ENV)
			return usage_error("too many --env options: '%s'", arg);
		cli->env[cli->n_env++] = arg;
		cli->cfg.env = cli->env;
		return 0;
	default:
		cli->stdin_path = arg;
		return 0;
	}
}

static int apply_sandbox_option(struct cli *cli, int opt, char *arg)
{
	struct nsrun_config *cfg = &cli->cfg;

	switch (opt) {
	case OPT_ROOTFS:
		cfg->rootfs = arg;
		return 0;
	case OPT_BIND_RO:
		return add_bind(cli, arg);
	case OPT_POLICY:
		cfg->seccomp_policy = arg;
		return 0;
	case OPT_NO_POLICY_CACHE:
		cli->no_policy_cache = true;
		return 0;
	case OPT_ALLOW_NO_MEMORY_LIMIT:
		cfg->allow_no_memory_limit = 1;
		return 0;
	case OPT_BACKEND:
		if (strcmp(arg, "native") != 0 && strcmp(arg, "docker") != 0)
			return usage_error("--backend: '%s' is not native or docker", arg);
		cfg->backend = strcmp(arg, "docker") == 0 ? NSRUN_BACKEND_DOCKER : NSRUN_BACKEND_NATIVE;
		return 0;
	case OPT_DOCKER_IMAGE:
		cfg->docker_image = arg;
		return 0;
	default:
		return -1; /* getopt already said what was wrong */
	}
}

static int apply_option(struct cli *cli, int opt, char *arg)
{
	switch (opt) {
	case OPT_MEMORY:
	case OPT_TIMEOUT:
	case OPT_CPU_TIME:
	case OPT_PIDS:
	case OPT_NOFILE:
	case OPT_OUTPUT_LIMIT:
	case OPT_TMPFS:
		return apply_limit_option(cli, opt, arg);
	case OPT_JSON:
	case OPT_RESULT_FD:
	case OPT_RESULT_FILE:
	case OPT_ENV:
	case OPT_STDIN:
		return apply_io_option(cli, opt, arg);
	default:
		return apply_sandbox_option(cli, opt, arg);
	}
}

/* Returns 1 when --help or --version was handled, 0 to run, -1 on error. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
	int opt;

	/* "+": options end at the script, so its own arguments pass untouched;
	 * ":" and opterr = 0: the messages below say "nsrun:", not argv[0]. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", long_options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == OPT_VERSION) {
			printf("nsrun %s\n", NSRUN_VERSION);
			return 1;
		}
		if (opt == '?')
			return usage_error("unrecognized option '%s'", argv[optind - 1]);
		if (opt == ':')
			return usage_error("option '%s' requires an argument", argv[optind - 1]);
		if (apply_option(cli, opt, optarg) < 0)
			return -1;
	}
	if (optind >= argc)
		return usage_error("%s", "no script given");
	cli->cfg.script = argv[optind];
	cli->cfg.args = (const char *const *)&argv[optind + 1];
	return 0;
}

static int resolve_paths(struct cli *cli)
{
	if (!cli->cfg.rootfs && !(cli->cfg.rootfs = paths_find_rootfs(cli->rootfs, sizeof(cli->rootfs)))) {
		fputs("nsrun: no Python rootfs found\n"
		      "nsrun: hint: build it with scripts/build-rootfs, or pass --rootfs DIR\n",
		      stderr);
		return -1;
	}
	if (!cli->cfg.seccomp_policy &&
	    !(cli->cfg.seccomp_policy = paths_find_policy(cli->policy, sizeof(cli->policy)))) {
		fputs("nsrun: no seccomp policy found\n"
		      "nsrun: hint: pass --seccomp-policy FILE (policy/seccomp.json in the source tree)\n",
		      stderr);
		return -1;
	}
	if (!cli->no_policy_cache)
		cli->cfg.policy_cache_dir = paths_policy_cache(cli->policy_cache,
							       sizeof(cli->policy_cache));
	return 0;
}

/* The caller's SIGINT/SIGTERM/SIGHUP become a cancel request, so nsrun
 * always gets to kill the sandbox and remove its cgroup. */
static int cancel_on_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill the supervisor */
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* People get one line on stderr for the outcomes nsrun itself caused. */
static void report(const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	char message[160];

	nsrun_result_message(cfg, res, message, sizeof(message));
	switch (res->status) {
	case NSRUN_STATUS_TIMEOUT:
		fprintf(stderr, "%s\n", message);
		break;
	case NSRUN_STATUS_MEMORY_LIMIT:
	case NSRUN_STATUS_OUTPUT_LIMIT:
	case NSRUN_STATUS_CANCELLED:
		fprintf(stderr, "nsrun: %s\n", message);
		break;
	default:
		break;
	}
	if (res->cgroup_mode == NSRUN_CGROUP_NONE && cfg->backend == NSRUN_BACKEND_NATIVE)
		fputs("nsrun: warning: ran WITHOUT memory and pids limits (--allow-no-memory-limit)\n",
		      stderr);
}

static void print_error(const struct nsrun_error *err)
{
	fprintf(stderr, "nsrun: %s\n", err->msg);
	if (err->hint[0])
		fprintf(stderr, "nsrun: hint: %s\n", err->hint);
	/* The host is not ready: the doctor checks everything at once. */
	if (strcmp(err->kind, "userns_denied") == 0 || strcmp(err->kind, "cgroup_unavailable") == 0)
		fputs("nsrun: run `nsrun doctor` for a full check of this host\n", stderr);
}

/* The JSON document goes to stdout (--json) and/or the result fd. */
static void emit_document(const struct cli *cli, const struct nsrun_result *res,
			  const struct nsrun_error *err)
{
	char *doc;

	if (cli->mode != OUTPUT_JSON && cli->result_fd < 0)
		return;
	doc = nsrun_result_json(&cli->cfg, res, err);
	if (!doc) {
		fputs("nsrun: out of memory writing the result document\n", stderr);
		return;
	}
	if (cli->mode == OUTPUT_JSON) {
		fputs(doc, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	if (cli->result_fd >= 0 && (dprintf(cli->result_fd, "%s\n", doc) < 0))
		perror("nsrun: writing the result document");
	free(doc);
}

static int setup_failed(const struct cli *cli, const struct nsrun_error *err)
{
	print_error(err);
	emit_document(cli, NULL, err);
	return NSRUN_EXIT_SETUP;
}

static int prepare_io(struct cli *cli, struct nsrun_error *err)
{
	struct nsrun_config *cfg = &cli->cfg;
	int captured = cli->mode == OUTPUT_JSON;

	cfg->stdout_fd = captured ? -1 : STDOUT_FILENO;
	cfg->stderr_fd = captured ? -1 : STDERR_FILENO;
	/* Relayed output is untouched unless a limit was asked for. */
	if (!captured && !cli->output_limit_given)
		cfg->output_limit = 0;
	cfg->stdin_fd = STDIN_FILENO;
	if (cli->stdin_path) {
		cfg->stdin_fd = open(cli->stdin_path, O_RDONLY | O_CLOEXEC);
		if (cfg->stdin_fd < 0) {
			snprintf(err->msg, sizeof(err->msg), "--stdin %s: %s", cli->stdin_path,
				 strerror(errno));
			snprintf(err->kind, sizeof(err->kind), "input");
			err->code = errno;
			return -1;
		}
	}
	cfg->cancel_fd = cancel_on_signals();
	if (cfg->cancel_fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "signalfd: %s", strerror(errno));
		err->code = errno;
		return -1;
	}
	return 0;
}

static int run(struct cli *cli)
{
	struct nsrun_result res;
	struct nsrun_error err;
	int code;

	memset(&err, 0, sizeof(err));
	if (prepare_io(cli, &err) < 0 || nsrun_run(&cli->cfg, &res, &err) < 0)
		return setup_failed(cli, &err);
	emit_document(cli, &res, NULL);
	if (cli->mode != OUTPUT_JSON)
		report(&cli->cfg, &res);
	code = nsrun_result_exit_code(&res);
	nsrun_result_free(&res);
	return code;
}

/* Is --json among the options (before the script)?  Then even a usage
 * error is answered with a document. */
static bool wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--json") == 0)
			return true;
	}
	return false;
}

static int usage_failed(const struct cli *cli, int argc, char **argv)
{
	struct nsrun_error err;

	if (!wants_json(argc, argv))
		return NSRUN_EXIT_SETUP;
	memset(&err, 0, sizeof(err));
	snprintf(err.msg, sizeof(err.msg), "invalid command line (see nsrun --help)");
	snprintf(err.kind, sizeof(err.kind), "usage");
	emit_document(cli, NULL, &err);
	return NSRUN_EXIT_SETUP;
}

/* A caller may start nsrun with stdin, stdout or stderr closed; the fds
 * nsrun opens must not land on 0-2 and be taken for them. */
static int ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int null = open("/dev/null", O_RDWR);

		if (null != fd)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli;
	int r;

	if (ensure_std_fds() < 0)
		return NSRUN_EXIT_SETUP;

	if (argc > 1 && strcmp(argv[1], "compare") == 0)
		return compare_main(argc - 1, argv + 1);
	if (argc > 1 && check_policy_wanted(argv[1]))
		return check_policy_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "doctor") == 0)
		return doctor_main(argc - 1, argv + 1);
	memset(&cli, 0, sizeof(cli));
	nsrun_config_init(&cli.cfg);
	cli.result_fd = -1;
	r = parse_args(argc, argv, &cli);
	if (r > 0)
		return 0;
	if (r < 0) {
		cli.mode = OUTPUT_JSON;
		return usage_failed(&cli, argc, argv);
	}
	if (resolve_paths(&cli) < 0) {
		struct nsrun_error err = {.kind = "rootfs", .msg = "no Python rootfs or seccomp policy found"};

		emit_document(&cli, NULL, &err);
		return NSRUN_EXIT_SETUP;
	}
	return run(&cli);
}
