"""Field rules Lago's models share across resources: purchase order numbers, e-mail addresses,
identifiers sent as JSON numbers, and Rails' ``parameterize`` (wallet codes from names)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from lagoform.sandbox.api_errors import FieldErrors
from lagoform.sandbox.numbers import scalar_text

__all__ = [
    "PURCHASE_ORDER_NUMBER_MAX",
    "identifier",
    "parameterize",
    "purchase_order_number",
    "valid_email",
]

# models/concerns/has_purchase_order_number.rb: stripped, blank → null, at most 255 characters.
PURCHASE_ORDER_NUMBER_MAX = 255

# An address: a dot-separated local part of letters, digits and the RFC 5322 specials (or a
# quoted string), "@", then a domain of at least two dot-separated labels, or an IPv4 literal in
# brackets. Several addresses may be given, comma-separated (app/validators/email_validator.rb).
_LOCAL_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LOCAL = rf"(?:{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*|\"(?:[^\"\\\r\n]|\\.)*\")"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|[01]?\d?\d)"
_DOMAIN = rf"(?:(?:{_LABEL}\.)+{_LABEL}|\[{_OCTET}(?:\.{_OCTET}){{3}}\])"
_EMAIL = re.compile(rf"{_LOCAL}@{_DOMAIN}", re.IGNORECASE)
_DASHES = re.compile("[\u2012\u2013\u2014\u2015\u2043\u2212]")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u00a0\u200e\u200f\ufeff]")


def purchase_order_number(raw: Any, errors: FieldErrors) -> str | None:
    """The stored form of a purchase order number; records ``value_is_too_long``."""
    if raw is None:
        return None
    text = str(scalar_text(raw)).strip() or None
    if text is not None and len(text) > PURCHASE_ORDER_NUMBER_MAX:
        errors.add("purchase_order_number", "value_is_too_long")
    return text


def clean_email(raw: str) -> str:
    """Lago's sanitizer: dash look-alikes become "-", invisible characters go, spaces trimmed."""
    return _INVISIBLE.sub("", _DASHES.sub("-", raw)).strip()


def valid_email(text: str) -> bool:
    """Every comma-separated address is well formed (an empty one is not)."""
    if not text:
        return False
    return all(_EMAIL.fullmatch(part.strip()) for part in text.split(","))


def identifier(raw: Any) -> Any:
    """An identifier or name as Lago stores it: JSON numbers become text, spaces are trimmed."""
    value = scalar_text(raw)
    return value.strip() if isinstance(value, str) else value


def parameterize(text: str) -> str:
    """Rails' ``parameterize(separator: "_")``: ASCII, lower case, runs of other characters
    become one "_", none at the ends ("My Premium Wallet" → "my_premium_wallet")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    joined = re.sub(r"[^a-z0-9\-_]+", "_", ascii_text, flags=re.IGNORECASE)
    return re.sub(r"_{2,}", "_", joined).strip("_").lower()
