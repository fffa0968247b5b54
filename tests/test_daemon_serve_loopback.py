"""`o211 serve` listens on 127.0.0.1 only (operations.md, "Privacy and security").

Two independent proofs: the kernel's socket table shows every listening TCP socket of the
server's processes bound to a loopback address, and a connection to the machine's own
non-loopback address on the UI port is refused.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live.server import LiveDagster, shared_server

pytestmark = pytest.mark.slow

TCP_LISTEN = "0A"


@pytest.fixture(scope="session")
def live_dagster(request, tmp_path_factory) -> LiveDagster:
    return shared_server(request, tmp_path_factory)


@dataclass(frozen=True)
class Listener:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    pid: int


def decode_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp{,6} print each 32-bit word of the address in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """127.0.0.0/8, ::1, or 127.x written as an IPv4-mapped IPv6 address."""
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def process_group(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # Fields after the command name (which may hold spaces) in parentheses: state, ppid, pgrp.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    return inodes


def listening_sockets(pgid: int) -> list[Listener]:
    """Every TCP socket in LISTEN state held by a process of the group."""
    owner = {inode: pid for pid in process_group(pgid) for inode in socket_inodes(pid)}
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table, encoding="ascii") as handle:
            next(handle)  # header
            for line in handle:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == TCP_LISTEN and inode in owner:
                    address, port = local.split(":")
                    found.append(Listener(decode_address(address), int(port, 16), owner[inode]))
    return found


def non_loopback_addresses() -> list[str]:
    """This machine's own IPv4 addresses other than loopback (none in a network-less sandbox)."""
    addresses = set()
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addresses.add(str(info[4][0]))
    # Choosing a route for a UDP socket sends nothing but reveals the outward address.
    with (
        contextlib.suppress(OSError),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe,
    ):
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
        addresses.add(str(probe.getsockname()[0]))
    return sorted(a for a in addresses if not ipaddress.ip_address(a).is_loopback)


def test_decode_address_reads_the_kernel_byte_order() -> None:
    assert decode_address("0100007F") == ipaddress.ip_address("127.0.0.1")
    assert decode_address("00000000000000000000000001000000") == ipaddress.ip_address("::1")
    mapped = decode_address("0000000000000000FFFF00000100007F")
    assert mapped == ipaddress.ip_address("::ffff:127.0.0.1") and is_loopback(mapped)
    assert not is_loopback(decode_address("00000000")), "0.0.0.0 listens on every interface"
    assert not is_loopback(decode_address("00000000000000000000000000000000"))


def test_serve_listens_on_loopback_only(live_dagster: LiveDagster) -> None:
    server = live_dagster
    assert server.graphql("{ version }")["version"], "the UI does not answer on 127.0.0.1"

    listeners = listening_sockets(server.process.pid)
    assert any(s.port == server.port for s in listeners), (
        f"no process of o211 serve listens on port {server.port}: {listeners}"
    )
    exposed = [s for s in listeners if not is_loopback(s.address)]
    assert not exposed, server.failure(
        f"o211 serve listens beyond loopback (anyone on the network could reach it): {exposed}"
    )

    for address in non_loopback_addresses():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            try:
                client.connect((address, server.port))
            except OSError:
                continue  # refused (or filtered): not reachable from the network
            pytest.fail(f"the Dagster UI answers on {address}:{server.port}, not only 127.0.0.1")
