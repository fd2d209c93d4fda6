"""When a streamed candle is closed: the next bucket's frame, or its end plus the grace while
frames still flow; never a forming bar, never after a disconnection or a silence."""

from __future__ import annotations

from providers.bitmart.ws.closer import KlineCloser
from providers.bitmart.ws.messages import Bar

T = 1_700_000_040_000  # a minute boundary
M = 60_000


def bar(open_ms: int, close: float) -> Bar:
    return Bar(open_ms, 1.0, max(1.0, close), min(1.0, close), close, 10.0)


def test_a_frame_of_the_next_bucket_closes_the_last_values_of_the_previous() -> None:
    closer = KlineCloser(M, grace_ms=1500, silent_ms=20_000)
    assert closer.update("X", (bar(T, 1.1),), T + 10_000) == []
    assert closer.update("X", (bar(T, 1.2),), T + 50_000) == []
    closed = closer.update("X", (bar(T + M, 1.3),), T + M + 100)
    assert closed == [bar(T, 1.2)], "the last values seen of the finished bucket"
    # both buckets in one frame: the finished one (final values) then the new one
    closed = closer.update("X", (bar(T + M, 1.4), bar(T + 2 * M, 1.5)), T + 2 * M + 50)
    assert closed == [bar(T + M, 1.4)]
    assert closer.forming["X"] == bar(T + 2 * M, 1.5)


def test_the_time_rule_waits_for_the_grace_and_skips_silent_symbols() -> None:
    closer = KlineCloser(M, grace_ms=1500, silent_ms=20_000)
    closer.update("ACTIVE", (bar(T, 2.0),), T + 55_000)
    closer.update("QUIET", (bar(T, 3.0),), T + 10_000)  # nothing for 51.5 s at the due time
    assert closer.due(T + M + 1_499) == [], "inside the grace: a frame may still be in flight"
    assert closer.due(T + M + 1_500) == [("ACTIVE", bar(T, 2.0))]
    assert "QUIET" not in closer.forming, "a silent symbol's bar is dropped, not closed"
    # a late frame for a closed bucket changes nothing
    assert closer.update("ACTIVE", (bar(T, 9.0),), T + M + 2_000) == []
    assert closer.late == 1


def test_after_a_disconnection_forming_bars_are_dropped_not_closed() -> None:
    closer = KlineCloser(M, grace_ms=1500, silent_ms=20_000)
    closer.update("X", (bar(T, 1.1),), T + 30_000)
    closer.drop({"X"})
    # reconnected in the next minute: nothing of the missed bucket is closed
    assert closer.update("X", (bar(T + M, 1.2),), T + M + 5_000) == []
    assert "X" in closer.forming and closer.forming["X"].open_ms == T + M
