"""What activation's pages call things: the vocabularies of forums, opportunities and placements, the matching
rule's criteria and parts, and the service layer's refusals, marked for translation (English is the source
language; the catalogues in shared/locale hold the rest). Labels that cases' pages use too (sex, decline reasons)
are the same English msgids, so they are translated once."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared.ui.i18n import N_
from shared.ui.messages import by_patterns
from shared.ui.messages import labelled as labelled  # the templates call labels.labelled

ORGANISATION_KINDS = {
    "public_enterprise": N_("Public enterprise"),
    "public_institution": N_("Public institution"),
    "civil_society": N_("Civil-society organisation"),
    "private_company": N_("Private company"),
}
OPPORTUNITY_TYPES = {
    "community_work": N_("Community work"),
    "public_works": N_("Public works"),
    "training": N_("Training"),
    "internship": N_("Internship"),
    "job": N_("Job"),
}
OPPORTUNITY_STATUS = {"published": N_("Published"), "closed": N_("Closed to proposals")}
PLACEMENT_STATUS = {
    "proposed": N_("Proposed"),
    "accepted": N_("Accepted by both"),
    "declined": N_("Turned down"),
    "started": N_("Started"),
    "completed": N_("Completed"),
    "ended": N_("Ended early"),
}
PARTIES = {"employer": N_("by the employer"), "candidate": N_("by the candidate")}
DECLINE_REASONS = {
    "candidate_not_interested": N_("The candidate is not interested"),
    "candidate_unavailable": N_("The candidate is not available"),
    "employer_not_suitable": N_("Not suitable for the employer"),
    "positions_filled": N_("The positions are filled"),
    "other": N_("Other reason"),
}
# Which reasons each party gives when saying no.
DECLINE_REASONS_OF = {
    "employer": ("employer_not_suitable", "positions_filled", "other"),
    "candidate": ("candidate_not_interested", "candidate_unavailable", "other"),
}
END_REASONS = {
    "found_other_work": N_("Found other work"),
    "health": N_("Health reasons"),
    "care_duties": N_("Care duties"),
    "did_not_attend": N_("Did not come to work"),
    "employer_ended": N_("The employer ended it"),
    "other": N_("Other reason"),
}
SEX = {"F": N_("Female"), "M": N_("Male")}
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

# A check's detail (the domain's English) as the pages say it.
CHECK_DETAILS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^age (?P<age>\d+), the forum takes (?P<low>\d+)–(?P<high>\d+)$"),
        N_("age %(age)s, the forum takes %(low)s–%(high)s"),
    ),
    (re.compile(r"^able to work$"), N_("able to work")),
    (re.compile(r"^not recorded as able to work$"), N_("not recorded as able to work")),
    (re.compile(r"^in education$"), N_("in education")),
    (re.compile(r"^not in education$"), N_("not in education")),
    (re.compile(r"^already placed$"), N_("already in a placement")),
    (re.compile(r"^not placed$"), N_("not in a placement")),
    (
        re.compile(r"^can work (?P<a>\d+)–(?P<b>\d+) h/week, the opportunity needs (?P<c>\d+)–(?P<d>\d+)$"),
        N_("can work %(a)s–%(b)s hours a week, the opportunity needs %(c)s–%(d)s"),
    ),
    (re.compile(r"^accessible for persons with disability$"), N_("accessible for persons with disability")),
    (re.compile(r"^not accessible$"), N_("not accessible")),
    (re.compile(r"^same municipality$"), N_("same municipality")),
    (
        re.compile(r"^another municipality covered by an inter-municipal agreement$"),
        N_("another municipality covered by an inter-municipal agreement"),
    ),
    (
        re.compile(r"^another municipality with no agreement covering it$"),
        N_("another municipality with no agreement covering it"),
    ),
]

# The service layer's refusals (English, for the API) as the pages say them. Each pattern's named groups are
# the placeholders of its message; municipality codes become names, states and parties their labels.
REFUSALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Unknown municipality code"), N_("Choose a municipality from the list.")),
    (
        re.compile(r"^You can register only the organisation your account belongs to"),
        N_("You can register only the organisation your account belongs to."),
    ),
    (
        re.compile(r"^A forum is set up by an administrator or by a coordinator"),
        N_("A forum is set up by an administrator or by a coordinator of every municipality in it."),
    ),
    (
        re.compile(r"^A forum's criteria are set by"),
        N_("A forum's criteria are set by an administrator or by a coordinator of all its municipalities."),
    ),
    (
        re.compile(r"^You can join a forum for your own organisation only"),
        N_("You can join a forum for your own organisation only."),
    ),
    (
        re.compile(r"^Register the organisation before it joins a forum"),
        N_("Register the organisation before it joins a forum."),
    ),
    (re.compile(r"^The lowest age is above the highest"), N_("The lowest age is above the highest.")),
    (re.compile(r"^Unknown skills"), N_("Choose skills from the list.")),
    (
        re.compile(r"^Your account is not linked to an organisation"),
        N_("Your account is not linked to an organisation, so it cannot post opportunities."),
    ),
    (
        re.compile(r"^Register your organisation before posting opportunities"),
        N_("Register your organisation before posting opportunities."),
    ),
    (re.compile(r"^No such forum"), N_("Choose a forum from the list.")),
    (
        re.compile(r"^Your organisation is not a member of the forum '(?P<forum>.*)': join it first\.$"),
        N_("Your organisation is not a member of the forum “%(forum)s”: join it first."),
    ),
    (
        re.compile(r"^The forum '(?P<forum>.*)' covers .*, not (?P<municipality>\d{5})\.$"),
        N_("The forum “%(forum)s” does not cover %(municipality)s."),
    ),
    (re.compile(r"^The hours per week range is upside down"), N_("The minimum hours are more than the maximum.")),
    (re.compile(r"^The opportunity ends before it starts"), N_("The opportunity ends before it starts.")),
    (re.compile(r"^This opportunity is already closed"), N_("This opportunity is already closed.")),
    (re.compile(r"^This opportunity is closed"), N_("This opportunity is closed.")),
    (
        re.compile(r"^The candidate's consent to activation is withdrawn"),
        N_("The candidate's consent to activation is withdrawn."),
    ),
    (
        re.compile(r"^This candidate is already proposed for this opportunity"),
        N_("This candidate is already proposed for this opportunity."),
    ),
    (
        re.compile(r"^The candidate does not meet the forum's criteria"),
        N_("The candidate does not meet the forum's criteria: %(missed)s."),
    ),
    (
        re.compile(r"^Candidates are seen by case workers and supervisors"),
        N_("Candidates are seen by case workers and supervisors of their municipality."),
    ),
    (
        re.compile(r"^The fairness report is for"),
        N_("The fairness report is for the forum's coordinators, supervisors and analysts."),
    ),
    (re.compile(r"^No opportunity .* in this forum"), N_("This opportunity is not one of the forum's.")),
    (re.compile(r"^No opportunity "), N_("There is no such opportunity, or it is not yours to see.")),
    (re.compile(r"^No candidate"), N_("There is no such candidate among the candidates of your municipalities.")),
    (
        re.compile(r"^The candidate is already in a placement that runs"),
        N_("The candidate is already in a placement that runs, and this forum takes only people not placed."),
    ),
    (
        re.compile(r"^An organisation id is"),
        N_("An organisation id is 1–100 letters, digits, dots, dashes or underscores (the accounts' organisation)."),
    ),
    (re.compile(r"^No placement "), N_("There is no such placement, or it is not yours to see.")),
    (re.compile(r"^No forum "), N_("There is no such forum.")),
    (
        re.compile(r"^Only the organisation that posted (?:this|the) opportunity"),
        N_("Only the organisation that posted the opportunity can do that."),
    ),
    (
        re.compile(r"^The candidate's answer is recorded by a case worker"),
        N_("The candidate's answer is recorded by a case worker of the candidate's municipality."),
    ),
    (
        re.compile(r"^A placement that is '(?P<current>\w+)' cannot become '(?P<wanted>\w+)'"),
        N_("A placement that is “%(current)s” cannot become “%(wanted)s”."),
    ),
    (
        re.compile(r"^The (?P<party>employer|candidate) has already accepted this placement"),
        N_("The answer %(party)s is already recorded."),
    ),
    (
        re.compile(r"^All (?P<positions>\d+) positions of this opportunity are taken"),
        N_("All %(positions)s positions of this opportunity are taken."),
    ),
    (
        re.compile(r"^Hours are recorded while a placement runs; this one is '(?P<current>\w+)'"),
        N_("Hours are recorded while a placement runs; this one is “%(current)s”."),
    ),
    (
        re.compile(
            r"^Hours are recorded for a month from the start \((?P<first>[\d-]+)\) to this month \((?P<last>[\d-]+)\)"
        ),
        N_("Hours are recorded for a month from the start (%(first)s) to this month (%(last)s)."),
    ),
    (re.compile(r"^Say why the placement ended early"), N_("Choose why the placement ended early.")),
    (re.compile(r"^Choose a reason"), N_("Choose a reason.")),
]

# The service layer's messages about single fields, as the pages say them.
FIELD_MESSAGES = {
    "unknown municipality code": N_("Choose a municipality from the list."),
    "Must not be above max_age.": N_("The lowest age is above the highest."),
    "unknown forum": N_("Choose a forum from the list."),
    "Not one of the forum's municipalities.": N_("Not one of the forum's municipalities."),
    "Must not be above hours_per_week_max.": N_("The minimum hours are more than the maximum."),
    "Must not be before starts_on.": N_("The end is before the start."),
    "A reason is needed.": N_("Choose a reason."),
}
FIELD_PREFIXES = {
    "Not on the skills list": N_("Choose skills from the list."),
    "Between ": N_("A month from the placement's start to this month."),
}
FIELD_ERRORS = {
    "missing": N_("This field is required."),
    "date": N_("Enter a date as DD.MM.YYYY."),
    "number": N_("Enter a whole number."),
    "month": N_("Enter a month as YYYY-MM."),
    "range": N_("This number is out of range."),
    "invalid": N_("This value is not valid."),
}


def check_detail(detail: str | None, translate: Callable[[str], str]) -> str:
    """A check's detail in the page's language; one the pages do not know is shown as it came."""
    return by_patterns(detail, CHECK_DETAILS, translate) if detail else ""


def refusal_text(message: str, details: Any, translate: Callable[[str], str], names: Callable[[str], str]) -> str:
    """A service-layer refusal in the page's language; one the pages do not know is shown as it came."""

    def adapt(params: dict[str, Any], template: str) -> dict[str, Any]:
        if "municipality" in params:
            params["municipality"] = names(params["municipality"])
        for key in ("current", "wanted"):
            if key in params:
                params[key] = translate(PLACEMENT_STATUS.get(params[key], params[key]))
        if "party" in params:
            params["party"] = translate(PARTIES.get(params["party"], params["party"]))
        if "%(missed)s" in template:
            missed = details.get("missed", []) if isinstance(details, dict) else []
            params["missed"] = ", ".join(translate(CHECKS.get(c, c)) for c in missed)
        return params

    return by_patterns(message, REFUSALS, translate, adapt)


def field_text(message: str, translate: Callable[[str], str]) -> str:
    known = FIELD_MESSAGES.get(message)
    if known is not None:
        return translate(known)
    for prefix, text in FIELD_PREFIXES.items():
        if message.startswith(prefix):
            return translate(text)
    return message
