"""Numeric building blocks of the synthetic market: random streams, AR(1) filters, grids."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Bound coef**-block so the closed-form block sums keep full float64 precision.
_MAX_GROWTH = 10.0
_MAX_BLOCK = 256


def stream(*words: int) -> np.random.Generator:
    """An independent random stream named by integers (seed, symbol key, purpose, index).

    Every tuple of Python ints, negative or beyond 64 bits, names its own stream.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(_entropy(words))))


def _entropy(words: tuple[int, ...]) -> list[int]:
    # Zigzag to non-negative, then length-prefixed 32-bit chunks: an injective encoding, where
    # SeedSequence alone would read [2**32 + 1] and [1, 1] as the same entropy.
    out: list[int] = []
    for word in words:
        z = 2 * word if word >= 0 else -2 * word - 1
        chunks = []
        while True:
            chunks.append(z & 0xFFFFFFFF)
            z >>= 32
            if not z:
                break
        out.append(len(chunks))
        out.extend(chunks)
    return out


def ar1(coef: float, shocks: FloatArray, start: float = 0.0) -> FloatArray:
    """x[i] = coef * x[i-1] + shocks[i] with x[-1] = start, for 0 < coef < 1.

    Vectorised in blocks: inside a block x is a discounted cumulative sum, so only the block
    boundaries are sequential.
    """
    if not 0.0 < coef < 1.0:
        raise ValueError(f"AR(1) coefficient must be in (0, 1), got {coef}")
    n = len(shocks)
    out = np.empty(n, dtype=np.float64)
    block = max(1, min(_MAX_BLOCK, int(_MAX_GROWTH / -math.log(coef))))
    j = np.arange(block, dtype=np.float64)
    grow = coef**-j
    decay = coef**j
    prev = start
    for lo in range(0, n, block):
        u = shocks[lo : lo + block]
        m = len(u)
        x = np.cumsum(u * grow[:m]) * decay[:m] + prev * coef * decay[:m]
        out[lo : lo + m] = x
        prev = float(x[-1])
    return out


def grid_values(units: npt.NDArray[np.integer[Any]] | FloatArray, step: Decimal) -> FloatArray:
    """`units * step` as the doubles nearest to those exact decimals (no 0.30000000000000004)."""
    sign, digits, exponent = step.normalize().as_tuple()
    if sign or not isinstance(exponent, int):
        raise ValueError(f"grid step must be a positive finite decimal, got {step}")
    mantissa = int("".join(map(str, digits)))
    values = np.asarray(units, dtype=np.float64) * mantissa
    if exponent >= 0:
        return values * float(10**exponent)
    return values / float(10**-exponent)
