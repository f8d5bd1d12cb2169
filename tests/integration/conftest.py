"""Fixtures for running the real nsrun binary on the real rootfs."""
import os
import pathlib
import re
import subprocess
import textwrap

import pytest

CGROUP_ROOT = pathlib.Path("/sys/fs/cgroup")
# Time limits that only guard against slowness are multiplied by this; the
# cgroup v2 lane (scripts/vm-lane.sh) runs under full emulation and sets it.
TIME_SCALE = float(os.environ.get("NSRUN_TEST_TIME_SCALE", "1"))


def pytest_addoption(parser):
    parser.addoption("--nsrun", required=True, help="path to the nsrun binary under test")
    parser.addoption("--rootfs", required=True, help="the Python rootfs to run scripts in")


class Runner:
    """Runs scripts through nsrun and returns subprocess.CompletedProcess."""

    def __init__(self, binary, rootfs, workdir):
        self.binary = binary
        self.rootfs = rootfs
        self.workdir = workdir
        self.count = 0

    def script(self, source, name=None):
        self.count += 1
        path = self.workdir / (name or f"script{self.count}.py")
        path.write_text(textwrap.dedent(source))
        path.chmod(0o644)
        return path

    def command(self, script, *args, options=()):
        return [self.binary, "--rootfs", self.rootfs, *options, str(script), *args]

    def run(self, source, *args, options=(), timeout=60, **kwargs):
        script = self.script(source) if isinstance(source, str) else source
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(self.command(script, *args, options=options), capture_output=True,
                              text=True, timeout=timeout, **kwargs)

    def popen(self, source, *args, options=(), **kwargs):
        script = self.script(source) if isinstance(source, str) else source
        return subprocess.Popen(self.command(script, *args, options=options),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture(scope="session")
def nsrun_binary(request):
    binary = os.path.abspath(request.config.getoption("--nsrun"))
    if not os.access(binary, os.X_OK):
        pytest.exit(f"nsrun binary {binary} is not executable", returncode=2)
    return binary


@pytest.fixture(scope="session")
def rootfs(request):
    path = os.path.abspath(request.config.getoption("--rootfs"))
    if not os.path.exists(os.path.join(path, "usr/bin/python3")):
        pytest.exit(f"no rootfs at {path}: run scripts/build-rootfs", returncode=2)
    return path


@pytest.fixture(scope="session", autouse=True)
def private_policy_cache(tmp_path_factory):
    """The suite's runs share a policy cache of their own, not the user's
    ~/.cache/nsrun: nothing is left in the home directory, and most runs
    take the warm-cache path most real runs take.  test_policy_cache.py
    gives its tests a HOME each."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture
def nsrun(nsrun_binary, rootfs, tmp_path):
    return Runner(nsrun_binary, rootfs, tmp_path)


GROUP_OWNER = re.compile(r"^nsrun-(?:doctor-)?(\d+)(?:-|$)")


def nsrun_cgroups():
    """Every cgroup directory nsrun created that still exists on the host.
    Other runs may remove theirs while we walk: vanished entries are skipped."""
    # On a pure cgroup v2 host the mount is itself the root group: root's runs
    # from the root group put theirs right there.
    found = {str(p) for p in CGROUP_ROOT.glob("nsrun-*") if p.is_dir()}
    for top in CGROUP_ROOT.iterdir():
        for parent, dirs, _ in os.walk(top, onerror=lambda error: None):
            found.update(os.path.join(parent, d) for d in dirs if d.startswith("nsrun-"))
    return found


def cgroup_owner(path):
    match = GROUP_OWNER.match(os.path.basename(path))
    return int(match.group(1)) if match else None


def cgroups_of(pid):
    """The cgroups of the nsrun process pid (one per hierarchy)."""
    return {path for path in nsrun_cgroups() if cgroup_owner(path) == pid}


def leaked_cgroups():
    """nsrun cgroups whose nsrun process is gone: what a run must never leave.
    Groups of runs still going (other tests, other users) are not leaks."""
    return {path for path in nsrun_cgroups()
            if cgroup_owner(path) is None or not os.path.exists(f"/proc/{cgroup_owner(path)}")}


def processes_with(marker):
    """Host pids whose command line contains marker."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def own_nsrun_groups():
    """nsrun's groups directly under this process's own cgroups, where nsrun
    nests them (other sessions may run nsrun elsewhere on this host)."""
    mounts = {}
    for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        kind, _, options = (tail.split() + ["", "", ""])[:3]
        if kind == "cgroup":
            for option in options.split(","):
                mounts.setdefault(option, fields.split()[4])
        elif kind == "cgroup2":
            mounts.setdefault("", fields.split()[4])
    found = set()
    for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        mount = mounts.get(controllers.split(",")[0])
        try:
            with os.scandir(mount + path.rstrip("/")) as entries:
                found.update(e.path for e in entries if e.name.startswith("nsrun-"))
        except (OSError, TypeError):
            continue
    return found


def leaked(before):
    """Groups nsrun names (nsrun-PID-..., nsrun-doctor-PID) that appeared under
    this process's cgroups since before and whose nsrun is gone."""
    def owner_gone(path):
        pid = cgroup_owner(path)
        try:
            return pid is not None and (pathlib.Path("/proc", str(pid), "comm").read_text()
                                        != "nsrun\n")
        except OSError:
            return True
    return {path for path in own_nsrun_groups() - before if owner_gone(path)}
