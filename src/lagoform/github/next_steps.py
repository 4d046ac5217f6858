""" "What happens next" on a pull request: where it applies on merge, who must approve, how to
re-plan.

- **Where**: the repository's own workflows say it. Every job with a step running this Action
  in ``mode: apply`` for this project (its ``working-directory``) applies to that step's
  ``environment``; jobs are ordered by their ``needs`` (staging, then production).
- **Who**: the CODEOWNERS of the files the pull request touches (GitHub's file lookup order:
  ``.github/``, the root, ``docs/``; the last matching pattern wins; a pattern is gitignore-like
  without negation or ranges, as GitHub documents); and, when the plan breaks a pricing policy
  that asks for an approval (policies.yaml), which approval, from whom, and how to give it.
- **Re-plan**: push to the branch, or the same plan locally.

Reading files and asking GitHub happen in ``gather``; the rest is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from lagoform.engine.plan import Plan
from lagoform.github.report import escape_text
from lagoform.github.rest import GitHubApiError, GitHubClient
from lagoform.github.runner import RunnerContext
from lagoform.github.settings import Settings
from lagoform.policies.render import missing_approvals

__all__ = [
    "CODEOWNERS_PATHS",
    "NextSteps",
    "apply_targets",
    "gather",
    "owners_of",
    "parse_codeowners",
    "render",
]

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# What a pricing change touches when the pull request's files cannot be listed.
PRICING_PATHS = ("catalog/", "overrides/", "lagoform.yaml", "policies.yaml")


@dataclass(frozen=True)
class NextSteps:
    targets: tuple[str, ...]  # environments the apply workflow applies to, in order
    workflow: str | None  # the workflow file that does it
    owners: tuple[str, ...]  # CODEOWNERS of the touched files
    unowned: tuple[str, ...]  # touched files no CODEOWNERS line covers
    codeowners: str | None  # which CODEOWNERS file (None: none)
    files: int  # how many files the pull request touches (0: unknown)
    replan: str  # the local command
    held: str | None = None  # why merging applies nothing (None: it applies the changes)
    # approvals the plan's policy findings still need: (kind, its reviewers, how many findings)
    policy_approvals: tuple[tuple[str, tuple[str, ...], int], ...] = ()


# -- where it applies --------------------------------------------------------------------------


def apply_targets(workspace: Path, project: str = ".") -> tuple[tuple[str, ...], str | None]:
    """The environments the repository's workflows apply ``project`` to on merge, in ``needs``
    order, and the first workflow file that does it."""
    folder = workspace / ".github" / "workflows"
    if not folder.is_dir():
        return (), None
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        jobs = data.get("jobs") if isinstance(data, Mapping) else None
        if not isinstance(jobs, Mapping):
            continue
        found = _targets(jobs, project)
        if found:
            return tuple(found), path.relative_to(workspace).as_posix()
    return (), None


def _targets(jobs: Mapping[str, Any], project: str) -> list[str]:
    applying: dict[str, list[str]] = {}
    for name, job in jobs.items():
        steps = job.get("steps") if isinstance(job, Mapping) else None
        for step in steps if isinstance(steps, list) else []:
            given = step.get("with") if isinstance(step, Mapping) else None
            if not isinstance(given, Mapping) or given.get("mode") != "apply":
                continue
            if _same_dir(str(given.get("working-directory") or "."), project):
                label = given.get("environment") or ("api-url" if given.get("api-url") else "")
                applying.setdefault(str(name), []).append(str(label or "sandbox"))
    order: list[str] = []
    for name in _by_needs(jobs):
        order += applying.get(name, [])
    return list(dict.fromkeys(order))


def _same_dir(a: str, b: str) -> bool:
    return PurePosixPath(a.strip("/") or ".") == PurePosixPath(b.strip("/") or ".")


def _by_needs(jobs: Mapping[str, Any]) -> list[str]:
    """Job names, each after the jobs it ``needs`` (file order otherwise)."""
    needs: dict[str, set[str]] = {}
    for name, job in jobs.items():
        raw = job.get("needs") if isinstance(job, Mapping) else None
        wanted = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        needs[str(name)] = {str(n) for n in wanted if str(n) in jobs}
    done: list[str] = []
    while len(done) < len(needs):
        ready = [n for n in needs if n not in done and needs[n] <= set(done)]
        if not ready:  # a cycle GitHub would refuse: keep file order for the rest
            ready = [n for n in needs if n not in done]
        done.append(ready[0])
    return done


# -- who approves ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]


def parse_codeowners(text: str) -> list[Rule]:
    rules: list[Rule] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = re.split(r"(?<!\\)#", line, maxsplit=1)[0].strip()  # a trailing comment
        pattern, *owners = line.split()
        pattern = pattern.replace("\\#", "#").replace("\\ ", " ")
        rules.append(Rule(pattern, _regex(pattern), tuple(owners)))
    return rules


def _regex(pattern: str) -> re.Pattern[str]:
    directory = pattern.endswith("/")
    core = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in core
    out = ""
    i = 0
    while i < len(core):
        if core.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif core.startswith("/**", i) and i + 3 == len(core):
            out += "/.*"
            i += 3
        elif core.startswith("**", i):
            out += ".*"
            i += 2
        elif core[i] == "*":
            out += "[^/]*"
            i += 1
        elif core[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(core[i])
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    last = core.rsplit("/", 1)[-1]
    # "docs/" owns everything below a docs directory; "docs/*" only what is directly in it
    suffix = "/.*" if directory else "" if "*" in last else "(?:/.*)?"
    return re.compile(f"^{prefix}{out}{suffix}$")


def owners_of(rules: Sequence[Rule], path: str) -> tuple[str, ...] | None:
    """The owners of ``path`` (the last matching rule's; None: no rule matches it)."""
    found: tuple[str, ...] | None = None
    for rule in rules:
        if rule.regex.match(path.lstrip("/")):
            found = rule.owners
    return found


def _approvers(rules: Sequence[Rule], files: Iterable[str]) -> tuple[list[str], list[str]]:
    owners: list[str] = []
    unowned: list[str] = []
    for path in files:
        found = owners_of(rules, path)
        if found:
            owners += found
        else:
            unowned.append(path)
    return list(dict.fromkeys(owners)), unowned


# -- gathering and rendering -------------------------------------------------------------------


def gather(
    ctx: RunnerContext, settings: Settings, *, held: str | None = None, plan: Plan | None = None
) -> NextSteps:
    """What happens next for this pull request: reads the workflows and CODEOWNERS from the
    checkout and asks GitHub which files the pull request touches. ``held``: why merging
    would apply nothing (invalid YAML, blocked changes, no changes); ``plan``: the plan, for
    the approvals its policy findings need."""
    project = ctx.relative_to_workspace(settings.project_root)
    targets, workflow = apply_targets(ctx.workspace, "." if project in ("", ".") else project)
    files = _pull_files(ctx)
    counted = len(files)
    if not files:  # unknown: the pricing files of this project stand in for them
        base = "" if project in ("", ".") else f"{project}/"
        files = [f"{base}{p}" for p in PRICING_PATHS]
    codeowners = next((p for p in CODEOWNERS_PATHS if (ctx.workspace / p).is_file()), None)
    owners: list[str] = []
    unowned: list[str] = []
    if codeowners is not None:
        text = (ctx.workspace / codeowners).read_text(encoding="utf-8", errors="replace")
        owners, unowned = _approvers(parse_codeowners(text), files)
    return NextSteps(
        targets=targets,
        workflow=workflow,
        owners=tuple(owners),
        unowned=tuple(unowned),
        codeowners=codeowners,
        files=counted,
        replan=" ".join(["lagoform", "plan", *settings.target.args()]),
        held=held,
        policy_approvals=tuple(
            (kind, who, len(ids))
            for kind, (who, ids) in (missing_approvals(plan) if plan else {}).items()
        ),
    )


def _pull_files(ctx: RunnerContext) -> list[str]:
    number = ctx.pull_request_number()
    if number is None or ctx.token is None:
        return []
    try:
        with GitHubClient(ctx.api_url, ctx.repository, ctx.token) as client:
            return client.list_pull_files(number)
    except GitHubApiError:
        return []  # said in the block: the owners of the pricing files stand in


def render(steps: NextSteps) -> str:
    lines = ["#### What happens next", ""]
    if steps.held:
        lines.append(f"- **On merge:** {steps.held}")
    elif steps.targets:
        where = ", then ".join(f"`{escape_text(t)}`" for t in steps.targets)
        lines.append(f"- **On merge:** applied to {where} (`{steps.workflow}`).")
    else:
        lines.append(
            "- **On merge:** no workflow in this repository applies it (no job runs the "
            "lagoform action with `mode: apply`); run `lagoform apply` yourself."
        )
    lines.append(f"- **Approval:** {_approval(steps)}")
    for kind, who, count in steps.policy_approvals:
        by = ", ".join(escape_text(w) for w in who) or "the reviewers policies.yaml names (none)"
        lines.append(
            f"- **Policy approval `{escape_text(kind)}`:** required by {count} pricing-policy "
            f"finding{'s' if count != 1 else ''}; given by {by}: add it under `approved:` in "
            "`policies.yaml` in this pull request (its reference and the finding ids), so the "
            "apply on merge lets them through."
        )
    lines.append(
        "- **Re-plan:** push to this branch (this comment is updated), or run "
        f"`{escape_text(steps.replan)}` locally."
    )
    return "\n".join(lines)


def _approval(steps: NextSteps) -> str:
    touched = (
        f"the {steps.files} file{'s' if steps.files != 1 else ''} this pull request touches"
        if steps.files
        else "the pricing files (the pull request's files could not be listed)"
    )
    if steps.codeowners is None:
        return (
            "no CODEOWNERS file: anyone with write access can approve. To require finance, "
            "give `catalog/` and `overrides/` owners (docs/github.md)."
        )
    if not steps.owners:
        return f"{touched}: no owner in `{steps.codeowners}`; anyone with write access can approve."
    who = ", ".join(escape_text(o) for o in steps.owners)
    text = f"{who} (`{steps.codeowners}` owners of {touched})"
    if steps.unowned:
        text += f"; {len(steps.unowned)} file(s) have no owner"
    return text + "."
