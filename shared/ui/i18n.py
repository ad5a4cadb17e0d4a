"""Interface languages: Serbian Latin (default), Serbian Cyrillic and English, from gettext catalogues.

English msgids are the source strings. The committed ``.po`` files are compiled in memory at first use
(no build step, no ``.mo`` in the repository). The chosen language travels in the ``oslonac_lang``
cookie (path ``/``), so all services on one origin speak the same language.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from pathlib import Path

from babel.messages import mofile, pofile
from starlette.requests import Request

LANGUAGES: tuple[str, ...] = ("sr-Latn", "sr-Cyrl", "en")
DEFAULT_LANGUAGE = "sr-Latn"
LANGUAGE_COOKIE = "oslonac_lang"
DOMAIN = "oslonac"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

# Each language is offered under its own name, in its own script, whatever the current language is.
LANGUAGE_NAMES: dict[str, str] = {"sr-Latn": "Srpski (latinica)", "sr-Cyrl": "Српски (ћирилица)", "en": "English"}

_ACCEPT_ITEM = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def N_(message: str) -> str:
    """Marks a module-level string for extraction; translate it where it is shown, with ``_(MESSAGE)``."""
    return message


def catalogue_name(language: str) -> str:
    """``sr-Latn`` → ``sr_Latn``: the directory name of a language's catalogue."""
    return language.replace("-", "_")


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / catalogue_name(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(path: Path, language: str | None = None) -> gettext.GNUTranslations:
    """Compile one ``.po`` file in memory; empty and fuzzy entries fall back to the English msgid.

    Babel writes the plural rule into the compiled catalogue only when it knows the locale: from
    ``language`` or else the file's ``Language`` header.
    """
    locale = catalogue_name(language) if language else None
    with path.open("rb") as source:
        catalog = pofile.read_po(source, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    mofile.write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
def translations(language: str) -> gettext.GNUTranslations:
    """The translations of one of :data:`LANGUAGES`, compiled once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown interface language {language!r}; known: {', '.join(LANGUAGES)}")
    return load_translations(po_path(language), language)


def translated_msgids(language: str) -> frozenset[str]:
    """The msgids ``language``'s catalogue translates (not empty, not fuzzy): what a page can say in it."""
    with po_path(language).open("rb") as source:
        catalog = pofile.read_po(source, locale=catalogue_name(language), domain=DOMAIN)
    return frozenset(m.id for m in catalog if isinstance(m.id, str) and m.id and m.string and not m.fuzzy)


def _match(tag: str) -> str | None:
    """The interface language an Accept-Language tag asks for, if we have it."""
    parts = tag.lower().split("-")
    if parts[0] == "en":
        return "en"
    if parts[0] in {"sr", "sh"}:
        # Bare ``sr`` (and ``sr-RS``) get the platform default, Latin; only an explicit script chooses.
        return "sr-Cyrl" if "cyrl" in parts[1:] else "sr-Latn"
    if parts[0] == "*":
        return DEFAULT_LANGUAGE
    return None


def negotiate(accept_language: str) -> str:
    """Best match for an ``Accept-Language`` header among :data:`LANGUAGES`, else the default."""
    candidates: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")[:20]):
        match = _ACCEPT_ITEM.match(item)
        if match is None:
            continue
        try:
            quality = float(match[2]) if match[2] is not None else 1.0
        except ValueError:
            continue
        language = _match(match[1])
        if language is not None and quality > 0:
            candidates.append((-quality, index, language))
    return min(candidates)[2] if candidates else DEFAULT_LANGUAGE


def language_for(request: Request) -> str:
    """The cookie's language if it names one we have, else the browser's best match, else Serbian Latin."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen is not None and chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("accept-language", ""))


def translations_for(request: Request) -> gettext.GNUTranslations:
    return translations(language_for(request))


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_COOKIE",
    "LANGUAGE_NAMES",
    "N_",
    "language_for",
    "load_translations",
    "negotiate",
    "po_path",
    "translated_msgids",
    "translations",
    "translations_for",
]
