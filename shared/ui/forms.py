"""Forms of the pages: what a form holds, its fields read and checked, and the one way a form's post runs —
fields that do not parse re-render the form (422); else the command runs in a savepoint and its answer is where
to go next (303), or its refusal re-renders the form with the message and the fields it names marked, in the
page's language, by code (``shared.ui.refusals``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from shared.errors import DomainError
from shared.ui.formats import parse_date, parse_whole_number
from shared.ui.i18n import N_
from shared.ui.refusals import Refusals
from shared.ui.templating import Message, translator

M = TypeVar("M", bound=BaseModel)
Translate = Callable[[str], str]


@dataclass
class Form:
    """What a form holds (to show it again) and its errors by dotted field path (``actions.0.person_id``)."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


def form_text(data: FormData, name: str) -> str:
    """A field of a posted form as text, without the spaces around it ('' when absent)."""
    return str(data.get(name, "")).strip()


@dataclass(frozen=True)
class FieldTypes:
    """Which fields of a form are dates and which whole numbers, and what a page says when one is not."""

    dates: Collection[str] = ()
    numbers: Collection[str] = ()
    not_a_date: str = N_("Enter a date as DD.MM.YYYY.")
    not_a_number: str = N_("Enter a whole number.")


def read_value(name: str, text: str, form: Form, path: str, types: FieldTypes, translate: Translate) -> Any:
    """A form text as the model wants it: None when empty, an ISO date or an ``int`` where the field is one; a
    date or number that does not read marks ``path`` in ``form.errors`` and is None."""
    text = text.strip()
    if not text:
        return None
    if name in types.dates:
        parsed = parse_date(text)
        if parsed is None:
            form.errors[path] = translate(types.not_a_date)
        return parsed
    if name in types.numbers:
        number = parse_whole_number(text)
        if number is None:
            form.errors[path] = translate(types.not_a_number)
        return number
    return text


def validate(
    model: type[M],
    payload: Mapping[str, Any],
    form: Form,
    *,
    message_for: Callable[[Mapping[str, Any]], str],
    translate: Translate,
    prefix: str = "",
    indexes: bool = True,
) -> M | None:
    """``payload`` as ``model``, or None with pydantic's complaints on ``form.errors`` (the first per field, said
    by ``message_for(error)``, an English msgid; without list ``indexes`` in the path if the form has none); a
    form that has errors already is not validated."""
    if form.errors:
        return None
    try:
        return model.model_validate(dict(payload))
    except ValidationError as exc:
        for error in exc.errors():
            loc = [part for part in error["loc"] if indexes or not isinstance(part, int)]
            path = prefix + ".".join(str(part) for part in loc)
            form.errors.setdefault(path, translate(message_for(error)))
        return None


def required(form: Form, names: Collection[str], message: str, translate: Translate, prefix: str = "") -> None:
    """Mark each of ``names`` that is empty with ``message`` (an English msgid)."""
    for name in names:
        if form.values.get(name) in ("", None, []):
            form.errors.setdefault(prefix + name, translate(message))


def refusal_message(exc: DomainError, refusals: Refusals, translate: Translate) -> Message:
    """A refusal of the service layer as the page's error line, by its code."""
    return Message(refusals.error_text(exc, translate), "error")


class Render(Protocol):
    """Shows the form's page again: ``render(form=..., status_code=..., messages=[...])``."""

    def __call__(self, *, form: Form, status_code: int, messages: list[Message]) -> Awaitable[Response]: ...


async def post_form(
    request: Request,
    session: AsyncSession,
    form: Form,
    data: M | None,
    *,
    command: Callable[[M], Awaitable[str]],
    render: Render,
    refusals: Refusals,
    not_done: str,
    error_prefix: str = "",
    reraise: tuple[type[DomainError], ...] = (),
) -> Response:
    """The one shape of a form's post.

    ``data`` is the form parsed into the service's request model, None when a field did not parse (``form.errors``
    say which): the form comes back (422) with ``not_done`` (an English msgid). Otherwise ``command(data)`` runs in
    a savepoint — a refusal undoes only it, so the page can still be read in the same transaction — and returns
    where to go next (303). A refusal brings the form back in the refusal's status, with its message and the
    fields it names marked (under ``error_prefix`` where the form nests them). A refusal of a type in ``reraise``
    (say, a 404 of the page's own object) is not the form's and goes to the error page instead.
    """
    translate = translator(request)
    if data is None:
        return await render(form=form, status_code=422, messages=[Message(translate(not_done), "error")])
    try:
        async with session.begin_nested():
            target = await command(data)
    except DomainError as exc:
        if isinstance(exc, reraise):
            raise
        marked = refusals.field_texts(exc, translate)
        form.errors.update({f"{error_prefix}{name}": text for name, text in marked.items()})
        return await render(
            form=form, status_code=exc.status_code, messages=[refusal_message(exc, refusals, translate)]
        )
    return RedirectResponse(target, status_code=303)
