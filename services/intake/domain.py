"""Intake's pure rules: JMBG, and what a household must look like. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

Sex = Literal["F", "M"]
JMBG_WEIGHTS = (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


class RuleBroken(ValueError):
    """A rule of a request model that does not hold: pydantic reports it as a ``value_error`` with the English
    message (the API's ``msg``); the pages translate it by its ``reason`` and ``params`` (found in the error's
    ``ctx["error"]``)."""

    def __init__(self, message: str, *, reason: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.params: dict[str, Any] = dict(params or {})


# The codes of JmbgProblem; a refusal names one as ``jmbg_<code>``.
JMBG_PROBLEMS = ("length", "check_digit", "date", "birth_date", "sex")


@dataclass(frozen=True, slots=True)
class JmbgProblem:
    """Why a JMBG is refused: a stable ``code`` (the UI translates by it), its parameters and an English message."""

    code: str
    message: str
    params: tuple[tuple[str, str], ...] = ()


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
        return JmbgProblem("length", "JMBG must be exactly 13 digits.")
    if jmbg_check_digit(jmbg[:12]) != int(jmbg[12]):
        return JmbgProblem("check_digit", "JMBG check digit does not match: the number was probably mistyped.")
    encoded = jmbg_birth_date(jmbg)
    if encoded is None:
        return JmbgProblem("date", "JMBG does not start with a valid date (DDMMYYY).")
    if encoded != birth_date:
        return JmbgProblem(
            "birth_date",
            f"JMBG encodes the birth date {encoded.isoformat()}, but the birth date given is {birth_date.isoformat()}.",
            (("encoded", encoded.isoformat()), ("given", birth_date.isoformat())),
        )
    if jmbg_sex(jmbg) != sex:
        encoded_sex = "male" if jmbg_sex(jmbg) == "M" else "female"
        return JmbgProblem(
            "sex", f"JMBG encodes a {encoded_sex} person, but the sex given is {sex}.", (("encoded", jmbg_sex(jmbg)),)
        )
    return None


def make_jmbg(birth_date: date, sex: Sex, *, region: int = 80, serial: int = 0) -> str:
    """A valid JMBG for the given person (demo data and tests); serial 0–499 within the sex's range."""
    if not 0 <= serial < 500:
        raise ValueError("serial is 0..499")
    bbb = serial if sex == "M" else 500 + serial
    first12 = f"{birth_date.day:02d}{birth_date.month:02d}{birth_date.year % 1000:03d}{region:02d}{bbb:03d}"
    return first12 + str(jmbg_check_digit(first12))


# --- poverty (DOMAIN.md: equivalence scale and poverty flag) ----------------------------------------------------

ADULT_FROM_AGE = 14


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def equivalent_adults(ages: list[int]) -> float:
    """1.0 for the first adult, 0.5 for each other member aged 14+, 0.3 for each child under 14.

    A household of children only (no one 14+) counts its first child as 1.0: someone heads it, and its needs
    are at least one person's. Rounded to one decimal, as the scale has no finer steps.
    """
    if not ages:
        raise ValueError("a household has at least one member")
    adults = sum(1 for a in ages if a >= ADULT_FROM_AGE)
    children = len(ages) - adults
    total = 1.0 + 0.5 * (adults - 1) + 0.3 * children if adults else 1.0 + 0.3 * (children - 1)
    return round(total, 1)


@dataclass(frozen=True, slots=True)
class PovertyStatus:
    equivalent_adults: float
    income_per_equivalent_adult: float
    line: float | None
    year: int | None

    @property
    def below_line(self) -> bool | None:
        """True below the line, False at or above it, None when no line is set for the year."""
        if self.line is None:
            return None
        return self.income_per_equivalent_adult < self.line


def poverty_status(
    *, monthly_income: float, birth_dates: list[date], on: date, lines: dict[int, float]
) -> PovertyStatus:
    """Compare the household's monthly income per equivalent adult with the line of ``on``'s year.

    The line of the latest year not after ``on`` applies (a new year without its line yet keeps the last one).
    """
    scale = equivalent_adults([age_on(b, on) for b in birth_dates])
    applicable = [y for y in lines if y <= on.year]
    year = max(applicable) if applicable else None
    return PovertyStatus(
        equivalent_adults=scale,
        income_per_equivalent_adult=round(monthly_income / scale, 2),
        line=lines[year] if year is not None else None,
        year=year,
    )


# --- markers (DOMAIN.md: vulnerable groups recorded per person) -------------------------------------------------

ELDERLY_FROM_AGE = 65
CHILD_UNDER_AGE = 18
NO_DOCUMENTS = "no_personal_documents"


def derived_markers(
    *,
    recorded: set[str],
    jmbg: str | None,
    missing_jmbg_reason: str | None,
    employment_status: str | None,
    able_to_work: bool | None,
) -> list[str]:
    """The markers an event carries: those recorded plus those that follow from other fields, in a fixed order."""
    markers = set(recorded)
    if jmbg is None and missing_jmbg_reason == NO_DOCUMENTS:
        markers.add("without_documents")
    if able_to_work and employment_status == "unemployed":
        markers.add("unemployed_able_to_work")
    order = (
        "unemployed_able_to_work",
        "disability",
        "single_parent",
        "roma",
        "victim_of_violence",
        "without_documents",
    )
    return [m for m in order if m in markers]


def age_markers(birth_date: date, on: date) -> list[str]:
    age = age_on(birth_date, on)
    return ["elderly"] if age >= ELDERLY_FROM_AGE else ["child"] if age < CHILD_UNDER_AGE else []
