"""`python -m bench.matching`: generate, load, measure (a), (b), the raw floor, (b) on PostgreSQL and (c)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bench import matching as package
from bench.machine import describe
from bench.matching.data import Data, generate, load_events
from bench.matching.on_postgres import postgres_phase
from bench.matching.phases import load_split, shortlist_split, timed_recompute
from bench.matching.raw import raw_sqlite
from bench.matching.report import write_section
from bench.matching.responsiveness import responsiveness
from bench.matching.server import Tokens, set_up_over_api, shortlists_over_http, start_server
from bench.postgres import DEFAULT_PG
from bench.timing import step
from services.activation.app import MIGRATIONS
from shared.auth import generate_keypair
from shared.db import migrate_sync


def describe_data(data: Data, seconds: float) -> dict[str, Any]:
    on = date.today()
    with_since = [c for c in data.candidates if c.unemployed_since is not None]
    long_term = sum(
        1
        for c in with_since
        if c.unemployed_since is not None
        and (on.year - c.unemployed_since.year) * 12 + on.month - c.unemployed_since.month >= 12
    )
    reach = [len(r) for r in data.reach.values()]
    return {
        "seconds": seconds,
        "candidates": len(data.candidates),
        "municipalities": len(data.reach),
        "with_since": len(with_since) / len(data.candidates),
        "long_term": long_term / len(data.candidates),
        "agreements": len(data.agreements),
        "work_agreements": sum(1 for a in data.agreements if "work_engagement" in a.service_types),
        "reach_mean": statistics.fmean(reach),
        "reach_max": max(reach),
        "forums": len(data.forums),
        "organisations": len(data.organisations),
        "opportunities": len(data.opportunities),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    wall = time.perf_counter()
    load_before = os.getloadavg()[0]
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="oslonac-bench-matching-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "activation.db"
    url = f"sqlite+aiosqlite:///{db_path.resolve()}"
    started = time.perf_counter()
    data = generate(
        candidates=args.candidates, opportunities=args.opportunities, neighbours=args.neighbours, seed=args.seed
    )
    generated = describe_data(data, time.perf_counter() - started)
    step(f"generated {len(data.candidates):,} candidates, {len(data.opportunities):,} opportunities", wall)
    await asyncio.to_thread(migrate_sync, url, MIGRATIONS)
    private_path, public_path = generate_keypair(data_dir / "keys")
    sample = min(args.handler_sample, args.candidates)
    load = await load_events(data_dir, public_path, data, sample=sample, batch=args.batch)
    step(f"loaded: {json.dumps(load)}", wall)
    data.candidates.clear()  # this process then holds about what the service's does (collections walk the heap)
    gc.collect()
    tokens = Tokens(private_path.read_text())
    server = await asyncio.to_thread(start_server, data_dir, public_path)
    try:
        step(f"activation up on 127.0.0.1:{server.port} (pid {server.process.pid})", wall)
        setup = await set_up_over_api(server, data, tokens, concurrency=args.concurrency)
        forum_ids = setup.pop("forum_ids")
        step(f"forums, organisations, opportunities through the API in {setup['seconds']:.1f} s", wall)
        http = await shortlists_over_http(
            server, data, tokens, requests=args.requests, warmup=args.warmup, max_s=args.max_request_s, seed=args.seed
        )
        step(
            f"(a) {http['requests']} shortlists: {json.dumps({k: http[k] for k in ('http', 'service', 'eligible')})}",
            wall,
        )
    finally:
        await asyncio.to_thread(server.stop)
    sampled = http.pop("opportunities")
    by_step = await shortlist_split(url, sampled[: args.split_requests])
    step(f"(a) by step: {json.dumps(by_step)}", wall)
    first = await timed_recompute(url)
    step(f"(b) run 1: {first['total_s']:.1f} s, {json.dumps(first['split'])}, {json.dumps(first['counts'])}", wall)
    second = await timed_recompute(url)
    step(f"(b) run 2: {second['total_s']:.1f} s, {json.dumps(second['split'])}, {json.dumps(second['counts'])}", wall)
    split = await load_split(url)
    step(f"load in one query: {json.dumps(split)}", wall)
    raw = await asyncio.to_thread(raw_sqlite, db_path, data, sampled, 50, by_step=args.split_requests)
    step(f"raw: {json.dumps({k: v for k, v in raw.items() if k != 'one'})}", wall)
    if not raw["same_as_service"]:
        print("WARNING: the numpy floor's entries differ from the service's", flush=True)
    if args.no_postgres:
        pg: dict[str, Any] = {"skipped": "--no-postgres was given"}
    else:
        pg = await postgres_phase(url, args.pg_dsn)
        step(f"postgres: {json.dumps(pg, default=str)[:1500]}", wall)
    server = await asyncio.to_thread(start_server, data_dir, public_path, refresh_s=args.refresh_s)
    try:
        step(f"activation up again with the refresh every {args.refresh_s:g} s (pid {server.process.pid})", wall)
        responsive = await responsiveness(
            server,
            db_path,
            data,
            tokens,
            sampled,
            forum_ids,
            refresh_s=args.refresh_s,
            changes=args.changes,
            idle_s=args.idle_s,
            max_s=args.max_recompute_s,
            seed=args.seed,
        )
    finally:
        await asyncio.to_thread(server.stop)
    for rnd in responsive["rounds"]:
        step(f"(c) {json.dumps(rnd, default=str)}", wall)
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "seed": args.seed,
        "neighbours": args.neighbours,
        "batch": args.batch,
        "generated": generated,
        "load": load,
        "setup": setup,
        "http": http,
        "by_step": by_step,
        "sqlite_first": first,
        "sqlite_second": second,
        "load_split": split,
        "raw": raw,
        "postgres": pg,
        "responsive": responsive,
        "wall_s": time.perf_counter() - wall,
        "loadavg": (load_before, os.getloadavg()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=package.__doc__)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=2_000)
    parser.add_argument("--neighbours", type=int, default=3, help="nearest municipalities in each agreement")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--handler-sample", type=int, default=2_000, help="candidates through the consumer path")
    parser.add_argument("--batch", type=int, default=500, help="events per consumer batch")
    parser.add_argument("--concurrency", type=int, default=4, help="clients publishing the opportunities")
    parser.add_argument("--requests", type=int, default=300, help="shortlists measured in (a)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--split-requests", type=int, default=60, help="shortlists timed by step in-process")
    parser.add_argument("--max-request-s", type=float, default=90.0, help="time bound of (a)")
    parser.add_argument("--refresh-s", type=float, default=2.0, help="the background refresh's interval in (c)")
    parser.add_argument("--changes", type=int, default=1_000, help="candidates changed to make (c)'s shortlists stale")
    parser.add_argument("--idle-s", type=float, default=5.0, help="(c)'s idle probing per round")
    parser.add_argument("--max-recompute-s", type=float, default=120.0, help="time bound of each (c) recompute")
    parser.add_argument("--pg-dsn", default=os.environ.get("OSLONAC_TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--data-dir", help="keep the database here (default: a new temporary folder)")
    parser.add_argument("--report", default="docs/benchmarks.md")
    parser.add_argument("--no-report", action="store_true", help="print the figures only")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    if not args.no_report:
        write_section(Path(args.report), describe(), results)
    a, s2 = results["http"], results["sqlite_second"]
    probes = []
    for rnd in results["responsive"]["rounds"]:
        for kind, during in rnd.get("during", {}).items():
            idle = rnd["idle"].get(kind) or {}
            if during and "max" in during:
                probes.append(f"{rnd['name']} {kind} max {idle.get('max', float('nan')):.0f} → {during['max']:.0f} ms")
    print(
        f"\n(a) shortlist p50 {a['http']['p50']:.0f} ms · p95 {a['http']['p95']:.0f} ms · "
        f"p99 {a['http']['p99']:.0f} ms "
        f"(service p95 {a['service']['p95']:.0f} ms, eligible mean {a['eligible']['mean']:,.0f}) · "
        f"(b) recompute {results['sqlite_first']['total_s']:.1f} s / {s2['total_s']:.1f} s, {s2['entries']:,} entries"
        f"\n(c) idle → during: {'; '.join(probes)}" + ("" if args.no_report else f"\nwritten to {args.report}")
    )


if __name__ == "__main__":
    main()
