"""Reporting's HTTP API: aggregates only."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.reporting import feed, indicators, service
from services.reporting.schemas import (
    CataloguePublic,
    IndicatorsPublic,
    ProjectionTimesPublic,
    ProjectionTimesRequest,
    TablePublic,
)
from shared.auth import Role, User, require_role
from shared.db import unit_of_work
from shared.errors import Invalid, field_error
from shared.messaging.runtime import ServiceRuntime
from shared.web import RuntimeDep, SessionDep

router = APIRouter(prefix="/api", tags=["reporting"])
Reader = Annotated[User, Depends(require_role(Role.analyst, Role.supervisor, Role.case_worker, Role.admin))]
Admin = Annotated[User, Depends(require_role(Role.admin))]

STREAM_POLL_S = 0.1
# Feed ids are SQL integers: a larger one (or "²", which isdigit() accepts) would be a 500, not a 422.
MAX_EVENT_ID = 2**62
EVENT_ID = re.compile(r"[0-9]{1,19}")
STREAM_HEARTBEAT_S = 15.0


@router.get("/catalogue", response_model=CataloguePublic)
async def catalogue(_user: Reader) -> CataloguePublic:
    """Every indicator with its unit, kind, the dimensions it breaks down by, and the filters' values."""
    return service.catalogue()


@router.get("/indicators", response_model=TablePublic, response_model_by_alias=True)
async def indicator_table(
    request: Request,
    user: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    indicator: Annotated[str, Query(description="an indicator name from /catalogue")],
    period: Annotated[str, Query(description="month, quarter or year")] = "year",
    from_: Annotated[str | None, Query(alias="from", description="first month, YYYY-MM")] = None,
    to: Annotated[str | None, Query(description="last month, YYYY-MM (default: this month)")] = None,
    area: Annotated[str, Query(description="municipality, district or country")] = "country",
    municipality: Annotated[list[str] | None, Query(description="official codes (repeat or comma-separate)")] = None,
    district: Annotated[list[str] | None, Query(description="district names")] = None,
    sex: Annotated[str | None, Query(description="F or M")] = None,
    age_band: Annotated[str | None, Query(description="0-17, 18-29, 30-49, 50-64 or 65+")] = None,
    group: Annotated[str | None, Query(description="a vulnerable group")] = None,
    by: Annotated[list[str] | None, Query(description="period, area, sex, age_band, group, category")] = None,
) -> TablePublic:
    """One indicator as a table: filtered, broken down by the dimensions in ``by``, at the area level asked.
    Counts from 1 to 4 are shown as "<5" unless you may see exact figures (admins; supervisors and case
    workers for their own municipalities)."""
    query = indicators.parse_query(_params(request))
    result = await service.table(session=session, user=user, query=query, caseload_norm=runtime.settings.caseload_norm)
    return service.table_public(result)


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


@router.get("/summary", response_model=list[IndicatorsPublic])
async def summary(
    user: Reader,
    session: SessionDep,
    municipality: Annotated[str | None, Query(pattern=r"^[0-9]{5}$", description="Official code")] = None,
) -> list[IndicatorsPublic]:
    """Headline figures as they stand now: one municipality, or every municipality with data and the country."""
    return await service.summary(session=session, user=user, municipality_code=municipality)


@router.get(
    "/indicators/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def indicator_stream(
    request: Request,
    _user: Reader,
    runtime: RuntimeDep,
    municipality: Annotated[list[str] | None, Query(description="only these municipalities")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="resume after this event id (for clients without headers)")
    ] = None,
) -> StreamingResponse:
    """Indicator changes as Server-Sent Events (``event: indicators.updated``, data as on the Kafka topic
    ``reporting.indicators``, small cells suppressed). Reconnect with ``Last-Event-ID`` to resume; a client
    that was away longer than the feed is kept gets ``event: reset`` and should reload its tables."""
    codes = frozenset(code for item in municipality or [] for code in item.split(",") if code)
    for code in codes:
        if not code.isdigit() or len(code) != 5:
            raise Invalid(
                "Unknown municipality code.",
                reason="unknown_municipality",
                params={"code": code},
                details=[field_error(["query", "municipality"], code, "unknown_municipality", params={"code": code})],
            )
    start: int | None = since
    if last_event_id is not None:
        if not EVENT_ID.fullmatch(last_event_id.strip()) or int(last_event_id) > MAX_EVENT_ID:
            raise Invalid(
                "Last-Event-ID must be an event id this stream sent.",
                reason="unknown_event_id",
                details=[field_error(["header", "Last-Event-ID"], "a whole number", "unknown_event_id")],
            )
        start = int(last_event_id)
    return StreamingResponse(
        _events(request, runtime, start, codes),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, runtime: ServiceRuntime, start: int | None, codes: frozenset[str]
) -> AsyncIterator[bytes]:
    yield b"retry: 2000\n\n"
    async with unit_of_work(runtime.sessions) as session:
        if start is None:
            position = await feed.latest_seq(session)  # a new client starts with what happens from now on
        else:
            position = start
            oldest = await feed.oldest_seq(session)
            if oldest is not None and start < oldest - 1:
                yield f"id: {oldest - 1}\nevent: reset\ndata: {{}}\n\n".encode()
                position = oldest - 1
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    while not await request.is_disconnected():
        async with unit_of_work(runtime.sessions) as session:
            entries = await feed.entries_after(session, position, municipalities_=codes or None)
        for seq, data in entries:
            payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            yield f"id: {seq}\nevent: indicators.updated\ndata: {payload}\n\n".encode()
            position = seq
        if entries:
            quiet_since = loop.time()
            continue
        if loop.time() - quiet_since > STREAM_HEARTBEAT_S:
            yield b": still here\n\n"
            quiet_since = loop.time()
        await asyncio.sleep(STREAM_POLL_S)


@router.post("/projection-times", response_model=ProjectionTimesPublic)
async def projection_times(body: ProjectionTimesRequest, _user: Admin, session: SessionDep) -> ProjectionTimesPublic:
    """When each household reached the indicators (for freshness measurements); pseudonymous ids only."""
    found = await service.projection_times(session=session, household_ids=body.household_ids)
    return ProjectionTimesPublic(projected_at=found)
