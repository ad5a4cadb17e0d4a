"""The event catalogue as an AsyncAPI 3.0 document, generated from the pydantic event types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events.catalogue import EVENT_TYPES, SUBSCRIPTIONS, TOPICS

CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes, Kafka protocol binding, binary content mode",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid", "description": "Unique event id (idempotency key)"},
        "ce_source": {"type": "string", "description": "/oslonac/<service>"},
        "ce_type": {"type": "string", "description": "rs.oslonac.<context>.<aggregate>.<event>.v<N>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The aggregate id"},
        "ce_correlationid": {"type": "string", "description": "Follows a request through what it causes"},
        "ce_causationid": {"type": "string", "description": "Id of the event that caused this one"},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


# Readers are tolerant (docs/events.md): a later release may add optional properties to a version, so the
# published schemas leave objects open; what a service itself publishes is exactly its model's fields.
EVOLUTION = (
    "Readers must ignore properties they do not know: a version may gain optional properties (consumers are "
    "deployed first, then producers). A new required property or a changed meaning is a new version."
)


def _open_objects(schema: Any) -> Any:
    """``schema`` without ``additionalProperties: false`` at any depth (pydantic writes it for ``extra="forbid"``)."""
    if isinstance(schema, dict):
        return {k: _open_objects(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [_open_objects(v) for v in schema]
    return schema


def _message_name(type_name: str) -> str:
    return type_name.removeprefix("rs.oslonac.").replace(".", "_")


def build_asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic in TOPICS:
        channel_messages: dict[str, Any] = {}
        for cls in EVENT_TYPES:
            if cls.topic != topic.name:
                continue
            name = _message_name(cls.type_name())
            schema = _open_objects(
                cls.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
            )
            for def_name, definition in schema.pop("$defs", {}).items():
                schemas[def_name] = definition
            schema["properties"].pop("type", None)
            if "required" in schema:
                schema["required"] = [r for r in schema["required"] if r != "type"]
            schemas[cls.__name__] = schema
            messages[name] = {
                "name": cls.type_name(),
                "title": cls.__name__,
                "summary": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else cls.type_name(),
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
                "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
                "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channel_id = topic.name.replace(".", "_")
        channels[channel_id] = {
            "address": topic.name,
            "description": f"{topic.description}. Partitions: {topic.partitions}; key: {topic.key}. "
            f"Undecodable or failing records go to {topic.dlq}.",
            "messages": channel_messages,
            "bindings": {"kafka": {"topic": topic.name, "partitions": topic.partitions}},
        }
        refs = [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel_messages]
        operations[f"{topic.owner}_publishes_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"{topic.owner} publishes through its transactional outbox",
            "messages": refs,
        }
        for service, topics in SUBSCRIPTIONS.items():
            if topic.name in topics:
                operations[f"{service}_consumes_{channel_id}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{channel_id}"},
                    "summary": f"{service} consumes idempotently (consumer group '{service}')",
                    "messages": refs,
                }
    schemas["CloudEventHeaders"] = CE_HEADERS
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Oslonac events",
            "version": "1.0.0",
            "description": "Every event the Oslonac services publish. Events carry pseudonymous ids and the "
            "attributes consumers need, never names, JMBG, addresses or phone numbers. " + EVOLUTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {"host": "kafka:9092", "protocol": "kafka", "description": "Apache Kafka (compose)"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def write_catalogue(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    document = build_asyncapi()
    path = out_dir / "asyncapi.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [path]
