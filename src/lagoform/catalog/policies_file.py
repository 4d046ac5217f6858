"""Load ``policies.yaml`` (beside catalog/ and overrides/): located, validated, cross-checked.

The file is optional: without it there are no policies. Its mistakes are ordinary catalog
problems (file:line:col, every one at once, exit 1): a rule naming an approval kind the file
does not define, a cost table on a metric the catalog lacks or keyed by a filter value the
metric does not have, a scope naming an unknown plan, two rules with one id. Whether the
catalog and the plans *obey* the rules is ``lagoform.policies``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lagoform.catalog.diagnose import suggest, validate, walk
from lagoform.catalog.models_charge import WILDCARD
from lagoform.catalog.models_policy import RULE_KINDS, PoliciesFile, PolicyRule
from lagoform.catalog.project import Project
from lagoform.catalog.yamlguard import read_yaml_file
from lagoform.catalog.yamlsrc import LocDict, LocList, SourceLocation, parse_yaml
from lagoform.errors import CatalogError, Problem, sort_problems

__all__ = ["POLICIES_FILE", "Policies", "load_policies", "policy_problems"]

POLICIES_FILE = "policies.yaml"


@dataclass(frozen=True)
class Policies:
    """A valid policies file and where each of its parts was written."""

    file: str
    model: PoliciesFile
    raw: LocDict

    def locate(self, *path: str | int) -> SourceLocation:
        """Where a part of the file is written: ``locate("rules", 2)``."""
        location, _, _ = walk(self.raw, path, self.raw.loc)
        return location

    def rule_loc(self, rule_id: str) -> SourceLocation:
        for index, rule in enumerate(self.model.rules):
            if rule.id == rule_id:
                return self.locate("rules", index)
        return self.raw.loc

    def reviewers(self, kind: str) -> tuple[str, ...]:
        found = self.model.approvals.get(kind)
        return found.reviewers if found is not None else ()


def _parse(root: Path) -> tuple[Policies | None, list[Problem]]:
    path = root / POLICIES_FILE
    if not path.is_file():
        return None, []
    text, unreadable = read_yaml_file(path, POLICIES_FILE)
    if text is None:
        return None, unreadable
    data, problems = parse_yaml(text, POLICIES_FILE)
    if problems:
        return None, problems
    if data is None:
        return None, []  # an empty file: no policies
    if not isinstance(data, LocDict):
        where = SourceLocation(POLICIES_FILE, 1, 1)
        return None, [where.problem("expected a mapping with approvals, costs and rules")]
    model, problems = validate(PoliciesFile, data, data.loc)
    problems += _rule_tags(data)  # pydantic's union-tag errors are skipped by ``validate``
    if model is None:
        return None, sort_problems(problems)
    return Policies(POLICIES_FILE, model, data), problems


def _rule_tags(data: LocDict) -> list[Problem]:
    """An item of ``rules:`` without a known ``rule:`` kind, at its line."""
    rules = data.get("rules")
    if not isinstance(rules, LocList):
        return []
    out: list[Problem] = []
    for item in rules:
        if not isinstance(item, LocDict):
            continue
        tag = item.get("rule")
        if tag in RULE_KINDS:
            continue
        where = item.value_loc("rule") if "rule" in item else item.loc
        given = f"unknown rule kind '{tag}'" if "rule" in item else "a rule without `rule:`"
        out.append(
            where.problem(
                f"{given}: expected one of {', '.join(RULE_KINDS)}",
                suggest(tag, RULE_KINDS) if isinstance(tag, str) else None,
            )
        )
    return out


def policy_problems(root: Path, project: Project | None) -> list[Problem]:
    """Every problem of ``root``/policies.yaml (cross-checked against ``project`` when given)."""
    policies, problems = _parse(Path(root))
    if policies is not None and project is not None:
        problems += _cross_check(policies, project)
    return sort_problems(problems)


def load_policies(root: Path, project: Project) -> Policies | None:
    """The project's policies (None: it has no policies.yaml); ``CatalogError`` when invalid."""
    policies, problems = _parse(Path(root))
    if policies is not None:
        problems += _cross_check(policies, project)
    if problems:
        raise CatalogError(problems)
    return policies


def _cross_check(policies: Policies, project: Project) -> list[Problem]:
    out: list[Problem] = []
    model = policies.model
    kinds = set(model.approvals)
    plans = {p.code for p in project.catalog.plans}
    seen: set[str] = set()
    for index, rule in enumerate(model.rules):
        out += _rule_problems(policies, index, rule, kinds, plans, seen)
    for index, given in enumerate(model.approved):
        if given.kind not in kinds:
            out.append(
                policies.locate("approved", index, "kind").problem(
                    f"approval kind '{given.kind}' is not defined under approvals:",
                    suggest(given.kind, kinds),
                )
            )
    for index, table in enumerate(model.costs):
        metric = project.catalog.metric(table.metric)
        if metric is None:
            names = [m.code for m in project.catalog.billable_metrics]
            out.append(
                policies.locate("costs", index, "metric").problem(
                    f"cost table for unknown billable metric '{table.metric}'",
                    suggest(table.metric, names),
                )
            )
            continue
        known = {k: set(v) for k, v in (metric.filters or {}).items()}
        for entry_index, entry in enumerate(table.costs):
            where = policies.locate("costs", index, "costs", entry_index, "values")
            for key, values in entry.values.items():
                if key not in known:
                    out.append(
                        where.problem(
                            f"metric {table.metric} has no filter '{key}'", suggest(key, known)
                        )
                    )
                    continue
                for value in values:
                    if value != WILDCARD and value not in known[key]:
                        out.append(
                            where.problem(
                                f"metric {table.metric} filter {key} has no value '{value}'",
                                suggest(value, known[key]),
                            )
                        )
    return out


def _rule_problems(
    policies: Policies,
    index: int,
    rule: PolicyRule,
    kinds: set[str],
    plans: set[str],
    seen: set[str],
) -> list[Problem]:
    out: list[Problem] = []
    if rule.id in seen:
        out.append(
            policies.locate("rules", index, "id").problem(f"rule id '{rule.id}' is used twice")
        )
    seen.add(rule.id)
    approval = getattr(rule, "approval", None)
    if approval is not None and approval not in kinds:
        out.append(
            policies.locate("rules", index, "approval").problem(
                f"approval kind '{approval}' is not defined under approvals:",
                suggest(approval, kinds) or "add it under `approvals:` with its reviewers",
            )
        )
    for code in rule.plans or ():
        if code not in plans:
            out.append(
                policies.locate("rules", index, "plans").problem(
                    f"rule {rule.id} names unknown plan '{code}'", suggest(code, plans)
                )
            )
    return out
