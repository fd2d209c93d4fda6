"""Parameter overrides of a backtest and the grids of a sweep.

A key addresses a field of the profile pair a backtest runs (the validation profile and the
trade-entry profile of the same name):

* trade entry — `<section>.<field>` of the trade-entry profile, e.g. `entry_zone.k_atr`,
  `stop.atr_k`, `risk.risk_pct`, `take_profit.two_targets.enabled`;
* validation — `rule.<name>.<param>`, the default of a named rule's parameter (the profile's
  rules first, then the library), e.g. `rule.rsi_bullish.threshold`; or `validation.<path>`,
  any value already in the profile's YAML, list items by index, e.g. `validation.mode` or
  `validation.timeframes.5m.long.0.rsi_bullish.threshold`.

Values are YAML scalars (`1.5`, `true`, `1m`). A profile pair with its overrides is validated
like a profile file: every problem is refused before anything runs.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from mtf.rules.compiler import ProfileError
from mtf.rules.profile import (
    CompiledProfile,
    compile_profile,
    library_definitions,
    resolve_profile_path,
)
from tradeentry.config import (
    TradeEntryConfig,
    TradeEntryConfigError,
    parse_trade_entry,
    resolve_trade_entry_path,
)

Overrides = Mapping[str, Any]
MAX_SETS = 4096


class OverrideError(ValueError):
    """A key or value that cannot apply; the message is one line."""


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        path = f"{prefix}{name}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(_leaf_paths(annotation, f"{path}."))
        else:
            out.append(path)
    return out


TRADE_ENTRY_KEYS = tuple(p for p in _leaf_paths(TradeEntryConfig) if p != "name")
SECTIONS = tuple(dict.fromkeys(p.split(".")[0] for p in TRADE_ENTRY_KEYS if "." in p))


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[._]", text) if len(w) >= 3}


def _hint(key: str) -> str:
    words, section = _words(key), key.split(".")[0]

    def score(path: str) -> tuple[int, float]:
        shared = len(words & _words(path)) + path.split(".")[0].startswith(section)
        return shared, difflib.SequenceMatcher(None, key, path).ratio()

    ranked = sorted(TRADE_ENTRY_KEYS, key=score, reverse=True)
    close = [p for p in ranked[:3] if score(p)[0] > 0 or score(p)[1] > 0.6]
    return f" (did you mean {', '.join(close)}?)" if close else ""


def check_key(key: str) -> None:
    """Refuse a key that addresses nothing, naming what is allowed."""
    if key.startswith(("validation.", "rule.")):
        parts = key.split(".")
        if key.startswith("rule.") and len(parts) != 3:
            raise OverrideError(f"grid key {key!r}: write rule.<name>.<param>")
        if len(parts) < 2 or not all(parts[1:]):
            raise OverrideError(f"grid key {key!r}: write validation.<path in the profile>")
        return
    if key in TRADE_ENTRY_KEYS:
        return
    dict_field = next((p for p in TRADE_ENTRY_KEYS if key.startswith(p + ".")), None)
    if dict_field is not None:
        return  # an entry of a mapping field, e.g. risk.timeframe_risk_multipliers.1m
    raise OverrideError(
        f"unknown grid key {key!r}{_hint(key)}: trade-entry keys are <section>.<field> with "
        f"sections {', '.join(SECTIONS)}; validation keys are rule.<name>.<param> or "
        "validation.<path in the profile>"
    )


def parse_value(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, dict | list):
        raise OverrideError(f"value {text!r} is not a single value")
    return value


def parse_assignment(text: str) -> tuple[str, Any]:
    """`key=value` (a `--set`)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not value.strip():
        raise OverrideError(f"{text!r}: write key=value, e.g. stop.atr_k=2")
    check_key(key)
    return key, parse_value(value.strip())


def parse_grid(items: Sequence[str]) -> list[dict[str, Any]]:
    """`key=v1,v2,...` items to every combination, in the order given (last key fastest)."""
    axes: dict[str, list[Any]] = {}
    for text in items:
        key, sep, listed = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OverrideError(f"grid {text!r}: write key=value1,value2,...")
        check_key(key)
        if key in axes:
            raise OverrideError(f"grid key {key!r} is given twice")
        parsed = [parse_value(v.strip()) for v in listed.split(",") if v.strip()]
        if not parsed:
            raise OverrideError(f"grid {text!r}: no values")
        if len(set(map(repr, parsed))) != len(parsed):
            raise OverrideError(f"grid {text!r}: a value is repeated")
        axes[key] = parsed
    if not axes:
        raise OverrideError("give at least one --grid key=value1,value2,...")
    count = 1
    for values in axes.values():
        count *= len(values)
    if count > MAX_SETS:
        raise OverrideError(f"the grid makes {count} parameter sets; at most {MAX_SETS}")
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]


def split(overrides: Overrides) -> tuple[dict[str, Any], dict[str, Any]]:
    """(validation overrides, trade-entry overrides)."""
    validation = {k: v for k, v in overrides.items() if k.startswith(("validation.", "rule."))}
    entry = {k: v for k, v in overrides.items() if k not in validation}
    return validation, entry


def digest(overrides: Overrides) -> str:
    text = json.dumps(sorted(overrides.items()), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _set_path(data: Any, parts: list[str], value: Any, key: str, *, create: bool) -> None:
    node = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise OverrideError(f"{key}: {'.'.join(parts[:i])} has no item {part}")
            if last:
                node[int(part)] = value
                return
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                if not create:
                    known = ", ".join(map(str, node)) or "nothing"
                    where = ".".join(parts[:i]) or "the profile"
                    raise OverrideError(f"{key}: {where} has no {part!r} (it has {known})")
                node[part] = value if last else {}
            if last:
                node[part] = value
                return
            node = node[part]
        else:
            raise OverrideError(f"{key}: {'.'.join(parts[:i])} is a value, not a section")


def _read(path: Any) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise OverrideError(f"cannot read {path}: {exc}") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def validation_profile(name: str, overrides: Overrides) -> CompiledProfile:
    """The validation profile `name` with its `validation.*` / `rule.*` overrides."""
    try:
        path = resolve_profile_path(name)
    except ProfileError as exc:
        raise OverrideError(_one_line(exc)) from None
    data = _read(path)
    for key, value in overrides.items():
        parts = key.split(".")
        if parts[0] == "validation":
            _set_path(data, parts[1:], value, key, create=False)
            continue
        rule, param = parts[1], parts[2]
        rules = data.setdefault("rules", {}) if isinstance(data, dict) else {}
        if rule not in rules:
            library = library_definitions().get(rule)
            if library is None:
                raise OverrideError(f"{key}: no rule named {rule!r} in the profile or the library")
            body_of = copy.deepcopy(library.body)
            rules[rule] = (
                {**body_of, "params": dict(library.params)}
                if isinstance(body_of, dict)
                else body_of
            )
        body = rules[rule]
        params = body.get("params") if isinstance(body, dict) else None
        if not isinstance(params, dict) or param not in params:
            known = ", ".join(params or {}) if isinstance(params, dict) else "none"
            raise OverrideError(f"{key}: rule {rule!r} has no parameter {param!r} (it has {known})")
        params[param] = value
    source = f"{path} with {json.dumps(dict(overrides), default=str)}" if overrides else str(path)
    try:
        return compile_profile(data, source=source, digest=digest(overrides))
    except ProfileError as exc:
        raise OverrideError(_one_line(exc)) from None


def trade_entry(name: str, overrides: Overrides) -> TradeEntryConfig:
    """The trade-entry profile `name` with its overrides."""
    try:
        path = resolve_trade_entry_path(name)
    except TradeEntryConfigError as exc:
        raise OverrideError(_one_line(exc)) from None
    data = _read(path)
    if not isinstance(data, dict):
        raise OverrideError(f"{path}: a trade-entry profile must be a YAML mapping")
    for key, value in overrides.items():
        _set_path(data, key.split("."), value, key, create=True)
    source = f"{path} with {json.dumps(dict(overrides), default=str)}" if overrides else str(path)
    try:
        return parse_trade_entry(data, source=source)
    except TradeEntryConfigError as exc:
        raise OverrideError(_one_line(exc)) from None


@dataclass(frozen=True)
class ProfilePair:
    """A validation profile and its trade-entry profile, with the overrides applied."""

    name: str
    profile: CompiledProfile
    config: TradeEntryConfig
    overrides: dict[str, Any]

    @property
    def signal_key(self) -> str:
        """Parameter sets with the same key decide the same signals."""
        return digest(split(self.overrides)[0])


def load_pair(name: str, overrides: Overrides | None = None) -> ProfilePair:
    overrides = dict(overrides or {})
    for key in overrides:
        check_key(key)
    validation, entry = split(overrides)
    return ProfilePair(
        name, validation_profile(name, validation), trade_entry(name, entry), overrides
    )


def load_pairs(name: str, sets: Iterable[Overrides]) -> list[ProfilePair]:
    """Every parameter set validated, the first problem refused with the set named."""
    pairs = []
    for i, overrides in enumerate(sets):
        try:
            pairs.append(load_pair(name, overrides))
        except OverrideError as exc:
            shown = ", ".join(f"{k}={v}" for k, v in overrides.items())
            raise OverrideError(f"parameter set {i + 1} ({shown}): {exc}") from None
    return pairs
