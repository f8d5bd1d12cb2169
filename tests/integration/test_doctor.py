"""`nsrun doctor [--json]`: every check on this host as root, as nobody (no
delegated cgroup: degraded), inside a namespace without user namespaces
(unusable), and the JSON document; and that it leaves nothing behind."""
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import leaked, own_nsrun_groups



CHECKS = ["kernel", "userns-sysctls", "container", "userns", "mountns", "pivot_root",
          "pidns+proc", "netns+loopback", "ipc/uts/cgroupns", "cgroup-mode", "cgroup-memory",
          "cgroup-pids", "swap-control", "memory-peak", "cgroup.kill", "seccomp",
          "seccomp-policy", "rootfs", "sandbox-run", "docker"]
CAPS = ["memory", "swap", "pids", "seccomp", "network", "userns"]
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
WITHOUT_USERNS = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork",
                  "sh", "-c", 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh"]
LINE = re.compile(r"^(ok|warn|fail) +(\S+) +(.*)$")
SUMMARY = re.compile(r"^can enforce: ((?:\w+=(?:yes|no) ?)+) -> (usable|degraded|unusable) "
                     r"\((\d+) ok, (\d+) warn, (\d+) fail\)$")


@pytest.fixture
def doctor(nsrun_binary, rootfs):
    probe = subprocess.run([nsrun_binary, "doctor", "--help"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30)
    if probe.returncode != 0:
        pytest.skip("this nsrun has no `doctor` (issue-6 wiring)")

    def run(*options, prefix=(), env=None, timeout=120):
        return subprocess.run([*prefix, nsrun_binary, "doctor", "--rootfs", rootfs, *options],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=timeout, env=env)
    return run


def needs_root():
    if os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"):
        pytest.skip("needs root, setpriv and unshare")


def parse(stdout):
    """{check: (status, detail-and-fix)}, in order, and the summary match."""
    *lines, summary = stdout.splitlines()
    checks = {}
    for line in lines:
        match = LINE.match(line)
        assert match, f"not a check line: {line!r}"
        checks[match.group(2)] = (match.group(1), match.group(3))
    match = SUMMARY.match(summary)
    assert match, f"not a summary line: {summary!r}"
    return checks, match


def test_help_and_usage_errors(doctor):
    result = doctor("--help")
    assert result.returncode == 0
    for option in ("--json", "--rootfs", "--seccomp-policy"):
        assert option in result.stdout
    assert doctor("--no-such-option").returncode == 125
    assert doctor("extra-argument").returncode == 125


def test_root_on_this_host_is_usable_and_prints_every_check(doctor):
    needs_root()
    before = own_nsrun_groups()
    result = doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    checks, summary = parse(result.stdout)
    assert list(checks) == CHECKS
    for name, (status, detail) in checks.items():
        assert status == "ok" or (name == "docker" and status == "warn"), (name, detail)
    assert summary.group(1) == " ".join(f"{cap}=yes" for cap in CAPS)
    assert summary.group(2) == "usable"
    assert checks["sandbox-run"][1].startswith("Python 3.")
    assert not leaked(before)


def test_lines_are_aligned(doctor):
    *lines, _ = doctor().stdout.splitlines()
    assert {LINE.match(line).start(2) for line in lines} == {6}
    assert len({LINE.match(line).start(3) for line in lines}) == 1


def test_json_lists_every_check(doctor):
    needs_root()
    result = doctor("--json")
    doc = json.loads(result.stdout)
    assert [check["name"] for check in doc["checks"]] == CHECKS
    for check in doc["checks"]:
        assert check["status"] in ("ok", "warn", "fail")
        assert isinstance(check["detail"], str) and check["detail"]
        assert check["fix"] is None or isinstance(check["fix"], str)
    assert sorted(doc["can_enforce"]) == sorted(CAPS)
    assert doc["verdict"] == "usable" and doc["exit_code"] == result.returncode == 0
    assert sum(doc["counts"].values()) == len(CHECKS)
    assert doc["nsrun_version"]


def test_nobody_without_a_delegated_cgroup_is_degraded_with_the_fix(doctor):
    needs_root()
    before = own_nsrun_groups()
    result = doctor(prefix=AS_NOBODY)
    assert result.returncode == 1, result.stdout + result.stderr
    checks, summary = parse(result.stdout)
    assert summary.group(2) == "degraded"
    assert "memory=no" in summary.group(1) and "userns=yes" in summary.group(1)
    status, text = checks["cgroup-memory"]
    assert status == "fail"
    assert "Permission denied (not delegated to uid 65534)" in text
    assert "chown -R 65534 D" in text or "Delegate=yes" in text
    assert "--allow-no-memory-limit" in text
    status, text = checks["sandbox-run"]
    assert status == "warn" and "ran only WITHOUT memory and pids limits" in text
    for name in ("userns", "mountns", "pivot_root", "pidns+proc", "netns+loopback", "seccomp"):
        assert checks[name][0] == "ok", (name, checks[name])
    assert not leaked(before)


def test_without_user_namespaces_it_is_unusable(doctor):
    needs_root()
    result = doctor(prefix=WITHOUT_USERNS)
    assert result.returncode == 2, result.stdout + result.stderr
    checks, summary = parse(result.stdout)
    assert summary.group(2) == "unusable"
    assert "userns=no" in summary.group(1)
    assert checks["userns-sysctls"] == (
        "fail", "user.max_user_namespaces = 0; kernel.unprivileged_userns_clone absent; "
        "kernel.apparmor_restrict_unprivileged_userns absent  "
        "(sudo sysctl -w user.max_user_namespaces=15000)")
    assert checks["userns"] == (
        "fail", "cannot create a user namespace: user.max_user_namespaces is 0 (clone3: No space "
        "left on device)  (sudo sysctl -w user.max_user_namespaces=15000 (to keep it, add it to "
        "/etc/sysctl.d/))")
    assert checks["mountns"][1].startswith("not tried: needs a user namespace")
    assert checks["sandbox-run"][0] == "fail"


def test_a_missing_rootfs_is_unusable(doctor, tmp_path):
    result = doctor("--rootfs", str(tmp_path / "absent"))
    assert result.returncode == 2
    checks, _ = parse(result.stdout)
    assert checks["rootfs"][0] == "fail" and "scripts/build-rootfs" in checks["rootfs"][1]
    assert checks["sandbox-run"][1].startswith("not tried")


def test_docker_is_only_a_warning(doctor, tmp_path):
    needs_root()
    result = doctor("--docker", str(tmp_path / "no-docker"))
    assert result.returncode == 0
    checks, _ = parse(result.stdout)
    assert checks["docker"][0] == "warn" and "not found in PATH" in checks["docker"][1]


def test_a_hanging_docker_is_given_up_on(doctor, tmp_path):
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    started = time.monotonic()
    result = doctor("--docker", str(fake))
    assert time.monotonic() - started < 30
    checks, _ = parse(result.stdout)
    assert checks["docker"] == ("warn", f"`{fake} version` did not answer in time  (install "
                                "Docker and start dockerd (only --backend docker needs it))")


def test_it_leaves_no_script_or_cgroup_behind(doctor):
    needs_root()
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="nsrun-doctor-tmp-"))
    try:
        before = own_nsrun_groups()
        result = doctor(env={**os.environ, "TMPDIR": str(scratch)})
        assert result.returncode == 0, result.stdout
        assert list(scratch.iterdir()) == []
        assert not leaked(before)
    finally:
        shutil.rmtree(scratch)
