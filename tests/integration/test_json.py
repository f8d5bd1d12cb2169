"""The JSON result document: every status, output capture and limits."""
import base64
import concurrent.futures
import json
import os
import pathlib
import re
import subprocess

import pytest

SCHEMA_DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "result-schema.md"


def documented_members():
    """The member table of docs/result-schema.md: name -> allowed JSON types."""
    kinds = {"integer": int, "string": str, "boolean": bool, "object": dict, "null": type(None),
             "array": list}
    members = {}
    section = SCHEMA_DOC.read_text().split("## Members")[1].split("## Status")[0]
    for line in section.splitlines():
        match = re.match(r"\| `(\w+)` \| ([a-z ]+?)(?: of strings)? \|", line)
        if match:
            members[match.group(1)] = tuple(kinds[word] for word in match.group(2).split(" or "))
    return members


MEMBERS = documented_members()


def run_json(nsrun, source, *args, options=(), **kwargs):
    result = nsrun.run(source, *args, options=["--json", *options], **kwargs)
    doc = json.loads(result.stdout)
    check_schema(doc)
    return result.returncode, doc


def check_schema(doc):
    assert len(MEMBERS) >= 30, "docs/result-schema.md member table not found"
    assert set(doc) == set(MEMBERS), set(doc) ^ set(MEMBERS)
    for name, value in doc.items():
        allowed = MEMBERS[name]
        # bool is an int in Python: only accept it where booleans are documented
        assert isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed), \
            (name, value)
    assert doc["schema"] == 1
    assert set(doc["limits"]) == {"wall_ms", "cpu_ms", "memory_bytes", "swap_bytes", "pids",
                                  "output_bytes", "nofile", "tmpfs_bytes", "network"}


def test_ok(nsrun):
    code, doc = run_json(nsrun, 'print("hello")')
    assert code == 0
    assert doc["status"] == "ok" and doc["exit_code"] == 0 and doc["signal"] is None
    assert doc["stdout"] == "hello\n" and doc["stdout_bytes"] == 6
    assert doc["stdout_encoding"] == "utf-8" and not doc["stdout_truncated"]
    assert doc["backend"] == "native" and doc["error"] is None
    assert doc["wall_ms"] >= doc["setup_ms"] > 0
    timings = doc["timings"]
    assert set(timings) == {"setup_us", "teardown_us"}
    assert doc["setup_ms"] * 1000 <= timings["setup_us"] < (doc["setup_ms"] + 1) * 1000
    # from the script's end to its cgroup removed: more than nothing, less than the whole run
    assert 0 < timings["teardown_us"] < doc["wall_ms"] * 1000
    assert doc["memory_peak_bytes"] > 1 << 20
    assert doc["enforcement"]["memory"] in ("cgroup-v1", "cgroup-v2")
    assert doc["limits"]["memory_bytes"] == 128 << 20 and doc["limits"]["swap_bytes"] == 0


def test_exited_nonzero(nsrun):
    code, doc = run_json(nsrun, 'import sys; print("bad", file=sys.stderr); sys.exit(3)')
    assert code == 3
    assert doc["status"] == "exited_nonzero" and doc["exit_code"] == 3
    assert doc["stderr"] == "bad\n"


def test_signaled(nsrun):
    code, doc = run_json(nsrun, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert code == 139
    assert doc["status"] == "signaled" and doc["exit_code"] is None
    assert (doc["signal"], doc["signal_name"]) == (11, "SIGSEGV")
    assert doc["oom_killed"] is False


def test_timeout_keeps_partial_output(nsrun):
    code, doc = run_json(nsrun, 'print("started"); import sys; sys.stdout.flush()\nwhile True: pass',
                         options=["--timeout", "700ms"])
    assert code == 124
    assert doc["status"] == "timeout" and doc["timed_out"] and doc["killed_by"] == "wall_timeout"
    assert doc["message"] == "Execution timed out after 0.7 seconds."
    assert doc["stdout"] == "started\n"
    assert 700 <= doc["wall_ms"] < 5000
    assert doc["cpu_ms"] is None  # the zapped processes are not accounted: unknown, not 0


def test_cpu_time_limit(nsrun):
    code, doc = run_json(nsrun, "while True: pass", options=["--cpu-time", "1s"])
    assert code == 124
    assert doc["status"] == "timeout" and doc["killed_by"] == "cpu_timeout"
    # rusage is tick-sampled and, in a VM, loses steal time: it only roughly
    # matches the precise runtime RLIMIT_CPU counts.
    assert doc["cpu_ms"] >= 500
    assert doc["limits"]["cpu_ms"] == 1000 and doc["enforcement"]["cpu"] == "rlimit"


def test_memory_limit_from_the_oom_counter(nsrun):
    code, doc = run_json(nsrun, 'print("before"); x = "a" * 1000000000')
    assert code == 137
    assert doc["status"] == "memory_limit" and doc["oom_killed"] and doc["oom_kill_count"] >= 1
    assert doc["killed_by"] == "oom" and doc["signal_name"] == "SIGKILL"
    assert doc["stdout"] == "before\n"
    assert doc["memory_peak_bytes"] >= 100 << 20


def test_output_limit_truncates_exactly(nsrun):
    code, doc = run_json(nsrun, 'import sys; sys.stdout.write("x" * 5000)',
                         options=["--output-limit", "1000"])
    assert code == 0
    assert doc["status"] == "output_limit"
    assert doc["stdout"] == "x" * 1000 and doc["stdout_bytes"] == 5000 and doc["stdout_truncated"]
    assert doc["stderr_truncated"] is False


def test_output_exactly_at_the_limit_is_not_truncated(nsrun):
    code, doc = run_json(nsrun, 'import sys; sys.stdout.write("y" * 1000)',
                         options=["--output-limit", "1000"])
    assert doc["status"] == "ok" and doc["stdout"] == "y" * 1000 and not doc["stdout_truncated"]


def test_writing_forever_is_not_blocked_and_stays_bounded(nsrun):
    code, doc = run_json(nsrun, '''
        import sys
        while True:
            sys.stdout.write("z" * 65536)
    ''', options=["--timeout", "1s"])
    assert code == 124 and doc["status"] == "timeout"
    assert len(doc["stdout"]) == 1 << 20  # default limit with --json
    assert doc["stdout_bytes"] > 4 << 20  # it kept running: the pipe never filled up
    assert doc["stdout_truncated"]


def test_binary_output_round_trips(nsrun):
    payload = bytes(range(256)) * 3
    code, doc = run_json(nsrun, f'import sys; sys.stdout.buffer.write(bytes(range(256)) * 3)')
    assert code == 0
    assert doc["stdout_encoding"] == "base64"
    assert base64.b64decode(doc["stdout"]) == payload
    assert doc["stdout_bytes"] == len(payload)


def test_utf8_output_stays_text(nsrun):
    code, doc = run_json(nsrun, 'print("héllo ✓ \\U0001F600")')
    assert doc["stdout_encoding"] == "utf-8" and doc["stdout"] == "héllo ✓ \U0001F600\n"


def test_setup_error_document(nsrun, tmp_path):
    result = subprocess.run([nsrun.binary, "--json", "--rootfs", nsrun.rootfs,
                             str(tmp_path / "missing.py")], capture_output=True, text=True)
    assert result.returncode == 125
    doc = json.loads(result.stdout)
    check_schema(doc)
    assert doc["status"] == "setup_error"
    assert doc["error"]["kind"] == "input" and doc["error"]["errno"] == "ENOENT"
    assert "missing.py" in doc["error"]["message"]


def test_usage_error_document(nsrun):
    result = subprocess.run([nsrun.binary, "--json", "--memory", "lots", "x.py"],
                            capture_output=True, text=True)
    assert result.returncode == 125
    doc = json.loads(result.stdout)
    assert doc["status"] == "setup_error" and doc["error"]["kind"] == "usage"


def test_result_fd_leaves_output_untouched(nsrun, tmp_path):
    result_file = tmp_path / "result.json"
    result = nsrun.run('print("plain")', options=["--result", str(result_file)])
    assert result.returncode == 0 and result.stdout == "plain\n"
    doc = json.loads(result_file.read_text())
    check_schema(doc)
    assert doc["stdout"] is None and doc["stdout_bytes"] == 6 and doc["status"] == "ok"
    read_end, write_end = os.pipe()
    result = nsrun.run('print("again")', options=["--result-fd", str(write_end)],
                       pass_fds=(write_end,))
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        doc = json.loads(pipe.read())
    assert result.stdout == "again\n" and doc["status"] == "ok"


def test_secret_environment_does_not_leak_and_env_option_adds(nsrun):
    env = dict(os.environ, NSRUN_SECRET_TOKEN="s3cr3t")
    code, doc = run_json(nsrun, '''
        import os
        print(sorted(os.environ))
        print(os.environ.get("GREETING"))
        print(open("/proc/1/environ", "rb").read() if os.access("/proc/1/environ", os.R_OK) else "")
    ''', options=["--env", "GREETING=hi"], env=env)
    assert code == 0, doc
    assert "s3cr3t" not in doc["stdout"] and "NSRUN_SECRET_TOKEN" not in doc["stdout"]
    assert "\nhi\n" in doc["stdout"]


def test_stdin_file(nsrun, tmp_path):
    data = tmp_path / "in.txt"
    data.write_text("from a file\n")
    code, doc = run_json(nsrun, "import sys; print(sys.stdin.read().strip())",
                         options=["--stdin", str(data)])
    assert doc["stdout"] == "from a file\n"


def test_tmpfs_is_writable_and_counted_as_memory(nsrun):
    code, doc = run_json(nsrun, 'open("/tmp/a", "w").write("ok"); print(open("/tmp/a").read())',
                         options=["--tmpfs", "/tmp:8M"])
    assert doc["status"] == "ok" and doc["stdout"] == "ok\n"
    assert doc["limits"]["tmpfs_bytes"] == 8 << 20
    # a tmpfs larger than what remains of the memory limit: filling it is an OOM kill
    code, doc = run_json(nsrun, '''
        block = b"x" * (1 << 20)
        with open("/tmp/fill", "wb") as f:
            for _ in range(120):
                f.write(block)
        print("filled")
    ''', options=["--tmpfs", "/tmp:120M", "--memory", "64M"])
    assert doc["status"] in ("memory_limit", "exited_nonzero"), doc
    assert "filled" not in doc["stdout"]


def test_nofile_limit(nsrun):
    code, doc = run_json(nsrun, '''
        import resource
        print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    ''', options=["--nofile", "64"])
    assert doc["stdout"] == "64\n"


def test_concurrent_runs_do_not_mix(nsrun):
    def one(i):
        return run_json(nsrun, f'import time; time.sleep(0.2); print("run-{i}" * 1000)')

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(16)))
    for i, (code, doc) in enumerate(results):
        assert code == 0
        assert doc["stdout"] == f"run-{i}" * 1000 + "\n"
