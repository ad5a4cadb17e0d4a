from __future__ import annotations

from datetime import date, datetime

from shared.reference import municipalities
from shared.ui.formats import day, moment, number_in, parse_date, parse_whole_number
from shared.ui.places import (
    all_districts,
    all_municipalities,
    district_name,
    municipality_name,
    municipality_names,
    own_municipalities,
)


def _one() -> municipalities.Municipality:
    return next(iter(municipalities.municipalities().values()))


def test_a_municipality_is_named_in_the_pages_script_and_an_unknown_code_kept() -> None:
    found = _one()
    assert municipality_name(found.code, "sr-Latn") == found.name_latin
    assert municipality_name(found.code, "en") == found.name_latin
    assert municipality_name(found.code, "sr-Cyrl") == found.name_cyrillic
    assert municipality_name("99999", "sr-Cyrl") == "99999"
    assert municipality_names([found.code, "99999"], "sr-Latn") == f"{found.name_latin}, 99999"


def test_districts_are_transliterated_for_cyrillic_pages() -> None:
    assert district_name("Nišavski", "sr-Cyrl") == "Нишавски"
    assert district_name("Nišavski", "en") == "Nišavski"


def test_the_choices_are_every_municipality_and_district_by_name() -> None:
    choices = all_municipalities("sr-Cyrl")
    assert len(choices) == len(municipalities.municipalities())
    assert [name for _code, name in choices] == sorted(name for _code, name in choices)
    districts = all_districts("sr-Latn")
    assert {name for name, _shown in districts} == {m.district for m in municipalities.municipalities().values()}


def test_own_municipalities_or_all_for_a_user_without_any() -> None:
    found = _one()
    assert own_municipalities([found.code], "sr-Latn") == [(found.code, found.name_latin)]
    assert len(own_municipalities([], "sr-Latn")) == len(municipalities.municipalities())


def test_dates_and_numbers_the_serbian_way() -> None:
    assert day(date(2026, 5, 12)) == "12.05.2026."
    assert day("2026-05-12T10:00:00") == "12.05.2026."
    assert (day(None), day("later")) == ("—", "later")
    assert moment(datetime(2026, 5, 12, 14, 5)) == "12.05.2026. 14:05"
    assert moment("2026-05-12T14:05:00") == "12.05.2026. 14:05"
    assert number_in("sr-Latn")(2.5, 1) == "2,5"
    assert number_in("en")(2.5, 2) == "2.50"
    assert number_in("en")(None, 2) == "—"


def test_dates_and_whole_numbers_as_people_type_them() -> None:
    assert parse_date("2026-05-12") == parse_date("12.05.2026.") == parse_date(" 12.05.2026 ") == "2026-05-12"
    assert parse_date("31.02.2026") is None
    assert parse_date("May 12") is None
    assert parse_whole_number(" 42 ") == 42
    assert parse_whole_number("-1") is None
    assert parse_whole_number("٣") is None
