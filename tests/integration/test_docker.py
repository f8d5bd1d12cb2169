"""The docker backend against the native one, on the shipped security checks.

Every check of tests/checks runs under both backends through the CLI; each
outcome is asserted against the check's .expect file, and the two backends
must agree. Without a Docker engine the docker tests are SKIPPED with the
reason; with CI=true in the environment they FAIL instead, because CI must
run them (it starts one with scripts/start-dockerd).
"""
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CHECKS_DIR = REPO / "tests" / "checks"
BACKENDS = ("native", "docker")
CHECK_TIMEOUT = "2s"  # the busy-loop check; the 10 s default has its own test
LABEL = "org.nsrun.managed=1"


def parse_expect(path):
    """The same format nsrun compare reads: 'key value' lines, '#' comments."""
    expect = {"exit": None, "status": None, "stdout": [], "stderr": [], "message": []}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        if key == "exit":
            expect["exit"] = int(value)
        elif key == "status":
            expect["status"] = value
        elif key.endswith("_contains"):
            expect[key[: -len("_contains")]].append(value)
        else:
            raise ValueError(f"{path}: unknown line {line!r}")
    assert expect["exit"] is not None, f"{path} has no exit line"
    return expect


CHECKS = sorted(p.stem for p in CHECKS_DIR.glob("*.py"))


def need_docker(reason):
    """Skip loudly, or fail in CI where the docker half must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}: CI must run the docker tests "
                    "(scripts/start-dockerd, then scripts/docker-image)", pytrace=False)
    pytest.skip(reason)


def docker(*args, timeout=60, check=False):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          check=check)


@pytest.fixture(scope="session")
def docker_engine():
    if not shutil.which("docker"):
        need_docker("the docker CLI is not installed")
    try:
        version = docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except subprocess.TimeoutExpired:
        need_docker("the Docker engine did not answer within 20 s")
    if version.returncode != 0:
        need_docker("no Docker engine answers: " + version.stderr.strip().splitlines()[-1])
    return version.stdout.strip()


def rootfs_tag(rootfs):
    marker = pathlib.Path(rootfs, ".nsrun-rootfs").read_text()
    digest = next(line.split(": ", 1)[1] for line in marker.splitlines()
                  if line.startswith("content-sha256: "))
    return "nsrun-rootfs:" + digest[:12]


@pytest.fixture(scope="session")
def docker_image(docker_engine, rootfs):
    """The rootfs's image, imported with scripts/docker-image when absent."""
    tag = rootfs_tag(rootfs)
    if docker("image", "inspect", tag).returncode != 0:
        made = subprocess.run([str(REPO / "scripts" / "docker-image"), "--rootfs", rootfs],
                              capture_output=True, text=True, timeout=900)
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip() == tag
    return tag


def containers_of(pid):
    """Containers (any state) the nsrun process pid made: they are named
    nsrun-<pid>-<random>, so runs of other processes never interfere."""
    listed = docker("ps", "--all", "--no-trunc", "--filter", f"name=nsrun-{pid}-",
                    "--filter", f"label={LABEL}", "--format", "{{.ID}} {{.Names}}",
                    check=True).stdout.splitlines()
    return {line.split()[0] for line in listed if line.split()[1].startswith(f"nsrun-{pid}-")}


def container_cgroups(container_id):
    """cgroup directories of one container (cgroupfs or systemd driver, v1 or v2)."""
    found = []
    for top in pathlib.Path("/sys/fs/cgroup").iterdir():
        for pattern in (f"docker/{container_id}", f"*/docker-{container_id}.scope"):
            found += [str(p) for p in top.glob(pattern) if p.is_dir()]
        if top.name == "docker" and (top / container_id).is_dir():
            found.append(str(top / container_id))
    return found


def container_layer(container):
    """The storage-driver directory of a container's writable layer (overlay2:
    /var/lib/docker/overlay2/<layer>), or None when the driver names none."""
    upper = docker("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", container,
                   check=True).stdout.strip()
    return pathlib.Path(upper).parent if upper.startswith("/") else None


class Outcomes:
    """Each (check, backend) runs once per session; several tests judge it."""

    def __init__(self, binary, rootfs):
        self.binary, self.rootfs, self.cache = binary, rootfs, {}

    def get(self, check, backend):
        key = (check, backend)
        if key not in self.cache:
            command = [self.binary, "--backend", backend, "--rootfs", self.rootfs,
                       "--timeout", CHECK_TIMEOUT, str(CHECKS_DIR / f"{check}.py")]
            start = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                    stdin=subprocess.DEVNULL)
            result.seconds = time.monotonic() - start
            self.cache[key] = result
        return self.cache[key]


@pytest.fixture(scope="session")
def outcomes(nsrun_binary, rootfs):
    return Outcomes(nsrun_binary, rootfs)


@pytest.fixture
def backend_ready(request):
    """Only the docker backend needs the engine and the image."""
    if request.node.callspec.params["backend"] == "docker":
        request.getfixturevalue("docker_image")


def assert_expected(check, result):
    expect = parse_expect(CHECKS_DIR / f"{check}.expect")
    assert result.returncode == expect["exit"], result.stderr
    for text in expect["stdout"]:
        assert text in result.stdout
    for text in expect["stderr"]:
        assert text in result.stderr
    for text in expect["message"]:  # the CLI prints nsrun's verdict line on stderr
        assert text in result.stderr


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("check", CHECKS)
def test_check_outcome(check, backend, backend_ready, outcomes):
    assert_expected(check, outcomes.get(check, backend))


@pytest.mark.parametrize("check", CHECKS)
def test_backends_agree(check, docker_image, outcomes):
    native, dock = outcomes.get(check, "native"), outcomes.get(check, "docker")
    assert native.returncode == dock.returncode, (native.stderr, dock.stderr)
    # nsrun's own verdict line (timeout, OOM), if any, is the same text
    verdicts = [[line for line in r.stderr.splitlines() if line.startswith(("nsrun:", "Execution"))]
                for r in (native, dock)]
    assert verdicts[0] == verdicts[1]


def test_the_six_checks_ship():
    assert CHECKS == ["01_own_etc_passwd", "02_tmp_write_erofs", "03_script_write_erofs",
                      "04_no_network", "05_memory_limit", "06_timeout"]
    for check in CHECKS:
        parse_expect(CHECKS_DIR / f"{check}.expect")


def test_docker_busy_loop_times_out_after_10_seconds(nsrun, docker_image):
    proc = nsrun.popen("while True: pass", options=["--backend", "docker"],
                       stdin=subprocess.DEVNULL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 124
    assert err.strip().endswith("Execution timed out after 10 seconds.")
    assert containers_of(proc.pid) == set()


SLEEPER = 'print("started", flush=True)\nimport time\ntime.sleep(300)\n'


def start_sleeper(nsrun, options=()):
    """A docker run whose container is up: (process, container id, its layer dir)."""
    proc = nsrun.popen(SLEEPER, options=["--backend", "docker", *options],
                       stdin=subprocess.DEVNULL)
    assert proc.stdout.readline().strip() == "started"
    found = containers_of(proc.pid)
    assert len(found) == 1, found
    container = found.pop()
    assert docker("inspect", "--format", "{{.State.Running}}", container).stdout.strip() == "true"
    assert container_cgroups(container), "the test cannot see the container's cgroups"
    layer = container_layer(container)
    assert layer is None or layer.is_dir()
    return proc, container, layer


def assert_nothing_left(proc, container, layer):
    assert containers_of(proc.pid) == set()
    assert docker("inspect", "--type", "container", container).returncode != 0
    assert container_cgroups(container) == []
    if layer is not None:
        assert not layer.exists()
        assert not layer.with_name(layer.name + "-init").exists()


def test_timed_out_docker_run_leaves_nothing(nsrun, docker_image):
    proc, container, layer = start_sleeper(nsrun, options=["--timeout", "3s"])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 124
    assert "Execution timed out after 3 seconds." in err
    assert_nothing_left(proc, container, layer)


def test_interrupted_docker_run_leaves_nothing(nsrun, docker_image):
    proc, container, layer = start_sleeper(nsrun)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    assert "Interrupted by SIGINT" in err
    assert_nothing_left(proc, container, layer)


@pytest.mark.parametrize("delay", [0.02, 0.1, 0.2])
def test_interrupt_during_setup_leaves_nothing(nsrun, docker_image, delay):
    """SIGINT while nsrun inspects the image, creates or starts the container."""
    proc = nsrun.popen(SLEEPER, options=["--backend", "docker"], stdin=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    assert containers_of(proc.pid) == set()


def test_missing_image_is_a_setup_error_with_a_hint(nsrun, docker_engine):
    result = nsrun.run("print(1)", options=["--backend", "docker",
                                            "--docker-image", "nsrun-test-missing:0"])
    assert result.returncode == 125
    assert "nsrun: docker image nsrun-test-missing:0 is missing" in result.stderr
    assert "hint:" in result.stderr
    assert result.stdout == ""


def test_stale_rootfs_image_is_never_used(nsrun, docker_image, tmp_path):
    """A rootfs whose content hash has no image: nsrun names scripts/docker-image."""
    marker = pathlib.Path(nsrun.rootfs, ".nsrun-rootfs").read_text()
    other = tmp_path / "rootfs"
    other.mkdir()
    (other / ".nsrun-rootfs").write_text(marker.replace("content-sha256: ", "content-sha256: 0", 1))
    stale = rootfs_tag(other)
    assert stale != docker_image
    nsrun.rootfs = str(other)
    result = nsrun.run("print(1)", options=["--backend", "docker"])
    assert result.returncode == 125
    assert f"docker image {stale} is missing" in result.stderr
    assert "scripts/docker-image" in result.stderr


def test_unreachable_engine_is_a_setup_error_with_a_hint(nsrun, tmp_path):
    if not shutil.which("docker"):
        pytest.skip("the docker CLI is not installed")
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    result = nsrun.run("print(1)", options=["--backend", "docker"], env=env)
    assert result.returncode == 125
    assert "nsrun: the Docker engine is unreachable" in result.stderr
    assert "scripts/start-dockerd" in result.stderr


def test_docker_refuses_a_script_symlink(nsrun, docker_image):
    target = nsrun.script("print('followed')")
    link = target.with_name("link.py")
    link.symlink_to(target)
    result = nsrun.run(link, options=["--backend", "docker"])
    assert result.returncode == 125
    assert "symbolic link" in result.stderr
    assert "followed" not in result.stdout


PROBE = '''
import os, socket, sys
data = sys.stdin.read()
env = {k: v for k, v in os.environ.items() if k != "HOSTNAME"}
print(sorted(env.items()))
print(sys.argv, os.getuid(), os.getgid(), os.getcwd(), socket.gethostname())
print(data.upper(), end="")
sys.stderr.write("to stderr\\n")
sys.exit(7)
'''


def test_docker_relays_stdio_args_and_env_like_native(nsrun, docker_image):
    results = {b: nsrun.run(PROBE, "--flag", "two words",
                            options=["--backend", b, "--env", "EXTRA=value with spaces"],
                            input="hello\nworld\n", stdin=None)
               for b in BACKENDS}
    for result in results.values():
        assert result.returncode == 7, result.stderr
        assert "('EXTRA', 'value with spaces')" in result.stdout
        assert "['/app/script.py', '--flag', 'two words'] 1000 1000 /app nsrun" in result.stdout
        assert result.stdout.endswith("HELLO\nWORLD\n")
        assert result.stderr == "to stderr\n"
    # the same environment (docker adds only HOSTNAME), arguments, ids, stdio
    assert results["native"].stdout == results["docker"].stdout


def test_compare_prints_the_table(nsrun_binary, rootfs, docker_image):
    result = subprocess.run([nsrun_binary, "compare", "--rootfs", rootfs, "--timeout", "2s"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("CHECK"))
    assert header.split() == ["CHECK", "EXPECTED", "NATIVE", "DOCKER", "NATIVE", "ms", "DOCKER",
                              "ms", "AGREE"]
    rows = [line for line in lines if line.split() and line.split()[0] in CHECKS]
    assert len(rows) == 6
    assert all(row.split()[-1] == "yes" for row in rows)
    assert "6 of 6 checks met their expectations on both backends and agree." in result.stdout


def test_compare_without_docker_says_so(nsrun_binary, rootfs, tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    result = subprocess.run([nsrun_binary, "compare", "--rootfs", rootfs, "--timeout", "1s"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert "docker: skipped (" in result.stdout
    assert "Only the native backend was checked: 6 of 6 checks passed." in result.stdout
    assert result.returncode == 0


def test_sigkilled_nsrun_leaves_no_container(nsrun, docker_image):
    # nsrun cannot clean up after SIGKILL: its watchdog must remove the
    # container, which would otherwise run on without any timeout.
    proc, container, layer = start_sleeper(nsrun)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while containers_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert_nothing_left(proc, container, layer)


def test_script_the_container_user_cannot_read_is_refused(nsrun, docker_image):
    script = nsrun.script("print('never')")
    script.chmod(0o600)
    result = nsrun.run(script, options=["--backend", "docker"])
    assert result.returncode == 125
    assert "not readable by the sandbox's unprivileged user (mode 0600)" in result.stderr
