/* struct nsrun_policy -> classic BPF with libseccomp, in the supervisor;
 * installing it in the child is one syscall on memory prepared here.
 *
 * Architectures: seccomp_init() always adds the native one and the policy
 * may add more.  Everything else hits SCMP_FLTATR_ACT_BADARCH, which we
 * make KILL_PROCESS.  That covers i386 (`int $0x80` arrives with
 * AUDIT_ARCH_I386) and, on x86_64, x32: x32 shares AUDIT_ARCH_X86_64 and
 * only differs by bit 30 of the syscall number, and libseccomp 2.5 sends
 * nr >= 0x40000000 to the bad-arch action unless SCMP_ARCH_X32 is in the
 * filter (checked by test_seccomp's x32 test). */
#include "seccomp_bpf.h"

#include <errno.h>
#include <seccomp.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"

#define SC_SKIP (-1) /* a rule's syscall does not exist on any arch of the filter */

static const char *sc_source(const struct nsrun_policy *pol)
{
	return pol->source ? pol->source : "seccomp policy";
}

static uint32_t sc_action(enum pol_action action, int errno_ret)
{
	switch (action) {
	case POL_ACT_ALLOW:
		return SCMP_ACT_ALLOW;
	case POL_ACT_ERRNO:
		return SCMP_ACT_ERRNO((uint32_t)errno_ret);
	case POL_ACT_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case POL_ACT_TRAP:
		return SCMP_ACT_TRAP;
	case POL_ACT_LOG:
		return SCMP_ACT_LOG;
	case POL_ACT_KILL_PROCESS:
	default: /* a corrupt value fails closed */
		return SCMP_ACT_KILL_PROCESS;
	}
}

static int sc_same_action(const struct pol_rule *a, enum pol_action act, int errno_ret)
{
	return a->action == act && (act != POL_ACT_ERRNO || a->errno_ret == errno_ret);
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64"; 0 if it does not know it. */
static uint32_t sc_arch_token(const char *name)
{
	static const char prefix[] = "SCMP_ARCH_";
	char lower[32];
	size_t i;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	name += sizeof(prefix) - 1;
	for (i = 0; i < sizeof(lower) - 1 && name[i]; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static int sc_add_arches(scmp_filter_ctx ctx, const struct nsrun_policy *pol,
			 struct nsrun_error *err)
{
	for (unsigned i = 0; i < pol->n_arches; i++) {
		uint32_t token = sc_arch_token(pol->arches[i]);
		int r;

		if (token == 0)
			return nsrun_err(err, EINVAL, "%s: architecture %s is not supported by "
						      "libseccomp %u.%u.%u", sc_source(pol),
					 pol->arches[i], SCMP_VER_MAJOR, SCMP_VER_MINOR,
					 SCMP_VER_MICRO);
		if (seccomp_arch_exist(ctx, token) == 0)
			continue; /* the native one, or listed twice */
		r = seccomp_arch_add(ctx, token);
		if (r < 0)
			return nsrun_err(err, -r, "%s: cannot add architecture %s: %s",
					 sc_source(pol), pol->arches[i], strerror(-r));
	}
	return 0;
}

/* Does name exist on the native arch or on one the policy lists? */
static int sc_in_filter(const struct nsrun_policy *pol, const char *name)
{
	for (unsigned i = 0; i < pol->n_arches; i++) {
		uint32_t token = sc_arch_token(pol->arches[i]);

		if (token && seccomp_syscall_resolve_name_arch(token, name) >= 0)
			return 1;
	}
	return 0;
}

/* libseccomp knows every syscall of every arch it supports: a name absent
 * from this arch resolves to a negative pseudo number (__PNR_*) and only
 * a name it has never heard of gives __NR_SCMP_ERROR.  The first kind is
 * skipped, as runc and crun do, so one profile serves several arches; the
 * second is a typo. */
static int sc_resolve(const struct nsrun_policy *pol, const struct pol_rule *rule, int *ret_nr,
		      struct nsrun_error *err)
{
	int nr = seccomp_syscall_resolve_name(rule->name);

	if (nr == __NR_SCMP_ERROR) {
		nsrun_err(err, EINVAL, "%s:%d: unknown syscall '%s'", sc_source(pol), rule->line,
			  rule->name);
		return nsrun_err_hint(err, "libseccomp %u.%u.%u does not know this name",
				      SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
	}
	*ret_nr = nr >= 0 || sc_in_filter(pol, rule->name) ? nr : SC_SKIP;
	return 0;
}

static int sc_same_arg(const struct pol_arg *a, const struct pol_arg *b)
{
	return a->index == b->index && a->op == b->op && a->value == b->value &&
	       a->value_two == b->value_two;
}

/* The same conditions, in any order. */
static int sc_same_args(const struct pol_rule *a, const struct pol_rule *b)
{
	if (a->n_args != b->n_args)
		return 0;
	for (unsigned i = 0; i < a->n_args; i++) {
		unsigned j = 0;

		while (j < b->n_args && !sc_same_arg(&a->args[i], &b->args[j]))
			j++;
		if (j == b->n_args)
			return 0;
	}
	return 1;
}

/* Rules for one syscall with different actions are fine when both have
 * conditions.  But libseccomp lets an unconditional rule silently replace
 * every other rule for the syscall (whichever came first), and refuses
 * identical conditions (EEXIST) or drops the one equal to the default
 * action: either way the filter would not do what the policy says. */
static int sc_check_conflict(const struct nsrun_policy *pol, const int *nrs, size_t i,
			     struct nsrun_error *err)
{
	const struct pol_rule *rule = &pol->rules[i];

	for (size_t j = 0; j < i; j++) {
		const struct pol_rule *prev = &pol->rules[j];
		int same_args = sc_same_args(prev, rule);

		if (nrs[j] != nrs[i] || sc_same_action(prev, rule->action, rule->errno_ret))
			continue;
		if (prev->n_args && rule->n_args && !same_args)
			continue;
		nsrun_err(err, EINVAL, "%s:%d: rule for '%s' conflicts with the rule at line %d: "
				       "different actions, and %s",
			  sc_source(pol), rule->line, rule->name, prev->line,
			  same_args ? "the same argument conditions" : "one has no conditions");
		return nsrun_err_hint(err, "libseccomp cannot keep both: merge them, or give "
					   "each its own conditions");
	}
	return 0;
}

/* pol_load_* guarantees the ranges, but a policy may be built by hand.
 * libseccomp compares each argument at most once per rule (EINVAL). */
static int sc_check_args(const struct nsrun_policy *pol, const struct pol_rule *rule,
			 struct nsrun_error *err)
{
	unsigned seen = 0;

	if (rule->n_args > POL_MAX_ARGS)
		return nsrun_err(err, EINVAL, "%s:%d: rule for '%s' has %u conditions",
				 sc_source(pol), rule->line, rule->name, rule->n_args);
	for (unsigned i = 0; i < rule->n_args; i++) {
		unsigned bit;

		if (rule->args[i].index >= POL_MAX_ARGS || rule->args[i].op > POL_OP_MASKED_EQ)
			return nsrun_err(err, EINVAL, "%s:%d: rule for '%s' has an invalid "
						      "condition", sc_source(pol), rule->line,
					 rule->name);
		bit = 1U << rule->args[i].index;

		if (seen & bit) {
			nsrun_err(err, EINVAL, "%s:%d: rule for '%s' compares argument %u twice",
				  sc_source(pol), rule->line, rule->name, rule->args[i].index);
			return nsrun_err_hint(err, "libseccomp allows one comparison per argument "
						   "in a rule; use separate rules (they are ORed)");
		}
		seen |= bit;
	}
	return 0;
}

static enum scmp_compare sc_op(enum pol_op op)
{
	static const enum scmp_compare ops[] = {
		[POL_OP_NE] = SCMP_CMP_NE, [POL_OP_LT] = SCMP_CMP_LT,
		[POL_OP_LE] = SCMP_CMP_LE, [POL_OP_EQ] = SCMP_CMP_EQ,
		[POL_OP_GE] = SCMP_CMP_GE, [POL_OP_GT] = SCMP_CMP_GT,
		[POL_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};

	return ops[op];
}

/* -EEXIST from libseccomp: same syscall and conditions, other action. */
static int sc_rule_error(const struct nsrun_policy *pol, const struct pol_rule *rule, int r,
			 struct nsrun_error *err)
{
	const char *src = sc_source(pol);

	if (r == -EEXIST)
		return nsrun_err(err, EINVAL, "%s:%d: rule for '%s' has the same conditions as an "
					      "earlier rule for it but a different action",
				 src, rule->line, rule->name);
	return nsrun_err(err, -r, "%s:%d: libseccomp rejects the rule for '%s': %s", src,
			 rule->line, rule->name, strerror(-r));
}

static int sc_add_rule(scmp_filter_ctx ctx, const struct nsrun_policy *pol,
		       const struct pol_rule *rule, int nr, struct nsrun_error *err)
{
	struct scmp_arg_cmp cmp[POL_MAX_ARGS];
	int r;

	/* Same as the default: libseccomp refuses it (EACCES), and it
	 * changes nothing. */
	if (sc_same_action(rule, pol->default_action, pol->default_errno))
		return 0;
	for (unsigned i = 0; i < rule->n_args; i++) {
		const struct pol_arg *a = &rule->args[i];

		cmp[i] = (struct scmp_arg_cmp){a->index, sc_op(a->op), a->value, a->value_two};
	}
	r = seccomp_rule_add_array(ctx, sc_action(rule->action, rule->errno_ret), nr,
				   rule->n_args, cmp);
	return r < 0 ? sc_rule_error(pol, rule, r, err) : 0;
}

static int sc_add_rules(scmp_filter_ctx ctx, const struct nsrun_policy *pol,
			struct nsrun_error *err)
{
	int *nrs = calloc(pol->n_rules ? pol->n_rules : 1, sizeof(*nrs));
	int r = 0;

	if (!nrs)
		return nsrun_err(err, ENOMEM, "%s: out of memory", sc_source(pol));
	for (size_t i = 0; i < pol->n_rules && r == 0; i++) {
		const struct pol_rule *rule = &pol->rules[i];

		r = sc_resolve(pol, rule, &nrs[i], err);
		if (r < 0 || nrs[i] == SC_SKIP)
			continue;
		r = sc_check_args(pol, rule, err);
		if (r == 0)
			r = sc_check_conflict(pol, nrs, i, err);
		if (r == 0)
			r = sc_add_rule(ctx, pol, rule, nrs[i], err);
	}
	free(nrs);
	return r;
}

static int sc_read_program(int fd, struct sc_program *ret, struct nsrun_error *err)
{
	struct stat st;
	size_t size, done = 0;

	if (fstat(fd, &st) < 0)
		return nsrun_err_sys(err, "seccomp: fstat on the exported filter");
	size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0)
		return nsrun_err(err, EINVAL, "seccomp: libseccomp exported %zu bytes, not a "
					      "BPF program", size);
	if (size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return nsrun_err(err, E2BIG, "seccomp: the filter has %zu instructions, the "
					     "kernel accepts %d", size / sizeof(struct sock_filter),
				 BPF_MAXINSNS);
	ret->filter = malloc(size);
	if (!ret->filter)
		return nsrun_err(err, ENOMEM, "seccomp: out of memory");
	while (done < size) {
		ssize_t n = pread(fd, (char *)ret->filter + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sc_program_free(ret);
			return n < 0 ? nsrun_err_sys(err, "seccomp: reading the exported filter")
				     : nsrun_err(err, EIO, "seccomp: exported filter shrank");
		}
		done += (size_t)n;
	}
	ret->len = (unsigned short)(size / sizeof(struct sock_filter));
	return 0;
}

/* libseccomp 2.5 exports only to a file descriptor. */
static int sc_export(scmp_filter_ctx ctx, struct sc_program *ret, struct nsrun_error *err)
{
	int fd, r;

	fd = memfd_create("nsrun-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return nsrun_err_sys(err, "seccomp: memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		r = nsrun_err(err, -r, "seccomp: seccomp_export_bpf: %s", strerror(-r));
	else
		r = sc_read_program(fd, ret, err);
	close(fd);
	return r;
}

static int sc_set_attrs(scmp_filter_ctx ctx, struct nsrun_error *err)
{
	int r;

	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return nsrun_err(err, -r, "seccomp: cannot kill the process on a foreign syscall "
					  "ABI (SECCOMP_RET_KILL_PROCESS needs Linux 4.14): %s",
				 strerror(-r));
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0)
		return nsrun_err(err, -r, "seccomp: optimize: %s", strerror(-r));
	/* The child sets no_new_privs itself, before dropping privileges. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return nsrun_err(err, -r, "seccomp: cannot clear SCMP_FLTATR_CTL_NNP: %s",
				 strerror(-r));
	return 0;
}

int sc_compile(const struct nsrun_policy *pol, struct sc_program *ret, struct nsrun_error *err)
{
	scmp_filter_ctx ctx;
	int r;

	ret->filter = NULL;
	ret->len = 0;
	ctx = seccomp_init(sc_action(pol->default_action, pol->default_errno));
	if (!ctx)
		return nsrun_err(err, EINVAL, "%s: seccomp_init failed: libseccomp or the kernel "
					      "does not support the default action", sc_source(pol));
	r = sc_set_attrs(ctx, err);
	if (r == 0)
		r = sc_add_arches(ctx, pol, err);
	if (r == 0)
		r = sc_add_rules(ctx, pol, err);
	if (r == 0)
		r = sc_export(ctx, ret, err);
	seccomp_release(ctx);
	return r;
}

/* Runs in the child between fork and execve: no allocation, and no
 * strerror() (it may load translations). */
int sc_install(const struct sc_program *prog, struct nsrun_error *err)
{
	struct sock_fprog fprog;
	int e;

	if (!prog || !prog->filter || prog->len == 0)
		return nsrun_err(err, EINVAL, "seccomp: no filter program to install");
	fprog.len = prog->len;
	fprog.filter = prog->filter;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0)
		return 0;
	/* Kernels before 3.17 only have the prctl interface. */
	if (errno == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0)
		return 0;
	e = errno;
	nsrun_err(err, e, "seccomp: installing the filter failed (errno %d)", e);
	if (e == EACCES)
		return nsrun_err_hint(err, "set PR_SET_NO_NEW_PRIVS first, or keep CAP_SYS_ADMIN");
	if (e == EINVAL)
		return nsrun_err_hint(err, "the kernel lacks CONFIG_SECCOMP_FILTER or rejects the "
					   "program");
	return -e;
}

void sc_program_free(struct sc_program *prog)
{
	if (!prog)
		return;
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}
