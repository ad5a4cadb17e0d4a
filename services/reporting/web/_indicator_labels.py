"""The indicators as the pages and exports name and explain them, marked for translation, by the catalogue's names
(``indicators.CATALOGUE``); the themes they are grouped under in the indicator list, in this order."""

from __future__ import annotations

from collections.abc import Callable

from services.reporting.indicators import CATALOGUE, Indicator
from shared.ui.i18n import N_

Translate = Callable[[str], str]

THEMES = {
    "registry": N_("Registry"),
    "poverty": N_("Poverty"),
    "household_types": N_("Household types"),
    "cases": N_("Cases"),
    "services": N_("Services and providers"),
    "beneficiaries": N_("Beneficiaries"),
    "activation": N_("Activation and placements"),
}
OTHER_THEME = N_("Other indicators")

# name → (label, description)
INDICATORS: dict[str, tuple[str, str]] = {
    "households": (
        N_("Households in the registry"),
        N_("Registered households at the end of the period (merged duplicates not counted)."),
    ),
    "households_registered": (N_("Households registered"), N_("Households registered within the period.")),
    "persons": (N_("Persons in the registry"), N_("Members of registered households at the end of the period.")),
    "persons_registered": (
        N_("Persons registered"),
        N_("Members of the households registered within the period."),
    ),
    "persons_below_poverty": (
        N_("Persons below the poverty line"),
        N_("Members of registered households whose income per equivalent adult is below the year's line."),
    ),
    "persons_poverty_rate": (
        N_("Poverty rate (persons)"),
        N_("Persons below the poverty line among persons whose household's poverty status is known."),
    ),
    "households_below_poverty": (
        N_("Households below the poverty line"),
        N_("Registered households below the year's poverty line."),
    ),
    "households_poverty_rate": (
        N_("Poverty rate (households)"),
        N_("Households below the poverty line among households whose poverty status is known."),
    ),
    "households_elderly_head": (
        N_("Households headed by an elderly person"),
        N_("Registered households whose head was 65 or older when registered."),
    ),
    "households_single_woman_head": (
        N_("Households headed by a single woman"),
        N_("Registered households headed by a woman living without a spouse or partner."),
    ),
    "households_with_disability": (
        N_("Households with a member with a disability"),
        N_("Registered households with a member with a disability."),
    ),
    "cases_opened": (
        N_("Cases opened"),
        N_("Cases opened within the period (a transfer opens a case in the receiving municipality)."),
    ),
    "assessments_completed": (
        N_("Assessments completed"),
        N_("Cases whose first assessment was completed within the period."),
    ),
    "cases_by_state": (N_("Cases by state"), N_("Cases in each state at the end of the period.")),
    "median_days_to_assessment": (
        N_("Median days from registration to assessment"),
        N_(
            "For cases whose first assessment was completed within the period: the median number of days since the "
            "household was registered."
        ),
    ),
    "caseload_per_worker": (
        N_("Caseload per worker"),
        N_("Now: active cases (open, assessment, plan, active) per worker who carries any, against the norm."),
    ),
    "referrals": (N_("Referrals to services"), N_("Referrals requested within the period, by service type.")),
    "referrals_cross_border_share": (
        N_("Referrals across a municipal border"),
        N_("The share of referrals requested within the period whose provider is in another municipality."),
    ),
    "provider_occupancy": (
        N_("Provider occupancy"),
        N_("Places occupied out of the capacity of active service providers at the end of the period."),
    ),
    "beneficiaries": (
        N_("Beneficiaries"),
        N_("Members of registered households with a case, at the end of the period."),
    ),
    "share_women_beneficiaries": (
        N_("Women among beneficiaries"),
        N_("The share of women among beneficiaries (target: at least 50 %)."),
    ),
    "share_roma_beneficiaries": (
        N_("Roma among beneficiaries"),
        N_("The share of beneficiaries who declared themselves Roma (with explicit consent)."),
    ),
    "activation_candidates": (
        N_("Activation candidates"),
        N_("Persons a case worker engaged for work, at the end of the period."),
    ),
    "opportunities_published": (
        N_("Opportunities published"),
        N_("Work-engagement opportunities published within the period."),
    ),
    "positions_offered": (
        N_("Positions offered"),
        N_("Positions of the opportunities published within the period."),
    ),
    "placements_proposed": (
        N_("Placements proposed"),
        N_("Candidates proposed for an opportunity within the period."),
    ),
    "placements_started": (N_("Placements started"), N_("Placements started within the period.")),
    "placements_completed": (
        N_("Placements completed"),
        N_("Placements completed as planned within the period."),
    ),
    "placements_ended_early": (
        N_("Placements ended early"),
        N_("Placements ended before their planned end within the period."),
    ),
    "placement_hours_worked": (
        N_("Hours worked in placements"),
        N_("Hours worked in the placements completed or ended within the period."),
    ),
    "placement_rate": (
        N_("Placement rate"),
        N_("Candidates who have started a placement, among all candidates, at the end of the period."),
    ),
    "share_women_placements": (
        N_("Women among placements"),
        N_("The share of placements started within the period by women (target: at least 50 %)."),
    ),
    "share_roma_placements": (
        N_("Roma among placements"),
        N_("The share of placements started within the period by candidates who declared themselves Roma."),
    ),
}


def label(indicator: Indicator, translate: Translate) -> str:
    """The indicator's name in the page's language (the catalogue's English one for an indicator added since)."""
    found = INDICATORS.get(indicator.name)
    return translate(found[0]) if found else indicator.label


def description(indicator: Indicator, translate: Translate) -> str:
    found = INDICATORS.get(indicator.name)
    return translate(found[1]) if found else indicator.description


def grouped(translate: Translate) -> list[tuple[str, list[tuple[str, str]]]]:
    """(theme, [(name, label)]) for the indicator list, themes in their order, indicators in the catalogue's."""
    themes: dict[str, list[tuple[str, str]]] = {}
    for indicator in CATALOGUE.values():
        themes.setdefault(indicator.theme, []).append((indicator.name, label(indicator, translate)))
    order = [t for t in THEMES if t in themes] + [t for t in themes if t not in THEMES]
    return [(translate(THEMES[t]) if t in THEMES else translate(OTHER_THEME), themes[t]) for t in order]
