"""The six checks every build must pass (see the project brief)."""
import pathlib

HOST_PASSWD = pathlib.Path("/etc/passwd").read_text()


def test_sees_its_own_etc_passwd(nsrun):
    result = nsrun.run('print(open("/etc/passwd").read(), end="")')
    assert result.returncode == 0, result.stderr
    assert "sandbox:x:1000:1000:nsrun sandbox user:" in result.stdout
    assert result.stdout != HOST_PASSWD
    # no account of the host leaks through
    host_users = {line.split(":")[0] for line in HOST_PASSWD.splitlines() if line}
    sandbox_users = {line.split(":")[0] for line in result.stdout.splitlines() if line}
    assert sandbox_users - {"root", "nobody"} == {"sandbox"}
    assert host_users - sandbox_users


def test_writing_tmp_fails_with_erofs(nsrun):
    result = nsrun.run('''
        import errno
        try:
            open("/tmp/hack.txt", "w").write("pwned")
        except OSError as e:
            print("errno", errno.errorcode[e.errno])
            raise
    ''')
    assert result.returncode == 1
    assert "errno EROFS" in result.stdout
    assert "Read-only file system: '/tmp/hack.txt'" in result.stderr
    assert not pathlib.Path(nsrun.rootfs, "tmp/hack.txt").exists()


def test_writing_the_script_fails_with_erofs(nsrun):
    source = '''
        import errno
        try:
            open("/app/script.py", "w").write("pwned")
        except OSError as e:
            print("errno", errno.errorcode[e.errno])
            raise
    '''
    script = nsrun.script(source)
    before = script.read_text()
    result = nsrun.run(script)
    assert result.returncode == 1
    assert "errno EROFS" in result.stdout
    assert "Read-only file system: '/app/script.py'" in result.stderr
    assert script.read_text() == before


def test_url_fetch_fails_name_resolution(nsrun):
    result = nsrun.run('''
        import urllib.request
        urllib.request.urlopen("http://example.com/", timeout=5)
    ''')
    assert result.returncode == 1
    assert "Temporary failure in name resolution" in result.stderr


def test_huge_allocation_is_killed_with_137(nsrun):
    result = nsrun.run('x = "a" * 1000000000')
    assert result.returncode == 137, result.stderr
    assert "Memory limit of 128M reached" in result.stderr


def test_busy_loop_times_out_after_10_seconds(nsrun):
    result = nsrun.run("while True: pass", timeout=30)
    assert result.returncode == 124
    assert result.stderr.strip().endswith("Execution timed out after 10 seconds.")


def test_busy_loop_times_out_after_1_second_when_asked(nsrun):
    result = nsrun.run("while True: pass", options=["--timeout", "1s"])
    assert result.returncode == 124
    assert "Execution timed out after 1 second." in result.stderr


def test_timeout_message_names_fractional_limits(nsrun):
    result = nsrun.run("while True: pass", options=["--timeout", "1500ms"])
    assert result.returncode == 124
    assert "Execution timed out after 1.5 seconds." in result.stderr
