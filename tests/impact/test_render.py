"""Totals, counts, movers and contributions (aggregate.py); text, markdown, JSON (render.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lagoform.impact import RevenueImpact, render_json, render_markdown, render_text
from lagoform.impact.aggregate import Estimated, summarize
from lagoform.impact.estimate import ChargeLine, PeriodEstimate
from lagoform.impact.proposed import LiveSubscription
from tests.impact.factories import charge, plan, proposal

DOC = Path(__file__).resolve().parents[2] / "docs" / "impact.md"
PRO = plan(charge("tokens", "standard", {"amount": "1"}))


def _period(period: str, old: int, new: int, *, problem: str | None = None) -> PeriodEstimate:
    if problem:
        return PeriodEstimate(period, None, None, "USD", problems=(problem,))
    return PeriodEstimate(period, "2026-11-01", "2026-11-30", "USD",
                          lines=(ChargeLine("tokens", old, new),))  # fmt: skip


def _sub(sub: str, tenant: str, *periods: PeriodEstimate) -> Estimated:
    return Estimated(proposal(PRO, PRO, sub, tenant), periods)


def _impact() -> RevenueImpact:
    return summarize(
        [
            _sub("a1", "acme", _period("current", 1000, 1500), _period("past-1", 800, 1200)),
            _sub("a2", "acme", _period("current", 500, 400), _period("past-1", 0, 0)),
            _sub("b1", "beta", _period("current", 300, 300), _period("past-1", 100, 90)),
            _sub("c1", "corp", _period("current", 0, 0, problem="charge tokens: why"),
                 _period("past-1", 50, 60)),
            _sub("d1", "dyn", _period("current", 0, 0, problem="usage gone"),
                 _period("past-1", 0, 0, problem="usage gone")),
        ],
        periods=("current", "past-1"),
        unknown=[(LiveSubscription("e1", "echo", "pro", overridden=True), "no plan")],
        top=10,
    )  # fmt: skip


def test_totals_count_customers_over_all_their_reliable_subscriptions() -> None:
    impact = _impact()
    current = impact.total("current", "USD")
    assert current is not None
    # acme: 1,500 → 1,900 (two subscriptions), beta unchanged; corp and dyn are unreliable
    assert (current.old_cents, current.new_cents, current.delta_cents) == (1800, 2200, 400)
    assert (current.customers, current.subscriptions) == (2, 3)
    assert (current.customers_more, current.customers_less, current.customers_same) == (1, 0, 1)
    past = impact.total("past-1", "USD")
    assert past is not None and (past.delta_cents, past.customers_less, past.customers) == (
        400 - 10 + 10, 1, 3,
    )  # fmt: skip
    assert [(m.external_customer_id, m.delta_cents, m.subscriptions) for m in impact.movers] == [
        ("acme", 400, ("a1", "a2")),
    ]
    assert [(c.period, c.delta_cents, c.subscriptions) for c in impact.contributions] == [
        ("current", 400, 2), ("past-1", 400, 3),
    ]  # fmt: skip


def test_unreliable_lists_periods_and_reasons() -> None:
    impact = _impact()
    got = {u.external_id: (u.periods, u.reasons) for u in impact.unreliable}
    assert got == {
        "c1": (("current",), ("charge tokens: why",)),
        "d1": ((), ("usage gone",)),
        "e1": ((), ("no plan",)),
    }
    assert impact.subscription("d1") is None  # nothing reliable to show
    c1 = impact.subscription("c1")
    assert c1 is not None and [p.period for p in c1.periods] == ["past-1"]


def test_markdown_leads_with_the_headline_and_lists_every_section() -> None:
    text = render_markdown(_impact())
    assert text.splitlines()[:3] == [
        "## Revenue impact",
        "",
        "**Current period, per month: +4.00 USD (18.00 USD → 22.00 USD), 1 customer(s) pay more, "
        "0 less, 1 the same**",
    ]
    assert "| Last closed period | 9.50 USD | 13.50 USD | +4.00 USD | 2 | 1 | 0 | 4 |" in text
    assert "| `acme` | 15.00 USD | 19.00 USD | +4.00 USD |" in text
    assert "- `c1` (corp, plan `pro`) [current]: charge tokens: why" in text
    assert "<summary>What the estimate leaves out</summary>" in text


def test_text_and_empty_impact() -> None:
    text = render_text(_impact())
    assert "Current period (USD, per month): 18.00 USD → 22.00 USD  +4.00 USD" in text
    assert "Unreliable: e1: no plan" in text
    empty = summarize([], periods=("current",))
    assert not empty.has_changes
    assert render_text(empty) == (
        "Revenue impact\n  No subscription's pricing changes: no revenue impact.\n"
    )
    assert "What the estimate leaves out" not in render_markdown(empty)


def test_json_round_trips_and_matches_the_documented_schema() -> None:
    impact = _impact()
    data = json.loads(render_json(impact))
    assert data["schema_version"] == 2
    assert RevenueImpact.model_validate(data) == impact
    found = re.search(r"<!-- schema:begin -->\s*```json\n(.*?)```\s*<!-- schema:end -->",
                      DOC.read_text(), re.S)  # fmt: skip
    assert found, "docs/impact.md must hold the JSON schema between the schema markers"
    assert json.loads(found.group(1)) == RevenueImpact.model_json_schema(mode="serialization")


def test_a_subscription_whose_usage_could_not_be_read_is_unreliable() -> None:
    failed = Estimated(proposal(PRO, PRO, "f1", "fox"), failure="usage could not be read: 503")
    impact = summarize([failed, _sub("a1", "acme", _period("current", 100, 150))])
    assert [(u.external_id, u.reasons) for u in impact.unreliable] == [
        ("f1", ("usage could not be read: 503",))
    ]
    assert [s.external_id for s in impact.subscriptions] == ["a1"]
    assert impact.has_changes and impact.affected_subscriptions == 2


def test_long_lists_are_cut_in_text_and_markdown_but_not_in_json() -> None:
    many = [
        _sub(f"s{i:02d}", f"t{i:02d}", _period("current", 0, 0, problem="x")) for i in range(25)
    ]
    impact = summarize(many)
    markdown = render_markdown(impact, max_items=5)
    assert markdown.count("\n- `s") == 5
    assert "- … and 20 more (all of them are in the JSON form)" in markdown
    assert "  Unreliable: … and 20 more" in render_text(impact, max_items=5)
    assert len(json.loads(render_json(impact))["unreliable"]) == 25
