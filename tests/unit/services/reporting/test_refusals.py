"""Every refusal reporting raises can be said on a page in Serbian Latin, Serbian Cyrillic and English."""

from __future__ import annotations

from pathlib import Path

import pytest

import services.reporting
from services.reporting.indicators import parse_query
from services.reporting.web._labels import REFUSALS
from shared.errors import Invalid
from shared.ui.refusals import raised_codes, refusal_problems

PACKAGE = Path(services.reporting.__file__).parent


def test_every_raised_code_has_a_page_sentence_in_every_language_and_every_sentence_is_needed() -> None:
    assert refusal_problems(PACKAGE, REFUSALS) == []


def test_the_search_sees_the_query_parser_and_the_api() -> None:
    where = {found.code: found.where for found in raised_codes(PACKAGE)}
    assert where["unknown_indicator"].startswith("reporting/indicators/query.py:")
    assert where["unknown_event_id"].startswith("reporting/api.py:")


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
