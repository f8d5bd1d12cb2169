/* The supervisor's event loop: one epoll over the init's pidfd, the sync
 * socket, a timerfd for the wall-clock limit, the caller's cancel fd and
 * the stdio relays.  It kills the whole sandbox (SIGKILL to its init
 * empties the pid namespace) on timeout or cancel. */
#ifndef NSRUN_MONITOR_H
#define NSRUN_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsrun.h"

#define MON_RELAY_CHUNK 65536

struct mon_output {
	int fd;	     /* read end of the sandbox's stdout or stderr */
	int sink_fd; /* relay target; -1 = capture into buf */
	char *buf;
	size_t len, cap;
	uint64_t limit; /* bytes relayed or captured at most; UINT64_MAX = all */
	uint64_t kept;
	bool truncated;
	uint64_t total; /* everything the script wrote */
};

struct mon_input {
	int src_fd; /* the caller's stdin, -1 for none */
	int dst_fd; /* our end of the sandbox's stdin socket */
	bool src_pollable;
	bool src_eof;
	size_t off, len;
	char buf[MON_RELAY_CHUNK];
};

struct monitor {
	int epfd, pidfd, sync_fd, timer_fd, cancel_fd;
	/* How to kill the sandbox on timeout or cancel; NULL = SIGKILL to pidfd
	 * (the native init, whose death empties the pid namespace). */
	void (*kill_sandbox)(struct monitor *mon, void *data);
	void *kill_data;
	struct mon_output out[2];
	struct mon_input in;
	uint64_t timeout_ms;
	/* what happened */
	bool init_exited, sync_closed, timed_out;
	int cancel_signal;
	bool have_status, have_error;
	int workload_status;
	uint64_t exec_at_us; /* the workload reported it is about to execve */
	uint64_t exit_at_us; /* init reported the workload's exit */
	struct nsrun_error child_error;
};

/* Set up the loop; fds are borrowed, not owned, except those it creates. */
int mon_init(struct monitor *mon, struct nsrun_error *err);
/* Run until the sandbox is gone and its output drained. */
int mon_run(struct monitor *mon, struct nsrun_error *err);
void mon_close(struct monitor *mon);

#endif
