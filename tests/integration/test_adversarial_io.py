"""Adversarial: the supervisor's input and output paths.  Output floods
(many writers, both streams, no newline), binary and control bytes, huge
argv and environments, and a stdin that is closed or never ends.

Safe outcome: the supervisor stays bounded in memory and relays bytes
exactly; limits produce their verdicts; an endless stdin neither blocks the
run past its timeout nor keeps anything alive; oversized input fails
cleanly (a setup error or an OSError in the script), never a crash.
(test_json.py covers a single writer flooding one stream and binary output
in the JSON document.)
"""
import hashlib
import json
import subprocess
import threading
import time

from adversarial_helpers import adv  # noqa: F401 (fixture)

MiB = 1 << 20


def supervisor_peak_rss(proc):
    """Run proc to the end; its peak resident memory (VmHWM) in KiB, and its output."""
    result = {}
    reader = threading.Thread(target=lambda: result.update(out=proc.communicate(timeout=60)))
    reader.start()
    peak = 0
    while reader.is_alive():
        try:
            with open(f"/proc/{proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    reader.join()
    return peak, result["out"]


def test_many_writers_flooding_both_streams_are_truncated_and_timed_out(adv):
    result = adv.run('''
        import threading
        for _ in range(4):
            if os.fork() == 0:
                break
        block = b"A" * 65536
        def flood(fd):
            while True:
                os.write(fd, block)
        threading.Thread(target=flood, args=(2,), daemon=True).start()
        flood(1)
    ''', options=["--output-limit", "256K", "--timeout", "1s"], json_doc=True)
    doc = result.doc
    # the limit truncates; the writers run on until the timeout
    assert doc["status"] == "timeout", doc["status"]
    assert doc["stdout_truncated"] and doc["stderr_truncated"]
    assert len(doc["stdout"]) == len(doc["stderr"]) == 256 * 1024
    assert doc["stdout_bytes"] > 1 << 20 and doc["stderr_bytes"] > 1 << 20


def test_supervisor_memory_stays_bounded_while_the_output_is_discarded(adv):
    # 400 MiB through the supervisor with a 64 KiB limit: what it keeps is
    # bounded by the limit, not by what the script writes.
    proc = adv.popen('''
        block = b"x" * MiB
        for _ in range(400):
            os.write(1, block)
        pass
    ''', prelude="MiB = 1 << 20\n", options=["--json", "--output-limit", "64K",
                                               "--timeout", "30s"])
    peak_kib, (out, _) = supervisor_peak_rss(proc)
    adv.check_host()
    doc = json.loads(out)
    assert doc["stdout_bytes"] == 400 * MiB and len(doc["stdout"]) == 64 * 1024
    assert 0 < peak_kib < 32 * 1024, f"the supervisor grew to {peak_kib} KiB"


def test_binary_and_control_bytes_are_relayed_exactly(adv):
    payload = bytes(range(256)) * 64 + b"\x1b]0;owned\x07\x1b[2J\x00\r\n" + b"\xff\xfe" * 1000
    proc = adv.popen('''
        data = sys.stdin.buffer.read()
        sys.stdout.buffer.write(data)
        sys.stderr.buffer.write(data[::-1])
    ''', stdin=subprocess.PIPE)
    out, err = proc.communicate(payload, timeout=60)
    adv.check_host()
    assert proc.returncode == 0, err[-300:]
    assert out == payload
    assert err == payload[::-1]


def test_huge_argv_arrives_intact(adv):
    args = [f"arg-{i:06d}-" + "x" * 40 for i in range(20000)]   # ~1 MiB
    digest = hashlib.sha256("\0".join(args).encode()).hexdigest()
    result = adv.run('''
        import hashlib
        print(len(ARGS), hashlib.sha256("\\0".join(ARGS).encode()).hexdigest())
    ''', *args)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.split() == ["20000", digest]


def test_argv_beyond_what_execve_takes_fails_cleanly(adv):
    # About 1.9 MiB: nsrun itself can be started, but Python's argv (with
    # the environment) may no longer fit: a clean error or a clean run.
    args = ["y" * 131000 for _ in range(15)]
    result = adv.run("print(len(ARGS))", *args)
    if result.returncode == 0:
        assert result.stdout.strip() == "15"
    else:
        assert result.returncode in (125, 126), (result.returncode, result.stderr[-300:])
        assert "nsrun:" in result.stderr and "Segmentation" not in result.stderr


def test_oversized_environment_entries_fail_cleanly(adv):
    big = ["--env", "BIG=" + "v" * 120000]
    many = [opt for i in range(256) for opt in ("--env", f"K{i}=v{i}")]
    ok = adv.run('print(len(os.environ["BIG"]), sum(k.startswith("K") for k in os.environ))',
                 options=big + many[:200])
    assert ok.returncode == 0, ok.stderr[-300:]
    assert ok.stdout.split() == ["120000", "100"]
    too_many = adv.run("print('ran')", options=many + ["--env", "ONE=more"])
    assert too_many.returncode == 125 and "ran" not in too_many.stdout
    assert "too many --env" in too_many.stderr


def test_script_exec_with_a_huge_argv_gets_e2big(adv):
    result = adv.run('''
        try:
            os.execv(sys.executable, [sys.executable, "-c", "pass"] + ["w" * 131000] * 40)
        except OSError as e:
            print(errno.errorcode[e.errno])
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "E2BIG"


def test_closed_stdin_reads_eof_at_once(adv):
    result = adv.run('''
        import select
        ready = select.select([0], [], [], 5)[0]
        print(ready, repr(sys.stdin.read()), repr(os.read(0, 10)))
    ''', stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0] '' b''"


def endless_producer(pipe, stop):
    """A `yes`: writes until the reader goes away or the test stops it."""
    chunk = b"y\n" * 32768
    try:
        while not stop.is_set():
            pipe.write(chunk)
    except (BrokenPipeError, ValueError, OSError):
        pass


def run_with_endless_stdin(adv, source, options):
    proc = adv.popen(source, stdin=subprocess.PIPE, options=options)
    stop = threading.Event()
    producer = threading.Thread(target=endless_producer, args=(proc.stdin, stop), daemon=True)
    started = time.monotonic()
    producer.start()
    try:
        out, err = proc.communicate(timeout=60) if False else (proc.stdout.read(), proc.stderr.read())
        proc.wait(timeout=60)
    finally:
        stop.set()
        producer.join(10)
    adv.check_host()
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), \
        time.monotonic() - started


def test_endless_stdin_that_the_script_ignores_ends_at_the_timeout(adv):
    code, out, err, elapsed = run_with_endless_stdin(adv, '''
        import time
        print("sleeping", flush=True)
        time.sleep(60)
    ''', ["--timeout", "1s"])
    assert code == 124, err
    assert "sleeping" in out and elapsed < 20


def test_endless_stdin_that_the_script_consumes_ends_at_the_timeout(adv):
    code, out, err, elapsed = run_with_endless_stdin(adv, '''
        total = 0
        while True:
            data = os.read(0, 1 << 16)
            if not data:
                break
            total += len(data)
    ''', ["--timeout", "1s"])
    assert code == 124, err
    assert elapsed < 20


def test_endless_stdin_hoarded_in_memory_ends_at_the_memory_limit(adv):
    result = adv.run('''
        hoard = sys.stdin.buffer.read()      # /dev/zero never ends
        print("read", len(hoard))
    ''', options=["--stdin", "/dev/zero", "--memory", "64M", "--timeout", "20s"], json_doc=True)
    assert result.doc["status"] == "memory_limit", result.doc["status"]
    assert result.doc["memory_peak_bytes"] <= 64 * MiB
