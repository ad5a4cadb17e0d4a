"""What every reporting page shares: the templates, who may see the dashboards, the context of every page and the
choices of the filter form. The pages' Content-Security-Policy is the one of every service (shared.ui.security)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from services.reporting.indicators import AGE_BANDS, CATALOGUE, GROUPS
from services.reporting.web import _indicator_labels
from services.reporting.web import _labels as labels
from shared.auth import Role, User
from shared.ui.access import require_page_role
from shared.ui.i18n import language_for
from shared.ui.pages import Pages, base_context
from shared.ui.places import all_districts, all_municipalities
from shared.ui.templating import make_templates, translator

TEMPLATES = make_templates(Path(__file__).resolve().parent.parent / "templates")
# The shared stylesheet and htmx are at /reporting/static/ (shared.ui); reporting's own files beside them.
ASSETS_PATH = "/reporting/assets"

READERS = (Role.analyst, Role.supervisor, Role.case_worker, Role.admin)
ReaderPage = Annotated[User, Depends(require_page_role(*READERS))]


def vocabularies(request: Request) -> dict[str, Any]:
    """The choices of the filter form, labelled in the page's language."""
    language = language_for(request)
    translate = translator(request)
    return {
        "indicator_groups": _indicator_labels.grouped(translate),
        "period_options": labels.labelled(labels.PERIODS_PLURAL, translate),
        "area_options": labels.labelled(labels.AREAS, translate),
        "sex_options": [(code, translate(labels.SEX[code])) for code in ("F", "M")],
        "age_band_options": [(band, labels.AGE_BANDS.get(band, band)) for band in AGE_BANDS],
        "group_options": [(g, translate(labels.GROUPS[g]) if g in labels.GROUPS else g) for g in GROUPS],
        "dimension_options": labels.labelled(labels.DIMENSIONS, translate),
        "municipality_options": all_municipalities(language),
        "district_options": all_districts(language),
        "indicator_dims": {name: sorted(i.dims) for name, i in CATALOGUE.items()},
    }


def common(request: Request, user: User) -> dict[str, Any]:
    return {
        **base_context(request, user, labels=labels),
        "asset_url": lambda file: f"{ASSETS_PATH}/{file}",
    }


page = Pages(TEMPLATES, common)
