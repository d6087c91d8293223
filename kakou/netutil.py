"""Small network helpers: free ports, binding with a clear error instead of a traceback."""

from __future__ import annotations

import socket


class PortInUse(Exception):
    def __init__(self, host: str, port: int, what: str) -> None:
        super().__init__(
            f"{what}: cannot listen on {host}:{port} — the port is already in use. "
            f"Stop whatever holds it or choose another port."
        )


def bind_tcp(host: str, port: int, what: str) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP;
    # with proto 0 every response written in two parts waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(host, port, what) from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ensure_free(host: str, port: int, what: str) -> None:
    """Fail fast with PortInUse before handing the port to a server that would only log it."""
    bind_tcp(host, port, what).close()
