"""The event catalogue: every event type, the topics they travel on, and who publishes or consumes them.

Decoding goes through one discriminated-union ``TypeAdapter``. Old versions are upcast on read:
register ``upcaster(old_type)`` functions that turn old data into the next version's data. Readers are
tolerant: fields a newer producer added are ignored (the models themselves stay strict for producing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from shared.events.activation import (
    ACTIVATION_EVENTS,
    MatchProposedV1,
    OpportunityClosedV1,
    OpportunityPublishedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementDeclinedV1,
    PlacementEndedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
)
from shared.events.base import EventData
from shared.events.cases import (
    CASES_EVENTS,
    ActivationRequestedV1,
    AgreementChangedV1,
    AssessmentCompletedV1,
    CaseAssignedV1,
    CaseOpenedV1,
    CasePriorityChangedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    PlanAgreedV1,
    ProviderChangedV1,
    ReferralDecidedV1,
    ReferralRequestedV1,
)
from shared.events.intake import (
    INTAKE_EVENTS,
    HouseholdMergedV1,
    HouseholdRegisteredV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
    upcast_registered_v1,
)
from shared.events.reporting import REPORTING_EVENTS, IndicatorsUpdatedV1

AnyEvent = Annotated[
    HouseholdRegisteredV1
    | HouseholdRegisteredV2
    | HouseholdUpdatedV1
    | PersonConsentChangedV1
    | PersonErasedV1
    | HouseholdMergedV1
    | PersonMergedV1
    | CaseOpenedV1
    | CaseAssignedV1
    | CaseStatusChangedV1
    | CaseTransferredV1
    | CasePriorityChangedV1
    | AssessmentCompletedV1
    | PlanAgreedV1
    | ReferralRequestedV1
    | ReferralDecidedV1
    | ProviderChangedV1
    | AgreementChangedV1
    | ActivationRequestedV1
    | OpportunityPublishedV1
    | OpportunityClosedV1
    | MatchProposedV1
    | PlacementAcceptedV1
    | PlacementDeclinedV1
    | PlacementStartedV1
    | PlacementHoursRecordedV1
    | PlacementCompletedV1
    | PlacementEndedV1
    | IndicatorsUpdatedV1,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[type[EventData], ...] = (*INTAKE_EVENTS, *CASES_EVENTS, *ACTIVATION_EVENTS, *REPORTING_EVENTS)
_TYPE_NAMES = frozenset(t.type_name() for t in EVENT_TYPES)
_adapter: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    partitions: int
    owner: str
    description: str
    key: str
    public: bool = False

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


TOPICS: tuple[Topic, ...] = (
    Topic("intake.household", 6, "intake", "Households registered and updated by intake", "household id"),
    Topic("cases.case", 6, "cases", "Case lifecycle: assignment, assessment, plan, referrals, transfer", "case id"),
    Topic(
        "cases.provider",
        3,
        "cases",
        "Service providers' capacity and occupancy; inter-municipal agreements",
        "provider or agreement id",
    ),
    Topic("cases.activation", 6, "cases", "Members a case worker engages for work: candidate profiles", "person id"),
    Topic("activation.opportunity", 6, "activation", "Work-engagement opportunities", "opportunity id"),
    Topic("activation.placement", 6, "activation", "Placements of candidates in opportunities", "placement id"),
    Topic(
        "reporting.indicators",
        3,
        "reporting",
        "Aggregated indicator changes per municipality and month (non-personal, small cells suppressed)",
        "municipality code",
        public=True,
    ),
)
TOPICS_BY_NAME = {t.name: t for t in TOPICS}
DLQ_PARTITIONS = 1

# Which service consumes which topics (one consumer group per service).
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": ("cases.case",),  # the case status shown on a household
    "cases": ("intake.household", "activation.placement"),
    "activation": ("cases.activation", "cases.provider", "intake.household"),
    "reporting": (
        "intake.household",
        "cases.case",
        "cases.provider",
        "cases.activation",
        "activation.opportunity",
        "activation.placement",
    ),
}


def subscribers(topic: str) -> tuple[str, ...]:
    """The services (consumer groups) that consume ``topic``, in catalogue order."""
    return tuple(service for service, topics in SUBSCRIPTIONS.items() if topic in topics)


# What decoding does with fields an event type does not declare.
ExtraFields = Literal["ignore", "forbid"]

Upcaster = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]
UPCASTERS: dict[str, Upcaster] = {HouseholdRegisteredV1.type_name(): upcast_registered_v1}


class UnknownEventType(ValueError):
    pass


def upcaster(old_type: str) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[old_type] = fn
        return fn

    return register


def decode_event(event_type: str, data: dict[str, Any], *, unknown_fields: ExtraFields = "ignore") -> EventData:
    """Validate ``data`` as ``event_type``, upcasting older versions first.

    Fields the type does not declare, at any depth, are ignored: a producer redeployed with a new optional field
    must not send its events to every older consumer's dead-letter topic. Declared fields are checked as strictly
    as ever. ``unknown_fields="forbid"`` is the producer's view (what a service may publish).

    Raises ``UnknownEventType`` or pydantic's ``ValidationError``.
    """
    seen = 0
    while event_type in UPCASTERS:
        event_type, data = UPCASTERS[event_type](data)
        seen += 1
        if seen > 20:
            raise UnknownEventType(f"upcaster loop at {event_type}")
    if event_type not in _TYPE_NAMES:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    event: EventData = _adapter.validate_python({**data, "type": event_type}, extra=unknown_fields)
    return event


__all__ = [
    "DLQ_PARTITIONS",
    "EVENT_TYPES",
    "SUBSCRIPTIONS",
    "TOPICS",
    "TOPICS_BY_NAME",
    "AnyEvent",
    "Topic",
    "UnknownEventType",
    "ValidationError",
    "decode_event",
    "subscribers",
    "upcaster",
]
