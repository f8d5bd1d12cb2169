"""Hosts that forbid what nsrun needs, recreated for real, and the one message
a user gets on each.

A user namespace whose user.max_user_namespaces is 0 stands in for a host that
forbids user namespaces: the limit belongs to the namespace, so the host's own
setting is never touched.  User nobody, with no cgroup of its own, stands in
for a rootless user on a host without cgroup delegation."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import leaked, own_nsrun_groups



AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# Root inside, the limit lowered to 0 inside, then the command.
WITHOUT_USERNS = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork",
                  "sh", "-c", 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh"]
ONLY_ROOT_MAPPED = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork"]

DOCTOR_LINE = "nsrun: run `nsrun doctor` for a full check of this host\n"
NO_USERNS_MESSAGE = ("nsrun: cannot create a user namespace: user.max_user_namespaces is 0 "
                     "(clone3: No space left on device)\n"
                     "nsrun: hint: sudo sysctl -w user.max_user_namespaces=15000 "
                     "(to keep it, add it to /etc/sysctl.d/)\n" + DOCTOR_LINE)
CGROUP_CAUSE = "nsrun: cannot set up a cgroup for the memory limit: "
CGROUP_HINT_V1 = ("nsrun: hint: cgroup v1 is not delegated to users: run as root, or have root "
                  "make you a group of your own in the memory and pids hierarchies and start "
                  "nsrun from it (nsrun doctor prints the commands), or pass "
                  "--allow-no-memory-limit\n")
CGROUP_HINT_V2 = ("nsrun: hint: run as root or inside a delegated cgroup (systemd-run --user "
                  "--scope -p Delegate=yes nsrun ...), or pass --allow-no-memory-limit\n")
CGROUP_HINT = (CGROUP_HINT_V2 if os.path.exists("/sys/fs/cgroup/cgroup.controllers")
               and not os.path.isdir("/sys/fs/cgroup/memory") else CGROUP_HINT_V1)


@pytest.fixture(autouse=True)
def wired(nsrun_binary):
    """The diagnosis ships with `nsrun doctor`: both need the issue-6 wiring."""
    probe = subprocess.run([nsrun_binary, "doctor", "--help"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30)
    if probe.returncode != 0:
        pytest.skip("this nsrun has no `doctor` and namespace diagnosis (issue-6 wiring)")


@pytest.fixture
def shared(nsrun):
    """A world-readable directory and script, for runs as nobody."""
    if os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"):
        pytest.skip("needs root, setpriv and unshare")
    directory = pathlib.Path(tempfile.mkdtemp(prefix="nsrun-restricted-"))
    directory.chmod(0o755)
    script = directory / "hi.py"
    script.write_text("import os; print('uid', os.getuid())\n")
    script.chmod(0o644)
    yield directory, script
    shutil.rmtree(directory)


def run(argv, timeout=60):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_the_limit_belongs_to_the_namespace(shared):
    host = pathlib.Path("/proc/sys/user/max_user_namespaces").read_text()
    inside = run([*WITHOUT_USERNS, "cat", "/proc/sys/user/max_user_namespaces"])
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout == "0\n"
    assert pathlib.Path("/proc/sys/user/max_user_namespaces").read_text() == host != "0\n"


def test_no_user_namespaces_one_message_with_cause_and_fix(nsrun, shared):
    _, script = shared
    before = own_nsrun_groups()
    result = run([*WITHOUT_USERNS, nsrun.binary, "--rootfs", nsrun.rootfs, str(script)])
    assert result.returncode == 125
    assert result.stdout == ""
    assert result.stderr == NO_USERNS_MESSAGE
    assert not leaked(before)  # the cgroup made before clone3 is gone again


def test_no_user_namespaces_in_the_json_result(nsrun, shared):
    _, script = shared
    result = run([*WITHOUT_USERNS, nsrun.binary, "--rootfs", nsrun.rootfs, "--json", str(script)])
    assert result.returncode == 125
    doc = json.loads(result.stdout)
    assert doc["status"] == "setup_error"
    assert doc["error"]["kind"] == "userns_denied"
    assert doc["error"]["step"] == "cannot create a user namespace"
    assert doc["error"]["errno"] == "ENOSPC"
    assert doc["error"]["hint"].startswith("sudo sysctl -w user.max_user_namespaces=15000")


def test_no_user_namespaces_for_an_ordinary_user_too(nsrun, shared):
    """Rootless: the same message once the cgroup is opted out of."""
    _, script = shared
    result = run([*AS_NOBODY, *WITHOUT_USERNS, nsrun.binary, "--rootfs", nsrun.rootfs,
                  "--allow-no-memory-limit", str(script)])
    assert result.returncode == 125
    assert result.stderr == NO_USERNS_MESSAGE


def test_root_in_a_namespace_that_maps_only_root(nsrun, shared):
    """nsrun as root maps the sandbox to 65534, which such a namespace lacks."""
    _, script = shared
    result = run([*ONLY_ROOT_MAPPED, nsrun.binary, "--rootfs", nsrun.rootfs, str(script)])
    assert result.returncode == 125
    cause, hint, doctor = result.stderr.splitlines(keepends=True)
    assert doctor == DOCTOR_LINE
    cause, hint = cause.rstrip("\n"), hint.rstrip("\n")
    assert cause.startswith("nsrun: cannot map the sandbox user: nsrun runs as root in a user "
                            "namespace that does not map id 65534 (/proc/self/uid_map: 0 0 1; "
                            "write /proc/")
    assert cause.endswith("/uid_map: Operation not permitted)")
    assert hint == ("nsrun: hint: map uids and gids 0-65535 into that namespace (e.g. unshare "
                    "--map-users=0,0,65536 --map-groups=0,0,65536, which needs newuidmap), or "
                    "run nsrun outside it")


MAP_IDS = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
go_r, go_w = os.pipe(); ready_r, ready_w = os.pipe()
pid = os.fork()
if pid == 0:
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        os._exit(99)
    os.write(ready_w, b"r"); os.read(go_r, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
os.read(ready_r, 1)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{name}", "w") as f:
        f.write("0 0 65536\n")
os.write(go_w, b"g")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_the_mapping_fix_works(nsrun, shared):
    """What the hint above says, done without newuidmap: map 0-65535, and nsrun runs."""
    _, script = shared
    result = run([sys.executable, "-c", MAP_IDS, nsrun.binary, "--rootfs", nsrun.rootfs,
                  str(script)])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "uid 1000\n"


def test_in_a_chroot(nsrun, shared, tmp_path):
    """The kernel refuses user namespaces when / is not the namespace's root."""
    _, script = shared
    root = tmp_path / "root"
    root.mkdir()
    command = f'mount --rbind / {root} && exec chroot {root} "$@"'
    result = run(["unshare", "--mount", "sh", "-c", command, "sh", nsrun.binary, "--rootfs",
                  nsrun.rootfs, str(script)])
    assert result.returncode == 125
    assert result.stderr == (
        "nsrun: cannot create a user namespace: nsrun runs in a chroot, where the kernel refuses "
        "them (/ is not the mount namespace's root; clone3: Operation not permitted)\n"
        "nsrun: hint: enter that root with pivot_root or switch_root instead of chroot, or run "
        "nsrun outside the chroot\n" + DOCTOR_LINE)


def local_docker_image():
    """Any image the local engine has: the host's / is bound in and nsrun is
    started through the host's dynamic loader, so the image's files are unused."""
    if not shutil.which("docker") or not os.path.exists("/lib64/ld-linux-x86-64.so.2"):
        return None
    try:
        listed = run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], timeout=30)
    except subprocess.TimeoutExpired:
        return None
    images = [i for i in listed.stdout.split() if "<none>" not in i]
    return images[0] if listed.returncode == 0 and images else None


def in_docker(image, nsrun, *argv, security=()):
    """nsrun from the host, run inside a container with Docker's defaults."""
    loader = ["/host/lib64/ld-linux-x86-64.so.2", "--library-path",
              "/host/lib/x86_64-linux-gnu:/host/usr/lib/x86_64-linux-gnu"]
    return run(["docker", "run", "--rm", "--network", "none", "-v", "/:/host:ro", *security,
                image, *loader, "/host" + os.path.realpath(nsrun.binary), *argv], timeout=120)


def test_inside_a_docker_container(nsrun, shared):
    """Docker's default seccomp profile: the message, and that its fix works."""
    _, script = shared
    image = local_docker_image()
    if not image:
        pytest.skip("needs a reachable docker engine with a local image")
    policy = pathlib.Path(__file__).resolve().parents[2] / "policy" / "seccomp.json"
    argv = ["--rootfs", "/host" + os.path.realpath(nsrun.rootfs), "--seccomp-policy",
            f"/host{policy}", "--allow-no-memory-limit", "/host" + os.path.realpath(script)]
    refused = in_docker(image, nsrun, *argv)
    assert refused.returncode == 125, refused.stderr
    assert refused.stderr == (
        "nsrun: cannot create a user namespace: the container's seccomp profile forbids it "
        "(Seccomp: 2 in /proc/self/status, /.dockerenv exists; clone3: Function not "
        "implemented)\n"
        "nsrun: hint: run the container with --security-opt seccomp=unconfined --security-opt "
        "apparmor=unconfined --security-opt systempaths=unconfined (or --privileged), or run "
        "nsrun on the host\n" + DOCTOR_LINE)
    fixed = in_docker(image, nsrun, *argv, security=[
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "--security-opt", "systempaths=unconfined"])
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout == "uid 1000\n"


def test_rootless_without_a_delegated_cgroup(nsrun, shared):
    _, script = shared
    before = own_nsrun_groups()
    refused = run([*AS_NOBODY, nsrun.binary, "--rootfs", nsrun.rootfs, str(script)])
    assert refused.returncode == 125
    cause, hint, doctor = refused.stderr.splitlines(keepends=True)
    assert doctor == DOCTOR_LINE
    assert cause.startswith(CGROUP_CAUSE)
    assert hint == CGROUP_HINT
    doc = json.loads(run([*AS_NOBODY, nsrun.binary, "--rootfs", nsrun.rootfs, "--json",
                          str(script)]).stdout)
    assert doc["error"]["kind"] == "cgroup_unavailable"
    allowed = run([*AS_NOBODY, nsrun.binary, "--rootfs", nsrun.rootfs, "--json",
                   "--allow-no-memory-limit", str(script)])
    assert allowed.returncode == 0, allowed.stderr
    doc = json.loads(allowed.stdout)
    assert doc["stdout"] == "uid 1000\n"
    assert doc["warnings"] and "without memory and pids limits" in doc["warnings"][0]
    assert not leaked(before)


def v1_hierarchy(controller):
    """(mount point, nsrun's current group) when controller is on cgroup v1."""
    for line in pathlib.Path("/proc/self/mounts").read_text().splitlines():
        _, mount, kind, options = line.split()[:4]
        if kind == "cgroup" and controller in options.split(","):
            for entry in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
                _, controllers, path = entry.split(":", 2)
                if controller in controllers.split(","):
                    return mount, path
    return None


@pytest.fixture
def delegated_v1_groups():
    """What `nsrun doctor` tells a v1 host's root to do: a group per
    controller that user 65534 owns.  Removed again afterwards."""
    groups = []
    for controller in ("memory", "pids"):
        place = v1_hierarchy(controller)
        if not place:
            pytest.skip(f"{controller} is not on cgroup v1 here")
        mount, current = place
        group = pathlib.Path(mount + current.rstrip("/")) / f"deleg-test-{os.getpid()}"
        group.mkdir()
        groups.append(group)
        for path in [group, *group.iterdir()]:
            os.chown(path, 65534, 65534)
    yield groups
    for group in groups:
        group.rmdir()


def join(groups):
    return " && ".join(f"echo $$ > {group}/cgroup.procs" for group in groups)


def test_rootless_with_a_delegated_v1_group_runs_with_limits(nsrun, shared, delegated_v1_groups):
    _, script = shared
    command = f'{join(delegated_v1_groups)} && exec "$@"'
    result = run([*AS_NOBODY, "sh", "-c", command, "sh", nsrun.binary, "--rootfs", nsrun.rootfs,
                  "--json", str(script)])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["stdout"] == "uid 1000\n"
    assert doc["enforcement"]["memory"] == "cgroup-v1"
    assert doc["enforcement"]["pids"] == "cgroup-v1"
    assert doc["warnings"] == []
    for group in delegated_v1_groups:
        assert [p for p in group.iterdir() if p.is_dir()] == []  # nsrun removed its own
