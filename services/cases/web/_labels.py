"""What cases' pages call things: the vocabularies of case work, the timeline's entries and the service layer's
refusals, marked for translation (English is the source language; the catalogues in shared/locale hold the rest).

The vocabularies of the events' values (states, priorities, services, sex…) are the platform's, from
``shared.ui.vocabularies``; this module holds what only cases' pages say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from shared.ui import vocabularies
from shared.ui.formats import day
from shared.ui.i18n import N_
from shared.ui.messages import labelled as labelled  # the templates call labels.labelled
from shared.ui.places import municipality_name, municipality_names
from shared.ui.refusals import Refusals

Translate = Callable[[str], str]

# The vocabularies the events' Literals name are the platform's (shared.ui.vocabularies); the names the templates
# use for them stay.
STATUS = vocabularies.CASE_STATES
# What the button that moves a case to a state says.
STATUS_ACTION = {
    "open": N_("Reopen the case"),
    "assessment": N_("Start the assessment"),
    "plan": N_("Move on to the plan"),
    "active": N_("Make the case active"),
    "closed": N_("Close the case"),
    "transferred": N_("Transfer to another municipality"),
}
PRIORITY = vocabularies.PRIORITIES
CLOSE_REASONS = vocabularies.CLOSE_REASONS
NEED_DOMAINS = vocabularies.NEED_DOMAINS
NEED_LEVELS = vocabularies.NEED_LEVELS
SERVICE_TYPES = vocabularies.SERVICE_TYPES
ACTION_KINDS = {"task": N_("Task"), "service": N_("Service"), "work_engagement": N_("Work engagement")}
# What an agreement may cover: the services, and work engagement (no provider's service).
AGREEMENT_SCOPES = {**SERVICE_TYPES, "work_engagement": ACTION_KINDS["work_engagement"]}
REFERRAL_STATUS = vocabularies.REFERRAL_STATUSES
# Who answered a proposed placement, and why one was declined (activation's codes).
PARTIES = vocabularies.PARTIES
DECLINE_REASONS = vocabularies.DECLINE_REASONS
REVIEW_REASONS = {
    "placement_completed": N_("A work placement was completed"),
    "placement_ended": N_("A work placement ended early"),
}
SEX = vocabularies.SEX
RELATION = vocabularies.RELATIONS
# Intake's markers and the two cases derives from the members' ages.
MARKERS = {
    **vocabularies.MARKERS,
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

# What the pages say for each refusal of the service layer, by its code (shared.ui.refusals): the domain errors'
# reasons and the field errors' types. Their values are codes; ``refusals_for`` says them in the page's language.
REFUSAL_TEXTS = {
    "transition_not_allowed": N_("A case in state “%(current)s” cannot go to “%(wanted)s”."),
    "transfer_on_its_own": N_("A case is transferred on its own page, naming the receiving municipality."),
    "assessment_first": N_("Record the assessment first: a plan follows an assessment."),
    "plan_first": N_("Agree the plan first: a case becomes active with a plan."),
    "plan_needs_assessment": N_("A plan is agreed once the assessment is recorded; this case is “%(current)s”."),
    "case_not_worked": N_("A case in state “%(current)s” is not worked on any more; reopen it first."),
    "close_reason_missing": N_("Choose why the case closes."),
    "domains_not_assessed": N_("Assess every domain (choose “No need” where there is none)."),
    "domain_not_assessed": N_("This domain is not assessed."),
    "plan_incomplete": N_("The plan is not complete: see the marked fields."),
    "not_a_worker_here": N_("%(worker)s is not a worker of %(from)s."),
    "choose_worker_here": N_("Choose a worker of the case's municipality."),
    "worker_inactive": N_("%(worker)s is marked inactive (on leave or gone) and takes no cases."),
    "reassigned_by_supervisor": N_("Only a supervisor of the case's municipality reassigns cases."),
    "not_your_case": N_("Only the case's worker or a supervisor of its municipality may change this case."),
    "not_your_municipality": N_("Municipality %(municipality)s is not among the municipalities you work for."),
    "workers_kept_by_supervisor": N_(
        "Only an administrator or a supervisor of %(municipalities)s changes who works there."
    ),
    "unknown_municipality": N_("There is no municipality with code %(code)s."),
    "legal_basis_needed": N_("Consent to case work was withdrawn: record the legal basis of this referral."),
    "needed_without_consent": N_("Needed while consent to case work is withdrawn."),
    "unknown_provider": N_("Choose a provider from the registry (this one does not exist or no longer works)."),
    "choose_provider": N_("Choose a provider from the registry."),
    "not_a_member": N_("This person is not a member of the household."),
    "choose_member": N_("Choose a member of the household."),
    "person_erased": N_("This person's data was erased."),
    "service_missing": N_("Choose the service."),
    "engagement_needs_member": N_("Work engagement is for one member: choose who."),
    "not_able_to_work": N_("Intake does not record this member as able to work."),
    "no_activation_consent": N_("This member has not consented to work engagement (record it in intake)."),
    "needed_for_engagement": N_("Needed for a work engagement."),
    "review_date_not_future": N_("The review date must be in the future."),
    "empty_goal": N_("A goal cannot be empty."),
    "no_referral_agreement": N_(
        "The referral is refused: no inter-municipal agreement valid on %(date)s covers “%(service)s” between "
        "%(from)s and %(to)s."
    ),
    "provider_full": N_("The provider is full: %(taken)s of %(capacity)s places are taken."),
    "referral_step_not_allowed": N_("A referral that is “%(current)s” cannot become “%(wanted)s”."),
    "referral_lapsed": N_(
        "The case was “%(current)s” after this request was sent: the request lapsed and cannot be accepted."
    ),
    "decline_reason_missing": N_("Say why the referral is declined."),
    "answered_by_provider_staff": N_(
        "The provider's answer is recorded by the staff of %(from)s, where the provider works."
    ),
    "unknown_referral_status": N_("There is no referral status “%(status)s”."),
    "no_transfer_agreement": N_(
        "No inter-municipal agreement valid on %(date)s joins %(from)s and %(to)s: the case cannot go there."
    ),
    "already_there": N_("The case is already in this municipality."),
    "choose_another_municipality": N_("Choose another municipality."),
    "providers_kept_by_supervisor": N_("Only an administrator or a supervisor of %(from)s keeps its providers."),
    "occupancy_over_capacity": N_("Occupancy cannot exceed capacity."),
    "more_than_capacity": N_("More than capacity."),
    "less_than_taken": N_("Less than the places taken."),
    "agreement_needs_two": N_("An agreement joins at least two different municipalities."),
    "two_or_more": N_("Name two or more different municipalities."),
    "agreement_binds_all": N_(
        "An agreement binds every municipality in it: it is recorded by an administrator or by a supervisor "
        "of all of them."
    ),
    "agreement_ended_by_all": N_(
        "An agreement is ended by an administrator or by a supervisor of all its municipalities."
    ),
    "agreement_ends_before_start": N_("An agreement cannot end before it starts."),
    "before_start": N_("Before %(date)s."),
}


def _said(language: str) -> Callable[[Mapping[str, Any], Translate], Mapping[str, Any]]:
    """A refusal's values as a page in ``language`` says them: municipalities by name, dates the Serbian way,
    services and states by their labels."""

    def adapt(params: Mapping[str, Any], translate: Translate) -> Mapping[str, Any]:
        out = dict(params)
        for key in ("from", "to", "municipality"):
            if key in out:
                out[key] = municipality_name(str(out[key]), language)
        if "municipalities" in out:
            out["municipalities"] = municipality_names(out["municipalities"], language)
        if "date" in out:
            out["date"] = day(str(out["date"]))
        if "service" in out:
            out["service"] = translate(SERVICE_TYPES.get(out["service"], out["service"]))
        for key in ("current", "wanted"):
            if key in out:
                label = STATUS.get(out[key]) or REFERRAL_STATUS.get(out[key])
                out[key] = translate(label) if label else out[key]
        return out

    return adapt


REFUSALS = Refusals(REFUSAL_TEXTS)


def refusals_for(language: str) -> Refusals:
    """The refusals as a page in ``language`` says them (their values named in that language)."""
    return replace(REFUSALS, adapt=_said(language))


# What the forms say about fields that do not parse (dates and numbers: shared.ui.forms.FieldTypes).
FIELD_ERRORS = {
    "missing": N_("This field is required."),
    "hours_order": N_("The minimum hours are more than the maximum."),
    "dates_order": N_("The end is before the start."),
    "two_municipalities": N_("Choose at least two different municipalities."),
    "invalid": N_("This value is not valid."),
}
