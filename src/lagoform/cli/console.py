"""How the CLI talks to a person: colour, quiet and verbose, progress on slow work.

One ``Console`` per run, made by the root group from its global options and kept on the click
context:

- **colour** only on a terminal, and never with ``--no-color``, ``NO_COLOR`` set (to anything
  but the empty string, https://no-color.org) or ``TERM=dumb``; click then strips the styles of
  every message, and renderers are asked for plain text;
- **-q/--quiet**: results and errors only (no target line, notes or progress);
- **-v/--verbose**: a debug log of every Lago request on stderr (method, path, status, time;
  never a header), with every secret the run knows of masked;
- **progress** (``Ticker``): one status line on stderr, redrawn in place with the elapsed time,
  for work that runs longer than ``PROGRESS_DELAY`` seconds; only on a terminal (never in a
  log or a pipe, nor beside the --verbose log), erased when the work ends.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

import click

from lagoform.lago.secret import Secret, named_secrets

__all__ = ["PROGRESS_DELAY", "Console", "Ticker", "console"]

PROGRESS_DELAY = 2.0  # seconds of work before a progress line appears


@dataclass
class Console:
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    secrets: list[Secret] = field(default_factory=list)

    @property
    def colors_allowed(self) -> bool:
        return not (self.no_color or self.environ.get("NO_COLOR", "") != "" or self._dumb_terminal)

    @property
    def _dumb_terminal(self) -> bool:
        return self.environ.get("TERM", "") == "dumb"

    def color(self, stream: IO[str] | None = None) -> bool:
        """Colour for output to ``stream`` (stdout by default): allowed, and a terminal."""
        target = stream if stream is not None else sys.stdout
        return self.colors_allowed and _isatty(target)

    def info(self, message: str) -> None:
        """A note for the person at the terminal (stderr); none with --quiet."""
        if not self.quiet:
            click.echo(message, err=True)

    def keep_secret(self, secret: Secret | None) -> None:
        """Mask ``secret`` in the debug log too (its variable's name may say nothing)."""
        if secret is not None and secret not in self.secrets:
            self.secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in [*self.secrets, *named_secrets(self.environ)]:
            text = secret.redact(text)
        return text

    def progress(self, label: str, *, stream: IO[str] | None = None) -> Ticker:
        """A status line for slow work: on a terminal only, not with --quiet or TERM=dumb, and
        not with --verbose (its log lines say what runs, and would break the line)."""
        target = stream if stream is not None else sys.stderr
        enabled = (
            not self.quiet and not self.verbose and not self._dumb_terminal and _isatty(target)
        )
        return Ticker(label, stream=target, enabled=enabled)

    def start_logging(self) -> None:
        """Route lagoform's log: debug with --verbose, errors only with --quiet, else warnings
        (every record scrubbed of secrets)."""
        logger = logging.getLogger("lagoform")
        for handler in list(logger.handlers):
            if isinstance(handler, _ClickHandler):
                logger.removeHandler(handler)
        level = logging.DEBUG if self.verbose else logging.ERROR if self.quiet else logging.WARNING
        handler = _ClickHandler(self)
        handler.setLevel(level)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


def console() -> Console:
    """This run's console (a default one outside a command)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Console) if ctx is not None else None
    return found if found is not None else Console()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


class _ClickHandler(logging.Handler):
    """Log records as ``debug: lagoform.lago: GET /api/v1/plans -> 200 (12 ms)`` on stderr."""

    def __init__(self, owner: Console) -> None:
        super().__init__()
        self.owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.levelname.lower()}: {record.name}: {record.getMessage()}"
            click.echo(self.owner.redact(text), err=True)
        except Exception:  # a log line must never break the command
            self.handleError(record)


class Ticker:
    """One status line on ``stream``, redrawn in place every ``interval`` seconds once the work
    has run ``delay`` seconds: ``label — detail — 12 s``. ``update`` changes the detail;
    ``echo`` prints a permanent line above it. Does nothing when not ``enabled``."""

    def __init__(
        self,
        label: str,
        *,
        stream: IO[str],
        enabled: bool,
        delay: float = PROGRESS_DELAY,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream
        self.enabled = enabled
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.detail = ""
        self.started = clock()
        self.drawn = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def __enter__(self) -> Ticker:
        self.started = self.clock()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="lagoform-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self._erase()

    def update(self, detail: str) -> None:
        self.detail = detail

    def echo(self, message: str, *, err: bool = False, **style: Any) -> None:
        """A permanent line (stdout, or stderr with ``err``) printed above the status line."""
        with self._lock:
            self._erase()
            click.secho(message, err=err, **style)

    def clear(self) -> None:
        """Erase the status line now (it is redrawn on the next tick, if any)."""
        with self._lock:
            self._erase()

    def line(self) -> str:
        parts = [self.label, self.detail, f"{self.elapsed:.0f} s"]
        return " — ".join(p for p in parts if p)

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            with self._lock:
                self.stream.write(f"\r{self.line()}\x1b[K")
                self.stream.flush()
                self.drawn = True
            self._stop.wait(self.interval)

    def _erase(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False
