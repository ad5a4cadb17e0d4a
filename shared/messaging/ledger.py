"""The processed-events ledger: which event ids a consumer has applied, claimed in the handler's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Executable, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import PlumbingTables, utcnow
from shared.events.envelope import Envelope


@dataclass
class ProcessedLedger:
    """Claims an event id for a consumer inside the handler's transaction."""

    tables: PlumbingTables
    consumer: str
    # True when this ledger alone writes a store that started empty (a rebuild): it keeps every id claimed so far
    # in memory, and claiming needs no lookup.
    fresh_store: bool = False

    def __post_init__(self) -> None:
        self.known: set[str] | None = set() if self.fresh_store else None
        table = self.tables.processed_events
        # Compiled once per dialect and executed with parameters: this runs for every event.
        self._statements: dict[str, Executable] = {
            "postgresql": pg_insert(table).on_conflict_do_nothing(),
            "sqlite": sqlite_insert(table).on_conflict_do_nothing(),
        }

    def forget(self, event_ids: Sequence[str]) -> None:
        """The transaction that claimed ``event_ids`` rolled back: they are not claimed after all."""
        if self.known is not None:
            self.known.difference_update(event_ids)

    async def claim(self, session: AsyncSession, envelope: Envelope) -> bool:
        # On the session's connection, as Core: the ORM's statement path costs more than the insert itself.
        conn = await session.connection()
        stmt = self._statements.get(conn.dialect.name)
        if stmt is None:  # pragma: no cover - only the two supported stores
            stmt = insert(self.tables.processed_events)
        result = await conn.execute(
            stmt,
            {"consumer": self.consumer, "event_id": envelope.id, "event_type": envelope.type, "processed_at": utcnow()},
        )
        return bool(getattr(result, "rowcount", 0))

    async def claim_many(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> list[bool]:
        """Claim many event ids with one statement: True for each id not claimed before (a repeat within
        ``envelopes`` too is False). The insert skips ids already in the ledger and returns the ones it added,
        so no lookup runs first (a lookup by a long IN list can get a poor cached plan on a young table)."""
        conn = await session.connection()
        table = self.tables.processed_events
        now = utcnow()
        first: dict[str, dict[str, object]] = {}
        for envelope in envelopes:
            if envelope.id not in first and (self.known is None or envelope.id not in self.known):
                first[envelope.id] = {
                    "consumer": self.consumer,
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "processed_at": now,
                }
        added: set[str] = set()
        if first and self.known is not None:  # only this replay writes the ledger: nothing to skip
            await conn.execute(insert(table), list(first.values()))
            added = set(first)
            self.known.update(added)
        elif first:
            dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = dialect_insert(table).on_conflict_do_nothing().returning(table.c.event_id)
            added = set((await conn.execute(stmt, list(first.values()))).scalars())
        claimed: list[bool] = []
        for envelope in envelopes:
            claimed.append(envelope.id in added)
            added.discard(envelope.id)  # a repeat within the batch is a duplicate
        return claimed
