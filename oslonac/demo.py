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
        DemoUser("demo-supervisor", (Role.supervisor,), (ada, ruma)),
        DemoUser("demo-employer", (Role.employer,), (ada, ruma), organisation="demo-forum-ada"),
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


def demo_household(rng: random.Random, municipality_code: str, *, members: int | None = None) -> dict[str, Any]:
    """A plausible household payload for ``POST /intake/api/households`` (no JMBG: the seed stays valid)."""
    family = rng.choice(FAMILY)
    count = members if members is not None else rng.randint(1, 6)
    people = []
    for i in range(count):
        sex = rng.choice("FM")
        year = rng.randint(1950, 2000) if i < 2 else rng.randint(2005, 2024)
        people.append(
            {
                "given_name": rng.choice(GIVEN_F if sex == "F" else GIVEN_M),
                "family_name": family,
                "birth_date": date(year, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                "sex": sex,
            }
        )
    return {"municipality_code": municipality_code, "members": people}
