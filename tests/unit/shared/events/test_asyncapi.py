"""The AsyncAPI 3.0 document generated from the event catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.events import EVENT_TYPES, SUBSCRIPTIONS, TOPICS, EventData
from shared.events.asyncapi import build_asyncapi, write_catalogue
from tests.unit.shared.events.samples import SAMPLES

event_types = pytest.mark.parametrize("cls", EVENT_TYPES, ids=[cls.__name__ for cls in EVENT_TYPES])


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_asyncapi()


def refs(node: Any, path: str = "#") -> Iterator[tuple[str, str]]:
    """Every ``$ref`` in the document, with where it was found."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield path, ref
        for key, value in node.items():
            yield from refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from refs(item, f"{path}/{i}")


def resolve(document: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (RFC 6901); KeyError/IndexError when it leads nowhere."""
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def test_resolver_follows_pointers_and_fails_on_dangling_ones() -> None:
    doc = {"a": {"b/c": [{"x": 1}], "t~": 2}}
    assert resolve(doc, "#/a/b~1c/0/x") == 1
    assert resolve(doc, "#/a/t~0") == 2
    with pytest.raises(KeyError):
        resolve(doc, "#/a/missing")


def test_is_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"]
    assert document["info"]["version"]
    assert document["defaultContentType"] == "application/json"


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    found = list(refs(document))
    assert len(found) > len(EVENT_TYPES)  # payloads, headers, channel messages, operations, nested models
    dangling = []
    for where, ref in found:
        try:
            target = resolve(document, ref)
        except (KeyError, IndexError, ValueError):
            dangling.append((where, ref))
            continue
        assert isinstance(target, dict), (where, ref)
    assert dangling == []


def test_a_channel_per_topic_with_the_topic_as_address(document: dict[str, Any]) -> None:
    channels = document["channels"]
    assert sorted(c["address"] for c in channels.values()) == sorted(t.name for t in TOPICS)
    for topic in TOPICS:
        (channel,) = [c for c in channels.values() if c["address"] == topic.name]
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions
        assert topic.dlq in channel["description"]


def channel_of(document: dict[str, Any], address: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(cid, c) for cid, c in document["channels"].items() if c["address"] == address]
    return found


@event_types
def test_a_message_per_event_type_on_its_channel(document: dict[str, Any], cls: type[EventData]) -> None:
    (message,) = [m for m in document["components"]["messages"].values() if m["name"] == cls.type_name()]
    assert message["contentType"] == "application/json"
    payload = resolve(document, message["payload"]["$ref"])
    assert set(payload["properties"]) == set(cls.model_fields) - {"type"}
    assert "type" not in payload.get("required", [])
    headers = resolve(document, message["headers"]["$ref"])
    assert {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"} <= set(headers["required"])

    _, channel = channel_of(document, cls.topic)
    on_channel = [resolve(document, m["$ref"]) for m in channel["messages"].values()]
    assert message in on_channel


@event_types
def test_what_we_publish_matches_the_documented_payload(document: dict[str, Any], cls: type[EventData]) -> None:
    (message,) = [m for m in document["components"]["messages"].values() if m["name"] == cls.type_name()]
    # Validate against the payload schema with the whole document as the root, so its $refs resolve.
    validator = Draft202012Validator({**document, "$ref": message["payload"]["$ref"]})
    sample = json.loads(json.dumps(SAMPLES[cls]().to_data()))
    assert list(validator.iter_errors(sample)) == []
    assert set(sample) == set(payload_properties(document, message))  # published: exactly the declared fields


@event_types
def test_the_documented_payload_lets_readers_meet_newer_fields(document: dict[str, Any], cls: type[EventData]) -> None:
    """Tolerant readers: a reader validating against this document must not refuse a later optional field."""
    (message,) = [m for m in document["components"]["messages"].values() if m["name"] == cls.type_name()]
    validator = Draft202012Validator({**document, "$ref": message["payload"]["$ref"]})
    sample = json.loads(json.dumps(SAMPLES[cls]().to_data()))
    assert list(validator.iter_errors({**sample, "added_in_a_later_release": {"any": ["shape"]}})) == []
    assert not validator.is_valid({key: {"not": "the declared type"} for key in sample})  # declared ones still checked
    assert "must ignore properties they do not know" in document["info"]["description"]
    assert '"additionalProperties": false' not in json.dumps(document)


def payload_properties(document: dict[str, Any], message: dict[str, Any]) -> list[str]:
    return list(resolve(document, message["payload"]["$ref"])["properties"])


def test_the_committed_document_is_the_generated_one() -> None:
    """docs/asyncapi.json is what ``python -m oslonac docs --out docs`` writes from the catalogue today."""
    committed = Path(__file__).parents[4] / "docs" / "asyncapi.json"
    generated = build_asyncapi()
    assert json.loads(committed.read_text(encoding="utf-8")) == generated, "run: python -m oslonac docs --out docs"


def service_of(operation_id: str) -> str:
    """Operation ids read ``<service>_consumes_<channel>`` or ``<service>_publishes_<channel>``."""
    service, verb, _ = operation_id.split("_", 2)
    assert verb in ("consumes", "publishes"), operation_id
    return service


def test_a_receive_operation_for_every_subscription(document: dict[str, Any]) -> None:
    receives = set()
    for operation_id, operation in document["operations"].items():
        if operation["action"] == "receive":
            channel = resolve(document, operation["channel"]["$ref"])
            receives.add((service_of(operation_id), channel["address"]))
            for message_ref in operation["messages"]:
                assert resolve(document, message_ref["$ref"]) in channel["messages"].values()
    expected = {(service, topic) for service, topics in SUBSCRIPTIONS.items() for topic in topics}
    assert receives == expected


def test_a_send_operation_for_every_topic_by_its_owner(document: dict[str, Any]) -> None:
    sends = {
        (service_of(operation_id), resolve(document, op["channel"]["$ref"])["address"])
        for operation_id, op in document["operations"].items()
        if op["action"] == "send"
    }
    assert sends == {(t.owner, t.name) for t in TOPICS}


def test_operation_ids_name_the_service(document: dict[str, Any]) -> None:
    for operation_id, operation in document["operations"].items():
        assert operation["summary"].startswith(f"{service_of(operation_id)} "), operation_id


def test_write_catalogue_writes_the_document_as_json(tmp_path: Path) -> None:
    out_dir = tmp_path / "docs" / "events"
    written = write_catalogue(out_dir)
    assert written == [out_dir / "asyncapi.json"]
    text = written[0].read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert json.loads(text) == build_asyncapi()


def test_build_is_deterministic() -> None:
    assert json.dumps(build_asyncapi(), sort_keys=True) == json.dumps(build_asyncapi(), sort_keys=True)
