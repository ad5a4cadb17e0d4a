"""Every refusal reporting raises can be said on a page in Serbian Latin, Serbian Cyrillic and English."""

from __future__ import annotations

from pathlib import Path

import pytest

import services.reporting
from services.reporting.indicators import parse_query
from services.reporting.ui_labels import REFUSALS
from shared.errors import Invalid
from shared.ui.refusals import raised_codes, untranslated

PACKAGE = Path(services.reporting.__file__).parent


def test_every_raised_code_has_a_page_sentence_in_every_language() -> None:
    codes = {found.code for found in raised_codes(PACKAGE)}
    assert "unknown_indicator" in codes  # the search sees the query parser
    assert untranslated(REFUSALS, codes) == []


def test_every_sentence_of_the_table_is_raised_somewhere() -> None:
    """A code nobody raises any more is a sentence translators keep for nothing."""
    codes = {found.code for found in raised_codes(PACKAGE)}
    assert set(REFUSALS.texts) - codes == set()


def test_the_query_parser_refuses_by_code_with_values() -> None:
    with pytest.raises(Invalid) as refused:
        parse_query({"indicator": ["no-such"], "from": ["2026-13"], "district": ["Atlantis"], "by": ["colour"]})
    exc = refused.value
    assert exc.reason == "query_not_valid"
    found = {(e["loc"][1], e["type"], tuple(sorted(e.get("ctx", {}).items()))) for e in exc.details}
    assert found == {
        ("indicator", "unknown_indicator", (("indicator", "no-such"),)),
        ("from", "month_format", ()),
        ("district", "unknown_district", (("name", "Atlantis"),)),
        ("by", "unknown_dimension", (("dimension", "colour"),)),
    }
    page = REFUSALS.field_texts(exc, str)
    assert page["district"] == "There is no district “Atlantis”."
