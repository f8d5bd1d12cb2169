"""Adversarial: memory that is not the script's heap.  tmpfs (/tmp with
--tmpfs, /dev/shm), memfd, shared anonymous mappings, System V shared
memory, the page cache, many processes each under the limit, and files
larger than RLIMIT_FSIZE.

Safe outcome: every path ends in the memory-limit verdict (the cgroup's
OOM counter, peak within the limit) or in a bounded failure the script
sees (ENOSPC, EFBIG, EPERM), never in memory held outside the cgroup or
left behind after the run.
"""
from adversarial_helpers import adv  # noqa: F401 (fixture)

MiB = 1 << 20


def fill_file_script(path, mib):
    return f'''
        block = b"m" * (1 << 20)
        written = 0
        try:
            with open({path!r}, "wb") as f:
                for _ in range({mib}):
                    f.write(block)
                    f.flush()
                    written += 1
            print("wrote", written)
        except OSError as e:
            print("stopped", written, errno.errorcode[e.errno])
    '''


def assert_memory_verdict(result, limit_mib):
    doc = result.doc
    assert doc["status"] == "memory_limit", (doc["status"], doc["stdout"], doc["stderr"][-300:])
    assert doc["oom_killed"] and doc["exit_code"] is None
    assert doc["memory_peak_bytes"] <= limit_mib * MiB + 2 * MiB, doc["memory_peak_bytes"]


def test_dev_shm_counts_against_the_memory_limit(adv):
    # /dev/shm holds 64M; with a 48M limit the cgroup must stop it first.
    result = adv.run(fill_file_script("/dev/shm/fill", 60),
                     options=["--memory", "48M", "--timeout", "20s"], json_doc=True)
    assert_memory_verdict(result, 48)


def test_posix_shared_memory_segment_counts_against_the_limit(adv):
    result = adv.run('''
        from multiprocessing import shared_memory
        shm = shared_memory.SharedMemory(create=True, size=60 * (1 << 20))
        for i in range(0, shm.size, 4096):
            shm.buf[i] = 1
        print("touched everything")
    ''', options=["--memory", "32M", "--timeout", "20s"], json_doc=True)
    assert_memory_verdict(result, 32)


def test_tmpfs_larger_than_the_memory_limit_is_still_bounded_by_it(adv):
    result = adv.run(fill_file_script("/tmp/fill", 200),
                     options=["--tmpfs", "/tmp:1G", "--memory", "64M", "--timeout", "20s"],
                     json_doc=True)
    assert_memory_verdict(result, 64)


def test_small_tmpfs_fills_up_with_enospc(adv):
    result = adv.run(fill_file_script("/tmp/fill", 64),
                     options=["--tmpfs", "/tmp:16M", "--timeout", "20s"], json_doc=True)
    assert result.doc["status"] == "ok", result.doc["stderr"]
    words = result.stdout.split()
    assert words[0] == "stopped" and words[2] == "ENOSPC" and int(words[1]) <= 16


def test_memfd_counts_against_the_limit(adv):
    result = adv.run('''
        fd = os.memfd_create("hoard")
        block = b"f" * (1 << 20)
        for _ in range(200):
            os.write(fd, block)
        print("memfd holds 200M")
    ''', options=["--memory", "64M", "--timeout", "20s"], json_doc=True)
    assert_memory_verdict(result, 64)


def test_memfd_passed_to_children_and_left_mapped_is_still_counted(adv):
    result = adv.run('''
        import mmap
        fd = os.memfd_create("shared")
        os.ftruncate(fd, 60 << 20)           # RLIMIT_FSIZE allows 64M
        if os.fork() == 0:
            m = mmap.mmap(fd, 60 << 20)
            for i in range(0, len(m), 4096):
                m[i] = 1
            os._exit(0)
        print("child", os.wait()[1])
        sys.exit(3)
    ''', options=["--memory", "32M", "--timeout", "20s"], json_doc=True)
    # the child that touched the pages is the one killed; its parent then
    # exits 3, and the OOM counter says the limit held
    doc = result.doc
    assert doc["oom_kill_count"] >= 1 and "child 9" in doc["stdout"], doc
    assert doc["memory_peak_bytes"] <= 34 * MiB


def test_shared_anonymous_mapping_counts_against_the_limit(adv):
    result = adv.run('''
        import mmap
        m = mmap.mmap(-1, 200 << 20, flags=mmap.MAP_SHARED)
        for i in range(0, len(m), 4096):
            m[i] = 1
        print("mapped 200M")
    ''', options=["--memory", "64M", "--timeout", "20s"], json_doc=True)
    assert_memory_verdict(result, 64)


def test_many_processes_each_under_the_limit_are_limited_together(adv):
    result = adv.run('''
        import time
        for _ in range(8):
            if os.fork() == 0:
                hoard = bytearray(20 << 20)     # 8 x 20M > 96M
                for i in range(0, len(hoard), 4096):
                    hoard[i] = 1
                time.sleep(30)
                os._exit(0)
        time.sleep(30)
    ''', options=["--memory", "96M", "--timeout", "3s", "--pids-limit", "32"], json_doc=True)
    doc = result.doc
    # Killing a child is enough to get back under the limit: the verdict is
    # then the timeout, but the OOM counter shows the limit held.
    assert doc["oom_kill_count"] >= 1, doc
    assert doc["status"] in ("memory_limit", "timeout")
    assert doc["memory_peak_bytes"] <= 96 * MiB + 2 * MiB


def test_page_cache_of_the_rootfs_stays_within_the_limit(adv):
    # Reading every file of the rootfs over and over: cache is reclaimed,
    # the run succeeds and never holds more than its limit.
    result = adv.run('''
        total = 0
        for _ in range(3):
            for root, dirs, files in os.walk("/usr"):
                for f in files:
                    try:
                        with open(os.path.join(root, f), "rb") as fh:
                            while chunk := fh.read(1 << 20):
                                total += len(chunk)
                    except OSError:
                        pass
        print("read", total >> 20, "MiB")
    ''', options=["--memory", "32M", "--timeout", "60s"], json_doc=True, timeout=120)
    doc = result.doc
    assert doc["status"] == "ok", (doc["status"], doc["stderr"][-300:])
    assert int(result.stdout.split()[1]) > 32
    assert doc["memory_peak_bytes"] <= 32 * MiB + 2 * MiB


def test_file_size_limit_stops_sparse_and_real_growth(adv):
    result = adv.run('''
        import resource
        out = {"limit": resource.getrlimit(resource.RLIMIT_FSIZE)}
        open("/tmp/sparse", "wb").close()
        far = os.open("/tmp/far", os.O_WRONLY | os.O_CREAT)
        memfd = os.memfd_create("big")
        for what, fn in (("truncate 1G", lambda: os.truncate("/tmp/sparse", 1 << 30)),
                         ("write at 200M", lambda: os.pwrite(far, b"x", 200 << 20)),
                         ("memfd 1G", lambda: os.ftruncate(memfd, 1 << 30))):
            try:
                fn()
                out[what] = "GREW"
            except OSError as e:
                out[what] = errno.errorcode[e.errno]
        try:
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
            out["raise"] = "RAISED"
        except (OSError, ValueError) as e:
            out["raise"] = type(e).__name__
        import json
        print(json.dumps(out))
    ''', options=["--tmpfs", "/tmp:100M", "--timeout", "20s"])
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert seen["limit"] == [100 * MiB, 100 * MiB]
    assert seen["truncate 1G"] == seen["write at 200M"] == seen["memfd 1G"] == "EFBIG"
    assert seen["raise"] in ("PermissionError", "ValueError")


def test_system_v_shared_memory_is_not_available(adv):
    result = adv.run('''
        IPC_PRIVATE, IPC_CREAT = 0, 0o1000
        print(name(sys_call(29, IPC_PRIVATE, 100 << 20, IPC_CREAT | 0o600)))
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "EPERM"
