"""Adversarial: what /proc (and a /sys that should not exist) leaks of the
host, and attempts to overwrite the executables through /proc.

Safe outcome: no host process is visible or addressable; nothing of the
host's or the supervisor's environment and command line is readable
anywhere; kernel memory and addresses stay hidden; host-wide kernel
settings are read-only; there is no /sys; the sandbox's init (a fork of the
supervisor, whose /proc/1/exe would be the host's nsrun binary) is
invisible; and neither Python nor nsrun can be overwritten.
"""
import hashlib
import os
import pathlib
import subprocess

from adversarial_helpers import adv  # noqa: F401 (fixture)

SECRET = "nsrun-host-secret-7f3a9c"


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def test_every_readable_proc_file_is_free_of_the_callers_secrets(adv):
    # The secret is in nsrun's environment and on its command line (the
    # source path of a --bind-ro): the supervisor's and init's /proc entries
    # would show both.
    secret_dir = adv.workdir / SECRET
    secret_dir.mkdir()
    (secret_dir / "f").write_text("x")
    result = adv.run(f'''
        import json
        found, read = [], 0
        for root, dirs, files in os.walk("/proc"):
            if root.count("/") > 3 or "/task/" in root:
                dirs[:] = []
            for f in files:
                path = os.path.join(root, f)
                try:
                    with open(path, "rb") as fh:
                        data = fh.read(1 << 20)
                    read += 1
                except OSError:
                    continue
                if {SECRET!r}.encode() in data:
                    found.append(path)
        print(json.dumps({{"found": found, "read": read}}))
    ''', options=["--bind-ro", f"{secret_dir}/f:/app/f"],
        env=dict(os.environ, NSRUN_ADV_SECRET=SECRET), timeout=120)
    assert result.returncode == 0, result.stderr
    report = result.json_line()
    assert report["read"] > 100
    # mountinfo names a bind's source path: only the script's own /proc/self
    # may show it, never anything that came from the supervisor.
    leaks = [p for p in report["found"] if not p.endswith(("/mountinfo", "/mounts", "/mountstats"))]
    assert leaks == [], leaks


def test_init_is_invisible_and_its_exe_cmdline_environ_unreachable(adv):
    result = adv.run('''
        import json
        out = {"listed": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
        for entry in ("exe", "cmdline", "environ", "status", "mem", "root", "cwd", "maps", "fd"):
            try:
                if entry in ("exe", "root", "cwd"):
                    out[entry] = os.readlink(f"/proc/1/{entry}")
                else:
                    out[entry] = open(f"/proc/1/{entry}", "rb").read(64).decode(errors="replace")
            except OSError as e:
                out[entry] = errno.errorcode[e.errno]
        out["getppid"] = os.getppid()
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert seen.pop("listed") == [2] and seen.pop("getppid") == 1
    assert set(seen.values()) == {"ENOENT"}, seen


def test_the_scripts_own_processes_stay_visible_under_hidepid(adv):
    result = adv.run('''
        import multiprocessing, subprocess
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", MARKER])
        with multiprocessing.Pool(2) as pool:
            squares = pool.map(abs, [-1, -2])
            workers = [p.pid for p in multiprocessing.active_children()]
            listed = {int(p) for p in os.listdir("/proc") if p.isdigit()}
        print(child.pid in listed, set(workers) <= listed,
              open(f"/proc/{child.pid}/cmdline").read().count(MARKER), squares)
        child.kill()
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "1", "[1,", "2]"]


def test_no_host_pid_is_addressable(adv):
    result = adv.run('''
        import json
        limit = int(open("/proc/sys/kernel/pid_max").read())
        alive = []
        for pid in range(1, min(limit, 1 << 17)):
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
            except PermissionError:
                alive.append(pid)
        print(json.dumps(alive))
    ''', timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.json_line() == [1, 2]


def test_kernel_memory_and_addresses_stay_hidden(adv):
    result = adv.run('''
        import json, re
        out = {}
        for path in ("/proc/kcore", "/proc/kallsyms", "/proc/modules", "/proc/kpagecount",
                     "/proc/kpageflags", "/proc/kpagecgroup", "/proc/timer_list",
                     "/proc/sched_debug", "/proc/keys", "/proc/key-users", "/proc/kmsg",
                     "/proc/vmallocinfo", "/proc/iomem", "/dev/mem", "/dev/kmem", "/dev/port"):
            try:
                data = open(path, "rb").read(1 << 16)
                nonzero = [a for a in re.findall(rb"\\b[0-9a-f]{16}\\b", data) if a.strip(b"0")]
                out[path] = f"addresses: {len(nonzero)}" if nonzero else "no addresses"
            except OSError as e:
                out[path] = errno.errorcode[e.errno]
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    leaking = {p: v for p, v in seen.items() if v.startswith("addresses")}
    assert leaking == {}, leaking
    for device in ("/dev/mem", "/dev/kmem", "/dev/port"):
        assert seen[device] == "ENOENT"
    # masked with /dev/null or an empty tmpfs where the kernel has them
    for masked in ("/proc/kallsyms", "/proc/timer_list", "/proc/keys", "/proc/kcore"):
        assert seen[masked] in ("no addresses", "ENOENT", "EACCES"), (masked, seen[masked])


def test_host_wide_kernel_settings_are_read_only(adv):
    result = adv.run('''
        import json
        out = {}
        for path in ("/proc/sys/kernel/hostname", "/proc/sys/kernel/core_pattern",
                     "/proc/sys/vm/drop_caches", "/proc/sys/net/ipv4/ip_forward",
                     "/proc/sysrq-trigger", "/proc/sys/kernel/ns_last_pid",
                     "/proc/irq/default_smp_affinity", "/proc/self/oom_score_adj"):
            try:
                with open(path, "w") as f:
                    f.write("1" if "oom" not in path else "-1000")
                out[path] = "WRITTEN"
            except OSError as e:
                out[path] = errno.errorcode[e.errno]
        for directory in ("/proc/acpi", "/proc/scsi", "/proc/asound"):
            out[directory] = os.listdir(directory) if os.path.isdir(directory) else "absent"
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    for path in ("/proc/sys/kernel/hostname", "/proc/sys/kernel/core_pattern",
                 "/proc/sys/vm/drop_caches", "/proc/sys/net/ipv4/ip_forward",
                 "/proc/sys/kernel/ns_last_pid"):
        assert seen[path] == "EROFS", (path, seen[path])
    assert seen["/proc/sysrq-trigger"] in ("ENOENT", "EROFS", "WRITTEN")  # /dev/null when masked
    assert seen["/proc/irq/default_smp_affinity"] in ("EROFS", "ENOENT")
    # lowering one's own OOM score needs CAP_SYS_RESOURCE: the kill order holds
    assert seen["/proc/self/oom_score_adj"] in ("EACCES", "EPERM")
    for directory in ("/proc/acpi", "/proc/scsi", "/proc/asound"):
        assert seen[directory] in ([], "absent"), (directory, seen[directory])


def test_there_is_no_sys_and_none_can_be_made(adv):
    result = adv.run('''
        import json
        fstypes = {line.split(" - ")[1].split()[0] for line in open("/proc/self/mountinfo")}
        out = {"exists": os.path.exists("/sys"), "fstypes": sorted(fstypes),
               "via root": os.path.exists("/proc/self/root/sys"),
               "mkdir": None, "mount": name(sys_call(165, ctypes.addressof(
                   ctypes.create_string_buffer(b"sysfs")), ctypes.addressof(
                   ctypes.create_string_buffer(b"/tmp")), ctypes.addressof(
                   ctypes.create_string_buffer(b"sysfs")), 0, 0))}
        try:
            os.mkdir("/sys")
        except OSError as e:
            out["mkdir"] = errno.errorcode[e.errno]
        out["cgroup"] = open("/proc/self/cgroup").read().split()
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert seen["exists"] is False and seen["via root"] is False
    assert not set(seen["fstypes"]) & {"sysfs", "cgroup", "cgroup2", "debugfs", "securityfs",
                                        "bpf", "tracefs", "configfs"}, seen["fstypes"]
    assert seen["mkdir"] == "EROFS" and seen["mount"] == "EPERM"
    # the cgroup namespace shows the sandbox's own cgroup as the root
    assert all(line.endswith(":/") for line in seen["cgroup"]), seen["cgroup"]


def test_proc_self_exe_cannot_be_overwritten(adv, nsrun_binary):
    python = pathlib.Path(adv.rootfs, "usr/bin/python3.11")
    before = (sha256(python), sha256(nsrun_binary))
    result = adv.run('''
        import json, subprocess
        out = {}
        def attempt(what, fn):
            try:
                fn()
                out[what] = "WROTE"
            except OSError as e:
                out[what] = errno.errorcode[e.errno]
        attempt("open wronly", lambda: os.open("/proc/self/exe", os.O_WRONLY))
        attempt("open rdwr trunc", lambda: os.open("/proc/self/exe", os.O_RDWR | os.O_TRUNC))
        attempt("truncate", lambda: os.truncate("/proc/self/exe", 0))
        path_fd = os.open("/proc/self/exe", os.O_PATH)
        attempt("reopen O_PATH fd", lambda: os.open(f"/proc/self/fd/{path_fd}", os.O_WRONLY))
        ro_fd = os.open("/proc/self/exe", os.O_RDONLY)
        attempt("write ro fd", lambda: os.write(ro_fd, b"x"))
        attempt("via root", lambda: os.open("/proc/self/root/usr/bin/python3", os.O_WRONLY))
        for line in open("/proc/self/maps"):
            if "python3" in line:
                start_end = line.split()[0]
                attempt("via map_files",
                        lambda: os.open(f"/proc/self/map_files/{start_end}", os.O_WRONLY))
                break
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", MARKER])
        attempt("child exe", lambda: os.open(f"/proc/{child.pid}/exe", os.O_WRONLY))
        child.kill()
        attempt("init exe", lambda: os.open("/proc/1/exe", os.O_WRONLY))
        attempt("rename over", lambda: os.rename("/app/script.py", "/usr/bin/python3"))
        print(json.dumps(out))
    ''')
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert "WROTE" not in seen.values(), seen
    assert seen["init exe"] == "ENOENT"
    assert (sha256(python), sha256(nsrun_binary)) == before


def test_host_binary_of_the_supervisor_is_not_reachable_through_any_pid(adv, nsrun_binary):
    # Every exe link the script can read points inside the sandbox.
    result = adv.run('''
        import json
        links = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    links[pid] = os.readlink(f"/proc/{pid}/exe")
                except OSError as e:
                    links[pid] = errno.errorcode[e.errno]
        print(json.dumps(links))
    ''')
    assert result.returncode == 0, result.stderr
    links = result.json_line()
    assert links == {"2": "/usr/bin/python3.11"}, links
    assert os.path.basename(nsrun_binary) not in subprocess.list2cmdline(list(links.values()))
