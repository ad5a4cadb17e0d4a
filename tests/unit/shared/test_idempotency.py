"""The pieces of Idempotency-Key that need no database: the request digest and the OpenAPI of each service."""

from __future__ import annotations

import importlib

import pytest

from oslonac.registry import SERVICES
from shared.idempotency import _BodyDigest
from shared.idempotency_openapi import HEADER, REPLAYED
from shared.settings import Environment, Settings
from tests.fixtures.auth import Tokens

BOUNDARY = b"----boundary0123456789"


def multipart(boundary: bytes, content: bytes) -> bytes:
    return (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n"
    )


def digest_in_chunks(body: bytes, boundary: bytes | None, size: int) -> str:
    digest = _BodyDigest(boundary)
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    for n, chunk in enumerate(chunks):
        digest.feed(chunk, more=n < len(chunks) - 1)
    assert digest.complete
    return digest.hexdigest()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 22, 23, 64, 10_000])
def test_a_multipart_body_digests_the_same_whatever_its_boundary_and_chunks(size: int):
    other = b"xyzOTHERboundary"
    expected = digest_in_chunks(multipart(BOUNDARY, b"a,b\n1,2\n"), BOUNDARY, 10_000)
    assert digest_in_chunks(multipart(BOUNDARY, b"a,b\n1,2\n"), BOUNDARY, size) == expected
    assert digest_in_chunks(multipart(other, b"a,b\n1,2\n"), other, size) == expected
    assert digest_in_chunks(multipart(other, b"a,b\n1,3\n"), other, size) != expected


def test_a_json_body_digests_its_bytes():
    assert digest_in_chunks(b'{"a":1}', None, 3) == digest_in_chunks(b'{"a":1}', None, 100)
    assert digest_in_chunks(b'{"a":1}', None, 3) != digest_in_chunks(b'{"a":2}', None, 3)


@pytest.mark.parametrize("service", SERVICES)
def test_every_idempotent_operation_documents_the_header_and_its_refusals(service: str, tokens: Tokens):
    module = importlib.import_module(f"services.{service}.app")
    settings = Settings(env=Environment.test, jwt_public_key=tokens.public_key_pem)
    schema = module.create_app(settings).openapi()
    listed = getattr(module, "IDEMPOTENT", ())
    documented = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, spec in operations.items()
        if any(p.get("name") == HEADER for p in spec.get("parameters", []))
    }
    assert documented == set(listed)
    for operation in listed:
        method, path = operation.split(" ", 1)
        responses = schema["paths"][path][method.lower()]["responses"]
        assert {"400", "409", "410", "422"} <= set(responses)
        assert any(REPLAYED in answer.get("headers", {}) for code, answer in responses.items() if code.startswith("2"))


def test_the_households_and_imports_referrals_and_proposals_are_idempotent():
    from services.activation.app import IDEMPOTENT as ACTIVATION
    from services.cases.app import IDEMPOTENT as CASES
    from services.intake.app import IDEMPOTENT as INTAKE

    assert {"POST /intake/api/households", "POST /intake/api/imports"} <= set(INTAKE)
    assert "POST /cases/api/cases/{case_id}/referrals" in CASES
    assert {"POST /activation/api/opportunities", "POST /activation/api/opportunities/{opportunity_id}/proposals"} <= (
        set(ACTIVATION)
    )
