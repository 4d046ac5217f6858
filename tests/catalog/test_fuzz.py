"""Fuzzing the loader: whatever the YAML, the only failure is a CatalogError (never a traceback)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagoform.catalog import load_project
from lagoform.catalog.yamlsrc import parse_yaml
from lagoform.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = {
    path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
    for path in sorted([*(ROOT / "catalog").glob("*.yaml"), *(ROOT / "overrides").glob("*.yaml")])
}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

# Key names the models know, so random documents reach deep into validation.
VOCABULARY = [
    "code",
    "name",
    "metric",
    "model",
    "properties",
    "filters",
    "values",
    "tiers",
    "from",
    "to",
    "per_unit",
    "flat",
    "amount",
    "rate",
    "package_size",
    "free_units",
    "charges",
    "interval",
    "extends",
    "aggregation",
    "field_name",
    "recurring",
    "pay_in_advance",
    "prorated",
    "invoiceable",
    "min_amount",
    "tax_codes",
    "applies_to",
    "plans",
    "metrics",
    "customer",
    "subscriptions",
    "overrides",
    "reason",
    "approval",
    "plan",
    "external_id",
    "wallets",
    "events",
    "key",
    "quantity",
    "repeat",
    "record_type",
    "tenant",
    "usage_target",
    "metadata",
    "currency",
    "type",
    "percentage_rate",
    "frequency",
    "minimum_commitment",
    "usage_thresholds",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.sampled_from(
        [
            "99.00 USD",
            "0.0000025",
            "*",
            "standard",
            "graduated",
            "volume",
            "package",
            "percentage",
            "dynamic",
            "sum",
            "count",
            "monthly",
            "yearly",
            "token_usage",
            "pro_monthly",
            "$usage.input",
            "$$x",
            "-1",
            "1e400",
            "",
        ]
    )
    | st.text(max_size=8)
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=40,
)


def _load(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "catalog").mkdir()
        (root / "overrides").mkdir()
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        try:
            load_project(root)
        except CatalogError as err:
            assert err.problems
            for problem in err.problems:
                assert problem.message and problem.file


@FUZZ
@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    data, problems = parse_yaml(text, "x.yaml")
    assert data is None or problems == [] or isinstance(problems, list)
    for problem in problems:
        assert problem.file == "x.yaml"


@FUZZ
@given(
    st.sampled_from(sorted(EXAMPLE)),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 40), st.text(max_size=12)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_example_fails_only_with_catalog_error(
    name: str, edits: list[tuple[int, int, str]]
) -> None:
    text = EXAMPLE[name]
    for position, length, insert in edits:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + length :]
    _load({**EXAMPLE, name: text})


@FUZZ
@given(st.sampled_from(sorted(EXAMPLE)), st.randoms(use_true_random=False))
def test_shuffled_lines_fail_only_with_catalog_error(name: str, rnd: Any) -> None:
    lines = EXAMPLE[name].splitlines()
    a, b = rnd.randrange(len(lines)), rnd.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    _load({**EXAMPLE, name: "\n".join(lines)})


@FUZZ
@given(
    st.sampled_from(
        ["taxes", "billable_metrics", "add_ons", "plans", "coupons", "usage_mappings", "remove"]
    ),
    documents,
    documents,
)
def test_random_documents_fail_only_with_catalog_error(key: str, doc: Any, tenant: Any) -> None:
    files = {
        "catalog/metrics.yaml": EXAMPLE["catalog/metrics.yaml"],
        "catalog/random.yaml": yaml.safe_dump({key: doc}),
        "overrides/fuzz.yaml": yaml.safe_dump(tenant),
    }
    _load(files)


@FUZZ
@given(documents)
def test_random_charges_and_overrides_fail_only_with_catalog_error(doc: Any) -> None:
    plan = {
        "code": "p",
        "name": "P",
        "interval": "monthly",
        "amount": "1 USD",
        "charges": [doc, {"metric": "token_usage", "properties": doc, "filters": [doc]}],
    }
    tenant = {
        "customer": {"name": "x"},
        "subscriptions": [
            {
                "external_id": "s",
                "plan": "p",
                "overrides": {"reason": "r", "approval": "a", "charges": {"token_usage": doc}},
            }
        ],
    }
    _load(
        {
            "catalog/metrics.yaml": EXAMPLE["catalog/metrics.yaml"],
            "catalog/plans.yaml": yaml.safe_dump({"plans": [plan]}),
            "overrides/t.yaml": yaml.safe_dump(tenant),
        }
    )
