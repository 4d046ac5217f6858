"""A small client for the few GitHub REST endpoints the Action needs: issues and their comments,
the files a pull request touches, and the pull requests a merge commit belongs to.

github-action-toolkit has no comment helper (it hands out a PyGithub client), so this is a thin
httpx client: base URL from ``GITHUB_API_URL`` (GitHub Enterprise works), bearer token from the
``github-token`` input or ``GITHUB_TOKEN``. Listing follows ``Link: rel="next"`` pagination.
The token is a secret: it lives only in the request header and never in a message or ``repr``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from lagoform import __version__
from lagoform.errors import LagoformError
from lagoform.lago.secret import Secret, as_secret

PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 comments: far beyond any real PR; bounds a misbehaving server
MAX_FILE_PAGES = 30  # GitHub lists at most 3,000 files of a pull request
RETRY_DELAYS = (0.5, 1.5)  # then give up: CI logs should show a failure, not a long hang
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubApiError(LagoformError):
    """GitHub's REST API refused a call or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    html_url: str


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str
    state: str
    html_url: str


class GitHubClient:
    """Issues and issue comments of one repository."""

    def __init__(
        self,
        api_url: str,
        repository: str,
        token: Secret | str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 20.0,
    ) -> None:
        if not token:
            raise GitHubApiError("no GitHub token: set the github-token input or GITHUB_TOKEN")
        if repository.count("/") != 1:
            raise GitHubApiError(f"GITHUB_REPOSITORY must be owner/name, not {repository!r}")
        self.repository = repository
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {as_secret(token).reveal()}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"lagoform/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"GitHubClient(repository={self.repository!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- issue comments ---------------------------------------------------------------------

    def list_comments(self, number: int) -> Iterator[Comment]:
        for item in self._paginate(f"/repos/{self.repository}/issues/{number}/comments", {}):
            yield _comment(item)

    def create_comment(self, number: int, body: str) -> Comment:
        path = f"/repos/{self.repository}/issues/{number}/comments"
        return _comment(self._request("POST", path, json={"body": body}))

    def update_comment(self, comment_id: int, body: str) -> Comment:
        path = f"/repos/{self.repository}/issues/comments/{comment_id}"
        return _comment(self._request("PATCH", path, json={"body": body}))

    # -- issues -----------------------------------------------------------------------------

    def list_issues(self, *, label: str, state: str = "open") -> Iterator[Issue]:
        params = {"labels": label, "state": state}
        for item in self._paginate(f"/repos/{self.repository}/issues", params):
            if "pull_request" in item:  # the issues endpoint lists pull requests too
                continue
            yield _issue(item)

    def create_issue(self, title: str, body: str, labels: list[str]) -> Issue:
        payload = {"title": title, "body": body, "labels": labels}
        return _issue(self._request("POST", f"/repos/{self.repository}/issues", json=payload))

    def update_issue(self, number: int, **fields: Any) -> Issue:
        path = f"/repos/{self.repository}/issues/{number}"
        return _issue(self._request("PATCH", path, json=fields))

    # -- pull requests ----------------------------------------------------------------------

    def list_pull_files(self, number: int) -> list[str]:
        """The paths a pull request adds, edits, renames or removes (GitHub lists 3,000 at
        most)."""
        path = f"/repos/{self.repository}/pulls/{number}/files"
        names: list[str] = []
        for item in self._paginate(path, {}, max_pages=MAX_FILE_PAGES, complete=False):
            for key in ("filename", "previous_filename"):
                if isinstance(item.get(key), str):
                    names.append(str(item[key]))
        return list(dict.fromkeys(names))

    def pulls_for_commit(self, sha: str) -> list[int]:
        """The pull requests a commit belongs to (a merge commit: the one it merged), merged
        ones first."""
        path = f"/repos/{self.repository}/commits/{sha}/pulls"
        items = list(self._paginate(path, {}, max_pages=1, complete=False))
        items.sort(key=lambda item: item.get("merged_at") is None)
        return [int(item["number"]) for item in items if isinstance(item.get("number"), int)]

    # -- transport --------------------------------------------------------------------------

    def _paginate(
        self,
        path: str,
        params: dict[str, str],
        *,
        max_pages: int = MAX_PAGES,
        complete: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a listing, following ``rel="next"``; beyond ``max_pages`` an error
        when the listing must be ``complete``, else the pages read so far."""
        url: str | None = path
        query: dict[str, str] | None = {**params, "per_page": str(PAGE_SIZE)}
        for _ in range(max_pages):
            if url is None:
                return
            response = self._send("GET", url, params=query)
            items = response.json()
            if not isinstance(items, list):
                raise GitHubApiError(f"GET {path}: expected a list, got {type(items).__name__}")
            yield from (item for item in items if isinstance(item, dict))
            match = _NEXT_LINK.search(response.headers.get("link", ""))
            # The next link already carries every query parameter.
            url, query = (match.group(1), None) if match else (None, None)
        if complete:
            raise GitHubApiError(f"GET {path}: more than {MAX_PAGES} pages; giving up")

    def _request(self, method: str, path: str, *, json: dict[str, Any]) -> dict[str, Any]:
        data = self._send(method, path, json=json).json()
        if not isinstance(data, dict):
            raise GitHubApiError(f"{method} {path}: expected an object in the response")
        return data

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> httpx.Response:
        where = f"{method} {httpx.URL(url).path}"
        # A POST retried after a lost response could create a second comment or issue.
        delays = RETRY_DELAYS if method in {"GET", "PATCH"} else ()
        attempt = 0
        while True:
            retry_in = delays[attempt] if attempt < len(delays) else None
            attempt += 1
            try:
                response = self._http.request(method, url, params=params, json=json)
            except httpx.HTTPError as err:
                if retry_in is not None:
                    time.sleep(retry_in)
                    continue
                raise GitHubApiError(f"{where}: {type(err).__name__}") from None
            if response.status_code >= 500 and retry_in is not None:
                time.sleep(retry_in)
                continue
            if response.is_success:
                return response
            raise GitHubApiError(
                f"{where}: HTTP {response.status_code}: {_error_message(response)}",
                status=response.status_code,
            )


def _error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:300]
    return response.reason_phrase or "error"


def _comment(item: dict[str, Any]) -> Comment:
    return Comment(
        id=int(item["id"]), body=str(item.get("body") or ""), html_url=str(item.get("html_url", ""))
    )


def _issue(item: dict[str, Any]) -> Issue:
    return Issue(
        number=int(item["number"]),
        title=str(item.get("title") or ""),
        body=str(item.get("body") or ""),
        state=str(item.get("state") or ""),
        html_url=str(item.get("html_url", "")),
    )
