/* Supervisor <-> sandbox messages over a SOCK_SEQPACKET socketpair: one
 * fixed-size frame per send, so a short read is a protocol error and EOF
 * means the peer is gone. */
#ifndef NSRUN_SYNC_H
#define NSRUN_SYNC_H

#include <stdint.h>

#include "nsrun.h"

enum sync_msg_type {
	SYNC_GO = 1,	/* supervisor -> init: maps written, cgroup joined, go on */
	SYNC_EXECUTING, /* workload -> supervisor: setup done, about to execve */
	SYNC_ERROR,	/* init or workload -> supervisor: setup failed, see error */
	SYNC_EXIT,	/* init -> supervisor: the workload's raw wait status in code */
};

struct sync_msg {
	uint32_t type;
	int32_t code;
	struct nsrun_error error;
};

int sync_pair(int ret_fds[2]);
int sync_send(int fd, const struct sync_msg *msg);
/* Returns 0, -EPIPE on EOF, -EBADMSG on a malformed frame, or -errno. */
int sync_recv(int fd, struct sync_msg *ret_msg);
int sync_send_type(int fd, enum sync_msg_type type, int32_t code);

#endif
