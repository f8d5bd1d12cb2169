#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static struct nsrun_config valid(void)
{
	struct nsrun_config cfg;

	nsrun_config_init(&cfg);
	cfg.script = "hi.py";
	cfg.rootfs = "/rootfs";
	return cfg;
}

static void test_defaults_match_the_docker_command(void **state)
{
	struct nsrun_config cfg;

	(void)state;
	nsrun_config_init(&cfg);
	assert_true(cfg.memory_bytes == 128ULL << 20);
	assert_true(cfg.timeout_ms == 10000);
	assert_true(cfg.pids_limit > 0);
	assert_int_equal(cfg.stdin_fd, -1);
	assert_int_equal(cfg.allow_no_memory_limit, 0);
}

static void test_valid_config_passes(void **state)
{
	struct nsrun_config cfg = valid();
	struct nsrun_error err;

	(void)state;
	assert_int_equal(config_validate(&cfg, &err), 0);
}

static void expect_invalid(struct nsrun_config cfg, const char *needle)
{
	struct nsrun_error err;

	assert_int_equal(config_validate(&cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, needle));
}

static void test_rejections(void **state)
{
	struct nsrun_config cfg;
	struct nsrun_bind bad_bind = {"/etc", "/app/../etc"};
	struct nsrun_bind reserved = {"/etc/hosts", "/app/script.py"};

	(void)state;
	cfg = valid();
	cfg.script = NULL;
	expect_invalid(cfg, "no script");
	cfg = valid();
	cfg.memory_bytes = 1024;
	expect_invalid(cfg, "memory limit");
	cfg = valid();
	cfg.timeout_ms = 0;
	expect_invalid(cfg, "timeout");
	cfg = valid();
	cfg.pids_limit = 0;
	expect_invalid(cfg, "pids");
	cfg = valid();
	cfg.binds = &bad_bind;
	cfg.n_binds = 1;
	expect_invalid(cfg, "absolute path");
	cfg.binds = &reserved;
	expect_invalid(cfg, "reserved");
	cfg = valid();
	cfg.cpu_time_ms = 1500;
	expect_invalid(cfg, "whole seconds");
	cfg = valid();
	cfg.struct_size = 3;
	expect_invalid(cfg, "nsrun_config_init");
}

/* A program built against 0.1.0's nsrun.h calls the function, whose
 * struct ends before policy_cache_dir: nothing past it is written, and
 * what lies there (the caller's other data) is never read. */
static void test_a_0_1_0_caller_is_neither_overrun_nor_misread(void **state)
{
	union {
		struct nsrun_config cfg;
		unsigned char bytes[sizeof(struct nsrun_config)];
	} u;
	size_t old_size = offsetof(struct nsrun_config, policy_cache_dir);
	struct nsrun_error err;

	(void)state;
	memset(&u, 0xAA, sizeof(u));
	(nsrun_config_init)(&u.cfg);
	for (size_t i = old_size; i < sizeof(u); i++)
		assert_int_equal(u.bytes[i], 0xAA);
	assert_int_equal(u.cfg.struct_size, old_size);
	assert_true(u.cfg.timeout_ms == 10000);
	u.cfg.script = "hi.py";
	assert_int_equal(config_validate(&u.cfg, &err), 0);
	assert_null(config_policy_cache_dir(&u.cfg));
}

static void test_the_macro_gives_the_whole_struct(void **state)
{
	struct nsrun_config cfg = valid();
	struct nsrun_error err;
	struct {
		struct nsrun_config cfg;
		char added_later[8];
	} newer;

	(void)state;
	assert_int_equal(cfg.struct_size, sizeof(cfg));
	assert_null(cfg.policy_cache_dir);
	cfg.policy_cache_dir = "/cache";
	assert_string_equal(config_policy_cache_dir(&cfg), "/cache");
	/* built against a newer nsrun.h than this library knows: refused */
	nsrun_config_init_sized(&newer.cfg, sizeof(newer));
	newer.cfg.script = "hi.py";
	assert_int_equal(config_validate(&newer.cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nsrun_config_init"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_match_the_docker_command),
		cmocka_unit_test(test_valid_config_passes),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_a_0_1_0_caller_is_neither_overrun_nor_misread),
		cmocka_unit_test(test_the_macro_gives_the_whole_struct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
