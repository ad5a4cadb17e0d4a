"""Workers and their caseload: who carries how many active cases against the norm, for supervisors."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import access, repository
from services.cases.domain import median_days, over_norm
from services.cases.models import Worker
from services.cases.schemas import Caseload, CaseloadWorker, WorkerPublic, WorkerUpsert
from services.cases.service import ensure_known_municipality
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Forbidden


async def enrol(*, session: AsyncSession, user: User, known: set[str]) -> None:
    """A case worker who signs in becomes a worker of the municipalities in their token (once).

    ``known`` is the app's memory of workers already checked, so the check costs nothing afterwards.
    """
    if Role.case_worker not in user.roles or user.sub in known or not user.municipalities:
        return
    if await repository.get_worker(session, user.sub) is None:
        session.add(Worker(sub=user.sub, display_name=user.sub, active=True, created_at=utcnow()))
        await session.flush()
        await repository.set_worker_municipalities(session, user.sub, user.municipalities)
    known.add(user.sub)


async def enrol_once(*, state: Any, session: AsyncSession, user: User) -> None:
    """``enrol`` with the app's memory (``state`` is the app's state) of the workers already checked."""
    if not hasattr(state, "enrolled_workers"):
        state.enrolled_workers = set()
    await enrol(session=session, user=user, known=state.enrolled_workers)


async def upsert_worker(*, session: AsyncSession, user: User, sub: str, data: WorkerUpsert, norm: int) -> WorkerPublic:
    codes = sorted(set(data.municipalities))
    for i, code in enumerate(codes):
        ensure_known_municipality(code, ["body", "municipalities", i])
    if Role.admin not in user.roles:
        foreign = [c for c in codes if not access.is_supervisor_of(user, c)]
        existing = (await repository.worker_municipalities(session, [sub])).get(sub, [])
        foreign += [c for c in existing if not access.is_supervisor_of(user, c) and c not in codes]
        if foreign:
            raise Forbidden(
                f"Only an administrator or a supervisor of {', '.join(sorted(set(foreign)))} changes who works there.",
                reason="workers_kept_by_supervisor",
                params={"municipalities": sorted(set(foreign))},
            )
    worker = await repository.get_worker(session, sub)
    if worker is None:
        worker = Worker(sub=sub, display_name=data.display_name, active=data.active, created_at=utcnow())
        session.add(worker)
    else:
        worker.display_name, worker.active = data.display_name, data.active
    await session.flush()
    await repository.set_worker_municipalities(session, sub, codes)
    return (await _workers(session, None, norm, only=sub))[0]


async def list_workers(*, session: AsyncSession, user: User, municipality: str | None, norm: int) -> list[WorkerPublic]:
    if not user.has_role(Role.case_worker, Role.supervisor, Role.admin):
        raise Forbidden("This needs one of the roles: admin, case_worker, supervisor.")
    viewer = None if user.has_role(Role.supervisor, Role.admin) else user.sub
    return await _workers(session, _scope(user, municipality), norm, viewer=viewer)


async def _workers(
    session: AsyncSession, scope: frozenset[str] | None, norm: int, only: str | None = None, viewer: str | None = None
) -> list[WorkerPublic]:
    rows = await repository.caseload_rows(session, municipalities=scope, today=date.today(), viewer=viewer)
    if only is not None:
        rows = [r for r in rows if r["sub"] == only]
    codes = await repository.worker_municipalities(session, [r["sub"] for r in rows])
    return [
        WorkerPublic(
            sub=r["sub"],
            display_name=r["display_name"],
            active=r["active"],
            municipalities=codes.get(r["sub"], []),
            active_cases=r["active_cases"],
            norm=norm,
            over_norm=over_norm(r["active_cases"], norm),
        )
        for r in rows
    ]


def _scope(user: User, municipality: str | None) -> frozenset[str] | None:
    return access.narrowed(None if Role.admin in user.roles else user.municipalities, municipality)


async def caseload(*, session: AsyncSession, user: User, municipality: str | None, norm: int) -> Caseload:
    """Per worker: active cases against the norm and cases up for review; per scope: unassigned cases and the
    median days from registration to the first assessment."""
    if not user.has_role(Role.supervisor, Role.admin):
        raise Forbidden("The caseload is for supervisors.")
    scope = _scope(user, municipality)
    today = date.today()
    rows = await repository.caseload_rows(session, municipalities=scope, today=today)
    pairs = await repository.registration_to_assessment(session, municipalities=scope)
    return Caseload(
        municipalities=sorted(scope) if scope is not None else [],
        norm=norm,
        workers=[
            CaseloadWorker(
                sub=r["sub"],
                display_name=r["display_name"],
                active=r["active"],
                active_cases=r["active_cases"],
                norm=norm,
                over_norm=over_norm(r["active_cases"], norm),
                up_for_review=r["up_for_review"],
            )
            for r in rows
        ],
        unassigned=await repository.unassigned_count(session, municipalities=scope),
        median_days_to_assessment=median_days((r.date(), a.date()) for r, a in pairs),
        assessed_cases=len(pairs),
    )
