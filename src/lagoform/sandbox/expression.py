"""Billable-metric expressions: a small parser and evaluator for Lago's documented grammar.

Supported: numbers, quoted strings, ``event.properties.<name>``, ``event.timestamp``,
``event.code``, ``+ - * /``, parentheses, unary minus, and the functions ``ceil(x)``,
``round(x[, digits])`` and ``concat(a, b, ...)``. Decimal arithmetic avoids float drift.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(?P<op>[-+*/(),]))"
)
FUNCTIONS = {"ceil": (1, 1), "round": (1, 2), "concat": (1, 64)}


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Node:
    kind: str  # num | str | var | unary | bin | call
    value: Any
    args: tuple[Node, ...] = ()


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
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
        node = self.unary()
        while (tok := self.peek()) in (("op", "*"), ("op", "/")):
            self.take()
            node = Node("bin", tok[1], (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            return Node("unary", "-", (self.unary(),))
        return self.atom()

    def atom(self) -> Node:
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
            if text in ("event.timestamp", "event.code") or text.startswith("event.properties."):
                return Node("var", text)
        raise ExpressionError(f"unexpected {text!r}")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise ExpressionError(f"unknown function {name}")
        self.take("(")
        args = [self.expr()]
        while self.peek() == ("op", ","):
            self.take()
            args.append(self.expr())
        self.take(")")
        low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise ExpressionError(f"{name} takes {low}..{high} arguments")
        return Node("call", name, tuple(args))


def parse(text: str) -> Node:
    return _Parser(text).parse()


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except ExpressionError:
        return False
    return True


def evaluate(node: Node, code: str, timestamp: float, properties: dict[str, Any]) -> Any:
    """Value of the expression for one event; raises ExpressionError when it cannot be computed."""
    if node.kind in ("num", "str"):
        return node.value
    if node.kind == "var":
        if node.value == "event.timestamp":
            return Decimal(str(timestamp))
        if node.value == "event.code":
            return code
        name = node.value.split(".", 2)[2]
        if name not in properties:
            raise ExpressionError(f"missing property {name}")
        return properties[name]
    args = [evaluate(a, code, timestamp, properties) for a in node.args]
    if node.kind == "unary":
        return -_num(args[0])
    if node.kind == "bin":
        left, right = _num(args[0]), _num(args[1])
        if node.value == "+":
            return left + right
        if node.value == "-":
            return left - right
        if node.value == "*":
            return left * right
        if right == 0:
            raise ExpressionError("division by zero")
        return left / right
    if node.value == "concat":
        return "".join(_text(a) for a in args)
    if node.value == "ceil":
        return Decimal(math.ceil(_num(args[0])))
    digits = int(_num(args[1])) if len(args) > 1 else 0
    return _num(args[0]).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def to_json_value(value: Any) -> Any:
    """Decimals become ints when whole, else floats, like a JSON number Lago would store."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _num(value: Any) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ExpressionError(f"not a number: {value!r}") from exc


def _text(value: Any) -> str:
    return str(to_json_value(value))
