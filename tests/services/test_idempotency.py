"""Idempotency-Key on creating POSTs, on SQLite and PostgreSQL: a retried request with the same key creates nothing
twice and gets the first answer again, even when that answer was lost after the commit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from starlette.types import Message, Receive, Scope, Send

from services.intake.models import Household, ImportJob, plumbing
from shared.db import utcnow
from shared.events import PersonErasedV1
from shared.idempotency import IdempotentRequest
from shared.settings import KafkaSettings
from tests.fixtures.activation import forum, opportunity_body, organisation
from tests.fixtures.auth import ADA, Tokens
from tests.fixtures.cases import API, active_case, create_provider, member, needs, register_worker
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver
from tests.fixtures.services import RunningService, running_service

OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")
HOUSEHOLDS = "/intake/api/households"
KEYS = plumbing.idempotency_keys


def household(given_name: str = "Jelena") -> dict[str, Any]:
    member = {
        "given_name": given_name,
        "family_name": "Đorđević",
        "birth_date": "1984-03-07",
        "sex": "F",
        "missing_jmbg_reason": "not_known",
    }
    return {"municipality_code": ADA, "members": [member]}


@pytest.fixture
async def intake(databases: DatabaseFactory, tokens: Tokens):  # type: ignore[no-untyped-def]
    url = await databases.url_for("intake")
    async with running_service(
        "intake", database_url=url, kafka=OFFLINE, tokens=tokens, run_relay=False, run_consumer=False
    ) as running:
        yield running


async def register(intake: RunningService, key: str | None, body: dict[str, Any], user: str = "worker") -> Any:
    headers = intake.auth(user) | ({"Idempotency-Key": key} if key is not None else {})
    return await intake.client.post(HOUSEHOLDS, json=body, headers=headers)


async def households(intake: RunningService) -> int:
    return await intake.count(Household.__table__)


async def test_the_same_key_and_body_register_one_household_and_replay_the_first_answer(intake: RunningService):
    first = await register(intake, "reg-1", household())
    again = await register(intake, "reg-1", household())
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert await households(intake) == 1
    assert await intake.count(plumbing.outbox) == 1  # one event too


async def test_without_a_key_each_request_registers(intake: RunningService):
    for _ in range(2):
        assert (await register(intake, None, household())).status_code == 201
    assert await households(intake) == 2


async def test_the_same_key_with_another_body_is_refused(intake: RunningService):
    assert (await register(intake, "reg-2", household("Jelena"))).status_code == 201
    r = await register(intake, "reg-2", household("Milica"))
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert await households(intake) == 1


async def test_keys_belong_to_their_user(intake: RunningService):
    assert (await register(intake, "shared-key", household(), user="worker")).status_code == 201
    other = await register(intake, "shared-key", household(), user="worker-ada")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert await households(intake) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "ključ", "tab\there", "nul\x00"])
async def test_a_malformed_key_is_refused_and_nothing_is_written(intake: RunningService, key: str):
    headers = [*intake.auth("worker").items(), ("Idempotency-Key", key)]
    raw = [(n.encode(), v.encode()) for n, v in headers]
    r = await intake.client.post(HOUSEHOLDS, json=household(), headers=raw)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json" and "x-correlation-id" in r.headers
    assert r.json()["code"] == "idempotency_key_invalid"
    assert await households(intake) == 0


async def test_two_keys_in_one_request_are_refused(intake: RunningService):
    raw = [(b"Idempotency-Key", b"a"), (b"Idempotency-Key", b"b")]
    headers = [(n.encode(), v.encode()) for n, v in intake.auth("worker").items()] + raw
    r = await intake.client.post(HOUSEHOLDS, json=household(), headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_invalid"
    assert await households(intake) == 0


async def test_an_unauthenticated_request_with_a_key_is_refused_as_before(intake: RunningService):
    r = await intake.client.post(HOUSEHOLDS, json=household(), headers={"Idempotency-Key": "k"})
    assert r.status_code == 401
    assert await households(intake) == 0


async def test_concurrent_duplicates_register_one_household(intake: RunningService):
    answers = await asyncio.gather(*(register(intake, "at-once", household()) for _ in range(6)))
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses, [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_request_in_progress"
    assert len({r.json()["id"] for r in answers if r.status_code == 201}) == 1
    assert await households(intake) == 1
    # Once the first has committed, a retry gets its answer.
    retry = await register(intake, "at-once", household())
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"


class LostResponse(ConnectionResetError):
    pass


def losing_the_response(app: Any) -> Any:
    """The app as reached over a connection that breaks just before the answer goes out (after the commit)."""

    async def lossy(scope: Scope, receive: Receive, send: Send) -> None:
        async def broken(message: Message) -> None:
            if message["type"] == "http.response.start":
                raise LostResponse("the client went away")
            await send(message)

        await app(scope, receive, broken)

    return lossy


async def test_a_retry_after_a_lost_answer_replays_it_and_registers_nothing_more(intake: RunningService):
    transport = httpx.ASGITransport(app=losing_the_response(intake.app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as lossy:
        with pytest.raises(LostResponse):
            await lossy.post(HOUSEHOLDS, json=household(), headers=intake.auth("worker") | {"Idempotency-Key": "lost"})
    assert await households(intake) == 1  # it was committed, the client just never heard
    retry = await register(intake, "lost", household())
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert await households(intake) == 1


async def test_a_request_cancelled_after_the_commit_is_replayed(intake: RunningService):
    committed = asyncio.Event()
    original = IdempotentRequest.commit

    async def commit_then_hang(self: IdempotentRequest, answer: Any) -> None:
        await original(self, answer)
        committed.set()
        await asyncio.Event().wait()  # the process dies here: the answer never leaves

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IdempotentRequest, "commit", commit_then_hang)
        request = asyncio.create_task(register(intake, "cancelled", household()))
        await asyncio.wait_for(committed.wait(), 30)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
    assert await households(intake) == 1
    retry = await register(intake, "cancelled", household())
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert await households(intake) == 1


async def test_when_the_answer_cannot_be_stored_nothing_is_saved(intake: RunningService):
    async def failing(self: IdempotentRequest, answer: Any) -> None:
        assert self.kept is not None
        kept, self.kept = self.kept, None
        async with kept:
            raise OSError("the database went away")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IdempotentRequest, "commit", failing)
        r = await register(intake, "fails", household())
    assert r.status_code == 503 and r.json()["code"] == "unavailable"
    assert await households(intake) == 0 and await intake.count(KEYS) == 0
    retry = await register(intake, "fails", household())
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert await households(intake) == 1


async def test_a_refused_request_keeps_no_key(intake: RunningService):
    bad = household()
    bad["municipality_code"] = "99999"
    r = await register(intake, "refused", bad)
    assert r.status_code in (403, 422), r.text
    assert await intake.count(KEYS) == 0
    # The key is free for the corrected request.
    assert (await register(intake, "refused", household())).status_code == 201


async def test_an_expired_key_is_forgotten_and_purged(intake: RunningService):
    assert (await register(intake, "old", household("Jelena"))).status_code == 201
    assert (await register(intake, "other-old", household("Ana"))).status_code == 201
    async with intake.runtime.sessions() as session, session.begin():
        await session.execute(update(KEYS).values(expires_at=utcnow() - timedelta(seconds=1)))
    # Expired: the same key is a new request now, even with another body.
    r = await register(intake, "old", household("Milica"))
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert await households(intake) == 3
    async with intake.runtime.sessions() as session:
        left = (await session.execute(select(KEYS.c.key))).scalars().all()
    assert left == ["old"]  # the other expired key went with this claim


async def test_an_import_with_the_same_key_replays_its_first_answer(intake: RunningService):
    content = b"household_ref,municipality_code,given_name,family_name,birth_date,sex,missing_jmbg_reason\n"
    content += f"R1,{ADA},Ana,Ilic,1980-01-01,F,not_known\n".encode()

    async def upload(key: str, data: bytes) -> Any:
        files = {"file": ("mapping.csv", data, "text/csv")}
        return await intake.client.post(
            "/intake/api/imports", files=files, headers=intake.auth("worker") | {"Idempotency-Key": key}
        )

    first = await upload("import-1", content)
    assert first.status_code == 202, first.text
    again = await upload("import-1", content)  # a new multipart boundary, the same file
    # Without the key the same file gives 200 (the job found by its content): the 202 is the stored answer.
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = await upload("import-1", content + f"R2,{ADA},Mara,Ilic,1981-01-01,F,not_known\n".encode())
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert await intake.count(ImportJob.__table__) == 1


# --- cases ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def cases(databases: DatabaseFactory, tokens: Tokens):  # type: ignore[no-untyped-def]
    url = await databases.url_for("cases")
    async with running_service(
        "cases", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False
    ) as running:
        yield running


async def test_a_referral_with_the_same_key_is_made_once(cases: RunningService):
    await register_worker(cases, "worker", ADA)
    case = (await active_case(cases))["case"]
    provider = await create_provider(cases)
    url, body = f"{API}/cases/{case['id']}/referrals", {"provider_id": provider["id"]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await cases.client.post(url, json=body, headers=cases.auth("worker") | key)
    again = await cases.client.post(url, json=body, headers=cases.auth("worker") | key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    detail = await cases.client.get(f"{API}/cases/{case['id']}", headers=cases.auth("worker"))
    assert len(detail.json()["referrals"]) == 1
    # The same key on another case is another request: refused.
    other = (await active_case(cases))["case"]
    r = await cases.client.post(f"{API}/cases/{other['id']}/referrals", json=body, headers=cases.auth("worker") | key)
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"


async def test_erasing_a_person_erases_the_stored_answer_too(intake: RunningService):
    first = await register(intake, "erased", household("Jelena"))
    person_id = first.json()["members"][0]["id"]
    r = await intake.client.post(f"/intake/api/persons/{person_id}/erasure", headers=intake.auth("supervisor"))
    assert r.status_code == 200, r.text
    async with intake.runtime.sessions() as session:
        bodies = (await session.execute(select(KEYS.c.body))).scalars().all()
    assert bodies and not any("Jelena" in b or "Đorđević" in b for b in bodies)
    retry = await register(intake, "erased", household("Jelena"))
    assert retry.status_code == 410 and retry.json()["code"] == "idempotent_answer_erased"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await households(intake) == 1  # not registered again


async def test_a_persons_erasure_reaches_the_answers_cases_stored(cases: RunningService):
    await register_worker(cases, "worker", ADA)
    person = member(person_id=uuid.uuid4())
    case = (await active_case(cases, person))["case"]
    url, key = f"{API}/cases/{case['id']}/assessments", {"Idempotency-Key": "assessed"}
    first = await cases.client.post(url, json=needs(), headers=cases.auth("worker") | key)
    assert first.status_code == 201, first.text
    erased = PersonErasedV1(
        household_id=uuid.UUID(case["household_id"]), person_id=person.person_id, erased_at=utcnow()
    )
    await deliver(cases, erased)
    retry = await cases.client.post(url, json=needs(), headers=cases.auth("worker") | key)
    assert retry.status_code == 410 and retry.json()["code"] == "idempotent_answer_erased"


async def test_a_duplicate_while_the_first_is_in_progress(intake: RunningService, monkeypatch: pytest.MonkeyPatch):
    """PostgreSQL answers 409 at once; SQLite (one writer at a time) makes it wait and then replays."""
    from services.intake import service

    inside, release = asyncio.Event(), asyncio.Event()
    register_household = service.register_household

    async def slow(**arguments: Any) -> Any:
        inside.set()
        await release.wait()
        return await register_household(**arguments)

    monkeypatch.setattr(service, "register_household", slow)
    first = asyncio.create_task(register(intake, "slow", household()))
    await asyncio.wait_for(inside.wait(), 30)
    second = asyncio.create_task(register(intake, "slow", household()))
    if intake.runtime.engine.dialect.name == "postgresql":
        answer = await asyncio.wait_for(second, 30)
        assert answer.status_code == 409 and answer.json()["code"] == "idempotency_request_in_progress"
        release.set()
        assert (await first).status_code == 201
    else:
        await asyncio.sleep(0.1)  # lets the second reach the database lock; the outcome does not depend on it
        release.set()
        assert (await first).status_code == 201
        answer = await asyncio.wait_for(second, 30)
        assert answer.status_code == 201 and answer.headers["Idempotent-Replayed"] == "true"
    assert await households(intake) == 1


# --- activation -------------------------------------------------------------------------------------------------


async def test_an_opportunity_with_the_same_key_is_published_once(activation: RunningService):
    forum_id = (await forum(activation))["id"]
    await organisation(activation, forum_id)
    url, key = "/activation/api/opportunities", {"Idempotency-Key": str(uuid.uuid4())}
    body = opportunity_body(forum_id)
    first = await activation.client.post(url, json=body, headers=activation.auth("employer") | key)
    again = await activation.client.post(url, json=body, headers=activation.auth("employer") | key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    listed = await activation.client.get(url, headers=activation.auth("employer"))
    assert [o["id"] for o in listed.json()] == [first.json()["id"]]
