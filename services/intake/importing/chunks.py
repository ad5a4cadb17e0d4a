"""One chunk's transaction: households imported before skipped, registered JMBGs refused, the rest registered with
their events, and the references, row errors and the job's progress recorded — all in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository as registry
from services.intake.importing import repository
from services.intake.importing.reading import Group
from services.intake.importing.validation import Checked, FileContext, RowError
from services.intake.records import Prepared, store_prepared
from shared.messaging.outbox import OutboxWriter


async def store_chunk(
    session: AsyncSession,
    outbox: OutboxWriter,
    job_id: uuid.UUID,
    checked: list[Checked],
    prepared: dict[int, Prepared],
    *,
    ctx: FileContext,
    now: datetime,
) -> None:
    """Skip households imported before, refuse registered JMBGs, register the rest with their events, and record
    references, row errors and the job's progress: all in the caller's transaction."""
    keys = [c.group.key for c in checked if c.keyed and c.group.key is not None]
    imported_before = await repository.imported_refs(session, keys)
    jmbgs = [m.jmbg for c in checked if id(c) in prepared and c.data for m in c.data.members if m.jmbg]
    registered = await registry.existing_jmbgs(session, jmbgs) if jmbgs else {}
    stored: list[Checked] = []
    counts = {"rows_done": 0, "rows_imported": 0, "rows_failed": 0, "rows_skipped": 0, "households_created": 0}
    error_rows: list[dict[str, Any]] = []
    for c in checked:
        size = len(c.group.rows)
        counts["rows_done"] += size
        if c.keyed and c.group.key in imported_before:
            counts["rows_skipped"] += size
            continue
        errors = list(c.errors)
        if c.data is not None:
            for (number, _), member in zip(c.group.rows, c.data.members, strict=True):
                if member.jmbg in registered:
                    household_id, code = registered[member.jmbg]
                    where = (
                        f"in household {household_id}"
                        if ctx.scope is None or code in ctx.scope
                        else "in another municipality (ask its office)"
                    )
                    # The row itself holds the JMBG: the stored message does not repeat it.
                    errors.append(RowError(number, "jmbg", f"jmbg: this JMBG is already registered {where}"))
        if errors or c.data is None:
            counts["rows_failed"] += size
            error_rows.extend(_error_rows(job_id, c.group, errors))
            continue
        stored.append(c)
        counts["rows_imported"] += size
    if stored:
        await store_prepared(session, outbox, [prepared[id(c)] for c in stored], now=now)
        await repository.record_imported(
            session,
            [
                {
                    "municipality_code": c.group.key[0],
                    "household_ref": c.group.key[1],
                    "household_id": prepared[id(c)].household_id,
                    "job_id": job_id,
                }
                for c in stored
                if c.group.key is not None
            ],
        )
        counts["households_created"] = len(stored)
    if error_rows:
        await repository.record_row_errors(session, error_rows)
    await repository.add_progress(session, job_id, counts)


def _error_rows(job_id: uuid.UUID, group: Group, errors: list[RowError]) -> Iterable[dict[str, Any]]:
    failing = sorted({e.row for e in errors})
    ref = group.ref
    for error in sorted(errors, key=lambda e: e.row):
        yield {
            "job_id": job_id,
            "row_number": error.row,
            "household_ref": ref[:100] if ref else None,
            "column": error.column,
            "message": error.message,
        }
    others = ", ".join(str(n) for n in failing)
    for number, _ in group.rows:
        if number not in failing:
            yield {
                "job_id": job_id,
                "row_number": number,
                "household_ref": ref[:100] if ref else None,
                "column": None,
                "message": f"another row of this household has an error (row {others}); the household was not imported",
            }
