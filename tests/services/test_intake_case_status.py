"""The case status intake shows on a household follows cases' events: opened, each state change, and a transfer
(the receiving office's new case is the one shown; late news of the origin case changes nothing)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from shared.events import CaseOpenedV1, CaseStatusChangedV1, CaseTransferredV1
from tests.fixtures.auth import ADA, RUMA, Tokens
from tests.fixtures.cases import OFFLINE
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver
from tests.fixtures.services import RunningService, running_service

NOW = datetime.now(UTC)


@pytest.fixture
async def intake(databases: DatabaseFactory, tokens: Tokens) -> AsyncIterator[RunningService]:
    url = await databases.url_for("intake")
    async with running_service(
        "intake", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False
    ) as running:
        yield running


async def case_status(intake: RunningService, household_id: str) -> str | None:
    r = await intake.client.get(f"/intake/api/households/{household_id}", headers=intake.auth("worker"))
    assert r.status_code == 200, r.text
    status: str | None = r.json()["case_status"]
    return status


async def test_the_household_shows_its_cases_state_through_a_transfer(intake: RunningService) -> None:
    body = {
        "municipality_code": ADA,
        "members": [
            {
                "given_name": "Ana",
                "family_name": "Petrović",
                "birth_date": "1980-02-03",
                "sex": "F",
                "missing_jmbg_reason": "not_known",
            }
        ],
    }
    r = await intake.client.post("/intake/api/households", json=body, headers=intake.auth("worker"))
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    household_id = uuid.UUID(hid)
    first, second = uuid.uuid4(), uuid.uuid4()
    keys = {"household_id": household_id, "municipality_code": ADA}

    await deliver(intake, CaseOpenedV1(case_id=first, opened_at=NOW, household_registered_at=NOW, **keys))
    assert await case_status(intake, hid) == "open"
    await deliver(
        intake, CaseStatusChangedV1(case_id=first, from_status="open", to_status="assessment", changed_at=NOW, **keys)
    )
    assert await case_status(intake, hid) == "assessment"

    # The receiving office's case opens before the news of the origin's transfer arrives (other partitions).
    opened = CaseOpenedV1(
        case_id=second,
        household_id=household_id,
        municipality_code=RUMA,
        opened_at=NOW,
        household_registered_at=NOW,
        transferred_from_case_id=first,
    )
    await deliver(intake, opened)
    transferred = CaseTransferredV1(
        case_id=first,
        to_case_id=second,
        to_municipality_code=RUMA,
        agreement_id=uuid.uuid4(),
        transferred_at=NOW,
        **keys,
    )
    await deliver(intake, transferred)
    assert await case_status(intake, hid) == "open"
    await deliver(
        intake,
        CaseStatusChangedV1(
            case_id=second,
            household_id=household_id,
            municipality_code=RUMA,
            from_status="open",
            to_status="assessment",
            changed_at=NOW,
        ),
    )
    assert await case_status(intake, hid) == "assessment"


async def test_cases_events_intake_has_no_handler_for_are_ignored_without_reading_them(intake: RunningService) -> None:
    from dataclasses import replace

    from shared.events import CaseAssignedV1
    from shared.messaging.applier import Outcome
    from tests.fixtures.delivery import record_of

    assigned = CaseAssignedV1(
        case_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        municipality_code=ADA,
        worker="ana",
        by="supervisor",
        assigned_at=NOW,
    )
    unreadable = replace(record_of(assigned), value=b"not json at all")  # never parsed: the type says not ours
    applier = intake.runtime.applier
    assert applier is not None
    assert await applier.apply([unreadable]) == [Outcome.ignored]
