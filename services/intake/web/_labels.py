"""What intake's pages call things: the vocabularies of the registry, the sentences of its refusals (by code) and
of the household form's own checks, marked for translation (English is the source language; the catalogues in
shared/locale hold the rest). The values the events carry (sex, relation, education…) are labelled once, in
``shared.ui.vocabularies``."""

from __future__ import annotations

from shared.ui import vocabularies
from shared.ui.i18n import N_
from shared.ui.messages import labelled as labelled  # the templates call labels.labelled
from shared.ui.refusals import Refusals

SEX = vocabularies.SEX
RELATION = vocabularies.RELATIONS
EDUCATION = vocabularies.EDUCATION
EMPLOYMENT = vocabularies.EMPLOYMENT
# The recorded and derived markers, and the two a page derives from the age.
MARKERS = {**vocabularies.MARKERS, "elderly": N_("Elderly (65+)"), "child": N_("Child (under 18)")}
RECORDED_MARKERS = ("disability", "single_parent", "roma", "victim_of_violence")
PURPOSES = vocabularies.PURPOSES
CASE_STATUS = vocabularies.CASE_STATES
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
IMPORT_STATUS = {"queued": N_("Waiting"), "running": N_("Importing"), "done": N_("Finished"), "failed": N_("Failed")}

# What the household form says about a field that did not parse or that pydantic refused by its own type.
NOT_A_DATE = N_("Enter a date as DD.MM.YYYY.")
NOT_AN_AMOUNT = N_("Enter an amount in dinars.")
NOT_A_PHONE = N_("Enter a phone number of digits, optionally starting with +.")
NO_MEMBERS = N_("Add at least one member.")
NOT_REGISTERED = N_("The household was not registered. Correct the marked fields.")

# Every refusal of intake's service layer and of its request models' rules, by code (shared.ui.refusals).
REFUSALS = Refusals(
    {
        # registration and corrections
        "unknown_municipality": N_("Choose a municipality from the list."),
        "municipality_not_yours": N_("You do not work for this municipality."),
        "members_not_valid": N_("Some members' data is not valid."),
        "jmbg_length": N_("JMBG must be exactly 13 digits."),
        "jmbg_check_digit": N_("The JMBG check digit does not match: the number was probably mistyped."),
        "jmbg_date": N_("The JMBG does not start with a valid date."),
        "jmbg_birth_date": N_("The JMBG encodes the birth date %(encoded)s, but the birth date given is %(given)s."),
        "jmbg_sex": N_("The JMBG belongs to a person of the other sex than the one given."),
        "jmbg_repeated": N_("Two members have the same JMBG."),
        "jmbg_or_reason": N_("Enter the JMBG, or choose why there is none."),
        "jmbg_registered": N_("A person with this JMBG is already registered."),
        "jmbg_registered_elsewhere": N_(
            "A person with this JMBG is already registered in another municipality; ask its office."
        ),
        "jmbg_registered_meanwhile": N_("A person with this JMBG was registered in the meantime."),
        "roma_needs_consent": N_("The Roma marker is recorded only with the person's explicit consent."),
        "date_future": N_("The birth date is in the future."),
        "date_before_1900": N_("The birth date is before 1900."),
        "unknown_skills": N_("Not on the skills list: %(skills)s."),
        "one_head": N_("A household has one head."),
        "name_required": N_("A name cannot be removed; erase the person instead."),
        "household_not_found": N_("There is no such household."),
        "household_merged": N_("This household was merged into another one; edit that one."),
        "person_not_found": N_("There is no such person."),
        "person_merged": N_("This person's record changed in the meantime (merged); open the household again."),
        "person_erased": N_("This person's data was erased."),
        "search_term": N_("Search by a name or a JMBG: type at least one letter or digit."),
        # roles
        "supervisors_only": N_("Only a supervisor or an administrator can do this."),
        "administrators_only": N_("Only an administrator can do this."),
        # duplicates
        "duplicate_not_found": N_("There is no such pair in the review queue."),
        "pair_resolved": N_("This pair was already resolved."),
        "record_gone": N_("One of the two records no longer exists."),
        "pair_changed": N_("One of the two records changed in the meantime; open the review queue again."),
        "different_jmbgs": N_("The two records have different JMBGs: they are two people. Dismiss the pair instead."),
        # poverty lines
        "poverty_line_year": N_("The year must be between %(first)s and %(last)s."),
        "poverty_line_amount": N_("The line must be a positive amount of at most %(max)s dinars."),
        # imports
        "file_too_large": N_("The file is larger than 50 MB; split it into several files."),
        "file_empty": N_("The file is empty."),
        "not_utf8": N_("The file is not UTF-8 text. Save it as “CSV UTF-8”."),
        "not_text": N_("The file is not a CSV text file; a spreadsheet must be saved as CSV."),
        "not_csv": N_("The file is not valid CSV."),
        "header_not_csv": N_("The header line is not valid CSV."),
        "no_rows": N_("The file has a header but no rows."),
        "column_twice": N_("The column %(column)s appears twice."),
        "columns_missing": N_("The file lacks required columns: %(columns)s. The template has every column."),
        "jmbg_column_missing": N_("The file needs a jmbg column, a missing_jmbg_reason column or both."),
        "unknown_columns": N_("Unknown columns: %(columns)s. Remove or rename them; the template has every column."),
        "import_not_found": N_("There is no such import."),
        "import_not_yours": N_("This import was started by someone else."),
    }
)
