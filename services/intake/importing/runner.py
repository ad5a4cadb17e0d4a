"""The background runner of import jobs: the oldest queued or interrupted job nobody else runs, in chunks of about
``CHUNK_ROWS`` rows — validation outside any transaction, then one short transaction per chunk."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, defer

from services.intake import access
from services.intake import repository as registry
from services.intake.importing import repository
from services.intake.importing.chunks import store_chunk
from services.intake.importing.reading import Group, decode, households, plan_file, read_layout
from services.intake.importing.validation import Checked, FileContext, check_household
from services.intake.models import ImportJob
from services.intake.records import Prepared, prepare_household
from shared.db import Backoff, advisory_lock, retry_until_available, unit_of_work, utcnow
from shared.errors import DomainError
from shared.messaging.outbox import OutboxWriter
from shared.messaging.runtime import ServiceRuntime
from shared.observability.outage import Outage

log = structlog.get_logger(__name__)

CHUNK_ROWS = 2000  # per transaction: on SQLite the event loop waits for each one (see the module docstring)
IDLE_POLL_S = 30.0  # a backstop only: a job created in this process wakes the runner at once


_runners: weakref.WeakSet[ImportRunner] = weakref.WeakSet()


def wake_runners(_session: Session | None = None) -> None:
    """After the commit that queued a job: every runner of this process looks for work now."""
    for runner in list(_runners):
        runner.wake()


async def run_imports(runtime: ServiceRuntime) -> None:
    """The runtime's background work: run queued jobs, resume interrupted ones, until cancelled."""
    await ImportRunner(sessions=runtime.sessions, engine=runtime.engine, outbox=runtime.outbox).run()


@dataclass(eq=False)
class ImportRunner:
    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    outbox: OutboxWriter
    chunk_rows: int | None = None  # None: CHUNK_ROWS as it is when a job runs
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        _runners.add(self)
        backoff = Backoff(first_s=0.5, max_s=30.0)
        while True:
            self._wake.clear()
            try:
                worked = await self.run_next()
                backoff.reset()
            except Exception as exc:
                wait = backoff.next()
                log.warning("intake.import.runner_failed", error=repr(exc)[:500], retry_in=wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                continue
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=IDLE_POLL_S)

    async def run_next(self) -> bool:
        """Run the oldest queued or interrupted job nobody else runs; False when there is none."""
        async with unit_of_work(self.sessions) as session:
            ids = await repository.pending_job_ids(session)
        for job_id in ids:
            async with advisory_lock(self.engine, f"oslonac-import-{job_id}") as held:
                if held:
                    await self.run_job(job_id)
                    return True
        return False

    async def run_job(self, job_id: uuid.UUID) -> None:
        with _heap_frozen():
            await self._run_job(job_id)

    async def _run_job(self, job_id: uuid.UUID) -> None:
        async with unit_of_work(self.sessions) as session:
            job = await session.get(ImportJob, job_id)
            if job is None or job.status not in ("queued", "running"):
                return
            if job.content is None:
                job.status, job.error, job.finished_at = "failed", "the uploaded file is no longer stored", utcnow()
                return
            resumed = job.status == "running"
            job.status = "running"
            job.started_at = job.started_at or utcnow()
            content, scope, by, skip = job.content, job.municipalities or [], job.created_by, job.rows_done
            lines = await registry.poverty_lines(session)
        log.info("intake.import.started", job_id=str(job_id), resumed=resumed, rows_done=skip)
        try:
            text = decode(content)
            layout = read_layout(text)
            plan = plan_file(text, layout)
        except (DomainError, csv.Error) as exc:
            await self._finish(job_id, error=getattr(exc, "message", str(exc)))
            return
        ctx = FileContext(
            layout=layout,
            scope=None if access.ALL_MUNICIPALITIES in scope else frozenset(scope),
            first_jmbg=plan.first_jmbg,
        )
        chunk: list[Group] = []
        rows = passed = 0
        groups = households(text, layout, plan)
        while True:
            try:
                group = next(groups, None)
            except csv.Error as exc:  # checked at upload: only a stored file changed since could do this
                await self._finish(job_id, error=f"the file is not valid CSV: {exc}")
                return
            if group is not None and passed < skip:  # done before a restart (chunks end with a household)
                passed += len(group.rows)
                continue
            if group is not None:
                chunk.append(group)
                rows += len(group.rows)
            if (rows >= (self.chunk_rows or CHUNK_ROWS) or group is None) and chunk:
                if not await self._chunk(job_id, chunk, ctx, by=by, lines=lines):
                    return
                chunk, rows = [], 0
            if group is None:
                break
        await self._finish(job_id, error=None)

    async def _chunk(
        self, job_id: uuid.UUID, groups: list[Group], ctx: FileContext, *, by: str, lines: dict[int, float]
    ) -> bool:
        """Validate ``groups`` and store them in one transaction; False when the job had to be given up."""
        checked: list[Checked] = []
        prepared: dict[int, Prepared] = {}
        now = utcnow()
        budget, group = 0, groups[0]
        try:
            for group in groups:
                one = check_household(group, ctx)
                if one.data is not None:
                    prepared[id(one)] = prepare_household(one.data, registered_by=by, now=now, lines=lines)
                checked.append(one)
                budget += len(group.rows)
                if budget >= 250:  # let requests and the relay run between slices of validation
                    budget = 0
                    await asyncio.sleep(0)
        except Exception as exc:  # a bug: retrying would fail the same way, forever
            log.exception("intake.import.validation_failed", job_id=str(job_id))
            await self._finish(job_id, error=f"internal error at row {group.rows[0][0]}: {exc!r}"[:2000])
            return False

        async def store() -> None:
            async with unit_of_work(self.sessions) as session:
                await store_chunk(session, self.outbox, job_id, checked, prepared, ctx=ctx, now=now)

        outage = Outage("intake.import.store", fields={"job_id": str(job_id)})
        for attempt in range(1, 4):
            try:
                await retry_until_available(store, backoff=Backoff(first_s=0.5, max_s=10.0), outage=outage)
                break
            except IntegrityError as exc:  # a registration or another job took a JMBG or a reference meanwhile
                if attempt >= 3:
                    await self._finish(job_id, error=f"rows {groups[0].rows[0][0]}…: {exc.orig!r}"[:2000])
                    return False
                log.warning("intake.import.chunk_conflict", job_id=str(job_id), attempt=attempt)
            except Exception as exc:
                log.exception("intake.import.chunk_failed", job_id=str(job_id))
                await self._finish(job_id, error=f"internal error at row {groups[0].rows[0][0]}: {exc!r}"[:2000])
                return False
        await asyncio.sleep(0)
        return True

    async def _finish(self, job_id: uuid.UUID, *, error: str | None) -> None:
        async with unit_of_work(self.sessions) as session:
            job = await session.get(ImportJob, job_id, options=[defer(ImportJob.content)])
            if job is None:
                return
            job.status = "failed" if error else "done"
            job.error = error
            job.finished_at = utcnow()
            if not error and job.rows_failed == 0:
                job.content = None  # kept only while a resume or the error report needs it
        log.info(
            "intake.import.finished",
            job_id=str(job_id),
            status=job.status,
            rows=job.rows_done,
            imported=job.rows_imported,
            failed=job.rows_failed,
            skipped=job.rows_skipped,
            households=job.households_created,
            error=error,
        )


_frozen = 0


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """While a job runs, the cyclic collector leaves the objects that existed before it alone (``gc.freeze``).

    A job allocates millions of short-lived objects, so full collections come often, and each walked the whole
    service heap: 100,000 rows went from about 2,700 to 3,500 rows/s with this (bench/imports.py). Objects freed
    by reference counting are freed as usual; only cyclic garbage among the older objects waits until the end.
    """
    global _frozen
    if _frozen == 0:
        gc.freeze()
    _frozen += 1
    try:
        yield
    finally:
        _frozen -= 1
        if _frozen == 0:
            gc.unfreeze()
