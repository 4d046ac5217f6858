"""`lagoform import` into an existing project, against the sandbox over HTTP.

The project has a plan variant (`extends`), prices written `per: 1M tokens`, a plan with
`cascade_updates`, a partially negotiated tenant (one filter, with reason, approval and
`usage_target`), comments and usage mappings. Someone else changes Lago (a list price, the
tenant's negotiated filter, a new plan that is a variant of another); importing into the
project rewrites exactly those values in place, keeps everything Lago cannot hold, and the
next plan is empty.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from lagoform.catalog import load_project
from lagoform.engine.importer import import_project
from lagoform.errors import PlanError
from lagoform.lago import LagoClient
from lagoform.sandbox import Sandbox
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import apply, client_for, edit, example_project, make_plan

# The enterprise token prices per 1M tokens, and Globex negotiating only text input (the
# three other filters follow the catalog).
ENTERPRISE_TOKENS = (
    """        properties: {amount: 0.0000018}            # fallback rate
        filters:
          - values: {type: input, modality: text}
            properties: {amount: 0.0000012}
          - values: {type: output, modality: text}
            properties: {amount: 0.000005}
          - values: {type: input, modality: audio}
            properties: {amount: 0.000035}
          - values: {type: reasoning, modality: "*"}
            properties: {amount: 0.0000035}""",
    """        per: 1M tokens
        properties: {amount: 1.8}                  # fallback rate
        filters:
          - values: {type: input, modality: text}
            properties: {amount: 1.2}
          - values: {type: output, modality: text}
            properties: {amount: 5}
          - values: {type: input, modality: audio}
            properties: {amount: 35}
          - values: {type: reasoning, modality: "*"}
            properties: {amount: 3.5}""",
)
GLOBEX_TOKENS = (
    """          properties: {amount: 0.0000015}
          filters:
            - values: {type: input, modality: text}
              properties: {amount: 0.000001}
            - values: {type: output, modality: text}
              properties: {amount: 0.000004}
            - values: {type: input, modality: audio}
              properties: {amount: 0.00003}
            - values: {type: reasoning, modality: "*"}
              properties: {amount: 0.000003}""",
    """          properties: {amount: 1.5}   # per 1M tokens, like the plan
          filters:
            - values: {type: input, modality: text}
              properties: {amount: 1}     # the only filter negotiated""",
)
CASCADE = (
    "    tax_codes: [vat_standard]\n    minimum_commitment",
    "    cascade_updates: true\n    tax_codes: [vat_standard]\n    minimum_commitment",
)
QUARTERLY = """plans:
  - code: pro_quarterly
    extends: pro_monthly
    name: Pro (quarterly)
    interval: quarterly
    amount: 280.00 USD
"""


def _project(tmp_path: Path) -> Path:
    tmp_path.mkdir()
    root = example_project(tmp_path)
    edit(root, "catalog/plans.yaml", *ENTERPRISE_TOKENS)
    edit(root, "catalog/plans.yaml", *CASCADE)
    edit(root, "overrides/globex.yaml", *GLOBEX_TOKENS)
    return root


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_import_into_a_project_keeps_what_lago_cannot_hold(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    client = client_for(sandbox_server)
    ours = _project(tmp_path / "ours")
    apply(ours, client)
    assert make_plan(ours, client).pending() == []

    # someone else changes Lago: a list price, Globex's negotiated filter, a new plan
    theirs = tmp_path / "theirs" / "project"
    shutil.copytree(ours, theirs)
    edit(theirs, "catalog/plans.yaml", "properties: {amount: 0.10}", "properties: {amount: 0.12}")
    edit(theirs, "overrides/globex.yaml", "properties: {amount: 1}  ", "properties: {amount: 0.9}")
    (theirs / "catalog" / "quarterly.yaml").write_text(QUARTERLY)
    apply(theirs, client)
    assert make_plan(ours, client).pending() != []

    before = {p.relative_to(ours).as_posix(): p.read_text() for p in ours.rglob("*.yaml")}
    result = import_project(client, ours)
    after = {p.relative_to(ours).as_posix(): p.read_text() for p in ours.rglob("*.yaml")}

    # the next plan is empty, and the project still validates as the same kind of project
    assert make_plan(ours, client).pending() == []
    project = load_project(ours)
    assert project.catalog.usage_mappings  # usage mappings untouched
    assert after["catalog/usage.yaml"] == before["catalog/usage.yaml"]
    assert after["catalog/metrics.yaml"] == before["catalog/metrics.yaml"]
    assert after["overrides/acme-labs.yaml"] == before["overrides/acme-labs.yaml"]
    assert sorted(p.name for p in result.files) == ["globex.yaml", "plans.yaml"]

    # plans.yaml: one price changed in place, the new plan written as a variant; comments,
    # the variant pro_annual, cascade_updates and the per: 1M prices as written
    assert _changed_lines(before["catalog/plans.yaml"], after["catalog/plans.yaml"]) == [
        "-        properties: {amount: 0.10}                # per GB at the period's peak",
        "+        properties: {amount: 0.12}                # per GB at the period's peak",
        "+  - code: pro_quarterly",
        "+    extends: pro_monthly",
        "+    name: Pro (quarterly)",
        "+    interval: quarterly",
        "+    amount: 280.00 USD",
    ]
    quarterly = project.catalog.plan("pro_quarterly")
    assert quarterly is not None and quarterly.extends == "pro_monthly"

    # globex.yaml: only the negotiated filter's price; reason, approval, usage_target and the
    # comments stay, and the three catalog-priced filters are still not listed
    assert _changed_lines(before["overrides/globex.yaml"], after["overrides/globex.yaml"]) == [
        "-              properties: {amount: 1}     # the only filter negotiated",
        "+              properties: {amount: 0.9}   # the only filter negotiated",
    ]
    globex = project.tenant("globex")
    assert globex is not None
    sub = globex.subscriptions[0]
    assert sub.usage_target
    assert sub.overrides is not None and sub.overrides.approval == "MSA-2026-014"

    # importing again changes nothing
    again = import_project(client, ours)
    assert again.files == [] and again.removed == []
    assert {p.relative_to(ours).as_posix(): p.read_text() for p in ours.rglob("*.yaml")} == after


def _in_process() -> LagoClient:
    sandbox = Sandbox(premium=True)
    return LagoClient("http://sandbox.invalid", "k", transport=sandbox.transport(), pacing=None)


def test_what_lago_no_longer_has_leaves_the_project_and_variants_keep_only_their_keys(
    tmp_path: Path,
) -> None:
    client = _in_process()
    lago_side = _project(tmp_path / "lago")
    # Lago: pro_annual's fee changed (its own key), pro_monthly's trial changed (inherited by
    # pro_annual, which keeps inheriting it), and a plan the project removes is still there
    edit(lago_side, "catalog/plans.yaml", "amount: 990.00 USD", "amount: 950.00 USD")
    edit(lago_side, "catalog/plans.yaml", "trial_days: 14", "trial_days: 7")
    (lago_side / "catalog" / "old.yaml").write_text(
        "plans:\n  - {code: old_one, name: Old, interval: monthly, amount: 5 USD}\n"
    )
    apply(lago_side, client)

    ours = _project(tmp_path / "ours")
    # the project also describes what Lago does not have (a plan, a tenant) and says to
    # remove a plan Lago still has
    with (ours / "catalog" / "extra.yaml").open("w") as extra:
        extra.write(
            "# plans only this project knows\nplans:\n"
            "  - {code: legacy, name: Legacy, interval: monthly, amount: 1 USD}\n"
            "remove:\n  plans: [old_one, gone_long_ago]\n"
        )
    (ours / "overrides" / "initech.yaml").write_text("customer: {name: Initech}\n")
    # a file in a layout the round trip would change, that nothing in Lago touches
    odd = "remove:\n    coupons:\n        -   never_created   # odd, and left alone\n"
    (ours / "catalog" / "odd.yaml").write_text(odd)
    result = import_project(client, ours)

    assert make_plan(ours, client).pending() == []
    project = load_project(ours)
    assert project.catalog.plan("legacy") is None
    assert not (ours / "overrides" / "initech.yaml").exists()
    assert ours / "overrides" / "initech.yaml" in result.removed
    assert list(project.catalog.remove.plans) == ["gone_long_ago"]
    assert project.catalog.plan("old_one") is not None  # Lago has it: defined again
    assert "# plans only this project knows" in (ours / "catalog" / "extra.yaml").read_text()
    assert (ours / "catalog" / "odd.yaml").read_text() == odd
    annual = project.catalog.plan("pro_annual")
    assert annual is not None and annual.extends == "pro_monthly"
    assert annual.amount.cents == 95000 and annual.trial_days == 7
    plans = (ours / "catalog" / "plans.yaml").read_text()
    variant = plans[plans.index("  - code: pro_annual") : plans.index("  - code: enterprise")]
    assert "amount: 950.00 USD" in variant and "trial_days" not in variant  # inherited
    assert "\n    charges:" not in variant  # still inherited, whatever order Lago lists them in
    assert "trial_days: 7" in plans
    assert {
        "plan legacy: removed (not in Lago)",
        "plan pro_annual: updated from Lago",
        "plan pro_monthly: updated from Lago",
        "remove: plans old_one taken off (in Lago)",
        "plan old_one: added",
        "tenant initech: file removed (no such customer in Lago)",
    } <= set(result.notes)


def test_a_project_that_does_not_validate_is_not_imported_into(tmp_path: Path) -> None:
    client = _in_process()
    ours = _project(tmp_path / "ours")
    edit(ours, "overrides/globex.yaml", "plan: enterprise", "plan: enterprize")
    before = {p: p.read_bytes() for p in ours.rglob("*.yaml")}
    with pytest.raises(PlanError) as refused:
        import_project(client, ours)
    assert "--force" in str(refused.value)
    assert "overrides/globex.yaml:23:11: unknown plan 'enterprize'" in str(refused.value)
    assert {p: p.read_bytes() for p in ours.rglob("*.yaml")} == before
    forced = import_project(client, ours, force=True)  # Lago is empty: nothing is written
    assert forced.files == [] and not list(ours.rglob("*.yaml"))
