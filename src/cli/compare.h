/* `nsrun compare [DIR]`: run a directory of check scripts under both
 * backends and print a table of outcomes, times and agreement. */
#ifndef NSRUN_CLI_COMPARE_H
#define NSRUN_CLI_COMPARE_H

/* argv[0] is "compare"; returns the process exit code. */
int compare_main(int argc, char **argv);

#endif
