"""Intake's pure rules: JMBG, and what a household must look like. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Sex = Literal["F", "M"]
JMBG_WEIGHTS = (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


@dataclass(frozen=True, slots=True)
class JmbgProblem:
    message: str


def jmbg_check_digit(first12: str) -> int:
    """The control digit K of DOMAIN.md: m = 11 − (Σ weights × digits mod 11); K = m for 1..9, else 0."""
    total = sum(w * int(d) for w, d in zip(JMBG_WEIGHTS, first12, strict=True))
    m = 11 - total % 11
    return m if 1 <= m <= 9 else 0


def jmbg_birth_date(jmbg: str) -> date | None:
    day, month, yyy = int(jmbg[0:2]), int(jmbg[2:4]), int(jmbg[4:7])
    year = 1000 + yyy if yyy >= 800 else 2000 + yyy
    try:
        return date(year, month, day)
    except ValueError:
        return None


def jmbg_sex(jmbg: str) -> Sex:
    return "M" if int(jmbg[9:12]) < 500 else "F"


def check_jmbg(jmbg: str, *, birth_date: date, sex: Sex) -> JmbgProblem | None:
    """Why ``jmbg`` is not valid for a person born on ``birth_date`` of ``sex``, or None when it is."""
    if len(jmbg) != 13 or not (jmbg.isascii() and jmbg.isdigit()):
        return JmbgProblem("JMBG must be exactly 13 digits.")
    if jmbg_check_digit(jmbg[:12]) != int(jmbg[12]):
        return JmbgProblem("JMBG check digit does not match: the number was probably mistyped.")
    encoded = jmbg_birth_date(jmbg)
    if encoded is None:
        return JmbgProblem("JMBG does not start with a valid date (DDMMYYY).")
    if encoded != birth_date:
        return JmbgProblem(
            f"JMBG encodes the birth date {encoded.isoformat()}, but the birth date given is {birth_date.isoformat()}."
        )
    if jmbg_sex(jmbg) != sex:
        encoded_sex = "male" if jmbg_sex(jmbg) == "M" else "female"
        return JmbgProblem(f"JMBG encodes a {encoded_sex} person, but the sex given is {sex}.")
    return None


def make_jmbg(birth_date: date, sex: Sex, *, region: int = 80, serial: int = 0) -> str:
    """A valid JMBG for the given person (demo data and tests); serial 0–499 within the sex's range."""
    if not 0 <= serial < 500:
        raise ValueError("serial is 0..499")
    bbb = serial if sex == "M" else 500 + serial
    first12 = f"{birth_date.day:02d}{birth_date.month:02d}{birth_date.year % 1000:03d}{region:02d}{bbb:03d}"
    return first12 + str(jmbg_check_digit(first12))
