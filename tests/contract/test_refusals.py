"""What the fuzzing found, pinned: errors are problem+json, huge offsets are 422s, invisible names and search
terms without a letter or digit are refused (API and CSV import), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.settings import KafkaSettings
from tests.fixtures.auth import ADA, Tokens
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.services import RunningService, running_service
from tests.services.test_intake_import import csv_file, error_report, finished, row, upload

OFFLINE = KafkaSettings(bootstrap_servers="127.0.0.1:9")
PROBLEM = "application/problem+json"
# NUL, zero-width space, a right-to-left mark, the right-to-left override, a BOM, only spaces, only digits.
BAD_NAMES = ["Ana\x00", "\u200b", "\u200f\u200f", "Ana\u202e", "\ufeffAna", "   ", "1234", "\u3164", "Ana\nMarija"]


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] == f"https://oslonac.rs/problems/{code}" and body["title"] and body["detail"], body
    return body


@pytest.fixture
async def service(request: pytest.FixtureRequest, databases: DatabaseFactory, tokens: Tokens) -> AsyncIterator[Any]:
    name = request.param
    url = await databases.url_for(name)
    async with running_service(
        name, database_url=url, kafka=OFFLINE, tokens=tokens, run_relay=False, run_consumer=False
    ) as running:
        yield running


def person(**values: Any) -> dict[str, Any]:
    return {
        "given_name": "Ana",
        "family_name": "Ilić",
        "birth_date": "1990-01-01",
        "sex": "F",
        "missing_jmbg_reason": "not_known",
        **values,
    }


@pytest.mark.parametrize("service", ["intake", "cases", "activation"], indirect=True)
async def test_an_offset_past_any_list_is_a_422_on_every_list(service: RunningService):
    name = service.runtime.settings.service
    document = (await service.client.get(f"/{name}/openapi.json")).json()
    lists = [
        path
        for path, operations in document["paths"].items()
        if any(p["name"] == "offset" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert lists, "no list takes an offset"
    for path in lists:
        r = await service.client.get(path, params={"offset": 2**63}, headers=service.auth("admin"))
        body = problem(r, 422, "invalid")
        assert body["errors"][0]["loc"] == ["query", "offset"], body
        assert "422" in document["paths"][path]["get"]["responses"]
        ok = await service.client.get(path, params={"offset": 10_000_000}, headers=service.auth("admin"))
        assert ok.status_code == 200, (path, ok.text)


@pytest.mark.parametrize("service", ["intake"], indirect=True)
async def test_a_name_without_a_letter_or_with_invisible_characters_is_refused(service: RunningService):
    for name in BAD_NAMES:
        household = {"municipality_code": ADA, "members": [person(), person(family_name=name)]}
        r = await service.client.post("/intake/api/households", json=household, headers=service.auth("worker"))
        body = problem(r, 422, "invalid")
        assert body["errors"][0]["loc"] == ["body", "members", 1, "family_name"], (name, body)
        assert "family_name" in body["detail"]
    r = await service.client.get("/intake/api/households", headers=service.auth("worker"))
    assert r.json()["total"] == 0


@pytest.mark.parametrize("service", ["intake"], indirect=True)
async def test_names_are_stripped_and_other_spaces_become_plain_ones(service: RunningService):
    household = {"municipality_code": ADA, "members": [person(given_name="  Ana\u00a0Marija ", family_name="Đorđević")]}
    r = await service.client.post("/intake/api/households", json=household, headers=service.auth("worker"))
    assert r.status_code == 201, r.text
    assert r.json()["members"][0]["given_name"] == "Ana Marija"


@pytest.mark.parametrize("service", ["intake"], indirect=True)
async def test_a_search_term_needs_a_letter_or_a_digit(service: RunningService):
    household = {"municipality_code": ADA, "members": [person()]}
    assert (
        await service.client.post("/intake/api/households", json=household, headers=service.auth("worker"))
    ).is_success
    for term in ["😀", "!!", "---", "\u200b", "Ana\x00"]:
        r = await service.client.get("/intake/api/households", params={"q": term}, headers=service.auth("worker"))
        assert problem(r, 422, "invalid")["errors"][0]["loc"] == ["query", "q"]
    for term, found in [("Ana", 1), ("Marko", 0), ("", 1)]:
        r = await service.client.get("/intake/api/households", params={"q": term}, headers=service.auth("worker"))
        assert r.status_code == 200 and r.json()["total"] == found, (term, r.text)


@pytest.mark.parametrize("service", ["cases"], indirect=True)
async def test_a_provider_name_follows_the_name_rule(service: RunningService):
    provider = {"name": "\u202e", "service_type": "day_care", "municipality_code": ADA, "capacity": 5}
    r = await service.client.post("/cases/api/providers", json=provider, headers=service.auth("admin"))
    assert problem(r, 422, "invalid")["errors"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize("service", ["activation"], indirect=True)
async def test_an_organisation_name_follows_the_name_rule(service: RunningService):
    org = {"name": "\u200b\u200b", "kind": "public_enterprise", "municipality_code": ADA}
    r = await service.client.put("/activation/api/organisations/org-1", json=org, headers=service.auth("employer"))
    assert problem(r, 422, "invalid")["errors"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize("service", ["intake"], indirect=True)
async def test_http_errors_are_problems_with_their_headers(service: RunningService):
    r = await service.client.get("/intake/api/households")
    assert "Bearer" in r.headers["www-authenticate"]
    assert "Authorization" in problem(r, 401, "unauthenticated")["detail"]
    r = await service.client.get("/intake/api/households", headers=service.auth("employer"))
    problem(r, 403, "forbidden")
    r = await service.client.get("/intake/api/no-such-thing", headers=service.auth("admin"))
    assert "/intake/api/no-such-thing" in problem(r, 404, "not_found")["detail"]
    r = await service.client.delete("/intake/api/households", headers=service.auth("admin"))
    problem(r, 405, "method_not_allowed")
    r = await service.client.get(
        "/intake/api/households/3fa85f64-5717-4562-b3fc-2c963f66afa6", headers=service.auth("admin")
    )
    problem(r, 404, "not_found")
    r = await service.client.post(
        "/intake/api/households",
        content=b"\xff\xfe{",
        headers={**service.auth("worker"), "content-type": "application/json"},
    )
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith(PROBLEM), r.text


@pytest.mark.parametrize("service", ["intake"], indirect=True)
async def test_the_openapi_documents_each_error_with_the_problem_schema(service: RunningService):
    document = (await service.client.get("/intake/openapi.json")).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    get = document["paths"]["/intake/api/households/{household_id}"]["get"]["responses"]
    assert {"200", "401", "403", "404", "422", "503"} <= set(get)
    assert get["422"]["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "409" in document["paths"]["/intake/api/households"]["post"]["responses"]
    assert "404" not in document["paths"]["/intake/api/households"]["get"]["responses"]  # no path id: no 404
    assert set(document["paths"]["/intake/health/live"]["get"]["responses"]) == {"200"}


@pytest.mark.parametrize("service", ["intake"], indirect=True)
async def test_an_imported_row_with_an_invisible_name_is_a_row_error(service: RunningService):
    rows = [row("OK-1", "Jelena"), row("BAD-1", "\u200b"), row("BAD-2", "Ana", "Ilić\u202e")]
    r = await upload(service, csv_file(rows))
    assert r.status_code == 202, r.text
    job = await finished(service, r.json()["id"])
    assert (job["status"], job["imported"], job["failed"]) == ("done", 1, 2), job
    report = {int(line["row_number"]): line for line in await error_report(service, r.json()["id"])}
    assert report[3]["column"] == "given_name" and "U+200B" in report[3]["message"], report[3]
    assert report[4]["column"] == "family_name" and "U+202E" in report[4]["message"], report[4]
