"""What an analyst reads from GET /reporting/api/indicators: each indicator's meaning on a small, known data set,
delivered through reporting's real consumer path, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events import (
    ActivationRequestedV1,
    AssessmentCompletedV1,
    Availability,
    CaseAssignedV1,
    CaseOpenedV1,
    CaseStatusChangedV1,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    MatchProposedV1,
    MemberProfile,
    PersonErasedV1,
    PlacementStartedV1,
    ProviderChangedV1,
    ReferralRequestedV1,
)
from shared.messaging.applier import Outcome
from tests.fixtures.auth import ADA, NOVI_SAD, RUMA, Tokens
from tests.fixtures.cases import OFFLINE
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver, envelope_for
from tests.fixtures.services import RunningService, running_service

MARCH = datetime(2026, 3, 10, 9, tzinfo=UTC)
APRIL = datetime(2026, 4, 10, 9, tzinfo=UTC)
RANGE = {"from": "2026-01", "to": "2026-06"}


@pytest.fixture
async def reporting(databases: DatabaseFactory, tokens: Tokens) -> AsyncIterator[RunningService]:
    url = await databases.url_for("reporting")
    async with running_service(
        "reporting",
        database_url=url,
        kafka=OFFLINE,
        tokens=tokens,
        run_consumer=False,
        run_relay=False,
        caseload_norm=2,
    ) as running:
        yield running


def member(sex: str, birth_year: int, relation: str, *markers: str) -> MemberProfile:
    return MemberProfile(
        person_id=uuid.uuid4(), sex=sex, birth_year=birth_year, relation=relation, markers=list(markers)
    )  # type: ignore[arg-type]


def household(
    municipality: str, members: list[MemberProfile], *, poor: bool | None = True, at: datetime = MARCH
) -> HouseholdRegisteredV2:
    return HouseholdRegisteredV2(
        household_id=uuid.uuid4(),
        municipality_code=municipality,
        registered_at=at,
        members=members,
        below_poverty_line=poor,
        poverty_year=at.year if poor is not None else None,
    )


def couple(municipality: str = ADA, *, poor: bool | None = True, at: datetime = MARCH) -> HouseholdRegisteredV2:
    """A woman of 76 heading a household with her husband: elderly head, not a single woman."""
    return household(municipality, [member("F", 1950, "head"), member("M", 1948, "spouse")], poor=poor, at=at)


async def table(reporting: RunningService, user: str = "admin", **params: Any) -> dict[str, Any]:
    r = await reporting.client.get("/reporting/api/indicators", params=params, headers=reporting.auth(user))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def value(reporting: RunningService, indicator: str, user: str = "admin", **params: Any) -> Any:
    rows = (await table(reporting, user, indicator=indicator, **{**RANGE, **params}))["rows"]
    assert len(rows) == 1, rows
    return rows[0]["value"]


def by(rows: list[dict[str, Any]], *dims: str) -> dict[Any, Any]:
    return {tuple(r[d] for d in dims) if len(dims) > 1 else r[dims[0]]: r["value"] for r in rows}


async def test_registry_poverty_and_household_types_by_sex_age_area_and_period(reporting: RunningService):
    poor = [couple() for _ in range(4)]
    not_poor = [couple(poor=False) for _ in range(2)]
    mother = household(ADA, [member("F", 1990, "head", "single_parent", "roma"), member("M", 2015, "child")], at=APRIL)
    ruma = household(RUMA, [member("M", 1980, "head", "disability")], poor=None, at=APRIL)
    await deliver(reporting, *poor, *not_poor, mother, ruma)

    assert await value(reporting, "households") == 8
    assert await value(reporting, "persons") == 15
    persons = (await table(reporting, indicator="persons_registered", period="month", by="period,sex", **RANGE))["rows"]
    assert by(persons, "period", "sex")[("2026-03", "F")] == 6
    assert by(persons, "period", "sex")[("2026-04", "M")] == 2
    assert by(persons, "period", "sex")[("2026-01", "F")] == 0  # empty months are there, as zeros
    # A stock is the state at each period's end; a flow what happened within it.
    stock = (await table(reporting, indicator="households", period="month", by="period", **RANGE))["rows"]
    assert [r["value"] for r in stock] == [0, 0, 6, 8, 8, 8]
    assert by(
        (await table(reporting, indicator="households_registered", period="quarter", by="period", **RANGE))["rows"],
        "period",
    ) == {"2026-Q1": 6, "2026-Q2": 2}

    # Poverty: 4 of 6 couples and the mother's household are poor; Ruma's status is unknown (no line set).
    assert await value(reporting, "households_below_poverty") == 5
    rate = (await table(reporting, indicator="households_poverty_rate", **RANGE))["rows"][0]
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (5, 7, round(5 / 7, 4))
    areas = (await table(reporting, indicator="persons_below_poverty", area="district", by="area", **RANGE))["rows"]
    assert by(areas, "area") == {"Severnobanatski": 10}

    # Household types; the mother is 36: a single woman heading her household, not elderly.
    assert await value(reporting, "households_elderly_head") == 6
    assert await value(reporting, "households_single_woman_head") == 1
    assert await value(reporting, "households_with_disability", municipality=RUMA) == 1
    bands = by((await table(reporting, indicator="persons", by="age_band", **RANGE))["rows"], "age_band")
    assert bands == {"0-17": 1, "18-29": 0, "30-49": 2, "50-64": 0, "65+": 12}
    groups = by((await table(reporting, indicator="persons", by="group", **RANGE))["rows"], "group")
    assert (groups["roma"], groups["child"], groups["elderly"], groups["disability"]) == (1, 1, 12, 1)
    assert await value(reporting, "persons", group="roma") == 1
    assert await value(reporting, "persons", sex="F", age_band="65+") == 6


async def test_later_states_erasure_and_merges_change_the_figures_and_an_old_state_does_not(
    reporting: RunningService,
):
    first, second = couple(), couple()
    await deliver(reporting, first, second)
    edited = HouseholdUpdatedV1(
        **{**first.model_dump(exclude={"type"}), "below_poverty_line": False, "version": 2},
        reason="edited",
        changed_at=APRIL,
    )
    stale = HouseholdUpdatedV1(
        **{**first.model_dump(exclude={"type"}), "below_poverty_line": True, "version": 2},
        reason="edited",
        changed_at=APRIL,
    )
    await deliver(reporting, edited, stale)  # the same version twice: the first one read stands
    assert await value(reporting, "households_below_poverty") == 1

    erased = first.members[1].person_id
    await deliver(reporting, PersonErasedV1(household_id=first.household_id, person_id=erased, erased_at=APRIL))
    assert await value(reporting, "persons") == 3
    await deliver(
        reporting,
        HouseholdMergedV1(
            survivor_household_id=first.household_id, merged_household_id=second.household_id, merged_at=APRIL
        ),
    )
    assert await value(reporting, "households") == 1
    assert await value(reporting, "persons") == 1


def case_events(registered: HouseholdRegisteredV2, worker: str, days_to_assessment: float | None) -> list[EventData]:
    case_id = uuid.uuid4()
    keys = {"case_id": case_id, "household_id": registered.household_id, "municipality_code": "80012"}
    events: list[EventData] = [
        CaseOpenedV1(**keys, opened_at=MARCH, household_registered_at=registered.registered_at, assigned_to=worker)
    ]
    if days_to_assessment is not None:
        done = registered.registered_at + timedelta(days=days_to_assessment)
        events += [
            CaseStatusChangedV1(**keys, from_status="open", to_status="assessment", changed_at=MARCH),
            AssessmentCompletedV1(
                **keys,
                assessment_id=uuid.uuid4(),
                needs={"income": "high"},
                household_registered_at=registered.registered_at,
                completed_at=done,
            ),
            CaseStatusChangedV1(**keys, from_status="assessment", to_status="plan", changed_at=APRIL),
        ]
    return events


async def test_cases_by_state_at_each_periods_end_median_days_and_caseload_against_the_norm(
    reporting: RunningService,
):
    households = [couple() for _ in range(5)]
    await deliver(reporting, *households)
    events: list[EventData] = []
    for i, (h, days) in enumerate(zip(households, (3, 5, 9, 20, None), strict=True)):
        events += case_events(h, "w1" if i < 3 else "w2", days)
    await deliver(reporting, *events)
    closed = events[-1]
    assert isinstance(closed, CaseOpenedV1)
    await deliver(
        reporting,
        CaseAssignedV1(
            case_id=closed.case_id,
            household_id=closed.household_id,
            municipality_code=ADA,
            worker="w1",
            previous_worker="w2",
            by="supervisor",
            assigned_at=APRIL,
        ),
    )

    states = (await table(reporting, indicator="cases_by_state", period="month", by="period,category", **RANGE))["rows"]
    march, april = (
        {r["category"]: r["value"] for r in states if r["period"] == month} for month in ("2026-03", "2026-04")
    )
    assert (march["open"], march["assessment"], march["plan"]) == (1, 4, 0)
    assert (april["open"], april["assessment"], april["plan"]) == (1, 0, 4)
    assert set(march) == {"open", "assessment", "plan", "active", "closed", "transferred"}
    assert await value(reporting, "cases_opened") == 5

    median = (await table(reporting, indicator="median_days_to_assessment", **RANGE))["rows"][0]
    assert (median["value"], median["cases"]) == (7.0, 4)

    caseload = (await table(reporting, indicator="caseload_per_worker", area="municipality", by="area"))["rows"]
    assert caseload == [
        {
            "area": ADA,
            "area_name": "Ada",
            "value": 2.5,
            "workers": 2,
            "active_cases": 5,
            "over_norm": 1,  # w1 carries 4 against a norm of 2 (w2 carries 1)
            "norm": 2,
        }
    ]


async def test_referrals_across_borders_and_provider_occupancy_over_time(reporting: RunningService):
    h = couple()
    case_id = uuid.uuid4()
    provider, far = uuid.uuid4(), uuid.uuid4()
    referrals = [
        ReferralRequestedV1(
            case_id=case_id,
            household_id=h.household_id,
            municipality_code=ADA,
            referral_id=uuid.uuid4(),
            provider_id=far if i < 2 else provider,
            service_type="day_care" if i < 4 else "counselling",
            provider_municipality_code=NOVI_SAD if i < 2 else ADA,
            cross_border=i < 2,
            requested_at=MARCH,
        )
        for i in range(6)
    ]
    changes = [
        ProviderChangedV1(
            provider_id=provider,
            service_type="day_care",
            municipality_code=ADA,
            capacity=20,
            occupancy=occupancy,
            residential=False,
            accessible=True,
            active=True,
            changed_at=at,
        )
        for occupancy, at in ((10, MARCH), (15, APRIL))
    ]
    await deliver(reporting, h, *referrals, *changes)
    types = by((await table(reporting, indicator="referrals", by="category", **RANGE))["rows"], "category")
    assert (types["day_care"], types["counselling"], types["shelter"]) == (4, 2, 0)
    share = (await table(reporting, indicator="referrals_cross_border_share", **RANGE))["rows"][0]
    assert (share["numerator"], share["denominator"], share["value"]) == (2, 6, round(2 / 6, 4))
    occupancy = (await table(reporting, indicator="provider_occupancy", period="month", by="period", **RANGE))["rows"]
    assert [(r["period"], r["value"]) for r in occupancy[1:4]] == [
        ("2026-02", None),
        ("2026-03", 0.5),
        ("2026-04", 0.75),
    ]


def candidate(sex: str, municipality: str = ADA, *markers: str) -> ActivationRequestedV1:
    return ActivationRequestedV1(
        request_id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        municipality_code=municipality,
        sex=sex,
        birth_year=1990,
        markers=list(markers),
        availability=Availability(hours_per_week_min=10, hours_per_week_max=40, available_from=MARCH.date()),
        requested_at=MARCH,
    )  # type: ignore[arg-type]


def started(request: ActivationRequestedV1) -> list[EventData]:
    keys = {
        "placement_id": uuid.uuid4(),
        "opportunity_id": uuid.uuid4(),
        "person_id": request.person_id,
        "case_id": request.case_id,
        "municipality_code": request.municipality_code,
    }
    return [
        MatchProposedV1(
            **keys, opportunity_municipality_code=ADA, opportunity_type="public_works", score=70.0, proposed_at=MARCH
        ),
        PlacementStartedV1(**keys, started_at=APRIL),
    ]  # type: ignore[arg-type]


async def test_placement_rate_and_the_share_of_women_and_roma_among_placements(reporting: RunningService):
    women = [candidate("F", ADA, "roma") for _ in range(6)]
    men = [candidate("M") for _ in range(6)]
    await deliver(reporting, *women, *men)
    await deliver(reporting, *[e for c in women[:4] + men[:2] for e in started(c)])
    rate = (await table(reporting, indicator="placement_rate", period="month", by="period", **RANGE))["rows"]
    assert [(r["period"], r["value"]) for r in rate[2:4]] == [("2026-03", 0.0), ("2026-04", 0.5)]
    women_share = (await table(reporting, indicator="share_women_placements", **RANGE))["rows"][0]
    assert (women_share["value"], women_share["numerator"], women_share["denominator"]) == (round(4 / 6, 4), 4, 6)
    roma = (await table(reporting, indicator="share_roma_placements", **RANGE))["rows"][0]
    assert roma["numerator"] == 4
    catalogue = (await reporting.client.get("/reporting/api/catalogue", headers=reporting.auth("analyst"))).json()
    assert next(i for i in catalogue["indicators"] if i["name"] == "share_women_placements")["target"] == 0.5


async def test_analysts_see_small_counts_as_under_five_and_nothing_that_reveals_them(reporting: RunningService):
    await deliver(reporting, *[couple() for _ in range(3)], *[couple(RUMA) for _ in range(6)])
    await deliver(reporting, household(RUMA, [member("M", 1980, "head")]))
    # Exact for the admin; Ada's 3 households are a small cell for the analyst.
    areas = dict(
        admin=by(
            (await table(reporting, indicator="households", area="municipality", by="area", **RANGE))["rows"], "area"
        ),
        analyst=by(
            (await table(reporting, "analyst", indicator="households", area="municipality", by="area", **RANGE))[
                "rows"
            ],
            "area",
        ),
    )
    assert areas["admin"] == {ADA: 3, RUMA: 7}
    assert areas["analyst"][ADA] == "<5"
    # By sex in Ruma: 6 women, 7 men → shown; in Ada 3 and 3 → both hidden, the district total stays.
    sexes = await table(reporting, "analyst", indicator="persons", by="area,sex", area="municipality", **RANGE)
    cells = by(sexes["rows"], "area", "sex")
    assert cells[(ADA, "F")] == "<5" and cells[(ADA, "M")] == "<5"
    assert cells[(RUMA, "F")] == 6 and cells[(RUMA, "M")] == 7
    assert sexes["exact"] is False and sexes["suppressed"] >= 2
    # One hidden cell among shown ones would be the total minus the rest: a second one is hidden with it.
    men = (await table(reporting, "analyst", indicator="persons", municipality=RUMA, by="age_band", **RANGE))["rows"]
    hidden = [r["age_band"] for r in men if r["value"] == "<5"]
    assert hidden == ["30-49", "65+"]  # 1 person of 46 and the 12 elderly, so 1 cannot be derived
    # A rate on a small numerator is hidden too.
    rate = (await table(reporting, "analyst", indicator="households_poverty_rate", municipality=ADA, **RANGE))["rows"]
    assert rate[0]["value"] == "<5" and rate[0]["numerator"] == "<5"
    # Supervisors see exact figures of their own municipalities only.
    own = await value(reporting, "households", "supervisor", municipality=ADA)
    elsewhere = await value(reporting, "households", "supervisor-ns", municipality=ADA)
    assert (own, elsewhere) == (3, "<5")


async def test_a_redelivered_event_is_counted_once(reporting: RunningService):
    registered = couple()
    envelope = envelope_for(registered)
    assert await deliver(reporting, (registered, envelope)) == [Outcome.applied]
    assert await deliver(reporting, (registered, envelope)) == [Outcome.duplicate]
    assert await value(reporting, "persons") == 2


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({}, "indicator", "indicator"),
        ({"indicator": "poverty"}, "indicator", "unknown indicator"),
        ({"indicator": "persons", "from": "2026-13"}, "from", "YYYY-MM"),
        ({"indicator": "persons", "from": "2026-06", "to": "2026-01"}, "from", "starts after it ends"),
        ({"indicator": "provider_occupancy", "by": "sex"}, "by", "cannot be broken down by sex"),
        ({"indicator": "share_women_beneficiaries", "by": "sex"}, "by", "cannot be broken down by sex"),
        ({"indicator": "caseload_per_worker", "by": "period"}, "by", "cannot be broken down by period"),
        ({"indicator": "persons", "municipality": "99999"}, "municipality", "unknown municipality"),
        ({"indicator": "persons", "district": "Atlantis"}, "district", "unknown district"),
        ({"indicator": "persons", "group": "tall"}, "group", "one of"),
        ({"indicator": "persons", "by": "colour"}, "by", "unknown dimension"),
    ],
)
async def test_a_bad_query_is_a_422_that_names_the_problem(
    reporting: RunningService, params: dict[str, str], field: str, words: str
):
    r = await reporting.client.get("/reporting/api/indicators", params=params, headers=reporting.auth("analyst"))
    assert r.status_code == 422, r.text
    assert field in r.text and words in r.text, r.text


async def test_only_readers_of_aggregates_may_ask(reporting: RunningService):
    r = await reporting.client.get(
        "/reporting/api/indicators", params={"indicator": "persons"}, headers=reporting.auth("employer")
    )
    assert r.status_code == 403
    r = await reporting.client.get("/reporting/api/indicators", params={"indicator": "persons"})
    assert r.status_code == 401
