"""`make bench`, second part: intake's bulk CSV import against a plain bulk insert of the same rows.

Generates a social-mapping file of N persons in about 0.3 N households (deterministic: names from the demo lists,
half of the households in Cyrillic, ~30% of persons with a valid JMBG, a few % of households with deliberate
errors), uploads it to the intake service running in this process (its real app, SQLite database, import runner
and outbox relay, publishing to the embedded broker), and measures rows/s until the job is done and until the
relay has published every registered event. Then it inserts the same household and person rows with a plain
executemany (no validation, no events) into a fresh database of the same schema, in the same run. The results
replace this benchmark's own section of docs/benchmarks.md (the pipeline benchmark's section is left alone).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.machine import current_rss_mib, describe, peak_rss_mib, replace_section
from oslonac.demo import FAMILY, GIVEN_F, GIVEN_M, SETTLEMENTS, SKILLS
from services.intake.app import MIGRATIONS, create_app
from services.intake.domain import make_jmbg
from services.intake.importing import COLUMNS
from services.intake.models import plumbing
from shared.auth import DemoUser, DevIssuer, Role, generate_keypair
from shared.db import migrate_sync
from shared.messaging.embedded import EmbeddedBroker
from shared.messaging.kafka import ensure_topics
from shared.messaging.outbox import backlog
from shared.reference import municipalities
from shared.script import to_cyrillic
from shared.settings import Environment, KafkaSettings, Settings

START, END = "<!-- bench:imports:start -->", "<!-- bench:imports:end -->"
# An inter-municipal office (DOMAIN.md): the uploader works for these four.
SCOPE = ("Ada", "Nova Crnja", "Sremska Mitrovica", "Ruma")
SIZES, SIZE_WEIGHTS = (1, 2, 3, 4, 5, 6), (15, 20, 20, 20, 15, 10)  # 3.3 persons per household on average
ERROR_KINDS = ("bad_jmbg", "unknown_municipality", "missing_name", "bad_date", "contradiction")
_PLAIN_LATIN = str.maketrans(
    {"đ": "dj", "Đ": "Dj", "ž": "z", "Ž": "Z", "ć": "c", "Ć": "C", "č": "c", "Č": "C"} | {"š": "s", "Š": "S"}
)


@dataclass
class Generated:
    content: bytes
    persons: int
    households: int
    valid_households: int
    valid_persons: int
    with_jmbg: int
    errors: dict[str, int] = field(default_factory=dict)


def generate(persons: int, *, seed: int = 2024, error_share: float = 0.03) -> Generated:
    """A CSV of ``persons`` rows in households of 1–6, the same for the same seed."""
    rng = random.Random(seed)
    codes = [municipalities.by_name(name).code for name in SCOPE]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    made = households = valid_households = valid_persons = jmbgs = 0
    errors = dict.fromkeys(ERROR_KINDS, 0)
    while made < persons:
        size = min(rng.choices(SIZES, SIZE_WEIGHTS)[0], persons - made)
        households += 1
        cyrillic = rng.random() < 0.5
        code = rng.choice(codes)
        family = rng.choice(FAMILY)
        rows: list[dict[str, str]] = []
        for i in range(size):
            sex = rng.choice("FM")
            adult = i < 2
            born = date(
                rng.randint(1950, 2000) if adult else rng.randint(2005, 2024), rng.randint(1, 12), rng.randint(1, 28)
            )
            given = rng.choice(GIVEN_F if sex == "F" else GIVEN_M)
            person: dict[str, str] = {
                "given_name": given,
                "family_name": family,
                "birth_date": born.isoformat(),
                "sex": sex,
                "relation": "head" if i == 0 else "spouse" if i == 1 else "child",
                "consents": "case_work;activation" if adult and rng.random() < 0.7 else "case_work",
            }
            if rng.random() < 0.3:
                person["jmbg"] = make_jmbg(born, sex, region=10 + jmbgs // 500, serial=jmbgs % 500)  # type: ignore[arg-type]
                jmbgs += 1
            else:
                person["missing_jmbg_reason"] = "no_personal_documents" if rng.random() < 0.1 else "not_known"
            if adult:
                able = rng.random() < 0.8
                person["education"] = rng.choice(["none", "primary_incomplete", "primary", "secondary"])
                person["employment_status"] = rng.choice(["unemployed", "unemployed", "informal_work", "retired"])
                person["able_to_work"] = "yes" if able else "no"
                person["skills"] = ";".join(rng.sample(SKILLS, rng.randint(0, 3))) if able else ""
            else:
                person["education"] = "primary_incomplete" if born.year < 2019 else "none"
            if cyrillic:
                person["given_name"], person["family_name"] = to_cyrillic(given), to_cyrillic(family)
                person["sex"] = "Ж" if sex == "F" else "М"
                person["birth_date"] = born.strftime("%d.%m.%Y.")
                if "able_to_work" in person:
                    person["able_to_work"] = "да" if person["able_to_work"] == "yes" else "не"
            elif rng.random() < 0.5:  # field data often comes without diacritics
                person["given_name"], person["family_name"] = (
                    given.translate(_PLAIN_LATIN),
                    family.translate(_PLAIN_LATIN),
                )
            rows.append(person)
        first = rows[0]
        first |= {
            "settlement": rng.choice(SETTLEMENTS),
            "address": f"Ulica {rng.randint(1, 40)}. broj {rng.randint(1, 120)}",
            "housing_type": rng.choice(["own", "rented", "informal_settlement", "with_relatives"]),
            "income_social_assistance": str(rng.randrange(8_000, 20_000, 500)),
        }
        if rng.random() < 0.4:
            first["income_informal_work"] = str(rng.randrange(5_000, 30_000, 1_000))
        if cyrillic:
            first["settlement"], first["address"] = to_cyrillic(first["settlement"]), to_cyrillic(first["address"])
        if rng.random() < error_share:
            kind = rng.choice(ERROR_KINDS)
            if kind == "contradiction" and size < 2:
                kind = "missing_name"
            errors[kind] += 1
            victim = rng.choice(rows)
            if kind == "bad_jmbg":
                born = date(1980, 1, 1)
                good = make_jmbg(born, "F", region=99, serial=errors[kind] % 500)
                victim |= {"birth_date": born.isoformat(), "sex": "F", "missing_jmbg_reason": ""}
                victim["jmbg"] = good[:12] + str((int(good[12]) + 1) % 10)
            elif kind == "unknown_municipality":
                code = "99999"
            elif kind == "missing_name":
                victim["given_name"] = ""
            elif kind == "bad_date":
                victim["birth_date"] = "31.02.1990"
                victim.pop("jmbg", None)
                victim["missing_jmbg_reason"] = "not_known"
            else:
                rows[1]["settlement"] = "Negde drugde"
        else:
            valid_households += 1
            valid_persons += size
        for person in rows:
            person |= {"household_ref": f"{code}-{households:06d}", "municipality_code": code}
            writer.writerow([person.get(c, "") for c in COLUMNS])
        made += size
    return Generated(
        content=b"\xef\xbb\xbf" + out.getvalue().encode(),
        persons=made,
        households=households,
        valid_households=valid_households,
        valid_persons=valid_persons,
        with_jmbg=jmbgs,
        errors=errors,
    )


async def import_phase(data_dir: Path, kafka: KafkaSettings, generated: Generated, *, poll_s: float) -> dict[str, Any]:
    private_path, public_path = generate_keypair(data_dir / "keys")
    user = DemoUser("bench-worker", (Role.case_worker,), tuple(municipalities.by_name(n).code for n in SCOPE))
    token = DevIssuer(private_path.read_text(), [user], password="bench").issue_for(user)
    settings = Settings(
        env=Environment.development,
        service="intake",
        data_dir=data_dir,
        kafka=kafka,
        jwt_public_key=public_path.read_text(),
        log_format="console",
        log_level="WARNING",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            headers = {"Authorization": f"Bearer {token}"}
            rss_before = current_rss_mib()
            started = time.perf_counter()
            r = await client.post(
                "/intake/api/imports", files={"file": ("mapping.csv", generated.content, "text/csv")}, headers=headers
            )
            if r.status_code != 202:
                raise RuntimeError(f"upload refused: {r.status_code} {r.text[:500]}")
            accepted = time.perf_counter()
            job_id = r.json()["id"]
            rates: list[float] = []
            while True:
                job = (await client.get(f"/intake/api/imports/{job_id}", headers=headers)).json()
                if job["rate_rows_per_s"]:
                    rates.append(job["rate_rows_per_s"])
                if job["status"] in ("done", "failed"):
                    break
                await asyncio.sleep(poll_s)
            imported = time.perf_counter()
            if job["status"] != "done":
                raise RuntimeError(f"the import failed: {job}")
            # Polling the outbox is the measurement itself (the relay offers no completion event).
            while await backlog(runtime.engine, plumbing) > 0:  # noqa: ASYNC110
                await asyncio.sleep(poll_s)
            published = time.perf_counter()
            relay_published = runtime.relay.published_total
    return {
        "job": job,
        "upload_s": accepted - started,
        "imported_s": imported - started,
        "published_s": published - started,
        "relay_published": relay_published,
        "rss_mib": peak_rss_mib(os.getpid()) or 0.0,
        "rss_before_mib": rss_before,
        "reported_rate": rates[-1] if rates else None,
    }


def plain_insert(source_db: Path, fresh_db: Path, *, chunk_persons: int) -> dict[str, Any]:
    """The same household and person rows, read back from the import's database, inserted with executemany into a
    fresh database of the same schema and settings: one transaction per chunk, as the import commits."""
    migrate_sync(f"sqlite+aiosqlite:///{fresh_db}", MIGRATIONS)
    with sqlite3.connect(source_db) as source:
        household_rows = source.execute("SELECT * FROM households ORDER BY rowid").fetchall()
        household_cols = [d[0] for d in source.execute("SELECT * FROM households LIMIT 0").description]
        person_rows = source.execute("SELECT * FROM persons ORDER BY household_id, position").fetchall()
        person_cols = [d[0] for d in source.execute("SELECT * FROM persons LIMIT 0").description]
    members: dict[Any, list[tuple[Any, ...]]] = {}
    household_at = person_cols.index("household_id")
    for p in person_rows:
        members.setdefault(p[household_at], []).append(p)
    chunks: list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = [([], [])]
    for h in household_rows:
        households, persons = chunks[-1]
        households.append(h)
        persons.extend(members[h[0]])
        if len(persons) >= chunk_persons:
            chunks.append(([], []))
    # Column names come from the database's own schema, not from input.
    insert_h = f"INSERT INTO households ({', '.join(household_cols)}) VALUES ({', '.join('?' * len(household_cols))})"  # noqa: S608
    insert_p = f"INSERT INTO persons ({', '.join(person_cols)}) VALUES ({', '.join('?' * len(person_cols))})"  # noqa: S608
    db = sqlite3.connect(fresh_db, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            db.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        for households, persons in chunks:
            db.execute("BEGIN")
            db.executemany(insert_h, households)
            db.executemany(insert_p, persons)
            db.execute("COMMIT")
        seconds = time.perf_counter() - started
    finally:
        db.close()
    return {"households": len(household_rows), "persons": len(person_rows), "seconds": seconds}


def write_section(path: Path, machine: dict[str, str], r: dict[str, Any]) -> None:
    g: Generated = r["generated"]
    imp, plain, job = r["import"], r["plain"], r["import"]["job"]
    rows_per_s = job["total"] / imp["imported_s"]
    published_per_s = job["total"] / imp["published_s"]
    plain_per_s = plain["persons"] / plain["seconds"]
    errors = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in g.errors.items())
    lines = [
        START,
        "## Bulk CSV import (intake)",
        "",
        f"Measured by `make bench` (`bench/imports.py`) on {r['date']}, on "
        f"{machine['cpu']} ({machine['cores']} cores, {machine['memory']}), {machine['os']}, Python "
        f"{machine['python']}, SQLite {machine['sqlite']}.",
        "",
        f"One file of {g.persons:,} persons in {g.households:,} households ({g.content.__len__() / 1e6:.1f} MB; half "
        f"of the households in Cyrillic, {g.with_jmbg:,} persons with a JMBG, {g.households - g.valid_households} "
        f"households with a deliberate error: {errors}) uploaded by a case worker of four municipalities to the "
        "intake service running in the benchmark's process: its real app over ASGI, its SQLite database (WAL), "
        "its import runner and its outbox relay publishing to the embedded broker (Tansu). Polled every "
        f"{r['poll_s'] * 1000:.0f} ms through `GET /intake/api/imports/{{id}}`, as a progress bar would.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| rows imported/s (upload to job done: {job['total']:,} rows in {imp['imported_s']:.1f} s) "
        f"| **{rows_per_s:,.0f}** | ≥ 3,000 |",
        f"| rows imported and published/s (until the relay published all {job['households']:,} registered events: "
        f"{imp['published_s']:.1f} s) | **{published_per_s:,.0f}** | |",
        f"| rate the job reported at the end (`rate_rows_per_s`) | {imp['reported_rate'] or 0:,.0f} | |",
        f"| upload and file check (`POST`, 202) | {imp['upload_s'] * 1000:,.0f} ms | |",
        f"| rows imported / failed / skipped | {job['imported']:,} / {job['failed']:,} / {job['skipped']:,} | |",
        f"| households registered (events published) | {job['households']:,} ({imp['relay_published']:,}) | |",
        f"| plain bulk insert of the same rows (executemany, {plain['persons']:,} persons and {plain['households']:,} "
        f"households, {plain['seconds']:.2f} s) | {plain_per_s:,.0f} rows/s | |",
        f"| **ratio import/plain** (rows imported/s over plain rows/s) | **{rows_per_s / plain_per_s:.3f}** | |",
        f"| peak RSS of the benchmark process (service, client, the file) | {imp['rss_mib']:.0f} MiB "
        f"({imp['rss_before_mib']:.0f} MiB with the service up and the file generated, before the upload) | |",
        f"| peak RSS of the broker | {r['broker_rss_mib'] or 0:.0f} MiB | |",
        "",
        "The plain insert is the floor of the storage alone: the import's own household and person rows, read",
        "back and inserted with `sqlite3.executemany` into a fresh database of the same schema and pragmas, one",
        f"transaction per {r['chunk_rows']:,} persons (the import's chunk). It does no parsing, validation,",
        "JMBG or duplicate checks, events, references or progress, which is what the ratio prices.",
        END,
    ]
    replace_section(path, START, END, "\n".join(lines))


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="oslonac-bench-imports-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generated = generate(args.persons, seed=args.seed)
    print(
        f"generated {generated.persons:,} persons in {generated.households:,} households "
        f"({len(generated.content) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    broker = EmbeddedBroker(log_path=data_dir / "broker.log").start()
    try:
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers, session_timeout_ms=3000, heartbeat_interval_ms=500
        )
        await ensure_topics(kafka)
        result = await import_phase(data_dir, kafka, generated, poll_s=args.poll_s)
        broker_rss = peak_rss_mib(broker.process.pid) if broker.process else None
    finally:
        broker.stop()
    job = result["job"]
    print(json.dumps({k: v for k, v in result.items() if k != "job"} | {"job": job}, default=str), flush=True)
    if job["households"] != generated.valid_households or job["imported"] != generated.valid_persons:
        raise RuntimeError(
            f"expected {generated.valid_households} households / {generated.valid_persons} persons, job says {job}"
        )
    if result["relay_published"] < job["households"]:
        raise RuntimeError(f"only {result['relay_published']} of {job['households']} events were published")
    from services.intake.importing import CHUNK_ROWS

    plain = await asyncio.to_thread(
        plain_insert, data_dir / "intake.db", data_dir / "plain.db", chunk_persons=CHUNK_ROWS
    )
    print(json.dumps(plain), flush=True)
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "generated": generated,
        "import": result,
        "plain": plain,
        "broker_rss_mib": broker_rss,
        "poll_s": args.poll_s,
        "chunk_rows": CHUNK_ROWS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--poll-s", type=float, default=0.25, help="progress polling interval")
    parser.add_argument("--data-dir", help="keep the databases here (default: a new temporary folder)")
    parser.add_argument("--report", default="docs/benchmarks.md")
    parser.add_argument("--no-report", action="store_true", help="print the figures only")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    if not args.no_report:
        write_section(Path(args.report), describe(), results)
    imp, plain, job = results["import"], results["plain"], results["import"]["job"]
    rows_per_s = job["total"] / imp["imported_s"]
    plain_per_s = plain["persons"] / plain["seconds"]
    print(
        f"\nimport {rows_per_s:,.0f} rows/s · imported and published {job['total'] / imp['published_s']:,.0f} rows/s · "
        f"plain insert {plain_per_s:,.0f} rows/s · ratio {rows_per_s / plain_per_s:.3f} · "
        f"peak RSS {imp['rss_mib']:.0f} MiB" + ("" if args.no_report else f"\nwritten to {args.report}")
    )


if __name__ == "__main__":
    main()
