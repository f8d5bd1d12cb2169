"""Adversarial: the host's loopback services and abstract Unix sockets.

Each test starts a real listener on the host, hands its address to the
sandbox, and proves the sandbox cannot reach it (and the listener saw
nothing).  The sandbox has its own network namespace: its 127.0.0.1 and
::1 are its own, and abstract Unix socket names are per network
namespace.  (test_isolation.py covers TCP on 127.0.0.1.)
"""
import contextlib
import select
import socket
import subprocess
import uuid

import pytest

from adversarial_helpers import adv  # noqa: F401 (fixture)

CONNECT = '''
import json, socket
def attempt(family, kind, address):
    s = socket.socket(family, kind)
    s.settimeout(3)
    try:
        s.connect(address)
        s.sendall(b"hello from the sandbox")
        return "CONNECTED"
    except OSError as e:
        return errno.errorcode.get(e.errno, type(e).__name__)
    finally:
        s.close()
'''


def nothing_arrived(server, seconds=0.2):
    """The listener has no pending connection or datagram."""
    return select.select([server], [], [], seconds)[0] == []


@contextlib.contextmanager
def listener(family, kind, address):
    server = socket.socket(family, kind)
    try:
        server.bind(address)
        if kind == socket.SOCK_STREAM or kind == socket.SOCK_SEQPACKET:
            server.listen()
        yield server
    finally:
        server.close()


def test_host_ipv6_loopback_service_is_unreachable(adv):
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        server.bind(("::1", 0))
        server.listen()
    except OSError as e:
        server.close()
        pytest.skip(f"cannot listen on ::1 on this host: {e}")
    with server:
        port = server.getsockname()[1]
        result = adv.run(f'print(attempt(socket.AF_INET6, socket.SOCK_STREAM, ("::1", {port})))',
                         prelude=CONNECT)
        assert nothing_arrived(server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("ECONNREFUSED", "EADDRNOTAVAIL", "ENETUNREACH")


def test_host_udp_service_receives_nothing(adv):
    with listener(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = adv.run(f'''
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(20):
                s.sendto(b"leak", ("127.0.0.1", {port}))
            print("sent")
        ''', prelude=CONNECT)
        assert nothing_arrived(server)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("kind", ["SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_DGRAM"])
def test_host_abstract_unix_socket_is_unreachable(adv, kind):
    name = f"\0nsrun-test-{uuid.uuid4().hex}"
    sock_type = getattr(socket, kind)
    with listener(socket.AF_UNIX, sock_type, name) as server:
        if kind == "SOCK_DGRAM":
            source = f'''
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    s.sendto(b"leak", {name!r})
                    print("SENT")
                except OSError as e:
                    print(errno.errorcode[e.errno])
            '''
        else:
            source = f"print(attempt(socket.AF_UNIX, socket.{kind}, {name!r}))"
        result = adv.run(source, prelude=CONNECT)
        assert nothing_arrived(server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ECONNREFUSED"


def test_host_unix_socket_file_is_not_in_the_sandbox(adv, tmp_path):
    path = tmp_path / "host.sock"
    with listener(socket.AF_UNIX, socket.SOCK_STREAM, str(path)) as server:
        result = adv.run(f"print(attempt(socket.AF_UNIX, socket.SOCK_STREAM, {str(path)!r}))",
                         prelude=CONNECT)
        assert nothing_arrived(server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ENOENT"


def host_addresses():
    """The host's own non-loopback IPv4 addresses (from its routing)."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in out if "." in a and not a.startswith("127.")]


def test_host_services_on_its_external_address_are_unreachable(adv):
    addresses = host_addresses()
    if not addresses:
        pytest.skip("the host has no non-loopback IPv4 address")
    with listener(socket.AF_INET, socket.SOCK_STREAM, ("0.0.0.0", 0)) as server:
        port = server.getsockname()[1]
        result = adv.run(f'''
            print(json.dumps({{a: attempt(socket.AF_INET, socket.SOCK_STREAM, (a, {port}))
                              for a in {addresses!r}}}))
        ''', prelude=CONNECT)
        assert nothing_arrived(server)
    assert result.returncode == 0, result.stderr
    assert set(result.json_line().values()) <= {"ENETUNREACH", "EHOSTUNREACH"}, result.stdout


def free_host_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sandbox_listener_is_invisible_to_the_host(adv):
    # The other direction: a server in the sandbox on a port that is free on
    # the host is not reachable at the host's 127.0.0.1.
    port = free_host_port()
    proc = adv.popen('''
        import time
        server = socket.create_server(("127.0.0.1", int(ARGS[0])))
        print("listening", flush=True)
        time.sleep(3)
    ''', str(port), prelude=CONNECT, options=["--timeout", "10s"])
    try:
        assert proc.stdout.readline().strip() == b"listening"
        with socket.socket() as probe:
            probe.settimeout(2)
            code = probe.connect_ex(("127.0.0.1", port))
        assert code != 0, "the host reached the sandbox's listener"
    finally:
        proc.terminate()   # nsrun turns SIGTERM into a cancel and cleans up
        proc.communicate(timeout=30)
    adv.check_host()


def test_the_sandbox_sees_no_host_interface_or_route(adv):
    result = adv.run('''
        routes = open("/proc/net/route").read().splitlines()[1:]
        unix = [l.split()[-1] for l in open("/proc/net/unix").read().splitlines()[1:]
                if len(l.split()) > 7]
        print(json.dumps({"interfaces": [n for _, n in socket.if_nameindex()],
                          "routes": routes, "unix": unix,
                          "tcp": open("/proc/net/tcp").read().splitlines()[1:]}))
    ''', prelude=CONNECT)
    assert result.returncode == 0, result.stderr
    seen = result.json_line()
    assert seen["interfaces"] == ["lo"] and seen["routes"] == [] and seen["tcp"] == []
    assert seen["unix"] == [], "host Unix sockets are listed in the sandbox"
