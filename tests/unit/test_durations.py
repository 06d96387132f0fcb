"""Durations as the contract spells them (request `ttl`, `extend` `by`, ROADBED_TTL_* settings)."""

from __future__ import annotations

import pytest

from roadbed.domain.expiry import describe, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("12h", 43200), ("2d", 172800), ("1w", 604800), ("45", 45), (45, 45),
     ("P2D", 172800), ("PT12H", 43200), ("P1W", 604800), ("P1DT1H30M", 91800), ("pt90s", 90)],
)
def test_accepted_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2 days", "2x", "-5", "0", "P", "PT", "P1DT", "1.5h", True, None, 2.5, "0d"])
def test_rejected_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_describe() -> None:
    assert [describe(s) for s in (172800, 129600, 90, 604800)] == ["2d", "36h", "90s", "1w"]
