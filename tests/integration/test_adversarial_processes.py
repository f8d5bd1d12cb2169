"""Adversarial: process bombs, processes that try to outlive the run, and
signals aimed at the sandbox's init and at the supervisor outside it.

Safe outcome for each: the pids limit holds while the attack runs, the run
ends (by itself or at its timeout) with the right verdict, and the host
check of the `adv` fixture finds no process, cgroup or mount left.
(test_lifecycle.py already covers plain orphans, a double-forked daemon
and a one-level fork bomb; these are the harder variants.)
"""
import json
import os
import pathlib
import subprocess
import time

from adversarial_helpers import adv, sandbox_cgroup_file, wait_for_line  # noqa: F401 (fixture)

SAMPLE_SECONDS = 0.05


def sample_while_running(proc, path_of, seconds=30):
    """Largest integer read from the file path_of() names until proc ends."""
    largest, deadline = 0, time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        path = path_of()
        try:
            largest = max(largest, int(path.read_text().split()[0])) if path else largest
        except (OSError, ValueError):
            pass
        time.sleep(SAMPLE_SECONDS)
    return largest


def host_can_fork():
    return subprocess.run(["true"], timeout=10).returncode == 0


# ---- bombs ----

def test_recursive_fork_bomb_is_held_at_the_pids_limit(adv):
    proc = adv.popen('''
        import time
        print("bombing", flush=True)
        while True:
            try:
                os.fork()      # every child keeps forking too
            except OSError:
                time.sleep(0.01)
    ''', options=["--pids-limit", "24", "--timeout", "2s"])
    wait_for_line(proc.stdout, "bombing")
    peak = sample_while_running(
        proc, lambda: sandbox_cgroup_file(proc.pid, "pids", "pids.current"))
    assert host_can_fork()
    proc.communicate(timeout=30)
    assert proc.returncode == 124
    assert 0 < peak <= 24, peak
    adv.check_host()


def test_thread_bomb_stops_at_the_pids_limit(adv):
    result = adv.run('''
        import threading
        gate, count = threading.Event(), 0
        try:
            while True:
                threading.Thread(target=gate.wait, daemon=True).start()
                count += 1
        except RuntimeError as e:
            print("threads", count, e)
        gate.set()
    ''', options=["--pids-limit", "20", "--timeout", "10s"])
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[0] == "threads" and 0 < int(words[1]) < 20, result.stdout
    assert "can't start new thread" in result.stdout


def test_python_subprocess_bomb_ends_at_the_timeout(adv):
    # Each interpreter starts two more; the marker rides along in argv.
    result = adv.run('''
        import subprocess, time
        SPAWN = "import subprocess, sys, time\\n" \\
                "for _ in range(2):\\n" \\
                "    try: subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[1], sys.argv[2]])\\n" \\
                "    except OSError: pass\\n" \\
                "time.sleep(60)\\n"
        for _ in range(2):
            subprocess.Popen([sys.executable, "-c", SPAWN, SPAWN, MARKER])
        time.sleep(60)
    ''', options=["--pids-limit", "12", "--memory", "256M", "--timeout", "2s"])
    assert result.returncode == 124, result.stderr


def test_vfork_exec_bomb_via_posix_spawn_is_bounded(adv):
    result = adv.run('''
        import time
        spawned = 0
        try:
            while True:
                os.posix_spawn("/bin/sh", ["sh", "-c", "sleep 60", MARKER], {})
                spawned += 1
        except OSError as e:
            print("spawned", spawned, errno.errorcode[e.errno])
    ''', options=["--pids-limit", "16", "--timeout", "10s"])
    assert result.returncode == 0, result.stderr
    assert 0 < int(result.stdout.split()[1]) < 16
    assert result.stdout.split()[2] == "EAGAIN"


def test_zombie_flood_exhausts_only_the_sandbox(adv):
    result = adv.run('''
        zombies = 0
        try:
            while True:
                if os.fork() == 0:
                    os._exit(0)    # never reaped: each zombie keeps its pid
                zombies += 1
        except OSError as e:
            print("zombies", zombies, errno.errorcode[e.errno])
    ''', options=["--pids-limit", "16", "--timeout", "10s"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "zombies" and int(result.stdout.split()[1]) < 16
    assert host_can_fork()


# ---- processes that try to outlive the run ----

def test_stopped_children_and_stopped_script_are_gone_after_the_timeout(adv):
    result = adv.run('''
        import signal
        for _ in range(3):
            if os.fork() == 0:
                os.kill(os.getpid(), signal.SIGSTOP)
                os._exit(0)
        print("stopping myself", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
        print("never resumed")
    ''', options=["--timeout", "1s"])
    assert result.returncode == 124
    assert "stopping myself" in result.stdout and "never resumed" not in result.stdout


def test_stopped_children_are_gone_after_a_normal_exit(adv):
    result = adv.run('''
        import signal
        for _ in range(3):
            if os.fork() == 0:
                os.setsid()
                os.kill(os.getpid(), signal.SIGSTOP)
                os._exit(0)
        print("leaving them stopped")
    ''', options=["--timeout", "10s"])
    assert result.returncode == 0, result.stderr
    assert "leaving them stopped" in result.stdout


def test_daemon_that_ignores_every_signal_is_gone_after_the_timeout(adv):
    result = adv.run('''
        import signal, subprocess, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:        # double fork: reparented to init
                for sig in range(1, signal.NSIG):
                    try:
                        signal.signal(sig, signal.SIG_IGN)
                    except (OSError, ValueError):
                        pass
                signal.pthread_sigmask(signal.SIG_BLOCK, range(1, signal.NSIG))
                os.execv(sys.executable, [sys.executable, "-c",
                         "import time\\nwhile True: time.sleep(1)", MARKER])
            os._exit(0)
        print("daemonised", flush=True)
        time.sleep(60)
    ''', options=["--timeout", "1s"])
    assert result.returncode == 124
    assert "daemonised" in result.stdout


def test_pid_hopping_process_chain_is_gone_after_a_normal_exit(adv):
    # A "rabbit": it forks and its parent exits, over and over, so its pid
    # keeps changing; pid-based killers chase it forever.
    result = adv.run('''
        if os.fork() == 0:
            os.setsid()
            while True:
                try:
                    if os.fork() != 0:
                        os._exit(0)
                except OSError:
                    pass
        import time
        time.sleep(0.3)
        print("rabbit running")
    ''', options=["--timeout", "10s"])
    assert result.returncode == 0, result.stderr
    assert "rabbit running" in result.stdout


def test_process_groups_and_sessions_do_not_escape_the_pid_namespace(adv):
    result = adv.run('''
        import subprocess
        procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", MARKER],
                                  start_new_session=True) for _ in range(2)]
        procs += [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", MARKER],
                                   process_group=0) for _ in range(2)]
        print("groups", sorted({os.getpgid(p.pid) for p in procs}))
    ''', options=["--timeout", "10s"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("groups")


# ---- signals: the sandbox's init, kill(-1), the supervisor ----

def test_kill_minus_one_kills_only_the_sandbox_and_the_verdict_stays_right(adv):
    result = adv.run('''
        import signal, subprocess
        children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", MARKER])
                    for _ in range(3)]
        os.kill(-1, signal.SIGKILL)   # everyone the script may signal, but itself and init
        codes = [c.wait(timeout=10) for c in children]
        print("children", codes)
        sys.exit(7)
    ''', options=["--timeout", "10s"])
    assert result.returncode == 7, result.stderr
    assert "children [-9, -9, -9]" in result.stdout


def test_signals_to_init_are_ignored_and_the_run_reports_normally(adv):
    result = adv.run('''
        import signal, time
        sent = {}
        for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGINT,
                    signal.SIGSEGV, signal.SIGHUP, signal.SIGUSR1):
            try:
                os.kill(1, sig)
                sent[sig.name] = "sent"
            except OSError as e:
                sent[sig.name] = errno.errorcode[e.errno]
        time.sleep(0.2)
        print(sent)
        print("init still there")
        sys.exit(5)
    ''', options=["--timeout", "10s"])
    assert result.returncode == 5, result.stderr
    assert "init still there" in result.stdout


def test_supervisor_and_caller_cannot_be_reached_from_inside(adv):
    # The test hands the sandbox the pids that matter outside: nsrun's
    # (the supervisor) and pytest's.  Every way to name them must fail.
    proc = adv.popen('''
        import fcntl, json, signal
        targets = [int(x) for x in sys.stdin.readline().split()]
        found = {}
        def attempt(what, fn):
            try:
                fn()
                found[what] = "OK"
            except OSError as e:
                found[what] = errno.errorcode[e.errno]
        for pid in targets:
            attempt(f"kill {pid}", lambda: os.kill(pid, signal.SIGKILL))
            attempt(f"killpg {pid}", lambda: os.killpg(pid, signal.SIGKILL))
            attempt(f"pidfd_open {pid}", lambda: os.pidfd_open(pid))
            attempt(f"F_SETOWN {pid}", lambda: fcntl.fcntl(1, fcntl.F_SETOWN, pid))
            attempt(f"F_SETOWN -{pid}", lambda: fcntl.fcntl(1, fcntl.F_SETOWN, -pid))
        # and every pid there is: only the sandbox's own answer
        alive = []
        for pid in range(1, 70000):
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
            except PermissionError:
                alive.append(pid)
        print(json.dumps({"found": found, "alive": alive}))
    ''', stdin=subprocess.PIPE, options=["--timeout", "20s"])
    out, err = proc.communicate(f"{proc.pid} {os.getpid()}\n".encode(), timeout=60)
    assert proc.returncode == 0, err
    report = json.loads(out.decode().splitlines()[-1])
    assert set(report["found"].values()) == {"ESRCH"}, report["found"]
    assert report["alive"] == [1, 2], report["alive"]
    adv.check_host()


def test_nothing_of_the_run_survives_a_sigkilled_supervisor(adv):
    # Regression: the kernel clears PR_SET_PDEATHSIG when init changes its
    # ids, so a `kill -9` of nsrun used to leave init and the script (and
    # everything they started) running on the host forever.
    proc = adv.popen('''
        import subprocess, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", MARKER])
        print("up", flush=True)
        time.sleep(60)
    ''', options=["--timeout", "30s"])
    wait_for_line(proc.stdout, "up")
    proc.kill()
    proc.communicate(timeout=30)
    assert adv.leftover_processes(grace=2.0) == []
    # Every task of the run leaves its cgroup (exiting ones take a moment).
    # Nobody is left to remove the then empty cgroup: a known limit of
    # SIGKILL, cleaned up here so the host check below stays meaningful.
    for path in adv.leftover_cgroups():
        assert cgroup_empties(pathlib.Path(path), seconds=5), f"tasks remain in {path}"
        os.rmdir(path)
    adv.check_host()


def cgroup_empties(path, seconds):
    deadline = time.monotonic() + seconds
    while (path / "cgroup.procs").read_text().strip():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
