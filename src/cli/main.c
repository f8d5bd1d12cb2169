/* nsrun: the command-line client of libnsrun.  Parses options, finds the
 * rootfs and policy, relays the caller's signals as a cancel request, and
 * turns the result into messages and the documented exit code. */
#include <errno.h>
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
#include "paths.h"

#define MAX_BINDS 64

struct cli {
	struct nsrun_config cfg;
	struct nsrun_bind binds[MAX_BINDS];
	char rootfs[PATH_MAX];
	char policy[PATH_MAX];
};

enum {
	OPT_MEMORY = 256,
	OPT_TIMEOUT,
	OPT_PIDS,
	OPT_ROOTFS,
	OPT_BIND_RO,
	OPT_POLICY,
	OPT_ALLOW_NO_MEMORY_LIMIT,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"pids-limit", required_argument, NULL, OPT_PIDS},
	{"rootfs", required_argument, NULL, OPT_ROOTFS},
	{"bind-ro", required_argument, NULL, OPT_BIND_RO},
	{"seccomp-policy", required_argument, NULL, OPT_POLICY},
	{"allow-no-memory-limit", no_argument, NULL, OPT_ALLOW_NO_MEMORY_LIMIT},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fputs("Usage: nsrun [OPTIONS] SCRIPT.py [ARGS...]\n"
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
	      "  --allow-no-memory-limit  run even when no cgroup can enforce the memory and pids\n"
	      "                           limits (UNSAFE: the script may use all memory)\n"
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

static int add_bind(struct cli *cli, const char *spec)
{
	const char *colon = strchr(spec, ':');
	size_t n = cli->cfg.n_binds;

	if (!colon || colon == spec || colon[1] == '\0')
		return usage_error("--bind-ro '%s': expected SRC:DST", spec);
	if (n == MAX_BINDS)
		return usage_error("too many --bind-ro options (at most 64): '%s'", spec);
	cli->binds[n].source = strndup(spec, (size_t)(colon - spec));
	cli->binds[n].target = colon + 1;
	if (!cli->binds[n].source)
		return usage_error("out of memory at '%s'", spec);
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

static int apply_option(struct cli *cli, int opt, const char *arg)
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
	case OPT_PIDS:
		return parse_count(arg, &cfg->pids_limit) < 0
			       ? usage_error("--pids-limit: invalid number '%s'", arg)
			       : 0;
	case OPT_ROOTFS:
		cfg->rootfs = arg;
		return 0;
	case OPT_BIND_RO:
		return add_bind(cli, arg);
	case OPT_POLICY:
		cfg->seccomp_policy = arg;
		return 0;
	case OPT_ALLOW_NO_MEMORY_LIMIT:
		cfg->allow_no_memory_limit = 1;
		return 0;
	default:
		return -1; /* getopt already said what was wrong */
	}
}

/* Returns 1 when --help or --version was handled, 0 to run, -1 on error. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
	int opt;

	/* "+": options end at the script, so its own arguments pass untouched. */
	while ((opt = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == OPT_VERSION) {
			printf("nsrun %s\n", NSRUN_VERSION);
			return 1;
		}
		if (opt == '?' || apply_option(cli, opt, optarg) < 0) {
			if (opt == '?')
				fputs("Try 'nsrun --help' for more information.\n", stderr);
			return -1;
		}
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

static void format_duration(uint64_t ms, char *buf, size_t size)
{
	uint64_t whole = ms / 1000, frac = ms % 1000;
	int digits = 3;

	while (frac && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	if (frac)
		snprintf(buf, size, "%" PRIu64 ".%0*" PRIu64 " seconds", whole, digits, frac);
	else
		snprintf(buf, size, "%" PRIu64 " second%s", whole, whole == 1 ? "" : "s");
}

static void format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGT";
	int unit = -1;

	while (unit < 3 && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		unit++;
	}
	if (unit < 0)
		snprintf(buf, size, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, size, "%" PRIu64 "%c", bytes, units[unit]);
}

static void report(const struct nsrun_config *cfg, const struct nsrun_result *res)
{
	char text[64];

	switch (res->status) {
	case NSRUN_STATUS_TIMEOUT:
		format_duration(cfg->timeout_ms, text, sizeof(text));
		fprintf(stderr, "Execution timed out after %s.\n", text);
		break;
	case NSRUN_STATUS_MEMORY_LIMIT:
		format_size(cfg->memory_bytes, text, sizeof(text));
		fprintf(stderr, "nsrun: memory limit of %s reached: the script was killed (OOM)\n", text);
		break;
	case NSRUN_STATUS_CANCELLED:
		fprintf(stderr, "nsrun: interrupted by %s: the sandbox was killed\n",
			strsignal(res->cancel_signal));
		break;
	default:
		break;
	}
}

static int print_error(const struct nsrun_error *err)
{
	fprintf(stderr, "nsrun: %s\n", err->msg);
	if (err->hint[0])
		fprintf(stderr, "nsrun: hint: %s\n", err->hint);
	return NSRUN_EXIT_SETUP;
}

static int run(struct cli *cli)
{
	struct nsrun_result res;
	struct nsrun_error err;
	int code;

	cli->cfg.cancel_fd = cancel_on_signals();
	if (cli->cfg.cancel_fd < 0) {
		perror("nsrun: signalfd");
		return NSRUN_EXIT_SETUP;
	}
	cli->cfg.stdin_fd = STDIN_FILENO;
	cli->cfg.stdout_fd = STDOUT_FILENO;
	cli->cfg.stderr_fd = STDERR_FILENO;
	if (nsrun_run(&cli->cfg, &res, &err) < 0)
		return print_error(&err);
	if (res.cgroup_mode == NSRUN_CGROUP_NONE)
		fputs("nsrun: warning: ran WITHOUT memory and pids limits (--allow-no-memory-limit)\n",
		      stderr);
	report(&cli->cfg, &res);
	code = nsrun_result_exit_code(&res);
	nsrun_result_free(&res);
	return code;
}

int main(int argc, char **argv)
{
	struct cli cli;
	int r;

	memset(&cli, 0, sizeof(cli));
	nsrun_config_init(&cli.cfg);
	r = parse_args(argc, argv, &cli);
	if (r != 0)
		return r > 0 ? 0 : NSRUN_EXIT_SETUP;
	if (resolve_paths(&cli) < 0)
		return NSRUN_EXIT_SETUP;
	r = run(&cli);
	for (size_t i = 0; i < cli.cfg.n_binds; i++)
		free((char *)cli.binds[i].source);
	return r;
}
