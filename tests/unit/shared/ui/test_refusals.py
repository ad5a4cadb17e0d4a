"""Refusals by code: the page's sentence in each language, and the static search for the codes a package raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import Invalid, field_error, field_errors
from shared.reference import municipalities
from shared.ui.i18n import N_, translations
from shared.ui.refusals import GENERIC, SHARED_CHECKS, Refusals, raised_codes, refusal_text, untranslated

# Sentences that are in the catalogues (the generic ones), so the tests need no msgids of their own.
TABLE = Refusals({"no_such_record": GENERIC["not_found"], "needs_value": GENERIC["missing"]})


def test_a_code_is_said_in_each_language() -> None:
    english = refusal_text(TABLE, "no_such_record", language="en")
    latin = refusal_text(TABLE, "no_such_record", language="sr-Latn")
    cyrillic = refusal_text(TABLE, "no_such_record", language="sr-Cyrl")
    assert english == "There is no such record. It may have been merged or removed."
    assert latin == translations("sr-Latn").gettext(english) != english
    assert cyrillic == translations("sr-Cyrl").gettext(english) != latin


def test_params_fill_the_sentence_and_a_bad_fit_keeps_the_page_up() -> None:
    table = Refusals({"n": "%(count)s left"})
    assert table.say("n", {"count": 3}, str) == "3 left"
    assert table.say("n", {"other": 3}, str) == "%(count)s left"


def test_an_unknown_code_shows_the_services_sentence_or_the_generic_one() -> None:
    assert TABLE.say("nobody_knows", None, str, fallback="As the service said.") == "As the service said."
    assert TABLE.say("nobody_knows", None, str) == GENERIC["invalid"]


def test_field_errors_by_field_with_their_values() -> None:
    table = Refusals({"too_big": "at most %(limit)s", "odd": "must be even"})
    exc = Invalid(
        "not valid",
        details=[
            field_error(["body", "size"], "too big", "too_big", params={"limit": 9}),
            field_error(["body", "size"], "odd", "odd"),
            field_error(["query", "members", 0, "name"], "what", "unheard_of"),
        ],
    )
    assert table.field_texts(exc, str) == {"size": "at most 9 must be even", "members.0.name": "what"}


def test_adapt_turns_values_into_what_the_page_says() -> None:
    table = Refusals({"by": "not by %(dim)s"}, adapt=lambda params, tr: {"dim": tr(params["dim"]).upper()})
    assert table.say("by", {"dim": "sex"}, str) == "not by SEX"


def test_a_domain_error_keeps_its_api_code_and_carries_its_reason() -> None:
    exc = Invalid("Unknown municipality code 1.", reason="unknown_municipality", params={"code": "1"})
    assert (exc.code, exc.reason, exc.params, exc.message) == (
        "invalid",
        "unknown_municipality",
        {"code": "1"},
        "Unknown municipality code 1.",
    )
    assert Invalid("plain").reason == "invalid"


def _package(tmp_path: Path, rules: str) -> Path:
    """A package ``pkg`` of one module, ``rules.py``, for raised_codes to read."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "rules.py").write_text(rules)
    return package


def test_raised_codes_finds_reasons_and_field_error_types(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        "from shared.errors import Conflict, field_error\n"
        "def f(x):\n"
        "    if x:\n"
        "        raise Conflict('closed', reason='closed_already')\n"
        "    return [field_error(['body', 'a'], 'bad', 'bad_a'), field_error(['body'], 'b', type_='bad_b')]\n",
    )
    assert [(c.code, c.where) for c in raised_codes(package)] == [
        ("bad_a", "pkg/rules.py:5"),
        ("bad_b", "pkg/rules.py:5"),
        ("closed_already", "pkg/rules.py:4"),
    ]


def test_untranslated_names_missing_codes_and_missing_translations() -> None:
    table = Refusals({"new": N_("A sentence no catalogue has heard of.")})
    problems = untranslated(table, ["new", "missing", "absent"])
    assert problems == [
        "absent: no page sentence in the service's Refusals table",
        "new: 'A sentence no catalogue has heard of.' has no translation in sr-Latn",
        "new: 'A sentence no catalogue has heard of.' has no translation in sr-Cyrl",
        "new: 'A sentence no catalogue has heard of.' has no translation in en",
    ]


def test_raised_codes_sees_the_code_of_a_shared_check_where_it_is_called(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        "from shared.reference import municipalities\n"
        "def f(code):\n"
        "    municipalities.ensure_known(code, ['body', 'municipality_code'])\n",
    )
    assert [(c.code, c.where) for c in raised_codes(package)] == [("unknown_municipality", "pkg/rules.py:3")]


def test_each_shared_check_refuses_with_the_codes_the_search_gives_it() -> None:
    with pytest.raises(Invalid) as refused:
        municipalities.ensure_known("99999", ["body", "municipality_code"])
    assert (refused.value.reason,) == SHARED_CHECKS["municipalities.ensure_known"]
    assert [e["type"] for e in field_errors(refused.value)] == ["unknown_municipality"]
    municipalities.ensure_known("80012", ["body", "municipality_code"])  # a known code passes
