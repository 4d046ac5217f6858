"""A real HTTP server in front of the sandbox server: counts usage reads, and can fail them.

The sandbox's fault injection applies to every endpoint; a usage-only outage (Lago's usage
endpoints have their own budget and fail on their own) needs this: every other request is
forwarded unchanged, ``current_usage`` and ``past_usage`` are answered 503 while ``fail_usage``
is set. Binds 127.0.0.1 on a free port; ``close()`` stops it.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

USAGE_PATHS = ("/current_usage", "/past_usage")
OUTAGE = b'{"status":503,"error":"Service Unavailable"}'


class UsageProxy:
    def __init__(self, upstream: str) -> None:
        self.fail_usage = False
        self.usage_reads: list[str] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=upstream, timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if any(self.path.split("?")[0].endswith(p) for p in USAGE_PATHS):
                    with proxy._lock:
                        proxy.usage_reads.append(self.path)
                    if proxy.fail_usage:
                        self._answer(503, OUTAGE, "application/json")
                        return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "content-type", "accept")
                }
                reply = proxy._client.request(
                    self.command, self.path, content=body, headers=headers
                )
                self._answer(reply.status_code, reply.content, reply.headers.get("content-type"))

            def _answer(self, status: int, body: bytes, content_type: str | None) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._client.close()
