"""Reading Lago's usage and re-routing its per-filter totals onto a charge's filters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lagoform.impact.forms import PricedCharge
from lagoform.impact.usage import ChargeReport, parse_usage, route
from lagoform.pricing import ChargeUsage, GroupUsage, PricingError
from tests.impact.factories import charge, group, plan, report, usage

A = {"type": ["a"]}
B = {"type": ["b"]}
EU_US = {"region": ["eu", "us"]}
EU_ASIA = {"region": ["asia", "eu"]}
A_TEXT = {"type": ["a"], "modality": ["text"]}


def _charge(*filters: dict[str, list[str]]) -> PricedCharge:
    raw = charge(
        "tokens", "standard", {"amount": "1"},
        filters=[{"values": v, "properties": {"amount": "2"}} for v in filters],
    )  # fmt: skip
    found = plan(raw).charge("tokens")
    assert found is not None
    return found


def _report(
    *groups: tuple[dict[str, list[str]] | None, str], aggregation: str = "sum_agg"
) -> ChargeReport:
    raw = usage(
        report("id-tokens", "0", 0, aggregation=aggregation,
               filters=[group(v, units, 0, int(units != "0")) for v, units in groups])
    )  # fmt: skip
    return parse_usage(raw, "current").charges[0]


def test_parse_reads_units_counts_amounts_and_the_default_group() -> None:
    raw = usage(report("c1", "12.5", 700, events=3, metric="tok",
                       filters=[group(A, "10", 500, 2), group(None, "2.5", 200, 1)]))  # fmt: skip
    period = parse_usage(raw, "past-1")
    assert (period.period, period.currency) == ("past-1", "USD")
    [rep] = period.charges
    assert (rep.charge_lago_id, rep.metric, rep.units, rep.events_count, rep.amount_cents) == (
        "c1", "tok", Decimal("12.5"), 3, 700,
    )  # fmt: skip
    assert [(g.key, g.units, g.amount_cents) for g in rep.groups] == [
        ("type=a", Decimal("10"), 500),
        (None, Decimal("2.5"), 200),
    ]
    with pytest.raises(PricingError, match="whole number"):
        parse_usage(usage(report("c1", "1", 1, events=1) | {"amount_cents": "1.5"}), "current")


def test_same_filters_route_group_by_group() -> None:
    source = _charge(A, B)
    routed = route(_report((A, "10"), (B, "0"), (None, "4")), source, source)
    assert routed == ChargeUsage({0: GroupUsage(Decimal(10), 1), None: GroupUsage(Decimal(4), 1)})


def test_a_charge_without_filters_takes_the_total() -> None:
    target = _charge()
    rep = _report((A, "10"), (None, "4"))
    rep = ChargeReport(**{**rep.__dict__, "units": Decimal(14), "events_count": 2})
    assert route(rep, _charge(A), target) == ChargeUsage({None: GroupUsage(Decimal(14), 2)})
    max_metric = _report((A, "10"), (None, "4"), aggregation="max_agg")
    assert "cannot be merged" in str(route(max_metric, _charge(A), target))


@pytest.mark.parametrize(
    ("source", "target", "groups", "want"),
    [
        # a removed filter whose events can only fall back to the default price
        ((A, B), (A,), [(B, "5")], ChargeUsage({None: GroupUsage(Decimal(5), 1)})),
        # an added filter that cannot take any reported event (disjoint values)
        ((A,), (A, B), [(A, "5")], ChargeUsage({0: GroupUsage(Decimal(5), 1)})),
        # an added, less specific filter: the existing one refines it and keeps its events
        ((A_TEXT,), (A_TEXT, A), [(A_TEXT, "5")], ChargeUsage({0: GroupUsage(Decimal(5), 1)})),
    ],
)
def test_filter_changes_that_move_no_event_route_exactly(
    source: tuple[dict[str, list[str]], ...],
    target: tuple[dict[str, list[str]], ...],
    groups: list[tuple[dict[str, list[str]], str]],
    want: ChargeUsage,
) -> None:
    assert route(_report(*groups), _charge(*source), _charge(*target)) == want


@pytest.mark.parametrize(
    ("source", "target", "groups", "why"),
    [
        ((A,), (A, B), [(None, "5")], "may take events now billed at the default price"),
        ((A,), (A, A_TEXT), [(A, "5")], "new filter modality=text;type=a may count events"),
        # overlapping without nesting: Lago counts the shared events in both fees
        ((EU_US,), (EU_US, EU_ASIA), [(EU_US, "5")], "new filter region=asia|eu may count events"),
        ((A_TEXT, A), (A,), [(A_TEXT, "5")], "events of removed filter"),
        ((), (A,), [], "the charge gains filters"),
    ],
)
def test_filter_changes_that_may_move_events_are_refused_with_the_reason(
    source: tuple[dict[str, list[str]], ...],
    target: tuple[dict[str, list[str]], ...],
    groups: list[tuple[dict[str, list[str]] | None, str]],
    why: str,
) -> None:
    rep = _report(*groups)
    if not groups:
        rep = ChargeReport(**{**rep.__dict__, "units": Decimal(3), "events_count": 1})
    result = route(rep, _charge(*source), _charge(*target))
    assert isinstance(result, str) and why in result


def test_grouped_usage_is_not_re_priced() -> None:
    raw = usage(report("id-tokens", "3", 300, grouped=[{"grouped_by": {"region": "eu"}}]))
    rep = parse_usage(raw, "current").charges[0]
    assert "pricing_group_keys" in str(route(rep, _charge(), _charge()))
