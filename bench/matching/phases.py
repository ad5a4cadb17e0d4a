"""(a) and (b) in this process: production's shortlist and recompute timed step by step, the event loop watched."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from services.activation import matching, repository, service
from services.activation.models import Candidate
from shared.auth import Role, User
from shared.db import create_engine, session_factory, unit_of_work

Counter = Callable[[tuple[Any, ...], Any], dict[str, int]]


@dataclass
class Phases:
    """Time the steps a service function calls, by wrapping them where it looks them up (module attributes).

    A phase gets its own time only: a wrapped step called inside another (``evaluate`` in ``_rank_all``,
    ``from_rows`` in ``candidate_pool``) is taken out of the outer one's. The service awaits its steps one after
    another (the worker thread's while the event loop waits for it), so one stack of the open steps suffices."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls: list[tuple[str, float, float]] = field(default_factory=list)  # (phase, start, end) of every call
    _open: list[list[float]] = field(default_factory=list)  # per open step: time spent in steps inside it

    @contextmanager
    def patched(self, targets: Sequence[tuple[Any, str, str, Counter | None]]) -> Iterator[None]:
        originals: list[tuple[Any, str, Any]] = []
        try:
            for owner, name, phase, counter in targets:
                original = getattr(owner, name)
                originals.append((owner, name, owner.__dict__[name]))
                setattr(owner, name, self._timed(original, phase, counter, owner is matching.Pool))
            yield
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)

    def _begin(self) -> float:
        self._open.append([0.0])
        return time.perf_counter()

    def _end(self, phase: str, started: float) -> None:
        ended = time.perf_counter()
        elapsed = ended - started
        self.calls.append((phase, started, ended))
        inner = self._open.pop()[0]
        self.seconds[phase] += elapsed - inner
        if self._open:
            self._open[-1][0] += elapsed

    def _count(self, counter: Counter | None, args: tuple[Any, ...], result: Any) -> None:
        if counter is not None:
            for key, n in counter(args, result).items():
                self.counts[key] += n

    def _timed(self, original: Callable[..., Any], phase: str, counter: Counter | None, static: bool) -> Any:
        if asyncio.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = self._begin()
                try:
                    result = await original(*args, **kwargs)
                    self._count(counter, args, result)
                    return result
                finally:
                    self._end(phase, started)

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = self._begin()
            try:
                result = original(*args, **kwargs)
                self._count(counter, args, result)
                return result
            finally:
                self._end(phase, started)

        return staticmethod(timed) if static else timed


def _rows(_args: tuple[Any, ...], result: Any) -> dict[str, int]:
    return {"rows": len(result), "queries": 1}


def _written(args: tuple[Any, ...], _result: Any) -> dict[str, int]:
    return {"written_opportunities": len(args[1]), "written_entries": len(args[2]), "write_transactions": 1}


def _stored(_args: tuple[Any, ...], result: Any) -> dict[str, int]:
    return {"stored_digests": len(result)}


RECOMPUTE_STEPS: tuple[tuple[Any, str, str, Counter | None], ...] = (
    (repository, "shortlist_digests", "stored", _stored),
    (service, "_candidate_rows", "load_tx", None),
    (repository, "candidate_rows", "load", _rows),
    (matching.Pool, "from_rows", "pool", None),
    (service, "_rank_all", "rank_rest", None),
    (matching, "evaluate", "rank", None),
    (matching, "top", "rank", None),
    (service, "_write_changes", "write_rest", None),
    (repository, "replace_shortlists", "write", _written),
)
RECOMPUTE_PHASES = ("stored", "load", "load_tx", "pool", "rank", "rank_rest", "write", "write_rest", "other")
SHORTLIST_STEPS: tuple[tuple[Any, str, str, Counter | None], ...] = (
    (repository, "candidate_pool", "load", _rows),
    (matching.Pool, "from_rows", "pool", None),
    (matching, "evaluate", "rank", None),
    (matching, "top", "rank", None),
    (matching, "explain", "explain", None),
)


@contextmanager
def counted_transactions(phases: Phases) -> Iterator[None]:
    """Count the units of work ``service`` opens (``service.unit_of_work`` is ``shared.db``'s, imported there)."""
    original = getattr(service, "unit_of_work")  # noqa: B009

    def counting(factory: Any) -> Any:
        phases.counts["transactions"] += 1
        return original(factory)

    setattr(service, "unit_of_work", counting)  # noqa: B010
    try:
        yield
    finally:
        setattr(service, "unit_of_work", original)  # noqa: B010


STALL_TICK_S, STALL_S = 0.005, 0.02


async def watch_loop(stalls: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """The event loop's stalls: a 5 ms sleep that wakes more than 20 ms late means nothing else could run
    (requests included, in the service) for that long; (start, seconds)."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(STALL_TICK_S)
        now = time.perf_counter()
        lag = now - last - STALL_TICK_S
        if lag > STALL_S:
            stalls.append((last + STALL_TICK_S, lag))
        last = now


def stalled_in(phases: Phases, start: float, seconds: float) -> str:
    """The step a stall happened in: of the calls covering most of it, the innermost (shortest)."""
    end = start + seconds
    overlaps = [(min(end, e) - max(start, s), e - s, phase) for phase, s, e in phases.calls if s < end and e > start]
    best = max((o for o, _, _ in overlaps), default=0.0)
    if best < seconds / 2:
        return "other"
    return min((d, phase) for o, d, phase in overlaps if o >= 0.8 * best)[1]


async def timed_recompute(url: str) -> dict[str, Any]:
    """``service.recompute_shortlists`` with production's engine and sessionmaker, as the refresh and the API call
    it, timed by phase, with the event loop watched for stalls (in the service they hold up every request)."""
    engine = create_engine(url)
    phases = Phases()
    stalls: list[tuple[float, float]] = []
    stop = asyncio.Event()
    try:
        with phases.patched(RECOMPUTE_STEPS), counted_transactions(phases):
            watcher = asyncio.create_task(watch_loop(stalls, stop))
            await asyncio.sleep(STALL_TICK_S * 2)
            started = time.perf_counter()
            try:
                run = await service.recompute_shortlists(session_factory(engine))
            finally:
                total = time.perf_counter() - started
                stop.set()
                await watcher
    finally:
        await engine.dispose()
    worst = sorted(stalls, key=lambda stall: -stall[1])
    stalled = {
        "count": len(stalls),
        "seconds": sum(lag for _, lag in stalls),
        "worst": [(lag, stalled_in(phases, at, lag), max(0.0, at - started)) for at, lag in worst[:3]],
    }
    split = {key: phases.seconds.get(key, 0.0) for key in RECOMPUTE_PHASES if key != "other"}
    split["other"] = total - sum(split.values())
    return {
        "total_s": total,
        "entries": run.entries,
        "candidates": run.candidates,
        "opportunities": run.opportunities,
        "split": split,
        "stalls": stalled,
        "counts": {
            key: phases.counts.get(key, 0)
            for key in (
                "rows",
                "queries",
                "stored_digests",
                "written_opportunities",
                "written_entries",
                "write_transactions",
                "transactions",
            )
        },
    }


async def shortlist_split(url: str, sampled: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """(a) by step, in this process: ``service.shortlist`` for the first of the sampled opportunities."""
    engine = create_engine(url)
    phases, total = Phases(), 0.0
    try:
        with phases.patched(SHORTLIST_STEPS):
            for offer in sampled:
                code = offer["municipality_code"]
                user = User(f"worker-{code}", frozenset({Role.case_worker.value}), frozenset({code}))
                async with unit_of_work(session_factory(engine)) as session:
                    started = time.perf_counter()
                    await service.shortlist(session=session, user=user, opportunity_id=uuid.UUID(offer["id"]), limit=50)
                    total += time.perf_counter() - started
    finally:
        await engine.dispose()
    split = {key: phases.seconds.get(key, 0.0) for key in ("load", "pool", "rank", "explain")}
    split["other"] = total - sum(split.values())
    return {"count": len(sampled), "total_s": total, "split": split, "rows": phases.counts["rows"]}


def candidate_select() -> Any:
    """The statement ``repository.candidate_pool`` runs for every municipality (the text columns)."""
    return select(*repository._RAW_COLUMNS).where(Candidate.active.is_(True))


def candidate_sql(dialect: Any, municipalities: Sequence[str] | None = None) -> str:
    """That statement as the database receives it, for the raw driver alone (the floor reads exactly the same)."""
    stmt = candidate_select()
    if municipalities is not None:
        stmt = stmt.where(Candidate.municipality_code.in_(list(municipalities)))
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


async def load_split(url: str) -> dict[str, float]:
    """Every candidate read in one query as ``candidate_pool`` does, in three steps: the query with SQLAlchemy's
    rows, the ``RawCandidate`` tuples, ``Pool.from_rows``."""
    engine = create_engine(url)
    try:
        async with unit_of_work(session_factory(engine)) as session:
            started = time.perf_counter()
            rows = (await session.execute(candidate_select())).all()
            fetched = time.perf_counter()
        raw = [matching.RawCandidate(*row) for row in rows]
        tupled = time.perf_counter()
        matching.Pool.from_rows(raw)
        pooled = time.perf_counter()
    finally:
        await engine.dispose()
    return {"query_s": fetched - started, "tuples_s": tupled - fetched, "pool_s": pooled - tupled, "rows": len(raw)}
