"""Adversarial: nested namespaces, directly (unshare, clone, clone3, setns)
and through the other syscall ABIs of x86_64 (int $0x80 for i386, and x32).

Safe outcome: every namespace request is refused (EPERM; ENOSYS for
clone3, so glibc falls back to the filtered clone), and a process that
enters the kernel through a foreign ABI is killed by SIGSYS (exit 159)
before the call runs.  Where the policy is what decides, the docker
backend, which gets the same policy file, is checked too.
"""
import platform
import subprocess
import sys

import pytest

from adversarial_helpers import adv, adv_backend  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64",
                                reason="the syscall numbers and machine code are x86_64's")

NAMESPACE_FLAGS = '''
FLAGS = {"NEWNS": 0x00020000, "NEWCGROUP": 0x02000000, "NEWUTS": 0x04000000,
         "NEWIPC": 0x08000000, "NEWUSER": 0x10000000, "NEWPID": 0x20000000,
         "NEWNET": 0x40000000}
SIGCHLD, SYS_CLONE, SYS_UNSHARE, SYS_SETNS, SYS_CLONE3 = 17, 56, 272, 308, 435
'''

# Machine code run through ctypes: push rbx; mov eax, NR; mov ebx, ARG;
# int $0x80; pop rbx; ret.  The i386 numbers: unshare 310, getpid 20.
INT80 = NAMESPACE_FLAGS + '''
import mmap
def int80(nr, arg):
    code = bytes([0x53, 0xb8]) + nr.to_bytes(4, "little") + bytes([0xbb]) + \\
           arg.to_bytes(4, "little") + bytes([0xcd, 0x80, 0x5b, 0xc3])
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    fn = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
    print("calling", flush=True)
    result = fn()
    print("returned", result, flush=True)
'''

X32_SYSCALL_BIT = 0x40000000


def ia32_emulation_works():
    """Does int $0x80 getpid work on this kernel at all (outside any filter)?"""
    code = INT80.replace("import mmap", "import ctypes, mmap") + "\nint80(20, 0)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    return result.returncode == 0 and "returned" in result.stdout


def test_unshare_is_refused_for_every_namespace_and_without_flags(adv_backend):
    result = adv_backend.run('''
        import json
        flags = dict(FLAGS, NEWTIME=0x80, NONE=0, FILES=0x400, FS=0x200,
                     NEWUSER_HIGH_BITS=FLAGS["NEWUSER"] | (1 << 32))
        print(json.dumps({n: name(sys_call(SYS_UNSHARE, f)) for n, f in flags.items()}))
    ''', prelude=NAMESPACE_FLAGS)
    assert result.returncode == 0, result.stderr
    assert set(result.json_line().values()) == {"EPERM"}, result.json_line()


def test_clone_with_any_namespace_flag_is_refused(adv_backend):
    result = adv_backend.run('''
        import json
        out = {}
        for n, flag in FLAGS.items():
            for variant, extra in (("", 0), ("+high", 1 << 32), ("+files", 0x00000600)):
                r = sys_call(SYS_CLONE, flag | extra | SIGCHLD, 0, 0, 0, 0)
                if r == 0:
                    os._exit(0)         # a child in a new namespace: the test fails below
                if r > 0:
                    os.waitpid(r, 0)
                out[n + variant] = name(r)
        plain = sys_call(SYS_CLONE, SIGCHLD, 0, 0, 0, 0)
        if plain == 0:
            os._exit(0)
        os.waitpid(plain, 0)
        out["plain fork"] = "OK" if plain > 0 else name(plain)
        print(json.dumps(out))
    ''', prelude=NAMESPACE_FLAGS)
    assert result.returncode == 0, result.stderr
    outcome = result.json_line()
    assert outcome.pop("plain fork") == "OK"
    assert set(outcome.values()) == {"EPERM"}, outcome


def test_clone3_answers_enosys_whatever_it_asks_for(adv_backend):
    result = adv_backend.run('''
        import json
        class CloneArgs(ctypes.Structure):
            _fields_ = [(f, ctypes.c_uint64) for f in ("flags", "pidfd", "child_tid",
                        "parent_tid", "exit_signal", "stack", "stack_size", "tls")]
        out = {}
        for n, flag in dict(FLAGS, NEWTIME=0x80, PLAIN=0).items():
            args = CloneArgs(flags=flag, exit_signal=SIGCHLD)
            r = sys_call(SYS_CLONE3, ctypes.addressof(args), ctypes.sizeof(args))
            if r == 0:
                os._exit(0)
            out[n] = name(r)
        print(json.dumps(out))
    ''', prelude=NAMESPACE_FLAGS)
    assert result.returncode == 0, result.stderr
    assert set(result.json_line().values()) == {"ENOSYS"}, result.json_line()


def test_setns_into_any_namespace_is_refused(adv):
    result = adv.run('''
        import json, subprocess
        out = {}
        for ns in sorted(os.listdir("/proc/self/ns")):
            fd = os.open(f"/proc/self/ns/{ns}", os.O_RDONLY)
            out[ns] = name(sys_call(SYS_SETNS, fd, 0))
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", MARKER])
        pidfd = os.pidfd_open(child.pid)
        out["pidfd"] = name(sys_call(SYS_SETNS, pidfd, FLAGS["NEWNET"] | FLAGS["NEWNS"]))
        child.kill()
        # init's namespaces (the ones nsrun set up from) cannot even be named
        out["init ns"] = "visible" if os.path.exists("/proc/1/ns") else "invisible"
        print(json.dumps(out))
    ''', prelude=NAMESPACE_FLAGS)
    assert result.returncode == 0, result.stderr
    outcome = result.json_line()
    assert outcome.pop("init ns") == "invisible"
    assert {"net", "mnt", "user", "pid"} <= set(outcome)
    assert set(outcome.values()) == {"EPERM"}, outcome


@pytest.mark.parametrize("call", ["unshare(CLONE_NEWUSER)", "getpid"])
def test_i386_entry_kills_the_process_before_the_call(adv_backend, call):
    if not ia32_emulation_works():
        pytest.skip("this kernel has no IA32 emulation: int $0x80 faults anyway")
    nr, arg = (310, 0x10000000) if call.startswith("unshare") else (20, 0)
    result = adv_backend.run(f"int80({nr}, {arg})\n", prelude=INT80)
    assert result.returncode == 128 + 31, (result.returncode, result.stderr)   # SIGSYS
    assert "calling" in result.stdout and "returned" not in result.stdout


def test_i386_entry_in_a_child_kills_only_the_child(adv):
    if not ia32_emulation_works():
        pytest.skip("this kernel has no IA32 emulation: int $0x80 faults anyway")
    result = adv.run('''
        pid = os.fork()
        if pid == 0:
            int80(310, FLAGS["NEWUSER"])
            os._exit(0)
        status = os.waitpid(pid, 0)[1]
        print("child signal", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
    ''', prelude=INT80)
    assert result.returncode == 0, result.stderr
    assert "child signal 31" in result.stdout


@pytest.mark.parametrize("call", ["unshare", "getpid"])
def test_x32_entry_kills_the_process_before_the_call(adv_backend, call):
    nr = 272 if call == "unshare" else 39
    result = adv_backend.run(f'''
        print("calling", flush=True)
        r = sys_call({X32_SYSCALL_BIT} | {nr}, FLAGS["NEWUSER"])
        print("returned", r, flush=True)
    ''', prelude=NAMESPACE_FLAGS)
    assert result.returncode == 128 + 31, (result.returncode, result.stderr)
    assert "calling" in result.stdout and "returned" not in result.stdout
