"""A case from registration to closure, over cases' HTTP API on SQLite and PostgreSQL, fed intake's events
through the real consumer path: opened once with its priority, assigned by caseload, assessed, planned, closed
and reopened, with 409s that say what is allowed, and every step in the timeline and in the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.cases.domain import Priority
from shared.events import (
    AssessmentCompletedV1,
    CaseAssignedV1,
    CaseOpenedV1,
    CasePriorityChangedV1,
    CaseStatusChangedV1,
    HouseholdUpdatedV1,
    PlanAgreedV1,
)
from shared.messaging.applier import Outcome
from tests.fixtures.auth import ADA, RUMA
from tests.fixtures.cases import API, member, needs, plan, register_worker, registered
from tests.fixtures.delivery import deliver, envelope_for, queued_events
from tests.fixtures.services import RunningService


async def only_case(cases: RunningService, household_id: object, user: str = "supervisor") -> dict:
    r = await cases.client.get(f"{API}/cases", params={"household_id": str(household_id)}, headers=cases.auth(user))
    assert r.status_code == 200, r.text
    assert len(r.json()) == 1, r.json()
    return r.json()[0]


async def test_a_registered_household_gets_exactly_one_case_with_its_priority(cases: RunningService) -> None:
    event = registered(
        member(age=35, markers=("single_parent",)), member(age=6, relation="child"), below_poverty_line=True
    )
    envelope = envelope_for(event)
    assert await deliver(cases, (event, envelope)) == [Outcome.applied]
    assert await deliver(cases, (event, envelope)) == [Outcome.duplicate]  # a redelivery
    # The same household announced again under another event id (intake's outbox replayed) opens nothing more.
    assert await deliver(cases, event.model_copy()) == [Outcome.applied]
    case = await only_case(cases, event.household_id)
    assert case["status"] == "open"
    assert case["priority"] == Priority.high  # below the line with a child
    assert case["below_poverty_line"] is True
    opened = await queued_events(cases, CaseOpenedV1)
    assert [o.household_id for o in opened] == [event.household_id]
    assert opened[0].priority == "high"


async def test_priority_follows_the_documented_rule(cases: RunningService) -> None:
    expectations = {
        Priority.urgent: registered(member(markers=("victim_of_violence",))),
        Priority.high: registered(member(age=70), below_poverty_line=True),
        Priority.medium: registered(member(markers=("disability",)), below_poverty_line=False),
        Priority.low: registered(member(age=40), below_poverty_line=None),
    }
    await deliver(cases, *expectations.values())
    for expected, event in expectations.items():
        assert (await only_case(cases, event.household_id))["priority"] == expected


async def test_cases_go_to_the_worker_with_the_lowest_caseload_and_a_supervisor_reassigns(
    cases: RunningService,
) -> None:
    await register_worker(cases, "ana", ADA)
    await register_worker(cases, "bojan", ADA)
    await register_worker(cases, "ruma-only", RUMA)
    events = [registered() for _ in range(5)]
    for e in events:  # one at a time, as registrations arrive
        await deliver(cases, e)
    r = await cases.client.get(f"{API}/workers", params={"municipality": ADA}, headers=cases.auth("supervisor"))
    loads = {w["sub"]: w["active_cases"] for w in r.json()}
    assert loads == {"ana": 3, "bojan": 2}
    opened = await queued_events(cases, CaseOpenedV1)
    assert sorted(o.assigned_to for o in opened) == ["ana", "ana", "ana", "bojan", "bojan"]

    case = await only_case(cases, events[0].household_id)
    target = "bojan" if case["assigned_to"] == "ana" else "ana"
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/assignment", json={"worker": target}, headers=cases.auth("supervisor")
    )
    assert r.status_code == 200, r.text
    assert r.json()["assigned_to"] == target
    (reassigned,) = await queued_events(cases, CaseAssignedV1)
    assert (reassigned.worker, reassigned.by, reassigned.previous_worker) == (target, "supervisor", case["assigned_to"])
    # A worker of another municipality cannot take it, and a case worker cannot reassign.
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/assignment", json={"worker": "ruma-only"}, headers=cases.auth("supervisor")
    )
    assert r.status_code == 422 and "not a worker of municipality" in r.json()["detail"]
    r = await cases.client.post(
        f"{API}/cases/{case['id']}/assignment", json={"worker": target}, headers=cases.auth("worker")
    )
    assert r.status_code == 403
    timeline = (await cases.client.get(f"{API}/cases/{case['id']}/timeline", headers=cases.auth("supervisor"))).json()
    assert [t["kind"] for t in timeline] == ["opened", "assigned", "assigned"]
    assert timeline[-1]["details"]["by"] == "supervisor" and timeline[-1]["actor"] == "supervisor"


async def test_workers_over_the_norm_are_flagged(databases, tokens) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.cases import OFFLINE
    from tests.fixtures.services import running_service

    url = await databases.url_for("cases")
    async with running_service(
        "cases", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False, caseload_norm=2
    ) as svc:
        await register_worker(svc, "ana", ADA)
        await deliver(svc, *[registered() for _ in range(3)])
        r = await svc.client.get(f"{API}/caseload", params={"municipality": ADA}, headers=svc.auth("supervisor"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["norm"] == 2
        assert body["workers"] == [
            {
                "sub": "ana",
                "display_name": "Ana",
                "active": True,
                "active_cases": 3,
                "norm": 2,
                "over_norm": True,
                "up_for_review": 0,
            }
        ]


async def test_the_lifecycle_with_assessment_plan_close_and_reopen(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA, RUMA)
    event = registered(municipality=ADA)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker")
    assert case["assigned_to"] == "worker"
    url = f"{API}/cases/{case['id']}"
    me = cases.auth("worker")

    # Illegal: straight to active. The 409 names what is allowed.
    r = await cases.client.post(f"{url}/status", json={"to": "active"}, headers=me)
    assert r.status_code == 409
    assert r.json()["errors"]["allowed"] == ["assessment", "closed", "transferred"]
    assert "Allowed next: assessment, closed, transferred" in r.json()["detail"]

    r = await cases.client.post(f"{url}/status", json={"to": "assessment"}, headers=me)
    assert r.status_code == 200 and r.json()["case"]["status"] == "assessment"

    # An assessment must cover every domain.
    partial = {"needs": {"income": {"level": "high"}}}
    r = await cases.client.post(f"{url}/assessments", json=partial, headers=me)
    assert r.status_code == 422 and "every domain" in r.json()["detail"]
    r = await cases.client.post(f"{url}/assessments", json=needs("moderate", income="critical"), headers=me)
    assert r.status_code == 201, r.text
    detail = r.json()
    assert detail["case"]["status"] == "plan"
    assert detail["assessments"][0]["needs"]["income"]["level"] == "critical"
    assert detail["case"]["assessed_at"] is not None

    # A plan with its review date in the past is refused; a good one makes the case active.
    r = await cases.client.post(f"{url}/plans", json=plan(review_in_days=-1), headers=me)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "review_date"]
    task = {
        "kind": "task",
        "description": "Apply for social assistance",
        "responsible": "worker",
        "due_date": (date.today() + timedelta(days=14)).isoformat(),
    }
    r = await cases.client.post(f"{url}/plans", json=plan(task), headers=me)
    assert r.status_code == 201, r.text
    detail = r.json()
    assert detail["case"]["status"] == "active"
    assert detail["plan"]["version"] == 1 and detail["plan"]["actions"][0]["description"] == task["description"]

    # Closing needs a reason; reopening brings it back to open.
    r = await cases.client.post(f"{url}/status", json={"to": "closed"}, headers=me)
    assert r.status_code == 422 and "why" in r.json()["detail"]
    r = await cases.client.post(f"{url}/status", json={"to": "closed", "reason": "goals_achieved"}, headers=me)
    assert r.status_code == 200 and r.json()["case"]["close_reason"] == "goals_achieved"
    r = await cases.client.post(f"{url}/assessments", json=needs(), headers=me)
    assert r.status_code == 409 and r.json()["errors"]["allowed"] == ["open"]
    r = await cases.client.post(f"{url}/status", json={"to": "open"}, headers=me)
    assert r.status_code == 200 and r.json()["case"]["status"] == "open" and r.json()["case"]["closed_at"] is None

    timeline = (await cases.client.get(f"{url}/timeline", headers=me)).json()
    kinds = [t["kind"] for t in timeline]
    assert kinds == [
        "opened",
        "assigned",
        "status_changed",  # → assessment
        "assessment_completed",
        "status_changed",  # → plan
        "plan_agreed",
        "status_changed",  # → active
        "status_changed",  # → closed
        "status_changed",  # → open
    ]
    steps = [(t["details"]["from"], t["details"]["to"]) for t in timeline if t["kind"] == "status_changed"]
    assert steps == [
        ("open", "assessment"),
        ("assessment", "plan"),
        ("plan", "active"),
        ("active", "closed"),
        ("closed", "open"),
    ]
    ats = [datetime.fromisoformat(t["at"]) for t in timeline]
    assert ats == sorted(ats)
    changes = [(e.from_status, e.to_status) for e in await queued_events(cases, CaseStatusChangedV1)]
    assert changes == [
        ("open", "assessment"),
        ("assessment", "plan"),
        ("plan", "active"),
        ("active", "closed"),
        ("closed", "open"),
    ]
    assert len(await queued_events(cases, AssessmentCompletedV1)) == 1
    assert len(await queued_events(cases, PlanAgreedV1)) == 1


async def test_overdue_reviews_are_listed(cases: RunningService) -> None:
    await register_worker(cases, "worker", ADA)
    event = registered(municipality=ADA)
    await deliver(cases, event)
    case = await only_case(cases, event.household_id, "worker")
    me = cases.auth("worker")
    url = f"{API}/cases/{case['id']}"
    await cases.client.post(f"{url}/assessments", json=needs(), headers=me)
    r = await cases.client.post(f"{url}/plans", json=plan(review_in_days=3), headers=me)
    assert r.status_code == 201
    r = await cases.client.get(f"{API}/reviews", headers=me)
    assert r.json() == []
    # The review date passes (moved back in the database, as time would).
    from sqlalchemy import update

    from services.cases.models import Plan

    async with cases.runtime.sessions() as session, session.begin():
        await session.execute(update(Plan).values(review_date=date.today() - timedelta(days=4)))
    r = await cases.client.get(f"{API}/reviews", headers=me)
    assert [(row["case"]["id"], row["days_overdue"]) for row in r.json()] == [(case["id"], 4)]
    # A new plan version is the review: the case leaves the list.
    r = await cases.client.post(f"{url}/plans", json=plan(review_in_days=60), headers=me)
    assert r.status_code == 201 and r.json()["plan"]["version"] == 2
    assert (await cases.client.get(f"{API}/reviews", headers=me)).json() == []


async def test_the_case_follows_intakes_updates(cases: RunningService) -> None:
    head = member(age=40)
    event = registered(head, below_poverty_line=False)
    await deliver(cases, event)
    update = HouseholdUpdatedV1(
        **(event.model_dump(exclude={"type", "members", "version", "below_poverty_line"})),
        members=[head, member(age=3, relation="child")],
        below_poverty_line=True,
        version=2,
        reason="edited",
        changed_at=datetime.now(UTC),
    )
    await deliver(cases, update)
    case = await only_case(cases, event.household_id)
    assert case["priority"] == "high" and case["member_count"] == 2
    changed = await queued_events(cases, CasePriorityChangedV1)
    assert [c.priority for c in changed] == ["high"]
    # An older state arriving late changes nothing.
    await deliver(cases, update.model_copy(update={"version": 1, "below_poverty_line": False, "members": [head]}))
    assert (await only_case(cases, event.household_id))["member_count"] == 2
