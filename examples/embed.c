/* embed: the smallest program that embeds libnsrun.
 *
 *   cc embed.c $(pkg-config --cflags --libs nsrun) -o embed
 *   ./embed script.py [ROOTFS]
 *
 * Runs the script with a 64M memory limit and a 2 s timeout, captures its
 * output, and prints the verdict and the JSON document. */
#include <stdio.h>
#include <stdlib.h>

#include <nsrun.h>

int main(int argc, char **argv)
{
	struct nsrun_config cfg;
	struct nsrun_result res;
	struct nsrun_error err;
	char message[160];
	char *json;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SCRIPT.py [ROOTFS]\n", argv[0]);
		return 2;
	}
	nsrun_config_init(&cfg);
	cfg.script = argv[1];
	cfg.rootfs = argc > 2 ? argv[2] : NULL; /* NULL: the installed rootfs */
	cfg.seccomp_policy = getenv("NSRUN_SECCOMP_POLICY"); /* NULL: the installed policy */
	cfg.memory_bytes = 64ULL << 20;
	cfg.timeout_ms = 2000;
	/* stdout_fd and stderr_fd stay -1: the output is captured into res. */
	if (nsrun_run(&cfg, &res, &err) < 0) {
		fprintf(stderr, "embed: %s\n", err.msg);
		if (err.hint[0])
			fprintf(stderr, "embed: hint: %s\n", err.hint);
		return 1;
	}
	nsrun_result_message(&cfg, &res, message, sizeof(message));
	printf("status: %s\n", nsrun_status_name(res.status));
	printf("message: %s\n", message);
	printf("stdout: %.*s", (int)res.stdout_len, res.stdout_buf ? res.stdout_buf : "");
	json = nsrun_result_json(&cfg, &res, NULL);
	printf("json: %s\n", json ? json : "(out of memory)");
	free(json);
	nsrun_result_free(&res);
	return 0;
}
