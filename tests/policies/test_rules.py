"""The rules' semantics, offline: which prices a cost entry reaches, the notice rule (a
change's effective date from the schedule), figures and percentages, an unchecked limit, and
reading approvals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from lagoform.catalog import load_project
from lagoform.catalog.models_policy import ApprovalAbove, MaxIncrease, MinNotice
from lagoform.catalog.policies_file import load_policies
from lagoform.catalog.yamlsrc import LocDict, SourceLocation
from lagoform.engine.desired import from_project
from lagoform.engine.scheduled import DueEntry, Notified, Schedule, ScheduledChange
from lagoform.errors import ConfigError
from lagoform.impact.model import RevenueImpact
from lagoform.model.state import LiveState, SubscriptionFact
from lagoform.policies import check_project, parse_approvals
from lagoform.policies.changes import approval_above, max_increase, min_notice
from lagoform.policies.context import Context
from lagoform.policies.locate import Spot
from lagoform.policies.notice import effective_date, entry_spot, price_path, spot_of
from lagoform.policies.prices import PriceMove, figures, unit_rate
from tests.engine.e2e_helpers import example_project

TODAY = dt.date(2026, 12, 7)


def _context(root: Path, policies_yaml: str) -> Context:
    (root / "policies.yaml").write_text(policies_yaml)
    project = load_project(root)
    policies = load_policies(root, project)
    assert policies is not None
    return Context(policies, project, from_project(project), TODAY)


def _dir(path: Path) -> Path:
    path.mkdir()
    return path


def _move(chain: tuple[LocDict, ...] = (), old: str = "1", new: str = "2") -> PriceMove:
    spot = Spot(SourceLocation("catalog/plans.yaml", 40, 9), chain)
    return PriceMove(
        "plan",
        "pro_monthly",
        "pro_monthly",
        "tokens",
        None,
        "properties",
        {"amount": Decimal(old)},
        {"amount": Decimal(new)},
        spot,
    )


def _schedule(*, due: bool = False, ahead: dt.date | None = None) -> Schedule:
    path = ("charges", "tokens", "properties")
    return Schedule(
        today=TODAY,
        due=(DueEntry(plan="pro_monthly", effective=TODAY, paths=(path,), where="x:1:1"),)
        if due
        else (),
        upcoming=(
            ScheduledChange(
                plan="pro_monthly",
                effective=ahead,
                notify_by=ahead,
                prices=("pro_monthly/tokens",),
                where=("catalog/plans.yaml:52:11",),
                rise=True,
                notified=(Notified(external_id="acme-labs"),),
            ),
        )
        if ahead
        else (),
    )


def test_a_moves_effective_date_is_the_scheduled_price_that_made_it() -> None:
    assert price_path(_move()) == ("charges", "tokens", "properties")
    assert effective_date(_move(), _schedule(due=True)) == TODAY
    assert effective_date(_move(), _schedule()) is None  # not scheduled: at apply
    assert effective_date(_move(), None) is None
    assert spot_of(("charges", "tokens", "filters", "type=input", "properties")) == (
        "tokens",
        "type=input",
        "properties",
    )
    assert spot_of(("amount_cents",)) == (None, None, "amount_cents")
    assert str(entry_spot(["catalog/plans.yaml:52:11"])) == "catalog/plans.yaml:52"
    assert str(entry_spot(["C:/repo/catalog/plans.yaml:52:11"])) == "C:/repo/catalog/plans.yaml:52"
    assert str(entry_spot(["catalog/plans.yaml:7"])) == "catalog/plans.yaml:7"
    assert entry_spot([]) is None and entry_spot(["catalog"]) is None


def test_min_notice_judges_rises_at_apply_and_scheduled_ones_ahead(tmp_path: Path) -> None:
    ctx = _context(example_project(tmp_path), "rules: [{id: n, rule: min_notice, days: 30}]\n")
    rule = ctx.policies.model.rules[0]
    assert isinstance(rule, MinNotice)
    fact = SubscriptionFact("acme-labs-pro", "acme-labs", "pro_monthly", "active", False)
    live = LiveState(objects={}, subscriptions=(fact,))
    [now] = min_notice(ctx, rule, [_move()], live)
    assert now.id == "policy:n:plan:pro_monthly" and now.where == "catalog/plans.yaml:40"
    assert "at apply (not scheduled): less than 30 days of notice (earliest 2027-01-06)" in (
        now.message
    )
    assert "`effective: 2027-01-06` or later" in now.way_out
    # a scheduled price now due: its notice was judged while it was ahead
    assert list(min_notice(ctx, rule, [_move()], live, _schedule(due=True))) == []
    assert list(min_notice(ctx, rule, [_move(old="2", new="1")], live)) == []  # a cut
    gone = SubscriptionFact("acme-labs-pro", "acme-labs", "pro_monthly", "terminated", False)
    assert list(min_notice(ctx, rule, [_move()], LiveState({}, (gone,)))) == []  # nobody
    # scheduled rises still ahead: dated 30 days from today or later
    [soon] = min_notice(ctx, rule, [], live, _schedule(ahead=dt.date(2027, 1, 5)))
    assert soon.id == "policy:n:plan:pro_monthly:2027-01-05"
    assert soon.where == "catalog/plans.yaml:52"  # its `effective:`
    assert "on 2027-01-05, reaching 1 current customer(s) (acme-labs)" in soon.message
    assert "move its `effective:` to 2027-01-06 or later" in soon.way_out
    assert list(min_notice(ctx, rule, [], live, _schedule(ahead=dt.date(2027, 1, 6)))) == []


def test_an_unknown_revenue_impact_leaves_the_limit_unchecked_not_kept(tmp_path: Path) -> None:
    ctx = _context(
        example_project(tmp_path),
        "approvals: {finance: {}}\nrules: [{id: cap, rule: max_increase, percent: 10, "
        "approval: finance}]\n",
    )
    rule = ctx.policies.model.rules[0]
    assert isinstance(rule, MaxIncrease)
    down = RevenueImpact(unavailable="no usage could be read (403)")
    [unchecked] = max_increase(ctx, rule, [_move()], down)
    assert unchecked.id == "policy:cap:unchecked" and unchecked.severity == "error"
    assert "not known (no usage could be read (403)): the limit on each customer's rise" in (
        unchecked.message
    )
    assert list(max_increase(ctx, rule, [_move(old="2", new="1")], down)) == []  # no rise
    ctx = _context(
        example_project(_dir(tmp_path / "again")),
        "approvals: {finance: {}}\nrules: [{id: big, rule: approval_above, revenue_change: "
        "100.00 USD, approval: finance}]\n",
    )
    big = ctx.policies.model.rules[0]
    assert isinstance(big, ApprovalAbove)
    [unknown] = approval_above(ctx, big, [_move(old="2", new="1")], None)
    assert unknown.id == "policy:big:unchecked" and "the monthly revenue change" in unknown.message


def test_a_cost_no_filter_surely_prices_is_the_fallback_prices_to_cover(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    ctx = _context(
        root,
        """costs:
  - metric: token_usage
    per: 1M tokens
    currency: USD
    costs:
      - {values: {type: output, modality: audio}, cost: 3.00}
      - {values: {type: input, modality: text}, cost: 0.10}
rules: [{id: m, rule: margin_floor, margin: 0.3, plans: [enterprise]}]
""",
    )
    found = check_project(ctx.policies, ctx.project, ctx.desired, today=TODAY)
    # no filter prices audio output: the charge's own price (1.8 per 1M) bills it, below 3.9
    assert [f.id for f in found] == ["policy:m:enterprise:tokens"]
    text = (root / "catalog" / "plans.yaml").read_text().splitlines()
    line = next(i for i, t in enumerate(text) if "{amount: 0.0000018}" in t) + 1
    assert found[0].where == f"catalog/plans.yaml:{line}"
    assert "lists tokens (its own price) at 1.8 USD per 1M tokens, below cost" in found[0].message


def test_figures_and_unit_rates() -> None:
    tiers = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 100, "per_unit_amount": "0", "flat_amount": "0"},
            {"from_value": 101, "per_unit_amount": "0.04", "flat_amount": "1"},
        ]
    }
    assert figures("properties", tiers) == {
        "tier 1 per unit": Decimal(0),
        "tier 1 flat": Decimal(0),
        "tier 2 per unit": Decimal("0.04"),
        "tier 2 flat": Decimal(1),
    }
    assert unit_rate(tiers) == Decimal("0.04")  # past the free allowance
    package = {"amount": "1", "package_size": 10000, "free_units": 0}
    assert unit_rate(package) == Decimal("0.0001")
    assert figures("properties", {"rate": "1.5"}) == {}  # a percentage has no unit price
    assert unit_rate({"rate": "1.5"}) is None
    assert figures("amount_cents", 9900) == {"amount": Decimal(9900)}
    assert _move(old="0", new="1").percent is None  # from 0: no percentage bounds it
    assert _move(old="4", new="5").percent == Decimal(25)


def test_approvals_are_kind_equals_ref() -> None:
    assert parse_approvals(["finance=FIN-1, legal=L-2", "", "cto=X"]) == {
        "finance": "FIN-1",
        "legal": "L-2",
        "cto": "X",
    }
    with pytest.raises(ConfigError, match="KIND=REF"):
        parse_approvals(["finance"])


def test_a_long_list_of_findings_keeps_the_comment_short() -> None:
    from lagoform.engine.findings import Finding
    from lagoform.engine.plan import Plan
    from lagoform.policies import markdown_block, text_block
    from lagoform.policies.render import MAX_SHOWN

    def finding(n: int, severity: str) -> Finding:
        return Finding(
            id=f"policy:margin:pro:tokens:model=m{n:03}",
            severity="error" if severity == "error" else "warning",
            subject="plan pro",
            message=f"model m{n:03} below cost",
            way_out="raise it",
            rule="margin",
            where=f"catalog/prices.yaml:{n + 10}",
        )

    many = [finding(n, "warning" if n % 2 else "error") for n in range(MAX_SHOWN + 7)]
    plan = Plan(plan_id="p", catalog_fingerprint="c", live_fingerprints={}, changes=(),
                findings=tuple(many))  # fmt: skip
    block = markdown_block(plan).splitlines()
    listed = [line for line in block if line.startswith("> - ⛔") or line.startswith("> - ⚠️")]
    assert len(listed) == MAX_SHOWN
    assert all("⛔" in line for line in listed[:14])  # the 14 errors lead
    assert "> - … and 7 more (every finding: `lagoform plan`" in block[-1]
    assert "14 errors apply refuses, 13 warnings" in block[1]
    assert text_block(plan).count("way out: raise it") == MAX_SHOWN + 7  # every one, in text


def test_a_price_derived_from_a_discount_is_located_at_the_discount(tmp_path: Path) -> None:
    from tests.engine.test_e2e_price_list import write

    root = tmp_path / "project"
    write(root, 5)
    ctx = _context(root, "rules: [{id: f, rule: negotiated_floor, floor: 0.95}]\n")
    found = check_project(ctx.policies, ctx.project, ctx.desired, today=TODAY)
    initech = {f.id: f for f in found if "initech" in f.id}
    assert sorted(initech) == [
        f"policy:f:initech-main:tokens:model=m01;type={t}"
        for t in ("cached_input", "input", "output", "reasoning")
    ]
    lines = (root / "overrides" / "initech.yaml").read_text().splitlines()
    discount = lines.index("              discount: 10%") + 1
    assert {f.where for f in initech.values()} == {f"overrides/initech.yaml:{discount}"}
    assert "amount at 0.9 USD per 1M tokens, below 0.95 × its list price (at least 0.95 USD" in (
        initech["policy:f:initech-main:tokens:model=m01;type=input"].message
    )
