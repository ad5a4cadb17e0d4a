"""`python -m bench.reporting`: reporting's rebuild from the topics (issue 7), against the raw limit of the same run.

Starts an embedded broker (Tansu, in memory) and creates the platform's topics, publishes ``--events`` events of
the realistic stream of ``bench/reporting_events/`` (about 10 per household, 30 months of every service's events,
seeded) as the outbox relays would (CloudEvents, keyed by aggregate, ``acks=all``), then:

* the raw limit: a plain aiokafka consumer (no group) reads every record of those topics from the beginning
  and does nothing else, with the fetch sizes the rebuild uses;
* the rebuild: ``services.reporting.rebuild.rebuild`` replays the same topics into a fresh SQLite file (the
  embedded default) — decode, ledger of processed events, projections, one transaction per batch — and, with
  ``--postgres``, again into a fresh PostgreSQL database at 127.0.0.1:5432 (dropped afterwards).

Reports events/s of each rebuild, its ratio to the raw consume rate, the target (≥ 10,000 events/s) and the
machine, and replaces this benchmark's own section of docs/benchmarks.md. Every phase is bounded in time; the
broker is the only process it starts and it is stopped at the end. ``--events 20000`` is a quick smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from bench.machine import describe, peak_rss_mib, replace_section
from bench.postgres import DEFAULT_PG, Unreachable, fresh_postgres, server_version
from bench.reporting_events import EVENTS_PER_HOUSEHOLD, generate, publish
from bench.timing import step
from shared.events import EventData
from shared.events.catalogue import SUBSCRIPTIONS
from shared.messaging.embedded import EmbeddedBroker
from shared.messaging.kafka import ensure_topics, topic_name
from shared.settings import KafkaSettings, Settings

START, END = "<!-- bench:reporting:start -->", "<!-- bench:reporting:end -->"
TARGET = 10_000  # events/s
FACT_TABLES = (
    "household_facts",
    "person_facts",
    "case_facts",
    "case_transitions",
    "referral_facts",
    "provider_facts",
    "candidate_facts",
    "opportunity_facts",
    "placement_facts",
)


def counted(events: Iterable[EventData], topics: Counter[str], types: Counter[str]) -> Iterator[EventData]:
    for event in events:
        topics[event.topic] += 1
        types[type(event).__name__] += 1
        yield event


# --- publishing ------------------------------------------------------------------------------------------------


async def publish_phase(kafka: KafkaSettings, args: argparse.Namespace, wall: float) -> dict[str, Any]:
    households = math.ceil(args.events / EVENTS_PER_HOUSEHOLD * 1.05)
    by_topic: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    stream = counted(islice(generate(households, seed=args.seed), args.events), by_topic, by_type)

    def progress(sent: int) -> None:
        if sent % 100_000 < 10_000:
            step(f"published {sent:,}", wall)

    started = time.perf_counter()
    sent = await asyncio.wait_for(
        publish(stream, kafka, duplicates=args.duplicates, seed=args.seed, progress=progress),
        timeout=args.max_phase_s,
    )
    seconds = time.perf_counter() - started
    events = sum(by_topic.values())
    if events < args.events:
        raise RuntimeError(f"the stream of {households:,} households ended after {events:,} events")
    return {
        "households": households,
        "events": events,
        "records": sent,
        "by_topic": dict(sorted(by_topic.items())),
        "by_type": dict(by_type.most_common()),
        "seconds": seconds,
        "per_s": sent / seconds,
    }


# --- the raw limit ---------------------------------------------------------------------------------------------


async def raw_consume(kafka: KafkaSettings, expected: int, *, timeout_s: float) -> dict[str, Any]:
    """Every record of reporting's topics read from the beginning by a plain consumer that does nothing else."""
    topics = [topic_name(kafka, t) for t in SUBSCRIPTIONS["reporting"]]
    reader = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await reader.start()
    try:
        got = size = 0
        started = time.perf_counter()
        deadline = started + timeout_s
        while got < expected:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the raw consumer read {got:,} of {expected:,} records in {timeout_s:.0f} s")
            batch = await reader.getmany(timeout_ms=500, max_records=10_000)
            for records in batch.values():
                got += len(records)
                size += sum(len(r.value or b"") for r in records)
        seconds = time.perf_counter() - started
    finally:
        await reader.stop()
    return {"records": got, "seconds": seconds, "per_s": got / seconds, "mean_bytes": size / max(got, 1)}


# --- the rebuild ----------------------------------------------------------------------------------------------


async def fact_counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from shared.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            counts = {}
            for table in FACT_TABLES:
                try:
                    counts[table] = int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608
                except Exception:  # a table the projection does not have (any more)
                    await conn.rollback()
            return counts
    finally:
        await engine.dispose()


async def rebuild_phase(
    kafka: KafkaSettings, data_dir: Path, url: str, expected: int, *, timeout_s: float, wall: float, label: str
) -> dict[str, Any]:
    from services.reporting.rebuild import rebuild  # another developer's module: imported when used

    settings = Settings(service="reporting", data_dir=data_dir, database_url=url, kafka=kafka)
    read, shown = [0], [0]

    def progress(count: int) -> None:
        read[0] = count
        if count - shown[0] >= 100_000:
            shown[0] = count
            step(f"{label}: {count:,} records replayed", wall)

    started = time.perf_counter()
    task = asyncio.create_task(rebuild(settings, url, progress=progress))
    await asyncio.wait({task}, timeout=timeout_s)
    if not task.done():
        # Bounded: the rate so far is the figure. A cancellation can wait for a statement in flight, so it gets a
        # minute; a PostgreSQL phase drops its database afterwards, which ends any session still running.
        seconds = time.perf_counter() - started
        task.cancel()
        await asyncio.wait({task}, timeout=60)
        step(f"{label}: stopped after {seconds:.0f} s at {read[0]:,} of {expected:,} records", wall)
        return {
            "timed_out": True,
            "events": read[0],
            "seconds": seconds,
            "wall_s": seconds,
            "per_s": read[0] / seconds,
            "error": f"stopped after {seconds:.0f} s (the bound) with {read[0]:,} of {expected:,} records replayed",
        }
    result = task.result()
    wall_s = time.perf_counter() - started
    out = {
        "events": result.events,
        "applied": result.applied,
        "duplicates": getattr(result, "duplicates", None),
        "ignored": getattr(result, "ignored", None),
        "dead_lettered": getattr(result, "dead_lettered", None),
        "seconds": result.seconds,
        "wall_s": wall_s,
        "per_s": result.events_per_second,
        "facts": await fact_counts(url),
    }
    if result.events != expected:
        out["error"] = f"the rebuild read {result.events:,} records, {expected:,} were published"
    return out


async def postgres_phase(
    kafka: KafkaSettings, data_dir: Path, dsn: str, expected: int, *, timeout_s: float, wall: float
) -> dict[str, Any]:
    try:
        version = await server_version(dsn)
    except Unreachable as exc:
        return {"skipped": str(exc)}
    async with fresh_postgres(dsn, "oslonac_bench_reporting") as (url, _):
        result = await rebuild_phase(
            kafka, data_dir, url, expected, timeout_s=timeout_s, wall=wall, label="rebuild (PostgreSQL)"
        )
    return result | {"version": str(version).split()[0]}


# --- the run --------------------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    wall = time.perf_counter()
    load_before = os.getloadavg()[0]
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="oslonac-bench-reporting-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(log_path=data_dir / "broker.log").start()
    step(f"broker on {broker.bootstrap_servers}, data in {data_dir}", wall)
    try:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers, session_timeout_ms=3000, heartbeat_interval_ms=500
        )
        await ensure_topics(kafka)
        published = await publish_phase(kafka, args, wall)
        step(f"published: {json.dumps(published)}", wall)
        raw = await raw_consume(kafka, published["records"], timeout_s=args.max_phase_s)
        step(f"raw consume: {json.dumps(raw)}", wall)
        sqlite_path = data_dir / "reporting-rebuild.db"
        for leftover in data_dir.glob("reporting-rebuild.db*"):
            leftover.unlink()
        try:
            sqlite = await rebuild_phase(
                kafka,
                data_dir,
                f"sqlite+aiosqlite:///{sqlite_path}",
                published["records"],
                timeout_s=args.max_phase_s,
                wall=wall,
                label="rebuild (SQLite)",
            )
            sqlite["db_mib"] = sum(p.stat().st_size for p in data_dir.glob("reporting-rebuild.db*")) / 2**20
        except ImportError as exc:
            sqlite = {"skipped": f"services.reporting.rebuild is not there yet ({exc})"}
        step(f"rebuild (SQLite): {json.dumps(sqlite)}", wall)
        if args.postgres and "skipped" not in sqlite:
            pg = await postgres_phase(
                kafka, data_dir, args.pg_dsn, published["records"], timeout_s=args.max_postgres_s, wall=wall
            )
        else:
            pg = {"skipped": "not asked (--postgres)" if not args.postgres else "no rebuild"}
        step(f"rebuild (PostgreSQL): {json.dumps(pg)}", wall)
        broker_rss = peak_rss_mib(broker.process.pid) if broker.process else None
    finally:
        broker.stop()
    if not args.data_dir:  # a finished run leaves nothing behind (a failed one keeps the broker log to read)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "seed": args.seed,
        "duplicates": args.duplicates,
        "published": published,
        "raw": raw,
        "sqlite": sqlite,
        "postgres": pg,
        "broker_rss_mib": broker_rss,
        "rss_mib": peak_rss_mib(os.getpid()),
        "wall_s": time.perf_counter() - wall,
        "loadavg": (load_before, os.getloadavg()[0]),
    }


# --- the report -----------------------------------------------------------------------------------------------


def _rebuild_rows(name: str, r: dict[str, Any], raw_per_s: float) -> list[str]:
    if "skipped" in r:
        return [f"| rebuild into {name} | skipped: {r['skipped']} | |"]
    met = "met" if r["per_s"] >= TARGET else "**missed**"
    if r.get("timed_out"):
        return [
            f"| **rebuild into {name}**, events/s | **{r['per_s']:,.0f}** so far: {r['error']} | "
            f"≥ {TARGET:,} (**missed**) |",
            f"| ratio rebuild/raw ({name}) | **{r['per_s'] / raw_per_s:.3f}** | |",
        ]
    rows = [
        f"| **rebuild into {name}**, events/s | **{r['per_s']:,.0f}** ({r['events']:,} records in "
        f"{r['seconds']:.1f} s; {r['wall_s']:.1f} s with the migration and the client's start) | "
        f"≥ {TARGET:,} ({met}) |",
        f"| ratio rebuild/raw ({name}) | **{r['per_s'] / raw_per_s:.3f}** | |",
        f"| applied / duplicates / ignored / dead-lettered ({name}) | {r['applied']:,} / {r['duplicates'] or 0:,} / "
        f"{r['ignored'] or 0:,} / {r['dead_lettered'] or 0:,} | |",
    ]
    if r.get("error"):
        rows.append(f"| **error** ({name}) | {r['error']} | |")
    return rows


def not_applied(by_type: dict[str, int]) -> dict[str, int]:
    """The published types reporting's projections leave alone (counted as ignored by the rebuild)."""
    try:
        from services.reporting.projection import APPLIED
    except ImportError:
        return {}
    applied = {cls.__name__ for cls in APPLIED}
    return {name: n for name, n in by_type.items() if name not in applied}


def write_section(path: Path, machine: dict[str, str], r: dict[str, Any]) -> None:
    p, raw, sq, pg = r["published"], r["raw"], r["sqlite"], r["postgres"]
    left = ", ".join(f"{name} {n:,}" for name, n in not_applied(p["by_type"]).items())
    topics = ", ".join(f"{t} {n:,}" for t, n in p["by_topic"].items())
    facts = ", ".join(f"{t} {n:,}" for t, n in sq.get("facts", {}).items())
    pg_note = (
        f"PostgreSQL {pg['version']} at 127.0.0.1:5432 on the same machine, in a fresh database dropped afterwards."
        if "version" in pg
        else f"PostgreSQL: {pg.get('skipped', 'not measured')}."
    )
    lines = [
        START,
        "## Reporting rebuild",
        "",
        f"Measured by `bench/reporting.py` on {r['date']}, on {machine['cpu']} ({machine['cores']} cores, "
        f"{machine['memory']}), {machine['os']}, Python {machine['python']}, SQLite {machine['sqlite']}; whole "
        f"benchmark {r['wall_s']:.0f} s; 1-minute load average {r['loadavg'][0]:.1f} at its start and "
        f"{r['loadavg'][1]:.1f} at its end.",
        "",
        f"**Data**: the first {p['events']:,} events of `bench/reporting_events/`'s stream of {p['households']:,} "
        f"households (seed {r['seed']}; every service's real event classes, 30 months from 2024-01-01, in time "
        f"order), published to the embedded broker as the outbox relays do, at {p['per_s']:,.0f} records/s "
        f"(generation included). By topic: {topics}."
        + (f" {r['duplicates']:.0%} of the records were sent twice (redeliveries)." if r["duplicates"] else ""),
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| raw consume (plain aiokafka, no group, nothing done with the records), records/s | "
        f"{raw['per_s']:,.0f} ({raw['records']:,} records of {raw['mean_bytes']:,.0f} bytes on average, "
        f"{raw['seconds']:.1f} s) | |",
        *_rebuild_rows("SQLite", sq, raw["per_s"]),
        *_rebuild_rows("PostgreSQL", pg, raw["per_s"]),
        f"| peak RSS of the benchmark process (generator, publisher, rebuild) | {r['rss_mib'] or 0:.0f} MiB | |",
        f"| peak RSS of the broker | {r['broker_rss_mib'] or 0:.0f} MiB | |",
    ]
    if "db_mib" in sq:
        lines.append(f"| SQLite store after the rebuild | {sq['db_mib']:.0f} MiB | |")
    lines += [
        "",
        "The rebuild is `services.reporting.rebuild.rebuild` into a fresh store: every partition of reporting's "
        "topics read from offset 0 until caught up, each fetched batch decoded, claimed in the processed-events "
        "ledger and applied to the fact projections in one transaction. Its events/s count every record read "
        "(redeliveries and types the projections leave alone included) over the replay's own time, from the first "
        "fetch to caught up, as `RebuildResult` reports it. The raw consumer reads the same records "
        "with the same fetch sizes and does nothing with them: the ratio is the share of the broker's and client's "
        "own limit the rebuild keeps. " + pg_note,
    ]
    if left:
        lines += ["", f"Published but not used by the projections (the rebuild's ignored): {left}."]
    if facts:
        lines += ["", f"Rows in the SQLite store afterwards: {facts}."]
    if sq.get("facts") and pg.get("facts"):
        differ = {t: (n, pg["facts"].get(t)) for t, n in sq["facts"].items() if pg["facts"].get(t) != n}
        lines += [
            "",
            "The PostgreSQL store has the same rows."
            if not differ
            else "**The two stores differ** (same records, other batches): "
            + ", ".join(
                f"{t} {a:,} in SQLite, {b if b is None else format(b, ',')} in PostgreSQL"
                for t, (a, b) in differ.items()
            )
            + ".",
        ]
    lines.append(END)
    replace_section(path, START, END, "\n".join(lines))


def summary(r: dict[str, Any]) -> str:
    raw = r["raw"]["per_s"]
    parts = [
        f"published {r['published']['records']:,} records at {r['published']['per_s']:,.0f}/s",
        f"raw consume {raw:,.0f}/s",
    ]
    for name in ("sqlite", "postgres"):
        x = r[name]
        if "skipped" in x:
            parts.append(f"{name}: skipped ({x['skipped']})")
        else:
            parts.append(f"rebuild {name} {x['per_s']:,.0f} events/s (ratio {x['per_s'] / raw:.3f}, target {TARGET:,})")
    return " · ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to publish (20000: a smoke run)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duplicates", type=float, default=0.0, help="share of records sent twice (redelivery)")
    parser.add_argument("--postgres", action="store_true", help="also rebuild into a fresh PostgreSQL database")
    parser.add_argument("--pg-dsn", default=os.environ.get("OSLONAC_TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--max-phase-s", type=float, default=1800.0, help="time bound of each phase")
    parser.add_argument("--max-postgres-s", type=float, default=600.0, help="time bound of the PostgreSQL rebuild")
    parser.add_argument("--data-dir", help="keep the broker log and the SQLite store here (default: a temp folder)")
    parser.add_argument("--report", default="docs/benchmarks.md")
    parser.add_argument("--no-report", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be positive")
    results = asyncio.run(main_async(args))
    if not args.no_report:
        write_section(Path(args.report), describe(), results)
    print("\n" + summary(results) + ("" if args.no_report else f"\nwritten to {args.report}"))


if __name__ == "__main__":
    main()
