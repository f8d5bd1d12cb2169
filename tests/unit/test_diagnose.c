/* diag_explain() on every kind of restricted host, from facts alone, and
 * the pure parts of `nsrun doctor`: the verdict and the cgroup layout. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "diagnose.h"
#include "doctor.h"

static struct diag_facts facts(enum diag_stage stage, int err_no, const char *step)
{
	struct diag_facts f;

	memset(&f, 0, sizeof(f));
	f.stage = stage;
	f.err_no = err_no;
	snprintf(f.step, sizeof(f.step), "%s", step);
	for (int i = 0; i < DIAG_NS_COUNT; i++)
		f.max_ns[i] = 15000;
	f.unprivileged_userns_clone = DIAG_UNKNOWN;
	f.apparmor_restrict = DIAG_UNKNOWN;
	f.map_uid = f.map_gid = 1000;
	snprintf(f.self_uid_map, sizeof(f.self_uid_map), "0 0 4294967295");
	snprintf(f.self_gid_map, sizeof(f.self_gid_map), "0 0 4294967295");
	return f;
}

static struct nsrun_error explain(const struct diag_facts *f, bool expect_explained)
{
	struct nsrun_error err;

	memset(&err, 0, sizeof(err));
	snprintf(err.msg, sizeof(err.msg), "untouched");
	assert_int_equal(diag_explain(f, &err), expect_explained);
	if (expect_explained) {
		assert_int_equal(err.code, f->err_no);
		assert_true(strstr(err.msg, "...") == NULL); /* nothing was cut */
		assert_true(err.hint[0] != '\0');
	}
	return err;
}

static void test_max_user_namespaces_zero(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, ENOSPC, "clone3");
	struct nsrun_error err;

	(void)state;
	f.max_ns[DIAG_NS_USER] = 0;
	f.privileged = true;
	err = explain(&f, true);
	assert_string_equal(err.msg, "cannot create a user namespace: user.max_user_namespaces is 0 "
				     "(clone3: No space left on device)");
	assert_string_equal(err.hint, "sudo sysctl -w user.max_user_namespaces=15000 (to keep it, "
				      "add it to /etc/sysctl.d/)");
	assert_string_equal(err.kind, "userns_denied");
}

static void test_other_namespace_limit_zero(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, ENOSPC, "clone3");
	struct nsrun_error err;

	(void)state;
	f.max_ns[DIAG_NS_NET] = 0;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "cannot create a network namespace: "
					"user.max_net_namespaces is 0"));
	assert_non_null(strstr(err.hint, "sudo sysctl -w user.max_net_namespaces=15000"));
}

static void test_limit_reached_or_nested_too_deep(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, EUSERS, "clone3");
	struct nsrun_error err;

	(void)state;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "limit is reached or namespaces are nested over 32 deep"));
	assert_non_null(strstr(err.msg, "user.max_user_namespaces = 15000"));
}

static void test_debian_sysctl_blocks_ordinary_users_only(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, EPERM, "clone3");
	struct nsrun_error err;

	(void)state;
	f.unprivileged_userns_clone = 0;
	err = explain(&f, true);
	assert_string_equal(err.msg, "cannot create a user namespace: kernel.unprivileged_userns_clone "
				     "is 0, which forbids them to ordinary users (clone3: Operation "
				     "not permitted)");
	assert_string_equal(err.hint, DIAG_FIX_DEBIAN);
	f.privileged = true; /* root is exempt: the sysctl is not the cause */
	err = explain(&f, true);
	assert_null(strstr(err.msg, "unprivileged_userns_clone"));
}

static void test_apparmor_at_each_stage(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, EACCES, "clone3");
	struct nsrun_error err;

	(void)state;
	f.apparmor_restrict = 1;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "cannot create a user namespace: AppArmor restricts "
					"unprivileged user namespaces "
					"(kernel.apparmor_restrict_unprivileged_userns = 1"));
	assert_string_equal(err.hint, DIAG_FIX_APPARMOR);
	f = facts(DIAG_STAGE_ID_MAP, EPERM, "write /proc/42/uid_map");
	f.apparmor_restrict = 1;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "Ubuntu 23.10+; write /proc/42/uid_map: Operation not permitted)"));
	f = facts(DIAG_STAGE_SETUP, EACCES, "mount tmpfs on /app");
	f.apparmor_restrict = 1;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "cannot set up the sandbox: AppArmor denies capabilities in "
					"unprivileged user namespaces"));
	assert_string_equal(err.kind, "userns_denied");
}

static void test_container_seccomp_clone3_enosys(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, ENOSYS, "clone3");
	struct nsrun_error err;

	(void)state;
	f.seccomp_mode = 2;
	f.dockerenv = true;
	f.privileged = true;
	err = explain(&f, true);
	assert_string_equal(err.msg, "cannot create a user namespace: the container's seccomp profile "
				     "forbids it (Seccomp: 2 in /proc/self/status, /.dockerenv exists; "
				     "clone3: Function not implemented)");
	assert_string_equal(err.hint, DIAG_FIX_CONTAINER);
	f.dockerenv = false;
	f.containerenv = true;
	f.err_no = EPERM;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "/run/.containerenv exists"));
}

static void test_seccomp_without_container_and_container_without_seccomp(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, EPERM, "clone3");
	struct nsrun_error err;

	(void)state;
	f.seccomp_mode = 2;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "a seccomp filter on nsrun's own process forbids it"));
	f.seccomp_mode = 0;
	f.dockerenv = true;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "the container does not allow it (/.dockerenv exists;"));
	f.dockerenv = false;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "no known restriction found"));
}

static void test_chroot(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, EPERM, "clone3");
	struct nsrun_error err;

	(void)state;
	f.chrooted = 1;
	f.privileged = true;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "nsrun runs in a chroot, where the kernel refuses them"));
	assert_non_null(strstr(err.hint, "pivot_root or switch_root"));
}

static void test_other_clone_errors(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_CLONE, ENOSYS, "clone3");
	struct nsrun_error err;

	(void)state;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "this kernel has no clone3"));
	assert_string_equal(err.kind, "sandbox_setup");
	f.err_no = EAGAIN;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "cannot create the sandbox's process"));
	f.err_no = EINVAL;
	err = explain(&f, true);
	assert_string_equal(err.msg, "cannot create the sandbox's namespaces: clone3: Invalid argument");
}

static void test_root_in_a_namespace_without_the_sandbox_ids(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_ID_MAP, EPERM, "write /proc/7/uid_map");
	struct nsrun_error err;

	(void)state;
	f.privileged = true;
	f.map_uid = f.map_gid = 65534;
	snprintf(f.self_uid_map, sizeof(f.self_uid_map), "0 0 1");
	err = explain(&f, true);
	assert_string_equal(err.msg, "cannot map the sandbox user: nsrun runs as root in a user "
				     "namespace that does not map id 65534 (/proc/self/uid_map: 0 0 1; "
				     "write /proc/7/uid_map: Operation not permitted)");
	snprintf(f.self_uid_map, sizeof(f.self_uid_map), "0 0 65536");
	explain(&f, false);
}

static void test_unexplained_failures_leave_the_error_alone(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_ID_MAP, EPERM, "write /proc/7/uid_map");
	struct nsrun_error err;

	(void)state;
	err = explain(&f, false); /* ordinary user, no AppArmor: not the host's policy */
	assert_string_equal(err.msg, "untouched");
	f = facts(DIAG_STAGE_ID_MAP, ESRCH, "write /proc/7/uid_map");
	f.apparmor_restrict = 1;
	explain(&f, false);
	/* The caller's own files: their EACCES is the caller's, container or not. */
	f = facts(DIAG_STAGE_SETUP, EACCES, "--bind-ro source /root/secret");
	f.dockerenv = true;
	f.apparmor_restrict = 1;
	explain(&f, false);
	f = facts(DIAG_STAGE_SETUP, EPERM, "mount tmpfs on /app");
	f.dockerenv = true; /* EPERM outside /proc with no filter: not proven to be the container */
	explain(&f, false);
}

static void test_container_profile_at_setup(void **state)
{
	struct diag_facts f = facts(DIAG_STAGE_SETUP, EPERM, "mount /proc");
	struct nsrun_error err;

	(void)state;
	f.dockerenv = true;
	f.privileged = true;
	err = explain(&f, true);
	assert_string_equal(err.msg, "cannot set up the sandbox: the container's masked /proc forbids "
				     "it (/.dockerenv exists; mount /proc: Operation not permitted)");
	f = facts(DIAG_STAGE_SETUP, EACCES, "mount tmpfs on /app");
	f.containerenv = true;
	err = explain(&f, true);
	assert_non_null(strstr(err.msg, "the container's security profile forbids it"));
}

static void test_map_has(void **state)
{
	(void)state;
	assert_true(diag_map_has("0 0 4294967295", 65534));
	assert_true(diag_map_has("0 0 1", 0));
	assert_false(diag_map_has("0 0 1", 65534));
	assert_true(diag_map_has("0 1000 1, 1 100000 65536", 65536));
	assert_false(diag_map_has("0 1000 1, 1 100000 65536", 65537));
	assert_false(diag_map_has("", 0));
	assert_string_equal(diag_ns_sysctl(DIAG_NS_CGROUP), "cgroup");
}

static void test_doctor_verdict(void **state)
{
	bool can[DOCTOR_CAN_COUNT];

	(void)state;
	for (int i = 0; i < DOCTOR_CAN_COUNT; i++)
		can[i] = true;
	assert_int_equal(doctor_verdict_of(can, true), DOCTOR_USABLE);
	assert_int_equal(doctor_verdict_of(can, false), DOCTOR_UNUSABLE);
	can[DOCTOR_CAN_SWAP] = false;
	assert_int_equal(doctor_verdict_of(can, true), DOCTOR_DEGRADED);
	can[DOCTOR_CAN_USERNS] = false;
	assert_int_equal(doctor_verdict_of(can, true), DOCTOR_UNUSABLE);
	assert_string_equal(doctor_verdict_name(DOCTOR_DEGRADED), "degraded");
	assert_string_equal(doctor_status_name(DOCTOR_WARN), "warn");
	assert_string_equal(doctor_cap_name(DOCTOR_CAN_NETWORK), "network");
}

static const char hybrid_mountinfo[] =
	"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	"25 22 0:21 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"26 25 0:22 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"29 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"33 25 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"34 25 0:30 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"35 25 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_self[] = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/5fed\n"
				  "1:cpu:/\n0::/\n";

static void test_cgroup_layout_hybrid(void **state)
{
	struct doctor_cg_layout l;

	(void)state;
	doctor_cg_parse(hybrid_mountinfo, "", hybrid_self, &l);
	assert_int_equal(l.mode, DOCTOR_CG_HYBRID);
	assert_string_equal(doctor_cg_mode_name(l.mode), "hybrid");
	assert_string_equal(l.v2_mount, "/sys/fs/cgroup/unified");
	assert_int_equal(l.memory.version, 1);
	assert_string_equal(l.memory.mount, "/sys/fs/cgroup/memory");
	assert_string_equal(l.memory.current, "/process_api/5fed");
	assert_string_equal(l.memory.dir, "/sys/fs/cgroup/memory/process_api/5fed");
	assert_int_equal(l.pids.version, 1);
	assert_string_equal(l.pids.dir, "/sys/fs/cgroup/pids");
}

/* Docker on cgroup v1 without a cgroup namespace: the container's group is
 * bind-mounted at the hierarchy's usual place, and / of the host shows the
 * host's hierarchies again under /host. */
static void test_cgroup_layout_in_a_container(void **state)
{
	static const char mountinfo[] =
		"900 800 0:90 / /host/sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
		"700 600 0:25 /docker/1f /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
		"701 600 0:29 /docker/1f /sys/fs/cgroup/pids ro,nosuid - cgroup cgroup rw,pids\n";
	struct doctor_cg_layout l;

	(void)state;
	doctor_cg_parse(mountinfo, NULL, "8:pids:/docker/1f\n4:memory:/docker/1f\n", &l);
	assert_int_equal(l.mode, DOCTOR_CG_V1);
	assert_string_equal(l.memory.mount, "/sys/fs/cgroup/memory");
	assert_string_equal(l.memory.root, "/docker/1f");
	assert_string_equal(l.memory.dir, "/sys/fs/cgroup/memory");
	assert_string_equal(l.pids.dir, "/sys/fs/cgroup/pids");
}

static void test_cgroup_layout_v2_and_v1(void **state)
{
	struct doctor_cg_layout l;

	(void)state;
	doctor_cg_parse("30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
			"cpu memory pids\n", "0::/user.slice/user-1000.slice/session-3.scope\n", &l);
	assert_int_equal(l.mode, DOCTOR_CG_V2);
	assert_int_equal(l.memory.version, 2);
	assert_int_equal(l.pids.version, 2);
	assert_string_equal(l.pids.dir,
			    "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope");
	doctor_cg_parse("30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "cpu io\n",
			"0::/\n", &l);
	assert_int_equal(l.memory.version, 0); /* the controller is not offered at all */
	doctor_cg_parse("30 22 0:26 / /sys/fs/cgroup/memory,pids rw - cgroup cgroup rw,memory,pids\n",
			NULL, "3:memory,pids:/a\n", &l);
	assert_int_equal(l.mode, DOCTOR_CG_V1);
	assert_string_equal(l.memory.dir, "/sys/fs/cgroup/memory,pids/a");
	assert_string_equal(l.pids.mount, "/sys/fs/cgroup/memory,pids");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_user_namespaces_zero),
		cmocka_unit_test(test_other_namespace_limit_zero),
		cmocka_unit_test(test_limit_reached_or_nested_too_deep),
		cmocka_unit_test(test_debian_sysctl_blocks_ordinary_users_only),
		cmocka_unit_test(test_apparmor_at_each_stage),
		cmocka_unit_test(test_container_seccomp_clone3_enosys),
		cmocka_unit_test(test_seccomp_without_container_and_container_without_seccomp),
		cmocka_unit_test(test_chroot),
		cmocka_unit_test(test_other_clone_errors),
		cmocka_unit_test(test_root_in_a_namespace_without_the_sandbox_ids),
		cmocka_unit_test(test_unexplained_failures_leave_the_error_alone),
		cmocka_unit_test(test_container_profile_at_setup),
		cmocka_unit_test(test_map_has),
		cmocka_unit_test(test_doctor_verdict),
		cmocka_unit_test(test_cgroup_layout_hybrid),
		cmocka_unit_test(test_cgroup_layout_in_a_container),
		cmocka_unit_test(test_cgroup_layout_v2_and_v1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
