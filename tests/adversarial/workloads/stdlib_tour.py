"""Usability workload: a broad tour of the standard library and of the os
module, run under the shipped allowlist (and traced to derive it).
Needs --tmpfs /tmp:SIZE.  Prints "ok NAME" for each step that worked."""
import array, base64, bz2, collections, contextlib, csv, dataclasses, datetime, decimal, fcntl
import fractions, functools, gc, getpass, glob, grp, gzip, hashlib, itertools, json
import locale, logging, lzma, math, os, pathlib, pickle, platform, pwd, random, re
import shutil, statistics, struct, sys, tarfile, tempfile, textwrap, time, traceback
import unicodedata, uuid, warnings, zipfile, zlib


def step(name, fn):
    try:
        fn()
        print("ok", name)
    except Exception as e:  # report, keep going: the test names what failed
        print("FAIL", name, type(e).__name__, e)


def pure():
    assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
    data = b"nsrun" * 1000
    for mod in (zlib, gzip, bz2, lzma):
        assert mod.decompress(mod.compress(data)) == data
    assert hashlib.sha256(data).hexdigest() and hashlib.md5(data).digest()
    assert base64.b64decode(base64.b64encode(data)) == data
    assert decimal.Decimal("1.1") + decimal.Decimal("2.2") == decimal.Decimal("3.3")
    assert fractions.Fraction(1, 3) * 3 == 1 and statistics.mean([1, 2, 3]) == 2
    assert pickle.loads(pickle.dumps(collections.Counter("abca")))["a"] == 2
    assert re.sub(r"\d+", "#", "a1b22") == "a#b#" and math.isclose(math.pi, 3.14159, rel_tol=1e-5)
    assert struct.unpack("<I", struct.pack("<I", 7)) == (7,) and array.array("i", [1, 2])[1] == 2
    assert unicodedata.name("é") and textwrap.fill("x " * 50, 20)
    dataclasses.make_dataclass("P", ["x"])(1)
    datetime.datetime.now().isoformat(), time.strftime("%c"), time.localtime()
    random.seed(1), random.random(), random.SystemRandom().random(), uuid.uuid4(), uuid.uuid1()
    os.urandom(16), os.getrandom(16)
    traceback.format_stack(), warnings.warn("x"), logging.getLogger("t").warning("log ok")
    gc.collect(), functools.reduce(int.__add__, range(10)), list(itertools.permutations("abc"))


def identity():
    assert getpass.getuser() == "sandbox" and pwd.getpwuid(os.getuid()).pw_name == "sandbox"
    grp.getgrall(), pwd.getpwall(), os.getgroups()
    platform.platform(), platform.uname(), platform.libc_ver(), platform.python_version()
    os.uname(), os.cpu_count(), os.sched_getaffinity(0), os.getloadavg(), os.times()
    os.sysconf("SC_PAGE_SIZE"), os.confstr("CS_PATH"), os.getpid(), os.getppid(), os.getsid(0)
    os.getpgrp(), os.getpriority(os.PRIO_PROCESS, 0), os.nice(1), os.umask(0o22)
    locale.setlocale(locale.LC_ALL, "C"), locale.getpreferredencoding()  # the rootfs has no C.UTF-8 locale files
    shutil.disk_usage("/"), os.statvfs("/"), sys.getfilesystemencoding()


def files():
    base = pathlib.Path(tempfile.mkdtemp())
    f = base / "a.txt"
    f.write_text("hello\n" * 1000)
    with open(f, "rb") as src, open(base / "b.txt", "wb") as dst:
        os.sendfile(dst.fileno(), src.fileno(), 0, 100)
        os.copy_file_range(src.fileno(), dst.fileno(), 100, 0, 100)
    shutil.copy2(f, base / "c.txt"), shutil.copytree(base, base.with_name("tree"))
    os.link(f, base / "hard"), os.symlink(f, base / "sym"), os.readlink(base / "sym")
    os.rename(base / "hard", base / "hard2"), os.replace(base / "hard2", base / "hard3")
    os.chmod(f, 0o600), os.chown(f, os.getuid(), os.getgid()), os.utime(f, (1, 2))
    os.truncate(f, 10), os.access(f, os.R_OK), os.stat(f), os.lstat(base / "sym")
    fd = os.open(f, os.O_RDWR | os.O_CLOEXEC)
    os.pwrite(fd, b"x", 0), os.pread(fd, 1, 0), os.writev(fd, [b"a", b"b"]), os.lseek(fd, 0, 0)
    os.readv(fd, [bytearray(2)]), os.preadv(fd, [bytearray(2)], 0), os.pwritev(fd, [b"c"], 0)
    os.fsync(fd), os.fdatasync(fd), os.posix_fallocate(fd, 0, 4096), os.posix_fadvise(fd, 0, 0, 0)
    os.lockf(fd, os.F_LOCK, 0), os.ftruncate(fd, 0), os.fstat(fd), os.fchmod(fd, 0o644)
    os.dup2(fd, 100), os.close(100), os.set_blocking(fd, False), os.get_inheritable(fd)
    os.fchown(fd, -1, -1)
    os.close(fd)
    os.mkfifo(base / "fifo"), os.mkdir(base / "d"), os.makedirs(base / "d/e/f")
    dfd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)  # the *at forms, as shutil.rmtree uses them
    os.mkdir("at", dir_fd=dfd), os.symlink("a.txt", "at-link", dir_fd=dfd)
    os.readlink("at-link", dir_fd=dfd), os.link("a.txt", "at-hard", src_dir_fd=dfd, dst_dir_fd=dfd)
    os.rename("at-hard", "at-hard2", src_dir_fd=dfd, dst_dir_fd=dfd)
    os.chmod("a.txt", 0o644, dir_fd=dfd), os.chown("a.txt", -1, -1, dir_fd=dfd)
    os.access("a.txt", os.R_OK, dir_fd=dfd), os.access(f, os.R_OK, effective_ids=True)
    os.lchown(base / "sym", -1, -1), os.fchdir(dfd), os.chdir("/"), os.fstatvfs(dfd)
    os.close(os.dup(dfd)), os.dup2(dfd, 101, inheritable=False), os.close(101), os.close(dfd)
    with open(f, "rb") as fh, contextlib.suppress(OSError):
        os.setxattr(fh.fileno(), "user.fd", b"1"), os.getxattr(fh.fileno(), "user.fd")
        os.listxattr(fh.fileno()), os.removexattr(fh.fileno(), "user.fd")
    with contextlib.suppress(OSError):
        os.setxattr(f, "user.l", b"1", follow_symlinks=False), os.getxattr(f, "user.l", follow_symlinks=False)
        os.listxattr(f, follow_symlinks=False), os.removexattr(f, "user.l", follow_symlinks=False)
        os.removexattr(f, "user.k")
    with open(f, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX), fcntl.flock(fh, fcntl.LOCK_UN)
    list(os.walk(base)), list(os.scandir(base)), glob.glob(str(base / "*")), os.listdir(base)
    os.chdir(base), os.getcwd(), os.chdir("/")
    with zipfile.ZipFile(base / "z.zip", "w") as z:
        z.writestr("x", "y")
    with tarfile.open(base / "t.tar.gz", "w:gz") as t:
        t.add(f, arcname="f")
    with open(base / "w.csv", "w", newline="") as c:
        csv.writer(c).writerow([1, 2])
    with contextlib.suppress(OSError):
        os.setxattr(f, "user.k", b"v"), os.getxattr(f, "user.k"), os.listxattr(f)
    shutil.rmtree(base), shutil.rmtree(base.with_name("tree"))
    tempfile.TemporaryFile().write(b"x"), tempfile.NamedTemporaryFile().write(b"x")
    tempfile.SpooledTemporaryFile().write(b"x")


def imports():
    """Import every pure and extension module a script may reasonably use."""
    for name in ("asyncio", "concurrent.futures", "ctypes", "curses", "dbm", "decimal",
                 "email.mime.text", "html.parser", "http.client", "http.server", "inspect",
                 "ipaddress", "mmap", "multiprocessing", "readline", "select", "selectors",
                 "socket", "socketserver", "sqlite3", "ssl", "termios", "xml.dom.minidom",
                 "typing", "urllib.request", "xml.etree.ElementTree", "zoneinfo", "unittest",
                 "doctest", "pdb", "cProfile", "timeit", "trace", "string"):
        __import__(name)


step("pure", pure)
step("identity", identity)
step("files", files)
step("imports", imports)
print("done")
