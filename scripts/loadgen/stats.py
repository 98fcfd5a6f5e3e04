"""Percentiles of latency samples, in the units the report uses."""

from __future__ import annotations

import math
from collections.abc import Iterable

_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list (0 < fraction <= 1)."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_ms(
    samples_s: Iterable[float], prefix: str = "", suffix: str = ""
) -> dict[str, float | None]:
    """p50/p90/p99/max in milliseconds, keyed `{prefix}p50{suffix}_ms`...; None without
    samples (a figure that could not be measured is not zero)."""
    ordered = sorted(samples_s)
    keys = {f"{prefix}{name}{suffix}_ms": q for name, q in _QUANTILES.items()}
    if not ordered:
        return dict.fromkeys(keys)
    return {key: round(percentile(ordered, q) * 1e3, 3) for key, q in keys.items()}


def per_second(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def micros_per(cpu_s: float, count: int) -> float | None:
    return round(cpu_s / count * 1e6, 1) if count else None
