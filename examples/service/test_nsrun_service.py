"""Tests of the service example against the real nsrun."""
import json
import os
import threading
import urllib.error
import urllib.request

import pytest

import nsrun_service
from nsrun_service import Limits, Sandbox

NSRUN = os.environ.get("NSRUN_BINARY")


@pytest.fixture
def sandbox():
    if not NSRUN:
        pytest.skip("set NSRUN_BINARY (and NSRUN_ROOTFS) to the nsrun under test")
    options = ["--rootfs", os.environ["NSRUN_ROOTFS"]] if os.environ.get("NSRUN_ROOTFS") else []
    return Sandbox(NSRUN, options)


def test_accepted(sandbox):
    response = sandbox.run("print(6 * 7)")
    assert response["verdict"] == "accepted" and response["stdout"] == "42\n"
    assert response["http_status"] == 200 and response["exit_code"] == 0


def test_each_verdict_maps(sandbox):
    quick = Limits(timeout="1s", memory="64M")
    cases = {
        "raise ValueError('no')": "runtime_error",
        "import os; os.abort()": "runtime_error",
        "while True: pass": "time_limit_exceeded",
        "x = bytearray(200 * 1024 * 1024)": "memory_limit_exceeded",
    }
    for code, verdict in cases.items():
        response = sandbox.run(code, quick)
        assert response["verdict"] == verdict, (code, response)
    flood = sandbox.run("print('x' * 1000)", Limits(output="100"))
    assert flood["verdict"] == "output_limit_exceeded" and flood["truncated"]
    assert flood["stdout"] == "x" * 100


def test_per_run_limits(sandbox):
    code = "x = bytearray(100 * 1024 * 1024); print('ok')"
    assert sandbox.run(code, Limits(memory="64M"))["verdict"] == "memory_limit_exceeded"
    assert sandbox.run(code, Limits(memory="256M"))["verdict"] == "accepted"


def test_concurrent_runs_keep_their_own_results(sandbox):
    codes = [f"import time; time.sleep(0.3); print({i})" for i in range(8)]
    responses = sandbox.run_many(codes, workers=8)
    assert [r["stdout"] for r in responses] == [f"{i}\n" for i in range(8)]


def test_sandbox_error_is_a_500(sandbox, tmp_path):
    broken = Sandbox(NSRUN, ["--rootfs", str(tmp_path)])
    response = broken.run("print(1)")
    assert response["http_status"] == 500 and response["verdict"] == "sandbox_error"
    assert response["error"]["kind"] == "rootfs"


def test_http_endpoint(sandbox):
    server = nsrun_service.ThreadingHTTPServer(("127.0.0.1", 0), None)
    port = server.server_address[1]
    server.server_close()
    thread = threading.Thread(target=nsrun_service.serve, args=(sandbox, port), daemon=True)
    thread.start()
    body = None
    for _ in range(50):
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/run", data=b"print('via http')")
            with urllib.request.urlopen(request, timeout=30) as reply:
                body = json.load(reply)
            break
        except urllib.error.URLError:
            threading.Event().wait(0.1)
    assert body is not None, "the example server never answered"
    assert body["verdict"] == "accepted" and body["stdout"] == "via http\n"
