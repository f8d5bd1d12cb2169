"""Adversarial: privilege through files (setuid binaries, file
capabilities, device nodes), changing the root, the hostname, and file
descriptors leaked from the caller.

Safe outcome: there is nothing setuid or file-capable in the sandbox and
every mount is nosuid, so no_new_privs has nothing to stop but stays set
for every process; device nodes cannot be made; the root, its files and
the hostname cannot be changed, and the host's copies are untouched; and
no descriptor of the caller's (a directory, a socket, a high number, the
result fd, nsrun's own stdin) reaches the script.
"""
import os
import pathlib
import socket

from adversarial_helpers import adv  # noqa: F401 (fixture)


def test_no_setuid_setgid_or_file_capability_anywhere(adv):
    result = adv.run('''
        import json, stat
        special, capable, scanned = [], [], 0
        for root, dirs, files in os.walk("/"):
            if root == "/":
                dirs[:] = [d for d in dirs if d != "proc"]
            for f in files:
                path = os.path.join(root, f)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                scanned += 1
                if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                    special.append(path)
                if stat.S_ISREG(st.st_mode):
                    try:
                        os.getxattr(path, "security.capability", follow_symlinks=False)
                        capable.append(path)
                    except OSError:
                        pass
        # binds of single device nodes (devtmpfs) cannot hold a program
        mounts = [(l.split()[4], l.split()[5], l.split(" - ")[1].split()[0])
                  for l in open("/proc/self/mountinfo")]
        print(json.dumps({"special": special, "capable": capable, "scanned": scanned,
                          "not_nosuid": [m for m in mounts if "nosuid" not in m[1].split(",")
                                         and m[2] != "devtmpfs"]}))
    ''', timeout=120)
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert seen["scanned"] > 1000
    assert seen["special"] == [] and seen["capable"] == []
    assert seen["not_nosuid"] == []


def test_no_new_privs_holds_in_every_process_and_cannot_be_cleared(adv):
    result = adv.run('''
        import subprocess
        def nnp():
            return [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0]
        child = subprocess.run([sys.executable, "-c",
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0])"],
            capture_output=True, text=True).stdout.strip()
        PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
        print(nnp(), child, name(sys_call(157, PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0)),
              name(sys_call(157, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)))
    ''')
    assert result.returncode == 0, result.stderr
    # prctl is not on the allowlist at all
    assert result.stdout.split() == ["1", "1", "EPERM", "EPERM"]


def test_a_setuid_copy_made_in_tmp_gains_nothing(adv):
    result = adv.run('''
        import shutil, stat, subprocess
        shutil.copy("/usr/bin/python3", "/tmp/py")
        os.chmod("/tmp/py", 0o6755)
        mode = os.stat("/tmp/py").st_mode
        ids = subprocess.run(["/tmp/py", "-c", "import os; print(os.geteuid(), os.getegid())"],
                             capture_output=True, text=True)
        print(oct(mode & 0o7777), ids.stdout.strip() or ids.stderr.strip().splitlines()[-1])
        try:
            os.chown("/tmp/py", 0, 0)
            print("chown root: OK")
        except OSError as e:
            print("chown root:", errno.errorcode[e.errno])
    ''', options=["--tmpfs", "/tmp:64M"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[1:] in (["1000", "1000"], ["PermissionError:", "[Errno"]) or \
        "1000 1000" in lines[0], lines
    assert lines[1] in ("chown root: EINVAL", "chown root: EPERM")


def test_device_nodes_cannot_be_created_anywhere(adv):
    result = adv.run('''
        import json, stat
        out = {}
        for path in ("/tmp/null", "/dev/shm/null", "/dev/newnull", "/app/null", "/null"):
            for kind, mode, dev in (("chr", stat.S_IFCHR, os.makedev(1, 3)),
                                    ("blk", stat.S_IFBLK, os.makedev(7, 0)),
                                    ("chr 0:0 (whiteout)", stat.S_IFCHR, 0)):
                try:
                    os.mknod(path, mode | 0o666, dev)
                    out[f"{kind} {path}"] = "CREATED"
                except OSError as e:
                    out[f"{kind} {path}"] = errno.errorcode[e.errno]
        print(json.dumps(out))
    ''', options=["--tmpfs", "/tmp:16M"])
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert "CREATED" not in seen.values(), seen
    # the filter answers first wherever the path would allow it
    assert seen["chr /tmp/null"] == seen["blk /dev/shm/null"] == "EPERM", seen


def test_mknod_filter_sees_through_mode_bits_and_keeps_harmless_nodes(adv):
    result = adv.run('''
        import json, stat
        out = {}
        path = ctypes.create_string_buffer(b"/tmp/node")
        for what, mode in (("chr + bit 16", 0x10000 | stat.S_IFCHR),    # dropped by the kernel
                           ("blk + high bits", (1 << 40) | stat.S_IFBLK),
                           ("fifo", stat.S_IFIFO), ("socket", stat.S_IFSOCK),
                           ("regular", stat.S_IFREG), ("type 0", 0)):
            out[what] = name(sys_call(259, -100, ctypes.addressof(path), mode | 0o600,
                                      os.makedev(1, 3) if "chr" in what or "blk" in what else 0))
            if os.path.lexists("/tmp/node"):
                os.unlink("/tmp/node")
        print(json.dumps(out))
    ''', options=["--tmpfs", "/tmp:16M"])
    assert result.returncode == 0, result.stderr
    assert result.json_line() == {"chr + bit 16": "EPERM", "blk + high bits": "EPERM", "fifo": "OK",
                                  "socket": "OK", "regular": "OK", "type 0": "OK"}


def test_the_root_and_its_files_cannot_be_changed(adv):
    host_root = pathlib.Path(adv.rootfs)
    watched = [host_root, host_root / "usr/bin/python3.11", host_root / "etc/passwd",
               host_root / "tmp"]
    before = [(p.stat().st_mode, p.stat().st_uid, p.stat().st_mtime_ns) for p in watched]
    result = adv.run('''
        import json
        out = {}
        def attempt(what, fn):
            try:
                fn()
                out[what] = "CHANGED"
            except OSError as e:
                out[what] = errno.errorcode[e.errno]
        for path in ("/", "/usr/bin/python3.11", "/etc/passwd", "/tmp", "/app", "/dev", "/proc"):
            attempt(f"chmod {path}", lambda: os.chmod(path, 0o777))
            attempt(f"chown {path}", lambda: os.chown(path, os.getuid(), os.getgid()))
            attempt(f"chown root {path}", lambda: os.chown(path, 0, 0))
            attempt(f"utime {path}", lambda: os.utime(path, (0, 0)))
        attempt("lchown /bin", lambda: os.lchown("/bin", os.getuid(), os.getgid()))
        attempt("rename /etc", lambda: os.rename("/etc", "/etc2"))
        attempt("rmdir /tmp", lambda: os.rmdir("/tmp"))
        attempt("symlink in /", lambda: os.symlink("/", "/escape"))
        attempt("setxattr /", lambda: os.setxattr("/", "user.x", b"1"))
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert "CHANGED" not in seen.values(), {k: v for k, v in seen.items() if v == "CHANGED"}
    assert set(seen.values()) <= {"EROFS", "EPERM", "EACCES", "EINVAL", "EBUSY", "ENOTSUP"}, seen
    assert [(p.stat().st_mode, p.stat().st_uid, p.stat().st_mtime_ns) for p in watched] == before


def test_hostname_cannot_be_changed(adv):
    host_name = socket.gethostname()
    result = adv.run('''
        import json, socket
        out = {}
        for what, fn in (("socket.sethostname", lambda: socket.sethostname("evil")),
                         ("proc hostname", lambda: open("/proc/sys/kernel/hostname", "w").write("evil")),
                         ("proc domainname", lambda: open("/proc/sys/kernel/domainname", "w").write("evil"))):
            try:
                fn()
                out[what] = "CHANGED"
            except OSError as e:
                out[what] = errno.errorcode[e.errno]
        evil = ctypes.create_string_buffer(b"evil")
        out["sethostname"] = name(sys_call(170, ctypes.addressof(evil), 4))
        out["setdomainname"] = name(sys_call(171, ctypes.addressof(evil), 4))
        out["uname"] = os.uname().nodename
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert seen.pop("uname") == "nsrun"
    assert set(seen.values()) <= {"EPERM", "EROFS"}, seen
    assert socket.gethostname() == host_name


FD_SCAN = '''
import json, stat
def describe(fd):
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "sock" if stat.S_ISSOCK(st.st_mode) else \\
           "fifo" if stat.S_ISFIFO(st.st_mode) else "reg" if stat.S_ISREG(st.st_mode) else "other"
    return [kind, st.st_dev, st.st_ino]
open_fds = {fd: describe(fd) for fd in range(0, 4096) if describe(fd)}
'''


def host_identity(fd):
    st = os.fstat(fd)
    return [st.st_dev, st.st_ino]


def test_caller_directory_socket_and_high_fds_do_not_leak(adv, tmp_path):
    # The runc CVE-2024-21626 class: an inherited directory fd is a way out
    # of the root (fchdir, /proc/self/fd/N/..).
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    high_fd = os.dup2(dir_fd, 1000)
    leaked = [dir_fd, server.fileno(), high_fd]
    for fd in leaked:
        os.set_inheritable(fd, True)
    try:
        result = adv.run('''
            escapes = {}
            for fd in range(3, 1024 + 1):
                try:
                    os.fchdir(fd)
                    escapes[fd] = os.listdir(".")
                except OSError:
                    pass
            print(json.dumps({"fds": open_fds, "escapes": escapes}))
        ''', prelude=FD_SCAN, pass_fds=leaked)
        identities = [host_identity(fd) for fd in leaked]
    finally:
        for fd in (dir_fd, high_fd):
            os.close(fd)
        server.close()
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert seen["escapes"] == {}
    assert sorted(seen["fds"]) == ["0", "1", "2"], seen["fds"]
    assert not [d for d in seen["fds"].values() if d[1:] in identities]


def test_stdin_from_a_host_file_is_a_pipe_not_the_file(adv, tmp_path):
    secret = tmp_path / "stdin.txt"
    secret.write_text("first line\nsecond line\n")
    with open(secret, "rb") as stdin:
        result = adv.run('''
            import stat
            st = os.fstat(0)
            try:
                reopened = open("/proc/self/fd/0", "rb").read()
            except OSError as e:
                reopened = errno.errorcode[e.errno]
            try:
                os.lseek(0, 0, os.SEEK_SET)
                seek = "SEEKED"
            except OSError as e:
                seek = errno.errorcode[e.errno]
            print(json.dumps({"regular": stat.S_ISREG(st.st_mode), "reopened": str(reopened)[:80],
                              "link": os.readlink("/proc/self/fd/0"), "seek": seek,
                              "data": sys.stdin.read()}))
        ''', prelude=FD_SCAN, stdin=stdin)
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    # relayed through a socket: the host file itself is out of reach
    assert seen["regular"] is False and seen["link"].startswith(("socket:", "pipe:"))
    assert seen["seek"] == "ESPIPE" and seen["reopened"] in ("ENXIO", "EACCES")
    assert seen["data"] == "first line\nsecond line\n"
    assert str(secret) not in result.stdout


STDIN_REPORT = '''
data = sys.stdin.buffer.read() if sys.stdin else b""
print(json.dumps({"fds": open_fds, "stdin": data.decode(errors="replace")[:200]}))
'''


def test_result_fd_is_not_handed_to_the_script(adv, tmp_path):
    result_file = tmp_path / "result.json"
    fd = os.open(result_file, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        result = adv.run(STDIN_REPORT, prelude=FD_SCAN, options=["--result-fd", str(fd)],
                         pass_fds=(fd,))
        result_identity = host_identity(fd)
    finally:
        os.close(fd)
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert sorted(seen["fds"]) == ["0", "1", "2"], seen["fds"]
    assert not [d for d in seen["fds"].values() if d[1:] == result_identity]
    assert '"status"' in result_file.read_text()   # nsrun itself still got its fd


def test_nsrun_started_with_stdin_closed_hands_the_script_nothing_of_its_own(adv):
    # With fd 0 closed, the first descriptor nsrun opens for itself lands on
    # 0 and is what the caller "gave" as stdin.  Today nsrun refuses to run
    # ("relay stdin: File exists", exit 125: its signalfd took fd 0), which
    # fails closed; if it runs, the script must see an empty stdin and no
    # descriptor of nsrun's.
    result = adv.run(STDIN_REPORT, prelude=FD_SCAN, stdin=None, preexec_fn=lambda: os.close(0))
    if result.returncode == 125:
        assert result.stdout == "" and "stdin" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert sorted(seen["fds"]) in (["0", "1", "2"], ["1", "2"]), seen["fds"]
    assert seen["stdin"] == ""


def test_every_inheritable_fd_of_a_careless_caller_is_closed(adv, tmp_path):
    # A caller that forgets close_fds (as os.system users do): every
    # inheritable descriptor it holds reaches nsrun, none may reach the script.
    fds = [os.open("/etc/hostname", os.O_RDONLY), os.open(tmp_path, os.O_RDONLY),
           os.open("/etc/passwd", os.O_RDONLY)]
    fds.append(os.dup2(fds[2], 200))
    for fd in fds:
        os.set_inheritable(fd, True)
    try:
        result = adv.run("print(json.dumps(sorted(open_fds)))", prelude=FD_SCAN, close_fds=False)
    finally:
        for fd in fds:
            os.close(fd)
    assert result.returncode == 0, result.stderr
    assert result.json_line() == [0, 1, 2]
