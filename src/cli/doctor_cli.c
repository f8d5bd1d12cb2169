/* `nsrun doctor`: runs the library's checks and prints them for people
 * (aligned `ok|warn|fail  check  detail  (fix)` lines and a summary) or,
 * with --json, as one document for CI and services. */
#include "doctor_cli.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "nsrun.h"
#include "paths.h"

struct doctor_cli {
	struct doctor_options opts;
	char rootfs[PATH_MAX];
	char policy[PATH_MAX];
	int json;
};

enum { OPT_JSON = 256, OPT_ROOTFS, OPT_POLICY, OPT_DOCKER };

static const struct option doctor_options_long[] = {
	{"json", no_argument, NULL, OPT_JSON},
	{"rootfs", required_argument, NULL, OPT_ROOTFS},
	{"seccomp-policy", required_argument, NULL, OPT_POLICY},
	{"docker", required_argument, NULL, OPT_DOCKER},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void doctor_usage(FILE *out)
{
	fputs("Usage: nsrun doctor [--json] [--rootfs DIR] [--seccomp-policy FILE]\n"
	      "Check what this host lets nsrun do, by trying it: namespaces, pivot_root, /proc,\n"
	      "cgroups and their delegation, seccomp, the rootfs, a real sandboxed run, docker.\n\n"
	      "  --json                   print one JSON document instead of lines\n"
	      "  --rootfs DIR             the Python rootfs to check (default: as nsrun finds it)\n"
	      "  --seccomp-policy FILE    the policy to check (default: as nsrun finds it)\n"
	      "  --docker CMD             the docker CLI to check (default: docker from PATH)\n"
	      "  -h, --help               show this help\n\n"
	      "Exit status: 0 usable, 1 degraded (some limits cannot be enforced),\n"
	      "2 unusable (nsrun cannot run a sandbox here), 125 on a usage error.\n",
	      out);
}

/* Returns 1 when --help was handled, 0 to run, -1 on a usage error. */
static int doctor_parse_args(int argc, char **argv, struct doctor_cli *cli)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "h", doctor_options_long, NULL)) != -1) {
		switch (opt) {
		case 'h':
			doctor_usage(stdout);
			return 1;
		case OPT_JSON:
			cli->json = 1;
			break;
		case OPT_ROOTFS:
			cli->opts.rootfs = optarg;
			break;
		case OPT_POLICY:
			cli->opts.seccomp_policy = optarg;
			break;
		case OPT_DOCKER:
			cli->opts.docker = optarg;
			break;
		default:
			fputs("Try 'nsrun doctor --help' for more information.\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nsrun doctor: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void doctor_count(const struct doctor_report *rep, size_t counts[3])
{
	counts[0] = counts[1] = counts[2] = 0;
	for (size_t i = 0; i < rep->n_checks; i++)
		counts[rep->checks[i].status]++;
}

static void doctor_print_text(const struct doctor_report *rep)
{
	int width = 0;
	size_t counts[3];

	for (size_t i = 0; i < rep->n_checks; i++)
		if ((int)strlen(rep->checks[i].name) > width)
			width = (int)strlen(rep->checks[i].name);
	for (size_t i = 0; i < rep->n_checks; i++) {
		const struct doctor_check *c = &rep->checks[i];

		printf("%-4s  %-*s  %s", doctor_status_name(c->status), width, c->name, c->detail);
		if (c->fix[0])
			printf("  (%s)", c->fix);
		putchar('\n');
	}
	fputs("can enforce:", stdout);
	for (int cap = 0; cap < DOCTOR_CAN_COUNT; cap++)
		printf(" %s=%s", doctor_cap_name((enum doctor_cap)cap), rep->can[cap] ? "yes" : "no");
	doctor_count(rep, counts);
	printf(" -> %s (%zu ok, %zu warn, %zu fail)\n", doctor_verdict_name(rep->verdict), counts[0],
	       counts[1], counts[2]);
}

static json_t *doctor_json_checks(const struct doctor_report *rep)
{
	json_t *checks = json_array();

	for (size_t i = 0; checks && i < rep->n_checks; i++) {
		const struct doctor_check *c = &rep->checks[i];

		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s?}", "name", c->name,
							"status", doctor_status_name(c->status),
							"detail", c->detail, "fix",
							c->fix[0] ? c->fix : NULL));
	}
	return checks;
}

static json_t *doctor_json_document(const struct doctor_report *rep)
{
	json_t *can = json_object();
	size_t counts[3];

	for (int cap = 0; can && cap < DOCTOR_CAN_COUNT; cap++)
		json_object_set_new(can, doctor_cap_name((enum doctor_cap)cap),
				    json_boolean(rep->can[cap]));
	doctor_count(rep, counts);
	return json_pack("{s:s, s:o, s:o*, s:{s:I, s:I, s:I}, s:s, s:i}", "nsrun_version",
			 NSRUN_VERSION, "checks", doctor_json_checks(rep), "can_enforce", can,
			 "counts", "ok", (json_int_t)counts[0], "warn", (json_int_t)counts[1], "fail",
			 (json_int_t)counts[2], "verdict", doctor_verdict_name(rep->verdict),
			 "exit_code", (int)rep->verdict);
}

static int doctor_print_json(const struct doctor_report *rep)
{
	json_t *doc = doctor_json_document(rep);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(doc);
	if (!text) {
		fputs("nsrun doctor: out of memory building the JSON document\n", stderr);
		return -1;
	}
	puts(text);
	free(text);
	return 0;
}

int doctor_main(int argc, char **argv)
{
	static struct doctor_report report;
	struct doctor_cli cli;
	int r;

	memset(&cli, 0, sizeof(cli));
	r = doctor_parse_args(argc, argv, &cli);
	if (r != 0)
		return r > 0 ? 0 : NSRUN_EXIT_SETUP;
	if (!cli.opts.rootfs)
		cli.opts.rootfs = paths_find_rootfs(cli.rootfs, sizeof(cli.rootfs));
	if (!cli.opts.seccomp_policy)
		cli.opts.seccomp_policy = paths_find_policy(cli.policy, sizeof(cli.policy));
	fflush(stdout); /* the checks fork: nothing buffered may be written twice */
	doctor_run(&cli.opts, &report);
	if (cli.json) {
		if (doctor_print_json(&report) < 0)
			return NSRUN_EXIT_SETUP;
	} else {
		doctor_print_text(&report);
	}
	return (int)report.verdict;
}
