#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_pair(int ret_fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ret_fds) < 0)
		return -errno;
	return 0;
}

int sync_send(int fd, const struct sync_msg *msg)
{
	ssize_t n;

	do
		n = send(fd, msg, sizeof(*msg), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(*msg) ? 0 : -EMSGSIZE;
}

int sync_send_type(int fd, enum sync_msg_type type, int32_t code)
{
	struct sync_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = type;
	msg.code = code;
	return sync_send(fd, &msg);
}

int sync_recv(int fd, struct sync_msg *ret_msg)
{
	ssize_t n;

	do
		n = recv(fd, ret_msg, sizeof(*ret_msg), MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	if (n != (ssize_t)sizeof(*ret_msg) || ret_msg->type < SYNC_GO || ret_msg->type > SYNC_EXIT)
		return -EBADMSG;
	ret_msg->error.msg[sizeof(ret_msg->error.msg) - 1] = '\0';
	ret_msg->error.hint[sizeof(ret_msg->error.hint) - 1] = '\0';
	return 0;
}
