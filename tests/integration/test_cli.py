"""The command line: options, inputs, errors and exit codes."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import leaked_cgroups


def run_cli(nsrun, *argv, **kwargs):
    return subprocess.run([nsrun.binary, *argv], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kwargs)


def test_help_and_version(nsrun):
    result = run_cli(nsrun, "--help")
    assert result.returncode == 0
    for option in ("--memory", "--timeout", "--pids-limit", "--rootfs", "--bind-ro"):
        assert option in result.stdout
    result = run_cli(nsrun, "--version")
    assert result.returncode == 0 and result.stdout.startswith("nsrun ")


@pytest.mark.parametrize("argv, message", [
    ([], "no script given"),
    (["--memory", "lots", "x.py"], "--memory: invalid size 'lots'"),
    (["--memory", "-1M", "x.py"], "--memory: invalid size"),
    (["--timeout", "10x", "x.py"], "--timeout: invalid duration '10x'"),
    (["--timeout", "0", "x.py"], "--timeout: invalid duration"),
    (["--pids-limit", "many", "x.py"], "--pids-limit: invalid number"),
    (["--bind-ro", "nocolon", "x.py"], "expected SRC:DST"),
    (["--no-such-option", "x.py"], "unrecognized option"),
])
def test_bad_options_exit_125_with_a_message(nsrun, argv, message):
    result = run_cli(nsrun, *argv)
    assert result.returncode == 125
    assert message in result.stderr
    assert result.stderr.startswith("nsrun: ") or "unrecognized" in result.stderr


def test_missing_script(nsrun):
    result = nsrun.run(pathlib.Path(nsrun.workdir, "absent.py"))
    assert result.returncode == 125
    assert "absent.py: No such file or directory" in result.stderr


def test_script_given_as_symlink_to_a_host_file_is_refused(nsrun):
    link = pathlib.Path(nsrun.workdir, "innocent.py")
    link.symlink_to("/etc/shadow")
    result = nsrun.run(link)
    assert result.returncode == 125
    assert "symbolic link" in result.stderr


def test_directory_as_script_is_refused(nsrun):
    result = nsrun.run(pathlib.Path(nsrun.workdir))
    assert result.returncode == 125
    assert "not a regular file" in result.stderr


def test_unusable_rootfs(nsrun, tmp_path):
    script = nsrun.script("print(1)")
    for rootfs in (tmp_path / "missing", tmp_path):
        result = run_cli(nsrun, "--rootfs", str(rootfs), str(script))
        assert result.returncode == 125
        assert "rootfs" in result.stderr and "hint:" in result.stderr


def test_exit_status_and_signals_pass_through(nsrun):
    assert nsrun.run("raise SystemExit(42)").returncode == 42
    assert nsrun.run("import os; os.kill(os.getpid(), 11)").returncode == 139
    assert nsrun.run("import os; os._exit(137)").returncode == 137


def test_arguments_stdin_and_output_are_relayed(nsrun):
    result = nsrun.run('''
        import sys
        print(sys.argv[1:])
        print("read:", sys.stdin.read().upper())
        print("to stderr", file=sys.stderr)
    ''', "a b", "--c", stdin=None, input="hello\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['a b', '--c']\nread: HELLO\n\n"
    assert result.stderr == "to stderr\n"


def test_large_stdin_from_a_regular_file(nsrun, tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(3 * 1024 * 1024))
    script = nsrun.script('''
        import hashlib, sys
        print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())
    ''')
    import hashlib
    with open(data, "rb") as f:
        result = subprocess.run(nsrun.command(script), stdin=f, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == hashlib.sha256(data.read_bytes()).hexdigest()


def test_bind_ro_adds_a_read_only_file(nsrun, tmp_path):
    data = tmp_path / "input.csv"
    data.write_text("a,b\n1,2\n")
    result = nsrun.run('''
        print(open("/app/input.csv").read(), end="")
        try:
            open("/app/input.csv", "w")
        except OSError as e:
            print("write:", e.strerror)
    ''', options=["--bind-ro", f"{data}:/app/input.csv"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a,b\n1,2\nwrite: Read-only file system\n"


def test_bind_ro_target_must_be_clean(nsrun, tmp_path):
    result = nsrun.run("print(1)", options=["--bind-ro", "/etc:/app/../etc"])
    assert result.returncode == 125
    assert "absolute path" in result.stderr


def unprivileged_env(nsrun):
    """A world-readable copy of the script for a run as nobody."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to switch to an unprivileged user")
    shared = pathlib.Path(tempfile.mkdtemp(prefix="nsrun-rootless-"))
    shared.chmod(0o755)
    script = shared / "hi.py"
    script.write_text("import os; print('uid', os.getuid())\n")
    script.chmod(0o644)
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return shared, script, as_nobody


def test_rootless_without_a_writable_cgroup_refuses_then_runs_when_opted_out(nsrun):
    shared, script, as_nobody = unprivileged_env(nsrun)
    before = leaked_cgroups()
    try:
        base = [*as_nobody, nsrun.binary, "--rootfs", nsrun.rootfs]
        refused = subprocess.run([*base, str(script)], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 125
        assert "cannot set up a cgroup for the memory limit" in refused.stderr
        assert "--allow-no-memory-limit" in refused.stderr
        allowed = subprocess.run([*base, "--allow-no-memory-limit", str(script)],
                                 capture_output=True, text=True, timeout=60)
        assert allowed.returncode == 0, allowed.stderr
        assert allowed.stdout == "uid 1000\n"
        assert "WITHOUT memory and pids limits" in allowed.stderr
    finally:
        shutil.rmtree(shared)
    assert leaked_cgroups() - before == set()


def test_started_with_stdio_closed(nsrun):
    script = nsrun.script('import sys; print("stdin:", repr(sys.stdin.read()))')
    result = subprocess.run(nsrun.command(script), capture_output=True, text=True, timeout=60,
                            preexec_fn=lambda: os.close(0))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stdin: ''\n"


def test_returns_when_the_script_exits_although_stdin_stays_open(nsrun):
    # The caller never closes stdin (a terminal, a slow producer): nsrun must
    # not wait for its end once the script is gone.
    script = nsrun.script('print("done")')
    proc = subprocess.Popen(nsrun.command(script), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == "done\n"
    finally:
        proc.kill()
        proc.stdin.close()
        proc.stdout.close()


def test_root_owned_script_the_sandbox_user_cannot_read_is_refused(nsrun):
    if os.geteuid() != 0:
        pytest.skip("the sandbox user differs from the caller only when nsrun runs as root")
    script = nsrun.script("print('never')")
    script.chmod(0o600)
    result = nsrun.run(script)
    assert result.returncode == 125
    assert "not readable by the sandbox's unprivileged user (mode 0600)" in result.stderr
    assert "chmod o+r" in result.stderr


def test_bind_ro_nested_target_under_app_and_missing_target_elsewhere(nsrun, tmp_path):
    data = tmp_path / "x.txt"
    data.write_text("deep\n")
    data.chmod(0o644)
    result = nsrun.run('print(open("/app/data/deep/x.txt").read(), end="")',
                       options=["--bind-ro", f"{data}:/app/data/deep/x.txt"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "deep\n"
    result = nsrun.run("print(1)", options=["--bind-ro", f"{data}:/etc/nonexistent.txt"])
    assert result.returncode == 125
    assert "the target does not exist in the rootfs (only targets under /app are created)" \
        in result.stderr


def test_bind_ro_source_given_as_symlink_is_refused(nsrun, tmp_path):
    link = tmp_path / "data"
    link.symlink_to("/etc/hostname")
    result = nsrun.run("print(1)", options=["--bind-ro", f"{link}:/app/data"])
    assert result.returncode == 125
    assert "is a symbolic link" in result.stderr
