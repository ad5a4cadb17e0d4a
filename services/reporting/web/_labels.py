"""What reporting's pages and exports call things: the dimensions and their values, the table's columns, the units,
the refusals of the filters and the exports' notes, marked for translation (English is the source language; the
catalogues in shared/locale hold the rest). The indicators' own names and descriptions are in ``_indicator_labels``.
The values of the events (sex, case states, service and opportunity types) are labelled once, in
``shared.ui.vocabularies``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared import disclosure
from shared.ui import vocabularies
from shared.ui.i18n import N_
from shared.ui.messages import labelled as labelled  # the templates call labels.labelled
from shared.ui.refusals import Refusals

Translate = Callable[[str], str]

PERIODS = {"month": N_("Month"), "quarter": N_("Quarter"), "year": N_("Year")}
PERIODS_PLURAL = {"month": N_("By month"), "quarter": N_("By quarter"), "year": N_("By year")}
AREAS = {"municipality": N_("Municipalities"), "district": N_("Districts"), "country": N_("The whole country")}
DIMENSIONS = {
    "period": N_("Period"),
    "area": N_("Area"),
    "sex": N_("Sex"),
    "age_band": N_("Age band"),
    "group": N_("Vulnerable group"),
    "category": N_("Category"),
}
SEX = {**vocabularies.SEX, "unknown": N_("Sex not recorded")}
AGE_BANDS = {"0-17": "0–17", "18-29": "18–29", "30-49": "30–49", "50-64": "50–64", "65+": "65+"}
GROUPS = {
    "unemployed_able_to_work": N_("Unemployed and able to work"),
    "disability": N_("Person with disability"),
    "single_parent": N_("Single parent"),
    "roma": N_("Roma"),
    "without_documents": N_("Without personal documents"),
    "elderly": N_("Elderly (65+)"),
    "child": N_("Child (under 18)"),
}
CASE_STATES = vocabularies.CASE_STATES
SERVICE_TYPES = vocabularies.SERVICE_TYPES
OPPORTUNITY_TYPES = vocabularies.OPPORTUNITY_TYPES
CATEGORIES = {"case_state": CASE_STATES, "service_type": SERVICE_TYPES, "opportunity_type": OPPORTUNITY_TYPES}
CATEGORY_NAMES = {
    "case_state": N_("Case state"),
    "service_type": N_("Service type"),
    "opportunity_type": N_("Opportunity type"),
}

# The table's columns beyond the dimensions; "value" is named after the indicator's unit.
COLUMNS = {
    "area_name": N_("Area name"),
    "numerator": N_("Counted"),
    "denominator": N_("Out of"),
    "workers": N_("Case workers"),
    "active_cases": N_("Active cases"),
    "over_norm": N_("Workers over the norm"),
    "norm": N_("Norm (active cases per worker)"),
    "capacity": N_("Capacity"),
    "occupancy": N_("Occupied places"),
    "providers": N_("Providers"),
    "cases": N_("Cases"),
}
UNITS = {
    "count": N_("Number"),
    "rate": N_("Rate (%)"),
    "share": N_("Share (%)"),
    "median_days": N_("Median days"),
    "per_worker": N_("Per worker"),
}
# The same units in an export, where rates and shares are written as fractions of 1 (0.25 is 25 %).
EXPORT_UNITS = {**UNITS, "rate": N_("Rate (fraction of 1)"), "share": N_("Share (fraction of 1)")}
COUNTRY = N_("Serbia")
PERCENT_UNITS = frozenset({"rate", "share"})

SUPPRESSED = disclosure.SUPPRESSED
SUPPRESSION_NOTE = N_(
    "Small-cell suppression: a count below 5, and any figure from which one could be worked out, is shown as "
    "“<5”, so that nobody can be recognised in the table."
)
EXACT_NOTE = N_(
    "Exact figures: nothing is suppressed (administrators; supervisors and case workers for their own "
    "municipalities; exports are always suppressed)."
)
NO_ROWS = N_("No data for these filters.")
TARGET_LINE = N_("Target: at least %(target)s")
TOO_MANY_TO_DRAW = N_("Too many figures to draw; the table below has them all.")
GAPS = N_("Cells shown as “<5” or left empty in the table are gaps in the chart.")

# The exports' second sheet.
SHEET_TABLE = N_("Table")
SHEET_ABOUT = N_("About")
ABOUT = {
    "indicator": N_("Indicator"),
    "description": N_("Description"),
    "unit": N_("Unit"),
    "target": N_("Target"),
    "filters": N_("Filters"),
    "months": N_("Months covered"),
    "generated_at": N_("Generated at"),
    "suppression": N_("Suppression"),
    "source": N_("Source"),
}
TARGET_AT_LEAST = N_("at least %(target)s")
SOURCE = N_("Oslonac reporting, built from the events of intake, cases and activation; no personal data.")
FILTERS = {
    "period": N_("Periods"),
    "start": N_("From month"),
    "end": N_("To month"),
    "area": N_("Area level"),
    "municipalities": N_("Municipalities"),
    "districts": N_("Districts"),
    "sex": N_("Sex"),
    "age_band": N_("Age band"),
    "group": N_("Vulnerable group"),
    "by": N_("Broken down by"),
}
ANY = N_("not limited")
WHOLE_RANGE = N_("from the first data")
UNTIL_NOW = N_("up to now")


def _named(params: Mapping[str, Any], translate: Translate) -> dict[str, Any]:
    """A refusal's values as the page says them: a dimension by its (lower-case) name."""
    out = dict(params)
    key = str(out.get("dimension", "")).replace(" ", "_")
    if key in DIMENSIONS:
        out["dimension"] = translate(DIMENSIONS[key]).lower()
    return out


# What the pages say for each refusal of the query parser and the API, by its code (shared.ui.refusals).
REFUSALS = Refusals(
    {
        "query_not_valid": N_("The figures are not shown: check the marked filters."),
        "indicator_missing": N_("Choose an indicator."),
        "unknown_indicator": N_("There is no such indicator."),
        "unknown_period": N_("Choose months, quarters or years."),
        "unknown_area": N_("Choose municipalities, districts or the whole country."),
        "months_reversed": N_("The first month is after the last."),
        "month_format": N_("Give a month as year and month, for example 2026-03."),
        "unknown_municipality": N_("There is no municipality with code %(code)s."),
        "unknown_district": N_("There is no district “%(name)s”."),
        "unknown_sex": N_("Choose female or male."),
        "not_filtered_by_sex": N_("This indicator cannot be filtered by sex."),
        "unknown_age_band": N_("Choose one of the age bands."),
        "not_filtered_by_age_band": N_("This indicator cannot be filtered by age band."),
        "unknown_group": N_("Choose one of the vulnerable groups."),
        "not_filtered_by_group": N_("This indicator cannot be filtered by vulnerable group."),
        "not_by_dimension": N_("This indicator cannot be broken down by %(dimension)s."),
        "unknown_dimension": N_("There is no such breakdown."),
        "unknown_event_id": N_("Resume from an event id this stream sent."),
    },
    adapt=_named,
)


def dimension_value(dim: str, value: object, translate: Translate, *, category: str | None = None) -> str:
    """How a cell of a dimension column reads (area names come in their own column)."""
    text = "" if value is None else str(value)
    if dim == "sex":
        return translate(SEX[text]) if text in SEX else text
    if dim == "age_band":
        return AGE_BANDS.get(text, text)
    if dim == "group":
        return translate(GROUPS[text]) if text in GROUPS else text
    if dim == "category" and category in CATEGORIES:
        vocabulary = CATEGORIES[category]
        return translate(vocabulary[text]) if text in vocabulary else text
    return text
