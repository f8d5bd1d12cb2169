#include "monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "error.h"
#include "sync.h"
#include "util.h"

enum mon_tag { TAG_PIDFD, TAG_SYNC, TAG_TIMER, TAG_CANCEL, TAG_STDOUT, TAG_STDERR, TAG_IN_SRC, TAG_IN_DST };

static int watch(struct monitor *mon, int op, int fd, uint32_t events, enum mon_tag tag)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};

	return epoll_ctl(mon->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static void unwatch_close(struct monitor *mon, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(mon->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static int arm_timer(struct monitor *mon, struct nsrun_error *err)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	mon->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (mon->timer_fd < 0)
		return nsrun_err_sys(err, "timerfd_create");
	its.it_value.tv_sec = (time_t)(mon->timeout_ms / 1000);
	its.it_value.tv_nsec = (long)(mon->timeout_ms % 1000) * 1000000L;
	if (timerfd_settime(mon->timer_fd, 0, &its, NULL) < 0)
		return nsrun_err_sys(err, "timerfd_settime");
	if (watch(mon, EPOLL_CTL_ADD, mon->timer_fd, EPOLLIN, TAG_TIMER) < 0)
		return nsrun_err_sys(err, "watch the timer");
	return 0;
}

/* A regular file or /dev/null cannot be polled; it is always readable. */
static int init_stdin(struct monitor *mon)
{
	struct mon_input *in = &mon->in;

	if (in->src_fd < 0) {
		shutdown(in->dst_fd, SHUT_WR);
		unwatch_close(mon, &in->dst_fd);
		return 0;
	}
	int r = watch(mon, EPOLL_CTL_ADD, in->src_fd, EPOLLIN, TAG_IN_SRC);

	in->src_pollable = r == 0;
	if (r < 0 && r != -EPERM)
		return r;
	return watch(mon, EPOLL_CTL_ADD, in->dst_fd, in->src_pollable ? 0 : EPOLLOUT, TAG_IN_DST);
}

int mon_init(struct monitor *mon, struct nsrun_error *err)
{
	static const enum mon_tag out_tags[2] = {TAG_STDOUT, TAG_STDERR};

	mon->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (mon->epfd < 0)
		return nsrun_err_sys(err, "epoll_create1");
	if (watch(mon, EPOLL_CTL_ADD, mon->pidfd, EPOLLIN, TAG_PIDFD) < 0 ||
	    watch(mon, EPOLL_CTL_ADD, mon->sync_fd, EPOLLIN, TAG_SYNC) < 0)
		return nsrun_err_sys(err, "watch the sandbox");
	if (mon->cancel_fd >= 0 && watch(mon, EPOLL_CTL_ADD, mon->cancel_fd, EPOLLIN, TAG_CANCEL) < 0)
		return nsrun_err_sys(err, "watch the cancel fd");
	for (int i = 0; i < 2; i++)
		if (watch(mon, EPOLL_CTL_ADD, mon->out[i].fd, EPOLLIN, out_tags[i]) < 0)
			return nsrun_err_sys(err, "watch output");
	if (init_stdin(mon) < 0)
		return nsrun_err_sys(err, "relay stdin");
	return arm_timer(mon, err);
}

static void kill_sandbox(struct monitor *mon)
{
	if (mon->init_exited)
		return;
	if (mon->kill_sandbox)
		mon->kill_sandbox(mon, mon->kill_data);
	else /* SIGKILL to the namespace's init takes every process in it along. */
		sys_pidfd_send_signal(mon->pidfd, SIGKILL);
}

static void on_timer(struct monitor *mon)
{
	uint64_t expirations;

	if (read(mon->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (!mon->init_exited && !mon->have_status)
		mon->timed_out = true;
	kill_sandbox(mon);
	unwatch_close(mon, &mon->timer_fd);
}

static void on_cancel(struct monitor *mon)
{
	struct signalfd_siginfo info;
	ssize_t n = read(mon->cancel_fd, &info, sizeof(info));

	/* A signalfd gives the signal; any other readable fd means SIGTERM. */
	mon->cancel_signal = n == (ssize_t)sizeof(info) ? (int)info.ssi_signo : SIGTERM;
	kill_sandbox(mon);
	epoll_ctl(mon->epfd, EPOLL_CTL_DEL, mon->cancel_fd, NULL);
}

static void on_sync(struct monitor *mon)
{
	struct sync_msg msg;
	int r = sync_recv(mon->sync_fd, &msg);

	if (r == -EAGAIN)
		return;
	if (r < 0) {
		unwatch_close(mon, &mon->sync_fd);
		mon->sync_closed = true;
		return;
	}
	if (msg.type == SYNC_EXECUTING) {
		mon->exec_at_us = monotonic_us();
	} else if (msg.type == SYNC_ERROR && !mon->have_error) {
		mon->have_error = true;
		mon->child_error = msg.error;
	} else if (msg.type == SYNC_EXIT) {
		mon->have_status = true;
		mon->workload_status = msg.code;
		mon->exit_at_us = monotonic_us();
	}
}

/* How much of n new bytes fits under the stream's limit; the rest is
 * dropped (but counted), so a flood never blocks the script on a full pipe. */
static size_t admit(struct mon_output *out, size_t n)
{
	uint64_t room = out->limit > out->kept ? out->limit - out->kept : 0;
	size_t take = n < room ? n : (size_t)room;

	if (take < n)
		out->truncated = true;
	out->kept += take;
	return take;
}

static void capture(struct mon_output *out, const char *data, size_t n)
{
	if (out->len + n > out->cap) {
		size_t cap = out->cap ? out->cap : 4096;
		char *grown;

		while (cap < out->len + n)
			cap *= 2;
		grown = realloc(out->buf, cap);
		if (!grown) {
			out->truncated = true;
			return;
		}
		out->buf = grown;
		out->cap = cap;
	}
	memcpy(out->buf + out->len, data, n);
	out->len += n;
}

/* The caller's fd is not ours to make non-blocking, and a caller that does
 * not read (a full pipe, a terminal paused with Ctrl-S) must not stop the
 * clock: wait for room together with the timer and the cancel fd, and
 * write at most PIPE_BUF bytes per wake-up, which a pipe then takes whole.
 * After a cancel the rest is dropped: the caller asked nsrun to stop. */
static int relay(struct monitor *mon, int sink, const char *data, size_t len)
{
	while (len > 0) {
		struct pollfd fds[3] = {{sink, POLLOUT, 0}, {mon->timer_fd, POLLIN, 0},
					{mon->cancel_signal ? -1 : mon->cancel_fd, POLLIN, 0}};

		if (mon->cancel_signal)
			return -ECANCELED;
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (fds[1].revents & POLLIN)
			on_timer(mon);
		if (fds[2].revents & POLLIN)
			on_cancel(mon);
		if (fds[0].revents & (POLLERR | POLLNVAL))
			return -EPIPE;
		if (!(fds[0].revents & (POLLOUT | POLLHUP)))
			continue;
		ssize_t n = write(sink, data, len < PIPE_BUF ? len : PIPE_BUF);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void on_output(struct monitor *mon, struct mon_output *out)
{
	char chunk[MON_RELAY_CHUNK];
	ssize_t n = read(out->fd, chunk, sizeof(chunk));
	size_t take;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		unwatch_close(mon, &out->fd);
		return;
	}
	out->total += (uint64_t)n;
	take = admit(out, (size_t)n);
	if (take == 0)
		return;
	if (out->sink_fd == -1)
		capture(out, chunk, take);
	else if (out->sink_fd >= 0 && relay(mon, out->sink_fd, chunk, take) < 0)
		out->sink_fd = -2; /* the caller stopped reading: drain and discard */
}

static void stdin_done(struct monitor *mon)
{
	struct mon_input *in = &mon->in;

	if (in->src_fd >= 0)
		epoll_ctl(mon->epfd, EPOLL_CTL_DEL, in->src_fd, NULL);
	in->src_fd = -1;
	if (in->dst_fd >= 0)
		shutdown(in->dst_fd, SHUT_WR);
	unwatch_close(mon, &in->dst_fd);
}

/* Move buffered stdin on; wait for the sandbox side when it is full and
 * for the caller's side when the buffer is empty.  The caller's fd is not
 * ours to make non-blocking (other processes may share it), so it is read
 * once per readiness event, never on speculation. */
static void pump_stdin(struct monitor *mon, bool src_ready)
{
	struct mon_input *in = &mon->in;

	for (;;) {
		if (in->off == in->len && !in->src_eof) {
			if (in->src_pollable && !src_ready)
				break;
			ssize_t n = read(in->src_fd, in->buf, sizeof(in->buf));

			src_ready = false;
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			in->off = 0;
			in->len = n > 0 ? (size_t)n : 0;
			in->src_eof = n <= 0;
		}
		if (in->off == in->len) {
			if (in->src_eof)
				stdin_done(mon);
			break;
		}
		ssize_t w = send(in->dst_fd, in->buf + in->off, in->len - in->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0) {
			stdin_done(mon); /* the sandbox closed its stdin */
			return;
		}
		in->off += (size_t)w;
		if (!in->src_pollable)
			break;
	}
	if (in->dst_fd < 0)
		return;
	bool pending = in->off < in->len || !in->src_pollable;

	watch(mon, EPOLL_CTL_MOD, in->dst_fd, pending ? EPOLLOUT : 0, TAG_IN_DST);
	if (in->src_pollable && in->src_fd >= 0)
		watch(mon, EPOLL_CTL_MOD, in->src_fd, pending ? 0 : EPOLLIN, TAG_IN_SRC);
}

static bool finished(const struct monitor *mon)
{
	return mon->init_exited && mon->sync_closed && mon->out[0].fd < 0 && mon->out[1].fd < 0;
}

static void dispatch(struct monitor *mon, enum mon_tag tag, uint32_t events)
{
	switch (tag) {
	case TAG_PIDFD:
		mon->init_exited = true;
		epoll_ctl(mon->epfd, EPOLL_CTL_DEL, mon->pidfd, NULL);
		break;
	case TAG_SYNC:
		on_sync(mon);
		break;
	case TAG_TIMER:
		on_timer(mon);
		break;
	case TAG_CANCEL:
		on_cancel(mon);
		break;
	case TAG_STDOUT:
	case TAG_STDERR:
		on_output(mon, &mon->out[tag - TAG_STDOUT]);
		break;
	case TAG_IN_SRC:
		pump_stdin(mon, true);
		break;
	case TAG_IN_DST:
		/* The sandbox is gone or closed its stdin: stop relaying at once. */
		if (events & (EPOLLHUP | EPOLLERR))
			stdin_done(mon);
		else
			pump_stdin(mon, false);
		break;
	}
}

int mon_run(struct monitor *mon, struct nsrun_error *err)
{
	struct epoll_event events[8];

	while (!finished(mon)) {
		int n = epoll_wait(mon->epfd, events, (int)ARRAY_SIZE(events), -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kill_sandbox(mon);
			return nsrun_err_sys(err, "epoll_wait");
		}
		for (int i = 0; i < n; i++)
			dispatch(mon, (enum mon_tag)events[i].data.u32, events[i].events);
	}
	return 0;
}

void mon_close(struct monitor *mon)
{
	unwatch_close(mon, &mon->timer_fd);
	unwatch_close(mon, &mon->sync_fd);
	for (int i = 0; i < 2; i++)
		unwatch_close(mon, &mon->out[i].fd);
	unwatch_close(mon, &mon->in.dst_fd);
	if (mon->epfd >= 0)
		close(mon->epfd);
	mon->epfd = -1;
}
