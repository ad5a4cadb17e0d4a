"""The reporting bench's event stream: deterministic, valid, free of personal data, and in a sane order."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import pytest

from bench import reporting_events
from bench.reporting_events import event_time, generate, publish
from services.cases.domain import ACTIVATION_MARKERS, MemberFacts, case_priority
from services.intake.domain import equivalent_adults
from shared.events import (
    ActivationRequestedV1,
    AgreementChangedV1,
    AssessmentCompletedV1,
    CaseOpenedV1,
    CasePriorityChangedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    Envelope,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    MatchProposedV1,
    OpportunityPublishedV1,
    PersonErasedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementDeclinedV1,
    PlacementEndedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
    ProviderChangedV1,
    ReferralDecidedV1,
    ReferralRequestedV1,
    decode_event,
)
from shared.events.cases import _CaseEvent
from shared.events.envelope import SPECVERSION
from shared.settings import KafkaSettings

HOUSEHOLDS = 3000
ROOT = Path(__file__).resolve().parents[3]

# Cases' lifecycle (docs/cases.md): forward one step at a time, close from any active state, reopen from closed;
# a transfer is its own event.
TRANSITIONS = {
    "open": {"assessment", "closed"},
    "assessment": {"plan", "closed"},
    "plan": {"active", "closed"},
    "active": {"closed"},
    "closed": {"open"},
}
REFERRAL_STEPS = {"requested": {"accepted", "declined", "cancelled"}, "accepted": {"ended"}}
PERSONAL = {
    "name",
    "given_name",
    "family_name",
    "jmbg",
    "address",
    "phone",
    "birth_date",
    "settlement",
    "email",
    "note",
}


@pytest.fixture(scope="module")
def stream() -> list[EventData]:
    return list(generate(HOUSEHOLDS, seed=11))


def digest(events: Iterable[EventData]) -> str:
    h = hashlib.sha256()
    for event in events:
        h.update(event.type_name().encode())
        h.update(json.dumps(event.to_data(), sort_keys=True).encode())
    return h.hexdigest()


def keys_of(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from keys_of(v)
    elif isinstance(value, list):
        for v in value:
            yield from keys_of(v)


# --- determinism ---------------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_stream(stream: list[EventData]) -> None:
    assert digest(generate(HOUSEHOLDS, seed=11)) == digest(stream)


def test_another_seed_gives_another_stream(stream: list[EventData]) -> None:
    assert digest(generate(HOUSEHOLDS, seed=12)) != digest(stream)


def test_the_stream_does_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "import hashlib, json; from bench.reporting_events import generate; h = hashlib.sha256()\n"
        "for e in generate(300, seed=5, months=12):\n"
        "    h.update(e.type_name().encode()); h.update(json.dumps(e.to_data(), sort_keys=True).encode())\n"
        "print(h.hexdigest())"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert answers == {digest(generate(300, seed=5, months=12))}


# --- validity and privacy ------------------------------------------------------------------------------------


def test_every_event_round_trips_through_the_catalogue(stream: list[EventData]) -> None:
    for event in stream:
        data = json.loads(json.dumps(event.to_data()))
        decoded = decode_event(event.type_name(), data)
        assert type(decoded) is type(event)
        assert decoded == event


def test_no_event_carries_personal_data(stream: list[EventData]) -> None:
    found = {k for event in stream for k in keys_of(event.to_data())} & PERSONAL
    assert not found


def test_times_are_utc_and_the_stream_is_in_time_order(stream: list[EventData]) -> None:
    times = [event_time(e) for e in stream]
    assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in times)  # type: ignore[union-attr]
    assert times == sorted(times)
    assert times[0].date() >= date(2024, 1, 1)
    assert times[-1].date() < date(2026, 7, 1)  # 30 months


def test_every_event_type_of_the_brief_is_there(stream: list[EventData]) -> None:
    kinds = Counter(type(e).__name__ for e in stream)
    expected = {
        "HouseholdRegisteredV2",
        "HouseholdUpdatedV1",
        "PersonErasedV1",
        "HouseholdMergedV1",
        "PersonMergedV1",
        "PersonConsentChangedV1",
        "CaseOpenedV1",
        "CaseAssignedV1",
        "CaseStatusChangedV1",
        "CasePriorityChangedV1",
        "CaseTransferredV1",
        "AssessmentCompletedV1",
        "PlanAgreedV1",
        "ReferralRequestedV1",
        "ReferralDecidedV1",
        "ProviderChangedV1",
        "AgreementChangedV1",
        "ActivationRequestedV1",
        "OpportunityPublishedV1",
        "OpportunityClosedV1",
        "MatchProposedV1",
        "PlacementAcceptedV1",
        "PlacementDeclinedV1",
        "PlacementStartedV1",
        "PlacementHoursRecordedV1",
        "PlacementCompletedV1",
        "PlacementEndedV1",
    }
    assert expected <= set(kinds), expected - set(kinds)


# --- proportions ---------------------------------------------------------------------------------------------


def test_about_ten_events_per_household(stream: list[EventData]) -> None:
    assert 9.0 <= len(stream) / HOUSEHOLDS <= 11.0
    assert abs(reporting_events.EVENTS_PER_HOUSEHOLD - 10.0) < 0.5


def test_households_look_like_the_population_served(stream: list[EventData]) -> None:
    registered = [e for e in stream if isinstance(e, HouseholdRegisteredV2)]
    assert len(registered) == HOUSEHOLDS
    members = [(e.registered_at.year, m) for e in registered for m in e.members]
    ages = {year - m.birth_year for year, m in members}
    markers = Counter(k for _, m in members for k in m.markers)
    women = sum(m.sex == "F" for _, m in members) / len(members)
    assert all(1 <= len(e.members) <= 6 for e in registered)
    assert all(e.members[0].relation == "head" and e.version == 1 for e in registered)
    assert min(ages) == 0 and max(ages) == 90
    assert 0.49 <= women <= 0.55
    assert 0.05 <= markers["roma"] / len(members) <= 0.11
    assert 0.07 <= markers["disability"] / len(members) <= 0.13
    assert markers["victim_of_violence"] / len(members) < 0.005
    assert markers["single_parent"] and markers["unemployed_able_to_work"] and markers["without_documents"]
    below = Counter(e.below_poverty_line for e in registered)
    assert 0.3 <= below[True] / HOUSEHOLDS <= 0.4 and below[None] > 0
    by_place = Counter(e.municipality_code for e in registered)
    assert len(by_place) > 100  # spread over the country...
    assert sum(n for _, n in by_place.most_common(40)) / HOUSEHOLDS > 0.7  # ...but mostly in a few dozen places


def test_shares_of_the_later_events(stream: list[EventData]) -> None:
    updated = {e.household_id for e in stream if isinstance(e, HouseholdUpdatedV1)}
    assert 0.18 <= len(updated) / HOUSEHOLDS <= 0.32
    referrals = [e for e in stream if isinstance(e, ReferralRequestedV1)]
    assert 0.10 <= sum(e.cross_border for e in referrals) / len(referrals) <= 0.20
    requests = [e for e in stream if isinstance(e, ActivationRequestedV1)]
    proposed = {e.person_id for e in stream if isinstance(e, MatchProposedV1)}
    # About 40% at 100,000 households; fewer here, where a small municipality rarely has an opportunity open.
    assert 0.2 <= len(proposed) / len(requests) <= 0.5
    opportunities = [e for e in stream if isinstance(e, OpportunityPublishedV1)]
    assert abs(len(opportunities) - HOUSEHOLDS / 40) <= 2
    assert all(1 <= e.positions <= 10 and e.opportunity_type for e in opportunities)
    providers = {e.provider_id for e in stream if isinstance(e, ProviderChangedV1)}
    assert len(providers) == 200


# --- the services' own rules --------------------------------------------------------------------------------


def test_every_households_scale_is_intakes(stream: list[EventData]) -> None:
    states = [e for e in stream if isinstance(e, HouseholdRegisteredV2 | HouseholdUpdatedV1)]
    for e in states:
        year = event_time(e).year
        assert e.equivalent_adults == equivalent_adults([year - m.birth_year for m in e.members])
    assert {e.equivalent_adults for e in states} >= {1.0, 1.5, 1.3}


def test_cases_prioritise_by_cases_rule_on_the_household_they_last_heard_of(stream: list[EventData]) -> None:
    latest: dict[UUID, HouseholdRegisteredV2 | HouseholdUpdatedV1] = {}
    checked: Counter[str] = Counter()
    for event in stream:
        if isinstance(event, HouseholdRegisteredV2 | HouseholdUpdatedV1):
            latest[event.household_id] = event
        elif isinstance(event, CaseOpenedV1 | CasePriorityChangedV1):
            if isinstance(event, CaseOpenedV1) and event.transferred_from_case_id is not None:
                continue  # a transferred case keeps its origin's priority
            household = latest[event.household_id]
            facts = [MemberFacts(birth_year=m.birth_year, markers=frozenset(m.markers)) for m in household.members]
            on = event_time(event).date()
            rule = case_priority(members=facts, below_poverty_line=household.below_poverty_line, on=on)
            assert event.priority == rule.value
            checked[event.priority] += 1
    assert set(checked) == {"urgent", "high", "medium", "low"}


def test_activation_hears_only_the_markers_cases_sends(stream: list[EventData]) -> None:
    requests = [e for e in stream if isinstance(e, ActivationRequestedV1)]
    assert all(set(e.markers) <= ACTIVATION_MARKERS for e in requests)
    assert any(e.markers for e in requests)


# --- order per household, case, referral and placement -------------------------------------------------------


def test_households_registered_before_anything_else_happens_to_them(stream: list[EventData]) -> None:
    registered: dict[UUID, Any] = {}
    merged: set[UUID] = set()
    versions: dict[UUID, int] = {}
    for event in stream:
        if isinstance(event, HouseholdRegisteredV2):
            assert event.household_id not in registered
            registered[event.household_id] = event.registered_at
            versions[event.household_id] = 1
            continue
        household = getattr(event, "household_id", None) or getattr(event, "merged_household_id", None)
        if household is None:
            continue
        assert household in registered, f"{event.type_name()} before its household's registration"
        assert household not in merged, f"{event.type_name()} after its household was merged away"
        if isinstance(event, HouseholdUpdatedV1):
            assert event.version > versions[household]
            assert event.registered_at == registered[household] <= event.changed_at
            versions[household] = event.version
        if isinstance(event, HouseholdMergedV1):
            assert event.survivor_household_id in registered
            merged.add(event.merged_household_id)


def test_an_erased_person_keeps_only_sex_and_birth_year(stream: list[EventData]) -> None:
    erased = {(e.household_id, e.person_id) for e in stream if isinstance(e, PersonErasedV1)}
    assert erased
    for event in stream:
        if isinstance(event, HouseholdUpdatedV1) and event.reason == "person_erased":
            for m in event.members:
                if (event.household_id, m.person_id) in erased:
                    assert (m.skills, m.markers, m.consents) == ([], [], [])
                    assert (m.education, m.employment_status, m.able_to_work) == (None, None, None)


def test_cases_follow_their_lifecycle(stream: list[EventData]) -> None:
    status: dict[UUID, str] = {}
    registered: dict[UUID, Any] = {}
    agreements = {e.agreement_id: set(e.municipalities) for e in stream if isinstance(e, AgreementChangedV1)}
    for event in stream:
        if isinstance(event, HouseholdRegisteredV2):
            registered[event.household_id] = event.registered_at
        if not isinstance(event, _CaseEvent):
            continue
        if isinstance(event, CaseOpenedV1):
            assert event.case_id not in status
            assert event.household_registered_at == registered[event.household_id] <= event.opened_at
            assert event.assigned_to is None or event.assigned_to.startswith(f"cw-{event.municipality_code}-")
            if event.transferred_from_case_id is not None:
                assert status[event.transferred_from_case_id] in ("open", "assessment", "plan", "active")
            status[event.case_id] = "open"
            continue
        current = status[event.case_id]  # no event of a case before it opened
        assert current != "transferred", f"{event.type_name()} after the case was transferred"
        if isinstance(event, CaseStatusChangedV1):
            assert event.from_status == current
            assert event.to_status in TRANSITIONS[current]
            assert (event.reason is not None) == (event.to_status == "closed")
            status[event.case_id] = event.to_status
        elif isinstance(event, CaseTransferredV1):
            assert current in ("open", "assessment", "plan", "active")
            assert status[event.to_case_id] == "open"
            assert {event.municipality_code, event.to_municipality_code} <= agreements[event.agreement_id]
            status[event.case_id] = "transferred"
        elif isinstance(event, AssessmentCompletedV1):
            assert current in ("open", "assessment", "plan", "active")
            assert event.household_registered_at == registered[event.household_id] <= event.completed_at
    reached = Counter(status.values())
    assert reached["closed"] and reached["active"] and reached["open"] and reached["transferred"]


def test_referrals_and_placements_step_forward(stream: list[EventData]) -> None:
    referrals: dict[UUID, str] = {}
    placements: dict[UUID, list[str]] = defaultdict(list)
    for event in stream:
        if isinstance(event, ReferralRequestedV1):
            assert event.referral_id not in referrals
            assert event.cross_border == (event.provider_municipality_code != event.municipality_code)
            referrals[event.referral_id] = "requested"
        elif isinstance(event, ReferralDecidedV1):
            assert event.status in REFERRAL_STEPS[referrals[event.referral_id]]
            referrals[event.referral_id] = event.status
        elif isinstance(event, MatchProposedV1):
            assert event.placement_id not in placements
            placements[event.placement_id].append("proposed")
        elif isinstance(event, PlacementAcceptedV1):
            steps = placements[event.placement_id]
            assert steps[-1] in ("proposed", "accepted")
            steps.append("accepted" if not event.both else "both")
        elif isinstance(event, PlacementDeclinedV1):
            assert placements[event.placement_id][-1] in ("proposed", "accepted")
            placements[event.placement_id].append("declined")
        elif isinstance(event, PlacementStartedV1):
            assert placements[event.placement_id][-1] == "both"
            placements[event.placement_id].append("started")
        elif isinstance(event, PlacementHoursRecordedV1):
            assert placements[event.placement_id][-1] in ("started", "hours")
            placements[event.placement_id].append("hours")
        elif isinstance(event, PlacementCompletedV1 | PlacementEndedV1):
            assert placements[event.placement_id][-1] in ("started", "hours")
            placements[event.placement_id].append("done")
    finals = Counter(steps[-1] for steps in placements.values())
    assert finals["done"] and finals["declined"] and finals["hours"]


# --- publishing ----------------------------------------------------------------------------------------------


class FakeProducer:
    sent: ClassVar[list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    async def start(self) -> None:
        FakeProducer.sent = []

    async def stop(self) -> None:
        pass

    async def send(self, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]]) -> Any:
        FakeProducer.sent.append((topic, value, key, headers))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_publish_sends_cloudevents_as_the_relays_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiokafka

    monkeypatch.setattr(aiokafka, "AIOKafkaProducer", FakeProducer)
    events = list(generate(200, seed=3, months=6))
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9", topic_prefix="t1-")
    count = asyncio.run(publish(events, kafka, duplicates=0.1))
    sent = FakeProducer.sent
    assert count == len(sent) > len(events)
    first: dict[str, tuple[str, bytes, Envelope]] = {}
    for topic, value, key, headers in sent:
        envelope = Envelope.from_record(headers, value)
        first.setdefault(envelope.id, (topic, key, envelope))
        assert dict(headers)["ce_specversion"] == SPECVERSION.encode()
    assert len(first) == len(events)  # the extra records are redeliveries: an envelope id seen before
    for event, (topic, key, envelope) in zip(events, first.values(), strict=True):
        assert topic == f"t1-{event.topic}"
        assert key == event.key.encode()
        assert envelope.type == event.type_name()
        assert envelope.source == f"/oslonac/{event.topic.split('.')[0]}"
        assert envelope.time == event_time(event)
        assert decode_event(envelope.type, envelope.data) == event
