"""What every reporting page shares: the templates, who may see the dashboards, reporting's own static files (the
vendored Chart.js and the dashboard script) and the filter form read back from the query string. The pages'
Content-Security-Policy is the one of every service (shared.ui.security)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from starlette.datastructures import QueryParams

from services.reporting import ui_format, ui_indicators
from services.reporting import ui_labels as labels
from services.reporting.indicators import AGE_BANDS, CATALOGUE, GROUPS, Query
from shared.auth import Role, User
from shared.errors import DomainError
from shared.ui.access import require_page_role
from shared.ui.i18n import language_for
from shared.ui.pages import Pages, base_context
from shared.ui.places import all_districts, all_municipalities
from shared.ui.templating import Message, make_templates, translator

TEMPLATES = make_templates(Path(__file__).with_name("templates"))
STATIC_DIR = Path(__file__).resolve().with_name("static")
# The shared stylesheet and htmx are at /reporting/static/ (shared.ui); reporting's own files beside them.
ASSETS_PATH = "/reporting/assets"

READERS = (Role.analyst, Role.supervisor, Role.case_worker, Role.admin)
ReaderPage = Annotated[User, Depends(require_page_role(*READERS))]

# Reporting's own static files, by their path under /reporting/assets/ (nothing else is served from there).
ASSETS: dict[str, Path] = {
    path.relative_to(STATIC_DIR).as_posix(): path for path in sorted(STATIC_DIR.rglob("*")) if path.is_file()
}
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".md": "text/plain"}


def asset_type(path: Path) -> str:
    return ASSET_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "text/plain; charset=utf-8"


FORM_FIELDS = ("indicator", "period", "from", "to", "area", "sex", "age_band", "group")
LIST_FIELDS = ("municipality", "district", "by")


@dataclass
class Filters:
    """The filter form as the user filled it in (also when it does not parse), and the problems of each field."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def chosen(self, name: str) -> list[str]:
        return self.lists.get(name, [])

    def params(self) -> dict[str, list[str]]:
        """What ``indicators.parse_query`` reads (empty fields left out: they mean "any")."""
        out: dict[str, list[str]] = {k: [v] for k, v in self.values.items() if v and k not in self.extra}
        out.update({k: v for k, v in self.lists.items() if v})
        return out


def read_filters(query: QueryParams, defaults: dict[str, Any] | None = None, *, extra: tuple[str, ...] = ()) -> Filters:
    """The form from the query string; ``defaults`` fill it in when the page is opened without one. ``extra`` are
    a page's own fields (kept in ``values`` but never given to the query parser)."""
    if not query and defaults:
        values = {k: str(v) for k, v in defaults.items() if isinstance(v, str)}
        lists = {k: list(v) for k, v in defaults.items() if not isinstance(v, str)}
        return Filters(values, lists, extra=extra)
    values = {name: query.get(name, "").strip()[:100] for name in (*FORM_FIELDS, *extra)}
    lists = {name: [v.strip()[:100] for v in query.getlist(name) if v.strip()][:300] for name in LIST_FIELDS}
    return Filters(values, lists, extra=extra)


def mark_problems(filters: Filters, exc: DomainError, request: Request) -> Message:
    """The query parser's field errors onto the form, and the page's message saying the figures are not shown."""
    translate = translator(request)
    for name, text in labels.REFUSALS.field_texts(exc, translate).items():
        if name in filters.errors:
            if text not in filters.errors[name]:
                filters.errors[name] += " " + text
        else:
            filters.errors[name] = text
    return Message(labels.REFUSALS.error_text(exc, translate), "error")


def vocabularies(request: Request) -> dict[str, Any]:
    """The choices of the filter form, labelled in the page's language."""
    language = language_for(request)
    translate = translator(request)
    return {
        "indicator_groups": ui_indicators.grouped(translate),
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


def query_string(query: Query) -> str:
    return urlencode(ui_format.query_params(query))
