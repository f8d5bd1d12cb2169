"""Use nsrun as the sandbox behind a code-execution service.

Standard library only.  Each request runs `nsrun --json` in a subprocess
with its own limits; the JSON verdict is mapped to a response a client of
the service can use.  Runs are independent processes, so they can be made
concurrently from threads (see run_many).

    python3 nsrun_service.py --nsrun build/nsrun 'print(6 * 7)'
    python3 nsrun_service.py --serve 8080     # POST code to http://127.0.0.1:8080/run
"""
import argparse
import base64
import concurrent.futures
import dataclasses
import json
import os
import subprocess
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What each verdict means for the client: (HTTP status, short verdict)
VERDICTS = {
    "ok": (200, "accepted"),
    "exited_nonzero": (200, "runtime_error"),
    "signaled": (200, "runtime_error"),
    "timeout": (200, "time_limit_exceeded"),
    "memory_limit": (200, "memory_limit_exceeded"),
    "output_limit": (200, "output_limit_exceeded"),
    "cancelled": (503, "cancelled"),
    "setup_error": (500, "sandbox_error"),
}


# nsrun enforces every limit itself; this only guards against a stuck supervisor.
SUPERVISOR_DEADLINE = 3600


@dataclasses.dataclass
class Limits:
    memory: str = "128M"
    timeout: str = "10s"
    output: str = "64K"
    pids: int = 64

    def options(self):
        return ["--memory", self.memory, "--timeout", self.timeout,
                "--output-limit", self.output, "--pids-limit", str(self.pids)]


class Sandbox:
    def __init__(self, nsrun="nsrun", extra_options=()):
        self.nsrun = nsrun
        self.extra_options = list(extra_options)

    def run(self, code, limits=Limits(), stdin=b""):
        """Run one piece of code; return the response for the client."""
        with tempfile.TemporaryDirectory(prefix="nsrun-service-") as workdir:
            script = os.path.join(workdir, "main.py")
            with open(script, "w") as f:
                f.write(code)
            # the sandbox's user is not the service's: it needs read access
            os.chmod(script, 0o644)
            proc = subprocess.run(
                [self.nsrun, "--json", *self.extra_options, *limits.options(), script],
                input=stdin, capture_output=True, timeout=SUPERVISOR_DEADLINE)
        return respond(json.loads(proc.stdout))

    def run_many(self, codes, limits=Limits(), workers=4):
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda code: self.run(code, limits), codes))


def decode(doc, stream):
    text = doc[stream]
    if text is None:
        return None
    if doc[f"{stream}_encoding"] == "base64":
        return base64.b64decode(text).decode("utf-8", errors="replace")
    return text


def respond(doc):
    """Map nsrun's result document to the service's response."""
    http_status, verdict = VERDICTS.get(doc["status"], (500, "sandbox_error"))
    response = {
        "http_status": http_status,
        "verdict": verdict,
        "message": doc["message"],
        "exit_code": doc["exit_code"],
        "stdout": decode(doc, "stdout"),
        "stderr": decode(doc, "stderr"),
        "truncated": doc["stdout_truncated"] or doc["stderr_truncated"],
        "time_ms": doc["wall_ms"],
        "memory_bytes": doc["memory_peak_bytes"],
    }
    if doc["error"]:
        response["error"] = {"kind": doc["error"]["kind"], "hint": doc["error"]["hint"]}
    return response


def serve(sandbox, port):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            response = sandbox.run(self.rfile.read(length).decode())
            body = json.dumps(response).encode()
            self.send_response(response["http_status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsrun", default="nsrun")
    parser.add_argument("--serve", type=int, metavar="PORT")
    parser.add_argument("code", nargs="?")
    args = parser.parse_args()
    sandbox = Sandbox(args.nsrun)
    if args.serve:
        serve(sandbox, args.serve)
    else:
        print(json.dumps(sandbox.run(args.code or "print('hello')"), indent=2))


if __name__ == "__main__":
    main()
