#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"
#include "nsrun.h"

static json_t *document(const struct nsrun_result *res, const struct nsrun_error *err)
{
	struct nsrun_config cfg;
	char *text;
	json_t *doc;

	nsrun_config_init(&cfg);
	cfg.script = "x.py";
	text = nsrun_result_json(&cfg, res, err);
	assert_non_null(text);
	doc = json_loads(text, JSON_ALLOW_NUL, NULL); /* NUL bytes are valid output */
	free(text);
	assert_non_null(doc);
	return doc;
}

static const char *string_member(json_t *doc, const char *key)
{
	json_t *value = json_object_get(doc, key);

	assert_true(json_is_string(value));
	return json_string_value(value);
}

static json_t *captured(const char *bytes, size_t len)
{
	struct nsrun_result res;
	json_t *doc;

	memset(&res, 0, sizeof(res));
	res.stdout_buf = malloc(len + 1);
	memcpy(res.stdout_buf, bytes, len);
	res.stdout_len = len;
	res.stdout_bytes = len;
	doc = document(&res, NULL);
	free(res.stdout_buf);
	return doc;
}

static void test_valid_utf8_stays_text(void **state)
{
	const char text[] = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 and a NUL \0 byte";
	json_t *doc = captured(text, sizeof(text) - 1);

	(void)state;
	assert_string_equal(string_member(doc, "stdout_encoding"), "utf-8");
	assert_int_equal(json_string_length(json_object_get(doc, "stdout")), sizeof(text) - 1);
	json_decref(doc);
}

static void test_invalid_utf8_becomes_base64(void **state)
{
	static const char *const invalid[] = {
		"\xff", "\xc0\xaf", /* overlong '/' */ "\xed\xa0\x80", /* surrogate */
		"\xf4\x90\x80\x80",	/* past U+10FFFF */ "abc\xe2\x9c", /* cut sequence */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		json_t *doc = captured(invalid[i], strlen(invalid[i]));

		assert_string_equal(string_member(doc, "stdout_encoding"), "base64");
		json_decref(doc);
	}
}

static void test_base64_is_exact(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{"\xff", "/w=="}, {"\xff\xfe", "//4="}, {"\xff\xfe\xfd", "//79"},
		{"\x80\x00\x01\x02", "gAABAg=="},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = i == 3 ? 4 : strlen(cases[i].in);
		json_t *doc = captured(cases[i].in, len);

		assert_string_equal(string_member(doc, "stdout"), cases[i].out);
		json_decref(doc);
	}
}

static void test_setup_error_document(void **state)
{
	struct nsrun_error err = {.code = 13, .kind = "userns_denied",
				  .msg = "write /proc/1/uid_map: Permission denied", .hint = "fix it"};
	json_t *doc = document(NULL, &err);
	json_t *error = json_object_get(doc, "error");

	(void)state;
	assert_string_equal(string_member(doc, "status"), "setup_error");
	assert_true(json_is_null(json_object_get(doc, "exit_code")));
	assert_string_equal(json_string_value(json_object_get(error, "kind")), "userns_denied");
	assert_string_equal(json_string_value(json_object_get(error, "step")), "write /proc/1/uid_map");
	assert_string_equal(json_string_value(json_object_get(error, "errno")), "EACCES");
	assert_string_equal(json_string_value(json_object_get(error, "hint")), "fix it");
	json_decref(doc);
}

static void test_signal_fields(void **state)
{
	struct nsrun_result res;
	json_t *doc;

	(void)state;
	memset(&res, 0, sizeof(res));
	res.status = NSRUN_STATUS_SIGNALED;
	res.exit_code = -1;
	res.term_signal = SIGSEGV;
	doc = document(&res, NULL);
	assert_string_equal(string_member(doc, "signal_name"), "SIGSEGV");
	assert_true(json_is_null(json_object_get(doc, "exit_code")));
	json_decref(doc);
}

static void test_wording(void **state)
{
	char buf[64];

	(void)state;
	format_duration(10000, buf, sizeof(buf));
	assert_string_equal(buf, "10 seconds");
	format_duration(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1 second");
	format_duration(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1.5 seconds");
	format_duration(250, buf, sizeof(buf));
	assert_string_equal(buf, "0.25 seconds");
	format_size(128ULL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "128M");
	format_size(1536 << 10, buf, sizeof(buf));
	assert_string_equal(buf, "1536K");
	format_size(100, buf, sizeof(buf));
	assert_string_equal(buf, "100 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_utf8_stays_text),
		cmocka_unit_test(test_invalid_utf8_becomes_base64),
		cmocka_unit_test(test_base64_is_exact),
		cmocka_unit_test(test_setup_error_document),
		cmocka_unit_test(test_signal_fields),
		cmocka_unit_test(test_wording),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
