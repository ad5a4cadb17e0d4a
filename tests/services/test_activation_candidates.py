"""Activation's candidates, fed through its real consumer path on SQLite and PostgreSQL: a case worker's request
makes a candidate, intake's updates keep the profile current, a withdrawn consent takes them off (and a renewed one
back), an erasure deletes them, a merge keeps one profile under the surviving person."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from services.activation.models import Candidate
from shared.events import (
    ActivationRequestedV1,
    Availability,
    HouseholdMergedV1,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.messaging.consumer import Outcome
from tests.fixtures.auth import ADA, Tokens
from tests.fixtures.cases import OFFLINE, member
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver, envelope_for
from tests.fixtures.services import RunningService, running_service

NOW = datetime.now(UTC)


@pytest.fixture
async def activation(databases: DatabaseFactory, tokens: Tokens) -> AsyncIterator[RunningService]:
    url = await databases.url_for("activation")
    async with running_service(
        "activation", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False
    ) as running:
        yield running


def requested(person_id: uuid.UUID, household_id: uuid.UUID, *, at: datetime = NOW, **overrides: object):
    values: dict[str, object] = {
        "request_id": uuid.uuid4(),
        "person_id": person_id,
        "household_id": household_id,
        "case_id": uuid.uuid4(),
        "municipality_code": ADA,
        "sex": "F",
        "birth_year": 1988,
        "skills": ["cleaning"],
        "markers": ["single_parent"],
        "availability": Availability(hours_per_week_min=10, hours_per_week_max=20, available_from=date.today()),
        "requested_at": at,
    }
    values.update(overrides)
    return ActivationRequestedV1(**values)  # type: ignore[arg-type]


async def candidate(activation: RunningService, person_id: uuid.UUID) -> Candidate | None:
    async with activation.runtime.sessions() as session:
        return await session.get(Candidate, person_id)


async def test_a_request_makes_a_candidate_once_and_a_newer_one_updates_it(activation: RunningService) -> None:
    person, household = uuid.uuid4(), uuid.uuid4()
    first = requested(person, household, at=NOW - timedelta(days=2))
    envelope = envelope_for(first)
    assert await deliver(activation, (first, envelope)) == [Outcome.applied]
    assert await deliver(activation, (first, envelope)) == [Outcome.duplicate]
    found = await candidate(activation, person)
    assert found is not None and found.skills == ["cleaning"] and found.active and found.hours_max == 20
    await deliver(activation, requested(person, household, skills=["cooking", "cleaning"]))
    assert (await candidate(activation, person)).skills == ["cleaning", "cooking"]  # type: ignore[union-attr]
    await deliver(activation, requested(person, household, at=NOW - timedelta(days=5), skills=["driving"]))
    assert (await candidate(activation, person)).skills == ["cleaning", "cooking"]  # type: ignore[union-attr]


async def test_intake_keeps_the_profile_current_and_consent_decides_whether_they_are_matched(
    activation: RunningService,
) -> None:
    mother = member(age=38, able_to_work=True, consents=("case_work", "activation"), skills=("cleaning",))
    household = uuid.uuid4()
    await deliver(activation, requested(mother.person_id, household))
    changed = mother.model_copy(update={"skills": ["cleaning", "it_basic"], "markers": ["victim_of_violence"]})
    update = HouseholdUpdatedV1(
        household_id=household,
        municipality_code=ADA,
        registered_at=NOW,
        members=[changed],
        version=2,
        reason="edited",
        changed_at=NOW,
    )
    await deliver(activation, update)
    found = await candidate(activation, mother.person_id)
    assert found is not None and found.skills == ["cleaning", "it_basic"]
    assert found.markers == []  # victim of violence is not activation's to know
    withdrawn = PersonConsentChangedV1(
        household_id=household, person_id=mother.person_id, purpose="activation", granted=False, changed_at=NOW
    )
    await deliver(activation, withdrawn)
    assert (await candidate(activation, mother.person_id)).active is False  # type: ignore[union-attr]
    await deliver(activation, withdrawn.model_copy(update={"granted": True}))
    assert (await candidate(activation, mother.person_id)).active is True  # type: ignore[union-attr]
    # The update that follows a withdrawal says so too, in the consents it lists.
    await deliver(
        activation, update.model_copy(update={"members": [changed.model_copy(update={"consents": []})], "version": 3})
    )
    assert (await candidate(activation, mother.person_id)).active is False  # type: ignore[union-attr]


async def test_an_erased_person_is_no_candidate_any_more(activation: RunningService) -> None:
    person, household = uuid.uuid4(), uuid.uuid4()
    await deliver(activation, requested(person, household))
    await deliver(activation, PersonErasedV1(household_id=household, person_id=person, erased_at=NOW))
    assert await candidate(activation, person) is None


async def test_a_merge_keeps_the_newer_profile_under_the_surviving_person(activation: RunningService) -> None:
    survivor, merged, household, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await deliver(activation, requested(survivor, household, at=NOW - timedelta(days=3), skills=["driving"]))
    await deliver(activation, requested(merged, other, skills=["cooking"]))
    await deliver(
        activation,
        PersonMergedV1(
            survivor_person_id=survivor,
            survivor_household_id=household,
            merged_person_id=merged,
            merged_household_id=other,
            merged_at=NOW,
        ),
    )
    assert await candidate(activation, merged) is None
    kept = await candidate(activation, survivor)
    assert kept is not None and kept.skills == ["cooking"] and kept.household_id == household

    # A household merge moves the members' candidates to the survivor household.
    moved, gone_household = uuid.uuid4(), uuid.uuid4()
    await deliver(activation, requested(moved, gone_household))
    await deliver(
        activation,
        HouseholdMergedV1(
            survivor_household_id=household,
            merged_household_id=gone_household,
            moved_person_ids=[moved],
            merged_at=NOW,
        ),
    )
    assert (await candidate(activation, moved)).household_id == household  # type: ignore[union-attr]


async def test_events_the_service_has_no_handler_for_are_ignored_without_reading_them(
    activation: RunningService,
) -> None:
    from dataclasses import replace

    from shared.events import CaseOpenedV1
    from tests.fixtures.delivery import record_of

    opened = CaseOpenedV1(
        case_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        municipality_code=ADA,
        opened_at=NOW,
        household_registered_at=NOW,
    )
    record = record_of(opened)
    unreadable = replace(record, value=b"not json at all")  # its data is never parsed: the type says not ours
    consumer = activation.runtime.consumer
    assert consumer is not None
    assert await consumer.process_batch([unreadable]) == [Outcome.ignored]
