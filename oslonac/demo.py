"""Demo users and demo data for the embedded run (never in production)."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from shared.auth import DemoUser, Role
from shared.reference import municipalities


def demo_users() -> list[DemoUser]:
    ada, ruma = municipalities.by_name("Ada").code, municipalities.by_name("Ruma").code
    return [
        DemoUser("demo-worker", (Role.case_worker,), (ada, ruma)),
        DemoUser("demo-worker-2", (Role.case_worker,), (ada, ruma)),
        DemoUser("demo-supervisor", (Role.supervisor,), (ada, ruma)),
        DemoUser("demo-employer", (Role.employer,), (ada, ruma), organisation="demo-forum-ada"),
        DemoUser("demo-coordinator", (Role.coordinator,), (ada, ruma)),
        DemoUser("demo-analyst", (Role.analyst,), ()),
        DemoUser("demo-admin", (Role.admin,), ()),
    ]


GIVEN_F = [
    "Jelena",
    "Milica",
    "Ana",
    "Snežana",
    "Dragana",
    "Marija",
    "Ivana",
    "Ljiljana",
    "Gordana",
    "Nevena",
]
GIVEN_M = ["Marko", "Nikola", "Dragan", "Zoran", "Miloš", "Đorđe", "Stefan", "Jovan", "Nenad", "Aleksandar"]
FAMILY = [
    "Jovanović",
    "Petrović",
    "Nikolić",
    "Đorđević",
    "Ilić",
    "Pavlović",
    "Marković",
    "Kovač",
    "Horvat",
    "Nađ",
]


DEMO_POVERTY_LINE = 16_500.0  # RSD per equivalent adult per month (demo figure, set by the demo admin)


def likely_duplicate_pair(municipality_code: str) -> list[dict[str, Any]]:
    """The same woman registered twice by two offices: once in Cyrillic, once in Latin without diacritics."""

    def household(given: str, family: str, settlement: str) -> dict[str, Any]:
        return {
            "municipality_code": municipality_code,
            "settlement": settlement,
            "housing_type": "informal_settlement",
            "incomes": [{"source": "social_assistance", "monthly_amount": 11_000.0}],
            "members": [
                {
                    "given_name": given,
                    "family_name": family,
                    "birth_date": "1987-04-12",
                    "sex": "F",
                    "missing_jmbg_reason": "no_personal_documents",
                    "relation": "head",
                    "consents": ["case_work"],
                }
            ],
        }

    return [household("Драгана", "Ђорђевић", "Romsko naselje"), household("Dragana", "Djordjevic", "Centar")]


SETTLEMENTS = ["Centar", "Mali Pesak", "Gornji kraj", "Romsko naselje", "Salaš", "Novo naselje"]
SKILLS = ["cleaning", "cooking", "farming", "construction", "care_elderly", "driving_b", "sewing", "recycling"]


def demo_household(rng: random.Random, municipality_code: str, *, members: int | None = None) -> dict[str, Any]:
    """A plausible household payload for ``POST /intake/api/households``.

    No JMBG (a seed run twice stays valid); the reason says why, as a field worker would record it.
    """
    family = rng.choice(FAMILY)
    count = members if members is not None else rng.randint(1, 6)
    people = []
    for i in range(count):
        sex = rng.choice("FM")
        adult = i < 2
        year = rng.randint(1950, 2000) if adult else rng.randint(2005, 2024)
        person: dict[str, Any] = {
            "given_name": rng.choice(GIVEN_F if sex == "F" else GIVEN_M),
            "family_name": family,
            "birth_date": date(year, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
            "sex": sex,
            "missing_jmbg_reason": "no_personal_documents" if rng.random() < 0.1 else "not_known",
            "relation": "head" if i == 0 else "spouse" if i == 1 else "child",
            "consents": ["case_work"] + (["activation"] if adult and rng.random() < 0.7 else []),
        }
        if adult:
            able = rng.random() < 0.8
            person |= {
                "education": rng.choice(["none", "primary_incomplete", "primary", "secondary"]),
                "employment_status": rng.choice(["unemployed", "unemployed", "informal_work", "retired", "employed"]),
                "able_to_work": able,
                "skills": rng.sample(SKILLS, rng.randint(0, 3)) if able else [],
            }
            if rng.random() < 0.1:
                person["markers"] = ["disability"]
        else:
            person["education"] = "primary_incomplete" if year < 2019 else "none"
        people.append(person)
    incomes = [{"source": "social_assistance", "monthly_amount": float(rng.randrange(8_000, 20_000, 500))}]
    if rng.random() < 0.4:
        incomes.append({"source": "informal_work", "monthly_amount": float(rng.randrange(5_000, 30_000, 1_000))})
    return {
        "municipality_code": municipality_code,
        "settlement": rng.choice(SETTLEMENTS),
        "address": f"Ulica {rng.randint(1, 40)}. broj {rng.randint(1, 120)}",
        "housing_type": rng.choice(["own", "rented", "informal_settlement", "with_relatives"]),
        "incomes": incomes,
        "members": people,
    }


def demo_workers() -> dict[str, dict[str, Any]]:
    """Cases' workers (``PUT /cases/api/workers/{sub}``), registered before the households so cases get assigned."""
    ada, ruma = municipalities.by_name("Ada").code, municipalities.by_name("Ruma").code
    return {
        "demo-worker": {"display_name": "Jelena Petrović", "municipalities": [ada, ruma]},
        "demo-worker-2": {"display_name": "Marko Ilić", "municipalities": [ada, ruma]},
    }


def demo_providers() -> list[dict[str, Any]]:
    """Local service providers of Ada and Ruma (``POST /cases/api/providers``), a residential institution among them."""
    ada, ruma = municipalities.by_name("Ada").code, municipalities.by_name("Ruma").code
    return [
        {"name": "Gerontodomaćice Ada", "service_type": "home_help", "municipality_code": ada, "capacity": 25,
         "occupancy": 18},
        {"name": "Dnevni boravak „Sunce“ Ada", "service_type": "day_care", "municipality_code": ada, "capacity": 15,
         "occupancy": 9, "accessible": True},
        {"name": "Savetovalište CSR Ada", "service_type": "counselling", "municipality_code": ada, "capacity": 30},
        {"name": "Pomoć u kući Ruma", "service_type": "home_help", "municipality_code": ruma, "capacity": 40,
         "occupancy": 31},
        {"name": "Sigurna kuća Ruma", "service_type": "shelter", "municipality_code": ruma, "capacity": 8,
         "occupancy": 5, "accessible": True},
        {"name": "Dom za stare „Sremska kuća“ Ruma", "service_type": "residential_care", "municipality_code": ruma,
         "capacity": 120, "occupancy": 117, "accessible": True, "residential": True},
    ]  # fmt: skip


def demo_agreement(valid_from: date) -> dict[str, Any]:
    """Ada and Ruma share home help, day care and the shelter, and work engagement across the border
    (``POST /cases/api/agreements``)."""
    ada, ruma = municipalities.by_name("Ada").code, municipalities.by_name("Ruma").code
    return {
        "name": "Sporazum o međuopštinskoj saradnji Ada–Ruma",
        "municipalities": [ada, ruma],
        "service_types": ["home_help", "day_care", "shelter", "work_engagement"],
        "valid_from": valid_from.isoformat(),
    }


def demo_forum() -> dict[str, Any]:
    """The employers' forum of Ada and Ruma with the typical criteria (``POST /activation/api/forums``)."""
    ada, ruma = municipalities.by_name("Ada").code, municipalities.by_name("Ruma").code
    return {
        "name": "Forum poslodavaca Ada–Ruma",
        "municipalities": [ada, ruma],
        "criteria": {"min_age": 18, "max_age": 64, "scope": "agreement"},
    }


def demo_organisation() -> dict[str, Any]:
    """The demo employer's organisation (``PUT /activation/api/organisations/demo-forum-ada``)."""
    return {
        "name": "JKP „Komunalac“ Ada",
        "kind": "public_enterprise",
        "municipality_code": municipalities.by_name("Ada").code,
    }


def demo_opportunities(forum_id: str, starts_on: date) -> list[dict[str, Any]]:
    ada, ruma = municipalities.by_name("Ada").code, municipalities.by_name("Ruma").code
    return [
        {"title": "Društveno koristan rad: održavanje parkova", "type": "community_work", "forum_id": forum_id,
         "municipality_code": ada, "place": "Gradski park", "positions": 4, "hours_per_week_min": 10,
         "hours_per_week_max": 30, "starts_on": starts_on.isoformat(), "required_skills": ["gardening"],
         "preferred_skills": ["cleaning"], "accessible": True},
        {"title": "Javni radovi: pomoć u kuhinji narodne kuhinje", "type": "public_works", "forum_id": forum_id,
         "municipality_code": ruma, "place": "Narodna kuhinja", "positions": 2, "hours_per_week_min": 20,
         "hours_per_week_max": 40, "starts_on": starts_on.isoformat(), "required_skills": ["cooking"],
         "preferred_skills": [], "accessible": False},
    ]  # fmt: skip


def engageable_members(household: dict[str, Any]) -> list[dict[str, Any]]:
    """Members of a registered household (intake's answer) a case worker could engage for work: able to work,
    consented to activation, of working age."""
    this_year = date.today().year
    return [
        m
        for m in household.get("members", [])
        if m.get("able_to_work")
        and "activation" in (m.get("consents") or [])
        and 18 <= this_year - int(str(m.get("birth_date", "1900"))[:4]) <= 64
    ]


def demo_assessment() -> dict[str, Any]:
    needs = {d: {"level": "moderate"} for d in ("income", "employment", "housing", "health", "education", "care")}
    return {"needs": needs | {"safety": {"level": "none"}}}


def demo_plan(members: list[dict[str, Any]], responsible: str) -> dict[str, Any]:
    today = date.today()
    return {
        "goals": ["Stalan prihod domaćinstva kroz radno angažovanje"],
        "actions": [
            {
                "kind": "work_engagement",
                "person_id": m["id"],
                "description": "Radno angažovanje preko foruma poslodavaca",
                "responsible": responsible,
                "hours_per_week_min": 10,
                "hours_per_week_max": 30,
                "available_from": today.isoformat(),
            }
            for m in members
        ],
        "review_date": date.fromordinal(today.toordinal() + 90).isoformat(),
    }
