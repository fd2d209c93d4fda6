"""Progress bars with an ETA for the commands that run longer than a few seconds (on stderr,
shown on a terminal only, so piped output stays clean)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console or stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def step(n: int = 1, description: str | None = None) -> None:
            bar.update(task, advance=n, description=description)

        yield step
