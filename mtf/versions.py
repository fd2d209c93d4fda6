"""One version of each profile per run, whichever hosts run its tasks.

Profiles are files on each host (`MTF_PROFILES_DIR`, `MTF_TRADE_ENTRY_DIR`, the packaged ones).
A run records, when it starts, the version of its validation profile and of its trade-entry
profile: the digest of the YAML text that host resolves (`missing` when there is no
trade-entry profile). Every task of the run resolves the profiles again on its own host and
refuses with `ProfileVersionMismatch` when the version differs: a run never mixes versions,
and the host that has the other version is named.
"""

from __future__ import annotations

import socket

from mtf.context import RunContext
from mtf.rules.profile import CompiledProfile, load_profile
from tradeentry.config import (
    TradeEntryConfig,
    TradeEntryConfigError,
    load_trade_entry_versioned,
    resolve_trade_entry_path,
)

MISSING = "missing"


class ProfileVersionMismatch(RuntimeError):
    """This host reads another version of a profile than the run started with."""


def entry_version(name: str) -> str:
    """The version of trade-entry profile `name` on this host (`missing` if it has none or
    it does not load: the order task reports why)."""
    try:
        return load_trade_entry_versioned(name)[1]
    except TradeEntryConfigError:
        return MISSING


def _mismatch(kind: str, name: str, run_id: str | None, started: str, here: str, where: str) -> str:
    run = f"run {run_id}" if run_id else "the run"
    return (
        f"{kind} profile {name!r}: {run} started with version {started}, but host "
        f"{socket.gethostname()} reads version {here} ({where}); give every host the same "
        "profile files"
    )


def validation_profile(ctx: RunContext) -> CompiledProfile:
    """The run's validation profile, refused if this host reads another version."""
    profile = load_profile(ctx.profile)
    if ctx.profile_digest and profile.digest != ctx.profile_digest:
        raise ProfileVersionMismatch(
            _mismatch(
                "validation",
                ctx.profile,
                ctx.run_id,
                ctx.profile_digest,
                profile.digest,
                profile.source,
            )
        )
    return profile


def check_entry_version(name: str, expected: str | None, run_id: str | None = None) -> None:
    """Refuse when this host's version of trade-entry profile `name` is not `expected`
    (None or "": nothing to compare, e.g. a task sent by hand)."""
    if not expected:
        return
    here = entry_version(name)
    if here != expected:
        try:
            where = str(resolve_trade_entry_path(name))
        except TradeEntryConfigError:
            where = "no such profile here"
        raise ProfileVersionMismatch(_mismatch("trade-entry", name, run_id, expected, here, where))


def check_run(ctx: RunContext) -> CompiledProfile:
    """Both versions of a run, checked on this host; returns the validation profile."""
    profile = validation_profile(ctx)
    check_entry_version(ctx.profile, ctx.entry_digest, ctx.run_id)
    return profile


def trade_entry_for(name: str, expected: str | None, run_id: str | None) -> TradeEntryConfig:
    """The trade-entry profile an order of the run is planned with, read once and refused if
    it is not the run's version (`TradeEntryConfigError` if it is missing here as it was
    when the run started)."""
    try:
        config, here = load_trade_entry_versioned(name)
    except TradeEntryConfigError:
        if expected and expected != MISSING:
            raise ProfileVersionMismatch(
                _mismatch("trade-entry", name, run_id, expected, MISSING, "cannot be loaded")
            ) from None
        raise
    if expected and here != expected:
        where = str(resolve_trade_entry_path(name))
        raise ProfileVersionMismatch(_mismatch("trade-entry", name, run_id, expected, here, where))
    return config
