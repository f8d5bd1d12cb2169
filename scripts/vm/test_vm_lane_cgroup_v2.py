"""Where nsrun puts its group on a pure cgroup v2 host (the VM lane only).

scripts/vm-lane.sh copies this file next to tests/integration/conftest.py in
the guest.  It runs as root there, builds the cgroup layouts itself, and runs
nsrun in them (as uid 1000 where it matters):

* nsrun alone in a delegated group (systemd-run --user --scope -p
  Delegate=yes nsrun ...): it moves itself into a leaf, enables memory and
  pids, nests its group there, and undoes all of it on exit;
* the same for root, alone in a non-root group;
* no delegated group to use: it refuses with the fix, and runs without
  limits only when told to.

The delegated subtree with the caller's shell in a leaf (the common case) is
what the whole suite's user run exercises.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import CGROUP_ROOT

UID = 1000
ON_V2 = (CGROUP_ROOT / "cgroup.controllers").exists()

pytestmark = pytest.mark.skipif(
    not (os.environ.get("IN_VM_LANE") and ON_V2 and os.geteuid() == 0),
    reason="cgroup v2 lane only: needs root in the guest to build cgroup layouts")


@pytest.fixture
def scripts():
    """A directory uid 1000 can read (pytest's tmp_path is 0700)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="v2-lane-"))
    path.chmod(0o755)

    def write(source, name="script.py"):
        script = path / name
        script.write_text(source)
        script.chmod(0o644)
        return script
    yield write
    shutil.rmtree(path)


@pytest.fixture
def groups():
    made = []

    def make(name, owner=None):
        group = CGROUP_ROOT / name
        group.mkdir()
        made.append(group)
        if owner is not None:  # what systemd's Delegate=yes hands over
            for path in (group, group / "cgroup.procs", group / "cgroup.subtree_control",
                         group / "cgroup.threads"):
                os.chown(path, owner, owner)
        return group
    yield make
    for group in reversed(made):
        if not group.exists():
            continue
        for pid in (group / "cgroup.procs").read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        for child in sorted(group.rglob("*"), key=lambda p: -len(p.parts)):
            if child.is_dir():
                child.rmdir()
        group.rmdir()


def in_group(group, argv, uid=None):
    """argv, started inside group (moved there before exec), as uid if given."""
    command = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group)]
    if uid is not None:
        command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    return command + list(argv)


def child_groups(group):
    return sorted(p.name for p in group.iterdir() if p.is_dir())


def read(path):
    return path.read_text().strip()


@pytest.mark.parametrize("uid", [UID, None], ids=["user", "root"])
def test_alone_in_its_group_nsrun_uses_a_leaf_and_undoes_it(nsrun, scripts, groups, uid):
    scope = groups("lane-scope", owner=uid)
    script = scripts('print("up", flush=True)\nimport time\ntime.sleep(60)\n')
    proc = subprocess.Popen(in_group(scope, nsrun.command(script), uid=uid), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "up", proc.stderr.read()
        children = child_groups(scope)
        leaf = f"nsrun.supervisor-{proc.pid}"
        runs = [c for c in children if c.startswith("nsrun-")]
        assert leaf in children and len(runs) == 1, children
        assert read(scope / leaf / "cgroup.procs").split() == [str(proc.pid)]
        assert read(scope / "cgroup.procs") == ""
        assert {"memory", "pids"} <= set(read(scope / "cgroup.subtree_control").split())
        run = scope / runs[0]
        assert read(run / "memory.max") == str(128 << 20)
        assert read(run / "memory.swap.max") == "0"
        assert read(run / "pids.max") == "64"
        assert read(run / "cgroup.procs") != ""
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    # As the caller made it: no children, no controllers enabled, removable.
    assert child_groups(scope) == []
    assert read(scope / "cgroup.subtree_control") == ""
    scope.rmdir()


def test_alone_in_a_delegated_group_the_limits_hold(nsrun, scripts, groups):
    scope = groups("lane-scope", owner=UID)
    result = subprocess.run(in_group(scope, nsrun.command(scripts('x = "a" * 1000000000\n')), uid=UID),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert result.returncode == 137, result.stderr
    assert "Memory limit of 128M reached" in result.stderr
    assert child_groups(scope) == []


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "alone"])
def test_without_a_delegated_group_nsrun_refuses_unless_told(nsrun, scripts, groups, shared):
    group = groups("lane-not-delegated")  # root's, like a login session's scope
    sleeper = None
    if shared:
        sleeper = subprocess.Popen(in_group(group, ["sleep", "120"]))
    try:
        script = scripts('print("ran")\n')
        result = subprocess.run(in_group(group, nsrun.command(script), uid=UID),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        assert result.returncode == 125, result.stderr
        assert "no cgroup to nest under" in result.stderr
        assert "Delegate=yes" in result.stderr
        assert child_groups(group) == []
        result = subprocess.run(
            in_group(group, nsrun.command(script, options=["--allow-no-memory-limit"]), uid=UID),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ran\n"
    finally:
        if sleeper:
            sleeper.kill()
            sleeper.wait()
