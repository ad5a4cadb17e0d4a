"""The pages of an indicator: the dashboard (any indicator, filtered and broken down, as a table and a chart), the
municipality comparison and the trends over time. Thin: the query string is read by ``indicators.parse_query`` as
the API reads it, and the table comes from ``indicators.compute``.

Analysts, supervisors and case workers see counts below 5 as "<5"; administrators see exact figures on the pages.
A filter that does not parse gives the page back (422) with the field marked and the figures left out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import service
from services.reporting.indicators import CATALOGUE, SUPPRESSED, Query, Table, compute, filter_codes, parse_query
from services.reporting.web import _charts, _format, _indicator_labels
from services.reporting.web._common import ReaderPage, page, vocabularies
from services.reporting.web._filters import Filters, mark_problems, query_string, read_filters
from shared.auth import User
from shared.errors import Invalid
from shared.messaging.runtime import ServiceRuntime
from shared.ui.i18n import language_for
from shared.ui.templating import translator
from shared.web import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)

FIRST_INDICATOR = next(iter(CATALOGUE))
DASHBOARD_DEFAULTS: dict[str, Any] = {
    "indicator": FIRST_INDICATOR,
    "period": "year",
    "area": "country",
    "by": ["period"],
}
TRENDS_DEFAULTS: dict[str, Any] = {"indicator": FIRST_INDICATOR, "period": "month"}


def _compare_defaults() -> dict[str, Any]:
    """This year so far: flows summed over it, stocks at its last month."""
    return {"indicator": FIRST_INDICATOR, "from": f"{datetime.now(UTC).year:04d}-01"}


async def _table(session: AsyncSession, runtime: ServiceRuntime, query: Query, *, exact: bool) -> Table:
    return await compute(session, query, exact=exact, caseload_norm=runtime.settings.caseload_norm)


def _results(request: Request, table: Table, *, kind: str | None = None) -> dict[str, Any]:
    """What the results part of every page shows: the indicator, the table, the chart, the downloads."""
    language = language_for(request)
    translate = translator(request)
    indicator = table.indicator
    first, last = _format.months_covered(table)
    qs = query_string(table.query)
    return {
        "table": table,
        "indicator_label": _indicator_labels.label(indicator, translate),
        "indicator_description": _indicator_labels.description(indicator, translate),
        "target_text": _format.target_text(indicator, language),
        "view": _format.table_view(table, language, translate),
        "chart": _charts.chart_of(table, language, translate, kind=kind),
        "first_month": first,
        "last_month": last,
        "generated_at": table.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "csv_url": f"/reporting/export.csv?{qs}",
        "xlsx_url": f"/reporting/export.xlsx?{qs}",
    }


async def _render(
    request: Request,
    user: User,
    session: AsyncSession,
    runtime: ServiceRuntime,
    filters: Filters,
    *,
    template: str,
    nav: str,
    forced: Mapping[str, list[str]] | None = None,
    sort: bool = False,
    kind: str | None = None,
) -> HTMLResponse:
    """Parse the filters (with what the page fixes, ``forced``), compute the table and render ``template``."""
    context: dict[str, Any] = {"nav": nav, "filters": filters, "table": None, **vocabularies(request)}
    try:
        query = parse_query({**filters.params(), **(forced or {})})
    except Invalid as exc:
        message = mark_problems(filters, exc, request)
        return page(request, template, user, status_code=422, messages=[message], **context)
    table = await _table(session, runtime, query, exact=service.exact_for(user, filter_codes(query)))
    if sort:
        table.rows.sort(key=_largest_first)
    return page(request, template, user, **{**context, **_results(request, table, kind=kind)})


def _largest_first(row: dict[str, Any]) -> tuple[bool, float]:
    """Largest first; a "<5" (always 1 to 4) between the fives and the zeros, ties in the table's order (so the
    order of two "<5" says nothing about them); empty cells last."""
    value = row.get("value")
    if value == SUPPRESSED:
        return (False, -4.5)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (False, -float(value))
    return (True, 0.0)


@router.get("/", response_class=HTMLResponse)
async def dashboard_page(request: Request, user: ReaderPage, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    filters = read_filters(request.query_params, DASHBOARD_DEFAULTS)
    return await _render(request, user, session, runtime, filters, template="dashboard.html", nav="dashboard")


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(request: Request, user: ReaderPage, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    """One indicator for every municipality (of a district), largest first."""
    filters = read_filters(request.query_params, _compare_defaults())
    forced = {"area": ["municipality"], "by": ["area"], "period": ["year"]}
    return await _render(
        request, user, session, runtime, filters, template="compare.html", nav="compare", forced=forced, sort=True
    )


@router.get("/trends", response_class=HTMLResponse)
async def trends_page(request: Request, user: ReaderPage, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    """One indicator period by period, for the whole country or the chosen municipalities, optionally by sex."""
    filters = read_filters(request.query_params, TRENDS_DEFAULTS, extra=("by_sex",))
    indicator = CATALOGUE.get(filters.value("indicator"))
    by_sex = filters.value("by_sex") == "1" and (indicator is None or "sex" in indicator.dims)
    forced = {"area": ["country"], "by": ["period", "sex"] if by_sex else ["period"]}
    return await _render(
        request, user, session, runtime, filters, template="trends.html", nav="trends", forced=forced, kind="line"
    )
