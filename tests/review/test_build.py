"""The plan's revenue section (``review.revenue_section``): when it is computed, and failures
that never fail the plan. Plans are built with the engine from its test factories."""

from __future__ import annotations

import pytest

from lagoform.engine.plan import Plan, build_plan
from lagoform.errors import ConfigError
from lagoform.lago import AsyncLagoClient
from lagoform.model.state import DesiredState, LiveState
from lagoform.review import revenue_section, wanted
from tests.engine.factories import charge, desired, live, metric, plan, subscription

TOKENS = metric("tokens")
PRO = plan("pro", [charge("tokens", "tokens", "0.5")], amount_cents=9900)
PRO_RAISED = plan("pro", [charge("tokens", "tokens", "0.6")], amount_cents=9900)
ACME = {"external_id": "acme-main", "external_customer_id": "acme", "plan_code": "pro"}


def _plan(want: DesiredState, have: LiveState) -> Plan:
    return build_plan(want, have)


def _live(**kw: object) -> LiveState:
    return live(billable_metric=[TOKENS], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("want", "have", "expected"),
    [
        # nothing changes
        (desired(billable_metric=[TOKENS], plan=[PRO]), _live(plan=[PRO]), False),
        # a new plan has no subscriptions yet; a new subscription no usage
        (desired(billable_metric=[TOKENS], plan=[PRO], subscription=[ACME]), _live(), False),
        # a metric's name is not a price
        (
            desired(billable_metric=[{**TOKENS, "name": "Tokens!"}], plan=[PRO]),
            _live(plan=[PRO]),
            False,
        ),
        # a price on a plan Lago has
        (desired(billable_metric=[TOKENS], plan=[PRO_RAISED]), _live(plan=[PRO]), True),
        # a subscription that moves to another plan
        (
            desired(
                billable_metric=[TOKENS],
                plan=[PRO, plan("team")],
                subscription=[{**ACME, "plan_code": "team"}],
            ),
            _live(plan=[PRO, plan("team")], subscriptions=[subscription("acme-main", "pro")]),
            True,
        ),
        # a plan's deletion terminates its subscriptions
        (
            desired(billable_metric=[TOKENS], remove={"plans": ["pro"]}),
            _live(plan=[PRO], subscriptions=[subscription("acme-main", "pro")]),
            True,
        ),
    ],
)
def test_wanted_when_the_plan_can_move_a_live_bill(
    want: DesiredState, have: LiveState, expected: bool
) -> None:
    assert wanted(_plan(want, have)) is expected


def _raise(err: Exception) -> AsyncLagoClient:
    raise err


RAISED = (desired(billable_metric=[TOKENS], plan=[PRO_RAISED]), _live(plan=[PRO]))


def test_off_or_not_wanted_means_no_section_and_no_client() -> None:
    want, have = RAISED
    p = _plan(want, have)

    def no_client() -> AsyncLagoClient:
        raise AssertionError("no client may be made")

    assert revenue_section(p, want, have, no_client, enabled=False) is None
    unchanged = desired(billable_metric=[TOKENS], plan=[PRO])
    assert revenue_section(_plan(unchanged, _live(plan=[PRO])), unchanged, have, no_client) is None


def test_a_failed_analysis_becomes_an_unavailable_section() -> None:
    want, have = RAISED
    p = _plan(want, have)
    missing = ConfigError("environment 'prod' needs a Lago API key in LAGO_KEY, which is not set")
    section = revenue_section(p, want, have, lambda: _raise(missing))
    assert section is not None and section.unavailable == str(missing)
    assert section.has_changes and section.totals == ()

    bug = revenue_section(p, want, have, lambda: _raise(KeyError("tiers")), enabled=True)
    assert bug is not None
    assert bug.unavailable == "the analysis failed (KeyError: 'tiers')"


def test_forced_on_a_plan_that_moves_no_bill_reads_nothing(sandbox_client: AsyncLagoClient) -> None:
    want = desired(billable_metric=[TOKENS], plan=[PRO])
    have = _live(plan=[PRO])
    section = revenue_section(_plan(want, have), want, have, lambda: sandbox_client, enabled=True)
    assert section is not None and section.unavailable is None
    assert section.affected_subscriptions == 0 and not section.has_changes


@pytest.fixture
def sandbox_client() -> AsyncLagoClient:
    from lagoform.sandbox import Sandbox

    box = Sandbox(premium=True)
    return AsyncLagoClient("http://sandbox.invalid", "k", transport=box.transport(), pacing=None)
