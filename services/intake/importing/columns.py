"""The columns of an import file: canonical English snake_case names (``COLUMNS``), the Serbian Latin names
accepted too (``ALIASES``), and how a header cell is read."""

from __future__ import annotations

import re
import unicodedata
from typing import get_args

from services.intake.schemas import IncomeSource
from shared.script import to_latin

INCOME_SOURCES: tuple[str, ...] = get_args(IncomeSource)
INCOME_COLUMNS = tuple(f"income_{source}" for source in INCOME_SOURCES)
KEY_COLUMNS = ("household_ref", "municipality_code")
HOUSEHOLD_COLUMNS = ("settlement", "address", "housing_type", "housing_problems", *INCOME_COLUMNS)
PERSON_COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "jmbg",
    "missing_jmbg_reason",
    "relation",
    "education",
    "employment_status",
    "able_to_work",
    "skills",
    "phone",
    "markers",
    "consents",
)
COLUMNS = (*KEY_COLUMNS, *HOUSEHOLD_COLUMNS, *PERSON_COLUMNS)
REQUIRED_COLUMNS = ("household_ref", "municipality_code", "given_name", "family_name", "birth_date", "sex")
# The error report's own columns: ignored when a corrected error report is uploaded again.
REPORT_COLUMNS = ("row_number", "column", "message")

_INCOME_ALIASES = {
    "wages": "plata",
    "pension": "penzija",
    "social_assistance": "socijalna_pomoc",
    "child_allowance": "deciji_dodatak",
    "unemployment_benefit": "naknada_za_nezaposlene",
    "disability_benefit": "invalidnina",
    "agriculture": "poljoprivreda",
    "informal_work": "neformalni_rad",
    "remittances": "doznake",
    "other": "ostalo",
}
ALIASES: dict[str, str] = {
    "domacinstvo": "household_ref",
    "sifra_domacinstva": "household_ref",
    "oznaka_domacinstva": "household_ref",
    "opstina": "municipality_code",
    "sifra_opstine": "municipality_code",
    "naselje": "settlement",
    "adresa": "address",
    "tip_stanovanja": "housing_type",
    "problemi_stanovanja": "housing_problems",
    "ime": "given_name",
    "prezime": "family_name",
    "datum_rodjenja": "birth_date",
    "pol": "sex",
    "razlog_bez_jmbg": "missing_jmbg_reason",
    "srodstvo": "relation",
    "obrazovanje": "education",
    "radni_status": "employment_status",
    "radno_sposoban": "able_to_work",
    "vestine": "skills",
    "telefon": "phone",
    "oznake": "markers",
    "saglasnosti": "consents",
    **{f"prihod_{serbian}": f"income_{source}" for source, serbian in _INCOME_ALIASES.items()},
}


def column_key(name: str) -> str:
    """A header cell as a lookup key: Latin script, lower case, no diacritics, words joined by ``_``."""
    latin = to_latin(name.strip().lstrip("\ufeff")).lower().replace("đ", "dj")
    plain = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
