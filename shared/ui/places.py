"""Municipalities and districts by name, in the page's language (the reference list has both scripts for a
municipality's name and Latin for a district's)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.reference import municipalities
from shared.script import to_cyrillic


def municipality_name(code: str, language: str) -> str:
    """The municipality's name in the page's script; an unknown code as it is."""
    found = municipalities.get(code)
    if found is None:
        return code
    return found.name_cyrillic if language == "sr-Cyrl" else found.name_latin


def municipality_names(codes: Iterable[str], language: str) -> str:
    """Several municipalities, by name, separated by commas, in the order given."""
    return ", ".join(municipality_name(code, language) for code in codes)


def district_name(name: str, language: str) -> str:
    """Districts are named in Latin in the reference list; Cyrillic pages get them transliterated."""
    return to_cyrillic(name) if language == "sr-Cyrl" else name


def all_municipalities(language: str) -> list[tuple[str, str]]:
    """(code, name) of every municipality, by name: the choices of a select."""
    return sorted(
        ((code, municipality_name(code, language)) for code in municipalities.municipalities()),
        key=lambda pair: pair[1],
    )


def all_districts(language: str) -> list[tuple[str, str]]:
    """(name, name as shown) of every district, by the name shown."""
    names = {m.district for m in municipalities.municipalities().values()}
    return sorted(((name, district_name(name, language)) for name in names), key=lambda pair: pair[1])


def own_municipalities(codes: Iterable[str], language: str) -> list[tuple[str, str]]:
    """(code, name) of a user's municipalities, by code; every municipality for a user without any (admins)."""
    mine = sorted(codes) or sorted(municipalities.municipalities())
    return [(code, municipality_name(code, language)) for code in mine]
