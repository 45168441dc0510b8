"""A real test host on this machine: a network namespace joined to the root one by a veth pair.

A process started in it reaches the machine's PostgreSQL and Redis only through forwarders listening
on the host side of the veth, so taking the link down is a real partition: packets are dropped, no
connection is reset, exactly as when a switch or a cloud zone goes away. Needs root and iproute2.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import threading
from urllib.parse import urlsplit, urlunsplit


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def available() -> str | None:
    """None when test hosts can be made here, else why not."""
    if os.geteuid() != 0:
        return "test hosts need root (ip netns)"
    if shutil.which("ip") is None:
        return "test hosts need iproute2 (ip)"
    return None


class TestHost:
    """``ip netns`` + veth; ``address`` is the namespace's, ``gateway`` the root side's."""

    def __init__(self) -> None:
        tag = os.urandom(3).hex()
        self.netns, self.outer, self.inner = f"etlh{tag}", f"veh{tag}", f"ven{tag}"
        subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}"
        self.gateway, self.address = f"{subnet}.1", f"{subnet}.2"
        self.forwarders: list[Forwarder] = []
        _ip("netns", "add", self.netns)
        try:
            _ip("link", "add", self.outer, "type", "veth", "peer", "name", self.inner)
            _ip("link", "set", self.inner, "netns", self.netns)
            _ip("addr", "add", f"{self.gateway}/30", "dev", self.outer)
            _ip("link", "set", self.outer, "up")
            for args in (
                ("addr", "add", f"{self.address}/30", "dev", self.inner),
                ("link", "set", self.inner, "up"),
                ("link", "set", "lo", "up"),
            ):
                _ip("-n", self.netns, *args)
        except BaseException:
            self.remove()
            raise

    def command(self, *argv: str) -> tuple[str, ...]:
        """``argv`` run inside the namespace."""
        return ("ip", "netns", "exec", self.netns, *argv)

    def reach(self, url: str) -> str:
        """The same URL as seen from inside: its 127.0.0.1 server reached through a forwarder."""
        parts = urlsplit(url)
        port = parts.port or {"redis": 6379}.get(parts.scheme, 5432)
        self.forwarders.append(Forwarder((self.gateway, port), ("127.0.0.1", port)))
        netloc = parts.netloc.rsplit("@", 1)
        host = f"{self.gateway}:{port}"
        return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))

    def cut(self) -> None:
        _ip("link", "set", self.outer, "down")

    def heal(self) -> None:
        _ip("link", "set", self.outer, "up")

    def remove(self) -> None:
        for forwarder in self.forwarders:
            forwarder.close()
        subprocess.run(["ip", "link", "del", self.outer], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, timeout=30)


class Forwarder:
    """A TCP forwarder: each connection accepted on ``listen`` is joined to a new one to ``target``."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(listen, reuse_port=False)
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()
        for s in self.open:
            s.close()
