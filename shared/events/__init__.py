"""Event contracts: the CloudEvents envelope, versioned event types and the topic registry."""

from shared.events.activation import OpportunityPublishedV1
from shared.events.base import EventData
from shared.events.cases import CaseOpenedV1
from shared.events.catalogue import (
    EVENT_TYPES,
    SUBSCRIPTIONS,
    TOPICS,
    TOPICS_BY_NAME,
    Topic,
    UnknownEventType,
    decode_event,
    upcaster,
)
from shared.events.envelope import Envelope, EnvelopeError
from shared.events.intake import (
    HouseholdMergedV1,
    HouseholdRegisteredV1,
    HouseholdRegisteredV2,
    HouseholdState,
    HouseholdUpdatedV1,
    MemberProfile,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)

__all__ = [
    "EVENT_TYPES",
    "SUBSCRIPTIONS",
    "TOPICS",
    "TOPICS_BY_NAME",
    "CaseOpenedV1",
    "Envelope",
    "EnvelopeError",
    "EventData",
    "HouseholdMergedV1",
    "HouseholdRegisteredV1",
    "HouseholdRegisteredV2",
    "HouseholdState",
    "HouseholdUpdatedV1",
    "MemberProfile",
    "OpportunityPublishedV1",
    "PersonConsentChangedV1",
    "PersonErasedV1",
    "PersonMergedV1",
    "Topic",
    "UnknownEventType",
    "decode_event",
    "upcaster",
]
