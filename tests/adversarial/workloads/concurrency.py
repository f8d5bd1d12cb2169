"""Usability workload: threads, subprocess (of Python itself) and
multiprocessing (fork, spawn and forkserver; Pool, Queue, locks, shared
memory in /dev/shm).  The forkserver and Manager need a writable temporary
directory: run with --tmpfs /tmp:SIZE."""
import concurrent.futures, multiprocessing as mp, queue, subprocess, sys, threading
from multiprocessing import shared_memory


def step(name, fn):
    try:
        fn()
        print("ok", name)
    except Exception as e:
        print("FAIL", name, type(e).__name__, e)


def square(x):
    return x * x


def threads():
    results, lock, barrier = [], threading.Lock(), threading.Barrier(4)
    local = threading.local()

    def work(i):
        local.i = i
        barrier.wait(5)
        with lock:
            results.append(local.i)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    [t.start() for t in ts], [t.join() for t in ts]
    assert sorted(results) == [0, 1, 2, 3]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert list(ex.map(square, range(20))) == [x * x for x in range(20)]
    ev, q, cond = threading.Event(), queue.Queue(), threading.Condition()
    threading.Timer(0.01, ev.set).start()
    assert ev.wait(5)
    q.put(1), q.get(timeout=1), threading.Semaphore(2).acquire()
    with cond:
        cond.wait(0.01)


def subprocesses():
    out = subprocess.run([sys.executable, "-c", "import sys; print(sys.argv[1])", "child"],
                         capture_output=True, text=True, check=True).stdout
    assert out == "child\n"
    p = subprocess.Popen([sys.executable, "-c", "print(input()[::-1])"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert p.communicate("abc", timeout=10)[0] == "cba\n"
    try:
        subprocess.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    except subprocess.TimeoutExpired:
        pass
    assert subprocess.call(["/bin/sh", "-c", "exit 3"]) == 3
    assert subprocess.check_output("echo $((1+2))", shell=True) == b"3\n"


def pool(method):
    ctx = mp.get_context(method)
    with ctx.Pool(2) as p:
        assert p.map(square, range(10)) == [x * x for x in range(10)]
    q, lock, value = ctx.Queue(), ctx.Lock(), ctx.Value("i", 0)
    proc = ctx.Process(target=worker, args=(q, lock, value))
    proc.start()
    assert q.get(timeout=20) == "hello" and proc.join(20) is None and proc.exitcode == 0
    assert value.value == 1


def worker(q, lock, value):
    with lock:
        value.value += 1
    q.put("hello")


def shared():
    shm = shared_memory.SharedMemory(create=True, size=4096)
    shm.buf[:3] = b"abc"
    other = shared_memory.SharedMemory(shm.name)
    assert bytes(other.buf[:3]) == b"abc"
    other.close(), shm.close(), shm.unlink()
    with mp.Manager() as m:
        d = m.dict()
        d["k"] = 1
        assert d["k"] == 1
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        assert list(ex.map(square, range(5))) == [0, 1, 4, 9, 16]


if __name__ == "__main__":
    step("threads", threads)
    step("subprocess", subprocesses)
    for method in ("fork", "spawn", "forkserver"):
        step("multiprocessing-" + method, lambda: pool(method))
    step("shared-memory", shared)
    print("done")
