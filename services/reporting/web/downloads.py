"""An indicator's table as a download, CSV or XLSX (services/reporting/web/_export.py): always suppressed, whoever
asks. A query that does not parse gives the dashboard back (422) with the field marked."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.indicators import compute, parse_query
from services.reporting.web import _export
from services.reporting.web._common import ReaderPage, page, vocabularies
from services.reporting.web._filters import mark_problems, read_filters
from shared.auth import User
from shared.errors import Invalid
from shared.messaging.runtime import ServiceRuntime
from shared.ui.i18n import language_for
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)


async def _download(request: Request, user: User, session: AsyncSession, runtime: ServiceRuntime, fmt: str) -> Response:
    """The table of the query string, always suppressed; a query that does not parse gives the dashboard back."""
    filters = read_filters(request.query_params)
    try:
        query = parse_query(filters.params())
    except Invalid as exc:
        message = mark_problems(filters, exc, request)
        context: dict[str, Any] = {"nav": "dashboard", "filters": filters, "table": None, **vocabularies(request)}
        return page(request, "dashboard.html", user, status_code=422, messages=[message], **context)
    table = await compute(session, query, exact=False, caseload_norm=runtime.settings.caseload_norm)
    language = language_for(request)
    stamp = table.generated_at.astimezone(UTC).strftime("%Y-%m-%d")
    name = f"oslonac-{query.indicator}-{stamp}.{fmt}"
    if fmt == "csv":
        body, media = _export.to_csv(table, language=language), "text/csv; charset=utf-8"
    else:
        body, media = _export.to_xlsx(table, language=language), _export.XLSX_TYPE
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(body, media_type=media, headers=headers)


@router.get("/export.csv")
async def export_csv(request: Request, user: ReaderPage, session: SessionDep, runtime: RuntimeDep) -> Response:
    return await _download(request, user, session, runtime, "csv")


@router.get("/export.xlsx")
async def export_xlsx(request: Request, user: ReaderPage, session: SessionDep, runtime: RuntimeDep) -> Response:
    return await _download(request, user, session, runtime, "xlsx")
