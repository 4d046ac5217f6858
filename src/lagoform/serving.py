"""Serving lagoform's ASGI apps (the sandbox, the usage ingest endpoint) with uvicorn.

We bind the listening socket ourselves rather than letting uvicorn do it, so that
``--port 0`` can report the port the kernel chose, and so that accepted sockets inherit
TCP_NODELAY (see ``bind``).
"""

from __future__ import annotations

import socket


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A non-blocking listening socket on ``host:port`` (port 0: the kernel picks one)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY on Linux; without it the response head and body
    # (two writes) meet the client's delayed ACK and every request waits ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
