"""Shared machinery of the adversarial suite (tests/integration/test_adversarial_*.py).

Every attack runs through `Adversary.run`, which gives the script a unique
marker as its first argument (so every process it starts carries it in
/proc/PID/cmdline on the host) and, after the run, proves the host is as it
was: no process with the marker, no nsrun-* cgroup of the run, no mount
left behind.  The `adv` fixture repeats that check when the test ends, so a
test that uses popen() is covered too.

Test modules import the fixtures by name:
    from adversarial_helpers import adv, adv_docker  # noqa: F401 (fixtures)
"""
import dataclasses
import json
import os
import pathlib
import re
import signal
import shutil
import subprocess
import textwrap
import time
import uuid

import pytest

from conftest import nsrun_cgroups, processes_with

ADVERSARIAL_DIR = pathlib.Path(__file__).resolve().parents[1] / "adversarial"
WORKLOADS = ADVERSARIAL_DIR / "workloads"
# Mount lines of other tenants of this host (docker's overlays and network
# namespaces come and go with other engineers' runs): not ours to judge.
FOREIGN_MOUNT = re.compile(r"overlay|/var/lib/docker|/run/docker|nsfs|/run/netns")
# Python's prologue for scripts that call the kernel directly.
LIBC_PROLOGUE = '''
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sys_call(nr, *args):
    """-errno or the result of syscall(nr, *args), all arguments as longs."""
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
    return -ctypes.get_errno() if r == -1 else r
def name(r):
    return errno.errorcode.get(-r, str(r)) if r < 0 else "OK"
'''


@dataclasses.dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    doc: dict = None  # the --json result document, when asked for

    def lines(self):
        return self.stdout.splitlines()

    def json_line(self):
        """The last stdout line of a script that reports with print(json.dumps(...))."""
        return json.loads(self.lines()[-1])


def mount_lines():
    """The host's mount table without mount ids (they are reused) or foreign lines."""
    lines = pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
    return {" ".join(line.split()[2:]) for line in lines if not FOREIGN_MOUNT.search(line)}


def current_nsrun_cgroups():
    """conftest's nsrun_cgroups(), retried: its walk of /sys/fs/cgroup races with
    cgroups that docker (other tenants' containers) removes meanwhile."""
    for attempt in range(10):
        try:
            return nsrun_cgroups()
        except FileNotFoundError:
            time.sleep(0.05 * (attempt + 1))
    return nsrun_cgroups()


def cgroup_owner(path):
    """The supervisor pid in an nsrun-PID-N-X cgroup name."""
    match = re.search(r"nsrun-(\d+)-", path)
    return int(match.group(1)) if match else None


def docker_available():
    try:
        return subprocess.run(["docker", "version"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Adversary:
    """Runs attack scripts through nsrun and proves the host unchanged after each."""

    def __init__(self, runner, backend="native"):
        self.runner = runner
        self.backend = backend
        self.marker = f"nsrun-adv-{uuid.uuid4().hex}"
        self.supervisors = set()
        self.cgroups_before = current_nsrun_cgroups()
        self.mounts_before = mount_lines()

    @property
    def rootfs(self):
        return self.runner.rootfs

    @property
    def workdir(self):
        return pathlib.Path(self.runner.workdir)

    def command(self, script, *args, options=(), json_doc=False):
        backend = ["--backend", self.backend] if self.backend != "native" else []
        extra = ["--json"] if json_doc else []
        return self.runner.command(script, self.marker, *args,
                                   options=[*backend, *extra, *options])

    def script(self, source, prelude=""):
        """A script file: the libc prologue, prelude, then source (each dedented).
        In it sys.argv[1] is the marker (MARKER), the script's own arguments follow (ARGS)."""
        head = LIBC_PROLOGUE + "MARKER = sys.argv[1]\nARGS = sys.argv[2:]\n"
        return self.runner.script(head + textwrap.dedent(prelude) + textwrap.dedent(source))

    def popen(self, source, *args, options=(), json_doc=False, prelude="", **kwargs):
        script = source if isinstance(source, pathlib.Path) else self.script(source, prelude)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen(self.command(script, *args, options=options, json_doc=json_doc),
                                **kwargs)
        self.supervisors.add(proc.pid)
        return proc

    def run(self, source, *args, options=(), json_doc=False, input=None, timeout=60,
            check_host=True, prelude="", **kwargs):
        """Run to the end, then check the host (unless the caller does it later)."""
        if input is not None:
            kwargs["stdin"] = subprocess.PIPE
        proc = self.popen(source, *args, options=options, json_doc=json_doc, prelude=prelude,
                          **kwargs)
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        outcome = Outcome(proc.returncode, out.decode(errors="replace"),
                          err.decode(errors="replace"))
        if json_doc:
            outcome.doc = json.loads(outcome.stdout)
            outcome.stdout = outcome.doc["stdout"] or ""
        if check_host:
            self.check_host()
        return outcome

    # ---- the host after the run ----

    def leftover_processes(self, grace=0.0):
        deadline = time.monotonic() + grace
        while True:
            found = processes_with(self.marker)
            if not found or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    def leftover_cgroups(self):
        """New nsrun-* cgroups named after a supervisor this test started.  Other
        engineers' runs share the host (their cgroups come and go, and a run of
        theirs killed by SIGKILL leaves one behind for good), so cgroups of
        supervisors this test did not start are not ours to judge; every nsrun
        in the suite is started through popen() so that its pid is known."""
        return {path for path in current_nsrun_cgroups() - self.cgroups_before
                if cgroup_owner(path) in self.supervisors}

    def leftover_containers(self):
        if self.backend != "docker":
            return []
        names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"],
                               capture_output=True, text=True, timeout=30).stdout.split()
        return [n for n in names if any(n.startswith(f"nsrun-{pid}-") for pid in self.supervisors)]

    def clean_up(self):
        """After a failed check: kill what survived and remove its cgroups, so
        one failing case does not leave junk for the next (or for other
        tenants of the host)."""
        for pid in processes_with(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for path in self.leftover_cgroups():
            for _ in range(100):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.05)

    def check_host(self):
        assert self.leftover_processes() == [], f"processes of the run survive ({self.marker})"
        assert self.leftover_cgroups() == set(), "cgroups of the run survive"
        assert self.leftover_containers() == [], "containers of the run survive"
        new_mounts = mount_lines() - self.mounts_before
        assert new_mounts == set(), f"mounts appeared on the host: {new_mounts}"
        host_table = pathlib.Path("/proc/self/mountinfo").read_text()
        assert f" {self.rootfs}/" not in host_table, "a sandbox mount leaked to the host"


@pytest.fixture
def adv(nsrun):
    """An Adversary on the native backend; the host is checked again at the end."""
    adversary = Adversary(nsrun)
    yield adversary
    try:
        adversary.check_host()
    finally:
        adversary.clean_up()


@pytest.fixture(params=["native", "docker"])
def adv_backend(request, nsrun):
    """The same attack under both backends; docker is skipped when unusable."""
    if request.param == "docker":
        require_docker_backend(nsrun)
    adversary = Adversary(nsrun, backend=request.param)
    yield adversary
    try:
        adversary.check_host()
    finally:
        adversary.clean_up()


_docker_backend_state = {}


def require_docker_backend(nsrun):
    """Skip unless `docker version` works and nsrun's docker backend runs a script."""
    if "ok" not in _docker_backend_state:
        reason = None
        if not shutil.which("docker") or not docker_available():
            reason = "docker version fails: no usable Docker engine"
        else:
            probe = nsrun.run('print("up")', options=["--backend", "docker"], timeout=120)
            if probe.returncode != 0 or probe.stdout.strip() != "up":
                reason = f"nsrun --backend docker does not run a script: {probe.stderr.strip()}"
        _docker_backend_state["ok"] = reason
    if _docker_backend_state["ok"]:
        pytest.skip(_docker_backend_state["ok"])


def sandbox_cgroup_file(supervisor_pid, controller, name):
    """A file of the running sandbox's cgroup, found by its supervisor's pid."""
    for path in sorted(current_nsrun_cgroups()):
        if f"/nsrun-{supervisor_pid}-" in path and f"/{controller}/" in path:
            candidate = pathlib.Path(path, name)
            if candidate.exists():
                return candidate
    return None


def wait_for_line(stream, text, timeout=20):
    """Read lines from a pipe until one contains text; returns what was read."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        line = line.decode(errors="replace") if isinstance(line, bytes) else line
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} never came: {''.join(seen)!r}")
