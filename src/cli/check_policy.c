/* `nsrun --check-policy`: the policy half of a run, and nothing else.
 * The CLI normally sees only the public API; this is the one place it
 * reaches the internal parser and compiler, so that a policy accepted here
 * is byte for byte the filter a run would install. */
#include "check_policy.h"

#include <stdio.h>
#include <string.h>

#include "nsrun.h"
#include "../lib/policy.h"
#include "../lib/seccomp_bpf.h"

#define OPTION "--check-policy"

bool check_policy_wanted(const char *arg)
{
	size_t n = strlen(OPTION);

	return strncmp(arg, OPTION, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static void print_error(const struct nsrun_error *err)
{
	fprintf(stderr, "nsrun: %s\n", err->msg);
	if (err->hint[0])
		fprintf(stderr, "nsrun: hint: %s\n", err->hint);
}

/* 0 and one line on stdout if path is a valid policy; -1 and the error. */
static int check_one(const char *path)
{
	struct nsrun_policy pol;
	struct sc_program prog = {0};
	struct nsrun_error err;
	int r;

	memset(&err, 0, sizeof(err));
	r = pol_load_file(path, &pol, &err);
	if (r == 0)
		r = sc_compile(&pol, &prog, &err);
	if (r == 0)
		printf("%s: ok (%zu rules, %u BPF instructions)\n", path, pol.n_rules,
		       (unsigned)prog.len);
	else
		print_error(&err);
	sc_program_free(&prog);
	pol_free(&pol);
	return r < 0 ? -1 : 0;
}

int check_policy_main(int argc, char **argv)
{
	const char *inline_file = strchr(argv[0], '=');
	int failed = 0;

	if (inline_file && argc == 1)
		return check_one(inline_file + 1) < 0 ? NSRUN_EXIT_SETUP : 0;
	if (inline_file || argc < 2) {
		fputs("nsrun: --check-policy: expected FILE... (e.g. nsrun --check-policy "
		      "policy/seccomp.json)\n", stderr);
		return NSRUN_EXIT_SETUP;
	}
	for (int i = 1; i < argc; i++)
		failed |= check_one(argv[i]) < 0;
	fflush(stdout);
	return failed ? NSRUN_EXIT_SETUP : 0;
}
