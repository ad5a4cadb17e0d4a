"""Reporting counts activation's placement steps where the candidate lives, once per event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from shared.events import (
    MatchProposedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
    PlacementStartedV1,
)
from tests.fixtures.auth import ADA, RUMA, Tokens
from tests.fixtures.cases import OFFLINE
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver, envelope_for
from tests.fixtures.services import RunningService, running_service

NOW = datetime.now(UTC)


@pytest.fixture
async def reporting(databases: DatabaseFactory, tokens: Tokens) -> AsyncIterator[RunningService]:
    url = await databases.url_for("reporting")
    async with running_service(
        "reporting", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False
    ) as running:
        yield running


def keys(municipality: str = ADA) -> dict[str, object]:
    return {
        "placement_id": uuid.uuid4(),
        "opportunity_id": uuid.uuid4(),
        "person_id": uuid.uuid4(),
        "case_id": uuid.uuid4(),
        "municipality_code": municipality,
    }


def proposed(k: dict[str, object]) -> MatchProposedV1:
    return MatchProposedV1(
        **k, opportunity_municipality_code=RUMA, opportunity_type="public_works", score=60.0, proposed_at=NOW
    )  # type: ignore[arg-type]


async def placements(reporting: RunningService, municipality: str) -> dict[str, int]:
    r = await reporting.client.get(
        "/reporting/api/summary", params={"municipality": municipality}, headers=reporting.auth("admin")
    )
    assert r.status_code == 200, r.text
    return dict(r.json()[0]["placements"])


async def test_each_step_is_counted_once_in_the_candidates_municipality(reporting: RunningService):
    first, second, elsewhere = keys(), keys(), keys(RUMA)
    started = PlacementStartedV1(**first, started_at=NOW)  # type: ignore[arg-type]
    once = envelope_for(started)
    await deliver(
        reporting,
        proposed(first),
        proposed(second),
        proposed(elsewhere),
        PlacementAcceptedV1(**first, party="employer", both=False, accepted_at=NOW),  # type: ignore[arg-type]
        (started, once),
        PlacementStartedV1(**second, started_at=NOW),  # type: ignore[arg-type]
        PlacementCompletedV1(**first, hours_worked=120, completed_at=NOW),  # type: ignore[arg-type]
        PlacementEndedV1(**second, reason="health", hours_worked=16, ended_at=NOW),  # type: ignore[arg-type]
    )
    await deliver(reporting, (started, once))  # a redelivery changes nothing
    assert await placements(reporting, ADA) == {
        "proposed": 2,
        "started": 2,
        "completed": 1,
        "ended_early": 1,
        "hours_worked": 136,
    }
    assert (await placements(reporting, RUMA))["proposed"] == 1
