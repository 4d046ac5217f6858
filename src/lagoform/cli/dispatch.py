"""``lagoform dispatch``: enqueue usage, run the worker, inspect and replay dead letters.

Commands parse options, open the spool / catalog / Lago client, call ``lagoform.dispatch`` and
print. Progress goes to stderr; results to stdout. Errors are ``LagoformError``s, turned into
exit codes by the root group (never a traceback).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from lagoform.cli.console import console
from lagoform.cli.target import Target, open_target, target_options
from lagoform.dispatch.deadletters import DeadLetterStore
from lagoform.dispatch.delivery import Deliverer, DeliveryPolicy
from lagoform.dispatch.spool import DEFAULT_SPOOL, Spool
from lagoform.dispatch.worker import Progress
from lagoform.errors import DispatchError
from lagoform.extras import require_extra
from lagoform.lago import AsyncLagoClient

T = TypeVar("T")


@click.group()
def dispatch() -> None:
    """Usage dispatch: usage records → Lago events, exactly once."""


_spool_option = click.option(
    "--spool",
    "spool_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The spool database (default: <root>/{DEFAULT_SPOOL}).",
)
_project_option = click.option(
    "--root",
    "project_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project directory holding catalog/, overrides/ and lagoform.yaml.",
)
_max_in_flight = click.option(
    "--max-in-flight", default=4, show_default=True, help="Batch requests open at once."
)
_max_attempts = click.option(
    "--max-attempts",
    default=10,
    show_default=True,
    help="Attempts on 429/5xx/timeouts before events go to the dead letters.",
)


def _delivery_options(f: Callable[..., Any]) -> Callable[..., Any]:
    return _max_in_flight(_max_attempts(f))


def _spool_path(project_root: Path, spool_path: Path | None) -> Path:
    return spool_path if spool_path is not None else project_root / DEFAULT_SPOOL


# ---- send / serve --------------------------------------------------------------------------


@dispatch.command()
@click.argument("source", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@_spool_option
@_project_option
def send(source: str, spool_path: Path | None, project_root: Path) -> None:
    """Enqueue usage records (JSON lines) from FILE, or stdin with '-'."""
    path = _spool_path(project_root, spool_path)
    name = "stdin" if source == "-" else source
    try:
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    except OSError as err:
        raise DispatchError(f"cannot read {source}: {err.strerror}") from None
    with stream, Spool(path) as spool:
        result = spool.ingest_lines(stream, name)
        backlog = spool.backlog()
    for problem in result.problems[:20]:
        click.echo(f"dead letter: {problem}", err=True)
    click.echo(
        f"enqueued {result.accepted:,} records into {path} "
        f"({result.dead_lettered:,} dead-lettered; backlog {backlog:,})"
    )


@dispatch.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, help="Port to listen on.")
@_spool_option
@_project_option
def serve(host: str, port: int, spool_path: Path | None, project_root: Path) -> None:
    """HTTP ingest endpoint: POST JSON lines or a JSON array to /records."""
    require_extra("server", "lagoform dispatch serve")
    from lagoform.dispatch.ingest import serve as run_server

    path = _spool_path(project_root, spool_path)
    run_server(
        path,
        host,
        port,
        on_ready=lambda url: click.echo(f"ingest: {url}/records → {path}", err=True),
    )


# ---- the Lago target ------------------------------------------------------------------------


def _client(target: Target, max_in_flight: int) -> AsyncLagoClient:
    """An async client for the target (a remote Lago through aiohttp, see
    ``Target.async_client``). Retries are left to the dispatcher: it counts attempts and
    dead-letters; the client retrying underneath would multiply them."""
    from lagoform.lago import NO_RETRY

    return target.async_client(retry=NO_RETRY, max_connections=max_in_flight)


def _mapper(project_root: Path) -> Any:
    from lagoform.catalog.project import load_project
    from lagoform.dispatch.mapping import mapper_for_project

    return mapper_for_project(load_project(project_root))


def _deliver_with(
    env: str | None,
    api_url: str | None,
    root: Path,
    policy: DeliveryPolicy,
    body: Callable[[Deliverer], Awaitable[T]],
    stop: list[Callable[[], None]] | None = None,
) -> T:
    """Open the target and a Deliverer on it, run ``body``; with ``stop`` (filled by ``body``),
    the first SIGTERM/SIGINT asks for a graceful stop and the second exits at once."""

    async def main(target: Target) -> T:
        if stop is not None:
            loop, signals = asyncio.get_running_loop(), [0]

            def on_signal() -> None:
                signals[0] += 1
                if signals[0] > 1:
                    os._exit(130)  # nothing unacknowledged is lost: the next run re-sends it
                click.echo("stopping: finishing the batches in flight…", err=True)
                for action in stop:
                    action()

            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, on_signal)
        async with _client(target, policy.max_in_flight) as client:
            return await body(Deliverer(client, policy))

    with open_target(env, api_url, root) as target:
        return _run_loop(main(target))


def _run_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run the worker on uvloop when it is installed (the ``server`` extra brings it): about a
    fifth less CPU per event than asyncio's own loop (benchmarks/RESULTS.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)


def _progress_printer(quiet: bool) -> Callable[[Progress], None] | None:
    """A terminal gets one status line rewritten in place; a log (not a terminal, or
    TTY=dumb) gets a line only when something changed, never one a second while idle."""
    if quiet or console().quiet:
        return None
    if sys.stderr.isatty() and console().environ.get("TERM") != "dumb":
        return lambda p: click.echo(f"\r{p.line()}\x1b[K", err=True, nl=False)
    return StatusLog()


class StatusLog:
    """Prints a progress line when the counts moved since the last one printed."""

    def __init__(self) -> None:
        self.last: tuple[int, ...] | None = None

    def __call__(self, progress: Progress) -> None:
        counts = (
            progress.events,
            progress.records,
            progress.backlog,
            progress.dead_letters,
            progress.retries,
        )
        if counts != self.last:
            self.last = counts
            click.echo(progress.line(), err=True)


# ---- run / kafka ---------------------------------------------------------------------------


@dispatch.command()
@click.option("--once", is_flag=True, help="Drain the spool and exit (for cron).")
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
@_spool_option
@_project_option
@target_options
@_delivery_options
def run(
    once: bool,
    quiet: bool,
    spool_path: Path | None,
    project_root: Path,
    env: str | None,
    api_url: str | None,
    max_in_flight: int,
    max_attempts: int,
) -> None:
    """Drain the spool into Lago (until SIGTERM/SIGINT, or empty with --once)."""
    from lagoform.dispatch.worker import SpoolWorker, WorkerResult

    mapper = _mapper(project_root)
    path = _spool_path(project_root, spool_path)
    progress = _progress_printer(quiet)
    stop: list[Callable[[], None]] = []

    async def work(deliverer: Deliverer) -> WorkerResult:
        with Spool(path, durable=False) as spool:
            worker = SpoolWorker(spool, mapper, deliverer, progress=progress)
            stop.append(worker.stop)
            return await worker.run(once=once)

    policy = DeliveryPolicy(max_in_flight=max_in_flight, max_attempts=max_attempts)
    result = _deliver_with(env, api_url, project_root, policy, work, stop)
    if progress is not None and not isinstance(progress, StatusLog):
        click.echo("", err=True)  # end the status line rewritten in place
    click.echo(
        f"delivered {result.events:,} events from {result.records:,} records in "
        f"{result.elapsed:.1f}s ({result.duplicates:,} already in Lago, {result.retries:,} "
        f"retries); dead letters {result.dead_letters:,}; backlog {result.backlog:,}"
    )


@dispatch.command()
@click.option("--brokers", required=True, help="Kafka bootstrap servers, host:port[,…].")
@click.option("--topic", required=True, help="Topic of usage records (JSON values).")
@click.option("--group", required=True, help="Consumer group shared by all workers.")
@click.option("--dead-letter-topic", default=None, help="Default: <topic>.dead-letters.")
@click.option(
    "--idle-exit", type=float, default=None, help="Exit after this many seconds without data."
)
@click.option(
    "--kafka-option",
    "-X",
    multiple=True,
    help="librdkafka setting KEY=VALUE (repeatable), e.g. -X session.timeout.ms=6000.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
@_project_option
@target_options
@_delivery_options
def kafka(
    brokers: str,
    topic: str,
    group: str,
    dead_letter_topic: str | None,
    idle_exit: float | None,
    kafka_option: tuple[str, ...],
    quiet: bool,
    project_root: Path,
    env: str | None,
    api_url: str | None,
    max_in_flight: int,
    max_attempts: int,
) -> None:
    """Consume usage from Kafka in a consumer group; commit only what Lago accepted."""
    from lagoform.dispatch.kafka import KafkaResult, KafkaSettings, KafkaWorker

    pairs = [item.partition("=") for item in kafka_option]
    if any(not sep or not key.strip() for key, sep, _ in pairs):
        raise DispatchError("--kafka-option expects KEY=VALUE")
    settings = KafkaSettings(
        brokers=brokers,
        topic=topic,
        group=group,
        dead_letter_topic=dead_letter_topic,
        extra={key.strip(): value.strip() for key, _, value in pairs},
    )
    mapper = _mapper(project_root)
    progress = _progress_printer(quiet)
    stop: list[Callable[[], None]] = []

    async def work(deliverer: Deliverer) -> KafkaResult:
        def assigned(owned: int, total: int) -> None:
            # the organisation's events budget is shared by the group: each worker paces at
            # the share of the partitions it owns (one with none keeps a partition's share)
            rate = None
            if isinstance(deliverer.sink, AsyncLagoClient):
                rate = deliverer.sink.share_budget("events", max(owned, 1) / total)
            paced = f"events paced at {rate:,.0f} requests/s" if rate else "events unpaced"
            console().info(f"kafka: {owned} of {total} partitions of {topic}; {paced}")

        worker = KafkaWorker(settings, mapper, deliverer, progress=progress, on_assignment=assigned)
        stop.append(worker.stop)
        return await worker.run(idle_exit=idle_exit)

    policy = DeliveryPolicy(max_in_flight=max_in_flight, max_attempts=max_attempts)
    result = _deliver_with(env, api_url, project_root, policy, work, stop)
    click.echo(
        f"delivered {result.events:,} events from {result.records:,} records in "
        f"{result.elapsed:.1f}s; dead letters {result.dead_letters:,} "
        f"(topic {settings.dlq_topic}); {result.commits:,} commits"
    )


# ---- dead letters --------------------------------------------------------------------------


@dispatch.group()
def dlq() -> None:
    """Inspect and replay dead letters (usage that could not be billed)."""


@dlq.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include replayed letters.")
@click.option("--limit", default=100, show_default=True)
@_spool_option
@_project_option
def dlq_list(show_all: bool, limit: int, spool_path: Path | None, project_root: Path) -> None:
    """List dead letters (oldest first)."""
    with DeadLetterStore(_spool_path(project_root, spool_path)) as store:
        letters = store.list(status=None if show_all else "dead", limit=limit)
        dead, replayed = store.count("dead"), store.count("replayed")
    for d in letters:
        error = d.error if len(d.error) <= 90 else d.error[:87] + "..."
        click.echo(
            f"{d.id:>6}  {d.status:<8}  {datetime.fromtimestamp(d.created_at, UTC):%Y-%m-%d %H:%M}"
            f"  {d.reason:<24}  {d.record_id or '-'}  {error}"
        )
    click.echo(f"{dead:,} dead, {replayed:,} replayed", err=True)


@dlq.command("show")
@click.argument("letter_id", type=int)
@_spool_option
@_project_option
def dlq_show(letter_id: int, spool_path: Path | None, project_root: Path) -> None:
    """Show one dead letter as JSON: record, failed payload, error, attempts."""
    with DeadLetterStore(_spool_path(project_root, spool_path)) as store:
        letter = store.get(letter_id)
    click.echo(orjson.dumps(letter.as_json(), option=orjson.OPT_INDENT_2).decode())


@dlq.command("replay")
@click.argument("letter_ids", type=int, nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@click.option("--force", is_flag=True, help="Send again even letters already replayed.")
@_spool_option
@_project_option
@target_options
@_delivery_options
def dlq_replay(
    letter_ids: tuple[int, ...],
    replay_all: bool,
    force: bool,
    spool_path: Path | None,
    project_root: Path,
    env: str | None,
    api_url: str | None,
    max_in_flight: int,
    max_attempts: int,
) -> None:
    """Send dead letters to Lago again; each is billed once however often it is replayed."""
    from lagoform.dispatch.replay import ReplayResult, replay

    if replay_all == bool(letter_ids):
        raise DispatchError("give dead-letter ids, or --all")
    mapper = _mapper(project_root)
    policy = DeliveryPolicy(max_in_flight=max_in_flight, max_attempts=max_attempts)
    with DeadLetterStore(_spool_path(project_root, spool_path)) as store:
        if replay_all:
            letters = store.list(status="dead", limit=1_000_000)
        else:
            letters = [store.get(i) for i in letter_ids]

        async def work(deliverer: Deliverer) -> ReplayResult:
            return await replay(store, letters, mapper, deliverer, force=force)

        result = _deliver_with(env, api_url, project_root, policy, work)
    for letter_id, why in result.skipped:
        click.echo(f"skipped {letter_id}: {why}", err=True)
    for letter_id, error in result.failed:
        click.echo(f"still dead {letter_id}: {error}", err=True)
    click.echo(
        f"replayed {len(result.replayed):,} dead letters ({result.events:,} events accepted); "
        f"{len(result.failed):,} still dead, {len(result.skipped):,} skipped"
    )
    if result.failed:
        raise DispatchError(f"{len(result.failed)} dead letters could not be replayed")


@dispatch.command()
@_spool_option
@_project_option
def status(spool_path: Path | None, project_root: Path) -> None:
    """Backlog and dead-letter counts of the spool."""
    path = _spool_path(project_root, spool_path)
    with Spool(path) as spool:
        backlog, dead = spool.backlog(), spool.dead_letter_count()
    click.echo(f"spool {path}: backlog {backlog:,} records; {dead:,} dead letters")
