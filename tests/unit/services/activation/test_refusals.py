"""Every refusal activation raises can be said on a page in Serbian Latin, Serbian Cyrillic and English, by its
code; the pages name municipalities, states, parties and missed criteria in the page's language."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import services.activation
from services.activation import domain
from services.activation.web._labels import CHECK_DETAILS, REFUSALS, check_detail, refusals_for
from shared.errors import Conflict, Invalid, field_error
from shared.ui.i18n import translated_msgids
from shared.ui.refusals import raised_codes, refusal_problems

PACKAGE = Path(services.activation.__file__).parent


def test_every_raised_code_has_a_page_sentence_in_every_language_and_every_sentence_is_needed() -> None:
    assert refusal_problems(PACKAGE, REFUSALS) == []


def test_the_search_sees_the_service_layer_the_access_rules_and_the_placements() -> None:
    where = {found.code: found.where for found in raised_codes(PACKAGE)}
    assert where["not_eligible"].startswith("activation/proposals.py:")
    assert where["no_opportunity"].startswith("activation/access.py:")
    assert where["illegal_step"].startswith("activation/placements.py:")
    assert where["month_outside_placement"].startswith("activation/placements.py:")


def test_a_refusal_is_said_with_its_values_in_the_page_language() -> None:
    refused = Invalid(
        "The forum 'Sever' covers 80012, not 80039.",
        reason="outside_forum",
        params={"forum": "Sever", "municipality": "80039"},
        details=[field_error(["body", "municipality_code"], "Not one", "not_forum_municipality")],
    )
    latin, cyrillic = refusals_for("sr-Latn"), refusals_for("sr-Cyrl")
    assert latin.text(refused.reason, refused.params, language="en") == "The forum “Sever” does not cover Alibunar."
    assert "Алибунар" in cyrillic.text(refused.reason, refused.params, language="sr-Cyrl")
    assert latin.field_texts(refused, str) == {"municipality_code": "Not one of the forum's municipalities."}
    missed = Conflict("x", reason="not_eligible", params={"missed": ["distance", "hours"]})
    assert latin.error_text(missed, str) == (
        "The candidate does not meet the forum's criteria: Within reach, Hours per week match."
    )
    step = Conflict("x", reason="illegal_step", params={"current": "completed", "wanted": "started"})
    assert latin.error_text(step, str) == "A placement that is “Completed” cannot become “Started”."


def test_every_check_of_the_domain_has_its_detail_said_in_every_language() -> None:
    candidate = domain.Candidate("p", "80012", "F", 1990, markers=frozenset({"disability"}), placed=True)
    opportunity = domain.Opportunity("o", "80039", hours_min=50, hours_max=60)
    checks = domain.eligibility(
        candidate, opportunity, domain.Criteria(), reachable=lambda a, b: True, on=date(2026, 5, 1)
    )
    keys = {c.key for c in checks}
    assert keys and "" not in keys and keys <= set(CHECK_DETAILS)
    hours = next(c for c in checks if c.criterion == "hours")
    assert check_detail(hours.key, hours.params, str) == "can work 1–40 hours a week, the opportunity needs 50–60"
    for language in ("sr-Latn", "sr-Cyrl", "en"):
        assert set(CHECK_DETAILS.values()) <= translated_msgids(language), language
