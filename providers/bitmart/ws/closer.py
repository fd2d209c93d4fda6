"""When a streamed candle is closed (pure): Bitmart's kline frames carry no "closed" flag; a
bucket is final once a frame for a later bucket arrives, or once its end time has passed
(reference §10.5). Only closed bars ever leave this module.

Safety rules on top of the documented one:
* the time rule waits `grace_ms` after the bucket's end for a frame still in flight, and never
  closes a bar of a symbol whose frames stopped (`silent_ms` without any): a silent stream is
  not evidence that nothing traded, so that bucket is left to the REST repair;
* after a disconnection every forming bar is dropped (frames were missed), never closed;
* a frame for a bucket already closed is ignored and counted (`late`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from providers.bitmart.ws.messages import Bar


@dataclass
class KlineCloser:
    step_ms: int = 60_000
    grace_ms: int = 1_500
    silent_ms: int = 20_000
    forming: dict[str, Bar] = field(default_factory=dict)
    closed_upto: dict[str, int] = field(default_factory=dict)
    last_frame_ms: dict[str, int] = field(default_factory=dict)
    late: int = 0

    def update(self, symbol: str, bars: tuple[Bar, ...], now_ms: int) -> list[Bar]:
        """Feed one frame's bars (oldest first); the bars it closes."""
        self.last_frame_ms[symbol] = now_ms
        closed: list[Bar] = []
        for bar in bars:
            done = self.closed_upto.get(symbol)
            if done is not None and bar.open_ms <= done:
                self.late += 1
                continue
            current = self.forming.get(symbol)
            if current is not None and bar.open_ms > current.open_ms:
                closed.append(current)
                self.closed_upto[symbol] = current.open_ms
            if current is None or bar.open_ms >= current.open_ms:
                self.forming[symbol] = bar
        return closed

    def due(self, now_ms: int) -> list[tuple[str, Bar]]:
        """Bars closed by the time rule at `now_ms` (end + grace passed, symbol not silent);
        bars of silent symbols past their end are dropped instead."""
        out: list[tuple[str, Bar]] = []
        for symbol, bar in list(self.forming.items()):
            if bar.open_ms + self.step_ms + self.grace_ms > now_ms:
                continue
            del self.forming[symbol]
            if self.is_silent(symbol, now_ms):
                continue
            out.append((symbol, bar))
            self.closed_upto[symbol] = bar.open_ms
        return out

    def is_silent(self, symbol: str, now_ms: int) -> bool:
        seen = self.last_frame_ms.get(symbol)
        return seen is None or now_ms - seen > self.silent_ms

    def drop(self, symbols: set[str] | None = None) -> None:
        """Forget forming bars (all, or of `symbols`): their frames may have been missed."""
        for symbol in list(self.forming):
            if symbols is None or symbol in symbols:
                del self.forming[symbol]
