"""Percentiles with linear interpolation between closest ranks.

The median is `statistics.median` (interpolating, as DESIGN.md fixes); other percentiles use the
same inclusive linear method (`statistics.quantiles(method="inclusive")`), so p50 == median.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: int) -> float | None:
    """The `pct`-th percentile (an integer 0–100) of `values`, None when there are none."""
    if not values:
        return None
    if not 0 <= pct <= 100 or int(pct) != pct:
        raise ValueError(f"pct must be an integer from 0 to 100, not {pct!r}")
    if len(values) == 1:  # statistics.quantiles needs two points
        return float(values[0])
    if pct == 50:
        return float(statistics.median(values))
    if pct in (0, 100):
        return float(min(values) if pct == 0 else max(values))
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1])
