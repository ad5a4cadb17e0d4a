"""The one form post: 422 for fields that did not parse, a savepoint around the command, 303 on success, the form
again with the refusal said by code and its fields marked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from shared.db import create_engine, session_factory
from shared.errors import Conflict, Invalid, NotFound, field_error
from shared.ui.forms import FieldTypes, Form, form_text, post_form, read_value, required, validate
from shared.ui.refusals import GENERIC, Refusals
from shared.ui.templating import Message

REFUSALS = Refusals({"taken": GENERIC["conflict"], "name_missing": GENERIC["missing"]})


class Named(BaseModel):
    name: str
    size: int


def _request(language: str = "en") -> Request:
    cookie = f"oslonac_lang={language}".encode()
    return Request({"type": "http", "method": "POST", "path": "/x/form", "headers": [(b"cookie", cookie)]})


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'forms.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE things (name TEXT)"))
    async with session_factory(engine)() as s, s.begin():
        yield s
    await engine.dispose()


class Shown:
    """What the form's page was rendered with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, *, form: Form, status_code: int, messages: list[Message]) -> Response:
        self.calls.append({"form": form, "status_code": status_code, "messages": messages})
        return Response(status_code=status_code)


async def _post(
    session: AsyncSession,
    data: Named | None,
    command: Any,
    *,
    form: Form | None = None,
    render: Shown | None = None,
    language: str = "en",
    **options: Any,
) -> Response:
    return await post_form(
        _request(language),
        session,
        form or Form({}),
        data,
        command=command,
        render=render or Shown(),
        refusals=REFUSALS,
        not_done="Not saved.",
        **options,
    )


async def _count(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM things"))).scalar_one())


async def test_a_form_that_did_not_parse_comes_back_422_and_nothing_runs(session: AsyncSession) -> None:
    shown, ran = Shown(), []

    async def command(data: Named) -> str:
        ran.append(data)
        return "/x/done"

    form = Form({"name": ""}, {"name": "This field is required."})
    answer = await _post(session, None, command, form=form, render=shown)
    assert answer.status_code == 422 and ran == []
    assert shown.calls[0]["messages"] == [Message("Not saved.", "error")]


async def test_a_command_that_succeeds_redirects_where_it_says(session: AsyncSession) -> None:
    async def command(data: Named) -> str:
        await session.execute(text("INSERT INTO things VALUES (:n)"), {"n": data.name})
        return f"/x/things/{data.name}"

    answer = await _post(session, Named(name="a", size=1), command)
    assert (answer.status_code, answer.headers["location"]) == (303, "/x/things/a")
    assert await _count(session) == 1


@pytest.mark.parametrize("language", ["en", "sr-Latn"])
async def test_a_refusal_undoes_only_the_command_and_shows_the_form_with_its_fields(
    session: AsyncSession, language: str
) -> None:
    await session.execute(text("INSERT INTO things VALUES ('before')"))

    async def command(data: Named) -> str:
        await session.execute(text("INSERT INTO things VALUES (:n)"), {"n": data.name})
        raise Invalid(
            "Name taken.",
            reason="taken",
            details=[field_error(["body", "name"], "name is missing", "name_missing")],
        )

    shown = Shown()
    form = Form({"name": "b"})
    answer = await _post(
        session, Named(name="b", size=1), command, form=form, render=shown, language=language, error_prefix="thing."
    )
    assert answer.status_code == 422
    assert await _count(session) == 1  # the row from before the savepoint is still there, the command's is not
    expected = REFUSALS.text("taken", language=language)
    assert shown.calls[0]["messages"] == [Message(expected, "error")]
    assert form.errors == {"thing.name": REFUSALS.text("name_missing", language=language)}
    assert language == "en" or expected != GENERIC["conflict"]


async def test_a_refusal_that_is_not_the_forms_goes_to_the_error_page(session: AsyncSession) -> None:
    async def command(data: Named) -> str:
        raise NotFound("No such thing.")

    with pytest.raises(NotFound):
        await _post(session, Named(name="c", size=1), command, reraise=(NotFound,))


async def test_an_other_refusal_is_shown_in_its_own_status(session: AsyncSession) -> None:
    async def command(data: Named) -> str:
        raise Conflict("Closed.", reason="taken")

    answer = await _post(session, Named(name="c", size=1), command)
    assert answer.status_code == 409


def test_fields_are_read_as_the_model_wants_them() -> None:
    types = FieldTypes(dates={"on"}, numbers={"size"})
    form = Form({})
    assert read_value("on", " 12.05.2026. ", form, "on", types, str) == "2026-05-12"
    assert read_value("size", "12", form, "size", types, str) == 12
    assert read_value("note", "  ", form, "note", types, str) is None
    assert form.errors == {}
    assert read_value("on", "12/05/2026", form, "x.on", types, str) is None
    assert read_value("size", "1²", form, "x.size", types, str) is None
    assert form.errors == {"x.on": types.not_a_date, "x.size": types.not_a_number}


def test_validate_marks_the_first_complaint_per_field_and_required_the_empty_ones() -> None:
    form = Form({"name": "", "size": "x"})
    required(form, ("name",), "This field is required.", str)
    assert form.errors == {"name": "This field is required."}
    assert validate(Named, {"size": 1}, form, message_for=lambda e: "bad", translate=str) is None  # already marked
    fresh = Form({})
    assert validate(Named, {"size": "x"}, fresh, message_for=lambda e: str(e["type"]), translate=str) is None
    assert fresh.errors == {"name": "missing", "size": "int_parsing"}
    assert validate(Named, {"name": "n", "size": 2}, Form({}), message_for=str, translate=str) == Named(
        name="n", size=2
    )


def test_form_text_strips_and_defaults_to_empty() -> None:
    data = FormData([("name", "  Ana ")])
    assert (form_text(data, "name"), form_text(data, "other")) == ("Ana", "")
