"""Service messages in the page's language: a vocabulary as translated choices, a template filled with values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Translate = Callable[[str], str]


def labelled(vocabulary: Mapping[str, str], translate: Translate) -> list[tuple[str, str]]:
    """(code, translated label) pairs for a select or a list of checkboxes, in the vocabulary's order."""
    return [(code, translate(label)) for code, label in vocabulary.items()]


def render(template: str, params: Mapping[str, Any] | None, translate: Translate) -> str:
    """The translated template with ``params``; without them if they do not fit (a translation's mistake must not
    take the page down)."""
    try:
        return translate(template) % dict(params or {})
    except (KeyError, TypeError, ValueError):
        return translate(template)
