"""Hostile YAML cannot take `lagoform validate` down: alias bombs, number extremes, encodings.

Every case runs `lagoform validate` in a child process (validate_worker.py) with its address
space capped, and waits at most ``CASE_SECONDS`` for the answer. A case passes when lagoform
either accepts the project (exit 0) or refuses it (exit 1) listing problems that each start
with ``file:line:col:`` — never a traceback, a hang or a blown memory budget. Cases come from
hypothesis strategies plus the exact inputs an adversarial review found (issue 15).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
CASE_SECONDS = 20.0  # generous for a loaded 2-core runner; a bomb took 56 s before the bounds
CASE_MEMORY_MB = 300.0
HOSTILE = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)

# A small valid project; each {name} is a numeric field a case may replace.
TEMPLATE: dict[str, str] = {
    "catalog/metrics.yaml": (
        "billable_metrics:\n"
        "  - code: tokens\n"
        "    name: Tokens\n"
        "    aggregation: sum\n"
        "    field_name: n\n"
        "    rounding: {{function: round, precision: {precision}}}\n"
        "taxes:\n"
        "  - code: vat\n"
        "    name: VAT\n"
        "    rate: {rate}\n"
    ),
    "catalog/plans.yaml": (
        "plans:\n"
        "  - code: pro\n"
        "    name: Pro\n"
        "    interval: monthly\n"
        "    amount: {amount} USD\n"
        "    trial_days: {trial}\n"
        "    charges:\n"
        "      - metric: tokens\n"
        "        model: graduated\n"
        "        properties:\n"
        "          tiers:\n"
        "            - {{to: {to}, per_unit: {per_unit}}}\n"
        "            - {{per_unit: 0.1}}\n"
        "      - code: calls\n"
        "        metric: calls\n"
        "        model: package\n"
        "        properties: {{amount: 1, package_size: {package_size}, free_units: {free}}}\n"
        "coupons:\n"
        "  - code: c\n"
        "    name: C\n"
        "    type: percentage\n"
        "    percentage_rate: {pct}\n"
        "    frequency: recurring\n"
        "    frequency_duration: {duration}\n"
        "billable_metrics:\n"
        "  - {{code: calls, name: Calls, aggregation: count}}\n"
    ),
    "overrides/acme.yaml": (
        "customer: {{name: Acme, net_payment_term: {term}}}\n"
        "subscriptions:\n"
        "  - external_id: acme-1\n"
        "    plan: pro\n"
        "wallets:\n"
        "  - code: w\n"
        "    currency: USD\n"
        "    paid_credits: {credits}\n"
        "    priority: {priority}\n"
    ),
    "lagoform.yaml": (
        "version: 1\n"
        "environments:\n"
        "  staging:\n"
        "    api_url: https://lago.example\n"
        "    api_key_env: LAGO_API_KEY_STAGING\n"
        "    timeouts: {{read: {timeout}}}\n"
        "    retry: {{base_delay: {delay}}}\n"
    ),
}
DEFAULTS = {
    "precision": "2",
    "rate": "20",
    "amount": "99.00",
    "trial": "14",
    "to": "1000",
    "per_unit": "0.000002",
    "package_size": "100",
    "free": "0",
    "pct": "10",
    "duration": "3",
    "term": "30",
    "credits": "1000",
    "priority": "5",
    "timeout": "30",
    "delay": "0.5",
}
FIELDS = sorted(DEFAULTS)


def render(**values: str) -> dict[str, bytes]:
    fields = {**DEFAULTS, **values}
    return {name: text.format(**fields).encode() for name, text in TEMPLATE.items()}


PROBLEM_LINE = re.compile(r"^(lagoform\.yaml|catalog/[^:]+|overrides/[^:]+):\d+:\d+: \S")
SUMMARY = re.compile(r"^(\d+) problems? found; nothing was sent to Lago\.$")


class Worker:
    """The child process running cases (restarted after a case that hangs)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.catalog.validate_worker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.proc = proc
        return proc

    def run(self, files: dict[str, bytes]) -> dict[str, Any]:
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        assert proc.stdin is not None and proc.stdout is not None
        case = {"files": {k: base64.b64encode(v).decode() for k, v in files.items()}}
        started = time.monotonic()
        proc.stdin.write(json.dumps(case) + "\n")
        proc.stdin.flush()
        answer: list[str] = []
        reader = _read_line_with_timeout(proc, CASE_SECONDS)
        answer.extend(reader)
        elapsed = time.monotonic() - started
        if not answer:
            self.stop()
            raise AssertionError(f"validate did not answer within {CASE_SECONDS:.0f}s (hang)")
        result: dict[str, Any] = json.loads(answer[0])
        result["elapsed"] = elapsed
        return result

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # by its Popen handle: only the worker this suite started
            self.proc.wait(timeout=10)
            self.proc = None


def _read_line_with_timeout(proc: subprocess.Popen[str], timeout: float) -> Iterator[str]:
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if selector.select(timeout=timeout):
            line = proc.stdout.readline()
            if line:
                yield line


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    w = Worker()
    try:
        warm = w.run(render())  # also proves the template is a valid project
        assert warm["exit_code"] == 0, warm
        yield w
    finally:
        w.stop()


def check(result: dict[str, Any]) -> None:
    """Exit 0, or exit 1 with every problem located; never a traceback, hang or memory blow-up."""
    assert result["exception"] is None, f"a traceback reached the user: {result['exception']}"
    assert result["elapsed"] < CASE_SECONDS
    assert result["grew_mb"] < CASE_MEMORY_MB, f"the case grew memory by {result['grew_mb']} MB"
    assert result["exit_code"] in (0, 1), result
    if result["exit_code"] == 0:
        assert result["stdout"].startswith("Valid:"), result
        return
    lines = result["stderr"].strip().splitlines()
    summary = SUMMARY.match(lines[-1]) if lines else None
    assert summary, result["stderr"]
    problems = lines[:-1]
    assert len(problems) == int(summary.group(1)), result["stderr"]
    unlocated = [line for line in problems if not PROBLEM_LINE.match(line)]
    assert not unlocated, f"problems without file:line:col: {unlocated}"


def refused(result: dict[str, Any], *phrases: str) -> str:
    check(result)
    assert result["exit_code"] == 1, result
    text: str = result["stderr"]
    for phrase in phrases:
        assert phrase in text, text
    return text


# -- alias bombs ------------------------------------------------------------------------------


def bomb(depth: int, width: int, *, flow: bool = True, indent: str = "") -> str:
    lines = [f"{indent}x0: &x0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, depth + 1):
        if flow:
            items = ", ".join([f"*x{level - 1}"] * width)
            lines.append(f"{indent}x{level}: &x{level} [{items}]")
        else:
            lines.append(f"{indent}x{level}: &x{level}")
            lines += [f"{indent}  - *x{level - 1}"] * width
    return "\n".join(lines) + "\n"


def test_the_410_byte_bomb_is_refused_at_once_with_its_line(worker: Worker) -> None:
    text = bomb(7, 9)  # the file from the report: 7 levels of 9 aliases (56 s and 5.3 GB before)
    assert len(text) < 500
    result = worker.run({**render(), "catalog/bomb.yaml": text.encode()})
    out = refused(result, "catalog/bomb.yaml:", "expands to more than 250,000 values")
    assert result["elapsed"] < 5, result["elapsed"]
    assert "YAML aliases" in out or "aliases (*name)" in out


def test_a_nine_level_bomb_in_lagoform_yaml_is_refused(worker: Worker) -> None:
    config = "version: 1\nbombs:\n" + bomb(9, 9, indent="  ")
    result = worker.run({**render(), "lagoform.yaml": config.encode()})
    refused(result, "lagoform.yaml:", "expands to more than")


@HOSTILE
@given(
    depth=st.integers(1, 14),
    width=st.integers(1, 12),
    flow=st.booleans(),
    where=st.sampled_from(["catalog/bomb.yaml", "overrides/bomb.yaml", "lagoform.yaml"]),
)
def test_alias_bombs_anywhere(
    worker: Worker, depth: int, width: int, flow: bool, where: str
) -> None:
    check(worker.run({**render(), where: bomb(depth, width, flow=flow).encode()}))


@HOSTILE
@given(st.sampled_from(["&a [*a]", "&a {k: *a}", "&a [1, [2, *a]]", "*undefined"]))
def test_alias_cycles_and_dangling_aliases(worker: Worker, snippet: str) -> None:
    check(worker.run({**render(), "catalog/cycle.yaml": f"plans: {snippet}\n".encode()}))


# -- number extremes --------------------------------------------------------------------------

number_texts = st.one_of(
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.integers(1, 6000).map(lambda n: "-1" + "0" * n),
    st.builds(
        lambda mantissa, exponent: f"{mantissa}e{exponent}",
        st.sampled_from(["1", "-1", "9.99", "0.5", "1.0"]),
        st.integers(-(10**9), 10**9),
    ),
    st.sampled_from(
        [
            ".inf",
            "-.inf",
            ".nan",
            "0x" + "f" * 80,
            "0o" + "7" * 80,
            "1_000_000",
            "-0",
            "0.0000000000000000000000000000000000000000001",
            "1e-999999999",
            "1e999999999",
            "18446744073709551616",
            "9223372036854775808",
            "2147483648",
            "123456789.123456",
        ]
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
quoting = st.sampled_from(["{}", "'{}'", '"{}"'])


@HOSTILE
@example(field="package_size", text="1e-999999999", quote="{}")  # hung validate
@example(field="package_size", text="9" * 30, quote="{}")  # passed validate, crashed plan
@example(field="to", text="9" * 4301, quote="{}")  # a traceback
@example(field="credits", text="1e-999999999", quote="{}")  # a 1 GB line in plan.json
@example(field="per_unit", text="1e999999999", quote="{}")  # MemoryError
@example(field="timeout", text="1e20", quote="{}")  # OverflowError
@given(field=st.sampled_from(FIELDS), text=number_texts, quote=quoting)
def test_number_extremes_in_every_numeric_field(
    worker: Worker, field: str, text: str, quote: str
) -> None:
    check(worker.run(render(**{field: quote.format(text)})))


@pytest.mark.parametrize(
    ("field", "text", "phrase"),
    [
        ("package_size", "1e-999999999", "catalog/plans.yaml:17:"),
        ("package_size", "9" * 30, "64-bit integer"),
        ("to", "9" * 4301, "4301 digits is too long"),
        ("credits", "1e-999999999", "overrides/acme.yaml:8:19: 1e-999999999 is out of range"),
        ("credits", "1.123456", "more than 5 decimals"),
        ("per_unit", "1e999999999", "catalog/plans.yaml:12:"),
        (
            "timeout",
            "1e20",
            "lagoform.yaml:6:22: environments.staging.timeouts.read: must be at most",
        ),
        ("priority", "4294967296", "32-bit integer"),
        ("amount", "99999999999999999999", "cents is out of range"),
    ],
)
def test_the_reported_number_cases_name_their_place(
    worker: Worker, field: str, text: str, phrase: str
) -> None:
    refused(worker.run(render(**{field: text})), phrase)


# -- encodings and characters -----------------------------------------------------------------

byte_soup = st.binary(min_size=1, max_size=12)


@HOSTILE
@given(
    name=st.sampled_from(sorted(TEMPLATE)),
    at=st.integers(0, 10**6),
    junk=byte_soup,
)
def test_random_bytes_in_any_file(worker: Worker, name: str, at: int, junk: bytes) -> None:
    files = render()
    data = files[name]
    position = at % (len(data) + 1)
    files[name] = data[:position] + junk + data[position:]
    check(worker.run(files))


@HOSTILE
@given(
    name=st.sampled_from(sorted(TEMPLATE)),
    encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig"]),
    crlf=st.booleans(),
)
def test_other_encodings_and_line_endings(
    worker: Worker, name: str, encoding: str, crlf: bool
) -> None:
    files = render()
    text = files[name].decode().replace("Pro", "Pró")  # one non-ASCII letter
    if crlf:
        text = text.replace("\n", "\r\n")
    files[name] = text.encode(encoding, errors="replace")
    check(worker.run(files))


def test_a_bad_byte_and_a_control_character_are_located_to_line_and_column(
    worker: Worker,
) -> None:
    files = render()
    files["catalog/plans.yaml"] = files["catalog/plans.yaml"].replace(b"Pro", b"Pr\xe9")
    files["overrides/acme.yaml"] = files["overrides/acme.yaml"].replace(b"Acme", b"Ac\x07me")
    out = refused(worker.run(files))
    assert "catalog/plans.yaml:3:13: not UTF-8: byte 0xe9" in out, out
    assert "overrides/acme.yaml:1:20: control character U+0007" in out, out


# -- size and depth ---------------------------------------------------------------------------


@HOSTILE
@given(depth=st.integers(100, 200_000), kind=st.sampled_from(["[", "{a: ", "- "]))
def test_deep_nesting(worker: Worker, depth: int, kind: str) -> None:
    if kind == "- ":
        text = "".join("  " * i + "-\n" for i in range(min(depth, 3000)))
    else:
        closer = "]" if kind == "[" else "}"
        text = kind * depth + "1" + closer * depth
    check(worker.run({**render(), "catalog/deep.yaml": text.encode()}))


def test_a_file_beyond_the_size_limit_is_refused_unread(worker: Worker) -> None:
    line = "# " + "x" * 1022 + "\n"
    text = "plans: []\n" + line * (5 * 1024)  # 5 MiB of comments
    refused(
        worker.run({**render(), "catalog/huge.yaml": text.encode()}),
        "catalog/huge.yaml:1:1: file is larger than 4 MiB",
    )
