#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nsrun.h"

static void assert_size(const char *text, uint64_t expected)
{
	uint64_t value = 0;

	assert_int_equal(nsrun_parse_size(text, &value), 0);
	assert_true(value == expected);
}

static void assert_duration(const char *text, uint64_t expected_ms)
{
	uint64_t value = 0;

	assert_int_equal(nsrun_parse_duration(text, &value), 0);
	assert_true(value == expected_ms);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_size("128M", 128ULL << 20);
	assert_size("128m", 128ULL << 20);
	assert_size("128MiB", 128ULL << 20);
	assert_size("1g", 1ULL << 30);
	assert_size("1.5G", 3ULL << 29);
	assert_size("512k", 512ULL << 10);
	assert_size("4096", 4096);
	assert_size("10b", 10);
}

static void test_bad_sizes(void **state)
{
	static const char *const bad[] = {"", "M", "-1M", "12Q", "1.M", ".5M", "1..5M", "0.3b",
					  "128 M", " 128M", "1e3", "99999999999999999999", "20000000T"};
	uint64_t value;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(nsrun_parse_size(bad[i], &value), 0);
	assert_int_equal(nsrun_parse_size(NULL, &value), -EINVAL);
}

static void test_durations(void **state)
{
	(void)state;
	assert_duration("10", 10000);
	assert_duration("10s", 10000);
	assert_duration("1.5s", 1500);
	assert_duration("500ms", 500);
	assert_duration("2m", 120000);
	assert_duration("1h", 3600000);
	assert_duration("0.25", 250);
}

static void test_bad_durations(void **state)
{
	static const char *const bad[] = {"", "s", "1.5ms", "10x", "-1s", "1 s", "1.2.3s", "0.0001s"};
	uint64_t value;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(nsrun_parse_duration(bad[i], &value), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bad_durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
