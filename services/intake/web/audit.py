"""The audit log of reads of personal data, for supervisors (their municipalities) and administrators."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.intake import audit
from services.intake.access import SupervisorPage
from services.intake.repository import AuditQuery
from services.intake.web._common import page
from shared.web import SessionDep

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request, user: SupervisorPage, session: SessionDep, record_id: str = "", actor: str = ""
) -> HTMLResponse:
    try:
        record = uuid.UUID(record_id) if record_id else None
    except ValueError:
        record = None
    wanted = AuditQuery(record_id=record, actor=actor or None, limit=200)
    entries = await audit.audit_log(session=session, user=user, wanted=wanted)
    return page(request, "audit.html", user, entries=entries, record_id=record_id, actor=actor)
