"""Ranking many candidates at once: the rule of ``domain.eligibility`` and ``domain.score``, vectorised with numpy.

The candidates are held column by column (a ``Pool``); one opportunity is matched by a few array operations
over the candidates of the municipalities it can reach, so a ranking of 100,000 candidates takes milliseconds.
Every float operation is the one ``domain.score`` performs, in the same order, so the two agree bit for bit
(``tests/unit/services/activation/test_matching.py`` checks it on generated candidates). The explanation of each
ranked candidate comes from ``domain`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

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


@dataclass(slots=True)
class Pool:
    """Candidates column by column; ``candidates[i]`` is row ``i`` as the domain sees it."""

    candidates: list[domain.Candidate]
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
        index = municipality_index()
        unknown = len(index)  # a code the reference list lacks reaches nothing but itself
        n = len(candidates)
        muni = np.empty(n, np.int64)
        by = np.empty(n, np.int64)
        hmin = np.empty(n, np.int64)
        hmax = np.empty(n, np.int64)
        avail = np.zeros(n, np.int64)
        uday = np.zeros(n, np.int64)
        umonth = np.zeros(n, np.int64)
        masks = np.empty(n, np.uint64)
        flags = np.zeros((7, n), np.bool_)
        for i, c in enumerate(candidates):
            muni[i] = index.get(c.municipality_code, unknown)
            by[i] = c.birth_year
            hmin[i] = c.hours_min
            hmax[i] = c.hours_max
            masks[i] = skill_mask(c.skills)
            if c.available_from is not None:
                avail[i] = c.available_from.toordinal()
            if c.unemployed_since is not None:
                uday[i] = c.unemployed_since.toordinal()
                umonth[i] = c.unemployed_since.year * 12 + c.unemployed_since.month
            m = c.markers
            flags[0, i] = c.sex == "F"
            flags[1, i] = c.able_to_work
            flags[2, i] = c.employment_status == "pupil_student"
            flags[3, i] = c.placed
            flags[4, i] = "single_parent" in m
            flags[5, i] = "roma" in m
            flags[6, i] = "disability" in m
        return cls(
            candidates=list(candidates),
            person_ids=np.array([c.person_id for c in candidates], dtype=np.str_),
            municipality=muni,
            woman=flags[0],
            birth_year=by,
            able=flags[1],
            studying=flags[2],
            placed=flags[3],
            single_parent=flags[4],
            roma=flags[5],
            disability=flags[6],
            hours_min=hmin,
            hours_max=hmax,
            skills=masks,
            available_from=avail,
            unemployed_day=uday,
            unemployed_month=umonth,
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
                points[i] = max(5.0, weight - self.distance_km(code, opportunity_municipality) / 5)
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

    unemployed = _round2(weights["unemployed"] * np.minimum(1.0, months / 24))
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
