"""Percentiles with linear interpolation between closest ranks.

The median is `statistics.median` (interpolating, as DESIGN.md fixes); other percentiles use the
same inclusive linear method (`statistics.quantiles(method="inclusive")`), so p50 == median.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The `pct`-th percentile (0–100) of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    if pct == 50:
        return float(statistics.median(ordered))
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))
