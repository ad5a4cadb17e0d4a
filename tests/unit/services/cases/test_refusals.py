"""Every refusal cases raises can be said on a page in Serbian Latin, Serbian Cyrillic and English, by its code."""

from __future__ import annotations

from pathlib import Path

import services.cases
from services.cases.casework import TransitionConflict
from services.cases.domain import CaseStatus, IllegalTransition
from services.cases.web._labels import REFUSALS, refusals_for
from shared.errors import Invalid, field_error
from shared.ui.i18n import translations
from shared.ui.refusals import raised_codes, refusal_problems

PACKAGE = Path(services.cases.__file__).parent


def test_every_raised_code_has_a_page_sentence_in_every_language_and_every_sentence_is_needed() -> None:
    assert refusal_problems(PACKAGE, REFUSALS) == []


def test_the_search_sees_the_service_layer() -> None:
    where = {found.code: found.where for found in raised_codes(PACKAGE)}
    assert where["transition_not_allowed"].startswith("cases/casework.py:")
    assert where["provider_full"].startswith("cases/referrals.py:")
    assert where["empty_goal"].startswith("cases/plans.py:")


def test_a_refusal_names_its_values_in_the_page_language() -> None:
    refused = TransitionConflict(IllegalTransition(CaseStatus.open, CaseStatus.active))
    assert refused.reason == "transition_not_allowed"
    assert refused.params == {"current": "open", "wanted": "active"}
    latin = refusals_for("sr-Latn").error_text(refused, translations("sr-Latn").gettext)
    assert latin == "Slučaj u stanju „Otvoren“ ne može preći u „Aktivan“."
    english = refusals_for("en").error_text(refused, translations("en").gettext)
    assert english == "A case in state “Open” cannot go to “Active”."


def test_municipalities_are_named_in_the_page_script() -> None:
    refused = Invalid(
        "80055 is not a municipality code.",
        reason="not_your_municipality",
        params={"municipality": "80012"},
        details=[field_error(["body", "worker"], "x", "not_a_worker_here", params={"worker": "w", "from": "80012"})],
    )
    cyrillic = refusals_for("sr-Cyrl")
    assert "Ада" in cyrillic.error_text(refused, translations("sr-Cyrl").gettext)
    assert "Ада" in cyrillic.field_texts(refused, translations("sr-Cyrl").gettext)["worker"]
