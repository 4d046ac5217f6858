"""The validation engine behind tests/openapi_contract.py: Lago's spec, loaded once, and the
issues one HTTP exchange has against it (openapi-core underneath, verdicts memoized).

Nothing here decides what is acceptable: the exception table and the per-test collector live in
the plugin module. The spec is AGPL test data, read from ``$LAGO_OPENAPI_SPEC`` or
``../shared/lago/openapi.yaml`` at test time and never copied.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema.exceptions import ValidationError as SchemaError  # type: ignore[import-untyped]
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_ENV = "LAGO_OPENAPI_SPEC"
DEFAULT_SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "lago" / "openapi.yaml"
# The spec's server is https://api.getlago.com/api/v1; exchanges are presented on that host so
# the in-process sandbox (http://sandbox.test) and loopback servers match it too.
SPEC_HOST = "https://api.getlago.com"


# -- issues ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issue:
    """One way an exchange disagrees with the spec."""

    side: str  # "request" | "response"
    method: str
    path: str
    status: str  # response status ("" for a request issue)
    where: str
    message: str

    def __str__(self) -> str:
        status = f" -> {self.status}" if self.status else ""
        return f"{self.side} {self.method} {self.path}{status}: {self.where}: {self.message}"


def _schema_issues(errors: Any, prefix: str) -> Iterator[tuple[str, str]]:
    for err in errors:
        if not isinstance(err, SchemaError):
            yield prefix, str(err)
            continue
        where = prefix + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path
        )
        if err.context:  # oneOf/anyOf: the failing branches say what is really wrong
            best = min(err.context, key=lambda e: (-len(e.absolute_path), e.message))
            inner = where + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.relative_path
            )
            yield inner, f"{best.message} (in: {err.message[:160]})"
        else:
            yield where, err.message


def _flatten(exc: BaseException, where: str) -> Iterator[tuple[str, str]]:
    """(location, message) pairs for an openapi-core error and everything it wraps."""
    schema_errors = getattr(exc, "schema_errors", None)
    if schema_errors:
        yield from _schema_issues(schema_errors, where)
        return
    nested = getattr(exc, "errors", None)
    if isinstance(nested, list | tuple) and nested:
        for inner in nested:
            yield from _flatten(inner, where)
        return
    name = getattr(exc, "name", None)
    location = getattr(exc, "location", None)
    if isinstance(name, str):
        where = f"{location or 'parameter'}.{name}"
    if exc.__cause__ is not None:
        yield from _flatten(exc.__cause__, where)
        return
    yield where, f"{type(exc).__name__}: {exc}"


# -- adapters ----------------------------------------------------------------------------------
class _Request:
    """An ``httpx.Request`` as openapi-core's Request protocol sees it."""

    def __init__(self, request: httpx.Request) -> None:
        self.method = request.method.lower()
        self.host_url = SPEC_HOST
        self.path = request.url.path
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content or None
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(list(response.headers.items()))


# -- the spec, loaded once ---------------------------------------------------------------------
def spec_path() -> Path:
    return Path(os.environ.get(SPEC_ENV) or DEFAULT_SPEC)


@lru_cache(maxsize=2)
def load_spec(path: Path) -> OpenAPI:
    """Parse and index the 23k-line spec once per process (the C YAML loader when present).

    ``$ref``s are inlined first: openapi-core resolves references lazily on every access, which
    made each check ~35% slower. The spec itself is not re-validated (that takes 7 s)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as fh:
        data = yaml.load(fh, Loader=loader)  # a safe loader either way
    return OpenAPI.from_dict(_inline_refs(data), config=Config(spec_validator_cls=None))


def _inline_refs(spec: dict[str, Any]) -> Any:
    """The spec with every local ``$ref`` replaced by its target (recursive ones are kept)."""

    def target(ref: str) -> Any:
        node: Any = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    done: dict[str, Any] = {}

    def walk(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                return node
            if ref not in done:
                done[ref] = walk(target(ref), seen | {ref})
            if len(node) == 1:
                return done[ref]
            return {**done[ref], **{k: walk(v, seen) for k, v in node.items() if k != "$ref"}}
        return {key: walk(value, seen) for key, value in node.items()}

    return walk(spec, frozenset())


# Same exchange, same verdict: suites repeat identical reads (a list fetched before and after
# an apply), so raw findings are memoized by the exact bytes that decide them.
_FINDINGS: dict[bytes, tuple[Issue, ...]] = {}
_FINDINGS_MAX = 50_000


def findings(
    api: OpenAPI, request: httpx.Request, response: httpx.Response, request_side: bool
) -> tuple[Issue, ...]:
    digest = hashlib.blake2b(digest_size=20)
    for part in (
        request.method.encode(),
        request.url.raw_path,
        request.content,
        request.headers.get("content-type", "").encode(),
        b"auth" if "authorization" in request.headers else b"",
        b"req" if request_side else b"",
        str(response.status_code).encode(),
        response.headers.get("content-type", "").encode(),
        response.content,
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    key = digest.digest()
    cached = _FINDINGS.get(key)
    if cached is not None:
        return cached
    req, resp = _Request(request), _Response(response)
    method, path = request.method, request.url.path
    found: list[Issue] = []
    if request_side:
        for err in api.iter_request_errors(req):
            for where, message in _flatten(err, "body"):
                found.append(Issue("request", method, path, "", where, message))
    for err in api.iter_response_errors(req, resp):
        for where, message in _flatten(err, "body"):
            found.append(Issue("response", method, path, str(resp.status_code), where, message))
    if len(_FINDINGS) >= _FINDINGS_MAX:
        _FINDINGS.clear()
    _FINDINGS[key] = tuple(found)
    return _FINDINGS[key]
