"""The platform's vocabularies: for each closed set of values the events carry (the ``Literal`` types of
``shared.events``), what pages call each value, marked for translation (English msgids; the catalogues in
``shared/locale`` hold Serbian Latin and Cyrillic). A page shows ``translate(SEX[value])``; a select offers
``labelled(SEX, translate)``. ``VOCABULARIES`` pairs each with its Literal, so a test can prove every value has a
label in every language."""

from __future__ import annotations

from typing import Any

from shared.events.activation import DeclineReason, EndReason, OpportunityType, Party
from shared.events.cases import (
    CaseStatusName,
    CloseReason,
    NeedDomain,
    NeedLevel,
    PriorityName,
    ReferralStatus,
    ServiceType,
)
from shared.events.intake import Education, EmploymentStatus, Marker, Purpose, Relation, Sex
from shared.ui.i18n import N_

# The sex recorded for a person.
SEX: dict[str, str] = {
    "F": N_("Female"),
    "M": N_("Male"),
}

# A member's relation to the head of the household.
RELATIONS: dict[str, str] = {
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

# The highest school a person finished.
EDUCATION: dict[str, str] = {
    "none": N_("No schooling"),
    "primary_incomplete": N_("Primary school not completed"),
    "primary": N_("Primary school"),
    "secondary": N_("Secondary school"),
    "tertiary": N_("College or university"),
}

# A person's work status.
EMPLOYMENT: dict[str, str] = {
    "employed": N_("Employed"),
    "unemployed": N_("Unemployed"),
    "informal_work": N_("Informal work"),
    "retired": N_("Retired"),
    "pupil_student": N_("Pupil or student"),
    "inactive": N_("Not working, not looking for work"),
}

# Vulnerability markers recorded for a person (the Roma marker only with consent).
MARKERS: dict[str, str] = {
    "unemployed_able_to_work": N_("Unemployed and able to work"),
    "disability": N_("Person with disability"),
    "single_parent": N_("Single parent"),
    "roma": N_("Roma (self-declared)"),
    "victim_of_violence": N_("Victim of violence"),
    "without_documents": N_("Without personal documents"),
}

# What a person consented to.
PURPOSES: dict[str, str] = {
    "case_work": N_("Case work"),
    "activation": N_("Work engagement (activation)"),
    "research": N_("Research and statistics"),
    "ethnicity": N_("Recording of Roma self-declaration"),
}

# The states of a case.
CASE_STATES: dict[str, str] = {
    "open": N_("Open"),
    "assessment": N_("Assessment"),
    "plan": N_("Plan"),
    "active": N_("Active"),
    "closed": N_("Closed"),
    "transferred": N_("Transferred"),
}

# A case's priority.
PRIORITIES: dict[str, str] = {
    "urgent": N_("Urgent"),
    "high": N_("High"),
    "medium": N_("Medium"),
    "low": N_("Low"),
}

# The domains of an assessment.
NEED_DOMAINS: dict[str, str] = {
    "income": N_("Income"),
    "employment": N_("Employment"),
    "housing": N_("Housing"),
    "health": N_("Health"),
    "education": N_("Education"),
    "care": N_("Care"),
    "safety": N_("Safety"),
}

# How great a need is.
NEED_LEVELS: dict[str, str] = {
    "none": N_("No need"),
    "low": N_("Low"),
    "moderate": N_("Moderate"),
    "high": N_("High"),
    "critical": N_("Critical"),
}

# The services a case can be referred to.
SERVICE_TYPES: dict[str, str] = {
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

# Why a case was closed.
CLOSE_REASONS: dict[str, str] = {
    "goals_achieved": N_("Goals achieved"),
    "no_longer_eligible": N_("No longer eligible"),
    "moved_away": N_("Moved away"),
    "declined_services": N_("Declined services"),
    "deceased": N_("Deceased"),
    "merged": N_("Merged with another case"),
    "other": N_("Other reason"),
}

# The states of a referral.
REFERRAL_STATUSES: dict[str, str] = {
    "requested": N_("Requested"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "ended": N_("Ended"),
    "cancelled": N_("Cancelled"),
}

# The kinds of work engagement.
OPPORTUNITY_TYPES: dict[str, str] = {
    "community_work": N_("Community work"),
    "public_works": N_("Public works"),
    "training": N_("Training"),
    "internship": N_("Internship"),
    "job": N_("Job"),
}

# Why a placement ended early.
END_REASONS: dict[str, str] = {
    "found_other_work": N_("Found other work"),
    "health": N_("Health reasons"),
    "care_duties": N_("Care duties"),
    "did_not_attend": N_("Did not come to work"),
    "employer_ended": N_("The employer ended it"),
    "other": N_("Other reason"),
}

# Why a proposal was declined.
DECLINE_REASONS: dict[str, str] = {
    "candidate_not_interested": N_("The candidate is not interested"),
    "candidate_unavailable": N_("The candidate is not available"),
    "employer_not_suitable": N_("Not suitable for the employer"),
    "positions_filled": N_("The positions are filled"),
    "other": N_("Other reason"),
}

# Who answered a proposal (as in "declined by the employer").
PARTIES: dict[str, str] = {
    "employer": N_("by the employer"),
    "candidate": N_("by the candidate"),
}

# Each vocabulary with the Literal whose values it labels.
VOCABULARIES: dict[str, tuple[Any, dict[str, str]]] = {
    "SEX": (Sex, SEX),
    "RELATIONS": (Relation, RELATIONS),
    "EDUCATION": (Education, EDUCATION),
    "EMPLOYMENT": (EmploymentStatus, EMPLOYMENT),
    "MARKERS": (Marker, MARKERS),
    "PURPOSES": (Purpose, PURPOSES),
    "CASE_STATES": (CaseStatusName, CASE_STATES),
    "PRIORITIES": (PriorityName, PRIORITIES),
    "NEED_DOMAINS": (NeedDomain, NEED_DOMAINS),
    "NEED_LEVELS": (NeedLevel, NEED_LEVELS),
    "SERVICE_TYPES": (ServiceType, SERVICE_TYPES),
    "CLOSE_REASONS": (CloseReason, CLOSE_REASONS),
    "REFERRAL_STATUSES": (ReferralStatus, REFERRAL_STATUSES),
    "OPPORTUNITY_TYPES": (OpportunityType, OPPORTUNITY_TYPES),
    "END_REASONS": (EndReason, END_REASONS),
    "DECLINE_REASONS": (DeclineReason, DECLINE_REASONS),
    "PARTIES": (Party, PARTIES),
}
