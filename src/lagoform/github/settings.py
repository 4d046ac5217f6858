"""The Action's inputs, read once and checked: which mode, which target, where files go.

The composite action maps each ``inputs.<name>`` to ``INPUT_<NAME>`` (underscores; composite
actions do not export inputs themselves). Everything a mode needs beyond the runner context is
here, so modes take ``(ctx, settings)`` and tests can build either directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lagoform.errors import ConfigError
from lagoform.github.commands import Scrubber, Target
from lagoform.github.runner import RunnerContext, input_flag, input_value
from lagoform.github.sticky import DRIFT_LABEL

Mode = Literal["pr", "apply", "drift", "scheduled"]
MODES: tuple[Mode, ...] = ("pr", "apply", "drift", "scheduled")


@dataclass(frozen=True)
class Settings:
    mode: Mode
    target: Target
    project_root: Path
    output_dir: Path
    comment: bool = True
    drift_label: str = DRIFT_LABEL
    actor: str = ""
    past_periods: int = 0  # closed billing periods the revenue section also prices
    scrub: Scrubber = field(default_factory=Scrubber)

    @classmethod
    def from_inputs(cls, mode: str, ctx: RunnerContext) -> Settings:
        selected = next((m for m in MODES if m == mode), None)
        if selected is None:
            raise ConfigError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
        workdir = Path(input_value("working_directory", "."))
        root = (workdir if workdir.is_absolute() else ctx.workspace / workdir).resolve()
        if not root.is_dir():
            raise ConfigError(f"working-directory {ctx.relative_to_workspace(root)} does not exist")
        out = input_value("output_dir")
        if out:
            output_dir = Path(out) if Path(out).is_absolute() else ctx.workspace / out
        else:
            # RUNNER_TEMP is per job and outside the checkout: artifacts never end up committed.
            temp = os.environ.get("RUNNER_TEMP")
            output_dir = Path(temp) / "lagoform" if temp else root / ".lagoform" / "github"
        extra = (ctx.token,) if ctx.token is not None else ()
        return cls(
            mode=selected,
            target=Target(input_value("environment"), input_value("api_url")),
            project_root=root,
            output_dir=output_dir.resolve(),
            comment=input_flag("comment", True),
            drift_label=input_value("drift_label", DRIFT_LABEL),
            actor=input_value("actor"),
            past_periods=_past_periods(input_value("past_periods", "0")),
            scrub=Scrubber.from_environ(extra=extra),
        )


def _past_periods(value: str) -> int:
    # The same range `lagoform plan --past-periods` accepts.
    if not value.isdigit() or int(value) > 24:
        raise ConfigError(
            f"input 'past-periods' must be a whole number from 0 to 24, not {value!r}"
        )
    return int(value)
