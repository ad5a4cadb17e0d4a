"""Every query cases runs."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, true, update
from sqlalchemy import case as case_expr
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import domain
from services.cases.domain import ACTIVE_STATUSES, PRIORITY_ORDER, WorkerLoad
from services.cases.models import (
    Agreement,
    Assessment,
    Case,
    CaseMember,
    Plan,
    PlanAction,
    Provider,
    Referral,
    TimelineEntry,
    Worker,
    WorkerMunicipality,
)

ACTIVE = [s.value for s in ACTIVE_STATUSES]


# --- cases ----------------------------------------------------------------------------------------------------


# Statements run for every registration are built once (building one costs more than running it on SQLite) and
# run on the session's connection, as Core: no ORM bookkeeping on the hot path.
CASES, MEMBERS, TIMELINE = (cast(Table, m.__table__) for m in (Case, CaseMember, TimelineEntry))
_FIRST_CASE = select(CASES.c.id).where(
    CASES.c.household_id == bindparam("household_id"),
    CASES.c.transferred_from_case_id.is_(None),
    CASES.c.merged_into_case_id.is_(None),
)
_LOAD = (
    select(func.count(CASES.c.id))
    .where(CASES.c.assigned_to == Worker.sub, CASES.c.status.in_(ACTIVE))
    .correlate(Worker)
    .scalar_subquery()
)
_WORKER_LOADS = (
    select(Worker.sub, _LOAD)
    .join(WorkerMunicipality, WorkerMunicipality.sub == Worker.sub)
    .where(WorkerMunicipality.municipality_code == bindparam("code"), Worker.active.is_(True))
)
_INSERT_CASE, _INSERT_MEMBERS, _INSERT_TIMELINE = CASES.insert(), MEMBERS.insert(), TIMELINE.insert()


async def first_case_of_household(session: AsyncSession, household_id: uuid.UUID) -> uuid.UUID | None:
    result = await (await session.connection()).execute(_FIRST_CASE, {"household_id": household_id})
    found: uuid.UUID | None = result.scalar_one_or_none()
    return found


async def get_case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
    stmt = select(Case).where(Case.id == case_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def cases_of_household(session: AsyncSession, household_id: uuid.UUID) -> Sequence[Case]:
    stmt = select(Case).where(Case.household_id == household_id).order_by(Case.opened_at, Case.id)
    return (await session.execute(stmt)).scalars().all()


async def insert_case(session: AsyncSession, values: dict[str, Any]) -> None:
    """A Core insert: a case opens for every registration, without unit-of-work bookkeeping."""
    await (await session.connection()).execute(_INSERT_CASE, values)


async def update_case(session: AsyncSession, case_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(Case).where(Case.id == case_id).values(**values))


async def list_cases(
    session: AsyncSession,
    *,
    municipalities: Collection[str] | None,
    viewer: str | None,
    household_id: uuid.UUID | None = None,
    status: str | None = None,
    priority: str | None = None,
    assigned_to: str | None = None,
    unassigned: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[Case]:
    """Cases in ``municipalities`` (None: all). ``viewer`` set: restricted cases only where they are assigned."""
    stmt = select(Case)
    if municipalities is not None:
        stmt = stmt.where(Case.municipality_code.in_(list(municipalities)))
    if viewer is not None:
        stmt = stmt.where(or_(Case.restricted.is_(False), Case.assigned_to == viewer))
    if household_id is not None:
        stmt = stmt.where(Case.household_id == household_id)
    if status is not None:
        stmt = stmt.where(Case.status == status)
    if priority is not None:
        stmt = stmt.where(Case.priority == priority)
    if assigned_to is not None:
        stmt = stmt.where(Case.assigned_to == assigned_to)
    if unassigned:
        stmt = stmt.where(Case.assigned_to.is_(None))
    rank = case_expr(*((Case.priority == p, i) for i, p in enumerate(PRIORITY_ORDER)), else_=len(PRIORITY_ORDER))
    stmt = stmt.order_by(rank, Case.opened_at.desc(), Case.id).limit(limit).offset(offset)
    return (await session.execute(stmt)).scalars().all()


# --- members --------------------------------------------------------------------------------------------------


async def members_of(session: AsyncSession, case_id: uuid.UUID, *, present_only: bool = True) -> Sequence[CaseMember]:
    stmt = select(CaseMember).where(CaseMember.case_id == case_id)
    if present_only:
        stmt = stmt.where(CaseMember.present.is_(True))
    return (await session.execute(stmt.order_by(CaseMember.birth_year, CaseMember.person_id))).scalars().all()


async def insert_members(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await (await session.connection()).execute(_INSERT_MEMBERS, rows)


async def delete_members(session: AsyncSession, case_id: uuid.UUID) -> None:
    await session.execute(delete(CaseMember).where(CaseMember.case_id == case_id))


async def cases_with_person(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Case]:
    stmt = (
        select(Case)
        .join(CaseMember, CaseMember.case_id == Case.id)
        .where(CaseMember.person_id == person_id)
        .order_by(Case.opened_at.desc())
    )
    return (await session.execute(stmt)).scalars().all()


async def erase_person(session: AsyncSession, person_id: uuid.UUID) -> None:
    """Remove what case work copied of the person; the case and its dates stay."""
    await session.execute(
        update(CaseMember)
        .where(CaseMember.person_id == person_id)
        .values(erased=True, skills=[], markers=[], consents=[], relation=None, education=None)
    )
    await session.execute(
        update(PlanAction)
        .where(PlanAction.person_id == person_id)
        .values(person_id=None, person_erased=True, description=None)
    )
    await session.execute(
        update(Referral).where(Referral.person_id == person_id).values(person_id=None, person_erased=True, note=None)
    )


ERASED_TEXT = "—"


async def redact_case_texts(session: AsyncSession, case_ids: list[uuid.UUID]) -> None:
    """Drop the free text of assessments, plans and timeline notes of ``case_ids`` (levels, dates and versions
    stay)."""
    if not case_ids:
        return
    for assessment in (
        (await session.execute(select(Assessment).where(Assessment.case_id.in_(case_ids)))).scalars().all()
    ):
        assessment.needs = {d: {"level": v["level"], "note": None} for d, v in assessment.needs.items()}
        assessment.summary = None
    for plan in (await session.execute(select(Plan).where(Plan.case_id.in_(case_ids)))).scalars().all():
        plan.goals = [ERASED_TEXT for _ in plan.goals]
    noted = select(TimelineEntry).where(TimelineEntry.case_id.in_(case_ids))
    for entry in (await session.execute(noted)).scalars().all():
        if entry.details.get("note"):  # a worker's note on a status change or a transfer
            entry.details = {**entry.details, "note": None}
    await session.flush()


async def rekey_person(session: AsyncSession, merged: uuid.UUID, survivor: uuid.UUID) -> None:
    """``merged`` was ``survivor`` all along: plans and referrals follow; a member row twice in a case goes."""
    both = select(CaseMember.case_id).where(CaseMember.person_id == survivor)
    await session.execute(
        delete(CaseMember).where(CaseMember.person_id == merged, CaseMember.case_id.in_(both.scalar_subquery()))
    )
    await session.execute(update(CaseMember).where(CaseMember.person_id == merged).values(person_id=survivor))
    await session.execute(update(PlanAction).where(PlanAction.person_id == merged).values(person_id=survivor))
    await session.execute(update(Referral).where(Referral.person_id == merged).values(person_id=survivor))


# --- workers --------------------------------------------------------------------------------------------------


async def worker_loads(session: AsyncSession, municipality_code: str) -> list[WorkerLoad]:
    """Active workers of a municipality with their active caseload (across all their municipalities)."""
    result = await (await session.connection()).execute(_WORKER_LOADS, {"code": municipality_code})
    return [WorkerLoad(sub, count) for sub, count in result.all()]


async def get_worker(session: AsyncSession, sub: str) -> Worker | None:
    return await session.get(Worker, sub)


async def worker_municipalities(session: AsyncSession, subs: Iterable[str]) -> dict[str, list[str]]:
    stmt = select(WorkerMunicipality.sub, WorkerMunicipality.municipality_code).where(
        WorkerMunicipality.sub.in_(list(subs))
    )
    out: dict[str, list[str]] = {}
    for sub, code in (await session.execute(stmt)).all():
        out.setdefault(sub, []).append(code)
    return {k: sorted(v) for k, v in out.items()}


async def workers_of(session: AsyncSession, municipalities: Collection[str] | None) -> Sequence[Worker]:
    stmt = select(Worker).order_by(Worker.sub)
    if municipalities is not None:
        stmt = stmt.where(
            Worker.sub.in_(
                select(WorkerMunicipality.sub).where(WorkerMunicipality.municipality_code.in_(list(municipalities)))
            )
        )
    return (await session.execute(stmt)).scalars().all()


async def set_worker_municipalities(session: AsyncSession, sub: str, codes: Iterable[str]) -> None:
    await session.execute(delete(WorkerMunicipality).where(WorkerMunicipality.sub == sub))
    rows = [{"sub": sub, "municipality_code": c} for c in sorted(set(codes))]
    if rows:
        await session.execute(insert(WorkerMunicipality), rows)


# --- timeline -------------------------------------------------------------------------------------------------


async def add_timeline(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await (await session.connection()).execute(_INSERT_TIMELINE, rows)


CONSENT_KINDS = ("case_work_consent_granted", "case_work_consent_withdrawn")


async def case_work_consent_withdrawn_by(session: AsyncSession, case_id: uuid.UUID) -> list[str]:
    """Person ids whose latest word on consent to case work, in the case's timeline, is a withdrawal."""
    stmt = (
        select(TimelineEntry.kind, TimelineEntry.details)
        .where(TimelineEntry.case_id == case_id, TimelineEntry.kind.in_(CONSENT_KINDS))
        .order_by(TimelineEntry.id)
    )
    latest: dict[str, str] = {}
    for kind, details in (await session.execute(stmt)).all():
        latest[str(details.get("person_id"))] = kind
    return sorted(p for p, kind in latest.items() if kind == "case_work_consent_withdrawn")


async def timeline(session: AsyncSession, case_id: uuid.UUID) -> Sequence[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.case_id == case_id).order_by(TimelineEntry.id)
    return (await session.execute(stmt)).scalars().all()


# --- assessments and plans ------------------------------------------------------------------------------------


async def assessments_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Assessment]:
    stmt = select(Assessment).where(Assessment.case_id == case_id).order_by(Assessment.completed_at.desc())
    return (await session.execute(stmt)).scalars().all()


async def current_plan(session: AsyncSession, case_id: uuid.UUID) -> Plan | None:
    stmt = select(Plan).where(Plan.case_id == case_id, Plan.current.is_(True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def plan_versions(session: AsyncSession, case_id: uuid.UUID) -> int:
    stmt = select(func.count(Plan.id)).where(Plan.case_id == case_id)
    return int((await session.execute(stmt)).scalar_one())


async def actions_of(session: AsyncSession, plan_id: uuid.UUID) -> Sequence[PlanAction]:
    stmt = select(PlanAction).where(PlanAction.plan_id == plan_id).order_by(PlanAction.position)
    return (await session.execute(stmt)).scalars().all()


async def retire_plans(session: AsyncSession, case_id: uuid.UUID) -> None:
    await session.execute(update(Plan).where(Plan.case_id == case_id).values(current=False))


def _up_for_review(today: date) -> Any:
    overdue_plan = select(Plan.case_id).where(Plan.current.is_(True), Plan.review_date < today)
    return and_(
        Case.status.in_(ACTIVE),
        or_(Case.id.in_(overdue_plan), Case.review_due_since.is_not(None)),
    )


async def cases_up_for_review(
    session: AsyncSession, *, municipalities: Collection[str] | None, viewer: str | None, today: date, limit: int
) -> list[tuple[Case, date | None]]:
    """Active cases whose plan's review date passed, or that an event (a placement's end) put up for review."""
    stmt = (
        select(Case, Plan.review_date)
        .outerjoin(Plan, and_(Plan.case_id == Case.id, Plan.current.is_(True)))
        .where(_up_for_review(today))
    )
    if municipalities is not None:
        stmt = stmt.where(Case.municipality_code.in_(list(municipalities)))
    if viewer is not None:
        stmt = stmt.where(or_(Case.restricted.is_(False), Case.assigned_to == viewer))
    stmt = stmt.order_by(Plan.review_date.nulls_first(), Case.opened_at).limit(limit)
    return [(c, d) for c, d in (await session.execute(stmt)).all()]


# --- caseload -------------------------------------------------------------------------------------------------


async def caseload_rows(
    session: AsyncSession, *, municipalities: Collection[str] | None, today: date, viewer: str | None = None
) -> list[dict[str, Any]]:
    """Per worker of the municipalities: active cases and cases up for review (across their municipalities).
    ``viewer`` set: active cases count restricted ones only where assigned to the viewer (a case worker must not
    learn a colleague's violence cases from the difference to the case list)."""
    subs = select(WorkerMunicipality.sub)
    if municipalities is not None:
        subs = subs.where(WorkerMunicipality.municipality_code.in_(list(municipalities)))
    visible = or_(Case.restricted.is_(False), Case.assigned_to == viewer) if viewer is not None else true()
    active = (
        select(func.count(Case.id))
        .where(Case.assigned_to == Worker.sub, Case.status.in_(ACTIVE), visible)
        .correlate(Worker)
        .scalar_subquery()
    )
    review = (
        select(func.count(Case.id))
        .where(Case.assigned_to == Worker.sub, _up_for_review(today))
        .correlate(Worker)
        .scalar_subquery()
    )
    stmt = select(Worker.sub, Worker.display_name, Worker.active, active, review).where(Worker.sub.in_(subs))
    rows = (await session.execute(stmt.order_by(Worker.sub))).all()
    return [{"sub": s, "display_name": n, "active": a, "active_cases": c, "up_for_review": r} for s, n, a, c, r in rows]


async def unassigned_count(session: AsyncSession, *, municipalities: Collection[str] | None) -> int:
    stmt = select(func.count(Case.id)).where(Case.assigned_to.is_(None), Case.status.in_(ACTIVE))
    if municipalities is not None:
        stmt = stmt.where(Case.municipality_code.in_(list(municipalities)))
    return int((await session.execute(stmt)).scalar_one())


async def registration_to_assessment(
    session: AsyncSession, *, municipalities: Collection[str] | None
) -> list[tuple[datetime, datetime]]:
    stmt = select(Case.household_registered_at, Case.assessed_at).where(
        Case.assessed_at.is_not(None), Case.transferred_from_case_id.is_(None)
    )
    if municipalities is not None:
        stmt = stmt.where(Case.municipality_code.in_(list(municipalities)))
    return [(r, a) for r, a in (await session.execute(stmt)).all() if a is not None]


async def status_counts(
    session: AsyncSession, *, municipalities: Collection[str] | None
) -> list[tuple[str, str, bool, int]]:
    stmt = select(Case.municipality_code, Case.status, Case.restricted, func.count(Case.id)).group_by(
        Case.municipality_code, Case.status, Case.restricted
    )
    if municipalities is not None:
        stmt = stmt.where(Case.municipality_code.in_(list(municipalities)))
    return [(m, s, r, n) for m, s, r, n in (await session.execute(stmt)).all()]


# --- providers, agreements, referrals -------------------------------------------------------------------------


async def get_provider(session: AsyncSession, provider_id: uuid.UUID, *, for_update: bool = False) -> Provider | None:
    stmt = select(Provider).where(Provider.id == provider_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_providers(
    session: AsyncSession, *, municipality: str | None, service_type: str | None, active_only: bool
) -> Sequence[Provider]:
    stmt = select(Provider).order_by(Provider.municipality_code, Provider.service_type, Provider.name)
    if municipality is not None:
        stmt = stmt.where(Provider.municipality_code == municipality)
    if service_type is not None:
        stmt = stmt.where(Provider.service_type == service_type)
    if active_only:
        stmt = stmt.where(Provider.active.is_(True))
    return (await session.execute(stmt)).scalars().all()


async def list_agreements(session: AsyncSession) -> Sequence[Agreement]:
    stmt = select(Agreement).order_by(Agreement.valid_from.desc(), Agreement.name)
    return (await session.execute(stmt)).scalars().all()


def agreement_terms(row: Agreement) -> domain.Agreement:
    """A stored agreement as the domain's rules read it (which municipalities and services, from when to when)."""
    return domain.Agreement(frozenset(row.municipalities), frozenset(row.service_types), row.valid_from, row.valid_to)


async def get_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement | None:
    return await session.get(Agreement, agreement_id)


async def get_referral(session: AsyncSession, referral_id: uuid.UUID, *, for_update: bool = False) -> Referral | None:
    stmt = select(Referral).where(Referral.id == referral_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def referrals_of_case(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Referral]:
    stmt = select(Referral).where(Referral.case_id == case_id).order_by(Referral.requested_at)
    return (await session.execute(stmt)).scalars().all()


async def referrals_to(
    session: AsyncSession,
    *,
    municipalities: Collection[str] | None,
    status: str | None,
    limit: int,
    include_restricted: bool = True,
) -> Sequence[Referral]:
    """Referrals to providers in ``municipalities``: the provider side's inbox (without referrals of restricted
    cases unless ``include_restricted``)."""
    stmt = select(Referral).order_by(Referral.requested_at.desc()).limit(limit)
    if not include_restricted:
        stmt = stmt.where(Referral.case_id.in_(select(Case.id).where(Case.restricted.is_(False))))
    if municipalities is not None:
        stmt = stmt.where(Referral.provider_municipality_code.in_(list(municipalities)))
    if status is not None:
        stmt = stmt.where(Referral.status == status)
    return (await session.execute(stmt)).scalars().all()
