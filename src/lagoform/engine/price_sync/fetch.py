"""Read a price-list snapshot from a file or an http(s) URL, bounded in size and time.

LiteLLM's list is about 1.5 MB; a snapshot over ``MAX_BYTES`` is refused rather than read into
memory. Only ``http``/``https`` URLs are fetched (redirects followed); anything else is a path.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from lagoform.errors import ConfigError

__all__ = ["MAX_BYTES", "read_snapshot"]

MAX_BYTES = 64 * 1024 * 1024
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def read_snapshot(where: str) -> tuple[str, str]:
    """(the snapshot's text, the name to show in messages) for a path or URL."""
    if where.startswith(("http://", "https://")):
        return _download(where), where
    path = Path(where)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"cannot read the price list {where}: {err.strerror or err}") from None
    return _text(data, where), where


def _download(url: str) -> str:
    try:
        with httpx.stream("GET", url, timeout=TIMEOUT, follow_redirects=True) as response:
            if response.status_code != 200:
                raise ConfigError(f"cannot read the price list {url}: HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) > MAX_BYTES:
                    break
    except httpx.HTTPError as err:
        raise ConfigError(f"cannot read the price list {url}: {err}") from None
    return _text(bytes(data), url)


def _text(data: bytes, where: str) -> str:
    if len(data) > MAX_BYTES:
        raise ConfigError(f"the price list {where} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"the price list {where} is not UTF-8 text (byte {err.start})") from None
