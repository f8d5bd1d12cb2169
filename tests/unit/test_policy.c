/* pol_load_*: the fields of a valid profile, and every rejection with the
 * FILE:LINE it reports.  Fixtures live in NSRUN_TEST_DATA_DIR/policy. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#ifndef NSRUN_TEST_DATA_DIR
#error "define NSRUN_TEST_DATA_DIR to the tests/data directory"
#endif

#define FIXTURE(name) NSRUN_TEST_DATA_DIR "/policy/" name

static void assert_prefix(const char *msg, const char *prefix)
{
	if (strncmp(msg, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
}

static void assert_contains(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("message \"%s\" does not contain \"%s\"", msg, part);
}

static void assert_empty(const struct nsrun_policy *pol)
{
	assert_null(pol->rules);
	assert_null(pol->source);
	assert_int_equal(pol->n_rules, 0);
	assert_int_equal(pol->n_arches, 0);
}

/* Load fixture, expect EINVAL and "PATH:LINE: " then text in the message. */
static struct nsrun_error expect_reject(const char *name, int line, const char *text)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};
	char path[512], prefix[600];

	snprintf(path, sizeof(path), "%s", FIXTURE(""));
	strncat(path, name, sizeof(path) - strlen(path) - 1);
	assert_int_equal(pol_load_file(path, &pol, &err), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	assert_prefix(err.msg, prefix);
	assert_contains(err.msg, text);
	assert_empty(&pol);
	pol_free(&pol);
	return err;
}

static const struct pol_rule *find_rule(const struct nsrun_policy *pol, const char *name)
{
	for (size_t i = 0; i < pol->n_rules; i++) {
		if (strcmp(pol->rules[i].name, name) == 0)
			return &pol->rules[i];
	}
	fail_msg("no rule for %s", name);
	return NULL;
}

static void check_valid(const struct nsrun_policy *pol)
{
	static const char *const order[] = {"read",   "write", "close", "openat", "kill", "tkill",
					    "tgkill", "uname", "getuid", "mmap",   "ioctl"};
	const struct pol_rule *r;

	assert_int_equal(pol->default_action, POL_ACT_ERRNO);
	assert_int_equal(pol->default_errno, 38);
	assert_int_equal(pol->n_arches, 2);
	assert_string_equal(pol->arches[0], "SCMP_ARCH_X86_64");
	assert_string_equal(pol->arches[1], "SCMP_ARCH_X86");
	assert_int_equal(pol->n_rules, 11);
	for (size_t i = 0; i < pol->n_rules; i++)
		assert_string_equal(pol->rules[i].name, order[i]);
	for (int i = 0; i < 3; i++) { /* "names" expanded, each with the object's line */
		assert_int_equal(pol->rules[i].action, POL_ACT_ALLOW);
		assert_int_equal(pol->rules[i].line, 6);
		assert_int_equal(pol->rules[i].n_args, 0);
	}
	r = find_rule(pol, "openat");
	assert_int_equal(r->action, POL_ACT_ERRNO);
	assert_int_equal(r->errno_ret, 13);
	assert_int_equal(r->line, 11);
	assert_int_equal(find_rule(pol, "kill")->action, POL_ACT_KILL_THREAD);
	assert_int_equal(find_rule(pol, "kill")->line, 16);
	assert_int_equal(find_rule(pol, "tkill")->action, POL_ACT_KILL_THREAD);
	assert_int_equal(find_rule(pol, "tgkill")->action, POL_ACT_KILL_PROCESS);
	assert_int_equal(find_rule(pol, "uname")->action, POL_ACT_TRAP);
	assert_int_equal(find_rule(pol, "getuid")->action, POL_ACT_LOG);
	assert_int_equal(find_rule(pol, "getuid")->n_args, 0);
	assert_int_equal(find_rule(pol, "ioctl")->line, 33);
}

static void check_valid_args(const struct nsrun_policy *pol)
{
	static const enum pol_op ops[] = {POL_OP_NE, POL_OP_LT, POL_OP_LE,
					  POL_OP_EQ, POL_OP_GE, POL_OP_GT};
	const struct pol_rule *r = find_rule(pol, "mmap");

	assert_int_equal(r->errno_ret, EPERM); /* SCMP_ACT_ERRNO without errnoRet */
	assert_int_equal(r->line, 21);
	assert_int_equal(r->n_args, 6);
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(r->args[i].index, i);
		assert_int_equal(r->args[i].op, ops[i]);
		assert_int_equal(r->args[i].value_two, 0);
	}
	assert_true(r->args[0].value == 1 && r->args[4].value == 5);
	assert_true(r->args[5].value == UINT64_C(9223372036854775807));
	r = find_rule(pol, "ioctl");
	assert_int_equal(r->n_args, 1);
	assert_int_equal(r->args[0].index, 1);
	assert_int_equal(r->args[0].op, POL_OP_MASKED_EQ);
	assert_true(r->args[0].value == UINT64_C(0xffffffff));
	assert_true(r->args[0].value_two == 0x5401);
}

static void test_valid_file(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_file(FIXTURE("valid.json"), &pol, &err), 0);
	check_valid(&pol);
	check_valid_args(&pol);
	assert_string_equal(pol.source, FIXTURE("valid.json"));
	pol_free(&pol);
	assert_empty(&pol);
	pol_free(&pol); /* idempotent */
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	assert_true(n > 0 && feof(f));
	fclose(f);
	return buf;
}

static void test_valid_string(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};
	char *text = slurp(FIXTURE("valid.json"));

	(void)state;
	assert_int_equal(pol_load_string(text, "mem.json", &pol, &err), 0);
	check_valid(&pol);
	check_valid_args(&pol);
	assert_string_equal(pol.source, "mem.json");
	pol_free(&pol);
	free(text);
}

static void test_string_errors_use_name(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};
	char *text = slurp(FIXTURE("unknown-action.json"));

	(void)state;
	assert_int_equal(pol_load_string(text, "mem.json", &pol, &err), -EINVAL);
	assert_prefix(err.msg, "mem.json:6: syscalls[0]: unknown action 'SCMP_ACT_NOTIFY'");
	assert_int_equal(pol_load_string(NULL, "mem.json", &pol, &err), -EINVAL);
	assert_empty(&pol);
	free(text);
}

static void test_minimal(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_file(FIXTURE("minimal.json"), &pol, &err), 0);
	assert_int_equal(pol.default_action, POL_ACT_KILL_PROCESS);
	assert_int_equal(pol.n_rules, 0);
	assert_int_equal(pol.n_arches, 0);
	pol_free(&pol);
}

/* Escaped keys and strings full of brackets, commas and quotes. */
static void test_tricky_text_lines(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_file(FIXTURE("tricky-lines.json"), &pol, &err), 0);
	assert_int_equal(pol.n_rules, 3);
	assert_int_equal(pol.rules[0].line, 4);
	assert_int_equal(pol.rules[1].line, 5);
	assert_int_equal(pol.rules[2].line, 7);
	pol_free(&pol);
	expect_reject("tricky-strings.json", 10, "syscalls[2].args[1]: unknown op 'SCMP_CMP_BAD'");
}

static void test_missing_file(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_file(FIXTURE("no-such-file.json"), &pol, &err), -ENOENT);
	assert_prefix(err.msg, FIXTURE("no-such-file.json: "));
	assert_empty(&pol);
	assert_int_equal(pol_load_file(NSRUN_TEST_DATA_DIR, &pol, &err), -EINVAL);
	assert_contains(err.msg, "not a regular file");
}

static void test_syntax_error(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_file(FIXTURE("syntax.json"), &pol, &err), -EINVAL);
	assert_prefix(err.msg, FIXTURE("syntax.json:5:2: "));
	assert_empty(&pol);
	assert_int_equal(pol_load_file(FIXTURE("empty.json"), &pol, &err), -EINVAL);
	assert_prefix(err.msg, FIXTURE("empty.json:1:0: "));
}

static void test_duplicate_key(void **state)
{
	struct nsrun_policy pol;
	struct nsrun_error err = {0};

	(void)state;
	assert_int_equal(pol_load_file(FIXTURE("duplicate-key.json"), &pol, &err), -EINVAL);
	assert_prefix(err.msg, FIXTURE("duplicate-key.json:7:"));
	assert_contains(err.msg, "duplicate object key");
}

static void test_archmap_hint(void **state)
{
	struct nsrun_error err = expect_reject("archmap.json", 3, "unknown key 'archMap'");

	(void)state;
	assert_contains(err.hint, "architectures");
}

static void test_includes_rejected(void **state)
{
	struct nsrun_error err;

	(void)state;
	err = expect_reject("includes.json", 7, "syscalls[0]: 'includes' is not supported");
	assert_contains(err.hint, "resolve");
	expect_reject("excludes.json", 4, "syscalls[0]: 'excludes' is not supported");
}

/* One fixture, one expected "LINE: text" each. */
#define REJECT(fn, file, line, text)             \
	static void fn(void **state)             \
	{                                        \
		(void)state;                     \
		expect_reject(file, line, text); \
	}

REJECT(test_unknown_top_key, "unknown-top-key.json", 3, "unknown key 'listenerPath'")
REJECT(test_unknown_rule_key, "unknown-rule-key.json", 8, "syscalls[1]: unknown key 'errnoret'")
REJECT(test_unknown_arg_key, "unknown-arg-key.json", 10, "syscalls[0].args[1]: unknown key 'mask'")
REJECT(test_unknown_action, "unknown-action.json", 6, "unknown action 'SCMP_ACT_NOTIFY'")
REJECT(test_unknown_default_action, "unknown-default-action.json", 2,
       "unknown action 'SCMP_ACT_TRACE'")
REJECT(test_errnoret_zero, "errnoret-zero.json", 7, "'errnoRet' must be an integer in 1..4095")
REJECT(test_errnoret_big, "errnoret-big.json", 4, "'errnoRet' must be an integer in 1..4095")
REJECT(test_errnoret_string, "errnoret-string.json", 5, "'errnoRet' must be an integer")
REJECT(test_errnoret_not_errno, "errnoret-not-errno.json", 4,
       "'errnoRet' is only valid with SCMP_ACT_ERRNO")
REJECT(test_default_errnoret_big, "default-errnoret-big.json", 3,
       "'defaultErrnoRet' must be an integer in 1..4095")
REJECT(test_missing_default, "missing-default.json", 1, "missing required key 'defaultAction'")
REJECT(test_bad_op, "bad-op.json", 11, "syscalls[0].args[0]: unknown op 'SCMP_CMP_LIKE'")
REJECT(test_missing_op, "missing-op.json", 5, "syscalls[0].args[0]: missing required key 'op'")
REJECT(test_bad_index, "bad-index.json", 8, "index 6 is not a syscall argument (0..5)")
REJECT(test_empty_names, "empty-names.json", 5, "syscalls[1]: 'names' must be a non-empty array")
REJECT(test_missing_names, "missing-names.json", 4, "syscalls[0]: missing required key 'names'")
REJECT(test_name_and_names, "name-and-names.json", 6, "use either 'name' or 'names'")
REJECT(test_name_too_long, "name-too-long.json", 4, "shorter than 64")
REJECT(test_name_not_string, "name-not-string.json", 4, "must be non-empty strings")
REJECT(test_missing_action, "missing-action.json", 4, "missing required key 'action'")
REJECT(test_too_many_args, "too-many-args.json", 7, "more than 6 argument comparisons")
REJECT(test_masked_outside, "masked-outside.json", 8, "valueTwo has bits outside the mask")
REJECT(test_valuetwo_not_masked, "valuetwo-not-masked.json", 8,
       "valueTwo is only used by SCMP_CMP_MASKED_EQ")
REJECT(test_negative_value, "negative-value.json", 9, "'value' must be a non-negative integer")
REJECT(test_float_value, "float-value.json", 4, "'value' must be a non-negative integer")
REJECT(test_bad_arch, "bad-arch.json", 5, "architectures[1]: unknown architecture 'SCMP_ARCH_Z80'")
REJECT(test_not_object, "not-object.json", 2, "must be a JSON object")
REJECT(test_rule_not_object, "rule-not-object.json", 4, "syscalls[0]: a rule must be an object")
REJECT(test_args_not_array, "args-not-array.json", 5, "'args' must be an array")

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file),
		cmocka_unit_test(test_valid_string),
		cmocka_unit_test(test_string_errors_use_name),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_tricky_text_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_archmap_hint),
		cmocka_unit_test(test_includes_rejected),
		cmocka_unit_test(test_unknown_top_key),
		cmocka_unit_test(test_unknown_rule_key),
		cmocka_unit_test(test_unknown_arg_key),
		cmocka_unit_test(test_unknown_action),
		cmocka_unit_test(test_unknown_default_action),
		cmocka_unit_test(test_errnoret_zero),
		cmocka_unit_test(test_errnoret_big),
		cmocka_unit_test(test_errnoret_string),
		cmocka_unit_test(test_errnoret_not_errno),
		cmocka_unit_test(test_default_errnoret_big),
		cmocka_unit_test(test_missing_default),
		cmocka_unit_test(test_bad_op),
		cmocka_unit_test(test_missing_op),
		cmocka_unit_test(test_bad_index),
		cmocka_unit_test(test_empty_names),
		cmocka_unit_test(test_missing_names),
		cmocka_unit_test(test_name_and_names),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_name_not_string),
		cmocka_unit_test(test_missing_action),
		cmocka_unit_test(test_too_many_args),
		cmocka_unit_test(test_masked_outside),
		cmocka_unit_test(test_valuetwo_not_masked),
		cmocka_unit_test(test_negative_value),
		cmocka_unit_test(test_float_value),
		cmocka_unit_test(test_bad_arch),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_rule_not_object),
		cmocka_unit_test(test_args_not_array),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
