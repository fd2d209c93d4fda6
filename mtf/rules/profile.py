"""Validation profiles: YAML -> pydantic model -> `CompiledProfile` (nodes ready to evaluate).

Loading checks everything a run would trip on later: unknown rules and fields, cycles between
named rules, unknown or unused timeframes, bad operator arguments. All problems are reported
together, each with its YAML path (`ProfileError`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from infra.yamltext import yaml_problem
from mtf.rules import nodes as n
from mtf.rules.compiler import Compiler, Problem, ProfileError, RuleDef, split_definition
from mtf.rules.fields import FieldRef
from mtf.rules.selector import ExecutionSelector, SelectorModel, compile_selector
from providers.timeframes import DESCENDING, Timeframe

PACKAGED_PROFILES = Path(__file__).resolve().parent.parent / "profiles"
LIBRARY_FILE = Path(__file__).with_name("library.yaml")


class SidesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    long: Any = None
    short: Any = None


class ProfileModel(BaseModel):
    """The schema of a profile file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    mode: Literal["strict", "pragmatic"] = "pragmatic"
    context_timeframes: list[Timeframe] = []
    execution_timeframes: list[Timeframe]
    # Accepted for older profiles and ignored: what is read follows from the rules.
    history_bars: int = 300
    rules: dict[str, Any] = {}
    filters_mandatory: list[Any] = []
    timeframes: dict[Timeframe, SidesModel]
    execution_selector: SelectorModel | None = None

    @field_validator("context_timeframes", "execution_timeframes", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("history_bars")
    @classmethod
    def _history(cls, value: int) -> int:
        if not 30 <= value <= 5000:
            raise ValueError("must be between 30 and 5000")
        return value


@dataclass(frozen=True)
class Sides:
    long: n.Node | None
    short: n.Node | None


@dataclass(frozen=True)
class CompiledProfile:
    """A profile ready to evaluate."""

    name: str
    description: str
    mode: str
    context: tuple[Timeframe, ...]
    execution: tuple[Timeframe, ...]
    sides: Mapping[Timeframe, Sides]
    filters: n.Node | None
    selector: ExecutionSelector
    history_bars: int
    requirements: Mapping[Timeframe, int]
    source: str
    digest: str
    rule_names: tuple[str, ...] = field(default=())
    #: Per timeframe of the candles read: every field read there, the timeframe it is
    #: evaluated on and how many extra bars back it is read.
    reads: Mapping[Timeframe, tuple[tuple[FieldRef, Timeframe, int], ...]] = field(
        default_factory=dict
    )

    @property
    def timeframes(self) -> tuple[Timeframe, ...]:
        """Every timeframe whose candles an evaluation reads, longest first."""
        return tuple(tf for tf in DESCENDING if tf in self.requirements)

    @property
    def pivot_timeframe(self) -> Timeframe:
        """Where the execution selector's metrics read the previous day's pivots: the longest
        intraday timeframe the profile evaluates."""
        return pivot_timeframe([*self.context, *self.execution])

    def minimum_candles(self, timeframe: Timeframe) -> int:
        """The most candles a decision ever reads on `timeframe` (over every moment)."""
        return self.requirements.get(timeframe, 0)

    def candles_needed(self, timeframe: Timeframe, as_of_ms: int | None = None) -> int:
        """Exactly the candles a decision at `as_of_ms` reads on `timeframe`: every field from
        its anchor (settled indicators), its midnight (VWAP) or its previous day (pivots), at
        the bars its rules look back to. The worst case over moments when none is given.
        Loading more changes nothing (`indicators.anchored`); loading fewer is refused as
        `not enough candles`."""
        if as_of_ms is None:
            return self.requirements.get(timeframe, 0)
        need = 1 if timeframe in self.requirements else 0
        for ref, evaluated, extra in self.reads.get(timeframe, ()):
            need = max(need, ref.needs_at(evaluated, as_of_ms, extra))
        return need


def pivot_timeframe(evaluated: list[Timeframe]) -> Timeframe:
    """The longest intraday timeframe among `evaluated` (1m when there is none)."""
    return next(
        (tf for tf in DESCENDING if tf in evaluated and tf is not Timeframe.D1), Timeframe.M1
    )


def _pydantic_problems(exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        out.append(Problem(path, err["msg"]))
    return out


@lru_cache(maxsize=1)
def library_definitions() -> dict[str, RuleDef]:
    """The built-in named rules, written in the same language as profiles."""
    raw = yaml.safe_load(LIBRARY_FILE.read_text()) or {}
    defs: dict[str, RuleDef] = {}
    problems: list[Problem] = []
    for name, body in raw.items():
        definition, errs = split_definition(name, body, f"library.{name}", "library")
        problems.extend(errs)
        if definition is not None:
            defs[name] = definition
    if problems:
        raise ProfileError(str(LIBRARY_FILE), problems)
    return defs


def compile_profile(data: Any, *, source: str = "<memory>", digest: str = "") -> CompiledProfile:
    """Validate and compile parsed YAML; raises `ProfileError` listing every problem."""
    if not isinstance(data, Mapping):
        raise ProfileError(source, [Problem("", "a profile must be a YAML mapping")])
    try:
        model = ProfileModel.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, _pydantic_problems(exc)) from None

    problems: list[Problem] = []
    definitions = dict(library_definitions())
    for name, body in model.rules.items():
        definition, errs = split_definition(name, body, f"rules.{name}", "profile")
        problems.extend(errs)
        if definition is not None:
            definitions[name] = definition
    compiler = Compiler(definitions, problems)

    if not model.execution_timeframes:
        problems.append(Problem("execution_timeframes", "give at least one execution timeframe"))
    both = set(model.context_timeframes) & set(model.execution_timeframes)
    if both:
        problems.append(
            Problem(
                "execution_timeframes",
                f"{', '.join(sorted(both))} cannot be both context and execution",
            )
        )
    evaluated = [*model.context_timeframes, *model.execution_timeframes]
    for tf in evaluated:
        if tf not in model.timeframes:
            problems.append(
                Problem(
                    f"timeframes.{tf}",
                    f"missing rules for {tf}, which the profile "
                    "evaluates; add long and/or short rules",
                )
            )
    for tf in model.timeframes:
        if tf not in evaluated:
            problems.append(
                Problem(
                    f"timeframes.{tf}",
                    f"{tf} is neither a context nor an "
                    f"execution timeframe; evaluated: {', '.join(evaluated)}",
                )
            )

    sides: dict[Timeframe, Sides] = {}
    for tf, side_model in model.timeframes.items():
        long = side_model.long
        short = side_model.short
        if long is None and short is None:
            problems.append(Problem(f"timeframes.{tf}", "give long rules, short rules or both"))
        sides[tf] = Sides(
            compiler.compile_list(long, f"timeframes.{tf}.long") if long is not None else None,
            compiler.compile_list(short, f"timeframes.{tf}.short") if short is not None else None,
        )
    filters = (
        compiler.compile_list(model.filters_mandatory, "filters_mandatory")
        if model.filters_mandatory
        else None
    )
    selector = compile_selector(model.execution_selector, model.execution_timeframes, compiler)

    if problems:
        raise ProfileError(source, problems)

    requirements: dict[Timeframe, int] = {}
    reads: dict[Timeframe, dict[tuple[str, int, Timeframe, int], tuple[FieldRef, Timeframe, int]]]
    reads = {}

    def read(ref: FieldRef, tf: Timeframe, extra: int) -> None:
        target = ref.timeframe or tf
        # One entry per computation and depth: `ema_20` and `ema_20_5m` on 5m are one read.
        key = (ref.base.key, ref.shift + extra, tf, ref.base.needs)
        reads.setdefault(target, {}).setdefault(key, (ref, tf, extra))
        requirements[target] = max(requirements.get(target, 1), ref.needs_on(tf) + extra)

    def need(node: n.Node | None, tf: Timeframe) -> None:
        if node is not None:
            for ref, extra in node.refs():
                read(ref, tf, extra)

    for tf in evaluated:
        requirements.setdefault(tf, 1)
        need(sides[tf].long, tf)
        need(sides[tf].short, tf)
        need(filters, tf)
    for ref, tf in selector.reads(pivot_timeframe(evaluated)):
        read(ref, tf, 0)

    return CompiledProfile(
        name=model.name,
        description=model.description,
        mode=model.mode,
        context=tuple(model.context_timeframes),
        execution=tuple(model.execution_timeframes),
        sides=sides,
        filters=filters,
        selector=selector,
        history_bars=model.history_bars,
        requirements=requirements,
        source=source,
        digest=digest,
        rule_names=tuple(sorted(definitions)),
        reads={tf: tuple(by_key.values()) for tf, by_key in reads.items()},
    )


def load_profile_file(path: str | Path) -> CompiledProfile:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProfileError(
            str(path), [Problem("", f"cannot read profile: {exc.strerror}")]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(str(path), [Problem("", yaml_problem(exc))]) from None
    return compile_profile(
        data, source=str(path), digest=hashlib.sha256(text.encode()).hexdigest()[:12]
    )


def profile_dirs() -> list[Path]:
    """Where profiles are looked up: MTF_PROFILES_DIR (if set) before the packaged ones."""
    dirs = []
    extra = os.environ.get("MTF_PROFILES_DIR")
    if extra:
        dirs.append(Path(extra))
    dirs.append(PACKAGED_PROFILES)
    return dirs


def available_profiles() -> list[str]:
    names: set[str] = set()
    for directory in profile_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.yaml"))
    return sorted(names)


def unknown_profiles(names: list[str]) -> list[str]:
    """The names among `names` no profile folder holds."""
    known = set(available_profiles())
    return [n for n in names if n not in known]


def resolve_profile_path(name: str) -> Path:
    """The file of a profile name; the error lists the available profiles."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    for directory in profile_dirs():
        candidate = directory / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise ProfileError(
        name,
        [Problem("", f"unknown profile {name!r}; available: {', '.join(available_profiles())}")],
    )


_cache: dict[Path, tuple[int, CompiledProfile]] = {}
_cache_lock = threading.Lock()


def load_profile(name: str) -> CompiledProfile:
    """Load a profile by name or path, reusing the compiled form until the file changes."""
    path = resolve_profile_path(name)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return load_profile_file(path)
    with _cache_lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    profile = load_profile_file(path)
    with _cache_lock:
        _cache[path] = (mtime, profile)
    return profile
