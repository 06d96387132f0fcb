"""DORA performance tiers: versioned threshold profiles (data) and the one function that applies them.

A profile gives, per metric, the bound each tier must reach, best tier first; a value gets the first
tier whose bound it meets, and `low` when it meets none. A bound is compared exactly (fractions, not
floats: rates come in as exact fractions, floats as the decimal they print as), so a value exactly on a
bound is decided by the bound's `inclusive` flag alone.

Profiles (select with `ROADBED_DORA_PROFILE` or `?profile=`):

`default` — DESIGN.md's table ("the seed's table"), the one every other document refers to:

| tier | deployment frequency | lead time | change failure rate | time to restore |
|---|---|---|---|---|
| elite | >= 1/day | < 1 h | <= 5 % | < 1 h |
| high | >= 1/week | < 1 day | <= 10 % | < 1 day |
| medium | >= 1/month (30 d) | < 1 week | <= 15 % | < 1 week |
| low | otherwise | otherwise | otherwise | otherwise |

`dora-2021` — Accelerate State of DevOps Report 2021 (DORA / Google Cloud), "Software delivery
performance" table. Its answer bands have gaps (e.g. elite "on demand, multiple deploys per day", high
"between once per week and once per month"); a band's *outer* edge is used as the bound, so a value in a
gap gets the better neighbouring tier:

| tier | deployment frequency | lead time | change failure rate | time to restore |
|---|---|---|---|---|
| elite | >= 1/day (on demand) | < 1 h | <= 15 % | < 1 h |
| high | >= 1/month (weekly–monthly band) | < 1 week (1 day–1 week band) | <= 30 % | < 1 day |
| medium | >= 1/6 months (monthly–6-monthly band) | < 6 months (1–6 months band) | <= 30 % (the report gives 16–30 % for high, medium and low alike) | < 1 week |
| low | otherwise | otherwise | > 30 % | otherwise |

`fourkeys-2019` — the buckets of Google's Four Keys dashboard (github.com/dora-team/fourkeys,
`dashboard/fourkeys_dashboard.json`, derived from the 2019 report): lead time and time to restore
"One day" < 24 h, "One week" < 168 h, "One month" < 730 h, else six months / one year; change failure
rate "0-15%" (<= 0.15), "16-45%" (< 0.46), "46-60%"; deployment frequency Daily / Weekly / Monthly /
Yearly, which Four Keys decides from the median number of *days with a deployment* per week (>= 3 →
Daily). Roadbed approximates that with rates: >= 3/week, >= 1/week, >= 1/month. The dashboard's
best bucket is mapped to elite and the next ones down; the 2019 report put elite, high and medium all
at 0–15 % change failure rate, so `high` cannot occur for that metric in this profile.

The two extra metrics follow DORA's later reports: failed-deployment recovery time (2023+) uses the
time-to-restore bounds; deployment rework rate (2024) has no published bands, so it is tiered with the
change-failure-rate bounds by analogy (documented, not a DORA claim).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from roadbed.domain.errors import ConfigurationError

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY


class Tier(StrEnum):
    ELITE = "elite"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """4 = elite .. 1 = low (also the value of the `roadbed_dora_tier` gauge)."""
        return {"elite": 4, "high": 3, "medium": 2, "low": 1}[self.value]


TIER_ORDER = (Tier.ELITE, Tier.HIGH, Tier.MEDIUM)


@dataclass(frozen=True)
class Bound:
    """`value` meets the bound when it is at least (higher is better) or below (lower is better) `limit`."""

    limit: Fraction
    inclusive: bool

    def met_by(self, value: Fraction, higher_is_better: bool) -> bool:
        if higher_is_better:
            return value >= self.limit if self.inclusive else value > self.limit
        return value <= self.limit if self.inclusive else value < self.limit


def at_least(limit: Fraction | int) -> Bound:
    return Bound(Fraction(limit), inclusive=True)


def below(limit: Fraction | int) -> Bound:
    return Bound(Fraction(limit), inclusive=False)


def at_most(limit: Fraction | int) -> Bound:
    return Bound(Fraction(limit), inclusive=True)


@dataclass(frozen=True)
class MetricBands:
    """Bounds for elite, high and medium (in that order); anything else is low."""

    higher_is_better: bool
    bounds: tuple[Bound, Bound, Bound]
    unit: str
    text: tuple[str, str, str, str]

    def tier(self, value: float | Fraction | None) -> Tier | None:
        if value is None:
            return None
        # A float is taken as the decimal it prints as (0.05 is 1/20, not 0.05000000000000000277...).
        exact = value if isinstance(value, Fraction) else Fraction(repr(float(value)))
        for tier, bound in zip(TIER_ORDER, self.bounds, strict=True):
            if bound.met_by(exact, self.higher_is_better):
                return tier
        return Tier.LOW


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    source: str
    deployment_frequency: MetricBands
    lead_time_for_changes: MetricBands
    change_failure_rate: MetricBands
    time_to_restore: MetricBands

    @property
    def failed_deployment_recovery_time(self) -> MetricBands:
        return self.time_to_restore

    @property
    def deployment_rework_rate(self) -> MetricBands:
        return self.change_failure_rate

    def describe(self) -> dict[str, object]:
        def bands(metric: MetricBands) -> dict[str, object]:
            return {
                "unit": metric.unit,
                "higher_is_better": metric.higher_is_better,
                "tiers": [
                    {"tier": tier.value, "bound": float(bound.limit), "inclusive": bound.inclusive, "text": text}
                    for tier, bound, text in zip(TIER_ORDER, metric.bounds, metric.text[:3], strict=True)
                ]
                + [{"tier": Tier.LOW.value, "text": metric.text[3]}],
            }

        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "deployment_frequency": bands(self.deployment_frequency),
            "lead_time_for_changes": bands(self.lead_time_for_changes),
            "change_failure_rate": bands(self.change_failure_rate),
            "time_to_restore": bands(self.time_to_restore),
        }


PER_DAY = "deployments/day"
SECONDS = "seconds"
RATIO = "ratio"

DEFAULT = Profile(
    name="default",
    version="1",
    source="DESIGN.md, 'Metrics definitions' (the seed's table)",
    deployment_frequency=MetricBands(
        True, (at_least(1), at_least(Fraction(1, 7)), at_least(Fraction(1, 30))), PER_DAY,
        ("on demand (>= 1/day)", ">= 1/week", ">= 1/month", "< 1/month"),
    ),
    lead_time_for_changes=MetricBands(False, (below(HOUR), below(DAY), below(WEEK)), SECONDS, ("< 1 hour", "< 1 day", "< 1 week", ">= 1 week")),
    change_failure_rate=MetricBands(
        False, (at_most(Fraction(5, 100)), at_most(Fraction(10, 100)), at_most(Fraction(15, 100))), RATIO, ("<= 5 %", "<= 10 %", "<= 15 %", "> 15 %")
    ),
    time_to_restore=MetricBands(False, (below(HOUR), below(DAY), below(WEEK)), SECONDS, ("< 1 hour", "< 1 day", "< 1 week", ">= 1 week")),
)

DORA_2021 = Profile(
    name="dora-2021",
    version="2021",
    source="Accelerate State of DevOps Report 2021 (DORA, Google Cloud), software delivery performance table",
    deployment_frequency=MetricBands(
        True, (at_least(1), at_least(Fraction(1, 30)), at_least(Fraction(1, 182))), PER_DAY,
        ("on demand (multiple deploys per day)", "between once per week and once per month", "between once per month and once every 6 months", "fewer than once per 6 months"),
    ),
    lead_time_for_changes=MetricBands(
        False, (below(HOUR), below(WEEK), below(182 * DAY)), SECONDS,
        ("less than one hour", "between one day and one week", "between one month and six months", "more than six months"),
    ),
    change_failure_rate=MetricBands(
        False, (at_most(Fraction(15, 100)), at_most(Fraction(30, 100)), at_most(Fraction(30, 100))), RATIO, ("0-15 %", "16-30 %", "16-30 %", "> 30 %")
    ),
    time_to_restore=MetricBands(
        False, (below(HOUR), below(DAY), below(WEEK)), SECONDS, ("less than one hour", "less than one day", "between one day and one week", "more than one week")
    ),
)

FOURKEYS_2019 = Profile(
    name="fourkeys-2019",
    version="2019",
    source="Four Keys dashboard buckets (github.com/dora-team/fourkeys dashboard/fourkeys_dashboard.json), 2019 State of DevOps",
    deployment_frequency=MetricBands(
        True, (at_least(Fraction(3, 7)), at_least(Fraction(1, 7)), at_least(Fraction(1, 30))), PER_DAY,
        ("Daily (>= 3 deploys/week)", "Weekly", "Monthly", "Yearly"),
    ),
    lead_time_for_changes=MetricBands(
        False, (below(DAY), below(WEEK), below(730 * HOUR)), SECONDS, ("One day", "One week", "One month", "Six months / One year")
    ),
    change_failure_rate=MetricBands(
        False, (at_most(Fraction(15, 100)), at_most(Fraction(15, 100)), below(Fraction(46, 100))), RATIO, ("0-15%", "0-15%", "16-45%", "46-60%")
    ),
    time_to_restore=MetricBands(
        False, (below(DAY), below(WEEK), below(730 * HOUR)), SECONDS, ("One day", "One week", "One month", "Six months / One year")
    ),
)

PROFILES: dict[str, Profile] = {profile.name: profile for profile in (DEFAULT, DORA_2021, FOURKEYS_2019)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigurationError(f"unknown DORA threshold profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None


def overall_tier(tiers: list[Tier | None]) -> Tier | None:
    """The best tier that a majority (more than half) of the defined metrics reach.

    With all four keys defined that is the second-worst tier: one outlier cannot drag a team down to
    `low`, two can. Undefined metrics (null) are left out; nothing defined → null.
    """
    ranks = sorted((tier.rank for tier in tiers if tier is not None), reverse=True)
    if not ranks:
        return None
    needed = len(ranks) // 2 + 1
    best = ranks[needed - 1]
    return next(tier for tier in Tier if tier.rank == best)
