/* Small helpers shared by the modules: raw syscalls glibc does not wrap,
 * full writes, and clock readings. */
#ifndef NSRUN_UTIL_H
#define NSRUN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

pid_t sys_clone3(uint64_t flags, int *ret_pidfd);
/* cgroup_fd >= 0: CLONE_INTO_CGROUP, the child starts in that v2 group. */
pid_t sys_clone3_into(uint64_t flags, int *ret_pidfd, int cgroup_fd);
int sys_pidfd_send_signal(int pidfd, int sig);
int sys_pivot_root(const char *new_root, const char *put_old);
/* Mark every fd >= from close-on-exec (close_range, or a /proc walk). */
int fd_cloexec_from(int from);

/* Write all of buf, retrying on EINTR and short writes; -errno on failure. */
int write_all(int fd, const void *buf, size_t len);
/* Write a short string to a file such as /proc/PID/uid_map. */
int write_file_at(int dirfd, const char *path, const char *text);
/* Read fd until EOF (or buf is full) into buf, NUL-terminated; returns the length. */
ssize_t read_fd_to_end(int fd, char *buf, size_t size);
/* Read a whole small file into buf (NUL-terminated); returns length or -errno. */
ssize_t read_file_at(int dirfd, const char *path, char *buf, size_t size);

uint64_t monotonic_ms(void);
uint64_t monotonic_us(void);

#endif
