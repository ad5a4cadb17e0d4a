"""Interface languages: Accept-Language negotiation, the language cookie, compiled catalogues, plural forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request

from shared.ui.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_COOKIE,
    LANGUAGES,
    language_for,
    load_translations,
    negotiate,
    translations,
)


def request_with(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw, "query_string": b""})


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("", "sr-Latn"),
        ("en-GB,en;q=0.9", "en"),
        ("sr-Cyrl-RS,sr;q=0.8", "sr-Cyrl"),
        ("sr-Latn-RS", "sr-Latn"),
        ("sr-RS,sr;q=0.9,en;q=0.8", "sr-Latn"),  # bare Serbian gets the platform default, Latin
        ("de-DE,de;q=0.9,en;q=0.5", "en"),
        ("de-DE,fr;q=0.9", "sr-Latn"),
        ("en;q=0.3,sr-Cyrl;q=0.7", "sr-Cyrl"),
        ("sr-Cyrl;q=0,en", "en"),  # q=0 means "not this one"
        ("*", "sr-Latn"),
        ("garbage;;;,en;q=abc,en-US", "en"),
    ],
)
def test_negotiate_picks_the_best_language_we_have(header: str, language: str) -> None:
    assert negotiate(header) == language


def test_cookie_beats_accept_language_and_an_unknown_cookie_is_ignored() -> None:
    assert language_for(request_with({"Cookie": f"{LANGUAGE_COOKIE}=sr-Cyrl", "Accept-Language": "en"})) == "sr-Cyrl"
    assert language_for(request_with({"Cookie": f"{LANGUAGE_COOKIE}=xx", "Accept-Language": "en"})) == "en"
    assert language_for(request_with({})) == DEFAULT_LANGUAGE == "sr-Latn"


@pytest.mark.parametrize(
    ("language", "sign_out", "wrong"),
    [
        ("sr-Latn", "Odjava", "Pogrešno korisničko ime ili lozinka."),
        ("sr-Cyrl", "Одјава", "Погрешно корисничко име или лозинка."),
        ("en", "Sign out", "Wrong user name or password."),
    ],
)
def test_committed_catalogues_translate(language: str, sign_out: str, wrong: str) -> None:
    assert translations(language).gettext("Sign out") == sign_out
    assert translations(language).gettext("Wrong user name or password.") == wrong
    assert translations(language).gettext("A string nobody translated") == "A string nobody translated"


def test_unknown_language_is_refused() -> None:
    assert "de" not in LANGUAGES
    with pytest.raises(ValueError, match="unknown interface language"):
        translations("de")


SERBIAN_PO = r"""
msgid ""
msgstr ""
"Language: sr_Latn\n"
"Content-Type: text/plain; charset=utf-8\n"
"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n"

msgid "%(count)s household"
msgid_plural "%(count)s households"
msgstr[0] "%(count)s domaćinstvo"
msgstr[1] "%(count)s domaćinstva"
msgstr[2] "%(count)s domaćinstava"

#, fuzzy
msgid "Not sure yet"
msgstr "Još nije sigurno"

msgid "Empty"
msgstr ""
"""


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "domaćinstvo"), (21, "domaćinstvo"), (2, "domaćinstva"), (4, "domaćinstva"), (22, "domaćinstva"),
     (5, "domaćinstava"), (11, "domaćinstava"), (12, "domaćinstava"), (14, "domaćinstava"), (0, "domaćinstava")],
)  # fmt: skip
def test_serbian_has_three_plural_forms(tmp_path: Path, n: int, form: str) -> None:
    path = tmp_path / "oslonac.po"
    path.write_text(SERBIAN_PO, encoding="utf-8")
    compiled = load_translations(path)
    assert compiled.ngettext("%(count)s household", "%(count)s households", n) % {"count": n} == f"{n} {form}"


def test_fuzzy_and_empty_entries_fall_back_to_english(tmp_path: Path) -> None:
    path = tmp_path / "oslonac.po"
    path.write_text(SERBIAN_PO, encoding="utf-8")
    compiled = load_translations(path)
    assert compiled.gettext("Not sure yet") == "Not sure yet"
    assert compiled.gettext("Empty") == "Empty"
