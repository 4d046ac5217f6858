"""The line-aware YAML loader: locations, exact numbers, strict scalars, clear syntax errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lagoform.catalog.yamlsrc import LocDict, LocList, dump_yaml, load_yaml, parse_yaml
from lagoform.errors import CatalogError

DOC = """\
plan:
  code: pro
  amount: 99.00 USD
  price: 0.0000025
  tiny: 2.5e-7
  count: 12
  prices: [1, 2.50, "3"]
  country: NO
  flags: [true, yes, off]
  start: 2026-01-01
  at: 2026-01-01T10:00:00Z
  nothing: ~
"""


def test_values_keep_their_file_line_and_column() -> None:
    data = load_yaml(DOC, "catalog/p.yaml")
    plan = data["plan"]
    assert isinstance(plan, LocDict)
    assert str(plan.key_loc("amount")) == "catalog/p.yaml:3:3"
    assert str(plan.value_loc("amount")) == "catalog/p.yaml:3:11"
    prices = plan["prices"]
    assert isinstance(prices, LocList)
    assert [str(loc) for loc in prices.item_locs] == [
        "catalog/p.yaml:7:12",
        "catalog/p.yaml:7:15",
        "catalog/p.yaml:7:21",
    ]


def test_numbers_are_exact_and_scalars_are_yaml_1_2() -> None:
    plan = load_yaml(DOC, "p.yaml")["plan"]
    assert plan["price"] == Decimal("0.0000025") and isinstance(plan["price"], Decimal)
    assert str(plan["price"]) == "0.0000025"
    assert plan["tiny"] == Decimal("2.5e-7")
    assert plan["count"] == 12 and isinstance(plan["count"], int)
    assert plan["prices"] == [1, Decimal("2.50"), "3"]
    assert plan["country"] == "NO"  # not False: no YAML 1.1 "Norway problem"
    assert plan["flags"] == [True, "yes", "off"]
    assert plan["start"] == dt.date(2026, 1, 1)
    assert plan["at"] == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    assert plan["nothing"] is None
    assert not any(isinstance(v, float) for v in plan.values())


def test_duplicate_keys_are_reported_at_the_second_key() -> None:
    data, problems = parse_yaml("a: 1\nb: 2\na: 3\n", "x.yaml")
    assert [str(p) for p in problems] == ["x.yaml:3:1: duplicate key 'a' (first written at line 1)"]
    assert data == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("text", "location", "fragment"),
    [
        ("a:\n  b: 1\n c: 2\n", "x.yaml:3:2", "expected <block end>"),
        ("a: [1, 2\n", "x.yaml:2:1", "expected ',' or ']'"),
        ("a: {b: 1\n", "x.yaml:2:1", "expected ',' or '}'"),
        ("a: 'open\n", "x.yaml:2:1", "found unexpected end of stream"),
        ("a:\tb\n\tc: 1\n", "x.yaml:1:3", "found character '\\t'"),
        ("a: *nope\n", "x.yaml:1:4", "found undefined alias 'nope'"),
    ],
)
def test_syntax_errors_are_located_and_say_what_was_expected(
    text: str, location: str, fragment: str
) -> None:
    data, problems = parse_yaml(text, "x.yaml")
    assert data is None
    assert len(problems) == 1
    assert problems[0].location() == location
    assert fragment in problems[0].message
    assert problems[0].message.startswith("invalid YAML: ")


def test_merge_keys_and_special_floats_are_refused() -> None:
    _, problems = parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: .inf\n", "m.yaml")
    messages = [str(p) for p in problems]
    assert messages == [
        "m.yaml:3:3: YAML merge keys (<<) are not supported (use `extends`)",
        "m.yaml:4:6: expected a finite number, got .inf",
    ]


def test_load_yaml_raises_catalog_error_with_every_problem() -> None:
    with pytest.raises(CatalogError) as caught:
        load_yaml("a: 1\na: 2\nb: 1\nb: 2\n", "d.yaml")
    assert [p.line for p in caught.value.problems] == [2, 4]


def test_empty_document_is_none() -> None:
    assert parse_yaml("# only a comment\n", "e.yaml") == (None, [])


def test_dump_writes_decimals_exactly_and_reloads_equal() -> None:
    data = {"price": Decimal("0.00000025"), "name": "Pro", "tiers": [{"to": None}]}
    text = dump_yaml(data)
    assert "price: 0.00000025\n" in text
    assert load_yaml(text, "d.yaml") == data


@pytest.mark.parametrize("text", ["0E0", "1e5", "12", "true", "null", "2026-01-01", ".inf", "~"])
def test_dump_quotes_text_that_would_read_back_as_something_else(text: str) -> None:
    # PyYAML's YAML 1.1 rules write "0E0" plain; lagoform reads YAML 1.2, where it is a number
    assert load_yaml(dump_yaml({"description": text}), "d.yaml") == {"description": text}


def test_aliases_are_counted_as_expanded_and_refused_past_the_limit() -> None:
    small = "a: &a [1, 2]\nb: [*a, *a, *a]\n"
    assert parse_yaml(small, "s.yaml") == ({"a": [1, 2], "b": [[1, 2], [1, 2], [1, 2]]}, [])
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 7)]
    data, problems = parse_yaml("\n".join(levels) + "\n", "bomb.yaml")
    assert data is None
    [problem] = problems
    assert (problem.file, problem.line, problem.column) == ("bomb.yaml", 6, 5)
    assert "expands to more than 250,000 values" in problem.message


def test_numbers_beyond_the_extent_are_located_problems() -> None:
    data, problems = parse_yaml("a: 1e-999999999\nb: " + "9" * 50 + "\nc: 1e40\n", "n.yaml")
    assert [str(p) for p in problems] == [
        "n.yaml:1:4: 1e-999999999 is out of range: numbers go from 1e-40 to 1e40",
        "n.yaml:2:4: an integer of 50 digits is too long (at most 40)",
    ]
    assert data["c"] == Decimal("1e40")
