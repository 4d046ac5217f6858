"""Billable-metric expressions: a parser and evaluator for Lago's expression language.

The grammar follows Lago's own parser (getlago/lago-expression, ``expression-core``): decimals,
single-quoted strings, ``event.code``, ``event.timestamp`` (whole seconds),
``event.properties.<name>`` (a name starts with a letter), ``+ - * /`` (``*`` and ``/`` bind
tighter), parentheses, one unary minus before a term, spaces as the only whitespace, and the
functions ``ceil``, ``floor``, ``round`` (optional digits), ``concat``, ``least`` and
``greatest`` — each in lower case, upper case or capitalized. Property values that read as
numbers are numbers; arithmetic on a string fails with Lago's messages ("Expected a decimal",
"Variable: x not found"). Decimal arithmetic avoids float drift; numeric results render as Rails
renders a ``BigDecimal`` (``"3.0"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)
from typing import Any

from lagoform.sandbox.numbers import decimal_string, decimal_text

_TOKEN = re.compile(
    r" *(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^']*')"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(?P<op>[-+*/(),]))"
)
_PROPERTY = re.compile(r"event\.properties\.[A-Za-z][A-Za-z0-9_]*")
_ROUNDING = {"ceil": ROUND_CEILING, "floor": ROUND_FLOOR, "round": ROUND_HALF_UP}
FUNCTIONS = {"ceil", "floor", "round", "concat", "least", "greatest"}


class ExpressionError(ValueError):
    """An expression that cannot be parsed, or cannot be evaluated for an event (the message
    is Lago's, e.g. ``Variable: b not found``)."""


@dataclass(frozen=True)
class Node:
    kind: str  # num | str | var | unary | bin | call
    value: Any
    args: tuple[Node, ...] = ()


def _function_name(text: str) -> str | None:
    lower = text.lower()
    if lower in FUNCTIONS and text in (lower, lower.upper(), lower.capitalize()):
        return lower
    return None


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip(" ")
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"unexpected input at {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, op: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (op is not None and tok != ("op", op)):
            raise ExpressionError(f"expected {op or 'a term'}")
        self.pos += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise ExpressionError("trailing input")
        return node

    def expr(self) -> Node:
        node = self.term()
        while (tok := self.peek()) in (("op", "+"), ("op", "-")):
            self.take()
            node = Node("bin", tok[1], (node, self.term()))
        return node

    def term(self) -> Node:
        node = self.atom()
        while (tok := self.peek()) in (("op", "*"), ("op", "/")):
            self.take()
            node = Node("bin", tok[1], (node, self.atom()))
        return node

    def atom(self) -> Node:
        if self.peek() == ("op", "-"):  # one unary minus, before a primary only
            self.take()
            return Node("unary", "-", (self.primary(),))
        return self.primary()

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return Node("num", Decimal(text))
        if kind == "str":
            return Node("str", text[1:-1])
        if kind == "op" and text == "(":
            node = self.expr()
            self.take(")")
            return node
        if kind == "name":
            if self.peek() == ("op", "("):
                return self.call(text)
            if text in ("event.timestamp", "event.code") or _PROPERTY.fullmatch(text):
                return Node("var", text)
        raise ExpressionError(f"unexpected {text!r}")

    def call(self, text: str) -> Node:
        name = _function_name(text)
        if name is None:
            raise ExpressionError(f"unknown function {text}")
        self.take("(")
        args = [self.expr()]
        while self.peek() == ("op", ","):
            self.take()
            args.append(self.expr())
        self.take(")")
        if name in _ROUNDING and len(args) > 2:
            raise ExpressionError(f"{name} takes 1..2 arguments")
        return Node("call", name, tuple(args))


def parse(text: str) -> Node:
    return _Parser(text).parse()


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except ExpressionError:
        return False
    return True


def _property(value: Any) -> Any:
    """How Lago hands a property to the evaluator: numbers stay numbers, anything else is its
    text, read back as a number when it is one."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = "" if value is None else str(value)
    # Lago's decimal parser takes no surrounding spaces and no digit separators.
    number = decimal_string(text) if text.strip() == text and "_" not in text else None
    return text if number is None else number


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    raise ExpressionError("Expected a decimal")


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def evaluate(node: Node, code: str, timestamp: int, properties: dict[str, Any]) -> Any:
    """Value of the expression for one event (a Decimal or a str); raises ExpressionError."""
    # Lago's decimals divide to 100 significant digits; Python's default context keeps 28.
    with localcontext(Context(prec=100)):
        try:
            return _evaluate(node, code, timestamp, properties)
        except InvalidOperation as exc:
            raise ExpressionError("Expected a decimal") from exc


def _evaluate(node: Node, code: str, timestamp: int, properties: dict[str, Any]) -> Any:
    if node.kind in ("num", "str"):
        return node.value
    if node.kind == "var":
        if node.value == "event.timestamp":
            return Decimal(timestamp)
        if node.value == "event.code":
            return code
        name = node.value.split(".", 2)[2]
        if name not in properties:
            raise ExpressionError(f"Variable: {name} not found")
        return _property(properties[name])
    args = [_evaluate(a, code, timestamp, properties) for a in node.args]
    if node.kind == "unary":
        return -_decimal(args[0])
    if node.kind == "bin":
        left, right = _decimal(args[0]), _decimal(args[1])
        match node.value:
            case "+":
                return left + right
            case "-":
                return left - right
            case "*":
                return left * right
        if right == 0:
            raise ExpressionError("Division by zero")
        return left / right
    name = node.value
    if name == "concat":
        return "".join(_text(a) for a in args)
    if name in ("least", "greatest"):
        numbers = [_decimal(a) for a in args]
        return min(numbers) if name == "least" else max(numbers)
    digits = int(_decimal(args[1])) if len(args) > 1 else 0
    return _decimal(args[0]).quantize(Decimal(1).scaleb(-digits), rounding=_ROUNDING[name])


def to_json_value(value: Any) -> Any:
    """An expression result as Lago returns it: numbers as ``BigDecimal`` strings (``"3.0"``)."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    return value
