#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cgroup.h"

static const struct cg_limits limits = {128ULL << 20, 64};

static void test_v2_memory_sets_max_and_disables_swap(void **state)
{
	struct cg_setting s[CG_MAX_SETTINGS];

	(void)state;
	assert_int_equal(cg_plan_settings(CG_V2, "memory", &limits, s), 2);
	assert_string_equal(s[0].file, "memory.max");
	assert_string_equal(s[0].value, "134217728");
	assert_string_equal(s[1].file, "memory.swap.max");
	assert_string_equal(s[1].value, "0");
	assert_true(s[0].required && s[1].required);
}

static void test_v1_memory_sets_limit_before_memsw(void **state)
{
	struct cg_setting s[CG_MAX_SETTINGS];

	(void)state;
	assert_int_equal(cg_plan_settings(CG_V1, "memory", &limits, s), 3);
	assert_string_equal(s[0].file, "memory.limit_in_bytes");
	assert_string_equal(s[0].value, "134217728");
	assert_string_equal(s[1].file, "memory.memsw.limit_in_bytes");
	assert_string_equal(s[1].value, "134217728"); /* equal to the limit: no swap */
	assert_string_equal(s[2].file, "memory.kmem.tcp.limit_in_bytes"); /* TCP buffers counted */
	assert_string_equal(s[2].value, "134217728");
	assert_false(s[2].required); /* gone from newer kernels */
}

static void test_pids_same_on_both_versions(void **state)
{
	struct cg_setting s[CG_MAX_SETTINGS];

	(void)state;
	for (int v = CG_V1; v <= CG_V2; v++) {
		assert_int_equal(cg_plan_settings((enum cg_version)v, "pids", &limits, s), 1);
		assert_string_equal(s[0].file, "pids.max");
		assert_string_equal(s[0].value, "64");
	}
}

static void test_counter_files(void **state)
{
	(void)state;
	assert_string_equal(cg_oom_file(CG_V2), "memory.events");
	assert_string_equal(cg_oom_file(CG_V1), "memory.oom_control");
	assert_string_equal(cg_peak_file(CG_V2), "memory.peak");
	assert_string_equal(cg_peak_file(CG_V1), "memory.max_usage_in_bytes");
}

static void test_parse_oom_counters(void **state)
{
	const char *v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
	const char *v2 = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
	uint64_t value = 99;

	(void)state;
	assert_int_equal(cg_parse_keyed(v1, "oom_kill", &value), 0);
	assert_true(value == 3);
	assert_int_equal(cg_parse_keyed(v2, "oom_kill", &value), 0);
	assert_true(value == 1);
	assert_int_equal(cg_parse_keyed(v2, "oom", &value), 0);
	assert_true(value == 2);
	assert_int_equal(cg_parse_keyed("oom_kill_disable 0\n", "oom_kill", &value), -ENOENT);
	assert_int_equal(cg_parse_keyed("oom_kill x\n", "oom_kill", &value), -EBADMSG);
	assert_int_equal(cg_parse_keyed("", "oom_kill", &value), -ENOENT);
}

static void test_unified_path_from_proc_self_cgroup(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(cg_parse_unified_path("0::/\n", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(cg_parse_unified_path("0::/user.slice/user-1000.slice/session-2.scope\n", buf,
					       sizeof(buf)), 0);
	assert_string_equal(buf, "/user.slice/user-1000.slice/session-2.scope");
	/* hybrid: v1 lines first, the unified line last */
	assert_int_equal(cg_parse_unified_path("4:memory:/a\n1:name=systemd:/b\n0::/c\n", buf,
					       sizeof(buf)), 0);
	assert_string_equal(buf, "/c");
	/* no unified line (pure v1), a bad one, one too long */
	assert_int_equal(cg_parse_unified_path("4:memory:/a\n8:pids:/\n", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cg_parse_unified_path("0::\n", buf, sizeof(buf)), -EBADMSG);
	assert_int_equal(cg_parse_unified_path("0::/abcdefgh\n", buf, 8), -ENAMETOOLONG);
}

static void test_subtree_control_delta(void **state)
{
	const char *both[] = {"memory", "pids"};
	char buf[64];

	(void)state;
	assert_int_equal(cg_subtree_delta("", both, 2, '+', buf, sizeof(buf)), 2);
	assert_string_equal(buf, "+memory +pids");
	assert_int_equal(cg_subtree_delta("cpu memory io\n", both, 2, '+', buf, sizeof(buf)), 1);
	assert_string_equal(buf, "+pids");
	assert_int_equal(cg_subtree_delta("pids memory\n", both, 2, '+', buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* whole words only: "memory_x" is not "memory" */
	assert_int_equal(cg_subtree_delta("memory_x pids\n", both, 2, '+', buf, sizeof(buf)), 1);
	assert_string_equal(buf, "+memory");
	assert_int_equal(cg_subtree_delta("memory pids\n", both, 2, '-', buf, sizeof(buf)), 2);
	assert_string_equal(buf, "-memory -pids");
	assert_int_equal(cg_subtree_delta("cpu pids\n", both, 2, '-', buf, sizeof(buf)), 1);
	assert_string_equal(buf, "-pids");
	assert_int_equal(cg_subtree_delta("", both, 2, '-', buf, sizeof(buf)), 0);
}

static void test_procs_only(void **state)
{
	(void)state;
	assert_true(cg_procs_only("42\n", 42));
	assert_false(cg_procs_only("42\n43\n", 42));
	assert_false(cg_procs_only("43\n42\n", 42));
	assert_false(cg_procs_only("", 42));
	assert_false(cg_procs_only("420\n", 42));
}

static void test_v2_placement(void **state)
{
	struct cg_v2_facts f;

	(void)state;
	/* root of the hierarchy: always under it, processes or not */
	f = (struct cg_v2_facts){.is_root = 1};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_OWN);
	/* systemd-run --scope -p Delegate=yes nsrun: alone in a delegated group */
	f = (struct cg_v2_facts){.alone = 1, .own_delegated = 1, .parent_delegated = 0};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_OWN_AFTER_LEAF);
	/* alone wins over the parent too: nest under its own group */
	f = (struct cg_v2_facts){.alone = 1, .own_delegated = 1, .parent_delegated = 1};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_OWN_AFTER_LEAF);
	/* a shell in the leaf of a delegated subtree: next to it */
	f = (struct cg_v2_facts){.alone = 0, .own_delegated = 1, .parent_delegated = 1};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_PARENT);
	/* alone, but the group is not the caller's, the parent is */
	f = (struct cg_v2_facts){.alone = 1, .own_delegated = 0, .parent_delegated = 1};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_PARENT);
	/* a login session's scope, nothing delegated: refuse */
	f = (struct cg_v2_facts){.alone = 0, .own_delegated = 0, .parent_delegated = 0};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_NONE);
	f = (struct cg_v2_facts){.alone = 1, .own_delegated = 0, .parent_delegated = 0};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_NONE);
	/* controllers already on for children (a group without processes) */
	f = (struct cg_v2_facts){.own_enabled = 1};
	assert_int_equal(cg_v2_choose(&f), CG_PLACE_OWN);
}

static void test_v1_path_from_proc_self_cgroup(void **state)
{
	const char *text = "9:name=systemd:/\n8:pids:/\n5:cpu,cpuacct:/a b\n"
			   "4:memory:/process_api/567ee\n0::/\n";
	char buf[64];

	(void)state;
	assert_int_equal(cg_parse_v1_path(text, "memory", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/process_api/567ee");
	assert_int_equal(cg_parse_v1_path(text, "pids", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(cg_parse_v1_path(text, "cpuacct", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/a b");
	assert_int_equal(cg_parse_v1_path(text, "cpu", buf, sizeof(buf)), 0);
	assert_int_equal(cg_parse_v1_path(text, "mem", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cg_parse_v1_path(text, "blkio", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cg_parse_v1_path("4:memory:/" "0123456789", "memory", buf, 4), -ENAMETOOLONG);
	assert_int_equal(cg_parse_v1_path("4:memory:", "memory", buf, sizeof(buf)), -EBADMSG);
}

static void test_stale_owner_names(void **state)
{
	(void)state;
	assert_int_equal(cg_stale_owner("nsrun-1234-0-1a2b3c"), 1234);
	assert_int_equal(cg_stale_owner("nsrun.supervisor-77"), 77);
	assert_int_equal(cg_stale_owner("nsrun-doctor-5"), 5);
	assert_int_equal(cg_stale_owner("nsrun-1234"), 0);
	assert_int_equal(cg_stale_owner("nsrun-1234-0-1a2b3c-x"), 0);
	assert_int_equal(cg_stale_owner("user.slice"), 0);
	assert_int_equal(cg_stale_owner("nsrun--5-0-1"), 0);
	assert_int_equal(cg_stale_owner("nsrun.supervisor-7x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_path_from_proc_self_cgroup),
		cmocka_unit_test(test_stale_owner_names),
		cmocka_unit_test(test_v2_memory_sets_max_and_disables_swap),
		cmocka_unit_test(test_v1_memory_sets_limit_before_memsw),
		cmocka_unit_test(test_pids_same_on_both_versions),
		cmocka_unit_test(test_counter_files),
		cmocka_unit_test(test_parse_oom_counters),
		cmocka_unit_test(test_unified_path_from_proc_self_cgroup),
		cmocka_unit_test(test_subtree_control_delta),
		cmocka_unit_test(test_procs_only),
		cmocka_unit_test(test_v2_placement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
