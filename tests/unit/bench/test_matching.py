"""The matching bench's helpers: its bulk rows are the handler's, and its numpy floor ranks as production does.

The floor (``raw_rank``) is the benchmark's yardstick: if it drifted from activation's rule, the ratio it prints
would compare two different computations. Here it runs on a small generated data set, rows shaped as the
candidate query returns them, against ``matching.evaluate`` + ``matching.top`` with the forum's default criteria.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bench.matching.data import Data, candidate_row, generate
from bench.matching.raw import Arrays, raw_rank
from services.activation import domain, matching
from services.activation.candidates import MATCHING_MARKERS
from shared.reference import municipalities

ON = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def data() -> Data:
    return generate(candidates=1_500, opportunities=25, neighbours=3, seed=6)


def query_rows(data: Data) -> list[tuple[Any, ...]]:
    """The candidates as the bench's SQL floor reads them: the columns of ``repository._RAW_COLUMNS``, as text."""
    rows = []
    for event in data.candidates:
        row = candidate_row(event, NOW)
        rows.append(
            (
                row["person_id"].hex,
                row["municipality_code"],
                row["sex"],
                row["birth_year"],
                row["able_to_work"],
                row["employment_status"],
                json.dumps(row["skills"]),
                json.dumps(row["markers"]),
                row["hours_min"],
                row["hours_max"],
                row["available_from"].isoformat() if row["available_from"] else None,
                row["unemployed_since"].isoformat() if row["unemployed_since"] else None,
                row["placed"],
            )
        )
    return rows


def test_the_bulk_row_is_what_the_handler_writes(data: Data) -> None:
    event = next(e for e in data.candidates if "unemployed_able_to_work" in e.markers)
    row = candidate_row(event, NOW)
    assert (row["person_id"], row["placed"], row["active"], row["able_to_work"]) == (event.person_id, False, True, True)
    assert set(row["markers"]) == set(event.markers) & MATCHING_MARKERS
    assert row["hours_min"] == event.availability.hours_per_week_min


def test_the_numpy_floor_ranks_as_activation_does(data: Data) -> None:
    rows = query_rows(data)
    arrays = Arrays.of(rows)
    pool = matching.Pool.from_rows([matching.RawCandidate(*row) for row in rows])
    units = municipalities.municipalities()
    geography = matching.Geography(
        reachable=lambda candidate, opportunity: candidate in data.reach[opportunity],
        distance_km=lambda a, b: municipalities.distance_km(units[a], units[b]),
    )
    compared = 0
    for offer in data.opportunities:
        opportunity = domain.Opportunity(
            opportunity_id="o",
            municipality_code=offer["municipality_code"],
            hours_min=offer["hours_per_week_min"],
            hours_max=offer["hours_per_week_max"],
            required_skills=frozenset(offer["required_skills"]),
            preferred_skills=frozenset(offer["preferred_skills"]),
            accessible=offer["accessible"],
            starts_on=date.fromisoformat(offer["starts_on"]),
        )
        evaluation = matching.evaluate(pool, opportunity, domain.Criteria(), geography, on=ON)
        service = [row for row, _ in matching.top(evaluation, pool, 20)]
        floor = raw_rank(arrays, offer, data.reach[offer["municipality_code"]], ON, 20)
        assert floor == service
        compared += len(service)
    assert compared > 100  # most opportunities have candidates to rank
