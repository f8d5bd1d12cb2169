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
	assert_int_equal(cg_plan_settings(CG_V1, "memory", &limits, s), 2);
	assert_string_equal(s[0].file, "memory.limit_in_bytes");
	assert_string_equal(s[0].value, "134217728");
	assert_string_equal(s[1].file, "memory.memsw.limit_in_bytes");
	assert_string_equal(s[1].value, "134217728"); /* equal to the limit: no swap */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_memory_sets_max_and_disables_swap),
		cmocka_unit_test(test_v1_memory_sets_limit_before_memsw),
		cmocka_unit_test(test_pids_same_on_both_versions),
		cmocka_unit_test(test_counter_files),
		cmocka_unit_test(test_parse_oom_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
