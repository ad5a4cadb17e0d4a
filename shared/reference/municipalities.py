"""Serbia's local self-government units: official statistical code, names in both scripts, district,
approximate coordinates of the seat. Source and caveats in SOURCES.md beside the CSV."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.errors import Invalid, field_error

CSV_PATH = Path(__file__).with_name("municipalities.csv")


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str
    name_latin: str
    name_cyrillic: str
    district: str
    kind: str
    lat: float
    lon: float


@cache
def municipalities() -> dict[str, Municipality]:
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        rows = [
            Municipality(
                code=r["code"],
                name_latin=r["name_latin"],
                name_cyrillic=r["name_cyrillic"],
                district=r["district"],
                kind=r["kind"],
                lat=float(r["lat"]),
                lon=float(r["lon"]),
            )
            for r in csv.DictReader(fh)
        ]
    return {m.code: m for m in rows}


def get(code: str) -> Municipality | None:
    return municipalities().get(code)


def is_known(code: str) -> bool:
    return code in municipalities()


def ensure_known(code: str, loc: list[str | int]) -> None:
    """Refuse a municipality code that is not on the reference list; ``loc`` is the field it came in."""
    if not is_known(code):
        raise Invalid(
            f"Unknown municipality code {code}.",
            reason="unknown_municipality",
            params={"code": code},
            details=[field_error(loc, "unknown municipality code", "unknown_municipality", params={"code": code})],
        )


def by_name(name: str) -> Municipality:
    """Look a unit up by its Latin or Cyrillic name (case-insensitive)."""
    wanted = name.casefold()
    for m in municipalities().values():
        if wanted in (m.name_latin.casefold(), m.name_cyrillic.casefold()):
            return m
    raise KeyError(name)


def distance_km(a: Municipality, b: Municipality) -> float:
    """Great-circle distance between two seats."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))
