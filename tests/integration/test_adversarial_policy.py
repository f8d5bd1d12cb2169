"""The policy itself as an input: `nsrun --check-policy FILE...` validates
policies without running anything, with the same parser and compiler as a
run; hostile or broken files are rejected with FILE:LINE: reason and exit
125, and the shipped allowlist compiles.

Skipped when the binary under test has no --check-policy yet (it is wired
into src/cli/main.c separately from src/cli/check_policy.c).
"""
import json
import pathlib
import re
import subprocess

import pytest

from adversarial_helpers import adv  # noqa: F401 (fixture)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "policy" / "seccomp.json"
FIXTURES = ROOT / "tests" / "data" / "policy"

BROKEN = {
    "syntax.json": 5,
    "unknown-top-key.json": None,
    "unknown-rule-key.json": 8,
    "sc-unknown-syscall.json": 5,
    "sc-conflict-same-args.json": 12,
    "allowlist-typo.json": 11,
    "allowlist-ioctl-unconditional.json": 11,
    "not-object.json": None,
}


def check_policy(adv, *files):
    proc = subprocess.Popen([adv.runner.binary, "--check-policy", *map(str, files)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    adv.supervisors.add(proc.pid)
    out, err = proc.communicate(timeout=60)
    if "unrecognized option" in err:
        pytest.skip("this nsrun has no --check-policy")
    adv.check_host()   # nothing was created: no process, cgroup or mount
    return proc.returncode, out, err


def test_the_shipped_allowlist_checks_out(adv):
    code, out, err = check_policy(adv, SHIPPED)
    assert code == 0, err
    match = re.fullmatch(rf"{re.escape(str(SHIPPED))}: ok \((\d+) rules, (\d+) BPF instructions\)\n",
                         out)
    assert match, out
    rules, instructions = map(int, match.groups())
    names = sum(len(r["names"]) for r in json.loads(SHIPPED.read_text())["syscalls"])
    assert rules == names and 0 < instructions < 4096


@pytest.mark.parametrize("fixture", BROKEN)
def test_a_broken_policy_is_refused_with_its_line(adv, fixture):
    path = FIXTURES / fixture
    code, out, err = check_policy(adv, path)
    assert code == 125 and out == ""
    prefix = f"nsrun: {path}:{BROKEN[fixture]}:" if BROKEN[fixture] else f"nsrun: {path}:"
    assert err.startswith(prefix), err


def test_several_files_report_each_and_fail_if_any_fails(adv):
    code, out, err = check_policy(adv, SHIPPED, FIXTURES / "allowlist-typo.json",
                                  FIXTURES / "valid.json")
    assert code == 125
    assert out.count(": ok (") == 2
    assert "allowlist-typo.json:11: unknown syscall 'exceve'" in err


def test_a_run_with_a_broken_policy_fails_before_anything_starts(adv):
    result = adv.run('print("ran")', options=["--seccomp-policy",
                                               str(FIXTURES / "allowlist-ioctl-unconditional.json")])
    assert result.returncode == 125 and "ran" not in result.stdout
    assert "allowlist-ioctl-unconditional.json:11:" in result.stderr
