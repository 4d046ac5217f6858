"""`lagoform impact --verify`: lagoform's current amounts against Lago's own, to the cent.

Against `lagoform sandbox serve` over HTTP, lagoform's calculator and the sandbox's current
usage and invoice preview agree (the calls charge has a minimum, so the preview holds a true-up
prorated over the days the subscriptions billed this month). Through the fault proxy, a Lago
that answers other amounts is caught: each difference is listed with both amounts and the
command exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lagoform.cli import _register, root
from lagoform.impact import render_markdown, render_text, run_analysis
from lagoform.impact.fetch import Referee
from lagoform.impact.forms import priced
from lagoform.impact.usage import parse_usage
from lagoform.impact.verify import verify_subscription
from tests.conftest import SandboxServer
from tests.faultproxy import FaultProxy, Seen, rewrite
from tests.impact.helpers import (
    USAGE,
    apply_project,
    async_client_for,
    client_for,
    desired_of,
    edit,
    send_usage,
    write_project,
)

PLANS = "catalog/plans.yaml"
CALLS = '        properties: {amount: "0.10"}\n  - code: legacy'


@pytest.fixture
def project(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    root = write_project(tmp_path / "project")
    edit(root, PLANS, CALLS, CALLS.replace("\n  - code", "\n        min_amount: 30.00\n  - code"))
    with client_for(sandbox_server) as client:
        apply_project(root, client)
        send_usage(client, USAGE)
    edit(root, PLANS, 'per_unit: "0.01"', 'per_unit: "0.012"')  # the change under review
    return root


def test_lagoforms_amounts_agree_with_the_sandboxs_usage_and_invoice_preview(
    project: Path, sandbox_server: SandboxServer
) -> None:
    impact = run_analysis(desired_of(project), lambda: async_client_for(sandbox_server), verify=5)
    checked = {v.external_id: v for v in impact.verified}
    assert set(checked) == {"acme-main", "initech-main"}  # globex keeps its own tokens price
    for item in checked.values():
        assert item.differences == () and item.notes == (), item
        # tokens (the charge and its filters' fees) and calls from current usage, then both
        # charges on the invoice preview
        assert item.compared >= 4
    text = render_text(impact)
    assert "Checked against Lago (2 subscription(s)" in text
    assert "every amount agrees to the cent" in text
    assert "### Checked against Lago" in render_markdown(impact)


def test_the_preview_holds_the_prorated_true_up_lagoform_computes(
    project: Path, sandbox_server: SandboxServer
) -> None:
    # the calls minimum ($30) is prorated over the days billed; with 0 calls initech's whole
    # prorated minimum is a true-up, and lagoform's figure must be the preview's
    with client_for(sandbox_server) as client:
        subscription = client.get_subscription("initech-main")
        assert subscription is not None
        usage = client.get_current_usage("initech", "initech-main")
        invoice = client.preview_invoice(
            {"customer": {"external_id": "initech"},
             "subscriptions": {"external_ids": ["initech-main"]}}
        )  # fmt: skip
    from lagoform.impact.forms import priced_plan

    plan = priced_plan(subscription["plan"])
    calls = next(c for c in plan.charges if c.code == "calls")
    true_up = sum(
        int(f["amount_cents"]) for f in invoice["fees"] if f.get("lago_charge_id") == calls.lago_id
    )
    assert 0 < true_up <= 3000
    found = verify_subscription(plan, parse_usage(usage, "current"), subscription, invoice)
    assert found.differences == () and found.compared >= 4
    # and a Lago that would bill one cent more is caught, with both amounts
    for fee in invoice["fees"]:
        if fee.get("lago_charge_id") == calls.lago_id:
            fee["amount_cents"] = int(fee["amount_cents"]) + 1
    [diff] = verify_subscription(
        plan, parse_usage(usage, "current"), subscription, invoice
    ).differences
    assert (diff.source, diff.charge, diff.lago_cents - diff.lagoform_cents) == (
        "invoice_preview",
        "calls",
        1,
    )


def test_a_lago_without_the_preview_is_said_and_the_usage_still_checked() -> None:
    plan = priced({"amount_currency": "USD", "charges": {}}, "p")
    found = verify_subscription(
        plan,
        parse_usage({"currency": "USD", "charges_usage": []}, "current"),
        {"external_id": "s1", "external_customer_id": "c1"},
        "HTTP 404 from POST /invoices/preview",
    )
    assert found.notes == ("invoice preview: HTTP 404 from POST /invoices/preview",)
    assert Referee({}, "x").invoice == "x"


@pytest.fixture
def proxy(sandbox_server: SandboxServer) -> Iterator[FaultProxy]:
    fault = FaultProxy(sandbox_server.url, sandbox_server.api_key)
    try:
        yield fault
    finally:
        fault.close()


def _one_cent_more(seen: Seen, body: Any) -> Any:
    for fee in body["invoice"]["fees"]:
        if fee["item"]["type"] == "charge" and fee["amount_cents"]:
            fee["amount_cents"] += 1
    return body


def _usage_moved(seen: Seen, body: Any) -> Any:
    for charge in body["customer_usage"]["charges_usage"]:
        if charge["billable_metric"]["code"] == "calls":
            charge["amount_cents"] += 250
    return body


def test_the_cli_lists_every_difference_and_exits_1(
    project: Path, proxy: FaultProxy, sandbox_server: SandboxServer
) -> None:
    _register()
    proxy.on("POST", "/invoices/preview", rewrite(_one_cent_more), times=-1)
    proxy.on("GET", "/customers/acme/current_usage", rewrite(_usage_moved), times=-1)
    result = CliRunner().invoke(
        root,
        ["impact", "--root", str(project), "--api-url", proxy.url, "--verify", "5"],
        env={"LAGO_API_KEY": sandbox_server.api_key},
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "differ from Lago's for 2 subscription(s)" in result.stderr
    out = result.stdout
    assert (
        "acme-main: current usage, charge calls: Lago 3.50 USD, lagoform 1.00 USD (-2.50 USD)"
        in out
    )
    assert (
        "acme-main: invoice preview, charge tokens: Lago 40.01 USD, lagoform 40.00 USD (-0.01 USD)"
        in out
    )
    assert "initech-main: invoice preview, charge calls: Lago 24.20 USD, lagoform 24.19 USD" in out
    assert "5 amount(s) differ for 2 subscription(s)" in out
    assert sandbox_server.api_key not in result.output
