"""A case's page and the one way its forms post: everything the API's case detail holds, the timeline and the
forms of case work; a form's command runs through ``shared.ui.forms.post_form`` and comes back to the case."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import access, caseload, casework, registries, repository
from services.cases.domain import ACTIVE_STATUSES, NEED_DOMAINS
from services.cases.models import Case
from services.cases.web import _forms
from services.cases.web._pages import StaffPage, page, refusals
from shared.auth import User
from shared.errors import DomainError, NotFound
from shared.messaging.runtime import ServiceRuntime
from shared.ui.forms import Form, post_form
from shared.ui.templating import Message
from shared.web import RuntimeDep, SessionDep

M = TypeVar("M", bound=BaseModel)


def _can_work(user: User, case: Case) -> bool:
    try:
        access.ensure_can_work(user, case)
    except DomainError:
        return False
    return True


def _assessment_values(detail: Any) -> dict[str, Any]:
    latest = detail.assessments[0] if detail.assessments else None
    needs = {
        d: {"level": latest.needs[d].level if latest and d in latest.needs else "", "note": ""} for d in NEED_DOMAINS
    }
    if latest is not None:
        for d, need in latest.needs.items():
            needs[d]["note"] = need.note or ""
    return {"needs": needs, "summary": ""}


def _plan_values(detail: Any, user: User) -> dict[str, Any]:
    plan = detail.plan
    if plan is None:
        return {"goals": "", "review_date": "", "actions": [_forms.empty_action(_forms.new_token(), user.sub)]}
    actions = []
    for a in plan.actions:
        action = {name: "" if getattr(a, name) is None else str(getattr(a, name)) for name in _forms.ACTION_FIELDS}
        actions.append({"token": _forms.new_token(), **action})
    return {"goals": "\n".join(plan.goals), "review_date": plan.review_date.isoformat(), "actions": actions}


async def case_view(
    request: Request,
    user: User,
    session: Any,
    norm: int,
    case_id: uuid.UUID,
    *,
    status_code: int = 200,
    messages: list[Message] | None = None,
    forms: dict[str, Form] | None = None,
) -> HTMLResponse:
    """The case's page: everything the API's case detail holds, the timeline and the forms of case work."""
    case = await casework.case_for(session, user, case_id)
    detail = await casework.case_detail(session, case)
    timeline = await repository.timeline(session, case.id)
    registry = await registries.providers(session=session, municipality=None, service_type=None, include_inactive=True)
    workers = []
    if access.is_supervisor_of(user, case.municipality_code) and case.status in ACTIVE_STATUSES:
        workers = await caseload.list_workers(
            session=session, user=user, municipality=case.municipality_code, norm=norm
        )
    forms = dict(forms or {})
    forms.setdefault("assessment", Form(_assessment_values(detail)))
    forms.setdefault("plan", Form(_plan_values(detail, user)))
    forms.setdefault("referral", Form(dict.fromkeys(("provider_id", "person_id", "note", "legal_basis"), "")))
    return page(
        request,
        "case.html",
        user,
        status_code=status_code,
        messages=messages or [],
        detail=detail,
        c=detail.case,
        timeline=timeline,
        providers={p.id: p for p in registry},
        local_providers=[p for p in registry if p.active and p.municipality_code == case.municipality_code],
        other_providers=[p for p in registry if p.active and p.municipality_code != case.municipality_code],
        member_number={m.person_id: i + 1 for i, m in enumerate(detail.members)},
        worker_options=[(w.sub, f"{w.display_name} ({w.active_cases}/{w.norm})") for w in workers if w.active],
        can_work=_can_work(user, case),
        can_reassign=bool(workers),
        case_forms=forms,
    )


def back_to_case(case_id: uuid.UUID, done: str, anchor: str = "") -> str:
    return f"/cases/cases/{case_id}?done={done}{anchor}"


@dataclass(frozen=True)
class CaseWork:
    """A post of case work on one case: who posts it, in which session, and the one way it runs."""

    request: Request
    user: User
    session: AsyncSession
    runtime: ServiceRuntime
    case_id: uuid.UUID

    @property
    def by(self) -> dict[str, Any]:
        """The arguments every command of case work takes: the session, the outbox, the user."""
        return {"session": self.session, "outbox": self.runtime.outbox, "user": self.user}

    async def post(
        self,
        data: M | None,
        command: Callable[[M], Awaitable[object]],
        *,
        done: str,
        not_done: str = "",
        form: Form | None = None,
        anchor: str = "",
    ) -> Response:
        """Back to the case on success (``?done=``); else the case's page with the refusal or ``not_done`` on top,
        and ``form`` (the form named ``done`` on the page) as posted, its fields marked. The case's own 404 is the
        error page."""
        norm = self.runtime.settings.caseload_norm

        async def render(*, form: Form, status_code: int, messages: list[Message]) -> Response:
            forms = {done: form} if form.values else None
            return await case_view(
                self.request,
                self.user,
                self.session,
                norm,
                self.case_id,
                status_code=status_code,
                messages=messages,
                forms=forms,
            )

        async def run(parsed: M) -> str:
            await command(parsed)
            return back_to_case(self.case_id, done, anchor)

        return await post_form(
            self.request,
            self.session,
            form or Form({}),
            data,
            command=run,
            render=render,
            refusals=refusals(self.request),
            not_done=not_done,
            reraise=(NotFound,),
        )


async def case_work(
    request: Request, case_id: uuid.UUID, user: StaffPage, session: SessionDep, runtime: RuntimeDep
) -> CaseWork:
    return CaseWork(request, user, session, runtime, case_id)


CaseWorkDep = Annotated[CaseWork, Depends(case_work)]
