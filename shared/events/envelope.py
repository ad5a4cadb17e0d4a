"""CloudEvents 1.0 in the Kafka protocol binding, binary content mode.

Attributes travel as ``ce_*`` headers, the data as the record value with ``content-type:
application/json``. ``correlationid`` and ``causationid`` are CloudEvents extension attributes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
TYPE_PREFIX = "rs.oslonac."

Headers = list[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """A record that is not a CloudEvent we can read."""


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    source: str
    type: str
    data: dict[str, Any]
    subject: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    causation_id: str | None = None

    def headers(self) -> Headers:
        pairs: list[tuple[str, str]] = [
            ("ce_specversion", SPECVERSION),
            ("ce_id", self.id),
            ("ce_source", self.source),
            ("ce_type", self.type),
            ("ce_time", self.time.astimezone(UTC).isoformat().replace("+00:00", "Z")),
            ("content-type", CONTENT_TYPE),
        ]
        if self.subject is not None:
            pairs.append(("ce_subject", self.subject))
        if self.correlation_id is not None:
            pairs.append(("ce_correlationid", self.correlation_id))
        if self.causation_id is not None:
            pairs.append(("ce_causationid", self.causation_id))
        return [(k, v.encode()) for k, v in pairs]

    def value(self) -> bytes:
        return encode_data(self.data)

    @classmethod
    def from_record(cls, headers: Headers | None, value: bytes | None) -> Envelope:
        attrs: dict[str, str] = {}
        for key, raw in headers or []:
            try:
                attrs[key] = raw.decode() if raw is not None else ""
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {key} is not UTF-8") from exc
        if attrs.get("ce_specversion") != SPECVERSION:
            raise EnvelopeError(f"not a CloudEvents {SPECVERSION} record (ce_specversion missing or wrong)")
        for required in ("ce_id", "ce_source", "ce_type"):
            if not attrs.get(required):
                raise EnvelopeError(f"missing required attribute {required}")
        content_type = attrs.get("content-type", CONTENT_TYPE)
        if not content_type.startswith(CONTENT_TYPE):
            raise EnvelopeError(f"unsupported content-type {content_type!r}")
        try:
            data = json.loads(value or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"data is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("data is not a JSON object")
        time = _parse_time(attrs["ce_time"]) if attrs.get("ce_time") else datetime.now(UTC)
        return cls(
            id=attrs["ce_id"],
            source=attrs["ce_source"],
            type=attrs["ce_type"],
            data=data,
            subject=attrs.get("ce_subject"),
            time=time,
            correlation_id=attrs.get("ce_correlationid"),
            causation_id=attrs.get("ce_causationid"),
        )


def _parse_time(value: str) -> datetime:
    """RFC 3339 needs a date, a time and an offset; anything less is refused, not guessed."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise EnvelopeError(f"ce_time is not RFC 3339: {value!r}") from exc
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise EnvelopeError(f"ce_time has no time or no UTC offset: {value!r}")
    return parsed


def encode_data(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()
