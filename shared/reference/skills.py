"""The one controlled list of skills every service uses (persons in intake, candidates and opportunities in
activation). Codes are stable identifiers carried in events; labels exist in the three interface languages."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.script import to_cyrillic

CSV_PATH = Path(__file__).with_name("skills.csv")


@dataclass(frozen=True, slots=True)
class Skill:
    code: str
    group: str
    name_en: str
    name_sr_latn: str

    @property
    def name_sr_cyrl(self) -> str:
        return to_cyrillic(self.name_sr_latn)

    def label(self, language: str) -> str:
        """The name in an interface language: ``sr-Latn`` (default), ``sr-Cyrl`` or ``en``."""
        if language == "en":
            return self.name_en
        if language == "sr-Cyrl":
            return self.name_sr_cyrl
        return self.name_sr_latn


@cache
def skills() -> dict[str, Skill]:
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: Skill(**row) for row in csv.DictReader(fh)}


def is_known(code: str) -> bool:
    return code in skills()


def unknown(codes: list[str] | tuple[str, ...]) -> list[str]:
    """The codes in ``codes`` that are not on the list, in their order."""
    known = skills()
    return [c for c in codes if c not in known]


__all__ = ["Skill", "is_known", "skills", "unknown"]
