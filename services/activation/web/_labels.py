"""What activation's pages call things: the vocabularies of forums, opportunities and placements, the matching
rule's criteria and parts, and the service layer's refusals by code, marked for translation (English is the source
language; the catalogues in shared/locale hold the rest). The values of the events (sex, opportunity types, decline
and end reasons, parties) are labelled once, in ``shared.ui.vocabularies``."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shared.ui import vocabularies
from shared.ui.i18n import N_
from shared.ui.messages import labelled as labelled  # the templates call labels.labelled
from shared.ui.messages import render
from shared.ui.places import municipality_name
from shared.ui.refusals import Refusals

Translate = Callable[[str], str]

ORGANISATION_KINDS = {
    "public_enterprise": N_("Public enterprise"),
    "public_institution": N_("Public institution"),
    "civil_society": N_("Civil-society organisation"),
    "private_company": N_("Private company"),
}
OPPORTUNITY_TYPES = vocabularies.OPPORTUNITY_TYPES
OPPORTUNITY_STATUS = {"published": N_("Published"), "closed": N_("Closed to proposals")}
PLACEMENT_STATUS = {
    "proposed": N_("Proposed"),
    "accepted": N_("Accepted by both"),
    "declined": N_("Turned down"),
    "started": N_("Started"),
    "completed": N_("Completed"),
    "ended": N_("Ended early"),
}
PARTIES = vocabularies.PARTIES
DECLINE_REASONS = vocabularies.DECLINE_REASONS
# Which reasons each party gives when saying no.
DECLINE_REASONS_OF = {
    "employer": ("employer_not_suitable", "positions_filled", "other"),
    "candidate": ("candidate_not_interested", "candidate_unavailable", "other"),
}
END_REASONS = vocabularies.END_REASONS
SEX = vocabularies.SEX
PRIORITY_GROUPS = {
    "single_parent": N_("Single parents"),
    "woman": N_("Women"),
    "roma": N_("Roma"),
    "long_term_unemployed": N_("Long-term unemployed (12 months or more)"),
    "disability": N_("Persons with disability"),
}
SCOPES = {
    "same": N_("Only the opportunity's municipality"),
    "agreement": N_("Also municipalities joined by an agreement on work engagement"),
}
# The matching rule: hard criteria (checks) and the parts of the score.
CHECKS = {
    "working_age": N_("Working age"),
    "able_to_work": N_("Able to work"),
    "not_in_education": N_("Not in education"),
    "not_placed": N_("Not in another placement"),
    "hours": N_("Hours per week match"),
    "accessible": N_("Accessible workplace"),
    "distance": N_("Within reach"),
}
PARTS = {
    "skills": N_("Skills"),
    "distance": N_("Distance"),
    "priority": N_("Priority groups"),
    "availability": N_("Availability"),
    "unemployed": N_("Time unemployed"),
}
PART_WEIGHTS = {
    "skills": 40,
    "distance": 20,
    "priority": 15,
    "availability": 15,
    "unemployed": 10,
}
STAGES = {
    "eligible": N_("Eligible"),
    "shortlisted": N_("On the shortlist"),
    "proposed": N_("Proposed by a case worker"),
    "placed": N_("Placed"),
}
GROUPS = {"women": N_("Women"), "roma": N_("Roma"), "disability": N_("Persons with disability")}

# A check's detail as the pages say it, by the key the domain gives it (``domain.Check.key``) with its values.
CHECK_DETAILS = {
    "age_range": N_("age %(age)s, the forum takes %(low)s–%(high)s"),
    "able_to_work": N_("able to work"),
    "not_able_to_work": N_("not recorded as able to work"),
    "in_education": N_("in education"),
    "not_in_education": N_("not in education"),
    "placed": N_("already in a placement"),
    "not_placed": N_("not in a placement"),
    "hours_range": N_("can work %(a)s–%(b)s hours a week, the opportunity needs %(c)s–%(d)s"),
    "accessible": N_("accessible for persons with disability"),
    "not_accessible": N_("not accessible"),
    "same_municipality": N_("same municipality"),
    "agreement_municipality": N_("another municipality covered by an inter-municipal agreement"),
    "no_agreement": N_("another municipality with no agreement covering it"),
}

# What the pages say for each refusal of the service layer, by its code (``shared.ui.refusals``): the domain
# errors' reasons and the field errors' types, with their values (municipality codes become names, states and
# parties their labels, missed criteria their names; see ``refusals_for``).
REFUSAL_TEXTS = {
    "unknown_municipality": N_("Choose a municipality from the list."),
    "not_own_organisation": N_("You can register only the organisation your account belongs to."),
    "organisation_id_format": N_(
        "An organisation id is 1–100 letters, digits, dots, dashes or underscores (the accounts' organisation)."
    ),
    "forum_not_coordinator": N_(
        "A forum is set up by an administrator or by a coordinator of every municipality in it."
    ),
    "criteria_not_coordinator": N_(
        "A forum's criteria are set by an administrator or by a coordinator of all its municipalities."
    ),
    "join_not_own_organisation": N_("You can join a forum for your own organisation only."),
    "register_before_joining": N_("Register the organisation before it joins a forum."),
    "ages_reversed": N_("The lowest age is above the highest."),
    "unknown_skills": N_("Choose skills from the list."),
    "account_without_organisation": N_(
        "Your account is not linked to an organisation, so it cannot post opportunities."
    ),
    "register_before_posting": N_("Register your organisation before posting opportunities."),
    "unknown_forum": N_("Choose a forum from the list."),
    "not_a_member": N_("Your organisation is not a member of the forum “%(forum)s”: join it first."),
    "outside_forum": N_("The forum “%(forum)s” does not cover %(municipality)s."),
    "not_forum_municipality": N_("Not one of the forum's municipalities."),
    "hours_reversed": N_("The minimum hours are more than the maximum."),
    "ends_before_start": N_("The opportunity ends before it starts."),
    "end_before_start": N_("The end is before the start."),
    "already_closed": N_("This opportunity is already closed."),
    "opportunity_closed": N_("This opportunity is closed."),
    "consent_withdrawn": N_("The candidate's consent to activation is withdrawn."),
    "already_proposed": N_("This candidate is already proposed for this opportunity."),
    "not_eligible": N_("The candidate does not meet the forum's criteria: %(missed)s."),
    "candidates_staff_only": N_("Candidates are seen by case workers and supervisors of their municipality."),
    "fairness_not_allowed": N_("The fairness report is for the forum's coordinators, supervisors and analysts."),
    "opportunity_not_in_forum": N_("This opportunity is not one of the forum's."),
    "no_opportunity": N_("There is no such opportunity, or it is not yours to see."),
    "no_candidate": N_("There is no such candidate among the candidates of your municipalities."),
    "already_placed": N_(
        "The candidate is already in a placement that runs, and this forum takes only people not placed."
    ),
    "no_placement": N_("There is no such placement, or it is not yours to see."),
    "no_forum": N_("There is no such forum."),
    "no_organisation": N_("There is no such organisation."),
    "not_owner": N_("Only the organisation that posted the opportunity can do that."),
    "candidate_answer_not_allowed": N_(
        "The candidate's answer is recorded by a case worker of the candidate's municipality."
    ),
    "illegal_step": N_("A placement that is “%(current)s” cannot become “%(wanted)s”."),
    "already_accepted": N_("The answer %(party)s is already recorded."),
    "positions_filled": N_("All %(positions)s positions of this opportunity are taken."),
    "hours_not_running": N_("Hours are recorded while a placement runs; this one is “%(current)s”."),
    "month_out_of_range": N_("Hours are recorded for a month from the start (%(first)s) to this month (%(last)s)."),
    "month_outside_placement": N_("A month from the placement's start to this month."),
    "hours_not_recorded": N_("The hours are not recorded: see the marked fields."),
    "end_reason_missing": N_("Choose why the placement ended early."),
    "reason_missing": N_("Choose a reason."),
}


def _named(params: Mapping[str, Any], translate: Translate, language: str) -> dict[str, Any]:
    """A refusal's values as the page says them."""
    out = dict(params)
    if "municipality" in out:
        out["municipality"] = municipality_name(str(out["municipality"]), language)
    for key in ("current", "wanted"):
        if key in out:
            out[key] = translate(PLACEMENT_STATUS.get(out[key], out[key]))
    if "party" in out:
        out["party"] = translate(PARTIES.get(out["party"], out["party"]))
    if "missed" in out:
        out["missed"] = ", ".join(translate(CHECKS.get(c, c)) for c in out["missed"])
    return out


REFUSALS = Refusals(REFUSAL_TEXTS)


def refusals_for(language: str) -> Refusals:
    """The refusals as a page in ``language`` says them (municipalities named in its script)."""
    return dataclasses.replace(REFUSALS, adapt=functools.partial(_named, language=language))


FIELD_ERRORS = {
    "missing": N_("This field is required."),
    "date": N_("Enter a date as DD.MM.YYYY."),
    "number": N_("Enter a whole number."),
    "month": N_("Enter a month as YYYY-MM."),
    "range": N_("This number is out of range."),
    "invalid": N_("This value is not valid."),
}


def check_detail(key: str, params: Iterable[tuple[str, int]], translate: Translate) -> str:
    """A check's detail in the page's language, by its key; an unknown key says nothing."""
    template = CHECK_DETAILS.get(key)
    return render(template, dict(params), translate) if template else ""
