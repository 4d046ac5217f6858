"""``python -m lagoform.github <pr|apply|drift|scheduled>``: the Action's entry point.

The mode comes from the first argument (or the ``mode`` input). Every expected failure becomes
an error annotation and exit code 1; no traceback reaches the job log, and no secret either.
Without the ``github`` extra it says so in one line (the toolkit is imported only after that).
"""

from __future__ import annotations

import os
import sys
import traceback

from lagoform.errors import EXIT_ERROR, ConfigError, LagoformError
from lagoform.extras import require_extra


def main(argv: list[str] | None = None) -> int:
    try:
        require_extra("github", "python -m lagoform.github")
    except ConfigError as err:
        print(f"Error: {err}", file=sys.stderr)
        return EXIT_ERROR
    import github_action_toolkit as gat

    from lagoform.github.commands import Scrubber
    from lagoform.github.runner import RunnerContext, annotate_error, input_value
    from lagoform.github.settings import Settings

    args = sys.argv[1:] if argv is None else argv
    mode = args[0] if args else input_value("mode")
    scrub = Scrubber.from_environ()
    try:
        ctx = RunnerContext.from_environ()
        settings = Settings.from_inputs(mode, ctx)
        scrub = settings.scrub
        match settings.mode:
            case "pr":
                from lagoform.github import pr

                return pr.run(ctx, settings)
            case "apply" | "scheduled":  # scheduled: the due scheduled prices, on a schedule
                from lagoform.github import apply

                return apply.run(ctx, settings)
            case "drift":
                from lagoform.github import drift

                return drift.run(ctx, settings)
    except LagoformError as err:
        annotate_error(scrub(str(err)))
    except Exception as err:  # a bug: say so plainly, still without a traceback or a secret
        annotate_error(scrub(f"lagoform: unexpected {type(err).__name__}: {err}"))
        if os.environ.get("RUNNER_DEBUG") == "1":  # "Enable debug logging" on a re-run
            gat.debug(scrub(traceback.format_exc()).replace("\n", "%0A"))
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
