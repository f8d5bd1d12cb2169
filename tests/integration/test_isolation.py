"""What the script can see of the host: nothing but the sandbox."""
import json
import os
import pathlib
import socket

PROBE = '''
import json, os, socket
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return line.split()[1]
print(json.dumps({
    "pid": os.getpid(), "ppid": os.getppid(),
    "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "caps": {k: status(k) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    "no_new_privs": status("NoNewPrivs"),
    "hostname": socket.gethostname(),
    "interfaces": [name for _, name in socket.if_nameindex()],
    "dev": sorted(os.listdir("/dev")),
    "app": sorted(os.listdir("/app")),
    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "env": dict(os.environ),
    "mountinfo": open("/proc/self/mountinfo").read(),
    "cwd": os.getcwd(),
    "stdin_tty": os.isatty(0),
    "sid_is_self": os.getsid(0) == os.getpid(),
}))
'''


def probe(nsrun, **kwargs):
    result = nsrun.run(PROBE, **kwargs)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_script_is_pid_2_under_its_own_init_and_sees_no_host_process(nsrun):
    info = probe(nsrun)
    assert info["pid"] == 2 and info["ppid"] == 1
    # init (pid 1) exists but is invisible: /proc is mounted hidepid=invisible
    assert info["procs"] == [2]


def test_runs_as_unprivileged_sandbox_user_without_capabilities(nsrun):
    info = probe(nsrun)
    assert (info["uid"], info["gid"]) == (1000, 1000)
    if os.geteuid() == 0:
        assert info["groups"] == []  # root's host groups were dropped
    assert set(info["caps"].values()) == {"0000000000000000"}, info["caps"]
    assert info["no_new_privs"] == "1"


def test_own_hostname_and_only_loopback(nsrun):
    info = probe(nsrun)
    assert info["hostname"] == "nsrun"
    assert info["interfaces"] == ["lo"]


def test_minimal_dev_and_app(nsrun):
    info = probe(nsrun)
    assert info["dev"] == sorted(["null", "zero", "full", "random", "urandom",
                                  "fd", "stdin", "stdout", "stderr", "shm"])
    assert info["app"] == ["script.py"]


def test_only_stdio_fds_and_caller_fds_do_not_leak(nsrun):
    leaked = os.open("/etc/hostname", os.O_RDONLY)  # deliberately inheritable
    os.set_inheritable(leaked, True)
    try:
        info = probe(nsrun, pass_fds=(leaked,))
    finally:
        os.close(leaked)
    assert info["fds"] == [0, 1, 2, 3]  # 3 is os.listdir's own directory fd


def test_clean_environment(nsrun):
    env = dict(os.environ, NSRUN_TEST_SECRET="hunter2")
    info = probe(nsrun, env=env)
    assert "NSRUN_TEST_SECRET" not in info["env"]
    assert "hunter2" not in json.dumps(info["env"])
    assert set(info["env"]) <= {"PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "LC_CTYPE"}


def test_new_session_and_no_terminal(nsrun):
    info = probe(nsrun)
    assert info["sid_is_self"]
    assert info["stdin_tty"] is False


def test_mounts_private_and_nothing_leaks_to_host(nsrun):
    before = pathlib.Path("/proc/self/mountinfo").read_text()
    info = probe(nsrun)
    after = pathlib.Path("/proc/self/mountinfo").read_text()
    assert before == after
    assert "shared:" not in info["mountinfo"]
    root = [line for line in info["mountinfo"].splitlines() if line.split()[4] == "/"]
    assert len(root) == 1 and root[0].split()[5].split(",")[0] == "ro"


def test_root_filesystem_is_read_only_everywhere(nsrun):
    result = nsrun.run('''
        import errno, os
        for path in ("/etc/passwd", "/usr/bin/python3", "/newfile", "/app/new", "/dev/newnode",
                     "/proc/newfile"):
            try:
                open(path, "a").close()
                print("WROTE", path)
            except OSError as e:
                print(path, errno.errorcode[e.errno])
    ''')
    assert result.returncode == 0, result.stderr
    assert "WROTE" not in result.stdout
    for path in ("/etc/passwd", "/usr/bin/python3", "/newfile", "/app/new", "/dev/newnode"):
        assert f"{path} EROFS" in result.stdout or f"{path} EACCES" in result.stdout


def test_host_loopback_service_is_unreachable(nsrun):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = nsrun.run(f'''
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                print("CONNECTED")
            except OSError as e:
                print("refused", type(e).__name__)
        ''')
    assert result.returncode == 0, result.stderr
    assert "CONNECTED" not in result.stdout
    assert "refused ConnectionRefusedError" in result.stdout


def test_cannot_read_host_files_by_path(nsrun):
    secret = pathlib.Path(nsrun.workdir, "secret.txt")
    secret.write_text("host secret")
    result = nsrun.run(f'''
        try:
            print(open({str(secret)!r}).read())
        except OSError as e:
            print("denied", type(e).__name__)
    ''')
    assert "host secret" not in result.stdout
    assert "denied FileNotFoundError" in result.stdout
