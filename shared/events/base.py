"""Base class of every event's data, and the rules its type names follow."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """The data of one versioned event type.

    Subclasses declare ``type: Literal["rs.oslonac.<context>.<aggregate>.<event>.v<N>"]`` (the
    discriminator), the topic they travel on, and the attribute that is the record key. They carry
    pseudonymous ids and the attributes consumers need, never names, JMBG, addresses or phones.

    Strict when producing, tolerant when reading: building an event with a field its model does not declare is
    a ``ValidationError`` (``extra="forbid"``, nested models too), so a service cannot publish what its model
    does not say; ``catalogue.decode_event`` validates with ``extra="ignore"``, so a consumer not yet redeployed
    ignores an optional field a newer producer added (docs/events.md: the deployment order).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    key_field: ClassVar[str]

    @classmethod
    def type_name(cls) -> str:
        annotation = cls.model_fields["type"].default
        assert isinstance(annotation, str)
        return annotation

    @property
    def key(self) -> str:
        return str(getattr(self, self.key_field))

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"type"})
