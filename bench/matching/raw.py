"""The raw limit: the service's own candidate query with sqlite3 alone, the ranking rule with numpy alone."""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bench.matching.data import Data
from bench.matching.phases import candidate_sql
from bench.timing import percentiles
from services.activation import domain, matching
from shared.reference import municipalities

Ints = npt.NDArray[np.int64]


@dataclass
class Arrays:
    """The candidates column by column, as numpy alone would hold them (person ids as their sort rank)."""

    person_ids: list[str]
    pid_rank: Ints
    municipality: Ints
    birth_year: Ints
    ok: npt.NDArray[np.bool_]  # able to work, not in education, not placed
    woman: Ints
    groups: Ints  # single parent + roma + disability
    disability: npt.NDArray[np.bool_]
    hours_min: Ints
    hours_max: Ints
    skills: npt.NDArray[np.uint64]
    available_from: Ints
    unemployed_day: Ints
    unemployed_month: Ints
    by_municipality: dict[int, Ints]

    @classmethod
    def of(cls, rows: list[tuple[Any, ...]]) -> Arrays:
        index = matching.municipality_index()
        n = len(rows)
        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in range(13)]

        def days(values: Sequence[str | None]) -> Ints:
            return np.array([date.fromisoformat(v).toordinal() if v else 0 for v in values], np.int64)

        def months(values: Sequence[str | None]) -> Ints:
            return np.array([int(v[:4]) * 12 + int(v[5:7]) if v else 0 for v in values], np.int64)

        markers = [json.loads(m) for m in cols[7]]
        muni = np.array([index.get(c, len(index)) for c in cols[1]], np.int64)
        order = np.argsort(np.array(cols[0]), kind="stable")
        pid_rank = np.empty(n, np.int64)
        pid_rank[order] = np.arange(n)
        by: dict[int, Ints] = {}
        for m in np.unique(muni):
            by[int(m)] = np.flatnonzero(muni == m)
        return cls(
            person_ids=list(cols[0]),
            pid_rank=pid_rank,
            municipality=muni,
            birth_year=np.array(cols[3], np.int64),
            ok=np.array(cols[4], np.bool_)
            & (np.array(cols[5], dtype=object) != domain.IN_EDUCATION)
            & ~np.array(cols[12], np.bool_),
            woman=(np.array(cols[2]) == "F").astype(np.int64),
            groups=np.array([sum(g in m for g in domain.MARKER_GROUPS) for m in markers], np.int64),
            disability=np.array(["disability" in m for m in markers], np.bool_),
            hours_min=np.array(cols[8], np.int64),
            hours_max=np.array(cols[9], np.int64),
            skills=np.array([matching.skill_mask(json.loads(s)) for s in cols[6]], np.uint64),
            available_from=days(cols[10]),
            unemployed_day=days(cols[11]),
            unemployed_month=months(cols[11]),
            by_municipality=by,
        )


_r2 = matching._round2  # production's rounding: half up to hundredths, as domain.round2
DEFAULT_CRITERIA = domain.Criteria()  # what the bench's forums agree on


def raw_rank(a: Arrays, offer: dict[str, Any], reach: frozenset[str], on: date, size: int) -> list[int]:
    """The top ``size`` rows for one opportunity with default criteria: domain.eligibility and domain.score's
    rule in plain numpy (production's weights, thresholds and distance points), ties to the smaller person id."""
    weights, low, high = domain.WEIGHTS, DEFAULT_CRITERIA.min_age or 0, DEFAULT_CRITERIA.max_age or 200
    index = matching.municipality_index()
    home = offer["municipality_code"]
    units = municipalities.municipalities()
    parts = [a.by_municipality.get(index[c], np.empty(0, np.int64)) for c in sorted(reach)]
    rows = np.concatenate(parts)
    age = on.year - a.birth_year[rows]
    hmin, hmax = int(offer["hours_per_week_min"]), int(offer["hours_per_week_max"])
    overlap = np.minimum(a.hours_max[rows], hmax) - np.maximum(a.hours_min[rows], hmin)
    keep = a.ok[rows] & (age >= low) & (age <= high) & (overlap >= 0)
    if not offer["accessible"]:
        keep &= ~a.disability[rows]
    rows, overlap = rows[keep], overlap[keep]
    masks = a.skills[rows]
    required, preferred = offer["required_skills"], offer["preferred_skills"]
    covered: Any = (
        np.bitwise_count(masks & np.uint64(matching.skill_mask(required))) / len(required) if required else 1.0
    )
    bonus: Any = (
        np.bitwise_count(masks & np.uint64(matching.skill_mask(preferred))) / len(preferred) / 4 if preferred else 0.0
    )
    skill_points = _r2(np.minimum(1.0, covered + bonus) * weights["skills"])
    points = np.zeros(len(index) + 1)
    for c in reach:
        km = municipalities.distance_km(units[c], units[home])
        points[index[c]] = weights["distance"] if c == home else domain.distance_points(km)
    distance = _r2(points[a.municipality[rows]])
    uday = a.unemployed_day[rows]
    months = np.where((uday == 0) | (uday > on.toordinal()), 0, on.year * 12 + on.month - a.unemployed_month[rows])
    count = a.groups[rows] + a.woman[rows] + (months >= domain.LONG_TERM_UNEMPLOYED_MONTHS)
    priority = _r2(np.minimum(3, count) * weights["priority"] / 3)
    share = np.maximum(0, overlap + 1) / (hmax - hmin + 1)
    avail = a.available_from[rows]
    ready = np.where((avail == 0) | (avail <= date.fromisoformat(offer["starts_on"]).toordinal()), 0.5, 0.0)
    availability = _r2(weights["availability"] * (0.5 * share + ready))
    unemployed = _r2(weights["unemployed"] * np.minimum(1.0, months / domain.UNEMPLOYED_FULL_MONTHS))
    scores = _r2(skill_points + distance + priority + availability + unemployed)
    if len(rows) > size:
        kth = np.partition(scores, len(rows) - size)[len(rows) - size]
        chosen = np.flatnonzero(scores >= kth)
        rows, scores = rows[chosen], scores[chosen]
    order = np.lexsort((a.pid_rank[rows], -scores))[:size]
    return [int(r) for r in rows[order]]


def raw_sqlite(db_path: Path, data: Data, sampled: list[dict[str, Any]], size: int, *, by_step: int) -> dict[str, Any]:
    """The floor of each step: the service's own candidate SELECT with sqlite3 alone, its rows made arrays and
    ranked with numpy alone, the stored entries read, the entries written with executemany (delete and insert in
    one transaction, with production's pragmas); checked against the service's stored entries."""
    dialect = sqlite_dialect.dialect()
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "mmap_size=268435456"):
            db.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        rows = db.execute(candidate_sql(dialect)).fetchall()
        select_s = time.perf_counter() - started
        started = time.perf_counter()
        arrays = Arrays.of(rows)
        arrays_s = time.perf_counter() - started
        on = date.today()
        started = time.perf_counter()
        ranked = {
            offer["id"]: raw_rank(arrays, offer, data.reach[offer["municipality_code"]], on, size)
            for offer in data.opportunities
        }
        rank_s = time.perf_counter() - started
        entries = [
            (uuid.UUID(opp).hex, arrays.person_ids[row], rank)
            for opp, rows_ in ranked.items()
            for rank, row in enumerate(rows_, start=1)
        ]
        started = time.perf_counter()
        stored = db.execute("SELECT opportunity_id, person_id, rank, score FROM shortlist_entries").fetchall()
        stored_s = time.perf_counter() - started
        same = {(o, p, r) for o, p, r, _ in stored} == set(entries)
        scores = {(o, p): s for o, p, _, s in stored}
        values = [(o, p, r, scores.get((o, p), 0.0)) for o, p, r in entries]
        started = time.perf_counter()
        db.execute("BEGIN")
        db.execute("DELETE FROM shortlist_entries")
        db.executemany(
            "INSERT INTO shortlist_entries (opportunity_id, person_id, rank, score) VALUES (?, ?, ?, ?)", values
        )
        db.execute("COMMIT")
        write_s = time.perf_counter() - started
        # One opportunity's floor: its reachable candidates' rows read (the service's statement), then ranked on
        # the arrays already in memory; for the first ``by_step`` also those rows made arrays (what from_rows does).
        one_ms, select_ms, arrays_ms, rank_ms = [], [], [], []
        for n, offer in enumerate(sampled):
            sql = candidate_sql(dialect, sorted(data.reach[offer["municipality_code"]]))
            started = time.perf_counter()
            found = db.execute(sql).fetchall()
            selected = time.perf_counter()
            raw_rank(arrays, offer, data.reach[offer["municipality_code"]], on, 50)
            done = time.perf_counter()
            one_ms.append((done - started) * 1000)
            if n < by_step:
                select_ms.append((selected - started) * 1000)
                rank_ms.append((done - selected) * 1000)
                started = time.perf_counter()
                Arrays.of(found)
                arrays_ms.append((time.perf_counter() - started) * 1000)
    finally:
        db.close()
    return {
        "select_s": select_s,
        "rows": len(rows),
        "arrays_s": arrays_s,
        "rank_s": rank_s,
        "stored_s": stored_s,
        "stored": len(stored),
        "write_s": write_s,
        "entries": len(entries),
        "same_as_service": same,
        "one": percentiles(one_ms) if one_ms else None,
        "by_step": {
            "count": len(select_ms),
            "select_ms": statistics.fmean(select_ms) if select_ms else 0.0,
            "arrays_ms": statistics.fmean(arrays_ms) if arrays_ms else 0.0,
            "rank_ms": statistics.fmean(rank_ms) if rank_ms else 0.0,
        },
    }
