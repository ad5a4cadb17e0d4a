"""What cases' pages call things: the vocabularies of case work, the timeline's entries and the service layer's
refusals, marked for translation (English is the source language; the catalogues in shared/locale hold the rest).

Some vocabularies repeat intake's labels (sex, relation, markers): services share no code, but the same English
msgid is one catalogue entry, so they are translated once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared.ui.i18n import N_
from shared.ui.messages import by_patterns
from shared.ui.messages import labelled as labelled  # the templates call labels.labelled

STATUS = {
    "open": N_("Open"),
    "assessment": N_("Assessment"),
    "plan": N_("Plan"),
    "active": N_("Active"),
    "closed": N_("Closed"),
    "transferred": N_("Transferred"),
}
# What the button that moves a case to a state says.
STATUS_ACTION = {
    "open": N_("Reopen the case"),
    "assessment": N_("Start the assessment"),
    "plan": N_("Move on to the plan"),
    "active": N_("Make the case active"),
    "closed": N_("Close the case"),
    "transferred": N_("Transfer to another municipality"),
}
PRIORITY = {"urgent": N_("Urgent"), "high": N_("High"), "medium": N_("Medium"), "low": N_("Low")}
CLOSE_REASONS = {
    "goals_achieved": N_("Goals achieved"),
    "no_longer_eligible": N_("No longer eligible"),
    "moved_away": N_("Moved away"),
    "declined_services": N_("Declined services"),
    "deceased": N_("Deceased"),
    "merged": N_("Merged with another case"),
    "other": N_("Other reason"),
}
NEED_DOMAINS = {
    "income": N_("Income"),
    "employment": N_("Employment"),
    "housing": N_("Housing"),
    "health": N_("Health"),
    "education": N_("Education"),
    "care": N_("Care"),
    "safety": N_("Safety"),
}
NEED_LEVELS = {
    "none": N_("No need"),
    "low": N_("Low"),
    "moderate": N_("Moderate"),
    "high": N_("High"),
    "critical": N_("Critical"),
}
SERVICE_TYPES = {
    "day_care": N_("Day care"),
    "home_help": N_("Home help"),
    "personal_assistance": N_("Personal assistance"),
    "supported_housing": N_("Supported housing"),
    "counselling": N_("Counselling"),
    "shelter": N_("Shelter for victims of violence"),
    "foster_care": N_("Foster care"),
    "residential_care": N_("Residential care"),
    "one_off_assistance": N_("One-off financial assistance"),
    "documents_help": N_("Help to obtain personal documents"),
    "employment_registration": N_("Employment-service registration"),
}
ACTION_KINDS = {"task": N_("Task"), "service": N_("Service"), "work_engagement": N_("Work engagement")}
# What an agreement may cover: the services, and work engagement (no provider's service).
AGREEMENT_SCOPES = {**SERVICE_TYPES, "work_engagement": ACTION_KINDS["work_engagement"]}
REFERRAL_STATUS = {
    "requested": N_("Requested"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "ended": N_("Ended"),
    "cancelled": N_("Cancelled"),
}
# Who answered a proposed placement, and why one was declined (activation's codes).
PARTIES = {"employer": N_("by the employer"), "candidate": N_("by the candidate")}
DECLINE_REASONS = {
    "candidate_not_interested": N_("The candidate is not interested"),
    "candidate_unavailable": N_("The candidate is not available"),
    "employer_not_suitable": N_("Not suitable for the employer"),
    "positions_filled": N_("The positions are filled"),
    "other": N_("Other reason"),
}
REVIEW_REASONS = {
    "placement_completed": N_("A work placement was completed"),
    "placement_ended": N_("A work placement ended early"),
}
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
ASSIGNED_BY = {"rule": N_("by the caseload rule"), "supervisor": N_("by a supervisor")}

# The timeline: one sentence per kind of entry.
TIMELINE = {
    "opened": N_("Case opened"),
    "assigned": N_("Case assigned"),
    "status_changed": N_("Status changed"),
    "assessment_completed": N_("Assessment recorded"),
    "plan_agreed": N_("Plan agreed"),
    "activation_requested": N_("Work engagement requested from activation"),
    "transferred": N_("Case transferred to another municipality"),
    "referral_requested": N_("Referral to a provider requested"),
    "referral_accepted": N_("Referral accepted by the provider"),
    "referral_declined": N_("Referral declined by the provider"),
    "referral_ended": N_("Service under the referral ended"),
    "referral_cancelled": N_("Referral cancelled"),
    "priority_changed": N_("Priority changed"),
    "case_work_consent_withdrawn": N_("Consent to case work withdrawn"),
    "case_work_consent_granted": N_("Consent to case work given again"),
    "person_erased": N_("A member's personal data was erased"),
    "household_merged": N_("Another record of the household was merged into this one"),
    "merged_into": N_("The household's records were merged: this case is linked to the older one"),
    "match_proposed": N_("Proposed for a work opportunity"),
    "placement_accepted": N_("Work placement accepted"),
    "placement_declined": N_("Work placement declined"),
    "placement_started": N_("Work placement started"),
    "placement_hours": N_("Hours of work recorded"),
    "placement_completed": N_("Work placement completed"),
    "placement_ended": N_("Work placement ended early"),
    "review_requested": N_("The case is up for review"),
}
UNKNOWN_ENTRY = N_("Other entry")

# The service layer's refusals (English, for the API) as the pages say them. Each pattern's named groups are
# the placeholders of its message; codes become municipality names and dates the Serbian way.
REFUSALS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^No inter-municipal agreement valid on (?P<date>\S+) covers '(?P<service>\w+)' between "
            r"(?P<from>\d{5}) and (?P<to>\d{5})\.$"
        ),
        N_(
            "The referral is refused: no inter-municipal agreement valid on %(date)s covers “%(service)s” between "
            "%(from)s and %(to)s."
        ),
    ),
    (
        re.compile(r"^The provider is full \((?P<taken>\d+) of (?P<capacity>\d+) places taken\)\.$"),
        N_("The provider is full: %(taken)s of %(capacity)s places are taken."),
    ),
    (
        re.compile(r"^A case in state '(?P<current>\w+)' cannot go to '(?P<wanted>\w+)'\."),
        N_("A case in state “%(current)s” cannot go to “%(wanted)s”."),
    ),
    (
        re.compile(
            r"^No inter-municipal agreement valid on (?P<date>\S+) joins (?P<from>\d{5}) and (?P<to>\d{5}): "
            r"the case cannot be transferred there\.$"
        ),
        N_("No inter-municipal agreement valid on %(date)s joins %(from)s and %(to)s: the case cannot go there."),
    ),
    (re.compile(r"^Record the assessment first"), N_("Record the assessment first: a plan follows an assessment.")),
    (re.compile(r"^Agree the plan first"), N_("Agree the plan first: a case becomes active with a plan.")),
    (
        re.compile(r"^A plan is agreed in state 'plan' or 'active'; this case is '(?P<current>\w+)'"),
        N_("A plan is agreed once the assessment is recorded; this case is “%(current)s”."),
    ),
    (
        re.compile(r"^A case in state '(?P<current>\w+)' (?:makes no referrals|is not assessed|is not worked)"),
        N_("A case in state “%(current)s” is not worked on any more; reopen it first."),
    ),
    (re.compile(r"^Say why the case closes"), N_("Choose why the case closes.")),
    (re.compile(r"^Assess every domain"), N_("Assess every domain (choose “No need” where there is none).")),
    (re.compile(r"^The plan is not complete"), N_("The plan is not complete: see the marked fields.")),
    (
        re.compile(r"^(?P<worker>\S+) is not a worker of municipality (?P<from>\d{5})\.$"),
        N_("%(worker)s is not a worker of %(from)s."),
    ),
    (
        re.compile(r"^(?P<worker>\S+) is marked inactive"),
        N_("%(worker)s is marked inactive (on leave or gone) and takes no cases."),
    ),
    (
        re.compile(r"^Only a supervisor of the case's municipality"),
        N_("Only a supervisor of the case's municipality reassigns cases."),
    ),
    (
        re.compile(r"^This case is (?:assigned to \S+|not assigned to anyone yet): only its worker"),
        N_("Only the case's worker or a supervisor of its municipality may change this case."),
    ),
    (
        re.compile(r"^Consent to case work was withdrawn"),
        N_("Consent to case work was withdrawn: record the legal basis of this referral."),
    ),
    (
        re.compile(r"^No such provider in the registry"),
        N_("Choose a provider from the registry (this one does not exist or no longer works)."),
    ),
    (re.compile(r"^This person is not a member of the household"), N_("This person is not a member of the household.")),
    (
        re.compile(r"^A referral that is '(?P<current>\w+)' cannot become '(?P<wanted>\w+)'"),
        N_("A referral that is “%(current)s” cannot become “%(wanted)s”."),
    ),
    (re.compile(r"^Say why the referral is declined"), N_("Say why the referral is declined.")),
    (
        re.compile(r"^The provider's answer is recorded by the staff of (?P<from>\d{5})"),
        N_("The provider's answer is recorded by the staff of %(from)s, where the provider works."),
    ),
    (
        re.compile(r"^Only an administrator or a supervisor of (?P<from>\d{5}) may"),
        N_("Only an administrator or a supervisor of %(from)s keeps its providers."),
    ),
    (
        re.compile(r"^An agreement binds every municipality in it"),
        N_(
            "An agreement binds every municipality in it: it is recorded by an administrator or by a supervisor "
            "of all of them."
        ),
    ),
    (re.compile(r"^Occupancy .*cannot exceed capacity"), N_("Occupancy cannot exceed capacity.")),
    (re.compile(r"^An agreement joins at least two"), N_("An agreement joins at least two different municipalities.")),
    (re.compile(r"^The case is already in this municipality"), N_("The case is already in this municipality.")),
]

# The service layer's messages about single fields, as the pages say them.
FIELD_MESSAGES = {
    "The review date must be in the future.": N_("The review date must be in the future."),
    "A goal cannot be empty.": N_("A goal cannot be empty."),
    "This person is not a member of the household.": N_("This person is not a member of the household."),
    "This person's data was erased.": N_("This person's data was erased."),
    "Say which service.": N_("Choose the service."),
    "Work engagement is for one member: choose who.": N_("Work engagement is for one member: choose who."),
    "Intake does not record this member as able to work.": N_("Intake does not record this member as able to work."),
    "This member has not consented to activation (record it in intake).": N_(
        "This member has not consented to work engagement (record it in intake)."
    ),
    "Needed for a work engagement.": N_("Needed for a work engagement."),
}
FIELD_ERRORS = {
    "missing": N_("This field is required."),
    "date": N_("Enter a date as DD.MM.YYYY."),
    "number": N_("Enter a whole number."),
    "hours_order": N_("The minimum hours are more than the maximum."),
    "dates_order": N_("The end is before the start."),
    "two_municipalities": N_("Choose at least two different municipalities."),
    "invalid": N_("This value is not valid."),
}


def refusal_text(
    message: str, translate: Callable[[str], str], names: Callable[[str], str], dates: Callable[[str], str]
) -> str:
    """A service-layer refusal in the page's language; one the pages do not know is shown as it came."""

    def adapt(params: dict[str, Any], _template: str) -> dict[str, Any]:
        for key in ("from", "to"):
            if key in params:
                params[key] = names(params[key])
        if "date" in params:
            params["date"] = dates(params["date"])
        if "service" in params:
            params["service"] = translate(SERVICE_TYPES.get(params["service"], params["service"]))
        for key in ("current", "wanted"):
            if key in params:
                params[key] = translate(STATUS.get(params[key], REFERRAL_STATUS.get(params[key], params[key])))
        return params

    return by_patterns(message, REFUSALS, translate, adapt)


def field_text(message: str, translate: Callable[[str], str]) -> str:
    known = FIELD_MESSAGES.get(message)
    return translate(known) if known is not None else message
