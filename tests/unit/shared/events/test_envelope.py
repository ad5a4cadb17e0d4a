"""The CloudEvents envelope in the Kafka binary content mode: our round trip, our refusals, and the SDK's view."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1 import kafka as ce_kafka_legacy
from hypothesis import given
from hypothesis import strategies as st

from shared.events.envelope import Envelope, EnvelopeError, Headers

# RFC 3339 date-time in UTC with "Z", optional fraction of a second.
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")

EVENT_TIME = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)


def an_envelope(**overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "id": "6f1c2a9e-4c1f-4d8a-9a51-2d1e0f7f3b11",
        "source": "/oslonac/intake",
        "type": "rs.oslonac.intake.household.registered.v1",
        "data": {
            "household_id": "0b8e6d0c-7a3e-4f57-9d7e-1c2b3a4d5e6f",
            "municipality_code": "80357",
            "note": "Ђорђевић, Šid",
        },
        "subject": "0b8e-household",
        "time": EVENT_TIME,
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
    }
    fields.update(overrides)
    return Envelope(**fields)


def header_dict(headers: Headers) -> dict[str, bytes]:
    as_dict = dict(headers)
    assert len(as_dict) == len(headers), "a header appears twice"
    return as_dict


# --- what we write --------------------------------------------------------------------------------


def test_headers_carry_the_cloudevents_attributes() -> None:
    headers = header_dict(an_envelope().headers())
    assert headers == {
        "ce_specversion": b"1.0",
        "ce_id": b"6f1c2a9e-4c1f-4d8a-9a51-2d1e0f7f3b11",
        "ce_source": b"/oslonac/intake",
        "ce_type": b"rs.oslonac.intake.household.registered.v1",
        "ce_time": b"2024-05-01T10:00:00.123456Z",
        "content-type": b"application/json",
        "ce_subject": b"0b8e-household",
        "ce_correlationid": b"corr-1",
        "ce_causationid": b"cause-1",
    }


def test_optional_attributes_are_left_out_when_not_set() -> None:
    headers = header_dict(an_envelope(subject=None, correlation_id=None, causation_id=None).headers())
    assert set(headers) == {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}


@pytest.mark.parametrize(
    "time",
    [
        datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 3, 0, tzinfo=timezone(timedelta(hours=-7))),
    ],
)
def test_ce_time_is_rfc3339_in_utc(time: datetime) -> None:
    ce_time = header_dict(an_envelope(time=time).headers())["ce_time"].decode()
    assert RFC3339_UTC.match(ce_time), ce_time
    assert ce_time == "2024-05-01T10:00:00Z"


def test_default_time_is_now_in_utc() -> None:
    before = datetime.now(UTC)
    envelope = Envelope(id="x", source="/oslonac/test", type="rs.oslonac.test.v1", data={})
    after = datetime.now(UTC)
    assert before <= envelope.time <= after
    assert RFC3339_UTC.match(header_dict(envelope.headers())["ce_time"].decode())


def test_value_is_compact_utf8_json() -> None:
    value = an_envelope(data={"settlement": "Šabac", "n": 2}).value()
    assert value == '{"settlement":"Šabac","n":2}'.encode()


# --- round trip -----------------------------------------------------------------------------------


def test_round_trip_gives_the_same_envelope() -> None:
    envelope = an_envelope()
    assert Envelope.from_record(envelope.headers(), envelope.value()) == envelope


def test_round_trip_without_optional_attributes() -> None:
    envelope = an_envelope(subject=None, correlation_id=None, causation_id=None)
    read = Envelope.from_record(envelope.headers(), envelope.value())
    assert read == envelope
    assert read.subject is None
    assert read.correlation_id is None
    assert read.causation_id is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
attribute = st.text(min_size=1, max_size=40)
optional_attribute = st.none() | attribute


@given(
    id=attribute,
    source=attribute,
    type=attribute,
    data=st.dictionaries(st.text(), json_values, max_size=6),
    subject=optional_attribute,
    correlation_id=optional_attribute,
    causation_id=optional_attribute,
    time=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
)
def test_any_envelope_survives_the_round_trip(
    id: str,
    source: str,
    type: str,
    data: dict[str, Any],
    subject: str | None,
    correlation_id: str | None,
    causation_id: str | None,
    time: datetime,
) -> None:
    envelope = Envelope(
        id=id,
        source=source,
        type=type,
        data=data,
        subject=subject,
        time=time,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    assert Envelope.from_record(envelope.headers(), envelope.value()) == envelope


def test_missing_time_and_content_type_are_tolerated() -> None:
    # Both are optional in CloudEvents 1.0 (time) and in the Kafka binding (content-type).
    headers = [(k, v) for k, v in an_envelope().headers() if k not in ("ce_time", "content-type")]
    before = datetime.now(UTC)
    read = Envelope.from_record(headers, an_envelope().value())
    assert read.time >= before
    assert read.data == an_envelope().data


def test_content_type_with_charset_is_json() -> None:
    headers = [
        (k, b"application/json; charset=utf-8" if k == "content-type" else v) for k, v in an_envelope().headers()
    ]
    assert Envelope.from_record(headers, an_envelope().value()) == an_envelope()


# --- what we refuse -------------------------------------------------------------------------------


def replaced(key: str, value: bytes | None) -> Headers:
    """The headers of ``an_envelope()`` with ``key`` set to ``value`` (None: removed)."""
    headers = [(k, v) for k, v in an_envelope().headers() if k != key]
    if value is not None:
        headers.append((key, value))
    return headers


GOOD_VALUE = an_envelope().value()


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        (replaced("ce_specversion", None), GOOD_VALUE, "specversion"),
        (replaced("ce_specversion", b"0.3"), GOOD_VALUE, "specversion"),
        (replaced("ce_id", None), GOOD_VALUE, "ce_id"),
        (replaced("ce_id", b""), GOOD_VALUE, "ce_id"),
        (replaced("ce_source", None), GOOD_VALUE, "ce_source"),
        (replaced("ce_type", None), GOOD_VALUE, "ce_type"),
        (replaced("content-type", b"application/xml"), GOOD_VALUE, "content-type"),
        (replaced("content-type", b"text/plain"), GOOD_VALUE, "content-type"),
        (replaced("ce_time", b"yesterday"), GOOD_VALUE, "ce_time"),
        (replaced("ce_time", b"2024-13-01T10:00:00Z"), GOOD_VALUE, "ce_time"),
        (replaced("ce_subject", b"\xff\xfe"), GOOD_VALUE, "UTF-8"),
        (replaced("ce_id", b"caf\xe9"), GOOD_VALUE, "UTF-8"),
        (an_envelope().headers(), b"{not json", "JSON"),
        (an_envelope().headers(), b"\xff\xfe\xfd", "JSON"),
        (an_envelope().headers(), b"[1, 2, 3]", "JSON object"),
        (an_envelope().headers(), b'"a string"', "JSON object"),
        (an_envelope().headers(), b"null", "JSON object"),
        (an_envelope().headers(), None, "JSON object"),
        (None, GOOD_VALUE, "specversion"),
        ([], GOOD_VALUE, "specversion"),
    ],
    ids=[
        "no-specversion",
        "specversion-0.3",
        "no-id",
        "empty-id",
        "no-source",
        "no-type",
        "xml",
        "text",
        "ce_time-words",
        "ce_time-month-13",
        "subject-not-utf8",
        "id-latin1",
        "value-not-json",
        "value-not-utf8",
        "value-array",
        "value-string",
        "value-null",
        "value-none",
        "headers-none",
        "headers-empty",
    ],
)
def test_from_record_refuses_what_is_not_our_cloudevent(
    headers: Headers | None, value: bytes | None, reason: str
) -> None:
    with pytest.raises(EnvelopeError, match=re.escape(reason)):
        Envelope.from_record(headers, value)


def test_envelope_error_is_a_value_error() -> None:
    # Consumers that catch ValueError around decoding (pydantic, json) also catch this one.
    assert issubclass(EnvelopeError, ValueError)


@pytest.mark.parametrize("ce_time", [b"2024-05-01T10:00:00", b"2024-05-01"], ids=["no-offset", "date-only"])
def test_ce_time_without_offset_never_becomes_a_naive_datetime(ce_time: bytes) -> None:
    """BUG: ``datetime.fromisoformat`` accepts ISO 8601 forms that are not RFC 3339.

    A ``ce_time`` without a UTC offset (or without a time at all) is read into a *naive* datetime.
    Comparing it with the aware times everywhere else raises TypeError, and ``headers()`` later
    treats it as the host's local time (``astimezone``), shifting the event time when re-published.
    Either refuse it (RFC 3339 requires an offset) or read it as UTC — never hand out a naive time.
    """
    try:
        read = Envelope.from_record(replaced("ce_time", ce_time), GOOD_VALUE)
    except EnvelopeError:
        return
    assert read.time.tzinfo is not None, f"{ce_time!r} was read as the naive datetime {read.time!r}"


# --- interoperability with the CloudEvents SDK -------------------------------------------------------


def test_cloudevents_sdk_reads_our_record() -> None:
    envelope = an_envelope()
    message = ce_kafka.KafkaMessage(headers=dict(envelope.headers()), key=b"0b8e-household", value=envelope.value())
    event = ce_kafka.from_binary_event(message)
    assert event.get_specversion() == "1.0"
    assert event.get_id() == envelope.id
    assert event.get_type() == envelope.type
    assert event.get_source() == envelope.source
    assert event.get_subject() == envelope.subject
    assert event.get_time() == envelope.time
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == envelope.data
    assert event.get_extension("correlationid") == "corr-1"
    assert event.get_extension("causationid") == "cause-1"


def test_cloudevents_legacy_v1_api_reads_our_record() -> None:
    # The 1.x API (``cloudevents.kafka`` there, ``cloudevents.v1.kafka`` in 2.x) that older consumers use.
    envelope = an_envelope()
    message = ce_kafka_legacy.KafkaMessage(headers=dict(envelope.headers()), key=b"k", value=envelope.value())
    event = ce_kafka_legacy.from_binary(message)
    assert event["specversion"] == "1.0"
    assert event["id"] == envelope.id
    assert event["type"] == envelope.type
    assert event["source"] == envelope.source
    assert event["subject"] == envelope.subject
    assert datetime.fromisoformat(event["time"]) == envelope.time
    assert event.data == envelope.data
    assert event["correlationid"] == "corr-1"
    assert event["causationid"] == "cause-1"


def test_we_read_a_record_the_cloudevents_sdk_wrote() -> None:
    event = CloudEvent(
        attributes={
            "id": "sdk-1",
            "source": "/elsewhere/sdk",
            "type": "rs.oslonac.cases.case.opened.v1",
            "subject": "case-9",
            "time": EVENT_TIME,
            "datacontenttype": "application/json",
            "correlationid": "corr-9",
            "causationid": "cause-9",
        },
        data={"case_id": "case-9", "n": 1},
    )
    message = ce_kafka.to_binary_event(event)
    read = Envelope.from_record(list(message.headers.items()), message.value)
    assert read == Envelope(
        id="sdk-1",
        source="/elsewhere/sdk",
        type="rs.oslonac.cases.case.opened.v1",
        data={"case_id": "case-9", "n": 1},
        subject="case-9",
        time=EVENT_TIME,
        correlation_id="corr-9",
        causation_id="cause-9",
    )
    assert json.loads(message.value) == read.data
