#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "script.h"
#include "userns.h"

static void test_unprivileged_caller_maps_itself_and_denies_setgroups(void **state)
{
	struct userns_plan plan;

	(void)state;
	userns_plan(1234, 567, &plan);
	assert_string_equal(plan.uid_map, "1000 1234 1\n");
	assert_string_equal(plan.gid_map, "1000 567 1\n");
	assert_true(plan.deny_setgroups);
	assert_false(plan.drop_supplementary_groups);
}

static void test_root_caller_never_maps_root(void **state)
{
	struct userns_plan plan;

	(void)state;
	userns_plan(0, 0, &plan);
	assert_string_equal(plan.uid_map, "1000 65534 1\n");
	assert_string_equal(plan.gid_map, "1000 65534 1\n");
	assert_false(plan.deny_setgroups);
	assert_true(plan.drop_supplementary_groups);
}

static void test_what_the_sandbox_user_of_root_may_read(void **state)
{
	(void)state;
	assert_true(script_readable_by(65534, 65534, 0, 0, 0644));
	assert_false(script_readable_by(65534, 65534, 0, 0, 0600));
	assert_false(script_readable_by(65534, 65534, 0, 0, 0640));
	assert_true(script_readable_by(65534, 65534, 65534, 0, 0400));
	assert_false(script_readable_by(65534, 65534, 65534, 0, 0044)); /* owner bits decide for the owner */
	assert_true(script_readable_by(65534, 65534, 0, 65534, 0640));
	assert_true(script_readable_by(65534, 65534, 1000, 1000, 0604));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_what_the_sandbox_user_of_root_may_read),
		cmocka_unit_test(test_unprivileged_caller_maps_itself_and_denies_setgroups),
		cmocka_unit_test(test_root_caller_never_maps_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
