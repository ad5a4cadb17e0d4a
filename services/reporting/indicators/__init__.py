"""Indicators: what they mean, and how a table of them is computed from the facts.

A query names one indicator, a period granularity (month, quarter, year) and range, an area level
(municipality, district, country), filters, and the dimensions to break it down by (period, area, sex, age band,
vulnerable group, and the indicator's own category: a case's state, a service type, an opportunity type).

Every figure comes from one grouped SQL query over a fact table (``(month, municipality, sex, age band, group
bits, category) → sum``, services/reporting/read_model.py), rolled up here to the areas, periods and dimensions
asked for:

- a *flow* counts what happened within each period (registrations, cases opened, placements started);
- a *stock* is the state at the end of each period: the running sum, from the first month on record, of the
  monthly changes (households in the registry, cases by state, candidates, provider occupancy);
- a *rate* or *share* divides two of these on the same cells; a *median* collects the values of its cells;
- the caseload per worker is a snapshot of now (workers are not followed through time).

Household and case figures are broken down by the household head's sex and age band, and by the groups any
member belongs to; person figures by the person's own. Ages are reached in the year of the event counted
(registration, request). Vulnerable groups overlap: their rows do not add up to the total.

With ``exact=False`` (analysts, exports, public feeds) counts from 1 to 4 are shown as "<5", and so is any
other cell that would let one be derived from a total (secondary suppression along every additive dimension).

The package's modules, in the order a table is made: ``catalogue`` (the indicators and how each is computed),
``query`` (what a reader asks for), ``breakdowns`` (the cells of a table), ``tables`` (the computation) and
``suppression`` (the small-cell rule applied to a table). What the pages and the API use is named here.
"""

from __future__ import annotations

from services.reporting.indicators.catalogue import (
    AGE_BANDS,
    AREAS,
    CATALOGUE,
    CATEGORIES,
    COUNTRY,
    DIMENSIONS,
    GROUPS,
    PERIODS,
    SEXES,
    THEMES,
    Indicator,
    Kind,
    Unit,
)
from services.reporting.indicators.query import Query, filter_codes, month_range, parse_query
from services.reporting.indicators.tables import Table, compute
from shared.disclosure import SUPPRESSED

__all__ = [
    "AGE_BANDS",
    "AREAS",
    "CATALOGUE",
    "CATEGORIES",
    "COUNTRY",
    "DIMENSIONS",
    "GROUPS",
    "PERIODS",
    "SEXES",
    "SUPPRESSED",
    "THEMES",
    "Indicator",
    "Kind",
    "Query",
    "Table",
    "Unit",
    "compute",
    "filter_codes",
    "month_range",
    "parse_query",
]
