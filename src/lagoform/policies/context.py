"""What every policy rule reads, and how a broken rule becomes a ``Finding``.

A policy finding is an ordinary plan finding (``engine.findings.Finding``), so ``apply``
refuses an error one exactly as it refuses the engine's findings, and the same ways through
work: ``--acknowledge ID``, a tenant's ``acknowledge: [ID]``, or policies.yaml's
``acknowledge:``. A rule that names an approval kind is also let through by an approval of that
kind: written in policies.yaml's ``approved:`` for the finding's id (the way through in CI:
the pull request adding it is reviewed by the approval's reviewers), written in a tenant's
overrides (``approvals: [{kind: finance, ref: FIN-123}]``) for that tenant's findings, or
given to the command (``--approval finance=FIN-123``). A let-through finding stays in the
plan, marked, so reviewers see what was approved by whom.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from lagoform.catalog.models_policy import AnyRule
from lagoform.catalog.policies_file import Policies
from lagoform.catalog.project import Project
from lagoform.engine.findings import Finding
from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.model.state import DesiredState
from lagoform.policies.locate import Locator, Spot

__all__ = ["Context", "plain"]


def plain(value: Decimal) -> str:
    """A Decimal as people write it: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Context:
    """The policies, the project they govern (its desired state), today, and the approvals
    and acknowledgements given for this run."""

    policies: Policies
    project: Project
    desired: DesiredState
    today: dt.date
    # kind -> reference of the approvals given to the command (``--approval KIND=REF``)
    approvals: Mapping[str, str] = field(default_factory=dict)
    acknowledged: frozenset[str] = frozenset()
    locator: Locator = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "locator", Locator(self.project))  # one index per run

    def tenant_approvals(self, tenant: str | None) -> dict[str, str]:
        """kind -> reference of the approvals a tenant's overrides name."""
        found = self.project.tenant(tenant) if tenant else None
        out: dict[str, str] = {}
        for sub in found.subscriptions if found is not None else ():
            for given in sub.overrides.approvals if sub.overrides is not None else ():
                out.setdefault(given.kind, given.ref)
        return out

    def negotiates(self, tenant: str | None) -> bool:
        found = self.project.tenant(tenant) if tenant else None
        return found is not None and any(s.overrides for s in found.subscriptions)

    def approved_in_file(self, kind: str, ident: str) -> str | None:
        """The reference of an approval policies.yaml's ``approved:`` gives this finding."""
        for given in self.policies.model.approved:
            if given.kind == kind and ident in given.findings:
                return given.ref
        return None

    def reviewers(self, kind: str) -> str:
        who = self.policies.reviewers(kind)
        return f" from {', '.join(who)}" if who else ""

    def finding(
        self,
        rule: AnyRule,
        subject_id: str,
        *,
        subject: str,
        message: str,
        way_out: str,
        spot: Spot,
        tenant: str | None = None,
        approval: str | None = None,
    ) -> Finding:
        """The finding of ``rule`` about ``subject_id``; approved when an approval of kind
        ``approval`` was given (to the command, or in ``tenant``'s overrides)."""
        rule_id = rule.id
        # a filter key's wildcard as the YAML writes it: ids are typed on command lines
        ident = f"policy:{rule_id}:{subject_id}".replace(ALL_FILTER_VALUES, "*")
        # a tenant's file is the place only when it negotiates (acknowledge: and approvals:
        # live in its `overrides:`); otherwise policies.yaml is
        tenant = tenant if self.negotiates(tenant) else None
        given = None
        if approval is not None:
            ref = (
                self.approvals.get(approval)
                or self.tenant_approvals(tenant).get(approval)
                or self.approved_in_file(approval, ident)
            )
            given = f"{approval} {ref}" if ref else None
        ways = [way_out]
        if approval is not None:
            ways.append(
                f"get the {approval} approval{self.reviewers(approval)} "
                f"(`approved:` in policies.yaml"
                + (", or `approvals:` in the tenant's overrides" if tenant else "")
                + f", or `lagoform apply --approval {approval}=REF`)"
            )
        where = "the tenant's overrides" if tenant else "policies.yaml"
        ways.append(
            f"acknowledge it (`acknowledge: [{ident}]` in {where}, or "
            f"`lagoform apply --acknowledge {ident}`)"
        )
        return Finding(
            id=ident,
            severity=rule.severity,
            subject=subject,
            message=message,
            way_out=", or ".join(ways),
            acknowledged=given is not None or ident in self.acknowledged,
            rule=rule_id,
            where=str(spot),
            approval=approval,
            reviewers=self.policies.reviewers(approval) if approval else (),
            approved=given,
        )

    def in_scope(self, rule: AnyRule, plan: str | None) -> bool:
        return rule.plans is None or (plan is not None and plan in rule.plans)
