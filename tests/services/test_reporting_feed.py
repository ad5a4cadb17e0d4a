"""Reporting's live feeds, read by real consumers: the public Kafka topic ``reporting.indicators`` (CloudEvents in
binary mode, read with a plain aiokafka consumer group) and the Server-Sent Events stream (the app served by
uvicorn on a real socket, read with httpx), which resumes from ``Last-Event-ID``.

Every announcement is checked against what an analyst reads from ``GET /reporting/api/indicators`` for the same
municipality and month, small counts suppressed, and for the absence of anything personal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from fastapi import FastAPI
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.reporting_events import generate, publish
from services.reporting import feed
from services.reporting.feed import FEED, HEADLINE, SUPPRESSED
from services.reporting.models import plumbing
from services.reporting.projection import APPLIED
from shared.db import create_engine, session_factory, unit_of_work, utcnow
from shared.events import (
    EventData,
    HouseholdRegisteredV2,
    IndicatorsUpdatedV1,
    MemberProfile,
    decode_event,
)
from shared.events.envelope import Envelope
from shared.messaging.kafka import ensure_topics, topic_name
from shared.reference import municipalities
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, NOVI_SAD, RUMA, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver
from tests.fixtures.kafka_tools import eventually
from tests.fixtures.services import RunningService, running_service

WAIT_S = 20.0
TOPIC = "reporting.indicators"
TYPE = "rs.oslonac.reporting.indicators.updated.v1"
SEPTEMBER = datetime(2026, 9, 14, 10, 0, tzinfo=UTC)  # after the generated stream's last month (2026-06)
UUID_TEXT = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DATA_KEYS = {"municipality_code", "district", "month", "indicators", "updated_at"}

# Each headline figure of the feed, as the same count in GET /reporting/api/indicators: (indicator, column).
AS_IN_THE_API: dict[str, tuple[str, str]] = {
    "households_registered": ("households_registered", "value"),
    "persons_registered": ("persons_registered", "value"),
    "cases_opened": ("cases_opened", "value"),
    "assessments_completed": ("median_days_to_assessment", "cases"),
    "referrals": ("referrals", "value"),
    "opportunities_published": ("opportunities_published", "value"),
    "placements_started": ("placements_started", "value"),
}


def household(municipality: str, *sexes: str, at: datetime = SEPTEMBER) -> HouseholdRegisteredV2:
    relations = ["head", "spouse", "child", "child", "other"]
    return HouseholdRegisteredV2(
        household_id=uuid.uuid4(),
        municipality_code=municipality,
        registered_at=at,
        members=[
            MemberProfile(person_id=uuid.uuid4(), sex=sex, birth_year=1980 + 10 * i, relation=relations[i])
            for i, sex in enumerate(sexes)
        ],
    )


@pytest.fixture
async def topics(kafka_settings: KafkaSettings) -> KafkaSettings:
    await ensure_topics(kafka_settings)
    return kafka_settings


async def feed_rows(reporting: RunningService, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
    async with unit_of_work(reporting.runtime.sessions) as session:
        return await feed.entries_after(session, after, limit=100_000)


async def unpublished(reporting: RunningService) -> int:
    outbox = reporting.runtime.tables.outbox
    return await reporting.count(outbox, outbox.c.published_at.is_(None))


async def api_values(reporting: RunningService, municipality: str, month: str) -> dict[str, int | str]:
    """The feed's figures for one cell as an analyst reads them from GET /reporting/api/indicators."""
    values: dict[str, int | str] = {}
    for name, (indicator, column) in AS_IN_THE_API.items():
        params = {"indicator": indicator, "period": "month", "from": month, "to": month, "municipality": municipality}
        r = await reporting.client.get("/reporting/api/indicators", params=params, headers=reporting.auth("analyst"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["exact"] is False and len(body["rows"]) == 1, body
        values[name] = body["rows"][0][column]
    return values


async def read_topic_as_a_subscriber(kafka: KafkaSettings, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """What an outside subscriber's consumer group reads from ``reporting.indicators``: ``count`` records."""
    consumer = AIOKafkaConsumer(
        topic_name(kafka, TOPIC),
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"{kafka.topic_prefix}a-dashboard-elsewhere",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(WAIT_S):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
        await asyncio.sleep(0.3)  # nothing more comes
        for batch in (await consumer.getmany(timeout_ms=200)).values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records


# --- (a) the Kafka topic -------------------------------------------------------------------------------------------


async def test_the_kafka_topic_announces_each_changed_cell_as_a_suppressed_non_personal_cloudevent(
    databases: DatabaseFactory, topics: KafkaSettings, tokens: Tokens
):
    generated = list(generate(200, seed=5))
    by_hand: list[EventData] = [
        *(household(ADA, "F") for _ in range(3)),  # 3 households, 3 persons: "<5" both
        *(household(RUMA, "F", "M") for _ in range(7)),  # 7 households, 14 persons
    ]
    events = generated + by_hand
    sent = await publish(events, topics, seed=5)
    assert sent == len(events)
    url = await databases.url_for("reporting")
    async with running_service("reporting", database_url=url, kafka=topics, tokens=tokens) as reporting:
        applied = sum(1 for e in events if isinstance(e, APPLIED))
        await eventually(lambda: reporting.count(plumbing.processed_events), lambda n: n == applied, timeout_s=WAIT_S)
        await eventually(lambda: reporting.count(feed.PENDING), lambda n: n == 0, timeout_s=WAIT_S)  # rounds done
        await eventually(lambda: unpublished(reporting), lambda n: n == 0, timeout_s=WAIT_S)
        announced = await feed_rows(reporting)
        records = await read_topic_as_a_subscriber(topics, len(announced))

        # Every announcement reached the topic once, as a CloudEvent in binary mode, keyed by its municipality.
        assert len(records) == len(announced) > 20
        received: list[IndicatorsUpdatedV1] = []
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            assert set(headers) <= {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"} | {
                "content-type",
                "ce_correlationid",
                "ce_causationid",
            }, headers
            envelope = Envelope.from_record(list(record.headers), record.value)
            assert (headers["ce_specversion"], envelope.type, envelope.source) == ("1.0", TYPE, "/oslonac/reporting")
            assert headers["content-type"].startswith("application/json")
            event = decode_event(envelope.type, envelope.data)
            assert isinstance(event, IndicatorsUpdatedV1)
            assert record.key == event.municipality_code.encode() and envelope.subject == event.municipality_code
            assert set(envelope.data) == DATA_KEYS
            assert event.district == municipalities.get(event.municipality_code).district  # type: ignore[union-attr]
            assert set(event.indicators) == set(HEADLINE)
            assert all(v in (SUPPRESSED, 0) or (isinstance(v, int) and v >= 5) for v in event.indicators.values())
            received.append(event)
        assert sorted(json.dumps(e.to_data(), sort_keys=True) for e in received) == sorted(
            json.dumps(data, sort_keys=True) for _seq, data in announced
        )

        # Nothing personal: only the fields and counts checked above, and no id of a household, person, case...
        ids = {found for e in events for found in UUID_TEXT.findall(e.model_dump_json().encode())}
        for record in records:
            raw = record.value + b"".join(k.encode() + v for k, v in record.headers)
            assert not ids & set(UUID_TEXT.findall(raw))

        # The last announcement of a cell holds what an analyst reads for it now (records of one key keep order).
        latest: dict[tuple[str, str], IndicatorsUpdatedV1] = {}
        for event in received:
            latest[(event.municipality_code, event.month)] = event
        cells = sorted(latest)
        sample = {(ADA, "2026-09"), (RUMA, "2026-09"), *cells[:: max(1, len(cells) // 12)]}
        for municipality, month in sorted(sample):
            assert latest[(municipality, month)].indicators == await api_values(reporting, municipality, month), (
                municipality,
                month,
            )
        assert latest[(ADA, "2026-09")].indicators["households_registered"] == SUPPRESSED
        assert latest[(ADA, "2026-09")].indicators["persons_registered"] == SUPPRESSED
        assert latest[(RUMA, "2026-09")].indicators["households_registered"] == 7
        assert latest[(RUMA, "2026-09")].indicators["persons_registered"] == 14
        # The stream's cases, referrals and placements were announced too, not only registrations.
        for name in HEADLINE:
            assert any(e.indicators[name] != 0 for e in received), name


@pytest.mark.parametrize("databases", ["postgresql"], indirect=True)  # SQLite runs one transaction at a time
async def test_a_cell_a_batch_changes_while_a_round_announces_it_stays_pending_for_the_next_round(
    databases: DatabaseFactory,
):
    """A round takes its cells (``SELECT … FOR UPDATE``), counts them, announces them and deletes them. A batch that
    changes one of them meanwhile commits facts the round's counts did not see: its mark must outlive the round's
    delete, or the cell's last announcement stays behind what an analyst reads."""
    engine = create_engine(await databases.url_for("reporting"))
    sessions = session_factory(engine)
    cell = (ADA, 2026 * 12 + 8)
    try:
        async with unit_of_work(sessions) as session:
            await feed.mark_pending(session, [cell])

        async def a_batch_marks_the_cell() -> None:
            async with unit_of_work(sessions) as session:
                await feed.mark_pending(session, [cell])

        async with sessions() as round_, round_.begin():
            taken = (await round_.execute(select(feed.PENDING).with_for_update(skip_locked=True))).all()
            assert len(taken) == 1
            batch = asyncio.create_task(a_batch_marks_the_cell())
            # The batch either waits for the round's lock or has already finished (it did not wait: the bug).
            await eventually(lambda: waits_for_a_lock(sessions), lambda held: held or batch.done(), timeout_s=WAIT_S)
            await round_.execute(delete(feed.PENDING))
        await asyncio.wait_for(batch, timeout=WAIT_S)

        async with sessions() as session:
            assert (await session.execute(select(feed.PENDING.c.municipality_code, feed.PENDING.c.ym))).all() == [cell]
    finally:
        await engine.dispose()


async def waits_for_a_lock(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether a connection to this database waits for a lock (the batch, on the round's). Asked in a transaction
    of its own: a transaction sees the activity as it was when it first looked."""
    stmt = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    async with sessions() as session:
        return bool((await session.execute(stmt)).scalar_one())


# --- (b) Server-Sent Events ----------------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # leave the signals to pytest
        yield


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` (its lifespan already running) served by uvicorn on 127.0.0.1 and a free port, in this loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = _Server(uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT_S):
            while not server.started:
                assert not task.done(), task.result()
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, timeout=WAIT_S)
        sock.close()


@dataclass
class Sse:
    id: str | None
    event: str | None
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class Stream:
    """One SSE connection, read block by block (comments and the ``retry`` block skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> Sse:
        fields: dict[str, str] = {}
        async with asyncio.timeout(WAIT_S):
            async for line in self._lines:
                if line == "":
                    if "data" in fields or "event" in fields:
                        return Sse(fields.get("id"), fields.get("event"), fields.get("data", ""))
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                fields[name] = f"{fields['data']}\n{value}" if name == "data" and "data" in fields else value
        raise AssertionError("the stream ended")

    async def take(self, n: int) -> list[Sse]:
        return [await self.next() for _ in range(n)]


@contextlib.asynccontextmanager
async def stream(
    base_url: str, token: str, *, last_event_id: str | None = None, **params: str
) -> AsyncIterator[Stream]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(WAIT_S)) as client,
        client.stream("GET", "/reporting/api/indicators/stream", headers=headers, params=params) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


@pytest.fixture
async def reporting(databases: DatabaseFactory, topics: KafkaSettings, tokens: Tokens) -> AsyncIterator[RunningService]:
    """Reporting with its relay (announcements reach the topic); events are handed to its consumer directly."""
    url = await databases.url_for("reporting")
    async with running_service(
        "reporting", database_url=url, kafka=topics, tokens=tokens, run_consumer=False, feed_interval_s=3600.0
    ) as r:
        yield r


async def changes(reporting: RunningService, *events: EventData) -> list[tuple[int, dict[str, Any]]]:
    """Apply ``events`` as one batch; the announcements it made."""
    before = await feed_rows(reporting)
    after = before[-1][0] if before else 0
    await deliver(reporting, *events)
    await announcement_round(reporting)
    return await feed_rows(reporting, after)


async def announcement_round(reporting: RunningService) -> None:
    """What the service does every ``feed_interval_s`` (here: on the test's cue)."""
    async with unit_of_work(reporting.runtime.sessions) as session:
        await feed.announce_pending(session, reporting.runtime.outbox, utcnow())


async def test_the_stream_sends_each_announcement_once_and_resumes_after_the_last_event_id(
    reporting: RunningService, topics: KafkaSettings, tokens: Tokens
):
    token = tokens.token("analyst")
    before = await changes(reporting, household(RUMA, "F"))
    assert len(before) == 1
    async with served(reporting.app) as base_url:
        async with stream(base_url, token) as live:
            await asyncio.sleep(0.5)  # connected: a new client is sent what happens from now on, not the past
            first = await changes(reporting, *(household(RUMA, "F", "M") for _ in range(6)), household(ADA, "F"))
            second = await changes(reporting, household(NOVI_SAD, "M"), household(RUMA, "M"))
            seen = await live.take(len(first) + len(second))
        assert len(first) == len(second) == 2
        assert [s.event for s in seen] == ["indicators.updated"] * len(seen)
        assert [int(s.id or 0) for s in seen] == [seq for seq, _ in first + second]  # increasing, none missing
        assert [s.json for s in seen] == [data for _, data in first + second]
        ruma = seen[0].json if seen[0].json["municipality_code"] == RUMA else seen[1].json
        assert ruma["indicators"]["households_registered"] == 7 and ruma["indicators"]["persons_registered"] == 13
        ada = next(s.json for s in seen if s.json["municipality_code"] == ADA)
        assert ada["indicators"]["households_registered"] == SUPPRESSED

        # Away for a while. Ada reaches 5 households (announced); Novi Sad goes from 1 to 2, still "<5" to an
        # analyst (nothing to announce); Ruma gets its first household of August (a new cell).
        missed = await changes(reporting, *(household(ADA, "M") for _ in range(4)), household(NOVI_SAD, "F"))
        missed += await changes(reporting, household(RUMA, "F", at=SEPTEMBER - timedelta(days=40)))
        assert [(d["municipality_code"], d["month"]) for _, d in missed] == [(ADA, "2026-09"), (RUMA, "2026-08")]
        async with stream(base_url, token, last_event_id=seen[-1].id) as resumed:
            got = await resumed.take(len(missed))
            assert [(int(s.id or 0), s.json) for s in got] == missed
            # ...and then what happens next, with nothing repeated in between.
            later = await changes(reporting, household(ADA, "F"))
            assert [(int(s.id or 0), s.json) for s in await resumed.take(1)] == later
        # ?since= resumes the same way, for clients that cannot set headers; a municipality filter narrows it.
        async with stream(base_url, token, since=seen[-1].id or "", municipality=ADA) as filtered:
            got = await filtered.take(2)
            assert [s.json["municipality_code"] for s in got] == [ADA, ADA]
            assert [int(s.id or 0) for s in got] == [seq for seq, d in missed + later if d["municipality_code"] == ADA]

    # The stream's data is what the Kafka topic carries.
    announced = await feed_rows(reporting)
    await eventually(lambda: unpublished(reporting), lambda n: n == 0, timeout_s=WAIT_S)
    records = await read_topic_as_a_subscriber(topics, len(announced))
    on_kafka = sorted(json.dumps(Envelope.from_record(list(r.headers), r.value).data, sort_keys=True) for r in records)
    assert on_kafka == sorted(json.dumps(d, sort_keys=True) for _, d in announced)


async def test_a_client_away_longer_than_the_feed_is_kept_is_told_to_reset(reporting: RunningService, tokens: Tokens):
    old = await changes(reporting, household(ADA, "F"), household(RUMA, "M"))
    await asyncio.sleep(0.05)
    kept = await changes(reporting, household(NOVI_SAD, "F"))
    async with unit_of_work(reporting.runtime.sessions) as session:
        oldest_kept_at = await session.scalar(select(func.min(FEED.c.at)).where(FEED.c.seq > old[-1][0]))
        assert oldest_kept_at is not None
        assert await feed.prune(session, now=oldest_kept_at, keep=timedelta(0)) == len(old)
    async with served(reporting.app) as base_url:
        async with stream(base_url, tokens.token("analyst"), last_event_id=str(old[0][0] - 1)) as away:
            reset, *rest = await away.take(1 + len(kept))
        assert reset.event == "reset" and reset.json == {}
        assert int(reset.id or 0) == kept[0][0] - 1
        assert [(int(s.id or 0), s.json) for s in rest] == kept
        # A client that is up to date is not reset.
        async with stream(base_url, tokens.token("analyst"), last_event_id=str(kept[-1][0])) as current:
            later = await changes(reporting, household(ADA, "M"))
            assert [(int(s.id or 0), s.event) for s in await current.take(1)] == [(later[0][0], "indicators.updated")]


async def test_a_bad_last_event_id_is_422_and_only_readers_of_aggregates_may_listen(reporting: RunningService):
    path = "/reporting/api/indicators/stream"
    r = await reporting.client.get(path, headers={**reporting.auth("analyst"), "Last-Event-ID": "yesterday"})
    assert r.status_code == 422, r.text
    assert "Last-Event-ID" in r.text
    r = await reporting.client.get(path, params={"since": "-1"}, headers=reporting.auth("analyst"))
    assert r.status_code == 422
    r = await reporting.client.get(path, params={"municipality": "ADA"}, headers=reporting.auth("analyst"))
    assert r.status_code == 422
    assert (await reporting.client.get(path, headers=reporting.auth("employer"))).status_code == 403
    assert (await reporting.client.get(path)).status_code == 401
