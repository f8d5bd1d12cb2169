#!/usr/bin/env python3
"""Derive the seccomp allowlist from what Python really does.

Runs every workload in workloads/ through nsrun under strace, with a
permissive policy (default ALLOW, clone3 -> ENOSYS as in the real one), and
collects the syscalls made from the moment the filter would apply: in the
workload process after its seccomp() call (so execve is included), and
everything in the processes Python started.  The supervisor (the traced
process) and the sandbox's init (the process that calls pivot_root) are
left out: the filter never applies to them.

    tests/adversarial/derive_allowlist.py --nsrun build/nsrun --rootfs build/rootfs [--policy policy/seccomp.json]

prints each syscall with the workloads that used it and, given --policy,
what the traces used that the policy does not allow (a usability bug) and
what the policy allows that no trace used (allowed on purpose: the comment
in the policy must say why).
"""
import argparse
import collections
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PERMISSIVE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                  "comment": "as in the real policy, so glibc's fallback path is traced"}],
}
# (workload, extra nsrun options); the tmpfs-less run traces the read-only paths.
RUNS = [
    ("stdlib_tour.py", ["--tmpfs", "/tmp:64M"]),
    ("system_calls.py", ["--tmpfs", "/tmp:64M"]),
    ("concurrency.py", ["--tmpfs", "/tmp:64M"]),
    ("asyncio_ssl_sqlite.py", ["--tmpfs", "/tmp:64M"]),
    ("asyncio_ssl_sqlite.py", []),
]
SYSCALL = re.compile(r"^([a-z0-9_]+)\(")


def sandboxed_syscalls(trace_dir, supervisor_pid):
    """Syscall names made under the filter, from strace -ff output files."""
    names = collections.Counter()
    for path in trace_dir.iterdir():
        lines = path.read_text(errors="replace").splitlines()
        if path.suffix == f".{supervisor_pid}" or any(l.startswith("pivot_root(") for l in lines):
            continue
        start = next((i for i, l in enumerate(lines) if l.startswith("seccomp(SECCOMP_SET_MODE_FILTER")), -1)
        for line in lines[start + 1:]:
            m = SYSCALL.match(line)
            if m:
                names[m.group(1)] += 1
    return names


def trace(args, workload, options, policy_path):
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        cmd = ["strace", "-f", "-ff", "-qq", "-o", str(out / "t"), os.path.abspath(args.nsrun), "--rootfs",
               args.rootfs, "--seccomp-policy", policy_path, "--timeout", "60s",
               "--bind-ro", f"{HERE}:/app/adv", *options, str(HERE / "workloads" / workload)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if "FAIL" in proc.stdout or "done" not in proc.stdout:
            print(f"warning: {workload} {options}: {proc.stdout}{proc.stderr}", file=sys.stderr)
        supervisor = min(int(p.suffix[1:]) for p in out.iterdir())
        return sandboxed_syscalls(out, supervisor)


def handled_names(policy_file):
    """Names the policy allows (under some conditions) or answers with an errno
    of their own (clone3 -> ENOSYS): everything but the default EPERM."""
    policy = json.loads(pathlib.Path(policy_file).read_text())
    default = policy.get("defaultErrnoRet")
    return {n for rule in policy["syscalls"]
            if rule["action"] == "SCMP_ACT_ALLOW" or rule.get("errnoRet", default) != default
            for n in rule["names"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nsrun", required=True)
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--policy", help="compare the traces with this policy's allowed names")
    args = parser.parse_args()
    used = collections.defaultdict(set)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as permissive:
        json.dump(PERMISSIVE, permissive)
        permissive.flush()
        for workload, options in RUNS:
            for name in trace(args, workload, options, permissive.name):
                used[name].add(workload.removesuffix(".py"))
    for name in sorted(used):
        print(f"{name:24} {', '.join(sorted(used[name]))}")
    print(f"{len(used)} syscalls traced")
    if args.policy:
        handled = handled_names(args.policy)
        print("traced but refused:", " ".join(sorted(set(used) - handled)) or "-")
        print("allowed but never traced:", " ".join(sorted(handled - set(used))) or "-")


if __name__ == "__main__":
    main()
