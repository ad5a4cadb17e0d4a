"""Every refusal intake raises can be said on a page in Serbian Latin, Serbian Cyrillic and English, and the
household form says the request model's rules by their codes, not by matching the English sentence."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

import services.intake
from services.intake.domain import JMBG_PROBLEMS, make_jmbg
from services.intake.importing import check_upload
from services.intake.schemas import HouseholdCreate
from services.intake.web._forms import complaint
from services.intake.web._labels import REFUSALS
from shared.errors import Invalid
from shared.ui.i18n import translations
from shared.ui.refusals import raised_codes, refusal_problems, refusal_text

PACKAGE = Path(services.intake.__file__).parent
# member_problems and update_person name a JMBG's problem by the domain's code: jmbg_<code>.
JMBG_REASONS = tuple(f"jmbg_{code}" for code in JMBG_PROBLEMS)


def test_every_raised_code_has_a_page_sentence_in_every_language_and_every_sentence_is_needed() -> None:
    assert refusal_problems(PACKAGE, REFUSALS, dynamic=JMBG_REASONS) == []


def test_the_search_sees_the_service_the_request_models_and_the_import() -> None:
    where: dict[str, set[str]] = {}
    for found in raised_codes(PACKAGE):
        where.setdefault(found.code, set()).add(found.where.split(":")[0])
    assert where["jmbg_registered"] == {"intake/service.py"}
    assert where["roma_needs_consent"] == {"intake/schemas.py", "intake/service.py"}
    assert where["date_future"] == {"intake/schemas.py"}
    assert where["municipality_not_yours"] == {"intake/access.py", "intake/service.py"}
    assert any(path.startswith("intake/importing") for path in where["columns_missing"])


def _person(**values: object) -> dict[str, object]:
    return {"given_name": "Ana", "family_name": "Kiš", "birth_date": "1990-01-01", "sex": "F", **values}


def test_the_model_rules_keep_the_apis_message_and_give_the_page_their_code() -> None:
    roma = _person(jmbg=make_jmbg(date(1990, 1, 1), "F"), markers=["roma"])
    with pytest.raises(ValidationError) as refused:
        HouseholdCreate.model_validate({"municipality_code": "80012", "members": [_person(), roma]})
    errors = refused.value.errors()
    assert [(e["loc"], e["type"]) for e in errors] == [
        (("members", 0), "value_error"),
        (("members", 1), "value_error"),
    ]
    assert errors[0]["msg"] == "Value error, give the JMBG, or say why there is none (missing_jmbg_reason)"
    assert [complaint(e, str)[0] for e in errors] == ["jmbg_or_reason", "roma_needs_consent"]
    serbian = [complaint(e, translations("sr-Latn").gettext)[1] for e in errors]
    assert serbian == [
        refusal_text(REFUSALS, code, language="sr-Latn") for code in ("jmbg_or_reason", "roma_needs_consent")
    ]
    assert serbian[0] == "Unesite JMBG ili izaberite zašto ga nema."


def test_an_upload_is_refused_by_code_with_the_columns_it_lacks() -> None:
    with pytest.raises(Invalid) as refused:
        check_upload(filename="x.csv", content=b"household_ref,given_name\nA,Ana\n")
    exc = refused.value
    assert exc.reason == "columns_missing"
    assert exc.params == {"columns": "municipality_code, family_name, birth_date, sex"}
    assert REFUSALS.error_text(exc, str) == (
        "The file lacks required columns: municipality_code, family_name, birth_date, sex. "
        "The template has every column."
    )
