"""``Secret``: an API key that cannot leak by accident.

The value is only reachable through ``reveal()``, which the transport core calls once, where the
``Authorization`` header is built. ``repr``/``str``/formatting show a mask, pickling is refused
(so a key cannot end up in a saved plan or spool), and ``redact()`` scrubs the value out of any
text that came back from a server before it is put into an exception or a log line.
``api_key_problem`` says why a value cannot be an API key at all (a line break or a non-ASCII
character would corrupt the ``Authorization`` header, and the HTTP library would quote it,
unmasked, in its error): keys are checked where they are read, never sent.
``without_userinfo`` strips ``user:password@`` from a URL before it is shown anywhere.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import NoReturn

_MASK = "********"
# Environment variables whose names say they hold a secret, and how long a value must be to be
# worth masking (shorter ones would mask ordinary words).
SECRET_NAME_PARTS = ("API_KEY", "TOKEN", "SECRET", "PASSWORD")
MIN_SECRET_LEN = 8


class Secret:
    """An opaque secret string (a Lago API key)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret expects a str")
        value = value.strip()
        if not value:
            raise ValueError("a secret cannot be empty")
        self._value = value

    def reveal(self) -> str:
        """The real value. Call only where it must be sent (the Authorization header)."""
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced by a mask."""
        return text.replace(self._value, _MASK) if self._value in text else text

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or serialized")


def api_key_problem(value: str) -> str | None:
    """Why ``value`` (stripped) cannot be sent as a bearer key; None when it can. Never quotes
    the value."""
    key = value.strip()
    if any(ch in "\r\n" for ch in key):
        return "contains a line break (CR or LF): copy the key again, without it"
    if any(ord(ch) > 126 for ch in key):
        return (
            "contains a non-ASCII character (a curly quote or a look-alike letter?): "
            "API keys are plain ASCII"
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return "contains a space or a control character: API keys are one word"
    return None


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def without_userinfo(url: str) -> str:
    """``http://user:pw@host/x`` → ``http://host/x``: what may be shown of a URL. Credentials in
    an API URL only ever go into the request itself, never into a message, plan or comment."""
    return _USERINFO.sub(r"\1", url.strip())


def as_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def named_secrets(environ: Mapping[str, str]) -> list[Secret]:
    """The values of the variables in ``environ`` whose names say they hold a secret
    (``*API_KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``), to mask in what is printed."""
    return [
        Secret(value)
        for name, value in environ.items()
        if any(part in name.upper() for part in SECRET_NAME_PARTS)
        and len(value.strip()) >= MIN_SECRET_LEN
    ]
