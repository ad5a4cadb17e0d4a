"""The whole stream: the simulation's arrivals scheduled and run, and when each event happened."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, datetime

from bench.reporting_events.intake import _Intake
from bench.reporting_events.tables import DAY, _add_months, _day, _ts
from shared.events import EventData, HouseholdUpdatedV1

# Measured with seed 7 over 30 months from 2024-01-01 (see the package's docstring): events per household.
EVENTS_PER_HOUSEHOLD = 10.11


class _World(_Intake):
    """Intake, cases and activation over one clock; ``schedule`` sets the arrivals going."""

    def schedule(self, months: int) -> None:
        rng = self.rng
        month_weights = [1 + 2 * m / months for m in range(months)]  # adoption grows over the period

        def moments(count: int, first_month: int = 0) -> list[float]:
            chosen = rng.choices(range(first_month, months), weights=month_weights[first_month:], k=count)
            out = []
            for m in chosen:
                first = _add_months(self.start, m)
                days = calendar.monthrange(first.year, first.month)[1]
                ts = self.workday(_ts(first) + rng.randrange(days) * DAY, 0, 0)
                while ts >= self.end_ts:  # a weekend at the very end: the Monday before instead
                    ts -= 7 * DAY
                out.append(ts)
            return sorted(out)

        self.arrivals = moments(self.n)
        if self.arrivals:
            self.at(self.arrivals[0], self._register, 0)
        for ts in moments(max(1, round(self.n / 40)), first_month=min(1, months - 1)):
            self.at(ts, self._publish_opportunity)
        for year in range(self.start.year + 1, _day(self.end_ts).year + 1):
            self.at(self.workday(_ts(date(year, 2, 10)), 0, 0), self._poverty_line, year)


def generate(
    households: int, *, seed: int = 7, start: date = date(2024, 1, 1), months: int = 30
) -> Iterator[EventData]:
    """The events of ``households`` households over ``months`` months from ``start``, in the order of their times."""
    world = _World(households, seed=seed, start=start, months=months)
    world.schedule(months)
    return world.run()


_TIME_FIELDS = (
    "registered_at",
    "changed_at",
    "erased_at",
    "merged_at",
    "opened_at",
    "assigned_at",
    "transferred_at",
    "completed_at",
    "agreed_at",
    "requested_at",
    "decided_at",
    "published_at",
    "closed_at",
    "proposed_at",
    "accepted_at",
    "declined_at",
    "started_at",
    "recorded_at",
    "ended_at",
)


def _time_field(cls: type[EventData]) -> str:
    if cls is HouseholdUpdatedV1:
        return "changed_at"
    for name in _TIME_FIELDS:
        if name in cls.model_fields:
            return name
    raise ValueError(f"{cls.type_name()} has no time attribute")


_time_fields: dict[type[EventData], str] = {}


def event_time(event: EventData) -> datetime:
    """When the event happened (its own time attribute): the order ``generate`` yields them in."""
    cls = type(event)
    name = _time_fields.get(cls)
    if name is None:
        name = _time_fields[cls] = _time_field(cls)
    value: datetime = getattr(event, name)
    return value
