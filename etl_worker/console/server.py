"""Serve the console with uvicorn, in this process (``etl-worker ui``) or in a thread (``demo --keep``)."""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable

import uvicorn

from etl_worker.console.app import create_app
from etl_worker.errors import ConfigurationError
from etl_worker.settings import Settings


def _bound(address: str, port: int) -> socket.socket:
    """The console's socket, bound now: a taken port is one readable line, not a server log."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        taken = " (in use)" if exc.errno == errno.EADDRINUSE else ""
        raise ConfigurationError(f"cannot serve the console on {address}:{port}{taken}: {exc.strerror}") from None
    return sock


class ConsoleServer:
    """A running console: its address, and a way to stop it."""

    def __init__(self, settings: Settings, address: str = "127.0.0.1", port: int = 8080) -> None:
        self.sock = _bound(address, port)
        host, bound_port = self.sock.getsockname()[:2]
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
        config = uvicorn.Config(
            create_app(settings, settings.ui_basic_auth), log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)

    def run(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="console", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.server.should_exit = True


def serve(settings: Settings, address: str, port: int, on_ready: Callable[[str], None]) -> None:
    server = ConsoleServer(settings, address, port)
    on_ready(server.url)
    server.run()
