#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mount.h"

static void test_valid_targets(void **state)
{
	(void)state;
	assert_true(mount_target_is_valid("/app/data.csv"));
	assert_true(mount_target_is_valid("/opt"));
	assert_true(mount_target_is_valid("/app/.hidden"));
	assert_true(mount_target_is_valid("/app/a..b"));
}

static void test_invalid_targets(void **state)
{
	static const char *const bad[] = {NULL, "", "/", "app/x", "/app/", "/app//x", "/app/../etc",
					  "/app/..", "/./app", "/app/."};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(mount_target_is_valid(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_targets),
		cmocka_unit_test(test_invalid_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
