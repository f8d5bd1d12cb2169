"""scripts/bench --quick: the CI variant of the benchmark.

Timing never decides anything here (CI machines are shared and noisy); the
table is printed into the log so a regression is seen. What is asserted does
not depend on the clock: the command works, every verdict is right, and one
run of print("hi") costs exactly two processes (the sandbox's init and the
workload) and executes exactly one program in the sandbox, Python: no shell,
no helper, no extra exec anywhere.
"""
import json
import pathlib
import re
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "bench"


@pytest.fixture(scope="module")
def quick(nsrun_binary, rootfs, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench-quick.md"
    proc = subprocess.run(["/usr/bin/python3", str(BENCH), "--quick", "--nsrun", nsrun_binary,
                           "--rootfs", rootfs, "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    # Into the CI log, for people: the ratios are shown, never judged.
    sys.stdout.write(proc.stdout)
    sys.stdout.write(proc.stderr[-2000:])
    return proc, out


def table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def test_quick_bench_exits_0_and_writes_the_table(quick):
    proc, out = quick
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.exists()
    written = out.read_text()
    assert written.strip() in proc.stdout
    assert "| system |" in written and "× floor" in written
    systems = [row.split("|")[1].strip() for row in table_rows(written)]
    assert any("floor" in s for s in systems)
    assert any("nsrun" in s for s in systems)
    assert re.search(r"Machine: .+ cores", written)


def test_every_verdict_is_right(quick):
    proc, out = quick
    rows = [r for r in table_rows(out.read_text()) if "verdicts" not in r and "right" in r]
    assert len(rows) >= 2, out.read_text()
    assert "WRONG" not in out.read_text()
    for row in rows:
        m = re.search(r"right (\d+)/(\d+)", row)
        assert m and m.group(1) == m.group(2), row


def counts(proc):
    line = next((l for l in proc.stdout.splitlines() if l.startswith("COUNTS ")), None)
    if line is None:
        pytest.skip("strace is not available: no counts")
    return json.loads(line[len("COUNTS "):])


def test_one_run_costs_two_processes(quick):
    proc, _ = quick
    c = counts(proc)
    assert c["processes"] == 2, c


def test_one_run_executes_only_python_in_the_sandbox(quick):
    proc, _ = quick
    c = counts(proc)
    assert c["sandbox_execs"] == ["/usr/bin/python3"], c
    assert c["syscalls_python"] > 0 and c["syscalls_supervisor"] > 0, c


def test_the_cli_maps_no_library_but_libc(nsrun_binary):
    """libseccomp, libcap-ng, libcgroup and jansson are linked in (NSRUN_STATIC_DEPS):
    the loader's work is paid on every run, so only libc (and, in the sanitizer
    build, its runtimes) may be left to map."""
    dynamic = subprocess.run(["readelf", "-d", nsrun_binary], capture_output=True, text=True,
                             check=True).stdout
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))
    assert "libc.so.6" in needed, needed
    sanitizer_runtimes = {"libasan.so.8", "libubsan.so.1", "libm.so.6", "libgcc_s.so.1",
                          "libstdc++.so.6"}
    assert needed - {"libc.so.6", "ld-linux-x86-64.so.2"} <= sanitizer_runtimes, needed
