"""A small HTTP proxy in front of `lagoform sandbox serve` that misbehaves on cue.

Real Lago deployments sit behind load balancers and gateways that time out, echo headers,
answer 2xx with nothing in them, redirect, page forever or garble a chunked body. The fault-proxy
suite (tests/test_fault_proxy.py) drives lagoform's CLI through this proxy at those moments.

Every request is recorded (``seen``) and matched against the rules in order; a rule applies to
its next ``times`` matching requests, then falls away. Unmatched requests are forwarded to the
upstream sandbox, with the Authorization header replaced by the sandbox's key (the proxy acts as
a gateway, so lagoform can run with a canary key or URL credentials). Binds 127.0.0.1 on a free
port, one thread per connection; ``close()`` stops it and frees any held request.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Seen:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Action = Callable[["_Handler", Seen], None]


@dataclass
class Rule:
    method: str
    path: str  # a regex searched in the path (query included)
    action: Action
    times: int = 1  # requests it applies to; -1: all


@dataclass
class FaultProxy:
    upstream: str
    upstream_key: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    held: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._client = httpx.Client(base_url=self.upstream, timeout=30)
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- scripting --------------------------------------------------------------------------
    def on(self, method: str, path: str, action: Action, times: int = 1) -> None:
        with self._lock:
            self.rules.append(Rule(method, path, action, times))

    def clear(self) -> None:
        """Forget the rules and the requests seen so far."""
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def requests(self, method: str, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.method == method and re.search(path, s.path)]

    def _rule_for(self, seen: Seen) -> Rule | None:
        with self._lock:
            self.seen.append(seen)
            for rule in self.rules:
                if rule.method == seen.method and re.search(rule.path, seen.path):
                    if rule.times > 0:
                        rule.times -= 1
                        if rule.times == 0:
                            self.rules.remove(rule)
                    return rule
        return None

    # -- talking to the sandbox -------------------------------------------------------------
    def forward(self, seen: Seen) -> httpx.Response:
        headers = {k: v for k, v in seen.headers.items() if k.lower() in ("content-type", "accept")}
        headers["Authorization"] = f"Bearer {self.upstream_key}"
        return self._client.request(seen.method, seen.path, content=seen.body, headers=headers)

    def release(self) -> list[httpx.Response]:
        """Send the held requests on to the sandbox, late (they were still in flight)."""
        with self._lock:
            held, self.held = self.held, []
        return [self.forward(s) for s in held]

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._client.close()


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, dict(self.headers.items()), body)
        rule = self.owner._rule_for(seen)
        if rule is not None:
            rule.action(self, seen)
            return
        self.relay(self.owner.forward(seen))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def relay(self, reply: httpx.Response) -> None:
        self.answer(reply.status_code, reply.content, reply.headers.get("content-type"))

    def answer(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return


# -- actions --------------------------------------------------------------------------------


def respond(
    status: int, body: Any = None, content_type: str | None = None, **headers: str
) -> Action:
    """A canned answer (``body``: bytes, text, or JSON data)."""
    if isinstance(body, bytes):
        data, kind = body, content_type
    elif isinstance(body, str):
        data, kind = body.encode(), content_type or "text/plain"
    else:
        data = b"" if body is None else json.dumps(body).encode()
        kind = content_type or ("application/json" if body is not None else None)
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return lambda handler, seen: handler.answer(status, data, kind, named)


def raw(data: bytes) -> Action:
    """Bytes written as the whole answer, then the connection closes (a broken gateway)."""

    def act(handler: _Handler, seen: Seen) -> None:
        handler.wfile.write(data)
        handler.wfile.flush()
        handler.close_connection = True

    return act


def lose_answer(after_seconds: float) -> Action:
    """Forward to the sandbox (it processes the call), but never pass its answer back: the
    client times out while Lago has done it."""

    def act(handler: _Handler, seen: Seen) -> None:
        handler.owner.forward(seen)
        handler.owner._stop.wait(after_seconds)
        handler.close_connection = True

    return act


def hold(seconds: float = 30.0) -> Action:
    """Keep the request (``release()`` sends it on later) and answer nothing: the client times
    out while the call is still on its way to Lago."""

    def act(handler: _Handler, seen: Seen) -> None:
        with handler.owner._lock:
            handler.owner.held.append(seen)
        handler.owner._stop.wait(seconds)
        handler.close_connection = True

    return act


def rewrite(change: Callable[[Seen, Any], Any]) -> Action:
    """Forward, then answer with ``change(request, JSON body)``."""

    def act(handler: _Handler, seen: Seen) -> None:
        reply = handler.owner.forward(seen)
        data = change(seen, reply.json())
        handler.answer(reply.status_code, json.dumps(data).encode())

    return act


def slowly(seconds: float, then: Action) -> Action:
    def act(handler: _Handler, seen: Seen) -> None:
        time.sleep(seconds)
        then(handler, seen)

    return act
