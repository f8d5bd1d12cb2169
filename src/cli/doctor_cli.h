/* `nsrun doctor [--json] [--rootfs DIR] [--seccomp-policy FILE]`: what
 * this host lets nsrun do, one line per check, and a verdict. */
#ifndef NSRUN_CLI_DOCTOR_H
#define NSRUN_CLI_DOCTOR_H

/* argv[0] is "doctor"; returns 0 usable, 1 degraded, 2 unusable, 125 on a
 * usage error. */
int doctor_main(int argc, char **argv);

#endif
