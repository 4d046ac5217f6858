"""A real price list end to end: 40 models x 4 token types (160 filters a charge), three plans,
tenants with partial overrides, a discount and a frozen copy — against `lagoform sandbox serve`.

What issue 12 promises and Lago's own bills must show: one negotiated filter leaves every
other at the catalog's price; a catalog raise reaches the non-negotiated filters of a
negotiated tenant (and a discount follows it); a new model is billed at list price to every
tenant — a frozen one excepted, which the plan reports as a finding apply refuses until it is
acknowledged; the plan of a one-model change stays short.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lagoform.cli import _register, root
from lagoform.engine.apply import apply_plan
from lagoform.engine.hooks import MemoryAudit
from lagoform.engine.importer import import_project
from lagoform.engine.render import GITHUB_COMMENT_LIMIT
from lagoform.errors import PlanError
from lagoform.lago import LagoClient
from lagoform.review import Review, render_markdown, render_text
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import client_for, make_plan

pytestmark = pytest.mark.slow

TYPES = {"input": Decimal("0.5"), "cached_input": Decimal("0.25"), "output": Decimal(2),
         "reasoning": Decimal(3)}  # fmt: skip
PLANS = {"starter": Decimal(2), "pro": Decimal(1), "enterprise": Decimal("0.8")}


def models(count: int) -> list[str]:
    return [f"m{i:02d}" for i in range(count)]


def price(plan: str, model: str, kind: str, raise_by: Decimal = Decimal(1)) -> Decimal:
    return (int(model[1:]) + 1) * TYPES[kind] * PLANS[plan] * raise_by


def catalog(count: int = 40, raise_by: Decimal = Decimal(1)) -> str:
    names = models(count)
    text = (
        "billable_metrics:\n  - code: tokens\n    name: Tokens\n    aggregation: sum\n"
        f"    field_name: tokens\n    filters:\n      model: [{', '.join(names)}]\n"
        f"      type: [{', '.join(TYPES)}]\nplans:\n"
    )
    for plan in PLANS:
        text += (
            f"  - code: {plan}\n    name: {plan.title()}\n    interval: monthly\n"
            "    amount: 0 USD\n    charges:\n      - code: tokens\n        metric: tokens\n"
            "        per: 1M tokens\n        properties: {amount: 0}\n        filters:\n"
        )
        for model, kind in itertools.product(names, TYPES):
            amount = price(plan, model, kind, raise_by)
            text += (
                f"          - values: {{model: {model}, type: {kind}}}\n"
                f'            properties: {{amount: "{amount}"}}\n'
            )
    return text


TENANTS = {
    "acme": ("pro", ""),
    "globex": ("enterprise", (
        "      charges:\n        tokens:\n          filters:\n"
        "            - values: {model: m03, type: input}\n"
        "              properties: {amount: \"0.5\"}\n"
    )),
    "initech": ("pro", (
        "      charges:\n        tokens:\n          filters:\n"
        "            - values: {model: m01}\n              discount: 10%\n"
    )),
    "hooli": ("pro", "      frozen: true\n"),
}  # fmt: skip


def write(root: Path, count: int = 40, raise_by: Decimal = Decimal(1), ack: str = "") -> None:
    (root / "catalog").mkdir(parents=True, exist_ok=True)
    (root / "overrides").mkdir(exist_ok=True)
    (root / "catalog" / "prices.yaml").write_text(catalog(count, raise_by))
    for tenant, (plan, deal) in TENANTS.items():
        text = (
            f"customer: {{name: {tenant.title()}, currency: USD}}\nsubscriptions:\n"
            f"  - external_id: {tenant}-main\n    plan: {plan}\n"
        )
        if deal:
            text += "    overrides:\n      reason: MSA\n      approval: A-1\n" + deal
            if tenant == "hooli" and ack:
                text += f"      acknowledge: [{ack}]\n"
        (root / "overrides" / f"{tenant}.yaml").write_text(text)


_ids = itertools.count()


def send(client: LagoClient, sub: str, usage: dict[tuple[str, str], int]) -> None:
    events = [
        {"transaction_id": f"pl-{next(_ids)}", "external_subscription_id": sub, "code": "tokens",
         "properties": {"model": model, "type": kind, "tokens": tokens}}
        for (model, kind), tokens in usage.items()
    ]  # fmt: skip
    client.post_events_batch(events)


def billed(client: LagoClient, tenant: str) -> dict[tuple[str, str], int]:
    """Lago's current-usage amount per filter (model, type) of the tenant's subscription."""
    usage = client.get_current_usage(tenant, f"{tenant}-main")
    [charge] = usage["charges_usage"]
    return {
        (f["values"]["model"][0], f["values"]["type"][0]): int(f["amount_cents"])
        for f in charge["filters"]
        if f.get("values") and int(f["events_count"])
    }


def cents(per_million: Decimal, tokens: int) -> int:
    return int(per_million * tokens / 1_000_000 * 100)


USAGE = {("m03", "input"): 2_000_000, ("m03", "output"): 1_000_000, ("m01", "input"): 4_000_000,
         ("m07", "reasoning"): 1_000_000}  # fmt: skip


def apply_all(root: Path, client: LagoClient, **kw: Any) -> None:
    report = apply_plan(make_plan(root, client), client, audit=MemoryAudit(), **kw)
    assert report.ok, report.summary()


@pytest.fixture
def project(tmp_path: Path, sandbox_server: SandboxServer) -> Path:
    root = tmp_path / "project"
    write(root)
    with client_for(sandbox_server) as client:
        apply_all(root, client)
        for tenant in TENANTS:
            send(client, f"{tenant}-main", USAGE)
    return root


def test_one_negotiated_filter_leaves_every_other_at_list_price(
    project: Path, sandbox_server: SandboxServer
) -> None:
    with client_for(sandbox_server) as client:
        globex = billed(client, "globex")
        initech = billed(client, "initech")
        hooli = billed(client, "hooli")
        plan = client.get_subscription("globex-main")["plan"]  # type: ignore[index]
    [charge] = plan["charges"]
    assert len(charge["filters"]) == 160  # its own copy holds the whole list
    assert globex == {
        ("m03", "input"): cents(Decimal("0.5"), 2_000_000),  # negotiated
        ("m03", "output"): cents(price("enterprise", "m03", "output"), 1_000_000),
        ("m01", "input"): cents(price("enterprise", "m01", "input"), 4_000_000),
        ("m07", "reasoning"): cents(price("enterprise", "m07", "reasoning"), 1_000_000),
    }
    # 10% off every token type of m01, list price for the rest
    assert initech[("m01", "input")] == cents(price("pro", "m01", "input") * Decimal("0.9"),
                                              4_000_000)  # fmt: skip
    assert initech[("m03", "input")] == cents(price("pro", "m03", "input"), 2_000_000)
    assert hooli[("m07", "reasoning")] == cents(price("pro", "m07", "reasoning"), 1_000_000)


def test_a_list_raise_reaches_what_is_not_negotiated_and_a_new_model_reaches_all_but_frozen(
    project: Path, sandbox_server: SandboxServer
) -> None:
    raise_by = Decimal("1.2")
    write(project, 41, raise_by)  # +20% on every price, and model m40
    with client_for(sandbox_server) as client:
        plan = make_plan(project, client)
        # the frozen tenant would bill the new model at the fallback price: refused...
        ids = {f.id for f in plan.open_findings()}
        assert ids == {f"fallback:hooli-main:tokens:model=m40;type={t}" for t in TYPES}
        with pytest.raises(PlanError, match="fallback:hooli-main:tokens:model=m40;type=input"):
            apply_plan(plan, client, audit=MemoryAudit())
        # ...until acknowledged (a CLI flag, or `acknowledge:` in the tenant's overrides)
        apply_all(project, client, acknowledged=ids)
        assert make_plan(project, client).pending() == []
        send(client, "acme-main", {("m40", "input"): 1_000_000})
        send(client, "globex-main", {("m40", "input"): 1_000_000})
        send(client, "hooli-main", {("m40", "input"): 1_000_000})
        acme, globex, initech, hooli = (billed(client, t) for t in TENANTS)
    raised = {k: cents(price("enterprise", *k, raise_by), n) for k, n in USAGE.items()}
    raised[("m03", "input")] = cents(Decimal("0.5"), 2_000_000)  # negotiated: kept
    raised[("m40", "input")] = cents(price("enterprise", "m40", "input", raise_by), 1_000_000)
    assert globex == raised
    assert acme[("m40", "input")] == cents(price("pro", "m40", "input", raise_by), 1_000_000)
    # the discount follows the list: 10% off the raised price
    assert initech[("m01", "input")] == cents(
        price("pro", "m01", "input", raise_by) * Decimal("0.9"), 4_000_000
    )
    # frozen: old prices, and the new model at the charge's fallback price (0)
    assert hooli[("m07", "reasoning")] == cents(price("pro", "m07", "reasoning"), 1_000_000)
    assert ("m40", "input") not in hooli


def test_acknowledging_in_yaml_lets_apply_through(
    project: Path, sandbox_server: SandboxServer
) -> None:
    write(project, 41, ack="fallback:hooli-main:tokens:model=m40;type=input")
    with client_for(sandbox_server) as client:
        plan = make_plan(project, client)
        left = {f.id for f in plan.open_findings()}
        assert len(left) == 3 and "fallback:hooli-main:tokens:model=m40;type=input" not in left
        text = render_text(Review(plan=plan))
        assert "acknowledged: fallback:hooli-main:tokens:model=m40;type=input" in text
        assert "remove `frozen: true`" in text


def test_the_plan_of_a_one_model_change_stays_short(
    project: Path, sandbox_server: SandboxServer
) -> None:
    text = (project / "catalog" / "prices.yaml").read_text()
    old = f'            properties: {{amount: "{price("pro", "m05", "input")}"}}\n'
    at = text.index("  - code: pro\n")
    cut = text.index(old, at)
    (project / "catalog" / "prices.yaml").write_text(
        text[:cut] + '            properties: {amount: "9.99"}\n' + text[cut + len(old) :]
    )
    with client_for(sandbox_server) as client:
        plan = make_plan(project, client)
    review = Review(plan=plan)
    text_plan = render_text(review)
    assert "[model=m05, type=input] price: 3 USD per 1M tokens → 9.99 USD per 1M tokens" in (
        text_plan
    )
    assert len(text_plan.splitlines()) < 60, text_plan
    markdown = render_markdown(review)
    assert "159 other filter(s) unchanged" in markdown
    assert len(markdown) < GITHUB_COMMENT_LIMIT // 4


def test_retiring_a_model_removes_it_everywhere_in_one_apply(
    project: Path, sandbox_server: SandboxServer
) -> None:
    (project / "catalog" / "retired.yaml").write_text(
        "remove:\n  filter_values:\n    - metric: tokens\n      values: {model: m03}\n"
    )
    with client_for(sandbox_server) as client:
        plan = make_plan(project, client)
        metric = next(c for c in plan.changes if c.kind == "billable_metric")
        assert metric.note is not None and "retires model=m03 everywhere" in metric.note
        assert "3 plan filter(s)" not in metric.note and "12 plan filter(s)" in metric.note
        assert "1 negotiated filter(s)" in metric.note  # globex's m03 input
        apply_all(project, client)
        assert make_plan(project, client).pending() == []
        [tokens] = client.list_billable_metrics()
        models_left = next(f["values"] for f in tokens["filters"] if f["key"] == "model")
        assert "m03" not in models_left and len(models_left) == 39
        for tenant in TENANTS:
            [charge] = client.get_subscription(f"{tenant}-main")["plan"]["charges"]  # type: ignore[index]
            assert len(charge["filters"]) == 156, tenant
            assert all(f["values"]["model"] != ["m03"] for f in charge["filters"])


def test_the_cli_refuses_an_open_finding_and_takes_acknowledge_flags(
    project: Path, sandbox_server: SandboxServer
) -> None:
    write(project, 41)
    _register()

    def apply_cli(*extra: str) -> Result:
        return CliRunner().invoke(
            root,
            ["apply", "--root", str(project), "--api-url", sandbox_server.url, "--auto-approve",
             *extra],
            env={"LAGO_API_KEY": sandbox_server.api_key},
        )  # fmt: skip

    refused = apply_cli()
    assert refused.exit_code == 1, refused.output
    assert "fallback:hooli-main:tokens:model=m40;type=output" in refused.stderr
    assert "--acknowledge" in refused.stderr and "Traceback" not in refused.output
    ids = [f"fallback:hooli-main:tokens:model=m40;type={t}" for t in TYPES]
    partly = apply_cli("--acknowledge", ids[0])
    assert partly.exit_code == 1 and ids[0] not in partly.stderr and ids[1] in partly.stderr
    done = apply_cli(*itertools.chain.from_iterable(("--acknowledge", i) for i in ids))
    assert done.exit_code == 0, done.output
    with client_for(sandbox_server) as client:
        assert make_plan(project, client).pending() == []


def test_import_after_apply_keeps_units_discounts_and_frozen_and_changes_nothing(
    project: Path, sandbox_server: SandboxServer
) -> None:
    write(project, 41, Decimal("1.2"))  # a list raise the frozen tenant does not follow
    with client_for(sandbox_server) as client:
        plan = make_plan(project, client)
        apply_all(project, client, acknowledged={f.id for f in plan.open_findings()})
        before = {p.relative_to(project).as_posix(): p.read_text() for p in project.rglob("*.yaml")}
        result = import_project(client, project)
        after = {p.relative_to(project).as_posix(): p.read_text() for p in project.rglob("*.yaml")}
        assert make_plan(project, client).pending() == []
    # Lago holds what the YAML says: per-1M prices, a discount and a frozen copy need no rewrite
    assert result.files == [] and after == before


def test_a_tenant_file_restating_the_whole_list_keeps_lagos_state_identical(
    project: Path, sandbox_server: SandboxServer
) -> None:
    # the workaround of old: every filter restated, one of them negotiated (migration path)
    lines = ["      charges:\n        tokens:\n          filters:\n"]
    for model, kind in itertools.product(models(40), TYPES):
        amount = "0.5" if (model, kind) == ("m03", "input") else price("enterprise", model, kind)
        lines.append(
            f"            - values: {{model: {model}, type: {kind}}}\n"
            f'              properties: {{amount: "{amount}"}}\n'
        )
    path = project / "overrides" / "globex.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("      charges:")] + "".join(lines))
    with client_for(sandbox_server) as client:
        before = client.get_subscription("globex-main")["plan"]  # type: ignore[index]
        assert make_plan(project, client).pending() == []
        after = client.get_subscription("globex-main")["plan"]  # type: ignore[index]
    assert after == before
