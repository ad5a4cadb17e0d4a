"""What a name, a title or a search term may hold: one rule for every service, as pydantic types.

- ``HumanName`` (a person's, an organisation's, a forum's or a provider's name, an opportunity's title):
  surrounding whitespace is stripped, the text is put in Unicode NFC, other spaces (no-break, thin, ...) become
  plain spaces, and it must contain a letter. Control characters (NUL, tabs, line breaks), format characters
  (zero-width space and joiners, left-to-right/right-to-left marks, the bidi embeddings and overrides
  U+202A-U+202E and isolates U+2066-U+2069, the byte order mark, soft hyphens), private-use, unassigned and other
  invisible characters (Hangul fillers, the braille blank, ...) are refused, not stripped: a name someone typed
  with one of them is not the name they meant, and the refusal names the field.
- ``SearchTerm``: the same characters are refused; a term that is not blank must contain a letter or a digit
  (``?q=😀`` is a 422, not "every household"). A blank term means no term.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# Categories never part of a name: control, format, surrogate, private use, unassigned, line/paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Invisible characters of other categories (letters and symbols that draw nothing, joiners that are marks).
INVISIBLE = frozenset(
    {
        "\u034f",  # combining grapheme joiner
        "\u115f",  # Hangul choseong filler
        "\u1160",  # Hangul jungseong filler
        "\u17b4",  # Khmer vowel inherent aq
        "\u17b5",  # Khmer vowel inherent aa
        "\u180e",  # Mongolian vowel separator
        "\u2800",  # braille pattern blank
        "\u3164",  # Hangul filler
        "\uffa0",  # halfwidth Hangul filler
        *(chr(c) for c in range(0xFE00, 0xFE10)),  # variation selectors
    }
)


def refused_characters(text: str) -> list[str]:
    """The characters of ``text`` no name or search term may hold, as U+XXXX, in order, once each."""
    found = [c for c in text if unicodedata.category(c) in REFUSED_CATEGORIES or c in INVISIBLE]
    return [f"U+{ord(c):04X}" for c in dict.fromkeys(found)]


def _refuse_invisible(text: str) -> None:
    refused = refused_characters(text)
    if refused:
        raise ValueError(f"contains control or invisible characters ({', '.join(refused[:5])})")


def clean_name(value: str) -> str:
    """A name as stored: see the module's docstring. Raises ValueError (a 422 naming the field) when refused."""
    _refuse_invisible(value)
    text = unicodedata.normalize("NFC", value)
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text).strip()
    if not any(unicodedata.category(c).startswith("L") for c in text):
        raise ValueError("must contain a letter")
    return text


def clean_search_term(value: str) -> str:
    _refuse_invisible(value)
    text = unicodedata.normalize("NFC", value).strip()
    if text and not any(c.isalnum() for c in text):
        raise ValueError("must contain a letter or a digit")
    return text


def clean_text(value: str) -> str:
    """Single-line free text (an address, a settlement): the same characters refused, surrounding spaces stripped."""
    _refuse_invisible(value)
    return unicodedata.normalize("NFC", value).strip()


NAME_RULE = "must contain a letter; control and invisible characters (zero-width, bidi marks) are refused"
HumanName = Annotated[str, AfterValidator(clean_name)]
CleanText = Annotated[str, AfterValidator(clean_text)]
SearchTerm = Annotated[str, AfterValidator(clean_search_term)]
