"""Serbia's local self-government units: the CSV, look-ups by name, and distances between seats."""

from __future__ import annotations

import csv

import pytest

from shared.reference.municipalities import CSV_PATH, by_name, distance_km, get, is_known, municipalities

# Cyrillic → Latin, one to one (DOMAIN.md, "Names"); digraphs for Љ, Њ, Џ.
CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z", "и": "i",
    "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "č", "џ": "dž", "ш": "š",
}  # fmt: skip


def to_latin(cyrillic: str) -> str:
    out = []
    for ch in cyrillic:
        latin = CYRILLIC_TO_LATIN.get(ch.lower(), ch)
        out.append(latin.capitalize() if ch.isupper() else latin)
    return "".join(out)


def csv_rows() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_loads_every_row() -> None:
    rows = csv_rows()
    assert len(rows) == 161  # SOURCES.md: 27 cities, 117 municipalities, 17 Belgrade city municipalities
    assert len(municipalities()) == len(rows)


def test_codes_are_unique_five_digit_numbers() -> None:
    # Counted on the CSV rows: municipalities() is a dict and would silently swallow a duplicate.
    codes = [r["code"] for r in csv_rows()]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert len(code) == 5
        assert code.isascii()
        assert code.isdigit()


def test_codes_pass_the_register_check_digit() -> None:
    # SOURCES.md: weights 5, 4, 3, 2 on the first four digits; fifth = 11 − (sum mod 11), 10 and 11 → 0.
    for code in municipalities():
        m = 11 - sum(w * int(d) for w, d in zip((5, 4, 3, 2), code[:4], strict=True)) % 11
        assert int(code[4]) == (m if m <= 9 else 0), code


def test_kinds_match_sources_md() -> None:
    kinds = [m.kind for m in municipalities().values()]
    assert kinds.count("city") == 27
    assert kinds.count("municipality") == 117
    assert kinds.count("city_municipality") == 17


def test_latin_names_are_the_transliterated_cyrillic_names() -> None:
    for m in municipalities().values():
        assert to_latin(m.name_cyrillic) == m.name_latin, m.code


def test_latin_names_are_unique() -> None:
    names = [m.name_latin.casefold() for m in municipalities().values()]
    assert len(names) == len(set(names))


def test_seats_lie_in_serbia() -> None:
    # A rough bounding box of Serbia without Kosovo: catches swapped lat/lon and sign errors.
    for m in municipalities().values():
        assert 42.2 <= m.lat <= 46.2, m
        assert 18.8 <= m.lon <= 23.0, m


@pytest.mark.parametrize(
    ("name", "code", "district", "kind"),
    [
        ("Ada", "80012", "Severnobanatski", "municipality"),
        ("Ruma", "80357", "Sremski", "municipality"),
        ("Nova Crnja", "80250", "Srednjebanatski", "municipality"),
        ("Sremska Mitrovica", "80403", "Sremski", "city"),
    ],
)
def test_imc_partners_are_present(name: str, code: str, district: str, kind: str) -> None:
    municipality = by_name(name)
    assert municipality.code == code
    assert municipality.district == district
    assert municipality.kind == kind
    assert get(code) == municipality
    assert is_known(code)


@pytest.mark.parametrize("name", ["Рума", "рума", "RUMA", "ruma"])
def test_by_name_takes_either_script_and_any_case(name: str) -> None:
    assert by_name(name).code == "80357"


def test_by_name_cyrillic_with_two_words() -> None:
    assert by_name("Сремска Митровица").code == "80403"
    assert by_name("Нова Црња").code == "80250"


def test_unknown_name_and_code() -> None:
    with pytest.raises(KeyError):
        by_name("Atlantida")
    assert get("99999") is None
    assert not is_known("99999")


def test_distance_ruma_sremska_mitrovica_is_plausible_and_symmetric() -> None:
    ruma, mitrovica = by_name("Ruma"), by_name("Sremska Mitrovica")
    there = distance_km(ruma, mitrovica)
    back = distance_km(mitrovica, ruma)
    assert 15 <= there <= 30
    assert there == pytest.approx(back)


def test_distance_to_itself_is_zero_and_across_the_country_is_large() -> None:
    ada = by_name("Ada")
    assert distance_km(ada, ada) == 0
    # Ada (north Bačka) to Vranje (far south): some 350 km as the crow flies.
    assert 300 <= distance_km(ada, by_name("Vranje")) <= 420
