/* sc_compile on the shipped policy and on fixtures, then what the shipped
 * filter really does: every probe runs in a forked child that sets
 * no_new_privs, installs the filter and reports through its exit status
 * (and the raw result through a pipe, for the failure message). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"
#include "seccomp_bpf.h"

#ifndef NSRUN_TEST_DATA_DIR
#error "define NSRUN_TEST_DATA_DIR to the tests/data directory"
#endif
#ifndef NSRUN_POLICY_DIR
#error "define NSRUN_POLICY_DIR to the policy directory"
#endif

#define FIXTURE(name) NSRUN_TEST_DATA_DIR "/policy/" name
#define SHIPPED NSRUN_POLICY_DIR "/seccomp.json"

#define PROBE_OK 1 /* probe expectation: any result >= 0 */
#define CHILD_SETUP 78
#define X32_SYSCALL_BIT 0x40000000L

static struct sc_program shipped;

static int compile_file(const char *path, struct sc_program *prog, struct nsrun_error *err)
{
	struct nsrun_policy pol;
	int r;

	r = pol_load_file(path, &pol, err);
	if (r == 0)
		r = sc_compile(&pol, prog, err);
	pol_free(&pol);
	return r;
}

static int setup_shipped(void **state)
{
	struct nsrun_error err = {0};

	(void)state;
	if (compile_file(SHIPPED, &shipped, &err) < 0) {
		print_error("%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown_shipped(void **state)
{
	(void)state;
	sc_program_free(&shipped);
	return 0;
}

/* ---- compiling ---- */

static void test_shipped_compiles(void **state)
{
	(void)state;
	assert_non_null(shipped.filter);
	assert_true(shipped.len > 2 && shipped.len <= BPF_MAXINSNS);
	/* libseccomp starts by loading seccomp_data.arch and ends on a return. */
	assert_int_equal(shipped.filter[0].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(shipped.filter[0].k, 4);
	assert_int_equal(BPF_CLASS(shipped.filter[shipped.len - 1].code), BPF_RET);
}

static void expect_compile_error(const char *path, int line, const char *text)
{
	struct sc_program prog = {0};
	struct nsrun_error err = {0};
	char prefix[600];

	assert_int_equal(compile_file(path, &prog, &err), -EINVAL);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, text))
		fail_msg("message \"%s\" is not \"%s...%s...\"", err.msg, prefix, text);
	assert_null(prog.filter);
	assert_int_equal(prog.len, 0);
}

static void expect_compiles(const char *path)
{
	struct sc_program prog = {0};
	struct nsrun_error err = {0};

	if (compile_file(path, &prog, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(prog.len > 0);
	sc_program_free(&prog);
	assert_null(prog.filter);
}

static void test_unknown_syscall(void **state)
{
	(void)state;
	expect_compile_error(FIXTURE("sc-unknown-syscall.json"), 5, "unknown syscall 'not_a_syscall'");
}

static void test_conflicts(void **state)
{
	(void)state;
	expect_compile_error(FIXTURE("sc-conflict-unconditional.json"), 9,
			     "rule for 'ioctl' conflicts with the rule at line 4");
	expect_compile_error(FIXTURE("sc-conflict-default.json"), 5,
			     "rule for 'mount' conflicts with the rule at line 4");
	expect_compile_error(FIXTURE("sc-conflict-same-args.json"), 12,
			     "the same argument conditions");
}

static void test_argument_compared_twice(void **state)
{
	(void)state;
	expect_compile_error(FIXTURE("sc-dup-arg.json"), 5, "compares argument 0 twice");
}

static void test_unsupported_arch(void **state)
{
	(void)state;
	expect_compile_error(FIXTURE("sc-unsupported-arch.json"), 0,
			     "SCMP_ARCH_LOONGARCH64 is not supported by libseccomp");
}

/* Same syscall with different actions but distinct conditions; a rule
 * equal to the default action; names absent on x86_64 (skipped); several
 * architectures, one listed twice. */
static void test_compiles(void **state)
{
	(void)state;
	expect_compiles(FIXTURE("sc-different-conditions.json"));
	expect_compiles(FIXTURE("sc-other-arch.json"));
	expect_compiles(FIXTURE("sc-multi-arch.json"));
	expect_compiles(FIXTURE("valid.json"));
}

static void test_install_rejects_empty(void **state)
{
	struct sc_program empty = {0};
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(sc_install(&empty, &err), -EINVAL);
	assert_int_equal(sc_install(NULL, &err), -EINVAL);
	sc_program_free(&empty);
	sc_program_free(NULL);
}

/* ---- behaviour, in forked children ---- */

struct probe {
	const char *what;
	long (*run)(void);
	long expect;  /* -errno, or PROBE_OK */
	int baseline; /* skip if the kernel alone already gives expect */
};

static long ret_errno(long r)
{
	return r < 0 ? -errno : r;
}

static int matches(long r, long expect)
{
	return expect == PROBE_OK ? r >= 0 : r == expect;
}

static void child_install(const struct sc_program *prog)
{
	struct rlimit no_core = {0, 0};
	struct nsrun_error err;

	setrlimit(RLIMIT_CORE, &no_core); /* SIGSYS would dump core */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || sc_install(prog, &err) != 0)
		_exit(CHILD_SETUP);
}

/* p->run() in a child, under prog unless it is NULL; the child's exit
 * status says whether the result matched, the pipe carries the result.
 * A child of its own even for the unfiltered baseline: a call that
 * succeeds can change what the next one returns (after unshare(NEWUSER)
 * the uid is unmapped and a second unshare fails with EPERM anyway). */
static int probe_child(const struct probe *p, const struct sc_program *prog, long *ret)
{
	int fds[2], status;
	pid_t pid;

	*ret = LONG_MIN;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long r;

		if (prog)
			child_install(prog);
		r = p->run();
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(CHILD_SETUP);
		_exit(matches(r, p->expect) ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (read(fds[0], ret, sizeof(*ret)) != sizeof(*ret))
		*ret = LONG_MIN;
	close(fds[0]);
	return status;
}

static void run_probe(const struct probe *p, const struct sc_program *prog)
{
	long r;
	int status;

	if (p->baseline && probe_child(p, NULL, &r) == 0) {
		print_message("%s: the kernel alone returns %ld, skipping\n", p->what, r);
		skip();
	}
	status = probe_child(p, prog, &r);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SETUP)
		fail_msg("%s: installing the filter failed", p->what);
	if (status != 0 && p->expect == PROBE_OK)
		fail_msg("%s: expected success, got %ld (wait status 0x%x)", p->what, r,
			 (unsigned)status);
	if (status != 0)
		fail_msg("%s: expected %ld, got %ld (wait status 0x%x)", p->what, p->expect, r,
			 (unsigned)status);
}

/* Wait status of a child that runs fn, under prog unless it is NULL. */
static int run_child(void (*fn)(void), const struct sc_program *prog)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (prog)
			child_install(prog);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SETUP)
		fail_msg("installing the filter failed");
	return status;
}

static int killed_by_sigsys(void (*fn)(void), const struct sc_program *prog)
{
	int status = run_child(fn, prog);

	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static long sock(int domain, int type, int protocol)
{
	int fd = socket(domain, type, protocol);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* socket() with bits above the int the kernel reads: they must not hide
 * the domain from the filter. */
static long sock_high(unsigned long domain, unsigned long type, unsigned long protocol)
{
	long fd = syscall(SYS_socket, domain | (1UL << 32), type, protocol);

	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

static long ioctl_devnull(unsigned long request)
{
	char c = 'x';
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -1000;
	r = ret_errno(syscall(SYS_ioctl, fd, request, &c));
	close(fd);
	return r;
}

/* Raw clone(2), as glibc's fork would, with extra flags; the child exits. */
static long clone_flags(unsigned long flags)
{
	int status;
	long pid = syscall(SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L);

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(0);
	if (waitpid((pid_t)pid, &status, 0) != pid || !WIFEXITED(status))
		return -1000;
	return 0;
}

static void *thread_main(void *arg)
{
	return arg;
}

static long p_getpid(void) { return getpid(); }
static long p_clone3(void) { return ret_errno(syscall(SYS_clone3, NULL, 0)); }
static long p_unshare_user(void) { return ret_errno(unshare(CLONE_NEWUSER)); }
static long p_unshare_files(void) { return ret_errno(unshare(CLONE_FILES)); }
static long p_setns(void) { return ret_errno(setns(-1, 0)); }
static long p_chroot(void) { return ret_errno(chroot("/nonexistent/nsrun-test")); }
static long p_ptrace(void) { return ret_errno(ptrace(PTRACE_CONT, getpid(), NULL, NULL)); }
static long p_bpf(void) { return ret_errno(syscall(SYS_bpf, -1, NULL, 0)); }
static long p_io_uring(void) { return ret_errno(syscall(SYS_io_uring_setup, 0, NULL)); }
static long p_keyctl(void) { return ret_errno(syscall(SYS_keyctl, -1, 0, 0, 0, 0)); }
static long p_packet(void) { return sock(AF_PACKET, SOCK_RAW, 0); }
static long p_vsock(void) { return sock(AF_VSOCK, SOCK_STREAM, 0); }
static long p_alg(void) { return sock(AF_ALG, SOCK_SEQPACKET, 0); }
static long p_nl_route(void) { return sock(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); }
static long p_nl_route_dgram(void) { return sock(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 0); }
static long p_nl_audit(void) { return sock(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT); }
static long p_nl_audit_high(void) { return sock_high(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT); }
static long p_packet_high(void) { return sock_high(AF_PACKET, SOCK_RAW, 0); }
static long p_inet_raw(void) { return sock(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP); }
static long p_inet6_raw(void) { return sock(AF_INET6, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMPV6); }
static long p_inet_sock_packet(void) { return sock(AF_INET, SOCK_PACKET, 0); }
static long p_inet_stream(void) { return sock(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }
static long p_inet6_dgram(void) { return sock(AF_INET6, SOCK_DGRAM, 0); }
static long p_unix(void) { return sock(AF_UNIX, SOCK_STREAM, 0); }
static long p_tiocsti(void) { return ioctl_devnull(TIOCSTI); }
static long p_tiocsti_high(void) { return ioctl_devnull((1UL << 32) | TIOCSTI); }
static long p_tioclinux(void) { return ioctl_devnull(TIOCLINUX); }
static long p_fionread(void) { return ioctl_devnull(FIONREAD) == -ENOTTY ? 0 : -1000; }
static long p_clone_plain(void) { return clone_flags(0); }
static long p_clone_newuser(void) { return clone_flags(CLONE_NEWUSER); }
static long p_clone_newnet(void) { return clone_flags(CLONE_NEWNET | CLONE_NEWNS); }
static long p_pers_query(void) { return ret_errno(personality(0xffffffff)); }
static long p_pers_linux(void) { return ret_errno(personality(PER_LINUX)); }
static long p_pers_linux32(void) { return ret_errno(personality(PER_LINUX32)); }
static long p_pers_no_aslr(void) { return ret_errno(personality(ADDR_NO_RANDOMIZE)); }
static long p_pers_rie(void) { return ret_errno(personality(READ_IMPLIES_EXEC)); }

static long p_mount(void)
{
	return ret_errno(mount("none", "/nonexistent/nsrun-test", "tmpfs", 0, NULL));
}

static long p_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(7);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		return -1000;
	return 0;
}

/* glibc tries clone3 first: ENOSYS must send it back to clone(2). */
static long p_thread(void)
{
	static int token;
	void *ret = NULL;
	pthread_t t;
	int r = pthread_create(&t, NULL, thread_main, &token);

	if (r != 0)
		return -r;
	pthread_join(t, &ret);
	return ret == &token ? 0 : -1000;
}

#define PROBE(fn, probe_fn, expect, baseline)                     \
	static void fn(void **state)                             \
	{                                                        \
		static const struct probe p = {#probe_fn, probe_fn, \
					       expect, baseline};   \
		(void)state;                                     \
		run_probe(&p, &shipped);                         \
	}

PROBE(test_getpid_works, p_getpid, PROBE_OK, 0)
PROBE(test_clone3_enosys, p_clone3, -ENOSYS, 1)
PROBE(test_unshare_user_denied, p_unshare_user, -EPERM, 1)
PROBE(test_unshare_files_denied, p_unshare_files, -EPERM, 1)
PROBE(test_setns_denied, p_setns, -EPERM, 1)
PROBE(test_mount_denied, p_mount, -EPERM, 1)
PROBE(test_chroot_denied, p_chroot, -EPERM, 1)
PROBE(test_ptrace_denied, p_ptrace, -EPERM, 1)
PROBE(test_bpf_denied, p_bpf, -EPERM, 1)
PROBE(test_io_uring_denied, p_io_uring, -EPERM, 1)
PROBE(test_keyctl_denied, p_keyctl, -EPERM, 1)
PROBE(test_af_packet_denied, p_packet, -EPERM, 1)
PROBE(test_af_packet_high_bits_denied, p_packet_high, -EPERM, 1)
PROBE(test_af_vsock_denied, p_vsock, -EPERM, 1)
PROBE(test_af_alg_denied, p_alg, -EPERM, 1)
PROBE(test_netlink_route_works, p_nl_route, PROBE_OK, 0)
PROBE(test_netlink_route_dgram_works, p_nl_route_dgram, PROBE_OK, 0)
PROBE(test_netlink_audit_denied, p_nl_audit, -EPERM, 1)
PROBE(test_netlink_audit_high_bits_denied, p_nl_audit_high, -EPERM, 1)
PROBE(test_inet_raw_denied, p_inet_raw, -EPERM, 1)
PROBE(test_inet6_raw_denied, p_inet6_raw, -EPERM, 1)
PROBE(test_inet_sock_packet_denied, p_inet_sock_packet, -EPERM, 1)
PROBE(test_inet_stream_works, p_inet_stream, PROBE_OK, 0)
PROBE(test_inet6_dgram_works, p_inet6_dgram, PROBE_OK, 0)
PROBE(test_unix_works, p_unix, PROBE_OK, 0)
PROBE(test_tiocsti_denied, p_tiocsti, -EPERM, 1)
PROBE(test_tiocsti_high_bits_denied, p_tiocsti_high, -EPERM, 1)
PROBE(test_tioclinux_denied, p_tioclinux, -EPERM, 1)
PROBE(test_other_ioctl_works, p_fionread, PROBE_OK, 0)
PROBE(test_fork_works, p_fork, PROBE_OK, 0)
PROBE(test_clone_without_ns_works, p_clone_plain, PROBE_OK, 0)
PROBE(test_clone_newuser_denied, p_clone_newuser, -EPERM, 1)
PROBE(test_clone_newnet_denied, p_clone_newnet, -EPERM, 1)
PROBE(test_thread_works, p_thread, PROBE_OK, 0)
PROBE(test_personality_query_works, p_pers_query, PROBE_OK, 0)
PROBE(test_personality_linux_works, p_pers_linux, PROBE_OK, 0)
PROBE(test_personality_linux32_denied, p_pers_linux32, -EPERM, 1)
PROBE(test_personality_no_aslr_denied, p_pers_no_aslr, -EPERM, 1)
PROBE(test_personality_rie_denied, p_pers_rie, -EPERM, 1)

#if defined(__x86_64__)
/* getpid through the i386 entry point: AUDIT_ARCH_I386. */
static void int80_getpid(void)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(20L)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	_exit(ret == getpid() ? 0 : 1);
}

/* getpid through the x32 ABI: AUDIT_ARCH_X86_64 with bit 30 set. */
static void x32_getpid(void)
{
	syscall(X32_SYSCALL_BIT | SYS_getpid);
}

static void test_i386_syscall_killed(void **state)
{
	int status = run_child(int80_getpid, NULL);

	(void)state;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* SIGSEGV: this kernel runs without IA32 emulation. */
		print_message("int $0x80 does not work here even unfiltered, skipping\n");
		skip();
	}
	assert_true(killed_by_sigsys(int80_getpid, &shipped));
}

static void test_x32_syscall_killed(void **state)
{
	struct sc_program with_x32 = {0};
	struct nsrun_error err = {0};

	(void)state;
	assert_false(killed_by_sigsys(x32_getpid, NULL));
	assert_true(killed_by_sigsys(x32_getpid, &shipped));
	/* ...because x32 is not listed: a policy that lists it lets it through. */
	assert_int_equal(compile_file(FIXTURE("sc-multi-arch.json"), &with_x32, &err), 0);
	assert_false(killed_by_sigsys(x32_getpid, &with_x32));
	sc_program_free(&with_x32);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_compiles),
		cmocka_unit_test(test_unknown_syscall),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_argument_compared_twice),
		cmocka_unit_test(test_unsupported_arch),
		cmocka_unit_test(test_compiles),
		cmocka_unit_test(test_install_rejects_empty),
		cmocka_unit_test(test_getpid_works),
		cmocka_unit_test(test_clone3_enosys),
		cmocka_unit_test(test_unshare_user_denied),
		cmocka_unit_test(test_unshare_files_denied),
		cmocka_unit_test(test_setns_denied),
		cmocka_unit_test(test_mount_denied),
		cmocka_unit_test(test_chroot_denied),
		cmocka_unit_test(test_ptrace_denied),
		cmocka_unit_test(test_bpf_denied),
		cmocka_unit_test(test_io_uring_denied),
		cmocka_unit_test(test_keyctl_denied),
		cmocka_unit_test(test_af_packet_denied),
		cmocka_unit_test(test_af_packet_high_bits_denied),
		cmocka_unit_test(test_af_vsock_denied),
		cmocka_unit_test(test_af_alg_denied),
		cmocka_unit_test(test_netlink_route_works),
		cmocka_unit_test(test_netlink_route_dgram_works),
		cmocka_unit_test(test_netlink_audit_denied),
		cmocka_unit_test(test_netlink_audit_high_bits_denied),
		cmocka_unit_test(test_inet_raw_denied),
		cmocka_unit_test(test_inet6_raw_denied),
		cmocka_unit_test(test_inet_sock_packet_denied),
		cmocka_unit_test(test_inet_stream_works),
		cmocka_unit_test(test_inet6_dgram_works),
		cmocka_unit_test(test_unix_works),
		cmocka_unit_test(test_tiocsti_denied),
		cmocka_unit_test(test_tiocsti_high_bits_denied),
		cmocka_unit_test(test_tioclinux_denied),
		cmocka_unit_test(test_other_ioctl_works),
		cmocka_unit_test(test_fork_works),
		cmocka_unit_test(test_clone_without_ns_works),
		cmocka_unit_test(test_clone_newuser_denied),
		cmocka_unit_test(test_clone_newnet_denied),
		cmocka_unit_test(test_thread_works),
		cmocka_unit_test(test_personality_query_works),
		cmocka_unit_test(test_personality_linux_works),
		cmocka_unit_test(test_personality_linux32_denied),
		cmocka_unit_test(test_personality_no_aslr_denied),
		cmocka_unit_test(test_personality_rie_denied),
#if defined(__x86_64__)
		cmocka_unit_test(test_i386_syscall_killed),
		cmocka_unit_test(test_x32_syscall_killed),
#endif
	};

	return cmocka_run_group_tests_name("seccomp", tests, setup_shipped, teardown_shipped);
}
