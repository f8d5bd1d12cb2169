#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "result.h"

static struct nsrun_result verdict(struct run_facts facts)
{
	struct nsrun_result res = {0};

	result_from_facts(&facts, &res);
	return res;
}

static void test_clean_exit(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){.have_workload_status = true,
							     .workload_status = W_EXITCODE(0, 0)});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_OK);
	assert_int_equal(nsrun_result_exit_code(&res), 0);
}

static void test_nonzero_exit_passes_through(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){.have_workload_status = true,
							     .workload_status = W_EXITCODE(3, 0)});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_EXITED_NONZERO);
	assert_int_equal(nsrun_result_exit_code(&res), 3);
}

static void test_oom_counter_makes_sigkill_a_memory_verdict(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){
		.have_workload_status = true, .workload_status = W_EXITCODE(0, SIGKILL), .oom_kill_count = 1});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_MEMORY_LIMIT);
	assert_int_equal(nsrun_result_exit_code(&res), 137);
	assert_true(res.oom_killed);
}

static void test_sigkill_without_oom_is_a_signal(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){.have_workload_status = true,
							     .workload_status = W_EXITCODE(0, SIGKILL)});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_SIGNALED);
	assert_int_equal(nsrun_result_exit_code(&res), 137);
	assert_false(res.oom_killed);
}

static void test_exit_137_is_not_a_signal(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){.have_workload_status = true,
							     .workload_status = W_EXITCODE(137, 0)});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_EXITED_NONZERO);
	assert_int_equal(res.term_signal, 0);
}

static void test_timeout_wins_over_oom(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){
		.timed_out = true, .init_status = W_EXITCODE(0, SIGKILL), .oom_kill_count = 2});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_TIMEOUT);
	assert_int_equal(nsrun_result_exit_code(&res), 124);
	assert_true(res.oom_killed);
}

static void test_init_status_stands_in_when_workload_unknown(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){.init_status = W_EXITCODE(0, SIGKILL),
							     .oom_kill_count = 1});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_MEMORY_LIMIT);
}

static void test_cancel_wins(void **state)
{
	struct nsrun_result res = verdict((struct run_facts){
		.timed_out = true, .cancel_signal = SIGINT, .init_status = W_EXITCODE(0, SIGKILL)});

	(void)state;
	assert_int_equal(res.status, NSRUN_STATUS_CANCELLED);
	assert_int_equal(nsrun_result_exit_code(&res), 130);
}

static void test_cpu_timeout_needs_the_cpu_to_be_used(void **state)
{
	struct nsrun_result real = verdict((struct run_facts){
		.have_workload_status = true, .workload_status = W_EXITCODE(0, SIGXCPU),
		.cpu_limit_ms = 1000, .cpu_ms = 1010});
	struct nsrun_result faked = verdict((struct run_facts){
		.have_workload_status = true, .workload_status = W_EXITCODE(0, SIGXCPU),
		.cpu_limit_ms = 5000, .cpu_ms = 17});
	struct nsrun_result killed = verdict((struct run_facts){
		.have_workload_status = true, .workload_status = W_EXITCODE(0, SIGKILL),
		.cpu_limit_ms = 1000, .cpu_ms = 1800});

	(void)state;
	assert_int_equal(real.status, NSRUN_STATUS_TIMEOUT);
	assert_true(real.cpu_timed_out);
	assert_int_equal(faked.status, NSRUN_STATUS_SIGNALED); /* raised by the script itself */
	assert_int_equal(killed.status, NSRUN_STATUS_SIGNALED);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(nsrun_status_name(NSRUN_STATUS_OK), "ok");
	assert_string_equal(nsrun_status_name(NSRUN_STATUS_MEMORY_LIMIT), "memory_limit");
	assert_string_equal(nsrun_status_name((enum nsrun_status)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_exit),
		cmocka_unit_test(test_nonzero_exit_passes_through),
		cmocka_unit_test(test_oom_counter_makes_sigkill_a_memory_verdict),
		cmocka_unit_test(test_sigkill_without_oom_is_a_signal),
		cmocka_unit_test(test_exit_137_is_not_a_signal),
		cmocka_unit_test(test_timeout_wins_over_oom),
		cmocka_unit_test(test_init_status_stands_in_when_workload_unknown),
		cmocka_unit_test(test_cancel_wins),
		cmocka_unit_test(test_cpu_timeout_needs_the_cpu_to_be_used),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
