"""A household's case across the services as OS processes, as `make run` starts them: intake registers, cases
opens and assigns the case, the worker assesses and plans a work engagement, activation's candidate profile is on
the broker without anything that identifies the person, activation ranks her for an employer's opportunity and
the placement she is proposed for starts (the case's timeline and reporting follow), intake shows the case's
state, and an erasure in intake reaches the case and activation."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from oslonac.process import PlatformProcess, start_platform
from shared.events import ActivationRequestedV1, Envelope, decode_event
from shared.settings import KafkaSettings
from tests.fixtures.kafka_tools import read_topic

pytestmark = pytest.mark.e2e
ADA = "80012"
T = TypeVar("T")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("cases-platform"))
    try:
        yield running
    finally:
        running.stop()


def until(probe: Callable[[], T], check: Callable[[T], bool], *, timeout_s: float = 15.0) -> T:
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not check(value):
        assert time.monotonic() < deadline, f"not reached within {timeout_s}s; last value: {value!r}"
        time.sleep(0.05)
        value = probe()
    return value


def test_a_case_from_registration_to_a_work_engagement_and_an_erasure(platform: PlatformProcess) -> None:
    admin, worker, supervisor = (platform.token(u) for u in ("demo-admin", "demo-worker", "demo-supervisor"))
    as_admin, as_worker = {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {worker}"}
    as_supervisor = {"Authorization": f"Bearer {supervisor}"}
    with httpx.Client(base_url=platform.base_url, timeout=10) as client:
        r = client.put(
            "/cases/api/workers/demo-worker",
            json={"display_name": "Demo Worker", "municipalities": [ADA]},
            headers=as_admin,
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = {
            "municipality_code": ADA,
            "address": "Njegoševa 12",
            "members": [
                {
                    "given_name": "Снежана",
                    "family_name": "Ђорђевић",
                    "birth_date": "1988-04-09",
                    "sex": "F",
                    "missing_jmbg_reason": "not_known",
                    "phone": "+381 64 123 4567",
                    "able_to_work": True,
                    "employment_status": "unemployed",
                    "skills": ["cleaning"],
                    "markers": ["single_parent"],
                    "consents": ["case_work", "activation"],
                },
                {
                    "given_name": "Лука",
                    "family_name": "Ђорђевић",
                    "birth_date": "2016-01-20",
                    "sex": "M",
                    "relation": "child",
                    "missing_jmbg_reason": "not_known",
                },
            ],
        }
        r = client.post("/intake/api/households", json=body, headers=as_worker)
        assert r.status_code == 201, r.text
        household = r.json()
        mother = next(m for m in household["members"] if m["given_name"] == "Снежана")["id"]

        def the_case() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = client.get(
                f"/cases/api/cases?household_id={household['id']}", headers=as_worker
            ).json()
            return found

        case = until(the_case, lambda found: len(found) == 1)[0]
        assert case["assigned_to"] == "demo-worker"
        assert case["priority"] == "medium"  # a single parent; no poverty line set in this run

        url = f"/cases/api/cases/{case['id']}"
        needs = {d: {"level": "moderate"} for d in ("income", "employment", "housing", "health", "education")}
        needs |= {"care": {"level": "low"}, "safety": {"level": "none"}}
        r = client.post(f"{url}/assessments", json={"needs": needs}, headers=as_worker)
        assert r.status_code == 201, r.text
        plan = {
            "goals": ["Snežana finds part-time work near home"],
            "actions": [
                {
                    "kind": "work_engagement",
                    "person_id": mother,
                    "description": "Call Snežana on +381 64 123 4567 about the park maintenance job",
                    "responsible": "demo-worker",
                    "hours_per_week_min": 10,
                    "hours_per_week_max": 20,
                    "available_from": date.today().isoformat(),
                }
            ],
            "review_date": (date.today() + timedelta(days=90)).isoformat(),
        }
        r = client.post(f"{url}/plans", json=plan, headers=as_worker)
        assert r.status_code == 201, r.text
        assert r.json()["case"]["status"] == "active"

        # Intake's household page shows the case's state, from cases' events.
        until(
            lambda: client.get(f"/intake/api/households/{household['id']}", headers=as_worker).json()["case_status"],
            lambda status: status == "active",
        )

        # Activation's candidate profile is on the broker, and nothing in it identifies Snežana.
        bootstrap = json.loads((platform.data_dir / "pids.json").read_text())["bootstrap"]
        kafka = KafkaSettings(bootstrap_servers=bootstrap)

        def requests() -> list[tuple[Envelope, ActivationRequestedV1]]:
            records = asyncio.run(read_topic(kafka, "cases.activation"))
            out = []
            for record in records:
                envelope = Envelope.from_record(list(record.headers or []), record.value)
                event = decode_event(envelope.type, envelope.data)
                if isinstance(event, ActivationRequestedV1) and str(event.person_id) == mother:
                    out.append((envelope, event))
            return out

        (envelope, event), *more = until(requests, lambda found: len(found) >= 1)
        assert more == []
        assert (event.municipality_code, event.sex, event.birth_year, event.skills) == (ADA, "F", 1988, ["cleaning"])
        assert set(event.markers) == {"single_parent", "unemployed_able_to_work"}
        raw = json.dumps(envelope.data, ensure_ascii=False)
        for personal in ("Снежана", "Snežana", "Ђорђевић", "Njegoševa", "123 4567", "1988-04-09", "park"):
            assert personal not in raw

        # Activation has her as a candidate; an employer's opportunity ranks her, her case worker proposes her, both
        # sides accept, the employer starts the placement and the case's timeline and reporting follow.
        placement = place_in_work(client, platform, mother)
        timeline_kinds = until(
            lambda: [e["kind"] for e in client.get(f"{url}/timeline", headers=as_worker).json()],
            lambda kinds: "placement_started" in kinds,
        )
        assert timeline_kinds.index("match_proposed") < timeline_kinds.index("placement_started")
        until(
            lambda: client.get(f"/reporting/api/summary?municipality={ADA}", headers=as_admin).json()[0],
            lambda row: row["placements"]["started"] == 1 and row["placements"]["proposed"] == 1,
        )

        # The supervisor erases the mother in intake: the case keeps its dates, the member's copied data goes.
        r = client.post(f"/intake/api/persons/{mother}/erasure", headers=as_supervisor)
        assert r.status_code in (200, 204), r.text

        def member_in_case() -> dict[str, Any]:
            detail = client.get(url, headers=as_worker).json()
            return next(m for m in detail["members"] if m["person_id"] == mother)

        erased = until(member_in_case, lambda m: m["erased"])
        assert erased["skills"] == [] and erased["markers"] == []
        detail = client.get(url, headers=as_worker).json()
        action = detail["plan"]["actions"][0]
        assert action["person_erased"] and action["person_id"] is None and action["description"] is None
        assert detail["case"]["status"] == "active" and detail["case"]["assessed_at"] is not None

        # Activation forgets her too: no candidate, and the placement no longer points at her.
        until(
            lambda: client.get(f"/activation/api/candidates/{mother}", headers=as_worker).status_code,
            lambda status: status == 404,
        )
        r = client.get(f"/activation/api/placements/{placement}", headers=as_admin)
        assert r.status_code == 200 and r.json()["person_id"] != mother and r.json()["status"] == "started"


def place_in_work(client: httpx.Client, platform: PlatformProcess, person: str) -> str:
    """Forum, organisation and opportunity set up through the API; the person proposed, accepted and started."""
    as_ = {
        u: {"Authorization": f"Bearer {platform.token(u)}"}
        for u in ("demo-coordinator", "demo-employer", "demo-worker")
    }
    r = client.post(
        "/activation/api/forums",
        json={"name": "Forum Ada", "municipalities": [ADA]},
        headers=as_["demo-coordinator"],
    )
    assert r.status_code == 201, r.text
    forum = r.json()["id"]
    org = {"name": "JKP Ada", "kind": "public_enterprise", "municipality_code": ADA}
    assert client.put("/activation/api/organisations/demo-forum-ada", json=org, headers=as_["demo-employer"]).is_success
    r = client.post(
        f"/activation/api/forums/{forum}/members",
        json={"organisation_id": "demo-forum-ada"},
        headers=as_["demo-employer"],
    )
    assert r.status_code == 200, r.text
    body = {
        "title": "Cleaning the community centre",
        "forum_id": forum,
        "municipality_code": ADA,
        "positions": 1,
        "hours_per_week_min": 10,
        "hours_per_week_max": 20,
        "required_skills": ["cleaning"],
    }
    r = client.post("/activation/api/opportunities", json=body, headers=as_["demo-employer"])
    assert r.status_code == 201, r.text
    opportunity = r.json()["id"]
    ranking = until(
        lambda: client.get(f"/activation/api/opportunities/{opportunity}/shortlist", headers=as_["demo-worker"]).json(),
        lambda found: any(m["person_id"] == person for m in found["matches"]),
    )
    assert ranking["matches"][0]["person_id"] == person
    assert ranking["matches"][0]["explanation"]["breakdown"]["skills"] == 40.0
    r = client.post(
        f"/activation/api/opportunities/{opportunity}/proposals", json={"person_id": person}, headers=as_["demo-worker"]
    )
    assert r.status_code == 201, r.text
    placement = str(r.json()["id"])
    for party, user in (("employer", "demo-employer"), ("candidate", "demo-worker")):
        r = client.post(f"/activation/api/placements/{placement}/accept", json={"party": party}, headers=as_[user])
        assert r.status_code == 200, r.text
    r = client.post(f"/activation/api/placements/{placement}/start", headers=as_["demo-employer"])
    assert r.status_code == 200 and r.json()["status"] == "started", r.text
    return placement
