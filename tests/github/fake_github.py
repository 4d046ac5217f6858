"""A stand-in for GitHub's REST API (issues and issue comments, a pull request's files, the pull
requests of a commit) that records every call.

Runs a real HTTP server on 127.0.0.1 in a thread, so the Action's httpx client is exercised over
a socket exactly as on a runner. Pagination follows GitHub's ``Link: <…>; rel="next"`` header.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    authorization: str | None


@dataclass
class FakeGitHubState:
    token: str
    repository: str
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by issue number
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    pull_files: dict[int, list[str]] = field(default_factory=dict)  # by pull request number
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)  # merged PRs by commit sha
    calls: list[Call] = field(default_factory=list)
    next_id: int = 1000
    next_number: int = 1
    forbid_writes: bool = False
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_comment(self, number: int, body: str, author: str = "someone") -> dict[str, Any]:
        cid = self.new_id()
        comment = {
            "id": cid,
            "body": body,
            "user": {"login": author},
            "html_url": f"https://github.test/{self.repository}/pull/{number}#issuecomment-{cid}",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def add_issue(self, title: str, body: str, labels: list[str], *, pr: bool = False) -> int:
        number = self.next_number
        self.next_number += 1
        self.issues[number] = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "labels": [{"name": name} for name in labels],
            "html_url": f"https://github.test/{self.repository}/issues/{number}",
            **({"pull_request": {"url": "x"}} if pr else {}),
        }
        return number

    def all_bodies(self) -> list[str]:
        bodies = [c["body"] for cs in self.comments.values() for c in cs]
        bodies += [i["body"] for i in self.issues.values()]
        return bodies

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method != "GET"]


class FakeGitHub:
    """Context manager: ``with FakeGitHub(token, repo) as gh: gh.url, gh.state``."""

    def __init__(self, token: str, repository: str) -> None:
        self.state = FakeGitHubState(token=token, repository=repository)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        host, port = self._server.server_address[:2]
        self.state.base_url = f"http://{host!s}:{port}"
        # A short poll interval keeps shutdown (one per test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return self.state.base_url

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(state: FakeGitHubState) -> type[BaseHTTPRequestHandler]:
    prefix = f"/repos/{state.repository}/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            auth = self.headers.get("Authorization")
            with state.lock:
                state.calls.append(Call(method, split.path, query, body, auth))
                if auth != f"Bearer {state.token}":
                    self._reply(401, {"message": "Bad credentials"})
                    return
                if method != "GET" and state.forbid_writes:
                    self._reply(403, {"message": "Resource not accessible by integration"})
                    return
                if not split.path.startswith(prefix):
                    self._reply(404, {"message": "Not Found"})
                    return
                self._route(method, split.path[len(prefix) :].split("/"), query, body or {})

        def _page(self, items: list[dict[str, Any]], query: dict[str, str], path: str) -> None:
            per_page = int(query.get("per_page", "30"))
            page = int(query.get("page", "1"))
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(items):
                nxt = urlencode({**query, "page": str(page + 1)})
                headers["Link"] = f'<{state.base_url}{path}?{nxt}>; rel="next"'
            self._reply(200, chunk, headers)

        def _route(
            self, method: str, parts: list[str], query: dict[str, str], body: dict[str, Any]
        ) -> None:
            path = self.path.split("?")[0]
            match method, parts:
                case "GET", ["issues", number, "comments"]:
                    self._page(state.comments.get(int(number), []), query, path)
                case "POST", ["issues", number, "comments"]:
                    self._reply(201, state.add_comment(int(number), body["body"], "bot"))
                case "PATCH", ["issues", "comments", cid]:
                    for comments in state.comments.values():
                        for comment in comments:
                            if comment["id"] == int(cid):
                                comment["body"] = body["body"]
                                self._reply(200, comment)
                                return
                    self._reply(404, {"message": "Not Found"})
                case "GET", ["pulls", number, "files"]:
                    files = [
                        {"filename": name, "status": "modified"}
                        for name in state.pull_files.get(int(number), [])
                    ]
                    self._page(files, query, path)
                case "GET", ["commits", sha, "pulls"]:
                    pulls = [
                        {"number": n, "state": "closed", "merged_at": "2026-01-01T00:00:00Z"}
                        for n in state.commit_pulls.get(sha, [])
                    ]
                    self._page(pulls, query, path)
                case "GET", ["issues"]:
                    want = query.get("labels")
                    wanted_state = query.get("state", "open")
                    items = [
                        i
                        for i in state.issues.values()
                        if (wanted_state == "all" or i["state"] == wanted_state)
                        and (not want or want in {lb["name"] for lb in i["labels"]})
                    ]
                    self._page(items, query, path)
                case "POST", ["issues"]:
                    new = state.add_issue(body["title"], body["body"], body.get("labels", []))
                    self._reply(201, state.issues[new])
                case "PATCH", ["issues", number]:
                    issue = state.issues.get(int(number))
                    if issue is None:
                        self._reply(404, {"message": "Not Found"})
                        return
                    issue.update({k: v for k, v in body.items() if k in {"title", "body", "state"}})
                    self._reply(200, issue)
                case _:
                    self._reply(404, {"message": "Not Found"})

    return Handler
