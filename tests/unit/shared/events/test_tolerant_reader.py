"""Tolerant readers, strict writers: a consumer ignores fields a newer producer added; a producer cannot publish a
field its model does not declare (issue 14, item 6; docs/events.md)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from shared.events import EVENT_TYPES, EventData, HouseholdRegisteredV2, MemberProfile, decode_event
from shared.events.catalogue import UPCASTERS
from tests.unit.shared.events.samples import SAMPLES, case_opened, household_registered, household_registered_v2

event_types = pytest.mark.parametrize("cls", EVENT_TYPES, ids=[cls.__name__ for cls in EVENT_TYPES])

# What a producer one release ahead might add: a new optional field of any JSON shape.
LATER_FIELDS: dict[str, Any] = {"priority_hint": "high", "added_in": {"release": 2, "flags": [1, 2]}}


def wire(event: EventData) -> dict[str, Any]:
    """The data as it travels: the JSON text of ``to_data()``, parsed again."""
    data: dict[str, Any] = json.loads(json.dumps(event.to_data()))
    return data


@event_types
def test_a_reader_ignores_fields_a_newer_producer_added(cls: type[EventData]) -> None:
    event = SAMPLES[cls]()
    decoded = decode_event(cls.type_name(), {**wire(event), **LATER_FIELDS})
    expected = decode_event(cls.type_name(), wire(event))  # an old version decodes as its newest one
    assert decoded == expected
    assert not set(LATER_FIELDS) & set(decoded.to_data())  # not kept, so never passed on


def test_a_reader_ignores_unknown_fields_inside_nested_objects_too() -> None:
    event = household_registered_v2()
    data = wire(event)
    data["members"] = [{**m, "languages": ["sr", "hu"]} for m in data["members"]]
    assert decode_event(event.type_name(), data) == event


def test_an_old_version_with_a_newer_field_is_still_upcast() -> None:
    old = household_registered()
    new = decode_event(old.type_name(), {**wire(old), "region": "Srem"})
    assert isinstance(new, HouseholdRegisteredV2)
    assert new.household_id == old.household_id and new.version == 1


def test_personal_data_in_an_unknown_field_is_dropped_not_kept() -> None:
    """A producer bug that adds a name reaches no consumer's store: the reader drops what it does not declare."""
    event = case_opened()
    decoded = decode_event(event.type_name(), {**wire(event), "given_name": "Ana"})
    assert decoded == event and "given_name" not in decoded.model_dump()
    member = {"person_id": str(UUID(int=1)), "sex": "F", "birth_year": 1985, "jmbg": "1403985715239"}
    registered = decode_event(household_registered().type_name(), {**wire(household_registered()), "members": [member]})
    assert isinstance(registered, HouseholdRegisteredV2)
    assert "jmbg" not in registered.members[0].model_dump()


@pytest.mark.parametrize(
    ("field", "value"),
    [("municipality_code", "8035"), ("case_id", "not-a-uuid"), ("opened_at", "last tuesday")],
)
def test_declared_fields_are_checked_as_strictly_as_before(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        decode_event(case_opened().type_name(), {**wire(case_opened()), **LATER_FIELDS, field: value})


# --- producing stays strict ---------------------------------------------------------------------------------


@event_types
def test_a_producer_cannot_build_an_event_with_an_undeclared_field(cls: type[EventData]) -> None:
    event = SAMPLES[cls]()
    with pytest.raises(ValidationError, match="priority_hint"):
        cls(**{**event.model_dump(), "priority_hint": "high"})


@event_types
def test_what_a_producer_publishes_is_exactly_what_its_model_declares(cls: type[EventData]) -> None:
    if cls.type_name() in UPCASTERS:
        pytest.skip("an old version is no longer published; it decodes as its newest version")
    event = SAMPLES[cls]()
    assert decode_event(cls.type_name(), wire(event), unknown_fields="forbid") == event
    with pytest.raises(ValidationError, match="priority_hint"):
        decode_event(cls.type_name(), {**wire(event), "priority_hint": "high"}, unknown_fields="forbid")


def test_a_producer_cannot_nest_an_undeclared_field() -> None:
    with pytest.raises(ValidationError, match="jmbg"):
        MemberProfile(person_id=UUID(int=1), sex="F", birth_year=1985, jmbg="1403985715239")  # type: ignore[call-arg]
    member = {"person_id": str(UUID(int=1)), "sex": "F", "birth_year": 1985, "jmbg": "1403985715239"}
    with pytest.raises(ValidationError, match="jmbg"):
        HouseholdRegisteredV2.model_validate({**wire(household_registered_v2()), "members": [member]})
