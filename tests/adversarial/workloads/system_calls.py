"""Usability workload: the os, signal, select, socket, mmap and ctypes
features a script may use, each exercised once.  Needs --tmpfs /tmp:SIZE."""
import contextlib, ctypes, faulthandler, fcntl, mmap, os, resource, select
import selectors, signal, socket, sys, tempfile, threading, time


def step(name, fn):
    try:
        fn()
        print("ok", name)
    except Exception as e:
        print("FAIL", name, type(e).__name__, e)


def polling():
    r, w = os.pipe2(os.O_CLOEXEC)
    os.write(w, b"x")
    assert select.select([r], [], [], 1)[0] == [r]
    p = select.poll()
    p.register(r, select.POLLIN)
    assert p.poll(1000)
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    assert ep.poll(1)
    ep.close()
    with selectors.DefaultSelector() as sel:
        sel.register(r, selectors.EVENT_READ)
        assert sel.select(1)
    efd = os.eventfd(0)
    os.eventfd_write(efd, 3)
    assert os.eventfd_read(efd) == 3
    os.close(efd), os.close(r), os.close(w)


def signals():
    got = []
    signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
    os.kill(os.getpid(), signal.SIGUSR1)
    signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
    signal.signal(signal.SIGALRM, lambda *a: got.append(2))
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    time.sleep(0.05)
    signal.alarm(0), signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    signal.pause()
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    os.kill(os.getpid(), signal.SIGUSR2)
    assert signal.SIGUSR2 in signal.sigpending()
    assert signal.sigtimedwait([signal.SIGUSR2], 1).si_signo == signal.SIGUSR2
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w), signal.set_wakeup_fd(-1), signal.siginterrupt(signal.SIGUSR1, True)
    faulthandler.enable(), faulthandler.dump_traceback(file=open(os.devnull, "w")), faulthandler.disable()
    assert got.count(1) == 2 and 2 in got


def processes():
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    assert os.waitpid(pid, 0)[1] >> 8 == 3
    pid = os.fork()
    if pid == 0:
        os._exit(4)
    assert os.waitid(os.P_PID, pid, os.WEXITED).si_status == 4
    pid = os.fork()
    if pid == 0:
        os.setsid(), os._exit(5)
    assert os.wait4(pid, 0)[1] >> 8 == 5
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    fd = os.pidfd_open(pid)
    signal.pidfd_send_signal(fd, signal.SIGTERM)
    assert os.waitpid(pid, 0)[1] & 0x7f == signal.SIGTERM
    os.close(fd)
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", "pass"], {})
    assert os.waitpid(pid, 0)[1] == 0
    assert os.system("exit 6") >> 8 == 6
    assert os.popen("echo hi | while read x; do echo $x; done").read() == "hi\n"  # a shell pipe
    pid = os.fork()
    if pid == 0:   # os.execve with a descriptor: fexecve, that is execveat
        os.execve(os.open(sys.executable, os.O_RDONLY), [sys.executable, "-c", "pass"], {})
    assert os.waitpid(pid, 0)[1] == 0
    pid = os.fork()
    if pid == 0:   # a poll interrupted by SIGSTOP/SIGCONT resumes with restart_syscall
        t = time.monotonic()
        select.poll().poll(300)
        os._exit(0 if time.monotonic() - t >= 0.29 else 1)
    time.sleep(0.05)
    os.kill(pid, signal.SIGSTOP), time.sleep(0.05), os.kill(pid, signal.SIGCONT)
    assert os.waitpid(pid, 0)[1] == 0


def limits():
    resource.getrlimit(resource.RLIMIT_NOFILE), resource.getrusage(resource.RUSAGE_SELF)
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    resource.setrlimit(resource.RLIMIT_STACK, (soft, hard))
    resource.prlimit(0, resource.RLIMIT_NOFILE)
    os.sched_setaffinity(0, os.sched_getaffinity(0)), os.sched_yield(), os.sched_getscheduler(0)
    os.sched_getparam(0), os.sched_get_priority_max(os.SCHED_OTHER), os.sched_rr_get_interval(0)
    os.setpriority(os.PRIO_PROCESS, 0, 5), os.setuid(os.getuid()), os.setgid(os.getgid())
    os.setresuid(-1, -1, -1), os.setresgid(-1, -1, -1), os.setreuid(-1, -1), os.setregid(-1, -1)
    os.sched_get_priority_min(os.SCHED_OTHER), os.getresuid(), os.getresgid(), os.getpgid(0)
    pid = os.fork()
    if pid == 0:  # the script is a session leader: only a child may change group
        os._exit(0 if os.setpgid(0, 0) is None else 1)
    assert os.waitpid(pid, 0)[1] == 0
    for clock in (time.CLOCK_REALTIME, time.CLOCK_MONOTONIC, time.CLOCK_PROCESS_CPUTIME_ID,
                  time.CLOCK_THREAD_CPUTIME_ID, time.CLOCK_BOOTTIME):
        time.clock_gettime(clock), time.clock_getres(clock)
    time.process_time(), time.thread_time(), time.perf_counter(), time.time(), time.sleep(0.001)


def memory():
    m = mmap.mmap(-1, 1 << 20)
    m[:5] = b"hello"
    m.madvise(mmap.MADV_DONTNEED), m.resize(2 << 20), m.flush(), m.close()
    with tempfile.TemporaryFile() as f:
        f.truncate(4096)
        fm = mmap.mmap(f.fileno(), 4096)
        fm[0:1] = b"x"
        fm.flush(), fm.close()
    fd = os.memfd_create("t", os.MFD_CLOEXEC)
    os.write(fd, b"abc"), os.close(fd)


def native():
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.getpid() == os.getpid()
    buf = ctypes.create_string_buffer(64)
    libc.gethostname(buf, 64)
    assert buf.value.decode() == socket.gethostname()
    ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 7)()  # a callback needs executable trampoline memory


def sockets():
    a, b = socket.socketpair()
    a.sendall(b"x"), b.recv(1), a.sendmsg([b"y"]), b.recvmsg(1)
    a.close(), b.close()
    srv = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(srv.getsockname(), timeout=2)
    conn, _ = srv.accept()
    cli.sendall(b"ping"), conn.recv(4), conn.shutdown(socket.SHUT_RDWR)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1), cli.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    cli.getpeername(), cli.close(), conn.close(), srv.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0)), u.sendto(b"d", u.getsockname()), u.recvfrom(1), u.close()
    with contextlib.suppress(OSError):
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s6.bind(("::1", 0)), s6.close()
    path = tempfile.mktemp()
    us = socket.socket(socket.AF_UNIX)
    us.bind(path), us.listen(), us.close(), os.unlink(path)
    socket.gethostname(), socket.if_nameindex(), socket.getaddrinfo("localhost", 80)
    socket.gethostbyname("localhost"), socket.getservbyname("http")
    with contextlib.suppress(OSError):
        socket.getaddrinfo("example.com", 80)


def terminal():
    with contextlib.suppress(OSError):
        os.get_terminal_size()
    assert not os.isatty(0) and not sys.stdout.isatty()
    fcntl.fcntl(1, fcntl.F_GETFL)
    fcntl.ioctl(0, 0x541B, bytearray(4))  # FIONREAD on stdin: ioctl stays usable


for fn in (polling, signals, processes, limits, memory, native, sockets, terminal):
    step(fn.__name__, fn)
print("done")
