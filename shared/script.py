"""Serbian in two scripts: transliteration between Cyrillic and Latin, and the folded form names are matched on.

Serbian Cyrillic and Latin map one to one (Љ↔Lj, Њ↔Nj, Џ↔Dž are single letters in Cyrillic). Field data also
arrives without diacritics ("Djordjevic", "Dordevic"), so matching uses :func:`fold`, under which
``Ђорђевић``, ``Đorđević``, ``Djordjevic`` and ``Dordevic`` are the same string.
"""

from __future__ import annotations

import re
import unicodedata

_CYR_TO_LAT: dict[str, str] = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Д": "D", "Ђ": "Đ", "Е": "E", "Ж": "Ž", "З": "Z", "И": "I",
    "Ј": "J", "К": "K", "Л": "L", "Љ": "Lj", "М": "M", "Н": "N", "Њ": "Nj", "О": "O", "П": "P", "Р": "R",
    "С": "S", "Т": "T", "Ћ": "Ć", "У": "U", "Ф": "F", "Х": "H", "Ц": "C", "Ч": "Č", "Џ": "Dž", "Ш": "Š",
}  # fmt: skip
_CYR_TO_LAT.update({k.lower(): v.lower() for k, v in list(_CYR_TO_LAT.items())})
_TO_LATIN = str.maketrans(_CYR_TO_LAT)

# Latin → Cyrillic: digraphs first (lj, nj, dž), then single letters.
_LAT_DIGRAPHS = {"Lj": "Љ", "LJ": "Љ", "lj": "љ", "Nj": "Њ", "NJ": "Њ", "nj": "њ", "Dž": "Џ", "DŽ": "Џ", "dž": "џ"}
_LAT_SINGLE = {v: k for k, v in _CYR_TO_LAT.items() if len(v) == 1}
_LAT_PATTERN = re.compile("|".join(sorted(map(re.escape, _LAT_DIGRAPHS), key=len, reverse=True)) + "|.", re.DOTALL)

# After transliteration to Latin: strip the diacritics field data so often lacks. Đ is written "Dj" or "D".
_FOLD_LETTERS = str.maketrans({"đ": "d", "ž": "z", "ć": "c", "č": "c", "š": "s"})
_NOT_LETTER = re.compile(r"[^a-z]+")


_UPPER_CYR = "АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ"
_CAPITAL_DIGRAPH = {"Љ": "LJ", "Њ": "NJ", "Џ": "DŽ"}
# Љ, Њ, Џ inside a word written in capitals become LJ, NJ, DŽ (ЉИЉАНА → LJILJANA, not LjILjANA).
_ALL_CAPS_DIGRAPH = re.compile(f"[ЉЊЏ](?=[{_UPPER_CYR}])|(?<=[{_UPPER_CYR}])[ЉЊЏ](?![а-шђјљњћџ])")


def to_latin(text: str) -> str:
    """Serbian Cyrillic letters to Latin; everything else unchanged."""
    text = _ALL_CAPS_DIGRAPH.sub(lambda m: _CAPITAL_DIGRAPH[m.group(0)], text)
    return text.translate(_TO_LATIN)


def to_cyrillic(text: str) -> str:
    """Serbian Latin to Cyrillic, letter by letter (lj, nj, dž as one letter); other characters unchanged.

    Meant for our own interface texts, not for people's names: a Hungarian or foreign name must not be
    transliterated.
    """

    def one(match: re.Match[str]) -> str:
        piece = match.group(0)
        return _LAT_DIGRAPHS.get(piece) or _LAT_SINGLE.get(piece, piece)

    return _LAT_PATTERN.sub(one, text)


def fold(text: str) -> str:
    """The form two spellings of one name share: Latin, lower case, no diacritics, ``dj`` as ``d``, letters only.

    >>> fold("Ђорђевић") == fold("Đorđević") == fold("Djordjevic") == fold("Dordevic") == "dordevic"
    True
    """
    latin = unicodedata.normalize("NFC", to_latin(text)).lower().translate(_FOLD_LETTERS)
    # Anything else with a diacritic (Hungarian á, ö, ő …) loses it; what is not a letter goes.
    plain = _NOT_LETTER.sub("", unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii"))
    while "dj" in plain:  # until none is left, so that folding a folded name changes nothing
        plain = plain.replace("dj", "d")
    return plain


def fold_words(text: str) -> str:
    """The folded words of ``text``, each after a space (``" jovanovic petrovic"``): a search token then
    matches the start of any word, so either part of a double surname finds it."""
    words = (fold(word) for word in re.split(r"[\s\-‐–—]+", text))
    return "".join(f" {word}" for word in words if word)


def name_key(given_name: str, family_name: str) -> str:
    """What two records of one person's name agree on, whatever the script or diacritics: ``family|given``."""
    return f"{fold(family_name)}|{fold(given_name)}"


__all__ = ["fold", "fold_words", "name_key", "to_cyrillic", "to_latin"]
