"""The OpenAPI of the operations that honour ``Idempotency-Key`` (shared/idempotency.py): the header, the replay
marker and the refusals, added to the document FastAPI builds."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def document_idempotent_operations(app: FastAPI, operations: list[str]) -> None:
    """The header, the replay marker and the refusals in the OpenAPI of the idempotent operations."""
    build = app.openapi

    def problem(description: str) -> dict[str, Any]:
        schema = {"type": "object", "properties": {"detail": {"type": "string"}, "code": {"type": "string"}}}
        return {"description": description, "content": {"application/problem+json": {"schema": schema}}}

    def openapi() -> dict[str, Any]:
        schema = build()
        for operation in operations:
            method, path = operation.split(" ", 1)
            spec = schema.get("paths", {}).get(path, {}).get(method.lower())
            if spec is None:
                raise RuntimeError(f"idempotent operation {operation} is not in the OpenAPI document")
            if any(p.get("name") == HEADER for p in spec.get("parameters", [])):
                continue
            spec.setdefault("parameters", []).append(
                {
                    "name": HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        "A key the client makes up for this request (a UUID, say). Sent again with the same request "
                        f"within the key's lifetime, it gets the first answer again, with `{REPLAYED}: true`, and "
                        "nothing is created twice; with another request it is refused (422)."
                    ),
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
                }
            )
            responses = spec.setdefault("responses", {})
            for status_code, answer in responses.items():
                if str(status_code).startswith("2"):
                    answer.setdefault("headers", {})[REPLAYED] = {
                        "description": "Present when this is the stored answer to an earlier request with the key",
                        "schema": {"type": "string", "enum": ["true"]},
                    }
            responses.setdefault("400", problem("The Idempotency-Key header is not valid (idempotency_key_invalid)"))
            responses.setdefault(
                "409", problem("A request with this Idempotency-Key is in progress (idempotency_request_in_progress)")
            )
            responses.setdefault("422", problem("Not valid, or the key was used for another request"))
            responses.setdefault(
                "410", problem("The stored answer held personal data since erased (idempotent_answer_erased)")
            )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
