"""The market-data stream service (`mtf stream`): Bitmart's WebSocket into the store.

One leader at a time (a lease in the database; standbys wait and take over) keeps closed
one-minute candles (and the longer timeframes aggregated from them), top of book, order and
position pushes flowing, refreshes the dead-man switch and reports its state in
`stream_status`, from which `candles_ready` tells whether a minute's candles are in.
"""

from mtf.stream.status import (
    StatusStore,
    StreamStatus,
    candles_ready,
    private_stream_live,
    schedule_ready,
)

__all__ = ["StatusStore", "StreamStatus", "candles_ready", "private_stream_live", "schedule_ready"]
