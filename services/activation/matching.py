"""Ranking many candidates at once: the rule of ``domain.eligibility`` and ``domain.score``, vectorised with numpy.

The candidates are held column by column (a ``Pool``); one opportunity is matched by a few array operations
over the candidates of the municipalities it can reach, so a ranking of 100,000 candidates takes milliseconds.
Every float operation is the one ``domain.score`` performs, in the same order, so the two agree bit for bit
(``tests/unit/services/activation/test_matching.py`` checks it on generated candidates). The explanation of each
ranked candidate comes from ``domain`` itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import NamedTuple, overload

import numpy as np
import numpy.typing as npt

from services.activation import domain
from shared.reference import municipalities as municipality_list
from shared.reference import skills as skill_list

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@cache
def municipality_codes() -> tuple[str, ...]:
    return tuple(sorted(municipality_list.municipalities()))


@cache
def municipality_index() -> dict[str, int]:
    return {code: i for i, code in enumerate(municipality_codes())}


@cache
def skill_bits() -> dict[str, int]:
    codes = sorted(skill_list.skills())
    if len(codes) > 63:
        raise RuntimeError("the skills list outgrew one 64-bit mask: matching.py needs a second word")
    return {code: i for i, code in enumerate(codes)}


def skill_mask(codes: frozenset[str] | Sequence[str]) -> int:
    bits = skill_bits()
    mask = 0
    for code in codes:
        bit = bits.get(code)
        if bit is not None:
            mask |= 1 << bit
    return mask


def _popcount(values: npt.NDArray[np.uint64]) -> Ints:
    return np.bitwise_count(values).astype(np.int64)


class RawCandidate(NamedTuple):
    """A candidate row as the database gives it, text for text (see ``repository.candidate_rows``): decoding only
    what ranking needs keeps a pool of thousands cheap; the full ``domain.Candidate`` is built for the few ranked."""

    person_id: str
    municipality_code: str
    sex: str
    birth_year: int
    able_to_work: bool
    employment_status: str | None
    skills: str  # JSON text
    markers: str  # JSON text
    hours_min: int
    hours_max: int
    available_from: str | None  # ISO date
    unemployed_since: str | None  # ISO date
    placed: bool

    def as_domain(self) -> domain.Candidate:
        return domain.Candidate(
            person_id=str(uuid.UUID(self.person_id)),
            municipality_code=self.municipality_code,
            sex=self.sex,
            birth_year=self.birth_year,
            able_to_work=bool(self.able_to_work),
            employment_status=self.employment_status,
            skills=frozenset(json.loads(self.skills)),
            markers=frozenset(json.loads(self.markers)),
            hours_min=self.hours_min,
            hours_max=self.hours_max,
            available_from=date.fromisoformat(self.available_from[:10]) if self.available_from else None,
            unemployed_since=date.fromisoformat(self.unemployed_since[:10]) if self.unemployed_since else None,
            placed=bool(self.placed),
        )


class Candidates(Sequence[domain.Candidate]):
    """The pool's candidates as the domain sees them, built on first use (a ranking explains only its top)."""

    def __init__(self, raw: Sequence[RawCandidate] | None = None, built: Sequence[domain.Candidate] | None = None):
        self._raw = raw
        self._built: dict[int, domain.Candidate] = dict(enumerate(built)) if built is not None else {}
        self._size = len(raw) if raw is not None else len(self._built)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> domain.Candidate: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[domain.Candidate]: ...

    def __getitem__(self, index: int | slice) -> domain.Candidate | Sequence[domain.Candidate]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._size))]
        if index < 0:
            index += self._size
        found = self._built.get(index)
        if found is None:
            if self._raw is None or not 0 <= index < self._size:
                raise IndexError(index)
            found = self._built[index] = self._raw[index].as_domain()
        return found


@dataclass(slots=True)
class Pool:
    """Candidates column by column; ``candidates[i]`` is row ``i`` as the domain sees it."""

    candidates: Sequence[domain.Candidate]
    person_ids: npt.NDArray[np.str_]
    municipality: Ints
    woman: Bools
    birth_year: Ints
    able: Bools
    studying: Bools
    placed: Bools
    single_parent: Bools
    roma: Bools
    disability: Bools
    hours_min: Ints
    hours_max: Ints
    skills: npt.NDArray[np.uint64]
    available_from: Ints  # ordinal day, 0: no date
    unemployed_day: Ints  # ordinal day, 0: no date
    unemployed_month: Ints  # year * 12 + month

    def __len__(self) -> int:
        return len(self.candidates)

    @classmethod
    def of(cls, candidates: Sequence[domain.Candidate]) -> Pool:
        """From domain candidates (tests, tools)."""
        raw = [
            RawCandidate(
                c.person_id,
                c.municipality_code,
                c.sex,
                c.birth_year,
                c.able_to_work,
                c.employment_status,
                json.dumps(sorted(c.skills)),
                json.dumps(sorted(c.markers)),
                c.hours_min,
                c.hours_max,
                c.available_from.isoformat() if c.available_from else None,
                c.unemployed_since.isoformat() if c.unemployed_since else None,
                c.placed,
            )
            for c in candidates
        ]
        pool = cls.from_rows(raw)
        pool.candidates = Candidates(built=candidates)
        pool.person_ids = np.array([c.person_id for c in candidates], dtype=np.str_)  # ties: exactly domain's order
        return pool

    @classmethod
    def from_rows(cls, rows: Sequence[RawCandidate]) -> Pool:
        """From database rows: per row only dictionary look-ups (skills and markers texts repeat, so each distinct
        text is decoded once)."""
        index = municipality_index()
        unknown = len(index)  # a code the reference list lacks reaches nothing but itself
        skill_of: dict[str, int] = {}
        marker_of: dict[str, tuple[bool, bool, bool]] = {}
        day_of: dict[str | None, tuple[int, int]] = {None: (0, 0), "": (0, 0)}

        def skills(text: str) -> int:
            found = skill_of.get(text)
            if found is None:
                found = skill_of[text] = skill_mask(json.loads(text))
            return found

        def markers(text: str) -> tuple[bool, bool, bool]:
            found = marker_of.get(text)
            if found is None:
                m = json.loads(text)
                found = marker_of[text] = ("single_parent" in m, "roma" in m, "disability" in m)
            return found

        def day(text: str | None) -> tuple[int, int]:
            found = day_of.get(text)
            if found is None:
                assert text is not None
                d = date.fromisoformat(text[:10])
                found = day_of[text] = (d.toordinal(), d.year * 12 + d.month)
            return found

        n = len(rows)
        in_education = domain.IN_EDUCATION
        muni = np.fromiter((index.get(r.municipality_code, unknown) for r in rows), np.int64, n)
        by = np.fromiter((r.birth_year for r in rows), np.int64, n)
        hmin = np.fromiter((r.hours_min for r in rows), np.int64, n)
        hmax = np.fromiter((r.hours_max for r in rows), np.int64, n)
        masks = np.fromiter((skills(r.skills) for r in rows), np.uint64, n)
        avail = np.fromiter((day(r.available_from)[0] for r in rows), np.int64, n)
        unemployed = [day(r.unemployed_since) for r in rows]
        flags = np.array([markers(r.markers) for r in rows], np.bool_).reshape(n, 3).T
        return cls(
            candidates=Candidates(raw=rows),
            # Ties go to the smaller id: hex without dashes orders as the dashed form does (same positions).
            person_ids=np.array([r.person_id.replace("-", "").lower() for r in rows], dtype=np.str_),
            municipality=muni,
            woman=np.fromiter((r.sex == "F" for r in rows), np.bool_, n),
            birth_year=by,
            able=np.fromiter((bool(r.able_to_work) for r in rows), np.bool_, n),
            studying=np.fromiter((r.employment_status == in_education for r in rows), np.bool_, n),
            placed=np.fromiter((bool(r.placed) for r in rows), np.bool_, n),
            single_parent=flags[0],
            roma=flags[1],
            disability=flags[2],
            hours_min=hmin,
            hours_max=hmax,
            skills=masks,
            available_from=avail,
            unemployed_day=np.fromiter((u[0] for u in unemployed), np.int64, n),
            unemployed_month=np.fromiter((u[1] for u in unemployed), np.int64, n),
        )


@dataclass(frozen=True, slots=True)
class Geography:
    """Which municipalities an opportunity's candidates may come from, and the distance points of each."""

    reachable: Callable[[str, str], bool]
    distance_km: Callable[[str, str], float]

    def vectors(self, opportunity_municipality: str, scope: str) -> tuple[Bools, Floats]:
        codes = municipality_codes()
        reach = np.zeros(len(codes) + 1, np.bool_)
        points = np.full(len(codes) + 1, 0.0)
        weight = domain.WEIGHTS["distance"]
        for i, code in enumerate(codes):
            if code == opportunity_municipality:
                reach[i], points[i] = True, weight
            elif scope == "agreement" and self.reachable(code, opportunity_municipality):
                reach[i] = True
                points[i] = domain.distance_points(self.distance_km(code, opportunity_municipality))
        return reach, points

    def municipalities_reaching(self, opportunity_municipality: str, scope: str) -> list[str]:
        reach, _ = self.vectors(opportunity_municipality, scope)
        codes = municipality_codes()
        found = [codes[i] for i in np.flatnonzero(reach[: len(codes)])]
        return found or [opportunity_municipality]


def _round2(x: Floats) -> Floats:
    result: Floats = np.floor(x * 100 + 0.5) / 100
    return result


@dataclass(slots=True)
class Evaluation:
    """Who is eligible (row indexes into the pool) and their scores, in the pool's order."""

    rows: Ints
    scores: Floats

    def __len__(self) -> int:
        return len(self.rows)


def evaluate(
    pool: Pool,
    opportunity: domain.Opportunity,
    criteria: domain.Criteria,
    geography: Geography,
    *,
    on: date,
    vectors: tuple[Bools, Floats] | None = None,
) -> Evaluation:
    reach, points = vectors or geography.vectors(opportunity.municipality_code, criteria.scope)
    rows = np.flatnonzero(reach[pool.municipality])
    if criteria.min_age is not None or criteria.max_age is not None:
        low, high = criteria.min_age or 0, criteria.max_age or 200
        age = on.year - pool.birth_year[rows]
        rows = rows[(age >= low) & (age <= high)]
    keep = np.ones(len(rows), np.bool_)
    if criteria.require_able_to_work:
        keep &= pool.able[rows]
    if criteria.exclude_in_education:
        keep &= ~pool.studying[rows]
    if criteria.exclude_placed:
        keep &= ~pool.placed[rows]
    hmin, hmax = pool.hours_min[rows], pool.hours_max[rows]
    overlap = np.minimum(hmax, opportunity.hours_max) - np.maximum(hmin, opportunity.hours_min)
    keep &= overlap >= 0
    if not opportunity.accessible:
        keep &= ~pool.disability[rows]
    rows, overlap = rows[keep], overlap[keep]

    weights = domain.WEIGHTS
    masks = pool.skills[rows]
    required, preferred = opportunity.required_skills, opportunity.preferred_skills
    if required:
        covered = _popcount(masks & np.uint64(skill_mask(required))) / len(required)
    else:
        covered = np.full(len(rows), 1.0)
    if preferred:
        bonus = _popcount(masks & np.uint64(skill_mask(preferred))) / len(preferred) / 4
    else:
        bonus = np.full(len(rows), 0.0)
    skills = _round2(np.minimum(1.0, covered + bonus) * weights["skills"])

    distance = _round2(points[pool.municipality[rows]])

    today, this_month = on.toordinal(), on.year * 12 + on.month
    uday = pool.unemployed_day[rows]
    months = np.where((uday == 0) | (uday > today), 0, this_month - pool.unemployed_month[rows])
    groups = criteria.priority_groups
    count = np.zeros(len(rows), np.int64)
    for name, column in (("single_parent", pool.single_parent), ("roma", pool.roma), ("disability", pool.disability)):
        if name in groups:
            count += column[rows]
    if "woman" in groups:
        count += pool.woman[rows]
    if "long_term_unemployed" in groups:
        count += months >= domain.LONG_TERM_UNEMPLOYED_MONTHS
    priority = _round2(np.minimum(3, count) * weights["priority"] / 3)

    wanted = opportunity.hours_max - opportunity.hours_min + 1
    share = np.maximum(0, overlap + 1) / wanted
    if opportunity.starts_on is None:
        ready = np.full(len(rows), 0.5)
    else:
        avail = pool.available_from[rows]
        ready = np.where((avail == 0) | (avail <= opportunity.starts_on.toordinal()), 0.5, 0.0)
    availability = _round2(weights["availability"] * (0.5 * share + ready))

    unemployed = _round2(weights["unemployed"] * np.minimum(1.0, months / domain.UNEMPLOYED_FULL_MONTHS))
    scores = _round2(skills + distance + priority + availability + unemployed)
    return Evaluation(rows=rows, scores=scores)


def top(evaluation: Evaluation, pool: Pool, limit: int) -> list[tuple[int, float]]:
    """The best ``limit`` (row, score) pairs: highest score first, ties to the smaller person id."""
    n = len(evaluation)
    if n == 0 or limit <= 0:
        return []
    scores = evaluation.scores
    if n > limit:
        kth = np.partition(scores, n - limit)[n - limit]
        chosen = np.flatnonzero(scores >= kth)  # every tie at the cut competes on the person id
    else:
        chosen = np.arange(n)
    rows = evaluation.rows[chosen]
    order = np.lexsort((pool.person_ids[rows], -scores[chosen]))[:limit]
    return [(int(rows[i]), float(scores[chosen][i])) for i in order]


def explain(
    pool: Pool,
    row: int,
    opportunity: domain.Opportunity,
    criteria: domain.Criteria,
    geography: Geography,
    *,
    on: date,
) -> domain.Ranked:
    """One candidate's place in the ranking in the domain's own words: the breakdown and every check."""
    candidate = pool.candidates[row]
    checks = domain.eligibility(candidate, opportunity, criteria, reachable=geography.reachable, on=on)
    parts = domain.score(candidate, opportunity, criteria, distance_km=geography.distance_km, on=on)
    return domain.Ranked(candidate, domain.total(parts), parts, tuple(checks))


def rank(
    pool: Pool,
    opportunity: domain.Opportunity,
    criteria: domain.Criteria,
    geography: Geography,
    *,
    on: date,
    limit: int,
) -> tuple[list[domain.Ranked], int]:
    """The top ``limit`` with explanations, and how many candidates are eligible in all."""
    evaluation = evaluate(pool, opportunity, criteria, geography, on=on)
    best = top(evaluation, pool, limit)
    return [explain(pool, row, opportunity, criteria, geography, on=on) for row, _ in best], len(evaluation)
