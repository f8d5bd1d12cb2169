/* `nsrun compare [DIR]`: run every check of DIR under the native and the
 * docker backend and print one table row per check: what was expected,
 * what each backend did, how long each took, and whether they agree.
 *
 * A check is NAME.py with its expectation in NAME.expect, one per line:
 *     exit N                  the exit code nsrun gives (required)
 *     status NAME             nsrun's verdict: ok, exited_nonzero, timeout, ...
 *     stdout_contains TEXT    the captured stdout holds TEXT
 *     stderr_contains TEXT    the captured stderr holds TEXT
 *     message_contains TEXT   nsrun's own one-line verdict (what the CLI
 *                             prints, e.g. "Execution timed out after ...")
 * Blank lines and lines starting with '#' are ignored. */
#include "compare.h"

#include <dirent.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nsrun.h"
#include "paths.h"

#define CMP_MAX_CHECKS 256
#define CMP_MAX_TEXTS 16
#define CMP_TEXT_MAX 256
#define CMP_NAME_MAX 64

enum cmp_where { CMP_STDOUT, CMP_STDERR, CMP_MESSAGE };

struct cmp_expect {
	int exit_code;
	char status[32]; /* empty: any */
	size_t n_texts;
	struct {
		enum cmp_where where;
		char text[CMP_TEXT_MAX];
	} texts[CMP_MAX_TEXTS];
};

enum cmp_state { CMP_NOT_RUN, CMP_RAN, CMP_ERROR, CMP_SKIPPED };

struct cmp_outcome {
	enum cmp_state state;
	int exit_code;
	enum nsrun_status status;
	uint64_t ms;
	bool pass;
	char why[520];	   /* the first unmet expectation, or the error */
	char message[160]; /* nsrun's verdict line */
};

struct cmp_check {
	char name[CMP_NAME_MAX];
	char script[PATH_MAX + 260];
	struct cmp_expect expect;
	struct cmp_outcome out[2]; /* native, docker */
};

struct cmp_run {
	struct nsrun_config cfg;
	char rootfs[PATH_MAX], policy[PATH_MAX], dir[PATH_MAX];
	struct cmp_check *checks;
	size_t n_checks;
	bool docker_skipped;
	char docker_reason[520];
	int cancel_signal;
};

static const char *const cmp_backend_names[2] = {"native", "docker"};

/* ------------------------------------------------------------------ */
/* reading the checks                                                  */

static int cmp_fail(const char *fmt, const char *a, const char *b)
{
	fputs("nsrun compare: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return -1;
}

static bool cmp_known_status(const char *name)
{
	for (int s = NSRUN_STATUS_OK; strcmp(nsrun_status_name((enum nsrun_status)s), "unknown") != 0;
	     s++)
		if (strcmp(nsrun_status_name((enum nsrun_status)s), name) == 0)
			return true;
	return false;
}

static int cmp_parse_exit(const char *value, int *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno || end == value || *end || n < 0 || n > 255)
		return -1;
	*ret = (int)n;
	return 0;
}

static int cmp_add_text(struct cmp_expect *ex, enum cmp_where where, const char *text)
{
	if (ex->n_texts == CMP_MAX_TEXTS || strlen(text) >= CMP_TEXT_MAX || !text[0])
		return -1;
	ex->texts[ex->n_texts].where = where;
	snprintf(ex->texts[ex->n_texts].text, CMP_TEXT_MAX, "%s", text);
	ex->n_texts++;
	return 0;
}

/* One "key value" line; returns 0, or -1 for a line that means nothing. */
static int cmp_parse_line(struct cmp_expect *ex, char *line, bool *have_exit)
{
	char *value = strchr(line, ' ');

	if (!value)
		return -1;
	*value++ = '\0';
	if (strcmp(line, "exit") == 0) {
		*have_exit = true;
		return cmp_parse_exit(value, &ex->exit_code);
	}
	if (strcmp(line, "status") == 0) {
		snprintf(ex->status, sizeof(ex->status), "%s", value);
		return cmp_known_status(value) ? 0 : -1;
	}
	if (strcmp(line, "stdout_contains") == 0)
		return cmp_add_text(ex, CMP_STDOUT, value);
	if (strcmp(line, "stderr_contains") == 0)
		return cmp_add_text(ex, CMP_STDERR, value);
	if (strcmp(line, "message_contains") == 0)
		return cmp_add_text(ex, CMP_MESSAGE, value);
	return -1;
}

static int cmp_read_expect(const char *path, struct cmp_expect *ex)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, r = 0;
	bool have_exit = false;

	if (!f)
		return cmp_fail("%s: %s", path, strerror(errno));
	while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
		char copy[CMP_TEXT_MAX + 32];

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		snprintf(copy, sizeof(copy), "%s", line);
		if (cmp_parse_line(ex, line, &have_exit) < 0) {
			fprintf(stderr, "nsrun compare: %s:%d: cannot use '%s' (see nsrun compare --help)\n",
				path, lineno, copy);
			r = -1;
		}
	}
	free(line);
	fclose(f);
	if (r == 0 && !have_exit)
		r = cmp_fail("%s: no 'exit N' line%s", path, "");
	return r;
}

static int cmp_by_name(const void *a, const void *b)
{
	return strcmp(((const struct cmp_check *)a)->name, ((const struct cmp_check *)b)->name);
}

/* NAME.py files (regular, not symlinks: nsrun refuses those anyway). */
static int cmp_list_scripts(struct cmp_run *run)
{
	DIR *dir = opendir(run->dir);
	struct dirent *entry;

	if (!dir)
		return cmp_fail("%s: %s", run->dir, strerror(errno));
	run->checks = calloc(CMP_MAX_CHECKS, sizeof(*run->checks));
	while (run->checks && (entry = readdir(dir))) {
		size_t len = strlen(entry->d_name);
		struct cmp_check *check = &run->checks[run->n_checks];

		if (len < 4 || strcmp(entry->d_name + len - 3, ".py") != 0 || entry->d_name[0] == '.')
			continue;
		if (len - 3 >= CMP_NAME_MAX || run->n_checks == CMP_MAX_CHECKS) {
			closedir(dir);
			return cmp_fail("%s: too many checks, or the name %s is too long", run->dir,
					entry->d_name);
		}
		snprintf(check->name, sizeof(check->name), "%.*s", (int)(len - 3), entry->d_name);
		snprintf(check->script, sizeof(check->script), "%s/%s", run->dir, entry->d_name);
		run->n_checks++;
	}
	closedir(dir);
	if (!run->checks)
		return cmp_fail("%s%s", "out of memory", "");
	if (run->n_checks == 0)
		return cmp_fail("%s: no checks (NAME.py with NAME.expect) found%s", run->dir, "");
	qsort(run->checks, run->n_checks, sizeof(*run->checks), cmp_by_name);
	return 0;
}

static int cmp_load_checks(struct cmp_run *run)
{
	char path[PATH_MAX + CMP_NAME_MAX + 16];

	if (cmp_list_scripts(run) < 0)
		return -1;
	for (size_t i = 0; i < run->n_checks; i++) {
		snprintf(path, sizeof(path), "%s/%s.expect", run->dir, run->checks[i].name);
		if (cmp_read_expect(path, &run->checks[i].expect) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* running them                                                        */

static uint64_t cmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool cmp_has(const char *buf, size_t len, const char *text)
{
	return buf && memmem(buf, len, text, strlen(text)) != NULL;
}

static void cmp_judge(const struct cmp_expect *ex, const struct nsrun_result *res,
		      struct cmp_outcome *out)
{
	static const char *const where_names[] = {"stdout", "stderr", "nsrun's message"};

	out->pass = false;
	if (out->exit_code != ex->exit_code) {
		snprintf(out->why, sizeof(out->why), "exit %d, expected %d", out->exit_code,
			 ex->exit_code);
		return;
	}
	if (ex->status[0] && strcmp(nsrun_status_name(out->status), ex->status) != 0) {
		snprintf(out->why, sizeof(out->why), "status %s, expected %s",
			 nsrun_status_name(out->status), ex->status);
		return;
	}
	for (size_t i = 0; i < ex->n_texts; i++) {
		enum cmp_where where = ex->texts[i].where;
		bool found = where == CMP_STDOUT   ? cmp_has(res->stdout_buf, res->stdout_len,
							     ex->texts[i].text)
			     : where == CMP_STDERR ? cmp_has(res->stderr_buf, res->stderr_len,
							     ex->texts[i].text)
						   : strstr(out->message, ex->texts[i].text) != NULL;

		if (!found) {
			snprintf(out->why, sizeof(out->why), "%s lacks \"%s\"", where_names[where],
				 ex->texts[i].text);
			return;
		}
	}
	out->pass = true;
}

static bool cmp_docker_unavailable(const struct nsrun_error *err)
{
	return strcmp(err->kind, "docker_unavailable") == 0 ||
	       strcmp(err->kind, "docker_image_missing") == 0;
}

static void cmp_run_one(struct cmp_run *run, struct cmp_check *check, int backend)
{
	struct cmp_outcome *out = &check->out[backend];
	struct nsrun_result res;
	struct nsrun_error err;
	uint64_t start = cmp_now_ms();
	int r;

	run->cfg.backend = backend ? NSRUN_BACKEND_DOCKER : NSRUN_BACKEND_NATIVE;
	run->cfg.script = check->script;
	r = nsrun_run(&run->cfg, &res, &err);
	out->ms = cmp_now_ms() - start;
	if (r < 0) {
		out->state = CMP_ERROR;
		snprintf(out->why, sizeof(out->why), "%s%s%s", err.msg, err.hint[0] ? "; hint: " : "",
			 err.hint);
		if (backend && cmp_docker_unavailable(&err)) {
			run->docker_skipped = true;
			out->state = CMP_SKIPPED;
			snprintf(run->docker_reason, sizeof(run->docker_reason), "%s", out->why);
		}
		return;
	}
	out->state = CMP_RAN;
	out->exit_code = nsrun_result_exit_code(&res);
	out->status = res.status;
	nsrun_result_message(&run->cfg, &res, out->message, sizeof(out->message));
	if (res.status == NSRUN_STATUS_CANCELLED)
		run->cancel_signal = res.cancel_signal;
	cmp_judge(&check->expect, &res, out);
	nsrun_result_free(&res);
}

static void cmp_run_all(struct cmp_run *run)
{
	for (size_t i = 0; i < run->n_checks && !run->cancel_signal; i++) {
		struct cmp_check *check = &run->checks[i];

		fprintf(stderr, "nsrun compare: %s ...\n", check->name);
		for (int backend = 0; backend < 2 && !run->cancel_signal; backend++) {
			if (backend == 1 && run->docker_skipped)
				check->out[1].state = CMP_SKIPPED;
			else
				cmp_run_one(run, check, backend);
		}
	}
}

/* ------------------------------------------------------------------ */
/* the table                                                           */

static bool cmp_agree(const struct cmp_check *check)
{
	const struct cmp_outcome *a = &check->out[0], *b = &check->out[1];

	return a->state == CMP_RAN && b->state == CMP_RAN && a->exit_code == b->exit_code &&
	       a->status == b->status && a->pass == b->pass;
}

static void cmp_expected_cell(const struct cmp_expect *ex, char *buf, size_t size)
{
	snprintf(buf, size, "%d %s", ex->exit_code, ex->status[0] ? ex->status : "(any status)");
}

static void cmp_outcome_cell(const struct cmp_outcome *out, char *buf, size_t size)
{
	switch (out->state) {
	case CMP_RAN:
		if (out->status == NSRUN_STATUS_CANCELLED)
			snprintf(buf, size, "interrupted");
		else
			snprintf(buf, size, "%s %d %s", out->pass ? "pass" : "FAIL", out->exit_code,
				 nsrun_status_name(out->status));
		break;
	case CMP_ERROR:
		snprintf(buf, size, "ERROR (setup)");
		break;
	case CMP_SKIPPED:
		snprintf(buf, size, "skipped");
		break;
	default:
		snprintf(buf, size, "not run");
		break;
	}
}

static void cmp_ms_cell(const struct cmp_outcome *out, char *buf, size_t size)
{
	if (out->state == CMP_RAN)
		snprintf(buf, size, "%" PRIu64, out->ms);
	else
		snprintf(buf, size, "-");
}

enum { COL_CHECK, COL_EXPECTED, COL_NATIVE, COL_DOCKER, COL_NATIVE_MS, COL_DOCKER_MS, COL_AGREE, N_COLS };

static void cmp_row_cells(const struct cmp_run *run, const struct cmp_check *check,
			  char cells[N_COLS][64])
{
	/* Agreement is only judged between two runs that were not interrupted. */
	bool judged = !run->docker_skipped && check->out[0].state != CMP_NOT_RUN &&
		      check->out[1].state != CMP_NOT_RUN &&
		      check->out[0].status != NSRUN_STATUS_CANCELLED &&
		      check->out[1].status != NSRUN_STATUS_CANCELLED;

	snprintf(cells[COL_CHECK], 64, "%s", check->name);
	cmp_expected_cell(&check->expect, cells[COL_EXPECTED], 64);
	cmp_outcome_cell(&check->out[0], cells[COL_NATIVE], 64);
	cmp_outcome_cell(&check->out[1], cells[COL_DOCKER], 64);
	cmp_ms_cell(&check->out[0], cells[COL_NATIVE_MS], 64);
	cmp_ms_cell(&check->out[1], cells[COL_DOCKER_MS], 64);
	snprintf(cells[COL_AGREE], 64, "%s", !judged ? "-" : (cmp_agree(check) ? "yes" : "NO"));
}

static void cmp_print_row(char cells[N_COLS][64], const int width[N_COLS])
{
	for (int c = 0; c < N_COLS; c++) {
		if (c == COL_NATIVE_MS || c == COL_DOCKER_MS)
			printf("  %*s", width[c], cells[c]);
		else if (c == N_COLS - 1) /* no trailing blanks */
			printf("  %s", cells[c]);
		else
			printf("%s%-*s", c ? "  " : "", width[c], cells[c]);
	}
	putchar('\n');
}

static void cmp_print_table(const struct cmp_run *run)
{
	char head[N_COLS][64] = {"CHECK", "EXPECTED", "NATIVE", "DOCKER", "NATIVE ms", "DOCKER ms", "AGREE"};
	char cells[N_COLS][64];
	int width[N_COLS];

	for (int c = 0; c < N_COLS; c++)
		width[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < run->n_checks; i++) {
		cmp_row_cells(run, &run->checks[i], cells);
		for (int c = 0; c < N_COLS; c++)
			if ((int)strlen(cells[c]) > width[c])
				width[c] = (int)strlen(cells[c]);
	}
	cmp_print_row(head, width);
	for (size_t i = 0; i < run->n_checks; i++) {
		cmp_row_cells(run, &run->checks[i], cells);
		cmp_print_row(cells, width);
	}
}

/* Under the table: every unmet expectation and error, with its reason. */
static void cmp_print_notes(const struct cmp_run *run)
{
	for (size_t i = 0; i < run->n_checks; i++) {
		const struct cmp_check *check = &run->checks[i];

		for (int b = 0; b < 2; b++) {
			const struct cmp_outcome *out = &check->out[b];

			if ((out->state == CMP_RAN && !out->pass && out->status != NSRUN_STATUS_CANCELLED) ||
			    out->state == CMP_ERROR)
				printf("  %s (%s): %s\n", check->name, cmp_backend_names[b], out->why);
		}
		if (!run->docker_skipped && check->out[0].state == CMP_RAN &&
		    check->out[1].state == CMP_RAN && !cmp_agree(check) && !run->cancel_signal)
			printf("  %s: the backends disagree\n", check->name);
	}
}

/* 0 when everything passed (and agreed, if docker ran), 1 otherwise, 125
 * when a native run could not even start. */
static int cmp_summary(const struct cmp_run *run)
{
	size_t native_ok = 0, both_ok = 0, native_errors = 0;

	for (size_t i = 0; i < run->n_checks; i++) {
		const struct cmp_check *check = &run->checks[i];

		native_ok += check->out[0].state == CMP_RAN && check->out[0].pass;
		native_errors += check->out[0].state == CMP_ERROR;
		both_ok += check->out[0].pass && check->out[1].pass && cmp_agree(check);
	}
	if (run->docker_skipped) {
		printf("\ndocker: skipped (%s)\n", run->docker_reason);
		printf("Only the native backend was checked: %zu of %zu checks passed.\n", native_ok,
		       run->n_checks);
	} else {
		printf("\n%zu of %zu checks met their expectations on both backends and agree.\n",
		       both_ok, run->n_checks);
	}
	if (native_errors)
		return NSRUN_EXIT_SETUP;
	if (run->docker_skipped)
		return native_ok == run->n_checks ? 0 : 1;
	return both_ok == run->n_checks ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* options                                                             */

static void cmp_usage(FILE *out)
{
	fputs("Usage: nsrun compare [OPTIONS] [DIR]\n"
	      "Run every check in DIR (NAME.py with its expectation in NAME.expect) under the\n"
	      "native and the docker backend, and print a table of outcomes, times and agreement.\n"
	      "DIR defaults to the six security checks shipped in tests/checks.\n\n"
	      "  --timeout DURATION     wall-clock limit of each run (default 10s)\n"
	      "  --memory SIZE          memory limit of each run (default 128M)\n"
	      "  --rootfs DIR           Python root filesystem (default: found automatically)\n"
	      "  --seccomp-policy FILE  seccomp profile for both backends\n"
	      "  --docker-image IMAGE   image for the docker backend (default: the rootfs's)\n"
	      "  -h, --help             show this help\n\n"
	      "NAME.expect lines: 'exit N' (required), 'status NAME', 'stdout_contains TEXT',\n"
	      "'stderr_contains TEXT', 'message_contains TEXT' (nsrun's own verdict line);\n"
	      "'#' starts a comment.\n\n"
	      "Exit status: 0 if every check met its expectation on both backends and they agree\n"
	      "(or, when docker is unavailable, on the native backend alone, which the output\n"
	      "says); 1 otherwise; 125 if nsrun could not run the checks; 128+N if interrupted.\n",
	      out);
}

enum { CMP_OPT_TIMEOUT = 256, CMP_OPT_MEMORY, CMP_OPT_ROOTFS, CMP_OPT_POLICY, CMP_OPT_IMAGE };

static int cmp_apply_option(struct cmp_run *run, int opt, const char *arg)
{
	switch (opt) {
	case CMP_OPT_TIMEOUT:
		if (nsrun_parse_duration(arg, &run->cfg.timeout_ms) < 0 || run->cfg.timeout_ms == 0)
			return cmp_fail("--timeout: invalid duration '%s'%s", arg, "");
		return 0;
	case CMP_OPT_MEMORY:
		if (nsrun_parse_size(arg, &run->cfg.memory_bytes) < 0)
			return cmp_fail("--memory: invalid size '%s'%s", arg, "");
		return 0;
	case CMP_OPT_ROOTFS:
		run->cfg.rootfs = arg;
		return 0;
	case CMP_OPT_POLICY:
		run->cfg.seccomp_policy = arg;
		return 0;
	case CMP_OPT_IMAGE:
		run->cfg.docker_image = arg;
		return 0;
	default:
		fputs("Try 'nsrun compare --help' for more information.\n", stderr);
		return -1;
	}
}

/* 1: --help was shown; 0: go on; -1: usage error. */
static int cmp_parse_args(struct cmp_run *run, int argc, char **argv)
{
	static const struct option options[] = {
		{"timeout", required_argument, NULL, CMP_OPT_TIMEOUT},
		{"memory", required_argument, NULL, CMP_OPT_MEMORY},
		{"rootfs", required_argument, NULL, CMP_OPT_ROOTFS},
		{"seccomp-policy", required_argument, NULL, CMP_OPT_POLICY},
		{"docker-image", required_argument, NULL, CMP_OPT_IMAGE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		if (opt == 'h') {
			cmp_usage(stdout);
			return 1;
		}
		if (cmp_apply_option(run, opt, optarg) < 0)
			return -1;
	}
	if (argc - optind > 1)
		return cmp_fail("too many arguments: '%s'%s", argv[optind + 1], "");
	if (optind < argc && !realpath(argv[optind], run->dir))
		return cmp_fail("%s: %s", argv[optind], strerror(errno));
	return 0;
}

static int cmp_resolve_paths(struct cmp_run *run)
{
	if (!run->cfg.rootfs && !(run->cfg.rootfs = paths_find_rootfs(run->rootfs, sizeof(run->rootfs))))
		return cmp_fail("no Python rootfs found (build it with scripts/build-rootfs, or pass "
				"--rootfs DIR)%s%s",
				"", "");
	if (!run->cfg.seccomp_policy &&
	    !(run->cfg.seccomp_policy = paths_find_policy(run->policy, sizeof(run->policy))))
		return cmp_fail("no seccomp policy found (pass --seccomp-policy FILE)%s%s", "", "");
	if (!run->dir[0]) {
		char found[PATH_MAX];

		if (!paths_find_checks(found, sizeof(found)) || !realpath(found, run->dir))
			return cmp_fail("the shipped checks (tests/checks) were not found; give a DIR%s%s",
					"", "");
	}
	return 0;
}

/* As the CLI does: the caller's signals become a cancel request, so the
 * run in progress is killed and its container removed. */
static int cmp_cancel_on_signals(void)
{
	static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaddset(&mask, signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void cmp_print_header(const struct cmp_run *run)
{
	printf("nsrun compare: %zu checks from %s\n", run->n_checks, run->dir);
	printf("limits: timeout %" PRIu64 " ms, memory %" PRIu64 " MiB (swap off), pids %" PRIu64
	       "; rootfs %s\n\n",
	       run->cfg.timeout_ms, run->cfg.memory_bytes >> 20, run->cfg.pids_limit, run->cfg.rootfs);
}

int compare_main(int argc, char **argv)
{
	static const char *const no_args[] = {NULL};
	struct cmp_run run;
	int r;

	memset(&run, 0, sizeof(run));
	nsrun_config_init(&run.cfg);
	run.cfg.args = no_args;
	r = cmp_parse_args(&run, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : NSRUN_EXIT_SETUP;
	if (cmp_resolve_paths(&run) < 0 || cmp_load_checks(&run) < 0) {
		free(run.checks);
		return NSRUN_EXIT_SETUP;
	}
	run.cfg.cancel_fd = cmp_cancel_on_signals();
	if (run.cfg.cancel_fd < 0) {
		free(run.checks);
		return cmp_fail("signalfd: %s%s", strerror(errno), "") < 0 ? NSRUN_EXIT_SETUP : 0;
	}
	cmp_run_all(&run);
	cmp_print_header(&run);
	cmp_print_table(&run);
	cmp_print_notes(&run);
	if (run.cancel_signal) {
		printf("\nInterrupted by SIG%s: the remaining checks were not run.\n",
		       sigabbrev_np(run.cancel_signal) ? sigabbrev_np(run.cancel_signal) : "?");
		r = 128 + run.cancel_signal;
	} else {
		r = cmp_summary(&run);
	}
	close(run.cfg.cancel_fd);
	free(run.checks);
	return r;
}
