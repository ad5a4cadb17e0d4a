"""The values of an import file's cells as the request models want them: codes, lists, sex, yes/no, dates and
amounts in the ways field workers write them (either script, with or without diacritics)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

from shared.script import to_latin

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_LOCAL_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\.?$")
_AMOUNT = re.compile(r"^\d+([.,]\d{1,2})?$")
_FEMALE = {"f", "z", "zensko", "zenski", "female", "w"}
_MALE = {"m", "musko", "muski", "male"}
_TRUE = {"da", "d", "yes", "y", "1", "true"}
_FALSE = {"ne", "n", "no", "0", "false"}


def _plain(raw: str) -> str:
    """Latin, lower case, without diacritics: how yes/no and sex values are compared."""
    latin = to_latin(raw.strip()).lower()
    return unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii")


def parse_text(raw: str) -> str | None:
    return raw.strip() or None


# Codes, lists of codes, sex and yes/no take few distinct values in a file: their parses are cached.
@functools.lru_cache(maxsize=4096)
def parse_code(raw: str) -> str | None:
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    return value or None


def parse_codes(raw: str) -> list[str]:
    """A list written ``a;b;c`` (or with commas)."""
    return list(_codes(raw))


@functools.lru_cache(maxsize=4096)
def _codes(raw: str) -> tuple[str, ...]:
    return tuple(code for part in re.split(r"[;,]", raw) if (code := parse_code(part)))


@functools.lru_cache(maxsize=256)
def parse_sex(raw: str) -> str | None:
    if not raw.strip():
        return None
    value = _plain(raw)
    if value in _FEMALE:
        return "F"
    if value in _MALE:
        return "M"
    raise ValueError(f"'{raw.strip()}' is not a sex: write F or M (Ž or Ж for female, М for male)")


@functools.lru_cache(maxsize=256)
def parse_bool(raw: str) -> bool | None:
    if not raw.strip():
        return None
    value = _plain(raw)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"'{raw.strip()}' is not yes or no: write da/ne, yes/no or 1/0")


@functools.lru_cache(maxsize=32768)
def parse_date(raw: str) -> date | None:
    value = "".join(raw.split())
    if not value:
        return None
    if match := _ISO_DATE.match(value):
        year, month, day = (int(g) for g in match.groups())
    elif match := _LOCAL_DATE.match(value):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise ValueError(f"'{raw.strip()}' is not a date: write YYYY-MM-DD or DD.MM.YYYY")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"'{raw.strip()}' is not a valid date") from None


def parse_amount(raw: str) -> float | None:
    value = "".join(raw.split())
    if not value:
        return None
    if not _AMOUNT.match(value):
        raise ValueError(
            f"'{raw.strip()}' is not an amount: write RSD per month in digits, e.g. 15000 or 15000,50 "
            "(no thousands separators)"
        )
    return float(value.replace(",", "."))


def parse_jmbg(raw: str) -> str | None:
    return "".join(raw.split()) or None


PERSON_PARSERS: dict[str, Callable[[str], Any]] = {
    "given_name": parse_text,
    "family_name": parse_text,
    "birth_date": parse_date,
    "sex": parse_sex,
    "jmbg": parse_jmbg,
    "missing_jmbg_reason": parse_code,
    "relation": parse_code,
    "education": parse_code,
    "employment_status": parse_code,
    "able_to_work": parse_bool,
    "skills": _codes,
    "phone": parse_text,
    "markers": _codes,
    "consents": _codes,
}
