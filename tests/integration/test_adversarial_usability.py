"""Usability beside the attacks: the seccomp allowlist and the /proc
hardening must not be a brick wall.  The workloads in
tests/adversarial/workloads (the same ones tests/adversarial/derive_allowlist.py
traces to derive the allowlist) exercise threads, subprocess of Python
itself, multiprocessing with every start method and /dev/shm, asyncio,
ssl (with a TLS handshake), sqlite3, json, zlib and a broad tour of the
standard library and the os module; each prints "ok STEP" per step.
They run under both backends, which share the policy file.
"""
import pytest

from adversarial_helpers import ADVERSARIAL_DIR, WORKLOADS, adv, adv_backend  # noqa: F401

WITH_TMP = ["--tmpfs", "/tmp:64M"]
DATA = ["--bind-ro", f"{ADVERSARIAL_DIR}:/app/adv"]

CASES = {
    "stdlib_tour": (WITH_TMP, ["pure", "identity", "files", "imports"]),
    "system_calls": (WITH_TMP, ["polling", "signals", "processes", "limits", "memory", "native",
                                "sockets", "terminal"]),
    "concurrency": (WITH_TMP, ["threads", "subprocess", "multiprocessing-fork",
                               "multiprocessing-spawn", "multiprocessing-forkserver",
                               "shared-memory"]),
    "asyncio_ssl_sqlite": (WITH_TMP, ["asyncio", "ssl", "sqlite3"]),
    "asyncio_ssl_sqlite read-only tmp": ([], ["asyncio", "ssl", "sqlite3"]),
}


@pytest.mark.parametrize("case", CASES)
def test_workload_runs_under_the_allowlist(adv_backend, case):
    options, steps = CASES[case]
    workload = WORKLOADS / (case.split()[0] + ".py")
    result = adv_backend.run(workload, options=[*options, *DATA, "--timeout", "60s"],
                             timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    failed = [line for line in result.lines() if line.startswith("FAIL")]
    assert failed == [], failed
    assert [line.split()[1] for line in result.lines() if line.startswith("ok ")] == steps
    assert result.lines()[-1] == "done"


def test_multiprocessing_pool_with_dev_shm_and_a_read_only_tmp(adv):
    # The default configuration (no --tmpfs): semaphores live in /dev/shm.
    result = adv.run('''
        import multiprocessing, json, zlib
        from multiprocessing import shared_memory
        with multiprocessing.Pool(3) as pool:
            squares = pool.map(abs, range(-20, 0))
        shm = shared_memory.SharedMemory(create=True, size=1 << 16)
        shm.buf[0] = 42
        value = shm.buf[0]
        shm.close(), shm.unlink()
        lock = multiprocessing.Lock()
        with lock:
            pass
        data = json.dumps(squares).encode()
        print(sum(squares), value, json.loads(zlib.decompress(zlib.compress(data)))[0])
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["210", "42", "20"]


def test_name_resolution_and_urls_still_fail_the_ordinary_way(adv):
    # The allowlist lets the resolver try (socket, connect, sendmmsg): the
    # failure is the network's absence, not a seccomp EPERM.
    result = adv.run('''
        import socket, urllib.request
        try:
            socket.getaddrinfo("example.com", 443)
        except socket.gaierror as e:
            print("gaierror", e.errno)
        try:
            urllib.request.urlopen("http://127.0.0.1:9/", timeout=2)
        except OSError as e:
            print("url", type(e).__name__, getattr(e, "reason", e))
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gaierror")
    assert "Connection refused" in result.stdout and "Operation not permitted" not in result.stdout
