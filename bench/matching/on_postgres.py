"""(b) on PostgreSQL: the SQLite database's rows copied into a fresh database, recomputed, and its raw floors."""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg
from sqlalchemy import JSON, insert, select
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.matching.phases import candidate_sql, load_split, timed_recompute
from bench.postgres import Unreachable, fresh_postgres, server_version
from services.activation.app import MIGRATIONS
from services.activation.models import Base
from shared.db import create_engine, migrate


async def copy_tables(source: AsyncEngine, target: AsyncEngine, raw_dsn: str) -> None:
    """The SQLite database's activation rows, table by table, read through SQLAlchemy's types (the same data);
    the candidates with COPY, the small tables with inserts."""
    for name in ("organisations", "forums", "forum_members", "agreements", "opportunities", "candidates"):
        table = Base.metadata.tables[name]
        async with source.connect() as src:
            rows = [dict(r._mapping) for r in await src.execute(select(table))]
        if name != "candidates":
            async with target.begin() as dst:
                await dst.execute(insert(table), rows)
            continue
        columns = [c.name for c in table.columns]
        as_text = {c.name for c in table.columns if isinstance(c.type, JSON)}
        records = [tuple(json.dumps(r[c]) if c in as_text else r[c] for c in columns) for r in rows]
        conn = await asyncpg.connect(raw_dsn)
        try:
            await conn.copy_records_to_table(name, records=records, columns=columns)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()


async def postgres_phase(sqlite_url: str, dsn: str) -> dict[str, Any]:
    try:
        version = await server_version(dsn)
    except Unreachable as exc:
        return {"skipped": str(exc)}
    async with fresh_postgres(dsn, "oslonac_bench_matching") as (url, raw_dsn):
        engine = create_engine(url)
        source = create_engine(sqlite_url)
        try:
            await migrate(engine, MIGRATIONS)
            started = time.perf_counter()
            await copy_tables(source, engine, raw_dsn)
            copy_s = time.perf_counter() - started
        finally:
            await source.dispose()
            await engine.dispose()
        first = await timed_recompute(url)
        second = await timed_recompute(url)
        split = await load_split(url)
        conn = await asyncpg.connect(raw_dsn)
        try:
            started = time.perf_counter()
            rows = await conn.fetch(candidate_sql(postgresql_dialect.dialect()))  # type: ignore[no-untyped-call]
            select_s = time.perf_counter() - started
            started = time.perf_counter()
            stored = await conn.fetch("SELECT opportunity_id, person_id, rank, score FROM shortlist_entries")
            stored_s = time.perf_counter() - started
            entries = [tuple(r) for r in stored]
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute("DELETE FROM shortlist_entries")
                await conn.executemany(
                    "INSERT INTO shortlist_entries (opportunity_id, person_id, rank, score) VALUES ($1, $2, $3, $4)",
                    entries,
                )
            write_s = time.perf_counter() - started
        finally:
            await conn.close()
    return {
        "version": version,
        "copy_s": copy_s,
        "first": first,
        "second": second,
        "load_split": split,
        "raw": {
            "select_s": select_s,
            "rows": len(rows),
            "stored_s": stored_s,
            "write_s": write_s,
            "entries": len(entries),
        },
    }
