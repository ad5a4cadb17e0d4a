"""Service messages in the page's language: the pages' vocabularies and the patterns that recognise what the
service layer says (an English sentence, maybe with values in it) and say it again in the user's language."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Translate = Callable[[str], str]
Patterns = Sequence[tuple[re.Pattern[str], str]]


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


def by_patterns(
    text: str,
    patterns: Patterns,
    translate: Translate,
    adapt: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
) -> str:
    """``text`` said in the page's language by the first pattern that recognises it (its named groups fill the
    template, after ``adapt(params, template)`` turned codes into names); one no pattern knows is shown as it
    came."""
    for pattern, template in patterns:
        match = pattern.search(text)
        if match is None:
            continue
        params: dict[str, Any] = dict(match.groupdict())
        return render(template, adapt(params, template) if adapt else params, translate)
    return text
