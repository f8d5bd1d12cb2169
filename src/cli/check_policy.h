/* `nsrun --check-policy FILE...`: parse and compile seccomp policies
 * exactly as a run would (same parser, same libseccomp compiler, same
 * checks), without creating any namespace or process. */
#ifndef NSRUN_CLI_CHECK_POLICY_H
#define NSRUN_CLI_CHECK_POLICY_H

#include <stdbool.h>

/* Is arg "--check-policy" or "--check-policy=FILE"? */
bool check_policy_wanted(const char *arg);

/* argv[0] is "--check-policy" (files follow) or "--check-policy=FILE".
 * Prints "FILE: ok (N rules, M BPF instructions)" on stdout per valid
 * file, N counting one rule per syscall name, or nsrun's usual
 * "nsrun: FILE:LINE: reason" on stderr.  Returns 0 when every file is
 * valid, NSRUN_EXIT_SETUP (125) otherwise. */
int check_policy_main(int argc, char **argv);

#endif
