"""Usability workload: asyncio (tasks, TCP and Unix streams, subprocess,
executors, signals), ssl (contexts, hashes, a TLS handshake over a
socketpair with the test certificate in /app/adv/data), sqlite3 (in memory
and, with --tmpfs, a WAL database file)."""
import asyncio, hashlib, hmac, os, secrets, signal, socket, sqlite3, ssl, sys, tempfile, threading

DATA = "/app/adv/data"


def step(name, fn):
    try:
        fn()
        print("ok", name)
    except Exception as e:
        print("FAIL", name, type(e).__name__, e)


async def echo(reader, writer):
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()


async def streams():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping\n")
    assert await reader.readline() == b"ping\n"
    writer.close()
    server.close()
    await server.wait_closed()
    path = tempfile.mktemp() if os.access("/tmp", os.W_OK) else None
    if path:
        userver = await asyncio.start_unix_server(echo, path)
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"unix\n")
        assert await r.readline() == b"unix\n"
        w.close(), userver.close()


async def main():
    assert await asyncio.gather(*(asyncio.sleep(0.01, result=i) for i in range(5))) == list(range(5))
    await streams()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "print(6*7)",
                                                stdout=asyncio.subprocess.PIPE)
    assert (await proc.communicate())[0] == b"42\n"
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, sum, [1, 2]) == 3
    got = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, got.set_result, "sig")
    os.kill(os.getpid(), signal.SIGUSR1)
    assert await asyncio.wait_for(got, 5) == "sig"
    try:
        await asyncio.wait_for(asyncio.sleep(10), 0.01)
    except asyncio.TimeoutError:
        pass
    q = asyncio.Queue()
    await q.put(1)
    assert await q.get() == 1


def tls():
    ctx = ssl.create_default_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    for name in ("sha1", "sha512", "sha3_256", "blake2b", "md5"):
        hashlib.new(name, b"x").hexdigest()
    hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 1000), hmac.new(b"k", b"m", "sha256").digest()
    secrets.token_hex(16), ssl.RAND_bytes(16)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(f"{DATA}/tls-cert.pem", f"{DATA}/tls-key.pem")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(f"{DATA}/tls-cert.pem")
    a, b = socket.socketpair()
    result = {}

    def serve():
        with server.wrap_socket(a, server_side=True) as s:
            result["server"] = s.recv(5)
            s.sendall(b"world")

    t = threading.Thread(target=serve)
    t.start()
    with client.wrap_socket(b, server_hostname="nsrun-test") as c:
        c.sendall(b"hello")
        result["client"] = c.recv(5)
        result["version"] = c.version()
    t.join(10)
    assert result["server"] == b"hello" and result["client"] == b"world", result
    assert result["version"].startswith("TLS"), result


def database():
    db = sqlite3.connect(":memory:")
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t (v) values (?)", [("a",), ("b",)])
    assert db.execute("select count(*) from t").fetchone() == (2,)
    db.create_function("twice", 1, lambda x: x * 2)
    assert db.execute("select twice(21)").fetchone() == (42,)
    if os.access("/tmp", os.W_OK):
        path = tempfile.mktemp(suffix=".db")
        f = sqlite3.connect(path)
        f.execute("pragma journal_mode=wal")
        f.execute("create table t (x)"), f.execute("insert into t values (1)"), f.commit()
        other = sqlite3.connect(path)
        assert other.execute("select x from t").fetchone() == (1,)
        other.close(), f.close()


step("asyncio", lambda: asyncio.run(main()))
step("ssl", tls)
step("sqlite3", database)
print("done")
