"""The filter form of every reporting page, read back from the query string (also when it does not parse), the
query parser's refusals marked on it, and the query string that asks for a query again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.datastructures import QueryParams

from services.reporting.indicators import Query
from services.reporting.web import _format
from services.reporting.web import _labels as labels
from shared.errors import DomainError
from shared.ui.templating import Message, translator

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


def query_string(query: Query) -> str:
    return urlencode(_format.query_params(query))
