"""The policy cache (docs/policy-cache.md), without a clock.

A run with a warm cache makes no libseccomp call in the supervisor: strace
sees neither libseccomp's kernel probes (SECCOMP_GET_ACTION_AVAIL, ...) nor
the memfd it exports the program through, only the workload's one
seccomp(SECCOMP_SET_MODE_FILTER).  And the cache can never make a run use
another filter than its policy file specifies: an edited policy, a tampered
file, an untrusted directory are never served, and a broken policy fails as
it does without a cache.  Each test runs with a HOME of its own and checks
that its runs left no cgroup behind.
"""
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import leaked, own_nsrun_groups

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "policy" / "seccomp.json"
FIXTURES = ROOT / "tests" / "data" / "policy"
HEADER = 40  # the cache file's fixed header (src/lib/policy_cache.c)

CWD_SCRIPT = '''
import os
try:
    print("cwd", os.getcwd())
except OSError as e:
    print("cwd refused:", os.strerror(e.errno))
'''
ALLOWED = "cwd /app\n"
REFUSED = "cwd refused: Operation not permitted\n"
STRACE = ["strace", "-f", "-qq"]
INSTALL = re.compile(r"seccomp\(SECCOMP_SET_MODE_FILTER, 0, \{len=(\d+), filter=0x[0-9a-f]+\}\) = 0$")


@pytest.fixture(autouse=True)
def no_cgroup_left():
    before = own_nsrun_groups()
    yield
    assert not leaked(before)


class Home:
    """A HOME of its own for nsrun (XDG_CACHE_HOME unset): its cache is
    HOME/.cache/nsrun."""

    def __init__(self, runner, tmp_path):
        self.runner = runner
        self.tmp = tmp_path
        self.path = tmp_path / "home"
        self.path.mkdir()
        self.cache = self.path / ".cache" / "nsrun"
        self.env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
        self.env["HOME"] = str(self.path)

    def command(self, script, options=()):
        return self.runner.command(script, options=options)

    def traced_env(self):
        """strace is installed, and the environment for a traced nsrun: an
        ASan build's leak check cannot stop a traced process's threads."""
        if not shutil.which("strace"):
            pytest.skip("strace is not installed")
        env = dict(self.env)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        return env

    def run(self, script, options=(), trace=False):
        """CompletedProcess; with trace, .trace holds strace's log of the seccomp
        and memfd_create calls of nsrun and all its children."""
        command = self.command(script, options)
        log = self.tmp / "strace.log"
        if trace:
            command = [*STRACE, "-o", str(log), "-e", "trace=seccomp,memfd_create", *command]
        result = subprocess.run(command, env=self.traced_env() if trace else self.env,
                                capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL)
        result.trace = log.read_text() if trace else ""
        return result

    def entries(self):
        return sorted(os.listdir(self.cache)) if self.cache.exists() else []

    def entry(self):
        names = self.entries()
        assert len(names) == 1, names
        return self.cache / names[0]


@pytest.fixture
def home(nsrun, tmp_path):
    return Home(nsrun, tmp_path)


@pytest.fixture
def cwd_script(nsrun):
    return nsrun.script(CWD_SCRIPT)


def need_root():
    if os.geteuid() != 0:
        pytest.skip("giving a file to another uid needs root")


def seccomp_lines(trace):
    return [line for line in trace.splitlines() if "seccomp(" in line]


def assert_compiled(result):
    """libseccomp ran in the supervisor: its probes, its export."""
    assert "SECCOMP_GET_ACTION_AVAIL" in result.trace, result.trace
    assert 'memfd_create("nsrun-seccomp"' in result.trace, result.trace


def assert_served_from_cache(result):
    """Not one libseccomp call: the only seccomp() is the workload's install."""
    calls = seccomp_lines(result.trace)
    assert len(calls) == 1 and INSTALL.search(calls[0]), result.trace
    assert "memfd_create" not in result.trace, result.trace


def installed_length(result):
    return int(next(INSTALL.search(l) for l in seccomp_lines(result.trace)
                    if INSTALL.search(l)).group(1))


def deny_getcwd(policy):
    """Drop getcwd from its allow rule, in place: same size, same inode, same
    mtime, so only the bytes tell the two policies apart."""
    text = policy.read_bytes()
    assert text.count(b'"getcwd", ') == 1
    stat = policy.stat()
    with open(policy, "r+b") as f:
        f.write(text.replace(b'"getcwd", ', b" " * len(b'"getcwd", ')))
    os.utime(policy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = policy.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (stat.st_size, stat.st_ino,
                                                                 stat.st_mtime_ns)


def test_help_documents_the_option(nsrun):
    result = subprocess.run([nsrun.binary, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--no-policy-cache" in result.stdout


def test_the_first_run_stores_one_private_file_with_the_whole_policy(home, cwd_script):
    result = home.run(cwd_script)
    assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    entry = home.entry()
    assert re.fullmatch(r"[0-9a-f]{16}\.bpf", entry.name)
    for path, mode in ((home.path / ".cache", 0o700), (home.cache, 0o700), (entry, 0o600)):
        st = path.lstat()
        assert (st.st_mode & 0o7777, st.st_uid) == (mode, os.geteuid()), path
    data = entry.read_bytes()
    assert data.startswith(b"nsrunbpf") and SHIPPED.read_bytes() in data


def test_the_key_names_this_build_of_nsrun_and_of_libseccomp(home, cwd_script, nsrun):
    """A rebuilt nsrun, or a distribution's patched libseccomp of the same
    version, is another key: the stored build ids are the binaries' own.
    Where libseccomp is linked into nsrun (NSRUN_STATIC_DEPS, the default)
    its code is nsrun's, and so is its build id."""
    assert home.run(cwd_script).returncode == 0
    ids = home.entry().read_bytes()[HEADER:].split(b"\n\n")[0].decode(errors="replace")
    ldd = subprocess.run(["ldd", nsrun.binary], capture_output=True, text=True).stdout
    shared = re.search(r"libseccomp\.so\S* => (\S+)", ldd)
    libseccomp = shared.group(1) if shared else nsrun.binary

    def build_id(path):
        notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
        return re.search(r"Build ID: ([0-9a-f]+)", notes).group(1)

    assert re.search(rf"^nsrun \S+ build {build_id(nsrun.binary)}$", ids, re.M), ids
    assert re.search(rf"^libseccomp \S+ build {build_id(libseccomp)}$", ids, re.M), ids
    assert re.search(rf"^kernel {re.escape(os.uname().release)} ", ids, re.M), ids


@pytest.mark.parametrize("where", ["xdg", "relative-xdg", "no-home", "relative-home"])
def test_where_the_cache_is(home, cwd_script, where):
    """$XDG_CACHE_HOME/nsrun when absolute, else $HOME/.cache/nsrun when
    absolute, else no cache at all (and nothing written anywhere)."""
    xdg = home.tmp / "xdg"
    home.env["XDG_CACHE_HOME"] = {"xdg": str(xdg)}.get(where, "relative")
    if where == "no-home":
        del home.env["HOME"]
    elif where == "relative-home":
        home.env["HOME"] = "relative"
    before = sorted(p.name for p in home.tmp.iterdir())
    result = subprocess.run(home.command(cwd_script), env=home.env, cwd=home.tmp,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    if where == "xdg":
        assert len(os.listdir(xdg / "nsrun")) == 1
    elif where == "relative-xdg":
        assert len(home.entries()) == 1
    else:
        assert sorted(p.name for p in home.tmp.iterdir()) == before
        assert home.entries() == [] and not (home.tmp / "relative").exists()


def test_a_warm_run_makes_no_libseccomp_call(home, cwd_script):
    cold = home.run(cwd_script, trace=True)
    assert cold.returncode == 0 and cold.stdout == ALLOWED, cold.stderr
    assert_compiled(cold)   # what this test looks for is there when nsrun compiles
    warm = home.run(cwd_script, trace=True)
    assert warm.returncode == 0 and warm.stdout == ALLOWED, warm.stderr
    assert_served_from_cache(warm)
    assert installed_length(warm) == installed_length(cold)
    assert len(home.entries()) == 1


def test_no_policy_cache_compiles_and_writes_nothing(home, cwd_script):
    result = home.run(cwd_script, options=["--no-policy-cache"], trace=True)
    assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    assert_compiled(result)
    assert not (home.path / ".cache").exists()
    assert home.run(cwd_script).returncode == 0   # warm now
    entry = home.entry()
    before = entry.stat()
    result = home.run(cwd_script, options=["--no-policy-cache"], trace=True)
    assert result.returncode == 0 and result.stdout == ALLOWED
    assert_compiled(result)
    after = entry.stat()
    assert home.entries() == [entry.name]
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_check_policy_always_compiles_and_never_touches_the_cache(home, nsrun):
    assert home.run(nsrun.script("pass")).returncode == 0
    before = home.entries()
    log = home.tmp / "check.log"
    result = subprocess.run([*STRACE, "-o", str(log), "-e",
                             "trace=memfd_create,openat,open,mkdir,mkdirat",
                             nsrun.binary, "--check-policy", str(SHIPPED)],
                            env=home.traced_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    trace = log.read_text()
    assert 'memfd_create("nsrun-seccomp"' in trace
    assert str(home.cache) not in trace and str(home.path / ".cache") not in trace
    assert home.entries() == before


def test_an_edited_policy_is_never_served_the_old_program(home, cwd_script):
    policy = home.tmp / "policy.json"
    shutil.copyfile(SHIPPED, policy)
    options = ["--seccomp-policy", str(policy)]
    assert home.run(cwd_script, options).stdout == ALLOWED
    warm = home.run(cwd_script, options, trace=True)
    assert warm.stdout == ALLOWED
    assert_served_from_cache(warm)

    deny_getcwd(policy)
    edited = home.run(cwd_script, options, trace=True)
    assert edited.returncode == 0 and edited.stdout == REFUSED, edited.stderr
    assert_compiled(edited)
    assert len(home.entries()) == 2
    again = home.run(cwd_script, options, trace=True)
    assert again.stdout == REFUSED
    assert_served_from_cache(again)

    shutil.copyfile(SHIPPED, policy)   # and back: the first entry serves again
    back = home.run(cwd_script, options, trace=True)
    assert back.stdout == ALLOWED
    assert_served_from_cache(back)


def write_entry(path, data):
    """Rewrite a cache file in place, keeping it the owner's and 0600."""
    path.write_bytes(data)
    path.chmod(0o600)


def tamper_mode(entry, other):
    entry.chmod(0o666)


def tamper_garbage(entry, other):
    write_entry(entry, os.urandom(entry.stat().st_size))


def tamper_program_byte(entry, other):
    data = bytearray(entry.read_bytes())
    data[-3] ^= 0x01   # in the program's last instruction (its k: the action's errno)
    write_entry(entry, bytes(data))


def tamper_other_policys_file(entry, other):
    """The entry of the other policy (the one allowing getcwd) under this
    policy's name: intact and ours, but not this policy's."""
    write_entry(entry, other.read_bytes())


def tamper_truncated(entry, other):
    write_entry(entry, entry.read_bytes()[:-8])


@pytest.mark.parametrize("tamper", [tamper_mode, tamper_garbage, tamper_program_byte,
                                    tamper_other_policys_file, tamper_truncated])
def test_a_tampered_cache_file_is_ignored_and_replaced(home, cwd_script, tamper):
    """The policy that refuses getcwd gets a damaged or foreign entry: the run
    compiles, the script still sees EPERM, and the entry is made good again."""
    policy = home.tmp / "policy.json"
    shutil.copyfile(SHIPPED, policy)
    options = ["--seccomp-policy", str(policy)]
    assert home.run(cwd_script, options).stdout == ALLOWED
    allowing = home.entry()
    deny_getcwd(policy)
    assert home.run(cwd_script, options).stdout == REFUSED
    (refusing,) = set(home.cache.iterdir()) - {allowing}
    good = refusing.read_bytes()

    tamper(refusing, allowing)
    result = home.run(cwd_script, options, trace=True)
    assert result.returncode == 0 and result.stdout == REFUSED, result.stderr
    assert_compiled(result)
    assert refusing.read_bytes() == good and refusing.stat().st_mode & 0o777 == 0o600
    assert home.run(cwd_script, options).stdout == REFUSED


@pytest.mark.parametrize("case", ["dir-0777", "dir-other-uid", "file-other-uid",
                                  "dir-symlink", "file-symlink"])
def test_an_untrusted_cache_is_ignored_and_left_alone(home, cwd_script, case):
    if "other-uid" in case:
        need_root()
    assert home.run(cwd_script).returncode == 0
    entry = home.entry()
    if case == "dir-0777":
        home.cache.chmod(0o777)
    elif case == "dir-other-uid":
        os.chown(home.cache, 65534, 65534)
    elif case == "file-other-uid":
        os.chown(entry, 65534, 65534)
    elif case == "dir-symlink":
        real = home.tmp / "real-cache"
        home.cache.rename(real)
        home.cache.symlink_to(real)
    else:
        real = home.tmp / "real.bpf"
        entry.rename(real)
        entry.symlink_to(real)
    snapshot = {p.name: (p.lstat().st_mode, p.lstat().st_uid, p.lstat().st_mtime_ns)
                for p in [home.cache, *home.cache.iterdir()]}
    result = home.run(cwd_script, trace=True)
    assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    assert_compiled(result)
    assert snapshot == {p.name: (p.lstat().st_mode, p.lstat().st_uid, p.lstat().st_mtime_ns)
                        for p in [home.cache, *home.cache.iterdir()]}


def test_no_cache_is_made_in_another_users_home(home, cwd_script):
    """root with HOME still a user's (sudo) leaves no root-owned cache there."""
    need_root()
    os.chown(home.path, 65534, 65534)
    result = home.run(cwd_script)
    assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    assert os.listdir(home.path) == []


def test_no_cache_is_made_where_another_users_link_points(home, cwd_script):
    """root with HOME still a user's whose ~/.cache is a link to a directory
    of root's (/etc, say): every step to the cache must be root's, so nothing
    is made there, and the run compiles."""
    need_root()
    target = home.tmp / "roots-dir"
    target.mkdir()
    (home.path / ".cache").symlink_to(target)
    os.lchown(home.path / ".cache", 65534, 65534)
    result = home.run(cwd_script, trace=True)
    assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    assert_compiled(result)
    assert os.listdir(target) == []


def test_a_directory_of_roots_in_another_users_home_is_not_used(home, cwd_script):
    """A directory root left in a user's home (by sudo pip, say) that the user
    renames to ~/.cache/nsrun is root's, but the way to it is the user's."""
    need_root()
    assert home.run(cwd_script).returncode == 0   # root's cache, root's HOME for now
    before = home.entries()
    os.chown(home.path / ".cache", 65534, 65534)
    result = home.run(cwd_script, trace=True)
    assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    assert_compiled(result)
    os.chown(home.path, 65534, 65534)
    assert home.run(cwd_script).returncode == 0
    assert home.entries() == before


def fnv1a(data):
    h = 0xcbf29ce484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_a_program_the_kernel_refuses_fails_with_a_hint_to_the_cache(home, cwd_script):
    """Only the owner can put a well-formed file with a program the kernel
    refuses in the cache: the run fails as nsrun's (125, setup_error), not as
    the script's, and says where the program came from."""
    assert home.run(cwd_script).returncode == 0
    entry = home.entry()
    data = bytearray(entry.read_bytes())
    prog_len = int.from_bytes(data[24:28], "little")
    start = len(data) - 8 * prog_len
    data[start:start + 2] = (0xFFFF).to_bytes(2, "little")   # no such BPF opcode
    data[32:40] = fnv1a(bytes(data[start:])).to_bytes(8, "little")
    write_entry(entry, bytes(data))
    result = home.run(cwd_script, ["--json"])
    doc = json.loads(result.stdout)
    assert result.returncode == 125 and doc["status"] == "setup_error", doc
    assert doc["error"]["message"].startswith("seccomp: installing the filter failed"), doc
    assert str(home.cache) in doc["error"]["hint"], doc
    shutil.rmtree(home.cache)   # as the hint says
    assert home.run(cwd_script).stdout == ALLOWED


@pytest.mark.parametrize("fixture", ["syntax.json", "allowlist-ioctl-unconditional.json",
                                     "sc-unknown-syscall.json"])
def test_a_broken_policy_fails_the_same_with_or_without_a_cache(home, nsrun, fixture):
    script = nsrun.script('print("ran")')
    policy = home.tmp / fixture
    shutil.copyfile(FIXTURES / fixture, policy)
    options = ["--seccomp-policy", str(policy)]
    uncached = home.run(script, ["--no-policy-cache", *options])
    assert uncached.returncode == 125 and uncached.stdout == ""
    assert uncached.stderr.startswith(f"nsrun: {policy}:"), uncached.stderr
    assert not (home.path / ".cache").exists()
    for _ in range(2):   # a fresh cache, then one that other policies filled
        result = home.run(script, options)
        assert (result.returncode, result.stdout, result.stderr) == (125, "", uncached.stderr)
        assert home.run(script).returncode == 0
    assert len(home.entries()) == 1   # the shipped policy's; never the broken one's
    docs = [home.run(script, ["--json", *extra, *options]) for extra in ([], ["--no-policy-cache"])]
    errors = [json.loads(doc.stdout)["error"] for doc in docs]
    assert errors[0]["kind"] == "policy" and errors[0] == errors[1]


def test_concurrent_first_runs_store_one_whole_file(home, cwd_script):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: home.run(cwd_script), range(8)))
    for result in results:
        assert result.returncode == 0 and result.stdout == ALLOWED, result.stderr
    assert len(home.entries()) == 1   # and no temp file left
    warm = home.run(cwd_script, trace=True)
    assert_served_from_cache(warm)
