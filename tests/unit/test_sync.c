#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "sync.h"

static void test_round_trip_with_error(void **state)
{
	struct sync_msg out, in;
	int fds[2];

	(void)state;
	assert_int_equal(sync_pair(fds), 0);
	memset(&out, 0, sizeof(out));
	out.type = SYNC_ERROR;
	out.code = EACCES;
	nsrun_err(&out.error, EACCES, "mount /proc: %s", "Permission denied");
	nsrun_err_hint(&out.error, "try %s", "doctor");
	assert_int_equal(sync_send(fds[1], &out), 0);
	assert_int_equal(sync_recv(fds[0], &in), 0);
	assert_int_equal(in.type, SYNC_ERROR);
	assert_int_equal(in.error.code, EACCES);
	assert_string_equal(in.error.msg, "mount /proc: Permission denied");
	assert_string_equal(in.error.hint, "try doctor");
	close(fds[0]);
	close(fds[1]);
}

static void test_eof_is_epipe(void **state)
{
	struct sync_msg in;
	int fds[2];

	(void)state;
	assert_int_equal(sync_pair(fds), 0);
	assert_int_equal(sync_send_type(fds[1], SYNC_EXIT, 9), 0);
	close(fds[1]);
	assert_int_equal(sync_recv(fds[0], &in), 0);
	assert_int_equal(in.code, 9);
	assert_int_equal(sync_recv(fds[0], &in), -EPIPE);
	close(fds[0]);
}

static void test_short_or_unknown_frames_rejected(void **state)
{
	struct sync_msg in, bogus;
	int fds[2];

	(void)state;
	assert_int_equal(sync_pair(fds), 0);
	assert_int_equal(send(fds[1], "xy", 2, 0), 2);
	assert_int_equal(sync_recv(fds[0], &in), -EBADMSG);
	memset(&bogus, 0, sizeof(bogus));
	bogus.type = 77;
	assert_int_equal(sync_send(fds[1], &bogus), 0);
	assert_int_equal(sync_recv(fds[0], &in), -EBADMSG);
	close(fds[0]);
	close(fds[1]);
}

static void test_error_wrap_keeps_code(void **state)
{
	struct nsrun_error err;

	(void)state;
	assert_int_equal(nsrun_err(&err, ENOENT, "rootfs %s", "/x"), -ENOENT);
	assert_int_equal(nsrun_err_wrap(&err, "run %d", 1), -ENOENT);
	assert_string_equal(err.msg, "run 1: rootfs /x");
	assert_int_equal(nsrun_err(&err, 0, "bad"), -EINVAL);
	errno = EPERM;
	assert_int_equal(nsrun_err_sys(&err, "mount"), -EPERM);
	assert_string_equal(err.msg, "mount: Operation not permitted");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_with_error),
		cmocka_unit_test(test_eof_is_epipe),
		cmocka_unit_test(test_short_or_unknown_frames_rejected),
		cmocka_unit_test(test_error_wrap_keeps_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
