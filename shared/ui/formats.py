"""Dates and numbers as Serbian pages write and read them: 12.05.2026., 14:05, a decimal comma."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

EMPTY = "—"  # what a page shows for a missing value


def day(value: date | datetime | str | None) -> str:
    """A date the Serbian way (12.05.2026.); ISO text is accepted too, other text shown as it is."""
    if value is None:
        return EMPTY
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).strftime("%d.%m.%Y.")
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y.")


def moment(value: datetime | str | None) -> str:
    """A date and time (12.05.2026. 14:05); ISO text is accepted too."""
    if value is None:
        return EMPTY
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%d.%m.%Y. %H:%M")
        except ValueError:
            return value
    return value.strftime("%d.%m.%Y. %H:%M")


def number_in(language: str) -> Callable[[float | None, int], str]:
    """Numbers with a decimal comma in Serbian, a point in English."""

    def number(value: float | None, digits: int = 2) -> str:
        if value is None:
            return EMPTY
        text = f"{value:.{digits}f}"
        return text if language == "en" else text.replace(".", ",")

    return number


def parse_date(text: str) -> str | None:
    """ISO (from a date input) or the Serbian DD.MM.YYYY(.) people type, as ISO; None when it is neither."""
    text = text.strip().rstrip(".")
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return None


def parse_whole_number(text: str) -> int | None:
    """A whole number typed as ASCII digits (no sign, no separators); None otherwise."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None
