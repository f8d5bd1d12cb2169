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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_match_the_docker_command),
		cmocka_unit_test(test_valid_config_passes),
		cmocka_unit_test(test_rejections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
