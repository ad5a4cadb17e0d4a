"""The vectorised matcher agrees with the domain's rule exactly: for generated candidates, opportunities, forum
criteria and agreements, ``matching.rank`` and ``matching.evaluate`` give ``domain.rank``'s result (the same
candidates, the same scores to the bit, the same order, the same number eligible)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.activation import domain, matching
from shared.reference import skills as skill_list

ADA, RUMA, NOVI_SAD, SUBOTICA, KANJIZA = "80012", "80357", "89010", "80438", "80233"
CODES = (ADA, RUMA, NOVI_SAD, SUBOTICA, KANJIZA)
KNOWN_SKILLS = sorted(skill_list.skills())
# Cases sends the skills intake recorded; a code that has left the reference list may still come in.
OFF_LIST = "juggling"
MARKERS = ("single_parent", "roma", "disability", "without_documents")
TODAY = date(2026, 11, 25)

some_skills = st.sampled_from(KNOWN_SKILLS[:8])  # a few, so candidates and opportunities share some


def around(*offsets: int) -> st.SearchStrategy[date]:
    """Days next to the ones the rules compare (an availability on the start date, a start tomorrow), or any day:
    boundaries come up often enough that a ``<`` for a ``<=`` cannot hide."""
    return st.sampled_from([TODAY + timedelta(days=d) for d in offsets]) | st.dates(
        TODAY - timedelta(days=800), TODAY + timedelta(days=800)
    )


def months_ago(months: int, day: int) -> date:
    index = TODAY.year * 12 + TODAY.month - 1 - months
    return date(index // 12, index % 12 + 1, day)


# Unemployed since: either side of the 12-month priority and the 24-month cap, this month, or in the future.
unemployed_since = st.builds(
    months_ago, st.sampled_from([0, 1, 11, 12, 13, 23, 24, 25, 60]), st.sampled_from([1, 25, 28])
)
starts = around(-1, 0, 1, 14)


def mostly(value: bool) -> st.SearchStrategy[bool]:
    """``value`` three times in four: most generated candidates pass the filter, so the rankings are not empty."""
    return st.sampled_from([value, value, value, not value])


@st.composite
def candidate_lists(draw: st.DrawFn) -> list[domain.Candidate]:
    n = draw(st.integers(0, 25))
    ids = draw(st.lists(st.uuids().map(str), min_size=n, max_size=n, unique=True))
    out = []
    for person_id in ids:
        hours_min = draw(st.integers(1, 40))
        out.append(
            domain.Candidate(
                person_id=person_id,
                municipality_code=draw(st.sampled_from(CODES) | st.just(ADA)),
                sex=draw(st.sampled_from(["F", "M"])),
                birth_year=TODAY.year - draw(st.sampled_from([17, 18, 19, 63, 64, 65]) | st.integers(10, 90)),
                able_to_work=draw(mostly(True)),
                employment_status=draw(st.sampled_from([None, "unemployed", "unemployed", "pupil_student"])),
                skills=draw(st.frozensets(some_skills | st.just(OFF_LIST), max_size=5)),
                markers=draw(st.frozensets(st.sampled_from(MARKERS), max_size=2)),
                hours_min=hours_min,
                hours_max=draw(st.integers(max(hours_min, 20), 60)),
                available_from=draw(st.none() | starts),
                unemployed_since=draw(st.none() | unemployed_since | around(1, 40)),
                placed=draw(mostly(False)),
            )
        )
    return out


@st.composite
def opportunities(draw: st.DrawFn) -> domain.Opportunity:
    hours_min = draw(st.integers(1, 30))
    return domain.Opportunity(
        opportunity_id="o1",
        municipality_code=draw(st.just(ADA) | st.sampled_from(CODES)),
        type=draw(st.sampled_from(list(domain.OpportunityType))),
        hours_min=hours_min,
        hours_max=draw(st.integers(hours_min, 60)),
        # Publishing refuses skills off the reference list, so an opportunity names known ones only.
        required_skills=draw(st.frozensets(some_skills, max_size=4)),
        preferred_skills=draw(st.frozensets(some_skills, max_size=4)),
        accessible=draw(st.booleans()),
        starts_on=draw(st.none() | starts),
    )


criteria_values = st.builds(
    domain.Criteria,
    min_age=st.none() | st.just(18) | st.integers(14, 40),
    max_age=st.none() | st.just(64) | st.integers(30, 100),
    require_able_to_work=st.booleans(),
    exclude_in_education=st.booleans(),
    exclude_placed=st.booleans(),
    priority_groups=st.frozensets(st.sampled_from(domain.PRIORITY_GROUPS)),
    scope=st.sampled_from(["same", "agreement"]),
)
agreement_sets = st.lists(st.frozensets(st.sampled_from(CODES), min_size=2), max_size=3)


def geography(agreements: list[frozenset[str]], km_per_step: float) -> matching.Geography:
    def reachable(a: str, b: str) -> bool:
        return any(a in codes and b in codes for codes in agreements)

    def distance_km(a: str, b: str) -> float:
        return abs(int(a) - int(b)) % 97 * km_per_step

    return matching.Geography(reachable=reachable, distance_km=distance_km)


def by_domain(
    cs: list[domain.Candidate], o: domain.Opportunity, c: domain.Criteria, geo: matching.Geography, on: date
) -> list[domain.Ranked]:
    return domain.rank(cs, o, c, reachable=geo.reachable, distance_km=geo.distance_km, on=on)


def scores_by_id(pool: matching.Pool, evaluation: matching.Evaluation) -> dict[str, float]:
    rows, scores = evaluation.rows.tolist(), evaluation.scores.tolist()
    return {pool.candidates[row].person_id: score for row, score in zip(rows, scores, strict=True)}


common: Callable[..., Callable[..., None]] = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@common
@given(
    candidate_lists(),
    opportunities(),
    criteria_values,
    agreement_sets,
    st.floats(0.01, 20.0),
    st.just(TODAY) | around(-1, 1, 31),
)
def test_rank_gives_exactly_the_domain_ranking(
    cs: list[domain.Candidate],
    o: domain.Opportunity,
    c: domain.Criteria,
    agreements: list[frozenset[str]],
    km_per_step: float,
    on: date,
) -> None:
    geo = geography(agreements, km_per_step)
    expected = by_domain(cs, o, c, geo, on)

    ranked, eligible = matching.rank(matching.Pool.of(cs), o, c, geo, on=on, limit=max(1, len(cs)))

    assert eligible == len(expected)
    assert [r.candidate.person_id for r in ranked] == [r.candidate.person_id for r in expected]
    assert [r.score for r in ranked] == [r.score for r in expected]
    assert [dict(r.breakdown) for r in ranked] == [dict(r.breakdown) for r in expected]
    assert all(r.eligible for r in ranked)


@common
@given(candidate_lists(), opportunities(), criteria_values, agreement_sets, st.integers(1, 10))
def test_evaluate_scores_every_eligible_candidate_as_the_domain_does_and_top_cuts_like_it(
    cs: list[domain.Candidate],
    o: domain.Opportunity,
    c: domain.Criteria,
    agreements: list[frozenset[str]],
    limit: int,
) -> None:
    geo = geography(agreements, 1.3)
    expected = by_domain(cs, o, c, geo, TODAY)
    pool = matching.Pool.of(cs)

    evaluation = matching.evaluate(pool, o, c, geo, on=TODAY)

    assert scores_by_id(pool, evaluation) == {r.candidate.person_id: r.score for r in expected}
    best = matching.top(evaluation, pool, limit)
    assert [(pool.candidates[row].person_id, s) for row, s in best] == [
        (r.candidate.person_id, r.score) for r in expected[:limit]
    ]


def test_ties_go_to_the_smaller_person_id_in_both() -> None:
    twins = [
        domain.Candidate(person_id=pid, municipality_code=ADA, sex="F", birth_year=1990)
        for pid in ("p-c", "p-a", "p-d", "p-b")
    ]
    o = domain.Opportunity("o1", ADA)
    geo = geography([], 1.0)
    ranked, eligible = matching.rank(matching.Pool.of(twins), o, domain.Criteria(), geo, on=TODAY, limit=3)
    assert eligible == 4
    assert [r.candidate.person_id for r in ranked] == ["p-a", "p-b", "p-c"]
    assert [r.candidate.person_id for r in by_domain(twins, o, domain.Criteria(), geo, TODAY)][:3] == [
        "p-a",
        "p-b",
        "p-c",
    ]


def test_an_empty_pool_ranks_nobody() -> None:
    pool = matching.Pool.of([])
    geo = geography([frozenset({ADA, RUMA})], 1.0)
    o = domain.Opportunity("o1", ADA, required_skills=frozenset({"cleaning"}), preferred_skills=frozenset({"cooking"}))

    assert len(pool) == 0
    assert len(matching.evaluate(pool, o, domain.Criteria(), geo, on=TODAY)) == 0
    assert matching.rank(pool, o, domain.Criteria(), geo, on=TODAY, limit=10) == ([], 0)


def test_a_skill_unknown_to_the_reference_list_never_matches() -> None:
    assert not skill_list.is_known(OFF_LIST)
    assert matching.skill_mask([OFF_LIST]) == 0
    assert matching.skill_mask([OFF_LIST, "cleaning"]) == matching.skill_mask(["cleaning"])

    def person(person_id: str, *skills: str) -> domain.Candidate:
        return domain.Candidate(person_id, ADA, "M", 1990, skills=frozenset(skills))

    pool = matching.Pool.of([person("juggler", OFF_LIST), person("blank"), person("cleaner", "cleaning")])
    geo = geography([], 1.0)
    # Even an opportunity naming the off-list code (publishing refuses it; an old row might still hold one) gives
    # the juggler nothing for it: they score exactly as someone with no skills at all.
    for required in (frozenset({"cleaning"}), frozenset({OFF_LIST}), frozenset({OFF_LIST, "cleaning"})):
        o = domain.Opportunity("o1", ADA, required_skills=required, preferred_skills=frozenset({OFF_LIST}))
        scores = scores_by_id(pool, matching.evaluate(pool, o, domain.Criteria(), geo, on=TODAY))
        assert scores["juggler"] == scores["blank"], required
        if "cleaning" in required:
            assert scores["cleaner"] > scores["juggler"]
