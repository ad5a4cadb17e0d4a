"""Bulk CSV import through intake's API on a real database (SQLite and PostgreSQL), the job running in the
service's own background runner; no broker (events stay in the outbox)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from services.intake import importing
from services.intake.domain import make_jmbg
from services.intake.importing import runner
from services.intake.models import Household, ImportedHousehold, ImportJob, Person, plumbing
from shared.events import HouseholdRegisteredV2, decode_event
from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, NOVI_SAD, RUMA, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.kafka_tools import eventually
from tests.fixtures.services import RunningService, running_service

OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")
JMBG_JELENA = make_jmbg(date(1984, 3, 7), "F", serial=101)
JMBG_BAD = JMBG_JELENA[:12] + str((int(JMBG_JELENA[12]) + 1) % 10)


def row(ref: str, given: str, family: str = "Petrovic", **values: str) -> dict[str, str]:
    return {
        "household_ref": ref,
        "municipality_code": ADA,
        "given_name": given,
        "family_name": family,
        "birth_date": "1980-01-01",
        "sex": "F",
        "missing_jmbg_reason": "not_known",
        **values,
    }


def csv_file(rows: list[dict[str, str]], *, bom: bool = True) -> bytes:
    columns = list(dict.fromkeys(c for r in rows for c in r))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r.get(c, "") for c in columns])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


# Row numbers in the file (header = 1): what the error report must list.
MIXED = [
    # 2, 3: Cyrillic household, imported
    row("ЦИР-1", "Јелена", "Ђорђевић", birth_date="07.03.1984", sex="Ж", jmbg=JMBG_JELENA, missing_jmbg_reason=""),
    row("ЦИР-1", "Марко", "Ђорђевић", birth_date="01.05.2010", sex="М", relation="child", able_to_work="не"),
    # 4: the first row of a household whose second row comes last (row 17)
    row("SPLIT", "Ana", "Ilic", settlement="Mol"),
    # 5, 6, 7: Latin without diacritics, with incomes, imported
    row("LAT-2", "Zoran", "Djordjevic", sex="M", municipality_code=RUMA, income_wages="30000", housing_type="rented"),
    row("LAT-2", "Snezana", "Djordjevic", municipality_code=RUMA, relation="spouse"),
    row("LAT-2", "Nikola", "Djordjevic", sex="M", birth_date="2012-02-02", municipality_code=RUMA, relation="child"),
    # 8, 9: a bad JMBG check digit on row 9
    row("BAD-JMBG", "Milica"),
    row("BAD-JMBG", "Jelena", birth_date="1984-03-07", jmbg=JMBG_BAD, missing_jmbg_reason=""),
    # 10: unknown municipality
    row("BAD-MUN", "Ivana", municipality_code="99999"),
    # 11: no given name
    row("NO-NAME", ""),
    # 12: impossible date
    row("BAD-DATE", "Dragana", birth_date="31.02.1990"),
    # 13, 14: the second row contradicts the first's settlement
    row("CONTRA", "Gordana", settlement="Mol"),
    row("CONTRA", "Nevena", settlement="Utrine"),
    # 15: a municipality the worker does not work for
    row("OTHER", "Marija", municipality_code=NOVI_SAD),
    # 16: imported, one person
    row("LAT-3", "Ljiljana", "Kovac"),
    # 17: second row of SPLIT
    row("SPLIT", "Stefan", "Ilic", sex="M", birth_date="2015-06-06"),
]
FAILED_ROWS = {8, 9, 10, 11, 12, 13, 14, 15}


@pytest.fixture
async def database(databases: DatabaseFactory) -> str:
    return await databases.url_for("intake")


@pytest.fixture
async def intake(database: str, tokens: Tokens):
    async with running_service(
        "intake", database_url=database, kafka=OFFLINE, tokens=tokens, run_relay=False, run_consumer=False
    ) as running:
        yield running


async def upload(intake: RunningService, content: bytes, *, user: str = "worker", name: str = "mapping.csv") -> Any:
    return await intake.client.post(
        "/intake/api/imports", files={"file": (name, content, "text/csv")}, headers=intake.auth(user)
    )


async def finished(intake: RunningService, job_id: str, *, user: str = "worker") -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        r = await intake.client.get(f"/intake/api/imports/{job_id}", headers=intake.auth(user))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    return await eventually(probe, lambda job: job["status"] in ("done", "failed"), timeout_s=30)


async def error_report(intake: RunningService, job_id: str, *, user: str = "worker") -> list[dict[str, str]]:
    r = await intake.client.get(f"/intake/api/imports/{job_id}/errors.csv", headers=intake.auth(user))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


async def registered_events(intake: RunningService) -> list[HouseholdRegisteredV2]:
    async with intake.runtime.sessions() as session:
        rows = (await session.execute(select(plumbing.outbox.c.headers, plumbing.outbox.c.payload))).all()
    events = [decode_event(dict(headers)["ce_type"], json.loads(payload)) for headers, payload in rows]
    assert all(isinstance(e, HouseholdRegisteredV2) for e in events)
    return events  # type: ignore[return-value]


async def test_a_mixed_file_imports_the_valid_households_and_reports_the_bad_rows(intake: RunningService):
    r = await upload(intake, csv_file(MIXED))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["total"] == 16
    job = await finished(intake, r.json()["id"])
    assert job["status"] == "done", job
    assert (job["total"], job["done"], job["imported"], job["failed"], job["skipped"]) == (16, 16, 8, 8, 0)
    assert job["households"] == 4 and job["percent"] == 100.0 and job["eta_s"] == 0.0
    assert job["rate_rows_per_s"] > 0

    assert await intake.count(Household.__table__) == 4
    assert await intake.count(Person.__table__) == 8
    assert await intake.count(ImportedHousehold.__table__) == 4
    events = await registered_events(intake)
    assert sorted(len(e.members) for e in events) == [1, 2, 2, 3]
    assert {e.municipality_code for e in events} == {ADA, RUMA}

    report = await error_report(intake, r.json()["id"])
    assert [int(line["row_number"]) for line in report] == sorted(FAILED_ROWS)
    by_row = {int(line["row_number"]): line for line in report}
    assert "check digit" in by_row[9]["message"] and by_row[9]["column"] == "jmbg"
    assert "another row of this household has an error (row 9)" in by_row[8]["message"]
    assert "99999 is not a known code" in by_row[10]["message"]
    assert by_row[11]["column"] == "given_name" and "required" in by_row[11]["message"]
    assert "'31.02.1990' is not a valid date" in by_row[12]["message"]
    assert by_row[14]["column"] == "settlement" and "contradicts" in by_row[14]["message"]
    assert "another row" in by_row[13]["message"]
    assert "not among your municipalities" in by_row[15]["message"]
    # The row as uploaded follows the reason, so the report can be corrected and uploaded again.
    assert by_row[12]["household_ref"] == "BAD-DATE" and by_row[12]["birth_date"] == "31.02.1990"

    # Names in either script find each other: the Cyrillic and the Latin household are both Đorđević.
    r = await intake.client.get("/intake/api/households", params={"q": "Đorđević"}, headers=intake.auth("worker"))
    assert r.json()["total"] == 2
    split = await intake.client.get("/intake/api/households", params={"q": "Ilic"}, headers=intake.auth("worker"))
    assert [h["size"] for h in split.json()["results"]] == [2]


async def test_the_same_file_again_returns_the_same_job_and_registers_nothing(intake: RunningService):
    content = csv_file(MIXED)
    first = await upload(intake, content)
    await finished(intake, first.json()["id"])
    again = await upload(intake, content, name="renamed.csv")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert await intake.count(ImportJob.__table__) == 1
    assert await intake.count(Household.__table__) == 4
    listed = await intake.client.get("/intake/api/imports", headers=intake.auth("worker"))
    assert [j["id"] for j in listed.json()] == [first.json()["id"]]


async def test_a_second_file_reusing_references_skips_those_households(intake: RunningService):
    first = await upload(intake, csv_file(MIXED))
    await finished(intake, first.json()["id"])
    second_rows = [
        row("LAT-3", "Ljiljana", "Kovac", settlement="Changed"),  # imported before: skipped, not updated
        row("BAD-DATE", "Dragana", birth_date="28.02.1990"),  # failed before, corrected now
        row("NEW-1", "Jovan", sex="M"),
    ]
    r = await upload(intake, csv_file(second_rows, bom=False))
    assert r.status_code == 202
    job = await finished(intake, r.json()["id"])
    assert (job["done"], job["imported"], job["skipped"], job["failed"], job["households"]) == (3, 2, 1, 0, 2)
    assert await intake.count(Household.__table__) == 6
    assert await intake.count(Household.__table__, Household.settlement == "Changed") == 0
    assert await error_report(intake, r.json()["id"]) == []

    listed = await intake.client.get("/intake/api/imports", headers=intake.auth("worker"))
    assert [j["id"] for j in listed.json()] == [r.json()["id"], first.json()["id"]]


async def test_the_corrected_error_report_can_be_uploaded_as_it_is(intake: RunningService):
    first = await upload(intake, csv_file(MIXED))
    await finished(intake, first.json()["id"])
    r = await intake.client.get(f"/intake/api/imports/{first.json()['id']}/errors.csv", headers=intake.auth("worker"))
    corrected = r.content.decode("utf-8-sig").replace("31.02.1990", "28.02.1990").encode()
    second = await upload(intake, corrected, name="errors-fixed.csv")
    assert second.status_code == 202, second.text
    job = await finished(intake, second.json()["id"])
    assert (job["imported"], job["failed"], job["households"]) == (1, 7, 1)


async def test_registered_jmbgs_are_row_errors_that_say_where_only_within_the_scope(intake: RunningService):
    here = make_jmbg(date(1970, 1, 1), "F", serial=5)
    elsewhere = make_jmbg(date(1971, 1, 1), "F", serial=6)
    for code, jmbg, user in ((ADA, here, "worker"), (NOVI_SAD, elsewhere, "worker-ns")):
        body = {
            "municipality_code": code,
            "members": [
                {"given_name": "A", "family_name": "B", "birth_date": jmbg_date(jmbg), "sex": "F", "jmbg": jmbg}
            ],
        }
        created = await intake.client.post("/intake/api/households", json=body, headers=intake.auth(user))
        assert created.status_code == 201, created.text
        if code == ADA:
            household_id = created.json()["id"]
    rows = [
        row("J-1", "Ana", birth_date=jmbg_date(here), jmbg=here, missing_jmbg_reason=""),
        row("J-2", "Ana", birth_date=jmbg_date(elsewhere), jmbg=elsewhere, missing_jmbg_reason=""),
    ]
    r = await upload(intake, csv_file(rows))
    job = await finished(intake, r.json()["id"])
    assert (job["imported"], job["failed"]) == (0, 2)
    report = {line["household_ref"]: line["message"] for line in await error_report(intake, r.json()["id"])}
    assert report["J-1"] == f"jmbg: this JMBG is already registered in household {household_id}"
    assert report["J-2"] == "jmbg: this JMBG is already registered in another municipality (ask its office)"


def jmbg_date(jmbg: str) -> str:
    return f"{1000 + int(jmbg[4:7])}-{jmbg[2:4]}-{jmbg[0:2]}"


async def test_an_interrupted_job_is_finished_by_the_next_runtime_without_duplicates(
    database: str, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 4)
    rows = [row(f"R-{i // 2}", f"Person{i}", birth_date=f"19{50 + i}-01-01") for i in range(20)]  # 10 households
    real_store = runner.store_chunk
    calls = 0

    async def crash_after_two_chunks(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise asyncio.CancelledError  # as if the process stopped in the middle of the job
        await real_store(*args, **kwargs)

    monkeypatch.setattr(runner, "store_chunk", crash_after_two_chunks)
    settings: dict[str, Any] = {"kafka": OFFLINE, "tokens": tokens, "run_relay": False, "run_consumer": False}
    async with running_service("intake", database_url=database, **settings) as first:
        r = await upload(first, csv_file(rows))
        job_id = r.json()["id"]

        async def progress() -> dict[str, Any]:
            body: dict[str, Any] = (
                await first.client.get(f"/intake/api/imports/{job_id}", headers=first.auth("worker"))
            ).json()
            return body

        half = await eventually(progress, lambda job: job["done"] == 8 and calls > 2)
        assert half["status"] == "running" and half["households"] == 4
    monkeypatch.setattr(runner, "store_chunk", real_store)

    async with running_service("intake", database_url=database, **settings) as second:
        job = await finished(second, job_id)
        assert job["status"] == "done"
        assert (job["done"], job["imported"], job["skipped"], job["failed"], job["households"]) == (20, 20, 0, 0, 10)
        assert await second.count(Household.__table__) == 10
        assert await second.count(Person.__table__) == 20
        assert await second.count(ImportedHousehold.__table__) == 10
        assert len(await registered_events(second)) == 10


async def test_access_follows_roles_and_scope(intake: RunningService):
    content = csv_file([row("A-1", "Ana")])
    for user in ("employer", "analyst"):
        assert (await upload(intake, content, user=user)).status_code == 403
        r = await intake.client.get("/intake/api/imports", headers=intake.auth(user))
        assert r.status_code == 403
        template = await intake.client.get("/intake/api/imports/template.csv", headers=intake.auth(user))
        assert template.status_code == 403
    assert (await intake.client.post("/intake/api/imports", files={"file": ("a.csv", content)})).status_code == 401

    job_id = (await upload(intake, content)).json()["id"]
    await finished(intake, job_id)
    for user, allowed in (("worker", True), ("supervisor", True), ("admin", True), ("worker-ns", False)):
        r = await intake.client.get(f"/intake/api/imports/{job_id}", headers=intake.auth(user))
        assert r.status_code == (200 if allowed else 403), user
        r = await intake.client.get(f"/intake/api/imports/{job_id}/errors.csv", headers=intake.auth(user))
        assert r.status_code == (200 if allowed else 403), user
        listed = await intake.client.get("/intake/api/imports", headers=intake.auth(user))
        assert [j["id"] for j in listed.json()] == ([job_id] if allowed else []), user
    # Novi Sad's worker imports the same file: the Ada row is an error for them, and nothing is registered twice.
    other = await upload(intake, content, user="worker-ns")
    assert other.status_code == 202 and other.json()["id"] != job_id
    job = await finished(intake, other.json()["id"], user="worker-ns")
    assert (job["failed"], job["households"]) == (1, 0)
    assert await intake.count(Household.__table__) == 1


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"household_ref,given_name\nA,Ana\n", 422, "lacks required columns: municipality_code"),
        ("ime;prezime;Đ\n".encode("cp1250"), 422, "not UTF-8"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe", 422, "not UTF-8"),
        (",".join([*row("A", "Ana"), "favourite_colour"]).encode() + b"\n", 422, "Unknown columns: favourite_colour"),
    ],
)
async def test_files_that_cannot_be_imported_are_refused_at_once(
    intake: RunningService, content: bytes, status: int, words: str
):
    r = await upload(intake, content)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert await intake.count(ImportJob.__table__) == 0


async def test_a_file_over_the_limit_is_a_413(intake: RunningService, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(importing, "MAX_BYTES", 200)
    r = await upload(intake, csv_file([row(f"A-{i}", "Ana") for i in range(10)]))
    assert r.status_code == 413
    assert await intake.count(ImportJob.__table__) == 0


async def test_the_template_downloads_and_imports(intake: RunningService):
    r = await intake.client.get("/intake/api/imports/template.csv", headers=intake.auth("worker"))
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    job = await finished(intake, (await upload(intake, r.content, name="template.csv")).json()["id"])
    assert (job["imported"], job["failed"], job["households"]) == (2, 0, 1)
    found = await intake.client.get("/intake/api/households", params={"q": "Djordjevic"}, headers=intake.auth("worker"))
    assert found.json()["results"][0]["members"] == ["Јелена Ђорђевић", "Marko Djordjevic"]


async def test_a_bug_while_validating_fails_the_job_instead_of_retrying_it(
    intake: RunningService, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(runner, "CHUNK_ROWS", 2)
    real_check = runner.check_household

    def broken_on_the_third_household(group: runner.Group, ctx: runner.FileContext) -> runner.Checked:
        if group.ref == "B-3":
            raise RuntimeError("boom")
        return real_check(group, ctx)

    monkeypatch.setattr(runner, "check_household", broken_on_the_third_household)
    r = await upload(intake, csv_file([row(f"B-{i}", "Ana") for i in range(1, 6)]))
    job = await finished(intake, r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"] == "internal error at row 4: RuntimeError('boom')"
    assert (job["done"], job["households"]) == (2, 2)
    assert await intake.count(Household.__table__) == 2
