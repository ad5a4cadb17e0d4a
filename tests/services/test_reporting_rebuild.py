"""The issue's proof of rebuildability: replaying every topic from the beginning into a fresh store gives exactly the
indicators the live service computed while it consumed the same records, on a realistic data set.

A deterministic stream of 2,000 households (about 20,000 events of intake, cases and activation: registrations,
updates, erasures, merges, cases through their states, referrals, providers, candidates, opportunities and
placements) is published to the broker with 2% of its records sent twice (redeliveries, same envelope id).
Reporting consumes it live (its consumer, relay and feed running); then ``rebuild`` replays the topics into a fresh
database of the same kind, and every indicator of the catalogue, broken down every way it allows, comes out of
both stores row for row the same.

The live consumer cuts the records into batches of at most 500 and interleaves the partitions as the broker hands
them over; the rebuild reads thousands at a time. So the facts must not depend on batch boundaries nor on the
relative order of different keys: a broker-free test checks that on the same stream read in adversarial (but
legitimate) orders, and two small ones pin the cases where it did not hold.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.reporting_events import generate, publish
from oslonac import cli
from services.reporting import feed, indicators, projection
from services.reporting.app import MIGRATIONS
from services.reporting.feed import FEED
from services.reporting.indicators import CATALOGUE
from services.reporting.models import (
    CANDIDATES,
    CASES,
    HOUSEHOLDS,
    OPPORTUNITIES,
    PERSONS,
    PLACEMENTS,
    PROVIDER_DELTAS,
    PROVIDERS,
    REFERRALS,
    TRANSITIONS,
    plumbing,
)
from services.reporting.projection import APPLIED
from services.reporting.rebuild import RebuildError, rebuild
from shared.context import new_id
from shared.db import create_engine, migrate, unit_of_work, utcnow
from shared.events import (
    CaseOpenedV1,
    Envelope,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    MemberProfile,
    PersonErasedV1,
)
from shared.events.catalogue import SUBSCRIPTIONS, TOPICS
from shared.messaging.applier import Applier, Outcome
from shared.messaging.kafka import ensure_topics
from shared.settings import Environment, KafkaSettings, Settings
from tests.fixtures.auth import ADA, RUMA, Tokens
from tests.fixtures.cases import OFFLINE
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver
from tests.fixtures.kafka_tools import eventually, produce_event
from tests.fixtures.reporting import count, differences, store
from tests.fixtures.services import RunningService, running_service

HOUSEHOLDS_IN_STREAM = 2000
SEED = 11
DUPLICATES = 0.02
# The stream covers 30 months from 2024-01: a fixed range keeps every figure independent of today's date.
FROM, TO = "2024-01", "2026-06"
CONSUME_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Stream:
    """A generated stream and what the generator's own events say about it."""

    events: list[EventData]
    applied: int  # events of the types reporting applies: one ledger row each
    households: int  # distinct households registered, minus those merged into another
    cases: int  # distinct cases opened (a transfer opens one in the receiving municipality)


@cache
def stream_of(households: int, seed: int) -> Stream:
    events = list(generate(households, seed=seed))
    assert {e.topic for e in events} <= set(SUBSCRIPTIONS["reporting"])
    registered = {e.household_id for e in events if isinstance(e, HouseholdRegisteredV2)}
    merged = {e.merged_household_id for e in events if isinstance(e, HouseholdMergedV1)}
    return Stream(
        events=events,
        applied=sum(1 for e in events if isinstance(e, APPLIED)),
        households=len(registered - merged),
        cases=len({e.case_id for e in events if isinstance(e, CaseOpenedV1)}),
    )


def settings_for(kafka: KafkaSettings) -> Settings:
    return Settings(env=Environment.test, service="reporting", kafka=kafka)


async def country_value(sessions: async_sessionmaker[AsyncSession], name: str) -> Any:
    async with sessions() as session:
        table = await indicators.compute(
            session, indicators.parse_query({"indicator": name, "from": FROM, "to": TO}), exact=True
        )
    assert len(table.rows) == 1
    return table.rows[0]["value"]


# --- the proof -----------------------------------------------------------------------------------------------------


async def test_a_rebuild_from_the_topics_gives_the_live_indicators_on_a_realistic_stream(
    databases: DatabaseFactory, kafka_settings: KafkaSettings, tokens: Tokens
):
    data = stream_of(HOUSEHOLDS_IN_STREAM, SEED)
    assert data.households > 1000 and len(data.events) > 20_000
    await ensure_topics(kafka_settings)
    sent = await publish(data.events, kafka_settings, duplicates=DUPLICATES, seed=SEED)
    assert sent > len(data.events), "no record was sent twice"

    live_url = await databases.url_for("reporting")
    started = time.perf_counter()
    async with running_service("reporting", database_url=live_url, kafka=kafka_settings, tokens=tokens) as live:
        await eventually(
            lambda: live.count(plumbing.processed_events),
            lambda n: n >= data.applied,
            timeout_s=CONSUME_TIMEOUT_S,
            every_s=0.5,
        )
        consumed_s = time.perf_counter() - started
        r = await live.client.get("/reporting/api/summary", headers=live.auth("admin"))
        assert r.status_code == 200, r.text
        assert r.json()[-1]["households"] == data.households
    rebuilt_url = await databases.url_for("reporting")
    result = await rebuild(settings_for(kafka_settings), rebuilt_url, idle_s=10.0)

    # The replay read every record, applied each event once and put none aside.
    assert result.events == sent
    assert result.dead_lettered == 0
    assert result.applied == data.applied
    assert result.applied + result.duplicates + result.ignored == sent
    assert result.duplicates > 0
    async with store(live_url) as live_store, store(rebuilt_url) as rebuilt_store:
        assert await count(live_store, plumbing.processed_events) == data.applied
        assert await count(rebuilt_store, plumbing.processed_events) == data.applied
        assert await count(live_store, FEED) > 0  # the live service announced its changes...
        assert await count(rebuilt_store, FEED) == 0  # ...the rebuild announces nothing
        assert await count(rebuilt_store, plumbing.outbox) == 0
        # Not trivially empty, and redelivered records were not counted twice.
        for sessions in (live_store, rebuilt_store):
            assert await country_value(sessions, "households") == data.households
            assert await country_value(sessions, "cases_opened") == data.cases
        assert await count(rebuilt_store, HOUSEHOLDS) == len(
            {e.household_id for e in data.events if isinstance(e, HouseholdRegisteredV2)}
        )

        compare_started = time.perf_counter()
        compared, problems, nonzero = await differences(live_store, rebuilt_store, FROM, TO)
        compare_s = time.perf_counter() - compare_started
    print(
        f"\n{databases.backend}: {sent} records consumed live in {consumed_s:.1f}s, rebuilt in {result.seconds:.1f}s "
        f"({result.events_per_second:,.0f}/s); {compared} tables compared in {compare_s:.1f}s"
    )
    assert problems == [], f"{len(problems)} of {compared} tables differ:\n" + "\n".join(problems[:20])
    assert compared >= 6 * len(CATALOGUE)
    assert [name for name, seen in nonzero.items() if not seen] == [], "indicators the data set never exercises"

    # A store that is not empty is refused.
    with pytest.raises(RebuildError, match="not empty"):
        await rebuild(settings_for(kafka_settings), live_url, idle_s=1.0)


# --- the facts do not depend on batches or on how partitions interleave (no broker) -----------------------------

ORDER_HOUSEHOLDS = 1000
_PARTITIONER = DefaultPartitioner()


def by_partition(events: Sequence[EventData]) -> dict[tuple[str, int], list[EventData]]:
    """The records of each partition, in order, as ``publish`` (a keyed producer) spreads them."""
    partitions = {topic.name: list(range(topic.partitions)) for topic in TOPICS}
    out: dict[tuple[str, int], list[EventData]] = {}
    for event in events:
        ids = partitions[event.topic]
        out.setdefault((event.topic, _PARTITIONER(event.key.encode(), ids, ids)), []).append(event)
    return out


def interleaved(parts: dict[tuple[str, int], list[EventData]], seed: int) -> list[EventData]:
    """Partitions read in runs of random length, as a consumer's fetches hand them over."""
    rng = random.Random(seed)
    queues = {k: list(v) for k, v in sorted(parts.items())}
    out: list[EventData] = []
    while queues:
        key = rng.choice(sorted(queues))
        run = rng.randint(1, 400)
        out += queues[key][:run]
        del queues[key][:run]
        if not queues[key]:
            del queues[key]
    return out


async def projected(url: str, events: Sequence[EventData], batch: int) -> None:
    async with store(url) as sessions:
        for i in range(0, len(events), batch):
            async with unit_of_work(sessions) as session:
                await projection.apply(session, events[i : i + batch], projected_at=utcnow())


# What every indicator is computed from; the time a row was written and the append logs' own ids aside.
FACT_TABLES = [HOUSEHOLDS, PERSONS, CASES, TRANSITIONS, REFERRALS, PROVIDERS, PROVIDER_DELTAS, CANDIDATES]
FACT_TABLES += [OPPORTUNITIES, PLACEMENTS]


async def facts(url: str) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with store(url) as sessions, sessions() as session:
        for table in FACT_TABLES:
            columns = [c for c in table.c if c.name not in ("projected_at", "id")]
            rows = (await session.execute(select(*columns))).all()
            out[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def fact_differences(expected: dict[str, list[tuple[Any, ...]]], actual: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    problems = []
    for name, rows in expected.items():
        missing, extra = (
            sorted(set(rows) - set(actual[name]), key=repr),
            sorted(set(actual[name]) - set(rows), key=repr),
        )
        if missing or extra or len(rows) != len(actual[name]):
            problems.append(f"{name}: {len(missing)} rows missing {missing[:1]}, {len(extra)} extra {extra[:1]}")
    return problems


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
async def test_the_facts_do_not_depend_on_batch_boundaries_nor_on_the_order_of_partitions(databases: DatabaseFactory):
    """Per-key order is all Kafka keeps: any interleaving of the partitions, cut into batches anywhere, is a way the
    live consumer or a rebuild may read the topics, and each must give the facts of the stream read in time order
    in one go (so every indicator, which is computed from them alone)."""
    events = [e for e in stream_of(ORDER_HOUSEHOLDS, SEED).events if isinstance(e, APPLIED)]
    parts = by_partition(events)
    reference = await databases.url_for("reporting")
    await projected(reference, events, len(events))
    expected = await facts(reference)
    assert len(expected["household_facts"]) == ORDER_HOUSEHOLDS
    orders = {
        "time order, batches of 500": (events, 500),
        "partition after partition, batches of 500": ([e for k in sorted(parts) for e in parts[k]], 500),
        "partitions backwards, batches of 777": ([e for k in sorted(parts, reverse=True) for e in parts[k]], 777),
        "partitions interleaved, batches of 300": (interleaved(parts, SEED), 300),
    }
    problems: list[str] = []
    for name, (order, batch) in orders.items():
        url = await databases.url_for("reporting")
        await projected(url, order, batch)
        problems += [f"{name}: {p}" for p in fact_differences(expected, await facts(url))]
    assert problems == [], "\n".join(problems)


# --- the two ways they did depend on them --------------------------------------------------------------------------

WHEN = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def member(person_id: uuid.UUID, relation: str, sex: str = "F") -> MemberProfile:
    return MemberProfile(person_id=person_id, sex=sex, birth_year=1980, relation=relation)


def state(household_id: uuid.UUID, version: int, *members: MemberProfile) -> HouseholdRegisteredV2 | HouseholdUpdatedV1:
    if version == 1:
        return HouseholdRegisteredV2(
            household_id=household_id, municipality_code=ADA, registered_at=WHEN, members=list(members)
        )
    return HouseholdUpdatedV1(
        household_id=household_id,
        municipality_code=ADA,
        registered_at=WHEN,
        members=list(members),
        version=version,
        reason="edited",
        changed_at=WHEN,
    )


@pytest.fixture
async def offline_reporting(databases: DatabaseFactory, tokens: Tokens) -> AsyncIterator[RunningService]:
    url = await databases.url_for("reporting")
    async with running_service(
        "reporting", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False
    ) as running:
        yield running


async def persons_in(reporting: RunningService) -> dict[str, int]:
    r = await reporting.client.get(
        "/reporting/api/summary", params={"municipality": ADA}, headers=reporting.auth("admin")
    )
    assert r.status_code == 200, r.text
    return dict(r.json()[0]["persons"])


@pytest.mark.parametrize("split", [False, True], ids=["one batch", "a batch each"])
async def test_an_erased_member_stays_out_when_a_later_state_of_the_household_still_lists_them(
    offline_reporting: RunningService, split: bool
):
    """Intake keeps an erased member's sex and birth year, so the household's later states still list them."""
    household, erased, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events: list[EventData] = [
        state(household, 1, member(erased, "head"), member(other, "spouse", "M")),
        PersonErasedV1(household_id=household, person_id=erased, erased_at=WHEN),
        state(household, 2, member(erased, "head"), member(other, "spouse", "M")),
    ]
    for batch in [[e] for e in events] if split else [events]:
        await deliver(offline_reporting, *batch)
    assert await persons_in(offline_reporting) == {"female": 0, "male": 1, "total": 1}


@pytest.mark.parametrize("split", [False, True], ids=["one batch", "a batch each"])
async def test_a_member_moved_by_a_merge_stays_when_the_survivors_new_state_is_read_before_the_merged_household(
    offline_reporting: RunningService, split: bool
):
    """The merge is keyed by the merged household, the survivor's new state by the survivor: two partitions, read
    in either order. Here the survivor's comes first (the merged household's partition lags behind)."""
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    head, moved, duplicate = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events: list[EventData] = [
        state(survivor, 1, member(head, "head")),
        state(survivor, 2, member(head, "head"), member(moved, "spouse", "M")),  # after the merge
        state(merged, 1, member(duplicate, "head"), member(moved, "spouse", "M")),
        HouseholdMergedV1(
            survivor_household_id=survivor,
            merged_household_id=merged,
            moved_person_ids=[moved],
            merged_person_ids={duplicate: head},
            merged_at=WHEN,
        ),
    ]
    for batch in [[e] for e in events] if split else [events]:
        await deliver(offline_reporting, *batch)
    assert await persons_in(offline_reporting) == {"female": 1, "male": 1, "total": 2}
    r = await offline_reporting.client.get(
        "/reporting/api/summary", params={"municipality": ADA}, headers=offline_reporting.auth("admin")
    )
    assert r.json()[0]["households"] == 1


# --- switching over: the group's offsets -----------------------------------------------------------------------------


def registration(municipality: str = RUMA) -> tuple[HouseholdRegisteredV2, Envelope]:
    event = HouseholdRegisteredV2(
        household_id=uuid.uuid4(),
        municipality_code=municipality,
        registered_at=datetime(2026, 6, 15, 9, 0, tzinfo=UTC),
        members=[MemberProfile(person_id=uuid.uuid4(), sex="F", birth_year=1990, relation="head")],
    )
    envelope = Envelope(
        id=new_id(), source="/oslonac/intake", type=event.type_name(), data=event.to_data(), subject=event.key
    )
    return event, envelope


async def test_after_a_rebuild_with_commit_group_the_service_goes_on_after_the_replayed_records(
    databases: DatabaseFactory, kafka_settings: KafkaSettings, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
):
    data = stream_of(200, SEED)
    await ensure_topics(kafka_settings)
    sent = await publish(data.events, kafka_settings, seed=SEED)
    url = await databases.url_for("reporting")
    result = await rebuild(settings_for(kafka_settings), url, commit_group="reporting", idle_s=10.0)
    assert result.events == sent and result.applied == data.applied

    # Every record the service's consumer is handed from now on, with what became of it.
    outcomes: list[Outcome] = []
    original = Applier.apply

    async def recording(self: Applier, records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[Outcome]:
        done = await original(self, records)
        outcomes.extend(done)
        return done

    monkeypatch.setattr(Applier, "apply", recording)
    event, envelope = registration()
    await produce_event(kafka_settings, event, envelope)
    async with running_service("reporting", database_url=url, kafka=kafka_settings, tokens=tokens) as reporting:
        await eventually(lambda: reporting.count(plumbing.processed_events), lambda n: n > data.applied, timeout_s=30.0)
        await asyncio.sleep(1.0)  # time enough to have read old records too, had it started before them
        await eventually(lambda: reporting.count(feed.PENDING), lambda n: n == 0, timeout_s=30.0)
        assert outcomes == [Outcome.applied]
        assert await reporting.count(plumbing.processed_events) == data.applied + 1
        assert await reporting.count(HOUSEHOLDS, HOUSEHOLDS.c.household_id == event.household_id) == 1
        # Its feed announces the one change it applied.
        async with reporting.runtime.sessions() as session:
            months = (await session.execute(select(FEED.c.municipality_code, FEED.c.month))).all()
        assert [tuple(m) for m in months] == [(RUMA, "2026-06")]


# --- the command -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
async def test_the_rebuild_command_refuses_a_store_that_is_not_empty(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
):
    url = await databases.url_for("reporting")
    engine = create_engine(url)
    try:
        await migrate(engine, MIGRATIONS)
        async with engine.begin() as conn:
            await conn.execute(
                insert(plumbing.processed_events),
                {
                    "consumer": "reporting",
                    "event_id": new_id(),
                    "event_type": HouseholdRegisteredV2.type_name(),
                    "processed_at": datetime.now(UTC),
                },
            )
    finally:
        await engine.dispose()
    # Refused before the broker is asked anything: no broker answers here.
    monkeypatch.setenv("OSLONAC_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    with pytest.raises(RebuildError, match="the store is not empty: rebuild into a fresh database"):
        await asyncio.wait_for(
            asyncio.to_thread(cli.main, ["reporting-rebuild", "--database-url", url, "--commit-group", "reporting"]),
            timeout=30,
        )
    async with store(url) as sessions:
        assert await count(sessions, plumbing.processed_events) == 1  # untouched
