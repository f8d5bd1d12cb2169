"""Adversarial: every syscall family the policy denies, called from Python
through ctypes, with arguments the kernel alone would often accept.

Safe outcome: each call fails with EPERM (the policy's default and its
explicit denials).  A few calls that must keep working sit beside them, so
a family passing is not a sign of a broken interpreter; and one run under a
permissive policy shows that the kernel alone would have let the ptrace,
keyring and process_vm calls through, so the refusals really are the
filter's.  Each family also runs under the docker backend, which is handed
the same policy file.
"""
import json
import platform
import textwrap

import pytest

from adversarial_helpers import adv, adv_backend  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64",
                                reason="the syscall numbers are x86_64's")

CALLS = '''
import json, socket, subprocess
out, works = {}, {}
def check(what, nr, *args):
    """A call the policy must refuse: its errno name lands in out."""
    out[what] = name(sys_call(nr, *args))
def control(what, ok):
    """A call beside them that must keep working."""
    works[what] = bool(ok)
KEEP = []   # the buffers below must outlive the calls that get their addresses
def buf(size=256):
    KEEP.append(ctypes.create_string_buffer(size))
    return ctypes.addressof(KEEP[-1])
def cstr(text):
    KEEP.append(ctypes.create_string_buffer(text.encode()))
    return ctypes.addressof(KEEP[-1])
def child():
    """A sleeping child of the script, to aim ptrace and friends at."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", MARKER])
'''

FAMILIES = {
    "mount": '''
        check("mount tmpfs", 165, cstr("none"), cstr("/tmp"), cstr("tmpfs"), 0, 0)
        check("mount bind", 165, cstr("/"), cstr("/tmp"), 0, 0x1000, 0)
        check("umount2", 166, cstr("/proc"), 2)
        check("pivot_root", 155, cstr("/tmp"), cstr("/tmp"))
        check("chroot", 161, cstr("/tmp"))
        check("fsopen", 430, cstr("tmpfs"), 0)
        check("fspick", 433, -100, cstr("/"), 0)
        check("open_tree", 428, -100, cstr("/"), 0)
        check("open_tree clone", 428, -100, cstr("/"), 1)
        check("move_mount", 429, -1, cstr(""), -100, cstr("/tmp"), 4)
        check("fsconfig", 431, -1, 0, 0, 0, 0)
        check("fsmount", 432, -1, 0, 0)
        check("mount_setattr", 442, -100, cstr("/"), 0, 0, 0)
    ''',
    "keyring": '''
        check("add_key", 248, cstr("user"), cstr("nsrun"), cstr("x"), 1, -2)
        check("request_key", 249, cstr("user"), cstr("nsrun"), 0, 0)
        check("keyctl get id", 250, 0, -2, 1)
        check("keyctl join session", 250, 1, 0)
    ''',
    "kernel attack surface": '''
        attr = (ctypes.c_uint32 * 32)()
        attr[0], attr[1], attr[2] = 1, 128, 1          # software task-clock, sizeof
        ctypes.c_uint64.from_buffer(attr, 40).value = 0b1100000   # exclude_kernel|hv
        check("perf_event_open", 298, ctypes.addressof(attr), 0, -1, -1, 0)
        check("bpf map create", 321, 0, buf(), 72)
        check("bpf prog load", 321, 5, buf(), 128)
        check("userfaultfd user mode", 323, 1)
        check("userfaultfd", 323, 0)
    ''',
    "io_uring": '''
        check("io_uring_setup", 425, 1, buf(120))
        check("io_uring_enter", 426, 0, 1, 0, 0, 0, 0)
        check("io_uring_register", 427, 0, 0, 0, 0)
    ''',
    "ptrace and cross-process access": '''
        c = child()
        src = ctypes.create_string_buffer(b"secret")
        dst = ctypes.create_string_buffer(8)
        local = (ctypes.c_void_p * 2)(ctypes.addressof(dst), 8)
        remote = (ctypes.c_void_p * 2)(ctypes.addressof(src), 6)
        check("ptrace traceme", 101, 0, 0, 0, 0)
        check("ptrace attach child", 101, 16, c.pid, 0, 0)
        check("ptrace seize child", 101, 0x4206, c.pid, 0, 0)
        check("ptrace attach init", 101, 16, 1, 0, 0)
        check("process_vm_readv self", 310, os.getpid(), ctypes.addressof(local), 1,
              ctypes.addressof(remote), 1, 0)
        check("process_vm_writev child", 311, c.pid, ctypes.addressof(local), 1,
              ctypes.addressof(remote), 1, 0)
        pidfd = os.pidfd_open(c.pid)
        check("pidfd_getfd", 438, pidfd, 0, 0)
        check("process_madvise", 440, pidfd, ctypes.addressof(local), 1, 8, 0)
        check("kcmp", 312, os.getpid(), c.pid, 0, 0, 0)
        if os.getpid() != 1:   # under docker the script itself is pid 1
            control("/proc/1/mem is out of reach", not os.path.exists("/proc/1/mem"))
        control("pidfd_send_signal to the child", os.kill(c.pid, 0) is None)
        c.kill()
    ''',
    "kexec and modules": '''
        check("kexec_load", 246, 0, 0, 0, 0xffffffff)
        check("kexec_file_load", 320, -1, -1, 0, 0, 0xffffffff)
        check("init_module", 175, 0, 0, cstr(""))
        check("finit_module", 313, 0, cstr(""), 0)
        check("delete_module", 176, cstr("nsrun_none"), 0o4000)
    ''',
    "file handles": '''
        handle = ctypes.create_string_buffer(136)
        ctypes.c_uint32.from_buffer(handle).value = 128
        mount_id = ctypes.c_int()
        check("name_to_handle_at", 303, -100, cstr("/etc/passwd"), ctypes.addressof(handle),
              ctypes.addressof(mount_id), 0)
        check("open_by_handle_at", 304, os.open("/", os.O_RDONLY), ctypes.addressof(handle), 0)
    ''',
    "personality": '''
        for persona, value in (("ADDR_NO_RANDOMIZE", 0x0040000), ("READ_IMPLIES_EXEC", 0x0400000),
                               ("PER_LINUX32", 0x0008), ("PER_BSD", 0x0006),
                               ("high bits + ADDR_NO_RANDOMIZE", (1 << 32) | 0x0040000)):
            check("personality " + persona, 135, value)
        control("personality query", sys_call(135, 0xffffffff) >= 0)
        control("personality PER_LINUX", sys_call(135, 0) >= 0)
    ''',
    "terminal injection": '''
        ch = ctypes.c_char(b"x")
        for fd in (0, 1, 2):
            check(f"TIOCSTI fd {fd}", 16, fd, 0x5412, ctypes.addressof(ch))
            check(f"TIOCLINUX fd {fd}", 16, fd, 0x541C, ctypes.addressof(ch))
        check("TIOCSTI high bits", 16, 0, (1 << 32) | 0x5412, ctypes.addressof(ch))
        check("TIOCSTI sign-extended", 16, 0, -(1 << 32) | 0x5412, ctypes.addressof(ch))
        control("TIOCGWINSZ reaches the kernel", sys_call(16, 0, 0x5413, buf()) == -errno.ENOTTY)
        control("FIONREAD on stdin", sys_call(16, 0, 0x541B, buf()) == 0)
    ''',
    "socket families": '''
        for what, args in (("AF_PACKET raw", (17, 3, 0x300)), ("AF_PACKET dgram", (17, 2, 0)),
                           ("AF_INET SOCK_RAW", (2, 3, 1)), ("AF_INET6 SOCK_RAW", (10, 3, 58)),
                           ("AF_INET SOCK_PACKET", (2, 10, 0x300)),
                           ("AF_INET SOCK_RAW|CLOEXEC", (2, 3 | 0o2000000, 255)),
                           ("AF_VSOCK", (40, 1, 0)), ("AF_ALG", (38, 5, 0)),
                           ("AF_NETLINK audit", (16, 3, 9)), ("AF_NETLINK netfilter", (16, 3, 12)),
                           ("AF_NETLINK generic", (16, 3, 16)), ("AF_NETLINK xfrm", (16, 3, 6)),
                           ("AF_NETLINK uevent", (16, 3, 15)), ("AF_KEY", (15, 3, 2)),
                           ("AF_BLUETOOTH", (31, 3, 0)), ("AF_CAN", (29, 3, 1)),
                           ("AF_XDP", (44, 3, 0)), ("AF_PACKET high bits", ((1 << 32) | 17, 3, 0))):
            check("socket " + what, 41, *args)
        for what, args in (("AF_INET stream", (2, 1, 0)), ("AF_UNIX", (1, 1, 0)),
                           ("AF_NETLINK route", (16, 3, 0))):
            control("socket " + what, sys_call(41, *args) >= 0)
    ''',
    "host administration": '''
        check("sethostname", 170, cstr("evil"), 4)
        check("setdomainname", 171, cstr("evil"), 4)
        check("settimeofday", 164, buf(), 0)
        check("clock_settime", 227, 0, buf())
        timex = (ctypes.c_int64 * 26)()
        timex[0] = 1                                   # ADJ_OFFSET: a change, not a read
        check("adjtimex set", 159, ctypes.addressof(timex))
        check("clock_adjtime", 305, 0, ctypes.addressof(timex))
        check("reboot", 169, 0xfee1dead, 672274793, 0x4321fedc, 0)
        check("swapon", 167, cstr("/dev/null"), 0)
        check("swapoff", 168, cstr("/dev/null"))
        check("acct", 163, cstr("/tmp"))
        check("syslog read", 103, 3, buf(), 256)
        check("iopl", 172, 3)
        check("ioperm", 173, 0x80, 1, 1)
        check("quotactl", 179, 0, 0, 0, 0)
        check("vhangup", 153)
    ''',
    "unlisted and ipc": '''
        check("shmget", 29, 0, 4096, 0o1600)
        check("msgget", 68, 0, 0o1600)
        check("semget", 64, 0, 1, 0o1600)
        check("mq_open", 240, cstr("nsrun"), 0o100 | 2, 0o600, 0)
        check("mlock", 149, buf(), 16)
        check("mlockall", 151, 1)
        check("sched_setscheduler FIFO", 144, 0, 1, buf())
        check("setgroups", 116, 0, 0)
        check("capset", 126, buf(), buf())
        check("seccomp", 317, 0, 0, 0)
        check("inotify_init1", 294, 0)
        check("memfd_secret", 447, 0)
        check("vmsplice", 278, 1, buf(), 1, 0)
        check("landlock", 444, 0, 0, 1)
        check("move_pages", 279, 0, 0, 0, 0, 0, 0)
        check("sync", 162)
    ''',
}


# runc answers ENOSYS, not the profile's default, for syscalls newer than
# any the profile names (so that glibc falls back): refused all the same.
RUNC_NEWER_THAN_PROFILE = {"memfd_secret", "landlock"}


def runc_stub(adversary, call, answer):
    return adversary.backend == "docker" and answer == "ENOSYS" and call in RUNC_NEWER_THAN_PROFILE


@pytest.mark.parametrize("family", FAMILIES)
def test_denied_family(adv_backend, family):
    source = textwrap.dedent(FAMILIES[family]) + "print(json.dumps([out, works]))\n"
    result = adv_backend.run(source, prelude=CALLS, options=["--timeout", "20s"])
    assert result.returncode == 0, result.stderr
    denied, works = result.json_line()
    assert len(denied) >= 2
    not_denied = {call: answer for call, answer in denied.items()
                  if answer != "EPERM" and not runc_stub(adv_backend, call, answer)}
    assert not_denied == {}, f"{family}: not refused by the policy: {not_denied}"
    broken = [call for call, ok in works.items() if not ok]
    assert broken == [], f"{family}: allowed calls that do not work: {broken}"


def test_the_kernel_alone_would_allow_what_the_policy_refuses(adv, tmp_path):
    permissive = tmp_path / "permissive.json"
    permissive.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                      "comment": "as the shipped policy, for glibc's fallback"}]}))
    result = adv.run('''
        check("keyctl get id", 250, 0, -2, 1)
        check("add_key", 248, cstr("user"), cstr("nsrun"), cstr("x"), 1, -2)
        src = ctypes.create_string_buffer(b"secret")
        dst = ctypes.create_string_buffer(8)
        local = (ctypes.c_void_p * 2)(ctypes.addressof(dst), 8)
        remote = (ctypes.c_void_p * 2)(ctypes.addressof(src), 6)
        check("process_vm_readv self", 310, os.getpid(), ctypes.addressof(local), 1,
              ctypes.addressof(remote), 1, 0)
        check("open_tree", 428, -100, cstr("/"), 0)
        check("unshare nothing", 272, 0)
        if os.fork() == 0:
            os._exit(0 if sys_call(101, 0, 0, 0, 0) == 0 else 1)    # PTRACE_TRACEME
        out["ptrace traceme"] = "OK" if os.wait()[1] == 0 else "refused"
        print(json.dumps(out))
    ''', prelude=CALLS, options=["--seccomp-policy", str(permissive)])
    assert result.returncode == 0, result.stderr
    assert set(result.json_line().values()) == {"OK"}, result.json_line()
