"""Progress bars with an ETA for the commands that run longer than a few seconds (on stderr,
shown on a terminal only, so piped output stays clean)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def stderr_console() -> Console:
    return Console(stderr=True)


@contextmanager
def progress_bar(
    description: str, total: int, console: Console | None = None
) -> Iterator[Callable[..., None]]:
    """Yields `step(n=1, description=None)`; the bar shows done/total, elapsed time and ETA."""
    console = console or stderr_console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # not even a blank line in a pipe or a log
    ) as bar:
        task = bar.add_task(description, total=total)

        def step(n: int = 1, description: str | None = None) -> None:
            bar.update(task, advance=n, description=description)

        yield step


@contextmanager
def stage_bars(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A bar with an ETA on stderr (stdout stays clean for --json); one task per stage."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr_console(), transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield update
