"""What intake's pages call things: the vocabularies of the registry and the messages of its rules, marked for
translation (English is the source language; the catalogues in shared/locale hold the rest)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.ui.i18n import N_

SEX = {"F": N_("Female"), "M": N_("Male")}
RELATION = {
    "head": N_("Head of household"),
    "spouse": N_("Spouse or partner"),
    "child": N_("Child"),
    "parent": N_("Parent"),
    "sibling": N_("Brother or sister"),
    "grandchild": N_("Grandchild"),
    "grandparent": N_("Grandparent"),
    "other_relative": N_("Other relative"),
    "non_relative": N_("Not related"),
}
EDUCATION = {
    "none": N_("No schooling"),
    "primary_incomplete": N_("Primary school not completed"),
    "primary": N_("Primary school"),
    "secondary": N_("Secondary school"),
    "tertiary": N_("College or university"),
}
EMPLOYMENT = {
    "employed": N_("Employed"),
    "unemployed": N_("Unemployed"),
    "informal_work": N_("Informal work"),
    "retired": N_("Retired"),
    "pupil_student": N_("Pupil or student"),
    "inactive": N_("Not working, not looking for work"),
}
MARKERS = {
    "unemployed_able_to_work": N_("Unemployed and able to work"),
    "disability": N_("Person with disability"),
    "single_parent": N_("Single parent"),
    "roma": N_("Roma (self-declared)"),
    "victim_of_violence": N_("Victim of violence"),
    "without_documents": N_("Without personal documents"),
    "elderly": N_("Elderly (65+)"),
    "child": N_("Child (under 18)"),
}
RECORDED_MARKERS = ("disability", "single_parent", "roma", "victim_of_violence")
PURPOSES = {
    "case_work": N_("Case work"),
    "activation": N_("Work engagement (activation)"),
    "research": N_("Research and statistics"),
    "ethnicity": N_("Recording of Roma self-declaration"),
}
MISSING_JMBG = {
    "no_personal_documents": N_("No personal documents"),
    "not_yet_issued": N_("Not yet issued (newborn)"),
    "foreign_national": N_("Foreign national"),
    "not_known": N_("Not known at registration"),
}
HOUSING = {
    "own": N_("Own house or flat"),
    "rented": N_("Rented"),
    "with_relatives": N_("Living with relatives"),
    "social_housing": N_("Social housing"),
    "informal_settlement": N_("Informal settlement"),
    "collective_centre": N_("Collective centre"),
    "homeless": N_("Homeless"),
}
HOUSING_PROBLEMS = {
    "no_electricity": N_("No electricity"),
    "no_running_water": N_("No running water"),
    "no_sewage": N_("No sewage"),
    "overcrowded": N_("Overcrowded"),
    "damp_or_unsafe": N_("Damp or unsafe"),
}
INCOME = {
    "wages": N_("Wages"),
    "pension": N_("Pension"),
    "social_assistance": N_("Financial social assistance"),
    "child_allowance": N_("Child allowance"),
    "unemployment_benefit": N_("Unemployment benefit"),
    "disability_benefit": N_("Disability allowance"),
    "agriculture": N_("Agriculture"),
    "informal_work": N_("Informal work"),
    "remittances": N_("Help from relatives abroad"),
    "other": N_("Other income"),
}
CASE_STATUS = {
    "open": N_("Open"),
    "assessment": N_("Assessment"),
    "plan": N_("Plan"),
    "active": N_("Active"),
    "closed": N_("Closed"),
    "transferred": N_("Transferred"),
}
IMPORT_STATUS = {"queued": N_("Waiting"), "running": N_("Importing"), "done": N_("Finished"), "failed": N_("Failed")}

# Error messages of the rules, by the error type the service layer reports.
ERRORS = {
    "missing": N_("This field is required."),
    "jmbg_length": N_("JMBG must be exactly 13 digits."),
    "jmbg_check_digit": N_("The JMBG check digit does not match: the number was probably mistyped."),
    "jmbg_date": N_("The JMBG does not start with a valid date."),
    "jmbg_birth_date": N_("The JMBG encodes the birth date %(encoded)s, but the birth date given is %(given)s."),
    "jmbg_sex": N_("The JMBG belongs to a person of the other sex than the one given."),
    "jmbg_repeated": N_("Two members have the same JMBG."),
    "jmbg_or_reason": N_("Enter the JMBG, or choose why there is none."),
    "roma_needs_consent": N_("The Roma marker is recorded only with the person's explicit consent."),
    "date": N_("Enter a date as DD.MM.YYYY."),
    "date_future": N_("The birth date is in the future."),
    "number": N_("Enter an amount in dinars."),
    "unknown_municipality": N_("Choose a municipality from the list."),
    "one_head": N_("A household has one head."),
    "phone": N_("Enter a phone number of digits, optionally starting with +."),
    "invalid": N_("This value is not valid."),
}


def labelled(vocabulary: Mapping[str, str], gettext: Callable[[str], str]) -> list[tuple[str, str]]:
    """(code, translated label) pairs for a select or a list of checkboxes, in the vocabulary's order."""
    return [(code, gettext(label)) for code, label in vocabulary.items()]


def error_text(kind: str, gettext: Callable[[str], str], params: Mapping[str, Any] | None = None) -> str:
    template = gettext(ERRORS.get(kind, ERRORS["invalid"]))
    try:
        return template % dict(params or {}) if params else template
    except (KeyError, TypeError, ValueError):
        return template
