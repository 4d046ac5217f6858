"""`lagoform impact`: the revenue impact of the catalog in the working tree against live usage.

Prices the usage of every subscription whose effective pricing catalog/ and overrides/ would
change, under the current and the proposed pricing, and prints who pays how much more or less.
It plans and applies nothing else. The catalog is validated before any call to Lago.
"""

from __future__ import annotations

from pathlib import Path

import click

from lagoform.cli.console import console
from lagoform.cli.plan import FORMAT, ROOT
from lagoform.cli.target import resolve_target, target_options


@click.command("impact")
@target_options
@ROOT
@click.option(
    "--past-periods",
    type=click.IntRange(0, 24),
    default=0,
    show_default=True,
    help="Also price the last N closed billing periods (Lago's past usage).",
)
@FORMAT
@click.option("--top", type=click.IntRange(0, 1000), default=10, show_default=True,
              help="How many of the largest movers to list.")  # fmt: skip
# default: lagoform.impact.analyze.DEFAULT_CONCURRENCY (not imported: the CLI starts lean)
@click.option("--concurrency", type=click.IntRange(1, 64), default=20, show_default=True,
              help="Usage requests in flight at once (pacing still applies).")  # fmt: skip
@click.option(
    "--verify",
    "verify",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    metavar="N",
    help="Check lagoform's current amounts of N priced subscriptions against Lago's own "
    "(current usage, invoice preview) to the cent; exit 1 when any differs.",
)
def impact_command(
    env: str | None,
    api_url: str | None,
    root: Path,
    past_periods: int,
    fmt: str,
    top: int,
    concurrency: int,
    verify: int,
) -> None:
    """Show who would pay how much more or less if catalog/ and overrides/ were applied."""
    from lagoform.catalog import load_project
    from lagoform.engine.desired import from_project
    from lagoform.engine.live import fetch_live
    from lagoform.engine.plan import hints_for
    from lagoform.engine.target_day import in_force
    from lagoform.engine.versions import resolve as resolve_versions
    from lagoform.errors import PlanError
    from lagoform.impact import render_json, render_markdown, render_text, run_analysis

    with resolve_target(env, api_url, root) as target:
        if not console().quiet:
            click.echo(target.describe(), err=fmt != "text")
        client = target.client()
        project = load_project(root)
        desired = from_project(project)
        live = None
        if any("versions" in o.meta for o in desired.objects["subscription"].values()):
            # versioned plans: which version each subscription is on is Lago's to say
            live = fetch_live(client, hints_for(desired))
        # the prices in force today at the target (scheduled ones that are due included), by
        # the Date of the read above when there was one
        today = in_force(project, client)
        if today is not project:
            desired = from_project(today)
        if live is not None:
            desired = resolve_versions(desired, live).desired
        with console().progress("Pricing usage under the current and the proposed prices"):
            impact = run_analysis(
                desired,
                # usage and configuration reads each have `concurrency` in flight
                lambda: target.async_client(max_connections=2 * concurrency),
                live=live,
                past_periods=past_periods,
                concurrency=concurrency,
                top=top,
                premium=target.environment.premium,
                verify=verify,
            )
    if fmt == "json":
        click.echo(render_json(impact), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(impact), nl=False)
    else:
        click.echo(render_text(impact), nl=False)
    if any(v.differences for v in impact.verified):
        raise PlanError(
            "lagoform's amounts differ from Lago's for "
            f"{sum(1 for v in impact.verified if v.differences)} subscription(s) (listed above): "
            "the estimate is not to be trusted for them; report it with the --format json output"
        )
