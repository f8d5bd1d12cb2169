/* sc_compile on the shipped policy and on fixtures, then what the shipped
 * filter really does: every probe runs in a forked child that sets
 * no_new_privs, installs the filter and reports through its exit status
 * (and the raw result through a pipe, for the failure message).
 *
 * The shipped policy is an allowlist (default EPERM): besides single
 * probes, the conditional rules (ioctl, socket, clone, mknodat) are swept
 * over their argument space, because a union of MASKED_EQ rules is easy to
 * get subtly wrong and cheap to check exhaustively. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/keyctl.h>
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
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

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

/* ---- the shipped policy as data ---- */

/* The list of what must never be allowed, whatever the arguments. */
static const char *const must_deny[] = {
	"unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "keyctl",
	"add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "ptrace", "process_vm_readv",
	"process_vm_writev", "kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "open_by_handle_at", "clone3", "sethostname", "setdomainname",
	"pidfd_getfd", "kcmp", "seccomp", "capset", "setgroups", "sched_setscheduler",
	"sched_setattr", "mlock", "shmget", "msgget", "semget", "mq_open",
};

/* Syscalls the policy may allow only under argument conditions. */
static const char *const only_conditional[] = {
	"clone", "ioctl", "socket", "socketpair", "personality", "mknodat",
};

static int in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static void test_shipped_is_an_allowlist(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};
	size_t n_must = sizeof(must_deny) / sizeof(must_deny[0]);
	size_t n_cond = sizeof(only_conditional) / sizeof(only_conditional[0]);

	(void)state;
	assert_int_equal(pol_load_file(SHIPPED, &pol, &err), 0);
	assert_int_equal(pol.default_action, POL_ACT_ERRNO);
	assert_int_equal(pol.default_errno, EPERM);
	assert_int_equal(pol.n_arches, 1); /* i386 and x32 hit the bad-arch kill */
	assert_string_equal(pol.arches[0], "SCMP_ARCH_X86_64");
	for (size_t i = 0; i < pol.n_rules; i++) {
		const struct pol_rule *r = &pol.rules[i];

		if (r->action != POL_ACT_ALLOW)
			continue;
		if (in_list(r->name, must_deny, n_must))
			fail_msg("line %d allows '%s', which must stay denied", r->line, r->name);
		if (in_list(r->name, only_conditional, n_cond) && r->n_args == 0)
			fail_msg("line %d allows '%s' without conditions", r->line, r->name);
	}
	pol_free(&pol);
}

/* What the workload's own last steps and the failure path need once the
 * filter is in place (execve, and reporting a failed execve over the sync
 * socket before exiting), and what every Python needs to start. */
static const char *const must_allow[] = {
	"execve", "exit_group", "exit", "sendto", "write", "read", "openat", "close",
	"mmap", "munmap", "mprotect", "brk", "futex", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "newfstatat", "getrandom", "restart_syscall", "wait4", "vfork",
};

static int allowed_unconditionally(const struct nsrun_policy *pol, const char *name)
{
	for (size_t i = 0; i < pol->n_rules; i++)
		if (pol->rules[i].action == POL_ACT_ALLOW && pol->rules[i].n_args == 0 &&
		    strcmp(pol->rules[i].name, name) == 0)
			return 1;
	return 0;
}

static void test_shipped_allows_the_essentials(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_file(SHIPPED, &pol, &err), 0);
	for (size_t i = 0; i < sizeof(must_allow) / sizeof(must_allow[0]); i++)
		if (!allowed_unconditionally(&pol, must_allow[i]))
			fail_msg("the shipped policy does not allow '%s'", must_allow[i]);
	pol_free(&pol);
}

/* The policy is reviewed as prose: every rule says why it is there. */
static void test_every_shipped_rule_has_a_comment(void **state)
{
	json_error_t jerr;
	json_t *root = json_load_file(SHIPPED, 0, &jerr);
	json_t *rules = json_object_get(root, "syscalls");
	size_t i;
	json_t *rule;

	(void)state;
	assert_non_null(root);
	assert_true(json_array_size(rules) > 0);
	json_array_foreach(rules, i, rule) {
		const char *comment = json_string_value(json_object_get(rule, "comment"));

		if (!comment || strlen(comment) < 20)
			fail_msg("syscalls[%zu] has no real comment", i);
	}
	json_decref(root);
}

/* nsrun --check-policy prints this count: keep it well under the kernel's
 * BPF_MAXINSNS so the policy can grow. */
static void test_shipped_filter_size(void **state)
{
	(void)state;
	assert_true(shipped.len < BPF_MAXINSNS / 2);
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

static char token_page[4096] __attribute__((aligned(4096)));

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

static long p_mlock(void) { return ret_errno(syscall(SYS_mlock, &token_page, 1)); }
static long p_getdents_legacy(void) { return ret_errno(syscall(SYS_getdents, -1, NULL, 0)); }
static long p_unshare_none(void) { return ret_errno(unshare(0)); }
static long p_clone_high_bits(void) { return clone_flags(1UL << 32); }
static long p_clone_newuser_high(void) { return clone_flags(CLONE_NEWUSER | (1UL << 32)); }
static long p_socketpair_inet(void)
{
	int sv[2];

	return ret_errno(socketpair(AF_INET, SOCK_STREAM, 0, sv));
}

/* A FIFO is fine (os.mkfifo); a device node never is. */
static long mknod_in_tmp(unsigned long mode, dev_t dev)
{
	char dir[] = "/tmp/nsrun-seccomp-XXXXXX", path[64];
	long r;

	if (!mkdtemp(dir))
		return -1000;
	snprintf(path, sizeof(path), "%s/node", dir);
	r = ret_errno(syscall(SYS_mknodat, AT_FDCWD, path, mode, dev));
	unlink(path);
	rmdir(dir);
	return r;
}

static long p_mkfifo(void) { return mknod_in_tmp(S_IFIFO | 0600, 0); }
static long p_mknod_chr(void) { return mknod_in_tmp(S_IFCHR | 0600, makedev(1, 3)); }
static long p_mknod_blk(void) { return mknod_in_tmp(S_IFBLK | 0600, makedev(7, 0)); }
/* Bits above umode_t are dropped by the kernel: they must not hide S_IFCHR. */
static long p_mknod_chr_high(void) { return mknod_in_tmp(0x10000 | S_IFCHR | 0600, makedev(1, 3)); }

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
PROBE(test_unlisted_syscall_gets_eperm, p_mlock, -EPERM, 1)
PROBE(test_legacy_getdents_gets_eperm, p_getdents_legacy, -EPERM, 1)
PROBE(test_unshare_without_flags_denied, p_unshare_none, -EPERM, 1)
PROBE(test_clone_high_bits_work, p_clone_high_bits, PROBE_OK, 0)
PROBE(test_clone_newuser_high_bits_denied, p_clone_newuser_high, -EPERM, 1)
PROBE(test_socketpair_inet_denied, p_socketpair_inet, -EPERM, 1)
PROBE(test_mkfifo_works, p_mkfifo, PROBE_OK, 0)
PROBE(test_mknod_chr_denied, p_mknod_chr, -EPERM, 0)
PROBE(test_mknod_blk_denied, p_mknod_blk, -EPERM, 0)
PROBE(test_mknod_chr_high_bits_denied, p_mknod_chr_high, -EPERM, 0)

/* ---- every denied family, each call with arguments the kernel alone
 * would accept or refuse with something other than EPERM where that is
 * safe to try; arguments that could change the host if the filter let
 * them through are invalid on purpose (the probes run as root in CI). ---- */

static long raw(long nr, long a, long b, long c, long d, long e)
{
	return ret_errno(syscall(nr, a, b, c, d, e, 0L));
}

static long d_fsopen(void) { return raw(SYS_fsopen, (long)"tmpfs", 0, 0, 0, 0); }
static long d_fspick(void) { return raw(SYS_fspick, AT_FDCWD, (long)"/", 0, 0, 0); }
static long d_open_tree(void) { return raw(SYS_open_tree, AT_FDCWD, (long)"/", 0, 0, 0); }
static long d_move_mount(void) { return raw(SYS_move_mount, -1, (long)"", -1, (long)"", 0); }
static long d_fsconfig(void) { return raw(SYS_fsconfig, -1, 0, 0, 0, 0); }
static long d_fsmount(void) { return raw(SYS_fsmount, -1, 0, 0, 0, 0); }
static long d_mount_setattr(void) { return raw(SYS_mount_setattr, -1, (long)"", 0, 0, 0); }
static long d_umount2(void) { return raw(SYS_umount2, (long)"/nonexistent/nsrun", 0, 0, 0, 0); }
static long d_pivot_root(void) { return raw(SYS_pivot_root, (long)"/nonexistent", (long)"/nonexistent", 0, 0, 0); }
static long d_add_key(void)
{
	return raw(SYS_add_key, (long)"user", (long)"nsrun", (long)"x", 1, KEY_SPEC_PROCESS_KEYRING);
}
static long d_request_key(void) { return raw(SYS_request_key, (long)"user", (long)"nsrun-none", 0, 0, 0); }
static long d_keyctl(void) { return raw(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0, 0, 0); }
static long d_perf(void) { return raw(SYS_perf_event_open, 0, 0, -1, -1, 0); }
static long d_userfaultfd(void) { return raw(SYS_userfaultfd, O_CLOEXEC, 0, 0, 0, 0); }
static long d_io_uring_enter(void) { return raw(SYS_io_uring_enter, -1, 0, 0, 0, 0); }
static long d_io_uring_register(void) { return raw(SYS_io_uring_register, -1, 0, 0, 0, 0); }
static long d_ptrace_traceme(void) { return raw(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0, 0); }
static long vm_rw(long nr)
{
	char src[8] = "nsrun", dst[8];
	struct iovec local = {dst, sizeof(dst)}, remote = {src, sizeof(src)};

	return ret_errno(syscall(nr, (long)getpid(), &local, 1L, &remote, 1L, 0L));
}
static long d_vm_readv(void) { return vm_rw(SYS_process_vm_readv); }
static long d_vm_writev(void) { return vm_rw(SYS_process_vm_writev); }
static long d_process_madvise(void) { return raw(SYS_process_madvise, -1, 0, 0, 0, 0); }
static long d_pidfd_getfd(void) { return raw(SYS_pidfd_getfd, -1, 0, 0, 0, 0); }
static long d_kcmp(void) { return raw(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0); }
static long d_kexec_load(void) { return raw(SYS_kexec_load, 0, 0, 0, -1L, 0); }
static long d_kexec_file(void) { return raw(SYS_kexec_file_load, -1, -1, 0, 0, -1L); }
static long d_init_module(void) { return raw(SYS_init_module, 0, 0, (long)"", 0, 0); }
static long d_finit_module(void) { return raw(SYS_finit_module, -1, (long)"", 0, 0, 0); }
static long d_delete_module(void) { return raw(SYS_delete_module, (long)"nsrun_none", O_NONBLOCK, 0, 0, 0); }
static long d_open_by_handle(void) { return raw(SYS_open_by_handle_at, -1, 0, 0, 0, 0); }
static long d_name_to_handle(void)
{
	char buf[128] = {0};
	int mount_id;

	((unsigned *)buf)[0] = sizeof(buf) - 8;
	return raw(SYS_name_to_handle_at, AT_FDCWD, (long)"/", (long)buf, (long)&mount_id, 0);
}
static long d_sethostname(void) { return raw(SYS_sethostname, (long)"x", -1, 0, 0, 0); }
static long d_setdomainname(void) { return raw(SYS_setdomainname, (long)"x", -1, 0, 0, 0); }
static long d_reboot(void) { return raw(SYS_reboot, 0, 0, 0, 0, 0); }
static long d_swapon(void) { return raw(SYS_swapon, (long)"/nonexistent/nsrun", 0, 0, 0, 0); }
static long d_acct(void) { return raw(SYS_acct, (long)"/nonexistent/nsrun", 0, 0, 0, 0); }
static long d_syslog(void) { return raw(SYS_syslog, 10 /* SIZE_BUFFER */, 0, 0, 0, 0); }
static long d_iopl(void) { return raw(SYS_iopl, 4, 0, 0, 0, 0); }
static long d_ioperm(void) { return raw(SYS_ioperm, 0x10000, 1, 1, 0, 0); }
static long d_settime(void) { return raw(SYS_clock_settime, CLOCK_MONOTONIC, 0, 0, 0, 0); }
static long d_adjtimex(void)
{
	struct timex tx = {0};

	return raw(SYS_adjtimex, (long)&tx, 0, 0, 0, 0);
}
static long d_seccomp(void) { return raw(SYS_seccomp, -1, 0, 0, 0, 0); }
static long d_setgroups(void) { return raw(SYS_setgroups, 0, 0, 0, 0, 0); }
static long d_capset(void) { return raw(SYS_capset, 0, 0, 0, 0, 0); }
static long d_sched_fifo(void) { return raw(SYS_sched_setscheduler, 0, SCHED_FIFO, 0, 0, 0); }
static long d_sysv_shm(void) { return raw(SYS_shmget, 0 /* IPC_PRIVATE */, 4096, 0, 0, 0); }
static long d_mq_open(void) { return raw(SYS_mq_open, (long)"nsrun", 0, 0, 0, 0); }

static void test_denied_families(void **state)
{
	static const struct probe denied[] = {
		{"fsopen", d_fsopen, -EPERM, 0}, {"fspick", d_fspick, -EPERM, 0},
		{"open_tree", d_open_tree, -EPERM, 0}, {"move_mount", d_move_mount, -EPERM, 0},
		{"fsconfig", d_fsconfig, -EPERM, 0}, {"fsmount", d_fsmount, -EPERM, 0},
		{"mount_setattr", d_mount_setattr, -EPERM, 0}, {"umount2", d_umount2, -EPERM, 0},
		{"pivot_root", d_pivot_root, -EPERM, 0}, {"add_key", d_add_key, -EPERM, 0},
		{"request_key", d_request_key, -EPERM, 0}, {"keyctl", d_keyctl, -EPERM, 0},
		{"perf_event_open", d_perf, -EPERM, 0}, {"userfaultfd", d_userfaultfd, -EPERM, 0},
		{"io_uring_enter", d_io_uring_enter, -EPERM, 0},
		{"io_uring_register", d_io_uring_register, -EPERM, 0},
		{"ptrace(TRACEME)", d_ptrace_traceme, -EPERM, 0},
		{"process_vm_readv", d_vm_readv, -EPERM, 0},
		{"process_vm_writev", d_vm_writev, -EPERM, 0},
		{"process_madvise", d_process_madvise, -EPERM, 0},
		{"pidfd_getfd", d_pidfd_getfd, -EPERM, 0}, {"kcmp", d_kcmp, -EPERM, 0},
		{"kexec_load", d_kexec_load, -EPERM, 0}, {"kexec_file_load", d_kexec_file, -EPERM, 0},
		{"init_module", d_init_module, -EPERM, 0},
		{"finit_module", d_finit_module, -EPERM, 0},
		{"delete_module", d_delete_module, -EPERM, 0},
		{"open_by_handle_at", d_open_by_handle, -EPERM, 0},
		{"name_to_handle_at", d_name_to_handle, -EPERM, 0},
		{"sethostname", d_sethostname, -EPERM, 0},
		{"setdomainname", d_setdomainname, -EPERM, 0}, {"reboot", d_reboot, -EPERM, 0},
		{"swapon", d_swapon, -EPERM, 0}, {"acct", d_acct, -EPERM, 0},
		{"syslog", d_syslog, -EPERM, 0}, {"iopl", d_iopl, -EPERM, 0},
		{"ioperm", d_ioperm, -EPERM, 0}, {"clock_settime", d_settime, -EPERM, 0},
		{"adjtimex", d_adjtimex, -EPERM, 0}, {"seccomp", d_seccomp, -EPERM, 0},
		{"setgroups", d_setgroups, -EPERM, 0}, {"capset", d_capset, -EPERM, 0},
		{"sched_setscheduler(FIFO)", d_sched_fifo, -EPERM, 0},
		{"shmget", d_sysv_shm, -EPERM, 0}, {"mq_open", d_mq_open, -EPERM, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		run_probe(&denied[i], &shipped);
}

/* ---- sweeps of the conditional rules, each in one filtered child that
 * reports the first argument whose result is wrong ---- */

static int ioctl_is_injection(unsigned long request)
{
	unsigned low = (unsigned)request;

	return low == TIOCSTI || low == TIOCLINUX;
}

/* 0 if every request gives EPERM exactly when it is TIOCSTI/TIOCLINUX in
 * its low 32 bits; otherwise the first request that does not. */
static long ioctl_check(int fd, unsigned long request)
{
	char buf[64] = {0};
	long r = ret_errno(syscall(SYS_ioctl, fd, request, buf));

	return (r == -EPERM) != ioctl_is_injection(request);
}

static long sweep_ioctl(void)
{
	static const unsigned long highs[] = {0, 1UL << 32, 0xffffffff00000000UL, 0x8000000000000000UL};
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1000;
	for (size_t h = 0; h < sizeof(highs) / sizeof(highs[0]); h++) {
		/* every 16-bit request, and every one-bit neighbour of the two
		 * denied ones: each rule of the union is exercised */
		for (unsigned long r = 0; r <= 0xffff; r++)
			if (ioctl_check(fd, highs[h] | r))
				return (long)(highs[h] | r);
		for (int bit = 0; bit < 32; bit++) {
			unsigned long sti = TIOCSTI ^ (1UL << bit), lin = TIOCLINUX ^ (1UL << bit);

			if (ioctl_check(fd, highs[h] | sti))
				return (long)(highs[h] | sti);
			if (ioctl_check(fd, highs[h] | lin))
				return (long)(highs[h] | lin);
		}
	}
	close(fd);
	return 0;
}

/* What the policy's socket rules allow, written independently of them. */
static int socket_allowed(int domain, int type, int protocol)
{
	int base = type & 0xf;

	switch (domain) {
	case AF_UNIX:
		return 1;
	case AF_INET:
	case AF_INET6:
		return base == SOCK_STREAM || base == SOCK_DGRAM;
	case AF_NETLINK:
		return protocol == NETLINK_ROUTE;
	default:
		return 0;
	}
}

static long sweep_socket(void)
{
	static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET,
				    SOCK_PACKET, SOCK_STREAM | SOCK_CLOEXEC,
				    SOCK_RAW | SOCK_NONBLOCK};
	static const int protocols[] = {0, 1, 6, 17, 255};

	for (int domain = 0; domain < AF_MAX; domain++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			for (size_t p = 0; p < sizeof(protocols) / sizeof(protocols[0]); p++) {
				long r = sock(domain, types[t], protocols[p]);

				/* allowed: whatever the kernel says, but not our EPERM */
				if ((r == -EPERM) == socket_allowed(domain, types[t], protocols[p]))
					return domain * 100000L + types[t] * 1000L + protocols[p];
			}
	return 0;
}

static long sweep_clone(void)
{
	static const unsigned long ns_flags[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS,
						 CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
						 CLONE_NEWNET};

	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
		if (clone_flags(ns_flags[i]) != -EPERM)
			return (long)ns_flags[i];
		if (clone_flags(ns_flags[i] | CLONE_VM | CLONE_VFORK) != -EPERM)
			return (long)ns_flags[i];
	}
	return 0;
}

static void run_sweep(const char *what, long (*sweep)(void))
{
	const struct probe p = {what, sweep, 0, 0};

	run_probe(&p, &shipped);
}

static void test_ioctl_sweep(void **state)
{
	(void)state;
	run_sweep("ioctl sweep (result: first wrong request)", sweep_ioctl);
}

static void test_socket_sweep(void **state)
{
	(void)state;
	run_sweep("socket sweep (result: domain*100000 + type*1000 + protocol)", sweep_socket);
}

static void test_clone_sweep(void **state)
{
	(void)state;
	run_sweep("clone namespace flags (result: the flag that got through)", sweep_clone);
}

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
		cmocka_unit_test(test_shipped_is_an_allowlist),
		cmocka_unit_test(test_shipped_filter_size),
		cmocka_unit_test(test_shipped_allows_the_essentials),
		cmocka_unit_test(test_every_shipped_rule_has_a_comment),
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
		cmocka_unit_test(test_unlisted_syscall_gets_eperm),
		cmocka_unit_test(test_legacy_getdents_gets_eperm),
		cmocka_unit_test(test_unshare_without_flags_denied),
		cmocka_unit_test(test_clone_high_bits_work),
		cmocka_unit_test(test_clone_newuser_high_bits_denied),
		cmocka_unit_test(test_socketpair_inet_denied),
		cmocka_unit_test(test_mkfifo_works),
		cmocka_unit_test(test_mknod_chr_denied),
		cmocka_unit_test(test_mknod_blk_denied),
		cmocka_unit_test(test_mknod_chr_high_bits_denied),
		cmocka_unit_test(test_denied_families),
		cmocka_unit_test(test_ioctl_sweep),
		cmocka_unit_test(test_socket_sweep),
		cmocka_unit_test(test_clone_sweep),
#if defined(__x86_64__)
		cmocka_unit_test(test_i386_syscall_killed),
		cmocka_unit_test(test_x32_syscall_killed),
#endif
	};

	return cmocka_run_group_tests_name("seccomp", tests, setup_shipped, teardown_shipped);
}
